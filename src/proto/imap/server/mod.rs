//! One IMAP4rev1 server connection (RFC 3501), sans-IO.
//!
//! [`ImapServer`] takes the client's bytes, frames them into commands
//! (lines and literals, see `framing.rs`), parses each with imap-codec's
//! `CommandCodec`, runs it against a [`MailStore`] and encodes the replies
//! with `ResponseCodec`. It owns no socket and reads no clock: APPEND gets
//! the time as `now_unix`.
//!
//! Each connection keeps its own *view* of the selected folder: the UIDs it
//! has announced, in order (their positions are the sequence numbers), and
//! the flags it last reported. Whenever it may speak unprompted (before the
//! tagged reply of any command, and while idling when the driver calls
//! [`ImapServer::handle_mailbox_changed`]) it compares the view with the
//! store and reports what others changed:
//!
//! - `* n EXPUNGE` for messages that are gone, except while answering
//!   FETCH, STORE or SEARCH (RFC 3501 §7.4.1), since that would renumber
//!   messages under the client's feet; the UID forms may;
//! - `* n EXISTS` and `* n RECENT` for new messages;
//! - `* n FETCH (UID u FLAGS (...))` for flags another session changed.
//!
//! STARTTLS (RFC 3501 §6.2.1) when the driver can put TLS under the
//! session, with LOGINDISABLED until then if so configured.
//!
//! UIDPLUS (RFC 4315): APPEND answers `[APPENDUID v uid]`, COPY
//! `[COPYUID v source-uids dest-uids]` (MOVE in an untagged OK before its
//! expunges, RFC 6851 §4.3), and UID EXPUNGE removes only the `\Deleted`
//! messages among the UIDs it names. NAMESPACE (RFC 2342), ID (RFC 2971)
//! and ENABLE (RFC 5161, with nothing to enable) are answered, and LIST
//! marks the usual folder names with SPECIAL-USE attributes (RFC 6154, see
//! [`special_use`]). imap-codec 1.0 parses neither ID, NAMESPACE nor UID
//! EXPUNGE: `ext.rs` reads those by hand.
//!
//! The pieces: this file is the connection (its configuration, framing
//! the input, running each command, the replies); `auth` logs in;
//! `mailbox` has the folder commands; `messages` the commands on the
//! selected folder's messages; `view` is the session's view of that
//! folder and the reports of what others changed.
//!
//! Not implemented: CONDSTORE, COMPRESS, QUOTA, LIST-EXTENDED (so no
//! CREATE-SPECIAL-USE), MULTIAPPEND, an autologout timer.

use std::collections::VecDeque;

use imap_codec::{
    AuthenticateDataCodec, CommandCodec, GreetingCodec, IdleDoneCodec, ResponseCodec,
    decode::Decoder,
    encode::Encoder,
    imap_types::{
        auth::AuthMechanism,
        command::CommandBody,
        core::{Tag, Text},
        response::{
            Code, CodeOther, CommandContinuationRequest, Data, Greeting, GreetingKind, Response,
            Status,
        },
    },
};

use super::convert::unix_from_date_time;
use super::ext::{self, ExtCommand, IdField};
use super::framing::{self, Frame, FrameLimits, Framer};
use super::store::{DELIMITER, MailStore, StoreError};
use super::{data_transcript, encoded_transcript, printable};
use crate::proto::{Session, Transcript};

mod auth;
mod mailbox;
mod messages;
mod view;

pub use auth::{capabilities, capabilities_with};
pub use mailbox::special_use;
use view::Selected;

/// The server's states (RFC 3501 §3, plus the waits inside IDLE and
/// AUTHENTICATE), for the visualizer.
pub const STATES: &[&str] = &[
    "NOT-AUTHENTICATED",
    "AUTHENTICATING",
    "AUTHENTICATED",
    "SELECTED",
    "IDLING",
    "LOGOUT",
];

/// The server's state diagram (RFC 3501 §3, figure in §3.4).
pub const TRANSITIONS: &[crate::proto::Transition] = &[
    ("NOT-AUTHENTICATED", "AUTHENTICATED", "LOGIN ok"),
    ("NOT-AUTHENTICATED", "NOT-AUTHENTICATED", "LOGIN failed"),
    ("NOT-AUTHENTICATED", "AUTHENTICATING", "AUTHENTICATE PLAIN"),
    ("AUTHENTICATING", "AUTHENTICATED", "credentials ok"),
    (
        "AUTHENTICATING",
        "NOT-AUTHENTICATED",
        "credentials rejected / *",
    ),
    ("NOT-AUTHENTICATED", "LOGOUT", "LOGOUT / too many failures"),
    ("AUTHENTICATED", "SELECTED", "SELECT / EXAMINE ok"),
    ("SELECTED", "SELECTED", "SELECT / EXAMINE other folder"),
    (
        "SELECTED",
        "AUTHENTICATED",
        "CLOSE / UNSELECT / failed SELECT",
    ),
    ("AUTHENTICATED", "IDLING", "IDLE"),
    ("SELECTED", "IDLING", "IDLE"),
    ("IDLING", "AUTHENTICATED", "DONE"),
    ("IDLING", "SELECTED", "DONE"),
    ("AUTHENTICATED", "LOGOUT", "LOGOUT"),
    ("SELECTED", "LOGOUT", "LOGOUT / selected folder deleted"),
];

/// RFC 5530 response code: the user name or password was wrong.
pub const CODE_AUTHENTICATIONFAILED: &str = "AUTHENTICATIONFAILED";
/// RFC 5530: the operation needs a secure connection.
pub const CODE_PRIVACYREQUIRED: &str = "PRIVACYREQUIRED";
/// RFC 5530: the mailbox does not exist.
pub const CODE_NONEXISTENT: &str = "NONEXISTENT";
/// RFC 5530: CREATE or RENAME onto an existing name.
pub const CODE_ALREADYEXISTS: &str = "ALREADYEXISTS";
/// RFC 5530: the operation is not possible (delete INBOX, bad name, ...).
pub const CODE_CANNOT: &str = "CANNOT";
/// RFC 5530: some of the messages were expunged by another session.
pub const CODE_EXPUNGEISSUED: &str = "EXPUNGEISSUED";

/// Limits and names for a server connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImapConfig {
    /// The name in the greeting.
    pub hostname: String,
    /// Longest command line in octets (RFC 7162 §4 recommends accepting
    /// at least 8192).
    pub max_line: usize,
    /// Largest literal, which bounds APPENDed messages.
    pub max_literal: usize,
    /// Failed LOGIN/AUTHENTICATE attempts before the server says BYE.
    pub max_failed_logins: u32,
    /// RFC 3501 §6.2.1: STARTTLS is offered.
    pub starttls: bool,
    /// LOGIN and AUTHENTICATE only over TLS (LOGINDISABLED until then).
    pub require_tls_for_login: bool,
}

impl Default for ImapConfig {
    fn default() -> Self {
        ImapConfig {
            hostname: "localhost".to_string(),
            max_line: 64 * 1024,
            max_literal: 10 * 1024 * 1024,
            max_failed_logins: 3,
            starttls: false,
            require_tls_for_login: false,
        }
    }
}

/// What the connection is reading.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Mode {
    /// Commands.
    Command,
    /// RFC 2177: after `+ idling`, only `DONE` ends the IDLE command.
    Idle { tag: String },
    /// RFC 3501 §6.2.2: after `+ `, one line of base64 credentials.
    Authenticate { tag: String },
}

/// How a command ended: the tagged OK/NO/BAD.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Ok,
    No,
    Bad,
}

/// A command's result. `Pending` for IDLE and AUTHENTICATE, whose tagged
/// reply comes after more input.
#[derive(Debug, Clone)]
enum Done {
    Reply {
        kind: Kind,
        code: Option<Code<'static>>,
        text: String,
    },
    Pending,
}

fn ok(text: &str) -> Done {
    Done::Reply {
        kind: Kind::Ok,
        code: None,
        text: text.to_string(),
    }
}

fn ok_code(code: Code<'static>, text: &str) -> Done {
    Done::Reply {
        kind: Kind::Ok,
        code: Some(code),
        text: text.to_string(),
    }
}

fn no(code: Option<Code<'static>>, text: &str) -> Done {
    Done::Reply {
        kind: Kind::No,
        code,
        text: text.to_string(),
    }
}

fn bad(text: &str) -> Done {
    Done::Reply {
        kind: Kind::Bad,
        code: None,
        text: text.to_string(),
    }
}

/// An RFC 5530 response code that imap-types has no variant for.
fn code(name: &'static str) -> Code<'static> {
    Code::Other(CodeOther::unvalidated(name.as_bytes()))
}

/// RFC 4315 §3 `[APPENDUID uidvalidity uid]`.
fn appenduid(uid_validity: u32, uid: u32) -> Code<'static> {
    Code::Other(CodeOther::unvalidated(
        format!("APPENDUID {uid_validity} {uid}").into_bytes(),
    ))
}

/// RFC 4315 §3 `[COPYUID uidvalidity source-uids dest-uids]`, the two
/// sets in matching order.
fn copyuid(uid_validity: u32, source: &[u32], dest: &[u32]) -> Code<'static> {
    Code::Other(CodeOther::unvalidated(
        format!(
            "COPYUID {uid_validity} {} {}",
            ext::uid_set(source),
            ext::uid_set(dest)
        )
        .into_bytes(),
    ))
}

/// Response text; `Text` may not be empty or hold CR/LF.
fn text(s: &str) -> Text<'static> {
    let clean: String = s
        .chars()
        .map(|c| if c == '\r' || c == '\n' { ' ' } else { c })
        .collect();
    Text::try_from(clean).unwrap_or_else(|_| Text::unvalidated("-"))
}

/// The NO reply for a store error.
fn store_no(e: StoreError) -> Done {
    match e {
        StoreError::NoSuchUser => no(None, "No such user"),
        StoreError::NoSuchFolder => no(Some(code(CODE_NONEXISTENT)), "No such mailbox"),
        StoreError::FolderExists => no(Some(code(CODE_ALREADYEXISTS)), "Mailbox already exists"),
        StoreError::CannotDeleteInbox => no(Some(code(CODE_CANNOT)), "INBOX cannot be deleted"),
        StoreError::HasChildren => no(
            Some(code(CODE_CANNOT)),
            "Mailbox has subfolders, delete those first",
        ),
        StoreError::InvalidName => no(Some(code(CODE_CANNOT)), "Invalid mailbox name"),
        StoreError::NoSuchMessage => no(
            Some(code(CODE_EXPUNGEISSUED)),
            "Some messages were expunged",
        ),
        StoreError::NotSubscribed => no(Some(code(CODE_NONEXISTENT)), "Not subscribed"),
    }
}

/// One IMAP server connection. See the module documentation.
#[derive(Debug)]
pub struct ImapServer {
    config: ImapConfig,
    framer: Framer,
    mode: Mode,
    /// The logged-in user.
    user: Option<String>,
    selected: Option<Selected>,
    failed_logins: u32,
    output: VecDeque<Vec<u8>>,
    transcript: VecDeque<Transcript>,
    /// The server said BYE; nothing more will be read.
    logout: bool,
    /// The peer went away.
    closed: bool,
    secure: bool,
    starttls_pending: bool,
    /// RFC 2971: what the client said about itself with ID.
    client_id: Option<Vec<IdField>>,
}

impl ImapServer {
    /// A connection that is TLS from the first byte (port 993, RFC 8314).
    pub fn new_secure(config: ImapConfig) -> Self {
        let mut server = ImapServer::new(ImapConfig {
            starttls: false,
            ..config
        });
        server.secure = true;
        server
    }

    /// A new connection; the greeting (RFC 3501 §7.1.1 `* OK`) is queued.
    pub fn new(config: ImapConfig) -> Self {
        let limits = FrameLimits {
            max_line: config.max_line,
            max_literal: config.max_literal,
            max_message: config.max_literal.saturating_add(config.max_line * 4),
        };
        let mut server = ImapServer {
            framer: Framer::new(limits),
            config,
            mode: Mode::Command,
            user: None,
            selected: None,
            failed_logins: 0,
            output: VecDeque::new(),
            transcript: VecDeque::new(),
            logout: false,
            closed: false,
            secure: false,
            starttls_pending: false,
            client_id: None,
        };
        let greeting = Greeting {
            kind: GreetingKind::Ok,
            code: Some(Code::Capability(server.current_capabilities())),
            text: text(&format!(
                "{} IMAP4rev1 server ready",
                server.config.hostname
            )),
        };
        let mut lines = Vec::new();
        let bytes = encoded_transcript(GreetingCodec::new().encode(&greeting), true, &mut lines);
        server.transcript.extend(lines);
        server.output.push_back(bytes);
        server
    }

    /// The logged-in user, if any.
    pub fn user(&self) -> Option<&str> {
        self.user.as_deref()
    }

    /// The selected folder, if any.
    pub fn selected_folder(&self) -> Option<&str> {
        self.selected.as_ref().map(|s| s.name.as_str())
    }

    /// True while an IDLE command is running: the driver should call
    /// [`handle_mailbox_changed`](Self::handle_mailbox_changed) when the
    /// store changes.
    pub fn is_idling(&self) -> bool {
        matches!(self.mode, Mode::Idle { .. })
    }

    /// True while part of a command is buffered (a literal is awaited).
    pub fn is_mid_command(&self) -> bool {
        !self.framer.is_idle()
    }

    /// Failed login attempts so far.
    pub fn failed_logins(&self) -> u32 {
        self.failed_logins
    }

    /// The fields the client sent with its last ID command (RFC 2971),
    /// if it sent one with a list.
    pub fn client_id(&self) -> Option<&[IdField]> {
        self.client_id.as_deref()
    }

    /// Feeds bytes from the client. Commands are run as soon as they are
    /// complete; data may be split anywhere or hold several commands.
    pub fn handle_input(&mut self, data: &[u8], store: &mut dyn MailStore, now_unix: i64) {
        if self.logout || self.closed {
            return;
        }
        self.framer.push(data);
        while !self.logout {
            let progressed = match self.mode {
                Mode::Command => self.step_command(store, now_unix),
                Mode::Idle { .. } => self.step_idle(store),
                Mode::Authenticate { .. } => self.step_authenticate(store),
            };
            if !progressed {
                break;
            }
        }
    }

    /// Tells an idling session that the store may have changed (another
    /// session or a delivery touched its folder). RFC 2177: during IDLE the
    /// server sends EXISTS, EXPUNGE and FETCH as they happen. Outside IDLE
    /// this does nothing; the news waits for the next command.
    pub fn handle_mailbox_changed(&mut self, store: &mut dyn MailStore) {
        if self.is_idling() && !self.logout && !self.closed {
            self.report_changes(store, true);
        }
    }

    // ----- output ---------------------------------------------------------

    fn send(&mut self, response: &Response<'_>) {
        let mut lines = Vec::new();
        let bytes = encoded_transcript(ResponseCodec::new().encode(response), true, &mut lines);
        self.transcript.extend(lines);
        self.output.push_back(bytes);
    }

    fn send_status(&mut self, tag: Option<&str>, kind: Kind, code: Option<Code<'_>>, msg: &str) {
        let tag = tag.and_then(|t| Tag::try_from(t.to_string()).ok());
        let text = text(msg);
        let status = match kind {
            Kind::Ok => Status::Ok { tag, code, text },
            Kind::No => Status::No { tag, code, text },
            Kind::Bad => Status::Bad { tag, code, text },
        };
        self.send(&Response::Status(status));
    }

    fn send_untagged_ok(&mut self, code: Code<'_>, msg: &str) {
        self.send_status(None, Kind::Ok, Some(code), msg);
    }

    fn send_bye(&mut self, msg: &str) {
        self.send(&Response::Status(Status::Bye {
            code: None,
            text: text(msg),
        }));
        self.logout = true;
    }

    fn send_continuation(&mut self, msg: &str) {
        if let Ok(c) = CommandContinuationRequest::basic(None, msg.to_string()) {
            self.send(&Response::CommandContinuationRequest(c));
        }
    }

    fn send_data(&mut self, data: Data<'_>) {
        self.send(&Response::Data(data));
    }

    /// An untagged reply imap-codec 1.0 cannot encode (see `ext.rs`),
    /// written out as one line.
    fn send_line(&mut self, line: String) {
        let mut bytes = line.into_bytes();
        bytes.extend_from_slice(b"\r\n");
        self.transcript.push_back(Transcript::Reply {
            code: None,
            text: printable(&bytes),
        });
        self.output.push_back(bytes);
    }

    // ----- input ----------------------------------------------------------

    /// Frames and runs at most one command; false if more input is needed.
    fn step_command(&mut self, store: &mut dyn MailStore, now_unix: i64) -> bool {
        let Some(frame) = self.framer.next_frame() else {
            return false;
        };
        match frame {
            Frame::LiteralLine { line, sync, .. } => {
                self.transcript
                    .push_back(Transcript::Command(printable(&line)));
                // RFC 3501 §7.5: the server agrees to receive a
                // synchronising literal with a continuation request.
                // LITERAL+ literals ({n+}) come without asking.
                if sync {
                    self.send_continuation("Ready for literal data");
                }
            }
            Frame::Literal { start, len } => {
                let data = &self.framer.message()[start..start + len];
                self.transcript.extend(data_transcript(data));
            }
            Frame::Complete { line, message } => {
                if message == b"\r\n" {
                    // An empty line is no command; ignore it.
                    return true;
                }
                if !line.is_empty() {
                    self.transcript
                        .push_back(Transcript::Command(printable(&line)));
                }
                self.execute(&message, store, now_unix);
            }
            Frame::LineTooLong => {
                self.send_status(None, Kind::Bad, None, "Command line too long");
            }
            Frame::LiteralTooLarge { tag, sync } => {
                if sync {
                    // The client waits for "+" and will not send the data.
                    self.send_status(
                        tag.as_deref(),
                        Kind::No,
                        Some(Code::TooBig),
                        "Literal too large",
                    );
                } else {
                    // RFC 7888 §4: the data of a refused LITERAL+ literal
                    // is already on its way; the only safe answer is BYE.
                    self.send_bye("Literal too large");
                }
            }
        }
        true
    }

    fn step_idle(&mut self, store: &mut dyn MailStore) -> bool {
        let Some(line) = self.framer.next_line() else {
            return false;
        };
        let Mode::Idle { tag } = std::mem::replace(&mut self.mode, Mode::Command) else {
            return false;
        };
        let done = match line {
            Ok(line) => {
                self.transcript
                    .push_back(Transcript::Command(printable(&line)));
                let mut data = line;
                data.extend_from_slice(b"\r\n");
                match IdleDoneCodec::new().decode(&data) {
                    Ok(_) => ok("IDLE terminated"),
                    Err(_) => bad("Expected DONE"),
                }
            }
            Err(()) => bad("Expected DONE"),
        };
        self.finish(&tag, done, store, true);
        true
    }

    fn step_authenticate(&mut self, store: &mut dyn MailStore) -> bool {
        let Some(line) = self.framer.next_line() else {
            return false;
        };
        let Mode::Authenticate { tag } = std::mem::replace(&mut self.mode, Mode::Command) else {
            return false;
        };
        let done = match line {
            Ok(line) => {
                self.transcript
                    .push_back(Transcript::Command(printable(&line)));
                if line == b"*" {
                    // RFC 3501 §6.2.2: "*" cancels the exchange.
                    bad("AUTHENTICATE cancelled")
                } else {
                    let mut data = line;
                    data.extend_from_slice(b"\r\n");
                    match AuthenticateDataCodec::new().decode(&data) {
                        Ok((_, credentials)) => self.check_plain(store, credentials.0.declassify()),
                        Err(_) => bad("Invalid base64"),
                    }
                }
            }
            Err(()) => bad("Line too long"),
        };
        self.finish(&tag, done, store, true);
        true
    }

    /// Parses and runs one complete command.
    fn execute(&mut self, message: &[u8], store: &mut dyn MailStore, now_unix: i64) {
        let command = match CommandCodec::new().decode(message) {
            Ok((_, command)) => command,
            Err(_) => {
                if let Some((tag, parsed)) = ext::parse(message) {
                    self.execute_ext(&tag, parsed, store);
                    return;
                }
                let tag = framing::first_word(message);
                self.send_status(
                    tag.as_deref(),
                    Kind::Bad,
                    None,
                    "Unknown command or syntax error",
                );
                return;
            }
        };
        let tag = command.tag.inner().to_string();
        if let Err(msg) = self.check_state(&command.body) {
            self.send_status(Some(&tag), Kind::Bad, None, msg);
            return;
        }
        // RFC 3501 §7.4.1: no EXPUNGE while answering FETCH, STORE or
        // SEARCH; their UID forms may report it.
        let allow_expunge = !matches!(
            command.body,
            CommandBody::Fetch { uid: false, .. }
                | CommandBody::Store { uid: false, .. }
                | CommandBody::Search { uid: false, .. }
        );
        // A UID command may name messages this session has not announced
        // yet: bring the view up to date first (EXPUNGE is allowed here).
        let uid_command = matches!(
            command.body,
            CommandBody::Fetch { uid: true, .. }
                | CommandBody::Store { uid: true, .. }
                | CommandBody::Search { uid: true, .. }
                | CommandBody::Copy { uid: true, .. }
                | CommandBody::Move { uid: true, .. }
        );
        if uid_command {
            self.report_changes(store, true);
        }
        let done = self.run(&tag, command.body, store, now_unix);
        self.finish(&tag, done, store, allow_expunge);
    }

    /// Runs one of the commands `ext.rs` reads: ID in any state,
    /// NAMESPACE once logged in, UID EXPUNGE with a folder selected.
    fn execute_ext(
        &mut self,
        tag: &str,
        parsed: Result<ExtCommand, &'static str>,
        store: &mut dyn MailStore,
    ) {
        let command = match parsed {
            Ok(c) => c,
            Err(msg) => return self.send_status(Some(tag), Kind::Bad, None, msg),
        };
        let state_error = match command {
            ExtCommand::Id(_) => None,
            ExtCommand::Namespace => self.user.is_none().then_some("Log in first"),
            ExtCommand::UidExpunge(_) => self.selected.is_none().then_some("No mailbox selected"),
        };
        if let Some(msg) = state_error {
            return self.send_status(Some(tag), Kind::Bad, None, msg);
        }
        let done = match command {
            ExtCommand::Id(fields) => {
                // RFC 2971 §3.1: the server answers with its own ID.
                if fields.is_some() {
                    self.client_id = fields;
                }
                self.send_line(ext::id_response());
                ok("ID completed")
            }
            ExtCommand::Namespace => {
                self.send_line(ext::namespace_response(DELIMITER));
                ok("NAMESPACE completed")
            }
            ExtCommand::UidExpunge(set) => {
                // Like the other UID commands: the view is brought up to
                // date first, so `*` is the largest UID there is.
                self.report_changes(store, true);
                self.cmd_uid_expunge(store, &set)
            }
        };
        self.finish(tag, done, store, true);
    }

    /// Reports pending changes and sends the tagged reply.
    fn finish(&mut self, tag: &str, done: Done, store: &mut dyn MailStore, allow_expunge: bool) {
        let Done::Reply { kind, code, text } = done else {
            return;
        };
        let was_logout = self.logout;
        if !was_logout {
            self.report_changes(store, allow_expunge);
        }
        self.send_status(Some(tag), kind, code, &text);
        if !self.logout
            && self.user.is_none()
            && self.failed_logins >= self.config.max_failed_logins
        {
            self.send_bye("Too many failed login attempts");
        }
    }

    /// RFC 3501 §3: which commands each state allows.
    fn check_state(&self, body: &CommandBody<'_>) -> Result<(), &'static str> {
        use CommandBody as C;
        match body {
            C::Capability | C::Noop | C::Logout => Ok(()),
            C::StartTLS => {
                if self.user.is_some() {
                    Err("Already authenticated")
                } else {
                    Ok(())
                }
            }
            C::Login { .. } | C::Authenticate { .. } => {
                if self.user.is_some() {
                    Err("Already authenticated")
                } else {
                    Ok(())
                }
            }
            C::Select { .. }
            | C::Examine { .. }
            | C::Create { .. }
            | C::Delete { .. }
            | C::Rename { .. }
            | C::Subscribe { .. }
            | C::Unsubscribe { .. }
            | C::List { .. }
            | C::Lsub { .. }
            | C::Status { .. }
            | C::Append { .. }
            | C::Idle => {
                if self.user.is_none() {
                    Err("Log in first")
                } else {
                    Ok(())
                }
            }
            // RFC 5161 §3.1: only in the authenticated state, before any
            // mailbox is selected.
            C::Enable { .. } => {
                if self.user.is_none() {
                    Err("Log in first")
                } else if self.selected.is_some() {
                    Err("ENABLE must come before SELECT or EXAMINE")
                } else {
                    Ok(())
                }
            }
            C::Check
            | C::Close
            | C::Unselect
            | C::Expunge
            | C::Search { .. }
            | C::Fetch { .. }
            | C::Store { .. }
            | C::Copy { .. }
            | C::Move { .. } => {
                if self.selected.is_none() {
                    Err("No mailbox selected")
                } else {
                    Ok(())
                }
            }
            _ => Ok(()),
        }
    }

    /// Runs one command that is valid in the current state.
    fn run(
        &mut self,
        tag: &str,
        body: CommandBody<'_>,
        store: &mut dyn MailStore,
        now_unix: i64,
    ) -> Done {
        use CommandBody as C;
        match body {
            C::Capability => {
                self.send_data(Data::Capability(self.current_capabilities()));
                ok("CAPABILITY completed")
            }
            C::StartTLS => {
                if !self.config.starttls || self.secure {
                    bad("STARTTLS not available")
                } else {
                    // RFC 3501 §6.2.1: OK, then TLS; nothing after the
                    // command in the clear is read.
                    self.starttls_pending = true;
                    self.framer = Framer::new(self.limits());
                    ok("Begin TLS negotiation now")
                }
            }
            C::Login { .. } | C::Authenticate { .. } if self.login_disabled() => no(
                Some(code(CODE_PRIVACYREQUIRED)),
                "LOGIN disabled until STARTTLS: no password in the clear",
            ),
            C::Noop => ok("NOOP completed"),
            C::Check => ok("CHECK completed"),
            C::Logout => {
                self.send_bye("Logging out");
                ok("LOGOUT completed")
            }
            C::Login { username, password } => {
                let user = String::from_utf8_lossy(username.as_ref()).into_owned();
                let pass = String::from_utf8_lossy(password.declassify().as_ref()).into_owned();
                self.try_login(store, &user, &pass)
            }
            C::Authenticate {
                mechanism,
                initial_response,
            } => {
                if mechanism != AuthMechanism::Plain {
                    return no(None, "Unsupported authentication mechanism");
                }
                match initial_response {
                    // RFC 4959 SASL-IR: the credentials came with the command.
                    Some(data) => self.check_plain(store, data.declassify()),
                    None => {
                        self.send(&Response::CommandContinuationRequest(
                            CommandContinuationRequest::base64(Vec::new()),
                        ));
                        self.mode = Mode::Authenticate {
                            tag: tag.to_string(),
                        };
                        Done::Pending
                    }
                }
            }
            C::Select { mailbox } => self.cmd_select(store, &mailbox, false),
            C::Examine { mailbox } => self.cmd_select(store, &mailbox, true),
            C::Create { mailbox } => self.cmd_create(store, &mailbox),
            C::Delete { mailbox } => self.cmd_delete(store, &mailbox),
            C::Rename { from, to } => self.cmd_rename(store, &from, &to),
            C::Subscribe { mailbox } => self.cmd_subscribe(store, &mailbox, true),
            C::Unsubscribe { mailbox } => self.cmd_subscribe(store, &mailbox, false),
            C::List {
                reference,
                mailbox_wildcard,
            } => self.cmd_list(store, &reference, &mailbox_wildcard, false),
            C::Lsub {
                reference,
                mailbox_wildcard,
            } => self.cmd_list(store, &reference, &mailbox_wildcard, true),
            C::Status {
                mailbox,
                item_names,
            } => self.cmd_status(store, &mailbox, &item_names),
            C::Append {
                mailbox,
                flags,
                date,
                message,
            } => {
                let date = date.as_ref().map(unix_from_date_time).unwrap_or(now_unix);
                self.cmd_append(store, &mailbox, &flags, date, message.data())
            }
            C::Close => self.cmd_close(store, true),
            C::Unselect => self.cmd_close(store, false),
            C::Expunge => self.cmd_expunge(store),
            C::Search {
                charset,
                criteria,
                uid,
            } => self.cmd_search(store, charset.as_ref(), &criteria, uid),
            C::Fetch {
                sequence_set,
                macro_or_item_names,
                uid,
            } => self.cmd_fetch(store, &sequence_set, &macro_or_item_names, uid),
            C::Store {
                sequence_set,
                kind,
                response,
                flags,
                uid,
            } => self.cmd_store(store, &sequence_set, kind, response, &flags, uid),
            C::Copy {
                sequence_set,
                mailbox,
                uid,
            } => self.cmd_copy(store, &sequence_set, &mailbox, uid, false),
            C::Move {
                sequence_set,
                mailbox,
                uid,
            } => self.cmd_copy(store, &sequence_set, &mailbox, uid, true),
            C::Enable { .. } => {
                // RFC 5161 §3.2: the reply lists what was enabled. This
                // server has no extension that needs enabling, so the list
                // is always empty.
                self.send_data(Data::Enabled {
                    capabilities: Vec::new(),
                });
                ok("ENABLE completed")
            }
            C::Idle => {
                self.send_continuation("idling");
                self.mode = Mode::Idle {
                    tag: tag.to_string(),
                };
                // RFC 2177: what happened before IDLE is reported at once.
                self.report_changes(store, true);
                Done::Pending
            }
            _ => bad("Command not supported"),
        }
    }
}

impl Session for ImapServer {
    fn poll_output(&mut self) -> Option<Vec<u8>> {
        self.output.pop_front()
    }

    fn poll_transcript(&mut self) -> Option<Transcript> {
        self.transcript.pop_front()
    }

    fn wants_close(&self) -> bool {
        // After LOGOUT, or once the client went away (as every machine's:
        // there is no one left to answer).
        self.logout || self.closed
    }

    fn handle_close(&mut self) {
        self.closed = true;
        self.mode = Mode::Command;
    }

    fn take_starttls(&mut self) -> bool {
        std::mem::take(&mut self.starttls_pending)
    }

    fn tls_started(&mut self) {
        // RFC 3501 §6.2.1: the client asks for the capabilities again.
        self.secure = true;
        self.framer = Framer::new(self.limits());
    }

    fn is_secure(&self) -> bool {
        self.secure
    }

    fn state_name(&self) -> &'static str {
        if self.logout || self.closed {
            "LOGOUT"
        } else {
            match self.mode {
                Mode::Idle { .. } => "IDLING",
                Mode::Authenticate { .. } => "AUTHENTICATING",
                Mode::Command if self.selected.is_some() => "SELECTED",
                Mode::Command if self.user.is_some() => "AUTHENTICATED",
                Mode::Command => "NOT-AUTHENTICATED",
            }
        }
    }
}
