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
    /// A name of the vocabulary (layer, event, flags, state, reason,
    /// error): nothing in it to escape.
    Name(&'static str),
    /// A socket address, written without the formatting machinery.
    Sock(SocketAddrV4),
    /// A connection's two sockets, `a-b`.
    Conn(&'a (SocketAddrV4, SocketAddrV4)),
    Disp(&'a dyn std::fmt::Display),
    U(u64),
    I(i64),
    B(bool),
}

/// A field's name, and (for the names written in this file) the bytes the
/// JSON writer puts before its value, `,"name":`, made at compile time.
#[derive(Clone, Copy)]
struct Key {
    name: &'static str,
    /// `,"name":`, or empty for a name known only at run time.
    json: &'static str,
}

impl Key {
    /// A name an application or a fault chose.
    fn named(name: &'static str) -> Key {
        Key { name, json: "" }
    }
}

/// The [`Key`] of a literal field name.
macro_rules! key {
    ($name:literal) => {
        Key {
            name: $name,
            json: concat!(",\"", $name, "\":"),
        }
    };
}

/// Where [`Trace::visit`] puts each field, in order.
trait Sink {
    fn put(&mut self, key: Key, value: V<'_>);
}

impl V<'_> {
    /// The value as `serde_json` holds it.
    fn to_json(self) -> Json {
        match self {
            V::Str(s) | V::Name(s) => Json::String(s.to_owned()),
            V::Sock(a) => Json::String(a.to_string()),
            V::Conn(c) => Json::String(ConnText(c).to_string()),
            V::Disp(d) => Json::String(d.to_string()),
            V::U(n) => Json::from(n),
            V::I(n) => Json::from(n),
            V::B(b) => Json::Bool(b),
        }
    }
}

/// Builds the JSON object (a repeated key keeps its first place and takes
/// the last value, as `serde_json::Map` does).
impl Sink for Fields {
    fn put(&mut self, key: Key, value: V<'_>) {
        self.insert(key.name.to_owned(), value.to_json());
    }
}

/// Picks the named fields (the last value of a repeated key, as in
/// [`Fields`]).
struct Named<'k> {
    keys: &'k [String],
    got: Vec<Option<Json>>,
}

impl Sink for Named<'_> {
    fn put(&mut self, key: Key, value: V<'_>) {
        for (i, k) in self.keys.iter().enumerate() {
            if k == key.name {
                self.got[i] = Some(value.to_json());
            }
        }
    }
}

/// Writes the JSON line straight into a string, byte for byte what
/// `serde_json` makes of [`Fields`], without building it. A repeated key
/// (which no event has) marks the line for the slow path.
struct JsonLine<'o> {
    out: &'o mut String,
    /// The names so far (when `check`).
    keys: [&'static str; 24],
    n: usize,
    /// Whether to look for repeated keys (application and fault events).
    check: bool,
    repeated: bool,
    scratch: String,
}

impl Sink for JsonLine<'_> {
    #[inline(always)]
    fn put(&mut self, key: Key, value: V<'_>) {
        // The engine's events have fixed, distinct keys; only the fields
        // an application or a fault lists could repeat one.
        if self.check {
            if self.keys[..self.n.min(24)].contains(&key.name) {
                self.repeated = true;
                return;
            }
            if self.n < 24 {
                self.keys[self.n] = key.name;
            } else {
                self.repeated = true;
            }
        }
        // Field names are the vocabulary's: plain ASCII words, nothing to
        // escape (checked by `every_field_name_needs_no_escape`).
        match (self.n, key.json) {
            (0, "") => {
                self.out.push_str("{\"");
                self.out.push_str(key.name);
                self.out.push_str("\":");
            }
            (0, json) => {
                self.out.push('{');
                self.out.push_str(&json[1..]);
            }
            (_, "") => {
                self.out.push_str(",\"");
                self.out.push_str(key.name);
                self.out.push_str("\":");
            }
            (_, json) => self.out.push_str(json),
        }
        self.n += 1;
        match value {
            V::Str(s) => json_str(self.out, s),
            V::Name(s) => {
                debug_assert!(!needs_escape(s), "{s:?}");
                self.out.push('"');
                self.out.push_str(s);
                self.out.push('"');
            }
            V::Sock(a) => push_quoted_socks(self.out, a, None),
            V::Conn((a, b)) => push_quoted_socks(self.out, *a, Some(*b)),
            V::Disp(d) => {
                self.scratch.clear();
                let _ = write!(self.scratch, "{d}");
                json_str(self.out, &self.scratch);
            }
            V::U(n) => push_u64(self.out, n),
            V::I(n) => {
                if n < 0 {
                    self.out.push('-');
                }
                push_u64(self.out, n.unsigned_abs());
            }
            V::B(b) => self.out.push_str(if b { "true" } else { "false" }),
        }
    }
}

/// The flags as `Display` writes them, from a table made once.
fn flags_name(flags: crate::trace::packet::TcpFlags) -> &'static str {
    static NAMES: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
    let names = NAMES.get_or_init(|| {
        (0..=u8::MAX)
            .map(|b| crate::trace::packet::TcpFlags(b).to_string())
            .collect()
    });
    &names[usize::from(flags.0)]
}

/// `n` in decimal, as `Display` writes it, without the formatter.
pub(super) fn push_u64(out: &mut String, n: u64) {
    out.push_str(itoa::Buffer::new().format(n));
}

/// Microseconds as milliseconds with three decimals (`12.345`), as
/// `{:.3}` writes `us as f64 / 1000.0`, without the float.
fn push_ms(out: &mut String, us: u64) {
    push_u64(out, us / 1000);
    out.push('.');
    let frac = us % 1000;
    if frac < 100 {
        out.push('0');
    }
    if frac < 10 {
        out.push('0');
    }
    push_u64(out, frac);
}

/// Writes `v` in decimal at the start of `buf`; the number of digits.
fn digits(buf: &mut [u8], v: u16) -> usize {
    let width = match v {
        0..=9 => 1,
        10..=99 => 2,
        100..=999 => 3,
        1000..=9999 => 4,
        _ => 5,
    };
    let mut v = v;
    for d in buf[..width].iter_mut().rev() {
        *d = b'0' + (v % 10) as u8;
        v /= 10;
    }
    width
}

/// Every octet's decimal digits and their count, made at compile time.
const OCTETS: [([u8; 3], u8); 256] = {
    let mut table = [([0u8; 3], 0u8); 256];
    let mut i = 0;
    while i < 256 {
        let (h, t, o) = ((i / 100) as u8, (i / 10 % 10) as u8, (i % 10) as u8);
        table[i] = if i >= 100 {
            ([b'0' + h, b'0' + t, b'0' + o], 3)
        } else if i >= 10 {
            ([b'0' + t, b'0' + o, 0], 2)
        } else {
            ([b'0' + o, 0, 0], 1)
        };
        i += 1;
    }
    table
};

/// Writes `a.b.c.d` (and `:port`), as `Display` writes them, at `buf[n..]`;
/// the new end.
fn addr_bytes(buf: &mut [u8], mut n: usize, ip: std::net::Ipv4Addr, port: Option<u16>) -> usize {
    for (i, o) in ip.octets().into_iter().enumerate() {
        if i > 0 {
            buf[n] = b'.';
            n += 1;
        }
        let (d, len) = OCTETS[usize::from(o)];
        buf[n..n + 3].copy_from_slice(&d);
        n += usize::from(len);
    }
    if let Some(port) = port {
        buf[n] = b':';
        n += 1;
        n += digits(&mut buf[n..], port);
    }
    n
}

/// Pushes ASCII made on the stack (addresses and their punctuation).
fn push_ascii(out: &mut String, bytes: &[u8]) {
    out.push_str(std::str::from_utf8(bytes).unwrap_or_default());
}

/// `a.b.c.d` (and `:port`), made on the stack and pushed at once.
fn push_addr(out: &mut String, ip: std::net::Ipv4Addr, port: Option<u16>) {
    let mut buf = [0u8; 21];
    let n = addr_bytes(&mut buf, 0, ip, port);
    push_ascii(out, &buf[..n]);
}

/// `"a:p"` or, with `b`, a connection's `"a:p-b:q"`, quotes and all, in
/// one push.
fn push_quoted_socks(out: &mut String, a: SocketAddrV4, b: Option<SocketAddrV4>) {
    let mut buf = [0u8; 46];
    buf[0] = b'"';
    let mut n = addr_bytes(&mut buf, 1, *a.ip(), Some(a.port()));
    if let Some(b) = b {
        buf[n] = b'-';
        n = addr_bytes(&mut buf, n + 1, *b.ip(), Some(b.port()));
    }
    buf[n] = b'"';
    push_ascii(out, &buf[..=n]);
}

/// `a.b.c.d`, as `Display` writes it.
fn push_ip(out: &mut String, ip: std::net::Ipv4Addr) {
    push_addr(out, ip, None);
}

/// `a.b.c.d:port`, as `Display` writes it.
fn push_sock(out: &mut String, a: SocketAddrV4) {
    push_addr(out, *a.ip(), Some(a.port()));
}

/// True if `s` has a byte JSON escapes.
fn needs_escape(s: &str) -> bool {
    s.bytes().any(|b| b < 0x20 || b == b'"' || b == b'\\')
}

/// A JSON string with `serde_json`'s escapes: `"`, `\\`, and the control
/// characters (`\b \t \n \f \r` by name, the others as `\u00XX`).
fn json_str(out: &mut String, s: &str) {
    out.push('"');
    let bytes = s.as_bytes();
    if !needs_escape(s) {
        out.push_str(s);
        out.push('"');
        return;
    }
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
    fn packet_fields<S: Sink>(&self, f: &mut S, p: &Packet) {
        f.put(key!("src"), V::Sock(p.src_addr()));
        f.put(key!("dst"), V::Sock(p.dst_addr()));
        match &p.payload {
            Payload::Tcp(s) => {
                f.put(key!("flags"), V::Name(flags_name(s.flags)));
                f.put(key!("seq"), V::U(s.seq.into()));
                f.put(key!("ack"), V::U(s.ack.into()));
                f.put(key!("len"), V::U(s.payload.len() as u64));
                f.put(key!("win"), V::U(s.window.into()));
                if let Some(mss) = s.mss {
                    f.put(key!("mss"), V::U(mss.into()));
                }
            }
            Payload::Udp(d) => f.put(key!("len"), V::U(d.payload.len() as u64)),
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
    fn visit<S: Sink>(&self, r: &Record, f: &mut S) {
        f.put(key!("time_us"), V::U(r.time.as_micros()));
        f.put(key!("layer"), V::Name(self.layer(r).name()));
        f.put(key!("event"), V::Name(self.event_name(r)));
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
                f.put(key!("link"), V::Str(self.link_name(*link)));
                f.put(key!("from"), node(*from));
                f.put(key!("to"), node(*to));
                f.put(key!("packet"), V::U(*packet));
                if let Some(p) = self.packet(*packet) {
                    f.put(key!("bytes"), V::U(p.wire_len() as u64));
                }
                f.put(key!("depart_us"), V::U(depart.as_micros()));
                f.put(key!("arrive_us"), V::U(arrive.as_micros()));
            }
            Event::LinkState { link, up } => {
                f.put(key!("link"), V::Str(self.link_name(*link)));
                f.put(key!("up"), V::B(*up));
            }
            Event::Dropped {
                node: n,
                link,
                packet,
                reason,
            } => {
                f.put(key!("host"), node(*n));
                if let Some(l) = link {
                    f.put(key!("link"), V::Str(self.link_name(*l)));
                }
                f.put(key!("reason"), V::Name(reason.name()));
                if let Some(p) = self.packet(*packet) {
                    self.packet_fields(f, p);
                }
                f.put(key!("packet"), V::U(*packet));
            }
            Event::Forwarded { node: n, packet } => {
                f.put(key!("host"), node(*n));
                if let Some(p) = self.packet(*packet) {
                    f.put(key!("src"), V::Sock(p.src_addr()));
                    f.put(key!("dst"), V::Sock(p.dst_addr()));
                }
                f.put(key!("packet"), V::U(*packet));
            }
            Event::SegmentSent { host, packet }
            | Event::SegmentReceived { host, packet }
            | Event::DatagramSent { host, packet }
            | Event::DatagramReceived { host, packet } => {
                f.put(key!("host"), node(*host));
                if let Some(p) = self.packet(*packet) {
                    self.packet_fields(f, p);
                }
                f.put(key!("packet"), V::U(*packet));
            }
            Event::TcpState {
                host,
                conn,
                from,
                to,
            } => {
                f.put(key!("host"), node(*host));
                f.put(key!("conn"), V::Conn(conn));
                f.put(key!("from"), V::Name(from.name()));
                f.put(key!("to"), V::Name(to.name()));
            }
            Event::RetransmitTimeout {
                host,
                conn,
                rto,
                backoff,
            } => {
                f.put(key!("host"), node(*host));
                f.put(key!("conn"), V::Conn(conn));
                f.put(key!("rto_us"), V::U(rto.as_micros()));
                f.put(key!("backoff"), V::U((*backoff).into()));
            }
            Event::FastRetransmit { host, conn, seq } => {
                f.put(key!("host"), node(*host));
                f.put(key!("conn"), V::Conn(conn));
                f.put(key!("seq"), V::U((*seq).into()));
            }
            Event::Cwnd {
                host,
                conn,
                cwnd,
                ssthresh,
            } => {
                f.put(key!("host"), node(*host));
                f.put(key!("conn"), V::Conn(conn));
                f.put(key!("cwnd"), V::U((*cwnd).into()));
                f.put(key!("ssthresh"), V::U((*ssthresh).into()));
            }
            Event::Rtt {
                host,
                conn,
                sample,
                srtt,
                rto,
            } => {
                f.put(key!("host"), node(*host));
                f.put(key!("conn"), V::Conn(conn));
                f.put(key!("sample_us"), V::U(sample.as_micros()));
                f.put(key!("srtt_us"), V::U(srtt.as_micros()));
                f.put(key!("rto_us"), V::U(rto.as_micros()));
            }
            Event::ConnFailed { host, conn, error } => {
                f.put(key!("host"), node(*host));
                f.put(key!("conn"), V::Conn(conn));
                f.put(key!("error"), V::Name(error.name()));
            }
            Event::Dialogue {
                client,
                server,
                code,
                line,
                conn,
                ..
            } => {
                f.put(key!("client"), V::Disp(&PartyText(self, client)));
                f.put(key!("server"), V::Disp(&PartyText(self, server)));
                if let Some(c) = code {
                    f.put(key!("code"), V::U((*c).into()));
                }
                f.put(key!("line"), V::Str(line));
                if let Some(c) = conn {
                    f.put(key!("conn"), V::Conn(c));
                }
            }
            Event::App { host, fields, .. } => {
                f.put(key!("host"), node(*host));
                for (k, v) in fields {
                    f.put(Key::named(k), self.value(v));
                }
            }
            Event::Narration { text } => f.put(key!("text"), V::Str(text)),
            Event::Fault { fields, .. } => {
                for (k, v) in fields {
                    f.put(Key::named(k), self.value(v));
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
            check: matches!(r.event, Event::App { .. } | Event::Fault { .. }),
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
        let mut out = String::new();
        self.write_summary(&mut out, p);
        out
    }

    /// Appends [`packet_summary`](Self::packet_summary)'s text to `out`.
    fn write_summary(&self, out: &mut String, p: &Packet) {
        match &p.payload {
            Payload::Tcp(s) => {
                push_u64(out, s.src_port.into());
                out.push_str(" > ");
                push_u64(out, s.dst_port.into());
                out.push_str(" [");
                out.push_str(flags_name(s.flags));
                out.push_str("] seq=");
                push_u64(out, self.seqs.seq(p).into());
                out.push_str(" ack=");
                push_u64(out, if s.flags.ack() { self.seqs.ack(p) } else { 0 }.into());
                out.push_str(" len=");
                push_u64(out, s.payload.len() as u64);
            }
            Payload::Udp(d) => {
                push_u64(out, d.src_port.into());
                out.push_str(" > ");
                push_u64(out, d.dst_port.into());
                out.push_str(" UDP len=");
                push_u64(out, d.payload.len() as u64);
            }
        }
    }

    /// The name of the host with `addr`, or the address.
    fn push_addr_name(&self, out: &mut String, addr: std::net::Ipv4Addr) {
        match self.addresses.get(&addr) {
            Some(&n) => out.push_str(self.node_name(n)),
            None => push_ip(out, addr),
        }
    }

    /// One readable line: time, who, layer, what.
    pub fn to_text(&self, r: &Record) -> String {
        let mut out = String::new();
        self.write_text(r, &mut out);
        out
    }

    /// Appends [`to_text`](Self::to_text)'s line (without the newline) to
    /// `out`.
    pub fn write_text(&self, r: &Record, out: &mut String) {
        let ms = r.time.as_micros();
        let (whole, frac) = (ms / 1000, ms % 1000);
        let digits = whole.checked_ilog10().map_or(1, |d| d as usize + 1);
        for _ in digits..5 {
            out.push(' ');
        }
        push_u64(out, whole);
        out.push('.');
        if frac < 100 {
            out.push('0');
        }
        if frac < 10 {
            out.push('0');
        }
        push_u64(out, frac);
        out.push_str(" ms  ");
        let label = self.layer(r).label();
        let pkt = |id: u64| self.packet(id);
        let _ = match &r.event {
            Event::SegmentSent { packet, .. } | Event::DatagramSent { packet, .. } => {
                match pkt(*packet) {
                    Some(p) => {
                        self.push_addr_name(out, p.src);
                        out.push_str(" -> ");
                        self.push_addr_name(out, p.dst);
                        out.push_str("  ");
                        out.push_str(label);
                        out.push_str("  ");
                        self.write_summary(out, p);
                        Ok(())
                    }
                    None => write!(out, "{label}  packet {packet}"),
                }
            }
            Event::SegmentReceived { packet, .. } | Event::DatagramReceived { packet, .. } => {
                match pkt(*packet) {
                    Some(p) => {
                        self.push_addr_name(out, p.dst);
                        out.push_str(" <- ");
                        self.push_addr_name(out, p.src);
                        out.push_str("  ");
                        out.push_str(label);
                        out.push_str("  received ");
                        self.write_summary(out, p);
                        Ok(())
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
                out.push_str(self.node_name(*from));
                out.push_str(" => ");
                out.push_str(self.node_name(*to));
                out.push_str("  ");
                out.push_str(label);
                out.push_str("  packet ");
                push_u64(out, *packet);
                out.push_str(" (");
                push_u64(out, bytes as u64);
                out.push_str(" bytes) leaves ");
                push_ms(out, depart.as_micros());
                out.push_str(" ms, arrives ");
                push_ms(out, arrive.as_micros());
                out.push_str(" ms");
                Ok(())
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
                out.push_str(self.node_name(*node));
                out.push_str("  ");
                out.push_str(label);
                out.push_str("  forwards ");
                if let Some(p) = pkt(*packet) {
                    self.write_summary(out, p);
                }
                Ok(())
            }
            Event::TcpState {
                host,
                conn,
                from,
                to,
            } => {
                self.push_conn_head(out, *host, label, conn);
                out.push_str(from.name());
                out.push_str(" -> ");
                out.push_str(to.name());
                Ok(())
            }
            Event::RetransmitTimeout {
                host,
                conn,
                rto,
                backoff,
            } => {
                self.push_conn_head(out, *host, label, conn);
                write!(
                    out,
                    "retransmission timeout, RTO now {rto} (backoff {backoff})"
                )
            }
            Event::FastRetransmit { host, conn, seq } => {
                self.push_conn_head(out, *host, label, conn);
                out.push_str("3 duplicate ACKs: fast retransmit of seq=");
                push_u64(out, self.seqs.of(conn.0, conn.1, *seq).into());
                Ok(())
            }
            Event::Cwnd {
                host,
                conn,
                cwnd,
                ssthresh,
            } => {
                self.push_conn_head(out, *host, label, conn);
                out.push_str("cwnd=");
                push_u64(out, (*cwnd).into());
                out.push_str(" ssthresh=");
                push_u64(out, (*ssthresh).into());
                Ok(())
            }
            Event::Rtt {
                host,
                conn,
                sample,
                srtt,
                rto,
            } => {
                self.push_conn_head(out, *host, label, conn);
                write!(out, "rtt sample {sample}, srtt {srtt}, rto {rto}")
            }
            Event::ConnFailed { host, conn, error } => {
                self.push_conn_head(out, *host, label, conn);
                out.push_str(error.name());
                Ok(())
            }
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
                .and_then(|()| self.write_fields(out, fields)),
            Event::Narration { text } => write!(out, "** {text}"),
            Event::Fault { event, fields } => {
                write!(out, "{label}  {event}").and_then(|()| self.write_fields(out, fields))
            }
        };
    }

    /// `host  LABEL  a-b ` (with the trailing space), the start of a
    /// connection's text line.
    fn push_conn_head(
        &self,
        out: &mut String,
        host: u32,
        label: &str,
        conn: &(SocketAddrV4, SocketAddrV4),
    ) {
        out.push_str(self.node_name(host));
        out.push_str("  ");
        out.push_str(label);
        out.push_str("  ");
        push_sock(out, conn.0);
        out.push('-');
        push_sock(out, conn.1);
        out.push(' ');
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
    fn addresses_are_written_as_display_writes_them() {
        for o in 0..=255u8 {
            for port in [0, 9, 10, 99, 100, 999, 1000, 9999, 10000, 49152, 65535] {
                let a = SocketAddrV4::new(std::net::Ipv4Addr::new(o, 255 - o, o / 3, 7), port);
                let b = SocketAddrV4::new(std::net::Ipv4Addr::new(255, o, 0, o), 65535 - port);
                let mut out = String::new();
                push_sock(&mut out, a);
                assert_eq!(out, a.to_string());
                out.clear();
                push_quoted_socks(&mut out, a, Some(b));
                assert_eq!(out, format!("\"{a}-{b}\""));
            }
        }
    }

    #[test]
    fn every_field_name_needs_no_escape() {
        // The JSON writer prints field names as they are.
        let names = crate::apps::vocabulary()
            .flat_map(|k| k.fields.iter())
            .chain(crate::trace::vocab::COMMON_FIELDS)
            .chain(&["host"]);
        for name in names {
            assert!(
                !name.is_empty()
                    && name
                        .bytes()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'),
                "{name:?}"
            );
        }
    }

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
        fn numbers_addresses_and_times_are_written_as_display_writes_them(
            n in any::<u64>(), ip in any::<u32>(), port in any::<u16>(), us in 0u64..1u64 << 40,
        ) {
            let mut out = String::new();
            push_u64(&mut out, n);
            prop_assert_eq!(&out, &n.to_string());
            let a = SocketAddrV4::new(ip.into(), port);
            out.clear();
            push_sock(&mut out, a);
            prop_assert_eq!(&out, &a.to_string());
            let mut t = Trace::new();
            t.nodes.push("h".into());
            let r = Record {
                time: crate::sim::SimTime::from_micros(us),
                event: Event::Narration { text: "x".into() },
            };
            let ms = us;
            prop_assert_eq!(t.to_text(&r), format!("{:>5}.{:03} ms  ** x", ms / 1000, ms % 1000));
            out.clear();
            push_ms(&mut out, us);
            prop_assert_eq!(out, format!("{:.3}", us as f64 / 1000.0));
        }

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
