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

use std::collections::VecDeque;
use std::net::{Ipv4Addr, SocketAddrV4};

use bytes::Bytes;

use super::ascii;
use super::codes::*;
use super::command::{
    Command, CommandError, EprtError, IMPLEMENTED_VERBS, format_host_port, parse_eprt,
    parse_host_port, strip_telnet,
};
use super::reply::Reply;
use super::{DataPorts, DataRequest, FileError, FileInfo, FileKind, FtpBackend, TransferType};
use crate::proto::date::{ftp_time_val, ls_date};
use crate::proto::line::{Line, LineReader};
use crate::proto::{BodyLines, Session, Transcript};

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
                self.abort();
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
            Command::Auth(mechanism) => return self.auth_tls(&mechanism),
            Command::Pbsz(size) => return self.pbsz(&size),
            Command::Prot(level) => return self.prot(&level),
            Command::User(_) | Command::Pass(_) if login_refused => {
                return self.reply(
                    NOT_LOGGED_IN,
                    "Use AUTH TLS first: no password in the clear.",
                );
            }
            Command::User(name) => return self.user_command(name),
            Command::Pass(password) => return self.pass_command(&password, backend),
            Command::Acct(_) => return self.acct_command(),
            Command::Quit => return self.quit(),
            Command::Noop => return self.reply(OK, "NOOP ok."),
            Command::Feat => return self.feat(),
            Command::Opts(arg) => return self.opts(&arg),
            Command::Syst => return self.reply(SYSTEM_TYPE, "UNIX Type: L8"),
            Command::Help(_) => return self.help(),
            Command::Abor => return self.abort(),
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
            Command::Cwd(path) => self.change_dir(&user, &path, backend),
            Command::Cdup => self.change_dir(&user, "..", backend),
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
            Command::Rnfr(path) => self.rename_from(&user, &path, backend),
            Command::Rnto(path) => self.rename_to(&user, &path, backend, now),
            Command::List(arg) => self.list(&user, arg, false, backend),
            Command::Nlst(arg) => self.list(&user, arg, true, backend),
            Command::Mlsd(arg) => self.mlsd(&user, arg, backend),
            Command::Mlst(arg) => self.mlst(&user, arg, backend),
            Command::Retr(path) => self.retrieve(&user, &path, backend),
            Command::Stor(path) => self.store(&user, &path, false, backend),
            Command::Appe(path) => self.store(&user, &path, true, backend),
            Command::Type(arg) => self.set_type(&arg),
            Command::Mode(arg) => self.set_mode(&arg),
            Command::Stru(arg) => self.set_structure(&arg),
            Command::Port(arg) => self.port(&arg),
            Command::Eprt(arg) => self.eprt(&arg),
            Command::Pasv => self.pasv(ports),
            Command::Epsv(arg) => self.epsv(arg.as_deref(), ports),
            Command::Size(path) => self.size(&user, &path, backend),
            Command::Mdtm(path) => self.mdtm(&user, &path, backend),
            Command::Rest(arg) => self.restart(&arg),
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

    // ----- access control (RFC 959 §4.1.1) -----

    fn user_command(&mut self, name: String) {
        // A new USER starts a new login, whatever came before.
        self.logged_in = false;
        self.user = Some(name);
        self.rename_from = None;
        self.reply(NEED_PASSWORD, "User name okay, need password.");
    }

    fn pass_command(&mut self, password: &str, backend: &mut dyn FtpBackend) {
        let Some(user) = self.user.clone() else {
            return self.reply(BAD_SEQUENCE, "Login with USER first.");
        };
        if self.logged_in {
            return self.reply(LOGGED_IN, "Already logged in.");
        }
        if backend.authenticate(&user, password) {
            self.logged_in = true;
            self.login_failures = 0;
            self.cwd = "/".to_string();
            return self.reply(LOGGED_IN, "User logged in, proceed.");
        }
        self.user = None;
        self.login_failures += 1;
        self.reply(NOT_LOGGED_IN, "Login incorrect.");
        if self.login_failures >= self.config.max_login_failures {
            self.reply(
                SERVICE_NOT_AVAILABLE,
                "Too many failed logins; closing control connection.",
            );
            self.closing = true;
        }
    }

    fn acct_command(&mut self) {
        if self.logged_in {
            self.reply(SUPERFLUOUS, "ACCT not needed at this site.")
        } else {
            self.reply(BAD_SEQUENCE, "Login with USER and PASS first.")
        }
    }

    fn quit(&mut self) {
        self.drop_data();
        self.reply(CLOSING_CONTROL, "Goodbye.");
        self.closing = true;
    }

    // ----- TLS (RFC 4217) -----

    fn auth_tls(&mut self, mechanism: &str) {
        if !self.config.tls {
            return self.reply(NOT_IMPLEMENTED, "AUTH not implemented.");
        }
        if self.secure {
            return self.reply(BAD_SEQUENCE, "TLS is already active.");
        }
        // "TLS-C" and "SSL" are older names clients still send.
        if !["TLS", "TLS-C", "SSL"]
            .iter()
            .any(|m| mechanism.eq_ignore_ascii_case(m))
        {
            return self.reply(NOT_IMPLEMENTED_FOR_PARAMETER, "Only AUTH TLS is offered.");
        }
        self.reply(AUTH_OK, "AUTH TLS successful.");
        self.tls_pending = true;
        // Nothing the client sent after AUTH in the clear is read.
        self.queue.clear();
        self.reader = LineReader::new(MAX_COMMAND_LINE);
    }

    fn pbsz(&mut self, size: &str) {
        if !self.secure {
            return self.reply(BAD_SEQUENCE, "PBSZ needs AUTH TLS first.");
        }
        self.pbsz = true;
        // §8: for TLS the buffer size is always 0.
        let _ = size;
        self.reply(OK, "PBSZ=0")
    }

    fn prot(&mut self, level: &str) {
        if !self.secure || !self.pbsz {
            return self.reply(BAD_SEQUENCE, "PROT needs AUTH TLS and PBSZ first.");
        }
        match level.to_ascii_uppercase().as_str() {
            "P" => {
                self.protect_data = true;
                self.reply(OK, "Protection level set to P: data connections use TLS.")
            }
            "C" => {
                self.protect_data = false;
                self.reply(
                    OK,
                    "Protection level set to C: data connections in the clear.",
                )
            }
            "S" | "E" => self.reply(PROTECTION_NOT_SUPPORTED, "Protection level not supported."),
            _ => self.reply(NOT_IMPLEMENTED_FOR_PARAMETER, "Unknown protection level."),
        }
    }

    /// PROT P is in force: the driver puts TLS on each data connection,
    /// with the server as the TLS server (RFC 4217 §7).
    pub fn data_protected(&self) -> bool {
        self.protect_data
    }

    // ----- informational commands -----

    fn feat(&mut self) {
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
    fn opts(&mut self, arg: &str) {
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

    fn help(&mut self) {
        let mut lines = vec!["The following commands are recognized.".to_string()];
        for row in IMPLEMENTED_VERBS.chunks(8) {
            lines.push(format!(" {}", row.join(" ")));
        }
        lines.push("Help OK.".to_string());
        self.reply_multi(HELP, lines);
    }

    // ----- directories and names -----

    fn change_dir(&mut self, user: &str, path: &str, backend: &mut dyn FtpBackend) {
        match backend.change_dir(user, &self.cwd, path) {
            Ok(dir) => {
                self.cwd = dir;
                // RFC 959 §5.4 lists 200 for CDUP in one place and 250 in
                // another; 250 is what servers send for both.
                self.reply(FILE_ACTION_OK, "Directory successfully changed.");
            }
            Err(e) => self.reply(
                ACTION_NOT_TAKEN,
                format!("Failed to change directory: {e}."),
            ),
        }
    }

    fn rename_from(&mut self, user: &str, path: &str, backend: &mut dyn FtpBackend) {
        match backend.stat(user, &self.cwd, path) {
            Ok(_) => {
                // Remember it relative to the root, in case a CWD comes
                // before RNTO.
                self.rename_from = Some(absolute(&self.cwd, path));
                self.reply(PENDING, "Ready for RNTO.");
            }
            Err(e) => self.reply(ACTION_NOT_TAKEN, format!("RNFR command failed: {e}.")),
        }
    }

    fn rename_to(&mut self, user: &str, path: &str, backend: &mut dyn FtpBackend, now: i64) {
        // RFC 959 §4.1.3: RNTO must come right after RNFR.
        let Some(from) = self.rename_from.take() else {
            return self.reply(BAD_SEQUENCE, "RNFR required first.");
        };
        match backend.rename(user, &self.cwd, &from, path, now) {
            Ok(()) => self.reply(FILE_ACTION_OK, "Rename successful."),
            Err(e) => self.name_error("Rename failed", e),
        }
    }

    fn size(&mut self, user: &str, path: &str, backend: &mut dyn FtpBackend) {
        let info = match backend.stat(user, &self.cwd, path) {
            Ok(info) if info.kind == FileKind::File => info,
            Ok(_) => {
                return self.reply(ACTION_NOT_TAKEN, "Could not get file size: Is a directory.");
            }
            Err(e) => {
                return self.reply(ACTION_NOT_TAKEN, format!("Could not get file size: {e}."));
            }
        };
        // RFC 3659 §4: SIZE is the number of octets the transfer would
        // send in the current TYPE, so in TYPE A the CRs count too.
        let size = match self.transfer_type {
            TransferType::Image => info.size,
            TransferType::Ascii => match backend.read(user, &self.cwd, path) {
                Ok(data) => ascii::to_wire(&data).len() as u64,
                Err(e) => {
                    return self.reply(ACTION_NOT_TAKEN, format!("Could not get file size: {e}."));
                }
            },
        };
        self.reply(FILE_STATUS, size.to_string());
    }

    fn mdtm(&mut self, user: &str, path: &str, backend: &mut dyn FtpBackend) {
        match backend.stat(user, &self.cwd, path) {
            // RFC 3659 §3: time-val, UTC, YYYYMMDDHHMMSS.
            Ok(info) if info.kind == FileKind::File => {
                self.reply(FILE_STATUS, ftp_time_val(info.mtime))
            }
            Ok(_) => self.reply(
                ACTION_NOT_TAKEN,
                "Could not get modification time: Is a directory.",
            ),
            Err(e) => self.reply(
                ACTION_NOT_TAKEN,
                format!("Could not get modification time: {e}."),
            ),
        }
    }

    // ----- transfer parameters (RFC 959 §4.1.2) -----

    fn set_type(&mut self, arg: &str) {
        let words: Vec<String> = arg
            .split_whitespace()
            .map(str::to_ascii_uppercase)
            .collect();
        let words: Vec<&str> = words.iter().map(String::as_str).collect();
        match words.as_slice() {
            ["A"] | ["A", "N"] => {
                self.transfer_type = TransferType::Ascii;
                self.reply(OK, "Switching to ASCII mode.");
            }
            ["I"] | ["L", "8"] => {
                self.transfer_type = TransferType::Image;
                self.reply(OK, "Switching to Binary mode.");
            }
            ["A", "T" | "C"] | ["E"] | ["E", _] | ["L", _] => self.reply(
                NOT_IMPLEMENTED_FOR_PARAMETER,
                "Only TYPE A, A N, I and L 8 are supported.",
            ),
            _ => self.reply(BAD_ARGUMENTS, "Unrecognised TYPE command."),
        }
    }

    fn set_mode(&mut self, arg: &str) {
        match arg.trim().to_ascii_uppercase().as_str() {
            "S" => self.reply(OK, "Mode set to S."),
            "B" | "C" => self.reply(
                NOT_IMPLEMENTED_FOR_PARAMETER,
                "Only stream mode (S) is supported.",
            ),
            _ => self.reply(BAD_ARGUMENTS, "Unrecognised MODE."),
        }
    }

    fn set_structure(&mut self, arg: &str) {
        match arg.trim().to_ascii_uppercase().as_str() {
            "F" => self.reply(OK, "Structure set to F."),
            "R" | "P" => self.reply(
                NOT_IMPLEMENTED_FOR_PARAMETER,
                "Only file structure (F) is supported.",
            ),
            _ => self.reply(BAD_ARGUMENTS, "Unrecognised STRU."),
        }
    }

    fn restart(&mut self, arg: &str) {
        match arg.trim().parse::<u64>() {
            Ok(offset) => {
                self.rest_offset = offset;
                self.reply(
                    PENDING,
                    format!("Restarting at {offset}. Send STOR or RETR."),
                );
            }
            Err(_) => self.reply(BAD_ARGUMENTS, "REST needs a byte count."),
        }
    }

    // ----- setting up the data connection -----

    fn port(&mut self, arg: &str) {
        if self.epsv_all {
            return self.reply(BAD_SEQUENCE, "EPSV ALL in effect; use EPSV.");
        }
        match parse_host_port(arg) {
            Some(addr) => self.set_active(addr, "PORT command successful."),
            None => self.reply(BAD_ARGUMENTS, "Illegal PORT command."),
        }
    }

    fn eprt(&mut self, arg: &str) {
        if self.epsv_all {
            return self.reply(BAD_SEQUENCE, "EPSV ALL in effect; use EPSV.");
        }
        match parse_eprt(arg) {
            Ok(addr) => self.set_active(addr, "EPRT command successful."),
            Err(EprtError::UnsupportedProtocol) => self.reply(
                PROTOCOL_NOT_SUPPORTED,
                "Network protocol not supported, use (1)",
            ),
            Err(EprtError::Malformed) => self.reply(BAD_ARGUMENTS, "Illegal EPRT command."),
        }
    }

    fn set_active(&mut self, addr: SocketAddrV4, ok_text: &str) {
        if let Some(client) = self.config.client_ip
            && (*addr.ip() != client || addr.port() < 1024)
        {
            // RFC 2577 §3: refuse to connect to third parties or to
            // privileged ports.
            return self.reply(
                NOT_IMPLEMENTED_FOR_PARAMETER,
                "Data connection must go to the client.",
            );
        }
        self.drop_data();
        self.channel = Channel::Active(addr);
        self.reply(OK, ok_text);
    }

    fn pasv(&mut self, ports: &mut dyn DataPorts) {
        if self.epsv_all {
            return self.reply(BAD_SEQUENCE, "EPSV ALL in effect; use EPSV.");
        }
        if let Some(addr) = self.listen(ports) {
            let text = format!("Entering Passive Mode ({}).", format_host_port(addr));
            self.reply(ENTERING_PASSIVE, text);
        }
    }

    fn epsv(&mut self, arg: Option<&str>, ports: &mut dyn DataPorts) {
        match arg.map(|a| a.trim().to_ascii_uppercase()).as_deref() {
            None | Some("1") => {
                if let Some(addr) = self.listen(ports) {
                    // RFC 2428 §3: only the port; the client uses the
                    // control connection's address.
                    let text = format!("Entering Extended Passive Mode (|||{}|)", addr.port());
                    self.reply(ENTERING_EXTENDED_PASSIVE, text);
                }
            }
            Some("ALL") => {
                self.epsv_all = true;
                self.reply(OK, "EPSV ALL ok.");
            }
            Some("2") => self.reply(
                PROTOCOL_NOT_SUPPORTED,
                "Network protocol not supported, use (1)",
            ),
            Some(_) => self.reply(BAD_ARGUMENTS, "Illegal EPSV command."),
        }
    }

    /// Opens a passive listener, or answers 425.
    fn listen(&mut self, ports: &mut dyn DataPorts) -> Option<SocketAddrV4> {
        // The new listener replaces any old listener or idle connection
        // (the DataPorts contract), so no Abort is requested here: it would
        // reach the driver after the new listener exists.
        self.channel = Channel::None;
        match ports.open_listener() {
            Some(addr) => {
                self.channel = Channel::Listening(addr);
                Some(addr)
            }
            None => {
                self.reply(CANT_OPEN_DATA, "Can't open passive connection.");
                None
            }
        }
    }

    /// Drops whatever data connection or listener exists.
    fn drop_data(&mut self) {
        if self.channel != Channel::None || self.busy() {
            self.data_requests.push_back(DataRequest::Abort);
        }
        self.channel = Channel::None;
        self.transfer = Transfer::None;
    }

    // ----- transfer commands (RFC 959 §4.1.3) -----

    fn list(
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
    fn mlsd(&mut self, user: &str, arg: Option<String>, backend: &mut dyn FtpBackend) {
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
    fn mlst(&mut self, user: &str, arg: Option<String>, backend: &mut dyn FtpBackend) {
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

    fn retrieve(&mut self, user: &str, path: &str, backend: &mut dyn FtpBackend) {
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

    fn store(&mut self, user: &str, path: &str, append: bool, backend: &mut dyn FtpBackend) {
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
            }
            Channel::Listening(_) => {
                self.reply(OPENING_DATA, opening_text(&job, self.transfer_type));
                self.transfer = Transfer::Waiting(job);
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
    fn begin(&mut self, job: Job) {
        self.channel = Channel::Open;
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

    fn finish_upload(
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

    fn abort(&mut self) {
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
        for line in reply.wire_lines(super::reply::STYLE) {
            self.transcript.push_back(Transcript::Reply {
                code: Some(reply.code),
                text: line,
            });
        }
        self.output.push_back(reply.to_bytes(super::reply::STYLE));
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
        if self.closing || self.closed {
            "Closed"
        } else if !self.logged_in {
            if self.user.is_some() {
                "AwaitingPassword"
            } else {
                "AwaitingUser"
            }
        } else {
            match (&self.transfer, &self.channel) {
                (Transfer::Waiting(_), _) => "AwaitingDataConnection",
                (Transfer::Sending { .. } | Transfer::Receiving { .. }, _) => "Transferring",
                (Transfer::None, Channel::None) => "LoggedIn",
                (Transfer::None, _) => "DataReady",
            }
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

/// The facts MLSD and MLST offer (RFC 3659 §7.5), in FEAT's order.
const MLST_FACTS: [&str; 5] = ["type", "size", "modify", "perm", "unique"];

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
    fn helpers_format_like_the_rfc() {
        assert_eq!(quote_path("/a\"b"), "\"/a\"\"b\"");
        assert_eq!(absolute("/", "x"), "/x");
        assert_eq!(absolute("/pub", "../x"), "/pub/../x");
        assert_eq!(absolute("/pub", "/x"), "/x");
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
