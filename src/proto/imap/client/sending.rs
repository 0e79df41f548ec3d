//! The client's sending side: each step planned as the commands that carry
//! it out (UID commands throughout, a search before the steps that name a
//! subject), sent one at a time, a synchronising literal only after the
//! server's `+` (RFC 3501 §7.5), and `DONE` to end an IDLE (RFC 2177).
//!
//! Not here: what the replies mean (`receiving`).

use std::collections::BTreeSet;

use imap_codec::{
    CommandCodec, IdleDoneCodec,
    encode::{Encoder, Fragment},
    imap_types::{
        command::{Command, CommandBody},
        core::{AString, LiteralMode, Tag},
        extensions::idle::IdleDone,
        fetch::MessageDataItemName,
        flag::{StoreResponse, StoreType},
        search::SearchKey,
        sequence::SequenceSet,
    },
};

use super::super::convert::{mailbox_name, to_imap_flag, uid_set};
use super::super::store::Flag;
use super::super::{data_transcript, encoded_transcript, printable};
use super::{
    ActiveStep, ClientEvent, CmdKind, ImapClient, ImapStep, Planned, Running, State, StepOutcome,
    StepStatus, StoreOp, Which,
};
use crate::proto::Transcript;

impl ImapClient {
    /// Starts the next command if nothing is in flight, and records the
    /// outcome of steps that are done.
    pub(super) fn advance(&mut self) {
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

    pub(super) fn record_outcome(
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
    pub(super) fn flush_fragments(&mut self) {
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

    pub(super) fn send_done(&mut self) {
        let mut lines = Vec::new();
        let bytes = encoded_transcript(IdleDoneCodec::new().encode(&IdleDone), false, &mut lines);
        self.transcript.extend(lines);
        self.output.push_back(bytes);
        self.done_sent = true;
        self.stop_idle_requested = false;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::Session;

    fn sent(c: &mut ImapClient) -> String {
        let mut out = Vec::new();
        while let Some(b) = c.poll_output() {
            out.extend(b);
        }
        String::from_utf8_lossy(&out).into_owned()
    }

    fn login() -> ImapStep {
        ImapStep::Login {
            user: "bob".into(),
            password: "hungry".into(),
        }
    }

    #[test]
    fn nothing_is_sent_before_the_greeting() {
        // RFC 3501 §7.1.1: the server speaks first.
        let mut c = ImapClient::new(vec![login(), ImapStep::Logout]);
        assert_eq!(sent(&mut c), "");
        c.handle_input(b"* OK IMAP4rev1 ready\r\n");
        assert_eq!(sent(&mut c), "A001 LOGIN bob hungry\r\n");
        // One command at a time: LOGOUT waits for LOGIN's reply.
        assert_eq!(sent(&mut c), "");
        c.handle_input(b"A001 OK Logged in\r\n");
        assert_eq!(sent(&mut c), "A002 LOGOUT\r\n");
    }

    #[test]
    fn steps_work_on_uids_the_client_knows() {
        let mut c = ImapClient::new(Vec::new());
        assert_eq!(
            c.uid_targets(&Which::LastSearch),
            Err("no messages to work on".to_string())
        );
        c.search_results = vec![3, 5];
        let (set, uids) = c.uid_targets(&Which::LastSearch).unwrap();
        assert_eq!(set, "3,5".parse::<SequenceSet>().unwrap());
        assert_eq!(uids, Some(BTreeSet::from([3, 5])));
        let (all, none) = c.uid_targets(&Which::All).unwrap();
        assert_eq!((all, none), ("1:*".parse().unwrap(), None));
    }
}
