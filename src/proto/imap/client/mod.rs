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
//! The pieces: this file is the client (its steps, what it keeps, its
//! state); `sending` plans and sends the commands; `receiving` reads the
//! replies.
//!
//! It is not a general client library: no STARTTLS, no AUTHENTICATE, no
//! partial fetches, no MIME decoding.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use imap_codec::{encode::Fragment, imap_types::command::CommandBody};

use super::framing::{Frame, FrameLimits, Framer};
use super::store::{Flag, FlagSet};
use super::{data_transcript, printable};
use crate::proto::{Session, Transcript};

mod receiving;
mod sending;

/// The client's states, for the visualizer.
pub const STATES: &[&str] = &[
    "CONNECTING",
    "NOT-AUTHENTICATED",
    "AUTHENTICATED",
    "SELECTED",
    "IDLING",
    "LOGOUT",
    "CLOSED",
];

/// The client's state diagram.
pub const TRANSITIONS: &[crate::proto::Transition] = &[
    ("CONNECTING", "NOT-AUTHENTICATED", "* OK greeting"),
    ("NOT-AUTHENTICATED", "AUTHENTICATED", "LOGIN ok"),
    ("AUTHENTICATED", "SELECTED", "SELECT ok"),
    (
        "SELECTED",
        "SELECTED",
        "SEARCH / FETCH / STORE / COPY / EXPUNGE",
    ),
    ("SELECTED", "IDLING", "IDLE, + idling"),
    ("AUTHENTICATED", "IDLING", "IDLE, + idling"),
    ("IDLING", "SELECTED", "DONE, OK"),
    ("IDLING", "AUTHENTICATED", "DONE, OK"),
    ("NOT-AUTHENTICATED", "LOGOUT", "LOGOUT"),
    ("AUTHENTICATED", "LOGOUT", "LOGOUT"),
    ("SELECTED", "LOGOUT", "LOGOUT"),
    ("LOGOUT", "CLOSED", "OK, connection closed"),
];

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
            State::Connecting => "CONNECTING",
            State::NotAuthenticated => "NOT-AUTHENTICATED",
            State::Authenticated => "AUTHENTICATED",
            State::Selected => "SELECTED",
            State::Idling => "IDLING",
            State::Logout => "LOGOUT",
            State::Closed => "CLOSED",
        }
    }
}
