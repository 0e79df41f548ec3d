//! The SSH server that runs scp: key exchange, password check, then
//! `scp -t`, `scp -f` or one of a few shell commands on a session channel.
//!
//! [`ScpServer`] is one connection. Its dialogue, as its transcript shows
//! it (everything after the two `newkeys` travels encrypted):
//!
//! ```text
//! S: SSH-2.0-wiretale
//! C: SSH-2.0-OpenSSH_9.6
//! S: kexinit (curve25519-sha256, ssh-ed25519, chacha20-poly1305@openssh.com, ...)
//! C: kexinit (curve25519-sha256, ssh-ed25519, chacha20-poly1305@openssh.com, ...)
//! C: kex_ecdh_init (client key 3f2a9c01...)
//! S: kex_ecdh_reply (host key SHA256:..., server key 77e0b5c2..., signature)
//! S: newkeys
//! C: newkeys
//! C: service_request ssh-userauth
//! S: service_accept ssh-userauth
//! C: userauth_request alice password (password hidden)
//! S: userauth_success
//! C: channel_open session (window 2097152, packets up to 32768)
//! S: channel_open_confirmation (window 2097152)
//! C: exec "scp -t /uploads"
//! S: channel_success
//! S: \0 (ok)
//! C: C0644 1432 report.pdf
//! ...
//! S: exit-status 0
//! S: channel_close
//! C: channel_close
//! ```
//!
//! It runs `scp -t`, `scp -f`, and `ls`, `cat` and `pwd` over the same
//! files (any other command gets exit status 127), and it reaches files
//! and accounts only through an [`ScpBackend`]. One session channel per
//! connection; no shell, no port forwarding, no SFTP.

use super::command::{Direction, ScpCommand};
use super::outbox::{Outbox, Side};
use super::rcp::{ScpEntry, Sink, SinkOptions, SinkTarget, Source, WriteError, join_path};
use crate::proto::ssh::channel::{self as ssh_channel, Channel};
use crate::proto::ssh::message::{AuthMethod, ChannelRequest, DecodeError, Message};
use crate::proto::ssh::{Event, HostKey, Transport, msg};
use crate::proto::{Session, Transcript};
use crate::sim::SimRng;
use bytes::Bytes;

/// The server's states, for the visualizer.
pub const STATES: &[&str] = &[
    "KEY-EXCHANGE",
    "AUTHENTICATION",
    "COMMAND",
    "SINK",
    "SOURCE",
    "CLOSING",
    "CLOSED",
];

/// The server's state diagram: `(from, to, label)`.
pub const TRANSITIONS: &[crate::proto::Transition] = &[
    (
        "KEY-EXCHANGE",
        "AUTHENTICATION",
        "NEWKEYS both ways, service ssh-userauth",
    ),
    (
        "KEY-EXCHANGE",
        "CLOSED",
        "no common algorithm / bad version",
    ),
    (
        "AUTHENTICATION",
        "AUTHENTICATION",
        "wrong password / method none",
    ),
    ("AUTHENTICATION", "COMMAND", "password accepted"),
    ("AUTHENTICATION", "CLOSED", "too many failures"),
    ("COMMAND", "COMMAND", "channel_open session"),
    ("COMMAND", "SINK", "exec scp -t"),
    ("COMMAND", "SOURCE", "exec scp -f"),
    (
        "COMMAND",
        "CLOSING",
        "exec ls / cat / pwd / unknown: exit-status",
    ),
    ("SINK", "SINK", "record acknowledged"),
    ("SINK", "CLOSING", "EOF: exit-status, channel_close"),
    ("SOURCE", "SOURCE", "record acknowledged"),
    (
        "SOURCE",
        "CLOSING",
        "all sent: EOF, exit-status, channel_close",
    ),
    ("CLOSING", "CLOSED", "client's channel_close"),
    (
        "AUTHENTICATION",
        "CLOSED",
        "bad packet (tampered or replayed)",
    ),
    ("COMMAND", "CLOSED", "bad packet (tampered or replayed)"),
    ("SINK", "CLOSED", "bad packet (tampered or replayed)"),
    ("SOURCE", "CLOSED", "bad packet (tampered or replayed)"),
];

/// A file or directory as the backend describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScpNode {
    File {
        data: Bytes,
        /// Permission bits, e.g. `0o644`.
        mode: u32,
        /// Modification time, Unix seconds.
        mtime: Option<i64>,
    },
    Dir {
        mode: u32,
        mtime: Option<i64>,
        /// The names (not paths) of the directory's entries.
        entries: Vec<String>,
    },
}

/// What the server needs from the world: accounts and a file system.
/// Paths are absolute and normalized (`/home/alice/report.pdf`).
pub trait ScpBackend {
    /// True if `password` is `user`'s password.
    fn check_password(&self, user: &str, password: &str) -> bool;
    /// Where relative paths of `user` start (`scp report.pdf host:` lands
    /// there). `/` unless overridden.
    fn home_dir(&self, _user: &str) -> String {
        "/".to_string()
    }
    /// The file or directory at `path`, if any.
    fn lookup(&self, path: &str) -> Option<ScpNode>;
    /// Stores a file (creating or replacing it).
    fn write_file(
        &mut self,
        path: &str,
        data: Bytes,
        mode: u32,
        mtime: Option<i64>,
    ) -> Result<(), WriteError>;
    /// Creates a directory.
    fn make_dir(&mut self, path: &str, mode: u32) -> Result<(), WriteError>;
}

/// Limits of one server connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScpLimits {
    /// Largest file accepted in an upload, in bytes.
    pub max_file_size: u64,
    /// Wrong passwords before the server disconnects (OpenSSH's
    /// `MaxAuthTries` is 6; 3 is the classic number of prompts).
    pub max_auth_attempts: u32,
    /// Deepest directory nesting sent in a recursive download.
    pub max_depth: u32,
}

impl Default for ScpLimits {
    fn default() -> Self {
        ScpLimits {
            max_file_size: 64 * 1024 * 1024,
            max_auth_attempts: 3,
            max_depth: 32,
        }
    }
}

/// Exit status for a command the server does not run (a shell's "command
/// not found").
pub const EXIT_COMMAND_NOT_FOUND: u32 = 127;
/// The service the client asks for once authenticated (RFC 4254).
const CONNECTION_SERVICE: &str = "ssh-connection";

#[derive(Clone)]
enum Phase {
    KeyExchange,
    Authentication,
    /// Authenticated; waiting for a channel and its command.
    Command,
    Sink(Box<Sink>),
    Source(Box<Source>),
    /// The command is over and CLOSE sent; waiting for the client's.
    Closing,
    Closed,
}

/// One SSH connection, server side. A clone is the same connection at
/// the same point, as [`Transport`]'s.
#[derive(Clone)]
pub struct ScpServer {
    phase: Phase,
    limits: ScpLimits,
    host_public: [u8; 32],
    user: Option<String>,
    auth_failures: u32,
    out: Outbox,
    close_requested: bool,
}

impl ScpServer {
    /// A server connection. `host_secret` seeds the server's long-term
    /// Ed25519 host key (the same for every connection, like
    /// `/etc/ssh/ssh_host_ed25519_key`); `seed` must be fresh random bytes
    /// for this connection (its ephemeral key, cookie and padding). The
    /// version line and KEXINIT are queued at once: both ends speak first.
    pub fn new(host_secret: [u8; 32], seed: [u8; 32]) -> ScpServer {
        let host_key = HostKey::from_seed(&host_secret);
        let host_public = host_key.public();
        ScpServer {
            phase: Phase::KeyExchange,
            limits: ScpLimits::default(),
            host_public,
            user: None,
            auth_failures: 0,
            out: Outbox::new(Side::Server, Transport::server(host_key, seed)),
            close_requested: false,
        }
    }

    /// A server connection whose randomness is drawn from the run's
    /// random number generator.
    pub fn from_rng(host_secret: [u8; 32], rng: &mut SimRng) -> ScpServer {
        let mut seed = [0u8; 32];
        rng.fill_bytes(&mut seed);
        ScpServer::new(host_secret, seed)
    }

    /// Replaces the default [`ScpLimits`].
    pub fn with_limits(mut self, limits: ScpLimits) -> ScpServer {
        self.limits = limits;
        self
    }

    /// The host public key clients should expect (their `known_hosts`).
    pub fn host_public_key(&self) -> [u8; 32] {
        self.host_public
    }

    /// The authenticated user, once there is one.
    pub fn user(&self) -> Option<&str> {
        self.user.as_deref()
    }

    /// Feeds bytes received from the client.
    pub fn handle_input<B: ScpBackend + ?Sized>(&mut self, data: &[u8], backend: &mut B) {
        if matches!(self.phase, Phase::Closed) {
            return;
        }
        self.out.transport.handle_input(data);
        while let Some(event) = self.out.transport.poll_event() {
            match event {
                Event::Ready => {
                    if matches!(self.phase, Phase::KeyExchange) {
                        self.phase = Phase::Authentication;
                    }
                }
                Event::Message { seq, payload } => match Message::decode(&payload) {
                    Ok(message) => self.handle_message(message, backend),
                    Err(DecodeError::Unknown(_)) => self.out.transport.unimplemented(seq),
                    Err(DecodeError::Malformed(kind)) => self.disconnect(
                        msg::DISCONNECT_PROTOCOL_ERROR,
                        &format!("malformed message {kind}"),
                    ),
                },
                Event::Disconnected { .. } => self.close(),
            }
            if matches!(self.phase, Phase::Closed) {
                break;
            }
        }
        self.out.flush_channel();
        if self.out.transport.is_closed() {
            self.close();
        }
    }

    fn handle_message<B: ScpBackend + ?Sized>(&mut self, message: Message, backend: &mut B) {
        // Messages that mean the same in every phase.
        if self.out.housekeeping(&message) {
            return;
        }
        match &message {
            Message::Close { .. } => {
                self.out.heard(message.describe());
                if let Some(channel) = self.out.channel.as_ref()
                    && !channel.close_sent
                {
                    let recipient = channel.remote;
                    self.out.send(Message::Close { recipient });
                }
                self.close();
                return;
            }
            Message::ChannelSuccess { .. }
            | Message::ChannelFailure { .. }
            | Message::ExtendedData { .. } => return,
            Message::Data { data, .. } => {
                if let Err(why) = self.out.account_data(data.len()) {
                    self.disconnect(msg::DISCONNECT_PROTOCOL_ERROR, &why);
                    return;
                }
            }
            _ => {}
        }
        let phase = std::mem::replace(&mut self.phase, Phase::Closed);
        match (phase, message) {
            (
                Phase::Authentication,
                Message::UserAuthRequest {
                    user,
                    service,
                    method,
                },
            ) => {
                self.phase = Phase::Authentication;
                self.authenticate(&user, &service, method, backend);
            }
            (Phase::Command, Message::UserAuthRequest { .. }) => {
                // RFC 4252 §5.1: requests after success are ignored.
                self.phase = Phase::Command;
            }
            (Phase::Command, message @ Message::ChannelOpen { .. }) => {
                self.phase = Phase::Command;
                self.open_channel(message);
            }
            (
                Phase::Command,
                Message::Request {
                    want_reply,
                    request,
                    ..
                },
            ) => {
                self.phase = Phase::Command;
                match request {
                    ChannelRequest::Exec(command) if self.out.channel.is_some() => {
                        self.out.heard(format!("exec \"{command}\""));
                        if want_reply {
                            let recipient = self.out.remote();
                            self.out.send(Message::ChannelSuccess { recipient });
                        }
                        self.exec(&command, backend);
                    }
                    other => {
                        // env, pty-req, shell, subsystem sftp, ...: not offered.
                        self.out.heard(
                            Message::Request {
                                recipient: 0,
                                want_reply,
                                request: other,
                            }
                            .describe(),
                        );
                        if want_reply {
                            let recipient = self.out.remote();
                            self.out.send(Message::ChannelFailure { recipient });
                        }
                    }
                }
            }
            (Phase::Sink(mut sink), Message::Data { data, .. }) => {
                sink.handle_data(&data, &mut BackendTarget(backend));
                self.pump_sink(sink);
            }
            (Phase::Sink(mut sink), Message::Eof { .. }) => {
                self.out.heard("channel_eof".into());
                sink.handle_eof();
                self.pump_sink(sink);
            }
            (Phase::Source(mut source), Message::Data { data, .. }) => {
                source.handle_data(&data);
                self.pump_source(source);
            }
            (Phase::Source(mut source), Message::Eof { .. }) => {
                self.out.heard("channel_eof".into());
                source.handle_eof();
                self.pump_source(source);
            }
            // Late input once the command is over is of no use.
            (
                Phase::Closing,
                Message::Data { .. } | Message::Eof { .. } | Message::Request { .. },
            ) => {
                self.phase = Phase::Closing;
            }
            (Phase::Command, Message::Eof { .. }) => self.phase = Phase::Command,
            (phase, message) => {
                self.phase = phase;
                self.disconnect(
                    msg::DISCONNECT_PROTOCOL_ERROR,
                    &format!("unexpected {}", message.describe()),
                );
            }
        }
    }

    /// RFC 4252: "none" learns the methods, "password" is checked; other
    /// methods are not offered.
    fn authenticate<B: ScpBackend + ?Sized>(
        &mut self,
        user: &str,
        service: &str,
        method: AuthMethod,
        backend: &B,
    ) {
        let request = Message::UserAuthRequest {
            user: user.to_string(),
            service: service.to_string(),
            method: method.clone(),
        };
        self.out.heard(request.describe());
        if service != CONNECTION_SERVICE {
            self.disconnect(
                msg::DISCONNECT_SERVICE_NOT_AVAILABLE,
                &format!("service {service} not available"),
            );
            return;
        }
        let failure = Message::UserAuthFailure {
            methods: vec!["password".into()],
            partial: false,
        };
        let AuthMethod::Password(password) = method else {
            self.out.send(failure);
            return;
        };
        if backend.check_password(user, &password) {
            self.out.send(Message::UserAuthSuccess);
            self.out.data(format!("user {user} authenticated"));
            self.user = Some(user.to_string());
            self.phase = Phase::Command;
            return;
        }
        self.auth_failures += 1;
        self.out.data(format!("wrong password for user {user}"));
        if self.auth_failures >= self.limits.max_auth_attempts {
            self.disconnect(
                msg::DISCONNECT_NO_MORE_AUTH_METHODS,
                "too many authentication failures",
            );
        } else {
            self.out.send(failure);
        }
    }

    /// RFC 4254 §6.1: one "session" channel.
    fn open_channel(&mut self, message: Message) {
        self.out.heard(message.describe());
        let Message::ChannelOpen {
            kind,
            sender,
            window,
            max_packet,
        } = message
        else {
            return;
        };
        if kind != "session" || self.out.channel.is_some() {
            let (reason, description) = if kind == "session" {
                (4, "one session per connection")
            } else {
                (1, "only session channels are offered")
            };
            self.out.send(Message::ChannelOpenFailure {
                recipient: sender,
                reason,
                description: description.into(),
            });
            return;
        }
        self.out.channel = Some(Channel::new(0, sender, window, max_packet));
        self.out.send(Message::ChannelOpenConfirmation {
            recipient: sender,
            sender: 0,
            window: ssh_channel::WINDOW,
            max_packet: ssh_channel::MAX_PACKET,
        });
    }

    /// Runs a command: scp, or one of the few others.
    fn exec<B: ScpBackend + ?Sized>(&mut self, command_line: &str, backend: &mut B) {
        let home = backend.home_dir(self.user.as_deref().unwrap_or(""));
        if command_line.split_whitespace().next() != Some("scp") {
            let (stdout, stderr, status) = run_command(&*backend, &home, command_line);
            if !stdout.is_empty() {
                self.out.data(format!("({} bytes of output)", stdout.len()));
            }
            self.out.send_data(&stdout);
            self.out.send_stderr(&stderr);
            self.exit(status);
            return;
        }
        let command = match ScpCommand::parse(command_line) {
            Ok(command) => command,
            Err(why) => {
                self.out.send_stderr(format!("{why}\n").as_bytes());
                self.out.data(why);
                self.exit(EXIT_COMMAND_NOT_FOUND);
                return;
            }
        };
        let path = resolve_path(&home, &command.path);
        match command.direction {
            Direction::To => {
                let options = SinkOptions {
                    recursive: command.recursive,
                    target_must_be_dir: command.target_must_be_dir,
                    max_file_size: self.limits.max_file_size,
                };
                let sink = Sink::new(&path, options, &BackendTarget(backend));
                self.pump_sink(Box::new(sink));
            }
            Direction::From => {
                let source =
                    match build_entry(&*backend, &path, command.recursive, self.limits.max_depth) {
                        Ok(entry) => Source::new(&[entry], command.preserve_times),
                        Err(message) => Source::failing(&message),
                    };
                self.pump_source(Box::new(source));
            }
        }
    }

    /// Sends what the sink produced; ends the command when it is done.
    fn pump_sink(&mut self, mut sink: Box<Sink>) {
        let bytes = sink.take_output();
        self.out.send_data(&bytes);
        while let Some(note) = sink.poll_note() {
            self.out.note(note);
        }
        if sink.is_finished() {
            self.exit(sink.exit_status());
        } else {
            self.phase = Phase::Sink(sink);
        }
    }

    /// Sends what the source produced; ends the command when it is done.
    fn pump_source(&mut self, mut source: Box<Source>) {
        let bytes = source.take_output();
        self.out.send_data(&bytes);
        while let Some(note) = source.poll_note() {
            self.out.note(note);
        }
        if source.is_finished() {
            self.exit(source.exit_status());
        } else {
            self.phase = Phase::Source(source);
        }
    }

    /// RFC 4254 §6.10: EOF, the command's exit status, CLOSE, each after
    /// the data still waiting for window.
    fn exit(&mut self, status: u32) {
        let Some(channel) = self.out.channel.as_mut() else {
            self.close();
            return;
        };
        let recipient = channel.remote;
        channel.send_after_data(Message::Eof { recipient });
        channel.send_after_data(Message::Request {
            recipient,
            want_reply: false,
            request: ChannelRequest::ExitStatus(status),
        });
        channel.send_after_data(Message::Close { recipient });
        self.out.flush_channel();
        self.phase = Phase::Closing;
    }

    /// Tells the client why, then closes.
    fn disconnect(&mut self, code: u32, reason: &str) {
        self.out.transport.disconnect(code, reason);
        self.close();
    }

    fn close(&mut self) {
        self.phase = Phase::Closed;
        self.close_requested = true;
    }
}

/// The few shell commands the server runs besides scp, over the same
/// files: `ls [-l] [path]`, `cat path...`, `pwd`. Returns stdout, stderr
/// and the exit status.
fn run_command<B: ScpBackend + ?Sized>(
    backend: &B,
    home: &str,
    line: &str,
) -> (Vec<u8>, Vec<u8>, u32) {
    let words: Vec<&str> = line.split_whitespace().collect();
    let Some((&name, args)) = words.split_first() else {
        return (Vec::new(), Vec::new(), 0);
    };
    let paths: Vec<&str> = args
        .iter()
        .copied()
        .filter(|a| !a.starts_with('-'))
        .collect();
    let long = args.iter().any(|a| a.starts_with('-') && a.contains('l'));
    let mut out = String::new();
    let mut err = String::new();
    let mut status = 0;
    match name {
        "pwd" => out.push_str(&format!("{home}\n")),
        "ls" => {
            let targets = if paths.is_empty() { vec!["."] } else { paths };
            for target in targets {
                let path = resolve_path(home, target);
                match backend.lookup(&path) {
                    Some(ScpNode::Dir { entries, .. }) => {
                        let mut names = entries.clone();
                        names.sort();
                        for entry in names {
                            if long {
                                out.push_str(&describe_entry(
                                    backend,
                                    &join_path(&path, &entry),
                                    &entry,
                                ));
                            } else {
                                out.push_str(&format!("{entry}\n"));
                            }
                        }
                    }
                    Some(ScpNode::File { .. }) => out.push_str(&if long {
                        describe_entry(backend, &path, target)
                    } else {
                        format!("{target}\n")
                    }),
                    None => {
                        err.push_str(&format!(
                            "ls: cannot access '{target}': No such file or directory\n"
                        ));
                        status = 2;
                    }
                }
            }
        }
        "cat" => {
            for target in paths {
                match backend.lookup(&resolve_path(home, target)) {
                    Some(ScpNode::File { data, .. }) => {
                        out.push_str(&String::from_utf8_lossy(&data))
                    }
                    Some(ScpNode::Dir { .. }) => {
                        err.push_str(&format!("cat: {target}: Is a directory\n"));
                        status = 1;
                    }
                    None => {
                        err.push_str(&format!("cat: {target}: No such file or directory\n"));
                        status = 1;
                    }
                }
            }
        }
        other => {
            err.push_str(&format!("sh: 1: {other}: not found\n"));
            status = EXIT_COMMAND_NOT_FOUND;
        }
    }
    (out.into_bytes(), err.into_bytes(), status)
}

/// One line of `ls -l`.
fn describe_entry<B: ScpBackend + ?Sized>(backend: &B, path: &str, name: &str) -> String {
    match backend.lookup(path) {
        Some(ScpNode::File { data, mode, .. }) => {
            format!("-{} {:>10} {name}\n", rwx(mode), data.len())
        }
        Some(ScpNode::Dir { mode, .. }) => format!("d{} {:>10} {name}\n", rwx(mode), 0),
        None => String::new(),
    }
}

fn rwx(mode: u32) -> String {
    (0..9)
        .map(|i| {
            let bit = mode >> (8 - i) & 1;
            if bit == 0 {
                '-'
            } else {
                ['r', 'w', 'x'][i % 3]
            }
        })
        .collect()
}

/// The backend seen as a place a sink can store files.
struct BackendTarget<'a, B: ?Sized>(&'a mut B);

impl<B: ScpBackend + ?Sized> SinkTarget for BackendTarget<'_, B> {
    fn is_dir(&self, path: &str) -> bool {
        matches!(self.0.lookup(path), Some(ScpNode::Dir { .. }))
    }

    fn write_file(
        &mut self,
        path: &str,
        data: Bytes,
        mode: u32,
        mtime: Option<i64>,
    ) -> Result<(), WriteError> {
        self.0.write_file(path, data, mode, mtime)
    }

    fn make_dir(&mut self, path: &str, mode: u32) -> Result<(), WriteError> {
        self.0.make_dir(path, mode)
    }
}

/// An absolute, normalized path: relative paths start at `home`, `~/` is
/// home too, `.` and `..` are resolved (never above `/`).
pub fn resolve_path(home: &str, path: &str) -> String {
    let path = path.strip_prefix("~/").unwrap_or(path);
    let joined = if path.starts_with('/') {
        path.to_string()
    } else {
        join_path(home, path)
    };
    let mut parts: Vec<&str> = Vec::new();
    for part in joined.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            name => parts.push(name),
        }
    }
    format!("/{}", parts.join("/"))
}

/// The tree a download sends: the file at `path`, or with `-r` the
/// directory and everything below it.
fn build_entry<B: ScpBackend + ?Sized>(
    backend: &B,
    path: &str,
    recursive: bool,
    depth_left: u32,
) -> Result<ScpEntry, String> {
    let name = path.rsplit('/').next().unwrap_or("").to_string();
    match backend.lookup(path) {
        None => Err(format!("scp: {path}: No such file or directory")),
        Some(ScpNode::File { data, mode, mtime }) => Ok(ScpEntry::File {
            name,
            mode,
            mtime,
            data,
        }),
        Some(ScpNode::Dir { .. }) if !recursive || name.is_empty() => {
            Err(format!("scp: {path}: not a regular file"))
        }
        Some(ScpNode::Dir {
            mode,
            mtime,
            entries,
        }) => {
            if depth_left == 0 {
                return Err(format!("scp: {path}: too deeply nested"));
            }
            // Entries that vanish or misbehave are left out rather than
            // failing the whole tree.
            let children = entries
                .iter()
                .filter(|child| super::rcp::valid_name(child))
                .filter_map(|child| {
                    build_entry(backend, &join_path(path, child), true, depth_left - 1).ok()
                })
                .collect();
            Ok(ScpEntry::Dir {
                name,
                mode,
                mtime,
                entries: children,
            })
        }
    }
}

impl Session for ScpServer {
    fn poll_output(&mut self) -> Option<Vec<u8>> {
        self.out.poll_output()
    }

    fn poll_transcript(&mut self) -> Option<Transcript> {
        self.out.poll_transcript()
    }

    fn wants_close(&self) -> bool {
        self.close_requested
    }

    fn handle_close(&mut self) {
        self.phase = Phase::Closed;
        // Like every machine's: once the peer is gone there is nothing
        // more to say, so the connection is to be closed.
        self.close_requested = true;
    }

    fn state_name(&self) -> &'static str {
        match self.phase {
            Phase::KeyExchange => "KEY-EXCHANGE",
            Phase::Authentication => "AUTHENTICATION",
            Phase::Command => "COMMAND",
            Phase::Sink(_) => "SINK",
            Phase::Source(_) => "SOURCE",
            Phase::Closing => "CLOSING",
            Phase::Closed => "CLOSED",
        }
    }
}
