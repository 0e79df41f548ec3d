//! TLS for the mail, file and web protocols, through rustls's sans-IO
//! connections.
//!
//! - [`pki`]: the scenario's certificate authority and host certificates
//!   (Ed25519, derived from the seed, so the same scenario always has the
//!   same CA).
//! - [`provider`]: where rustls gets randomness and the time: from a
//!   seeded generator and the scenario's date in a simulation, from the
//!   system in live mode.
//! - [`TlsLayer`]: one end of a TLS connection between a socket (or the
//!   simulated TCP) and a protocol machine: ciphertext in, plaintext out,
//!   and the other way round.
//!
//! A protocol machine that offers STARTTLS (SMTP, RFC 3207), STLS (POP3,
//! RFC 2595), STARTTLS (IMAP, RFC 3501 §6.2.1) or AUTH TLS (FTP, RFC 4217)
//! answers the command in the clear and then asks its driver, through
//! [`Session::take_starttls`](crate::proto::Session::take_starttls), to
//! put a `TlsLayer` under it; from then on it sees only plaintext.

pub mod pki;
pub mod provider;

use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use rustls::pki_types::ServerName;
use rustls::{
    ClientConfig, ClientConnection, Connection, RootCertStore, ServerConfig, ServerConnection,
};
use std::collections::VecDeque;
use std::io::{Read, Write};
use std::sync::Arc;

/// The TLS versions offered: 1.3 first, 1.2 for older clients (and for
/// the eavesdropper's lesson: a TLS 1.2 handshake shows the certificate).
static VERSIONS: &[&rustls::SupportedProtocolVersion] =
    &[&rustls::version::TLS13, &rustls::version::TLS12];

/// A server configuration for `cert`; `date` fixes the clock (Unix
/// seconds) for a simulation, `None` uses the system's.
pub fn server_config(cert: pki::HostCert, date: Option<u64>) -> Result<Arc<ServerConfig>, String> {
    let config =
        ServerConfig::builder_with_details(provider::provider(), Arc::new(provider::Clock(date)))
            .with_protocol_versions(VERSIONS)
            .map_err(|e| e.to_string())?
            .with_no_client_auth()
            .with_single_cert(cert.chain, cert.key)
            .map_err(|e| e.to_string())?;
    Ok(Arc::new(config))
}

/// A client configuration that trusts the scenario's CA only.
pub fn client_config(
    ca: &pki::ScenarioPki,
    date: Option<u64>,
) -> Result<Arc<ClientConfig>, String> {
    let mut roots = RootCertStore::empty();
    roots.add(ca.ca_der().clone()).map_err(|e| e.to_string())?;
    let config =
        ClientConfig::builder_with_details(provider::provider(), Arc::new(provider::Clock(date)))
            .with_protocol_versions(VERSIONS)
            .map_err(|e| e.to_string())?
            .with_root_certificates(roots)
            .with_no_client_auth();
    Ok(Arc::new(config))
}

/// One end of a TLS connection.
pub struct TlsLayer {
    conn: Connection,
    /// The connection's own generator (simulation); `None` draws from the
    /// operating system.
    rng: Option<ChaCha20Rng>,
    notes: VecDeque<String>,
    handshake_noted: bool,
    failed: Option<String>,
    peer_closed: bool,
}

impl TlsLayer {
    /// A server end; `seed` makes its randomness reproducible.
    pub fn server(config: Arc<ServerConfig>, seed: Option<[u8; 32]>) -> Result<TlsLayer, String> {
        let mut rng = seed.map(ChaCha20Rng::from_seed);
        let conn = provider::with_rng(&mut rng, || ServerConnection::new(config))
            .map_err(|e| e.to_string())?;
        Ok(TlsLayer::new(Connection::Server(conn), rng))
    }

    /// A client end that verifies the server is `server_name`.
    pub fn client(
        config: Arc<ClientConfig>,
        server_name: &str,
        seed: Option<[u8; 32]>,
    ) -> Result<TlsLayer, String> {
        let name = ServerName::try_from(server_name.to_string()).map_err(|e| e.to_string())?;
        let mut rng = seed.map(ChaCha20Rng::from_seed);
        let conn = provider::with_rng(&mut rng, || ClientConnection::new(config, name))
            .map_err(|e| e.to_string())?;
        Ok(TlsLayer::new(Connection::Client(conn), rng))
    }

    fn new(mut conn: Connection, rng: Option<ChaCha20Rng>) -> TlsLayer {
        // The driver drains the output after every call; a limit would
        // only make large writes fail.
        conn.set_buffer_limit(None);
        TlsLayer {
            conn,
            rng,
            notes: VecDeque::new(),
            handshake_noted: false,
            failed: None,
            peer_closed: false,
        }
    }

    /// Takes bytes from the peer; returns the plaintext they complete.
    /// After an error (a bad record, a failed handshake) nothing more is
    /// read, and [`error`](Self::error) says why; the alert for the peer
    /// is in [`take_output`](Self::take_output).
    pub fn receive(&mut self, mut ciphertext: &[u8]) -> Vec<u8> {
        let mut plaintext = Vec::new();
        if self.failed.is_some() {
            return plaintext;
        }
        let Self {
            conn,
            rng,
            failed,
            peer_closed,
            ..
        } = self;
        provider::with_rng(rng, || {
            while !ciphertext.is_empty() {
                if conn.read_tls(&mut ciphertext).is_err() {
                    *failed = Some("unreadable TLS record".into());
                    return;
                }
                match conn.process_new_packets() {
                    Ok(state) => *peer_closed |= state.peer_has_closed(),
                    Err(error) => {
                        *failed = Some(error.to_string());
                        return;
                    }
                }
                // Plaintext waits in rustls until read.
                let mut reader = conn.reader();
                let mut chunk = [0u8; 16 * 1024];
                loop {
                    match reader.read(&mut chunk) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => plaintext.extend_from_slice(&chunk[..n]),
                    }
                }
            }
        });
        if let Some(why) = &self.failed {
            self.notes.push_back(format!("TLS failed: {why}"));
        }
        self.note_handshake();
        plaintext
    }

    /// Queues plaintext for the peer (sent once the handshake is done).
    pub fn send(&mut self, plaintext: &[u8]) {
        if self.failed.is_none() {
            let _ = self.conn.writer().write_all(plaintext);
        }
    }

    /// Ends the connection with close_notify.
    pub fn close(&mut self) {
        self.conn.send_close_notify();
    }

    /// Ciphertext for the peer.
    pub fn take_output(&mut self) -> Vec<u8> {
        let mut out = Vec::new();
        let Self { conn, rng, .. } = self;
        provider::with_rng(rng, || {
            while conn.wants_write() {
                if conn.write_tls(&mut out).is_err() {
                    break;
                }
            }
        });
        out
    }

    /// The peer sent close_notify: it will send nothing more.
    pub fn peer_closed(&self) -> bool {
        self.peer_closed
    }

    pub fn is_handshaking(&self) -> bool {
        self.conn.is_handshaking()
    }

    pub fn error(&self) -> Option<&str> {
        self.failed.as_deref()
    }

    /// Lines for the transcript: the handshake's outcome, a failure.
    pub fn poll_note(&mut self) -> Option<String> {
        self.notes.pop_front()
    }

    fn note_handshake(&mut self) {
        if self.handshake_noted || self.conn.is_handshaking() {
            return;
        }
        self.handshake_noted = true;
        let version = match self.conn.protocol_version() {
            Some(rustls::ProtocolVersion::TLSv1_3) => "TLS 1.3",
            Some(rustls::ProtocolVersion::TLSv1_2) => "TLS 1.2",
            _ => "TLS",
        };
        let suite = self
            .conn
            .negotiated_cipher_suite()
            .map_or_else(|| "?".to_string(), |s| format!("{:?}", s.suite()));
        let sni = match &self.conn {
            Connection::Server(s) => s
                .server_name()
                .map(|n| format!(", SNI {n}"))
                .unwrap_or_default(),
            Connection::Client(_) => String::new(),
        };
        self.notes.push_back(format!(
            "{version} handshake done: {suite}{sni}; from here on encrypted"
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pair(seed: u8) -> (TlsLayer, TlsLayer, Vec<u8>) {
        let pki = pki::ScenarioPki::new(7, "test").unwrap();
        let server_cfg =
            server_config(pki.host_cert("mail.example").unwrap(), Some(1_800_000_000)).unwrap();
        let client_cfg = client_config(&pki, Some(1_800_000_000)).unwrap();
        let mut server = TlsLayer::server(server_cfg, Some([seed; 32])).unwrap();
        let mut client =
            TlsLayer::client(client_cfg, "mail.example", Some([seed + 1; 32])).unwrap();
        let mut wire = Vec::new();
        client.send(b"EHLO me\r\n");
        for _ in 0..6 {
            let c = client.take_output();
            wire.extend_from_slice(&c);
            let got = server.receive(&c);
            if !got.is_empty() {
                assert_eq!(got, b"EHLO me\r\n");
                server.send(b"250 ok\r\n");
            }
            let s = server.take_output();
            wire.extend_from_slice(&s);
            client.receive(&s);
        }
        (client, server, wire)
    }

    #[test]
    fn a_handshake_carries_data_and_repeats_byte_for_byte() {
        let (mut client, mut server, wire) = pair(1);
        assert!(!client.is_handshaking() && !server.is_handshaking());
        assert!(server.poll_note().unwrap().contains("SNI mail.example"));
        assert!(
            client
                .poll_note()
                .unwrap()
                .starts_with("TLS 1.3 handshake done")
        );
        assert!(!wire.windows(7).any(|w| w == b"EHLO me"));
        // Same seeds, same bytes; other seeds, other bytes.
        assert_eq!(pair(1).2, wire);
        assert_ne!(pair(3).2, wire);
    }

    #[test]
    fn the_ca_is_the_same_for_the_same_seed_and_a_wrong_name_fails() {
        let a = pki::ScenarioPki::new(7, "t").unwrap();
        assert_eq!(a.ca_pem(), pki::ScenarioPki::new(7, "t").unwrap().ca_pem());
        assert_ne!(a.ca_pem(), pki::ScenarioPki::new(8, "t").unwrap().ca_pem());
        let server_cfg =
            server_config(a.host_cert("mail.example").unwrap(), Some(1_800_000_000)).unwrap();
        let mut server = TlsLayer::server(server_cfg, Some([1; 32])).unwrap();
        let mut client = TlsLayer::client(
            client_config(&a, Some(1_800_000_000)).unwrap(),
            "other.example",
            Some([2; 32]),
        )
        .unwrap();
        for _ in 0..3 {
            server.receive(&client.take_output());
            client.receive(&server.take_output());
        }
        assert!(
            client.error().unwrap().contains("certificate"),
            "{:?}",
            client.error()
        );
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]

        /// Arbitrary bytes, split anywhere, at either end: an error or
        /// nothing, never a panic, and never plaintext.
        #[test]
        fn arbitrary_bytes_never_panic_or_decrypt(chunks in proptest::collection::vec(proptest::collection::vec(proptest::prelude::any::<u8>(), 0..300), 1..6), client_side in proptest::prelude::any::<bool>()) {
            let pki = pki::ScenarioPki::new(3, "p").unwrap();
            let mut end = if client_side {
                TlsLayer::client(client_config(&pki, Some(1_800_000_000)).unwrap(), "h", Some([1; 32])).unwrap()
            } else {
                TlsLayer::server(server_config(pki.host_cert("h").unwrap(), Some(1_800_000_000)).unwrap(), Some([1; 32])).unwrap()
            };
            let _ = end.take_output();
            for chunk in &chunks {
                proptest::prop_assert!(end.receive(chunk).is_empty());
                let _ = end.take_output();
                let _ = end.poll_note();
            }
        }
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        let a = pki::ScenarioPki::new(7, "t").unwrap();
        let server_cfg = server_config(a.host_cert("h").unwrap(), None).unwrap();
        let mut server = TlsLayer::server(server_cfg, None).unwrap();
        assert!(server.receive(b"EHLO plain text\r\n").is_empty());
        assert!(server.error().is_some());
        assert!(server.receive(b"more").is_empty());
    }
}
