//! Reassembly: the segments a tap captured, grouped into connections and
//! each direction put back in order by sequence number, as Wireshark's
//! "Follow TCP stream" does.
//!
//! A connection is a 4-tuple; a fresh SYN on a 4-tuple whose connection
//! ended starts a new one. Its client is whoever sent the SYN, else
//! whoever got the SYN+ACK, else the endpoint with the higher port. Each
//! byte is kept once, the first copy captured winning (retransmitted and
//! overlapping segments are counted, not repeated), and the holes the
//! tap never saw split a stream into runs. This is not a TCP receiver:
//! it does not follow windows, acknowledgements or urgent data.

use super::{ConnectionId, StreamSummary};
use crate::net::packet::{Packet, Payload, TcpSegment};
use crate::net::tcp::seq;
use crate::sim::SimTime;
use std::collections::BTreeMap;
use std::net::SocketAddrV4;

/// A captured segment with payload.
#[derive(Debug, Clone)]
struct CapturedSegment {
    seq: u32,
    time: SimTime,
    payload: bytes::Bytes,
}

/// The segments one endpoint sent.
#[derive(Debug, Clone, Default)]
pub(super) struct DirectionCapture {
    /// The sequence number of its SYN, if captured.
    isn: Option<u32>,
    segments: Vec<CapturedSegment>,
}

/// A connection as captured, not yet oriented.
#[derive(Debug, Clone)]
pub(super) struct ConnectionCapture {
    /// The two endpoints, lower address first.
    low: SocketAddrV4,
    high: SocketAddrV4,
    from_low: DirectionCapture,
    from_high: DirectionCapture,
    /// Who sent the opening SYN (without ACK), if captured.
    pub(super) syn_from: Option<SocketAddrV4>,
    /// Who sent the SYN+ACK, if captured.
    syn_ack_from: Option<SocketAddrV4>,
    pub(super) first_seen: SimTime,
    pub(super) last_seen: SimTime,
    pub(super) closed: bool,
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
    pub(super) fn oriented(&self) -> (ConnectionId, &DirectionCapture, &DirectionCapture) {
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
pub(super) fn group_connections(captured: &[(SimTime, Packet)]) -> Vec<ConnectionCapture> {
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

/// Contiguous bytes of a stream, between gaps.
#[derive(Debug, Clone, Default)]
pub(super) struct Run {
    pub(super) data: Vec<u8>,
    /// `(offset in data, capture time)` of each segment that contributed.
    pub(super) times: Vec<(usize, SimTime)>,
}

impl Run {
    /// When the byte at `pos` was captured.
    pub(super) fn time_at(&self, pos: usize) -> SimTime {
        self.times
            .get(self.segment_at(pos))
            .map_or(SimTime::ZERO, |&(_, t)| t)
    }

    /// Which of the run's segments brought the byte at `pos`.
    pub(super) fn segment_at(&self, pos: usize) -> usize {
        self.times
            .partition_point(|&(offset, _)| offset <= pos)
            .saturating_sub(1)
    }
}

/// One direction's bytes, in order.
#[derive(Debug, Clone, Default)]
pub(super) struct Stream {
    pub(super) runs: Vec<Run>,
    pub(super) summary: StreamSummary,
}

impl Stream {
    pub(super) fn first_run(&self) -> &[u8] {
        self.runs.first().map_or(&[], |r| r.data.as_slice())
    }

    pub(super) fn is_empty(&self) -> bool {
        self.runs.is_empty()
    }
}

/// Orders one direction's segments by sequence number and keeps each byte
/// once (RFC 9293 §3.10.7.4 processes segments "in sequence" the same way).
pub(super) fn reassemble(direction: &DirectionCapture) -> Stream {
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

/// A stream cut at byte `at` of its first run: what came before, and
/// what came after (with the later runs).
pub(super) fn cut(stream: &Stream, at: usize) -> (Stream, Stream) {
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

#[cfg(test)]
mod tests {
    use super::super::test_tap::{ALICE, SERVER, Tap, packet, texts};
    use super::super::{FindingKind, Protocol, StreamSummary, analyze, readable_text};
    use super::*;
    use crate::net::packet::TcpFlags;
    use proptest::prelude::*;

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
    fn a_cut_keeps_the_capture_times() {
        let tap = Tap::new(40011, 7000)
            .open()
            .client_sends(b"abc")
            .client_sends(b"def");
        let connections = group_connections(&tap.packets);
        let (_, to_server, _) = connections[0].oriented();
        let stream = reassemble(to_server);
        let (head, tail) = cut(&stream, 4);
        assert_eq!(head.first_run(), b"abcd");
        assert_eq!(tail.first_run(), b"ef");
        // "e" came in the second segment, at 5 ms.
        assert_eq!(tail.runs[0].time_at(0), SimTime::from_millis(5));
        assert_eq!(stream.runs[0].segment_at(3), 1);
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
    }
}
