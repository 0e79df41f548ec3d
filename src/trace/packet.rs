//! Packets as the simulation carries them: structured headers, lazy bytes.
//!
//! The hot path moves these structs, never serialized bytes. Any packet can
//! be turned into real IPv4/TCP/UDP bytes with correct checksums by
//! [`crate::trace::wire`], for a pcap capture or a foreign TCP stack.
//!
//! Only what the simulation uses is here: IPv4 with TCP or UDP, no IP
//! options, no fragments, of the TCP options only MSS.

use bytes::Bytes;
use std::fmt;
use std::net::{Ipv4Addr, SocketAddrV4};

/// A packet's identity in a run: assigned in order of creation, so it is
/// deterministic and lets the trace follow one packet across hops.
pub type PacketId = u64;

/// TCP header flags (RFC 9293 §3.1).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct TcpFlags(pub u8);

impl TcpFlags {
    pub const FIN: TcpFlags = TcpFlags(0x01);
    pub const SYN: TcpFlags = TcpFlags(0x02);
    pub const RST: TcpFlags = TcpFlags(0x04);
    pub const PSH: TcpFlags = TcpFlags(0x08);
    pub const ACK: TcpFlags = TcpFlags(0x10);

    pub fn contains(self, other: TcpFlags) -> bool {
        self.0 & other.0 == other.0
    }
    pub fn syn(self) -> bool {
        self.contains(Self::SYN)
    }
    pub fn ack(self) -> bool {
        self.contains(Self::ACK)
    }
    pub fn fin(self) -> bool {
        self.contains(Self::FIN)
    }
    pub fn rst(self) -> bool {
        self.contains(Self::RST)
    }
}

impl std::ops::BitOr for TcpFlags {
    type Output = TcpFlags;
    fn bitor(self, o: TcpFlags) -> TcpFlags {
        TcpFlags(self.0 | o.0)
    }
}

impl fmt::Display for TcpFlags {
    /// `SYN`, `SYN,ACK`, `FIN,PSH,ACK`: the names in header order.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const NAMES: [(TcpFlags, &str); 5] = [
            (TcpFlags::SYN, "SYN"),
            (TcpFlags::RST, "RST"),
            (TcpFlags::FIN, "FIN"),
            (TcpFlags::PSH, "PSH"),
            (TcpFlags::ACK, "ACK"),
        ];
        let mut first = true;
        for (flag, name) in NAMES {
            if self.contains(flag) {
                if !first {
                    f.write_str(",")?;
                }
                f.write_str(name)?;
                first = false;
            }
        }
        Ok(())
    }
}

impl fmt::Debug for TcpFlags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[{self}]")
    }
}

/// A TCP segment: the header fields wiretale models, and the payload.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TcpSegment {
    pub src_port: u16,
    pub dst_port: u16,
    pub seq: u32,
    pub ack: u32,
    pub flags: TcpFlags,
    pub window: u16,
    /// The MSS option (RFC 9293 §3.7.1), sent only on SYNs.
    pub mss: Option<u16>,
    pub payload: Bytes,
}

impl TcpSegment {
    /// Sequence space the segment occupies: payload plus one for SYN and
    /// one for FIN (RFC 9293 §3.4).
    pub fn seq_len(&self) -> u32 {
        self.payload.len() as u32 + u32::from(self.flags.syn()) + u32::from(self.flags.fin())
    }
}

/// A UDP datagram.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UdpDatagram {
    pub src_port: u16,
    pub dst_port: u16,
    pub payload: Bytes,
}

/// What an IPv4 packet carries.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Payload {
    Tcp(TcpSegment),
    Udp(UdpDatagram),
}

/// An IPv4 packet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Packet {
    pub id: PacketId,
    pub src: Ipv4Addr,
    pub dst: Ipv4Addr,
    pub ttl: u8,
    pub payload: Payload,
}

/// Bytes of IPv4 header (no options).
pub const IPV4_HEADER: usize = 20;
/// Bytes of TCP header without options.
pub const TCP_HEADER: usize = 20;
/// Bytes of UDP header.
pub const UDP_HEADER: usize = 8;
/// The default time to live of packets a host sends.
pub const DEFAULT_TTL: u8 = 64;

impl Packet {
    /// Size on the wire, IPv4 header included: what the link serializes.
    pub fn wire_len(&self) -> usize {
        IPV4_HEADER
            + match &self.payload {
                Payload::Tcp(s) => {
                    TCP_HEADER + if s.mss.is_some() { 4 } else { 0 } + s.payload.len()
                }
                Payload::Udp(d) => UDP_HEADER + d.payload.len(),
            }
    }

    /// Source transport address.
    pub fn src_addr(&self) -> SocketAddrV4 {
        let port = match &self.payload {
            Payload::Tcp(s) => s.src_port,
            Payload::Udp(d) => d.src_port,
        };
        SocketAddrV4::new(self.src, port)
    }

    /// Destination transport address.
    pub fn dst_addr(&self) -> SocketAddrV4 {
        let port = match &self.payload {
            Payload::Tcp(s) => s.dst_port,
            Payload::Udp(d) => d.dst_port,
        };
        SocketAddrV4::new(self.dst, port)
    }

    /// Application bytes carried.
    pub fn app_payload(&self) -> &Bytes {
        match &self.payload {
            Payload::Tcp(s) => &s.payload,
            Payload::Udp(d) => &d.payload,
        }
    }
}
