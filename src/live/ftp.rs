//! FTP in the live mode: the control connection a real client opened, and
//! real data connections, one per transfer, as RFC 959 has them.
//!
//! Passive mode (PASV/EPSV) opens a real listening socket on a port of the
//! configured range and accepts one connection on it. Active mode
//! (PORT/EPRT) connects back to the client's address, which must be on
//! loopback: the live mode never opens connections to other machines. A
//! real server would connect from port 20; that needs root, so the live
//! mode connects from an ephemeral port (clients do not check).
//!
//! One thread serves a session: it watches the control connection, the
//! passive listener and the data connection without blocking on any of
//! them, so an ABOR on the control connection is seen during a transfer.

use super::conn::Dialogue;
use super::{LiveHost, Service, Shared, lock, v4};
use crate::apps::vfs::{VPath, Vfs};
use crate::proto::ftp::{DataPorts, DataRequest, FtpServer, FtpServerConfig};
use crate::proto::tls::TlsLayer;
use crate::proto::{Session, Transcript};
use bytes::Bytes;
use std::collections::VecDeque;
use std::io::{ErrorKind, Read, Write};
use std::net::{Ipv4Addr, Shutdown, SocketAddr, SocketAddrV4, TcpListener, TcpStream};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

/// A file server's state in the live mode: a copy of the scenario's
/// [`FileServer`](crate::apps::files::FileServer), as the scenario built it.
pub struct FilesHost {
    pub vfs: Vfs,
    /// The directory HTTP serves as `/`.
    pub web_root: VPath,
    pub ftp: bool,
    pub http: bool,
    /// SSH (scp, and `ls`/`cat`/`pwd` over `ssh`).
    pub scp: bool,
    /// The seed of the SSH host key: the simulated server's own, or one
    /// derived from the scenario's seed and the host's name, so the same
    /// scenario always shows the same fingerprint.
    pub host_secret: [u8; 32],
    pub telnet: bool,
}

/// The file server of a scenario host, if it has one.
pub(super) fn files_of(run: &crate::scenario::Run, seed: u64, host: &str) -> Option<FilesHost> {
    run.app::<crate::apps::files::FileServer>(host)
        .map(|server| FilesHost {
            vfs: server.vfs().clone(),
            web_root: server.config().web_root.clone(),
            ftp: server.config().ftp,
            http: server.config().http,
            scp: server.config().scp,
            host_secret: server.host_secret().unwrap_or_else(|| {
                use sha2::{Digest, Sha256};
                Sha256::new()
                    .chain_update(b"wiretale ssh host key\0")
                    .chain_update(seed.to_be_bytes())
                    .chain_update(host.as_bytes())
                    .finalize()
                    .into()
            }),
            telnet: server.config().telnet,
        })
}

/// Opens passive-mode listeners on the configured range.
struct Ports<'a> {
    range: (u16, u16),
    listener: &'a mut Option<TcpListener>,
    /// The data connection the new listener replaces, if any.
    data: &'a mut Option<DataConn>,
}

impl DataPorts for Ports<'_> {
    fn open_listener(&mut self) -> Option<SocketAddrV4> {
        *self.data = None;
        for port in self.range.0..=self.range.1 {
            if let Ok(l) = TcpListener::bind((Ipv4Addr::LOCALHOST, port)) {
                let _ = l.set_nonblocking(true);
                let addr = l.local_addr().ok().map(v4);
                *self.listener = Some(l);
                return addr;
            }
        }
        None
    }
}

/// A data connection and what is still to be written on it.
struct DataConn {
    stream: TcpStream,
    out: VecDeque<Bytes>,
    /// Close once `out` is written (the end of a download).
    closing: bool,
    /// Application bytes moved (plaintext, under TLS).
    bytes: u64,
    /// PROT P: TLS with the server as TLS server (RFC 4217 §7).
    tls: Option<TlsLayer>,
    /// Ciphertext waiting for the socket.
    wire: Vec<u8>,
    close_notify_sent: bool,
}

impl DataConn {
    fn new(stream: TcpStream, tls: Option<TlsLayer>) -> DataConn {
        let _ = stream.set_nonblocking(true);
        let _ = stream.set_nodelay(true);
        DataConn {
            stream,
            out: VecDeque::new(),
            closing: false,
            bytes: 0,
            tls,
            wire: Vec::new(),
            close_notify_sent: false,
        }
    }
}

/// What became of the data connection in one turn.
enum DataTurn {
    Idle,
    Busy,
    /// Everything was sent and the connection closed.
    Sent,
    /// The client closed it (the end of an upload).
    Closed,
    Failed,
}

/// Writes what it can and reads what is there, without blocking.
fn pump(d: &mut DataConn, buf: &mut [u8], input: &mut Vec<u8>) -> DataTurn {
    let mut busy = false;
    if let Some(tls) = d.tls.as_mut() {
        // Under TLS the plaintext goes into the TLS layer at once and the
        // ciphertext waits in `wire`.
        while let Some(front) = d.out.pop_front() {
            d.bytes += front.len() as u64;
            tls.send(&front);
        }
        if d.closing && !d.close_notify_sent && !tls.is_handshaking() {
            tls.close();
            d.close_notify_sent = true;
        }
        d.wire.extend(tls.take_output());
        while !d.wire.is_empty() {
            match d.stream.write(&d.wire) {
                Ok(0) => return DataTurn::Failed,
                Ok(n) => {
                    busy = true;
                    d.wire.drain(..n);
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(_) => return DataTurn::Failed,
            }
        }
        if d.closing && d.close_notify_sent && d.wire.is_empty() {
            let _ = d.stream.shutdown(Shutdown::Write);
            return DataTurn::Sent;
        }
    } else {
        while let Some(front) = d.out.front_mut() {
            match d.stream.write(front) {
                Ok(0) => return DataTurn::Failed,
                Ok(n) => {
                    busy = true;
                    d.bytes += n as u64;
                    let _ = front.split_to(n);
                    if front.is_empty() {
                        d.out.pop_front();
                    }
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(_) => return DataTurn::Failed,
            }
        }
        if d.closing && d.out.is_empty() {
            let _ = d.stream.shutdown(Shutdown::Write);
            return DataTurn::Sent;
        }
    }
    loop {
        match d.stream.read(buf) {
            Ok(0) => return DataTurn::Closed,
            Ok(n) => {
                busy = true;
                match d.tls.as_mut() {
                    Some(tls) => {
                        let plain = tls.receive(&buf[..n]);
                        d.bytes += plain.len() as u64;
                        input.extend_from_slice(&plain);
                        if tls.error().is_some() {
                            return DataTurn::Failed;
                        }
                        if tls.peer_closed() {
                            // The end of an upload: answer close_notify
                            // (Python's ftplib waits for it), then close.
                            tls.close();
                            d.wire.extend(tls.take_output());
                            let _ = write_all(&mut d.stream, &d.wire);
                            return DataTurn::Closed;
                        }
                        d.wire.extend(tls.take_output());
                    }
                    None => {
                        d.bytes += n as u64;
                        input.extend_from_slice(&buf[..n]);
                    }
                }
                if input.len() >= 1 << 20 {
                    break;
                }
            }
            Err(e) if e.kind() == ErrorKind::WouldBlock => break,
            Err(_) => return DataTurn::Failed,
        }
    }
    if busy { DataTurn::Busy } else { DataTurn::Idle }
}

/// Writes all of `bytes` to a non-blocking stream, waiting as needed.
fn write_all(stream: &mut TcpStream, mut bytes: &[u8]) -> bool {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !bytes.is_empty() {
        match stream.write(bytes) {
            Ok(0) => return false,
            Ok(n) => bytes = &bytes[n..],
            Err(e) if e.kind() == ErrorKind::WouldBlock && Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(1));
            }
            Err(_) => return false,
        }
    }
    true
}

/// Flushes the control connection (non-blocking, through TLS after AUTH
/// TLS) and records the transcript; puts TLS under the session when the
/// machine just accepted AUTH TLS.
fn flush_control(
    stream: &mut TcpStream,
    m: &mut FtpServer,
    d: &Dialogue<'_>,
    tls: &mut Option<TlsLayer>,
) -> bool {
    super::conn::flush_tls(m, d, tls, &mut |b| write_all(stream, b))
}

/// Writes what the control connection's TLS has to send.
fn flush_tls(stream: &mut TcpStream, d: &Dialogue<'_>, tls: &mut Option<TlsLayer>) -> bool {
    super::conn::write_tls(d, tls, &mut |b| write_all(stream, b))
}

/// TLS for a new data connection, if PROT P is in force.
fn data_tls(m: &FtpServer, host: &LiveHost) -> Option<TlsLayer> {
    m.data_protected()
        .then(|| TlsLayer::server(host.tls.clone(), None).ok())
        .flatten()
}

/// The session's machine and its data-connection sockets.
struct FtpSession {
    m: FtpServer,
    listener: Option<TcpListener>,
    data: Option<DataConn>,
    range: (u16, u16),
}

impl FtpSession {
    /// Runs `f` with the file system locked and a passive-port opener.
    fn with_backend(
        &mut self,
        files: &std::sync::Mutex<FilesHost>,
        f: impl FnOnce(&mut FtpServer, &mut Vfs, &mut dyn DataPorts),
    ) {
        let FtpSession {
            m,
            listener,
            data,
            range,
        } = self;
        let mut ports = Ports {
            range: *range,
            listener,
            data,
        };
        let mut host = lock(files);
        let vfs = &mut host.vfs;
        f(m, vfs, &mut ports);
    }
}

/// Serves one FTP session.
pub(super) fn serve(mut control: TcpStream, peer: SocketAddrV4, shared: &Shared, k: usize) {
    let host: &LiveHost = &shared.hosts[k];
    let Some(files) = &host.files else { return };
    let Ok(local) = control.local_addr() else {
        return;
    };
    let d = Dialogue {
        shared,
        host,
        layer: crate::trace::Layer::Ftp,
        client: peer,
        conn: (peer, v4(local)),
    };
    let _ = control.set_nonblocking(true);
    let _ = control.set_nodelay(true);
    let mut ftp = FtpSession {
        m: FtpServer::new(FtpServerConfig {
            client_ip: Some(*peer.ip()),
            tls: true,
            ..FtpServerConfig::default()
        }),
        listener: None,
        data: None,
        range: shared.opts.passive_ports,
    };
    d.emit(
        "session_opened",
        vec![("service", Service::Ftp.name().into())],
    );
    let mut buf = vec![0u8; 64 * 1024];
    let mut input = Vec::new();
    let mut control_tls: Option<TlsLayer> = None;
    let mut last_heard = Instant::now();
    let mut why_closed = "client closed";
    'session: loop {
        // Dates of stored files and MDTM replies: now, not when the
        // session started.
        let now = shared.now_unix();
        if !flush_control(&mut control, &mut ftp.m, &d, &mut control_tls) {
            why_closed = "client stopped reading";
            break;
        }
        if ftp.m.wants_close() {
            why_closed = "server closed";
            break;
        }
        let mut busy = false;
        // Requests the machine made of the data connection.
        while let Some(req) = ftp.m.poll_data_request() {
            busy = true;
            match req {
                DataRequest::Connect { to } => {
                    let ok = to.ip().is_loopback()
                        && TcpStream::connect_timeout(&SocketAddr::V4(to), Duration::from_secs(5))
                            .map(|s| ftp.data = Some(DataConn::new(s, data_tls(&ftp.m, host))))
                            .is_ok();
                    d.emit(
                        "data_connection",
                        vec![
                            ("mode", "active".into()),
                            ("to", to.to_string().into()),
                            ("opened", ok.into()),
                        ],
                    );
                    if ok {
                        ftp.with_backend(files, |m, vfs, ports| {
                            m.handle_data_connected(vfs, ports, now)
                        });
                    } else {
                        ftp.with_backend(files, |m, vfs, ports| {
                            m.handle_data_failed(vfs, ports, now)
                        });
                    }
                }
                DataRequest::Send(bytes) => {
                    if let Some(c) = ftp.data.as_mut() {
                        c.out.push_back(bytes);
                    }
                }
                DataRequest::Close => {
                    if let Some(c) = ftp.data.as_mut() {
                        c.closing = true;
                    }
                }
                DataRequest::Abort => {
                    ftp.data = None;
                    ftp.listener = None;
                }
            }
            if !flush_control(&mut control, &mut ftp.m, &d, &mut control_tls) {
                why_closed = "client stopped reading";
                break 'session;
            }
        }
        // A passive-mode client connecting.
        if ftp.data.is_none()
            && let Some(l) = ftp.listener.as_ref()
        {
            match l.accept() {
                Ok((s, from)) => {
                    busy = true;
                    ftp.listener = None;
                    let SocketAddr::V4(from) = from else { continue };
                    d.emit(
                        "data_connection",
                        vec![
                            ("mode", "passive".into()),
                            ("from", from.to_string().into()),
                            ("opened", true.into()),
                        ],
                    );
                    ftp.data = Some(DataConn::new(s, data_tls(&ftp.m, host)));
                    ftp.with_backend(files, |m, vfs, ports| {
                        m.handle_data_connected(vfs, ports, now)
                    });
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => {}
                Err(_) => {
                    ftp.listener = None;
                    ftp.with_backend(files, |m, vfs, ports| m.handle_data_failed(vfs, ports, now));
                }
            }
        }
        // The data connection.
        if let Some(c) = ftp.data.as_mut() {
            input.clear();
            let turn = pump(c, &mut buf, &mut input);
            if !input.is_empty() {
                ftp.m.handle_data_input(&input);
            }
            let bytes = c.bytes;
            match turn {
                DataTurn::Idle => {}
                DataTurn::Busy => {
                    busy = true;
                    last_heard = Instant::now();
                }
                DataTurn::Sent | DataTurn::Closed | DataTurn::Failed => {
                    busy = true;
                    ftp.data = None;
                    d.emit("data_connection_closed", vec![("bytes", bytes.into())]);
                    match turn {
                        DataTurn::Sent => ftp.with_backend(files, |m, vfs, ports| {
                            m.handle_data_sent(vfs, ports, now)
                        }),
                        DataTurn::Closed => ftp.with_backend(files, |m, vfs, ports| {
                            m.handle_data_closed(vfs, ports, now)
                        }),
                        _ => ftp.with_backend(files, |m, vfs, ports| {
                            m.handle_data_failed(vfs, ports, now)
                        }),
                    }
                }
            }
        }
        // The control connection.
        match control.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                busy = true;
                last_heard = Instant::now();
                let bytes = match control_tls.as_mut() {
                    Some(t) => {
                        let plain = t.receive(&buf[..n]);
                        let failed = t.error().is_some();
                        if !flush_tls(&mut control, &d, &mut control_tls) || failed {
                            why_closed = "TLS failed";
                            break;
                        }
                        plain
                    }
                    None => buf[..n].to_vec(),
                };
                ftp.with_backend(files, |m, vfs, ports| {
                    m.handle_input(&bytes, vfs, ports, now)
                });
            }
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::Interrupted) => {}
            Err(_) => {
                why_closed = "connection error";
                break;
            }
        }
        let stop = if shared.shutdown.load(Ordering::SeqCst) {
            Some("server shutting down")
        } else if ftp.data.is_none() && last_heard.elapsed() > shared.opts.idle_timeout {
            Some("idle for too long")
        } else {
            None
        };
        if let Some(why) = stop {
            let text = format!("421 {why}, closing control connection.");
            d.line(Transcript::Reply {
                code: Some(421),
                text: text.clone(),
            });
            match control_tls.as_mut() {
                Some(t) => {
                    t.send(format!("{text}\r\n").as_bytes());
                    let _ = flush_tls(&mut control, &d, &mut control_tls);
                }
                None => {
                    let _ = write_all(&mut control, format!("{text}\r\n").as_bytes());
                }
            }
            why_closed = why;
            break;
        }
        if !busy {
            std::thread::sleep(Duration::from_millis(2));
        }
    }
    ftp.m.handle_close();
    let _ = control.shutdown(Shutdown::Both);
    d.emit("session_closed", vec![("reason", why_closed.into())]);
}
