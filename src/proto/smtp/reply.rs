//! SMTP replies: the three-digit codes of RFC 5321 §4.2 and their wire form.
//!
//! A reply is a code and one or more lines of text. On the wire every line
//! but the last has a hyphen after the code (`250-SIZE 1000000`), the last a
//! space (`250 HELP`), RFC 5321 §4.2.1. When a server advertises
//! ENHANCEDSTATUSCODES (RFC 2034) the text starts with a class.subject.detail
//! code such as `2.1.0`; here that code is simply part of the text.
//!
//! This module is not a general reply grammar checker: [`ReplyParser`] is as
//! lenient as real clients are, and rejects only what it cannot read.

use crate::proto::line::{Line, LineReader};

// RFC 5321 §4.2.3 (and RFC 4954 for 235/334/530/535, RFC 1870 for 552 on
// SIZE): the reply codes this module uses, by name.

/// Help message.
pub const HELP_MESSAGE: u16 = 214;
/// `<domain> Service ready` (the greeting).
pub const SERVICE_READY: u16 = 220;
/// `<domain> Service closing transmission channel` (answer to QUIT).
pub const SERVICE_CLOSING: u16 = 221;
/// RFC 4954 §6: authentication succeeded.
pub const AUTH_SUCCEEDED: u16 = 235;
/// Requested mail action okay, completed.
pub const OK: u16 = 250;
/// Cannot VRFY user, but will accept message and attempt delivery.
pub const CANNOT_VRFY: u16 = 252;
/// RFC 4954 §4: server challenge, the client continues the exchange.
pub const AUTH_CONTINUE: u16 = 334;
/// Start mail input; end with `<CRLF>.<CRLF>`.
pub const START_MAIL_INPUT: u16 = 354;
/// Service not available, closing transmission channel.
pub const SERVICE_NOT_AVAILABLE: u16 = 421;
/// Requested action aborted: local error in processing.
pub const LOCAL_ERROR: u16 = 451;
/// Requested action not taken: insufficient system storage (also "too many
/// recipients", RFC 5321 §4.5.3.1.10).
pub const INSUFFICIENT_STORAGE: u16 = 452;
/// Syntax error, command unrecognized (also "line too long").
pub const SYNTAX_ERROR: u16 = 500;
/// Syntax error in parameters or arguments.
pub const SYNTAX_ERROR_IN_PARAMETERS: u16 = 501;
/// Command not implemented.
pub const NOT_IMPLEMENTED: u16 = 502;
/// Bad sequence of commands.
pub const BAD_SEQUENCE: u16 = 503;
/// Command parameter not implemented (also "unrecognized AUTH mechanism").
pub const PARAMETER_NOT_IMPLEMENTED: u16 = 504;
/// RFC 4954 §6: authentication required.
pub const AUTH_REQUIRED: u16 = 530;
/// RFC 4954 §6: authentication credentials invalid.
pub const AUTH_INVALID: u16 = 535;
/// Requested action not taken: mailbox unavailable (no such user, relay
/// denied).
pub const MAILBOX_UNAVAILABLE: u16 = 550;
/// Requested mail action aborted: exceeded storage allocation (RFC 1870:
/// message too big).
pub const EXCEEDED_STORAGE: u16 = 552;
/// Transaction failed.
pub const TRANSACTION_FAILED: u16 = 554;
/// MAIL FROM/RCPT TO parameters not recognized or not implemented.
pub const PARAMETERS_NOT_RECOGNIZED: u16 = 555;

/// RFC 5321 §4.5.3.1.5: a reply line is at most 512 octets including CRLF.
/// Clients read more generously, since real servers exceed it.
pub const MAX_REPLY_LINE: usize = 4096;

/// An SMTP reply: a code and its lines of text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// The three-digit code.
    pub code: u16,
    /// The text of each line, without the code (may start with an enhanced
    /// status code like `2.1.0`). Never empty.
    pub lines: Vec<String>,
}

impl Reply {
    /// A one-line reply, e.g. `Reply::new(OK, "2.1.0 Ok")`.
    pub fn new(code: u16, text: impl Into<String>) -> Reply {
        Reply {
            code,
            lines: vec![text.into()],
        }
    }

    /// A multi-line reply (an empty list becomes one empty line).
    pub fn multiline(code: u16, lines: Vec<String>) -> Reply {
        if lines.is_empty() {
            return Reply::new(code, "");
        }
        Reply { code, lines }
    }

    /// 2yz: positive completion.
    pub fn is_positive(&self) -> bool {
        (200..300).contains(&self.code)
    }

    /// 3yz: positive intermediate (354 after DATA, 334 during AUTH).
    pub fn is_intermediate(&self) -> bool {
        (300..400).contains(&self.code)
    }

    /// 4yz: transient negative completion; the client may try again later.
    pub fn is_transient(&self) -> bool {
        (400..500).contains(&self.code)
    }

    /// 5yz: permanent negative completion; do not repeat as is.
    pub fn is_permanent(&self) -> bool {
        self.code >= 500
    }

    /// The lines as sent: `250-first`, ..., `250 last` (without CRLF).
    pub fn wire_lines(&self) -> Vec<String> {
        let last = self.lines.len().saturating_sub(1);
        self.lines
            .iter()
            .enumerate()
            .map(|(i, text)| {
                let sep = if i == last { ' ' } else { '-' };
                format!("{:03}{}{}", self.code, sep, text)
            })
            .collect()
    }

    /// The bytes to send, each line ending in CRLF.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        for line in self.wire_lines() {
            out.extend_from_slice(line.as_bytes());
            out.extend_from_slice(b"\r\n");
        }
        out
    }

    /// All text lines joined by a space, for logs and bounce messages.
    pub fn text(&self) -> String {
        self.lines.join(" ")
    }
}

impl std::fmt::Display for Reply {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:03} {}", self.code, self.text())
    }
}

/// What [`ReplyParser::next_reply`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParsedReply {
    /// A complete reply, with the raw lines as received (for transcripts).
    Reply(Reply, Vec<String>),
    /// A line that is not `DDD[ -]text`: the peer does not speak SMTP.
    Malformed(String),
}

/// Reassembles replies from the byte stream a client receives.
#[derive(Debug, Clone)]
pub struct ReplyParser {
    reader: LineReader,
    pending: Vec<String>,
    raw: Vec<String>,
}

impl Default for ReplyParser {
    fn default() -> Self {
        ReplyParser::new()
    }
}

impl ReplyParser {
    /// An empty parser.
    pub fn new() -> ReplyParser {
        ReplyParser {
            reader: LineReader::new(MAX_REPLY_LINE),
            pending: Vec::new(),
            raw: Vec::new(),
        }
    }

    /// Appends received bytes.
    pub fn push(&mut self, data: &[u8]) {
        self.reader.push(data);
    }

    /// The next complete reply, if one is buffered.
    pub fn next_reply(&mut self) -> Option<ParsedReply> {
        loop {
            let line = match self.reader.next_line()? {
                Line::Complete(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
                Line::TooLong => return Some(ParsedReply::Malformed("(line too long)".into())),
            };
            let Some((code, last, text)) = split_reply_line(&line) else {
                self.pending.clear();
                self.raw.clear();
                return Some(ParsedReply::Malformed(line));
            };
            self.raw.push(line.clone());
            self.pending.push(text.to_string());
            if last {
                let reply = Reply::multiline(code, std::mem::take(&mut self.pending));
                return Some(ParsedReply::Reply(reply, std::mem::take(&mut self.raw)));
            }
        }
    }
}

/// Splits `250-text` / `250 text` / `250` into (code, is last line, text).
fn split_reply_line(line: &str) -> Option<(u16, bool, &str)> {
    let bytes = line.as_bytes();
    if bytes.len() < 3 || !bytes[..3].iter().all(u8::is_ascii_digit) {
        return None;
    }
    let code: u16 = line.get(..3)?.parse().ok()?;
    match bytes.get(3) {
        None => Some((code, true, "")),
        Some(b' ') => Some((code, true, line.get(4..)?)),
        Some(b'-') => Some((code, false, line.get(4..)?)),
        Some(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_form_of_multiline_reply() {
        let r = Reply::multiline(OK, vec!["mail.example Hello".into(), "SIZE 100".into()]);
        assert_eq!(r.to_bytes(), b"250-mail.example Hello\r\n250 SIZE 100\r\n");
        assert_eq!(Reply::new(OK, "2.1.0 Ok").to_string(), "250 2.1.0 Ok");
    }

    #[test]
    fn parser_joins_continuation_lines_and_flags_garbage() {
        let mut p = ReplyParser::new();
        p.push(b"250-a\r\n250-b\r\n");
        assert_eq!(p.next_reply(), None);
        p.push(b"250 c\r\n220\r\nhello\r\n");
        let Some(ParsedReply::Reply(r, raw)) = p.next_reply() else {
            panic!("expected a reply")
        };
        assert_eq!(r.lines, vec!["a", "b", "c"]);
        assert_eq!(raw, vec!["250-a", "250-b", "250 c"]);
        assert_eq!(
            p.next_reply(),
            Some(ParsedReply::Reply(Reply::new(220, ""), vec!["220".into()]))
        );
        assert_eq!(p.next_reply(), Some(ParsedReply::Malformed("hello".into())));
    }
}
