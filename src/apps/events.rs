//! The trace events of the DNS server, the bulk-transfer and discard applications and the link tap: each one's layer,
//! name and fields, as [`EventKind`] constants that the code records with
//! `AppCx::emit` and scenarios' patterns are checked against ([`ALL`]).

use crate::trace::{EventKind, Layer};

pub const LISTEN_FAILED: EventKind =
    EventKind::new(Layer::App, "listen_failed", &["port", "error"]);
pub const EAVESDROPPED: EventKind = EventKind::new(
    Layer::App,
    "eavesdropped",
    &["kind", "text", "client", "server", "seen_at_us"],
);
pub const TRANSFER_STARTED: EventKind =
    EventKind::new(Layer::App, "transfer_started", &["to", "bytes"]);
pub const RECEIVED: EventKind = EventKind::new(
    Layer::App,
    "received",
    &["from", "bytes", "sha256", "in_order", "error"],
);
pub const TRANSFER_DONE: EventKind = EventKind::new(Layer::App, "transfer_done", &["to", "bytes"]);
pub const TRANSFER_FAILED: EventKind =
    EventKind::new(Layer::App, "transfer_failed", &["to", "bytes", "error"]);

/// Every event above.
pub const ALL: &[EventKind] = &[
    LISTEN_FAILED,
    EAVESDROPPED,
    TRANSFER_STARTED,
    RECEIVED,
    TRANSFER_DONE,
    TRANSFER_FAILED,
];
