//! The entry points of the fuzz targets in `fuzz/`, one function per
//! target: each takes the bytes a fuzzer made up and feeds them to one
//! machine the way the network would, as a hostile client.
//!
//! They live in the library, not in `fuzz/`, so that the same code runs in
//! two places: under `cargo fuzz` (nightly, coverage-guided, see
//! `fuzz/README.md`), and in the ordinary test suite, where every seed of
//! `fuzz/corpus/` and every input that once broke a machine
//! (`tests/fuzz_regressions/`) is replayed on stable Rust.
//!
//! A target fails by panicking: the machine panicked, or broke one of the
//! conventions of [`crate::proto`] that the target checks (its state is
//! one of its `STATES`, and every change of state is an edge of its
//! `TRANSITIONS`, [`crate::proto::contract`]; after the peer closed, it
//! wants to close). No input may do that, whatever it is.
//!
//! Each target plays against a small world of its own, modelled on the
//! bundled scenarios (the accounts, mailboxes and files of
//! `scenarios/*.ron`), so that the seeds taken from the golden traces log
//! in and reach the interesting states:
//!
//! | target | machine | the fuzzer's bytes are |
//! | --- | --- | --- |
//! | `smtp_server` | [`SmtpServer`] | the client's lines |
//! | `pop3_server` | [`Pop3Server`] | the client's lines |
//! | `imap_server` | [`ImapServer`] | the client's lines |
//! | `dns_server` | [`DnsServer`] | one query datagram |
//! | `ftp_server` | [`FtpServer`] | control lines, and data-connection events (see [`ftp_server`]) |
//! | `http_server` | [`HttpServer`] | the client's lines |
//! | `scp_server` | [`ScpServer`] | the raw SSH byte stream |
//! | `scp_session` | [`ScpServer`] | SSH messages after the key exchange (see [`scp_session`]) |
//! | `telnet_server` | [`TelnetServer`] | the raw TELNET byte stream |
//! | `tls_server` | [`TlsLayer`] | the raw TLS byte stream |
//! | `tcp_segments` | [`TcpConnection`] | segments and calls, after a set-up to each state (see [`tcp`]) |
//! | `scenario_load` | [`scenario::parse_bytes`] | a scenario file |

pub mod tcp;

use std::net::{IpAddr, Ipv4Addr, SocketAddrV4};
use std::sync::{Arc, OnceLock};

use bytes::Bytes;

use crate::apps::files::{ScpView, WebView};
use crate::apps::mail::MailStore;
use crate::apps::vfs::{Account, VPath, Vfs};
use crate::proto::contract::Walk;
use crate::proto::dns::{self, DnsServer, Zone};
use crate::proto::ftp::{DataPorts, DataRequest, FtpServer, FtpServerConfig};
use crate::proto::http::HttpServer;
use crate::proto::imap::{ImapConfig, ImapServer};
use crate::proto::pop3::{Pop3Config, Pop3Server};
use crate::proto::scp::ScpServer;
use crate::proto::smtp::{Reply, SmtpBackend, SmtpConfig, SmtpServer, server::ReceivedMessage};
use crate::proto::ssh::cipher::CipherName;
use crate::proto::ssh::kex::HostKey;
use crate::proto::ssh::transport::{Event, Transport};
use crate::proto::telnet::{TelnetConfig, TelnetServer};
use crate::proto::tls::{self, TlsLayer, pki::ScenarioPki};
use crate::proto::{Session, Transcript};
use crate::proto::{ftp, http, imap, pop3, scp, smtp, telnet};
use crate::scenario;

pub use tcp::tcp_segments;

/// The time of every target's world: Mon, 02 Mar 2026 14:05:09 UTC.
pub const NOW: i64 = 1_772_460_309;
/// The client's address, as the servers see it.
pub const CLIENT_IP: Ipv4Addr = Ipv4Addr::new(10, 0, 1, 2);
/// The SCP server's host key secret (`scp_server`, `scp_session`).
pub const SSH_HOST_SECRET: [u8; 32] = [0x42; 32];
/// The seed of the SCP server's randomness.
pub const SSH_SERVER_SEED: [u8; 32] = [0x17; 32];
/// The seed of the SSH client that `scp_session` logs in with. A seed
/// file for `scp_server` made by a client with this seed replays its
/// whole session, encrypted part included.
pub const SSH_CLIENT_SEED: [u8; 32] = [0x99; 32];
/// The seed of the TLS server's randomness (`tls_server`).
pub const TLS_SERVER_SEED: [u8; 32] = [0x21; 32];
/// The scenario seed of the TLS server's certificate authority.
pub const TLS_PKI_SEED: u64 = 7;
/// The TLS server's host name, on its certificate.
pub const TLS_HOST: &str = "files";

/// One fuzz target: its name (the file `fuzz/fuzz_targets/NAME.rs` and the
/// folders `fuzz/corpus/NAME/` and `tests/fuzz_regressions/NAME/`) and
/// the function it runs.
#[derive(Clone, Copy)]
pub struct Target {
    pub name: &'static str,
    pub run: fn(&[u8]),
}

/// Every fuzz target.
pub const TARGETS: &[Target] = &[
    Target {
        name: "smtp_server",
        run: smtp_server,
    },
    Target {
        name: "pop3_server",
        run: pop3_server,
    },
    Target {
        name: "imap_server",
        run: imap_server,
    },
    Target {
        name: "dns_server",
        run: dns_server,
    },
    Target {
        name: "ftp_server",
        run: ftp_server,
    },
    Target {
        name: "http_server",
        run: http_server,
    },
    Target {
        name: "scp_server",
        run: scp_server,
    },
    Target {
        name: "scp_session",
        run: scp_session,
    },
    Target {
        name: "telnet_server",
        run: telnet_server,
    },
    Target {
        name: "tls_server",
        run: tls_server,
    },
    Target {
        name: "tcp_segments",
        run: tcp_segments,
    },
    Target {
        name: "scenario_load",
        run: scenario_load,
    },
];

/// The client's input cut after each LF, as a client that sends one line
/// at a time delivers it; what follows the last LF comes last.
fn lines(data: &[u8]) -> impl Iterator<Item = &[u8]> {
    data.split_inclusive(|&b| b == b'\n')
}

/// What a driver does after every input: sends everything, records the
/// transcript, and for STARTTLS/STLS plays the driver that put TLS in
/// place (so the secure half of the dialogue is reachable too). Checks
/// that the machine's state is one of its `STATES` and that every change
/// is an edge of its `TRANSITIONS` (`proto::contract`): each input is one
/// line, and one line makes at most one change.
fn pump(s: &mut dyn Session, walk: &mut Walk) {
    pump_by(s, walk, 1);
}

/// [`pump`] for a machine whose one input may make a few changes: a
/// TELNET line ends at CR as well as LF, and the FTP server runs the
/// commands it queued during a transfer as soon as the transfer ends.
/// Each change must still follow a way of at most three edges.
fn pump_within(s: &mut dyn Session, walk: &mut Walk) {
    pump_by(s, walk, 3);
}

/// Drains `s` and walks it: its state must be reached from the last one
/// by a way of at most `max_edges` edges; the TLS restart is one edge.
fn pump_by(s: &mut dyn Session, walk: &mut Walk, max_edges: usize) {
    while s.poll_output().is_some() {}
    while let Some(t) = s.poll_transcript() {
        check_transcript(&t);
    }
    if let Err(e) = walk.step_within(s.state_name(), max_edges) {
        panic!("{e}");
    }
    if s.take_starttls() {
        s.tls_started();
        while s.poll_output().is_some() {}
        walk.expect_step(s.state_name());
    }
}

/// A walk of `s` through the diagram of `states` and `table`, from where
/// it stands.
fn walk(
    s: &dyn Session,
    machine: &'static str,
    states: &'static [&'static str],
    table: &'static [crate::proto::Transition],
) -> Walk {
    Walk::new(machine, states, table, s.state_name())
}

fn check_transcript(t: &Transcript) {
    // Formatting is what the trace does with every line.
    let _ = format!("{t:?}");
}

/// The end of every session: the peer goes away, and the machine must
/// then want to close.
fn hang_up(s: &mut dyn Session, walk: &mut Walk) {
    s.handle_close();
    while s.poll_output().is_some() {}
    while s.poll_transcript().is_some() {}
    assert!(s.wants_close(), "still open after the peer closed");
    walk.expect_hung_up(s.state_name());
}

// ----------------------------------------------------------------------
// Mail: SMTP, POP3, IMAP
// ----------------------------------------------------------------------

/// The mail domain of the mail targets.
pub const MAIL_DOMAIN: &str = "hamburger.edu";
/// The mail accounts (user, password), as in the bundled mail scenarios.
pub const MAIL_USERS: &[(&str, &str)] = &[
    ("alice", "croissant"),
    ("bob", "hungry"),
    ("user1", "dialup"),
    ("user2", "at-work"),
];

/// A mail store for [`MAIL_DOMAIN`] with [`MAIL_USERS`] and two messages
/// in each INBOX.
pub fn mail_store() -> MailStore {
    let mut store = MailStore::new(&[MAIL_DOMAIN.to_string()]);
    for (user, password) in MAIL_USERS {
        store.add_user(user, password).expect("distinct users");
        for (i, subject) in ["Searching for the meaning of life.", "Lunch?"]
            .iter()
            .enumerate()
        {
            let message = format!(
                "From: carol@crepes.fr\r\nTo: {user}@{MAIL_DOMAIN}\r\nSubject: {subject}\r\n\
                 Date: Mon, 02 Mar 2026 14:0{i}:00 +0000\r\n\r\nLine one.\r\n.dotted\r\n"
            );
            store
                .deliver(user, message.into_bytes(), NOW - 60)
                .expect("a local user");
        }
    }
    store
}

/// The SMTP server's backend: local delivery into a [`MailStore`].
struct Intake<'a> {
    store: &'a mut MailStore,
    next_id: u32,
}

impl SmtpBackend for Intake<'_> {
    fn is_local_domain(&self, domain: &str) -> bool {
        self.store.is_local_domain(domain)
    }
    fn user_exists(&self, local_part: &str, _domain: &str) -> bool {
        self.store.user_exists(local_part)
    }
    fn check_password(&mut self, user: &str, password: &str) -> bool {
        self.store.check_password(user, password)
    }
    fn next_queue_id(&mut self) -> String {
        self.next_id += 1;
        format!("Q{:04}", self.next_id)
    }
    fn accept_message(&mut self, message: ReceivedMessage) -> Result<(), Reply> {
        for rcpt in &message.recipients {
            if self.store.is_local_domain(&rcpt.domain) {
                // A recipient the server accepted is one the store has.
                let _ = self
                    .store
                    .deliver(&rcpt.local_part, message.data.clone(), NOW);
            }
        }
        Ok(())
    }
}

/// SMTP: the client's lines to a mail exchanger that offers AUTH and
/// STARTTLS.
pub fn smtp_server(data: &[u8]) {
    let mut store = mail_store();
    let mut backend = Intake {
        store: &mut store,
        next_id: 0,
    };
    let mut config = SmtpConfig::new("mail.hamburger.edu");
    config.starttls = true;
    let mut s = SmtpServer::new(config, IpAddr::V4(CLIENT_IP));
    let mut w = walk(&s, "smtp server", smtp::STATES, smtp::TRANSITIONS);
    pump(&mut s, &mut w);
    for line in lines(data) {
        s.handle_input(line, &mut backend, NOW);
        pump(&mut s, &mut w);
    }
    hang_up(&mut s, &mut w);
}

/// POP3: the client's lines to a server that offers STLS. The maildrop
/// lock is released whatever the client did.
pub fn pop3_server(data: &[u8]) {
    let mut store = mail_store();
    let mut config = Pop3Config::new("mail.hamburger.edu");
    config.stls = true;
    let mut s = Pop3Server::new(config);
    let mut w = walk(&s, "pop3 server", pop3::STATES, pop3::TRANSITIONS);
    pump(&mut s, &mut w);
    for line in lines(data) {
        s.handle_input(line, &mut store);
        pump(&mut s, &mut w);
    }
    s.handle_close_with(&mut store);
    hang_up(&mut s, &mut w);
    assert!(
        store.users().all(|u| !u.is_locked()),
        "a maildrop is still locked after the session"
    );
}

/// IMAP: the client's lines (literals included) to a server that offers
/// STARTTLS, with small line and literal limits so that the limits are
/// reached too.
pub fn imap_server(data: &[u8]) {
    let mut store = mail_store();
    let mut s = ImapServer::new(ImapConfig {
        hostname: "mail.hamburger.edu".into(),
        max_line: 2048,
        max_literal: 4096,
        starttls: true,
        ..ImapConfig::default()
    });
    let mut w = walk(&s, "imap server", imap::STATES, imap::TRANSITIONS);
    pump(&mut s, &mut w);
    for line in lines(data) {
        s.handle_input(line, &mut store, NOW);
        pump(&mut s, &mut w);
        // Other sessions change the mailbox too: tell this one.
        s.handle_mailbox_changed(&mut store);
        pump(&mut s, &mut w);
    }
    hang_up(&mut s, &mut w);
}

// ----------------------------------------------------------------------
// DNS
// ----------------------------------------------------------------------

/// The zone of `dns_server`: the mail domains of the bundled scenarios.
pub fn dns_zone() -> Zone {
    let mut zone = Zone::new();
    for (name, addr) in [
        ("dns.crepes.fr", [10, 0, 4, 2]),
        ("mail.crepes.fr", [10, 0, 2, 2]),
        ("mail.hamburger.edu", [10, 0, 5, 2]),
        ("backup.hamburger.edu", [10, 0, 5, 3]),
    ] {
        zone.add_a(name, Ipv4Addr::from(addr))
            .expect("a valid name");
    }
    zone.add_mx("crepes.fr", 10, "mail.crepes.fr")
        .expect("a valid name");
    zone.add_mx("hamburger.edu", 10, "mail.hamburger.edu")
        .expect("a valid name");
    zone.add_mx("hamburger.edu", 20, "backup.hamburger.edu")
        .expect("a valid name");
    zone
}

/// DNS: one query datagram to the server; the query and the answer are
/// also read the ways the trace and the resolver read datagrams.
pub fn dns_server(data: &[u8]) {
    let server = DnsServer::new(dns_zone());
    let _ = dns::describe(data);
    let _ = dns::client::parse_query(data);
    if let Some(answer) = server.handle_datagram(data) {
        let _ = dns::describe(&answer);
        let _ = dns::client::parse_response(&answer);
    }
    // The resolver reads whatever comes back to its port, too.
    let _ = dns::client::parse_response(data);
}

// ----------------------------------------------------------------------
// Files: FTP, HTTP, SCP, TELNET
// ----------------------------------------------------------------------

/// The file server's accounts (user, password), as in the bundled file
/// scenarios. `guest` is read-only with `/pub` as home.
pub const FILE_USERS: &[(&str, &str)] = &[
    ("alice", "wonderland"),
    ("bob", "correct-horse-battery-staple"),
    ("carol", "tiramisu"),
    ("guest", "guest"),
];

/// The file server's tree: a home per user, a few files, a quota on
/// carol's home so uploads can exceed it.
pub fn file_tree() -> Vfs {
    let mut vfs = Vfs::new();
    let path = |p: &str| VPath::parse(p).expect("a valid path");
    for (user, password) in FILE_USERS {
        let home = if *user == "guest" {
            "/pub".to_string()
        } else {
            format!("/{user}")
        };
        vfs.mkdir_all(&path(&home), NOW - 3600).expect("a new tree");
        let mut account = Account::new(password, path(&home));
        account.read_only = *user == "guest";
        if *user == "carol" {
            account.quota = Some(1024);
        }
        vfs.add_user(user, account, NOW - 3600)
            .expect("distinct users");
    }
    for (file, text) in [
        ("/alice/report.txt", "Quarterly report\nSales are up.\n"),
        ("/alice/docs/index.html", "<h1>Alice</h1>\n"),
        ("/bob/payroll.txt", "Payroll: Alice 5100, Bob 4900\n"),
        ("/carol/budget.txt", "Budget 2026\n"),
        ("/pub/readme.txt", "Welcome, guest.\n"),
        ("/index.html", "<h1>wiretale</h1>\n"),
    ] {
        let p = path(file);
        vfs.mkdir_all(&p.parent(), NOW - 3600).expect("a new tree");
        vfs.put_file(&p, Bytes::from(text), NOW - 1800)
            .expect("a new file");
    }
    vfs.put_file(
        &path("/alice/sales.dat"),
        crate::apps::vfs::generate_bytes(7, 20_000),
        NOW - 1800,
    )
    .expect("a new file");
    vfs
}

/// The data ports of the FTP target: every listener gets the same
/// address.
struct Ports {
    listening: bool,
}

impl DataPorts for Ports {
    fn open_listener(&mut self) -> Option<SocketAddrV4> {
        self.listening = true;
        Some(SocketAddrV4::new(Ipv4Addr::new(10, 0, 2, 2), 50_000))
    }
}

/// In `ftp_server`'s input, a line starting with this byte: the data
/// connection failed.
pub const FTP_DATA_FAILED: u8 = 0x02;
/// A line starting with this byte: the rest of the line arrives on the
/// data connection (an upload).
pub const FTP_DATA_BYTES: u8 = 0x03;
/// A line starting with this byte: the client closed the data connection
/// (the end of an upload).
pub const FTP_DATA_CLOSED: u8 = 0x04;

/// FTP: the client's control lines to a server that offers AUTH TLS. The
/// data connection behaves like a client's: a connection the server asks
/// for opens at once, a passive listener is connected to after the next
/// command, and downloads are read to the end. Lines that start with
/// [`FTP_DATA_FAILED`], [`FTP_DATA_BYTES`] or [`FTP_DATA_CLOSED`] are
/// data-connection events instead of commands.
pub fn ftp_server(data: &[u8]) {
    let mut vfs = file_tree();
    let mut ports = Ports { listening: false };
    let mut s = FtpServer::new(FtpServerConfig {
        client_ip: Some(CLIENT_IP),
        tls: true,
        max_upload: 64 * 1024,
        ..FtpServerConfig::default()
    });
    let mut w = walk(&s, "ftp server", ftp::STATES, ftp::TRANSITIONS);
    pump_within(&mut s, &mut w);
    for line in lines(data) {
        match line.first() {
            Some(&FTP_DATA_FAILED) => s.handle_data_failed(&mut vfs, &mut ports, NOW),
            Some(&FTP_DATA_BYTES) => s.handle_data_input(&line[1..]),
            Some(&FTP_DATA_CLOSED) => s.handle_data_closed(&mut vfs, &mut ports, NOW),
            _ => {
                let was_listening = std::mem::take(&mut ports.listening);
                s.handle_input(line, &mut vfs, &mut ports, NOW);
                if was_listening {
                    s.handle_data_connected(&mut vfs, &mut ports, NOW);
                }
            }
        }
        // Serve the data connection's requests until there are none.
        for _ in 0..64 {
            let Some(request) = s.poll_data_request() else {
                break;
            };
            match request {
                DataRequest::Connect { .. } => s.handle_data_connected(&mut vfs, &mut ports, NOW),
                DataRequest::Send(_) | DataRequest::Abort => {}
                DataRequest::Close => s.handle_data_sent(&mut vfs, &mut ports, NOW),
            }
        }
        pump_within(&mut s, &mut w);
    }
    hang_up(&mut s, &mut w);
}

/// HTTP: the client's lines to the web server of [`file_tree`] (its root
/// is the whole tree).
pub fn http_server(data: &[u8]) {
    let vfs = file_tree();
    let root = VPath::root();
    let web = WebView {
        vfs: &vfs,
        root: &root,
    };
    let mut s = HttpServer::new();
    let mut w = walk(&s, "http server", http::STATES, http::TRANSITIONS);
    for line in lines(data) {
        s.handle_input(line, &web, NOW);
        pump(&mut s, &mut w);
    }
    hang_up(&mut s, &mut w);
}

/// The SCP server of both SCP targets.
pub fn scp_server_machine() -> ScpServer {
    ScpServer::new(SSH_HOST_SECRET, SSH_SERVER_SEED)
}

/// The public half of [`SSH_HOST_SECRET`], as a client's `known_hosts`.
pub fn ssh_host_public_key() -> [u8; 32] {
    HostKey::from_seed(&SSH_HOST_SECRET).public()
}

/// Feeds `data` to `server` as the file server does: through a view of
/// the tree as the user it authenticated (none yet before the login).
fn scp_feed(server: &mut ScpServer, vfs: &mut Vfs, data: &[u8]) {
    let user = server.user().map(str::to_string);
    let mut view = ScpView::new(vfs, user, NOW);
    server.handle_input(data, &mut view);
}

/// SCP over SSH: the raw byte stream from the client (version line, key
/// exchange, then encrypted packets). A session recorded from a client
/// with [`SSH_CLIENT_SEED`] replays whole, since both ends draw the same
/// randomness; mutations of its encrypted part reach the MAC checks.
pub fn scp_server(data: &[u8]) {
    let mut vfs = file_tree();
    let mut s = scp_server_machine();
    let mut w = walk(&s, "scp server", scp::STATES, scp::TRANSITIONS);
    pump(&mut s, &mut w);
    scp_feed(&mut s, &mut vfs, data);
    // The whole stream comes at once, so the server may pass through
    // several states (key exchange, login, the command) in one feed: any
    // way through the diagram will do, but it must be a way.
    pump_by(&mut s, &mut w, scp::STATES.len());
    hang_up(&mut s, &mut w);
}

/// The messages of `scp_session`'s input: each is a 16-bit big-endian
/// length and that many bytes; a short last one takes what is left.
pub fn split_messages(data: &[u8]) -> Vec<&[u8]> {
    let mut out = Vec::new();
    let mut rest = data;
    while rest.len() >= 2 {
        let len = usize::from(u16::from_be_bytes([rest[0], rest[1]]));
        let body = &rest[2..];
        let len = len.min(body.len());
        out.push(&body[..len]);
        rest = &body[len..];
    }
    out
}

/// The inverse of [`split_messages`], for making seeds.
pub fn join_messages<'a>(messages: impl IntoIterator<Item = &'a [u8]>) -> Vec<u8> {
    let mut out = Vec::new();
    for m in messages {
        let len = u16::try_from(m.len()).expect("a message under 64 KiB");
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(m);
    }
    out
}

/// An SSH client's transport after the key exchange with
/// [`scp_server_machine`]: the point from which `scp_session` sends the
/// fuzzer's messages.
#[derive(Clone)]
pub struct SshPipe {
    pub client: Transport,
    pub server: ScpServer,
    pub vfs: Vfs,
    /// The client saw `Disconnected`, or its transport closed.
    pub closed: bool,
    /// Every byte the client sent, in order: a session for `scp_server`.
    pub sent: Vec<u8>,
}

impl SshPipe {
    /// Both ends after the key exchange; the client may authenticate
    /// afterwards. Both ends' randomness is fixed ([`SSH_CLIENT_SEED`],
    /// [`SSH_SERVER_SEED`]), so every key exchange is the same one, byte
    /// for byte: it runs once per process, and each call gets a copy of
    /// both ends as they stand after it (the same keys, sequence numbers
    /// and randomness to come). The exchange's public-key operations cost
    /// far more than anything a fuzzed message makes the server do.
    pub fn connect() -> SshPipe {
        static CONNECTED: OnceLock<SshPipe> = OnceLock::new();
        CONNECTED.get_or_init(SshPipe::key_exchange).clone()
    }

    /// Runs the key exchange between fresh ends.
    fn key_exchange() -> SshPipe {
        let mut pipe = SshPipe {
            client: Transport::client(
                Some(ssh_host_public_key()),
                &CipherName::ALL,
                SSH_CLIENT_SEED,
            ),
            server: scp_server_machine(),
            vfs: file_tree(),
            closed: false,
            sent: Vec::new(),
        };
        let ready = pipe.exchange();
        assert!(ready, "the key exchange did not complete");
        pipe
    }

    /// Moves bytes both ways until neither side has anything to say; true
    /// if the client's transport became ready meanwhile.
    pub fn exchange(&mut self) -> bool {
        let mut ready = false;
        loop {
            let mut moved = false;
            while let Some(bytes) = self.client.poll_output() {
                self.sent.extend_from_slice(&bytes);
                scp_feed(&mut self.server, &mut self.vfs, &bytes);
                moved = true;
            }
            while let Some(bytes) = self.server.poll_output() {
                self.client.handle_input(&bytes);
                moved = true;
            }
            while self.server.poll_transcript().is_some() {}
            while let Some(event) = self.client.poll_event() {
                match event {
                    Event::Ready => ready = true,
                    Event::Message { .. } => {}
                    Event::Disconnected { .. } => self.closed = true,
                }
            }
            if self.client.is_closed() {
                self.closed = true;
            }
            if !moved {
                return ready;
            }
        }
    }

    /// Sends one message payload (any bytes) and lets both sides answer.
    pub fn send(&mut self, payload: &[u8]) {
        self.client.send(payload.to_vec());
        self.exchange();
        let state = self.server.state_name();
        assert!(
            crate::proto::scp::STATES.contains(&state),
            "state {state:?} is not in STATES"
        );
    }
}

/// SCP over SSH, past the encryption: after a real key exchange, each
/// message of the input (see [`split_messages`]) is one SSH message
/// payload the client sends, encrypted: authentication, channels, `exec`,
/// and the SCP protocol in channel data.
pub fn scp_session(data: &[u8]) {
    let mut pipe = SshPipe::connect();
    let mut w = walk(&pipe.server, "scp server", scp::STATES, scp::TRANSITIONS);
    for payload in split_messages(data) {
        if pipe.closed {
            break;
        }
        pipe.send(payload);
        w.expect_step(pipe.server.state_name());
    }
    hang_up(&mut pipe.server, &mut w);
}

/// The accounts of `telnet_server`, as in the bundled TELNET scenario.
pub const TELNET_USERS: &[(&str, &str)] = &[("alice", "croissant"), ("bob", "builder")];

/// TELNET: the raw byte stream from the client, option negotiation and
/// keystrokes alike, fed as it arrives (cut after each LF).
pub fn telnet_server(data: &[u8]) {
    let mut vfs = file_tree();
    for (user, password) in TELNET_USERS {
        let home = VPath::parse(&format!("/{user}")).expect("a valid path");
        // The telnet accounts replace the file server's.
        let _ = vfs.add_user(user, Account::new(password, home), NOW);
    }
    let mut s = TelnetServer::new(TelnetConfig::new("files"));
    let mut w = walk(&s, "telnet server", telnet::STATES, telnet::TRANSITIONS);
    pump_within(&mut s, &mut w);
    for chunk in lines(data) {
        s.handle_input(chunk, &mut vfs);
        while s.poll_event().is_some() {}
        pump_within(&mut s, &mut w);
    }
    hang_up(&mut s, &mut w);
}

// ----------------------------------------------------------------------
// TLS
// ----------------------------------------------------------------------

/// The certificate authority of `tls_server`'s world.
pub fn tls_pki() -> &'static ScenarioPki {
    static PKI: OnceLock<ScenarioPki> = OnceLock::new();
    PKI.get_or_init(|| ScenarioPki::new(TLS_PKI_SEED, "fuzzing").expect("a CA"))
}

/// The server configuration of `tls_server` (made once: certificates take
/// a while), its clock at [`NOW`].
pub fn tls_server_config() -> Arc<rustls::ServerConfig> {
    static CONFIG: OnceLock<Arc<rustls::ServerConfig>> = OnceLock::new();
    CONFIG
        .get_or_init(|| {
            let cert = tls_pki().host_cert(TLS_HOST).expect("a certificate");
            tls::server_config(cert, Some(NOW as u64)).expect("a server configuration")
        })
        .clone()
}

/// A client configuration that trusts [`tls_pki`], for making seeds.
pub fn tls_client_config() -> Arc<rustls::ClientConfig> {
    tls::client_config(tls_pki(), Some(NOW as u64)).expect("a client configuration")
}

/// TLS: the raw byte stream from the client to a server end, fed as
/// records would arrive (the input cut after each LF, which lands
/// anywhere in binary records). What the client sends once the handshake
/// is done is echoed back encrypted, as a protocol machine above would
/// answer. A handshake recorded from a client whose seed is fixed
/// replays whole, since the server's randomness is [`TLS_SERVER_SEED`].
pub fn tls_server(data: &[u8]) {
    let mut layer =
        TlsLayer::server(tls_server_config(), Some(TLS_SERVER_SEED)).expect("a TLS server end");
    for chunk in lines(data) {
        let plaintext = layer.receive(chunk);
        if !plaintext.is_empty() && !layer.is_handshaking() {
            layer.send(&plaintext);
        }
        let _ = layer.take_output();
        while layer.poll_note().is_some() {}
        let _ = layer.error();
        let _ = layer.peer_closed();
    }
    layer.close();
    let _ = layer.take_output();
}

// ----------------------------------------------------------------------
// Scenarios
// ----------------------------------------------------------------------

/// The scenario loader: the bytes are a scenario file, read the way
/// `wiretale run FILE` reads one. A scenario that loads is also built
/// into a world (with its own seed), which must succeed; errors are
/// rendered as the CLI prints them.
pub fn scenario_load(data: &[u8]) {
    match scenario::parse_bytes("fuzz.ron", data) {
        Ok(s) => {
            if let Err(e) = scenario::build(&s, s.seed) {
                panic!("a scenario that loads does not build: {e:?}");
            }
        }
        Err(e) => {
            let _ = e.to_string();
        }
    }
}
