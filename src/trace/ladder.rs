//! Ladder (time-space) diagrams for slides: one column per host, time
//! flowing down, an arrow per segment or protocol line, as in the
//! textbook's figures. Exported as SVG or as a Mermaid sequence diagram.
//!
//! Protocol lines are recorded by the server when it handles them, so an
//! arrow's two ends are found from the packets: a command arrives with a
//! segment the client sent earlier, a reply leaves with a segment the
//! client receives later. The arrows therefore slant with the real
//! latency. A filter keeps a slide to one protocol or one connection.

use super::{Dir, Event, Layer, NodeId, Party, Trace};
use crate::net::packet::{Packet, Payload};
use crate::sim::SimTime;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::net::SocketAddrV4;

/// What a ladder shows.
#[derive(Debug, Clone, Default)]
pub struct LadderFilter {
    /// Layers to draw: application layers give their dialogue lines,
    /// `tcp` and `udp` give segments and datagrams. Empty: every
    /// application dialogue, or the TCP segments if there is none.
    pub layers: Vec<Layer>,
    /// Keep only what belongs to connections whose name (`a:p-b:q`, in
    /// either order) contains this text, e.g. `:25` or `49153`.
    pub conn: Option<String>,
}

/// One arrow.
#[derive(Debug, Clone, PartialEq)]
pub struct Arrow {
    pub from: usize,
    pub to: usize,
    pub sent: SimTime,
    /// When it arrived, or when it was lost.
    pub received: SimTime,
    pub lost: bool,
    pub layer: Layer,
    pub label: String,
}

/// A ladder ready to draw.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Ladder {
    /// Column titles, left to right.
    pub columns: Vec<String>,
    /// Arrows in the order they were sent.
    pub arrows: Vec<Arrow>,
}

/// Who a column stands for.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Col {
    Node(NodeId),
    External(SocketAddrV4),
}

/// Where and when each packet was sent and what became of it.
#[derive(Default)]
struct PacketTimes {
    sent: BTreeMap<u64, SimTime>,
    received: BTreeMap<u64, SimTime>,
    dropped: BTreeMap<u64, SimTime>,
}

fn packet_times(trace: &Trace) -> PacketTimes {
    let mut t = PacketTimes::default();
    for r in &trace.records {
        match r.event {
            Event::SegmentSent { packet, .. } | Event::DatagramSent { packet, .. } => {
                t.sent.entry(packet).or_insert(r.time);
            }
            Event::SegmentReceived { packet, .. } | Event::DatagramReceived { packet, .. } => {
                t.received.entry(packet).or_insert(r.time);
            }
            Event::Dropped { packet, .. } => {
                t.dropped.entry(packet).or_insert(r.time);
            }
            _ => {}
        }
    }
    t
}

fn conn_matches(filter: &Option<String>, a: SocketAddrV4, b: SocketAddrV4) -> bool {
    match filter {
        None => true,
        Some(f) => {
            format!("{a}-{b}").contains(f.as_str()) || format!("{b}-{a}").contains(f.as_str())
        }
    }
}

/// Sequence numbers relative to each direction's SYN, as Wireshark shows
/// them by default and as textbooks write them.
struct Relative {
    isn: BTreeMap<(SocketAddrV4, SocketAddrV4), u32>,
}

impl Relative {
    fn new(trace: &Trace) -> Relative {
        let mut isn = BTreeMap::new();
        for p in &trace.packets {
            if let Payload::Tcp(s) = &p.payload
                && s.flags.syn()
            {
                isn.entry((p.src_addr(), p.dst_addr())).or_insert(s.seq);
            }
        }
        Relative { isn }
    }

    fn label(&self, p: &Packet) -> String {
        let Payload::Tcp(s) = &p.payload else {
            return format!("UDP {} bytes", p.app_payload().len());
        };
        let (src, dst) = (p.src_addr(), p.dst_addr());
        let seq = match self.isn.get(&(src, dst)) {
            Some(&i) => s.seq.wrapping_sub(i),
            None => s.seq,
        };
        let mut out = format!("{} seq={seq}", s.flags);
        if s.flags.ack() {
            let ack = match self.isn.get(&(dst, src)) {
                Some(&i) => s.ack.wrapping_sub(i),
                None => s.ack,
            };
            let _ = write!(out, " ack={ack}");
        }
        if !s.payload.is_empty() {
            let _ = write!(out, " len={}", s.payload.len());
        }
        out
    }
}

/// The packet that carried a dialogue line: for a command, the one the
/// server received at that moment from the client; for a reply, the one
/// the server sent then toward the client.
fn carrier(trace: &Trace, index: usize, dir: Dir, client: &Party, server: NodeId) -> Option<u64> {
    let t = trace.records[index].time;
    let from_client = |p: &Packet| match client {
        Party::Node(n) => trace.addresses.get(&p.src) == Some(n),
        Party::External(a) => p.src == *a.ip(),
    };
    let to_client = |p: &Packet| match client {
        Party::Node(n) => trace.addresses.get(&p.dst) == Some(n),
        Party::External(a) => p.dst == *a.ip(),
    };
    let same_time = |i: &usize| trace.records[*i].time == t;
    match dir {
        Dir::Command => {
            (0..index)
                .rev()
                .take_while(same_time)
                .find_map(|i| match trace.records[i].event {
                    Event::SegmentReceived { host, packet }
                    | Event::DatagramReceived { host, packet }
                        if host == server
                            && trace
                                .packet(packet)
                                .is_some_and(|p| from_client(p) && !p.app_payload().is_empty()) =>
                    {
                        Some(packet)
                    }
                    _ => None,
                })
        }
        Dir::Reply => (index + 1..trace.records.len())
            .take_while(same_time)
            .find_map(|i| match trace.records[i].event {
                Event::SegmentSent { host, packet } | Event::DatagramSent { host, packet }
                    if host == server
                        && trace
                            .packet(packet)
                            .is_some_and(|p| to_client(p) && !p.app_payload().is_empty()) =>
                {
                    Some(packet)
                }
                _ => None,
            }),
        Dir::Data => None,
    }
}

/// Builds the ladder of a trace.
pub fn build(trace: &Trace, filter: &LadderFilter) -> Ladder {
    let has_dialogue = trace
        .records
        .iter()
        .any(|r| matches!(r.event, Event::Dialogue { .. }));
    let wants = |l: Layer| {
        if filter.layers.is_empty() {
            if has_dialogue {
                !matches!(l, Layer::Tcp | Layer::Udp)
            } else {
                l == Layer::Tcp
            }
        } else {
            filter.layers.contains(&l)
        }
    };
    let times = packet_times(trace);
    let rel = Relative::new(trace);
    let col_of = |addr: std::net::Ipv4Addr, port: u16| match trace.addresses.get(&addr) {
        Some(&n) => Col::Node(n),
        None => Col::External(SocketAddrV4::new(addr, port)),
    };
    let mut raw: Vec<(Col, Col, SimTime, SimTime, bool, Layer, String)> = Vec::new();
    for (i, r) in trace.records.iter().enumerate() {
        match &r.event {
            Event::SegmentSent { host, packet } | Event::DatagramSent { host, packet } => {
                let Some(p) = trace.packet(*packet) else {
                    continue;
                };
                let layer = match p.payload {
                    Payload::Tcp(_) => Layer::Tcp,
                    Payload::Udp(_) => Layer::Udp,
                };
                if !wants(layer) || !conn_matches(&filter.conn, p.src_addr(), p.dst_addr()) {
                    continue;
                }
                let (end, lost) = match (times.received.get(packet), times.dropped.get(packet)) {
                    (Some(&t), _) => (t, false),
                    (None, Some(&t)) => (t, true),
                    (None, None) => continue,
                };
                raw.push((
                    Col::Node(*host),
                    col_of(p.dst, p.dst_addr().port()),
                    r.time,
                    end,
                    lost,
                    layer,
                    rel.label(p),
                ));
            }
            Event::Dialogue {
                layer,
                client,
                server,
                dir,
                line,
                conn,
                ..
            } => {
                if !wants(*layer) {
                    continue;
                }
                if let Some((a, b)) = conn
                    && !conn_matches(&filter.conn, *a, *b)
                {
                    continue;
                }
                if conn.is_none() && filter.conn.is_some() {
                    continue;
                }
                let Party::Node(server_node) = *server else {
                    continue;
                };
                let client_col = match client {
                    Party::Node(n) => Col::Node(*n),
                    Party::External(a) => Col::External(*a),
                };
                // Content (message lines, listings) goes whichever way its
                // packet went: from the client in SMTP's DATA, from the
                // server in POP3's RETR.
                let (dir, packet) = match dir {
                    Dir::Data => match carrier(trace, i, Dir::Command, client, server_node) {
                        Some(p) => (Dir::Command, Some(p)),
                        None => (
                            Dir::Reply,
                            carrier(trace, i, Dir::Reply, client, server_node),
                        ),
                    },
                    d => (*d, carrier(trace, i, *d, client, server_node)),
                };
                let content = matches!(&r.event, Event::Dialogue { dir: Dir::Data, .. });
                let (from, to, sent, received) = match dir {
                    Dir::Command => {
                        let sent = packet
                            .and_then(|p| times.sent.get(&p).copied())
                            .unwrap_or(r.time);
                        (client_col, Col::Node(server_node), sent, r.time)
                    }
                    _ => {
                        let received = packet
                            .and_then(|p| times.received.get(&p).copied())
                            .unwrap_or(r.time);
                        (Col::Node(server_node), client_col, r.time, received)
                    }
                };
                let prefix = match (content, dir) {
                    (true, _) => "",
                    (false, Dir::Command) => "C: ",
                    (false, _) => "S: ",
                };
                let label = format!("{prefix}{line}");
                // Lines that travelled together (a multi-line reply, the
                // lines of a message) make one arrow with several lines.
                match raw.last_mut() {
                    Some(last)
                        if last.0 == from
                            && last.1 == to
                            && last.2 == sent
                            && last.3 == received
                            && last.5 == *layer =>
                    {
                        last.6.push('\n');
                        last.6.push_str(&label);
                    }
                    _ => raw.push((from, to, sent, received, false, *layer, label)),
                }
            }
            _ => {}
        }
    }
    let mut cols: Vec<Col> = raw
        .iter()
        .flat_map(|a| [a.0.clone(), a.1.clone()])
        .collect();
    cols.sort();
    cols.dedup();
    let index = |c: &Col| cols.iter().position(|x| x == c).unwrap_or(0);
    let mut arrows: Vec<Arrow> = raw
        .iter()
        .map(|(f, t, s, e, lost, layer, label)| Arrow {
            from: index(f),
            to: index(t),
            sent: *s,
            received: *e,
            lost: *lost,
            layer: *layer,
            label: label.clone(),
        })
        .collect();
    // Stable: arrows sent at the same moment keep their trace order.
    arrows.sort_by_key(|a| a.sent);
    let columns = cols
        .iter()
        .map(|c| match c {
            Col::Node(n) => trace.node_name(*n).to_owned(),
            Col::External(a) => a.to_string(),
        })
        .collect();
    Ladder { columns, arrows }
}

/// The colour of a layer's arrows.
pub fn layer_colour(l: Layer) -> &'static str {
    match l {
        Layer::Smtp => "#1f6fb4",
        Layer::Pop3 => "#2a9d3a",
        Layer::Imap => "#13a3b5",
        Layer::Dns => "#8a4fc7",
        Layer::Ftp => "#d0342c",
        Layer::Http => "#e8861a",
        Layer::Scp => "#7a5230",
        Layer::Udp => "#a07cc5",
        _ => "#6b6b6b",
    }
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
/// Lines of one arrow's label shown before "... (N more lines)".
const MAX_LABEL_LINES: usize = 6;

/// The ladder as an SVG image.
pub fn to_svg(l: &Ladder, title: &str) -> String {
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
        y += ROW;
        if !is_end {
            // Room above the arrow for the extra lines of its label.
            y += 12.0 * (shown[i].len() - 1) as f64;
        }
        if is_end {
            y_recv[i] = y;
        } else {
            y_sent[i] = y;
        }
    }
    let height = y + ROW * 2.0 + 20.0;
    let width = MARGIN_LEFT + COL_WIDTH * l.columns.len().max(1) as f64 + 40.0;
    let x = |c: usize| MARGIN_LEFT + COL_WIDTH * (c as f64 + 0.5);
    let mut s = String::new();
    let _ = writeln!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0}" height="{height:.0}" viewBox="0 0 {width:.0} {height:.0}" font-family="DejaVu Sans, Helvetica, Arial, sans-serif">"#
    );
    let _ = writeln!(s, r##"<rect width="100%" height="100%" fill="#ffffff"/>"##);
    let _ = writeln!(
        s,
        r##"<defs><marker id="head" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="8" markerHeight="8" orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" fill="context-stroke"/></marker></defs>"##
    );
    let _ = writeln!(
        s,
        r##"<text x="{:.0}" y="24" font-size="16" font-weight="bold" fill="#222">{}</text>"##,
        MARGIN_LEFT - 70.0,
        xml(title)
    );
    for (c, name) in l.columns.iter().enumerate() {
        let cx = x(c);
        let _ = writeln!(
            s,
            r##"<rect x="{:.0}" y="36" width="180" height="26" rx="5" fill="#eef2f7" stroke="#44546a"/><text x="{cx:.0}" y="54" font-size="13" text-anchor="middle" fill="#1a2533" class="host">{}</text>"##,
            cx - 90.0,
            xml(name)
        );
        let _ = writeln!(
            s,
            r##"<line x1="{cx:.0}" y1="62" x2="{cx:.0}" y2="{:.0}" stroke="#9aa5b1" stroke-dasharray="4 3"/>"##,
            height - 20.0
        );
    }
    let mut last_time = None;
    for (i, a) in l.arrows.iter().enumerate() {
        let (x1, y1, x2, mut y2) = (x(a.from), y_sent[i], x(a.to), y_recv[i]);
        let colour = layer_colour(a.layer);
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
        let mut x2 = x2;
        if a.lost {
            // A lost packet stops halfway, under a cross.
            x2 = (x1 + x2) / 2.0;
            y2 = (y1 + y2) / 2.0;
        }
        if a.from == a.to {
            let _ = writeln!(
                s,
                r#"<path d="M {x1:.0} {y1:.1} h 40 V {y2:.1} h -40" fill="none" stroke="{colour}" stroke-width="1.6" marker-end="url(#head)"/>"#
            );
        } else if a.lost {
            let _ = writeln!(
                s,
                r##"<line x1="{x1:.0}" y1="{y1:.1}" x2="{x2:.0}" y2="{y2:.1}" stroke="{colour}" stroke-width="1.6" stroke-dasharray="5 3"/><path d="M {:.0} {:.1} l 10 10 m 0 -10 l -10 10" stroke="#d0021b" stroke-width="2.5"/>"##,
                x2 - 5.0,
                y2 - 5.0
            );
        } else {
            let _ = writeln!(
                s,
                r#"<line x1="{x1:.0}" y1="{y1:.1}" x2="{x2:.0}" y2="{y2:.1}" stroke="{colour}" stroke-width="1.6" marker-end="url(#head)"/>"#
            );
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
        s.push_str("</text>\n");
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

/// A Mermaid participant id: letters, digits and underscores.
fn mermaid_id(name: &str) -> String {
    let id: String = name
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    format!("h_{id}")
}

/// Mermaid text escapes: `;` and `#` would end or start an entity.
fn mermaid_text(s: &str) -> String {
    s.replace('#', "#35;")
        .replace(';', "#59;")
        .replace(['\r', '\n'], " ")
}

/// The ladder as a Mermaid sequence diagram.
pub fn to_mermaid(l: &Ladder, title: &str) -> String {
    let mut s = String::from("sequenceDiagram\n");
    let _ = writeln!(s, "    title {}", mermaid_text(title));
    for c in &l.columns {
        let _ = writeln!(
            s,
            "    participant {} as {}",
            mermaid_id(c),
            mermaid_text(c)
        );
    }
    for a in &l.arrows {
        let (f, t) = (mermaid_id(&l.columns[a.from]), mermaid_id(&l.columns[a.to]));
        let arrow = if a.lost { "-x" } else { "->>" };
        let lost = if a.lost { " (lost)" } else { "" };
        let label: Vec<String> = a.label.lines().map(mermaid_text).collect();
        let _ = writeln!(s, "    {f}{arrow}{t}: {}{lost}", label.join("<br/>"));
    }
    s
}
