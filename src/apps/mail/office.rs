//! What a mail server does with mail, apart from the network: the intake,
//! local delivery, the queue, and the outcome of each delivery attempt
//! (delivered, bounced, deferred).
//!
//! RFC 5321 §6.1: once a server has answered 250 to the end of the data
//! it is responsible for the message: it delivers it once, or returns it
//! to its sender. [`PostOffice`] keeps that promise in one place, for both
//! drivers: the simulated [`MailServer`](super::MailServer) (TCP and
//! timers of the simulated network) and the live mode (real sockets and
//! the wall clock). Neither has a copy of these rules, so they cannot
//! drift apart.
//!
//! A post office reads no clock and owns no socket. Every step takes the
//! time and pushes [`Note`]s of what it did; the driver records them in
//! the trace (each note is one event, [`Note::event`]) and starts a
//! delivery attempt for every `Queued` note.

use std::collections::BTreeMap;

use super::bounce::{Bounce, FailedRecipient, status_from_reply};
use super::events;
use super::queue::{OutboundQueue, QueueEntry, RetryPolicy};
use super::store::{INBOX, MailStore};
use crate::proto::smtp::{
    self, Mailbox, MessageReport, OutgoingMessage, ReceivedMessage, RecipientStatus, Reply,
    SmtpBackend,
};
use crate::sim::SimTime;
use crate::trace::{EventKind, Value};

/// Something a post office did, for the trace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Note {
    /// Put into a local user's INBOX.
    Stored {
        queue_id: String,
        user: String,
        uid: u32,
        from: String,
        subject: String,
    },
    /// Queued for another domain: a delivery attempt is due now.
    Queued {
        queue_id: String,
        from: String,
        to: String,
        domain: String,
        size: usize,
    },
    /// Not deliverable and not returnable (a bounce that failed itself,
    /// or a recipient that is not an address).
    Discarded {
        queue_id: String,
        to: String,
        reason: String,
    },
    /// Taken by the receiving exchanger (its 250 after the data).
    Delivered {
        queue_id: String,
        to: String,
        exchange: String,
        address: String,
        reply: String,
    },
    /// Returned to the sender as a delivery status notification.
    Bounced {
        queue_id: String,
        to: String,
        status: String,
        reason: String,
        notify: String,
        bounce_id: String,
    },
    /// To be tried again at `next_attempt`.
    Deferred {
        queue_id: String,
        to: String,
        reason: String,
        attempt: u32,
        retry_in_s: u64,
        next_attempt: SimTime,
    },
}

impl Note {
    /// The trace event that records this note: its kind and fields.
    pub fn event(&self) -> (&'static EventKind, Vec<(&'static str, Value)>) {
        match self {
            Note::Stored {
                queue_id,
                user,
                uid,
                from,
                subject,
            } => (
                &events::STORED,
                vec![
                    ("queue_id", queue_id.as_str().into()),
                    ("user", user.as_str().into()),
                    ("mailbox", INBOX.into()),
                    ("uid", (*uid).into()),
                    ("from", from.as_str().into()),
                    ("subject", subject.as_str().into()),
                ],
            ),
            Note::Queued {
                queue_id,
                from,
                to,
                domain,
                size,
            } => (
                &events::QUEUED,
                vec![
                    ("queue_id", queue_id.as_str().into()),
                    ("from", from.as_str().into()),
                    ("to", to.as_str().into()),
                    ("domain", domain.as_str().into()),
                    ("size", (*size).into()),
                ],
            ),
            Note::Discarded {
                queue_id,
                to,
                reason,
            } => (
                &events::DISCARDED,
                vec![
                    ("queue_id", queue_id.as_str().into()),
                    ("to", to.as_str().into()),
                    ("reason", reason.as_str().into()),
                ],
            ),
            Note::Delivered {
                queue_id,
                to,
                exchange,
                address,
                reply,
            } => (
                &events::DELIVERED,
                vec![
                    ("queue_id", queue_id.as_str().into()),
                    ("to", to.as_str().into()),
                    ("exchange", exchange.as_str().into()),
                    ("address", address.as_str().into()),
                    ("reply", reply.as_str().into()),
                ],
            ),
            Note::Bounced {
                queue_id,
                to,
                status,
                reason,
                notify,
                bounce_id,
            } => (
                &events::BOUNCED,
                vec![
                    ("queue_id", queue_id.as_str().into()),
                    ("to", to.as_str().into()),
                    ("status", status.as_str().into()),
                    ("reason", reason.as_str().into()),
                    ("notify", notify.as_str().into()),
                    ("bounce_id", bounce_id.as_str().into()),
                ],
            ),
            Note::Deferred {
                queue_id,
                to,
                reason,
                attempt,
                retry_in_s,
                next_attempt,
            } => (
                &events::DEFERRED,
                vec![
                    ("queue_id", queue_id.as_str().into()),
                    ("to", to.as_str().into()),
                    ("reason", reason.as_str().into()),
                    ("attempt", (*attempt).into()),
                    ("retry_in_s", (*retry_in_s).into()),
                    ("next_attempt_us", next_attempt.as_micros().into()),
                ],
            ),
        }
    }

    /// The queue entry this note asks the driver to start delivering.
    pub fn queued(&self) -> Option<&str> {
        match self {
            Note::Queued { queue_id, .. } => Some(queue_id),
            _ => None,
        }
    }

    /// When this note asks the driver to try the entry again.
    pub fn retry(&self) -> Option<(&str, SimTime)> {
        match self {
            Note::Deferred {
                queue_id,
                next_attempt,
                ..
            } => Some((queue_id, *next_attempt)),
            _ => None,
        }
    }
}

/// A moment, as a post office needs it: the simulated (or live) time for
/// the queue, and the date for headers and reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct At {
    pub now: SimTime,
    /// Unix seconds.
    pub unix: i64,
}

/// A mail server's mailboxes and queue, and the rules for what becomes of
/// a message. See the module documentation.
#[derive(Debug, Clone)]
pub struct PostOffice {
    /// The server's own name, in `Received:` lines and bounces.
    pub hostname: String,
    /// "On disk": both survive a crash of the host.
    pub store: MailStore,
    pub queue: OutboundQueue,
    pub retry: RetryPolicy,
    /// What it did since the driver last asked ([`take_notes`](Self::take_notes)).
    notes: Vec<Note>,
}

impl PostOffice {
    /// An office for `domains` (its own host name counts as local too,
    /// so `postmaster@bob-mail.hamburger.edu` stays here), with an empty
    /// store (only the postmaster) and queue.
    pub fn new(hostname: &str, domains: &[String], retry: RetryPolicy) -> PostOffice {
        let hostname = hostname.to_ascii_lowercase();
        let mut domains = domains.to_vec();
        if !domains.contains(&hostname) {
            domains.push(hostname.clone());
        }
        PostOffice {
            store: MailStore::new(&domains),
            queue: OutboundQueue::with_prefix(&queue_prefix(&hostname)),
            hostname,
            retry,
            notes: Vec::new(),
        }
    }

    /// True if mail for `domain` ends here.
    pub fn is_local(&self, domain: &str) -> bool {
        self.store.is_local_domain(domain) || domain.eq_ignore_ascii_case(&self.hostname)
    }

    /// What it did since the last call, in order: the driver traces each
    /// note and acts on `Queued` and `Deferred` ones.
    pub fn take_notes(&mut self) -> Vec<Note> {
        std::mem::take(&mut self.notes)
    }

    /// The office as an SMTP server's backend: what the machine accepts
    /// with 250 is taken at `now` (the machine gives the date).
    pub fn intake(&mut self, now: SimTime) -> Intake<'_> {
        Intake { office: self, now }
    }

    /// Takes responsibility for a message: delivers it to local users
    /// (with `Return-Path:` on top, RFC 5321 §4.4) and queues one entry per
    /// foreign domain.
    pub fn take(
        &mut self,
        id: &str,
        reverse_path: Option<String>,
        recipients: &[String],
        data: Vec<u8>,
        at: At,
    ) {
        let now = at.now;
        let headers = smtp::message::Headers::parse(&data);
        let subject = headers.get("Subject").unwrap_or_default().to_string();
        let from = headers.get("From").unwrap_or_default().to_string();
        let mut foreign: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for rcpt in recipients {
            let Some(mailbox) = Mailbox::parse(rcpt) else {
                self.notes.push(Note::Discarded {
                    queue_id: id.into(),
                    to: rcpt.clone(),
                    reason: "not an address".into(),
                });
                continue;
            };
            let domain = mailbox.domain.to_ascii_lowercase();
            if !self.is_local(&domain) {
                foreign.entry(domain).or_default().push(rcpt.clone());
                continue;
            }
            let stored = smtp::message::with_return_path(reverse_path.as_deref(), &data);
            match self.store.deliver(&mailbox.local_part, stored, at.unix) {
                Ok(uid) => self.notes.push(Note::Stored {
                    queue_id: id.into(),
                    user: mailbox.local_part.to_ascii_lowercase(),
                    uid,
                    from: from.clone(),
                    subject: subject.clone(),
                }),
                // Only a bounce to a sender who is not a user gets here
                // (RCPT TO checked the others).
                Err(e) => self.notes.push(Note::Discarded {
                    queue_id: id.into(),
                    to: rcpt.clone(),
                    reason: e.to_string(),
                }),
            }
        }
        for (n, (domain, recipients)) in foreign.into_iter().enumerate() {
            // One entry per domain: the first keeps the id of the message.
            let entry_id = if n == 0 {
                id.to_string()
            } else {
                format!("{id}-{}", n + 1)
            };
            let entry = QueueEntry {
                id: entry_id.clone(),
                reverse_path: reverse_path.clone(),
                recipients,
                domain,
                data: data.clone(),
                queued_at: now,
                attempts: 0,
                next_attempt: now,
                last_error: None,
            };
            self.notes.push(Note::Queued {
                queue_id: entry_id,
                from: entry.sender().to_string(),
                to: entry.recipients.join(","),
                domain: entry.domain.clone(),
                size: entry.data.len(),
            });
            self.queue.push(entry);
        }
    }

    /// Counts a new attempt at an entry and returns the message an SMTP
    /// client is to send for it (`None` if the entry is gone).
    pub fn begin_attempt(&mut self, id: &str) -> Option<(u32, OutgoingMessage)> {
        let entry = self.queue.get_mut(id)?;
        entry.attempts += 1;
        Some((entry.attempts, entry.message()))
    }

    /// The SMTP session of an attempt to `exchange` (at `address`) is
    /// over and `report` says what became of each recipient: delivered
    /// ones leave the entry, refused ones are bounced, the others wait for
    /// another attempt (the entry is deferred). `lost` says why, if the
    /// connection broke off.
    pub fn settle(
        &mut self,
        id: &str,
        report: &MessageReport,
        exchange: &str,
        address: &str,
        lost: Option<String>,
        at: At,
    ) {
        let mut delivered = Vec::new();
        let mut failed = Vec::new();
        let mut deferred: Vec<(String, Reply)> = Vec::new();
        for r in &report.recipients {
            match &r.status {
                RecipientStatus::Accepted => delivered.push(r.address.clone()),
                RecipientStatus::PermFailed(reply) => {
                    let text = reply.lines.join(" ");
                    failed.push(FailedRecipient {
                        address: r.address.clone(),
                        status: status_from_reply(reply.code, &text),
                        remote_mta: Some(exchange.to_string()),
                        diagnostic: format!("{} {text}", reply.code),
                    });
                }
                RecipientStatus::TempFailed(reply) => {
                    deferred.push((r.address.clone(), reply.clone()))
                }
                RecipientStatus::Pending => deferred.push((
                    r.address.clone(),
                    Reply::new(smtp::reply::LOCAL_ERROR, "session ended early"),
                )),
            }
        }
        if !delivered.is_empty() {
            let reply = report
                .final_reply
                .as_ref()
                .map(|r| format!("{} {}", r.code, r.lines.join(" ")))
                .unwrap_or_default();
            self.notes.push(Note::Delivered {
                queue_id: id.into(),
                to: delivered.join(","),
                exchange: exchange.into(),
                address: address.into(),
                reply,
            });
            if let Some(e) = self.queue.get_mut(id) {
                e.recipients.retain(|r| !delivered.contains(r));
            }
        }
        if !failed.is_empty() {
            self.bounce(id, failed, at);
        }
        if let Some((_, reply)) = deferred.first() {
            let why = match lost {
                Some(why) => format!("lost the connection to {exchange} [{address}]: {why}"),
                None => format!("{exchange} said: {} {}", reply.code, reply.lines.join(" ")),
            };
            if let Some(e) = self.queue.get_mut(id) {
                let keep: Vec<String> = deferred.iter().map(|(a, _)| a.clone()).collect();
                e.recipients.retain(|r| keep.contains(r));
            }
            self.defer(id, why, at);
        } else {
            self.drop_if_done(id);
        }
    }

    /// Removes an entry with no recipient left.
    pub fn drop_if_done(&mut self, id: &str) {
        if self.queue.get(id).is_some_and(|e| e.recipients.is_empty()) {
            self.queue.remove(id);
        }
    }

    /// A temporary failure: the entry is tried again later (a `Deferred`
    /// note with the time), or bounced if it has waited too long.
    pub fn defer(&mut self, id: &str, reason: String, at: At) {
        let (policy, now) = (self.retry, at.now);
        let Some(entry) = self.queue.get_mut(id) else {
            return;
        };
        entry.last_error = Some(reason.clone());
        match policy.next_attempt(entry.queued_at, now, entry.attempts) {
            Some(at) => {
                entry.next_attempt = at;
                self.notes.push(Note::Deferred {
                    queue_id: id.into(),
                    to: entry.recipients.join(","),
                    reason,
                    attempt: entry.attempts,
                    retry_in_s: (at - now).as_nanos() / 1_000_000_000,
                    next_attempt: at,
                });
            }
            None => {
                let waited = (now - entry.queued_at).as_nanos() / 1_000_000_000;
                let diagnostic =
                    format!("delivery time expired after {waited} s; last error: {reason}");
                // RFC 3463 4.4.7: delivery time expired.
                self.bounce_all(id, "4.4.7", None, diagnostic, at);
            }
        }
    }

    /// A permanent failure of every remaining recipient of an entry.
    pub fn bounce_all(
        &mut self,
        id: &str,
        status: &str,
        remote_mta: Option<String>,
        diagnostic: String,
        at: At,
    ) {
        let Some(entry) = self.queue.get(id) else {
            return;
        };
        let failed = entry
            .recipients
            .iter()
            .map(|address| FailedRecipient {
                address: address.clone(),
                status: status.to_string(),
                remote_mta: remote_mta.clone(),
                diagnostic: diagnostic.clone(),
            })
            .collect();
        self.bounce(id, failed, at);
        self.drop_if_done(id);
    }

    /// Returns a message to its sender for the `failed` recipients, and
    /// removes them from the entry. The report goes out with the null
    /// reverse path, so a bounce itself is never bounced (RFC 5321 §4.5.5).
    pub fn bounce(&mut self, id: &str, failed: Vec<FailedRecipient>, at: At) {
        let (now, now_unix) = (at.now, at.unix);
        let Some(entry) = self.queue.get_mut(id) else {
            return;
        };
        entry
            .recipients
            .retain(|r| !failed.iter().any(|f| f.address == *r));
        let entry = entry.clone();
        self.drop_if_done(id);
        let Some(first) = failed.first() else {
            return;
        };
        let to: Vec<&str> = failed.iter().map(|f| f.address.as_str()).collect();
        let (status, reason) = (first.status.clone(), first.diagnostic.clone());
        let Some(sender) = entry.reverse_path.clone() else {
            // A message with a null reverse path gets no notification, or
            // bounces could loop forever.
            self.notes.push(Note::Discarded {
                queue_id: id.into(),
                to: to.join(","),
                reason: format!("undeliverable bounce: {reason}"),
            });
            return;
        };
        let bounce_id = self.queue.next_id();
        let arrival = now_unix - ((now - entry.queued_at).as_nanos() / 1_000_000_000) as i64;
        let data = Bounce {
            reporting_mta: &self.hostname,
            to: &sender,
            failed: &failed,
            original: &entry.data,
            arrival_unix: arrival,
            now_unix,
            unique: &bounce_id,
        }
        .to_bytes();
        self.notes.push(Note::Bounced {
            queue_id: id.into(),
            to: to.join(","),
            status,
            reason,
            notify: sender.clone(),
            bounce_id: bounce_id.clone(),
        });
        self.take(&bounce_id, None, &[sender], data, at);
    }
}

/// Queue ids start with the server name's first letter (`A1` at alice-mail,
/// `B1` at bob-mail), so that the ids two servers give one message differ.
fn queue_prefix(hostname: &str) -> String {
    hostname
        .chars()
        .find(char::is_ascii_alphabetic)
        .map_or("Q".to_string(), |c| c.to_ascii_uppercase().to_string())
}

/// A post office as the SMTP machine sees it: local users get the message
/// in their INBOX, other domains go to the queue.
pub struct Intake<'a> {
    office: &'a mut PostOffice,
    now: SimTime,
}

impl SmtpBackend for Intake<'_> {
    fn is_local_domain(&self, domain: &str) -> bool {
        self.office.is_local(domain)
    }

    fn user_exists(&self, local_part: &str, _domain: &str) -> bool {
        self.office.store.user_exists(local_part)
    }

    fn check_password(&mut self, user: &str, password: &str) -> bool {
        self.office.store.check_password(user, password)
    }

    fn next_queue_id(&mut self) -> String {
        self.office.queue.next_id()
    }

    fn accept_message(&mut self, message: ReceivedMessage) -> Result<(), Reply> {
        let reverse_path = message.reverse_path.as_ref().map(Mailbox::to_string);
        let recipients: Vec<String> = message.recipients.iter().map(Mailbox::to_string).collect();
        let at = At {
            now: self.now,
            unix: message.received_at,
        };
        self.office.take(
            &message.queue_id,
            reverse_path,
            &recipients,
            message.data,
            at,
        );
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::smtp::RecipientResult;
    use crate::sim::SimDuration;

    const T0: At = At {
        now: SimTime::ZERO,
        unix: 0,
    };

    fn office() -> PostOffice {
        let mut o = PostOffice::new(
            "alice-mail.crepes.fr",
            &["crepes.fr".to_string()],
            RetryPolicy::default(),
        );
        o.store.add_user("alice", "pw").unwrap();
        o
    }

    fn take(o: &mut PostOffice, from: Option<&str>, to: &[&str]) {
        let to: Vec<String> = to.iter().map(|s| s.to_string()).collect();
        let data = b"From: alice@crepes.fr\r\nSubject: hi\r\n\r\nbody\r\n".to_vec();
        o.take("A1", from.map(str::to_string), &to, data, T0);
    }

    fn report(results: Vec<(&str, RecipientStatus)>) -> MessageReport {
        MessageReport {
            recipients: results
                .into_iter()
                .map(|(a, status)| RecipientResult {
                    address: a.into(),
                    status,
                })
                .collect(),
            final_reply: Some(Reply::new(250, "2.0.0 Ok: queued as B1")),
        }
    }

    #[test]
    fn local_mail_is_stored_and_foreign_mail_is_queued_per_domain() {
        let mut o = office();
        let to = ["alice@crepes.fr", "bob@hamburger.edu", "x@example.org"];
        take(&mut o, Some("carol@example.org"), &to);
        let notes = o.take_notes();
        assert!(matches!(&notes[0], Note::Stored { user, .. } if user == "alice"));
        let queued: Vec<&str> = notes.iter().filter_map(Note::queued).collect();
        assert_eq!(queued, ["A1", "A1-2"]);
        assert_eq!(o.queue.len(), 2);
        let stored = &o.store.folder("alice", INBOX).unwrap().messages()[0];
        assert!(
            stored
                .data
                .starts_with(b"Return-Path: <carol@example.org>\r\n")
        );
    }

    #[test]
    fn a_refused_recipient_bounces_once_to_the_sender_and_leaves_the_queue() {
        let mut o = office();
        let to = ["bob@hamburger.edu", "bobby@hamburger.edu"];
        take(&mut o, Some("alice@crepes.fr"), &to);
        let (attempt, message) = o.begin_attempt("A1").unwrap();
        assert_eq!((attempt, message.recipients.len()), (1, 2));
        o.take_notes();
        let r = report(vec![
            ("bob@hamburger.edu", RecipientStatus::Accepted),
            (
                "bobby@hamburger.edu",
                RecipientStatus::PermFailed(Reply::new(550, "5.1.1 User unknown")),
            ),
        ]);
        o.settle("A1", &r, "bob-mail", "10.0.2.25", None, T0);
        let notes = o.take_notes();
        assert!(o.queue.is_empty(), "nothing left to deliver");
        assert!(matches!(&notes[0], Note::Delivered { to, .. } if to == "bob@hamburger.edu"));
        assert!(matches!(&notes[1], Note::Bounced { to, status, notify, .. }
                if to == "bobby@hamburger.edu" && status == "5.1.1" && notify == "alice@crepes.fr"));
        assert!(matches!(&notes[2], Note::Stored { user, .. } if user == "alice"));
        assert_eq!(notes.len(), 3);
        let inbox = o.store.folder("alice", INBOX).unwrap().messages();
        assert_eq!(inbox.len(), 1);
        assert!(inbox[0].data.starts_with(b"Return-Path: <>\r\n"));
    }

    #[test]
    fn a_temporary_failure_defers_and_expiry_bounces() {
        let mut o = office();
        take(&mut o, Some("alice@crepes.fr"), &["bob@hamburger.edu"]);
        o.begin_attempt("A1");
        o.take_notes();
        let r = report(vec![(
            "bob@hamburger.edu",
            RecipientStatus::TempFailed(Reply::new(451, "4.3.0 try later")),
        )]);
        o.settle("A1", &r, "bob-mail", "10.0.2.25", None, T0);
        let notes = o.take_notes();
        let (id, at) = notes[0].retry().unwrap();
        assert_eq!((id, at), ("A1", SimTime::ZERO + SimDuration::from_secs(60)));
        assert_eq!(o.queue.len(), 1);
        // After the give-up time the message goes back to Alice.
        let late = At {
            now: SimTime::ZERO + RetryPolicy::default().give_up,
            unix: 1800,
        };
        o.defer("A1", "still down".into(), late);
        let notes = o.take_notes();
        assert!(matches!(&notes[0], Note::Bounced { status, .. } if status == "4.4.7"));
        assert!(o.queue.is_empty());
    }

    #[test]
    fn a_bounce_that_fails_is_discarded_not_bounced() {
        let mut o = office();
        take(&mut o, None, &["nobody@example.org"]);
        o.take_notes();
        o.bounce_all("A1", "5.1.2", None, "no such domain".into(), T0);
        let notes = o.take_notes();
        assert_eq!(notes.len(), 1);
        assert!(
            matches!(&notes[0], Note::Discarded { reason, .. } if reason.contains("undeliverable bounce"))
        );
        assert!(o.queue.is_empty());
    }
}
