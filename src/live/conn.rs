//! One live connection of a line-based protocol (SMTP, submission, POP3,
//! IMAP, HTTP) or of TELNET: real bytes in and out of the protocol
//! machine, the transcript into the trace, and the limits that keep a real
//! socket safe.
//!
//! FTP, with its data connections, has its own loop in `ftp.rs`; this file
//! only dispatches to it.

use super::{LiveHost, Service, Shared, lock, set_timeouts, v4};
use crate::apps::mail::office::Note;
use crate::proto::Session;
use crate::proto::Transcript;
use crate::proto::http::HttpServer;
use crate::proto::imap::{ImapConfig, ImapServer};
use crate::proto::pop3::{Pop3Config, Pop3Server};
use crate::proto::scp::ScpServer;
use crate::proto::smtp::{SmtpConfig, SmtpServer};
use crate::proto::telnet::{TelnetConfig, TelnetServer};
use crate::proto::tls::TlsLayer;
use crate::trace::{ConnName, Event, Layer, Party};
use std::io::{ErrorKind, Read, Write};
use std::net::{IpAddr, Shutdown, SocketAddrV4, TcpStream};
use std::sync::atomic::Ordering;
use std::time::Instant;

/// What a protocol says to a client it turns away because too many
/// sessions are open.
fn busy_reply(service: Service) -> &'static [u8] {
    match service {
        Service::Smtp | Service::Submission => {
            b"421 4.3.2 Too many connections, try again later\r\n"
        }
        // A TLS port cannot say anything before the handshake.
        Service::Smtps | Service::Pop3s | Service::Imaps | Service::Https => b"",
        Service::Pop3 => b"-ERR [SYS/TEMP] Too many sessions, try again later\r\n",
        Service::Imap => b"* BYE [UNAVAILABLE] Too many sessions, try again later\r\n",
        Service::Ftp => b"421 Too many users, try again later.\r\n",
        Service::Http => {
            b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        }
        // RFC 4253 §4.2: a server may send lines before its version.
        Service::Ssh => b"Too many sessions, try again later\r\n",
        Service::Telnet => b"Too many sessions, try again later.\r\n",
    }
}

/// What a protocol says when it closes a session for `why` ("idle for
/// too long", "server shutting down"); HTTP just closes.
fn closing_reply(service: Service, hostname: &str, why: &str) -> Option<(Option<u16>, String)> {
    match service {
        Service::Smtp | Service::Submission | Service::Smtps => Some((
            Some(421),
            format!("421 4.4.2 {hostname} {why}, closing connection"),
        )),
        Service::Pop3 | Service::Pop3s => Some((None, format!("-ERR {why}"))),
        Service::Imap | Service::Imaps => Some((None, format!("* BYE {why}"))),
        Service::Ftp => Some((Some(421), format!("421 {why}, closing control connection."))),
        Service::Telnet => Some((None, format!("{why}, closing connection."))),
        Service::Http | Service::Https | Service::Ssh => None,
    }
}

/// Answers a client that cannot be served now, and closes.
pub(super) fn turn_away(mut stream: TcpStream, service: Service) {
    let _ = stream.set_write_timeout(Some(std::time::Duration::from_secs(1)));
    let _ = stream.write_all(busy_reply(service));
    let _ = stream.shutdown(Shutdown::Both);
}

/// A protocol machine serving one live connection.
enum Machine {
    Smtp(Box<SmtpServer>),
    Pop3(Box<Pop3Server>),
    Imap(Box<ImapServer>),
    Http(Box<HttpServer>),
    Ssh(Box<ScpServer>),
    Telnet(Box<TelnetServer>),
}

impl Machine {
    fn session(&mut self) -> &mut dyn Session {
        match self {
            Machine::Smtp(m) => m.as_mut(),
            Machine::Pop3(m) => m.as_mut(),
            Machine::Imap(m) => m.as_mut(),
            Machine::Http(m) => m.as_mut(),
            Machine::Ssh(m) => m.as_mut(),
            Machine::Telnet(m) => m.as_mut(),
        }
    }

    /// Records the machine's named events (TELNET's login, commands,
    /// ...), after the dialogue lines [`flush_tls`] recorded.
    fn trace_events(&mut self, d: &Dialogue<'_>) {
        if let Machine::Telnet(m) = self {
            while let Some(event) = m.poll_event() {
                let (kind, fields) = crate::apps::files::telnet_event(&event);
                d.emit(kind.name, fields);
            }
        }
    }

    /// An IMAP session in IDLE hears of changes other sessions made
    /// (RFC 2177); the live mode looks each time a read times out.
    fn notice_changes(&mut self, host: &LiveHost) {
        if let (Machine::Imap(m), Some(mail)) = (self, &host.mail)
            && m.is_idling()
        {
            m.handle_mailbox_changed(&mut lock(mail).office.store);
        }
    }

    fn is_idling(&self) -> bool {
        matches!(self, Machine::Imap(m) if m.is_idling())
    }
}

/// The trace's view of one live connection.
pub(super) struct Dialogue<'a> {
    pub shared: &'a Shared,
    pub host: &'a LiveHost,
    pub layer: Layer,
    pub client: SocketAddrV4,
    pub conn: ConnName,
}

impl Dialogue<'_> {
    pub fn line(&self, line: Transcript) {
        let (dir, code, line) = match line {
            Transcript::Command(l) => (crate::trace::Dir::Command, None, l),
            Transcript::Reply { code, text } => (crate::trace::Dir::Reply, code, text),
            Transcript::Data(l) => (crate::trace::Dir::Data, None, l),
        };
        self.shared.trace(Event::Dialogue {
            layer: self.layer,
            client: Party::External(self.client),
            server: Party::Node(self.host.node),
            dir,
            code,
            line: line.into(),
            conn: Some(Box::new(self.conn)),
        });
    }

    pub fn emit(&self, event: &'static str, mut fields: Vec<(&'static str, crate::trace::Value)>) {
        fields.insert(0, ("client", self.client.to_string().into()));
        self.shared.emit(self.layer, self.host.node, event, fields);
    }
}

/// Writes what the machine has to say (through TLS when the connection
/// has it) with `write`, and records its transcript; then, if the machine
/// just said yes to STARTTLS (or STLS, AUTH TLS), puts TLS under it. False
/// when the client cannot be written to.
pub(super) fn flush_tls(
    session: &mut dyn Session,
    d: &Dialogue<'_>,
    tls: &mut Option<TlsLayer>,
    write: &mut dyn FnMut(&[u8]) -> bool,
) -> bool {
    while let Some(line) = session.poll_transcript() {
        d.line(line);
    }
    while let Some(bytes) = session.poll_output() {
        match tls {
            Some(t) => t.send(&bytes),
            None => {
                if !write(&bytes) {
                    return false;
                }
            }
        }
    }
    if tls.is_none() && session.take_starttls() {
        match TlsLayer::server(d.host.tls.clone(), None) {
            Ok(layer) => {
                *tls = Some(layer);
                session.tls_started();
                d.line(Transcript::Data("TLS handshake starts".into()));
            }
            Err(why) => d.line(Transcript::Data(format!("TLS unavailable: {why}"))),
        }
    }
    write_tls(d, tls, write)
}

/// Sends what TLS has to send and records its notes.
pub(super) fn write_tls(
    d: &Dialogue<'_>,
    tls: &mut Option<TlsLayer>,
    write: &mut dyn FnMut(&[u8]) -> bool,
) -> bool {
    let Some(t) = tls else {
        return true;
    };
    while let Some(note) = t.poll_note() {
        d.line(Transcript::Data(note));
    }
    let out = t.take_output();
    out.is_empty() || write(&out)
}

/// Serves one connection until either side closes it.
pub(super) fn serve(
    stream: TcpStream,
    peer: SocketAddrV4,
    shared: &Shared,
    host: usize,
    service: Service,
) {
    match service {
        Service::Ftp => super::ftp::serve(stream, peer, shared, host),
        _ => serve_lines(stream, peer, shared, host, service),
    }
}

fn new_machine(host: &LiveHost, service: Service, peer: SocketAddrV4) -> Option<(Machine, String)> {
    match service {
        Service::Smtp | Service::Submission | Service::Smtps => {
            let mh = lock(host.mail.as_ref()?);
            let mut config = if service == Service::Smtp {
                SmtpConfig::new(&mh.office.hostname)
            } else {
                SmtpConfig::submission(&mh.office.hostname)
            };
            config.max_message_size = mh.max_message_size;
            config.starttls = service != Service::Smtps;
            let peer = IpAddr::V4(*peer.ip());
            let m = if service == Service::Smtps {
                SmtpServer::new_secure(config, peer)
            } else {
                SmtpServer::new(config, peer)
            };
            Some((Machine::Smtp(Box::new(m)), mh.office.hostname.clone()))
        }
        Service::Pop3 | Service::Pop3s => {
            let mh = lock(host.mail.as_ref()?);
            let mut config = Pop3Config::new(&mh.office.hostname);
            let m = if service == Service::Pop3s {
                Pop3Server::new_secure(config)
            } else {
                config.stls = true;
                Pop3Server::new(config)
            };
            Some((Machine::Pop3(Box::new(m)), mh.office.hostname.clone()))
        }
        Service::Imap | Service::Imaps => {
            let mh = lock(host.mail.as_ref()?);
            let config = ImapConfig {
                hostname: mh.office.hostname.clone(),
                starttls: service == Service::Imap,
                ..ImapConfig::default()
            };
            let m = if service == Service::Imaps {
                ImapServer::new_secure(config)
            } else {
                ImapServer::new(config)
            };
            Some((Machine::Imap(Box::new(m)), mh.office.hostname.clone()))
        }
        Service::Http | Service::Https => Some((Machine::Http(Box::default()), host.name.clone())),
        Service::Ssh => {
            let files = lock(host.files.as_ref()?);
            let m = ScpServer::new(files.host_secret, fresh_seed());
            Some((Machine::Ssh(Box::new(m)), host.name.clone()))
        }
        Service::Telnet => {
            host.files.as_ref()?;
            let m = TelnetServer::new(TelnetConfig::new(&host.name));
            Some((Machine::Telnet(Box::new(m)), host.name.clone()))
        }
        Service::Ftp => None,
    }
}

/// Fresh randomness for one live SSH session from the operating system:
/// unlike a simulated run, a real session's keys must not be predictable.
fn fresh_seed() -> [u8; 32] {
    let mut seed = [0u8; 32];
    if getrandom::fill(&mut seed).is_err() {
        // No OS randomness: fall back on what differs per session.
        use sha2::{Digest, Sha256};
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let local = 0u8;
        seed = Sha256::new()
            .chain_update(now.to_be_bytes())
            .chain_update(format!("{:p}", &local).as_bytes())
            .finalize()
            .into();
    }
    seed
}

/// Hands received bytes to the machine, with the host's state locked only
/// for that; returns what the mail intake did, to trace after the reply.
fn feed(m: &mut Machine, data: &[u8], host: &LiveHost, shared: &Shared) -> Vec<Note> {
    let mut notes = Vec::new();
    let now = shared.now_unix();
    match m {
        Machine::Smtp(s) => {
            if let Some(mail) = &host.mail {
                let mut mh = lock(mail);
                let mut intake = mh.office.intake(shared.now());
                s.handle_input(data, &mut intake, now);
                notes = mh.office.take_notes();
            }
        }
        Machine::Pop3(p) => {
            if let Some(mail) = &host.mail {
                p.handle_input(data, &mut lock(mail).office.store);
            }
        }
        Machine::Imap(i) => {
            if let Some(mail) = &host.mail {
                i.handle_input(data, &mut lock(mail).office.store, now);
            }
        }
        Machine::Ssh(m) => {
            if let Some(files) = &host.files {
                let mut f = lock(files);
                let user = m.user().map(str::to_string);
                let mut view = crate::apps::files::ScpView::new(&mut f.vfs, user, now);
                m.handle_input(data, &mut view);
            }
        }
        Machine::Http(h) => {
            if let Some(files) = &host.files {
                let f = lock(files);
                let web = crate::apps::files::WebView {
                    vfs: &f.vfs,
                    root: &f.web_root,
                };
                h.handle_input(data, &web, now);
            }
        }
        Machine::Telnet(t) => {
            if let Some(files) = &host.files {
                t.handle_input(data, &mut lock(files).vfs);
            }
        }
    }
    notes
}

fn serve_lines(
    mut stream: TcpStream,
    peer: SocketAddrV4,
    shared: &Shared,
    k: usize,
    service: Service,
) {
    let host = &shared.hosts[k];
    let Ok(local) = stream.local_addr() else {
        return;
    };
    set_timeouts(&stream);
    let d = Dialogue {
        shared,
        host,
        layer: service.layer(),
        client: peer,
        conn: (peer, v4(local)),
    };
    let Some((mut m, hostname)) = new_machine(host, service, peer) else {
        turn_away(stream, service);
        return;
    };
    d.emit("session_opened", vec![("service", service.name().into())]);
    let mut tls = None;
    if service.implicit_tls() {
        match TlsLayer::server(host.tls.clone(), None) {
            Ok(layer) => tls = Some(layer),
            Err(_) => {
                let _ = stream.shutdown(Shutdown::Both);
                return;
            }
        }
    }
    let mut buf = vec![0u8; 16 * 1024];
    let mut last_heard = Instant::now();
    let mut why_closed = "client closed";
    loop {
        if !flush_tls(m.session(), &d, &mut tls, &mut |b| {
            stream.write_all(b).is_ok()
        }) {
            why_closed = "client stopped reading";
            break;
        }
        m.trace_events(&d);
        if m.session().wants_close() {
            why_closed = "server closed";
            break;
        }
        let stop = if shared.shutdown.load(Ordering::SeqCst) {
            Some("server shutting down")
        } else if last_heard.elapsed() > shared.opts.idle_timeout {
            Some("idle for too long")
        } else {
            None
        };
        if let Some(why) = stop {
            if let Some((code, text)) = closing_reply(service, &hostname, why) {
                d.line(Transcript::Reply {
                    code,
                    text: text.clone(),
                });
                let _ = stream.write_all(format!("{text}\r\n").as_bytes());
            }
            why_closed = why;
            break;
        }
        match stream.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                last_heard = Instant::now();
                let plaintext = match tls.as_mut() {
                    Some(t) => {
                        let plain = t.receive(&buf[..n]);
                        if !write_tls(&d, &mut tls, &mut |b| stream.write_all(b).is_ok()) {
                            why_closed = "client stopped reading";
                            break;
                        }
                        if tls.as_ref().is_some_and(|t| t.error().is_some()) {
                            why_closed = "TLS failed";
                            break;
                        }
                        plain
                    }
                    None => buf[..n].to_vec(),
                };
                // One line at a time, each answer written before the next
                // line goes in: a client that pipelines many requests for
                // a large file or message in one read must not make the
                // server hold a copy of it per request.
                let mut written = true;
                let was_plain = tls.is_none();
                for piece in plaintext.split_inclusive(|&b| b == b'\n') {
                    let notes = feed(&mut m, piece, host, shared);
                    written = flush_tls(m.session(), &d, &mut tls, &mut |b| {
                        stream.write_all(b).is_ok()
                    });
                    m.trace_events(&d);
                    // Mail queued for another server: the postman takes it.
                    if super::mail::trace_notes(shared, host.node, notes) {
                        shared.doorbell.ring();
                    }
                    // RFC 3207 §4.2: what came after STARTTLS in the clear
                    // is not read (it could be an attacker's).
                    if !written || (was_plain && tls.is_some()) {
                        break;
                    }
                }
                if !written {
                    why_closed = "client stopped reading";
                    break;
                }
            }
            Err(e)
                if matches!(
                    e.kind(),
                    ErrorKind::WouldBlock | ErrorKind::TimedOut | ErrorKind::Interrupted
                ) =>
            {
                m.notice_changes(host);
                // IDLE is a client waiting on purpose (RFC 2177 allows 29
                // minutes): it does not count as silence.
                if m.is_idling() {
                    last_heard = Instant::now();
                }
            }
            Err(_) => {
                why_closed = "connection error";
                break;
            }
        }
    }
    match &mut m {
        Machine::Pop3(p) => {
            if let Some(mail) = &host.mail {
                // RFC 1939 §6: a session that ends without QUIT deletes
                // nothing; give the maildrop back.
                p.handle_close_with(&mut lock(mail).office.store);
            }
        }
        other => other.session().handle_close(),
    }
    if let Some(t) = tls.as_mut() {
        t.close();
        let _ = write_tls(&d, &mut tls, &mut |b| stream.write_all(b).is_ok());
    }
    let _ = stream.shutdown(Shutdown::Both);
    d.emit("session_closed", vec![("reason", why_closed.into())]);
}
