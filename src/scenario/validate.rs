//! Semantic checks of a parsed scenario: everything RON's types cannot
//! express (names that must exist, values in range, services on hosts of
//! the right role), each reported at the place in the file it concerns.

use super::diag::{Diagnostic, Source, did_you_mean};
use super::spec::{
    ActionKind, FaultKind, FinalCheck, HostSpec, Pattern, Role, Scenario, ServiceSpec, VERSION,
};
use super::units::parse_duration;
use crate::trace::Layer;
use std::collections::BTreeMap;

struct Checker<'a, 'b> {
    src: &'a Source<'b>,
    s: &'a Scenario,
    hosts: BTreeMap<&'a str, &'a HostSpec>,
    out: Vec<Diagnostic>,
}

/// Every semantic problem of `s`, in file order as far as possible.
pub fn validate(src: &Source<'_>, s: &Scenario) -> Vec<Diagnostic> {
    let mut c = Checker {
        src,
        s,
        hosts: BTreeMap::new(),
        out: Vec::new(),
    };
    c.header();
    c.hosts();
    c.links();
    c.actions();
    c.faults();
    c.patterns();
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
                | FaultKind::SetLoss(a, b, _) => {
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
            }
        }
    }

    fn pattern(&mut self, p: &Pattern, section: &str) {
        for (key, value) in p {
            match key.as_str() {
                "layer" => {
                    let name = value.as_str().unwrap_or_default();
                    if Layer::from_name(name).is_none() {
                        let names = Layer::ALL.map(Layer::name);
                        let help = did_you_mean(name, names)
                            .or_else(|| Some(format!("layers: {}", names.join(", "))));
                        self.err_quoted(
                            name,
                            0,
                            format!("unknown layer {value} in `{section}`"),
                            help,
                        );
                    }
                }
                "after" | "before" => match value.as_str().map(parse_duration) {
                    Some(Ok(_)) => {}
                    Some(Err(e)) => self.err_text(&format!("\"{key}\""), 0, e, None),
                    None => self.err_text(
                        &format!("\"{key}\""),
                        0,
                        format!("`{key}` must be a duration like \"2s\""),
                        None,
                    ),
                },
                _ => {
                    if value.is_object() || value.is_array() {
                        self.err_text(
                            &format!("\"{key}\""),
                            0,
                            format!("pattern field `{key}` must be a string, number or boolean"),
                            None,
                        );
                    }
                }
            }
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
            }
        }
    }
}

fn service_allowed(role: &Role, svc: &ServiceSpec) -> bool {
    match svc {
        ServiceSpec::Discard { .. } => matches!(role, Role::Client | Role::Server),
    }
}
