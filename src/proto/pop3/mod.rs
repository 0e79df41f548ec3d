//! POP3, the Post Office Protocol version 3 (RFC 1939, with CAPA and
//! response codes from RFC 2449), both sides.
//!
//! A user agent uses POP3 to fetch mail that an SMTP server delivered into
//! a maildrop. The session has three states (RFC 1939 §3): AUTHORIZATION
//! (USER/PASS), TRANSACTION (list, retrieve, mark for deletion) and UPDATE
//! (entered only by QUIT: messages marked for deletion are removed then).
//!
//! - [`server`]: [`Pop3Server`], backed by a [`Pop3Backend`] (passwords,
//!   maildrop locking, message snapshot, deletion).
//! - [`client`]: [`Pop3Client`], a scripted user agent session:
//!   download-and-delete or leave-on-server.
//!
//! Not here: APOP, SASL AUTH, STLS, the EXPIRE/LOGIN-DELAY capabilities.

pub mod client;
pub mod server;

#[cfg(test)]
mod tests;

pub use client::{Pop3Client, Pop3ClientConfig, Pop3ClientError, RetrievalMode, RetrievedMessage};
pub use server::{
    DeleteError, MaildropMessage, Pop3Backend, Pop3Config, Pop3Server, STATES, TRANSITIONS,
};

/// The client's state names (see [`client::STATES`]).
pub use client::STATES as CLIENT_STATES;
/// The client's state diagram (see [`client::TRANSITIONS`]).
pub use client::TRANSITIONS as CLIENT_TRANSITIONS;

/// The POP3 port (RFC 1939 §3).
pub const PORT: u16 = 110;

/// RFC 1939 §3: positive status indicator.
pub const OK: &str = "+OK";
/// RFC 1939 §3: negative status indicator.
pub const ERR: &str = "-ERR";

/// RFC 1939 §3: multi-line responses are byte-stuffed: a line that starts
/// with "." gets another "." in front. Returns the stuffed lines, each
/// ending in CRLF, without the terminating ".".
pub fn byte_stuff(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len() + 16);
    for line in lines(data) {
        if line.starts_with(b".") {
            out.push(b'.');
        }
        out.extend_from_slice(line);
        out.extend_from_slice(b"\r\n");
    }
    out
}

/// Splits data into lines without their LF or CRLF; a final line without
/// a line end counts, an empty piece after the last line end does not.
pub fn lines(data: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut pieces: Vec<&[u8]> = data.split(|&b| b == b'\n').collect();
    if pieces.last().is_some_and(|l| l.is_empty()) {
        pieces.pop();
    }
    pieces
        .into_iter()
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l))
}
