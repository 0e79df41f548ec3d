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
//! randomness. It is not a full protocol dissector (no TLS, no IPv4
//! fragments, no UDP protocols), and it reads each direction of a
//! connection separately, so a line that spans a gap is lost.

use crate::net::packet::{Packet, Payload, TcpSegment};
use crate::net::tcp::seq;
use crate::proto::{ftp, http, imap, pop3, scp, smtp, telnet};
use crate::sim::SimTime;
use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddrV4;

/// A printable run longer than this in an "encrypted" stream would be
/// readable text: a sign the stream is not encrypted after all. Random
/// bytes are printable with probability 95/256, so a run of 16 has odds of
/// about 1 in 8 million per position.
pub const MAX_PRINTABLE_RUN_IN_CIPHERTEXT: usize = 16;
/// Bytes shown in a preview.
const PREVIEW_LEN: usize = 64;
/// Bytes of a TELNET command's output shown: a screenful of a short file.
const TELNET_PREVIEW_LEN: usize = 200;

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
                Protocol::FtpControl => read_ftp_control(c2s, &mut findings),
                Protocol::Smtp => read_smtp(c2s, &mut findings),
                Protocol::Pop3 => read_pop3(c2s, s2c, &mut findings),
                Protocol::Imap => read_imap(c2s, s2c, &mut findings),
                Protocol::Http => read_http(c2s, s2c, &mut findings),
                Protocol::Scp => read_encrypted(c2s, s2c, &mut findings),
                Protocol::Telnet => read_telnet(c2s, s2c, capture.closed, &mut findings),
                Protocol::Data => read_data(c2s, s2c, &mut findings),
            }
        }
        if let Some((verb, time, tls_c2s, tls_s2c)) = tls {
            findings.add(
                FindingKind::Command,
                time,
                format!("{} {verb}", protocol_word(protocol)),
            );
            read_tls(&tls_c2s, &tls_s2c, &mut findings);
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

// ---------------------------------------------------------------------
// Grouping segments into connections
// ---------------------------------------------------------------------

/// A captured segment with payload.
#[derive(Debug, Clone)]
struct CapturedSegment {
    seq: u32,
    time: SimTime,
    payload: bytes::Bytes,
}

/// The segments one endpoint sent.
#[derive(Debug, Clone, Default)]
struct DirectionCapture {
    /// The sequence number of its SYN, if captured.
    isn: Option<u32>,
    segments: Vec<CapturedSegment>,
}

/// A connection as captured, not yet oriented.
#[derive(Debug, Clone)]
struct ConnectionCapture {
    /// The two endpoints, lower address first.
    low: SocketAddrV4,
    high: SocketAddrV4,
    from_low: DirectionCapture,
    from_high: DirectionCapture,
    /// Who sent the opening SYN (without ACK), if captured.
    syn_from: Option<SocketAddrV4>,
    /// Who sent the SYN+ACK, if captured.
    syn_ack_from: Option<SocketAddrV4>,
    first_seen: SimTime,
    last_seen: SimTime,
    closed: bool,
}

impl ConnectionCapture {
    fn new(low: SocketAddrV4, high: SocketAddrV4, time: SimTime) -> ConnectionCapture {
        ConnectionCapture {
            low,
            high,
            from_low: DirectionCapture::default(),
            from_high: DirectionCapture::default(),
            syn_from: None,
            syn_ack_from: None,
            first_seen: time,
            last_seen: time,
            closed: false,
        }
    }

    fn sent_by_mut(&mut self, sender: SocketAddrV4) -> &mut DirectionCapture {
        if sender == self.low {
            &mut self.from_low
        } else {
            &mut self.from_high
        }
    }

    /// The client is whoever sent the SYN; failing that, whoever received
    /// the SYN+ACK; failing that, the endpoint with the higher port (clients
    /// use ephemeral ports, servers well-known ones).
    fn oriented(&self) -> (ConnectionId, &DirectionCapture, &DirectionCapture) {
        let low_is_client = match (self.syn_from, self.syn_ack_from) {
            (Some(client), _) => client == self.low,
            (None, Some(server)) => server != self.low,
            (None, None) => self.low.port() > self.high.port(),
        };
        if low_is_client {
            let id = ConnectionId {
                client: self.low,
                server: self.high,
            };
            (id, &self.from_low, &self.from_high)
        } else {
            let id = ConnectionId {
                client: self.high,
                server: self.low,
            };
            (id, &self.from_high, &self.from_low)
        }
    }
}

/// Groups TCP segments by connection, in order of first appearance.
fn group_connections(captured: &[(SimTime, Packet)]) -> Vec<ConnectionCapture> {
    let mut connections: Vec<ConnectionCapture> = Vec::new();
    let mut index: BTreeMap<(SocketAddrV4, SocketAddrV4), usize> = BTreeMap::new();
    for (time, packet) in captured {
        let Payload::Tcp(segment) = &packet.payload else {
            continue;
        };
        let (src, dst) = (packet.src_addr(), packet.dst_addr());
        let key = if src <= dst { (src, dst) } else { (dst, src) };
        let is_new_syn = segment.flags.syn() && !segment.flags.ack();
        let existing = index.get(&key).copied();
        // A fresh SYN on a 4-tuple whose connection already ended (or
        // with another initial sequence number) starts a new connection.
        let reuse = existing.filter(|&i| {
            let c = &connections[i];
            let other_isn = c
                .syn_from
                .is_some_and(|from| from == src && c.sent_by(src).isn != Some(segment.seq));
            !(is_new_syn && (c.closed || other_isn))
        });
        let i = match reuse {
            Some(i) => i,
            None => {
                connections.push(ConnectionCapture::new(key.0, key.1, *time));
                index.insert(key, connections.len() - 1);
                connections.len() - 1
            }
        };
        record_segment(&mut connections[i], src, segment, *time);
    }
    connections
}

impl ConnectionCapture {
    fn sent_by(&self, sender: SocketAddrV4) -> &DirectionCapture {
        if sender == self.low {
            &self.from_low
        } else {
            &self.from_high
        }
    }
}

fn record_segment(
    c: &mut ConnectionCapture,
    sender: SocketAddrV4,
    segment: &TcpSegment,
    time: SimTime,
) {
    c.last_seen = time;
    let flags = segment.flags;
    if flags.syn() {
        if flags.ack() {
            c.syn_ack_from.get_or_insert(sender);
        } else {
            c.syn_from.get_or_insert(sender);
        }
    }
    if flags.fin() || flags.rst() {
        c.closed = true;
    }
    let direction = c.sent_by_mut(sender);
    if flags.syn() && direction.isn.is_none() {
        direction.isn = Some(segment.seq);
    }
    if !segment.payload.is_empty() {
        // RFC 9293 §3.4: a SYN occupies one sequence number, so data on a
        // SYN starts one after it.
        let seq = if flags.syn() {
            segment.seq.wrapping_add(1)
        } else {
            segment.seq
        };
        direction.segments.push(CapturedSegment {
            seq,
            time,
            payload: segment.payload.clone(),
        });
    }
}

// ---------------------------------------------------------------------
// Reassembly
// ---------------------------------------------------------------------

/// Contiguous bytes of a stream, between gaps.
#[derive(Debug, Clone, Default)]
struct Run {
    data: Vec<u8>,
    /// `(offset in data, capture time)` of each segment that contributed.
    times: Vec<(usize, SimTime)>,
}

impl Run {
    /// When the byte at `pos` was captured.
    fn time_at(&self, pos: usize) -> SimTime {
        self.times
            .get(self.segment_at(pos))
            .map_or(SimTime::ZERO, |&(_, t)| t)
    }

    /// Which of the run's segments brought the byte at `pos`.
    fn segment_at(&self, pos: usize) -> usize {
        self.times
            .partition_point(|&(offset, _)| offset <= pos)
            .saturating_sub(1)
    }
}

/// One direction's bytes, in order.
#[derive(Debug, Clone, Default)]
struct Stream {
    runs: Vec<Run>,
    summary: StreamSummary,
}

impl Stream {
    fn first_run(&self) -> &[u8] {
        self.runs.first().map_or(&[], |r| r.data.as_slice())
    }

    fn is_empty(&self) -> bool {
        self.runs.is_empty()
    }
}

/// Orders one direction's segments by sequence number and keeps each byte
/// once (RFC 9293 §3.10.7.4 processes segments "in sequence" the same way).
fn reassemble(direction: &DirectionCapture) -> Stream {
    let mut stream = Stream::default();
    let segments = &direction.segments;
    let Some(first) = segments.first() else {
        return stream;
    };
    stream.summary.segments = segments.len() as u32;
    // Where byte 0 of the stream is: after the SYN if it was captured,
    // else at the lowest sequence number seen.
    let base = match direction.isn {
        Some(isn) => isn.wrapping_add(1),
        None => {
            let lowest = segments
                .iter()
                .map(|s| seq::diff(s.seq, first.seq))
                .min()
                .unwrap_or(0);
            first.seq.wrapping_add(lowest as u32)
        }
    };
    let mut ordered: Vec<(i64, usize)> = segments
        .iter()
        .enumerate()
        .map(|(i, s)| (seq::diff(s.seq, base), i))
        .collect();
    // By offset, then capture order: the first copy of a byte wins.
    ordered.sort();
    let mut next: i64 = 0;
    let mut run = Run::default();
    for (offset, i) in ordered {
        let segment = &segments[i];
        let payload: &[u8] = &segment.payload;
        let end = offset + payload.len() as i64;
        if end <= next {
            stream.summary.duplicate_bytes += payload.len() as u64;
            continue;
        }
        if offset > next {
            // A hole: bytes the tap never saw.
            stream.summary.gaps += 1;
            stream.summary.missing_bytes += (offset - next) as u64;
            if !run.data.is_empty() {
                stream.runs.push(std::mem::take(&mut run));
            }
            next = offset;
        }
        let skip = (next - offset) as usize;
        stream.summary.duplicate_bytes += skip as u64;
        let fresh = &payload[skip..];
        run.times.push((run.data.len(), segment.time));
        run.data.extend_from_slice(fresh);
        stream.summary.bytes += fresh.len() as u64;
        next = end;
    }
    if !run.data.is_empty() {
        stream.runs.push(run);
    }
    stream
}

// ---------------------------------------------------------------------
// Recognising the protocol
// ---------------------------------------------------------------------

/// The first line of `data`, without its terminator.
fn first_line(data: &[u8]) -> &[u8] {
    let end = data.iter().position(|&b| b == b'\n').unwrap_or(data.len());
    let line = &data[..end];
    line.strip_suffix(b"\r").unwrap_or(line)
}

fn starts_with_ignore_case(text: &[u8], prefix: &str) -> bool {
    text.len() >= prefix.len() && text[..prefix.len()].eq_ignore_ascii_case(prefix.as_bytes())
}

/// True if `line` looks like an HTTP request line.
fn is_http_request_line(line: &[u8]) -> bool {
    let parts: Vec<&[u8]> = line.split(|&b| b == b' ').collect();
    matches!(parts.as_slice(), [method, _, version]
        if !method.is_empty()
            && method.iter().all(|b| b.is_ascii_uppercase())
            && version.starts_with(b"HTTP/"))
}

/// Content first, ports as a fallback: servers in a scenario may listen
/// on unusual ports.
fn detect_protocol(id: ConnectionId, c2s: &Stream, s2c: &Stream) -> Protocol {
    let client = first_line(c2s.first_run());
    let server = first_line(s2c.first_run());
    if client.starts_with(b"SSH-") || server.starts_with(b"SSH-") {
        return Protocol::Scp;
    }
    // A TELNET server opens by negotiating options: its first byte is IAC.
    if [c2s, s2c]
        .iter()
        .any(|s| s.first_run().first() == Some(&telnet::IAC))
    {
        return Protocol::Telnet;
    }
    if is_http_request_line(client) || server.starts_with(b"HTTP/1.") {
        return Protocol::Http;
    }
    if server.starts_with(b"+OK") {
        return Protocol::Pop3;
    }
    if server.starts_with(b"* OK") || server.starts_with(b"* PREAUTH") {
        return Protocol::Imap;
    }
    if server.starts_with(b"220") {
        // Both SMTP and FTP greet with 220; the client's first word tells.
        if ["EHLO", "HELO", "LHLO"]
            .iter()
            .any(|c| starts_with_ignore_case(client, c))
        {
            return Protocol::Smtp;
        }
        if ["USER", "AUTH", "FEAT", "OPTS", "SYST"]
            .iter()
            .any(|c| starts_with_ignore_case(client, c))
        {
            return Protocol::FtpControl;
        }
    }
    // Last, the well-known port: an eavesdropper cannot ask the
    // applications what they speak, so it guesses as Wireshark does.
    match id.server.port() {
        ftp::CONTROL_PORT => Protocol::FtpControl,
        scp::PORT => Protocol::Scp,
        telnet::PORT => Protocol::Telnet,
        smtp::PORT | smtp::SUBMISSION_PORT => Protocol::Smtp,
        pop3::PORT => Protocol::Pop3,
        imap::PORT => Protocol::Imap,
        http::PORT | http::ALT_PORT => Protocol::Http,
        _ => Protocol::Data,
    }
}

// ---------------------------------------------------------------------
// Reading the streams
// ---------------------------------------------------------------------

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

/// A line of a run: where it starts, and its bytes without CRLF.
struct LineAt<'a> {
    start: usize,
    text: &'a [u8],
}

/// The lines of a run, the last one possibly unterminated.
fn lines(data: &[u8]) -> Vec<LineAt<'_>> {
    let mut out = Vec::new();
    let mut start = 0;
    while start < data.len() {
        let end = data[start..]
            .iter()
            .position(|&b| b == b'\n')
            .map_or(data.len(), |p| start + p);
        let line = &data[start..end];
        out.push(LineAt {
            start,
            text: line.strip_suffix(b"\r").unwrap_or(line),
        });
        start = end + 1;
    }
    out
}

/// The text of a line, for a report.
fn show(bytes: &[u8]) -> String {
    bytes
        .iter()
        .take(200)
        .map(|&b| {
            if (0x20..0x7f).contains(&b) {
                char::from(b)
            } else {
                '.'
            }
        })
        .collect()
}

/// `(command word uppercased, argument)` of a text command line.
fn split_command(line: &[u8]) -> (String, String) {
    let text = String::from_utf8_lossy(line);
    let (word, arg) = text.split_once(' ').unwrap_or((&text, ""));
    (word.to_ascii_uppercase(), arg.to_string())
}

/// RFC 959 §4.1: USER and PASS travel as plain text on port 21.
fn read_ftp_control(c2s: &Stream, out: &mut Findings) {
    const FILE_COMMANDS: &[&str] = &[
        "RETR", "STOR", "STOU", "APPE", "DELE", "RNFR", "RNTO", "MKD", "RMD", "CWD", "LIST", "NLST",
    ];
    for run in &c2s.runs {
        for line in lines(&run.data) {
            let (word, arg) = split_command(line.text);
            let time = run.time_at(line.start);
            match word.as_str() {
                "USER" | "PASS" => {
                    out.add(FindingKind::Credential, time, format!("FTP {word} {arg}"))
                }
                w if FILE_COMMANDS.contains(&w) => {
                    out.add(
                        FindingKind::Command,
                        time,
                        format!("FTP {}", show(line.text)),
                    );
                }
                _ => {}
            }
        }
    }
}

/// What a SASL exchange is waiting for in the next client line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SaslWait {
    None,
    /// RFC 4616: `authzid NUL authcid NUL passwd`, base64.
    PlainResponse,
    /// AUTH LOGIN: the user name, then the password, each base64.
    LoginUser,
    LoginPassword,
}

/// Decodes an AUTH PLAIN response into a finding.
fn report_plain(protocol: &str, b64: &str, time: SimTime, out: &mut Findings) {
    let text = match base64_decode(b64.trim()) {
        Some(decoded) => {
            let parts: Vec<&[u8]> = decoded.split(|&b| b == 0).collect();
            match parts.as_slice() {
                [_, user, password] => format!(
                    "{protocol} AUTH PLAIN user {} password {}",
                    show(user),
                    show(password)
                ),
                _ => format!("{protocol} AUTH PLAIN {}", show(&decoded)),
            }
        }
        None => format!("{protocol} AUTH PLAIN {b64} (not base64)"),
    };
    out.add(FindingKind::Credential, time, text);
}

/// Follows an `AUTH` (SMTP, POP3) or `AUTHENTICATE` (IMAP) exchange: the
/// mechanism and an optional initial response, then later lines.
fn sasl_start(
    protocol: &str,
    mechanism: &str,
    initial: Option<&str>,
    time: SimTime,
    out: &mut Findings,
) -> SaslWait {
    match (mechanism.to_ascii_uppercase().as_str(), initial) {
        ("PLAIN", Some(b64)) if b64 != "=" => {
            report_plain(protocol, b64, time, out);
            SaslWait::None
        }
        ("PLAIN", _) => SaslWait::PlainResponse,
        ("LOGIN", Some(b64)) => {
            let user = base64_decode(b64).map_or(b64.to_string(), |u| show(&u));
            out.add(
                FindingKind::Credential,
                time,
                format!("{protocol} AUTH LOGIN user {user}"),
            );
            SaslWait::LoginPassword
        }
        ("LOGIN", None) => SaslWait::LoginUser,
        _ => SaslWait::None,
    }
}

/// A client line while a SASL exchange is in progress.
fn sasl_continue(
    protocol: &str,
    wait: SaslWait,
    line: &[u8],
    time: SimTime,
    out: &mut Findings,
) -> SaslWait {
    let text = String::from_utf8_lossy(line);
    let text = text.trim();
    // RFC 4954 §4: "*" cancels the exchange.
    if text == "*" {
        return SaslWait::None;
    }
    let decoded = base64_decode(text).map_or(text.to_string(), |d| show(&d));
    match wait {
        SaslWait::None => SaslWait::None,
        SaslWait::PlainResponse => {
            report_plain(protocol, text, time, out);
            SaslWait::None
        }
        SaslWait::LoginUser => {
            out.add(
                FindingKind::Credential,
                time,
                format!("{protocol} AUTH LOGIN user {decoded}"),
            );
            SaslWait::LoginPassword
        }
        SaslWait::LoginPassword => {
            out.add(
                FindingKind::Credential,
                time,
                format!("{protocol} AUTH LOGIN password {decoded}"),
            );
            SaslWait::None
        }
    }
}

/// Subject lines of messages going by.
fn report_subjects(protocol: &str, stream: &Stream, out: &mut Findings) {
    for run in &stream.runs {
        for line in lines(&run.data) {
            if starts_with_ignore_case(line.text, "Subject:") {
                let subject = show(&line.text[8..]);
                out.add(
                    FindingKind::Content,
                    run.time_at(line.start),
                    format!("{protocol} message with Subject:{subject}"),
                );
            }
        }
    }
}

/// SMTP (RFC 5321): AUTH credentials (RFC 4954), the envelope, and what
/// the messages say.
fn read_smtp(c2s: &Stream, out: &mut Findings) {
    for run in &c2s.runs {
        let mut wait = SaslWait::None;
        let mut in_data = false;
        for line in lines(&run.data) {
            let time = run.time_at(line.start);
            if in_data {
                // RFC 5321 §4.1.1.4: the message ends with a lone ".".
                if line.text == b"." {
                    in_data = false;
                }
                continue;
            }
            if wait != SaslWait::None {
                wait = sasl_continue("SMTP", wait, line.text, time, out);
                continue;
            }
            let (word, arg) = split_command(line.text);
            match word.as_str() {
                "AUTH" => {
                    let mut args = arg.split_whitespace();
                    let mechanism = args.next().unwrap_or("");
                    wait = sasl_start("SMTP", mechanism, args.next(), time, out);
                }
                "MAIL" | "RCPT" => out.add(
                    FindingKind::Command,
                    time,
                    format!("SMTP {}", show(line.text)),
                ),
                "DATA" => in_data = true,
                _ => {}
            }
        }
    }
    report_subjects("SMTP", c2s, out);
}

/// POP3 (RFC 1939 §7): USER and PASS in plain text, or AUTH (RFC 5034).
fn read_pop3(c2s: &Stream, s2c: &Stream, out: &mut Findings) {
    for run in &c2s.runs {
        let mut wait = SaslWait::None;
        for line in lines(&run.data) {
            let time = run.time_at(line.start);
            if wait != SaslWait::None {
                wait = sasl_continue("POP3", wait, line.text, time, out);
                continue;
            }
            let (word, arg) = split_command(line.text);
            match word.as_str() {
                "USER" | "PASS" => {
                    out.add(FindingKind::Credential, time, format!("POP3 {word} {arg}"))
                }
                "APOP" => out.add(
                    FindingKind::Credential,
                    time,
                    format!(
                        "POP3 APOP {} (a digest, not the password)",
                        show(line.text.get(5..).unwrap_or(&[]))
                    ),
                ),
                "AUTH" => {
                    let mut args = arg.split_whitespace();
                    let mechanism = args.next().unwrap_or("");
                    wait = sasl_start("POP3", mechanism, args.next(), time, out);
                }
                "RETR" => out.add(FindingKind::Command, time, format!("POP3 RETR {arg}")),
                _ => {}
            }
        }
    }
    report_subjects("POP3", s2c, out);
}

/// IMAP (RFC 9051 §6.2.3): `tag LOGIN user password`, the arguments being
/// atoms, quoted strings or literals; or AUTHENTICATE.
fn read_imap(c2s: &Stream, s2c: &Stream, out: &mut Findings) {
    for run in &c2s.runs {
        let data = &run.data;
        let mut pos = 0;
        let mut wait = SaslWait::None;
        while pos < data.len() {
            let time = run.time_at(pos);
            let line_end = data[pos..]
                .iter()
                .position(|&b| b == b'\n')
                .map_or(data.len(), |p| pos + p);
            let line = &data[pos..line_end];
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            if wait != SaslWait::None {
                wait = sasl_continue("IMAP", wait, line, time, out);
                pos = line_end + 1;
                continue;
            }
            let words: Vec<&[u8]> = line.splitn(3, |&b| b == b' ').collect();
            let command = words
                .get(1)
                .map(|w| w.to_ascii_uppercase())
                .unwrap_or_default();
            let mut next = line_end + 1;
            if command == b"LOGIN" && words.len() == 3 {
                // Arguments start after "tag LOGIN ".
                let mut cursor = pos + words[0].len() + 1 + words[1].len() + 1;
                let user = imap_astring(data, &mut cursor);
                skip_spaces(data, &mut cursor);
                let password = imap_astring(data, &mut cursor);
                if let (Some(user), Some(password)) = (user, password) {
                    out.add(
                        FindingKind::Credential,
                        time,
                        format!(
                            "IMAP LOGIN user {} password {}",
                            show(&user),
                            show(&password)
                        ),
                    );
                }
                next = next_line_start(data, cursor);
            } else if command == b"AUTHENTICATE" {
                let args =
                    String::from_utf8_lossy(words.get(2).copied().unwrap_or(&[])).into_owned();
                let mut args = args.split_whitespace();
                let mechanism = args.next().unwrap_or("");
                wait = sasl_start("IMAP", mechanism, args.next(), time, out);
            } else if let Some(n) = literal_length(line) {
                // A literal ends the line: its bytes follow, skip them.
                next = next.saturating_add(n);
            }
            pos = next;
        }
    }
    report_subjects("IMAP", s2c, out);
}

fn skip_spaces(data: &[u8], cursor: &mut usize) {
    while data.get(*cursor) == Some(&b' ') {
        *cursor += 1;
    }
}

/// The start of the line after the one `cursor` is in.
fn next_line_start(data: &[u8], cursor: usize) -> usize {
    data.get(cursor..)
        .and_then(|rest| rest.iter().position(|&b| b == b'\n'))
        .map_or(data.len(), |p| cursor + p + 1)
}

/// `{n}` or `{n+}` at the end of a line (RFC 9051 §4.3).
fn literal_length(line: &[u8]) -> Option<usize> {
    let open = line.iter().rposition(|&b| b == b'{')?;
    let inner = line.get(open + 1..line.len().checked_sub(1)?)?;
    if line.last() != Some(&b'}') {
        return None;
    }
    let digits = inner.strip_suffix(b"+").unwrap_or(inner);
    std::str::from_utf8(digits).ok()?.parse().ok()
}

/// An IMAP astring at `cursor`: atom, "quoted", or {n} literal.
fn imap_astring(data: &[u8], cursor: &mut usize) -> Option<Vec<u8>> {
    match data.get(*cursor)? {
        b'"' => {
            let mut value = Vec::new();
            *cursor += 1;
            loop {
                match data.get(*cursor)? {
                    b'"' => {
                        *cursor += 1;
                        return Some(value);
                    }
                    b'\\' => {
                        value.push(*data.get(*cursor + 1)?);
                        *cursor += 2;
                    }
                    b'\r' | b'\n' => return None,
                    &b => {
                        value.push(b);
                        *cursor += 1;
                    }
                }
            }
        }
        b'{' => {
            let close = data[*cursor..].iter().position(|&b| b == b'}')? + *cursor;
            let line = &data[*cursor..=close];
            let n = literal_length(line)?;
            // The literal's bytes start after the CRLF that ends the line.
            let start = next_line_start(data, close);
            let value = data.get(start..start.checked_add(n)?)?.to_vec();
            *cursor = start + n;
            Some(value)
        }
        _ => {
            let start = *cursor;
            while let Some(&b) = data.get(*cursor) {
                if b == b' ' || b == b'\r' || b == b'\n' {
                    break;
                }
                *cursor += 1;
            }
            (*cursor > start).then(|| data[start..*cursor].to_vec())
        }
    }
}

/// An HTTP message head: start line and header fields.
struct HttpHead<'a> {
    start_line: &'a [u8],
    fields: Vec<(String, String)>,
    /// Where the body starts.
    body_start: usize,
}

/// Parses a message head at `pos`; `None` if it is not complete.
fn http_head(data: &[u8], pos: usize) -> Option<HttpHead<'_>> {
    let mut fields = Vec::new();
    let mut cursor = pos;
    let mut start_line: Option<&[u8]> = None;
    loop {
        let rest = data.get(cursor..)?;
        let newline = rest.iter().position(|&b| b == b'\n')?;
        let line = &rest[..newline];
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        cursor += newline + 1;
        match start_line {
            None if line.is_empty() => {} // stray CRLF between messages
            None => start_line = Some(line),
            Some(start_line) if line.is_empty() => {
                return Some(HttpHead {
                    start_line,
                    fields,
                    body_start: cursor,
                });
            }
            Some(_) => {
                let text = String::from_utf8_lossy(line);
                if let Some((name, value)) = text.split_once(':') {
                    fields.push((name.trim().to_string(), value.trim().to_string()));
                }
            }
        }
    }
}

fn field<'a>(fields: &'a [(String, String)], name: &str) -> Option<&'a str> {
    fields
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

fn content_length(fields: &[(String, String)]) -> usize {
    field(fields, "content-length")
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0)
}

/// HTTP (RFC 9112): request lines, Basic credentials (RFC 7617), and the
/// bodies both ways.
fn read_http(c2s: &Stream, s2c: &Stream, out: &mut Findings) {
    let mut methods = Vec::new();
    for run in &c2s.runs {
        let mut pos = 0;
        while let Some(head) = http_head(&run.data, pos) {
            let time = run.time_at(pos);
            let request_line = show(head.start_line);
            methods.push(request_line.split(' ').next().unwrap_or("").to_string());
            out.add(FindingKind::Command, time, format!("HTTP {request_line}"));
            if let Some(auth) = field(&head.fields, "authorization") {
                out.add(FindingKind::Credential, time, describe_authorization(auth));
            }
            let n = content_length(&head.fields);
            let end = head.body_start.saturating_add(n).min(run.data.len());
            let body = &run.data[head.body_start..end];
            if !body.is_empty() {
                out.add(
                    FindingKind::Content,
                    run.time_at(head.body_start),
                    format!(
                        "HTTP request body ({} bytes): {}",
                        body.len(),
                        preview(body)
                    ),
                );
            }
            pos = end;
        }
    }
    let mut methods = methods.into_iter();
    for run in &s2c.runs {
        let mut pos = 0;
        while let Some(head) = http_head(&run.data, pos) {
            // RFC 9112 §6.3: a response to HEAD has no body, whatever its
            // Content-Length says.
            let is_head = methods.next().is_some_and(|m| m == "HEAD");
            let n = if is_head {
                0
            } else {
                content_length(&head.fields)
            };
            let end = head.body_start.saturating_add(n).min(run.data.len());
            let body = &run.data[head.body_start..end];
            let status = show(head.start_line);
            let text = if body.is_empty() {
                format!("HTTP response {status}")
            } else {
                format!(
                    "HTTP response {status}, {} bytes of body: {}",
                    body.len(),
                    preview(body)
                )
            };
            out.add(FindingKind::Content, run.time_at(pos), text);
            pos = end;
        }
    }
}

/// `Basic <base64(user:password)>` decoded (RFC 7617 §2).
fn describe_authorization(value: &str) -> String {
    let (scheme, token) = value.split_once(' ').unwrap_or((value, ""));
    if scheme.eq_ignore_ascii_case("basic")
        && let Some(decoded) = base64_decode(token.trim())
    {
        let text = show(&decoded);
        if let Some((user, password)) = text.split_once(':') {
            return format!("HTTP Basic user {user} password {password}");
        }
    }
    format!("HTTP Authorization: {}", show(value.as_bytes()))
}

/// Wiretale's SCP channel (or SSH): the version lines are clear, the rest
/// is ciphertext. The listener can still count records and their sizes.
fn read_encrypted(c2s: &Stream, s2c: &Stream, out: &mut Findings) {
    for (stream, direction) in [(c2s, "client to server"), (s2c, "server to client")] {
        let Some(run) = stream.runs.first() else {
            continue;
        };
        let data = &run.data;
        let banner = first_line(data);
        let mut ciphertext_start = 0;
        if banner.starts_with(b"SSH-") {
            out.add(
                FindingKind::Banner,
                run.time_at(0),
                format!("{direction} version: {}", show(banner)),
            );
            let line_end = data
                .iter()
                .position(|&b| b == b'\n')
                .map_or(data.len(), |p| p + 1);
            // Until NEWKEYS, SSH packets travel in the clear: the listener
            // reads the algorithm lists and the public keys, which tell
            // her nothing that helps.
            let (clear_end, offered) = clear_ssh_packets(&data[line_end..]);
            if let Some(offered) = offered {
                out.add(
                    FindingKind::Banner,
                    run.time_at(line_end),
                    format!("{direction} {offered}"),
                );
            }
            ciphertext_start = (line_end + clear_end).min(data.len());
        }
        let mut ciphertext: Vec<u8> = data[ciphertext_start..].to_vec();
        for later in stream.runs.iter().skip(1) {
            ciphertext.extend_from_slice(&later.data);
        }
        if ciphertext.is_empty() {
            continue;
        }
        let time = run.time_at(ciphertext_start.min(data.len().saturating_sub(1)));
        let longest = longest_printable_run(&ciphertext);
        let mut text = format!(
            "{direction}: {} bytes, entropy {:.2} bits/byte",
            ciphertext.len(),
            byte_entropy(&ciphertext),
        );
        // A short sample cannot show all 256 byte values: its entropy is
        // at most log2(length), however random it is.
        if ciphertext.len() < 256 {
            let ceiling = (ciphertext.len() as f64).log2();
            text.push_str(&format!(" (at most {ceiling:.2} for so few bytes)"));
        }
        text.push_str(&format!(", longest printable run {} bytes", longest.len()));
        if banner.starts_with(b"SSH-") {
            let sizes = segment_sizes(stream, ciphertext_start);
            let shown: Vec<String> = sizes.iter().take(12).map(|n| n.to_string()).collect();
            text.push_str(&format!(
                "; packet lengths are encrypted too, only segment sizes show: {}{}",
                shown.join(", "),
                if sizes.len() > 12 { ", ..." } else { "" }
            ));
        }
        if longest.len() > MAX_PRINTABLE_RUN_IN_CIPHERTEXT {
            text.push_str(&format!("; readable text: {:?}", show(longest)));
            out.add(FindingKind::Content, time, text);
        } else {
            text.push_str(": no readable text");
            out.add(FindingKind::Ciphertext, time, text);
        }
    }
}

/// A line the TELNET user typed, put back together from its keystrokes.
#[derive(Debug, Default)]
struct TypedLine {
    text: Vec<u8>,
    /// When its first key was captured.
    start: Option<SimTime>,
    /// When its Return was captured (`None`: not pressed yet).
    end: Option<SimTime>,
    /// The segments its keys came in.
    segments: std::collections::BTreeSet<(usize, usize)>,
}

/// The client's keystrokes as lines, with the editing keys applied as the
/// server applies them (DEL, BS, Ctrl-U, Ctrl-C, IAC EC/EL/IP).
fn telnet_lines(c2s: &Stream) -> Vec<TypedLine> {
    use telnet::{Item, codec::Key};
    let mut lines = Vec::new();
    for (r, run) in c2s.runs.iter().enumerate() {
        let mut ends = telnet::LineEnds::default();
        let mut line = TypedLine::default();
        for (pos, item) in telnet::Decoder::new().decode(&run.data) {
            let key = match item {
                Item::Data(b) => ends.feed(b),
                Item::Command(telnet::EC) => Some(Key::Byte(0x7f)),
                Item::Command(telnet::EL | telnet::IP) => Some(Key::Byte(0x15)),
                _ => None,
            };
            match key {
                Some(Key::Enter) if !line.text.is_empty() => {
                    line.end = Some(run.time_at(pos));
                    lines.push(std::mem::take(&mut line));
                }
                Some(Key::Byte(0x7f | 0x08)) => {
                    line.text.pop();
                }
                Some(Key::Byte(0x15 | 0x03)) => line.text.clear(),
                Some(Key::Byte(b)) if b >= 0x20 => {
                    line.start.get_or_insert(run.time_at(pos));
                    line.text.push(b);
                    line.segments.insert((r, run.segment_at(pos)));
                }
                _ => {}
            }
        }
        if !line.text.is_empty() {
            lines.push(line);
        }
    }
    lines
}

/// What the user's screen showed, byte by byte with the time each was
/// captured: the server's data, commands removed, ends of line as LF.
fn telnet_screen(s2c: &Stream) -> Vec<(u8, SimTime)> {
    use telnet::{Item, codec::Key};
    let mut screen = Vec::new();
    for run in &s2c.runs {
        let mut ends = telnet::LineEnds::default();
        for (pos, item) in telnet::Decoder::new().decode(&run.data) {
            let Item::Data(b) = item else { continue };
            match ends.feed(b) {
                Some(Key::Byte(b)) => screen.push((b, run.time_at(pos))),
                Some(Key::Enter) => screen.push((b'\n', run.time_at(pos))),
                None => {}
            }
        }
    }
    screen
}

/// The screen's bytes captured in `(after, until]`.
fn screen_between(screen: &[(u8, SimTime)], after: SimTime, until: Option<SimTime>) -> Vec<u8> {
    screen
        .iter()
        .filter(|(_, t)| *t > after && until.is_none_or(|u| *t <= u))
        .map(|(b, _)| *b)
        .collect()
}

/// TELNET (RFC 854): everything crosses in the clear. The user's lines
/// are put back together from their keystrokes (one segment each in
/// character mode) and read by the prompt the server had left on the
/// screen when the first key was typed: after `login:` a user name, after
/// `Password:` the password (which the server did not echo, and which the
/// link carried all the same), otherwise a command, followed by what the
/// server printed until the next line began. A line is reported once its
/// Return is seen, a command's output once the next line starts or the
/// connection ends, so each finding is final when it is made.
fn read_telnet(c2s: &Stream, s2c: &Stream, closed: bool, out: &mut Findings) {
    let screen = telnet_screen(s2c);
    let lines = telnet_lines(c2s);
    for (i, line) in lines.iter().enumerate() {
        let Some(start) = line.start else { continue };
        if line.end.is_none() && !closed {
            continue;
        }
        // The screen as it was when the first key went: what was printed
        // at that instant or before (the tap sees both directions).
        let shown_before: Vec<u8> = screen
            .iter()
            .filter(|(_, t)| *t <= start)
            .map(|(b, _)| *b)
            .collect();
        let prompt_line = shown_before
            .rsplit(|&b| b == b'\n')
            .next()
            .unwrap_or_default();
        let prompt = String::from_utf8_lossy(prompt_line).to_ascii_lowercase();
        let prompt = prompt.trim_end();
        let text = show(&line.text);
        let unfinished = if line.end.is_some() {
            ""
        } else {
            " (no Return)"
        };
        let time = line.end.unwrap_or(start);
        let segments = line.segments.len();
        if prompt.ends_with("login:") {
            out.add(
                FindingKind::Credential,
                time,
                format!("TELNET login name {text}{unfinished}"),
            );
            continue;
        }
        if prompt.ends_with("password:") {
            let typed = if segments > 1 {
                format!(" (typed in {segments} segments)")
            } else {
                String::new()
            };
            out.add(
                FindingKind::Credential,
                time,
                format!("TELNET password {text}{typed}{unfinished}"),
            );
            continue;
        }
        out.add(
            FindingKind::Command,
            time,
            format!("TELNET command {text}{unfinished}"),
        );
        let Some(end) = line.end else { continue };
        let next = lines.get(i + 1).and_then(|l| l.start);
        if next.is_none() && !closed {
            // The output may not be complete yet.
            continue;
        }
        let mut printed = screen_between(&screen, end, next);
        if printed.first() == Some(&b'\n') {
            // The echo of the Return.
            printed.remove(0);
        }
        // What follows the last line end is the next prompt.
        let keep = printed
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(0, |p| p + 1);
        printed.truncate(keep);
        if !printed.is_empty() {
            out.add(
                FindingKind::Content,
                first_shown_after(&screen, end),
                format!(
                    "TELNET output of {text} ({} bytes): {}",
                    printed.len(),
                    preview_n(&printed, TELNET_PREVIEW_LEN)
                ),
            );
        }
    }
}

/// When the first screen byte after `after` was captured.
fn first_shown_after(screen: &[(u8, SimTime)], after: SimTime) -> SimTime {
    screen
        .iter()
        .map(|&(_, t)| t)
        .find(|&t| t > after)
        .unwrap_or(after)
}

/// Walks the clear SSH packets at the start of a stream (after the
/// version line) up to and including NEWKEYS. Returns where the
/// encrypted part begins and what the KEXINIT offered.
fn clear_ssh_packets(mut data: &[u8]) -> (usize, Option<String>) {
    use crate::proto::ssh::kex::KexInit;
    let start = data.len();
    let mut offered = None;
    while let Some((length, rest)) = data.split_first_chunk::<4>() {
        let n = u32::from_be_bytes(*length) as usize;
        if n < 5 || n > rest.len() {
            break;
        }
        let packet = &rest[..n];
        let padding = usize::from(packet[0]);
        let payload = &packet[1..n.saturating_sub(padding).max(1)];
        data = &rest[n..];
        match payload.first() {
            Some(&crate::proto::ssh::msg::KEXINIT) => {
                if let Some(init) = KexInit::decode(payload) {
                    offered = Some(format!(
                        "key exchange in the clear: KEXINIT offers {}; host keys {}; ciphers {}",
                        init.kex.join(", "),
                        init.host_key.join(", "),
                        init.ciphers_c2s.join(", ")
                    ));
                }
            }
            Some(&crate::proto::ssh::msg::NEWKEYS) => break,
            _ => {}
        }
    }
    (start - data.len(), offered)
}

/// The sizes of the segments that carry a stream, from byte `from` of
/// its first run on.
fn segment_sizes(stream: &Stream, from: usize) -> Vec<usize> {
    let mut sizes = Vec::new();
    for (i, run) in stream.runs.iter().enumerate() {
        let starts: Vec<usize> = run.times.iter().map(|&(offset, _)| offset).collect();
        for (k, &start) in starts.iter().enumerate() {
            let end = starts.get(k + 1).copied().unwrap_or(run.data.len());
            let start = if i == 0 { start.max(from) } else { start };
            if end > start {
                sizes.push(end - start);
            }
        }
    }
    sizes
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

/// A stream cut at byte `at` of its first run: what came before, and
/// what came after (with the later runs).
fn cut(stream: &Stream, at: usize) -> (Stream, Stream) {
    let Some(first) = stream.runs.first() else {
        return (stream.clone(), Stream::default());
    };
    let at = at.min(first.data.len());
    let before = Run {
        data: first.data[..at].to_vec(),
        times: first
            .times
            .iter()
            .copied()
            .filter(|&(o, _)| o < at)
            .collect(),
    };
    let mut after_times = vec![(0, first.time_at(at))];
    after_times.extend(
        first
            .times
            .iter()
            .filter(|&&(o, _)| o > at)
            .map(|&(o, t)| (o - at, t)),
    );
    let after = Run {
        data: first.data[at..].to_vec(),
        times: after_times,
    };
    let mut tail = Stream {
        runs: vec![after],
        summary: stream.summary,
    };
    tail.runs.extend(stream.runs.iter().skip(1).cloned());
    let head = Stream {
        runs: vec![before],
        summary: stream.summary,
    };
    (head, tail)
}

/// Where a STARTTLS-style upgrade happened: the command, when it was
/// seen, and both directions' bytes from the first TLS byte on.
type Upgrade = (&'static str, SimTime, Stream, Stream);

/// Finds the client's STARTTLS (SMTP, IMAP), STLS (POP3) or AUTH TLS
/// (FTP) and the server's yes to it; splits both streams there.
fn split_at_starttls(
    protocol: Protocol,
    c2s: &Stream,
    s2c: &Stream,
) -> (Stream, Stream, Option<Upgrade>) {
    let none = (c2s.clone(), s2c.clone(), None);
    let (verb, yes): (&'static str, fn(&[u8]) -> bool) = match protocol {
        Protocol::Smtp => ("STARTTLS", |l| {
            l.starts_with(b"220 ") && l.windows(3).any(|w| w == b"TLS")
        }),
        Protocol::Pop3 => ("STLS", |l| {
            l.starts_with(b"+OK") && l.windows(3).any(|w| w == b"TLS")
        }),
        Protocol::Imap => ("STARTTLS", |l| l.windows(9).any(|w| w == b"Begin TLS")),
        Protocol::FtpControl => ("AUTH TLS", |l| l.starts_with(b"234 ")),
        _ => return none,
    };
    let Some(client) = c2s.runs.first() else {
        return none;
    };
    let Some(command) = lines(&client.data).into_iter().find(|line| {
        let text = String::from_utf8_lossy(line.text).to_ascii_uppercase();
        // IMAP puts a tag first: "a1 STARTTLS".
        text == verb
            || text
                .split_whitespace()
                .skip(1)
                .collect::<Vec<_>>()
                .join(" ")
                == verb
                && protocol == Protocol::Imap
    }) else {
        return none;
    };
    let client_at = next_line_start(&client.data, command.start);
    let Some(server) = s2c.runs.first() else {
        return none;
    };
    let Some(reply) = lines(&server.data).into_iter().find(|line| yes(line.text)) else {
        return none;
    };
    let server_at = next_line_start(&server.data, reply.start);
    let time = client.time_at(command.start);
    let (c_clear, c_tls) = cut(c2s, client_at);
    let (s_clear, s_tls) = cut(s2c, server_at);
    (c_clear, s_clear, Some((verb, time, c_tls, s_tls)))
}

/// What TLS shows a listener: the records' types and sizes, the server
/// name in the ClientHello, the version the ServerHello picks, and in
/// TLS 1.2 the certificates. Nothing of the content.
fn read_tls(c2s: &Stream, s2c: &Stream, out: &mut Findings) {
    for (stream, direction) in [(c2s, "client to server"), (s2c, "server to client")] {
        let Some(run) = stream.runs.first() else {
            continue;
        };
        let mut data: Vec<u8> = run.data.clone();
        for later in stream.runs.iter().skip(1) {
            data.extend_from_slice(&later.data);
        }
        if data.is_empty() {
            continue;
        }
        let time = run.time_at(0);
        let mut at = 0;
        let mut sizes = Vec::new();
        let mut encrypted = 0usize;
        while let Some(header) = data.get(at..at + 5) {
            let kind = header[0];
            let len = usize::from(u16::from_be_bytes([header[3], header[4]]));
            let Some(body) = data.get(at + 5..at + 5 + len) else {
                break;
            };
            sizes.push(5 + len);
            match kind {
                // Handshake in the clear: ClientHello, ServerHello, and in
                // TLS 1.2 the Certificate.
                22 => {
                    for finding in describe_handshake(body) {
                        out.add(
                            FindingKind::Banner,
                            run.time_at(at.min(run.data.len().saturating_sub(1))),
                            format!("{direction} {finding}"),
                        );
                    }
                }
                23 => encrypted += len,
                _ => {}
            }
            at += 5 + len;
        }
        if sizes.is_empty() {
            continue;
        }
        let shown: Vec<String> = sizes.iter().take(12).map(|n| n.to_string()).collect();
        let longest = longest_printable_run(&data[..at]);
        let text = format!(
            "{direction}: {} TLS records ({} bytes encrypted), sizes {}{}, longest printable run {} bytes: no readable text",
            sizes.len(),
            encrypted,
            shown.join(", "),
            if sizes.len() > 12 { ", ..." } else { "" },
            longest.len()
        );
        out.add(FindingKind::Ciphertext, time, text);
    }
}

/// What a clear handshake record says: the ClientHello's server name, the
/// ServerHello's version, a TLS 1.2 Certificate's names.
fn describe_handshake(mut body: &[u8]) -> Vec<String> {
    let mut found = Vec::new();
    while body.len() >= 4 {
        let kind = body[0];
        let len = usize::from(body[1]) << 16 | usize::from(body[2]) << 8 | usize::from(body[3]);
        let Some(message) = body.get(4..4 + len) else {
            break;
        };
        match kind {
            1 => found.push(match client_hello_sni(message) {
                Some(name) => format!("TLS ClientHello: server name (SNI) {name}"),
                None => "TLS ClientHello".to_string(),
            }),
            2 => found.push(if server_hello_is_tls13(message) {
                "TLS ServerHello: TLS 1.3, so the certificate travels encrypted".to_string()
            } else {
                "TLS ServerHello: TLS 1.2".to_string()
            }),
            11 => found.push(format!(
                "TLS Certificate in the clear: {}",
                certificate_names(message)
            )),
            _ => {}
        }
        body = &body[4 + len..];
    }
    found
}

/// Skips a length-prefixed field of `width` bytes of length.
fn skip_field(data: &[u8], at: usize, width: usize) -> Option<usize> {
    let len = data
        .get(at..at + width)?
        .iter()
        .fold(0usize, |n, &b| n << 8 | usize::from(b));
    Some(at + width + len)
}

/// The extensions block of a ClientHello or ServerHello, from `at`.
fn extensions(data: &[u8], at: usize) -> Vec<(u16, &[u8])> {
    let mut out = Vec::new();
    let Some(total) = data.get(at..at + 2) else {
        return out;
    };
    let end = (at + 2 + usize::from(u16::from_be_bytes([total[0], total[1]]))).min(data.len());
    let mut i = at + 2;
    while i + 4 <= end {
        let kind = u16::from_be_bytes([data[i], data[i + 1]]);
        let len = usize::from(u16::from_be_bytes([data[i + 2], data[i + 3]]));
        let Some(body) = data.get(i + 4..i + 4 + len) else {
            break;
        };
        out.push((kind, body));
        i += 4 + len;
    }
    out
}

fn client_hello_sni(hello: &[u8]) -> Option<String> {
    // version (2), random (32), session id, cipher suites, compression.
    let at = skip_field(hello, 34, 1)?;
    let at = skip_field(hello, at, 2)?;
    let at = skip_field(hello, at, 1)?;
    let (_, sni) = extensions(hello, at)
        .into_iter()
        .find(|(kind, _)| *kind == 0)?;
    // server_name_list (2), name_type (1), host_name (2 + n).
    let name = sni.get(5..)?;
    Some(String::from_utf8_lossy(name).into_owned())
}

fn server_hello_is_tls13(hello: &[u8]) -> bool {
    let Some(at) = skip_field(hello, 34, 1) else {
        return false;
    };
    // cipher suite (2), compression (1).
    extensions(hello, at + 3)
        .iter()
        .any(|(kind, body)| *kind == 43 && body == &[0x03, 0x04])
}

/// The common names in a Certificate message, subject first.
fn certificate_names(message: &[u8]) -> String {
    // RFC 5280: a name's CN is OID 2.5.4.3 (06 03 55 04 03), then a string.
    let mut names = Vec::new();
    let mut i = 0;
    while let Some(rest) = message.get(i..) {
        let Some(p) = rest
            .windows(5)
            .position(|w| w == [0x06, 0x03, 0x55, 0x04, 0x03])
        else {
            break;
        };
        let at = i + p + 5;
        if let (Some(_), Some(&len)) = (message.get(at), message.get(at + 1))
            && let Some(text) = message.get(at + 2..at + 2 + usize::from(len))
        {
            names.push(String::from_utf8_lossy(text).into_owned());
        }
        i = at;
    }
    // Each certificate names its issuer, then its subject.
    match names.as_slice() {
        [issuer, subject, ..] => format!("certificate for CN={subject}, issued by CN={issuer}"),
        [one] => format!("certificate naming CN={one}"),
        [] => "certificates".to_string(),
    }
}

/// Shannon entropy of the byte histogram, in bits per byte: near 8 for
/// ciphertext, about 4 to 5 for English text.
pub fn byte_entropy(data: &[u8]) -> f64 {
    if data.is_empty() {
        return 0.0;
    }
    let mut counts = [0u64; 256];
    for &b in data {
        counts[usize::from(b)] += 1;
    }
    let total = data.len() as f64;
    counts
        .iter()
        .filter(|&&c| c > 0)
        .map(|&c| {
            let p = c as f64 / total;
            -p * p.log2()
        })
        .sum()
}

/// The longest run of printable ASCII (space to `~`).
pub fn longest_printable_run(data: &[u8]) -> &[u8] {
    let mut best = &data[..0];
    let mut start = 0;
    for (i, &b) in data.iter().enumerate() {
        if !(0x20..0x7f).contains(&b) {
            start = i + 1;
        } else if i + 1 - start > best.len() {
            best = &data[start..=i];
        }
    }
    best
}

/// A connection the listener does not recognise: most likely an FTP data
/// connection, carrying a file or a listing as raw bytes.
fn read_data(c2s: &Stream, s2c: &Stream, out: &mut Findings) {
    // A protected FTP data connection (PROT P) starts with a TLS
    // handshake record: content type 22, version 3.x.
    let looks_tls = |s: &Stream| matches!(s.first_run(), [22, 3, 0..=4, ..]);
    if looks_tls(c2s) || looks_tls(s2c) {
        read_tls(c2s, s2c, out);
        return;
    }
    for (stream, direction) in [(c2s, "client to server"), (s2c, "server to client")] {
        if stream.is_empty() {
            continue;
        }
        let mut all = Vec::new();
        for run in &stream.runs {
            all.extend_from_slice(&run.data);
        }
        let mut text = format!("{} bytes {direction}", all.len());
        if stream.summary.gaps > 0 {
            text.push_str(&format!(
                " ({} bytes missing in {} gap(s))",
                stream.summary.missing_bytes, stream.summary.gaps
            ));
        }
        text.push_str(&format!(": {}", preview(&all)));
        let time = stream.runs[0].time_at(0);
        out.add(FindingKind::File, time, text);
    }
}

/// The first bytes, as text if they are text, else as hex.
fn preview(data: &[u8]) -> String {
    preview_n(data, PREVIEW_LEN)
}

/// The first `n` bytes, as [`preview`] shows them.
fn preview_n(data: &[u8], n: usize) -> String {
    let head = &data[..data.len().min(n)];
    let more = if data.len() > n { "..." } else { "" };
    let printable = head
        .iter()
        .filter(|&&b| (0x20..0x7f).contains(&b) || b == b'\n' || b == b'\r' || b == b'\t')
        .count();
    if printable * 10 >= head.len() * 9 {
        let text: String = head
            .iter()
            .map(|&b| match b {
                b'\n' => "\\n".to_string(),
                b'\r' => "\\r".to_string(),
                b'\t' => "\\t".to_string(),
                0x20..0x7f => char::from(b).to_string(),
                _ => ".".to_string(),
            })
            .collect();
        format!("\"{text}{more}\"")
    } else {
        let hex: Vec<String> = head.iter().take(16).map(|b| format!("{b:02x}")).collect();
        let more = if data.len() > 16 { " ..." } else { "" };
        format!("binary {}{more}", hex.join(" "))
    }
}

/// Decodes standard base64 (RFC 4648 §4); padding optional.
pub fn base64_decode(text: &str) -> Option<Vec<u8>> {
    let text = text.trim_end_matches('=');
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let mut buffer: u32 = 0;
    let mut bits = 0;
    for c in text.bytes() {
        let value = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        };
        buffer = (buffer << 6) | u32::from(value);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((buffer >> bits) as u8);
            buffer &= (1 << bits) - 1;
        }
    }
    // A single leftover character cannot encode a byte.
    if bits >= 6 {
        return None;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::net::packet::{DEFAULT_TTL, TcpFlags};
    use bytes::Bytes;
    use proptest::prelude::*;
    use std::net::Ipv4Addr;

    const ALICE: Ipv4Addr = Ipv4Addr::new(10, 0, 1, 2);
    const SERVER: Ipv4Addr = Ipv4Addr::new(10, 0, 2, 2);

    fn packet(
        src: SocketAddrV4,
        dst: SocketAddrV4,
        seq: u32,
        flags: TcpFlags,
        payload: &[u8],
    ) -> Packet {
        Packet {
            id: 0,
            src: *src.ip(),
            dst: *dst.ip(),
            ttl: DEFAULT_TTL,
            payload: Payload::Tcp(TcpSegment {
                src_port: src.port(),
                dst_port: dst.port(),
                seq,
                ack: 0,
                flags,
                window: 65535,
                mss: None,
                payload: Bytes::copy_from_slice(payload),
            }),
        }
    }

    /// Writes a connection's packets as a tap would capture them: one
    /// packet per millisecond, in order unless a test shuffles them.
    struct Tap {
        client: SocketAddrV4,
        server: SocketAddrV4,
        client_seq: u32,
        server_seq: u32,
        packets: Vec<(SimTime, Packet)>,
        clock_ms: u64,
    }

    impl Tap {
        fn new(client_port: u16, server_port: u16) -> Tap {
            Tap {
                client: SocketAddrV4::new(ALICE, client_port),
                server: SocketAddrV4::new(SERVER, server_port),
                client_seq: 1000,
                server_seq: 5000,
                packets: Vec::new(),
                clock_ms: 0,
            }
        }

        fn push(&mut self, p: Packet) {
            self.clock_ms += 1;
            self.packets.push((SimTime::from_millis(self.clock_ms), p));
        }

        /// The three-way handshake.
        fn open(mut self) -> Tap {
            let (c, s) = (self.client, self.server);
            self.push(packet(c, s, self.client_seq, TcpFlags::SYN, b""));
            self.push(packet(
                s,
                c,
                self.server_seq,
                TcpFlags::SYN | TcpFlags::ACK,
                b"",
            ));
            self.client_seq += 1;
            self.server_seq += 1;
            self.push(packet(c, s, self.client_seq, TcpFlags::ACK, b""));
            self
        }

        fn client_sends(mut self, data: &[u8]) -> Tap {
            let p = packet(
                self.client,
                self.server,
                self.client_seq,
                TcpFlags::PSH | TcpFlags::ACK,
                data,
            );
            self.client_seq += data.len() as u32;
            self.push(p);
            self
        }

        fn server_sends(mut self, data: &[u8]) -> Tap {
            let p = packet(
                self.server,
                self.client,
                self.server_seq,
                TcpFlags::PSH | TcpFlags::ACK,
                data,
            );
            self.server_seq += data.len() as u32;
            self.push(p);
            self
        }

        fn close(mut self) -> Tap {
            let p = packet(
                self.client,
                self.server,
                self.client_seq,
                TcpFlags::FIN | TcpFlags::ACK,
                b"",
            );
            self.push(p);
            self
        }
    }

    fn texts(report: &Report, kind: FindingKind) -> Vec<String> {
        report
            .findings
            .iter()
            .filter(|f| f.kind == kind)
            .map(|f| f.text.clone())
            .collect()
    }

    #[test]
    fn ftp_passwords_and_files_are_in_the_clear() {
        let control = Tap::new(49152, 21)
            .open()
            .server_sends(b"220 ftp.example ready\r\n")
            .client_sends(b"USER alice\r\n")
            .server_sends(b"331 Password required\r\n")
            .client_sends(b"PASS wonderland\r\n")
            .server_sends(b"230 Logged in\r\n")
            .client_sends(b"RETR report.txt\r\n")
            .close();
        let mut data = Tap::new(49153, 20)
            .open()
            .server_sends(b"quarterly numbers: 42\n")
            .close();
        // Later in time than the control connection's opening.
        for (t, _) in &mut data.packets {
            *t = SimTime(t.0 + 100_000_000);
        }
        let mut captured = control.packets;
        captured.extend(data.packets);
        let report = analyze(&captured);
        assert_eq!(
            texts(&report, FindingKind::Credential),
            vec!["FTP USER alice", "FTP PASS wonderland"]
        );
        assert_eq!(
            texts(&report, FindingKind::Command),
            vec!["FTP RETR report.txt"]
        );
        assert_eq!(
            texts(&report, FindingKind::File),
            vec!["22 bytes server to client: \"quarterly numbers: 42\\n\""]
        );
        assert_eq!(report.connections[0].protocol, Protocol::FtpControl);
        assert_eq!(report.connections[1].protocol, Protocol::Data);
        assert_eq!(
            readable_text(&report),
            "Eavesdropper report: 2 connection(s), 4 finding(s)\n\
             \n\
             Findings:\n  \
             5.000 ms  10.0.1.2:49152 -> 10.0.2.2:21  FTP control  credential: FTP USER alice\n  \
             7.000 ms  10.0.1.2:49152 -> 10.0.2.2:21  FTP control  credential: FTP PASS wonderland\n  \
             9.000 ms  10.0.1.2:49152 -> 10.0.2.2:21  FTP control  command: FTP RETR report.txt\n  \
             104.000 ms  10.0.1.2:49153 -> 10.0.2.2:20  data  file: 22 bytes server to client: \"quarterly numbers: 42\\n\"\n\
             \n\
             Connections:\n  \
             10.0.1.2:49152 -> 10.0.2.2:21  FTP control  client->server 46 bytes, server->client 61 bytes\n  \
             10.0.1.2:49153 -> 10.0.2.2:20  data  client->server 0 bytes, server->client 22 bytes\n"
        );
    }

    #[test]
    fn out_of_order_and_retransmitted_segments_are_reassembled_once() {
        let client = SocketAddrV4::new(ALICE, 40000);
        let server = SocketAddrV4::new(SERVER, 21);
        let ack = TcpFlags::ACK;
        let t = SimTime::from_millis;
        let captured = vec![
            (t(1), packet(client, server, 99, TcpFlags::SYN, b"")),
            (t(2), packet(server, client, 700, TcpFlags::SYN | ack, b"")),
            // "USER alice\r\nPASS secret\r\n" in pieces: second first,
            (t(3), packet(client, server, 103, ack, b"R ali")),
            (t(4), packet(client, server, 100, ack, b"USE")),
            // the first again (a retransmission),
            (t(5), packet(client, server, 100, ack, b"USE")),
            // an overlapping retransmission, then the rest.
            (t(6), packet(client, server, 105, ack, b"alice\r\nPASS")),
            (t(7), packet(client, server, 116, ack, b" secret\r\n")),
            (t(8), packet(client, server, 125, TcpFlags::FIN | ack, b"")),
        ];
        let report = analyze(&captured);
        assert_eq!(
            texts(&report, FindingKind::Credential),
            vec!["FTP USER alice", "FTP PASS secret"]
        );
        let summary = report.connections[0].client_to_server;
        assert_eq!(
            summary,
            StreamSummary {
                segments: 5,
                bytes: 25,
                gaps: 0,
                missing_bytes: 0,
                duplicate_bytes: 3 + 3,
            }
        );
        // The finding is dated by the segment that carried its start.
        assert_eq!(report.findings[0].time, t(4));
        assert!(report.connections[0].closed && report.connections[0].syn_seen);
    }

    #[test]
    fn gaps_are_marked() {
        let client = SocketAddrV4::new(ALICE, 40000);
        let server = SocketAddrV4::new(SERVER, 2000);
        let t = SimTime::from_millis;
        let captured = vec![
            (t(1), packet(client, server, 1, TcpFlags::SYN, b"")),
            (
                t(2),
                packet(client, server, 2, TcpFlags::ACK, b"first part "),
            ),
            // 10 bytes never captured
            (
                t(3),
                packet(client, server, 23, TcpFlags::ACK, b"last part"),
            ),
        ];
        let report = analyze(&captured);
        let s = report.connections[0].client_to_server;
        assert_eq!((s.bytes, s.gaps, s.missing_bytes), (20, 1, 10));
        assert_eq!(
            texts(&report, FindingKind::File),
            vec![
                "20 bytes client to server (10 bytes missing in 1 gap(s)): \"first part last part\""
            ]
        );
        assert!(
            readable_text(&report).contains("client->server 20 bytes (1 gap(s), 10 bytes missing)")
        );
    }

    #[test]
    fn without_the_handshake_roles_come_from_ports() {
        let tap = Tap::new(50000, 110)
            .server_sends(b"+OK POP3 ready\r\n")
            .client_sends(b"USER bob\r\nPASS hamburger\r\n")
            .server_sends(b"+OK\r\n+OK\r\n")
            .client_sends(b"RETR 1\r\n")
            .server_sends(b"+OK 120 octets\r\nFrom: alice@crepes.fr\r\nSubject: Searching for the meaning of life.\r\n\r\nHi\r\n.\r\n");
        // Drop nothing, but shuffle: the server's greeting comes last.
        let mut captured = tap.packets;
        captured.rotate_left(1);
        let report = analyze(&captured);
        let c = &report.connections[0];
        assert_eq!(c.connection.server, SocketAddrV4::new(SERVER, 110));
        assert_eq!(c.protocol, Protocol::Pop3);
        assert!(!c.syn_seen);
        assert_eq!(
            texts(&report, FindingKind::Credential),
            vec!["POP3 USER bob", "POP3 PASS hamburger"]
        );
        assert_eq!(
            texts(&report, FindingKind::Content),
            vec!["POP3 message with Subject: Searching for the meaning of life."]
        );
        assert!(readable_text(&report).contains("(opening not captured)"));
    }

    #[test]
    fn smtp_auth_is_only_base64() {
        let tap = Tap::new(40001, 587)
            .open()
            .server_sends(b"220 mail.example ESMTP\r\n")
            .client_sends(b"EHLO crepes.fr\r\n")
            // RFC 4616 example-style: authzid empty, alice, secret.
            .client_sends(b"AUTH PLAIN AGFsaWNlAHNlY3JldA==\r\n")
            .client_sends(b"AUTH LOGIN\r\n")
            .client_sends(b"Ym9i\r\n")
            .client_sends(b"aGFtYnVyZ2Vy\r\n")
            .client_sends(b"MAIL FROM:<alice@crepes.fr>\r\nRCPT TO:<bob@hamburger.edu>\r\nDATA\r\n")
            .client_sends(b"Subject: lunch\r\n\r\nAUTH PLAIN is just text here\r\n.\r\nQUIT\r\n");
        let report = analyze(&tap.packets);
        assert_eq!(report.connections[0].protocol, Protocol::Smtp);
        assert_eq!(
            texts(&report, FindingKind::Credential),
            vec![
                "SMTP AUTH PLAIN user alice password secret",
                "SMTP AUTH LOGIN user bob",
                "SMTP AUTH LOGIN password hamburger",
            ]
        );
        assert_eq!(
            texts(&report, FindingKind::Command),
            vec![
                "SMTP MAIL FROM:<alice@crepes.fr>",
                "SMTP RCPT TO:<bob@hamburger.edu>"
            ]
        );
        assert_eq!(
            texts(&report, FindingKind::Content),
            vec!["SMTP message with Subject: lunch"]
        );
    }

    #[test]
    fn imap_login_with_quoted_strings_and_literals() {
        let tap = Tap::new(40002, 143)
            .open()
            .server_sends(b"* OK IMAP4rev2 ready\r\n")
            .client_sends(b"a1 LOGIN \"alice\" \"won\\\"der\"\r\n")
            .client_sends(b"a2 LOGIN {3}\r\nbob {9}\r\nhamburger\r\n")
            .client_sends(b"a3 AUTHENTICATE PLAIN\r\nAGNhcm9sAHB3\r\n")
            .client_sends(b"a4 APPEND INBOX {22}\r\nx LOGIN fake fake\r\n\r\na5 LOGOUT\r\n");
        let report = analyze(&tap.packets);
        assert_eq!(
            texts(&report, FindingKind::Credential),
            vec![
                "IMAP LOGIN user alice password won\"der",
                "IMAP LOGIN user bob password hamburger",
                "IMAP AUTH PLAIN user carol password pw",
            ]
        );
    }

    #[test]
    fn http_requests_credentials_and_bodies() {
        let tap = Tap::new(40003, 8000)
            .open()
            .client_sends(b"GET /private/ HTTP/1.1\r\nHost: h\r\nAuthorization: Basic YWxpY2U6c2VjcmV0\r\n\r\n")
            .client_sends(b"HEAD /big HTTP/1.1\r\nHost: h\r\n\r\nPOST /login HTTP/1.1\r\nHost: h\r\nContent-Length: 21\r\n\r\nuser=bob&pw=hamburge")
            .client_sends(b"r")
            .server_sends(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello")
            .server_sends(b"HTTP/1.1 200 OK\r\nContent-Length: 9999\r\n\r\n")
            .server_sends(b"HTTP/1.1 303 See Other\r\nContent-Length: 0\r\n\r\n");
        let report = analyze(&tap.packets);
        assert_eq!(report.connections[0].protocol, Protocol::Http);
        assert_eq!(
            texts(&report, FindingKind::Command),
            vec![
                "HTTP GET /private/ HTTP/1.1",
                "HTTP HEAD /big HTTP/1.1",
                "HTTP POST /login HTTP/1.1"
            ]
        );
        assert_eq!(
            texts(&report, FindingKind::Credential),
            vec!["HTTP Basic user alice password secret"]
        );
        assert_eq!(
            texts(&report, FindingKind::Content),
            vec![
                "HTTP request body (21 bytes): \"user=bob&pw=hamburger\"",
                "HTTP response HTTP/1.1 200 OK, 5 bytes of body: \"hello\"",
                "HTTP response HTTP/1.1 200 OK",
                "HTTP response HTTP/1.1 303 See Other",
            ]
        );
    }

    /// A real SCP upload, captured.
    #[test]
    fn scp_shows_only_ciphertext() {
        use crate::proto::Session;
        use crate::proto::scp::*;

        struct Fs;
        impl ScpBackend for Fs {
            fn check_password(&self, user: &str, password: &str) -> bool {
                user == "alice" && password == "wonderland"
            }
            fn lookup(&self, path: &str) -> Option<ScpNode> {
                (path == "/uploads").then(|| ScpNode::Dir {
                    mode: 0o755,
                    mtime: None,
                    entries: vec![],
                })
            }
            fn write_file(
                &mut self,
                _: &str,
                _: Bytes,
                _: u32,
                _: Option<i64>,
            ) -> Result<(), String> {
                Ok(())
            }
            fn make_dir(&mut self, _: &str, _: u32) -> Result<(), String> {
                Ok(())
            }
        }

        let secret_report = b"Quarterly report: revenue up, do not share.\n".repeat(30);
        let mut server = ScpServer::new([1; 32], [2; 32]);
        let mut client = ScpClient::new(ScpClientConfig {
            user: "alice".into(),
            password: "wonderland".into(),
            seed: [3; 32],
            ciphers: crate::proto::ssh::CipherName::ALL.to_vec(),
            known_host_key: Some(server.host_public_key()),
            operation: ScpOperation::Upload {
                target: "/uploads".into(),
                entries: vec![ScpEntry::file("report.txt", secret_report.clone())],
                preserve_times: false,
            },
        });
        let mut tap = Tap::new(40004, 22).open();
        loop {
            let mut moved = false;
            while let Some(bytes) = client.poll_output() {
                // Large writes go out as several segments, like TCP would.
                for piece in bytes.chunks(536) {
                    tap = tap.client_sends(piece);
                }
                server.handle_input(&bytes, &mut Fs);
                moved = true;
            }
            while let Some(bytes) = server.poll_output() {
                for piece in bytes.chunks(536) {
                    tap = tap.server_sends(piece);
                }
                client.handle_input(&bytes);
                moved = true;
            }
            if !moved {
                break;
            }
        }
        assert!(client.succeeded());
        let report = analyze(&tap.close().packets);
        assert_eq!(report.connections[0].protocol, Protocol::Scp);
        let text = readable_text(&report);
        for secret in ["wonderland", "alice", "Quarterly", "report.txt", "C0644"] {
            assert!(!text.contains(secret), "{secret} leaked: {text}");
        }
        assert_eq!(
            texts(&report, FindingKind::Banner),
            vec![
                "client to server version: SSH-2.0-wiretale",
                "client to server key exchange in the clear: KEXINIT offers curve25519-sha256, curve25519-sha256@libssh.org, kex-strict-c-v00@openssh.com; host keys ssh-ed25519; ciphers chacha20-poly1305@openssh.com, aes128-ctr",
                "server to client version: SSH-2.0-wiretale",
                "server to client key exchange in the clear: KEXINIT offers curve25519-sha256, curve25519-sha256@libssh.org, kex-strict-s-v00@openssh.com; host keys ssh-ed25519; ciphers chacha20-poly1305@openssh.com, aes128-ctr",
            ]
        );
        let ciphertext = texts(&report, FindingKind::Ciphertext);
        assert_eq!(ciphertext.len(), 2, "{text}");
        assert!(
            ciphertext.iter().all(|t| t.ends_with(": no readable text")),
            "{text}"
        );
        assert!(
            ciphertext[0].contains("packet lengths are encrypted too, only segment sizes show: "),
            "{text}"
        );
        assert!(texts(&report, FindingKind::Credential).is_empty());
    }

    #[test]
    fn after_starttls_trudy_sees_the_sni_and_in_tls_1_2_the_certificate() {
        use crate::proto::tls::{TlsLayer, pki::ScenarioPki, provider};
        use std::sync::Arc;
        let pki = ScenarioPki::new(9, "tap").unwrap();
        let cert = pki.host_cert("mail.example").unwrap();
        // A server that speaks TLS 1.2 only: its Certificate message
        // travels in the clear.
        let server_config = rustls::ServerConfig::builder_with_details(
            provider::provider(),
            Arc::new(provider::Clock(Some(1_800_000_000))),
        )
        .with_protocol_versions(&[&rustls::version::TLS12])
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(cert.chain, cert.key)
        .unwrap();
        let mut server = TlsLayer::server(Arc::new(server_config), Some([1; 32])).unwrap();
        let client_config = crate::proto::tls::client_config(&pki, Some(1_800_000_000)).unwrap();
        let mut client = TlsLayer::client(client_config, "mail.example", Some([2; 32])).unwrap();
        let mut tap = Tap::new(40006, 25)
            .open()
            .server_sends(b"220 mail.example ESMTP\r\n")
            .client_sends(b"EHLO c.example\r\n")
            .server_sends(b"250-mail.example\r\n250 STARTTLS\r\n")
            .client_sends(b"STARTTLS\r\n")
            .server_sends(b"220 2.0.0 Ready to start TLS\r\n");
        client.send(b"MAIL FROM:<secret@sender.example>\r\n");
        for _ in 0..4 {
            let c = client.take_output();
            if !c.is_empty() {
                tap = tap.client_sends(&c);
            }
            server.receive(&c);
            let s = server.take_output();
            if !s.is_empty() {
                tap = tap.server_sends(&s);
            }
            client.receive(&s);
        }
        let report = analyze(&tap.close().packets);
        let text = readable_text(&report);
        assert!(
            texts(&report, FindingKind::Command).contains(&"SMTP STARTTLS".to_string()),
            "{text}"
        );
        let banners = texts(&report, FindingKind::Banner);
        assert!(
            banners
                .iter()
                .any(|b| b.ends_with("server name (SNI) mail.example")),
            "{banners:?}"
        );
        assert!(
            banners
                .iter()
                .any(|b| b.contains("TLS ServerHello: TLS 1.2")),
            "{banners:?}"
        );
        assert!(
            banners.iter().any(|b| b
                .contains("certificate for CN=mail.example, issued by CN=wiretale scenario CA")),
            "{banners:?}"
        );
        assert!(!text.contains("secret@sender"), "{text}");
    }

    #[test]
    fn plain_text_on_port_22_is_called_out() {
        let tap = Tap::new(40005, 22)
            .open()
            .client_sends(b"this is not encrypted at all, anyone can read it\r\n");
        let report = analyze(&tap.packets);
        let content = texts(&report, FindingKind::Content);
        assert_eq!(content.len(), 1);
        assert!(
            content[0].contains("readable text: \"this is not encrypted"),
            "{content:?}"
        );
    }

    #[test]
    fn helpers() {
        assert_eq!(
            base64_decode("YWxpY2U6c2VjcmV0"),
            Some(b"alice:secret".to_vec())
        );
        assert_eq!(base64_decode("YQ=="), Some(b"a".to_vec()));
        assert_eq!(base64_decode("Y"), None);
        assert_eq!(base64_decode("a b"), None);
        assert_eq!(byte_entropy(b"aaaa"), 0.0);
        let all: Vec<u8> = (0..=255).collect();
        assert!((byte_entropy(&all) - 8.0).abs() < 1e-9);
        assert_eq!(longest_printable_run(b"\x00abc\x01de"), b"abc");
        assert_eq!(preview(&[0u8, 1, 2]), "binary 00 01 02");
        assert!(analyze(&[]).findings.is_empty());
        assert_eq!(
            readable_text(&Report::default()),
            "Eavesdropper report: 0 connection(s), 0 finding(s)\n"
        );
    }

    /// A TELNET session driven key by key through a tap: the server's
    /// machine and the scripted client, each keystroke its own segment.
    fn telnet_tap(password: &str) -> Tap {
        use crate::apps::vfs::{Account, VPath, Vfs};
        use crate::proto::Session;
        use crate::proto::telnet::*;
        let mut vfs = Vfs::new();
        let home = VPath::parse("/alice").unwrap();
        vfs.add_user("alice", Account::new("croissant", home), 0)
            .unwrap();
        vfs.create_text_file(
            &VPath::parse("/alice/report.txt").unwrap(),
            "Quarterly report: secret merger.\n",
            0,
        )
        .unwrap();
        let mut server = TelnetServer::new(TelnetConfig::new("files"));
        let mut client = TelnetClient::new(TelnetClientConfig {
            user: "alice".into(),
            password: password.into(),
            commands: vec!["cat report.txt".into()],
        });
        let mut tap = Tap::new(40005, 23).open();
        loop {
            let mut moved = false;
            while let Some(bytes) = server.poll_output() {
                tap = tap.server_sends(&bytes);
                client.handle_input(&bytes);
                moved = true;
            }
            while let Some(bytes) = client.poll_output() {
                tap = tap.client_sends(&bytes);
                server.handle_input(&bytes, &mut vfs);
                moved = true;
            }
            if let Some(key) = client.poll_keystroke() {
                tap = tap.client_sends(&key);
                server.handle_input(&key, &mut vfs);
                moved = true;
            }
            if !moved || server.wants_close() || client.wants_close() {
                while let Some(bytes) = server.poll_output() {
                    tap = tap.server_sends(&bytes);
                }
                break;
            }
        }
        tap
    }

    #[test]
    fn telnet_keystrokes_are_put_back_together() {
        let tap = telnet_tap("croissant").close();
        let report = analyze(&tap.packets);
        assert_eq!(report.connections[0].protocol, Protocol::Telnet);
        assert_eq!(
            texts(&report, FindingKind::Credential),
            vec![
                "TELNET login name alice",
                "TELNET password croissant (typed in 9 segments)"
            ]
        );
        assert_eq!(
            texts(&report, FindingKind::Command),
            vec!["TELNET command cat report.txt", "TELNET command exit"]
        );
        let content = texts(&report, FindingKind::Content);
        assert_eq!(
            content[0],
            "TELNET output of cat report.txt (33 bytes): \"Quarterly report: secret merger.\\n\""
        );
        // Trudy saw the password although the server never echoed it.
        let (screen, _) =
            crate::proto::telnet::codec::screen_text(&streams(&tap.packets)[0].server_to_client);
        assert!(!String::from_utf8_lossy(&screen).contains("croissant"));
    }

    #[test]
    fn telnet_findings_wait_for_their_line_and_output() {
        let tap = telnet_tap("croissant");
        // The capture up to the middle of the password: the login name is
        // there, the password is not finished, nothing else is.
        let keys_of_password = tap
            .packets
            .iter()
            .position(|(_, p)| &p.app_payload()[..] == b"s")
            .unwrap();
        let partial = analyze(&tap.packets[..keys_of_password]);
        assert_eq!(
            texts(&partial, FindingKind::Credential),
            vec!["TELNET login name alice"]
        );
        // Up to the Return of `cat report.txt` and its output, before the
        // next key: the command is known, its output not yet final.
        let before_exit = tap
            .packets
            .iter()
            .rposition(|(_, p)| p.src_addr().port() == 40005 && &p.app_payload()[..] == b"e")
            .unwrap();
        let partial = analyze(&tap.packets[..before_exit]);
        assert!(
            texts(&partial, FindingKind::Command)
                .contains(&"TELNET command cat report.txt".to_string())
        );
        assert!(texts(&partial, FindingKind::Content).is_empty());
        // A wrong password is read just the same.
        let report = analyze(&telnet_tap("baguette").close().packets);
        assert!(
            texts(&report, FindingKind::Credential)
                .contains(&"TELNET password baguette (typed in 8 segments)".to_string())
        );
        assert!(texts(&report, FindingKind::Command).is_empty());
        // Without the server's negotiation, port 23 still says TELNET.
        let bare = Tap::new(40006, 23)
            .open()
            .server_sends(b"login: ")
            .client_sends(b"bob\r\n")
            .close();
        let report = analyze(&bare.packets);
        assert_eq!(report.connections[0].protocol, Protocol::Telnet);
        assert_eq!(
            texts(&report, FindingKind::Credential),
            vec!["TELNET login name bob"]
        );
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// Any split of a stream into segments, delivered in any order
        /// with duplicates, reassembles to the same bytes.
        #[test]
        fn reassembly_is_order_and_duplicate_proof(
            data in prop::collection::vec(any::<u8>(), 1..400),
            cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..10),
            order in prop::collection::vec(any::<prop::sample::Index>(), 1..30),
            isn in any::<u32>(),
        ) {
            let mut bounds: Vec<usize> = cuts.iter().map(|c| c.index(data.len())).collect();
            bounds.extend([0, data.len()]);
            bounds.sort();
            bounds.dedup();
            let pieces: Vec<(usize, usize)> = bounds.windows(2).map(|w| (w[0], w[1])).collect();
            let client = SocketAddrV4::new(ALICE, 40000);
            let server = SocketAddrV4::new(SERVER, 3000);
            let mut captured = vec![(SimTime::ZERO, packet(client, server, isn, TcpFlags::SYN, b""))];
            // Every piece at least once, then extra copies in random order.
            let mut sends: Vec<usize> = (0..pieces.len()).collect();
            sends.extend(order.iter().map(|i| i.index(pieces.len())));
            sends.reverse();
            for (n, &i) in sends.iter().enumerate() {
                let (a, b) = pieces[i];
                let seq = isn.wrapping_add(1).wrapping_add(a as u32);
                captured.push((SimTime::from_micros(n as u64 + 1), packet(client, server, seq, TcpFlags::ACK, &data[a..b])));
            }
            let connections = group_connections(&captured);
            let (_, to_server, _) = connections[0].oriented();
            let stream = reassemble(to_server);
            prop_assert_eq!(stream.runs.len(), 1);
            prop_assert_eq!(&stream.runs[0].data, &data);
            prop_assert_eq!(stream.summary.gaps, 0);
            let total: usize = sends.iter().map(|&i| pieces[i].1 - pieces[i].0).sum();
            prop_assert_eq!(stream.summary.duplicate_bytes as usize, total - data.len());
        }

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
