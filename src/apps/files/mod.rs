//! File transfer applications: a file server speaking FTP, HTTP, SCP and
//! TELNET from one [`Vfs`](super::vfs::Vfs), and the clients that use it.
//!
//! - [`FileServer`]: FTP on port 21 (with its data connections: active ones
//!   opened *from port 20* to the address of the client's PORT/EPRT,
//!   passive ones accepted on a listener of the server's own), and, when
//!   asked, HTTP on 80, SCP on 22 and TELNET on 23 over the same files.
//! - [`FtpUser`]: runs a scripted FTP session ([`FtpClient`]) in active or
//!   passive mode and keeps what it downloaded, listed and was answered.
//! - [`WebClient`]: `GET`s a list of paths over one persistent HTTP
//!   connection.
//! - [`ScpUser`]: one `scp` upload or download with a user and password.
//! - [`TelnetUser`]: a person at a terminal: logs in with TELNET, types
//!   shell commands one key at a time, and logs out.
//!
//! The lesson these applications make visible in the trace: FTP keeps one
//! *control connection* open for the whole session, while every LIST, RETR
//! and STOR moves its bytes on a *new data connection*
//! (`{"layer":"ftp","event":"data_opened",...}` names who opened it and
//! from which port). HTTP fetches the same file on the one connection it
//! already has, and SCP's bytes are ciphertext to anyone on the link. TELNET, by
//! contrast, carries even the password in the clear, one keystroke per
//! segment.
//!
//! These applications only carry bytes between the simulated network and the
//! sans-IO machines of [`crate::proto`]; what a command means is decided
//! there. What is not here: FTP over TLS, HTTP uploads, SCP recursion from
//! scenarios (the machines support it; the scenario format does not ask).
//!
//! [`FtpClient`]: crate::proto::ftp::FtpClient

pub mod events;
mod ftp_user;
mod scp_user;
mod server;
mod telnet_user;
mod web;

pub use ftp_user::{FtpSessionResult, FtpUser};
pub use scp_user::{ScpResult, ScpUser};
pub use server::{FileServer, FileServerConfig, FileTls, FtpSessionView, ScpView, WebView};
pub use telnet_user::{KEYSTROKE_INTERVAL, TelnetResult, TelnetUser};
pub use web::{WebClient, WebResult};

use crate::net::{AppCx, ConnId};
use crate::proto::telnet::{Side, TelnetEvent, option_name};
use crate::sim::SimDuration;
use crate::trace::{EventKind, Protocol, Value};
use bytes::Bytes;
use sha2::{Digest, Sha256};

/// How long a data connection may take to open (an active connect that a
/// firewall silently drops, a passive listener nobody connects to) before
/// it is given up: the FTP server then answers 425.
pub const DATA_TIMEOUT: SimDuration = SimDuration::from_secs(10);

/// The ports the server's passive-mode listeners use. Like vsftpd's
/// `pasv_min_port`/`pasv_max_port`, a fixed range keeps the listeners apart
/// from the ports the host's own outgoing connections take (49152 and up).
pub const PASSIVE_PORTS: (u16, u16) = (40000, 40999);

/// The ports a client's active-mode listeners use, for the same reason.
pub const ACTIVE_PORTS: (u16, u16) = (45000, 45999);

/// The states of a data connection as an application sees it, for the
/// visualizer (the FTP machines' own diagrams are in [`crate::proto::ftp`]).
pub const DATA_STATES: &[&str] = &["LISTENING", "CONNECTING", "OPEN", "CLOSING"];

/// The data connection's diagram: `(from, to, label)`.
pub const DATA_TRANSITIONS: &[crate::proto::Transition] = &[
    (
        "LISTENING",
        "OPEN",
        "peer connected (passive: server; active: client)",
    ),
    ("CONNECTING", "OPEN", "SYN-ACK: connected"),
    ("CONNECTING", "CLOSING", "refused or timed out: 425"),
    ("LISTENING", "CLOSING", "nobody connected in time: 425"),
    ("OPEN", "CLOSING", "end of file: FIN"),
];

/// A file a client application received, whichever protocol brought it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Download {
    /// `ftp`, `http` or `scp`.
    pub via: &'static str,
    /// The name as requested (`report.txt`, `/alice/report.txt`).
    pub name: String,
    pub data: Bytes,
    /// Hex SHA-256 of `data`.
    pub sha256: String,
}

impl Download {
    pub fn new(via: &'static str, name: &str, data: Bytes) -> Download {
        Download {
            via,
            name: name.to_string(),
            sha256: sha256_hex(&data),
            data,
        }
    }

    /// True if `name` is this download's name or its last component
    /// (`report.txt` matches `/alice/report.txt` and `docs/report.txt`).
    pub fn is_called(&self, name: &str) -> bool {
        self.name == name || self.name.rsplit(['/', '\\']).next() == Some(name)
    }

    /// Traces the download: `{"layer":"app","event":"downloaded",...}`
    /// with how it came, its name, size and SHA-256.
    fn trace(&self, cx: &mut AppCx<'_>) {
        cx.emit(
            &events::DOWNLOADED,
            vec![
                ("via", self.via.into()),
                ("name", self.name.clone().into()),
                ("bytes", self.data.len().into()),
                ("sha256", self.sha256.clone().into()),
            ],
        );
    }
}

/// Hex SHA-256 of `data`.
pub fn sha256_hex(data: &[u8]) -> String {
    super::tcp::hex(&Sha256::digest(data))
}

/// Content of a file a scenario declares by size: pseudo-random bytes that
/// depend only on the path and the size, so that a scenario's checks (and
/// its hashes) stay the same whatever seed the run uses.
pub fn generated_content(path: &str, size: usize) -> Bytes {
    super::vfs::generate_bytes(crate::proto::fnv1a(path.as_bytes()), size)
}

/// A TELNET server's event as the trace records it (layer `telnet`):
/// its kind and fields, but for `client`, which the caller puts first. The
/// simulated server and the live mode record the same.
pub fn telnet_event(event: &TelnetEvent) -> (&'static EventKind, Vec<(&'static str, Value)>) {
    let user = |u: &str| ("user", Value::from(u));
    match event {
        TelnetEvent::Negotiated {
            option,
            side,
            result,
        } => (
            &events::TELNET_NEGOTIATED,
            vec![
                ("option", option_name(*option).into()),
                (
                    "side",
                    match side {
                        Side::Local => "server",
                        Side::Remote => "client",
                    }
                    .into(),
                ),
                ("result", result.name().into()),
            ],
        ),
        TelnetEvent::Login { user: u } => (&events::TELNET_LOGIN, vec![user(u)]),
        TelnetEvent::PasswordPrompt { user: u } => (&events::TELNET_PASSWORD_PROMPT, vec![user(u)]),
        TelnetEvent::LoginOk { user: u } => (&events::TELNET_LOGIN_OK, vec![user(u)]),
        TelnetEvent::LoginFailed { user: u, attempts } => (
            &events::TELNET_LOGIN_FAILED,
            vec![user(u), ("attempts", (*attempts).into())],
        ),
        TelnetEvent::Command {
            user: u,
            line,
            status,
        } => (
            &events::TELNET_SHELL_COMMAND,
            vec![
                user(u),
                ("command", line.as_str().into()),
                ("status", (*status).into()),
            ],
        ),
        TelnetEvent::Logout { user: u } => (&events::TELNET_LOGOUT, vec![user(u)]),
    }
}

/// Listens on the first free port of `range`, starting at `*next` and
/// wrapping around; `*next` moves past the port taken.
fn listen_in_range(cx: &mut AppCx<'_>, range: (u16, u16), next: &mut u16) -> Option<u16> {
    let (low, high) = range;
    let count = u32::from(high.saturating_sub(low)) + 1;
    for _ in 0..count {
        let port = if (low..=high).contains(next) {
            *next
        } else {
            low
        };
        *next = if port >= high { low } else { port + 1 };
        if cx.listen(port, Protocol::FtpData).is_ok() {
            return Some(port);
        }
    }
    None
}

/// Timers by purpose: each one carries a token that maps to what it was
/// for. A timer that is no longer needed is cancelled (so it does not keep
/// the run going); one that fires anyway after its data connection moved
/// on is recognised as stale by its generation.
#[derive(Debug)]
struct Timers<T> {
    next: u64,
    pending: std::collections::BTreeMap<u64, T>,
}

impl<T> Default for Timers<T> {
    fn default() -> Self {
        Timers {
            next: 0,
            pending: std::collections::BTreeMap::new(),
        }
    }
}

impl<T> Timers<T> {
    /// Sets a timer; the token identifies it for [`Timers::cancel`].
    fn set(&mut self, cx: &mut AppCx<'_>, delay: SimDuration, what: T) -> u64 {
        let token = self.next;
        self.next += 1;
        self.pending.insert(token, what);
        cx.set_timer(delay, token);
        token
    }

    /// What a fired timer was for (`None` if it was cancelled).
    fn take(&mut self, token: u64) -> Option<T> {
        self.pending.remove(&token)
    }

    /// Cancels the timer `token`, if it is still pending.
    fn cancel(&mut self, cx: &mut AppCx<'_>, token: Option<u64>) {
        if let Some(token) = token
            && self.pending.remove(&token).is_some()
        {
            cx.cancel_timer(token);
        }
    }

    fn clear(&mut self) {
        self.pending.clear();
    }
}

/// Where an application's end of a data connection is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DataConn {
    None,
    /// Waiting on a listener for the peer to connect.
    Listening {
        port: u16,
    },
    /// Our SYN is out.
    Connecting {
        conn: ConnId,
    },
    /// Bytes may flow.
    Open {
        conn: ConnId,
    },
    /// We closed (or the peer did and we answered); waiting for the end.
    Closing {
        conn: ConnId,
    },
}

impl DataConn {
    fn conn(self) -> Option<ConnId> {
        match self {
            DataConn::Connecting { conn }
            | DataConn::Open { conn }
            | DataConn::Closing { conn } => Some(conn),
            DataConn::None | DataConn::Listening { .. } => None,
        }
    }

    fn state_name(self) -> Option<&'static str> {
        match self {
            DataConn::None => None,
            DataConn::Listening { .. } => Some("LISTENING"),
            DataConn::Connecting { .. } => Some("CONNECTING"),
            DataConn::Open { .. } => Some("OPEN"),
            DataConn::Closing { .. } => Some("CLOSING"),
        }
    }
}

#[cfg(test)]
mod tests;
