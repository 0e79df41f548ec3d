//! The store as an IMAP backend (RFC 3501): every folder of a user with `/`
//! as the hierarchy delimiter, subscriptions, `\Recent` claimed by the
//! first session to see a message, and the store's errors and flags as
//! the IMAP machine names them.
//!
//! Not here: the IMAP dialogue and each session's view of a folder
//! (`proto::imap`), POP3's view (`pop3_backend`).

use std::collections::BTreeSet;

use super::{Flag, Folder, INBOX, MailStore, StoreChange, StoreError};
use crate::proto::imap;

impl Flag {
    /// The flag as the IMAP machine names it.
    pub fn to_imap(&self) -> imap::Flag {
        match self {
            Flag::Seen => imap::Flag::Seen,
            Flag::Answered => imap::Flag::Answered,
            Flag::Flagged => imap::Flag::Flagged,
            Flag::Deleted => imap::Flag::Deleted,
            Flag::Draft => imap::Flag::Draft,
            Flag::Keyword(k) => imap::Flag::Keyword(k.clone()),
        }
    }

    /// The IMAP machine's flag as the store keeps it.
    pub fn from_imap(flag: &imap::Flag) -> Flag {
        match flag {
            imap::Flag::Seen => Flag::Seen,
            imap::Flag::Answered => Flag::Answered,
            imap::Flag::Flagged => Flag::Flagged,
            imap::Flag::Deleted => Flag::Deleted,
            imap::Flag::Draft => Flag::Draft,
            imap::Flag::Keyword(k) => Flag::Keyword(k.clone()),
        }
    }
}

/// Flags as IMAP writes them, space separated: `\Seen \Flagged`.
pub fn flag_names(flags: &BTreeSet<Flag>) -> String {
    flags.iter().map(Flag::name).collect::<Vec<_>>().join(" ")
}

impl From<StoreError> for imap::StoreError {
    fn from(e: StoreError) -> imap::StoreError {
        match e {
            StoreError::NoSuchUser(_) | StoreError::UserExists(_) => imap::StoreError::NoSuchUser,
            StoreError::NoSuchFolder(_) => imap::StoreError::NoSuchFolder,
            StoreError::FolderExists(_) => imap::StoreError::FolderExists,
            StoreError::InboxIsPermanent => imap::StoreError::CannotDeleteInbox,
            StoreError::BadFolderName(_) => imap::StoreError::InvalidName,
            StoreError::NoSuchMessage(_) => imap::StoreError::NoSuchMessage,
        }
    }
}

impl MailStore {
    /// The user key an IMAP login names (`bob` or `bob@hamburger.edu`).
    fn imap_user(&self, login: &str) -> Result<String, imap::StoreError> {
        self.resolve_login(login)
            .ok_or(imap::StoreError::NoSuchUser)
    }

    fn imap_folder(&self, login: &str, folder: &str) -> Result<&Folder, imap::StoreError> {
        let key = self.imap_user(login)?;
        self.folder(&key, folder)
            .ok_or(imap::StoreError::NoSuchFolder)
    }

    /// RFC 3501 §6.3.5: renaming the INBOX moves its messages (flags and
    /// dates kept, new UIDs) to a new folder and leaves the INBOX empty.
    fn move_inbox_to(&mut self, user: &str, to: &str) -> Result<(), StoreError> {
        self.create_folder(user, to)?;
        let moved = std::mem::take(&mut self.folder_mut(user, INBOX)?.messages);
        if !moved.is_empty() {
            let uids = moved.iter().map(|m| m.uid).collect();
            self.folder_mut(user, INBOX)?.version += 1;
            let user_name = self.user_mut(user)?.name.clone();
            self.changes.push(StoreChange::Expunged {
                user: user_name,
                folder: INBOX.to_string(),
                uids,
            });
        }
        for m in moved {
            self.append(user, to, m.data, m.flags, m.internal_date)?;
        }
        Ok(())
    }

    /// Renames a folder and every folder below it, with their
    /// subscriptions (RFC 3501 §6.3.5).
    fn rename_tree(&mut self, user: &str, from: &str, to: &str) -> Result<(), StoreError> {
        let prefix = format!("{from}{}", imap::DELIMITER);
        let names: Vec<String> = self
            .user(user)
            .map(|u| {
                u.folders()
                    .map(|f| f.name().to_string())
                    .filter(|n| n == from || n.starts_with(&prefix))
                    .collect()
            })
            .unwrap_or_default();
        for old in names {
            let new = format!("{to}{}", &old[from.len()..]);
            self.rename_folder(user, &old, &new)?;
            let u = self.user_mut(user)?;
            if u.subscriptions.remove(&old) {
                u.subscriptions.insert(new);
            }
        }
        Ok(())
    }

    /// Creates the missing parents of `name` ("a/b/c" needs "a" and "a/b").
    fn create_parents(&mut self, user: &str, name: &str) -> Result<(), StoreError> {
        for (i, c) in name.char_indices() {
            if c == imap::DELIMITER && self.folder(user, &name[..i]).is_none() {
                self.create_folder(user, &name[..i])?;
            }
        }
        Ok(())
    }
}

/// IMAP sees every folder of the user. Logins may be `bob` or
/// `bob@hamburger.edu`, as for POP3. See the module documentation.
impl imap::MailStore for MailStore {
    fn check_password(&self, user: &str, password: &str) -> bool {
        MailStore::check_password(self, user, password)
    }

    fn folders(&self, user: &str) -> Vec<String> {
        self.resolve_login(user)
            .and_then(|key| self.user(&key))
            .map(|u| u.folders().map(|f| f.name().to_string()).collect())
            .unwrap_or_default()
    }

    fn create_folder(&mut self, user: &str, name: &str) -> Result<(), imap::StoreError> {
        let key = self.imap_user(user)?;
        if name.eq_ignore_ascii_case(INBOX) {
            return Err(imap::StoreError::FolderExists);
        }
        if !imap::store::valid_folder_name(name) {
            return Err(imap::StoreError::InvalidName);
        }
        if self.folder(&key, name).is_some() {
            return Err(imap::StoreError::FolderExists);
        }
        // RFC 3501 §6.3.3: the server SHOULD create missing superiors.
        self.create_parents(&key, name)?;
        Ok(MailStore::create_folder(self, &key, name)?)
    }

    fn delete_folder(&mut self, user: &str, name: &str) -> Result<(), imap::StoreError> {
        let key = self.imap_user(user)?;
        if name.eq_ignore_ascii_case(INBOX) {
            return Err(imap::StoreError::CannotDeleteInbox);
        }
        if self.folder(&key, name).is_none() {
            return Err(imap::StoreError::NoSuchFolder);
        }
        let prefix = format!("{name}{}", imap::DELIMITER);
        if imap::MailStore::folders(self, &key)
            .iter()
            .any(|n| n.starts_with(&prefix))
        {
            return Err(imap::StoreError::HasChildren);
        }
        Ok(MailStore::delete_folder(self, &key, name)?)
    }

    fn rename_folder(&mut self, user: &str, from: &str, to: &str) -> Result<(), imap::StoreError> {
        let key = self.imap_user(user)?;
        if to.eq_ignore_ascii_case(INBOX) {
            return Err(imap::StoreError::FolderExists);
        }
        if !imap::store::valid_folder_name(to) {
            return Err(imap::StoreError::InvalidName);
        }
        if self.folder(&key, from).is_none() {
            return Err(imap::StoreError::NoSuchFolder);
        }
        if self.folder(&key, to).is_some() {
            return Err(imap::StoreError::FolderExists);
        }
        // A folder cannot become its own descendant.
        if to.starts_with(&format!("{from}{}", imap::DELIMITER)) {
            return Err(imap::StoreError::InvalidName);
        }
        self.create_parents(&key, to)?;
        if from.eq_ignore_ascii_case(INBOX) {
            return Ok(self.move_inbox_to(&key, to)?);
        }
        Ok(self.rename_tree(&key, from, to)?)
    }

    fn subscriptions(&self, user: &str) -> Vec<String> {
        self.resolve_login(user)
            .and_then(|key| self.user(&key))
            .map(|u| u.subscriptions().map(str::to_string).collect())
            .unwrap_or_default()
    }

    fn subscribe(&mut self, user: &str, name: &str) -> Result<(), imap::StoreError> {
        let key = self.imap_user(user)?;
        let folder = self
            .folder(&key, name)
            .ok_or(imap::StoreError::NoSuchFolder)?
            .name()
            .to_string();
        self.user_mut(&key)?.subscriptions.insert(folder);
        Ok(())
    }

    fn unsubscribe(&mut self, user: &str, name: &str) -> Result<(), imap::StoreError> {
        let key = self.imap_user(user)?;
        let name = if name.eq_ignore_ascii_case(INBOX) {
            INBOX
        } else {
            name
        };
        if self.user_mut(&key)?.subscriptions.remove(name) {
            Ok(())
        } else {
            Err(imap::StoreError::NotSubscribed)
        }
    }

    fn folder_info(&self, user: &str, folder: &str) -> Result<imap::FolderInfo, imap::StoreError> {
        let f = self.imap_folder(user, folder)?;
        Ok(imap::FolderInfo {
            uid_validity: f.uid_validity,
            uid_next: f.uid_next,
            recent_from: f.recent_from,
        })
    }

    fn messages(
        &self,
        user: &str,
        folder: &str,
    ) -> Result<Vec<imap::MessageMeta>, imap::StoreError> {
        let f = self.imap_folder(user, folder)?;
        Ok(f.messages
            .iter()
            .map(|m| imap::MessageMeta {
                uid: m.uid,
                flags: m.flags.iter().map(Flag::to_imap).collect(),
                internal_date: m.internal_date,
                size: u32::try_from(m.size()).unwrap_or(u32::MAX),
            })
            .collect())
    }

    fn message_body(
        &self,
        user: &str,
        folder: &str,
        uid: u32,
    ) -> Result<Vec<u8>, imap::StoreError> {
        self.imap_folder(user, folder)?
            .get(uid)
            .map(|m| m.data.clone())
            .ok_or(imap::StoreError::NoSuchMessage)
    }

    fn append(
        &mut self,
        user: &str,
        folder: &str,
        flags: &imap::FlagSet,
        internal_date: i64,
        body: &[u8],
    ) -> Result<u32, imap::StoreError> {
        let key = self.imap_user(user)?;
        let flags = flags.iter().map(Flag::from_imap).collect();
        Ok(MailStore::append(
            self,
            &key,
            folder,
            body.to_vec(),
            flags,
            internal_date,
        )?)
    }

    fn set_flags(
        &mut self,
        user: &str,
        folder: &str,
        uid: u32,
        flags: &imap::FlagSet,
    ) -> Result<(), imap::StoreError> {
        let key = self.imap_user(user)?;
        let flags: Vec<Flag> = flags.iter().map(Flag::from_imap).collect();
        Ok(MailStore::set_flags(self, &key, folder, uid, &flags)?)
    }

    fn copy_message(
        &mut self,
        user: &str,
        from: &str,
        uid: u32,
        to: &str,
    ) -> Result<u32, imap::StoreError> {
        let key = self.imap_user(user)?;
        let m = self
            .imap_folder(&key, from)?
            .get(uid)
            .cloned()
            .ok_or(imap::StoreError::NoSuchMessage)?;
        // RFC 3501 §6.4.7: the copy keeps the flags and the internal date.
        Ok(MailStore::append(
            self,
            &key,
            to,
            m.data,
            m.flags,
            m.internal_date,
        )?)
    }

    fn expunge(&mut self, user: &str, folder: &str, uids: &[u32]) -> Result<(), imap::StoreError> {
        let key = self.imap_user(user)?;
        self.remove_uids(&key, folder, uids)?;
        Ok(())
    }

    fn claim_recent(&mut self, user: &str, folder: &str) -> Result<u32, imap::StoreError> {
        let key = self.imap_user(user)?;
        let f = self.folder_mut(&key, folder)?;
        let first = f.recent_from;
        f.recent_from = f.uid_next;
        Ok(first)
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{msg, store};
    use super::*;
    use crate::proto::Session;
    use crate::proto::imap::{ImapConfig, ImapServer, MailStore as Imap};
    use crate::proto::pop3::Pop3Backend;

    #[test]
    fn flags_and_errors_cross_to_imap_and_back() {
        let flags = [
            Flag::Seen,
            Flag::Answered,
            Flag::Flagged,
            Flag::Deleted,
            Flag::Draft,
            Flag::Keyword("$Work".into()),
        ];
        for f in &flags {
            assert_eq!(&Flag::from_imap(&f.to_imap()), f);
        }
        let set: BTreeSet<Flag> = [Flag::Flagged, Flag::Seen].into();
        assert_eq!(flag_names(&set), "\\Seen \\Flagged");
        assert_eq!(
            imap::StoreError::from(StoreError::InboxIsPermanent),
            imap::StoreError::CannotDeleteInbox
        );
    }

    /// An IMAP session logged in as Bob with the INBOX selected; its
    /// replies so far are discarded.
    fn imap_session(s: &mut MailStore) -> ImapServer {
        let mut imap = ImapServer::new(ImapConfig::default());
        imap.handle_input(
            b"a LOGIN bob@hamburger.edu hungry\r\nb SELECT INBOX\r\n",
            s,
            0,
        );
        drain(&mut imap);
        imap
    }

    fn drain(imap: &mut ImapServer) -> String {
        let mut out = Vec::new();
        while let Some(b) = imap.poll_output() {
            out.extend(b);
        }
        while imap.poll_transcript().is_some() {}
        String::from_utf8_lossy(&out).into_owned()
    }

    #[test]
    fn imap_sees_what_smtp_delivered_and_claims_recent_once() {
        let mut s = store();
        s.deliver("bob", msg("one"), 1).unwrap();
        let mut imap = ImapServer::new(ImapConfig::default());
        imap.handle_input(b"a LOGIN bob hungry\r\nb SELECT inbox\r\n", &mut s, 0);
        let out = drain(&mut imap);
        assert!(out.contains("* 1 EXISTS\r\n"), "{out}");
        assert!(out.contains("* 1 RECENT\r\n"), "{out}");
        // A second session finds the message no longer recent.
        let mut other = ImapServer::new(ImapConfig::default());
        other.handle_input(b"a LOGIN bob hungry\r\nb SELECT INBOX\r\n", &mut s, 0);
        assert!(drain(&mut other).contains("* 0 RECENT\r\n"));
        assert_eq!(s.folder("bob", INBOX).unwrap().recent_from(), 2);
    }

    #[test]
    fn an_idling_session_hears_of_delivery_and_of_other_sessions() {
        let mut s = store();
        s.deliver("bob", msg("one"), 1).unwrap();
        let mut phone = imap_session(&mut s);
        let mut laptop = imap_session(&mut s);
        phone.handle_input(b"c IDLE\r\n", &mut s, 0);
        assert_eq!(drain(&mut phone), "+ idling\r\n");
        s.take_touched();

        s.deliver("bob", msg("two"), 2).unwrap();
        assert_eq!(s.take_touched(), BTreeSet::from(["bob".to_string()]));
        phone.handle_mailbox_changed(&mut s);
        // The phone selected first: both messages are recent for it.
        assert_eq!(drain(&mut phone), "* 2 EXISTS\r\n* 2 RECENT\r\n");

        laptop.handle_input(b"d UID STORE 1 +FLAGS (\\Seen)\r\n", &mut s, 0);
        drain(&mut laptop);
        assert!(s.take_touched().contains("bob"));
        phone.handle_mailbox_changed(&mut s);
        assert_eq!(
            drain(&mut phone),
            "* 1 FETCH (UID 1 FLAGS (\\Seen \\Recent))\r\n"
        );
        assert!(s.take_changes().iter().any(|c| matches!(
            c,
            StoreChange::Flags { uid: 1, flags, .. } if flags.contains(&Flag::Seen)
        )));
    }

    #[test]
    fn pop3_deletion_is_an_expunge_for_imap() {
        let mut s = store();
        s.deliver("bob", msg("one"), 1).unwrap();
        s.deliver("bob", msg("two"), 2).unwrap();
        let mut phone = imap_session(&mut s);
        phone.handle_input(b"c IDLE\r\n", &mut s, 0);
        drain(&mut phone);
        assert!(s.lock_maildrop("bob"));
        let uids: Vec<String> = s.maildrop("bob").into_iter().map(|m| m.uid).collect();
        s.delete_messages("bob", &uids[..1]).unwrap();
        s.unlock_maildrop("bob");
        phone.handle_mailbox_changed(&mut s);
        assert_eq!(drain(&mut phone), "* 1 EXPUNGE\r\n");
        assert_eq!(s.folder("bob", INBOX).unwrap().len(), 1);
    }

    #[test]
    fn imap_deleted_messages_are_hidden_from_pop3() {
        let mut s = store();
        s.deliver("bob", msg("one"), 1).unwrap();
        s.deliver("bob", msg("two"), 2).unwrap();
        let mut imap = imap_session(&mut s);
        imap.handle_input(b"c UID STORE 1 +FLAGS (\\Deleted)\r\n", &mut s, 0);
        drain(&mut imap);
        assert_eq!(s.maildrop("bob").len(), 1);
    }

    #[test]
    fn imap_folders_copy_move_and_subscriptions() {
        let mut s = store();
        s.deliver("bob", msg("one"), 7).unwrap();
        let mut imap = imap_session(&mut s);
        imap.handle_input(
            b"c CREATE Work/2026\r\nd UID COPY 1 Work/2026\r\ne SUBSCRIBE Work\r\nf LSUB \"\" *\r\n",
            &mut s,
            0,
        );
        let out = drain(&mut imap);
        assert!(out.contains("d OK"), "{out}");
        assert!(out.contains("* LSUB () \"/\" Work\r\n"), "{out}");
        let copy = &s.folder("bob", "Work/2026").unwrap().messages()[0];
        assert_eq!((copy.uid, copy.internal_date), (1, 7));
        assert_eq!(
            Imap::folders(&s, "bob"),
            vec!["INBOX".to_string(), "Work".into(), "Work/2026".into()]
        );
        assert_eq!(
            Imap::delete_folder(&mut s, "bob", "Work"),
            Err(imap::StoreError::HasChildren)
        );
        Imap::rename_folder(&mut s, "bob", "Work", "Play").unwrap();
        assert_eq!(
            Imap::subscriptions(&s, "bob"),
            vec!["INBOX".to_string(), "Play".into()]
        );
        assert_eq!(s.folder("bob", "Play/2026").unwrap().len(), 1);
        imap.handle_input(b"g MOVE 1 Play\r\n", &mut s, 0);
        let out = drain(&mut imap);
        assert!(out.contains("* 1 EXPUNGE\r\ng OK"), "{out}");
        assert!(s.folder("bob", INBOX).unwrap().is_empty());
        // Renaming the INBOX moves its messages and leaves it empty.
        s.deliver("bob", msg("two"), 8).unwrap();
        Imap::rename_folder(&mut s, "bob", "INBOX", "Old").unwrap();
        assert!(s.folder("bob", INBOX).unwrap().is_empty());
        assert_eq!(s.messages_with_subject("bob", "Old", "two"), 1);
        // The INBOX keeps counting: UIDs are never reused.
        assert_eq!(s.deliver("bob", msg("three"), 9), Ok(3));
    }

    #[test]
    fn imap_logins_resolve_like_pop3() {
        let mut s = store();
        assert!(Imap::check_password(&s, "BOB@hamburger.edu", "hungry"));
        assert_eq!(
            Imap::create_folder(&mut s, "nobody", "x"),
            Err(imap::StoreError::NoSuchUser)
        );
        assert_eq!(
            Imap::create_folder(&mut s, "bob", "INBOX"),
            Err(imap::StoreError::FolderExists)
        );
        assert_eq!(
            Imap::create_folder(&mut s, "bob", "a*b"),
            Err(imap::StoreError::InvalidName)
        );
        assert!(Imap::folders(&s, "postmaster@hamburger.edu") == vec!["INBOX".to_string()]);
    }
}
