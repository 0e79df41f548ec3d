//! Interoperability with a TCP no one here wrote: one simulated host runs
//! smoltcp's TCP socket, the other wiretale's, and 1 MB crosses each way
//! over a link with 5% loss and reordering. Packets between the two are
//! real IPv4 bytes: wiretale's encoder feeds smoltcp and smoltcp's output
//! goes through wiretale's decoder, checksums verified both ways.

use smoltcp::iface::{Config, Interface, SocketHandle, SocketSet};
use smoltcp::phy::{self, ChecksumCapabilities, Device, DeviceCapabilities, Medium};
use smoltcp::socket::tcp;
use smoltcp::time::Instant;
use smoltcp::wire::{HardwareAddress, IpAddress, IpCidr};
use std::collections::VecDeque;
use std::net::{Ipv4Addr, SocketAddrV4};
use wiretale::apps::tcp::pattern;
use wiretale::net::wire::{decode_ipv4, encode_ipv4};
use wiretale::net::{AppCx, AppEvent, Application, ConnId, LinkConfig, NodeKind, World};
use wiretale::sim::{SimDuration, SimTime};
use wiretale::trace::Protocol;

const TOTAL: usize = 1_000_000;

/// A smoltcp device whose packets are queued for wiretale to carry.
#[derive(Default)]
struct Queues {
    rx: VecDeque<Vec<u8>>,
    tx: VecDeque<Vec<u8>>,
}

struct Rx(Vec<u8>);
struct Tx<'a>(&'a mut VecDeque<Vec<u8>>);

impl phy::RxToken for Rx {
    fn consume<R, F: FnOnce(&[u8]) -> R>(self, f: F) -> R {
        f(&self.0)
    }
}

impl phy::TxToken for Tx<'_> {
    fn consume<R, F: FnOnce(&mut [u8]) -> R>(self, len: usize, f: F) -> R {
        let mut buf = vec![0; len];
        let r = f(&mut buf);
        self.0.push_back(buf);
        r
    }
}

impl Device for Queues {
    type RxToken<'a> = Rx;
    type TxToken<'a> = Tx<'a>;

    fn receive(&mut self, _: Instant) -> Option<(Rx, Tx<'_>)> {
        let p = self.rx.pop_front()?;
        Some((Rx(p), Tx(&mut self.tx)))
    }

    fn transmit(&mut self, _: Instant) -> Option<Tx<'_>> {
        Some(Tx(&mut self.tx))
    }

    fn capabilities(&self) -> DeviceCapabilities {
        let mut caps = DeviceCapabilities::default();
        caps.max_transmission_unit = 1500;
        caps.medium = Medium::Ip;
        caps.checksum = ChecksumCapabilities::default();
        caps
    }
}

/// What the smoltcp host does.
enum SmolRole {
    Listen(u16),
    Connect(SocketAddrV4),
}

/// A host whose whole TCP/IP stack is smoltcp.
struct SmolHost {
    role: SmolRole,
    addr: Ipv4Addr,
    dev: Queues,
    iface: Option<Interface>,
    sockets: SocketSet<'static>,
    handle: Option<SocketHandle>,
    data: Vec<u8>,
    sent: usize,
    received: Vec<u8>,
    closed: bool,
    timer_gen: u64,
}

impl SmolHost {
    fn new(role: SmolRole, addr: Ipv4Addr) -> SmolHost {
        SmolHost {
            role,
            addr,
            dev: Queues::default(),
            iface: None,
            sockets: SocketSet::new(vec![]),
            handle: None,
            data: pattern(0, TOTAL),
            sent: 0,
            received: Vec::new(),
            closed: false,
            timer_gen: 0,
        }
    }

    fn now(cx: &AppCx<'_>) -> Instant {
        Instant::from_micros(cx.now().as_micros() as i64)
    }

    fn start(&mut self, cx: &mut AppCx<'_>) {
        let mut config = Config::new(HardwareAddress::Ip);
        config.random_seed = 42;
        let mut iface = Interface::new(config, &mut self.dev, Self::now(cx));
        let o = self.addr.octets();
        iface.update_ip_addrs(|a| {
            let _ = a.push(IpCidr::new(IpAddress::v4(o[0], o[1], o[2], o[3]), 24));
        });
        let mut sock = tcp::Socket::new(
            tcp::SocketBuffer::new(vec![0; 65_535]),
            tcp::SocketBuffer::new(vec![0; 65_535]),
        );
        match self.role {
            SmolRole::Listen(port) => sock.listen(port).unwrap(),
            SmolRole::Connect(to) => {
                let r = to.ip().octets();
                sock.connect(
                    iface.context(),
                    (IpAddress::v4(r[0], r[1], r[2], r[3]), to.port()),
                    40_000,
                )
                .unwrap();
            }
        }
        self.handle = Some(self.sockets.add(sock));
        self.iface = Some(iface);
    }

    /// Polls smoltcp, moves application data, sends what it produced and
    /// arms the next timer.
    fn pump(&mut self, cx: &mut AppCx<'_>) {
        let (Some(iface), Some(h)) = (self.iface.as_mut(), self.handle) else {
            return;
        };
        let now = Self::now(cx);
        for _ in 0..4 {
            iface.poll(now, &mut self.dev, &mut self.sockets);
            let s = self.sockets.get_mut::<tcp::Socket>(h);
            let mut buf = [0u8; 8192];
            while s.can_recv() {
                let n = s.recv_slice(&mut buf).unwrap();
                self.received.extend_from_slice(&buf[..n]);
            }
            while s.can_send() && self.sent < TOTAL {
                let n = s.send_slice(&self.data[self.sent..]).unwrap();
                if n == 0 {
                    break;
                }
                self.sent += n;
            }
            if self.sent == TOTAL && !self.closed && s.may_send() {
                s.close();
                self.closed = true;
            }
        }
        iface.poll(now, &mut self.dev, &mut self.sockets);
        while let Some(bytes) = self.dev.tx.pop_front() {
            let packet =
                decode_ipv4(&bytes, 0).expect("smoltcp sent a packet wiretale cannot decode");
            cx.send_raw(packet);
        }
        if let Some(delay) = iface.poll_delay(now, &self.sockets) {
            self.timer_gen += 1;
            cx.set_timer(
                SimDuration::from_micros(delay.total_micros().max(1)),
                self.timer_gen,
            );
        }
    }

    fn state(&self) -> tcp::State {
        self.sockets
            .get::<tcp::Socket>(self.handle.unwrap())
            .state()
    }
}

impl Application for SmolHost {
    fn kind(&self) -> &'static str {
        "smoltcp host"
    }

    fn handle_event(&mut self, cx: &mut AppCx<'_>, event: AppEvent) {
        match event {
            AppEvent::Start => {
                self.start(cx);
                self.pump(cx);
            }
            AppEvent::RawPacket { packet } => {
                self.dev.rx.push_back(encode_ipv4(&packet));
                self.pump(cx);
            }
            AppEvent::Timer { token } if token == self.timer_gen => self.pump(cx),
            _ => {}
        }
    }
}

/// wiretale's side: sends 1 MB and keeps everything it receives.
struct Exchange {
    connect_to: Option<SocketAddrV4>,
    listen: Option<u16>,
    conn: Option<ConnId>,
    received: Vec<u8>,
    closed: Option<Option<String>>,
}

impl Application for Exchange {
    fn kind(&self) -> &'static str {
        "exchange"
    }

    fn handle_event(&mut self, cx: &mut AppCx<'_>, event: AppEvent) {
        match event {
            AppEvent::Start => {
                if let Some(p) = self.listen {
                    cx.listen(p, Protocol::Tcp).unwrap();
                }
                if let Some(to) = self.connect_to {
                    self.conn = Some(cx.connect(to, Protocol::Tcp).unwrap());
                }
            }
            AppEvent::Connected { conn } | AppEvent::Accepted { conn, .. } => {
                self.conn = Some(conn);
                cx.send(conn, pattern(0, TOTAL));
                cx.close(conn);
            }
            AppEvent::Data { data, .. } => self.received.extend_from_slice(&data),
            AppEvent::Closed { error, .. } => {
                self.closed = Some(error.map(|e| e.name().to_owned()))
            }
            _ => {}
        }
    }
}

fn lossy_reordering_link() -> LinkConfig {
    LinkConfig {
        latency: SimDuration::from_millis(5),
        bandwidth_bps: 10_000_000,
        queue_packets: 200,
        loss: 0.05,
        duplicate: 0.0,
        // Up to 3 ms of extra delay, more than the 1.2 ms between
        // back-to-back full segments at 10 Mbit/s: packets overtake.
        jitter: SimDuration::from_millis(3),
    }
}

/// Runs both directions; returns the world and the two applications.
fn exchange(ours_is_client: bool, seed: u64) -> (World, u32, u32) {
    let mut w = World::new(seed);
    let ours = w.add_node("wiretale", NodeKind::Host);
    let smol = w.add_node("smoltcp", NodeKind::Host);
    w.add_link(ours, smol, lossy_reordering_link(), None, None)
        .unwrap();
    let our_addr = w.node(ours).address().unwrap();
    let smol_addr = w.node(smol).address().unwrap();
    let mut ex = Exchange {
        connect_to: None,
        listen: None,
        conn: None,
        received: Vec::new(),
        closed: None,
    };
    let sh = if ours_is_client {
        ex.connect_to = Some(SocketAddrV4::new(smol_addr, 7000));
        SmolHost::new(SmolRole::Listen(7000), smol_addr)
    } else {
        ex.listen = Some(7000);
        SmolHost::new(
            SmolRole::Connect(SocketAddrV4::new(our_addr, 7000)),
            smol_addr,
        )
    };
    // smoltcp starts first, so that it listens before the SYN arrives.
    let smol_app = w.add_app(smol, Box::new(sh));
    w.set_raw_stack(smol, smol_app);
    let our_app = w.add_app(ours, Box::new(ex));
    w.run(SimTime::from_secs(600));
    (w, our_app, smol_app)
}

fn check(ours_is_client: bool, seed: u64) {
    let (w, our_app, smol_app) = exchange(ours_is_client, seed);
    let ex = w.app_as::<Exchange>(our_app).unwrap();
    let sh = w.app_as::<SmolHost>(smol_app).unwrap();
    let expected = pattern(0, TOTAL);
    let drops = w
        .trace()
        .records
        .iter()
        .filter(|r| matches!(r.event, wiretale::trace::Event::Dropped { .. }))
        .count();
    assert!(
        drops > 20,
        "the link should have lost packets, lost {drops}"
    );
    // Reordering: a packet that left later arrived earlier.
    let mut last_arrival = [SimTime::ZERO; 2];
    let mut overtaken = 0;
    for r in &w.trace().records {
        if let wiretale::trace::Event::Transmit { from, arrive, .. } = r.event {
            let d = from as usize;
            if arrive < last_arrival[d] {
                overtaken += 1;
            }
            last_arrival[d] = last_arrival[d].max(arrive);
        }
    }
    assert!(
        overtaken > 20,
        "the link should have reordered packets, reordered {overtaken}"
    );
    assert_eq!(
        ex.received.len(),
        TOTAL,
        "wiretale received {} bytes",
        ex.received.len()
    );
    assert!(ex.received == expected, "wiretale received corrupted data");
    assert_eq!(
        sh.received.len(),
        TOTAL,
        "smoltcp received {} bytes",
        sh.received.len()
    );
    assert!(sh.received == expected, "smoltcp received corrupted data");
    assert_eq!(
        ex.closed,
        Some(None),
        "wiretale's connection did not close cleanly"
    );
    assert!(
        matches!(sh.state(), tcp::State::Closed | tcp::State::TimeWait),
        "smoltcp ended in {}",
        sh.state()
    );
}

#[test]
fn wiretale_client_smoltcp_server() {
    check(true, 7);
}

#[test]
fn smoltcp_client_wiretale_server() {
    check(false, 11);
}
