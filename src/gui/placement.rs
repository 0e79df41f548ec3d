//! Where the hosts go: each host of a built world as the view draws it
//! (its icon, addresses, firewall, the link an eavesdropper taps), at the
//! position the scenario gives, or placed by [`auto_layout`] when it
//! gives none.

use super::model::{HostKind, HostView};
use crate::scenario::Scenario;
use crate::scenario::spec::Role;
use crate::trace::NodeId;
use std::collections::VecDeque;

/// The hosts of a built world with their icons and positions.
pub fn host_views(s: &Scenario, w: &crate::net::World) -> Vec<HostView> {
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
