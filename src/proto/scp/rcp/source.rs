//! The source: the side that sends (the server under `scp -f`, the client
//! uploading). It plans the records for a tree of [`ScpEntry`]s (times
//! first with `-p`, `D` ... `E` around a directory's entries), sends one at
//! a time, waits for the sink's answer, and skips what the sink refused
//! (a file's bytes, a directory's whole contents).
//!
//! Not here: reading files from a file system (the caller builds the
//! tree), the records' syntax (the parent module).

use bytes::Bytes;
use std::collections::VecDeque;

use super::{RcpItem, RcpNote, RcpReader, RcpRecord, Response};

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

#[cfg(test)]
mod tests {
    use super::super::tests::{OPTIONS, fs, transfer};
    use super::super::{RcpNote, ScpEntry, Sink, Source};

    #[test]
    fn the_source_waits_for_the_sink_then_sends_one_record_at_a_time() {
        let tree = [ScpEntry::dir("d", vec![ScpEntry::file("a", &b"hi"[..])])];
        let mut source = Source::new(&tree, false);
        assert!(source.take_output().is_empty());
        source.handle_data(b"\0");
        assert_eq!(source.take_output(), b"D0755 0 d\n");
        source.handle_data(b"\0");
        assert_eq!(source.take_output(), b"C0644 2 a\n");
        source.handle_data(b"\0");
        assert_eq!(source.take_output(), b"hi\0");
        source.handle_data(b"\0");
        assert_eq!(source.take_output(), b"E\n");
        source.handle_data(b"\0");
        assert!(source.is_finished());
        assert_eq!(source.exit_status(), 0);
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
