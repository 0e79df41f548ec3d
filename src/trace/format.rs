//! Turning records into fields, JSON lines and readable text.
//!
//! [`Trace::fields`] lists an event's fields in the order the JSON prints
//! them; [`Trace::to_json`] and [`Trace::to_text`] are both made from that
//! one list, so the two formats always say the same thing. Names of hosts
//! and links are looked up here, when an event is formatted, not when it
//! is recorded. Nothing here changes the trace or decides what it holds.

use super::{Dir, Event, Party, Record, Trace, Value};
use crate::trace::packet::{Packet, Payload};
use serde_json::{Map, Value as Json};
use std::fmt::Write as _;
use std::net::SocketAddrV4;

/// The fields of one event, in the order JSON prints them.
pub type Fields = Map<String, Json>;

fn conn_str(c: &(SocketAddrV4, SocketAddrV4)) -> String {
    super::conn_text(*c)
}

impl Trace {
    fn value_json(&self, v: &Value) -> Json {
        match v {
            Value::Str(s) => Json::String(s.clone()),
            Value::Int(n) => Json::from(*n),
            Value::Bool(b) => Json::Bool(*b),
            Value::Node(n) => Json::String(self.node_name(*n).to_owned()),
        }
    }

    /// Adds the header fields of a packet: addresses, and the TCP header or
    /// UDP length.
    fn packet_fields(&self, f: &mut Fields, p: &Packet) {
        f.insert("src".into(), p.src_addr().to_string().into());
        f.insert("dst".into(), p.dst_addr().to_string().into());
        match &p.payload {
            Payload::Tcp(s) => {
                f.insert("flags".into(), s.flags.to_string().into());
                f.insert("seq".into(), s.seq.into());
                f.insert("ack".into(), s.ack.into());
                f.insert("len".into(), s.payload.len().into());
                f.insert("win".into(), s.window.into());
                if let Some(mss) = s.mss {
                    f.insert("mss".into(), mss.into());
                }
            }
            Payload::Udp(d) => {
                f.insert("len".into(), d.payload.len().into());
            }
        }
    }

    /// Every field of a record, `time_us`, `layer` and `event` first: the
    /// JSON object of the trace format, also what expectations match on.
    pub fn fields(&self, r: &Record) -> Fields {
        let mut f = Fields::new();
        f.insert("time_us".into(), r.time.as_micros().into());
        f.insert("layer".into(), self.layer(r).name().into());
        f.insert("event".into(), self.event_name(r).into());
        let node = |n: u32| Json::String(self.node_name(n).to_owned());
        let mut put = |k: &str, v: Json| {
            f.insert(k.to_owned(), v);
        };
        match &r.event {
            Event::Transmit {
                link,
                from,
                to,
                packet,
                depart,
                arrive,
            } => {
                let name = self.links.get(*link as usize).map_or("?", |l| &l.name);
                put("link", name.into());
                put("from", node(*from));
                put("to", node(*to));
                put("packet", (*packet).into());
                if let Some(p) = self.packet(*packet) {
                    put("bytes", p.wire_len().into());
                }
                put("depart_us", depart.as_micros().into());
                put("arrive_us", arrive.as_micros().into());
            }
            Event::LinkState { link, up } => {
                let name = self.links.get(*link as usize).map_or("?", |l| &l.name);
                put("link", name.into());
                put("up", (*up).into());
            }
            Event::Dropped {
                node: n,
                link,
                packet,
                reason,
            } => {
                put("host", node(*n));
                if let Some(l) = link {
                    let name = self.links.get(*l as usize).map_or("?", |l| &l.name);
                    put("link", name.into());
                }
                put("reason", reason.name().into());
                if let Some(p) = self.packet(*packet) {
                    self.packet_fields(&mut f, p);
                }
                f.insert("packet".into(), (*packet).into());
            }
            Event::Forwarded { node: n, packet } => {
                put("host", node(*n));
                if let Some(p) = self.packet(*packet) {
                    put("src", p.src_addr().to_string().into());
                    put("dst", p.dst_addr().to_string().into());
                }
                f.insert("packet".into(), (*packet).into());
            }
            Event::SegmentSent { host, packet }
            | Event::SegmentReceived { host, packet }
            | Event::DatagramSent { host, packet }
            | Event::DatagramReceived { host, packet } => {
                put("host", node(*host));
                if let Some(p) = self.packet(*packet) {
                    self.packet_fields(&mut f, p);
                }
                f.insert("packet".into(), (*packet).into());
            }
            Event::TcpState {
                host,
                conn,
                from,
                to,
            } => {
                put("host", node(*host));
                put("conn", conn_str(conn).into());
                put("from", from.name().into());
                put("to", to.name().into());
            }
            Event::RetransmitTimeout {
                host,
                conn,
                rto,
                backoff,
            } => {
                put("host", node(*host));
                put("conn", conn_str(conn).into());
                put("rto_us", rto.as_micros().into());
                put("backoff", (*backoff).into());
            }
            Event::FastRetransmit { host, conn, seq } => {
                put("host", node(*host));
                put("conn", conn_str(conn).into());
                put("seq", (*seq).into());
            }
            Event::Cwnd {
                host,
                conn,
                cwnd,
                ssthresh,
            } => {
                put("host", node(*host));
                put("conn", conn_str(conn).into());
                put("cwnd", (*cwnd).into());
                put("ssthresh", (*ssthresh).into());
            }
            Event::Rtt {
                host,
                conn,
                sample,
                srtt,
                rto,
            } => {
                put("host", node(*host));
                put("conn", conn_str(conn).into());
                put("sample_us", sample.as_micros().into());
                put("srtt_us", srtt.as_micros().into());
                put("rto_us", rto.as_micros().into());
            }
            Event::ConnFailed { host, conn, error } => {
                put("host", node(*host));
                put("conn", conn_str(conn).into());
                put("error", error.name().into());
            }
            Event::Dialogue {
                client,
                server,
                code,
                line,
                conn,
                ..
            } => {
                put("client", self.party_name(client).into());
                put("server", self.party_name(server).into());
                if let Some(c) = code {
                    put("code", (*c).into());
                }
                put("line", line.as_str().into());
                if let Some(c) = conn {
                    put("conn", conn_str(c).into());
                }
            }
            Event::App { host, fields, .. } => {
                put("host", node(*host));
                for (k, v) in fields {
                    put(k, self.value_json(v));
                }
            }
            Event::Narration { text } => put("text", text.as_str().into()),
            Event::Fault { fields, .. } => {
                for (k, v) in fields {
                    put(k, self.value_json(v));
                }
            }
        }
        f
    }

    /// One JSON line (without the newline).
    pub fn to_json(&self, r: &Record) -> String {
        Json::Object(self.fields(r)).to_string()
    }

    /// A packet in one line, as Wireshark's "Info" column would put it,
    /// with sequence numbers relative to each side's SYN:
    /// `49152 > 25 [PSH,ACK] seq=1 ack=33 len=12`.
    pub fn packet_summary(&self, p: &Packet) -> String {
        match &p.payload {
            Payload::Tcp(s) => format!(
                "{} > {} [{}] seq={} ack={} len={}",
                s.src_port,
                s.dst_port,
                s.flags,
                self.seqs.seq(p),
                if s.flags.ack() { self.seqs.ack(p) } else { 0 },
                s.payload.len()
            ),
            Payload::Udp(d) => format!(
                "{} > {} UDP len={}",
                d.src_port,
                d.dst_port,
                d.payload.len()
            ),
        }
    }

    fn packet_ends(&self, p: &Packet) -> (String, String) {
        (self.addr_name(p.src), self.addr_name(p.dst))
    }

    /// One readable line: time, who, layer, what.
    pub fn to_text(&self, r: &Record) -> String {
        let ms = r.time.as_micros();
        let mut out = format!("{:>5}.{:03} ms  ", ms / 1000, ms % 1000);
        let label = self.layer(r).label();
        let pkt = |id: u64| self.packet(id);
        let _ = match &r.event {
            Event::SegmentSent { packet, .. } | Event::DatagramSent { packet, .. } => {
                match pkt(*packet) {
                    Some(p) => {
                        let (s, d) = self.packet_ends(p);
                        write!(out, "{s} -> {d}  {label}  {}", self.packet_summary(p))
                    }
                    None => write!(out, "{label}  packet {packet}"),
                }
            }
            Event::SegmentReceived { packet, .. } | Event::DatagramReceived { packet, .. } => {
                match pkt(*packet) {
                    Some(p) => {
                        let (s, d) = self.packet_ends(p);
                        write!(
                            out,
                            "{d} <- {s}  {label}  received {}",
                            self.packet_summary(p)
                        )
                    }
                    None => write!(out, "{label}  packet {packet}"),
                }
            }
            Event::Transmit {
                link: _,
                from,
                to,
                packet,
                depart,
                arrive,
            } => {
                let bytes = pkt(*packet).map_or(0, Packet::wire_len);
                write!(
                    out,
                    "{} => {}  {label}  packet {packet} ({bytes} bytes) leaves {:.3} ms, arrives {:.3} ms",
                    self.node_name(*from),
                    self.node_name(*to),
                    depart.as_micros() as f64 / 1000.0,
                    arrive.as_micros() as f64 / 1000.0
                )
            }
            Event::LinkState { link, up } => {
                let name = self.links.get(*link as usize).map_or("?", |l| &l.name);
                write!(out, "{name}  {label}  {}", if *up { "up" } else { "down" })
            }
            Event::Dropped {
                node,
                packet,
                reason,
                ..
            } => {
                let what = pkt(*packet).map_or_else(String::new, |p| self.packet_summary(p));
                write!(
                    out,
                    "{}  {label}  DROPPED ({}) {what}",
                    self.node_name(*node),
                    reason.name()
                )
            }
            Event::Forwarded { node, packet } => {
                let what = pkt(*packet).map_or_else(String::new, |p| self.packet_summary(p));
                write!(out, "{}  {label}  forwards {what}", self.node_name(*node))
            }
            Event::TcpState {
                host,
                conn,
                from,
                to,
            } => write!(
                out,
                "{}  {label}  {} {from} -> {to}",
                self.node_name(*host),
                conn_str(conn)
            ),
            Event::RetransmitTimeout {
                host,
                conn,
                rto,
                backoff,
            } => write!(
                out,
                "{}  {label}  {} retransmission timeout, RTO now {rto} (backoff {backoff})",
                self.node_name(*host),
                conn_str(conn)
            ),
            Event::FastRetransmit { host, conn, seq } => write!(
                out,
                "{}  {label}  {} 3 duplicate ACKs: fast retransmit of seq={}",
                self.node_name(*host),
                conn_str(conn),
                self.seqs.of(conn.0, conn.1, *seq)
            ),
            Event::Cwnd {
                host,
                conn,
                cwnd,
                ssthresh,
            } => write!(
                out,
                "{}  {label}  {} cwnd={cwnd} ssthresh={ssthresh}",
                self.node_name(*host),
                conn_str(conn)
            ),
            Event::Rtt {
                host,
                conn,
                sample,
                srtt,
                rto,
            } => write!(
                out,
                "{}  {label}  {} rtt sample {sample}, srtt {srtt}, rto {rto}",
                self.node_name(*host),
                conn_str(conn)
            ),
            Event::ConnFailed { host, conn, error } => write!(
                out,
                "{}  {label}  {} {}",
                self.node_name(*host),
                conn_str(conn),
                error.name()
            ),
            Event::Dialogue {
                client,
                server,
                dir,
                line,
                ..
            } => {
                let (c, s) = (self.party_name(client), self.party_name(server));
                match dir {
                    Dir::Command => write!(out, "{c} -> {s}  {label}  C: {line}"),
                    Dir::Reply => write!(out, "{s} -> {c}  {label}  S: {line}"),
                    Dir::Data => write!(out, "{c} -- {s}  {label}     {line}"),
                }
            }
            Event::App {
                host,
                event,
                fields,
                ..
            } => write!(out, "{}  {label}  {event}", self.node_name(*host))
                .and_then(|()| self.write_fields(&mut out, fields)),
            Event::Narration { text } => write!(out, "** {text}"),
            Event::Fault { event, fields } => {
                write!(out, "{label}  {event}").and_then(|()| self.write_fields(&mut out, fields))
            }
        };
        out
    }

    fn write_fields(&self, out: &mut String, fields: &[(&'static str, Value)]) -> std::fmt::Result {
        for (k, v) in fields {
            match v {
                Value::Str(s) => write!(out, " {k}={s:?}")?,
                Value::Int(n) => write!(out, " {k}={n}")?,
                Value::Bool(b) => write!(out, " {k}={b}")?,
                Value::Node(n) => write!(out, " {k}={}", self.node_name(*n))?,
            }
        }
        Ok(())
    }
}

impl Party {
    /// The node, if the party is a simulated host.
    pub fn node(&self) -> Option<u32> {
        match self {
            Party::Node(n) => Some(*n),
            Party::External(_) => None,
        }
    }
}
