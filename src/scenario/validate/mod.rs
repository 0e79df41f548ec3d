//! Semantic checks of a parsed scenario: everything RON's types cannot
//! express (names that must exist, values in range, services on hosts of
//! the right role), each reported at the place in the file it concerns.
//!
//! It does not run anything. The one thing it builds is the network
//! alone, when everything else is right, to catch what only addressing
//! reveals (a duplicate address, a host with no link).
//!
//! The pieces: this file checks the header, the hosts, links and routes,
//! the actions' timing, the faults, the patterns, the quiz and the topology;
//! `mail`, `imap` and `files` check what belongs to each service.

use super::diag::{Diagnostic, Source, did_you_mean};
use super::spec::{
    ActionKind, FaultKind, FinalCheck, HostSpec, Pattern, Role, Scenario, ServiceSpec, VERSION,
};
use super::units::parse_duration;
use crate::trace::Layer;
use crate::trace::vocab::{self, PatternProblem};
use std::collections::BTreeMap;

mod files;
mod imap;
mod mail;

struct Checker<'a, 'b> {
    src: &'a Source<'b>,
    s: &'a Scenario,
    hosts: BTreeMap<&'a str, &'a HostSpec>,
    out: Vec<Diagnostic>,
    /// How often each text was written in the patterns of each section so
    /// far: `(section, text) -> count`.
    pattern_texts: BTreeMap<(String, String), usize>,
    /// The list item being checked (section, tag, index), if any: an
    /// unknown host it names is reported inside it.
    item: Option<(&'static str, &'static str, usize)>,
}

/// Every semantic problem of `s`, in file order as far as possible.
pub fn validate(src: &Source<'_>, s: &Scenario) -> Vec<Diagnostic> {
    let mut c = Checker {
        src,
        s,
        hosts: BTreeMap::new(),
        out: Vec::new(),
        pattern_texts: BTreeMap::new(),
        item: None,
    };
    c.header();
    c.hosts();
    c.roles();
    c.accounts();
    c.links();
    c.routes();
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
    /// An error at the `nth` `"needle"` of the file; the first one inside
    /// the item being checked, when there is one.
    fn err_quoted(&mut self, needle: &str, nth: usize, message: String, help: Option<String>) {
        if let (0, Some((section, tag, index))) = (nth, self.item) {
            return self.err_in_item(section, tag, index, needle, message, help);
        }
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

    /// An error at the `nth` `needle` (as written) of the file; the first
    /// one inside the item being checked, when there is one.
    fn err_text(&mut self, needle: &str, nth: usize, message: String, help: Option<String>) {
        if let (0, Some((section, tag, index))) = (nth, self.item) {
            let d = self
                .src
                .at_text_in_item(section, tag, index, needle, 0, message, help);
            self.out.push(d);
            return;
        }
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

    /// The host called `name`, or an error at its mention (inside the
    /// item being checked, if any).
    fn host(&mut self, name: &str, what: &str) -> Option<&'a HostSpec> {
        if let Some((section, tag, index)) = self.item {
            return self.host_in_item(name, what, section, tag, index);
        }
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
        for (i, h) in self.s.hosts.iter().enumerate() {
            self.item = Some(("hosts", "Host", i));
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
                self.err_text(
                    "firewall",
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
        self.item = None;
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
            self.item = Some(("links", "Link", i));
            for (name, p) in [("loss", l.loss), ("duplicate", l.duplicate)] {
                if !(0.0..=1.0).contains(&p) || p.is_nan() {
                    self.err_text(
                        &format!("{name}:"),
                        0,
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
            self.item = None;
        }
        // A host on no link can neither send nor be reached (its mail
        // would bounce with "no address"). An eavesdropper taps a link
        // instead, and a lone host has nothing to link to. A link to a
        // misspelt host is reported already, and is the likely cause.
        let ends_known = self.s.links.iter().all(|l| {
            self.hosts.contains_key(l.a.as_str()) && self.hosts.contains_key(l.b.as_str())
        });
        if self.s.hosts.len() > 1 && ends_known {
            let linked: std::collections::HashSet<&str> = self
                .s
                .links
                .iter()
                .flat_map(|l| [l.a.as_str(), l.b.as_str()])
                .collect();
            for (i, h) in self.s.hosts.iter().enumerate() {
                if !linked.contains(h.name.as_str()) && !matches!(h.role, Role::Eavesdropper { .. })
                {
                    self.err_in_item(
                        "hosts",
                        "Host",
                        i,
                        &h.name,
                        format!("`{}` has no link: nothing can reach it", h.name),
                        Some(format!(
                            "connect it, e.g. `Link(a: \"{}\", b: ...)`",
                            h.name
                        )),
                    );
                }
            }
        }
    }

    /// A pinned route names three hosts, leaves `at` by one of its links,
    /// goes somewhere else than `at`, and is the only one for its `at`
    /// and `to`. A route that sends packets round in a circle is fine:
    /// their TTL runs out.
    fn routes(&mut self) {
        let mut seen: BTreeMap<(&str, &str), usize> = BTreeMap::new();
        for (i, r) in self.s.routes.iter().enumerate() {
            let at = self.host_in_item(&r.at, "a route", "routes", "Route", i);
            let to = self.host_in_item(&r.to, "a route", "routes", "Route", i);
            let via = self.host_in_item(&r.via, "a route", "routes", "Route", i);
            if at.is_some() && to.is_some() && r.at == r.to {
                self.err_in_item(
                    "routes",
                    "Route",
                    i,
                    &r.at,
                    format!(
                        "a route at `{}` to `{}` itself: its packets are already there",
                        r.at, r.to
                    ),
                    Some(
                        "`to` is the destination, `at` the node that sends packets on toward it"
                            .into(),
                    ),
                );
            }
            if at.is_some() && via.is_some() && !self.link_exists(&r.at, &r.via) {
                let neighbours = self.neighbours(&r.at);
                let linked = if neighbours.is_empty() {
                    format!("`{}` has no link", r.at)
                } else {
                    format!("`{}` is linked to {}", r.at, neighbours.join(", "))
                };
                let (message, help) = if r.via == r.at {
                    (
                        format!("a route at `{}` via `{}` itself", r.at, r.via),
                        Some(format!(
                            "`via` is the neighbour the packets go to: {linked}"
                        )),
                    )
                } else {
                    (
                        format!(
                            "a route at `{}` via `{}`: there is no link between `{}` and `{}`",
                            r.at, r.via, r.at, r.via
                        ),
                        did_you_mean(&r.via, neighbours.iter().copied()).or(Some(linked)),
                    )
                };
                if r.via != r.at && r.via != r.to {
                    self.err_in_item("routes", "Route", i, &r.via, message, help);
                } else {
                    // The name is written more than once: point at `via`.
                    let d = self
                        .src
                        .at_text_in_item("routes", "Route", i, "via", 0, message, help);
                    self.out.push(d);
                }
            }
            if at.is_some()
                && to.is_some()
                && let Some(first) = seen.insert((&r.at, &r.to), i)
            {
                self.err_in_item(
                    "routes",
                    "Route",
                    i,
                    &r.at,
                    format!(
                        "two routes at `{}` to `{}` (routes {} and {})",
                        r.at,
                        r.to,
                        first + 1,
                        i + 1
                    ),
                    Some("a node sends a destination's packets one way: keep one".into()),
                );
            }
        }
    }

    /// The hosts `name` shares a link with, in the order of the links.
    fn neighbours(&self, name: &str) -> Vec<&'a str> {
        let mut out: Vec<&'a str> = Vec::new();
        for l in &self.s.links {
            let other = if l.a == name {
                l.b.as_str()
            } else if l.b == name {
                l.a.as_str()
            } else {
                continue;
            };
            if !out.contains(&other) {
                out.push(other);
            }
        }
        out
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
        for (i, f) in self.s.faults.iter().enumerate() {
            self.item = Some(("faults", "Fault", i));
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
            self.item = None;
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
        for (i, f) in self.s.final_state.iter().enumerate() {
            self.item = Some(("final", "", i));
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
            self.item = None;
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

#[cfg(test)]
mod testing {
    //! Bundled scenarios broken on purpose, for the tests of each check.

    use crate::scenario::{bundled, parse};

    /// The messages of the problems found in the bundled scenario `name`
    /// once the first `from` in it is replaced by `to`.
    pub(super) fn problems(name: &str, from: &str, to: &str) -> Vec<String> {
        let text = bundled::find(name).expect("a bundled scenario").text;
        assert!(text.contains(from), "{name} has no {from:?}");
        match parse("test.ron", &text.replacen(from, to, 1)) {
            Ok(_) => Vec::new(),
            Err(e) => e.diagnostics.into_iter().map(|d| d.message).collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::testing::problems;

    #[test]
    fn the_bundled_scenarios_are_valid() {
        for b in crate::scenario::bundled::ALL {
            if let Err(e) = crate::scenario::parse(b.name, b.text) {
                panic!("{}: {e:?}", b.name);
            }
        }
    }

    /// The problems of isp_to_organization with these routes.
    fn with_routes(routes: &str) -> Vec<String> {
        problems(
            "isp_to_organization",
            "    actions: [",
            &format!("    routes: [{routes}],\n    actions: ["),
        )
    }

    #[test]
    fn a_route_through_the_other_router_is_valid() {
        let p = with_routes(r#"Route(at: "isp-router", to: "user2", via: "org-router")"#);
        assert!(p.is_empty(), "{p:?}");
    }

    #[test]
    fn a_route_that_loops_is_valid() {
        // Each router sends user2's packets to the other: the TTL ends
        // them, which is for the run to show, not an error.
        let p = with_routes(
            r#"Route(at: "org-router", to: "user2", via: "isp-router"),
               Route(at: "isp-router", to: "user2", via: "org-router")"#,
        );
        assert!(p.is_empty(), "{p:?}");
    }

    #[test]
    fn a_route_names_hosts_of_the_scenario() {
        for (route, name) in [
            (
                r#"Route(at: "isp-ruoter", to: "user2", via: "org-router")"#,
                "isp-ruoter",
            ),
            (
                r#"Route(at: "isp-router", to: "usr2", via: "org-router")"#,
                "usr2",
            ),
            (
                r#"Route(at: "isp-router", to: "user2", via: "org-ruoter")"#,
                "org-ruoter",
            ),
        ] {
            let p = with_routes(route);
            assert_eq!(p, [format!("a route names an unknown host `{name}`")]);
        }
    }

    #[test]
    fn a_route_leaves_by_a_link_of_its_node() {
        let p = with_routes(r#"Route(at: "isp-router", to: "user2", via: "user2")"#);
        assert_eq!(
            p,
            [
                "a route at `isp-router` via `user2`: there is no link between `isp-router` and `user2`"
            ]
        );
        let p = with_routes(r#"Route(at: "isp-router", to: "user2", via: "isp-router")"#);
        assert_eq!(p, ["a route at `isp-router` via `isp-router` itself"]);
    }

    #[test]
    fn a_route_leads_away_from_its_node() {
        let p = with_routes(r#"Route(at: "isp-router", to: "isp-router", via: "org-router")"#);
        assert_eq!(
            p,
            ["a route at `isp-router` to `isp-router` itself: its packets are already there"]
        );
    }

    #[test]
    fn a_node_has_one_route_to_a_destination() {
        let p = with_routes(
            r#"Route(at: "isp-router", to: "user2", via: "org-router"),
               Route(at: "isp-router", to: "organization.com", via: "org-router"),
               Route(at: "isp-router", to: "user2", via: "dns")"#,
        );
        assert_eq!(
            p,
            ["two routes at `isp-router` to `user2` (routes 1 and 3)"]
        );
    }

    #[test]
    fn a_link_to_an_unknown_host_is_named() {
        let p = problems("tcp_handshake", "b: \"server\"", "b: \"servr\"");
        assert_eq!(p.len(), 1, "{p:?}");
        assert!(p[0].contains("servr"), "{p:?}");
    }
}
