//! The checks on a run's final state: bytes a discard service received,
//! mail delivered and fetched, flags and folders, files on servers and
//! what eavesdroppers saw.
//!
//! Not here: the expectations on the trace (`expect` patterns), which
//! `check` matches during the run.

use super::super::units::Size;
use serde::Deserialize;

/// A check on the final state.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub enum FinalCheck {
    /// The host's discard service received a connection with exactly this
    /// many bytes, all in order.
    Received { host: String, bytes: Size },
    /// A mailbox on a MailServer host: with `subject`, the messages whose
    /// Subject contains it; with `count`, exactly that many (else at least
    /// one).
    Mailbox {
        host: String,
        user: String,
        /// The folder (default "INBOX").
        #[serde(default)]
        folder: Option<String>,
        #[serde(default)]
        subject: Option<String>,
        #[serde(default)]
        count: Option<usize>,
    },
    /// The MailServer host's outbound queue is empty: everything was
    /// delivered or returned.
    QueueEmpty { host: String },
    /// The user agent on the host fetched messages: with `subject`, those
    /// whose Subject contains it; with `count`, exactly that many (else at
    /// least one).
    Fetched {
        host: String,
        #[serde(default)]
        subject: Option<String>,
        #[serde(default)]
        count: Option<usize>,
    },
    /// The user's INBOX on the MailServer host holds a bounce (a delivery
    /// status notification from MAILER-DAEMON); with `subject`, one about
    /// a message whose Subject contains it.
    Bounced {
        host: String,
        user: String,
        #[serde(default)]
        subject: Option<String>,
    },
    /// The file server holds this file (path in its whole tree), with this
    /// size, SHA-256 or text if given.
    File {
        host: String,
        path: String,
        #[serde(default)]
        size: Option<Size>,
        #[serde(default)]
        sha256: Option<String>,
        #[serde(default)]
        text: Option<String>,
    },
    /// The file server holds no file at this path.
    NoFile { host: String, path: String },
    /// The host downloaded a file of this name (FTP, HTTP or SCP), with
    /// this size or SHA-256 if given, or byte for byte the same as a file
    /// on a server: `same_as: ("files", "/alice/report.txt")`.
    Downloaded {
        host: String,
        name: String,
        #[serde(default)]
        size: Option<Size>,
        #[serde(default)]
        sha256: Option<String>,
        #[serde(default)]
        same_as: Option<(String, String)>,
    },
    /// The eavesdropper could read this text (in a finding, or in the
    /// bytes of a captured stream).
    Eavesdropped { host: String, contains: String },
    /// The eavesdropper could not read this text anywhere.
    NotEavesdropped { host: String, contains: String },
    /// The flags of the messages whose Subject contains `subject`: on a
    /// MailServer host, those in `user`'s `folder` (default "INBOX") as
    /// stored; on a host with a user agent, those the device knows with
    /// IMAP (in `folder` if given) as the server last reported them. There
    /// must be at least one, and each must have every flag of `has` and
    /// none of `lacks`: `has: ["\\Seen"], lacks: ["\\Deleted"]`.
    Flags {
        host: String,
        /// The mailbox's user (MailServer hosts only).
        #[serde(default)]
        user: Option<String>,
        #[serde(default)]
        folder: Option<String>,
        subject: String,
        #[serde(default)]
        has: Vec<String>,
        #[serde(default)]
        lacks: Vec<String>,
    },
    /// The user agent on the host was told by an IMAP server, while its
    /// session was open, of a change made elsewhere (another device, a
    /// delivery): `kind` is "exists" (new mail), "expunge" (a message
    /// removed) or "flags" (flags changed). With `flag`, only flag updates
    /// with that flag set count; with `subject`, only updates about a
    /// message whose Subject contains it; with `count`, exactly that many
    /// (else at least one).
    SawUpdate {
        host: String,
        kind: String,
        #[serde(default)]
        flag: Option<String>,
        #[serde(default)]
        subject: Option<String>,
        #[serde(default)]
        count: Option<usize>,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ron<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, ron::error::SpannedError> {
        ron::Options::default()
            .with_default_extension(ron::extensions::Extensions::IMPLICIT_SOME)
            .from_str(text)
    }

    #[test]
    fn checks_read_as_written_with_their_defaults() {
        let c: FinalCheck =
            ron(r#"Mailbox(host: "bob-mail", user: "bob", subject: "Lunch")"#).unwrap();
        assert_eq!(
            c,
            FinalCheck::Mailbox {
                host: "bob-mail".into(),
                user: "bob".into(),
                folder: None,
                subject: Some("Lunch".into()),
                count: None,
            }
        );
        assert!(ron::<FinalCheck>(r#"QueueEmpty(host: "m")"#).is_ok());
    }

    #[test]
    fn a_misspelt_field_is_an_error() {
        assert!(ron::<FinalCheck>(r#"QueueEmpty(hots: "m")"#).is_err());
        assert!(ron::<FinalCheck>(r#"Mailbx(host: "m", user: "u")"#).is_err());
    }
}
