//! Semantic checks of a scenario's file transfer: file servers and their
//! services, users and files, eavesdroppers, the FTP, HTTP, SCP and TELNET
//! actions and the final checks of files (clean paths, one-line values,
//! sizes a scenario may hold in memory).
//!
//! Not here: the mail checks (`mail`, `imap`).

use super::super::diag::did_you_mean;
use super::super::spec::{
    ActionKind, ActionSpec, FileService, FileSpec, FileUserSpec, FinalCheck, FtpStep, HostSpec,
    Role,
};
use super::Checker;

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

    pub(super) fn file_roles(&mut self) {
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

    pub(super) fn file_action(&mut self, h: &HostSpec, a: &ActionSpec) {
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

    pub(super) fn file_final(&mut self, f: &FinalCheck) {
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

#[cfg(test)]
mod tests {
    use super::super::testing::problems;
    use super::*;

    #[test]
    fn clean_paths_are_absolute_and_normal() {
        assert!(is_clean_path("/alice/report.txt"));
        assert!(is_clean_path("/"));
        for p in [
            "alice/report.txt",
            "/alice/../bob",
            "/alice/./x",
            "/alice//x",
            "/alice/",
        ] {
            assert!(!is_clean_path(p), "{p}");
        }
        assert!(has_control("two\r\nlines") && !has_control("one line"));
    }

    #[test]
    fn a_file_path_must_be_clean() {
        let p = problems(
            "ftp_session",
            "File(path: \"/alice/report.txt\"",
            "File(path: \"alice/report.txt\"",
        );
        assert_eq!(p.len(), 1, "{p:?}");
        assert!(p[0].contains("must be absolute and normalised"), "{p:?}");
    }

    #[test]
    fn an_ftp_step_is_one_line() {
        let p = problems(
            "ftp_session",
            "Retr(\"report.txt\")",
            "Retr(\"report.txt\\r\\nDELE x\")",
        );
        assert_eq!(p, ["`Retr` needs an argument on one line"]);
    }
}
