//! What the file server shows the inspector and the visualizer: the tree
//! of its services, accounts, files and sessions, and the state of each
//! connection's machine.

use super::FileServer;
use crate::apps::vfs::VPath;
use crate::net::{Inspect, SessionState};
use crate::proto::Session;
use crate::proto::ftp::{self, TransferType};
use crate::proto::http;
use crate::proto::scp;
use crate::proto::telnet;

impl FileServer {
    /// The server as the inspector shows it: its services, each user's
    /// files and quota, the FTP sessions and data connections, and the
    /// other connections open.
    pub(super) fn inspect_tree(&self) -> Inspect {
        let mut services = Vec::new();
        for (on, name) in [
            (self.config.ftp, "FTP"),
            (self.config.http, "HTTP"),
            (self.config.scp, "SCP"),
            (self.config.telnet, "TELNET"),
        ] {
            if on {
                services.push(name);
            }
        }
        let files = self.vfs.files();
        let mut homes: Vec<VPath> = Vec::new();
        let mut users = Vec::new();
        for (name, account) in self.vfs.accounts() {
            homes.push(account.home.clone());
            let mut label = format!("{name}: home {}", account.home);
            let used = self.vfs.usage(name).unwrap_or(0);
            match account.quota {
                Some(q) => label.push_str(&format!(", {used} of {q} bytes used")),
                None => label.push_str(&format!(", {used} bytes")),
            }
            if account.read_only {
                label.push_str(", read-only");
            }
            let mine = files
                .iter()
                .filter(|(p, _)| p.starts_with(&account.home))
                .map(|(p, size)| {
                    let shown = &p.components()[account.home.components().len()..];
                    Inspect::leaf(format!("/{}  {size} bytes", shown.join("/")))
                })
                .collect();
            users.push(Inspect::node(label, mine));
        }
        let mut children = vec![Inspect::node(format!("Users ({})", users.len()), users)];
        let others: Vec<Inspect> = files
            .iter()
            .filter(|(p, _)| !homes.iter().any(|h| p.starts_with(h)))
            .map(|(p, size)| Inspect::leaf(format!("{p}  {size} bytes")))
            .collect();
        if !others.is_empty() {
            children.push(Inspect::node("Other files", others));
        }
        if self.config.ftp {
            let sessions: Vec<Inspect> = self
                .ftp_sessions()
                .iter()
                .map(|s| {
                    let t = match s.transfer_type {
                        TransferType::Ascii => "A",
                        TransferType::Image => "I",
                    };
                    let mut label = format!(
                        "{}: user {}, cwd {}, TYPE {t}, {}",
                        s.client,
                        s.user.as_deref().unwrap_or("(not logged in)"),
                        s.cwd,
                        s.state
                    );
                    if let Some(d) = s.data {
                        label.push_str(&format!("; data connection {d}"));
                    }
                    Inspect::leaf(label)
                })
                .collect();
            children.push(Inspect::node(
                format!(
                    "FTP sessions ({} open, {} served)",
                    sessions.len(),
                    self.ftp_sessions_served
                ),
                sessions,
            ));
            let log: Vec<Inspect> = self
                .shared
                .log
                .iter()
                .map(|d| {
                    Inspect::leaf(format!(
                        "opened by the {} (server port {}) with {}: {} bytes sent, {} received",
                        d.opened_by, d.server_port, d.client, d.sent, d.received
                    ))
                })
                .collect();
            children.push(Inspect::node(
                format!("FTP data connections so far ({})", log.len()),
                log,
            ));
        }
        if self.config.http {
            children.push(Inspect::leaf(format!(
                "HTTP connections open: {}",
                self.http.len()
            )));
        }
        if self.config.scp {
            let fp = self
                .host_public_key()
                .map_or("(not started)".to_string(), |k| {
                    crate::proto::ssh::fingerprint(&k)
                });
            children.push(Inspect::leaf(format!(
                "SCP connections open: {}; host key {fp}",
                self.scp.len()
            )));
        }
        if self.config.telnet {
            let sessions: Vec<Inspect> = self
                .telnet
                .values()
                .map(|c| {
                    Inspect::leaf(format!(
                        "{}: user {}, cwd {}, {}",
                        c.client,
                        c.server.user().unwrap_or("(not logged in)"),
                        c.server.cwd(),
                        c.server.state_name()
                    ))
                })
                .collect();
            children.push(Inspect::node(
                format!("TELNET sessions ({} open)", sessions.len()),
                sessions,
            ));
        }
        Inspect::node(format!("File server ({})", services.join(", ")), children)
    }

    /// Each connection's machine state, for the visualizer's state
    /// diagrams.
    pub(super) fn session_states(&self) -> Vec<SessionState> {
        let mut out = Vec::new();
        for (&conn, s) in &self.ftp {
            out.push(SessionState {
                conn,
                layer: "ftp",
                role: "server",
                state: s.server.state_name(),
                states: ftp::STATES,
                transitions: ftp::TRANSITIONS,
            });
            if let (Some(data), Some(state)) = (s.side.data.conn(), s.side.data.state_name()) {
                out.push(SessionState {
                    conn: data,
                    layer: "ftp",
                    role: "server",
                    state,
                    states: super::super::DATA_STATES,
                    transitions: super::super::DATA_TRANSITIONS,
                });
            }
        }
        for (&conn, c) in &self.http {
            out.push(SessionState {
                conn,
                layer: "http",
                role: "server",
                state: c.server.state_name(),
                states: http::STATES,
                transitions: http::TRANSITIONS,
            });
        }
        for (&conn, c) in &self.scp {
            out.push(SessionState {
                conn,
                layer: "scp",
                role: "server",
                state: c.server.state_name(),
                states: scp::STATES,
                transitions: scp::TRANSITIONS,
            });
        }
        for (&conn, c) in &self.telnet {
            out.push(SessionState {
                conn,
                layer: "telnet",
                role: "server",
                state: c.server.state_name(),
                states: telnet::STATES,
                transitions: telnet::TRANSITIONS,
            });
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::super::FileServerConfig;
    use super::*;
    use crate::apps::vfs::{Account, Vfs};

    #[test]
    fn a_fresh_server_shows_its_users_and_services() {
        let mut vfs = Vfs::new();
        vfs.add_user(
            "alice",
            Account::new("pw", VPath::parse("/alice").unwrap()),
            0,
        )
        .unwrap();
        vfs.create_text_file(&VPath::parse("/alice/a.txt").unwrap(), "abc", 0)
            .unwrap();
        vfs.create_text_file(&VPath::parse("/pub/b.txt").unwrap(), "b", 0)
            .unwrap();
        let config = FileServerConfig {
            http: true,
            ..FileServerConfig::default()
        };
        let server = FileServer::new(vfs, config);
        let tree = server.inspect_tree();
        assert_eq!(tree.label, "File server (FTP, HTTP)");
        let labels: Vec<&str> = tree.children.iter().map(|c| c.label.as_str()).collect();
        assert_eq!(
            labels,
            vec![
                "Users (1)",
                "Other files",
                "FTP sessions (0 open, 0 served)",
                "FTP data connections so far (0)",
                "HTTP connections open: 0",
            ]
        );
        assert_eq!(
            tree.children[0].children[0].label,
            "alice: home /alice, 3 bytes"
        );
        assert_eq!(
            tree.children[0].children[0].children[0].label,
            "/a.txt  3 bytes"
        );
        assert!(server.session_states().is_empty());
    }
}
