//! The ladder (sequence) diagram: one column per host, time running down,
//! an arrow for each TCP segment or UDP datagram from the host that sent
//! it to the host that received it, labelled with its flags or its first
//! line of text. Rows are events, not seconds, so that a 30-second
//! TIME-WAIT does not push everything off screen; the time of each send is
//! written on the left. Arrows after the current event are faint, and the
//! view scrolls with the current event.

use crate::gui::model::{HostKind, Timeline};
use crate::gui::sim::Control;
use crate::gui::theme::{conn_color32, proto_color32};
use crate::gui::ui::View;
use crate::net::packet::PacketId;
use crate::trace::Event;
use bevy_egui::egui;
use std::collections::BTreeMap;

/// An arrow of the ladder.
#[derive(Debug, Clone)]
pub struct Arrow {
    pub from_col: usize,
    pub to_col: usize,
    /// Row of the send, and of the receipt (or of the loss).
    pub sent_row: usize,
    pub end_row: usize,
    pub lost: bool,
    /// The send record.
    pub record: usize,
    pub flight_packet: PacketId,
    pub label: String,
    pub color: egui::Color32,
    pub ring: egui::Color32,
}

/// The ladder of one run.
#[derive(Debug, Default)]
pub struct LadderCache {
    generation: Option<u64>,
    /// Column host nodes, left to right.
    pub columns: Vec<u32>,
    /// The record behind each row.
    pub rows: Vec<usize>,
    pub arrows: Vec<Arrow>,
}

impl LadderCache {
    /// Builds the ladder of `t`.
    pub fn build(t: &Timeline) -> LadderCache {
        // Columns: hosts that send or receive, ordered as drawn in the
        // topology (left to right).
        let mut columns: Vec<u32> = t
            .hosts
            .iter()
            .filter(|h| h.kind != HostKind::Router)
            .map(|h| h.node)
            .collect();
        columns.sort_by(|a, b| {
            let (pa, pb) = (t.hosts[*a as usize].pos, t.hosts[*b as usize].pos);
            pa.0.total_cmp(&pb.0).then(pa.1.total_cmp(&pb.1))
        });
        let col_of: BTreeMap<u32, usize> =
            columns.iter().enumerate().map(|(i, &n)| (n, i)).collect();
        let mut first_flight: BTreeMap<PacketId, usize> = BTreeMap::new();
        for (i, f) in t.flights.iter().enumerate() {
            first_flight.entry(f.packet).or_insert(i);
        }
        let mut rows = Vec::new();
        let mut open: BTreeMap<PacketId, usize> = BTreeMap::new();
        let mut arrows: Vec<Arrow> = Vec::new();
        for (i, r) in t.trace.records.iter().enumerate() {
            match &r.event {
                Event::SegmentSent { host, packet } | Event::DatagramSent { host, packet } => {
                    let Some(p) = t.trace.packet(*packet) else {
                        continue;
                    };
                    let Some(&from_col) = col_of.get(host) else {
                        continue;
                    };
                    let Some(&to_col) = t.trace.addresses.get(&p.dst).and_then(|n| col_of.get(n))
                    else {
                        continue;
                    };
                    let conn = t.conn_of(*packet).unwrap_or(0);
                    let proto = t
                        .conns
                        .get(conn)
                        .map_or(crate::gui::model::Proto::Tcp, |c| c.proto);
                    let label = first_flight
                        .get(packet)
                        .map(|&f| crate::gui::visuals::packet_label(t, f))
                        .unwrap_or_default();
                    open.insert(*packet, arrows.len());
                    arrows.push(Arrow {
                        from_col,
                        to_col,
                        sent_row: rows.len(),
                        end_row: rows.len(),
                        lost: true,
                        record: i,
                        flight_packet: *packet,
                        label,
                        color: proto_color32(proto),
                        ring: conn_color32(conn),
                    });
                    rows.push(i);
                }
                Event::SegmentReceived { packet, .. } | Event::DatagramReceived { packet, .. } => {
                    if let Some(a) = open.remove(packet) {
                        arrows[a].end_row = rows.len();
                        arrows[a].lost = false;
                        rows.push(i);
                    }
                }
                Event::Dropped { packet, .. } => {
                    if let Some(&a) = open.get(packet) {
                        arrows[a].end_row = rows.len();
                        open.remove(packet);
                        rows.push(i);
                    }
                }
                _ => {}
            }
        }
        LadderCache {
            generation: None,
            columns,
            rows,
            arrows,
        }
    }
}

pub fn ladder(ui: &mut egui::Ui, v: &mut View) {
    let t = &v.sim.player.timeline;
    let generation = v.sim.player.generation;
    if v.state.ladder.generation != Some(generation) {
        v.state.ladder = LadderCache::build(t);
        v.state.ladder.generation = Some(generation);
    }
    let lad = &v.state.ladder;
    if lad.columns.is_empty() || lad.arrows.is_empty() {
        ui.label("No packets between hosts in this run.");
        return;
    }
    let cursor = v.sim.player.cursor;
    let row_h = 22.0;
    let left = 62.0;
    let width = ui.available_width().max(200.0);
    let ncol = lad.columns.len();
    let col_x = |c: usize| -> f32 {
        if ncol == 1 {
            left + (width - left) / 2.0
        } else {
            left + 30.0 + (width - left - 60.0) * c as f32 / (ncol - 1) as f32
        }
    };
    // Column headers stay on top.
    let (head, _) = ui.allocate_exact_size(egui::vec2(width, 34.0), egui::Sense::hover());
    for (c, &n) in lad.columns.iter().enumerate() {
        let h = &t.hosts[n as usize];
        let x = head.left() + col_x(c);
        ui.painter().text(
            egui::pos2(x, head.top() + 2.0),
            egui::Align2::CENTER_TOP,
            &h.name,
            egui::FontId::proportional(13.5),
            egui::Color32::from_gray(20),
        );
        if let Some(a) = h.addresses.first() {
            ui.painter().text(
                egui::pos2(x, head.top() + 18.0),
                egui::Align2::CENTER_TOP,
                a.to_string(),
                egui::FontId::monospace(10.0),
                egui::Color32::from_gray(110),
            );
        }
    }
    // The row of the current event: the last row whose record happened.
    let now_row = lad.rows.partition_point(|&r| r < cursor);
    let mut area = egui::ScrollArea::vertical()
        .auto_shrink([false, false])
        .id_salt("ladder");
    let follow = (generation, cursor);
    if v.state.ladder_followed != Some(follow) {
        v.state.ladder_followed = Some(follow);
        let y = (now_row as f32 * row_h - ui.available_height() * 0.6).max(0.0);
        area = area.vertical_scroll_offset(y);
    }
    let mut clicked = None;
    area.show_viewport(ui, |ui, viewport| {
        let total = lad.rows.len() as f32 * row_h + 20.0;
        let (rect, resp) = ui.allocate_exact_size(egui::vec2(width, total), egui::Sense::click());
        let painter = ui.painter_at(rect);
        let top = rect.top() + 10.0;
        let y_of = |row: usize| top + row as f32 * row_h;
        let first = ((viewport.min.y - 40.0) / row_h).max(0.0) as usize;
        let last = ((viewport.max.y + 40.0) / row_h) as usize + 1;
        // Life lines.
        for c in 0..ncol {
            let x = rect.left() + col_x(c);
            painter.line_segment(
                [egui::pos2(x, rect.top()), egui::pos2(x, rect.bottom())],
                egui::Stroke::new(2.0, egui::Color32::from_gray(200)),
            );
        }
        // The current time line.
        let ny = y_of(now_row) - row_h / 2.0;
        painter.line_segment(
            [egui::pos2(rect.left(), ny), egui::pos2(rect.right(), ny)],
            egui::Stroke::new(1.5, egui::Color32::from_rgb(240, 170, 0)),
        );
        let pointer = resp.interact_pointer_pos();
        // Arrows are in order of their send row; an arrow spans at most a
        // few hundred rows, so start a little above the first visible row.
        let start = lad.arrows.partition_point(|a| a.sent_row + 400 < first);
        for a in &lad.arrows[start..] {
            if a.sent_row > last {
                break;
            }
            if a.end_row < first {
                continue;
            }
            let past = lad.rows[a.sent_row] < cursor;
            let done = lad.rows[a.end_row] < cursor;
            let x0 = rect.left() + col_x(a.from_col);
            let x1 = rect.left() + col_x(a.to_col);
            let (y0, y1) = (y_of(a.sent_row), y_of(a.end_row));
            let (x_end, y_end) = if a.lost {
                (x0 + (x1 - x0) * 0.6, y0 + (y1 - y0).max(row_h) * 0.6)
            } else {
                (x1, y1)
            };
            let alpha = if past { 1.0 } else { 0.22 };
            let color = a.color.gamma_multiply(alpha);
            let stroke = egui::Stroke::new(if done || !past { 1.8 } else { 2.6 }, color);
            let vec = egui::vec2(x_end - x0, y_end - y0);
            if a.lost {
                painter.line_segment([egui::pos2(x0, y0), egui::pos2(x_end, y_end)], stroke);
                let red = egui::Color32::from_rgb(220, 25, 25).gamma_multiply(alpha);
                let c = egui::pos2(x_end, y_end);
                let d = 5.0;
                painter.line_segment(
                    [c + egui::vec2(-d, -d), c + egui::vec2(d, d)],
                    egui::Stroke::new(2.5, red),
                );
                painter.line_segment(
                    [c + egui::vec2(-d, d), c + egui::vec2(d, -d)],
                    egui::Stroke::new(2.5, red),
                );
            } else {
                painter.arrow(egui::pos2(x0, y0), vec, stroke);
            }
            // Time of the send on the left, the label over the arrow.
            let ms = v.sim.player.timeline.trace.records[a.record]
                .time
                .as_nanos() as f64
                / 1e6;
            painter.text(
                egui::pos2(rect.left() + 2.0, y0),
                egui::Align2::LEFT_CENTER,
                format!("{ms:.3}"),
                egui::FontId::monospace(9.5),
                egui::Color32::from_gray(if past { 100 } else { 185 }),
            );
            if !a.label.is_empty() {
                let mid = egui::pos2((x0 + x_end) / 2.0, (y0 + y_end) / 2.0 - 7.0);
                let galley = painter.layout_no_wrap(
                    a.label.clone(),
                    egui::FontId::proportional(10.5),
                    egui::Color32::from_gray(if past { 25 } else { 175 }),
                );
                let r = egui::Align2::CENTER_CENTER
                    .anchor_size(mid, galley.size())
                    .expand(1.5);
                painter.rect_filled(
                    r,
                    2,
                    egui::Color32::from_rgba_unmultiplied(255, 255, 255, 215),
                );
                painter.galley(r.min + egui::vec2(1.5, 1.5), galley, egui::Color32::BLACK);
            }
            if let Some(p) = pointer
                && resp.clicked()
            {
                let seg_d = dist_to_segment(p, egui::pos2(x0, y0), egui::pos2(x_end, y_end));
                if seg_d < 6.0 {
                    clicked = Some(a.record);
                }
            }
        }
    });
    if let Some(r) = clicked {
        v.out.push(Control::JumpTo(r));
    }
}

fn dist_to_segment(p: egui::Pos2, a: egui::Pos2, b: egui::Pos2) -> f32 {
    let ab = b - a;
    let len2 = ab.length_sq();
    if len2 < 1e-6 {
        return (p - a).length();
    }
    let t = ((p - a).dot(ab) / len2).clamp(0.0, 1.0);
    (p - (a + ab * t)).length()
}
