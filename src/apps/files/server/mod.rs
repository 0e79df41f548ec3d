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
//!
//! The pieces: this file is the application (its configuration, the
//! listeners, and the HTTP, SCP and TELNET connections); `ftp_sessions`
//! drives the FTP sessions and their data connections; `views` is the
//! file tree as the HTTP and SCP machines see it; `inspect` is what the
//! inspector and the visualizer show.

mod ftp_sessions;
mod inspect;
mod views;

pub use views::{ScpView, WebView};

use super::events;
use super::sha256_hex;
use crate::apps::tls::TlsConns;
use crate::apps::vfs::{VPath, Vfs};
use crate::net::{AppCx, AppEvent, Application, ConnId, Inspect, SessionState};
use crate::proto::Session;
use crate::proto::Transcript;
use crate::proto::ftp::{self, TransferType};
use crate::proto::http::{self, HttpServer};
use crate::proto::scp::{self, ScpServer};
use crate::proto::telnet::{self, TelnetConfig, TelnetServer};
use crate::sim::SimDuration;
use crate::trace::{EventKind, Layer, Protocol, Value};
use bytes::Bytes;
use ftp_sessions::{FtpSession, Shared};
use std::collections::BTreeMap;
use std::net::SocketAddrV4;
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
        crate::apps::pump::trace_dialogue(cx, layer, conn, &mut self.server);
        tls.send_output(cx, conn, &mut self.server);
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
        let shared = Shared::new(&config);
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
        crate::apps::pump::trace_dialogue(cx, Layer::Telnet, conn, &mut c.server);
        while let Some(event) = c.server.poll_event() {
            let (kind, mut fields) = super::telnet_event(&event);
            fields.insert(0, ("client", c.client.to_string().into()));
            cx.emit(kind, fields);
        }
        crate::apps::pump::send_output(cx, conn, &mut c.server);
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
        Some(self.inspect_tree())
    }

    fn sessions(&self) -> Vec<SessionState> {
        self.session_states()
    }
}
