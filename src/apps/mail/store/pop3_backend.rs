//! The store as a POP3 maildrop (RFC 1939): the INBOX without the messages
//! flagged `\Deleted`, unique-ids `UIDVALIDITY.UID`, the maildrop lock of
//! §8, and deletions that expunge at once.
//!
//! Not here: the POP3 dialogue (`proto::pop3`), IMAP's view (`imap_backend`).

use super::{Flag, INBOX, MailStore, StoreError};
use crate::proto::pop3::{DeleteError, MaildropMessage, Pop3Backend};

/// POP3 sees the INBOX. See the module documentation.
impl Pop3Backend for MailStore {
    fn check_password(&mut self, user: &str, password: &str) -> bool {
        MailStore::check_password(self, user, password)
    }

    fn lock_maildrop(&mut self, user: &str) -> bool {
        let Some(key) = self.resolve_login(user) else {
            return false;
        };
        match self.users.get_mut(&key) {
            Some(u) if !u.pop3_locked => {
                u.pop3_locked = true;
                true
            }
            _ => false,
        }
    }

    fn unlock_maildrop(&mut self, user: &str) {
        if let Some(key) = self.resolve_login(user)
            && let Some(u) = self.users.get_mut(&key)
        {
            u.pop3_locked = false;
        }
    }

    fn maildrop(&mut self, user: &str) -> Vec<MaildropMessage> {
        let Some(u) = self.resolve_login(user).and_then(|k| self.users.get(&k)) else {
            return Vec::new();
        };
        let inbox = u.inbox();
        inbox
            .messages()
            .iter()
            // Marked for deletion by IMAP: as good as gone.
            .filter(|m| !m.has_flag(&Flag::Deleted))
            .map(|m| MaildropMessage {
                uid: MailStore::pop3_uid(inbox, m),
                data: m.data.clone(),
            })
            .collect()
    }

    fn delete_messages(&mut self, user: &str, uids: &[String]) -> Result<(), DeleteError> {
        let key = self
            .resolve_login(user)
            .ok_or_else(|| DeleteError::NoSuchUser(user.to_string()))?;
        let inbox = self.users[&key].inbox();
        let validity = inbox.uid_validity.to_string();
        let doomed: Vec<u32> = uids
            .iter()
            .filter_map(|u| {
                let (v, uid) = u.split_once('.')?;
                (v == validity).then(|| uid.parse().ok()).flatten()
            })
            .collect();
        self.remove_uids(&key, INBOX, &doomed)
            .map(|_| ())
            .map_err(|e| match e {
                StoreError::NoSuchFolder(folder) => DeleteError::NoMaildrop(folder),
                // Removing messages fails only for a missing user or
                // folder; the user was found just above.
                _ => DeleteError::NoSuchUser(user.to_string()),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{msg, store};
    use super::*;

    #[test]
    fn pop3_sees_the_inbox_with_locking() {
        let mut s = store();
        s.deliver("bob", msg("one"), 1).unwrap();
        s.deliver("bob", msg("two"), 2).unwrap();
        s.add_flags("bob", INBOX, 1, &[Flag::Deleted]).unwrap();
        assert!(s.lock_maildrop("bob"));
        assert!(!s.lock_maildrop("bob@hamburger.edu"));
        assert!(s.user("bob").unwrap().is_locked());
        let drop = s.maildrop("bob");
        assert_eq!(drop.len(), 1);
        // The postmaster's INBOX got UIDVALIDITY 1, Bob's 2.
        assert_eq!(drop[0].uid, "2.2");
        s.delete_messages("bob", &["2.2".into(), "9.9".into(), "1.1".into()])
            .unwrap();
        assert!(s.folder("bob", INBOX).unwrap().get(2).is_none());
        let gone = s.delete_messages("nobody", &["2.1".into()]).unwrap_err();
        assert_eq!(gone, DeleteError::NoSuchUser("nobody".into()));
        assert_eq!(gone.to_string(), "no such user nobody");
        s.unlock_maildrop("bob");
        assert!(s.lock_maildrop("bob"));
        s.unlock_all();
        assert!(!s.user("bob").unwrap().is_locked());
    }
}
