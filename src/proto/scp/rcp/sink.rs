//! The sink: the side that receives (the server under `scp -t`, the client
//! downloading). It answers each record, checks that every name is one
//! path component (no `..`, no `/`), refuses directories without `-r`,
//! files over its size limit and what its file system will not take, and
//! stores each file once its bytes and the source's status are in.
//!
//! Not here: where the files go (a [`SinkTarget`]), the records' syntax
//! (the parent module).

use bytes::Bytes;
use std::collections::VecDeque;

use super::{MODE_MASK, RcpItem, RcpNote, RcpReader, RcpRecord, Response, join_path, valid_name};

/// Why a received file or directory could not be stored. scp reports it
/// after the path, in the C library's words (`scp: /pub/x: Permission
/// denied`), so each variant displays as its `strerror` text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum WriteError {
    /// A directory on the way is missing (ENOENT).
    #[error("No such file or directory")]
    NotFound,
    /// A component on the way is a file (ENOTDIR).
    #[error("Not a directory")]
    NotADirectory,
    /// A file was to be written where a directory is (EISDIR).
    #[error("Is a directory")]
    IsADirectory,
    /// The directory to create exists as a file (EEXIST).
    #[error("File exists")]
    Exists,
    /// A directory in the way still has entries (ENOTEMPTY).
    #[error("Directory not empty")]
    NotEmpty,
    /// The user may not write there (EACCES).
    #[error("Permission denied")]
    PermissionDenied,
    /// The write would go over the user's quota (EDQUOT).
    #[error("Disk quota exceeded")]
    QuotaExceeded,
    /// The path is not acceptable (EINVAL).
    #[error("Invalid argument")]
    InvalidPath,
}

/// Where a [`Sink`] puts what it receives: a file system on the server,
/// the downloaded files on the client. Paths are the sink's target joined
/// with the names from `C` and `D` records.
pub trait SinkTarget {
    /// True if `path` is an existing directory.
    fn is_dir(&self, path: &str) -> bool;
    /// Stores a received file.
    fn write_file(
        &mut self,
        path: &str,
        data: Bytes,
        mode: u32,
        mtime: Option<i64>,
    ) -> Result<(), WriteError>;
    /// Creates a directory (only called if it does not exist).
    fn make_dir(&mut self, path: &str, mode: u32) -> Result<(), WriteError>;
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

#[cfg(test)]
mod tests {
    use super::super::tests::{OPTIONS, fs, transfer};
    use super::super::{ScpEntry, Source};
    use super::*;

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
}
