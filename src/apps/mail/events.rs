//! The trace events of the mail servers (intake, queue, relay, mailboxes) and the user agents: each one's layer,
//! name and fields, as [`EventKind`] constants that the code records with
//! `AppCx::emit` and scenarios' patterns are checked against ([`ALL`]).

use crate::trace::{EventKind, Layer};

pub const COMPOSE: EventKind =
    EventKind::new(Layer::App, "compose", &["from", "to", "subject", "server"]);
pub const CHECK_MAIL: EventKind = EventKind::new(
    Layer::App,
    "check_mail",
    &["account", "protocol", "mode", "server"],
);
pub const FETCH_DONE: EventKind =
    EventKind::new(Layer::App, "fetch_done", &["account", "messages"]);
pub const UPDATE: EventKind = EventKind::new(
    Layer::App,
    "update",
    &[
        "account", "folder", "kind", "messages", "seq", "uid", "flags", "subject",
    ],
);
pub const APP_FLAGS: EventKind = EventKind::new(
    Layer::App,
    "flags",
    &["account", "folder", "uid", "subject", "flags"],
);
pub const STEP_FAILED: EventKind = EventKind::new(
    Layer::App,
    "step_failed",
    &["account", "step", "status", "reason"],
);
pub const APP_DELETED: EventKind = EventKind::new(
    Layer::App,
    "deleted",
    &["account", "folder", "uids", "subject"],
);
pub const FETCH_FAILED: EventKind =
    EventKind::new(Layer::App, "fetch_failed", &["account", "error"]);
pub const FETCHED: EventKind = EventKind::new(
    Layer::App,
    "fetched",
    &[
        "account", "uid", "from", "subject", "size", "hops", "folder", "flags",
    ],
);
pub const HEADER: EventKind = EventKind::new(Layer::App, "header", &["name", "value"]);
pub const BODY_LINE: EventKind = EventKind::new(Layer::App, "body_line", &["line"]);
pub const LISTEN_FAILED: EventKind =
    EventKind::new(Layer::App, "listen_failed", &["port", "error"]);
pub const QUEUE_RESUMED: EventKind = EventKind::new(Layer::Smtp, "queue_resumed", &["messages"]);
pub const QUEUE_KEPT: EventKind = EventKind::new(Layer::Smtp, "queue_kept", &["messages"]);
pub const POP3_DELETED: EventKind =
    EventKind::new(Layer::Pop3, "deleted", &["user", "mailbox", "uids"]);
pub const IMAP_FLAGS: EventKind =
    EventKind::new(Layer::Imap, "flags", &["user", "mailbox", "uid", "flags"]);
pub const EXPUNGED: EventKind =
    EventKind::new(Layer::Imap, "expunged", &["user", "mailbox", "uids"]);
pub const APPENDED: EventKind = EventKind::new(
    Layer::Imap,
    "appended",
    &["user", "mailbox", "uid", "subject"],
);
pub const STORED: EventKind = EventKind::new(
    Layer::Smtp,
    "stored",
    &["queue_id", "user", "mailbox", "uid", "from", "subject"],
);
pub const QUEUED: EventKind = EventKind::new(
    Layer::Smtp,
    "queued",
    &[
        "queue_id", "user", "mailbox", "uid", "from", "subject", "to", "domain", "size",
    ],
);
pub const DISCARDED: EventKind =
    EventKind::new(Layer::Smtp, "discarded", &["queue_id", "to", "reason"]);
pub const DELIVERY_ATTEMPT: EventKind = EventKind::new(
    Layer::Smtp,
    "delivery_attempt",
    &["queue_id", "attempt", "to", "domain"],
);
pub const MX_RESOLVED: EventKind = EventKind::new(
    Layer::Smtp,
    "mx_resolved",
    &["queue_id", "domain", "exchange", "preference", "address"],
);
pub const MX_FAILED: EventKind = EventKind::new(
    Layer::Smtp,
    "mx_failed",
    &["queue_id", "domain", "error", "permanent"],
);
pub const CONNECTING: EventKind = EventKind::new(
    Layer::Smtp,
    "connecting",
    &["queue_id", "exchange", "address", "port"],
);
pub const CONNECT_FAILED: EventKind = EventKind::new(
    Layer::Smtp,
    "connect_failed",
    &["queue_id", "exchange", "address", "error"],
);
pub const DELIVERED: EventKind = EventKind::new(
    Layer::Smtp,
    "delivered",
    &["queue_id", "to", "exchange", "address", "reply"],
);
pub const DEFERRED: EventKind = EventKind::new(
    Layer::Smtp,
    "deferred",
    &[
        "queue_id",
        "to",
        "reason",
        "attempt",
        "retry_in_s",
        "next_attempt_us",
    ],
);
pub const BOUNCED: EventKind = EventKind::new(
    Layer::Smtp,
    "bounced",
    &["queue_id", "to", "status", "reason", "notify", "bounce_id"],
);
pub const SUBMITTED: EventKind =
    EventKind::new(Layer::App, "submitted", &["from", "to", "subject", "reply"]);
pub const SUBMIT_FAILED: EventKind = EventKind::new(
    Layer::App,
    "submit_failed",
    &["from", "to", "subject", "error"],
);
pub const MOVED: EventKind = EventKind::new(
    Layer::App,
    "moved",
    &["account", "from", "to", "uids", "subject"],
);
pub const COPIED: EventKind = EventKind::new(
    Layer::App,
    "copied",
    &["account", "from", "to", "uids", "subject"],
);

/// Every event above.
pub const ALL: &[EventKind] = &[
    COMPOSE,
    CHECK_MAIL,
    FETCH_DONE,
    UPDATE,
    APP_FLAGS,
    STEP_FAILED,
    APP_DELETED,
    FETCH_FAILED,
    FETCHED,
    HEADER,
    BODY_LINE,
    LISTEN_FAILED,
    QUEUE_RESUMED,
    QUEUE_KEPT,
    POP3_DELETED,
    IMAP_FLAGS,
    EXPUNGED,
    APPENDED,
    STORED,
    QUEUED,
    DISCARDED,
    DELIVERY_ATTEMPT,
    MX_RESOLVED,
    MX_FAILED,
    CONNECTING,
    CONNECT_FAILED,
    DELIVERED,
    DEFERRED,
    BOUNCED,
    SUBMITTED,
    SUBMIT_FAILED,
    MOVED,
    COPIED,
];
