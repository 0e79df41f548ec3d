//! The FTP side of the file server: each session's control connection
//! and the data connections its machine asks for.
//!
//! RFC 959 §3.2 gives FTP a connection for each transfer: in active mode
//! (`DataRequest::Connect` after PORT/EPRT) the server opens it from port
//! 20 to the address the client named; in passive mode
//! (`DataPorts::open_listener` during PASV/EPSV) it listens on a port of
//! the passive range, lets only the control connection's client take it
//! (RFC 2577 §8) and stops listening. A data connection that does not open
//! within the data timeout is given up and answered with 425. Uploads are
//! noted as the machine makes them, so the application can trace each
//! stored file.

use super::super::events;
use super::super::{DataConn, Timers, listen_in_range};
use super::{FileServer, FileServerConfig, trace_stored};
use crate::apps::vfs::{VPath, Vfs};
use crate::net::{AppCx, ConnId};
use crate::proto::Session;
use crate::proto::Transcript;
use crate::proto::ftp::{
    self, DataPorts, DataRequest, FileError, FileInfo, FtpBackend, FtpServer, FtpServerConfig,
};
use crate::sim::SimDuration;
use crate::trace::{ConnName, Layer, Party, Protocol, Value};
use bytes::Bytes;
use std::collections::BTreeMap;
use std::net::{Ipv4Addr, SocketAddrV4};

/// A finished data connection, for the inspector.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct DataRecord {
    /// "server" (active mode) or "client" (passive mode).
    pub(super) opened_by: &'static str,
    pub(super) server_port: u16,
    pub(super) client: SocketAddrV4,
    pub(super) sent: u64,
    pub(super) received: u64,
}

/// The server's end of one FTP control connection and its data
/// connection, apart from the machine (so both can be borrowed at once).
#[derive(Debug)]
pub(super) struct DataSide {
    control: ConnId,
    /// The client's end of the control connection.
    pub(super) client: SocketAddrV4,
    /// Our address on the control connection: where passive clients go.
    local_ip: Ipv4Addr,
    pub(super) data: DataConn,
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

pub(super) struct FtpSession {
    pub(super) server: FtpServer,
    pub(super) side: DataSide,
    /// We asked TCP to close the control connection.
    closing: bool,
}

/// What the app knows about a data connection while it exists.
#[derive(Debug, Clone)]
pub(super) struct DataInfo {
    control: ConnId,
    opened_by: &'static str,
    server_port: u16,
    client: SocketAddrV4,
    sent: u64,
    received: u64,
}

/// A data-connection timeout.
#[derive(Debug, Clone, Copy)]
pub(super) struct DataTimer {
    control: ConnId,
    generation: u64,
}

/// State shared by all FTP sessions of the server.
#[derive(Debug)]
pub(super) struct Shared {
    /// Passive listeners: port -> the control connection waiting on it.
    pub(super) listeners: BTreeMap<u16, ConnId>,
    /// Open data connections.
    pub(super) data_conns: BTreeMap<ConnId, DataInfo>,
    next_passive: u16,
    passive_ports: (u16, u16),
    data_timeout: SimDuration,
    pub(super) timers: Timers<DataTimer>,
    pub(super) log: Vec<DataRecord>,
}
impl Shared {
    /// No listeners, no data connections yet.
    pub(super) fn new(config: &FileServerConfig) -> Shared {
        Shared {
            listeners: BTreeMap::new(),
            data_conns: BTreeMap::new(),
            next_passive: config.passive_ports.0,
            passive_ports: config.passive_ports,
            data_timeout: config.data_timeout,
            timers: Timers::default(),
            log: Vec::new(),
        }
    }
}

impl FileServer {
    pub(super) fn ftp_accepted(
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
    pub(super) fn drive(
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
    pub(super) fn pump_ftp(&mut self, cx: &mut AppCx<'_>, control: ConnId) {
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
            self.tls_conns.send_output(cx, control, &mut session.server);
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

    pub(super) fn passive_connected(
        &mut self,
        cx: &mut AppCx<'_>,
        control: ConnId,
        conn: ConnId,
        port: u16,
    ) {
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

    pub(super) fn active_connected(&mut self, cx: &mut AppCx<'_>, conn: ConnId) {
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

    pub(super) fn data_input(&mut self, cx: &mut AppCx<'_>, conn: ConnId, data: Bytes) {
        let Some(info) = self.shared.data_conns.get_mut(&conn) else {
            return;
        };
        info.received += data.len() as u64;
        let control = info.control;
        self.drive(cx, control, |s, _, _, _| s.handle_data_input(&data));
    }

    pub(super) fn data_peer_closed(&mut self, cx: &mut AppCx<'_>, conn: ConnId) {
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

    pub(super) fn data_closed(&mut self, cx: &mut AppCx<'_>, conn: ConnId, error: Option<String>) {
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

    pub(super) fn data_timeout(&mut self, cx: &mut AppCx<'_>, timer: DataTimer) {
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

    pub(super) fn control_gone(&mut self, cx: &mut AppCx<'_>, control: ConnId, closed: bool) {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::apps::vfs::Account;

    #[test]
    fn the_recorder_notes_what_the_machine_stored() {
        let mut vfs = Vfs::new();
        vfs.add_user(
            "alice",
            Account::new("pw", VPath::parse("/alice").unwrap()),
            0,
        )
        .unwrap();
        let mut recorder = Recorder {
            vfs: &mut vfs,
            stored: Vec::new(),
        };
        assert!(recorder.authenticate("alice", "pw"));
        recorder.make_dir("alice", "/", "docs", 0).unwrap();
        recorder
            .write("alice", "/docs", "a.txt", Bytes::from_static(b"a"), 0)
            .unwrap();
        recorder
            .append("alice", "/", "docs/a.txt", b"b", 0)
            .unwrap();
        // A failed write is not noted.
        assert!(
            recorder
                .write("alice", "/", "nowhere/b.txt", Bytes::new(), 0)
                .is_err()
        );
        let a = VPath::parse("/alice/docs/a.txt").unwrap();
        assert_eq!(recorder.stored, vec![a.clone(), a.clone()]);
        assert_eq!(vfs.get_file(&a).unwrap(), &b"ab"[..]);
    }

    #[test]
    fn shared_state_starts_empty_at_the_first_passive_port() {
        let config = FileServerConfig {
            passive_ports: (50_000, 50_009),
            ..FileServerConfig::default()
        };
        let shared = Shared::new(&config);
        assert_eq!(shared.next_passive, 50_000);
        assert_eq!(shared.data_timeout, config.data_timeout);
        assert!(shared.listeners.is_empty() && shared.data_conns.is_empty());
    }
}
