//! The event list: every record of the run, filterable by layer and host;
//! past events in full colour, future ones faint, the current one
//! highlighted. Clicking an event jumps there.

use super::{layer_badge, layer_color};
use crate::gui::sim::Control;
use crate::gui::ui::View;
use crate::trace::Layer;
use bevy_egui::egui;

/// The rows the list shows, cached per run and filter.
#[derive(Debug, Default)]
pub struct Rows {
    key: Option<(u64, Vec<Layer>, Option<u32>, String)>,
    pub rows: Vec<usize>,
    /// The layers that occur in the run.
    present: Option<(u64, Vec<Layer>)>,
}

/// The text of a record without its time column.
fn summary(text: &str) -> &str {
    match text.find(" ms  ") {
        Some(i) => &text[i + 5..],
        None => text,
    }
}

pub fn events(ui: &mut egui::Ui, v: &mut View) {
    let t = &v.sim.player.timeline;
    ui.horizontal(|ui| {
        ui.heading("Events");
        ui.label(
            egui::RichText::new("(click one to go there)")
                .small()
                .weak(),
        );
    });
    // Layers present in this run, as toggles.
    let generation = v.sim.player.generation;
    if v.state.rows.present.as_ref().map(|p| p.0) != Some(generation) {
        let mut present: Vec<Layer> = Vec::new();
        for r in &t.trace.records {
            let l = t.trace.layer(r);
            if !present.contains(&l) {
                present.push(l);
            }
        }
        present.sort();
        v.state.rows.present = Some((generation, present));
    }
    let present = v
        .state
        .rows
        .present
        .as_ref()
        .map(|p| p.1.clone())
        .unwrap_or_default();
    ui.horizontal_wrapped(|ui| {
        ui.spacing_mut().item_spacing.x = 3.0;
        for l in present {
            let mut on = !v.filter.hidden.contains(&l);
            let text = egui::RichText::new(l.label()).small().color(if on {
                layer_color(l)
            } else {
                egui::Color32::from_gray(160)
            });
            if ui.toggle_value(&mut on, text).changed() {
                if on {
                    v.filter.hidden.remove(&l);
                } else {
                    v.filter.hidden.insert(l);
                }
            }
        }
    });
    // Wrapped: in a narrow panel (a projector) the button goes under the
    // host list rather than past the edge.
    ui.horizontal_wrapped(|ui| {
        ui.label("Host");
        let current = match v.filter.host {
            Some(h) => t
                .hosts
                .get(h as usize)
                .map_or("?".to_owned(), |h| h.name.clone()),
            None => "all hosts".to_owned(),
        };
        let mut host = v.filter.host;
        egui::ComboBox::from_id_salt("host-filter")
            .selected_text(current)
            .show_ui(ui, |ui| {
                ui.selectable_value(&mut host, None, "all hosts");
                for h in &t.hosts {
                    ui.selectable_value(&mut host, Some(h.node), &h.name);
                }
            });
        v.filter.host = host;
        let hops_shown =
            !v.filter.hidden.contains(&Layer::Link) || !v.filter.hidden.contains(&Layer::Ip);
        let (label, hover) = if hops_shown {
            (
                "Hide LINK and IP",
                "Hide the link and IP events: what remains reads end to end",
            )
        } else {
            (
                "Show LINK and IP",
                "Show every hop of every packet: links and routers",
            )
        };
        if ui.small_button(label).on_hover_text(hover).clicked() {
            for l in [Layer::Link, Layer::Ip] {
                if hops_shown {
                    v.filter.hidden.insert(l);
                } else {
                    v.filter.hidden.remove(&l);
                }
            }
        }
    });
    ui.horizontal(|ui| {
        ui.label("Find");
        ui.add(
            egui::TextEdit::singleline(&mut v.filter.text)
                .desired_width(ui.available_width() - 30.0)
                .hint_text("text, address, port or field (code=550)"),
        )
        .on_hover_text("Only events whose line contains this; the arrow keys step between them");
        if !v.filter.text.is_empty() && ui.small_button("✖").on_hover_text("Clear").clicked() {
            v.filter.text.clear();
        }
    });
    ui.separator();
    // Recompute the rows when the run or the filter changed.
    let key = (
        v.sim.player.generation,
        v.filter.hidden.iter().copied().collect::<Vec<_>>(),
        v.filter.host,
        v.filter.text.trim().to_owned(),
    );
    if v.state.rows.key.as_ref() != Some(&key) {
        v.state.rows.rows = (0..t.trace.records.len())
            .filter(|&i| v.filter.shows(t, i))
            .collect();
        v.state.rows.key = Some(key);
    }
    let rows = &v.state.rows.rows;
    let cursor = v.sim.player.cursor;
    let current = v.sim.player.current();
    let row_h = 18.0;
    let mut area = egui::ScrollArea::vertical()
        .auto_shrink([false, false])
        .id_salt("event-list");
    // Follow the cursor: when it moved, centre the current row.
    let follow = (v.sim.player.generation, cursor);
    if v.state.followed_cursor != Some(follow) {
        v.state.followed_cursor = Some(follow);
        let pos = rows.partition_point(|&i| i < cursor);
        let spacing = ui.spacing().item_spacing.y;
        let y = (pos as f32 * (row_h + spacing) - ui.available_height() / 2.0).max(0.0);
        area = area.vertical_scroll_offset(y);
    }
    let mut clicked = None;
    area.show_rows(ui, row_h, rows.len(), |ui, range| {
        for &i in &rows[range] {
            let r = &t.trace.records[i];
            let past = i < cursor;
            let is_current = Some(i) == current;
            let layer = t.trace.layer(r);
            let text = t.trace.to_text(r);
            // A slot under the row for the current event's background.
            let bg = ui.painter().add(egui::Shape::Noop);
            let resp = ui
                .horizontal(|ui| {
                    ui.set_height(row_h);
                    let ms = r.time.as_nanos() as f64 / 1e6;
                    let time = egui::RichText::new(format!("{ms:>9.3}"))
                        .monospace()
                        .size(11.5)
                        .color(egui::Color32::from_gray(if past { 90 } else { 170 }));
                    ui.label(time);
                    let mut c = layer_color(layer);
                    if !past {
                        c = c.gamma_multiply(0.45);
                    }
                    layer_badge(ui, layer.label(), c);
                    let mut rt = egui::RichText::new(summary(&text)).size(12.5);
                    rt = if past {
                        rt.color(egui::Color32::from_gray(25))
                    } else {
                        rt.color(egui::Color32::from_gray(165))
                    };
                    if is_current {
                        rt = rt.strong();
                    }
                    ui.add(egui::Label::new(rt).truncate().selectable(false));
                })
                .response;
            if is_current {
                ui.painter().set(
                    bg,
                    egui::Shape::rect_filled(
                        resp.rect.expand(1.0),
                        3,
                        egui::Color32::from_rgb(255, 226, 140),
                    ),
                );
            }
            let click = ui.interact(resp.rect, egui::Id::new(("event", i)), egui::Sense::click());
            if click.clicked() {
                clicked = Some(i);
            }
            click.on_hover_text(&text);
        }
    });
    if let Some(i) = clicked {
        v.out.push(Control::JumpTo(i));
    }
}
