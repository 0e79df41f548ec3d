//! SCP: copying files over SSH, sans-IO.
//!
//! What it is: the classic scp file copy protocol (the one `scp -O`
//! speaks) on a session channel of a real SSH-2 connection
//! ([`crate::proto::ssh`]). OpenSSH's `scp`, `ssh` and `ssh-keyscan`
//! connect to [`ScpServer`]; [`ScpClient`] is the scripted client of the
//! simulation.
//!
//! - [`command`]: the `scp -t` / `scp -f` command line the client runs.
//! - [`rcp`]: the rcp source/sink protocol (`C`, `D`, `E`, `T` records and
//!   `\0`/`\1`/`\2` responses), as OpenSSH's scp speaks it.
//! - [`server::ScpServer`] and [`client::ScpClient`]: the two ends.
//!
//! What it is not: no SFTP (OpenSSH 9's `scp` uses SFTP unless given
//! `-O`), no public key authentication, no shell, no port forwarding, one
//! channel per connection.
//!
//! A typical server transcript, after the key exchange (see
//! [`crate::proto::ssh`]):
//!
//! ```text
//! C: userauth_request alice password (password hidden)
//! S: userauth_success
//! C: channel_open session (window 2097152, packets up to 32768)
//! S: channel_open_confirmation (window 2097152)
//! C: exec "scp -t /uploads"
//! S: channel_success
//! S: \0 (ok)
//! C: C0644 1432 report.pdf
//! S: \0 (ok)
//!    (1432 bytes of report.pdf)
//! C: \0 (ok)
//! S: \0 (ok)
//! C: channel_eof
//! S: exit-status 0
//! S: channel_close
//! C: channel_close
//! ```

pub mod client;
pub mod command;
mod outbox;
pub mod rcp;
pub mod server;

#[cfg(test)]
mod tests;

pub use client::{ReceivedFile, ScpClient, ScpClientConfig, ScpOperation};
pub use command::{Direction, ScpCommand};
pub use rcp::ScpEntry;
pub use server::{ScpBackend, ScpLimits, ScpNode, ScpServer};

/// The well-known port (SSH's, RFC 4253 §4.1).
pub const PORT: u16 = crate::proto::ssh::PORT;

/// The server's states, for the visualizer.
pub const STATES: &[&str] = &[
    "key-exchange",
    "authentication",
    "command",
    "sink",
    "source",
    "closing",
    "closed",
];

/// The server's state diagram: `(from, to, label)`.
pub const TRANSITIONS: &[crate::proto::Transition] = &[
    (
        "key-exchange",
        "authentication",
        "NEWKEYS both ways, service ssh-userauth",
    ),
    (
        "key-exchange",
        "closed",
        "no common algorithm / bad version",
    ),
    (
        "authentication",
        "authentication",
        "wrong password / method none",
    ),
    ("authentication", "command", "password accepted"),
    ("authentication", "closed", "too many failures"),
    ("command", "command", "channel_open session"),
    ("command", "sink", "exec scp -t"),
    ("command", "source", "exec scp -f"),
    (
        "command",
        "closing",
        "exec ls / cat / pwd / unknown: exit-status",
    ),
    ("sink", "sink", "record acknowledged"),
    ("sink", "closing", "EOF: exit-status, channel_close"),
    ("source", "source", "record acknowledged"),
    (
        "source",
        "closing",
        "all sent: EOF, exit-status, channel_close",
    ),
    ("closing", "closed", "client's channel_close"),
    (
        "authentication",
        "closed",
        "bad packet (tampered or replayed)",
    ),
    ("command", "closed", "bad packet (tampered or replayed)"),
    ("sink", "closed", "bad packet (tampered or replayed)"),
    ("source", "closed", "bad packet (tampered or replayed)"),
];

/// The client's states, for the visualizer.
pub const CLIENT_STATES: &[&str] = &[
    "key-exchange",
    "authenticating",
    "opening",
    "sending",
    "receiving",
    "waiting-exit",
    "done",
    "closed",
];

/// The client's state diagram: `(from, to, label)`.
pub const CLIENT_TRANSITIONS: &[crate::proto::Transition] = &[
    (
        "key-exchange",
        "authenticating",
        "host key signature verified: password sent",
    ),
    (
        "key-exchange",
        "closed",
        "host key mismatch / bad signature",
    ),
    (
        "authenticating",
        "opening",
        "userauth_success: channel_open session",
    ),
    ("authenticating", "closed", "authentication failed"),
    ("opening", "sending", "channel open: exec scp -t"),
    ("opening", "receiving", "channel open: exec scp -f"),
    ("opening", "closed", "channel refused"),
    ("sending", "waiting-exit", "all sent: EOF"),
    ("receiving", "waiting-exit", "EOF from server"),
    ("waiting-exit", "done", "exit-status, channel_close"),
    ("sending", "closed", "bad packet / disconnect"),
    ("receiving", "closed", "bad packet / disconnect"),
];
