//! TELNET (RFC 854) with option negotiation (RFC 855) for ECHO (RFC 857)
//! and SUPPRESS-GO-AHEAD (RFC 858): a sans-IO server with a login and a
//! small shell, and a scripted client that types like a person.
//!
//! TELNET is a byte stream between two Network Virtual Terminals. Most
//! bytes are data; the byte 255, IAC ("interpret as command"), starts a
//! command: `IAC WILL opt`, `IAC WONT opt`, `IAC DO opt`, `IAC DONT opt`
//! negotiate options, `IAC SB opt ... IAC SE` carries an option's
//! parameters, and two-byte commands such as `IAC IP` (interrupt) or
//! `IAC AYT` (are you there) stand for keys of the terminal. A data byte
//! 255 travels doubled, as `IAC IAC`. An end of line is CR LF; a carriage
//! return alone is CR NUL (RFC 854, "The NVT printer and keyboard").
//!
//! The textbook session: the server offers `WILL ECHO` and `WILL
//! SUPPRESS-GO-AHEAD`, the client agrees with `DO ECHO` and `DO
//! SUPPRESS-GO-AHEAD`, and from then on the client sends each keystroke
//! the moment it is typed (character mode) and the server sends it back
//! (remote echo). The password is the one line the server does not echo,
//! and it crosses the network in the clear all the same, one segment per
//! keystroke.
//!
//! - [`codec`]: reading the byte stream into data and commands (IAC IAC,
//!   subnegotiation skipped with bounded memory, CR LF / CR NUL), and
//!   writing NVT text.
//! - [`options`]: the negotiation of RFC 855 with the states of RFC 1143,
//!   so that it never loops, whatever the peer sends.
//! - [`server::TelnetServer`]: `login:`, `Password:` (not echoed), then a
//!   shell with `ls`, `cat`, `cd`, `pwd`, `help` and `exit` over a
//!   [`TelnetBackend`].
//! - [`client::TelnetClient`]: logs in, runs its commands, types `exit`.
//!
//! What is not here: options other than ECHO and SUPPRESS-GO-AHEAD (they
//! are refused), line mode (RFC 1184), terminal type, window size, the
//! environment, TLS, urgent data (the Synch); a shell with pipes, quoting
//! or any command that changes a file.

pub mod client;
pub mod codec;
pub mod options;
pub mod server;

#[cfg(test)]
mod tests;

pub use client::{CommandOutput, TelnetClient, TelnetClientConfig, TelnetClientError};
pub use codec::{Decoder, Item, LineEnds, Verb};
pub use options::{Negotiator, OptionResult, Side};
pub use server::{TelnetBackend, TelnetConfig, TelnetServer};

/// The client's state names (see [`client::STATES`]).
pub use client::STATES as CLIENT_STATES;
/// The client's state diagram (see [`client::TRANSITIONS`]).
pub use client::TRANSITIONS as CLIENT_TRANSITIONS;
/// The option negotiation's state names (see [`options::STATES`]).
pub use options::STATES as OPTION_STATES;
/// The option negotiation's diagram (see [`options::TRANSITIONS`]).
pub use options::TRANSITIONS as OPTION_TRANSITIONS;
/// The server's state names (see [`server::STATES`]).
pub use server::STATES;
/// The server's state diagram (see [`server::TRANSITIONS`]).
pub use server::TRANSITIONS;

/// The TELNET port (RFC 854; "Assigned Numbers").
pub const PORT: u16 = 23;

/// RFC 854: "Interpret as command".
pub const IAC: u8 = 255;
/// RFC 854: the option code that follows is refused or to be turned off.
pub const DONT: u8 = 254;
/// RFC 854: please use the option that follows, or confirm that you do.
pub const DO: u8 = 253;
/// RFC 854: will not use the option, or refuses to.
pub const WONT: u8 = 252;
/// RFC 854: wants to use the option, or confirms that it does.
pub const WILL: u8 = 251;
/// RFC 854: start of subnegotiation.
pub const SB: u8 = 250;
/// RFC 854: Go ahead (half-duplex turn taking).
pub const GA: u8 = 249;
/// RFC 854: Erase line.
pub const EL: u8 = 248;
/// RFC 854: Erase character.
pub const EC: u8 = 247;
/// RFC 854: Are you there.
pub const AYT: u8 = 246;
/// RFC 854: Abort output.
pub const AO: u8 = 245;
/// RFC 854: Interrupt process.
pub const IP: u8 = 244;
/// RFC 854: Break.
pub const BRK: u8 = 243;
/// RFC 854: Data mark (the data stream part of a Synch).
pub const DM: u8 = 242;
/// RFC 854: No operation.
pub const NOP: u8 = 241;
/// RFC 854: end of subnegotiation.
pub const SE: u8 = 240;

/// RFC 857: the sender of this option echoes the data it receives.
pub const OPT_ECHO: u8 = 1;
/// RFC 858: the sender of this option will not send Go Ahead.
pub const OPT_SUPPRESS_GO_AHEAD: u8 = 3;

/// The name of an option code, as "Assigned Numbers" and Wireshark spell
/// it (`ECHO`, `TERMINAL-TYPE`), or its number.
pub fn option_name(option: u8) -> String {
    let name = match option {
        0 => "BINARY",
        1 => "ECHO",
        3 => "SUPPRESS-GO-AHEAD",
        5 => "STATUS",
        6 => "TIMING-MARK",
        24 => "TERMINAL-TYPE",
        31 => "NAWS",
        32 => "TERMINAL-SPEED",
        33 => "TOGGLE-FLOW-CONTROL",
        34 => "LINEMODE",
        35 => "X-DISPLAY-LOCATION",
        36 => "ENVIRON",
        37 => "AUTHENTICATION",
        38 => "ENCRYPT",
        39 => "NEW-ENVIRON",
        _ => return format!("option {option}"),
    };
    name.to_string()
}

/// The name of a two-byte command (`IAC IP` is "IP").
pub fn command_name(command: u8) -> String {
    let name = match command {
        GA => "GA",
        EL => "EL",
        EC => "EC",
        AYT => "AYT",
        AO => "AO",
        IP => "IP",
        BRK => "BRK",
        DM => "DM",
        NOP => "NOP",
        SE => "SE",
        _ => return format!("command {command}"),
    };
    name.to_string()
}

/// What a session reports as it goes, for the trace: the driver turns
/// each into a named event (`negotiated`, `login`, ... in layer `telnet`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TelnetEvent {
    /// An option was enabled, disabled or refused; `side` is whose option
    /// it is (the server's ECHO is the server echoing).
    Negotiated {
        option: u8,
        side: Side,
        result: OptionResult,
    },
    /// A user name was typed at the `login:` prompt.
    Login { user: String },
    /// The server asked for the password, with its echo off.
    PasswordPrompt { user: String },
    /// The password was right: the shell starts.
    LoginOk { user: String },
    /// The password (or the user) was wrong.
    LoginFailed { user: String, attempts: u32 },
    /// A shell command ran, with its exit status (0 success, 1 failure,
    /// 127 not found, as a Unix shell reports them).
    Command {
        user: String,
        line: String,
        status: u32,
    },
    /// The user left the shell (`exit`, `logout` or Ctrl-D).
    Logout { user: String },
}
