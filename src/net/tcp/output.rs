//! What a connection sends: the next segment (the SYN or SYN,ACK with the
//! MSS option, RFC 9293 §3.7.1; data within the smaller of the peer's
//! window and the congestion window, at most one MSS, the FIN on the last
//! one; retransmissions from `snd_una`; a zero-window probe; a bare ACK
//! or window update), its next deadline and its events.
//!
//! Not here: when the RTO fires and what it does (`rtt`), what is done
//! with the segments that arrive (`arrival`).

use super::conn::{TcpConnection, TcpEvent, TcpState};
use super::seq;
use crate::net::packet::{TcpFlags, TcpSegment};
use crate::sim::SimTime;
use bytes::Bytes;

impl TcpConnection {
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
    pub(super) fn fin_seq(&self) -> Option<u32> {
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
    pub(super) fn segment(&mut self, seq: u32, flags: TcpFlags, payload: Bytes) -> TcpSegment {
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
    pub(super) fn maybe_window_update(&mut self) {
        if !self.state.can_receive() || self.fin_received {
            return;
        }
        let grown = self.rcv_window().saturating_sub(self.rcv_wnd_advertised);
        let threshold = u32::from(self.config.mss).min(self.config.recv_buffer / 2);
        if grown >= threshold && grown > 0 {
            self.ack_now = true;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::conn::TcpConfig;
    use super::super::testing::established;
    use super::*;
    use crate::sim::SimDuration;

    #[test]
    fn the_syn_carries_the_mss_option_and_no_ack() {
        // RFC 9293 §3.7.1.
        let mut c = TcpConnection::connect(
            TcpConfig {
                mss: 1200,
                ..TcpConfig::default()
            },
            "10.0.0.1:40000".parse().unwrap(),
            "10.0.0.2:80".parse().unwrap(),
            1000,
            SimTime::ZERO,
        );
        let syn = c.poll_transmit(SimTime::ZERO).unwrap();
        assert!(syn.flags.syn() && !syn.flags.ack());
        assert_eq!((syn.seq, syn.ack, syn.mss), (1000, 0, Some(1200)));
        assert!(c.poll_transmit(SimTime::ZERO).is_none());
    }

    #[test]
    fn data_goes_in_segments_of_the_peers_mss_within_the_congestion_window() {
        // The server advertised an MSS of 500: the initial window is four
        // of them (RFC 5681 §3.1 eq. 1), so four full segments go and the
        // rest waits for an ACK.
        let (mut c, _) = established(
            TcpConfig {
                mss: 500,
                ..TcpConfig::default()
            },
            SimDuration::from_millis(10),
        );
        c.send(&[b'x'; 3000]);
        let now = SimTime::from_millis(20);
        let sizes: Vec<usize> = std::iter::from_fn(|| c.poll_transmit(now))
            .map(|s| s.payload.len())
            .collect();
        assert_eq!(sizes, [500, 500, 500, 500]);
        assert_eq!(c.flight_size(), 2000);
    }

    #[test]
    fn the_fin_rides_on_the_last_data_segment() {
        let (mut c, _) = established(TcpConfig::default(), SimDuration::from_millis(10));
        c.send(b"bye");
        c.close();
        let now = SimTime::from_millis(20);
        let seg = c.poll_transmit(now).unwrap();
        assert_eq!(&seg.payload[..], b"bye");
        assert!(seg.flags.fin() && seg.flags.contains(TcpFlags::PSH) && seg.flags.ack());
        assert!(c.poll_transmit(now).is_none());
        assert_eq!(c.state(), TcpState::FinWait1);
        // The FIN counts in the flight: three bytes and one.
        assert_eq!(c.flight_size(), 4);
    }

    #[test]
    fn events_come_out_in_order() {
        let mut c = TcpConnection::connect(
            TcpConfig::default(),
            "10.0.0.1:40000".parse().unwrap(),
            "10.0.0.2:80".parse().unwrap(),
            1000,
            SimTime::ZERO,
        );
        assert_eq!(
            c.poll_event(),
            Some(TcpEvent::State {
                from: TcpState::Closed,
                to: TcpState::SynSent
            })
        );
        assert_eq!(c.poll_event(), None);
        // The SYN's retransmission timer is the next deadline.
        assert_eq!(c.poll_timeout(), Some(SimTime::from_secs(1)));
    }
}
