//! The SCP server: key exchange, password check, then `scp -t` or
//! `scp -f` over the encrypted channel.
//!
//! [`ScpServer`] is one connection. Its dialogue, as its transcript shows
//! it (everything after the hellos travels sealed):
//!
//! ```text
//! S: WTSCP-1.0-wiretale (X25519 key 3f2a9c01..., host key 8d41e2aa07b3c951)
//! C: WTSCP-1.0-wiretale (X25519 key 77e0b5c2...)
//!    key exchange X25519: keys derived with HKDF-SHA256
//!    channel encrypted with ChaCha20-Poly1305
//! C: auth password user alice (password hidden)
//! S: user alice authenticated
//! C: exec scp -t /uploads
//! S: \0 (ok)
//! C: C0644 1432 report.pdf
//! S: \0 (ok)
//!    (1432 bytes of report.pdf)
//! C: \0 (ok)
//! S: \0 (ok)
//! S: exit-status 0
//! ```
//!
//! It runs nothing but `scp -t` and `scp -f` (any other command gets exit
//! status 127), and it reaches files and accounts only through an
//! [`ScpBackend`].

use super::channel::{
    self, ChannelError, Hello, HelloParse, RecordOpener, RecordSealer, VERSION_LINE,
};
use super::command::{Direction, ScpCommand};
use super::message::{MAX_DATA, Message};
use super::outbox::{Outbox, Side};
use super::rcp::{ScpEntry, Sink, SinkOptions, SinkTarget, Source, join_path};
use crate::proto::{Session, Transcript};
use crate::sim::SimRng;
use bytes::Bytes;

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
    /// Stores a file (creating or replacing it). `Err` carries a message
    /// such as "Permission denied".
    fn write_file(
        &mut self,
        path: &str,
        data: Bytes,
        mode: u32,
        mtime: Option<i64>,
    ) -> Result<(), String>;
    /// Creates a directory.
    fn make_dir(&mut self, path: &str, mode: u32) -> Result<(), String>;
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
/// What the server says in clear text to a peer that does not speak this
/// protocol (OpenSSH says the same).
pub const PROTOCOL_MISMATCH: &[u8] = b"Protocol mismatch.\r\n";

enum Phase {
    KeyExchange,
    Authentication,
    Command,
    Sink(Box<Sink>),
    Source(Box<Source>),
    Closed,
}

/// One SCP connection, server side.
pub struct ScpServer {
    phase: Phase,
    limits: ScpLimits,
    host_secret: [u8; 32],
    host_public: [u8; 32],
    ephemeral_secret: [u8; 32],
    server_hello: Vec<u8>,
    hello_buf: Vec<u8>,
    opener: Option<RecordOpener>,
    user: Option<String>,
    auth_failures: u32,
    out: Outbox,
    close_requested: bool,
}

impl ScpServer {
    /// A server connection. `host_secret` is the server's long-term
    /// X25519 key (the same for every connection, like
    /// `/etc/ssh/ssh_host_ed25519_key`); `ephemeral_secret` must be fresh
    /// random bytes for this connection. The server's hello is queued at
    /// once: like SSH, both ends speak first.
    pub fn new(host_secret: [u8; 32], ephemeral_secret: [u8; 32]) -> ScpServer {
        let host_public = channel::public_key(&host_secret);
        let hello = Hello {
            version: VERSION_LINE.to_string(),
            ephemeral: channel::public_key(&ephemeral_secret),
            host_key: Some(host_public),
        };
        let server_hello = hello.to_bytes();
        let mut server = ScpServer {
            phase: Phase::KeyExchange,
            limits: ScpLimits::default(),
            host_secret,
            host_public,
            ephemeral_secret,
            server_hello: server_hello.clone(),
            hello_buf: Vec::new(),
            opener: None,
            user: None,
            auth_failures: 0,
            out: Outbox::new(Side::Server, server_hello),
            close_requested: false,
        };
        server.out.reply(describe_hello(&hello));
        server
    }

    /// A server connection whose ephemeral key is drawn from the run's
    /// random number generator.
    pub fn from_rng(host_secret: [u8; 32], rng: &mut SimRng) -> ScpServer {
        let mut ephemeral = [0u8; 32];
        rng.fill_bytes(&mut ephemeral);
        ScpServer::new(host_secret, ephemeral)
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
        match self.phase {
            Phase::Closed => {}
            Phase::KeyExchange => self.read_hello(data, backend),
            _ => self.read_records(data, backend),
        }
    }

    fn read_hello<B: ScpBackend + ?Sized>(&mut self, data: &[u8], backend: &mut B) {
        self.hello_buf.extend_from_slice(data);
        match channel::parse_hello(&self.hello_buf, false) {
            Ok(HelloParse::Incomplete) => {}
            Ok(HelloParse::Complete { hello, consumed }) => {
                let client_hello = self.hello_buf[..consumed].to_vec();
                let rest = self.hello_buf.split_off(consumed);
                self.hello_buf = Vec::new();
                self.out.command(describe_hello(&hello));
                match self.key_exchange(&hello, &client_hello) {
                    Ok(()) => self.read_records(&rest, backend),
                    Err(error) => self.abort(&error),
                }
            }
            Err(error) => {
                // The peer does not speak this protocol: say so in the
                // clear (nothing is encrypted yet) and hang up.
                self.out.send_clear(PROTOCOL_MISMATCH);
                self.abort(&error);
            }
        }
    }

    /// Derives the session keys from the client's hello.
    fn key_exchange(&mut self, client: &Hello, client_hello: &[u8]) -> Result<(), ChannelError> {
        // Ephemeral-ephemeral: the secret nobody watching can compute.
        let ephemeral_shared = channel::diffie_hellman(&self.ephemeral_secret, &client.ephemeral)?;
        // Host-ephemeral: proves to the client that we hold the host key.
        let host_shared = channel::diffie_hellman(&self.host_secret, &client.ephemeral)?;
        let hash = channel::exchange_hash(client_hello, &self.server_hello);
        let keys = channel::derive_session_keys(&ephemeral_shared, &host_shared, &hash);
        // Forget the ephemeral secret: a later break-in finds nothing that
        // decrypts this session (forward secrecy).
        self.ephemeral_secret = [0u8; 32];
        self.out
            .start_sealing(RecordSealer::new(&keys.server_to_client));
        self.opener = Some(RecordOpener::new(&keys.client_to_server));
        self.out
            .data("key exchange X25519: keys derived with HKDF-SHA256".to_string());
        self.out
            .data("channel encrypted with ChaCha20-Poly1305".to_string());
        self.phase = Phase::Authentication;
        Ok(())
    }

    fn read_records<B: ScpBackend + ?Sized>(&mut self, data: &[u8], backend: &mut B) {
        let Some(opener) = self.opener.as_mut() else {
            return;
        };
        opener.push(data);
        while !matches!(self.phase, Phase::Closed) {
            let Some(opener) = self.opener.as_mut() else {
                return;
            };
            match opener.next_record() {
                Ok(None) => return,
                Ok(Some(plaintext)) => match Message::decode(&plaintext) {
                    Some(message) => self.handle_message(message, backend),
                    None => self.disconnect("malformed message"),
                },
                // A record that fails authentication may come from an
                // attacker: answer nothing, close.
                Err(error) => self.abort(&error),
            }
        }
    }

    fn handle_message<B: ScpBackend + ?Sized>(&mut self, message: Message, backend: &mut B) {
        let phase = std::mem::replace(&mut self.phase, Phase::Closed);
        match (phase, message) {
            (_, Message::Disconnect { reason }) => {
                self.out.command(format!("disconnect: {reason}"));
                self.close();
            }
            (
                Phase::Authentication,
                Message::UserAuthRequest {
                    user,
                    method,
                    password,
                },
            ) => self.authenticate(&user, &method, &password, backend),
            (Phase::Command, Message::Exec { command }) => self.exec(&command, backend),
            (Phase::Sink(mut sink), Message::Data(bytes)) => {
                sink.handle_data(&bytes, &mut BackendTarget(backend));
                self.pump_sink(sink);
            }
            (Phase::Sink(mut sink), Message::Eof) => {
                sink.handle_eof();
                self.pump_sink(sink);
            }
            (Phase::Source(mut source), Message::Data(bytes)) => {
                source.handle_data(&bytes);
                self.pump_source(source);
            }
            (Phase::Source(mut source), Message::Eof) => {
                source.handle_eof();
                self.pump_source(source);
            }
            (phase, message) => {
                self.phase = phase;
                self.disconnect(&format!("unexpected message {message:?}"));
            }
        }
    }

    /// RFC 4252 §8: password authentication, inside the encrypted channel.
    fn authenticate<B: ScpBackend + ?Sized>(
        &mut self,
        user: &str,
        method: &str,
        password: &str,
        backend: &B,
    ) {
        // The password is in the server's hands now, but the transcript
        // does not repeat it.
        self.out
            .command(format!("auth {method} user {user} (password hidden)"));
        if method == "password" && backend.check_password(user, password) {
            self.send(Message::UserAuthSuccess);
            self.out.reply(format!("user {user} authenticated"));
            self.user = Some(user.to_string());
            self.phase = Phase::Command;
            return;
        }
        self.auth_failures += 1;
        self.send(Message::UserAuthFailure);
        self.out
            .reply(format!("authentication failed for user {user}"));
        self.phase = Phase::Authentication;
        if self.auth_failures >= self.limits.max_auth_attempts {
            self.disconnect("too many authentication failures");
        }
    }

    /// Runs `scp -t` or `scp -f`.
    fn exec<B: ScpBackend + ?Sized>(&mut self, command_line: &str, backend: &mut B) {
        self.out.command(format!("exec {command_line}"));
        let command = match ScpCommand::parse(command_line) {
            Ok(command) => command,
            Err(why) => {
                self.out.reply(why);
                self.exit(EXIT_COMMAND_NOT_FOUND);
                return;
            }
        };
        let home = backend.home_dir(self.user.as_deref().unwrap_or(""));
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
        self.send_data(&bytes);
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
        self.send_data(&bytes);
        while let Some(note) = source.poll_note() {
            self.out.note(note);
        }
        if source.is_finished() {
            self.send(Message::Eof);
            self.exit(source.exit_status());
        } else {
            self.phase = Phase::Source(source);
        }
    }

    /// RFC 4254 §6.10: report the command's exit status, then close.
    fn exit(&mut self, status: u32) {
        self.send(Message::ExitStatus(status));
        self.out.reply(format!("exit-status {status}"));
        self.close();
    }

    /// Tells the client why, then closes.
    fn disconnect(&mut self, reason: &str) {
        self.send(Message::Disconnect {
            reason: reason.to_string(),
        });
        self.out.reply(format!("disconnect: {reason}"));
        self.close();
    }

    /// Closes without a word (nothing can be said safely).
    fn abort(&mut self, error: &ChannelError) {
        self.out.data(format!("closing: {error}"));
        self.close();
    }

    fn close(&mut self) {
        self.phase = Phase::Closed;
        self.close_requested = true;
        self.opener = None;
    }

    /// Seals a message into a record for the output.
    fn send(&mut self, message: Message) {
        if let Err(error) = self.out.seal(&message) {
            self.abort(&error);
        }
    }

    /// Sends stream bytes as CHANNEL_DATA messages of at most
    /// [`MAX_DATA`] bytes each.
    fn send_data(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(MAX_DATA) {
            self.send(Message::Data(chunk.to_vec()));
        }
    }
}

/// A hello for the transcript: version and key fingerprints, never keys
/// in full.
pub(crate) fn describe_hello(hello: &Hello) -> String {
    let ephemeral = channel::hex(&hello.ephemeral[..4]);
    match &hello.host_key {
        Some(host) => format!(
            "{} (X25519 key {ephemeral}..., host key {})",
            hello.version,
            channel::fingerprint(host)
        ),
        None => format!("{} (X25519 key {ephemeral}...)", hello.version),
    }
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
    ) -> Result<(), String> {
        self.0.write_file(path, data, mode, mtime)
    }

    fn make_dir(&mut self, path: &str, mode: u32) -> Result<(), String> {
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
        self.opener = None;
    }

    fn state_name(&self) -> &'static str {
        match self.phase {
            Phase::KeyExchange => "key-exchange",
            Phase::Authentication => "authentication",
            Phase::Command => "command",
            Phase::Sink(_) => "sink",
            Phase::Source(_) => "source",
            Phase::Closed => "closed",
        }
    }
}
