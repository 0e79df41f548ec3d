//! FTP replies on the wire (RFC 959 §4.2): formatting for the server,
//! parsing for the client.
//!
//! A reply is a three-digit code and text. A one-line reply is
//! `123 text CRLF`. A multi-line reply starts with `123-first line`, may
//! have any lines in between, and ends with a line that starts with the same
//! code and a space: `123 last line`. The reply type and its parser are
//! [`crate::proto::reply`]'s, shared with SMTP; this module holds FTP's
//! continuation rule.

pub use crate::proto::reply::{
    Continuation, MAX_REPLY_LINE, MAX_REPLY_LINES, Reply, ReplyError, ReplyParser,
};

/// FTP writes the code on the first and last lines of a multi-line reply
/// (RFC 959 §4.2).
pub const STYLE: Continuation = Continuation::FirstAndLast;

/// A parser for the replies an FTP client receives.
pub fn parser() -> ReplyParser {
    ReplyParser::new(STYLE)
}

/// The text of a reply as the client records it: its lines, one per line.
pub fn text(reply: &Reply) -> String {
    reply.lines.join("\n")
}
