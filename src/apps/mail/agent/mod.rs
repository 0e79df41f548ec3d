//! The user agent: the mail program on a user's computer.
//!
//! A [`UserAgent`] has one or more accounts (an address, a login and
//! password, and the mail server that holds the mailbox). It does the
//! things the textbook's user agent does:
//!
//! - [`UserAgent::send`] composes an RFC 5322 message (Date, From, To, Cc,
//!   Subject, Message-ID, body) and submits it to the account's server on
//!   port 587 with AUTH PLAIN (RFC 6409). The server queues it and relays
//!   it; the user agent is done once the server answered 250.
//! - [`UserAgent::fetch_pop3`] logs in to the server's POP3 port and
//!   downloads the messages, either deleting them on the server (the
//!   classic way) or leaving them there and remembering their unique ids
//!   so that the next fetch skips them.
//! - [`UserAgent::fetch_imap`] opens an IMAP session (port 143) and works
//!   on the mailbox where it is, following the user's steps
//!   ([`ImapAction`]): select a folder, search for unseen mail, read it
//!   (which sets `\Seen` on the server), flag it, move it to another
//!   folder, delete it, wait in IDLE for news. The messages stay on the
//!   server, so several devices of one user (several hosts, each with its
//!   own user agent and the same account) see the same mailbox; what one
//!   changes, the others are told (`update` events).
//!
//! What it fetched it keeps, and traces as a reader would see it: one
//! `header` event per header field (the `Received:` lines first, one per
//! server the message passed) and one `body_line` event per body line.
//! The dialogues themselves are traced by the servers, which see both
//! directions; the user agent does not repeat them.
//!
//! Events in layer `app`: `compose`, `submitted` / `submit_failed`,
//! `check_mail` (with the protocol), `fetched` (with `header` and
//! `body_line`), `fetch_done` / `fetch_failed`, and for IMAP `flags` (a
//! STORE's new flags), `moved`, `copied`, `deleted`, `step_failed` (a
//! step the server refused or that found nothing to work on) and `update`
//! (an EXISTS, EXPUNGE or FETCH FLAGS the server sent about what another
//! session or a delivery changed).
//!
//! Not here: drafts, replying, attachments, finding the server with DNS
//! (the account names the server host, like a configured mail program
//! does), an offline copy of IMAP folders beyond what was fetched,
//! renewing a long IDLE every 29 minutes (RFC 2177 §3): an `Idle` step
//! longer than the server's 30 minute autologout ends the session.
//!
//! The pieces: this file is the application (the accounts, what it sent
//! and fetched, the connections and their TLS, how a fetched message is
//! shown, the inspector); `submit` composes and submits; `pop3_fetch`
//! downloads with POP3; `imap_session` is the IMAP session and its steps.

mod imap_session;
mod pop3_fetch;
mod submit;

pub use imap_session::{ImapAction, RemoteMessage, SeenUpdate, UpdateKind};

use super::events;
use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddrV4;

use crate::apps::tls::TlsConns;
use crate::net::{AppCx, AppEvent, Application, ConnId, Inspect, SessionState};
use crate::proto::Session;
use crate::proto::imap;
use crate::proto::pop3::{self, Pop3Client};
use crate::proto::smtp::message::{Headers, body};
use crate::proto::smtp::{self, SmtpClient};
use crate::sim::SimTime;
use crate::trace::{Layer, Protocol};
use imap_session::ImapJob;
use std::sync::Arc;
use submit::submission_result;

/// Body lines traced per fetched message before the rest is summarized.
pub const TRACED_BODY_LINES: usize = 50;

/// A mail account as a user agent is configured with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailAccount {
    /// The user's address: `alice@crepes.fr`.
    pub address: String,
    /// The login name for AUTH and POP3 (usually the local part).
    pub login: String,
    pub password: String,
    /// The host name of the mail server that holds the mailbox.
    pub server: String,
    /// Where to submit (587, RFC 6409).
    pub submission_port: u16,
    /// Where to fetch with POP3 (110).
    pub pop3_port: u16,
    /// Where to work with IMAP (143).
    pub imap_port: u16,
}

impl MailAccount {
    /// An account with the usual ports and the local part as login.
    pub fn new(address: &str, password: &str, server: &str) -> MailAccount {
        let login = address.split('@').next().unwrap_or(address).to_string();
        MailAccount {
            address: address.to_string(),
            login,
            password: password.to_string(),
            server: server.to_string(),
            submission_port: smtp::SUBMISSION_PORT,
            pop3_port: pop3::PORT,
            imap_port: imap::PORT,
        }
    }
}

/// What became of a message the user sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendStatus {
    /// Being submitted.
    Sending,
    /// The server took it (its 250 reply).
    Submitted(String),
    /// The server refused it, or could not be reached.
    Failed(String),
}

/// A message the user sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentMessage {
    pub from: String,
    /// Every envelope recipient (To and Cc).
    pub recipients: Vec<String>,
    pub subject: String,
    /// The message as submitted.
    pub data: Vec<u8>,
    pub status: SendStatus,
}

/// A message the user agent fetched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchedMessage {
    /// The account it was fetched for.
    pub account: String,
    /// The server's unique id for it, if known: the POP3 UIDL, or for
    /// IMAP the folder and UID as an IMAP URL writes them (`INBOX;UID=3`,
    /// RFC 5092).
    pub uid: Option<String>,
    /// The message, lines ending in CRLF.
    pub data: Vec<u8>,
    pub fetched_at: SimTime,
}

impl FetchedMessage {
    pub fn headers(&self) -> Headers {
        Headers::parse(&self.data)
    }

    pub fn subject(&self) -> String {
        self.headers()
            .get("Subject")
            .unwrap_or_default()
            .to_string()
    }

    pub fn from(&self) -> String {
        self.headers().get("From").unwrap_or_default().to_string()
    }

    /// The `Received:` fields, newest (the last server's) first.
    pub fn received(&self) -> Vec<String> {
        self.headers()
            .get_all("Received")
            .map(str::to_string)
            .collect()
    }
}

/// Why the user agent could not start something.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AgentError {
    #[error("no account {0:?} in this user agent")]
    NoSuchAccount(String),
    #[error("the mail server {0:?} has no address")]
    UnknownServer(String),
    #[error("cannot connect: {0}")]
    Socket(String),
    #[error("a message needs at least one recipient")]
    NoRecipients,
}

/// A connection the user agent has open.
enum Job {
    Submit {
        client: SmtpClient,
        /// Index into `sent`.
        message: usize,
    },
    Fetch {
        client: Pop3Client,
        account: String,
    },
    Imap(Box<ImapJob>),
}

/// The user agent application. See the module documentation.
pub struct UserAgent {
    accounts: Vec<MailAccount>,
    jobs: BTreeMap<ConnId, Job>,
    sent: Vec<SentMessage>,
    fetched: Vec<FetchedMessage>,
    /// Unique ids already downloaded, per account (leave-on-server mode).
    seen: BTreeMap<String, BTreeSet<String>>,
    /// Numbers Message-IDs.
    composed: u64,
    /// IMAP: the messages on the servers as this device knows them, by
    /// account, folder and UID.
    remote: BTreeMap<(String, String, u32), RemoteMessage>,
    /// IMAP: the updates the servers sent about others' changes.
    updates: Vec<SeenUpdate>,
    /// Timers (the end of an IDLE) by token, with the connection.
    timers: BTreeMap<u64, ConnId>,
    next_token: u64,
    /// The scenario's CA, when it has one: the agent then says STARTTLS
    /// (SMTP, IMAP) or STLS (POP3) whenever the server offers it.
    tls_client: Option<Arc<rustls::ClientConfig>>,
    /// TLS under a connection, after STARTTLS or STLS.
    tls: TlsConns,
    servers: BTreeMap<ConnId, String>,
}

impl UserAgent {
    pub fn new(accounts: Vec<MailAccount>) -> UserAgent {
        UserAgent {
            accounts,
            jobs: BTreeMap::new(),
            sent: Vec::new(),
            fetched: Vec::new(),
            seen: BTreeMap::new(),
            composed: 0,
            remote: BTreeMap::new(),
            updates: Vec::new(),
            timers: BTreeMap::new(),
            next_token: 0,
            tls_client: None,
            tls: TlsConns::default(),
            servers: BTreeMap::new(),
        }
    }

    /// Lets the agent use TLS, trusting the CA of `config`.
    pub fn set_tls_client(&mut self, config: Arc<rustls::ClientConfig>) {
        self.tls_client = Some(config);
    }

    pub fn accounts(&self) -> &[MailAccount] {
        &self.accounts
    }

    /// The account with this address (case-insensitive).
    pub fn account(&self, address: &str) -> Option<&MailAccount> {
        self.accounts
            .iter()
            .find(|a| a.address.eq_ignore_ascii_case(address))
    }

    /// Messages sent, in order, with what became of them.
    pub fn sent(&self) -> &[SentMessage] {
        &self.sent
    }

    /// Messages fetched, in the order they arrived.
    pub fn fetched(&self) -> &[FetchedMessage] {
        &self.fetched
    }

    /// The fetched messages whose Subject contains `text`.
    pub fn fetched_with_subject(&self, text: &str) -> usize {
        self.fetched
            .iter()
            .filter(|m| m.subject().contains(text))
            .count()
    }

    /// IMAP: the messages on the servers as this device knows them, by
    /// account, folder and UID.
    pub fn remote_messages(&self) -> &BTreeMap<(String, String, u32), RemoteMessage> {
        &self.remote
    }

    /// IMAP: the updates the servers sent about changes made elsewhere, in
    /// the order they arrived.
    pub fn updates(&self) -> &[SeenUpdate] {
        &self.updates
    }

    /// A copy of the account with this address, or why there is none.
    fn owned_account(&self, address: &str) -> Result<MailAccount, AgentError> {
        self.account(address)
            .cloned()
            .ok_or_else(|| AgentError::NoSuchAccount(address.to_string()))
    }

    /// Sends what the job's machine has to say, and finishes the job when
    /// its session is over.
    fn pump(&mut self, cx: &mut AppCx<'_>, conn: ConnId) {
        if matches!(self.jobs.get(&conn), Some(Job::Imap(_))) {
            self.pump_imap(cx, conn);
            return;
        }
        let Some(job) = self.jobs.get_mut(&conn) else {
            return;
        };
        let session: &mut dyn Session = match job {
            Job::Submit { client, .. } => client,
            Job::Fetch { client, .. } => client,
            Job::Imap(job) => &mut job.client,
        };
        // The servers trace the dialogues, both directions.
        crate::apps::pump::skip_dialogue(session);
        let done = write_session(
            cx,
            conn,
            session,
            &mut self.tls,
            self.tls_client.as_ref(),
            self.servers.get(&conn),
        );
        if done {
            cx.close(conn);
            self.finish(cx, conn);
        }
    }

    fn finish(&mut self, cx: &mut AppCx<'_>, conn: ConnId) {
        self.tls.remove(conn);
        self.servers.remove(&conn);
        match self.jobs.remove(&conn) {
            Some(Job::Submit { client, message }) => {
                let result = submission_result(&client);
                self.submission_over(cx, message, result);
            }
            Some(Job::Fetch {
                mut client,
                account,
            }) => self.fetch_over(cx, &account, &mut client, None),
            Some(Job::Imap(job)) => self.imap_over(cx, *job, None),
            None => {}
        }
    }

    /// The connection ended; `error` says why if it failed (refused,
    /// reset, timed out).
    fn closed(&mut self, cx: &mut AppCx<'_>, conn: ConnId, error: Option<&str>) {
        self.tls.remove(conn);
        self.servers.remove(&conn);
        match self.jobs.remove(&conn) {
            Some(Job::Submit {
                mut client,
                message,
            }) => {
                client.handle_close();
                // A 250 that arrived before the connection failed stands.
                let result = match (submission_result(&client), error) {
                    (Err(_), Some(e)) => Err(e.to_string()),
                    (result, _) => result,
                };
                self.submission_over(cx, message, result);
            }
            Some(Job::Fetch {
                mut client,
                account,
            }) => {
                client.handle_close();
                self.fetch_over(cx, &account, &mut client, error);
            }
            Some(Job::Imap(mut job)) => {
                job.client.handle_close();
                self.imap_events(cx, conn, &mut job);
                self.imap_over(cx, *job, error);
            }
            None => {}
        }
    }
}

/// Sends what `session` has to say (through TLS once it is up), puts TLS
/// under it when the server said yes to STARTTLS or STLS, and tells
/// whether the session is over (or its TLS failed).
fn write_session(
    cx: &mut AppCx<'_>,
    conn: ConnId,
    session: &mut dyn Session,
    tls: &mut TlsConns,
    config: Option<&Arc<rustls::ClientConfig>>,
    server: Option<&String>,
) -> bool {
    tls.send_output(cx, conn, session);
    let config = config.cloned().zip(server.map(String::as_str));
    if tls.upgrade_client(cx, conn, session, config) {
        tls.send_output(cx, conn, session);
    }
    let _ = tls.notes(conn);
    if session.wants_close() && tls.has(conn) && !tls.failed(conn) {
        // close_notify goes out before the caller's FIN.
        tls.close_notify(cx, conn);
    }
    session.wants_close() || tls.failed(conn)
}

/// Opens a connection to `port` of the account's mail server.
fn connect(
    cx: &mut AppCx<'_>,
    account: &MailAccount,
    port: u16,
    protocol: Protocol,
) -> Result<ConnId, AgentError> {
    let ip = cx
        .host_address(&account.server)
        .ok_or_else(|| AgentError::UnknownServer(account.server.clone()))?;
    cx.connect(SocketAddrV4::new(ip, port), protocol)
        .map_err(|e| AgentError::Socket(e.to_string()))
}

fn fetch_failed(cx: &mut AppCx<'_>, account: &str, error: &str) {
    cx.emit(
        &events::FETCH_FAILED,
        vec![("account", account.into()), ("error", error.into())],
    );
}

/// Traces a fetched message as the user agent shows it: a summary, every
/// header field, the first lines of the body.
fn show(cx: &mut AppCx<'_>, m: &FetchedMessage) {
    let headers = m.headers();
    cx.emit(
        &events::FETCHED,
        vec![
            ("account", m.account.as_str().into()),
            ("uid", m.uid.clone().unwrap_or_default().into()),
            ("from", m.from().into()),
            ("subject", m.subject().into()),
            ("size", m.data.len().into()),
            ("hops", headers.get_all("Received").count().into()),
        ],
    );
    show_content(cx, m, &headers);
}

/// The header fields and the first body lines of a fetched message.
fn show_content(cx: &mut AppCx<'_>, m: &FetchedMessage, headers: &Headers) {
    for (name, value) in headers.fields() {
        cx.emit(
            &events::HEADER,
            vec![
                ("name", name.as_str().into()),
                ("value", value.as_str().into()),
            ],
        );
    }
    let lines: Vec<&[u8]> = pop3::lines(body(&m.data)).collect();
    for line in lines.iter().take(TRACED_BODY_LINES) {
        cx.emit(
            &events::BODY_LINE,
            vec![("line", String::from_utf8_lossy(line).into_owned().into())],
        );
    }
    if lines.len() > TRACED_BODY_LINES {
        let more = lines.len() - TRACED_BODY_LINES;
        cx.emit(
            &events::BODY_LINE,
            vec![("line", format!("(... {more} more lines)").into())],
        );
    }
}

impl Application for UserAgent {
    fn kind(&self) -> &'static str {
        "mail user agent"
    }

    fn inspect(&self) -> Option<Inspect> {
        let accounts: Vec<&str> = self.accounts.iter().map(|a| a.address.as_str()).collect();
        let sent = self
            .sent
            .iter()
            .map(|m| {
                let status = match &m.status {
                    SendStatus::Sending => "sending".to_string(),
                    SendStatus::Submitted(reply) => format!("submitted ({reply})"),
                    SendStatus::Failed(why) => format!("failed: {why}"),
                };
                Inspect::leaf(format!(
                    "to {}: {:?}, {status}",
                    m.recipients.join(", "),
                    m.subject
                ))
            })
            .collect();
        let fetched = self
            .fetched
            .iter()
            .map(|m| {
                Inspect::leaf(format!(
                    "{:?} from {} ({})",
                    m.subject(),
                    m.from(),
                    m.account
                ))
            })
            .collect();
        let mut children = vec![
            Inspect::node(format!("Sent ({})", self.sent.len()), sent),
            Inspect::node(format!("Fetched ({})", self.fetched.len()), fetched),
        ];
        if !self.remote.is_empty() {
            let remote = self
                .remote
                .iter()
                .map(|((account, folder, uid), m)| {
                    let flags = if m.flags.is_empty() {
                        "(unread)".to_string()
                    } else {
                        super::store::flag_names(&m.flags)
                    };
                    Inspect::leaf(format!(
                        "{account} {folder} UID {uid} {flags}: {}{}",
                        m.subject.as_deref().unwrap_or("(not fetched)"),
                        if m.expunged { " (expunged)" } else { "" }
                    ))
                })
                .collect();
            children.push(Inspect::node("On the server (IMAP)", remote));
        }
        if !self.updates.is_empty() {
            let updates = self
                .updates
                .iter()
                .map(|u| {
                    Inspect::leaf(format!(
                        "{}: {} {} in {}{}",
                        u.at,
                        u.kind.name(),
                        u.seq,
                        u.folder,
                        u.subject
                            .as_ref()
                            .map(|s| format!(" ({s:?})"))
                            .unwrap_or_default()
                    ))
                })
                .collect();
            children.push(Inspect::node(
                format!("Updates from the server ({})", self.updates.len()),
                updates,
            ));
        }
        Some(Inspect::node(
            format!("User agent: {}", accounts.join(", ")),
            children,
        ))
    }

    fn sessions(&self) -> Vec<SessionState> {
        self.jobs
            .iter()
            .map(|(&conn, job)| {
                let (layer, state, states, transitions) = match job {
                    Job::Submit { client, .. } => (
                        Layer::Smtp,
                        client.state_name(),
                        smtp::CLIENT_STATES,
                        smtp::CLIENT_TRANSITIONS,
                    ),
                    Job::Fetch { client, .. } => (
                        Layer::Pop3,
                        client.state_name(),
                        pop3::CLIENT_STATES,
                        pop3::CLIENT_TRANSITIONS,
                    ),
                    Job::Imap(job) => (
                        Layer::Imap,
                        job.client.state_name(),
                        imap::CLIENT_STATES,
                        imap::CLIENT_TRANSITIONS,
                    ),
                };
                SessionState {
                    conn,
                    layer: layer.name(),
                    role: "client",
                    state,
                    states,
                    transitions,
                }
            })
            .collect()
    }

    fn handle_event(&mut self, cx: &mut AppCx<'_>, event: AppEvent) {
        match event {
            AppEvent::Data { conn, data } => {
                // Under TLS the machines see the plaintext.
                let data = self.tls.receive(cx, conn, data);
                match self.jobs.get_mut(&conn) {
                    Some(Job::Submit { client, .. }) => client.handle_input(&data),
                    Some(Job::Fetch { client, .. }) => client.handle_input(&data),
                    Some(Job::Imap(job)) => job.client.handle_input(&data),
                    None => return,
                }
                self.pump(cx, conn);
            }
            AppEvent::Timer { token } => self.on_timer(cx, token),
            AppEvent::PeerClosed { conn } => {
                cx.close(conn);
                self.closed(cx, conn, None);
            }
            AppEvent::Closed { conn, error } => self.closed(cx, conn, error.map(|e| e.name())),
            AppEvent::Crashed => {
                // Open sessions and timers are gone; what was fetched is on
                // disk.
                self.timers.clear();
                for job in std::mem::take(&mut self.jobs).into_values() {
                    if let Job::Submit { message, .. } = job
                        && let Some(m) = self.sent.get_mut(message)
                    {
                        m.status = SendStatus::Failed("host crashed".into());
                    }
                }
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_account_logs_in_with_its_local_part_on_the_usual_ports() {
        let a = MailAccount::new("alice@crepes.fr", "secret", "mail.crepes.fr");
        assert_eq!(a.login, "alice");
        assert_eq!(
            (a.submission_port, a.pop3_port, a.imap_port),
            (587, 110, 143)
        );
    }

    #[test]
    fn a_fetched_message_shows_its_header_fields_newest_received_first() {
        let m = FetchedMessage {
            account: "bob@hamburger.edu".into(),
            uid: None,
            data: b"Received: from mail.crepes.fr by mail.hamburger.edu\r\n\
                    Received: from alice-pc by mail.crepes.fr\r\n\
                    From: alice@crepes.fr\r\n\
                    Subject: lunch\r\n\
                    \r\n\
                    noon?\r\n"
                .to_vec(),
            fetched_at: SimTime::ZERO,
        };
        assert_eq!(m.subject(), "lunch");
        assert_eq!(m.from(), "alice@crepes.fr");
        assert_eq!(
            m.received(),
            [
                "from mail.crepes.fr by mail.hamburger.edu",
                "from alice-pc by mail.crepes.fr"
            ]
        );
    }
}
