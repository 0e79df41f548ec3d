//! The file tree as the HTTP and SCP machines see it: [`WebView`] serves
//! the web root read-only to anyone (no accounts, no state between
//! requests), [`ScpView`] is one SCP user's tree with their home as `/`,
//! as for FTP. The live mode serves real clients through both.

use crate::apps::vfs::{EntryKind, VPath, Vfs, VfsError};
use crate::proto::http::HttpBackend;
use crate::proto::scp::{ScpBackend, ScpNode, WriteError};
use bytes::Bytes;
use std::cell::RefCell;

/// The part of the tree HTTP serves: no accounts, no login, no state
/// between requests. `/report.txt` is `web_root/report.txt`.
pub struct WebView<'a> {
    pub vfs: &'a Vfs,
    pub root: &'a VPath,
}

impl HttpBackend for WebView<'_> {
    fn read_file(&self, path: &str) -> Option<Bytes> {
        // The machine hands over a normalised path; parsing it again keeps
        // even a bad one inside the web root.
        let relative = VPath::parse(path).ok()?;
        let mut global = self.root.clone();
        for part in relative.components() {
            global = global.join(part);
        }
        self.vfs.get_file(&global).ok()
    }

    fn modified(&self, path: &str) -> Option<i64> {
        let relative = VPath::parse(path).ok()?;
        let mut global = self.root.clone();
        for part in relative.components() {
            global = global.join(part);
        }
        self.vfs.metadata(&global).map(|m| m.mtime)
    }
}

/// One SCP user's view of the tree: their home is `/`, as for FTP. The
/// live mode serves real `scp` and `ssh` clients through it too.
pub struct ScpView<'a> {
    vfs: &'a mut Vfs,
    /// The authenticated user: set by a successful password check during
    /// the same input (a client may pipeline `exec` behind its password).
    user: RefCell<Option<String>>,
    now: i64,
    pub(super) stored: Vec<VPath>,
}

impl<'a> ScpView<'a> {
    /// The view of `user` (`None` until a password check succeeds).
    pub fn new(vfs: &'a mut Vfs, user: Option<String>, now: i64) -> ScpView<'a> {
        ScpView {
            vfs,
            user: RefCell::new(user),
            now,
            stored: Vec::new(),
        }
    }

    fn user(&self) -> Option<String> {
        self.user.borrow().clone()
    }

    /// Files written through the view, in order.
    pub fn stored(&self) -> &[VPath] {
        &self.stored
    }
}

/// The error scp reports for a file system error.
fn scp_error(e: VfsError) -> WriteError {
    match e {
        VfsError::NotFound => WriteError::NotFound,
        VfsError::NotADirectory => WriteError::NotADirectory,
        VfsError::IsADirectory => WriteError::IsADirectory,
        VfsError::Exists => WriteError::Exists,
        VfsError::NotEmpty => WriteError::NotEmpty,
        VfsError::PermissionDenied => WriteError::PermissionDenied,
        VfsError::QuotaExceeded => WriteError::QuotaExceeded,
        VfsError::InvalidPath => WriteError::InvalidPath,
    }
}

impl ScpBackend for ScpView<'_> {
    fn check_password(&self, user: &str, password: &str) -> bool {
        let ok = self.vfs.check_password(user, password);
        if ok {
            *self.user.borrow_mut() = Some(user.to_string());
        }
        ok
    }

    fn lookup(&self, path: &str) -> Option<ScpNode> {
        let user = self.user()?;
        let path = VPath::parse(path).ok()?;
        let meta = Vfs::stat(self.vfs, &user, &path).ok()?;
        let read_only = self.vfs.account(&user).is_some_and(|a| a.read_only);
        match meta.kind {
            EntryKind::File => Some(ScpNode::File {
                data: Vfs::read(self.vfs, &user, &path).ok()?,
                mode: if read_only { 0o444 } else { 0o644 },
                mtime: Some(meta.mtime),
            }),
            EntryKind::Directory => Some(ScpNode::Dir {
                mode: if read_only { 0o555 } else { 0o755 },
                mtime: Some(meta.mtime),
                entries: Vfs::list(self.vfs, &user, &path)
                    .ok()?
                    .into_iter()
                    .map(|m| m.name)
                    .collect(),
            }),
        }
    }

    fn write_file(
        &mut self,
        path: &str,
        data: Bytes,
        _mode: u32,
        mtime: Option<i64>,
    ) -> Result<(), WriteError> {
        let user = self
            .user()
            .ok_or_else(|| scp_error(VfsError::PermissionDenied))?;
        let path = VPath::parse(path).map_err(scp_error)?;
        let when = mtime.unwrap_or(self.now);
        Vfs::write(self.vfs, &user, &path, data, when).map_err(scp_error)?;
        if let Some(global) = self.vfs.global_path(&user, &path) {
            self.stored.push(global);
        }
        Ok(())
    }

    fn make_dir(&mut self, path: &str, _mode: u32) -> Result<(), WriteError> {
        let user = self
            .user()
            .ok_or_else(|| scp_error(VfsError::PermissionDenied))?;
        let path = VPath::parse(path).map_err(scp_error)?;
        self.vfs.mkdir(&user, &path, self.now).map_err(scp_error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vfs() -> Vfs {
        let mut vfs = Vfs::new();
        let home = VPath::parse("/alice").unwrap();
        vfs.add_user("alice", crate::apps::vfs::Account::new("pw", home), 0)
            .unwrap();
        vfs.create_text_file(&VPath::parse("/www/index.html").unwrap(), "hi\n", 7)
            .unwrap();
        vfs.create_text_file(&VPath::parse("/alice/secret.txt").unwrap(), "s\n", 0)
            .unwrap();
        vfs
    }

    #[test]
    fn the_web_root_is_all_http_sees() {
        let vfs = vfs();
        let root = VPath::parse("/www").unwrap();
        let web = WebView {
            vfs: &vfs,
            root: &root,
        };
        assert_eq!(web.read_file("/index.html").as_deref(), Some(&b"hi\n"[..]));
        assert_eq!(web.modified("/index.html"), Some(7));
        assert_eq!(web.read_file("/../alice/secret.txt"), None);
        assert_eq!(web.read_file("/alice/secret.txt"), None);
    }

    #[test]
    fn scp_sees_the_user_home_after_the_password() {
        let mut vfs = vfs();
        let mut view = ScpView::new(&mut vfs, None, 100);
        assert!(view.lookup("/secret.txt").is_none());
        assert!(
            view.write_file("/x", Bytes::from_static(b"x"), 0o644, None)
                .is_err()
        );
        assert!(!view.check_password("alice", "wrong"));
        assert!(view.check_password("alice", "pw"));
        assert!(matches!(
            view.lookup("/secret.txt"),
            Some(ScpNode::File { mode: 0o644, .. })
        ));
        view.write_file("/new.txt", Bytes::from_static(b"n"), 0o644, None)
            .unwrap();
        assert_eq!(view.stored(), &[VPath::parse("/alice/new.txt").unwrap()]);
        assert_eq!(
            view.write_file("/secret.txt/x", Bytes::new(), 0o644, None),
            Err(WriteError::NotADirectory)
        );
        // scp prints the C library's words for it.
        assert_eq!(WriteError::NotADirectory.to_string(), "Not a directory");
    }
}
