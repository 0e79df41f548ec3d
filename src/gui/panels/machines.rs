//! State machines: the TCP diagram (RFC 9293 Figure 5) for each open
//! connection, and each application session's protocol diagram (its
//! module's `STATES` and `TRANSITIONS`), laid out by [`crate::diagram`]
//! as `wiretale diagram` exports them. The current state is filled, the
//! transitions taken so far are blue, the possible next ones orange and
//! dashed, with a legend. Read from the live world at the current event.

use crate::diagram::{self, Diagram, EdgeKind, Marks};
use crate::gui::ui::View;
use crate::net::tcp::TRANSITIONS as TCP_TRANSITIONS;
use crate::proto::Transition;
use bevy_egui::egui;

/// What the panel remembers: laid-out diagrams (by table) and the path
/// of the machine shown.
#[derive(Debug, Default)]
pub struct MachineCache {
    diagrams: Vec<(usize, Diagram)>,
    /// (generation, cursor, machine) and the edges taken.
    path: Option<((u64, usize, (bool, u32)), Vec<(&'static str, &'static str)>)>,
}

impl MachineCache {
    fn diagram(&mut self, states: &[&'static str], t: &'static [Transition]) -> &Diagram {
        let key = t.as_ptr() as usize;
        let i = match self.diagrams.iter().position(|(k, _)| *k == key) {
            Some(i) => i,
            None => {
                self.diagrams.push((key, diagram::layout(states, t)));
                self.diagrams.len() - 1
            }
        };
        &self.diagrams[i].1
    }
}

/// One machine the panel can show.
struct Machine {
    title: String,
    key: (bool, u32),
    current: &'static str,
    states: Vec<&'static str>,
    transitions: &'static [Transition],
    /// Where it runs: the host, and for TCP the connection's two ends.
    host: u32,
    tcp: Option<(std::net::SocketAddrV4, std::net::SocketAddrV4)>,
}

pub fn machines(ui: &mut egui::Ui, v: &mut View) {
    let p = &v.sim.player;
    let world = p.world();
    let t = &p.timeline;
    let mut list: Vec<Machine> = Vec::new();
    for (id, host, c) in world.connections() {
        list.push(Machine {
            title: format!(
                "TCP on {}: {} -> {}",
                t.trace.node_name(host),
                c.local(),
                c.remote()
            ),
            key: (true, id),
            current: c.state().name(),
            states: vec!["CLOSED"],
            transitions: TCP_TRANSITIONS,
            host,
            tcp: Some((c.local(), c.remote())),
        });
    }
    for node in world.nodes() {
        for &app in &node.apps {
            let Some(a) = world.app(app) else { continue };
            for s in a.sessions() {
                list.push(Machine {
                    title: format!(
                        "{} {} on {} (conn {})",
                        s.layer.to_uppercase(),
                        s.role,
                        node.name,
                        s.conn
                    ),
                    key: (false, s.conn),
                    current: s.state,
                    states: s.states.to_vec(),
                    transitions: s.transitions,
                    host: node.id,
                    tcp: None,
                });
            }
        }
    }
    if list.is_empty() {
        ui.add_space(8.0);
        ui.label("No connection is open at this moment. Step or play to see TCP and the application protocols change state.");
        let d = v
            .state
            .machines
            .diagram(&["CLOSED"], TCP_TRANSITIONS)
            .clone();
        legend(ui);
        draw(ui, &d, &Marks::default());
        return;
    }
    let chosen = v
        .state
        .machine
        .filter(|k| list.iter().any(|m| m.key == *k))
        .unwrap_or(list[0].key);
    egui::ScrollArea::vertical()
        .id_salt("machine-list")
        .max_height(130.0)
        .show(ui, |ui| {
            for m in &list {
                let text = format!("{}   [{}]", m.title, m.current);
                if ui.selectable_label(m.key == chosen, text).clicked() {
                    v.state.machine = Some(m.key);
                }
            }
        });
    ui.separator();
    let Some(m) = list.iter().find(|m| m.key == chosen) else {
        return;
    };
    ui.label(egui::RichText::new(&m.title).strong());
    // The path so far: TCP's from the trace, a session's by replaying the
    // run and watching its state.
    let key = (p.generation, p.cursor, m.key);
    if v.state.machines.path.as_ref().map(|(k, _)| *k) != Some(key) {
        let path = match m.tcp {
            Some((local, remote)) => t.tcp_path(m.host, local, remote, p.cursor),
            None => p
                .session_path(m.host, m.key.1)
                .unwrap_or_default()
                .windows(2)
                .map(|w| (w[0], w[1]))
                .collect(),
        };
        v.state.machines.path = Some((key, path));
    }
    let taken = v
        .state
        .machines
        .path
        .as_ref()
        .map(|(_, p)| p.clone())
        .unwrap_or_default();
    let d = v.state.machines.diagram(&m.states, m.transitions).clone();
    legend(ui);
    draw(
        ui,
        &d,
        &Marks {
            current: Some(m.current),
            taken: &taken,
        },
    );
}

fn colour(c: [u8; 3]) -> egui::Color32 {
    egui::Color32::from_rgb(c[0], c[1], c[2])
}

/// What the strokes mean.
fn legend(ui: &mut egui::Ui) {
    ui.horizontal_wrapped(|ui| {
        for (c, dashed, label) in [
            (diagram::TAKEN_RGB, false, "taken so far"),
            (diagram::NEXT_RGB, true, "possible next"),
            (diagram::OTHER_RGB, false, "other"),
        ] {
            let (r, _) = ui.allocate_exact_size(egui::vec2(24.0, 12.0), egui::Sense::hover());
            let (a, b) = (r.left_center(), r.right_center());
            let stroke = egui::Stroke::new(2.0, colour(c));
            if dashed {
                ui.painter()
                    .add(egui::Shape::dashed_line(&[a, b], stroke, 5.0, 3.0));
            } else {
                ui.painter().line_segment([a, b], stroke);
            }
            ui.label(egui::RichText::new(label).small());
        }
        let (r, _) = ui.allocate_exact_size(egui::vec2(22.0, 12.0), egui::Sense::hover());
        ui.painter().rect_filled(r, 3, colour(diagram::CURRENT_RGB));
        ui.label(egui::RichText::new("current state").small());
    });
}

/// Draws a laid-out diagram, scaled to the panel's width (not below
/// readable; it scrolls then).
pub fn draw(ui: &mut egui::Ui, d: &Diagram, marks: &Marks<'_>) {
    let avail = ui.available_width().max(200.0) as f64;
    let scale = (avail / d.width).clamp(0.6, 1.2);
    egui::ScrollArea::both()
        .id_salt("machine-diagram")
        .auto_shrink([false, false])
        .show(ui, |ui| {
            let size = egui::vec2((d.width * scale) as f32, (d.height * scale) as f32);
            let (rect, _) = ui.allocate_exact_size(size, egui::Sense::hover());
            let painter = ui.painter_at(rect);
            let at = |x: f64, y: f64| {
                egui::pos2(
                    rect.left() + (x * scale) as f32,
                    rect.top() + (y * scale) as f32,
                )
            };
            let r2 = |r: &diagram::Rect| {
                egui::Rect::from_min_size(
                    at(r.x, r.y),
                    egui::vec2((r.w * scale) as f32, (r.h * scale) as f32),
                )
            };
            for e in &d.edges {
                let (c, w, dashed) = match e.kind(marks) {
                    EdgeKind::Taken => (diagram::TAKEN_RGB, 2.6, false),
                    EdgeKind::Next => (diagram::NEXT_RGB, 2.0, true),
                    EdgeKind::Other => (diagram::OTHER_RGB, 1.2, false),
                };
                let pts: Vec<egui::Pos2> = e.path.iter().map(|&(x, y)| at(x, y)).collect();
                let stroke = egui::Stroke::new(w, colour(c));
                if dashed {
                    painter.add(egui::Shape::dashed_line(&pts, stroke, 6.0, 3.0));
                } else {
                    painter.add(egui::Shape::line(pts.clone(), stroke));
                }
                if let [.., a, b] = pts.as_slice() {
                    super::ladder::arrow_head(&painter, *a, *b, colour(c));
                }
            }
            let font = egui::FontId::proportional((diagram::LABEL_FONT * scale * 0.95) as f32);
            for e in &d.edges {
                if e.lines.is_empty() {
                    continue;
                }
                let r = r2(&e.label);
                painter.rect_filled(
                    r,
                    3,
                    egui::Color32::from_rgba_unmultiplied(255, 255, 255, 235),
                );
                let line_h = r.height() / e.lines.len() as f32;
                for (k, line) in e.lines.iter().enumerate() {
                    painter.text(
                        egui::pos2(r.center().x, r.top() + line_h * (k as f32 + 0.5)),
                        egui::Align2::CENTER_CENTER,
                        line,
                        font.clone(),
                        egui::Color32::from_gray(50),
                    );
                }
            }
            for b in &d.states {
                let r = r2(&b.rect);
                let current = marks.current == Some(b.name);
                let (fill, stroke) = if current {
                    (
                        colour(diagram::CURRENT_RGB),
                        egui::Stroke::new(2.5, egui::Color32::from_rgb(120, 70, 0)),
                    )
                } else {
                    (
                        egui::Color32::WHITE,
                        egui::Stroke::new(1.2, egui::Color32::from_rgb(68, 84, 106)),
                    )
                };
                painter.rect_filled(r, 6, fill);
                painter.rect_stroke(r, 6, stroke, egui::StrokeKind::Inside);
                painter.text(
                    r.center(),
                    egui::Align2::CENTER_CENTER,
                    b.name,
                    egui::FontId::proportional((diagram::STATE_FONT * scale) as f32),
                    egui::Color32::from_gray(if current { 0 } else { 30 }),
                );
            }
        });
}
