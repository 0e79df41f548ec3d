//! Replies of the text protocols that answer with three-digit codes: SMTP
//! (RFC 5321 §4.2) and FTP (RFC 959 §4.2). One reply type and one parser,
//! parameterised by the one rule the two RFCs write differently, how a
//! multi-line reply continues ([`Continuation`]).
//!
//! A reply is a code and one or more lines of text. The first digit says
//! how it went (RFC 5321 §4.2.1, RFC 959 §4.2.1): 1 preliminary (FTP only:
//! another reply follows), 2 done, 3 go on, 4 failed for now, 5 failed.
//!
//! [`ReplyParser`] is as lenient as real clients are and rejects only what
//! it cannot read: a line that does not start with a code, a line or a
//! reply too long to buffer.

use crate::proto::line::{Line, LineReader};

/// Longest reply line a client accepts (RFC 5321 §4.5.3.1.5 allows 512;
/// real servers exceed it).
pub const MAX_REPLY_LINE: usize = 4096;
/// Most lines one multi-line reply may have: a hostile server must not
/// make the client buffer forever.
pub const MAX_REPLY_LINES: usize = 10_000;

/// How the lines of a multi-line reply are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Continuation {
    /// RFC 5321 §4.2.1: every line carries the code, a hyphen on all but
    /// the last (`250-SIZE 1000000`, ..., `250 HELP`).
    EveryLine,
    /// RFC 959 §4.2: the first line is `123-text`, the last `123 text`,
    /// and the lines between are free text (one that starts with a digit
    /// is sent with a space before it, so that it cannot end the reply).
    FirstAndLast,
}

/// A reply: a code and its lines of text, without the code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// The three-digit code.
    pub code: u16,
    /// The text of each line (may start with an enhanced status code like
    /// `2.1.0`, RFC 2034). Never empty.
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

    /// A multi-line reply (an empty list becomes one empty line).
    pub fn multiline(code: u16, lines: Vec<String>) -> Reply {
        if lines.is_empty() {
            return Reply::new(code, "");
        }
        Reply { code, lines }
    }

    /// 1yz: preliminary; another reply follows (FTP).
    pub fn is_preliminary(&self) -> bool {
        (100..200).contains(&self.code)
    }

    /// 2yz: positive completion.
    pub fn is_positive(&self) -> bool {
        (200..300).contains(&self.code)
    }

    /// 3yz: positive intermediate (354 after DATA, 334 during AUTH, 331
    /// after USER).
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

    /// The lines as sent, without CRLF.
    pub fn wire_lines(&self, style: Continuation) -> Vec<String> {
        let code = self.code;
        match style {
            Continuation::EveryLine => {
                let last = self.lines.len().saturating_sub(1);
                self.lines
                    .iter()
                    .enumerate()
                    .map(|(i, text)| {
                        let sep = if i == last { ' ' } else { '-' };
                        format!("{code:03}{sep}{text}")
                    })
                    .collect()
            }
            Continuation::FirstAndLast => match self.lines.as_slice() {
                [] => vec![format!("{code:03} ")],
                [only] => vec![format!("{code:03} {only}")],
                [first, middle @ .., last] => {
                    let mut out = vec![format!("{code:03}-{first}")];
                    for line in middle {
                        if line.starts_with(|c: char| c.is_ascii_digit()) {
                            out.push(format!(" {line}"));
                        } else {
                            out.push(line.clone());
                        }
                    }
                    out.push(format!("{code:03} {last}"));
                    out
                }
            },
        }
    }

    /// The bytes to send, CRLF after every line.
    pub fn to_bytes(&self, style: Continuation) -> Vec<u8> {
        let mut out = Vec::new();
        for line in self.wire_lines(style) {
            out.extend_from_slice(line.as_bytes());
            out.extend_from_slice(b"\r\n");
        }
        out
    }

    /// The text lines joined by a space, for logs and bounce messages.
    pub fn text(&self) -> String {
        self.lines.join(" ")
    }
}

impl std::fmt::Display for Reply {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:03} {}", self.code, self.text())
    }
}

/// Why a reply could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReplyError {
    /// A line that is not `DDD[ -]text`: the peer does not speak the
    /// protocol.
    #[error("reply line does not start with a three-digit code: {0:?}")]
    Malformed(String),
    #[error("reply line or reply too long")]
    TooLong,
}

/// A reply read, with its raw lines as received (for transcripts).
pub type Received = (Reply, Vec<String>);

/// Reassembles replies from the bytes a client receives.
#[derive(Debug, Clone)]
pub struct ReplyParser {
    style: Continuation,
    reader: LineReader,
    /// The code, text lines and raw lines of a multi-line reply so far.
    partial: Option<(u16, Vec<String>, Vec<String>)>,
}

impl ReplyParser {
    /// An empty parser for replies written in `style`.
    pub fn new(style: Continuation) -> ReplyParser {
        ReplyParser {
            style,
            reader: LineReader::new(MAX_REPLY_LINE),
            partial: None,
        }
    }

    /// Appends received bytes.
    pub fn push(&mut self, data: &[u8]) {
        self.reader.push(data);
    }

    /// The next complete reply, if one is buffered. After an error the
    /// parser starts afresh with the next line.
    pub fn next_reply(&mut self) -> Option<Result<Received, ReplyError>> {
        loop {
            let line = match self.reader.next_line()? {
                Line::Complete(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
                Line::TooLong => {
                    self.partial = None;
                    return Some(Err(ReplyError::TooLong));
                }
            };
            let split = split_code(&line);
            match self.style {
                Continuation::EveryLine => {
                    let Some((code, last, text)) = split else {
                        self.partial = None;
                        return Some(Err(ReplyError::Malformed(line)));
                    };
                    let (_, mut lines, mut raw) = self.partial.take().unwrap_or_default();
                    lines.push(text.to_string());
                    raw.push(line.clone());
                    if last {
                        return Some(Ok((Reply::multiline(code, lines), raw)));
                    }
                    if lines.len() >= MAX_REPLY_LINES {
                        return Some(Err(ReplyError::TooLong));
                    }
                    self.partial = Some((code, lines, raw));
                }
                Continuation::FirstAndLast => match self.partial.take() {
                    None => {
                        let Some((code, last, text)) = split else {
                            return Some(Err(ReplyError::Malformed(line)));
                        };
                        if last {
                            return Some(Ok((Reply::new(code, text), vec![line])));
                        }
                        self.partial = Some((code, vec![text.to_string()], vec![line.clone()]));
                    }
                    Some((code, mut lines, mut raw)) => {
                        raw.push(line.clone());
                        if let Some((end, true, text)) = split
                            && end == code
                        {
                            lines.push(text.to_string());
                            return Some(Ok((Reply::multiline(code, lines), raw)));
                        }
                        if lines.len() >= MAX_REPLY_LINES {
                            return Some(Err(ReplyError::TooLong));
                        }
                        lines.push(line);
                        self.partial = Some((code, lines, raw));
                    }
                },
            }
        }
    }
}

/// Splits `250-text`, `250 text` or a bare `250` into (code, is the last
/// line, text). Codes run from 100 to 599.
fn split_code(line: &str) -> Option<(u16, bool, &str)> {
    let digits = line.get(..3)?;
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let code: u16 = digits.parse().ok()?;
    if !(100..600).contains(&code) {
        return None;
    }
    match line.as_bytes().get(3) {
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
    fn smtp_writes_the_code_on_every_line() {
        let r = Reply::multiline(250, vec!["mail.example Hello".into(), "SIZE 100".into()]);
        assert_eq!(
            r.to_bytes(Continuation::EveryLine),
            b"250-mail.example Hello\r\n250 SIZE 100\r\n"
        );
        assert_eq!(Reply::new(250, "2.1.0 Ok").to_string(), "250 2.1.0 Ok");
    }

    #[test]
    fn ftp_writes_it_on_the_first_and_last_and_pads_digits_between() {
        let style = Continuation::FirstAndLast;
        assert_eq!(
            Reply::new(200, "NOOP ok.").to_bytes(style),
            b"200 NOOP ok.\r\n"
        );
        let feat = Reply::multiline(211, vec!["Features:".into(), " SIZE".into(), "End".into()]);
        assert_eq!(
            feat.to_bytes(style),
            b"211-Features:\r\n SIZE\r\n211 End\r\n"
        );
        let tricky = Reply::multiline(214, vec!["a".into(), "214 b".into(), "c".into()]);
        assert_eq!(tricky.wire_lines(style)[1], " 214 b");
    }

    #[test]
    fn the_smtp_parser_joins_continuation_lines_and_flags_garbage() {
        let mut p = ReplyParser::new(Continuation::EveryLine);
        p.push(b"250-a\r\n250-b\r\n");
        assert_eq!(p.next_reply(), None);
        p.push(b"250 c\r\n220\r\nhello\r\n");
        let Some(Ok((r, raw))) = p.next_reply() else {
            panic!("expected a reply")
        };
        assert_eq!(r.lines, vec!["a", "b", "c"]);
        assert_eq!(raw, vec!["250-a", "250-b", "250 c"]);
        assert_eq!(
            p.next_reply(),
            Some(Ok((Reply::new(220, ""), vec!["220".into()])))
        );
        assert_eq!(
            p.next_reply(),
            Some(Err(ReplyError::Malformed("hello".into())))
        );
    }

    #[test]
    fn the_ftp_parser_reads_replies_split_anywhere() {
        let mut p = ReplyParser::new(Continuation::FirstAndLast);
        let wire = b"220 hi\r\n211-Features:\r\n SIZE\r\n211 End\r\n230 ok\r\n";
        let mut got = Vec::new();
        for b in wire {
            p.push(&[*b]);
            while let Some(r) = p.next_reply() {
                got.push(r.unwrap());
            }
        }
        assert_eq!(got[0].0, Reply::new(220, "hi"));
        assert_eq!(got[1].0.lines, vec!["Features:", " SIZE", "End"]);
        assert_eq!(got[1].1, vec!["211-Features:", " SIZE", "211 End"]);
        assert_eq!(got[2].0.code, 230);
        p.push(b"hello\r\n");
        assert!(matches!(
            p.next_reply(),
            Some(Err(ReplyError::Malformed(_)))
        ));
    }

    #[test]
    fn an_endless_reply_is_cut_off() {
        for style in [Continuation::EveryLine, Continuation::FirstAndLast] {
            let mut p = ReplyParser::new(style);
            p.push(b"250-x\r\n");
            for _ in 0..MAX_REPLY_LINES {
                p.push(b"250-more\r\n");
            }
            let mut last = None;
            while let Some(r) = p.next_reply() {
                last = Some(r);
            }
            assert_eq!(last, Some(Err(ReplyError::TooLong)), "{style:?}");
        }
    }

    #[test]
    fn the_class_is_the_first_digit() {
        let r = |c| Reply::new(c, "");
        assert!(r(150).is_preliminary() && r(250).is_positive() && r(354).is_intermediate());
        assert!(r(421).is_transient() && r(550).is_permanent() && !r(550).is_transient());
    }
}
