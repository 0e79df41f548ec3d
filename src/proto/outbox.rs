//! What a text-protocol session has to send and to tell the trace, and
//! the two [`Session`](super::Session) methods that hand them out. The
//! SMTP and POP3 clients and servers each keep one.

use super::Transcript;
use std::collections::VecDeque;

/// Bytes to send and transcript lines, in order.
#[derive(Debug, Clone, Default)]
pub struct Outbox {
    bytes: Vec<u8>,
    transcript: VecDeque<Transcript>,
}

impl Outbox {
    /// Queues bytes to send.
    pub fn send(&mut self, bytes: &[u8]) {
        self.bytes.extend_from_slice(bytes);
    }

    /// Notes a line of the dialogue.
    pub fn note(&mut self, line: Transcript) {
        self.transcript.push_back(line);
    }

    /// Notes lines of the dialogue.
    pub fn notes(&mut self, lines: impl IntoIterator<Item = Transcript>) {
        self.transcript.extend(lines);
    }

    /// [`Session::poll_output`](super::Session::poll_output): everything
    /// queued, or `None`.
    pub fn poll_output(&mut self) -> Option<Vec<u8>> {
        (!self.bytes.is_empty()).then(|| std::mem::take(&mut self.bytes))
    }

    /// [`Session::poll_transcript`](super::Session::poll_transcript).
    pub fn poll_transcript(&mut self) -> Option<Transcript> {
        self.transcript.pop_front()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_go_out_together_and_lines_in_order() {
        let mut o = Outbox::default();
        assert_eq!(o.poll_output(), None);
        o.send(b"+OK ");
        o.send(b"ready\r\n");
        o.note(Transcript::Command("USER ann".into()));
        o.notes([Transcript::Data("a".into()), Transcript::Data(".".into())]);
        assert_eq!(o.poll_output(), Some(b"+OK ready\r\n".to_vec()));
        assert_eq!(o.poll_output(), None);
        assert_eq!(
            o.poll_transcript(),
            Some(Transcript::Command("USER ann".into()))
        );
        assert_eq!(o.poll_transcript(), Some(Transcript::Data("a".into())));
        assert_eq!(o.poll_transcript(), Some(Transcript::Data(".".into())));
        assert_eq!(o.poll_transcript(), None);
    }
}
