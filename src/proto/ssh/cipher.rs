//! The binary packet protocol (RFC 4253 §6) and the two ways wiretale
//! protects packets once the keys exist:
//!
//! - **chacha20-poly1305@openssh.com** (OpenSSH's `PROTOCOL.chacha20poly1305`):
//!   64 bytes of key make two ChaCha20 keys. K_1 encrypts the 4-byte packet
//!   length on its own, so an eavesdropper cannot even find where packets
//!   end; K_2 encrypts the rest, and the first 32 bytes of K_2's keystream
//!   are a one-time Poly1305 key that authenticates the encrypted length
//!   and body. The nonce is the packet's sequence number.
//! - **aes128-ctr** (RFC 4344) with **hmac-sha2-256** (RFC 6668): AES in
//!   counter mode encrypts the whole packet, length included, as one
//!   continuous stream; an HMAC over the sequence number and the clear
//!   packet follows it.
//!
//! Before the first NEWKEYS packets travel in the clear (the "none"
//! cipher): that is how an eavesdropper reads the version lines and both
//! KEXINIT lists.
//!
//! A packet is `uint32 packet_length, byte padding_length, payload,
//! padding` (at least 4 random bytes, to a multiple of the block size),
//! then the MAC or tag.

use super::SshError;
use aes::Aes128;
use chacha20::ChaCha20Legacy;
use chacha20::cipher::{KeyIvInit, StreamCipher, StreamCipherSeek};
use hmac::{Hmac, KeyInit, Mac};
use poly1305::Poly1305;
use rand_chacha::ChaCha20Rng;
use rand_core::Rng;
use sha2::Sha256;

type Aes128Ctr = ctr::Ctr128BE<Aes128>;

/// Longest packet accepted (OpenSSH's `PACKET_MAX_SIZE`): a hostile peer
/// cannot make us buffer more on the strength of a length field.
pub const MAX_PACKET: usize = 256 * 1024;
/// Bytes of a Poly1305 tag or an HMAC-SHA2-256 MAC.
const TAG_LEN: usize = 16;
const MAC_LEN: usize = 32;

/// The encryption algorithms wiretale speaks, in its order of preference.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CipherName {
    ChaCha20Poly1305,
    Aes128Ctr,
}

impl CipherName {
    pub const ALL: [CipherName; 2] = [CipherName::ChaCha20Poly1305, CipherName::Aes128Ctr];

    /// The name in KEXINIT.
    pub fn name(self) -> &'static str {
        match self {
            CipherName::ChaCha20Poly1305 => "chacha20-poly1305@openssh.com",
            CipherName::Aes128Ctr => "aes128-ctr",
        }
    }

    pub fn from_name(name: &str) -> Option<CipherName> {
        CipherName::ALL.into_iter().find(|c| c.name() == name)
    }

    /// Bytes of key material (RFC 4253 §7.2 letters C and D).
    pub fn key_len(self) -> usize {
        match self {
            CipherName::ChaCha20Poly1305 => 64,
            CipherName::Aes128Ctr => 16,
        }
    }

    /// Bytes of IV (letters A and B).
    pub fn iv_len(self) -> usize {
        match self {
            CipherName::ChaCha20Poly1305 => 0,
            CipherName::Aes128Ctr => 16,
        }
    }

    /// True if the cipher authenticates by itself (no separate MAC).
    pub fn is_aead(self) -> bool {
        self == CipherName::ChaCha20Poly1305
    }
}

/// The MAC in KEXINIT, and the bytes of its key (letters E and F).
pub const MAC_NAME: &str = "hmac-sha2-256";
pub const MAC_KEY_LEN: usize = 32;

/// Key material for one direction.
#[derive(Clone)]
pub struct DirectionKeys {
    pub cipher: CipherName,
    pub iv: Vec<u8>,
    pub key: Vec<u8>,
    pub mac_key: Vec<u8>,
}

impl std::fmt::Debug for DirectionKeys {
    /// Keys are never printed.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "DirectionKeys({}, ..)", self.cipher.name())
    }
}

enum Protection {
    Clear,
    ChaCha {
        /// K_2: the body and the Poly1305 key.
        main: [u8; 32],
        /// K_1: the length.
        header: [u8; 32],
    },
    AesCtr {
        stream: Box<Aes128Ctr>,
        /// The stream's key and IV, to make a copy of it.
        key: Vec<u8>,
        iv: Vec<u8>,
        mac_key: Vec<u8>,
    },
}

impl Clone for Protection {
    /// The same protection at the same point: a counter-mode stream has
    /// no copy of its own, so the copy is made from the key and IV and
    /// moved on to where the stream is.
    fn clone(&self) -> Protection {
        match self {
            Protection::Clear => Protection::Clear,
            Protection::ChaCha { main, header } => Protection::ChaCha {
                main: *main,
                header: *header,
            },
            Protection::AesCtr {
                stream,
                key,
                iv,
                mac_key,
            } => {
                let mut copy = Aes128Ctr::new_from_slices(key, iv)
                    .expect("the key and IV the stream was made with");
                copy.seek(stream.current_pos::<u64>());
                Protection::AesCtr {
                    stream: Box::new(copy),
                    key: key.clone(),
                    iv: iv.clone(),
                    mac_key: mac_key.clone(),
                }
            }
        }
    }
}

impl Protection {
    fn new(keys: &DirectionKeys) -> Result<Protection, SshError> {
        let bad = || SshError::Internal("key material of the wrong length".into());
        Ok(match keys.cipher {
            CipherName::ChaCha20Poly1305 => {
                let main: [u8; 32] = keys
                    .key
                    .get(..32)
                    .ok_or_else(bad)?
                    .try_into()
                    .map_err(|_| bad())?;
                let header: [u8; 32] = keys
                    .key
                    .get(32..64)
                    .ok_or_else(bad)?
                    .try_into()
                    .map_err(|_| bad())?;
                Protection::ChaCha { main, header }
            }
            CipherName::Aes128Ctr => Protection::AesCtr {
                stream: Box::new(
                    Aes128Ctr::new_from_slices(&keys.key, &keys.iv).map_err(|_| bad())?,
                ),
                key: keys.key.clone(),
                iv: keys.iv.clone(),
                mac_key: keys.mac_key.clone(),
            },
        })
    }

    /// Packets are padded to a multiple of this.
    fn block_size(&self) -> usize {
        match self {
            Protection::Clear | Protection::ChaCha { .. } => 8,
            Protection::AesCtr { .. } => 16,
        }
    }

    /// True if the length field is left out of the block alignment (it is
    /// encrypted apart, as associated data).
    fn length_apart(&self) -> bool {
        matches!(self, Protection::ChaCha { .. })
    }
}

/// ChaCha20 as OpenSSH uses it: 64-bit nonce = the sequence number.
fn chacha(key: &[u8; 32], seq: u32) -> ChaCha20Legacy {
    let nonce = u64::from(seq).to_be_bytes();
    // Both slices have the exact lengths the cipher takes.
    ChaCha20Legacy::new(key.into(), &nonce.into())
}

/// The Poly1305 tag of `data` under the one-time key of packet `seq`.
fn chacha_tag(main: &[u8; 32], seq: u32, data: &[u8]) -> [u8; TAG_LEN] {
    let mut poly_key = [0u8; 32];
    chacha(main, seq).apply_keystream(&mut poly_key);
    let tag = <Poly1305 as poly1305::universal_hash::KeyInit>::new((&poly_key).into())
        .compute_unpadded(data);
    let mut out = [0u8; TAG_LEN];
    out.copy_from_slice(tag.as_slice());
    out
}

fn hmac(key: &[u8], seq: u32, packet: &[u8]) -> Result<Hmac<Sha256>, SshError> {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(key)
        .map_err(|_| SshError::Internal("bad MAC key".into()))?;
    mac.update(&seq.to_be_bytes());
    mac.update(packet);
    Ok(mac)
}

/// Compares in constant time.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Turns payloads into packets, in one direction.
#[derive(Clone)]
pub struct Sealer {
    protection: Protection,
    seq: u32,
}

impl Sealer {
    pub fn new() -> Sealer {
        Sealer {
            protection: Protection::Clear,
            seq: 0,
        }
    }

    /// From the next packet on, protect with `keys` (after sending NEWKEYS).
    pub fn rekey(&mut self, keys: &DirectionKeys) -> Result<(), SshError> {
        self.protection = Protection::new(keys)?;
        Ok(())
    }

    /// Strict key exchange: the sequence number starts again at 0.
    pub fn reset_sequence(&mut self) {
        self.seq = 0;
    }

    /// One packet carrying `payload`, padded with random bytes.
    pub fn seal(&mut self, payload: &[u8], rng: &mut ChaCha20Rng) -> Vec<u8> {
        let block = self.protection.block_size();
        let counted = 1 + payload.len() + if self.protection.length_apart() { 0 } else { 4 };
        let mut padding = block - counted % block;
        if padding < 4 {
            padding += block;
        }
        let packet_length = (1 + payload.len() + padding) as u32;
        let mut packet = Vec::with_capacity(4 + packet_length as usize + MAC_LEN);
        packet.extend_from_slice(&packet_length.to_be_bytes());
        packet.push(padding as u8);
        packet.extend_from_slice(payload);
        let start = packet.len();
        packet.resize(start + padding, 0);
        rng.fill_bytes(&mut packet[start..]);
        let seq = self.seq;
        self.seq = self.seq.wrapping_add(1);
        match &mut self.protection {
            Protection::Clear => {}
            Protection::ChaCha { main, header } => {
                chacha(header, seq).apply_keystream(&mut packet[..4]);
                let mut body = chacha(main, seq);
                body.seek(64u64);
                body.apply_keystream(&mut packet[4..]);
                let tag = chacha_tag(main, seq, &packet);
                packet.extend_from_slice(&tag);
            }
            Protection::AesCtr {
                stream, mac_key, ..
            } => {
                // The MAC is over the clear packet (encrypt-and-MAC,
                // RFC 4253 §6.4).
                let mac = hmac(mac_key, seq, &packet).map(|m| m.finalize().into_bytes());
                stream.apply_keystream(&mut packet);
                if let Ok(mac) = mac {
                    packet.extend_from_slice(mac.as_slice());
                }
            }
        }
        packet
    }
}

impl Default for Sealer {
    fn default() -> Self {
        Sealer::new()
    }
}

/// Turns a byte stream into payloads, in one direction.
#[derive(Clone)]
pub struct Opener {
    protection: Protection,
    seq: u32,
    buf: Vec<u8>,
    /// aes128-ctr: the first block, already decrypted to read the length
    /// (a counter-mode stream cannot decrypt the same bytes twice).
    first_block: Option<[u8; 16]>,
}

impl Opener {
    pub fn new() -> Opener {
        Opener {
            protection: Protection::Clear,
            seq: 0,
            buf: Vec::new(),
            first_block: None,
        }
    }

    /// From the next packet on, expect protection with `keys` (after
    /// receiving NEWKEYS).
    pub fn rekey(&mut self, keys: &DirectionKeys) -> Result<(), SshError> {
        self.protection = Protection::new(keys)?;
        self.first_block = None;
        Ok(())
    }

    pub fn reset_sequence(&mut self) {
        self.seq = 0;
    }

    pub fn push(&mut self, data: &[u8]) {
        self.buf.extend_from_slice(data);
    }

    /// Bytes received and not yet part of a whole packet.
    pub fn buffered(&self) -> usize {
        self.buf.len()
    }

    /// Takes bytes that were never part of a packet (the version line
    /// comes before packets and is read off this same buffer).
    pub fn buffer_mut(&mut self) -> &mut Vec<u8> {
        &mut self.buf
    }

    /// The next packet's sequence number and payload; `Ok(None)` until it
    /// is complete.
    pub fn next_packet(&mut self) -> Result<Option<(u32, Vec<u8>)>, SshError> {
        let seq = self.seq;
        let payload = match &mut self.protection {
            Protection::Clear => {
                let Some(length) = self.buf.first_chunk::<4>() else {
                    return Ok(None);
                };
                let length = check_length(u32::from_be_bytes(*length), 8, true)?;
                if self.buf.len() < 4 + length {
                    return Ok(None);
                }
                let packet: Vec<u8> = self.buf.drain(..4 + length).collect();
                unpad(&packet[4..])?
            }
            Protection::ChaCha { main, header } => {
                let Some(length) = self.buf.first_chunk::<4>() else {
                    return Ok(None);
                };
                let mut clear_length = *length;
                chacha(header, seq).apply_keystream(&mut clear_length);
                let length = check_length(u32::from_be_bytes(clear_length), 8, false)?;
                if self.buf.len() < 4 + length + TAG_LEN {
                    return Ok(None);
                }
                let expected = chacha_tag(main, seq, &self.buf[..4 + length]);
                if !same(&expected, &self.buf[4 + length..4 + length + TAG_LEN]) {
                    return Err(SshError::BadMac(seq));
                }
                let mut body: Vec<u8> = self.buf[4..4 + length].to_vec();
                self.buf.drain(..4 + length + TAG_LEN);
                let mut stream = chacha(main, seq);
                stream.seek(64u64);
                stream.apply_keystream(&mut body);
                unpad(&body)?
            }
            Protection::AesCtr {
                stream, mac_key, ..
            } => {
                if self.first_block.is_none() {
                    let Some(first) = self.buf.first_chunk::<16>() else {
                        return Ok(None);
                    };
                    let mut first = *first;
                    stream.apply_keystream(&mut first);
                    self.first_block = Some(first);
                }
                let Some(first) = self.first_block else {
                    return Ok(None);
                };
                let length = u32::from_be_bytes([first[0], first[1], first[2], first[3]]);
                let length = check_length(length, 16, true)?;
                if self.buf.len() < 4 + length + MAC_LEN {
                    return Ok(None);
                }
                let mut packet: Vec<u8> = self.buf.drain(..4 + length + MAC_LEN).collect();
                let mac: Vec<u8> = packet.split_off(4 + length);
                packet[..16].copy_from_slice(&first);
                stream.apply_keystream(&mut packet[16..]);
                self.first_block = None;
                let valid = hmac(mac_key, seq, &packet)?.verify_slice(&mac).is_ok();
                if !valid {
                    return Err(SshError::BadMac(seq));
                }
                unpad(&packet[4..])?
            }
        };
        self.seq = self.seq.wrapping_add(1);
        Ok(Some((seq, payload)))
    }
}

impl Default for Opener {
    fn default() -> Self {
        Opener::new()
    }
}

/// Checks a packet length before waiting for that many bytes.
fn check_length(length: u32, block: usize, length_counted: bool) -> Result<usize, SshError> {
    let length = length as usize;
    let aligned = if length_counted { length + 4 } else { length };
    if !(8..=MAX_PACKET).contains(&length) || aligned % block != 0 {
        return Err(SshError::BadPacket(format!("packet length {length}")));
    }
    Ok(length)
}

/// The payload of `padding_length || payload || padding`.
fn unpad(body: &[u8]) -> Result<Vec<u8>, SshError> {
    let (&padding, rest) = body
        .split_first()
        .ok_or_else(|| SshError::BadPacket("empty packet".into()))?;
    let padding = padding as usize;
    if padding < 4 || padding > rest.len() {
        return Err(SshError::BadPacket(format!("padding length {padding}")));
    }
    Ok(rest[..rest.len() - padding].to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_core::SeedableRng;

    fn keys(cipher: CipherName) -> DirectionKeys {
        DirectionKeys {
            cipher,
            iv: vec![3; cipher.iv_len()],
            key: (0..cipher.key_len() as u8).collect(),
            mac_key: vec![9; MAC_KEY_LEN],
        }
    }

    fn pair(cipher: Option<CipherName>) -> (Sealer, Opener) {
        let (mut s, mut o) = (Sealer::new(), Opener::new());
        if let Some(c) = cipher {
            s.rekey(&keys(c)).unwrap();
            o.rekey(&keys(c)).unwrap();
        }
        (s, o)
    }

    #[test]
    fn packets_round_trip_split_anywhere_with_every_cipher() {
        let mut rng = ChaCha20Rng::from_seed([1; 32]);
        for cipher in [
            None,
            Some(CipherName::ChaCha20Poly1305),
            Some(CipherName::Aes128Ctr),
        ] {
            let (mut sealer, mut opener) = pair(cipher);
            let payloads: Vec<Vec<u8>> =
                vec![b"\x15".to_vec(), vec![0x5e; 1000], b"hello".to_vec()];
            let stream: Vec<u8> = payloads
                .iter()
                .flat_map(|p| sealer.seal(p, &mut rng))
                .collect();
            let mut got = Vec::new();
            for byte in &stream {
                opener.push(std::slice::from_ref(byte));
                while let Some((_, payload)) = opener.next_packet().unwrap() {
                    got.push(payload);
                }
            }
            assert_eq!(got, payloads, "{cipher:?}");
            assert_eq!(opener.buffered(), 0);
        }
    }

    #[test]
    fn a_copy_mid_stream_goes_on_exactly_as_the_original() {
        for cipher in [
            None,
            Some(CipherName::ChaCha20Poly1305),
            Some(CipherName::Aes128Ctr),
        ] {
            let mut rng = ChaCha20Rng::from_seed([1; 32]);
            let (mut sealer, mut opener) = pair(cipher);
            // Part of the way in, with half a packet buffered.
            let first = sealer.seal(&[0x5e; 100], &mut rng);
            opener.push(&first);
            assert!(opener.next_packet().unwrap().is_some());
            let second = sealer.seal(b"second", &mut rng);
            opener.push(&second[..10]);
            let (mut sealer2, mut opener2, mut rng2) =
                (sealer.clone(), opener.clone(), rng.clone());
            assert_eq!(
                sealer.seal(b"third", &mut rng),
                sealer2.seal(b"third", &mut rng2),
                "{cipher:?}"
            );
            for o in [&mut opener, &mut opener2] {
                o.push(&second[10..]);
                assert_eq!(o.next_packet().unwrap().unwrap().1, b"second", "{cipher:?}");
            }
        }
    }

    #[test]
    fn encrypted_packets_hide_the_payload_and_refuse_any_change() {
        let mut rng = ChaCha20Rng::from_seed([1; 32]);
        for cipher in [CipherName::ChaCha20Poly1305, CipherName::Aes128Ctr] {
            let (mut sealer, _) = pair(Some(cipher));
            let packet = sealer.seal(b"password hunter2", &mut rng);
            assert!(!packet.windows(7).any(|w| w == b"hunter2"));
            for i in 0..packet.len() {
                let mut bad = packet.clone();
                bad[i] ^= 0x40;
                let (_, mut opener) = pair(Some(cipher));
                opener.push(&bad);
                assert!(
                    !matches!(opener.next_packet(), Ok(Some(_))),
                    "{cipher:?} byte {i}"
                );
            }
            // A replay: the sequence number has moved on.
            let (_, mut opener) = pair(Some(cipher));
            opener.push(&packet);
            opener.push(&packet);
            assert!(opener.next_packet().unwrap().is_some());
            assert!(!matches!(opener.next_packet(), Ok(Some(_))));
        }
    }

    #[test]
    fn absurd_lengths_are_refused_before_buffering() {
        let (_, mut opener) = pair(None);
        opener.push(&[0x7f, 0xff, 0xff, 0xf0, 4]);
        assert!(matches!(opener.next_packet(), Err(SshError::BadPacket(_))));
        let (_, mut opener) = pair(None);
        opener.push(&[0, 0, 0, 12, 200, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        assert!(matches!(opener.next_packet(), Err(SshError::BadPacket(_))));
    }
}
