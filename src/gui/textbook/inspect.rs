//! The textbook figure read back: where it drew its boxes, pipes and
//! objects (`--figure-json`, for tests that check the picture), which
//! packets carried an object, and the details panel of an object clicked.

use super::*;

/// The figure and where it drew each object, as JSON: for checking
/// pictures (`wiretale gui --figure-json`).
pub fn to_json(fig: &Figure, t: &Timeline, at: SimTime, zoom: f32) -> String {
    use serde_json::{Value, json};
    let r = |r: Rect| {
        json!([
            r.min.x * zoom,
            r.min.y * zoom,
            r.max.x * zoom,
            r.max.y * zoom
        ])
    };
    let p = |p: Pos2| json!([p.x * zoom, p.y * zoom]);
    let boxes: Vec<Value> = fig
        .boxes
        .iter()
        .map(|b| {
            json!({
                "host": t.hosts[b.node as usize].name,
                "title": b.title,
                "rect": r(b.rect),
                "queue": b.queue.map(r),
                "mailboxes": b.mailboxes.iter().map(|(u, m)| json!({"user": u, "rect": r(*m)})).collect::<Vec<_>>(),
                "files": b.files.map(r),
            })
        })
        .collect();
    let open = open_lanes(t, at);
    let lanes: Vec<Value> = fig
        .lanes
        .iter()
        .map(|l| {
            let is_open = open.get(&(l.ends[0], l.ends[1], l.protocol)) == Some(&PipeState::Open);
            json!({
                "protocol": l.protocol.name(),
                "from": p(l.from),
                "to": p(l.to),
                "open": is_open,
                "colour": l.protocol.rgb(),
            })
        })
        .collect();
    let objects: Vec<Value> = fig
        .objects(t, at)
        .into_iter()
        .map(|(i, pos)| {
            let j = &t.story.journeys[i];
            json!({
                "label": j.label,
                "pos": p(pos),
                "colour": object_colour(j),
                "place": format!("{:?}", j.place_at(at)),
            })
        })
        .collect();
    json!({"boxes": boxes, "lanes": lanes, "objects": objects}).to_string()
}

/// The connection and first packet that carried journey `j`: what a
/// click on it selects (the connection's transcript and ladder, the packet
/// in the inspector).
pub fn carriers(t: &Timeline, j: usize) -> (Option<usize>, Option<usize>) {
    let Some(journey) = t.story.journeys.get(j) else {
        return (None, None);
    };
    for (k, leg) in journey.legs.iter().enumerate() {
        let Place::Pipe { conn, sender, .. } = &leg.place else {
            continue;
        };
        let c = t.conn_by_sockets(conn.0, conn.1);
        let until = journey.legs.get(k + 1).map_or(t.end, |l| l.start);
        let flight = t.flights.iter().position(|f| {
            c == Some(f.conn) && f.from == *sender && f.queued >= leg.start && f.queued <= until
        });
        return (c, flight);
    }
    (None, None)
}

/// A box over the figure that tells a clicked object's story: each
/// place it went, when, and over which connection.
pub fn details(ui: &mut egui::Ui, area: Rect, t: &Timeline, j: usize) {
    let Some(journey) = t.story.journeys.get(j) else {
        return;
    };
    let name = |n: NodeId| {
        let h = &t.hosts[n as usize];
        h.label.clone().unwrap_or_else(|| h.name.clone())
    };
    let mut lines = vec![journey.label.clone()];
    for leg in &journey.legs {
        let place = match &leg.place {
            Place::Agent { host } => format!("with {}", name(*host)),
            Place::Queue { host, queue_id } => {
                format!("in the queue of {} ({queue_id})", name(*host))
            }
            Place::Pipe {
                conn,
                sender,
                receiver,
            } => {
                let protocol = t.story.pipe_protocol(conn).map_or("TCP", Proto::name);
                format!(
                    "{protocol} from {} to {} ({}-{})",
                    name(*sender),
                    name(*receiver),
                    conn.0,
                    conn.1
                )
            }
            Place::Mailbox { host, user, folder } => {
                format!("in {user}'s {folder} on {}", name(*host))
            }
            Place::Files { host, path, local } => format!(
                "{path} in the {} file system of {}",
                if *local { "local" } else { "remote" },
                name(*host)
            ),
            Place::Stopped { host, reason } => format!("stopped at {}: {reason}", name(*host)),
        };
        lines.push(format!(
            "{:>12}  {place}",
            crate::gui::panels::fmt_time(leg.start)
        ));
    }
    let painter = ui.painter();
    let font = FontId::monospace(11.0);
    let text = lines.join("\n");
    let galley = painter.layout_no_wrap(text, font, Color32::from_gray(20));
    let r = Rect::from_min_size(
        area.left_top() + vec2(8.0, 8.0),
        galley.size() + vec2(12.0, 10.0),
    );
    painter.rect_filled(r, 4, Color32::from_rgba_unmultiplied(255, 255, 255, 235));
    painter.rect_stroke(
        r,
        4,
        Stroke::new(1.0, Color32::from_gray(120)),
        egui::StrokeKind::Inside,
    );
    painter.galley(r.min + vec2(6.0, 5.0), galley, Color32::from_gray(20));
}
