//! The `tcp_segments` target: a [`TcpConnection`] driven into one of its
//! states by a real exchange with a well-behaved peer, then fed whatever
//! the fuzzer makes: segments with any flags, sequence and
//! acknowledgment numbers (near the expected ones or anywhere), windows,
//! MSS options and payloads, mixed with timer expiries, application
//! calls and rounds of real traffic with the peer.
//!
//! The input is decoded with [`arbitrary`] into a [`Plan`]. Every segment
//! the connection sends is checked: it comes from the connection's own
//! ports and carries no more than the MSS it advertised.

use std::collections::VecDeque;
use std::net::{Ipv4Addr, SocketAddrV4};

use arbitrary::{Arbitrary, Unstructured};
use bytes::Bytes;

use crate::net::packet::{TcpFlags, TcpSegment};
use crate::net::tcp::{TcpConfig, TcpConnection, TcpState};
use crate::sim::{SimDuration, SimTime};

/// The state the connection under test is driven into before the
/// fuzzer's operations, and which end of the exchange it is.
#[derive(Arbitrary, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Start {
    /// The active end, its SYN sent and lost.
    SynSent,
    /// The passive end, its SYN,ACK sent and lost.
    SynReceived,
    /// The active end, after the handshake.
    Established,
    /// The passive end, after the handshake.
    EstablishedPassive,
    /// The active end closed; its FIN is lost.
    FinWait1,
    /// The active end closed and its FIN was acknowledged.
    FinWait2,
    /// The passive end received the FIN.
    CloseWait,
    /// Both ends closed at once; the FINs crossed, their ACKs are lost.
    Closing,
    /// The passive end closed after the FIN; its FIN is lost.
    LastAck,
    /// The active end after both FINs.
    TimeWait,
    /// The active end after it aborted.
    Closed,
}

impl Start {
    /// The state the set-up reaches.
    pub fn state(self) -> TcpState {
        match self {
            Start::SynSent => TcpState::SynSent,
            Start::SynReceived => TcpState::SynReceived,
            Start::Established | Start::EstablishedPassive => TcpState::Established,
            Start::FinWait1 => TcpState::FinWait1,
            Start::FinWait2 => TcpState::FinWait2,
            Start::CloseWait => TcpState::CloseWait,
            Start::Closing => TcpState::Closing,
            Start::LastAck => TcpState::LastAck,
            Start::TimeWait => TcpState::TimeWait,
            Start::Closed => TcpState::Closed,
        }
    }

    /// Every start, for tests that visit them all.
    pub const ALL: [Start; 11] = [
        Start::SynSent,
        Start::SynReceived,
        Start::Established,
        Start::EstablishedPassive,
        Start::FinWait1,
        Start::FinWait2,
        Start::CloseWait,
        Start::Closing,
        Start::LastAck,
        Start::TimeWait,
        Start::Closed,
    ];
}

/// A sequence or acknowledgment number, relative to what the connection
/// expects or anywhere.
#[derive(Arbitrary, Debug, Clone, Copy)]
pub enum Number {
    /// Exactly the expected one: the next byte the connection expects
    /// (for `seq`) or the next one it sends (for `ack`).
    Expected,
    Ahead(u16),
    Behind(u16),
    Any(u32),
}

/// A segment the fuzzer sends to the connection.
#[derive(Arbitrary, Debug, Clone)]
pub struct Segment {
    pub seq: Number,
    pub ack: Number,
    /// FIN, SYN, RST, PSH, ACK and the bits wiretale does not model.
    pub flags: u8,
    pub window: u16,
    pub mss: Option<u16>,
    pub payload: Vec<u8>,
}

/// One step of the fuzzer's plan.
#[derive(Arbitrary, Debug, Clone)]
pub enum Op {
    /// A segment arrives.
    Segment(Segment),
    /// Time passes (milliseconds, times 16 when `long`); due timers fire.
    Wait { ms: u16, long: bool },
    /// The application queues this many bytes.
    Send(u16),
    /// The application reads what is there.
    Recv,
    /// The application closes.
    Close,
    /// The application aborts.
    Abort,
    /// What the connection sent goes to the peer, and the peer's answers
    /// come back, until both are quiet.
    Exchange,
}

/// The whole input of `tcp_segments`.
#[derive(Arbitrary, Debug, Clone)]
pub struct Plan {
    pub start: Start,
    /// The peers exchange data before the set-up's last step.
    pub with_data: bool,
    /// The connection under test advertises an MSS of 100 (segments are
    /// then cut small) instead of 1460.
    pub small_mss: bool,
    /// Delayed ACKs on (RFC 5681 §4.2), or every segment acknowledged at
    /// once.
    pub delayed_ack: bool,
    pub ops: Vec<Op>,
}

/// Most operations one input runs, so that an execution stays short.
const MAX_OPS: usize = 256;
/// Most segments one drain of `poll_transmit` may produce. With the
/// largest window (65535 bytes) and the smallest MSS (1 byte) a burst is
/// bounded by the window; more than this is a connection that never runs
/// dry.
const MAX_BURST: usize = 70_000;

fn addr(last: u8, port: u16) -> SocketAddrV4 {
    SocketAddrV4::new(Ipv4Addr::new(10, 0, 0, last), port)
}

/// The connection under test, its peer, and the segments between them.
pub struct Lab {
    pub now: SimTime,
    /// The connection under test.
    pub conn: TcpConnection,
    /// Its peer, when the set-up made one.
    pub peer: Option<TcpConnection>,
    /// Segments the connection sent that the peer has not seen yet.
    to_peer: VecDeque<TcpSegment>,
    /// What the connection under test has sent.
    ours: Numbers,
    /// What the peer has sent.
    theirs: Numbers,
}

/// What one end's segments said: the numbers a segment to that end is
/// expected to carry, and the MSS the end advertised.
#[derive(Debug, Clone, Copy)]
struct Numbers {
    /// The last ACK the end sent: the next sequence number it expects.
    rcv_nxt: u32,
    /// The next sequence number it sends.
    snd_nxt: u32,
    mss: u16,
}

impl Numbers {
    /// Checks one segment sent by a connection with these numbers, and
    /// takes note of it.
    fn note(&mut self, conn: &TcpConnection, seg: &TcpSegment) {
        assert_eq!(seg.src_port, conn.local().port(), "wrong source port");
        assert_eq!(seg.dst_port, conn.remote().port(), "wrong destination port");
        assert!(
            seg.payload.len() <= usize::from(self.mss),
            "a segment of {} bytes, over the MSS of {}",
            seg.payload.len(),
            self.mss
        );
        if seg.flags.ack() {
            self.rcv_nxt = seg.ack;
        }
        let end = seg.seq.wrapping_add(seg.seq_len());
        if crate::net::tcp::seq::gt(end, self.snd_nxt) {
            self.snd_nxt = end;
        }
    }
}

impl Lab {
    /// Drains the connection's output, checking each segment.
    fn transmit(&mut self) {
        for _ in 0..MAX_BURST {
            let Some(seg) = self.conn.poll_transmit(self.now) else {
                while self.conn.poll_event().is_some() {}
                return;
            };
            self.ours.note(&self.conn, &seg);
            if self.to_peer.len() >= 1024 {
                self.to_peer.pop_front();
            }
            self.to_peer.push_back(seg);
        }
        panic!("poll_transmit produced over {MAX_BURST} segments in a row");
    }

    /// What the peer sends now, noted.
    fn peer_transmit(&mut self) -> Vec<TcpSegment> {
        let mut out = Vec::new();
        if let Some(peer) = self.peer.as_mut() {
            while let Some(seg) = peer.poll_transmit(self.now) {
                self.theirs.note(peer, &seg);
                out.push(seg);
                assert!(out.len() <= MAX_BURST, "the peer never runs dry");
            }
            while peer.poll_event().is_some() {}
        }
        out
    }

    /// Both ends talk until quiet; short timers (delayed ACKs) fire on
    /// the way, retransmissions and TIME-WAIT do not.
    fn exchange(&mut self) {
        for _ in 0..10_000 {
            self.transmit();
            let Some(peer) = self.peer.as_mut() else {
                self.to_peer.clear();
                return;
            };
            let mut moved = false;
            while let Some(seg) = self.to_peer.pop_front() {
                peer.handle_segment(self.now, &seg);
                moved = true;
            }
            for seg in self.peer_transmit() {
                self.conn.handle_segment(self.now, &seg);
                moved = true;
            }
            if moved {
                continue;
            }
            let Some(peer) = self.peer.as_ref() else {
                return;
            };
            let soon = self.now + SimDuration::from_millis(100);
            let next = [self.conn.poll_timeout(), peer.poll_timeout()]
                .into_iter()
                .flatten()
                .min();
            match next {
                Some(t) if t <= soon => {
                    self.now = self.now.max(t);
                    self.fire_timers();
                }
                _ => return,
            }
        }
        panic!("the two ends never went quiet");
    }

    /// Timers due by now fire, as the stack fires them.
    fn fire_timers(&mut self) {
        if self.conn.poll_timeout().is_some_and(|t| t <= self.now) {
            self.conn.handle_timeout(self.now);
        }
        if let Some(peer) = self.peer.as_mut()
            && peer.poll_timeout().is_some_and(|t| t <= self.now)
        {
            peer.handle_timeout(self.now);
        }
    }

    /// Drops what the connection sent (a lost segment).
    fn lose(&mut self) {
        self.transmit();
        self.to_peer.clear();
    }

    /// The peer's output is lost.
    fn peer_loses(&mut self) {
        self.peer_transmit();
    }

    fn number(&self, n: Number, expected: u32) -> u32 {
        match n {
            Number::Expected => expected,
            Number::Ahead(d) => expected.wrapping_add(u32::from(d)),
            Number::Behind(d) => expected.wrapping_sub(u32::from(d)),
            Number::Any(x) => x,
        }
    }

    /// Runs one operation, then drains the output as the stack does.
    pub fn apply(&mut self, op: &Op) {
        match op {
            Op::Segment(s) => {
                let seg = TcpSegment {
                    src_port: self.conn.remote().port(),
                    dst_port: self.conn.local().port(),
                    seq: self.number(s.seq, self.ours.rcv_nxt),
                    ack: self.number(s.ack, self.ours.snd_nxt),
                    flags: TcpFlags(s.flags),
                    window: s.window,
                    mss: s.mss,
                    payload: Bytes::copy_from_slice(&s.payload),
                };
                self.conn.handle_segment(self.now, &seg);
            }
            Op::Wait { ms, long } => {
                let ms = u64::from(*ms) * if *long { 16 } else { 1 };
                self.now += SimDuration::from_millis(ms);
                self.fire_timers();
            }
            Op::Send(n) => {
                let data = vec![b'x'; usize::from(*n)];
                let taken = self.conn.send(&data);
                assert!(taken <= data.len(), "took more than it was given");
                self.conn.after_app_call(self.now);
            }
            Op::Recv => {
                let _ = self.conn.recv_all();
                self.conn.after_app_call(self.now);
            }
            Op::Close => {
                self.conn.close();
                self.conn.after_app_call(self.now);
            }
            Op::Abort => self.conn.abort(),
            Op::Exchange => self.exchange(),
        }
        self.transmit();
    }
}

/// Builds the connection under test in the state `start` names.
pub fn set_up(start: Start, with_data: bool, small_mss: bool, delayed_ack: bool) -> Lab {
    let config = |mss: u16| TcpConfig {
        mss,
        delayed_ack: delayed_ack.then(|| SimDuration::from_millis(40)),
        ..TcpConfig::default()
    };
    let mss = if small_mss { 100 } else { 1460 };
    let passive = matches!(
        start,
        Start::SynReceived | Start::EstablishedPassive | Start::CloseWait | Start::LastAck
    );
    let (a_mss, b_mss) = if passive { (1460, mss) } else { (mss, 1460) };
    let (a_addr, b_addr) = (addr(1, 40_000), addr(2, 80));
    let now = SimTime::from_secs(1);
    let mut a = TcpConnection::connect(config(a_mss), a_addr, b_addr, 1_000, now);
    let syn = a.poll_transmit(now).expect("a SYN");
    if with_data {
        a.send(b"queued before the handshake");
    }
    let mut lab = Lab {
        now,
        conn: a,
        peer: None,
        to_peer: VecDeque::new(),
        ours: Numbers {
            rcv_nxt: 0,
            snd_nxt: syn.seq.wrapping_add(1),
            mss: a_mss,
        },
        theirs: Numbers {
            rcv_nxt: syn.seq.wrapping_add(1),
            snd_nxt: 0xffff_ff00,
            mss: b_mss,
        },
    };
    if start == Start::SynSent {
        lab.lose();
        return lab;
    }
    let b = TcpConnection::accept(config(b_mss), b_addr, a_addr, &syn, 0xffff_ff00, now);
    lab.peer = Some(b);
    if passive {
        lab.swap();
    }
    if start == Start::SynReceived {
        lab.lose();
        return lab;
    }
    lab.exchange();
    if with_data {
        lab.conn.send(&[b'a'; 3000]);
        if let Some(peer) = lab.peer.as_mut() {
            peer.send(&[b'b'; 2000]);
        }
        lab.exchange();
        let _ = lab.conn.recv_all();
        if let Some(peer) = lab.peer.as_mut() {
            let _ = peer.recv_all();
        }
        lab.exchange();
    }
    match start {
        Start::SynSent | Start::SynReceived | Start::Established | Start::EstablishedPassive => {}
        Start::FinWait1 => {
            lab.conn.close();
            lab.lose();
        }
        Start::FinWait2 => {
            lab.conn.close();
            lab.exchange();
        }
        Start::CloseWait => {
            lab.swap();
            lab.conn.close();
            lab.exchange();
            lab.swap();
        }
        Start::Closing => {
            lab.conn.close();
            if let Some(peer) = lab.peer.as_mut() {
                peer.close();
            }
            // The FINs cross; each end's ACK of the other's FIN is lost.
            lab.transmit();
            let ours: Vec<TcpSegment> = lab.to_peer.drain(..).collect();
            let theirs = lab.peer_transmit();
            let peer = lab.peer.as_mut().expect("a peer");
            for seg in &ours {
                peer.handle_segment(lab.now, seg);
            }
            for seg in &theirs {
                lab.conn.handle_segment(lab.now, seg);
            }
            lab.peer_loses();
            lab.lose();
        }
        Start::LastAck => {
            lab.swap();
            lab.conn.close();
            lab.exchange();
            lab.swap();
            lab.conn.close();
            lab.lose();
        }
        Start::TimeWait => {
            lab.conn.close();
            lab.exchange();
            if let Some(peer) = lab.peer.as_mut() {
                peer.close();
            }
            lab.exchange();
        }
        Start::Closed => {
            lab.conn.abort();
            lab.lose();
        }
    }
    lab
}

impl Lab {
    /// The peer becomes the connection under test and the other way round.
    fn swap(&mut self) {
        self.transmit();
        let peer = self.peer.take().expect("a peer");
        let old = std::mem::replace(&mut self.conn, peer);
        self.peer = Some(old);
        // What the old connection sent is now what the peer sent: deliver
        // it to the new connection under test on the next exchange.
        std::mem::swap(&mut self.ours, &mut self.theirs);
        let pending: Vec<TcpSegment> = self.to_peer.drain(..).collect();
        for seg in &pending {
            self.conn.handle_segment(self.now, seg);
        }
        self.transmit();
    }
}

/// The `tcp_segments` target: decodes a [`Plan`], sets up its state,
/// checks the set-up reached it, then runs the operations.
pub fn tcp_segments(data: &[u8]) {
    let mut u = Unstructured::new(data);
    let Ok(plan) = Plan::arbitrary(&mut u) else {
        return;
    };
    run_plan(&plan);
}

/// Runs a decoded plan (the body of [`tcp_segments`]).
pub fn run_plan(plan: &Plan) {
    let mut lab = set_up(plan.start, plan.with_data, plan.small_mss, plan.delayed_ack);
    assert_eq!(
        lab.conn.state(),
        plan.start.state(),
        "the set-up did not reach {:?}",
        plan.start
    );
    for op in plan.ops.iter().take(MAX_OPS) {
        lab.apply(op);
    }
}
