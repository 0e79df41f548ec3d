//! A scripted POP3 client session (RFC 1939): what a user agent does when
//! it checks mail.
//!
//! [`Pop3Client`] logs in with USER/PASS, asks STAT, LIST and UIDL, then
//! retrieves messages with RETR. In download-and-delete mode it marks each
//! retrieved message with DELE (the server removes them at QUIT); in
//! leave-on-server mode it skips messages whose unique id it has seen
//! before and deletes nothing. It ends with QUIT.
//!
//! It is not a mail store: the retrieved messages are handed to the
//! application through [`Pop3Client::messages`].

use crate::proto::outbox::Outbox;
use std::collections::{BTreeMap, BTreeSet, VecDeque};

use crate::proto::line::{Line, LineReader};
use crate::proto::{BodyLines, Session, Transcript, Transition};

/// Longest response line accepted (RFC 2449 §4 says 512; messages may
/// carry lines up to 1000 octets, RFC 5322 §2.1.1, and some are longer).
pub const MAX_RESPONSE_LINE: usize = 8192;

/// Largest multi-line response kept, in octets.
pub const MAX_MULTILINE: usize = 16 * 1024 * 1024;

/// The states of the client diagram; each names the response it waits for.
pub const STATES: &[&str] = &[
    "GREETING", "CAPA", "STLS", "USER", "PASS", "STAT", "LIST", "UIDL", "RETR", "DELE", "QUIT",
    "CLOSED",
];

/// The client's state diagram for the visualizer: `(from, to, label)`.
pub const TRANSITIONS: &[Transition] = &[
    ("GREETING", "USER", "+OK / USER"),
    ("GREETING", "CAPA", "+OK / CAPA (to look for STLS)"),
    ("CAPA", "STLS", "STLS listed / STLS"),
    ("CAPA", "USER", "no STLS / USER"),
    ("STLS", "USER", "+OK / TLS handshake, USER"),
    ("USER", "PASS", "+OK / PASS"),
    ("PASS", "STAT", "+OK / STAT"),
    ("PASS", "QUIT", "-ERR [AUTH] or [IN-USE] / QUIT"),
    ("STAT", "LIST", "+OK / LIST"),
    ("LIST", "UIDL", "+OK listing / UIDL"),
    ("UIDL", "RETR", "listing or -ERR / RETR first"),
    ("UIDL", "QUIT", "nothing to fetch / QUIT"),
    ("RETR", "DELE", "message / DELE (download and delete)"),
    ("RETR", "RETR", "message / RETR next (leave on server)"),
    ("DELE", "RETR", "+OK / RETR next"),
    ("RETR", "QUIT", "last message / QUIT"),
    ("DELE", "QUIT", "last message / QUIT"),
    ("QUIT", "CLOSED", "+OK"),
];

/// Whether the client removes what it fetched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RetrievalMode {
    /// RETR and DELE every message: the classic POP3 way.
    DownloadAndDelete,
    /// Keep messages on the server; fetch only those whose unique id is not
    /// in `seen` (from earlier sessions).
    LeaveOnServer { seen: BTreeSet<String> },
}

/// Who logs in and how to fetch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pop3ClientConfig {
    pub user: String,
    pub password: String,
    pub mode: RetrievalMode,
    /// RFC 2595: ask CAPA and use STLS when the server lists it (the
    /// driver can put TLS under the session).
    pub stls: bool,
}

/// A message fetched with RETR.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetrievedMessage {
    /// Its number in this session.
    pub number: usize,
    /// Its unique id, if the server supports UIDL.
    pub uid: Option<String>,
    /// The message, byte-stuffing removed, lines ending in CRLF.
    pub data: Vec<u8>,
}

/// Why a session did not go as planned.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Pop3ClientError {
    /// The greeting was `-ERR`.
    #[error("server refused the connection: {0}")]
    GreetingRefused(String),
    /// USER or PASS was refused (wrong name or password).
    #[error("login refused: {0}")]
    LoginRefused(String),
    /// RFC 2449 `[IN-USE]`: another session has the maildrop.
    #[error("mailbox in use: {0}")]
    MailboxInUse(String),
    /// A command in TRANSACTION state failed.
    #[error("{command} failed: {reply}")]
    CommandFailed { command: String, reply: String },
    /// The server sent something that is not POP3.
    #[error("bad response: {0}")]
    BadResponse(String),
    /// The connection ended before QUIT was answered.
    #[error("connection closed early")]
    ConnectionClosed,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Greeting,
    Capa,
    Stls,
    User,
    Pass,
    Stat,
    List,
    Uidl,
    Retr(usize),
    Dele(usize),
    Quit,
    Closed,
}

impl State {
    /// Whether a `+OK` to this command is followed by a multi-line body.
    fn expects_multiline(self) -> bool {
        matches!(
            self,
            State::Capa | State::List | State::Uidl | State::Retr(_)
        )
    }
}

/// A scripted POP3 client session. See the module documentation.
#[derive(Debug)]
pub struct Pop3Client {
    config: Pop3ClientConfig,
    reader: LineReader,
    state: State,
    /// The lines of a multi-line response being read, once its `+OK` came.
    body: Option<Vec<u8>>,
    stat: Option<(usize, u64)>,
    listing: Vec<(usize, u64)>,
    uids: BTreeMap<usize, String>,
    /// Message numbers still to fetch, in order.
    to_fetch: VecDeque<usize>,
    messages: Vec<RetrievedMessage>,
    error: Option<Pop3ClientError>,
    /// What the session has to send and to note.
    out: Outbox,
    /// The lines of the multi-line response being read, for the transcript.
    body_lines: BodyLines,
    secure: bool,
    /// +OK to STLS came; the driver has not switched yet.
    stls_pending: bool,
}

impl Pop3Client {
    /// A session that starts when the server's greeting arrives.
    pub fn new(config: Pop3ClientConfig) -> Pop3Client {
        Pop3Client {
            config,
            reader: LineReader::new(MAX_RESPONSE_LINE),
            state: State::Greeting,
            body: None,
            stat: None,
            listing: Vec::new(),
            uids: BTreeMap::new(),
            to_fetch: VecDeque::new(),
            messages: Vec::new(),
            error: None,
            out: Outbox::default(),
            body_lines: BodyLines::default(),
            secure: false,
            stls_pending: false,
        }
    }

    /// The messages retrieved so far, in the order fetched.
    pub fn messages(&self) -> &[RetrievedMessage] {
        &self.messages
    }

    /// Takes the retrieved messages out of the client.
    pub fn take_messages(&mut self) -> Vec<RetrievedMessage> {
        std::mem::take(&mut self.messages)
    }

    /// What went wrong, if anything.
    pub fn error(&self) -> Option<&Pop3ClientError> {
        self.error.as_ref()
    }

    /// The STAT answer: (messages, octets).
    pub fn stat(&self) -> Option<(usize, u64)> {
        self.stat
    }

    /// The LIST answer: (number, size) per message.
    pub fn listing(&self) -> &[(usize, u64)] {
        &self.listing
    }

    /// The UIDL answer: number to unique id (empty if unsupported).
    pub fn uids(&self) -> &BTreeMap<usize, String> {
        &self.uids
    }

    /// True once the session is over.
    pub fn is_finished(&self) -> bool {
        self.state == State::Closed
    }

    /// Feeds bytes from the server.
    pub fn handle_input(&mut self, data: &[u8]) {
        if self.state == State::Closed {
            return;
        }
        self.reader.push(data);
        while self.state != State::Closed {
            let Some(line) = self.reader.next_line() else {
                break;
            };
            let Line::Complete(bytes) = line else {
                self.abort(Pop3ClientError::BadResponse("line too long".into()));
                break;
            };
            if self.body.is_some() {
                self.handle_body_line(bytes);
            } else {
                self.handle_status_line(&String::from_utf8_lossy(&bytes));
            }
        }
    }

    fn handle_status_line(&mut self, line: &str) {
        self.out.note(Transcript::Reply {
            code: None,
            text: line.to_string(),
        });
        let ok = if line == "+OK" || line.starts_with("+OK ") {
            true
        } else if line == "-ERR" || line.starts_with("-ERR ") {
            false
        } else {
            self.abort(Pop3ClientError::BadResponse(line.to_string()));
            return;
        };
        if ok && self.state.expects_multiline() {
            self.body = Some(Vec::new());
            self.body_lines = BodyLines::default();
            return;
        }
        let text = line.to_string();
        match self.state {
            State::Greeting => self.on_greeting(ok, text),
            // No CAPA: no STLS either.
            State::Capa => self.send_user(),
            State::Stls if ok => self.stls_pending = true,
            State::Stls => self.send_user(),
            State::User => self.on_user(ok, text),
            State::Pass => self.on_pass(ok, text),
            State::Stat => self.on_stat(ok, text),
            State::List => self.command_failed("LIST", text),
            // RFC 1939 §7: UIDL is optional; without it fetch everything.
            State::Uidl => self.plan_fetches(),
            State::Retr(n) => self.command_failed(&format!("RETR {n}"), text),
            State::Dele(_) if ok => self.fetch_next(),
            State::Dele(n) => self.command_failed(&format!("DELE {n}"), text),
            State::Quit => self.state = State::Closed,
            State::Closed => {}
        }
    }

    /// One line of a multi-line response: "." ends it, a leading "." is
    /// byte-stuffing (RFC 1939 §3).
    fn handle_body_line(&mut self, bytes: Vec<u8>) {
        if bytes == b"." {
            self.out.notes(self.body_lines.rest());
            self.out.note(Transcript::Data(".".into()));
            let body = self.body.take().unwrap_or_default();
            self.on_multiline(body);
            return;
        }
        if self.body_lines.count() {
            let text = String::from_utf8_lossy(&bytes).into_owned();
            self.out.note(Transcript::Data(text));
        }
        let content = bytes.strip_prefix(b".").unwrap_or(&bytes);
        let kept = self.body.as_ref().map_or(0, Vec::len);
        if kept + content.len() + 2 > MAX_MULTILINE {
            self.abort(Pop3ClientError::BadResponse("response too large".into()));
            return;
        }
        if let Some(body) = self.body.as_mut() {
            body.extend_from_slice(content);
            body.extend_from_slice(b"\r\n");
        }
    }

    fn on_multiline(&mut self, body: Vec<u8>) {
        match self.state {
            State::Capa => {
                let stls = body.split(|&b| b == b'\n').any(|l| {
                    l.strip_suffix(b"\r")
                        .unwrap_or(l)
                        .eq_ignore_ascii_case(b"STLS")
                });
                if stls && !self.secure {
                    self.send("STLS");
                    self.state = State::Stls;
                } else {
                    self.send_user();
                }
            }
            State::List => {
                self.listing = parse_pairs(&body)
                    .filter_map(|(n, size)| Some((n, size.parse().ok()?)))
                    .collect();
                self.send("UIDL");
                self.state = State::Uidl;
            }
            State::Uidl => {
                self.uids = parse_pairs(&body)
                    .map(|(n, uid)| (n, uid.to_string()))
                    .collect();
                self.plan_fetches();
            }
            State::Retr(number) => {
                self.messages.push(RetrievedMessage {
                    number,
                    uid: self.uids.get(&number).cloned(),
                    data: body,
                });
                if self.config.mode == RetrievalMode::DownloadAndDelete {
                    self.send(&format!("DELE {number}"));
                    self.state = State::Dele(number);
                } else {
                    self.fetch_next();
                }
            }
            _ => {}
        }
    }

    fn send_user(&mut self) {
        let line = format!("USER {}", self.config.user);
        self.send(&line);
        self.state = State::User;
    }

    fn on_greeting(&mut self, ok: bool, text: String) {
        if ok && self.config.stls {
            self.send("CAPA");
            self.state = State::Capa;
        } else if ok {
            self.send_user();
        } else {
            self.error = Some(Pop3ClientError::GreetingRefused(text));
            self.quit();
        }
    }

    fn on_user(&mut self, ok: bool, text: String) {
        if ok {
            let line = format!("PASS {}", self.config.password);
            self.send(&line);
            self.state = State::Pass;
        } else {
            self.error = Some(Pop3ClientError::LoginRefused(text));
            self.quit();
        }
    }

    fn on_pass(&mut self, ok: bool, text: String) {
        if ok {
            self.send("STAT");
            self.state = State::Stat;
        } else {
            // RFC 2449 §8: the response code tells why.
            self.error = Some(if text.starts_with("-ERR [IN-USE]") {
                Pop3ClientError::MailboxInUse(text)
            } else {
                Pop3ClientError::LoginRefused(text)
            });
            self.quit();
        }
    }

    fn on_stat(&mut self, ok: bool, text: String) {
        if !ok {
            self.command_failed("STAT", text);
            return;
        }
        // "+OK nn mm" (RFC 1939 §5).
        let mut words = text.split_whitespace().skip(1);
        let count = words.next().and_then(|w| w.parse().ok());
        let size = words.next().and_then(|w| w.parse().ok());
        self.stat = count.zip(size);
        self.send("LIST");
        self.state = State::List;
    }

    /// Decides which messages to RETR, then starts.
    fn plan_fetches(&mut self) {
        let seen = match &self.config.mode {
            RetrievalMode::DownloadAndDelete => None,
            RetrievalMode::LeaveOnServer { seen } => Some(seen),
        };
        self.to_fetch = self
            .listing
            .iter()
            .map(|(n, _)| *n)
            .filter(|n| match (seen, self.uids.get(n)) {
                (Some(seen), Some(uid)) => !seen.contains(uid),
                _ => true,
            })
            .collect();
        self.fetch_next();
    }

    fn fetch_next(&mut self) {
        match self.to_fetch.pop_front() {
            Some(n) => {
                self.send(&format!("RETR {n}"));
                self.state = State::Retr(n);
            }
            None => self.quit(),
        }
    }

    fn command_failed(&mut self, command: &str, reply: String) {
        self.error = Some(Pop3ClientError::CommandFailed {
            command: command.to_string(),
            reply,
        });
        self.quit();
    }

    fn quit(&mut self) {
        self.send("QUIT");
        self.state = State::Quit;
    }

    fn abort(&mut self, error: Pop3ClientError) {
        self.error = Some(error);
        self.body = None;
        self.state = State::Closed;
    }

    fn send(&mut self, line: &str) {
        self.out.note(Transcript::Command(line.to_string()));
        self.out.send(line.as_bytes());
        self.out.send(b"\r\n");
    }
}

/// The `number value` lines of a LIST or UIDL listing.
fn parse_pairs(body: &[u8]) -> impl Iterator<Item = (usize, &str)> {
    super::lines(body).filter_map(|line| {
        let line = std::str::from_utf8(line).ok()?;
        let (n, value) = line.split_once(' ')?;
        Some((n.parse().ok()?, value.trim()))
    })
}

impl Session for Pop3Client {
    fn poll_output(&mut self) -> Option<Vec<u8>> {
        self.out.poll_output()
    }

    fn poll_transcript(&mut self) -> Option<Transcript> {
        self.out.poll_transcript()
    }

    fn wants_close(&self) -> bool {
        self.state == State::Closed
    }

    fn take_starttls(&mut self) -> bool {
        std::mem::take(&mut self.stls_pending)
    }

    fn tls_started(&mut self) {
        self.secure = true;
        self.reader = LineReader::new(MAX_RESPONSE_LINE);
        self.send_user();
    }

    fn is_secure(&self) -> bool {
        self.secure
    }

    fn handle_close(&mut self) {
        if !matches!(self.state, State::Quit | State::Closed) && self.error.is_none() {
            self.error = Some(Pop3ClientError::ConnectionClosed);
        }
        self.body = None;
        self.state = State::Closed;
    }

    fn state_name(&self) -> &'static str {
        match self.state {
            State::Greeting => "GREETING",
            State::Capa => "CAPA",
            State::Stls => "STLS",
            State::User => "USER",
            State::Pass => "PASS",
            State::Stat => "STAT",
            State::List => "LIST",
            State::Uidl => "UIDL",
            State::Retr(_) => "RETR",
            State::Dele(_) => "DELE",
            State::Quit => "QUIT",
            State::Closed => "CLOSED",
        }
    }
}
