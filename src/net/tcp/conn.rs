//! One TCP connection as a sans-IO state machine (RFC 9293).
//!
//! [`TcpConnection`] owns no socket and reads no clock. The host stack feeds
//! it segments ([`TcpConnection::handle_segment`]) and expired timers
//! ([`TcpConnection::handle_timeout`]), the application calls
//! [`send`](TcpConnection::send), [`recv`](TcpConnection::recv) and
//! [`close`](TcpConnection::close), and the stack drains what comes out:
//! segments ([`poll_transmit`](TcpConnection::poll_transmit)), the next
//! deadline ([`poll_timeout`](TcpConnection::poll_timeout)) and events
//! ([`poll_event`](TcpConnection::poll_event)).
//!
//! What is here, with the RFC each part follows:
//! - the eleven states and the segment arrival rules of RFC 9293 §3.10,
//!   including simultaneous open and close, RST handling with the
//!   challenge ACKs of RFC 5961, and TIME-WAIT for 2*MSL;
//! - the MSS option (RFC 9293 §3.7.1), sliding window and flow control with
//!   zero-window probes (§3.8.6.1) and window updates when the reader frees
//!   space;
//! - the retransmission timer of RFC 6298: initial RTO 1 s, SRTT/RTTVAR,
//!   exponential backoff, Karn's rule (no RTT sample from a retransmitted
//!   segment);
//! - congestion control of RFC 5681 (slow start, congestion avoidance, fast
//!   retransmit) with NewReno fast recovery (RFC 6582);
//! - delayed ACKs (RFC 5681 §4.2: at least every second full segment, and
//!   within 40 ms here).
//!
//! What is not: window scaling, timestamps and SACK (RFC 7323, RFC 2018),
//! Nagle's algorithm (every connection behaves as with TCP_NODELAY, which
//! keeps request/response dialogues easy to follow), urgent data.
//!
//! The pieces: this file is the connection (its states, the send and
//! receive sequence spaces, the application's calls and the timers other
//! than the RTO); `output` builds the segments it sends; `arrival` takes
//! the segments it receives; `rtt` is the retransmission timer,
//! `congestion` the congestion window and `reassembly` the queue of
//! out-of-order data. Each is an `impl TcpConnection` over the fields
//! declared here.

use crate::net::packet::{TcpFlags, TcpSegment};
use crate::sim::{SimDuration, SimTime};
use bytes::Bytes;
use std::collections::{BTreeMap, VecDeque};
use std::fmt;
use std::net::SocketAddrV4;

pub use crate::trace::tcp_state::{TcpError, TcpState};

/// The whole TCP state diagram (RFC 9293 Figure 5), for the visualizer:
/// `(from, to, label)`.
pub const TRANSITIONS: &[crate::trace::Transition] = &[
    ("CLOSED", "LISTEN", "passive open"),
    ("CLOSED", "SYN-SENT", "active open / SYN"),
    ("LISTEN", "SYN-RECEIVED", "rcv SYN / SYN,ACK"),
    ("SYN-SENT", "SYN-RECEIVED", "rcv SYN / SYN,ACK"),
    ("SYN-SENT", "ESTABLISHED", "rcv SYN,ACK / ACK"),
    ("SYN-RECEIVED", "ESTABLISHED", "rcv ACK of SYN"),
    ("ESTABLISHED", "FIN-WAIT-1", "close / FIN"),
    ("ESTABLISHED", "CLOSE-WAIT", "rcv FIN / ACK"),
    ("FIN-WAIT-1", "FIN-WAIT-2", "rcv ACK of FIN"),
    ("FIN-WAIT-1", "CLOSING", "rcv FIN / ACK"),
    ("FIN-WAIT-2", "TIME-WAIT", "rcv FIN / ACK"),
    ("CLOSING", "TIME-WAIT", "rcv ACK of FIN"),
    ("CLOSE-WAIT", "LAST-ACK", "close / FIN"),
    ("LAST-ACK", "CLOSED", "rcv ACK of FIN"),
    ("TIME-WAIT", "CLOSED", "timeout 2MSL"),
];

/// Tunable parameters of a connection.
#[derive(Debug, Clone, PartialEq)]
pub struct TcpConfig {
    /// The MSS this end advertises: the largest segment payload it accepts.
    pub mss: u16,
    /// Receive buffer, which bounds the advertised window (at most 65535
    /// without window scaling).
    pub recv_buffer: u32,
    /// How many bytes the application may queue ahead of the network.
    pub send_buffer: usize,
    /// RFC 6298 §2.1: the RTO before any RTT measurement.
    pub initial_rto: SimDuration,
    /// RFC 6298 §2.4: the RTO is never below this.
    pub min_rto: SimDuration,
    /// RFC 6298 §2.5: an upper bound on the RTO.
    pub max_rto: SimDuration,
    /// Maximum segment lifetime; TIME-WAIT lasts 2*MSL (RFC 9293 §3.4.2).
    pub msl: SimDuration,
    /// Retransmissions of a SYN before the connection attempt fails.
    pub syn_retries: u32,
    /// Retransmissions of data before the connection is declared dead.
    pub data_retries: u32,
    /// How long an ACK of in-order data may be delayed (RFC 5681 §4.2 asks
    /// for less than 500 ms); `None` acknowledges every segment at once.
    pub delayed_ack: Option<SimDuration>,
}

impl Default for TcpConfig {
    fn default() -> Self {
        TcpConfig {
            mss: 1460,
            recv_buffer: 65_535,
            send_buffer: 256 * 1024,
            initial_rto: SimDuration::from_secs(1),
            min_rto: SimDuration::from_secs(1),
            max_rto: SimDuration::from_secs(60),
            msl: SimDuration::from_secs(30),
            syn_retries: 5,
            data_retries: 10,
            delayed_ack: Some(SimDuration::from_millis(40)),
        }
    }
}

/// What happened inside a connection, for the stack, the application and
/// the trace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TcpEvent {
    /// The state changed.
    State { from: TcpState, to: TcpState },
    /// The connection reached ESTABLISHED.
    Connected,
    /// New in-order data can be read.
    Readable,
    /// Send buffer space was freed.
    Writable,
    /// The peer sent FIN: no more data will arrive (end of stream).
    PeerClosed,
    /// The connection ended with an error; it is now CLOSED.
    Error(TcpError),
    /// The retransmission timer expired.
    Timeout { rto: SimDuration, backoff: u32 },
    /// Three duplicate ACKs triggered a fast retransmit (RFC 5681 §3.2).
    FastRetransmit { seq: u32 },
    /// The congestion window or slow-start threshold changed.
    Cwnd { cwnd: u32, ssthresh: u32 },
    /// A new RTT sample updated the retransmission timeout.
    Rtt {
        sample: SimDuration,
        srtt: SimDuration,
        rto: SimDuration,
    },
}

/// Data the application queued and the peer has not acknowledged, as a
/// list of chunks so that segments are usually zero-copy slices.
#[derive(Debug, Default)]
pub(super) struct SendBuffer {
    chunks: VecDeque<Bytes>,
    pub(super) len: usize,
}

impl SendBuffer {
    fn push(&mut self, data: Bytes) {
        self.len += data.len();
        self.chunks.push_back(data);
    }

    /// Drops `n` bytes from the front (they were acknowledged).
    pub(super) fn consume(&mut self, mut n: usize) {
        n = n.min(self.len);
        self.len -= n;
        while n > 0 {
            let Some(front) = self.chunks.front_mut() else {
                break;
            };
            if front.len() <= n {
                n -= front.len();
                self.chunks.pop_front();
            } else {
                let _ = front.split_to(n);
                n = 0;
            }
        }
    }

    /// `len` bytes starting at `offset`.
    pub(super) fn slice(&self, mut offset: usize, len: usize) -> Bytes {
        let mut iter = self.chunks.iter();
        for chunk in iter.by_ref() {
            if offset < chunk.len() {
                if chunk.len() - offset >= len {
                    return chunk.slice(offset..offset + len);
                }
                let mut out = Vec::with_capacity(len);
                out.extend_from_slice(&chunk[offset..]);
                for next in iter {
                    let need = len - out.len();
                    out.extend_from_slice(&next[..need.min(next.len())]);
                    if out.len() == len {
                        break;
                    }
                }
                return Bytes::from(out);
            }
            offset -= chunk.len();
        }
        Bytes::new()
    }
}

/// One end of a TCP connection.
pub struct TcpConnection {
    pub(super) config: TcpConfig,
    pub(super) state: TcpState,
    pub(super) local: SocketAddrV4,
    pub(super) remote: SocketAddrV4,

    // Send sequence space (RFC 9293 §3.3.1).
    pub(super) iss: u32,
    pub(super) snd_una: u32,
    pub(super) snd_nxt: u32,
    /// The highest sequence number sent so far, plus one. After a timeout
    /// `snd_nxt` goes back to `snd_una` (go-back-N) but this stays.
    pub(super) snd_max: u32,
    pub(super) snd_wnd: u32,
    pub(super) snd_wl1: u32,
    pub(super) snd_wl2: u32,
    /// The MSS this end may send: the peer's MSS option, or 536.
    pub(super) snd_mss: u32,
    /// Sequence number of `send_buf`'s first byte.
    pub(super) buf_seq: u32,
    pub(super) send_buf: SendBuffer,
    /// The application asked to close: a FIN follows the queued data.
    pub(super) fin_queued: bool,

    // Receive sequence space.
    pub(super) irs: u32,
    pub(super) rcv_nxt: u32,
    pub(super) recv_buf: VecDeque<Bytes>,
    pub(super) recv_len: usize,
    /// Out-of-order data, keyed by stream offset (see `rcv_off`): sequence
    /// numbers wrap, offsets do not.
    pub(super) ooo: BTreeMap<u64, Bytes>,
    /// Stream offset of `rcv_nxt` (bytes received in order so far).
    pub(super) rcv_off: u64,
    /// Stream offset of the peer's FIN, if it arrived ahead of data.
    pub(super) ooo_fin: Option<u64>,
    /// Window last advertised, to decide when a window update is due.
    pub(super) rcv_wnd_advertised: u32,
    /// The peer's FIN has been received (end of stream).
    pub(super) fin_received: bool,

    // Output requests.
    pub(super) ack_now: bool,
    /// In-order segments received since the last ACK we sent.
    pub(super) unacked_segments: u32,
    pub(super) delack_at: Option<SimTime>,
    /// Retransmit the segment at `snd_una` at once (fast retransmit,
    /// partial ACK in NewReno recovery).
    pub(super) retransmit_una: bool,
    /// Send one byte past a zero window (RFC 9293 §3.8.6.1).
    pub(super) probe_now: bool,
    /// RST to send (and then be closed).
    pub(super) rst_pending: Option<TcpSegment>,

    // Retransmission timer (RFC 6298).
    pub(super) rto: SimDuration,
    pub(super) srtt: Option<SimDuration>,
    pub(super) rttvar: SimDuration,
    pub(super) rto_at: Option<SimTime>,
    pub(super) backoff: u32,
    /// Sequence number being timed and when it was sent. Karn's rule: the
    /// sample is discarded if that segment is retransmitted.
    pub(super) rtt_probe: Option<(u32, SimTime)>,
    pub(super) persist_at: Option<SimTime>,
    pub(super) persist_backoff: u32,
    /// When this end last acknowledged an unacceptable segment that
    /// carried no data (see `ack_unacceptable`).
    pub(super) oow_ack_at: Option<SimTime>,
    pub(super) time_wait_at: Option<SimTime>,

    // Congestion control (RFC 5681, RFC 6582).
    pub(super) cwnd: u32,
    pub(super) ssthresh: u32,
    pub(super) dupacks: u32,
    pub(super) in_recovery: bool,
    pub(super) recover: u32,
    /// Bytes acknowledged in congestion avoidance, toward the next MSS of
    /// cwnd growth (RFC 5681 §3.1, the byte-counting variant).
    pub(super) ca_acked: u32,
    /// The current run of timeouts has already reduced ssthresh.
    pub(super) timeout_reduced: bool,

    pub(super) events: VecDeque<TcpEvent>,
}

/// RFC 9293 §3.7.1: the MSS to assume when the peer sends none.
const DEFAULT_MSS: u32 = 536;
/// RFC 5961 §7 (ACK throttling): at most one ACK per this interval in
/// reply to unacceptable segments without data, as Linux's
/// `tcp_invalid_ratelimit` (500 ms).
pub(super) const OOW_ACK_INTERVAL: SimDuration = SimDuration::from_millis(500);

impl TcpConnection {
    /// An active open: the connection starts in SYN-SENT and its first
    /// `poll_transmit` is the SYN.
    pub fn connect(
        config: TcpConfig,
        local: SocketAddrV4,
        remote: SocketAddrV4,
        iss: u32,
        now: SimTime,
    ) -> TcpConnection {
        let mut c = TcpConnection::new(config, local, remote, iss);
        c.set_state(TcpState::SynSent);
        c.arm_rto(now);
        c
    }

    /// A passive open: a listener received `syn`. The connection starts in
    /// SYN-RECEIVED and its first `poll_transmit` is the SYN,ACK.
    pub fn accept(
        config: TcpConfig,
        local: SocketAddrV4,
        remote: SocketAddrV4,
        syn: &TcpSegment,
        iss: u32,
        now: SimTime,
    ) -> TcpConnection {
        let mut c = TcpConnection::new(config, local, remote, iss);
        c.state = TcpState::Listen;
        c.set_state(TcpState::SynReceived);
        c.receive_syn(syn);
        c.arm_rto(now);
        c
    }

    fn new(config: TcpConfig, local: SocketAddrV4, remote: SocketAddrV4, iss: u32) -> Self {
        let mss = u32::from(config.mss);
        let rto = config.initial_rto;
        let recv_buffer = config.recv_buffer.min(65_535);
        TcpConnection {
            state: TcpState::Closed,
            local,
            remote,
            iss,
            snd_una: iss,
            snd_nxt: iss,
            snd_max: iss,
            snd_wnd: 0,
            snd_wl1: 0,
            snd_wl2: 0,
            snd_mss: DEFAULT_MSS.min(mss),
            buf_seq: iss.wrapping_add(1),
            send_buf: SendBuffer::default(),
            fin_queued: false,
            irs: 0,
            rcv_nxt: 0,
            recv_buf: VecDeque::new(),
            recv_len: 0,
            ooo: BTreeMap::new(),
            rcv_off: 0,
            ooo_fin: None,
            rcv_wnd_advertised: recv_buffer,
            fin_received: false,
            ack_now: false,
            unacked_segments: 0,
            delack_at: None,
            retransmit_una: false,
            probe_now: false,
            rst_pending: None,
            rto,
            srtt: None,
            rttvar: SimDuration::ZERO,
            rto_at: None,
            backoff: 0,
            rtt_probe: None,
            persist_at: None,
            persist_backoff: 0,
            oow_ack_at: None,
            time_wait_at: None,
            cwnd: 0,
            ssthresh: u32::MAX,
            dupacks: 0,
            in_recovery: false,
            recover: iss,
            ca_acked: 0,
            timeout_reduced: false,
            events: VecDeque::new(),
            config: TcpConfig {
                recv_buffer,
                ..config
            },
        }
    }

    // ------------------------------------------------------------------
    // Getters
    // ------------------------------------------------------------------

    pub fn state(&self) -> TcpState {
        self.state
    }
    pub fn local(&self) -> SocketAddrV4 {
        self.local
    }
    pub fn remote(&self) -> SocketAddrV4 {
        self.remote
    }
    pub fn cwnd(&self) -> u32 {
        self.cwnd
    }
    pub fn ssthresh(&self) -> u32 {
        self.ssthresh
    }
    pub fn rto(&self) -> SimDuration {
        self.rto
    }
    pub fn srtt(&self) -> Option<SimDuration> {
        self.srtt
    }
    /// Bytes sent and not yet acknowledged.
    pub fn flight_size(&self) -> u32 {
        self.snd_max.wrapping_sub(self.snd_una)
    }
    /// The peer's advertised window.
    pub fn send_window(&self) -> u32 {
        self.snd_wnd
    }
    /// Bytes the application may still queue with [`send`](Self::send).
    pub fn send_capacity(&self) -> usize {
        if self.state.can_send() && !self.fin_queued {
            self.config.send_buffer.saturating_sub(self.send_buf.len)
        } else {
            0
        }
    }
    /// Bytes queued to send, including those in flight.
    pub fn send_queued(&self) -> usize {
        self.send_buf.len
    }
    /// In-order bytes waiting for the application to read.
    pub fn recv_available(&self) -> usize {
        self.recv_len
    }
    /// True once the peer's FIN arrived and every byte before it was read.
    pub fn at_eof(&self) -> bool {
        self.fin_received && self.recv_len == 0
    }
    /// True when the connection is CLOSED and has nothing left to send.
    pub fn is_finished(&self) -> bool {
        self.state == TcpState::Closed && self.rst_pending.is_none()
    }

    // ------------------------------------------------------------------
    // Commands from the application
    // ------------------------------------------------------------------

    /// Queues data to send; returns how many bytes were accepted (limited by
    /// the send buffer). Nothing is accepted after `close`.
    pub fn send(&mut self, data: &[u8]) -> usize {
        let n = data.len().min(self.send_capacity());
        if n > 0 {
            self.send_buf.push(Bytes::copy_from_slice(&data[..n]));
        }
        n
    }

    /// Like [`send`](Self::send) but takes ownership of a `Bytes` without
    /// copying when all of it fits.
    pub fn send_bytes(&mut self, data: Bytes) -> usize {
        let n = data.len().min(self.send_capacity());
        if n > 0 {
            self.send_buf.push(data.slice(..n));
        }
        n
    }

    /// Takes the next chunk of in-order received data.
    pub fn recv(&mut self) -> Option<Bytes> {
        let chunk = self.recv_buf.pop_front()?;
        self.recv_len -= chunk.len();
        self.maybe_window_update();
        Some(chunk)
    }

    /// Takes all in-order received data at once, without copying when it
    /// arrived as one piece (the usual case: one segment per event).
    pub fn recv_bytes(&mut self) -> Bytes {
        if self.recv_buf.len() == 1 {
            return self.recv().unwrap_or_default();
        }
        Bytes::from(self.recv_all())
    }

    /// Takes all in-order received data at once.
    pub fn recv_all(&mut self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.recv_len);
        for chunk in self.recv_buf.drain(..) {
            out.extend_from_slice(&chunk);
        }
        self.recv_len = 0;
        self.maybe_window_update();
        out
    }

    /// Orderly close (RFC 9293 §3.10.4): a FIN follows the queued data.
    pub fn close(&mut self) {
        match self.state {
            TcpState::SynSent | TcpState::Listen => self.set_state(TcpState::Closed),
            // RFC 9293 §3.10.4: in SYN-RECEIVED the FIN waits until the
            // handshake completes; the state changes then.
            TcpState::SynReceived => self.fin_queued = true,
            TcpState::Established => {
                self.fin_queued = true;
                self.set_state(TcpState::FinWait1);
            }
            TcpState::CloseWait => {
                self.fin_queued = true;
                self.set_state(TcpState::LastAck);
            }
            _ => {}
        }
    }

    /// Abort (RFC 9293 §3.10.5): send RST and forget the connection.
    pub fn abort(&mut self) {
        if matches!(
            self.state,
            TcpState::SynReceived
                | TcpState::Established
                | TcpState::FinWait1
                | TcpState::FinWait2
                | TcpState::CloseWait
        ) {
            self.rst_pending = Some(self.segment(self.snd_nxt, TcpFlags::RST, Bytes::new()));
        }
        self.enter_closed();
    }

    // ------------------------------------------------------------------
    // Timers
    // ------------------------------------------------------------------

    /// Handles every timer that expired at or before `now`.
    pub fn handle_timeout(&mut self, now: SimTime) {
        if self.time_wait_at.is_some_and(|t| t <= now) {
            self.time_wait_at = None;
            self.enter_closed();
            return;
        }
        if self.delack_at.is_some_and(|t| t <= now) {
            self.delack_at = None;
            self.ack_now = true;
        }
        if self.persist_at.is_some_and(|t| t <= now) {
            self.persist_at = None;
            self.probe_now = true;
            self.persist_backoff += 1;
        }
        if self.rto_at.is_some_and(|t| t <= now) {
            self.rto_at = None;
            self.on_retransmission_timeout(now);
        }
    }

    pub(super) fn fail(&mut self, err: TcpError) {
        self.events.push_back(TcpEvent::Error(err));
        self.enter_closed();
    }

    pub(super) fn enter_closed(&mut self) {
        self.set_state(TcpState::Closed);
        self.rto_at = None;
        self.delack_at = None;
        self.persist_at = None;
        self.time_wait_at = None;
        self.ack_now = false;
        self.retransmit_una = false;
        self.probe_now = false;
    }

    pub(super) fn set_state(&mut self, to: TcpState) {
        let from = self.state;
        if from != to {
            self.state = to;
            self.events.push_back(TcpEvent::State { from, to });
            if to == TcpState::Established {
                self.events.push_back(TcpEvent::Connected);
            }
            if to == TcpState::TimeWait {
                self.rto_at = None;
                self.persist_at = None;
            }
        }
    }
}

impl fmt::Debug for TcpConnection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TcpConnection")
            .field("state", &self.state)
            .field("local", &self.local)
            .field("remote", &self.remote)
            .field("snd_una", &self.snd_una)
            .field("snd_nxt", &self.snd_nxt)
            .field("rcv_nxt", &self.rcv_nxt)
            .field("cwnd", &self.cwnd)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    fn addr(last: u8, port: u16) -> SocketAddrV4 {
        SocketAddrV4::new(Ipv4Addr::new(10, 0, 0, last), port)
    }

    /// Two connections joined by a lossless wire with a fixed one-way delay.
    struct Pair {
        a: TcpConnection,
        b: Option<TcpConnection>,
        now: SimTime,
        /// (arrival, to_b, segment)
        wire: Vec<(SimTime, bool, TcpSegment)>,
        log: Vec<(bool, TcpSegment)>,
    }

    const DELAY: SimDuration = SimDuration::from_millis(10);

    impl Pair {
        fn new() -> Pair {
            let a = TcpConnection::connect(
                TcpConfig::default(),
                addr(1, 40000),
                addr(2, 80),
                1000,
                SimTime::ZERO,
            );
            Pair {
                a,
                b: None,
                now: SimTime::ZERO,
                wire: Vec::new(),
                log: Vec::new(),
            }
        }

        fn flush(&mut self) {
            while let Some(s) = self.a.poll_transmit(self.now) {
                self.log.push((true, s.clone()));
                self.wire.push((self.now + DELAY, true, s));
            }
            if let Some(b) = self.b.as_mut() {
                while let Some(s) = b.poll_transmit(self.now) {
                    self.log.push((false, s.clone()));
                    self.wire.push((self.now + DELAY, false, s));
                }
            }
        }

        /// Runs until nothing is in flight and no timer is due before `until`.
        fn run(&mut self, until: SimTime) {
            loop {
                self.flush();
                let next_wire = self.wire.iter().map(|w| w.0).min();
                let next_timer = [
                    self.a.poll_timeout(),
                    self.b.as_ref().and_then(|b| b.poll_timeout()),
                ]
                .into_iter()
                .flatten()
                .min();
                let Some(t) = [next_wire, next_timer].into_iter().flatten().min() else {
                    return;
                };
                if t > until {
                    return;
                }
                self.now = t;
                if next_wire == Some(t) {
                    let i = self.wire.iter().position(|w| w.0 == t).unwrap();
                    let (_, to_b, seg) = self.wire.remove(i);
                    if to_b {
                        match self.b.as_mut() {
                            Some(b) => b.handle_segment(t, &seg),
                            None => {
                                self.b = Some(TcpConnection::accept(
                                    TcpConfig::default(),
                                    addr(2, 80),
                                    addr(1, 40000),
                                    &seg,
                                    5000,
                                    t,
                                ))
                            }
                        }
                    } else {
                        self.a.handle_segment(t, &seg);
                    }
                } else {
                    self.a.handle_timeout(t);
                    if let Some(b) = self.b.as_mut() {
                        b.handle_timeout(t);
                    }
                }
            }
        }
    }

    fn summary(log: &[(bool, TcpSegment)]) -> Vec<String> {
        log.iter()
            .map(|(ab, s)| {
                format!(
                    "{} {} seq={} ack={} len={}",
                    if *ab { "A>B" } else { "B>A" },
                    s.flags,
                    s.seq,
                    s.ack,
                    s.payload.len()
                )
            })
            .collect()
    }

    #[test]
    fn handshake_data_and_close() {
        let mut p = Pair::new();
        p.run(SimTime::from_secs(1));
        assert_eq!(p.a.state(), TcpState::Established);
        assert_eq!(p.b.as_ref().unwrap().state(), TcpState::Established);
        assert_eq!(p.a.send(b"hello"), 5);
        p.run(SimTime::from_secs(2));
        assert_eq!(p.b.as_mut().unwrap().recv_all(), b"hello");
        p.a.close();
        p.run(SimTime::from_secs(3));
        let b = p.b.as_mut().unwrap();
        assert_eq!(b.state(), TcpState::CloseWait);
        assert!(b.at_eof());
        b.close();
        p.run(SimTime::from_secs(4));
        assert_eq!(p.a.state(), TcpState::TimeWait);
        assert_eq!(p.b.as_ref().unwrap().state(), TcpState::Closed);
        p.run(SimTime::from_secs(100));
        assert_eq!(p.a.state(), TcpState::Closed);
        assert_eq!(
            summary(&p.log),
            [
                "A>B SYN seq=1000 ack=0 len=0",
                "B>A SYN,ACK seq=5000 ack=1001 len=0",
                "A>B ACK seq=1001 ack=5001 len=0",
                "A>B PSH,ACK seq=1001 ack=5001 len=5",
                "B>A ACK seq=5001 ack=1006 len=0",
                "A>B FIN,ACK seq=1006 ack=5001 len=0",
                "B>A ACK seq=5001 ack=1007 len=0",
                "B>A FIN,ACK seq=5001 ack=1007 len=0",
                "A>B ACK seq=1007 ack=5002 len=0",
            ]
        );
    }

    #[test]
    fn bulk_transfer_respects_windows() {
        let mut p = Pair::new();
        p.run(SimTime::from_secs(1));
        let data: Vec<u8> = (0..200_000u32).map(|i| (i * 7 % 251) as u8).collect();
        let mut sent = 0;
        let mut got = Vec::new();
        let mut t = SimTime::from_secs(1);
        while got.len() < data.len() {
            sent += p.a.send(&data[sent..]);
            t += SimDuration::from_millis(5);
            p.run(t);
            got.extend(p.b.as_mut().unwrap().recv_all());
            assert!(t < SimTime::from_secs(60), "stalled at {}", got.len());
        }
        assert_eq!(got, data);
        let max_flight = p
            .log
            .iter()
            .filter(|(ab, s)| *ab && !s.payload.is_empty())
            .count();
        assert!(max_flight >= 137, "{max_flight} data segments");
    }

    /// Delivers everything each side sends to the other, in rounds, until
    /// both are quiet; returns the state changes seen, per side.
    fn lockstep(
        a: &mut TcpConnection,
        b: &mut TcpConnection,
        now: &mut SimTime,
    ) -> [Vec<String>; 2] {
        let mut seen = [Vec::new(), Vec::new()];
        for _ in 0..20 {
            *now += DELAY;
            let from_a: Vec<_> = std::iter::from_fn(|| a.poll_transmit(*now)).collect();
            let from_b: Vec<_> = std::iter::from_fn(|| b.poll_transmit(*now)).collect();
            if from_a.is_empty() && from_b.is_empty() {
                break;
            }
            for seg in &from_a {
                b.handle_segment(*now, seg);
            }
            for seg in &from_b {
                a.handle_segment(*now, seg);
            }
            for (i, c) in [&mut *a, &mut *b].into_iter().enumerate() {
                while let Some(e) = c.poll_event() {
                    if let TcpEvent::State { to, .. } = e {
                        seen[i].push(to.name().to_owned());
                    }
                }
            }
        }
        seen
    }

    #[test]
    fn simultaneous_open_and_simultaneous_close() {
        let cfg = TcpConfig::default();
        let mut now = SimTime::ZERO;
        // RFC 9293 Figure 8: both ends send SYN at once.
        let mut a = TcpConnection::connect(cfg.clone(), addr(1, 5000), addr(2, 6000), 100, now);
        let mut b = TcpConnection::connect(cfg, addr(2, 6000), addr(1, 5000), 900, now);
        let seen = lockstep(&mut a, &mut b, &mut now);
        for s in &seen {
            assert_eq!(
                s[..],
                ["SYN-SENT", "SYN-RECEIVED", "ESTABLISHED"],
                "{seen:?}"
            );
        }
        assert_eq!(a.send(b"ping"), 4);
        assert_eq!(b.send(b"pong"), 4);
        lockstep(&mut a, &mut b, &mut now);
        assert_eq!(a.recv_all(), b"pong");
        assert_eq!(b.recv_all(), b"ping");
        // RFC 9293 Figure 13: both close at once; each sees the other's
        // FIN before the ACK of its own and passes through CLOSING.
        a.close();
        b.close();
        let seen = lockstep(&mut a, &mut b, &mut now);
        for s in &seen {
            assert_eq!(s[..], ["FIN-WAIT-1", "CLOSING", "TIME-WAIT"], "{seen:?}");
        }
        a.handle_timeout(now + SimDuration::from_secs(61));
        assert_eq!(a.state(), TcpState::Closed);
    }

    /// A segment from the peer's addresses: ours to forge.
    fn forged(p: &Pair, seq: u32, flags: TcpFlags, window: u16, payload: &[u8]) -> TcpSegment {
        TcpSegment {
            src_port: 80,
            dst_port: 40000,
            seq,
            ack: p.a.snd_nxt,
            flags,
            window,
            mss: None,
            payload: Bytes::copy_from_slice(payload),
        }
    }

    #[test]
    fn a_segment_far_ahead_does_not_freeze_the_window() {
        let mut p = Pair::new();
        p.run(SimTime::from_secs(1));
        // In the window, 20,000 bytes ahead of anything the peer sent,
        // advertising a window of one byte.
        let seg = forged(&p, p.a.rcv_nxt.wrapping_add(20_000), TcpFlags::ACK, 1, b"");
        p.a.handle_segment(p.now, &seg);
        assert_eq!(p.a.send_window(), 1);
        let data = vec![b'x'; 20_000];
        assert_eq!(p.a.send(&data), data.len());
        // The peer's first ACK of new data gives its real window back:
        // all is there in well under the 400 s a byte per round trip
        // would take.
        p.run(SimTime::from_secs(3));
        assert!(p.a.send_window() > 1);
        assert_eq!(p.b.as_mut().unwrap().recv_all(), data);
    }

    #[test]
    fn a_forged_byte_does_not_start_an_endless_exchange_of_acks() {
        let mut p = Pair::new();
        p.run(SimTime::from_secs(1));
        // A byte the peer never sent: A acknowledges it, B finds that ACK
        // acknowledges unsent data and answers, A finds B's ACK out of
        // its window and answers, and so on, at most once per 500 ms each.
        let seg = forged(&p, p.a.rcv_nxt, TcpFlags::ACK, 65535, b"!");
        p.a.handle_segment(p.now, &seg);
        p.log.clear();
        p.run(SimTime::from_secs(3));
        let acks = p.log.len();
        assert!(
            acks <= 2 * 5,
            "{acks} segments in 2 s: {:?}",
            summary(&p.log)
        );
        assert_eq!(p.a.state(), TcpState::Established);
        assert_eq!(p.b.as_ref().unwrap().state(), TcpState::Established);
    }
}
