//! The application context: what an application can do when it is handed
//! an event. Every call that changes a connection flushes it at once; what
//! the connection reports back is delivered after the handler returns.
//!
//! Not here: the network's side of those calls (`stack`, `ip`).

use super::super::app::{AppId, ConnId};
use super::super::packet::{Packet, Payload, UdpDatagram};
use super::super::tcp::TcpConnection;
use super::{SimEvent, SocketError, World};
use crate::sim::{SimDuration, SimRng, SimTime};
use crate::trace::Transcript;
use crate::trace::{ConnName, Dir, Event, EventKind, Layer, NodeId, Party, Protocol, Value};
use bytes::Bytes;
use std::net::{Ipv4Addr, SocketAddrV4};

/// What an application can do, handed to it with each event.
pub struct AppCx<'a> {
    pub(super) world: &'a mut World,
    pub(super) app: AppId,
    pub(super) host: NodeId,
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
            line: line.into(),
            conn: conn.map(Box::new),
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

#[cfg(test)]
mod tests {
    use super::super::NodeKind;
    use super::super::testing::{at, events, recorder, row};
    use super::*;
    use crate::net::AppEvent;
    use std::cell::RefCell;
    use std::rc::Rc;

    #[test]
    fn a_port_is_listened_on_or_bound_once() {
        let (mut w, n) = row(&[("a", NodeKind::Host)]);
        let app = recorder(&mut w, n[0]);
        let results = Rc::new(RefCell::new(Vec::new()));
        let out = results.clone();
        at(&mut w, SimTime::ZERO, app, move |cx| {
            let mut r = out.borrow_mut();
            r.push(cx.listen(25, Protocol::Smtp));
            r.push(cx.listen(25, Protocol::Smtp));
            r.push(cx.udp_bind(53, Protocol::Dns));
            r.push(cx.udp_bind(53, Protocol::Dns));
            // TCP and UDP ports are apart.
            r.push(cx.udp_bind(25, Protocol::Udp));
            cx.unlisten(25);
            r.push(cx.listen(25, Protocol::Smtp));
        });
        w.run(SimTime::from_secs(1));
        let busy = |p| Err(SocketError::PortInUse(p));
        assert_eq!(
            *results.borrow(),
            [Ok(()), busy(25), Ok(()), busy(53), Ok(()), Ok(())]
        );
        assert_eq!(w.node(n[0]).listening_ports().collect::<Vec<_>>(), [25]);
    }

    #[test]
    fn a_timer_fires_unless_cancelled() {
        let (mut w, n) = row(&[("a", NodeKind::Host)]);
        let app = recorder(&mut w, n[0]);
        at(&mut w, SimTime::ZERO, app, |cx| {
            cx.set_timer(SimDuration::from_millis(10), 1);
            cx.set_timer(SimDuration::from_millis(20), 2);
            cx.cancel_timer(2);
        });
        w.run(SimTime::from_secs(1));
        let got = events(&w, app);
        assert!(
            matches!(&got[..], [AppEvent::Timer { token: 1 }]),
            "{got:?}"
        );
        // A cancelled timer does not move the clock.
        assert_eq!(w.now(), SimTime::from_millis(10));
    }

    #[test]
    fn the_context_knows_its_host() {
        let (mut w, n) = row(&[("alice-pc", NodeKind::Host), ("mail", NodeKind::Host)]);
        let app = recorder(&mut w, n[0]);
        let seen = Rc::new(RefCell::new(None));
        let out = seen.clone();
        let mail = w.node(n[1]).address().unwrap();
        at(&mut w, SimTime::from_millis(5), app, move |cx| {
            *out.borrow_mut() = Some((
                cx.host_name().to_string(),
                cx.host_address("mail"),
                cx.name_of(mail).map(str::to_string),
                cx.now(),
                cx.now_unix(),
            ));
        });
        w.run(SimTime::from_secs(1));
        assert_eq!(
            seen.borrow().clone(),
            Some((
                "alice-pc".to_string(),
                Some(mail),
                Some("mail".to_string()),
                SimTime::from_millis(5),
                super::super::DEFAULT_EPOCH_UNIX,
            ))
        );
    }
}
