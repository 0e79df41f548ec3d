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
//! The store is "on disk": it survives a crash of its host. It does no
//! network I/O and knows no time; dates come in as arguments. It is not a
//! queue (see [`super::queue`]) and does not decide which domains are
//! local beyond the list it is given.

use std::collections::{BTreeMap, BTreeSet};

use crate::proto::imap;
use crate::proto::pop3::{MaildropMessage, Pop3Backend};
use crate::proto::smtp::message::Headers;

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

    fn delete_messages(&mut self, user: &str, uids: &[String]) -> Result<(), String> {
        let key = self
            .resolve_login(user)
            .ok_or_else(|| format!("no such user {user}"))?;
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
            .map_err(|e| e.to_string())
    }
}

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
    use super::*;

    fn store() -> MailStore {
        let mut s = MailStore::new(&["hamburger.edu".to_string()]);
        s.add_user("bob", "hungry").unwrap();
        s
    }

    fn msg(subject: &str) -> Vec<u8> {
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
        s.unlock_maildrop("bob");
        assert!(s.lock_maildrop("bob"));
        s.unlock_all();
        assert!(!s.user("bob").unwrap().is_locked());
    }

    // ---- the store as an IMAP backend ---------------------------------

    use crate::proto::Session;
    use crate::proto::imap::{ImapConfig, ImapServer, MailStore as Imap};

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
