//! The user agent: the mail program on a user's computer.
//!
//! A [`UserAgent`] has one or more accounts (an address, a login and
//! password, and the mail server that holds the mailbox). It does the two
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
//!
//! What it fetched it keeps, and traces as a reader would see it: one
//! `header` event per header field (the `Received:` lines first, one per
//! server the message passed) and one `body_line` event per body line.
//! The dialogues themselves are traced by the servers, which see both
//! directions; the user agent does not repeat them.
//!
//! Not here: IMAP (planned), drafts, replying, attachments, finding the
//! server with DNS (the account names the server host, like a configured
//! mail program does).

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddrV4;

use crate::net::{AppCx, AppEvent, Application, ConnId};
use crate::proto::Session;
use crate::proto::pop3::{self, Pop3Client, Pop3ClientConfig, RetrievalMode};
use crate::proto::smtp::message::{Headers, NewMessage, addr_spec, body, message_id};
use crate::proto::smtp::{
    self, Credentials, MessageOutcome, OutgoingMessage, SessionOutcome, SmtpClient,
    SmtpClientConfig,
};
use crate::sim::SimTime;
use crate::trace::{Layer, Value};

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
    /// The server's unique id for it (POP3 UIDL), if known.
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
        }
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

    fn server_addr(
        &self,
        cx: &AppCx<'_>,
        account: &MailAccount,
        port: u16,
    ) -> Result<SocketAddrV4, AgentError> {
        cx.host_address(&account.server)
            .map(|ip| SocketAddrV4::new(ip, port))
            .ok_or_else(|| AgentError::UnknownServer(account.server.clone()))
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
        let account = self
            .account(from)
            .cloned()
            .ok_or_else(|| AgentError::NoSuchAccount(from.to_string()))?;
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
            Layer::App,
            "compose",
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
        let opened = self
            .server_addr(cx, &account, account.submission_port)
            .and_then(|addr| {
                cx.connect(addr)
                    .map_err(|e| AgentError::Socket(e.to_string()))
            });
        let conn = match opened {
            Ok(conn) => conn,
            Err(e) => {
                self.submission_over(cx, index, Err(e.to_string()));
                return Err(e);
            }
        };
        let config = SmtpClientConfig {
            ehlo_name: cx.host_name().to_string(),
            credentials: Some(Credentials {
                username: account.login.clone(),
                password: account.password.clone(),
            }),
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
        let account = self
            .account(account)
            .cloned()
            .ok_or_else(|| AgentError::NoSuchAccount(account.to_string()))?;
        let mode = if delete {
            RetrievalMode::DownloadAndDelete
        } else {
            let seen = self.seen.get(&account.address).cloned().unwrap_or_default();
            RetrievalMode::LeaveOnServer { seen }
        };
        cx.emit(
            Layer::App,
            "check_mail",
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
        let opened = self
            .server_addr(cx, &account, account.pop3_port)
            .and_then(|addr| {
                cx.connect(addr)
                    .map_err(|e| AgentError::Socket(e.to_string()))
            });
        let conn = match opened {
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
        };
        self.jobs.insert(
            conn,
            Job::Fetch {
                client: Pop3Client::new(config),
                account: account.address.clone(),
            },
        );
        Ok(())
    }

    /// Sends what the job's machine has to say, and finishes the job when
    /// its session is over.
    fn pump(&mut self, cx: &mut AppCx<'_>, conn: ConnId) {
        let Some(job) = self.jobs.get_mut(&conn) else {
            return;
        };
        let session: &mut dyn Session = match job {
            Job::Submit { client, .. } => client,
            Job::Fetch { client, .. } => client,
        };
        // The servers trace the dialogues, both directions.
        while session.poll_transcript().is_some() {}
        while let Some(bytes) = session.poll_output() {
            cx.send(conn, bytes);
        }
        if session.wants_close() {
            cx.close(conn);
            self.finish(cx, conn);
        }
    }

    fn finish(&mut self, cx: &mut AppCx<'_>, conn: ConnId) {
        match self.jobs.remove(&conn) {
            Some(Job::Submit { client, message }) => {
                let result = submission_result(&client);
                self.submission_over(cx, message, result);
            }
            Some(Job::Fetch {
                mut client,
                account,
            }) => self.fetch_over(cx, &account, &mut client, None),
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
                "submitted"
            }
            Err(error) => {
                fields.push(("error", error.as_str().into()));
                m.status = SendStatus::Failed(error);
                "submit_failed"
            }
        };
        cx.emit(Layer::App, event, fields);
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
                Layer::App,
                "fetch_done",
                vec![("account", account.into()), ("messages", count.into())],
            ),
        }
    }

    /// The connection ended; `error` says why if it failed (refused,
    /// reset, timed out).
    fn closed(&mut self, cx: &mut AppCx<'_>, conn: ConnId, error: Option<&str>) {
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
            None => {}
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

fn fetch_failed(cx: &mut AppCx<'_>, account: &str, error: &str) {
    cx.emit(
        Layer::App,
        "fetch_failed",
        vec![("account", account.into()), ("error", error.into())],
    );
}

/// Traces a fetched message as the user agent shows it: a summary, every
/// header field, the first lines of the body.
fn show(cx: &mut AppCx<'_>, m: &FetchedMessage) {
    let headers = m.headers();
    cx.emit(
        Layer::App,
        "fetched",
        vec![
            ("account", m.account.as_str().into()),
            ("uid", m.uid.clone().unwrap_or_default().into()),
            ("from", m.from().into()),
            ("subject", m.subject().into()),
            ("size", m.data.len().into()),
            ("hops", headers.get_all("Received").count().into()),
        ],
    );
    for (name, value) in headers.fields() {
        cx.emit(
            Layer::App,
            "header",
            vec![
                ("name", name.as_str().into()),
                ("value", value.as_str().into()),
            ],
        );
    }
    let lines: Vec<&[u8]> = pop3::lines(body(&m.data)).collect();
    for line in lines.iter().take(TRACED_BODY_LINES) {
        cx.emit(
            Layer::App,
            "body_line",
            vec![("line", String::from_utf8_lossy(line).into_owned().into())],
        );
    }
    if lines.len() > TRACED_BODY_LINES {
        let more = lines.len() - TRACED_BODY_LINES;
        cx.emit(
            Layer::App,
            "body_line",
            vec![("line", format!("(... {more} more lines)").into())],
        );
    }
}

impl Application for UserAgent {
    fn kind(&self) -> &'static str {
        "mail user agent"
    }

    fn handle_event(&mut self, cx: &mut AppCx<'_>, event: AppEvent) {
        match event {
            AppEvent::Data { conn, data } => {
                match self.jobs.get_mut(&conn) {
                    Some(Job::Submit { client, .. }) => client.handle_input(&data),
                    Some(Job::Fetch { client, .. }) => client.handle_input(&data),
                    None => return,
                }
                self.pump(cx, conn);
            }
            AppEvent::PeerClosed { conn } => {
                cx.close(conn);
                self.closed(cx, conn, None);
            }
            AppEvent::Closed { conn, error } => self.closed(cx, conn, error.map(|e| e.name())),
            AppEvent::Crashed => {
                // Open sessions are gone; what was fetched is on disk.
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
