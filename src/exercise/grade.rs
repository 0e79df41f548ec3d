//! Grading a student's own scenario against an instructor's lab.
//!
//! A lab is a scenario that works (the instructor's reference), with the
//! expectations an answer must meet: `expect`, `never` and `final`. A
//! student's answer is their own scenario file. Grading runs the answer
//! with the lab's expectations in place of its own, and with the lab's
//! seed (so a lossy link cannot be passed by trying seeds); the score is
//! the number of expectations met. An answer that fails is compared with
//! the reference run ([`super::diff`]): the first place where the two part
//! is what to look at.
//!
//! [`page`] writes the report an instructor collects: one HTML page per
//! student with the score, what failed and both ladders side by side, and
//! [`summary_csv`] one line per student for a class.

use std::fmt::Write as _;

use super::diff::{self, Comparison};
use crate::scenario::Loaded;
use crate::scenario::check::{self, Failure};
use crate::scenario::spec::Scenario;
use crate::trace::ladder::LadderFilter;

/// The answer as graded: the student's network, the lab's expectations
/// and seed.
pub fn graded_scenario(lab: &Scenario, answer: &Scenario) -> Scenario {
    let mut s = answer.clone();
    s.expect = lab.expect.clone();
    s.never = lab.never.clone();
    s.final_state = lab.final_state.clone();
    s.seed = lab.seed;
    s
}

/// How many expectations a lab has.
pub fn expectations(lab: &Scenario) -> usize {
    lab.expect.len() + lab.never.len() + lab.final_state.len()
}

/// One graded answer.
pub struct Grade {
    /// The student, from the answer's file name.
    pub student: String,
    pub file: String,
    pub total: usize,
    pub failures: Vec<Failure>,
    /// For an answer that failed: the reference (left) and the answer
    /// (right) side by side.
    pub comparison: Option<Comparison>,
}

impl Grade {
    pub fn passed(&self) -> bool {
        self.failures.is_empty()
    }

    /// Expectations met.
    pub fn met(&self) -> usize {
        self.total.saturating_sub(self.failures.len())
    }
}

/// The student's name for an answer file: its file stem.
pub fn student_name(file: &str) -> String {
    let base = file.rsplit(['/', '\\', ':']).next().unwrap_or(file);
    base.strip_suffix(".ron").unwrap_or(base).to_owned()
}

/// Grades one answer. `reference` is the lab's own run, for the
/// comparison of a failed answer.
pub fn grade(lab: &Loaded, answer: &Loaded) -> Result<Grade, String> {
    let graded = graded_scenario(&lab.scenario, &answer.scenario);
    let run = super::run(&graded)?;
    let failures = check::evaluate(&graded, &run);
    let comparison = if failures.is_empty() {
        None
    } else {
        let reference = super::run(&lab.scenario)?;
        Some(diff::compare(
            &diff::Side {
                name: format!("reference ({})", lab.file),
                trace: reference.world.trace(),
            },
            &diff::Side {
                name: format!("answer ({})", answer.file),
                trace: run.world.trace(),
            },
            &LadderFilter::default(),
        ))
    };
    Ok(Grade {
        student: student_name(&answer.file),
        file: answer.file.clone(),
        total: expectations(&lab.scenario),
        failures,
        comparison,
    })
}

impl Grade {
    /// The grade for a terminal.
    pub fn to_text(&self) -> String {
        let mut s = format!(
            "{} {}: {} of {} expectations met",
            if self.passed() { "PASS" } else { "FAIL" },
            self.student,
            self.met(),
            self.total
        );
        for f in &self.failures {
            for line in f.to_string().lines() {
                s.push_str("\n  ");
                s.push_str(line);
            }
        }
        if let Some(c) = &self.comparison {
            s.push_str("\n  Compared with the reference run:");
            for line in c.to_text().lines() {
                s.push_str("\n  | ");
                s.push_str(line);
            }
        }
        s
    }
}

fn html(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The report page of one graded answer.
pub fn page(lab_title: &str, g: &Grade) -> String {
    let mut s = String::new();
    let verdict = if g.passed() { "passed" } else { "failed" };
    let _ = write!(
        s,
        r#"<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>{student}: {lab}</title>
<style>
body {{ font-family: DejaVu Sans, Helvetica, Arial, sans-serif; margin: 24px; color: #1a2533; }}
.score {{ font-size: 22px; font-weight: bold; }}
.passed {{ color: #1e7b34; }} .failed {{ color: #b00020; }}
pre {{ background: #f5f7fa; padding: 10px; overflow-x: auto; font-size: 12px; }}
.diff svg {{ max-width: 100%; height: auto; border: 1px solid #c0c7d0; }}
</style></head><body>
<h1>{lab}</h1>
<p>Student: <b>{student}</b> ({file})</p>
<p class="score {verdict}">{met} of {total} expectations met: {verdict}</p>
"#,
        student = html(&g.student),
        lab = html(lab_title),
        file = html(&g.file),
        met = g.met(),
        total = g.total,
    );
    if !g.failures.is_empty() {
        s.push_str("<h2>Expectations not met</h2>\n<ul>\n");
        for f in &g.failures {
            let _ = writeln!(s, "<li><pre>{}</pre></li>", html(&f.to_string()));
        }
        s.push_str("</ul>\n");
    }
    if let Some(c) = &g.comparison {
        s.push_str("<h2>Where the answer parts from the reference</h2>\n");
        let _ = writeln!(s, "<pre>{}</pre>", html(&c.to_text()));
        s.push_str("<div class=\"diff\" id=\"ladders\">\n");
        s.push_str(&c.to_svg(&format!("{lab_title}: reference and answer")));
        s.push_str("</div>\n");
    }
    s.push_str("</body></html>\n");
    s
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// One line per student: student, file, passed, met, total, and the first
/// difference from the reference (time and what the answer did there).
pub fn summary_csv(grades: &[Grade]) -> String {
    let mut s = String::from("student,file,passed,met,total,parts_at_us,first_difference\n");
    for g in grades {
        let (at, what) = g
            .comparison
            .as_ref()
            .and_then(|c| c.divergence.as_ref())
            .map_or((String::new(), String::new()), |d| {
                (
                    d.time.as_micros().to_string(),
                    d.right.clone().unwrap_or_default().trim().to_string(),
                )
            });
        let _ = writeln!(
            s,
            "{},{},{},{},{},{},{}",
            csv_field(&g.student),
            csv_field(&g.file),
            g.passed(),
            g.met(),
            g.total,
            at,
            csv_field(&what)
        );
    }
    s
}

/// The index page of a class's report: every student, score, link.
pub fn index_page(lab_title: &str, grades: &[Grade]) -> String {
    let mut s = format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{t}</title></head><body style=\"font-family: sans-serif\">\n<h1>{t}</h1>\n<table border=\"1\" cellpadding=\"6\"><tr><th>Student</th><th>Score</th><th></th></tr>\n",
        t = html(lab_title)
    );
    for g in grades {
        let _ = writeln!(
            s,
            "<tr><td><a href=\"{href}.html\">{name}</a></td><td>{} / {}</td><td>{}</td></tr>",
            g.met(),
            g.total,
            if g.passed() { "passed" } else { "failed" },
            href = html(&g.student),
            name = html(&g.student)
        );
    }
    s.push_str(
        "</table>\n<p>summary.csv has the same, one line per student.</p>\n</body></html>\n",
    );
    s
}
