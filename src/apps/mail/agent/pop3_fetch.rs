//! The user agent's POP3 side (RFC 1939): download the mailbox, deleting
//! it on the server or leaving it there and remembering the unique ids
//! already seen (UIDL), so that the next fetch skips them.
//!
//! Not here: the connection and its TLS (the parent module), IMAP and
//! submission (`imap_session`, `submit`).

use super::{AgentError, FetchedMessage, Job, UserAgent, connect, events, fetch_failed, show};
use crate::net::AppCx;
use crate::proto::pop3::{Pop3Client, Pop3ClientConfig, RetrievalMode};
use crate::trace::Protocol;

impl UserAgent {
    /// Fetches the account's mail with POP3; with `delete` the server
    /// removes what was downloaded, otherwise only new messages are
    /// downloaded and everything stays on the server.
    pub fn fetch_pop3(
        &mut self,
        cx: &mut AppCx<'_>,
        account: &str,
        delete: bool,
    ) -> Result<(), AgentError> {
        let account = self.owned_account(account)?;
        let mode = if delete {
            RetrievalMode::DownloadAndDelete
        } else {
            let seen = self.seen.get(&account.address).cloned().unwrap_or_default();
            RetrievalMode::LeaveOnServer { seen }
        };
        cx.emit(
            &events::CHECK_MAIL,
            vec![
                ("account", account.address.as_str().into()),
                ("protocol", "POP3".into()),
                (
                    "mode",
                    if delete {
                        "download-and-delete"
                    } else {
                        "leave-on-server"
                    }
                    .into(),
                ),
                ("server", account.server.as_str().into()),
            ],
        );
        let conn = match connect(cx, &account, account.pop3_port, Protocol::Pop3) {
            Ok(conn) => conn,
            Err(e) => {
                fetch_failed(cx, &account.address, &e.to_string());
                return Err(e);
            }
        };
        let config = Pop3ClientConfig {
            user: account.login.clone(),
            password: account.password.clone(),
            mode,
            stls: self.tls_client.is_some(),
        };
        self.servers.insert(conn, account.server.clone());
        self.jobs.insert(
            conn,
            Job::Fetch {
                client: Pop3Client::new(config),
                account: account.address.clone(),
            },
        );
        Ok(())
    }

    /// Keeps and shows what a POP3 session fetched; `error` overrides the
    /// session's own account of a failure.
    pub(super) fn fetch_over(
        &mut self,
        cx: &mut AppCx<'_>,
        account: &str,
        client: &mut Pop3Client,
        error: Option<&str>,
    ) {
        let messages = client.take_messages();
        let count = messages.len();
        for m in messages {
            if let Some(uid) = &m.uid {
                self.seen
                    .entry(account.to_string())
                    .or_default()
                    .insert(uid.clone());
            }
            let fetched = FetchedMessage {
                account: account.to_string(),
                uid: m.uid,
                data: m.data,
                fetched_at: cx.now(),
            };
            show(cx, &fetched);
            self.fetched.push(fetched);
        }
        let error = error
            .map(str::to_string)
            .or_else(|| client.error().map(ToString::to_string));
        match error {
            Some(e) => fetch_failed(cx, account, &e),
            None => cx.emit(
                &events::FETCH_DONE,
                vec![("account", account.into()), ("messages", count.into())],
            ),
        }
    }
}
