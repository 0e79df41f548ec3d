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

/// A connection's name as the trace prints it, `a-b`.
struct ConnText<'a>(&'a (SocketAddrV4, SocketAddrV4));

impl std::fmt::Display for ConnText<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}-{}", self.0.0, self.0.1)
    }
}

/// A dialogue's party: a host's name, or an outside address.
struct PartyText<'a>(&'a Trace, &'a Party);

impl std::fmt::Display for PartyText<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.1 {
            Party::Node(n) => f.write_str(self.0.node_name(*n)),
            Party::External(a) => write!(f, "{a}"),
        }
    }
}

/// One field's value as it is formatted: no allocation for the common
/// cases (names, numbers, addresses written straight into the output).
#[derive(Clone, Copy)]
enum V<'a> {
    Str(&'a str),
    Disp(&'a dyn std::fmt::Display),
    U(u64),
    I(i64),
    B(bool),
}

/// Where [`Trace::visit`] puts each field, in order.
trait Sink {
    fn put(&mut self, key: &'static str, value: V<'_>);
}

/// Builds the JSON object (a repeated key keeps its first place and takes
/// the last value, as `serde_json::Map` does).
impl Sink for Fields {
    fn put(&mut self, key: &'static str, value: V<'_>) {
        let v = match value {
            V::Str(s) => Json::String(s.to_owned()),
            V::Disp(d) => Json::String(d.to_string()),
            V::U(n) => Json::from(n),
            V::I(n) => Json::from(n),
            V::B(b) => Json::Bool(b),
        };
        self.insert(key.to_owned(), v);
    }
}

/// Picks the named fields (the last value of a repeated key, as in
/// [`Fields`]).
struct Named<'k> {
    keys: &'k [String],
    got: Vec<Option<Json>>,
}

impl Sink for Named<'_> {
    fn put(&mut self, key: &'static str, value: V<'_>) {
        for (i, k) in self.keys.iter().enumerate() {
            if k == key {
                let mut one = Fields::new();
                one.put(key, value);
                self.got[i] = one.into_iter().next().map(|(_, v)| v);
            }
        }
    }
}

/// Writes the JSON line straight into a string, byte for byte what
/// `serde_json` makes of [`Fields`], without building it. A repeated key
/// (which no event has) marks the line for the slow path.
struct JsonLine<'o> {
    out: &'o mut String,
    keys: [&'static str; 24],
    n: usize,
    repeated: bool,
    scratch: String,
}

impl Sink for JsonLine<'_> {
    fn put(&mut self, key: &'static str, value: V<'_>) {
        if self.keys[..self.n.min(24)].contains(&key) {
            self.repeated = true;
            return;
        }
        if self.n < 24 {
            self.keys[self.n] = key;
        } else {
            self.repeated = true;
        }
        self.out.push(if self.n == 0 { '{' } else { ',' });
        self.n += 1;
        json_str(self.out, key);
        self.out.push(':');
        match value {
            V::Str(s) => json_str(self.out, s),
            V::Disp(d) => {
                self.scratch.clear();
                let _ = write!(self.scratch, "{d}");
                json_str(self.out, &self.scratch);
            }
            V::U(n) => {
                let _ = write!(self.out, "{n}");
            }
            V::I(n) => {
                let _ = write!(self.out, "{n}");
            }
            V::B(b) => self.out.push_str(if b { "true" } else { "false" }),
        }
    }
}

/// A JSON string with `serde_json`'s escapes: `"`, `\\`, and the control
/// characters (`\b \t \n \f \r` by name, the others as `\u00XX`).
fn json_str(out: &mut String, s: &str) {
    out.push('"');
    let bytes = s.as_bytes();
    let mut from = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let esc = match b {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0x08 => "\\b",
            0x0c => "\\f",
            0..=0x1f => "",
            _ => continue,
        };
        out.push_str(&s[from..i]);
        if esc.is_empty() {
            let _ = write!(out, "\\u{b:04x}");
        } else {
            out.push_str(esc);
        }
        from = i + 1;
    }
    out.push_str(&s[from..]);
    out.push('"');
}

impl Trace {
    fn value<'a>(&'a self, v: &'a Value) -> V<'a> {
        match v {
            Value::Str(s) => V::Str(s),
            Value::Int(n) => V::I(*n),
            Value::Bool(b) => V::B(*b),
            Value::Node(n) => V::Str(self.node_name(*n)),
        }
    }

    fn link_name(&self, link: u32) -> &str {
        self.links.get(link as usize).map_or("?", |l| &l.name)
    }

    /// Puts the header fields of a packet: addresses, and the TCP header or
    /// UDP length.
    fn packet_fields(&self, f: &mut dyn Sink, p: &Packet) {
        f.put("src", V::Disp(&p.src_addr()));
        f.put("dst", V::Disp(&p.dst_addr()));
        match &p.payload {
            Payload::Tcp(s) => {
                f.put("flags", V::Disp(&s.flags));
                f.put("seq", V::U(s.seq.into()));
                f.put("ack", V::U(s.ack.into()));
                f.put("len", V::U(s.payload.len() as u64));
                f.put("win", V::U(s.window.into()));
                if let Some(mss) = s.mss {
                    f.put("mss", V::U(mss.into()));
                }
            }
            Payload::Udp(d) => f.put("len", V::U(d.payload.len() as u64)),
        }
    }

    /// Every field of a record, `time_us`, `layer` and `event` first: the
    /// JSON object of the trace format, also what expectations match on.
    pub fn fields(&self, r: &Record) -> Fields {
        let mut f = Fields::new();
        self.visit(r, &mut f);
        f
    }

    /// The fields of `r` called `keys` (`None` where `r` has none), as
    /// [`fields`](Self::fields) has them, without making the others.
    pub fn fields_named(&self, r: &Record, keys: &[String]) -> Vec<Option<Json>> {
        let mut named = Named {
            keys,
            got: vec![None; keys.len()],
        };
        self.visit(r, &mut named);
        named.got
    }

    /// Hands every field of `r` to `f`, in the order of the trace format.
    fn visit(&self, r: &Record, f: &mut dyn Sink) {
        f.put("time_us", V::U(r.time.as_micros()));
        f.put("layer", V::Str(self.layer(r).name()));
        f.put("event", V::Str(self.event_name(r)));
        let node = |n: u32| V::Str(self.node_name(n));
        match &r.event {
            Event::Transmit {
                link,
                from,
                to,
                packet,
                depart,
                arrive,
            } => {
                f.put("link", V::Str(self.link_name(*link)));
                f.put("from", node(*from));
                f.put("to", node(*to));
                f.put("packet", V::U(*packet));
                if let Some(p) = self.packet(*packet) {
                    f.put("bytes", V::U(p.wire_len() as u64));
                }
                f.put("depart_us", V::U(depart.as_micros()));
                f.put("arrive_us", V::U(arrive.as_micros()));
            }
            Event::LinkState { link, up } => {
                f.put("link", V::Str(self.link_name(*link)));
                f.put("up", V::B(*up));
            }
            Event::Dropped {
                node: n,
                link,
                packet,
                reason,
            } => {
                f.put("host", node(*n));
                if let Some(l) = link {
                    f.put("link", V::Str(self.link_name(*l)));
                }
                f.put("reason", V::Str(reason.name()));
                if let Some(p) = self.packet(*packet) {
                    self.packet_fields(f, p);
                }
                f.put("packet", V::U(*packet));
            }
            Event::Forwarded { node: n, packet } => {
                f.put("host", node(*n));
                if let Some(p) = self.packet(*packet) {
                    f.put("src", V::Disp(&p.src_addr()));
                    f.put("dst", V::Disp(&p.dst_addr()));
                }
                f.put("packet", V::U(*packet));
            }
            Event::SegmentSent { host, packet }
            | Event::SegmentReceived { host, packet }
            | Event::DatagramSent { host, packet }
            | Event::DatagramReceived { host, packet } => {
                f.put("host", node(*host));
                if let Some(p) = self.packet(*packet) {
                    self.packet_fields(f, p);
                }
                f.put("packet", V::U(*packet));
            }
            Event::TcpState {
                host,
                conn,
                from,
                to,
            } => {
                f.put("host", node(*host));
                f.put("conn", V::Disp(&ConnText(conn)));
                f.put("from", V::Str(from.name()));
                f.put("to", V::Str(to.name()));
            }
            Event::RetransmitTimeout {
                host,
                conn,
                rto,
                backoff,
            } => {
                f.put("host", node(*host));
                f.put("conn", V::Disp(&ConnText(conn)));
                f.put("rto_us", V::U(rto.as_micros()));
                f.put("backoff", V::U((*backoff).into()));
            }
            Event::FastRetransmit { host, conn, seq } => {
                f.put("host", node(*host));
                f.put("conn", V::Disp(&ConnText(conn)));
                f.put("seq", V::U((*seq).into()));
            }
            Event::Cwnd {
                host,
                conn,
                cwnd,
                ssthresh,
            } => {
                f.put("host", node(*host));
                f.put("conn", V::Disp(&ConnText(conn)));
                f.put("cwnd", V::U((*cwnd).into()));
                f.put("ssthresh", V::U((*ssthresh).into()));
            }
            Event::Rtt {
                host,
                conn,
                sample,
                srtt,
                rto,
            } => {
                f.put("host", node(*host));
                f.put("conn", V::Disp(&ConnText(conn)));
                f.put("sample_us", V::U(sample.as_micros()));
                f.put("srtt_us", V::U(srtt.as_micros()));
                f.put("rto_us", V::U(rto.as_micros()));
            }
            Event::ConnFailed { host, conn, error } => {
                f.put("host", node(*host));
                f.put("conn", V::Disp(&ConnText(conn)));
                f.put("error", V::Str(error.name()));
            }
            Event::Dialogue {
                client,
                server,
                code,
                line,
                conn,
                ..
            } => {
                f.put("client", V::Disp(&PartyText(self, client)));
                f.put("server", V::Disp(&PartyText(self, server)));
                if let Some(c) = code {
                    f.put("code", V::U((*c).into()));
                }
                f.put("line", V::Str(line));
                if let Some(c) = conn {
                    f.put("conn", V::Disp(&ConnText(c)));
                }
            }
            Event::App { host, fields, .. } => {
                f.put("host", node(*host));
                for (k, v) in fields {
                    f.put(k, self.value(v));
                }
            }
            Event::Narration { text } => f.put("text", V::Str(text)),
            Event::Fault { fields, .. } => {
                for (k, v) in fields {
                    f.put(k, self.value(v));
                }
            }
        }
    }

    /// One JSON line (without the newline).
    pub fn to_json(&self, r: &Record) -> String {
        let mut out = String::new();
        self.write_json(r, &mut out);
        out
    }

    /// Appends one JSON line (without the newline) to `out`: the same bytes
    /// as `serde_json` would print for [`fields`](Self::fields), written
    /// straight from the record.
    pub fn write_json(&self, r: &Record, out: &mut String) {
        let start = out.len();
        let mut line = JsonLine {
            out,
            keys: [""; 24],
            n: 0,
            repeated: false,
            scratch: String::new(),
        };
        self.visit(r, &mut line);
        if line.repeated {
            out.truncate(start);
            out.push_str(&Json::Object(self.fields(r)).to_string());
        } else {
            out.push('}');
        }
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
                ConnText(conn)
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
                ConnText(conn)
            ),
            Event::FastRetransmit { host, conn, seq } => write!(
                out,
                "{}  {label}  {} 3 duplicate ACKs: fast retransmit of seq={}",
                self.node_name(*host),
                ConnText(conn),
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
                ConnText(conn)
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
                ConnText(conn)
            ),
            Event::ConnFailed { host, conn, error } => write!(
                out,
                "{}  {label}  {} {}",
                self.node_name(*host),
                ConnText(conn),
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

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn every_json_line_of_every_bundled_run_is_what_serde_json_prints() {
        for b in crate::scenario::bundled::ALL {
            let s = crate::scenario::parse(b.name, b.text).unwrap();
            let mut run = crate::scenario::build(&s, s.seed).unwrap();
            run.run();
            let t = run.world.trace();
            for r in &t.records {
                let slow = Json::Object(t.fields(r)).to_string();
                assert_eq!(t.to_json(r), slow, "{}", b.name);
            }
        }
    }

    proptest! {
        #[test]
        fn strings_are_escaped_as_serde_json_escapes_them(s in any::<String>()) {
            let mut out = String::new();
            json_str(&mut out, &s);
            prop_assert_eq!(out, serde_json::to_string(&s).unwrap());
        }

        #[test]
        fn control_characters_are_escaped_as_serde_json_escapes_them(
            s in proptest::collection::vec(0u8..0x80, 0..40),
        ) {
            let s = String::from_utf8(s).unwrap();
            let mut out = String::new();
            json_str(&mut out, &s);
            prop_assert_eq!(out, serde_json::to_string(&s).unwrap());
        }
    }

    #[test]
    fn a_repeated_key_takes_the_slow_path_and_keeps_the_last_value() {
        let mut t = Trace::new();
        t.nodes.push("h".into());
        let r = Record {
            time: crate::sim::SimTime::ZERO,
            event: Event::Fault {
                event: "x",
                fields: vec![("a", Value::Int(1)), ("a", Value::Int(2))],
            },
        };
        assert_eq!(t.to_json(&r), Json::Object(t.fields(&r)).to_string());
        assert!(t.to_json(&r).contains(r#""a":2"#));
    }
}
