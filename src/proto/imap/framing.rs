//! Cutting an IMAP byte stream into whole commands or responses.
//!
//! IMAP is line based, except that any string may be sent as a *literal*
//! (RFC 3501 §4.3): a line ends in `{42}` and the next 42 octets are raw
//! data, after which the same command goes on. A client must wait for the
//! server's `+` continuation before it sends a synchronising literal
//! (`{42}`); with LITERAL+ (RFC 7888) it may send `{42+}` and the data at
//! once. The parser in imap-codec only sees complete messages, so this
//! framer finds where a message ends, tells the server when to send `+`,
//! and bounds memory: a line is at most `max_line` octets, a literal at most
//! `max_literal`, a whole message at most `max_message`.
//!
//! The framer also accepts a bare LF as a line end (people typing into
//! `nc` send one) and hands the parser CRLF in its place.

/// Size limits of one message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameLimits {
    /// Longest line, terminator included.
    pub max_line: usize,
    /// Largest single literal.
    pub max_literal: usize,
    /// Largest message: all its lines and literals together.
    pub max_message: usize,
}

/// What [`Framer::next_frame`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    /// A line that announces a literal; the message is not complete yet.
    /// `sync` is true for `{n}` (the server must answer `+`), false for
    /// `{n+}`.
    LiteralLine {
        line: Vec<u8>,
        length: usize,
        sync: bool,
    },
    /// The announced literal arrived; it is `message()[start..start + len]`
    /// of the message being assembled.
    Literal { start: usize, len: usize },
    /// The last line of a message, and the whole message (lines joined with
    /// CRLF, literals in place) ready for the parser.
    Complete { line: Vec<u8>, message: Vec<u8> },
    /// A line exceeded `max_line`; it and the message it belonged to were
    /// dropped.
    LineTooLong,
    /// A literal would exceed `max_literal` or `max_message`. The message
    /// is dropped; `tag` is its first word, if there was one.
    LiteralTooLarge { tag: Option<String>, sync: bool },
}

/// Accumulates bytes and yields [`Frame`]s.
#[derive(Debug, Clone)]
pub struct Framer {
    limits: FrameLimits,
    /// Received bytes not yet framed.
    buf: Vec<u8>,
    /// The message being assembled.
    message: Vec<u8>,
    /// Octets of literal still expected, once its announcing line is in.
    pending_literal: Option<usize>,
    /// True while skipping the rest of an over-long line.
    discarding: bool,
}

/// If `line` (without terminator) ends with a literal announcement
/// `{n}` or `{n+}`, returns `(n, sync)`.
pub fn literal_announcement(line: &[u8]) -> Option<(usize, bool)> {
    let inner = line.strip_suffix(b"}")?;
    let open = inner.iter().rposition(|&b| b == b'{')?;
    let mut digits = &inner[open + 1..];
    let mut sync = true;
    if let Some(d) = digits.strip_suffix(b"+") {
        digits = d;
        sync = false;
    }
    if digits.is_empty() || digits.len() > 10 || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let n: u64 = std::str::from_utf8(digits).ok()?.parse().ok()?;
    // RFC 3501 §9: number is a 32-bit value.
    let n = u32::try_from(n).ok()?;
    Some((n as usize, sync))
}

/// The first word of a message, if it looks like an IMAP tag.
pub fn first_word(data: &[u8]) -> Option<String> {
    let end = data
        .iter()
        .position(|&b| b == b' ' || b == b'\r' || b == b'\n')
        .unwrap_or(data.len());
    let word = &data[..end];
    // RFC 3501 §9: tag = 1*<any ASTRING-CHAR except "+">
    let ok = !word.is_empty()
        && word.len() <= 64
        && word.iter().all(|&b| {
            b.is_ascii_graphic()
                && !matches!(b, b'+' | b'(' | b')' | b'{' | b'%' | b'*' | b'"' | b'\\')
        });
    ok.then(|| String::from_utf8_lossy(word).into_owned())
}

impl Framer {
    /// An empty framer with the given limits.
    pub fn new(limits: FrameLimits) -> Self {
        Framer {
            limits,
            buf: Vec::new(),
            message: Vec::new(),
            pending_literal: None,
            discarding: false,
        }
    }

    /// Appends received bytes.
    pub fn push(&mut self, data: &[u8]) {
        self.buf.extend_from_slice(data);
    }

    /// The message assembled so far (for showing a literal in a trace).
    pub fn message(&self) -> &[u8] {
        &self.message
    }

    /// True when no byte is buffered and no message is half assembled.
    pub fn is_idle(&self) -> bool {
        self.buf.is_empty() && self.message.is_empty() && self.pending_literal.is_none()
    }

    /// The next frame, if the buffered bytes make one.
    pub fn next_frame(&mut self) -> Option<Frame> {
        loop {
            if let Some(n) = self.pending_literal {
                if self.buf.len() < n {
                    return None;
                }
                let start = self.message.len();
                self.message.extend(self.buf.drain(..n));
                self.pending_literal = None;
                return Some(Frame::Literal { start, len: n });
            }
            if self.discarding {
                match self.buf.iter().position(|&b| b == b'\n') {
                    Some(pos) => {
                        self.buf.drain(..=pos);
                        self.discarding = false;
                        continue;
                    }
                    None => {
                        self.buf.clear();
                        return None;
                    }
                }
            }
            let Some(pos) = self.buf.iter().position(|&b| b == b'\n') else {
                if self.buf.len() > self.limits.max_line {
                    // Keep memory bounded: drop what we have and skip the
                    // rest of this line when it comes.
                    self.buf.clear();
                    self.message.clear();
                    self.discarding = true;
                    return Some(Frame::LineTooLong);
                }
                return None;
            };
            if pos + 1 > self.limits.max_line {
                self.buf.drain(..=pos);
                self.message.clear();
                return Some(Frame::LineTooLong);
            }
            let mut line: Vec<u8> = self.buf.drain(..=pos).collect();
            line.pop();
            if line.last() == Some(&b'\r') {
                line.pop();
            }
            if let Some((length, sync)) = literal_announcement(&line) {
                let total = self.message.len() + line.len() + 2 + length;
                if length > self.limits.max_literal || total > self.limits.max_message {
                    let tag = if self.message.is_empty() {
                        first_word(&line)
                    } else {
                        first_word(&self.message)
                    };
                    self.message.clear();
                    return Some(Frame::LiteralTooLarge { tag, sync });
                }
                self.message.extend_from_slice(&line);
                self.message.extend_from_slice(b"\r\n");
                self.pending_literal = Some(length);
                return Some(Frame::LiteralLine { line, length, sync });
            }
            if self.message.len() + line.len() + 2 > self.limits.max_message {
                self.message.clear();
                return Some(Frame::LineTooLong);
            }
            self.message.extend_from_slice(&line);
            self.message.extend_from_slice(b"\r\n");
            let message = std::mem::take(&mut self.message);
            return Some(Frame::Complete { line, message });
        }
    }

    /// The next plain line (no literal processing), for the parts of IMAP
    /// that are line-only: the `DONE` of IDLE and AUTHENTICATE data.
    /// `Some(Err(()))` means the line was too long and was dropped.
    pub fn next_line(&mut self) -> Option<Result<Vec<u8>, ()>> {
        match self.next_frame()? {
            Frame::Complete { line, .. } => Some(Ok(line)),
            Frame::LiteralLine { .. } => {
                // Not a literal here: undo and return the line as is.
                self.pending_literal = None;
                let mut line = std::mem::take(&mut self.message);
                line.truncate(line.len().saturating_sub(2));
                Some(Ok(line))
            }
            _ => Some(Err(())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: FrameLimits = FrameLimits {
        max_line: 64,
        max_literal: 20,
        max_message: 100,
    };

    #[test]
    fn announcements() {
        assert_eq!(literal_announcement(b"a APPEND x {12}"), Some((12, true)));
        assert_eq!(literal_announcement(b"a APPEND x {12+}"), Some((12, false)));
        assert_eq!(literal_announcement(b"a LOGIN {}"), None);
        assert_eq!(literal_announcement(b"a LOGIN {x}"), None);
        assert_eq!(literal_announcement(b"a NOOP"), None);
        assert_eq!(literal_announcement(b"{99999999999}"), None);
    }

    #[test]
    fn literal_split_anywhere() {
        let mut f = Framer::new(LIMITS);
        f.push(b"a LOGIN {3}\r");
        assert_eq!(f.next_frame(), None);
        f.push(b"\nbo");
        assert_eq!(
            f.next_frame(),
            Some(Frame::LiteralLine {
                line: b"a LOGIN {3}".to_vec(),
                length: 3,
                sync: true
            })
        );
        assert_eq!(f.next_frame(), None);
        f.push(b"b pw\r\nb NOOP\n");
        assert_eq!(f.next_frame(), Some(Frame::Literal { start: 13, len: 3 }));
        assert_eq!(
            f.next_frame(),
            Some(Frame::Complete {
                line: b" pw".to_vec(),
                message: b"a LOGIN {3}\r\nbob pw\r\n".to_vec()
            })
        );
        assert_eq!(
            f.next_frame(),
            Some(Frame::Complete {
                line: b"b NOOP".to_vec(),
                message: b"b NOOP\r\n".to_vec()
            })
        );
        assert!(f.is_idle());
    }

    #[test]
    fn limits() {
        let mut f = Framer::new(LIMITS);
        f.push(b"a APPEND INBOX {21}\r\n");
        assert_eq!(
            f.next_frame(),
            Some(Frame::LiteralTooLarge {
                tag: Some("a".into()),
                sync: true
            })
        );
        f.push(&[b'x'; 70]);
        assert_eq!(f.next_frame(), Some(Frame::LineTooLong));
        f.push(b"yyy\r\nb NOOP\r\n");
        assert!(matches!(f.next_frame(), Some(Frame::Complete { line, .. }) if line == b"b NOOP"));
    }
}
