//! The transfer commands (RFC 959 §4.1.3): LIST and NLST (with `ls`
//! options, `-R` bounded), MLSD and MLST (RFC 3659 §7), RETR, STOR and
//! APPE, and ABOR; how a transfer starts once its data connection is open
//! and how an upload ends.
//!
//! Not here: opening the data connection (`data`), the replies' order
//! while a transfer runs (the command queue in the parent module).

use bytes::Bytes;

use super::super::ascii;
use super::super::codes::*;
use super::super::{DataRequest, FileInfo, FileKind, FtpBackend, TransferType};
use super::{Channel, FtpServer, Job, State, Transfer, Upload, absolute, normalize, opening_text};
use crate::proto::date::{ftp_time_val, ls_date};

/// A listing as it travels: ASCII text, each line ended by CRLF.
fn listing_bytes(lines: &[String]) -> Bytes {
    let mut text = String::new();
    for line in lines {
        text.push_str(line);
        text.push_str("\r\n");
    }
    Bytes::from(text)
}

/// MLSD's and MLST's argument: a path, or the current directory.
fn mlsx_path(arg: Option<&str>) -> String {
    match arg.map(str::trim) {
        Some(p) if !p.is_empty() => p.to_string(),
        _ => ".".to_string(),
    }
}

/// The facts of RFC 3659 §7.5 chosen in `wanted` for an object at
/// absolute path `full`:
/// `type=file;size=47;modify=20250106090000;perm=rwadf;unique=...;`.
fn mlsx_facts(info: &FileInfo, full: &str, read_only: bool, wanted: &[&str]) -> String {
    let (kind, perm) = match (info.kind, read_only) {
        // §7.5.5: r read, w write, a append, d delete, f rename; for a
        // directory e enter, l list, c create files, m make directories.
        (FileKind::File, false) => ("file", "rwadf"),
        (FileKind::File, true) => ("file", "r"),
        (FileKind::Directory, false) => ("dir", "elcmdf"),
        (FileKind::Directory, true) => ("dir", "el"),
    };
    let mut facts = String::new();
    for &f in wanted {
        let value = match f {
            "type" => kind.to_string(),
            // A directory has no size of its own to report.
            "size" if info.kind == FileKind::File => info.size.to_string(),
            "size" => continue,
            "modify" => ftp_time_val(info.mtime),
            "perm" => perm.to_string(),
            _ => unique_id(full),
        };
        facts.push_str(&format!("{f}={value};"));
    }
    facts
}

/// §7.5.2: an identifier that is the same for the same object and
/// different for different ones: FNV-1a of its absolute path, in hex.
fn unique_id(full: &str) -> String {
    format!("{:016x}", crate::proto::fnv1a(full.as_bytes()))
}

/// Deepest level `LIST -R` descends to (the listed directory is level 1).
pub const RECURSIVE_MAX_DEPTH: usize = 16;

/// Most lines a `LIST -R` listing has.
pub const RECURSIVE_MAX_LINES: usize = 10_000;

/// LIST's argument split into `ls` options and the path: clients send
/// `LIST -la`, `LIST -a /pub` or `LIST -R`, which RFC 959 never defined
/// but every server accepts. Returns the option letters (`"laR"`) and the
/// path (`.` if none). Only `R` changes the listing; the others are
/// accepted and ignored.
fn list_args(arg: Option<&str>) -> (String, String) {
    let mut rest = arg.unwrap_or("").trim_start();
    let mut options = String::new();
    while let Some(after_dash) = rest.strip_prefix('-') {
        let (word, after) = after_dash.split_once(' ').unwrap_or((after_dash, ""));
        options.push_str(word);
        rest = after.trim_start();
    }
    let path = if rest.is_empty() {
        ".".to_string()
    } else {
        rest.to_string()
    };
    (options, path)
}

/// One line of `ls -l` output, the de facto LIST format that ftplib, curl
/// and graphical clients parse:
/// `-rw-r--r--    1 alice    ftp          1432 Mar  2 14:05 README.txt`.
fn list_line(info: &FileInfo, owner: &str, read_only: bool) -> String {
    let (kind, size) = match info.kind {
        FileKind::Directory => ('d', 4096),
        FileKind::File => ('-', info.size),
    };
    let perms = match (info.kind, read_only) {
        (FileKind::Directory, false) => "rwxr-xr-x",
        (FileKind::Directory, true) => "r-xr-xr-x",
        (FileKind::File, false) => "rw-r--r--",
        (FileKind::File, true) => "r--r--r--",
    };
    let owner: String = owner
        .chars()
        .filter(|c| !c.is_whitespace())
        .take(8)
        .collect();
    format!(
        "{kind}{perms}    1 {owner:<8} ftp      {size:>8} {} {}",
        ls_date(info.mtime),
        info.name
    )
}

impl FtpServer {
    pub(super) fn cmd_list(
        &mut self,
        user: &str,
        arg: Option<String>,
        names_only: bool,
        backend: &mut dyn FtpBackend,
    ) {
        self.rest_offset = 0;
        let (options, path) = list_args(arg.as_deref());
        let entries = match backend.list(user, &self.cwd, &path) {
            Ok(entries) => entries,
            // RFC 959 lists 450 (not 550) for LIST and NLST.
            Err(e) => return self.reply(FILE_UNAVAILABLE, format!("Cannot list {path}: {e}.")),
        };
        let read_only = backend.is_read_only(user);
        let line = |info: &FileInfo| {
            if names_only {
                info.name.clone()
            } else {
                list_line(info, user, read_only)
            }
        };
        // `ls -R`: only a directory has anything below it.
        let recursive = options.contains('R')
            && backend
                .stat(user, &self.cwd, &path)
                .is_ok_and(|info| info.kind == FileKind::Directory);
        let lines: Vec<String> = if recursive {
            let mut lines = Vec::new();
            self.list_tree(user, &path, entries, &line, backend, 0, &mut lines);
            lines
        } else {
            entries.iter().map(line).collect()
        };
        let dir = if path == "." { self.cwd.clone() } else { path };
        let job = Job::Send {
            payload: listing_bytes(&lines),
            what: if recursive {
                format!("recursive listing of {dir}")
            } else {
                format!("listing of {dir}")
            },
            listing: Some(lines),
        };
        self.start_transfer(job);
    }

    /// `LIST -R` as `ls -R` prints it: a `dir:` header, the directory's
    /// lines, then each subdirectory the same way after an empty line.
    /// Bounded by [`RECURSIVE_MAX_DEPTH`] levels and
    /// [`RECURSIVE_MAX_LINES`] lines, so a deep tree cannot make the
    /// listing endless.
    #[allow(clippy::too_many_arguments)]
    fn list_tree(
        &self,
        user: &str,
        dir: &str,
        entries: Vec<FileInfo>,
        line: &dyn Fn(&FileInfo) -> String,
        backend: &mut dyn FtpBackend,
        depth: usize,
        lines: &mut Vec<String>,
    ) {
        if lines.len() >= RECURSIVE_MAX_LINES {
            return;
        }
        if !lines.is_empty() {
            lines.push(String::new());
        }
        lines.push(format!("{dir}:"));
        for info in &entries {
            if lines.len() >= RECURSIVE_MAX_LINES {
                return;
            }
            lines.push(line(info));
        }
        if depth + 1 >= RECURSIVE_MAX_DEPTH {
            return;
        }
        for info in entries {
            if info.kind != FileKind::Directory {
                continue;
            }
            let sub = if dir.ends_with('/') {
                format!("{dir}{}", info.name)
            } else {
                format!("{dir}/{}", info.name)
            };
            // A directory that cannot be read is left out, as ls leaves
            // it out after its error message.
            if let Ok(children) = backend.list(user, &self.cwd, &sub) {
                self.list_tree(user, &sub, children, line, backend, depth + 1, lines);
            }
        }
    }

    /// MLSD (RFC 3659 §7): the entries of a directory, one per line, as
    /// `facts; name`, on the data connection.
    pub(super) fn cmd_mlsd(
        &mut self,
        user: &str,
        arg: Option<String>,
        backend: &mut dyn FtpBackend,
    ) {
        self.rest_offset = 0;
        let path = mlsx_path(arg.as_deref());
        // §7.2.1: MLSD lists a directory; a file is an error.
        match backend.stat(user, &self.cwd, &path) {
            Ok(info) if info.kind == FileKind::Directory => {}
            Ok(_) => return self.reply(BAD_ARGUMENTS, format!("{path} is not a directory.")),
            Err(e) => return self.reply(ACTION_NOT_TAKEN, format!("Cannot list {path}: {e}.")),
        }
        let entries = match backend.list(user, &self.cwd, &path) {
            Ok(entries) => entries,
            Err(e) => return self.reply(ACTION_NOT_TAKEN, format!("Cannot list {path}: {e}.")),
        };
        let read_only = backend.is_read_only(user);
        let dir = normalize(&absolute(&self.cwd, &path));
        let lines: Vec<String> = entries
            .iter()
            .map(|info| {
                let full = normalize(&absolute(&dir, &info.name));
                format!(
                    "{} {}",
                    mlsx_facts(info, &full, read_only, &self.mlst_facts),
                    info.name
                )
            })
            .collect();
        let job = Job::Send {
            payload: listing_bytes(&lines),
            what: format!("machine listing of {dir}"),
            listing: Some(lines),
        };
        self.start_transfer(job);
    }

    /// MLST (RFC 3659 §7): the facts of one object, in the reply itself.
    pub(super) fn cmd_mlst(
        &mut self,
        user: &str,
        arg: Option<String>,
        backend: &mut dyn FtpBackend,
    ) {
        let path = mlsx_path(arg.as_deref());
        match backend.stat(user, &self.cwd, &path) {
            Ok(info) => {
                let full = normalize(&absolute(&self.cwd, &path));
                let facts = mlsx_facts(&info, &full, backend.is_read_only(user), &self.mlst_facts);
                // §7.2: the facts line starts with a space.
                self.reply_multi(
                    FILE_ACTION_OK,
                    vec![
                        format!("Listing {path}"),
                        format!(" {facts} {full}"),
                        "End".to_string(),
                    ],
                );
            }
            Err(e) => self.reply(ACTION_NOT_TAKEN, format!("Cannot list {path}: {e}.")),
        }
    }

    pub(super) fn cmd_retr(&mut self, user: &str, path: &str, backend: &mut dyn FtpBackend) {
        let offset = std::mem::take(&mut self.rest_offset);
        let data = match backend.read(user, &self.cwd, path) {
            Ok(data) => data,
            Err(e) => return self.reply(ACTION_NOT_TAKEN, format!("Failed to open file: {e}.")),
        };
        let wire = match self.transfer_type {
            TransferType::Image => data,
            TransferType::Ascii => ascii::to_wire(&data),
        };
        // RFC 3659 §5: the restart marker counts octets of the transfer.
        let start = usize::try_from(offset)
            .unwrap_or(usize::MAX)
            .min(wire.len());
        let job = Job::Send {
            payload: wire.slice(start..),
            what: path.to_string(),
            listing: None,
        };
        self.start_transfer(job);
    }

    pub(super) fn cmd_stor(
        &mut self,
        user: &str,
        path: &str,
        append: bool,
        backend: &mut dyn FtpBackend,
    ) {
        let offset = std::mem::take(&mut self.rest_offset);
        if let Err(e) = backend.check_write(user, &self.cwd, path) {
            return self.name_error("Could not create file", e);
        }
        let upload = Upload {
            cwd: self.cwd.clone(),
            path: path.to_string(),
            append,
            offset: if append { 0 } else { offset },
        };
        self.start_transfer(Job::Receive(upload));
    }

    /// The transfer command was accepted: get a data connection for it.
    fn start_transfer(&mut self, job: Job) {
        match self.channel {
            Channel::None | Channel::Connecting => {
                self.reply(CANT_OPEN_DATA, "Use PORT or PASV first.");
            }
            Channel::Active(to) => {
                // RFC 959 §3.2: in active mode the server connects, from
                // its port 20, to the port the client named.
                self.data_requests.push_back(DataRequest::Connect { to });
                self.channel = Channel::Connecting;
                self.transfer = Transfer::Waiting(job);
                self.state = State::AwaitingDataConnection;
            }
            Channel::Listening(_) => {
                self.reply(OPENING_DATA, opening_text(&job, self.transfer_type));
                self.transfer = Transfer::Waiting(job);
                self.state = State::AwaitingDataConnection;
            }
            Channel::Open => {
                self.reply(
                    DATA_ALREADY_OPEN,
                    "Data connection already open; transfer starting.",
                );
                self.begin(job);
            }
        }
    }

    /// The data connection is open: move the bytes.
    pub(super) fn begin(&mut self, job: Job) {
        self.channel = Channel::Open;
        self.state = State::Transferring;
        match job {
            Job::Send {
                payload,
                what,
                listing,
            } => {
                let bytes = payload.len();
                if !payload.is_empty() {
                    self.data_requests.push_back(DataRequest::Send(payload));
                }
                // Stream mode: closing the connection marks end of file.
                self.data_requests.push_back(DataRequest::Close);
                self.transfer = Transfer::Sending {
                    bytes,
                    what,
                    listing,
                };
            }
            Job::Receive(upload) => {
                self.transfer = Transfer::Receiving {
                    upload,
                    buf: Vec::new(),
                    overflow: false,
                };
            }
        }
    }

    pub(super) fn finish_upload(
        &mut self,
        upload: Upload,
        buf: Vec<u8>,
        overflow: bool,
        backend: &mut dyn FtpBackend,
        now: i64,
    ) {
        if overflow {
            return self.reply(
                INSUFFICIENT_STORAGE,
                "Insufficient storage space: upload too large.",
            );
        }
        let data = match self.transfer_type {
            TransferType::Image => Bytes::from(buf),
            TransferType::Ascii => ascii::from_wire(&buf),
        };
        let bytes = data.len();
        let user = self.user.clone().unwrap_or_default();
        let (cwd, path) = (upload.cwd.as_str(), upload.path.as_str());
        let result = if upload.append {
            backend.append(&user, cwd, path, &data, now)
        } else if upload.offset > 0 {
            // REST + STOR resumes an upload: keep the first `offset` bytes.
            let old = backend.read(&user, cwd, path).unwrap_or_default();
            let keep = usize::try_from(upload.offset)
                .unwrap_or(usize::MAX)
                .min(old.len());
            let mut joined = old[..keep].to_vec();
            joined.extend_from_slice(&data);
            backend.write(&user, cwd, path, Bytes::from(joined), now)
        } else {
            backend.write(&user, cwd, path, data, now)
        };
        match result {
            Ok(()) => {
                self.data_summary(bytes, path, &[]);
                self.reply(CLOSING_DATA, "Transfer complete.");
            }
            Err(e) => self.name_error("Could not store file", e),
        }
    }

    pub(super) fn cmd_abor(&mut self) {
        if self.busy() {
            // RFC 959 §4.1.3 ABOR, second case: the transfer is cut off
            // (426), then the ABOR itself succeeded (226).
            self.drop_data();
            self.reply(TRANSFER_ABORTED, "Connection closed; transfer aborted.");
            self.reply(CLOSING_DATA, "Abort successful.");
        } else {
            // First case: nothing running; close any data connection.
            self.drop_data();
            self.reply(CLOSING_DATA, "No transfer to abort.");
        }
    }
}

#[cfg(test)]
mod unit_tests {
    use super::*;

    #[test]
    fn list_args_split_ls_options_from_the_path() {
        let args = list_args;
        assert_eq!(args(None), ("".into(), ".".into()));
        assert_eq!(args(Some("-la")), ("la".into(), ".".into()));
        assert_eq!(args(Some("-a -l /pub")), ("al".into(), "/pub".into()));
        assert_eq!(args(Some("docs")), ("".into(), "docs".into()));
        assert_eq!(args(Some("-R")), ("R".into(), ".".into()));
        assert_eq!(args(Some("-lR  pub")), ("lR".into(), "pub".into()));
        assert_eq!(args(Some("-")), ("".into(), ".".into()));
    }

    #[test]
    fn a_list_line_looks_like_ls() {
        let info = FileInfo {
            name: "README.txt".into(),
            kind: FileKind::File,
            size: 1432,
            mtime: 1_772_460_309,
        };
        assert_eq!(
            list_line(&info, "alice", false),
            "-rw-r--r--    1 alice    ftp          1432 Mar  2 14:05 README.txt"
        );
    }
}
