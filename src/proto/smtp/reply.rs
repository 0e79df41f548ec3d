//! SMTP replies: the three-digit codes of RFC 5321 §4.2 and their wire form.
//!
//! A reply is a code and one or more lines of text. On the wire every line
//! but the last has a hyphen after the code (`250-SIZE 1000000`), the last a
//! space (`250 HELP`), RFC 5321 §4.2.1. When a server advertises
//! ENHANCEDSTATUSCODES (RFC 2034) the text starts with a class.subject.detail
//! code such as `2.1.0`; here that code is simply part of the text.
//!
//! The reply type and its parser are [`crate::proto::reply`]'s, shared
//! with FTP; this module holds SMTP's codes and its continuation rule.

pub use crate::proto::reply::{Continuation, MAX_REPLY_LINE, Reply, ReplyError, ReplyParser};

// RFC 5321 §4.2.3 (and RFC 4954 for 235/334/530/535, RFC 1870 for 552 on
// SIZE): the reply codes this module uses, by name.

/// Help message.
pub const HELP_MESSAGE: u16 = 214;
/// `<domain> Service ready` (the greeting).
pub const SERVICE_READY: u16 = 220;
/// `<domain> Service closing transmission channel` (answer to QUIT).
pub const SERVICE_CLOSING: u16 = 221;
/// RFC 4954 §6: authentication succeeded.
pub const AUTH_SUCCEEDED: u16 = 235;
/// Requested mail action okay, completed.
pub const OK: u16 = 250;
/// Cannot VRFY user, but will accept message and attempt delivery.
pub const CANNOT_VRFY: u16 = 252;
/// RFC 4954 §4: server challenge, the client continues the exchange.
pub const AUTH_CONTINUE: u16 = 334;
/// Start mail input; end with `<CRLF>.<CRLF>`.
pub const START_MAIL_INPUT: u16 = 354;
/// Service not available, closing transmission channel.
pub const SERVICE_NOT_AVAILABLE: u16 = 421;
/// Requested action aborted: local error in processing.
pub const LOCAL_ERROR: u16 = 451;
/// Requested action not taken: insufficient system storage (also "too many
/// recipients", RFC 5321 §4.5.3.1.10).
pub const INSUFFICIENT_STORAGE: u16 = 452;
/// Syntax error, command unrecognized (also "line too long").
pub const SYNTAX_ERROR: u16 = 500;
/// Syntax error in parameters or arguments.
pub const SYNTAX_ERROR_IN_PARAMETERS: u16 = 501;
/// Command not implemented.
pub const NOT_IMPLEMENTED: u16 = 502;
/// Bad sequence of commands.
pub const BAD_SEQUENCE: u16 = 503;
/// Command parameter not implemented (also "unrecognized AUTH mechanism").
pub const PARAMETER_NOT_IMPLEMENTED: u16 = 504;
/// RFC 4954 §6: authentication required.
pub const AUTH_REQUIRED: u16 = 530;
/// RFC 4954 §6: authentication credentials invalid.
pub const AUTH_INVALID: u16 = 535;
/// Requested action not taken: mailbox unavailable (no such user, relay
/// denied).
pub const MAILBOX_UNAVAILABLE: u16 = 550;
/// Requested mail action aborted: exceeded storage allocation (RFC 1870:
/// message too big).
pub const EXCEEDED_STORAGE: u16 = 552;
/// Transaction failed.
pub const TRANSACTION_FAILED: u16 = 554;
/// MAIL FROM/RCPT TO parameters not recognized or not implemented.
pub const PARAMETERS_NOT_RECOGNIZED: u16 = 555;

/// SMTP writes the code on every line of a multi-line reply (RFC 5321
/// §4.2.1).
pub const STYLE: Continuation = Continuation::EveryLine;

/// A parser for the replies an SMTP client receives.
pub fn parser() -> ReplyParser {
    ReplyParser::new(STYLE)
}
