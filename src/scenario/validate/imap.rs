//! Semantic checks of a scenario's IMAP: the folders a user starts with,
//! the steps of an IMAP session (folders that will exist when the step
//! runs, flags that are system flags or valid keywords) and the final
//! checks of flags and of the updates a user agent saw.
//!
//! Not here: the rest of mail (`mail`): servers, users, accounts.

use super::super::diag::did_you_mean;
use super::super::spec::{AccountSpec, ActionKind, ImapStepSpec, MailProtocol, UserSpec};
use super::Checker;
use crate::apps::mail::store::{Flag, INBOX};
use crate::proto::imap::store::valid_folder_name;
use std::collections::BTreeMap;

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
    pub(super) fn user_folders(&mut self, u: &UserSpec) {
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
    pub(super) fn imap_steps(
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
    pub(super) fn final_flags(
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
    pub(super) fn user_agent_host(&mut self, host: &str, check: &str) {
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
    pub(super) fn final_saw_update(&mut self, host: &str, kind: &str, flag: Option<&str>) {
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

#[cfg(test)]
mod tests {
    use super::super::testing::problems;
    use super::*;

    #[test]
    fn flags_are_system_flags_or_keywords() {
        assert_eq!(flag_problem("\\Seen"), None);
        assert_eq!(flag_problem("$Work"), None);
        assert!(flag_problem("\\Recent").is_some_and(|(m, _)| m.contains("cannot be set")));
        assert!(
            flag_problem("Seen").is_some_and(|(m, _)| m.contains("not the system flag \\Seen"))
        );
        assert!(flag_problem("\\Sen").is_some_and(|(m, _)| m.contains("unknown system flag")));
        assert!(flag_problem("two words").is_some_and(|(m, _)| m.contains("is not a flag")));
    }

    #[test]
    fn a_folder_comes_with_the_folders_above_it() {
        assert_eq!(with_parents("a/b/c"), ["a", "a/b", "a/b/c"]);
        assert_eq!(with_parents("Archive"), ["Archive"]);
    }

    #[test]
    fn a_step_names_a_folder_the_user_has() {
        let p = problems("pop_vs_imap", "to: \"Archive\"", "to: \"Archiv\"");
        assert_eq!(p.len(), 1, "{p:?}");
        assert!(p[0].contains("has no folder \"Archiv\""), "{p:?}");
    }

    #[test]
    fn a_step_with_a_keyword_for_a_system_flag_is_refused() {
        let p = problems("pop_vs_imap", "flag: \"\\\\Flagged\"", "flag: \"Flagged\"");
        assert_eq!(
            p,
            ["\"Flagged\" is a keyword, not the system flag \\Flagged"]
        );
    }
}
