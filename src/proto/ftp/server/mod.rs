//! The FTP server session: one control connection and the data
//! connections it sets up, as a sans-IO state machine.
//!
//! The driver feeds control bytes to [`FtpServer::handle_input`], sends what
//! [`poll_output`](crate::proto::Session::poll_output) returns, carries out
//! the [`DataRequest`]s of [`FtpServer::poll_data_request`], and reports
//! what happened to the data connection through the `handle_data_*`
//! methods. Files and accounts come from an [`FtpBackend`].
//!
//! RFC 959 §5.4 fixes the order of replies: while a transfer runs, the
//! session answers nothing but ABOR; commands that arrive meanwhile wait in
//! a short queue and are answered after the transfer's final reply.
//!
//! The pieces: this file is the session (its configuration, the command
//! queue and dispatch, the data connection's events, FEAT, OPTS and HELP,
//! the replies); `login` is USER/PASS and TLS; `files` the commands on
//! names and the transfer parameters; `data` sets up the data connection;
//! `transfer` lists, sends and receives over it.

use std::collections::VecDeque;
use std::net::{Ipv4Addr, SocketAddrV4};

use bytes::Bytes;

use super::codes::*;
use super::command::{Command, CommandError, IMPLEMENTED_VERBS, strip_telnet};
use super::reply::Reply;
use super::{DataPorts, DataRequest, FileError, FtpBackend, TransferType};
use crate::proto::line::{Line, LineReader};
use crate::proto::{BodyLines, Session, Transcript};

mod data;
mod files;
mod login;
mod transfer;

pub use transfer::{RECURSIVE_MAX_DEPTH, RECURSIVE_MAX_LINES};

/// The server's states, for the visualizer.
pub const STATES: &[&str] = &[
    "AWAITING-USER",
    "AWAITING-PASSWORD",
    "LOGGED-IN",
    "DATA-READY",
    "AWAITING-DATA-CONNECTION",
    "TRANSFERRING",
    "CLOSED",
];

/// The server's state diagram: `(from, to, label)`.
pub const TRANSITIONS: &[crate::proto::Transition] = &[
    ("AWAITING-USER", "AWAITING-PASSWORD", "USER / 331"),
    ("AWAITING-PASSWORD", "LOGGED-IN", "PASS right / 230"),
    ("AWAITING-PASSWORD", "AWAITING-USER", "PASS wrong / 530"),
    ("AWAITING-PASSWORD", "CLOSED", "third wrong PASS / 530, 421"),
    ("AWAITING-USER", "AWAITING-USER", "other commands / 530"),
    (
        "LOGGED-IN",
        "LOGGED-IN",
        "CWD PWD MKD RMD DELE RNFR RNTO TYPE SIZE MDTM MLST REST / 2xx 3xx 5xx",
    ),
    (
        "LOGGED-IN",
        "LOGGED-IN",
        "RETR STOR LIST MLSD without PORT/PASV / 425",
    ),
    (
        "LOGGED-IN",
        "DATA-READY",
        "PASV 227, EPSV 229, PORT/EPRT 200",
    ),
    (
        "DATA-READY",
        "LOGGED-IN",
        "transfer refused 450/550/553, PASV 425, data connection closed",
    ),
    (
        "DATA-READY",
        "TRANSFERRING",
        "RETR STOR LIST MLSD, passive, connected / 125",
    ),
    (
        "DATA-READY",
        "AWAITING-DATA-CONNECTION",
        "RETR STOR LIST MLSD / 150 (passive) or connect (active)",
    ),
    (
        "AWAITING-DATA-CONNECTION",
        "TRANSFERRING",
        "data connection open",
    ),
    (
        "AWAITING-DATA-CONNECTION",
        "LOGGED-IN",
        "connect failed / 425",
    ),
    ("TRANSFERRING", "LOGGED-IN", "file sent or stored / 226"),
    ("TRANSFERRING", "LOGGED-IN", "quota full / 452"),
    ("TRANSFERRING", "LOGGED-IN", "ABOR / 426 + 226"),
    ("LOGGED-IN", "AWAITING-PASSWORD", "USER / 331"),
    ("DATA-READY", "AWAITING-PASSWORD", "USER / 331"),
    (
        "AWAITING-PASSWORD",
        "DATA-READY",
        "PASS right, data connection kept / 230",
    ),
    ("AWAITING-USER", "CLOSED", "QUIT / 221"),
    ("LOGGED-IN", "CLOSED", "QUIT / 221"),
    ("DATA-READY", "CLOSED", "QUIT / 221"),
];

/// Longest command line, CRLF included. RFC 959 sets no limit; this one
/// leaves room for a path of 4096 bytes.
pub const MAX_COMMAND_LINE: usize = 4200;
/// Most commands queued behind a running transfer before the server gives
/// up on the client (421).
pub const MAX_QUEUED_COMMANDS: usize = 64;

/// Settings of a server session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FtpServerConfig {
    /// Text of the 220 greeting.
    pub greeting: String,
    /// Most bytes one upload may have; more is refused with 452.
    pub max_upload: usize,
    /// Failed logins before the server closes the connection with 421.
    pub max_login_failures: u32,
    /// The client's address on the control connection, if known. When set,
    /// PORT and EPRT must name this address and a port of 1024 or more
    /// (RFC 2577 §3, against the "FTP bounce" attack); otherwise 504.
    pub client_ip: Option<Ipv4Addr>,
    /// RFC 4217: AUTH TLS, PBSZ and PROT are offered (the driver can put
    /// TLS under the control and the data connections).
    pub tls: bool,
    /// No login before AUTH TLS: the password never crosses in the clear.
    pub require_tls: bool,
}

impl Default for FtpServerConfig {
    fn default() -> Self {
        FtpServerConfig {
            greeting: "wiretale FTP server ready.".to_string(),
            max_upload: 64 * 1024 * 1024,
            max_login_failures: 3,
            client_ip: None,
            tls: false,
            require_tls: false,
        }
    }
}

/// How the next data connection will be (or has been) made.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Channel {
    /// Neither PORT nor PASV yet (or the last one was used up).
    None,
    /// PORT/EPRT: the client listens there; the server connects when a
    /// transfer starts.
    Active(SocketAddrV4),
    /// A Connect request is out; waiting for the driver's report.
    Connecting,
    /// PASV/EPSV: the driver listens at this address.
    Listening(SocketAddrV4),
    /// A data connection is open.
    Open,
}

/// An upload waiting for its bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Upload {
    /// The path as the client typed it, and the directory it was typed in.
    cwd: String,
    path: String,
    append: bool,
    /// REST offset for STOR: keep this many bytes of the old file.
    offset: u64,
}

/// A transfer command's work, once the data connection is there.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Job {
    Send {
        payload: Bytes,
        /// For the transcript: what is sent ("README.txt", "listing of /").
        what: String,
        /// The lines of a listing, for the transcript; `None` for a file.
        listing: Option<Vec<String>>,
    },
    Receive(Upload),
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Transfer {
    None,
    /// The command was accepted; the data connection is not open yet.
    Waiting(Job),
    /// Send and Close were requested; waiting for `handle_data_sent`.
    Sending {
        bytes: usize,
        what: String,
        listing: Option<Vec<String>>,
    },
    /// Collecting an upload until the client closes the connection.
    Receiving {
        upload: Upload,
        buf: Vec<u8>,
        overflow: bool,
    },
}

/// Where the session is in its diagram (`STATES`, `TRANSITIONS`); every
/// change of it is made where the change happens, next to its reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Greeted, or a login failed: USER is wanted.
    AwaitingUser,
    /// USER given: PASS is wanted.
    AwaitingPassword,
    /// Logged in, no data connection prepared.
    LoggedIn,
    /// PORT/EPRT named the client's port, or PASV/EPSV opened a listener
    /// (or the client already connected to it).
    DataReady,
    /// A transfer command was accepted; its data connection is not open.
    AwaitingDataConnection,
    /// A file or listing is moving over the data connection.
    Transferring,
    /// The last reply is out (221 or 421), or the connection is gone.
    Closed,
}

impl State {
    /// The state once the data connection (or its listener) is gone: a
    /// logged-in session is back to LOGGED-IN; the others stay as they are.
    fn without_data(self) -> State {
        match self {
            State::DataReady | State::AwaitingDataConnection | State::Transferring => {
                State::LoggedIn
            }
            other => other,
        }
    }
}

/// A line waiting behind a running transfer.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Queued {
    Line(String),
    TooLong,
}

/// One FTP server session.
#[derive(Debug, Clone)]
pub struct FtpServer {
    config: FtpServerConfig,
    state: State,
    reader: LineReader,
    queue: VecDeque<Queued>,
    output: VecDeque<Vec<u8>>,
    transcript: VecDeque<Transcript>,
    data_requests: VecDeque<DataRequest>,
    /// The name given by USER.
    user: Option<String>,
    logged_in: bool,
    login_failures: u32,
    /// Current directory, an absolute path in the user's view.
    cwd: String,
    transfer_type: TransferType,
    /// RNFR's path, made absolute, waiting for RNTO.
    rename_from: Option<String>,
    /// REST offset for the next RETR or STOR (RFC 3659 §5).
    rest_offset: u64,
    /// RFC 2428 §4: after EPSV ALL, only EPSV may set up data connections.
    epsv_all: bool,
    /// The facts MLSD and MLST send (RFC 3659 §7.9, `OPTS MLST`).
    mlst_facts: Vec<&'static str>,
    channel: Channel,
    transfer: Transfer,
    /// The last reply is out (221 or 421); nothing more will be answered.
    closing: bool,
    /// The control connection is gone.
    closed: bool,
    /// An LF to ignore at the start of the next input (see
    /// `restore_urgent_abor`).
    skip_lf: bool,
    /// The control connection runs over TLS.
    secure: bool,
    /// 234 to AUTH TLS queued; the driver has not switched yet.
    tls_pending: bool,
    /// PBSZ was given (RFC 4217 §8: before PROT).
    pbsz: bool,
    /// PROT P: data connections are TLS too.
    protect_data: bool,
}

impl FtpServer {
    /// A new session; the 220 greeting is already queued for output.
    pub fn new(config: FtpServerConfig) -> FtpServer {
        let greeting = config.greeting.clone();
        let mut server = FtpServer {
            config,
            state: State::AwaitingUser,
            reader: LineReader::new(MAX_COMMAND_LINE),
            queue: VecDeque::new(),
            output: VecDeque::new(),
            transcript: VecDeque::new(),
            data_requests: VecDeque::new(),
            user: None,
            logged_in: false,
            login_failures: 0,
            cwd: "/".to_string(),
            transfer_type: TransferType::Ascii,
            rename_from: None,
            rest_offset: 0,
            epsv_all: false,
            mlst_facts: MLST_FACTS.to_vec(),
            channel: Channel::None,
            transfer: Transfer::None,
            closing: false,
            closed: false,
            skip_lf: false,
            secure: false,
            tls_pending: false,
            pbsz: false,
            protect_data: false,
        };
        server.reply(SERVICE_READY, greeting);
        server
    }

    /// The user name once logged in.
    pub fn user(&self) -> Option<&str> {
        if self.logged_in {
            self.user.as_deref()
        } else {
            None
        }
    }

    /// The current directory in the user's view.
    pub fn cwd(&self) -> &str {
        &self.cwd
    }

    /// The current TYPE.
    pub fn transfer_type(&self) -> TransferType {
        self.transfer_type
    }

    /// The next thing to do with the data connection.
    pub fn poll_data_request(&mut self) -> Option<DataRequest> {
        self.data_requests.pop_front()
    }

    /// Bytes received on the control connection.
    pub fn handle_input(
        &mut self,
        data: &[u8],
        backend: &mut dyn FtpBackend,
        ports: &mut dyn DataPorts,
        now_unix: i64,
    ) {
        if self.closed || self.closing {
            return;
        }
        let data = self.restore_urgent_abor(data);
        self.reader.push(&data);
        while let Some(line) = self.reader.next_line() {
            if self.closing {
                break;
            }
            let item = match line {
                Line::Complete(bytes) => {
                    Queued::Line(String::from_utf8_lossy(&strip_telnet(&bytes)).into_owned())
                }
                Line::TooLong => Queued::TooLong,
            };
            if let Queued::Line(line) = &item
                && self.busy()
                && line.trim().eq_ignore_ascii_case("ABOR")
            {
                // RFC 959 §4.1.3: ABOR is the one command served while a
                // transfer runs; it must not wait behind the others.
                let line = line.clone();
                self.command_line(&line);
                self.cmd_abor();
                continue;
            }
            self.queue.push_back(item);
            if self.queue.len() > MAX_QUEUED_COMMANDS {
                self.queue.clear();
                self.drop_data();
                self.reply(
                    SERVICE_NOT_AVAILABLE,
                    "Too many commands; closing control connection.",
                );
                self.closing = true;
                self.state = State::Closed;
                break;
            }
            self.run_queue(backend, ports, now_unix);
        }
    }

    /// Python's ftplib sends `ABOR\r\n` as TCP urgent data (`MSG_OOB`).
    /// Unless the driver's socket keeps urgent data inline (`SO_OOBINLINE`),
    /// the receiving stack removes the urgent byte, the final LF, and
    /// `ABOR\r` would wait forever for the end of its line. So a chunk that
    /// ends in `ABOR\r` is taken as a complete line, and an LF at the start
    /// of the next chunk is then skipped: with or without the lost byte, the
    /// lines are the same.
    fn restore_urgent_abor(&mut self, data: &[u8]) -> Vec<u8> {
        let mut data = data;
        if std::mem::take(&mut self.skip_lf) && data.first() == Some(&b'\n') {
            data = &data[1..];
        }
        let mut out = data.to_vec();
        if out.len() >= 5 && out[out.len() - 5..].eq_ignore_ascii_case(b"ABOR\r") {
            out.push(b'\n');
            self.skip_lf = true;
        }
        out
    }

    /// The data connection requested by `Connect` is open, or a client
    /// connected to the passive listener.
    pub fn handle_data_connected(
        &mut self,
        backend: &mut dyn FtpBackend,
        ports: &mut dyn DataPorts,
        now_unix: i64,
    ) {
        if self.closed {
            return;
        }
        match (
            self.channel.clone(),
            std::mem::replace(&mut self.transfer, Transfer::None),
        ) {
            (Channel::Connecting, Transfer::Waiting(job)) => {
                self.reply(OPENING_DATA, opening_text(&job, self.transfer_type));
                self.begin(job);
            }
            (Channel::Listening(_), Transfer::Waiting(job)) => self.begin(job),
            // The client connected right after 227/229, before its RETR
            // (ftplib and curl do this); the next transfer gets 125.
            (Channel::Listening(_), Transfer::None) => self.channel = Channel::Open,
            (Channel::None, transfer) => {
                // Nobody asked for this connection (a late one after ABOR).
                self.transfer = transfer;
                self.data_requests.push_back(DataRequest::Abort);
            }
            (_, transfer) => self.transfer = transfer,
        }
        self.run_queue(backend, ports, now_unix);
    }

    /// The data connection could not be opened (active connect refused or
    /// blocked, passive listener timed out), or failed during a transfer.
    pub fn handle_data_failed(
        &mut self,
        backend: &mut dyn FtpBackend,
        ports: &mut dyn DataPorts,
        now_unix: i64,
    ) {
        if self.closed {
            return;
        }
        match std::mem::replace(&mut self.transfer, Transfer::None) {
            Transfer::Waiting(_) => self.reply(CANT_OPEN_DATA, "Can't open data connection."),
            Transfer::Sending { .. } | Transfer::Receiving { .. } => {
                self.reply(TRANSFER_ABORTED, "Connection closed; transfer aborted.")
            }
            Transfer::None => {}
        }
        self.channel = Channel::None;
        self.state = self.state.without_data();
        self.run_queue(backend, ports, now_unix);
    }

    /// Bytes received on the data connection (an upload).
    pub fn handle_data_input(&mut self, data: &[u8]) {
        let max = self.config.max_upload;
        if let Transfer::Receiving { buf, overflow, .. } = &mut self.transfer {
            if buf.len() + data.len() > max {
                // Bounded memory: stop collecting; the upload fails with 452.
                *overflow = true;
                buf.clear();
            } else if !*overflow {
                buf.extend_from_slice(data);
            }
        }
    }

    /// The peer closed the data connection. During an upload this is the
    /// end of the file (RFC 959 §3.4.1, stream mode): store it and answer.
    pub fn handle_data_closed(
        &mut self,
        backend: &mut dyn FtpBackend,
        ports: &mut dyn DataPorts,
        now_unix: i64,
    ) {
        if self.closed {
            return;
        }
        match std::mem::replace(&mut self.transfer, Transfer::None) {
            Transfer::Receiving {
                upload,
                buf,
                overflow,
            } => self.finish_upload(upload, buf, overflow, backend, now_unix),
            Transfer::Sending { .. } => {
                // The client went away before taking everything.
                self.data_requests.push_back(DataRequest::Abort);
                self.reply(TRANSFER_ABORTED, "Connection closed; transfer aborted.");
            }
            Transfer::Waiting(_) => self.reply(CANT_OPEN_DATA, "Can't open data connection."),
            Transfer::None => {}
        }
        self.channel = Channel::None;
        self.state = self.state.without_data();
        self.run_queue(backend, ports, now_unix);
    }

    /// Everything requested with `Send` was delivered and the data
    /// connection is closed: the download is complete.
    pub fn handle_data_sent(
        &mut self,
        backend: &mut dyn FtpBackend,
        ports: &mut dyn DataPorts,
        now_unix: i64,
    ) {
        if self.closed {
            return;
        }
        match std::mem::replace(&mut self.transfer, Transfer::None) {
            Transfer::Sending {
                bytes,
                what,
                listing,
            } => {
                self.data_summary(bytes, &what, listing.as_deref().unwrap_or_default());
                self.channel = Channel::None;
                self.state = State::LoggedIn;
                self.reply(CLOSING_DATA, "Transfer complete.");
            }
            other => self.transfer = other,
        }
        self.run_queue(backend, ports, now_unix);
    }

    // ----- the command loop -----

    /// A transfer command is between its acceptance and its final reply.
    fn busy(&self) -> bool {
        !matches!(self.transfer, Transfer::None)
    }

    fn run_queue(&mut self, backend: &mut dyn FtpBackend, ports: &mut dyn DataPorts, now: i64) {
        while !self.busy() && !self.closing && !self.closed {
            let Some(item) = self.queue.pop_front() else {
                break;
            };
            match item {
                Queued::TooLong => {
                    self.command_line("(command line too long)");
                    self.reply(SYNTAX_ERROR, "Command line too long.");
                }
                Queued::Line(line) => {
                    self.command_line(&line);
                    match Command::parse(&line) {
                        Ok(command) => self.execute(command, backend, ports, now),
                        Err(CommandError::Unrecognized(_)) => {
                            self.reply(SYNTAX_ERROR, "Unknown command.")
                        }
                        Err(CommandError::MissingArgument(verb)) => {
                            self.reply(BAD_ARGUMENTS, format!("{verb} needs an argument."))
                        }
                    }
                }
            }
        }
    }

    fn execute(
        &mut self,
        command: Command,
        backend: &mut dyn FtpBackend,
        ports: &mut dyn DataPorts,
        now: i64,
    ) {
        // Commands anyone may send; everything else needs a login
        // (RFC 959 §5.4 lists 530 for them).
        let login_refused = self.config.require_tls && !self.secure;
        match command {
            Command::Auth(mechanism) => return self.cmd_auth(&mechanism),
            Command::Pbsz(size) => return self.cmd_pbsz(&size),
            Command::Prot(level) => return self.cmd_prot(&level),
            Command::User(_) | Command::Pass(_) if login_refused => {
                return self.reply(
                    NOT_LOGGED_IN,
                    "Use AUTH TLS first: no password in the clear.",
                );
            }
            Command::User(name) => return self.cmd_user(name),
            Command::Pass(password) => return self.cmd_pass(&password, backend),
            Command::Acct(_) => return self.cmd_acct(),
            Command::Quit => return self.cmd_quit(),
            Command::Noop => return self.reply(OK, "NOOP ok."),
            Command::Feat => return self.cmd_feat(),
            Command::Opts(arg) => return self.cmd_opts(&arg),
            Command::Syst => return self.reply(SYSTEM_TYPE, "UNIX Type: L8"),
            Command::Help(_) => return self.cmd_help(),
            Command::Abor => return self.cmd_abor(),
            Command::NotImplemented(verb) => {
                return self.reply(NOT_IMPLEMENTED, format!("{verb} not implemented."));
            }
            _ if !self.logged_in => {
                return self.reply(NOT_LOGGED_IN, "Please login with USER and PASS.");
            }
            _ => {}
        }
        let user = self.user.clone().unwrap_or_default();
        match command {
            Command::Cwd(path) => self.cmd_cwd(&user, &path, backend),
            Command::Cdup => self.cmd_cwd(&user, "..", backend),
            Command::Pwd => {
                let text = format!("{} is the current directory.", quote_path(&self.cwd));
                self.reply(PATHNAME, text)
            }
            Command::Mkd(path) => match backend.make_dir(&user, &self.cwd, &path, now) {
                Ok(created) => self.reply(PATHNAME, format!("{} created.", quote_path(&created))),
                Err(e) => self.action_error("Create directory operation failed", e),
            },
            Command::Rmd(path) => match backend.remove_dir(&user, &self.cwd, &path, now) {
                Ok(()) => self.reply(FILE_ACTION_OK, "Remove directory operation successful."),
                Err(e) => self.action_error("Remove directory operation failed", e),
            },
            Command::Dele(path) => match backend.delete(&user, &self.cwd, &path, now) {
                Ok(()) => self.reply(FILE_ACTION_OK, "Delete operation successful."),
                Err(e) => self.action_error("Delete operation failed", e),
            },
            Command::Rnfr(path) => self.cmd_rnfr(&user, &path, backend),
            Command::Rnto(path) => self.cmd_rnto(&user, &path, backend, now),
            Command::List(arg) => self.cmd_list(&user, arg, false, backend),
            Command::Nlst(arg) => self.cmd_list(&user, arg, true, backend),
            Command::Mlsd(arg) => self.cmd_mlsd(&user, arg, backend),
            Command::Mlst(arg) => self.cmd_mlst(&user, arg, backend),
            Command::Retr(path) => self.cmd_retr(&user, &path, backend),
            Command::Stor(path) => self.cmd_stor(&user, &path, false, backend),
            Command::Appe(path) => self.cmd_stor(&user, &path, true, backend),
            Command::Type(arg) => self.cmd_type(&arg),
            Command::Mode(arg) => self.cmd_mode(&arg),
            Command::Stru(arg) => self.cmd_stru(&arg),
            Command::Port(arg) => self.cmd_port(&arg),
            Command::Eprt(arg) => self.cmd_eprt(&arg),
            Command::Pasv => self.cmd_pasv(ports),
            Command::Epsv(arg) => self.cmd_epsv(arg.as_deref(), ports),
            Command::Size(path) => self.cmd_size(&user, &path, backend),
            Command::Mdtm(path) => self.cmd_mdtm(&user, &path, backend),
            Command::Rest(arg) => self.cmd_rest(&arg),
            // Handled above.
            Command::User(_)
            | Command::Pass(_)
            | Command::Acct(_)
            | Command::Quit
            | Command::Noop
            | Command::Feat
            | Command::Opts(_)
            | Command::Syst
            | Command::Help(_)
            | Command::Abor
            | Command::Auth(_)
            | Command::Pbsz(_)
            | Command::Prot(_)
            | Command::NotImplemented(_) => {}
        }
    }

    // ----- informational commands -----

    fn cmd_feat(&mut self) {
        // RFC 3659 §7.8: the facts offered, * on those MLSD/MLST send now.
        let mut mlst = " MLST ".to_string();
        for f in MLST_FACTS {
            mlst.push_str(f);
            if self.mlst_facts.contains(&f) {
                mlst.push('*');
            }
            mlst.push(';');
        }
        // RFC 2389 §3.2: one feature per line, each indented by a space.
        let mut lines = vec!["Features:"];
        if self.config.tls {
            lines.push(" AUTH TLS");
        }
        lines.extend([" EPRT", " EPSV", " MDTM", &mlst]);
        if self.config.tls {
            lines.extend([" PBSZ", " PROT"]);
        }
        lines.extend([" PASV", " REST STREAM", " SIZE", "End"]);
        self.reply_multi(SYSTEM_STATUS, lines.iter().map(|s| s.to_string()).collect());
    }

    /// OPTS (RFC 2389 §4); only MLST has options here (RFC 3659 §7.9):
    /// the facts to send, of those offered.
    fn cmd_opts(&mut self, arg: &str) {
        let (name, value) = arg.trim().split_once(' ').unwrap_or((arg.trim(), ""));
        if !name.eq_ignore_ascii_case("MLST") {
            return self.reply(BAD_ARGUMENTS, format!("Option {name} not understood."));
        }
        self.mlst_facts = MLST_FACTS
            .iter()
            .copied()
            .filter(|f| value.split(';').any(|v| v.trim().eq_ignore_ascii_case(f)))
            .collect();
        let mut chosen = String::new();
        for f in &self.mlst_facts {
            chosen.push_str(f);
            chosen.push(';');
        }
        self.reply(OK, format!("MLST OPTS {chosen}"));
    }

    fn cmd_help(&mut self) {
        let mut lines = vec!["The following commands are recognized.".to_string()];
        for row in IMPLEMENTED_VERBS.chunks(8) {
            lines.push(format!(" {}", row.join(" ")));
        }
        lines.push("Help OK.".to_string());
        self.reply_multi(HELP, lines);
    }

    // ----- replies and transcript -----

    fn command_line(&mut self, line: &str) {
        // FTP sends the password in the clear; the transcript shows the
        // line exactly as it crossed the network.
        self.transcript
            .push_back(Transcript::Command(line.to_string()));
    }

    fn reply(&mut self, code: u16, text: impl Into<String>) {
        self.send_reply(Reply::new(code, text));
    }

    fn reply_multi(&mut self, code: u16, lines: Vec<String>) {
        self.send_reply(Reply::multiline(code, lines));
    }

    fn send_reply(&mut self, reply: Reply) {
        for line in reply.wire_lines(crate::proto::ftp::reply::STYLE) {
            self.transcript.push_back(Transcript::Reply {
                code: Some(reply.code),
                text: line,
            });
        }
        self.output
            .push_back(reply.to_bytes(crate::proto::ftp::reply::STYLE));
    }

    /// Maps a file error of MKD, RMD or DELE to its reply: RFC 959 §5.4
    /// lists only 550 for them.
    fn action_error(&mut self, what: &str, error: FileError) {
        self.reply(ACTION_NOT_TAKEN, format!("{what}: {error}."));
    }

    /// Maps a file error of STOR, APPE or RNTO to its reply: 452 when the
    /// quota is full, 550 when the user may not write at all, and 553 ("file
    /// name not allowed") when the name itself is the problem.
    fn name_error(&mut self, what: &str, error: FileError) {
        let code = match error {
            FileError::QuotaExceeded => INSUFFICIENT_STORAGE,
            FileError::PermissionDenied => ACTION_NOT_TAKEN,
            _ => NAME_NOT_ALLOWED,
        };
        self.reply(code, format!("{what}: {error}."));
    }

    fn data_summary(&mut self, bytes: usize, what: &str, listing: &[String]) {
        self.transcript.push_back(Transcript::Data(format!(
            "(data connection: {bytes} bytes of {what})"
        )));
        let mut shown = BodyLines::default();
        for line in listing {
            if shown.count() {
                self.transcript.push_back(Transcript::Data(line.clone()));
            }
        }
        self.transcript.extend(shown.rest());
    }
}

impl Session for FtpServer {
    fn poll_output(&mut self) -> Option<Vec<u8>> {
        self.output.pop_front()
    }

    fn poll_transcript(&mut self) -> Option<Transcript> {
        self.transcript.pop_front()
    }

    fn wants_close(&self) -> bool {
        self.closing || self.closed
    }

    fn handle_close(&mut self) {
        if !self.closed {
            self.drop_data();
            self.queue.clear();
            self.closed = true;
            self.state = State::Closed;
        }
    }

    fn take_starttls(&mut self) -> bool {
        std::mem::take(&mut self.tls_pending)
    }

    fn tls_started(&mut self) {
        self.secure = true;
        self.reader = LineReader::new(MAX_COMMAND_LINE);
    }

    fn is_secure(&self) -> bool {
        self.secure
    }

    fn state_name(&self) -> &'static str {
        match self.state {
            State::AwaitingUser => "AWAITING-USER",
            State::AwaitingPassword => "AWAITING-PASSWORD",
            State::LoggedIn => "LOGGED-IN",
            State::DataReady => "DATA-READY",
            State::AwaitingDataConnection => "AWAITING-DATA-CONNECTION",
            State::Transferring => "TRANSFERRING",
            State::Closed => "CLOSED",
        }
    }
}

/// The 150 reply's text.
fn opening_text(job: &Job, transfer_type: TransferType) -> String {
    match job {
        Job::Send {
            what,
            listing: None,
            payload,
        } => {
            let mode = match transfer_type {
                TransferType::Ascii => "ASCII",
                TransferType::Image => "BINARY",
            };
            // The size in parentheses is a convention curl reads when the
            // server has no SIZE command.
            format!(
                "Opening {mode} mode data connection for {what} ({} bytes).",
                payload.len()
            )
        }
        Job::Send { .. } => "Opening ASCII mode data connection for file list.".to_string(),
        Job::Receive(upload) => format!("Ok to send data for {}.", upload.path),
    }
}

/// RFC 959 Appendix II: the directory name in a 257 reply is quoted, and a
/// quote inside it is doubled.
fn quote_path(path: &str) -> String {
    format!("\"{}\"", path.replace('"', "\"\""))
}

/// The facts MLSD and MLST offer (RFC 3659 §7.5), in FEAT's order.
const MLST_FACTS: [&str; 5] = ["type", "size", "modify", "perm", "unique"];

/// An absolute path with `.` and `..` resolved as names (never above the
/// root): `/pub/a/../b` is `/pub/b`.
fn normalize(path: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for p in path.split(['/', '\\']) {
        match p {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            p => parts.push(p),
        }
    }
    format!("/{}", parts.join("/"))
}

/// `path` made absolute against `cwd`, without normalising (the backend
/// does that): `/pub` + `a/../b` is `/pub/a/../b`.
fn absolute(cwd: &str, path: &str) -> String {
    if path.starts_with(['/', '\\']) {
        path.to_string()
    } else if cwd.ends_with('/') {
        format!("{cwd}{path}")
    } else {
        format!("{cwd}/{path}")
    }
}

#[cfg(test)]
mod unit_tests {
    use super::*;

    /// A session past its greeting.
    pub(super) fn session(config: FtpServerConfig) -> FtpServer {
        let mut s = FtpServer::new(config);
        replies(&mut s);
        s
    }

    /// The codes of the replies sent since the last look.
    pub(super) fn replies(s: &mut FtpServer) -> Vec<u16> {
        let mut out = Vec::new();
        while let Some(bytes) = s.poll_output() {
            for line in String::from_utf8_lossy(&bytes).lines() {
                if line.as_bytes().get(3) == Some(&b' ') {
                    out.push(line[..3].parse().unwrap());
                }
            }
        }
        out
    }

    struct OnePort;

    impl DataPorts for OnePort {
        fn open_listener(&mut self) -> Option<SocketAddrV4> {
            Some(SocketAddrV4::new(Ipv4Addr::new(10, 0, 2, 2), 50_000))
        }
    }

    #[test]
    fn the_state_moves_where_the_session_changes() {
        let mut vfs = crate::fuzzing::file_tree();
        let mut s = session(FtpServerConfig::default());
        let mut states = vec![s.state_name()];
        for line in [
            "USER alice",
            "PASS wonderland",
            "PASV",
            "USER alice",
            // The listener outlives the new login: back to DATA-READY.
            "PASS wonderland",
            "RETR report.txt",
        ] {
            s.handle_input(format!("{line}\r\n").as_bytes(), &mut vfs, &mut OnePort, 0);
            states.push(s.state_name());
        }
        s.handle_data_connected(&mut vfs, &mut OnePort, 0);
        states.push(s.state_name());
        s.handle_data_sent(&mut vfs, &mut OnePort, 0);
        states.push(s.state_name());
        s.handle_input(b"QUIT\r\n", &mut vfs, &mut OnePort, 0);
        states.push(s.state_name());
        assert_eq!(
            states,
            [
                "AWAITING-USER",
                "AWAITING-PASSWORD",
                "LOGGED-IN",
                "DATA-READY",
                "AWAITING-PASSWORD",
                "DATA-READY",
                "AWAITING-DATA-CONNECTION",
                "TRANSFERRING",
                "LOGGED-IN",
                "CLOSED",
            ]
        );
    }

    #[test]
    fn paths_are_quoted_and_made_absolute_like_the_rfc() {
        assert_eq!(quote_path("/a\"b"), "\"/a\"\"b\"");
        assert_eq!(absolute("/", "x"), "/x");
        assert_eq!(absolute("/pub", "../x"), "/pub/../x");
        assert_eq!(absolute("/pub", "/x"), "/x");
    }
}
