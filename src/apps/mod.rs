//! Applications built from the protocol machines: mail servers, user
//! agents, file servers, an eavesdropper, and the plain TCP programs of
//! the transport lessons.
//!
//! Each application implements [`crate::net::Application`]: it reacts to
//! connection, data and timer events on its host and acts through
//! [`crate::net::AppCx`]. Protocol logic lives in [`crate::proto`]; an
//! application only carries bytes between the network and a machine,
//! records the transcript, and keeps the state that outlives a connection
//! (mailboxes, queues, files).

pub mod dns;
pub mod eavesdropper;
pub mod events;
pub mod files;
pub mod mail;
pub mod pump;
pub mod tap;
pub mod tcp;
pub mod tls;
pub mod vfs;

use crate::trace::EventKind;

/// Every event an application of wiretale records: what a scenario's
/// patterns may name besides the engine's own events
/// ([`crate::trace::vocab::engine_events`]).
pub fn events() -> impl Iterator<Item = &'static EventKind> + Clone {
    events::ALL
        .iter()
        .chain(mail::events::ALL)
        .chain(files::events::ALL)
}

/// The whole vocabulary of a run's trace: the engine's events and every
/// application's.
pub fn vocabulary() -> impl Iterator<Item = &'static EventKind> + Clone {
    crate::trace::vocab::engine_events().chain(events())
}
