//! Live mode: a scenario's simulated servers on real loopback sockets.
//!
//! `wiretale serve SCENARIO` builds the scenario's world exactly as a run
//! would (users, mailboxes, files), takes the state of its servers, and
//! binds their services on 127.0.0.1: SMTP, submission, POP3 and IMAP of
//! mail servers; FTP, HTTP and TELNET of file and web servers. Bytes from
//! real sockets go into the very protocol machines the simulation uses, and
//! every session is traced like a simulated one, so the transcript of a
//! real client can be read afterwards.
//!
//! Each connection has its own thread; a server's state (mailboxes, the
//! file system) sits behind a lock that a session holds only while its
//! machine handles one read. A slow or silent client therefore stalls
//! nobody, and memory stays bounded: the machines limit line and message
//! sizes, a session that stays idle is closed, and the number of
//! concurrent sessions is capped.
//!
//! This is the one place where the wall clock reaches a trace or a
//! protocol machine: trace times are microseconds since the server
//! started, and dates in headers are real dates.
//!
//! SSH is served too where a file server offers SCP: OpenSSH's `scp -O`
//! copies files and `ssh` runs `ls`, `cat` and `pwd`, through the same
//! machine the simulated SCP users talk to.
//!
//! TLS: SMTP, POP3 and IMAP offer STARTTLS/STLS, and SMTPS (465), POP3S
//! (995), IMAPS (993) and HTTPS (443) are TLS from the first byte, with
//! certificates from the scenario's own CA (`wiretale serve --ca-out`).
//!
//! Mail between the scenario's servers is relayed over real SMTP
//! connections by the postman (`mail.rs`), with the simulation's queue,
//! retries and bounces. Not here: relaying to the Internet (mail for a
//! domain no served host receives is bounced to its sender).

mod conn;
mod ftp;
pub mod mail;
pub mod trace;

use crate::apps::mail::MailServer;
use crate::apps::vfs::Vfs;
use crate::scenario::Loaded;
use crate::trace::{Event, Layer, NodeId, Value};
use mail::MailHost;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::Duration;
pub use trace::{LiveFormat, LiveTrace};

/// How a live server runs.
#[derive(Debug, Clone)]
pub struct LiveOptions {
    /// Each service listens on `port_base + its port` (SMTP on 10025 with
    /// the default base); a second server host adds 1000, a third 2000.
    /// 0 lets the system choose free ports (tests).
    pub port_base: u16,
    /// Serve only this host of the scenario.
    pub host: Option<String>,
    /// Ports for FTP passive-mode data connections.
    pub passive_ports: (u16, u16),
    /// Sessions at once, over all services; more are turned away with the
    /// protocol's "busy" reply.
    pub max_sessions: usize,
    /// A session that says nothing for this long is closed.
    pub idle_timeout: Duration,
}

impl Default for LiveOptions {
    fn default() -> Self {
        LiveOptions {
            port_base: 10_000,
            host: None,
            passive_ports: (30_000, 30_999),
            max_sessions: 64,
            idle_timeout: Duration::from_secs(120),
        }
    }
}

/// Why a live server could not start.
#[derive(Debug, thiserror::Error)]
pub enum LiveError {
    #[error("no host called `{0}` in the scenario")]
    NoSuchHost(String),
    #[error("host `{0}` runs no service the live mode can serve (mail, FTP, HTTP, SSH or TELNET)")]
    NotAServer(String),
    #[error("the scenario has no server the live mode can serve (mail, FTP, HTTP, SSH or TELNET)")]
    NoServers,
    #[error("port {port} for {service} of {host} is beyond 65535; choose a lower --port-base")]
    PortTooHigh {
        host: String,
        service: &'static str,
        port: u32,
    },
    #[error("cannot listen on {addr} for {service} of {host}: {error}")]
    Bind {
        host: String,
        service: &'static str,
        addr: SocketAddr,
        error: std::io::Error,
    },
    #[error("the scenario does not build: {0}")]
    Build(String),
}

/// A protocol the live mode serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Service {
    Smtp,
    Submission,
    Pop3,
    Imap,
    Ftp,
    Http,
    /// SSH: scp, and `ls`, `cat`, `pwd` over `ssh`.
    Ssh,
    /// SMTP over TLS from the first byte (RFC 8314: port 465).
    Smtps,
    /// POP3 over TLS (port 995).
    Pop3s,
    /// IMAP over TLS (port 993).
    Imaps,
    /// HTTP over TLS (port 443).
    Https,
    /// TELNET: a login and a shell of `ls`, `cat`, `cd`, `pwd`.
    Telnet,
}

impl Service {
    /// Its name, as printed at start-up.
    pub fn name(self) -> &'static str {
        match self {
            Service::Smtp => "SMTP",
            Service::Submission => "submission",
            Service::Pop3 => "POP3",
            Service::Imap => "IMAP",
            Service::Ftp => "FTP",
            Service::Http => "HTTP",
            Service::Ssh => "SSH",
            Service::Smtps => "SMTPS",
            Service::Pop3s => "POP3S",
            Service::Imaps => "IMAPS",
            Service::Https => "HTTPS",
            Service::Telnet => "TELNET",
        }
    }

    /// Its well-known port.
    pub fn port(self) -> u16 {
        match self {
            Service::Smtp => 25,
            Service::Submission => 587,
            Service::Pop3 => 110,
            Service::Imap => 143,
            Service::Ftp => 21,
            Service::Http => 80,
            Service::Ssh => 22,
            Service::Smtps => 465,
            Service::Pop3s => 995,
            Service::Imaps => 993,
            Service::Https => 443,
            Service::Telnet => 23,
        }
    }

    /// True if the connection is TLS from the first byte.
    pub fn implicit_tls(self) -> bool {
        matches!(
            self,
            Service::Smtps | Service::Pop3s | Service::Imaps | Service::Https
        )
    }

    /// The trace layer of its dialogue.
    pub fn layer(self) -> Layer {
        match self {
            Service::Smtp | Service::Submission | Service::Smtps => Layer::Smtp,
            Service::Pop3 | Service::Pop3s => Layer::Pop3,
            Service::Imap | Service::Imaps => Layer::Imap,
            Service::Ftp => Layer::Ftp,
            Service::Http | Service::Https => Layer::Http,
            Service::Ssh => Layer::Scp,
            Service::Telnet => Layer::Telnet,
        }
    }
}

/// Where a live server's trace goes.
pub struct TraceSink {
    /// Each line is written here as it happens (stdout, a file), if set.
    pub out: Option<Box<dyn std::io::Write + Send>>,
    pub format: LiveFormat,
    /// Also keep the lines in memory, for [`LiveServer::trace_lines`].
    pub keep_lines: bool,
}

/// A bound service.
#[derive(Debug, Clone)]
pub struct Bound {
    pub host: String,
    pub service: Service,
    pub addr: SocketAddr,
}

/// A scenario host served live.
pub(crate) struct LiveHost {
    pub name: String,
    pub node: NodeId,
    pub mail: Option<Mutex<MailHost>>,
    pub files: Option<Mutex<ftp::FilesHost>>,
    /// Its TLS server configuration (STARTTLS and the implicit-TLS ports).
    pub tls: Arc<rustls::ServerConfig>,
}

/// What every session thread shares.
pub(crate) struct Shared {
    /// The scenario CA's certificate, for `--ca-out`.
    pub ca_pem: String,
    pub opts: LiveOptions,
    pub trace: Mutex<LiveTrace>,
    pub hosts: Vec<LiveHost>,
    pub sessions: AtomicUsize,
    pub shutdown: AtomicBool,
    /// Where each host's live SMTP port is (the postman relays there).
    pub smtp_addrs: Vec<Option<SocketAddr>>,
    /// Rung when mail is queued, and at shutdown.
    pub doorbell: mail::Doorbell,
}

/// Locks a mutex even if a session thread panicked while holding it: the
/// state is plain data and stays usable.
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Shared {
    pub fn trace(&self, event: Event) {
        lock(&self.trace).push(event);
    }

    pub fn emit(
        &self,
        layer: Layer,
        host: NodeId,
        event: &'static str,
        fields: Vec<(&'static str, Value)>,
    ) {
        self.trace(Event::App {
            layer,
            host,
            event,
            fields,
        });
    }

    /// Records an application's event of `kind` on host `node`.
    pub fn record(
        &self,
        node: NodeId,
        kind: &'static crate::trace::EventKind,
        fields: Vec<(&'static str, Value)>,
    ) {
        self.emit(kind.layer, node, kind.name, fields);
    }

    /// The live server's clock: time since it started, as in its trace.
    pub fn now(&self) -> crate::sim::SimTime {
        lock(&self.trace).now()
    }

    /// Now, for a post office.
    pub fn at(&self) -> crate::apps::mail::office::At {
        crate::apps::mail::office::At {
            now: self.now(),
            unix: self.now_unix(),
        }
    }

    /// The address of host `k`'s live SMTP port, if it serves one.
    pub fn smtp_addr(&self, k: usize) -> Option<SocketAddr> {
        self.smtp_addrs.get(k).copied().flatten()
    }

    /// The current date for headers: the live mode uses real time.
    pub fn now_unix(&self) -> i64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64)
    }
}

/// A running live server.
pub struct LiveServer {
    bound: Vec<Bound>,
    shared: Arc<Shared>,
    threads: Vec<JoinHandle<()>>,
}

impl LiveServer {
    /// Builds the scenario, binds its services and starts serving.
    pub fn start(
        loaded: &Loaded,
        opts: LiveOptions,
        sink: TraceSink,
    ) -> Result<LiveServer, LiveError> {
        let s = &loaded.scenario;
        let run =
            crate::scenario::build(s, s.seed).map_err(|e| LiveError::Build(format!("{e:?}")))?;
        if let Some(h) = &opts.host
            && !run.nodes.contains_key(h)
        {
            return Err(LiveError::NoSuchHost(h.clone()));
        }
        // The scenario's certificate authority: the same for the same
        // seed, so `--ca-out` need be written only once.
        let pki =
            crate::proto::tls::pki::ScenarioPki::new(s.seed, &s.title).map_err(LiveError::Build)?;
        let mut hosts = Vec::new();
        let mut wanted: Vec<(usize, Service)> = Vec::new();
        for (name, &node) in &run.nodes {
            if opts.host.as_ref().is_some_and(|h| h != name) {
                continue;
            }
            let mail = run.app::<MailServer>(name).map(|m| {
                Mutex::new(MailHost::new(
                    m.office().clone(),
                    m.config().max_message_size,
                ))
            });
            let files = ftp::files_of(&run, s.seed, name);
            if mail.is_none() && files.is_none() {
                continue;
            }
            let k = hosts.len();
            if mail.is_some() {
                wanted.extend(
                    [
                        Service::Smtp,
                        Service::Submission,
                        Service::Pop3,
                        Service::Imap,
                        Service::Smtps,
                        Service::Pop3s,
                        Service::Imaps,
                    ]
                    .map(|s| (k, s)),
                );
            }
            if let Some(f) = &files {
                if f.ftp {
                    wanted.push((k, Service::Ftp));
                }
                if f.http {
                    wanted.push((k, Service::Http));
                    wanted.push((k, Service::Https));
                }
                if f.scp {
                    wanted.push((k, Service::Ssh));
                }
                if f.telnet {
                    wanted.push((k, Service::Telnet));
                }
            }
            // Each host's certificate, for its name and the loopback.
            let tls = pki
                .host_cert(name)
                .and_then(|cert| crate::proto::tls::server_config(cert, None))
                .map_err(LiveError::Build)?;
            hosts.push(LiveHost {
                name: name.clone(),
                node,
                mail,
                files: files.map(Mutex::new),
                tls,
            });
        }
        if hosts.is_empty() {
            return Err(match &opts.host {
                Some(h) => LiveError::NotAServer(h.clone()),
                None => LiveError::NoServers,
            });
        }
        // Bind everything first, so a port in use fails before anything
        // is served.
        let mut listeners = Vec::new();
        for (k, service) in wanted {
            let host = hosts[k].name.clone();
            let port = if opts.port_base == 0 {
                0
            } else {
                u32::from(opts.port_base) + 1000 * k as u32 + u32::from(service.port())
            };
            let port = u16::try_from(port).map_err(|_| LiveError::PortTooHigh {
                host: host.clone(),
                service: service.name(),
                port,
            })?;
            let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
            let listener = TcpListener::bind(addr).map_err(|error| LiveError::Bind {
                host: host.clone(),
                service: service.name(),
                addr,
                error,
            })?;
            let addr = listener.local_addr().unwrap_or(addr);
            listeners.push((
                k,
                service,
                listener,
                Bound {
                    host,
                    service,
                    addr,
                },
            ));
        }
        let names = crate::trace::Trace {
            records: Vec::new(),
            packets: Vec::new(),
            ..run.world.trace().clone()
        };
        let mut trace = LiveTrace::new(names, sink.out, sink.format);
        if sink.keep_lines {
            trace.keep_lines();
        }
        let ca_pem = pki.ca_pem().to_string();
        let mut smtp_addrs = vec![None; hosts.len()];
        for (k, service, _, b) in &listeners {
            if *service == Service::Smtp {
                smtp_addrs[*k] = Some(b.addr);
            }
        }
        let shared = Arc::new(Shared {
            ca_pem,
            opts,
            trace: Mutex::new(trace),
            hosts,
            sessions: AtomicUsize::new(0),
            shutdown: AtomicBool::new(false),
            smtp_addrs,
            doorbell: mail::Doorbell::default(),
        });
        let mut bound = Vec::new();
        let mut threads = Vec::new();
        for (k, service, listener, b) in listeners {
            let shared = shared.clone();
            // A blocking accept: a connection is taken the moment it
            // arrives; shutdown wakes the thread by connecting to it.
            let _ = listener.set_nonblocking(false);
            threads.push(std::thread::spawn(move || {
                accept_loop(listener, shared, k, service)
            }));
            bound.push(b);
        }
        // The postman delivers what the mail servers queue.
        if shared.hosts.iter().any(|h| h.mail.is_some()) {
            let shared = shared.clone();
            threads.push(std::thread::spawn(move || mail::postman(shared)));
        }
        Ok(LiveServer {
            bound,
            shared,
            threads,
        })
    }

    /// The services and where they listen.
    pub fn bound(&self) -> &[Bound] {
        &self.bound
    }

    /// The address of a host's service.
    pub fn addr(&self, host: &str, service: Service) -> Option<SocketAddr> {
        self.bound
            .iter()
            .find(|b| b.host == host && b.service == service)
            .map(|b| b.addr)
    }

    /// A copy of a mail host's mailboxes, as they are now.
    pub fn mail_store(&self, host: &str) -> Option<crate::apps::mail::store::MailStore> {
        let h = self.shared.hosts.iter().find(|h| h.name == host)?;
        Some(lock(h.mail.as_ref()?).office.store.clone())
    }

    /// A copy of a mail host's outbound queue, as it is now.
    pub fn mail_queue(&self, host: &str) -> Option<crate::apps::mail::OutboundQueue> {
        let h = self.shared.hosts.iter().find(|h| h.name == host)?;
        Some(lock(h.mail.as_ref()?).office.queue.clone())
    }

    /// A copy of a file server's files, as they are now.
    /// The certificate of the scenario's CA (PEM): real clients verify the
    /// servers' certificates with it (`curl --cacert`).
    pub fn ca_pem(&self) -> &str {
        &self.shared.ca_pem
    }

    /// The SSH host public key of `host`, if it serves SSH.
    pub fn ssh_host_key(&self, host: &str) -> Option<[u8; 32]> {
        let h = self.shared.hosts.iter().find(|h| h.name == host)?;
        let files = lock(h.files.as_ref()?);
        files
            .scp
            .then(|| crate::proto::ssh::HostKey::from_seed(&files.host_secret).public())
    }

    pub fn files(&self, host: &str) -> Option<Vfs> {
        let h = self.shared.hosts.iter().find(|h| h.name == host)?;
        Some(lock(h.files.as_ref()?).vfs.clone())
    }

    /// Sessions open now.
    pub fn sessions(&self) -> usize {
        self.shared.sessions.load(Ordering::SeqCst)
    }

    /// The trace lines kept so far (see [`LiveTrace::keep_lines`]).
    pub fn trace_lines(&self) -> Vec<String> {
        lock(&self.shared.trace).kept().to_vec()
    }

    /// Stops accepting, lets every session end, and waits for them.
    pub fn shutdown(self) {
        self.shared.shutdown.store(true, Ordering::SeqCst);
        self.shared.doorbell.ring();
        // Each accept loop is blocked in accept(): one connection wakes it
        // to see the flag.
        for b in &self.bound {
            let _ = std::net::TcpStream::connect_timeout(&b.addr, Duration::from_secs(1));
        }
        for t in self.threads {
            let _ = t.join();
        }
        // Sessions notice the flag within one read timeout.
        for _ in 0..200 {
            if self.shared.sessions.load(Ordering::SeqCst) == 0 {
                break;
            }
            std::thread::sleep(Duration::from_millis(25));
        }
    }
}

/// One of the `max_sessions` slots, given back when dropped.
struct SessionSlot<'a>(&'a AtomicUsize);

impl Drop for SessionSlot<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// How often a session blocked reading an idle client looks at the
/// shutdown flag (a read returns as soon as bytes arrive: this is no delay
/// on a request's path).
pub(crate) const POLL: Duration = Duration::from_millis(50);

fn accept_loop(listener: TcpListener, shared: Arc<Shared>, host: usize, service: Service) {
    loop {
        let accepted = listener.accept();
        if shared.shutdown.load(Ordering::SeqCst) {
            return;
        }
        match accepted {
            Ok((stream, peer)) => {
                let _ = stream.set_nonblocking(false);
                let SocketAddr::V4(peer) = peer else { continue };
                let open = shared.sessions.fetch_add(1, Ordering::SeqCst) + 1;
                if open > shared.opts.max_sessions {
                    shared.sessions.fetch_sub(1, Ordering::SeqCst);
                    conn::turn_away(stream, service);
                    let node = shared.hosts[host].node;
                    shared.emit(
                        service.layer(),
                        node,
                        "session_refused",
                        vec![
                            ("client", peer.to_string().into()),
                            ("reason", "too many sessions".into()),
                        ],
                    );
                    continue;
                }
                let shared = shared.clone();
                std::thread::spawn(move || {
                    // The slot is given back however the session ends,
                    // even if its thread panics.
                    let _slot = SessionSlot(&shared.sessions);
                    conn::serve(stream, peer, &shared, host, service);
                });
            }
            // Out of descriptors or a connection reset before it was
            // taken: a moment's rest, not a spin.
            Err(_) => std::thread::sleep(Duration::from_millis(5)),
        }
    }
}

/// The IPv4 address of a socket (the live mode listens on IPv4 only).
pub(crate) fn v4(addr: SocketAddr) -> SocketAddrV4 {
    match addr {
        SocketAddr::V4(a) => a,
        SocketAddr::V6(a) => SocketAddrV4::new(Ipv4Addr::LOCALHOST, a.port()),
    }
}

/// Keeps a stream usable from another thread for shutting it down.
pub(crate) fn set_timeouts(stream: &TcpStream) {
    let _ = stream.set_read_timeout(Some(POLL));
    // A client that stops reading must not hold a session thread forever.
    let _ = stream.set_write_timeout(Some(Duration::from_secs(30)));
    let _ = stream.set_nodelay(true);
}
