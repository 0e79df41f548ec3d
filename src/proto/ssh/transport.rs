//! The SSH transport layer (RFC 4253), sans-IO: version exchange, key
//! exchange (and re-exchange when the peer asks), packet protection and
//! the `ssh-userauth` service request. What it hands up are the messages
//! of the authentication and connection protocols (numbers 50 and up).

use super::cipher::{CipherName, Opener, Sealer};
use super::kex::{self, Algorithms, HashInput, HostKey, KexInit};
use super::wire::{Reader, Writer};
use super::{Note, SshError, msg};
use rand_chacha::ChaCha20Rng;
use rand_core::{Rng, SeedableRng};
use std::collections::VecDeque;

/// The version line wiretale sends (RFC 4253 §4.2).
pub const VERSION: &str = "SSH-2.0-wiretale";
/// Longest identification line, CR LF included (RFC 4253 §4.2).
const MAX_VERSION_LINE: usize = 255;
/// Lines a server may send before its version line (RFC 4253 §4.2 allows
/// some); more and the client gives up.
const MAX_PRE_VERSION_LINES: usize = 20;
/// The service that comes after the key exchange.
pub const USERAUTH_SERVICE: &str = "ssh-userauth";

/// Which end this is.
#[derive(Clone)]
enum Role {
    Server { host_key: HostKey },
    Client { known_host: Option<[u8; 32]> },
}

/// What the transport hands up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// Keys are in place and the `ssh-userauth` service runs: the client
    /// may authenticate.
    Ready,
    /// An authentication or connection protocol message, with its packet
    /// sequence number (for SSH_MSG_UNIMPLEMENTED).
    Message { seq: u32, payload: Vec<u8> },
    /// The peer sent DISCONNECT.
    Disconnected { reason: String },
}

/// A key exchange in progress.
#[derive(Clone)]
struct Exchange {
    ours: Vec<u8>,
    theirs: Option<Vec<u8>>,
    agreed: Option<Algorithms>,
    /// The client's X25519 secret, between KEX_ECDH_INIT and the reply.
    secret: Option<[u8; 32]>,
    newkeys_sent: bool,
    /// Keys for what the peer sends after its NEWKEYS.
    incoming: Option<super::cipher::DirectionKeys>,
}

/// One end of an SSH transport. A clone is the same connection at
/// the same point (keys, sequence numbers, randomness to come): what
/// happens to one from then on does not touch the other.
#[derive(Clone)]
pub struct Transport {
    role: Role,
    rng: ChaCha20Rng,
    ciphers: Vec<CipherName>,
    peer_version: Option<String>,
    pre_version_lines: usize,
    opener: Opener,
    sealer: Sealer,
    exchange: Option<Exchange>,
    session_id: Option<[u8; 32]>,
    /// The first key exchange has completed (both NEWKEYS).
    keyed: bool,
    strict: bool,
    /// The KEXINIT guess that follows the peer's KEXINIT is to be ignored.
    skip_guess: bool,
    ready: bool,
    server_host_key: Option<[u8; 32]>,
    /// Messages the layer above sent while a key exchange ran.
    held: Vec<Vec<u8>>,
    output: VecDeque<Vec<u8>>,
    notes: VecDeque<Note>,
    events: VecDeque<Event>,
    closed: bool,
    error: Option<SshError>,
}

impl Transport {
    /// A server with `host_key`; `seed` feeds its ephemeral keys, cookies
    /// and padding.
    pub fn server(host_key: HostKey, seed: [u8; 32]) -> Transport {
        Transport::new(Role::Server { host_key }, &CipherName::ALL, seed)
    }

    /// A client that checks the server's key against `known_host` (SSH's
    /// `known_hosts`; `None` accepts the key shown on first contact) and
    /// offers `ciphers` in this order.
    pub fn client(
        known_host: Option<[u8; 32]>,
        ciphers: &[CipherName],
        seed: [u8; 32],
    ) -> Transport {
        Transport::new(Role::Client { known_host }, ciphers, seed)
    }

    fn new(role: Role, ciphers: &[CipherName], seed: [u8; 32]) -> Transport {
        let mut t = Transport {
            role,
            rng: ChaCha20Rng::from_seed(seed),
            ciphers: if ciphers.is_empty() {
                CipherName::ALL.to_vec()
            } else {
                ciphers.to_vec()
            },
            peer_version: None,
            pre_version_lines: 0,
            opener: Opener::new(),
            sealer: Sealer::new(),
            exchange: None,
            session_id: None,
            keyed: false,
            strict: false,
            skip_guess: false,
            ready: false,
            server_host_key: None,
            held: Vec::new(),
            output: VecDeque::new(),
            notes: VecDeque::new(),
            events: VecDeque::new(),
            closed: false,
            error: None,
        };
        t.output.push_back(format!("{VERSION}\r\n").into_bytes());
        t.notes.push_back(Note::Sent(VERSION.to_string()));
        t.start_exchange();
        t
    }

    fn is_server(&self) -> bool {
        matches!(self.role, Role::Server { .. })
    }

    /// Sends our KEXINIT.
    fn start_exchange(&mut self) {
        let mut cookie = [0u8; 16];
        self.rng.fill_bytes(&mut cookie);
        let strict = if self.is_server() {
            kex::STRICT_SERVER
        } else {
            kex::STRICT_CLIENT
        };
        let init = KexInit::ours(cookie, &self.ciphers, strict);
        let payload = init.encode();
        self.notes.push_back(Note::Sent(describe_kexinit(&init)));
        self.seal(&payload);
        self.exchange = Some(Exchange {
            ours: payload,
            theirs: None,
            agreed: None,
            secret: None,
            newkeys_sent: false,
            incoming: None,
        });
    }

    /// Feeds bytes received from the peer.
    pub fn handle_input(&mut self, data: &[u8]) {
        if self.closed {
            return;
        }
        self.opener.push(data);
        if self.peer_version.is_none() {
            self.read_version();
            if self.peer_version.is_none() {
                return;
            }
        }
        while !self.closed {
            match self.opener.next_packet() {
                Ok(None) => return,
                Ok(Some((seq, payload))) => self.dispatch(seq, payload),
                Err(error) => self.fail(error),
            }
        }
    }

    fn read_version(&mut self) {
        loop {
            let buf = self.opener.buffer_mut();
            let Some(end) = buf.iter().position(|&b| b == b'\n') else {
                if buf.len() >= MAX_VERSION_LINE {
                    self.reject_version("identification line too long");
                }
                return;
            };
            if end + 1 > MAX_VERSION_LINE {
                self.reject_version("identification line too long");
                return;
            }
            let line: Vec<u8> = buf.drain(..=end).collect();
            let line = String::from_utf8_lossy(&line[..end])
                .trim_end_matches('\r')
                .to_string();
            if line.starts_with("SSH-") {
                if !(line.starts_with("SSH-2.0-") || line.starts_with("SSH-1.99-")) {
                    self.reject_version("protocol version not supported");
                    return;
                }
                self.notes.push_back(Note::Received(line.clone()));
                self.peer_version = Some(line);
                return;
            }
            // Only a server may say something before its version.
            self.pre_version_lines += 1;
            if self.is_server() || self.pre_version_lines > MAX_PRE_VERSION_LINES {
                self.reject_version("not an SSH identification line");
                return;
            }
        }
    }

    fn reject_version(&mut self, why: &str) {
        if self.is_server() {
            // Nothing is encrypted yet: say it in the clear, as sshd does.
            self.output
                .push_back(b"Invalid SSH identification string.\r\n".to_vec());
        }
        self.notes.push_back(Note::Info(format!("closing: {why}")));
        self.error = Some(SshError::Version(why.to_string()));
        self.closed = true;
    }

    fn dispatch(&mut self, seq: u32, payload: Vec<u8>) {
        let Some(&kind) = payload.first() else {
            self.fail(SshError::BadPacket("empty payload".into()));
            return;
        };
        if std::mem::take(&mut self.skip_guess) && (30..=49).contains(&kind) {
            self.notes
                .push_back(Note::Info("wrong key exchange guess ignored".into()));
            return;
        }
        // Strict key exchange: before the first NEWKEYS, key exchange
        // messages only (the Terrapin attack injects IGNOREs here).
        if self.strict
            && !self.keyed
            && !matches!(
                kind,
                msg::KEXINIT | msg::NEWKEYS | 30..=49 | msg::DISCONNECT
            )
        {
            self.fail(SshError::Protocol(format!(
                "message {kind} during the strict key exchange"
            )));
            return;
        }
        match kind {
            msg::DISCONNECT => {
                let mut r = Reader::new(&payload[1..]);
                let code = r.u32().unwrap_or(0);
                let reason = r.text().unwrap_or_default();
                self.notes
                    .push_back(Note::Received(format!("disconnect ({code}): {reason}")));
                self.events.push_back(Event::Disconnected { reason });
                self.closed = true;
            }
            msg::IGNORE | msg::DEBUG | msg::EXT_INFO => {}
            msg::UNIMPLEMENTED => {
                let seq = Reader::new(&payload[1..]).u32().unwrap_or(0);
                self.notes
                    .push_back(Note::Received(format!("unimplemented (packet {seq})")));
            }
            msg::KEXINIT => self.on_kexinit(seq, &payload),
            msg::NEWKEYS => self.on_newkeys(),
            msg::KEX_ECDH_INIT if self.is_server() => self.on_ecdh_init(&payload),
            msg::KEX_ECDH_REPLY if !self.is_server() => self.on_ecdh_reply(&payload),
            msg::SERVICE_REQUEST if self.is_server() && self.keyed => {
                self.on_service_request(&payload)
            }
            msg::SERVICE_ACCEPT if !self.is_server() && self.keyed => {
                self.notes
                    .push_back(Note::Received(format!("service_accept {USERAUTH_SERVICE}")));
                self.ready = true;
                self.events.push_back(Event::Ready);
            }
            50..=255 if self.ready => self.events.push_back(Event::Message { seq, payload }),
            // Known, but out of place (before authentication or the keys).
            msg::SERVICE_REQUEST
            | msg::SERVICE_ACCEPT
            | msg::KEX_ECDH_INIT
            | msg::KEX_ECDH_REPLY
            | 50..=255 => {
                self.fail(SshError::Protocol(format!("unexpected message {kind}")));
            }
            _ => {
                // RFC 4253 §11.4: unknown message numbers get UNIMPLEMENTED.
                let reply = Writer::message(msg::UNIMPLEMENTED).u32(seq).into_vec();
                self.seal(&reply);
            }
        }
    }

    fn on_kexinit(&mut self, seq: u32, payload: &[u8]) {
        let Some(theirs) = KexInit::decode(payload) else {
            self.fail(SshError::Protocol("malformed KEXINIT".into()));
            return;
        };
        if self.exchange.is_none() {
            // The peer asks for new keys: answer with our KEXINIT.
            self.start_exchange();
        }
        let Some(exchange) = self.exchange.as_mut() else {
            return;
        };
        if exchange.theirs.is_some() {
            self.fail(SshError::Protocol(
                "a second KEXINIT during a key exchange".into(),
            ));
            return;
        }
        exchange.theirs = Some(payload.to_vec());
        let ours = KexInit::decode(&exchange.ours);
        let (client, server) = match (&self.role, ours) {
            (_, None) => return,
            (Role::Server { .. }, Some(ours)) => (theirs.clone(), ours),
            (Role::Client { .. }, Some(ours)) => (ours, theirs.clone()),
        };
        self.notes
            .push_back(Note::Received(describe_kexinit(&theirs)));
        let agreed = match kex::negotiate(&client, &server) {
            Ok(agreed) => agreed,
            Err(error) => {
                self.fail(error);
                return;
            }
        };
        if !self.keyed {
            self.strict = agreed.strict;
            if self.strict && seq != 0 {
                self.fail(SshError::Protocol(
                    "KEXINIT was not the first packet (strict key exchange)".into(),
                ));
                return;
            }
        }
        self.notes.push_back(Note::Info(format!(
            "agreed: {}, ssh-ed25519 host key, {}{}",
            agreed.kex,
            if agreed.cipher_c2s == agreed.cipher_s2c {
                agreed.cipher_c2s.name().to_string()
            } else {
                format!(
                    "{} / {}",
                    agreed.cipher_c2s.name(),
                    agreed.cipher_s2c.name()
                )
            },
            if agreed.strict {
                ", strict key exchange"
            } else {
                ""
            }
        )));
        if theirs.first_kex_packet_follows && !kex::guess_was_right(&client, &server, &agreed) {
            self.skip_guess = true;
        }
        if let Some(exchange) = self.exchange.as_mut() {
            exchange.agreed = Some(agreed);
        }
        if !self.is_server() {
            // The client goes first: KEX_ECDH_INIT with a fresh key.
            let mut secret = [0u8; 32];
            self.rng.fill_bytes(&mut secret);
            let public = kex::x25519_public(&secret);
            if let Some(exchange) = self.exchange.as_mut() {
                exchange.secret = Some(secret);
            }
            self.notes.push_back(Note::Sent(format!(
                "kex_ecdh_init (client key {}...)",
                hex(&public[..4])
            )));
            self.seal(
                &Writer::message(msg::KEX_ECDH_INIT)
                    .string(&public)
                    .into_vec(),
            );
        }
    }

    /// The peer's KEXINIT and our agreement, or why there is none.
    fn agreed(&self) -> Result<(Vec<u8>, Vec<u8>, Algorithms), SshError> {
        let exchange = self
            .exchange
            .as_ref()
            .ok_or_else(|| SshError::Protocol("no key exchange in progress".into()))?;
        match (&exchange.theirs, &exchange.agreed) {
            (Some(theirs), Some(agreed)) => {
                Ok((exchange.ours.clone(), theirs.clone(), agreed.clone()))
            }
            _ => Err(SshError::Protocol(
                "key exchange message before KEXINIT".into(),
            )),
        }
    }

    fn versions(&self) -> (String, String) {
        let peer = self.peer_version.clone().unwrap_or_default();
        if self.is_server() {
            (peer, VERSION.to_string())
        } else {
            (VERSION.to_string(), peer)
        }
    }

    fn on_ecdh_init(&mut self, payload: &[u8]) {
        let result = (|| {
            let (ours, theirs, agreed) = self.agreed()?;
            let mut r = Reader::new(&payload[1..]);
            let client_public = r
                .string()
                .ok_or_else(|| SshError::Protocol("malformed KEX_ECDH_INIT".into()))?
                .to_vec();
            self.notes.push_back(Note::Received(format!(
                "kex_ecdh_init (client key {}...)",
                hex(&client_public[..client_public.len().min(4)])
            )));
            let mut secret = [0u8; 32];
            self.rng.fill_bytes(&mut secret);
            let server_public = kex::x25519_public(&secret);
            let shared = kex::x25519_shared(&secret, &client_public)?;
            let Role::Server { host_key } = &self.role else {
                return Err(SshError::Protocol("KEX_ECDH_INIT sent to a client".into()));
            };
            let blob = kex::host_key_blob(&host_key.public());
            let (client_version, server_version) = self.versions();
            let hash = kex::exchange_hash(&HashInput {
                client_version: &client_version,
                server_version: &server_version,
                client_kexinit: &theirs,
                server_kexinit: &ours,
                host_key_blob: &blob,
                client_public: &client_public,
                server_public: &server_public,
                shared: &shared,
            });
            let signature = host_key.sign(&hash);
            let fingerprint = kex::fingerprint(&host_key.public());
            let reply = Writer::message(msg::KEX_ECDH_REPLY)
                .string(&blob)
                .string(&server_public)
                .string(&signature)
                .into_vec();
            self.notes.push_back(Note::Sent(format!(
                "kex_ecdh_reply (host key {fingerprint}, server key {}..., signature)",
                hex(&server_public[..4])
            )));
            self.seal(&reply);
            let session_id = *self.session_id.get_or_insert(hash);
            let (c2s, s2c) = kex::session_keys(&shared, &hash, &session_id, &agreed);
            self.notes.push_back(Note::Info(
                "shared secret K = X25519(server key, client key); keys derived from K and the exchange hash H".into(),
            ));
            self.send_newkeys(&s2c)?;
            if let Some(exchange) = self.exchange.as_mut() {
                exchange.incoming = Some(c2s);
            }
            Ok(())
        })();
        if let Err(error) = result {
            self.fail(error);
        }
    }

    fn on_ecdh_reply(&mut self, payload: &[u8]) {
        let result = (|| {
            let (ours, theirs, agreed) = self.agreed()?;
            let malformed = || SshError::Protocol("malformed KEX_ECDH_REPLY".into());
            let mut r = Reader::new(&payload[1..]);
            let blob = r.string().ok_or_else(malformed)?.to_vec();
            let server_public = r.string().ok_or_else(malformed)?.to_vec();
            let signature = r.string().ok_or_else(malformed)?.to_vec();
            let host = kex::parse_host_key_blob(&blob).ok_or_else(|| {
                SshError::KeyExchange("the host key is not an ssh-ed25519 key".into())
            })?;
            self.server_host_key = Some(host);
            self.notes.push_back(Note::Received(format!(
                "kex_ecdh_reply (host key {}, server key {}..., signature)",
                kex::fingerprint(&host),
                hex(&server_public[..server_public.len().min(4)])
            )));
            // The check that stops a man in the middle.
            if let Role::Client {
                known_host: Some(expected),
            } = &self.role
                && *expected != host
            {
                return Err(SshError::HostKeyMismatch {
                    expected: kex::fingerprint(expected),
                    got: kex::fingerprint(&host),
                });
            }
            let secret = self
                .exchange
                .as_mut()
                .and_then(|e| e.secret.take())
                .ok_or_else(|| SshError::Protocol("KEX_ECDH_REPLY before KEX_ECDH_INIT".into()))?;
            let shared = kex::x25519_shared(&secret, &server_public)?;
            let client_public = kex::x25519_public(&secret);
            let (client_version, server_version) = self.versions();
            let hash = kex::exchange_hash(&HashInput {
                client_version: &client_version,
                server_version: &server_version,
                client_kexinit: &ours,
                server_kexinit: &theirs,
                host_key_blob: &blob,
                client_public: &client_public,
                server_public: &server_public,
                shared: &shared,
            });
            kex::verify(&host, &hash, &signature)?;
            self.notes.push_back(Note::Info(
                "exchange hash H verified with the host key; keys derived from K and H".into(),
            ));
            let session_id = *self.session_id.get_or_insert(hash);
            let (c2s, s2c) = kex::session_keys(&shared, &hash, &session_id, &agreed);
            self.send_newkeys(&c2s)?;
            if let Some(exchange) = self.exchange.as_mut() {
                exchange.incoming = Some(s2c);
            }
            Ok(())
        })();
        if let Err(error) = result {
            self.fail(error);
        }
    }

    fn send_newkeys(&mut self, outgoing: &super::cipher::DirectionKeys) -> Result<(), SshError> {
        self.notes.push_back(Note::Sent("newkeys".into()));
        self.seal(&[msg::NEWKEYS]);
        self.sealer.rekey(outgoing)?;
        if self.strict {
            self.sealer.reset_sequence();
        }
        if let Some(exchange) = self.exchange.as_mut() {
            exchange.newkeys_sent = true;
        }
        // What the layer above said meanwhile goes out under the new keys.
        for payload in std::mem::take(&mut self.held) {
            self.seal(&payload);
        }
        Ok(())
    }

    fn on_newkeys(&mut self) {
        let Some(keys) = self.exchange.as_mut().and_then(|e| e.incoming.take()) else {
            self.fail(SshError::Protocol("unexpected NEWKEYS".into()));
            return;
        };
        if let Err(error) = self.opener.rekey(&keys) {
            self.fail(error);
            return;
        }
        if self.strict {
            self.opener.reset_sequence();
        }
        self.notes.push_back(Note::Received("newkeys".into()));
        self.notes.push_back(Note::Info(format!(
            "from here on every packet is encrypted ({})",
            keys.cipher.name()
        )));
        let first = !self.keyed;
        self.exchange = None;
        self.keyed = true;
        if first && !self.is_server() {
            self.notes
                .push_back(Note::Sent(format!("service_request {USERAUTH_SERVICE}")));
            self.seal(
                &Writer::message(msg::SERVICE_REQUEST)
                    .text(USERAUTH_SERVICE)
                    .into_vec(),
            );
        }
    }

    fn on_service_request(&mut self, payload: &[u8]) {
        let service = Reader::new(&payload[1..]).text().unwrap_or_default();
        self.notes
            .push_back(Note::Received(format!("service_request {service}")));
        if service != USERAUTH_SERVICE || self.ready {
            self.disconnect(
                msg::DISCONNECT_SERVICE_NOT_AVAILABLE,
                &format!("service {service} not available"),
            );
            return;
        }
        self.notes
            .push_back(Note::Sent(format!("service_accept {service}")));
        self.seal(
            &Writer::message(msg::SERVICE_ACCEPT)
                .text(&service)
                .into_vec(),
        );
        self.ready = true;
        self.events.push_back(Event::Ready);
    }

    /// Seals a transport message now (key exchange messages go out even
    /// while an exchange runs).
    fn seal(&mut self, payload: &[u8]) {
        if self.closed {
            return;
        }
        let packet = self.sealer.seal(payload, &mut self.rng);
        self.output.push_back(packet);
    }

    /// Sends a message of the layer above; while a key exchange runs it
    /// waits for the new keys (RFC 4253 §7.1).
    pub fn send(&mut self, payload: Vec<u8>) {
        if self.closed {
            return;
        }
        let exchanging = self.exchange.as_ref().is_some_and(|e| !e.newkeys_sent);
        if exchanging {
            self.held.push(payload);
        } else {
            self.seal(&payload);
        }
    }

    /// Answers a message the layer above does not know.
    pub fn unimplemented(&mut self, seq: u32) {
        self.send(Writer::message(msg::UNIMPLEMENTED).u32(seq).into_vec());
    }

    /// Says goodbye with a reason (RFC 4253 §11.1) and stops.
    pub fn disconnect(&mut self, code: u32, reason: &str) {
        if self.closed {
            return;
        }
        self.notes
            .push_back(Note::Sent(format!("disconnect ({code}): {reason}")));
        let payload = Writer::message(msg::DISCONNECT)
            .u32(code)
            .text(reason)
            .text("")
            .into_vec();
        self.seal(&payload);
        self.closed = true;
    }

    /// A fatal error: the peer is told why unless the error means the
    /// bytes cannot be trusted (then nothing is answered).
    fn fail(&mut self, error: SshError) {
        self.notes
            .push_back(Note::Info(format!("closing: {error}")));
        match &error {
            SshError::BadMac(_) | SshError::BadPacket(_) => self.closed = true,
            other => self.disconnect(other.disconnect_code(), &other.to_string()),
        }
        self.closed = true;
        self.error.get_or_insert(error);
    }

    pub fn poll_output(&mut self) -> Option<Vec<u8>> {
        self.output.pop_front()
    }

    pub fn poll_note(&mut self) -> Option<Note> {
        self.notes.pop_front()
    }

    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// True once nothing more will be sent or read.
    pub fn is_closed(&self) -> bool {
        self.closed
    }

    /// Why the transport closed, if it failed.
    pub fn error(&self) -> Option<&SshError> {
        self.error.as_ref()
    }

    /// The key the server showed (client side), once its reply came.
    pub fn server_host_key(&self) -> Option<[u8; 32]> {
        self.server_host_key
    }
}

/// A KEXINIT for the transcript: the first name of the main lists.
fn describe_kexinit(init: &KexInit) -> String {
    let first = |list: &[String]| list.first().cloned().unwrap_or_else(|| "-".into());
    format!(
        "kexinit ({}, {}, {}, ...)",
        first(&init.kex),
        first(&init.host_key),
        first(&init.ciphers_c2s)
    )
}

/// Lowercase hex.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
