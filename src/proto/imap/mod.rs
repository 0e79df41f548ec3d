//! IMAP4rev1 (RFC 3501): a server session and a scripted client, sans-IO.
//!
//! IMAP lets a mail user agent work on mailboxes that stay on the server:
//! it logs in, selects a folder, searches, fetches headers or whole
//! messages, sets flags (`\Seen`, `\Deleted`, ...), copies, expunges, and
//! with IDLE (RFC 2177) waits for news. Because messages stay on the
//! server, several devices can have the same mailbox open at once; each
//! connection keeps its own numbered view of the folder and the server
//! tells it, between commands, what the others changed (`* 3 EXPUNGE`,
//! `* 5 EXISTS`, `* 2 FETCH (FLAGS (\Seen))`).
//!
//! - [`ImapServer`] is one server connection. It parses commands with
//!   imap-codec, asks a [`MailStore`] for folders and messages, and encodes
//!   replies with imap-codec.
//! - [`ImapClient`] is a user agent following a list of [`ImapStep`]s.
//! - [`MemoryMailStore`] is a small in-memory [`MailStore`] for tests; the
//!   mail server's own store is [`crate::apps::mail::MailStore`].
//!
//! Supported: the RFC 3501 commands, STARTTLS (RFC 3501 §6.2.1),
//! LITERAL+ (RFC 7888), IDLE (RFC 2177), MOVE (RFC 6851), UNSELECT
//! (RFC 3691), CHILDREN (RFC 3348) attributes, UIDPLUS (RFC 4315:
//! APPENDUID, COPYUID, UID EXPUNGE), NAMESPACE (RFC 2342), ID (RFC 2971),
//! ENABLE (RFC 5161), SPECIAL-USE (RFC 6154) attributes on the usual folder
//! names, and AUTHENTICATE PLAIN (RFC 4616) with SASL-IR (RFC 4959). Not
//! supported: CONDSTORE, COMPRESS, QUOTA, BINARY, LIST-EXTENDED,
//! MULTIAPPEND, and decoding of MIME transfer encodings (SEARCH BODY looks
//! at the raw text).

pub mod client;
pub mod convert;
pub mod ext;
pub mod framing;
pub mod message;
pub mod search;
pub mod server;
pub mod store;

#[cfg(test)]
mod tests;

/// The client's state names (see [`client::STATES`]).
pub use client::STATES as CLIENT_STATES;
/// The client's state diagram (see [`client::TRANSITIONS`]).
pub use client::TRANSITIONS as CLIENT_TRANSITIONS;
pub use client::{
    ClientEvent, FetchedMessage, ImapClient, ImapStep, ImapUpdate, StepOutcome, StepStatus,
    StoreOp, Which,
};
/// The server's state names (see [`server::STATES`]).
pub use server::STATES;
/// The server's state diagram (see [`server::TRANSITIONS`]).
pub use server::TRANSITIONS;
pub use server::{ImapConfig, ImapServer, special_use};
pub use store::{
    DELIMITER, Flag, FlagSet, FolderInfo, INBOX, MailStore, MemoryMailStore, MessageMeta,
    StoreError,
};

use crate::proto::{TRANSCRIPT_BODY_LINES, Transcript};

/// The well-known IMAP port (RFC 3501 §2.1).
pub const PORT: u16 = 143;

/// Transcript lines for literal data: the first
/// [`TRANSCRIPT_BODY_LINES`] lines, then a count of the rest.
pub(crate) fn data_transcript(data: &[u8]) -> Vec<Transcript> {
    let mut out = Vec::new();
    if data.is_empty() {
        return out;
    }
    let lines: Vec<&[u8]> = data.split_inclusive(|&b| b == b'\n').collect();
    for line in lines.iter().take(TRANSCRIPT_BODY_LINES) {
        out.push(Transcript::Data(printable(line)));
    }
    if lines.len() > TRANSCRIPT_BODY_LINES {
        out.push(Transcript::Data(format!(
            "(... {} more lines, {} bytes in all)",
            lines.len() - TRANSCRIPT_BODY_LINES,
            data.len()
        )));
    }
    out
}

/// A line for a transcript: without its line end, lossily UTF-8.
pub(crate) fn printable(line: &[u8]) -> String {
    let mut end = line.len();
    while end > 0 && (line[end - 1] == b'\n' || line[end - 1] == b'\r') {
        end -= 1;
    }
    String::from_utf8_lossy(&line[..end]).into_owned()
}

/// Transcript lines for encoded bytes (a response or a command), with
/// literal data shown as [`Transcript::Data`]. `reply` chooses whether the
/// text lines are replies (server) or commands (client).
pub(crate) fn encoded_transcript(
    encoded: imap_codec::encode::Encoded,
    reply: bool,
    out: &mut Vec<Transcript>,
) -> Vec<u8> {
    use imap_codec::encode::Fragment;
    let mut bytes = Vec::new();
    for fragment in encoded {
        match fragment {
            Fragment::Line { data } => {
                for line in data.split_inclusive(|&b| b == b'\n') {
                    let text = printable(line);
                    out.push(if reply {
                        Transcript::Reply { code: None, text }
                    } else {
                        Transcript::Command(text)
                    });
                }
                bytes.extend_from_slice(&data);
            }
            Fragment::Literal { data, .. } => {
                out.extend(data_transcript(&data));
                bytes.extend_from_slice(&data);
            }
        }
    }
    bytes
}
