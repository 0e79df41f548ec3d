//! Real wire formats: IPv4, TCP and UDP bytes with correct checksums,
//! Ethernet frames, and pcap files that Wireshark opens.
//!
//! The simulation carries structured [`Packet`]s; this module converts them
//! to and from the bytes a real network would carry (RFC 791, RFC 9293
//! §3.1, RFC 768). Encoding uses the etherparse crate and pcap files the
//! pcap-file crate, so what a capture holds does not depend on wiretale's
//! own idea of the formats; decoding is wiretale's own, strict (every
//! checksum verified) and never panics: anything malformed is an error.
//! Each side thus checks the other in the round-trip tests.

use super::packet::{IPV4_HEADER, Packet, PacketId, Payload, TcpFlags, TcpSegment, UdpDatagram};
use bytes::Bytes;
use etherparse::{
    EtherType, Ethernet2Header, IpHeaders, IpNumber, Ipv4Header, PacketBuilder, TcpHeader,
    TcpOptionElement,
};
use pcap_file::pcap::{PcapHeader, PcapPacket, PcapWriter};
use pcap_file::{DataLink, Endianness, TsResolution};
use std::io::{self, Write};
use std::net::Ipv4Addr;

const PROTO_TCP: u8 = 6;
const PROTO_UDP: u8 = 17;

/// The Internet checksum (RFC 1071) of `data`, continuing from `sum`.
fn checksum_add(mut sum: u32, data: &[u8]) -> u32 {
    let mut chunks = data.chunks_exact(2);
    for c in &mut chunks {
        sum += u32::from(u16::from_be_bytes([c[0], c[1]]));
    }
    if let [last] = chunks.remainder() {
        sum += u32::from(*last) << 8;
    }
    sum
}

fn checksum_finish(mut sum: u32) -> u16 {
    while sum >> 16 != 0 {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// Sum of the pseudo-header TCP and UDP checksums cover (RFC 9293 §3.1).
fn pseudo_header_sum(src: Ipv4Addr, dst: Ipv4Addr, proto: u8, len: usize) -> u32 {
    let mut sum = checksum_add(0, &src.octets());
    sum = checksum_add(sum, &dst.octets());
    sum + u32::from(proto) + len as u32
}

/// The IPv4 header of `p` as etherparse builds it: identification from
/// the packet id, don't-fragment set (wiretale never fragments).
fn ipv4_header(p: &Packet, ttl: u8) -> Ipv4Header {
    let proto = match p.payload {
        Payload::Tcp(_) => IpNumber::TCP,
        Payload::Udp(_) => IpNumber::UDP,
    };
    // The builder sets the real payload length and checksum when writing.
    let mut h = Ipv4Header::new(0, ttl, proto, p.src.octets(), p.dst.octets()).unwrap_or_default();
    h.identification = p.id as u16;
    h.dont_fragment = true;
    h
}

/// The TCP header of a segment, with the MSS option on SYNs.
fn tcp_header(seg: &TcpSegment) -> TcpHeader {
    let mut h = TcpHeader::new(seg.src_port, seg.dst_port, seg.seq, seg.window);
    h.acknowledgment_number = seg.ack;
    h.fin = seg.flags.fin();
    h.syn = seg.flags.syn();
    h.rst = seg.flags.rst();
    h.psh = seg.flags.contains(TcpFlags::PSH);
    h.ack = seg.flags.ack();
    if let Some(mss) = seg.mss {
        // Four bytes fit in any header; the error cannot happen.
        let _ = h.set_options(&[TcpOptionElement::MaximumSegmentSize(mss)]);
    }
    h
}

/// Encodes a whole IPv4 packet, as it leaves its sender (TTL as sent).
pub fn encode_ipv4(p: &Packet) -> Vec<u8> {
    encode_ipv4_ttl(p, p.ttl)
}

/// Encodes an IPv4 packet with a given TTL (as seen after some hops),
/// checksums computed by etherparse.
pub fn encode_ipv4_ttl(p: &Packet, ttl: u8) -> Vec<u8> {
    let builder = PacketBuilder::ip(IpHeaders::Ipv4(ipv4_header(p, ttl), Default::default()));
    let mut out = Vec::with_capacity(p.wire_len());
    let written = match &p.payload {
        Payload::Tcp(seg) => builder
            .tcp_header(tcp_header(seg))
            .write(&mut out, &seg.payload),
        Payload::Udp(d) => builder
            .udp(d.src_port, d.dst_port)
            .write(&mut out, &d.payload),
    };
    // Writing to a Vec cannot fail; a payload too large for IPv4 cannot
    // be built by the simulation (segments are at most one MSS).
    if written.is_err() {
        out.clear();
    }
    out
}

/// The MAC address wiretale gives a node: locally administered
/// (`02:...`), with the node id in the last bytes.
pub fn node_mac(node: u32) -> [u8; 6] {
    let b = node.to_be_bytes();
    [0x02, 0x77, b[0], b[1], b[2], b[3]]
}

/// An Ethernet II frame carrying the packet from node `from` to node `to`
/// on one link, with the TTL it has on that hop.
pub fn encode_ethernet(p: &Packet, ttl: u8, from: u32, to: u32) -> Vec<u8> {
    let eth = Ethernet2Header {
        source: node_mac(from),
        destination: node_mac(to),
        ether_type: EtherType::IPV4,
    };
    let mut out = eth.to_bytes().to_vec();
    out.extend_from_slice(&encode_ipv4_ttl(p, ttl));
    out
}

/// Why bytes could not be decoded as a packet.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("packet too short")]
    Truncated,
    #[error("not an IPv4 packet")]
    NotIpv4,
    #[error("bad IPv4 header checksum")]
    BadIpChecksum,
    #[error("bad {0} checksum")]
    BadChecksum(&'static str),
    #[error("unsupported IP protocol {0}")]
    UnsupportedProtocol(u8),
    #[error("fragmented packets are not supported")]
    Fragmented,
}

fn be16(b: &[u8], at: usize) -> Result<u16, DecodeError> {
    b.get(at..at + 2)
        .map(|s| u16::from_be_bytes([s[0], s[1]]))
        .ok_or(DecodeError::Truncated)
}

fn be32(b: &[u8], at: usize) -> Result<u32, DecodeError> {
    b.get(at..at + 4)
        .map(|s| u32::from_be_bytes([s[0], s[1], s[2], s[3]]))
        .ok_or(DecodeError::Truncated)
}

/// Decodes IPv4 bytes into a [`Packet`] with the given id, verifying every
/// checksum. Unknown TCP options are skipped; only MSS is kept.
pub fn decode_ipv4(bytes: &[u8], id: PacketId) -> Result<Packet, DecodeError> {
    let first = *bytes.first().ok_or(DecodeError::Truncated)?;
    if first >> 4 != 4 {
        return Err(DecodeError::NotIpv4);
    }
    let ihl = usize::from(first & 0x0f) * 4;
    if ihl < IPV4_HEADER || bytes.len() < ihl {
        return Err(DecodeError::Truncated);
    }
    let total = usize::from(be16(bytes, 2)?);
    if total < ihl || bytes.len() < total {
        return Err(DecodeError::Truncated);
    }
    if checksum_finish(checksum_add(0, &bytes[..ihl])) != 0 {
        return Err(DecodeError::BadIpChecksum);
    }
    let frag = be16(bytes, 6)?;
    if frag & 0x3fff != 0 {
        return Err(DecodeError::Fragmented);
    }
    let ttl = bytes[8];
    let proto = bytes[9];
    let src = Ipv4Addr::new(bytes[12], bytes[13], bytes[14], bytes[15]);
    let dst = Ipv4Addr::new(bytes[16], bytes[17], bytes[18], bytes[19]);
    let body = &bytes[ihl..total];
    let payload = match proto {
        PROTO_TCP => Payload::Tcp(decode_tcp(body, src, dst)?),
        PROTO_UDP => Payload::Udp(decode_udp(body, src, dst)?),
        other => return Err(DecodeError::UnsupportedProtocol(other)),
    };
    Ok(Packet {
        id,
        src,
        dst,
        ttl,
        payload,
    })
}

fn decode_tcp(b: &[u8], src: Ipv4Addr, dst: Ipv4Addr) -> Result<TcpSegment, DecodeError> {
    if b.len() < 20 {
        return Err(DecodeError::Truncated);
    }
    let sum = pseudo_header_sum(src, dst, PROTO_TCP, b.len());
    if checksum_finish(checksum_add(sum, b)) != 0 {
        return Err(DecodeError::BadChecksum("TCP"));
    }
    let data_off = usize::from(b[12] >> 4) * 4;
    if data_off < 20 || data_off > b.len() {
        return Err(DecodeError::Truncated);
    }
    let mut mss = None;
    let mut opts = &b[20..data_off];
    // RFC 9293 §3.1: options are kind (1 byte), then length and data,
    // except End of Option List (0) and No-Operation (1).
    while let Some(&kind) = opts.first() {
        match kind {
            0 => break,
            1 => opts = &opts[1..],
            _ => {
                let len = usize::from(*opts.get(1).ok_or(DecodeError::Truncated)?);
                if len < 2 || len > opts.len() {
                    return Err(DecodeError::Truncated);
                }
                if kind == 2 && len == 4 {
                    mss = Some(u16::from_be_bytes([opts[2], opts[3]]));
                }
                opts = &opts[len..];
            }
        }
    }
    Ok(TcpSegment {
        src_port: be16(b, 0)?,
        dst_port: be16(b, 2)?,
        seq: be32(b, 4)?,
        ack: be32(b, 8)?,
        flags: TcpFlags(b[13] & 0x1f),
        window: be16(b, 14)?,
        mss,
        payload: Bytes::copy_from_slice(&b[data_off..]),
    })
}

fn decode_udp(b: &[u8], src: Ipv4Addr, dst: Ipv4Addr) -> Result<UdpDatagram, DecodeError> {
    let len = usize::from(be16(b, 4)?);
    if len < 8 || len > b.len() {
        return Err(DecodeError::Truncated);
    }
    let b = &b[..len];
    if be16(b, 6)? != 0 {
        let sum = pseudo_header_sum(src, dst, PROTO_UDP, len);
        if checksum_finish(checksum_add(sum, b)) != 0 {
            return Err(DecodeError::BadChecksum("UDP"));
        }
    }
    Ok(UdpDatagram {
        src_port: be16(b, 0)?,
        dst_port: be16(b, 2)?,
        payload: Bytes::copy_from_slice(&b[8..]),
    })
}

/// Writes a classic pcap file of Ethernet frames (what Wireshark and
/// tshark open), with the pcap-file crate.
pub struct CaptureWriter<W: Write> {
    out: PcapWriter<W>,
}

impl<W: Write> CaptureWriter<W> {
    /// Writes the file header (microsecond timestamps, LINKTYPE_ETHERNET).
    pub fn new(out: W) -> io::Result<Self> {
        let header = PcapHeader {
            datalink: DataLink::ETHERNET,
            ts_resolution: TsResolution::MicroSecond,
            endianness: Endianness::Little,
            ..PcapHeader::default()
        };
        let out = PcapWriter::with_header(out, header).map_err(io::Error::other)?;
        Ok(CaptureWriter { out })
    }

    /// Appends one frame seen at `time_us` simulated microseconds.
    pub fn write_frame(&mut self, time_us: u64, frame: &[u8]) -> io::Result<()> {
        let ts = std::time::Duration::from_micros(time_us);
        self.out
            .write_packet(&PcapPacket::new(ts, frame.len() as u32, frame))
            .map(|_| ())
            .map_err(io::Error::other)
    }

    /// Flushes and returns the underlying writer.
    pub fn finish(self) -> io::Result<W> {
        let mut w = self.out.into_writer();
        w.flush()?;
        Ok(w)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Packet {
        Packet {
            id: 7,
            src: Ipv4Addr::new(10, 0, 1, 2),
            dst: Ipv4Addr::new(10, 0, 2, 2),
            ttl: 64,
            payload: Payload::Tcp(TcpSegment {
                src_port: 49152,
                dst_port: 25,
                seq: 1000,
                ack: 0,
                flags: TcpFlags::SYN,
                window: 65535,
                mss: Some(1460),
                payload: Bytes::from_static(b"odd"),
            }),
        }
    }

    #[test]
    fn round_trip_tcp_and_udp() {
        let p = sample();
        let bytes = encode_ipv4(&p);
        assert_eq!(bytes.len(), p.wire_len());
        assert_eq!(decode_ipv4(&bytes, 7).unwrap(), p);
        let u = Packet {
            payload: Payload::Udp(UdpDatagram {
                src_port: 5353,
                dst_port: 53,
                payload: Bytes::from_static(b"query"),
            }),
            ..sample()
        };
        assert_eq!(decode_ipv4(&encode_ipv4(&u), 7).unwrap(), u);
    }

    #[test]
    fn corrupt_bytes_are_errors_not_panics() {
        let mut bytes = encode_ipv4(&sample());
        bytes[30] ^= 0x40;
        assert_eq!(decode_ipv4(&bytes, 0), Err(DecodeError::BadChecksum("TCP")));
        for n in 0..bytes.len() {
            let _ = decode_ipv4(&bytes[..n], 0);
        }
        assert_eq!(decode_ipv4(&[], 0), Err(DecodeError::Truncated));
    }
}
