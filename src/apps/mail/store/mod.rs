//! The mailbox store of a mail server: its users, their folders and the
//! messages in them.
//!
//! What is kept is what an IMAP server needs (RFC 9051 §2.3) and what POP3
//! and local delivery use a subset of:
//!
//! - every user has folders; `INBOX` always exists and its name is
//!   case-insensitive (RFC 9051 §5.1), other names are kept as written;
//! - every folder has a UIDVALIDITY, the UID the next message will get
//!   (UIDNEXT), and a change counter;
//! - every message has a UID (strictly ascending within a folder and
//!   never reused), flags (`\Seen`, `\Answered`, `\Flagged`, `\Deleted`,
//!   `\Draft` and keywords), an internal date (when it arrived, Unix
//!   seconds) and its bytes (lines ending in CRLF, the `Received:` lines
//!   at the top); its size is the length of those bytes.
//!
//! POP3 sees the INBOX as its maildrop: messages flagged `\Deleted` but not
//! yet expunged are hidden from it, its unique-id of a message is
//! `UIDVALIDITY.UID`, and a POP3 deletion expunges at once (in the UPDATE
//! state, RFC 1939 §6). The maildrop lock of RFC 1939 §8 is kept here too.
//!
//! IMAP uses the whole store through [`crate::proto::imap::MailStore`]
//! (implemented below): folders with `/` as the hierarchy delimiter,
//! subscriptions, and per folder the first UID that is still `\Recent`
//! (RFC 3501 §2.3.2: the first session to see a new message gets its
//! `\Recent` flag). Because SMTP delivery, POP3 and every IMAP session
//! share one store, each change is remembered twice: as a
//! [`StoreChange`] for the server's trace, and as the name of the user
//! whose mailboxes changed ([`MailStore::take_touched`]), so that the
//! server can tell that user's idling IMAP sessions at once.
//!
//! The pieces: this file is the store itself; `pop3_backend` and
//! `imap_backend` are how the POP3 and IMAP machines see it.
//!
//! The store is "on disk": it survives a crash of its host. It does no
//! network I/O and knows no time; dates come in as arguments. It is not a
//! queue (see [`super::queue`]) and does not decide which domains are
//! local beyond the list it is given.

use std::collections::{BTreeMap, BTreeSet};

use crate::proto::smtp::message::Headers;

mod imap_backend;
mod pop3_backend;

pub use imap_backend::flag_names;

/// The folder every user has (RFC 9051 §5.1: the name is case-insensitive).
pub const INBOX: &str = "INBOX";

/// The user that RFC 5321 §4.5.1 requires every mail domain to have.
pub const POSTMASTER: &str = "postmaster";

/// A message flag (RFC 9051 §2.3.2).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Flag {
    /// The message has been read.
    Seen,
    /// The message has been answered.
    Answered,
    /// The message is marked for urgent or special attention.
    Flagged,
    /// The message is marked for removal by a later expunge.
    Deleted,
    /// The message is a draft.
    Draft,
    /// A keyword defined by a client (`$Forwarded`, `Work`, ...).
    Keyword(String),
}

impl Flag {
    /// The flag as IMAP writes it: `\Seen`, or the keyword itself.
    pub fn name(&self) -> String {
        match self {
            Flag::Seen => "\\Seen".into(),
            Flag::Answered => "\\Answered".into(),
            Flag::Flagged => "\\Flagged".into(),
            Flag::Deleted => "\\Deleted".into(),
            Flag::Draft => "\\Draft".into(),
            Flag::Keyword(k) => k.clone(),
        }
    }

    /// Reads `\Seen` (any case) or a keyword. `\Recent` and unknown system
    /// flags are not flags a client can store, so they give `None`.
    pub fn parse(text: &str) -> Option<Flag> {
        if let Some(system) = text.strip_prefix('\\') {
            return match system.to_ascii_lowercase().as_str() {
                "seen" => Some(Flag::Seen),
                "answered" => Some(Flag::Answered),
                "flagged" => Some(Flag::Flagged),
                "deleted" => Some(Flag::Deleted),
                "draft" => Some(Flag::Draft),
                _ => None,
            };
        }
        // RFC 9051 §9: a keyword is an atom, no specials or spaces.
        let atom_ok = !text.is_empty()
            && text
                .bytes()
                .all(|b| b.is_ascii_graphic() && !b"(){%*\"\\]".contains(&b));
        atom_ok.then(|| Flag::Keyword(text.to_string()))
    }
}

/// One message in a folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredMessage {
    /// Unique in its folder for this UIDVALIDITY; ascending in arrival order.
    pub uid: u32,
    pub flags: BTreeSet<Flag>,
    /// When the message arrived (IMAP INTERNALDATE), Unix seconds.
    pub internal_date: i64,
    /// The message, lines ending in CRLF.
    pub data: Vec<u8>,
}

impl StoredMessage {
    /// RFC822.SIZE: the length of the message in octets.
    pub fn size(&self) -> usize {
        self.data.len()
    }

    /// The header fields, unfolded.
    pub fn headers(&self) -> Headers {
        Headers::parse(&self.data)
    }

    /// The Subject, or "" when there is none.
    pub fn subject(&self) -> String {
        self.headers()
            .get("Subject")
            .unwrap_or_default()
            .to_string()
    }

    /// The From field, or "" when there is none.
    pub fn from(&self) -> String {
        self.headers().get("From").unwrap_or_default().to_string()
    }

    pub fn has_flag(&self, flag: &Flag) -> bool {
        self.flags.contains(flag)
    }
}

/// A folder (an IMAP mailbox) of one user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Folder {
    name: String,
    uid_validity: u32,
    uid_next: u32,
    /// Bumped on every change (append, flags, expunge), so that a session
    /// can tell cheaply whether it must look again.
    version: u64,
    /// RFC 3501 §2.3.2: messages from this UID on are `\Recent` for the
    /// next IMAP session that selects the folder.
    recent_from: u32,
    /// Ordered by UID (arrival order): IMAP message sequence numbers are
    /// positions in this list, plus one.
    messages: Vec<StoredMessage>,
}

impl Folder {
    fn new(name: &str, uid_validity: u32) -> Folder {
        Folder {
            name: name.to_string(),
            uid_validity,
            uid_next: 1,
            version: 0,
            recent_from: 1,
            messages: Vec::new(),
        }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// RFC 9051 §2.3.1.1: UIDs are valid as long as this value stays.
    pub fn uid_validity(&self) -> u32 {
        self.uid_validity
    }

    /// The UID the next message appended will get.
    pub fn uid_next(&self) -> u32 {
        self.uid_next
    }

    /// A counter that changes whenever the folder does.
    pub fn version(&self) -> u64 {
        self.version
    }

    /// The first UID no IMAP session has seen yet (`\Recent` from here on).
    pub fn recent_from(&self) -> u32 {
        self.recent_from
    }

    /// The messages, oldest first.
    pub fn messages(&self) -> &[StoredMessage] {
        &self.messages
    }

    pub fn len(&self) -> usize {
        self.messages.len()
    }

    pub fn is_empty(&self) -> bool {
        self.messages.is_empty()
    }

    /// The message with this UID.
    pub fn get(&self, uid: u32) -> Option<&StoredMessage> {
        self.messages
            .binary_search_by_key(&uid, |m| m.uid)
            .ok()
            .map(|i| &self.messages[i])
    }

    /// Messages without `\Seen` (IMAP STATUS UNSEEN).
    pub fn unseen(&self) -> usize {
        self.messages
            .iter()
            .filter(|m| !m.has_flag(&Flag::Seen))
            .count()
    }

    fn append(&mut self, data: Vec<u8>, flags: BTreeSet<Flag>, internal_date: i64) -> u32 {
        let uid = self.uid_next;
        self.uid_next += 1;
        self.version += 1;
        self.messages.push(StoredMessage {
            uid,
            flags,
            internal_date,
            data,
        });
        uid
    }

    fn get_mut(&mut self, uid: u32) -> Option<&mut StoredMessage> {
        let i = self.messages.binary_search_by_key(&uid, |m| m.uid).ok()?;
        Some(&mut self.messages[i])
    }

    /// Removes the messages for which `doomed` holds; their UIDs, in order.
    fn remove_where(&mut self, doomed: impl Fn(&StoredMessage) -> bool) -> Vec<u32> {
        let removed: Vec<u32> = self
            .messages
            .iter()
            .filter(|m| doomed(m))
            .map(|m| m.uid)
            .collect();
        if !removed.is_empty() {
            self.messages.retain(|m| !doomed(m));
            self.version += 1;
        }
        removed
    }
}

/// A user of the mail server: a name, a password and folders.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    name: String,
    /// `None` for an account nobody can log in to (the postmaster).
    password: Option<String>,
    /// By name; the INBOX under [`INBOX`].
    folders: BTreeMap<String, Folder>,
    /// RFC 1939 §8: a POP3 session holds the maildrop.
    pop3_locked: bool,
    /// RFC 3501 §6.3.6: the folder names the user subscribed to (IMAP LSUB).
    subscriptions: BTreeSet<String>,
}

impl User {
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The folders, INBOX among them, sorted by name.
    pub fn folders(&self) -> impl Iterator<Item = &Folder> {
        self.folders.values()
    }

    /// The folder called `name` (`inbox` in any case is the INBOX).
    pub fn folder(&self, name: &str) -> Option<&Folder> {
        self.folders.get(&folder_key(name))
    }

    /// The INBOX.
    pub fn inbox(&self) -> &Folder {
        // Every user is created with an INBOX and it cannot be deleted.
        &self.folders[INBOX]
    }

    /// Whether a POP3 session holds the maildrop lock.
    pub fn is_locked(&self) -> bool {
        self.pop3_locked
    }

    /// The subscribed folder names, sorted (the INBOX from the start).
    pub fn subscriptions(&self) -> impl Iterator<Item = &str> {
        self.subscriptions.iter().map(String::as_str)
    }
}

/// Why the store refused something.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    #[error("no such user {0:?}")]
    NoSuchUser(String),
    #[error("no such folder {0:?}")]
    NoSuchFolder(String),
    #[error("folder {0:?} already exists")]
    FolderExists(String),
    #[error("the INBOX cannot be deleted or renamed")]
    InboxIsPermanent,
    #[error("bad folder name {0:?}")]
    BadFolderName(String),
    #[error("no message with UID {0}")]
    NoSuchMessage(u32),
    #[error("user {0:?} already exists")]
    UserExists(String),
}

/// Something that changed in the store, for the server's trace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreChange {
    /// A message was added to a folder.
    Appended {
        user: String,
        folder: String,
        uid: u32,
    },
    /// Messages were removed from a folder.
    Expunged {
        user: String,
        folder: String,
        uids: Vec<u32>,
    },
    /// A message's flags changed (IMAP STORE, or a FETCH that set `\Seen`).
    Flags {
        user: String,
        folder: String,
        uid: u32,
        flags: BTreeSet<Flag>,
    },
}

/// The users and mailboxes of one mail server. See the module
/// documentation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailStore {
    /// Lower-case domains this store holds mail for.
    domains: Vec<String>,
    /// By lower-case user name.
    users: BTreeMap<String, User>,
    /// The UIDVALIDITY the next folder created gets: a store-wide counter,
    /// so that a folder deleted and created again never reuses one
    /// (RFC 9051 §2.3.1.1).
    next_uid_validity: u32,
    changes: Vec<StoreChange>,
    /// Keys of the users whose mailboxes changed since the last
    /// [`take_touched`](Self::take_touched).
    touched: BTreeSet<String>,
}

/// The key of a folder name: INBOX in any case is `INBOX`.
fn folder_key(name: &str) -> String {
    if name.eq_ignore_ascii_case(INBOX) {
        INBOX.to_string()
    } else {
        name.to_string()
    }
}

impl MailStore {
    /// A store for these domains with only the postmaster, who cannot log
    /// in (mail to postmaster@ any local domain lands in its INBOX).
    pub fn new(domains: &[String]) -> MailStore {
        let mut store = MailStore {
            domains: domains.iter().map(|d| d.to_ascii_lowercase()).collect(),
            users: BTreeMap::new(),
            next_uid_validity: 1,
            changes: Vec::new(),
            touched: BTreeSet::new(),
        };
        store.insert_user(POSTMASTER, None);
        store
    }

    /// Adds a user with an INBOX. A user called `postmaster` replaces the
    /// built-in one and can log in.
    pub fn add_user(&mut self, name: &str, password: &str) -> Result<(), StoreError> {
        let key = name.to_ascii_lowercase();
        match self.users.get_mut(&key) {
            Some(u) if u.password.is_none() => {
                u.password = Some(password.to_string());
                u.name = name.to_string();
                Ok(())
            }
            Some(_) => Err(StoreError::UserExists(name.to_string())),
            None => {
                self.insert_user(name, Some(password.to_string()));
                Ok(())
            }
        }
    }

    fn insert_user(&mut self, name: &str, password: Option<String>) {
        let inbox = Folder::new(INBOX, self.take_uid_validity());
        let mut folders = BTreeMap::new();
        folders.insert(INBOX.to_string(), inbox);
        self.users.insert(
            name.to_ascii_lowercase(),
            User {
                name: name.to_string(),
                password,
                folders,
                pop3_locked: false,
                subscriptions: BTreeSet::from([INBOX.to_string()]),
            },
        );
    }

    fn take_uid_validity(&mut self) -> u32 {
        let v = self.next_uid_validity;
        self.next_uid_validity += 1;
        v
    }

    /// The domains this store holds mail for, lower case.
    pub fn domains(&self) -> &[String] {
        &self.domains
    }

    /// Is `domain` one of ours (case-insensitive)?
    pub fn is_local_domain(&self, domain: &str) -> bool {
        let domain = domain.to_ascii_lowercase();
        self.domains.contains(&domain)
    }

    /// Every user, sorted by name (the postmaster included).
    pub fn users(&self) -> impl Iterator<Item = &User> {
        self.users.values()
    }

    /// The user called `name` (case-insensitive).
    pub fn user(&self, name: &str) -> Option<&User> {
        self.users.get(&name.to_ascii_lowercase())
    }

    fn user_mut(&mut self, name: &str) -> Result<&mut User, StoreError> {
        self.users
            .get_mut(&name.to_ascii_lowercase())
            .ok_or_else(|| StoreError::NoSuchUser(name.to_string()))
    }

    /// The user a login name means: `bob`, or `bob@hamburger.edu` when the
    /// domain is ours. Returns the canonical (lower-case) key.
    pub fn resolve_login(&self, login: &str) -> Option<String> {
        let local = match login.rsplit_once('@') {
            Some((local, domain)) if self.is_local_domain(domain) => local,
            Some(_) => return None,
            None => login,
        };
        let key = local.to_ascii_lowercase();
        self.users.contains_key(&key).then_some(key)
    }

    /// Is `password` right for the user `login` names? Users without a
    /// password (the postmaster) never log in.
    pub fn check_password(&self, login: &str, password: &str) -> bool {
        self.resolve_login(login)
            .and_then(|key| self.users.get(&key))
            .and_then(|u| u.password.as_deref())
            .is_some_and(|p| p == password)
    }

    /// Does the local part name a user here?
    pub fn user_exists(&self, local_part: &str) -> bool {
        self.users.contains_key(&local_part.to_ascii_lowercase())
    }

    /// Local delivery: appends a message to `user`'s INBOX; its UID.
    pub fn deliver(
        &mut self,
        user: &str,
        data: Vec<u8>,
        internal_date: i64,
    ) -> Result<u32, StoreError> {
        self.append(user, INBOX, data, BTreeSet::new(), internal_date)
    }

    /// Appends a message to a folder (IMAP APPEND; local delivery uses the
    /// INBOX); its UID.
    pub fn append(
        &mut self,
        user: &str,
        folder: &str,
        data: Vec<u8>,
        flags: BTreeSet<Flag>,
        internal_date: i64,
    ) -> Result<u32, StoreError> {
        let u = self.user_mut(user)?;
        let user_name = u.name.clone();
        let f = u
            .folders
            .get_mut(&folder_key(folder))
            .ok_or_else(|| StoreError::NoSuchFolder(folder.to_string()))?;
        let uid = f.append(data, flags, internal_date);
        let folder = f.name.clone();
        self.touched.insert(user_name.to_ascii_lowercase());
        self.changes.push(StoreChange::Appended {
            user: user_name,
            folder,
            uid,
        });
        Ok(uid)
    }

    /// The folder `folder` of `user`.
    pub fn folder(&self, user: &str, folder: &str) -> Option<&Folder> {
        self.user(user)?.folder(folder)
    }

    fn folder_mut(&mut self, user: &str, folder: &str) -> Result<&mut Folder, StoreError> {
        self.user_mut(user)?
            .folders
            .get_mut(&folder_key(folder))
            .ok_or_else(|| StoreError::NoSuchFolder(folder.to_string()))
    }

    /// Creates an empty folder with a fresh UIDVALIDITY (IMAP CREATE).
    pub fn create_folder(&mut self, user: &str, name: &str) -> Result<(), StoreError> {
        if name.is_empty() || name.chars().any(char::is_control) {
            return Err(StoreError::BadFolderName(name.to_string()));
        }
        let uid_validity = self.next_uid_validity;
        let u = self.user_mut(user)?;
        let key = folder_key(name);
        if u.folders.contains_key(&key) {
            return Err(StoreError::FolderExists(name.to_string()));
        }
        u.folders.insert(key, Folder::new(name, uid_validity));
        self.next_uid_validity += 1;
        self.touched.insert(user.to_ascii_lowercase());
        Ok(())
    }

    /// Deletes a folder and its messages (IMAP DELETE); not the INBOX.
    pub fn delete_folder(&mut self, user: &str, name: &str) -> Result<(), StoreError> {
        let key = folder_key(name);
        if key == INBOX {
            return Err(StoreError::InboxIsPermanent);
        }
        self.user_mut(user)?
            .folders
            .remove(&key)
            .ok_or_else(|| StoreError::NoSuchFolder(name.to_string()))?;
        self.touched.insert(user.to_ascii_lowercase());
        Ok(())
    }

    /// Renames a folder (IMAP RENAME); UIDs and UIDVALIDITY stay. Renaming
    /// the INBOX (which RFC 9051 §6.3.6 defines as moving its messages) is
    /// not supported.
    pub fn rename_folder(&mut self, user: &str, from: &str, to: &str) -> Result<(), StoreError> {
        let (from_key, to_key) = (folder_key(from), folder_key(to));
        if from_key == INBOX || to_key == INBOX {
            return Err(StoreError::InboxIsPermanent);
        }
        if to.is_empty() || to.chars().any(char::is_control) {
            return Err(StoreError::BadFolderName(to.to_string()));
        }
        let u = self.user_mut(user)?;
        if u.folders.contains_key(&to_key) {
            return Err(StoreError::FolderExists(to.to_string()));
        }
        let mut folder = u
            .folders
            .remove(&from_key)
            .ok_or_else(|| StoreError::NoSuchFolder(from.to_string()))?;
        folder.name = to.to_string();
        folder.version += 1;
        u.folders.insert(to_key, folder);
        self.touched.insert(user.to_ascii_lowercase());
        Ok(())
    }

    /// Adds flags to a message (IMAP STORE +FLAGS).
    pub fn add_flags(
        &mut self,
        user: &str,
        folder: &str,
        uid: u32,
        flags: &[Flag],
    ) -> Result<(), StoreError> {
        self.change_flags(user, folder, uid, |set| set.extend(flags.iter().cloned()))
    }

    /// Removes flags from a message (IMAP STORE -FLAGS).
    pub fn remove_flags(
        &mut self,
        user: &str,
        folder: &str,
        uid: u32,
        flags: &[Flag],
    ) -> Result<(), StoreError> {
        self.change_flags(user, folder, uid, |set| {
            for f in flags {
                set.remove(f);
            }
        })
    }

    /// Replaces a message's flags (IMAP STORE FLAGS).
    pub fn set_flags(
        &mut self,
        user: &str,
        folder: &str,
        uid: u32,
        flags: &[Flag],
    ) -> Result<(), StoreError> {
        self.change_flags(user, folder, uid, |set| {
            *set = flags.iter().cloned().collect();
        })
    }

    fn change_flags(
        &mut self,
        user: &str,
        folder: &str,
        uid: u32,
        change: impl FnOnce(&mut BTreeSet<Flag>),
    ) -> Result<(), StoreError> {
        let user_name = self.user_mut(user)?.name.clone();
        let f = self.folder_mut(user, folder)?;
        let m = f.get_mut(uid).ok_or(StoreError::NoSuchMessage(uid))?;
        let before = m.flags.clone();
        change(&mut m.flags);
        if m.flags == before {
            return Ok(());
        }
        let flags = m.flags.clone();
        f.version += 1;
        let folder = f.name.clone();
        self.touched.insert(user_name.to_ascii_lowercase());
        self.changes.push(StoreChange::Flags {
            user: user_name,
            folder,
            uid,
            flags,
        });
        Ok(())
    }

    /// Removes every message flagged `\Deleted` (IMAP EXPUNGE); their UIDs.
    pub fn expunge(&mut self, user: &str, folder: &str) -> Result<Vec<u32>, StoreError> {
        self.remove_messages(user, folder, |m| m.has_flag(&Flag::Deleted))
    }

    /// Removes the messages with these UIDs (POP3 UPDATE, IMAP UID
    /// EXPUNGE); the UIDs actually removed.
    pub fn remove_uids(
        &mut self,
        user: &str,
        folder: &str,
        uids: &[u32],
    ) -> Result<Vec<u32>, StoreError> {
        self.remove_messages(user, folder, |m| uids.contains(&m.uid))
    }

    fn remove_messages(
        &mut self,
        user: &str,
        folder: &str,
        doomed: impl Fn(&StoredMessage) -> bool,
    ) -> Result<Vec<u32>, StoreError> {
        let user_name = self.user_mut(user)?.name.clone();
        let f = self.folder_mut(user, folder)?;
        let uids = f.remove_where(doomed);
        let folder = f.name.clone();
        if !uids.is_empty() {
            self.touched.insert(user_name.to_ascii_lowercase());
            self.changes.push(StoreChange::Expunged {
                user: user_name,
                folder,
                uids: uids.clone(),
            });
        }
        Ok(uids)
    }

    /// Messages of `user`'s `folder` whose Subject contains `text`.
    pub fn messages_with_subject(&self, user: &str, folder: &str, text: &str) -> usize {
        self.folder(user, folder).map_or(0, |f| {
            f.messages()
                .iter()
                .filter(|m| m.subject().contains(text))
                .count()
        })
    }

    /// The changes since the last call, oldest first.
    pub fn take_changes(&mut self) -> Vec<StoreChange> {
        std::mem::take(&mut self.changes)
    }

    /// The users (lower-case keys, as [`resolve_login`](Self::resolve_login)
    /// gives them) whose folders, messages or flags changed since the last
    /// call.
    pub fn take_touched(&mut self) -> BTreeSet<String> {
        std::mem::take(&mut self.touched)
    }

    /// The POP3 unique-id of a message (RFC 1939 §7): `UIDVALIDITY.UID`,
    /// which is never reused for another message of the maildrop.
    pub fn pop3_uid(folder: &Folder, message: &StoredMessage) -> String {
        format!("{}.{}", folder.uid_validity, message.uid)
    }

    /// Releases every POP3 lock (after a crash no session survives).
    pub fn unlock_all(&mut self) {
        for u in self.users.values_mut() {
            u.pop3_locked = false;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(super) fn store() -> MailStore {
        let mut s = MailStore::new(&["hamburger.edu".to_string()]);
        s.add_user("bob", "hungry").unwrap();
        s
    }

    pub(super) fn msg(subject: &str) -> Vec<u8> {
        format!("From: alice@crepes.fr\r\nSubject: {subject}\r\n\r\nHi\r\n").into_bytes()
    }

    #[test]
    fn users_logins_and_domains() {
        let s = store();
        assert!(s.is_local_domain("Hamburger.EDU"));
        assert!(!s.is_local_domain("crepes.fr"));
        assert!(s.check_password("bob", "hungry"));
        assert!(s.check_password("Bob@hamburger.edu", "hungry"));
        assert!(!s.check_password("bob@crepes.fr", "hungry"));
        assert!(!s.check_password("bob", "thirsty"));
        // The postmaster exists but has no password.
        assert!(s.user_exists("Postmaster"));
        assert!(!s.check_password("postmaster", ""));
        assert_eq!(
            store().add_user("BOB", "x"),
            Err(StoreError::UserExists("BOB".into()))
        );
    }

    #[test]
    fn uids_ascend_and_are_never_reused() {
        let mut s = store();
        assert_eq!(s.deliver("bob", msg("one"), 100), Ok(1));
        assert_eq!(s.deliver("bob", msg("two"), 200), Ok(2));
        let inbox = s.folder("bob", "inbox").unwrap();
        assert_eq!(inbox.uid_next(), 3);
        assert_eq!(inbox.messages()[1].subject(), "two");
        assert_eq!(inbox.get(2).unwrap().internal_date, 200);
        s.add_flags("bob", INBOX, 2, &[Flag::Deleted, Flag::Seen])
            .unwrap();
        assert_eq!(s.folder("bob", INBOX).unwrap().unseen(), 1);
        assert_eq!(s.expunge("bob", INBOX), Ok(vec![2]));
        assert_eq!(s.deliver("bob", msg("three"), 300), Ok(3));
        assert_eq!(s.messages_with_subject("bob", INBOX, "t"), 1);
        assert_eq!(
            s.take_changes(),
            vec![
                StoreChange::Appended {
                    user: "bob".into(),
                    folder: INBOX.into(),
                    uid: 1
                },
                StoreChange::Appended {
                    user: "bob".into(),
                    folder: INBOX.into(),
                    uid: 2
                },
                StoreChange::Flags {
                    user: "bob".into(),
                    folder: INBOX.into(),
                    uid: 2,
                    flags: [Flag::Seen, Flag::Deleted].into(),
                },
                StoreChange::Expunged {
                    user: "bob".into(),
                    folder: INBOX.into(),
                    uids: vec![2]
                },
                StoreChange::Appended {
                    user: "bob".into(),
                    folder: INBOX.into(),
                    uid: 3
                },
            ]
        );
    }

    #[test]
    fn folders_get_fresh_uidvalidity() {
        let mut s = store();
        s.create_folder("bob", "Work").unwrap();
        let first = s.folder("bob", "Work").unwrap().uid_validity();
        assert_eq!(
            s.create_folder("bob", "Work"),
            Err(StoreError::FolderExists("Work".into()))
        );
        s.delete_folder("bob", "Work").unwrap();
        s.create_folder("bob", "Work").unwrap();
        assert_ne!(s.folder("bob", "Work").unwrap().uid_validity(), first);
        assert_eq!(
            s.delete_folder("bob", "inbox"),
            Err(StoreError::InboxIsPermanent)
        );
        s.append("bob", "Work", msg("x"), [Flag::Flagged].into(), 5)
            .unwrap();
        s.rename_folder("bob", "Work", "Play").unwrap();
        let play = s.folder("bob", "Play").unwrap();
        assert!(play.get(1).unwrap().has_flag(&Flag::Flagged));
        let names: Vec<&str> = s.user("bob").unwrap().folders().map(Folder::name).collect();
        assert_eq!(names, vec!["INBOX", "Play"]);
    }

    #[test]
    fn flags_parse_and_print() {
        assert_eq!(Flag::parse("\\SEEN"), Some(Flag::Seen));
        assert_eq!(Flag::parse("\\Recent"), None);
        assert_eq!(
            Flag::parse("$Forwarded"),
            Some(Flag::Keyword("$Forwarded".into()))
        );
        assert_eq!(Flag::parse("a b"), None);
        assert_eq!(Flag::Deleted.name(), "\\Deleted");
    }
}
