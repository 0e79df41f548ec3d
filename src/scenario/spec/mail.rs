//! The mail parts of a scenario: a mail server's users and a DNS server's
//! records, a host's mail accounts, the protocol a user agent fetches with
//! and the steps of an IMAP session.
//!
//! Not here: the roles that hold them (`Role::MailServer`, `Role::DnsServer`
//! in the parent module), what must hold across them (`validate`).

use super::super::units::Dur;
use super::{HostSpec, Role};
use serde::Deserialize;

/// The name a mail server host goes by: its `hostname`, else the host name
/// with the first domain appended (`bob-mail.hamburger.edu`), else the
/// host name.
pub fn mail_hostname(h: &HostSpec) -> String {
    match &h.role {
        Role::MailServer {
            hostname: Some(name),
            ..
        } => name.to_ascii_lowercase(),
        Role::MailServer { domains, .. } if !h.name.contains('.') && !domains.is_empty() => {
            format!("{}.{}", h.name, domains[0]).to_ascii_lowercase()
        }
        _ => h.name.to_ascii_lowercase(),
    }
}

/// A user of a mail server.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, rename = "User")]
pub struct UserSpec {
    /// The login name and local part: `bob` for bob@hamburger.edu.
    pub name: String,
    pub password: String,
    /// Folders besides the INBOX the user has from the start, for IMAP:
    /// `["Archive", "Work/2026"]` (`/` separates levels).
    #[serde(default)]
    pub folders: Vec<String>,
}

/// A record of a DnsServer.
#[derive(Debug, Clone, Deserialize, PartialEq)]
pub enum RecordSpec {
    /// `Mx(domain, preference, exchange)`: mail for the domain goes to the
    /// exchange. The exchange may name a MailServer host of the scenario,
    /// which stands for its mail host name, with an A record added for it.
    Mx(String, u16, String),
    /// `A(name, address)`: the address may be written as an IPv4 address
    /// or as the name of a host of the scenario (its address).
    A(String, String),
}

/// A mail account of a host's user.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, rename = "Account")]
pub struct AccountSpec {
    /// The user's address: `alice@crepes.fr`.
    pub address: String,
    pub password: String,
    /// The MailServer host that holds the mailbox.
    pub server: String,
    /// The login name, if not the address's local part.
    #[serde(default)]
    pub login: Option<String>,
}

impl AccountSpec {
    /// The login name: `login`, or the local part of the address.
    pub fn login_name(&self) -> &str {
        match &self.login {
            Some(l) => l,
            None => self.address.split('@').next().unwrap_or_default(),
        }
    }
}

/// How a user agent fetches mail.
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
pub enum MailProtocol {
    /// POP3 (RFC 1939), port 110.
    #[default]
    Pop3,
    /// IMAP (RFC 3501), port 143: the mail stays on the server, the
    /// user agent works on it there with `steps`.
    Imap,
}

/// One step of an IMAP session, as `FetchMail(..., protocol: Imap, steps:
/// [...])` lists them:
///
/// ```ron
/// steps: [Select("INBOX"), SearchUnseen, ReadFound,
///         Flag(subject: "Lunch", flag: "\\Flagged"),
///         Move(subject: "Lunch", to: "Archive"), Idle("30s")]
/// ```
///
/// Steps with a `subject` work on every message of the selected folder
/// whose Subject contains the text (found with `UID SEARCH SUBJECT`).
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub enum ImapStepSpec {
    /// `LOGIN` with the account's login and password (implied first).
    Login,
    /// `LIST`: which folders there are.
    List,
    /// `CREATE` a folder.
    Create(String),
    /// `SELECT` the folder the next steps work on.
    Select(String),
    /// `UID SEARCH ALL`
    SearchAll,
    /// `UID SEARCH UNSEEN`: the messages not read yet.
    SearchUnseen,
    /// Read what the last search found (`FETCH BODY[]`: sets `\Seen`).
    ReadFound,
    /// Read every message of the folder.
    ReadAll,
    /// Download every message without marking it read (`BODY.PEEK[]`),
    /// as a phone does to list the mailbox.
    PeekAll,
    /// Read the messages with this subject.
    Read { subject: String },
    /// Set a flag (`"\\Flagged"`, `"\\Seen"`, `"\\Answered"`, a
    /// keyword like `"$Work"`) on the messages with this subject.
    Flag { subject: String, flag: String },
    /// Clear a flag of the messages with this subject.
    Unflag { subject: String, flag: String },
    /// Copy the messages with this subject to a folder.
    Copy { subject: String, to: String },
    /// Move them to a folder (COPY, STORE `\Deleted`, EXPUNGE).
    Move { subject: String, to: String },
    /// Delete them (STORE `\Deleted`, then EXPUNGE).
    Delete { subject: String },
    /// `EXPUNGE`: remove every message flagged `\Deleted`.
    Expunge,
    /// `NOOP`: give the server a chance to report changes.
    Noop,
    /// `IDLE` this long (RFC 2177): the server reports changes at once.
    Idle(Dur),
    /// `LOGOUT` (implied last).
    Logout,
}

impl ImapStepSpec {
    /// The name as a scenario writes it.
    pub fn name(&self) -> &'static str {
        match self {
            ImapStepSpec::Login => "Login",
            ImapStepSpec::List => "List",
            ImapStepSpec::Create(_) => "Create",
            ImapStepSpec::Select(_) => "Select",
            ImapStepSpec::SearchAll => "SearchAll",
            ImapStepSpec::SearchUnseen => "SearchUnseen",
            ImapStepSpec::ReadFound => "ReadFound",
            ImapStepSpec::ReadAll => "ReadAll",
            ImapStepSpec::PeekAll => "PeekAll",
            ImapStepSpec::Read { .. } => "Read",
            ImapStepSpec::Flag { .. } => "Flag",
            ImapStepSpec::Unflag { .. } => "Unflag",
            ImapStepSpec::Copy { .. } => "Copy",
            ImapStepSpec::Move { .. } => "Move",
            ImapStepSpec::Delete { .. } => "Delete",
            ImapStepSpec::Expunge => "Expunge",
            ImapStepSpec::Noop => "Noop",
            ImapStepSpec::Idle(_) => "Idle",
            ImapStepSpec::Logout => "Logout",
        }
    }
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
    fn an_account_logs_in_with_its_local_part_unless_told() {
        let a: AccountSpec =
            ron(r#"Account(address: "alice@crepes.fr", password: "p", server: "m")"#).unwrap();
        assert_eq!(a.login_name(), "alice");
        let a: AccountSpec =
            ron(r#"Account(address: "alice@crepes.fr", password: "p", server: "m", login: "a.l")"#)
                .unwrap();
        assert_eq!(a.login_name(), "a.l");
    }

    #[test]
    fn a_mail_server_is_named_by_its_hostname_or_its_first_domain() {
        let h: HostSpec = ron(
            r#"Host(name: "Bob-Mail", role: MailServer(domains: ["hamburger.edu"], users: []))"#,
        )
        .unwrap();
        assert_eq!(mail_hostname(&h), "bob-mail.hamburger.edu");
        let h: HostSpec = ron(
            r#"Host(name: "m", role: MailServer(domains: ["a.org"], users: [], hostname: "MX.a.org"))"#,
        )
        .unwrap();
        assert_eq!(mail_hostname(&h), "mx.a.org");
    }

    #[test]
    fn imap_steps_read_as_written() {
        let steps: Vec<ImapStepSpec> = ron(
            r#"[Select("INBOX"), SearchUnseen, Flag(subject: "Lunch", flag: "\\Flagged"), Idle("30s")]"#,
        )
        .unwrap();
        let names: Vec<&str> = steps.iter().map(ImapStepSpec::name).collect();
        assert_eq!(names, ["Select", "SearchUnseen", "Flag", "Idle"]);
        assert!(ron::<UserSpec>(r#"User(name: "bob", pasword: "x")"#).is_err());
    }
}
