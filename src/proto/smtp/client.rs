//! The SMTP client session (RFC 5321 §3, §4.1): the sending side of one
//! connection, as a mail user agent submitting mail or a mail server
//! relaying it.
//!
//! [`SmtpClient`] waits for the greeting, says EHLO (HELO if the server does
//! not know EHLO), authenticates with AUTH PLAIN when it has credentials and
//! the server offers it, then sends each message: MAIL FROM, one RCPT TO per
//! recipient, DATA and the dot-stuffed message, and finally QUIT. Commands
//! go one at a time, each after the previous reply (no pipelining), which
//! keeps the dialogue easy to follow.
//!
//! It records what happened to every recipient: accepted, refused for now
//! (4yz: try again later) or refused for good (5yz: bounce). It is not a
//! mail queue: retrying, choosing an MX host and writing bounces belong to
//! the application that drives it.

use crate::proto::outbox::Outbox;

use super::reply::*;
use super::sasl::encode_plain;
use crate::proto::{BodyLines, Session, Transcript, Transition};

/// The states of the client diagram; each names the reply it waits for.
pub const STATES: &[&str] = &[
    "GREETING", "EHLO", "HELO", "STARTTLS", "AUTH", "MAIL", "RCPT", "DATA", "BODY", "RSET", "QUIT",
    "CLOSED",
];

/// The client's state diagram for the visualizer: `(from, to, label)`.
pub const TRANSITIONS: &[Transition] = &[
    ("GREETING", "EHLO", "220 / EHLO"),
    ("GREETING", "QUIT", "554 / QUIT"),
    ("EHLO", "HELO", "500, 502 / HELO"),
    ("EHLO", "STARTTLS", "250 STARTTLS / STARTTLS"),
    ("STARTTLS", "EHLO", "220 / TLS handshake, EHLO again"),
    ("STARTTLS", "MAIL", "454 / on in the clear"),
    ("EHLO", "AUTH", "250 AUTH PLAIN / AUTH PLAIN"),
    ("EHLO", "MAIL", "250 / MAIL FROM"),
    ("HELO", "MAIL", "250 / MAIL FROM"),
    ("AUTH", "MAIL", "235 / MAIL FROM"),
    ("AUTH", "QUIT", "535 / QUIT"),
    ("MAIL", "RCPT", "250 / RCPT TO"),
    ("MAIL", "MAIL", "4xx, 5xx / next message"),
    ("RCPT", "RCPT", "reply / next RCPT TO"),
    ("RCPT", "DATA", "last reply, some accepted / DATA"),
    ("RCPT", "RSET", "last reply, none accepted / RSET"),
    ("DATA", "BODY", "354 / message, ."),
    ("DATA", "RSET", "4xx, 5xx / RSET"),
    ("BODY", "MAIL", "reply / next message"),
    ("RSET", "MAIL", "250 / next message"),
    ("RSET", "QUIT", "250, no more messages / QUIT"),
    ("BODY", "QUIT", "reply, no more messages / QUIT"),
    ("QUIT", "CLOSED", "221"),
    (
        "EHLO",
        "QUIT",
        "5xx to EHLO and HELO, or nothing to send / QUIT",
    ),
    ("HELO", "QUIT", "5xx, or nothing to send / QUIT"),
    ("STARTTLS", "QUIT", "454, nothing to send / QUIT"),
    ("MAIL", "QUIT", "refused, no more messages / QUIT"),
    // RFC 5321 §3.8: a 421 at any point means the server is closing; a
    // reply that cannot be read ends the session too.
    ("GREETING", "CLOSED", "421, unreadable"),
    ("EHLO", "CLOSED", "421, unreadable"),
    ("HELO", "CLOSED", "421, unreadable"),
    ("STARTTLS", "CLOSED", "421, unreadable"),
    ("AUTH", "CLOSED", "421, unreadable"),
    ("MAIL", "CLOSED", "421, unreadable"),
    ("RCPT", "CLOSED", "421, unreadable"),
    ("DATA", "CLOSED", "421, unreadable"),
    ("BODY", "CLOSED", "421, unreadable"),
    ("RSET", "CLOSED", "421, unreadable"),
];

/// A user name and password for AUTH PLAIN.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credentials {
    pub username: String,
    pub password: String,
}

/// How the client introduces itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmtpClientConfig {
    /// The name sent with EHLO/HELO (the client host's domain).
    pub ehlo_name: String,
    /// AUTH PLAIN credentials, used when the server advertises AUTH PLAIN.
    pub credentials: Option<Credentials>,
    /// RFC 3207: say STARTTLS when the server offers it (the driver can
    /// put TLS under the session).
    pub starttls: bool,
}

/// One message to send: the envelope and the RFC 5322 text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutgoingMessage {
    /// MAIL FROM address without brackets; empty for the null path `<>`.
    pub reverse_path: String,
    /// RCPT TO addresses without brackets.
    pub recipients: Vec<String>,
    /// The message (headers, blank line, body). Line ends may be LF or
    /// CRLF; the client sends CRLF and stuffs dots.
    pub data: Vec<u8>,
}

/// What became of one recipient.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecipientStatus {
    /// Not decided yet.
    Pending,
    /// The server took responsibility for delivery (250 after the data).
    Accepted,
    /// 4yz, or the connection ended early: try again later.
    TempFailed(Reply),
    /// 5yz: give up and bounce.
    PermFailed(Reply),
}

/// One recipient and its fate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecipientResult {
    pub address: String,
    pub status: RecipientStatus,
}

/// The summary of a message over all its recipients.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageOutcome {
    /// Some recipient is still pending.
    Pending,
    /// Every recipient accepted.
    Delivered,
    /// Some accepted, some failed.
    PartiallyDelivered,
    /// None accepted; at least one failure is temporary.
    TempFailed,
    /// None accepted; every failure is permanent.
    PermFailed,
}

/// The per-message record of a session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageReport {
    /// Every recipient with its status, in the order given.
    pub recipients: Vec<RecipientResult>,
    /// The reply to the end of data (`250 2.0.0 Ok: queued as ...`), if the
    /// message got that far.
    pub final_reply: Option<Reply>,
}

impl MessageReport {
    /// Summarizes the recipients' statuses.
    pub fn outcome(&self) -> MessageOutcome {
        let mut accepted = 0;
        let mut temp = 0;
        for r in &self.recipients {
            match r.status {
                RecipientStatus::Pending => return MessageOutcome::Pending,
                RecipientStatus::Accepted => accepted += 1,
                RecipientStatus::TempFailed(_) => temp += 1,
                RecipientStatus::PermFailed(_) => {}
            }
        }
        match (accepted, temp) {
            (a, _) if a == self.recipients.len() => MessageOutcome::Delivered,
            (0, 0) => MessageOutcome::PermFailed,
            (0, _) => MessageOutcome::TempFailed,
            _ => MessageOutcome::PartiallyDelivered,
        }
    }
}

/// How the session as a whole went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionOutcome {
    /// Still talking.
    InProgress,
    /// Every message was tried and the session ended with QUIT (the
    /// messages' own outcomes may still be failures).
    Completed,
    /// The session broke off: greeting, EHLO or AUTH refused, the server
    /// closed with 421, a reply could not be read, or the connection ended
    /// early. Undecided recipients carry this reply.
    Failed(Reply),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Greeting,
    Ehlo,
    Helo,
    StartTls,
    Auth,
    Mail,
    Rcpt(usize),
    Data,
    Body,
    Rset,
    Quit,
    Closed,
}

/// The client side of one SMTP connection. See the module documentation.
#[derive(Debug)]
pub struct SmtpClient {
    config: SmtpClientConfig,
    messages: Vec<OutgoingMessage>,
    reports: Vec<MessageReport>,
    /// The message being sent (index into `messages`).
    current: usize,
    /// Which recipients of the current message got 250 to RCPT.
    rcpt_accepted: Vec<bool>,
    state: State,
    parser: ReplyParser,
    /// EHLO keywords, one per line after the greeting line.
    extensions: Vec<String>,
    outcome: SessionOutcome,
    /// What the session has to send and to note.
    out: Outbox,
    /// The session runs over TLS.
    secure: bool,
    /// 220 to STARTTLS came; the driver has not switched yet.
    starttls_pending: bool,
}

impl SmtpClient {
    /// A client that will send `messages` in order over one connection.
    /// Nothing is sent until the server's greeting arrives.
    pub fn new(config: SmtpClientConfig, messages: Vec<OutgoingMessage>) -> SmtpClient {
        let reports = messages
            .iter()
            .map(|m| MessageReport {
                recipients: m
                    .recipients
                    .iter()
                    .map(|address| RecipientResult {
                        address: address.clone(),
                        status: RecipientStatus::Pending,
                    })
                    .collect(),
                final_reply: None,
            })
            .collect();
        SmtpClient {
            config,
            messages,
            reports,
            current: 0,
            rcpt_accepted: Vec::new(),
            state: State::Greeting,
            parser: parser(),
            extensions: Vec::new(),
            outcome: SessionOutcome::InProgress,
            out: Outbox::default(),
            secure: false,
            starttls_pending: false,
        }
    }

    /// What happened to each message so far, in the order given.
    pub fn reports(&self) -> &[MessageReport] {
        &self.reports
    }

    /// How the session went (`InProgress` until it ends).
    pub fn outcome(&self) -> &SessionOutcome {
        &self.outcome
    }

    /// The EHLO extension lines the server advertised (`SIZE 10485760`,
    /// `AUTH PLAIN`, ...); empty after HELO.
    pub fn extensions(&self) -> &[String] {
        &self.extensions
    }

    /// True once the session is over and nothing more will be sent.
    pub fn is_finished(&self) -> bool {
        self.state == State::Closed
    }

    /// Feeds bytes from the server.
    pub fn handle_input(&mut self, data: &[u8]) {
        if self.state == State::Closed {
            return;
        }
        self.parser.push(data);
        while self.state != State::Closed {
            match self.parser.next_reply() {
                None => break,
                Some(Ok((reply, raw))) => {
                    for line in raw {
                        self.out.note(Transcript::Reply {
                            code: Some(reply.code),
                            text: line,
                        });
                    }
                    self.handle_reply(reply);
                }
                Some(Err(e)) => {
                    let line = match e {
                        ReplyError::Malformed(line) => line,
                        ReplyError::TooLong => "(line too long)".into(),
                    };
                    self.out.note(Transcript::Reply {
                        code: None,
                        text: line,
                    });
                    self.fail(
                        Reply::new(LOCAL_ERROR, "4.5.0 Unreadable reply from server"),
                        false,
                    );
                }
            }
        }
    }

    fn handle_reply(&mut self, reply: Reply) {
        // RFC 5321 §3.8: 421 at any point means the server is closing.
        if reply.code == SERVICE_NOT_AVAILABLE && self.state != State::Quit {
            self.fail(reply, false);
            return;
        }
        match self.state {
            State::Greeting => self.on_greeting(reply),
            State::Ehlo => self.on_ehlo(reply),
            State::Helo => self.on_helo(reply),
            State::StartTls => self.on_starttls(reply),
            State::Auth => self.on_auth(reply),
            State::Mail => self.on_mail(reply),
            State::Rcpt(i) => self.on_rcpt(i, reply),
            State::Data => self.on_data(reply),
            State::Body => self.on_body(reply),
            State::Rset => self.start_next_message(),
            State::Quit => {
                if self.outcome == SessionOutcome::InProgress {
                    self.outcome = SessionOutcome::Completed;
                }
                self.state = State::Closed;
            }
            State::Closed => {}
        }
    }

    fn on_greeting(&mut self, reply: Reply) {
        if reply.code == SERVICE_READY {
            let line = format!("EHLO {}", self.config.ehlo_name);
            self.send_command(&line);
            self.state = State::Ehlo;
        } else {
            // RFC 5321 §3.1: after a 554 greeting the client sends QUIT.
            self.fail(reply, true);
        }
    }

    fn on_ehlo(&mut self, reply: Reply) {
        if reply.is_positive() {
            self.extensions = reply.lines.iter().skip(1).cloned().collect();
            if self.config.starttls && !self.secure && self.has_extension("STARTTLS") {
                self.send_command("STARTTLS");
                self.state = State::StartTls;
            } else if self.config.credentials.is_some() && self.offers_auth_plain() {
                self.send_auth();
            } else {
                self.start_next_message();
            }
        } else if reply.code == SYNTAX_ERROR || reply.code == NOT_IMPLEMENTED {
            // RFC 5321 §3.2: an old server that does not know EHLO.
            let line = format!("HELO {}", self.config.ehlo_name);
            self.send_command(&line);
            self.state = State::Helo;
        } else {
            self.fail(reply, true);
        }
    }

    /// RFC 3207 §4: 220, then TLS; any other answer and the session goes
    /// on in the clear.
    fn on_starttls(&mut self, reply: Reply) {
        if reply.code == SERVICE_READY {
            self.starttls_pending = true;
            // Nothing more until the driver says TLS is up.
            self.state = State::Ehlo;
            return;
        }
        if self.config.credentials.is_some() && self.offers_auth_plain() {
            self.send_auth();
        } else {
            self.start_next_message();
        }
    }

    fn on_helo(&mut self, reply: Reply) {
        if reply.is_positive() {
            self.start_next_message();
        } else {
            self.fail(reply, true);
        }
    }

    fn offers_auth_plain(&self) -> bool {
        self.extensions.iter().any(|ext| {
            let mut words = ext.split_whitespace();
            words.next().is_some_and(|w| w.eq_ignore_ascii_case("AUTH"))
                && words.any(|m| m.eq_ignore_ascii_case("PLAIN"))
        })
    }

    /// The SIZE the server advertised (RFC 1870), if any.
    pub fn server_max_size(&self) -> Option<u64> {
        self.extension_argument("SIZE")
            .and_then(|arg| arg.trim().parse().ok())
    }

    fn extension_argument(&self, keyword: &str) -> Option<&str> {
        self.extensions.iter().find_map(|ext| {
            let (word, rest) = ext.split_once(' ').unwrap_or((ext.as_str(), ""));
            word.eq_ignore_ascii_case(keyword).then_some(rest)
        })
    }

    fn has_extension(&self, keyword: &str) -> bool {
        self.extension_argument(keyword).is_some()
    }

    fn send_auth(&mut self) {
        let Some(credentials) = &self.config.credentials else {
            return;
        };
        // RFC 4954 §4: the initial response saves a round trip.
        let line = format!(
            "AUTH PLAIN {}",
            encode_plain(&credentials.username, &credentials.password)
        );
        self.send_command(&line);
        self.state = State::Auth;
    }

    fn on_auth(&mut self, reply: Reply) {
        if reply.code == AUTH_SUCCEEDED {
            self.start_next_message();
        } else {
            self.fail(reply, true);
        }
    }

    /// Begins the next message with MAIL FROM, or says QUIT when all are
    /// done. Messages without recipients are skipped.
    fn start_next_message(&mut self) {
        while self.current < self.messages.len()
            && self.messages[self.current].recipients.is_empty()
        {
            self.current += 1;
        }
        let Some(message) = self.messages.get(self.current) else {
            self.send_command("QUIT");
            self.state = State::Quit;
            return;
        };
        let mut line = format!("MAIL FROM:<{}>", message.reverse_path);
        if self.has_extension("SIZE") {
            // RFC 1870 §3: announce the size so a server can refuse early.
            line.push_str(&format!(" SIZE={}", message.data.len()));
        }
        if self.has_extension("8BITMIME") && !message.data.is_ascii() {
            // RFC 6152 §3: declare 8-bit content.
            line.push_str(" BODY=8BITMIME");
        }
        self.rcpt_accepted = vec![false; message.recipients.len()];
        self.send_command(&line);
        self.state = State::Mail;
    }

    fn on_mail(&mut self, reply: Reply) {
        if reply.is_positive() {
            self.send_rcpt(0);
        } else {
            self.settle_pending(&reply);
            self.current += 1;
            self.start_next_message();
        }
    }

    fn send_rcpt(&mut self, index: usize) {
        let line = format!(
            "RCPT TO:<{}>",
            self.messages[self.current].recipients[index]
        );
        self.send_command(&line);
        self.state = State::Rcpt(index);
    }

    fn on_rcpt(&mut self, index: usize, reply: Reply) {
        if reply.is_positive() {
            self.rcpt_accepted[index] = true;
        } else {
            self.reports[self.current].recipients[index].status = failure_status(reply);
        }
        if index + 1 < self.rcpt_accepted.len() {
            self.send_rcpt(index + 1);
        } else if self.rcpt_accepted.contains(&true) {
            self.send_command("DATA");
            self.state = State::Data;
        } else {
            // No recipient left: end the transaction before the next one.
            self.send_rset();
        }
    }

    fn send_rset(&mut self) {
        self.current += 1;
        self.send_command("RSET");
        self.state = State::Rset;
    }

    fn on_data(&mut self, reply: Reply) {
        if reply.code == START_MAIL_INPUT {
            self.send_message_data();
            self.state = State::Body;
        } else {
            self.settle_pending(&reply);
            self.send_rset();
        }
    }

    fn send_message_data(&mut self) {
        let stuffed = dot_stuff(&self.messages[self.current].data);
        let mut shown = BodyLines::default();
        for line in stuffed.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
            if shown.count() {
                let text = line.strip_suffix(b"\r").unwrap_or(line);
                self.out
                    .note(Transcript::Data(String::from_utf8_lossy(text).into_owned()));
            }
        }
        self.out.notes(shown.rest());
        self.out.note(Transcript::Data(".".into()));
        self.out.send(&stuffed);
        self.out.send(b".\r\n");
    }

    fn on_body(&mut self, reply: Reply) {
        let report = &mut self.reports[self.current];
        for (i, r) in report.recipients.iter_mut().enumerate() {
            if self.rcpt_accepted[i] {
                r.status = if reply.is_positive() {
                    RecipientStatus::Accepted
                } else {
                    failure_status(reply.clone())
                };
            }
        }
        report.final_reply = Some(reply);
        self.current += 1;
        self.start_next_message();
    }

    /// Gives every undecided recipient of the current message `reply`.
    fn settle_pending(&mut self, reply: &Reply) {
        if let Some(report) = self.reports.get_mut(self.current) {
            for r in &mut report.recipients {
                if r.status == RecipientStatus::Pending {
                    r.status = failure_status(reply.clone());
                }
            }
        }
    }

    /// Ends the session early: every undecided recipient of every message
    /// gets `reply`; with `quit` the client still says QUIT politely.
    fn fail(&mut self, reply: Reply, quit: bool) {
        for index in self.current..self.reports.len() {
            self.current = index;
            self.settle_pending(&reply);
        }
        self.current = self.reports.len();
        self.outcome = SessionOutcome::Failed(reply);
        if quit {
            self.send_command("QUIT");
            self.state = State::Quit;
        } else {
            self.state = State::Closed;
        }
    }

    fn send_command(&mut self, line: &str) {
        self.out.note(Transcript::Command(line.to_string()));
        self.out.send(line.as_bytes());
        self.out.send(b"\r\n");
    }
}

fn failure_status(reply: Reply) -> RecipientStatus {
    if reply.is_transient() {
        RecipientStatus::TempFailed(reply)
    } else {
        RecipientStatus::PermFailed(reply)
    }
}

/// RFC 5321 §4.5.2: the message with CRLF line ends and an extra `.` in
/// front of every line that starts with one, ready to be followed by the
/// terminating `.` line.
pub fn dot_stuff(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len() + 16);
    let mut lines: Vec<&[u8]> = data.split(|&b| b == b'\n').collect();
    // "a\nb\n" splits into ["a", "b", ""]: the last piece is no line.
    if lines.last().is_some_and(|l| l.is_empty()) {
        lines.pop();
    }
    for line in lines {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.starts_with(b".") {
            out.push(b'.');
        }
        out.extend_from_slice(line);
        out.extend_from_slice(b"\r\n");
    }
    out
}

impl Session for SmtpClient {
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
        std::mem::take(&mut self.starttls_pending)
    }

    fn tls_started(&mut self) {
        // RFC 3207 §4.2: forget what the server said and greet it again.
        self.secure = true;
        self.extensions.clear();
        self.parser = parser();
        let line = format!("EHLO {}", self.config.ehlo_name);
        self.send_command(&line);
        self.state = State::Ehlo;
    }

    fn is_secure(&self) -> bool {
        self.secure
    }

    fn handle_close(&mut self) {
        match self.state {
            State::Closed => {}
            // The server hung up after our QUIT without a 221: fine.
            State::Quit => {
                if self.outcome == SessionOutcome::InProgress {
                    self.outcome = SessionOutcome::Completed;
                }
                self.state = State::Closed;
            }
            // RFC 5321 §3.8: a connection lost mid-session counts as 451.
            _ => self.fail(
                Reply::new(
                    LOCAL_ERROR,
                    "4.4.2 Connection closed before the session completed",
                ),
                false,
            ),
        }
    }

    fn state_name(&self) -> &'static str {
        match self.state {
            State::Greeting => "GREETING",
            State::Ehlo => "EHLO",
            State::Helo => "HELO",
            State::StartTls => "STARTTLS",
            State::Auth => "AUTH",
            State::Mail => "MAIL",
            State::Rcpt(_) => "RCPT",
            State::Data => "DATA",
            State::Body => "BODY",
            State::Rset => "RSET",
            State::Quit => "QUIT",
            State::Closed => "CLOSED",
        }
    }
}
