//! The file server application: FTP with its control and data connections,
//! and optionally HTTP, SCP and TELNET, all over one virtual file system.
//!
//! For FTP it carries out what the sans-IO [`FtpServer`] asks for the data
//! connection:
//!
//! - **active mode** (`DataRequest::Connect` after PORT/EPRT): it connects
//!   from port 20 (RFC 959 §3.2: the server's data port is L-1) to the
//!   address the client named;
//! - **passive mode** (`DataPorts::open_listener` during PASV/EPSV): it
//!   listens on a free port of [`PASSIVE_PORTS`](super::PASSIVE_PORTS),
//!   accepts exactly one connection there and stops listening.
//!
//! Either way a data connection that does not open within the data timeout
//! (a client behind a firewall that drops the server's SYN, a client that
//! never connects) is given up, and the machine answers 425. Each data
//! connection is reported in the trace (`data_listening`, `data_opened`,
//! `data_closed`, `data_failed` in layer `ftp`), with who opened it and
//! from which port, next to the control dialogue.

use super::events;
use super::{DataConn, Timers, listen_in_range, sha256_hex};
use crate::apps::tls::TlsConns;
use crate::apps::vfs::{EntryKind, VPath, Vfs, VfsError};
use crate::net::{AppCx, AppEvent, Application, ConnId, Inspect, SessionState};
use crate::proto::Session;
use crate::proto::Transcript;
use crate::proto::ftp::{
    self, DataPorts, DataRequest, FileError, FileInfo, FtpBackend, FtpServer, FtpServerConfig,
    TransferType,
};
use crate::proto::http::{self, HttpBackend, HttpServer};
use crate::proto::scp::{self, ScpBackend, ScpNode, ScpServer};
use crate::proto::telnet::{self, TelnetConfig, TelnetServer};
use crate::sim::SimDuration;
use crate::trace::{ConnName, EventKind, Layer, Party, Protocol, Value};
use bytes::Bytes;
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::sync::Arc;

/// Well-known ports of the services (RFC 959 §3.2; RFC 9110 §4.2.1;
/// RFC 4253 §4.1; RFC 854).
const FTP_PORT: u16 = ftp::CONTROL_PORT;
const HTTP_PORT: u16 = http::PORT;
const SCP_PORT: u16 = scp::PORT;
const TELNET_PORT: u16 = telnet::PORT;

/// What a file server runs and how.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileServerConfig {
    /// FTP on port 21.
    pub ftp: bool,
    /// HTTP on port 80.
    pub http: bool,
    /// SCP on port 22.
    pub scp: bool,
    /// TELNET on port 23: a login and a shell over the same files.
    pub telnet: bool,
    /// The directory of the file tree that HTTP serves as `/`.
    pub web_root: VPath,
    /// How long a data connection may take to open before 425.
    pub data_timeout: SimDuration,
    /// The ports passive-mode listeners use, inclusive.
    pub passive_ports: (u16, u16),
}

impl Default for FileServerConfig {
    /// FTP only, the web root at `/`, [`super::DATA_TIMEOUT`] and
    /// [`super::PASSIVE_PORTS`].
    fn default() -> Self {
        FileServerConfig {
            ftp: true,
            http: false,
            scp: false,
            telnet: false,
            web_root: VPath::root(),
            data_timeout: super::DATA_TIMEOUT,
            passive_ports: super::PASSIVE_PORTS,
        }
    }
}

/// One FTP session as the inspector and tests see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FtpSessionView {
    pub control: ConnId,
    /// The client's end of the control connection.
    pub client: SocketAddrV4,
    /// The user, once logged in.
    pub user: Option<String>,
    pub cwd: String,
    pub transfer_type: TransferType,
    /// The machine's state, one of [`ftp::STATES`].
    pub state: &'static str,
    /// The data connection's state, one of [`super::DATA_STATES`], if any.
    pub data: Option<&'static str>,
}

/// A finished data connection, for the inspector.
#[derive(Debug, Clone, PartialEq, Eq)]
struct DataRecord {
    /// "server" (active mode) or "client" (passive mode).
    opened_by: &'static str,
    server_port: u16,
    client: SocketAddrV4,
    sent: u64,
    received: u64,
}

/// The server's end of one FTP control connection and its data
/// connection, apart from the machine (so both can be borrowed at once).
#[derive(Debug)]
struct DataSide {
    control: ConnId,
    /// The client's end of the control connection.
    client: SocketAddrV4,
    /// Our address on the control connection: where passive clients go.
    local_ip: Ipv4Addr,
    data: DataConn,
    /// Bumped whenever a new data connection is set up, so that the
    /// timeout of an older one is recognised as stale.
    generation: u64,
    /// The pending timeout of a listener or connection attempt.
    timer: Option<u64>,
    /// A passive listener opened during the last machine call, reported
    /// after that call's transcript so the trace reads in order.
    listened: Option<u16>,
    /// Files stored during the last machine call (global paths).
    stored: Vec<VPath>,
    /// The socket pair (client, server) of the latest data connection:
    /// the connection the machine's content lines ("135 bytes of
    /// listing") travelled on.
    data_name: Option<ConnName>,
}

struct FtpSession {
    server: FtpServer,
    side: DataSide,
    /// We asked TCP to close the control connection.
    closing: bool,
}

/// What the app knows about a data connection while it exists.
#[derive(Debug, Clone)]
struct DataInfo {
    control: ConnId,
    opened_by: &'static str,
    server_port: u16,
    client: SocketAddrV4,
    sent: u64,
    received: u64,
}

/// A data-connection timeout.
#[derive(Debug, Clone, Copy)]
struct DataTimer {
    control: ConnId,
    generation: u64,
}

/// State shared by all FTP sessions of the server.
#[derive(Debug)]
struct Shared {
    /// Passive listeners: port -> the control connection waiting on it.
    listeners: BTreeMap<u16, ConnId>,
    /// Open data connections.
    data_conns: BTreeMap<ConnId, DataInfo>,
    next_passive: u16,
    passive_ports: (u16, u16),
    data_timeout: SimDuration,
    timers: Timers<DataTimer>,
    log: Vec<DataRecord>,
}

/// An HTTP, SCP or TELNET connection: its machine, the client's address,
/// and whether we asked TCP to close it.
struct Conn<S> {
    server: S,
    client: SocketAddrV4,
    closing: bool,
}

impl<S: Session> Conn<S> {
    fn new(server: S, client: SocketAddrV4) -> Conn<S> {
        Conn {
            server,
            client,
            closing: false,
        }
    }

    /// Traces the machine's dialogue, sends its output (through TLS when
    /// the connection has it: HTTPS) and closes the connection once the
    /// machine wants it closed.
    fn pump(&mut self, cx: &mut AppCx<'_>, conn: ConnId, layer: Layer, tls: &mut TlsConns) {
        while let Some(line) = self.server.poll_transcript() {
            cx.trace_dialogue(layer, conn, line);
        }
        while let Some(bytes) = self.server.poll_output() {
            tls.send(cx, conn, bytes);
        }
        if self.server.wants_close() {
            self.close(cx, conn, tls);
        }
    }

    /// The client closed its side: the machine has its last word, then we
    /// close ours.
    fn peer_closed(&mut self, cx: &mut AppCx<'_>, conn: ConnId, layer: Layer, tls: &mut TlsConns) {
        self.server.handle_close();
        self.pump(cx, conn, layer, tls);
        self.close(cx, conn, tls);
    }

    /// Closes once (close_notify first under TLS).
    fn close(&mut self, cx: &mut AppCx<'_>, conn: ConnId, tls: &mut TlsConns) {
        if !self.closing {
            self.closing = true;
            tls.close_now(cx, conn);
        }
    }
}

/// A file server: FTP (control and data connections), and optionally HTTP
/// and SCP, over one [`Vfs`].
pub struct FileServer {
    config: FileServerConfig,
    vfs: Vfs,
    /// The SCP host key, drawn from the run's random numbers at the first
    /// start and kept across crashes, like a key file on disk.
    host_secret: Option<[u8; 32]>,
    ftp: BTreeMap<ConnId, FtpSession>,
    http: BTreeMap<ConnId, Conn<HttpServer>>,
    scp: BTreeMap<ConnId, Conn<ScpServer>>,
    telnet: BTreeMap<ConnId, Conn<TelnetServer>>,
    shared: Shared,
    ftp_sessions_served: u64,
    /// FTP over TLS (AUTH TLS, PROT P), when the scenario asks for it.
    tls: Option<FileTls>,
    tls_conns: TlsConns,
}

/// A file server's TLS set-up: its certificate and whether it insists on
/// TLS before a password.
#[derive(Clone)]
pub struct FileTls {
    pub server: Arc<rustls::ServerConfig>,
    pub require: bool,
}

impl FileServer {
    /// Offers AUTH TLS on FTP (and, with `require`, refuses a login
    /// before it).
    pub fn set_tls(&mut self, tls: FileTls) {
        self.tls = Some(tls);
    }

    /// A server for `vfs` (accounts and files already in place).
    pub fn new(vfs: Vfs, config: FileServerConfig) -> FileServer {
        let shared = Shared {
            listeners: BTreeMap::new(),
            data_conns: BTreeMap::new(),
            next_passive: config.passive_ports.0,
            passive_ports: config.passive_ports,
            data_timeout: config.data_timeout,
            timers: Timers::default(),
            log: Vec::new(),
        };
        FileServer {
            config,
            vfs,
            host_secret: None,
            ftp: BTreeMap::new(),
            http: BTreeMap::new(),
            scp: BTreeMap::new(),
            telnet: BTreeMap::new(),
            shared,
            ftp_sessions_served: 0,
            tls: None,
            tls_conns: TlsConns::default(),
        }
    }

    pub fn config(&self) -> &FileServerConfig {
        &self.config
    }

    /// The file system (for final checks and inspection).
    pub fn vfs(&self) -> &Vfs {
        &self.vfs
    }

    /// The file system, to change it between runs of a test.
    pub fn vfs_mut(&mut self) -> &mut Vfs {
        &mut self.vfs
    }

    /// The seed of the SSH host key, once the server has started with SCP.
    pub fn host_secret(&self) -> Option<[u8; 32]> {
        self.host_secret
    }

    /// The SCP host public key, once the server has started with SCP.
    pub fn host_public_key(&self) -> Option<[u8; 32]> {
        self.host_secret
            .map(|s| crate::proto::ssh::HostKey::from_seed(&s).public())
    }

    /// The FTP sessions open now, by control connection.
    pub fn ftp_sessions(&self) -> Vec<FtpSessionView> {
        self.ftp
            .iter()
            .map(|(&control, s)| FtpSessionView {
                control,
                client: s.side.client,
                user: s.server.user().map(str::to_string),
                cwd: s.server.cwd().to_string(),
                transfer_type: s.server.transfer_type(),
                state: s.server.state_name(),
                data: s.side.data.state_name(),
            })
            .collect()
    }

    /// How many FTP control connections the server has accepted.
    pub fn ftp_sessions_served(&self) -> u64 {
        self.ftp_sessions_served
    }

    /// How many data connections have come and gone.
    pub fn data_connections_finished(&self) -> usize {
        self.shared.log.len()
    }

    // ----- start, crash -----

    fn start(&mut self, cx: &mut AppCx<'_>) {
        if self.config.scp && self.host_secret.is_none() {
            let mut secret = [0u8; 32];
            cx.rng().fill_bytes(&mut secret);
            self.host_secret = Some(secret);
        }
        let services = [
            (self.config.ftp, FTP_PORT, "ftp", Protocol::FtpControl),
            (self.config.http, HTTP_PORT, "http", Protocol::Http),
            (self.config.scp, SCP_PORT, "scp", Protocol::Scp),
            (self.config.telnet, TELNET_PORT, "telnet", Protocol::Telnet),
        ];
        // HTTPS beside HTTP when the scenario gives the server TLS.
        if self.config.http
            && self.tls.is_some()
            && let Err(e) = cx.listen(http::TLS_PORT, Protocol::Http)
        {
            cx.emit(
                &events::LISTEN_FAILED,
                vec![
                    ("service", "https".into()),
                    ("port", http::TLS_PORT.into()),
                    ("error", e.to_string().into()),
                ],
            );
        }
        for (on, port, name, protocol) in services {
            if on && let Err(e) = cx.listen(port, protocol) {
                cx.emit(
                    &events::LISTEN_FAILED,
                    vec![
                        ("service", name.into()),
                        ("port", port.into()),
                        ("error", e.to_string().into()),
                    ],
                );
            }
        }
    }

    /// Connections, listeners and timers are gone; the files stay.
    fn crashed(&mut self) {
        self.ftp.clear();
        self.http.clear();
        self.scp.clear();
        self.telnet.clear();
        self.shared.listeners.clear();
        self.shared.data_conns.clear();
        self.shared.timers.clear();
    }

    // ----- accepting -----

    fn accepted(&mut self, cx: &mut AppCx<'_>, conn: ConnId, port: u16) {
        let Some(tcp) = cx.connection(conn) else {
            return;
        };
        let (local, remote) = (tcp.local(), tcp.remote());
        if let Some(&control) = self.shared.listeners.get(&port) {
            // RFC 2577 §8 ("port stealing"): only the client of the control
            // connection may take a passive port; anyone else is refused and
            // the port stays open for the real client.
            let client_ip = self.ftp.get(&control).map(|s| *s.side.client.ip());
            if client_ip != Some(*remote.ip()) {
                cx.abort(conn);
                cx.emit(
                    &events::DATA_REFUSED,
                    vec![("port", port.into()), ("from", remote.to_string().into())],
                );
                return;
            }
            self.shared.listeners.remove(&port);
            cx.unlisten(port);
            return self.passive_connected(cx, control, conn, port);
        }
        match port {
            FTP_PORT if self.config.ftp => self.ftp_accepted(cx, conn, local, remote),
            HTTP_PORT if self.config.http => {
                self.http.insert(conn, Conn::new(HttpServer::new(), remote));
                emit_connection(cx, &events::HTTP_CONNECTION_OPENED, remote, None);
            }
            http::TLS_PORT if self.config.http => {
                let Some(tls) = &self.tls else {
                    return cx.abort(conn);
                };
                if !self.tls_conns.start_server(cx, conn, tls.server.clone()) {
                    return cx.abort(conn);
                }
                self.http.insert(conn, Conn::new(HttpServer::new(), remote));
                emit_connection(cx, &events::HTTP_CONNECTION_OPENED, remote, None);
            }
            SCP_PORT if self.config.scp => {
                let secret = self.host_secret.unwrap_or([0u8; 32]);
                let server = ScpServer::from_rng(secret, cx.rng());
                self.scp.insert(conn, Conn::new(server, remote));
                emit_connection(cx, &events::SCP_CONNECTION_OPENED, remote, None);
                self.pump_scp(cx, conn);
            }
            TELNET_PORT if self.config.telnet => {
                let server = TelnetServer::new(TelnetConfig::new(cx.host_name()));
                self.telnet.insert(conn, Conn::new(server, remote));
                emit_connection(cx, &events::TELNET_CONNECTION_OPENED, remote, None);
                self.pump_telnet(cx, conn);
            }
            _ => cx.abort(conn),
        }
    }

    fn ftp_accepted(
        &mut self,
        cx: &mut AppCx<'_>,
        conn: ConnId,
        local: SocketAddrV4,
        remote: SocketAddrV4,
    ) {
        // RFC 2577 §3: PORT may only name the client itself (no "FTP
        // bounce" through this server).
        let config = FtpServerConfig {
            client_ip: Some(*remote.ip()),
            tls: self.tls.is_some(),
            require_tls: self.tls.as_ref().is_some_and(|t| t.require),
            ..FtpServerConfig::default()
        };
        let session = FtpSession {
            server: FtpServer::new(config),
            side: DataSide {
                control: conn,
                client: remote,
                local_ip: *local.ip(),
                data: DataConn::None,
                generation: 0,
                timer: None,
                listened: None,
                stored: Vec::new(),
                data_name: None,
            },
            closing: false,
        };
        self.ftp.insert(conn, session);
        self.ftp_sessions_served += 1;
        cx.emit(
            &events::CONTROL_OPENED,
            vec![
                ("client", remote.to_string().into()),
                ("server", local.to_string().into()),
            ],
        );
        self.pump_ftp(cx, conn);
    }

    // ----- FTP: driving the machine -----

    /// Calls the session's machine with the backend and the data ports,
    /// then carries out what it asked for.
    fn drive(
        &mut self,
        cx: &mut AppCx<'_>,
        control: ConnId,
        call: impl FnOnce(&mut FtpServer, &mut dyn FtpBackend, &mut dyn DataPorts, i64),
    ) {
        let now = cx.now_unix();
        let Some(session) = self.ftp.get_mut(&control) else {
            return;
        };
        let mut backend = Recorder {
            vfs: &mut self.vfs,
            stored: Vec::new(),
        };
        let mut ports = ServerPorts {
            cx: &mut *cx,
            side: &mut session.side,
            shared: &mut self.shared,
        };
        call(&mut session.server, &mut backend, &mut ports, now);
        session.side.stored.extend(backend.stored);
        self.pump_ftp(cx, control);
    }

    /// Sends the machine's output, records its transcript and carries out
    /// its data-connection requests, until it has nothing more to say.
    fn pump_ftp(&mut self, cx: &mut AppCx<'_>, control: ConnId) {
        loop {
            let Some(session) = self.ftp.get_mut(&control) else {
                return;
            };
            // The dialogue first, then the bytes: the trace then reads
            // "C: USER alice", "S: 331 ...", and then the segment that
            // carries the reply.
            while let Some(line) = session.server.poll_transcript() {
                // Content moved on the data connection is recorded on it,
                // so that ladders and transcripts show the two pipes.
                match (&line, session.side.data_name) {
                    (Transcript::Data(_), Some((client, server))) => {
                        let party = cx.party(client);
                        cx.trace_line(
                            Layer::Ftp,
                            party,
                            Party::Node(cx.host()),
                            Some((client, server)),
                            line,
                        );
                    }
                    _ => cx.trace_dialogue(Layer::Ftp, control, line),
                }
            }
            while let Some(bytes) = session.server.poll_output() {
                self.tls_conns.send(cx, control, bytes);
            }
            // 234 to AUTH TLS: TLS under the control connection.
            let config = self.tls.as_ref().map(|t| t.server.clone());
            self.tls_conns
                .upgrade_server(cx, control, &mut session.server, config);
            if let Some(port) = session.side.listened.take() {
                cx.emit(
                    &events::DATA_LISTENING,
                    vec![
                        ("port", port.into()),
                        ("client", session.side.client.to_string().into()),
                    ],
                );
            }
            for path in std::mem::take(&mut session.side.stored) {
                trace_stored(cx, &self.vfs, "ftp", &path);
            }
            let Some(session) = self.ftp.get_mut(&control) else {
                return;
            };
            let Some(request) = session.server.poll_data_request() else {
                if session.server.wants_close() && !session.closing {
                    session.closing = true;
                    cx.close(control);
                }
                return;
            };
            self.data_request(cx, control, request);
        }
    }

    fn data_request(&mut self, cx: &mut AppCx<'_>, control: ConnId, request: DataRequest) {
        let Some(session) = self.ftp.get_mut(&control) else {
            return;
        };
        let side = &mut session.side;
        match request {
            DataRequest::Connect { to } => {
                release(cx, side, &mut self.shared);
                // RFC 959 §3.2: active data connections come from port 20.
                match cx.connect_from(ftp::DATA_PORT, to, Protocol::FtpData) {
                    Ok(conn) => {
                        side.data = DataConn::Connecting { conn };
                        side.generation += 1;
                        side.data_name = None;
                        self.shared.data_conns.insert(
                            conn,
                            DataInfo {
                                control,
                                opened_by: "server",
                                server_port: ftp::DATA_PORT,
                                client: to,
                                sent: 0,
                                received: 0,
                            },
                        );
                        let timer = DataTimer {
                            control,
                            generation: side.generation,
                        };
                        let delay = self.shared.data_timeout;
                        side.timer = Some(self.shared.timers.set(cx, delay, timer));
                    }
                    Err(e) => {
                        cx.emit(
                            &events::DATA_FAILED,
                            vec![
                                ("mode", "active".into()),
                                ("client", to.to_string().into()),
                                ("reason", e.to_string().into()),
                            ],
                        );
                        self.drive(cx, control, |s, b, p, now| s.handle_data_failed(b, p, now));
                    }
                }
            }
            DataRequest::Send(bytes) => {
                if let DataConn::Open { conn } = side.data {
                    if let Some(info) = self.shared.data_conns.get_mut(&conn) {
                        info.sent += bytes.len() as u64;
                    }
                    self.tls_conns.send(cx, conn, bytes);
                }
            }
            DataRequest::Close => {
                // Stream mode: the FIN after the last byte is the end of
                // the file (RFC 959 §3.4.1).
                if let DataConn::Open { conn } = side.data {
                    side.data = DataConn::Closing { conn };
                    self.tls_conns.close(cx, conn);
                }
            }
            DataRequest::Abort => release(cx, side, &mut self.shared),
        }
    }

    // ----- FTP: data connection events -----

    fn passive_connected(&mut self, cx: &mut AppCx<'_>, control: ConnId, conn: ConnId, port: u16) {
        let Some(session) = self.ftp.get_mut(&control) else {
            return cx.abort(conn);
        };
        if session.side.data != (DataConn::Listening { port }) {
            return cx.abort(conn);
        }
        session.side.data = DataConn::Open { conn };
        let timer = session.side.timer.take();
        self.shared.timers.cancel(cx, timer);
        let client = cx
            .connection(conn)
            .map_or(session.side.client, |c| c.remote());
        self.shared.data_conns.insert(
            conn,
            DataInfo {
                control,
                opened_by: "client",
                server_port: port,
                client,
                sent: 0,
                received: 0,
            },
        );
        let name = cx.connection(conn).map(|c| (c.remote(), c.local()));
        session.side.data_name = name;
        let protect = session.server.data_protected();
        let control_name = control_name(cx, control);
        emit_opened(cx, "passive", "client", port, client, control_name);
        self.protect_data(cx, conn, protect);
        self.drive(cx, control, |s, b, p, now| {
            s.handle_data_connected(b, p, now)
        });
    }

    fn active_connected(&mut self, cx: &mut AppCx<'_>, conn: ConnId) {
        let Some(info) = self.shared.data_conns.get(&conn).cloned() else {
            return;
        };
        let Some(session) = self.ftp.get_mut(&info.control) else {
            return;
        };
        if session.side.data != (DataConn::Connecting { conn }) {
            return;
        }
        session.side.data = DataConn::Open { conn };
        let timer = session.side.timer.take();
        self.shared.timers.cancel(cx, timer);
        session.side.data_name = cx.connection(conn).map(|c| (c.remote(), c.local()));
        let protect = session.server.data_protected();
        self.protect_data(cx, conn, protect);
        let control_name = control_name(cx, info.control);
        emit_opened(
            cx,
            "active",
            "server",
            info.server_port,
            info.client,
            control_name,
        );
        self.drive(cx, info.control, |s, b, p, now| {
            s.handle_data_connected(b, p, now)
        });
    }

    /// PROT P: TLS on a new data connection, this end the TLS server
    /// whoever opened it (RFC 4217 §7).
    fn protect_data(&mut self, cx: &mut AppCx<'_>, conn: ConnId, protect: bool) {
        if protect && let Some(tls) = &self.tls {
            self.tls_conns.start_server(cx, conn, tls.server.clone());
        }
    }

    fn data_input(&mut self, cx: &mut AppCx<'_>, conn: ConnId, data: Bytes) {
        let Some(info) = self.shared.data_conns.get_mut(&conn) else {
            return;
        };
        info.received += data.len() as u64;
        let control = info.control;
        self.drive(cx, control, |s, _, _, _| s.handle_data_input(&data));
    }

    fn data_peer_closed(&mut self, cx: &mut AppCx<'_>, conn: ConnId) {
        let Some(control) = self.shared.data_conns.get(&conn).map(|i| i.control) else {
            return;
        };
        let Some(session) = self.ftp.get_mut(&control) else {
            return;
        };
        if session.side.data == (DataConn::Open { conn }) {
            // The client closed first: the end of an upload. From the
            // machine's point of view this data connection is done.
            session.side.data = DataConn::None;
            cx.close(conn);
            self.drive(cx, control, |s, b, p, now| s.handle_data_closed(b, p, now));
        }
    }

    fn data_closed(&mut self, cx: &mut AppCx<'_>, conn: ConnId, error: Option<String>) {
        let Some(info) = self.shared.data_conns.remove(&conn) else {
            return;
        };
        let opened = !matches!(
            self.ftp.get(&info.control).map(|s| s.side.data),
            Some(DataConn::Connecting { conn: c }) if c == conn
        );
        if opened {
            self.shared.log.push(DataRecord {
                opened_by: info.opened_by,
                server_port: info.server_port,
                client: info.client,
                sent: info.sent,
                received: info.received,
            });
            let mut fields = vec![
                ("client", Value::from(info.client.to_string())),
                ("server_port", info.server_port.into()),
                ("bytes_sent", info.sent.into()),
                ("bytes_received", info.received.into()),
            ];
            if let Some(e) = &error {
                fields.push(("error", e.as_str().into()));
            }
            cx.emit(&events::DATA_CLOSED, fields);
        }
        let Some(session) = self.ftp.get_mut(&info.control) else {
            return;
        };
        match session.side.data {
            DataConn::Closing { conn: c } if c == conn => {
                session.side.data = DataConn::None;
                if error.is_none() {
                    self.drive(cx, info.control, |s, b, p, now| {
                        s.handle_data_sent(b, p, now)
                    });
                } else {
                    self.drive(cx, info.control, |s, b, p, now| {
                        s.handle_data_failed(b, p, now)
                    });
                }
            }
            DataConn::Connecting { conn: c } | DataConn::Open { conn: c } if c == conn => {
                session.side.data = DataConn::None;
                let timer = session.side.timer.take();
                self.shared.timers.cancel(cx, timer);
                if !opened {
                    cx.emit(
                        &events::DATA_FAILED,
                        vec![
                            ("mode", "active".into()),
                            ("client", info.client.to_string().into()),
                            ("reason", error.unwrap_or_default().into()),
                        ],
                    );
                }
                self.drive(cx, info.control, |s, b, p, now| {
                    s.handle_data_failed(b, p, now)
                });
            }
            _ => {}
        }
    }

    fn data_timeout(&mut self, cx: &mut AppCx<'_>, timer: DataTimer) {
        let Some(session) = self.ftp.get_mut(&timer.control) else {
            return;
        };
        if session.side.generation != timer.generation {
            return;
        }
        session.side.timer = None;
        let (mode, client) = match session.side.data {
            DataConn::Listening { port } => {
                cx.unlisten(port);
                self.shared.listeners.remove(&port);
                ("passive", session.side.client)
            }
            DataConn::Connecting { conn } => {
                cx.abort(conn);
                let info = self.shared.data_conns.remove(&conn);
                ("active", info.map_or(session.side.client, |i| i.client))
            }
            _ => return,
        };
        session.side.data = DataConn::None;
        cx.emit(
            &events::DATA_FAILED,
            vec![
                ("mode", mode.into()),
                ("client", client.to_string().into()),
                ("reason", "timeout".into()),
            ],
        );
        self.drive(cx, timer.control, |s, b, p, now| {
            s.handle_data_failed(b, p, now)
        });
    }

    // ----- FTP: control connection events -----

    fn control_gone(&mut self, cx: &mut AppCx<'_>, control: ConnId, closed: bool) {
        let Some(session) = self.ftp.get_mut(&control) else {
            return;
        };
        session.server.handle_close();
        if !closed && !session.closing {
            session.closing = true;
            cx.close(control);
        }
        self.pump_ftp(cx, control);
        if closed && let Some(mut session) = self.ftp.remove(&control) {
            release(cx, &mut session.side, &mut self.shared);
            cx.emit(
                &events::CONTROL_CLOSED,
                vec![("client", session.side.client.to_string().into())],
            );
        }
    }

    // ----- HTTP -----

    fn http_input(&mut self, cx: &mut AppCx<'_>, conn: ConnId, data: &[u8]) {
        let Some(c) = self.http.get_mut(&conn) else {
            return;
        };
        let web = WebView {
            vfs: &self.vfs,
            root: &self.config.web_root,
        };
        c.server.handle_input(data, &web, cx.now_unix());
        self.pump_http(cx, conn);
    }

    fn pump_http(&mut self, cx: &mut AppCx<'_>, conn: ConnId) {
        if let Some(c) = self.http.get_mut(&conn) {
            c.pump(cx, conn, Layer::Http, &mut self.tls_conns);
        }
    }

    // ----- SCP -----

    fn scp_input(&mut self, cx: &mut AppCx<'_>, conn: ConnId, data: &[u8]) {
        let now = cx.now_unix();
        let Some(c) = self.scp.get_mut(&conn) else {
            return;
        };
        let mut view = ScpView::new(&mut self.vfs, c.server.user().map(str::to_string), now);
        c.server.handle_input(data, &mut view);
        let stored = view.stored;
        self.pump_scp(cx, conn);
        for path in stored {
            trace_stored(cx, &self.vfs, "scp", &path);
        }
    }

    fn pump_scp(&mut self, cx: &mut AppCx<'_>, conn: ConnId) {
        if let Some(c) = self.scp.get_mut(&conn) {
            c.pump(cx, conn, Layer::Scp, &mut self.tls_conns);
        }
    }

    // ----- TELNET -----

    fn telnet_input(&mut self, cx: &mut AppCx<'_>, conn: ConnId, data: &[u8]) {
        if let Some(c) = self.telnet.get_mut(&conn) {
            c.server.handle_input(data, &mut self.vfs);
        }
        self.pump_telnet(cx, conn);
    }

    /// Like [`Conn::pump`], with the machine's events recorded after its
    /// dialogue lines and before the bytes that carry them.
    fn pump_telnet(&mut self, cx: &mut AppCx<'_>, conn: ConnId) {
        let Some(c) = self.telnet.get_mut(&conn) else {
            return;
        };
        while let Some(line) = c.server.poll_transcript() {
            cx.trace_dialogue(Layer::Telnet, conn, line);
        }
        while let Some(event) = c.server.poll_event() {
            let (kind, mut fields) = super::telnet_event(&event);
            fields.insert(0, ("client", c.client.to_string().into()));
            cx.emit(kind, fields);
        }
        while let Some(bytes) = c.server.poll_output() {
            cx.send(conn, bytes);
        }
        if c.server.wants_close() {
            c.close(cx, conn, &mut self.tls_conns);
        }
    }

    // ----- dispatch -----

    fn on_data(&mut self, cx: &mut AppCx<'_>, conn: ConnId, data: Bytes) {
        let data = self.tls_conns.receive(cx, conn, data);
        let layer = if self.ftp.contains_key(&conn) {
            Some(Layer::Ftp)
        } else if self.http.contains_key(&conn) {
            Some(Layer::Http)
        } else {
            None
        };
        for note in self.tls_conns.notes(conn) {
            if let Some(layer) = layer {
                cx.trace_dialogue(layer, conn, Transcript::Data(note));
            }
        }
        if self.ftp.contains_key(&conn) {
            self.drive(cx, conn, |s, b, p, now| s.handle_input(&data, b, p, now));
        } else if self.shared.data_conns.contains_key(&conn) {
            self.data_input(cx, conn, data);
        } else if self.http.contains_key(&conn) {
            self.http_input(cx, conn, &data);
        } else if self.scp.contains_key(&conn) {
            self.scp_input(cx, conn, &data);
        } else if self.telnet.contains_key(&conn) {
            self.telnet_input(cx, conn, &data);
        }
    }

    fn on_peer_closed(&mut self, cx: &mut AppCx<'_>, conn: ConnId) {
        if self.ftp.contains_key(&conn) {
            self.control_gone(cx, conn, false);
        } else if self.shared.data_conns.contains_key(&conn) {
            self.data_peer_closed(cx, conn);
        } else if let Some(c) = self.http.get_mut(&conn) {
            c.peer_closed(cx, conn, Layer::Http, &mut self.tls_conns);
        } else if let Some(c) = self.scp.get_mut(&conn) {
            c.peer_closed(cx, conn, Layer::Scp, &mut self.tls_conns);
        } else if let Some(c) = self.telnet.get_mut(&conn) {
            c.server.handle_close();
            self.pump_telnet(cx, conn);
            if let Some(c) = self.telnet.get_mut(&conn) {
                c.close(cx, conn, &mut self.tls_conns);
            }
        }
    }

    fn on_closed(&mut self, cx: &mut AppCx<'_>, conn: ConnId, error: Option<String>) {
        self.tls_conns.remove(conn);
        if self.ftp.contains_key(&conn) {
            self.control_gone(cx, conn, true);
        } else if self.shared.data_conns.contains_key(&conn) {
            self.data_closed(cx, conn, error);
        } else if let Some(mut c) = self.http.remove(&conn) {
            c.server.handle_close();
            let served = c.server.requests_served();
            emit_connection(cx, &events::HTTP_CONNECTION_CLOSED, c.client, Some(served));
        } else if let Some(mut c) = self.scp.remove(&conn) {
            c.server.handle_close();
            emit_connection(cx, &events::SCP_CONNECTION_CLOSED, c.client, None);
        } else if let Some(mut c) = self.telnet.remove(&conn) {
            c.server.handle_close();
            emit_connection(cx, &events::TELNET_CONNECTION_CLOSED, c.client, None);
        }
    }
}

/// Traces a file an upload stored: `{"layer":"app","event":"file_stored",...}`
/// with its path in the server's whole tree, size and SHA-256.
fn trace_stored(cx: &mut AppCx<'_>, vfs: &Vfs, via: &'static str, path: &VPath) {
    let data = vfs.get_file(path).unwrap_or_default();
    cx.emit(
        &events::FILE_STORED,
        vec![
            ("via", via.into()),
            ("path", path.to_string().into()),
            ("bytes", data.len().into()),
            ("sha256", sha256_hex(&data).into()),
        ],
    );
}

/// Announces an HTTP or SCP connection opening or closing.
fn emit_connection(
    cx: &mut AppCx<'_>,
    event: &'static EventKind,
    client: SocketAddrV4,
    requests: Option<u64>,
) {
    let mut fields = vec![("client", Value::from(client.to_string()))];
    if let Some(n) = requests {
        fields.push(("requests", n.into()));
    }
    cx.emit(event, fields);
}

/// The control connection's name as the trace writes it
/// (`client-server`), if it is still open.
fn control_name(cx: &AppCx<'_>, control: ConnId) -> Option<String> {
    cx.connection(control)
        .map(|c| crate::trace::conn_text((c.remote(), c.local())))
}

/// Announces a data connection that just opened, with the control
/// connection it serves.
fn emit_opened(
    cx: &mut AppCx<'_>,
    mode: &'static str,
    opened_by: &'static str,
    server_port: u16,
    client: SocketAddrV4,
    control: Option<String>,
) {
    let mut fields = vec![
        ("mode", mode.into()),
        ("opened_by", opened_by.into()),
        ("server_port", server_port.into()),
        ("client", client.to_string().into()),
        ("client_port", client.port().into()),
    ];
    if let Some(c) = control {
        fields.push(("control", c.into()));
    }
    cx.emit(&events::DATA_OPENED, fields);
}

/// Drops whatever data connection or listener a session has.
fn release(cx: &mut AppCx<'_>, side: &mut DataSide, shared: &mut Shared) {
    shared.timers.cancel(cx, side.timer.take());
    match side.data {
        DataConn::None => {}
        DataConn::Listening { port } => {
            cx.unlisten(port);
            shared.listeners.remove(&port);
        }
        DataConn::Connecting { conn } | DataConn::Open { conn } | DataConn::Closing { conn } => {
            cx.abort(conn);
            if let Some(info) = shared.data_conns.remove(&conn) {
                cx.emit(
                    &events::DATA_CLOSED,
                    vec![
                        ("client", info.client.to_string().into()),
                        ("server_port", info.server_port.into()),
                        ("bytes_sent", info.sent.into()),
                        ("bytes_received", info.received.into()),
                        ("error", "aborted".into()),
                    ],
                );
            }
        }
    }
    side.data = DataConn::None;
}

/// The synchronous half of the data-connection interface: PASV and EPSV
/// need a listening port before they can answer.
struct ServerPorts<'a, 'b> {
    cx: &'a mut AppCx<'b>,
    side: &'a mut DataSide,
    shared: &'a mut Shared,
}

impl DataPorts for ServerPorts<'_, '_> {
    fn open_listener(&mut self) -> Option<SocketAddrV4> {
        // The new listener replaces any old one or an idle connection.
        release(self.cx, self.side, self.shared);
        let range = self.shared.passive_ports;
        let port = listen_in_range(self.cx, range, &mut self.shared.next_passive)?;
        self.shared.listeners.insert(port, self.side.control);
        self.side.data = DataConn::Listening { port };
        self.side.generation += 1;
        self.side.data_name = None;
        self.side.listened = Some(port);
        let timer = DataTimer {
            control: self.side.control,
            generation: self.side.generation,
        };
        let delay = self.shared.data_timeout;
        self.side.timer = Some(self.shared.timers.set(self.cx, delay, timer));
        Some(SocketAddrV4::new(self.side.local_ip, port))
    }
}

/// The VFS as the FTP machine sees it, noting which files were stored so
/// the application can report them.
struct Recorder<'a> {
    vfs: &'a mut Vfs,
    stored: Vec<VPath>,
}

impl Recorder<'_> {
    fn note_stored(&mut self, user: &str, cwd: &str, path: &str) {
        let global = VPath::parse(cwd)
            .and_then(|dir| dir.resolve(path))
            .ok()
            .and_then(|p| self.vfs.global_path(user, &p));
        if let Some(global) = global {
            self.stored.push(global);
        }
    }
}

impl FtpBackend for Recorder<'_> {
    fn authenticate(&mut self, user: &str, password: &str) -> bool {
        self.vfs.authenticate(user, password)
    }

    fn change_dir(&mut self, user: &str, cwd: &str, path: &str) -> Result<String, FileError> {
        FtpBackend::change_dir(self.vfs, user, cwd, path)
    }

    fn stat(&mut self, user: &str, cwd: &str, path: &str) -> Result<FileInfo, FileError> {
        FtpBackend::stat(self.vfs, user, cwd, path)
    }

    fn list(&mut self, user: &str, cwd: &str, path: &str) -> Result<Vec<FileInfo>, FileError> {
        FtpBackend::list(self.vfs, user, cwd, path)
    }

    fn read(&mut self, user: &str, cwd: &str, path: &str) -> Result<Bytes, FileError> {
        FtpBackend::read(self.vfs, user, cwd, path)
    }

    fn check_write(&mut self, user: &str, cwd: &str, path: &str) -> Result<(), FileError> {
        FtpBackend::check_write(self.vfs, user, cwd, path)
    }

    fn write(
        &mut self,
        user: &str,
        cwd: &str,
        path: &str,
        data: Bytes,
        now_unix: i64,
    ) -> Result<(), FileError> {
        FtpBackend::write(self.vfs, user, cwd, path, data, now_unix)?;
        self.note_stored(user, cwd, path);
        Ok(())
    }

    fn append(
        &mut self,
        user: &str,
        cwd: &str,
        path: &str,
        data: &[u8],
        now_unix: i64,
    ) -> Result<(), FileError> {
        FtpBackend::append(self.vfs, user, cwd, path, data, now_unix)?;
        self.note_stored(user, cwd, path);
        Ok(())
    }

    fn make_dir(
        &mut self,
        user: &str,
        cwd: &str,
        path: &str,
        now_unix: i64,
    ) -> Result<String, FileError> {
        FtpBackend::make_dir(self.vfs, user, cwd, path, now_unix)
    }

    fn remove_dir(
        &mut self,
        user: &str,
        cwd: &str,
        path: &str,
        now_unix: i64,
    ) -> Result<(), FileError> {
        FtpBackend::remove_dir(self.vfs, user, cwd, path, now_unix)
    }

    fn delete(
        &mut self,
        user: &str,
        cwd: &str,
        path: &str,
        now_unix: i64,
    ) -> Result<(), FileError> {
        FtpBackend::delete(self.vfs, user, cwd, path, now_unix)
    }

    fn rename(
        &mut self,
        user: &str,
        cwd: &str,
        from: &str,
        to: &str,
        now_unix: i64,
    ) -> Result<(), FileError> {
        FtpBackend::rename(self.vfs, user, cwd, from, to, now_unix)
    }

    fn is_read_only(&mut self, user: &str) -> bool {
        FtpBackend::is_read_only(self.vfs, user)
    }
}

/// The part of the tree HTTP serves: no accounts, no login, no state
/// between requests. `/report.txt` is `web_root/report.txt`.
pub struct WebView<'a> {
    pub vfs: &'a Vfs,
    pub root: &'a VPath,
}

impl HttpBackend for WebView<'_> {
    fn read_file(&self, path: &str) -> Option<Bytes> {
        // The machine hands over a normalised path; parsing it again keeps
        // even a bad one inside the web root.
        let relative = VPath::parse(path).ok()?;
        let mut global = self.root.clone();
        for part in relative.components() {
            global = global.join(part);
        }
        self.vfs.get_file(&global).ok()
    }

    fn modified(&self, path: &str) -> Option<i64> {
        let relative = VPath::parse(path).ok()?;
        let mut global = self.root.clone();
        for part in relative.components() {
            global = global.join(part);
        }
        self.vfs.metadata(&global).map(|m| m.mtime)
    }
}

/// One SCP user's view of the tree: their home is `/`, as for FTP. The
/// live mode serves real `scp` and `ssh` clients through it too.
pub struct ScpView<'a> {
    vfs: &'a mut Vfs,
    /// The authenticated user: set by a successful password check during
    /// the same input (a client may pipeline `exec` behind its password).
    user: RefCell<Option<String>>,
    now: i64,
    stored: Vec<VPath>,
}

impl<'a> ScpView<'a> {
    /// The view of `user` (`None` until a password check succeeds).
    pub fn new(vfs: &'a mut Vfs, user: Option<String>, now: i64) -> ScpView<'a> {
        ScpView {
            vfs,
            user: RefCell::new(user),
            now,
            stored: Vec::new(),
        }
    }

    fn user(&self) -> Option<String> {
        self.user.borrow().clone()
    }

    /// Files written through the view, in order.
    pub fn stored(&self) -> &[VPath] {
        &self.stored
    }
}

/// The message scp prints for a file system error.
fn scp_error(e: VfsError) -> String {
    match e {
        VfsError::NotFound => "No such file or directory",
        VfsError::NotADirectory => "Not a directory",
        VfsError::IsADirectory => "Is a directory",
        VfsError::Exists => "File exists",
        VfsError::NotEmpty => "Directory not empty",
        VfsError::PermissionDenied => "Permission denied",
        VfsError::QuotaExceeded => "Disk quota exceeded",
        VfsError::InvalidPath => "Invalid argument",
    }
    .to_string()
}

impl ScpBackend for ScpView<'_> {
    fn check_password(&self, user: &str, password: &str) -> bool {
        let ok = self.vfs.check_password(user, password);
        if ok {
            *self.user.borrow_mut() = Some(user.to_string());
        }
        ok
    }

    fn lookup(&self, path: &str) -> Option<ScpNode> {
        let user = self.user()?;
        let path = VPath::parse(path).ok()?;
        let meta = Vfs::stat(self.vfs, &user, &path).ok()?;
        let read_only = self.vfs.account(&user).is_some_and(|a| a.read_only);
        match meta.kind {
            EntryKind::File => Some(ScpNode::File {
                data: Vfs::read(self.vfs, &user, &path).ok()?,
                mode: if read_only { 0o444 } else { 0o644 },
                mtime: Some(meta.mtime),
            }),
            EntryKind::Directory => Some(ScpNode::Dir {
                mode: if read_only { 0o555 } else { 0o755 },
                mtime: Some(meta.mtime),
                entries: Vfs::list(self.vfs, &user, &path)
                    .ok()?
                    .into_iter()
                    .map(|m| m.name)
                    .collect(),
            }),
        }
    }

    fn write_file(
        &mut self,
        path: &str,
        data: Bytes,
        _mode: u32,
        mtime: Option<i64>,
    ) -> Result<(), String> {
        let user = self
            .user()
            .ok_or_else(|| scp_error(VfsError::PermissionDenied))?;
        let path = VPath::parse(path).map_err(scp_error)?;
        let when = mtime.unwrap_or(self.now);
        Vfs::write(self.vfs, &user, &path, data, when).map_err(scp_error)?;
        if let Some(global) = self.vfs.global_path(&user, &path) {
            self.stored.push(global);
        }
        Ok(())
    }

    fn make_dir(&mut self, path: &str, _mode: u32) -> Result<(), String> {
        let user = self
            .user()
            .ok_or_else(|| scp_error(VfsError::PermissionDenied))?;
        let path = VPath::parse(path).map_err(scp_error)?;
        self.vfs.mkdir(&user, &path, self.now).map_err(scp_error)
    }
}

impl Application for FileServer {
    fn kind(&self) -> &'static str {
        "file server"
    }

    fn handle_event(&mut self, cx: &mut AppCx<'_>, event: AppEvent) {
        match event {
            AppEvent::Start => self.start(cx),
            AppEvent::Accepted { conn, port } => self.accepted(cx, conn, port),
            AppEvent::Connected { conn } => self.active_connected(cx, conn),
            AppEvent::Data { conn, data } => self.on_data(cx, conn, data),
            AppEvent::PeerClosed { conn } => self.on_peer_closed(cx, conn),
            AppEvent::Closed { conn, error } => {
                self.on_closed(cx, conn, error.map(|e| e.name().to_string()))
            }
            AppEvent::Timer { token } => {
                if let Some(timer) = self.shared.timers.take(token) {
                    self.data_timeout(cx, timer);
                }
            }
            AppEvent::Crashed => self.crashed(),
            AppEvent::Writable { .. }
            | AppEvent::Datagram { .. }
            | AppEvent::Sniffed { .. }
            | AppEvent::RawPacket { .. } => {}
        }
    }

    fn inspect(&self) -> Option<Inspect> {
        let mut services = Vec::new();
        for (on, name) in [
            (self.config.ftp, "FTP"),
            (self.config.http, "HTTP"),
            (self.config.scp, "SCP"),
            (self.config.telnet, "TELNET"),
        ] {
            if on {
                services.push(name);
            }
        }
        let files = self.vfs.files();
        let mut homes: Vec<VPath> = Vec::new();
        let mut users = Vec::new();
        for (name, account) in self.vfs.accounts() {
            homes.push(account.home.clone());
            let mut label = format!("{name}: home {}", account.home);
            let used = self.vfs.usage(name).unwrap_or(0);
            match account.quota {
                Some(q) => label.push_str(&format!(", {used} of {q} bytes used")),
                None => label.push_str(&format!(", {used} bytes")),
            }
            if account.read_only {
                label.push_str(", read-only");
            }
            let mine = files
                .iter()
                .filter(|(p, _)| p.starts_with(&account.home))
                .map(|(p, size)| {
                    let shown = &p.components()[account.home.components().len()..];
                    Inspect::leaf(format!("/{}  {size} bytes", shown.join("/")))
                })
                .collect();
            users.push(Inspect::node(label, mine));
        }
        let mut children = vec![Inspect::node(format!("Users ({})", users.len()), users)];
        let others: Vec<Inspect> = files
            .iter()
            .filter(|(p, _)| !homes.iter().any(|h| p.starts_with(h)))
            .map(|(p, size)| Inspect::leaf(format!("{p}  {size} bytes")))
            .collect();
        if !others.is_empty() {
            children.push(Inspect::node("Other files", others));
        }
        if self.config.ftp {
            let sessions: Vec<Inspect> = self
                .ftp_sessions()
                .iter()
                .map(|s| {
                    let t = match s.transfer_type {
                        TransferType::Ascii => "A",
                        TransferType::Image => "I",
                    };
                    let mut label = format!(
                        "{}: user {}, cwd {}, TYPE {t}, {}",
                        s.client,
                        s.user.as_deref().unwrap_or("(not logged in)"),
                        s.cwd,
                        s.state
                    );
                    if let Some(d) = s.data {
                        label.push_str(&format!("; data connection {d}"));
                    }
                    Inspect::leaf(label)
                })
                .collect();
            children.push(Inspect::node(
                format!(
                    "FTP sessions ({} open, {} served)",
                    sessions.len(),
                    self.ftp_sessions_served
                ),
                sessions,
            ));
            let log: Vec<Inspect> = self
                .shared
                .log
                .iter()
                .map(|d| {
                    Inspect::leaf(format!(
                        "opened by the {} (server port {}) with {}: {} bytes sent, {} received",
                        d.opened_by, d.server_port, d.client, d.sent, d.received
                    ))
                })
                .collect();
            children.push(Inspect::node(
                format!("FTP data connections so far ({})", log.len()),
                log,
            ));
        }
        if self.config.http {
            children.push(Inspect::leaf(format!(
                "HTTP connections open: {}",
                self.http.len()
            )));
        }
        if self.config.scp {
            let fp = self
                .host_public_key()
                .map_or("(not started)".to_string(), |k| {
                    crate::proto::ssh::fingerprint(&k)
                });
            children.push(Inspect::leaf(format!(
                "SCP connections open: {}; host key {fp}",
                self.scp.len()
            )));
        }
        if self.config.telnet {
            let sessions: Vec<Inspect> = self
                .telnet
                .values()
                .map(|c| {
                    Inspect::leaf(format!(
                        "{}: user {}, cwd {}, {}",
                        c.client,
                        c.server.user().unwrap_or("(not logged in)"),
                        c.server.cwd(),
                        c.server.state_name()
                    ))
                })
                .collect();
            children.push(Inspect::node(
                format!("TELNET sessions ({} open)", sessions.len()),
                sessions,
            ));
        }
        Some(Inspect::node(
            format!("File server ({})", services.join(", ")),
            children,
        ))
    }

    fn sessions(&self) -> Vec<SessionState> {
        let mut out = Vec::new();
        for (&conn, s) in &self.ftp {
            out.push(SessionState {
                conn,
                layer: "ftp",
                role: "server",
                state: s.server.state_name(),
                states: ftp::STATES,
                transitions: ftp::TRANSITIONS,
            });
            if let (Some(data), Some(state)) = (s.side.data.conn(), s.side.data.state_name()) {
                out.push(SessionState {
                    conn: data,
                    layer: "ftp",
                    role: "server",
                    state,
                    states: super::DATA_STATES,
                    transitions: super::DATA_TRANSITIONS,
                });
            }
        }
        for (&conn, c) in &self.http {
            out.push(SessionState {
                conn,
                layer: "http",
                role: "server",
                state: c.server.state_name(),
                states: http::STATES,
                transitions: http::TRANSITIONS,
            });
        }
        for (&conn, c) in &self.scp {
            out.push(SessionState {
                conn,
                layer: "scp",
                role: "server",
                state: c.server.state_name(),
                states: scp::STATES,
                transitions: scp::TRANSITIONS,
            });
        }
        for (&conn, c) in &self.telnet {
            out.push(SessionState {
                conn,
                layer: "telnet",
                role: "server",
                state: c.server.state_name(),
                states: telnet::STATES,
                transitions: telnet::TRANSITIONS,
            });
        }
        out
    }
}
