//! Semantic checks of a parsed scenario: everything RON's types cannot
//! express (names that must exist, values in range, services on hosts of
//! the right role), each reported at the place in the file it concerns.

use super::diag::{Diagnostic, Source, did_you_mean};
use super::spec::{
    ActionKind, ActionSpec, FaultKind, FileService, FileSpec, FileUserSpec, FinalCheck, FtpStep,
    HostSpec, Pattern, Role, Scenario, ServiceSpec, VERSION,
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
    c.file_roles();
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
        for l in &self.s.links {
            let a = self.host(&l.a, "a link");
            let b = self.host(&l.b, "a link");
            if a.is_some() && l.a == l.b {
                self.err_quoted(
                    &l.b,
                    0,
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
            let _ = b;
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
        for a in &self.s.actions {
            let Some(h) = self.host(&a.host, "an action") else {
                continue;
            };
            if h.role == Role::Router {
                self.err_quoted(
                    &a.host,
                    0,
                    format!("router `{}` cannot act: routers run no programs", a.host),
                    None,
                );
            }
            match &a.what {
                ActionKind::TcpSend { to, port, .. } => {
                    if let Some(t) = self.host(to, "TcpSend")
                        && t.role == Role::Router
                    {
                        self.err_quoted(
                            to,
                            0,
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
                ActionKind::Ftp { .. }
                | ActionKind::HttpGet { .. }
                | ActionKind::ScpUpload { .. }
                | ActionKind::ScpDownload { .. } => self.file_action(h, a),
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
            }
        }
    }
}

fn service_allowed(role: &Role, svc: &ServiceSpec) -> bool {
    match svc {
        ServiceSpec::Discard { .. } => matches!(role, Role::Client | Role::Server),
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
            ActionKind::TcpSend { .. } => {}
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

    fn file_final(&mut self, f: &FinalCheck) {
        match f {
            FinalCheck::File {
                host, path, sha256, ..
            } => {
                self.file_host(host, "File");
                if !is_clean_path(path) {
                    self.err_field(
                        "path",
                        path,
                        0,
                        format!("`File` path {path:?} must be absolute, like \"/alice/notes.txt\""),
                        None,
                    );
                }
                if let Some(h) = sha256 {
                    self.sha256(h);
                }
            }
            FinalCheck::NoFile { host, path } => {
                self.file_host(host, "NoFile");
                if !is_clean_path(path) {
                    self.err_field(
                        "path",
                        path,
                        0,
                        format!(
                            "`NoFile` path {path:?} must be absolute, like \"/alice/notes.txt\""
                        ),
                        None,
                    );
                }
            }
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
            FinalCheck::Received { .. } => {}
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
        | ActionKind::ScpDownload { server, .. } => Some(server),
        ActionKind::TcpSend { .. } => None,
    }
}

/// True for an absolute path already in normal form (`/a/b`, no `.`, `..`,
/// empty or over-long components).
fn is_clean_path(path: &str) -> bool {
    path.starts_with('/')
        && crate::apps::vfs::VPath::parse(path).is_ok_and(|p| p.to_string() == path)
}
