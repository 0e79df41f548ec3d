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

/// The client's state names (see [`client::STATES`]).
pub use client::STATES as CLIENT_STATES;
/// The client's state diagram (see [`client::TRANSITIONS`]).
pub use client::TRANSITIONS as CLIENT_TRANSITIONS;
pub use client::{ReceivedFile, ScpClient, ScpClientConfig, ScpOperation};
pub use command::{Direction, ScpCommand};
pub use rcp::{ScpEntry, WriteError};
/// The server's state names (see [`server::STATES`]).
pub use server::STATES;
/// The server's state diagram (see [`server::TRANSITIONS`]).
pub use server::TRANSITIONS;
pub use server::{ScpBackend, ScpLimits, ScpNode, ScpServer};

/// The well-known port (SSH's, RFC 4253 §4.1).
pub const PORT: u16 = crate::proto::ssh::PORT;
