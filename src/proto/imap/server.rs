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
//! Not implemented: CONDSTORE, COMPRESS, QUOTA, LIST-EXTENDED (so no
//! CREATE-SPECIAL-USE), MULTIAPPEND, an autologout timer.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::num::NonZeroU32;

use imap_codec::{
    AuthenticateDataCodec, CommandCodec, GreetingCodec, IdleDoneCodec, ResponseCodec,
    decode::Decoder,
    encode::Encoder,
    imap_types::{
        auth::AuthMechanism,
        command::CommandBody,
        core::{Atom, Charset, NonEmptyVec, QuotedChar, Tag, Text},
        fetch::{MacroOrMessageDataItemNames, MessageDataItem, MessageDataItemName, Part, Section},
        flag::{Flag as ImapFlag, FlagNameAttribute, StoreResponse, StoreType},
        mailbox::{ListMailbox, Mailbox},
        response::{
            Capability, Code, CodeOther, CommandContinuationRequest, Data, Greeting, GreetingKind,
            Response, Status,
        },
        search::SearchKey,
        sequence::{SeqOrUid, Sequence, SequenceSet},
        status::{StatusDataItem, StatusDataItemName},
    },
};

use super::convert::{
    body_structure, envelope, flag_fetch, flag_list, flag_set, internal_date, list_pattern,
    literal, mailbox, mailbox_name, perm_flags, set_contains, unix_from_date_time,
};
use super::ext::{self, ExtCommand, IdField};
use super::framing::{self, Frame, FrameLimits, Framer};
use super::message::{MimePart, header_fields, parse_message};
use super::search::{self, Candidate};
use super::store::{DELIMITER, Flag, FlagSet, INBOX, MailStore, MessageMeta, StoreError};
use super::{data_transcript, encoded_transcript, printable};
use crate::proto::{Session, Transcript};

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

/// One message as this session last reported it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct ViewMessage {
    uid: u32,
    flags: FlagSet,
}

/// The selected folder and this session's view of it.
#[derive(Debug, Clone)]
struct Selected {
    name: String,
    read_only: bool,
    uid_validity: u32,
    /// In sequence-number order: `view[0]` is message 1.
    view: Vec<ViewMessage>,
    /// UIDs that are `\Recent` in this session.
    recent: BTreeSet<u32>,
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

/// RFC 6154 §2: the special-use attribute LIST gives a folder, if its name
/// is one that mail programs use for that purpose. Only top-level folders
/// count ("Work/Archive" is just a folder), names compare without regard to
/// case:
///
/// | attribute  | folder names                                  |
/// |------------|-----------------------------------------------|
/// | `\Sent`    | Sent, Sent Messages, Sent Items               |
/// | `\Drafts`  | Drafts                                        |
/// | `\Trash`   | Trash, Deleted Messages, Deleted Items        |
/// | `\Junk`    | Junk, Spam                                    |
/// | `\Archive` | Archive                                       |
///
/// A scenario that gives a user these folders thereby tells the client
/// where to file sent mail, drafts and deleted messages.
pub fn special_use(folder: &str) -> Option<&'static str> {
    const TABLE: &[(&str, &[&str])] = &[
        ("Sent", &["Sent", "Sent Messages", "Sent Items"]),
        ("Drafts", &["Drafts"]),
        ("Trash", &["Trash", "Deleted Messages", "Deleted Items"]),
        ("Junk", &["Junk", "Spam"]),
        ("Archive", &["Archive"]),
    ];
    if folder.contains(DELIMITER) {
        return None;
    }
    TABLE
        .iter()
        .find(|(_, names)| names.iter().any(|n| n.eq_ignore_ascii_case(folder)))
        .map(|(attribute, _)| *attribute)
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

/// What this server advertises in CAPABILITY: with `starttls`, STARTTLS
/// (and, with `login_disabled`, LOGINDISABLED and no AUTH=).
pub fn capabilities_with(starttls: bool, login_disabled: bool) -> NonEmptyVec<Capability<'static>> {
    let mut caps = capabilities().into_inner();
    if starttls {
        caps.push(Capability::StartTls);
    }
    if login_disabled {
        caps.retain(|c| !matches!(c, Capability::Auth(_) | Capability::SaslIr));
        caps.push(Capability::LoginDisabled);
    }
    NonEmptyVec::try_from(caps).unwrap_or_else(|_| NonEmptyVec::from(Capability::Imap4Rev1))
}

/// What this server advertises in CAPABILITY over a connection that needs
/// nothing more.
pub fn capabilities() -> NonEmptyVec<Capability<'static>> {
    let mut caps = vec![
        Capability::Imap4Rev1,
        Capability::LiteralPlus,
        Capability::Idle,
        Capability::Move,
    ];
    for other in ["UNSELECT", "CHILDREN", "UIDPLUS", "NAMESPACE", "ID"] {
        if let Ok(c) = Capability::try_from(other) {
            caps.push(c);
        }
    }
    caps.push(Capability::Enable);
    if let Ok(c) = Capability::try_from("SPECIAL-USE") {
        caps.push(c);
    }
    caps.push(Capability::Auth(AuthMechanism::Plain));
    caps.push(Capability::SaslIr);
    NonEmptyVec::try_from(caps).unwrap_or_else(|_| NonEmptyVec::from(Capability::Imap4Rev1))
}

/// True if fetching `name` needs the message bytes.
fn item_needs_body(name: &MessageDataItemName<'_>) -> bool {
    use MessageDataItemName as N;
    !matches!(name, N::Flags | N::Uid | N::InternalDate | N::Rfc822Size)
}

/// RFC 3501 §6.4.5: BODY[...] (not PEEK), RFC822 and RFC822.TEXT set
/// `\Seen`.
fn item_sets_seen(name: &MessageDataItemName<'_>) -> bool {
    use MessageDataItemName as N;
    matches!(
        name,
        N::Rfc822 | N::Rfc822Text | N::BodyExt { peek: false, .. }
    )
}

fn part_path(part: &Part) -> Vec<u32> {
    part.0.as_ref().iter().map(|n| n.get()).collect()
}

/// The message a HEADER/TEXT section refers to: the whole message, or the
/// one encapsulated in a `message/rfc822` part.
fn section_message<'m, 'a>(
    mime: &'m MimePart<'a>,
    part: Option<&Part>,
) -> Option<&'m MimePart<'a>> {
    match part {
        None => Some(mime),
        Some(p) => mime.find(&part_path(p))?.message.as_deref(),
    }
}

/// RFC 3501 §6.4.5: the octets a BODY[section] names. A section that does
/// not exist is empty.
fn section_data(mime: &MimePart<'_>, whole: &[u8], section: Option<&Section<'_>>) -> Vec<u8> {
    let names = |list: &NonEmptyVec<imap_codec::imap_types::core::AString<'_>>| {
        list.as_ref()
            .iter()
            .map(|n| n.as_ref().to_vec())
            .collect::<Vec<_>>()
    };
    let data = match section {
        None => Some(whole.to_vec()),
        Some(Section::Part(p)) => mime.find(&part_path(p)).map(|m| m.body.to_vec()),
        Some(Section::Header(p)) => section_message(mime, p.as_ref()).map(|m| m.header.to_vec()),
        Some(Section::Text(p)) => section_message(mime, p.as_ref()).map(|m| m.body.to_vec()),
        Some(Section::HeaderFields(p, list)) => {
            section_message(mime, p.as_ref()).map(|m| header_fields(m.header, &names(list), false))
        }
        Some(Section::HeaderFieldsNot(p, list)) => {
            section_message(mime, p.as_ref()).map(|m| header_fields(m.header, &names(list), true))
        }
        Some(Section::Mime(p)) => mime.find(&part_path(p)).map(|m| m.header.to_vec()),
    };
    data.unwrap_or_default()
}

/// RFC 3501 §6.4.5 `<origin.length>`: a substring of the section.
fn partial(data: Vec<u8>, origin: u32, length: NonZeroU32) -> Vec<u8> {
    let start = (origin as usize).min(data.len());
    let end = start.saturating_add(length.get() as usize).min(data.len());
    data[start..end].to_vec()
}

/// One FETCH data item for one message.
fn fetch_item<'a>(
    name: &MessageDataItemName<'a>,
    meta: &MessageMeta,
    flags: &FlagSet,
    recent: bool,
    whole: &[u8],
    mime: Option<&MimePart<'_>>,
) -> Option<MessageDataItem<'a>> {
    use MessageDataItemName as N;
    Some(match name {
        N::Uid => MessageDataItem::Uid(NonZeroU32::new(meta.uid)?),
        N::Flags => MessageDataItem::Flags(flag_fetch(flags, recent)),
        N::InternalDate => MessageDataItem::InternalDate(internal_date(meta.internal_date)?),
        N::Rfc822Size => MessageDataItem::Rfc822Size(meta.size),
        N::Envelope => MessageDataItem::Envelope(envelope(mime?.header)),
        N::Body => MessageDataItem::Body(body_structure(mime?, false)),
        N::BodyStructure => MessageDataItem::BodyStructure(body_structure(mime?, true)),
        N::Rfc822 => MessageDataItem::Rfc822(literal(whole)),
        N::Rfc822Header => MessageDataItem::Rfc822Header(literal(mime?.header)),
        N::Rfc822Text => MessageDataItem::Rfc822Text(literal(mime?.body)),
        N::BodyExt {
            section,
            partial: range,
            ..
        } => {
            let data = section_data(mime?, whole, section.as_ref());
            let (origin, data) = match range {
                Some((origin, length)) => (Some(*origin), partial(data, *origin, *length)),
                None => (None, data),
            };
            MessageDataItem::BodyExt {
                section: section.clone(),
                origin,
                data: literal(&data),
            }
        }
    })
}

/// RFC 3501 §6.3.8 LIST wildcards: `*` matches anything, `%` anything but
/// the hierarchy delimiter. Dynamic programming, so no pattern is slow.
fn list_match(pattern: &str, name: &str) -> bool {
    let name: Vec<char> = name.chars().collect();
    let n = name.len();
    let mut dp = vec![false; n + 1];
    dp[0] = true;
    for pc in pattern.chars() {
        let mut next = vec![false; n + 1];
        match pc {
            '*' => {
                let mut any = false;
                for j in 0..=n {
                    any |= dp[j];
                    next[j] = any;
                }
            }
            '%' => {
                next[0] = dp[0];
                for j in 1..=n {
                    next[j] = dp[j] || (next[j - 1] && name[j - 1] != DELIMITER);
                }
            }
            c => {
                for j in 1..=n {
                    next[j] = dp[j - 1] && name[j - 1] == c;
                }
            }
        }
        dp = next;
    }
    dp[n]
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

    // ----- authentication -------------------------------------------------

    fn login_disabled(&self) -> bool {
        self.config.require_tls_for_login && !self.secure
    }

    fn current_capabilities(&self) -> NonEmptyVec<Capability<'static>> {
        if self.user.is_some() {
            return capabilities();
        }
        capabilities_with(self.config.starttls && !self.secure, self.login_disabled())
    }

    fn limits(&self) -> FrameLimits {
        FrameLimits {
            max_line: self.config.max_line,
            max_literal: self.config.max_literal,
            max_message: self
                .config
                .max_literal
                .saturating_add(self.config.max_line * 4),
        }
    }

    fn try_login(&mut self, store: &mut dyn MailStore, user: &str, password: &str) -> Done {
        if store.check_password(user, password) {
            self.user = Some(user.to_string());
            self.failed_logins = 0;
            ok_code(Code::Capability(capabilities()), "Logged in")
        } else {
            self.failed_logins += 1;
            no(Some(code(CODE_AUTHENTICATIONFAILED)), "Invalid credentials")
        }
    }

    /// RFC 4616 PLAIN: `authzid NUL authcid NUL password`.
    fn check_plain(&mut self, store: &mut dyn MailStore, data: &[u8]) -> Done {
        let parts: Vec<&[u8]> = data.split(|&b| b == 0).collect();
        let [authz, authc, pass] = parts.as_slice() else {
            self.failed_logins += 1;
            return bad("Malformed PLAIN credentials");
        };
        if !authz.is_empty() && authz != authc {
            self.failed_logins += 1;
            return no(
                Some(code(CODE_AUTHENTICATIONFAILED)),
                "Cannot act as another user",
            );
        }
        let user = String::from_utf8_lossy(authc).into_owned();
        let pass = String::from_utf8_lossy(pass).into_owned();
        self.try_login(store, &user, &pass)
    }

    // ----- folders ----------------------------------------------------------

    fn user_name(&self) -> String {
        self.user.clone().unwrap_or_default()
    }

    /// RFC 3501 §6.3.1 SELECT and §6.3.2 EXAMINE.
    fn cmd_select(
        &mut self,
        store: &mut dyn MailStore,
        mbox: &Mailbox<'_>,
        read_only: bool,
    ) -> Done {
        // RFC 3501 §6.3.1: a SELECT first leaves the selected folder, even
        // if it then fails.
        self.selected = None;
        let Some(name) = mailbox_name(mbox) else {
            return no(Some(code(CODE_NONEXISTENT)), "No such mailbox");
        };
        let user = self.user_name();
        let (info, messages) = match (
            store.folder_info(&user, &name),
            store.messages(&user, &name),
        ) {
            (Ok(i), Ok(m)) => (i, m),
            _ => return no(Some(code(CODE_NONEXISTENT)), "No such mailbox"),
        };
        // EXAMINE must not take \Recent away from others (§6.3.2).
        let recent_from = if read_only {
            info.recent_from
        } else {
            store.claim_recent(&user, &name).unwrap_or(info.recent_from)
        };
        let recent: BTreeSet<u32> = messages
            .iter()
            .filter(|m| m.uid >= recent_from)
            .map(|m| m.uid)
            .collect();
        let mut folder_flags: FlagSet = Flag::SYSTEM.into_iter().collect();
        for m in &messages {
            folder_flags.extend(m.flags.iter().cloned());
        }
        let first_unseen = messages.iter().position(|m| !m.flags.contains(&Flag::Seen));

        self.send_data(Data::Flags(flag_list(&folder_flags)));
        if read_only {
            self.send_untagged_ok(
                Code::PermanentFlags(Vec::new()),
                "No permanent flags permitted",
            );
        } else {
            self.send_untagged_ok(
                Code::PermanentFlags(perm_flags(&folder_flags, true)),
                "Flags permitted",
            );
        }
        self.send_data(Data::Exists(messages.len() as u32));
        self.send_data(Data::Recent(recent.len() as u32));
        if let Some(seq) = first_unseen.and_then(|i| NonZeroU32::new(i as u32 + 1)) {
            self.send_untagged_ok(Code::Unseen(seq), "First unseen");
        }
        if let Some(v) = NonZeroU32::new(info.uid_validity) {
            self.send_untagged_ok(Code::UidValidity(v), "UIDs valid");
        }
        if let Some(n) = NonZeroU32::new(info.uid_next) {
            self.send_untagged_ok(Code::UidNext(n), "Predicted next UID");
        }
        self.selected = Some(Selected {
            name,
            read_only,
            uid_validity: info.uid_validity,
            view: messages
                .into_iter()
                .map(|m| ViewMessage {
                    uid: m.uid,
                    flags: m.flags,
                })
                .collect(),
            recent,
        });
        if read_only {
            ok_code(Code::ReadOnly, "EXAMINE completed")
        } else {
            ok_code(Code::ReadWrite, "SELECT completed")
        }
    }

    /// RFC 3501 §6.3.3 CREATE.
    fn cmd_create(&mut self, store: &mut dyn MailStore, mbox: &Mailbox<'_>) -> Done {
        let Some(mut name) = mailbox_name(mbox) else {
            return no(Some(code(CODE_CANNOT)), "Invalid mailbox name");
        };
        // A trailing delimiter only says children will follow.
        while name.ends_with(DELIMITER) {
            name.pop();
        }
        match store.create_folder(&self.user_name(), &name) {
            Ok(()) => ok("CREATE completed"),
            Err(e) => store_no(e),
        }
    }

    /// RFC 3501 §6.3.4 DELETE.
    fn cmd_delete(&mut self, store: &mut dyn MailStore, mbox: &Mailbox<'_>) -> Done {
        let Some(name) = mailbox_name(mbox) else {
            return no(Some(code(CODE_NONEXISTENT)), "No such mailbox");
        };
        match store.delete_folder(&self.user_name(), &name) {
            Ok(()) => {
                if self.selected_folder() == Some(name.as_str()) {
                    self.selected = None;
                }
                ok("DELETE completed")
            }
            Err(e) => store_no(e),
        }
    }

    /// RFC 3501 §6.3.5 RENAME.
    fn cmd_rename(
        &mut self,
        store: &mut dyn MailStore,
        from: &Mailbox<'_>,
        to: &Mailbox<'_>,
    ) -> Done {
        let (Some(from), Some(to)) = (mailbox_name(from), mailbox_name(to)) else {
            return no(Some(code(CODE_CANNOT)), "Invalid mailbox name");
        };
        match store.rename_folder(&self.user_name(), &from, &to) {
            Ok(()) => {
                // Keep this session's selection under its new name (INBOX
                // stays INBOX: only its messages moved).
                if from != INBOX
                    && let Some(sel) = self.selected.as_mut()
                {
                    let prefix = format!("{from}{DELIMITER}");
                    if sel.name == from {
                        sel.name = to.clone();
                    } else if let Some(rest) = sel.name.strip_prefix(&prefix) {
                        sel.name = format!("{to}{DELIMITER}{rest}");
                    }
                }
                ok("RENAME completed")
            }
            Err(e) => store_no(e),
        }
    }

    /// RFC 3501 §6.3.6 SUBSCRIBE and §6.3.7 UNSUBSCRIBE.
    fn cmd_subscribe(&mut self, store: &mut dyn MailStore, mbox: &Mailbox<'_>, on: bool) -> Done {
        let Some(name) = mailbox_name(mbox) else {
            return no(Some(code(CODE_NONEXISTENT)), "No such mailbox");
        };
        let user = self.user_name();
        let result = if on {
            store.subscribe(&user, &name)
        } else {
            store.unsubscribe(&user, &name)
        };
        match result {
            Ok(()) if on => ok("SUBSCRIBE completed"),
            Ok(()) => ok("UNSUBSCRIBE completed"),
            Err(e) => store_no(e),
        }
    }

    /// RFC 3501 §6.3.8 LIST and §6.3.9 LSUB.
    fn cmd_list(
        &mut self,
        store: &mut dyn MailStore,
        reference: &Mailbox<'_>,
        pattern: &ListMailbox<'_>,
        lsub: bool,
    ) -> Done {
        let (Some(reference), Some(pattern)) = (mailbox_name(reference), list_pattern(pattern))
        else {
            return bad("Invalid mailbox name");
        };
        let delimiter = QuotedChar::try_from(DELIMITER).ok();
        let user = self.user_name();
        if pattern.is_empty() {
            // RFC 3501 §6.3.8: LIST "" "" asks for the delimiter and root.
            if let (false, Ok(root)) = (lsub, Mailbox::try_from("")) {
                self.send_data(Data::List {
                    items: vec![FlagNameAttribute::Noselect],
                    delimiter,
                    mailbox: root,
                });
            }
            return ok(if lsub {
                "LSUB completed"
            } else {
                "LIST completed"
            });
        }
        let full = format!("{reference}{pattern}");
        if full.len() > 1024 {
            return bad("Pattern too long");
        }
        let all = store.folders(&user);
        let names = if lsub {
            store.subscriptions(&user)
        } else {
            all.clone()
        };
        for name in names {
            // RFC 3501 §5.1: INBOX is case-insensitive.
            let matched = list_match(&full, &name)
                || (name == INBOX && list_match(&full.to_ascii_uppercase(), INBOX));
            if !matched {
                continue;
            }
            let Some(mbox) = mailbox(&name) else { continue };
            let prefix = format!("{name}{DELIMITER}");
            let children = all.iter().any(|f| f.starts_with(&prefix));
            // RFC 3348 CHILDREN attributes.
            let attribute = if children {
                "HasChildren"
            } else {
                "HasNoChildren"
            };
            // RFC 6154 §2: the folder's special use, if its name says so.
            let items: Vec<FlagNameAttribute<'static>> = std::iter::once(attribute)
                .chain(special_use(&name))
                .filter_map(|a| Atom::try_from(a).ok())
                .map(FlagNameAttribute::from)
                .collect();
            if lsub {
                self.send_data(Data::Lsub {
                    items: Vec::new(),
                    delimiter,
                    mailbox: mbox,
                });
            } else {
                self.send_data(Data::List {
                    items,
                    delimiter,
                    mailbox: mbox,
                });
            }
        }
        ok(if lsub {
            "LSUB completed"
        } else {
            "LIST completed"
        })
    }

    /// RFC 3501 §6.3.10 STATUS.
    fn cmd_status(
        &mut self,
        store: &mut dyn MailStore,
        mbox: &Mailbox<'_>,
        items: &[StatusDataItemName],
    ) -> Done {
        let Some(name) = mailbox_name(mbox) else {
            return no(Some(code(CODE_NONEXISTENT)), "No such mailbox");
        };
        let user = self.user_name();
        let (info, messages) = match (
            store.folder_info(&user, &name),
            store.messages(&user, &name),
        ) {
            (Ok(i), Ok(m)) => (i, m),
            _ => return no(Some(code(CODE_NONEXISTENT)), "No such mailbox"),
        };
        let count =
            |f: &dyn Fn(&MessageMeta) -> bool| messages.iter().filter(|m| f(m)).count() as u32;
        let mut values = Vec::new();
        for item in items {
            let value = match item {
                StatusDataItemName::Messages => {
                    Some(StatusDataItem::Messages(messages.len() as u32))
                }
                StatusDataItemName::Recent => Some(StatusDataItem::Recent(count(&|m| {
                    m.uid >= info.recent_from
                }))),
                StatusDataItemName::UidNext => {
                    NonZeroU32::new(info.uid_next).map(StatusDataItem::UidNext)
                }
                StatusDataItemName::UidValidity => {
                    NonZeroU32::new(info.uid_validity).map(StatusDataItem::UidValidity)
                }
                StatusDataItemName::Unseen => Some(StatusDataItem::Unseen(count(&|m| {
                    !m.flags.contains(&Flag::Seen)
                }))),
                StatusDataItemName::Deleted => Some(StatusDataItem::Deleted(count(&|m| {
                    m.flags.contains(&Flag::Deleted)
                }))),
                StatusDataItemName::DeletedStorage => Some(StatusDataItem::DeletedStorage(
                    messages
                        .iter()
                        .filter(|m| m.flags.contains(&Flag::Deleted))
                        .map(|m| u64::from(m.size))
                        .sum(),
                )),
                #[allow(unreachable_patterns)]
                _ => None,
            };
            values.extend(value);
        }
        let Some(mbox) = mailbox(&name) else {
            return no(Some(code(CODE_NONEXISTENT)), "No such mailbox");
        };
        self.send_data(Data::Status {
            mailbox: mbox,
            items: values.into(),
        });
        ok("STATUS completed")
    }

    /// RFC 3501 §6.3.11 APPEND.
    fn cmd_append(
        &mut self,
        store: &mut dyn MailStore,
        mbox: &Mailbox<'_>,
        flags: &[ImapFlag<'_>],
        date: i64,
        data: &[u8],
    ) -> Done {
        let Some(name) = mailbox_name(mbox) else {
            return no(Some(Code::TryCreate), "No such mailbox");
        };
        let Ok(flags) = flag_set(flags) else {
            return bad("Invalid flag");
        };
        let user = self.user_name();
        // RFC 3501 §6.3.11: [TRYCREATE] tells the client it may CREATE
        // the folder and try again.
        let Ok(info) = store.folder_info(&user, &name) else {
            return no(Some(Code::TryCreate), "No such mailbox");
        };
        match store.append(&user, &name, &flags, date, data) {
            // RFC 4315 §3: the new message's UID, with the UIDVALIDITY
            // that makes it meaningful.
            Ok(uid) => ok_code(appenduid(info.uid_validity, uid), "APPEND completed"),
            Err(e) => store_no(e),
        }
    }

    // ----- the selected folder -----------------------------------------------

    /// User, folder and read-only flag of the selection.
    fn context(&self) -> Option<(String, String, bool)> {
        let sel = self.selected.as_ref()?;
        Some((self.user_name(), sel.name.clone(), sel.read_only))
    }

    /// The store's messages of the selected folder, by UID.
    fn current(&self, store: &dyn MailStore) -> BTreeMap<u32, MessageMeta> {
        let Some((user, folder, _)) = self.context() else {
            return BTreeMap::new();
        };
        store
            .messages(&user, &folder)
            .unwrap_or_default()
            .into_iter()
            .map(|m| (m.uid, m))
            .collect()
    }

    /// The view positions a sequence set names. Sequence numbers past the
    /// end of the view are a client error (RFC 3501 §9 seq-number), except
    /// in a range ending in `*`.
    fn targets(&self, set: &SequenceSet, uid: bool) -> Result<Vec<usize>, &'static str> {
        let Some(sel) = self.selected.as_ref() else {
            return Ok(Vec::new());
        };
        let view = &sel.view;
        if uid {
            let largest = view.last().map_or(0, |m| m.uid);
            return Ok((0..view.len())
                .filter(|&i| set_contains(set, view[i].uid, largest))
                .collect());
        }
        let n = view.len() as u32;
        let too_big = |v: &SeqOrUid| matches!(v, SeqOrUid::Value(x) if x.get() > n);
        let invalid = set.0.as_ref().iter().any(|s| match s {
            Sequence::Single(v) => too_big(v),
            Sequence::Range(a, b) => {
                !matches!(a, SeqOrUid::Asterisk)
                    && !matches!(b, SeqOrUid::Asterisk)
                    && (too_big(a) || too_big(b))
            }
        });
        if invalid {
            return Err("Invalid message sequence number");
        }
        Ok((0..view.len())
            .filter(|&i| set_contains(set, i as u32 + 1, n))
            .collect())
    }

    /// RFC 3501 §6.4.2 CLOSE (expunges silently) and RFC 3691 UNSELECT.
    fn cmd_close(&mut self, store: &mut dyn MailStore, expunge: bool) -> Done {
        if let Some((user, folder, read_only)) = self.context()
            && expunge
            && !read_only
        {
            let deleted: Vec<u32> = self
                .current(store)
                .values()
                .filter(|m| m.flags.contains(&Flag::Deleted))
                .map(|m| m.uid)
                .collect();
            let _ = store.expunge(&user, &folder, &deleted);
        }
        self.selected = None;
        ok(if expunge {
            "CLOSE completed"
        } else {
            "UNSELECT completed"
        })
    }

    /// RFC 3501 §6.4.3 EXPUNGE. The `* n EXPUNGE` lines come from
    /// [`report_changes`](Self::report_changes) before the tagged OK.
    fn cmd_expunge(&mut self, store: &mut dyn MailStore) -> Done {
        let Some((user, folder, read_only)) = self.context() else {
            return bad("No mailbox selected");
        };
        if read_only {
            return no(None, "Mailbox is read-only");
        }
        let deleted: Vec<u32> = self
            .current(store)
            .values()
            .filter(|m| m.flags.contains(&Flag::Deleted))
            .map(|m| m.uid)
            .collect();
        match store.expunge(&user, &folder, &deleted) {
            Ok(()) => ok("EXPUNGE completed"),
            Err(e) => store_no(e),
        }
    }

    /// RFC 4315 §2.1 UID EXPUNGE: like EXPUNGE, but only the `\Deleted`
    /// messages whose UIDs are in `set`; others stay even if deleted.
    fn cmd_uid_expunge(&mut self, store: &mut dyn MailStore, set: &SequenceSet) -> Done {
        let Some((user, folder, read_only)) = self.context() else {
            return bad("No mailbox selected");
        };
        if read_only {
            return no(None, "Mailbox is read-only");
        }
        let current = self.current(store);
        let largest = current.keys().next_back().copied().unwrap_or(0);
        let doomed: Vec<u32> = current
            .values()
            .filter(|m| m.flags.contains(&Flag::Deleted) && set_contains(set, m.uid, largest))
            .map(|m| m.uid)
            .collect();
        match store.expunge(&user, &folder, &doomed) {
            Ok(()) => ok("UID EXPUNGE completed"),
            Err(e) => store_no(e),
        }
    }

    /// RFC 3501 §6.4.4 SEARCH and §6.4.8 UID SEARCH.
    fn cmd_search(
        &mut self,
        store: &mut dyn MailStore,
        charset: Option<&Charset<'_>>,
        criteria: &SearchKey<'_>,
        uid: bool,
    ) -> Done {
        if let Some(cs) = charset {
            let name: &str = cs.as_ref();
            if !name.eq_ignore_ascii_case("UTF-8") && !name.eq_ignore_ascii_case("US-ASCII") {
                let allowed = ["UTF-8", "US-ASCII"]
                    .into_iter()
                    .filter_map(|c| Charset::try_from(c).ok())
                    .collect();
                return no(Some(Code::BadCharset { allowed }), "Unsupported charset");
            }
        }
        let Some((user, folder, _)) = self.context() else {
            return bad("No mailbox selected");
        };
        let current = self.current(store);
        let Some(sel) = self.selected.as_ref() else {
            return bad("No mailbox selected");
        };
        let wants_body = search::needs_body(criteria);
        let largest_seq = sel.view.len() as u32;
        let largest_uid = sel.view.last().map_or(0, |m| m.uid);
        let mut hits = Vec::new();
        for (i, entry) in sel.view.iter().enumerate() {
            let meta = current.get(&entry.uid);
            let body = match (wants_body, meta) {
                (true, Some(_)) => store.message_body(&user, &folder, entry.uid).ok(),
                _ => None,
            };
            let candidate = Candidate {
                seq: i as u32 + 1,
                uid: entry.uid,
                flags: meta.map_or(&entry.flags, |m| &m.flags),
                recent: sel.recent.contains(&entry.uid),
                size: meta.map_or(0, |m| m.size),
                internal_date: meta.map_or(0, |m| m.internal_date),
                body: body.as_deref(),
                largest_seq,
                largest_uid,
            };
            if search::matches(criteria, &candidate) {
                let n = if uid { entry.uid } else { i as u32 + 1 };
                hits.extend(NonZeroU32::new(n));
            }
        }
        self.send_data(Data::Search(hits));
        ok(if uid {
            "UID SEARCH completed"
        } else {
            "SEARCH completed"
        })
    }

    /// RFC 3501 §6.4.5 FETCH and §6.4.8 UID FETCH.
    fn cmd_fetch(
        &mut self,
        store: &mut dyn MailStore,
        set: &SequenceSet,
        items: &MacroOrMessageDataItemNames<'_>,
        uid: bool,
    ) -> Done {
        let mut names: Vec<MessageDataItemName<'_>> = match items {
            MacroOrMessageDataItemNames::Macro(m) => m.expand(),
            MacroOrMessageDataItemNames::MessageDataItemNames(v) => v.clone(),
        };
        // RFC 3501 §6.4.8: UID FETCH always returns the UID.
        if uid && !names.contains(&MessageDataItemName::Uid) {
            names.insert(0, MessageDataItemName::Uid);
        }
        let targets = match self.targets(set, uid) {
            Ok(t) => t,
            Err(msg) => return bad(msg),
        };
        let Some((user, folder, read_only)) = self.context() else {
            return bad("No mailbox selected");
        };
        let current = self.current(store);
        let wants_body = names.iter().any(item_needs_body);
        let marks_seen = !read_only && names.iter().any(item_sets_seen);
        let wants_flags = names.contains(&MessageDataItemName::Flags);
        let mut missing = false;
        for index in targets {
            let Some(sel) = self.selected.as_ref() else {
                break;
            };
            let Some(entry) = sel.view.get(index) else {
                continue;
            };
            let entry_uid = entry.uid;
            let recent = sel.recent.contains(&entry_uid);
            // RFC 2180 §4: a message another session expunged cannot
            // be fetched; the others are, and the reply is NO.
            let Some(meta) = current.get(&entry_uid) else {
                missing = true;
                continue;
            };
            let body = if wants_body {
                match store.message_body(&user, &folder, entry_uid) {
                    Ok(b) => b,
                    Err(_) => {
                        missing = true;
                        continue;
                    }
                }
            } else {
                Vec::new()
            };
            let mime = wants_body.then(|| parse_message(&body));
            let mut flags = meta.flags.clone();
            let mut seen_now = false;
            if marks_seen && !flags.contains(&Flag::Seen) {
                flags.insert(Flag::Seen);
                if store.set_flags(&user, &folder, entry_uid, &flags).is_ok() {
                    seen_now = true;
                } else {
                    flags.remove(&Flag::Seen);
                }
            }
            let mut data: Vec<MessageDataItem<'_>> = names
                .iter()
                .filter_map(|n| fetch_item(n, meta, &flags, recent, &body, mime.as_ref()))
                .collect();
            // RFC 3501 §6.4.5: when FETCH sets \Seen, the new flags are
            // reported too.
            if seen_now && !wants_flags {
                data.push(MessageDataItem::Flags(flag_fetch(&flags, recent)));
            }
            if (seen_now || wants_flags)
                && let Some(v) = self.selected.as_mut().and_then(|s| s.view.get_mut(index))
            {
                v.flags = flags;
            }
            let (Some(seq), Ok(items)) = (
                NonZeroU32::new(index as u32 + 1),
                NonEmptyVec::try_from(data),
            ) else {
                continue;
            };
            self.send_data(Data::Fetch { seq, items });
        }
        if missing {
            no(
                Some(code(CODE_EXPUNGEISSUED)),
                "Some messages were expunged",
            )
        } else {
            ok(if uid {
                "UID FETCH completed"
            } else {
                "FETCH completed"
            })
        }
    }

    /// RFC 3501 §6.4.6 STORE and §6.4.8 UID STORE.
    fn cmd_store(
        &mut self,
        store: &mut dyn MailStore,
        set: &SequenceSet,
        kind: StoreType,
        response: StoreResponse,
        flags: &[ImapFlag<'_>],
        uid: bool,
    ) -> Done {
        let Ok(flags) = flag_set(flags) else {
            return bad("Invalid flag");
        };
        let targets = match self.targets(set, uid) {
            Ok(t) => t,
            Err(msg) => return bad(msg),
        };
        let Some((user, folder, read_only)) = self.context() else {
            return bad("No mailbox selected");
        };
        if read_only {
            return no(None, "Mailbox is read-only");
        }
        let current = self.current(store);
        let mut missing = false;
        for index in targets {
            let Some(sel) = self.selected.as_mut() else {
                break;
            };
            let Some(entry) = sel.view.get_mut(index) else {
                continue;
            };
            let recent = sel.recent.contains(&entry.uid);
            let Some(meta) = current.get(&entry.uid) else {
                missing = true;
                continue;
            };
            let new: FlagSet = match kind {
                StoreType::Replace => flags.clone(),
                StoreType::Add => meta.flags.union(&flags).cloned().collect(),
                StoreType::Remove => meta.flags.difference(&flags).cloned().collect(),
            };
            if new != meta.flags && store.set_flags(&user, &folder, entry.uid, &new).is_err() {
                missing = true;
                continue;
            }
            entry.flags = new.clone();
            let entry_uid = entry.uid;
            if response == StoreResponse::Answer {
                let mut data = Vec::new();
                if uid {
                    data.extend(NonZeroU32::new(entry_uid).map(MessageDataItem::Uid));
                }
                data.push(MessageDataItem::Flags(flag_fetch(&new, recent)));
                if let (Some(seq), Ok(items)) = (
                    NonZeroU32::new(index as u32 + 1),
                    NonEmptyVec::try_from(data),
                ) {
                    self.send_data(Data::Fetch { seq, items });
                }
            }
        }
        if missing {
            no(
                Some(code(CODE_EXPUNGEISSUED)),
                "Some messages were expunged",
            )
        } else {
            ok(if uid {
                "UID STORE completed"
            } else {
                "STORE completed"
            })
        }
    }

    /// RFC 3501 §6.4.7 COPY, §6.4.8 UID COPY, RFC 6851 MOVE.
    fn cmd_copy(
        &mut self,
        store: &mut dyn MailStore,
        set: &SequenceSet,
        dest: &Mailbox<'_>,
        uid: bool,
        is_move: bool,
    ) -> Done {
        let Some(dest) = mailbox_name(dest) else {
            return no(Some(Code::TryCreate), "No such mailbox");
        };
        let targets = match self.targets(set, uid) {
            Ok(t) => t,
            Err(msg) => return bad(msg),
        };
        let Some((user, folder, read_only)) = self.context() else {
            return bad("No mailbox selected");
        };
        if is_move && read_only {
            return no(None, "Mailbox is read-only");
        }
        let Ok(dest_info) = store.folder_info(&user, &dest) else {
            return no(Some(Code::TryCreate), "No such mailbox");
        };
        let current = self.current(store);
        let uids: Vec<u32> = match self.selected.as_ref() {
            Some(sel) => targets
                .iter()
                .filter_map(|&i| sel.view.get(i).map(|m| m.uid))
                .collect(),
            None => Vec::new(),
        };
        // RFC 2180 §4: if any message is gone, copy none.
        if uids.iter().any(|u| !current.contains_key(u)) {
            return no(
                Some(code(CODE_EXPUNGEISSUED)),
                "Some messages were expunged",
            );
        }
        let mut copies = Vec::with_capacity(uids.len());
        for &u in &uids {
            match store.copy_message(&user, &folder, u, &dest) {
                Ok(new) => copies.push(new),
                Err(e) => return store_no(e),
            }
        }
        // RFC 4315 §3: COPYUID pairs each source UID with its copy's. A
        // set that named no message copied nothing and has no COPYUID.
        let uid_code = (!uids.is_empty()).then(|| copyuid(dest_info.uid_validity, &uids, &copies));
        if is_move {
            // RFC 6851 §4.3: with UIDPLUS, COPYUID comes in an untagged OK
            // before the expunges.
            if let Some(c) = uid_code {
                self.send_untagged_ok(c, "Moved UIDs");
            }
            // RFC 6851 §3.3: the originals are expunged; the EXPUNGE
            // responses follow from report_changes.
            if let Err(e) = store.expunge(&user, &folder, &uids) {
                return store_no(e);
            }
            return ok(if uid {
                "UID MOVE completed"
            } else {
                "MOVE completed"
            });
        }
        let text = if uid {
            "UID COPY completed"
        } else {
            "COPY completed"
        };
        match uid_code {
            Some(c) => ok_code(c, text),
            None => ok(text),
        }
    }

    // ----- synchronising with other sessions --------------------------------

    /// Compares the view with the store and reports the differences
    /// (see the module documentation).
    fn report_changes(&mut self, store: &mut dyn MailStore, allow_expunge: bool) {
        let Some(user) = self.user.clone() else {
            return;
        };
        let Some(sel) = self.selected.as_mut() else {
            return;
        };
        let info = store.folder_info(&user, &sel.name);
        let messages = store.messages(&user, &sel.name);
        let (Ok(info), Ok(messages)) = (info, messages) else {
            self.folder_vanished();
            return;
        };
        if info.uid_validity != sel.uid_validity {
            self.folder_vanished();
            return;
        }
        let current: BTreeMap<u32, MessageMeta> =
            messages.into_iter().map(|m| (m.uid, m)).collect();
        let mut responses: Vec<Response<'static>> = Vec::new();

        // RFC 3501 §7.4.1: each EXPUNGE renumbers the messages after it,
        // so the number sent is the message's position at that moment.
        if allow_expunge {
            let mut i = 0;
            while i < sel.view.len() {
                if current.contains_key(&sel.view[i].uid) {
                    i += 1;
                    continue;
                }
                let gone = sel.view.remove(i);
                sel.recent.remove(&gone.uid);
                if let Some(seq) = NonZeroU32::new(i as u32 + 1) {
                    responses.push(Response::Data(Data::Expunge(seq)));
                }
            }
        }

        // New messages have UIDs above everything in the view.
        let highest = sel.view.last().map_or(0, |m| m.uid);
        let new: Vec<&MessageMeta> = current
            .range(highest.saturating_add(1)..)
            .map(|(_, m)| m)
            .collect();
        if !new.is_empty() {
            let recent_from = if sel.read_only {
                info.recent_from
            } else {
                store.claim_recent(&user, &sel.name).unwrap_or(u32::MAX)
            };
            for m in new {
                sel.view.push(ViewMessage {
                    uid: m.uid,
                    flags: m.flags.clone(),
                });
                if m.uid >= recent_from {
                    sel.recent.insert(m.uid);
                }
            }
            responses.push(Response::Data(Data::Exists(sel.view.len() as u32)));
            responses.push(Response::Data(Data::Recent(sel.recent.len() as u32)));
        }

        // Flags someone else changed (RFC 3501 §7.4.2 unsolicited FETCH).
        for (i, entry) in sel.view.iter_mut().enumerate() {
            let Some(meta) = current.get(&entry.uid) else {
                continue;
            };
            if meta.flags == entry.flags {
                continue;
            }
            entry.flags = meta.flags.clone();
            let recent = sel.recent.contains(&entry.uid);
            let mut items = Vec::new();
            items.extend(NonZeroU32::new(entry.uid).map(MessageDataItem::Uid));
            items.push(MessageDataItem::Flags(flag_fetch(&entry.flags, recent)));
            if let (Some(seq), Ok(items)) =
                (NonZeroU32::new(i as u32 + 1), NonEmptyVec::try_from(items))
            {
                responses.push(Response::Data(Data::Fetch { seq, items }));
            }
        }

        for r in &responses {
            self.send(r);
        }
    }

    /// The selected folder was deleted or renamed by another session, or
    /// recreated with a new UIDVALIDITY: this session's numbers mean
    /// nothing any more. RFC 3501 §7.1.5: BYE, and the connection closes.
    fn folder_vanished(&mut self) {
        self.selected = None;
        self.send_bye("Selected mailbox was deleted or renamed");
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
        self.logout
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
            "Logout"
        } else {
            match self.mode {
                Mode::Idle { .. } => "Idling",
                Mode::Authenticate { .. } => "Authenticating",
                Mode::Command if self.selected.is_some() => "Selected",
                Mode::Command if self.user.is_some() => "Authenticated",
                Mode::Command => "NotAuthenticated",
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards() {
        assert!(list_match("*", "Work/2026"));
        assert!(!list_match("%", "Work/2026"));
        assert!(list_match("Work/%", "Work/2026"));
        assert!(list_match("W*6", "Work/2026"));
        assert!(!list_match("Work", "Work/2026"));
        assert!(list_match("%/%", "Work/2026"));
    }
}
