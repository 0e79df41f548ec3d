//! State machines: the TCP diagram (RFC 9293 Figure 5) for each open
//! connection, and each application session's protocol diagram (its
//! module's `STATES` and `TRANSITIONS`), with the current state
//! highlighted. Read from the live world at the current event.

use crate::gui::ui::View;
use crate::net::tcp::TRANSITIONS as TCP_TRANSITIONS;
use crate::proto::Transition;
use bevy_egui::egui;

/// Grid places (column, row) of the TCP states, after the RFC's figure:
/// opening at the top, ESTABLISHED in the middle, the closing states
/// below, the active closer on the left.
const TCP_PLACES: &[(&str, (f32, f32))] = &[
    ("CLOSED", (1.0, 0.0)),
    ("LISTEN", (1.0, 1.0)),
    ("SYN-RECEIVED", (0.0, 2.0)),
    ("SYN-SENT", (2.0, 2.0)),
    ("ESTABLISHED", (1.0, 3.0)),
    ("FIN-WAIT-1", (0.0, 4.0)),
    ("CLOSE-WAIT", (2.0, 4.0)),
    ("FIN-WAIT-2", (0.0, 5.0)),
    ("CLOSING", (1.0, 5.0)),
    ("LAST-ACK", (2.0, 5.0)),
    ("TIME-WAIT", (1.0, 6.0)),
];

/// Every state named by a diagram's transitions, in order of appearance.
fn states_of(transitions: &[Transition]) -> Vec<&'static str> {
    let mut v: Vec<&'static str> = Vec::new();
    for (a, b, _) in transitions {
        for s in [*a, *b] {
            if !v.contains(&s) {
                v.push(s);
            }
        }
    }
    v
}

/// One machine the panel can show.
struct Machine {
    title: String,
    key: (bool, u32),
    current: &'static str,
    states: Vec<&'static str>,
    transitions: &'static [Transition],
    tcp: bool,
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
            states: states_of(TCP_TRANSITIONS),
            transitions: TCP_TRANSITIONS,
            tcp: true,
        });
    }
    for node in world.nodes() {
        for &app in &node.apps {
            let Some(a) = world.app(app) else { continue };
            for s in a.sessions() {
                let mut states: Vec<&'static str> = s.states.to_vec();
                for st in states_of(s.transitions) {
                    if !states.contains(&st) {
                        states.push(st);
                    }
                }
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
                    states,
                    transitions: s.transitions,
                    tcp: false,
                });
            }
        }
    }
    if list.is_empty() {
        ui.add_space(8.0);
        ui.label("No connection is open at this moment. Step or play to see TCP and the application protocols change state.");
        draw_machine(
            ui,
            &states_of(TCP_TRANSITIONS),
            TCP_TRANSITIONS,
            "CLOSED",
            true,
        );
        return;
    }
    let chosen = v
        .state
        .machine
        .filter(|k| list.iter().any(|m| m.key == *k))
        .unwrap_or(list[0].key);
    egui::ScrollArea::vertical()
        .id_salt("machine-list")
        .max_height(150.0)
        .show(ui, |ui| {
            for m in &list {
                let text = format!("{}   [{}]", m.title, m.current);
                if ui.selectable_label(m.key == chosen, text).clicked() {
                    v.state.machine = Some(m.key);
                }
            }
        });
    ui.separator();
    if let Some(m) = list.iter().find(|m| m.key == chosen) {
        ui.label(egui::RichText::new(&m.title).strong());
        draw_machine(ui, &m.states, m.transitions, m.current, m.tcp);
    }
}

/// Draws a state diagram with `current` highlighted.
pub fn draw_machine(
    ui: &mut egui::Ui,
    states: &[&'static str],
    transitions: &[Transition],
    current: &str,
    tcp: bool,
) {
    let width = ui.available_width().max(260.0);
    let cols = 3usize;
    let place = |i: usize, s: &str| -> (f32, f32) {
        if tcp && let Some((_, p)) = TCP_PLACES.iter().find(|(n, _)| *n == s) {
            return *p;
        }
        ((i % cols) as f32, (i / cols) as f32)
    };
    let rows = states
        .iter()
        .enumerate()
        .map(|(i, s)| place(i, s).1)
        .fold(0.0f32, f32::max)
        + 1.0;
    let row_h = 62.0;
    let (rect, _) =
        ui.allocate_exact_size(egui::vec2(width, rows * row_h + 10.0), egui::Sense::hover());
    let painter = ui.painter_at(rect);
    let box_w = (width / cols as f32 - 18.0).min(150.0);
    let box_h = 26.0;
    let center = |i: usize, s: &str| {
        let (c, r) = place(i, s);
        egui::pos2(
            rect.left() + (c + 0.5) * width / cols as f32,
            rect.top() + 18.0 + r * row_h,
        )
    };
    let pos_of = |name: &str| {
        states
            .iter()
            .position(|s| *s == name)
            .map(|i| center(i, name))
    };
    // Edges first, under the boxes.
    for (a, b, label) in transitions {
        if a == b {
            continue;
        }
        let (Some(pa), Some(pb)) = (pos_of(a), pos_of(b)) else {
            continue;
        };
        let d = pb - pa;
        // Edges both ways apart by a few pixels.
        let back = transitions.iter().any(|(x, y, _)| x == b && y == a);
        let n = egui::vec2(-d.y, d.x).normalized() * if back { 5.0 } else { 0.0 };
        let clip = |from: egui::Pos2, dir: egui::Vec2| {
            let tx = if dir.x.abs() > 1e-3 {
                (box_w / 2.0 + 2.0) / dir.x.abs()
            } else {
                f32::INFINITY
            };
            let ty = if dir.y.abs() > 1e-3 {
                (box_h / 2.0 + 2.0) / dir.y.abs()
            } else {
                f32::INFINITY
            };
            from + dir * tx.min(ty)
        };
        let start = clip(pa + n, d);
        let end = clip(pb + n, -d);
        let active = *a == current;
        let color = if active {
            egui::Color32::from_rgb(200, 120, 0)
        } else {
            egui::Color32::from_gray(150)
        };
        painter.arrow(
            start,
            end - start,
            egui::Stroke::new(if active { 2.0 } else { 1.2 }, color),
        );
        if !label.is_empty() {
            let mid = start + (end - start) * 0.5 + n * 1.5;
            let galley = painter.layout_no_wrap(
                label.to_string(),
                egui::FontId::proportional(9.5),
                egui::Color32::from_gray(if active { 30 } else { 100 }),
            );
            let r = egui::Align2::CENTER_CENTER
                .anchor_size(mid, galley.size())
                .expand(1.0);
            painter.rect_filled(
                r,
                2,
                egui::Color32::from_rgba_unmultiplied(255, 255, 255, 200),
            );
            painter.galley(r.min + egui::vec2(1.0, 1.0), galley, egui::Color32::BLACK);
        }
    }
    for (i, s) in states.iter().enumerate() {
        let c = center(i, s);
        let r = egui::Rect::from_center_size(c, egui::vec2(box_w, box_h));
        let is_current = *s == current;
        let (fill, stroke, text) = if is_current {
            (
                egui::Color32::from_rgb(255, 205, 60),
                egui::Stroke::new(2.5, egui::Color32::from_rgb(120, 70, 0)),
                egui::Color32::BLACK,
            )
        } else {
            (
                egui::Color32::WHITE,
                egui::Stroke::new(1.0, egui::Color32::from_gray(150)),
                egui::Color32::from_gray(60),
            )
        };
        painter.rect_filled(r, 6, fill);
        painter.rect_stroke(r, 6, stroke, egui::StrokeKind::Inside);
        painter.text(
            c,
            egui::Align2::CENTER_CENTER,
            *s,
            if is_current {
                egui::FontId::proportional(12.5)
            } else {
                egui::FontId::proportional(11.5)
            },
            text,
        );
    }
}
