//! The outbound queue of a mail server: messages accepted for other
//! domains, waiting to be relayed.
//!
//! RFC 5321 §4.5.4.1: a message that cannot be delivered at once stays in
//! the queue and is tried again later, with growing intervals, until it is
//! delivered or the sender is told it never will be. Each entry holds one
//! message for the recipients of one domain (they share a mail exchanger),
//! with the times it was queued and is next due.
//!
//! The queue is "on disk": a crash of the host keeps it. A message leaves
//! the queue when the receiver's 250 after DATA arrives; if the sending
//! host crashes after the receiver sent that 250 but before it arrived, the
//! message is sent again later and arrives twice (RFC 5321 §6.1 accepts
//! duplicates over losses). It is plain data:
//! the [`MailServer`](super::server::MailServer) decides when to try and
//! what to do with the outcome; [`RetryPolicy`] decides the intervals.

use crate::sim::{SimDuration, SimTime};

/// When to try again and when to give up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// The wait after the first failed attempt.
    pub first: SimDuration,
    /// Each further wait doubles, up to this.
    pub max_interval: SimDuration,
    /// A message still undelivered this long after it was queued is
    /// returned to its sender (RFC 5321 §4.5.4.1 suggests 4-5 days; a
    /// classroom needs minutes).
    pub give_up: SimDuration,
}

impl Default for RetryPolicy {
    /// 1 min, 2, 4, 8, 16, 16 ...; give up after 30 min.
    fn default() -> Self {
        RetryPolicy {
            first: SimDuration::from_secs(60),
            max_interval: SimDuration::from_secs(16 * 60),
            give_up: SimDuration::from_secs(30 * 60),
        }
    }
}

impl RetryPolicy {
    /// The wait after `failed` attempts have failed (1 for the first):
    /// `first`, then doubling, at most `max_interval`.
    pub fn delay_after(&self, failed: u32) -> SimDuration {
        let doublings = failed.saturating_sub(1).min(32);
        let delay = self.first.saturating_mul(1u64 << doublings);
        delay.min(self.max_interval).max(SimDuration::from_nanos(1))
    }

    /// When to try next after `failed` failed attempts of a message queued
    /// at `queued_at`, or `None` when it is time to give up. The last try
    /// is moved to the give-up time, so a message is bounced on time.
    pub fn next_attempt(&self, queued_at: SimTime, now: SimTime, failed: u32) -> Option<SimTime> {
        let deadline = queued_at + self.give_up;
        if now >= deadline {
            return None;
        }
        let next = now + self.delay_after(failed);
        Some(if next > deadline { deadline } else { next })
    }
}

/// One message for the recipients of one domain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueEntry {
    /// The queue id, as in the `Received:` line and the trace.
    pub id: String,
    /// MAIL FROM; `None` for the null reverse path `<>` (a bounce, which
    /// is never bounced itself).
    pub reverse_path: Option<String>,
    /// The recipients still to deliver, all in `domain`.
    pub recipients: Vec<String>,
    /// Lower-case domain of the recipients.
    pub domain: String,
    /// The message, with the `Received:` lines at the top.
    pub data: Vec<u8>,
    pub queued_at: SimTime,
    /// Attempts made so far.
    pub attempts: u32,
    /// When the next attempt is due.
    pub next_attempt: SimTime,
    /// Why the last attempt failed.
    pub last_error: Option<String>,
}

impl QueueEntry {
    /// The reverse path as SMTP writes it: `alice@crepes.fr` or "" for `<>`.
    pub fn sender(&self) -> &str {
        self.reverse_path.as_deref().unwrap_or("")
    }

    /// The message as an SMTP client sends it: envelope and data.
    pub fn message(&self) -> crate::proto::smtp::OutgoingMessage {
        crate::proto::smtp::OutgoingMessage {
            reverse_path: self.sender().to_string(),
            recipients: self.recipients.clone(),
            data: self.data.clone(),
        }
    }
}

/// The queue: entries in the order they were queued.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboundQueue {
    entries: Vec<QueueEntry>,
    /// Numbers queue ids; kept with the queue so ids stay unique across
    /// crashes.
    next_number: u64,
    /// What queue ids start with.
    prefix: String,
}

impl Default for OutboundQueue {
    fn default() -> Self {
        OutboundQueue::new()
    }
}

impl OutboundQueue {
    /// An empty queue whose ids are `Q1`, `Q2`, ...
    pub fn new() -> OutboundQueue {
        OutboundQueue::with_prefix("Q")
    }

    /// An empty queue whose ids are `prefix` and a number.
    pub fn with_prefix(prefix: &str) -> OutboundQueue {
        OutboundQueue {
            entries: Vec::new(),
            next_number: 0,
            prefix: prefix.to_string(),
        }
    }

    /// A fresh queue id: `Q1`, `Q2`, ... (short, for readable traces).
    pub fn next_id(&mut self) -> String {
        self.next_number += 1;
        format!("{}{}", self.prefix, self.next_number)
    }

    /// Adds an entry.
    pub fn push(&mut self, entry: QueueEntry) {
        self.entries.push(entry);
    }

    /// The entries, oldest first.
    pub fn entries(&self) -> &[QueueEntry] {
        &self.entries
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn get(&self, id: &str) -> Option<&QueueEntry> {
        self.entries.iter().find(|e| e.id == id)
    }

    pub fn get_mut(&mut self, id: &str) -> Option<&mut QueueEntry> {
        self.entries.iter_mut().find(|e| e.id == id)
    }

    /// Removes and returns an entry.
    pub fn remove(&mut self, id: &str) -> Option<QueueEntry> {
        let i = self.entries.iter().position(|e| e.id == id)?;
        Some(self.entries.remove(i))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let p = RetryPolicy::default();
        let mins: Vec<u64> = (1..=7)
            .map(|n| p.delay_after(n).as_nanos() / 60_000_000_000)
            .collect();
        assert_eq!(mins, vec![1, 2, 4, 8, 16, 16, 16]);
        assert_eq!(p.delay_after(1000), p.max_interval);
    }

    #[test]
    fn the_last_try_is_at_the_give_up_time() {
        let p = RetryPolicy {
            first: SimDuration::from_secs(60),
            max_interval: SimDuration::from_secs(600),
            give_up: SimDuration::from_secs(200),
        };
        let q = SimTime::from_secs(10);
        assert_eq!(
            p.next_attempt(q, SimTime::from_secs(10), 1),
            Some(SimTime::from_secs(70))
        );
        assert_eq!(
            p.next_attempt(q, SimTime::from_secs(70), 2),
            Some(SimTime::from_secs(190))
        );
        assert_eq!(
            p.next_attempt(q, SimTime::from_secs(190), 3),
            Some(SimTime::from_secs(210))
        );
        assert_eq!(p.next_attempt(q, SimTime::from_secs(210), 4), None);
    }

    #[test]
    fn ids_are_unique() {
        let mut q = OutboundQueue::new();
        assert_eq!(q.next_id(), "Q1");
        assert_eq!(q.next_id(), "Q2");
    }
}
