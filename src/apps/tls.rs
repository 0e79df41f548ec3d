//! TLS under an application's connections in a simulation: the bytes that
//! cross the simulated TCP are TLS records, the protocol machine sees the
//! plaintext. Used where one application juggles several connections that
//! may each be protected (FTP's control connection after AUTH TLS and its
//! data connections after PROT P).
//!
//! Every random byte comes from the run's generator, drawn when the TLS
//! session starts, so runs repeat byte for byte.

use crate::net::{AppCx, ConnId};
use crate::proto::Session;
use crate::proto::tls::TlsLayer;
use bytes::Bytes;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

/// TLS sessions by connection.
#[derive(Default)]
pub struct TlsConns {
    layers: BTreeMap<ConnId, TlsLayer>,
    /// Closes asked for while the handshake still ran: done once it is over
    /// and the data has gone.
    closing: BTreeSet<ConnId>,
    /// Why TLS could not start on a connection, for its trace.
    unavailable: BTreeMap<ConnId, String>,
}

fn seed(cx: &mut AppCx<'_>) -> [u8; 32] {
    let mut seed = [0u8; 32];
    cx.rng().fill_bytes(&mut seed);
    seed
}

impl TlsConns {
    /// True if `conn` runs over TLS.
    pub fn has(&self, conn: ConnId) -> bool {
        self.layers.contains_key(&conn)
    }

    /// Starts TLS on `conn`, this end the server.
    pub fn start_server(
        &mut self,
        cx: &mut AppCx<'_>,
        conn: ConnId,
        config: Arc<rustls::ServerConfig>,
    ) -> bool {
        match TlsLayer::server(config, Some(seed(cx))) {
            Ok(layer) => {
                self.layers.insert(conn, layer);
                true
            }
            Err(why) => {
                self.unavailable.insert(conn, why);
                false
            }
        }
    }

    /// Starts TLS on `conn`, this end the client, checking that the server
    /// is `name`; the ClientHello goes out at once.
    pub fn start_client(
        &mut self,
        cx: &mut AppCx<'_>,
        conn: ConnId,
        config: Arc<rustls::ClientConfig>,
        name: &str,
    ) -> bool {
        match TlsLayer::client(config, name, Some(seed(cx))) {
            Ok(layer) => {
                self.layers.insert(conn, layer);
                self.flush(cx, conn);
                true
            }
            Err(why) => {
                self.unavailable.insert(conn, why);
                false
            }
        }
    }

    /// If `session` just said yes to STARTTLS (or STLS, AUTH TLS), puts
    /// TLS under `conn` with this end the server, and tells the session.
    /// True if it did.
    pub fn upgrade_server(
        &mut self,
        cx: &mut AppCx<'_>,
        conn: ConnId,
        session: &mut dyn Session,
        config: Option<Arc<rustls::ServerConfig>>,
    ) -> bool {
        if self.has(conn) || !session.take_starttls() {
            return false;
        }
        let Some(config) = config else { return false };
        let up = self.start_server(cx, conn, config);
        if up {
            session.tls_started();
        }
        up
    }

    /// The same with this end the client, checking the server is `name`.
    pub fn upgrade_client(
        &mut self,
        cx: &mut AppCx<'_>,
        conn: ConnId,
        session: &mut dyn Session,
        config: Option<(Arc<rustls::ClientConfig>, &str)>,
    ) -> bool {
        if self.has(conn) || !session.take_starttls() {
            return false;
        }
        let Some((config, name)) = config else {
            return false;
        };
        let up = self.start_client(cx, conn, config, name);
        if up {
            session.tls_started();
        }
        up
    }

    /// Sends plaintext on `conn`, through TLS if it has it.
    pub fn send(&mut self, cx: &mut AppCx<'_>, conn: ConnId, bytes: impl Into<Bytes>) {
        let bytes: Bytes = bytes.into();
        match self.layers.get_mut(&conn) {
            Some(t) => {
                t.send(&bytes);
                self.flush(cx, conn);
            }
            None => cx.send(conn, bytes),
        }
    }

    /// Sends everything `session` has to say on `conn`, through TLS if
    /// the connection has it.
    pub fn send_output(&mut self, cx: &mut AppCx<'_>, conn: ConnId, session: &mut dyn Session) {
        while let Some(bytes) = session.poll_output() {
            self.send(cx, conn, bytes);
        }
    }

    /// What arrived on `conn`, as plaintext.
    pub fn receive(&mut self, cx: &mut AppCx<'_>, conn: ConnId, data: Bytes) -> Bytes {
        let Some(t) = self.layers.get_mut(&conn) else {
            return data;
        };
        let plain = Bytes::from(t.receive(&data));
        self.flush(cx, conn);
        plain
    }

    /// Closes `conn`: with TLS, close_notify first, and not before the
    /// handshake is over (the data waiting for it would be lost).
    pub fn close(&mut self, cx: &mut AppCx<'_>, conn: ConnId) {
        match self.layers.get(&conn) {
            Some(t) if t.is_handshaking() && t.error().is_none() => {
                self.closing.insert(conn);
            }
            Some(_) => {
                if let Some(t) = self.layers.get_mut(&conn) {
                    t.close();
                }
                self.flush(cx, conn);
                cx.close(conn);
            }
            None => cx.close(conn),
        }
    }

    /// Closes `conn` at once: close_notify if TLS is up, then the FIN; the
    /// connection's TLS is forgotten.
    pub fn close_now(&mut self, cx: &mut AppCx<'_>, conn: ConnId) {
        if let Some(t) = self.layers.get_mut(&conn)
            && !t.is_handshaking()
        {
            t.close();
            self.flush(cx, conn);
        }
        self.remove(conn);
        cx.close(conn);
    }

    /// Sends close_notify on `conn` now (the caller closes the TCP
    /// connection).
    pub fn close_notify(&mut self, cx: &mut AppCx<'_>, conn: ConnId) {
        if let Some(t) = self.layers.get_mut(&conn) {
            t.close();
        }
        self.flush(cx, conn);
    }

    /// Forgets `conn` (it closed).
    pub fn remove(&mut self, conn: ConnId) {
        self.layers.remove(&conn);
        self.closing.remove(&conn);
        self.unavailable.remove(&conn);
    }

    /// The TLS session's notes (the handshake's outcome, or why TLS could
    /// not start), for the trace.
    pub fn notes(&mut self, conn: ConnId) -> Vec<String> {
        if let Some(why) = self.unavailable.remove(&conn) {
            return vec![format!("TLS unavailable: {why}")];
        }
        let Some(t) = self.layers.get_mut(&conn) else {
            return Vec::new();
        };
        std::iter::from_fn(|| t.poll_note()).collect()
    }

    /// True if TLS on `conn` failed (a bad certificate, a bad record).
    pub fn failed(&self, conn: ConnId) -> bool {
        self.error(conn).is_some()
    }

    /// Why TLS on `conn` failed, if it did.
    pub fn error(&self, conn: ConnId) -> Option<String> {
        self.layers
            .get(&conn)
            .and_then(|t| t.error().map(str::to_string))
    }

    fn flush(&mut self, cx: &mut AppCx<'_>, conn: ConnId) {
        let Some(t) = self.layers.get_mut(&conn) else {
            return;
        };
        let out = t.take_output();
        if !out.is_empty() {
            cx.send(conn, out);
        }
        if self.closing.contains(&conn) && !t.is_handshaking() {
            self.closing.remove(&conn);
            t.close();
            let out = t.take_output();
            if !out.is_empty() {
                cx.send(conn, out);
            }
            cx.close(conn);
        }
    }
}
