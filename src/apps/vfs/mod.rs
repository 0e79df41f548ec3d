//! A virtual file system: an in-memory tree of directories and files that
//! the file servers (FTP, HTTP, SCP, and TELNET's shell) serve.
//!
//! The tree is global, but users never see it whole. Each account has a
//! home directory, and that home is the root `/` of everything the user
//! sees: paths typed by a user are resolved against the user's current
//! directory and normalised *lexically* into a [`VPath`] before anything is
//! looked up, so `..` at the root stays at the root, an absolute path starts
//! at the home directory, and no spelling of a path (backslashes, empty or
//! `.` components, many `..`) can reach another user's files. Accounts may
//! be read-only and may have a quota in bytes that writes cannot exceed.
//!
//! It is not a model of a real disk: there are no permissions beyond
//! "read-only account", no links, no owners, no blocks. Directories and maps
//! are `BTreeMap`s, so listings come out sorted and runs are deterministic.
//! Percent-encoding is not decoded here: a name such as `%2e%2e` is just a
//! name. Protocols that encode paths (HTTP URLs) decode them first and then
//! hand the result to [`VPath::resolve`], which is where `..` is tamed.
//!
//! The pieces: this file is the tree, its accounts and what users do in
//! it; `path` is [`VPath`], the lexical normalisation every lookup starts
//! with; `backends` is the tree as the FTP server and the TELNET shell
//! see it.

use std::collections::BTreeMap;

use bytes::{Bytes, BytesMut};

use crate::sim::SimRng;

mod backends;
mod path;

pub use path::{MAX_DEPTH, MAX_NAME_LEN, MAX_PATH_LEN, VPath};

/// Why a file system operation failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum VfsError {
    /// Nothing exists at that path (or a directory on the way is missing).
    #[error("no such file or directory")]
    NotFound,
    /// A component on the way, or the target of a directory operation, is
    /// a file.
    #[error("not a directory")]
    NotADirectory,
    /// A file operation was asked of a directory.
    #[error("is a directory")]
    IsADirectory,
    /// The target already exists.
    #[error("file exists")]
    Exists,
    /// `rmdir` of a directory that still has entries.
    #[error("directory not empty")]
    NotEmpty,
    /// The account is read-only, unknown, or the operation would touch the
    /// user's root itself.
    #[error("permission denied")]
    PermissionDenied,
    /// The write would take the account over its quota.
    #[error("quota exceeded")]
    QuotaExceeded,
    /// The path text is not acceptable (NUL or control bytes, over-long
    /// names, too deep, or a rename into the directory's own subtree).
    #[error("invalid path")]
    InvalidPath,
}

/// What a directory entry is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum EntryKind {
    File,
    Directory,
}

/// What [`Vfs::stat`] and [`Vfs::list`] report about one entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Metadata {
    /// The entry's own name (`/` for a user's root).
    pub name: String,
    pub kind: EntryKind,
    /// Content length in bytes; 0 for directories.
    pub size: u64,
    /// Last modification, Unix seconds.
    pub mtime: i64,
}

/// One account of the file servers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    /// Password, compared as plain text: FTP sends it in the clear anyway.
    pub password: String,
    /// The user's root, as a path in the global tree (e.g. `/home/alice`).
    pub home: VPath,
    /// A read-only account may read and list but not change anything.
    pub read_only: bool,
    /// Most bytes of file content the account's home may hold, if limited.
    pub quota: Option<u64>,
}

impl Account {
    /// A writable account without quota.
    pub fn new(password: &str, home: VPath) -> Account {
        Account {
            password: password.to_string(),
            home,
            read_only: false,
            quota: None,
        }
    }
}

#[derive(Debug, Clone)]
enum Node {
    File {
        data: Bytes,
        mtime: i64,
    },
    Dir {
        entries: BTreeMap<String, Node>,
        mtime: i64,
    },
}

impl Node {
    fn empty_dir(mtime: i64) -> Node {
        Node::Dir {
            entries: BTreeMap::new(),
            mtime,
        }
    }

    fn metadata(&self, name: &str) -> Metadata {
        match self {
            Node::File { data, mtime } => Metadata {
                name: name.to_string(),
                kind: EntryKind::File,
                size: data.len() as u64,
                mtime: *mtime,
            },
            Node::Dir { mtime, .. } => Metadata {
                name: name.to_string(),
                kind: EntryKind::Directory,
                size: 0,
                mtime: *mtime,
            },
        }
    }

    /// Total bytes of file content in this subtree.
    fn usage(&self) -> u64 {
        match self {
            Node::File { data, .. } => data.len() as u64,
            Node::Dir { entries, .. } => entries.values().map(Node::usage).sum(),
        }
    }
}

/// The file tree and the accounts that see parts of it.
#[derive(Debug, Clone)]
pub struct Vfs {
    root: Node,
    accounts: BTreeMap<String, Account>,
}

impl Default for Vfs {
    fn default() -> Self {
        Vfs::new()
    }
}

/// Deterministic pseudo-random content of `size` bytes for `seed`: the same
/// pair always gives the same bytes, on every machine, so a scenario can
/// declare "a 1 MB binary file" and checks can compare hashes.
pub fn generate_bytes(seed: u64, size: usize) -> Bytes {
    let mut rng = SimRng::new(seed);
    let mut buf = BytesMut::zeroed(size);
    rng.fill_bytes(&mut buf);
    buf.freeze()
}

impl Vfs {
    /// An empty tree (just `/`) with no accounts.
    pub fn new() -> Vfs {
        Vfs {
            root: Node::empty_dir(0),
            accounts: BTreeMap::new(),
        }
    }

    // ----- setup, in the global tree, bypassing accounts and quotas -----

    /// Adds (or replaces) an account and creates its home directory.
    pub fn add_user(&mut self, name: &str, account: Account, mtime: i64) -> Result<(), VfsError> {
        self.mkdir_all(&account.home, mtime)?;
        self.accounts.insert(name.to_string(), account);
        Ok(())
    }

    /// The account called `name`.
    pub fn account(&self, name: &str) -> Option<&Account> {
        self.accounts.get(name)
    }

    /// True if `name` exists and `password` is its password.
    pub fn check_password(&self, name: &str, password: &str) -> bool {
        self.accounts
            .get(name)
            .is_some_and(|a| a.password == password)
    }

    /// Creates a directory and its missing parents in the global tree.
    pub fn mkdir_all(&mut self, path: &VPath, mtime: i64) -> Result<(), VfsError> {
        let mut node = &mut self.root;
        for name in path.components() {
            let Node::Dir { entries, .. } = node else {
                return Err(VfsError::NotADirectory);
            };
            node = entries
                .entry(name.clone())
                .or_insert_with(|| Node::empty_dir(mtime));
        }
        match node {
            Node::Dir { .. } => Ok(()),
            Node::File { .. } => Err(VfsError::NotADirectory),
        }
    }

    /// Creates or replaces a file in the global tree, creating missing
    /// parent directories.
    pub fn put_file(&mut self, path: &VPath, data: Bytes, mtime: i64) -> Result<(), VfsError> {
        let name = path.file_name().ok_or(VfsError::IsADirectory)?;
        self.mkdir_all(&path.parent(), mtime)?;
        let entries = dir_entries_mut(&mut self.root, path.parent().components())?;
        if let Some(Node::Dir { .. }) = entries.get(name) {
            return Err(VfsError::IsADirectory);
        }
        entries.insert(name.to_string(), Node::File { data, mtime });
        Ok(())
    }

    /// A text file (stored exactly as given: LF line ends stay LF).
    pub fn create_text_file(
        &mut self,
        path: &VPath,
        text: &str,
        mtime: i64,
    ) -> Result<(), VfsError> {
        self.put_file(path, Bytes::copy_from_slice(text.as_bytes()), mtime)
    }

    /// A binary file of `size` bytes from [`generate_bytes`]`(seed, size)`.
    pub fn create_binary_file(
        &mut self,
        path: &VPath,
        size: usize,
        seed: u64,
        mtime: i64,
    ) -> Result<(), VfsError> {
        self.put_file(path, generate_bytes(seed, size), mtime)
    }

    /// Content of a file in the global tree.
    pub fn get_file(&self, path: &VPath) -> Result<Bytes, VfsError> {
        match find(&self.root, path.components())? {
            Node::File { data, .. } => Ok(data.clone()),
            Node::Dir { .. } => Err(VfsError::IsADirectory),
        }
    }

    /// Metadata of an entry in the global tree.
    pub fn metadata(&self, path: &VPath) -> Option<Metadata> {
        let node = find(&self.root, path.components()).ok()?;
        Some(node.metadata(path.file_name().unwrap_or("/")))
    }

    /// Every account, by name.
    pub fn accounts(&self) -> impl Iterator<Item = (&str, &Account)> {
        self.accounts.iter().map(|(name, a)| (name.as_str(), a))
    }

    /// Every file in the global tree with its size, sorted by path (for
    /// inspectors and final checks).
    pub fn files(&self) -> Vec<(VPath, u64)> {
        let mut out = Vec::new();
        collect_files(&self.root, &mut VPath::root(), &mut out);
        out
    }

    /// The global path of `path` as `user` sees it (`/notes.txt` of a user
    /// whose home is `/alice` is `/alice/notes.txt`).
    pub fn global_path(&self, user: &str, path: &VPath) -> Option<VPath> {
        let account = self.accounts.get(user)?;
        Some(self.global(account, path))
    }

    // ----- what users do, through their own view -----

    /// Bytes of file content under the user's home.
    pub fn usage(&self, user: &str) -> Result<u64, VfsError> {
        let account = self.account_of(user)?;
        Ok(find(&self.root, account.home.components())?.usage())
    }

    /// Metadata of the entry at `path` (a path in the user's view).
    pub fn stat(&self, user: &str, path: &VPath) -> Result<Metadata, VfsError> {
        let node = self.node(user, path)?;
        Ok(node.metadata(path.file_name().unwrap_or("/")))
    }

    /// The entries of a directory, sorted by name.
    pub fn list(&self, user: &str, path: &VPath) -> Result<Vec<Metadata>, VfsError> {
        match self.node(user, path)? {
            Node::Dir { entries, .. } => Ok(entries
                .iter()
                .map(|(name, node)| node.metadata(name))
                .collect()),
            Node::File { .. } => Err(VfsError::NotADirectory),
        }
    }

    /// A file's content.
    pub fn read(&self, user: &str, path: &VPath) -> Result<Bytes, VfsError> {
        match self.node(user, path)? {
            Node::File { data, .. } => Ok(data.clone()),
            Node::Dir { .. } => Err(VfsError::IsADirectory),
        }
    }

    /// Checks, without changing anything, that `write` of `path` could
    /// succeed apart from the quota: the account is writable, the parent
    /// directory exists, and `path` is not a directory.
    pub fn check_write(&self, user: &str, path: &VPath) -> Result<(), VfsError> {
        let account = self.writable_account(user)?;
        let name = path.file_name().ok_or(VfsError::IsADirectory)?;
        let parent = self.global(&account, &path.parent());
        match find(&self.root, parent.components())? {
            Node::Dir { entries, .. } => match entries.get(name) {
                Some(Node::Dir { .. }) => Err(VfsError::IsADirectory),
                _ => Ok(()),
            },
            Node::File { .. } => Err(VfsError::NotADirectory),
        }
    }

    /// Creates or replaces a file.
    pub fn write(
        &mut self,
        user: &str,
        path: &VPath,
        data: Bytes,
        now: i64,
    ) -> Result<(), VfsError> {
        self.check_write(user, path)?;
        let old = self.read(user, path).map_or(0, |d| d.len() as u64);
        self.check_quota(user, old, data.len() as u64)?;
        self.store(user, path, data, now)
    }

    /// Appends to a file, creating it if missing.
    pub fn append(
        &mut self,
        user: &str,
        path: &VPath,
        data: &[u8],
        now: i64,
    ) -> Result<(), VfsError> {
        self.check_write(user, path)?;
        let old = self.read(user, path).unwrap_or_default();
        self.check_quota(user, 0, data.len() as u64)?;
        let mut joined = BytesMut::with_capacity(old.len() + data.len());
        joined.extend_from_slice(&old);
        joined.extend_from_slice(data);
        self.store(user, path, joined.freeze(), now)
    }

    /// Creates an empty directory; its parent must exist.
    pub fn mkdir(&mut self, user: &str, path: &VPath, now: i64) -> Result<(), VfsError> {
        let account = self.writable_account(user)?;
        let name = path.file_name().ok_or(VfsError::Exists)?.to_string();
        let parent = self.global(&account, &path.parent());
        let (entries, mtime) = self.dir_mut(&parent)?;
        if entries.contains_key(&name) {
            return Err(VfsError::Exists);
        }
        entries.insert(name, Node::empty_dir(now));
        *mtime = now;
        Ok(())
    }

    /// Removes an empty directory (never the user's root).
    pub fn rmdir(&mut self, user: &str, path: &VPath, now: i64) -> Result<(), VfsError> {
        let account = self.writable_account(user)?;
        let name = path
            .file_name()
            .ok_or(VfsError::PermissionDenied)?
            .to_string();
        let parent = self.global(&account, &path.parent());
        let (entries, mtime) = self.dir_mut(&parent)?;
        match entries.get(&name) {
            None => Err(VfsError::NotFound),
            Some(Node::File { .. }) => Err(VfsError::NotADirectory),
            Some(Node::Dir { entries: inner, .. }) if !inner.is_empty() => Err(VfsError::NotEmpty),
            Some(Node::Dir { .. }) => {
                entries.remove(&name);
                *mtime = now;
                Ok(())
            }
        }
    }

    /// Deletes a file (not a directory: see [`Vfs::rmdir`]).
    pub fn delete(&mut self, user: &str, path: &VPath, now: i64) -> Result<(), VfsError> {
        let account = self.writable_account(user)?;
        let name = path.file_name().ok_or(VfsError::IsADirectory)?.to_string();
        let parent = self.global(&account, &path.parent());
        let (entries, mtime) = self.dir_mut(&parent)?;
        match entries.get(&name) {
            None => Err(VfsError::NotFound),
            Some(Node::Dir { .. }) => Err(VfsError::IsADirectory),
            Some(Node::File { .. }) => {
                entries.remove(&name);
                *mtime = now;
                Ok(())
            }
        }
    }

    /// Renames or moves a file or directory. An existing file at `to` is
    /// replaced by a file; any other existing target is [`VfsError::Exists`].
    /// A directory cannot move into its own subtree, and the root cannot
    /// move at all.
    pub fn rename(
        &mut self,
        user: &str,
        from: &VPath,
        to: &VPath,
        now: i64,
    ) -> Result<(), VfsError> {
        let account = self.writable_account(user)?;
        let (Some(from_name), Some(to_name)) = (from.file_name(), to.file_name()) else {
            return Err(VfsError::PermissionDenied);
        };
        if from == to {
            self.stat(user, from)?;
            return Ok(());
        }
        if to.starts_with(from) {
            return Err(VfsError::InvalidPath);
        }
        let (from_parent, to_parent) = (
            self.global(&account, &from.parent()),
            self.global(&account, &to.parent()),
        );
        let (from_name, to_name) = (from_name.to_string(), to_name.to_string());
        // Check everything before changing anything.
        let moving_dir = match find(&self.root, from_parent.components())? {
            Node::Dir { entries, .. } => match entries.get(&from_name) {
                None => return Err(VfsError::NotFound),
                Some(node) => matches!(node, Node::Dir { .. }),
            },
            Node::File { .. } => return Err(VfsError::NotADirectory),
        };
        match find(&self.root, to_parent.components())? {
            Node::Dir { entries, .. } => match entries.get(&to_name) {
                Some(Node::Dir { .. }) => return Err(VfsError::Exists),
                Some(Node::File { .. }) if moving_dir => return Err(VfsError::Exists),
                _ => {}
            },
            Node::File { .. } => return Err(VfsError::NotADirectory),
        }
        let (entries, mtime) = self.dir_mut(&from_parent)?;
        let node = entries.remove(&from_name).ok_or(VfsError::NotFound)?;
        *mtime = now;
        let (entries, mtime) = self.dir_mut(&to_parent)?;
        entries.insert(to_name, node);
        *mtime = now;
        Ok(())
    }

    // ----- helpers -----

    fn account_of(&self, user: &str) -> Result<&Account, VfsError> {
        self.accounts.get(user).ok_or(VfsError::PermissionDenied)
    }

    fn writable_account(&self, user: &str) -> Result<Account, VfsError> {
        let account = self.account_of(user)?;
        if account.read_only {
            return Err(VfsError::PermissionDenied);
        }
        Ok(account.clone())
    }

    /// The global path of `path` in `account`'s view.
    fn global(&self, account: &Account, path: &VPath) -> VPath {
        let mut parts = account.home.parts.clone();
        parts.extend(path.parts.iter().cloned());
        VPath { parts }
    }

    fn node(&self, user: &str, path: &VPath) -> Result<&Node, VfsError> {
        let account = self.account_of(user)?;
        find(&self.root, self.global(account, path).components())
    }

    fn check_quota(&self, user: &str, old_size: u64, new_size: u64) -> Result<(), VfsError> {
        let Some(quota) = self.account_of(user)?.quota else {
            return Ok(());
        };
        let after = self
            .usage(user)?
            .saturating_sub(old_size)
            .saturating_add(new_size);
        if after > quota {
            return Err(VfsError::QuotaExceeded);
        }
        Ok(())
    }

    /// The entries and the mtime of the directory at global path `dir`.
    fn dir_mut(
        &mut self,
        dir: &VPath,
    ) -> Result<(&mut BTreeMap<String, Node>, &mut i64), VfsError> {
        let mut node = &mut self.root;
        for name in dir.components() {
            let Node::Dir { entries, .. } = node else {
                return Err(VfsError::NotADirectory);
            };
            node = entries.get_mut(name).ok_or(VfsError::NotFound)?;
        }
        match node {
            Node::Dir { entries, mtime } => Ok((entries, mtime)),
            Node::File { .. } => Err(VfsError::NotADirectory),
        }
    }

    fn store(&mut self, user: &str, path: &VPath, data: Bytes, now: i64) -> Result<(), VfsError> {
        let account = self.writable_account(user)?;
        let name = path.file_name().ok_or(VfsError::IsADirectory)?.to_string();
        let parent = self.global(&account, &path.parent());
        let (entries, mtime) = self.dir_mut(&parent)?;
        entries.insert(name, Node::File { data, mtime: now });
        *mtime = now;
        Ok(())
    }
}

/// Depth-first walk for [`Vfs::files`]; `BTreeMap` order keeps it sorted.
fn collect_files(node: &Node, path: &mut VPath, out: &mut Vec<(VPath, u64)>) {
    match node {
        Node::File { data, .. } => out.push((path.clone(), data.len() as u64)),
        Node::Dir { entries, .. } => {
            for (name, child) in entries {
                path.parts.push(name.clone());
                collect_files(child, path, out);
                path.parts.pop();
            }
        }
    }
}

fn find<'a>(root: &'a Node, parts: &[String]) -> Result<&'a Node, VfsError> {
    let mut node = root;
    for name in parts {
        match node {
            Node::Dir { entries, .. } => node = entries.get(name).ok_or(VfsError::NotFound)?,
            Node::File { .. } => return Err(VfsError::NotADirectory),
        }
    }
    Ok(node)
}

fn dir_entries_mut<'a>(
    root: &'a mut Node,
    parts: &[String],
) -> Result<&'a mut BTreeMap<String, Node>, VfsError> {
    let mut node = root;
    for name in parts {
        match node {
            Node::Dir { entries, .. } => node = entries.get_mut(name).ok_or(VfsError::NotFound)?,
            Node::File { .. } => return Err(VfsError::NotADirectory),
        }
    }
    match node {
        Node::Dir { entries, .. } => Ok(entries),
        Node::File { .. } => Err(VfsError::NotADirectory),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> VPath {
        VPath::parse(s).unwrap()
    }

    /// alice and bob have neighbouring homes; bob keeps a secret.
    fn world() -> Vfs {
        let mut vfs = Vfs::new();
        vfs.add_user("alice", Account::new("wonderland", p("/home/alice")), 100)
            .unwrap();
        vfs.add_user("bob", Account::new("builder", p("/home/bob")), 100)
            .unwrap();
        vfs.create_text_file(&p("/home/bob/secret.txt"), "bob's secret\n", 100)
            .unwrap();
        vfs.create_text_file(&p("/etc/passwd"), "root:x:0:0\n", 100)
            .unwrap();
        vfs.create_text_file(&p("/home/alice/notes.txt"), "hello\n", 200)
            .unwrap();
        vfs.mkdir_all(&p("/home/alice/pub/deep"), 300).unwrap();
        vfs
    }

    #[test]
    fn a_user_sees_only_the_home_directory() {
        let vfs = world();
        let root = VPath::root();
        let names: Vec<String> = vfs
            .list("alice", &root)
            .unwrap()
            .into_iter()
            .map(|m| m.name)
            .collect();
        assert_eq!(names, ["notes.txt", "pub"]);
        for attempt in [
            "../bob/secret.txt",
            "/../bob/secret.txt",
            "../../home/bob/secret.txt",
            "..\\bob\\secret.txt",
            "/etc/passwd",
            "../../../etc/passwd",
        ] {
            let path = root.resolve(attempt).unwrap();
            assert_eq!(
                vfs.read("alice", &path),
                Err(VfsError::NotFound),
                "{attempt}"
            );
        }
        assert_eq!(
            &vfs.read("bob", &p("/secret.txt")).unwrap()[..],
            b"bob's secret\n"
        );
        // The root of the view is the home directory.
        assert_eq!(vfs.stat("alice", &root).unwrap().kind, EntryKind::Directory);
        assert_eq!(
            vfs.read("nobody", &p("/x")),
            Err(VfsError::PermissionDenied)
        );
    }

    #[test]
    fn files_and_directories() {
        let mut vfs = world();
        let a = "alice";
        vfs.write(a, &p("/pub/a.txt"), Bytes::from_static(b"one\n"), 500)
            .unwrap();
        vfs.append(a, &p("/pub/a.txt"), b"two\n", 600).unwrap();
        assert_eq!(&vfs.read(a, &p("/pub/a.txt")).unwrap()[..], b"one\ntwo\n");
        let meta = vfs.stat(a, &p("/pub/a.txt")).unwrap();
        assert_eq!(
            (meta.size, meta.mtime, meta.kind),
            (8, 600, EntryKind::File)
        );
        assert_eq!(vfs.stat(a, &p("/pub")).unwrap().mtime, 600);
        vfs.append(a, &p("/new.txt"), b"x", 600).unwrap();
        assert_eq!(vfs.read(a, &p("/new.txt")).unwrap().len(), 1);

        assert_eq!(
            vfs.write(a, &p("/missing/a"), Bytes::new(), 1),
            Err(VfsError::NotFound)
        );
        assert_eq!(
            vfs.write(a, &p("/pub"), Bytes::new(), 1),
            Err(VfsError::IsADirectory)
        );
        assert_eq!(
            vfs.write(a, &p("/notes.txt/x"), Bytes::new(), 1),
            Err(VfsError::NotADirectory)
        );
        assert_eq!(
            vfs.write(a, &VPath::root(), Bytes::new(), 1),
            Err(VfsError::IsADirectory)
        );
        assert_eq!(vfs.read(a, &p("/pub")), Err(VfsError::IsADirectory));
        assert_eq!(vfs.list(a, &p("/notes.txt")), Err(VfsError::NotADirectory));

        vfs.mkdir(a, &p("/pub/sub"), 700).unwrap();
        assert_eq!(vfs.mkdir(a, &p("/pub/sub"), 700), Err(VfsError::Exists));
        assert_eq!(vfs.mkdir(a, &p("/nope/sub"), 700), Err(VfsError::NotFound));
        assert_eq!(vfs.mkdir(a, &VPath::root(), 700), Err(VfsError::Exists));
        assert_eq!(vfs.rmdir(a, &p("/pub"), 700), Err(VfsError::NotEmpty));
        assert_eq!(
            vfs.rmdir(a, &p("/notes.txt"), 700),
            Err(VfsError::NotADirectory)
        );
        assert_eq!(
            vfs.rmdir(a, &VPath::root(), 700),
            Err(VfsError::PermissionDenied)
        );
        vfs.rmdir(a, &p("/pub/sub"), 700).unwrap();
        assert_eq!(vfs.rmdir(a, &p("/pub/sub"), 700), Err(VfsError::NotFound));

        assert_eq!(vfs.delete(a, &p("/pub"), 700), Err(VfsError::IsADirectory));
        assert_eq!(vfs.delete(a, &p("/gone"), 700), Err(VfsError::NotFound));
        vfs.delete(a, &p("/new.txt"), 700).unwrap();
        assert_eq!(vfs.stat(a, &p("/new.txt")), Err(VfsError::NotFound));
    }

    #[test]
    fn rename_moves_and_refuses_nonsense() {
        let mut vfs = world();
        let a = "alice";
        vfs.rename(a, &p("/notes.txt"), &p("/pub/deep/n.txt"), 800)
            .unwrap();
        assert_eq!(&vfs.read(a, &p("/pub/deep/n.txt")).unwrap()[..], b"hello\n");
        assert_eq!(vfs.stat(a, &p("/notes.txt")), Err(VfsError::NotFound));
        // Directories move with their content.
        vfs.rename(a, &p("/pub"), &p("/public"), 800).unwrap();
        assert!(vfs.read(a, &p("/public/deep/n.txt")).is_ok());
        // Into its own subtree, over a directory, from nowhere, the root.
        assert_eq!(
            vfs.rename(a, &p("/public"), &p("/public/deep/x"), 1),
            Err(VfsError::InvalidPath)
        );
        vfs.mkdir(a, &p("/other"), 1).unwrap();
        assert_eq!(
            vfs.rename(a, &p("/public"), &p("/other"), 1),
            Err(VfsError::Exists)
        );
        assert_eq!(
            vfs.rename(a, &p("/none"), &p("/x"), 1),
            Err(VfsError::NotFound)
        );
        assert_eq!(
            vfs.rename(a, &VPath::root(), &p("/x"), 1),
            Err(VfsError::PermissionDenied)
        );
        assert_eq!(
            vfs.rename(a, &p("/public/deep/n.txt"), &p("/no/dir/n"), 1),
            Err(VfsError::NotFound)
        );
        // A file replaces a file.
        vfs.write(a, &p("/f1"), Bytes::from_static(b"1"), 1)
            .unwrap();
        vfs.write(a, &p("/f2"), Bytes::from_static(b"2"), 1)
            .unwrap();
        vfs.rename(a, &p("/f1"), &p("/f2"), 1).unwrap();
        assert_eq!(&vfs.read(a, &p("/f2")).unwrap()[..], b"1");
        // Other users' trees are untouched.
        assert!(vfs.read("bob", &p("/secret.txt")).is_ok());
    }

    #[test]
    fn read_only_accounts_change_nothing() {
        let mut vfs = world();
        let mut guest = Account::new("guest", p("/home/alice/pub"));
        guest.read_only = true;
        vfs.add_user("guest", guest, 1).unwrap();
        let g = "guest";
        assert!(vfs.list(g, &VPath::root()).is_ok());
        let denied = Err(VfsError::PermissionDenied);
        assert_eq!(vfs.write(g, &p("/x"), Bytes::new(), 1), denied);
        assert_eq!(vfs.check_write(g, &p("/x")), denied);
        assert_eq!(vfs.append(g, &p("/x"), b"", 1), denied);
        assert_eq!(vfs.mkdir(g, &p("/x"), 1), denied);
        assert_eq!(vfs.rmdir(g, &p("/deep"), 1), denied);
        assert_eq!(vfs.delete(g, &p("/x"), 1), denied);
        assert_eq!(vfs.rename(g, &p("/deep"), &p("/y"), 1), denied);
        assert!(vfs.stat(g, &p("/deep")).is_ok());
    }

    #[test]
    fn quota_limits_the_bytes_in_a_home() {
        let mut vfs = world();
        let mut carol = Account::new("pw", p("/home/carol"));
        carol.quota = Some(10);
        vfs.add_user("carol", carol, 1).unwrap();
        let c = "carol";
        vfs.write(c, &p("/a"), Bytes::from_static(b"123456"), 1)
            .unwrap();
        assert_eq!(
            vfs.write(c, &p("/b"), Bytes::from_static(b"12345"), 1),
            Err(VfsError::QuotaExceeded)
        );
        assert_eq!(vfs.stat(c, &p("/b")), Err(VfsError::NotFound));
        // Replacing a file counts the new size instead of the old one.
        vfs.write(c, &p("/a"), Bytes::from_static(b"1234567890"), 1)
            .unwrap();
        assert_eq!(
            vfs.append(c, &p("/a"), b"!", 1),
            Err(VfsError::QuotaExceeded)
        );
        assert_eq!(vfs.usage(c), Ok(10));
        vfs.delete(c, &p("/a"), 1).unwrap();
        assert_eq!(vfs.usage(c), Ok(0));
        vfs.append(c, &p("/a"), b"0123456789", 1).unwrap();
    }

    #[test]
    fn generated_content_is_deterministic() {
        let a = generate_bytes(42, 10_000);
        assert_eq!(a.len(), 10_000);
        assert_eq!(a, generate_bytes(42, 10_000));
        assert_ne!(a, generate_bytes(43, 10_000));
        // A shorter file is a prefix of a longer one with the same seed.
        assert_eq!(&generate_bytes(42, 100)[..], &a[..100]);
        let mut vfs = Vfs::new();
        vfs.create_binary_file(&p("/bin/blob"), 1000, 7, 5).unwrap();
        assert_eq!(
            vfs.get_file(&p("/bin/blob")).unwrap(),
            generate_bytes(7, 1000)
        );
        assert_eq!(
            vfs.put_file(&p("/bin"), Bytes::new(), 1),
            Err(VfsError::IsADirectory)
        );
    }
}
