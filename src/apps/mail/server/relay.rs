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

use super::{MailServer, NO_TIMER, Timer};
use crate::apps::mail::office::At;
use crate::net::{AppCx, ConnId};
use crate::proto::Session;
use crate::proto::dns::{MailExchange, MxResolver, ResolveError};
use crate::proto::smtp::{self, SmtpClient, SmtpClientConfig};
use crate::sim::SimTime;
use crate::trace::Protocol;

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
        let Some(entry) = self.office.queue.get(id) else {
            return;
        };
        let (domain, to) = (entry.domain.clone(), entry.recipients.join(","));
        let Some((attempt, _)) = self.office.begin_attempt(id) else {
            return;
        };
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
            .office
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
        let Some(entry) = self.office.queue.get(&id) else {
            cx.abort(conn);
            self.outbound.remove(&conn);
            return;
        };
        let message = entry.message();
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
        crate::apps::pump::skip_dialogue(client.as_mut());
        self.tls_conns.send_output(cx, conn, client.as_mut());
        // STARTTLS accepted: TLS under the client, checking that the
        // certificate is the exchange's, signed by the scenario's CA.
        let config = client_tls.map(|c| (c, target.exchange.as_str()));
        if self
            .tls_conns
            .upgrade_client(cx, conn, client.as_mut(), config)
        {
            self.tls_conns.send_output(cx, conn, client.as_mut());
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

    /// The SMTP session of an attempt is over: the post office settles
    /// each recipient (delivered, bounced, deferred). `lost` says why, if
    /// the connection broke off.
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
        let at = at(cx);
        self.office.settle(
            id,
            report,
            &target.exchange,
            &target.addr.to_string(),
            lost,
            at,
        );
        self.after_intake(cx);
    }

    /// Temporary failure: try again later, or give up if it waited too long.
    pub(super) fn defer(&mut self, cx: &mut AppCx<'_>, id: &str, reason: String) {
        self.attempts.remove(id);
        self.office.defer(id, reason, at(cx));
        self.after_intake(cx);
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
        self.office
            .bounce_all(id, status, remote_mta, diagnostic, at(cx));
        self.after_intake(cx);
    }
}

/// The moment for the post office.
fn at(cx: &AppCx<'_>) -> At {
    At {
        now: cx.now(),
        unix: cx.now_unix(),
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
