//! Each session's view of the selected folder: the UIDs it has announced,
//! in order (their positions are the sequence numbers) and the flags it
//! last reported; which messages a sequence set names; and, whenever the
//! session may speak, what other sessions or deliveries changed since
//! (EXPUNGE, EXISTS and RECENT, FETCH FLAGS; RFC 3501 §7.4.1, §5.2).
//!
//! Not here: the commands that read or change messages (`messages`).

use std::collections::{BTreeMap, BTreeSet};
use std::num::NonZeroU32;

use imap_codec::imap_types::{
    core::NonEmptyVec,
    fetch::MessageDataItem,
    response::{Data, Response},
    sequence::{SeqOrUid, Sequence, SequenceSet},
};

use super::super::convert::{flag_fetch, set_contains};
use super::super::store::{FlagSet, MailStore, MessageMeta};
use super::ImapServer;

/// One message as this session last reported it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct ViewMessage {
    pub(super) uid: u32,
    pub(super) flags: FlagSet,
}

/// The selected folder and this session's view of it.
#[derive(Debug, Clone)]
pub(super) struct Selected {
    pub(super) name: String,
    pub(super) read_only: bool,
    pub(super) uid_validity: u32,
    /// In sequence-number order: `view[0]` is message 1.
    pub(super) view: Vec<ViewMessage>,
    /// UIDs that are `\Recent` in this session.
    pub(super) recent: BTreeSet<u32>,
}

impl ImapServer {
    /// User, folder and read-only flag of the selection.
    pub(super) fn context(&self) -> Option<(String, String, bool)> {
        let sel = self.selected.as_ref()?;
        Some((self.user_name(), sel.name.clone(), sel.read_only))
    }

    /// The store's messages of the selected folder, by UID.
    pub(super) fn current(&self, store: &dyn MailStore) -> BTreeMap<u32, MessageMeta> {
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
    pub(super) fn targets(&self, set: &SequenceSet, uid: bool) -> Result<Vec<usize>, &'static str> {
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

    /// Compares the view with the store and reports the differences
    /// (see the module documentation).
    pub(super) fn report_changes(&mut self, store: &mut dyn MailStore, allow_expunge: bool) {
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

#[cfg(test)]
mod tests {
    use super::super::ImapConfig;
    use super::*;
    use std::str::FromStr;

    /// A session with messages of UIDs 3, 5 and 9 in view.
    fn session() -> ImapServer {
        let mut s = ImapServer::new(ImapConfig::default());
        s.user = Some("bob".into());
        s.selected = Some(Selected {
            name: "INBOX".into(),
            read_only: false,
            uid_validity: 1,
            view: [3, 5, 9]
                .into_iter()
                .map(|uid| ViewMessage {
                    uid,
                    flags: FlagSet::new(),
                })
                .collect(),
            recent: BTreeSet::new(),
        });
        s
    }

    fn set(text: &str) -> SequenceSet {
        SequenceSet::from_str(text).unwrap()
    }

    #[test]
    fn sequence_numbers_are_positions_in_the_view() {
        let s = session();
        assert_eq!(s.targets(&set("2"), false), Ok(vec![1]));
        assert_eq!(s.targets(&set("2:*"), false), Ok(vec![1, 2]));
        assert_eq!(s.targets(&set("1,3"), false), Ok(vec![0, 2]));
    }

    #[test]
    fn a_sequence_number_past_the_end_is_an_error_unless_the_range_ends_in_a_star() {
        // RFC 3501 §9 seq-number.
        let s = session();
        assert!(s.targets(&set("4"), false).is_err());
        assert!(s.targets(&set("2:4"), false).is_err());
        assert_eq!(s.targets(&set("3:*"), false), Ok(vec![2]));
    }

    #[test]
    fn uids_name_the_messages_that_have_them() {
        // RFC 3501 §6.4.8: UIDs that do not exist are simply not there.
        let s = session();
        assert_eq!(s.targets(&set("5"), true), Ok(vec![1]));
        assert_eq!(s.targets(&set("4:9"), true), Ok(vec![1, 2]));
        assert_eq!(s.targets(&set("100"), true), Ok(vec![]));
        assert_eq!(s.targets(&set("*"), true), Ok(vec![2]));
    }

    #[test]
    fn nothing_is_named_without_a_selected_folder() {
        let s = ImapServer::new(ImapConfig::default());
        assert_eq!(s.targets(&set("1:*"), false), Ok(vec![]));
        assert_eq!(s.context(), None);
    }
}
