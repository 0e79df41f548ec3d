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
    "KEY-EXCHANGE",
    "AUTHENTICATION",
    "COMMAND",
    "SINK",
    "SOURCE",
    "CLOSING",
    "CLOSED",
];

/// The server's state diagram: `(from, to, label)`.
pub const TRANSITIONS: &[crate::proto::Transition] = &[
    (
        "KEY-EXCHANGE",
        "AUTHENTICATION",
        "NEWKEYS both ways, service ssh-userauth",
    ),
    (
        "KEY-EXCHANGE",
        "CLOSED",
        "no common algorithm / bad version",
    ),
    (
        "AUTHENTICATION",
        "AUTHENTICATION",
        "wrong password / method none",
    ),
    ("AUTHENTICATION", "COMMAND", "password accepted"),
    ("AUTHENTICATION", "CLOSED", "too many failures"),
    ("COMMAND", "COMMAND", "channel_open session"),
    ("COMMAND", "SINK", "exec scp -t"),
    ("COMMAND", "SOURCE", "exec scp -f"),
    (
        "COMMAND",
        "CLOSING",
        "exec ls / cat / pwd / unknown: exit-status",
    ),
    ("SINK", "SINK", "record acknowledged"),
    ("SINK", "CLOSING", "EOF: exit-status, channel_close"),
    ("SOURCE", "SOURCE", "record acknowledged"),
    (
        "SOURCE",
        "CLOSING",
        "all sent: EOF, exit-status, channel_close",
    ),
    ("CLOSING", "CLOSED", "client's channel_close"),
    (
        "AUTHENTICATION",
        "CLOSED",
        "bad packet (tampered or replayed)",
    ),
    ("COMMAND", "CLOSED", "bad packet (tampered or replayed)"),
    ("SINK", "CLOSED", "bad packet (tampered or replayed)"),
    ("SOURCE", "CLOSED", "bad packet (tampered or replayed)"),
];

/// The client's states, for the visualizer.
pub const CLIENT_STATES: &[&str] = &[
    "KEY-EXCHANGE",
    "AUTHENTICATING",
    "OPENING",
    "SENDING",
    "RECEIVING",
    "WAITING-EXIT",
    "DONE",
    "CLOSED",
];

/// The client's state diagram: `(from, to, label)`.
pub const CLIENT_TRANSITIONS: &[crate::proto::Transition] = &[
    (
        "KEY-EXCHANGE",
        "AUTHENTICATING",
        "host key signature verified: password sent",
    ),
    (
        "KEY-EXCHANGE",
        "CLOSED",
        "host key mismatch / bad signature",
    ),
    (
        "AUTHENTICATING",
        "OPENING",
        "userauth_success: channel_open session",
    ),
    ("AUTHENTICATING", "CLOSED", "authentication failed"),
    ("OPENING", "SENDING", "channel open: exec scp -t"),
    ("OPENING", "RECEIVING", "channel open: exec scp -f"),
    ("OPENING", "CLOSED", "channel refused"),
    ("SENDING", "WAITING-EXIT", "all sent: EOF"),
    ("RECEIVING", "WAITING-EXIT", "EOF from server"),
    ("WAITING-EXIT", "DONE", "exit-status, channel_close"),
    ("SENDING", "CLOSED", "bad packet / disconnect"),
    ("RECEIVING", "CLOSED", "bad packet / disconnect"),
];
