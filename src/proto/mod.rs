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
//!   visualizer's state-machine view; each module's `STATES` and
//!   `TRANSITIONS` constants describe the whole diagram.
//!
//! No input from the network may make a machine panic: bad bytes become an
//! error reply or a clean close.

pub mod date;
pub mod line;

/// One line of an application dialogue, as a transcript shows it.
///
/// Servers report both directions (the command they received and the reply
/// they sent), so a transcript is complete even when the client is a real
/// program outside the simulation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Transcript {
    /// A command from the client ("C:" in the RFCs' examples).
    Command(String),
    /// A reply from the server ("S:"), with its numeric code where the
    /// protocol has one (SMTP, FTP).
    Reply { code: Option<u16>, text: String },
    /// Content carried on the dialogue that is neither a command nor a
    /// reply: a message body line in SMTP DATA, a literal in IMAP, or a
    /// summary such as "(1432 bytes)".
    Data(String),
}

/// A role in a state-machine diagram: `(from, to, label)`.
pub type Transition = (&'static str, &'static str, &'static str);
