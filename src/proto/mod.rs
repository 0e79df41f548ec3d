//! Sans-IO application protocol machines.
//!
//! Every machine here takes bytes in and hands bytes and events out. None
//! owns a socket, reads a clock or spawns a task: the simulated TCP of
//! [`crate::net`] and the real sockets of the live mode drive the very same
//! code. What a machine needs from the world (mailboxes, user accounts, a
//! file system) it asks of a backend trait passed into its `handle_*` calls.
//!
//! Conventions shared by all machines, so that the applications in
//! [`crate::apps`] and the live mode can drive them uniformly:
//!
//! - `handle_input(&mut self, data, ..)` feeds bytes received from the peer.
//!   Data may arrive split anywhere or with several commands at once.
//! - `poll_output(&mut self) -> Option<Vec<u8>>` returns bytes to send.
//! - `poll_transcript(&mut self) -> Option<Transcript>` returns the lines of
//!   the dialogue for the trace, in order.
//! - `wants_close(&self)` is true once the machine has said its last word
//!   (after `QUIT`, a fatal error, ...); the driver closes the connection
//!   after flushing the output.
//! - `handle_close(&mut self)` tells the machine the peer went away.
//! - `state_name(&self)` names the current protocol state for the
//!   visualizer's state-machine view; the machine's `STATES` and
//!   `TRANSITIONS` constants, next to it in its own file, describe the
//!   whole diagram (`proto::X::{STATES, TRANSITIONS}` for a server,
//!   `proto::X::{CLIENT_STATES, CLIENT_TRANSITIONS}` for a client).
//!
//! No input from the network may make a machine panic: bad bytes become an
//! error reply or a clean close.

pub mod contract;
pub mod date;
pub mod dns;
pub mod ftp;
pub mod http;
pub mod imap;
pub mod line;
pub mod outbox;
pub mod pop3;
pub mod reply;
pub mod scp;
pub mod smtp;
pub mod ssh;
pub mod telnet;
pub mod tls;

/// A line of an application dialogue, as the trace records it: defined by
/// the trace (the vocabulary every layer shares), used by every machine
/// here.
pub use crate::trace::Transcript;

/// Lines of a body (a message, a listing, a literal) that a transcript
/// shows before it summarizes the rest, so that traces stay readable.
pub const TRANSCRIPT_BODY_LINES: usize = 50;

/// Counts the lines of a body as they go by, for a transcript that shows
/// the first [`TRANSCRIPT_BODY_LINES`] of them and then says how many more
/// there were. A body that arrives in pieces and one sent whole are
/// summarized alike.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BodyLines {
    seen: usize,
}

impl BodyLines {
    /// Counts one more line; true if the transcript shows it.
    pub fn count(&mut self) -> bool {
        self.seen += 1;
        self.seen <= TRANSCRIPT_BODY_LINES
    }

    /// `(... N more lines)` for the lines not shown, if there were any.
    pub fn rest(&self) -> Option<Transcript> {
        let more = self.seen.saturating_sub(TRANSCRIPT_BODY_LINES);
        (more > 0).then(|| Transcript::Data(format!("(... {more} more lines)")))
    }
}

/// FNV-1a, 64 bits: a small, portable hash (seeds of generated content,
/// FTP's `unique` fact, HTTP entity tags).
pub fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// An edge of a state-machine diagram: `(from, to, label)` (the trace's
/// vocabulary, shared with TCP's diagram in `net`).
pub use crate::trace::Transition;

/// The part of the conventions above that is the same for every protocol,
/// so that drivers (the simulated applications and the live mode) can pump
/// any session without knowing which protocol it speaks. Feeding input is
/// protocol specific (each machine's `handle_input` takes the backend it
/// needs), so it is not part of this trait.
pub trait Session {
    /// Bytes to send to the peer, in order; `None` when nothing is pending.
    fn poll_output(&mut self) -> Option<Vec<u8>>;
    /// The next line of the dialogue for the trace, in order.
    fn poll_transcript(&mut self) -> Option<Transcript>;
    /// True once the machine has said its last word; the driver closes the
    /// connection after flushing [`poll_output`](Self::poll_output).
    fn wants_close(&self) -> bool;
    /// The peer closed the connection (or it failed).
    fn handle_close(&mut self);
    /// The current state's name, one of the module's `STATES`.
    fn state_name(&self) -> &'static str;
    /// True once, right after the machine queued its go-ahead for TLS
    /// (SMTP's and IMAP's STARTTLS, POP3's STLS): the driver sends that
    /// reply in the clear, puts TLS under the machine, drops whatever
    /// plaintext the client sent after the command (RFC 3207 §4.2: it
    /// could be an attacker's injection), then calls
    /// [`tls_started`](Self::tls_started).
    fn take_starttls(&mut self) -> bool {
        false
    }
    /// TLS is in place: the session starts over (RFC 3207 §4.2: the client
    /// greets again and learns the extensions anew).
    fn tls_started(&mut self) {}
    /// True when the connection runs over TLS (implicit, or after STARTTLS).
    fn is_secure(&self) -> bool {
        false
    }
}
