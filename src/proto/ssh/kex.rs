//! Algorithm negotiation (RFC 4253 §7.1), the curve25519-sha256 key
//! exchange (RFC 8731), the ssh-ed25519 host key (RFC 8709) and the
//! derivation of the session keys (RFC 4253 §7.2).
//!
//! The exchange, as the ladder shows it:
//!
//! 1. Both sides send KEXINIT: a random cookie and, per category, the
//!    algorithms they speak in order of preference. For each category the
//!    first of the *client's* names that the server also lists wins.
//! 2. The client sends KEX_ECDH_INIT with a fresh X25519 public key Q_C.
//! 3. The server answers KEX_ECDH_REPLY: its host key K_S, its own fresh
//!    public key Q_S, and an Ed25519 signature over the exchange hash H.
//!    H is SHA-256 over everything said so far (both version lines, both
//!    KEXINITs, K_S, Q_C, Q_S) and the shared secret K = X25519(...), so
//!    a man in the middle who changes any of it cannot produce a valid
//!    signature without the host's secret key.
//! 4. Both send NEWKEYS; from then on each direction uses keys derived
//!    from K and H.

use super::SshError;
use super::cipher::{CipherName, DirectionKeys, MAC_KEY_LEN, MAC_NAME};
use super::wire::{Reader, Writer};
use base64ct::{Base64Unpadded, Encoding};
use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};
use sha2::{Digest, Sha256};
use x25519_dalek::{X25519_BASEPOINT_BYTES, x25519};

/// SSH_MSG_KEXINIT.
pub const MSG_KEXINIT: u8 = 20;

pub const KEX_CURVE25519: &str = "curve25519-sha256";
/// The name libssh gave the same method before RFC 8731.
pub const KEX_CURVE25519_LIBSSH: &str = "curve25519-sha256@libssh.org";
pub const HOST_KEY_ED25519: &str = "ssh-ed25519";
/// Strict key exchange (OpenSSH's answer to the "Terrapin" attack):
/// sequence numbers restart at each NEWKEYS and nothing but key exchange
/// messages may come before the first one.
pub const STRICT_CLIENT: &str = "kex-strict-c-v00@openssh.com";
pub const STRICT_SERVER: &str = "kex-strict-s-v00@openssh.com";

/// A KEXINIT message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KexInit {
    pub cookie: [u8; 16],
    pub kex: Vec<String>,
    pub host_key: Vec<String>,
    pub ciphers_c2s: Vec<String>,
    pub ciphers_s2c: Vec<String>,
    pub macs_c2s: Vec<String>,
    pub macs_s2c: Vec<String>,
    pub compression_c2s: Vec<String>,
    pub compression_s2c: Vec<String>,
    pub first_kex_packet_follows: bool,
}

impl KexInit {
    /// What wiretale offers: `strict` is the pseudo-algorithm of its side.
    pub fn ours(cookie: [u8; 16], ciphers: &[CipherName], strict: &str) -> KexInit {
        let list = |names: &[&str]| names.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let ciphers: Vec<String> = ciphers.iter().map(|c| c.name().to_string()).collect();
        KexInit {
            cookie,
            kex: list(&[KEX_CURVE25519, KEX_CURVE25519_LIBSSH, strict]),
            host_key: list(&[HOST_KEY_ED25519]),
            ciphers_c2s: ciphers.clone(),
            ciphers_s2c: ciphers,
            macs_c2s: list(&[MAC_NAME]),
            macs_s2c: list(&[MAC_NAME]),
            compression_c2s: list(&["none"]),
            compression_s2c: list(&["none"]),
            first_kex_packet_follows: false,
        }
    }

    pub fn encode(&self) -> Vec<u8> {
        let names = |w: Writer, list: &[String]| w.text(&list.join(","));
        let mut w = Writer::message(MSG_KEXINIT).raw(&self.cookie);
        for list in [
            &self.kex,
            &self.host_key,
            &self.ciphers_c2s,
            &self.ciphers_s2c,
            &self.macs_c2s,
            &self.macs_s2c,
            &self.compression_c2s,
            &self.compression_s2c,
        ] {
            w = names(w, list);
        }
        // No languages; reserved 0.
        w.text("")
            .text("")
            .boolean(self.first_kex_packet_follows)
            .u32(0)
            .into_vec()
    }

    pub fn decode(payload: &[u8]) -> Option<KexInit> {
        let mut r = Reader::new(payload);
        if r.byte()? != MSG_KEXINIT {
            return None;
        }
        let cookie: [u8; 16] = r.raw(16)?.try_into().ok()?;
        let init = KexInit {
            cookie,
            kex: r.names()?,
            host_key: r.names()?,
            ciphers_c2s: r.names()?,
            ciphers_s2c: r.names()?,
            macs_c2s: r.names()?,
            macs_s2c: r.names()?,
            compression_c2s: r.names()?,
            compression_s2c: r.names()?,
            first_kex_packet_follows: {
                r.names()?;
                r.names()?;
                r.boolean()?
            },
        };
        r.u32()?;
        Some(init)
    }
}

/// What the two KEXINITs agreed on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Algorithms {
    pub kex: String,
    pub cipher_c2s: CipherName,
    pub cipher_s2c: CipherName,
    /// Both sides asked for strict key exchange.
    pub strict: bool,
}

/// The first of the client's names that the server lists too.
fn choose(client: &[String], server: &[String]) -> Option<String> {
    client.iter().find(|c| server.contains(c)).cloned()
}

/// RFC 4253 §7.1 negotiation.
pub fn negotiate(client: &KexInit, server: &KexInit) -> Result<Algorithms, SshError> {
    let none = |what: &str| SshError::Negotiation(format!("no common {what}"));
    let kex = choose(&client.kex, &server.kex)
        .filter(|k| k == KEX_CURVE25519 || k == KEX_CURVE25519_LIBSSH)
        .ok_or_else(|| none("key exchange method"))?;
    choose(&client.host_key, &server.host_key).ok_or_else(|| none("host key algorithm"))?;
    let cipher = |c: &[String], s: &[String]| {
        choose(c, s)
            .and_then(|n| CipherName::from_name(&n))
            .ok_or_else(|| none("cipher"))
    };
    let cipher_c2s = cipher(&client.ciphers_c2s, &server.ciphers_c2s)?;
    let cipher_s2c = cipher(&client.ciphers_s2c, &server.ciphers_s2c)?;
    // A MAC is needed only for a cipher that does not authenticate itself.
    for (aead, c, s) in [
        (cipher_c2s.is_aead(), &client.macs_c2s, &server.macs_c2s),
        (cipher_s2c.is_aead(), &client.macs_s2c, &server.macs_s2c),
    ] {
        if !aead && choose(c, s).as_deref() != Some(MAC_NAME) {
            return Err(none("MAC"));
        }
    }
    for (c, s) in [
        (&client.compression_c2s, &server.compression_c2s),
        (&client.compression_s2c, &server.compression_s2c),
    ] {
        if choose(c, s).as_deref() != Some("none") {
            return Err(none("compression"));
        }
    }
    Ok(Algorithms {
        kex,
        cipher_c2s,
        cipher_s2c,
        strict: client.kex.iter().any(|k| k == STRICT_CLIENT)
            && server.kex.iter().any(|k| k == STRICT_SERVER),
    })
}

/// The client's first guess was right (RFC 4253 §7: if it was wrong, the
/// guessed packet that follows KEXINIT is ignored).
pub fn guess_was_right(client: &KexInit, server: &KexInit, agreed: &Algorithms) -> bool {
    client.kex.first() == Some(&agreed.kex) && client.host_key.first() == server.host_key.first()
}

/// The X25519 public key of `secret`.
pub fn x25519_public(secret: &[u8; 32]) -> [u8; 32] {
    x25519(*secret, X25519_BASEPOINT_BYTES)
}

/// X25519; an all-zero result (a low-order point from the peer) is
/// refused, as RFC 8731 §3 requires.
pub fn x25519_shared(secret: &[u8; 32], public: &[u8]) -> Result<[u8; 32], SshError> {
    let public: [u8; 32] = public
        .try_into()
        .map_err(|_| SshError::KeyExchange("the public key is not 32 bytes".into()))?;
    let shared = x25519(*secret, public);
    if shared == [0u8; 32] {
        return Err(SshError::KeyExchange(
            "weak public key: shared secret all zeros".into(),
        ));
    }
    Ok(shared)
}

/// The host key blob K_S: `string "ssh-ed25519", string key` (RFC 8709).
pub fn host_key_blob(public: &[u8; 32]) -> Vec<u8> {
    Writer::new()
        .text(HOST_KEY_ED25519)
        .string(public)
        .into_vec()
}

/// The 32-byte key in a host key blob.
pub fn parse_host_key_blob(blob: &[u8]) -> Option<[u8; 32]> {
    let mut r = Reader::new(blob);
    if r.text()? != HOST_KEY_ED25519 {
        return None;
    }
    let key = r.string()?.try_into().ok()?;
    r.is_empty().then_some(key)
}

/// The fingerprint OpenSSH shows (`ssh-keygen -l`, the first-contact
/// prompt): `SHA256:` and the unpadded base64 of the blob's SHA-256.
pub fn fingerprint(public: &[u8; 32]) -> String {
    let digest = Sha256::digest(host_key_blob(public));
    format!("SHA256:{}", Base64Unpadded::encode_string(&digest))
}

/// The public key line of `known_hosts` and `authorized_keys`:
/// `ssh-ed25519 AAAA...`.
pub fn public_key_line(public: &[u8; 32]) -> String {
    format!(
        "{HOST_KEY_ED25519} {}",
        base64ct::Base64::encode_string(&host_key_blob(public))
    )
}

/// A host key: the Ed25519 key pair that signs the exchange hash.
#[derive(Clone)]
pub struct HostKey {
    signing: SigningKey,
}

impl std::fmt::Debug for HostKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "HostKey({})", fingerprint(&self.public()))
    }
}

impl HostKey {
    /// The key whose secret seed is these 32 bytes (RFC 8032 §5.1.5).
    pub fn from_seed(seed: &[u8; 32]) -> HostKey {
        HostKey {
            signing: SigningKey::from_bytes(seed),
        }
    }

    pub fn public(&self) -> [u8; 32] {
        self.signing.verifying_key().to_bytes()
    }

    /// The signature blob over `data`: `string "ssh-ed25519", string sig`.
    pub fn sign(&self, data: &[u8]) -> Vec<u8> {
        let signature: Signature = self.signing.sign(data);
        Writer::new()
            .text(HOST_KEY_ED25519)
            .string(&signature.to_bytes())
            .into_vec()
    }
}

/// Checks a signature blob made by [`HostKey::sign`].
pub fn verify(public: &[u8; 32], data: &[u8], blob: &[u8]) -> Result<(), SshError> {
    let bad = |why: &str| SshError::KeyExchange(format!("host key signature: {why}"));
    let mut r = Reader::new(blob);
    if r.text().as_deref() != Some(HOST_KEY_ED25519) {
        return Err(bad("not ssh-ed25519"));
    }
    let bytes: [u8; 64] = r
        .string()
        .and_then(|s| s.try_into().ok())
        .ok_or_else(|| bad("not 64 bytes"))?;
    let key = VerifyingKey::from_bytes(public).map_err(|_| bad("invalid host key"))?;
    key.verify(data, &Signature::from_bytes(&bytes))
        .map_err(|_| bad("does not verify: not the host's key"))
}

/// Everything the exchange hash H covers (RFC 8731 §3.1).
pub struct HashInput<'a> {
    pub client_version: &'a str,
    pub server_version: &'a str,
    pub client_kexinit: &'a [u8],
    pub server_kexinit: &'a [u8],
    pub host_key_blob: &'a [u8],
    pub client_public: &'a [u8],
    pub server_public: &'a [u8],
    pub shared: &'a [u8; 32],
}

/// H = SHA-256(V_C || V_S || I_C || I_S || K_S || Q_C || Q_S || K).
pub fn exchange_hash(input: &HashInput<'_>) -> [u8; 32] {
    let bytes = Writer::new()
        .text(input.client_version)
        .text(input.server_version)
        .string(input.client_kexinit)
        .string(input.server_kexinit)
        .string(input.host_key_blob)
        .string(input.client_public)
        .string(input.server_public)
        .mpint(input.shared)
        .into_vec();
    Sha256::digest(bytes).into()
}

/// RFC 4253 §7.2: HASH(K || H || letter || session_id), extended with
/// HASH(K || H || K1 || K2 ...) until there are `len` bytes.
fn derive(
    shared: &[u8; 32],
    hash: &[u8; 32],
    letter: u8,
    session_id: &[u8; 32],
    len: usize,
) -> Vec<u8> {
    let k = Writer::new().mpint(shared).into_vec();
    let mut out: Vec<u8> = Sha256::new()
        .chain_update(&k)
        .chain_update(hash)
        .chain_update([letter])
        .chain_update(session_id)
        .finalize()
        .to_vec();
    while out.len() < len {
        let more = Sha256::new()
            .chain_update(&k)
            .chain_update(hash)
            .chain_update(&out)
            .finalize();
        out.extend_from_slice(&more);
    }
    out.truncate(len);
    out
}

/// The keys of both directions.
pub fn session_keys(
    shared: &[u8; 32],
    hash: &[u8; 32],
    session_id: &[u8; 32],
    agreed: &Algorithms,
) -> (DirectionKeys, DirectionKeys) {
    let d = |letter: u8, len: usize| derive(shared, hash, letter, session_id, len);
    let c2s = DirectionKeys {
        cipher: agreed.cipher_c2s,
        iv: d(b'A', agreed.cipher_c2s.iv_len()),
        key: d(b'C', agreed.cipher_c2s.key_len()),
        mac_key: d(b'E', MAC_KEY_LEN),
    };
    let s2c = DirectionKeys {
        cipher: agreed.cipher_s2c,
        iv: d(b'B', agreed.cipher_s2c.iv_len()),
        key: d(b'D', agreed.cipher_s2c.key_len()),
        mac_key: d(b'F', MAC_KEY_LEN),
    };
    (c2s, s2c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kexinit_round_trips_and_negotiates_the_clients_first_choice() {
        let server = KexInit::ours([1; 16], &CipherName::ALL, STRICT_SERVER);
        let client = KexInit::ours([2; 16], &[CipherName::Aes128Ctr], STRICT_CLIENT);
        assert_eq!(KexInit::decode(&server.encode()), Some(server.clone()));
        let agreed = negotiate(&client, &server).unwrap();
        assert_eq!(agreed.kex, KEX_CURVE25519);
        assert_eq!(agreed.cipher_c2s, CipherName::Aes128Ctr);
        assert!(agreed.strict);
        assert!(guess_was_right(&client, &server, &agreed));
        let mut old = client.clone();
        old.kex = vec!["diffie-hellman-group1-sha1".into()];
        assert!(matches!(
            negotiate(&old, &server),
            Err(SshError::Negotiation(_))
        ));
        assert_eq!(KexInit::decode(b"\x14short"), None);
    }

    #[test]
    fn rfc8032_key_and_openssh_fingerprint_format() {
        // RFC 8032 §7.1, test 1.
        let seed: [u8; 32] = *b"\x9d\x61\xb1\x9d\xef\xfd\x5a\x60\xba\x84\x4a\xf4\x92\xec\x2c\xc4\x44\x49\xc5\x69\x7b\x32\x69\x19\x70\x3b\xac\x03\x1c\xae\x7f\x60";
        let key = HostKey::from_seed(&seed);
        assert_eq!(key.public()[..4], [0xd7, 0x5a, 0x98, 0x01]);
        let fp = fingerprint(&key.public());
        assert!(fp.starts_with("SHA256:") && fp.len() == 7 + 43, "{fp}");
        assert!(
            public_key_line(&key.public()).starts_with("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI")
        );
        let sig = key.sign(b"exchange hash");
        assert!(verify(&key.public(), b"exchange hash", &sig).is_ok());
        assert!(verify(&key.public(), b"another hash", &sig).is_err());
        assert!(
            verify(
                &HostKey::from_seed(&[7; 32]).public(),
                b"exchange hash",
                &sig
            )
            .is_err()
        );
        assert_eq!(
            parse_host_key_blob(&host_key_blob(&key.public())),
            Some(key.public())
        );
    }

    #[test]
    fn weak_keys_are_refused() {
        assert!(x25519_shared(&[5; 32], &[0; 32]).is_err());
        assert!(x25519_shared(&[5; 32], &[9; 31]).is_err());
        assert!(x25519_shared(&[5; 32], &x25519_public(&[6; 32])).is_ok());
    }
}
