//! The built-in host stack above IP: UDP sockets, and TCP demultiplexed to
//! connections and listeners, with RST for closed ports (RFC 9293
//! §3.10.7.1), each connection flushed after every change (segments out,
//! timers armed, the application's outbox refilled) and its events
//! queued for the owning application; ephemeral ports (RFC 6335 §6).
//!
//! Not here: the TCP state machine itself (`net::tcp`), what applications
//! may call (`cx`).

use super::super::app::{AppEvent, AppId, ConnId};
use super::super::packet::{PacketId, Payload, TcpSegment, UdpDatagram};
use super::super::tcp::{self, TcpConnection, TcpEvent, TcpState};
use super::{ConnEntry, EPHEMERAL_START, SimEvent, SocketError, World};
use crate::trace::{ConnName, DropReason, Event, NodeId, Protocol};
use std::collections::VecDeque;
use std::net::{Ipv4Addr, SocketAddrV4};

impl World {
    pub(super) fn udp_input(
        &mut self,
        node: NodeId,
        packet: PacketId,
        src: Ipv4Addr,
        d: UdpDatagram,
    ) {
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

    pub(super) fn tcp_input(
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

    pub(super) fn register_conn(
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
        self.nodes[node as usize].add_conn((tcp.local(), tcp.remote()), id);
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
    pub(super) fn tcp_timer(&mut self, id: ConnId) -> bool {
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
    pub(super) fn flush_conn(&mut self, id: ConnId) {
        self.drain_tcp_events(id);
        self.fill_from_outbox(id);
        self.transmit(id);
        self.drain_tcp_events(id);
        self.arm_timer(id);
        self.reap(id);
    }

    pub(super) fn entry(&mut self, id: ConnId) -> Option<&mut ConnEntry> {
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
            self.nodes[host as usize].remove_conn(&key);
            self.conns[id as usize] = None;
        }
    }

    /// A free ephemeral port on `node` (counting up, wrapping around).
    pub(super) fn ephemeral_port(&mut self, node: NodeId) -> Result<u16, SocketError> {
        let n = &mut self.nodes[node as usize];
        for _ in 0..(u16::MAX - EPHEMERAL_START) {
            let p = n.next_port;
            n.next_port = if p == u16::MAX {
                EPHEMERAL_START
            } else {
                p + 1
            };
            if !n.port_in_use(p) {
                return Ok(p);
            }
        }
        Err(SocketError::NoFreePort)
    }
}

#[cfg(test)]
mod tests {
    use super::super::NodeKind;
    use super::super::testing::{addr, at, drops, events, recorder, row};
    use super::*;
    use crate::sim::SimTime;

    #[test]
    fn a_datagram_reaches_the_application_bound_to_its_port() {
        let (mut w, n) = row(&[("a", NodeKind::Host), ("b", NodeKind::Host)]);
        let (sender, sink) = (recorder(&mut w, n[0]), recorder(&mut w, n[1]));
        at(&mut w, SimTime::ZERO, sink, |cx| {
            cx.udp_bind(53, Protocol::Dns).unwrap()
        });
        let to = SocketAddrV4::new(addr(&w, n[1]), 53);
        let from = SocketAddrV4::new(addr(&w, n[0]), 5000);
        at(&mut w, SimTime::from_millis(1), sender, move |cx| {
            cx.udp_send(5000, to, &b"query"[..])
        });
        w.run(SimTime::from_secs(1));
        let got = events(&w, sink);
        assert!(
            matches!(&got[..], [AppEvent::Datagram { from: f, port: 53, data }] if *f == from && &data[..] == b"query"),
            "{got:?}"
        );
    }

    #[test]
    fn a_datagram_for_an_unbound_port_is_dropped() {
        let (mut w, n) = row(&[("a", NodeKind::Host), ("b", NodeKind::Host)]);
        let sender = recorder(&mut w, n[0]);
        let to = SocketAddrV4::new(addr(&w, n[1]), 53);
        at(&mut w, SimTime::ZERO, sender, move |cx| {
            cx.udp_send(5000, to, &b"query"[..])
        });
        w.run(SimTime::from_secs(1));
        assert_eq!(drops(&w), [(n[1], DropReason::PortClosed)]);
    }

    #[test]
    fn a_connection_to_a_closed_port_is_refused_with_a_reset() {
        // RFC 9293 §3.10.7.1: the RST for a segment to no connection.
        let (mut w, n) = row(&[("a", NodeKind::Host), ("b", NodeKind::Host)]);
        let client = recorder(&mut w, n[0]);
        let to = SocketAddrV4::new(addr(&w, n[1]), 25);
        at(&mut w, SimTime::ZERO, client, move |cx| {
            cx.connect(to, Protocol::Smtp).unwrap();
        });
        w.run(SimTime::from_secs(1));
        let got = events(&w, client);
        assert!(
            matches!(
                &got[..],
                [AppEvent::Closed {
                    error: Some(tcp::TcpError::Refused),
                    ..
                }]
            ),
            "{got:?}"
        );
        assert_eq!(w.connections().count(), 0);
    }

    #[test]
    fn a_connection_is_accepted_and_carries_data() {
        let (mut w, n) = row(&[("a", NodeKind::Host), ("b", NodeKind::Host)]);
        let (client, server) = (recorder(&mut w, n[0]), recorder(&mut w, n[1]));
        at(&mut w, SimTime::ZERO, server, |cx| {
            cx.listen(7, Protocol::Tcp).unwrap()
        });
        let to = SocketAddrV4::new(addr(&w, n[1]), 7);
        at(&mut w, SimTime::from_millis(1), client, move |cx| {
            let conn = cx.connect(to, Protocol::Tcp).unwrap();
            cx.send(conn, &b"ping"[..]);
        });
        w.run(SimTime::from_secs(1));
        let got = events(&w, server);
        assert!(
            matches!(got[0], AppEvent::Accepted { port: 7, .. }),
            "{got:?}"
        );
        assert!(
            got.iter()
                .any(|e| matches!(e, AppEvent::Data { data, .. } if &data[..] == b"ping")),
            "{got:?}"
        );
        assert!(matches!(events(&w, client)[0], AppEvent::Connected { .. }));
    }

    #[test]
    fn ephemeral_ports_count_up_from_49152() {
        // RFC 6335 §6: the dynamic range.
        let (mut w, n) = row(&[("a", NodeKind::Host)]);
        assert_eq!(w.ephemeral_port(n[0]), Ok(EPHEMERAL_START));
        assert_eq!(w.ephemeral_port(n[0]), Ok(EPHEMERAL_START + 1));
    }
}
