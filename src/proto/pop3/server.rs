//! The POP3 server session (RFC 1939, CAPA and response codes of RFC 2449).
//!
//! One [`Pop3Server`] is one connection. After USER and PASS it locks the
//! user's maildrop (RFC 1939 §8: one session at a time) and takes a
//! snapshot of its messages, numbered from 1. DELE only *marks* a message;
//! the marks are carried out in the UPDATE state, which is entered only
//! when the client says QUIT. A connection that drops without QUIT deletes
//! nothing. Either way the maildrop is unlocked.
//!
//! Unlocking needs the backend, which [`Session::handle_close`] does not
//! get: drivers call [`Pop3Server::handle_close_with`] instead (or
//! [`Pop3Server::release`] after `handle_close`).

use crate::proto::outbox::Outbox;

use super::{byte_stuff, lines};
use crate::proto::line::{Line, LineReader};
use crate::proto::{BodyLines, Session, Transcript, Transition};

/// RFC 2449 §4: a command line is at most 255 octets including CRLF.
pub const MAX_COMMAND_LINE: usize = 255;

/// The states of the server diagram (RFC 1939 §3).
pub const STATES: &[&str] = &["AUTHORIZATION", "TRANSACTION", "UPDATE", "CLOSED"];

/// The server's state diagram for the visualizer: `(from, to, label)`.
pub const TRANSITIONS: &[Transition] = &[
    (
        "AUTHORIZATION",
        "AUTHORIZATION",
        "USER / +OK; bad PASS / -ERR [AUTH]",
    ),
    ("AUTHORIZATION", "TRANSACTION", "PASS / +OK maildrop locked"),
    ("AUTHORIZATION", "CLOSED", "QUIT / +OK"),
    (
        "TRANSACTION",
        "TRANSACTION",
        "STAT, LIST, RETR, DELE, TOP, UIDL, NOOP, RSET",
    ),
    ("TRANSACTION", "UPDATE", "QUIT"),
    ("UPDATE", "CLOSED", "marked messages deleted / +OK"),
    ("TRANSACTION", "CLOSED", "connection lost: nothing deleted"),
];

/// The capabilities CAPA lists (RFC 2449 §6).
pub const CAPABILITIES: &[&str] = &["USER", "TOP", "UIDL", "RESP-CODES", "PIPELINING"];

/// How a server behaves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pop3Config {
    /// The server's name, in the greeting and sign-off.
    pub hostname: String,
    /// Failed PASS attempts after which the server hangs up.
    pub max_failed_logins: u32,
    /// RFC 2595 §4: STLS is offered.
    pub stls: bool,
    /// USER/PASS only over TLS (RFC 2595 §4: "-ERR" until STLS).
    pub require_tls_for_login: bool,
}

impl Pop3Config {
    /// Defaults: three login attempts.
    pub fn new(hostname: impl Into<String>) -> Pop3Config {
        Pop3Config {
            hostname: hostname.into(),
            max_failed_logins: 3,
            stls: false,
            require_tls_for_login: false,
        }
    }
}

/// One message in a maildrop.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MaildropMessage {
    /// RFC 1939 §7 unique-id: 1 to 70 characters from 0x21 to 0x7E, never
    /// reused for another message in this maildrop.
    pub uid: String,
    /// The message, lines ending in CRLF; its length is the size LIST and
    /// STAT report.
    pub data: Vec<u8>,
}

/// What the server asks of the mail store.
pub trait Pop3Backend {
    /// Is `password` the password of `user`?
    fn check_password(&mut self, user: &str, password: &str) -> bool;
    /// RFC 1939 §8: takes the exclusive lock on `user`'s maildrop; false if
    /// another session holds it.
    fn lock_maildrop(&mut self, user: &str) -> bool;
    /// Releases the lock taken by `lock_maildrop`.
    fn unlock_maildrop(&mut self, user: &str);
    /// The messages in `user`'s maildrop, oldest first (the session numbers
    /// them 1, 2, ... in this order).
    fn maildrop(&mut self, user: &str) -> Vec<MaildropMessage>;
    /// UPDATE state: removes the messages with these unique ids.
    fn delete_messages(&mut self, user: &str, uids: &[String]) -> Result<(), DeleteError>;
}

/// Why the messages marked with DELE could not be removed in the UPDATE
/// state (RFC 1939 §6). The client is told after "-ERR some deleted
/// messages not removed: ".
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DeleteError {
    /// The maildrop's owner has no account any more.
    #[error("no such user {0}")]
    NoSuchUser(String),
    /// The maildrop itself is gone (the folder named).
    #[error("no such folder {0:?}")]
    NoMaildrop(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Authorization,
    Transaction,
    Update,
    Closed,
}

/// One POP3 server session. See the module documentation.
#[derive(Debug)]
pub struct Pop3Server {
    config: Pop3Config,
    reader: LineReader,
    state: State,
    /// The name given with USER, waiting for PASS.
    user: Option<String>,
    /// The user whose maildrop this session has locked.
    locked: Option<String>,
    messages: Vec<MaildropMessage>,
    deleted: Vec<bool>,
    failed_logins: u32,
    /// What the session has to send and to note.
    out: Outbox,
    secure: bool,
    stls_pending: bool,
}

impl Pop3Server {
    /// A session on a connection that is TLS from the first byte (port
    /// 995, RFC 8314).
    pub fn new_secure(config: Pop3Config) -> Pop3Server {
        let mut server = Pop3Server::new(config);
        server.secure = true;
        server
    }

    /// A new session; the greeting is queued at once.
    pub fn new(config: Pop3Config) -> Pop3Server {
        let greeting = format!("+OK {} POP3 server ready", config.hostname);
        let mut server = Pop3Server {
            config,
            reader: LineReader::new(MAX_COMMAND_LINE),
            state: State::Authorization,
            user: None,
            locked: None,
            messages: Vec::new(),
            deleted: Vec::new(),
            failed_logins: 0,
            out: Outbox::default(),
            secure: false,
            stls_pending: false,
        };
        server.status(&greeting);
        server
    }

    /// The authenticated user, in TRANSACTION state.
    pub fn user(&self) -> Option<&str> {
        self.locked.as_deref()
    }

    /// True while this session holds a maildrop lock.
    pub fn holds_lock(&self) -> bool {
        self.locked.is_some()
    }

    /// Feeds bytes from the client.
    pub fn handle_input<B: Pop3Backend + ?Sized>(&mut self, data: &[u8], backend: &mut B) {
        if self.state == State::Closed {
            return;
        }
        self.reader.push(data);
        while self.state != State::Closed {
            let Some(line) = self.reader.next_line() else {
                break;
            };
            match line {
                Line::Complete(bytes) => {
                    let text = String::from_utf8_lossy(&bytes).into_owned();
                    self.out.note(Transcript::Command(text.clone()));
                    self.handle_command(&text, backend);
                }
                Line::TooLong => {
                    self.out.note(Transcript::Command("(line too long)".into()));
                    self.status("-ERR line too long");
                }
            }
        }
    }

    /// The peer went away: like [`Session::handle_close`], and the maildrop
    /// is unlocked without deleting anything (RFC 1939 §6).
    pub fn handle_close_with<B: Pop3Backend + ?Sized>(&mut self, backend: &mut B) {
        self.handle_close();
        self.release(backend);
    }

    /// Releases the maildrop lock if this session still holds it. Safe to
    /// call more than once.
    pub fn release<B: Pop3Backend + ?Sized>(&mut self, backend: &mut B) {
        if let Some(user) = self.locked.take() {
            backend.unlock_maildrop(&user);
        }
    }

    // ---- output -----------------------------------------------------------

    /// Sends a one-line status response (`+OK ...` or `-ERR ...`).
    fn status(&mut self, line: &str) {
        self.out.note(Transcript::Reply {
            code: None,
            text: line.to_string(),
        });
        self.out.send(line.as_bytes());
        self.out.send(b"\r\n");
    }

    /// Sends `+OK ...` followed by a byte-stuffed multi-line body and ".".
    fn multiline(&mut self, first: &str, body: &[u8]) {
        self.status(first);
        let stuffed = byte_stuff(body);
        let mut shown = BodyLines::default();
        for line in lines(&stuffed) {
            if shown.count() {
                let text = String::from_utf8_lossy(line).into_owned();
                self.out.note(Transcript::Data(text));
            }
        }
        self.out.notes(shown.rest());
        self.out.note(Transcript::Data(".".into()));
        self.out.send(&stuffed);
        self.out.send(b".\r\n");
    }

    fn close(&mut self) {
        self.state = State::Closed;
        self.reader = LineReader::new(MAX_COMMAND_LINE);
    }

    // ---- commands ---------------------------------------------------------

    fn handle_command<B: Pop3Backend + ?Sized>(&mut self, line: &str, backend: &mut B) {
        // RFC 1939 §3: keyword, case-insensitive, then arguments separated
        // by single spaces.
        let (keyword, rest) = line.split_once(' ').unwrap_or((line, ""));
        let keyword = keyword.to_ascii_uppercase();
        let args: Vec<&str> = rest.split_whitespace().collect();
        let login_refused = self.config.require_tls_for_login && !self.secure;
        match (self.state, keyword.as_str()) {
            (_, "CAPA") => self.cmd_capa(),
            (State::Authorization, "STLS") if self.config.stls && !self.secure => {
                // RFC 2595 §4: "+OK", then TLS; nothing after STLS in the
                // clear is read.
                self.status("+OK Begin TLS negotiation");
                self.stls_pending = true;
                self.reader = LineReader::new(MAX_COMMAND_LINE);
            }
            (State::Authorization, "USER" | "PASS") if login_refused => {
                self.status("-ERR [AUTH] Use STLS first: no password in the clear");
            }
            (State::Authorization, "USER") => self.cmd_user(&args),
            (State::Authorization, "PASS") => self.cmd_pass(rest, backend),
            (State::Authorization, "QUIT") => {
                let line = format!("+OK {} POP3 server signing off", self.config.hostname);
                self.status(&line);
                self.close();
            }
            (State::Transaction, "STAT") => self.cmd_stat(),
            (State::Transaction, "LIST") => self.cmd_list(&args),
            (State::Transaction, "RETR") => self.cmd_retr(&args),
            (State::Transaction, "DELE") => self.cmd_dele(&args),
            (State::Transaction, "NOOP") => self.status("+OK"),
            (State::Transaction, "RSET") => self.cmd_rset(),
            (State::Transaction, "TOP") => self.cmd_top(&args),
            (State::Transaction, "UIDL") => self.cmd_uidl(&args),
            (State::Transaction, "QUIT") => self.cmd_quit(backend),
            (_, "USER" | "PASS" | "STAT" | "LIST" | "RETR" | "DELE" | "NOOP" | "RSET")
            | (_, "TOP" | "UIDL") => self.status("-ERR command not valid in this state"),
            (_, "APOP" | "AUTH" | "STLS") => self.status("-ERR command not supported"),
            _ => self.status("-ERR unknown command"),
        }
    }

    fn cmd_capa(&mut self) {
        // RFC 2449 §5: one capability per line.
        let mut body = String::new();
        for cap in CAPABILITIES {
            if *cap == "USER" && self.config.require_tls_for_login && !self.secure {
                continue;
            }
            body.push_str(cap);
            body.push_str("\r\n");
        }
        if self.config.stls && !self.secure && self.state == State::Authorization {
            body.push_str("STLS\r\n");
        }
        body.push_str("IMPLEMENTATION wiretale\r\n");
        self.multiline("+OK Capability list follows", body.as_bytes());
    }

    fn cmd_user(&mut self, args: &[&str]) {
        match args {
            [name] => {
                self.user = Some(name.to_string());
                // Do not reveal whether the mailbox exists.
                self.status("+OK send PASS");
            }
            _ => self.status("-ERR syntax: USER name"),
        }
    }

    fn cmd_pass<B: Pop3Backend + ?Sized>(&mut self, password: &str, backend: &mut B) {
        // RFC 1939 §7: the password is the rest of the line (it may
        // contain spaces).
        let Some(user) = self.user.take() else {
            self.status("-ERR send USER first");
            return;
        };
        if password.is_empty() || !backend.check_password(&user, password) {
            self.failed_logins += 1;
            // RFC 2449 §8.1.2: [AUTH] says the credentials were wrong.
            self.status("-ERR [AUTH] Invalid username or password");
            if self.failed_logins >= self.config.max_failed_logins {
                self.close();
            }
            return;
        }
        if !backend.lock_maildrop(&user) {
            // RFC 2449 §8.1.1: [IN-USE] says another session has it.
            self.status("-ERR [IN-USE] Maildrop already locked by another session");
            return;
        }
        self.messages = backend.maildrop(&user);
        self.deleted = vec![false; self.messages.len()];
        self.locked = Some(user);
        self.state = State::Transaction;
        let (count, size) = self.totals();
        self.status(&format!(
            "+OK maildrop has {count} messages ({size} octets)"
        ));
    }

    /// Messages not marked as deleted, and their total size.
    fn totals(&self) -> (usize, usize) {
        self.live_messages()
            .fold((0, 0), |(n, size), (_, m)| (n + 1, size + m.data.len()))
    }

    /// `(number, message)` for each message not marked as deleted.
    fn live_messages(&self) -> impl Iterator<Item = (usize, &MaildropMessage)> {
        self.messages
            .iter()
            .enumerate()
            .filter(|(i, _)| !self.deleted[*i])
            .map(|(i, m)| (i + 1, m))
    }

    /// Resolves a message-number argument to an index into `messages`.
    fn message_index(&self, arg: &str) -> Result<usize, String> {
        if arg.is_empty() || !arg.bytes().all(|b| b.is_ascii_digit()) {
            return Err("-ERR invalid message number".into());
        }
        let number: usize = arg.parse().unwrap_or(usize::MAX);
        if number == 0 || number > self.messages.len() {
            return Err("-ERR no such message".into());
        }
        if self.deleted[number - 1] {
            return Err(format!("-ERR message {number} already deleted"));
        }
        Ok(number - 1)
    }

    fn cmd_stat(&mut self) {
        let (count, size) = self.totals();
        self.status(&format!("+OK {count} {size}"));
    }

    fn cmd_list(&mut self, args: &[&str]) {
        match args {
            [] => {
                let (count, size) = self.totals();
                let body: String = self
                    .live_messages()
                    .map(|(n, m)| format!("{n} {}\r\n", m.data.len()))
                    .collect();
                let first = format!("+OK {count} messages ({size} octets)");
                self.multiline(&first, body.as_bytes());
            }
            [arg] => match self.message_index(arg) {
                Ok(i) => {
                    let line = format!("+OK {} {}", i + 1, self.messages[i].data.len());
                    self.status(&line);
                }
                Err(e) => self.status(&e),
            },
            _ => self.status("-ERR syntax: LIST [msg]"),
        }
    }

    fn cmd_retr(&mut self, args: &[&str]) {
        let [arg] = args else {
            self.status("-ERR syntax: RETR msg");
            return;
        };
        match self.message_index(arg) {
            Ok(i) => {
                let data = self.messages[i].data.clone();
                self.multiline(&format!("+OK {} octets", data.len()), &data);
            }
            Err(e) => self.status(&e),
        }
    }

    fn cmd_dele(&mut self, args: &[&str]) {
        let [arg] = args else {
            self.status("-ERR syntax: DELE msg");
            return;
        };
        match self.message_index(arg) {
            Ok(i) => {
                // Only a mark: the message goes in the UPDATE state.
                self.deleted[i] = true;
                self.status(&format!("+OK message {} deleted", i + 1));
            }
            Err(e) => self.status(&e),
        }
    }

    fn cmd_rset(&mut self) {
        self.deleted.iter_mut().for_each(|d| *d = false);
        let (count, size) = self.totals();
        self.status(&format!(
            "+OK maildrop has {count} messages ({size} octets)"
        ));
    }

    fn cmd_top(&mut self, args: &[&str]) {
        let [msg, n] = args else {
            self.status("-ERR syntax: TOP msg n");
            return;
        };
        if n.is_empty() || !n.bytes().all(|b| b.is_ascii_digit()) {
            self.status("-ERR invalid line count");
            return;
        }
        let body_lines: usize = n.parse().unwrap_or(usize::MAX);
        match self.message_index(msg) {
            Ok(i) => {
                let top = top_of_message(&self.messages[i].data, body_lines);
                self.multiline("+OK top of message follows", &top);
            }
            Err(e) => self.status(&e),
        }
    }

    fn cmd_uidl(&mut self, args: &[&str]) {
        match args {
            [] => {
                let body: String = self
                    .live_messages()
                    .map(|(n, m)| format!("{n} {}\r\n", m.uid))
                    .collect();
                self.multiline("+OK unique-id listing follows", body.as_bytes());
            }
            [arg] => match self.message_index(arg) {
                Ok(i) => {
                    let line = format!("+OK {} {}", i + 1, self.messages[i].uid);
                    self.status(&line);
                }
                Err(e) => self.status(&e),
            },
            _ => self.status("-ERR syntax: UIDL [msg]"),
        }
    }

    /// RFC 1939 §6: QUIT in TRANSACTION enters UPDATE, removes the marked
    /// messages, unlocks and closes.
    fn cmd_quit<B: Pop3Backend + ?Sized>(&mut self, backend: &mut B) {
        self.state = State::Update;
        let user = self.locked.clone().unwrap_or_default();
        let doomed: Vec<String> = self
            .messages
            .iter()
            .zip(&self.deleted)
            .filter(|(_, deleted)| **deleted)
            .map(|(m, _)| m.uid.clone())
            .collect();
        let result = if doomed.is_empty() {
            Ok(())
        } else {
            backend.delete_messages(&user, &doomed)
        };
        let line = match result {
            Ok(()) => format!(
                "+OK {} POP3 server signing off ({} messages left)",
                self.config.hostname,
                self.messages.len() - doomed.len()
            ),
            Err(reason) => format!("-ERR some deleted messages not removed: {reason}"),
        };
        self.status(&line);
        self.release(backend);
        self.close();
    }
}

/// RFC 1939 §7 TOP: the header, the blank line, and the first `n` lines of
/// the body.
fn top_of_message(data: &[u8], n: usize) -> Vec<u8> {
    let mut out = Vec::new();
    let mut in_body = false;
    let mut body_lines = 0;
    for line in lines(data) {
        if in_body {
            if body_lines == n {
                break;
            }
            body_lines += 1;
        } else if line.is_empty() {
            in_body = true;
        }
        out.extend_from_slice(line);
        out.extend_from_slice(b"\r\n");
    }
    out
}

impl Session for Pop3Server {
    fn poll_output(&mut self) -> Option<Vec<u8>> {
        self.out.poll_output()
    }

    fn poll_transcript(&mut self) -> Option<Transcript> {
        self.out.poll_transcript()
    }

    fn wants_close(&self) -> bool {
        self.state == State::Closed
    }

    /// Marks the session closed without entering UPDATE: nothing is
    /// deleted. The lock stays until [`Pop3Server::release`].
    fn handle_close(&mut self) {
        self.close();
    }

    fn take_starttls(&mut self) -> bool {
        std::mem::take(&mut self.stls_pending)
    }

    fn tls_started(&mut self) {
        self.secure = true;
        self.user = None;
        self.reader = LineReader::new(MAX_COMMAND_LINE);
    }

    fn is_secure(&self) -> bool {
        self.secure
    }

    fn state_name(&self) -> &'static str {
        match self.state {
            State::Authorization => "AUTHORIZATION",
            State::Transaction => "TRANSACTION",
            State::Update => "UPDATE",
            State::Closed => "CLOSED",
        }
    }
}
