//! Delivery status notifications: the "bounce" a mail server sends back
//! when it cannot deliver a message it accepted.
//!
//! RFC 5321 §6.1: once a server has answered 250 to the end of the data it
//! must deliver the message or report the failure to the reverse path. The
//! report is itself a message, sent with the null reverse path `<>` so
//! that a report about a report is never sent (a loop). Its format is a
//! `multipart/report` (RFC 6522) with three parts, as RFC 3464 describes:
//!
//! 1. a text for people: what failed and what the remote server said;
//! 2. `message/delivery-status`: the same facts, one field per line, for
//!    programs (Reporting-MTA, Final-Recipient, Action, Status, ...);
//! 3. `text/rfc822-headers`: the header of the original message, so the
//!    sender recognizes it.

use crate::proto::date;
use crate::proto::smtp::message::split_message;

/// The Subject every bounce gets (the words Postfix uses).
pub const BOUNCE_SUBJECT: &str = "Undelivered Mail Returned to Sender";

/// One recipient the message could not be delivered to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailedRecipient {
    pub address: String,
    /// RFC 3463 status code, e.g. `5.1.1` (bad mailbox) or `4.4.7`
    /// (delivery time expired).
    pub status: String,
    /// The mail exchanger that refused it, if one was reached.
    pub remote_mta: Option<String>,
    /// What went wrong, for people: the remote reply (`550 5.1.1 <bobby@..>:
    /// Recipient address rejected: User unknown`) or a local reason.
    pub diagnostic: String,
}

/// Everything a bounce needs to say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bounce<'a> {
    /// This server's name.
    pub reporting_mta: &'a str,
    /// Where the report goes: the original reverse path.
    pub to: &'a str,
    pub failed: &'a [FailedRecipient],
    /// The original message (only its header section is returned).
    pub original: &'a [u8],
    /// When the original arrived, and now, in Unix seconds.
    pub arrival_unix: i64,
    pub now_unix: i64,
    /// Unique text for the Message-ID and the MIME boundary.
    pub unique: &'a str,
}

/// RFC 3463: the status code at the start of an SMTP reply text
/// (`5.1.1 <bob@..>: ...`), or one derived from the reply code's class.
pub fn status_from_reply(code: u16, text: &str) -> String {
    let first = text.split_whitespace().next().unwrap_or_default();
    let parts: Vec<&str> = first.split('.').collect();
    let looks_enhanced = parts.len() == 3
        && matches!(parts[0], "2" | "4" | "5")
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.len() <= 3 && p.bytes().all(|b| b.is_ascii_digit()));
    if looks_enhanced {
        first.to_string()
    } else if code >= 500 {
        "5.0.0".into()
    } else {
        "4.0.0".into()
    }
}

impl Bounce<'_> {
    /// The report as a message, lines ending in CRLF.
    pub fn to_bytes(&self) -> Vec<u8> {
        let boundary = format!("=_wiretale_bounce_{}", self.unique);
        let mut out = String::new();
        let mut line = |s: &str| {
            out.push_str(s);
            out.push_str("\r\n");
        };
        line(&format!("Date: {}", date::rfc5322(self.now_unix)));
        line(&format!(
            "From: Mail Delivery System <MAILER-DAEMON@{}>",
            self.reporting_mta
        ));
        line(&format!("To: {}", self.to));
        line(&format!("Subject: {BOUNCE_SUBJECT}"));
        line(&format!(
            "Message-ID: <{}.bounce@{}>",
            self.unique, self.reporting_mta
        ));
        // RFC 3834 §5: generated automatically; do not answer it.
        line("Auto-Submitted: auto-replied");
        line("MIME-Version: 1.0");
        line(&format!(
            "Content-Type: multipart/report; report-type=delivery-status; boundary=\"{boundary}\""
        ));
        line("");
        line("This is a MIME-encapsulated message.");
        line("");

        // Part 1: for people.
        line(&format!("--{boundary}"));
        line("Content-Type: text/plain; charset=us-ascii");
        line("");
        line(&format!(
            "This is the mail system at host {}.",
            self.reporting_mta
        ));
        line("");
        line("I'm sorry to have to inform you that your message could not");
        line("be delivered to one or more recipients. It's attached below.");
        line("");
        for f in self.failed {
            match &f.remote_mta {
                Some(mta) => line(&format!("<{}>: host {mta} said:", f.address)),
                None => line(&format!("<{}>:", f.address)),
            }
            line(&format!("    {}", f.diagnostic));
            line("");
        }

        // Part 2: for programs (RFC 3464 §2.2 and §2.3).
        line(&format!("--{boundary}"));
        line("Content-Type: message/delivery-status");
        line("");
        line(&format!("Reporting-MTA: dns; {}", self.reporting_mta));
        line(&format!(
            "Arrival-Date: {}",
            date::rfc5322(self.arrival_unix)
        ));
        for f in self.failed {
            line("");
            line(&format!("Final-Recipient: rfc822; {}", f.address));
            line("Action: failed");
            line(&format!("Status: {}", f.status));
            if let Some(mta) = &f.remote_mta {
                line(&format!("Remote-MTA: dns; {mta}"));
            }
            line(&format!("Diagnostic-Code: smtp; {}", f.diagnostic));
        }
        line("");

        // Part 3: the original header, so the sender knows which message.
        line(&format!("--{boundary}"));
        line("Content-Type: text/rfc822-headers");
        line("");
        let (head, _) = split_message(self.original);
        for l in crate::proto::pop3::lines(head) {
            line(&String::from_utf8_lossy(l));
        }
        line("");
        line(&format!("--{boundary}--"));
        out.into_bytes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::smtp::message::Headers;

    #[test]
    fn a_bounce_names_the_recipient_and_returns_the_header() {
        let original = b"Received: from alice-pc\r\nFrom: alice@crepes.fr\r\nSubject: Lunch?\r\n\r\nsecret body\r\n";
        let failed = [FailedRecipient {
            address: "bobby@hamburger.edu".into(),
            status: status_from_reply(550, "5.1.1 <bobby@hamburger.edu>: User unknown"),
            remote_mta: Some("bob-mail.hamburger.edu".into()),
            diagnostic: "550 5.1.1 <bobby@hamburger.edu>: User unknown".into(),
        }];
        let b = Bounce {
            reporting_mta: "alice-mail.crepes.fr",
            to: "alice@crepes.fr",
            failed: &failed,
            original,
            arrival_unix: 0,
            now_unix: 60,
            unique: "Q2",
        };
        let bytes = b.to_bytes();
        let text = String::from_utf8(bytes.clone()).unwrap();
        let h = Headers::parse(&bytes);
        assert_eq!(h.get("Subject"), Some(BOUNCE_SUBJECT));
        assert_eq!(
            h.get("From"),
            Some("Mail Delivery System <MAILER-DAEMON@alice-mail.crepes.fr>")
        );
        assert!(text.contains("\r\nStatus: 5.1.1\r\n"), "{text}");
        assert!(text.contains("\r\nSubject: Lunch?\r\n"));
        assert!(!text.contains("secret body"));
        assert!(text.ends_with("--=_wiretale_bounce_Q2--\r\n"));
        assert!(text.lines().all(|l| l.len() < 998));
    }

    #[test]
    fn status_codes() {
        assert_eq!(status_from_reply(550, "5.7.1 Relay access denied"), "5.7.1");
        assert_eq!(status_from_reply(554, "Transaction failed"), "5.0.0");
        assert_eq!(status_from_reply(451, "local error"), "4.0.0");
    }
}
