//! The commands on the messages of the selected folder (RFC 3501 §6.4):
//! CLOSE and UNSELECT, EXPUNGE and UID EXPUNGE (RFC 4315), SEARCH, FETCH
//! with its data items and body sections, STORE, and COPY and MOVE (RFC
//! 6851, with COPYUID).
//!
//! Not here: the folder commands (`mailbox`), the sequence numbers'
//! mapping to UIDs and the reports of others' changes (`view`).

use std::num::NonZeroU32;

use imap_codec::imap_types::{
    core::{Charset, NonEmptyVec},
    fetch::{MacroOrMessageDataItemNames, MessageDataItem, MessageDataItemName, Part, Section},
    flag::{Flag as ImapFlag, StoreResponse, StoreType},
    mailbox::Mailbox,
    response::{Code, Data},
    search::SearchKey,
    sequence::SequenceSet,
};

use super::super::convert::{
    body_structure, envelope, flag_fetch, flag_set, internal_date, literal, mailbox_name,
    set_contains,
};
use super::super::message::{MimePart, header_fields, parse_message};
use super::super::search::{self, Candidate};
use super::super::store::{Flag, FlagSet, MailStore, MessageMeta};
use super::{CODE_EXPUNGEISSUED, Done, ImapServer, bad, code, copyuid, no, ok, ok_code, store_no};

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
pub(super) fn fetch_item<'a>(
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

impl ImapServer {
    /// RFC 3501 §6.4.2 CLOSE (expunges silently) and RFC 3691 UNSELECT.
    pub(super) fn cmd_close(&mut self, store: &mut dyn MailStore, expunge: bool) -> Done {
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
    pub(super) fn cmd_expunge(&mut self, store: &mut dyn MailStore) -> Done {
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
    pub(super) fn cmd_uid_expunge(&mut self, store: &mut dyn MailStore, set: &SequenceSet) -> Done {
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
    pub(super) fn cmd_search(
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
    pub(super) fn cmd_fetch(
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
    pub(super) fn cmd_store(
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
    pub(super) fn cmd_copy(
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
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_reading_the_body_sets_seen() {
        // RFC 3501 §6.4.5: BODY[] and RFC822 set \Seen, BODY.PEEK[] and
        // the metadata items do not.
        use MessageDataItemName as N;
        let body = |peek| N::BodyExt {
            section: None,
            partial: None,
            peek,
        };
        assert!(item_sets_seen(&body(false)) && item_sets_seen(&N::Rfc822));
        assert!(!item_sets_seen(&body(true)) && !item_sets_seen(&N::Flags));
        assert!(item_needs_body(&body(true)));
        assert!(!item_needs_body(&N::Uid) && !item_needs_body(&N::Rfc822Size));
    }

    #[test]
    fn a_partial_fetch_is_cut_to_what_there_is() {
        // RFC 3501 §6.4.5: BODY[]<origin.length>.
        let n = |v| NonZeroU32::new(v).unwrap();
        assert_eq!(partial(b"Hello, world".to_vec(), 7, n(5)), b"world");
        assert_eq!(partial(b"Hello".to_vec(), 3, n(100)), b"lo");
        assert_eq!(partial(b"Hello".to_vec(), 9, n(1)), b"");
    }
}
