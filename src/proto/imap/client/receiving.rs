//! The client's receiving side: the server's responses framed and parsed,
//! tagged replies ending the running command (and with it, maybe, the
//! step), and untagged data kept: capabilities, folders, search results,
//! fetched messages and their flags, and the updates (EXISTS, EXPUNGE,
//! FETCH FLAGS) that tell this device what others changed.
//!
//! Not here: planning and sending the commands (`sending`).

use std::collections::VecDeque;

use imap_codec::{
    GreetingCodec, ResponseCodec,
    decode::Decoder,
    imap_types::{
        command::CommandBody,
        fetch::{MessageDataItem, MessageDataItemName},
        flag::FlagFetch,
        response::{Data, GreetingKind, Response, Status},
        sequence::SequenceSet,
    },
};

use super::super::convert::{from_imap_flag, mailbox_name};
use super::super::store::FlagSet;
use super::{
    ClientEvent, CmdKind, FetchedMessage, ImapClient, ImapStep, ImapUpdate, MAX_TRACKED, Planned,
    State, StepStatus,
};

impl ImapClient {
    pub(super) fn handle_response(&mut self, message: &[u8]) {
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
    pub(super) fn skip_until_logout(&mut self) {
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
    fn a_refused_login_skips_to_logout() {
        let mut c = ImapClient::new(vec![
            login(),
            ImapStep::Select("INBOX".into()),
            ImapStep::Logout,
        ]);
        c.handle_input(b"* OK ready\r\n");
        sent(&mut c);
        c.handle_input(b"A001 NO [AUTHENTICATIONFAILED] Invalid credentials\r\n");
        assert_eq!(sent(&mut c), "A002 LOGOUT\r\n");
        let statuses: Vec<StepStatus> = c.outcomes().iter().map(|o| o.status).collect();
        assert_eq!(statuses[..2], [StepStatus::No, StepStatus::Skipped]);
    }

    #[test]
    fn news_from_the_server_is_kept_with_the_uids_it_concerns() {
        // RFC 3501 §7.4.1: `* n EXPUNGE` names a sequence number; the
        // client knows which UID that was from its FETCH after SELECT.
        let mut c = ImapClient::new(vec![
            login(),
            ImapStep::Select("INBOX".into()),
            ImapStep::Noop,
        ]);
        c.handle_input(b"* OK ready\r\n");
        sent(&mut c);
        c.handle_input(b"A001 OK Logged in\r\n");
        assert_eq!(sent(&mut c), "A002 SELECT INBOX\r\n");
        c.handle_input(b"* 2 EXISTS\r\n* OK [UIDVALIDITY 1] UIDs valid\r\nA002 OK [READ-WRITE] SELECT completed\r\n");
        let fetch = sent(&mut c);
        assert!(fetch.starts_with("A003 UID FETCH 1:* "), "{fetch}");
        c.handle_input(
            b"* 1 FETCH (UID 3 FLAGS ())\r\n* 2 FETCH (UID 5 FLAGS (\\Seen))\r\nA003 OK FETCH completed\r\n",
        );
        assert_eq!(sent(&mut c), "A004 NOOP\r\n");
        c.handle_input(b"* 1 EXPUNGE\r\n* 2 EXISTS\r\nA004 OK NOOP completed\r\n");
        // The new message's UID is not known yet: 0 holds its place.
        assert_eq!(c.mailbox_uids(), [5, 0]);
        assert!(
            c.updates().ends_with(&[
                ImapUpdate::Expunge {
                    seq: 1,
                    uid: Some(3)
                },
                ImapUpdate::Exists(2)
            ]),
            "{:?}",
            c.updates()
        );
    }
}
