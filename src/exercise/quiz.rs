//! Predict the next step: questions asked before chosen events of a run.
//!
//! Watching is not learning; predicting is. A question is asked just
//! before the event it is about, and that event proves the answer. The
//! questions come from two places:
//!
//! - a scenario's `quiz:` entries ([`from_scenario`]): a pattern for the
//!   event, a question, and the event's field that answers it (or a fixed
//!   answer), with choices or without;
//! - any trace ([`generated`]): the next reply code after a command, the
//!   state a TCP connection moves to, the ack number of a SYN-ACK, which
//!   side opens an FTP data connection, and where a mail server finds the
//!   exchanger it relays to.
//!
//! [`Session`] asks them in order and scores the answers; [`Results`] is
//! what an instructor collects (JSON or CSV): the student, each answer,
//! the score and the time taken.

use std::fmt::Write as _;

use crate::scenario::check;
use crate::scenario::spec::Scenario;
use crate::sim::SimTime;
use crate::trace::{Event, RelativeSeq, Trace};
use serde_json::{Value as Json, json};

/// One question about one event.
#[derive(Debug, Clone, PartialEq)]
pub struct Question {
    /// The event it is about, an index into the trace's records: it is
    /// asked before that event is shown.
    pub event: usize,
    pub time: SimTime,
    pub text: String,
    /// Empty: the student types the answer.
    pub choices: Vec<String>,
    pub answer: String,
    /// The event, as the trace prints it: what proves the answer.
    pub proof: String,
    /// `quiz[3]` for a scenario's question, or the kind of a generated one
    /// (`reply_code`, `tcp_state`, `synack_ack`, `data_opener`, `mx`).
    pub source: String,
}

impl Question {
    /// True if `given` is the answer: compared without case and outer
    /// spaces; with choices, the choice's number (1, 2, ...) counts too.
    pub fn is_right(&self, given: &str) -> bool {
        let given = given.trim();
        let chosen = given
            .parse::<usize>()
            .ok()
            .filter(|_| !self.choices.is_empty())
            .and_then(|n| self.choices.get(n.wrapping_sub(1)))
            .map_or(given, String::as_str);
        chosen.eq_ignore_ascii_case(self.answer.trim())
    }
}

/// A field of a record as text (`250`, `SYN-SENT`, `server`).
fn field_text(trace: &Trace, r: &crate::trace::Record, field: &str) -> Option<String> {
    match trace.fields(r).get(field)? {
        Json::String(s) => Some(s.clone()),
        Json::Null => None,
        other => Some(other.to_string()),
    }
}

/// The TCP segment a record is about, if it is one.
fn segment<'t>(
    trace: &'t Trace,
    r: &crate::trace::Record,
) -> Option<&'t crate::net::packet::Packet> {
    let packet = match r.event {
        Event::SegmentSent { packet, .. }
        | Event::SegmentReceived { packet, .. }
        | Event::Dropped { packet, .. } => packet,
        _ => return None,
    };
    let p = trace.packets.get(packet as usize)?;
    matches!(p.payload, crate::net::packet::Payload::Tcp(_)).then_some(p)
}

/// The scenario's own questions, each about the first event that matches
/// its pattern after the previous question's event. Also returns the
/// entries that matched no event (`quiz[i]`), to report.
pub fn from_scenario(s: &Scenario, trace: &Trace) -> (Vec<Question>, Vec<String>) {
    let rel = RelativeSeq::new(&trace.packets);
    let mut out = Vec::new();
    let mut missing = Vec::new();
    for (i, q) in s.quiz.iter().enumerate() {
        let before = check::Matcher::new(&q.before);
        let found = trace
            .records
            .iter()
            .enumerate()
            .find(|(_, r)| before.matches(trace, r));
        let Some((index, r)) = found else {
            missing.push(format!("quiz[{i}]"));
            continue;
        };
        let answer = match (&q.field, &q.answer) {
            // Sequence numbers as the trace text shows them: from the SYN.
            (Some(f), _) if matches!(f.as_str(), "seq" | "ack") && segment(trace, r).is_some() => {
                segment(trace, r).map(|p| {
                    let n = if f == "seq" { rel.seq(p) } else { rel.ack(p) };
                    n.to_string()
                })
            }
            (Some(f), _) => field_text(trace, r, f),
            (None, Some(a)) => Some(a.clone()),
            (None, None) => None,
        };
        let Some(answer) = answer else {
            missing.push(format!("quiz[{i}]"));
            continue;
        };
        out.push(Question {
            event: index,
            time: r.time,
            text: q.question.clone(),
            choices: q.choices.clone(),
            answer,
            proof: trace.to_text(r).trim().to_string(),
            source: format!("quiz[{i}]"),
        });
    }
    out.sort_by_key(|q| q.event);
    (out, missing)
}

/// Questions generated from a trace, over all its events.
pub fn generated(trace: &Trace) -> Vec<Question> {
    let mut out = Vec::new();
    let rel = RelativeSeq::new(&trace.packets);
    // The devices with a user agent that checks mail.
    let mut devices: Vec<String> = Vec::new();
    for r in &trace.records {
        if let Event::App {
            event: "check_mail",
            host,
            ..
        } = r.event
        {
            let name = trace.node_name(host).to_string();
            if !devices.contains(&name) {
                devices.push(name);
            }
        }
    }
    // The last command on each connection, for "what reply comes next?".
    let mut last_command: std::collections::BTreeMap<String, String> = Default::default();
    for (i, r) in trace.records.iter().enumerate() {
        let text = || trace.to_text(r).trim().to_string();
        let mut ask = |q: String, choices: Vec<String>, answer: String, kind: &str| {
            out.push(Question {
                event: i,
                time: r.time,
                text: q,
                choices,
                answer,
                proof: text(),
                source: kind.to_string(),
            })
        };
        match &r.event {
            Event::SegmentSent { host, packet } => {
                let Some(p) = trace.packets.get(*packet as usize) else {
                    continue;
                };
                if let crate::net::packet::Payload::Tcp(s) = &p.payload
                    && s.flags.syn()
                    && s.flags.ack()
                {
                    ask(
                        format!(
                            "{} answers the SYN from {} with a SYN-ACK. What ack number does it carry (counted from the SYN it answers, as the trace shows it)?",
                            trace.node_name(*host),
                            p.dst_addr()
                        ),
                        Vec::new(),
                        rel.ack(p).to_string(),
                        "synack_ack",
                    );
                }
            }
            Event::TcpState { host, .. } => {
                let f = trace.fields(r);
                let conn = f.get("conn").and_then(Json::as_str).unwrap_or_default();
                let from = f.get("from").and_then(Json::as_str).unwrap_or_default();
                let to = f.get("to").and_then(Json::as_str).unwrap_or_default();
                ask(
                    format!(
                        "On {}, the connection {conn} is in {from}. Which state does it move to next?",
                        trace.node_name(*host)
                    ),
                    Vec::new(),
                    to.to_string(),
                    "tcp_state",
                );
            }
            Event::Dialogue { .. } => {
                let f = trace.fields(r);
                let conn = f
                    .get("conn")
                    .and_then(Json::as_str)
                    .unwrap_or_default()
                    .to_string();
                let event = trace.event_name(r);
                let line = f.get("line").and_then(Json::as_str).unwrap_or_default();
                match event {
                    "command" => {
                        last_command.insert(conn, line.to_string());
                    }
                    "reply" => {
                        // Only the first reply to a command is predictable
                        // from it; a multi-line reply's later lines are not
                        // asked again.
                        let Some(cmd) = last_command.remove(&conn) else {
                            continue;
                        };
                        let Some(code) = f.get("code").and_then(Json::as_u64) else {
                            continue;
                        };
                        let server = f.get("server").and_then(Json::as_str).unwrap_or_default();
                        ask(
                            format!(
                                "{} sent `{cmd}` to {server} ({}). What reply code comes back?",
                                f.get("client").and_then(Json::as_str).unwrap_or_default(),
                                trace.layer(r).name().to_ascii_uppercase()
                            ),
                            Vec::new(),
                            code.to_string(),
                            "reply_code",
                        );
                    }
                    _ => {}
                }
            }
            Event::App { event, host, .. } => {
                let f = trace.fields(r);
                let host = trace.node_name(*host);
                match *event {
                    "data_opened" => {
                        let mode = f.get("mode").and_then(Json::as_str).unwrap_or_default();
                        let by = f
                            .get("opened_by")
                            .and_then(Json::as_str)
                            .unwrap_or_default();
                        ask(
                            format!(
                                "An FTP data connection is about to open in {mode} mode. Which side opens it: the client or the server?"
                            ),
                            vec!["client".into(), "server".into()],
                            by.to_string(),
                            "data_opener",
                        );
                    }
                    "update"
                        if devices.len() > 1
                            && f.get("kind").and_then(Json::as_str) == Some("flags") =>
                    {
                        let subject = f.get("subject").and_then(Json::as_str).unwrap_or_default();
                        let flags = f.get("flags").and_then(Json::as_str).unwrap_or_default();
                        ask(
                            format!(
                                "The flags of \"{subject}\" change on the IMAP server ({flags}). Which device is told next, while its session is open?"
                            ),
                            devices.clone(),
                            host.to_string(),
                            "flag_seen_by",
                        );
                    }
                    "deferred" => {
                        let id = f.get("queue_id").and_then(Json::as_str).unwrap_or_default();
                        let attempt = f.get("attempt").and_then(Json::as_u64).unwrap_or(0);
                        let wait = f.get("retry_in_s").and_then(Json::as_u64).unwrap_or(0);
                        ask(
                            format!(
                                "Attempt {attempt} to deliver {id} from {host}'s queue has failed for now. In how many seconds does the queue try again?"
                            ),
                            Vec::new(),
                            wait.to_string(),
                            "queue_retry",
                        );
                    }
                    "mx_resolved" => {
                        let domain = f.get("domain").and_then(Json::as_str).unwrap_or_default();
                        let exchange = f.get("exchange").and_then(Json::as_str).unwrap_or_default();
                        ask(
                            format!(
                                "{host} asked the DNS for the mail exchanger (MX) of {domain}. Which host does the answer name?"
                            ),
                            Vec::new(),
                            exchange.to_string(),
                            "mx",
                        );
                    }
                    _ => {}
                }
            }
            _ => {}
        }
    }
    out
}

/// At most `max` of `questions`: as many of each kind as the others
/// (the kinds take turns), each kind's spread evenly over the run, in
/// event order.
pub fn spread(questions: Vec<Question>, max: usize) -> Vec<Question> {
    if questions.len() <= max || max == 0 {
        return questions;
    }
    let mut kinds: Vec<(String, Vec<Question>)> = Vec::new();
    for q in questions {
        match kinds.iter_mut().find(|(k, _)| *k == q.source) {
            Some((_, list)) => list.push(q),
            None => kinds.push((q.source.clone(), vec![q])),
        }
    }
    // How many of each kind: turns, skipping a kind that has run out.
    let mut quota = vec![0; kinds.len()];
    let mut left = max;
    while left > 0 {
        let before = left;
        for (k, (_, list)) in kinds.iter().enumerate() {
            if left > 0 && quota[k] < list.len() {
                quota[k] += 1;
                left -= 1;
            }
        }
        if left == before {
            break;
        }
    }
    let mut out: Vec<Question> = kinds
        .into_iter()
        .zip(quota)
        .flat_map(|((_, list), n)| {
            let len = list.len();
            (0..n)
                .map(move |k| list[k * len / n].clone())
                .collect::<Vec<_>>()
        })
        .collect();
    out.sort_by_key(|q| q.event);
    out
}

/// One answer given.
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    pub question: Question,
    /// `None`: not answered (the input ended).
    pub given: Option<String>,
    pub right: bool,
    /// Wall seconds the student took.
    pub seconds: f64,
}

/// A quiz in progress: the questions in event order, and the answers.
#[derive(Debug, Clone)]
pub struct Session {
    pub questions: Vec<Question>,
    pub answers: Vec<Answer>,
}

impl Session {
    pub fn new(mut questions: Vec<Question>) -> Session {
        questions.sort_by_key(|q| q.event);
        Session {
            questions,
            answers: Vec::new(),
        }
    }

    /// The next question to ask, if any.
    pub fn next(&self) -> Option<&Question> {
        self.questions.get(self.answers.len())
    }

    /// True if the run must pause before showing event `index`: the next
    /// question is about it.
    pub fn pauses_before(&self, index: usize) -> bool {
        self.next().is_some_and(|q| q.event == index)
    }

    /// Scores the answer to the next question; returns whether it is
    /// right.
    pub fn answer(&mut self, given: Option<&str>, seconds: f64) -> Option<bool> {
        let q = self.next()?.clone();
        let right = given.is_some_and(|g| q.is_right(g));
        self.answers.push(Answer {
            question: q,
            given: given.map(str::to_string),
            right,
            seconds,
        });
        Some(right)
    }

    pub fn score(&self) -> usize {
        self.answers.iter().filter(|a| a.right).count()
    }
}

/// What an instructor collects from one student.
#[derive(Debug, Clone)]
pub struct Results<'a> {
    pub student: &'a str,
    pub scenario: &'a str,
    pub session: &'a Session,
    /// Wall seconds for the whole quiz.
    pub seconds: f64,
}

/// Checks that results can be written to `path`: a `.json` or `.csv`
/// file.
pub fn results_path(path: &std::path::Path) -> Result<(), String> {
    match path.extension().and_then(|e| e.to_str()) {
        Some("json" | "csv") => Ok(()),
        _ => Err(format!(
            "{}: results are written as .json or .csv",
            path.display()
        )),
    }
}

impl Results<'_> {
    /// Writes the results to `path`, as CSV for a `.csv` file and as
    /// JSON otherwise.
    pub fn write(&self, path: &std::path::Path) -> std::io::Result<()> {
        let text = if path.extension().is_some_and(|e| e == "csv") {
            self.to_csv()
        } else {
            self.to_json()
        };
        std::fs::write(path, text)
    }

    pub fn to_json(&self) -> String {
        let answers: Vec<Json> = self
            .session
            .answers
            .iter()
            .map(|a| {
                json!({
                    "question": a.question.text,
                    "source": a.question.source,
                    "time_us": a.question.time.as_micros(),
                    "given": a.given,
                    "answer": a.question.answer,
                    "right": a.right,
                    "seconds": (a.seconds * 10.0).round() / 10.0,
                })
            })
            .collect();
        let v = json!({
            "student": self.student,
            "scenario": self.scenario,
            "score": self.session.score(),
            "asked": self.session.answers.len(),
            "questions": self.session.questions.len(),
            "seconds": (self.seconds * 10.0).round() / 10.0,
            "answers": answers,
        });
        serde_json::to_string_pretty(&v).unwrap_or_default() + "\n"
    }

    /// One line per answer: student, scenario, question number, source,
    /// question, given, answer, right, seconds.
    pub fn to_csv(&self) -> String {
        let field = |s: &str| {
            if s.contains([',', '"', '\n']) {
                format!("\"{}\"", s.replace('"', "\"\""))
            } else {
                s.to_string()
            }
        };
        let mut s =
            String::from("student,scenario,number,source,question,given,answer,right,seconds\n");
        for (n, a) in self.session.answers.iter().enumerate() {
            let _ = writeln!(
                s,
                "{},{},{},{},{},{},{},{},{:.1}",
                field(self.student),
                field(self.scenario),
                n + 1,
                field(&a.question.source),
                field(&a.question.text),
                field(a.given.as_deref().unwrap_or("")),
                field(&a.question.answer),
                a.right,
                a.seconds
            );
        }
        s
    }
}
