//! Plain-language captions: one sentence per trace record, in the spirit
//! of a textbook's numbered steps ("Alice's mail server opens a TCP
//! connection to Bob's mail server on port 25").
//!
//! The visualizer shows them under the animation and the headless runner
//! can print them; both read only the trace. Hosts are called by their
//! scenario `label` when they have one ("Alice's mail server"), else by
//! name. This module explains; it does not decide anything, and the
//! sentences are not a stable format to parse (use the JSON trace).

use super::{Dir, DropReason, Event, Party, Protocol, Record, Trace, Value};
use crate::sim::SimTime;
use crate::trace::packet::{Packet, Payload};
use std::net::SocketAddrV4;

/// How to call the hosts of a run: the trace's names, replaced by friendly
/// labels where the scenario gives them (indexed by node id).
pub struct Captioner<'a> {
    trace: &'a Trace,
    labels: Vec<Option<String>>,
}

/// The first line of a payload, when it is printable text (an SMTP
/// command, an HTTP request line), shortened for a caption.
pub fn payload_line(data: &[u8]) -> Option<String> {
    if data.is_empty() {
        return None;
    }
    let end = data
        .iter()
        .position(|&b| b == b'\r' || b == b'\n')
        .unwrap_or(data.len());
    let line = &data[..end.min(120)];
    if line.is_empty() || !line.iter().all(|&b| (0x20..0x7f).contains(&b)) {
        return None;
    }
    let mut s = String::from_utf8_lossy(line).into_owned();
    if s.len() > 60 {
        s.truncate(57);
        s.push_str("...");
    }
    Some(s)
}

impl<'a> Captioner<'a> {
    /// A captioner for `trace`; `labels[node]` replaces the node's name.
    pub fn new(trace: &'a Trace, labels: Vec<Option<String>>) -> Captioner<'a> {
        Captioner { trace, labels }
    }

    /// What a node is called in a sentence.
    pub fn node(&self, id: u32) -> String {
        match self.labels.get(id as usize) {
            Some(Some(l)) => l.clone(),
            _ => self.trace.node_name(id).to_owned(),
        }
    }

    fn addr(&self, a: std::net::Ipv4Addr) -> String {
        match self.trace.addresses.get(&a) {
            Some(&n) => self.node(n),
            None => a.to_string(),
        }
    }

    fn party(&self, p: &Party) -> String {
        match p {
            Party::Node(n) => self.node(*n),
            Party::External(a) => format!("the program at {a}"),
        }
    }

    fn peer(&self, conn: &(SocketAddrV4, SocketAddrV4)) -> String {
        self.addr(*conn.1.ip())
    }

    /// A sentence for one record.
    pub fn caption(&self, r: &Record) -> String {
        let t = self.trace;
        let pkt = |id: u64| t.packet(id);
        match &r.event {
            Event::SegmentSent { packet, .. } | Event::DatagramSent { packet, .. } => {
                match pkt(*packet) {
                    Some(p) => self.sent(p, r.time),
                    None => "A packet is sent.".into(),
                }
            }
            Event::SegmentReceived { packet, .. } | Event::DatagramReceived { packet, .. } => {
                match pkt(*packet) {
                    Some(p) => format!(
                        "{} receives {} from {}.",
                        self.addr(p.dst),
                        self.what(p, r.time),
                        self.addr(p.src)
                    ),
                    None => "A packet arrives.".into(),
                }
            }
            Event::Transmit {
                from,
                to,
                packet,
                depart,
                arrive,
                ..
            } => {
                let what = pkt(*packet).map_or_else(|| "a packet".into(), |p| self.what(p, r.time));
                format!(
                    "{} puts {what} on the link to {}; it takes {} to arrive.",
                    self.node(*from),
                    self.node(*to),
                    *arrive - *depart
                )
            }
            Event::LinkState { link, up } => {
                let name = t.links.get(*link as usize).map_or("?", |l| &l.name);
                if *up {
                    format!("The link {name} comes back up.")
                } else {
                    format!("The link {name} goes down: packets on it are lost.")
                }
            }
            Event::Dropped {
                node,
                packet,
                reason,
                ..
            } => {
                let what = pkt(*packet).map_or_else(|| "a packet".into(), |p| self.what(p, r.time));
                let at = self.node(*node);
                match reason {
                    DropReason::Loss => format!("The link loses {what} on its way to {at}."),
                    DropReason::QueueFull => {
                        format!("The queue at {at} is full: {what} is dropped.")
                    }
                    DropReason::LinkDown => format!("The link is down: {what} is lost."),
                    DropReason::NoRoute => format!("{at} has no route for {what}: it is dropped."),
                    DropReason::TtlExpired => {
                        format!("{what} has travelled too many hops: {at} drops it.")
                    }
                    DropReason::Firewall => format!("The firewall at {at} refuses {what}."),
                    DropReason::PortClosed => {
                        format!("Nothing listens for {what} on {at}: it is dropped.")
                    }
                    DropReason::HostDown => format!("{at} is down: {what} is lost."),
                    DropReason::NotForHost => format!("{what} is not for {at}: it is dropped."),
                    DropReason::Injected => {
                        format!("What if it were lost? {what} never reaches {at}.")
                    }
                }
            }
            Event::Forwarded { node, packet } => {
                let what = pkt(*packet).map_or_else(|| "a packet".into(), |p| self.what(p, r.time));
                let to = pkt(*packet).map_or_else(String::new, |p| self.addr(p.dst));
                format!("{} forwards {what} toward {to}.", self.node(*node))
            }
            Event::TcpState {
                host,
                conn,
                from,
                to,
            } => format!(
                "On {}, the connection with {} moves from {from} to {to}.",
                self.node(*host),
                self.peer(conn)
            ),
            Event::RetransmitTimeout {
                host, conn, rto, ..
            } => format!(
                "{} heard no acknowledgment from {} in time: it sends the oldest data again and waits longer (timeout now {rto}).",
                self.node(*host),
                self.peer(conn)
            ),
            Event::FastRetransmit { host, conn, seq } => format!(
                "{} got three duplicate ACKs from {}: it resends seq {} at once (fast retransmit).",
                self.node(*host),
                self.peer(conn),
                t.seqs.of(conn.0, conn.1, *seq)
            ),
            Event::Cwnd {
                host,
                cwnd,
                ssthresh,
                ..
            } => format!(
                "On {}, the congestion window is now {cwnd} bytes (slow-start threshold {ssthresh}).",
                self.node(*host)
            ),
            Event::Rtt {
                host, sample, rto, ..
            } => format!(
                "{} measures a round trip of {sample}; its retransmission timeout becomes {rto}.",
                self.node(*host)
            ),
            Event::ConnFailed { host, conn, error } => format!(
                "The connection from {} to {} fails: {}.",
                self.node(*host),
                self.peer(conn),
                error.name()
            ),
            Event::Dialogue {
                layer,
                client,
                server,
                dir,
                code,
                line,
                ..
            } => {
                let (c, s) = (self.party(client), self.party(server));
                let proto = layer.label();
                match dir {
                    Dir::Command => {
                        format!("{c} sends the {proto} command \u{201c}{line}\u{201d} to {s}.")
                    }
                    Dir::Reply => match code {
                        Some(code) => format!(
                            "{s} answers {c} with {proto} reply {code}: \u{201c}{line}\u{201d}."
                        ),
                        None => format!("{s} answers {c}: \u{201c}{line}\u{201d}."),
                    },
                    Dir::Data => format!("{c} and {s} exchange {proto} content: {line}"),
                }
            }
            Event::App {
                layer,
                host,
                event,
                fields,
            } => {
                let words = event.replace('_', " ");
                let details = self.fields(fields);
                format!(
                    "{} ({}): {words}{}.",
                    self.node(*host),
                    layer.label(),
                    if details.is_empty() {
                        String::new()
                    } else {
                        format!(" ({details})")
                    }
                )
            }
            Event::Narration { text } => text.clone(),
            Event::Fault { event, fields } => {
                let details = self.fields(fields);
                format!("Fault: {} ({details}).", event.replace('_', " "))
            }
        }
    }

    fn fields(&self, fields: &[(&'static str, Value)]) -> String {
        let parts: Vec<String> = fields
            .iter()
            .map(|(k, v)| match v {
                Value::Str(s) => format!("{k} {s}"),
                Value::Int(n) => format!("{k} {n}"),
                Value::Bool(b) => format!("{k} {b}"),
                Value::Node(n) => format!("{k} {}", self.node(*n)),
            })
            .collect();
        parts.join(", ")
    }

    /// The application protocol a packet sent at `time` carries, as the
    /// engine recorded it for its connection ("SMTP"); none for plain TCP
    /// or UDP.
    fn service(&self, p: &Packet, time: SimTime) -> Option<&'static str> {
        match self.trace.protocol(p.src_addr(), p.dst_addr(), time)? {
            Protocol::Tcp | Protocol::Udp => None,
            known => Some(known.name()),
        }
    }

    /// "a SYN", "412 bytes of SMTP", "a DNS datagram", for a packet sent
    /// or seen at `time`.
    pub fn what(&self, p: &Packet, time: SimTime) -> String {
        match &p.payload {
            Payload::Tcp(s) => {
                let f = s.flags;
                if f.rst() {
                    "a RST".into()
                } else if f.syn() && f.ack() {
                    "a SYN-ACK".into()
                } else if f.syn() {
                    "a SYN".into()
                } else if !s.payload.is_empty() {
                    let svc = self
                        .service(p, time)
                        .map_or(String::new(), |n| format!(" of {n}"));
                    let fin = if f.fin() { " with FIN" } else { "" };
                    format!("{} bytes{svc}{fin}", s.payload.len())
                } else if f.fin() {
                    "a FIN".into()
                } else {
                    format!("an ACK ({})", self.trace.seqs.ack(p))
                }
            }
            Payload::Udp(d) => match self.service(p, time) {
                Some(n) => format!("a {n} datagram"),
                None => format!("a UDP datagram of {} bytes", d.payload.len()),
            },
        }
    }

    fn sent(&self, p: &Packet, time: SimTime) -> String {
        let (a, b) = (self.addr(p.src), self.addr(p.dst));
        let svc = self
            .service(p, time)
            .map_or(String::new(), |n| format!(" ({n})"));
        match &p.payload {
            Payload::Tcp(s) => {
                let f = s.flags;
                let port = s.dst_port;
                if f.rst() {
                    format!("{a} refuses or abandons the connection with {b}: it sends RST.")
                } else if f.syn() && !f.ack() {
                    format!(
                        "{a} opens a TCP connection to {b} on port {port}{svc}: it sends SYN with its initial sequence number {}.",
                        s.seq
                    )
                } else if f.syn() {
                    format!(
                        "{a} accepts the connection from {b}: SYN-ACK, acknowledging the SYN of {b} and choosing its own sequence number {}.",
                        s.seq
                    )
                } else if !s.payload.is_empty() {
                    let fin = if f.fin() {
                        ", and FIN: it has nothing more to send"
                    } else {
                        ""
                    };
                    match payload_line(&s.payload) {
                        Some(line) => {
                            format!(
                                "{a} sends \u{201c}{line}\u{201d} to {b} (seq {}){fin}.",
                                self.trace.seqs.seq(p)
                            )
                        }
                        None => format!(
                            "{a} sends {} bytes to {b} (seq {}){fin}.",
                            s.payload.len(),
                            self.trace.seqs.seq(p)
                        ),
                    }
                } else if f.fin() {
                    format!("{a} has nothing more to send: it sends FIN to {b}.")
                } else {
                    format!(
                        "{a} acknowledges to {b} every byte before byte {} (ACK).",
                        self.trace.seqs.ack(p)
                    )
                }
            }
            Payload::Udp(d) => {
                format!(
                    "{a} sends a UDP datagram of {} bytes to {b} port {}{svc}.",
                    d.payload.len(),
                    d.dst_port
                )
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trace::packet::TcpFlags;

    fn trace_with(flags: TcpFlags, payload: &'static [u8]) -> Trace {
        crate::trace::tests::one_segment(flags, None, payload, SimTime::from_micros(1))
    }

    #[test]
    fn a_syn_reads_like_the_textbook_step() {
        let t = trace_with(TcpFlags::SYN, b"");
        let c = Captioner::new(
            &t,
            vec![
                Some("Alice's mail server".into()),
                Some("Bob's mail server".into()),
            ],
        );
        assert_eq!(
            c.caption(&t.records[0]),
            "Alice's mail server opens a TCP connection to Bob's mail server on port 25 (SMTP): it sends SYN with its initial sequence number 1000."
        );
    }

    #[test]
    fn data_shows_its_first_line_and_host_names_stay_as_written() {
        let t = trace_with(
            TcpFlags::ACK | TcpFlags::PSH,
            b"MAIL FROM:<alice@crepes.fr>\r\n",
        );
        let c = Captioner::new(&t, vec![]);
        assert_eq!(
            c.caption(&t.records[0]),
            "alice-mail sends \u{201c}MAIL FROM:<alice@crepes.fr>\u{201d} to bob-mail (seq 1000)."
        );
    }

    #[test]
    fn binary_payloads_are_counted_not_printed() {
        assert_eq!(payload_line(b"\x16\x03\x01"), None);
        assert_eq!(payload_line(b"EHLO x\r\n").as_deref(), Some("EHLO x"));
    }
}
