//! The SCP user: one `scp` upload or download per job, over the encrypted
//! channel of [`crate::proto::scp`]. The ephemeral key comes from the run's
//! random numbers, never from the operating system, so runs repeat.
//!
//! Downloads are kept in memory (a client host has no file system here).
//! Every copy trusts the host key the server shows, as `ssh` does on first
//! contact: there is no `known_hosts` between copies.

use super::Download;
use super::events;
use crate::net::{AppCx, AppEvent, Application, ConnId, Inspect, SessionState};
use crate::proto::Session;
use crate::proto::scp::{
    CLIENT_STATES, CLIENT_TRANSITIONS, ScpClient, ScpClientConfig, ScpOperation,
};
use crate::trace::{Protocol, Value};
use std::net::SocketAddrV4;

/// One copy's results.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScpResult {
    pub server: SocketAddrV4,
    pub user: String,
    /// `scp -t PATH` (upload) or `scp -f PATH` (download).
    pub command: String,
    /// Files received (downloads).
    pub downloads: Vec<Download>,
    pub exit_status: Option<u32>,
    pub error: Option<String>,
    /// True once over.
    pub done: bool,
    /// True if everything was copied.
    pub succeeded: bool,
}

struct Copy {
    server: SocketAddrV4,
    user: String,
    command: String,
    conn: Option<ConnId>,
    client: ScpClient,
    closing: bool,
    done: bool,
    error: Option<String>,
    downloads: Vec<Download>,
}

/// Copies files with SCP from a client host.
#[derive(Default)]
pub struct ScpUser {
    copies: Vec<Copy>,
}

impl ScpUser {
    pub fn new() -> ScpUser {
        ScpUser::default()
    }

    /// Connects to `server` (port 22) now and performs `operation` as
    /// `user` with `password`.
    pub fn start(
        &mut self,
        cx: &mut AppCx<'_>,
        server: SocketAddrV4,
        user: &str,
        password: &str,
        operation: ScpOperation,
    ) {
        let command = operation.command().to_command_line();
        let config = ScpClientConfig::new(user, password, operation, cx.rng());
        let (conn, error) = match cx.connect(server, Protocol::Scp) {
            Ok(conn) => (Some(conn), None),
            Err(e) => (None, Some(e.to_string())),
        };
        self.copies.push(Copy {
            server,
            user: user.to_string(),
            command,
            conn,
            client: ScpClient::new(config),
            closing: false,
            done: error.is_some(),
            error,
            downloads: Vec::new(),
        });
    }

    /// Every copy's results, in the order they started.
    pub fn results(&self) -> Vec<ScpResult> {
        self.copies
            .iter()
            .map(|c| ScpResult {
                server: c.server,
                user: c.user.clone(),
                command: c.command.clone(),
                downloads: c.downloads.clone(),
                exit_status: c.client.exit_status(),
                error: c.error.clone().or(c.client.error().map(str::to_string)),
                done: c.done,
                succeeded: c.done && c.error.is_none() && c.client.succeeded(),
            })
            .collect()
    }

    /// Every file downloaded, in order.
    pub fn downloads(&self) -> Vec<&Download> {
        self.copies.iter().flat_map(|c| &c.downloads).collect()
    }

    fn index_of(&self, conn: ConnId) -> Option<usize> {
        self.copies
            .iter()
            .position(|c| c.conn == Some(conn) && !c.done)
    }

    fn pump(&mut self, cx: &mut AppCx<'_>, index: usize) {
        let c = &mut self.copies[index];
        let Some(conn) = c.conn else { return };
        crate::apps::pump::send_output(cx, conn, &mut c.client);
        // The server records the dialogue.
        crate::apps::pump::skip_dialogue(&mut c.client);
        if c.client.wants_close() && !c.closing {
            c.closing = true;
            cx.close(conn);
        }
    }

    fn finish(&mut self, cx: &mut AppCx<'_>, index: usize, error: Option<String>) {
        let c = &mut self.copies[index];
        c.client.handle_close();
        if let Some(e) = error {
            c.error.get_or_insert(e);
        }
        c.done = true;
        for file in c.client.received() {
            let d = Download::new("scp", &file.path, file.data.clone());
            d.trace(cx);
            c.downloads.push(d);
        }
        let mut fields = vec![
            ("server", Value::from(c.server.to_string())),
            ("command", c.command.clone().into()),
            (
                "succeeded",
                (c.error.is_none() && c.client.succeeded()).into(),
            ),
        ];
        if let Some(status) = c.client.exit_status() {
            fields.push(("exit_status", status.into()));
        }
        if let Some(e) = c.error.as_deref().or(c.client.error()) {
            fields.push(("error", e.into()));
        }
        cx.emit(&events::SCP_DONE, fields);
    }
}

impl Application for ScpUser {
    fn kind(&self) -> &'static str {
        "SCP client"
    }

    fn handle_event(&mut self, cx: &mut AppCx<'_>, event: AppEvent) {
        match event {
            AppEvent::Connected { conn } => {
                if let Some(i) = self.index_of(conn) {
                    self.pump(cx, i);
                }
            }
            AppEvent::Data { conn, data } => {
                if let Some(i) = self.index_of(conn) {
                    self.copies[i].client.handle_input(&data);
                    self.pump(cx, i);
                }
            }
            AppEvent::PeerClosed { conn } => {
                if let Some(i) = self.index_of(conn) {
                    let c = &mut self.copies[i];
                    if !c.closing {
                        c.closing = true;
                        cx.close(conn);
                    }
                }
            }
            AppEvent::Closed { conn, error } => {
                if let Some(i) = self.index_of(conn) {
                    self.finish(cx, i, error.map(|e| e.name().to_string()));
                }
            }
            AppEvent::Crashed => {
                for c in &mut self.copies {
                    if !c.done {
                        c.done = true;
                        c.error.get_or_insert("host crashed".to_string());
                    }
                }
            }
            _ => {}
        }
    }

    fn inspect(&self) -> Option<Inspect> {
        let copies = self
            .results()
            .into_iter()
            .map(|r| {
                let mut children: Vec<Inspect> = r
                    .downloads
                    .iter()
                    .map(|d| {
                        Inspect::leaf(format!(
                            "received {}: {} bytes, sha256 {}",
                            d.name,
                            d.data.len(),
                            &d.sha256[..16]
                        ))
                    })
                    .collect();
                if let Some(e) = &r.error {
                    children.push(Inspect::leaf(format!("error: {e}")));
                }
                let state = match (r.done, r.succeeded) {
                    (false, _) => "running",
                    (true, true) => "done",
                    (true, false) => "failed",
                };
                Inspect::node(
                    format!("{}@{}: {} ({state})", r.user, r.server, r.command),
                    children,
                )
            })
            .collect();
        Some(Inspect::node("SCP copies", copies))
    }

    fn sessions(&self) -> Vec<SessionState> {
        self.copies
            .iter()
            .filter(|c| !c.done)
            .filter_map(|c| {
                Some(SessionState {
                    conn: c.conn?,
                    layer: "scp",
                    role: "client",
                    state: c.client.state_name(),
                    states: CLIENT_STATES,
                    transitions: CLIENT_TRANSITIONS,
                })
            })
            .collect()
    }
}
