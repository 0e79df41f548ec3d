//! From a validated scenario and a seed to a world ready to run.
//!
//! Building is cheap (no I/O, no parsing), so the visualizer rebuilds the
//! world from scratch and replays it whenever it steps backward.

use super::spec::{ActionKind, FaultKind, HostSpec, Role, Scenario, ServiceSpec, TcpSpec};
use crate::apps::tcp::{BulkSender, Discard};
use crate::net::tcp::TcpConfig;
use crate::net::{AppId, Fault, Firewall, LinkConfig, NodeKind, TopologyError, World};
use crate::sim::{SimDuration, SimTime};
use crate::trace::NodeId;
use std::collections::BTreeMap;
use std::net::SocketAddrV4;

/// The longest a run goes when the scenario sets no `until`.
pub const DEFAULT_HORIZON: SimTime = SimTime::from_secs(3600);

/// A world built from a scenario, with what is needed to run and check it.
pub struct Run {
    pub world: World,
    /// When the run stops.
    pub horizon: SimTime,
    /// The node of each host, by name.
    pub nodes: BTreeMap<String, NodeId>,
}

impl Run {
    /// Runs to the horizon.
    pub fn run(&mut self) {
        self.world.run(self.horizon);
    }

    /// The first application of type `T` on the host called `host`.
    pub fn app<T: crate::net::Application>(&self, host: &str) -> Option<&T> {
        let &node = self.nodes.get(host)?;
        self.world
            .node(node)
            .apps
            .iter()
            .find_map(|&a| self.world.app_as::<T>(a))
    }
}

/// Why a network could not be built.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NetError {
    Topology(TopologyError),
    /// A host has an address but no link to put it on.
    Unlinked(String),
}

/// The TCP configuration a scenario asks for.
pub fn tcp_config(t: &TcpSpec) -> TcpConfig {
    let d = TcpConfig::default();
    TcpConfig {
        mss: t.mss.unwrap_or(d.mss),
        recv_buffer: t.recv_buffer.unwrap_or(d.recv_buffer),
        initial_rto: t.initial_rto.map_or(d.initial_rto, |x| x.0),
        min_rto: t.min_rto.map_or(d.min_rto, |x| x.0),
        msl: t.msl.map_or(d.msl, |x| x.0),
        delayed_ack: match t.delayed_ack {
            None => d.delayed_ack,
            Some(x) if x.0 == SimDuration::ZERO => None,
            Some(x) => Some(x.0),
        },
        syn_retries: t.syn_retries.unwrap_or(d.syn_retries),
        data_retries: t.data_retries.unwrap_or(d.data_retries),
        ..d
    }
}

/// The hosts, routers and links of a scenario, with no applications.
pub fn build_network(s: &Scenario) -> Result<World, NetError> {
    build_network_seeded(s, s.seed)
}

fn build_network_seeded(s: &Scenario, seed: u64) -> Result<World, NetError> {
    let mut w = World::new(seed);
    w.set_tcp_config(tcp_config(&s.tcp));
    if let Some(start) = s
        .start
        .as_deref()
        .and_then(crate::proto::date::parse_rfc3339)
    {
        w.set_epoch_unix(start);
    }
    let mut ids = BTreeMap::new();
    for h in &s.hosts {
        let kind = if h.role == Role::Router {
            NodeKind::Router
        } else {
            NodeKind::Host
        };
        let id = w.add_node(&h.name, kind);
        ids.insert(h.name.as_str(), (id, h));
        if let Some(f) = &h.firewall {
            w.set_firewall(
                id,
                Firewall {
                    block_inbound: f.block_inbound,
                    allow_ports: f.allow.clone(),
                },
            );
        }
    }
    // A host's `address` goes on its first link.
    let mut addressed = std::collections::BTreeSet::new();
    for l in &s.links {
        let (Some(&(a, ha)), Some(&(b, hb))) = (ids.get(l.a.as_str()), ids.get(l.b.as_str()))
        else {
            continue;
        };
        let mut first_address = |h: &HostSpec| {
            if addressed.insert(h.name.clone()) {
                h.address
            } else {
                None
            }
        };
        let (addr_a, addr_b) = (first_address(ha), first_address(hb));
        let d = LinkConfig::default();
        let config = LinkConfig {
            latency: l.latency.map_or(d.latency, |x| x.0),
            bandwidth_bps: l.bandwidth.map_or(d.bandwidth_bps, |x| x.0),
            queue_packets: l.queue.unwrap_or(d.queue_packets),
            loss: l.loss,
            duplicate: l.duplicate,
            jitter: l.jitter.map_or(d.jitter, |x| x.0),
        };
        let link = w
            .add_link(a, b, config, addr_a, addr_b)
            .map_err(NetError::Topology)?;
        if !l.up {
            w.schedule_fault(SimTime::ZERO, Fault::LinkUp { link, up: false });
        }
    }
    if let Some(h) = s
        .hosts
        .iter()
        .find(|h| h.address.is_some() && !addressed.contains(&h.name))
    {
        return Err(NetError::Unlinked(h.name.clone()));
    }
    w.compute_routes();
    Ok(w)
}

/// The link between two named nodes.
fn find_link(w: &World, a: NodeId, b: NodeId) -> Option<u32> {
    w.links()
        .iter()
        .find(|l| l.ends == [a, b] || l.ends == [b, a])
        .map(|l| l.id)
}

/// Builds a world for a scenario with the given seed. A scenario that
/// [`super::parse`] accepted always builds: validation builds its network
/// once to catch what only addressing reveals.
pub fn build(s: &Scenario, seed: u64) -> Result<Run, NetError> {
    let mut w = build_network_seeded(s, seed)?;
    let nodes: BTreeMap<String, NodeId> = s
        .hosts
        .iter()
        .filter_map(|h| w.node_by_name(&h.name).map(|n| (h.name.clone(), n)))
        .collect();
    for h in &s.hosts {
        let Some(&node) = nodes.get(&h.name) else {
            continue;
        };
        for svc in &h.services {
            match svc {
                ServiceSpec::Discard { port } => {
                    w.add_app(node, Box::new(Discard::new(*port)));
                }
            }
        }
    }
    // Programs the actions need, one per host and kind.
    let mut senders: BTreeMap<NodeId, AppId> = BTreeMap::new();
    for a in &s.actions {
        let Some(&node) = nodes.get(&a.host) else {
            continue;
        };
        let at = SimTime::ZERO + a.at.0;
        match &a.what {
            ActionKind::TcpSend { to, port, bytes } => {
                let app = *senders
                    .entry(node)
                    .or_insert_with(|| w.add_app(node, Box::new(BulkSender::new())));
                let Some(addr) = nodes.get(to).and_then(|&n| w.node(n).address()) else {
                    continue;
                };
                let dst = SocketAddrV4::new(addr, *port);
                let total = bytes.0;
                w.schedule_call(
                    at,
                    app,
                    Box::new(move |app, cx| {
                        if let Some(s) = app.as_any_mut().downcast_mut::<BulkSender>() {
                            s.start(cx, dst, total);
                        }
                    }),
                );
            }
        }
    }
    for f in &s.faults {
        let at = SimTime::ZERO + f.at.0;
        let node = |h: &str| nodes.get(h).copied();
        let link = |a: &str, b: &str| find_link(&w, node(a)?, node(b)?);
        let fault = match &f.what {
            FaultKind::LinkDown(a, b) => link(a, b).map(|link| Fault::LinkUp { link, up: false }),
            FaultKind::LinkUp(a, b) => link(a, b).map(|link| Fault::LinkUp { link, up: true }),
            FaultKind::SetLoss(a, b, loss) => {
                link(a, b).map(|link| Fault::SetLoss { link, loss: *loss })
            }
            FaultKind::HostDown(h) => node(h).map(|node| Fault::HostDown { node }),
            FaultKind::HostUp(h) => node(h).map(|node| Fault::HostUp { node }),
        };
        if let Some(fault) = fault {
            w.schedule_fault(at, fault);
        }
    }
    for n in &s.narration {
        w.schedule_narration(SimTime::ZERO + n.at.0, n.text.clone());
    }
    let horizon = s.until.map_or(DEFAULT_HORIZON, |u| SimTime::ZERO + u.0);
    Ok(Run {
        world: w,
        horizon,
        nodes,
    })
}
