//! Helpers shared by the mail scenario tests: run a bundled scenario, and
//! find lines of its text trace in order.

#![allow(dead_code)]

use wiretale::scenario::{self, Run, bundled};
use wiretale::trace::Trace;

/// Runs a bundled scenario with its own seed or `seed`.
pub fn run_bundled(name: &str, seed: Option<u64>) -> (scenario::Scenario, Run) {
    let b = bundled::find(name).expect("bundled scenario");
    let s = scenario::parse(name, b.text).unwrap_or_else(|e| panic!("{e}"));
    let mut run = scenario::build(&s, seed.unwrap_or(s.seed)).expect("builds");
    run.run();
    (s, run)
}

/// Every event as `(time_us, text)`, for order and timing checks.
pub fn lines(trace: &Trace) -> Vec<(u64, String)> {
    trace
        .records
        .iter()
        .map(|r| (r.time.as_micros(), trace.to_text(r)))
        .collect()
}

/// The index of the first line at or after `from` containing every part.
pub fn find_after(lines: &[(u64, String)], from: usize, parts: &[&str]) -> usize {
    lines[from..]
        .iter()
        .position(|(_, l)| parts.iter().all(|p| l.contains(p)))
        .map(|i| from + i)
        .unwrap_or_else(|| panic!("no line with {parts:?} after line {from}"))
}
