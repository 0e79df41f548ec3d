//! The ladder as an SVG image: a column per host, a row per arrow end in
//! time order (so arrows slant from sending to arrival), labels cut to
//! fit, a lost packet's arrow stopping under a cross where it was lost,
//! one stroke pattern per connection and a legend of the connections;
//! optionally one arrow marked on a highlighted band.
//!
//! Not here: which arrows there are (the parent module builds them).

use super::super::Protocol;
use super::{Arrow, Ladder};
use crate::sim::SimTime;
use std::fmt::Write as _;

/// The stroke pattern of a connection's arrows: data connections are
/// dashed, and connections of one protocol take turns through patterns.
fn dash(l: &Ladder, conn: Option<usize>) -> &'static str {
    const SOLID: [&str; 4] = ["", "8 3", "3 3", "10 3 3 3"];
    const DASHED: [&str; 4] = ["8 3", "3 3", "10 3 3 3", "14 4"];
    let Some(c) = conn else { return "" };
    let protocol = l.conns[c].protocol;
    let nth = l.conns[..c]
        .iter()
        .filter(|o| o.protocol == protocol)
        .count();
    let set = if protocol == Protocol::FtpData {
        DASHED
    } else {
        SOLID
    };
    set[nth % set.len()]
}

fn xml(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .chars()
        .filter(|&c| c >= ' ' || c == '\t')
        .collect()
}

const COL_WIDTH: f64 = 250.0;
const MARGIN_LEFT: f64 = 90.0;
const HEADER: f64 = 70.0;
const ROW: f64 = 24.0;
/// Connections listed under the ladder before "... and N more".
const MAX_LEGEND_CONNS: usize = 12;
/// Lines of one arrow's label shown before "... (N more lines)".
const MAX_LABEL_LINES: usize = 6;

/// The ladder as an SVG image.
pub fn to_svg(l: &Ladder, title: &str) -> String {
    to_svg_marked(l, title, None)
}

/// The ladder as SVG, with arrow `mark` (if any) on a highlighted band
/// and tagged with `note`: the first difference between two runs.
pub fn to_svg_marked(l: &Ladder, title: &str, mark: Option<(usize, &str)>) -> String {
    // Every arrow end gets its own row, in time order, so that arrows and
    // labels of segments sent together do not overlap; arrows slant from
    // send to arrival, as in the textbook's figures.
    let mut ends: Vec<(SimTime, usize, bool)> = Vec::new();
    for (i, a) in l.arrows.iter().enumerate() {
        ends.push((a.sent, i, false));
        ends.push((a.received, i, true));
    }
    // At equal times arrivals come first: what is sent at that instant
    // was caused by what arrived.
    ends.sort_by_key(|&(t, i, is_end)| (t, !is_end, i));
    let mut y_sent = vec![0.0; l.arrows.len()];
    let mut y_recv = vec![0.0; l.arrows.len()];
    let mut y = HEADER + 20.0;
    let shown: Vec<Vec<String>> = l.arrows.iter().map(label_lines).collect();
    for &(_, i, is_end) in &ends {
        // Room above the arrow for the extra lines of its label, at both
        // ends: arrows in flight together run parallel, and the label sits
        // at the middle.
        y += ROW + 12.0 * (shown[i].len() - 1) as f64;
        if is_end {
            y_recv[i] = y;
        } else {
            y_sent[i] = y;
        }
    }
    let legend_rows = l.conns.len().min(MAX_LEGEND_CONNS + 1);
    let lifeline_end = y + ROW * 2.0;
    let height = lifeline_end
        + 20.0
        + if legend_rows > 0 {
            30.0 + 18.0 * legend_rows as f64
        } else {
            0.0
        };
    let width = (MARGIN_LEFT + COL_WIDTH * l.columns.len().max(1) as f64 + 40.0).max(560.0);
    let x = |c: f64| MARGIN_LEFT + COL_WIDTH * (c + 0.5);
    let mut s = String::new();
    let _ = writeln!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0}" height="{height:.0}" viewBox="0 0 {width:.0} {height:.0}" font-family="DejaVu Sans, Helvetica, Arial, sans-serif">"#
    );
    let _ = writeln!(s, r##"<rect width="100%" height="100%" fill="#ffffff"/>"##);
    // Arrowheads of one size whatever the arrow's length or stroke.
    let _ = writeln!(
        s,
        r##"<defs><marker id="head" viewBox="0 0 10 10" refX="9" refY="5" markerUnits="userSpaceOnUse" markerWidth="11" markerHeight="11" orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" fill="context-stroke"/></marker></defs>"##
    );
    let _ = writeln!(
        s,
        r##"<text x="{:.0}" y="24" font-size="16" font-weight="bold" fill="#222">{}</text>"##,
        MARGIN_LEFT - 70.0,
        xml(title)
    );
    for (c, name) in l.columns.iter().enumerate() {
        let cx = x(c as f64);
        let _ = writeln!(
            s,
            r##"<rect x="{:.0}" y="36" width="180" height="26" rx="5" fill="#eef2f7" stroke="#44546a"/><text x="{cx:.0}" y="54" font-size="13" text-anchor="middle" fill="#1a2533" class="host">{}</text>"##,
            cx - 90.0,
            xml(name)
        );
        let _ = writeln!(
            s,
            r##"<line x1="{cx:.0}" y1="62" x2="{cx:.0}" y2="{lifeline_end:.0}" stroke="#9aa5b1" stroke-dasharray="4 3"/>"##
        );
    }
    if let Some((i, note)) = mark
        && i < l.arrows.len()
    {
        let (top, bottom) = (
            y_sent[i].min(y_recv[i]) - 18.0,
            y_sent[i].max(y_recv[i]) + 8.0,
        );
        let _ = writeln!(
            s,
            r##"<rect x="4" y="{top:.1}" width="{:.0}" height="{:.1}" fill="#fff3b0" stroke="#e0a800" class="first-difference"/><text x="{:.0}" y="{:.1}" font-size="11" font-weight="bold" text-anchor="end" fill="#8a5a00">{}</text>"##,
            width - 8.0,
            bottom - top,
            width - 12.0,
            top + 13.0,
            xml(note)
        );
    }
    let mut last_time = None;
    for (i, a) in l.arrows.iter().enumerate() {
        let (x1, y1, x2, y2) = (x(a.from as f64), y_sent[i], x(a.to as f64), y_recv[i]);
        let colour = a.protocol.hex();
        if last_time != Some(a.sent) {
            last_time = Some(a.sent);
            let ms = a.sent.as_micros() as f64 / 1000.0;
            let _ = writeln!(
                s,
                r##"<text x="{:.0}" y="{:.1}" font-size="10" text-anchor="end" fill="#777" class="time">{ms:.3} ms</text>"##,
                MARGIN_LEFT - 12.0,
                y1 + 3.0
            );
        }
        // A lost packet stops where it was lost, under a cross.
        let (x2, y2) = match a.lost_at {
            Some(at) if a.from != a.to => {
                let f = (at - a.from as f64) / (a.to as f64 - a.from as f64);
                (x(at), y1 + (y2 - y1) * f)
            }
            _ => (x2, y2),
        };
        let conn = a.conn.and_then(|c| l.conns.get(c));
        let _ = write!(
            s,
            r#"<g class="arrow" data-protocol="{}""#,
            a.protocol.name()
        );
        if let Some(c) = conn {
            let _ = write!(s, r#" data-conn="{}-{}""#, c.client, c.server);
        }
        if let Some((p, q)) = a.ports {
            let _ = write!(s, r#" data-from-port="{p}" data-to-port="{q}""#);
        }
        s.push_str(">\n");
        let dashes = match dash(l, a.conn) {
            "" => String::new(),
            d => format!(r#" stroke-dasharray="{d}""#),
        };
        if a.from == a.to {
            let _ = writeln!(
                s,
                r#"<path d="M {x1:.0} {y1:.1} h 40 V {y2:.1} h -40" fill="none" stroke="{colour}" stroke-width="1.6"{dashes} marker-end="url(#head)"/>"#
            );
        } else if a.lost {
            let _ = writeln!(
                s,
                r##"<line x1="{x1:.0}" y1="{y1:.1}" x2="{x2:.0}" y2="{y2:.1}" stroke="{colour}" stroke-width="1.6"{dashes}/><path d="M {:.0} {:.1} l 10 10 m 0 -10 l -10 10" stroke="#d0021b" stroke-width="2.5" class="lost"/>"##,
                x2 - 5.0,
                y2 - 5.0
            );
        } else {
            let _ = writeln!(
                s,
                r#"<line x1="{x1:.0}" y1="{y1:.1}" x2="{x2:.0}" y2="{y2:.1}" stroke="{colour}" stroke-width="1.6"{dashes} marker-end="url(#head)"/>"#
            );
        }
        // The ports at the arrow's two ends, small and grey: which of the
        // connections between two hosts this is.
        if let Some((p, q)) = a.ports
            && a.from != a.to
        {
            let side = if x2 > x1 { 1.0 } else { -1.0 };
            let anchor = |toward_right: bool| if toward_right { "start" } else { "end" };
            let _ = writeln!(
                s,
                r##"<text x="{:.0}" y="{:.1}" font-size="9" text-anchor="{}" fill="#8a8a8a" class="port">{p}</text>"##,
                x1 + side * 6.0,
                y1 + 11.0,
                anchor(side > 0.0)
            );
            if !a.lost {
                let _ = writeln!(
                    s,
                    r##"<text x="{:.0}" y="{:.1}" font-size="9" text-anchor="{}" fill="#8a8a8a" class="port">{q}</text>"##,
                    x2 - side * 6.0,
                    y2 + 11.0,
                    anchor(side < 0.0)
                );
            }
        }
        // The label runs along its arrow, just above it, so labels of
        // arrows sent close together do not collide.
        let (mx, my) = ((x1 + x2) / 2.0, (y1 + y2) / 2.0);
        let mut angle = (y2 - y1).atan2(x2 - x1).to_degrees();
        if angle > 90.0 {
            angle -= 180.0;
        } else if angle < -90.0 {
            angle += 180.0;
        }
        let lines = &shown[i];
        // Several lines stack upward from the arrow, the first on top.
        let _ = write!(
            s,
            r##"<text x="{mx:.0}" y="{:.1}" font-size="11" text-anchor="middle" fill="{colour}" stroke="#ffffff" stroke-width="3" paint-order="stroke" transform="rotate({angle:.1} {mx:.0} {my:.1})" class="label">"##,
            my - 4.0
        );
        if lines.len() == 1 {
            s.push_str(&xml(&lines[0]));
        } else {
            for (k, line) in lines.iter().enumerate() {
                let ly = my - 4.0 - 12.0 * (lines.len() - 1 - k) as f64;
                let _ = write!(s, r#"<tspan x="{mx:.0}" y="{ly:.1}">{}</tspan>"#, xml(line));
            }
        }
        s.push_str("</text>\n</g>\n");
    }
    // The connections: each one's stroke, what it carries and its ends.
    if legend_rows > 0 {
        let top = lifeline_end + 30.0;
        let _ = writeln!(
            s,
            r##"<text x="{:.0}" y="{top:.0}" font-size="12" font-weight="bold" fill="#333">Connections</text>"##,
            MARGIN_LEFT - 70.0
        );
        for (c, conn) in l.conns.iter().take(MAX_LEGEND_CONNS).enumerate() {
            let ly = top + 18.0 * (c + 1) as f64;
            let lx = MARGIN_LEFT - 70.0;
            let dashes = match dash(l, Some(c)) {
                "" => String::new(),
                d => format!(r#" stroke-dasharray="{d}""#),
            };
            let _ = writeln!(
                s,
                r##"<line x1="{lx:.0}" y1="{:.1}" x2="{:.0}" y2="{:.1}" stroke="{}" stroke-width="2"{dashes}/><text x="{:.0}" y="{ly:.1}" font-size="11" fill="#333" class="conn">{}: {} to {}</text>"##,
                ly - 4.0,
                lx + 40.0,
                ly - 4.0,
                conn.protocol.hex(),
                lx + 50.0,
                conn.protocol.name(),
                conn.client,
                conn.server
            );
        }
        if l.conns.len() > MAX_LEGEND_CONNS {
            let _ = writeln!(
                s,
                r##"<text x="{:.0}" y="{:.1}" font-size="11" fill="#666">... and {} more</text>"##,
                MARGIN_LEFT - 20.0,
                top + 18.0 * (MAX_LEGEND_CONNS + 1) as f64,
                l.conns.len() - MAX_LEGEND_CONNS
            );
        }
    }
    s.push_str("</svg>\n");
    s
}

/// The lines of an arrow's label as drawn: at most [`MAX_LABEL_LINES`],
/// each cut to fit between two columns.
fn label_lines(a: &Arrow) -> Vec<String> {
    const MAX_CHARS: usize = 58;
    let cut = |l: &str| {
        if l.chars().count() > MAX_CHARS {
            let mut s: String = l.chars().take(MAX_CHARS - 3).collect();
            s.push_str("...");
            s
        } else {
            l.to_owned()
        }
    };
    let mut lines: Vec<String> = a.label.lines().map(cut).collect();
    if lines.is_empty() {
        lines.push(String::new());
    }
    if lines.len() > MAX_LABEL_LINES {
        let more = lines.len() - (MAX_LABEL_LINES - 1);
        lines.truncate(MAX_LABEL_LINES - 1);
        lines.push(format!("... ({more} more lines)"));
    }
    if a.lost
        && let Some(last) = lines.last_mut()
    {
        last.push_str(" (lost)");
    }
    lines
}

#[cfg(test)]
pub(super) mod tests {
    use super::super::super::Layer;
    use super::super::LadderConn;
    use super::*;

    /// Two hosts and one arrow with this label.
    pub(in super::super) fn ladder(label: &str, lost: bool) -> Ladder {
        Ladder {
            columns: vec!["alice-pc".into(), "mail.crepes.fr".into()],
            arrows: vec![Arrow {
                from: 0,
                to: 1,
                sent: SimTime::from_millis(1),
                received: SimTime::from_millis(6),
                lost,
                lost_at: lost.then_some(0.5),
                layer: Layer::Smtp,
                protocol: Protocol::Smtp,
                conn: Some(0),
                ports: Some((49152, 25)),
                label: label.into(),
            }],
            conns: vec![LadderConn {
                client: "10.0.0.2:49152".parse().unwrap(),
                server: "10.0.0.1:25".parse().unwrap(),
                protocol: Protocol::Smtp,
            }],
        }
    }

    #[test]
    fn text_is_escaped_for_xml() {
        assert_eq!(xml("<a & \"b\">\u{7}"), "&lt;a &amp; &quot;b&quot;&gt;");
        let svg = to_svg(&ladder("MAIL FROM:<alice@crepes.fr>", false), "a < b");
        assert!(svg.starts_with("<svg"), "{svg}");
        assert!(svg.contains("MAIL FROM:&lt;alice@crepes.fr&gt;"));
        assert!(svg.contains("a &lt; b"));
    }

    #[test]
    fn long_labels_are_cut_and_lost_ones_say_so() {
        let long = "x".repeat(100);
        let text = format!("{long}\n2\n3\n4\n5\n6\n7\n8");
        let l = ladder(&text, true);
        let lines = label_lines(&l.arrows[0]);
        assert_eq!(lines.len(), MAX_LABEL_LINES);
        assert_eq!(lines[0].chars().count(), 58);
        assert!(lines[0].ends_with("..."));
        assert_eq!(lines[MAX_LABEL_LINES - 1], "... (3 more lines) (lost)");
    }

    #[test]
    fn a_marked_arrow_gets_its_note() {
        let l = ladder("DATA", false);
        let svg = to_svg_marked(&l, "t", Some((0, "first difference")));
        assert!(svg.contains("first difference"));
        assert!(!to_svg(&l, "t").contains("first difference"));
    }
}
