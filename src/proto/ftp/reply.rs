//! FTP replies on the wire (RFC 959 §4.2): formatting for the server,
//! parsing for the client.
//!
//! A reply is a three-digit code and text. A one-line reply is
//! `123 text CRLF`. A multi-line reply starts with `123-first line`, may
//! have any lines in between, and ends with a line that starts with the same
//! code and a space: `123 last line`.

use crate::proto::line::{Line, LineReader};

/// Longest reply line the client accepts.
pub const MAX_REPLY_LINE: usize = 4096;
/// Most lines one multi-line reply may have (a hostile server must not make
/// the client buffer forever).
pub const MAX_REPLY_LINES: usize = 10_000;

/// One reply: a code and its lines of text (without the code).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub code: u16,
    pub lines: Vec<String>,
}

impl Reply {
    /// A one-line reply.
    pub fn new(code: u16, text: impl Into<String>) -> Reply {
        Reply {
            code,
            lines: vec![text.into()],
        }
    }

    /// A multi-line reply: the first and last of `lines` carry the code.
    pub fn multi(code: u16, lines: Vec<String>) -> Reply {
        Reply { code, lines }
    }

    /// The lines as sent, without CRLF.
    pub fn wire_lines(&self) -> Vec<String> {
        let code = self.code;
        match self.lines.as_slice() {
            [] => vec![format!("{code} ")],
            [only] => vec![format!("{code} {only}")],
            [first, middle @ .., last] => {
                let mut out = vec![format!("{code}-{first}")];
                for line in middle {
                    // RFC 959 §4.2: a middle line that began with digits
                    // could be mistaken for the end; pad it.
                    if line.starts_with(|c: char| c.is_ascii_digit()) {
                        out.push(format!(" {line}"));
                    } else {
                        out.push(line.clone());
                    }
                }
                out.push(format!("{code} {last}"));
                out
            }
        }
    }

    /// The reply as bytes on the wire, CRLF after every line.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        for line in self.wire_lines() {
            out.extend_from_slice(line.as_bytes());
            out.extend_from_slice(b"\r\n");
        }
        out
    }

    /// All text lines joined with `\n`.
    pub fn text(&self) -> String {
        self.lines.join("\n")
    }

    /// 1yz: a preliminary reply; another reply follows.
    pub fn is_preliminary(&self) -> bool {
        (100..200).contains(&self.code)
    }

    /// 2yz.
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.code)
    }
}

/// Why a reply could not be parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ReplyError {
    #[error("reply line does not start with a three-digit code")]
    Malformed,
    #[error("reply line or reply too long")]
    TooLong,
}

/// Reassembles replies from the bytes of the control connection.
#[derive(Debug, Clone)]
pub struct ReplyParser {
    reader: LineReader,
    /// The code and lines of a multi-line reply seen so far.
    partial: Option<(u16, Vec<String>)>,
}

impl Default for ReplyParser {
    fn default() -> Self {
        ReplyParser::new()
    }
}

impl ReplyParser {
    pub fn new() -> ReplyParser {
        ReplyParser {
            reader: LineReader::new(MAX_REPLY_LINE),
            partial: None,
        }
    }

    /// Appends received bytes.
    pub fn push(&mut self, data: &[u8]) {
        self.reader.push(data);
    }

    /// The next complete reply, if one is buffered. Each returned raw line
    /// (for a transcript) is also handed to `on_line`.
    pub fn next_reply(
        &mut self,
        mut on_line: impl FnMut(u16, &str),
    ) -> Option<Result<Reply, ReplyError>> {
        loop {
            let line = match self.reader.next_line()? {
                Line::Complete(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
                Line::TooLong => return Some(Err(ReplyError::TooLong)),
            };
            match self.partial.take() {
                None => {
                    let Some((code, sep, text)) = split_code(&line) else {
                        return Some(Err(ReplyError::Malformed));
                    };
                    on_line(code, &line);
                    if sep == '-' {
                        self.partial = Some((code, vec![text.to_string()]));
                        continue;
                    }
                    return Some(Ok(Reply::new(code, text)));
                }
                Some((code, mut lines)) => {
                    on_line(code, &line);
                    if let Some((end_code, ' ', text)) = split_code(&line)
                        && end_code == code
                    {
                        lines.push(text.to_string());
                        return Some(Ok(Reply::multi(code, lines)));
                    }
                    if lines.len() >= MAX_REPLY_LINES {
                        return Some(Err(ReplyError::TooLong));
                    }
                    lines.push(line);
                    self.partial = Some((code, lines));
                }
            }
        }
    }
}

/// Splits `"123 text"` or `"123-text"` into code, separator and text. A bare
/// `"123"` is accepted as a one-line reply with empty text.
fn split_code(line: &str) -> Option<(u16, char, &str)> {
    let digits = line.get(..3)?;
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let code: u16 = digits.parse().ok()?;
    if !(100..600).contains(&code) {
        return None;
    }
    match line[3..].chars().next() {
        None => Some((code, ' ', "")),
        Some(sep @ (' ' | '-')) => Some((code, sep, &line[4..])),
        Some(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_single_and_multi_line_replies() {
        assert_eq!(Reply::new(200, "NOOP ok.").to_bytes(), b"200 NOOP ok.\r\n");
        let feat = Reply::multi(211, vec!["Features:".into(), " SIZE".into(), "End".into()]);
        assert_eq!(feat.to_bytes(), b"211-Features:\r\n SIZE\r\n211 End\r\n");
        let tricky = Reply::multi(214, vec!["a".into(), "214 b".into(), "c".into()]);
        assert_eq!(tricky.wire_lines()[1], " 214 b");
    }

    #[test]
    fn parses_replies_split_anywhere() {
        let mut p = ReplyParser::new();
        let wire = b"220 hi\r\n211-Features:\r\n SIZE\r\n211 End\r\n230 ok\r\n";
        let mut got = Vec::new();
        for b in wire {
            p.push(&[*b]);
            while let Some(r) = p.next_reply(|_, _| {}) {
                got.push(r.unwrap());
            }
        }
        assert_eq!(got[0], Reply::new(220, "hi"));
        assert_eq!(got[1].lines, vec!["Features:", " SIZE", "End"]);
        assert_eq!(got[2].code, 230);
        p.push(b"hello\r\n");
        assert_eq!(p.next_reply(|_, _| {}), Some(Err(ReplyError::Malformed)));
    }
}
