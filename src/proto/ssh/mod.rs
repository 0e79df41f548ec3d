//! SSH-2, sans-IO: the transport (RFC 4253) with the curve25519-sha256
//! key exchange (RFC 8731), an ssh-ed25519 host key (RFC 8709) and
//! chacha20-poly1305@openssh.com or aes128-ctr with hmac-sha2-256;
//! password authentication (RFC 4252 §8); and session channels with
//! `exec` (RFC 4254). Real OpenSSH clients connect to it; the SCP server
//! and client of [`crate::proto::scp`] run on top of it.
//!
//! - [`wire`]: the data types of RFC 4251 §5.
//! - [`cipher`]: the binary packet protocol and packet protection.
//! - [`kex`]: negotiation, the key exchange, the host key, key derivation.
//! - [`transport`]: the transport state machine; it hands up messages of
//!   the authentication and connection protocols.
//! - [`message`]: those messages.
//! - [`channel`]: one session channel's flow control (windows).
//!
//! A transcript of `scp -O report.pdf alice@server:/upload` as the server
//! sees it (everything after the two NEWKEYS travels encrypted):
//!
//! ```text
//! S: SSH-2.0-wiretale
//! C: SSH-2.0-OpenSSH_9.6
//! S: kexinit (curve25519-sha256, ssh-ed25519, chacha20-poly1305@openssh.com, ...)
//! C: kexinit (curve25519-sha256, ssh-ed25519-cert-v01@openssh.com, chacha20-poly1305@openssh.com, ...)
//!    agreed: curve25519-sha256, ssh-ed25519 host key, chacha20-poly1305@openssh.com, strict key exchange
//! C: kex_ecdh_init (client key 3f2a9c01...)
//! S: kex_ecdh_reply (host key SHA256:..., server key 77e0b5c2..., signature)
//! S: newkeys
//! C: newkeys
//! C: service_request ssh-userauth
//! S: service_accept ssh-userauth
//! C: userauth_request alice password (password hidden)
//! S: userauth_success
//! C: channel_open session
//! S: channel_open_confirmation
//! C: exec "scp -t /upload"
//! ...
//! ```

pub mod channel;
pub mod cipher;
pub mod kex;
pub mod message;
pub mod transport;
pub mod wire;

pub use cipher::CipherName;
pub use kex::{HostKey, fingerprint, public_key_line};
pub use transport::{Event, Transport};

/// The well-known port (RFC 4253 §4.1).
pub const PORT: u16 = 22;

/// Message numbers (RFC 4250 §4.1) and disconnect reasons (§4.2.2).
pub mod msg {
    pub const DISCONNECT: u8 = 1;
    pub const IGNORE: u8 = 2;
    pub const UNIMPLEMENTED: u8 = 3;
    pub const DEBUG: u8 = 4;
    pub const SERVICE_REQUEST: u8 = 5;
    pub const SERVICE_ACCEPT: u8 = 6;
    /// RFC 8308.
    pub const EXT_INFO: u8 = 7;
    pub const KEXINIT: u8 = 20;
    pub const NEWKEYS: u8 = 21;
    pub const KEX_ECDH_INIT: u8 = 30;
    pub const KEX_ECDH_REPLY: u8 = 31;
    pub const USERAUTH_REQUEST: u8 = 50;
    pub const USERAUTH_FAILURE: u8 = 51;
    pub const USERAUTH_SUCCESS: u8 = 52;
    pub const USERAUTH_BANNER: u8 = 53;
    pub const GLOBAL_REQUEST: u8 = 80;
    pub const REQUEST_SUCCESS: u8 = 81;
    pub const REQUEST_FAILURE: u8 = 82;
    pub const CHANNEL_OPEN: u8 = 90;
    pub const CHANNEL_OPEN_CONFIRMATION: u8 = 91;
    pub const CHANNEL_OPEN_FAILURE: u8 = 92;
    pub const CHANNEL_WINDOW_ADJUST: u8 = 93;
    pub const CHANNEL_DATA: u8 = 94;
    pub const CHANNEL_EXTENDED_DATA: u8 = 95;
    pub const CHANNEL_EOF: u8 = 96;
    pub const CHANNEL_CLOSE: u8 = 97;
    pub const CHANNEL_REQUEST: u8 = 98;
    pub const CHANNEL_SUCCESS: u8 = 99;
    pub const CHANNEL_FAILURE: u8 = 100;

    pub const DISCONNECT_PROTOCOL_ERROR: u32 = 2;
    pub const DISCONNECT_KEY_EXCHANGE_FAILED: u32 = 3;
    pub const DISCONNECT_HOST_KEY_NOT_VERIFIABLE: u32 = 9;
    pub const DISCONNECT_SERVICE_NOT_AVAILABLE: u32 = 7;
    pub const DISCONNECT_BY_APPLICATION: u32 = 11;
    pub const DISCONNECT_NO_MORE_AUTH_METHODS: u32 = 14;
}

/// A line for the transcript, from one end's point of view.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Note {
    /// A message this end sent.
    Sent(String),
    /// A message this end received.
    Received(String),
    /// Neither: what was agreed or computed, why the session closed.
    Info(String),
}

/// Everything that ends an SSH session.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SshError {
    #[error("bad identification: {0}")]
    Version(String),
    #[error("bad packet: {0}")]
    BadPacket(String),
    /// A packet failed its MAC or tag: altered, replayed, reordered or
    /// sealed with other keys.
    #[error("packet {0} failed authentication (tampered, replayed or out of order)")]
    BadMac(u32),
    #[error("algorithm negotiation failed: {0}")]
    Negotiation(String),
    #[error("key exchange failed: {0}")]
    KeyExchange(String),
    /// The server's host key is not the one the client knows: an impostor
    /// or a man in the middle.
    #[error("host key mismatch: expected {expected}, got {got}")]
    HostKeyMismatch { expected: String, got: String },
    #[error("protocol error: {0}")]
    Protocol(String),
    #[error("internal error: {0}")]
    Internal(String),
}

impl SshError {
    /// The DISCONNECT reason code that goes with the error.
    pub fn disconnect_code(&self) -> u32 {
        match self {
            SshError::Negotiation(_) | SshError::KeyExchange(_) => {
                msg::DISCONNECT_KEY_EXCHANGE_FAILED
            }
            SshError::HostKeyMismatch { .. } => msg::DISCONNECT_HOST_KEY_NOT_VERIFIABLE,
            _ => msg::DISCONNECT_PROTOCOL_ERROR,
        }
    }
}
