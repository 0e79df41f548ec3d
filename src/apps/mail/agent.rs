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

use super::events;
use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddrV4;

use super::store::Flag;
use crate::apps::tls::TlsConns;
use crate::net::{AppCx, AppEvent, Application, ConnId, Inspect, SessionState};
use crate::proto::Session;
use crate::proto::imap::{
    self, ClientEvent, ImapClient, ImapStep, ImapUpdate, StepStatus, StoreOp, Which,
};
use crate::proto::pop3::{self, Pop3Client, Pop3ClientConfig, RetrievalMode};
use crate::proto::smtp::message::{Headers, NewMessage, addr_spec, body, message_id};
use crate::proto::smtp::{
    self, Credentials, MessageOutcome, OutgoingMessage, SessionOutcome, SmtpClient,
    SmtpClientConfig,
};
use crate::sim::{SimDuration, SimTime};
use crate::trace::{Layer, Protocol, Value};
use std::sync::Arc;

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

/// One step of an IMAP session, as the user of a mail program takes it.
///
/// Steps that name a subject work on every message of the selected folder
/// whose Subject contains the text: the user agent finds them with
/// `UID SEARCH SUBJECT` (which becomes the last search), then acts on the
/// UIDs found. A step that finds nothing is skipped (`step_failed`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImapAction {
    /// `LOGIN` with the account's login and password. A session starts
    /// with it even when it is not written.
    Login,
    /// `LIST "" "*"`: which folders there are.
    List,
    /// `CREATE folder`
    Create(String),
    /// `SELECT folder`: the folder the next steps work on.
    Select(String),
    /// `UID SEARCH ALL`
    SearchAll,
    /// `UID SEARCH UNSEEN`: the messages not read yet.
    SearchUnseen,
    /// Reads what the last search found (`UID FETCH ... BODY[]`, which
    /// sets `\Seen` on the server).
    ReadFound,
    /// Reads every message of the folder.
    ReadAll,
    /// Downloads every message without marking it read
    /// (`BODY.PEEK[]`), as a phone does to list the mailbox.
    PeekAll,
    /// Reads the messages with this subject.
    Read { subject: String },
    /// Sets (`set: true`) or clears a flag of the messages with this
    /// subject (`UID STORE +FLAGS` / `-FLAGS`).
    Flag {
        subject: String,
        flag: Flag,
        set: bool,
    },
    /// Copies the messages with this subject to another folder.
    Copy { subject: String, to: String },
    /// Moves them: `UID COPY`, `UID STORE +FLAGS (\Deleted)`, `EXPUNGE`.
    Move { subject: String, to: String },
    /// Deletes them: `UID STORE +FLAGS (\Deleted)`, then `EXPUNGE`.
    Delete { subject: String },
    /// `EXPUNGE`: removes every message flagged `\Deleted`.
    Expunge,
    /// `NOOP`: lets the server report what changed.
    Noop,
    /// `IDLE` (RFC 2177) for this long, then `DONE`: the server reports
    /// changes as they happen.
    Idle(SimDuration),
    /// `LOGOUT`. A session ends with it even when it is not written.
    Logout,
}

impl ImapAction {
    /// The step's name, as a scenario writes it.
    pub fn name(&self) -> &'static str {
        match self {
            ImapAction::Login => "Login",
            ImapAction::List => "List",
            ImapAction::Create(_) => "Create",
            ImapAction::Select(_) => "Select",
            ImapAction::SearchAll => "SearchAll",
            ImapAction::SearchUnseen => "SearchUnseen",
            ImapAction::ReadFound => "ReadFound",
            ImapAction::ReadAll => "ReadAll",
            ImapAction::PeekAll => "PeekAll",
            ImapAction::Read { .. } => "Read",
            ImapAction::Flag { set: true, .. } => "Flag",
            ImapAction::Flag { set: false, .. } => "Unflag",
            ImapAction::Copy { .. } => "Copy",
            ImapAction::Move { .. } => "Move",
            ImapAction::Delete { .. } => "Delete",
            ImapAction::Expunge => "Expunge",
            ImapAction::Noop => "Noop",
            ImapAction::Idle(_) => "Idle",
            ImapAction::Logout => "Logout",
        }
    }

    /// The subject the step looks for, if it names one.
    pub fn subject(&self) -> Option<&str> {
        match self {
            ImapAction::Read { subject }
            | ImapAction::Flag { subject, .. }
            | ImapAction::Copy { subject, .. }
            | ImapAction::Move { subject, .. }
            | ImapAction::Delete { subject } => Some(subject),
            _ => None,
        }
    }

    /// Does the step read messages (and so fetch their content)?
    fn reads(&self) -> bool {
        matches!(
            self,
            ImapAction::ReadFound
                | ImapAction::ReadAll
                | ImapAction::PeekAll
                | ImapAction::Read { .. }
        )
    }

    /// Does the step expunge messages itself?
    fn expunges(&self) -> bool {
        matches!(
            self,
            ImapAction::Move { .. } | ImapAction::Delete { .. } | ImapAction::Expunge
        )
    }

    /// The client steps that carry the step out.
    fn client_steps(&self, account: &MailAccount) -> Vec<ImapStep> {
        let found = Which::LastSearch;
        let search = |subject: &str| ImapStep::SearchSubject(subject.to_string());
        let read = |which: Which, peek: bool| ImapStep::Fetch { which, peek };
        match self {
            ImapAction::Login => vec![ImapStep::Login {
                user: account.login.clone(),
                password: account.password.clone(),
            }],
            ImapAction::List => vec![ImapStep::List],
            ImapAction::Create(f) => vec![ImapStep::Create(f.clone())],
            ImapAction::Select(f) => vec![ImapStep::Select(f.clone())],
            ImapAction::SearchAll => vec![ImapStep::SearchAll],
            ImapAction::SearchUnseen => vec![ImapStep::SearchUnseen],
            ImapAction::ReadFound => vec![read(found, false)],
            ImapAction::ReadAll => vec![read(Which::All, false)],
            ImapAction::PeekAll => vec![read(Which::All, true)],
            ImapAction::Read { subject } => vec![search(subject), read(found, false)],
            ImapAction::Flag { subject, flag, set } => vec![
                search(subject),
                ImapStep::Store {
                    which: found,
                    op: if *set { StoreOp::Add } else { StoreOp::Remove },
                    flags: vec![flag.to_imap()],
                },
            ],
            ImapAction::Copy { subject, to } => vec![
                search(subject),
                ImapStep::Copy {
                    which: found,
                    to: to.clone(),
                },
            ],
            ImapAction::Move { subject, to } => vec![
                search(subject),
                ImapStep::Move {
                    which: found,
                    to: to.clone(),
                },
            ],
            ImapAction::Delete { subject } => vec![
                search(subject),
                ImapStep::Store {
                    which: found,
                    op: StoreOp::Add,
                    flags: vec![imap::Flag::Deleted],
                },
                ImapStep::Expunge,
            ],
            ImapAction::Expunge => vec![ImapStep::Expunge],
            ImapAction::Noop => vec![ImapStep::Noop],
            ImapAction::Idle(_) => vec![ImapStep::Idle],
            ImapAction::Logout => vec![ImapStep::Logout],
        }
    }
}

/// A message on a server as an IMAP device knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteMessage {
    /// The Subject, once the message was read or peeked at.
    pub subject: Option<String>,
    /// The flags as last reported by the server.
    pub flags: BTreeSet<Flag>,
    /// The server reported it expunged (deleted or moved away).
    pub expunged: bool,
}

/// What kind of news an IMAP server sent (RFC 3501 §7.3, §7.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum UpdateKind {
    /// `* n EXISTS`: new mail.
    Exists,
    /// `* n EXPUNGE`: a message is gone.
    Expunge,
    /// `* n FETCH (FLAGS ...)`: a message's flags changed.
    Flags,
}

impl UpdateKind {
    /// The name in traces and scenarios: `exists`, `expunge`, `flags`.
    pub fn name(self) -> &'static str {
        match self {
            UpdateKind::Exists => "exists",
            UpdateKind::Expunge => "expunge",
            UpdateKind::Flags => "flags",
        }
    }

    /// The kind called `name` (as [`name`](Self::name) gives it).
    pub fn from_name(name: &str) -> Option<UpdateKind> {
        [UpdateKind::Exists, UpdateKind::Expunge, UpdateKind::Flags]
            .into_iter()
            .find(|k| k.name() == name)
    }
}

/// An update an IMAP device received about something another session,
/// or a delivery, changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeenUpdate {
    pub account: String,
    /// The folder the session had selected.
    pub folder: String,
    pub at: SimTime,
    pub kind: UpdateKind,
    /// The message number; for EXISTS the number of messages.
    pub seq: u32,
    /// The message's UID, when the device knew it.
    pub uid: Option<u32>,
    /// The new flags (FETCH FLAGS only).
    pub flags: BTreeSet<Flag>,
    /// The message's Subject, when the device knew it.
    pub subject: Option<String>,
}

/// An IMAP session under way.
struct ImapJob {
    client: ImapClient,
    account: String,
    actions: Vec<ImapAction>,
    /// The action each of the client's steps belongs to.
    owner: Vec<usize>,
    /// The client step whose outcome comes next.
    current: usize,
    /// Actions already reported as failed.
    failed: BTreeSet<usize>,
    /// Why LOGIN failed, if it did.
    login_failed: Option<String>,
    /// The session ended before its steps did.
    cut_short: bool,
    /// Messages read (or peeked at).
    read: usize,
    /// The pending end of an IDLE.
    idle_timer: Option<u64>,
}

impl ImapJob {
    /// The action in progress (the next whose outcome is due).
    fn action(&self) -> Option<&ImapAction> {
        self.owner.get(self.current).map(|&a| &self.actions[a])
    }

    fn folder(&self) -> String {
        self.client
            .selected_folder()
            .unwrap_or_default()
            .to_string()
    }
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

    /// Composes a message from the account `from` and submits it to that
    /// account's server. Returns its index in [`sent`](Self::sent).
    pub fn send(
        &mut self,
        cx: &mut AppCx<'_>,
        from: &str,
        to: &[String],
        cc: &[String],
        subject: &str,
        text: &str,
    ) -> Result<usize, AgentError> {
        let account = self.owned_account(from)?;
        if to.is_empty() && cc.is_empty() {
            return Err(AgentError::NoRecipients);
        }
        self.composed += 1;
        let domain = account.address.rsplit('@').next().unwrap_or_default();
        let unique = format!(
            "{}.{}.{}",
            cx.now().as_micros(),
            self.composed,
            cx.host_name()
        );
        let message = NewMessage {
            from: account.address.clone(),
            to: to.to_vec(),
            cc: cc.to_vec(),
            subject: subject.to_string(),
            date_unix: cx.now_unix(),
            message_id: message_id(&unique, domain),
            body: text.to_string(),
        };
        let data = message.to_bytes();
        let recipients: Vec<String> = to
            .iter()
            .chain(cc)
            .map(|a| addr_spec(a).to_string())
            .collect();
        cx.emit(
            &events::COMPOSE,
            vec![
                ("from", account.address.as_str().into()),
                ("to", recipients.join(",").into()),
                ("subject", subject.into()),
                ("server", account.server.as_str().into()),
            ],
        );
        let index = self.sent.len();
        self.sent.push(SentMessage {
            from: account.address.clone(),
            recipients: recipients.clone(),
            subject: subject.to_string(),
            data: data.clone(),
            status: SendStatus::Sending,
        });
        let conn = match connect(cx, &account, account.submission_port, Protocol::Smtp) {
            Ok(conn) => conn,
            Err(e) => {
                self.submission_over(cx, index, Err(e.to_string()));
                return Err(e);
            }
        };
        self.servers.insert(conn, account.server.clone());
        let config = SmtpClientConfig {
            ehlo_name: cx.host_name().to_string(),
            credentials: Some(Credentials {
                username: account.login.clone(),
                password: account.password.clone(),
            }),
            starttls: self.tls_client.is_some(),
        };
        let outgoing = OutgoingMessage {
            reverse_path: addr_spec(&account.address).to_string(),
            recipients,
            data,
        };
        self.jobs.insert(
            conn,
            Job::Submit {
                client: SmtpClient::new(config, vec![outgoing]),
                message: index,
            },
        );
        Ok(index)
    }

    /// Fetches the account's mail with POP3; with `delete` the server
    /// removes what was downloaded, otherwise only new messages are
    /// downloaded and everything stays on the server.
    pub fn fetch_pop3(
        &mut self,
        cx: &mut AppCx<'_>,
        account: &str,
        delete: bool,
    ) -> Result<(), AgentError> {
        let account = self.owned_account(account)?;
        let mode = if delete {
            RetrievalMode::DownloadAndDelete
        } else {
            let seen = self.seen.get(&account.address).cloned().unwrap_or_default();
            RetrievalMode::LeaveOnServer { seen }
        };
        cx.emit(
            &events::CHECK_MAIL,
            vec![
                ("account", account.address.as_str().into()),
                ("protocol", "POP3".into()),
                (
                    "mode",
                    if delete {
                        "download-and-delete"
                    } else {
                        "leave-on-server"
                    }
                    .into(),
                ),
                ("server", account.server.as_str().into()),
            ],
        );
        let conn = match connect(cx, &account, account.pop3_port, Protocol::Pop3) {
            Ok(conn) => conn,
            Err(e) => {
                fetch_failed(cx, &account.address, &e.to_string());
                return Err(e);
            }
        };
        let config = Pop3ClientConfig {
            user: account.login.clone(),
            password: account.password.clone(),
            mode,
            stls: self.tls_client.is_some(),
        };
        self.servers.insert(conn, account.server.clone());
        self.jobs.insert(
            conn,
            Job::Fetch {
                client: Pop3Client::new(config),
                account: account.address.clone(),
            },
        );
        Ok(())
    }

    /// Works on the account's mailbox with IMAP, following `actions`. A
    /// session always starts with [`ImapAction::Login`] and ends with
    /// [`ImapAction::Logout`]; they are added when missing.
    pub fn fetch_imap(
        &mut self,
        cx: &mut AppCx<'_>,
        account: &str,
        actions: Vec<ImapAction>,
    ) -> Result<(), AgentError> {
        let account = self.owned_account(account)?;
        let mut actions = actions;
        if actions.first() != Some(&ImapAction::Login) {
            actions.insert(0, ImapAction::Login);
        }
        if actions.last() != Some(&ImapAction::Logout) {
            actions.push(ImapAction::Logout);
        }
        let mut steps = Vec::new();
        let mut owner = Vec::new();
        for (i, action) in actions.iter().enumerate() {
            for step in action.client_steps(&account) {
                steps.push(step);
                owner.push(i);
            }
        }
        cx.emit(
            &events::CHECK_MAIL,
            vec![
                ("account", account.address.as_str().into()),
                ("protocol", "IMAP".into()),
                // The mail stays on the server; the device works there.
                ("mode", "on-server".into()),
                ("server", account.server.as_str().into()),
            ],
        );
        let conn = match connect(cx, &account, account.imap_port, Protocol::Imap) {
            Ok(conn) => conn,
            Err(e) => {
                fetch_failed(cx, &account.address, &e.to_string());
                return Err(e);
            }
        };
        let client = if self.tls_client.is_some() {
            ImapClient::new(steps).with_starttls()
        } else {
            ImapClient::new(steps)
        };
        self.servers.insert(conn, account.server.clone());
        let job = ImapJob {
            client,
            account: account.address.clone(),
            actions,
            owner,
            current: 0,
            failed: BTreeSet::new(),
            login_failed: None,
            cut_short: false,
            read: 0,
            idle_timer: None,
        };
        self.jobs.insert(conn, Job::Imap(Box::new(job)));
        Ok(())
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
        while session.poll_transcript().is_some() {}
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

    fn submission_over(
        &mut self,
        cx: &mut AppCx<'_>,
        index: usize,
        result: Result<String, String>,
    ) {
        let Some(m) = self.sent.get_mut(index) else {
            return;
        };
        let mut fields = vec![
            ("from", Value::from(m.from.as_str())),
            ("to", m.recipients.join(",").into()),
            ("subject", m.subject.as_str().into()),
        ];
        let event = match result {
            Ok(reply) => {
                fields.push(("reply", reply.as_str().into()));
                m.status = SendStatus::Submitted(reply);
                &events::SUBMITTED
            }
            Err(error) => {
                fields.push(("error", error.as_str().into()));
                m.status = SendStatus::Failed(error);
                &events::SUBMIT_FAILED
            }
        };
        cx.emit(event, fields);
    }

    /// Keeps and shows what a POP3 session fetched; `error` overrides the
    /// session's own account of a failure.
    fn fetch_over(
        &mut self,
        cx: &mut AppCx<'_>,
        account: &str,
        client: &mut Pop3Client,
        error: Option<&str>,
    ) {
        let messages = client.take_messages();
        let count = messages.len();
        for m in messages {
            if let Some(uid) = &m.uid {
                self.seen
                    .entry(account.to_string())
                    .or_default()
                    .insert(uid.clone());
            }
            let fetched = FetchedMessage {
                account: account.to_string(),
                uid: m.uid,
                data: m.data,
                fetched_at: cx.now(),
            };
            show(cx, &fetched);
            self.fetched.push(fetched);
        }
        let error = error
            .map(str::to_string)
            .or_else(|| client.error().map(ToString::to_string));
        match error {
            Some(e) => fetch_failed(cx, account, &e),
            None => cx.emit(
                &events::FETCH_DONE,
                vec![("account", account.into()), ("messages", count.into())],
            ),
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

    // ---- IMAP -----------------------------------------------------------

    /// [`pump`](Self::pump) for an IMAP session: also turns what the
    /// client learned into trace events and state.
    fn pump_imap(&mut self, cx: &mut AppCx<'_>, conn: ConnId) {
        let Some(Job::Imap(mut job)) = self.jobs.remove(&conn) else {
            return;
        };
        self.imap_events(cx, conn, &mut job);
        // The servers trace the dialogues, both directions.
        while job.client.poll_transcript().is_some() {}
        let done = write_session(
            cx,
            conn,
            &mut job.client,
            &mut self.tls,
            self.tls_client.as_ref(),
            self.servers.get(&conn),
        );
        if done {
            cx.close(conn);
            self.tls.remove(conn);
            self.servers.remove(&conn);
            self.imap_over(cx, *job, None);
        } else {
            self.jobs.insert(conn, Job::Imap(job));
        }
    }

    fn imap_events(&mut self, cx: &mut AppCx<'_>, conn: ConnId, job: &mut ImapJob) {
        while let Some(event) = job.client.poll_event() {
            match event {
                ClientEvent::Greeting(_) | ClientEvent::Finished => {}
                ClientEvent::IdleStarted => self.idle_started(cx, conn, job),
                ClientEvent::Update(update) => self.imap_update(cx, job, update),
                ClientEvent::Fetched { folder, uid, .. } => {
                    self.imap_fetched(cx, job, &folder, uid)
                }
                ClientEvent::StepDone(outcome) => self.imap_step_done(cx, job, &outcome),
            }
        }
    }

    /// The server said `+ idling`: DONE goes out when the step's time is up.
    fn idle_started(&mut self, cx: &mut AppCx<'_>, conn: ConnId, job: &mut ImapJob) {
        let Some(&ImapAction::Idle(duration)) = job.action() else {
            return;
        };
        let token = self.next_token;
        self.next_token += 1;
        self.timers.insert(token, conn);
        job.idle_timer = Some(token);
        cx.set_timer(duration, token);
    }

    fn on_timer(&mut self, cx: &mut AppCx<'_>, token: u64) {
        let Some(conn) = self.timers.remove(&token) else {
            return;
        };
        if let Some(Job::Imap(job)) = self.jobs.get_mut(&conn)
            && job.idle_timer == Some(token)
        {
            job.idle_timer = None;
            job.client.stop_idle();
        }
        self.pump(cx, conn);
    }

    /// The server told the device about a change: keeps it and traces it,
    /// unless the device caused it itself (the EXPUNGEs of its own MOVE).
    fn imap_update(&mut self, cx: &mut AppCx<'_>, job: &mut ImapJob, update: ImapUpdate) {
        let folder = job.folder();
        let own_expunge = job.action().is_some_and(ImapAction::expunges);
        let key = |uid: u32| (job.account.clone(), folder.clone(), uid);
        let (kind, seq, uid, flags) = match update {
            ImapUpdate::Exists(n) => (UpdateKind::Exists, n, None, BTreeSet::new()),
            ImapUpdate::Recent(_) => return,
            ImapUpdate::Expunge { seq, uid } => {
                if let Some(m) = uid.and_then(|u| self.remote.get_mut(&key(u))) {
                    m.expunged = true;
                }
                if own_expunge {
                    return;
                }
                (UpdateKind::Expunge, seq, uid, BTreeSet::new())
            }
            ImapUpdate::Flags { seq, uid, flags } => {
                let flags: BTreeSet<Flag> = flags.iter().map(Flag::from_imap).collect();
                if let Some(m) = uid.and_then(|u| self.remote.get_mut(&key(u))) {
                    m.flags = flags.clone();
                }
                (UpdateKind::Flags, seq, uid, flags)
            }
        };
        let subject = uid
            .and_then(|u| self.remote.get(&key(u)))
            .and_then(|m| m.subject.clone());
        let mut fields = vec![
            ("account", Value::from(job.account.as_str())),
            ("folder", folder.as_str().into()),
            ("kind", kind.name().into()),
        ];
        match kind {
            UpdateKind::Exists => fields.push(("messages", seq.into())),
            _ => fields.push(("seq", seq.into())),
        }
        if let Some(u) = uid {
            fields.push(("uid", u.into()));
        }
        if kind == UpdateKind::Flags {
            fields.push(("flags", super::store::flag_names(&flags).into()));
        }
        if let Some(s) = &subject {
            fields.push(("subject", s.as_str().into()));
        }
        cx.emit(&events::UPDATE, fields);
        self.updates.push(SeenUpdate {
            account: job.account.clone(),
            folder,
            at: cx.now(),
            kind,
            seq,
            uid,
            flags,
            subject,
        });
    }

    /// A FETCH answer (to a read, or to a STORE) for one message.
    fn imap_fetched(&mut self, cx: &mut AppCx<'_>, job: &mut ImapJob, folder: &str, uid: u32) {
        let Some(m) = job.client.message(folder, uid) else {
            return;
        };
        let flags: BTreeSet<Flag> = m.flags.iter().map(Flag::from_imap).collect();
        let subject = m.body.as_ref().map(|b| {
            Headers::parse(b)
                .get("Subject")
                .unwrap_or_default()
                .to_string()
        });
        let entry = self
            .remote
            .entry((job.account.clone(), folder.to_string(), uid))
            .or_insert(RemoteMessage {
                subject: None,
                flags: BTreeSet::new(),
                expunged: false,
            });
        entry.flags = flags.clone();
        if subject.is_some() {
            entry.subject = subject;
        }
        let subject = entry.subject.clone().unwrap_or_default();
        match job.action() {
            Some(a) if a.reads() => {
                let Some(body) = m.body.clone() else {
                    return;
                };
                job.read += 1;
                let fetched = FetchedMessage {
                    account: job.account.clone(),
                    uid: Some(format!("{folder};UID={uid}")),
                    data: body,
                    fetched_at: cx.now(),
                };
                show_imap(cx, &fetched, folder, uid, &flags);
                // Reading a message again does not make it two messages.
                match self
                    .fetched
                    .iter_mut()
                    .find(|f| f.account == fetched.account && f.uid == fetched.uid)
                {
                    Some(old) => *old = fetched,
                    None => self.fetched.push(fetched),
                }
            }
            Some(ImapAction::Flag { .. }) => cx.emit(
                &events::APP_FLAGS,
                vec![
                    ("account", job.account.as_str().into()),
                    ("folder", folder.into()),
                    ("uid", uid.into()),
                    ("subject", subject.into()),
                    ("flags", super::store::flag_names(&flags).into()),
                ],
            ),
            _ => {}
        }
    }

    /// A client step ended: reports failures, and what a finished move,
    /// copy or deletion did.
    fn imap_step_done(
        &mut self,
        cx: &mut AppCx<'_>,
        job: &mut ImapJob,
        outcome: &imap::StepOutcome,
    ) {
        job.current = outcome.index + 1;
        let Some(&a) = job.owner.get(outcome.index) else {
            return;
        };
        let action = job.actions[a].clone();
        if outcome.status != StepStatus::Ok {
            if action == ImapAction::Login {
                job.login_failed = Some(outcome.text.clone());
            }
            if outcome.text == "connection closed" {
                job.cut_short = true;
                return;
            }
            if job.login_failed.is_some() || !job.failed.insert(a) {
                return;
            }
            let reason = match (outcome.status, action.subject()) {
                (StepStatus::Skipped, Some(subject)) => {
                    format!("no message with a Subject containing {subject:?}")
                }
                _ => outcome.text.clone(),
            };
            let status = match outcome.status {
                StepStatus::Ok => "OK",
                StepStatus::No => "NO",
                StepStatus::Bad => "BAD",
                StepStatus::Skipped => "skipped",
            };
            cx.emit(
                &events::STEP_FAILED,
                vec![
                    ("account", job.account.as_str().into()),
                    ("step", action.name().into()),
                    ("status", status.into()),
                    ("reason", reason.into()),
                ],
            );
            return;
        }
        let last_of_action = job.owner.get(outcome.index + 1) != Some(&a);
        if !last_of_action || job.failed.contains(&a) {
            return;
        }
        let uids: Vec<String> = job
            .client
            .search_results()
            .iter()
            .map(u32::to_string)
            .collect();
        let folder = job.folder();
        let account = job.account.as_str();
        match &action {
            ImapAction::Move { subject, to } | ImapAction::Copy { subject, to } => cx.emit(
                if matches!(action, ImapAction::Move { .. }) {
                    &events::MOVED
                } else {
                    &events::COPIED
                },
                vec![
                    ("account", account.into()),
                    ("from", folder.into()),
                    ("to", to.as_str().into()),
                    ("uids", uids.join(",").into()),
                    ("subject", subject.as_str().into()),
                ],
            ),
            ImapAction::Delete { subject } => cx.emit(
                &events::APP_DELETED,
                vec![
                    ("account", account.into()),
                    ("folder", folder.into()),
                    ("uids", uids.join(",").into()),
                    ("subject", subject.as_str().into()),
                ],
            ),
            _ => {}
        }
    }

    /// The IMAP session is over: `fetch_done`, or `fetch_failed` with
    /// why (`error` is the connection's own failure).
    fn imap_over(&mut self, cx: &mut AppCx<'_>, job: ImapJob, error: Option<&str>) {
        if let Some(token) = job.idle_timer {
            self.timers.remove(&token);
            cx.cancel_timer(token);
        }
        let error = error
            .map(str::to_string)
            .or_else(|| job.login_failed.map(|t| format!("login failed: {t}")))
            .or_else(|| {
                job.cut_short
                    .then(|| "the connection closed before LOGOUT".to_string())
            });
        match error {
            Some(e) => fetch_failed(cx, &job.account, &e),
            None => cx.emit(
                &events::FETCH_DONE,
                vec![
                    ("account", job.account.as_str().into()),
                    ("messages", job.read.into()),
                ],
            ),
        }
    }
}

/// What the submission session came to: the 250 reply, or why not.
fn submission_result(client: &SmtpClient) -> Result<String, String> {
    let Some(report) = client.reports().first() else {
        return Err("nothing was sent".into());
    };
    let reply = |r: &smtp::Reply| format!("{} {}", r.code, r.lines.join(" "));
    match report.outcome() {
        MessageOutcome::Delivered | MessageOutcome::PartiallyDelivered => {
            Ok(report.final_reply.as_ref().map(reply).unwrap_or_default())
        }
        _ => {
            let refusal = report.recipients.iter().find_map(|r| match &r.status {
                smtp::RecipientStatus::PermFailed(x) | smtp::RecipientStatus::TempFailed(x) => {
                    Some(reply(x))
                }
                _ => None,
            });
            match (refusal, client.outcome()) {
                (Some(r), _) => Err(r),
                (None, SessionOutcome::Failed(r)) => Err(reply(r)),
                (None, _) => Err("the server did not accept the message".into()),
            }
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
    while let Some(bytes) = session.poll_output() {
        tls.send(cx, conn, bytes);
    }
    let config = config.cloned().zip(server.map(String::as_str));
    if tls.upgrade_client(cx, conn, session, config) {
        while let Some(bytes) = session.poll_output() {
            tls.send(cx, conn, bytes);
        }
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

/// [`show`] for a message read with IMAP: with its folder, UID and flags.
fn show_imap(
    cx: &mut AppCx<'_>,
    m: &FetchedMessage,
    folder: &str,
    uid: u32,
    flags: &BTreeSet<Flag>,
) {
    let headers = m.headers();
    cx.emit(
        &events::FETCHED,
        vec![
            ("account", m.account.as_str().into()),
            ("folder", folder.into()),
            ("uid", uid.into()),
            ("flags", super::store::flag_names(flags).into()),
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
