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
//! receive sequence spaces, the output, segment arrival and the timers
//! other than the RTO); `rtt` is the retransmission timer, `congestion`
//! the congestion window and `reassembly` the queue of out-of-order data.
//! Each is an `impl TcpConnection` over the fields declared here.

use super::seq;
use crate::net::packet::{TcpFlags, TcpSegment};
use crate::sim::{SimDuration, SimTime};
use bytes::Bytes;
use std::collections::{BTreeMap, VecDeque};
use std::fmt;
use std::net::SocketAddrV4;

/// The eleven states of RFC 9293 §3.3.2.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TcpState {
    Closed,
    Listen,
    SynSent,
    SynReceived,
    Established,
    FinWait1,
    FinWait2,
    CloseWait,
    Closing,
    LastAck,
    TimeWait,
}

impl TcpState {
    /// The RFC's name, as the trace prints it.
    pub fn name(self) -> &'static str {
        match self {
            TcpState::Closed => "CLOSED",
            TcpState::Listen => "LISTEN",
            TcpState::SynSent => "SYN-SENT",
            TcpState::SynReceived => "SYN-RECEIVED",
            TcpState::Established => "ESTABLISHED",
            TcpState::FinWait1 => "FIN-WAIT-1",
            TcpState::FinWait2 => "FIN-WAIT-2",
            TcpState::CloseWait => "CLOSE-WAIT",
            TcpState::Closing => "CLOSING",
            TcpState::LastAck => "LAST-ACK",
            TcpState::TimeWait => "TIME-WAIT",
        }
    }

    /// States in which a FIN from the peer has not yet been received and
    /// data may still arrive.
    fn can_receive(self) -> bool {
        matches!(
            self,
            TcpState::SynReceived | TcpState::Established | TcpState::FinWait1 | TcpState::FinWait2
        )
    }

    /// States in which the application may still queue data to send.
    fn can_send(self) -> bool {
        matches!(
            self,
            TcpState::SynSent | TcpState::SynReceived | TcpState::Established | TcpState::CloseWait
        )
    }

    /// Synchronized states (RFC 9293 §3.5.2): both ISNs are known.
    pub(super) fn synchronized(self) -> bool {
        !matches!(
            self,
            TcpState::Closed | TcpState::Listen | TcpState::SynSent | TcpState::SynReceived
        )
    }
}

impl fmt::Display for TcpState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

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

/// Why a connection ended other than by an orderly close.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TcpError {
    /// The peer answered the SYN with RST: nothing listens on that port.
    Refused,
    /// The peer reset an established connection.
    Reset,
    /// Retransmissions went unanswered too many times.
    TimedOut,
}

impl TcpError {
    pub fn name(self) -> &'static str {
        match self {
            TcpError::Refused => "connection refused",
            TcpError::Reset => "connection reset",
            TcpError::TimedOut => "connection timed out",
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
struct SendBuffer {
    chunks: VecDeque<Bytes>,
    len: usize,
}

impl SendBuffer {
    fn push(&mut self, data: Bytes) {
        self.len += data.len();
        self.chunks.push_back(data);
    }

    /// Drops `n` bytes from the front (they were acknowledged).
    fn consume(&mut self, mut n: usize) {
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
    fn slice(&self, mut offset: usize, len: usize) -> Bytes {
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
    local: SocketAddrV4,
    remote: SocketAddrV4,

    // Send sequence space (RFC 9293 §3.3.1).
    iss: u32,
    pub(super) snd_una: u32,
    pub(super) snd_nxt: u32,
    /// The highest sequence number sent so far, plus one. After a timeout
    /// `snd_nxt` goes back to `snd_una` (go-back-N) but this stays.
    pub(super) snd_max: u32,
    snd_wnd: u32,
    snd_wl1: u32,
    snd_wl2: u32,
    /// The MSS this end may send: the peer's MSS option, or 536.
    pub(super) snd_mss: u32,
    /// Sequence number of `send_buf`'s first byte.
    buf_seq: u32,
    send_buf: SendBuffer,
    /// The application asked to close: a FIN follows the queued data.
    fin_queued: bool,

    // Receive sequence space.
    irs: u32,
    pub(super) rcv_nxt: u32,
    pub(super) recv_buf: VecDeque<Bytes>,
    pub(super) recv_len: usize,
    /// Out-of-order data, keyed by stream offset (see `rcv_off`): sequence
    /// numbers wrap, offsets do not.
    pub(super) ooo: BTreeMap<u64, Bytes>,
    /// Stream offset of `rcv_nxt` (bytes received in order so far).
    pub(super) rcv_off: u64,
    /// Stream offset of the peer's FIN, if it arrived ahead of data.
    ooo_fin: Option<u64>,
    /// Window last advertised, to decide when a window update is due.
    rcv_wnd_advertised: u32,
    /// The peer's FIN has been received (end of stream).
    fin_received: bool,

    // Output requests.
    pub(super) ack_now: bool,
    /// In-order segments received since the last ACK we sent.
    unacked_segments: u32,
    delack_at: Option<SimTime>,
    /// Retransmit the segment at `snd_una` at once (fast retransmit,
    /// partial ACK in NewReno recovery).
    pub(super) retransmit_una: bool,
    /// Send one byte past a zero window (RFC 9293 §3.8.6.1).
    probe_now: bool,
    /// RST to send (and then be closed).
    rst_pending: Option<TcpSegment>,

    // Retransmission timer (RFC 6298).
    pub(super) rto: SimDuration,
    pub(super) srtt: Option<SimDuration>,
    pub(super) rttvar: SimDuration,
    pub(super) rto_at: Option<SimTime>,
    pub(super) backoff: u32,
    /// Sequence number being timed and when it was sent. Karn's rule: the
    /// sample is discarded if that segment is retransmitted.
    pub(super) rtt_probe: Option<(u32, SimTime)>,
    persist_at: Option<SimTime>,
    persist_backoff: u32,
    /// When this end last acknowledged an unacceptable segment that
    /// carried no data (see [`TcpConnection::ack_unacceptable`]).
    oow_ack_at: Option<SimTime>,
    time_wait_at: Option<SimTime>,

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
const OOW_ACK_INTERVAL: SimDuration = SimDuration::from_millis(500);

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
    // Output
    // ------------------------------------------------------------------

    /// The next event, if any.
    pub fn poll_event(&mut self) -> Option<TcpEvent> {
        self.events.pop_front()
    }

    /// The earliest time at which [`handle_timeout`](Self::handle_timeout)
    /// has work to do.
    pub fn poll_timeout(&self) -> Option<SimTime> {
        [
            self.rto_at,
            self.delack_at,
            self.persist_at,
            self.time_wait_at,
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// The next segment to send, if any. Call until it returns `None`.
    pub fn poll_transmit(&mut self, now: SimTime) -> Option<TcpSegment> {
        if let Some(rst) = self.rst_pending.take() {
            return Some(rst);
        }
        match self.state {
            TcpState::Closed | TcpState::Listen => None,
            TcpState::SynSent => self.transmit_syn(now, TcpFlags::SYN),
            // Nothing but the SYN,ACK until the handshake completes.
            TcpState::SynReceived => self.transmit_syn(now, TcpFlags::SYN | TcpFlags::ACK),
            _ => {
                let seg = self.transmit_data(now);
                if seg.is_some() {
                    return seg;
                }
                if self.ack_now {
                    return Some(self.ack_segment());
                }
                None
            }
        }
    }

    fn transmit_syn(&mut self, now: SimTime, flags: TcpFlags) -> Option<TcpSegment> {
        if self.snd_nxt != self.iss {
            return None;
        }
        self.snd_nxt = self.iss.wrapping_add(1);
        if self.snd_max == self.iss {
            // First transmission: time it (the handshake gives the first
            // RTT sample).
            self.snd_max = self.snd_nxt;
            self.rtt_probe = Some((self.iss, now));
        } else {
            self.rtt_probe = None; // Karn's rule
        }
        let mut seg = self.segment(self.iss, flags, Bytes::new());
        if !flags.ack() {
            seg.ack = 0;
        }
        seg.mss = Some(self.config.mss);
        if self.rto_at.is_none() {
            self.arm_rto(now);
        }
        self.ack_now = false;
        Some(seg)
    }

    /// Sequence number of our FIN, once it is queued.
    fn fin_seq(&self) -> Option<u32> {
        self.fin_queued
            .then(|| self.buf_seq.wrapping_add(self.send_buf.len as u32))
    }

    /// A data (and/or FIN) segment if the windows allow one.
    fn transmit_data(&mut self, now: SimTime) -> Option<TcpSegment> {
        let mss = self.snd_mss;
        let data_end = self.buf_seq.wrapping_add(self.send_buf.len as u32);
        let fin_seq = self.fin_seq();

        let retransmit = std::mem::take(&mut self.retransmit_una);
        let probe = std::mem::take(&mut self.probe_now);
        let start = if retransmit {
            self.snd_una
        } else {
            self.snd_nxt
        };
        // The SYN's sequence number is not data; data starts at buf_seq.
        let start = if seq::lt(start, self.buf_seq) {
            self.buf_seq
        } else {
            start
        };
        let available = seq::diff(data_end, start).max(0) as u32;

        let len = if retransmit {
            available.min(mss)
        } else {
            let in_flight = self.snd_nxt.wrapping_sub(self.snd_una);
            let window = self.cwnd.min(self.snd_wnd);
            let usable = window.saturating_sub(in_flight);
            if probe && usable == 0 {
                available.min(1)
            } else {
                available.min(mss).min(usable)
            }
        };
        let end = start.wrapping_add(len);
        // The FIN goes with the segment that ends at its sequence number:
        // on the last data segment, or alone once all data is out. A FIN
        // carries no data, so it needs no window.
        let send_fin = fin_seq == Some(end);
        if len == 0 && !send_fin {
            return None;
        }

        let offset = seq::diff(start, self.buf_seq) as usize;
        let payload = self.send_buf.slice(offset, len as usize);
        let mut flags = TcpFlags::ACK;
        if send_fin {
            flags = flags | TcpFlags::FIN;
        }
        if len > 0 && end == data_end {
            flags = flags | TcpFlags::PSH;
        }
        let seg = self.segment(start, flags, payload);
        let seg_end = start.wrapping_add(seg.seq_len());
        let is_retransmission = seq::lt(start, self.snd_max);
        if is_retransmission {
            // Karn's rule (RFC 6298 §3): never time a retransmitted segment.
            if let Some((timed, _)) = self.rtt_probe
                && seq::ge(timed, start)
                && seq::lt(timed, seg_end)
            {
                self.rtt_probe = None;
            }
        } else if self.rtt_probe.is_none() {
            self.rtt_probe = Some((start, now));
        }
        if seq::gt(seg_end, self.snd_nxt) {
            self.snd_nxt = seg_end;
        }
        if seq::gt(self.snd_nxt, self.snd_max) {
            self.snd_max = self.snd_nxt;
        }
        // RFC 6298 §5.1: start the timer when sending data if not running.
        if self.rto_at.is_none() {
            self.arm_rto(now);
        }
        self.persist_at = None;
        Some(seg)
    }

    /// A pure ACK carrying the current window.
    fn ack_segment(&mut self) -> TcpSegment {
        self.segment(self.snd_nxt, TcpFlags::ACK, Bytes::new())
    }

    /// Builds a segment from this connection's addresses and receive state.
    /// Every segment but a SYN acknowledges, so this also counts as the ACK
    /// that was owed.
    fn segment(&mut self, seq: u32, flags: TcpFlags, payload: Bytes) -> TcpSegment {
        let window = self.rcv_window();
        if flags.ack() {
            self.ack_now = false;
            self.unacked_segments = 0;
            self.delack_at = None;
            self.rcv_wnd_advertised = window;
        }
        TcpSegment {
            src_port: self.local.port(),
            dst_port: self.remote.port(),
            seq,
            ack: if flags.ack() { self.rcv_nxt } else { 0 },
            flags,
            window: window.min(65_535) as u16,
            mss: None,
            payload,
        }
    }

    /// Free receive buffer space: the window we advertise.
    pub(super) fn rcv_window(&self) -> u32 {
        self.config.recv_buffer.saturating_sub(self.recv_len as u32)
    }

    /// After the application read data: announce a window that grew by at
    /// least an MSS or half the buffer (receiver-side silly window syndrome
    /// avoidance, RFC 9293 §3.8.6.2.2).
    fn maybe_window_update(&mut self) {
        if !self.state.can_receive() || self.fin_received {
            return;
        }
        let grown = self.rcv_window().saturating_sub(self.rcv_wnd_advertised);
        let threshold = u32::from(self.config.mss).min(self.config.recv_buffer / 2);
        if grown >= threshold && grown > 0 {
            self.ack_now = true;
        }
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

    fn enter_closed(&mut self) {
        self.set_state(TcpState::Closed);
        self.rto_at = None;
        self.delack_at = None;
        self.persist_at = None;
        self.time_wait_at = None;
        self.ack_now = false;
        self.retransmit_una = false;
        self.probe_now = false;
    }

    fn set_state(&mut self, to: TcpState) {
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

    // ------------------------------------------------------------------
    // Segment arrival (RFC 9293 §3.10.7)
    // ------------------------------------------------------------------

    /// Processes a segment addressed to this connection.
    pub fn handle_segment(&mut self, now: SimTime, seg: &TcpSegment) {
        match self.state {
            TcpState::Closed | TcpState::Listen => {}
            TcpState::SynSent => self.handle_syn_sent(now, seg),
            _ => self.handle_synchronized(now, seg),
        }
        self.update_persist(now);
    }

    /// Records the peer's SYN: its ISN and MSS option.
    fn receive_syn(&mut self, syn: &TcpSegment) {
        self.irs = syn.seq;
        self.rcv_nxt = syn.seq.wrapping_add(1);
        if let Some(mss) = syn.mss {
            self.snd_mss = u32::from(mss).min(u32::from(self.config.mss)).max(1);
        }
        self.snd_wnd = u32::from(syn.window);
        self.snd_wl1 = syn.seq;
        self.snd_wl2 = syn.ack;
        self.init_cwnd();
    }

    fn acceptable_ack(&self, ack: u32) -> bool {
        seq::lt(self.snd_una, ack) && seq::le(ack, self.snd_max)
    }

    /// RFC 9293 §3.10.7.3: SYN-SENT.
    fn handle_syn_sent(&mut self, now: SimTime, seg: &TcpSegment) {
        let flags = seg.flags;
        if flags.ack() && !self.acceptable_ack(seg.ack) {
            if !flags.rst() {
                self.rst_pending = Some(self.rst_for_ack(seg.ack));
            }
            return;
        }
        if flags.rst() {
            if flags.ack() {
                self.fail(TcpError::Refused);
            }
            return;
        }
        if !flags.syn() {
            return;
        }
        self.receive_syn(seg);
        if flags.ack() {
            self.snd_una = seg.ack;
            self.sample_rtt(now, seg.ack);
            self.after_syn_acked();
            self.set_state(TcpState::Established);
            self.ack_now = true;
            self.accept_text(now, seg, seg.seq.wrapping_add(1));
        } else {
            // Simultaneous open (RFC 9293 Figure 8): answer with SYN,ACK.
            self.set_state(TcpState::SynReceived);
            self.snd_nxt = self.iss;
        }
    }

    fn rst_for_ack(&self, ack: u32) -> TcpSegment {
        TcpSegment {
            src_port: self.local.port(),
            dst_port: self.remote.port(),
            seq: ack,
            ack: 0,
            flags: TcpFlags::RST,
            window: 0,
            mss: None,
            payload: Bytes::new(),
        }
    }

    /// RFC 9293 §3.10.7.4: every state after SYN-SENT.
    fn handle_synchronized(&mut self, now: SimTime, seg: &TcpSegment) {
        let flags = seg.flags;
        // First: is the segment in the receive window?
        if !self.segment_acceptable(seg) {
            if flags.rst() {
                return;
            }
            if self.state == TcpState::SynReceived && flags.syn() && seg.seq == self.irs {
                if flags.ack() && self.acceptable_ack(seg.ack) {
                    // Simultaneous open (RFC 9293 Figure 8, line 6): the
                    // peer's SYN,ACK repeats the SYN we already have and
                    // acknowledges ours. Only the ACK is new.
                    self.complete_handshake();
                    self.handle_ack(now, seg);
                    return;
                }
                // Our SYN,ACK was lost and the peer sent its SYN again.
                self.snd_nxt = self.iss;
                return;
            }
            if self.state == TcpState::TimeWait && flags.fin() {
                // A retransmitted FIN: our last ACK was lost. Ack it and
                // restart the 2*MSL timer (RFC 9293 §3.10.7.4, TIME-WAIT).
                self.time_wait_at = Some(now + self.config.msl.saturating_mul(2));
            }
            self.ack_unacceptable(now, seg);
            return;
        }
        // Second: RST (RFC 5961 §3.2: exact match resets, else challenge).
        if flags.rst() {
            if seg.seq == self.rcv_nxt {
                if self.state == TcpState::SynReceived {
                    // Back to LISTEN: for a connection spawned by a
                    // listener that just means it goes away.
                    self.events.push_back(TcpEvent::Error(TcpError::Reset));
                    self.enter_closed();
                } else if matches!(
                    self.state,
                    TcpState::LastAck | TcpState::Closing | TcpState::TimeWait
                ) {
                    self.enter_closed();
                } else {
                    self.fail(TcpError::Reset);
                }
            } else {
                // The challenge ACK.
                self.ack_unacceptable(now, seg);
            }
            return;
        }
        // Fourth: a SYN in a synchronized state (RFC 5961 §4.2).
        if flags.syn() {
            self.ack_unacceptable(now, seg);
            return;
        }
        // Fifth: the ACK field.
        if !flags.ack() {
            return;
        }
        if self.state == TcpState::SynReceived {
            if !self.acceptable_ack(seg.ack) {
                self.rst_pending = Some(self.rst_for_ack(seg.ack));
                return;
            }
            self.complete_handshake();
        }
        if !self.handle_ack(now, seg) {
            return;
        }
        let data_seq = if flags.syn() {
            seg.seq.wrapping_add(1)
        } else {
            seg.seq
        };
        self.accept_text(now, seg, data_seq);
    }

    /// SYN-RECEIVED and our SYN acknowledged: the connection is up.
    fn complete_handshake(&mut self) {
        self.after_syn_acked();
        self.set_state(if self.fin_queued {
            TcpState::FinWait1
        } else {
            TcpState::Established
        });
        if self.fin_queued {
            // close() was called before the handshake ended; the
            // connection still counts as established for the app.
            self.events.push_back(TcpEvent::Connected);
        }
    }

    /// The ACK RFC 9293 §3.10.7.4 sends in reply to a segment it drops
    /// (out of the window, acknowledging unsent data) and the challenge
    /// ACKs of RFC 5961 (a RST or SYN that is not an exact match).
    ///
    /// Two ends that disagree about the sequence numbers (a forged or
    /// stale segment made one of them acknowledge bytes the other never
    /// sent) would otherwise answer each other's ACKs forever: each finds
    /// the other's ACK unacceptable and replies with one of its own. So,
    /// as RFC 5961 §7 advises and as Linux does, such replies to segments
    /// without data are throttled to one per [`OOW_ACK_INTERVAL`]; a
    /// segment with data or a FIN (a retransmission after our ACK was
    /// lost) is always acknowledged.
    fn ack_unacceptable(&mut self, now: SimTime, seg: &TcpSegment) {
        let loop_prone = seg.flags.syn() || (seg.payload.is_empty() && !seg.flags.fin());
        if loop_prone {
            if self
                .oow_ack_at
                .is_some_and(|at| now < at + OOW_ACK_INTERVAL)
            {
                return;
            }
            self.oow_ack_at = Some(now);
        }
        self.ack_now = true;
    }

    /// RFC 9293 §3.10.7.4 "first, check sequence number" (the four cases).
    fn segment_acceptable(&self, seg: &TcpSegment) -> bool {
        let len = seg.seq_len();
        let wnd = self.rcv_window();
        let start_ok =
            |s: u32| seq::le(self.rcv_nxt, s) && seq::lt(s, self.rcv_nxt.wrapping_add(wnd));
        match (len, wnd) {
            (0, 0) => seg.seq == self.rcv_nxt,
            (0, _) => start_ok(seg.seq),
            (_, 0) => false,
            (_, _) => start_ok(seg.seq) || start_ok(seg.seq.wrapping_add(len - 1)),
        }
    }

    /// Processes the ACK field; false if the segment must be dropped.
    fn handle_ack(&mut self, now: SimTime, seg: &TcpSegment) -> bool {
        let ack = seg.ack;
        if seq::gt(ack, self.snd_max) {
            // Acknowledges something not yet sent.
            self.ack_unacceptable(now, seg);
            return false;
        }
        let window = u32::from(seg.window);
        let acks_new_data = seq::lt(self.snd_una, ack);
        if acks_new_data {
            self.on_new_ack(now, ack);
        } else if ack == self.snd_una {
            let is_dup = seg.payload.is_empty()
                && !seg.flags.fin()
                && !seg.flags.syn()
                && window == self.snd_wnd
                && self.snd_max != self.snd_una;
            if is_dup {
                self.on_dup_ack();
            }
        }
        // Window update (RFC 9293 §3.10.7.4, SND.WL1/SND.WL2 rule: no
        // older segment than the last one used may set the window), and,
        // as Linux does (tcp_may_update_window), whenever the ACK
        // acknowledges new data: such a segment is never an old one.
        // Without that, one in-window segment with a sequence number far
        // ahead (forged, or from a confused peer) would set SND.WL1 there
        // and freeze the window it carried until the peer's own data
        // caught up: a tiny window could then hold the sender to a byte
        // per round trip for as long as the peer only acknowledges.
        if acks_new_data
            || seq::lt(self.snd_wl1, seg.seq)
            || (self.snd_wl1 == seg.seq && seq::le(self.snd_wl2, ack))
        {
            let opened = window > self.snd_wnd;
            self.snd_wnd = window;
            self.snd_wl1 = seg.seq;
            self.snd_wl2 = ack;
            if opened {
                self.persist_backoff = 0;
            }
        }
        self.after_ack_state_changes(now);
        true
    }

    /// State changes an ACK of our FIN causes.
    fn after_ack_state_changes(&mut self, now: SimTime) {
        let fin_acked = self.fin_seq().is_some_and(|f| seq::gt(self.snd_una, f));
        if !fin_acked {
            return;
        }
        match self.state {
            TcpState::FinWait1 => self.set_state(TcpState::FinWait2),
            TcpState::Closing => self.enter_time_wait(now),
            TcpState::LastAck => self.enter_closed(),
            _ => {}
        }
    }

    fn enter_time_wait(&mut self, now: SimTime) {
        self.set_state(TcpState::TimeWait);
        self.time_wait_at = Some(now + self.config.msl.saturating_mul(2));
    }

    /// An ACK that acknowledges new data.
    fn on_new_ack(&mut self, now: SimTime, ack: u32) {
        // Bytes of data (not SYN/FIN) this ACK covers.
        let data_acked = seq::diff(ack, self.buf_seq).clamp(0, self.send_buf.len as i64) as usize;
        if data_acked > 0 {
            self.send_buf.consume(data_acked);
            self.buf_seq = self.buf_seq.wrapping_add(data_acked as u32);
            self.events.push_back(TcpEvent::Writable);
        }
        self.snd_una = ack;
        if seq::lt(self.snd_nxt, self.snd_una) {
            self.snd_nxt = self.snd_una;
        }
        self.sample_rtt(now, ack);
        self.backoff = 0;
        self.timeout_reduced = false;
        // Only data counts toward window growth: the ACK of a SYN or FIN
        // moves no bytes through the network's queues.
        if data_acked > 0 {
            self.congestion_on_new_ack(data_acked as u32);
        }
        // RFC 6298 §5.2-5.3: stop the timer when all is acknowledged,
        // otherwise restart it.
        self.rto_at = if self.snd_una == self.snd_max {
            None
        } else {
            Some(now + self.rto)
        };
    }

    /// RFC 9293 §3.10.7.4 "seventh, process the segment text" and "eighth,
    /// check the FIN bit". `data_seq` is the sequence number of the first
    /// payload byte.
    fn accept_text(&mut self, now: SimTime, seg: &TcpSegment, data_seq: u32) {
        if !self.state.can_receive() || self.fin_received {
            if seg.flags.fin() || !seg.payload.is_empty() {
                // Data after the peer's FIN: just acknowledge.
                self.ack_now = true;
            }
            return;
        }
        let mut in_order = false;
        if !seg.payload.is_empty() {
            in_order = self.receive_data(data_seq, &seg.payload);
        }
        if seg.flags.fin() {
            let fin_off = self.offset_of(data_seq.wrapping_add(seg.payload.len() as u32));
            if fin_off.is_some_and(|o| o >= self.rcv_off) {
                self.ooo_fin = fin_off;
            }
        }
        let fin_now = self.ooo_fin == Some(self.rcv_off);
        if fin_now {
            self.ooo_fin = None;
            self.fin_received = true;
            self.rcv_nxt = self.rcv_nxt.wrapping_add(1);
            self.ack_now = true;
            self.events.push_back(TcpEvent::PeerClosed);
            match self.state {
                TcpState::SynReceived | TcpState::Established => {
                    self.set_state(TcpState::CloseWait)
                }
                TcpState::FinWait1 => self.set_state(TcpState::Closing),
                TcpState::FinWait2 => self.enter_time_wait(now),
                _ => {}
            }
        } else if !seg.payload.is_empty() {
            self.schedule_ack(now, in_order);
        }
    }

    /// RFC 5681 §4.2: ACK at least every second full-sized segment, and
    /// within the delayed-ACK timeout otherwise.
    fn schedule_ack(&mut self, now: SimTime, in_order: bool) {
        if !in_order {
            return; // ack_now was set where needed
        }
        self.unacked_segments += 1;
        match self.config.delayed_ack {
            Some(delay) if self.unacked_segments < 2 => {
                if self.delack_at.is_none() {
                    self.delack_at = Some(now + delay);
                }
            }
            _ => self.ack_now = true,
        }
    }

    /// Zero-window probing (RFC 9293 §3.8.6.1): if data waits, the peer's
    /// window is closed and nothing is in flight to elicit an ACK, a timer
    /// sends a one-byte probe.
    fn update_persist(&mut self, now: SimTime) {
        let data_waiting = seq::lt(
            self.snd_nxt,
            self.buf_seq.wrapping_add(self.send_buf.len as u32),
        );
        let blocked = self.state.synchronized()
            && self.snd_wnd == 0
            && data_waiting
            && self.snd_nxt == self.snd_una;
        if !blocked {
            self.persist_at = None;
        } else if self.persist_at.is_none() {
            let wait = self
                .rto
                .saturating_mul(1 << self.persist_backoff.min(6))
                .min(self.config.max_rto);
            self.persist_at = Some(now + wait);
        }
    }

    /// Called by the stack after the application queued data or read: keeps
    /// the persist timer consistent.
    pub fn after_app_call(&mut self, now: SimTime) {
        self.update_persist(now);
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
