//! The trace: the one stream of typed events every layer emits.
//!
//! A run appends [`Record`]s (a time and an [`Event`]) to a [`Trace`]. The
//! CLI prints them, the checks match them, the pcap and ladder exports and
//! the visualizer draw them; none of those look inside the engine. Events
//! are small and typed so that recording stays cheap on the hot path:
//! packets are referred to by id and kept once in [`Trace::packets`], and
//! host and link names are looked up only when an event is formatted.
//!
//! Two formats, both derived from the same field list
//! ([`Trace::fields`]): JSON lines ([`Trace::to_json`], the contract in
//! docs/architecture.md: `time_us`, `layer`, `event`, then fields), and a readable
//! line per event ([`Trace::to_text`]) that reads like a textbook ladder:
//! `2.100 ms  alice-mail -> bob-mail  SMTP  C: MAIL FROM:<alice@crepes.fr>`.
//!
//! Exports read only the trace: [`pcap`] writes captures for Wireshark,
//! [`ladder`] draws time-space diagrams as SVG or Mermaid.
//!
//! This module does not decide what happens; it only records and formats.

pub mod caption;
pub mod dialogues;
mod format;
pub mod ladder;
pub mod packet;
pub mod pcap;
pub mod story;
pub mod tcp_plot;
pub mod tcp_state;
pub mod vocab;
pub mod wire;

use crate::sim::{SimDuration, SimTime};
use packet::{Packet, PacketId, Payload};
use std::collections::BTreeMap;
use std::net::{Ipv4Addr, SocketAddrV4};
use tcp_state::{TcpError, TcpState};

pub use format::Fields;

/// One line of an application dialogue, as a transcript shows it.
///
/// Servers report both directions (the command they received and the reply
/// they sent), so a transcript is complete even when the client is a real
/// program outside the simulation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Transcript {
    /// A command from the client ("C:" in the RFCs' examples).
    Command(String),
    /// A reply from the server ("S:"), with its numeric code where the
    /// protocol has one (SMTP, FTP).
    Reply { code: Option<u16>, text: String },
    /// Content carried on the dialogue that is neither a command nor a
    /// reply: a message body line in SMTP DATA, a literal in IMAP, or a
    /// summary such as "(1432 bytes)".
    Data(String),
}

/// An edge of a state-machine diagram: `(from, to, label)`. The machines
/// of `proto` and TCP's in `net` each have a table of them (`TRANSITIONS`),
/// which the visualizer draws and `proto::contract` holds them to.
pub type Transition = (&'static str, &'static str, &'static str);

pub use vocab::EventKind;

/// Index of a host or router in a run.
pub type NodeId = u32;
/// Index of a link in a run.
pub type LinkId = u32;

/// The layer an event belongs to, as the `layer` field names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Layer {
    Link,
    Ip,
    Tcp,
    Udp,
    Dns,
    Smtp,
    Pop3,
    Imap,
    Ftp,
    Http,
    Scp,
    Telnet,
    App,
    Fault,
}

impl Layer {
    /// Every layer, in the order docs/architecture.md lists them.
    pub const ALL: [Layer; 14] = [
        Layer::Link,
        Layer::Ip,
        Layer::Tcp,
        Layer::Udp,
        Layer::Dns,
        Layer::Smtp,
        Layer::Pop3,
        Layer::Imap,
        Layer::Ftp,
        Layer::Http,
        Layer::Scp,
        Layer::Telnet,
        Layer::App,
        Layer::Fault,
    ];

    /// The name used in the `layer` field.
    pub fn name(self) -> &'static str {
        match self {
            Layer::Link => "link",
            Layer::Ip => "ip",
            Layer::Tcp => "tcp",
            Layer::Udp => "udp",
            Layer::Dns => "dns",
            Layer::Smtp => "smtp",
            Layer::Pop3 => "pop3",
            Layer::Imap => "imap",
            Layer::Ftp => "ftp",
            Layer::Http => "http",
            Layer::Scp => "scp",
            Layer::Telnet => "telnet",
            Layer::App => "app",
            Layer::Fault => "fault",
        }
    }

    /// The label of the text format: `TCP`, `SMTP`, ...
    pub fn label(self) -> &'static str {
        match self {
            Layer::Link => "LINK",
            Layer::Ip => "IP",
            Layer::Tcp => "TCP",
            Layer::Udp => "UDP",
            Layer::Dns => "DNS",
            Layer::Smtp => "SMTP",
            Layer::Pop3 => "POP3",
            Layer::Imap => "IMAP",
            Layer::Ftp => "FTP",
            Layer::Http => "HTTP",
            Layer::Scp => "SCP",
            Layer::Telnet => "TELNET",
            Layer::App => "APP",
            Layer::Fault => "FAULT",
        }
    }

    /// Parses a layer name as the `layer` field spells it.
    pub fn from_name(s: &str) -> Option<Layer> {
        Layer::ALL.into_iter().find(|l| l.name() == s)
    }
}

/// What a connection or UDP flow carries, as the application that
/// listened for it or opened it says: the engine records it when the
/// connection is made ([`Trace::protocol`]), so nothing downstream has to
/// guess from port numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Protocol {
    Smtp,
    Pop3,
    Imap,
    Dns,
    /// FTP's control connection (port 21), open for the whole session.
    FtpControl,
    /// One of FTP's data connections, one per transfer.
    FtpData,
    Http,
    Scp,
    /// TELNET (port 23): a remote login, every keystroke in the clear.
    Telnet,
    /// TCP carrying no application protocol of wiretale's (bulk transfers,
    /// the discard service), or a connection no application claimed.
    Tcp,
    /// A UDP flow of no known application.
    Udp,
}

impl Protocol {
    /// Every protocol, in legend order.
    pub const ALL: [Protocol; 11] = [
        Protocol::Smtp,
        Protocol::Pop3,
        Protocol::Imap,
        Protocol::Dns,
        Protocol::FtpControl,
        Protocol::FtpData,
        Protocol::Http,
        Protocol::Scp,
        Protocol::Telnet,
        Protocol::Tcp,
        Protocol::Udp,
    ];

    /// Its name for people: "SMTP", "FTP control", ...
    pub fn name(self) -> &'static str {
        match self {
            Protocol::Smtp => "SMTP",
            Protocol::Pop3 => "POP3",
            Protocol::Imap => "IMAP",
            Protocol::Dns => "DNS",
            Protocol::FtpControl => "FTP control",
            Protocol::FtpData => "FTP data",
            Protocol::Http => "HTTP",
            Protocol::Scp => "SCP",
            Protocol::Telnet => "TELNET",
            Protocol::Tcp => "TCP",
            Protocol::Udp => "UDP",
        }
    }

    /// The colour of its packets and arrows (sRGB), the same in the
    /// visualizer and in exported pictures: chosen to be told apart on a
    /// light background and by most colour-blind viewers (Okabe-Ito based).
    pub fn rgb(self) -> [u8; 3] {
        match self {
            Protocol::Smtp => [0, 114, 178],       // blue
            Protocol::Pop3 => [204, 121, 167],     // purple-pink
            Protocol::Imap => [120, 80, 190],      // violet
            Protocol::Dns => [230, 159, 0],        // orange
            Protocol::FtpControl => [0, 158, 115], // green
            Protocol::FtpData => [110, 190, 60],   // light green
            Protocol::Http => [213, 94, 0],        // vermilion
            Protocol::Scp => [60, 60, 60],         // near black
            Protocol::Telnet => [140, 86, 40],     // brown
            Protocol::Tcp => [86, 140, 200],       // sky blue
            Protocol::Udp => [170, 150, 60],       // olive
        }
    }

    /// [`Protocol::rgb`] as SVG writes it: `#0072b2`.
    pub fn hex(self) -> String {
        let [r, g, b] = self.rgb();
        format!("#{r:02x}{g:02x}{b:02x}")
    }

    /// The protocol whose dialogue lines a trace layer records.
    pub fn from_layer(l: Layer) -> Option<Protocol> {
        Some(match l {
            Layer::Smtp => Protocol::Smtp,
            Layer::Pop3 => Protocol::Pop3,
            Layer::Imap => Protocol::Imap,
            Layer::Dns => Protocol::Dns,
            Layer::Ftp => Protocol::FtpControl,
            Layer::Http => Protocol::Http,
            Layer::Scp => Protocol::Scp,
            Layer::Telnet => Protocol::Telnet,
            _ => return None,
        })
    }
}

/// Why a packet was dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DropReason {
    /// The link lost it (its loss probability).
    Loss,
    /// The link's transmit queue was full (drop-tail).
    QueueFull,
    /// The link was down when the packet was sent or while it travelled.
    LinkDown,
    /// The sender or a router had no route to the destination.
    NoRoute,
    /// The time to live reached zero.
    TtlExpired,
    /// The receiving host's firewall refused it.
    Firewall,
    /// A UDP datagram for a port nothing listens on.
    PortClosed,
    /// The host that should handle it is down (crashed).
    HostDown,
    /// Delivered to a host that does not own the destination address.
    NotForHost,
    /// Lost on purpose: a scenario's `DropPacket` fault, or a what-if.
    Injected,
}

impl DropReason {
    pub fn name(self) -> &'static str {
        match self {
            DropReason::Loss => "loss",
            DropReason::QueueFull => "queue_full",
            DropReason::LinkDown => "link_down",
            DropReason::NoRoute => "no_route",
            DropReason::TtlExpired => "ttl_expired",
            DropReason::Firewall => "firewall",
            DropReason::PortClosed => "port_closed",
            DropReason::HostDown => "host_down",
            DropReason::NotForHost => "not_for_host",
            DropReason::Injected => "injected",
        }
    }
}

/// Who takes part in an application dialogue: a simulated host, or (in
/// the live mode) a real program on a socket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Party {
    Node(NodeId),
    External(SocketAddrV4),
}

/// The direction of a dialogue line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dir {
    /// The client's command ("C:").
    Command,
    /// The server's reply ("S:").
    Reply,
    /// Content carried on the dialogue (message lines, summaries).
    Data,
}

/// A field value of an application event.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Str(String),
    Int(i64),
    Bool(bool),
    /// A host, printed by name.
    Node(NodeId),
}

impl From<&str> for Value {
    fn from(s: &str) -> Value {
        Value::Str(s.to_owned())
    }
}
impl From<String> for Value {
    fn from(s: String) -> Value {
        Value::Str(s)
    }
}
impl From<i64> for Value {
    fn from(n: i64) -> Value {
        Value::Int(n)
    }
}
impl From<u64> for Value {
    fn from(n: u64) -> Value {
        Value::Int(n as i64)
    }
}
impl From<u32> for Value {
    fn from(n: u32) -> Value {
        Value::Int(i64::from(n))
    }
}
impl From<u16> for Value {
    fn from(n: u16) -> Value {
        Value::Int(i64::from(n))
    }
}
impl From<usize> for Value {
    fn from(n: usize) -> Value {
        Value::Int(n as i64)
    }
}
impl From<bool> for Value {
    fn from(b: bool) -> Value {
        Value::Bool(b)
    }
}

/// A connection as the trace names it: `local-remote` from the point of
/// view of the host that reports it.
pub type ConnName = (SocketAddrV4, SocketAddrV4);

/// A hash map for lookups on hot paths (addresses, sequence-number bases):
/// a fast hash with a fixed seed, so even its order would be the same on
/// every run. Maps whose order shows (anything iterated into the trace or
/// the display) stay `BTreeMap`s.
pub type FastMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::FixedState>;

/// TCP sequence numbers relative to each direction's SYN, as Wireshark
/// shows them by default and as textbooks write them: the SYN is 0, the
/// first data byte 1.
#[derive(Debug, Clone, Default)]
pub struct RelativeSeq {
    isn: FastMap<(SocketAddrV4, SocketAddrV4), u32>,
}

impl RelativeSeq {
    /// The initial sequence numbers of every connection in these packets.
    pub fn new<'a>(packets: impl IntoIterator<Item = &'a Packet>) -> RelativeSeq {
        let mut r = RelativeSeq::default();
        for p in packets {
            r.note(p);
        }
        r
    }

    /// Learns a connection's initial sequence number from its SYN.
    pub fn note(&mut self, p: &Packet) {
        if let Payload::Tcp(s) = &p.payload
            && s.flags.syn()
        {
            self.isn
                .entry((p.src_addr(), p.dst_addr()))
                .or_insert(s.seq);
        }
    }

    /// A sequence number `seq` sent from `from` to `to`, from the SYN.
    pub fn of(&self, from: SocketAddrV4, to: SocketAddrV4, seq: u32) -> u32 {
        match self.isn.get(&(from, to)) {
            Some(&i) => seq.wrapping_sub(i),
            None => seq,
        }
    }

    /// A segment's sequence number from its sender's SYN (the raw number
    /// if the SYN is not in the trace; 0 for UDP).
    pub fn seq(&self, p: &Packet) -> u32 {
        let Payload::Tcp(s) = &p.payload else {
            return 0;
        };
        self.of(p.src_addr(), p.dst_addr(), s.seq)
    }

    /// A segment's acknowledgment number from its receiver's SYN.
    pub fn ack(&self, p: &Packet) -> u32 {
        let Payload::Tcp(s) = &p.payload else {
            return 0;
        };
        self.of(p.dst_addr(), p.src_addr(), s.ack)
    }
}

/// The text field `key` of an application event's fields.
pub fn str_field<'a>(fields: &'a [(&'static str, Value)], key: &str) -> Option<&'a str> {
    fields.iter().find_map(|(k, v)| match v {
        Value::Str(s) if *k == key => Some(s.as_str()),
        _ => None,
    })
}

/// The number field `key` of an application event's fields.
pub fn int_field(fields: &[(&'static str, Value)], key: &str) -> Option<i64> {
    fields.iter().find_map(|(k, v)| match v {
        Value::Int(n) if *k == key => Some(*n),
        _ => None,
    })
}

/// A connection's name as the trace writes it: `a:p-b:q`.
pub fn conn_text((a, b): ConnName) -> String {
    format!("{a}-{b}")
}

/// Whether the connection of `a` and `b` is named by `filter`: its name
/// in either order contains the text (`:25`, `49153`); no filter matches
/// every connection.
pub fn conn_matches(filter: Option<&str>, a: SocketAddrV4, b: SocketAddrV4) -> bool {
    filter.is_none_or(|f| conn_text((a, b)).contains(f) || conn_text((b, a)).contains(f))
}

/// A connection's name as the trace writes it, `a:p-b:q`, read back.
pub fn parse_conn_name(s: &str) -> Option<ConnName> {
    let (a, b) = s.split_once('-')?;
    Some((a.parse().ok()?, b.parse().ok()?))
}

/// Two sockets in a fixed order (the smaller first): one key for both
/// directions of a connection.
pub fn socket_pair(a: SocketAddrV4, b: SocketAddrV4) -> ConnName {
    if a <= b { (a, b) } else { (b, a) }
}

/// Everything that can happen in a run.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// A packet was put on a link: it leaves `from` at `depart` (after
    /// waiting in the queue and being serialized) and reaches `to` at
    /// `arrive`, unless it is dropped on the way.
    Transmit {
        link: LinkId,
        from: NodeId,
        to: NodeId,
        packet: PacketId,
        depart: SimTime,
        arrive: SimTime,
    },
    /// A link went up or down.
    LinkState { link: LinkId, up: bool },
    /// A packet was dropped at `node` (on `link`, if it was travelling).
    Dropped {
        node: NodeId,
        link: Option<LinkId>,
        packet: PacketId,
        reason: DropReason,
    },
    /// A router forwarded a packet.
    Forwarded { node: NodeId, packet: PacketId },
    /// A host sent a TCP segment.
    SegmentSent { host: NodeId, packet: PacketId },
    /// A TCP segment reached a host.
    SegmentReceived { host: NodeId, packet: PacketId },
    /// A host sent a UDP datagram.
    DatagramSent { host: NodeId, packet: PacketId },
    /// A UDP datagram reached a host.
    DatagramReceived { host: NodeId, packet: PacketId },
    /// A TCP connection changed state.
    TcpState {
        host: NodeId,
        conn: ConnName,
        from: TcpState,
        to: TcpState,
    },
    /// The retransmission timer expired (RFC 6298 §5.4-5.6).
    RetransmitTimeout {
        host: NodeId,
        conn: ConnName,
        rto: SimDuration,
        backoff: u32,
    },
    /// Three duplicate ACKs started a fast retransmit (RFC 5681 §3.2).
    FastRetransmit {
        host: NodeId,
        conn: ConnName,
        seq: u32,
    },
    /// The congestion window or slow-start threshold changed.
    Cwnd {
        host: NodeId,
        conn: ConnName,
        cwnd: u32,
        ssthresh: u32,
    },
    /// A round-trip time sample updated the retransmission timeout.
    Rtt {
        host: NodeId,
        conn: ConnName,
        sample: SimDuration,
        srtt: SimDuration,
        rto: SimDuration,
    },
    /// A connection failed (refused, reset, timed out).
    ConnFailed {
        host: NodeId,
        conn: ConnName,
        error: TcpError,
    },
    /// One line of an application dialogue (SMTP, POP3, IMAP, FTP, HTTP,
    /// SCP, TELNET, DNS), as the server saw it.
    Dialogue {
        layer: Layer,
        client: Party,
        server: Party,
        dir: Dir,
        code: Option<u16>,
        /// The line (boxed, as is the connection, to keep every record
        /// small: dialogue lines are few, packets many).
        line: Box<str>,
        /// The connection, as `client-server`.
        conn: Option<Box<ConnName>>,
    },
    /// Something an application did: a message queued, a mailbox
    /// delivery, a file stored, a finding of an eavesdropper.
    App {
        layer: Layer,
        host: NodeId,
        event: &'static str,
        fields: Vec<(&'static str, Value)>,
    },
    /// A plain-language caption of what happens now, from the scenario.
    Narration { text: String },
    /// A scripted fault took effect.
    Fault {
        event: &'static str,
        fields: Vec<(&'static str, Value)>,
    },
}

impl Event {
    /// The layer the event belongs to. Drops belong to the transport layer
    /// of the packet they concern, so it needs the packet table.
    /// `packets` holds the packets from id `base` on.
    pub fn layer(&self, packets: &[Packet], base: PacketId) -> Layer {
        match self {
            Event::Transmit { .. } | Event::LinkState { .. } => Layer::Link,
            Event::Forwarded { .. } => Layer::Ip,
            Event::Dropped { packet, .. } => match at(packets, base, *packet) {
                Some(p) => match p.payload {
                    Payload::Tcp(_) => Layer::Tcp,
                    Payload::Udp(_) => Layer::Udp,
                },
                None => Layer::Ip,
            },
            Event::SegmentSent { .. }
            | Event::SegmentReceived { .. }
            | Event::TcpState { .. }
            | Event::RetransmitTimeout { .. }
            | Event::FastRetransmit { .. }
            | Event::Cwnd { .. }
            | Event::Rtt { .. }
            | Event::ConnFailed { .. } => Layer::Tcp,
            Event::DatagramSent { .. } | Event::DatagramReceived { .. } => Layer::Udp,
            Event::Dialogue { layer, .. } | Event::App { layer, .. } => *layer,
            Event::Narration { .. } => Layer::App,
            Event::Fault { .. } => Layer::Fault,
        }
    }

    /// The snake_case name in the `event` field.
    /// `packets` holds the packets from id `base` on.
    pub fn name(&self, packets: &[Packet], base: PacketId) -> &'static str {
        match self {
            Event::Transmit { .. } => "transmit",
            Event::LinkState { .. } => "link_state",
            Event::Dropped { packet, .. } => match at(packets, base, *packet).map(|p| &p.payload) {
                Some(Payload::Tcp(_)) => "segment_dropped",
                Some(Payload::Udp(_)) => "datagram_dropped",
                None => "packet_dropped",
            },
            Event::Forwarded { .. } => "forwarded",
            Event::SegmentSent { .. } => "segment_sent",
            Event::SegmentReceived { .. } => "segment_received",
            Event::DatagramSent { .. } => "datagram_sent",
            Event::DatagramReceived { .. } => "datagram_received",
            Event::TcpState { .. } => "state",
            Event::RetransmitTimeout { .. } => "retransmit_timeout",
            Event::FastRetransmit { .. } => "fast_retransmit",
            Event::Cwnd { .. } => "cwnd",
            Event::Rtt { .. } => "rtt",
            Event::ConnFailed { .. } => "connection_failed",
            Event::Dialogue { dir, .. } => match dir {
                Dir::Command => "command",
                Dir::Reply => "reply",
                Dir::Data => "data",
            },
            Event::App { event, .. } | Event::Fault { event, .. } => event,
            Event::Narration { .. } => "narration",
        }
    }

    /// The packet the event concerns, if any.
    pub fn packet(&self) -> Option<PacketId> {
        match self {
            Event::Transmit { packet, .. }
            | Event::Dropped { packet, .. }
            | Event::Forwarded { packet, .. }
            | Event::SegmentSent { packet, .. }
            | Event::SegmentReceived { packet, .. }
            | Event::DatagramSent { packet, .. }
            | Event::DatagramReceived { packet, .. } => Some(*packet),
            _ => None,
        }
    }
}

/// One event at one time.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    pub time: SimTime,
    pub event: Event,
}

/// What the trace knows of a link, to name it.
#[derive(Debug, Clone, PartialEq)]
pub struct LinkName {
    pub name: String,
    pub ends: [NodeId; 2],
}

/// Packet `id` of `packets`, which starts at id `base`.
fn at(packets: &[Packet], base: PacketId, id: PacketId) -> Option<&Packet> {
    packets.get(usize::try_from(id.checked_sub(base)?).ok()?)
}

/// The recorded events of a run, with what is needed to print them.
#[derive(Debug, Clone, Default)]
pub struct Trace {
    /// Host and router names, by [`NodeId`].
    pub nodes: Vec<String>,
    /// Links, by [`LinkId`].
    pub links: Vec<LinkName>,
    /// Which node owns each address (looked up for every packet routed
    /// and every line printed; never iterated).
    pub addresses: FastMap<Ipv4Addr, NodeId>,
    /// Every packet created in the run, by [`PacketId`] (from
    /// `packets_base` on: a streamed trace lets go of the packets that
    /// have arrived or been dropped).
    pub packets: Vec<Packet>,
    /// The id of `packets[0]`: 0 unless the trace is streamed.
    pub packets_base: PacketId,
    /// While streamed: how many pending arrivals each packet of `packets`
    /// still has; a packet with none left, and all before it, can go.
    pub in_flight: Vec<u8>,
    /// True once [`set_streamed`](Self::set_streamed) is called.
    pub streamed: bool,
    /// The events, in the order they happened.
    pub records: Vec<Record>,
    /// What each connection or flow carries, keyed by its two sockets
    /// (smaller first), with when the engine learnt it: a pair of sockets
    /// used again later may carry something else.
    pub protocols: BTreeMap<ConnName, Vec<(SimTime, Protocol)>>,
    /// When false, [`push`](Self::push) records nothing (benchmarks of the
    /// engine alone); packets are still kept.
    pub enabled: bool,
    /// Each connection's initial sequence numbers, for relative numbers.
    pub seqs: RelativeSeq,
}

impl Trace {
    pub fn new() -> Trace {
        Trace {
            enabled: true,
            ..Trace::default()
        }
    }

    /// Records an event.
    #[inline]
    pub fn push(&mut self, time: SimTime, event: Event) {
        if self.enabled {
            self.records.push(Record { time, event });
        }
    }

    /// Keeps a packet and returns its id.
    pub fn add_packet(&mut self, mut packet: Packet) -> PacketId {
        let id = self.packets_base + self.packets.len() as PacketId;
        packet.id = id;
        self.seqs.note(&packet);
        self.packets.push(packet);
        if self.streamed {
            self.in_flight.push(0);
        }
        id
    }

    /// From now on the records leave as they are handed on (see
    /// `World::stream_trace`), and packets are let go of once settled.
    pub fn set_streamed(&mut self) {
        self.streamed = true;
        self.in_flight = vec![0; self.packets.len()];
    }

    /// A packet has one more arrival pending (streamed traces only).
    #[inline]
    pub fn hold(&mut self, id: PacketId) {
        if let Some(n) = self.pending_arrivals(id) {
            *n = n.saturating_add(1);
        }
    }

    /// A packet's pending arrival has happened (streamed traces only).
    #[inline]
    pub fn release(&mut self, id: PacketId) {
        if let Some(n) = self.pending_arrivals(id) {
            *n = n.saturating_sub(1);
        }
    }

    /// The count of a kept packet's pending arrivals, if the trace is
    /// streamed.
    fn pending_arrivals(&mut self, id: PacketId) -> Option<&mut u8> {
        if !self.streamed {
            return None;
        }
        let i = usize::try_from(id.checked_sub(self.packets_base)?).ok()?;
        self.in_flight.get_mut(i)
    }

    /// Lets go of the oldest packets that nothing waits for any more
    /// (streamed traces only): memory then follows the packets in flight,
    /// not the bytes sent.
    pub fn settle(&mut self) {
        if !self.streamed {
            return;
        }
        let done = self.in_flight.iter().take_while(|&&n| n == 0).count();
        if done > 0 && (done == self.packets.len() || done >= 256) {
            self.packets.drain(..done);
            self.in_flight.drain(..done);
            self.packets_base += done as PacketId;
        }
    }

    /// Records that the connection or flow between `a` and `b` carries
    /// `protocol` from `time` on.
    pub fn set_protocol(
        &mut self,
        time: SimTime,
        a: SocketAddrV4,
        b: SocketAddrV4,
        protocol: Protocol,
    ) {
        let entries = self.protocols.entry(socket_pair(a, b)).or_default();
        if entries.last().map(|&(_, p)| p) != Some(protocol) {
            entries.push((time, protocol));
        }
    }

    /// What the connection or flow between `a` and `b` carried at `time`
    /// (either way round), if an application said so.
    pub fn protocol(&self, a: SocketAddrV4, b: SocketAddrV4, time: SimTime) -> Option<Protocol> {
        let entries = self.protocols.get(&socket_pair(a, b))?;
        let i = entries.partition_point(|&(t, _)| t <= time);
        entries.get(i.saturating_sub(1)).map(|&(_, p)| p)
    }

    /// What a packet carries: the protocol of its connection or flow when
    /// it was sent, else plain TCP or UDP.
    pub fn packet_protocol(&self, p: &Packet, time: SimTime) -> Protocol {
        self.protocol(p.src_addr(), p.dst_addr(), time)
            .unwrap_or(match p.payload {
                Payload::Tcp(_) => Protocol::Tcp,
                Payload::Udp(_) => Protocol::Udp,
            })
    }

    /// The packet with this id.
    pub fn packet(&self, id: PacketId) -> Option<&Packet> {
        at(&self.packets, self.packets_base, id)
    }

    /// A node's name, or `?` for an unknown id.
    pub fn node_name(&self, id: NodeId) -> &str {
        self.nodes.get(id as usize).map_or("?", String::as_str)
    }

    /// The name of the node that owns `addr`, or the address itself.
    pub fn addr_name(&self, addr: Ipv4Addr) -> String {
        match self.addresses.get(&addr) {
            Some(&n) => self.node_name(n).to_owned(),
            None => addr.to_string(),
        }
    }

    /// A party's name: the host's name or the socket address.
    pub fn party_name(&self, p: &Party) -> String {
        match p {
            Party::Node(n) => self.node_name(*n).to_owned(),
            Party::External(a) => a.to_string(),
        }
    }

    /// The event's layer.
    pub fn layer(&self, r: &Record) -> Layer {
        r.event.layer(&self.packets, self.packets_base)
    }

    /// The event's snake_case name.
    pub fn event_name(&self, r: &Record) -> &'static str {
        r.event.name(&self.packets, self.packets_base)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trace::packet::{TcpFlags, TcpSegment};
    use bytes::Bytes;

    /// A trace of one TCP segment from alice-mail (10.0.1.2:49152) to
    /// bob-mail (10.0.2.2:25), sent at `at`: the fixture of the trace's
    /// and the captions' tests.
    pub(crate) fn one_segment(
        flags: TcpFlags,
        mss: Option<u16>,
        payload: &'static [u8],
        at: SimTime,
    ) -> Trace {
        let mut t = Trace::new();
        t.nodes = vec!["alice-mail".into(), "bob-mail".into()];
        t.addresses.insert(Ipv4Addr::new(10, 0, 1, 2), 0);
        t.addresses.insert(Ipv4Addr::new(10, 0, 2, 2), 1);
        let id = t.add_packet(Packet {
            id: 0,
            src: Ipv4Addr::new(10, 0, 1, 2),
            dst: Ipv4Addr::new(10, 0, 2, 2),
            ttl: 64,
            payload: Payload::Tcp(TcpSegment {
                src_port: 49152,
                dst_port: 25,
                seq: 1000,
                ack: 0,
                flags,
                window: 65535,
                mss,
                payload: Bytes::from_static(payload),
            }),
        });
        t.push(
            at,
            Event::SegmentSent {
                host: 0,
                packet: id,
            },
        );
        // What alice-mail's SMTP client said when it connected.
        t.set_protocol(
            at,
            SocketAddrV4::new(Ipv4Addr::new(10, 0, 1, 2), 49152),
            SocketAddrV4::new(Ipv4Addr::new(10, 0, 2, 2), 25),
            Protocol::Smtp,
        );
        t
    }

    fn sample_trace() -> Trace {
        let mut t = one_segment(TcpFlags::SYN, Some(1460), b"", SimTime::from_micros(1200));
        t.push(
            SimTime::from_micros(2100),
            Event::Dialogue {
                layer: Layer::Smtp,
                client: Party::Node(0),
                server: Party::Node(1),
                dir: Dir::Command,
                code: None,
                line: "MAIL FROM:<alice@crepes.fr>".into(),
                conn: None,
            },
        );
        t
    }

    #[test]
    fn json_lines_follow_the_design_contract() {
        let t = sample_trace();
        assert_eq!(
            t.to_json(&t.records[0]),
            r#"{"time_us":1200,"layer":"tcp","event":"segment_sent","host":"alice-mail","src":"10.0.1.2:49152","dst":"10.0.2.2:25","flags":"SYN","seq":1000,"ack":0,"len":0,"win":65535,"mss":1460,"packet":0}"#
        );
        assert_eq!(
            t.to_json(&t.records[1]),
            r#"{"time_us":2100,"layer":"smtp","event":"command","client":"alice-mail","server":"bob-mail","line":"MAIL FROM:<alice@crepes.fr>"}"#
        );
    }

    #[test]
    fn text_reads_like_a_ladder() {
        let t = sample_trace();
        assert_eq!(
            t.to_text(&t.records[1]),
            "    2.100 ms  alice-mail -> bob-mail  SMTP  C: MAIL FROM:<alice@crepes.fr>"
        );
        // Sequence numbers relative to the SYN, as Wireshark shows them;
        // the JSON line keeps the raw 1000.
        assert!(
            t.to_text(&t.records[0])
                .contains("alice-mail -> bob-mail  TCP  49152 > 25 [SYN] seq=0 ack=0")
        );
    }
}

#[cfg(test)]
mod size {
    /// Every record of a kept trace (and of the visualizer's timeline) is
    /// this big: dialogue lines box their text and connection so that the
    /// many packet events do not pay for them.
    #[test]
    fn a_record_is_at_most_56_bytes() {
        assert!(std::mem::size_of::<super::Event>() <= 48);
        assert!(std::mem::size_of::<super::Record>() <= 56);
    }
}
