//! What an IMAP server needs from a mail store, and a small in-memory one.
//!
//! The [`MailStore`] trait is the whole contract between the protocol
//! machine and the world: accounts and passwords, a user's folders and
//! subscriptions, and per folder the messages with their UID, flags,
//! internal date and bytes. It knows nothing of sessions, sequence numbers
//! or `\Recent` views: those belong to each IMAP connection, which keeps its
//! own picture of the selected folder and compares it with the store
//! whenever it may tell its client about changes (see `server.rs`). That is
//! how two devices with the same mailbox open see each other's work.
//!
//! [`MemoryMailStore`] keeps everything in ordered maps, so iteration (and
//! therefore every reply) is deterministic. It is what the tests use; the
//! mail server keeps its mailboxes in [`crate::apps::mail::MailStore`],
//! which implements the same trait.

use std::collections::{BTreeMap, BTreeSet};

/// The name every user's main folder has. RFC 3501 §5.1: "INBOX" is case
/// insensitive; the store always spells it in capitals.
pub const INBOX: &str = "INBOX";

/// The hierarchy delimiter between folder names ("Work/2026").
pub const DELIMITER: char = '/';

/// A message flag (RFC 3501 §2.3.2). `\Recent` is not here: it is a
/// property of a session's view, not of the stored message.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Flag {
    /// `\Answered`
    Answered,
    /// `\Flagged`
    Flagged,
    /// `\Deleted`: marked for removal by the next EXPUNGE or CLOSE.
    Deleted,
    /// `\Seen`
    Seen,
    /// `\Draft`
    Draft,
    /// A keyword without backslash, e.g. `$Forwarded` or `Important`.
    Keyword(String),
}

impl Flag {
    /// The five system flags every folder supports, in the order servers
    /// usually list them.
    pub const SYSTEM: [Flag; 5] = [
        Flag::Answered,
        Flag::Flagged,
        Flag::Deleted,
        Flag::Seen,
        Flag::Draft,
    ];

    /// The flag as IMAP writes it (`\Seen`, `Important`).
    pub fn as_imap(&self) -> String {
        match self {
            Flag::Answered => "\\Answered".to_string(),
            Flag::Flagged => "\\Flagged".to_string(),
            Flag::Deleted => "\\Deleted".to_string(),
            Flag::Seen => "\\Seen".to_string(),
            Flag::Draft => "\\Draft".to_string(),
            Flag::Keyword(k) => k.clone(),
        }
    }
}

/// A set of flags, ordered so that replies list them the same way each time.
pub type FlagSet = BTreeSet<Flag>;

/// What a folder listing says about one stored message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageMeta {
    /// RFC 3501 §2.3.1.1: unique within the folder, strictly ascending.
    pub uid: u32,
    /// The message's flags.
    pub flags: FlagSet,
    /// RFC 3501 §2.3.3: when the message arrived in the store, Unix seconds.
    pub internal_date: i64,
    /// RFC 3501 §2.3.4: RFC822.SIZE, the number of octets of the message.
    pub size: u32,
}

/// The per-folder numbers IMAP reports on SELECT and STATUS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FolderInfo {
    /// RFC 3501 §2.3.1.1: changes when UIDs of this name are no longer
    /// valid (the folder was deleted and created again).
    pub uid_validity: u32,
    /// The UID the next message added will get.
    pub uid_next: u32,
    /// The first UID that no session has seen yet: messages from here on
    /// are `\Recent` for the next session that selects the folder.
    pub recent_from: u32,
}

/// Why the store refused a request. The IMAP server turns these into NO
/// replies with the matching response code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// The user has no account.
    #[error("no such user")]
    NoSuchUser,
    /// The folder does not exist.
    #[error("no such folder")]
    NoSuchFolder,
    /// CREATE or RENAME onto a name that is taken.
    #[error("folder already exists")]
    FolderExists,
    /// RFC 3501 §6.3.4: INBOX cannot be deleted.
    #[error("INBOX cannot be deleted")]
    CannotDeleteInbox,
    /// The folder has subfolders; delete those first.
    #[error("folder has subfolders")]
    HasChildren,
    /// Empty name, empty hierarchy level, wildcard characters, ...
    #[error("invalid folder name")]
    InvalidName,
    /// The message was expunged (or never existed).
    #[error("no such message")]
    NoSuchMessage,
    /// UNSUBSCRIBE of a name that is not subscribed.
    #[error("not subscribed")]
    NotSubscribed,
}

/// Everything an IMAP session asks of the mail store. Folder names are the
/// full hierarchical names with [`DELIMITER`]; `INBOX` is spelled in
/// capitals. All calls name the user, so one store serves every account.
pub trait MailStore {
    /// True if `user` exists and `password` is theirs.
    fn check_password(&self, user: &str, password: &str) -> bool;

    /// The user's folders, sorted, INBOX included.
    fn folders(&self, user: &str) -> Vec<String>;
    /// RFC 3501 §6.3.3: creates a folder (and any missing parents).
    fn create_folder(&mut self, user: &str, name: &str) -> Result<(), StoreError>;
    /// RFC 3501 §6.3.4: deletes a folder and its messages.
    fn delete_folder(&mut self, user: &str, name: &str) -> Result<(), StoreError>;
    /// RFC 3501 §6.3.5: renames a folder and its subfolders. Renaming INBOX
    /// moves its messages to a new folder and leaves INBOX empty.
    fn rename_folder(&mut self, user: &str, from: &str, to: &str) -> Result<(), StoreError>;

    /// The names the user subscribed to (RFC 3501 §6.3.6), sorted.
    fn subscriptions(&self, user: &str) -> Vec<String>;
    /// Adds a subscription.
    fn subscribe(&mut self, user: &str, name: &str) -> Result<(), StoreError>;
    /// Removes a subscription.
    fn unsubscribe(&mut self, user: &str, name: &str) -> Result<(), StoreError>;

    /// UIDVALIDITY, UIDNEXT and the recent mark of a folder.
    fn folder_info(&self, user: &str, folder: &str) -> Result<FolderInfo, StoreError>;
    /// The folder's messages in ascending UID order.
    fn messages(&self, user: &str, folder: &str) -> Result<Vec<MessageMeta>, StoreError>;
    /// The full bytes of one message (header and body).
    fn message_body(&self, user: &str, folder: &str, uid: u32) -> Result<Vec<u8>, StoreError>;

    /// Adds a message; returns its UID.
    fn append(
        &mut self,
        user: &str,
        folder: &str,
        flags: &FlagSet,
        internal_date: i64,
        body: &[u8],
    ) -> Result<u32, StoreError>;
    /// Replaces the flags of one message.
    fn set_flags(
        &mut self,
        user: &str,
        folder: &str,
        uid: u32,
        flags: &FlagSet,
    ) -> Result<(), StoreError>;
    /// RFC 3501 §6.4.7: copies a message, keeping its flags and internal
    /// date; returns the UID in the destination folder.
    fn copy_message(
        &mut self,
        user: &str,
        from: &str,
        uid: u32,
        to: &str,
    ) -> Result<u32, StoreError>;
    /// Removes the given messages for good (UIDs that are already gone are
    /// ignored).
    fn expunge(&mut self, user: &str, folder: &str, uids: &[u32]) -> Result<(), StoreError>;
    /// RFC 3501 §2.3.2 `\Recent`: the first session to see new messages
    /// owns their `\Recent` flag. Returns the first UID that is recent for
    /// the caller and moves the folder's mark past every current message.
    fn claim_recent(&mut self, user: &str, folder: &str) -> Result<u32, StoreError>;
}

/// True if `name` is acceptable as a folder name: non-empty levels, no
/// wildcards (RFC 3501 §6.3.8 reserves `*` and `%`), no control characters.
pub fn valid_folder_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 512
        && name.split(DELIMITER).all(|level| !level.is_empty())
        && !name.chars().any(|c| c == '*' || c == '%' || c.is_control())
}

/// The parent names of `name`: "a/b/c" gives "a" and "a/b".
fn parents(name: &str) -> Vec<String> {
    let mut out = Vec::new();
    for (i, c) in name.char_indices() {
        if c == DELIMITER {
            out.push(name[..i].to_string());
        }
    }
    out
}

#[derive(Debug, Clone)]
struct StoredMessage {
    flags: FlagSet,
    internal_date: i64,
    body: Vec<u8>,
}

#[derive(Debug, Clone)]
struct Folder {
    uid_validity: u32,
    uid_next: u32,
    recent_from: u32,
    messages: BTreeMap<u32, StoredMessage>,
}

impl Folder {
    fn new(uid_validity: u32) -> Folder {
        Folder {
            uid_validity,
            uid_next: 1,
            recent_from: 1,
            messages: BTreeMap::new(),
        }
    }

    fn add(&mut self, message: StoredMessage) -> u32 {
        let uid = self.uid_next;
        self.uid_next += 1;
        self.messages.insert(uid, message);
        uid
    }
}

#[derive(Debug, Clone)]
struct Account {
    password: String,
    folders: BTreeMap<String, Folder>,
    subscriptions: BTreeSet<String>,
}

/// An in-memory [`MailStore`]: accounts, folders and messages in ordered
/// maps. UIDVALIDITY values come from a counter, so runs are reproducible.
#[derive(Debug, Clone)]
pub struct MemoryMailStore {
    accounts: BTreeMap<String, Account>,
    next_uid_validity: u32,
}

impl Default for MemoryMailStore {
    fn default() -> Self {
        Self::new()
    }
}

impl MemoryMailStore {
    /// An empty store with no accounts.
    pub fn new() -> Self {
        MemoryMailStore {
            accounts: BTreeMap::new(),
            next_uid_validity: 1,
        }
    }

    /// Adds (or resets) an account with an empty, subscribed INBOX.
    pub fn add_user(&mut self, user: &str, password: &str) {
        let inbox = Folder::new(self.take_uid_validity());
        let mut folders = BTreeMap::new();
        folders.insert(INBOX.to_string(), inbox);
        let mut subscriptions = BTreeSet::new();
        subscriptions.insert(INBOX.to_string());
        self.accounts.insert(
            user.to_string(),
            Account {
                password: password.to_string(),
                folders,
                subscriptions,
            },
        );
    }

    /// True if the account exists.
    pub fn has_user(&self, user: &str) -> bool {
        self.accounts.contains_key(user)
    }

    /// Delivers a message into the user's INBOX (what a mail server does
    /// after SMTP); returns its UID.
    pub fn deliver(&mut self, user: &str, body: &[u8], now_unix: i64) -> Result<u32, StoreError> {
        self.append(user, INBOX, &FlagSet::new(), now_unix, body)
    }

    fn take_uid_validity(&mut self) -> u32 {
        let v = self.next_uid_validity;
        self.next_uid_validity = self.next_uid_validity.wrapping_add(1).max(1);
        v
    }

    fn account(&self, user: &str) -> Result<&Account, StoreError> {
        self.accounts.get(user).ok_or(StoreError::NoSuchUser)
    }

    fn account_mut(&mut self, user: &str) -> Result<&mut Account, StoreError> {
        self.accounts.get_mut(user).ok_or(StoreError::NoSuchUser)
    }

    fn folder(&self, user: &str, name: &str) -> Result<&Folder, StoreError> {
        self.account(user)?
            .folders
            .get(name)
            .ok_or(StoreError::NoSuchFolder)
    }

    fn folder_mut(&mut self, user: &str, name: &str) -> Result<&mut Folder, StoreError> {
        self.account_mut(user)?
            .folders
            .get_mut(name)
            .ok_or(StoreError::NoSuchFolder)
    }
}

impl MailStore for MemoryMailStore {
    fn check_password(&self, user: &str, password: &str) -> bool {
        self.accounts
            .get(user)
            .is_some_and(|a| a.password == password)
    }

    fn folders(&self, user: &str) -> Vec<String> {
        self.accounts
            .get(user)
            .map(|a| a.folders.keys().cloned().collect())
            .unwrap_or_default()
    }

    fn create_folder(&mut self, user: &str, name: &str) -> Result<(), StoreError> {
        if !valid_folder_name(name) || name.eq_ignore_ascii_case(INBOX) {
            return Err(if name.eq_ignore_ascii_case(INBOX) {
                StoreError::FolderExists
            } else {
                StoreError::InvalidName
            });
        }
        if self.account(user)?.folders.contains_key(name) {
            return Err(StoreError::FolderExists);
        }
        // RFC 3501 §6.3.3: the server SHOULD create any missing superior
        // hierarchical names.
        let mut names = parents(name);
        names.push(name.to_string());
        for n in names {
            if !self.account(user)?.folders.contains_key(&n) {
                let folder = Folder::new(self.take_uid_validity());
                self.account_mut(user)?.folders.insert(n, folder);
            }
        }
        Ok(())
    }

    fn delete_folder(&mut self, user: &str, name: &str) -> Result<(), StoreError> {
        if name == INBOX {
            return Err(StoreError::CannotDeleteInbox);
        }
        let account = self.account_mut(user)?;
        if !account.folders.contains_key(name) {
            return Err(StoreError::NoSuchFolder);
        }
        let prefix = format!("{name}{DELIMITER}");
        if account.folders.keys().any(|k| k.starts_with(&prefix)) {
            return Err(StoreError::HasChildren);
        }
        account.folders.remove(name);
        Ok(())
    }

    fn rename_folder(&mut self, user: &str, from: &str, to: &str) -> Result<(), StoreError> {
        if !valid_folder_name(to) || to.eq_ignore_ascii_case(INBOX) {
            return Err(if to.eq_ignore_ascii_case(INBOX) {
                StoreError::FolderExists
            } else {
                StoreError::InvalidName
            });
        }
        {
            let account = self.account(user)?;
            if !account.folders.contains_key(from) {
                return Err(StoreError::NoSuchFolder);
            }
            if account.folders.contains_key(to) {
                return Err(StoreError::FolderExists);
            }
        }
        let from_prefix = format!("{from}{DELIMITER}");
        if to.starts_with(&from_prefix) {
            // A folder cannot become its own descendant.
            return Err(StoreError::InvalidName);
        }
        for p in parents(to) {
            if !self.account(user)?.folders.contains_key(&p) {
                let folder = Folder::new(self.take_uid_validity());
                self.account_mut(user)?.folders.insert(p, folder);
            }
        }
        if from == INBOX {
            // RFC 3501 §6.3.5: renaming INBOX moves all its messages to a
            // new folder and leaves INBOX empty (its subfolders stay).
            let mut target = Folder::new(self.take_uid_validity());
            let inbox = self.folder_mut(user, INBOX)?;
            let moved = std::mem::take(&mut inbox.messages);
            for (_, m) in moved {
                target.add(m);
            }
            self.account_mut(user)?
                .folders
                .insert(to.to_string(), target);
            return Ok(());
        }
        let account = self.account_mut(user)?;
        let names: Vec<String> = account
            .folders
            .keys()
            .filter(|k| k.as_str() == from || k.starts_with(&from_prefix))
            .cloned()
            .collect();
        for old in names {
            let new = format!("{to}{}", &old[from.len()..]);
            if let Some(folder) = account.folders.remove(&old) {
                account.folders.insert(new.clone(), folder);
            }
            if account.subscriptions.remove(&old) {
                account.subscriptions.insert(new);
            }
        }
        Ok(())
    }

    fn subscriptions(&self, user: &str) -> Vec<String> {
        self.accounts
            .get(user)
            .map(|a| a.subscriptions.iter().cloned().collect())
            .unwrap_or_default()
    }

    fn subscribe(&mut self, user: &str, name: &str) -> Result<(), StoreError> {
        let account = self.account_mut(user)?;
        if !account.folders.contains_key(name) {
            return Err(StoreError::NoSuchFolder);
        }
        account.subscriptions.insert(name.to_string());
        Ok(())
    }

    fn unsubscribe(&mut self, user: &str, name: &str) -> Result<(), StoreError> {
        if self.account_mut(user)?.subscriptions.remove(name) {
            Ok(())
        } else {
            Err(StoreError::NotSubscribed)
        }
    }

    fn folder_info(&self, user: &str, folder: &str) -> Result<FolderInfo, StoreError> {
        let f = self.folder(user, folder)?;
        Ok(FolderInfo {
            uid_validity: f.uid_validity,
            uid_next: f.uid_next,
            recent_from: f.recent_from,
        })
    }

    fn messages(&self, user: &str, folder: &str) -> Result<Vec<MessageMeta>, StoreError> {
        let f = self.folder(user, folder)?;
        Ok(f.messages
            .iter()
            .map(|(&uid, m)| MessageMeta {
                uid,
                flags: m.flags.clone(),
                internal_date: m.internal_date,
                size: u32::try_from(m.body.len()).unwrap_or(u32::MAX),
            })
            .collect())
    }

    fn message_body(&self, user: &str, folder: &str, uid: u32) -> Result<Vec<u8>, StoreError> {
        self.folder(user, folder)?
            .messages
            .get(&uid)
            .map(|m| m.body.clone())
            .ok_or(StoreError::NoSuchMessage)
    }

    fn append(
        &mut self,
        user: &str,
        folder: &str,
        flags: &FlagSet,
        internal_date: i64,
        body: &[u8],
    ) -> Result<u32, StoreError> {
        let f = self.folder_mut(user, folder)?;
        Ok(f.add(StoredMessage {
            flags: flags.clone(),
            internal_date,
            body: body.to_vec(),
        }))
    }

    fn set_flags(
        &mut self,
        user: &str,
        folder: &str,
        uid: u32,
        flags: &FlagSet,
    ) -> Result<(), StoreError> {
        let m = self
            .folder_mut(user, folder)?
            .messages
            .get_mut(&uid)
            .ok_or(StoreError::NoSuchMessage)?;
        m.flags = flags.clone();
        Ok(())
    }

    fn copy_message(
        &mut self,
        user: &str,
        from: &str,
        uid: u32,
        to: &str,
    ) -> Result<u32, StoreError> {
        let message = self
            .folder(user, from)?
            .messages
            .get(&uid)
            .cloned()
            .ok_or(StoreError::NoSuchMessage)?;
        Ok(self.folder_mut(user, to)?.add(message))
    }

    fn expunge(&mut self, user: &str, folder: &str, uids: &[u32]) -> Result<(), StoreError> {
        let f = self.folder_mut(user, folder)?;
        for uid in uids {
            f.messages.remove(uid);
        }
        Ok(())
    }

    fn claim_recent(&mut self, user: &str, folder: &str) -> Result<u32, StoreError> {
        let f = self.folder_mut(user, folder)?;
        let first = f.recent_from;
        f.recent_from = f.uid_next;
        Ok(first)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store() -> MemoryMailStore {
        let mut s = MemoryMailStore::new();
        s.add_user("bob", "secret");
        s
    }

    #[test]
    fn create_makes_parents_and_delete_refuses_parents() {
        let mut s = store();
        s.create_folder("bob", "Work/2026").unwrap();
        assert_eq!(s.folders("bob"), vec!["INBOX", "Work", "Work/2026"]);
        assert_eq!(s.delete_folder("bob", "Work"), Err(StoreError::HasChildren));
        assert_eq!(
            s.delete_folder("bob", "INBOX"),
            Err(StoreError::CannotDeleteInbox)
        );
        assert_eq!(s.create_folder("bob", "a//b"), Err(StoreError::InvalidName));
    }

    #[test]
    fn rename_inbox_moves_messages() {
        let mut s = store();
        s.deliver("bob", b"Subject: a\r\n\r\nx\r\n", 0).unwrap();
        s.deliver("bob", b"Subject: b\r\n\r\ny\r\n", 0).unwrap();
        s.rename_folder("bob", "INBOX", "Old").unwrap();
        assert!(s.messages("bob", "INBOX").unwrap().is_empty());
        let old = s.messages("bob", "Old").unwrap();
        assert_eq!(old.iter().map(|m| m.uid).collect::<Vec<_>>(), vec![1, 2]);
        // INBOX keeps counting: UIDs are never reused under one UIDVALIDITY.
        assert_eq!(s.deliver("bob", b"\r\n", 0), Ok(3));
    }

    #[test]
    fn rename_moves_children_and_subscriptions() {
        let mut s = store();
        s.create_folder("bob", "A/B").unwrap();
        s.subscribe("bob", "A/B").unwrap();
        s.rename_folder("bob", "A", "Z").unwrap();
        assert_eq!(s.folders("bob"), vec!["INBOX", "Z", "Z/B"]);
        assert_eq!(s.subscriptions("bob"), vec!["INBOX", "Z/B"]);
    }

    #[test]
    fn recent_is_claimed_once() {
        let mut s = store();
        s.deliver("bob", b"\r\n", 0).unwrap();
        assert_eq!(s.claim_recent("bob", INBOX), Ok(1));
        assert_eq!(s.claim_recent("bob", INBOX), Ok(2));
    }
}
