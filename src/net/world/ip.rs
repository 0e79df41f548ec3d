//! IP: sending a packet over the link its route leaves by, forwarding at
//! routers with the TTL counted down, delivering at hosts (to the
//! firewall, the eavesdroppers on the link, a raw stack or the built-in
//! one), and every drop with its reason.
//!
//! Not here: fragmentation, ICMP, ARP; choosing the routes (`routing`).

use super::super::app::AppEvent;
use super::super::packet::{DEFAULT_TTL, Packet, PacketId, Payload};
use super::{NodeKind, SimEvent, World};
use crate::trace::{DropReason, Event, LinkId, NodeId};
use std::net::Ipv4Addr;

impl World {
    /// Sends a packet from `node` (its own or one it forwards).
    fn ip_output(&mut self, node: NodeId, packet: PacketId, ttl: u8) {
        let Some(p) = self.trace.packet(packet) else {
            return;
        };
        let (dst, bytes) = (p.dst, p.wire_len());
        if self.owns(node, dst) {
            self.trace.hold(packet);
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
                    self.trace.hold(packet);
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

    pub(super) fn drop_packet(
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

    pub(super) fn arrive(
        &mut self,
        link: LinkId,
        dir: usize,
        epoch: u32,
        ttl: u8,
        packet: PacketId,
    ) {
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
        if self.owns(node, p.dst) {
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

    pub(super) fn host_receive(&mut self, node: NodeId, packet: PacketId, link: Option<LinkId>) {
        let Some(p) = self.trace.packet(packet) else {
            return;
        };
        if !self.owns(node, p.dst) {
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
    pub(super) fn send_packet(
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
}

#[cfg(test)]
mod tests {
    use super::super::super::link::LinkConfig;
    use super::super::testing::{addr, at, drops, recorder, row};
    use super::*;
    use crate::sim::SimTime;
    use crate::trace::Protocol;
    use std::net::SocketAddrV4;

    fn forwarded(w: &World) -> Vec<NodeId> {
        w.trace()
            .records
            .iter()
            .filter_map(|r| match r.event {
                Event::Forwarded { node, .. } => Some(node),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn routers_forward_toward_the_destination() {
        let (mut w, n) = row(&[
            ("a", NodeKind::Host),
            ("r1", NodeKind::Router),
            ("r2", NodeKind::Router),
            ("b", NodeKind::Host),
        ]);
        let (sender, sink) = (recorder(&mut w, n[0]), recorder(&mut w, n[3]));
        let to = SocketAddrV4::new(addr(&w, n[3]), 7);
        at(&mut w, SimTime::ZERO, sink, |cx| {
            cx.udp_bind(7, Protocol::Udp).unwrap()
        });
        at(&mut w, SimTime::from_millis(1), sender, move |cx| {
            cx.udp_send(5000, to, &b"hello"[..])
        });
        w.run(SimTime::from_secs(1));
        assert_eq!(forwarded(&w), [n[1], n[2]]);
        assert!(drops(&w).is_empty());
    }

    #[test]
    fn the_ttl_runs_out_after_as_many_routers() {
        // RFC 791: each router counts the TTL down; the one that would
        // send it on with 0 drops it.
        let mut nodes = vec![("a".to_string(), NodeKind::Host)];
        for i in 0..usize::from(DEFAULT_TTL) {
            nodes.push((format!("r{i}"), NodeKind::Router));
        }
        nodes.push(("b".to_string(), NodeKind::Host));
        let names: Vec<(&str, NodeKind)> = nodes.iter().map(|(s, k)| (s.as_str(), *k)).collect();
        let (mut w, n) = row(&names);
        let sender = recorder(&mut w, n[0]);
        let to = SocketAddrV4::new(addr(&w, *n.last().unwrap()), 7);
        at(&mut w, SimTime::ZERO, sender, move |cx| {
            cx.udp_send(5000, to, &b"far"[..])
        });
        w.run(SimTime::from_secs(1));
        let last_router = n[n.len() - 2];
        assert_eq!(drops(&w), [(last_router, DropReason::TtlExpired)]);
        assert_eq!(forwarded(&w).len(), usize::from(DEFAULT_TTL) - 1);
    }

    #[test]
    fn a_packet_with_no_route_is_dropped_where_it_starts() {
        let mut w = World::new(1);
        let [a, b, c, d] = ["a", "b", "c", "d"].map(|h| w.add_node(h, NodeKind::Host));
        w.add_link(a, b, LinkConfig::default(), None, None).unwrap();
        w.add_link(c, d, LinkConfig::default(), None, None).unwrap();
        let sender = recorder(&mut w, a);
        let to = SocketAddrV4::new(addr(&w, d), 7);
        at(&mut w, SimTime::ZERO, sender, move |cx| {
            cx.udp_send(5000, to, &b"?"[..])
        });
        w.run(SimTime::from_secs(1));
        assert_eq!(drops(&w), [(a, DropReason::NoRoute)]);
    }

    #[test]
    fn a_firewall_drops_connection_attempts_from_outside() {
        let (mut w, n) = row(&[("a", NodeKind::Host), ("b", NodeKind::Host)]);
        w.set_firewall(
            n[1],
            super::super::Firewall {
                block_inbound: true,
                allow_ports: vec![80],
            },
        );
        let (client, server) = (recorder(&mut w, n[0]), recorder(&mut w, n[1]));
        at(&mut w, SimTime::ZERO, server, |cx| {
            cx.listen(25, Protocol::Tcp).unwrap();
            cx.listen(80, Protocol::Tcp).unwrap();
        });
        let b = addr(&w, n[1]);
        at(&mut w, SimTime::from_millis(1), client, move |cx| {
            cx.connect(SocketAddrV4::new(b, 25), Protocol::Tcp).unwrap();
            cx.connect(SocketAddrV4::new(b, 80), Protocol::Tcp).unwrap();
        });
        w.run(SimTime::from_millis(500));
        assert_eq!(drops(&w), [(n[1], DropReason::Firewall)]);
        assert!(
            super::super::testing::events(&w, server)
                .iter()
                .any(|e| matches!(e, AppEvent::Accepted { port: 80, .. }))
        );
    }
}
