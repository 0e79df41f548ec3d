//! Splitting a byte stream into CRLF-terminated lines with a length limit.
//!
//! Text protocols (SMTP, POP3, IMAP, FTP, HTTP headers) all read lines. A
//! peer may send a line in many segments, or many lines in one; it may also
//! send a line that never ends. [`LineReader`] buffers at most `max_len`
//! bytes of an unfinished line, so a hostile peer cannot grow memory without
//! bound.
//!
//! Commands are read leniently: a bare LF ends a line too, as many real
//! clients send it. Some text must not be: SMTP's message data ends only
//! at CRLF "." CRLF (RFC 5321 §4.1.1.4), or a sender could hide a second
//! message in the first ("SMTP smuggling", 2023). [`Ends::Crlf`] reads so,
//! and the same reader switches between the two ([`LineReader::set_ends`]).

/// What [`LineReader::next_line`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Line {
    /// A complete line, without its terminator. A bare LF is accepted as a
    /// terminator too (many real clients send it), and a trailing CR before
    /// the LF is removed.
    Complete(Vec<u8>),
    /// The line grew past the limit. The reader discards bytes until the end
    /// of that line, then goes on with the next one.
    TooLong,
}

/// Where a line ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Ends {
    /// At LF, with a CR before it removed (commands).
    #[default]
    LfOrCrlf,
    /// At CRLF only: a bare CR or LF is part of the line (SMTP's message
    /// text).
    Crlf,
}

/// Accumulates bytes and yields lines.
#[derive(Debug, Clone)]
pub struct LineReader {
    buf: Vec<u8>,
    max_len: usize,
    ends: Ends,
    /// True while skipping the rest of an over-long line.
    discarding: bool,
    /// Whether `TooLong` was already reported for the line being discarded.
    reported: bool,
}

impl LineReader {
    /// A reader that accepts lines of at most `max_len` bytes, terminator
    /// included (RFC 5321 §4.5.3.1.6 counts the CRLF in its 1000 octets).
    pub fn new(max_len: usize) -> Self {
        LineReader {
            buf: Vec::new(),
            max_len,
            ends: Ends::LfOrCrlf,
            discarding: false,
            reported: false,
        }
    }

    /// Reads the lines from here on as ending at `ends`; what is buffered
    /// is read so too.
    pub fn set_ends(&mut self, ends: Ends) {
        self.ends = ends;
    }

    /// Appends received bytes.
    pub fn push(&mut self, data: &[u8]) {
        self.buf.extend_from_slice(data);
    }

    /// Bytes buffered but not yet returned as a line.
    pub fn buffered(&self) -> usize {
        self.buf.len()
    }

    /// Takes up to `n` raw bytes from the buffer (for protocols that switch
    /// to counted data, like IMAP literals).
    pub fn take_raw(&mut self, n: usize) -> Vec<u8> {
        let n = n.min(self.buf.len());
        self.buf.drain(..n).collect()
    }

    /// The next complete line, if one is buffered.
    pub fn next_line(&mut self) -> Option<Line> {
        loop {
            let end = match self.ends {
                Ends::LfOrCrlf => self.buf.iter().position(|&b| b == b'\n'),
                Ends::Crlf => self
                    .buf
                    .windows(2)
                    .position(|w| w == b"\r\n")
                    .map(|p| p + 1),
            };
            match end {
                Some(pos) => {
                    let mut line: Vec<u8> = self.buf.drain(..=pos).collect();
                    if self.discarding {
                        self.discarding = false;
                        if self.reported {
                            self.reported = false;
                            continue;
                        }
                        return Some(Line::TooLong);
                    }
                    if line.len() > self.max_len {
                        return Some(Line::TooLong);
                    }
                    line.pop();
                    if line.last() == Some(&b'\r') {
                        line.pop();
                    }
                    return Some(Line::Complete(line));
                }
                None => {
                    if self.buf.len() > self.max_len {
                        // Keep memory bounded: drop what we have of this line
                        // and report it once. Read to CRLF, a final CR may
                        // be half of the CRLF that ends it.
                        let keep_cr = self.ends == Ends::Crlf && self.buf.last() == Some(&b'\r');
                        self.buf.clear();
                        if keep_cr {
                            self.buf.push(b'\r');
                        }
                        if !self.discarding {
                            self.discarding = true;
                            self.reported = true;
                            return Some(Line::TooLong);
                        }
                    }
                    return None;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_across_pushes_and_joins_many() {
        let mut r = LineReader::new(100);
        r.push(b"HE");
        assert_eq!(r.next_line(), None);
        r.push(b"LO a\r\nNOOP\r\nQU");
        assert_eq!(r.next_line(), Some(Line::Complete(b"HELO a".to_vec())));
        assert_eq!(r.next_line(), Some(Line::Complete(b"NOOP".to_vec())));
        assert_eq!(r.next_line(), None);
        r.push(b"IT\n");
        assert_eq!(r.next_line(), Some(Line::Complete(b"QUIT".to_vec())));
    }

    #[test]
    fn over_long_line_is_reported_once_and_skipped() {
        let mut r = LineReader::new(10);
        r.push(&[b'x'; 25]);
        assert_eq!(r.next_line(), Some(Line::TooLong));
        assert_eq!(r.next_line(), None);
        r.push(b"yyyy\r\nok\r\n");
        assert_eq!(r.next_line(), Some(Line::Complete(b"ok".to_vec())));
        // A long line that arrives whole is also TooLong.
        r.push(b"0123456789abc\r\n");
        assert_eq!(r.next_line(), Some(Line::TooLong));
        assert_eq!(r.buffered(), 0);
    }

    #[test]
    fn read_to_crlf_a_bare_lf_is_part_of_the_line() {
        let mut r = LineReader::new(100);
        r.push(b"one\ntwo\r\n.\n\r\nQUIT\r\n");
        r.set_ends(Ends::Crlf);
        assert_eq!(r.next_line(), Some(Line::Complete(b"one\ntwo".to_vec())));
        assert_eq!(r.next_line(), Some(Line::Complete(b".\n".to_vec())));
        r.set_ends(Ends::LfOrCrlf);
        assert_eq!(r.next_line(), Some(Line::Complete(b"QUIT".to_vec())));
    }

    #[test]
    fn read_to_crlf_an_over_long_line_keeps_a_final_cr() {
        let mut r = LineReader::new(10);
        r.set_ends(Ends::Crlf);
        let mut long = vec![b'x'; 20];
        long.push(b'\r');
        r.push(&long);
        assert_eq!(r.next_line(), Some(Line::TooLong));
        // The LF that completes the CRLF ends the skipped line.
        r.push(b"\nok\r\n");
        assert_eq!(r.next_line(), Some(Line::Complete(b"ok".to_vec())));
    }
}
