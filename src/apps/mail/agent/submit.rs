//! The user agent's sending side: compose an RFC 5322 message and submit it
//! to the account's server on port 587 with AUTH PLAIN (RFC 6409), then
//! note what the server answered.
//!
//! Not here: relaying (the mail server's queue does it), the connection
//! and its TLS (the parent module), fetching (`pop3_fetch`, `imap_session`).

use super::{AgentError, Job, SendStatus, SentMessage, UserAgent, connect, events};
use crate::net::AppCx;
use crate::proto::smtp::message::{NewMessage, addr_spec, message_id};
use crate::proto::smtp::{
    self, Credentials, MessageOutcome, OutgoingMessage, SessionOutcome, SmtpClient,
    SmtpClientConfig,
};
use crate::trace::{Protocol, Value};

impl UserAgent {
    /// Composes a message from the account `from` and submits it to that
    /// account's server. Returns its index in [`sent`](Self::sent).
    pub fn send(
        &mut self,
        cx: &mut AppCx<'_>,
        from: &str,
        to: &[String],
        cc: &[String],
        subject: &str,
        text: &str,
    ) -> Result<usize, AgentError> {
        let account = self.owned_account(from)?;
        if to.is_empty() && cc.is_empty() {
            return Err(AgentError::NoRecipients);
        }
        self.composed += 1;
        let domain = account.address.rsplit('@').next().unwrap_or_default();
        let unique = format!(
            "{}.{}.{}",
            cx.now().as_micros(),
            self.composed,
            cx.host_name()
        );
        let message = NewMessage {
            from: account.address.clone(),
            to: to.to_vec(),
            cc: cc.to_vec(),
            subject: subject.to_string(),
            date_unix: cx.now_unix(),
            message_id: message_id(&unique, domain),
            body: text.to_string(),
        };
        let data = message.to_bytes();
        let recipients: Vec<String> = to
            .iter()
            .chain(cc)
            .map(|a| addr_spec(a).to_string())
            .collect();
        cx.emit(
            &events::COMPOSE,
            vec![
                ("from", account.address.as_str().into()),
                ("to", recipients.join(",").into()),
                ("subject", subject.into()),
                ("server", account.server.as_str().into()),
            ],
        );
        let index = self.sent.len();
        self.sent.push(SentMessage {
            from: account.address.clone(),
            recipients: recipients.clone(),
            subject: subject.to_string(),
            data: data.clone(),
            status: SendStatus::Sending,
        });
        let conn = match connect(cx, &account, account.submission_port, Protocol::Smtp) {
            Ok(conn) => conn,
            Err(e) => {
                self.submission_over(cx, index, Err(e.to_string()));
                return Err(e);
            }
        };
        self.servers.insert(conn, account.server.clone());
        let config = SmtpClientConfig {
            ehlo_name: cx.host_name().to_string(),
            credentials: Some(Credentials {
                username: account.login.clone(),
                password: account.password.clone(),
            }),
            starttls: self.tls_client.is_some(),
        };
        let outgoing = OutgoingMessage {
            reverse_path: addr_spec(&account.address).to_string(),
            recipients,
            data,
        };
        self.jobs.insert(
            conn,
            Job::Submit {
                client: SmtpClient::new(config, vec![outgoing]),
                message: index,
            },
        );
        Ok(index)
    }

    pub(super) fn submission_over(
        &mut self,
        cx: &mut AppCx<'_>,
        index: usize,
        result: Result<String, String>,
    ) {
        let Some(m) = self.sent.get_mut(index) else {
            return;
        };
        let mut fields = vec![
            ("from", Value::from(m.from.as_str())),
            ("to", m.recipients.join(",").into()),
            ("subject", m.subject.as_str().into()),
        ];
        let event = match result {
            Ok(reply) => {
                fields.push(("reply", reply.as_str().into()));
                m.status = SendStatus::Submitted(reply);
                &events::SUBMITTED
            }
            Err(error) => {
                fields.push(("error", error.as_str().into()));
                m.status = SendStatus::Failed(error);
                &events::SUBMIT_FAILED
            }
        };
        cx.emit(event, fields);
    }
}

/// What the submission session came to: the 250 reply, or why not.
pub(super) fn submission_result(client: &SmtpClient) -> Result<String, String> {
    let Some(report) = client.reports().first() else {
        return Err("nothing was sent".into());
    };
    let reply = |r: &smtp::Reply| format!("{} {}", r.code, r.lines.join(" "));
    match report.outcome() {
        MessageOutcome::Delivered | MessageOutcome::PartiallyDelivered => {
            Ok(report.final_reply.as_ref().map(reply).unwrap_or_default())
        }
        _ => {
            let refusal = report.recipients.iter().find_map(|r| match &r.status {
                smtp::RecipientStatus::PermFailed(x) | smtp::RecipientStatus::TempFailed(x) => {
                    Some(reply(x))
                }
                _ => None,
            });
            match (refusal, client.outcome()) {
                (Some(r), _) => Err(r),
                (None, SessionOutcome::Failed(r)) => Err(reply(r)),
                (None, _) => Err("the server did not accept the message".into()),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::Session;

    fn client(to: &str) -> SmtpClient {
        let config = SmtpClientConfig {
            ehlo_name: "alice-pc".into(),
            credentials: None,
            starttls: false,
        };
        let outgoing = OutgoingMessage {
            reverse_path: "alice@crepes.fr".into(),
            recipients: vec![to.into()],
            data: b"Subject: hi\r\n\r\nhello\r\n".to_vec(),
        };
        SmtpClient::new(config, vec![outgoing])
    }

    /// Plays the server's side: each reply in turn, after the client spoke.
    fn serve(c: &mut SmtpClient, replies: &[&str]) {
        for r in replies {
            c.handle_input(format!("{r}\r\n").as_bytes());
            while c.poll_output().is_some() {}
        }
    }

    #[test]
    fn the_250_after_the_data_is_the_submission_result() {
        let mut c = client("bob@hamburger.edu");
        serve(
            &mut c,
            &[
                "220 mail.crepes.fr ESMTP",
                "250 mail.crepes.fr",
                "250 2.1.0 ok",
                "250 2.1.5 ok",
                "354 go ahead",
                "250 2.0.0 queued as 7",
            ],
        );
        assert_eq!(submission_result(&c), Ok("250 2.0.0 queued as 7".into()));
    }

    #[test]
    fn a_refused_recipient_is_why_the_submission_failed() {
        let mut c = client("nobody@hamburger.edu");
        serve(
            &mut c,
            &[
                "220 mail.crepes.fr ESMTP",
                "250 mail.crepes.fr",
                "250 2.1.0 ok",
                "550 5.1.1 no such user",
            ],
        );
        assert_eq!(submission_result(&c), Err("550 5.1.1 no such user".into()));
    }

    #[test]
    fn a_session_that_sent_nothing_has_no_result() {
        let config = SmtpClientConfig {
            ehlo_name: "alice-pc".into(),
            credentials: None,
            starttls: false,
        };
        let c = SmtpClient::new(config, Vec::new());
        assert_eq!(submission_result(&c), Err("nothing was sent".into()));
    }
}
