//! Static routes, stored as a real network's are. A host with one link
//! sends everything to its gateway across that link. Only routers (and
//! hosts with several links) hold a table, and its entries are for the
//! other routers and multi-homed hosts: a host behind a router is reached
//! by the route to its router, then the router's link to it. The state is
//! (routers + multi-homed hosts) squared, whatever the number of hosts: a
//! star of 100,000 hosts has one table of one entry.
//!
//! The routes are those of shortest paths by latency (ties broken by fewer
//! hops, then by the lower link id), through routers only, and the source
//! address a host uses toward a destination comes from them. A property
//! test checks them against the all-pairs search they replace.
//!
//! A route can also be pinned: at one node, the packets for one
//! destination leave by a chosen link, whatever the tables say (a
//! scenario's `routes:`). A pin is looked at only where the packet is, so
//! pins that send a packet round in a circle are kept: the TTL ends it.
//!
//! Not here: dynamic routing protocols (there are none), forwarding the
//! packets along the routes (`ip`).

use super::super::link::Link;
use super::{NodeKind, World};
use crate::trace::{LinkId, NodeId};
use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap};
use std::net::Ipv4Addr;

/// A path's cost: its total latency in nanoseconds, then its hops.
type Cost = (u64, u32);

/// No route in a table, or no row for a node.
const NONE: u32 = u32::MAX;

/// The routing state of a world.
#[derive(Debug, Default)]
pub(super) struct Routes {
    /// For each node, its index among the routers and multi-homed hosts
    /// (the nodes that hold a table and have a column in every table), or
    /// `NONE` for a host with at most one link.
    key: Vec<u32>,
    /// `tables[from][to]`, both key indices: the first link, or `NONE`.
    tables: Vec<Vec<LinkId>>,
    /// Pinned routes: at node `.0`, packets for node `.1` leave by this
    /// link. They outlast recomputed tables.
    pinned: BTreeMap<(NodeId, NodeId), LinkId>,
}

impl World {
    /// Computes the static routes: for every router and multi-homed host,
    /// the first link of a shortest path to every other one by latency
    /// (ties broken by fewer hops, then by link id). Hosts do not forward,
    /// so paths only pass through routers. Called automatically before
    /// the first event.
    ///
    /// The cost is one shortest-path search over the links between
    /// routers for each router and multi-homed host, plus one pass over
    /// the nodes: hosts with one link cost nothing more.
    pub fn compute_routes(&mut self) {
        let n = self.nodes.len();
        let is_router = |i: usize| self.nodes[i].kind == NodeKind::Router;
        let keys: Vec<usize> = (0..n)
            .filter(|&i| is_router(i) || self.nodes[i].interfaces.len() > 1)
            .collect();
        let mut key = vec![NONE; n];
        for (k, &node) in keys.iter().enumerate() {
            key[node] = k as u32;
        }
        // Each key node's links to routers: (link, the router's key).
        let to_routers: Vec<Vec<(&Link, usize)>> = keys
            .iter()
            .map(|&node| {
                self.nodes[node]
                    .interfaces
                    .iter()
                    .filter_map(|i| {
                        let link = &self.links[i.link as usize];
                        let m = Self::other_end(link, node);
                        is_router(m).then(|| (link, key[m] as usize))
                    })
                    .collect()
            })
            .collect();
        let mut tables = vec![vec![NONE; keys.len()]; keys.len()];
        for (kd, &d) in keys.iter().enumerate() {
            // The cost from each router to `d`: a search rooted at `d`,
            // or at the routers `d` is linked to if it is a host.
            let seeds: Vec<(usize, Cost)> = if is_router(d) {
                vec![(kd, (0, 0))]
            } else {
                to_routers[kd]
                    .iter()
                    .map(|&(link, m)| (m, (Self::weight(link), 1)))
                    .collect()
            };
            let to_d = Self::search(&seeds, &to_routers);
            // The best first link of each key node: toward a router that
            // reaches `d`, or straight to `d`.
            let mut best: Vec<Option<(Cost, LinkId)>> = vec![None; keys.len()];
            for (k, links) in to_routers.iter().enumerate() {
                for &(link, m) in links {
                    let Some((dw, dh)) = to_d[m] else { continue };
                    let c = ((dw + Self::weight(link), dh + 1), link.id);
                    if best[k].is_none_or(|b| c < b) {
                        best[k] = Some(c);
                    }
                }
            }
            if !is_router(d) {
                for i in &self.nodes[d].interfaces {
                    let link = &self.links[i.link as usize];
                    let k = key[Self::other_end(link, d)];
                    if k == NONE {
                        continue;
                    }
                    let c = ((Self::weight(link), 1), link.id);
                    if best[k as usize].is_none_or(|b| c < b) {
                        best[k as usize] = Some(c);
                    }
                }
            }
            for (k, b) in best.iter().enumerate() {
                if k != kd
                    && let Some((_, link)) = b
                {
                    tables[k][kd] = *link;
                }
            }
        }
        let pinned = std::mem::take(&mut self.routes.pinned);
        self.routes = Routes {
            key,
            tables,
            pinned,
        };
        self.routes_dirty = false;
    }

    /// Pins a route: at `at`, packets addressed to `to` (any of its
    /// addresses) leave by `link`, whatever the computed tables say, and
    /// `at` speaks to `to` from its address on `link`. It holds at `at`
    /// alone: the next node routes the packet as it would anyway, so
    /// pins that send a packet round in a circle are allowed, and the
    /// packet is dropped when its TTL runs out. A second pin for the same
    /// `at` and `to` replaces the first. Recomputed routes keep the pins.
    ///
    /// # Panics
    ///
    /// If `link` is not one of `at`'s links.
    pub fn pin_route(&mut self, at: NodeId, to: NodeId, link: LinkId) {
        assert!(
            self.links
                .get(link as usize)
                .is_some_and(|l| l.ends.contains(&at)),
            "link {link} does not end at node {at}"
        );
        self.routes.pinned.insert((at, to), link);
    }

    fn weight(link: &Link) -> u64 {
        link.config.latency.as_nanos()
    }

    /// The end of `link` that is not `node`.
    fn other_end(link: &Link, node: usize) -> usize {
        if link.ends[0] as usize == node {
            link.ends[1] as usize
        } else {
            link.ends[0] as usize
        }
    }

    /// Dijkstra over the links between routers from `seeds` (router keys
    /// and their starting costs): the cost from every key node that is a
    /// router to the seeds' origin; `None` for the others.
    fn search(seeds: &[(usize, Cost)], to_routers: &[Vec<(&Link, usize)>]) -> Vec<Option<Cost>> {
        let mut dist: Vec<Option<Cost>> = vec![None; to_routers.len()];
        let mut heap = BinaryHeap::new();
        for &(k, c) in seeds {
            if dist[k].is_none_or(|cur| c < cur) {
                dist[k] = Some(c);
                heap.push(Reverse((c.0, c.1, k)));
            }
        }
        while let Some(Reverse((du, hu, u))) = heap.pop() {
            if dist[u] != Some((du, hu)) {
                continue;
            }
            for &(link, v) in &to_routers[u] {
                let cand = (du + Self::weight(link), hu + 1);
                if dist[v].is_none_or(|cur| cand < cur) {
                    dist[v] = Some(cand);
                    heap.push(Reverse((cand.0, cand.1, v)));
                }
            }
        }
        dist
    }

    /// The first link from `node` toward node `to`.
    fn next_link(&self, node: usize, to: usize) -> Option<LinkId> {
        let (key, tables) = (&self.routes.key, &self.routes.tables);
        let (from, dest) = (*key.get(node)?, *key.get(to)?);
        if dest == NONE {
            // A host with one link: its neighbour's link to it, or the
            // way to its router.
            let link = &self.links[self.nodes[to].interfaces.first()?.link as usize];
            let gateway = Self::other_end(link, to);
            if gateway == node {
                return Some(link.id);
            }
            if self.nodes[gateway].kind != NodeKind::Router {
                return None;
            }
            return self.next_link(node, gateway);
        }
        if from != NONE {
            let l = tables[from as usize][dest as usize];
            return (l != NONE).then_some(l);
        }
        // A host with one link sends to its neighbour, if that is the
        // destination or a router that knows the way on.
        let link = &self.links[self.nodes[node].interfaces.first()?.link as usize];
        let m = Self::other_end(link, node);
        let reaches =
            m == to || (self.nodes[m].kind == NodeKind::Router && self.next_link(m, to).is_some());
        reaches.then_some(link.id)
    }

    /// The link and direction from `node` toward `dst`: the route pinned
    /// at `node` for `dst`'s node if there is one, else the tables'.
    pub(super) fn route(&self, node: NodeId, dst: Ipv4Addr) -> Option<(LinkId, u8)> {
        let &to = self.trace.addresses.get(&dst)?;
        if to == node {
            return None;
        }
        let link = match self.routes.pinned.get(&(node, to)) {
            Some(&link) => link,
            None => self.next_link(node as usize, to as usize)?,
        };
        let dir = u8::from(self.links[link as usize].ends[0] != node);
        Some((link, dir))
    }

    /// True if `addr` is one of `node`'s addresses: one look in the
    /// address map, however many interfaces the node has (a hub router
    /// can have thousands).
    pub(super) fn owns(&self, node: NodeId, addr: Ipv4Addr) -> bool {
        self.trace.addresses.get(&addr) == Some(&node)
    }

    /// The source address `node` uses toward `dst`: that of the interface
    /// the route leaves by.
    pub(super) fn source_addr(&self, node: NodeId, dst: Ipv4Addr) -> Ipv4Addr {
        if self.owns(node, dst) {
            return dst;
        }
        let n = &self.nodes[node as usize];
        if let Some((link, _)) = self.route(node, dst)
            && let Some(i) = n.interfaces.iter().find(|i| i.link == link)
        {
            return i.addr;
        }
        n.address().unwrap_or(Ipv4Addr::UNSPECIFIED)
    }
}

#[cfg(test)]
mod tests {
    use super::super::super::app::AppEvent;
    use super::super::testing::{addr, at, events, latency, recorder, row};
    use super::*;
    use crate::sim::{SimDuration, SimTime};
    use crate::trace::{Event, Protocol};
    use std::net::SocketAddrV4;

    #[test]
    fn the_route_with_the_lowest_latency_wins_over_fewer_hops() {
        // a - r1 - b costs 10 ms; a - r2 - r3 - b costs 3 ms.
        let mut w = World::new(1);
        let [a, b, r1, r2, r3] = [
            ("a", NodeKind::Host),
            ("b", NodeKind::Host),
            ("r1", NodeKind::Router),
            ("r2", NodeKind::Router),
            ("r3", NodeKind::Router),
        ]
        .map(|(n, k)| w.add_node(n, k));
        let slow = w.add_link(a, r1, latency(5), None, None).unwrap();
        w.add_link(r1, b, latency(5), None, None).unwrap();
        let fast = w.add_link(a, r2, latency(1), None, None).unwrap();
        w.add_link(r2, r3, latency(1), None, None).unwrap();
        w.add_link(r3, b, latency(1), None, None).unwrap();
        w.compute_routes();
        let to_b = addr(&w, b);
        assert_eq!(w.route(a, to_b), Some((fast, 0)));
        // With the fast path slower, the short one is taken.
        w.links[fast as usize].config.latency = SimDuration::from_millis(20);
        w.compute_routes();
        assert_eq!(w.route(a, to_b), Some((slow, 0)));
    }

    #[test]
    fn on_equal_latency_fewer_hops_win() {
        // a - r2 - r3 - b (2 + 1 + 1 ms) and a - r1 - b (2 + 2 ms); the
        // longer path has the lower link ids, so link order alone would
        // pick it.
        let mut w = World::new(1);
        let [a, b, r1, r2, r3] = [
            ("a", NodeKind::Host),
            ("b", NodeKind::Host),
            ("r1", NodeKind::Router),
            ("r2", NodeKind::Router),
            ("r3", NodeKind::Router),
        ]
        .map(|(n, k)| w.add_node(n, k));
        w.add_link(a, r2, latency(2), None, None).unwrap();
        w.add_link(r2, r3, latency(1), None, None).unwrap();
        w.add_link(r3, b, latency(1), None, None).unwrap();
        let short = w.add_link(a, r1, latency(2), None, None).unwrap();
        w.add_link(r1, b, latency(2), None, None).unwrap();
        w.compute_routes();
        assert_eq!(w.route(a, addr(&w, b)), Some((short, 0)));
    }

    #[test]
    fn a_pinned_route_wins_over_the_fastest_at_its_node_alone() {
        // a - r0, then r0 - r1 - b (10 ms) or r0 - r2 - b (2 ms).
        let mut w = World::new(1);
        let [a, b, r0, r1, r2] = [
            ("a", NodeKind::Host),
            ("b", NodeKind::Host),
            ("r0", NodeKind::Router),
            ("r1", NodeKind::Router),
            ("r2", NodeKind::Router),
        ]
        .map(|(n, k)| w.add_node(n, k));
        w.add_link(a, r0, latency(1), None, None).unwrap();
        let slow = w.add_link(r0, r1, latency(5), None, None).unwrap();
        let slow_end = w.add_link(r1, b, latency(5), None, None).unwrap();
        let fast = w.add_link(r0, r2, latency(1), None, None).unwrap();
        let fast_end = w.add_link(r2, b, latency(1), None, None).unwrap();
        w.compute_routes();
        let to_b = addr(&w, b);
        assert_eq!(w.route(r0, to_b), Some((fast, 0)));
        w.pin_route(r0, b, slow);
        assert_eq!(w.route(r0, to_b), Some((slow, 0)));
        // Any address of b, and recomputed tables keep the pin.
        let other_b = w.node(b).interfaces[1].addr;
        assert_eq!(w.route(r0, other_b), Some((slow, 0)));
        w.compute_routes();
        assert_eq!(w.route(r0, to_b), Some((slow, 0)));
        // r0 speaks to b from its end of the pinned link.
        let r0_on_slow = w.node(r0).interfaces[1];
        assert_eq!(r0_on_slow.link, slow);
        assert_eq!(w.source_addr(r0, to_b), r0_on_slow.addr);
        // The other nodes route as before; other destinations too.
        assert_eq!(w.route(r1, to_b), Some((slow_end, 0)));
        assert_eq!(w.route(r2, to_b), Some((fast_end, 0)));
        assert_eq!(w.route(r0, addr(&w, r2)), Some((fast, 0)));
        // A packet from a goes by r1.
        let sender = recorder(&mut w, a);
        let sink = recorder(&mut w, b);
        at(&mut w, SimTime::ZERO, sink, |cx| {
            cx.udp_bind(7, Protocol::Udp).unwrap()
        });
        let to = SocketAddrV4::new(to_b, 7);
        at(&mut w, SimTime::from_millis(1), sender, move |cx| {
            cx.udp_send(5000, to, &b"the long way"[..])
        });
        w.run(SimTime::from_secs(1));
        let forwarded: Vec<NodeId> = w
            .trace()
            .records
            .iter()
            .filter_map(|r| match r.event {
                Event::Forwarded { node, .. } => Some(node),
                _ => None,
            })
            .collect();
        assert_eq!(forwarded, [r0, r1]);
        assert!(
            events(&w, sink)
                .iter()
                .any(|e| matches!(e, AppEvent::Datagram { .. }))
        );
    }

    #[test]
    fn hosts_do_not_forward() {
        let (mut w, n) = row(&[
            ("a", NodeKind::Host),
            ("middle", NodeKind::Host),
            ("b", NodeKind::Host),
        ]);
        w.compute_routes();
        assert_eq!(w.route(n[0], addr(&w, n[2])), None);
        assert!(w.route(n[0], addr(&w, n[1])).is_some());
    }

    #[test]
    fn a_router_speaks_from_the_interface_toward_the_destination() {
        let (mut w, n) = row(&[
            ("a", NodeKind::Host),
            ("r", NodeKind::Router),
            ("b", NodeKind::Host),
        ]);
        w.compute_routes();
        let r = w.node(n[1]);
        let (toward_a, toward_b) = (r.interfaces[0].addr, r.interfaces[1].addr);
        assert_eq!(w.source_addr(n[1], addr(&w, n[0])), toward_a);
        assert_eq!(w.source_addr(n[1], addr(&w, n[2])), toward_b);
        // Its own address is its own source.
        assert_eq!(w.source_addr(n[1], toward_b), toward_b);
    }

    #[test]
    fn links_past_the_65535th_take_the_next_30s_of_the_same_24s() {
        use super::super::{MAX_LINKS, auto_subnet};
        let at = |k| auto_subnet(k).map(|a| a.to_string());
        assert_eq!(at(1).as_deref(), Some("10.0.1.0"));
        assert_eq!(at(0xffff).as_deref(), Some("10.255.255.0"));
        assert_eq!(at(0x10000).as_deref(), Some("10.0.1.4"));
        assert_eq!(at(0x10000 + 0xffff).as_deref(), Some("10.0.1.8"));
        assert_eq!(at(MAX_LINKS as u32).as_deref(), Some("10.255.255.252"));
        assert_eq!(at(MAX_LINKS as u32 + 1), None);
        assert_eq!(at(0), None);
        // A star of 70,000 hosts: every address its own, and a host past
        // the 65,535th link reaches one before it through the hub.
        let mut w = World::new(1);
        let hub = w.add_node("hub", NodeKind::Router);
        let hosts: Vec<NodeId> = (0..70_000)
            .map(|i| {
                let h = w.add_node(&format!("h{i}"), NodeKind::Host);
                w.add_link(h, hub, latency(1), None, None).unwrap();
                h
            })
            .collect();
        assert_eq!(w.trace.addresses.len(), 140_000);
        w.compute_routes();
        let (last, first) = (hosts[69_999], hosts[0]);
        assert_eq!(addr(&w, last).to_string(), "10.17.113.6");
        let (up, _) = w.route(last, addr(&w, first)).unwrap();
        assert_eq!(w.route(hub, addr(&w, first)).map(|r| r.0), Some(0));
        assert_eq!(up, 69_999);
    }

    /// The all-pairs search the tables replace, kept as the oracle: for
    /// every pair, the first link of a shortest path by a Dijkstra rooted
    /// at the destination that enters hosts only as the target.
    fn all_pairs(w: &World) -> Vec<Vec<Option<LinkId>>> {
        let n = w.nodes.len();
        let router = |i: usize| w.nodes[i].kind == NodeKind::Router;
        let mut out = vec![vec![None; n]; n];
        for d in 0..n {
            let mut dist: Vec<Option<Cost>> = vec![None; n];
            let mut heap = BinaryHeap::new();
            dist[d] = Some((0, 0));
            heap.push(Reverse((0u64, 0u32, d)));
            while let Some(Reverse((du, hu, u))) = heap.pop() {
                if dist[u] != Some((du, hu)) || (u != d && !router(u)) {
                    continue;
                }
                for i in &w.nodes[u].interfaces {
                    let link = &w.links[i.link as usize];
                    let v = World::other_end(link, u);
                    let cand = (du + World::weight(link), hu + 1);
                    if dist[v].is_none_or(|cur| cand < cur) {
                        dist[v] = Some(cand);
                        heap.push(Reverse((cand.0, cand.1, v)));
                    }
                }
            }
            for (s, row) in out.iter_mut().enumerate() {
                if s == d {
                    continue;
                }
                let mut best: Option<(Cost, LinkId)> = None;
                for i in &w.nodes[s].interfaces {
                    let link = &w.links[i.link as usize];
                    let m = World::other_end(link, s);
                    if m != d && !router(m) {
                        continue;
                    }
                    let Some((dm, hm)) = dist[m] else { continue };
                    let c = ((dm + World::weight(link), hm + 1), link.id);
                    if best.is_none_or(|b| c < b) {
                        best = Some(c);
                    }
                }
                row[d] = best.map(|(_, l)| l);
            }
        }
        out
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(256))]

        /// Random networks of hosts and routers, with parallel links,
        /// hosts on several links, links between hosts and latencies that
        /// tie: every node's route to every other is the oracle's.
        #[test]
        fn the_tables_route_as_the_all_pairs_search_does(
            kinds in proptest::collection::vec(proptest::bool::ANY, 2..14),
            links in proptest::collection::vec((0usize..14, 0usize..14, 0u64..3), 0..30),
        ) {
            let mut w = World::new(1);
            let ids: Vec<NodeId> = kinds
                .iter()
                .enumerate()
                .map(|(i, &r)| {
                    let kind = if r { NodeKind::Router } else { NodeKind::Host };
                    w.add_node(&format!("n{i}"), kind)
                })
                .collect();
            for (a, b, ms) in links {
                let (a, b) = (a % ids.len(), b % ids.len());
                if a != b {
                    w.add_link(ids[a], ids[b], latency(ms), None, None).unwrap();
                }
            }
            w.compute_routes();
            let oracle = all_pairs(&w);
            for (s, row) in oracle.iter().enumerate() {
                for (d, want) in row.iter().enumerate() {
                    let Some(to) = w.node(d as NodeId).address() else { continue };
                    let got = w.route(s as NodeId, to).map(|(l, _)| l);
                    proptest::prop_assert_eq!(got, *want, "from n{} to n{}", s, d);
                }
            }
        }
    }
}
