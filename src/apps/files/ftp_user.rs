//! The FTP user: a client host's program that runs scripted FTP sessions.
//!
//! Each session is one [`FtpClient`] on one control connection. The
//! application opens the data connections the machine asks for: in passive
//! mode it connects to the address of the 227/229 reply; in active mode it
//! listens on a port of [`ACTIVE_PORTS`](super::ACTIVE_PORTS), tells the
//! server with PORT/EPRT, and accepts the one connection the server makes
//! there (from its port 20). Behind a firewall that drops inbound SYNs that
//! connection never arrives: the server gives up and answers 425, and the
//! step fails cleanly while the session goes on.
//!
//! Results are kept for checks and the inspector: every step's final reply,
//! the downloads with their SHA-256, the listings. They are kept in memory
//! only: a client host has no file system here. What a step means and
//! which reply it waits for is the [`FtpClient`]'s business, not this
//! program's.

use super::events;
use super::{DataConn, Download, Timers, listen_in_range};
use crate::apps::tls::TlsConns;
use crate::net::{AppCx, AppEvent, Application, ConnId, Inspect, SessionState};
use crate::proto::Session;
use crate::proto::ftp::{CLIENT_STATES, CLIENT_TRANSITIONS};
use crate::proto::ftp::{
    DataMode, DataPorts, DataRequest, FtpClient, FtpClientConfig, StepOutcome,
};
use crate::sim::SimDuration;
use crate::trace::{Protocol, Value};
use bytes::Bytes;
use std::collections::BTreeMap;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::sync::Arc;

/// How long the client waits for a data connection to open. Longer than
/// the server's [`DATA_TIMEOUT`](super::DATA_TIMEOUT): in active mode the
/// server decides (and says 425); this only guards against a server that
/// never answers.
const CLIENT_DATA_TIMEOUT: SimDuration = SimDuration::from_secs(30);

/// What one FTP session did, for checks and the inspector.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FtpSessionResult {
    /// The server's control address.
    pub server: SocketAddrV4,
    pub user: String,
    pub mode: DataMode,
    /// True once PASS was answered with 230.
    pub logged_in: bool,
    /// The reply code that ended the login (230, 530, ...).
    pub login_code: Option<u16>,
    /// Every step's outcome, in order.
    pub outcomes: Vec<StepOutcome>,
    pub downloads: Vec<Download>,
    pub listings: Vec<String>,
    /// Why the session ended early (refused, closed, malformed reply).
    pub error: Option<String>,
    /// True once the session is over.
    pub done: bool,
}

/// The client's end of one session's data connection.
#[derive(Debug)]
struct ClientSide {
    index: usize,
    local_ip: Ipv4Addr,
    data: DataConn,
    generation: u64,
    /// The pending timeout of a listener or connection attempt.
    timer: Option<u64>,
}

struct ClientSession {
    server: SocketAddrV4,
    mode: DataMode,
    user: String,
    machine: FtpClient,
    control: ConnId,
    side: ClientSide,
    closing: bool,
    finished: bool,
    error: Option<String>,
    reported_outcomes: usize,
    downloads: Vec<Download>,
    /// For AUTH TLS: the CA the client trusts and the server's name.
    tls: Option<(Arc<rustls::ClientConfig>, String)>,
}

#[derive(Debug, Default)]
struct ClientShared {
    listeners: BTreeMap<u16, usize>,
    data_conns: BTreeMap<ConnId, usize>,
    next_port: u16,
    timers: Timers<(usize, u64)>,
}

/// Runs scripted FTP sessions from a client host.
#[derive(Default)]
pub struct FtpUser {
    sessions: Vec<ClientSession>,
    controls: BTreeMap<ConnId, usize>,
    shared: ClientShared,
    /// TLS under control and data connections (AUTH TLS, PROT P).
    tls: TlsConns,
}

impl FtpUser {
    pub fn new() -> FtpUser {
        FtpUser::default()
    }

    /// Starts a session now: connects to `server` (its control port) and
    /// runs `config`'s steps. `config.server_ip` is set from `server`.
    pub fn start(&mut self, cx: &mut AppCx<'_>, server: SocketAddrV4, config: FtpClientConfig) {
        self.start_secure(cx, server, config, None);
    }

    /// [`start`](Self::start), with what AUTH TLS needs when
    /// `config.tls` asks for it: the CA to trust and the server's name.
    pub fn start_secure(
        &mut self,
        cx: &mut AppCx<'_>,
        server: SocketAddrV4,
        mut config: FtpClientConfig,
        tls: Option<(Arc<rustls::ClientConfig>, String)>,
    ) {
        config.server_ip = *server.ip();
        let index = self.sessions.len();
        let (user, mode) = (config.user.clone(), config.mode);
        let machine = FtpClient::new(config);
        let (control, error) = match cx.connect(server, Protocol::FtpControl) {
            Ok(conn) => (conn, None),
            Err(e) => (ConnId::MAX, Some(e.to_string())),
        };
        let local_ip = cx
            .connection(control)
            .map_or(cx.address(), |c| *c.local().ip());
        self.sessions.push(ClientSession {
            server,
            mode,
            user,
            machine,
            control,
            side: ClientSide {
                index,
                local_ip,
                data: DataConn::None,
                generation: 0,
                timer: None,
            },
            closing: false,
            finished: error.is_some(),
            error,
            reported_outcomes: 0,
            downloads: Vec::new(),
            tls,
        });
        if self.sessions[index].error.is_none() {
            self.controls.insert(control, index);
        } else {
            self.session_done(cx, index);
        }
    }

    /// Every session's results, in the order they started.
    pub fn sessions(&self) -> Vec<FtpSessionResult> {
        self.sessions
            .iter()
            .map(|s| FtpSessionResult {
                server: s.server,
                user: s.user.clone(),
                mode: s.mode,
                logged_in: s.machine.logged_in(),
                login_code: s.machine.login_reply().map(|r| r.code),
                outcomes: s.machine.outcomes().to_vec(),
                downloads: s.downloads.clone(),
                listings: s.machine.listings().to_vec(),
                error: s.error.clone().or(s.machine.error().map(str::to_string)),
                done: s.finished,
            })
            .collect()
    }

    /// Every file downloaded, in order.
    pub fn downloads(&self) -> Vec<&Download> {
        self.sessions.iter().flat_map(|s| &s.downloads).collect()
    }

    /// The last download called `name` (or ending in `/name`).
    pub fn download(&self, name: &str) -> Option<&Download> {
        self.downloads()
            .into_iter()
            .rev()
            .find(|d| d.is_called(name))
    }

    /// True when every session started so far is over.
    pub fn all_done(&self) -> bool {
        self.sessions.iter().all(|s| s.finished)
    }

    // ----- driving the machine -----

    fn drive(
        &mut self,
        cx: &mut AppCx<'_>,
        index: usize,
        call: impl FnOnce(&mut FtpClient, &mut dyn DataPorts),
    ) {
        let Some(session) = self.sessions.get_mut(index) else {
            return;
        };
        if session.finished {
            return;
        }
        let mut ports = ClientPorts {
            cx: &mut *cx,
            side: &mut session.side,
            shared: &mut self.shared,
        };
        call(&mut session.machine, &mut ports);
        self.pump(cx, index);
    }

    fn pump(&mut self, cx: &mut AppCx<'_>, index: usize) {
        loop {
            let Some(session) = self.sessions.get_mut(index) else {
                return;
            };
            self.tls
                .send_output(cx, session.control, &mut session.machine);
            // 234 to AUTH TLS: TLS under the control connection, then the
            // machine goes on (PBSZ, PROT, USER) inside it.
            let config = session
                .tls
                .as_ref()
                .map(|(c, name)| (c.clone(), name.as_str()));
            if self
                .tls
                .upgrade_client(cx, session.control, &mut session.machine, config)
            {
                continue;
            }
            // The server records the dialogue; the client's copy of it
            // would only repeat every line.
            crate::apps::pump::skip_dialogue(&mut session.machine);
            report_progress(cx, session);
            let Some(request) = session.machine.poll_data_request() else {
                if session.machine.wants_close() && !session.closing {
                    session.closing = true;
                    cx.close(session.control);
                }
                return;
            };
            self.data_request(cx, index, request);
        }
    }

    fn data_request(&mut self, cx: &mut AppCx<'_>, index: usize, request: DataRequest) {
        let Some(session) = self.sessions.get_mut(index) else {
            return;
        };
        let side = &mut session.side;
        match request {
            DataRequest::Connect { to } => {
                release(cx, side, &mut self.shared);
                match cx.connect(to, Protocol::FtpData) {
                    Ok(conn) => {
                        side.data = DataConn::Connecting { conn };
                        side.generation += 1;
                        self.shared.data_conns.insert(conn, index);
                        let generation = side.generation;
                        let token =
                            self.shared
                                .timers
                                .set(cx, CLIENT_DATA_TIMEOUT, (index, generation));
                        side.timer = Some(token);
                    }
                    Err(_) => self.drive(cx, index, |m, p| m.handle_data_failed(p)),
                }
            }
            DataRequest::Send(bytes) => {
                if let DataConn::Open { conn } = side.data {
                    self.tls.send(cx, conn, bytes);
                }
            }
            DataRequest::Close => {
                if let DataConn::Open { conn } = side.data {
                    side.data = DataConn::Closing { conn };
                    self.tls.close(cx, conn);
                }
            }
            DataRequest::Abort => release(cx, side, &mut self.shared),
        }
    }

    fn session_done(&mut self, cx: &mut AppCx<'_>, index: usize) {
        let Some(session) = self.sessions.get_mut(index) else {
            return;
        };
        report_progress(cx, session);
        session.finished = true;
        let outcomes = session.machine.outcomes();
        let failed = outcomes.iter().filter(|o| !o.ok()).count();
        let mut fields = vec![
            ("server", Value::from(session.server.to_string())),
            ("user", session.user.as_str().into()),
            ("logged_in", session.machine.logged_in().into()),
            ("steps", outcomes.len().into()),
            ("failed", failed.into()),
            ("downloads", session.downloads.len().into()),
        ];
        if let Some(e) = session.error.as_deref().or(session.machine.error()) {
            fields.push(("error", e.into()));
        }
        cx.emit(&events::FTP_SESSION_DONE, fields);
    }

    // ----- events -----

    fn connected(&mut self, cx: &mut AppCx<'_>, conn: ConnId) {
        // A control connection waits for the 220 greeting; a data
        // connection (passive mode) is reported to the machine.
        let Some(&index) = self.shared.data_conns.get(&conn) else {
            return;
        };
        let Some(session) = self.sessions.get_mut(index) else {
            return;
        };
        if session.side.data == (DataConn::Connecting { conn }) {
            session.side.data = DataConn::Open { conn };
            let timer = session.side.timer.take();
            self.shared.timers.cancel(cx, timer);
            self.protect_data(cx, index, conn);
            self.drive(cx, index, |m, p| m.handle_data_connected(p));
        }
    }

    fn accepted(&mut self, cx: &mut AppCx<'_>, conn: ConnId, port: u16) {
        let Some(index) = self.shared.listeners.remove(&port) else {
            return cx.abort(conn);
        };
        cx.unlisten(port);
        let Some(session) = self.sessions.get_mut(index) else {
            return cx.abort(conn);
        };
        if session.side.data != (DataConn::Listening { port }) {
            return cx.abort(conn);
        }
        session.side.data = DataConn::Open { conn };
        let timer = session.side.timer.take();
        self.shared.timers.cancel(cx, timer);
        self.shared.data_conns.insert(conn, index);
        self.protect_data(cx, index, conn);
        self.drive(cx, index, |m, p| m.handle_data_connected(p));
    }

    /// PROT P: TLS on the new data connection, the client as TLS client
    /// whoever opened it (RFC 4217 §7).
    fn protect_data(&mut self, cx: &mut AppCx<'_>, index: usize, conn: ConnId) {
        let Some(session) = self.sessions.get(index) else {
            return;
        };
        if session.machine.data_protected()
            && let Some((config, name)) = session.tls.clone()
        {
            self.tls.start_client(cx, conn, config, &name);
        }
    }

    fn on_data(&mut self, cx: &mut AppCx<'_>, conn: ConnId, data: Bytes) {
        let data = self.tls.receive(cx, conn, data);
        if let Some(&index) = self.controls.get(&conn) {
            self.drive(cx, index, |m, p| m.handle_input(&data, p));
        } else if let Some(&index) = self.shared.data_conns.get(&conn) {
            self.drive(cx, index, |m, _| m.handle_data_input(&data));
        }
    }

    fn on_peer_closed(&mut self, cx: &mut AppCx<'_>, conn: ConnId) {
        if let Some(&index) = self.controls.get(&conn) {
            let session = &mut self.sessions[index];
            session.machine.handle_close();
            if !session.closing {
                session.closing = true;
                cx.close(conn);
            }
            self.pump(cx, index);
        } else if let Some(&index) = self.shared.data_conns.get(&conn) {
            let session = &mut self.sessions[index];
            if session.side.data == (DataConn::Open { conn }) {
                // The server closed first: the end of a download (stream
                // mode, RFC 959 §3.4.1).
                session.side.data = DataConn::None;
                cx.close(conn);
                self.drive(cx, index, |m, p| m.handle_data_closed(p));
            }
        }
    }

    fn on_closed(&mut self, cx: &mut AppCx<'_>, conn: ConnId, error: Option<String>) {
        self.tls.remove(conn);
        if let Some(index) = self.controls.remove(&conn) {
            let session = &mut self.sessions[index];
            if let Some(e) = error
                && !session.machine.is_done()
            {
                session
                    .error
                    .get_or_insert(format!("control connection: {e}"));
            }
            session.machine.handle_close();
            self.pump(cx, index);
            release(cx, &mut self.sessions[index].side, &mut self.shared);
            self.session_done(cx, index);
        } else if let Some(index) = self.shared.data_conns.remove(&conn) {
            let session = &mut self.sessions[index];
            match session.side.data {
                DataConn::Closing { conn: c } if c == conn => {
                    session.side.data = DataConn::None;
                    if error.is_none() {
                        self.drive(cx, index, |m, p| m.handle_data_sent(p));
                    } else {
                        self.drive(cx, index, |m, p| m.handle_data_failed(p));
                    }
                }
                DataConn::Connecting { conn: c } | DataConn::Open { conn: c } if c == conn => {
                    session.side.data = DataConn::None;
                    let timer = session.side.timer.take();
                    self.shared.timers.cancel(cx, timer);
                    self.drive(cx, index, |m, p| m.handle_data_failed(p));
                }
                _ => {}
            }
        }
    }

    fn timeout(&mut self, cx: &mut AppCx<'_>, index: usize, generation: u64) {
        let Some(session) = self.sessions.get_mut(index) else {
            return;
        };
        if session.side.generation != generation {
            return;
        }
        session.side.timer = None;
        match session.side.data {
            DataConn::Listening { .. } | DataConn::Connecting { .. } => {
                release(cx, &mut session.side, &mut self.shared);
                self.drive(cx, index, |m, p| m.handle_data_failed(p));
            }
            _ => {}
        }
    }
}

/// Reports new step failures and downloads as trace events.
fn report_progress(cx: &mut AppCx<'_>, session: &mut ClientSession) {
    let outcomes = session.machine.outcomes();
    for outcome in &outcomes[session.reported_outcomes..] {
        let retrieved = outcome.command.starts_with("RETR ");
        if retrieved
            && outcome.ok()
            && let Some(data) = &outcome.data
        {
            let name = &outcome.command["RETR ".len()..];
            let download = Download::new("ftp", name, data.clone());
            download.trace(cx);
            session.downloads.push(download);
        }
        if !outcome.ok() {
            let mut fields = vec![("command", Value::from(outcome.command.clone()))];
            if let Some(code) = outcome.code {
                fields.push(("code", code.into()));
            }
            fields.push(("text", outcome.text.clone().into()));
            cx.emit(&events::FTP_STEP_FAILED, fields);
        }
    }
    session.reported_outcomes = outcomes.len();
}

/// Drops whatever data connection or listener a session has.
fn release(cx: &mut AppCx<'_>, side: &mut ClientSide, shared: &mut ClientShared) {
    shared.timers.cancel(cx, side.timer.take());
    match side.data {
        DataConn::None => {}
        DataConn::Listening { port } => {
            cx.unlisten(port);
            shared.listeners.remove(&port);
        }
        DataConn::Connecting { conn } | DataConn::Open { conn } | DataConn::Closing { conn } => {
            cx.abort(conn);
            shared.data_conns.remove(&conn);
        }
    }
    side.data = DataConn::None;
}

/// Active mode: the client listens and names the port in PORT/EPRT.
struct ClientPorts<'a, 'b> {
    cx: &'a mut AppCx<'b>,
    side: &'a mut ClientSide,
    shared: &'a mut ClientShared,
}

impl DataPorts for ClientPorts<'_, '_> {
    fn open_listener(&mut self) -> Option<SocketAddrV4> {
        release(self.cx, self.side, self.shared);
        if self.shared.next_port == 0 {
            self.shared.next_port = super::ACTIVE_PORTS.0;
        }
        let port = listen_in_range(self.cx, super::ACTIVE_PORTS, &mut self.shared.next_port)?;
        self.shared.listeners.insert(port, self.side.index);
        self.side.data = DataConn::Listening { port };
        self.side.generation += 1;
        let timer = (self.side.index, self.side.generation);
        let token = self.shared.timers.set(self.cx, CLIENT_DATA_TIMEOUT, timer);
        self.side.timer = Some(token);
        Some(SocketAddrV4::new(self.side.local_ip, port))
    }
}

impl Application for FtpUser {
    fn kind(&self) -> &'static str {
        "FTP client"
    }

    fn handle_event(&mut self, cx: &mut AppCx<'_>, event: AppEvent) {
        match event {
            AppEvent::Connected { conn } => self.connected(cx, conn),
            AppEvent::Accepted { conn, port } => self.accepted(cx, conn, port),
            AppEvent::Data { conn, data } => self.on_data(cx, conn, data),
            AppEvent::PeerClosed { conn } => self.on_peer_closed(cx, conn),
            AppEvent::Closed { conn, error } => {
                self.on_closed(cx, conn, error.map(|e| e.name().to_string()))
            }
            AppEvent::Timer { token } => {
                if let Some((index, generation)) = self.shared.timers.take(token) {
                    self.timeout(cx, index, generation);
                }
            }
            AppEvent::Crashed => {
                for index in 0..self.sessions.len() {
                    let session = &mut self.sessions[index];
                    if !session.finished {
                        session.finished = true;
                        session.error.get_or_insert("host crashed".to_string());
                    }
                }
                self.controls.clear();
                self.shared = ClientShared::default();
            }
            AppEvent::Start
            | AppEvent::Writable { .. }
            | AppEvent::Datagram { .. }
            | AppEvent::Sniffed { .. }
            | AppEvent::RawPacket { .. } => {}
        }
    }

    fn inspect(&self) -> Option<Inspect> {
        let sessions = self
            .sessions()
            .into_iter()
            .map(|s| {
                let mode = match s.mode {
                    DataMode::Active => "active",
                    DataMode::Passive => "passive",
                };
                let state = if s.done { "done" } else { "running" };
                let mut children: Vec<Inspect> = s
                    .outcomes
                    .iter()
                    .map(|o| {
                        let code = o.code.map_or("--".to_string(), |c| c.to_string());
                        Inspect::leaf(format!("{}  -> {code} {}", o.command, o.text))
                    })
                    .collect();
                children.extend(s.downloads.iter().map(|d| {
                    Inspect::leaf(format!(
                        "downloaded {}: {} bytes, sha256 {}",
                        d.name,
                        d.data.len(),
                        &d.sha256[..16]
                    ))
                }));
                if let Some(e) = &s.error {
                    children.push(Inspect::leaf(format!("error: {e}")));
                }
                Inspect::node(
                    format!("{}@{} ({mode} mode, {state})", s.user, s.server),
                    children,
                )
            })
            .collect();
        Some(Inspect::node("FTP sessions", sessions))
    }

    fn sessions(&self) -> Vec<SessionState> {
        let mut out = Vec::new();
        for s in self.sessions.iter().filter(|s| !s.finished) {
            out.push(SessionState {
                conn: s.control,
                layer: "ftp",
                role: "client",
                state: s.machine.state_name(),
                states: CLIENT_STATES,
                transitions: CLIENT_TRANSITIONS,
            });
            if let (Some(conn), Some(state)) = (s.side.data.conn(), s.side.data.state_name()) {
                out.push(SessionState {
                    conn,
                    layer: "ftp",
                    role: "client",
                    state,
                    states: super::DATA_STATES,
                    transitions: super::DATA_TRANSITIONS,
                });
            }
        }
        out
    }
}
