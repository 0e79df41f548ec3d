//! The trace events of the file servers (FTP, HTTP, SCP, TELNET) and their clients: each one's layer,
//! name and fields, as [`EventKind`] constants that the code records with
//! `AppCx::emit` and scenarios' patterns are checked against ([`ALL`]).

use crate::trace::{EventKind, Layer};

pub const FTP_SESSION_DONE: EventKind = EventKind::new(
    Layer::App,
    "ftp_session_done",
    &[
        "server",
        "user",
        "logged_in",
        "steps",
        "failed",
        "downloads",
        "error",
    ],
);
pub const FTP_STEP_FAILED: EventKind =
    EventKind::new(Layer::App, "ftp_step_failed", &["command", "code", "text"]);
pub const DOWNLOADED: EventKind = EventKind::new(
    Layer::App,
    "downloaded",
    &["via", "name", "bytes", "sha256"],
);
pub const SCP_DONE: EventKind = EventKind::new(
    Layer::App,
    "scp_done",
    &["server", "command", "succeeded", "exit_status", "error"],
);
pub const LISTEN_FAILED: EventKind =
    EventKind::new(Layer::App, "listen_failed", &["service", "port", "error"]);
pub const DATA_REFUSED: EventKind = EventKind::new(Layer::Ftp, "data_refused", &["port", "from"]);
pub const CONTROL_OPENED: EventKind =
    EventKind::new(Layer::Ftp, "control_opened", &["client", "server"]);
pub const DATA_LISTENING: EventKind =
    EventKind::new(Layer::Ftp, "data_listening", &["port", "client"]);
pub const DATA_FAILED: EventKind =
    EventKind::new(Layer::Ftp, "data_failed", &["mode", "client", "reason"]);
pub const DATA_CLOSED: EventKind = EventKind::new(
    Layer::Ftp,
    "data_closed",
    &[
        "client",
        "server_port",
        "bytes_sent",
        "bytes_received",
        "error",
    ],
);
pub const CONTROL_CLOSED: EventKind = EventKind::new(Layer::Ftp, "control_closed", &["client"]);
pub const FILE_STORED: EventKind = EventKind::new(
    Layer::App,
    "file_stored",
    &["via", "path", "bytes", "sha256"],
);
pub const DATA_OPENED: EventKind = EventKind::new(
    Layer::Ftp,
    "data_opened",
    &[
        "mode",
        "opened_by",
        "server_port",
        "client",
        "client_port",
        "control",
    ],
);
pub const HTTP_FAILED: EventKind = EventKind::new(Layer::App, "http_failed", &["path", "status"]);
pub const HTTP_DONE: EventKind = EventKind::new(
    Layer::App,
    "http_done",
    &["server", "responses", "downloads", "error"],
);
pub const HTTP_CONNECTION_OPENED: EventKind =
    EventKind::new(Layer::Http, "connection_opened", &["client"]);
pub const HTTP_CONNECTION_CLOSED: EventKind =
    EventKind::new(Layer::Http, "connection_closed", &["client", "requests"]);
pub const SCP_CONNECTION_OPENED: EventKind =
    EventKind::new(Layer::Scp, "connection_opened", &["client"]);
pub const SCP_CONNECTION_CLOSED: EventKind =
    EventKind::new(Layer::Scp, "connection_closed", &["client"]);
pub const TELNET_CONNECTION_OPENED: EventKind =
    EventKind::new(Layer::Telnet, "connection_opened", &["client"]);
pub const TELNET_CONNECTION_CLOSED: EventKind =
    EventKind::new(Layer::Telnet, "connection_closed", &["client"]);
/// An option enabled, disabled or refused; `side` is whose option it is.
pub const TELNET_NEGOTIATED: EventKind = EventKind::new(
    Layer::Telnet,
    "negotiated",
    &["client", "option", "side", "result"],
);
pub const TELNET_LOGIN: EventKind = EventKind::new(Layer::Telnet, "login", &["client", "user"]);
pub const TELNET_PASSWORD_PROMPT: EventKind =
    EventKind::new(Layer::Telnet, "password_prompt", &["client", "user"]);
pub const TELNET_LOGIN_OK: EventKind =
    EventKind::new(Layer::Telnet, "login_ok", &["client", "user"]);
pub const TELNET_LOGIN_FAILED: EventKind = EventKind::new(
    Layer::Telnet,
    "login_failed",
    &["client", "user", "attempts"],
);
pub const TELNET_SHELL_COMMAND: EventKind = EventKind::new(
    Layer::Telnet,
    "shell_command",
    &["client", "user", "command", "status"],
);
pub const TELNET_LOGOUT: EventKind = EventKind::new(Layer::Telnet, "logout", &["client", "user"]);
pub const TELNET_DONE: EventKind = EventKind::new(
    Layer::App,
    "telnet_done",
    &[
        "server",
        "user",
        "logged_in",
        "commands",
        "succeeded",
        "error",
    ],
);

/// Every event above.
pub const ALL: &[EventKind] = &[
    FTP_SESSION_DONE,
    FTP_STEP_FAILED,
    DOWNLOADED,
    SCP_DONE,
    LISTEN_FAILED,
    DATA_REFUSED,
    CONTROL_OPENED,
    DATA_LISTENING,
    DATA_FAILED,
    DATA_CLOSED,
    CONTROL_CLOSED,
    FILE_STORED,
    DATA_OPENED,
    HTTP_FAILED,
    HTTP_DONE,
    HTTP_CONNECTION_OPENED,
    HTTP_CONNECTION_CLOSED,
    SCP_CONNECTION_OPENED,
    SCP_CONNECTION_CLOSED,
    TELNET_CONNECTION_OPENED,
    TELNET_CONNECTION_CLOSED,
    TELNET_NEGOTIATED,
    TELNET_LOGIN,
    TELNET_PASSWORD_PROMPT,
    TELNET_LOGIN_OK,
    TELNET_LOGIN_FAILED,
    TELNET_SHELL_COMMAND,
    TELNET_LOGOUT,
    TELNET_DONE,
];
