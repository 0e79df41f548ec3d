//! The egui panels, as plain functions over a [`View`]: no systems here
//! ([`super::ui::UiPlugin`] calls [`draw_all`] once a frame).
//!
//! - toolbar and caption: [`toolbar`]
//! - the event list: [`events`]
//! - the ladder diagram: [`ladder`]
//! - two runs compared, ladder beside ladder: [`compare`]
//! - transcripts of application connections: [`transcript`]
//! - the packet inspector: [`packet`]
//! - TCP and protocol state machines: [`machines`]
//! - TCP plots (cwnd, sequence numbers): [`plot`]
//! - host inspectors: [`hosts`]

pub mod compare;
pub mod events;
pub mod hosts;
pub mod ladder;
pub mod machines;
pub mod packet;
pub mod plot;
pub mod toolbar;
pub mod transcript;

use super::model::Proto;
use super::theme::proto_color32;
use super::ui::View;
use crate::sim::SimTime;
use bevy_egui::egui;

/// The right panel's tabs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Tab {
    #[default]
    Ladder,
    Transcript,
    Packet,
    Machines,
    Plot,
    Hosts,
}

impl Tab {
    /// The tab called `name` (its title, any case, or a prefix of it).
    pub fn from_name(name: &str) -> Option<Tab> {
        let n = name.to_ascii_lowercase();
        Tab::ALL
            .into_iter()
            .find(|t| t.title().to_ascii_lowercase().starts_with(&n))
    }

    const ALL: [Tab; 6] = [
        Tab::Ladder,
        Tab::Transcript,
        Tab::Packet,
        Tab::Machines,
        Tab::Plot,
        Tab::Hosts,
    ];

    /// Its name on the command line (`--tab`) and in saved layouts.
    pub fn name(self) -> &'static str {
        match self {
            Tab::Ladder => "ladder",
            Tab::Transcript => "transcripts",
            Tab::Packet => "packet",
            Tab::Machines => "state",
            Tab::Plot => "tcp",
            Tab::Hosts => "hosts",
        }
    }

    fn title(self) -> &'static str {
        match self {
            Tab::Ladder => "Ladder",
            Tab::Transcript => "Transcripts",
            Tab::Packet => "Packet",
            Tab::Machines => "State machines",
            Tab::Plot => "TCP plot",
            Tab::Hosts => "Hosts",
        }
    }
}

/// A time for people: "52.000 ms", "1.250 s".
pub fn fmt_time(t: SimTime) -> String {
    (t - SimTime::ZERO).to_string()
}

/// Draws every panel; returns the rectangle left for the scene.
pub fn draw_all(ctx: &egui::Context, v: &mut View) -> egui::Rect {
    let mut root = egui::Ui::new(
        ctx.clone(),
        "wiretale-root".into(),
        egui::UiBuilder::new()
            .layer_id(egui::LayerId::background())
            .max_rect(ctx.viewport_rect()),
    );
    let present = v.state.presentation;
    if !present {
        egui::Panel::top("toolbar")
            .frame(panel_frame(ctx, 6.0))
            .show(&mut root, |ui| toolbar::toolbar(ui, v));
    }
    // While two runs are compared, each ladder has its own caption line.
    let comparing = v.sim.fork.is_some() && !present;
    if present || (!v.state.hide_caption && !comparing) {
        egui::Panel::top("caption")
            .frame(panel_frame(ctx, 8.0).fill(caption_fill(v)))
            .show(&mut root, |ui| toolbar::caption(ui, v));
    }
    // The side panels take at most a quarter of the window each (a
    // projector's 1280 or 1024 pixels leave the view its room); lecture
    // mode and each text size keep their own widths (separate ids).
    let width = ctx.viewport_rect().width();
    let key = (v.theme.lecture, v.theme.font_step);
    let (left_w, right_w) = if v.theme.lecture {
        (270.0, 330.0)
    } else {
        (380.0, 460.0)
    };
    let cap = (width * 0.26).max(200.0);
    if !present && !v.state.hide_events {
        egui::Panel::left(egui::Id::new(("events", key)))
            .default_size(f32::min(left_w, cap))
            .size_range(180.0..=cap.max(180.0))
            .frame(panel_frame(ctx, 6.0))
            .show(&mut root, |ui| events::events(ui, v));
    }
    if !present && !v.state.hide_inspectors {
        egui::Panel::right(egui::Id::new(("inspectors", key)))
            .default_size(f32::min(right_w, cap * 1.15))
            .size_range(220.0..=(cap * 1.4).max(220.0))
            .frame(panel_frame(ctx, 6.0))
            .show(&mut root, |ui| inspectors(ui, v));
    }
    let central = root.available_rect_before_wrap();
    v.state.central = Some(central);
    if present {
        presentation_hint(ctx, central);
    }
    // The network is drawn between the status lines at the top and the
    // legend at the bottom (their sizes from the last frame), so that no
    // host or label sits under them.
    let mut scene = central;
    if comparing {
        compare::compare_view(ctx, central, v);
    } else if v.state.textbook_on(&v.sim.player.timeline) {
        let top = status(ctx, central, v);
        textbook_view(ctx, central, top.y, v);
    } else {
        let top = status(ctx, central, v);
        let bottom = legend(ctx, central, v);
        // The status lines take a strip off the top; the legend a strip
        // off the bottom, or off the left side when the area is wide
        // (what a window with its panels folded is).
        let (t, b) = v.state.overlays;
        scene.min.y = (scene.min.y + t.y).min(scene.max.y - 40.0);
        let wide = scene.width() / scene.height().max(1.0) > 2.2;
        if wide {
            scene.min.x = (scene.min.x + b.x).min(scene.max.x - 40.0);
        } else {
            scene.max.y = (scene.max.y - b.y).max(scene.min.y + 40.0);
        }
        v.state.overlays = (top, bottom);
    }
    error_window(ctx, v);
    super::files::browser_window(ctx, v);
    scene
}

/// The textbook view over the scene's area: it hides the network drawn
/// beneath, and takes the area's clicks.
fn textbook_view(ctx: &egui::Context, central: egui::Rect, status_height: f32, v: &mut View) {
    use super::textbook;
    let t = &v.sim.player.timeline;
    let at = v.sim.player.time;
    let generation = v.sim.player.generation;
    // The figure is laid out below the status lines (a long title wraps
    // to two), and its background covers the whole view.
    let mut layout = central;
    layout.min.y = (layout.min.y + status_height).min(layout.max.y - 80.0);
    let fresh = matches!(&v.state.figure, Some((g, r, _)) if *g == generation && *r == layout);
    if !fresh {
        v.state.figure = Some((generation, layout, textbook::Figure::new(t, layout)));
    }
    // Out of the state while it is drawn (the state is borrowed mutably
    // below), back in at the end.
    let Some((generation, area, fig)) = v.state.figure.take() else {
        return;
    };
    egui::Area::new(egui::Id::new("textbook"))
        .fixed_pos(central.min)
        .order(egui::Order::Background)
        .show(ctx, |ui| {
            ui.set_min_size(central.size());
            let (response, painter) = ui.allocate_painter(central.size(), egui::Sense::click());
            painter.rect_filled(central, 0, textbook::BACKGROUND);
            textbook::draw(&painter, &fig, t, at, v.theme.lecture);
            if response.clicked()
                && let Some(pos) = response.interact_pointer_pos()
            {
                let hit = fig
                    .objects(t, at)
                    .into_iter()
                    .filter(|(_, p)| p.distance(pos) < 18.0)
                    .min_by(|a, b| a.1.distance(pos).total_cmp(&b.1.distance(pos)));
                v.selection.object = hit.map(|(j, _)| j);
                if let Some(j) = v.selection.object {
                    let (conn, flight) = textbook::carriers(t, j);
                    v.selection.conn = conn;
                    v.selection.flight = flight;
                }
            }
            if let Some(j) = v.selection.object {
                textbook::details(ui, central, t, j);
            }
        });
    if let Some(path) = &v.state.figure_json {
        let json = textbook::to_json(&fig, t, at, ctx.zoom_factor());
        if json != v.state.figure_written {
            if let Err(e) = std::fs::write(path, &json) {
                eprintln!("wiretale: cannot write {}: {e}", path.display());
            }
            v.state.figure_written = json;
        }
    }
    v.state.figure = Some((generation, area, fig));
}

/// How to leave presentation mode, small in the corner.
fn presentation_hint(ctx: &egui::Context, central: egui::Rect) {
    egui::Area::new("presentation-hint".into())
        .fixed_pos(central.right_bottom() + egui::vec2(-10.0, -8.0))
        .pivot(egui::Align2::RIGHT_BOTTOM)
        .interactable(false)
        .show(ctx, |ui| {
            ui.label(
                egui::RichText::new(
                    "PageDown / PageUp: next / previous caption   ·   P or Esc: leave",
                )
                .small()
                .color(egui::Color32::from_gray(140)),
            );
        });
}

fn panel_frame(ctx: &egui::Context, margin: f32) -> egui::Frame {
    egui::Frame::new()
        .fill(ctx.global_style().visuals.panel_fill)
        .inner_margin(egui::Margin::same(margin as i8))
        .stroke(egui::Stroke::new(1.0, egui::Color32::from_gray(215)))
}

fn caption_fill(v: &View) -> egui::Color32 {
    if v.theme.lecture {
        egui::Color32::WHITE
    } else {
        egui::Color32::from_rgb(255, 252, 240)
    }
}

fn inspectors(ui: &mut egui::Ui, v: &mut View) {
    ui.horizontal_wrapped(|ui| {
        for t in Tab::ALL {
            if ui.selectable_label(v.state.tab == t, t.title()).clicked() {
                v.state.tab = t;
            }
        }
    });
    ui.separator();
    match v.state.tab {
        Tab::Ladder => ladder::ladder(ui, v),
        Tab::Transcript => transcript::transcripts(ui, v),
        Tab::Packet => packet::inspector(ui, v),
        Tab::Machines => machines::machines(ui, v),
        Tab::Plot => plot::plot(ui, v),
        Tab::Hosts => hosts::hosts(ui, v),
    }
}

/// The protocols that occur in this run, for the legend.
fn protocols_in_run(v: &View) -> Vec<Proto> {
    let mut seen: Vec<Proto> = v
        .sim
        .player
        .timeline
        .conns
        .iter()
        .map(|c| c.proto)
        .collect();
    seen.sort();
    seen.dedup();
    seen
}

/// The colour legend over the scene's bottom-left corner; returns how
/// much of the scene's width and height it takes.
fn legend(ctx: &egui::Context, central: egui::Rect, v: &View) -> egui::Vec2 {
    let present = protocols_in_run(v);
    let shown = egui::Area::new("legend".into())
        .fixed_pos(central.left_bottom() + egui::vec2(10.0, -10.0))
        .pivot(egui::Align2::LEFT_BOTTOM)
        .interactable(false)
        .show(ctx, |ui| {
            egui::Frame::new()
                .fill(egui::Color32::from_rgba_unmultiplied(255, 255, 255, 235))
                .stroke(egui::Stroke::new(1.0, egui::Color32::from_gray(200)))
                .corner_radius(6)
                .inner_margin(egui::Margin::same(8))
                .show(ui, |ui| {
                    ui.label(egui::RichText::new("Legend").strong());
                    egui::Grid::new("legend-grid")
                        .num_columns(4)
                        .spacing([6.0, 3.0])
                        .show(ui, |ui| {
                            let mut n = 0;
                            for p in Proto::ALL {
                                // Show what is in the run, plus the FTP pair
                                // whenever FTP appears.
                                let ftp = present.contains(&Proto::FtpControl)
                                    && matches!(p, Proto::FtpData | Proto::FtpControl);
                                if !present.contains(&p) && !ftp {
                                    continue;
                                }
                                legend_item(ui, p);
                                n += 1;
                                if n % 2 == 0 {
                                    ui.end_row();
                                }
                            }
                            if n % 2 == 1 {
                                ui.end_row();
                            }
                        });
                    ui.horizontal(|ui| {
                        let (r, _) =
                            ui.allocate_exact_size(egui::vec2(14.0, 14.0), egui::Sense::hover());
                        let p = ui.painter();
                        let red = egui::Color32::from_rgb(220, 25, 25);
                        p.line_segment(
                            [r.left_top(), r.right_bottom()],
                            egui::Stroke::new(3.0, red),
                        );
                        p.line_segment(
                            [r.right_top(), r.left_bottom()],
                            egui::Stroke::new(3.0, red),
                        );
                        ui.label("packet lost");
                        let (r, _) =
                            ui.allocate_exact_size(egui::vec2(14.0, 14.0), egui::Sense::hover());
                        ui.painter().circle_stroke(
                            r.center(),
                            5.5,
                            egui::Stroke::new(2.5, super::theme::conn_color32(3)),
                        );
                        ui.label("ring = connection");
                    });
                    if present.contains(&Proto::FtpControl) || present.contains(&Proto::FtpData) {
                        ui.label(
                            egui::RichText::new("FTP data: diamonds on the outer lane").small(),
                        );
                    }
                });
        });
    let r = shown.response.rect;
    egui::vec2(r.max.x - central.min.x + 6.0, central.max.y - r.min.y + 6.0)
}

fn legend_item(ui: &mut egui::Ui, p: Proto) {
    let (r, _) = ui.allocate_exact_size(egui::vec2(14.0, 14.0), egui::Sense::hover());
    let c = proto_color32(p);
    if p == Proto::FtpData {
        let pts = vec![
            r.center_top(),
            r.right_center(),
            r.center_bottom(),
            r.left_center(),
        ];
        ui.painter()
            .add(egui::Shape::convex_polygon(pts, c, egui::Stroke::NONE));
    } else {
        ui.painter().circle_filled(r.center(), 6.0, c);
    }
    ui.label(p.name());
}

/// Packets on the wire, top right of the scene; returns how much of the
/// scene's width and height it takes.
fn status(ctx: &egui::Context, central: egui::Rect, v: &View) -> egui::Vec2 {
    let n = v.on_screen.flights.len();
    let shown = egui::Area::new("status".into())
        .fixed_pos(central.right_top() + egui::vec2(-10.0, 10.0))
        .pivot(egui::Align2::RIGHT_TOP)
        .interactable(false)
        .constrain_to(central)
        .show(ctx, |ui| {
            // Wrapped within the view, never over the panels beside it.
            ui.set_max_width((central.width() - 20.0).max(80.0));
            let t = &v.sim.player.timeline;
            ui.label(
                egui::RichText::new(format!(
                    "{}   ·   {n} packet{} on the wire",
                    t.scenario.title,
                    if n == 1 { "" } else { "s" }
                ))
                .color(egui::Color32::from_gray(90)),
            );
            if let Some(links) = crate::gui::visuals::uniform_links(t) {
                ui.label(
                    egui::RichText::new(format!("every link: {links}"))
                        .color(egui::Color32::from_gray(90)),
                );
            }
            if t.truncated {
                ui.colored_label(
                    egui::Color32::from_rgb(180, 60, 0),
                    format!("run cut after {} events", t.trace.records.len()),
                );
            }
        });
    let r = shown.response.rect;
    egui::vec2(central.max.x - r.min.x + 4.0, r.max.y - central.min.y + 4.0)
}

/// A scenario error (with file:line:column) in a window over the view.
fn error_window(ctx: &egui::Context, v: &mut View) {
    let Some(err) = v.sim.error.clone() else {
        return;
    };
    if v.state.dismissed_error.as_deref() == Some(err.as_str()) {
        return;
    }
    egui::Window::new("Scenario error")
        .collapsible(false)
        .resizable(true)
        .default_width(640.0)
        .anchor(egui::Align2::CENTER_TOP, egui::vec2(0.0, 120.0))
        .show(ctx, |ui| {
            ui.label(
                egui::RichText::new("The scenario could not be loaded. The view shows the previous one; fix the file and it reloads by itself.")
                    .color(egui::Color32::from_gray(70)),
            );
            ui.add_space(6.0);
            egui::ScrollArea::vertical().max_height(360.0).show(ui, |ui| {
                ui.label(
                    egui::RichText::new(&err)
                        .monospace()
                        .color(egui::Color32::from_rgb(170, 20, 20)),
                );
            });
            ui.add_space(6.0);
            if ui.button("Dismiss").clicked() {
                v.state.dismissed_error = Some(err.clone());
            }
        });
}

/// A small coloured tag with a layer's name.
pub fn layer_badge(ui: &mut egui::Ui, label: &str, color: egui::Color32) {
    let text = egui::RichText::new(label)
        .monospace()
        .size(10.5)
        .color(egui::Color32::WHITE);
    egui::Frame::new()
        .fill(color)
        .corner_radius(3)
        .inner_margin(egui::Margin::symmetric(3, 0))
        .show(ui, |ui| ui.label(text));
}

/// The colour of a trace layer in lists and badges.
pub fn layer_color(l: crate::trace::Layer) -> egui::Color32 {
    use crate::trace::Layer;
    match Proto::from_layer(l) {
        Some(p) => proto_color32(p),
        None => match l {
            Layer::Tcp => proto_color32(Proto::Tcp),
            Layer::Udp => proto_color32(Proto::Udp),
            Layer::Link => egui::Color32::from_gray(130),
            Layer::Ip => egui::Color32::from_rgb(100, 110, 140),
            Layer::Fault => egui::Color32::from_rgb(200, 30, 30),
            _ => egui::Color32::from_rgb(90, 90, 90),
        },
    }
}
