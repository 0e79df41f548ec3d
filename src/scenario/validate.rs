//! Semantic checks of a parsed scenario: everything RON's types cannot
//! express (names that must exist, values in range, services on hosts of
//! the right role), each reported at the place in the file it concerns.
//!
//! It does not run anything. The one thing it builds is the network
//! alone, when everything else is right, to catch what only addressing
//! reveals (a duplicate address, a host with no link).

use super::diag::{Diagnostic, Source, did_you_mean};
use super::spec::{
    AccountSpec, ActionKind, ActionSpec, FaultKind, FileService, FileSpec, FileUserSpec,
    FinalCheck, FtpStep, HostSpec, MailProtocol, Pattern, RecordSpec, Role, Scenario, ServiceSpec,
    VERSION, mail_hostname,
};
use super::spec::{ImapStepSpec, UserSpec};
use super::units::parse_duration;
use crate::apps::mail::store::{Flag, INBOX};
use crate::proto::imap::store::valid_folder_name;
use crate::trace::Layer;
use crate::trace::vocab::{self, PatternProblem};
use std::collections::BTreeMap;

struct Checker<'a, 'b> {
    src: &'a Source<'b>,
    s: &'a Scenario,
    hosts: BTreeMap<&'a str, &'a HostSpec>,
    out: Vec<Diagnostic>,
    /// How often each text was written in the patterns of each section so
    /// far: `(section, text) -> count`.
    pattern_texts: BTreeMap<(String, String), usize>,
}

/// Every semantic problem of `s`, in file order as far as possible.
pub fn validate(src: &Source<'_>, s: &Scenario) -> Vec<Diagnostic> {
    let mut c = Checker {
        src,
        s,
        hosts: BTreeMap::new(),
        out: Vec::new(),
        pattern_texts: BTreeMap::new(),
    };
    c.header();
    c.hosts();
    c.roles();
    c.accounts();
    c.links();
    c.file_roles();
    c.actions();
    c.faults();
    c.patterns();
    c.quiz();
    c.timings();
    c.finals();
    if c.out.is_empty() {
        c.topology();
    }
    c.out
}

impl<'a> Checker<'a, '_> {
    fn err_quoted(&mut self, needle: &str, nth: usize, message: String, help: Option<String>) {
        let d = self.src.at_quoted(needle, nth, message, help);
        self.out.push(d);
    }

    fn err_in_item(
        &mut self,
        section: &str,
        tag: &str,
        index: usize,
        needle: &str,
        message: String,
        help: Option<String>,
    ) {
        let d = self
            .src
            .at_quoted_in_item(section, tag, index, needle, message, help);
        self.out.push(d);
    }

    /// The host called `name`, or an error at its mention inside the
    /// `index`-th `tag(` item of `section`.
    fn host_in_item(
        &mut self,
        name: &str,
        what: &str,
        section: &str,
        tag: &str,
        index: usize,
    ) -> Option<&'a HostSpec> {
        if let Some(h) = self.hosts.get(name) {
            return Some(h);
        }
        let help = did_you_mean(name, self.hosts.keys().copied());
        self.err_in_item(
            section,
            tag,
            index,
            name,
            format!("{what} names an unknown host `{name}`"),
            help,
        );
        None
    }

    fn err_text(&mut self, needle: &str, nth: usize, message: String, help: Option<String>) {
        let d = self.src.at_text(needle, nth, message, help);
        self.out.push(d);
    }

    fn header(&mut self) {
        if self.s.version != VERSION {
            self.err_text(
                "version",
                0,
                format!("unsupported scenario version {}", self.s.version),
                Some(format!("this wiretale reads version {VERSION}")),
            );
        }
        if self.s.title.trim().is_empty() {
            self.err_text("title", 0, "the title is empty".into(), None);
        }
        if let Some(start) = &self.s.start
            && crate::proto::date::parse_rfc3339(start).is_none()
        {
            self.err_quoted(
                start,
                0,
                format!("`start` {start:?} is not a UTC date and time"),
                Some("write it like \"2026-11-23T10:00:00Z\"".into()),
            );
        }
        if let Some(u) = self.s.until
            && u.0.as_nanos() == 0
        {
            self.err_text("until", 0, "`until` must be after the start".into(), None);
        }
    }

    /// The host called `name`, or an error at its mention.
    fn host(&mut self, name: &str, what: &str) -> Option<&'a HostSpec> {
        if let Some(h) = self.hosts.get(name) {
            return Some(h);
        }
        let help = did_you_mean(name, self.hosts.keys().copied());
        self.err_quoted(
            name,
            0,
            format!("{what} names an unknown host `{name}`"),
            help,
        );
        None
    }

    fn hosts(&mut self) {
        if self.s.hosts.is_empty() {
            self.err_text(
                "hosts",
                0,
                "a scenario needs at least one host".into(),
                None,
            );
        }
        for h in &self.s.hosts {
            if h.name.trim().is_empty() || h.name.chars().any(char::is_whitespace) {
                self.err_quoted(
                    &h.name,
                    0,
                    format!(
                        "host name {:?} must be non-empty and without spaces",
                        h.name
                    ),
                    None,
                );
                continue;
            }
            if self.hosts.insert(&h.name, h).is_some() {
                self.err_quoted(
                    &h.name,
                    1,
                    format!("two hosts are called `{}`", h.name),
                    Some("host names must be unique".into()),
                );
            }
            for svc in &h.services {
                if !service_allowed(&h.role, svc) {
                    self.err_text(
                        svc.name(),
                        0,
                        format!(
                            "host `{}` is a {} and cannot run {}",
                            h.name,
                            h.role.name(),
                            svc.name()
                        ),
                        Some("give the host a role that runs it, e.g. `role: Server`".into()),
                    );
                }
            }
            if h.role == Role::Router && h.firewall.is_some() {
                self.err_quoted(
                    &h.name,
                    0,
                    format!("router `{}` cannot have a firewall", h.name),
                    None,
                );
            }
            if let Some((x, y)) = h.position
                && !((0.0..=100.0).contains(&x) && (0.0..=100.0).contains(&y))
            {
                self.err_text(
                    "position",
                    0,
                    format!("position of `{}` must be within 0..100", h.name),
                    None,
                );
            }
        }
    }

    fn links(&mut self) {
        for (i, l) in self.s.links.iter().enumerate() {
            let a = self.host_in_item(&l.a, "a link", "links", "Link", i);
            let b = self.host_in_item(&l.b, "a link", "links", "Link", i);
            if a.is_some() && b.is_some() && l.a == l.b {
                self.err_in_item(
                    "links",
                    "Link",
                    i,
                    &l.b,
                    format!("a link connects `{}` to itself", l.a),
                    None,
                );
            }
            for (name, p) in [("loss", l.loss), ("duplicate", l.duplicate)] {
                if !(0.0..=1.0).contains(&p) || p.is_nan() {
                    self.err_text(
                        &format!("{name}:"),
                        self.nth_field_in_links(name, l as *const _),
                        format!("`{name}` must be between 0.0 and 1.0, got {p}"),
                        Some("it is a probability: 0.05 means 5%".into()),
                    );
                }
            }
            if l.queue == Some(0) {
                self.err_text(
                    "queue:",
                    0,
                    "`queue` must hold at least one packet".into(),
                    None,
                );
            }
        }
    }

    /// Which appearance of `name:` among the links belongs to link `ptr`
    /// (counting only links that set it).
    fn nth_field_in_links(&self, name: &str, ptr: *const super::spec::LinkSpec) -> usize {
        let mut n = 0;
        for l in &self.s.links {
            if std::ptr::eq(l, ptr) {
                return n;
            }
            let set = match name {
                "loss" => l.loss != 0.0,
                _ => l.duplicate != 0.0,
            };
            n += usize::from(set);
        }
        n
    }

    fn actions(&mut self) {
        for (i, a) in self.s.actions.iter().enumerate() {
            let Some(h) = self.host_in_item(&a.host, "an action", "actions", "Action", i) else {
                continue;
            };
            if h.role == Role::Router {
                self.err_in_item(
                    "actions",
                    "Action",
                    i,
                    &a.host,
                    format!("router `{}` cannot act: routers run no programs", a.host),
                    None,
                );
            }
            match &a.what {
                ActionKind::TcpSend { to, port, .. } => {
                    if let Some(t) = self.host_in_item(to, "TcpSend", "actions", "Action", i)
                        && t.role == Role::Router
                    {
                        self.err_in_item(
                            "actions",
                            "Action",
                            i,
                            to,
                            format!("TcpSend to router `{to}`: routers accept no connections"),
                            None,
                        );
                    }
                    if *port == 0 {
                        self.err_text(
                            "port: 0",
                            0,
                            "port 0 is not a valid destination".into(),
                            None,
                        );
                    }
                }
                ActionKind::SendMail { from, to, cc, .. } => self.send_mail(h, from, to, cc),
                ActionKind::FetchMail {
                    account,
                    protocol,
                    steps,
                    ..
                } => {
                    let account = self.host_account(h, account, "FetchMail");
                    self.imap_steps(i, account, *protocol, steps);
                }
                ActionKind::Ftp { .. }
                | ActionKind::HttpGet { .. }
                | ActionKind::ScpUpload { .. }
                | ActionKind::ScpDownload { .. }
                | ActionKind::Telnet { .. } => self.file_action(h, a),
            }
        }
    }

    fn link_exists(&self, a: &str, b: &str) -> bool {
        self.s
            .links
            .iter()
            .any(|l| (l.a == a && l.b == b) || (l.a == b && l.b == a))
    }

    fn faults(&mut self) {
        for f in &self.s.faults {
            match &f.what {
                FaultKind::LinkDown(a, b)
                | FaultKind::LinkUp(a, b)
                | FaultKind::SetLoss(a, b, _)
                | FaultKind::SetLatency(a, b, _) => {
                    let ok = self.host(a, "a fault").is_some() & self.host(b, "a fault").is_some();
                    if ok && !self.link_exists(a, b) {
                        self.err_quoted(
                            b,
                            0,
                            format!("there is no link between `{a}` and `{b}`"),
                            None,
                        );
                    }
                    if let FaultKind::SetLoss(_, _, p) = f.what
                        && !(0.0..=1.0).contains(&p)
                    {
                        self.err_text(
                            "SetLoss",
                            0,
                            format!("loss must be between 0.0 and 1.0, got {p}"),
                            None,
                        );
                    }
                }
                FaultKind::HostDown(h) | FaultKind::HostUp(h) => {
                    self.host(h, "a fault");
                }
                // A packet id that never comes up loses nothing.
                FaultKind::DropPacket(_) => {}
            }
        }
    }

    /// An error at the place a pattern of `section` writes `"needle"`:
    /// patterns are checked in file order, so the earlier patterns of the
    /// section that wrote the same text tell which appearance it is.
    fn err_in_pattern(
        &mut self,
        section: &str,
        needle: &str,
        message: String,
        help: Option<String>,
    ) {
        let nth = self
            .pattern_texts
            .get(&(section.to_owned(), needle.to_owned()))
            .copied()
            .unwrap_or(0);
        let d = self
            .src
            .at_quoted_in_section(section, needle, nth, message, help);
        self.out.push(d);
    }

    fn pattern(&mut self, p: &Pattern, section: &str) {
        let mut layer = None;
        let mut event = None;
        let mut fields = Vec::new();
        for (key, value) in p {
            match key.as_str() {
                "layer" => {
                    let name = value.as_str().unwrap_or_default();
                    layer = Layer::from_name(name);
                    if layer.is_none() {
                        let names = Layer::ALL.map(Layer::name);
                        let help = did_you_mean(name, names)
                            .or_else(|| Some(format!("layers: {}", names.join(", "))));
                        self.err_in_pattern(
                            section,
                            name,
                            format!("unknown layer {value} in `{section}`"),
                            help,
                        );
                    }
                }
                "event" => event = Some(value),
                "after" | "before" => match value.as_str().map(parse_duration) {
                    Some(Ok(_)) => {}
                    Some(Err(e)) => self.err_in_pattern(section, key, e, None),
                    None => self.err_in_pattern(
                        section,
                        key,
                        format!("`{key}` must be a duration like \"2s\""),
                        None,
                    ),
                },
                _ => {
                    if value.is_object() || value.is_array() {
                        self.err_in_pattern(
                            section,
                            key,
                            format!("pattern field `{key}` must be a string, number or boolean"),
                            None,
                        );
                    }
                    fields.push(key.as_str());
                }
            }
        }
        self.vocabulary(p, section, layer, event, &fields);
        // What this pattern wrote, for placing errors in later ones.
        for (key, value) in p {
            for text in [Some(key.as_str()), value.as_str()].into_iter().flatten() {
                *self
                    .pattern_texts
                    .entry((section.to_owned(), text.to_owned()))
                    .or_default() += 1;
            }
        }
    }

    /// A pattern's event and field names must be ones a run can record:
    /// a misspelt name would never match, and the run would fail (an
    /// expectation) or silently do nothing (a caption, a trigger).
    fn vocabulary(
        &mut self,
        p: &Pattern,
        section: &str,
        layer: Option<Layer>,
        event: Option<&serde_json::Value>,
        keys: &[&str],
    ) {
        if p.get("layer").is_some() && layer.is_none() {
            return; // already reported: an unknown layer
        }
        let event_name = match event {
            None => None,
            Some(v) => match v.as_str() {
                Some(name) => Some(name),
                None => {
                    self.err_in_pattern(
                        section,
                        "event",
                        format!("`event` must be an event name, not {v}"),
                        None,
                    );
                    return;
                }
            },
        };
        let fields: Vec<&str> = keys
            .iter()
            .map(|k| k.strip_suffix('~').unwrap_or(k))
            .collect();
        let problems = vocab::check_pattern(crate::apps::vocabulary(), layer, event_name, &fields);
        let in_layer = layer.map_or(String::new(), |l| format!(" in layer `{}`", l.name()));
        for problem in problems {
            match problem {
                PatternProblem::UnknownEvent { name, known } => {
                    let help = did_you_mean(&name, known.iter().copied());
                    self.err_in_pattern(
                        section,
                        &name,
                        format!("no event `{name}`{in_layer} is ever recorded (in `{section}`)"),
                        help,
                    );
                }
                PatternProblem::UnknownField { field, known } => {
                    let key = keys
                        .iter()
                        .find(|k| k.strip_suffix('~').unwrap_or(k) == field)
                        .copied()
                        .unwrap_or(field.as_str());
                    let what = event_name.map_or(String::from("the events it can match"), |e| {
                        format!("`{e}` events")
                    });
                    let help = did_you_mean(&field, known.iter().copied())
                        .or_else(|| Some(format!("fields: {}", known.join(", "))));
                    self.err_in_pattern(
                        section,
                        key,
                        format!("{what}{in_layer} have no field `{field}` (in `{section}`)"),
                        help,
                    );
                }
            }
        }
    }

    /// An action, fault or caption must say when: `at` a time, or
    /// `after` an event (optionally with a `wait`).
    fn timing(
        &mut self,
        section: &'static str,
        tag: &str,
        index: usize,
        at: bool,
        after: Option<&Pattern>,
        wait: bool,
    ) {
        let problem = match (at, after.is_some()) {
            (true, true) => Some("give either `at` (a time) or `after` (an event), not both"),
            (false, false) => {
                Some("say when: `at: \"2s\"` or `after: {\"layer\": ..., \"event\": ...}`")
            }
            (true, false) if wait => {
                Some("`wait` goes with `after`: it is a delay after the event")
            }
            _ => None,
        };
        if let Some(message) = problem {
            let d = if tag.is_empty() {
                self.src
                    .at_text(&format!("{section}:"), 0, message.into(), None)
            } else {
                self.src
                    .at_text_in_item(section, tag, index, tag, 0, message.into(), None)
            };
            self.out.push(d);
        }
        if let Some(p) = after {
            self.pattern(p, section);
        }
    }

    fn timings(&mut self) {
        let s = self.s;
        for (i, a) in s.actions.iter().enumerate() {
            self.timing(
                "actions",
                "Action",
                i,
                a.at.is_some(),
                a.after.as_ref(),
                a.wait.is_some(),
            );
        }
        for (i, f) in s.faults.iter().enumerate() {
            self.timing(
                "faults",
                "Fault",
                i,
                f.at.is_some(),
                f.after.as_ref(),
                f.wait.is_some(),
            );
        }
        for (i, n) in s.narration.iter().enumerate() {
            self.timing(
                "narration",
                "",
                i,
                n.at.is_some(),
                n.after.as_ref(),
                n.wait.is_some(),
            );
        }
    }

    fn patterns(&mut self) {
        for p in &self.s.expect {
            self.pattern(p, "expect");
        }
        for p in &self.s.never {
            self.pattern(p, "never");
        }
    }

    /// Each question names its event, and exactly one of the field whose
    /// value answers it or the answer; a fixed answer is one of the
    /// choices, and a field is one the event carries.
    fn quiz(&mut self) {
        for (i, q) in self.s.quiz.iter().enumerate() {
            // The answer's field is checked with the pattern's own.
            let mut checked = q.before.clone();
            if let Some(f) = &q.field {
                checked.insert(f.clone(), serde_json::Value::Bool(true));
            }
            self.pattern(&checked, "quiz");
            let problem = match (&q.field, &q.answer) {
                (Some(_), Some(_)) => Some("give either `field` (the event's value is the answer) or `answer`, not both".to_string()),
                (None, None) => Some("say what the answer is: `field: \"code\"` (a field of the event) or `answer: \"...\"`".to_string()),
                (None, Some(a)) if !q.choices.is_empty() && !q.choices.iter().any(|c| c.eq_ignore_ascii_case(a)) => {
                    Some(format!("the answer {a:?} is not one of the choices"))
                }
                _ => None,
            };
            if let Some(message) = problem {
                self.err_in_item("quiz", "Quiz", i, &q.question, message, None);
            }
        }
    }

    fn finals(&mut self) {
        for f in &self.s.final_state {
            match f {
                FinalCheck::Received { host, .. } => {
                    if let Some(h) = self.host(host, "a final check")
                        && !h
                            .services
                            .iter()
                            .any(|s| matches!(s, ServiceSpec::Discard { .. }))
                    {
                        self.err_quoted(
                            host,
                            0,
                            format!("`Received` needs a Discard service on `{host}`"),
                            None,
                        );
                    }
                }
                FinalCheck::Mailbox { host, user, .. } | FinalCheck::Bounced { host, user, .. } => {
                    if let Some(h) = self.mail_server(host, "a final check") {
                        self.mail_user(h, user);
                    }
                }
                FinalCheck::QueueEmpty { host } => {
                    self.mail_server(host, "a final check");
                }
                FinalCheck::Flags {
                    host,
                    user,
                    folder,
                    subject,
                    has,
                    lacks,
                } => self.final_flags(
                    host,
                    user.as_deref(),
                    folder.as_deref(),
                    subject,
                    has,
                    lacks,
                ),
                FinalCheck::SawUpdate {
                    host, kind, flag, ..
                } => self.final_saw_update(host, kind, flag.as_deref()),
                FinalCheck::Fetched { host, .. } => self.user_agent_host(host, "Fetched"),
                FinalCheck::File { .. }
                | FinalCheck::NoFile { .. }
                | FinalCheck::Downloaded { .. }
                | FinalCheck::Eavesdropped { .. }
                | FinalCheck::NotEavesdropped { .. } => self.file_final(f),
            }
        }
    }

    /// Builds the network to catch what only addressing reveals.
    fn topology(&mut self) {
        if let Err(e) = super::build::build_network(self.s) {
            match e {
                super::build::NetError::Topology(t) => {
                    let msg = t.to_string();
                    let needle = match &t {
                        crate::net::TopologyError::DuplicateAddress(a) => a.to_string(),
                        _ => String::new(),
                    };
                    if needle.is_empty() {
                        self.err_text("links", 0, msg, None);
                    } else {
                        let nth = usize::from(
                            self.src.text.matches(&format!("\"{needle}\"")).count() > 1,
                        );
                        self.err_quoted(
                            &needle,
                            nth,
                            msg,
                            Some("each interface needs its own address".into()),
                        );
                    }
                }
                super::build::NetError::Unlinked(name) => {
                    self.err_quoted(
                        &name,
                        0,
                        format!("host `{name}` has an address but no link"),
                        None,
                    );
                }
                super::build::NetError::Tls(why) => {
                    self.err_text(
                        "tls",
                        0,
                        format!("the TLS certificates cannot be made: {why}"),
                        None,
                    );
                }
            }
        }
    }
}

fn service_allowed(role: &Role, svc: &ServiceSpec) -> bool {
    match svc {
        ServiceSpec::Discard { .. } => !matches!(role, Role::Router),
    }
}

/// Is `d` a domain name an address can end in?
fn valid_domain(d: &str) -> bool {
    crate::proto::smtp::Mailbox::parse(&format!("postmaster@{d}")).is_some()
}

/// The bare address of `Name <addr>` or `addr`, if it is one.
fn parse_address(text: &str) -> Option<crate::proto::smtp::Mailbox> {
    crate::proto::smtp::Mailbox::parse(crate::proto::smtp::message::addr_spec(text))
}

// ---- mail: roles, accounts, actions ----------------------------------------

impl<'a> Checker<'a, '_> {
    /// The host called `name` if it is a MailServer, else an error.
    fn mail_server(&mut self, name: &str, what: &str) -> Option<&'a HostSpec> {
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
    fn mail_user(&mut self, h: &'a HostSpec, user: &str) -> bool {
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
    fn roles(&mut self) {
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

    fn users(&mut self, h: &HostSpec, users: &[super::spec::UserSpec]) {
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
    fn accounts(&mut self) {
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
    fn host_account(
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

    fn send_mail(&mut self, h: &'a HostSpec, from: &str, to: &[String], cc: &[String]) {
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

// ----- file transfer: file servers, eavesdroppers, their actions and checks -----

/// Largest file a scenario may declare or upload: files live in memory.
const MAX_SCENARIO_FILE: u64 = 64 * 1024 * 1024;

/// True if the text would break a command line (CR, LF or other controls).
fn has_control(text: &str) -> bool {
    text.chars().any(char::is_control)
}

impl<'a> Checker<'a, '_> {
    /// An error at the `nth` `field: "value"` if the file has it, else at
    /// `"value"`.
    fn err_field(
        &mut self,
        field: &str,
        value: &str,
        nth: usize,
        message: String,
        help: Option<String>,
    ) {
        let needle = format!("{field}: \"{value}\"");
        let count = self.src.text.matches(&needle).count();
        if count > 0 {
            self.err_text(&needle, nth.min(count - 1), message, help);
        } else {
            self.err_quoted(value, 0, message, help);
        }
    }

    /// The server an action names, and how many earlier actions name it
    /// (to place a diagnostic on the right one).
    fn action_server(&self, action: &ActionSpec) -> Option<(&'a str, usize)> {
        let actions: &'a [ActionSpec] = &self.s.actions;
        let i = actions.iter().position(|a| std::ptr::eq(a, action))?;
        let server = server_of(&actions[i])?;
        let nth = actions[..i]
            .iter()
            .filter(|a| server_of(a) == Some(server))
            .count();
        Some((server, nth))
    }

    fn file_roles(&mut self) {
        let s = self.s;
        for h in &s.hosts {
            match &h.role {
                Role::FileServer {
                    users,
                    files,
                    serves,
                    web_root,
                    data_timeout,
                    tls: _,
                } => {
                    self.file_users(users);
                    self.file_specs(files);
                    if serves.is_empty() {
                        self.err_text(
                            "serves",
                            0,
                            format!("file server `{}` serves nothing", h.name),
                            Some("list its protocols, e.g. `serves: [Ftp, Http, Scp]`".into()),
                        );
                    }
                    for (i, svc) in serves.iter().enumerate() {
                        if serves[..i].contains(svc) {
                            self.err_text(
                                "serves",
                                0,
                                format!("`{svc:?}` is listed twice in `serves` of `{}`", h.name),
                                None,
                            );
                        }
                    }
                    if let Some(root) = web_root {
                        if !serves.contains(&FileService::Http) {
                            self.err_quoted(
                                root,
                                0,
                                format!(
                                    "`web_root` of `{}` is set but it does not serve Http",
                                    h.name
                                ),
                                Some("add `Http` to `serves`".into()),
                            );
                        } else if !is_clean_path(root) {
                            self.err_quoted(
                                root,
                                0,
                                format!(
                                    "`web_root` {root:?} must be an absolute path like \"/pub\""
                                ),
                                None,
                            );
                        }
                    }
                    if let Some(t) = data_timeout
                        && t.0.as_nanos() == 0
                    {
                        self.err_text(
                            "data_timeout",
                            0,
                            "`data_timeout` must be longer than zero".into(),
                            None,
                        );
                    }
                }
                Role::WebServer { files } => self.file_specs(files),
                Role::Eavesdropper { link: (a, b) } => {
                    let ok = self.host(a, "an eavesdropper's link").is_some()
                        & self.host(b, "an eavesdropper's link").is_some();
                    if ok && !self.link_exists(a, b) {
                        self.err_quoted(
                            b,
                            0,
                            format!("eavesdropper `{}` taps a link between `{a}` and `{b}`, but there is none", h.name),
                            Some("add it to `links`, or tap a link that exists".into()),
                        );
                    }
                }
                _ => {}
            }
        }
    }

    fn file_users(&mut self, users: &[FileUserSpec]) {
        for (i, u) in users.iter().enumerate() {
            if u.name.is_empty() || u.name.chars().any(|c| c.is_whitespace() || c.is_control()) {
                self.err_quoted(
                    &u.name,
                    0,
                    format!(
                        "user name {:?} must be non-empty and without spaces",
                        u.name
                    ),
                    None,
                );
            }
            if users[..i].iter().any(|o| o.name == u.name) {
                self.err_quoted(
                    &u.name,
                    1,
                    format!("two users are called `{}`", u.name),
                    None,
                );
            }
            if u.password.is_empty() || has_control(&u.password) {
                self.err_text(
                    "password",
                    0,
                    format!(
                        "the password of `{}` must be non-empty, on one line",
                        u.name
                    ),
                    None,
                );
            }
            if let Some(home) = &u.home
                && (!is_clean_path(home) || home == "/" && users.len() > 1)
            {
                self.err_quoted(
                    home,
                    0,
                    format!("home {home:?} of `{}` must be an absolute path like \"/{}\"", u.name, u.name),
                    Some("a home of \"/\" shows the user everybody's files; use it only with one user".into()),
                );
            }
        }
    }

    fn file_specs(&mut self, files: &[FileSpec]) {
        for (i, f) in files.iter().enumerate() {
            if !is_clean_path(&f.path) || f.path == "/" {
                self.err_quoted(
                    &f.path,
                    0,
                    format!("file path {:?} must be absolute and normalised, like \"/alice/report.txt\"", f.path),
                    None,
                );
            }
            if files[..i].iter().any(|o| o.path == f.path) {
                self.err_quoted(
                    &f.path,
                    1,
                    format!("file {:?} is declared twice", f.path),
                    None,
                );
            }
            self.content(&f.path, f.text.as_deref(), f.size.map(|s| s.0), "File");
        }
    }

    /// Exactly one of `text` and `size`, and not too large.
    fn content(&mut self, name: &str, text: Option<&str>, size: Option<u64>, what: &str) {
        match (text, size) {
            (Some(_), Some(_)) | (None, None) => self.err_quoted(
                name,
                0,
                format!("{what} {name:?} needs either `text` or `size`, not both or neither"),
                Some("e.g. `text: \"hello\\n\"` or `size: \"2MB\"`".into()),
            ),
            (None, Some(n)) if n > MAX_SCENARIO_FILE => self.err_quoted(
                name,
                0,
                format!("{what} {name:?} is too large ({n} bytes)"),
                Some(format!("at most {MAX_SCENARIO_FILE} bytes (64 MiB)")),
            ),
            _ => {}
        }
    }

    /// The server an action names must be a file server speaking `service`.
    fn file_server(&mut self, a: &ActionSpec, service: FileService, action: &str) {
        let Some((server, nth)) = self.action_server(a) else {
            return;
        };
        let Some(h) = self.hosts.get(server).copied() else {
            let help = did_you_mean(server, self.hosts.keys().copied());
            self.err_field(
                "server",
                server,
                nth,
                format!("{action} names an unknown host `{server}`"),
                help,
            );
            return;
        };
        let serves = match &h.role {
            Role::FileServer { serves, .. } => serves.contains(&service),
            Role::WebServer { .. } => service == FileService::Http,
            _ => {
                self.err_field(
                    "server",
                    server,
                    nth,
                    format!(
                        "{action} needs a file server, but `{server}` is a {}",
                        h.role.name()
                    ),
                    Some(format!(
                        "give `{server}` the role `FileServer(serves: [{service:?}], ...)`"
                    )),
                );
                return;
            }
        };
        if !serves {
            self.err_field(
                "server",
                server,
                nth,
                format!("{action}: `{server}` does not serve {service:?}"),
                Some(format!("add `{service:?}` to its `serves`")),
            );
        }
        // `tls: true` needs a server that offers TLS.
        let wants_tls = matches!(
            a.what,
            ActionKind::Ftp { tls: true, .. } | ActionKind::HttpGet { tls: true, .. }
        );
        if wants_tls && !matches!(h.role, Role::FileServer { tls: Some(_), .. }) {
            self.err_field(
                "server",
                server,
                nth,
                format!("{action} with `tls: true`: `{server}` offers no TLS"),
                Some(format!("give `{server}` `tls: Offer` (a FileServer with a certificate from the scenario's CA)")),
            );
        }
    }

    fn file_action(&mut self, h: &HostSpec, a: &ActionSpec) {
        if matches!(h.role, Role::Eavesdropper { .. }) {
            self.err_quoted(
                &h.name,
                0,
                format!("eavesdropper `{}` only listens: it cannot act", h.name),
                None,
            );
        }
        match &a.what {
            ActionKind::Ftp {
                user,
                password,
                steps,
                ..
            } => {
                self.file_server(a, FileService::Ftp, "Ftp");
                self.one_line("user", user);
                self.one_line("password", password);
                for step in steps {
                    self.ftp_step(step);
                }
            }
            ActionKind::HttpGet { paths, .. } => {
                self.file_server(a, FileService::Http, "HttpGet");
                if paths.is_empty() {
                    self.err_text("paths", 0, "`HttpGet` needs at least one path".into(), None);
                }
                for p in paths {
                    if !p.starts_with('/') || p.chars().any(|c| c.is_whitespace() || c.is_control())
                    {
                        self.err_quoted(
                            p,
                            0,
                            format!("HTTP path {p:?} must start with `/` and have no spaces"),
                            None,
                        );
                    }
                }
            }
            ActionKind::ScpUpload {
                user,
                password,
                local,
                remote,
                ..
            } => {
                self.file_server(a, FileService::Scp, "ScpUpload");
                self.one_line("user", user);
                self.one_line("password", password);
                let name = local.path.rsplit('/').next().unwrap_or_default();
                if name.is_empty() || has_control(&local.path) {
                    self.err_quoted(
                        &local.path,
                        0,
                        format!("local file {:?} needs a file name", local.path),
                        None,
                    );
                }
                self.content(
                    &local.path,
                    local.text.as_deref(),
                    local.size.map(|s| s.0),
                    "File",
                );
                self.one_line("remote", remote);
            }
            ActionKind::ScpDownload {
                user,
                password,
                remote,
                ..
            } => {
                self.file_server(a, FileService::Scp, "ScpDownload");
                self.one_line("user", user);
                self.one_line("password", password);
                self.one_line("remote", remote);
            }
            ActionKind::Telnet {
                user,
                password,
                commands,
                ..
            } => {
                self.file_server(a, FileService::Telnet, "Telnet");
                self.one_line("user", user);
                self.one_line("password", password);
                self.telnet_commands(commands);
            }
            _ => {}
        }
    }

    /// A TELNET user types each command and Return: each must be one
    /// line, and nothing can follow `exit`.
    fn telnet_commands(&mut self, commands: &[String]) {
        for (i, command) in commands.iter().enumerate() {
            if command.trim().is_empty() || has_control(command) {
                self.err_text(
                    "commands",
                    0,
                    format!(
                        "TELNET command {} must be non-empty text on one line",
                        i + 1
                    ),
                    Some("the user presses Return after each command by itself".into()),
                );
            }
            if matches!(command.trim(), "exit" | "logout") && i + 1 < commands.len() {
                self.err_quoted(
                    &commands[i + 1],
                    0,
                    format!(
                        "`{}` comes after `{}`: the session has ended by then",
                        commands[i + 1],
                        command.trim()
                    ),
                    Some("`exit` is typed after the last command anyway; leave it out".into()),
                );
            }
        }
    }

    /// A field that goes into a command line: non-empty, no CR or LF.
    fn one_line(&mut self, field: &str, value: &str) {
        if value.is_empty() || has_control(value) {
            self.err_text(
                &format!("{field}:"),
                0,
                format!("`{field}` must be non-empty text on one line"),
                Some("a line break would smuggle in another command".into()),
            );
        }
    }

    fn ftp_step(&mut self, step: &FtpStep) {
        let name = step.name();
        match step {
            FtpStep::Stor {
                name: file,
                text,
                size,
            }
            | FtpStep::Appe {
                name: file,
                text,
                size,
            } => {
                if file.is_empty() || has_control(file) {
                    self.err_text(
                        name,
                        0,
                        format!("`{name}` needs a file name on one line"),
                        None,
                    );
                }
                self.content(file, text.as_deref(), size.map(|s| s.0), name);
            }
            FtpStep::Rename(from, to) => {
                for arg in [from, to] {
                    if arg.is_empty() || has_control(arg) {
                        self.err_text(name, 0, "`Rename` needs two names on one line".into(), None);
                    }
                }
            }
            FtpStep::ListPath(arg)
            | FtpStep::Retr(arg)
            | FtpStep::Cwd(arg)
            | FtpStep::Mkd(arg)
            | FtpStep::Rmd(arg)
            | FtpStep::Dele(arg)
            | FtpStep::Size(arg)
            | FtpStep::Raw(arg) => {
                if arg.is_empty() || has_control(arg) {
                    self.err_text(
                        &format!("{name}("),
                        0,
                        format!("`{name}` needs an argument on one line"),
                        Some("a line break would smuggle in another command".into()),
                    );
                }
            }
            FtpStep::List
            | FtpStep::Nlst
            | FtpStep::Cdup
            | FtpStep::Pwd
            | FtpStep::Type(_)
            | FtpStep::Noop
            | FtpStep::Quit => {}
        }
    }

    /// Hosts that run a client action that can download files.
    fn downloaders(&self) -> Vec<&'a str> {
        self.s
            .actions
            .iter()
            .filter(|a| match &a.what {
                ActionKind::Ftp { steps, .. } => {
                    steps.iter().any(|s| matches!(s, FtpStep::Retr(_)))
                }
                ActionKind::HttpGet { .. } | ActionKind::ScpDownload { .. } => true,
                _ => false,
            })
            .map(|a| a.host.as_str())
            .collect()
    }

    fn file_host(&mut self, host: &str, check: &str) {
        if let Some(h) = self.host(host, "a final check")
            && !matches!(h.role, Role::FileServer { .. } | Role::WebServer { .. })
        {
            self.err_quoted(
                host,
                0,
                format!(
                    "`{check}` needs a file server, but `{host}` is a {}",
                    h.role.name()
                ),
                None,
            );
        }
    }

    /// The file server and the path a `File` or `NoFile` check names.
    fn file_on_server(&mut self, host: &str, path: &str, check: &str) {
        self.file_host(host, check);
        if !is_clean_path(path) {
            self.err_field(
                "path",
                path,
                0,
                format!("`{check}` path {path:?} must be absolute, like \"/alice/notes.txt\""),
                None,
            );
        }
    }

    fn file_final(&mut self, f: &FinalCheck) {
        match f {
            FinalCheck::File {
                host, path, sha256, ..
            } => {
                self.file_on_server(host, path, "File");
                if let Some(h) = sha256 {
                    self.sha256(h);
                }
            }
            FinalCheck::NoFile { host, path } => self.file_on_server(host, path, "NoFile"),
            FinalCheck::Downloaded {
                host,
                sha256,
                same_as,
                ..
            } => {
                if self.host(host, "a final check").is_some()
                    && !self.downloaders().contains(&host.as_str())
                {
                    self.err_quoted(
                        host,
                        0,
                        format!(
                            "`Downloaded` on `{host}`, but no action of `{host}` downloads anything"
                        ),
                        Some(
                            "give it an `Ftp` action with `Retr`, an `HttpGet` or an `ScpDownload`"
                                .into(),
                        ),
                    );
                }
                if let Some(h) = sha256 {
                    self.sha256(h);
                }
                if let Some((server, path)) = same_as {
                    self.file_host(server, "Downloaded(same_as)");
                    if !is_clean_path(path) {
                        self.err_quoted(
                            path,
                            0,
                            format!("`same_as` path {path:?} must be absolute"),
                            None,
                        );
                    }
                }
            }
            FinalCheck::Eavesdropped { host, contains }
            | FinalCheck::NotEavesdropped { host, contains } => {
                if let Some(h) = self.host(host, "a final check")
                    && !matches!(h.role, Role::Eavesdropper { .. })
                {
                    self.err_quoted(
                        host,
                        0,
                        format!("`{host}` is not an eavesdropper"),
                        Some("give it `role: Eavesdropper(link: (\"a\", \"b\"))`".into()),
                    );
                }
                if contains.is_empty() {
                    self.err_text("contains", 0, "`contains` must not be empty".into(), None);
                }
            }
            _ => {}
        }
    }

    fn sha256(&mut self, hex: &str) {
        if hex.len() != 64 || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
            self.err_quoted(
                hex,
                0,
                "`sha256` must be 64 hexadecimal digits".into(),
                Some("`sha256sum FILE` prints it".into()),
            );
        }
    }
}

/// The server a file transfer action names.
fn server_of(a: &ActionSpec) -> Option<&str> {
    match &a.what {
        ActionKind::Ftp { server, .. }
        | ActionKind::HttpGet { server, .. }
        | ActionKind::ScpUpload { server, .. }
        | ActionKind::ScpDownload { server, .. }
        | ActionKind::Telnet { server, .. } => Some(server),
        _ => None,
    }
}

/// True for an absolute path already in normal form (`/a/b`, no `.`, `..`,
/// empty or over-long components).
fn is_clean_path(path: &str) -> bool {
    path.starts_with('/')
        && crate::apps::vfs::VPath::parse(path).is_ok_and(|p| p.to_string() == path)
}
// ---- IMAP: steps, folders, flags -------------------------------------------

/// The system flags a scenario may name (RFC 3501 §2.3.2; `\Recent` is
/// the server's to set).
const SYSTEM_FLAGS: [&str; 5] = ["\\Seen", "\\Answered", "\\Flagged", "\\Deleted", "\\Draft"];

/// The kinds of IMAP update `SawUpdate` knows.
const UPDATE_KINDS: [&str; 3] = ["exists", "expunge", "flags"];

/// A value as it is written inside a RON string, to find it in the file.
fn ron_escaped(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"")
}

/// What is wrong with a flag as a scenario writes it, if anything, with
/// a hint.
fn flag_problem(flag: &str) -> Option<(String, Option<String>)> {
    let system = || Some(format!("system flags: {}", SYSTEM_FLAGS.join(", ")));
    if flag.eq_ignore_ascii_case("\\Recent") {
        return Some((
            "`\\Recent` cannot be set or cleared: the server gives it to the first session that sees a new message".into(),
            system(),
        ));
    }
    match Flag::parse(flag) {
        Some(Flag::Keyword(k)) => {
            // "Seen" is a keyword of its own, not the system flag.
            let meant = SYSTEM_FLAGS
                .iter()
                .find(|s| s[1..].eq_ignore_ascii_case(&k))?;
            Some((
                format!("{flag:?} is a keyword, not the system flag {meant}"),
                Some(format!(
                    "write the system flag as \"{}\"",
                    ron_escaped(meant)
                )),
            ))
        }
        Some(_) => None,
        None if flag.starts_with('\\') => Some((
            format!("unknown system flag {flag:?}"),
            did_you_mean(flag, SYSTEM_FLAGS).or_else(system),
        )),
        None => Some((
            format!(
                "{flag:?} is not a flag: a keyword is one word without spaces or ( ) {{ % * \" \\ ]"
            ),
            Some("e.g. \"$Work\", or a system flag like \"\\\\Flagged\"".into()),
        )),
    }
}

/// `name` and the folders above it ("a/b/c" gives "a", "a/b", "a/b/c").
fn with_parents(name: &str) -> Vec<String> {
    let mut out: Vec<String> = name
        .char_indices()
        .filter(|&(_, c)| c == crate::proto::imap::DELIMITER)
        .map(|(i, _)| name[..i].to_string())
        .collect();
    out.push(name.to_string());
    out
}

/// The text that starts an IMAP step in a scenario: `Read(` or
/// `SearchUnseen`.
fn step_needle(step: &ImapStepSpec) -> String {
    match step {
        ImapStepSpec::Login
        | ImapStepSpec::List
        | ImapStepSpec::SearchAll
        | ImapStepSpec::SearchUnseen
        | ImapStepSpec::ReadFound
        | ImapStepSpec::ReadAll
        | ImapStepSpec::PeekAll
        | ImapStepSpec::Expunge
        | ImapStepSpec::Noop
        | ImapStepSpec::Logout => step.name().to_string(),
        _ => format!("{}(", step.name()),
    }
}

/// A problem with one IMAP step: where (an unquoted needle and which of
/// its appearances in the action, or a quoted value) and what.
enum StepProblem {
    At(String, usize, String, Option<String>),
    Quoted(String, String, Option<String>),
}

impl<'a> Checker<'a, '_> {
    /// Checks the folders a user has from the start.
    fn user_folders(&mut self, u: &UserSpec) {
        let mut seen = std::collections::BTreeSet::new();
        for f in &u.folders {
            let quoted = ron_escaped(f);
            if f.eq_ignore_ascii_case(INBOX) {
                self.err_quoted(
                    &quoted,
                    0,
                    format!("user `{}` has an INBOX already: every user does", u.name),
                    Some("list only the other folders".into()),
                );
            } else if !valid_folder_name(f) {
                self.err_quoted(
                    &quoted,
                    0,
                    format!("{f:?} is not a folder name"),
                    Some("`/` separates levels (none empty); `*` and `%` are not allowed".into()),
                );
            }
            if !seen.insert(f.as_str()) {
                self.err_quoted(
                    &quoted,
                    1,
                    format!("user `{}` has the folder {f:?} twice", u.name),
                    None,
                );
            }
        }
    }

    /// The folders `user` of mail server `server` can have: the INBOX,
    /// those given with the user, and those any IMAP session of theirs
    /// creates.
    fn known_folders(&self, server: &str, user: &str) -> Vec<String> {
        let mut out = vec![INBOX.to_string()];
        if let Some(h) = self.hosts.get(server) {
            for u in h
                .role
                .users()
                .iter()
                .filter(|u| u.name.eq_ignore_ascii_case(user))
            {
                out.extend(u.folders.iter().flat_map(|f| with_parents(f)));
            }
        }
        for a in &self.s.actions {
            let ActionKind::FetchMail {
                account,
                protocol: MailProtocol::Imap,
                steps,
                ..
            } = &a.what
            else {
                continue;
            };
            let Some(acc) = self
                .hosts
                .get(a.host.as_str())
                .and_then(|h| h.account(account))
            else {
                continue;
            };
            if acc.server == server && acc.login_name().eq_ignore_ascii_case(user) {
                for step in steps {
                    if let ImapStepSpec::Create(f) = step {
                        out.extend(with_parents(f));
                    }
                }
            }
        }
        out
    }

    /// A problem if `folder` is not one the user can have.
    fn folder_problem(&self, server: &str, user: &str, folder: &str) -> Option<StepProblem> {
        let known = self.known_folders(server, user);
        let found = known
            .iter()
            .any(|k| k == folder || (k == INBOX && folder.eq_ignore_ascii_case(INBOX)));
        if found {
            return None;
        }
        let help = did_you_mean(folder, known.iter().map(String::as_str)).or_else(|| {
            Some(format!(
                "its folders: {}; give the user `folders: [...]` or add a `Create(...)` step",
                known.join(", ")
            ))
        });
        Some(StepProblem::Quoted(
            ron_escaped(folder),
            format!("user `{user}` of `{server}` has no folder {folder:?}"),
            help,
        ))
    }

    /// Checks a FetchMail's `steps` (the `i`-th action).
    fn imap_steps(
        &mut self,
        i: usize,
        account: Option<&'a AccountSpec>,
        protocol: MailProtocol,
        steps: &[ImapStepSpec],
    ) {
        if protocol == MailProtocol::Pop3 {
            if !steps.is_empty() {
                let d = self.src.at_text_in_item(
                    "actions",
                    "Action",
                    i,
                    "steps",
                    0,
                    "`steps` are for IMAP: with POP3 the user agent downloads the whole mailbox"
                        .into(),
                    Some("write `protocol: Imap` to work on the mailbox where it is".into()),
                );
                self.out.push(d);
            }
            return;
        }
        // An unknown account was reported already.
        let Some(acc) = account else { return };
        let (server, user) = (acc.server.as_str(), acc.login_name());
        let mut problems = Vec::new();
        let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
        let (mut selected, mut searched) = (false, false);
        let last = steps.len().saturating_sub(1);
        for (k, step) in steps.iter().enumerate() {
            let name = step.name();
            let nth = {
                let n = counts.entry(name).or_insert(0);
                *n += 1;
                *n - 1
            };
            let at = |message: String, help: Option<String>| {
                StepProblem::At(step_needle(step), nth, message, help)
            };
            let needs_folder = !matches!(
                step,
                ImapStepSpec::Login
                    | ImapStepSpec::Logout
                    | ImapStepSpec::List
                    | ImapStepSpec::Create(_)
                    | ImapStepSpec::Select(_)
                    | ImapStepSpec::Noop
                    | ImapStepSpec::Idle(_)
            );
            if needs_folder && !selected {
                problems.push(at(
                    format!(
                        "`{name}` works on the selected folder, but no `Select` comes before it"
                    ),
                    Some("add `Select(\"INBOX\")` before it".into()),
                ));
            }
            if let Some(subject) = match step {
                ImapStepSpec::Read { subject }
                | ImapStepSpec::Flag { subject, .. }
                | ImapStepSpec::Unflag { subject, .. }
                | ImapStepSpec::Copy { subject, .. }
                | ImapStepSpec::Move { subject, .. }
                | ImapStepSpec::Delete { subject } => Some(subject),
                _ => None,
            } {
                searched = true;
                if subject.trim().is_empty() {
                    problems.push(at(
                        format!("`{name}` needs a `subject` to look for"),
                        Some("a part of the Subject, e.g. `subject: \"Lunch\"`".into()),
                    ));
                }
            }
            match step {
                ImapStepSpec::Login if k != 0 => problems.push(at(
                    "`Login` can only be the first step".into(),
                    Some("the session starts with LOGIN anyway".into()),
                )),
                ImapStepSpec::Logout if k != last => problems.push(at(
                    "`Logout` can only be the last step".into(),
                    Some("the session ends with LOGOUT anyway; a later session is another `FetchMail`".into()),
                )),
                ImapStepSpec::Create(f) if f.eq_ignore_ascii_case(INBOX) || !valid_folder_name(f) => {
                    problems.push(StepProblem::Quoted(
                        ron_escaped(f),
                        format!("cannot create a folder called {f:?}"),
                        Some("`/` separates levels (none empty); `*`, `%` and INBOX are not allowed".into()),
                    ));
                }
                ImapStepSpec::Select(f) => {
                    problems.extend(self.folder_problem(server, user, f));
                    selected = true;
                    searched = false;
                }
                ImapStepSpec::SearchAll | ImapStepSpec::SearchUnseen => searched = true,
                ImapStepSpec::ReadFound if !searched => problems.push(at(
                    "`ReadFound` reads what the last search found, but no search comes before it".into(),
                    Some("add `SearchUnseen` before it".into()),
                )),
                ImapStepSpec::Flag { flag, .. } | ImapStepSpec::Unflag { flag, .. } => {
                    if let Some((message, help)) = flag_problem(flag) {
                        problems.push(StepProblem::Quoted(ron_escaped(flag), message, help));
                    }
                }
                ImapStepSpec::Copy { to, .. } | ImapStepSpec::Move { to, .. } => {
                    problems.extend(self.folder_problem(server, user, to));
                }
                ImapStepSpec::Idle(d) if d.0.as_nanos() == 0 => problems.push(at(
                    "`Idle` needs a duration longer than zero".into(),
                    Some("e.g. `Idle(\"30s\")`".into()),
                )),
                _ => {}
            }
        }
        for p in problems {
            let d = match p {
                StepProblem::At(needle, nth, message, help) => self
                    .src
                    .at_text_in_item("actions", "Action", i, &needle, nth, message, help),
                StepProblem::Quoted(needle, message, help) => self
                    .src
                    .at_quoted_in_item("actions", "Action", i, &needle, message, help),
            };
            self.out.push(d);
        }
    }

    /// Checks a `Flags` final check.
    fn final_flags(
        &mut self,
        host: &str,
        user: Option<&str>,
        folder: Option<&str>,
        subject: &str,
        has: &[String],
        lacks: &[String],
    ) {
        if let Some(h) = self.host(host, "a final check") {
            if h.role.is_mail_server() {
                match user {
                    None => self.err_quoted(
                        host,
                        0,
                        format!("`Flags` on mail server `{host}` needs the mailbox's `user`"),
                        Some("e.g. `user: \"bob\"`".into()),
                    ),
                    Some(u) => {
                        if self.mail_user(h, u)
                            && let Some(f) = folder
                            && let Some(StepProblem::Quoted(needle, message, help)) =
                                self.folder_problem(&h.name, u, f)
                        {
                            self.err_quoted(&needle, 0, message, help);
                        }
                    }
                }
            } else if !h.accounts.is_empty() {
                if let Some(u) = user {
                    self.err_quoted(
                        u,
                        0,
                        format!("`user` is for mail servers: on `{host}` the check looks at what its user agent saw with IMAP"),
                        Some("leave `user` out, or name the mail server as `host`".into()),
                    );
                }
            } else {
                self.err_quoted(
                    host,
                    0,
                    format!(
                        "`Flags` needs a MailServer or a host with `accounts`, but `{host}` is a {} without accounts",
                        h.role.name()
                    ),
                    None,
                );
            }
        }
        if subject.trim().is_empty() {
            self.err_text(
                "subject: \"\"",
                0,
                "`Flags` needs a `subject` to look for".into(),
                None,
            );
        }
        if has.is_empty() && lacks.is_empty() {
            self.err_text(
                "Flags(",
                0,
                "`Flags` needs `has` or `lacks`".into(),
                Some("e.g. `has: [\"\\\\Seen\"]`".into()),
            );
        }
        for f in has.iter().chain(lacks) {
            if let Some((message, help)) = flag_problem(f) {
                self.err_quoted(&ron_escaped(f), 0, message, help);
            }
        }
    }

    /// A final check that looks at what a host's user agent saw: the host
    /// needs mail accounts.
    fn user_agent_host(&mut self, host: &str, check: &str) {
        if let Some(h) = self.host(host, "a final check")
            && h.accounts.is_empty()
        {
            self.err_quoted(
                host,
                0,
                format!("`{check}` needs a user agent on `{host}`, but it has no `accounts`"),
                None,
            );
        }
    }

    /// Checks a `SawUpdate` final check.
    fn final_saw_update(&mut self, host: &str, kind: &str, flag: Option<&str>) {
        self.user_agent_host(host, "SawUpdate");
        if !UPDATE_KINDS.contains(&kind) {
            let help = did_you_mean(kind, UPDATE_KINDS)
                .or_else(|| Some(format!("kinds: {}", UPDATE_KINDS.join(", "))));
            self.err_quoted(kind, 0, format!("unknown kind of update {kind:?}"), help);
        }
        if let Some(f) = flag {
            if let Some((message, help)) = flag_problem(f) {
                self.err_quoted(&ron_escaped(f), 0, message, help);
            } else if kind != "flags" {
                self.err_quoted(
                    &ron_escaped(f),
                    0,
                    "`flag` only applies to updates of `kind: \"flags\"`".into(),
                    None,
                );
            }
        }
    }
}
