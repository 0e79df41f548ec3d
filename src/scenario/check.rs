//! Checking a finished run against its scenario's expectations.
//!
//! - `expect`: patterns that must match events in this order (each after
//!   the previous one's match). A pattern is a subset of an event's fields;
//!   `"key~"` matches a field containing the text; `after` and `before`
//!   bound the event's time.
//! - `never`: patterns no event may match.
//! - `final`: assertions on the state of the applications at the end.
//!
//! A failure says which expectation failed and shows the nearest actual
//! events with the fields that differ, so a grader sees at once whether
//! the protocol broke or the expectation was wrong.
//!
//! Checking only reads a finished run (its trace and the state of its
//! applications); it runs nothing and changes nothing.

use super::build::Run;
use super::spec::{FinalCheck, Pattern, Scenario};
use super::units::parse_duration;
use crate::apps::mail::UpdateKind;
use crate::apps::mail::bounce::BOUNCE_SUBJECT;
use crate::apps::mail::store::INBOX;
use crate::apps::mail::store::{Flag, flag_names};
use crate::apps::mail::{Folder, MailServer, UserAgent};
use crate::apps::tcp::{Discard, pattern_sha256};
use crate::trace::{Fields, Record, Trace};
use serde_json::Value;
use std::collections::BTreeSet;
use std::fmt;

/// One unmet expectation.
#[derive(Debug, Clone, PartialEq)]
pub enum Failure {
    /// `expect[index]` matched no event after the previous expectation's
    /// match.
    Missing {
        index: usize,
        pattern: String,
        /// Time of the previous expectation's match, in microseconds.
        after_us: Option<u64>,
        /// The closest events, as text lines, with what differs.
        nearest: Vec<Near>,
    },
    /// An event matched `never[index]`.
    Forbidden {
        index: usize,
        pattern: String,
        event: String,
    },
    /// A final-state assertion does not hold.
    Final { check: String, detail: String },
}

/// An actual event close to a missing one.
#[derive(Debug, Clone, PartialEq)]
pub struct Near {
    pub text: String,
    /// `key: expected X, got Y` for each field that differs.
    pub differences: Vec<String>,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::Missing {
                index,
                pattern,
                after_us,
                nearest,
            } => {
                write!(f, "expect[{index}] {pattern} did not happen")?;
                if let Some(t) = after_us {
                    write!(
                        f,
                        " after {}.{:03} ms (where expect[{}] matched)",
                        t / 1000,
                        t % 1000,
                        index - 1
                    )?;
                }
                if nearest.is_empty() {
                    write!(f, "\n    no event of that kind at all")?;
                } else {
                    write!(f, "\n    nearest events:")?;
                    for n in nearest {
                        write!(f, "\n      {}", n.text.trim_start())?;
                        for d in &n.differences {
                            write!(f, "\n        - {d}")?;
                        }
                    }
                }
                Ok(())
            }
            Failure::Forbidden {
                index,
                pattern,
                event,
            } => {
                write!(
                    f,
                    "never[{index}] {pattern} happened:\n      {}",
                    event.trim_start()
                )
            }
            Failure::Final { check, detail } => write!(f, "final {check}: {detail}"),
        }
    }
}

/// Compact one-line form of a pattern: `{layer: smtp, code: 250}`.
pub fn show_pattern(p: &Pattern) -> String {
    let parts: Vec<String> = p.iter().map(|(k, v)| format!("{k}: {v}")).collect();
    format!("{{{}}}", parts.join(", "))
}

/// A field that does not match: `(key, expected, got)`.
type Mismatch = (String, String, String);

/// A pattern ready to match: fields to compare and time bounds. Made once
/// per expectation or trigger, and matched against a record's fields as
/// they are listed, without building the record's whole field map.
pub struct Matcher {
    /// `(key, compare as "contains", wanted)`.
    fields: Vec<(String, bool, Value)>,
    /// The keys of `fields`, in order: the fields asked of a record.
    keys: Vec<String>,
    layer: Option<String>,
    /// The event name, when the pattern names it exactly.
    event: Option<String>,
    after_us: Option<u64>,
    before_us: Option<u64>,
}

impl Matcher {
    pub fn new(p: &Pattern) -> Matcher {
        let mut m = Matcher {
            fields: Vec::new(),
            keys: Vec::new(),
            layer: None,
            event: None,
            after_us: None,
            before_us: None,
        };
        for (k, v) in p {
            match k.as_str() {
                "after" => {
                    m.after_us = v
                        .as_str()
                        .and_then(|s| parse_duration(s).ok())
                        .map(|d| d.as_micros())
                }
                "before" => {
                    m.before_us = v
                        .as_str()
                        .and_then(|s| parse_duration(s).ok())
                        .map(|d| d.as_micros())
                }
                "layer" => {
                    m.layer = v.as_str().map(str::to_owned);
                    m.fields.push((k.clone(), false, v.clone()));
                }
                "event" => {
                    m.event = v.as_str().map(str::to_owned);
                    m.fields.push((k.clone(), false, v.clone()));
                }
                _ => match k.strip_suffix('~') {
                    Some(base) => m.fields.push((base.to_owned(), true, v.clone())),
                    None => m.fields.push((k.clone(), false, v.clone())),
                },
            }
        }
        m.keys = m.fields.iter().map(|(k, _, _)| k.clone()).collect();
        m
    }

    /// Cheap pre-filter on the layer and the event name, before the
    /// fields are computed.
    fn layer_ok(&self, trace: &Trace, r: &Record) -> bool {
        self.layer
            .as_deref()
            .is_none_or(|l| trace.layer(r).name() == l)
            && self
                .event
                .as_deref()
                .is_none_or(|e| trace.event_name(r) == e)
    }

    fn time_ok(&self, t: u64) -> bool {
        self.after_us.is_none_or(|a| t >= a) && self.before_us.is_none_or(|b| t <= b)
    }

    /// Fields that do not match, as `(key, expected, got)`.
    fn mismatches(&self, f: &Fields) -> Vec<Mismatch> {
        let mut out = Vec::new();
        for (k, contains, want) in &self.fields {
            let (got, contains) = (f.get(k), *contains);
            if !value_matches(got, want, contains) {
                let got = got.map_or("nothing".to_owned(), Value::to_string);
                let want = if contains {
                    format!("text containing {want}")
                } else {
                    want.to_string()
                };
                out.push((k.to_owned(), want, got));
            }
        }
        out
    }

    /// True if the record matches the pattern.
    pub fn matches(&self, trace: &Trace, r: &Record) -> bool {
        if !(self.layer_ok(trace, r) && self.time_ok(r.time.as_micros())) {
            return false;
        }
        let got = trace.fields_named(r, &self.keys);
        self.fields
            .iter()
            .zip(&got)
            .all(|((_, contains, want), got)| value_matches(got.as_ref(), want, *contains))
    }
}

fn as_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn value_matches(got: Option<&Value>, want: &Value, contains: bool) -> bool {
    let Some(got) = got else { return false };
    if contains {
        return as_text(got).contains(&as_text(want));
    }
    match (got, want) {
        (Value::Number(a), Value::Number(b)) => a.as_f64() == b.as_f64(),
        (a, b) if a == b => true,
        // "250" in a pattern matches the number 250, and the reverse.
        (a, b) => as_text(a) == as_text(b),
    }
}

/// Checks a finished run's final state alone: what a run without a trace
/// (`wiretale run --trace-off`) can be held to.
pub fn evaluate_finals(s: &Scenario, run: &Run) -> Vec<Failure> {
    let mut failures = Vec::new();
    finals(s, run, &mut failures);
    failures
}

/// Checks a finished run.
pub fn evaluate(s: &Scenario, run: &Run) -> Vec<Failure> {
    let trace = run.world.trace();
    let mut failures = Vec::new();
    expect_in_order(s, trace, &mut failures);
    never(s, trace, &mut failures);
    finals(s, run, &mut failures);
    failures
}

fn expect_in_order(s: &Scenario, trace: &Trace, failures: &mut Vec<Failure>) {
    let mut pos = 0;
    let mut last_time = None;
    for (index, p) in s.expect.iter().enumerate() {
        let m = Matcher::new(p);
        let found = trace.records[pos..]
            .iter()
            .position(|r| m.matches(trace, r));
        match found {
            Some(i) => {
                pos += i + 1;
                last_time = Some(trace.records[pos - 1].time.as_micros());
            }
            None => {
                failures.push(Failure::Missing {
                    index,
                    pattern: show_pattern(p),
                    after_us: if index > 0 { last_time } else { None },
                    nearest: nearest(&m, trace, pos),
                });
                // Later expectations are judged from the same place, so one
                // missing event does not hide the others.
            }
        }
    }
}

/// The three events from `pos` on that match the most fields.
fn nearest(m: &Matcher, trace: &Trace, pos: usize) -> Vec<Near> {
    let mut scored: Vec<(usize, usize, Vec<Mismatch>)> = trace.records[pos..]
        .iter()
        .enumerate()
        .filter(|(_, r)| m.layer_ok(trace, r))
        .map(|(i, r)| {
            let mut mis = m.mismatches(&trace.fields(r));
            if !m.time_ok(r.time.as_micros()) {
                mis.push((
                    "time".into(),
                    "within the bounds".into(),
                    format!("{} us", r.time.as_micros()),
                ));
            }
            (mis.len(), pos + i, mis)
        })
        .collect();
    scored.sort_by_key(|(n, i, _)| (*n, *i));
    scored
        .into_iter()
        .take(3)
        .map(|(_, i, mis)| Near {
            text: trace.to_text(&trace.records[i]),
            differences: mis
                .into_iter()
                .map(|(k, want, got)| format!("{k}: expected {want}, got {got}"))
                .collect(),
        })
        .collect()
}

fn never(s: &Scenario, trace: &Trace, failures: &mut Vec<Failure>) {
    for (index, p) in s.never.iter().enumerate() {
        let m = Matcher::new(p);
        if let Some(r) = trace.records.iter().find(|r| m.matches(trace, r)) {
            failures.push(Failure::Forbidden {
                index,
                pattern: show_pattern(p),
                event: trace.to_text(r),
            });
        }
    }
}

fn finals(s: &Scenario, run: &Run, failures: &mut Vec<Failure>) {
    for check in &s.final_state {
        let result = match check {
            FinalCheck::Received { host, bytes } => received(run, host, bytes.0),
            FinalCheck::Mailbox {
                host,
                user,
                folder,
                subject,
                count,
            } => mailbox(
                run,
                host,
                user,
                folder.as_deref().unwrap_or(INBOX),
                subject.as_deref(),
                *count,
            ),
            FinalCheck::QueueEmpty { host } => queue_empty(run, host),
            FinalCheck::Fetched {
                host,
                subject,
                count,
            } => fetched(run, host, subject.as_deref(), *count),
            FinalCheck::Bounced {
                host,
                user,
                subject,
            } => bounced(run, host, user, subject.as_deref()),
            FinalCheck::File { .. }
            | FinalCheck::NoFile { .. }
            | FinalCheck::Downloaded { .. }
            | FinalCheck::Eavesdropped { .. }
            | FinalCheck::NotEavesdropped { .. } => file_check(run, check),
            FinalCheck::Flags {
                host,
                user,
                folder,
                subject,
                has,
                lacks,
            } => flags(
                run,
                host,
                user.as_deref(),
                folder.as_deref(),
                subject,
                has,
                lacks,
            ),
            FinalCheck::SawUpdate {
                host,
                kind,
                flag,
                subject,
                count,
            } => saw_update(run, host, kind, flag.as_deref(), subject.as_deref(), *count),
        };
        if let Err(detail) = result {
            failures.push(Failure::Final {
                check: describe_final(check),
                detail,
            });
        }
    }
}

fn describe_final(c: &FinalCheck) -> String {
    let opt = |name: &str, v: &Option<String>| {
        v.as_ref()
            .map(|v| format!(", {name}: {v:?}"))
            .unwrap_or_default()
    };
    let count = |c: &Option<usize>| c.map(|c| format!(", count: {c}")).unwrap_or_default();
    match c {
        FinalCheck::Received { host, bytes } => {
            format!("Received(host: {host:?}, bytes: {})", bytes.0)
        }
        FinalCheck::Mailbox {
            host,
            user,
            folder,
            subject,
            count: n,
        } => format!(
            "Mailbox(host: {host:?}, user: {user:?}{}{}{})",
            opt("folder", folder),
            opt("subject", subject),
            count(n)
        ),
        FinalCheck::QueueEmpty { host } => format!("QueueEmpty(host: {host:?})"),
        FinalCheck::Fetched {
            host,
            subject,
            count: n,
        } => format!(
            "Fetched(host: {host:?}{}{})",
            opt("subject", subject),
            count(n)
        ),
        FinalCheck::Bounced {
            host,
            user,
            subject,
        } => format!(
            "Bounced(host: {host:?}, user: {user:?}{})",
            opt("subject", subject)
        ),
        FinalCheck::File { host, path, .. } => format!("File(host: {host:?}, path: {path:?})"),
        FinalCheck::NoFile { host, path } => format!("NoFile(host: {host:?}, path: {path:?})"),
        FinalCheck::Downloaded { host, name, .. } => {
            format!("Downloaded(host: {host:?}, name: {name:?})")
        }
        FinalCheck::Eavesdropped { host, contains } => {
            format!("Eavesdropped(host: {host:?}, contains: {contains:?})")
        }
        FinalCheck::NotEavesdropped { host, contains } => {
            format!("NotEavesdropped(host: {host:?}, contains: {contains:?})")
        }
        FinalCheck::Flags {
            host,
            user,
            folder,
            subject,
            has,
            lacks,
        } => format!(
            "Flags(host: {host:?}{}{}, subject: {subject:?}, has: {has:?}, lacks: {lacks:?})",
            opt("user", user),
            opt("folder", folder),
        ),
        FinalCheck::SawUpdate {
            host,
            kind,
            flag,
            subject,
            count: n,
        } => format!(
            "SawUpdate(host: {host:?}, kind: {kind:?}{}{}{})",
            opt("flag", flag),
            opt("subject", subject),
            count(n)
        ),
    }
}

/// "exactly `count`" when given, else "at least one": the common rule of
/// the mail checks.
fn count_ok(found: usize, count: Option<usize>) -> bool {
    match count {
        Some(n) => found == n,
        None => found > 0,
    }
}

fn wanted(subject: Option<&str>, count: Option<usize>) -> String {
    let what = match subject {
        Some(s) => format!("with a Subject containing {s:?}"),
        None => "in all".to_string(),
    };
    match count {
        Some(n) => format!("{n} {what}"),
        None => format!("at least one {what}"),
    }
}

/// Whether the Subjects containing `subject` are as many as `count` asks
/// ([`count_ok`]); if not, says how many there were, and which. `what`
/// follows the count in the message (" fetched"), `held` names where the
/// messages are ("the INBOX of bob holds").
fn judge_subjects(
    subjects: &[String],
    subject: Option<&str>,
    count: Option<usize>,
    what: &str,
    held: &str,
) -> Result<(), String> {
    let found = subjects
        .iter()
        .filter(|s| subject.is_none_or(|want| s.contains(want)))
        .count();
    if count_ok(found, count) {
        return Ok(());
    }
    Err(format!(
        "expected {}{what}, found {found}; {held} {} message(s){}",
        wanted(subject, count),
        subjects.len(),
        if subjects.is_empty() {
            String::new()
        } else {
            format!(": {subjects:?}")
        }
    ))
}

fn mail_server<'r>(run: &'r Run, host: &str) -> Result<&'r MailServer, String> {
    run.app::<MailServer>(host)
        .ok_or_else(|| format!("`{host}` runs no mail server"))
}

fn user_agent<'r>(run: &'r Run, host: &str) -> Result<&'r UserAgent, String> {
    run.app::<UserAgent>(host)
        .ok_or_else(|| format!("`{host}` runs no user agent"))
}

/// The folder `folder` of `user` on the mail server `host`.
fn mail_folder<'r>(
    run: &'r Run,
    host: &str,
    user: &str,
    folder: &str,
) -> Result<&'r Folder, String> {
    mail_server(run, host)?
        .store()
        .folder(user, folder)
        .ok_or_else(|| format!("`{host}` has no folder {folder:?} for user {user:?}"))
}

fn mailbox(
    run: &Run,
    host: &str,
    user: &str,
    folder: &str,
    subject: Option<&str>,
    count: Option<usize>,
) -> Result<(), String> {
    let f = mail_folder(run, host, user, folder)?;
    let subjects: Vec<String> = f.messages().iter().map(|m| m.subject()).collect();
    judge_subjects(
        &subjects,
        subject,
        count,
        "",
        &format!("the {folder} of {user} holds"),
    )
}

fn queue_empty(run: &Run, host: &str) -> Result<(), String> {
    let server = mail_server(run, host)?;
    let q = server.queue();
    if q.is_empty() {
        return Ok(());
    }
    let waiting: Vec<String> = q
        .entries()
        .iter()
        .map(|e| {
            format!(
                "{} to {} ({} attempts{})",
                e.id,
                e.recipients.join(","),
                e.attempts,
                e.last_error
                    .as_ref()
                    .map(|r| format!(", last error: {r}"))
                    .unwrap_or_default()
            )
        })
        .collect();
    Err(format!(
        "{} message(s) still queued: {}",
        q.len(),
        waiting.join("; ")
    ))
}

fn fetched(
    run: &Run,
    host: &str,
    subject: Option<&str>,
    count: Option<usize>,
) -> Result<(), String> {
    let ua = user_agent(run, host)?;
    let subjects: Vec<String> = ua.fetched().iter().map(|m| m.subject()).collect();
    judge_subjects(
        &subjects,
        subject,
        count,
        " fetched",
        "the user agent fetched",
    )
}

fn bounced(run: &Run, host: &str, user: &str, subject: Option<&str>) -> Result<(), String> {
    let server = mail_server(run, host)?;
    let inbox = server
        .store()
        .folder(user, INBOX)
        .ok_or_else(|| format!("`{host}` has no user {user:?}"))?;
    let bounces: Vec<_> = inbox
        .messages()
        .iter()
        .filter(|m| m.subject() == BOUNCE_SUBJECT && m.from().contains("MAILER-DAEMON"))
        .collect();
    // The bounce returns the original header: look for its Subject there.
    let about = |m: &&crate::apps::mail::StoredMessage| {
        subject.is_none_or(|want| {
            crate::proto::smtp::message::body(&m.data)
                .split(|&b| b == b'\n')
                .any(|line| {
                    let line = String::from_utf8_lossy(line);
                    line.starts_with("Subject:") && line.contains(want)
                })
        })
    };
    if bounces.iter().any(about) {
        return Ok(());
    }
    Err(match (bounces.len(), subject) {
        (0, _) => format!(
            "the INBOX of {user} holds no bounce (Subject {BOUNCE_SUBJECT:?}) among its {} message(s)",
            inbox.len()
        ),
        (n, s) => format!(
            "{n} bounce(s), but none about a message with a Subject containing {:?}",
            s.unwrap_or_default()
        ),
    })
}

fn received(run: &Run, host: &str, bytes: u64) -> Result<(), String> {
    let d = run
        .app::<Discard>(host)
        .ok_or_else(|| format!("`{host}` runs no discard service"))?;
    let want = pattern_sha256(bytes);
    if d.received()
        .iter()
        .any(|r| r.bytes == bytes && r.in_order && r.sha256.as_deref() == Some(&want))
    {
        return Ok(());
    }
    let got: Vec<String> = d
        .received()
        .iter()
        .map(|r| {
            format!(
                "{} bytes from {}{}",
                r.bytes,
                r.from,
                if r.in_order {
                    ""
                } else {
                    " (out of order or corrupted)"
                }
            )
        })
        .collect();
    Err(if got.is_empty() {
        format!(
            "no finished connection; {} bytes arrived in all",
            d.total_bytes()
        )
    } else {
        format!(
            "expected one connection with {bytes} bytes in order, got {}",
            got.join("; ")
        )
    })
}

// ----- file transfer: files on servers, downloads, what an eavesdropper read -----

/// The content of `path` (in the server's whole tree) on the file server
/// `host`.
fn server_file(run: &Run, host: &str, path: &str) -> Result<bytes::Bytes, String> {
    use crate::apps::files::FileServer;
    use crate::apps::vfs::VPath;
    let server = run
        .app::<FileServer>(host)
        .ok_or_else(|| format!("`{host}` runs no file server"))?;
    let vpath = VPath::parse(path).map_err(|e| format!("bad path {path:?}: {e}"))?;
    server.vfs().get_file(&vpath).map_err(|e| {
        let files: Vec<String> = server
            .vfs()
            .files()
            .iter()
            .map(|(p, size)| format!("{p} ({size} bytes)"))
            .collect();
        format!("{path}: {e}; the server has {}", files.join(", "))
    })
}

/// Every download of the client programs on `host`.
fn downloads_on(run: &Run, host: &str) -> Vec<crate::apps::files::Download> {
    use crate::apps::files::{FtpUser, ScpUser, WebClient};
    let Some(&node) = run.nodes.get(host) else {
        return Vec::new();
    };
    let w = &run.world;
    let mut out = Vec::new();
    for &app in &w.node(node).apps {
        if let Some(u) = w.app_as::<FtpUser>(app) {
            out.extend(u.downloads().into_iter().cloned());
        }
        if let Some(c) = w.app_as::<WebClient>(app) {
            out.extend(c.downloads().into_iter().cloned());
        }
        if let Some(c) = w.app_as::<ScpUser>(app) {
            out.extend(c.downloads().into_iter().cloned());
        }
    }
    out
}

fn compare_content(
    data: &[u8],
    size: Option<u64>,
    sha256: Option<&str>,
    text: Option<&str>,
) -> Result<(), String> {
    let digest = crate::apps::files::sha256_hex(data);
    if let Some(n) = size
        && data.len() as u64 != n
    {
        return Err(format!("expected {n} bytes, got {}", data.len()));
    }
    if let Some(want) = sha256
        && !want.eq_ignore_ascii_case(&digest)
    {
        return Err(format!("expected SHA-256 {want}, got {digest}"));
    }
    if let Some(want) = text
        && data != want.as_bytes()
    {
        return Err(format!(
            "expected the text {want:?}, got {:?}",
            String::from_utf8_lossy(&data[..data.len().min(200)])
        ));
    }
    Ok(())
}

fn file_check(run: &Run, check: &FinalCheck) -> Result<(), String> {
    use crate::apps::tap::Eavesdropper;
    match check {
        FinalCheck::File {
            host,
            path,
            size,
            sha256,
            text,
        } => {
            let data = server_file(run, host, path)?;
            compare_content(&data, size.map(|s| s.0), sha256.as_deref(), text.as_deref())
        }
        FinalCheck::NoFile { host, path } => match server_file(run, host, path) {
            Ok(data) => Err(format!("{path} exists ({} bytes)", data.len())),
            Err(e) if e.contains("runs no file server") => Err(e),
            Err(_) => Ok(()),
        },
        FinalCheck::Downloaded {
            host,
            name,
            size,
            sha256,
            same_as,
        } => {
            let all = downloads_on(run, host);
            let mine: Vec<_> = all.iter().filter(|d| d.is_called(name)).collect();
            let Some(last) = mine.last() else {
                let names: Vec<String> = all
                    .iter()
                    .map(|d| format!("{} ({})", d.name, d.via))
                    .collect();
                return Err(if names.is_empty() {
                    format!("`{host}` downloaded nothing")
                } else {
                    format!("`{host}` downloaded only {}", names.join(", "))
                });
            };
            compare_content(&last.data, size.map(|s| s.0), sha256.as_deref(), None)?;
            if let Some((server, path)) = same_as {
                let original = server_file(run, server, path)?;
                if original != last.data {
                    return Err(format!(
                        "{name} ({} bytes, SHA-256 {}) differs from {server}:{path} ({} bytes, SHA-256 {})",
                        last.data.len(),
                        last.sha256,
                        original.len(),
                        crate::apps::files::sha256_hex(&original)
                    ));
                }
            }
            Ok(())
        }
        FinalCheck::Eavesdropped { host, contains }
        | FinalCheck::NotEavesdropped { host, contains } => {
            let trudy = run
                .app::<Eavesdropper>(host)
                .ok_or_else(|| format!("`{host}` is not an eavesdropper"))?;
            let read = trudy.can_read(contains);
            match (check, read) {
                (FinalCheck::Eavesdropped { .. }, false) => Err(format!(
                    "the eavesdropper could not read {contains:?} ({} packets captured)",
                    trudy.captured().len()
                )),
                (FinalCheck::NotEavesdropped { .. }, true) => {
                    Err(format!("the eavesdropper could read {contains:?}"))
                }
                _ => Ok(()),
            }
        }
        _ => Ok(()),
    }
}
/// The flags a check names, as the store keeps them (validation checked
/// that they parse).
fn parse_flags(names: &[String]) -> Vec<Flag> {
    names.iter().filter_map(|n| Flag::parse(n)).collect()
}

/// Whether every message in `found` (subject, flags) has the flags of
/// `has` and none of `lacks`; if not, which ones fail and why.
fn judge_flags(
    found: &[(String, BTreeSet<Flag>)],
    subject: &str,
    has: &[String],
    lacks: &[String],
    place: &str,
) -> Result<(), String> {
    if found.is_empty() {
        return Err(format!(
            "no message with a Subject containing {subject:?} {place}"
        ));
    }
    let (has, lacks) = (parse_flags(has), parse_flags(lacks));
    let wrong: Vec<String> = found
        .iter()
        .filter(|(_, f)| !has.iter().all(|x| f.contains(x)) || lacks.iter().any(|x| f.contains(x)))
        .map(|(s, f)| {
            let shown = flag_names(f);
            format!(
                "{s:?} has {}",
                if shown.is_empty() {
                    "no flags".to_string()
                } else {
                    shown
                }
            )
        })
        .collect();
    if wrong.is_empty() {
        Ok(())
    } else {
        Err(wrong.join("; "))
    }
}

fn flags(
    run: &Run,
    host: &str,
    user: Option<&str>,
    folder: Option<&str>,
    subject: &str,
    has: &[String],
    lacks: &[String],
) -> Result<(), String> {
    if let Some(user) = user {
        let folder = folder.unwrap_or(INBOX);
        let f = mail_folder(run, host, user, folder)?;
        let found: Vec<(String, BTreeSet<Flag>)> = f
            .messages()
            .iter()
            .filter(|m| m.subject().contains(subject))
            .map(|m| (m.subject(), m.flags.clone()))
            .collect();
        return judge_flags(
            &found,
            subject,
            has,
            lacks,
            &format!("in the {folder} of {user}"),
        );
    }
    let ua = user_agent(run, host)?;
    let found: Vec<(String, BTreeSet<Flag>)> = ua
        .remote_messages()
        .iter()
        .filter(|((_, f, _), m)| !m.expunged && folder.is_none_or(|want| f == want))
        .filter_map(|(_, m)| {
            let s = m.subject.as_ref()?;
            s.contains(subject).then(|| (s.clone(), m.flags.clone()))
        })
        .collect();
    judge_flags(
        &found,
        subject,
        has,
        lacks,
        "among the messages the device knows with IMAP",
    )
}

fn saw_update(
    run: &Run,
    host: &str,
    kind: &str,
    flag: Option<&str>,
    subject: Option<&str>,
    count: Option<usize>,
) -> Result<(), String> {
    let ua = user_agent(run, host)?;
    let kind = UpdateKind::from_name(kind).ok_or_else(|| format!("unknown kind {kind:?}"))?;
    let flag = flag.and_then(Flag::parse);
    let matching = ua
        .updates()
        .iter()
        .filter(|u| u.kind == kind)
        .filter(|u| flag.as_ref().is_none_or(|f| u.flags.contains(f)))
        .filter(|u| {
            subject.is_none_or(|want| u.subject.as_deref().is_some_and(|s| s.contains(want)))
        })
        .count();
    if count_ok(matching, count) {
        return Ok(());
    }
    let all: Vec<String> = ua
        .updates()
        .iter()
        .map(|u| {
            let mut text = format!("{} {}", u.kind.name(), u.seq);
            if !u.flags.is_empty() {
                text.push_str(&format!(" ({})", flag_names(&u.flags)));
            }
            if let Some(s) = &u.subject {
                text.push_str(&format!(" {s:?}"));
            }
            text
        })
        .collect();
    Err(format!(
        "expected {} matching update(s), found {matching}; the device saw {}",
        count.map_or("at least one".to_string(), |n| n.to_string()),
        if all.is_empty() {
            "no updates".to_string()
        } else {
            all.join(", ")
        }
    ))
}
