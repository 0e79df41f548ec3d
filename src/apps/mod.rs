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
pub mod files;
pub mod mail;
pub mod tap;
pub mod tcp;
pub mod vfs;
