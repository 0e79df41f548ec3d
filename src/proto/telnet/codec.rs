//! Reading and writing the TELNET byte stream (RFC 854).
//!
//! [`Decoder`] turns received bytes into [`Item`]s: data bytes (with
//! `IAC IAC` as the data byte 255), option negotiations, two-byte
//! commands, and subnegotiations. A subnegotiation's parameters are
//! skipped, only counted, so a peer that opens `IAC SB` and never closes
//! it costs no memory. The decoder keeps its state between calls: a
//! command split across segments is read whole.
//!
//! [`LineEnds`] reads the NVT's end of line: CR LF, and CR NUL (the
//! Return key of many clients in character mode), each end one line; a
//! bare LF or CR counts as well. [`encode_text`] writes NVT text the
//! other way round.

use super::{DO, DONT, IAC, SB, SE, WILL, WONT};

/// A negotiation verb (RFC 854, RFC 855).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Verb {
    Will,
    Wont,
    Do,
    Dont,
}

impl Verb {
    /// The command byte that follows IAC.
    pub fn code(self) -> u8 {
        match self {
            Verb::Will => WILL,
            Verb::Wont => WONT,
            Verb::Do => DO,
            Verb::Dont => DONT,
        }
    }

    /// The verb a command byte stands for, if it is one.
    pub fn from_code(code: u8) -> Option<Verb> {
        match code {
            WILL => Some(Verb::Will),
            WONT => Some(Verb::Wont),
            DO => Some(Verb::Do),
            DONT => Some(Verb::Dont),
            _ => None,
        }
    }

    /// As RFC 854 writes it: `WILL`, `WONT`, `DO`, `DONT`.
    pub fn name(self) -> &'static str {
        match self {
            Verb::Will => "WILL",
            Verb::Wont => "WONT",
            Verb::Do => "DO",
            Verb::Dont => "DONT",
        }
    }

    /// The three bytes `IAC verb option`.
    pub fn encode(self, option: u8) -> [u8; 3] {
        [IAC, self.code(), option]
    }
}

/// One thing read from a TELNET stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Item {
    /// A data byte; `IAC IAC` is the data byte 255.
    Data(u8),
    /// `IAC WILL/WONT/DO/DONT option`.
    Negotiation(Verb, u8),
    /// A two-byte command: `IAC IP`, `IAC AYT`, `IAC GA`, `IAC NOP`, ...
    Command(u8),
    /// `IAC SB option ... IAC SE`, ended; `length` parameter bytes were
    /// skipped.
    Subnegotiation { option: u8, length: usize },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Data,
    /// After IAC.
    Iac,
    /// After IAC WILL/WONT/DO/DONT: the option byte comes next.
    Verb(Verb),
    /// After IAC SB: the option byte comes next.
    SbOption,
    /// Inside a subnegotiation.
    Sb {
        option: u8,
        length: usize,
    },
    /// After IAC inside a subnegotiation.
    SbIac {
        option: u8,
        length: usize,
    },
}

/// Reads a TELNET stream, byte by byte, across segments.
#[derive(Debug, Clone)]
pub struct Decoder {
    state: State,
}

impl Default for Decoder {
    fn default() -> Self {
        Decoder::new()
    }
}

impl Decoder {
    pub fn new() -> Decoder {
        Decoder { state: State::Data }
    }

    /// Reads `data`; returns each item with the index of the byte that
    /// completed it.
    pub fn decode(&mut self, data: &[u8]) -> Vec<(usize, Item)> {
        let mut out = Vec::new();
        let mut items = Vec::new();
        for (i, &b) in data.iter().enumerate() {
            self.feed(b, &mut items);
            out.extend(items.drain(..).map(|item| (i, item)));
        }
        out
    }

    /// Reads one byte, appending what it completes (at most two items) to
    /// `out`.
    pub fn feed(&mut self, b: u8, out: &mut Vec<Item>) {
        self.state = match self.state {
            State::Data if b == IAC => State::Iac,
            State::Data => {
                out.push(Item::Data(b));
                State::Data
            }
            State::Iac => self.after_iac(b, out),
            State::Verb(verb) => {
                out.push(Item::Negotiation(verb, b));
                State::Data
            }
            State::SbOption => State::Sb {
                option: b,
                length: 0,
            },
            State::Sb { option, length } if b == IAC => State::SbIac { option, length },
            State::Sb { option, length } => State::Sb {
                option,
                length: length.saturating_add(1),
            },
            // RFC 854: IAC IAC inside a subnegotiation is a parameter
            // byte 255.
            State::SbIac { option, length } if b == IAC => State::Sb {
                option,
                length: length.saturating_add(1),
            },
            State::SbIac { option, length } => {
                out.push(Item::Subnegotiation { option, length });
                if b == SE {
                    State::Data
                } else {
                    // IAC followed by anything but SE or IAC cannot be
                    // inside a subnegotiation: the peer forgot IAC SE.
                    // The subnegotiation ends here and the byte is read as
                    // the command it is, as BSD telnetd does.
                    self.after_iac(b, out)
                }
            }
        };
    }

    fn after_iac(&mut self, b: u8, out: &mut Vec<Item>) -> State {
        if b == IAC {
            out.push(Item::Data(IAC));
            return State::Data;
        }
        if let Some(verb) = Verb::from_code(b) {
            return State::Verb(verb);
        }
        if b == SB {
            return State::SbOption;
        }
        out.push(Item::Command(b));
        State::Data
    }
}

/// A key of the keyboard as a receiver reads it from the data bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Key {
    Byte(u8),
    /// The end of a line.
    Enter,
}

/// RFC 854's end of line, read: CR LF and CR NUL each end one line (many
/// clients send CR NUL for the Return key in character mode), and so do a
/// bare LF or CR.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LineEnds {
    after_cr: bool,
}

impl LineEnds {
    /// The key `b` stands for, or `None` for the LF or NUL that completes
    /// a CR.
    pub fn feed(&mut self, b: u8) -> Option<Key> {
        if std::mem::take(&mut self.after_cr) && (b == b'\n' || b == 0) {
            return None;
        }
        match b {
            b'\r' => {
                self.after_cr = true;
                Some(Key::Enter)
            }
            b'\n' => Some(Key::Enter),
            _ => Some(Key::Byte(b)),
        }
    }
}

/// NVT text (RFC 854): each line ends in CR LF, a CR that ends no line is
/// sent as CR NUL, and the byte 255 is doubled (IAC IAC).
pub fn encode_text(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len() + data.len() / 16 + 2);
    let mut i = 0;
    while i < data.len() {
        match data[i] {
            b'\r' if data.get(i + 1) == Some(&b'\n') => {
                out.extend_from_slice(b"\r\n");
                i += 1;
            }
            b'\r' => out.extend_from_slice(b"\r\0"),
            b'\n' => out.extend_from_slice(b"\r\n"),
            IAC => out.extend_from_slice(&[IAC, IAC]),
            b => out.push(b),
        }
        i += 1;
    }
    out
}

/// Data as it goes on the wire without any other change: the byte 255
/// doubled.
pub fn escape_iac(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len());
    for &b in data {
        out.push(b);
        if b == IAC {
            out.push(IAC);
        }
    }
    out
}

/// What a receiver's screen shows of a stream: its data bytes with the
/// commands removed and each end of line (CR LF, CR NUL, LF) as one LF.
/// Negotiations are returned beside it, in order.
pub fn screen_text(data: &[u8]) -> (Vec<u8>, Vec<(Verb, u8)>) {
    let mut decoder = Decoder::new();
    let mut ends = LineEnds::default();
    let mut text = Vec::with_capacity(data.len());
    let mut negotiations = Vec::new();
    for (_, item) in decoder.decode(data) {
        match item {
            Item::Data(b) => match ends.feed(b) {
                Some(Key::Byte(b)) => text.push(b),
                Some(Key::Enter) => text.push(b'\n'),
                None => {}
            },
            Item::Negotiation(verb, option) => negotiations.push((verb, option)),
            Item::Command(_) | Item::Subnegotiation { .. } => {}
        }
    }
    (text, negotiations)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::telnet::{AYT, IP, OPT_ECHO};

    fn items(data: &[u8]) -> Vec<Item> {
        Decoder::new()
            .decode(data)
            .into_iter()
            .map(|(_, i)| i)
            .collect()
    }

    #[test]
    fn commands_negotiations_and_doubled_iac() {
        assert_eq!(
            items(b"a\xff\xfb\x01\xff\xffb\xff\xf4\xff\xf6"),
            vec![
                Item::Data(b'a'),
                Item::Negotiation(Verb::Will, OPT_ECHO),
                Item::Data(255),
                Item::Data(b'b'),
                Item::Command(IP),
                Item::Command(AYT),
            ]
        );
    }

    #[test]
    fn a_command_split_across_segments_is_read_whole() {
        let mut d = Decoder::new();
        assert!(d.decode(b"\xff").is_empty());
        assert!(d.decode(b"\xfd").is_empty());
        assert_eq!(
            d.decode(b"\x03x"),
            vec![(0, Item::Negotiation(Verb::Do, 3)), (1, Item::Data(b'x'))]
        );
    }

    #[test]
    fn subnegotiation_is_skipped_and_counted() {
        // IAC SB TERMINAL-TYPE IS "vt100" IAC SE, with a doubled IAC.
        assert_eq!(
            items(b"\xff\xfa\x18\x00vt\xff\xff100\xff\xf0z"),
            vec![
                Item::Subnegotiation {
                    option: 24,
                    length: 7
                },
                Item::Data(b'z')
            ]
        );
        // IAC WILL inside a subnegotiation ends it and is read.
        assert_eq!(
            items(b"\xff\xfa\x18abc\xff\xfb\x01"),
            vec![
                Item::Subnegotiation {
                    option: 24,
                    length: 3
                },
                Item::Negotiation(Verb::Will, 1)
            ]
        );
        // A subnegotiation that never ends holds no bytes.
        let mut d = Decoder::new();
        assert!(d.decode(b"\xff\xfa\x18").is_empty());
        assert!(d.decode(&[b'x'; 100_000]).is_empty());
        assert_eq!(
            d.decode(b"\xff\xf0"),
            vec![(
                1,
                Item::Subnegotiation {
                    option: 24,
                    length: 100_000
                }
            )]
        );
    }

    #[test]
    fn line_ends() {
        let keys = |data: &[u8]| -> Vec<Key> {
            let mut e = LineEnds::default();
            data.iter().filter_map(|&b| e.feed(b)).collect()
        };
        use Key::{Byte, Enter};
        assert_eq!(keys(b"a\r\nb"), vec![Byte(b'a'), Enter, Byte(b'b')]);
        assert_eq!(keys(b"a\r\0b"), vec![Byte(b'a'), Enter, Byte(b'b')]);
        assert_eq!(keys(b"a\nb\r"), vec![Byte(b'a'), Enter, Byte(b'b'), Enter]);
        assert_eq!(keys(b"\r\r\n"), vec![Enter, Enter]);
        assert_eq!(keys(b"\0"), vec![Byte(0)]);
    }

    #[test]
    fn nvt_text_round_trips() {
        let text = b"one\ntwo\r\nthree\rfour\xff";
        let wire = encode_text(text);
        assert_eq!(wire, b"one\r\ntwo\r\nthree\r\0four\xff\xff");
        let (screen, negotiations) = screen_text(&wire);
        assert_eq!(screen, b"one\ntwo\nthree\nfour\xff");
        assert!(negotiations.is_empty());
        assert_eq!(escape_iac(b"a\xffb"), b"a\xff\xffb");
    }
}
