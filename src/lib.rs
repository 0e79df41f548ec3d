//! # wiretale
//!
//! A teaching network simulator. Data flows down the layers and events flow
//! up:
//!
//! - [`scenario`] turns a RON file into a validated model of a network.
//! - [`sim`] is the deterministic discrete-event engine: an integer clock,
//!   an event queue keyed by `(time, insertion sequence)` and one seeded RNG.
//! - [`net`] is the network: a topology of hosts and routers, links with
//!   latency, bandwidth, queues and loss, IPv4 routing, UDP and TCP.
//! - [`proto`] holds the sans-IO application protocol machines (SMTP, POP3,
//!   IMAP, DNS, FTP, HTTP, SCP, TELNET): bytes in, bytes and events out, no
//!   sockets.
//! - [`apps`] builds applications from those machines: mail servers with
//!   queues and mailboxes, user agents, file servers, an eavesdropper.
//! - [`trace`] is the one stream of typed events every layer emits; the CLI,
//!   the checks and the visualizer read only this and read-only world state.
//! - `gui` (feature `gui`, on by default) is the visualizer: a Bevy app
//!   with egui panels that animates a run; nothing else depends on it.
//! - [`exercise`] asks "what if?" (a fork of a run with one change) and
//!   compares two runs: the first difference and both ladders.
//! - [`live`] serves a scenario's servers on real loopback sockets, so
//!   real clients (curl, Python's smtplib, ...) talk to the same machines.
//! - [`fuzzing`] holds the entry points of the fuzz targets in `fuzz/`,
//!   which the test suite also runs on their seeds and regressions.
//!
//! The engine never reads a wall clock: a run is a pure function of its
//! scenario and seed. Only the live mode maps real time to simulated time
//! (and batch checks time their runs for the report).

pub mod apps;
pub mod diagram;
pub mod exercise;
pub mod fuzzing;
#[cfg(feature = "gui")]
pub mod gui;
pub mod live;
pub mod net;
pub mod proto;
pub mod scenario;
pub mod sim;
pub mod trace;
