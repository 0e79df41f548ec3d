//! The SMTP server session (RFC 5321), with the ESMTP extensions SIZE
//! (RFC 1870), 8BITMIME (RFC 6152), PIPELINING (RFC 2920),
//! ENHANCEDSTATUSCODES (RFC 2034/3463), and AUTH PLAIN (RFC 4954/4616) and
//! AUTH LOGIN (the username-then-password exchange of
//! draft-murchison-sasl-login, which most mail programs offer).
//!
//! One [`SmtpServer`] is one TCP connection seen from the receiving side:
//! it greets, reads commands, answers each with a reply, collects the
//! message after DATA and hands it to an [`SmtpBackend`], which decides
//! which domains and users exist and what happens to accepted mail (a
//! mailbox for local users, a queue for relaying).
//!
//! STARTTLS (RFC 3207) when the driver can put TLS under the session.
//!
//! What it is not: no BDAT/CHUNKING, no DSN parameters, no
//! timers (the driver may close an idle connection). It never relays on its
//! own: a recipient in a foreign domain is accepted only from an
//! authenticated client, or one the backend trusts ([`SmtpBackend::may_relay`]),
//! so the server is not an open relay.

use crate::proto::outbox::Outbox;
use std::net::IpAddr;

use super::command::{Command, ForwardPath, MailParams, Mailbox, parse_command};
use super::reply::*;
use super::sasl::{PlainError, base64_decode, decode_plain};
use crate::proto::line::{Ends, Line, LineReader};
use crate::proto::{BodyLines, Session, Transcript, Transition, date};

/// RFC 5321 §4.5.3.1.4 and §4.5.3.1.6: command lines are at most 512 and
/// text lines at most 1000 octets, CRLF included. Extensions may raise the
/// command limit (an AUTH PLAIN line can be long), so one limit of 1000
/// serves both.
pub const MAX_LINE: usize = 1000;

/// RFC 5321 §4.5.3.1.8: at least 100 recipients must be accepted.
pub const DEFAULT_MAX_RECIPIENTS: usize = 100;

/// The states of the server diagram, as [`SmtpServer::state_name`] reports them.
pub const STATES: &[&str] = &[
    "CONNECTED",
    "READY",
    "AUTH-CONTINUE",
    "MAIL",
    "RCPT",
    "DATA",
    "CLOSED",
];

/// The server's state diagram for the visualizer: `(from, to, label)`.
pub const TRANSITIONS: &[Transition] = &[
    ("CONNECTED", "READY", "EHLO/HELO / 250"),
    ("READY", "READY", "EHLO, RSET, NOOP, VRFY / 250"),
    ("READY", "READY", "AUTH PLAIN <response> / 235"),
    ("READY", "AUTH-CONTINUE", "AUTH PLAIN / 334"),
    (
        "READY",
        "CONNECTED",
        "STARTTLS / 220, TLS; the client greets again",
    ),
    (
        "READY",
        "AUTH-CONTINUE",
        "AUTH LOGIN [user] / 334 Username: or Password:",
    ),
    (
        "AUTH-CONTINUE",
        "AUTH-CONTINUE",
        "LOGIN <user> / 334 Password:",
    ),
    ("AUTH-CONTINUE", "READY", "<response> / 235 or 535"),
    ("AUTH-CONTINUE", "CLOSED", "too many errors / 421"),
    ("READY", "MAIL", "MAIL FROM / 250"),
    ("MAIL", "RCPT", "RCPT TO / 250"),
    ("RCPT", "RCPT", "RCPT TO / 250"),
    ("RCPT", "DATA", "DATA / 354"),
    ("DATA", "READY", "<CRLF>.<CRLF> / 250 queued"),
    ("MAIL", "READY", "RSET / 250"),
    ("RCPT", "READY", "RSET / 250"),
    ("CONNECTED", "CLOSED", "QUIT / 221"),
    ("READY", "CLOSED", "QUIT / 221"),
    ("MAIL", "CLOSED", "QUIT / 221"),
    ("RCPT", "CLOSED", "QUIT / 221"),
];

/// How a server behaves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmtpConfig {
    /// The server's own name, in the greeting and `Received:` headers.
    pub hostname: String,
    /// RFC 6409 message submission (port 587): AUTH is required before MAIL.
    pub submission: bool,
    /// Whether AUTH PLAIN is advertised and accepted.
    pub offer_auth: bool,
    /// RFC 1870 SIZE: the largest message accepted, in octets.
    pub max_message_size: usize,
    /// Recipients per transaction; more get 452.
    pub max_recipients: usize,
    /// Error replies (5xx) after which the server gives up with 421.
    pub max_errors: u32,
    /// RFC 3207: STARTTLS is offered (the driver can put TLS under the
    /// session).
    pub starttls: bool,
    /// AUTH only over TLS: before STARTTLS it is neither advertised nor
    /// accepted (530), so no password crosses the network in the clear.
    pub require_tls_for_auth: bool,
}

impl SmtpConfig {
    /// A mail exchanger on port 25 that also offers AUTH (so a user agent
    /// may submit through it after authenticating).
    pub fn new(hostname: impl Into<String>) -> SmtpConfig {
        SmtpConfig {
            hostname: hostname.into(),
            submission: false,
            offer_auth: true,
            max_message_size: 10 * 1024 * 1024,
            max_recipients: DEFAULT_MAX_RECIPIENTS,
            max_errors: 20,
            starttls: false,
            require_tls_for_auth: false,
        }
    }

    /// A submission server (port 587): AUTH required before MAIL.
    pub fn submission(hostname: impl Into<String>) -> SmtpConfig {
        SmtpConfig {
            submission: true,
            ..SmtpConfig::new(hostname)
        }
    }
}

/// A message the server accepted at the end of DATA.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceivedMessage {
    /// The id from [`SmtpBackend::next_queue_id`], also in `Received:`.
    pub queue_id: String,
    /// MAIL FROM; `None` for the null reverse path `<>` of bounces.
    pub reverse_path: Option<Mailbox>,
    /// The accepted RCPT TO addresses, in order (`<Postmaster>` appears as
    /// `postmaster@<hostname>`).
    pub recipients: Vec<Mailbox>,
    /// The name the client gave in EHLO/HELO.
    pub helo: String,
    /// The client's address (from the connection, not from the client).
    pub client_addr: IpAddr,
    /// The AUTH identity, when the session authenticated.
    pub auth_user: Option<String>,
    /// When the message was received, Unix seconds.
    pub received_at: i64,
    /// The message: our `Received:` line, then the data as sent, lines
    /// ending in CRLF, dot-stuffing removed.
    pub data: Vec<u8>,
}

/// What the server asks of the world.
pub trait SmtpBackend {
    /// Is `domain` (lower case) one this server is the final destination for?
    fn is_local_domain(&self, domain: &str) -> bool;
    /// Does `local_part@domain` exist? Asked only for local domains.
    fn user_exists(&self, local_part: &str, domain: &str) -> bool;
    /// AUTH: is `password` the password of `user`?
    fn check_password(&mut self, user: &str, password: &str) -> bool;
    /// May this client relay to foreign domains without authenticating (a
    /// host on the server's own network, say)? No by default.
    fn may_relay(&self, client_addr: IpAddr) -> bool {
        let _ = client_addr;
        false
    }
    /// A fresh queue id for the message about to be accepted.
    fn next_queue_id(&mut self) -> String;
    /// Takes responsibility for a finished message (RFC 5321 §6.1: after
    /// 250 the server must deliver or bounce it). `Err` carries the reply
    /// to send instead, e.g. 451 or 452 (try later) or 554 (refused).
    fn accept_message(&mut self, message: ReceivedMessage) -> Result<(), Reply>;
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Greeting sent, no EHLO/HELO yet.
    Connected,
    /// Greeted, no transaction open.
    Ready,
    /// AUTH in progress: waiting for the client's next base64 line
    /// (which one: [`AuthStep`]).
    AuthContinue,
    /// MAIL accepted, no recipient yet.
    Mail,
    /// At least one recipient accepted.
    Rcpt,
    /// Reading the message after 354.
    Data,
    Closed,
}

/// Where an AUTH exchange is.
#[derive(Debug, Clone, PartialEq, Eq)]
enum AuthStep {
    /// PLAIN: the one response with identity and password.
    Plain,
    /// LOGIN: "334 Username:" was sent.
    LoginUser,
    /// LOGIN: "334 Password:" was sent for this user.
    LoginPassword(String),
}

/// LOGIN's two challenges, base64 as they go on the wire.
const LOGIN_USERNAME: &str = "VXNlcm5hbWU6";
const LOGIN_PASSWORD: &str = "UGFzc3dvcmQ6";

/// The mail transaction of RFC 5321 §3.3: MAIL, RCPTs, DATA.
#[derive(Debug, Clone, Default)]
struct Transaction {
    reverse_path: Option<Mailbox>,
    recipients: Vec<Mailbox>,
}

/// The message being read after DATA.
#[derive(Debug, Clone, Default)]
struct Incoming {
    /// Unstuffed lines with CRLF, up to the size limit.
    body: Vec<u8>,
    /// Octets received (counted past the limit too).
    size: usize,
    /// The lines received, for the transcript.
    lines: BodyLines,
    line_too_long: bool,
}

/// One SMTP server session. See the module documentation.
#[derive(Debug)]
pub struct SmtpServer {
    config: SmtpConfig,
    client_addr: IpAddr,
    reader: LineReader,
    state: State,
    /// The EHLO/HELO name and whether it was EHLO.
    helo: Option<(String, bool)>,
    auth_user: Option<String>,
    auth_step: AuthStep,
    transaction: Transaction,
    incoming: Incoming,
    errors: u32,
    /// What the session has to send and to note.
    out: Outbox,
    /// The session runs over TLS.
    secure: bool,
    /// 220 to STARTTLS queued; the driver has not switched yet.
    starttls_pending: bool,
}

impl SmtpServer {
    /// A session with a client at `client_addr`; the 220 greeting is
    /// queued at once (RFC 5321 §3.1).
    pub fn new(config: SmtpConfig, client_addr: IpAddr) -> SmtpServer {
        let greeting = Reply::new(SERVICE_READY, format!("{} ESMTP wiretale", config.hostname));
        let mut server = SmtpServer {
            config,
            client_addr,
            reader: LineReader::new(MAX_LINE),
            state: State::Connected,
            helo: None,
            auth_user: None,
            auth_step: AuthStep::Plain,
            transaction: Transaction::default(),
            incoming: Incoming::default(),
            errors: 0,
            out: Outbox::default(),
            secure: false,
            starttls_pending: false,
        };
        server.send(greeting);
        server
    }

    /// A session on a connection that is TLS from the first byte (port
    /// 465, RFC 8314): the greeting goes out encrypted.
    pub fn new_secure(config: SmtpConfig, client_addr: IpAddr) -> SmtpServer {
        let mut server = SmtpServer::new(config, client_addr);
        server.secure = true;
        server
    }

    /// AUTH may be used now.
    fn auth_allowed(&self) -> bool {
        self.config.offer_auth && (self.secure || !self.config.require_tls_for_auth)
    }

    /// RFC 3207 §4: "220 Ready to start TLS", then the driver switches.
    fn cmd_starttls(&mut self) {
        if !self.config.starttls {
            self.send(Reply::new(NOT_IMPLEMENTED, "5.5.1 STARTTLS not available"));
        } else if self.secure {
            self.send(Self::bad_sequence("TLS already active"));
        } else if matches!(self.state, State::Mail | State::Rcpt) {
            self.send(Self::bad_sequence(
                "STARTTLS not allowed during a mail transaction",
            ));
        } else {
            self.send(Reply::new(SERVICE_READY, "2.0.0 Ready to start TLS"));
            self.starttls_pending = true;
            // Nothing the client sent after STARTTLS in the clear is read.
            self.reader = LineReader::new(MAX_LINE);
        }
    }

    /// The configuration this session runs with.
    pub fn config(&self) -> &SmtpConfig {
        &self.config
    }

    /// The AUTH identity, once the client authenticated.
    pub fn auth_user(&self) -> Option<&str> {
        self.auth_user.as_deref()
    }

    /// The EHLO/HELO name, once given.
    pub fn helo_name(&self) -> Option<&str> {
        self.helo.as_ref().map(|(name, _)| name.as_str())
    }

    /// Feeds bytes from the client. `now_unix` dates the `Received:` header
    /// of a message completed by these bytes.
    pub fn handle_input<B: SmtpBackend + ?Sized>(
        &mut self,
        data: &[u8],
        backend: &mut B,
        now_unix: i64,
    ) {
        if self.state == State::Closed {
            return;
        }
        self.reader.push(data);
        while self.state != State::Closed {
            if self.state == State::Data {
                // RFC 5321 §4.1.1.4: message text ends at CRLF only; a
                // bare LF is part of a line (see `proto::line`). After
                // the "." the same reader reads commands again.
                self.reader.set_ends(Ends::Crlf);
                let line = self.reader.next_line();
                self.reader.set_ends(Ends::LfOrCrlf);
                let Some(line) = line else {
                    break;
                };
                self.handle_data_line(line, backend, now_unix);
                continue;
            }
            let Some(line) = self.reader.next_line() else {
                break;
            };
            match self.state {
                State::AuthContinue => self.handle_auth_line(line, backend),
                _ => self.handle_command_line(line, backend),
            }
            if self.errors >= self.config.max_errors && self.state != State::Closed {
                self.close_with(Reply::new(
                    SERVICE_NOT_AVAILABLE,
                    format!(
                        "4.7.0 {} Too many errors, closing connection",
                        self.config.hostname
                    ),
                ));
            }
        }
    }

    // ---- output helpers ----------------------------------------------

    fn send(&mut self, reply: Reply) {
        if reply.is_permanent() {
            self.errors += 1;
        }
        for line in reply.wire_lines(STYLE) {
            self.out.note(Transcript::Reply {
                code: Some(reply.code),
                text: line,
            });
        }
        self.out.send(&reply.to_bytes(STYLE));
    }

    fn close_with(&mut self, reply: Reply) {
        self.send(reply);
        self.close();
    }

    fn close(&mut self) {
        self.state = State::Closed;
        self.transaction = Transaction::default();
        self.incoming = Incoming::default();
        // Whatever else the client sent is never read.
        self.reader = LineReader::new(MAX_LINE);
    }

    fn ok(text: &str) -> Reply {
        Reply::new(OK, text)
    }

    fn bad_sequence(text: &str) -> Reply {
        Reply::new(BAD_SEQUENCE, format!("5.5.1 {text}"))
    }

    // ---- commands ------------------------------------------------------

    fn handle_command_line<B: SmtpBackend + ?Sized>(&mut self, line: Line, backend: &mut B) {
        let text = match line {
            Line::Complete(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
            Line::TooLong => {
                // RFC 5321 §4.5.3.1.4 / §4.2.2: 500 "line too long".
                self.out.note(Transcript::Command("(line too long)".into()));
                self.send(Reply::new(SYNTAX_ERROR, "5.5.2 Line too long"));
                return;
            }
        };
        self.out.note(Transcript::Command(text.clone()));
        match parse_command(&text) {
            Ok(command) => self.handle_command(command, backend),
            Err(reply) => self.send(reply),
        }
    }

    fn handle_command<B: SmtpBackend + ?Sized>(&mut self, command: Command, backend: &mut B) {
        match command {
            Command::Ehlo(name) => self.cmd_ehlo(name, true),
            Command::Helo(name) => self.cmd_ehlo(name, false),
            Command::Mail {
                reverse_path,
                params,
            } => self.cmd_mail(reverse_path, params),
            Command::Rcpt(path) => self.cmd_rcpt(path, backend),
            Command::Data => self.cmd_data(),
            Command::Rset => {
                // RFC 5321 §4.1.1.5: abort the transaction, keep the greeting.
                self.reset_transaction();
                self.send(Self::ok("2.0.0 Ok"));
            }
            Command::Noop => self.send(Self::ok("2.0.0 Ok")),
            Command::Quit => {
                let text = format!("2.0.0 {} closing connection", self.config.hostname);
                self.close_with(Reply::new(SERVICE_CLOSING, text));
            }
            Command::Vrfy(_) => {
                // RFC 5321 §3.5.3: 252 when the server will not say.
                self.send(Reply::new(
                    CANNOT_VRFY,
                    "2.5.0 Cannot VRFY user, but will accept message and attempt delivery",
                ));
            }
            Command::Help => self.send(Reply::new(
                HELP_MESSAGE,
                "2.0.0 Commands: EHLO HELO MAIL RCPT DATA RSET NOOP VRFY AUTH QUIT HELP",
            )),
            Command::Auth {
                mechanism,
                initial_response,
            } => self.cmd_auth(&mechanism, initial_response, backend),
            Command::StartTls => self.cmd_starttls(),
            Command::NotImplemented(_) => {
                self.send(Reply::new(NOT_IMPLEMENTED, "5.5.1 Command not implemented"));
            }
        }
    }

    fn cmd_ehlo(&mut self, name: String, extended: bool) {
        // RFC 5321 §4.1.4: EHLO/HELO in the middle of a transaction resets it.
        self.reset_transaction();
        let greeting = format!("{} Hello {}", self.config.hostname, name);
        self.helo = Some((name, extended));
        self.state = State::Ready;
        if !extended {
            self.send(Reply::new(OK, greeting));
            return;
        }
        // RFC 5321 §4.1.1.1: the first line is the greeting, then one
        // extension keyword per line. RFC 2034 §3: the EHLO reply carries
        // no enhanced status code.
        let mut lines = vec![
            greeting,
            format!("SIZE {}", self.config.max_message_size),
            "8BITMIME".to_string(),
            "PIPELINING".to_string(),
        ];
        if self.config.starttls && !self.secure {
            lines.push("STARTTLS".to_string());
        }
        if self.auth_allowed() {
            lines.push("AUTH PLAIN LOGIN".to_string());
        }
        lines.push("ENHANCEDSTATUSCODES".to_string());
        self.send(Reply::multiline(OK, lines));
    }

    fn reset_transaction(&mut self) {
        self.transaction = Transaction::default();
        if matches!(self.state, State::Mail | State::Rcpt) {
            self.state = State::Ready;
        }
    }

    fn cmd_mail(&mut self, reverse_path: Option<Mailbox>, params: MailParams) {
        let reply = match self.state {
            State::Connected => Self::bad_sequence("Send EHLO/HELO first"),
            State::Mail | State::Rcpt => Self::bad_sequence("Nested MAIL command"),
            // RFC 6409 §4.3 / RFC 4954 §6: submission requires AUTH first.
            _ if self.config.submission && self.auth_user.is_none() => {
                Reply::new(AUTH_REQUIRED, "5.7.0 Authentication required")
            }
            // RFC 1870 §6.1: refuse up front a message declared too big.
            _ if params.size.unwrap_or(0) > self.config.max_message_size as u64 => Reply::new(
                EXCEEDED_STORAGE,
                "5.3.4 Message size exceeds fixed maximum message size",
            ),
            _ => {
                self.transaction = Transaction {
                    reverse_path,
                    recipients: Vec::new(),
                };
                self.state = State::Mail;
                Self::ok("2.1.0 Ok")
            }
        };
        self.send(reply);
    }

    fn cmd_rcpt<B: SmtpBackend + ?Sized>(&mut self, path: ForwardPath, backend: &mut B) {
        let reply = match self.state {
            State::Mail | State::Rcpt => self.check_recipient(path, backend),
            _ => Self::bad_sequence("Need MAIL command"),
        };
        self.send(reply);
    }

    /// Decides one recipient; on success adds it to the transaction.
    fn check_recipient<B: SmtpBackend + ?Sized>(
        &mut self,
        path: ForwardPath,
        backend: &mut B,
    ) -> Reply {
        if self.transaction.recipients.len() >= self.config.max_recipients {
            // RFC 5321 §4.5.3.1.10: 452 for too many recipients.
            return Reply::new(INSUFFICIENT_STORAGE, "4.5.3 Too many recipients");
        }
        let mailbox = match path {
            ForwardPath::Postmaster => Mailbox {
                local_part: "postmaster".into(),
                domain: self.config.hostname.clone(),
            },
            ForwardPath::Mailbox(mailbox) => {
                let domain = mailbox.domain.to_ascii_lowercase();
                if backend.is_local_domain(&domain) {
                    if !backend.user_exists(&mailbox.local_part, &domain) {
                        return Reply::new(
                            MAILBOX_UNAVAILABLE,
                            format!("5.1.1 <{mailbox}>: Recipient address rejected: User unknown"),
                        );
                    }
                } else if self.auth_user.is_none() && !backend.may_relay(self.client_addr) {
                    // Not an open relay: foreign domains only for clients
                    // who proved who they are.
                    return Reply::new(
                        MAILBOX_UNAVAILABLE,
                        format!("5.7.1 <{mailbox}>: Relay access denied"),
                    );
                }
                mailbox
            }
        };
        self.transaction.recipients.push(mailbox);
        self.state = State::Rcpt;
        Self::ok("2.1.5 Ok")
    }

    fn cmd_data(&mut self) {
        let reply = match self.state {
            State::Rcpt => {
                self.state = State::Data;
                self.incoming = Incoming::default();
                Reply::new(START_MAIL_INPUT, "End data with <CR><LF>.<CR><LF>")
            }
            State::Mail => Self::bad_sequence("Need RCPT command"),
            _ => Self::bad_sequence("Need MAIL command"),
        };
        self.send(reply);
    }

    // ---- AUTH PLAIN ----------------------------------------------------

    fn cmd_auth<B: SmtpBackend + ?Sized>(
        &mut self,
        mechanism: &str,
        initial_response: Option<String>,
        backend: &mut B,
    ) {
        let refusal = match self.state {
            _ if !self.config.offer_auth => {
                Some(Reply::new(NOT_IMPLEMENTED, "5.5.1 AUTH not available"))
            }
            // RFC 3207 §4: 530 until the client has started TLS.
            _ if !self.auth_allowed() => {
                Some(Reply::new(530, "5.7.0 Must issue a STARTTLS command first"))
            }
            State::Connected => Some(Self::bad_sequence("Send EHLO first")),
            State::Mail | State::Rcpt => Some(Self::bad_sequence(
                "AUTH not allowed during a mail transaction",
            )),
            _ if self.auth_user.is_some() => Some(Self::bad_sequence("Already authenticated")),
            _ if !mechanism.eq_ignore_ascii_case("PLAIN")
                && !mechanism.eq_ignore_ascii_case("LOGIN") =>
            {
                Some(Reply::new(
                    PARAMETER_NOT_IMPLEMENTED,
                    "5.5.4 Unrecognized authentication mechanism",
                ))
            }
            _ => None,
        };
        if let Some(reply) = refusal {
            self.send(reply);
            return;
        }
        if mechanism.eq_ignore_ascii_case("LOGIN") {
            // The username may come with the command (RFC 4954 §4's
            // initial response); then only the password is asked for.
            self.state = State::AuthContinue;
            match initial_response {
                Some(user) => self.login_user(&user),
                None => {
                    self.auth_step = AuthStep::LoginUser;
                    self.send(Reply::new(AUTH_CONTINUE, LOGIN_USERNAME));
                }
            }
            return;
        }
        match initial_response {
            Some(response) => self.finish_auth(&response, backend),
            None => {
                // RFC 4954 §4: an empty challenge, "334 ".
                self.state = State::AuthContinue;
                self.auth_step = AuthStep::Plain;
                self.send(Reply::new(AUTH_CONTINUE, ""));
            }
        }
    }

    /// LOGIN: the base64 username arrived; ask for the password.
    fn login_user(&mut self, response: &str) {
        let response = response.trim();
        if response == "*" {
            self.state = State::Ready;
            self.send(Reply::new(
                SYNTAX_ERROR_IN_PARAMETERS,
                "5.7.0 Authentication cancelled",
            ));
            return;
        }
        match base64_decode(response).and_then(|b| String::from_utf8(b).ok()) {
            Some(user) => {
                self.auth_step = AuthStep::LoginPassword(user);
                self.send(Reply::new(AUTH_CONTINUE, LOGIN_PASSWORD));
            }
            None => {
                self.state = State::Ready;
                self.send(Reply::new(
                    SYNTAX_ERROR_IN_PARAMETERS,
                    "5.5.2 Cannot decode response",
                ));
            }
        }
    }

    /// LOGIN: the base64 password arrived for `user`.
    fn login_password<B: SmtpBackend + ?Sized>(
        &mut self,
        user: String,
        response: &str,
        backend: &mut B,
    ) {
        let response = response.trim();
        let reply = if response == "*" {
            Reply::new(SYNTAX_ERROR_IN_PARAMETERS, "5.7.0 Authentication cancelled")
        } else {
            match base64_decode(response).and_then(|b| String::from_utf8(b).ok()) {
                None => Reply::new(SYNTAX_ERROR_IN_PARAMETERS, "5.5.2 Cannot decode response"),
                Some(password) if backend.check_password(&user, &password) => {
                    self.auth_user = Some(user);
                    Reply::new(AUTH_SUCCEEDED, "2.7.0 Authentication successful")
                }
                Some(_) => invalid_credentials(),
            }
        };
        self.send(reply);
    }

    fn handle_auth_line<B: SmtpBackend + ?Sized>(&mut self, line: Line, backend: &mut B) {
        self.state = State::Ready;
        let step = std::mem::replace(&mut self.auth_step, AuthStep::Plain);
        match line {
            Line::Complete(bytes) => {
                let text = String::from_utf8_lossy(&bytes).into_owned();
                self.out.note(Transcript::Command(text.clone()));
                match step {
                    AuthStep::Plain => self.finish_auth(&text, backend),
                    AuthStep::LoginUser => {
                        self.state = State::AuthContinue;
                        self.login_user(&text);
                    }
                    AuthStep::LoginPassword(user) => self.login_password(user, &text, backend),
                }
            }
            Line::TooLong => {
                self.out.note(Transcript::Command("(line too long)".into()));
                self.send(Reply::new(SYNTAX_ERROR, "5.5.2 Line too long"));
            }
        }
    }

    fn finish_auth<B: SmtpBackend + ?Sized>(&mut self, response: &str, backend: &mut B) {
        let response = response.trim();
        // RFC 4954 §4: "*" cancels the exchange.
        if response == "*" {
            self.send(Reply::new(
                SYNTAX_ERROR_IN_PARAMETERS,
                "5.7.0 Authentication cancelled",
            ));
            return;
        }
        let reply = match decode_plain(response) {
            Err(PlainError::Base64) => {
                Reply::new(SYNTAX_ERROR_IN_PARAMETERS, "5.5.2 Cannot decode response")
            }
            // RFC 4616 §2: acting as someone else is not allowed here.
            Ok(c) if !c.authzid.is_empty() && c.authzid != c.authcid => invalid_credentials(),
            Ok(c) if backend.check_password(&c.authcid, &c.passwd) => {
                self.auth_user = Some(c.authcid);
                Reply::new(AUTH_SUCCEEDED, "2.7.0 Authentication successful")
            }
            Ok(_) | Err(PlainError::Format) => invalid_credentials(),
        };
        self.send(reply);
    }

    // ---- DATA ------------------------------------------------------------

    fn handle_data_line<B: SmtpBackend + ?Sized>(
        &mut self,
        line: Line,
        backend: &mut B,
        now_unix: i64,
    ) {
        let bytes = match line {
            Line::Complete(bytes) => bytes,
            Line::TooLong => {
                // RFC 5321 §4.5.3.1.6: remember, refuse at the end of data.
                self.incoming.line_too_long = true;
                self.note_data_line("(line too long)".into());
                return;
            }
        };
        // RFC 5321 §4.1.1.4: a line with a single "." ends the data.
        if bytes == b"." {
            self.finish_data(backend, now_unix);
            return;
        }
        self.note_data_line(String::from_utf8_lossy(&bytes).into_owned());
        // RFC 5321 §4.5.2: remove the stuffed dot.
        let content = bytes.strip_prefix(b".").unwrap_or(&bytes);
        self.incoming.size += content.len() + 2;
        if self.incoming.size <= self.config.max_message_size {
            self.incoming.body.extend_from_slice(content);
            self.incoming.body.extend_from_slice(b"\r\n");
        }
    }

    fn note_data_line(&mut self, text: String) {
        if self.incoming.lines.count() {
            self.out.note(Transcript::Data(text));
        }
    }

    fn finish_data<B: SmtpBackend + ?Sized>(&mut self, backend: &mut B, now_unix: i64) {
        let incoming = std::mem::take(&mut self.incoming);
        let transaction = std::mem::take(&mut self.transaction);
        self.state = State::Ready;
        self.out.notes(incoming.lines.rest());
        self.out.note(Transcript::Data(".".into()));

        let reply = if incoming.line_too_long {
            Reply::new(SYNTAX_ERROR, "5.5.2 Line too long")
        } else if incoming.size > self.config.max_message_size {
            Reply::new(
                EXCEEDED_STORAGE,
                "5.3.4 Message size exceeds fixed maximum message size",
            )
        } else {
            let queue_id = backend.next_queue_id();
            let mut data = self.received_header(&queue_id, now_unix).into_bytes();
            data.extend_from_slice(&incoming.body);
            let message = ReceivedMessage {
                queue_id: queue_id.clone(),
                reverse_path: transaction.reverse_path,
                recipients: transaction.recipients,
                helo: self.helo_name().unwrap_or_default().to_string(),
                client_addr: self.client_addr,
                auth_user: self.auth_user.clone(),
                received_at: now_unix,
                data,
            };
            match backend.accept_message(message) {
                Ok(()) => Self::ok(&format!("2.0.0 Ok: queued as {queue_id}")),
                Err(reply) => reply,
            }
        };
        self.send(reply);
    }

    /// RFC 5321 §4.4: the trace line every server adds, e.g.
    /// `Received: from alice.crepes.fr ([10.0.1.2]) by mail.hamburger.edu
    /// with ESMTP id Q1; Mon, 02 Mar 2026 14:05:09 +0000`.
    fn received_header(&self, queue_id: &str, now_unix: i64) -> String {
        let (helo, extended) = match &self.helo {
            Some((name, extended)) => (name.as_str(), *extended),
            None => ("unknown", false),
        };
        // RFC 3848: ESMTP, with S over TLS and A when the client
        // authenticated.
        let protocol = match (extended, self.secure, self.auth_user.is_some()) {
            (false, _, _) => "SMTP",
            (true, false, false) => "ESMTP",
            (true, false, true) => "ESMTPA",
            (true, true, false) => "ESMTPS",
            (true, true, true) => "ESMTPSA",
        };
        let literal = match self.client_addr {
            IpAddr::V4(addr) => format!("[{addr}]"),
            IpAddr::V6(addr) => format!("[IPv6:{addr}]"),
        };
        format!(
            "Received: from {helo} ({literal}) by {host} with {protocol} id {queue_id}; {date}\r\n",
            host = self.config.hostname,
            date = date::rfc5322(now_unix),
        )
    }
}

fn invalid_credentials() -> Reply {
    Reply::new(AUTH_INVALID, "5.7.8 Authentication credentials invalid")
}

impl Session for SmtpServer {
    fn poll_output(&mut self) -> Option<Vec<u8>> {
        self.out.poll_output()
    }

    fn poll_transcript(&mut self) -> Option<Transcript> {
        self.out.poll_transcript()
    }

    fn wants_close(&self) -> bool {
        self.state == State::Closed
    }

    fn handle_close(&mut self) {
        // A transaction not finished with "." is simply forgotten.
        self.close();
    }

    fn take_starttls(&mut self) -> bool {
        std::mem::take(&mut self.starttls_pending)
    }

    fn tls_started(&mut self) {
        // RFC 3207 §4.2: forget everything, the client says EHLO again.
        self.secure = true;
        self.helo = None;
        self.auth_user = None;
        self.transaction = Transaction::default();
        self.state = State::Connected;
        self.reader = LineReader::new(MAX_LINE);
    }

    fn is_secure(&self) -> bool {
        self.secure
    }

    fn state_name(&self) -> &'static str {
        match self.state {
            State::Connected => "CONNECTED",
            State::Ready => "READY",
            State::AuthContinue => "AUTH-CONTINUE",
            State::Mail => "MAIL",
            State::Rcpt => "RCPT",
            State::Data => "DATA",
            State::Closed => "CLOSED",
        }
    }
}
