//! Real wire formats: IPv4, TCP and UDP bytes with correct checksums, and
//! pcap files that Wireshark opens.
//!
//! The simulation carries structured [`Packet`]s; this module converts them
//! to and from the bytes a real network would carry (RFC 791, RFC 9293
//! §3.1, RFC 768). Decoding is strict and never panics: anything malformed
//! is an error.

use super::packet::{IPV4_HEADER, Packet, PacketId, Payload, TcpFlags, TcpSegment, UdpDatagram};
use bytes::Bytes;
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

/// Encodes a TCP segment (header, options, payload) with its checksum.
pub fn encode_tcp(seg: &TcpSegment, src: Ipv4Addr, dst: Ipv4Addr) -> Vec<u8> {
    let opt_len = if seg.mss.is_some() { 4 } else { 0 };
    let header_len = 20 + opt_len;
    let mut out = Vec::with_capacity(header_len + seg.payload.len());
    out.extend_from_slice(&seg.src_port.to_be_bytes());
    out.extend_from_slice(&seg.dst_port.to_be_bytes());
    out.extend_from_slice(&seg.seq.to_be_bytes());
    out.extend_from_slice(&seg.ack.to_be_bytes());
    out.push(((header_len / 4) as u8) << 4);
    out.push(seg.flags.0);
    out.extend_from_slice(&seg.window.to_be_bytes());
    out.extend_from_slice(&[0, 0, 0, 0]); // checksum, urgent pointer
    if let Some(mss) = seg.mss {
        out.extend_from_slice(&[2, 4]);
        out.extend_from_slice(&mss.to_be_bytes());
    }
    out.extend_from_slice(&seg.payload);
    let sum = pseudo_header_sum(src, dst, PROTO_TCP, out.len());
    let ck = checksum_finish(checksum_add(sum, &out));
    out[16..18].copy_from_slice(&ck.to_be_bytes());
    out
}

/// Encodes a UDP datagram with its checksum.
pub fn encode_udp(d: &UdpDatagram, src: Ipv4Addr, dst: Ipv4Addr) -> Vec<u8> {
    let len = 8 + d.payload.len();
    let mut out = Vec::with_capacity(len);
    out.extend_from_slice(&d.src_port.to_be_bytes());
    out.extend_from_slice(&d.dst_port.to_be_bytes());
    out.extend_from_slice(&(len as u16).to_be_bytes());
    out.extend_from_slice(&[0, 0]);
    out.extend_from_slice(&d.payload);
    let sum = pseudo_header_sum(src, dst, PROTO_UDP, len);
    let mut ck = checksum_finish(checksum_add(sum, &out));
    if ck == 0 {
        ck = 0xffff; // RFC 768: a computed zero is sent as all ones
    }
    out[6..8].copy_from_slice(&ck.to_be_bytes());
    out
}

/// Encodes a whole IPv4 packet.
pub fn encode_ipv4(p: &Packet) -> Vec<u8> {
    let (proto, body) = match &p.payload {
        Payload::Tcp(s) => (PROTO_TCP, encode_tcp(s, p.src, p.dst)),
        Payload::Udp(d) => (PROTO_UDP, encode_udp(d, p.src, p.dst)),
    };
    let total = IPV4_HEADER + body.len();
    let mut out = Vec::with_capacity(total);
    out.push(0x45); // version 4, IHL 5
    out.push(0);
    out.extend_from_slice(&(total as u16).to_be_bytes());
    out.extend_from_slice(&(p.id as u16).to_be_bytes()); // identification
    out.extend_from_slice(&[0x40, 0]); // don't fragment
    out.push(p.ttl);
    out.push(proto);
    out.extend_from_slice(&[0, 0]);
    out.extend_from_slice(&p.src.octets());
    out.extend_from_slice(&p.dst.octets());
    let ck = checksum_finish(checksum_add(0, &out));
    out[10..12].copy_from_slice(&ck.to_be_bytes());
    out.extend_from_slice(&body);
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

/// Writes a classic pcap file (LINKTYPE_RAW: each record an IPv4 packet).
pub struct PcapWriter<W: Write> {
    out: W,
}

impl<W: Write> PcapWriter<W> {
    /// Writes the global header.
    pub fn new(mut out: W) -> io::Result<Self> {
        out.write_all(&0xa1b2_c3d4u32.to_le_bytes())?; // magic, microseconds
        out.write_all(&2u16.to_le_bytes())?;
        out.write_all(&4u16.to_le_bytes())?;
        out.write_all(&0i32.to_le_bytes())?; // GMT offset
        out.write_all(&0u32.to_le_bytes())?; // accuracy
        out.write_all(&65_535u32.to_le_bytes())?; // snap length
        out.write_all(&101u32.to_le_bytes())?; // LINKTYPE_RAW
        Ok(PcapWriter { out })
    }

    /// Appends one packet seen at `time_us` microseconds.
    pub fn write_packet(&mut self, time_us: u64, packet: &Packet) -> io::Result<()> {
        let bytes = encode_ipv4(packet);
        self.out
            .write_all(&((time_us / 1_000_000) as u32).to_le_bytes())?;
        self.out
            .write_all(&((time_us % 1_000_000) as u32).to_le_bytes())?;
        self.out.write_all(&(bytes.len() as u32).to_le_bytes())?;
        self.out.write_all(&(bytes.len() as u32).to_le_bytes())?;
        self.out.write_all(&bytes)
    }

    pub fn finish(mut self) -> io::Result<W> {
        self.out.flush()?;
        Ok(self.out)
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
