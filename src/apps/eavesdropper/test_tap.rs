//! Test captures: a tap's view of one connection, written packet by
//! packet, for the readers' unit tests.

use super::{FindingKind, Report};
use crate::net::packet::{DEFAULT_TTL, Packet, Payload, TcpFlags, TcpSegment};
use crate::sim::SimTime;
use bytes::Bytes;
use std::net::{Ipv4Addr, SocketAddrV4};

pub(super) const ALICE: Ipv4Addr = Ipv4Addr::new(10, 0, 1, 2);
pub(super) const SERVER: Ipv4Addr = Ipv4Addr::new(10, 0, 2, 2);

pub(super) fn packet(
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
pub(super) struct Tap {
    client: SocketAddrV4,
    server: SocketAddrV4,
    client_seq: u32,
    server_seq: u32,
    pub(super) packets: Vec<(SimTime, Packet)>,
    clock_ms: u64,
}

impl Tap {
    pub(super) fn new(client_port: u16, server_port: u16) -> Tap {
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
    pub(super) fn open(mut self) -> Tap {
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

    pub(super) fn client_sends(mut self, data: &[u8]) -> Tap {
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

    pub(super) fn server_sends(mut self, data: &[u8]) -> Tap {
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

    pub(super) fn close(mut self) -> Tap {
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

pub(super) fn texts(report: &Report, kind: FindingKind) -> Vec<String> {
    report
        .findings
        .iter()
        .filter(|f| f.kind == kind)
        .map(|f| f.text.clone())
        .collect()
}
