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
//!
//! The pieces: this file is the world itself (its nodes, how it is built,
//! the event loop, what can be inspected); `routing` computes the routes,
//! `ip` moves packets along them, `stack` is the hosts' UDP and TCP,
//! `faults` the scripted faults and triggers, and `cx` what applications
//! can call.

use super::app::{AppEvent, AppId, Application, ConnId};
use super::link::{Link, LinkConfig};
use super::packet::PacketId;
use super::tcp::{TcpConfig, TcpConnection};
use crate::sim::{EventQueue, SimRng, SimTime};
use crate::trace::{Event, LinkId, LinkName, NodeId, Protocol, Record, Trace};
use bytes::Bytes;
use std::collections::{BTreeMap, VecDeque};
use std::net::{Ipv4Addr, SocketAddrV4};

mod cx;
mod faults;
mod ip;
mod routing;
mod stack;
#[cfg(test)]
mod testing;

pub use cx::AppCx;
use faults::Trigger;
pub use faults::{Fault, TriggerAction, TriggerMatch};

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
    /// How many of `conns` use each local port: a free ephemeral port is
    /// found without a look at every connection.
    local_ports: BTreeMap<u16, u32>,
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

    /// Records connection `id` between `key.0` (here) and `key.1`.
    fn add_conn(&mut self, key: (SocketAddrV4, SocketAddrV4), id: ConnId) {
        if self.conns.insert(key, id).is_none() {
            *self.local_ports.entry(key.0.port()).or_insert(0) += 1;
        }
    }

    /// Forgets the connection between `key.0` and `key.1`.
    fn remove_conn(&mut self, key: &(SocketAddrV4, SocketAddrV4)) {
        if self.conns.remove(key).is_some()
            && let Some(n) = self.local_ports.get_mut(&key.0.port())
        {
            *n -= 1;
            if *n == 0 {
                self.local_ports.remove(&key.0.port());
            }
        }
    }

    /// Forgets every connection (a crash); returns their ids.
    fn take_conns(&mut self) -> Vec<ConnId> {
        self.local_ports.clear();
        std::mem::take(&mut self.conns).into_values().collect()
    }

    /// True if a listener or a connection uses local port `port`.
    fn port_in_use(&self, port: u16) -> bool {
        self.listeners.contains_key(&port) || self.local_ports.contains_key(&port)
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

/// Where a streamed trace's records go (`World::stream_trace`).
pub type RecordSink = Box<dyn FnMut(&Trace, &Record) + Send + Sync>;

/// A simulated network and everything running on it.
pub struct World {
    now: SimTime,
    queue: EventQueue<SimEvent>,
    rng: SimRng,
    nodes: Vec<Node>,
    links: Vec<Link>,
    /// The routes: tables at routers, a gateway for the other hosts.
    routes: routing::Routes,
    /// Where records go as they happen, if the trace is streamed.
    sink: Option<RecordSink>,
    /// Records handed to `sink` so far.
    records_streamed: u64,
    /// Nodes by name (the first of a name, as scenarios have no two).
    names: BTreeMap<String, NodeId>,
    routes_dirty: bool,
    /// Actions waiting for an event, and how many records they have seen.
    triggers: Vec<Trigger>,
    /// Pending triggers by the event name they wait for, and those that
    /// wait for any event.
    trigger_index: BTreeMap<String, faults::EventTriggers>,
    trigger_any: Vec<usize>,
    triggers_pending: usize,
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

/// The most links a world can have with automatic addresses: see
/// [`auto_subnet`].
pub const MAX_LINKS: usize = 0xffff * 64;

/// The automatic subnet of link `k` (counting from 1), as its first
/// address: links 1 to 65,535 get `10.x.y.0/24` with `x.y` = k, of which
/// they use `.1` and `.2`; the links after them take the next /30s inside
/// those same /24s (`10.0.1.4/30`, `10.0.2.4/30`, ..., then `.8/30`), so a
/// network of any size up to [`MAX_LINKS`] stays in 10.0.0.0/8 and small
/// networks keep their simple addresses.
pub fn auto_subnet(k: u32) -> Option<Ipv4Addr> {
    let (k, per_block) = (k.checked_sub(1)?, 0xffff);
    let (block, slot) = (k / per_block, k % per_block + 1);
    (block < 64).then(|| Ipv4Addr::new(10, (slot >> 8) as u8, slot as u8, (block * 4) as u8))
}

impl World {
    /// An empty world whose randomness comes from `seed`.
    pub fn new(seed: u64) -> World {
        World {
            now: SimTime::ZERO,
            queue: EventQueue::new(),
            rng: SimRng::new(seed),
            nodes: Vec::new(),
            links: Vec::new(),
            routes: routing::Routes::default(),
            sink: None,
            records_streamed: 0,
            names: BTreeMap::new(),
            routes_dirty: true,
            taps: BTreeMap::new(),
            doomed: std::collections::BTreeSet::new(),
            triggers: Vec::new(),
            trigger_index: BTreeMap::new(),
            trigger_any: Vec::new(),
            triggers_pending: 0,
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
            local_ports: BTreeMap::new(),
            next_port: EPHEMERAL_START,
        });
        self.trace.nodes.push(name.to_owned());
        self.names.entry(name.to_owned()).or_insert(id);
        self.routes_dirty = true;
        id
    }

    /// Sets a host's firewall.
    pub fn set_firewall(&mut self, node: NodeId, firewall: Firewall) {
        self.nodes[node as usize].firewall = firewall;
    }

    /// Connects two nodes. Each end gets the address given, or one from the
    /// link's own automatic subnet ([`auto_subnet`]; link k, counting from
    /// 1, is `10.x.y.0/24` with `x.y` = k up to 65,535): the router end (or
    /// the first end) is `.1` and the other `.2`.
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
        let Some(base) = auto_subnet(id + 1) else {
            return Err(TopologyError::OutOfAddresses);
        };
        let subnet = |host: u8| Ipv4Addr::from(u32::from(base) + u32::from(host));
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

    /// Records a narration caption at time `at`.
    pub fn schedule_narration(&mut self, at: SimTime, text: String) {
        self.queue.push(at, SimEvent::Narrate(text));
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
        if let Some(sink) = &mut self.sink {
            for r in &self.trace.records {
                sink(&self.trace, r);
            }
            self.records_streamed += self.trace.records.len() as u64;
            self.trace.records.clear();
            self.triggers_seen = 0;
            self.trace.settle();
        }
        true
    }

    /// Hands every record to `sink` as soon as the step that made it is
    /// over (the triggers have seen it), and keeps none: the trace's
    /// records stay empty, and packets are let go of once they have
    /// arrived or been dropped. Memory then does not grow with the length
    /// of the run. For `wiretale run` printing as it goes, or running with
    /// no trace at all.
    pub fn stream_trace(&mut self, sink: impl FnMut(&Trace, &Record) + Send + Sync + 'static) {
        self.sink = Some(Box::new(sink));
        self.trace.set_streamed();
    }

    /// How many records the run has made: those kept and those streamed.
    pub fn records_made(&self) -> u64 {
        self.records_streamed + self.trace.records.len() as u64
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
            } => {
                self.trace.release(packet);
                self.arrive(link, usize::from(dir), epoch, ttl, packet)
            }
            SimEvent::Local { node, packet } => {
                self.trace.release(packet);
                self.host_receive(node, packet, None)
            }
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
        self.names.get(name).copied()
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
