//! FTP, the File Transfer Protocol (RFC 959, with EPRT/EPSV from RFC 2428
//! and SIZE, MDTM, REST STREAM from RFC 3659): a sans-IO server and a
//! scripted sans-IO client.
//!
//! FTP uses two kinds of TCP connection, as the textbook insists. The
//! *control connection* (to port 21) carries commands and replies and stays
//! open for the whole session; user, current directory and transfer type
//! are state the server keeps for it. Every LIST, NLST, RETR, STOR and APPE
//! moves its bytes on a *new data connection*, which ends when the
//! transfer does (closing it marks the end of a file in stream mode).
//!
//! Who opens the data connection depends on the mode:
//!
//! - **Active** (PORT, or EPRT): the client listens and says where; the
//!   server connects to it (from its port 20) when a transfer starts. A
//!   firewall in front of the client typically blocks that connection: the
//!   server then answers 425.
//! - **Passive** (PASV, or EPSV): the server listens and says where
//!   (227 or 229); the client connects. Python's ftplib and curl connect
//!   right after the 227/229, before sending RETR, so the connection is
//!   usually already open when the transfer command arrives (reply 125);
//!   if not, the server answers 150 and waits for it.
//!
//! # The data-connection interface
//!
//! The machines own no sockets, so both hand out [`DataRequest`]s through
//! `poll_data_request()` and are told what happened through
//! `handle_data_connected`, `handle_data_failed`, `handle_data_input`,
//! `handle_data_closed` and `handle_data_sent`. Listening is the one thing
//! that must be synchronous (the 227 reply contains the address), so it is
//! asked of a [`DataPorts`] passed into the `handle_*` calls. Each session
//! has at most one data connection or listener at a time.
//!
//! ABOR is the one command answered while a transfer runs (426, then 226);
//! other commands wait and are answered in order after the transfer's
//! final reply. Python's ftplib sends ABOR as TCP urgent data, so a live
//! driver should keep urgent data inline (`SO_OOBINLINE`); the server copes
//! anyway with the `ABOR\r` that arrives when the stack drops the LF.
//!
//! MLSD and MLST (RFC 3659 §7) give machine-readable listings with the
//! facts type, size, modify, perm and unique.
//!
//! What is not here: anonymous login, TLS (RFC 4217), IPv6 addresses,
//! MODE B/C, STRU R/P, STOU, SITE, STAT, OPTS MLST (the fact set is
//! fixed). They answer 502 or 504.

pub mod ascii;
pub mod client;
pub mod codes;
pub mod command;
pub mod reply;
pub mod server;

#[cfg(test)]
mod tests;

use std::net::SocketAddrV4;

use bytes::Bytes;

/// The client's state names (see [`client::STATES`]).
pub use client::STATES as CLIENT_STATES;
/// The client's state diagram (see [`client::TRANSITIONS`]).
pub use client::TRANSITIONS as CLIENT_TRANSITIONS;
pub use client::{DataMode, FtpClient, FtpClientConfig, Step, StepOutcome};
pub use reply::Reply;
/// The server's state names (see [`server::STATES`]).
pub use server::STATES;
/// The server's state diagram (see [`server::TRANSITIONS`]).
pub use server::TRANSITIONS;
pub use server::{FtpServer, FtpServerConfig};

/// The well-known control port (RFC 959 §3.2 calls it L).
pub const CONTROL_PORT: u16 = 21;
/// The server's active-mode data port, L-1 (RFC 959 §3.2).
pub const DATA_PORT: u16 = 20;

/// What a machine asks its driver to do with the data connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DataRequest {
    /// Open a TCP connection to `to` (the server does this in active mode,
    /// from its port 20; the client in passive mode). Report the outcome
    /// with `handle_data_connected` or `handle_data_failed`.
    Connect { to: SocketAddrV4 },
    /// Send these bytes on the open data connection.
    Send(Bytes),
    /// Close the data connection once every byte sent so far is delivered,
    /// then report `handle_data_sent`. In stream mode this close is what
    /// tells the receiver that the file is complete (RFC 959 §3.4.1).
    Close,
    /// Drop the data connection and any listener now, discarding unsent
    /// bytes (ABOR, QUIT, a failed transfer). No report is expected.
    Abort,
}

/// The one synchronous service a machine needs from its driver.
pub trait DataPorts {
    /// Opens a listening socket for one incoming data connection and returns
    /// the address to advertise (in the 227/229 reply on the server, in
    /// PORT/EPRT on the client), or `None` if no port could be opened. The
    /// listener replaces any listener or idle data connection the session
    /// already had. The driver accepts one connection on it and reports it
    /// with `handle_data_connected`.
    fn open_listener(&mut self) -> Option<SocketAddrV4>;
}

/// TYPE A or TYPE I (RFC 959 §3.1.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TransferType {
    /// ASCII: lines end in CRLF on the wire, LF in the store.
    #[default]
    Ascii,
    /// Image (binary): bytes are sent unchanged.
    Image,
}

/// What a directory entry is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    File,
    Directory,
}

/// One entry as the server lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileInfo {
    pub name: String,
    pub kind: FileKind,
    /// Bytes of content (0 for a directory).
    pub size: u64,
    /// Last modification, Unix seconds.
    pub mtime: i64,
}

/// Why a file operation failed; the server maps each to a reply code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum FileError {
    #[error("No such file or directory")]
    NotFound,
    #[error("Not a directory")]
    NotADirectory,
    #[error("Is a directory")]
    IsADirectory,
    #[error("File exists")]
    Exists,
    #[error("Directory not empty")]
    NotEmpty,
    #[error("Permission denied")]
    PermissionDenied,
    #[error("Quota exceeded")]
    QuotaExceeded,
    #[error("Invalid file name")]
    InvalidPath,
}

/// What the server needs from the world: accounts and a file system as each
/// user sees it. Paths are given as the client typed them together with the
/// session's current directory (`cwd`, always an absolute path in the
/// user's view such as `/pub`); the backend resolves and normalises them and
/// must keep every user inside the user's own root. `crate::apps::vfs::Vfs`
/// implements this.
pub trait FtpBackend {
    /// USER/PASS: true if the password is right for the user.
    fn authenticate(&mut self, user: &str, password: &str) -> bool;
    /// CWD: the normalised absolute path of `path` if it is a directory.
    fn change_dir(&mut self, user: &str, cwd: &str, path: &str) -> Result<String, FileError>;
    /// SIZE, MDTM, RNFR: the entry at `path`.
    fn stat(&mut self, user: &str, cwd: &str, path: &str) -> Result<FileInfo, FileError>;
    /// LIST, NLST: a directory's entries sorted by name, or the file itself.
    fn list(&mut self, user: &str, cwd: &str, path: &str) -> Result<Vec<FileInfo>, FileError>;
    /// RETR: a file's content.
    fn read(&mut self, user: &str, cwd: &str, path: &str) -> Result<Bytes, FileError>;
    /// STOR, APPE before the upload: could `path` be written (quota aside)?
    fn check_write(&mut self, user: &str, cwd: &str, path: &str) -> Result<(), FileError>;
    /// STOR after the upload: create or replace the file.
    fn write(
        &mut self,
        user: &str,
        cwd: &str,
        path: &str,
        data: Bytes,
        now_unix: i64,
    ) -> Result<(), FileError>;
    /// APPE after the upload: append, creating the file if missing.
    fn append(
        &mut self,
        user: &str,
        cwd: &str,
        path: &str,
        data: &[u8],
        now_unix: i64,
    ) -> Result<(), FileError>;
    /// MKD: create a directory; returns its normalised absolute path.
    fn make_dir(
        &mut self,
        user: &str,
        cwd: &str,
        path: &str,
        now_unix: i64,
    ) -> Result<String, FileError>;
    /// RMD: remove an empty directory.
    fn remove_dir(
        &mut self,
        user: &str,
        cwd: &str,
        path: &str,
        now_unix: i64,
    ) -> Result<(), FileError>;
    /// DELE: delete a file.
    fn delete(&mut self, user: &str, cwd: &str, path: &str, now_unix: i64)
    -> Result<(), FileError>;
    /// RNFR/RNTO: rename or move.
    fn rename(
        &mut self,
        user: &str,
        cwd: &str,
        from: &str,
        to: &str,
        now_unix: i64,
    ) -> Result<(), FileError>;
    /// True if the user may not change anything (shown in LIST permissions).
    fn is_read_only(&mut self, user: &str) -> bool;
}
