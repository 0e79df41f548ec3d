//! The mail side of the live mode: a scenario's mail server state behind a
//! lock, and the SMTP backend that delivers into it.
//!
//! Mail accepted over a live SMTP port goes into the mailboxes that the
//! live POP3 (and IMAP) ports serve. A message for a domain another host of
//! the scenario serves is relayed to that host's mailboxes in-process (the
//! live mode has no DNS and sends nothing to the Internet); a message for
//! any other domain is reported (`held` in the trace) and goes no further.

use crate::apps::mail::store::MailStore;
use crate::proto::smtp::{Mailbox, ReceivedMessage, Reply, SmtpBackend};

/// A mail server's state in the live mode.
pub struct MailHost {
    pub store: MailStore,
    /// The name the server greets with: `bob-mail.hamburger.edu`.
    pub hostname: String,
    pub max_message_size: usize,
    next_id: u64,
}

impl MailHost {
    pub fn new(store: MailStore, hostname: String, max_message_size: usize) -> MailHost {
        MailHost {
            store,
            hostname,
            max_message_size,
            next_id: 0,
        }
    }
}

/// A message on its way to another domain.
#[derive(Debug, Clone)]
pub struct Relay {
    pub queue_id: String,
    pub domain: String,
    /// The envelope's reverse path (the `Return-Path:` at delivery).
    pub reverse_path: Option<Mailbox>,
    pub recipients: Vec<Mailbox>,
    pub data: Vec<u8>,
}

/// What the intake did, for the trace once the lock is released.
#[derive(Debug, Clone)]
pub enum Note {
    Stored {
        queue_id: String,
        user: String,
        subject: String,
    },
    Refused {
        queue_id: String,
        to: String,
        why: String,
    },
}

/// The SMTP machine's view of a live mail host.
pub struct LiveIntake<'a> {
    pub host: &'a mut MailHost,
    pub relays: &'a mut Vec<Relay>,
    pub notes: &'a mut Vec<Note>,
}

impl LiveIntake<'_> {
    fn is_local(&self, domain: &str) -> bool {
        self.host.store.is_local_domain(domain) || domain.eq_ignore_ascii_case(&self.host.hostname)
    }
}

impl SmtpBackend for LiveIntake<'_> {
    fn is_local_domain(&self, domain: &str) -> bool {
        self.is_local(domain)
    }

    fn user_exists(&self, local_part: &str, _domain: &str) -> bool {
        self.host.store.user_exists(local_part)
    }

    fn check_password(&mut self, user: &str, password: &str) -> bool {
        self.host.store.check_password(user, password)
    }

    fn next_queue_id(&mut self) -> String {
        self.host.next_id += 1;
        format!("L{}", self.host.next_id)
    }

    fn accept_message(&mut self, message: ReceivedMessage) -> Result<(), Reply> {
        let subject =
            crate::proto::smtp::message::header_value(&message.data, "Subject").unwrap_or_default();
        let mut foreign: Vec<Relay> = Vec::new();
        for rcpt in &message.recipients {
            let domain = rcpt.domain.to_ascii_lowercase();
            if self.is_local(&domain) {
                let reverse = message.reverse_path.as_ref().map(ToString::to_string);
                let stored = crate::proto::smtp::message::with_return_path(
                    reverse.as_deref(),
                    &message.data,
                );
                match self
                    .host
                    .store
                    .deliver(&rcpt.local_part, stored, message.received_at)
                {
                    Ok(_) => self.notes.push(Note::Stored {
                        queue_id: message.queue_id.clone(),
                        user: rcpt.local_part.to_ascii_lowercase(),
                        subject: subject.clone(),
                    }),
                    Err(e) => self.notes.push(Note::Refused {
                        queue_id: message.queue_id.clone(),
                        to: rcpt.to_string(),
                        why: e.to_string(),
                    }),
                }
                continue;
            }
            match foreign.iter_mut().find(|r| r.domain == domain) {
                Some(r) => r.recipients.push(rcpt.clone()),
                None => foreign.push(Relay {
                    queue_id: message.queue_id.clone(),
                    domain,
                    reverse_path: message.reverse_path.clone(),
                    recipients: vec![rcpt.clone()],
                    data: message.data.clone(),
                }),
            }
        }
        self.relays.extend(foreign);
        Ok(())
    }
}
