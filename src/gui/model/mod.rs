//! The visualizer's model, with no Bevy in it: a scenario's whole run
//! ([`Timeline`]), what the view shows at a simulated time (packets in
//! flight and where, recent drops), and a [`Player`] that keeps a live
//! [`World`](crate::net::World) at the current event for the inspectors.
//!
//! The engine is deterministic, so the model never copies worlds: it runs
//! the scenario once to the end to get the whole trace (for the event
//! list, the ladder and the time line), and moves a second world forward
//! step by step as the view advances. Stepping back rebuilds that world
//! from the scenario and seed and steps it until its trace reaches the
//! wanted event, which restores exactly the state it had there.
//!
//! Nothing here draws; the Bevy plugins and egui panels read this model.

use crate::net::packet::{PacketId, Payload};
use crate::scenario::spec::Role;
use crate::scenario::{self, Loaded, Scenario};
use crate::sim::{SimDuration, SimTime};
use crate::trace::caption::Captioner;
use crate::trace::story::Story;
use crate::trace::{Event, LinkId, NodeId, Trace, socket_pair as conn_key};
use std::collections::{BTreeMap, VecDeque};
use std::net::{Ipv4Addr, SocketAddrV4};

/// The most records a full run keeps; a scenario that makes more is cut
/// there (the view says so) so that a runaway file cannot hang the window.
pub const MAX_RECORDS: usize = 2_000_000;

/// What a packet carries, for its colour: the protocol the engine
/// recorded for its connection.
pub use crate::trace::Protocol as Proto;

/// What a host is, for its icon.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HostKind {
    Pc,
    MailServer,
    FileServer,
    DnsServer,
    WebServer,
    Server,
    Router,
    Eavesdropper,
}

impl HostKind {
    /// What the scenario says a host is.
    pub fn of_role(role: &Role) -> HostKind {
        match role {
            Role::Client => HostKind::Pc,
            Role::Router => HostKind::Router,
            Role::Server => HostKind::Server,
            Role::MailServer { .. } => HostKind::MailServer,
            Role::DnsServer { .. } => HostKind::DnsServer,
            Role::FileServer { .. } => HostKind::FileServer,
            Role::WebServer { .. } => HostKind::WebServer,
            Role::Eavesdropper { .. } => HostKind::Eavesdropper,
        }
    }

    /// A word for the host inspector.
    pub fn name(self) -> &'static str {
        match self {
            HostKind::Pc => "computer",
            HostKind::MailServer => "mail server",
            HostKind::FileServer => "file server",
            HostKind::DnsServer => "DNS server",
            HostKind::WebServer => "web server",
            HostKind::Server => "server",
            HostKind::Router => "router",
            HostKind::Eavesdropper => "eavesdropper",
        }
    }
}

/// A host or router as the view draws it.
#[derive(Debug, Clone)]
pub struct HostView {
    pub node: NodeId,
    pub name: String,
    pub label: Option<String>,
    pub kind: HostKind,
    /// Every interface address.
    pub addresses: Vec<Ipv4Addr>,
    /// Where to draw it, in the scenario's 0..100 square (y down).
    pub pos: (f32, f32),
    /// An inbound firewall protects it.
    pub firewall: bool,
    /// An eavesdropper: the link it taps.
    pub taps: Option<LinkId>,
}

/// A link as the view draws it.
#[derive(Debug, Clone)]
pub struct LinkView {
    pub id: LinkId,
    pub ends: [NodeId; 2],
    pub latency: SimDuration,
    pub bandwidth_bps: u64,
    pub loss: f64,
}

/// One connection (TCP) or flow (UDP), for colours, lanes and transcripts.
#[derive(Debug, Clone)]
pub struct ConnView {
    /// The two sockets, in a fixed order (smaller first).
    pub key: (SocketAddrV4, SocketAddrV4),
    pub proto: Proto,
    /// The client's socket, when known (the side that sent the SYN).
    pub client: Option<SocketAddrV4>,
}

/// A packet crossing one link.
#[derive(Debug, Clone)]
pub struct Flight {
    /// The `transmit` record.
    pub record: usize,
    pub packet: PacketId,
    pub link: LinkId,
    pub from: NodeId,
    pub to: NodeId,
    /// When it was handed to the link (it waits in the queue until
    /// `depart`).
    pub queued: SimTime,
    pub depart: SimTime,
    pub arrive: SimTime,
    /// Lost on the way: it vanishes at this time, this far along.
    pub lost: Option<(SimTime, f32)>,
    pub proto: Proto,
    /// Index into [`Timeline::conns`].
    pub conn: usize,
}

impl Flight {
    /// When it stops being drawn.
    pub fn end(&self) -> SimTime {
        self.lost.map_or(self.arrive, |(t, _)| t)
    }

    /// How far along the link it is at `t`, 0 (sender) to 1 (receiver),
    /// interpolated between departure and arrival.
    pub fn fraction(&self, t: SimTime) -> f32 {
        if t <= self.depart || self.arrive <= self.depart {
            return 0.0;
        }
        let span = (self.arrive - self.depart).as_nanos() as f64;
        let done = (t - self.depart).as_nanos() as f64;
        (done / span).clamp(0.0, 1.0) as f32
    }
}

/// Where a packet was dropped.
#[derive(Debug, Clone)]
pub struct DropMark {
    pub record: usize,
    pub time: SimTime,
    pub packet: PacketId,
    /// On a link: the link and how far along from `ends[0]`; else at a node.
    pub place: DropPlace,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum DropPlace {
    Node(NodeId),
    Link {
        link: LinkId,
        from: NodeId,
        to: NodeId,
        fraction: f32,
    },
}

/// How far along a link a lost packet gets before it vanishes: the loss
/// happens "on the wire", so it is drawn there rather than at either end.
pub const LOSS_FRACTION: f32 = 0.6;

/// A scenario's whole run, and indexes over it for the view.
pub struct Timeline {
    /// The file name, or `bundled:NAME`.
    pub file: String,
    pub scenario: Scenario,
    pub seed: u64,
    pub trace: Trace,
    /// The time of the last record.
    pub end: SimTime,
    /// True when the run was cut at [`MAX_RECORDS`].
    pub truncated: bool,
    /// `(world steps, records after them)`, each time the count changed.
    steps: Vec<(usize, usize)>,
    pub hosts: Vec<HostView>,
    pub links: Vec<LinkView>,
    pub conns: Vec<ConnView>,
    conn_index: BTreeMap<(SocketAddrV4, SocketAddrV4), usize>,
    /// Every link crossing, in the order of their records.
    pub flights: Vec<Flight>,
    /// The longest time a flight is drawn (queued to end).
    max_span: SimDuration,
    pub drops: Vec<DropMark>,
    /// The median time a packet spends on a link: the time scale of the
    /// animation.
    pub typical_flight: SimDuration,
    /// `Narration` records, in order.
    pub narrations: Vec<usize>,
    /// The time line's axis: `(record time, position)` with long idle
    /// stretches shortened, so that a 60-second TIME-WAIT does not squash
    /// the interesting first 100 ms into a sliver of the slider.
    axis: Vec<(SimTime, f64)>,
    /// `(record, link, up)` for every link-state change, in order.
    link_changes: Vec<(usize, LinkId, bool)>,
    /// `(record, host, down)` for every crash and restart, in order.
    host_changes: Vec<(usize, NodeId, bool)>,
    /// The messages and files of the run, for the textbook view.
    pub story: Story,
}

/// Why a scenario cannot be shown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadError(pub String);

impl std::fmt::Display for LoadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// True if `needle` occurs in `hay`.
fn contains(hay: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && hay.windows(needle.len()).any(|w| w == needle)
}

/// Loads a scenario file or bundled name into a timeline.
pub fn load(name: &str, seed: Option<u64>) -> Result<Timeline, LoadError> {
    let loaded = scenario::load(name).map_err(|e| LoadError(e.to_string()))?;
    Timeline::new(loaded, seed)
}

impl Timeline {
    /// The run of this timeline's scenario with `changes` made: a what-if
    /// fork, with the same seed unless a change picks another.
    pub fn fork(&self, changes: &[crate::exercise::WhatIf]) -> Result<Timeline, LoadError> {
        let scenario = crate::exercise::fork(&self.scenario, changes).map_err(LoadError)?;
        let reseeded = changes
            .iter()
            .any(|c| matches!(c, crate::exercise::WhatIf::Seed(_)));
        Timeline::new(
            Loaded {
                file: self.file.clone(),
                text: String::new(),
                scenario,
            },
            (!reseeded).then_some(self.seed),
        )
    }

    /// Runs a loaded scenario to its end and indexes the run.
    pub fn new(loaded: Loaded, seed: Option<u64>) -> Result<Timeline, LoadError> {
        let Loaded { file, scenario, .. } = loaded;
        let seed = seed.unwrap_or(scenario.seed);
        let mut run = scenario::build(&scenario, seed)
            .map_err(|e| LoadError(format!("{file}: cannot build the network: {e:?}")))?;
        let mut steps = Vec::new();
        let mut count = 0usize;
        let mut n = 0usize;
        let mut truncated = false;
        while run
            .world
            .next_event_time()
            .is_some_and(|t| t <= run.horizon)
        {
            run.world.step();
            n += 1;
            let len = run.world.trace().records.len();
            if len != count {
                count = len;
                steps.push((n, len));
            }
            if len >= MAX_RECORDS {
                truncated = true;
                break;
            }
        }
        let hosts = super::placement::host_views(&scenario, &run.world);
        let links = run
            .world
            .links()
            .iter()
            .map(|l| LinkView {
                id: l.id,
                ends: l.ends,
                latency: l.config.latency,
                bandwidth_bps: l.config.bandwidth_bps,
                loss: l.config.loss,
            })
            .collect();
        let trace = run.world.take_trace();
        let end = trace.records.last().map_or(SimTime::ZERO, |r| r.time);
        let story = Story::new(&trace);
        let mut t = Timeline {
            file,
            scenario,
            seed,
            trace,
            end,
            truncated,
            steps,
            hosts,
            links,
            conns: Vec::new(),
            conn_index: BTreeMap::new(),
            flights: Vec::new(),
            max_span: SimDuration::ZERO,
            drops: Vec::new(),
            typical_flight: SimDuration::from_millis(1),
            narrations: Vec::new(),
            axis: Vec::new(),
            link_changes: Vec::new(),
            host_changes: Vec::new(),
            story,
        };
        t.index();
        Ok(t)
    }

    /// Builds the connection, flight and drop indexes.
    fn index(&mut self) {
        // Connections named by the applications' dialogues, with the
        // protocol the engine recorded (an FTP data connection's content
        // is an FTP line); the rest are met packet by packet below.
        for r in &self.trace.records {
            if let Event::Dialogue {
                layer,
                conn: Some(cs),
                ..
            } = &r.event
                && let Some(p) = self
                    .trace
                    .protocol(cs.0, cs.1, r.time)
                    .or_else(|| Proto::from_layer(*layer))
            {
                let key = conn_key(cs.0, cs.1);
                if !self.conn_index.contains_key(&key) {
                    self.conn_index.insert(key, self.conns.len());
                    self.conns.push(ConnView {
                        key,
                        proto: p,
                        client: Some(cs.0),
                    });
                }
            }
        }
        let mut open: BTreeMap<(PacketId, LinkId), VecDeque<usize>> = BTreeMap::new();
        // `classify` needs `&mut self`: walk the records out of the trace.
        let records = std::mem::take(&mut self.trace.records);
        for (i, r) in records.iter().enumerate() {
            match &r.event {
                Event::Transmit {
                    link,
                    from,
                    to,
                    packet,
                    depart,
                    arrive,
                } => {
                    let (proto, conn) = self.classify(*packet, r.time);
                    open.entry((*packet, *link))
                        .or_default()
                        .push_back(self.flights.len());
                    self.flights.push(Flight {
                        record: i,
                        packet: *packet,
                        link: *link,
                        from: *from,
                        to: *to,
                        queued: r.time,
                        depart: *depart,
                        arrive: *arrive,
                        lost: None,
                        proto,
                        conn,
                    });
                }
                Event::Dropped {
                    node, link, packet, ..
                } => {
                    // Lost on the wire: the flight that would have arrived
                    // now ends part way along. A drop on a link with no
                    // such flight (a full queue) shows at the node.
                    let flight = link.and_then(|l| {
                        let q = open.get_mut(&(*packet, l))?;
                        let pos = q.iter().position(|&f| self.flights[f].arrive <= r.time)?;
                        q.remove(pos)
                    });
                    let (place, time) = match flight {
                        Some(f) => {
                            let fl = &mut self.flights[f];
                            let span = (fl.arrive - fl.depart).as_nanos() as f64;
                            let at = fl.depart
                                + SimDuration::from_nanos((span * f64::from(LOSS_FRACTION)) as u64);
                            let at = at.max(fl.queued);
                            fl.lost = Some((at, LOSS_FRACTION));
                            let place = DropPlace::Link {
                                link: fl.link,
                                from: fl.from,
                                to: fl.to,
                                fraction: LOSS_FRACTION,
                            };
                            (place, at)
                        }
                        None => (DropPlace::Node(*node), r.time),
                    };
                    self.drops.push(DropMark {
                        record: i,
                        time,
                        packet: *packet,
                        place,
                    });
                }
                Event::Narration { .. } => self.narrations.push(i),
                Event::LinkState { link, up } => self.link_changes.push((i, *link, *up)),
                Event::Fault { event, fields } if matches!(*event, "host_down" | "host_up") => {
                    for (k, v) in fields {
                        if let (&"host", crate::trace::Value::Node(n)) = (k, v) {
                            self.host_changes.push((i, *n, *event == "host_down"));
                        }
                    }
                }
                _ => {}
            }
        }
        self.trace.records = records;
        // Drop marks sorted by when they show.
        self.drops.sort_by_key(|d| (d.time, d.record));
        self.max_span = self
            .flights
            .iter()
            .map(|f| f.end() - f.queued)
            .max()
            .unwrap_or(SimDuration::ZERO);
        let mut spans: Vec<u64> = self
            .flights
            .iter()
            .map(|f| (f.arrive - f.depart).as_nanos())
            .filter(|&n| n > 0)
            .collect();
        spans.sort_unstable();
        if let Some(&m) = spans.get(spans.len() / 2) {
            self.typical_flight = SimDuration::from_nanos(m);
        }
        self.build_axis();
    }

    /// Idle gaps longer than this are shortened to it on the time line.
    fn axis_gap(&self) -> f64 {
        (self.typical_flight.as_nanos() as f64 * 4.0).max(1e6)
    }

    fn build_axis(&mut self) {
        let gap = self.axis_gap();
        let mut axis = vec![(SimTime::ZERO, 0.0)];
        for r in &self.trace.records {
            let (t, x) = axis[axis.len() - 1];
            if r.time > t {
                let dt = (r.time - t).as_nanos() as f64;
                axis.push((r.time, x + dt.min(gap)));
            }
        }
        self.axis = axis;
    }

    /// The time line's length in axis units.
    pub fn axis_len(&self) -> f64 {
        self.axis.last().map_or(0.0, |&(_, x)| x)
    }

    /// Where time `t` is on the time line.
    pub fn to_axis(&self, t: SimTime) -> f64 {
        let i = self.axis.partition_point(|&(at, _)| at <= t);
        let Some(&(t0, x0)) = self.axis.get(i.wrapping_sub(1)) else {
            return 0.0;
        };
        match self.axis.get(i) {
            Some(&(t1, x1)) => {
                let f = (t - t0).as_nanos() as f64 / (t1 - t0).as_nanos().max(1) as f64;
                x0 + f * (x1 - x0)
            }
            None => x0 + ((t - t0).as_nanos() as f64).min(self.axis_gap()),
        }
    }

    /// The time at position `x` of the time line.
    pub fn from_axis(&self, x: f64) -> SimTime {
        let i = self.axis.partition_point(|&(_, ax)| ax <= x);
        let Some(&(t0, x0)) = self.axis.get(i.wrapping_sub(1)) else {
            return SimTime::ZERO;
        };
        match self.axis.get(i) {
            Some(&(t1, x1)) => {
                let f = (x - x0) / (x1 - x0).max(1e-9);
                t0 + SimDuration::from_nanos((f * (t1 - t0).as_nanos() as f64) as u64)
            }
            None => t0,
        }
    }

    /// The protocol and connection of a packet, creating the connection
    /// entry on first sight. The protocol is the one the engine recorded
    /// for the connection when the packet was sent (`time`).
    fn classify(&mut self, packet: PacketId, time: SimTime) -> (Proto, usize) {
        let Some(p) = self.trace.packet(packet) else {
            return (Proto::Tcp, 0);
        };
        let (src, dst) = (p.src_addr(), p.dst_addr());
        let key = conn_key(src, dst);
        if let Some(&i) = self.conn_index.get(&key) {
            return (self.conns[i].proto, i);
        }
        let syn_only = match &p.payload {
            Payload::Tcp(s) => s.flags.syn() && !s.flags.ack(),
            Payload::Udp(_) => false,
        };
        let proto = self.trace.packet_protocol(p, time);
        let i = self.conns.len();
        self.conn_index.insert(key, i);
        self.conns.push(ConnView {
            key,
            proto,
            client: syn_only.then_some(src),
        });
        (proto, i)
    }

    /// The flight that carried the event of record `i`, on the hop where
    /// it happened: the packet itself for a packet event; for a dialogue
    /// line, the segment that brought a command into the server or took a
    /// reply out of it.
    pub fn carrier_flight(&self, i: usize) -> Option<usize> {
        let r = self.trace.records.get(i)?;
        if let Some(id) = r.event.packet() {
            return self.flights.iter().position(|f| f.packet == id);
        }
        let Event::Dialogue {
            server: crate::trace::Party::Node(server),
            dir,
            line,
            conn: Some(cs),
            ..
        } = &r.event
        else {
            return None;
        };
        let (c, s) = &**cs;
        let key = conn_key(*c, *s);
        let carries = |packet: PacketId| {
            self.trace.packet(packet).is_some_and(|p| {
                conn_key(p.src_addr(), p.dst_addr()) == key
                    && match &p.payload {
                        Payload::Tcp(seg) => contains(&seg.payload, line.as_bytes()),
                        Payload::Udp(_) => false,
                    }
            })
        };
        // A command arrived just before the server recorded it; a reply
        // leaves just after (both within a bounded look-around).
        const LOOK: usize = 5_000;
        let packet = match dir {
            crate::trace::Dir::Command => self.trace.records[i.saturating_sub(LOOK)..=i]
                .iter()
                .rev()
                .find_map(|r| match r.event {
                    Event::SegmentReceived { host, packet }
                        if host == *server && carries(packet) =>
                    {
                        Some(packet)
                    }
                    _ => None,
                }),
            _ => self.trace.records[i..(i + LOOK).min(self.trace.records.len())]
                .iter()
                .find_map(|r| match r.event {
                    Event::SegmentSent { host, packet } if host == *server && carries(packet) => {
                        Some(packet)
                    }
                    _ => None,
                }),
        }?;
        let hops = || {
            self.flights
                .iter()
                .enumerate()
                .filter(move |(_, f)| f.packet == packet)
        };
        match dir {
            crate::trace::Dir::Command => hops().rfind(|(_, f)| f.to == *server),
            _ => hops().find(|(_, f)| f.from == *server),
        }
        .map(|(i, _)| i)
    }

    /// The connection a packet belongs to.
    pub fn conn_of(&self, packet: PacketId) -> Option<usize> {
        let p = self.trace.packet(packet)?;
        self.conn_index
            .get(&conn_key(p.src_addr(), p.dst_addr()))
            .copied()
    }

    /// The connection index of a socket pair, either way round.
    pub fn conn_by_sockets(&self, a: SocketAddrV4, b: SocketAddrV4) -> Option<usize> {
        self.conn_index.get(&conn_key(a, b)).copied()
    }

    /// The number of records that happened at or before `t`.
    pub fn records_until(&self, t: SimTime) -> usize {
        self.trace.records.partition_point(|r| r.time <= t)
    }

    /// World steps needed for the trace to hold `records` records.
    pub fn steps_for(&self, records: usize) -> usize {
        if records == 0 {
            return 0;
        }
        let i = self.steps.partition_point(|&(_, len)| len < records);
        self.steps
            .get(i)
            .or(self.steps.last())
            .map_or(0, |&(n, _)| n)
    }

    /// The flights on a link at `t` (queued, travelling, not yet arrived
    /// or lost), with how far along each is.
    pub fn in_flight(&self, t: SimTime) -> impl Iterator<Item = (usize, f32)> + '_ {
        let upper = self.flights.partition_point(|f| f.queued <= t);
        let earliest = SimTime(t.0.saturating_sub(self.max_span.as_nanos()));
        let lower = self.flights[..upper].partition_point(|f| f.queued < earliest);
        (lower..upper).filter_map(move |i| {
            let f = &self.flights[i];
            (t < f.end()).then(|| (i, f.fraction(t)))
        })
    }

    /// Drop marks visible at `t`: those that happened in the last `fade`,
    /// with how much of the fade is left (1 = just now).
    pub fn recent_drops(
        &self,
        t: SimTime,
        fade: SimDuration,
    ) -> impl Iterator<Item = (usize, f32)> + '_ {
        let upper = self.drops.partition_point(|d| d.time <= t);
        let earliest = SimTime(t.0.saturating_sub(fade.as_nanos()));
        let lower = self.drops[..upper].partition_point(|d| d.time < earliest);
        (lower..upper).map(move |i| {
            let age = (t - self.drops[i].time).as_nanos() as f64;
            let left = 1.0 - age / fade.as_nanos().max(1) as f64;
            (i, left.clamp(0.0, 1.0) as f32)
        })
    }

    /// How long a drop mark stays visible.
    pub fn drop_fade(&self) -> SimDuration {
        self.typical_flight.saturating_mul(3)
    }

    /// Friendly names for captions, by node id.
    pub fn labels(&self) -> Vec<Option<String>> {
        self.hosts.iter().map(|h| h.label.clone()).collect()
    }

    /// A captioner over this run's trace.
    pub fn captioner(&self) -> Captioner<'_> {
        Captioner::new(&self.trace, self.labels())
    }

    /// The caption of the moment: the last narration up to record
    /// `cursor` (exclusive), if any.
    pub fn narration_before(&self, cursor: usize) -> Option<&str> {
        let i = self.narrations.partition_point(|&r| r < cursor);
        let r = *self.narrations.get(i.checked_sub(1)?)?;
        match &self.trace.records[r].event {
            Event::Narration { text } => Some(text),
            _ => None,
        }
    }

    /// Whether a link is up once records `..cursor` have happened.
    pub fn link_up(&self, link: LinkId, cursor: usize) -> bool {
        let upto = self.link_changes.partition_point(|&(r, _, _)| r < cursor);
        self.link_changes[..upto]
            .iter()
            .rev()
            .find(|&&(_, l, _)| l == link)
            .is_none_or(|&(_, _, up)| up)
    }

    /// True if host `node` is down (crashed by a fault and not yet back)
    /// after the first `cursor` records.
    pub fn host_down(&self, node: NodeId, cursor: usize) -> bool {
        let upto = self.host_changes.partition_point(|&(r, _, _)| r < cursor);
        self.host_changes[..upto]
            .iter()
            .rev()
            .find(|&&(_, n, _)| n == node)
            .is_some_and(|&(_, _, down)| down)
    }

    /// What a host holds now, in a few words for the network view: a mail
    /// server's queue and mailbox counts; empty for other hosts.
    pub fn host_status(&self, node: NodeId, at: SimTime) -> String {
        let Some(spec) = self
            .hosts
            .get(node as usize)
            .and_then(|h| self.scenario.hosts.iter().find(|s| s.name == h.name))
        else {
            return String::new();
        };
        let Role::MailServer { users, .. } = &spec.role else {
            return String::new();
        };
        let mut parts = vec![format!("queue {}", self.story.queue_at(node, at).count())];
        for u in users {
            let n = self.story.mailbox_count(node, &u.name, "INBOX", at);
            parts.push(format!("{}: {n}", u.name));
        }
        parts.join(", ")
    }

    /// The host a record is about, for the host filter.
    pub fn record_hosts(&self, i: usize) -> [Option<NodeId>; 2] {
        let r = &self.trace.records[i];
        match &r.event {
            Event::Transmit { from, to, .. } => [Some(*from), Some(*to)],
            Event::Dropped { node, .. } | Event::Forwarded { node, .. } => [Some(*node), None],
            Event::SegmentSent { host, .. }
            | Event::SegmentReceived { host, .. }
            | Event::DatagramSent { host, .. }
            | Event::DatagramReceived { host, .. }
            | Event::TcpState { host, .. }
            | Event::RetransmitTimeout { host, .. }
            | Event::FastRetransmit { host, .. }
            | Event::Cwnd { host, .. }
            | Event::Rtt { host, .. }
            | Event::ConnFailed { host, .. }
            | Event::App { host, .. } => [Some(*host), None],
            Event::Dialogue { client, server, .. } => [client.node(), server.node()],
            Event::LinkState { link, .. } => match self.links.get(*link as usize) {
                Some(l) => [Some(l.ends[0]), Some(l.ends[1])],
                None => [None, None],
            },
            Event::Narration { .. } | Event::Fault { .. } => [None, None],
        }
    }
}

pub use super::placement::auto_layout;
pub use super::player::{MAX_PATH_STEPS, Player};

impl Timeline {
    /// The TCP states a connection (seen from `host`, as `local, remote`)
    /// went through up to record `upto`: each change as (from, to).
    pub fn tcp_path(
        &self,
        host: NodeId,
        local: std::net::SocketAddrV4,
        remote: std::net::SocketAddrV4,
        upto: usize,
    ) -> Vec<(&'static str, &'static str)> {
        self.trace
            .records
            .iter()
            .take(upto)
            .filter_map(|r| match &r.event {
                Event::TcpState {
                    host: h,
                    conn,
                    from,
                    to,
                } if *h == host && *conn == (local, remote) => Some((from.name(), to.name())),
                _ => None,
            })
            .collect()
    }
}

#[cfg(test)]
mod tests;
