//! Painting the textbook figure with egui: the boxes, queues, mailboxes
//! and file systems, the pipes between them (open, closing, closed), and
//! each message or file where the story puts it at the view time.

use super::*;

pub fn draw(painter: &egui::Painter, fig: &Figure, t: &Timeline, at: SimTime, big: bool) {
    let text = Color32::from_gray(30);
    let muted = Color32::from_gray(120);
    let font = |s: f32| scaled(big, s);
    painter.rect_filled(fig.area, 0, BACKGROUND);
    // Pipes: open ones in their protocol's colour, closed ones as a faint
    // guide (a data connection is drawn only while it exists).
    let open = open_lanes(t, at);
    let fitted = fitted(painter, fig, big);
    for (li, l) in fig.lanes.iter().enumerate() {
        let state = open.get(&(l.ends[0], l.ends[1], l.protocol)).copied();
        let is_open = state == Some(PipeState::Open);
        let colour = rgb(l.protocol.rgb());
        if state == Some(PipeState::Trying) {
            // Asked for, not answered: dashed.
            painter.add(egui::Shape::dashed_line(
                &[l.from, l.to],
                Stroke::new(3.0, colour),
                8.0,
                6.0,
            ));
        } else if is_open {
            painter.line_segment([l.from, l.to], Stroke::new(7.0, colour));
            if l.protocol == Proto::Scp {
                painter.line_segment([l.from, l.to], Stroke::new(2.0, Color32::WHITE));
            }
        } else if l.protocol != Proto::FtpData {
            painter.line_segment([l.from, l.to], Stroke::new(1.5, Color32::from_gray(200)));
        } else {
            continue;
        }
        // A label only where the pipe is long enough to carry it.
        if (l.to - l.from).length() < 110.0 {
            continue;
        }
        // Left out where it would run under a box.
        if !fitted.label_clear.get(li).copied().unwrap_or(true) {
            continue;
        }
        let colour = if is_open { colour } else { muted };
        let (name, rect) = lane_label(painter, l, font(12.0), colour);
        painter.galley(pos2(rect.center().x, rect.top()), name, colour);
    }
    // An eavesdropper listens where its link's traffic flows: a dashed
    // line to the middle of the pipes that cross it.
    for b in fig.boxes.iter().filter(|b| b.kind == BoxKind::Eavesdropper) {
        if let Some(target) = fig.tap_point(t, b.node) {
            let red = Color32::from_rgb(160, 20, 30);
            painter.add(egui::Shape::dashed_line(
                &[b.rect.center_top(), target],
                Stroke::new(2.0, red),
                6.0,
                4.0,
            ));
            painter.circle_filled(target, 4.0, red);
        }
    }
    // Boxes. The titles of a kind share a size, the one the tightest
    // needs.
    let cursor = t.records_until(at);
    let title_size = |kind: BoxKind| {
        fitted
            .title_sizes
            .iter()
            .find(|(k, _)| *k == kind)
            .map_or(font(13.0).size, |s| s.1)
    };
    for (bi, b) in fig.boxes.iter().enumerate() {
        let is_down = t.host_down(b.node, cursor);
        let fill = if is_down {
            Color32::from_gray(215)
        } else {
            Color32::WHITE
        };
        painter.rect_filled(b.rect, 6, fill);
        painter.rect_stroke(
            b.rect,
            6,
            Stroke::new(1.5, Color32::from_gray(90)),
            egui::StrokeKind::Inside,
        );
        let role = role_name(b.kind);
        // Up to two lines inside the box, every box's at the same size.
        let title = wrapped(
            painter,
            &b.title,
            FontId::proportional(title_size(b.kind)),
            text,
            b.rect.width() - 8.0,
            2,
        );
        painter.galley(b.rect.center_top() + vec2(0.0, 4.0), title.0, text);
        let below = b.rect.center_bottom() + vec2(0.0, 4.0);
        let mark = if is_down { " — DOWN" } else { "" };
        // Within the box's width (and a little more): the captions of
        // neighbouring boxes never run into each other. A mail server's
        // queue note goes under its one line.
        let rows = if b.kind == BoxKind::MailServer { 1 } else { 2 };
        let colour = if is_down {
            Color32::from_rgb(190, 30, 30)
        } else {
            muted
        };
        let role = wrapped(
            painter,
            &format!("{role}{mark}"),
            font(11.0),
            colour,
            b.rect.width() + 8.0,
            rows,
        );
        // Left out where boxes stand so close that it would run into the
        // next one (several users stacked in a small view).
        if fitted.caption_clear.get(bi).copied().unwrap_or(true) {
            painter.galley(below, role.0, colour);
        }
        if t.hosts[b.node as usize].firewall {
            // A wall on the side its connections come from.
            let left = fig
                .lanes
                .iter()
                .filter(|l| l.ends.contains(&b.node))
                .any(|l| l.from.x.min(l.to.x) < b.rect.center().x);
            let x = if left {
                b.rect.left() - 6.0
            } else {
                b.rect.right() + 6.0
            };
            let wall = Rect::from_center_size(
                pos2(x, b.rect.center().y),
                vec2(7.0, b.rect.height() * 0.8),
            );
            painter.rect_filled(wall, 1, Color32::from_rgb(178, 64, 38));
            painter.text(
                wall.center_bottom() + vec2(0.0, 2.0),
                Align2::CENTER_TOP,
                "firewall",
                font(10.0),
                Color32::from_rgb(178, 64, 38),
            );
        }
        if let Some(q) = b.queue {
            painter.rect_stroke(q, 3, Stroke::new(1.0, muted), egui::StrokeKind::Inside);
            let n = t.story.queue_at(b.node, at).count();
            painter.text(
                q.left_center() + vec2(4.0, 0.0),
                Align2::LEFT_CENTER,
                format!("queue {n}"),
                font(11.0),
                muted,
            );
            if let Some(e) = t.story.queue_at(b.node, at).next() {
                let attempts = e.attempts.iter().filter(|a| a.0 <= at).count();
                let next = e.retries.iter().rev().find(|r| r.0 <= at).map(|r| r.1);
                let note = match next {
                    Some(n) if n > at => format!(
                        "attempt {attempts}, retry at {}",
                        crate::gui::panels::fmt_time(n)
                    ),
                    _ if attempts > 0 => format!("attempt {attempts}"),
                    _ => String::new(),
                };
                painter.text(
                    b.rect.center_bottom() + vec2(0.0, 20.0),
                    Align2::CENTER_TOP,
                    note,
                    font(10.0),
                    muted,
                );
            }
        }
        for (user, r) in &b.mailboxes {
            painter.rect_stroke(*r, 3, Stroke::new(1.0, muted), egui::StrokeKind::Inside);
            let n = t.story.mailbox_count(b.node, user, "INBOX", at);
            // Left of the messages (which fill from the right end): where
            // the row is narrow, smaller, then the name alone (its
            // messages show how many), then the count alone.
            let room = r.width() - if n > 0 { 38.0 } else { 8.0 };
            let fits = |text: String| {
                let (g, _) = wrapped(painter, &text, font(11.0), muted, room, 1);
                (!g.elided).then_some(g)
            };
            let label = fits(format!("{user}: {n}"))
                .or_else(|| (n > 0).then(|| fits(user.clone())).flatten())
                .unwrap_or_else(|| wrapped(painter, &n.to_string(), font(11.0), muted, room, 1).0);
            let size = label.size();
            painter.galley(
                pos2(r.left() + 4.0 + size.x / 2.0, r.center().y - size.y / 2.0),
                label,
                muted,
            );
        }
        // IMAP flags the host holds or saw, under its box.
        let flags = t.story.flags_at(b.node, at);
        for (k, (subject, f)) in flags.iter().take(3).enumerate() {
            let short: String = subject.chars().take(18).collect();
            painter.text(
                b.rect.center_bottom() + vec2(0.0, 34.0 + 13.0 * k as f32),
                Align2::CENTER_TOP,
                format!("{short}: {f}"),
                font(10.0),
                Color32::from_rgb(110, 60, 160),
            );
        }
        if let Some(r) = b.files {
            painter.rect_stroke(r, 3, Stroke::new(1.0, muted), egui::StrokeKind::Inside);
        }
        // The caption only where there is room for it under the files.
        if let Some(r) = b.files.filter(|r| r.height() >= 50.0) {
            let what = if b.kind == BoxKind::FileClient {
                "local file system"
            } else {
                "remote file system"
            };
            // Within the file system's frame, smaller if need be.
            let (caption, _) = wrapped(painter, what, font(10.0), muted, r.width() - 6.0, 1);
            let top = r.bottom() - 3.0 - caption.size().y;
            painter.galley(pos2(r.center().x, top), caption, muted);
        }
    }
    // What the current step is about: the place the last object to move
    // went to, outlined (step 3 of Fig. 2.16 the queue, step 5 Bob's
    // mailbox).
    if let Some(r) = fig.focus(t, at) {
        painter.rect_stroke(
            r.expand(3.0),
            5,
            Stroke::new(3.0, Color32::from_rgb(250, 170, 20)),
            egui::StrokeKind::Outside,
        );
    }
    // The objects.
    for (i, p) in fig.objects(t, at) {
        let j = &t.story.journeys[i];
        let fill = rgb(object_colour(j));
        let r = Rect::from_center_size(p, vec2(22.0, 15.0));
        painter.rect_filled(r, 2, fill);
        painter.rect_stroke(r, 2, Stroke::new(1.2, text), egui::StrokeKind::Outside);
        if j.thing == Thing::File {
            // On a pipe the name rides under the file, on the paper's
            // colour, clear of the boxes the pipe runs into and readable
            // over another pipe; in a file system, beside it.
            let moving = j
                .leg_at(at)
                .is_some_and(|l| matches!(l.place, Place::Pipe { .. }));
            if moving {
                let galley = painter.layout_no_wrap(j.label.clone(), font(10.0), text);
                let at = Align2::CENTER_TOP
                    .anchor_size(r.center_bottom() + vec2(0.0, 3.0), galley.size());
                painter.rect_filled(at.expand(1.5), 2, BACKGROUND);
                painter.galley(at.min, galley, text);
            } else {
                painter.text(
                    r.right_center() + vec2(4.0, 0.0),
                    Align2::LEFT_CENTER,
                    &j.label,
                    font(10.0),
                    text,
                );
            }
        } else {
            // The flap of the envelope.
            painter.line_segment([r.left_top(), r.center()], Stroke::new(1.0, text));
            painter.line_segment([r.center(), r.right_top()], Stroke::new(1.0, text));
        }
        if let Some(leg) = j.leg_at(at)
            && let Place::Stopped { reason, .. } = &leg.place
        {
            painter.line_segment(
                [r.left_top(), r.right_bottom()],
                Stroke::new(2.0, Color32::RED),
            );
            painter.line_segment(
                [r.left_bottom(), r.right_top()],
                Stroke::new(2.0, Color32::RED),
            );
            let short: String = reason.chars().take(40).collect();
            painter.text(
                r.center_bottom() + vec2(0.0, 3.0),
                Align2::CENTER_TOP,
                short,
                font(10.0),
                Color32::from_rgb(190, 30, 30),
            );
        }
    }
}

/// `text` centred on the point it is painted at, wrapped to `width` in at
/// most `rows` lines: at `font`'s size if it fits, else a little smaller,
/// else cut with an ellipsis; and the size it took.
fn wrapped(
    painter: &egui::Painter,
    text: &str,
    font: FontId,
    colour: Color32,
    width: f32,
    rows: usize,
) -> (std::sync::Arc<egui::Galley>, f32) {
    let layout = |size: f32| {
        let mut job = egui::text::LayoutJob::simple(
            text.to_owned(),
            FontId::new(size, font.family.clone()),
            colour,
            width,
        );
        job.wrap.max_rows = rows;
        job.halign = egui::Align::Center;
        painter.layout_job(job)
    };
    let smallest = font.size * 0.75;
    let mut size = font.size;
    loop {
        let galley = layout(size);
        if !galley.elided || size <= smallest {
            return (galley, size);
        }
        size = (size * 0.88).max(smallest);
    }
}

/// A pipe's name above its middle, as wide as the pipe runs across and
/// smaller if need be; and where it goes.
fn lane_label(
    painter: &egui::Painter,
    l: &Lane,
    font: FontId,
    colour: Color32,
) -> (std::sync::Arc<egui::Galley>, Rect) {
    let mid = l.from + (l.to - l.from) * 0.5 + vec2(0.0, -6.0);
    let span = (l.to.x - l.from.x).abs().max(60.0) - 10.0;
    let (name, _) = wrapped(painter, lane_name(l.protocol), font, colour, span, 1);
    let rect = Align2::CENTER_BOTTOM.anchor_size(mid, name.size());
    (name, rect)
}

/// The figure's font at size `s`, larger in lecture mode (`big`).
fn scaled(big: bool, s: f32) -> FontId {
    FontId::proportional(if big { s * 1.25 } else { s })
}

/// What a box stands for, in the caption under it.
fn role_name(kind: BoxKind) -> &'static str {
    match kind {
        BoxKind::UserAgent => "user agent",
        BoxKind::MailServer => "mail server",
        BoxKind::DnsServer => "DNS server",
        BoxKind::FileClient => "user interface · client",
        BoxKind::FileServer => "server",
        BoxKind::Eavesdropper => "eavesdropper",
    }
}

/// What fits where in a figure at one font size: the titles' size for
/// each kind of box, and which captions and pipe labels are clear of the
/// boxes. Working it out lays out every title, caption and label and
/// tests each against every box, so it is kept in egui's memory until
/// the figure or the font changes.
#[derive(Clone, Default)]
struct Fitted {
    title_sizes: Vec<(BoxKind, f32)>,
    /// By box: its caption does not run into another box.
    caption_clear: Vec<bool>,
    /// By lane: its label does not run under a box.
    label_clear: Vec<bool>,
}

fn fitted(painter: &egui::Painter, fig: &Figure, big: bool) -> std::sync::Arc<Fitted> {
    let a = fig.area;
    let id = egui::Id::new((
        "textbook-fitted",
        [a.min.x, a.min.y, a.max.x, a.max.y].map(f32::to_bits),
        fig.boxes.len(),
        fig.lanes.len(),
        big,
        painter.ctx().pixels_per_point().to_bits(),
    ));
    let ctx = painter.ctx();
    if let Some(f) = ctx.data(|d| d.get_temp::<std::sync::Arc<Fitted>>(id)) {
        return f;
    }
    let font = |s: f32| scaled(big, s);
    let ink = Color32::from_gray(30);
    let mut f = Fitted::default();
    for b in &fig.boxes {
        let size = wrapped(painter, &b.title, font(13.0), ink, b.rect.width() - 8.0, 2).1;
        match f.title_sizes.iter_mut().find(|(k, _)| *k == b.kind) {
            Some((_, s)) => *s = s.min(size),
            None => f.title_sizes.push((b.kind, size)),
        }
        let rows = if b.kind == BoxKind::MailServer { 1 } else { 2 };
        let (role, _) = wrapped(
            painter,
            role_name(b.kind),
            font(11.0),
            ink,
            b.rect.width() + 8.0,
            rows,
        );
        let under =
            Align2::CENTER_TOP.anchor_size(b.rect.center_bottom() + vec2(0.0, 4.0), role.size());
        f.caption_clear.push(
            !fig.boxes
                .iter()
                .any(|o| o.node != b.node && o.rect.intersects(under)),
        );
    }
    for l in &fig.lanes {
        let (_, rect) = lane_label(painter, l, font(12.0), ink);
        f.label_clear
            .push(!fig.boxes.iter().any(|b| b.rect.intersects(rect)));
    }
    let f = std::sync::Arc::new(f);
    ctx.data_mut(|d| d.insert_temp(id, f.clone()));
    f
}
