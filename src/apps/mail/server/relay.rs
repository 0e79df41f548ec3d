//! The relaying half of the mail server: the queue runner.
//!
//! For each queue entry an attempt goes through three stages
//! ([`Stage`]): ask the name server for the domain's mail exchangers
//! (MX, then addresses; RFC 5321 §5.1), open a TCP connection to port 25
//! of the best one (falling back to the next on failure), and speak SMTP
//! with a [`SmtpClient`]. The outcome of each recipient decides what
//! happens next: delivered (removed from the queue), refused for good
//! (bounced to the sender), or refused for now (deferred: tried again
//! after a wait that doubles each time, until the give-up time, when it is
//! bounced too).
//!
//! Receiving mail and delivering it to local mailboxes is the other half,
//! in `mod.rs`; the SMTP dialogue itself is the [`SmtpClient`]'s.

use crate::apps::mail::events;
use std::net::{Ipv4Addr, SocketAddrV4};

use super::{Intake, MailServer, NO_TIMER, Timer};
use crate::apps::mail::bounce::{Bounce, FailedRecipient, status_from_reply};
use crate::net::{AppCx, ConnId};
use crate::proto::Session;
use crate::proto::dns::{MailExchange, MxResolver, ResolveError};
use crate::proto::smtp::{
    self, OutgoingMessage, RecipientStatus, Reply, SmtpClient, SmtpClientConfig,
};
use crate::sim::SimTime;
use crate::trace::{Protocol, Value};

/// Where an exchanger can be reached.
#[derive(Debug, Clone)]
pub(super) struct Target {
    exchange: String,
    addr: Ipv4Addr,
}

/// What a delivery attempt of a queue entry is doing.
pub(super) enum Stage {
    /// Asking the name server; `timer` is the token of the pending timeout.
    Resolving {
        port: u16,
        resolver: MxResolver,
        timer: u64,
    },
    /// Opening a connection to `targets[index]`.
    Connecting {
        targets: Vec<Target>,
        index: usize,
        conn: ConnId,
    },
    /// Speaking SMTP on `conn`.
    Sending {
        target: Target,
        conn: ConnId,
        client: Box<SmtpClient>,
        deadline: SimTime,
    },
}

impl MailServer {
    /// Starts delivering a queue entry: first the DNS lookup.
    pub(super) fn start_attempt(&mut self, cx: &mut AppCx<'_>, id: &str) {
        let Some(entry) = self.queue.get_mut(id) else {
            return;
        };
        entry.attempts += 1;
        let (attempt, domain, to) = (
            entry.attempts,
            entry.domain.clone(),
            entry.recipients.join(","),
        );
        cx.emit(
            &events::DELIVERY_ATTEMPT,
            vec![
                ("queue_id", id.into()),
                ("attempt", attempt.into()),
                ("to", to.into()),
                ("domain", domain.as_str().into()),
            ],
        );
        let Some(dns) = self.config.dns_server else {
            self.defer(cx, id, "no DNS server configured".into());
            return;
        };
        let port = match cx.udp_bind_ephemeral(Protocol::Dns) {
            Ok(port) => port,
            Err(e) => {
                self.defer(cx, id, format!("cannot ask the DNS: {e}"));
                return;
            }
        };
        // RFC 5452 §9.2: a query id a spoofer cannot guess.
        let first_id = cx.rng().next_u32() as u16;
        let resolver = MxResolver::new(&domain, first_id);
        self.lookups.insert(port, id.to_string());
        // The timeout is armed when the first query goes out.
        let timer = NO_TIMER;
        self.attempts.insert(
            id.to_string(),
            Stage::Resolving {
                port,
                resolver,
                timer,
            },
        );
        self.pump_resolver(cx, id, dns);
    }

    pub(super) fn dns_datagram(&mut self, cx: &mut AppCx<'_>, port: u16, data: &[u8]) {
        let (Some(id), Some(dns)) = (self.lookups.get(&port).cloned(), self.config.dns_server)
        else {
            return;
        };
        if let Some(Stage::Resolving { resolver, .. }) = self.attempts.get_mut(&id) {
            resolver.handle_response(data);
        }
        self.pump_resolver(cx, &id, dns);
    }

    pub(super) fn on_dns_timeout(&mut self, cx: &mut AppCx<'_>, id: &str, token: u64) {
        let Some(dns) = self.config.dns_server else {
            return;
        };
        match self.attempts.get_mut(id) {
            Some(Stage::Resolving {
                resolver, timer, ..
            }) if *timer == token => resolver.handle_timeout(),
            _ => return,
        }
        self.pump_resolver(cx, id, dns);
    }

    /// Sends the resolver's queries; acts on its result once there is one.
    pub(super) fn pump_resolver(&mut self, cx: &mut AppCx<'_>, id: &str, dns: Ipv4Addr) {
        let Some(Stage::Resolving { port, resolver, .. }) = self.attempts.get_mut(id) else {
            return;
        };
        let port = *port;
        let mut sent = false;
        while let Some(query) = resolver.poll_query() {
            cx.udp_send(port, SocketAddrV4::new(dns, crate::proto::dns::PORT), query);
            sent = true;
        }
        // The name server traces the questions and answers.
        while resolver.poll_trace().is_some() {}
        let result = resolver.result().cloned();
        let Some(result) = result else {
            if sent {
                // A new question: only its timeout counts from now on.
                let token =
                    self.set_timer(cx, self.config.dns_timeout, Timer::DnsTimeout(id.into()));
                if let Some(Stage::Resolving { timer, .. }) = self.attempts.get_mut(id) {
                    *timer = token;
                }
            }
            return;
        };
        cx.udp_unbind(port);
        self.lookups.remove(&port);
        self.attempts.remove(id);
        let domain = self
            .queue
            .get(id)
            .map(|e| e.domain.clone())
            .unwrap_or_default();
        match result {
            Ok(exchanges) => {
                let targets = targets(&exchanges);
                // The resolver reports success only with an exchanger.
                let Some(first) = exchanges.first() else {
                    self.defer(cx, id, "no mail exchanger".into());
                    return;
                };
                let addresses: Vec<String> =
                    first.addresses.iter().map(Ipv4Addr::to_string).collect();
                cx.emit(
                    &events::MX_RESOLVED,
                    vec![
                        ("queue_id", id.into()),
                        ("domain", domain.into()),
                        ("exchange", first.host.as_str().into()),
                        ("preference", first.preference.into()),
                        ("address", addresses.join(",").into()),
                    ],
                );
                self.connect_next(cx, id, targets, 0);
            }
            Err(e) => {
                cx.emit(
                    &events::MX_FAILED,
                    vec![
                        ("queue_id", id.into()),
                        ("domain", domain.into()),
                        ("error", e.to_string().into()),
                        ("permanent", e.is_permanent().into()),
                    ],
                );
                if e.is_permanent() {
                    // RFC 3463: 5.1.2 bad destination system address,
                    // 5.4.4 unable to route.
                    let status = match e {
                        ResolveError::NoSuchDomain(_) => "5.1.2",
                        _ => "5.4.4",
                    };
                    self.bounce_all(cx, id, status, None, e.to_string());
                } else {
                    self.defer(cx, id, e.to_string());
                }
            }
        }
    }

    /// Opens a connection to `targets[index]` or, when none is left, defers.
    pub(super) fn connect_next(
        &mut self,
        cx: &mut AppCx<'_>,
        id: &str,
        targets: Vec<Target>,
        index: usize,
    ) {
        let Some(target) = targets.get(index).cloned() else {
            let last = targets
                .last()
                .map(|t| format!("{} [{}]", t.exchange, t.addr))
                .unwrap_or_default();
            self.defer(cx, id, format!("cannot connect to {last}:25"));
            return;
        };
        if target.addr == cx.address() {
            // RFC 5321 §5.1: the best exchanger is this very host, yet the
            // domain is not local: a configuration error that would loop.
            self.bounce_all(
                cx,
                id,
                "5.4.6",
                None,
                format!("mail for {} loops back to myself", target.exchange),
            );
            return;
        }
        cx.emit(
            &events::CONNECTING,
            vec![
                ("queue_id", id.into()),
                ("exchange", target.exchange.as_str().into()),
                ("address", target.addr.to_string().into()),
                ("port", smtp::PORT.into()),
            ],
        );
        match cx.connect(SocketAddrV4::new(target.addr, smtp::PORT), Protocol::Smtp) {
            Ok(conn) => {
                self.outbound.insert(conn, id.to_string());
                self.attempts.insert(
                    id.to_string(),
                    Stage::Connecting {
                        targets,
                        index,
                        conn,
                    },
                );
            }
            Err(_) => self.connect_next(cx, id, targets, index + 1),
        }
    }

    pub(super) fn outbound_connected(&mut self, cx: &mut AppCx<'_>, conn: ConnId) {
        let Some(id) = self.outbound.get(&conn).cloned() else {
            return;
        };
        let Some(Stage::Connecting { targets, index, .. }) = self.attempts.remove(&id) else {
            return;
        };
        let Some(entry) = self.queue.get(&id) else {
            cx.abort(conn);
            self.outbound.remove(&conn);
            return;
        };
        let message = OutgoingMessage {
            reverse_path: entry.sender().to_string(),
            recipients: entry.recipients.clone(),
            data: entry.data.clone(),
        };
        let config = SmtpClientConfig {
            ehlo_name: self.config.hostname.clone(),
            credentials: None,
            // RFC 3207: STARTTLS whenever the peer offers it.
            starttls: self.tls.is_some(),
        };
        let Some(target) = targets.get(index).cloned() else {
            return;
        };
        let deadline = cx.now() + self.config.reply_timeout;
        self.attempts.insert(
            id,
            Stage::Sending {
                target,
                conn,
                client: Box::new(SmtpClient::new(config, vec![message])),
                deadline,
            },
        );
        self.set_timer(cx, self.config.reply_timeout, Timer::Reply(conn));
    }

    /// A connection attempt failed: on to the next address or exchanger.
    pub(super) fn outbound_failed_to_connect(&mut self, cx: &mut AppCx<'_>, id: &str, why: &str) {
        let Some(Stage::Connecting {
            targets,
            index,
            conn,
        }) = self.attempts.remove(id)
        else {
            return;
        };
        self.outbound.remove(&conn);
        if let Some(t) = targets.get(index) {
            cx.emit(
                &events::CONNECT_FAILED,
                vec![
                    ("queue_id", id.into()),
                    ("exchange", t.exchange.as_str().into()),
                    ("address", t.addr.to_string().into()),
                    ("error", why.into()),
                ],
            );
        }
        self.connect_next(cx, id, targets, index + 1);
    }

    pub(super) fn outbound_data(&mut self, cx: &mut AppCx<'_>, conn: ConnId, data: &[u8]) {
        let Some(id) = self.outbound.get(&conn).cloned() else {
            return;
        };
        let data = self
            .tls_conns
            .receive(cx, conn, bytes::Bytes::copy_from_slice(data));
        if let Some(Stage::Sending {
            client, deadline, ..
        }) = self.attempts.get_mut(&id)
        {
            client.handle_input(&data);
            *deadline = cx.now() + self.config.reply_timeout;
        }
        self.pump_client(cx, &id);
    }

    /// Sends the client's commands (the receiving server traces the
    /// dialogue) and settles the attempt when the session is over.
    pub(super) fn pump_client(&mut self, cx: &mut AppCx<'_>, id: &str) {
        let client_tls = self.tls.as_ref().map(|t| t.client.clone());
        let Some(Stage::Sending {
            client,
            conn,
            target,
            ..
        }) = self.attempts.get_mut(id)
        else {
            return;
        };
        let conn = *conn;
        while client.poll_transcript().is_some() {}
        while let Some(bytes) = client.poll_output() {
            self.tls_conns.send(cx, conn, bytes);
        }
        // STARTTLS accepted: TLS under the client, checking that the
        // certificate is the exchange's, signed by the scenario's CA.
        let config = client_tls.map(|c| (c, target.exchange.as_str()));
        if self
            .tls_conns
            .upgrade_client(cx, conn, client.as_mut(), config)
        {
            while let Some(bytes) = client.poll_output() {
                self.tls_conns.send(cx, conn, bytes);
            }
        }
        let _ = self.tls_conns.notes(conn);
        if let Some(why) = self.tls_conns.error(conn) {
            client.handle_close();
            self.tls_conns.remove(conn);
            cx.abort(conn);
            self.settle(cx, id, Some(format!("TLS failed: {why}")));
        } else if client.wants_close() {
            self.tls_conns.close_now(cx, conn);
            self.settle(cx, id, None);
        }
    }

    pub(super) fn outbound_closed(
        &mut self,
        cx: &mut AppCx<'_>,
        conn: ConnId,
        error: Option<&str>,
    ) {
        self.tls_conns.remove(conn);
        let Some(id) = self.outbound.get(&conn).cloned() else {
            return;
        };
        match self.attempts.get_mut(&id) {
            Some(Stage::Connecting { .. }) => {
                let why = error.unwrap_or("connection closed");
                self.outbound_failed_to_connect(cx, &id, why);
            }
            Some(Stage::Sending { client, .. }) => {
                // RFC 5321 §3.8: a lost connection counts as a 451.
                client.handle_close();
                let why = error.unwrap_or("connection closed by the server");
                self.settle(cx, &id, Some(why.to_string()));
            }
            _ => {}
        }
    }

    pub(super) fn check_reply(&mut self, cx: &mut AppCx<'_>, conn: ConnId) {
        let Some(id) = self.outbound.get(&conn).cloned() else {
            return;
        };
        let Some(Stage::Sending {
            client, deadline, ..
        }) = self.attempts.get_mut(&id)
        else {
            return;
        };
        if cx.now() < *deadline {
            let delay = *deadline - cx.now();
            self.set_timer(cx, delay, Timer::Reply(conn));
            return;
        }
        client.handle_close();
        self.tls_conns.remove(conn);
        cx.abort(conn);
        let waited = self.config.reply_timeout.as_nanos() / 1_000_000_000;
        self.settle(cx, &id, Some(format!("no reply for {waited} s")));
    }

    /// The SMTP session of an attempt is over: every recipient was
    /// accepted (delivered), refused for good (bounced) or for now
    /// (deferred). `lost` says why, if the connection broke off.
    pub(super) fn settle(&mut self, cx: &mut AppCx<'_>, id: &str, lost: Option<String>) {
        let Some(Stage::Sending {
            target,
            conn,
            client,
            ..
        }) = self.attempts.remove(id)
        else {
            return;
        };
        self.outbound.remove(&conn);
        let Some(report) = client.reports().first() else {
            return;
        };
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
                        remote_mta: Some(target.exchange.clone()),
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
            cx.emit(
                &events::DELIVERED,
                vec![
                    ("queue_id", id.into()),
                    ("to", delivered.join(",").into()),
                    ("exchange", target.exchange.as_str().into()),
                    ("address", target.addr.to_string().into()),
                    ("reply", reply.into()),
                ],
            );
            if let Some(e) = self.queue.get_mut(id) {
                e.recipients.retain(|r| !delivered.contains(r));
            }
        }
        if !failed.is_empty() {
            self.bounce(cx, id, failed);
        }
        if let Some((_, reply)) = deferred.first() {
            let why = match lost {
                Some(why) => format!(
                    "lost the connection to {} [{}]: {why}",
                    target.exchange, target.addr
                ),
                None => format!(
                    "{} said: {} {}",
                    target.exchange,
                    reply.code,
                    reply.lines.join(" ")
                ),
            };
            if let Some(e) = self.queue.get_mut(id) {
                let keep: Vec<String> = deferred.iter().map(|(a, _)| a.clone()).collect();
                e.recipients.retain(|r| keep.contains(r));
            }
            self.defer(cx, id, why);
        } else {
            self.drop_if_done(id);
        }
    }

    pub(super) fn drop_if_done(&mut self, id: &str) {
        if self.queue.get(id).is_some_and(|e| e.recipients.is_empty()) {
            self.queue.remove(id);
        }
    }

    /// Temporary failure: try again later, or give up if it waited too long.
    pub(super) fn defer(&mut self, cx: &mut AppCx<'_>, id: &str, reason: String) {
        self.attempts.remove(id);
        let now = cx.now();
        let policy = self.config.retry;
        let Some(entry) = self.queue.get_mut(id) else {
            return;
        };
        entry.last_error = Some(reason.clone());
        match policy.next_attempt(entry.queued_at, now, entry.attempts) {
            Some(at) => {
                entry.next_attempt = at;
                let fields = vec![
                    ("queue_id", Value::from(id)),
                    ("to", entry.recipients.join(",").into()),
                    ("reason", reason.into()),
                    ("attempt", entry.attempts.into()),
                    ("retry_in_s", ((at - now).as_nanos() / 1_000_000_000).into()),
                    ("next_attempt_us", at.as_micros().into()),
                ];
                cx.emit(&events::DEFERRED, fields);
                self.set_timer(cx, at - now, Timer::Retry(id.into()));
            }
            None => {
                let waited = (now - entry.queued_at).as_nanos() / 1_000_000_000;
                let diagnostic =
                    format!("delivery time expired after {waited} s; last error: {reason}");
                // RFC 3463 4.4.7: delivery time expired.
                self.bounce_all(cx, id, "4.4.7", None, diagnostic);
            }
        }
    }

    /// Permanent failure of every remaining recipient.
    pub(super) fn bounce_all(
        &mut self,
        cx: &mut AppCx<'_>,
        id: &str,
        status: &str,
        remote_mta: Option<String>,
        diagnostic: String,
    ) {
        self.attempts.remove(id);
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
        self.bounce(cx, id, failed);
        self.drop_if_done(id);
    }

    /// Returns a message to its sender for the `failed` recipients, and
    /// removes them from the entry. A bounce itself is never bounced.
    pub(super) fn bounce(&mut self, cx: &mut AppCx<'_>, id: &str, failed: Vec<FailedRecipient>) {
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
            // RFC 5321 §4.5.5: a message with a null reverse path gets no
            // notification, or bounces could loop forever.
            cx.emit(
                &events::DISCARDED,
                vec![
                    ("queue_id", id.into()),
                    ("to", to.join(",").into()),
                    ("reason", format!("undeliverable bounce: {reason}").into()),
                ],
            );
            return;
        };
        let bounce_id = self.queue.next_id();
        let arrival =
            cx.now_unix() - ((cx.now() - entry.queued_at).as_nanos() / 1_000_000_000) as i64;
        let data = Bounce {
            reporting_mta: &self.config.hostname,
            to: &sender,
            failed: &failed,
            original: &entry.data,
            arrival_unix: arrival,
            now_unix: cx.now_unix(),
            unique: &bounce_id,
        }
        .to_bytes();
        cx.emit(
            &events::BOUNCED,
            vec![
                ("queue_id", id.into()),
                ("to", to.join(",").into()),
                ("status", status.into()),
                ("reason", reason.into()),
                ("notify", sender.as_str().into()),
                ("bounce_id", bounce_id.as_str().into()),
            ],
        );
        let mut notes = Vec::new();
        let mut intake = Intake {
            hostname: &self.config.hostname,
            store: &mut self.store,
            queue: &mut self.queue,
            now: cx.now(),
            notes: &mut notes,
        };
        intake.take(&bounce_id, None, &[sender], data, cx.now_unix());
        self.after_intake(cx, notes);
    }
}

/// The addresses to try, in order: every address of every exchanger.
fn targets(exchanges: &[MailExchange]) -> Vec<Target> {
    exchanges
        .iter()
        .flat_map(|e| {
            e.addresses.iter().map(|&addr| Target {
                exchange: e.host.clone(),
                addr,
            })
        })
        .collect()
}
