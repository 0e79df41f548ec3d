//! The mail side of the live mode: each mail server's [`PostOffice`]
//! behind a lock, and the postman that delivers what they queue.
//!
//! A live mail server keeps the promises a simulated one keeps, with the
//! same code: the SMTP machine's intake, local delivery, the queue, the
//! retries and the bounces are [`PostOffice`]'s. The live mode supplies
//! only real sockets and the wall clock.
//!
//! Mail for a domain another served host of the scenario is the final
//! destination for is relayed to it the way the simulation relays it:
//! the [`postman`] opens a real TCP connection to that host's live SMTP
//! port and speaks SMTP with the same client machine, and the outcome of
//! each recipient is settled by the post office. A recipient refused with
//! 5xx (an unknown user) is bounced to the sender; a 4xx or a lost
//! connection is tried again later, and bounced once it has waited too
//! long. Mail for a domain no served host is the destination for is
//! bounced at once: the live mode sends nothing to the Internet (and has
//! no DNS to find it).

use std::net::{SocketAddr, TcpStream};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use super::{Shared, lock};
use crate::apps::mail::events;
use crate::apps::mail::office::{At, Note, PostOffice};
use crate::proto::Session;
use crate::proto::smtp::{SmtpClient, SmtpClientConfig};
use crate::sim::SimTime;
use crate::trace::NodeId;

/// A mail server's state in the live mode.
pub struct MailHost {
    pub office: PostOffice,
    pub max_message_size: usize,
}

impl MailHost {
    pub fn new(office: PostOffice, max_message_size: usize) -> MailHost {
        MailHost {
            office,
            max_message_size,
        }
    }
}

/// Records what a post office did (its notes) as the simulation does:
/// one event each, on the host it happened at. True if something was
/// queued, so the postman has work.
pub(super) fn trace_notes(shared: &Shared, node: NodeId, notes: Vec<Note>) -> bool {
    let mut queued = false;
    for note in notes {
        queued |= note.queued().is_some();
        let (kind, fields) = note.event();
        shared.record(node, kind, fields);
    }
    queued
}

/// Wakes the postman when there is mail to deliver or the server stops.
#[derive(Default)]
pub(crate) struct Doorbell {
    rung: Mutex<bool>,
    cv: Condvar,
}

impl Doorbell {
    pub fn ring(&self) {
        *lock(&self.rung) = true;
        self.cv.notify_all();
    }

    /// Waits until rung or `timeout` passed.
    fn wait(&self, timeout: Duration) {
        let mut rung = lock(&self.rung);
        if !*rung {
            rung = self
                .cv
                .wait_timeout(rung, timeout)
                .map_or_else(|e| e.into_inner().0, |(g, _)| g);
        }
        *rung = false;
    }
}

/// How long the postman waits for a reply from a live SMTP server (RFC
/// 5321 §4.5.3.2 allows minutes; loopback answers at once).
const REPLY_TIMEOUT: Duration = Duration::from_secs(30);

/// The postman: one thread for all mail hosts of a live server. Each due
/// queue entry (new ones at once, deferred ones at their retry time) gets
/// one delivery attempt at a time.
pub(super) fn postman(shared: Arc<Shared>) {
    loop {
        if shared.shutdown.load(std::sync::atomic::Ordering::SeqCst) {
            return;
        }
        let now = shared.now();
        let mut due = Vec::new();
        let mut next: Option<SimTime> = None;
        for (k, h) in shared.hosts.iter().enumerate() {
            let Some(mail) = &h.mail else { continue };
            for e in lock(mail).office.queue.entries() {
                if e.next_attempt <= now {
                    due.push((k, e.id.clone()));
                } else {
                    next = Some(next.map_or(e.next_attempt, |n| n.min(e.next_attempt)));
                }
            }
        }
        if !due.is_empty() {
            for (k, id) in due {
                attempt(&shared, k, &id);
            }
            continue;
        }
        let wait = next.map_or(Duration::from_secs(3600), |at| {
            Duration::from_nanos((at - now).as_nanos()).max(Duration::from_millis(1))
        });
        shared.doorbell.wait(wait);
    }
}

/// The host of the live server that is the final destination for
/// `domain`, other than `origin`.
fn destination(shared: &Shared, origin: usize, domain: &str) -> Option<(usize, SocketAddr)> {
    shared.hosts.iter().enumerate().find_map(|(k, h)| {
        if k == origin {
            return None;
        }
        let local = lock(h.mail.as_ref()?).office.is_local(domain);
        let addr = shared.smtp_addr(k)?;
        local.then_some((k, addr))
    })
}

/// One delivery attempt of queue entry `id` of host `k`.
fn attempt(shared: &Shared, k: usize, id: &str) {
    let origin = &shared.hosts[k];
    let Some(mail) = &origin.mail else { return };
    let (attempt, message, domain, hostname) = {
        let mut m = lock(mail);
        let Some(domain) = m.office.queue.get(id).map(|e| e.domain.clone()) else {
            return;
        };
        let Some((attempt, message)) = m.office.begin_attempt(id) else {
            return;
        };
        (attempt, message, domain, m.office.hostname.clone())
    };
    shared.record(
        origin.node,
        &events::DELIVERY_ATTEMPT,
        vec![
            ("queue_id", id.into()),
            ("attempt", attempt.into()),
            ("to", message.recipients.join(",").into()),
            ("domain", domain.as_str().into()),
        ],
    );
    let settle = |f: &dyn Fn(&mut PostOffice, At)| {
        let notes = {
            let mut m = lock(mail);
            f(&mut m.office, shared.at());
            m.office.take_notes()
        };
        if trace_notes(shared, origin.node, notes) {
            shared.doorbell.ring();
        }
    };
    let Some((target, addr)) = destination(shared, k, &domain) else {
        // RFC 3463 5.4.4: unable to route.
        let why = format!(
            "no host of this live server receives mail for {domain}; the live mode delivers only between the scenario's servers"
        );
        settle(&|o, at| o.bounce_all(id, "5.4.4", None, why.clone(), at));
        return;
    };
    let exchange = shared.hosts[target]
        .mail
        .as_ref()
        .map(|m| lock(m).office.hostname.clone())
        .unwrap_or_default();
    shared.record(
        origin.node,
        &events::CONNECTING,
        vec![
            ("queue_id", id.into()),
            ("exchange", exchange.as_str().into()),
            ("address", addr.ip().to_string().into()),
            ("port", addr.port().into()),
        ],
    );
    let mut stream = match TcpStream::connect_timeout(&addr, Duration::from_secs(5)) {
        Ok(s) => s,
        Err(e) => {
            shared.record(
                origin.node,
                &events::CONNECT_FAILED,
                vec![
                    ("queue_id", id.into()),
                    ("exchange", exchange.as_str().into()),
                    ("address", addr.to_string().into()),
                    ("error", e.to_string().into()),
                ],
            );
            let why = format!("cannot connect to {exchange} [{addr}]: {e}");
            settle(&|o, at| o.defer(id, why.clone(), at));
            return;
        }
    };
    let config = SmtpClientConfig {
        ehlo_name: hostname,
        credentials: None,
        // Between the scenario's own servers on the loopback.
        starttls: false,
    };
    let mut client = SmtpClient::new(config, vec![message]);
    let lost = converse(&mut stream, &mut client);
    let _ = stream.shutdown(std::net::Shutdown::Both);
    let Some(report) = client.reports().first().cloned() else {
        return;
    };
    let address = addr.to_string();
    settle(&|o, at| o.settle(id, &report, &exchange, &address, lost.clone(), at));
}

/// Speaks SMTP over `stream` until the client is done. Returns why the
/// connection was lost, if it was.
fn converse(stream: &mut TcpStream, client: &mut SmtpClient) -> Option<String> {
    use std::io::{Read, Write};
    let _ = stream.set_read_timeout(Some(REPLY_TIMEOUT));
    let _ = stream.set_write_timeout(Some(REPLY_TIMEOUT));
    let _ = stream.set_nodelay(true);
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        // The receiving server traces the dialogue, as in a simulation.
        crate::apps::pump::skip_dialogue(client);
        while let Some(bytes) = client.poll_output() {
            if let Err(e) = stream.write_all(&bytes) {
                client.handle_close();
                return Some(e.to_string());
            }
        }
        if client.wants_close() {
            return None;
        }
        match stream.read(&mut buf) {
            Ok(0) => {
                // RFC 5321 §3.8: a lost connection counts as a 451.
                client.handle_close();
                return Some("connection closed by the server".into());
            }
            Ok(n) => client.handle_input(&buf[..n]),
            Err(e) => {
                client.handle_close();
                return Some(e.to_string());
            }
        }
    }
}
