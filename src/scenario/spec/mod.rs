//! The scenario file format, as Rust types that RON deserializes into.
//!
//! `scenarios/README.md` documents every field for instructors; keep the
//! two in step. Unknown fields are errors (`deny_unknown_fields`), so a
//! typo is reported where it was made instead of being ignored. Defaults
//! keep small scenarios small: addresses, routes and ephemeral ports are
//! automatic unless given.
//!
//! These types only describe a scenario: what must hold across fields is
//! checked in `validate`, and what they mean in a run is decided
//! in [`build`](mod@super::build).
//!
//! The pieces: this file is the scenario, its hosts, links, routes,
//! actions, faults and captions; `mail` has the mail servers' users, DNS records,
//! accounts and IMAP steps; `files` the file servers' accounts, files and
//! FTP steps; `checks` the checks on the final state.

use super::units::{Dur, Rate, Size};
use serde::Deserialize;
use std::net::Ipv4Addr;

mod checks;
mod files;
mod mail;

pub use checks::FinalCheck;
use files::default_file_services;
pub use files::{FileService, FileSpec, FileUserSpec, FtpMode, FtpStep, FtpType};
pub use mail::{AccountSpec, ImapStepSpec, MailProtocol, RecordSpec, UserSpec, mail_hostname};

/// The format version this build reads.
pub const VERSION: u32 = 1;

/// A whole scenario file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// The format version; must be 1.
    pub version: u32,
    /// One line, shown in lists and window titles.
    pub title: String,
    /// What the scenario teaches, a few sentences.
    #[serde(default)]
    pub description: String,
    /// The seed of the run's random numbers (loss, sequence numbers...).
    #[serde(default = "default_seed")]
    pub seed: u64,
    /// Stop the run at this time; by default it runs until nothing is
    /// left to do (at most one simulated hour).
    #[serde(default)]
    pub until: Option<Dur>,
    /// The calendar date and time at which the run starts, in UTC, for the
    /// dates in mail headers and file listings: "2026-11-23T10:00:00Z"
    /// (default 2025-01-06T09:00:00Z).
    #[serde(default)]
    pub start: Option<String>,
    /// TCP parameters shared by every host.
    #[serde(default)]
    pub tcp: TcpSpec,
    pub hosts: Vec<HostSpec>,
    #[serde(default)]
    pub links: Vec<LinkSpec>,
    /// Routes that override the computed ones at one node.
    #[serde(default)]
    pub routes: Vec<RouteSpec>,
    /// Scripted actions of the hosts' users.
    #[serde(default)]
    pub actions: Vec<ActionSpec>,
    /// Scripted faults: links down and up, crashes, loss changes.
    #[serde(default)]
    pub faults: Vec<FaultSpec>,
    /// Captions shown at given times.
    #[serde(default)]
    pub narration: Vec<NarrationSpec>,
    /// Events that must happen, in this order.
    #[serde(default)]
    pub expect: Vec<Pattern>,
    /// Events that must never happen.
    #[serde(default)]
    pub never: Vec<Pattern>,
    /// What must hold when the run ends.
    #[serde(default, rename = "final")]
    pub final_state: Vec<FinalCheck>,
    /// Questions asked before chosen events (`wiretale quiz`, and the
    /// visualizer's predict mode).
    #[serde(default)]
    pub quiz: Vec<QuizSpec>,
}

/// A question asked just before the first event that matches `before`:
/// the answer is that event's `field` ("What ack number does the SYN-ACK
/// carry?", `field: "ack"`), or a fixed `answer`. With `choices`, the
/// student picks one.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, rename = "Quiz")]
pub struct QuizSpec {
    pub before: Pattern,
    pub question: String,
    #[serde(default)]
    pub choices: Vec<String>,
    /// The field of the event whose value is the answer.
    #[serde(default)]
    pub field: Option<String>,
    /// The answer, when it is not a field of the event.
    #[serde(default)]
    pub answer: Option<String>,
}

fn default_seed() -> u64 {
    1
}

fn default_true() -> bool {
    true
}

/// An event pattern: trace fields and the values they must have. A key
/// ending in `~` matches when the field contains the text; `after` and
/// `before` (durations) bound the event's time.
pub type Pattern = serde_json::Map<String, serde_json::Value>;

/// TCP parameters (RFC 9293, RFC 6298); every field is optional.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename = "Tcp")]
pub struct TcpSpec {
    /// Maximum segment size each host announces (default 1460).
    #[serde(default)]
    pub mss: Option<u16>,
    /// Receive buffer, the largest window (default 65535).
    #[serde(default)]
    pub recv_buffer: Option<u32>,
    /// Initial retransmission timeout (default 1s, RFC 6298 §2.1).
    #[serde(default)]
    pub initial_rto: Option<Dur>,
    /// Smallest retransmission timeout (default 1s, RFC 6298 §2.4).
    #[serde(default)]
    pub min_rto: Option<Dur>,
    /// Maximum segment lifetime; TIME-WAIT lasts twice this (default 30s).
    #[serde(default)]
    pub msl: Option<Dur>,
    /// How long an ACK may be delayed; "0ms" acknowledges every segment
    /// at once (default 40ms).
    #[serde(default)]
    pub delayed_ack: Option<Dur>,
    /// SYN retransmissions before a connection attempt fails (default 5).
    #[serde(default)]
    pub syn_retries: Option<u32>,
    /// Data retransmissions before a connection is abandoned (default 10).
    #[serde(default)]
    pub data_retries: Option<u32>,
}

/// A host or router.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename = "Host")]
pub struct HostSpec {
    pub name: String,
    /// What the host is; decides its icon and default services.
    #[serde(default)]
    pub role: Role,
    /// A friendly description for captions: "Alice's mail server".
    #[serde(default)]
    pub label: Option<String>,
    /// The address of the host's first link (default: automatic).
    #[serde(default)]
    pub address: Option<Ipv4Addr>,
    /// Services besides those of the role.
    #[serde(default)]
    pub services: Vec<ServiceSpec>,
    /// An inbound filter, e.g. a home router's.
    #[serde(default)]
    pub firewall: Option<FirewallSpec>,
    /// Where the visualizer draws the host, in a 0..100 square.
    #[serde(default)]
    pub position: Option<(f32, f32)>,
    /// Mail accounts of the host's user: a user agent runs here with them.
    #[serde(default)]
    pub accounts: Vec<AccountSpec>,
}

impl HostSpec {
    /// The account with this address (case-insensitive).
    pub fn account(&self, address: &str) -> Option<&AccountSpec> {
        self.accounts
            .iter()
            .find(|a| a.address.eq_ignore_ascii_case(address))
    }
}

/// What a host is.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub enum Role {
    /// A user's computer: runs the actions of its user.
    #[default]
    Client,
    /// Forwards packets; runs nothing.
    Router,
    /// A host that runs the services listed for it.
    Server,
    /// A mail server: SMTP on port 25 for mail from other servers, message
    /// submission on 587 for its own users (AUTH required), POP3 on 110,
    /// and a queue that relays mail to other domains.
    MailServer {
        /// The domains it receives mail for: `["hamburger.edu"]`.
        domains: Vec<String>,
        /// Its users (mailboxes).
        #[serde(default)]
        users: Vec<UserSpec>,
        /// Its name in greetings and `Received:` lines (default: the host
        /// name and the first domain, `bob-mail.hamburger.edu`).
        #[serde(default)]
        hostname: Option<String>,
        /// The DnsServer host it asks for MX records (default: the only
        /// DnsServer of the scenario).
        #[serde(default)]
        dns: Option<String>,
        /// Wait after the first failed delivery attempt; each further wait
        /// doubles (default "1min").
        #[serde(default)]
        retry: Option<Dur>,
        /// The longest wait between attempts (default "16min").
        #[serde(default)]
        max_retry: Option<Dur>,
        /// Return a message to its sender when it could not be delivered
        /// for this long (default "30min").
        #[serde(default)]
        give_up: Option<Dur>,
        /// The largest message accepted (default "10MB").
        #[serde(default)]
        max_size: Option<Size>,
        /// TLS: `Offer` advertises STARTTLS (SMTP, IMAP) and STLS (POP3);
        /// `Require` also refuses AUTH and LOGIN until the client has
        /// started TLS. Certificates come from the scenario's own CA. The
        /// server's SMTP client uses STARTTLS whenever a peer offers it.
        #[serde(default)]
        tls: Option<TlsMode>,
    },
    /// A name server (UDP port 53) authoritative for the records given.
    DnsServer {
        #[serde(default)]
        records: Vec<RecordSpec>,
    },
    /// A file server: FTP (and, if asked, HTTP and SCP) over one file
    /// tree with user accounts.
    FileServer {
        /// Accounts; each user sees only their home directory.
        #[serde(default)]
        users: Vec<FileUserSpec>,
        /// Files present at the start (paths in the server's whole tree).
        #[serde(default)]
        files: Vec<FileSpec>,
        /// The protocols it speaks (default `[Ftp]`).
        #[serde(default = "default_file_services")]
        serves: Vec<FileService>,
        /// The directory HTTP serves as `/` (default `/`).
        #[serde(default)]
        web_root: Option<String>,
        /// How long an FTP data connection may take to open before the
        /// server answers 425 (default "10s").
        #[serde(default)]
        data_timeout: Option<Dur>,
        /// FTP over TLS (RFC 4217): `Offer` answers AUTH TLS, PBSZ and
        /// PROT; `Require` also refuses USER and PASS before TLS.
        #[serde(default)]
        tls: Option<TlsMode>,
    },
    /// A web server: HTTP GET and HEAD for its files, nothing else.
    WebServer {
        #[serde(default)]
        files: Vec<FileSpec>,
    },
    /// A passive listener on a link (the textbooks' Trudy): it needs no
    /// link of its own and reports what it could read.
    Eavesdropper {
        /// The two ends of the link it taps.
        link: (String, String),
    },
}

impl Role {
    /// The name used in messages.
    pub fn name(&self) -> &'static str {
        match self {
            Role::Client => "Client",
            Role::Router => "Router",
            Role::Server => "Server",
            Role::FileServer { .. } => "FileServer",
            Role::WebServer { .. } => "WebServer",
            Role::Eavesdropper { .. } => "Eavesdropper",
            Role::MailServer { .. } => "MailServer",
            Role::DnsServer { .. } => "DnsServer",
        }
    }

    pub fn is_mail_server(&self) -> bool {
        matches!(self, Role::MailServer { .. })
    }

    pub fn is_dns_server(&self) -> bool {
        matches!(self, Role::DnsServer { .. })
    }

    /// The users of a mail server (none for other roles).
    pub fn users(&self) -> &[UserSpec] {
        match self {
            Role::MailServer { users, .. } => users,
            _ => &[],
        }
    }

    /// The domains of a mail server (none for other roles).
    pub fn domains(&self) -> &[String] {
        match self {
            Role::MailServer { domains, .. } => domains,
            _ => &[],
        }
    }
}

/// A service a host runs.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub enum ServiceSpec {
    /// The discard service (RFC 863): reads and throws away, counting the
    /// bytes and hashing them.
    Discard {
        #[serde(default = "discard_port")]
        port: u16,
    },
}

fn discard_port() -> u16 {
    9
}

impl ServiceSpec {
    pub fn name(&self) -> &'static str {
        match self {
            ServiceSpec::Discard { .. } => "Discard",
        }
    }
}

/// A host's inbound filter.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, rename = "Firewall")]
pub struct FirewallSpec {
    /// Drop connection attempts from outside.
    #[serde(default = "default_true")]
    pub block_inbound: bool,
    /// Ports that stay open anyway.
    #[serde(default)]
    pub allow: Vec<u16>,
}

/// A link between two nodes.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename = "Link")]
pub struct LinkSpec {
    pub a: String,
    pub b: String,
    /// One-way propagation delay (default "1ms").
    #[serde(default)]
    pub latency: Option<Dur>,
    /// Bit rate (default "100Mbps").
    #[serde(default)]
    pub bandwidth: Option<Rate>,
    /// Packets each direction queues before dropping (default 100).
    #[serde(default)]
    pub queue: Option<usize>,
    /// Probability that a packet is lost, 0.0 to 1.0 (default 0).
    #[serde(default)]
    pub loss: f64,
    /// Probability that a packet arrives twice (default 0).
    #[serde(default)]
    pub duplicate: f64,
    /// Random extra delay up to this much per packet; reorders packets
    /// when larger than the gap between them (default none).
    #[serde(default)]
    pub jitter: Option<Dur>,
    /// Whether the link starts up (default true).
    #[serde(default = "default_true")]
    pub up: bool,
}

/// A pinned route: at `at`, packets addressed to `to` (any of its
/// addresses) leave on the link to the neighbour `via`, whatever the
/// shortest paths say. Only `at` is told: the next node routes as usual,
/// so routes that send packets round in a circle are allowed, and the
/// packets are dropped when their TTL runs out.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, rename = "Route")]
pub struct RouteSpec {
    /// The node whose route it is: a router, or a host for the packets
    /// it sends itself.
    pub at: String,
    /// The destination host.
    pub to: String,
    /// The neighbour of `at` the packets go to; with several links
    /// between them, the first of those that start up.
    pub via: String,
}

/// A scripted action.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename = "Action")]
pub struct ActionSpec {
    /// When it happens: a time...
    #[serde(default)]
    pub at: Option<Dur>,
    /// ...or right after the first event that matches this pattern.
    #[serde(default)]
    pub after: Option<Pattern>,
    /// With `after`: how long after the event (default at once).
    #[serde(default)]
    pub wait: Option<Dur>,
    /// The host whose user or program acts.
    pub host: String,
    /// What it does.
    #[serde(rename = "do")]
    pub what: ActionKind,
}

/// What an action does.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub enum ActionKind {
    /// Open a TCP connection, send `bytes` and close.
    TcpSend { to: String, port: u16, bytes: Size },
    /// The user writes a message and the user agent submits it to the
    /// account's mail server (port 587, AUTH).
    SendMail {
        /// The address of one of the host's accounts.
        from: String,
        to: Vec<String>,
        #[serde(default)]
        cc: Vec<String>,
        subject: String,
        #[serde(default)]
        body: String,
    },
    /// The user agent fetches the account's mail.
    FetchMail {
        /// The address of one of the host's accounts.
        account: String,
        #[serde(default)]
        protocol: MailProtocol,
        /// Delete what was fetched from the server (default true); with
        /// false only new messages are fetched and all stay there.
        /// POP3 only: with IMAP, use `Delete` steps.
        #[serde(default = "default_true")]
        delete: bool,
        /// IMAP only: what the user does in the session, in order (see
        /// [`ImapStepSpec`]). Without steps the user agent selects the
        /// INBOX, searches for unseen mail and reads it. The session
        /// starts with `Login` and ends with `Logout` even when they are
        /// not written.
        #[serde(default)]
        steps: Vec<ImapStepSpec>,
    },
    /// An FTP session: log in, run the steps, QUIT.
    Ftp {
        server: String,
        user: String,
        password: String,
        /// Who opens the data connections (default Passive).
        #[serde(default)]
        mode: FtpMode,
        /// Use EPSV/EPRT (RFC 2428) instead of PASV/PORT.
        #[serde(default)]
        extended: bool,
        /// AUTH TLS first, then PBSZ 0 and PROT P: the login and every
        /// data connection over TLS (the server must offer it).
        #[serde(default)]
        tls: bool,
        #[serde(default)]
        steps: Vec<FtpStep>,
    },
    /// HTTP GET of each path, in order, over one connection.
    HttpGet {
        server: String,
        paths: Vec<String>,
        /// HTTPS: TLS on port 443 (the server must offer TLS).
        #[serde(default)]
        tls: bool,
    },
    /// `scp LOCAL user@server:REMOTE`.
    ScpUpload {
        server: String,
        user: String,
        password: String,
        local: FileSpec,
        remote: String,
    },
    /// `scp user@server:REMOTE .`.
    ScpDownload {
        server: String,
        user: String,
        password: String,
        remote: String,
    },
    /// `telnet server`: log in, type each shell command (`ls`, `cat
    /// FILE`, `cd DIR`, `pwd`) one key at a time, then `exit`.
    Telnet {
        server: String,
        user: String,
        password: String,
        #[serde(default)]
        commands: Vec<String>,
    },
}

impl ActionKind {
    pub fn name(&self) -> &'static str {
        match self {
            ActionKind::TcpSend { .. } => "TcpSend",
            ActionKind::SendMail { .. } => "SendMail",
            ActionKind::FetchMail { .. } => "FetchMail",
            ActionKind::Ftp { .. } => "Ftp",
            ActionKind::HttpGet { .. } => "HttpGet",
            ActionKind::ScpUpload { .. } => "ScpUpload",
            ActionKind::ScpDownload { .. } => "ScpDownload",
            ActionKind::Telnet { .. } => "Telnet",
        }
    }
}

/// A scripted fault.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename = "Fault")]
pub struct FaultSpec {
    /// When it happens: a time...
    #[serde(default)]
    pub at: Option<Dur>,
    /// ...or right after the first event that matches this pattern.
    #[serde(default)]
    pub after: Option<Pattern>,
    /// With `after`: how long after the event (default at once).
    #[serde(default)]
    pub wait: Option<Dur>,
    #[serde(rename = "do")]
    pub what: FaultKind,
}

/// What a fault does.
#[derive(Debug, Clone, Deserialize, PartialEq)]
pub enum FaultKind {
    /// The link between the two nodes goes down.
    LinkDown(String, String),
    /// The link between the two nodes comes back.
    LinkUp(String, String),
    /// The link's loss probability becomes the given value.
    SetLoss(String, String, f64),
    /// The host crashes.
    HostDown(String),
    /// The host restarts.
    HostUp(String),
    /// The link's one-way delay becomes the given duration.
    SetLatency(String, String, Dur),
    /// The packet with this id (the number the trace shows, `packet 12`)
    /// is lost on the next link it crosses.
    DropPacket(u64),
}

/// A caption at a time.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename = "Narration")]
pub struct NarrationSpec {
    /// When it shows: a time...
    #[serde(default)]
    pub at: Option<Dur>,
    /// ...or with the first event that matches this pattern.
    #[serde(default)]
    pub after: Option<Pattern>,
    /// With `after`: how long after the event (default at once).
    #[serde(default)]
    pub wait: Option<Dur>,
    pub text: String,
}

/// When a scripted action, fault or caption happens.
#[derive(Debug, Clone, PartialEq)]
pub enum When {
    /// At a time of the run.
    At(Dur),
    /// `wait` after the first event matching the pattern.
    After { pattern: Pattern, wait: Dur },
}

/// The `at`/`after`/`wait` fields of a scripted item, as a [`When`]; `None`
/// if they do not say exactly one of a time or an event (validation
/// reports that).
pub fn when(at: &Option<Dur>, after: &Option<Pattern>, wait: &Option<Dur>) -> Option<When> {
    match (at, after) {
        (Some(t), None) if wait.is_none() => Some(When::At(*t)),
        (None, Some(p)) => Some(When::After {
            pattern: p.clone(),
            wait: wait.unwrap_or_default(),
        }),
        _ => None,
    }
}

impl ActionSpec {
    pub fn when(&self) -> Option<When> {
        when(&self.at, &self.after, &self.wait)
    }
}

impl FaultSpec {
    pub fn when(&self) -> Option<When> {
        when(&self.at, &self.after, &self.wait)
    }
}

impl NarrationSpec {
    pub fn when(&self) -> Option<When> {
        when(&self.at, &self.after, &self.wait)
    }
}

/// How a server uses TLS.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum TlsMode {
    /// STARTTLS is offered; plain sessions still work.
    Offer,
    /// STARTTLS is offered and passwords are refused before it.
    Require,
}
