//! The eavesdropper: what a passive listener on a link can read.
//!
//! [`analyze`] takes the packets a tap captured, in capture order with
//! their times, and does what Wireshark's "Follow TCP stream" does: it
//! groups segments into connections, puts each direction's bytes back in
//! order by sequence number (retransmitted and duplicated segments do not
//! duplicate bytes; missing ranges are marked as gaps), and then reads the
//! streams like an attacker would:
//!
//! | protocol | what it reports |
//! |---|---|
//! | FTP control (port 21) | `USER` and `PASS` lines, file commands (`RETR`, `STOR`, ...) |
//! | FTP data, or anything not recognised | size and a preview of the bytes: the file itself |
//! | SMTP | `AUTH PLAIN` / `AUTH LOGIN` credentials (base64 decoded), envelope, subjects |
//! | POP3 | `USER` / `PASS`, `AUTH PLAIN`, subjects of retrieved messages |
//! | IMAP | `LOGIN` user and password, `AUTHENTICATE PLAIN`, subjects |
//! | HTTP | request lines, `Authorization: Basic` credentials, request and response bodies |
//! | SCP (port 22) | the clear-text version lines, then only ciphertext: its size, record lengths, byte entropy, and the longest printable run |
//! | TELNET (port 23) | the login name and the password put back together from their keystrokes, each command, and what it printed |
//!
//! It is a pure function of the capture: no state, no clock, no
//! randomness. It is not a full protocol dissector (of TLS only what the
//! handshake shows, no IPv4 fragments, no UDP protocols), and it reads
//! each direction of a connection separately, so a line that spans a gap
//! is lost.
//!
//! The pieces, in the order a capture goes through them:
//!
//! - `reassembly`: segments grouped into connections, each direction put
//!   back in sequence order, with its gaps and retransmissions counted.
//! - `detect`: which protocol a connection carries, and where a STARTTLS
//!   (or STLS, AUTH TLS) turned it into TLS.
//! - one reader per protocol: `ftp` (control and data connections),
//!   `mail` (SMTP, POP3, IMAP), `http`, `ssh` (SCP's channel), `telnet`
//!   and `tls`.
//! - `text`: how the listener shows what it read, and the measures of
//!   ciphertext (entropy, longest printable run).
//!
//! Where a protocol module of [`crate::proto`] already parses a piece of
//! syntax, the readers use it: base64 from [`crate::proto::smtp::sasl`],
//! IMAP literal announcements from [`crate::proto::imap::framing`], HTTP
//! header fields and `Content-Length` from [`crate::proto::http::message`],
//! SSH's KEXINIT and TELNET's commands from their modules. A listener has
//! to read what a server would refuse (a field with a space before its
//! colon, base64 without padding), so it uses the lenient forms where
//! those parsers have one.

mod detect;
mod ftp;
mod http;
mod mail;
mod reassembly;
mod ssh;
mod telnet;
#[cfg(test)]
mod test_tap;
mod text;
mod tls;

pub use ssh::MAX_PRINTABLE_RUN_IN_CIPHERTEXT;
pub use text::{byte_entropy, longest_printable_run};

use crate::net::packet::Packet;
use crate::sim::SimTime;
use detect::{detect_protocol, split_at_starttls};
use reassembly::{Stream, group_connections, reassemble};
use std::fmt;
use std::net::SocketAddrV4;

/// One TCP connection, oriented: the client opened it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ConnectionId {
    pub client: SocketAddrV4,
    pub server: SocketAddrV4,
}

impl fmt::Display for ConnectionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} -> {}", self.client, self.server)
    }
}

/// Which protocol a connection seems to carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    FtpControl,
    Smtp,
    Pop3,
    Imap,
    Http,
    /// SCP over wiretale's encrypted channel (or anything on port 22).
    Scp,
    /// TELNET: a remote login, keystroke by keystroke.
    Telnet,
    /// Not recognised: an FTP data connection, or another protocol.
    Data,
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Protocol::FtpControl => "FTP control",
            Protocol::Smtp => "SMTP",
            Protocol::Pop3 => "POP3",
            Protocol::Imap => "IMAP",
            Protocol::Http => "HTTP",
            Protocol::Scp => "SCP (encrypted)",
            Protocol::Telnet => "TELNET",
            Protocol::Data => "data",
        })
    }
}

/// What kind of thing the listener learned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FindingKind {
    /// A user name or password.
    Credential,
    /// A command or request: what the user did.
    Command,
    /// Message or page content.
    Content,
    /// File content on a data connection.
    File,
    /// A version line sent in the clear before encryption starts.
    Banner,
    /// Bytes the listener cannot read.
    Ciphertext,
}

impl fmt::Display for FindingKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            FindingKind::Credential => "credential",
            FindingKind::Command => "command",
            FindingKind::Content => "content",
            FindingKind::File => "file",
            FindingKind::Banner => "banner",
            FindingKind::Ciphertext => "ciphertext",
        })
    }
}

/// One thing the listener could read (or could not).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub kind: FindingKind,
    pub connection: ConnectionId,
    /// When the packet carrying it was captured.
    pub time: SimTime,
    pub text: String,
}

/// One direction of a connection, after reassembly.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct StreamSummary {
    /// Segments that carried payload.
    pub segments: u32,
    /// Distinct bytes recovered.
    pub bytes: u64,
    /// Holes in the sequence space (segments the tap never saw).
    pub gaps: u32,
    /// Bytes missing in those holes.
    pub missing_bytes: u64,
    /// Bytes seen more than once (retransmissions, duplicates).
    pub duplicate_bytes: u64,
}

/// What the listener knows about one connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectionSummary {
    pub connection: ConnectionId,
    pub protocol: Protocol,
    pub first_seen: SimTime,
    pub last_seen: SimTime,
    pub client_to_server: StreamSummary,
    pub server_to_client: StreamSummary,
    /// True if the opening SYN was captured (otherwise the client and
    /// server roles were guessed from the port numbers).
    pub syn_seen: bool,
    /// True if a FIN or RST was captured.
    pub closed: bool,
}

/// Everything the listener learned.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Report {
    /// In time order.
    pub findings: Vec<Finding>,
    /// In order of first appearance.
    pub connections: Vec<ConnectionSummary>,
}

/// Reads a capture as a passive listener would.
pub fn analyze(captured: &[(SimTime, Packet)]) -> Report {
    let connections = group_connections(captured);
    let mut report = Report::default();
    for capture in &connections {
        let (id, to_server, to_client) = capture.oriented();
        let c2s = reassemble(to_server);
        let s2c = reassemble(to_client);
        let protocol = detect_protocol(id, &c2s, &s2c);
        let mut findings = Findings {
            connection: id,
            list: Vec::new(),
        };
        // After STARTTLS (or STLS, AUTH TLS) the rest is TLS: the
        // protocol's reader sees only what came before.
        let (clear_c2s, clear_s2c, tls) = split_at_starttls(protocol, &c2s, &s2c);
        {
            let (c2s, s2c) = (&clear_c2s, &clear_s2c);
            match protocol {
                Protocol::FtpControl => ftp::read_control(c2s, &mut findings),
                Protocol::Smtp => mail::read_smtp(c2s, &mut findings),
                Protocol::Pop3 => mail::read_pop3(c2s, s2c, &mut findings),
                Protocol::Imap => mail::read_imap(c2s, s2c, &mut findings),
                Protocol::Http => http::read_http(c2s, s2c, &mut findings),
                Protocol::Scp => ssh::read_encrypted(c2s, s2c, &mut findings),
                Protocol::Telnet => telnet::read_telnet(c2s, s2c, capture.closed, &mut findings),
                Protocol::Data => ftp::read_data(c2s, s2c, &mut findings),
            }
        }
        if let Some((verb, time, tls_c2s, tls_s2c)) = tls {
            findings.add(
                FindingKind::Command,
                time,
                format!("{} {verb}", protocol_word(protocol)),
            );
            tls::read_tls(&tls_c2s, &tls_s2c, &mut findings);
        }
        report.findings.extend(findings.list);
        report.connections.push(ConnectionSummary {
            connection: id,
            protocol,
            first_seen: capture.first_seen,
            last_seen: capture.last_seen,
            client_to_server: c2s.summary,
            server_to_client: s2c.summary,
            syn_seen: capture.syn_from.is_some(),
            closed: capture.closed,
        });
    }
    // A stable sort keeps each connection's findings in stream order.
    report.findings.sort_by_key(|f| f.time);
    report
}

/// The reassembled bytes of one captured connection, as Wireshark's
/// "Follow TCP stream" shows them: everything the listener holds, readable
/// or not. Bytes on either side of a gap are simply joined.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamBytes {
    pub connection: ConnectionId,
    pub client_to_server: Vec<u8>,
    pub server_to_client: Vec<u8>,
}

/// Every captured connection's bytes, in order of first appearance.
pub fn streams(captured: &[(SimTime, Packet)]) -> Vec<StreamBytes> {
    let join = |stream: Stream| -> Vec<u8> {
        stream
            .runs
            .into_iter()
            .flat_map(|run| run.data.into_iter())
            .collect()
    };
    group_connections(captured)
        .iter()
        .map(|capture| {
            let (connection, to_server, to_client) = capture.oriented();
            StreamBytes {
                connection,
                client_to_server: join(reassemble(to_server)),
                server_to_client: join(reassemble(to_client)),
            }
        })
        .collect()
}

/// The report as text, one finding per line, then one line per
/// connection.
pub fn readable_text(report: &Report) -> String {
    let mut out = format!(
        "Eavesdropper report: {} connection(s), {} finding(s)\n",
        report.connections.len(),
        report.findings.len()
    );
    let protocol_of = |id: &ConnectionId| {
        report
            .connections
            .iter()
            .find(|c| c.connection == *id)
            .map_or(Protocol::Data, |c| c.protocol)
    };
    if !report.findings.is_empty() {
        out.push_str("\nFindings:\n");
    }
    for finding in &report.findings {
        out.push_str(&format!(
            "  {}  {}  {}  {}: {}\n",
            format_time(finding.time),
            finding.connection,
            protocol_of(&finding.connection),
            finding.kind,
            finding.text
        ));
    }
    if !report.connections.is_empty() {
        out.push_str("\nConnections:\n");
    }
    for c in &report.connections {
        out.push_str(&format!(
            "  {}  {}  client->server {}, server->client {}{}\n",
            c.connection,
            c.protocol,
            describe_stream(&c.client_to_server),
            describe_stream(&c.server_to_client),
            if c.syn_seen {
                ""
            } else {
                "  (opening not captured)"
            }
        ));
    }
    out
}

/// `12.345 ms`, as the trace's text format prints times.
fn format_time(time: SimTime) -> String {
    let us = time.as_micros();
    format!("{}.{:03} ms", us / 1000, us % 1000)
}

fn describe_stream(s: &StreamSummary) -> String {
    let mut text = format!("{} bytes", s.bytes);
    if s.gaps > 0 {
        text.push_str(&format!(
            " ({} gap(s), {} bytes missing)",
            s.gaps, s.missing_bytes
        ));
    }
    if s.duplicate_bytes > 0 {
        text.push_str(&format!(" ({} bytes retransmitted)", s.duplicate_bytes));
    }
    text
}

/// Collects findings for one connection.
struct Findings {
    connection: ConnectionId,
    list: Vec<Finding>,
}

impl Findings {
    fn add(&mut self, kind: FindingKind, time: SimTime, text: String) {
        self.list.push(Finding {
            kind,
            connection: self.connection,
            time,
            text,
        });
    }
}

/// The name a finding gives the protocol ("SMTP STARTTLS").
fn protocol_word(protocol: Protocol) -> &'static str {
    match protocol {
        Protocol::Smtp => "SMTP",
        Protocol::Pop3 => "POP3",
        Protocol::Imap => "IMAP",
        Protocol::FtpControl => "FTP",
        Protocol::Http => "HTTP",
        Protocol::Scp => "SSH",
        Protocol::Telnet => "TELNET",
        Protocol::Data => "data",
    }
}

#[cfg(test)]
mod tests {
    use super::test_tap::{ALICE, SERVER, Tap, packet};
    use super::*;
    use crate::net::packet::TcpFlags;
    use proptest::prelude::*;

    #[test]
    fn an_empty_capture_reports_nothing() {
        assert!(analyze(&[]).findings.is_empty());
        assert!(streams(&[]).is_empty());
        assert_eq!(
            readable_text(&Report::default()),
            "Eavesdropper report: 0 connection(s), 0 finding(s)\n"
        );
    }

    #[test]
    fn streams_join_each_direction() {
        let tap = Tap::new(40010, 7000)
            .open()
            .client_sends(b"ping")
            .server_sends(b"pong")
            .client_sends(b"!");
        let streams = streams(&tap.packets);
        assert_eq!(streams.len(), 1);
        assert_eq!(streams[0].client_to_server, b"ping!");
        assert_eq!(streams[0].server_to_client, b"pong");
        assert_eq!(format_time(SimTime::from_micros(12_345)), "12.345 ms");
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// Arbitrary segments never make the analysis panic.
        #[test]
        fn arbitrary_captures_never_panic(
            segments in prop::collection::vec(
                (any::<bool>(), prop::sample::select(vec![21u16, 22, 23, 25, 80, 110, 143, 9999]), any::<u32>(), any::<u8>(), prop::collection::vec(any::<u8>(), 0..80)),
                0..20,
            )
        ) {
            let client = SocketAddrV4::new(ALICE, 40000);
            let captured: Vec<(SimTime, Packet)> = segments
                .iter()
                .enumerate()
                .map(|(i, (to_server, port, seq, flags, payload))| {
                    let server = SocketAddrV4::new(SERVER, *port);
                    let (src, dst) = if *to_server { (client, server) } else { (server, client) };
                    (SimTime::from_micros(i as u64), packet(src, dst, *seq, TcpFlags(*flags & 0x1f), payload))
                })
                .collect();
            let report = analyze(&captured);
            let _ = readable_text(&report);
        }

        /// Plausible text dialogues with random splits never panic either.
        #[test]
        fn plausible_dialogues_never_panic(
            lines in prop::collection::vec(prop::sample::select(vec![
                "USER a", "PASS b", "AUTH PLAIN", "AUTH PLAIN ???", "AUTH LOGIN", "*", "YQ==",
                "a LOGIN {5}", "a LOGIN \"x", "a LOGIN", "a AUTHENTICATE PLAIN", "{99999999999}",
                "GET / HTTP/1.1", "Content-Length: 99", "Authorization: Basic !!", "", "DATA", ".",
                "login: ", "Password: ", "alice@files:/$ ", "\u{ff}\u{fb}\u{1}", "\u{7f}\u{3}",
            ]), 0..20),
            port in prop::sample::select(vec![21u16, 25, 80, 110, 143, 22, 23, 5000]),
        ) {
            let mut text = String::new();
            for line in &lines {
                text.push_str(line);
                text.push_str("\r\n");
            }
            let tap = Tap::new(40000, port).open().client_sends(text.as_bytes()).server_sends(text.as_bytes());
            let _ = readable_text(&analyze(&tap.packets));
        }
    }
}
