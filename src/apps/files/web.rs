//! The web client: `GET`s a list of paths over one persistent HTTP/1.1
//! connection, for comparison with FTP. One TCP connection carries every
//! request and response; there is no login and no session state on the
//! server between requests.
//!
//! It only sends `GET`, waits for each response before the next request,
//! follows no redirects and keeps the bodies of 200 responses in memory.

use super::Download;
use super::events;
use crate::apps::tls::TlsConns;
use crate::net::{AppCx, AppEvent, Application, ConnId, Inspect, SessionState};
use crate::proto::Session;
use crate::proto::http::{CLIENT_STATES, CLIENT_TRANSITIONS, ClientRequest, HttpClient};
use crate::trace::{Protocol, Value};
use std::net::SocketAddrV4;
use std::sync::Arc;

/// One fetch's results.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebResult {
    pub server: SocketAddrV4,
    /// `(path, status)` of each response, in order.
    pub statuses: Vec<(String, u16)>,
    /// The bodies of the 200 responses.
    pub downloads: Vec<Download>,
    pub error: Option<String>,
    pub done: bool,
}

struct Fetch {
    server: SocketAddrV4,
    conn: Option<ConnId>,
    client: HttpClient,
    closing: bool,
    /// The machine was told the connection ended (it must be told once).
    told_close: bool,
    done: bool,
    error: Option<String>,
    reported: usize,
    downloads: Vec<Download>,
    /// HTTPS: the CA to trust and the name the certificate must have.
    tls: Option<(Arc<rustls::ClientConfig>, String)>,
}

/// Fetches files over HTTP from a client host.
#[derive(Default)]
pub struct WebClient {
    fetches: Vec<Fetch>,
    /// HTTPS connections' TLS.
    tls: TlsConns,
}

impl WebClient {
    pub fn new() -> WebClient {
        WebClient::default()
    }

    /// Connects to `server` now and `GET`s `paths` one after the other on
    /// that connection. `host` is the `Host` field's value.
    pub fn start(
        &mut self,
        cx: &mut AppCx<'_>,
        server: SocketAddrV4,
        host: &str,
        paths: &[String],
    ) {
        self.start_secure(cx, server, host, paths, None);
    }

    /// [`start`](Self::start) over TLS (HTTPS) when `tls` gives the CA to
    /// trust: the certificate must be for `host`.
    pub fn start_secure(
        &mut self,
        cx: &mut AppCx<'_>,
        server: SocketAddrV4,
        host: &str,
        paths: &[String],
        tls: Option<Arc<rustls::ClientConfig>>,
    ) {
        let requests = paths.iter().map(|p| ClientRequest::get(p)).collect();
        let (conn, error) = match cx.connect(server, Protocol::Http) {
            Ok(conn) => (Some(conn), None),
            Err(e) => (None, Some(e.to_string())),
        };
        self.fetches.push(Fetch {
            server,
            conn,
            client: HttpClient::new(host, requests),
            closing: false,
            told_close: false,
            done: error.is_some(),
            error,
            reported: 0,
            downloads: Vec::new(),
            tls: tls.map(|config| (config, host.to_string())),
        });
    }

    /// Every fetch's results, in the order they started.
    pub fn results(&self) -> Vec<WebResult> {
        self.fetches
            .iter()
            .map(|f| WebResult {
                server: f.server,
                statuses: f
                    .client
                    .responses()
                    .iter()
                    .map(|r| (r.request.path.clone(), r.status))
                    .collect(),
                downloads: f.downloads.clone(),
                error: f.error.clone().or(f.client.error().map(str::to_string)),
                done: f.done,
            })
            .collect()
    }

    /// Every body received with status 200, in order.
    pub fn downloads(&self) -> Vec<&Download> {
        self.fetches.iter().flat_map(|f| &f.downloads).collect()
    }

    fn index_of(&self, conn: ConnId) -> Option<usize> {
        self.fetches
            .iter()
            .position(|f| f.conn == Some(conn) && !f.done)
    }

    fn pump(&mut self, cx: &mut AppCx<'_>, index: usize) {
        let f = &mut self.fetches[index];
        let Some(conn) = f.conn else { return };
        self.tls.send_output(cx, conn, &mut f.client);
        // The server records the dialogue.
        crate::apps::pump::skip_dialogue(&mut f.client);
        let responses = f.client.responses();
        for r in &responses[f.reported..] {
            if r.status == crate::proto::http::OK && r.request.method == "GET" {
                let d = Download::new("http", &r.request.path, r.body.clone());
                d.trace(cx);
                f.downloads.push(d);
            } else {
                cx.emit(
                    &events::HTTP_FAILED,
                    vec![
                        ("path", r.request.path.clone().into()),
                        ("status", r.status.into()),
                    ],
                );
            }
        }
        f.reported = responses.len();
        if f.client.wants_close() && !f.closing {
            f.closing = true;
            self.tls.close_now(cx, conn);
        }
    }

    fn finish(&mut self, cx: &mut AppCx<'_>, index: usize, error: Option<String>) {
        let f = &mut self.fetches[index];
        if !std::mem::replace(&mut f.told_close, true) {
            f.client.handle_close();
        }
        if let Some(e) = error {
            f.error.get_or_insert(e);
        }
        self.pump(cx, index);
        let f = &mut self.fetches[index];
        f.done = true;
        let mut fields = vec![
            ("server", Value::from(f.server.to_string())),
            ("responses", f.client.responses().len().into()),
            ("downloads", f.downloads.len().into()),
        ];
        if let Some(e) = f.error.as_deref().or(f.client.error()) {
            fields.push(("error", e.into()));
        }
        cx.emit(&events::HTTP_DONE, fields);
    }
}

impl Application for WebClient {
    fn kind(&self) -> &'static str {
        "web client"
    }

    fn handle_event(&mut self, cx: &mut AppCx<'_>, event: AppEvent) {
        match event {
            AppEvent::Connected { conn } => {
                if let Some(i) = self.index_of(conn) {
                    if let Some((config, name)) = self.fetches[i].tls.clone() {
                        self.tls.start_client(cx, conn, config, &name);
                    }
                    self.pump(cx, i);
                }
            }
            AppEvent::Data { conn, data } => {
                let data = self.tls.receive(cx, conn, data);
                if let Some(i) = self.index_of(conn) {
                    self.fetches[i].client.handle_input(&data);
                    self.pump(cx, i);
                }
            }
            AppEvent::PeerClosed { conn } => {
                if let Some(i) = self.index_of(conn) {
                    let f = &mut self.fetches[i];
                    if !std::mem::replace(&mut f.told_close, true) {
                        f.client.handle_close();
                    }
                    if !f.closing {
                        f.closing = true;
                        cx.close(conn);
                    }
                    self.pump(cx, i);
                }
            }
            AppEvent::Closed { conn, error } => {
                self.tls.remove(conn);
                if let Some(i) = self.index_of(conn) {
                    self.finish(cx, i, error.map(|e| e.name().to_string()));
                }
            }
            AppEvent::Crashed => {
                for f in &mut self.fetches {
                    if !f.done {
                        f.done = true;
                        f.error.get_or_insert("host crashed".to_string());
                    }
                }
            }
            _ => {}
        }
    }

    fn inspect(&self) -> Option<Inspect> {
        let fetches = self
            .results()
            .into_iter()
            .map(|r| {
                let mut children: Vec<Inspect> = r
                    .statuses
                    .iter()
                    .map(|(path, status)| Inspect::leaf(format!("GET {path} -> {status}")))
                    .collect();
                if let Some(e) = &r.error {
                    children.push(Inspect::leaf(format!("error: {e}")));
                }
                let state = if r.done { "done" } else { "running" };
                Inspect::node(format!("http://{} ({state})", r.server), children)
            })
            .collect();
        Some(Inspect::node("HTTP fetches", fetches))
    }

    fn sessions(&self) -> Vec<SessionState> {
        self.fetches
            .iter()
            .filter(|f| !f.done)
            .filter_map(|f| {
                Some(SessionState {
                    conn: f.conn?,
                    layer: "http",
                    role: "client",
                    state: f.client.state_name(),
                    states: CLIENT_STATES,
                    transitions: CLIENT_TRANSITIONS,
                })
            })
            .collect()
    }
}
