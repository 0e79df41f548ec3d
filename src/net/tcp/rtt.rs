//! The retransmission timer of RFC 6298: the RTT samples (timing one
//! segment at a time, Karn's rule), SRTT and RTTVAR, the RTO with its 1 s
//! minimum, and what a timeout does: double the RTO, cut the congestion
//! window to one segment (RFC 5681 §3.1) and go back N.
//!
//! Not here: which segment is timed and when it is sent (the output side
//! of [`TcpConnection`] in `conn`), the other timers (delayed ACK,
//! persist, TIME-WAIT), the window growth (`congestion`).

use super::conn::{TcpConnection, TcpError, TcpEvent, TcpState};
use super::seq;
use crate::sim::{SimDuration, SimTime};

/// RFC 6298 §5.7: the RTO after a lost SYN, once the connection is up.
const RTO_AFTER_SYN_LOSS: SimDuration = SimDuration::from_secs(3);

impl TcpConnection {
    pub(super) fn arm_rto(&mut self, now: SimTime) {
        self.rto_at = Some(now + self.rto);
    }

    /// RFC 6298 §5.4-5.7 and RFC 5681 §3.1 on a timeout.
    pub(super) fn on_retransmission_timeout(&mut self, now: SimTime) {
        let outstanding = self.snd_max != self.snd_una;
        if !outstanding && !matches!(self.state, TcpState::SynSent | TcpState::SynReceived) {
            return;
        }
        let limit = match self.state {
            TcpState::SynSent | TcpState::SynReceived => self.config.syn_retries,
            _ => self.config.data_retries,
        };
        if self.backoff >= limit {
            self.fail(TcpError::TimedOut);
            return;
        }
        self.backoff += 1;
        self.rto = (self.rto.saturating_mul(2)).min(self.config.max_rto);
        self.events.push_back(TcpEvent::Timeout {
            rto: self.rto,
            backoff: self.backoff,
        });
        if self.state.synchronized() {
            // RFC 5681 §3.1 eq. (4), once per run of timeouts; then one
            // segment of cwnd (the loss window) and go back N.
            if !self.timeout_reduced {
                self.ssthresh = (self.flight_size() / 2).max(2 * self.snd_mss);
                self.timeout_reduced = true;
            }
            self.cwnd = self.snd_mss;
            self.emit_cwnd();
            self.in_recovery = false;
            self.dupacks = 0;
            // RFC 6582 §3.2 step 4.
            self.recover = self.snd_max.wrapping_sub(1);
        }
        // Go back N: everything from snd_una is sent again.
        self.snd_nxt = self.snd_una;
        self.rtt_probe = None;
        self.arm_rto(now);
    }

    /// Once our SYN is acknowledged: timer and RFC 6298 §5.7.
    pub(super) fn after_syn_acked(&mut self) {
        self.backoff = 0;
        if self.srtt.is_none() && self.rto > self.config.initial_rto {
            self.rto = RTO_AFTER_SYN_LOSS.max(self.config.min_rto);
        } else if self.srtt.is_none() {
            self.rto = self.config.initial_rto;
        }
        self.rto_at = None;
    }

    /// RTT measurement and RFC 6298 §2 RTO computation.
    pub(super) fn sample_rtt(&mut self, now: SimTime, ack: u32) {
        let Some((timed, sent_at)) = self.rtt_probe else {
            return;
        };
        if !seq::gt(ack, timed) {
            return;
        }
        self.rtt_probe = None;
        let r = now - sent_at;
        let (srtt, rttvar) = match self.srtt {
            None => (r, SimDuration(r.0 / 2)),
            Some(srtt) => {
                // RTTVAR <- 3/4 RTTVAR + 1/4 |SRTT - R'|;
                // SRTT <- 7/8 SRTT + 1/8 R'
                let delta = srtt.0.abs_diff(r.0);
                let rttvar = SimDuration((3 * self.rttvar.0 + delta) / 4);
                let srtt = SimDuration((7 * srtt.0 + r.0) / 8);
                (srtt, rttvar)
            }
        };
        self.srtt = Some(srtt);
        self.rttvar = rttvar;
        // RTO <- SRTT + max(G, K*RTTVAR), G = 1 us here.
        let rto = srtt + SimDuration((4 * rttvar.0).max(1_000));
        self.rto = rto.max(self.config.min_rto).min(self.config.max_rto);
        self.events.push_back(TcpEvent::Rtt {
            sample: r,
            srtt,
            rto: self.rto,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::super::conn::TcpConfig;
    use super::super::testing::established;
    use super::*;

    fn ms(n: u64) -> SimDuration {
        SimDuration::from_millis(n)
    }

    fn config() -> TcpConfig {
        TcpConfig {
            delayed_ack: None,
            ..TcpConfig::default()
        }
    }

    fn events(c: &mut TcpConnection) -> Vec<TcpEvent> {
        std::iter::from_fn(|| c.poll_event()).collect()
    }

    /// The client sends 100 bytes at `at`; the server's ACK reaches it
    /// `rtt` later.
    fn exchange(
        client: &mut TcpConnection,
        server: &mut TcpConnection,
        at: SimTime,
        rtt: SimDuration,
    ) {
        client.send(&[b'x'; 100]);
        let data = client.poll_transmit(at).expect("data");
        server.handle_segment(at, &data);
        let ack = server.poll_transmit(at).expect("ACK");
        client.handle_segment(at + rtt, &ack);
    }

    #[test]
    fn before_any_sample_the_rto_is_1_s() {
        // RFC 6298 §2.1.
        let c = TcpConnection::connect(
            config(),
            "10.0.0.1:40000".parse().unwrap(),
            "10.0.0.2:80".parse().unwrap(),
            1000,
            SimTime::ZERO,
        );
        assert_eq!(c.rto(), SimDuration::from_secs(1));
        assert_eq!(c.srtt(), None);
        assert_eq!(c.rto_at, Some(SimTime::ZERO + SimDuration::from_secs(1)));
    }

    #[test]
    fn the_first_sample_sets_srtt_to_r_and_rttvar_to_half_of_it() {
        // RFC 6298 §2.2: SRTT <- R, RTTVAR <- R/2, RTO <- SRTT + 4*RTTVAR.
        let (c, _) = established(config(), ms(400));
        assert_eq!(c.srtt(), Some(ms(400)));
        assert_eq!(c.rttvar, ms(200));
        assert_eq!(c.rto(), ms(1200));
    }

    #[test]
    fn the_rto_is_never_below_1_s() {
        // RFC 6298 §2.4: 100 ms + 4 * 50 ms is rounded up to 1 s.
        let (c, _) = established(config(), ms(100));
        assert_eq!(c.srtt(), Some(ms(100)));
        assert_eq!(c.rto(), SimDuration::from_secs(1));
    }

    #[test]
    fn later_samples_are_smoothed() {
        // RFC 6298 §2.3: RTTVAR <- 3/4 RTTVAR + 1/4 |SRTT - R'| = 250 ms,
        // SRTT <- 7/8 SRTT + 1/8 R' = 450 ms; RTO = 450 + 4 * 250 ms.
        let (mut c, mut s) = established(config(), ms(400));
        exchange(&mut c, &mut s, SimTime::from_secs(1), ms(800));
        assert_eq!(c.srtt(), Some(ms(450)));
        assert_eq!(c.rttvar, ms(250));
        assert_eq!(c.rto(), ms(1450));
        assert!(events(&mut c).contains(&TcpEvent::Rtt {
            sample: ms(800),
            srtt: ms(450),
            rto: ms(1450),
        }));
    }

    #[test]
    fn the_timer_runs_while_data_is_unacknowledged() {
        // RFC 6298 §5.1 (start it), §5.2 (stop it when all is acknowledged).
        let (mut c, mut s) = established(config(), ms(400));
        let at = SimTime::from_secs(1);
        c.send(b"hello");
        let data = c.poll_transmit(at).expect("data");
        assert_eq!(c.rto_at, Some(at + ms(1200)));
        s.handle_segment(at, &data);
        let ack = s.poll_transmit(at).expect("ACK");
        c.handle_segment(at + ms(400), &ack);
        assert_eq!(c.rto_at, None);
    }

    #[test]
    fn each_timeout_doubles_the_rto_up_to_the_maximum() {
        // RFC 6298 §5.5 (back off) and §2.5 (an upper bound, 60 s here).
        let (mut c, _) = established(config(), ms(400));
        c.send(b"lost");
        let mut now = SimTime::from_secs(1);
        c.poll_transmit(now).expect("data");
        let mut rtos = Vec::new();
        for _ in 0..8 {
            now = c.poll_timeout().expect("the RTO is armed");
            c.handle_timeout(now);
            rtos.push(c.rto().0 / 1_000_000);
            c.poll_transmit(now).expect("the retransmission");
        }
        assert_eq!(
            rtos,
            [2400, 4800, 9600, 19_200, 38_400, 60_000, 60_000, 60_000]
        );
        assert!(events(&mut c).contains(&TcpEvent::Timeout {
            rto: SimDuration::from_secs(60),
            backoff: 8,
        }));
    }

    #[test]
    fn after_the_last_retry_the_connection_times_out() {
        let (mut c, _) = established(
            TcpConfig {
                data_retries: 2,
                ..config()
            },
            ms(400),
        );
        c.send(b"lost");
        c.poll_transmit(SimTime::from_secs(1)).expect("data");
        for _ in 0..3 {
            let now = c.poll_timeout().expect("the RTO is armed");
            c.handle_timeout(now);
            while c.poll_transmit(now).is_some() {}
        }
        assert_eq!(c.state(), TcpState::Closed);
        assert!(events(&mut c).contains(&TcpEvent::Error(TcpError::TimedOut)));
    }

    #[test]
    fn a_timeout_cuts_the_window_to_one_segment_and_ssthresh_to_half_the_flight() {
        // RFC 5681 §3.1 eq. (4): ssthresh = max(FlightSize / 2, 2*SMSS),
        // and cwnd = 1 SMSS (the loss window).
        let (mut c, _) = established(config(), ms(400));
        c.cwnd = 10 * 1460;
        c.send(&[b'x'; 10 * 1460]);
        let now = SimTime::from_secs(1);
        while c.poll_transmit(now).is_some() {}
        assert_eq!(c.flight_size(), 10 * 1460);
        let now = c.poll_timeout().unwrap();
        c.handle_timeout(now);
        assert_eq!((c.cwnd(), c.ssthresh()), (1460, 5 * 1460));
        assert_eq!(c.snd_nxt, c.snd_una, "go back N");
    }

    #[test]
    fn a_retransmitted_segment_gives_no_sample() {
        // Karn's rule (RFC 6298 §3): the ACK may be for either copy.
        let (mut c, mut s) = established(config(), ms(400));
        c.send(b"slow");
        let first = c.poll_transmit(SimTime::from_secs(1)).expect("data");
        let now = c.poll_timeout().unwrap();
        c.handle_timeout(now);
        c.poll_transmit(now).expect("the retransmission");
        s.handle_segment(now, &first);
        let ack = s.poll_transmit(now).expect("ACK");
        events(&mut c);
        c.handle_segment(now + ms(100), &ack);
        assert_eq!(c.srtt(), Some(ms(400)));
        assert!(
            !events(&mut c)
                .iter()
                .any(|e| matches!(e, TcpEvent::Rtt { .. }))
        );
        // RFC 6298 §5.7 keeps the backed-off RTO until a new sample.
        assert_eq!(c.rto(), ms(2400));
    }

    #[test]
    fn after_a_lost_syn_the_rto_is_3_s() {
        // RFC 6298 §5.7: no sample from the retransmitted SYN, and the RTO
        // once the connection is up is 3 s.
        let mut c = TcpConnection::connect(
            config(),
            "10.0.0.1:40000".parse().unwrap(),
            "10.0.0.2:80".parse().unwrap(),
            1000,
            SimTime::ZERO,
        );
        c.poll_transmit(SimTime::ZERO).expect("SYN");
        c.handle_timeout(SimTime::from_secs(1));
        assert_eq!(c.rto(), SimDuration::from_secs(2));
        let syn = c.poll_transmit(SimTime::from_secs(1)).expect("SYN again");
        let mut s = TcpConnection::accept(
            config(),
            "10.0.0.2:80".parse().unwrap(),
            "10.0.0.1:40000".parse().unwrap(),
            &syn,
            5000,
            SimTime::from_secs(1),
        );
        let syn_ack = s.poll_transmit(SimTime::from_secs(1)).expect("SYN,ACK");
        c.handle_segment(SimTime::from_millis(1100), &syn_ack);
        assert_eq!(c.state(), TcpState::Established);
        assert_eq!(c.srtt(), None);
        assert_eq!(c.rto(), SimDuration::from_secs(3));
    }
}
