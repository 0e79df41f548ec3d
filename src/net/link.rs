//! Point-to-point links: latency, bandwidth, a drop-tail queue, loss,
//! duplication, jitter, and an up/down state.
//!
//! A link has two directions, each with its own transmitter. A packet
//! handed to a direction waits behind the packets already queued, is
//! serialized at the link's bandwidth and then propagates for the link's
//! latency. Because the transmitter serves packets in order, the time a
//! packet leaves can be computed when it is queued, so a link needs no
//! events of its own: only the arrival at the far end is scheduled.
//!
//! Loss and jitter are drawn from the run's RNG; a lossless, jitter-free
//! link draws nothing, so adding one does not disturb the others.
//!
//! A link is a wire, not a LAN: no MAC addresses, no collisions, no ARP,
//! exactly two ends.

use crate::sim::{SimDuration, SimRng, SimTime};
use crate::trace::{DropReason, LinkId, NodeId};
use std::collections::VecDeque;
use std::net::Ipv4Addr;

/// What a link is like.
#[derive(Debug, Clone, PartialEq)]
pub struct LinkConfig {
    /// One-way propagation delay.
    pub latency: SimDuration,
    /// Bits per second; 0 means infinitely fast (no serialization delay).
    pub bandwidth_bps: u64,
    /// Packets a direction holds, the one being transmitted included,
    /// before it drops new ones (drop-tail).
    pub queue_packets: usize,
    /// Probability that a packet is lost on the way.
    pub loss: f64,
    /// Probability that a packet arrives twice.
    pub duplicate: f64,
    /// Extra delay, uniform in `[0, jitter)`, added to each packet's
    /// propagation: enough of it reorders packets.
    pub jitter: SimDuration,
}

impl Default for LinkConfig {
    fn default() -> Self {
        LinkConfig {
            latency: SimDuration::from_millis(1),
            bandwidth_bps: 100_000_000,
            queue_packets: 100,
            loss: 0.0,
            duplicate: 0.0,
            jitter: SimDuration::ZERO,
        }
    }
}

/// One direction's transmitter.
#[derive(Debug, Clone, Default)]
struct Transmitter {
    /// When each packet in the queue finishes serialization, in order.
    /// Entries at or before "now" have left and are pruned lazily.
    departures: VecDeque<SimTime>,
}

/// When a queued packet leaves and arrives, or why it cannot be sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Schedule {
    pub depart: SimTime,
    pub arrive: SimTime,
    /// A second copy arrives at this time (duplication).
    pub duplicate_at: Option<SimTime>,
}

/// A link between two nodes.
#[derive(Debug, Clone)]
pub struct Link {
    pub id: LinkId,
    /// `a--b`, from the node names.
    pub name: String,
    /// The nodes at the two ends; direction 0 goes from `ends[0]` to
    /// `ends[1]`.
    pub ends: [NodeId; 2],
    /// The interface address at each end.
    pub addrs: [Ipv4Addr; 2],
    pub config: LinkConfig,
    pub up: bool,
    /// Bumped whenever the link goes down, so packets that were on the
    /// wire at that moment are dropped when they "arrive".
    pub epoch: u32,
    tx: [Transmitter; 2],
}

impl Link {
    pub fn new(
        id: LinkId,
        name: String,
        ends: [NodeId; 2],
        addrs: [Ipv4Addr; 2],
        config: LinkConfig,
    ) -> Link {
        Link {
            id,
            name,
            ends,
            addrs,
            config,
            up: true,
            epoch: 0,
            tx: [Transmitter::default(), Transmitter::default()],
        }
    }

    /// The direction that leaves `from`, if `from` is an end.
    pub fn direction_from(&self, from: NodeId) -> Option<usize> {
        self.ends.iter().position(|&n| n == from)
    }

    /// Serialization time of `bytes` on this link.
    pub fn serialization(&self, bytes: usize) -> SimDuration {
        match self.config.bandwidth_bps {
            0 => SimDuration::ZERO,
            bps => SimDuration::from_nanos((bytes as u64 * 8).saturating_mul(1_000_000_000) / bps),
        }
    }

    /// Packets waiting or being transmitted in direction `dir` at `now`.
    pub fn queue_len(&mut self, dir: usize, now: SimTime) -> usize {
        let q = &mut self.tx[dir].departures;
        while q.front().is_some_and(|&t| t <= now) {
            q.pop_front();
        }
        q.len()
    }

    /// Queues a packet of `bytes` in direction `dir` at `now`: when it
    /// leaves and arrives, or why it was dropped at once.
    pub fn enqueue(
        &mut self,
        dir: usize,
        bytes: usize,
        now: SimTime,
        rng: &mut SimRng,
    ) -> Result<Schedule, DropReason> {
        if !self.up {
            return Err(DropReason::LinkDown);
        }
        if self.queue_len(dir, now) >= self.config.queue_packets.max(1) {
            return Err(DropReason::QueueFull);
        }
        let q = &mut self.tx[dir].departures;
        let start = q.back().copied().unwrap_or(now).max(now);
        let depart = start + self.serialization(bytes);
        self.tx[dir].departures.push_back(depart);
        let arrive = depart + self.config.latency + self.jitter(rng);
        let duplicate_at = rng
            .chance(self.config.duplicate)
            .then(|| depart + self.config.latency + self.jitter(rng));
        Ok(Schedule {
            depart,
            arrive,
            duplicate_at,
        })
    }

    fn jitter(&self, rng: &mut SimRng) -> SimDuration {
        match self.config.jitter.as_nanos() {
            0 => SimDuration::ZERO,
            j => SimDuration::from_nanos(rng.below(j)),
        }
    }

    /// Takes the link down: queued and travelling packets are lost.
    pub fn set_up(&mut self, up: bool) {
        if self.up && !up {
            self.epoch = self.epoch.wrapping_add(1);
            for t in &mut self.tx {
                t.departures.clear();
            }
        }
        self.up = up;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn link(config: LinkConfig) -> Link {
        Link::new(0, "a--b".into(), [0, 1], [Ipv4Addr::LOCALHOST; 2], config)
    }

    #[test]
    fn serialization_queueing_and_drop_tail() {
        let mut l = link(LinkConfig {
            latency: SimDuration::from_millis(10),
            bandwidth_bps: 8_000_000, // 1 byte per microsecond
            queue_packets: 2,
            ..LinkConfig::default()
        });
        let mut rng = SimRng::new(1);
        let now = SimTime::ZERO;
        let a = l.enqueue(0, 1000, now, &mut rng).unwrap();
        assert_eq!(a.depart, SimTime::from_micros(1000));
        assert_eq!(a.arrive, SimTime::from_micros(11_000));
        let b = l.enqueue(0, 500, now, &mut rng).unwrap();
        assert_eq!(b.depart, SimTime::from_micros(1500));
        assert_eq!(l.enqueue(0, 10, now, &mut rng), Err(DropReason::QueueFull));
        // The other direction has its own transmitter.
        assert!(l.enqueue(1, 10, now, &mut rng).is_ok());
        // Once the first packet left there is room again.
        assert!(
            l.enqueue(0, 10, SimTime::from_micros(1000), &mut rng)
                .is_ok()
        );
        l.set_up(false);
        assert_eq!(l.enqueue(0, 10, now, &mut rng), Err(DropReason::LinkDown));
    }
}
