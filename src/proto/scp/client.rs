//! The SCP client: one upload or one download over the encrypted channel.
//!
//! [`ScpClient`] sends its hello, checks the server's host key against the
//! one it expects (if any), derives the keys, logs in with a password,
//! runs `scp -t` (upload) or `scp -f` (download) and then plays the other
//! half of the rcp protocol: the source for an upload, the sink for a
//! download. Downloaded files are kept in memory.
//!
//! It is not an interactive `ssh`: one connection runs one command, and
//! without a known host key it trusts the key the server shows.

use super::channel::{
    self, ChannelError, Hello, HelloParse, RecordOpener, RecordSealer, VERSION_LINE,
};
use super::command::{Direction, ScpCommand};
use super::message::{MAX_DATA, Message};
use super::outbox::{Outbox, Side};
use super::rcp::{ScpEntry, Sink, SinkOptions, SinkTarget, Source};
use super::server::describe_hello;
use crate::proto::{Session, Transcript};
use crate::sim::SimRng;
use bytes::Bytes;
use std::collections::BTreeSet;

/// Largest file the client accepts in a download, in bytes.
pub const MAX_DOWNLOAD_FILE: u64 = 64 * 1024 * 1024;

/// What the client is asked to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScpOperation {
    /// `scp <entries> host:<target>`.
    Upload {
        /// Remote path: a directory to put the entries in, or (for a
        /// single file) the new file's name.
        target: String,
        entries: Vec<ScpEntry>,
        /// `-p`: send modification times.
        preserve_times: bool,
    },
    /// `scp host:<path> .`.
    Download {
        path: String,
        /// `-r`: `path` may be a directory.
        recursive: bool,
        /// `-p`: ask for modification times.
        preserve_times: bool,
    },
}

impl ScpOperation {
    /// The remote command that performs it, e.g. `scp -t /uploads`.
    pub fn command(&self) -> ScpCommand {
        match self {
            ScpOperation::Upload {
                target,
                entries,
                preserve_times,
            } => ScpCommand {
                direction: Direction::To,
                recursive: entries.iter().any(ScpEntry::is_dir),
                preserve_times: *preserve_times,
                // OpenSSH adds -d when several sources go to one target.
                target_must_be_dir: entries.len() > 1,
                path: target.clone(),
            },
            ScpOperation::Download {
                path,
                recursive,
                preserve_times,
            } => ScpCommand {
                direction: Direction::From,
                recursive: *recursive,
                preserve_times: *preserve_times,
                target_must_be_dir: false,
                path: path.clone(),
            },
        }
    }
}

/// How to reach the server and what to do there.
#[derive(Clone)]
pub struct ScpClientConfig {
    pub user: String,
    pub password: String,
    /// Fresh random bytes for this connection's X25519 key.
    pub ephemeral_secret: [u8; 32],
    /// The server's host key, if known (SSH's `known_hosts`). `None`
    /// trusts whatever key the server shows, as SSH does on first
    /// contact; [`ScpClient::server_host_key`] tells which it was.
    pub known_host_key: Option<[u8; 32]>,
    pub operation: ScpOperation,
}

impl std::fmt::Debug for ScpClientConfig {
    /// Secrets are never printed.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScpClientConfig")
            .field("user", &self.user)
            .field("operation", &self.operation)
            .finish_non_exhaustive()
    }
}

impl ScpClientConfig {
    /// A configuration whose ephemeral key comes from the run's random
    /// number generator.
    pub fn new(
        user: &str,
        password: &str,
        operation: ScpOperation,
        rng: &mut SimRng,
    ) -> ScpClientConfig {
        let mut ephemeral_secret = [0u8; 32];
        rng.fill_bytes(&mut ephemeral_secret);
        ScpClientConfig {
            user: user.to_string(),
            password: password.to_string(),
            ephemeral_secret,
            known_host_key: None,
            operation,
        }
    }
}

/// A file received in a download.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceivedFile {
    /// Relative path: `report.pdf`, or `photos/a.jpg` inside a directory.
    pub path: String,
    pub mode: u32,
    pub mtime: Option<i64>,
    pub data: Bytes,
}

/// The client's local side of a download.
#[derive(Debug, Clone, Default)]
struct Downloads {
    dirs: BTreeSet<String>,
    files: Vec<ReceivedFile>,
}

impl SinkTarget for Downloads {
    fn is_dir(&self, path: &str) -> bool {
        // "" is the local directory the download lands in.
        path.is_empty() || self.dirs.contains(path)
    }

    fn write_file(
        &mut self,
        path: &str,
        data: Bytes,
        mode: u32,
        mtime: Option<i64>,
    ) -> Result<(), String> {
        self.files.retain(|f| f.path != path);
        self.files.push(ReceivedFile {
            path: path.to_string(),
            mode,
            mtime,
            data,
        });
        Ok(())
    }

    fn make_dir(&mut self, path: &str, _mode: u32) -> Result<(), String> {
        self.dirs.insert(path.to_string());
        Ok(())
    }
}

enum Phase {
    KeyExchange,
    Authenticating,
    Sending(Box<Source>),
    Receiving(Box<Sink>),
    /// The transfer is over on our side; waiting for the exit status.
    WaitingExit,
    Done,
    Closed,
}

/// One SCP connection, client side.
pub struct ScpClient {
    phase: Phase,
    user: String,
    password: String,
    ephemeral_secret: [u8; 32],
    known_host_key: Option<[u8; 32]>,
    operation: ScpOperation,
    client_hello: Vec<u8>,
    hello_buf: Vec<u8>,
    opener: Option<RecordOpener>,
    server_host_key: Option<[u8; 32]>,
    downloads: Downloads,
    transfer_status: u32,
    exit_status: Option<u32>,
    error: Option<String>,
    out: Outbox,
}

impl ScpClient {
    /// A client connection; its hello is queued at once.
    pub fn new(config: ScpClientConfig) -> ScpClient {
        let hello = Hello {
            version: VERSION_LINE.to_string(),
            ephemeral: channel::public_key(&config.ephemeral_secret),
            host_key: None,
        };
        let client_hello = hello.to_bytes();
        let mut client = ScpClient {
            phase: Phase::KeyExchange,
            user: config.user,
            password: config.password,
            ephemeral_secret: config.ephemeral_secret,
            known_host_key: config.known_host_key,
            operation: config.operation,
            client_hello: client_hello.clone(),
            hello_buf: Vec::new(),
            opener: None,
            server_host_key: None,
            downloads: Downloads::default(),
            transfer_status: 0,
            exit_status: None,
            error: None,
            out: Outbox::new(Side::Client, client_hello),
        };
        client.out.command(describe_hello(&hello));
        client
    }

    /// The host key the server presented, once its hello arrived.
    pub fn server_host_key(&self) -> Option<[u8; 32]> {
        self.server_host_key
    }

    /// Files received in a download, in arrival order.
    pub fn received(&self) -> &[ReceivedFile] {
        &self.downloads.files
    }

    /// Directories created by a recursive download.
    pub fn received_dirs(&self) -> Vec<String> {
        self.downloads.dirs.iter().cloned().collect()
    }

    /// The remote command's exit status, once known.
    pub fn exit_status(&self) -> Option<u32> {
        self.exit_status
    }

    /// Why the client gave up, if it did.
    pub fn error(&self) -> Option<&str> {
        self.error.as_deref()
    }

    /// True once the dialogue is over, for good or ill.
    pub fn is_done(&self) -> bool {
        matches!(self.phase, Phase::Done | Phase::Closed)
    }

    /// True if everything was transferred: no error on either side.
    pub fn succeeded(&self) -> bool {
        self.is_done()
            && self.error.is_none()
            && self.exit_status == Some(0)
            && self.transfer_status == 0
    }

    /// Feeds bytes received from the server.
    pub fn handle_input(&mut self, data: &[u8]) {
        match self.phase {
            Phase::Done | Phase::Closed => {}
            Phase::KeyExchange => self.read_hello(data),
            _ => self.read_records(data),
        }
    }

    fn read_hello(&mut self, data: &[u8]) {
        self.hello_buf.extend_from_slice(data);
        match channel::parse_hello(&self.hello_buf, true) {
            Ok(HelloParse::Incomplete) => {}
            Ok(HelloParse::Complete { hello, consumed }) => {
                let server_hello = self.hello_buf[..consumed].to_vec();
                let rest = self.hello_buf.split_off(consumed);
                self.hello_buf = Vec::new();
                self.out.reply(describe_hello(&hello));
                match self.key_exchange(&hello, &server_hello) {
                    Ok(()) => self.read_records(&rest),
                    Err(error) => self.fail(error.to_string()),
                }
            }
            Err(error) => self.fail(error.to_string()),
        }
    }

    fn key_exchange(&mut self, server: &Hello, server_hello: &[u8]) -> Result<(), ChannelError> {
        let Some(host_key) = server.host_key else {
            return Err(ChannelError::BadHello("no host key".to_string()));
        };
        self.server_host_key = Some(host_key);
        // The check that stops a man in the middle: the key must be the
        // one we know. (On first contact there is nothing to compare.)
        if let Some(expected) = self.known_host_key
            && expected != host_key
        {
            return Err(ChannelError::HostKeyMismatch {
                expected: channel::fingerprint(&expected),
                got: channel::fingerprint(&host_key),
            });
        }
        let ephemeral_shared = channel::diffie_hellman(&self.ephemeral_secret, &server.ephemeral)?;
        let host_shared = channel::diffie_hellman(&self.ephemeral_secret, &host_key)?;
        let hash = channel::exchange_hash(&self.client_hello, server_hello);
        let keys = channel::derive_session_keys(&ephemeral_shared, &host_shared, &hash);
        self.ephemeral_secret = [0u8; 32];
        self.out
            .start_sealing(RecordSealer::new(&keys.client_to_server));
        self.opener = Some(RecordOpener::new(&keys.server_to_client));
        self.out
            .data("key exchange X25519: keys derived with HKDF-SHA256".to_string());
        self.out
            .data("channel encrypted with ChaCha20-Poly1305".to_string());
        // RFC 4252 §8: the password goes only inside the encrypted channel.
        self.send(Message::UserAuthRequest {
            user: self.user.clone(),
            method: "password".to_string(),
            password: self.password.clone(),
        });
        self.out.command(format!(
            "auth password user {} (password hidden)",
            self.user
        ));
        self.phase = Phase::Authenticating;
        Ok(())
    }

    fn read_records(&mut self, data: &[u8]) {
        let Some(opener) = self.opener.as_mut() else {
            return;
        };
        opener.push(data);
        while !self.is_done() {
            let Some(opener) = self.opener.as_mut() else {
                return;
            };
            match opener.next_record() {
                Ok(None) => return,
                Ok(Some(plaintext)) => match Message::decode(&plaintext) {
                    Some(message) => self.handle_message(message),
                    None => self.fail("malformed message from the server".to_string()),
                },
                Err(error) => self.fail(error.to_string()),
            }
        }
    }

    fn handle_message(&mut self, message: Message) {
        let phase = std::mem::replace(&mut self.phase, Phase::Closed);
        match (phase, message) {
            (_, Message::Disconnect { reason }) => {
                self.out.reply(format!("disconnect: {reason}"));
                self.fail(reason);
            }
            (_, Message::ExitStatus(status)) => {
                self.out.reply(format!("exit-status {status}"));
                self.exit_status = Some(status);
                self.phase = Phase::Done;
            }
            (Phase::Authenticating, Message::UserAuthSuccess) => {
                self.out.reply(format!("user {} authenticated", self.user));
                self.start_transfer();
            }
            (Phase::Authenticating, Message::UserAuthFailure) => {
                self.out
                    .reply(format!("authentication failed for user {}", self.user));
                self.fail("authentication failed".to_string());
            }
            (Phase::Sending(mut source), Message::Data(bytes)) => {
                source.handle_data(&bytes);
                self.pump_source(source);
            }
            (Phase::Sending(mut source), Message::Eof) => {
                source.handle_eof();
                self.pump_source(source);
            }
            (Phase::Receiving(mut sink), Message::Data(bytes)) => {
                sink.handle_data(&bytes, &mut self.downloads);
                self.pump_sink(sink);
            }
            (Phase::Receiving(mut sink), Message::Eof) => {
                sink.handle_eof();
                self.pump_sink(sink);
            }
            // Late data after our side finished is of no use.
            (Phase::WaitingExit, Message::Data(_) | Message::Eof) => {
                self.phase = Phase::WaitingExit;
            }
            (_, message) => self.fail(format!("unexpected message {message:?}")),
        }
    }

    /// Runs the remote scp and starts our half of the rcp protocol.
    fn start_transfer(&mut self) {
        let command = self.operation.command();
        let line = command.to_command_line();
        self.send(Message::Exec {
            command: line.clone(),
        });
        self.out.command(format!("exec {line}"));
        match &self.operation {
            ScpOperation::Upload {
                entries,
                preserve_times,
                ..
            } => {
                let source = Source::new(entries, *preserve_times);
                self.pump_source(Box::new(source));
            }
            ScpOperation::Download { recursive, .. } => {
                let options = SinkOptions {
                    recursive: *recursive,
                    target_must_be_dir: false,
                    max_file_size: MAX_DOWNLOAD_FILE,
                };
                let sink = Sink::new("", options, &self.downloads);
                self.pump_sink(Box::new(sink));
            }
        }
    }

    fn pump_source(&mut self, mut source: Box<Source>) {
        let bytes = source.take_output();
        self.send_data(&bytes);
        while let Some(note) = source.poll_note() {
            self.out.note(note);
        }
        if source.is_finished() {
            self.transfer_status = source.exit_status();
            if let Some(why) = source.failure() {
                self.error = Some(why.to_string());
            }
            // RFC 4254 §5.3: nothing more from us; the server answers
            // with the exit status.
            self.send(Message::Eof);
            self.phase = Phase::WaitingExit;
        } else {
            self.phase = Phase::Sending(source);
        }
    }

    fn pump_sink(&mut self, mut sink: Box<Sink>) {
        let bytes = sink.take_output();
        self.send_data(&bytes);
        while let Some(note) = sink.poll_note() {
            self.out.note(note);
        }
        if sink.is_finished() {
            self.transfer_status = sink.exit_status();
            if let Some(why) = sink.failure() {
                self.error = Some(why.to_string());
            }
            self.phase = Phase::WaitingExit;
        } else {
            self.phase = Phase::Receiving(sink);
        }
    }

    fn fail(&mut self, why: String) {
        self.out.data(format!("closing: {why}"));
        self.error.get_or_insert(why);
        self.phase = Phase::Closed;
        self.opener = None;
    }

    fn send(&mut self, message: Message) {
        if let Err(error) = self.out.seal(&message) {
            self.fail(error.to_string());
        }
    }

    fn send_data(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(MAX_DATA) {
            self.send(Message::Data(chunk.to_vec()));
        }
    }
}

impl Session for ScpClient {
    fn poll_output(&mut self) -> Option<Vec<u8>> {
        self.out.poll_output()
    }

    fn poll_transcript(&mut self) -> Option<Transcript> {
        self.out.poll_transcript()
    }

    fn wants_close(&self) -> bool {
        self.is_done()
    }

    fn handle_close(&mut self) {
        if !matches!(self.phase, Phase::Done | Phase::Closed) {
            self.error
                .get_or_insert_with(|| "connection closed by the server".to_string());
        }
        self.phase = Phase::Closed;
        self.opener = None;
    }

    fn state_name(&self) -> &'static str {
        match self.phase {
            Phase::KeyExchange => "key-exchange",
            Phase::Authenticating => "authenticating",
            Phase::Sending(_) => "sending",
            Phase::Receiving(_) => "receiving",
            Phase::WaitingExit => "waiting-exit",
            Phase::Done => "done",
            Phase::Closed => "closed",
        }
    }
}
