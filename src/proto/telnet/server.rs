//! The TELNET server session: option negotiation, `login:`, `Password:`
//! and a small shell over the user's files.
//!
//! One [`TelnetServer`] is one connection. It opens with `IAC WILL ECHO`
//! and `IAC WILL SUPPRESS-GO-AHEAD` (RFC 857, RFC 858) and the login
//! prompt. With ECHO agreed, the server sends back every character the
//! client types (the client prints nothing itself), except the password:
//! at `Password:` the server simply stops echoing, which is how a TELNET
//! login hides it from the screen, and only from the screen.
//!
//! After a right password the shell runs over a [`TelnetBackend`], with
//! the user's home as `/`, as for FTP: `ls [PATH...]`, `cat FILE...`,
//! `cd [DIR]`, `pwd`, `help`, and `exit` (or `logout`, or Ctrl-D on an
//! empty line). Anything else is `command not found`. The line editor
//! knows DEL and BS (erase a character), Ctrl-U (erase the line), Ctrl-C
//! (drop the line), and their TELNET forms `IAC EC`, `IAC EL`, `IAC IP`;
//! `IAC AYT` is answered `[Yes]`.
//!
//! Its transcript is the session as a textbook shows it: each negotiation
//! (`C: DO ECHO`), each prompt and each line the server prints (`S:`),
//! each line the user typed once it is complete (`C:`); the echo of single
//! keystrokes is not repeated there. [`TelnetServer::poll_event`] gives
//! the moments that matter (login, password prompt, login result, each
//! command, logout) for the trace.

use std::collections::VecDeque;

use bytes::Bytes;

use super::codec::{Decoder, Item, Key, LineEnds, encode_text, escape_iac};
use super::options::Negotiator;
use super::{
    AYT, BRK, EC, EL, GA, IAC, IP, OPT_ECHO, OPT_SUPPRESS_GO_AHEAD, TelnetEvent, Verb,
    command_name, option_name,
};
use crate::proto::ftp::{FileError, FileInfo, FileKind};
use crate::proto::{BodyLines, Session, Transcript, Transition};

/// The longest line the line editor keeps; more characters are refused
/// with a bell.
pub const MAX_LINE: usize = 1024;

/// The options the server uses when asked (and offers at the start).
pub const SERVER_OPTIONS: &[u8] = &[OPT_ECHO, OPT_SUPPRESS_GO_AHEAD];
/// The options the server lets a client use: only SUPPRESS-GO-AHEAD.
pub const CLIENT_OPTIONS: &[u8] = &[OPT_SUPPRESS_GO_AHEAD];

/// The states of the server diagram. Option negotiation may happen in
/// any of them (see [`super::options`]).
pub const STATES: &[&str] = &["LOGIN", "PASSWORD", "SHELL", "CLOSED"];

/// The server's state diagram for the visualizer: `(from, to, label)`.
pub const TRANSITIONS: &[Transition] = &[
    ("LOGIN", "PASSWORD", "user name / Password: (echo off)"),
    ("LOGIN", "LOGIN", "empty line, Ctrl-C / login: again"),
    ("PASSWORD", "SHELL", "right password / prompt"),
    ("PASSWORD", "LOGIN", "wrong password / Login incorrect"),
    ("PASSWORD", "CLOSED", "third wrong password"),
    ("SHELL", "SHELL", "ls cat cd pwd help / output, prompt"),
    ("SHELL", "SHELL", "other / command not found"),
    ("SHELL", "CLOSED", "exit, logout, Ctrl-D / logout"),
];

/// The commands the shell runs, for `help`.
pub const COMMANDS: &[&str] = &["ls", "cat", "cd", "pwd", "help", "exit"];

/// What the shell needs from the world: accounts, and the files as each
/// user sees them. Paths are what the user typed together with the
/// session's current directory (`cwd`, an absolute path in the user's
/// view such as `/docs`); the backend resolves them and keeps every user
/// inside the user's own root. `crate::apps::vfs::Vfs` implements this.
pub trait TelnetBackend {
    /// True if `password` is `user`'s.
    fn check_password(&mut self, user: &str, password: &str) -> bool;
    /// `ls`: a directory's entries sorted by name, or the file itself.
    fn list(&mut self, user: &str, cwd: &str, path: &str) -> Result<Vec<FileInfo>, FileError>;
    /// `cat`: a file's content.
    fn read(&mut self, user: &str, cwd: &str, path: &str) -> Result<Bytes, FileError>;
    /// `cd`: the normalised absolute path of `path` if it is a directory.
    fn change_dir(&mut self, user: &str, cwd: &str, path: &str) -> Result<String, FileError>;
}

/// How a server behaves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TelnetConfig {
    /// The host's name, in the greeting and the prompts.
    pub hostname: String,
    /// Wrong passwords after which the server hangs up.
    pub max_failed_logins: u32,
}

impl TelnetConfig {
    /// Defaults: three login attempts.
    pub fn new(hostname: impl Into<String>) -> TelnetConfig {
        TelnetConfig {
            hostname: hostname.into(),
            max_failed_logins: 3,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Login,
    Password,
    Shell,
    Closed,
}

/// One TELNET server session. See the module documentation.
#[derive(Debug, Clone)]
pub struct TelnetServer {
    config: TelnetConfig,
    decoder: Decoder,
    ends: LineEnds,
    options: Negotiator,
    state: State,
    /// The line being typed.
    line: Vec<u8>,
    /// The name typed at `login:`, waiting for its password.
    login: Option<String>,
    /// The user of the shell.
    user: Option<String>,
    cwd: String,
    failed_logins: u32,
    output: Vec<u8>,
    transcript: VecDeque<Transcript>,
    events: VecDeque<TelnetEvent>,
}

impl TelnetServer {
    /// A new session: the offers of ECHO and SUPPRESS-GO-AHEAD, the
    /// greeting and the login prompt are queued at once.
    pub fn new(config: TelnetConfig) -> TelnetServer {
        let mut server = TelnetServer {
            config,
            decoder: Decoder::new(),
            ends: LineEnds::default(),
            options: Negotiator::new(SERVER_OPTIONS, CLIENT_OPTIONS),
            state: State::Login,
            line: Vec::new(),
            login: None,
            user: None,
            cwd: "/".to_string(),
            failed_logins: 0,
            output: Vec::new(),
            transcript: VecDeque::new(),
            events: VecDeque::new(),
        };
        for option in SERVER_OPTIONS {
            if let Some(verb) = server.options.offer(*option) {
                server.negotiate(verb, *option);
            }
        }
        let greeting = format!("\nwiretale TELNET server on {}\n\n", server.config.hostname);
        server.print(&greeting);
        server.prompt();
        server
    }

    /// The user of the shell, once logged in.
    pub fn user(&self) -> Option<&str> {
        self.user.as_deref()
    }

    /// The shell's current directory, in the user's view.
    pub fn cwd(&self) -> &str {
        &self.cwd
    }

    /// True if the server echoes what the client types (ECHO is on).
    pub fn echoes(&self) -> bool {
        self.options.local(OPT_ECHO)
    }

    /// The next event for the trace.
    pub fn poll_event(&mut self) -> Option<TelnetEvent> {
        self.events.pop_front()
    }

    /// Feeds bytes from the client.
    pub fn handle_input<B: TelnetBackend + ?Sized>(&mut self, data: &[u8], backend: &mut B) {
        let mut items = Vec::new();
        for &b in data {
            if self.state == State::Closed {
                return;
            }
            self.decoder.feed(b, &mut items);
            for item in items.drain(..) {
                if self.state != State::Closed {
                    self.item(item, backend);
                }
            }
        }
    }

    fn item<B: TelnetBackend + ?Sized>(&mut self, item: Item, backend: &mut B) {
        match item {
            Item::Data(b) => match self.ends.feed(b) {
                Some(Key::Enter) => self.enter(backend),
                Some(Key::Byte(b)) => self.key(b),
                None => {}
            },
            Item::Negotiation(verb, option) => {
                self.transcript.push_back(Transcript::Command(format!(
                    "{} {}",
                    verb.name(),
                    option_name(option)
                )));
                let outcome = self.options.handle(verb, option);
                if let Some(reply) = outcome.reply {
                    self.negotiate(reply, option);
                }
                if let Some((side, result)) = outcome.change {
                    self.events.push_back(TelnetEvent::Negotiated {
                        option,
                        side,
                        result,
                    });
                }
            }
            Item::Command(IP | BRK) => {
                self.transcript
                    .push_back(Transcript::Command(command_name(IP)));
                self.interrupt();
            }
            Item::Command(EC) => self.erase_char(),
            Item::Command(EL) => self.erase_line(),
            Item::Command(AYT) => {
                self.transcript
                    .push_back(Transcript::Command(command_name(AYT)));
                // RFC 854: visible evidence that the system is up, then
                // the line as it was.
                self.print("\n[Yes]\n");
                self.prompt();
                let line = self.line.clone();
                self.echo(&line);
            }
            // Output is never held back, so there is nothing for AO to
            // abort; GA, NOP and DM mean nothing to a server in
            // character mode.
            Item::Command(_) => {}
            Item::Subnegotiation { option, length } => {
                // RFC 855: subnegotiation only follows an agreement, and
                // the server agrees to no option that has one.
                self.transcript.push_back(Transcript::Command(format!(
                    "SB {} ({length} bytes) SE, ignored",
                    option_name(option)
                )));
            }
        }
    }

    /// A data byte that is not an end of line.
    fn key(&mut self, b: u8) {
        match b {
            0x7f | 0x08 => self.erase_char(),
            0x15 => self.erase_line(),
            0x03 => {
                self.transcript.push_back(Transcript::Command("^C".into()));
                self.interrupt();
            }
            // Ctrl-D on an empty shell line ends the shell, as in sh.
            0x04 if self.state == State::Shell && self.line.is_empty() => {
                self.transcript.push_back(Transcript::Command("^D".into()));
                self.echo(b"\r\n");
                self.logout();
            }
            // Other control bytes (NUL, tab, escape) have no meaning to
            // this line editor.
            0..0x20 => {}
            _ if self.line.len() >= MAX_LINE => self.echo(&[0x07]),
            _ => {
                self.line.push(b);
                self.echo(&escape_iac(&[b]));
            }
        }
    }

    /// Drops the last character (a UTF-8 sequence counts as one).
    fn erase_char(&mut self) {
        while self.line.last().is_some_and(|b| (0x80..0xc0).contains(b)) {
            self.line.pop();
        }
        if self.line.pop().is_some() {
            self.echo(b"\x08 \x08");
        }
    }

    fn erase_line(&mut self) {
        let chars = String::from_utf8_lossy(&self.line).chars().count();
        self.line.clear();
        self.echo(&b"\x08 \x08".repeat(chars));
    }

    /// Ctrl-C or IAC IP: the line is dropped and the prompt shown again;
    /// at `Password:` the login starts over.
    fn interrupt(&mut self) {
        self.line.clear();
        if self.shows_typing() {
            self.output.extend_from_slice(b"^C");
        }
        self.output.extend_from_slice(b"\r\n");
        if self.state == State::Password {
            self.state = State::Login;
            self.login = None;
        }
        self.prompt();
    }

    fn enter<B: TelnetBackend + ?Sized>(&mut self, backend: &mut B) {
        let line = String::from_utf8_lossy(&std::mem::take(&mut self.line)).into_owned();
        // The newline the user typed: echoed like any key, and at the
        // password (echo off) sent anyway, as login(1) does.
        if self.shows_typing() || self.state == State::Password {
            self.output.extend_from_slice(b"\r\n");
        }
        // An empty line is only worth a transcript line as a password.
        if self.state == State::Password || !line.trim().is_empty() {
            self.transcript.push_back(Transcript::Command(line.clone()));
        }
        match self.state {
            State::Login => {
                let name = line.trim();
                if name.is_empty() {
                    self.prompt();
                    return;
                }
                self.events.push_back(TelnetEvent::Login {
                    user: name.to_string(),
                });
                self.login = Some(name.to_string());
                self.state = State::Password;
                self.events.push_back(TelnetEvent::PasswordPrompt {
                    user: name.to_string(),
                });
                self.prompt();
            }
            State::Password => self.check(&line, backend),
            State::Shell => self.run(&line, backend),
            State::Closed => {}
        }
    }

    fn check<B: TelnetBackend + ?Sized>(&mut self, password: &str, backend: &mut B) {
        let user = self.login.take().unwrap_or_default();
        if backend.check_password(&user, password) {
            self.events
                .push_back(TelnetEvent::LoginOk { user: user.clone() });
            self.print(&format!(
                "Welcome to {}, {user}. Commands: {}.\n",
                self.config.hostname,
                COMMANDS.join(", ")
            ));
            self.user = Some(user);
            self.cwd = "/".to_string();
            self.state = State::Shell;
            self.prompt();
            return;
        }
        self.failed_logins += 1;
        self.events.push_back(TelnetEvent::LoginFailed {
            user,
            attempts: self.failed_logins,
        });
        self.print("Login incorrect\n");
        if self.failed_logins >= self.config.max_failed_logins {
            self.print("Too many failed logins. Goodbye.\n");
            self.close();
            return;
        }
        self.state = State::Login;
        self.print("\n");
        self.prompt();
    }

    // ---- the shell --------------------------------------------------------

    fn run<B: TelnetBackend + ?Sized>(&mut self, line: &str, backend: &mut B) {
        let words: Vec<&str> = line.split_whitespace().collect();
        let Some((&command, args)) = words.split_first() else {
            self.prompt();
            return;
        };
        let user = self.user.clone().unwrap_or_default();
        let status = match command {
            "ls" => self.cmd_ls(&user, args, backend),
            "cat" => self.cmd_cat(&user, args, backend),
            "cd" => self.cmd_cd(&user, args, backend),
            "pwd" => {
                let cwd = format!("{}\n", self.cwd);
                self.print(&cwd);
                0
            }
            "help" => {
                self.print(&format!("Commands: {}.\n", COMMANDS.join(", ")));
                0
            }
            "exit" | "logout" => {
                self.events.push_back(TelnetEvent::Command {
                    user,
                    line: line.trim().to_string(),
                    status: 0,
                });
                self.logout();
                return;
            }
            other => {
                self.print(&format!("{other}: command not found\n"));
                127
            }
        };
        self.events.push_back(TelnetEvent::Command {
            user,
            line: line.trim().to_string(),
            status,
        });
        self.prompt();
    }

    fn cmd_ls<B: TelnetBackend + ?Sized>(
        &mut self,
        user: &str,
        args: &[&str],
        backend: &mut B,
    ) -> u32 {
        let paths: &[&str] = if args.is_empty() { &["."] } else { args };
        let mut status = 0;
        for (i, path) in paths.iter().enumerate() {
            match backend.list(user, &self.cwd, path) {
                Ok(entries) => {
                    let mut text = String::new();
                    if paths.len() > 1 {
                        if i > 0 {
                            text.push('\n');
                        }
                        text.push_str(&format!("{path}:\n"));
                    }
                    for e in entries {
                        text.push_str(&e.name);
                        if e.kind == FileKind::Directory {
                            text.push('/');
                        }
                        text.push('\n');
                    }
                    self.print_content(text.as_bytes());
                }
                Err(e) => {
                    // GNU ls exits with 2 when it cannot reach an argument.
                    self.print(&format!("ls: cannot access '{path}': {e}\n"));
                    status = 2;
                }
            }
        }
        status
    }

    fn cmd_cat<B: TelnetBackend + ?Sized>(
        &mut self,
        user: &str,
        args: &[&str],
        backend: &mut B,
    ) -> u32 {
        if args.is_empty() {
            self.print("cat: missing file operand (this shell has no input to copy)\n");
            return 1;
        }
        let mut status = 0;
        for path in args {
            match backend.read(user, &self.cwd, path) {
                Ok(data) => self.print_content(&data),
                Err(e) => {
                    self.print(&format!("cat: {path}: {e}\n"));
                    status = 1;
                }
            }
        }
        status
    }

    fn cmd_cd<B: TelnetBackend + ?Sized>(
        &mut self,
        user: &str,
        args: &[&str],
        backend: &mut B,
    ) -> u32 {
        let path = match args {
            [] => "/",
            [path] => path,
            _ => {
                self.print("cd: too many arguments\n");
                return 1;
            }
        };
        match backend.change_dir(user, &self.cwd, path) {
            Ok(dir) => {
                self.cwd = dir;
                0
            }
            Err(e) => {
                self.print(&format!("cd: {path}: {e}\n"));
                1
            }
        }
    }

    fn logout(&mut self) {
        let user = self.user.clone().unwrap_or_default();
        self.print("logout\n");
        self.events.push_back(TelnetEvent::Logout { user });
        self.close();
    }

    // ---- output -----------------------------------------------------------

    /// True if what the user types comes back: the server has ECHO and
    /// the user is not typing a password.
    fn shows_typing(&self) -> bool {
        self.options.local(OPT_ECHO) && self.state != State::Password
    }

    fn echo(&mut self, bytes: &[u8]) {
        if self.shows_typing() {
            self.output.extend_from_slice(bytes);
        }
    }

    fn negotiate(&mut self, verb: Verb, option: u8) {
        self.output.extend_from_slice(&verb.encode(option));
        self.transcript.push_back(Transcript::Reply {
            code: None,
            text: format!("{} {}", verb.name(), option_name(option)),
        });
    }

    /// Prints text (lines end in `\n`), each non-empty line a reply in the
    /// transcript.
    fn print(&mut self, text: &str) {
        self.output.extend_from_slice(&encode_text(text.as_bytes()));
        for line in text.split('\n') {
            let line = line.trim_end();
            if !line.is_empty() {
                self.transcript.push_back(Transcript::Reply {
                    code: None,
                    text: line.to_string(),
                });
            }
        }
    }

    /// Prints a file or a listing: any bytes, ending in a newline, with
    /// the transcript showing the first lines of it.
    fn print_content(&mut self, data: &[u8]) {
        self.output.extend_from_slice(&encode_text(data));
        if !data.is_empty() && !data.ends_with(b"\n") {
            self.output.extend_from_slice(b"\r\n");
        }
        let mut shown = BodyLines::default();
        for line in crate::proto::pop3::lines(data) {
            if shown.count() {
                self.transcript.push_back(Transcript::Reply {
                    code: None,
                    text: String::from_utf8_lossy(line).into_owned(),
                });
            }
        }
        if let Some(Transcript::Data(rest)) = shown.rest() {
            self.transcript.push_back(Transcript::Reply {
                code: None,
                text: rest,
            });
        }
    }

    /// The prompt of the current state, and a Go Ahead if the client did
    /// not agree to do without (RFC 858).
    fn prompt(&mut self) {
        let prompt = match self.state {
            State::Login => format!("{} login: ", self.config.hostname),
            State::Password => "Password: ".to_string(),
            State::Shell => format!(
                "{}@{}:{}$ ",
                self.user.as_deref().unwrap_or_default(),
                self.config.hostname,
                self.cwd
            ),
            State::Closed => return,
        };
        self.print(&prompt);
        let sga = OPT_SUPPRESS_GO_AHEAD;
        if !self.options.local(sga) && !self.options.local_pending(sga) {
            // RFC 854: in half-duplex the server hands the turn over.
            self.output.extend_from_slice(&[IAC, GA]);
        }
    }

    fn close(&mut self) {
        self.state = State::Closed;
        self.line.clear();
    }
}

impl Session for TelnetServer {
    fn poll_output(&mut self) -> Option<Vec<u8>> {
        if self.output.is_empty() {
            None
        } else {
            Some(std::mem::take(&mut self.output))
        }
    }

    fn poll_transcript(&mut self) -> Option<Transcript> {
        self.transcript.pop_front()
    }

    fn wants_close(&self) -> bool {
        self.state == State::Closed
    }

    fn handle_close(&mut self) {
        self.close();
    }

    fn state_name(&self) -> &'static str {
        match self.state {
            State::Login => "LOGIN",
            State::Password => "PASSWORD",
            State::Shell => "SHELL",
            State::Closed => "CLOSED",
        }
    }
}
