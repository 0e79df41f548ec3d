//! The commands on folders as a whole (RFC 3501 §6.3): SELECT and
//! EXAMINE, CREATE, DELETE, RENAME, SUBSCRIBE and UNSUBSCRIBE, LIST and
//! LSUB (with the SPECIAL-USE attributes of RFC 6154), STATUS and APPEND
//! (with APPENDUID, RFC 4315).
//!
//! Not here: the commands on the messages of the selected folder
//! (`messages`), how a session keeps its view of that folder (`view`).

use std::collections::BTreeSet;
use std::num::NonZeroU32;

use imap_codec::imap_types::{
    core::{Atom, QuotedChar},
    flag::{Flag as ImapFlag, FlagNameAttribute},
    mailbox::{ListMailbox, Mailbox},
    response::{Code, Data},
    status::{StatusDataItem, StatusDataItemName},
};

use super::super::convert::{flag_list, flag_set, list_pattern, mailbox, mailbox_name, perm_flags};
use super::super::store::{DELIMITER, Flag, FlagSet, INBOX, MailStore, MessageMeta};
use super::view::{Selected, ViewMessage};
use super::{
    CODE_CANNOT, CODE_NONEXISTENT, Done, ImapServer, appenduid, bad, code, no, ok, ok_code,
    store_no,
};

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

/// RFC 3501 §6.3.8 LIST wildcards: `*` matches anything, `%` anything but
/// the hierarchy delimiter. Dynamic programming, so no pattern is slow.
pub(super) fn list_match(pattern: &str, name: &str) -> bool {
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

impl ImapServer {
    pub(super) fn user_name(&self) -> String {
        self.user.clone().unwrap_or_default()
    }

    /// RFC 3501 §6.3.1 SELECT and §6.3.2 EXAMINE.
    pub(super) fn cmd_select(
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
    pub(super) fn cmd_create(&mut self, store: &mut dyn MailStore, mbox: &Mailbox<'_>) -> Done {
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
    pub(super) fn cmd_delete(&mut self, store: &mut dyn MailStore, mbox: &Mailbox<'_>) -> Done {
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
    pub(super) fn cmd_rename(
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
    pub(super) fn cmd_subscribe(
        &mut self,
        store: &mut dyn MailStore,
        mbox: &Mailbox<'_>,
        on: bool,
    ) -> Done {
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
    pub(super) fn cmd_list(
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
    pub(super) fn cmd_status(
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
    pub(super) fn cmd_append(
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

    #[test]
    fn special_use_goes_by_top_level_names_in_any_case() {
        // RFC 6154 §2.
        assert_eq!(special_use("Sent"), Some("Sent"));
        assert_eq!(special_use("deleted items"), Some("Trash"));
        assert_eq!(special_use("Spam"), Some("Junk"));
        assert_eq!(special_use("Work/Archive"), None);
        assert_eq!(special_use("INBOX"), None);
    }
}
