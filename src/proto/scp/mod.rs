//! SCP: copying files over an encrypted, authenticated channel, sans-IO.
//!
//! What it is: a small secure-shell-like transport with real cryptography
//! and, on top of it, the classic scp file copy protocol.
//!
//! - [`channel`]: X25519 key exchange, HKDF-SHA256 key derivation and
//!   ChaCha20-Poly1305 sealed records. What crosses the link after the two
//!   hellos is real ciphertext: a passive eavesdropper sees record lengths
//!   and random-looking bytes, never the password or the files; a tampered
//!   or replayed record closes the channel.
//! - [`message`]: the messages inside records, numbered as in SSH
//!   (password authentication, `exec`, channel data, EOF, exit status).
//! - [`command`]: the `scp -t` / `scp -f` command line the client runs.
//! - [`rcp`]: the rcp source/sink protocol (`C`, `D`, `E`, `T` records and
//!   `\0`/`\1`/`\2` responses), as OpenSSH's scp speaks it.
//! - [`server::ScpServer`] and [`client::ScpClient`]: the two ends.
//!
//! What it is not: it is **not wire-compatible with OpenSSH**. The
//! transport borrows SSH's structure (RFC 4253, 4252, 4254) but not its
//! byte layout: no algorithm negotiation, no signatures (the server proves
//! its host key by a second Diffie-Hellman instead), no rekeying, no
//! compression, one channel per connection, no SFTP. A real `ssh` or `scp`
//! cannot connect to it; the rcp layer, though, is byte for byte the one
//! real scp uses.
//!
//! A typical server transcript:
//!
//! ```text
//! S: WTSCP-1.0-wiretale (X25519 key 3f2a9c01..., host key 8d41e2aa07b3c951)
//! C: WTSCP-1.0-wiretale (X25519 key 77e0b5c2...)
//!    key exchange X25519: keys derived with HKDF-SHA256
//!    channel encrypted with ChaCha20-Poly1305
//! C: auth password user alice (password hidden)
//! S: user alice authenticated
//! C: exec scp -t /uploads
//! S: \0 (ok)
//! C: C0644 1432 report.pdf
//! S: \0 (ok)
//!    (1432 bytes of report.pdf)
//! C: \0 (ok)
//! S: \0 (ok)
//! S: exit-status 0
//! ```

pub mod channel;
pub mod client;
pub mod command;
pub mod message;
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
pub const PORT: u16 = 22;

/// The server's states, for the visualizer.
pub const STATES: &[&str] = &[
    "key-exchange",
    "authentication",
    "command",
    "sink",
    "source",
    "closed",
];

/// The server's state diagram: `(from, to, label)`.
pub const TRANSITIONS: &[crate::proto::Transition] = &[
    (
        "key-exchange",
        "authentication",
        "hellos exchanged, keys derived",
    ),
    ("key-exchange", "closed", "protocol mismatch / weak key"),
    ("authentication", "authentication", "wrong password"),
    ("authentication", "command", "password accepted"),
    ("authentication", "closed", "too many failures"),
    ("command", "sink", "exec scp -t"),
    ("command", "source", "exec scp -f"),
    ("command", "closed", "unknown command: exit-status 127"),
    ("sink", "sink", "record acknowledged"),
    ("sink", "closed", "EOF: exit-status"),
    ("source", "source", "record acknowledged"),
    ("source", "closed", "all sent: EOF, exit-status"),
    (
        "authentication",
        "closed",
        "bad record (tampered or replayed)",
    ),
    ("command", "closed", "bad record (tampered or replayed)"),
    ("sink", "closed", "bad record (tampered or replayed)"),
    ("source", "closed", "bad record (tampered or replayed)"),
];

/// The client's states, for the visualizer.
pub const CLIENT_STATES: &[&str] = &[
    "key-exchange",
    "authenticating",
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
        "server hello: keys derived, password sent",
    ),
    (
        "key-exchange",
        "closed",
        "host key mismatch / protocol mismatch",
    ),
    ("authenticating", "sending", "authenticated: exec scp -t"),
    ("authenticating", "receiving", "authenticated: exec scp -f"),
    ("authenticating", "closed", "authentication failed"),
    ("sending", "waiting-exit", "all sent: EOF"),
    ("receiving", "waiting-exit", "EOF from server"),
    ("waiting-exit", "done", "exit-status"),
    ("sending", "closed", "bad record / disconnect"),
    ("receiving", "closed", "bad record / disconnect"),
];
