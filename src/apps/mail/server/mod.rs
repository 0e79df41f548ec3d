//! The mail server application: SMTP in, a queue, SMTP out, POP3, IMAP.
//!
//! One [`MailServer`] runs on a host and plays every part a mail server
//! plays in the textbook's picture of Internet mail:
//!
//! - **SMTP on port 25** receives mail from other servers for the local
//!   domains and puts it into the users' mailboxes. It is not an open
//!   relay: a recipient in a foreign domain is refused unless the client
//!   authenticated.
//! - **Submission on port 587** (RFC 6409) receives mail from the users'
//!   own user agents after AUTH PLAIN, for any domain.
//! - **The queue**: a message for a foreign domain is queued, the domain's
//!   mail exchanger is looked up in the DNS (MX, then the exchanger's
//!   address, RFC 5321 §5.1), and a new TCP connection to port 25 of the
//!   exchanger carries it with SMTP. A temporary failure (a 4xx reply, a
//!   DNS failure, a peer that does not answer) means trying again later,
//!   with growing intervals ([`RetryPolicy`]); a permanent one (5xx), or a
//!   message that waited too long, means returning it to its sender as a
//!   delivery status notification ([`super::bounce`]). A bounce is sent
//!   with the null reverse path `<>` and is never bounced itself.
//! - **POP3 on port 110** lets users fetch what is in their INBOX.
//! - **IMAP on port 143** lets users work on all their folders where they
//!   are, from several devices at once. Every IMAP session keeps its own
//!   view of its selected folder; whenever a user's mailboxes change (mail
//!   delivered by SMTP, flags stored or messages expunged or copied by
//!   another IMAP session, a POP3 deletion), that user's sessions in IDLE
//!   (RFC 2177) are told at once (`* 3 EXISTS`, `* 1 FETCH (FLAGS
//!   (\Seen))`, `* 2 EXPUNGE`); the others hear of it with the reply to
//!   their next command.
//!
//! RFC 5321 §6.1: once it has answered 250 to a message the server is
//! responsible for it: it delivers it once, or bounces it. The mailboxes
//! ([`MailStore`]) and the queue ([`OutboundQueue`]) are "on disk": a crash
//! of the host (`AppEvent::Crashed`) loses the connections and timers but
//! keeps both, and delivery resumes when the host starts again.
//!
//! Every step is traced for students: the servers' transcripts as dialogue
//! lines (the receiving side reports both directions, so the sending side
//! does not repeat them), and events in layer `smtp` for the mail:
//! `stored` (in a mailbox), `queued`, `delivery_attempt`, `mx_resolved` /
//! `mx_failed`, `connecting`, `connect_failed`, `delivered`, `deferred`,
//! `bounced`, `discarded` (an undeliverable bounce), `queue_kept` (at a
//! crash) and `queue_resumed` (at the restart); in layer `pop3`: `deleted`;
//! in layer `imap`, what sessions changed in the store: `flags`,
//! `expunged` and `appended` (APPEND, COPY, MOVE).
//!
//! The listening side (sessions, local delivery, the queue's intake) is
//! here; the relaying side (attempts, retries, bounces) is in `relay.rs`.
//!
//! Not here: STARTTLS, DSN parameters
//! (NOTIFY, RET), checking that an authenticated user sends only as
//! themselves, several messages per outgoing connection.

mod relay;

use crate::apps::mail::events;
use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};

use super::office::PostOffice;
use super::queue::{OutboundQueue, RetryPolicy};
use super::store::{MailStore, flag_names};
use crate::apps::tls::TlsConns;
use crate::net::{AppCx, AppEvent, Application, ConnId, Inspect, SessionState};
use crate::proto::imap::{self, ImapConfig, ImapServer};
use crate::proto::pop3::{self, Pop3Config, Pop3Server};
use crate::proto::smtp::{self, SmtpConfig, SmtpServer};
use crate::proto::{Session, Transcript, Transition};
use crate::sim::{SimDuration, SimTime};
use crate::trace::{Layer, Protocol};
use relay::Stage;
use std::sync::Arc;

/// How a mail server is set up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailServerConfig {
    /// The server's own name, in its greeting, `Received:` lines and
    /// bounces: `bob-mail.hamburger.edu`.
    pub hostname: String,
    /// The domains it is the final destination for (lower case).
    pub domains: Vec<String>,
    /// The name server it asks for MX and A records.
    pub dns_server: Option<Ipv4Addr>,
    pub retry: RetryPolicy,
    /// RFC 1870 SIZE: the largest message accepted, in octets.
    pub max_message_size: usize,
    /// How long to wait for a DNS answer.
    pub dns_timeout: SimDuration,
    /// RFC 5321 §4.5.3.2.7: a server may drop an SMTP client idle this long.
    pub smtp_idle_timeout: SimDuration,
    /// RFC 1939 §3: a POP3 session idle this long is closed (autologout).
    pub pop3_idle_timeout: SimDuration,
    /// RFC 3501 §5.4: an IMAP session idle this long is logged out; at
    /// least 30 minutes, IDLE included (RFC 2177 §3).
    pub imap_idle_timeout: SimDuration,
    /// RFC 5321 §4.5.3.2: how long the sending side waits for a reply.
    pub reply_timeout: SimDuration,
}

impl MailServerConfig {
    /// Defaults: the retry policy's, 10 MB messages, 5 s DNS timeout,
    /// the RFCs' 5, 10 and 30 minute idle timeouts.
    pub fn new(hostname: &str, domains: &[&str]) -> MailServerConfig {
        MailServerConfig {
            hostname: hostname.to_ascii_lowercase(),
            domains: domains.iter().map(|d| d.to_ascii_lowercase()).collect(),
            dns_server: None,
            retry: RetryPolicy::default(),
            max_message_size: 10 * 1024 * 1024,
            dns_timeout: SimDuration::from_secs(5),
            smtp_idle_timeout: SimDuration::from_secs(5 * 60),
            pop3_idle_timeout: SimDuration::from_secs(10 * 60),
            imap_idle_timeout: SimDuration::from_secs(30 * 60),
            reply_timeout: SimDuration::from_secs(5 * 60),
        }
    }
}

/// A connection someone opened to us.
enum Inbound {
    Smtp(SmtpServer),
    Pop3(Pop3Server),
    Imap(Box<ImapServer>),
}

impl Inbound {
    fn session(&mut self) -> &mut dyn Session {
        match self {
            Inbound::Smtp(s) => s,
            Inbound::Pop3(s) => s,
            Inbound::Imap(s) => s.as_mut(),
        }
    }

    fn layer(&self) -> Layer {
        match self {
            Inbound::Smtp(_) => Layer::Smtp,
            Inbound::Pop3(_) => Layer::Pop3,
            Inbound::Imap(_) => Layer::Imap,
        }
    }

    /// The protocol state for the visualizer.
    fn state(&self) -> (&'static str, &'static [&'static str], &'static [Transition]) {
        match self {
            Inbound::Smtp(s) => (s.state_name(), smtp::STATES, smtp::TRANSITIONS),
            Inbound::Pop3(s) => (s.state_name(), pop3::STATES, pop3::TRANSITIONS),
            Inbound::Imap(s) => (s.state_name(), imap::STATES, imap::TRANSITIONS),
        }
    }
}

struct InboundConn {
    session: Inbound,
    /// Closed for idleness at this time unless something arrives.
    deadline: SimTime,
}

/// What a mail server needs for TLS: its certificate, the CA it trusts as
/// a client, and whether it insists on TLS before a password.
#[derive(Clone)]
pub struct MailTls {
    /// `None`: it does not offer STARTTLS, but its SMTP client still uses
    /// STARTTLS when a peer offers it.
    pub server: Option<Arc<rustls::ServerConfig>>,
    pub client: Arc<rustls::ClientConfig>,
    /// AUTH and LOGIN only after TLS.
    pub require: bool,
}

impl std::fmt::Debug for MailTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MailTls")
            .field("offers", &self.server.is_some())
            .field("require", &self.require)
            .finish()
    }
}

/// A token no timer has.
const NO_TIMER: u64 = u64::MAX;

/// What a timer token is for.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Timer {
    /// A queue entry is due.
    Retry(String),
    /// The name server did not answer in time.
    DnsTimeout(String),
    /// Check an inbound connection for idleness.
    Idle(ConnId),
    /// Check an outbound SMTP session for a missing reply.
    Reply(ConnId),
}

/// The mail server application. See the module documentation.
pub struct MailServer {
    config: MailServerConfig,
    /// Mailboxes and queue ("on disk": they survive a crash) and the rules
    /// for what becomes of mail, shared with the live mode.
    office: PostOffice,
    // In memory: lost in a crash.
    inbound: BTreeMap<ConnId, InboundConn>,
    /// Delivery attempts under way, by queue id.
    attempts: BTreeMap<String, Stage>,
    /// Outbound connection to the queue entry it serves.
    outbound: BTreeMap<ConnId, String>,
    /// UDP port of a DNS lookup to the queue entry it serves.
    lookups: BTreeMap<u16, String>,
    timers: BTreeMap<u64, Timer>,
    next_token: u64,
    tls: Option<MailTls>,
    /// TLS under inbound sessions (after STARTTLS or STLS) and outbound
    /// ones (after our STARTTLS).
    tls_conns: TlsConns,
}

impl MailServer {
    /// Gives the server its TLS set-up (scenarios that ask for TLS).
    pub fn set_tls(&mut self, tls: MailTls) {
        self.tls = Some(tls);
    }

    /// The TLS set-up, if any.
    pub fn tls(&self) -> Option<&MailTls> {
        self.tls.as_ref()
    }

    fn offers_tls(&self) -> bool {
        self.tls.as_ref().is_some_and(|t| t.server.is_some())
    }

    fn requires_tls(&self) -> bool {
        self.tls
            .as_ref()
            .is_some_and(|t| t.server.is_some() && t.require)
    }

    /// A server with an empty store (only the postmaster) and queue. Its
    /// own host name counts as a local domain too (mail to
    /// `postmaster@bob-mail.hamburger.edu` stays here).
    pub fn new(config: MailServerConfig) -> MailServer {
        MailServer {
            office: PostOffice::new(&config.hostname, &config.domains, config.retry),
            config,
            inbound: BTreeMap::new(),
            attempts: BTreeMap::new(),
            outbound: BTreeMap::new(),
            lookups: BTreeMap::new(),
            timers: BTreeMap::new(),
            next_token: 0,
            tls: None,
            tls_conns: TlsConns::default(),
        }
    }

    /// Adds a user (builder style).
    pub fn with_user(mut self, name: &str, password: &str) -> MailServer {
        // A duplicate name keeps the first password.
        let _ = self.office.store.add_user(name, password);
        self
    }

    pub fn config(&self) -> &MailServerConfig {
        &self.config
    }

    /// The mailboxes, for inspection.
    pub fn store(&self) -> &MailStore {
        &self.office.store
    }

    /// The mailboxes, to add users or messages before a run (or for an
    /// IMAP server sharing them).
    pub fn store_mut(&mut self) -> &mut MailStore {
        &mut self.office.store
    }

    /// The mailboxes, the queue and the rules for mail (the live mode
    /// serves a copy).
    pub fn office(&self) -> &PostOffice {
        &self.office
    }

    /// The outbound queue, for inspection.
    pub fn queue(&self) -> &OutboundQueue {
        &self.office.queue
    }

    /// Whether a delivery attempt of this queue entry is under way.
    pub fn is_in_flight(&self, queue_id: &str) -> bool {
        self.attempts.contains_key(queue_id)
    }

    // ---- timers ---------------------------------------------------------

    fn set_timer(&mut self, cx: &mut AppCx<'_>, delay: SimDuration, timer: Timer) -> u64 {
        let token = self.next_token;
        self.next_token += 1;
        self.timers.insert(token, timer);
        cx.set_timer(delay, token);
        token
    }

    /// Cancels the timers whose subject is gone: the idle check of a
    /// closed session, the reply watch of a finished delivery, the DNS
    /// timeout of an answered lookup, the retry of a message no longer
    /// queued. Cancelled timers do not keep the run going.
    fn sweep_timers(&mut self, cx: &mut AppCx<'_>) {
        let moot: Vec<u64> = self
            .timers
            .iter()
            .filter(|(token, t)| match t {
                Timer::Idle(conn) => !self.inbound.contains_key(conn),
                Timer::Reply(conn) => !self.outbound.contains_key(conn),
                Timer::DnsTimeout(id) => !matches!(
                    self.attempts.get(id),
                    Some(relay::Stage::Resolving { timer, .. }) if timer == *token
                ),
                Timer::Retry(id) => self.office.queue.get(id).is_none(),
            })
            .map(|(token, _)| *token)
            .collect();
        for token in moot {
            self.timers.remove(&token);
            cx.cancel_timer(token);
        }
    }

    fn on_timer(&mut self, cx: &mut AppCx<'_>, token: u64) {
        let Some(timer) = self.timers.remove(&token) else {
            return;
        };
        match timer {
            Timer::Retry(id) => {
                let due = self
                    .office
                    .queue
                    .get(&id)
                    .is_some_and(|e| e.next_attempt <= cx.now());
                if due && !self.attempts.contains_key(&id) {
                    self.start_attempt(cx, &id);
                }
            }
            Timer::DnsTimeout(id) => self.on_dns_timeout(cx, &id, token),
            Timer::Idle(conn) => self.check_idle(cx, conn),
            Timer::Reply(conn) => self.check_reply(cx, conn),
        }
    }

    // ---- starting and crashing -----------------------------------------

    fn start(&mut self, cx: &mut AppCx<'_>) {
        let services = [
            (smtp::PORT, Protocol::Smtp),
            (smtp::SUBMISSION_PORT, Protocol::Smtp),
            (pop3::PORT, Protocol::Pop3),
            (imap::PORT, Protocol::Imap),
        ];
        for (port, protocol) in services {
            if let Err(e) = cx.listen(port, protocol) {
                cx.emit(
                    &events::LISTEN_FAILED,
                    vec![("port", port.into()), ("error", e.to_string().into())],
                );
            }
        }
        // After a restart: whatever waited in the queue is due again.
        let due: Vec<(String, SimTime)> = self
            .office
            .queue
            .entries()
            .iter()
            .map(|e| (e.id.clone(), e.next_attempt))
            .collect();
        if !due.is_empty() {
            cx.emit(&events::QUEUE_RESUMED, vec![("messages", due.len().into())]);
        }
        for (id, at) in due {
            let delay = at - cx.now();
            self.set_timer(cx, delay, Timer::Retry(id));
        }
    }

    fn crash(&mut self, cx: &mut AppCx<'_>) {
        self.inbound.clear();
        self.attempts.clear();
        self.outbound.clear();
        self.lookups.clear();
        self.timers.clear();
        self.office.store.unlock_all();
        if !self.office.queue.is_empty() {
            cx.emit(
                &events::QUEUE_KEPT,
                vec![("messages", self.office.queue.len().into())],
            );
        }
    }

    // ---- inbound connections: SMTP and POP3 servers ----------------------

    fn accept(&mut self, cx: &mut AppCx<'_>, conn: ConnId, port: u16) {
        let Some(remote) = cx.connection(conn).map(|c| c.remote()) else {
            return;
        };
        let client = IpAddr::V4(*remote.ip());
        let (session, timeout) = match port {
            smtp::PORT | smtp::SUBMISSION_PORT => {
                let mut config = if port == smtp::SUBMISSION_PORT {
                    SmtpConfig::submission(&self.config.hostname)
                } else {
                    SmtpConfig::new(&self.config.hostname)
                };
                config.max_message_size = self.config.max_message_size;
                config.starttls = self.offers_tls();
                config.require_tls_for_auth = self.requires_tls();
                (
                    Inbound::Smtp(SmtpServer::new(config, client)),
                    self.config.smtp_idle_timeout,
                )
            }
            pop3::PORT => {
                let mut config = Pop3Config::new(&self.config.hostname);
                config.stls = self.offers_tls();
                config.require_tls_for_login = self.requires_tls();
                (
                    Inbound::Pop3(Pop3Server::new(config)),
                    self.config.pop3_idle_timeout,
                )
            }
            imap::PORT => {
                let config = ImapConfig {
                    hostname: self.config.hostname.clone(),
                    // An APPENDed message may be as large as one by SMTP.
                    max_literal: self.config.max_message_size,
                    starttls: self.offers_tls(),
                    require_tls_for_login: self.requires_tls(),
                    ..ImapConfig::default()
                };
                (
                    Inbound::Imap(Box::new(ImapServer::new(config))),
                    self.config.imap_idle_timeout,
                )
            }
            _ => {
                cx.abort(conn);
                return;
            }
        };
        self.inbound.insert(
            conn,
            InboundConn {
                session,
                deadline: cx.now() + timeout,
            },
        );
        self.set_timer(cx, timeout, Timer::Idle(conn));
        self.flush_inbound(cx, conn);
    }

    fn inbound_data(&mut self, cx: &mut AppCx<'_>, conn: ConnId, data: &[u8]) {
        // Under TLS the session sees the plaintext; the handshake's own
        // answers go out at once.
        let data = self
            .tls_conns
            .receive(cx, conn, bytes::Bytes::copy_from_slice(data));
        if let Some(layer) = self.inbound.get(&conn).map(|c| c.session.layer()) {
            for note in self.tls_conns.notes(conn) {
                cx.trace_dialogue(layer, conn, Transcript::Data(note));
            }
        }
        let data = &data[..];
        let now = cx.now();
        let now_unix = cx.now_unix();
        let MailServer {
            config,
            office,
            inbound,
            ..
        } = self;
        let Some(c) = inbound.get_mut(&conn) else {
            return;
        };
        match &mut c.session {
            Inbound::Smtp(server) => {
                c.deadline = now + config.smtp_idle_timeout;
                let mut intake = office.intake(now);
                server.handle_input(data, &mut intake, now_unix);
            }
            Inbound::Pop3(server) => {
                c.deadline = now + config.pop3_idle_timeout;
                server.handle_input(data, &mut office.store);
            }
            Inbound::Imap(server) => {
                c.deadline = now + config.imap_idle_timeout;
                server.handle_input(data, &mut office.store, now_unix);
            }
        }
        let layer = c.session.layer();
        self.flush_inbound(cx, conn);
        self.trace_store_changes(cx, layer);
        self.after_intake(cx);
    }

    /// Sends what the session has to say, traces its transcript, and closes
    /// the connection when the session is over.
    fn flush_inbound(&mut self, cx: &mut AppCx<'_>, conn: ConnId) {
        let Some(c) = self.inbound.get_mut(&conn) else {
            return;
        };
        let layer = c.session.layer();
        let session = c.session.session();
        crate::apps::pump::trace_dialogue(cx, layer, conn, session);
        self.tls_conns.send_output(cx, conn, session);
        // STARTTLS / STLS: the go-ahead went out in the clear; TLS now.
        let config = self.tls.as_ref().and_then(|t| t.server.clone());
        self.tls_conns.upgrade_server(cx, conn, session, config);
        for note in self.tls_conns.notes(conn) {
            cx.trace_dialogue(layer, conn, Transcript::Data(note));
        }
        if self.tls_conns.failed(conn) {
            cx.close(conn);
            self.end_inbound(conn);
        } else if session.wants_close() {
            // close_notify first under TLS.
            self.tls_conns.close_now(cx, conn);
            self.end_inbound(conn);
        }
    }

    /// Forgets an inbound session; a POP3 session gives its lock back
    /// without deleting anything (RFC 1939 §6: only QUIT deletes).
    fn end_inbound(&mut self, conn: ConnId) {
        self.tls_conns.remove(conn);
        if let Some(mut c) = self.inbound.remove(&conn) {
            match &mut c.session {
                Inbound::Smtp(s) => s.handle_close(),
                Inbound::Pop3(s) => s.handle_close_with(&mut self.office.store),
                Inbound::Imap(s) => s.handle_close(),
            }
        }
    }

    fn check_idle(&mut self, cx: &mut AppCx<'_>, conn: ConnId) {
        let Some(c) = self.inbound.get(&conn) else {
            return;
        };
        if cx.now() < c.deadline {
            let delay = c.deadline - cx.now();
            self.set_timer(cx, delay, Timer::Idle(conn));
            return;
        }
        let layer = c.session.layer();
        let text = match layer {
            Layer::Smtp => format!("421 4.4.2 {} Error: timeout exceeded", self.config.hostname),
            // RFC 3501 §7.1.5: the example of an autologout.
            Layer::Imap => "* BYE Autologout; idle for too long".to_string(),
            _ => "-ERR autologout: idle too long".to_string(),
        };
        let code = (layer == Layer::Smtp).then_some(421);
        cx.trace_dialogue(
            layer,
            conn,
            Transcript::Reply {
                code,
                text: text.clone(),
            },
        );
        self.tls_conns.send(cx, conn, format!("{text}\r\n"));
        self.tls_conns.close_now(cx, conn);
        self.end_inbound(conn);
    }

    /// Traces what a POP3 or IMAP session (`layer`) changed in the
    /// mailboxes. What SMTP stored is traced by [`after_intake`](Self::after_intake).
    fn trace_store_changes(&mut self, cx: &mut AppCx<'_>, layer: Layer) {
        match layer {
            Layer::Pop3 => self.trace_pop3_changes(cx),
            Layer::Imap => self.trace_imap_changes(cx),
            _ => {}
        }
    }

    /// Traces what POP3 sessions removed from mailboxes.
    fn trace_pop3_changes(&mut self, cx: &mut AppCx<'_>) {
        for change in self.office.store.take_changes() {
            if let super::store::StoreChange::Expunged { user, folder, uids } = change {
                let uids: Vec<String> = uids.iter().map(u32::to_string).collect();
                cx.emit(
                    &events::POP3_DELETED,
                    vec![
                        ("user", user.into()),
                        ("mailbox", folder.into()),
                        ("uids", uids.join(",").into()),
                    ],
                );
            }
        }
    }

    /// Traces what an IMAP session changed: flags, expunged messages,
    /// messages appended or copied into a folder.
    fn trace_imap_changes(&mut self, cx: &mut AppCx<'_>) {
        use super::store::StoreChange;
        for change in self.office.store.take_changes() {
            match change {
                StoreChange::Flags {
                    user,
                    folder,
                    uid,
                    flags,
                } => cx.emit(
                    &events::IMAP_FLAGS,
                    vec![
                        ("user", user.into()),
                        ("mailbox", folder.into()),
                        ("uid", uid.into()),
                        ("flags", flag_names(&flags).into()),
                    ],
                ),
                StoreChange::Expunged { user, folder, uids } => {
                    let uids: Vec<String> = uids.iter().map(u32::to_string).collect();
                    cx.emit(
                        &events::EXPUNGED,
                        vec![
                            ("user", user.into()),
                            ("mailbox", folder.into()),
                            ("uids", uids.join(",").into()),
                        ],
                    );
                }
                StoreChange::Appended { user, folder, uid } => {
                    let subject = self
                        .office
                        .store
                        .folder(&user, &folder)
                        .and_then(|f| f.get(uid))
                        .map(|m| m.subject())
                        .unwrap_or_default();
                    cx.emit(
                        &events::APPENDED,
                        vec![
                            ("user", user.into()),
                            ("mailbox", folder.into()),
                            ("uid", uid.into()),
                            ("subject", subject.into()),
                        ],
                    );
                }
            }
        }
    }

    /// RFC 2177: a session in IDLE hears of changes as they happen. Tells
    /// the idling IMAP sessions of every user whose mailboxes changed
    /// (by SMTP, POP3 or another IMAP session) and sends what they say.
    fn notify_idlers(&mut self, cx: &mut AppCx<'_>) {
        let touched = self.office.store.take_touched();
        if touched.is_empty() {
            return;
        }
        let idlers: Vec<ConnId> = self
            .inbound
            .iter()
            .filter_map(|(&conn, c)| match &c.session {
                Inbound::Imap(s) if s.is_idling() => {
                    let user = s.user().and_then(|u| self.office.store.resolve_login(u))?;
                    touched.contains(&user).then_some(conn)
                }
                _ => None,
            })
            .collect();
        for conn in idlers {
            if let Some(InboundConn {
                session: Inbound::Imap(s),
                ..
            }) = self.inbound.get_mut(&conn)
            {
                s.handle_mailbox_changed(&mut self.office.store);
            }
            self.flush_inbound(cx, conn);
        }
    }

    /// The users' folders and messages, for the host inspector.
    fn inspect_mailboxes(&self) -> Inspect {
        let users: Vec<Inspect> = self
            .office
            .store
            .users()
            // The built-in postmaster is shown only when it has mail.
            .filter(|u| u.name() != super::store::POSTMASTER || u.folders().any(|f| !f.is_empty()))
            .map(|u| {
                let folders = u
                    .folders()
                    .map(|f| {
                        let messages = f
                            .messages()
                            .iter()
                            .map(|m| {
                                let flags = if m.flags.is_empty() {
                                    "(unread)".to_string()
                                } else {
                                    flag_names(&m.flags)
                                };
                                Inspect::leaf(format!("UID {} {flags}: {}", m.uid, m.subject()))
                            })
                            .collect();
                        Inspect::node(
                            format!("{} ({} messages, {} unseen)", f.name(), f.len(), f.unseen()),
                            messages,
                        )
                    })
                    .collect();
                Inspect::node(u.name(), folders)
            })
            .collect();
        Inspect::node("Mailboxes", users)
    }

    /// The outbound queue with the next retry times, for the inspector.
    fn inspect_queue(&self) -> Inspect {
        let entries = self
            .office
            .queue
            .entries()
            .iter()
            .map(|e| {
                let state = if self.attempts.contains_key(&e.id) {
                    "delivering now".to_string()
                } else {
                    format!("next try at {}", e.next_attempt)
                };
                let error = e
                    .last_error
                    .as_ref()
                    .map(|r| format!(", last error: {r}"))
                    .unwrap_or_default();
                Inspect::leaf(format!(
                    "{}: to {}, {} attempts, {state}{error}",
                    e.id,
                    e.recipients.join(", "),
                    e.attempts
                ))
            })
            .collect();
        Inspect::node(format!("Queue ({})", self.office.queue.len()), entries)
    }

    /// Traces what the post office did and starts delivering what it
    /// queued, and arms the retry of what it deferred.
    fn after_intake(&mut self, cx: &mut AppCx<'_>) {
        for note in self.office.take_notes() {
            let (kind, fields) = note.event();
            cx.emit(kind, fields);
            if let Some(id) = note.queued() {
                self.start_attempt(cx, id);
            } else if let Some((id, at)) = note.retry() {
                let delay = at - cx.now();
                self.set_timer(cx, delay, Timer::Retry(id.to_string()));
            }
        }
        // Appends were traced as `stored` already.
        self.office.store.take_changes();
    }
}

impl Application for MailServer {
    fn kind(&self) -> &'static str {
        "mail server"
    }

    fn handle_event(&mut self, cx: &mut AppCx<'_>, event: AppEvent) {
        match event {
            AppEvent::Start => self.start(cx),
            AppEvent::Crashed => self.crash(cx),
            AppEvent::Accepted { conn, port } => self.accept(cx, conn, port),
            AppEvent::Connected { conn } => self.outbound_connected(cx, conn),
            AppEvent::Data { conn, data } => {
                if self.inbound.contains_key(&conn) {
                    self.inbound_data(cx, conn, &data);
                } else {
                    self.outbound_data(cx, conn, &data);
                }
            }
            AppEvent::PeerClosed { conn } => {
                if self.inbound.contains_key(&conn) {
                    cx.close(conn);
                    self.end_inbound(conn);
                } else if self.outbound.contains_key(&conn) {
                    cx.close(conn);
                    self.outbound_closed(cx, conn, None);
                }
            }
            AppEvent::Closed { conn, error } => {
                if self.inbound.contains_key(&conn) {
                    self.end_inbound(conn);
                } else {
                    self.outbound_closed(cx, conn, error.map(|e| e.name()));
                }
            }
            AppEvent::Datagram { port, data, .. } => self.dns_datagram(cx, port, &data),
            AppEvent::Timer { token } => self.on_timer(cx, token),
            AppEvent::Writable { .. } | AppEvent::Sniffed { .. } | AppEvent::RawPacket { .. } => {}
        }
        self.notify_idlers(cx);
        self.sweep_timers(cx);
    }

    fn inspect(&self) -> Option<Inspect> {
        Some(Inspect::node(
            self.config.hostname.clone(),
            vec![self.inspect_mailboxes(), self.inspect_queue()],
        ))
    }

    fn sessions(&self) -> Vec<SessionState> {
        let mut out: Vec<SessionState> = self
            .inbound
            .iter()
            .map(|(&conn, c)| {
                let (state, states, transitions) = c.session.state();
                SessionState {
                    conn,
                    layer: c.session.layer().name(),
                    role: "server",
                    state,
                    states,
                    transitions,
                }
            })
            .collect();
        for stage in self.attempts.values() {
            if let relay::Stage::Sending { conn, client, .. } = stage {
                out.push(SessionState {
                    conn: *conn,
                    layer: Layer::Smtp.name(),
                    role: "client",
                    state: client.state_name(),
                    states: smtp::CLIENT_STATES,
                    transitions: smtp::CLIENT_TRANSITIONS,
                });
            }
        }
        out.sort_by_key(|s| s.conn);
        out
    }
}
