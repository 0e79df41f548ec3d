//! Semantic checks of a scenario's mail: the mail servers and their users
//! and DNS records, the user agents' accounts, and the actions that send
//! mail (addresses that parse, servers and users that exist).
//!
//! Not here: IMAP steps, folders and flags (`imap`), the file transfer
//! checks (`files`).

use super::super::diag::did_you_mean;
use super::super::spec::{AccountSpec, HostSpec, RecordSpec, Role, mail_hostname};
use super::Checker;

/// Is `d` a domain name an address can end in?
fn valid_domain(d: &str) -> bool {
    crate::proto::smtp::Mailbox::parse(&format!("postmaster@{d}")).is_some()
}

/// The bare address of `Name <addr>` or `addr`, if it is one.
fn parse_address(text: &str) -> Option<crate::proto::smtp::Mailbox> {
    crate::proto::smtp::Mailbox::parse(crate::proto::smtp::message::addr_spec(text))
}

impl<'a> Checker<'a, '_> {
    /// The host called `name` if it is a MailServer, else an error.
    pub(super) fn mail_server(&mut self, name: &str, what: &str) -> Option<&'a HostSpec> {
        let h = self.host(name, what)?;
        if h.role.is_mail_server() {
            return Some(h);
        }
        let servers: Vec<&str> = self
            .hosts
            .values()
            .filter(|h| h.role.is_mail_server())
            .map(|h| h.name.as_str())
            .collect();
        let help = if servers.is_empty() {
            Some("give a host `role: MailServer(domains: [...], users: [...])`".into())
        } else {
            Some(format!("mail servers: {}", servers.join(", ")))
        };
        self.err_quoted(
            name,
            0,
            format!(
                "{what} needs a MailServer, but `{name}` is a {}",
                h.role.name()
            ),
            help,
        );
        None
    }

    /// Checks that `user` is a user of mail server `h`.
    pub(super) fn mail_user(&mut self, h: &'a HostSpec, user: &str) -> bool {
        let known = h
            .role
            .users()
            .iter()
            .any(|u| u.name.eq_ignore_ascii_case(user))
            || user.eq_ignore_ascii_case(crate::apps::mail::store::POSTMASTER);
        if !known {
            let names = h.role.users().iter().map(|u| u.name.as_str());
            let help = did_you_mean(user, names).or_else(|| {
                Some(format!(
                    "its users: {}",
                    h.role
                        .users()
                        .iter()
                        .map(|u| u.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ))
            });
            self.err_quoted(
                user,
                0,
                format!("mail server `{}` has no user `{user}`", h.name),
                help,
            );
        }
        known
    }

    /// The DnsServer host that mail server `h` uses, if any.
    fn dns_of(&self, h: &HostSpec) -> Option<&'a HostSpec> {
        match &h.role {
            Role::MailServer { dns: Some(d), .. } => self.hosts.get(d.as_str()).copied(),
            _ => {
                let mut dns = self.hosts.values().filter(|h| h.role.is_dns_server());
                match (dns.next(), dns.next()) {
                    (Some(only), None) => Some(only),
                    _ => None,
                }
            }
        }
    }

    /// Checks what the MailServer and DnsServer roles say.
    pub(super) fn roles(&mut self) {
        let dns_count = self
            .s
            .hosts
            .iter()
            .filter(|h| h.role.is_dns_server())
            .count();
        for h in &self.s.hosts {
            match &h.role {
                Role::MailServer {
                    domains,
                    users,
                    hostname,
                    dns,
                    retry,
                    max_retry,
                    give_up,
                    max_size,
                    tls: _,
                } => {
                    if domains.is_empty() {
                        self.err_text(
                            "domains",
                            0,
                            format!("mail server `{}` needs at least one domain", h.name),
                            Some("e.g. `domains: [\"hamburger.edu\"]`".into()),
                        );
                    }
                    for d in domains {
                        if !valid_domain(d) {
                            self.err_quoted(d, 0, format!("{d:?} is not a domain name"), None);
                        }
                    }
                    if let Some(name) = hostname
                        && !valid_domain(name)
                    {
                        self.err_quoted(
                            name,
                            0,
                            format!("`hostname` {name:?} is not a host name"),
                            None,
                        );
                    }
                    self.users(h, users);
                    match dns {
                        Some(d) => {
                            if let Some(t) = self.host(d, "`dns`")
                                && !t.role.is_dns_server()
                            {
                                self.err_quoted(
                                    d,
                                    0,
                                    format!("`dns` names `{d}`, which is a {}, not a DnsServer", t.role.name()),
                                    None,
                                );
                            }
                        }
                        None if dns_count > 1 => self.err_quoted(
                            &h.name,
                            0,
                            format!(
                                "mail server `{}` cannot tell which of the {dns_count} DnsServer hosts to ask",
                                h.name
                            ),
                            Some("name one with `dns: \"...\"`".into()),
                        ),
                        None => {}
                    }
                    for (field, d) in [
                        ("retry", retry),
                        ("max_retry", max_retry),
                        ("give_up", give_up),
                    ] {
                        if d.is_some_and(|d| d.0.as_nanos() == 0) {
                            self.err_text(
                                &format!("{field}:"),
                                0,
                                format!("`{field}` must be longer than zero"),
                                None,
                            );
                        }
                    }
                    if max_size.is_some_and(|s| s.0 == 0) {
                        self.err_text(
                            "max_size:",
                            0,
                            "`max_size` must be at least one byte".into(),
                            None,
                        );
                    }
                }
                Role::DnsServer { records } => self.records(records),
                _ => {}
            }
        }
    }

    fn users(&mut self, h: &HostSpec, users: &[super::super::spec::UserSpec]) {
        let mut seen = std::collections::BTreeSet::new();
        for u in users {
            let ok =
                !u.name.is_empty() && parse_address(&format!("{}@example.org", u.name)).is_some();
            if !ok {
                self.err_quoted(
                    &u.name,
                    0,
                    format!(
                        "user name {:?} cannot be the local part of an address",
                        u.name
                    ),
                    Some("use letters, digits, dots and dashes".into()),
                );
            }
            if !seen.insert(u.name.to_ascii_lowercase()) {
                self.err_quoted(
                    &u.name,
                    1,
                    format!("mail server `{}` has two users called `{}`", h.name, u.name),
                    None,
                );
            }
            if u.password.is_empty() {
                self.err_quoted(
                    &u.name,
                    0,
                    format!("user `{}` needs a password", u.name),
                    None,
                );
            }
            self.user_folders(u);
        }
    }

    /// Checks a DnsServer's records: names, addresses, MX targets.
    fn records(&mut self, records: &[RecordSpec]) {
        let a_names: Vec<String> = records
            .iter()
            .filter_map(|r| match r {
                RecordSpec::A(name, _) => Some(name.trim_end_matches('.').to_ascii_lowercase()),
                _ => None,
            })
            .collect();
        for r in records {
            match r {
                RecordSpec::A(name, addr) => {
                    if !valid_domain(name) {
                        self.err_quoted(name, 0, format!("{name:?} is not a domain name"), None);
                    }
                    if addr.parse::<std::net::Ipv4Addr>().is_err() {
                        let help = did_you_mean(addr, self.hosts.keys().copied()).or_else(|| {
                            Some("write an IPv4 address like \"10.0.2.2\" or a host's name".into())
                        });
                        if let Some(t) = self.hosts.get(addr.as_str()).copied() {
                            if t.role == Role::Router {
                                self.err_quoted(
                                    addr,
                                    0,
                                    format!("A record to router `{addr}`: give a host instead"),
                                    None,
                                );
                            }
                        } else {
                            self.err_quoted(
                                addr,
                                0,
                                format!(
                                    "A record {name:?}: {addr:?} is neither an address nor a host"
                                ),
                                help,
                            );
                        }
                    }
                }
                RecordSpec::Mx(domain, _, target) => {
                    if !valid_domain(domain) {
                        self.err_quoted(
                            domain,
                            0,
                            format!("{domain:?} is not a domain name"),
                            None,
                        );
                    }
                    if let Some(t) = self.hosts.get(target.as_str()).copied() {
                        if !t.role.is_mail_server() {
                            self.err_quoted(
                                target,
                                0,
                                format!(
                                    "MX for {domain:?} points to `{target}`, which is a {} and runs no mail server",
                                    t.role.name()
                                ),
                                None,
                            );
                        }
                        continue;
                    }
                    let key = target.trim_end_matches('.').to_ascii_lowercase();
                    if !a_names.contains(&key) {
                        let help = did_you_mean(target, self.hosts.keys().copied()).or_else(|| {
                            Some("name a MailServer host, or add an `A(...)` record for it".into())
                        });
                        self.err_quoted(
                            target,
                            0,
                            format!("MX for {domain:?} points to unknown host `{target}`"),
                            help,
                        );
                    }
                }
            }
        }
    }

    /// Checks every host's mail accounts.
    pub(super) fn accounts(&mut self) {
        for h in &self.s.hosts {
            if h.role == Role::Router && !h.accounts.is_empty() {
                self.err_quoted(
                    &h.name,
                    0,
                    format!("router `{}` cannot have mail accounts", h.name),
                    None,
                );
                continue;
            }
            let mut seen = std::collections::BTreeSet::new();
            for a in &h.accounts {
                if !seen.insert(a.address.to_ascii_lowercase()) {
                    self.err_quoted(
                        &a.address,
                        1,
                        format!("host `{}` has the account {:?} twice", h.name, a.address),
                        None,
                    );
                }
                self.account(a);
            }
        }
    }

    fn account(&mut self, a: &'a AccountSpec) {
        let Some(mailbox) = parse_address(&a.address) else {
            self.err_quoted(
                &a.address,
                0,
                format!("{:?} is not an e-mail address", a.address),
                Some("write it like \"alice@crepes.fr\"".into()),
            );
            return;
        };
        let Some(server) = self.mail_server(&a.server, "an account") else {
            return;
        };
        let domain = mailbox.domain.to_ascii_lowercase();
        let domains = server.role.domains();
        if !domains.iter().any(|d| d.eq_ignore_ascii_case(&domain)) {
            self.err_quoted(
                &a.address,
                0,
                format!(
                    "`{}` holds mail for {}, not for {domain}",
                    server.name,
                    domains.join(", ")
                ),
                None,
            );
        }
        self.mail_user(server, a.login_name());
    }

    /// The account `address` of host `h`, or an error with a suggestion.
    pub(super) fn host_account(
        &mut self,
        h: &'a HostSpec,
        address: &str,
        what: &str,
    ) -> Option<&'a AccountSpec> {
        if let Some(a) = h.account(address) {
            return Some(a);
        }
        let help = if h.accounts.is_empty() {
            Some(format!(
                "give `{}` `accounts: [Account(address: ..., password: ..., server: ...)]`",
                h.name
            ))
        } else {
            did_you_mean(address, h.accounts.iter().map(|a| a.address.as_str())).or_else(|| {
                Some(format!(
                    "its accounts: {}",
                    h.accounts
                        .iter()
                        .map(|a| a.address.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ))
            })
        };
        self.err_quoted(
            address,
            0,
            format!("{what}: host `{}` has no account {address:?}", h.name),
            help,
        );
        None
    }

    pub(super) fn send_mail(&mut self, h: &'a HostSpec, from: &str, to: &[String], cc: &[String]) {
        let account = self.host_account(h, from, "SendMail");
        if to.is_empty() && cc.is_empty() {
            self.err_text(
                "SendMail",
                0,
                "SendMail needs at least one recipient in `to`".into(),
                None,
            );
        }
        let mut foreign = Vec::new();
        for rcpt in to.iter().chain(cc) {
            match parse_address(rcpt) {
                Some(m) => foreign.push(m.domain.to_ascii_lowercase()),
                None => self.err_quoted(
                    rcpt,
                    0,
                    format!("{rcpt:?} is not an e-mail address"),
                    Some("write it like \"bob@hamburger.edu\"".into()),
                ),
            }
        }
        // Mail for another domain needs the sending server to find that
        // domain's exchanger in the DNS.
        let Some(server) = account.and_then(|a| self.hosts.get(a.server.as_str()).copied()) else {
            return;
        };
        let local = server.role.domains();
        let own_name = mail_hostname(server);
        if let Some(domain) = foreign
            .iter()
            .find(|d| !local.iter().any(|l| l.eq_ignore_ascii_case(d)) && **d != own_name)
            && self.dns_of(server).is_none()
        {
            self.err_quoted(
                from,
                0,
                format!(
                    "mail from {from:?} to {domain} must be relayed, but `{}` has no DnsServer to find {domain}'s mail exchanger",
                    server.name
                ),
                Some("add a host with `role: DnsServer(records: [Mx(...)])`".into()),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::problems;
    use super::*;

    #[test]
    fn domains_and_addresses() {
        assert!(valid_domain("crepes.fr"));
        assert!(!valid_domain("crepes fr"));
        assert_eq!(
            parse_address("Alice <alice@crepes.fr>").map(|m| m.to_string()),
            Some("alice@crepes.fr".into())
        );
        assert!(parse_address("alice").is_none());
    }

    #[test]
    fn a_recipient_must_be_an_address() {
        let p = problems(
            "alice_to_bob",
            "to: [\"bob@hamburger.edu\"]",
            "to: [\"bob\"]",
        );
        assert_eq!(p, ["\"bob\" is not an e-mail address"]);
    }

    #[test]
    fn an_account_names_a_user_of_its_server() {
        let p = problems(
            "alice_to_bob",
            "Account(address: \"bob@hamburger.edu\", password: \"hungry\"",
            "Account(address: \"rob@hamburger.edu\", password: \"hungry\"",
        );
        assert!(p.iter().any(|m| m.contains("has no user `rob`")), "{p:?}");
    }
}
