//! The eavesdropper application, the textbooks' Trudy: a passive listener
//! on a link (`World::add_tap`). It records every packet that crosses the
//! link with its time and reads the captured TCP streams with
//! [`eavesdropper::analyze`], reporting what it could read as trace events:
//!
//! ```text
//! {"layer":"app","event":"eavesdropped","host":"trudy","kind":"credential","text":"FTP PASS wonderland",...}
//! {"layer":"app","event":"eavesdropped","host":"trudy","kind":"ciphertext","text":"client to server: 1520 bytes, entropy 7.86 bits/byte, ...",...}
//! ```
//!
//! Analysis runs at most every [`ANALYSIS_INTERVAL`] of simulated time
//! while packets flow. Line-based findings (user names, passwords,
//! commands) are reported as soon as the line they come from is complete;
//! findings that summarise a whole stream (a file, ciphertext, a message
//! body) once the connection has closed, so each is reported once, whole.
//! TELNET's findings are final as soon as the analysis makes them (a line
//! when its Return comes, a command's output when the next line starts),
//! so they are reported at once.
//! It never sends anything and changes nothing on the link.

use super::eavesdropper::{self, Finding, FindingKind, Protocol, Report, StreamBytes};
use super::events;
use crate::net::packet::{Packet, Payload};
use crate::net::{AppCx, AppEvent, Application, Inspect};
use crate::sim::{SimDuration, SimTime};
use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddrV4;

/// How often, at most, the capture is analysed while packets arrive.
pub const ANALYSIS_INTERVAL: SimDuration = SimDuration::from_millis(50);

/// What the eavesdropper follows about one connection (both directions,
/// keyed by its two endpoints, lower first).
#[derive(Debug, Default)]
struct Watch {
    /// Indices into the capture of the connection's packets.
    packets: Vec<usize>,
    /// New packets since the last analysis.
    dirty: bool,
    /// A FIN or RST was seen.
    closed: bool,
    /// The last analysis found bulk data or ciphertext: nothing to report
    /// until the connection closes.
    bulk: bool,
    /// The last payload seen ended a line, so line-based findings are
    /// complete.
    line_complete: bool,
    /// `(kind, text)` of every finding reported.
    reported: BTreeSet<(String, String)>,
}

/// A tap on a link that records and reads what crosses it.
#[derive(Debug, Default)]
pub struct Eavesdropper {
    captured: Vec<(SimTime, Packet)>,
    watches: BTreeMap<(SocketAddrV4, SocketAddrV4), Watch>,
    tick_pending: bool,
    reported: Vec<Finding>,
}

impl Eavesdropper {
    pub fn new() -> Eavesdropper {
        Eavesdropper::default()
    }

    /// Every packet captured, with the time it crossed the link.
    pub fn captured(&self) -> &[(SimTime, Packet)] {
        &self.captured
    }

    /// The analysis of the whole capture now.
    pub fn report(&self) -> Report {
        eavesdropper::analyze(&self.captured)
    }

    /// The reassembled bytes of every captured connection.
    pub fn streams(&self) -> Vec<StreamBytes> {
        eavesdropper::streams(&self.captured)
    }

    /// The findings reported as trace events so far, in order.
    pub fn reported(&self) -> &[Finding] {
        &self.reported
    }

    /// True if `text` is something the listener could read: it appears in
    /// a finding of the analysis, or in the bytes of a captured stream.
    pub fn can_read(&self, text: &str) -> bool {
        if self.report().findings.iter().any(|f| f.text.contains(text)) {
            return true;
        }
        let needle = text.as_bytes();
        let contains =
            |hay: &[u8]| !needle.is_empty() && hay.windows(needle.len()).any(|w| w == needle);
        self.streams()
            .iter()
            .any(|s| contains(&s.client_to_server) || contains(&s.server_to_client))
    }

    /// The report as text, as a student would read it.
    pub fn readable(&self) -> String {
        eavesdropper::readable_text(&self.report())
    }

    fn sniffed(&mut self, cx: &mut AppCx<'_>, packet: Packet) {
        let index = self.captured.len();
        if let Payload::Tcp(segment) = &packet.payload {
            let (src, dst) = (packet.src_addr(), packet.dst_addr());
            let key = if src <= dst { (src, dst) } else { (dst, src) };
            let watch = self.watches.entry(key).or_default();
            watch.packets.push(index);
            watch.dirty = true;
            if segment.flags.fin() || segment.flags.rst() {
                watch.closed = true;
            }
            if let Some(&last) = segment.payload.last() {
                watch.line_complete = last == b'\n';
            }
            if !self.tick_pending {
                self.tick_pending = true;
                cx.set_timer(ANALYSIS_INTERVAL, 0);
            }
        }
        self.captured.push((cx.now(), packet));
    }

    /// Analyses the connections that changed and reports new findings.
    fn tick(&mut self, cx: &mut AppCx<'_>) {
        self.tick_pending = false;
        for watch in self.watches.values_mut() {
            if !watch.dirty || (watch.bulk && !watch.closed) {
                continue;
            }
            watch.dirty = false;
            let capture: Vec<(SimTime, Packet)> = watch
                .packets
                .iter()
                .map(|&i| self.captured[i].clone())
                .collect();
            let report = eavesdropper::analyze(&capture);
            let protocol = report.connections.first().map(|c| c.protocol);
            watch.bulk = matches!(protocol, Some(Protocol::Data | Protocol::Scp));
            // TELNET's analysis reports a line only once its Return is
            // seen and an output once the next line starts: each finding
            // is final when made, though the last byte is rarely an LF.
            let final_when_made = protocol == Some(Protocol::Telnet);
            for finding in report.findings {
                let line_based = matches!(
                    finding.kind,
                    FindingKind::Credential | FindingKind::Command | FindingKind::Banner
                );
                if !(watch.closed || final_when_made || (line_based && watch.line_complete)) {
                    // Wait for the rest of the line or stream.
                    watch.dirty = true;
                    continue;
                }
                let key = (finding.kind.to_string(), finding.text.clone());
                if !watch.reported.insert(key) {
                    continue;
                }
                cx.emit(
                    &events::EAVESDROPPED,
                    vec![
                        ("kind", finding.kind.to_string().into()),
                        ("text", finding.text.clone().into()),
                        ("client", finding.connection.client.to_string().into()),
                        ("server", finding.connection.server.to_string().into()),
                        ("seen_at_us", finding.time.as_micros().into()),
                    ],
                );
                self.reported.push(finding);
            }
        }
    }
}

impl Application for Eavesdropper {
    fn kind(&self) -> &'static str {
        "eavesdropper"
    }

    fn handle_event(&mut self, cx: &mut AppCx<'_>, event: AppEvent) {
        match event {
            AppEvent::Sniffed { packet } => self.sniffed(cx, packet),
            AppEvent::Timer { .. } => self.tick(cx),
            // A restart loses the pending analysis timer, not the capture.
            AppEvent::Crashed => self.tick_pending = false,
            _ => {}
        }
    }

    fn inspect(&self) -> Option<Inspect> {
        let report = self.report();
        let findings = report
            .findings
            .iter()
            .map(|f| Inspect::leaf(format!("{}: {}", f.kind, f.text)))
            .collect();
        let connections = report
            .connections
            .iter()
            .map(|c| {
                Inspect::leaf(format!(
                    "{}  {}: {} bytes to the server, {} to the client",
                    c.connection, c.protocol, c.client_to_server.bytes, c.server_to_client.bytes
                ))
            })
            .collect();
        Some(Inspect::node(
            format!(
                "What the eavesdropper read ({} packets captured)",
                self.captured.len()
            ),
            vec![
                Inspect::node(format!("Findings ({})", report.findings.len()), findings),
                Inspect::node(
                    format!("Connections ({})", report.connections.len()),
                    connections,
                ),
            ],
        ))
    }
}
