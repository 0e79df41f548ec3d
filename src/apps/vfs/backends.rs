//! The tree as the file servers' protocol machines see it: the FTP
//! server's [`FtpBackend`](crate::proto::ftp::FtpBackend) (paths relative
//! to the session's working directory, errors as FTP reply classes) and
//! the TELNET shell's, which is the same.
//!
//! Not here: HTTP's and SCP's views (the file server application builds
//! them, see `apps::files::server::views`).

use bytes::Bytes;

use super::{EntryKind, Metadata, VPath, Vfs, VfsError};
use crate::proto::ftp::{FileError, FileInfo, FileKind};

// ----- the FTP server's view of the file system -----

impl From<VfsError> for FileError {
    fn from(e: VfsError) -> FileError {
        match e {
            VfsError::NotFound => FileError::NotFound,
            VfsError::NotADirectory => FileError::NotADirectory,
            VfsError::IsADirectory => FileError::IsADirectory,
            VfsError::Exists => FileError::Exists,
            VfsError::NotEmpty => FileError::NotEmpty,
            VfsError::PermissionDenied => FileError::PermissionDenied,
            VfsError::QuotaExceeded => FileError::QuotaExceeded,
            VfsError::InvalidPath => FileError::InvalidPath,
        }
    }
}

fn file_info(meta: Metadata) -> FileInfo {
    FileInfo {
        name: meta.name,
        kind: match meta.kind {
            EntryKind::File => FileKind::File,
            EntryKind::Directory => FileKind::Directory,
        },
        size: meta.size,
        mtime: meta.mtime,
    }
}

/// The FTP server's paths are the text the client typed plus the session's
/// current directory; they are resolved here, in the user's view.
fn ftp_path(cwd: &str, path: &str) -> Result<VPath, VfsError> {
    VPath::parse(cwd)?.resolve(path)
}

// The trait is named in full rather than imported so that, in this file,
// `self.read(..)` and friends always mean the inherent methods above.
impl crate::proto::ftp::FtpBackend for Vfs {
    fn authenticate(&mut self, user: &str, password: &str) -> bool {
        self.check_password(user, password)
    }

    fn change_dir(&mut self, user: &str, cwd: &str, path: &str) -> Result<String, FileError> {
        let dir = ftp_path(cwd, path)?;
        match Vfs::stat(self, user, &dir)?.kind {
            EntryKind::Directory => Ok(dir.to_string()),
            EntryKind::File => Err(FileError::NotADirectory),
        }
    }

    fn stat(&mut self, user: &str, cwd: &str, path: &str) -> Result<FileInfo, FileError> {
        Ok(file_info(Vfs::stat(self, user, &ftp_path(cwd, path)?)?))
    }

    fn list(&mut self, user: &str, cwd: &str, path: &str) -> Result<Vec<FileInfo>, FileError> {
        let target = ftp_path(cwd, path)?;
        let meta = Vfs::stat(self, user, &target)?;
        if meta.kind == EntryKind::File {
            return Ok(vec![file_info(meta)]);
        }
        Ok(Vfs::list(self, user, &target)?
            .into_iter()
            .map(file_info)
            .collect())
    }

    fn read(&mut self, user: &str, cwd: &str, path: &str) -> Result<Bytes, FileError> {
        Ok(Vfs::read(self, user, &ftp_path(cwd, path)?)?)
    }

    fn check_write(&mut self, user: &str, cwd: &str, path: &str) -> Result<(), FileError> {
        Ok(Vfs::check_write(self, user, &ftp_path(cwd, path)?)?)
    }

    fn write(
        &mut self,
        user: &str,
        cwd: &str,
        path: &str,
        data: Bytes,
        now_unix: i64,
    ) -> Result<(), FileError> {
        Ok(Vfs::write(
            self,
            user,
            &ftp_path(cwd, path)?,
            data,
            now_unix,
        )?)
    }

    fn append(
        &mut self,
        user: &str,
        cwd: &str,
        path: &str,
        data: &[u8],
        now_unix: i64,
    ) -> Result<(), FileError> {
        Ok(Vfs::append(
            self,
            user,
            &ftp_path(cwd, path)?,
            data,
            now_unix,
        )?)
    }

    fn make_dir(
        &mut self,
        user: &str,
        cwd: &str,
        path: &str,
        now_unix: i64,
    ) -> Result<String, FileError> {
        let dir = ftp_path(cwd, path)?;
        self.mkdir(user, &dir, now_unix)?;
        Ok(dir.to_string())
    }

    fn remove_dir(
        &mut self,
        user: &str,
        cwd: &str,
        path: &str,
        now_unix: i64,
    ) -> Result<(), FileError> {
        Ok(self.rmdir(user, &ftp_path(cwd, path)?, now_unix)?)
    }

    fn delete(
        &mut self,
        user: &str,
        cwd: &str,
        path: &str,
        now_unix: i64,
    ) -> Result<(), FileError> {
        Ok(Vfs::delete(self, user, &ftp_path(cwd, path)?, now_unix)?)
    }

    fn rename(
        &mut self,
        user: &str,
        cwd: &str,
        from: &str,
        to: &str,
        now_unix: i64,
    ) -> Result<(), FileError> {
        let (from, to) = (ftp_path(cwd, from)?, ftp_path(cwd, to)?);
        Ok(Vfs::rename(self, user, &from, &to, now_unix)?)
    }

    fn is_read_only(&mut self, user: &str) -> bool {
        self.account(user).is_none_or(|a| a.read_only)
    }
}

// ----- the TELNET shell's view: the same as FTP's -----

impl crate::proto::telnet::TelnetBackend for Vfs {
    fn check_password(&mut self, user: &str, password: &str) -> bool {
        Vfs::check_password(self, user, password)
    }

    fn list(&mut self, user: &str, cwd: &str, path: &str) -> Result<Vec<FileInfo>, FileError> {
        crate::proto::ftp::FtpBackend::list(self, user, cwd, path)
    }

    fn read(&mut self, user: &str, cwd: &str, path: &str) -> Result<Bytes, FileError> {
        crate::proto::ftp::FtpBackend::read(self, user, cwd, path)
    }

    fn change_dir(&mut self, user: &str, cwd: &str, path: &str) -> Result<String, FileError> {
        crate::proto::ftp::FtpBackend::change_dir(self, user, cwd, path)
    }
}

#[cfg(test)]
mod tests {
    use super::super::Account;
    use super::*;
    use crate::proto::ftp::FtpBackend;
    use crate::proto::telnet::TelnetBackend;

    fn vfs() -> Vfs {
        let mut vfs = Vfs::new();
        let home = VPath::parse("/home/alice").unwrap();
        vfs.add_user("alice", Account::new("wonderland", home), 100)
            .unwrap();
        vfs.create_text_file(&VPath::parse("/home/alice/pub/a.txt").unwrap(), "hi\n", 200)
            .unwrap();
        vfs
    }

    #[test]
    fn ftp_paths_are_relative_to_the_working_directory() {
        let mut v = vfs();
        assert_eq!(
            FtpBackend::change_dir(&mut v, "alice", "/", "pub"),
            Ok("/pub".into())
        );
        let info = FtpBackend::stat(&mut v, "alice", "/pub", "a.txt").unwrap();
        assert_eq!((info.kind, info.size, info.mtime), (FileKind::File, 3, 200));
        // `..` above the home stays in it.
        assert_eq!(
            FtpBackend::change_dir(&mut v, "alice", "/pub", "../../.."),
            Ok("/".into())
        );
        assert_eq!(
            FtpBackend::change_dir(&mut v, "alice", "/pub", "a.txt"),
            Err(FileError::NotADirectory)
        );
    }

    #[test]
    fn listing_a_file_lists_just_that_file() {
        let mut v = vfs();
        let names = |l: Vec<FileInfo>| l.into_iter().map(|i| i.name).collect::<Vec<_>>();
        assert_eq!(
            names(FtpBackend::list(&mut v, "alice", "/", "pub").unwrap()),
            ["a.txt"]
        );
        assert_eq!(
            names(FtpBackend::list(&mut v, "alice", "/pub", "a.txt").unwrap()),
            ["a.txt"]
        );
        assert_eq!(
            FtpBackend::list(&mut v, "alice", "/", "nothing"),
            Err(FileError::NotFound)
        );
    }

    #[test]
    fn the_telnet_shell_sees_what_ftp_sees() {
        let mut v = vfs();
        assert!(TelnetBackend::check_password(&mut v, "alice", "wonderland"));
        assert_eq!(
            TelnetBackend::read(&mut v, "alice", "/pub", "a.txt"),
            Ok(Bytes::from_static(b"hi\n"))
        );
        assert_eq!(
            FileError::from(VfsError::QuotaExceeded),
            FileError::QuotaExceeded
        );
    }
}
