//! Exercises: asking "what if?", comparing two runs, and grading a
//! student's scenario against an instructor's.
//!
//! - [`whatif`]: one change to a scenario (a packet lost, a link or host
//!   down, a slower or lossy link, another seed), from a moment on.
//! - [`diff`]: two runs side by side: the first difference, what each did
//!   next, and two ladders with the first differing arrow marked.
//! - [`quiz`]: predict the next step: questions from a scenario's `quiz:`
//!   and generated from any trace, asked before the event that answers
//!   them, scored, and collected as JSON or CSV.
//! - [`grade`]: a student's scenario graded against a lab's expectations,
//!   with the comparison against the lab's reference run, as text and as
//!   an HTML report.
//!
//! Runs are deterministic, so a fork is the changed scenario run from the
//! start: it is the same run as the original until the change takes
//! effect, and every comparison repeats exactly.

pub mod diff;
pub mod grade;
pub mod quiz;
pub mod whatif;

use crate::scenario::spec::Scenario;
use crate::scenario::{Run, build};
pub use whatif::WhatIf;

/// Builds and runs a scenario with its own seed.
pub fn run(s: &Scenario) -> Result<Run, String> {
    let mut run = build(s, s.seed).map_err(|e| format!("the network could not be built: {e:?}"))?;
    run.run();
    Ok(run)
}

/// The scenario with the changes made, ready to run.
pub fn fork(s: &Scenario, changes: &[WhatIf]) -> Result<Scenario, String> {
    let mut forked = s.clone();
    for c in changes {
        c.apply(&mut forked)?;
    }
    Ok(forked)
}

/// "what if packet 3 is lost, and the run uses seed 2".
pub fn describe(changes: &[WhatIf]) -> String {
    let parts: Vec<String> = changes.iter().map(ToString::to_string).collect();
    format!("what if {}", parts.join(", and "))
}
