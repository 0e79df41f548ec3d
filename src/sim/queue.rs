//! The event queue: a 4-ary min-heap keyed by `(time, sequence)`.
//!
//! The sequence number is the insertion order, so two events scheduled for
//! the same instant fire in the order they were scheduled (ns-3 does the
//! same with its `EventKey`). This is what makes a run reproducible byte
//! for byte.
//!
//! Why a 4-ary heap with the keys apart from the events: a pop walks from
//! the root to a leaf comparing each node's children. With four children
//! the walk is half as long as with two, and because the keys (16 bytes:
//! time and sequence packed into one `u128`) sit in their own array, the
//! four children of a node share one 64-byte cache line. The events
//! themselves move along the same path but are never compared. On the
//! queue sizes a run keeps this is about twice as fast as
//! `std::collections::BinaryHeap` of `(key, event)` pairs (see
//! `cargo bench --bench engine`).
//!
//! There is no cancellation: the engine's users schedule timers lazily and
//! ignore stale entries when they fire, which is cheaper than removal.

use super::SimTime;

/// Children per node.
const ARITY: usize = 4;

/// A queue of events of type `E`, popped in `(time, insertion)` order.
pub struct EventQueue<E> {
    /// Heap-ordered keys: `time << 64 | sequence`.
    keys: Vec<u128>,
    /// `events[i]` belongs to `keys[i]`.
    events: Vec<E>,
    next_seq: u64,
}

impl<E> Default for EventQueue<E> {
    fn default() -> Self {
        Self::new()
    }
}

fn key(time: SimTime, seq: u64) -> u128 {
    (u128::from(time.0) << 64) | u128::from(seq)
}

fn time_of(key: u128) -> SimTime {
    SimTime((key >> 64) as u64)
}

impl<E> EventQueue<E> {
    pub fn new() -> Self {
        EventQueue {
            keys: Vec::new(),
            events: Vec::new(),
            next_seq: 0,
        }
    }

    /// Schedules `event` at `time`.
    pub fn push(&mut self, time: SimTime, event: E) {
        let k = key(time, self.next_seq);
        self.next_seq += 1;
        self.keys.push(k);
        self.events.push(event);
        self.sift_up(self.keys.len() - 1);
    }

    /// Removes and returns the earliest event.
    pub fn pop(&mut self) -> Option<(SimTime, E)> {
        let last = self.keys.len().checked_sub(1)?;
        self.keys.swap(0, last);
        self.events.swap(0, last);
        let k = self.keys.pop()?;
        let e = self.events.pop()?;
        if !self.keys.is_empty() {
            self.sift_down_to_bottom(0);
        }
        Some((time_of(k), e))
    }

    /// The time of the earliest event, if any.
    pub fn peek_time(&self) -> Option<SimTime> {
        self.keys.first().map(|&k| time_of(k))
    }

    pub fn len(&self) -> usize {
        self.keys.len()
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    fn sift_up(&mut self, mut i: usize) {
        let k = self.keys[i];
        while i > 0 {
            let parent = (i - 1) / ARITY;
            if self.keys[parent] <= k {
                break;
            }
            self.keys[i] = self.keys[parent];
            self.events.swap(i, parent);
            i = parent;
        }
        self.keys[i] = k;
    }

    /// Floyd's trick (as `BinaryHeap::pop` does): the element moved to the
    /// root is almost always among the largest, so walk the hole down to
    /// a leaf along the smallest children without comparing against it,
    /// then let it rise the few steps it needs.
    fn sift_down_to_bottom(&mut self, mut i: usize) {
        let n = self.keys.len();
        let k = self.keys[i];
        let start = i;
        loop {
            let first = i * ARITY + 1;
            if first >= n {
                break;
            }
            let children = &self.keys[first..(first + ARITY).min(n)];
            let mut best = 0;
            for (c, &ck) in children.iter().enumerate().skip(1) {
                if ck < children[best] {
                    best = c;
                }
            }
            let best = first + best;
            self.keys[i] = self.keys[best];
            self.events.swap(i, best);
            i = best;
        }
        self.keys[i] = k;
        // Rise, but not above where the walk started.
        while i > start {
            let parent = (i - 1) / ARITY;
            if self.keys[parent] <= k {
                break;
            }
            self.keys[i] = self.keys[parent];
            self.events.swap(i, parent);
            i = parent;
        }
        self.keys[i] = k;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::SimRng;

    #[test]
    fn equal_times_fire_in_insertion_order() {
        let mut q = EventQueue::new();
        q.push(SimTime(5), "b");
        q.push(SimTime(1), "a");
        q.push(SimTime(5), "c");
        q.push(SimTime(5), "d");
        let order: Vec<_> = std::iter::from_fn(|| q.pop()).map(|(_, e)| e).collect();
        assert_eq!(order, ["a", "b", "c", "d"]);
    }

    #[test]
    fn matches_a_sorted_reference_under_interleaving() {
        let mut q = EventQueue::new();
        let mut reference: Vec<(u64, u64)> = Vec::new();
        let mut rng = SimRng::new(3);
        let mut now = 0;
        let mut id = 0;
        for round in 0..20_000 {
            if rng.below(3) > 0 || reference.is_empty() {
                let t = now + rng.below(if round % 7 == 0 { 1 << 40 } else { 1000 });
                q.push(SimTime(t), id);
                reference.push((t, id));
                id += 1;
            } else {
                reference.sort();
                let want = reference.remove(0);
                assert_eq!(q.peek_time(), Some(SimTime(want.0)));
                let (t, e) = q.pop().unwrap();
                assert_eq!((t.0, e), want);
                now = t.0;
            }
            assert_eq!(q.len(), reference.len());
        }
    }
}
