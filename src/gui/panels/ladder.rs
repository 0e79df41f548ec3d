//! The ladder (sequence) diagram: one column per host, time running down,
//! an arrow for each TCP segment or UDP datagram from the host that sent
//! it to the host that received it, labelled with its flags or its first
//! line of text, slanted by the time it took, as in the textbook figures.
//! Time runs on the time line's axis, where long idle stretches (a
//! 30-second TIME-WAIT) are shortened. The orange line is the view time;
//! arrows after it are faint, and the view scrolls with it.

use crate::gui::model::{HostKind, Timeline};
use crate::gui::sim::Control;
use crate::gui::theme::{conn_color32, proto_color32};
use crate::gui::ui::View;
use crate::net::packet::{PacketId, Payload};
use crate::trace::Event;
use bevy_egui::egui;
use std::collections::BTreeMap;

/// An arrow of the ladder.
#[derive(Debug, Clone)]
pub struct Arrow {
    pub from_col: usize,
    pub to_col: usize,
    /// Axis positions (see `Timeline::to_axis`) of the send, and of the
    /// receipt (or of the loss).
    pub y0: f64,
    pub y1: f64,
    /// The record that ends the arrow (receipt or drop).
    pub end_record: usize,
    pub lost: bool,
    /// The send record.
    pub record: usize,
    pub flight_packet: PacketId,
    pub label: String,
    pub color: egui::Color32,
    pub ring: egui::Color32,
    /// Index into the timeline's connections.
    pub conn: usize,
    /// FTP data: drawn dashed.
    pub dashed: bool,
    /// Where a lost packet's mark goes, in columns (between `from_col`
    /// and `to_col`, never on a third host's line).
    pub lost_at: f32,
}

/// The ladder of one run.
#[derive(Debug, Default)]
pub struct LadderCache {
    generation: Option<u64>,
    /// Column host nodes, left to right.
    pub columns: Vec<u32>,
    /// In order of `y0`.
    pub arrows: Vec<Arrow>,
    /// The longest arrow, in axis units.
    max_span: f64,
    /// Pixels per axis unit: the median arrow is about 48 px tall, so that
    /// arrows slant the same whatever the links' latencies.
    pub scale: f64,
    /// Column headers as fitted for a width (rounded), per column.
    headers: Headers,
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
        // Pairs of columns joined by more than one TCP connection (FTP's
        // control and data connections): their arrows name their ports.
        let mut conns_between: BTreeMap<(usize, usize), std::collections::BTreeSet<usize>> =
            BTreeMap::new();
        for f in &t.flights {
            let ends = (
                t.trace.packet(f.packet).and_then(|p| {
                    let a = t.trace.addresses.get(&p.src).and_then(|n| col_of.get(n))?;
                    let b = t.trace.addresses.get(&p.dst).and_then(|n| col_of.get(n))?;
                    matches!(p.payload, Payload::Tcp(_)).then_some((*a.min(b), *a.max(b)))
                }),
                f.conn,
            );
            if let (Some(pair), c) = ends {
                conns_between.entry(pair).or_default().insert(c);
            }
        }
        let shared: std::collections::BTreeSet<(usize, usize)> = conns_between
            .into_iter()
            .filter(|(_, c)| c.len() > 1)
            .map(|(k, _)| k)
            .collect();
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
                    let mut label = first_flight
                        .get(packet)
                        .map(|&f| crate::gui::visuals::packet_label(t, f))
                        .unwrap_or_default();
                    if let Payload::Tcp(seg) = &p.payload
                        && shared.contains(&(from_col.min(to_col), from_col.max(to_col)))
                    {
                        // Several connections join these hosts: say which.
                        label = format!("{} > {}  {label}", seg.src_port, seg.dst_port);
                    }
                    open.insert(*packet, arrows.len());
                    let y = t.to_axis(r.time);
                    arrows.push(Arrow {
                        from_col,
                        to_col,
                        y0: y,
                        y1: y,
                        end_record: i,
                        lost: true,
                        record: i,
                        flight_packet: *packet,
                        label,
                        color: proto_color32(proto),
                        ring: conn_color32(conn),
                        conn,
                        dashed: proto == crate::gui::model::Proto::FtpData,
                        lost_at: from_col as f32 + 0.5 * (to_col as f32 - from_col as f32).signum(),
                    });
                }
                Event::SegmentReceived { packet, .. } | Event::DatagramReceived { packet, .. } => {
                    if let Some(a) = open.remove(packet) {
                        arrows[a].y1 = t.to_axis(r.time);
                        arrows[a].end_record = i;
                        arrows[a].lost = false;
                    }
                }
                Event::Dropped { packet, node, .. } => {
                    if let Some(a) = open.remove(packet) {
                        let arrow = &mut arrows[a];
                        arrow.y1 = t.to_axis(r.time);
                        arrow.end_record = i;
                        // At the host that dropped it, when it is a
                        // column between the two ends; else halfway to
                        // the next column.
                        let (from, to) = (arrow.from_col as f32, arrow.to_col as f32);
                        let step = (to - from).signum();
                        if let Some(&c) = col_of.get(node) {
                            let c = c as f32;
                            if (c - from) * step > 0.0 && (to - c) * step >= 0.0 {
                                arrow.lost_at = c - 0.25 * step;
                            } else {
                                arrow.lost_at = from + 0.25 * step;
                            }
                        }
                    }
                }
                _ => {}
            }
        }
        let max_span = arrows.iter().map(|a| a.y1 - a.y0).fold(0.0, f64::max);
        let mut spans: Vec<f64> = arrows
            .iter()
            .map(|a| a.y1 - a.y0)
            .filter(|&s| s > 0.0)
            .collect();
        spans.sort_by(f64::total_cmp);
        let median = spans
            .get(spans.len() / 2)
            .copied()
            .unwrap_or(t.typical_flight.as_nanos() as f64)
            .max(1.0);
        LadderCache {
            generation: None,
            columns,
            arrows,
            max_span,
            scale: 48.0 / median,
            headers: (0, Vec::new()),
        }
    }
}

/// The ladder tab: the current run's ladder at the view's position.
pub fn ladder(ui: &mut egui::Ui, v: &mut View) {
    let t = &v.sim.player.timeline;
    let generation = v.sim.player.generation;
    if v.state.ladder.generation != Some(generation) {
        v.state.ladder = LadderCache::build(t);
        v.state.ladder.generation = Some(generation);
    }
    let at = At {
        generation,
        cursor: v.sim.player.cursor,
        time: v.sim.player.time,
        chosen: v.selection.conn,
        mark: None,
        salt: "ladder",
    };
    // Out of the cache while the ladder is borrowed, back at the end.
    let mut headers = std::mem::take(&mut v.state.ladder.headers);
    let clicked = draw(
        ui,
        t,
        &v.state.ladder,
        &mut headers,
        &at,
        &mut v.state.ladder_followed,
    );
    v.state.ladder.headers = headers;
    if let Some(r) = clicked {
        v.out.push(Control::JumpTo(r));
    }
}

/// Where in its run a ladder is drawn.
pub struct At {
    /// The run's generation: a new run scrolls the ladder anew.
    pub generation: u64,
    /// Records `..cursor` have happened.
    pub cursor: usize,
    /// The view time (the orange line).
    pub time: crate::sim::SimTime,
    /// The connection that stands out.
    pub chosen: Option<usize>,
    /// An arrow (an index into the ladder's arrows) marked as the first
    /// difference between two runs.
    pub mark: Option<usize>,
    /// The id of the ladder's scroll area.
    pub salt: &'static str,
}

/// The band behind the first arrow that differs between two runs (the
/// colour of the SVG comparison's mark).
pub const MARK_FILL: egui::Color32 = egui::Color32::from_rgb(0xff, 0xf3, 0xb0);

/// Draws the ladder `lad` of `t` at `at`; `headers` keeps the column
/// headers fitted to the width, `followed` where the ladder last
/// scrolled to. Returns the record of an arrow clicked.
pub fn draw(
    ui: &mut egui::Ui,
    t: &Timeline,
    lad: &LadderCache,
    headers: &mut Headers,
    at: &At,
    followed: &mut Option<(u64, usize, i32)>,
) -> Option<usize> {
    let generation = at.generation;
    if lad.columns.is_empty() || lad.arrows.is_empty() {
        ui.label("No packets between hosts in this run.");
        return None;
    }
    let cursor = at.cursor;
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
    // Column headers stay on top. Each name gets the room to the next
    // column; when that is too little, every other column's header goes
    // on a second row and takes twice the room.
    let space = if ncol > 1 { col_x(1) - col_x(0) } else { width };
    let staggered = ncol > 1 && space < 90.0;
    let room = if staggered { 2.0 * space } else { space } - 8.0;
    let head_h = if staggered { 64.0 } else { 34.0 };
    let (head, _) = ui.allocate_exact_size(egui::vec2(width, head_h), egui::Sense::hover());
    for (c, &n) in lad.columns.iter().enumerate() {
        let h = &t.hosts[n as usize];
        let x = head.left() + col_x(c);
        let top = head.top() + if staggered && c % 2 == 1 { 30.0 } else { 2.0 };
        let (name, addr) = header_text(headers, ncol, ui, c, h, room);
        ui.painter().text(
            egui::pos2(x, top),
            egui::Align2::CENTER_TOP,
            name,
            egui::FontId::proportional(13.5),
            egui::Color32::from_gray(20),
        );
        if let Some(addr) = addr {
            ui.painter().text(
                egui::pos2(x, top + 16.0),
                egui::Align2::CENTER_TOP,
                addr,
                egui::FontId::monospace(10.0),
                egui::Color32::from_gray(110),
            );
        }
    }
    let scale = lad.scale;
    let y_of_axis = |y: f64| (y * scale) as f32;
    let now_y = y_of_axis(t.to_axis(at.time));
    let mut area = egui::ScrollArea::vertical()
        .auto_shrink([false, false])
        .id_salt(at.salt);
    // Scrolled anew when the view moves or the ladder's height changes.
    let follow = (generation, cursor, ui.available_height().round() as i32);
    if *followed != Some(follow) {
        *followed = Some(follow);
        area = area.vertical_scroll_offset((now_y - ui.available_height() * 0.5).max(0.0));
    }
    let mut clicked = None;
    area.show_viewport(ui, |ui, viewport| {
        let total = y_of_axis(t.axis_len()) + 40.0;
        let (rect, resp) = ui.allocate_exact_size(egui::vec2(width, total), egui::Sense::click());
        let painter = ui.painter_at(rect);
        let top = rect.top() + 12.0;
        // Life lines.
        for c in 0..ncol {
            let x = rect.left() + col_x(c);
            painter.line_segment(
                [egui::pos2(x, rect.top()), egui::pos2(x, rect.bottom())],
                egui::Stroke::new(2.0, egui::Color32::from_gray(205)),
            );
        }
        // The view time.
        let ny = top + now_y;
        painter.line_segment(
            [egui::pos2(rect.left(), ny), egui::pos2(rect.right(), ny)],
            egui::Stroke::new(1.5, egui::Color32::from_rgb(240, 170, 0)),
        );
        let pointer = resp.interact_pointer_pos();
        let (first, last) = (viewport.min.y - 40.0, viewport.max.y + 40.0);
        let start = lad
            .arrows
            .partition_point(|a| y_of_axis(a.y0 + lad.max_span) < first);
        let mut last_time_label = f32::NEG_INFINITY;
        let mut label_boxes: Vec<egui::Rect> = Vec::new();
        // With hundreds of arrows on screen, draw lines only: labels and
        // arrowheads would be an unreadable smear (and cost the frame).
        let visible = lad.arrows[start..]
            .iter()
            .take_while(|a| y_of_axis(a.y0) <= last)
            .filter(|a| y_of_axis(a.y1) >= first)
            .take(MAX_DETAILED + 1)
            .count();
        let detailed = visible <= MAX_DETAILED;
        for (k, a) in lad.arrows[start..].iter().enumerate() {
            let (y0, y1) = (top + y_of_axis(a.y0), top + y_of_axis(a.y1));
            if y0 - top > last {
                break;
            }
            if y1 - top < first {
                continue;
            }
            let past = a.record < cursor;
            let done = a.end_record < cursor;
            let x0 = rect.left() + col_x(a.from_col);
            let x1 = rect.left() + col_x(a.to_col);
            let y1 = y1.max(y0 + 4.0);
            let (x_end, y_end) = if a.lost && a.from_col != a.to_col {
                let f = (a.lost_at - a.from_col as f32) / (a.to_col as f32 - a.from_col as f32);
                // y1 is already the moment it was lost.
                (x0 + (x1 - x0) * f, y1)
            } else {
                (x1, y1)
            };
            // The connection selected (a packet or a textbook object
            // clicked) stands out.
            let chosen = at.chosen == Some(a.conn);
            let alpha = if past || chosen { 1.0 } else { 0.22 };
            let color = a.color.gamma_multiply(alpha);
            let width = if past && !done { 2.8 } else { 1.6 } + if chosen { 2.0 } else { 0.0 };
            let (p0, p1) = (egui::pos2(x0, y0), egui::pos2(x_end, y_end));
            if at.mark == Some(start + k) {
                // The first difference between two runs: a band behind
                // the arrow, and a word at its side.
                let band = egui::Rect::from_two_pos(p0, p1).expand2(egui::vec2(10.0, 9.0));
                painter.rect(
                    band,
                    3,
                    MARK_FILL,
                    egui::Stroke::new(1.5, egui::Color32::from_rgb(230, 150, 0)),
                    egui::StrokeKind::Outside,
                );
                let note = egui::pos2(band.right() + 4.0, band.top());
                let galley = painter.layout_no_wrap(
                    "first difference".to_owned(),
                    egui::FontId::proportional(11.0),
                    egui::Color32::from_rgb(150, 80, 0),
                );
                let r = if note.x + galley.size().x < rect.right() {
                    egui::Align2::LEFT_TOP.anchor_size(note, galley.size())
                } else {
                    egui::Align2::RIGHT_BOTTOM
                        .anchor_size(egui::pos2(band.right(), band.top() - 2.0), galley.size())
                };
                label_boxes.push(r);
                painter.galley(r.min, galley, egui::Color32::BLACK);
            }
            if chosen {
                painter.line_segment(
                    [egui::pos2(x0, y0), egui::pos2(x_end, y_end)],
                    egui::Stroke::new(width + 4.0, egui::Color32::from_rgb(250, 200, 60)),
                );
            }
            // Dashes are many small shapes: only while few arrows show
            // (a busy ladder tells data connections by colour alone).
            if a.dashed && visible <= MAX_DASHED {
                painter.add(egui::Shape::dashed_line(
                    &[p0, p1],
                    egui::Stroke::new(width, color),
                    7.0,
                    4.0,
                ));
            } else {
                painter.line_segment([p0, p1], egui::Stroke::new(width, color));
            }
            if a.lost {
                let red = egui::Color32::from_rgb(220, 25, 25).gamma_multiply(alpha);
                let d = 5.0;
                let s = egui::Stroke::new(2.5, red);
                painter.line_segment([p1 + egui::vec2(-d, -d), p1 + egui::vec2(d, d)], s);
                painter.line_segment([p1 + egui::vec2(-d, d), p1 + egui::vec2(d, -d)], s);
            } else if detailed {
                arrow_head(&painter, p0, p1, color);
            }
            // The send time on the left, when there is room.
            if y0 - last_time_label > 13.0 {
                last_time_label = y0;
                let ms = t.trace.records[a.record].time.as_nanos() as f64 / 1e6;
                painter.text(
                    egui::pos2(rect.left() + 2.0, y0),
                    egui::Align2::LEFT_CENTER,
                    format!("{ms:.3}"),
                    egui::FontId::monospace(9.5),
                    egui::Color32::from_gray(if past { 100 } else { 185 }),
                );
            }
            // The label over the middle, unless it would cover another.
            if detailed && !a.label.is_empty() {
                let mid = egui::pos2((x0 + x_end) / 2.0, (y0 + y_end) / 2.0);
                // A cheap estimate first: skip the text layout when the
                // label would land on another one anyway.
                let guess =
                    egui::Rect::from_center_size(mid, egui::vec2(a.label.len() as f32 * 5.5, 13.0));
                let free = label_boxes
                    .iter()
                    .rev()
                    .take(12)
                    .all(|b| !b.intersects(guess));
                if free {
                    draw_label(&painter, &mut label_boxes, mid, &a.label, past);
                }
            }
            if let Some(p) = pointer
                && resp.clicked()
                && dist_to_segment(p, p0, p1) < 6.0
            {
                clicked = Some(a.record);
            }
        }
    });
    clicked
}

/// Draws an arrow's label at `mid` on a white box, unless it would cover
/// one of the last labels drawn.
fn draw_label(
    painter: &egui::Painter,
    boxes: &mut Vec<egui::Rect>,
    mid: egui::Pos2,
    label: &str,
    past: bool,
) {
    let galley = painter.layout_no_wrap(
        label.to_owned(),
        egui::FontId::proportional(10.5),
        egui::Color32::from_gray(if past { 25 } else { 175 }),
    );
    let r = egui::Align2::CENTER_CENTER
        .anchor_size(mid, galley.size())
        .expand(1.5);
    if boxes.iter().rev().take(12).any(|b| b.intersects(r)) {
        return;
    }
    boxes.push(r);
    painter.rect_filled(
        r,
        2,
        egui::Color32::from_rgba_unmultiplied(255, 255, 255, 225),
    );
    painter.galley(r.min + egui::vec2(1.5, 1.5), galley, egui::Color32::BLACK);
}

/// Column `c`'s name and address, shortened to `room`: laid out once per
/// width, not every frame.
fn header_text(
    headers: &mut Headers,
    ncol: usize,
    ui: &egui::Ui,
    c: usize,
    h: &crate::gui::model::HostView,
    room: f32,
) -> (String, Option<String>) {
    let key = room.round() as i32;
    if headers.0 != key || headers.1.len() != ncol {
        *headers = (key, vec![None; ncol]);
    }
    if let Some(done) = &headers.1[c] {
        return done.clone();
    }
    let name = fit_text(ui, &h.name, egui::FontId::proportional(13.5), room);
    let addr = h
        .addresses
        .first()
        .map(|a| fit_text(ui, &a.to_string(), egui::FontId::monospace(10.0), room));
    headers.1[c] = Some((name.clone(), addr.clone()));
    (name, addr)
}

/// Fitted column headers: the width they were fitted to, and per column
/// the name and address.
pub type Headers = (i32, Vec<Option<(String, Option<String>)>>);

/// `text` shortened with an ellipsis until it is at most `width` wide.
fn fit_text(ui: &egui::Ui, text: &str, font: egui::FontId, width: f32) -> String {
    let wide = |s: &str| {
        ui.fonts_mut(|f| {
            f.layout_no_wrap(s.to_owned(), font.clone(), egui::Color32::BLACK)
                .size()
                .x
        })
    };
    if wide(text) <= width {
        return text.to_owned();
    }
    let chars: Vec<char> = text.chars().collect();
    for n in (1..chars.len()).rev() {
        let s: String = chars[..n].iter().collect::<String>() + "…";
        if wide(&s) <= width {
            return s;
        }
    }
    String::new()
}

/// Above this many arrows on screen data connections are drawn solid.
const MAX_DASHED: usize = 40;

/// Above this many arrows on screen the ladder draws lines only.
const MAX_DETAILED: usize = 150;

/// A small arrowhead of a fixed size at `to` (the ladder's and the state
/// diagrams').
pub fn arrow_head(painter: &egui::Painter, from: egui::Pos2, to: egui::Pos2, color: egui::Color32) {
    let d = (to - from).normalized();
    if !d.x.is_finite() {
        return;
    }
    let n = egui::vec2(-d.y, d.x);
    let back = to - d * 9.0;
    painter.add(egui::Shape::convex_polygon(
        vec![to, back + n * 4.0, back - n * 4.0],
        color,
        egui::Stroke::NONE,
    ));
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
