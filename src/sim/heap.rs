//! The event queue as a 4-ary heap keyed by `(time, sequence)`: the same
//! order as the calendar queue (`queue`), with time logarithmic in the
//! number of pending events whatever their spread. A calendar's days
//! suit events evenly spaced in time; a run with a hundred thousand
//! connections mixes arrivals microseconds apart with timers seconds
//! away, and then the calendar spends most of its time turning pages.
//! The engine's benchmark (`cargo bench --bench engine`) measures both.
//!
//! The heap holds only keys and slot numbers (16 + 8 bytes, four children
//! to a cache line and a half), and the events wait in a slab, so sifting
//! never moves an event.

use super::SimTime;

/// A queue of events of type `E`, popped in `(time, insertion)` order.
pub struct HeapQueue<E> {
    /// `(time, sequence, slot)`, a 4-ary min-heap.
    heap: Vec<(u64, u64, u32)>,
    /// The events, by slot.
    slots: Vec<Option<E>>,
    /// Slots to reuse.
    free: Vec<u32>,
    /// Time of the last event taken: nothing may be scheduled before it.
    last_time: u64,
    next_seq: u64,
}

impl<E> Default for HeapQueue<E> {
    fn default() -> Self {
        Self::new()
    }
}

impl<E> HeapQueue<E> {
    pub fn new() -> Self {
        HeapQueue {
            heap: Vec::new(),
            slots: Vec::new(),
            free: Vec::new(),
            last_time: 0,
            next_seq: 0,
        }
    }

    /// Schedules `event` at `time` (a time before the last event taken is
    /// taken as that time).
    pub fn push(&mut self, time: SimTime, event: E) {
        let t = time.0.max(self.last_time);
        let slot = match self.free.pop() {
            Some(s) => {
                self.slots[s as usize] = Some(event);
                s
            }
            None => {
                self.slots.push(Some(event));
                (self.slots.len() - 1) as u32
            }
        };
        let entry = (t, self.next_seq, slot);
        self.next_seq += 1;
        // Sift up.
        let mut i = self.heap.len();
        self.heap.push(entry);
        while i > 0 {
            let parent = (i - 1) / 4;
            if self.heap[parent] <= entry {
                break;
            }
            self.heap[i] = self.heap[parent];
            i = parent;
        }
        self.heap[i] = entry;
    }

    /// Takes the earliest event.
    pub fn pop(&mut self) -> Option<(SimTime, E)> {
        let top = *self.heap.first()?;
        let last = self.heap.pop()?;
        let n = self.heap.len();
        if n > 0 {
            // Sift the last entry down from the root.
            let mut i = 0;
            loop {
                let first = 4 * i + 1;
                if first >= n {
                    break;
                }
                let end = (first + 4).min(n);
                let mut best = first;
                for c in first + 1..end {
                    if self.heap[c] < self.heap[best] {
                        best = c;
                    }
                }
                if self.heap[best] >= last {
                    break;
                }
                self.heap[i] = self.heap[best];
                i = best;
            }
            self.heap[i] = last;
        }
        let (time, _, slot) = top;
        let event = self.slots[slot as usize].take()?;
        self.free.push(slot);
        self.last_time = time;
        Some((SimTime(time), event))
    }

    /// The time of the earliest event.
    pub fn peek_time(&mut self) -> Option<SimTime> {
        self.heap.first().map(|&(t, _, _)| SimTime(t))
    }

    pub fn len(&self) -> usize {
        self.heap.len()
    }

    pub fn is_empty(&self) -> bool {
        self.heap.is_empty()
    }
}
