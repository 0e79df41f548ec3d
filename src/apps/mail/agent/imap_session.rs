//! The user agent's IMAP side: the steps a user takes on a mailbox that
//! stays on the server ([`ImapAction`]), the session that turns them into
//! IMAP commands (RFC 3501) and the news the server sends about what other
//! sessions or deliveries changed (EXISTS, EXPUNGE, FETCH FLAGS).
//!
//! Not here: the connection and its TLS (the parent module), POP3 and
//! submission (`pop3_fetch`, `submit`).

use super::super::store::{self, Flag};
use super::{
    AgentError, FetchedMessage, Job, MailAccount, UserAgent, connect, events, fetch_failed,
    show_content, write_session,
};
use crate::net::{AppCx, ConnId};
use crate::proto::imap::{
    self, ClientEvent, ImapClient, ImapStep, ImapUpdate, StepStatus, StoreOp, Which,
};
use crate::proto::smtp::message::Headers;
use crate::sim::{SimDuration, SimTime};
use crate::trace::{Protocol, Value};
use std::collections::BTreeSet;

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
pub(super) struct ImapJob {
    pub(super) client: ImapClient,
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

impl UserAgent {
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

    // ---- IMAP -----------------------------------------------------------

    /// [`pump`](Self::pump) for an IMAP session: also turns what the
    /// client learned into trace events and state.
    pub(super) fn pump_imap(&mut self, cx: &mut AppCx<'_>, conn: ConnId) {
        let Some(Job::Imap(mut job)) = self.jobs.remove(&conn) else {
            return;
        };
        self.imap_events(cx, conn, &mut job);
        // The servers trace the dialogues, both directions.
        crate::apps::pump::skip_dialogue(&mut job.client);
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

    pub(super) fn imap_events(&mut self, cx: &mut AppCx<'_>, conn: ConnId, job: &mut ImapJob) {
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

    pub(super) fn on_timer(&mut self, cx: &mut AppCx<'_>, token: u64) {
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
            fields.push(("flags", store::flag_names(&flags).into()));
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
                    ("flags", store::flag_names(&flags).into()),
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
    pub(super) fn imap_over(&mut self, cx: &mut AppCx<'_>, job: ImapJob, error: Option<&str>) {
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
            ("flags", store::flag_names(flags).into()),
            ("from", m.from().into()),
            ("subject", m.subject().into()),
            ("size", m.data.len().into()),
            ("hops", headers.get_all("Received").count().into()),
        ],
    );
    show_content(cx, m, &headers);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn account() -> MailAccount {
        MailAccount::new("alice@crepes.fr", "secret", "mail.crepes.fr")
    }

    #[test]
    fn login_uses_the_accounts_login_and_password() {
        assert_eq!(
            ImapAction::Login.client_steps(&account()),
            vec![ImapStep::Login {
                user: "alice".into(),
                password: "secret".into(),
            }]
        );
    }

    #[test]
    fn a_step_that_names_a_subject_searches_first_then_acts_on_what_it_found() {
        let read = ImapAction::Read {
            subject: "lunch".into(),
        };
        assert_eq!(read.subject(), Some("lunch"));
        assert_eq!(
            read.client_steps(&account()),
            vec![
                ImapStep::SearchSubject("lunch".into()),
                ImapStep::Fetch {
                    which: Which::LastSearch,
                    peek: false,
                },
            ]
        );
        let unflag = ImapAction::Flag {
            subject: "lunch".into(),
            flag: Flag::Seen,
            set: false,
        };
        assert_eq!(unflag.name(), "Unflag");
        assert_eq!(
            unflag.client_steps(&account())[1],
            ImapStep::Store {
                which: Which::LastSearch,
                op: StoreOp::Remove,
                flags: vec![Flag::Seen.to_imap()],
            }
        );
    }

    #[test]
    fn delete_flags_deleted_then_expunges() {
        let delete = ImapAction::Delete {
            subject: "spam".into(),
        };
        assert!(delete.expunges() && !delete.reads());
        assert_eq!(
            delete.client_steps(&account())[1..],
            [
                ImapStep::Store {
                    which: Which::LastSearch,
                    op: StoreOp::Add,
                    flags: vec![imap::Flag::Deleted],
                },
                ImapStep::Expunge,
            ]
        );
    }

    #[test]
    fn peeking_reads_without_setting_seen() {
        assert!(ImapAction::PeekAll.reads());
        assert_eq!(
            ImapAction::PeekAll.client_steps(&account()),
            vec![ImapStep::Fetch {
                which: Which::All,
                peek: true,
            }]
        );
        assert_eq!(ImapAction::SearchUnseen.subject(), None);
    }

    #[test]
    fn update_kinds_go_by_their_names() {
        for kind in [UpdateKind::Exists, UpdateKind::Expunge, UpdateKind::Flags] {
            assert_eq!(UpdateKind::from_name(kind.name()), Some(kind));
        }
        assert_eq!(UpdateKind::from_name("recent"), None);
    }
}
