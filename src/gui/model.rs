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
        let hosts = host_views(&scenario, &run.world);
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
                conn: Some((c, s)),
                ..
            } = &r.event
                && let Some(p) = self
                    .trace
                    .protocol(*c, *s, r.time)
                    .or_else(|| Proto::from_layer(*layer))
            {
                let key = conn_key(*c, *s);
                if !self.conn_index.contains_key(&key) {
                    self.conn_index.insert(key, self.conns.len());
                    self.conns.push(ConnView {
                        key,
                        proto: p,
                        client: Some(*c),
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
            conn: Some((c, s)),
            ..
        } = &r.event
        else {
            return None;
        };
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

/// The hosts of a built world with their icons and positions.
fn host_views(s: &Scenario, w: &crate::net::World) -> Vec<HostView> {
    let link_between = |a: &str, b: &str| {
        let (a, b) = (w.node_by_name(a)?, w.node_by_name(b)?);
        w.links()
            .iter()
            .find(|l| l.ends == [a, b] || l.ends == [b, a])
            .map(|l| l.id)
    };
    let mut views: Vec<HostView> = w
        .nodes()
        .iter()
        .map(|n| {
            let spec = s.hosts.iter().find(|h| h.name == n.name);
            let taps = match spec.map(|h| &h.role) {
                Some(Role::Eavesdropper { link: (a, b) }) => link_between(a, b),
                _ => None,
            };
            let kind = if n.kind == crate::net::NodeKind::Router {
                HostKind::Router
            } else {
                spec.map_or(HostKind::Pc, |h| HostKind::of_role(&h.role))
            };
            HostView {
                node: n.id,
                name: n.name.clone(),
                label: spec.and_then(|h| h.label.clone()),
                kind,
                addresses: n.interfaces.iter().map(|i| i.addr).collect(),
                pos: spec
                    .and_then(|h| h.position)
                    .map_or((f32::NAN, f32::NAN), |(x, y)| {
                        (x.clamp(0.0, 100.0), y.clamp(0.0, 100.0))
                    }),
                firewall: spec.is_some_and(|h| h.firewall.is_some()),
                taps,
            }
        })
        .collect();
    let edges: Vec<[NodeId; 2]> = w.links().iter().map(|l| l.ends).collect();
    auto_layout(&mut views, &edges);
    views
}

/// Places the hosts without a position: the longest chain of the network
/// goes left to right across the middle (client, routers, server, as in
/// the textbook figures), the other hosts above and below the chain node
/// they hang from.
pub fn auto_layout(hosts: &mut [HostView], edges: &[[NodeId; 2]]) {
    let n = hosts.len();
    if n == 0 || hosts.iter().all(|h| !h.pos.0.is_nan()) {
        return;
    }
    let mut adj = vec![Vec::new(); n];
    for e in edges {
        let (a, b) = (e[0] as usize, e[1] as usize);
        if a < n && b < n {
            adj[a].push(b);
            adj[b].push(a);
        }
    }
    let bfs = |start: usize| {
        let mut dist = vec![usize::MAX; n];
        let mut prev = vec![usize::MAX; n];
        let mut q = VecDeque::from([start]);
        dist[start] = 0;
        while let Some(u) = q.pop_front() {
            for &v in &adj[u] {
                if dist[v] == usize::MAX {
                    dist[v] = dist[u] + 1;
                    prev[v] = u;
                    q.push_back(v);
                }
            }
        }
        (dist, prev)
    };
    let mut placed = vec![false; n];
    let mut slot_row = 0usize;
    for start in 0..n {
        if placed[start] {
            continue;
        }
        // The diameter of this component: farthest from start, then
        // farthest from that.
        let (d0, _) = bfs(start);
        let a = (0..n)
            .filter(|&i| d0[i] != usize::MAX)
            .max_by_key(|&i| (d0[i], std::cmp::Reverse(i)))
            .unwrap_or(start);
        let (da, prev) = bfs(a);
        let b = (0..n)
            .filter(|&i| da[i] != usize::MAX)
            .max_by_key(|&i| (da[i], std::cmp::Reverse(i)))
            .unwrap_or(a);
        let mut chain = vec![b];
        while *chain.last().unwrap_or(&a) != a {
            let p = prev[*chain.last().unwrap_or(&a)];
            if p == usize::MAX {
                break;
            }
            chain.push(p);
        }
        chain.reverse();
        let y = 50.0 + 30.0 * slot_row as f32;
        slot_row += 1;
        let k = chain.len();
        let mut x_of = vec![f32::NAN; n];
        for (i, &c) in chain.iter().enumerate() {
            let x = if k == 1 {
                50.0
            } else {
                10.0 + 80.0 * i as f32 / (k - 1) as f32
            };
            x_of[c] = x;
            placed[c] = true;
            if hosts[c].pos.0.is_nan() {
                hosts[c].pos = (x, y.min(90.0));
            }
        }
        // Everything else hangs from the chain: breadth first, alternating
        // above and below, spread around the parent's x.
        let mut q: VecDeque<usize> = chain.iter().copied().collect();
        let mut depth = vec![0usize; n];
        let mut children_of = vec![0usize; n];
        while let Some(u) = q.pop_front() {
            for &v in &adj[u] {
                if placed[v] {
                    continue;
                }
                placed[v] = true;
                depth[v] = depth[u] + 1;
                let j = children_of[u];
                children_of[u] += 1;
                let side = if j.is_multiple_of(2) { -1.0 } else { 1.0 };
                let spread =
                    ((j / 2) as f32) * 12.0 * if (j / 2).is_multiple_of(2) { 1.0 } else { -1.0 };
                let px = if x_of[u].is_nan() {
                    hosts[u].pos.0
                } else {
                    x_of[u]
                };
                let py = hosts[u].pos.1;
                x_of[v] = (px + spread).clamp(5.0, 95.0);
                if hosts[v].pos.0.is_nan() {
                    hosts[v].pos = (x_of[v], (py + side * 28.0).clamp(6.0, 94.0));
                }
                q.push_back(v);
            }
        }
    }
}

/// The current position in a run: the cursor into the trace, the view
/// time, and a live world at that point for the inspectors.
pub struct Player {
    pub timeline: Timeline,
    live: scenario::Run,
    live_steps: usize,
    /// Records `..cursor` have happened; `cursor - 1` is the current event.
    pub cursor: usize,
    /// The view time (packets are drawn where this time puts them).
    pub time: SimTime,
    /// Bumped whenever a different timeline is loaded.
    pub generation: u64,
    /// The view does not go past this record until it is lifted: a
    /// question in predict mode is about it (see [`Player::set_hold`]).
    hold: Option<usize>,
}

impl Player {
    /// A player at the start of a timeline.
    pub fn new(timeline: Timeline) -> Result<Player, LoadError> {
        let live = scenario::build(&timeline.scenario, timeline.seed)
            .map_err(|e| LoadError(format!("{}: {e:?}", timeline.file)))?;
        Ok(Player {
            timeline,
            live,
            live_steps: 0,
            cursor: 0,
            time: SimTime::ZERO,
            generation: 0,
            hold: None,
        })
    }

    /// Replaces the timeline (a reload or another file), keeping the view
    /// time when it is still inside the new run.
    pub fn replace(&mut self, timeline: Timeline) -> Result<(), LoadError> {
        let keep = self.time.min(timeline.end);
        let generation = self.generation + 1;
        *self = Player::new(timeline)?;
        self.generation = generation;
        self.seek(keep);
        Ok(())
    }

    /// The number of records.
    pub fn len(&self) -> usize {
        self.timeline.trace.records.len()
    }

    /// True if the run recorded nothing.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The current event (the last that happened), if any.
    pub fn current(&self) -> Option<usize> {
        self.cursor.checked_sub(1)
    }

    /// Moves the view to time `t`: every record up to `t` has happened.
    pub fn seek(&mut self, t: SimTime) {
        self.time = t;
        self.cursor = self.timeline.records_until(t);
        self.clamp();
        self.sync();
    }

    /// Holds the view before record `i` (`None` lifts the hold): moving
    /// on stops just before it, and a view already past it goes back
    /// there. Predict mode holds the view before the event a question is
    /// about.
    pub fn set_hold(&mut self, i: Option<usize>) {
        if self.hold == i {
            return;
        }
        self.hold = i;
        if self.clamp() {
            self.sync();
        }
    }

    /// The record the view is held before, if any.
    pub fn hold(&self) -> Option<usize> {
        self.hold
    }

    /// True if the view stands at the hold and cannot move on.
    pub fn held(&self) -> bool {
        self.hold.is_some_and(|h| self.cursor >= h)
    }

    /// Puts the view back before the hold if it went past it; true if it
    /// moved. The view time goes to just before the held event (not
    /// before the one ahead of it), so that its packet is on its way.
    fn clamp(&mut self) -> bool {
        let Some(h) = self.hold else {
            return false;
        };
        if self.cursor <= h {
            return false;
        }
        self.cursor = h;
        let records = &self.timeline.trace.records;
        let before = h
            .checked_sub(1)
            .and_then(|p| records.get(p))
            .map_or(SimTime::ZERO, |r| r.time);
        let at = records.get(h).map_or(before, |r| r.time);
        self.time = if at > before {
            SimTime::ZERO + SimDuration::from_nanos(at.as_nanos() - 1)
        } else {
            before
        };
        true
    }

    /// Moves to just after record `i` (clicking an event in the list).
    pub fn jump_to(&mut self, i: usize) {
        let Some(r) = self.timeline.trace.records.get(i) else {
            return;
        };
        self.time = r.time;
        self.cursor = i + 1;
        self.clamp();
        self.sync();
    }

    /// Advances the view time by `dt` while playing.
    pub fn advance(&mut self, dt: SimDuration) {
        let t = self.time + dt;
        self.time = t;
        self.cursor = self.cursor.max(self.timeline.records_until(t));
        self.clamp();
        self.sync();
    }

    /// Steps to the next record that `show` accepts; false at the end.
    pub fn step_forward(&mut self, show: impl Fn(&Timeline, usize) -> bool) -> bool {
        match (self.cursor..self.len()).find(|&i| show(&self.timeline, i)) {
            Some(i) => {
                self.jump_to(i);
                true
            }
            None => false,
        }
    }

    /// Steps back to the previous record that `show` accepts (or to the
    /// start); false if already there.
    pub fn step_back(&mut self, show: impl Fn(&Timeline, usize) -> bool) -> bool {
        let Some(cur) = self.current() else {
            return false;
        };
        match (0..cur).rev().find(|&i| show(&self.timeline, i)) {
            Some(i) => self.jump_to(i),
            None => {
                self.time = SimTime::ZERO;
                self.cursor = 0;
                self.sync();
            }
        }
        true
    }

    /// The records presenter keys step between: the scenario's captions
    /// (narration), or, in a scenario without any, every application
    /// dialogue line.
    fn caption_stops(&self) -> Vec<usize> {
        let t = &self.timeline;
        if !t.narrations.is_empty() {
            return t.narrations.clone();
        }
        t.trace
            .records
            .iter()
            .enumerate()
            .filter(|(_, r)| matches!(r.event, Event::Dialogue { .. }))
            .map(|(i, _)| i)
            .collect()
    }

    /// To the next caption (PageDown); false at the last one.
    pub fn next_caption(&mut self) -> bool {
        let stops = self.caption_stops();
        self.step_forward(|_, i| stops.binary_search(&i).is_ok())
    }

    /// To the previous caption (PageUp), or to the start before the first.
    pub fn previous_caption(&mut self) -> bool {
        let stops = self.caption_stops();
        self.step_back(|_, i| stops.binary_search(&i).is_ok())
    }

    /// The live world at the current event, for inspectors.
    pub fn world(&self) -> &crate::net::World {
        &self.live.world
    }

    /// Steps the live world to the current cursor, rebuilding it from the
    /// scenario when it is ahead (the engine is deterministic, so replay
    /// reproduces every state exactly).
    fn sync(&mut self) {
        let want = self.timeline.steps_for(self.cursor);
        if self.live_steps > want
            && let Ok(run) = scenario::build(&self.timeline.scenario, self.timeline.seed)
        {
            self.live = run;
            self.live_steps = 0;
        }
        while self.live_steps < want && self.live.world.step() {
            self.live_steps += 1;
        }
    }

    /// World steps taken by the live world (for tests).
    pub fn live_steps(&self) -> usize {
        self.live_steps
    }

    /// The states an application session (on `node`, with connection
    /// `conn`) went through up to the current event, in order: the run
    /// replayed from the start, the session looked at after every step.
    /// `None` when the run is too long to replay for this (more than
    /// [`MAX_PATH_STEPS`] steps).
    pub fn session_path(
        &self,
        node: NodeId,
        conn: crate::net::ConnId,
    ) -> Option<Vec<&'static str>> {
        if self.live_steps > MAX_PATH_STEPS {
            return None;
        }
        let mut run = scenario::build(&self.timeline.scenario, self.timeline.seed).ok()?;
        let mut path: Vec<&'static str> = Vec::new();
        let mut look = |w: &crate::net::World| {
            let Some(n) = w.nodes().get(node as usize) else {
                return;
            };
            for &app in &n.apps {
                if let Some(a) = w.app(app)
                    && let Some(s) = a.sessions().into_iter().find(|s| s.conn == conn)
                    && path.last() != Some(&s.state)
                {
                    path.push(s.state);
                }
            }
        };
        for _ in 0..self.live_steps {
            if !run.world.step() {
                break;
            }
            look(&run.world);
        }
        Some(path)
    }
}

/// The longest run [`Player::session_path`] replays.
pub const MAX_PATH_STEPS: usize = 200_000;

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
mod tests {
    use super::*;

    fn handshake() -> Timeline {
        load("tcp_handshake", None).expect("bundled scenario loads")
    }

    #[test]
    fn flights_cover_every_transmit_and_interpolate_linearly() {
        let t = handshake();
        let transmits = t
            .trace
            .records
            .iter()
            .filter(|r| matches!(r.event, Event::Transmit { .. }))
            .count();
        assert_eq!(t.flights.len(), transmits);
        let f = &t.flights[0];
        let mid = f.depart + SimDuration::from_nanos((f.arrive - f.depart).as_nanos() / 2);
        assert!((f.fraction(mid) - 0.5).abs() < 1e-3);
        let now: Vec<usize> = t.in_flight(mid).map(|(i, _)| i).collect();
        assert!(now.contains(&0));
        assert!(t.in_flight(f.arrive).all(|(i, _)| i != 0));
    }

    #[test]
    fn the_handshake_is_plain_tcp_and_the_typical_flight_is_the_latency() {
        let t = handshake();
        assert!(t.flights.iter().all(|f| f.proto == Proto::Tcp));
        // 10 ms of latency plus a little serialization.
        assert!(t.typical_flight >= SimDuration::from_millis(10));
        assert!(t.typical_flight < SimDuration::from_millis(12));
    }

    #[test]
    fn losses_end_flights_part_way() {
        let t = load("tcp_lossy_transfer", None).expect("loads");
        let lost: Vec<&Flight> = t.flights.iter().filter(|f| f.lost.is_some()).collect();
        assert!(!lost.is_empty());
        assert!(
            lost.iter()
                .all(|f| f.end() < f.arrive && f.end() > f.depart)
        );
        assert!(
            t.drops
                .iter()
                .any(|d| matches!(d.place, DropPlace::Link { .. }))
        );
    }

    #[test]
    fn the_time_line_shortens_idle_gaps_and_maps_back() {
        let t = handshake();
        // TIME-WAIT is 10 s of nothing; the axis is far shorter.
        assert!(t.end > SimTime::from_secs(10));
        assert!(t.axis_len() < 1e9);
        for ms in [0u64, 5, 15, 33, 80] {
            let at = SimTime::from_millis(ms);
            let back = t.from_axis(t.to_axis(at));
            assert!(
                back.as_nanos().abs_diff(at.as_nanos()) < 1_000,
                "{ms} ms -> {back}"
            );
        }
        assert_eq!(t.from_axis(t.axis_len()), t.end);
    }

    #[test]
    fn automatic_layout_puts_the_chain_across_the_middle() {
        let mut hosts: Vec<HostView> = (0..4)
            .map(|i| HostView {
                node: i,
                name: format!("h{i}"),
                label: None,
                kind: HostKind::Pc,
                addresses: vec![],
                pos: (f32::NAN, f32::NAN),
                firewall: false,
                taps: None,
            })
            .collect();
        auto_layout(&mut hosts, &[[0, 1], [1, 2], [1, 3]]);
        assert!(hosts.iter().all(|h| (0.0..=100.0).contains(&h.pos.0)));
        // A chain of three across, the fourth hangs off the middle one.
        let ys: Vec<f32> = hosts.iter().map(|h| h.pos.1).collect();
        assert_eq!(ys.iter().filter(|&&y| y == 50.0).count(), 3);
    }

    #[test]
    fn hosts_are_drawn_as_their_roles_say() {
        let t = load("scp_vs_ftp", None).expect("loads");
        let kind = |name: &str| t.hosts.iter().find(|h| h.name == name).map(|h| h.kind);
        for h in &t.scenario.hosts {
            assert_eq!(
                kind(&h.name),
                Some(HostKind::of_role(&h.role)),
                "{}",
                h.name
            );
        }
        assert!(t.hosts.iter().any(|h| h.kind == HostKind::Eavesdropper));
        assert!(t.hosts.iter().any(|h| h.kind == HostKind::FileServer));
        // A name says nothing: a client called "mail-router" is a computer.
        assert_eq!(HostKind::of_role(&Role::Client), HostKind::Pc);
    }

    /// The State machines tab's path: a session's states as the run went
    /// through them, every step of it an edge of the session's table; and
    /// TCP's from the trace.
    #[test]
    fn the_path_taken_follows_the_machines_tables() {
        let t = load("ftp_session", None).expect("loads");
        let mut p = Player::new(t).expect("builds");
        p.seek(SimTime::from_millis(700));
        let world = p.world();
        let (node, session) = world
            .nodes()
            .iter()
            .flat_map(|n| {
                n.apps
                    .iter()
                    .filter_map(|&a| world.app(a))
                    .flat_map(|a| a.sessions())
                    .map(move |s| (n.id, s))
            })
            .find(|(_, s)| s.layer == "ftp" && s.role == "server")
            .expect("the FTP server's session");
        let path = p.session_path(node, session.conn).expect("replayed");
        assert!(path.len() > 4, "{path:?}");
        assert_eq!(path.last(), Some(&session.state));
        for w in path.windows(2) {
            assert!(
                session
                    .transitions
                    .iter()
                    .any(|(a, b, _)| *a == w[0] && *b == w[1]),
                "{} -> {} is not in the FTP server's table",
                w[0],
                w[1]
            );
        }
        // TCP: the client's control connection opened in two steps.
        let alice = p
            .timeline
            .hosts
            .iter()
            .find(|h| h.name == "alice-pc")
            .unwrap()
            .node;
        let (_, _, c) = world
            .connections()
            .find(|(_, h, c)| *h == alice && c.remote().port() == 21)
            .expect("the control connection");
        let tcp = p.timeline.tcp_path(alice, c.local(), c.remote(), p.cursor);
        assert_eq!(tcp, [("CLOSED", "SYN-SENT"), ("SYN-SENT", "ESTABLISHED")]);
    }

    #[test]
    fn ftp_data_connections_are_known_from_the_engine_not_the_port() {
        let t = load("ftp_passive", None).expect("loads");
        let data: Vec<&ConnView> = t
            .conns
            .iter()
            .filter(|c| c.proto == Proto::FtpData)
            .collect();
        // The passive data connections go to high ports of the server's
        // (40000, 40001): no well-known port says what they are.
        let passive = data
            .iter()
            .filter(|c| c.key.0.port() > 1023 && c.key.1.port() > 1023)
            .count();
        assert_eq!(passive, 2, "{data:?}");
        assert!(t.conns.iter().any(|c| c.proto == Proto::FtpControl));
    }

    #[test]
    fn clicking_an_smtp_line_shows_the_segment_that_carried_it() {
        let t = load("alice_to_bob", None).expect("loads");
        let bob = t.hosts.iter().find(|h| h.name == "bob-mail").unwrap().node;
        let line = |dir: crate::trace::Dir, text: &str| {
            t.trace
                .records
                .iter()
                .position(|r| {
                    matches!(&r.event, Event::Dialogue { dir: d, line, server: crate::trace::Party::Node(s), .. }
                        if *d == dir && line == text && *s == bob)
                })
                .unwrap()
        };
        // The event list's click jumps the player to the record; the
        // packet tab shows the carrier of the current record.
        let mut p = Player::new(load("alice_to_bob", None).unwrap()).unwrap();
        let data = line(crate::trace::Dir::Command, "DATA");
        p.jump_to(data);
        let f = &t.flights[t.carrier_flight(p.current().unwrap()).expect("a carrier")];
        let payload = |f: &Flight| match &t.trace.packet(f.packet).unwrap().payload {
            Payload::Tcp(s) => s.payload.clone(),
            Payload::Udp(_) => panic!("UDP"),
        };
        assert!(payload(f).starts_with(b"DATA"), "{:?}", payload(f));
        assert_eq!(f.to, bob, "the hop into Bob's server");
        assert!(f.arrive <= t.trace.records[data].time);
        // A reply: the segment leaving the server.
        let reply = line(
            crate::trace::Dir::Reply,
            "354 End data with <CR><LF>.<CR><LF>",
        );
        let f = &t.flights[t.carrier_flight(reply).expect("a carrier")];
        assert!(payload(f).starts_with(b"354"));
        assert_eq!(f.from, bob);
    }

    #[test]
    fn the_network_view_knows_a_down_host_and_a_servers_queue() {
        let t = load("mail_retry", None).expect("loads");
        let node = |n: &str| t.hosts.iter().find(|h| h.name == n).unwrap().node;
        let (alice, bob) = (node("alice-mail"), node("bob-mail"));
        let at = SimTime::from_secs(100);
        let cursor = t.records_until(at);
        assert!(t.host_down(bob, cursor));
        assert!(!t.host_down(alice, cursor));
        assert!(!t.host_down(bob, t.records_until(SimTime::from_secs(151))));
        assert_eq!(t.host_status(alice, at), "queue 2, alice: 0");
        let end = t.end;
        assert_eq!(t.host_status(alice, end), "queue 0, alice: 1");
        assert_eq!(t.host_status(node("alice-pc"), at), "");
    }

    #[test]
    fn stepping_back_replays_to_the_same_state() {
        let mut p = Player::new(handshake()).expect("builds");
        let all = |_: &Timeline, _: usize| true;
        for _ in 0..12 {
            assert!(p.step_forward(all));
        }
        let (cursor, steps) = (p.cursor, p.live_steps());
        let states: Vec<_> = p
            .world()
            .connections()
            .map(|(c, _, t)| (c, t.state()))
            .collect();
        p.step_forward(all);
        p.step_forward(all);
        p.step_back(all);
        p.step_back(all);
        assert_eq!((p.cursor, p.live_steps()), (cursor, steps));
        let again: Vec<_> = p
            .world()
            .connections()
            .map(|(c, _, t)| (c, t.state()))
            .collect();
        assert_eq!(states, again);
    }
}
