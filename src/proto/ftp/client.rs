//! A scripted FTP client (the user agent's side of RFC 959), sans-IO.
//!
//! It logs in with USER and PASS, then runs a list of [`Step`]s one after
//! the other, each waiting for the previous one's final reply, and ends
//! with QUIT. Transfers set up a fresh data connection every time, in
//! passive mode (PASV or EPSV, then the client connects, as Python's ftplib
//! and curl do) or active mode (the client listens, sends PORT or EPRT, and
//! the server connects). The driver carries out the client's
//! [`DataRequest`]s and reports back through the `handle_data_*` methods,
//! exactly as for the server.
//!
//! It is not an interactive client: no prompts, no retries beyond curl's
//! fallback from EPSV to PASV, no parallel transfers.

use std::collections::VecDeque;
use std::net::{Ipv4Addr, SocketAddrV4};

use bytes::Bytes;

use super::ascii;
use super::codes::*;
use super::command::{format_eprt, format_host_port, parse_epsv_reply, parse_pasv_reply};
use super::reply::{self, Reply, ReplyParser};
use super::{DataPorts, DataRequest, TransferType};
use crate::proto::{Session, Transcript};

/// Most bytes one download may have; more fails the step.
pub const MAX_DOWNLOAD: usize = 256 * 1024 * 1024;

/// The client's states, for the visualizer.
pub const STATES: &[&str] = &[
    "AWAITING-GREETING",
    "SECURING-CONTROL",
    "LOGGING-IN",
    "COMMANDING",
    "SETTING-UP-DATA",
    "TRANSFERRING",
    "QUITTING",
    "DONE",
];

/// The client's state diagram: `(from, to, label)`.
pub const TRANSITIONS: &[crate::proto::Transition] = &[
    ("AWAITING-GREETING", "LOGGING-IN", "220 / USER, then PASS"),
    ("AWAITING-GREETING", "SECURING-CONTROL", "220 / AUTH TLS"),
    ("AWAITING-GREETING", "QUITTING", "not 220 / QUIT"),
    (
        "SECURING-CONTROL",
        "LOGGING-IN",
        "234, TLS, PBSZ 0, PROT P / USER",
    ),
    ("SECURING-CONTROL", "QUITTING", "AUTH refused / QUIT"),
    ("LOGGING-IN", "COMMANDING", "230 / next step"),
    ("LOGGING-IN", "QUITTING", "530 / QUIT"),
    ("COMMANDING", "COMMANDING", "final reply / next step"),
    (
        "COMMANDING",
        "SETTING-UP-DATA",
        "transfer step / PASV, EPSV, PORT or EPRT",
    ),
    (
        "SETTING-UP-DATA",
        "TRANSFERRING",
        "227/229 and connected, or 200 / RETR STOR LIST",
    ),
    ("SETTING-UP-DATA", "COMMANDING", "failure / next step"),
    (
        "TRANSFERRING",
        "COMMANDING",
        "226 and data connection closed / next step",
    ),
    (
        "TRANSFERRING",
        "COMMANDING",
        "425, 426, 452, 550 / next step",
    ),
    ("COMMANDING", "QUITTING", "no steps left / QUIT"),
    ("QUITTING", "DONE", "221"),
    // RFC 959 §4.2: a 421 may come at any time, the server is closing; a
    // reply that cannot be read ends the session too.
    ("AWAITING-GREETING", "DONE", "421, unreadable"),
    ("SECURING-CONTROL", "DONE", "421, unreadable"),
    ("LOGGING-IN", "DONE", "421, unreadable"),
    ("COMMANDING", "DONE", "421, unreadable"),
    ("SETTING-UP-DATA", "DONE", "421, unreadable"),
    ("TRANSFERRING", "DONE", "421, unreadable"),
];

/// Who opens the data connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DataMode {
    /// PASV/EPSV: the server listens, the client connects.
    #[default]
    Passive,
    /// PORT/EPRT: the client listens, the server connects.
    Active,
}

/// One thing the script does after logging in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    Cwd(String),
    Cdup,
    Pwd,
    /// LIST with an optional path; the text lands in `listings()`.
    List(Option<String>),
    Nlst(Option<String>),
    /// RETR; the bytes land in `downloads()`.
    Retr(String),
    /// REST offset, then RETR: resume a download.
    RetrFrom(String, u64),
    Stor(String, Bytes),
    Appe(String, Bytes),
    Dele(String),
    Mkd(String),
    Rmd(String),
    /// RNFR from, then RNTO to.
    Rename(String, String),
    Type(TransferType),
    Size(String),
    Mdtm(String),
    Noop,
    /// Any other command line, sent as is and answered like a one-line
    /// command (for demonstrations and tests). It opens no data connection
    /// and does not change the client's idea of TYPE.
    Raw(String),
    /// QUIT now; later steps are skipped.
    Quit,
}

/// How a step ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepOutcome {
    /// The step's main command line as sent (e.g. `RETR README.txt`).
    pub command: String,
    /// The final reply's code; `None` if the step ended without one (the
    /// client could not set up the data connection, or the control
    /// connection closed).
    pub code: Option<u16>,
    /// The final reply's text (lines joined with `\n`), or why the step
    /// failed on the client's side.
    pub text: String,
    /// What came over the data connection (RETR, LIST, NLST), after TYPE A
    /// conversion.
    pub data: Option<Bytes>,
}

impl StepOutcome {
    /// True if the step ended with a 2yz reply.
    pub fn ok(&self) -> bool {
        self.code.is_some_and(|c| (200..300).contains(&c))
    }
}

/// Settings and script of a client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FtpClientConfig {
    pub user: String,
    pub password: String,
    pub mode: DataMode,
    /// Use EPSV/EPRT (RFC 2428) rather than PASV/PORT.
    pub extended: bool,
    /// The server's address on the control connection: an EPSV reply gives
    /// only a port (RFC 2428 §3).
    pub server_ip: Ipv4Addr,
    pub steps: Vec<Step>,
    /// RFC 4217: AUTH TLS before the login, then PBSZ 0 and PROT P, so that
    /// the control and every data connection run over TLS (the driver
    /// puts TLS under them).
    pub tls: bool,
}

impl FtpClientConfig {
    /// Passive mode with PASV, no steps yet.
    pub fn new(user: &str, password: &str, server_ip: Ipv4Addr) -> FtpClientConfig {
        FtpClientConfig {
            user: user.to_string(),
            password: password.to_string(),
            mode: DataMode::Passive,
            extended: false,
            server_ip,
            steps: Vec::new(),
            tls: false,
        }
    }
}

/// Where a transfer step is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TransferPhase {
    /// PASV, EPSV, PORT or EPRT sent.
    Setup,
    /// Passive: Connect requested, waiting for the driver.
    Connecting,
    /// REST sent.
    Rest,
    /// The transfer command is sent.
    Command,
}

/// The data side of a transfer step.
#[derive(Debug, Clone, PartialEq, Eq)]
struct DataState {
    phase: TransferPhase,
    /// EPSV was refused and PASV tried instead (curl does this).
    fell_back: bool,
    connected: bool,
    /// A 1yz reply came: the server accepted the command.
    preliminary: bool,
    /// The bytes to upload, once both connected and accepted.
    upload: Option<Bytes>,
    received: Vec<u8>,
    too_big: bool,
    /// The data connection is finished (closed by the server after a
    /// download, or delivered and closed after an upload).
    finished: bool,
    final_reply: Option<Reply>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Phase {
    Greeting,
    /// AUTH TLS sent.
    AuthTls,
    /// 234 came; waiting for the driver to start TLS.
    TlsPending,
    Pbsz,
    Prot,
    User,
    Pass,
    /// Waiting for the final reply of a one-command step.
    Simple,
    /// RNFR sent; RNTO follows on 350.
    RenameFrom,
    Transfer(Box<DataState>),
    Quit,
    Done,
}

/// A scripted FTP client session.
#[derive(Debug, Clone)]
pub struct FtpClient {
    config: FtpClientConfig,
    parser: ReplyParser,
    phase: Phase,
    /// Index of the current step in `config.steps`.
    step: usize,
    /// The current step's main command line.
    command: String,
    transfer_type: TransferType,
    output: VecDeque<Vec<u8>>,
    transcript: VecDeque<Transcript>,
    data_requests: VecDeque<DataRequest>,
    logged_in: bool,
    login_reply: Option<Reply>,
    outcomes: Vec<StepOutcome>,
    downloads: Vec<(String, Bytes)>,
    listings: Vec<String>,
    error: Option<String>,
    /// The control connection runs over TLS.
    secure: bool,
    /// PROT P accepted: data connections run over TLS too.
    protected: bool,
}

impl FtpClient {
    /// A client waiting for the server's 220 greeting.
    pub fn new(config: FtpClientConfig) -> FtpClient {
        FtpClient {
            config,
            parser: reply::parser(),
            phase: Phase::Greeting,
            step: 0,
            command: String::new(),
            transfer_type: TransferType::Ascii,
            output: VecDeque::new(),
            transcript: VecDeque::new(),
            data_requests: VecDeque::new(),
            logged_in: false,
            login_reply: None,
            outcomes: Vec::new(),
            downloads: Vec::new(),
            listings: Vec::new(),
            error: None,
            secure: false,
            protected: false,
        }
    }

    /// True once PASS (or USER) was answered with 230.
    pub fn logged_in(&self) -> bool {
        self.logged_in
    }

    /// The reply that ended the login (230, or the failure).
    pub fn login_reply(&self) -> Option<&Reply> {
        self.login_reply.as_ref()
    }

    /// How each step ended, in order.
    pub fn outcomes(&self) -> &[StepOutcome] {
        &self.outcomes
    }

    /// Files downloaded by RETR steps, as `(name, bytes)`, in order.
    pub fn downloads(&self) -> &[(String, Bytes)] {
        &self.downloads
    }

    /// The last download of `name`.
    pub fn download(&self, name: &str) -> Option<&Bytes> {
        self.downloads
            .iter()
            .rev()
            .find(|(n, _)| n == name)
            .map(|(_, b)| b)
    }

    /// The text of each LIST and NLST, in order.
    pub fn listings(&self) -> &[String] {
        &self.listings
    }

    /// Steps that did not end with a 2yz reply.
    pub fn failures(&self) -> Vec<&StepOutcome> {
        self.outcomes.iter().filter(|o| !o.ok()).collect()
    }

    /// A protocol error that ended the session (malformed reply, ...).
    pub fn error(&self) -> Option<&str> {
        self.error.as_deref()
    }

    /// True once the script is over (QUIT answered, or the session failed).
    pub fn is_done(&self) -> bool {
        self.phase == Phase::Done
    }

    /// The next thing to do with the data connection.
    pub fn poll_data_request(&mut self) -> Option<DataRequest> {
        self.data_requests.pop_front()
    }

    /// Bytes received on the control connection.
    pub fn handle_input(&mut self, data: &[u8], ports: &mut dyn DataPorts) {
        if self.phase == Phase::Done {
            return;
        }
        self.parser.push(data);
        loop {
            match self.parser.next_reply() {
                None => break,
                Some(Ok((reply, raw))) => {
                    for text in raw {
                        self.transcript.push_back(Transcript::Reply {
                            code: Some(reply.code),
                            text,
                        });
                    }
                    self.on_reply(reply, ports);
                }
                Some(Err(e)) => {
                    self.fail_session(format!("bad reply from server: {e}"));
                    break;
                }
            }
            if self.phase == Phase::Done {
                break;
            }
        }
    }

    /// The data connection is open (passive: our Connect succeeded;
    /// active: the server connected to our listener).
    pub fn handle_data_connected(&mut self, ports: &mut dyn DataPorts) {
        let Phase::Transfer(state) = &mut self.phase else {
            self.data_requests.push_back(DataRequest::Abort);
            return;
        };
        state.connected = true;
        if state.phase == TransferPhase::Connecting {
            self.send_transfer_command();
        } else {
            self.maybe_upload();
            self.maybe_finish(ports);
        }
    }

    /// The data connection could not be opened, or broke.
    pub fn handle_data_failed(&mut self, ports: &mut dyn DataPorts) {
        let Phase::Transfer(state) = &mut self.phase else {
            return;
        };
        match state.phase {
            TransferPhase::Connecting => {
                let text = "could not open the data connection".to_string();
                self.end_step(None, text, None, ports);
            }
            _ => {
                // The server will say how it sees it (426); the step ends
                // with that reply.
                state.finished = true;
                self.maybe_finish(ports);
            }
        }
    }

    /// Bytes received on the data connection (a download or listing).
    pub fn handle_data_input(&mut self, data: &[u8]) {
        if let Phase::Transfer(state) = &mut self.phase {
            if state.received.len() + data.len() > MAX_DOWNLOAD {
                state.too_big = true;
            } else {
                state.received.extend_from_slice(data);
            }
        }
    }

    /// The server closed the data connection: for a download, the file is
    /// complete (stream mode).
    pub fn handle_data_closed(&mut self, ports: &mut dyn DataPorts) {
        if let Phase::Transfer(state) = &mut self.phase {
            state.finished = true;
            self.maybe_finish(ports);
        }
    }

    /// The upload was delivered and the data connection closed.
    pub fn handle_data_sent(&mut self, ports: &mut dyn DataPorts) {
        self.handle_data_closed(ports);
    }

    // ----- replies -----

    fn on_reply(&mut self, reply: Reply, ports: &mut dyn DataPorts) {
        if reply.code == SERVICE_NOT_AVAILABLE {
            // RFC 959 §4.2: 421 may come at any time; the server is closing.
            self.record_current(Some(reply.code), reply::text(&reply), None);
            self.data_requests.push_back(DataRequest::Abort);
            self.phase = Phase::Done;
            return;
        }
        match std::mem::replace(&mut self.phase, Phase::Done) {
            Phase::Greeting => self.on_greeting(reply),
            Phase::AuthTls if reply.code == 234 => self.phase = Phase::TlsPending,
            Phase::TlsPending => self.phase = Phase::TlsPending,
            Phase::Pbsz if reply.is_positive() => {
                self.send("PROT P");
                self.phase = Phase::Prot;
            }
            Phase::Prot if reply.is_positive() => {
                self.protected = true;
                self.send_user();
            }
            // The server will not do TLS: the session stops rather than
            // send the password in the clear.
            Phase::AuthTls | Phase::Pbsz | Phase::Prot => {
                self.login_reply = Some(reply);
                self.quit();
            }
            Phase::User => self.on_user_reply(reply, ports),
            Phase::Pass => self.on_pass_reply(reply, ports),
            Phase::Simple => self.on_simple_reply(reply, ports),
            Phase::RenameFrom => self.on_rnfr_reply(reply, ports),
            Phase::Transfer(state) => self.on_transfer_reply(*state, reply, ports),
            Phase::Quit => {
                if reply.is_preliminary() {
                    self.phase = Phase::Quit;
                }
            }
            Phase::Done => {}
        }
    }

    fn on_greeting(&mut self, reply: Reply) {
        match reply.code {
            // 120: service ready in a while; the 220 follows.
            120 => self.phase = Phase::Greeting,
            SERVICE_READY if self.config.tls => {
                self.send("AUTH TLS");
                self.phase = Phase::AuthTls;
            }
            SERVICE_READY => self.send_user(),
            _ => {
                self.login_reply = Some(reply);
                self.quit();
            }
        }
    }

    fn send_user(&mut self) {
        let line = format!("USER {}", self.config.user);
        self.send(&line);
        self.phase = Phase::User;
    }

    /// PROT P is in force: the driver puts TLS on each data connection
    /// (this end as the TLS client, RFC 4217 §7).
    pub fn data_protected(&self) -> bool {
        self.protected
    }

    fn on_user_reply(&mut self, reply: Reply, ports: &mut dyn DataPorts) {
        match reply.code {
            LOGGED_IN => self.login_done(reply, ports),
            NEED_PASSWORD => {
                // RFC 959 §4.1.1: the password goes in the clear.
                let line = format!("PASS {}", self.config.password);
                self.send(&line);
                self.phase = Phase::Pass;
            }
            _ => {
                self.login_reply = Some(reply);
                self.quit();
            }
        }
    }

    fn on_pass_reply(&mut self, reply: Reply, ports: &mut dyn DataPorts) {
        match reply.code {
            LOGGED_IN | SUPERFLUOUS => self.login_done(reply, ports),
            _ => {
                // 530, or 332 (an account is needed, not supported).
                self.login_reply = Some(reply);
                self.quit();
            }
        }
    }

    fn login_done(&mut self, reply: Reply, ports: &mut dyn DataPorts) {
        self.logged_in = true;
        self.login_reply = Some(reply);
        self.step = 0;
        self.start_step(ports);
    }

    fn on_simple_reply(&mut self, reply: Reply, ports: &mut dyn DataPorts) {
        if reply.is_preliminary() {
            self.phase = Phase::Simple;
            return;
        }
        if let Some(Step::Type(t)) = self.config.steps.get(self.step)
            && reply.is_positive()
        {
            self.transfer_type = *t;
        }
        self.end_step(Some(reply.code), reply::text(&reply), None, ports);
    }

    fn on_rnfr_reply(&mut self, reply: Reply, ports: &mut dyn DataPorts) {
        match (reply.code, self.config.steps.get(self.step).cloned()) {
            (PENDING, Some(Step::Rename(_, to))) => {
                self.command = format!("RNTO {to}");
                self.send(&self.command.clone());
                self.phase = Phase::Simple;
            }
            _ => self.end_step(Some(reply.code), reply::text(&reply), None, ports),
        }
    }

    fn on_transfer_reply(&mut self, mut state: DataState, reply: Reply, ports: &mut dyn DataPorts) {
        match state.phase {
            TransferPhase::Setup => self.on_setup_reply(state, reply, ports),
            TransferPhase::Connecting => {
                // Nothing was asked; an unexpected reply. Keep waiting.
                self.phase = Phase::Transfer(Box::new(state));
            }
            TransferPhase::Rest => {
                if reply.code == PENDING {
                    self.phase = Phase::Transfer(Box::new(state));
                    self.send_command_line();
                } else {
                    self.abort_data();
                    self.end_step(Some(reply.code), reply::text(&reply), None, ports);
                }
            }
            TransferPhase::Command => {
                if reply.is_preliminary() {
                    state.preliminary = true;
                    self.phase = Phase::Transfer(Box::new(state));
                    self.maybe_upload();
                } else if reply.is_positive() {
                    state.final_reply = Some(reply);
                    self.phase = Phase::Transfer(Box::new(state));
                    self.maybe_finish(ports);
                } else {
                    // 425, 426, 450, 452, 550, 553...: the step failed.
                    self.abort_data();
                    self.end_step(Some(reply.code), reply::text(&reply), None, ports);
                }
            }
        }
    }

    fn on_setup_reply(&mut self, mut state: DataState, reply: Reply, ports: &mut dyn DataPorts) {
        let passive_target = match reply.code {
            ENTERING_PASSIVE => parse_pasv_reply(&reply::text(&reply)),
            ENTERING_EXTENDED_PASSIVE => parse_epsv_reply(&reply::text(&reply))
                .map(|port| SocketAddrV4::new(self.config.server_ip, port)),
            _ => None,
        };
        match (self.config.mode, reply.code) {
            (DataMode::Passive, ENTERING_PASSIVE | ENTERING_EXTENDED_PASSIVE) => {
                match passive_target {
                    Some(to) => {
                        state.phase = TransferPhase::Connecting;
                        self.phase = Phase::Transfer(Box::new(state));
                        self.data_requests.push_back(DataRequest::Connect { to });
                    }
                    None => self.end_step(
                        Some(reply.code),
                        "unparsable passive reply".to_string(),
                        None,
                        ports,
                    ),
                }
            }
            (DataMode::Passive, SYNTAX_ERROR | BAD_ARGUMENTS | NOT_IMPLEMENTED)
                if !state.fell_back && self.config.extended =>
            {
                // curl's behaviour: a server without EPSV gets PASV.
                state.fell_back = true;
                self.phase = Phase::Transfer(Box::new(state));
                self.send("PASV");
            }
            (DataMode::Active, OK) => {
                self.phase = Phase::Transfer(Box::new(state));
                self.send_transfer_command();
            }
            _ => {
                self.abort_data();
                self.end_step(Some(reply.code), reply::text(&reply), None, ports);
            }
        }
    }

    // ----- steps -----

    fn start_step(&mut self, ports: &mut dyn DataPorts) {
        let Some(step) = self.config.steps.get(self.step).cloned() else {
            return self.quit();
        };
        let simple = |line: String| Some(line);
        let line = match step {
            Step::Cwd(path) => simple(format!("CWD {path}")),
            Step::Cdup => simple("CDUP".to_string()),
            Step::Pwd => simple("PWD".to_string()),
            Step::Dele(path) => simple(format!("DELE {path}")),
            Step::Mkd(path) => simple(format!("MKD {path}")),
            Step::Rmd(path) => simple(format!("RMD {path}")),
            Step::Type(TransferType::Ascii) => simple("TYPE A".to_string()),
            Step::Type(TransferType::Image) => simple("TYPE I".to_string()),
            Step::Size(path) => simple(format!("SIZE {path}")),
            Step::Mdtm(path) => simple(format!("MDTM {path}")),
            Step::Noop => simple("NOOP".to_string()),
            Step::Raw(line) => simple(line),
            Step::Quit => return self.quit(),
            Step::Rename(from, _) => {
                self.command = format!("RNFR {from}");
                self.send(&self.command.clone());
                self.phase = Phase::RenameFrom;
                return;
            }
            Step::List(_)
            | Step::Nlst(_)
            | Step::Retr(_)
            | Step::RetrFrom(_, _)
            | Step::Stor(_, _)
            | Step::Appe(_, _) => None,
        };
        match line {
            Some(line) => {
                self.command = line.clone();
                self.send(&line);
                self.phase = Phase::Simple;
            }
            None => self.start_transfer(ports),
        }
    }

    /// The command line that moves the data, and the upload if any.
    fn transfer_command(&self) -> (String, Option<Bytes>) {
        match self.config.steps.get(self.step) {
            Some(Step::List(Some(path))) => (format!("LIST {path}"), None),
            Some(Step::List(None)) => ("LIST".to_string(), None),
            Some(Step::Nlst(Some(path))) => (format!("NLST {path}"), None),
            Some(Step::Nlst(None)) => ("NLST".to_string(), None),
            Some(Step::Retr(name) | Step::RetrFrom(name, _)) => (format!("RETR {name}"), None),
            Some(Step::Stor(name, data)) => (format!("STOR {name}"), Some(data.clone())),
            Some(Step::Appe(name, data)) => (format!("APPE {name}"), Some(data.clone())),
            _ => (String::new(), None),
        }
    }

    fn start_transfer(&mut self, ports: &mut dyn DataPorts) {
        let (command, upload) = self.transfer_command();
        self.command = command;
        let upload = upload.map(|data| match self.transfer_type {
            TransferType::Image => data,
            TransferType::Ascii => ascii::to_wire(&data),
        });
        let state = DataState {
            phase: TransferPhase::Setup,
            fell_back: false,
            connected: false,
            preliminary: false,
            upload,
            received: Vec::new(),
            too_big: false,
            finished: false,
            final_reply: None,
        };
        let setup = match self.config.mode {
            DataMode::Passive if self.config.extended => "EPSV".to_string(),
            DataMode::Passive => "PASV".to_string(),
            DataMode::Active => match ports.open_listener() {
                Some(addr) if self.config.extended => format!("EPRT {}", format_eprt(addr)),
                Some(addr) => format!("PORT {}", format_host_port(addr)),
                None => {
                    let text = "could not open a listening port".to_string();
                    return self.end_step(None, text, None, ports);
                }
            },
        };
        self.phase = Phase::Transfer(Box::new(state));
        self.send(&setup);
    }

    /// After the data connection is set up: REST first if resuming.
    fn send_transfer_command(&mut self) {
        let offset = match self.config.steps.get(self.step) {
            Some(Step::RetrFrom(_, offset)) => Some(*offset),
            _ => None,
        };
        if let Phase::Transfer(state) = &mut self.phase
            && let Some(offset) = offset
        {
            state.phase = TransferPhase::Rest;
            self.send(&format!("REST {offset}"));
            return;
        }
        self.send_command_line();
    }

    fn send_command_line(&mut self) {
        if let Phase::Transfer(state) = &mut self.phase {
            state.phase = TransferPhase::Command;
        }
        self.send(&self.command.clone());
    }

    /// Uploads start once the server accepted the command (1yz) and the
    /// data connection is open, in whichever order those come.
    fn maybe_upload(&mut self) {
        let Phase::Transfer(state) = &mut self.phase else {
            return;
        };
        if !(state.connected && state.preliminary) {
            return;
        }
        if let Some(data) = state.upload.take() {
            let bytes = data.len();
            if !data.is_empty() {
                self.data_requests.push_back(DataRequest::Send(data));
            }
            // Closing the connection marks the end of the file.
            self.data_requests.push_back(DataRequest::Close);
            self.transcript.push_back(Transcript::Data(format!(
                "(data connection: sending {bytes} bytes)"
            )));
        }
    }

    /// A transfer step ends when its final reply came and its data
    /// connection is finished, in whichever order.
    fn maybe_finish(&mut self, ports: &mut dyn DataPorts) {
        let Phase::Transfer(state) = &self.phase else {
            return;
        };
        let Some(reply) = state.final_reply.clone() else {
            return;
        };
        if !state.finished && state.connected {
            return;
        }
        if !state.connected {
            // A 2yz without a data connection: nothing to wait for.
            self.abort_data();
        }
        let Phase::Transfer(state) = std::mem::replace(&mut self.phase, Phase::Done) else {
            return;
        };
        if state.too_big {
            let text = format!("download larger than {MAX_DOWNLOAD} bytes");
            return self.end_step(None, text, None, ports);
        }
        let is_listing = self.command.starts_with("LIST") || self.command.starts_with("NLST");
        let is_upload = self.command.starts_with("STOR") || self.command.starts_with("APPE");
        // Listings are always ASCII text on the wire.
        let data = if is_listing || self.transfer_type == TransferType::Ascii {
            ascii::from_wire(&state.received)
        } else {
            Bytes::from(state.received)
        };
        let data = (!is_upload).then_some(data);
        if let Some(data) = &data {
            self.transcript.push_back(Transcript::Data(format!(
                "(data connection: {} bytes received)",
                data.len()
            )));
            match self.config.steps.get(self.step) {
                Some(Step::Retr(name) | Step::RetrFrom(name, _)) => {
                    self.downloads.push((name.clone(), data.clone()));
                }
                Some(Step::List(_) | Step::Nlst(_)) => {
                    self.listings
                        .push(String::from_utf8_lossy(data).into_owned());
                }
                _ => {}
            }
        }
        self.end_step(Some(reply.code), reply::text(&reply), data, ports);
    }

    /// Records the current step's outcome and starts the next step.
    fn end_step(
        &mut self,
        code: Option<u16>,
        text: String,
        data: Option<Bytes>,
        ports: &mut dyn DataPorts,
    ) {
        self.record_current(code, text, data);
        self.step += 1;
        self.start_step(ports);
    }

    fn record_current(&mut self, code: Option<u16>, text: String, data: Option<Bytes>) {
        // `command` is set while a step runs and cleared by QUIT.
        if !self.command.is_empty() {
            self.outcomes.push(StepOutcome {
                command: std::mem::take(&mut self.command),
                code,
                text,
                data,
            });
        }
    }

    fn quit(&mut self) {
        self.command.clear();
        self.send("QUIT");
        self.phase = Phase::Quit;
    }

    fn abort_data(&mut self) {
        self.data_requests.push_back(DataRequest::Abort);
    }

    fn fail_session(&mut self, error: String) {
        self.record_current(None, error.clone(), None);
        self.error = Some(error);
        self.abort_data();
        self.phase = Phase::Done;
    }

    fn send(&mut self, line: &str) {
        self.transcript
            .push_back(Transcript::Command(line.to_string()));
        let mut bytes = line.as_bytes().to_vec();
        bytes.extend_from_slice(b"\r\n");
        self.output.push_back(bytes);
    }
}

impl Session for FtpClient {
    fn poll_output(&mut self) -> Option<Vec<u8>> {
        self.output.pop_front()
    }

    fn poll_transcript(&mut self) -> Option<Transcript> {
        self.transcript.pop_front()
    }

    fn wants_close(&self) -> bool {
        self.phase == Phase::Done
    }

    fn handle_close(&mut self) {
        if self.phase != Phase::Done && self.phase != Phase::Quit {
            self.fail_session("control connection closed".to_string());
        }
        self.phase = Phase::Done;
    }

    fn take_starttls(&mut self) -> bool {
        self.phase == Phase::TlsPending && !self.secure
    }

    fn tls_started(&mut self) {
        self.secure = true;
        self.parser = reply::parser();
        self.send("PBSZ 0");
        self.phase = Phase::Pbsz;
    }

    fn is_secure(&self) -> bool {
        self.secure
    }

    fn state_name(&self) -> &'static str {
        match &self.phase {
            Phase::Greeting => "AWAITING-GREETING",
            Phase::AuthTls | Phase::TlsPending | Phase::Pbsz | Phase::Prot => "SECURING-CONTROL",
            Phase::User | Phase::Pass => "LOGGING-IN",
            Phase::Simple | Phase::RenameFrom => "COMMANDING",
            Phase::Transfer(state) if state.phase == TransferPhase::Command => "TRANSFERRING",
            Phase::Transfer(_) => "SETTING-UP-DATA",
            Phase::Quit => "QUITTING",
            Phase::Done => "DONE",
        }
    }
}
