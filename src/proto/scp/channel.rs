//! The encrypted channel under SCP: key exchange, key derivation and
//! sealed records.
//!
//! The design follows SSH's transport layer (RFC 4253) in miniature, with
//! modern primitives:
//!
//! 1. **Hellos** (clear text). Each side sends a version line and a fresh
//!    X25519 public key (RFC 7748); the server also sends its long-term
//!    *host* public key. Both hellos are hashed into the *exchange hash*,
//!    so that a man in the middle who edits a hello (to downgrade the
//!    version, say) ends up with different keys than the two ends.
//! 2. **Diffie-Hellman** (X25519). From the client's ephemeral secret and
//!    the server's ephemeral public key (and vice versa) both ends compute
//!    the same shared secret, which an eavesdropper who saw only the public
//!    keys cannot. Ephemeral keys give *forward secrecy*: stealing the host
//!    key later does not decrypt a recorded session. A second exchange
//!    between the client's ephemeral key and the server's host key
//!    *authenticates the server*: only the holder of the host secret can
//!    compute it, so a client that knows the host key (SSH's
//!    `known_hosts`) cannot be fooled by an impostor.
//! 3. **Key derivation** (HKDF-SHA256, RFC 5869). Both shared secrets are
//!    extracted into one pseudorandom key, salted with the exchange hash,
//!    then expanded into one key per direction. Separate keys mean a record
//!    can never be reflected back to its sender and accepted.
//! 4. **Records** (ChaCha20-Poly1305, RFC 8439). Every message after the
//!    hellos is sealed: `length (4 bytes, clear) || ciphertext || tag (16)`,
//!    like SSH's binary packet protocol (RFC 4253 §6). The length is
//!    authenticated as associated data; the nonce is a per-direction record
//!    counter, so a replayed, reordered, dropped or altered record fails
//!    authentication and the channel closes.
//!
//! All randomness (the ephemeral and host secrets) comes in from the
//! caller; nothing here draws on the operating system.
//!
//! It is not SSH: the byte layout differs, there is no algorithm
//! negotiation, no rekeying, no compression, and no signature-based host
//! authentication.

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use hkdf::Hkdf;
use sha2::{Digest, Sha256};
use x25519_dalek::{X25519_BASEPOINT_BYTES, x25519};

/// The version line each side sends first (RFC 4253 §4.2 has
/// `SSH-2.0-softwareversion`; this one names wiretale's own protocol so no
/// SSH client mistakes it for SSH).
pub const VERSION_LINE: &str = "WTSCP-1.0-wiretale";
/// The part of the version line both ends must agree on.
pub const PROTOCOL_VERSION: &str = "WTSCP-1.0";
/// Longest version line accepted, CRLF included (RFC 4253 §4.2: 255).
pub const MAX_VERSION_LINE: usize = 255;
/// Bytes of an X25519 key, public or secret.
pub const KEY_LEN: usize = 32;
/// Bytes of the Poly1305 authentication tag.
pub const TAG_LEN: usize = 16;
/// Bytes of the clear-text record length.
pub const LENGTH_LEN: usize = 4;
/// Largest record plaintext. RFC 4253 §6.1 asks SSH implementations to
/// handle packets of 35000 bytes; a bound keeps a hostile peer from making
/// us buffer gigabytes on the strength of a length field.
pub const MAX_RECORD_PLAINTEXT: usize = 35_000;

/// HKDF `info` labels: one key per direction.
const LABEL_CLIENT_TO_SERVER: &[u8] = b"wiretale scp v1 key client to server";
const LABEL_SERVER_TO_CLIENT: &[u8] = b"wiretale scp v1 key server to client";

/// Everything that can go wrong on the channel. Each closes it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChannelError {
    /// The peer's hello is not a hello of this protocol.
    #[error("bad hello: {0}")]
    BadHello(String),
    /// The Diffie-Hellman result is all zeros: the peer sent a low-order
    /// point that would force a known "shared" secret (RFC 7748 §6.1).
    #[error("weak public key: the shared secret would be all zeros")]
    WeakKey,
    /// The server's host key is not the one the client expected: an
    /// impostor, or a man in the middle.
    #[error("host key mismatch: expected {expected}, got {got}")]
    HostKeyMismatch { expected: String, got: String },
    /// A record announced more bytes than any record may have.
    #[error("record length {0} exceeds the limit")]
    RecordTooLong(usize),
    /// A record failed authentication: it was altered, replayed,
    /// reordered, or sealed with another key.
    #[error("record {0} failed authentication (tampered, replayed or out of order)")]
    BadRecord(u64),
    /// The record counter would wrap and reuse a nonce; never happens in
    /// practice (2^64 records), but reusing a nonce would be fatal.
    #[error("record counter exhausted")]
    CounterExhausted,
}

/// The X25519 public key of `secret`: the secret scalar times the curve's
/// base point (RFC 7748 §6.1).
pub fn public_key(secret: &[u8; KEY_LEN]) -> [u8; KEY_LEN] {
    x25519(*secret, X25519_BASEPOINT_BYTES)
}

/// X25519 Diffie-Hellman: our secret times their public key. Both ends get
/// the same 32 bytes. An all-zero result is refused (RFC 7748 §6.1): it
/// means the peer chose a point that makes the "secret" predictable.
pub fn diffie_hellman(
    secret: &[u8; KEY_LEN],
    their_public: &[u8; KEY_LEN],
) -> Result<[u8; KEY_LEN], ChannelError> {
    let shared = x25519(*secret, *their_public);
    if shared == [0u8; KEY_LEN] {
        return Err(ChannelError::WeakKey);
    }
    Ok(shared)
}

/// A short fingerprint of a key for people to compare: the first 8 bytes
/// of its SHA-256, in hex (SSH shows the whole hash in base64).
pub fn fingerprint(key: &[u8; KEY_LEN]) -> String {
    hex(&Sha256::digest(key)[..8])
}

/// Lowercase hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A hello: the version line, then the sender's keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hello {
    /// The version line, without CRLF.
    pub version: String,
    /// The sender's ephemeral X25519 public key.
    pub ephemeral: [u8; KEY_LEN],
    /// The server's host public key (`None` in the client's hello).
    pub host_key: Option<[u8; KEY_LEN]>,
}

impl Hello {
    /// The hello's bytes: `version CRLF ephemeral [host_key]`.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = format!("{}\r\n", self.version).into_bytes();
        out.extend_from_slice(&self.ephemeral);
        if let Some(host_key) = &self.host_key {
            out.extend_from_slice(host_key);
        }
        out
    }
}

/// What [`parse_hello`] found at the start of a buffer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HelloParse {
    /// More bytes are needed.
    Incomplete,
    /// A complete hello, and how many bytes of the buffer it took.
    Complete { hello: Hello, consumed: usize },
}

/// Parses a hello at the start of `buf`; `with_host_key` is true for the
/// server's hello.
pub fn parse_hello(buf: &[u8], with_host_key: bool) -> Result<HelloParse, ChannelError> {
    let Some(newline) = buf.iter().position(|&b| b == b'\n') else {
        if buf.len() >= MAX_VERSION_LINE {
            return Err(ChannelError::BadHello("version line too long".into()));
        }
        return Ok(HelloParse::Incomplete);
    };
    if newline + 1 > MAX_VERSION_LINE {
        return Err(ChannelError::BadHello("version line too long".into()));
    }
    let line = buf[..newline]
        .strip_suffix(b"\r")
        .unwrap_or(&buf[..newline]);
    let version = String::from_utf8_lossy(line).into_owned();
    // Both ends must speak the same protocol version; the rest of the line
    // names the software and may differ.
    let same_protocol = version == PROTOCOL_VERSION
        || version.starts_with(&format!("{PROTOCOL_VERSION}-"))
        || version.starts_with(&format!("{PROTOCOL_VERSION} "));
    if !same_protocol {
        return Err(ChannelError::BadHello(format!(
            "protocol mismatch: {}",
            version.chars().take(40).collect::<String>()
        )));
    }
    let keys = if with_host_key { 2 } else { 1 };
    let end = newline + 1 + keys * KEY_LEN;
    if buf.len() < end {
        return Ok(HelloParse::Incomplete);
    }
    let key_at = |i: usize| -> [u8; KEY_LEN] {
        let start = newline + 1 + i * KEY_LEN;
        let mut key = [0u8; KEY_LEN];
        key.copy_from_slice(&buf[start..start + KEY_LEN]);
        key
    };
    Ok(HelloParse::Complete {
        hello: Hello {
            version,
            ephemeral: key_at(0),
            host_key: with_host_key.then(|| key_at(1)),
        },
        consumed: end,
    })
}

/// The exchange hash: SHA-256 over both hellos exactly as sent (RFC 4253
/// §8 hashes the version strings and keys the same way). It binds the keys
/// to everything said in the clear.
pub fn exchange_hash(client_hello: &[u8], server_hello: &[u8]) -> [u8; 32] {
    let mut hash = Sha256::new();
    // Length-prefix each part so that no two different pairs of hellos
    // hash the same input.
    for part in [client_hello, server_hello] {
        hash.update((part.len() as u32).to_be_bytes());
        hash.update(part);
    }
    hash.finalize().into()
}

/// The two session keys, one per direction.
#[derive(Clone, PartialEq, Eq)]
pub struct SessionKeys {
    /// Seals what the client sends.
    pub client_to_server: [u8; 32],
    /// Seals what the server sends.
    pub server_to_client: [u8; 32],
}

impl std::fmt::Debug for SessionKeys {
    /// Keys are never printed, even in debug output.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SessionKeys { .. }")
    }
}

/// Derives the session keys with HKDF-SHA256 (RFC 5869).
///
/// - `ephemeral_shared` = X25519(client ephemeral, server ephemeral):
///   secrecy, with forward secrecy since both keys are thrown away.
/// - `host_shared` = X25519(client ephemeral, server host key): only the
///   real server can compute it, so only it can read the records.
/// - `exchange_hash` salts the extraction, tying the keys to both hellos.
pub fn derive_session_keys(
    ephemeral_shared: &[u8; 32],
    host_shared: &[u8; 32],
    exchange_hash: &[u8; 32],
) -> SessionKeys {
    // Extract: concentrate the entropy of both secrets into one key.
    let mut input_key_material = [0u8; 64];
    input_key_material[..32].copy_from_slice(ephemeral_shared);
    input_key_material[32..].copy_from_slice(host_shared);
    let hkdf = Hkdf::<Sha256>::new(Some(exchange_hash), &input_key_material);
    // Expand: one key per direction, told apart by their labels.
    let mut client_to_server = [0u8; 32];
    let mut server_to_client = [0u8; 32];
    // Expand fails only for outputs over 255 * 32 bytes; 32 bytes cannot
    // fail, so the result is ignored rather than unwrapped.
    let _ = hkdf.expand(LABEL_CLIENT_TO_SERVER, &mut client_to_server);
    let _ = hkdf.expand(LABEL_SERVER_TO_CLIENT, &mut server_to_client);
    SessionKeys {
        client_to_server,
        server_to_client,
    }
}

/// The nonce of record number `counter`: 4 zero bytes and the counter,
/// big-endian (the construction of TLS 1.3 and OpenSSH's chacha20-poly1305).
/// A nonce must never repeat under one key; a counter guarantees it.
fn nonce(counter: u64) -> Nonce {
    let mut bytes = [0u8; 12];
    bytes[4..].copy_from_slice(&counter.to_be_bytes());
    Nonce::from(bytes)
}

/// Seals records in one direction.
#[derive(Clone)]
pub struct RecordSealer {
    cipher: ChaCha20Poly1305,
    counter: u64,
}

impl RecordSealer {
    /// A sealer using `key` (one of the [`SessionKeys`]).
    pub fn new(key: &[u8; 32]) -> RecordSealer {
        RecordSealer {
            cipher: ChaCha20Poly1305::new(&Key::from(*key)),
            counter: 0,
        }
    }

    /// Seals `plaintext` (at most [`MAX_RECORD_PLAINTEXT`] bytes) into one
    /// record: `length || ciphertext || tag`.
    pub fn seal(&mut self, plaintext: &[u8]) -> Result<Vec<u8>, ChannelError> {
        if plaintext.len() > MAX_RECORD_PLAINTEXT {
            return Err(ChannelError::RecordTooLong(plaintext.len()));
        }
        let next = self
            .counter
            .checked_add(1)
            .ok_or(ChannelError::CounterExhausted)?;
        let length = ((plaintext.len() + TAG_LEN) as u32).to_be_bytes();
        // The length travels in the clear (the receiver needs it to find
        // the record's end) but is authenticated as associated data, so
        // changing it makes the record fail.
        let sealed = self
            .cipher
            .encrypt(
                &nonce(self.counter),
                Payload {
                    msg: plaintext,
                    aad: &length,
                },
            )
            .map_err(|_| ChannelError::RecordTooLong(plaintext.len()))?;
        self.counter = next;
        let mut record = Vec::with_capacity(LENGTH_LEN + sealed.len());
        record.extend_from_slice(&length);
        record.extend_from_slice(&sealed);
        Ok(record)
    }
}

/// Opens records in one direction, from a byte stream that may split them
/// anywhere.
#[derive(Clone)]
pub struct RecordOpener {
    cipher: ChaCha20Poly1305,
    counter: u64,
    buf: Vec<u8>,
    failed: Option<ChannelError>,
}

impl RecordOpener {
    /// An opener using `key` (the peer's sending key).
    pub fn new(key: &[u8; 32]) -> RecordOpener {
        RecordOpener {
            cipher: ChaCha20Poly1305::new(&Key::from(*key)),
            counter: 0,
            buf: Vec::new(),
            failed: None,
        }
    }

    /// Appends received bytes. After a failure nothing more is kept.
    pub fn push(&mut self, data: &[u8]) {
        if self.failed.is_none() {
            self.buf.extend_from_slice(data);
        }
    }

    /// Bytes received but not yet part of a complete record.
    pub fn buffered(&self) -> usize {
        self.buf.len()
    }

    /// The next record's plaintext, `Ok(None)` if it is not complete yet,
    /// or the error that closes the channel (returned again on every later
    /// call).
    pub fn next_record(&mut self) -> Result<Option<Vec<u8>>, ChannelError> {
        if let Some(error) = &self.failed {
            return Err(error.clone());
        }
        let result = self.try_open();
        if let Err(error) = &result {
            self.failed = Some(error.clone());
            self.buf.clear();
        }
        result
    }

    fn try_open(&mut self) -> Result<Option<Vec<u8>>, ChannelError> {
        let Some(length_bytes) = self.buf.get(..LENGTH_LEN) else {
            return Ok(None);
        };
        let mut length = [0u8; LENGTH_LEN];
        length.copy_from_slice(length_bytes);
        let sealed_len = u32::from_be_bytes(length) as usize;
        // Check the length before waiting for that many bytes: memory
        // stays bounded whatever the peer claims.
        if !(TAG_LEN..=MAX_RECORD_PLAINTEXT + TAG_LEN).contains(&sealed_len) {
            return Err(ChannelError::RecordTooLong(sealed_len));
        }
        if self.buf.len() < LENGTH_LEN + sealed_len {
            return Ok(None);
        }
        let next = self
            .counter
            .checked_add(1)
            .ok_or(ChannelError::CounterExhausted)?;
        let sealed = &self.buf[LENGTH_LEN..LENGTH_LEN + sealed_len];
        // Decryption checks the tag first: one flipped bit anywhere (or a
        // record sealed under another counter value) and nothing is
        // returned.
        let plaintext = self
            .cipher
            .decrypt(
                &nonce(self.counter),
                Payload {
                    msg: sealed,
                    aad: &length,
                },
            )
            .map_err(|_| ChannelError::BadRecord(self.counter))?;
        self.counter = next;
        self.buf.drain(..LENGTH_LEN + sealed_len);
        Ok(Some(plaintext))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn keys_pair() -> (RecordSealer, RecordOpener) {
        let key = [7u8; 32];
        (RecordSealer::new(&key), RecordOpener::new(&key))
    }

    #[test]
    fn both_ends_derive_the_same_keys() {
        let client_eph = [1u8; 32];
        let server_eph = [2u8; 32];
        let host = [3u8; 32];
        let (ce, se, hp) = (
            public_key(&client_eph),
            public_key(&server_eph),
            public_key(&host),
        );
        let hash = exchange_hash(b"client hello", b"server hello");
        let client = derive_session_keys(
            &diffie_hellman(&client_eph, &se).unwrap(),
            &diffie_hellman(&client_eph, &hp).unwrap(),
            &hash,
        );
        let server = derive_session_keys(
            &diffie_hellman(&server_eph, &ce).unwrap(),
            &diffie_hellman(&host, &ce).unwrap(),
            &hash,
        );
        assert_eq!(client, server);
        assert_ne!(client.client_to_server, client.server_to_client);
        // Another exchange hash (an edited hello) gives other keys.
        let other = derive_session_keys(
            &diffie_hellman(&client_eph, &se).unwrap(),
            &diffie_hellman(&client_eph, &hp).unwrap(),
            &exchange_hash(b"client hello", b"server hellO"),
        );
        assert_ne!(client, other);
        assert_eq!(format!("{client:?}"), "SessionKeys { .. }");
    }

    #[test]
    fn rfc7748_test_vector_and_weak_keys() {
        // RFC 7748 §6.1: Alice's and Bob's keys.
        let alice = *b"\x77\x07\x6d\x0a\x73\x18\xa5\x7d\x3c\x16\xc1\x72\x51\xb2\x66\x45\xdf\x4c\x2f\x87\xeb\xc0\x99\x2a\xb1\x77\xfb\xa5\x1d\xb9\x2c\x2a";
        assert_eq!(
            hex(&public_key(&alice)),
            "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a"
        );
        assert_eq!(
            diffie_hellman(&alice, &[0u8; 32]),
            Err(ChannelError::WeakKey)
        );
    }

    #[test]
    fn records_round_trip_split_anywhere() {
        let (mut sealer, mut opener) = keys_pair();
        let mut stream = Vec::new();
        for text in [&b"first"[..], b"", b"third record"] {
            stream.extend(sealer.seal(text).unwrap());
        }
        assert_eq!(stream.len(), 3 * (4 + 16) + 5 + 12);
        let mut got = Vec::new();
        for b in &stream {
            opener.push(std::slice::from_ref(b));
            while let Some(record) = opener.next_record().unwrap() {
                got.push(record);
            }
        }
        assert_eq!(
            got,
            vec![b"first".to_vec(), vec![], b"third record".to_vec()]
        );
        assert_eq!(opener.buffered(), 0);
    }

    #[test]
    fn the_plaintext_does_not_appear_on_the_wire() {
        let (mut sealer, _) = keys_pair();
        let record = sealer.seal(b"PASS secret").unwrap();
        assert!(!record.windows(6).any(|w| w == b"secret"));
        // The same plaintext sealed twice looks different (new nonce).
        let again = sealer.seal(b"PASS secret").unwrap();
        assert_ne!(record[4..], again[4..]);
    }

    #[test]
    fn tampered_replayed_and_reordered_records_fail() {
        let (mut sealer, _) = keys_pair();
        let one = sealer.seal(b"one").unwrap();
        let two = sealer.seal(b"two").unwrap();

        // A flipped bit in the ciphertext.
        let mut opener = keys_pair().1;
        let mut bad = one.clone();
        bad[5] ^= 1;
        opener.push(&bad);
        assert_eq!(opener.next_record(), Err(ChannelError::BadRecord(0)));
        // The failure sticks.
        opener.push(&one);
        assert_eq!(opener.next_record(), Err(ChannelError::BadRecord(0)));

        // A replayed record: accepted once, refused the second time.
        let mut opener = keys_pair().1;
        opener.push(&one);
        opener.push(&one);
        assert_eq!(opener.next_record(), Ok(Some(b"one".to_vec())));
        assert_eq!(opener.next_record(), Err(ChannelError::BadRecord(1)));

        // Records swapped in transit.
        let mut opener = keys_pair().1;
        opener.push(&two);
        assert_eq!(opener.next_record(), Err(ChannelError::BadRecord(0)));

        // A wrong key.
        let mut opener = RecordOpener::new(&[8u8; 32]);
        opener.push(&one);
        assert_eq!(opener.next_record(), Err(ChannelError::BadRecord(0)));

        // An absurd length is refused before buffering.
        let mut opener = keys_pair().1;
        opener.push(&[0xff, 0xff, 0xff, 0xff]);
        assert_eq!(
            opener.next_record(),
            Err(ChannelError::RecordTooLong(0xffff_ffff))
        );
        let mut sealer = keys_pair().0;
        assert!(sealer.seal(&vec![0u8; MAX_RECORD_PLAINTEXT + 1]).is_err());
    }

    #[test]
    fn hellos() {
        let hello = Hello {
            version: VERSION_LINE.to_string(),
            ephemeral: [9u8; 32],
            host_key: Some([4u8; 32]),
        };
        let bytes = hello.to_bytes();
        assert!(bytes.starts_with(b"WTSCP-1.0-wiretale\r\n"));
        assert_eq!(parse_hello(&bytes[..30], true), Ok(HelloParse::Incomplete));
        let mut more = bytes.clone();
        more.extend_from_slice(b"rest");
        assert_eq!(
            parse_hello(&more, true),
            Ok(HelloParse::Complete {
                hello,
                consumed: bytes.len()
            })
        );
        assert!(matches!(
            parse_hello(b"SSH-2.0-OpenSSH_9.6\r\n", false),
            Err(ChannelError::BadHello(_))
        ));
        assert!(parse_hello(&[b'W'; 300], false).is_err());
        assert_eq!(fingerprint(&[0u8; 32]).len(), 16);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn arbitrary_bytes_never_open(chunks in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..100), 0..10)) {
            let mut opener = keys_pair().1;
            for chunk in &chunks {
                opener.push(chunk);
                // Random bytes never authenticate (a 2^-128 chance).
                match opener.next_record() {
                    Ok(None) | Err(_) => {}
                    Ok(Some(_)) => prop_assert!(false, "random bytes opened"),
                }
            }
        }

        #[test]
        fn any_single_bit_flip_is_detected(text in prop::collection::vec(any::<u8>(), 0..64), bit in 0usize..1000) {
            let (mut sealer, mut opener) = keys_pair();
            let mut record = sealer.seal(&text).unwrap();
            let bit = bit % (record.len() * 8);
            record[bit / 8] ^= 1 << (bit % 8);
            opener.push(&record);
            prop_assert!(!matches!(opener.next_record(), Ok(Some(_))));
        }
    }
}
