//! What a connection does with a segment that arrives (RFC 9293 §3.10.7):
//! SYN-SENT's rules, then for a synchronized connection the sequence
//! check, RST (with the challenge ACK of RFC 5961 §3 for one not exactly
//! at RCV.NXT), SYN, the ACK field (new data acknowledged, duplicates,
//! the window update), the segment text and the FIN; and when to send the
//! ACK (RFC 5681 §4.2) and the zero-window probe (§3.8.6.1).
//!
//! Not here: the reassembly of out-of-order data (`reassembly`), the
//! congestion window (`congestion`), the RTT samples (`rtt`).

use super::conn::{OOW_ACK_INTERVAL, TcpConnection, TcpError, TcpEvent, TcpState};
use super::seq;
use crate::net::packet::{TcpFlags, TcpSegment};
use crate::sim::SimTime;
use bytes::Bytes;

impl TcpConnection {
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
    pub(super) fn receive_syn(&mut self, syn: &TcpSegment) {
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

#[cfg(test)]
mod tests {
    use super::super::conn::TcpConfig;
    use super::super::testing::established;
    use super::*;
    use crate::sim::SimDuration;

    fn ms(n: u64) -> SimDuration {
        SimDuration::from_millis(n)
    }

    /// A segment from the client (port 40000) to the server (port 80).
    fn from_client(seq: u32, ack: u32, flags: TcpFlags, payload: &'static [u8]) -> TcpSegment {
        TcpSegment {
            src_port: 40000,
            dst_port: 80,
            seq,
            ack,
            flags,
            window: 65_535,
            mss: None,
            payload: Bytes::from_static(payload),
        }
    }

    fn events(c: &mut TcpConnection) -> Vec<TcpEvent> {
        std::iter::from_fn(|| c.poll_event()).collect()
    }

    #[test]
    fn a_reset_counts_only_at_rcv_nxt_otherwise_it_is_challenged() {
        // RFC 5961 §3.2: a RST in the window but not at RCV.NXT gets a
        // challenge ACK; only the exact one resets.
        let (_, mut s) = established(TcpConfig::default(), ms(10));
        let (nxt, una) = (s.rcv_nxt, s.snd_una);
        s.handle_segment(
            SimTime::ZERO,
            &from_client(nxt + 100, 0, TcpFlags::RST, b""),
        );
        assert_eq!(s.state(), TcpState::Established);
        let challenge = s.poll_transmit(SimTime::ZERO).expect("a challenge ACK");
        assert!(challenge.flags.ack() && !challenge.flags.rst());
        assert_eq!((challenge.seq, challenge.ack), (una, nxt));
        s.handle_segment(SimTime::ZERO, &from_client(nxt, 0, TcpFlags::RST, b""));
        assert_eq!(s.state(), TcpState::Closed);
        assert!(events(&mut s).contains(&TcpEvent::Error(TcpError::Reset)));
    }

    #[test]
    fn a_segment_outside_the_window_is_acknowledged_and_dropped() {
        // RFC 9293 §3.10.7.4, first check.
        let (_, mut s) = established(TcpConfig::default(), ms(10));
        let old = s.rcv_nxt.wrapping_sub(1000);
        s.handle_segment(
            SimTime::ZERO,
            &from_client(old, s.snd_una, TcpFlags::ACK, b"old"),
        );
        assert_eq!(s.recv_available(), 0);
        let ack = s.poll_transmit(SimTime::ZERO).expect("an ACK");
        assert_eq!(ack.ack, s.rcv_nxt);
    }

    #[test]
    fn a_syn_on_an_open_connection_gets_a_challenge_ack() {
        // RFC 5961 §4.2: not a reset, whatever its sequence number.
        let (_, mut s) = established(TcpConfig::default(), ms(10));
        s.handle_segment(
            SimTime::ZERO,
            &from_client(s.rcv_nxt, 0, TcpFlags::SYN, b""),
        );
        assert_eq!(s.state(), TcpState::Established);
        assert!(
            s.poll_transmit(SimTime::ZERO)
                .is_some_and(|a| a.flags.ack())
        );
    }

    #[test]
    fn a_fin_closes_the_peers_half() {
        let (_, mut s) = established(TcpConfig::default(), ms(10));
        let fin = TcpFlags::FIN | TcpFlags::ACK;
        s.handle_segment(
            SimTime::ZERO,
            &from_client(s.rcv_nxt, s.snd_una, fin, b"bye"),
        );
        assert_eq!(s.state(), TcpState::CloseWait);
        assert_eq!(s.recv_all(), b"bye");
        assert!(s.at_eof());
        assert!(events(&mut s).contains(&TcpEvent::PeerClosed));
        // The FIN takes one sequence number.
        let ack = s.poll_transmit(SimTime::ZERO).expect("an ACK");
        assert_eq!(ack.ack, s.rcv_nxt);
    }

    #[test]
    fn a_reset_answering_the_syn_is_a_refusal() {
        // RFC 9293 §3.10.7.3: RST,ACK in SYN-SENT with an acceptable ACK.
        let mut c = TcpConnection::connect(
            TcpConfig::default(),
            "10.0.0.1:40000".parse().unwrap(),
            "10.0.0.2:80".parse().unwrap(),
            1000,
            SimTime::ZERO,
        );
        let syn = c.poll_transmit(SimTime::ZERO).unwrap();
        let rst = super::super::reset_for(&syn).unwrap();
        c.handle_segment(SimTime::from_millis(10), &rst);
        assert_eq!(c.state(), TcpState::Closed);
        assert!(events(&mut c).contains(&TcpEvent::Error(TcpError::Refused)));
    }
}
