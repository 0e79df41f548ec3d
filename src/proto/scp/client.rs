//! The SCP client: one upload or one download over the encrypted channel.
//!
//! [`ScpClient`] runs the SSH key exchange, checks the server's host key
//! against the one it expects (if any) and the signature over the
//! exchange hash, logs in with a password, opens a session channel, runs
//! `scp -t` (upload) or `scp -f` (download) and then plays the other half
//! of the rcp protocol: the source for an upload, the sink for a
//! download. Downloaded files are kept in memory.
//!
//! It is not an interactive `ssh`: one connection runs one command, and
//! without a known host key it trusts the key the server shows.

use super::command::{Direction, ScpCommand};
use super::outbox::{Outbox, Side};
use super::rcp::{ScpEntry, Sink, SinkOptions, SinkTarget, Source, WriteError};
use crate::proto::ssh::channel::{self as ssh_channel, Channel};
use crate::proto::ssh::message::{AuthMethod, ChannelRequest, DecodeError, Message};
use crate::proto::ssh::{CipherName, Event, Transport, msg};
use crate::proto::{Session, Transcript};
use crate::sim::SimRng;
use bytes::Bytes;
use std::collections::BTreeSet;

/// The client's states, for the visualizer.
pub const STATES: &[&str] = &[
    "KEY-EXCHANGE",
    "AUTHENTICATING",
    "OPENING",
    "SENDING",
    "RECEIVING",
    "WAITING-EXIT",
    "DONE",
    "CLOSED",
];

/// The client's state diagram: `(from, to, label)`.
pub const TRANSITIONS: &[crate::proto::Transition] = &[
    (
        "KEY-EXCHANGE",
        "AUTHENTICATING",
        "host key signature verified: password sent",
    ),
    (
        "KEY-EXCHANGE",
        "CLOSED",
        "host key mismatch / bad signature",
    ),
    (
        "AUTHENTICATING",
        "OPENING",
        "userauth_success: channel_open session",
    ),
    ("AUTHENTICATING", "CLOSED", "authentication failed"),
    ("OPENING", "SENDING", "channel open: exec scp -t"),
    ("OPENING", "RECEIVING", "channel open: exec scp -f"),
    ("OPENING", "CLOSED", "channel refused"),
    ("SENDING", "WAITING-EXIT", "all sent: EOF"),
    ("RECEIVING", "WAITING-EXIT", "EOF from server"),
    ("WAITING-EXIT", "DONE", "exit-status, channel_close"),
    ("SENDING", "DONE", "channel_close before the end"),
    ("RECEIVING", "DONE", "channel_close before the end"),
    ("SENDING", "CLOSED", "bad packet / disconnect"),
    ("RECEIVING", "CLOSED", "bad packet / disconnect"),
    ("WAITING-EXIT", "CLOSED", "bad packet / disconnect"),
];

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
    /// Fresh random bytes for this connection (its X25519 key, cookie
    /// and padding).
    pub seed: [u8; 32],
    /// Ciphers offered, in order of preference.
    pub ciphers: Vec<CipherName>,
    /// The server's Ed25519 host key, if known (SSH's `known_hosts`). `None`
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
        let mut seed = [0u8; 32];
        rng.fill_bytes(&mut seed);
        ScpClientConfig {
            user: user.to_string(),
            password: password.to_string(),
            seed,
            ciphers: CipherName::ALL.to_vec(),
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
    ) -> Result<(), WriteError> {
        self.files.retain(|f| f.path != path);
        self.files.push(ReceivedFile {
            path: path.to_string(),
            mode,
            mtime,
            data,
        });
        Ok(())
    }

    fn make_dir(&mut self, path: &str, _mode: u32) -> Result<(), WriteError> {
        self.dirs.insert(path.to_string());
        Ok(())
    }
}

enum Phase {
    KeyExchange,
    Authenticating,
    /// Authenticated; the session channel is being opened.
    Opening,
    Sending(Box<Source>),
    Receiving(Box<Sink>),
    /// The transfer is over on our side; waiting for the exit status and
    /// the server's CLOSE.
    WaitingExit,
    Done,
    Closed,
}

/// One SCP connection, client side.
pub struct ScpClient {
    phase: Phase,
    user: String,
    password: String,
    operation: ScpOperation,
    downloads: Downloads,
    transfer_status: u32,
    exit_status: Option<u32>,
    error: Option<String>,
    out: Outbox,
}

impl ScpClient {
    /// A client connection; its version line and KEXINIT are queued at once.
    pub fn new(config: ScpClientConfig) -> ScpClient {
        let transport = Transport::client(config.known_host_key, &config.ciphers, config.seed);
        ScpClient {
            phase: Phase::KeyExchange,
            user: config.user,
            password: config.password,
            operation: config.operation,
            downloads: Downloads::default(),
            transfer_status: 0,
            exit_status: None,
            error: None,
            out: Outbox::new(Side::Client, transport),
        }
    }

    /// The host key the server presented, once its key exchange reply came.
    pub fn server_host_key(&self) -> Option<[u8; 32]> {
        self.out.transport.server_host_key()
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
        if self.is_done() {
            return;
        }
        self.out.transport.handle_input(data);
        while let Some(event) = self.out.transport.poll_event() {
            match event {
                Event::Ready => self.authenticate(),
                Event::Message { seq, payload } => match Message::decode(&payload) {
                    Ok(message) => self.handle_message(message),
                    Err(DecodeError::Unknown(_)) => self.out.transport.unimplemented(seq),
                    Err(DecodeError::Malformed(kind)) => {
                        self.out.transport.disconnect(
                            msg::DISCONNECT_PROTOCOL_ERROR,
                            &format!("malformed message {kind}"),
                        );
                        self.fail(format!("malformed message {kind} from the server"));
                    }
                },
                Event::Disconnected { reason } => self.fail(reason),
            }
            if self.is_done() {
                break;
            }
        }
        self.out.flush_channel();
        if self.out.transport.is_closed() && !self.is_done() {
            let why = self
                .out
                .transport
                .error()
                .map_or_else(|| "the connection closed".to_string(), |e| e.to_string());
            self.fail(why);
        }
    }

    /// RFC 4252 §8: the password goes only inside the encrypted channel.
    fn authenticate(&mut self) {
        self.out.send(Message::UserAuthRequest {
            user: self.user.clone(),
            service: "ssh-connection".into(),
            method: AuthMethod::Password(self.password.clone()),
        });
        self.phase = Phase::Authenticating;
    }

    fn handle_message(&mut self, message: Message) {
        if self.out.housekeeping(&message) {
            return;
        }
        match &message {
            Message::Request {
                request: ChannelRequest::ExitStatus(status),
                ..
            } => {
                self.out.heard(message.describe());
                self.exit_status = Some(*status);
                return;
            }
            Message::ExtendedData { data, .. } => {
                self.out.heard(format!(
                    "stderr: {}",
                    String::from_utf8_lossy(data).trim_end()
                ));
                return;
            }
            // A close with no channel open is as unexpected as any
            // other channel message then (below).
            Message::Close { .. } if self.out.channel.is_some() => {
                self.out.heard(message.describe());
                let recipient = self.out.remote();
                self.out.send(Message::Close { recipient });
                if self.exit_status.is_none() {
                    self.error.get_or_insert_with(|| {
                        "the server closed the channel without an exit status".into()
                    });
                }
                self.phase = Phase::Done;
                return;
            }
            Message::Data { data, .. } => {
                if let Err(why) = self.out.account_data(data.len()) {
                    self.fail(why);
                    return;
                }
            }
            _ => {}
        }
        let phase = std::mem::replace(&mut self.phase, Phase::Closed);
        match (phase, message) {
            (Phase::Authenticating, message @ Message::UserAuthSuccess) => {
                self.out.heard(message.describe());
                self.out.send(Message::ChannelOpen {
                    kind: "session".into(),
                    sender: 0,
                    window: ssh_channel::WINDOW,
                    max_packet: ssh_channel::MAX_PACKET,
                });
                self.phase = Phase::Opening;
            }
            (Phase::Authenticating, message @ Message::UserAuthFailure { .. }) => {
                self.out.heard(message.describe());
                self.out
                    .transport
                    .disconnect(msg::DISCONNECT_BY_APPLICATION, "authentication failed");
                self.fail("authentication failed".to_string());
            }
            (Phase::Opening, message @ Message::ChannelOpenConfirmation { .. }) => {
                self.out.heard(message.describe());
                if let Message::ChannelOpenConfirmation {
                    sender,
                    window,
                    max_packet,
                    ..
                } = message
                {
                    self.out.channel = Some(Channel::new(0, sender, window, max_packet));
                }
                self.start_transfer();
            }
            (Phase::Opening, message @ Message::ChannelOpenFailure { .. }) => {
                self.out.heard(message.describe());
                self.fail(message.describe());
            }
            (phase, message @ Message::ChannelSuccess { .. }) => {
                self.out.heard(message.describe());
                self.phase = phase;
            }
            (_, message @ Message::ChannelFailure { .. }) => {
                self.out.heard(message.describe());
                self.fail("the server refused to run the command".into());
            }
            (Phase::Sending(mut source), Message::Data { data, .. }) => {
                source.handle_data(&data);
                self.pump_source(source);
            }
            (Phase::Sending(mut source), Message::Eof { .. }) => {
                self.out.heard("channel_eof".into());
                source.handle_eof();
                self.pump_source(source);
            }
            (Phase::Receiving(mut sink), Message::Data { data, .. }) => {
                sink.handle_data(&data, &mut self.downloads);
                self.pump_sink(sink);
            }
            (Phase::Receiving(mut sink), Message::Eof { .. }) => {
                self.out.heard("channel_eof".into());
                sink.handle_eof();
                self.pump_sink(sink);
            }
            // Late data after our side finished is of no use.
            (Phase::WaitingExit, Message::Data { .. }) => self.phase = Phase::WaitingExit,
            (Phase::WaitingExit, Message::Eof { .. }) => {
                self.out.heard("channel_eof".into());
                self.phase = Phase::WaitingExit;
            }
            (_, message) => self.fail(format!("unexpected {}", message.describe())),
        }
    }

    /// Runs the remote scp and starts our half of the rcp protocol.
    fn start_transfer(&mut self) {
        let command = self.operation.command();
        let line = command.to_command_line();
        let recipient = self.out.remote();
        self.out.send(Message::Request {
            recipient,
            want_reply: true,
            request: ChannelRequest::Exec(line),
        });
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
        self.out.send_data(&bytes);
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
            let recipient = self.out.remote();
            if let Some(channel) = self.out.channel.as_mut() {
                channel.send_after_data(Message::Eof { recipient });
            }
            self.out.flush_channel();
            self.phase = Phase::WaitingExit;
        } else {
            self.phase = Phase::Sending(source);
        }
    }

    fn pump_sink(&mut self, mut sink: Box<Sink>) {
        let bytes = sink.take_output();
        self.out.send_data(&bytes);
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
    }

    fn state_name(&self) -> &'static str {
        match self.phase {
            Phase::KeyExchange => "KEY-EXCHANGE",
            Phase::Authenticating => "AUTHENTICATING",
            Phase::Opening => "OPENING",
            Phase::Sending(_) => "SENDING",
            Phase::Receiving(_) => "RECEIVING",
            Phase::WaitingExit => "WAITING-EXIT",
            Phase::Done => "DONE",
            Phase::Closed => "CLOSED",
        }
    }
}
