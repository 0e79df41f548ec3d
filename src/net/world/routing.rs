//! Static routes: for every pair of nodes the first link of a shortest path
//! by latency (ties broken by fewer hops, then link order), through
//! routers only, and the source address a host uses toward a destination.
//!
//! Not here: dynamic routing protocols (there are none), forwarding the
//! packets along the routes (`ip`).

use super::super::link::Link;
use super::{NodeKind, World};
use crate::trace::{LinkId, NodeId};
use petgraph::graph::NodeIndex;
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::net::Ipv4Addr;

impl World {
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

    /// The link and direction from `node` toward `dst`.
    pub(super) fn route(&self, node: NodeId, dst: Ipv4Addr) -> Option<(LinkId, u8)> {
        let &to = self.trace.addresses.get(&dst)?;
        self.next_hop
            .get(node as usize)?
            .get(to as usize)
            .copied()
            .flatten()
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
    use super::super::testing::{addr, latency, row};
    use super::*;
    use crate::sim::SimDuration;

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
}
