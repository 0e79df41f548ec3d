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

use bytes::Bytes;
use std::collections::VecDeque;

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

/// Where a [`Sink`] puts what it receives: a file system on the server,
/// the downloaded files on the client. Paths are the sink's target joined
/// with the names from `C` and `D` records.
pub trait SinkTarget {
    /// True if `path` is an existing directory.
    fn is_dir(&self, path: &str) -> bool;
    /// Stores a received file; `Err` carries a message like "Permission
    /// denied".
    fn write_file(
        &mut self,
        path: &str,
        data: Bytes,
        mode: u32,
        mtime: Option<i64>,
    ) -> Result<(), String>;
    /// Creates a directory (only called if it does not exist).
    fn make_dir(&mut self, path: &str, mode: u32) -> Result<(), String>;
}

/// How a sink was started (`scp -t` options).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SinkOptions {
    /// `-r`: directories (`D`/`E` records) are allowed.
    pub recursive: bool,
    /// `-d`: the target must be an existing directory.
    pub target_must_be_dir: bool,
    /// Largest file accepted, in bytes; bigger ones get a warning.
    pub max_file_size: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SinkState {
    /// Waiting for a control record.
    Records,
    /// Reading a file's bytes.
    Body,
    /// Waiting for the source's status byte after the file's bytes.
    SourceStatus,
    Finished,
}

/// A file whose data is on its way.
#[derive(Debug, Clone)]
struct Incoming {
    path: String,
    name: String,
    mode: u32,
    mtime: Option<i64>,
    data: Vec<u8>,
}

/// The receiving half: acknowledges records and stores files.
#[derive(Debug, Clone)]
pub struct Sink {
    reader: RcpReader,
    options: SinkOptions,
    target: String,
    /// Directories entered with `D` records, innermost last.
    dirs: Vec<String>,
    pending_mtime: Option<i64>,
    incoming: Option<Incoming>,
    state: SinkState,
    output: Vec<u8>,
    notes: VecDeque<RcpNote>,
    errors: u32,
    failure: Option<String>,
    files_received: u32,
}

impl Sink {
    /// A sink storing into `target`; it says it is ready (`\0`) at once,
    /// or refuses if `-d` was given and `target` is not a directory.
    pub fn new<T: SinkTarget + ?Sized>(target: &str, options: SinkOptions, fs: &T) -> Sink {
        let mut sink = Sink {
            reader: RcpReader::new(),
            options,
            target: target.to_string(),
            dirs: Vec::new(),
            pending_mtime: None,
            incoming: None,
            state: SinkState::Records,
            output: Vec::new(),
            notes: VecDeque::new(),
            errors: 0,
            failure: None,
            files_received: 0,
        };
        if options.target_must_be_dir && !fs.is_dir(target) {
            let message = format!("scp: {target}: Not a directory");
            sink.respond(Response::Fatal(message.clone()));
            sink.failure = Some(message);
            sink.errors += 1;
            sink.state = SinkState::Finished;
        } else {
            sink.respond(Response::Ok);
        }
        sink
    }

    /// Feeds bytes from the source.
    pub fn handle_data<T: SinkTarget + ?Sized>(&mut self, data: &[u8], fs: &mut T) {
        if self.state == SinkState::Finished {
            return;
        }
        self.reader.push(data);
        while self.state != SinkState::Finished {
            let Some(item) = self.reader.next_item() else {
                break;
            };
            match self.state {
                SinkState::Records => self.on_record(item, fs),
                SinkState::Body => self.on_body(item),
                SinkState::SourceStatus => self.on_source_status(item, fs),
                SinkState::Finished => {}
            }
        }
    }

    /// The source closed its stream: fine between records at the top
    /// level, an error anywhere else.
    pub fn handle_eof(&mut self) {
        if self.state == SinkState::Finished {
            return;
        }
        if self.state != SinkState::Records || !self.dirs.is_empty() {
            self.errors += 1;
            self.failure = Some("unexpected end of stream".to_string());
        }
        self.state = SinkState::Finished;
    }

    /// Bytes to send to the source.
    pub fn take_output(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.output)
    }

    /// The next transcript note.
    pub fn poll_note(&mut self) -> Option<RcpNote> {
        self.notes.pop_front()
    }

    /// True once the sink is done (end of stream or a fatal error).
    pub fn is_finished(&self) -> bool {
        self.state == SinkState::Finished
    }

    /// Why the transfer failed, if it did.
    pub fn failure(&self) -> Option<&str> {
        self.failure.as_deref()
    }

    /// Files stored so far.
    pub fn files_received(&self) -> u32 {
        self.files_received
    }

    /// The exit status scp would report: 0 if everything arrived, 1 if
    /// anything failed.
    pub fn exit_status(&self) -> u32 {
        u32::from(self.errors > 0)
    }

    fn on_record<T: SinkTarget + ?Sized>(&mut self, item: RcpItem, fs: &mut T) {
        match item {
            RcpItem::Record(record) => {
                self.notes.push_back(RcpNote::Received(record.to_line()));
                match record {
                    RcpRecord::Time { mtime, .. } => {
                        self.pending_mtime = Some(mtime);
                        self.respond(Response::Ok);
                    }
                    RcpRecord::Dir { mode, name } => self.enter_dir(mode, &name, fs),
                    RcpRecord::EndDir => {
                        if self.dirs.pop().is_some() {
                            self.respond(Response::Ok);
                        } else {
                            self.fatal("E without a directory");
                        }
                    }
                    RcpRecord::File { mode, size, name } => self.start_file(mode, size, &name, fs),
                }
            }
            // The source reports a file it could not read: it goes on
            // without waiting for an answer.
            RcpItem::Response(Response::Warning(message)) => {
                self.notes
                    .push_back(RcpNote::Received(Response::Warning(message).describe()));
                self.errors += 1;
            }
            RcpItem::Response(Response::Fatal(message)) => {
                self.notes.push_back(RcpNote::Received(
                    Response::Fatal(message.clone()).describe(),
                ));
                self.errors += 1;
                self.failure = Some(message);
                self.state = SinkState::Finished;
            }
            RcpItem::Response(Response::Ok) | RcpItem::Body(_) => {
                self.fatal("expected control record");
            }
            RcpItem::Malformed(why) => self.fatal(&why),
        }
    }

    fn enter_dir<T: SinkTarget + ?Sized>(&mut self, mode: u32, name: &str, fs: &mut T) {
        self.pending_mtime = None;
        if !self.options.recursive {
            self.fatal("received directory without -r");
            return;
        }
        if !valid_name(name) {
            self.fatal(&format!("unexpected filename: {name}"));
            return;
        }
        let path = self.destination(name, fs);
        if !fs.is_dir(&path)
            && let Err(why) = fs.make_dir(&path, mode & MODE_MASK)
        {
            // The source skips this directory's contents.
            self.errors += 1;
            self.respond(Response::Warning(format!("scp: {path}: {why}")));
            return;
        }
        self.dirs.push(path);
        self.respond(Response::Ok);
    }

    fn start_file<T: SinkTarget + ?Sized>(&mut self, mode: u32, size: u64, name: &str, fs: &T) {
        let mtime = self.pending_mtime.take();
        // A name with a slash or `..` would write outside the target: the
        // classic rcp path traversal (CVE-2018-20685 and CVE-2019-6111
        // were of this family).
        if !valid_name(name) {
            self.fatal(&format!("unexpected filename: {name}"));
            return;
        }
        if size > self.options.max_file_size {
            self.errors += 1;
            self.respond(Response::Warning(format!("scp: {name}: file too large")));
            return;
        }
        let path = self.destination(name, fs);
        self.incoming = Some(Incoming {
            path,
            name: name.to_string(),
            mode: mode & MODE_MASK,
            mtime,
            data: Vec::new(),
        });
        self.respond(Response::Ok);
        self.state = SinkState::Body;
        self.reader.expect_body(size);
    }

    fn on_body(&mut self, item: RcpItem) {
        let (RcpItem::Body(data), Some(incoming)) = (item, self.incoming.as_mut()) else {
            self.fatal("expected file data");
            return;
        };
        self.notes.push_back(RcpNote::Data(format!(
            "({} bytes of {})",
            data.len(),
            incoming.name
        )));
        incoming.data = data;
        self.state = SinkState::SourceStatus;
    }

    fn on_source_status<T: SinkTarget + ?Sized>(&mut self, item: RcpItem, fs: &mut T) {
        let RcpItem::Response(status) = item else {
            self.fatal("expected status after file data");
            return;
        };
        self.notes.push_back(RcpNote::Received(status.describe()));
        self.state = SinkState::Records;
        let Some(file) = self.incoming.take() else {
            self.fatal("status without a file");
            return;
        };
        match status {
            Response::Ok => {
                let stored =
                    fs.write_file(&file.path, Bytes::from(file.data), file.mode, file.mtime);
                match stored {
                    Ok(()) => {
                        self.files_received += 1;
                        self.respond(Response::Ok);
                    }
                    Err(why) => {
                        self.errors += 1;
                        self.respond(Response::Warning(format!("scp: {}: {why}", file.path)));
                    }
                }
            }
            // The source could not read the whole file: drop it, go on.
            Response::Warning(_) => {
                self.errors += 1;
                self.respond(Response::Ok);
            }
            Response::Fatal(message) => {
                self.errors += 1;
                self.failure = Some(message);
                self.state = SinkState::Finished;
            }
        }
    }

    /// Where a record called `name` goes: inside the current directory,
    /// or the target itself if the target is not a directory (`scp a.txt
    /// host:b.txt` renames).
    fn destination<T: SinkTarget + ?Sized>(&self, name: &str, fs: &T) -> String {
        let current = self.dirs.last().unwrap_or(&self.target);
        if fs.is_dir(current) {
            join_path(current, name)
        } else {
            current.clone()
        }
    }

    fn respond(&mut self, response: Response) {
        self.notes.push_back(RcpNote::Sent(response.describe()));
        self.output.extend(response.to_bytes());
    }

    /// A protocol error: tell the source and stop.
    fn fatal(&mut self, why: &str) {
        let message = format!("scp: protocol error: {why}");
        self.respond(Response::Fatal(message.clone()));
        self.errors += 1;
        self.failure = Some(message);
        self.state = SinkState::Finished;
    }
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

/// A file or directory tree for a [`Source`] to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScpEntry {
    File {
        name: String,
        /// Permission bits, e.g. `0o644`.
        mode: u32,
        /// Modification time (Unix seconds), sent with `-p`.
        mtime: Option<i64>,
        data: Bytes,
    },
    Dir {
        name: String,
        mode: u32,
        mtime: Option<i64>,
        entries: Vec<ScpEntry>,
    },
}

impl ScpEntry {
    /// A file with mode 0644 and no time.
    pub fn file(name: &str, data: impl Into<Bytes>) -> ScpEntry {
        ScpEntry::File {
            name: name.to_string(),
            mode: 0o644,
            mtime: None,
            data: data.into(),
        }
    }

    /// A directory with mode 0755 and no time.
    pub fn dir(name: &str, entries: Vec<ScpEntry>) -> ScpEntry {
        ScpEntry::Dir {
            name: name.to_string(),
            mode: 0o755,
            mtime: None,
            entries,
        }
    }

    /// True for a directory.
    pub fn is_dir(&self) -> bool {
        matches!(self, ScpEntry::Dir { .. })
    }
}

/// One thing the source will do.
#[derive(Debug, Clone)]
enum Step {
    /// Send a record and wait for its response; if the sink refuses it,
    /// skip the next `skip_if_refused` steps (the file's data, or a
    /// directory's contents).
    Record {
        record: RcpRecord,
        skip_if_refused: usize,
    },
    /// Send a file's data and the `\0` status, then wait for the response.
    FileData { name: String, data: Bytes },
    /// Report a problem (`\1message`) and go on without waiting.
    Error(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SourceState {
    /// Waiting for the sink's first `\0`.
    WaitingReady,
    /// Waiting for the response to what was just sent.
    AwaitingResponse,
    Finished,
}

/// The sending half: sends records and data, reads responses.
#[derive(Debug, Clone)]
pub struct Source {
    reader: RcpReader,
    steps: VecDeque<Step>,
    skip_if_refused: usize,
    state: SourceState,
    output: Vec<u8>,
    notes: VecDeque<RcpNote>,
    errors: u32,
    failure: Option<String>,
}

impl Source {
    /// A source that will send `entries`, with `T` records if
    /// `preserve_times` (`-p`). It waits for the sink to be ready.
    pub fn new(entries: &[ScpEntry], preserve_times: bool) -> Source {
        let mut steps = Vec::new();
        for entry in entries {
            plan(entry, preserve_times, &mut steps);
        }
        Source::with_steps(steps)
    }

    /// A source that has nothing to send but an error, e.g. "scp: x: No
    /// such file or directory".
    pub fn failing(message: &str) -> Source {
        Source::with_steps(vec![Step::Error(message.to_string())])
    }

    fn with_steps(steps: Vec<Step>) -> Source {
        Source {
            reader: RcpReader::new(),
            steps: steps.into(),
            skip_if_refused: 0,
            state: SourceState::WaitingReady,
            output: Vec::new(),
            notes: VecDeque::new(),
            errors: 0,
            failure: None,
        }
    }

    /// Feeds bytes from the sink.
    pub fn handle_data(&mut self, data: &[u8]) {
        if self.state == SourceState::Finished {
            return;
        }
        self.reader.push(data);
        while self.state != SourceState::Finished {
            let Some(item) = self.reader.next_item() else {
                break;
            };
            let RcpItem::Response(response) = item else {
                self.fail("scp: protocol error: expected a response".to_string());
                break;
            };
            self.notes.push_back(RcpNote::Received(response.describe()));
            match (self.state, response) {
                (_, Response::Ok) => self.advance(),
                // The sink cannot take anything (e.g. not a directory).
                (SourceState::WaitingReady, Response::Warning(m) | Response::Fatal(m)) => {
                    self.fail(m)
                }
                (_, Response::Warning(_)) => {
                    self.errors += 1;
                    for _ in 0..self.skip_if_refused {
                        self.steps.pop_front();
                    }
                    self.advance();
                }
                (_, Response::Fatal(m)) => self.fail(m),
            }
        }
    }

    /// Bytes to send to the sink.
    pub fn take_output(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.output)
    }

    /// The next transcript note.
    pub fn poll_note(&mut self) -> Option<RcpNote> {
        self.notes.pop_front()
    }

    /// True once everything was sent and acknowledged, or it failed.
    pub fn is_finished(&self) -> bool {
        self.state == SourceState::Finished
    }

    /// Why the transfer failed, if it did.
    pub fn failure(&self) -> Option<&str> {
        self.failure.as_deref()
    }

    /// 0 if every item went through, 1 otherwise.
    pub fn exit_status(&self) -> u32 {
        u32::from(self.errors > 0)
    }

    /// The sink peer went away before the end.
    pub fn handle_eof(&mut self) {
        if self.state != SourceState::Finished {
            self.fail("unexpected end of stream".to_string());
        }
    }

    /// Sends the next step(s) until one needs a response.
    fn advance(&mut self) {
        loop {
            let Some(step) = self.steps.pop_front() else {
                self.state = SourceState::Finished;
                return;
            };
            match step {
                Step::Record {
                    record,
                    skip_if_refused,
                } => {
                    let line = record.to_line();
                    self.output.extend_from_slice(line.as_bytes());
                    self.output.push(b'\n');
                    self.notes.push_back(RcpNote::Sent(line));
                    self.skip_if_refused = skip_if_refused;
                    self.state = SourceState::AwaitingResponse;
                    return;
                }
                Step::FileData { name, data } => {
                    self.output.extend_from_slice(&data);
                    self.output.push(0);
                    let n = data.len();
                    self.notes
                        .push_back(RcpNote::Data(format!("({n} bytes of {name})")));
                    self.notes.push_back(RcpNote::Sent(Response::Ok.describe()));
                    self.skip_if_refused = 0;
                    self.state = SourceState::AwaitingResponse;
                    return;
                }
                Step::Error(message) => {
                    let response = Response::Warning(message);
                    self.output.extend(response.to_bytes());
                    self.notes.push_back(RcpNote::Sent(response.describe()));
                    self.errors += 1;
                }
            }
        }
    }

    fn fail(&mut self, message: String) {
        self.errors += 1;
        self.failure = Some(message);
        self.state = SourceState::Finished;
    }
}

/// Appends the steps that send `entry`.
fn plan(entry: &ScpEntry, preserve_times: bool, steps: &mut Vec<Step>) {
    let time_at = steps.len();
    let mtime = match entry {
        ScpEntry::File { mtime, .. } | ScpEntry::Dir { mtime, .. } => *mtime,
    };
    if preserve_times && let Some(mtime) = mtime {
        steps.push(Step::Record {
            record: RcpRecord::Time {
                mtime,
                atime: mtime,
            },
            skip_if_refused: 0,
        });
    }
    let record_at = steps.len();
    match entry {
        ScpEntry::File {
            name, mode, data, ..
        } => {
            steps.push(Step::Record {
                record: RcpRecord::File {
                    mode: *mode,
                    size: data.len() as u64,
                    name: name.clone(),
                },
                skip_if_refused: 1,
            });
            steps.push(Step::FileData {
                name: name.clone(),
                data: data.clone(),
            });
        }
        ScpEntry::Dir {
            name,
            mode,
            entries,
            ..
        } => {
            steps.push(Step::Record {
                record: RcpRecord::Dir {
                    mode: *mode,
                    name: name.clone(),
                },
                skip_if_refused: 0,
            });
            for child in entries {
                plan(child, preserve_times, steps);
            }
            steps.push(Step::Record {
                record: RcpRecord::EndDir,
                skip_if_refused: 0,
            });
            // Refused directory: skip its contents and its E.
            let after = steps.len() - record_at - 1;
            if let Some(Step::Record {
                skip_if_refused, ..
            }) = steps.get_mut(record_at)
            {
                *skip_if_refused = after;
            }
        }
    }
    // Refused times: skip the whole item.
    if record_at > time_at {
        let after = steps.len() - time_at - 1;
        if let Some(Step::Record {
            skip_if_refused, ..
        }) = steps.get_mut(time_at)
        {
            *skip_if_refused = after;
        }
    }
}

fn shorten(text: &str) -> String {
    text.chars().take(40).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::{BTreeMap, BTreeSet};

    /// A tiny file system for the sink.
    #[derive(Default)]
    struct Fs {
        dirs: BTreeSet<String>,
        files: BTreeMap<String, (Bytes, u32, Option<i64>)>,
        read_only: bool,
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
        ) -> Result<(), String> {
            if self.read_only {
                return Err("Permission denied".to_string());
            }
            self.files.insert(path.to_string(), (data, mode, mtime));
            Ok(())
        }
        fn make_dir(&mut self, path: &str, _mode: u32) -> Result<(), String> {
            if self.read_only {
                return Err("Permission denied".to_string());
            }
            self.dirs.insert(path.to_string());
            Ok(())
        }
    }

    fn fs() -> Fs {
        let mut fs = Fs::default();
        fs.dirs.insert("/up".to_string());
        fs
    }

    const OPTIONS: SinkOptions = SinkOptions {
        recursive: true,
        target_must_be_dir: false,
        max_file_size: 1000,
    };

    /// Runs a source against a sink until both are quiet.
    fn transfer(source: &mut Source, sink: &mut Sink, fs: &mut Fs, chunk: usize) {
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

    #[test]
    fn target_that_is_not_a_directory_is_a_rename() {
        let mut fs = fs();
        let mut sink = Sink::new("/up/b.txt", OPTIONS, &fs);
        let mut source = Source::new(&[ScpEntry::file("a.txt", &b"x"[..])], false);
        transfer(&mut source, &mut sink, &mut fs, 100);
        assert!(fs.files.contains_key("/up/b.txt"));
        // With -d the sink refuses at once.
        let options = SinkOptions {
            target_must_be_dir: true,
            ..OPTIONS
        };
        let mut sink = Sink::new("/up/b.txt", options, &fs);
        assert_eq!(sink.take_output(), b"\x02scp: /up/b.txt: Not a directory\n");
        assert!(sink.is_finished());
    }

    #[test]
    fn traversal_names_and_directories_without_r_are_fatal() {
        for (record, why) in [
            (&b"C0644 1 ../evil\n"[..], "unexpected filename: ../evil"),
            (b"C0644 1 ..\n", "unexpected filename: .."),
            (b"D0755 0 a/b\n", "unexpected filename: a/b"),
            (b"E\n", "E without a directory"),
            (b"hello\n", "expected control record, got \"hello\""),
        ] {
            let mut fs = fs();
            let mut sink = Sink::new("/up", OPTIONS, &fs);
            sink.take_output();
            sink.handle_data(record, &mut fs);
            let expected = format!("\x02scp: protocol error: {why}\n");
            assert_eq!(String::from_utf8_lossy(&sink.take_output()), expected);
            assert!(sink.is_finished());
            assert_eq!(sink.exit_status(), 1);
        }
        let mut fs = fs();
        let options = SinkOptions {
            recursive: false,
            ..OPTIONS
        };
        let mut sink = Sink::new("/up", options, &fs);
        sink.take_output();
        sink.handle_data(b"D0755 0 photos\n", &mut fs);
        assert_eq!(
            sink.take_output(),
            b"\x02scp: protocol error: received directory without -r\n"
        );
    }

    #[test]
    fn refused_items_are_skipped_by_the_source() {
        let mut fs = fs();
        fs.read_only = true;
        let tree = vec![
            ScpEntry::file("big", vec![0u8; 2000]),
            ScpEntry::dir("d", vec![ScpEntry::file("inner", &b"i"[..])]),
            ScpEntry::file("small", &b"s"[..]),
        ];
        let mut sink = Sink::new("/up", OPTIONS, &fs);
        let mut source = Source::new(&tree, false);
        transfer(&mut source, &mut sink, &mut fs, 100);
        assert!(source.is_finished() && sink.is_finished());
        // Too large, cannot mkdir, cannot write: three warnings, no data
        // sent for the refused file and directory.
        assert_eq!(source.exit_status(), 1);
        assert_eq!(sink.exit_status(), 1);
        assert!(fs.files.is_empty());
        let sent: Vec<_> = std::iter::from_fn(|| source.poll_note())
            .filter_map(|n| match n {
                RcpNote::Sent(s) => Some(s),
                _ => None,
            })
            .collect();
        assert_eq!(
            sent,
            vec!["C0644 2000 big", "D0755 0 d", "C0644 1 small", "\\0 (ok)"]
        );
    }

    #[test]
    fn a_failing_source_and_an_early_end() {
        let mut fs = fs();
        let mut sink = Sink::new("/up", OPTIONS, &fs);
        let mut source = Source::failing("scp: /nope: No such file or directory");
        transfer(&mut source, &mut sink, &mut fs, 100);
        assert!(source.is_finished());
        assert_eq!(source.exit_status(), 1);
        assert_eq!(sink.exit_status(), 1);
        assert_eq!(sink.failure(), None);

        let mut sink = Sink::new("/up", OPTIONS, &fs);
        sink.handle_data(b"C0644 10 a\nabc", &mut fs);
        sink.handle_eof();
        assert_eq!(sink.failure(), Some("unexpected end of stream"));
    }
}
