//! The world: nodes, links, routes, host stacks and the event loop.
//!
//! [`World`] is the discrete-event engine of a run. It owns the clock, the
//! event queue, the run's one RNG and the trace, and it moves packets:
//! a host's TCP or UDP hands a packet to IP, IP picks the link from the
//! routing table, the link computes when the packet arrives, and the
//! arrival is the only thing scheduled. Routers forward; hosts demultiplex
//! to connections, listeners and UDP sockets, and answer segments for
//! closed ports with RST (RFC 9293 §3.10.7.1).
//!
//! Applications are driven through [`AppCx`]: every call that changes a
//! connection flushes it at once (segments out, timers armed), and what
//! the connection reports back is queued for the owning application and
//! delivered after the current handler returns, at the same simulated
//! time. Nothing here reads a clock; equal times are served in the order
//! they were scheduled, so a run is a pure function of its setup and seed.

use super::app::{AppEvent, AppId, Application, ConnId};
use super::link::{Link, LinkConfig};
use super::packet::{DEFAULT_TTL, Packet, PacketId, Payload, TcpSegment, UdpDatagram};
use super::tcp::{self, TcpConfig, TcpConnection, TcpEvent, TcpState};
use crate::proto::Transcript;
use crate::sim::{EventQueue, SimDuration, SimRng, SimTime};
use crate::trace::{
    ConnName, Dir, DropReason, Event, EventKind, Layer, LinkId, LinkName, NodeId, Party, Protocol,
    Record, Trace, Value,
};
use bytes::Bytes;
use petgraph::graph::{NodeIndex, UnGraph};
use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, VecDeque};
use std::net::{Ipv4Addr, SocketAddrV4};

/// First port of the ephemeral range (RFC 6335 §6).
pub const EPHEMERAL_START: u16 = 49152;

/// Hosts run applications; routers only forward.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodeKind {
    Host,
    Router,
}

/// A host's inbound filter.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Firewall {
    /// Drop connection attempts (SYNs) from outside, except to
    /// `allow_ports`. Connections the host opened itself still work: the
    /// filter is stateful, like a home router's.
    pub block_inbound: bool,
    pub allow_ports: Vec<u16>,
}

/// One end of a link on a node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Interface {
    pub link: LinkId,
    pub addr: Ipv4Addr,
}

/// A host or router.
#[derive(Debug)]
pub struct Node {
    pub id: NodeId,
    pub name: String,
    pub kind: NodeKind,
    pub interfaces: Vec<Interface>,
    pub firewall: Firewall,
    /// False while crashed.
    pub up: bool,
    /// The applications running here.
    pub apps: Vec<AppId>,
    /// An application that replaces this host's TCP/UDP stack: it gets
    /// every IP packet for the host and sends raw packets.
    raw_stack: Option<AppId>,
    /// Listening ports: the application, and what it serves there.
    listeners: BTreeMap<u16, (AppId, Protocol)>,
    /// Bound UDP ports: the application, and what it speaks there.
    udp: BTreeMap<u16, (AppId, Protocol)>,
    conns: BTreeMap<(SocketAddrV4, SocketAddrV4), ConnId>,
    next_port: u16,
}

impl Node {
    /// The address other hosts use for this one: its first interface's.
    pub fn address(&self) -> Option<Ipv4Addr> {
        self.interfaces.first().map(|i| i.addr)
    }

    /// True if `addr` is one of this node's addresses.
    pub fn owns(&self, addr: Ipv4Addr) -> bool {
        self.interfaces.iter().any(|i| i.addr == addr)
    }

    /// Ports with a listening application, in order.
    pub fn listening_ports(&self) -> impl Iterator<Item = u16> + '_ {
        self.listeners.keys().copied()
    }
}

/// A connection and what the world keeps around it.
struct ConnEntry {
    host: NodeId,
    owner: AppId,
    tcp: TcpConnection,
    /// The listening port that accepted it; `None` for active opens.
    accepted_on: Option<u16>,
    /// The earliest TcpTimer event queued for it.
    timer_at: Option<SimTime>,
    /// Bytes the application sent that TCP had no room for yet.
    outbox: VecDeque<Bytes>,
    /// The application asked to close once the outbox is empty.
    close_requested: bool,
    close_done: bool,
    /// The application was told the connection is up.
    announced: bool,
    /// The application was told the connection is over.
    closed_notified: bool,
}

/// What the event queue holds.
enum SimEvent {
    /// A packet reaches the far end of a link.
    Arrive {
        link: LinkId,
        dir: u8,
        epoch: u32,
        ttl: u8,
        packet: PacketId,
    },
    /// A packet for the sending host itself.
    Local {
        node: NodeId,
        packet: PacketId,
    },
    TcpTimer {
        conn: ConnId,
    },
    AppTimer {
        app: AppId,
        epoch: u32,
        token: u64,
    },
    AppEvent {
        app: AppId,
        event: AppEvent,
    },
    Call {
        app: AppId,
        call: AppCall,
    },
    Fault(Fault),
    Narrate(String),
}

/// A scripted call into an application at a given time.
pub type AppCall = Box<dyn FnOnce(&mut dyn Application, &mut AppCx<'_>)>;

/// Decides whether a recorded event sets off a trigger.
pub type TriggerMatch = Box<dyn FnMut(&Trace, &Record) -> bool>;

/// What a trigger does when its event happens.
pub enum TriggerAction {
    /// Show a caption.
    Narrate(String),
    /// Call into an application (a scripted user action).
    Call { app: AppId, call: AppCall },
    /// Apply a fault.
    Fault(Fault),
}

/// An action that waits for an event instead of a time: "when the first
/// SMTP 250 is sent, take the link down". It fires once.
struct Trigger {
    matches: TriggerMatch,
    delay: SimDuration,
    action: Option<TriggerAction>,
}

/// A scripted change to the network.
#[derive(Debug, Clone, PartialEq)]
pub enum Fault {
    /// A link goes down (or comes back up).
    LinkUp { link: LinkId, up: bool },
    /// A link's loss probability changes.
    SetLoss { link: LinkId, loss: f64 },
    /// A host crashes: connections, timers and listeners vanish; packets
    /// for it are dropped until it restarts.
    HostDown { node: NodeId },
    /// A crashed host restarts: its applications get `Start` again.
    HostUp { node: NodeId },
    /// A link's one-way propagation delay changes (packets already on
    /// the way keep theirs).
    SetLatency { link: LinkId, latency: SimDuration },
    /// The packet with this id is lost on the next link it crosses: "what
    /// if this packet were lost?". A run is deterministic, so the packet of
    /// a given id is the same one in every run of a scenario and seed,
    /// until the runs part.
    DropPacket { packet: PacketId },
}

/// Errors building a topology.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TopologyError {
    #[error("address {0} is used twice")]
    DuplicateAddress(Ipv4Addr),
    #[error("a link cannot connect {0} to itself")]
    SelfLink(String),
    #[error("too many links for automatic addressing")]
    OutOfAddresses,
}

/// Errors an application can get from its calls.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SocketError {
    #[error("port {0} is already in use")]
    PortInUse(u16),
    #[error("no free ephemeral port")]
    NoFreePort,
    #[error("no such connection")]
    NoConnection,
}

struct AppSlot {
    host: NodeId,
    app: Option<Box<dyn Application>>,
    /// Bumped on a crash so that timers set before it are ignored.
    epoch: u32,
}

/// A simulated network and everything running on it.
pub struct World {
    now: SimTime,
    queue: EventQueue<SimEvent>,
    rng: SimRng,
    nodes: Vec<Node>,
    links: Vec<Link>,
    graph: UnGraph<NodeId, LinkId>,
    /// `next_hop[from][to]`: the link and direction that lead from node
    /// `from` toward node `to` on a shortest path.
    next_hop: Vec<Vec<Option<(LinkId, u8)>>>,
    routes_dirty: bool,
    /// Actions waiting for an event, and how many records they have seen.
    triggers: Vec<Trigger>,
    triggers_seen: usize,
    /// Links an eavesdropper listens on.
    taps: BTreeMap<LinkId, Vec<AppId>>,
    /// Packets to lose on purpose ([`Fault::DropPacket`]).
    doomed: std::collections::BTreeSet<PacketId>,
    conns: Vec<Option<ConnEntry>>,
    apps: Vec<AppSlot>,
    /// Application events waiting to be delivered at the current time.
    pending: VecDeque<(AppId, AppEvent)>,
    trace: Trace,
    /// Application timers queued and not yet fired, by (app, token), with
    /// how many are queued under that token.
    timers_pending: BTreeMap<(AppId, u64), u32>,
    /// Queued timers their application cancelled.
    timers_cancelled: BTreeMap<(AppId, u64), u32>,
    tcp_config: TcpConfig,
    events_processed: u64,
    segments_processed: u64,
    /// Unix seconds at simulated time zero, for the dates applications
    /// write (mail headers, file times).
    epoch_unix: i64,
}

/// The wall-clock date a run starts at unless its scenario says
/// otherwise: 2025-01-06 09:00:00 UTC, a Monday morning.
pub const DEFAULT_EPOCH_UNIX: i64 = 1_736_154_000;

impl World {
    /// An empty world whose randomness comes from `seed`.
    pub fn new(seed: u64) -> World {
        World {
            now: SimTime::ZERO,
            queue: EventQueue::new(),
            rng: SimRng::new(seed),
            nodes: Vec::new(),
            links: Vec::new(),
            graph: UnGraph::default(),
            next_hop: Vec::new(),
            routes_dirty: true,
            taps: BTreeMap::new(),
            doomed: std::collections::BTreeSet::new(),
            triggers: Vec::new(),
            triggers_seen: 0,
            conns: Vec::new(),
            apps: Vec::new(),
            pending: VecDeque::new(),
            trace: Trace::new(),
            timers_pending: BTreeMap::new(),
            timers_cancelled: BTreeMap::new(),
            tcp_config: TcpConfig::default(),
            events_processed: 0,
            segments_processed: 0,
            epoch_unix: DEFAULT_EPOCH_UNIX,
        }
    }

    // ------------------------------------------------------------------
    // Building
    // ------------------------------------------------------------------

    /// The TCP parameters of connections opened from now on.
    pub fn set_tcp_config(&mut self, config: TcpConfig) {
        self.tcp_config = config;
    }

    pub fn tcp_config(&self) -> &TcpConfig {
        &self.tcp_config
    }

    /// Sets the calendar time (Unix seconds) of simulated time zero.
    pub fn set_epoch_unix(&mut self, unix_secs: i64) {
        self.epoch_unix = unix_secs;
    }

    /// The calendar time (Unix seconds) of simulated time zero.
    pub fn epoch_unix(&self) -> i64 {
        self.epoch_unix
    }

    /// Turns event recording on or off (packets are kept either way).
    pub fn set_tracing(&mut self, on: bool) {
        self.trace.enabled = on;
    }

    /// Adds a host or router.
    pub fn add_node(&mut self, name: &str, kind: NodeKind) -> NodeId {
        let id = self.nodes.len() as NodeId;
        self.nodes.push(Node {
            id,
            name: name.to_owned(),
            kind,
            interfaces: Vec::new(),
            firewall: Firewall::default(),
            up: true,
            apps: Vec::new(),
            raw_stack: None,
            listeners: BTreeMap::new(),
            udp: BTreeMap::new(),
            conns: BTreeMap::new(),
            next_port: EPHEMERAL_START,
        });
        self.graph.add_node(id);
        self.trace.nodes.push(name.to_owned());
        self.routes_dirty = true;
        id
    }

    /// Sets a host's firewall.
    pub fn set_firewall(&mut self, node: NodeId, firewall: Firewall) {
        self.nodes[node as usize].firewall = firewall;
    }

    /// Connects two nodes. Each end gets the address given, or one from the
    /// link's own automatic /24: link k (counting from 1) is
    /// `10.x.y.0/24` with `x.y` = k, the router end (or the first end) is
    /// `.1` and the other `.2`.
    pub fn add_link(
        &mut self,
        a: NodeId,
        b: NodeId,
        config: LinkConfig,
        addr_a: Option<Ipv4Addr>,
        addr_b: Option<Ipv4Addr>,
    ) -> Result<LinkId, TopologyError> {
        if a == b {
            return Err(TopologyError::SelfLink(self.nodes[a as usize].name.clone()));
        }
        let id = self.links.len() as LinkId;
        let k = id + 1;
        if k > 0xffff {
            return Err(TopologyError::OutOfAddresses);
        }
        let subnet = |host: u8| Ipv4Addr::new(10, (k >> 8) as u8, k as u8, host);
        // The router end gets .1, like a default gateway.
        let (auto_a, auto_b) = if self.nodes[b as usize].kind == NodeKind::Router
            && self.nodes[a as usize].kind == NodeKind::Host
        {
            (subnet(2), subnet(1))
        } else {
            (subnet(1), subnet(2))
        };
        let addrs = [addr_a.unwrap_or(auto_a), addr_b.unwrap_or(auto_b)];
        for addr in addrs {
            if self.trace.addresses.contains_key(&addr) {
                return Err(TopologyError::DuplicateAddress(addr));
            }
        }
        if addrs[0] == addrs[1] {
            return Err(TopologyError::DuplicateAddress(addrs[0]));
        }
        let name = format!(
            "{}--{}",
            self.nodes[a as usize].name, self.nodes[b as usize].name
        );
        self.trace.links.push(LinkName {
            name: name.clone(),
            ends: [a, b],
        });
        self.links.push(Link::new(id, name, [a, b], addrs, config));
        for (n, addr) in [(a, addrs[0]), (b, addrs[1])] {
            self.nodes[n as usize]
                .interfaces
                .push(Interface { link: id, addr });
            self.trace.addresses.insert(addr, n);
        }
        self.graph
            .add_edge(NodeIndex::new(a as usize), NodeIndex::new(b as usize), id);
        self.routes_dirty = true;
        Ok(id)
    }

    /// Starts an application on a host; it gets [`AppEvent::Start`] at the
    /// current time.
    pub fn add_app(&mut self, node: NodeId, app: Box<dyn Application>) -> AppId {
        let id = self.apps.len() as AppId;
        self.apps.push(AppSlot {
            host: node,
            app: Some(app),
            epoch: 0,
        });
        self.nodes[node as usize].apps.push(id);
        self.queue.push(
            self.now,
            SimEvent::AppEvent {
                app: id,
                event: AppEvent::Start,
            },
        );
        id
    }

    /// Hands every IP packet for `node` to `app` instead of the built-in
    /// stack, and lets `app` send raw packets with `AppCx::send_raw`: a
    /// foreign TCP/IP implementation runs there.
    pub fn set_raw_stack(&mut self, node: NodeId, app: AppId) {
        self.nodes[node as usize].raw_stack = Some(app);
    }

    /// Lets `app` see every packet that crosses `link` (an eavesdropper).
    pub fn add_tap(&mut self, link: LinkId, app: AppId) {
        self.taps.entry(link).or_default().push(app);
    }

    /// Calls `call` on `app` at time `at`.
    pub fn schedule_call(&mut self, at: SimTime, app: AppId, call: AppCall) {
        self.queue.push(at, SimEvent::Call { app, call });
    }

    /// Applies `fault` at time `at`.
    pub fn schedule_fault(&mut self, at: SimTime, fault: Fault) {
        self.queue.push(at, SimEvent::Fault(fault));
    }

    /// Carries out `action`, `delay` after the first event `matches`
    /// accepts (at most once).
    pub fn add_trigger(
        &mut self,
        matches: TriggerMatch,
        delay: SimDuration,
        action: TriggerAction,
    ) {
        self.triggers.push(Trigger {
            matches,
            delay,
            action: Some(action),
        });
    }

    /// Looks at the events recorded since the last look for those that set
    /// off a trigger.
    fn check_triggers(&mut self) {
        let end = self.trace.records.len();
        if self.triggers.iter().all(|t| t.action.is_none()) {
            self.triggers_seen = end;
            return;
        }
        let mut fired = Vec::new();
        for record in &self.trace.records[self.triggers_seen.min(end)..end] {
            for t in &mut self.triggers {
                if t.action.is_some()
                    && (t.matches)(&self.trace, record)
                    && let Some(action) = t.action.take()
                {
                    fired.push((t.delay, action));
                }
            }
        }
        self.triggers_seen = end;
        for (delay, action) in fired {
            let at = self.now + delay;
            let event = match action {
                TriggerAction::Narrate(text) => SimEvent::Narrate(text),
                TriggerAction::Call { app, call } => SimEvent::Call { app, call },
                TriggerAction::Fault(f) => SimEvent::Fault(f),
            };
            self.queue.push(at, event);
        }
    }

    /// Records a narration caption at time `at`.
    pub fn schedule_narration(&mut self, at: SimTime, text: String) {
        self.queue.push(at, SimEvent::Narrate(text));
    }

    /// Computes the static routes: for every pair of nodes, the first link
    /// of a shortest path by latency (ties broken by fewer hops, then by
    /// link order). Hosts do not forward, so paths only pass through
    /// routers. Called automatically before the first event.
    pub fn compute_routes(&mut self) {
        let n = self.nodes.len();
        // dist[d][m]: distance from m to d, by a search rooted at d.
        let mut next_hop = vec![vec![None; n]; n];
        for d in 0..n {
            let dist = self.distances_to(d);
            for (s, row) in next_hop.iter_mut().enumerate() {
                if s == d {
                    continue;
                }
                let mut best: Option<((u64, u32), LinkId, u8)> = None;
                for e in self.graph.edges(NodeIndex::new(s)) {
                    let link = &self.links[*e.weight() as usize];
                    let m = if link.ends[0] as usize == s {
                        link.ends[1]
                    } else {
                        link.ends[0]
                    } as usize;
                    if m != d && self.nodes[m].kind != NodeKind::Router {
                        continue;
                    }
                    let Some((dm, hm)) = dist[m] else { continue };
                    let cost = (dm + Self::weight(link), hm + 1);
                    let dir = if link.ends[0] as usize == s { 0 } else { 1 };
                    if best.is_none_or(|(c, l, _)| (cost, link.id) < (c, l)) {
                        best = Some((cost, link.id, dir));
                    }
                }
                row[d] = best.map(|(_, l, dir)| (l, dir));
            }
        }
        self.next_hop = next_hop;
        self.routes_dirty = false;
    }

    fn weight(link: &Link) -> u64 {
        link.config.latency.as_nanos()
    }

    /// Dijkstra from `d` over links, entering hosts only as the target:
    /// `(distance, hops)` from each node to `d`.
    fn distances_to(&self, d: usize) -> Vec<Option<(u64, u32)>> {
        let mut dist: Vec<Option<(u64, u32)>> = vec![None; self.nodes.len()];
        let mut heap = BinaryHeap::new();
        dist[d] = Some((0, 0));
        heap.push(Reverse((0u64, 0u32, d)));
        while let Some(Reverse((du, hu, u))) = heap.pop() {
            if dist[u] != Some((du, hu)) {
                continue;
            }
            // Paths continue only through routers (and start at `d`).
            if u != d && self.nodes[u].kind != NodeKind::Router {
                continue;
            }
            for e in self.graph.edges(NodeIndex::new(u)) {
                let link = &self.links[*e.weight() as usize];
                let v = if link.ends[0] as usize == u {
                    link.ends[1]
                } else {
                    link.ends[0]
                } as usize;
                let cand = (du + Self::weight(link), hu + 1);
                if dist[v].is_none_or(|cur| cand < cur) {
                    dist[v] = Some(cand);
                    heap.push(Reverse((cand.0, cand.1, v)));
                }
            }
        }
        dist
    }

    // ------------------------------------------------------------------
    // Running
    // ------------------------------------------------------------------

    /// The current simulated time.
    pub fn now(&self) -> SimTime {
        self.now
    }

    /// The time of the next event, if any.
    pub fn next_event_time(&mut self) -> Option<SimTime> {
        self.queue.peek_time()
    }

    /// Events processed so far.
    pub fn events_processed(&self) -> u64 {
        self.events_processed
    }

    /// TCP segments handled so far (sent plus received by hosts).
    pub fn segments_processed(&self) -> u64 {
        self.segments_processed
    }

    /// Processes the next event; false if there is none.
    pub fn step(&mut self) -> bool {
        if self.routes_dirty {
            self.compute_routes();
        }
        let Some((time, event)) = self.queue.pop() else {
            return false;
        };
        let before = self.now;
        self.now = self.now.max(time);
        self.events_processed += 1;
        if !self.dispatch(event) {
            // A timer that was cancelled or found nothing to do: nothing
            // happened, so simulated time does not move for it. A run
            // then ends at its last real event, not at the last stale
            // timer.
            self.now = before;
        }
        self.deliver_pending();
        self.check_triggers();
        true
    }

    /// Processes every event up to and including time `t`, then sets the
    /// clock to `t`.
    pub fn run_until(&mut self, t: SimTime) {
        while self.queue.peek_time().is_some_and(|next| next <= t) {
            self.step();
        }
        self.now = self.now.max(t);
    }

    /// Runs until no event is left or the next one is after `horizon`.
    pub fn run(&mut self, horizon: SimTime) {
        while self.queue.peek_time().is_some_and(|next| next <= horizon) {
            self.step();
        }
    }

    /// Carries out one event; false if it turned out to do nothing.
    fn dispatch(&mut self, event: SimEvent) -> bool {
        match event {
            SimEvent::Arrive {
                link,
                dir,
                epoch,
                ttl,
                packet,
            } => self.arrive(link, usize::from(dir), epoch, ttl, packet),
            SimEvent::Local { node, packet } => self.host_receive(node, packet, None),
            SimEvent::TcpTimer { conn } => return self.tcp_timer(conn),
            SimEvent::AppTimer { app, epoch, token } => return self.app_timer(app, epoch, token),
            SimEvent::AppEvent { app, event } => self.pending.push_back((app, event)),
            SimEvent::Call { app, call } => {
                let slot = &mut self.apps[app as usize];
                if !self.nodes[slot.host as usize].up {
                    return false;
                }
                if let Some(mut a) = slot.app.take() {
                    let host = slot.host;
                    call(
                        a.as_mut(),
                        &mut AppCx {
                            world: self,
                            app,
                            host,
                        },
                    );
                    self.apps[app as usize].app = Some(a);
                }
            }
            SimEvent::Fault(f) => self.apply_fault(f),
            SimEvent::Narrate(text) => self.trace.push(self.now, Event::Narration { text }),
        }
        true
    }

    /// An application timer fires, unless it was cancelled or its host
    /// crashed since it was set.
    fn app_timer(&mut self, app: AppId, epoch: u32, token: u64) -> bool {
        let key = (app, token);
        if let Some(n) = self.timers_pending.get_mut(&key) {
            *n -= 1;
            if *n == 0 {
                self.timers_pending.remove(&key);
            }
        }
        if let Some(n) = self.timers_cancelled.get_mut(&key) {
            *n -= 1;
            if *n == 0 {
                self.timers_cancelled.remove(&key);
            }
            return false;
        }
        if self.apps[app as usize].epoch != epoch {
            return false;
        }
        self.pending.push_back((app, AppEvent::Timer { token }));
        true
    }

    fn deliver_pending(&mut self) {
        while let Some((app, event)) = self.pending.pop_front() {
            let slot = &mut self.apps[app as usize];
            let host = slot.host;
            if !self.nodes[host as usize].up && !matches!(event, AppEvent::Crashed) {
                continue;
            }
            if let Some(mut a) = slot.app.take() {
                a.handle_event(
                    &mut AppCx {
                        world: self,
                        app,
                        host,
                    },
                    event,
                );
                self.apps[app as usize].app = Some(a);
            }
        }
    }

    fn apply_fault(&mut self, fault: Fault) {
        let now = self.now;
        match fault {
            Fault::LinkUp { link, up } => {
                self.links[link as usize].set_up(up);
                self.trace.push(now, Event::LinkState { link, up });
            }
            Fault::SetLoss { link, loss } => {
                self.links[link as usize].config.loss = loss;
                let name = self.links[link as usize].name.clone();
                self.trace.push(
                    now,
                    Event::Fault {
                        event: "loss_changed",
                        fields: vec![
                            ("link", name.into()),
                            ("loss_percent", ((loss * 100.0).round() as i64).into()),
                        ],
                    },
                );
            }
            Fault::SetLatency { link, latency } => {
                self.links[link as usize].config.latency = latency;
                let name = self.links[link as usize].name.clone();
                self.trace.push(
                    now,
                    Event::Fault {
                        event: "latency_changed",
                        fields: vec![
                            ("link", name.into()),
                            ("latency_us", latency.as_micros().into()),
                        ],
                    },
                );
            }
            Fault::DropPacket { packet } => {
                // Traced when it happens, not when it is armed: until then
                // the run is the same as without it.
                self.doomed.insert(packet);
            }
            Fault::HostDown { node } => self.crash(node),
            Fault::HostUp { node } => {
                let n = &mut self.nodes[node as usize];
                if n.up {
                    return;
                }
                n.up = true;
                self.trace.push(
                    now,
                    Event::Fault {
                        event: "host_up",
                        fields: vec![("host", Value::Node(node))],
                    },
                );
                for app in self.nodes[node as usize].apps.clone() {
                    self.pending.push_back((app, AppEvent::Start));
                }
            }
        }
    }

    fn crash(&mut self, node: NodeId) {
        let n = &mut self.nodes[node as usize];
        if !n.up {
            return;
        }
        n.up = false;
        n.listeners.clear();
        n.udp.clear();
        let conns: Vec<ConnId> = std::mem::take(&mut n.conns).into_values().collect();
        for c in conns {
            self.conns[c as usize] = None;
        }
        self.trace.push(
            self.now,
            Event::Fault {
                event: "host_down",
                fields: vec![("host", Value::Node(node))],
            },
        );
        for app in self.nodes[node as usize].apps.clone() {
            self.apps[app as usize].epoch += 1;
            self.pending.push_back((app, AppEvent::Crashed));
        }
    }

    // ------------------------------------------------------------------
    // IP
    // ------------------------------------------------------------------

    /// The link and direction from `node` toward `dst`.
    fn route(&self, node: NodeId, dst: Ipv4Addr) -> Option<(LinkId, u8)> {
        let &to = self.trace.addresses.get(&dst)?;
        self.next_hop
            .get(node as usize)?
            .get(to as usize)
            .copied()
            .flatten()
    }

    /// The source address `node` uses toward `dst`: that of the interface
    /// the route leaves by.
    fn source_addr(&self, node: NodeId, dst: Ipv4Addr) -> Ipv4Addr {
        let n = &self.nodes[node as usize];
        if n.owns(dst) {
            return dst;
        }
        if let Some((link, _)) = self.route(node, dst)
            && let Some(i) = n.interfaces.iter().find(|i| i.link == link)
        {
            return i.addr;
        }
        n.address().unwrap_or(Ipv4Addr::UNSPECIFIED)
    }

    /// Sends a packet from `node` (its own or one it forwards).
    fn ip_output(&mut self, node: NodeId, packet: PacketId, ttl: u8) {
        let Some(p) = self.trace.packet(packet) else {
            return;
        };
        let (dst, bytes) = (p.dst, p.wire_len());
        if self.nodes[node as usize].owns(dst) {
            self.queue.push(self.now, SimEvent::Local { node, packet });
            return;
        }
        let Some((link, dir)) = self.route(node, dst) else {
            self.drop_packet(node, None, packet, DropReason::NoRoute);
            return;
        };
        let now = self.now;
        let l = &mut self.links[link as usize];
        match l.enqueue(usize::from(dir), bytes, now, &mut self.rng) {
            Err(reason) => self.drop_packet(node, Some(link), packet, reason),
            Ok(s) => {
                let epoch = l.epoch;
                let to = l.ends[1 - usize::from(dir)];
                self.trace.push(
                    now,
                    Event::Transmit {
                        link,
                        from: node,
                        to,
                        packet,
                        depart: s.depart,
                        arrive: s.arrive,
                    },
                );
                for at in [Some(s.arrive), s.duplicate_at].into_iter().flatten() {
                    self.queue.push(
                        at,
                        SimEvent::Arrive {
                            link,
                            dir,
                            epoch,
                            ttl,
                            packet,
                        },
                    );
                }
            }
        }
    }

    fn drop_packet(
        &mut self,
        node: NodeId,
        link: Option<LinkId>,
        packet: PacketId,
        reason: DropReason,
    ) {
        self.trace.push(
            self.now,
            Event::Dropped {
                node,
                link,
                packet,
                reason,
            },
        );
    }

    fn arrive(&mut self, link: LinkId, dir: usize, epoch: u32, ttl: u8, packet: PacketId) {
        let l = &self.links[link as usize];
        let to = l.ends[1 - dir];
        if l.epoch != epoch || !l.up {
            self.drop_packet(to, Some(link), packet, DropReason::LinkDown);
            return;
        }
        if self.doomed.remove(&packet) {
            self.drop_packet(to, Some(link), packet, DropReason::Injected);
            return;
        }
        let loss = l.config.loss;
        if self.rng.chance(loss) {
            self.drop_packet(to, Some(link), packet, DropReason::Loss);
            return;
        }
        if let Some(taps) = self.taps.get(&link)
            && let Some(p) = self.trace.packet(packet)
        {
            for &app in taps {
                self.pending
                    .push_back((app, AppEvent::Sniffed { packet: p.clone() }));
            }
        }
        if !self.nodes[to as usize].up {
            self.drop_packet(to, Some(link), packet, DropReason::HostDown);
            return;
        }
        match self.nodes[to as usize].kind {
            NodeKind::Router => self.forward(to, packet, ttl),
            NodeKind::Host => self.host_receive(to, packet, Some(link)),
        }
    }

    fn forward(&mut self, node: NodeId, packet: PacketId, ttl: u8) {
        let Some(p) = self.trace.packet(packet) else {
            return;
        };
        if self.nodes[node as usize].owns(p.dst) {
            // Routers run no applications.
            self.drop_packet(node, None, packet, DropReason::PortClosed);
            return;
        }
        // RFC 791: the time to live is decreased by each router.
        if ttl <= 1 {
            self.drop_packet(node, None, packet, DropReason::TtlExpired);
            return;
        }
        self.trace.push(self.now, Event::Forwarded { node, packet });
        self.ip_output(node, packet, ttl - 1);
    }

    fn host_receive(&mut self, node: NodeId, packet: PacketId, link: Option<LinkId>) {
        let Some(p) = self.trace.packet(packet) else {
            return;
        };
        if !self.nodes[node as usize].owns(p.dst) {
            self.drop_packet(node, link, packet, DropReason::NotForHost);
            return;
        }
        if let Some(app) = self.nodes[node as usize].raw_stack {
            let event = match p.payload {
                Payload::Tcp(_) => Event::SegmentReceived { host: node, packet },
                Payload::Udp(_) => Event::DatagramReceived { host: node, packet },
            };
            let packet = p.clone();
            self.trace.push(self.now, event);
            self.pending
                .push_back((app, AppEvent::RawPacket { packet }));
            return;
        }
        let (src, dst) = (p.src, p.dst);
        match &p.payload {
            Payload::Tcp(seg) => {
                let seg = seg.clone();
                self.tcp_input(node, packet, src, dst, seg);
            }
            Payload::Udp(d) => {
                let d = d.clone();
                self.udp_input(node, packet, src, d);
            }
        }
    }

    /// Creates a packet from `node` and sends it.
    fn send_packet(
        &mut self,
        node: NodeId,
        src: Ipv4Addr,
        dst: Ipv4Addr,
        payload: Payload,
    ) -> PacketId {
        let is_tcp = matches!(payload, Payload::Tcp(_));
        let id = self.trace.add_packet(Packet {
            id: 0,
            src,
            dst,
            ttl: DEFAULT_TTL,
            payload,
        });
        let event = if is_tcp {
            self.segments_processed += 1;
            Event::SegmentSent {
                host: node,
                packet: id,
            }
        } else {
            Event::DatagramSent {
                host: node,
                packet: id,
            }
        };
        self.trace.push(self.now, event);
        self.ip_output(node, id, DEFAULT_TTL);
        id
    }

    // ------------------------------------------------------------------
    // UDP
    // ------------------------------------------------------------------

    fn udp_input(&mut self, node: NodeId, packet: PacketId, src: Ipv4Addr, d: UdpDatagram) {
        let Some(&(app, _)) = self.nodes[node as usize].udp.get(&d.dst_port) else {
            self.drop_packet(node, None, packet, DropReason::PortClosed);
            return;
        };
        self.trace
            .push(self.now, Event::DatagramReceived { host: node, packet });
        self.pending.push_back((
            app,
            AppEvent::Datagram {
                from: SocketAddrV4::new(src, d.src_port),
                port: d.dst_port,
                data: d.payload,
            },
        ));
    }

    // ------------------------------------------------------------------
    // TCP
    // ------------------------------------------------------------------

    fn tcp_input(
        &mut self,
        node: NodeId,
        packet: PacketId,
        src: Ipv4Addr,
        dst: Ipv4Addr,
        seg: TcpSegment,
    ) {
        let local = SocketAddrV4::new(dst, seg.dst_port);
        let remote = SocketAddrV4::new(src, seg.src_port);
        let now = self.now;
        let existing = self.nodes[node as usize]
            .conns
            .get(&(local, remote))
            .copied();
        let is_syn = seg.flags.syn() && !seg.flags.ack() && !seg.flags.rst();
        if existing.is_none() && is_syn {
            let fw = &self.nodes[node as usize].firewall;
            if fw.block_inbound && !fw.allow_ports.contains(&seg.dst_port) {
                self.drop_packet(node, None, packet, DropReason::Firewall);
                return;
            }
        }
        self.segments_processed += 1;
        self.trace
            .push(now, Event::SegmentReceived { host: node, packet });
        if let Some(id) = existing {
            if let Some(e) = self.conns[id as usize].as_mut() {
                e.tcp.handle_segment(now, &seg);
            }
            self.flush_conn(id);
            return;
        }
        let listener = self.nodes[node as usize]
            .listeners
            .get(&seg.dst_port)
            .copied();
        match listener {
            Some((app, protocol)) if is_syn => {
                let iss = self.rng.next_u32();
                let tcp =
                    TcpConnection::accept(self.tcp_config.clone(), local, remote, &seg, iss, now);
                let id = self.register_conn(node, app, tcp, Some(seg.dst_port), protocol);
                self.flush_conn(id);
            }
            _ => {
                // RFC 9293 §3.10.7.1: a segment for no connection gets RST.
                if let Some(rst) = tcp::reset_for(&seg) {
                    self.send_packet(node, dst, src, Payload::Tcp(rst));
                }
            }
        }
    }

    fn register_conn(
        &mut self,
        node: NodeId,
        owner: AppId,
        tcp: TcpConnection,
        accepted_on: Option<u16>,
        protocol: Protocol,
    ) -> ConnId {
        let id = self.conns.len() as ConnId;
        self.trace
            .set_protocol(self.now, tcp.local(), tcp.remote(), protocol);
        self.nodes[node as usize]
            .conns
            .insert((tcp.local(), tcp.remote()), id);
        self.conns.push(Some(ConnEntry {
            host: node,
            owner,
            tcp,
            accepted_on,
            timer_at: None,
            outbox: VecDeque::new(),
            close_requested: false,
            close_done: false,
            announced: false,
            closed_notified: false,
        }));
        id
    }

    /// A connection's timer event; false if the connection is gone or no
    /// timer of it is due (the deadline moved since this was queued).
    fn tcp_timer(&mut self, id: ConnId) -> bool {
        let now = self.now;
        let Some(e) = self.conns.get_mut(id as usize).and_then(Option::as_mut) else {
            return false;
        };
        if e.timer_at.is_some_and(|t| t <= now) {
            e.timer_at = None;
        }
        let due = e.tcp.poll_timeout().is_some_and(|t| t <= now);
        if due {
            e.tcp.handle_timeout(now);
        }
        self.flush_conn(id);
        due
    }

    /// Brings a connection up to date after anything touched it: events to
    /// the trace and the application, queued data into TCP, segments onto
    /// the network, the timer into the queue, and the entry removed once
    /// the connection is over.
    fn flush_conn(&mut self, id: ConnId) {
        self.drain_tcp_events(id);
        self.fill_from_outbox(id);
        self.transmit(id);
        self.drain_tcp_events(id);
        self.arm_timer(id);
        self.reap(id);
    }

    fn entry(&mut self, id: ConnId) -> Option<&mut ConnEntry> {
        self.conns.get_mut(id as usize).and_then(Option::as_mut)
    }

    fn fill_from_outbox(&mut self, id: ConnId) {
        let now = self.now;
        let Some(e) = self.entry(id) else { return };
        let had_data = !e.outbox.is_empty();
        while let Some(front) = e.outbox.front_mut() {
            let n = e.tcp.send_bytes(front.clone());
            if n == front.len() {
                e.outbox.pop_front();
            } else {
                let _ = front.split_to(n);
                break;
            }
        }
        let drained = had_data && e.outbox.is_empty();
        if e.close_requested && !e.close_done && e.outbox.is_empty() {
            e.close_done = true;
            e.tcp.close();
        }
        e.tcp.after_app_call(now);
        let (owner, announced) = (e.owner, e.announced);
        if drained && announced {
            self.pending
                .push_back((owner, AppEvent::Writable { conn: id }));
        }
    }

    fn transmit(&mut self, id: ConnId) {
        let now = self.now;
        loop {
            let Some(e) = self.entry(id) else { return };
            let Some(seg) = e.tcp.poll_transmit(now) else {
                return;
            };
            let (host, src, dst) = (e.host, *e.tcp.local().ip(), *e.tcp.remote().ip());
            self.send_packet(host, src, dst, Payload::Tcp(seg));
        }
    }

    fn drain_tcp_events(&mut self, id: ConnId) {
        let now = self.now;
        loop {
            let Some(e) = self.entry(id) else { return };
            let Some(ev) = e.tcp.poll_event() else { return };
            let host = e.host;
            let owner = e.owner;
            let conn: ConnName = (e.tcp.local(), e.tcp.remote());
            match ev {
                TcpEvent::State { from, to } => {
                    self.trace.push(
                        now,
                        Event::TcpState {
                            host,
                            conn,
                            from,
                            to,
                        },
                    );
                }
                TcpEvent::Connected => {
                    e.announced = true;
                    let event = match e.accepted_on {
                        Some(port) => AppEvent::Accepted { conn: id, port },
                        None => AppEvent::Connected { conn: id },
                    };
                    self.pending.push_back((owner, event));
                }
                TcpEvent::Readable => {
                    let data = e.tcp.recv_bytes();
                    if !data.is_empty() && e.announced {
                        self.pending
                            .push_back((owner, AppEvent::Data { conn: id, data }));
                    }
                }
                TcpEvent::Writable => {
                    // fill_from_outbox moves more data in and tells the
                    // application when its outbox ran dry.
                }
                TcpEvent::PeerClosed => {
                    if e.announced {
                        self.pending
                            .push_back((owner, AppEvent::PeerClosed { conn: id }));
                    }
                }
                TcpEvent::Error(error) => {
                    let tell = e.announced || e.accepted_on.is_none();
                    if tell && !e.closed_notified {
                        e.closed_notified = true;
                        self.pending.push_back((
                            owner,
                            AppEvent::Closed {
                                conn: id,
                                error: Some(error),
                            },
                        ));
                    }
                    self.trace
                        .push(now, Event::ConnFailed { host, conn, error });
                }
                TcpEvent::Timeout { rto, backoff } => self.trace.push(
                    now,
                    Event::RetransmitTimeout {
                        host,
                        conn,
                        rto,
                        backoff,
                    },
                ),
                TcpEvent::FastRetransmit { seq } => self
                    .trace
                    .push(now, Event::FastRetransmit { host, conn, seq }),
                TcpEvent::Cwnd { cwnd, ssthresh } => self.trace.push(
                    now,
                    Event::Cwnd {
                        host,
                        conn,
                        cwnd,
                        ssthresh,
                    },
                ),
                TcpEvent::Rtt { sample, srtt, rto } => self.trace.push(
                    now,
                    Event::Rtt {
                        host,
                        conn,
                        sample,
                        srtt,
                        rto,
                    },
                ),
            }
        }
    }

    fn arm_timer(&mut self, id: ConnId) {
        let Some(e) = self.conns.get_mut(id as usize).and_then(Option::as_mut) else {
            return;
        };
        if let Some(t) = e.tcp.poll_timeout()
            && e.timer_at.is_none_or(|s| t < s)
        {
            e.timer_at = Some(t);
            self.queue.push(t, SimEvent::TcpTimer { conn: id });
        }
    }

    /// Tells the application a connection is over once both sides closed
    /// (TIME-WAIT or CLOSED), and forgets the connection once CLOSED.
    fn reap(&mut self, id: ConnId) {
        let Some(e) = self.entry(id) else { return };
        let state = e.tcp.state();
        let over = matches!(state, TcpState::TimeWait | TcpState::Closed);
        if over && !e.closed_notified {
            e.closed_notified = true;
            if e.announced {
                let owner = e.owner;
                self.pending.push_back((
                    owner,
                    AppEvent::Closed {
                        conn: id,
                        error: None,
                    },
                ));
            }
        }
        let Some(e) = self.entry(id) else { return };
        if e.tcp.is_finished() {
            let (host, key) = (e.host, (e.tcp.local(), e.tcp.remote()));
            self.nodes[host as usize].conns.remove(&key);
            self.conns[id as usize] = None;
        }
    }

    /// A free ephemeral port on `node` (counting up, wrapping around).
    fn ephemeral_port(&mut self, node: NodeId) -> Result<u16, SocketError> {
        let n = &mut self.nodes[node as usize];
        for _ in 0..(u16::MAX - EPHEMERAL_START) {
            let p = n.next_port;
            n.next_port = if p == u16::MAX {
                EPHEMERAL_START
            } else {
                p + 1
            };
            let used = n.listeners.contains_key(&p) || n.conns.keys().any(|(l, _)| l.port() == p);
            if !used {
                return Ok(p);
            }
        }
        Err(SocketError::NoFreePort)
    }

    // ------------------------------------------------------------------
    // Inspection
    // ------------------------------------------------------------------

    /// The recorded trace so far.
    pub fn trace(&self) -> &Trace {
        &self.trace
    }

    /// Takes the trace out of the world (at the end of a run).
    pub fn take_trace(&mut self) -> Trace {
        std::mem::take(&mut self.trace)
    }

    pub fn nodes(&self) -> &[Node] {
        &self.nodes
    }

    pub fn node(&self, id: NodeId) -> &Node {
        &self.nodes[id as usize]
    }

    /// The node with this name.
    pub fn node_by_name(&self, name: &str) -> Option<NodeId> {
        self.nodes
            .iter()
            .position(|n| n.name == name)
            .map(|i| i as NodeId)
    }

    pub fn links(&self) -> &[Link] {
        &self.links
    }

    /// An application, for inspection.
    pub fn app(&self, id: AppId) -> Option<&dyn Application> {
        self.apps.get(id as usize)?.app.as_deref()
    }

    /// An application as its concrete type.
    pub fn app_as<T: Application>(&self, id: AppId) -> Option<&T> {
        self.app(id)?.as_any().downcast_ref()
    }

    /// The host an application runs on.
    pub fn app_host(&self, id: AppId) -> Option<NodeId> {
        self.apps.get(id as usize).map(|s| s.host)
    }

    /// Every live connection: id, host and the TCP state machine.
    pub fn connections(&self) -> impl Iterator<Item = (ConnId, NodeId, &TcpConnection)> {
        self.conns
            .iter()
            .enumerate()
            .filter_map(|(i, e)| e.as_ref().map(|e| (i as ConnId, e.host, &e.tcp)))
    }
}

/// What an application can do, handed to it with each event.
pub struct AppCx<'a> {
    world: &'a mut World,
    app: AppId,
    host: NodeId,
}

impl AppCx<'_> {
    /// The current simulated time.
    pub fn now(&self) -> SimTime {
        self.world.now
    }

    /// The calendar time now, in Unix seconds, for dates in headers. It
    /// is the scenario's start date plus simulated time: no wall clock.
    pub fn now_unix(&self) -> i64 {
        self.world.epoch_unix + (self.world.now.as_nanos() / 1_000_000_000) as i64
    }

    /// This application's id.
    pub fn app_id(&self) -> AppId {
        self.app
    }

    /// The host this application runs on.
    pub fn host(&self) -> NodeId {
        self.host
    }

    pub fn host_name(&self) -> &str {
        &self.world.nodes[self.host as usize].name
    }

    /// This host's address.
    pub fn address(&self) -> Ipv4Addr {
        self.world.nodes[self.host as usize]
            .address()
            .unwrap_or(Ipv4Addr::UNSPECIFIED)
    }

    /// The address of the host called `name`, as an /etc/hosts file would
    /// give it (applications that should use DNS do so instead).
    pub fn host_address(&self, name: &str) -> Option<Ipv4Addr> {
        let id = self.world.node_by_name(name)?;
        self.world.nodes[id as usize].address()
    }

    /// The name of the host that owns `addr`, if it is simulated.
    pub fn name_of(&self, addr: Ipv4Addr) -> Option<&str> {
        let &n = self.world.trace.addresses.get(&addr)?;
        Some(&self.world.nodes[n as usize].name)
    }

    /// The run's random number generator.
    pub fn rng(&mut self) -> &mut SimRng {
        &mut self.world.rng
    }

    /// Accepts connections on `port`, which carry `protocol`.
    pub fn listen(&mut self, port: u16, protocol: Protocol) -> Result<(), SocketError> {
        let n = &mut self.world.nodes[self.host as usize];
        if n.listeners.contains_key(&port) {
            return Err(SocketError::PortInUse(port));
        }
        n.listeners.insert(port, (self.app, protocol));
        Ok(())
    }

    /// Stops accepting connections on `port`.
    pub fn unlisten(&mut self, port: u16) {
        let n = &mut self.world.nodes[self.host as usize];
        if n.listeners.get(&port).map(|&(app, _)| app) == Some(self.app) {
            n.listeners.remove(&port);
        }
    }

    /// Opens a connection from an ephemeral port, to carry `protocol`.
    pub fn connect(
        &mut self,
        remote: SocketAddrV4,
        protocol: Protocol,
    ) -> Result<ConnId, SocketError> {
        let port = self.world.ephemeral_port(self.host)?;
        self.connect_from(port, remote, protocol)
    }

    /// Opens a connection from a given local port (an FTP server's active
    /// data connections come from port 20).
    pub fn connect_from(
        &mut self,
        port: u16,
        remote: SocketAddrV4,
        protocol: Protocol,
    ) -> Result<ConnId, SocketError> {
        let w = &mut *self.world;
        let src = w.source_addr(self.host, *remote.ip());
        let local = SocketAddrV4::new(src, port);
        if w.nodes[self.host as usize]
            .conns
            .contains_key(&(local, remote))
        {
            return Err(SocketError::PortInUse(port));
        }
        let iss = w.rng.next_u32();
        let tcp = TcpConnection::connect(w.tcp_config.clone(), local, remote, iss, w.now);
        let id = w.register_conn(self.host, self.app, tcp, None, protocol);
        w.flush_conn(id);
        Ok(id)
    }

    /// Queues bytes on a connection; they go out as TCP's windows allow.
    /// [`AppEvent::Writable`] follows when all of them were handed to TCP.
    pub fn send(&mut self, conn: ConnId, data: impl Into<Bytes>) {
        let data = data.into();
        if data.is_empty() {
            return;
        }
        let Some(e) = self.world.entry(conn) else {
            return;
        };
        if e.close_requested || e.host != self.host {
            return;
        }
        e.outbox.push_back(data);
        self.world.flush_conn(conn);
    }

    /// Bytes sent on `conn` that TCP has not taken yet.
    pub fn unsent(&self, conn: ConnId) -> usize {
        self.world
            .conns
            .get(conn as usize)
            .and_then(Option::as_ref)
            .map_or(0, |e| e.outbox.iter().map(Bytes::len).sum())
    }

    /// Closes a connection once everything queued has been sent (FIN).
    pub fn close(&mut self, conn: ConnId) {
        let Some(e) = self.world.entry(conn) else {
            return;
        };
        if e.host != self.host {
            return;
        }
        e.close_requested = true;
        self.world.flush_conn(conn);
    }

    /// Resets a connection (RST) and forgets it.
    pub fn abort(&mut self, conn: ConnId) {
        let Some(e) = self.world.entry(conn) else {
            return;
        };
        if e.host != self.host {
            return;
        }
        e.closed_notified = true;
        e.tcp.abort();
        self.world.flush_conn(conn);
    }

    /// A connection's TCP state machine, for reading its addresses and
    /// state.
    pub fn connection(&self, conn: ConnId) -> Option<&TcpConnection> {
        self.world
            .conns
            .get(conn as usize)?
            .as_ref()
            .map(|e| &e.tcp)
    }

    /// Receives datagrams on `port`, which carry `protocol`.
    pub fn udp_bind(&mut self, port: u16, protocol: Protocol) -> Result<(), SocketError> {
        let n = &mut self.world.nodes[self.host as usize];
        if n.udp.contains_key(&port) {
            return Err(SocketError::PortInUse(port));
        }
        n.udp.insert(port, (self.app, protocol));
        Ok(())
    }

    /// Binds an ephemeral UDP port for `protocol`.
    pub fn udp_bind_ephemeral(&mut self, protocol: Protocol) -> Result<u16, SocketError> {
        loop {
            let port = self.world.ephemeral_port(self.host)?;
            if self.udp_bind(port, protocol).is_ok() {
                return Ok(port);
            }
        }
    }

    /// Stops receiving datagrams on `port`.
    pub fn udp_unbind(&mut self, port: u16) {
        let n = &mut self.world.nodes[self.host as usize];
        if n.udp.get(&port).map(|&(app, _)| app) == Some(self.app) {
            n.udp.remove(&port);
        }
    }

    /// Sends a datagram from `src_port` to `dst`.
    pub fn udp_send(&mut self, src_port: u16, dst: SocketAddrV4, data: impl Into<Bytes>) {
        let w = &mut *self.world;
        let src = w.source_addr(self.host, *dst.ip());
        // The flow carries what the sending port was bound for.
        let bound = w.nodes[self.host as usize].udp.get(&src_port);
        let protocol = bound.map_or(Protocol::Udp, |&(_, p)| p);
        w.trace
            .set_protocol(w.now, SocketAddrV4::new(src, src_port), dst, protocol);
        let d = UdpDatagram {
            src_port,
            dst_port: dst.port(),
            payload: data.into(),
        };
        w.send_packet(self.host, src, *dst.ip(), Payload::Udp(d));
    }

    /// Sends a packet built by the application (a foreign stack, see
    /// [`World::set_raw_stack`]). Its id and TTL are assigned here.
    pub fn send_raw(&mut self, packet: Packet) {
        self.world
            .send_packet(self.host, packet.src, packet.dst, packet.payload);
    }

    /// Fires [`AppEvent::Timer`] with `token` after `delay`.
    pub fn set_timer(&mut self, delay: SimDuration, token: u64) {
        let w = &mut *self.world;
        let epoch = w.apps[self.app as usize].epoch;
        *w.timers_pending.entry((self.app, token)).or_default() += 1;
        w.queue.push(
            w.now + delay,
            SimEvent::AppTimer {
                app: self.app,
                epoch,
                token,
            },
        );
    }

    /// Cancels the pending timers set with `token`: they will not fire,
    /// and do not keep the run going. Cancelling a timer that already
    /// fired does nothing.
    pub fn cancel_timer(&mut self, token: u64) {
        let w = &mut *self.world;
        let key = (self.app, token);
        let pending = w.timers_pending.get(&key).copied().unwrap_or(0);
        if pending > 0 {
            w.timers_cancelled.insert(key, pending);
        }
    }

    /// Records an application event of `kind` on this host. Its fields
    /// must be among those the kind declares (checked in debug builds), so
    /// that the vocabulary scenarios are checked against stays true.
    pub fn emit(&mut self, kind: &'static EventKind, fields: Vec<(&'static str, Value)>) {
        debug_assert!(
            fields.iter().all(|(k, _)| kind.fields.contains(k)),
            "{}/{} records fields {:?} but declares only {:?}",
            kind.layer.name(),
            kind.name,
            fields.iter().map(|(k, _)| *k).collect::<Vec<_>>(),
            kind.fields
        );
        let (layer, event) = (kind.layer, kind.name);
        let host = self.host;
        self.world.trace.push(
            self.world.now,
            Event::App {
                layer,
                host,
                event,
                fields,
            },
        );
    }

    /// Records any event.
    pub fn trace(&mut self, event: Event) {
        self.world.trace.push(self.world.now, event);
    }

    /// Records a transcript line of a dialogue this application serves on
    /// `conn` (the client is the connection's remote end).
    pub fn trace_dialogue(&mut self, layer: Layer, conn: ConnId, line: Transcript) {
        let Some(tcp) = self.connection(conn) else {
            return;
        };
        let (local, remote) = (tcp.local(), tcp.remote());
        let client = self.party(remote);
        let server = Party::Node(self.host);
        self.trace_line(layer, client, server, Some((remote, local)), line);
    }

    /// Records a dialogue line between any two parties.
    pub fn trace_line(
        &mut self,
        layer: Layer,
        client: Party,
        server: Party,
        conn: Option<ConnName>,
        line: Transcript,
    ) {
        let (dir, code, line) = match line {
            Transcript::Command(l) => (Dir::Command, None, l),
            Transcript::Reply { code, text } => (Dir::Reply, code, text),
            Transcript::Data(l) => (Dir::Data, None, l),
        };
        self.trace(Event::Dialogue {
            layer,
            client,
            server,
            dir,
            code,
            line,
            conn,
        });
    }

    /// The party at a socket address: a simulated host if one owns it.
    pub fn party(&self, addr: SocketAddrV4) -> Party {
        match self.world.trace.addresses.get(addr.ip()) {
            Some(&n) => Party::Node(n),
            None => Party::External(addr),
        }
    }
}
