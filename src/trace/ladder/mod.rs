//! Ladder (time-space) diagrams for slides: one column per host, time
//! flowing down, an arrow per segment or protocol line, as in the
//! textbook's figures. Exported as SVG or as a Mermaid sequence diagram.
//!
//! Protocol lines are recorded by the server when it handles them, so an
//! arrow's two ends are found from the packets: a command arrives with a
//! segment the client sent earlier, a reply leaves with a segment the
//! client receives later. The arrows therefore slant with the real
//! latency. A filter keeps a slide to one protocol or one connection.
//!
//! The pieces: this file builds the [`Ladder`] from a trace; `svg` and
//! `mermaid` draw it.

use super::{
    ConnName, Dir, Event, Layer, NodeId, Party, Protocol, RelativeSeq, Trace, socket_pair,
};
use crate::sim::SimTime;
use crate::trace::packet::{Packet, Payload};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::net::SocketAddrV4;

mod mermaid;
mod svg;

pub use mermaid::to_mermaid;
pub use svg::{to_svg, to_svg_marked};

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
    /// Where a lost packet's mark goes, in columns from the left (between
    /// `from` and `to`).
    pub lost_at: Option<f64>,
    /// The dialogue layer of its lines, or `tcp`/`udp` for a bare segment.
    pub layer: Layer,
    /// What its connection carries: the arrow's colour.
    pub protocol: Protocol,
    /// Its connection, an index into [`Ladder::conns`].
    pub conn: Option<usize>,
    /// The ports it goes from and to, when it belongs to a connection or
    /// a flow.
    pub ports: Option<(u16, u16)>,
    pub label: String,
}

/// A connection with arrows on the ladder.
#[derive(Debug, Clone, PartialEq)]
pub struct LadderConn {
    /// The end that sent the SYN.
    pub client: SocketAddrV4,
    pub server: SocketAddrV4,
    pub protocol: Protocol,
}

/// A ladder ready to draw.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Ladder {
    /// Column titles, left to right.
    pub columns: Vec<String>,
    /// Arrows in the order they were sent.
    pub arrows: Vec<Arrow>,
    /// The connections arrows belong to, in order of their first arrow.
    pub conns: Vec<LadderConn>,
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
    /// When and at which node.
    dropped: BTreeMap<u64, (SimTime, NodeId)>,
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
            Event::Dropped { packet, node, .. } => {
                t.dropped.entry(packet).or_insert((r.time, node));
            }
            _ => {}
        }
    }
    t
}

fn conn_matches(filter: &Option<String>, a: SocketAddrV4, b: SocketAddrV4) -> bool {
    super::conn_matches(filter.as_deref(), a, b)
}

/// A segment's label: flags and relative numbers, as Wireshark shows
/// them by default and as textbooks write them.
fn segment_label(rel: &RelativeSeq, p: &Packet) -> String {
    let Payload::Tcp(s) = &p.payload else {
        return format!("UDP {} bytes", p.app_payload().len());
    };
    let mut out = format!("{} seq={}", s.flags, rel.seq(p));
    if s.flags.ack() {
        let _ = write!(out, " ack={}", rel.ack(p));
    }
    if !s.payload.is_empty() {
        let _ = write!(out, " len={}", s.payload.len());
    }
    out
}

/// The packet that carried a dialogue line: for a command, the one the
/// server received at that moment from the client; for a reply, the one
/// the server sent then toward the client. On the line's connection, when
/// it names one.
fn carrier(
    trace: &Trace,
    index: usize,
    dir: Dir,
    client: &Party,
    server: NodeId,
    conn: Option<ConnName>,
) -> Option<u64> {
    let t = trace.records[index].time;
    let on_conn = |p: &Packet| {
        conn.is_none_or(|(a, b)| socket_pair(p.src_addr(), p.dst_addr()) == socket_pair(a, b))
    };
    let from_client = |p: &Packet| {
        on_conn(p)
            && match client {
                Party::Node(n) => trace.addresses.get(&p.src) == Some(n),
                Party::External(a) => p.src == *a.ip(),
            }
    };
    let to_client = |p: &Packet| {
        on_conn(p)
            && match client {
                Party::Node(n) => trace.addresses.get(&p.dst) == Some(n),
                Party::External(a) => p.dst == *a.ip(),
            }
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

/// The first and last payload-carrying segments of each connection (by
/// socket pair): where a data connection's content starts and ends.
#[derive(Default)]
struct Payloads {
    first: BTreeMap<ConnName, u64>,
    last_received: BTreeMap<ConnName, SimTime>,
}

fn payloads(trace: &Trace, times: &PacketTimes) -> Payloads {
    let mut out = Payloads::default();
    for p in &trace.packets {
        if p.app_payload().is_empty() {
            continue;
        }
        let key = socket_pair(p.src_addr(), p.dst_addr());
        out.first.entry(key).or_insert(p.id);
        if let Some(&t) = times.received.get(&p.id) {
            let e = out.last_received.entry(key).or_insert(t);
            *e = (*e).max(t);
        }
    }
    out
}

/// A dialogue line placed on the ladder before arrows are made.
struct Line {
    from: Col,
    to: Col,
    sent: SimTime,
    received: SimTime,
    layer: Layer,
    label: String,
    conn: Option<ConnName>,
    /// The segment that carried it, if one is known.
    packet: Option<u64>,
    ports: Option<(u16, u16)>,
}

/// An arrow before its columns are numbered.
struct Raw {
    from: Col,
    to: Col,
    sent: SimTime,
    received: SimTime,
    lost: Option<NodeId>,
    layer: Layer,
    protocol: Protocol,
    conn: Option<ConnName>,
    packet: Option<u64>,
    ports: Option<(u16, u16)>,
    label: String,
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
    let payload = payloads(trace, &times);
    let rel = &trace.seqs;
    let col_of = |addr: std::net::Ipv4Addr, port: u16| match trace.addresses.get(&addr) {
        Some(&n) => Col::Node(n),
        None => Col::External(SocketAddrV4::new(addr, port)),
    };
    let lines = dialogue_lines(trace, filter, &wants, &times, &payload, &col_of);
    // Lines ride on their segment's arrow when segments are drawn.
    let mut riding: BTreeMap<u64, Vec<usize>> = BTreeMap::new();
    for (k, (_, line)) in lines.iter().enumerate() {
        if let Some(p) = line.packet
            && trace.packet(p).is_some_and(|p| match p.payload {
                Payload::Tcp(_) => wants(Layer::Tcp),
                Payload::Udp(_) => wants(Layer::Udp),
            })
        {
            riding.entry(p).or_default().push(k);
        }
    }
    let ridden: std::collections::BTreeSet<usize> = riding.values().flatten().copied().collect();
    let mut next_line = lines.iter().enumerate().peekable();
    let mut raw: Vec<Raw> = Vec::new();
    for (i, r) in trace.records.iter().enumerate() {
        // Lines recorded before this record come first.
        while let Some((k, (at, _))) = next_line.peek() {
            if *at > i {
                break;
            }
            let k = *k;
            let (_, (_, line)) = next_line.next().expect("peeked");
            if !ridden.contains(&k) {
                push_line(&mut raw, trace, line);
            }
        }
        let (Event::SegmentSent { host, packet } | Event::DatagramSent { host, packet }) = &r.event
        else {
            continue;
        };
        let Some(p) = trace.packet(*packet) else {
            continue;
        };
        let (layer, flags) = match &p.payload {
            Payload::Tcp(s) => (Layer::Tcp, Some(s.flags)),
            Payload::Udp(_) => (Layer::Udp, None),
        };
        let pair = socket_pair(p.src_addr(), p.dst_addr());
        let protocol = trace.packet_protocol(p, r.time);
        // With only application layers asked for, a data connection
        // still shows its opening and closing segments: each transfer is
        // a connection of its own (RFC 959 §3.2).
        let data_edge = protocol == Protocol::FtpData
            && wants(Layer::Ftp)
            && flags.is_some_and(|f| f.syn() || f.fin());
        if !(wants(layer) || data_edge) || !conn_matches(&filter.conn, p.src_addr(), p.dst_addr()) {
            continue;
        }
        let (end, lost) = match (times.received.get(packet), times.dropped.get(packet)) {
            (Some(&t), _) => (t, None),
            (None, Some(&(t, node))) => (t, Some(node)),
            (None, None) => continue,
        };
        let carried: Vec<&Line> = riding
            .get(packet)
            .map(|ks| ks.iter().map(|&k| &lines[k].1).collect())
            .unwrap_or_default();
        let mut label = String::new();
        for l in &carried {
            label.push_str(&l.label);
            label.push('\n');
        }
        if wants(layer) {
            label.push_str(&segment_label(rel, p));
        } else if let Some(f) = flags {
            label.push_str(&f.to_string());
        }
        raw.push(Raw {
            from: Col::Node(*host),
            to: col_of(p.dst, p.dst_addr().port()),
            sent: r.time,
            received: end,
            lost,
            layer: carried.first().map_or(layer, |l| l.layer),
            protocol,
            conn: matches!(p.payload, Payload::Tcp(_)).then_some(pair),
            packet: Some(*packet),
            ports: Some((p.src_addr().port(), p.dst_addr().port())),
            label,
        });
    }
    for (k, (_, line)) in next_line {
        if !ridden.contains(&k) {
            push_line(&mut raw, trace, line);
        }
    }
    number(trace, raw)
}

/// The dialogue lines the filter keeps, each with the index of its record
/// and where it goes on the ladder.
fn dialogue_lines(
    trace: &Trace,
    filter: &LadderFilter,
    wants: &dyn Fn(Layer) -> bool,
    times: &PacketTimes,
    payload: &Payloads,
    col_of: &dyn Fn(std::net::Ipv4Addr, u16) -> Col,
) -> Vec<(usize, Line)> {
    let mut out = Vec::new();
    for (i, r) in trace.records.iter().enumerate() {
        let Event::Dialogue {
            layer,
            client,
            server,
            dir,
            line,
            conn,
            ..
        } = &r.event
        else {
            continue;
        };
        let conn = &conn.as_deref().copied();
        if !wants(*layer) {
            continue;
        }
        match conn {
            Some((a, b)) if !conn_matches(&filter.conn, *a, *b) => continue,
            None if filter.conn.is_some() => continue,
            _ => {}
        }
        let Party::Node(server_node) = *server else {
            continue;
        };
        let client_col = match client {
            Party::Node(n) => Col::Node(*n),
            Party::External(a) => Col::External(*a),
        };
        let content = *dir == Dir::Data;
        // Content (message lines, listings) goes whichever way its packet
        // went: from the client in SMTP's DATA, from the server in POP3's
        // RETR.
        // Content that follows a reply at the same moment on the same
        // connection (POP3's RETR body after +OK, an IMAP literal) is the
        // server's; otherwise it rode on what the client just sent.
        let after_reply = (0..i)
            .rev()
            .take_while(|&k| trace.records[k].time == r.time)
            .find_map(|k| match &trace.records[k].event {
                Event::Dialogue {
                    dir: d, conn: c, ..
                } if c.as_deref() == conn.as_ref() && *d != Dir::Data => Some(*d),
                _ => None,
            })
            == Some(Dir::Reply);
        let (dir, packet) = match dir {
            Dir::Data if after_reply => {
                match carrier(trace, i, Dir::Reply, client, server_node, *conn) {
                    Some(p) => (Dir::Reply, Some(p)),
                    None => (
                        Dir::Command,
                        carrier(trace, i, Dir::Command, client, server_node, *conn),
                    ),
                }
            }
            Dir::Data => match carrier(trace, i, Dir::Command, client, server_node, *conn) {
                Some(p) => (Dir::Command, Some(p)),
                None => (
                    Dir::Reply,
                    carrier(trace, i, Dir::Reply, client, server_node, *conn),
                ),
            },
            d => (*d, carrier(trace, i, *d, client, server_node, *conn)),
        };
        let prefix = match (content, dir) {
            (true, _) => "",
            (false, Dir::Command) => "C: ",
            (false, _) => "S: ",
        };
        let label = format!("{prefix}{line}");
        // A data connection's content is told when it closes: it spans the
        // connection's first to last payload segment.
        let span = match (content, packet, conn) {
            (true, None, Some(c)) => payload
                .first
                .get(&socket_pair(c.0, c.1))
                .and_then(|&p| trace.packet(p))
                .map(|p| {
                    let key = socket_pair(p.src_addr(), p.dst_addr());
                    let sent = times.sent.get(&p.id).copied().unwrap_or(r.time);
                    let received = payload.last_received.get(&key).copied().unwrap_or(r.time);
                    (p, sent, received)
                }),
            _ => None,
        };
        let placed = if let Some((p, sent, received)) = span {
            Line {
                from: col_of(p.src, p.src_addr().port()),
                to: col_of(p.dst, p.dst_addr().port()),
                sent,
                received,
                layer: *layer,
                label,
                conn: *conn,
                packet: Some(p.id),
                ports: Some((p.src_addr().port(), p.dst_addr().port())),
            }
        } else if dir == Dir::Command {
            let sent = packet
                .and_then(|p| times.sent.get(&p).copied())
                .unwrap_or(r.time);
            Line {
                from: client_col,
                to: Col::Node(server_node),
                sent,
                received: r.time,
                layer: *layer,
                label,
                conn: *conn,
                packet,
                ports: conn.map(|(c, s)| (c.port(), s.port())),
            }
        } else {
            let received = packet
                .and_then(|p| times.received.get(&p).copied())
                .unwrap_or(r.time);
            Line {
                from: Col::Node(server_node),
                to: client_col,
                sent: r.time,
                received,
                layer: *layer,
                label,
                conn: *conn,
                packet,
                ports: conn.map(|(c, s)| (s.port(), c.port())),
            }
        };
        out.push((i, placed));
    }
    out
}

/// Adds a dialogue line as an arrow of its own; lines that travelled
/// together (a multi-line reply, the lines of a message) make one arrow
/// with several lines.
fn push_line(raw: &mut Vec<Raw>, trace: &Trace, line: &Line) {
    if let Some(last) = raw.last_mut()
        && last
            .packet
            .is_none_or(|_| last.layer != Layer::Tcp && last.layer != Layer::Udp)
        && last.from == line.from
        && last.to == line.to
        && last.sent == line.sent
        && last.received == line.received
        && last.layer == line.layer
        && last.conn == line.conn
    {
        last.label.push('\n');
        last.label.push_str(&line.label);
        return;
    }
    let protocol = line
        .conn
        .and_then(|(a, b)| trace.protocol(a, b, line.sent))
        .or_else(|| Protocol::from_layer(line.layer))
        .unwrap_or(Protocol::Tcp);
    raw.push(Raw {
        from: line.from.clone(),
        to: line.to.clone(),
        sent: line.sent,
        received: line.received,
        lost: None,
        layer: line.layer,
        protocol,
        conn: line.conn.map(|(a, b)| socket_pair(a, b)),
        packet: line.packet,
        ports: line.ports,
        label: line.label.clone(),
    });
}

/// Numbers the columns and connections and orders the arrows.
fn number(trace: &Trace, mut raw: Vec<Raw>) -> Ladder {
    // In order of sending; at one instant in the order the packets were
    // made (a data connection's content is told when it closes, after its
    // FIN was sent), and arrows of no packet keep their trace order.
    raw.sort_by_key(|a| (a.sent, a.packet.unwrap_or(u64::MAX)));
    let mut cols: Vec<Col> = raw
        .iter()
        .flat_map(|a| [a.from.clone(), a.to.clone()])
        .collect();
    cols.sort();
    cols.dedup();
    let index = |c: &Col| cols.iter().position(|x| x == c).unwrap_or(0);
    // Connections in order of their first arrow; the client is the end
    // that sent the first SYN.
    let mut conns: Vec<LadderConn> = Vec::new();
    let mut conn_index: BTreeMap<ConnName, usize> = BTreeMap::new();
    for a in &raw {
        let Some(pair) = a.conn else { continue };
        conn_index.entry(pair).or_insert_with(|| {
            let (client, server) = opener(trace, pair);
            conns.push(LadderConn {
                client,
                server,
                protocol: a.protocol,
            });
            conns.len() - 1
        });
    }
    let arrows: Vec<Arrow> = raw
        .iter()
        .map(|a| {
            let (from, to) = (index(&a.from), index(&a.to));
            Arrow {
                from,
                to,
                sent: a.sent,
                received: a.received,
                lost: a.lost.is_some(),
                lost_at: a.lost.map(|node| lost_at(&cols, from, to, node)),
                layer: a.layer,
                protocol: a.protocol,
                conn: a.conn.and_then(|c| conn_index.get(&c).copied()),
                ports: a.ports,
                label: a.label.clone(),
            }
        })
        .collect();
    let columns = cols
        .iter()
        .map(|c| match c {
            Col::Node(n) => trace.node_name(*n).to_owned(),
            Col::External(a) => a.to_string(),
        })
        .collect();
    Ladder {
        columns,
        arrows,
        conns,
    }
}

/// The (client, server) ends of a connection: the client sent the SYN.
fn opener(trace: &Trace, pair: ConnName) -> (SocketAddrV4, SocketAddrV4) {
    let syn = trace.packets.iter().find(|p| {
        matches!(&p.payload, Payload::Tcp(s) if s.flags.syn() && !s.flags.ack())
            && socket_pair(p.src_addr(), p.dst_addr()) == pair
    });
    match syn {
        Some(p) => (p.src_addr(), p.dst_addr()),
        None => pair,
    }
}

/// Where on its arrow a packet dropped at `node` was lost, in columns: at
/// the node's column if it is one (just short of it), else halfway to the
/// next column, so that the mark never sits on a third host's line.
fn lost_at(cols: &[Col], from: usize, to: usize, node: NodeId) -> f64 {
    let (from, to) = (from as f64, to as f64);
    if from == to {
        return from;
    }
    let step = (to - from).signum();
    let Some(c) = cols.iter().position(|c| *c == Col::Node(node)) else {
        return from + step * 0.5;
    };
    let c = c as f64;
    let between = (c - from) * step >= 0.0 && (to - c) * step >= 0.0;
    if !between || c == from {
        from + step * 0.25
    } else {
        c - step * 0.25
    }
}
