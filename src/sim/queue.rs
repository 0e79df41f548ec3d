//! The event queue: a calendar queue keyed by `(time, sequence)`.
//!
//! The sequence number is the insertion order, so two events scheduled for
//! the same instant fire in the order they were scheduled (ns-3 does the
//! same with its `EventKey`). This is what makes a run reproducible byte
//! for byte.
//!
//! A calendar queue (R. Brown, "Calendar queues", CACM 31(10), 1988; ns-3
//! ships one as `CalendarScheduler`) works like a desk calendar: a year of
//! `buckets` days, each `width` nanoseconds long. An event goes on the day
//! its time falls on, whatever the year, and each day keeps its events
//! sorted. Taking the next event means looking at today's first event: if
//! it is for this year it is the earliest of all, otherwise turn the page.
//! With the day length matched to how far apart events are (re-estimated
//! whenever the queue doubles or halves), both operations take constant
//! time on average, where a heap takes time logarithmic in its size.
//!
//! The days are linked lists threaded through one array of nodes, and a
//! day is a single index: the whole calendar is two flat arrays, which
//! keeps memory traffic low when many events are pending.
//!
//! Events cannot be scheduled before the last one taken (the engine never
//! schedules into the past); such a time is treated as that last time.
//! There is no cancellation: the engine's users schedule timers lazily and
//! ignore stale entries when they fire, which is cheaper than removal.

use super::SimTime;

/// Smallest number of days in a year.
const MIN_BUCKETS: usize = 4;
/// How many of the earliest events the day length is estimated from.
const SAMPLE: usize = 25;
/// The end of a day's list.
const NIL: u32 = u32::MAX;

/// An event and the link to the next one of its day. The key is two
/// `u64`s rather than one `u128` so that a node is 8-aligned: 40 bytes with
/// a `u64` event instead of 48, less memory to walk when many are pending.
struct Node<E> {
    key: Key,
    next: u32,
    event: Option<E>,
}

/// `(time, sequence)`: the order events fire in.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Key {
    time: u64,
    seq: u64,
}

/// A queue of events of type `E`, popped in `(time, insertion)` order.
pub struct CalendarQueue<E> {
    /// The first node of each day, or `NIL`.
    heads: Vec<u32>,
    /// Every node, live or free.
    nodes: Vec<Node<E>>,
    /// Nodes to reuse.
    free: Vec<u32>,
    /// Length of a day, in nanoseconds: `1 << shift`. Powers of two make
    /// finding an event's day a shift and a mask instead of divisions.
    shift: u32,
    /// Today.
    cur: usize,
    /// The end of today in this year: today's events before it are due.
    top: u64,
    /// Time of the last event taken: nothing may be scheduled before it.
    last_time: u64,
    len: usize,
    next_seq: u64,
}

impl<E> Default for CalendarQueue<E> {
    fn default() -> Self {
        Self::new()
    }
}

fn key(time: u64, seq: u64) -> Key {
    Key { time, seq }
}

fn time_of(key: Key) -> u64 {
    key.time
}

impl<E> CalendarQueue<E> {
    pub fn new() -> Self {
        let mut q = CalendarQueue {
            heads: vec![NIL; MIN_BUCKETS],
            nodes: Vec::new(),
            free: Vec::new(),
            shift: 10,
            cur: 0,
            top: 0,
            last_time: 0,
            len: 0,
            next_seq: 0,
        };
        q.set_today(0);
        q
    }

    fn width(&self) -> u64 {
        1 << self.shift
    }

    /// Makes the day containing `time` today.
    fn set_today(&mut self, time: u64) {
        let day = time >> self.shift;
        self.cur = self.bucket_of(time);
        self.top = (day + 1).saturating_mul(self.width());
    }

    /// The day of `time`; the number of days is a power of two.
    fn bucket_of(&self, time: u64) -> usize {
        ((time >> self.shift) as usize) & (self.heads.len() - 1)
    }

    /// A node holding `event`, reusing a free one if there is one.
    fn alloc(&mut self, key: Key, event: E) -> u32 {
        let node = Node {
            key,
            next: NIL,
            event: Some(event),
        };
        match self.free.pop() {
            Some(i) => {
                self.nodes[i as usize] = node;
                i
            }
            None => {
                self.nodes.push(node);
                (self.nodes.len() - 1) as u32
            }
        }
    }

    /// Links node `n` into its day, keeping the day sorted. Events usually
    /// come later than everything on their day, but a day is short, so
    /// walking it is cheap either way.
    fn link(&mut self, n: u32) {
        let k = self.nodes[n as usize].key;
        let b = self.bucket_of(time_of(k));
        let mut prev = NIL;
        let mut at = self.heads[b];
        while at != NIL && self.nodes[at as usize].key < k {
            prev = at;
            at = self.nodes[at as usize].next;
        }
        self.nodes[n as usize].next = at;
        if prev == NIL {
            self.heads[b] = n;
        } else {
            self.nodes[prev as usize].next = n;
        }
    }

    /// Schedules `event` at `time`.
    pub fn push(&mut self, time: SimTime, event: E) {
        let t = time.0.max(self.last_time);
        let k = key(t, self.next_seq);
        self.next_seq += 1;
        let n = self.alloc(k, event);
        self.link(n);
        self.len += 1;
        if self.len > 2 * self.heads.len() {
            self.resize(self.heads.len() * 2);
        }
    }

    /// Finds the earliest event and makes its day today; false if empty.
    fn seek(&mut self) -> bool {
        if self.len == 0 {
            return false;
        }
        let n = self.heads.len();
        for _ in 0..n {
            let h = self.heads[self.cur];
            if h != NIL && time_of(self.nodes[h as usize].key) < self.top {
                return true;
            }
            self.cur += 1;
            if self.cur == n {
                self.cur = 0;
            }
            self.top = self.top.saturating_add(self.width());
        }
        // A whole year without a due event: the next one is far ahead.
        // Look at every day's first event and jump to the earliest.
        let earliest = self
            .heads
            .iter()
            .filter(|&&h| h != NIL)
            .map(|&h| self.nodes[h as usize].key)
            .min();
        match earliest {
            Some(k) => {
                self.set_today(time_of(k));
                true
            }
            None => false,
        }
    }

    /// Removes and returns the earliest event.
    pub fn pop(&mut self) -> Option<(SimTime, E)> {
        if !self.seek() {
            return None;
        }
        let h = self.heads[self.cur];
        let node = &mut self.nodes[h as usize];
        let (k, next, event) = (node.key, node.next, node.event.take());
        self.heads[self.cur] = next;
        self.free.push(h);
        self.len -= 1;
        self.last_time = time_of(k);
        if self.heads.len() > MIN_BUCKETS && self.len < self.heads.len() / 2 {
            self.resize(self.heads.len() / 2);
        }
        event.map(|e| (SimTime(time_of(k)), e))
    }

    /// The time of the earliest event, if any.
    pub fn peek_time(&mut self) -> Option<SimTime> {
        if !self.seek() {
            return None;
        }
        let h = self.heads[self.cur];
        Some(SimTime(time_of(self.nodes[h as usize].key)))
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Rebuilds the calendar with `n` days (a power of two) whose length
    /// suits the events now pending: their average separation, estimated
    /// from the earliest ones, ignoring outliers, rounded up to a power of
    /// two.
    fn resize(&mut self, n: usize) {
        let mut live: Vec<u32> = Vec::with_capacity(self.len);
        for &h in &self.heads {
            let mut at = h;
            while at != NIL {
                live.push(at);
                at = self.nodes[at as usize].next;
            }
        }
        live.sort_unstable_by_key(|&i| self.nodes[i as usize].key);
        let times: Vec<u64> = live
            .iter()
            .take(SAMPLE + 1)
            .map(|&i| time_of(self.nodes[i as usize].key))
            .collect();
        if let Some(w) = estimate_width(&times) {
            self.shift = w.next_power_of_two().trailing_zeros().min(62);
        }
        self.heads = vec![NIL; n];
        self.set_today(self.last_time);
        // Linking in reverse order puts each node at the head of its day,
        // which keeps every day sorted without walking it.
        for &i in live.iter().rev() {
            let b = self.bucket_of(time_of(self.nodes[i as usize].key));
            self.nodes[i as usize].next = self.heads[b];
            self.heads[b] = i;
        }
    }
}

/// The average separation of `times` (sorted), ignoring the separations
/// more than twice the first average, so one far-off timer does not
/// stretch the days. Brown used three times the average; with the
/// rounding up to a power of two, once is faster on the engine's
/// benchmark (about a third at 10,000 pending events).
fn estimate_width(times: &[u64]) -> Option<u64> {
    let gaps: Vec<u64> = times.windows(2).map(|w| w[1] - w[0]).collect();
    if gaps.is_empty() {
        return None;
    }
    let mean = gaps.iter().sum::<u64>() / gaps.len() as u64;
    let near: Vec<u64> = gaps.iter().copied().filter(|&g| g <= 2 * mean).collect();
    let mean = if near.is_empty() {
        mean
    } else {
        near.iter().sum::<u64>() / near.len() as u64
    };
    Some(mean.max(1))
}

#[cfg(test)]
mod tests {
    /// The same tests for both queues: they must give the same order.
    macro_rules! queue_tests {
        ($name:ident, $queue:ty) => {
            mod $name {
                use crate::sim::{SimRng, SimTime};
                type Queue<E> = $queue;

                #[test]
                fn equal_times_fire_in_insertion_order() {
                    let mut q = Queue::new();
                    q.push(SimTime(5), "b");
                    q.push(SimTime(1), "a");
                    q.push(SimTime(5), "c");
                    q.push(SimTime(5), "d");
                    let order: Vec<_> = std::iter::from_fn(|| q.pop()).map(|(_, e)| e).collect();
                    assert_eq!(order, ["a", "b", "c", "d"]);
                }

                /// Pushes and pops at random against a sorted list, with near and far
                /// times mixed as a run mixes packet arrivals and long timers.
                #[test]
                fn matches_a_sorted_reference_under_interleaving() {
                    for seed in 0..4 {
                        let mut q = Queue::new();
                        let mut reference = std::collections::BTreeSet::new();
                        let mut rng = SimRng::new(seed);
                        let mut now = 0;
                        let mut id = 0;
                        for round in 0..30_000 {
                            let burst = round % 5000 < 300;
                            if burst || rng.below(3) > 0 || reference.is_empty() {
                                let spread = match rng.below(10) {
                                    0 => 1 << 40,
                                    1 => 0,
                                    _ => 1000,
                                };
                                let t = now + rng.below(spread + 1);
                                q.push(SimTime(t), id);
                                reference.insert((t, id));
                                id += 1;
                            } else {
                                let want = reference.pop_first().unwrap();
                                assert_eq!(q.peek_time(), Some(SimTime(want.0)));
                                let (t, e) = q.pop().unwrap();
                                assert_eq!((t.0, e), want);
                                now = t.0;
                            }
                            assert_eq!(q.len(), reference.len());
                        }
                        for want in reference {
                            assert_eq!(q.pop().map(|(t, e)| (t.0, e)), Some(want));
                        }
                        assert!(q.pop().is_none());
                    }
                }

                #[test]
                fn many_events_at_one_instant_keep_their_order() {
                    let mut q = Queue::new();
                    for i in 0..10_000 {
                        q.push(SimTime(7), i);
                    }
                    q.push(SimTime(3), -1);
                    assert_eq!(q.pop(), Some((SimTime(3), -1)));
                    for i in 0..10_000 {
                        assert_eq!(q.pop(), Some((SimTime(7), i)));
                    }
                }

                #[test]
                fn the_past_is_scheduled_now() {
                    let mut q = Queue::new();
                    q.push(SimTime(10), 1);
                    assert_eq!(q.pop(), Some((SimTime(10), 1)));
                    q.push(SimTime(3), 2);
                    assert_eq!(q.pop(), Some((SimTime(10), 2)));
                    assert_eq!(q.pop(), None);
                }
            }
        };
    }
    queue_tests!(calendar, crate::sim::CalendarQueue<E>);
    queue_tests!(heap, crate::sim::heap::HeapQueue<E>);
}
