//! The rcp protocol: how scp moves files once the channel is open.
//!
//! This is the classic protocol of BSD `rcp`, which OpenSSH's `scp` still
//! speaks in its legacy mode (`scp -O`). The client runs `scp -t <path>`
//! ("to": the remote side is the *sink*) to upload, or `scp -f <path>`
//! ("from": the remote side is the *source*) to download. Then the source
//! sends control records, each one line, and the sink acknowledges each:
//!
//! ```text
//! T<mtime> 0 <atime> 0        times for the next file or directory (-p)
//! C<mode> <size> <name>       a file: then <size> bytes and a \0
//! D<mode> 0 <name>            enter a directory (-r)
//! E                           leave it
//! ```
//!
//! A response is one byte `\0` (ok), or `\1` (warning) or `\2` (fatal)
//! followed by a message line. The sink starts by sending `\0` to say it
//! is ready. The dialogue for one file:
//!
//! ```text
//! sink:   \0
//! source: C0644 5 a.txt\n
//! sink:   \0
//! source: hello\0          the data, then the source's own status
//! sink:   \0
//! ```
//!
//! [`Sink`] and [`Source`] are the two halves, shared by the server and
//! the client. They read and write the byte stream only; the channel
//! carries it.
//!
//! The pieces: this file has the records, the responses and the reader
//! that splits the stream into them; `sink` receives (`scp -t`, or the
//! client downloading); `source` sends (`scp -f`, or the client
//! uploading).

mod sink;
mod source;

pub use sink::{Sink, SinkOptions, SinkTarget, WriteError};
pub use source::{ScpEntry, Source};

/// Longest control line, newline included (OpenSSH reads them into a
/// 2048-byte buffer; a little more room for long names).
pub const MAX_CONTROL_LINE: usize = 4096;
/// Mode bits a record may carry: permissions plus setuid, setgid, sticky.
const MODE_MASK: u32 = 0o7777;

/// A control record sent by the source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RcpRecord {
    /// `C0644 1432 report.pdf`: a file of `size` bytes follows.
    File { mode: u32, size: u64, name: String },
    /// `D0755 0 photos`: the following records are inside this directory.
    Dir { mode: u32, name: String },
    /// `E`: end of the current directory.
    EndDir,
    /// `T1700000000 0 1700000000 0`: modification and access times (Unix
    /// seconds; the microsecond fields are always 0 here) of the next file
    /// or directory.
    Time { mtime: i64, atime: i64 },
}

impl RcpRecord {
    /// The record's line, without the newline.
    pub fn to_line(&self) -> String {
        match self {
            RcpRecord::File { mode, size, name } => {
                format!("C{:04o} {size} {name}", mode & MODE_MASK)
            }
            RcpRecord::Dir { mode, name } => format!("D{:04o} 0 {name}", mode & MODE_MASK),
            RcpRecord::EndDir => "E".to_string(),
            RcpRecord::Time { mtime, atime } => format!("T{mtime} 0 {atime} 0"),
        }
    }

    /// Parses a record line (without the newline).
    pub fn parse(line: &[u8]) -> Result<RcpRecord, String> {
        let Ok(text) = std::str::from_utf8(line) else {
            return Err("record is not UTF-8".to_string());
        };
        let mut chars = text.chars();
        match chars.next() {
            Some('C') => {
                let (mode, size, name) = parse_mode_size_name(chars.as_str())?;
                Ok(RcpRecord::File { mode, size, name })
            }
            Some('D') => {
                let (mode, _, name) = parse_mode_size_name(chars.as_str())?;
                Ok(RcpRecord::Dir { mode, name })
            }
            Some('E') if text == "E" => Ok(RcpRecord::EndDir),
            Some('T') => parse_times(chars.as_str()),
            _ => Err(format!("expected control record, got {:?}", shorten(text))),
        }
    }
}

/// `0644 1432 report.pdf` after the C or D.
fn parse_mode_size_name(text: &str) -> Result<(u32, u64, String), String> {
    // Exactly four octal digits, as OpenSSH's sink reads them.
    let mode_digits = text.get(..4).ok_or("bad mode")?;
    if !mode_digits.bytes().all(|b| (b'0'..=b'7').contains(&b)) {
        return Err("bad mode".to_string());
    }
    let mode = u32::from_str_radix(mode_digits, 8).map_err(|_| "bad mode")?;
    let rest = text[4..].strip_prefix(' ').ok_or("mode not delimited")?;
    let (size, name) = rest.split_once(' ').ok_or("size not delimited")?;
    if size.is_empty() || !size.bytes().all(|b| b.is_ascii_digit()) {
        return Err("bad size".to_string());
    }
    let size: u64 = size.parse().map_err(|_| "bad size")?;
    Ok((mode, size, name.to_string()))
}

/// `1700000000 0 1700000000 0` after the T.
fn parse_times(text: &str) -> Result<RcpRecord, String> {
    let fields: Vec<&str> = text.split(' ').collect();
    let [mtime, mtime_usec, atime, atime_usec] = fields.as_slice() else {
        return Err("bad time record".to_string());
    };
    let seconds = |s: &str| -> Result<i64, String> {
        if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err("bad time".to_string());
        }
        s.parse::<i64>().map_err(|_| "bad time".to_string())
    };
    let micros = |s: &str| -> Result<(), String> {
        match seconds(s) {
            Ok(us) if us < 1_000_000 => Ok(()),
            _ => Err("bad microseconds".to_string()),
        }
    };
    micros(mtime_usec)?;
    micros(atime_usec)?;
    Ok(RcpRecord::Time {
        mtime: seconds(mtime)?,
        atime: seconds(atime)?,
    })
}

/// The answer to a record (or the source's status after file data).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Response {
    /// `\0`: go on.
    Ok,
    /// `\1message\n`: this item failed, the transfer goes on.
    Warning(String),
    /// `\2message\n`: the transfer is over.
    Fatal(String),
}

impl Response {
    /// The response's bytes. A newline inside the message would end it
    /// early, so it becomes a space.
    pub fn to_bytes(&self) -> Vec<u8> {
        let (code, message) = match self {
            Response::Ok => return vec![0],
            Response::Warning(m) => (1u8, m),
            Response::Fatal(m) => (2u8, m),
        };
        let mut out = vec![code];
        out.extend(message.replace('\n', " ").into_bytes());
        out.push(b'\n');
        out
    }

    /// How a transcript shows it: `\0 (ok)`, `\1 message`, `\2 message`.
    pub fn describe(&self) -> String {
        match self {
            Response::Ok => "\\0 (ok)".to_string(),
            Response::Warning(m) => format!("\\1 {m}"),
            Response::Fatal(m) => format!("\\2 {m}"),
        }
    }
}

/// What an [`RcpReader`] found in the stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RcpItem {
    Record(RcpRecord),
    Response(Response),
    /// A file's data, complete.
    Body(Vec<u8>),
    /// Bytes that are not rcp; the reader skipped what it had.
    Malformed(String),
}

/// Splits the rcp byte stream into records, responses and file bodies.
#[derive(Debug, Clone, Default)]
pub struct RcpReader {
    buf: Vec<u8>,
    /// `Some(n)` while reading a file body with `n` bytes still to come.
    body_remaining: Option<u64>,
    body: Vec<u8>,
}

impl RcpReader {
    pub fn new() -> RcpReader {
        RcpReader::default()
    }

    /// Appends received bytes.
    pub fn push(&mut self, data: &[u8]) {
        self.buf.extend_from_slice(data);
    }

    /// The next `size` bytes are a file body (after a `C` record was
    /// accepted).
    pub fn expect_body(&mut self, size: u64) {
        self.body_remaining = Some(size);
        self.body.clear();
    }

    /// The next item, or `None` if more bytes are needed.
    pub fn next_item(&mut self) -> Option<RcpItem> {
        if let Some(remaining) = self.body_remaining {
            let n = (remaining.min(self.buf.len() as u64)) as usize;
            self.body.extend(self.buf.drain(..n));
            let remaining = remaining - n as u64;
            if remaining > 0 {
                self.body_remaining = Some(remaining);
                return None;
            }
            self.body_remaining = None;
            return Some(RcpItem::Body(std::mem::take(&mut self.body)));
        }
        let &first = self.buf.first()?;
        if first == 0 {
            self.buf.remove(0);
            return Some(RcpItem::Response(Response::Ok));
        }
        let Some(newline) = self.buf.iter().position(|&b| b == b'\n') else {
            if self.buf.len() >= MAX_CONTROL_LINE {
                self.buf.clear();
                return Some(RcpItem::Malformed("control line too long".to_string()));
            }
            return None;
        };
        let line: Vec<u8> = self.buf.drain(..=newline).collect();
        let line = &line[..line.len() - 1];
        if line.len() >= MAX_CONTROL_LINE {
            return Some(RcpItem::Malformed("control line too long".to_string()));
        }
        let message = || String::from_utf8_lossy(&line[1..]).into_owned();
        Some(match first {
            1 => RcpItem::Response(Response::Warning(message())),
            2 => RcpItem::Response(Response::Fatal(message())),
            _ => match RcpRecord::parse(line) {
                Ok(record) => RcpItem::Record(record),
                Err(why) => RcpItem::Malformed(why),
            },
        })
    }
}

/// A line of the rcp dialogue for a transcript, from one end's view.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RcpNote {
    /// The peer sent this (a record or a response).
    Received(String),
    /// This end sent this.
    Sent(String),
    /// A file's data went by: `(1432 bytes of report.pdf)`.
    Data(String),
}

/// A name from a `C` or `D` record must be a single path component.
pub fn valid_name(name: &str) -> bool {
    !name.is_empty() && name != "." && name != ".." && !name.contains('/') && !name.contains('\0')
}

/// `dir` + `/` + `name`, without doubling slashes; an empty `dir` means
/// "here".
pub fn join_path(dir: &str, name: &str) -> String {
    if dir.is_empty() {
        name.to_string()
    } else if dir.ends_with('/') {
        format!("{dir}{name}")
    } else {
        format!("{dir}/{name}")
    }
}

fn shorten(text: &str) -> String {
    text.chars().take(40).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use std::collections::{BTreeMap, BTreeSet};

    /// A tiny file system for the sink.
    #[derive(Default)]
    pub(super) struct Fs {
        pub(super) dirs: BTreeSet<String>,
        pub(super) files: BTreeMap<String, (Bytes, u32, Option<i64>)>,
        pub(super) read_only: bool,
    }

    impl SinkTarget for Fs {
        fn is_dir(&self, path: &str) -> bool {
            self.dirs.contains(path)
        }
        fn write_file(
            &mut self,
            path: &str,
            data: Bytes,
            mode: u32,
            mtime: Option<i64>,
        ) -> Result<(), WriteError> {
            if self.read_only {
                return Err(WriteError::PermissionDenied);
            }
            self.files.insert(path.to_string(), (data, mode, mtime));
            Ok(())
        }
        fn make_dir(&mut self, path: &str, _mode: u32) -> Result<(), WriteError> {
            if self.read_only {
                return Err(WriteError::PermissionDenied);
            }
            self.dirs.insert(path.to_string());
            Ok(())
        }
    }

    pub(super) fn fs() -> Fs {
        let mut fs = Fs::default();
        fs.dirs.insert("/up".to_string());
        fs
    }

    pub(super) const OPTIONS: SinkOptions = SinkOptions {
        recursive: true,
        target_must_be_dir: false,
        max_file_size: 1000,
    };

    /// Runs a source against a sink until both are quiet.
    pub(super) fn transfer(source: &mut Source, sink: &mut Sink, fs: &mut Fs, chunk: usize) {
        loop {
            let to_source = sink.take_output();
            let to_sink = source.take_output();
            if to_source.is_empty() && to_sink.is_empty() {
                break;
            }
            for piece in to_source.chunks(chunk) {
                source.handle_data(piece);
            }
            for piece in to_sink.chunks(chunk) {
                sink.handle_data(piece, fs);
            }
        }
        if source.is_finished() {
            sink.handle_eof();
        }
    }

    fn notes(sink: &mut Sink) -> Vec<RcpNote> {
        std::iter::from_fn(|| sink.poll_note()).collect()
    }

    #[test]
    fn records_parse_and_print() {
        let cases: &[(&str, RcpRecord)] = &[
            (
                "C0644 1432 report.pdf",
                RcpRecord::File {
                    mode: 0o644,
                    size: 1432,
                    name: "report.pdf".into(),
                },
            ),
            (
                "D0755 0 photos",
                RcpRecord::Dir {
                    mode: 0o755,
                    name: "photos".into(),
                },
            ),
            ("E", RcpRecord::EndDir),
            (
                "T1700000000 0 1700000001 0",
                RcpRecord::Time {
                    mtime: 1_700_000_000,
                    atime: 1_700_000_001,
                },
            ),
            (
                "C0600 0 name with spaces",
                RcpRecord::File {
                    mode: 0o600,
                    size: 0,
                    name: "name with spaces".into(),
                },
            ),
        ];
        for (line, record) in cases {
            assert_eq!(RcpRecord::parse(line.as_bytes()).as_ref(), Ok(record));
            assert_eq!(&record.to_line(), line);
        }
        for bad in [
            "C644 1 a",
            "C0844 1 a",
            "C0644 x a",
            "C0644 1",
            "X",
            "Ex",
            "T1 0 2",
            "T1 0 2 1000000",
            "",
        ] {
            assert!(RcpRecord::parse(bad.as_bytes()).is_err(), "{bad}");
        }
        assert_eq!(Response::Warning("a\nb".into()).to_bytes(), b"\x01a b\n");
    }

    #[test]
    fn one_file_exact_bytes() {
        let mut fs = fs();
        let mut sink = Sink::new("/up", OPTIONS, &fs);
        assert_eq!(sink.take_output(), b"\0");
        sink.handle_data(b"C0644 5 a.txt\n", &mut fs);
        assert_eq!(sink.take_output(), b"\0");
        sink.handle_data(b"hel", &mut fs);
        sink.handle_data(b"lo\0", &mut fs);
        assert_eq!(sink.take_output(), b"\0");
        sink.handle_eof();
        assert_eq!(
            fs.files["/up/a.txt"],
            (Bytes::from_static(b"hello"), 0o644, None)
        );
        assert_eq!(sink.exit_status(), 0);
        assert_eq!(
            notes(&mut sink),
            vec![
                RcpNote::Sent("\\0 (ok)".into()),
                RcpNote::Received("C0644 5 a.txt".into()),
                RcpNote::Sent("\\0 (ok)".into()),
                RcpNote::Data("(5 bytes of a.txt)".into()),
                RcpNote::Received("\\0 (ok)".into()),
                RcpNote::Sent("\\0 (ok)".into()),
            ]
        );
    }

    #[test]
    fn a_tree_with_times_goes_through_whole_or_byte_by_byte() {
        let tree = vec![
            ScpEntry::File {
                name: "report.pdf".into(),
                mode: 0o600,
                mtime: Some(1_700_000_000),
                data: Bytes::from(vec![9u8; 300]),
            },
            ScpEntry::dir(
                "photos",
                vec![
                    ScpEntry::file("a.jpg", &b"AAAA"[..]),
                    ScpEntry::dir("empty", vec![]),
                    ScpEntry::file("zero", Bytes::new()),
                ],
            ),
        ];
        for chunk in [1, 7, 10_000] {
            let mut fs = fs();
            let mut sink = Sink::new("/up", OPTIONS, &fs);
            let mut source = Source::new(&tree, true);
            transfer(&mut source, &mut sink, &mut fs, chunk);
            assert!(source.is_finished() && sink.is_finished());
            assert_eq!((source.exit_status(), sink.exit_status()), (0, 0));
            assert_eq!(fs.files["/up/report.pdf"].2, Some(1_700_000_000));
            assert_eq!(fs.files["/up/report.pdf"].1, 0o600);
            assert_eq!(fs.files["/up/photos/a.jpg"].0, Bytes::from_static(b"AAAA"));
            assert!(fs.files["/up/photos/zero"].0.is_empty());
            assert!(fs.dirs.contains("/up/photos/empty"));
            assert_eq!(sink.files_received(), 3);
        }
    }
}
