//! A scripted TELNET client: a user at a terminal in character mode.
//!
//! [`TelnetClient`] agrees to the server's ECHO and SUPPRESS-GO-AHEAD
//! (and refuses every other option), waits for `login:`, types the user
//! name, waits for `Password:`, types the password, and then at each shell
//! prompt types the next command, ending with `exit`. It reads the screen
//! as a person would: a prompt is the text the server left at the end of
//! the screen after the last Return (`login: `, `Password: `, a line
//! ending in `$ `, `# `, `> ` or `% `).
//!
//! Typing is paced by the driver: each keystroke is handed out alone by
//! [`TelnetClient::poll_keystroke`], and the driver sends it as its own
//! segment after a short pause, the way a real telnet in character mode
//! sends every key the moment it is pressed. Return is CR LF, the NVT's
//! end of line.
//!
//! It is not a terminal emulator: escape sequences are kept as bytes, and
//! what the server prints is kept as text, per command
//! ([`TelnetClient::outputs`]).

use std::collections::VecDeque;

use super::codec::{Decoder, Item, Key, LineEnds, escape_iac};
use super::options::Negotiator;
use super::{OPT_ECHO, OPT_SUPPRESS_GO_AHEAD, Verb, option_name};
use crate::proto::{Session, Transcript, Transition};

/// The most the client keeps of what the server printed since the last
/// Return; beyond it the oldest bytes are dropped (a prompt is at the
/// end).
pub const MAX_SCREEN: usize = 1024 * 1024;

/// The states of the client diagram; each names what it waits for.
pub const STATES: &[&str] = &[
    "LOGIN-PROMPT",
    "PASSWORD-PROMPT",
    "LOGIN-RESULT",
    "COMMAND",
    "EXIT",
    "CLOSED",
];

/// The client's state diagram for the visualizer: `(from, to, label)`.
pub const TRANSITIONS: &[Transition] = &[
    (
        "LOGIN-PROMPT",
        "PASSWORD-PROMPT",
        "login: / type the user name",
    ),
    (
        "PASSWORD-PROMPT",
        "LOGIN-RESULT",
        "Password: / type the password",
    ),
    ("LOGIN-RESULT", "COMMAND", "shell prompt / type a command"),
    ("LOGIN-RESULT", "EXIT", "shell prompt, no commands / exit"),
    ("LOGIN-RESULT", "CLOSED", "login: again / hang up"),
    ("COMMAND", "COMMAND", "prompt / the next command"),
    ("COMMAND", "EXIT", "prompt, all done / exit"),
    ("EXIT", "CLOSED", "logout, connection closed"),
];

/// Who logs in and what they type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TelnetClientConfig {
    pub user: String,
    pub password: String,
    /// Shell command lines, in order. `exit` is typed after the last one;
    /// an `exit` or `logout` in the list ends the session there.
    pub commands: Vec<String>,
}

/// A command and what the server printed for it, up to the next prompt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandOutput {
    pub command: String,
    pub output: String,
}

/// Why a session did not go as planned.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TelnetClientError {
    /// The server asked for the login again after the password.
    #[error("login refused: {0}")]
    LoginRefused(String),
    /// The connection ended before `exit`.
    #[error("connection closed early")]
    ConnectionClosed,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    LoginPrompt,
    PasswordPrompt,
    LoginResult,
    Command,
    Exit,
    Closed,
}

/// A scripted TELNET client session. See the module documentation.
#[derive(Debug, Clone)]
pub struct TelnetClient {
    config: TelnetClientConfig,
    decoder: Decoder,
    ends: LineEnds,
    options: Negotiator,
    state: State,
    /// What the server printed since the last Return, ends of line as LF.
    screen: Vec<u8>,
    /// Keystrokes still to type, each as it goes on the wire, and the
    /// line each Return ends (`None` for the other keys).
    keys: VecDeque<(Vec<u8>, Option<String>)>,
    next_command: usize,
    /// The command typed last, waiting for its output.
    running: Option<String>,
    outputs: Vec<CommandOutput>,
    logged_in: bool,
    error: Option<TelnetClientError>,
    output: Vec<u8>,
    transcript: VecDeque<Transcript>,
}

impl TelnetClient {
    /// A session that starts when the server's first bytes arrive.
    pub fn new(config: TelnetClientConfig) -> TelnetClient {
        TelnetClient {
            config,
            decoder: Decoder::new(),
            ends: LineEnds::default(),
            // A client may stop sending Go Ahead; it lets the server echo
            // and stop sending Go Ahead.
            options: Negotiator::new(&[OPT_SUPPRESS_GO_AHEAD], &[OPT_ECHO, OPT_SUPPRESS_GO_AHEAD]),
            state: State::LoginPrompt,
            screen: Vec::new(),
            keys: VecDeque::new(),
            next_command: 0,
            running: None,
            outputs: Vec::new(),
            logged_in: false,
            error: None,
            output: Vec::new(),
            transcript: VecDeque::new(),
        }
    }

    /// True once the server accepted the password.
    pub fn logged_in(&self) -> bool {
        self.logged_in
    }

    /// The commands run so far and what each printed.
    pub fn outputs(&self) -> &[CommandOutput] {
        &self.outputs
    }

    /// What went wrong, if anything.
    pub fn error(&self) -> Option<&TelnetClientError> {
        self.error.as_ref()
    }

    /// True if the server echoes (the client agreed to its ECHO).
    pub fn remote_echo(&self) -> bool {
        self.options.remote(OPT_ECHO)
    }

    /// True if the session logged in, ran everything and logged out.
    pub fn succeeded(&self) -> bool {
        self.logged_in && self.error.is_none() && self.state == State::Closed
    }

    /// True while keystrokes wait to be typed.
    pub fn is_typing(&self) -> bool {
        !self.keys.is_empty()
    }

    /// The next keystroke, as it goes on the wire: one character, or CR LF
    /// for Return. The driver sends each in its own segment.
    pub fn poll_keystroke(&mut self) -> Option<Vec<u8>> {
        if self.state == State::Closed {
            self.keys.clear();
            return None;
        }
        let (bytes, line) = self.keys.pop_front()?;
        if let Some(line) = line {
            // What the server prints from now on answers this line.
            self.screen.clear();
            self.transcript.push_back(Transcript::Command(line));
        }
        Some(bytes)
    }

    /// Feeds bytes from the server.
    pub fn handle_input(&mut self, data: &[u8]) {
        if self.state == State::Closed {
            return;
        }
        let mut items = Vec::new();
        for &b in data {
            self.decoder.feed(b, &mut items);
            for item in items.drain(..) {
                match item {
                    Item::Data(b) => match self.ends.feed(b) {
                        Some(Key::Byte(b)) => self.show(b),
                        Some(Key::Enter) => self.show(b'\n'),
                        None => {}
                    },
                    Item::Negotiation(verb, option) => self.negotiation(verb, option),
                    Item::Command(_) | Item::Subnegotiation { .. } => {}
                }
            }
        }
        self.react();
    }

    fn show(&mut self, b: u8) {
        if self.screen.len() >= MAX_SCREEN {
            self.screen.drain(..MAX_SCREEN / 2);
        }
        self.screen.push(b);
    }

    fn negotiation(&mut self, verb: Verb, option: u8) {
        self.transcript.push_back(Transcript::Reply {
            code: None,
            text: format!("{} {}", verb.name(), option_name(option)),
        });
        if let Some(reply) = self.options.handle(verb, option).reply {
            self.output.extend_from_slice(&reply.encode(option));
            self.transcript.push_back(Transcript::Command(format!(
                "{} {}",
                reply.name(),
                option_name(option)
            )));
        }
    }

    /// Looks at the screen and types what the state calls for.
    fn react(&mut self) {
        if self.is_typing() {
            return;
        }
        // A prompt is what the screen ends with: only its tail is read,
        // so a long output costs nothing until its prompt comes.
        let tail = &self.screen[self.screen.len().saturating_sub(16)..];
        let tail = String::from_utf8_lossy(tail).to_ascii_lowercase();
        let at_login = tail.ends_with("login: ");
        let at_password = tail.ends_with("password: ");
        let at_shell = ["$ ", "# ", "> ", "% "].iter().any(|p| tail.ends_with(p));
        if !(at_login || at_password || at_shell) {
            return;
        }
        let screen = String::from_utf8_lossy(&self.screen).into_owned();
        match self.state {
            State::LoginPrompt if at_login => {
                let user = self.config.user.clone();
                self.type_line(&user);
                self.state = State::PasswordPrompt;
            }
            State::PasswordPrompt if at_password => {
                let password = self.config.password.clone();
                self.type_line(&password);
                self.state = State::LoginResult;
            }
            State::LoginResult if at_shell => {
                self.logged_in = true;
                self.next();
            }
            State::LoginResult if at_login => {
                let why = screen
                    .lines()
                    .map(str::trim)
                    .find(|l| !l.is_empty())
                    .unwrap_or("login: again")
                    .to_string();
                self.error = Some(TelnetClientError::LoginRefused(why));
                self.state = State::Closed;
            }
            State::Command if at_shell => {
                let mut lines: Vec<&str> = screen.split('\n').collect();
                lines.pop();
                // The echo of the Return is the first line break.
                if lines.first() == Some(&"") {
                    lines.remove(0);
                }
                let mut output = lines.join("\n");
                if !lines.is_empty() {
                    output.push('\n');
                }
                let command = self.running.take().unwrap_or_default();
                self.outputs.push(CommandOutput { command, output });
                self.next();
            }
            _ => {}
        }
    }

    /// Types the next command, or `exit` when there is none left.
    fn next(&mut self) {
        let command = self
            .config
            .commands
            .get(self.next_command)
            .cloned()
            .unwrap_or_else(|| "exit".to_string());
        self.next_command += 1;
        self.state = if matches!(command.trim(), "exit" | "logout") {
            State::Exit
        } else {
            State::Command
        };
        self.type_line(&command);
        self.running = Some(command);
    }

    /// Queues the keystrokes of `line` and Return.
    fn type_line(&mut self, line: &str) {
        let mut buf = [0u8; 4];
        for c in line.chars() {
            let key = escape_iac(c.encode_utf8(&mut buf).as_bytes());
            self.keys.push_back((key, None));
        }
        self.keys
            .push_back((b"\r\n".to_vec(), Some(line.to_string())));
    }
}

impl Session for TelnetClient {
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
        if !matches!(self.state, State::Exit | State::Closed) && self.error.is_none() {
            self.error = Some(TelnetClientError::ConnectionClosed);
        }
        self.keys.clear();
        self.state = State::Closed;
    }

    fn state_name(&self) -> &'static str {
        match self.state {
            State::LoginPrompt => "LOGIN-PROMPT",
            State::PasswordPrompt => "PASSWORD-PROMPT",
            State::LoginResult => "LOGIN-RESULT",
            State::Command => "COMMAND",
            State::Exit => "EXIT",
            State::Closed => "CLOSED",
        }
    }
}
