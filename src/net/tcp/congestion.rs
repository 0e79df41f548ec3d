//! Congestion control: slow start and congestion avoidance (RFC 5681
//! §3.1, with the RFC 3390 initial window), fast retransmit after three
//! duplicate ACKs (§3.2) and NewReno fast recovery (RFC 6582 §3.2).
//!
//! Not here: what a retransmission timeout does to the window (`rtt`,
//! with the timer), the receiver's window and flow control (`conn`).

use super::conn::{TcpConnection, TcpEvent};
use super::seq;

/// RFC 5681 §3.2: duplicate ACKs that signal a loss.
const DUPACK_THRESHOLD: u32 = 3;

impl TcpConnection {
    /// RFC 5681 §3.1 eq. (1) (the RFC 3390 initial window).
    pub(super) fn init_cwnd(&mut self) {
        let smss = self.snd_mss;
        self.cwnd = if smss > 2190 {
            2 * smss
        } else if smss > 1095 {
            3 * smss
        } else {
            4 * smss
        };
        self.ssthresh = 65_535;
        self.emit_cwnd();
    }

    pub(super) fn emit_cwnd(&mut self) {
        self.events.push_back(TcpEvent::Cwnd {
            cwnd: self.cwnd,
            ssthresh: self.ssthresh,
        });
    }

    /// RFC 5681 §3.1 growth and RFC 6582 recovery on a new ACK.
    pub(super) fn congestion_on_new_ack(&mut self, acked: u32) {
        let smss = self.snd_mss;
        if self.in_recovery {
            if seq::gt(self.snd_una, self.recover) {
                // Full acknowledgment (RFC 6582 §3.2 step 3, option 1).
                let flight = self.flight_size();
                self.cwnd = self.ssthresh.min(flight.max(smss) + smss);
                self.in_recovery = false;
                self.dupacks = 0;
                self.emit_cwnd();
            } else {
                // Partial acknowledgment (step 4): retransmit the next hole
                // and deflate the window by what was acknowledged.
                self.retransmit_una = true;
                self.cwnd = self.cwnd.saturating_sub(acked);
                if acked >= smss {
                    self.cwnd += smss;
                }
                self.cwnd = self.cwnd.max(smss);
                self.emit_cwnd();
            }
            return;
        }
        self.dupacks = 0;
        if self.cwnd < self.ssthresh {
            // Slow start: at most one SMSS per ACK (eq. 2).
            self.cwnd = self.cwnd.saturating_add(acked.min(smss));
        } else {
            // Congestion avoidance: one SMSS per cwnd acknowledged (eq. 3
            // in its byte-counting form).
            self.ca_acked += acked;
            if self.ca_acked >= self.cwnd {
                self.ca_acked -= self.cwnd;
                self.cwnd = self.cwnd.saturating_add(smss);
            } else {
                return;
            }
        }
        self.emit_cwnd();
    }

    /// RFC 5681 §3.2 and RFC 6582 §3.2 on a duplicate ACK.
    pub(super) fn on_dup_ack(&mut self) {
        let smss = self.snd_mss;
        self.dupacks += 1;
        if self.in_recovery {
            // Step 5: inflate the window for each segment that left.
            self.cwnd = self.cwnd.saturating_add(smss);
            self.emit_cwnd();
            return;
        }
        if self.dupacks != DUPACK_THRESHOLD {
            return;
        }
        // Step 2: only if the ACK covers more than `recover`, to avoid
        // reacting to the duplicates a go-back-N retransmission causes.
        if !seq::gt(self.snd_una, self.recover) {
            return;
        }
        self.ssthresh = (self.flight_size() / 2).max(2 * smss);
        self.recover = self.snd_max.wrapping_sub(1);
        self.in_recovery = true;
        self.cwnd = self.ssthresh + DUPACK_THRESHOLD * smss;
        self.retransmit_una = true;
        self.events
            .push_back(TcpEvent::FastRetransmit { seq: self.snd_una });
        self.emit_cwnd();
    }
}

#[cfg(test)]
mod tests {
    use super::super::conn::TcpConfig;
    use super::super::testing::established;
    use super::*;
    use crate::sim::SimDuration;

    const SMSS: u32 = 1460;

    /// The client's end, established, with `segments` full segments in
    /// flight.
    fn sender(segments: u32) -> TcpConnection {
        let (mut c, _) = established(TcpConfig::default(), SimDuration::from_millis(100));
        c.snd_max = c.snd_una.wrapping_add(segments * SMSS);
        c
    }

    fn events(c: &mut TcpConnection) -> Vec<TcpEvent> {
        std::iter::from_fn(|| c.poll_event()).collect()
    }

    #[test]
    fn the_initial_window_depends_on_the_mss() {
        // RFC 5681 §3.1 eq. (1), from RFC 3390.
        let mut c = sender(0);
        for (mss, iw) in [
            (536, 4 * 536),
            (1095, 4 * 1095),
            (1460, 3 * 1460),
            (4000, 8000),
        ] {
            c.snd_mss = mss;
            c.init_cwnd();
            assert_eq!((c.cwnd(), c.ssthresh()), (iw, 65_535), "SMSS {mss}");
        }
    }

    #[test]
    fn slow_start_grows_by_at_most_one_smss_per_ack() {
        // RFC 5681 §3.1 eq. (2): cwnd += min(N, SMSS).
        let mut c = sender(4);
        assert_eq!(c.cwnd(), 3 * SMSS);
        c.congestion_on_new_ack(SMSS);
        assert_eq!(c.cwnd(), 4 * SMSS);
        c.congestion_on_new_ack(3 * SMSS);
        assert_eq!(c.cwnd(), 5 * SMSS);
        c.congestion_on_new_ack(100);
        assert_eq!(c.cwnd(), 5 * SMSS + 100);
    }

    #[test]
    fn congestion_avoidance_grows_by_one_smss_per_window_acknowledged() {
        // RFC 5681 §3.1 eq. (3), counting acknowledged bytes.
        let mut c = sender(10);
        c.cwnd = 10 * SMSS;
        c.ssthresh = 10 * SMSS;
        for _ in 0..9 {
            c.congestion_on_new_ack(SMSS);
        }
        assert_eq!(c.cwnd(), 10 * SMSS);
        c.congestion_on_new_ack(SMSS);
        assert_eq!(c.cwnd(), 11 * SMSS);
        assert_eq!(c.ca_acked, 0);
    }

    #[test]
    fn the_third_duplicate_ack_starts_fast_retransmit() {
        // RFC 5681 §3.2 steps 2-3 (RFC 6582 §3.2 step 2): ssthresh =
        // max(FlightSize / 2, 2*SMSS), cwnd = ssthresh + 3*SMSS.
        let mut c = sender(10);
        c.cwnd = 10 * SMSS;
        events(&mut c);
        c.on_dup_ack();
        c.on_dup_ack();
        assert!(!c.in_recovery && !c.retransmit_una);
        c.on_dup_ack();
        assert!(c.in_recovery && c.retransmit_una);
        assert_eq!(c.ssthresh(), 5 * SMSS);
        assert_eq!(c.cwnd(), 8 * SMSS);
        assert_eq!(c.recover, c.snd_max.wrapping_sub(1));
        assert_eq!(
            events(&mut c)[0],
            TcpEvent::FastRetransmit { seq: c.snd_una }
        );
        // Step 4 (RFC 5681): each further duplicate inflates the window.
        c.on_dup_ack();
        assert_eq!(c.cwnd(), 9 * SMSS);
    }

    #[test]
    fn duplicates_of_an_ack_below_recover_start_no_recovery() {
        // RFC 6582 §3.2 step 2: after a timeout, the duplicates the
        // go-back-N retransmissions cause are no sign of a new loss.
        let mut c = sender(10);
        c.recover = c.snd_max.wrapping_sub(1);
        for _ in 0..3 {
            c.on_dup_ack();
        }
        assert!(!c.in_recovery && !c.retransmit_una);
    }

    #[test]
    fn a_partial_ack_retransmits_the_next_hole_and_deflates_the_window() {
        // RFC 6582 §3.2 step 4.
        let mut c = sender(10);
        c.cwnd = 10 * SMSS;
        for _ in 0..3 {
            c.on_dup_ack();
        }
        c.retransmit_una = false;
        c.snd_una = c.snd_una.wrapping_add(2 * SMSS);
        c.congestion_on_new_ack(2 * SMSS);
        assert!(c.in_recovery && c.retransmit_una);
        assert_eq!(c.cwnd(), 8 * SMSS - 2 * SMSS + SMSS);
    }

    #[test]
    fn a_full_ack_ends_recovery() {
        // RFC 6582 §3.2 step 3, option 1: cwnd = min(ssthresh,
        // max(FlightSize, SMSS) + SMSS).
        let mut c = sender(10);
        c.cwnd = 10 * SMSS;
        for _ in 0..3 {
            c.on_dup_ack();
        }
        c.snd_una = c.snd_max;
        c.congestion_on_new_ack(10 * SMSS);
        assert!(!c.in_recovery);
        assert_eq!(c.dupacks, 0);
        assert_eq!(c.cwnd(), SMSS + SMSS);
    }
}
