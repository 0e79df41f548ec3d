//! What one end of an SCP connection hands out, in order: records for the
//! peer and lines for the transcript. [`ScpClient`](super::ScpClient) and
//! [`ScpServer`](super::ScpServer) each keep one.
//!
//! It is not the channel (keys and record sealing are in
//! [`super::channel`]) and holds no protocol state: each end decides what
//! to send and when, and what to do when a record cannot be sealed.

use super::channel::{ChannelError, RecordSealer};
use super::message::Message;
use super::rcp::RcpNote;
use crate::proto::Transcript;
use std::collections::VecDeque;

/// Which end an [`Outbox`] belongs to. A transcript calls what the client
/// says a command and what the server says a reply, whichever end writes
/// it down.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Side {
    Client,
    Server,
}

/// Bytes for the peer and lines for the transcript.
pub(crate) struct Outbox {
    side: Side,
    /// Seals messages once the keys are derived; before that only the
    /// hello (and the server's "Protocol mismatch.") go out, in the clear.
    sealer: Option<RecordSealer>,
    output: VecDeque<Vec<u8>>,
    transcript: VecDeque<Transcript>,
}

impl Outbox {
    /// An outbox whose first bytes are `hello`, sent in the clear.
    pub(crate) fn new(side: Side, hello: Vec<u8>) -> Outbox {
        Outbox {
            side,
            sealer: None,
            output: VecDeque::from([hello]),
            transcript: VecDeque::new(),
        }
    }

    /// From now on messages are sealed with `sealer`.
    pub(crate) fn start_sealing(&mut self, sealer: RecordSealer) {
        self.sealer = Some(sealer);
    }

    /// Queues bytes in the clear (only before the keys exist).
    pub(crate) fn send_clear(&mut self, bytes: &[u8]) {
        self.output.push_back(bytes.to_vec());
    }

    /// Seals `message` into a record for the peer. Before the keys are
    /// derived there is nothing to seal with and nothing is sent.
    pub(crate) fn seal(&mut self, message: &Message) -> Result<(), ChannelError> {
        let Some(sealer) = self.sealer.as_mut() else {
            return Ok(());
        };
        self.output.push_back(sealer.seal(&message.encode())?);
        Ok(())
    }

    /// Bytes to send, in order.
    pub(crate) fn poll_output(&mut self) -> Option<Vec<u8>> {
        self.output.pop_front()
    }

    /// The next transcript line.
    pub(crate) fn poll_transcript(&mut self) -> Option<Transcript> {
        self.transcript.pop_front()
    }

    /// What the client said.
    pub(crate) fn command(&mut self, text: String) {
        self.transcript.push_back(Transcript::Command(text));
    }

    /// What the server said.
    pub(crate) fn reply(&mut self, text: String) {
        self.transcript
            .push_back(Transcript::Reply { code: None, text });
    }

    /// Neither: key exchange steps, file contents, why the channel closed.
    pub(crate) fn data(&mut self, text: String) {
        self.transcript.push_back(Transcript::Data(text));
    }

    /// What the rcp layer noted, as a command or a reply depending on
    /// which end sent it.
    pub(crate) fn note(&mut self, note: RcpNote) {
        match (note, self.side) {
            (RcpNote::Sent(text), Side::Client) | (RcpNote::Received(text), Side::Server) => {
                self.command(text)
            }
            (RcpNote::Received(text), Side::Client) | (RcpNote::Sent(text), Side::Server) => {
                self.reply(text)
            }
            (RcpNote::Data(text), _) => self.data(text),
        }
    }
}
