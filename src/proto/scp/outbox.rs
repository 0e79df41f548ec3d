//! What one end of an SCP connection shares between its client and server
//! halves: the SSH transport it speaks through, the session channel once
//! open, and the transcript. [`ScpClient`](super::ScpClient) and
//! [`ScpServer`](super::ScpServer) each keep one.
//!
//! It holds no SCP state: each end decides what to send and when.

use super::rcp::RcpNote;
use crate::proto::Transcript;
use crate::proto::ssh::channel::Channel;
use crate::proto::ssh::message::Message;
use crate::proto::ssh::{Note, Transport};
use std::collections::VecDeque;

/// Which end an [`Outbox`] belongs to. A transcript calls what the client
/// says a command and what the server says a reply, whichever end writes
/// it down.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Side {
    Client,
    Server,
}

/// The transport, the channel and the transcript of one end.
#[derive(Clone)]
pub(crate) struct Outbox {
    side: Side,
    pub(crate) transport: Transport,
    pub(crate) channel: Option<Channel>,
    transcript: VecDeque<Transcript>,
}

impl Outbox {
    pub(crate) fn new(side: Side, transport: Transport) -> Outbox {
        let mut out = Outbox {
            side,
            transport,
            channel: None,
            transcript: VecDeque::new(),
        };
        out.pull_notes();
        out
    }

    /// Moves the transport's notes into the transcript (before anything
    /// this end notes itself, so the order is the order of events).
    pub(crate) fn pull_notes(&mut self) {
        while let Some(note) = self.transport.poll_note() {
            let line = match (note, self.side) {
                (Note::Sent(text), Side::Client) | (Note::Received(text), Side::Server) => {
                    Transcript::Command(text)
                }
                (Note::Sent(text), Side::Server) | (Note::Received(text), Side::Client) => {
                    Transcript::Reply { code: None, text }
                }
                (Note::Info(text), _) => Transcript::Data(text),
            };
            self.transcript.push_back(line);
        }
    }

    fn push(&mut self, line: Transcript) {
        self.pull_notes();
        self.transcript.push_back(line);
    }

    /// Sends `message`, noting it in the transcript unless it is stream
    /// data or window bookkeeping (which the rcp notes summarize).
    pub(crate) fn send(&mut self, message: Message) {
        if !matches!(
            message,
            Message::Data { .. } | Message::ExtendedData { .. } | Message::WindowAdjust { .. }
        ) {
            self.said(message.describe());
        }
        self.transport.send(message.encode());
    }

    /// Sends whatever the channel's window lets go.
    pub(crate) fn flush_channel(&mut self) {
        let ready = match self.channel.as_mut() {
            Some(channel) => channel.flush(),
            None => return,
        };
        for message in ready {
            self.send(message);
        }
    }

    /// Queues stream bytes on the channel.
    pub(crate) fn send_data(&mut self, bytes: &[u8]) {
        if let Some(channel) = self.channel.as_mut() {
            channel.send_data(bytes, false);
        }
        self.flush_channel();
    }

    /// Queues stderr bytes on the channel.
    pub(crate) fn send_stderr(&mut self, bytes: &[u8]) {
        if let Some(channel) = self.channel.as_mut() {
            channel.send_data(bytes, true);
        }
        self.flush_channel();
    }

    /// What both ends do alike: refuse global requests (no port
    /// forwarding here), take more window, note a banner. True if
    /// `message` was one of those.
    pub(crate) fn housekeeping(&mut self, message: &Message) -> bool {
        match message {
            Message::UserAuthBanner(_) => {
                self.heard(message.describe());
                true
            }
            Message::GlobalRequest { want_reply, .. } => {
                self.heard(message.describe());
                if *want_reply {
                    self.send(Message::RequestFailure);
                }
                true
            }
            Message::WindowAdjust { bytes, .. } => {
                if let Some(channel) = self.channel.as_mut() {
                    channel.window_adjust(*bytes);
                }
                self.flush_channel();
                true
            }
            _ => false,
        }
    }

    /// Counts `len` received data bytes against our window, granting more
    /// when half is used; `Err` if the peer overran it or no channel is
    /// open.
    pub(crate) fn account_data(&mut self, len: usize) -> Result<(), String> {
        let grant = match self.channel.as_mut() {
            Some(channel) => channel.received(len)?,
            None => return Err("data on a channel that is not open".to_string()),
        };
        if let Some(adjust) = grant {
            self.send(adjust);
        }
        Ok(())
    }

    /// The peer's number for the channel (0 before it is open).
    pub(crate) fn remote(&self) -> u32 {
        self.channel.as_ref().map_or(0, |c| c.remote)
    }

    /// Bytes to send, in order.
    pub(crate) fn poll_output(&mut self) -> Option<Vec<u8>> {
        self.transport.poll_output()
    }

    /// The next transcript line.
    pub(crate) fn poll_transcript(&mut self) -> Option<Transcript> {
        self.pull_notes();
        self.transcript.pop_front()
    }

    /// What this end said.
    pub(crate) fn said(&mut self, text: String) {
        match self.side {
            Side::Client => self.command(text),
            Side::Server => self.reply(text),
        }
    }

    /// What the other end said.
    pub(crate) fn heard(&mut self, text: String) {
        match self.side {
            Side::Client => self.reply(text),
            Side::Server => self.command(text),
        }
    }

    /// What the client said.
    pub(crate) fn command(&mut self, text: String) {
        self.push(Transcript::Command(text));
    }

    /// What the server said.
    pub(crate) fn reply(&mut self, text: String) {
        self.push(Transcript::Reply { code: None, text });
    }

    /// Neither: key exchange steps, file contents, why the channel closed.
    pub(crate) fn data(&mut self, text: String) {
        self.push(Transcript::Data(text));
    }

    /// What the rcp layer noted, as a command or a reply depending on
    /// which end sent it.
    pub(crate) fn note(&mut self, note: RcpNote) {
        match note {
            RcpNote::Sent(text) => self.said(text),
            RcpNote::Received(text) => self.heard(text),
            RcpNote::Data(text) => self.data(text),
        }
    }
}
