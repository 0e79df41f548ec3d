//! Checking many scenario runs at once, for graders and CI.
//!
//! A [`Job`] is one scenario with one seed. [`run_jobs`] runs jobs on
//! several threads (each run is independent and deterministic, so the
//! order in which threads finish changes nothing but the progress
//! display) and returns the outcomes in job order. [`junit_xml`] writes
//! them in the JUnit XML format CI servers and course platforms read.

use super::check::{self, Failure};
use super::{Loaded, build};
use std::fmt::Write as _;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// One run to check.
#[derive(Debug, Clone)]
pub struct Job {
    /// How reports name the run: `alice_to_bob` or `alice_to_bob#seed=3`.
    pub name: String,
    pub loaded: Arc<Loaded>,
    pub seed: u64,
    /// Keep the trace as JSON lines in the outcome (golden comparisons).
    pub keep_trace: bool,
}

/// What a run gave.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub name: String,
    pub file: String,
    pub seed: u64,
    /// Unmet expectations; empty when the run passed.
    pub failures: Vec<Failure>,
    /// Events recorded.
    pub events: usize,
    /// Simulated time at the end, in microseconds.
    pub sim_us: u64,
    /// Wall time the run took.
    pub wall: Duration,
    /// The trace as JSON lines, when asked for (golden comparisons).
    pub trace: Option<String>,
}

impl Outcome {
    pub fn passed(&self) -> bool {
        self.failures.is_empty()
    }
}

/// The trace of a finished run as JSON lines, one per event, each ending
/// in a newline: the golden-trace format.
pub fn jsonl(trace: &crate::trace::Trace) -> String {
    let mut out = String::new();
    for r in &trace.records {
        out.push_str(&trace.to_json(r));
        out.push('\n');
    }
    out
}

/// Runs one job.
pub fn run_job(job: &Job) -> Outcome {
    let start = Instant::now();
    let s = &job.loaded.scenario;
    let (failures, events, sim_us, trace) = match build(s, job.seed) {
        Ok(mut run) => {
            run.run();
            let failures = check::evaluate(s, &run);
            let t = run.world.trace();
            let trace = job.keep_trace.then(|| jsonl(t));
            (
                failures,
                t.records.len(),
                run.world.now().as_micros(),
                trace,
            )
        }
        Err(e) => (
            vec![Failure::Final {
                check: "build".into(),
                detail: format!("the network could not be built: {e:?}"),
            }],
            0,
            0,
            None,
        ),
    };
    Outcome {
        name: job.name.clone(),
        file: job.loaded.file.clone(),
        seed: job.seed,
        failures,
        events,
        sim_us,
        wall: start.elapsed(),
        trace,
    }
}

/// Runs `jobs` on `threads` threads; `progress(done, total, outcome)` is
/// called as each finishes (from the worker threads, one at a time).
/// Returns the outcomes in the order of `jobs`.
pub fn run_jobs(
    jobs: &[Job],
    threads: usize,
    progress: &(dyn Fn(usize, usize, &Outcome) + Sync),
) -> Vec<Outcome> {
    let next = AtomicUsize::new(0);
    let done = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<Outcome>>> = Mutex::new(vec![None; jobs.len()]);
    let report = Mutex::new(());
    std::thread::scope(|scope| {
        for _ in 0..threads.clamp(1, jobs.len().max(1)) {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(job) = jobs.get(i) else { break };
                    let outcome = run_job(job);
                    {
                        let _one_at_a_time = report.lock().unwrap_or_else(|e| e.into_inner());
                        let n = done.fetch_add(1, Ordering::Relaxed) + 1;
                        progress(n, jobs.len(), &outcome);
                    }
                    results.lock().unwrap_or_else(|e| e.into_inner())[i] = Some(outcome);
                }
            });
        }
    });
    results
        .into_inner()
        .unwrap_or_else(|e| e.into_inner())
        .into_iter()
        .flatten()
        .collect()
}

fn xml_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // XML 1.0 allows only these control characters.
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 => {}
            c => out.push(c),
        }
    }
    out
}

/// JUnit XML for a batch: one `<testcase>` per run, a `<failure>` with
/// every unmet expectation for those that failed.
pub fn junit_xml(outcomes: &[Outcome], total: Duration) -> String {
    let failures = outcomes.iter().filter(|o| !o.passed()).count();
    let mut x = String::new();
    x.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        x,
        "<testsuites name=\"wiretale\" tests=\"{}\" failures=\"{failures}\" time=\"{:.3}\">",
        outcomes.len(),
        total.as_secs_f64()
    );
    let _ = writeln!(
        x,
        "  <testsuite name=\"wiretale check\" tests=\"{}\" failures=\"{failures}\" errors=\"0\" time=\"{:.3}\">",
        outcomes.len(),
        total.as_secs_f64()
    );
    for o in outcomes {
        let _ = write!(
            x,
            "    <testcase name=\"{}\" classname=\"{}\" time=\"{:.3}\"",
            xml_escape(&o.name),
            xml_escape(&o.file),
            o.wall.as_secs_f64()
        );
        if o.passed() {
            x.push_str(" />\n");
            continue;
        }
        x.push_str(">\n");
        let first = o.failures[0].to_string();
        let summary = first.lines().next().unwrap_or_default();
        let details: Vec<String> = o.failures.iter().map(ToString::to_string).collect();
        let _ = writeln!(
            x,
            "      <failure message=\"{}\" type=\"expectation\">{}</failure>",
            xml_escape(summary),
            xml_escape(&details.join("\n\n"))
        );
        x.push_str("    </testcase>\n");
    }
    x.push_str("  </testsuite>\n</testsuites>\n");
    x
}

/// The first line where two traces differ, for a golden comparison:
/// `(line number, expected, actual)`.
pub fn first_difference(expected: &str, actual: &str) -> Option<(usize, String, String)> {
    let mut e = expected.lines();
    let mut a = actual.lines();
    let mut n = 0;
    loop {
        n += 1;
        match (e.next(), a.next()) {
            (None, None) => return None,
            (x, y) if x == y => {}
            (x, y) => {
                return Some((
                    n,
                    x.unwrap_or("(end of trace)").to_owned(),
                    y.unwrap_or("(end of trace)").to_owned(),
                ));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xml_escapes_markup_and_drops_control_bytes() {
        assert_eq!(xml_escape("a<b & \"c\"\u{1}"), "a&lt;b &amp; &quot;c&quot;");
    }

    #[test]
    fn first_difference_finds_the_line() {
        assert_eq!(first_difference("a\nb\n", "a\nb\n"), None);
        assert_eq!(
            first_difference("a\nb\n", "a\nc\n"),
            Some((2, "b".into(), "c".into()))
        );
        assert_eq!(
            first_difference("a\n", "a\nextra\n"),
            Some((2, "(end of trace)".into(), "extra".into()))
        );
    }
}
