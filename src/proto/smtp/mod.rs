//! SMTP, the Simple Mail Transfer Protocol (RFC 5321), both sides.
//!
//! - [`server`]: [`SmtpServer`], one receiving session, backed by an
//!   [`SmtpBackend`] that knows the local domains, users and passwords and
//!   takes accepted messages.
//! - [`client`]: [`SmtpClient`], one sending session for a user agent or a
//!   relaying mail server.
//! - [`reply`]: reply codes as named constants, the [`Reply`] type and the
//!   reply parser clients use.
//! - [`command`]: the command grammar, parsed into [`command::Command`].
//! - [`sasl`]: AUTH PLAIN and base64.
//! - [`message`]: writing and reading RFC 5322 messages (headers, body).
//!
//! Like every machine in [`crate::proto`], both sides are sans-IO: bytes in,
//! bytes out. Delivery, queues, MX lookup and retries are the business of
//! the applications that drive them.

pub mod client;
pub mod command;
pub mod message;
pub mod reply;
pub mod sasl;
pub mod server;

#[cfg(test)]
mod tests;

pub use client::{
    Credentials, MessageOutcome, MessageReport, OutgoingMessage, RecipientResult, RecipientStatus,
    SessionOutcome, SmtpClient, SmtpClientConfig,
};
pub use command::Mailbox;
pub use reply::Reply;
pub use server::{ReceivedMessage, STATES, SmtpBackend, SmtpConfig, SmtpServer, TRANSITIONS};

/// The client's state names (see [`client::STATES`]).
pub use client::STATES as CLIENT_STATES;
/// The client's state diagram (see [`client::TRANSITIONS`]).
pub use client::TRANSITIONS as CLIENT_TRANSITIONS;

/// Port for relay between mail servers (RFC 5321).
pub const PORT: u16 = 25;
/// Port for message submission by user agents (RFC 6409).
pub const SUBMISSION_PORT: u16 = 587;
