//! The TELNET user: a person at a terminal who logs in to a server, types
//! a few shell commands and logs out, over [`crate::proto::telnet`].
//!
//! The machine decides what to type and when a prompt has come; this
//! program paces the typing: one keystroke every [`KEYSTROKE_INTERVAL`],
//! each sent on its own, so that every key is its own TCP segment (and its
//! echo another), as with a real telnet in character mode. An eavesdropper
//! on the path sees the keys go by one at a time, the password's too.
//!
//! What the server printed for each command is kept for checks and the
//! inspector; the dialogue itself is recorded by the server.

use super::events;
use crate::net::{AppCx, AppEvent, Application, ConnId, Inspect, SessionState};
use crate::proto::Session;
use crate::proto::telnet::{
    CLIENT_STATES, CLIENT_TRANSITIONS, CommandOutput, TelnetClient, TelnetClientConfig,
};
use crate::sim::SimDuration;
use crate::trace::{Protocol, Value};
use std::net::SocketAddrV4;

/// The pause before each keystroke: a quick typist.
pub const KEYSTROKE_INTERVAL: SimDuration = SimDuration::from_millis(100);

/// One session's results.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TelnetResult {
    pub server: SocketAddrV4,
    pub user: String,
    pub logged_in: bool,
    /// Each command and what it printed, in order.
    pub outputs: Vec<CommandOutput>,
    pub error: Option<String>,
    /// True once over.
    pub done: bool,
    /// True if it logged in, ran everything and logged out.
    pub succeeded: bool,
}

struct Login {
    server: SocketAddrV4,
    user: String,
    conn: Option<ConnId>,
    client: TelnetClient,
    /// A keystroke timer is pending.
    typing: bool,
    closing: bool,
    done: bool,
    error: Option<String>,
}

/// Runs scripted TELNET sessions from a client host.
#[derive(Default)]
pub struct TelnetUser {
    logins: Vec<Login>,
}

impl TelnetUser {
    pub fn new() -> TelnetUser {
        TelnetUser::default()
    }

    /// Connects to `server` (port 23) now, logs in as `config.user` and
    /// types `config.commands`, then `exit`.
    pub fn start(&mut self, cx: &mut AppCx<'_>, server: SocketAddrV4, config: TelnetClientConfig) {
        let user = config.user.clone();
        let (conn, error) = match cx.connect(server, Protocol::Telnet) {
            Ok(conn) => (Some(conn), None),
            Err(e) => (None, Some(e.to_string())),
        };
        self.logins.push(Login {
            server,
            user,
            conn,
            client: TelnetClient::new(config),
            typing: false,
            closing: false,
            done: error.is_some(),
            error,
        });
    }

    /// Every session's results, in the order they started.
    pub fn results(&self) -> Vec<TelnetResult> {
        self.logins
            .iter()
            .map(|l| TelnetResult {
                server: l.server,
                user: l.user.clone(),
                logged_in: l.client.logged_in(),
                outputs: l.client.outputs().to_vec(),
                error: l.error.clone().or(l.client.error().map(|e| e.to_string())),
                done: l.done,
                succeeded: l.done && l.error.is_none() && l.client.succeeded(),
            })
            .collect()
    }

    fn index_of(&self, conn: ConnId) -> Option<usize> {
        self.logins
            .iter()
            .position(|l| l.conn == Some(conn) && !l.done)
    }

    /// Sends what the machine answers at once (negotiation), starts the
    /// typing clock if there are keys to press, and hangs up when the
    /// machine is done.
    fn pump(&mut self, cx: &mut AppCx<'_>, index: usize) {
        let l = &mut self.logins[index];
        let Some(conn) = l.conn else { return };
        crate::apps::pump::send_output(cx, conn, &mut l.client);
        // The server records the dialogue.
        crate::apps::pump::skip_dialogue(&mut l.client);
        if l.client.is_typing() && !l.typing {
            l.typing = true;
            cx.set_timer(KEYSTROKE_INTERVAL, index as u64);
        }
        if l.client.wants_close() && !l.closing {
            l.closing = true;
            cx.close(conn);
        }
    }

    /// A keystroke timer fired: one key goes out, on its own.
    fn keystroke(&mut self, cx: &mut AppCx<'_>, index: usize) {
        let Some(l) = self.logins.get_mut(index) else {
            return;
        };
        l.typing = false;
        if l.done || l.closing {
            return;
        }
        if let (Some(conn), Some(key)) = (l.conn, l.client.poll_keystroke()) {
            cx.send(conn, key);
        }
        self.pump(cx, index);
    }

    fn finish(&mut self, cx: &mut AppCx<'_>, index: usize, error: Option<String>) {
        let l = &mut self.logins[index];
        l.client.handle_close();
        if let Some(e) = error {
            l.error.get_or_insert(e);
        }
        l.done = true;
        if l.typing {
            l.typing = false;
            cx.cancel_timer(index as u64);
        }
        let error = l.error.clone().or(l.client.error().map(|e| e.to_string()));
        let mut fields = vec![
            ("server", Value::from(l.server.to_string())),
            ("user", l.user.clone().into()),
            ("logged_in", l.client.logged_in().into()),
            ("commands", l.client.outputs().len().into()),
            (
                "succeeded",
                (error.is_none() && l.client.succeeded()).into(),
            ),
        ];
        if let Some(e) = error {
            fields.push(("error", e.into()));
        }
        cx.emit(&events::TELNET_DONE, fields);
    }
}

impl Application for TelnetUser {
    fn kind(&self) -> &'static str {
        "TELNET client"
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
                    self.logins[i].client.handle_input(&data);
                    self.pump(cx, i);
                }
            }
            AppEvent::Timer { token } => self.keystroke(cx, token as usize),
            AppEvent::PeerClosed { conn } => {
                if let Some(i) = self.index_of(conn) {
                    let l = &mut self.logins[i];
                    if !l.closing {
                        l.closing = true;
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
                for l in &mut self.logins {
                    l.typing = false;
                    if !l.done {
                        l.done = true;
                        l.error.get_or_insert("host crashed".to_string());
                    }
                }
            }
            _ => {}
        }
    }

    fn inspect(&self) -> Option<Inspect> {
        let logins = self
            .results()
            .into_iter()
            .map(|r| {
                let mut children: Vec<Inspect> = r
                    .outputs
                    .iter()
                    .map(|o| {
                        let lines = o.output.lines().count();
                        Inspect::leaf(format!("$ {}  ({lines} lines of output)", o.command))
                    })
                    .collect();
                if let Some(e) = &r.error {
                    children.push(Inspect::leaf(format!("error: {e}")));
                }
                let state = match (r.done, r.succeeded, r.logged_in) {
                    (false, _, false) => "logging in",
                    (false, _, true) => "logged in",
                    (true, true, _) => "done",
                    (true, false, _) => "failed",
                };
                Inspect::node(format!("{}@{} ({state})", r.user, r.server), children)
            })
            .collect();
        Some(Inspect::node("TELNET sessions", logins))
    }

    fn sessions(&self) -> Vec<SessionState> {
        self.logins
            .iter()
            .filter(|l| !l.done)
            .filter_map(|l| {
                Some(SessionState {
                    conn: l.conn?,
                    layer: "telnet",
                    role: "client",
                    state: l.client.state_name(),
                    states: CLIENT_STATES,
                    transitions: CLIENT_TRANSITIONS,
                })
            })
            .collect()
    }
}
