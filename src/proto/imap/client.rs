//! A scripted IMAP user agent (RFC 3501 client side), sans-IO.
//!
//! [`ImapClient`] follows a list of [`ImapStep`]s, the way a mail program
//! would: log in, select a folder, search for unseen mail, fetch it, mark
//! it `\Seen` or `\Deleted`, move it to another folder, idle until told to
//! stop, log out. It encodes commands with imap-codec's `CommandCodec`
//! (waiting for the server's `+` before sending a synchronising literal)
//! and parses replies with `ResponseCodec`.
//!
//! It works with UIDs throughout (UID SEARCH, UID FETCH, UID STORE, UID
//! COPY), as real clients do, because sequence numbers shift when any
//! session expunges. After SELECT it fetches the UIDs and flags of all
//! messages, so it can tell which message an unsolicited `* 3 EXPUNGE`
//! meant. What it learns is kept for the scenario: the messages fetched,
//! the search results, each step's outcome, and every untagged update
//! (EXISTS, RECENT, EXPUNGE, FETCH FLAGS) the server sent outside the
//! results of its own FETCH and STORE: that is how one device sees what
//! another did. (EXPUNGEs answering its own EXPUNGE or MOVE are listed
//! too.)
//!
//! It is not a general client library: no STARTTLS, no AUTHENTICATE, no
//! partial fetches, no MIME decoding.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use imap_codec::{
    CommandCodec, GreetingCodec, IdleDoneCodec, ResponseCodec,
    decode::Decoder,
    encode::{Encoder, Fragment},
    imap_types::{
        command::{Command, CommandBody},
        core::{AString, LiteralMode, Tag},
        extensions::idle::IdleDone,
        fetch::{MessageDataItem, MessageDataItemName},
        flag::{FlagFetch, StoreResponse, StoreType},
        response::{Data, GreetingKind, Response, Status},
        search::SearchKey,
        sequence::SequenceSet,
    },
};

use super::convert::{from_imap_flag, mailbox_name, to_imap_flag, uid_set};
use super::framing::{Frame, FrameLimits, Framer};
use super::store::{Flag, FlagSet};
use super::{data_transcript, encoded_transcript, printable};
use crate::proto::{Session, Transcript};

/// The most messages whose UIDs the client tracks, so that a server
/// announcing `* 4000000000 EXISTS` cannot exhaust memory.
const MAX_TRACKED: usize = 1_000_000;

/// Which messages a step works on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Which {
    /// Every message in the folder (`UID 1:*`).
    All,
    /// The UIDs the last SEARCH step found (the step is skipped if none).
    LastSearch,
    /// These UIDs.
    Uids(Vec<u32>),
}

/// How STORE changes flags (RFC 3501 §6.4.6).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreOp {
    /// `+FLAGS`
    Add,
    /// `-FLAGS`
    Remove,
    /// `FLAGS`
    Replace,
}

/// One step of a client's script.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImapStep {
    /// `LOGIN user password`. If it fails, the steps up to LOGOUT are
    /// skipped.
    Login { user: String, password: String },
    /// `CAPABILITY`
    Capability,
    /// `LIST "" "*"`
    List,
    /// `CREATE folder`
    Create(String),
    /// `SELECT folder`, then `UID FETCH 1:* (UID FLAGS)` to learn the UIDs.
    Select(String),
    /// `EXAMINE folder` (read-only), then the same UID FETCH.
    Examine(String),
    /// `UID SEARCH ALL`
    SearchAll,
    /// `UID SEARCH UNSEEN`
    SearchUnseen,
    /// `UID SEARCH SUBJECT text`: the messages whose Subject contains the
    /// text, so that the next step can work on them with
    /// [`Which::LastSearch`].
    SearchSubject(String),
    /// `UID FETCH set (UID FLAGS RFC822.SIZE BODY.PEEK[])`, or `BODY[]`
    /// (which sets `\Seen`) when `peek` is false.
    Fetch { which: Which, peek: bool },
    /// `UID FETCH set (UID FLAGS)`
    FetchFlags(Which),
    /// `UID STORE set +FLAGS (...)` (or `-FLAGS`, `FLAGS`).
    Store {
        which: Which,
        op: StoreOp,
        flags: Vec<Flag>,
    },
    /// `UID COPY set folder`
    Copy { which: Which, to: String },
    /// Move the old way: `UID COPY`, `UID STORE +FLAGS.SILENT (\Deleted)`,
    /// `EXPUNGE`.
    Move { which: Which, to: String },
    /// `EXPUNGE`
    Expunge,
    /// `APPEND folder (flags) {n}` with the message as a literal.
    Append {
        folder: String,
        flags: Vec<Flag>,
        message: Vec<u8>,
    },
    /// `NOOP`: gives the server a chance to report changes.
    Noop,
    /// `IDLE` until [`ImapClient::stop_idle`] is called, then `DONE`.
    Idle,
    /// `LOGOUT`
    Logout,
}

impl ImapStep {
    /// A short name for outcomes and traces.
    pub fn name(&self) -> &'static str {
        match self {
            ImapStep::Login { .. } => "LOGIN",
            ImapStep::Capability => "CAPABILITY",
            ImapStep::List => "LIST",
            ImapStep::Create(_) => "CREATE",
            ImapStep::Select(_) => "SELECT",
            ImapStep::Examine(_) => "EXAMINE",
            ImapStep::SearchAll => "SEARCH ALL",
            ImapStep::SearchUnseen => "SEARCH UNSEEN",
            ImapStep::SearchSubject(_) => "SEARCH SUBJECT",
            ImapStep::Fetch { .. } => "FETCH",
            ImapStep::FetchFlags(_) => "FETCH FLAGS",
            ImapStep::Store { .. } => "STORE",
            ImapStep::Copy { .. } => "COPY",
            ImapStep::Move { .. } => "MOVE",
            ImapStep::Expunge => "EXPUNGE",
            ImapStep::Append { .. } => "APPEND",
            ImapStep::Noop => "NOOP",
            ImapStep::Idle => "IDLE",
            ImapStep::Logout => "LOGOUT",
        }
    }
}

/// A message as the client fetched it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchedMessage {
    /// The folder it was fetched from (UIDs are only unique per folder).
    pub folder: String,
    pub uid: u32,
    /// The flags as last reported (by a FETCH, a STORE or an update).
    pub flags: FlagSet,
    /// `\Recent` in this session.
    pub recent: bool,
    /// RFC822.SIZE, if fetched.
    pub size: Option<u32>,
    /// The full message, if fetched.
    pub body: Option<Vec<u8>>,
}

/// An untagged update from the server (RFC 3501 §7.3, §7.4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImapUpdate {
    /// `* n EXISTS`: the folder now holds n messages.
    Exists(u32),
    /// `* n RECENT`
    Recent(u32),
    /// `* n EXPUNGE`, with the UID the client knew for that number.
    Expunge { seq: u32, uid: Option<u32> },
    /// `* n FETCH (FLAGS ...)` that was not the answer to our own FETCH or
    /// STORE: another session changed the flags.
    Flags {
        seq: u32,
        uid: Option<u32>,
        flags: FlagSet,
    },
}

/// How a step ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepStatus {
    Ok,
    No,
    Bad,
    /// Not sent: nothing to work on, or an earlier LOGIN failed.
    Skipped,
}

/// The result of one step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepOutcome {
    /// Position in the script.
    pub index: usize,
    /// [`ImapStep::name`].
    pub step: &'static str,
    pub status: StepStatus,
    /// The text of the tagged reply (of the first failing command for
    /// multi-command steps).
    pub text: String,
}

/// What happened, for the driver and the trace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientEvent {
    /// The server greeted us.
    Greeting(String),
    /// A step finished.
    StepDone(StepOutcome),
    /// An untagged update arrived.
    Update(ImapUpdate),
    /// A FETCH answer for one message.
    Fetched {
        folder: String,
        uid: u32,
        flags: FlagSet,
        size: Option<u32>,
    },
    /// The server accepted IDLE (`+ idling`).
    IdleStarted,
    /// All steps are done.
    Finished,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Connecting,
    NotAuthenticated,
    Authenticated,
    Selected,
    Idling,
    Logout,
    Closed,
}

/// What a command in flight is, to interpret its answers.
#[derive(Debug, Clone, PartialEq, Eq)]
enum CmdKind {
    /// RFC 3501 §6.2.1, before LOGIN.
    StartTls,
    Login,
    /// SELECT or EXAMINE of this folder.
    Select(String),
    /// The UID FETCH after SELECT.
    Sync,
    Search,
    /// FETCH or STORE for these UIDs (`None`: all).
    Fetch {
        targets: Option<BTreeSet<u32>>,
    },
    Idle,
    Logout,
    Other,
}

#[derive(Debug, Clone)]
struct Planned {
    body: CommandBody<'static>,
    kind: CmdKind,
}

#[derive(Debug, Clone)]
struct Running {
    tag: String,
    kind: CmdKind,
}

/// The step being run and the commands it still has to send.
#[derive(Debug, Clone)]
struct ActiveStep {
    index: usize,
    name: &'static str,
    queue: VecDeque<Planned>,
    failure: Option<(StepStatus, String)>,
    last_text: String,
}

/// A scripted IMAP client. See the module documentation.
#[derive(Debug)]
pub struct ImapClient {
    steps: VecDeque<(usize, ImapStep)>,
    state: State,
    /// A SELECT or EXAMINE succeeded (IDLE returns to Selected).
    selected: bool,
    framer: Framer,
    next_tag: u32,
    active: Option<ActiveStep>,
    running: Option<Running>,
    /// Encoded fragments waiting for a `+` continuation.
    pending: VecDeque<Fragment>,
    awaiting_continuation: bool,
    stop_idle_requested: bool,
    done_sent: bool,
    /// LOGIN failed: skip to LOGOUT once the step is recorded.
    login_failed: bool,
    output: VecDeque<Vec<u8>>,
    transcript: VecDeque<Transcript>,
    events: VecDeque<ClientEvent>,
    finished: bool,
    // What the client learned.
    capabilities: Vec<String>,
    folders: Vec<String>,
    /// UIDs by sequence number (0 where not known yet).
    seq_uids: Vec<u32>,
    /// The folder selected now, as the server spells it.
    folder: Option<String>,
    messages: BTreeMap<(String, u32), FetchedMessage>,
    search_results: Vec<u32>,
    updates: Vec<ImapUpdate>,
    outcomes: Vec<StepOutcome>,
    /// Say STARTTLS before the first step when the server offers it.
    starttls: bool,
    starttls_tried: bool,
    /// OK to STARTTLS came; nothing more until TLS is up.
    tls_pending: bool,
    secure: bool,
}

impl ImapClient {
    /// Says STARTTLS first when the greeting lists it (the driver can put
    /// TLS under the session).
    pub fn with_starttls(mut self) -> Self {
        self.starttls = true;
        self
    }

    /// A client that will run `steps` once the server greets it.
    pub fn new(steps: Vec<ImapStep>) -> Self {
        ImapClient {
            steps: steps.into_iter().enumerate().collect(),
            state: State::Connecting,
            selected: false,
            framer: Framer::new(FrameLimits {
                max_line: 64 * 1024,
                max_literal: 64 * 1024 * 1024,
                max_message: 65 * 1024 * 1024,
            }),
            next_tag: 1,
            active: None,
            running: None,
            pending: VecDeque::new(),
            awaiting_continuation: false,
            stop_idle_requested: false,
            done_sent: false,
            login_failed: false,
            output: VecDeque::new(),
            transcript: VecDeque::new(),
            events: VecDeque::new(),
            finished: false,
            capabilities: Vec::new(),
            folders: Vec::new(),
            seq_uids: Vec::new(),
            folder: None,
            messages: BTreeMap::new(),
            search_results: Vec::new(),
            updates: Vec::new(),
            outcomes: Vec::new(),
            starttls: false,
            starttls_tried: false,
            tls_pending: false,
            secure: false,
        }
    }

    /// Feeds bytes from the server.
    pub fn handle_input(&mut self, data: &[u8]) {
        if self.state == State::Closed {
            return;
        }
        self.framer.push(data);
        while let Some(frame) = self.framer.next_frame() {
            match frame {
                Frame::LiteralLine { line, .. } => self.transcript.push_back(reply(&line)),
                Frame::Literal { start, len } => {
                    let data = &self.framer.message()[start..start + len];
                    self.transcript.extend(data_transcript(data));
                }
                Frame::Complete { line, message } => {
                    if !line.is_empty() {
                        self.transcript.push_back(reply(&line));
                    }
                    self.handle_response(&message);
                }
                Frame::LineTooLong | Frame::LiteralTooLarge { .. } => {
                    // A server we cannot follow: give up.
                    self.state = State::Logout;
                    break;
                }
            }
            if self.state == State::Logout && self.running.is_none() {
                break;
            }
        }
        self.advance();
    }

    /// Ends a running IDLE (sends `DONE`). If the server has not yet
    /// answered `+`, DONE is sent as soon as it does.
    pub fn stop_idle(&mut self) {
        if !matches!(&self.running, Some(r) if r.kind == CmdKind::Idle) || self.done_sent {
            return;
        }
        if self.state == State::Idling {
            self.send_done();
        } else {
            self.stop_idle_requested = true;
        }
    }

    /// True while the server holds our IDLE open.
    pub fn is_idling(&self) -> bool {
        self.state == State::Idling && !self.done_sent
    }

    /// True once every step has run.
    pub fn is_finished(&self) -> bool {
        self.finished
    }

    /// The next event, in order.
    pub fn poll_event(&mut self) -> Option<ClientEvent> {
        self.events.pop_front()
    }

    /// Capabilities the server announced.
    pub fn capabilities(&self) -> &[String] {
        &self.capabilities
    }

    /// Folders from the last LIST.
    pub fn folders(&self) -> &[String] {
        &self.folders
    }

    /// Messages fetched so far, by folder and UID.
    pub fn messages(&self) -> &BTreeMap<(String, u32), FetchedMessage> {
        &self.messages
    }

    /// One fetched message.
    pub fn message(&self, folder: &str, uid: u32) -> Option<&FetchedMessage> {
        self.messages.get(&(folder.to_string(), uid))
    }

    /// The selected folder, if a SELECT or EXAMINE succeeded.
    pub fn selected_folder(&self) -> Option<&str> {
        self.folder.as_deref()
    }

    /// UIDs found by the last SEARCH.
    pub fn search_results(&self) -> &[u32] {
        &self.search_results
    }

    /// Every untagged update seen, in order.
    pub fn updates(&self) -> &[ImapUpdate] {
        &self.updates
    }

    /// The outcome of each step run so far.
    pub fn outcomes(&self) -> &[StepOutcome] {
        &self.outcomes
    }

    /// How many messages the selected folder holds, as last reported.
    pub fn exists(&self) -> u32 {
        self.seq_uids.len() as u32
    }

    /// The UIDs of the selected folder in sequence order (0 where the
    /// client has not learned the UID yet).
    pub fn mailbox_uids(&self) -> &[u32] {
        &self.seq_uids
    }

    // ----- sending ------------------------------------------------------------

    /// Starts the next command if nothing is in flight, and records the
    /// outcome of steps that are done.
    fn advance(&mut self) {
        if self.tls_pending {
            return;
        }
        if self.starttls
            && !self.secure
            && !self.starttls_tried
            && self.running.is_none()
            && self.state == State::NotAuthenticated
            && self
                .capabilities
                .iter()
                .any(|c| c.eq_ignore_ascii_case("STARTTLS"))
        {
            self.starttls_tried = true;
            self.send_command(Planned {
                body: CommandBody::StartTLS,
                kind: CmdKind::StartTls,
            });
            return;
        }
        loop {
            if self.running.is_some() || self.state == State::Connecting {
                return;
            }
            let can_send = !matches!(self.state, State::Logout | State::Closed);
            if let Some(active) = self.active.as_mut() {
                if can_send {
                    if let Some(planned) = active.queue.pop_front() {
                        self.send_command(planned);
                        return;
                    }
                } else if !active.queue.is_empty() && active.failure.is_none() {
                    active.failure = Some((StepStatus::Skipped, "connection closed".to_string()));
                }
                self.finish_step();
                if self.login_failed {
                    self.login_failed = false;
                    self.skip_until_logout();
                }
                continue;
            }
            let Some((index, step)) = self.steps.pop_front() else {
                if !self.finished {
                    self.finished = true;
                    self.events.push_back(ClientEvent::Finished);
                }
                return;
            };
            let name = step.name();
            if !can_send {
                self.record_outcome(
                    index,
                    name,
                    StepStatus::Skipped,
                    "connection closed".to_string(),
                );
                continue;
            }
            match self.plan(&step) {
                Ok(queue) => {
                    self.active = Some(ActiveStep {
                        index,
                        name,
                        queue: queue.into(),
                        failure: None,
                        last_text: String::new(),
                    })
                }
                Err(text) => self.record_outcome(index, name, StepStatus::Skipped, text),
            }
        }
    }

    fn finish_step(&mut self) {
        let Some(active) = self.active.take() else {
            return;
        };
        let (status, text) = active.failure.unwrap_or((StepStatus::Ok, active.last_text));
        self.record_outcome(active.index, active.name, status, text);
    }

    fn record_outcome(
        &mut self,
        index: usize,
        step: &'static str,
        status: StepStatus,
        text: String,
    ) {
        let outcome = StepOutcome {
            index,
            step,
            status,
            text,
        };
        self.outcomes.push(outcome.clone());
        self.events.push_back(ClientEvent::StepDone(outcome));
    }

    /// The UID set a step names; `Err` if there is nothing to do.
    fn uid_targets(&self, which: &Which) -> Result<(SequenceSet, Option<BTreeSet<u32>>), String> {
        let uids = match which {
            Which::All => {
                let set: SequenceSet = "1:*".parse().map_err(|_| "bad set".to_string())?;
                return Ok((set, None));
            }
            Which::LastSearch => self.search_results.clone(),
            Which::Uids(u) => u.clone(),
        };
        let set = uid_set(&uids).ok_or_else(|| "no messages to work on".to_string())?;
        Ok((set, Some(uids.into_iter().collect())))
    }

    /// The commands that carry out one step.
    fn plan(&self, step: &ImapStep) -> Result<Vec<Planned>, String> {
        fn invalid<E>(_: E) -> String {
            "invalid argument".to_string()
        }
        let other = |body| Planned {
            body,
            kind: CmdKind::Other,
        };
        let flags = |list: &[Flag]| list.iter().filter_map(to_imap_flag).collect::<Vec<_>>();
        Ok(match step {
            ImapStep::Login { user, password } => vec![Planned {
                body: CommandBody::login(user.clone(), password.clone())
                    .map_err(|_| "invalid user name or password".to_string())?,
                kind: CmdKind::Login,
            }],
            ImapStep::Capability => vec![other(CommandBody::Capability)],
            ImapStep::List => vec![other(
                CommandBody::list("", "*").map_err(|_| "invalid".to_string())?,
            )],
            ImapStep::Create(name) => {
                vec![other(CommandBody::create(name.clone()).map_err(invalid)?)]
            }
            ImapStep::Select(name) | ImapStep::Examine(name) => {
                let body = if matches!(step, ImapStep::Select(_)) {
                    CommandBody::select(name.clone())
                } else {
                    CommandBody::examine(name.clone())
                };
                let body = body.map_err(invalid)?;
                let folder = match &body {
                    CommandBody::Select { mailbox } | CommandBody::Examine { mailbox } => {
                        mailbox_name(mailbox).unwrap_or_else(|| name.clone())
                    }
                    _ => name.clone(),
                };
                vec![Planned {
                    body,
                    kind: CmdKind::Select(folder),
                }]
            }
            ImapStep::SearchAll | ImapStep::SearchUnseen => {
                let key = if *step == ImapStep::SearchAll {
                    SearchKey::All
                } else {
                    SearchKey::Unseen
                };
                vec![Planned {
                    body: CommandBody::search(None, key, true),
                    kind: CmdKind::Search,
                }]
            }
            ImapStep::SearchSubject(text) => {
                let text = AString::try_from(text.clone()).map_err(invalid)?;
                vec![Planned {
                    body: CommandBody::search(None, SearchKey::Subject(text), true),
                    kind: CmdKind::Search,
                }]
            }
            ImapStep::Fetch { which, peek } => {
                let (set, targets) = self.uid_targets(which)?;
                let items = vec![
                    MessageDataItemName::Uid,
                    MessageDataItemName::Flags,
                    MessageDataItemName::Rfc822Size,
                    MessageDataItemName::BodyExt {
                        section: None,
                        partial: None,
                        peek: *peek,
                    },
                ];
                vec![Planned {
                    body: CommandBody::fetch(set, items, true).map_err(invalid)?,
                    kind: CmdKind::Fetch { targets },
                }]
            }
            ImapStep::FetchFlags(which) => {
                let (set, targets) = self.uid_targets(which)?;
                let items = vec![MessageDataItemName::Uid, MessageDataItemName::Flags];
                vec![Planned {
                    body: CommandBody::fetch(set, items, true).map_err(invalid)?,
                    kind: CmdKind::Fetch { targets },
                }]
            }
            ImapStep::Store {
                which,
                op,
                flags: list,
            } => {
                let (set, targets) = self.uid_targets(which)?;
                let kind = match op {
                    StoreOp::Add => StoreType::Add,
                    StoreOp::Remove => StoreType::Remove,
                    StoreOp::Replace => StoreType::Replace,
                };
                vec![Planned {
                    body: CommandBody::store(set, kind, StoreResponse::Answer, flags(list), true)
                        .map_err(invalid)?,
                    kind: CmdKind::Fetch { targets },
                }]
            }
            ImapStep::Copy { which, to } => {
                let (set, _) = self.uid_targets(which)?;
                vec![other(
                    CommandBody::copy(set, to.clone(), true).map_err(invalid)?,
                )]
            }
            ImapStep::Move { which, to } => {
                let (set, targets) = self.uid_targets(which)?;
                vec![
                    other(CommandBody::copy(set.clone(), to.clone(), true).map_err(invalid)?),
                    Planned {
                        body: CommandBody::store(
                            set,
                            StoreType::Add,
                            StoreResponse::Silent,
                            flags(&[Flag::Deleted]),
                            true,
                        )
                        .map_err(invalid)?,
                        kind: CmdKind::Fetch { targets },
                    },
                    other(CommandBody::Expunge),
                ]
            }
            ImapStep::Expunge => vec![other(CommandBody::Expunge)],
            ImapStep::Append {
                folder,
                flags: list,
                message,
            } => vec![other(
                CommandBody::append(folder.clone(), flags(list), None, message.clone())
                    .map_err(|_| "message cannot be sent (NUL byte?)".to_string())?,
            )],
            ImapStep::Noop => vec![other(CommandBody::Noop)],
            ImapStep::Idle => vec![Planned {
                body: CommandBody::Idle,
                kind: CmdKind::Idle,
            }],
            ImapStep::Logout => vec![Planned {
                body: CommandBody::Logout,
                kind: CmdKind::Logout,
            }],
        })
    }

    fn send_command(&mut self, planned: Planned) {
        let tag = format!("A{:03}", self.next_tag);
        self.next_tag += 1;
        let Ok(t) = Tag::try_from(tag.clone()) else {
            return;
        };
        let command = Command {
            tag: t,
            body: planned.body,
        };
        self.pending = CommandCodec::new().encode(&command).collect();
        self.running = Some(Running {
            tag,
            kind: planned.kind,
        });
        self.flush_fragments();
    }

    /// Sends encoded fragments up to the next synchronising literal, which
    /// must wait for the server's `+` (RFC 3501 §7.5).
    fn flush_fragments(&mut self) {
        let mut bytes = Vec::new();
        let mut lines = Vec::new();
        while let Some(fragment) = self.pending.front() {
            if let Fragment::Literal {
                mode: LiteralMode::Sync,
                ..
            } = fragment
            {
                if !self.awaiting_continuation {
                    self.awaiting_continuation = true;
                    break;
                }
                self.awaiting_continuation = false;
            }
            let Some(fragment) = self.pending.pop_front() else {
                break;
            };
            match fragment {
                Fragment::Line { data } => {
                    for line in data.split_inclusive(|&b| b == b'\n') {
                        lines.push(Transcript::Command(printable(line)));
                    }
                    bytes.extend_from_slice(&data);
                }
                Fragment::Literal { data, .. } => {
                    lines.extend(data_transcript(&data));
                    bytes.extend_from_slice(&data);
                }
            }
        }
        self.transcript.extend(lines);
        if !bytes.is_empty() {
            self.output.push_back(bytes);
        }
    }

    fn send_done(&mut self) {
        let mut lines = Vec::new();
        let bytes = encoded_transcript(IdleDoneCodec::new().encode(&IdleDone), false, &mut lines);
        self.transcript.extend(lines);
        self.output.push_back(bytes);
        self.done_sent = true;
        self.stop_idle_requested = false;
    }

    // ----- receiving ------------------------------------------------------------

    fn handle_response(&mut self, message: &[u8]) {
        if self.state == State::Connecting {
            match GreetingCodec::new().decode(message) {
                Ok((_, greeting)) => {
                    self.state = match greeting.kind {
                        GreetingKind::Ok => State::NotAuthenticated,
                        GreetingKind::PreAuth => State::Authenticated,
                        GreetingKind::Bye => State::Logout,
                    };
                    if let Some(imap_codec::imap_types::response::Code::Capability(caps)) =
                        &greeting.code
                    {
                        self.capabilities = caps.as_ref().iter().map(|c| c.to_string()).collect();
                    }
                    self.events
                        .push_back(ClientEvent::Greeting(greeting.text.inner().to_string()));
                }
                Err(_) => self.state = State::Logout,
            }
            return;
        }
        let Ok((_, response)) = ResponseCodec::new().decode(message) else {
            // Something we cannot parse; the transcript shows it.
            return;
        };
        match response {
            Response::CommandContinuationRequest(_) => self.handle_continuation(),
            Response::Status(status) => self.handle_status(status),
            Response::Data(data) => self.handle_data(data),
        }
    }

    fn handle_continuation(&mut self) {
        if self.awaiting_continuation {
            self.flush_fragments();
            return;
        }
        if matches!(&self.running, Some(r) if r.kind == CmdKind::Idle) {
            self.state = State::Idling;
            self.events.push_back(ClientEvent::IdleStarted);
            if self.stop_idle_requested {
                self.send_done();
            }
        }
    }

    fn handle_status(&mut self, status: Status<'_>) {
        let (tag, result) = match &status {
            Status::Ok { tag, .. } => (tag, StepStatus::Ok),
            Status::No { tag, .. } => (tag, StepStatus::No),
            Status::Bad { tag, .. } => (tag, StepStatus::Bad),
            Status::Bye { text, .. } => {
                // RFC 3501 §7.1.5: the server is closing. Unless we asked
                // for it, the command in flight has failed.
                if !matches!(&self.running, Some(r) if r.kind == CmdKind::Logout) {
                    self.running = None;
                    self.state = State::Logout;
                    if let Some(active) = self.active.as_mut()
                        && active.failure.is_none()
                    {
                        active.failure = Some((StepStatus::No, text.inner().to_string()));
                    }
                }
                return;
            }
        };
        let Some(tag) = tag else { return };
        let Some(running) = self.running.clone() else {
            return;
        };
        if tag.inner() != running.tag {
            return;
        }
        self.running = None;
        self.awaiting_continuation = false;
        self.pending.clear();
        let text = status.text().inner().to_string();
        self.command_done(running.kind, result, text);
    }

    fn command_done(&mut self, kind: CmdKind, result: StepStatus, text: String) {
        let ok = result == StepStatus::Ok;
        match kind {
            CmdKind::StartTls if ok => self.tls_pending = true,
            CmdKind::Login if ok => self.state = State::Authenticated,
            CmdKind::Login => self.login_failed = true,
            CmdKind::Select(folder) if ok => {
                self.state = State::Selected;
                self.selected = true;
                self.folder = Some(folder);
                // Learn every message's UID, so that later EXPUNGEs and
                // FETCHes by sequence number can be named.
                if !self.seq_uids.is_empty()
                    && let (Ok(set), Some(active)) =
                        ("1:*".parse::<SequenceSet>(), self.active.as_mut())
                {
                    let items = vec![MessageDataItemName::Uid, MessageDataItemName::Flags];
                    let Ok(body) = CommandBody::fetch(set, items, true);
                    active.queue.push_front(Planned {
                        body,
                        kind: CmdKind::Sync,
                    });
                }
            }
            CmdKind::Select(_) => {
                self.state = State::Authenticated;
                self.selected = false;
                self.folder = None;
                self.seq_uids.clear();
            }
            CmdKind::Idle => {
                self.state = if self.selected {
                    State::Selected
                } else {
                    State::Authenticated
                };
                self.done_sent = false;
                self.stop_idle_requested = false;
            }
            CmdKind::Logout => self.state = State::Logout,
            _ => {}
        }
        if let Some(active) = self.active.as_mut() {
            active.last_text = text.clone();
            if !ok && active.failure.is_none() {
                active.failure = Some((result, text));
                // The rest of a failed multi-command step is not sent.
                active.queue.clear();
            }
        }
    }

    /// After a failed LOGIN nothing but LOGOUT makes sense.
    fn skip_until_logout(&mut self) {
        let mut kept = VecDeque::new();
        let mut skipped = Vec::new();
        while let Some((index, step)) = self.steps.pop_front() {
            if step == ImapStep::Logout {
                kept.push_back((index, step));
            } else {
                skipped.push((index, step.name()));
            }
        }
        self.steps = kept;
        for (index, name) in skipped {
            self.record_outcome(index, name, StepStatus::Skipped, "login failed".to_string());
        }
    }

    fn running_kind(&self) -> Option<&CmdKind> {
        self.running.as_ref().map(|r| &r.kind)
    }

    fn push_update(&mut self, update: ImapUpdate) {
        self.updates.push(update.clone());
        self.events.push_back(ClientEvent::Update(update));
    }

    fn handle_data(&mut self, data: Data<'_>) {
        let in_select = matches!(self.running_kind(), Some(CmdKind::Select(_)));
        match data {
            Data::Capability(caps) => {
                self.capabilities = caps.as_ref().iter().map(|c| c.to_string()).collect();
            }
            Data::List { mailbox, .. } => {
                if let Some(name) = mailbox_name(&mailbox) {
                    self.folders.push(name);
                }
            }
            Data::Search(found) => {
                self.search_results = found.into_iter().map(|n| n.get()).collect();
            }
            Data::Exists(n) => {
                let tracked = (n as usize).min(MAX_TRACKED);
                if in_select {
                    self.seq_uids = vec![0; tracked];
                    return;
                }
                if tracked > self.seq_uids.len() {
                    self.seq_uids.resize(tracked, 0);
                }
                self.push_update(ImapUpdate::Exists(n));
            }
            Data::Recent(n) if !in_select => self.push_update(ImapUpdate::Recent(n)),
            Data::Expunge(seq) => {
                let index = seq.get() as usize - 1;
                let uid = (index < self.seq_uids.len())
                    .then(|| self.seq_uids.remove(index))
                    .filter(|&u| u != 0);
                self.push_update(ImapUpdate::Expunge {
                    seq: seq.get(),
                    uid,
                });
            }
            Data::Fetch { seq, items } => self.handle_fetch(seq.get(), items.into_iter().collect()),
            _ => {}
        }
    }

    fn handle_fetch(&mut self, seq: u32, items: Vec<MessageDataItem<'_>>) {
        let mut uid = None;
        let mut flags: Option<FlagSet> = None;
        let mut recent = false;
        let mut size = None;
        let mut body = None;
        for item in items {
            match item {
                MessageDataItem::Uid(u) => uid = Some(u.get()),
                MessageDataItem::Flags(list) => {
                    let mut set = FlagSet::new();
                    for f in list {
                        match f {
                            FlagFetch::Recent => recent = true,
                            FlagFetch::Flag(f) => {
                                if let Ok(Some(flag)) = from_imap_flag(&f) {
                                    set.insert(flag);
                                }
                            }
                        }
                    }
                    flags = Some(set);
                }
                MessageDataItem::Rfc822Size(n) => size = Some(n),
                MessageDataItem::BodyExt {
                    section: None,
                    data,
                    ..
                }
                | MessageDataItem::Rfc822(data) => {
                    body = data.into_option().map(|d| d.into_owned())
                }
                _ => {}
            }
        }
        let index = seq as usize - 1;
        if let Some(u) = uid
            && index < MAX_TRACKED
        {
            if index >= self.seq_uids.len() {
                self.seq_uids.resize(index + 1, 0);
            }
            self.seq_uids[index] = u;
        } else if uid.is_none() {
            uid = self.seq_uids.get(index).copied().filter(|&u| u != 0);
        }
        let solicited = match self.running_kind() {
            Some(CmdKind::Sync) => true,
            Some(CmdKind::Fetch { targets }) => match (targets, uid) {
                (None, _) => true,
                (Some(t), Some(u)) => t.contains(&u),
                (Some(_), None) => false,
            },
            _ => false,
        };
        let is_fetch_result = solicited && self.running_kind() != Some(&CmdKind::Sync);
        let folder = self.folder.clone().unwrap_or_default();
        if let Some(u) = uid
            && (is_fetch_result || self.messages.contains_key(&(folder.clone(), u)))
        {
            let m = self
                .messages
                .entry((folder.clone(), u))
                .or_insert_with(|| FetchedMessage {
                    folder: folder.clone(),
                    uid: u,
                    flags: FlagSet::new(),
                    recent: false,
                    size: None,
                    body: None,
                });
            if let Some(f) = &flags {
                m.flags = f.clone();
                m.recent = recent;
            }
            if size.is_some() {
                m.size = size;
            }
            if body.is_some() {
                m.body = body;
            }
            if is_fetch_result {
                let event = ClientEvent::Fetched {
                    folder,
                    uid: u,
                    flags: m.flags.clone(),
                    size: m.size,
                };
                self.events.push_back(event);
            }
        }
        if !solicited && let Some(flags) = flags {
            self.push_update(ImapUpdate::Flags { seq, uid, flags });
        }
    }
}

fn reply(line: &[u8]) -> Transcript {
    Transcript::Reply {
        code: None,
        text: printable(line),
    }
}

impl Session for ImapClient {
    fn poll_output(&mut self) -> Option<Vec<u8>> {
        self.output.pop_front()
    }

    fn poll_transcript(&mut self) -> Option<Transcript> {
        self.transcript.pop_front()
    }

    fn wants_close(&self) -> bool {
        self.state == State::Logout && self.running.is_none()
    }

    fn handle_close(&mut self) {
        self.state = State::Closed;
        self.running = None;
        self.tls_pending = false;
        self.advance();
    }

    fn take_starttls(&mut self) -> bool {
        // Asked once: the driver switches, then calls tls_started.
        self.tls_pending && !self.secure
    }

    fn tls_started(&mut self) {
        self.secure = true;
        self.tls_pending = false;
        self.framer = Framer::new(FrameLimits {
            max_line: 64 * 1024,
            max_literal: 64 * 1024 * 1024,
            max_message: 65 * 1024 * 1024,
        });
        self.advance();
    }

    fn is_secure(&self) -> bool {
        self.secure
    }

    fn state_name(&self) -> &'static str {
        match self.state {
            State::Connecting => "Connecting",
            State::NotAuthenticated => "NotAuthenticated",
            State::Authenticated => "Authenticated",
            State::Selected => "Selected",
            State::Idling => "Idling",
            State::Logout => "Logout",
            State::Closed => "Closed",
        }
    }
}
