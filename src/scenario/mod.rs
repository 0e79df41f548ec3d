//! Scenarios: RON files that describe a network, what its users do and
//! what must happen, turned into a validated model and then into a
//! [`World`](crate::net::World).
//!
//! - [`spec`]: the file format as Rust types (documented for instructors in
//!   `scenarios/README.md`).
//! - [`parse`]: RON text to a [`Scenario`], with every syntax and semantic
//!   error reported at its line and column ([`diag`]).
//! - [`build()`]: a validated scenario and a seed to a ready-to-run world.
//! - [`check`]: expectations matched against a finished run.
//! - [`bundled`]: the scenarios compiled into the binary.
//!
//! This module never panics on a file's content: every problem becomes a
//! [`ScenarioError`].

pub mod batch;
pub mod build;
pub mod bundled;
pub mod check;
pub mod diag;
pub mod generate;
pub mod spec;
pub mod units;
mod validate;

pub use build::{Run, build};
pub use diag::{Diagnostic, ScenarioError};
pub use spec::Scenario;

use diag::Source;
use std::path::Path;

/// A scenario with the text it came from.
#[derive(Debug, Clone)]
pub struct Loaded {
    /// The file name, or `bundled:NAME`.
    pub file: String,
    pub text: String,
    pub scenario: Scenario,
}

/// Parses and validates scenario text; `file` names it in errors.
pub fn parse(file: &str, text: &str) -> Result<Scenario, ScenarioError> {
    let src = Source { file, text };
    if text.trim().is_empty() {
        return Err(ScenarioError {
            diagnostics: vec![src.at(
                1,
                1,
                1,
                "the file is empty".into(),
                Some("a scenario starts with `Scenario(`".into()),
            )],
        });
    }
    let options =
        ron::Options::default().with_default_extension(ron::extensions::Extensions::IMPLICIT_SOME);
    let scenario: Scenario = options.from_str(text).map_err(|e| ScenarioError {
        diagnostics: vec![diag::from_ron(&src, &e)],
    })?;
    let problems = validate::validate(&src, &scenario);
    if problems.is_empty() {
        Ok(scenario)
    } else {
        Err(ScenarioError {
            diagnostics: problems,
        })
    }
}

/// Reads a scenario from a file, or from the bundled ones when `name` is
/// not a path that exists and names a bundled scenario (with or without
/// `.ron`).
pub fn load(name: &str) -> Result<Loaded, ScenarioError> {
    let path = Path::new(name);
    if !path.exists()
        && let Some(b) = bundled::find(name)
    {
        let file = format!("bundled:{}", b.name);
        let scenario = parse(&file, b.text)?;
        return Ok(Loaded {
            file,
            text: b.text.to_owned(),
            scenario,
        });
    }
    let bytes = std::fs::read(path).map_err(|e| {
        let mut msg = format!("cannot read the scenario: {e}");
        if !path.exists() {
            let names = bundled::ALL.iter().map(|b| b.name);
            if let Some(hint) = diag::did_you_mean(name.trim_end_matches(".ron"), names) {
                msg.push_str(&format!(" ({hint})"));
            } else {
                msg.push_str(" (`wiretale scenarios` lists the bundled ones)");
            }
        }
        ScenarioError::whole_file(name, msg)
    })?;
    let scenario = parse_bytes(name, &bytes)?;
    // parse_bytes only succeeds on UTF-8 text.
    let text = String::from_utf8(bytes).unwrap_or_default();
    Ok(Loaded {
        file: name.to_owned(),
        text,
        scenario,
    })
}

/// Parses and validates the bytes of a scenario file, as [`load`] does
/// once it has read them: text that is not UTF-8 is an error at the first
/// invalid byte, anything else goes to [`parse`].
pub fn parse_bytes(file: &str, bytes: &[u8]) -> Result<Scenario, ScenarioError> {
    match std::str::from_utf8(bytes) {
        Ok(text) => parse(file, text),
        Err(e) => {
            let valid = e.valid_up_to();
            let prefix = String::from_utf8_lossy(&bytes[..valid]).into_owned();
            let src = Source {
                file,
                text: &prefix,
            };
            Err(ScenarioError {
                diagnostics: vec![src.at_offset(
                    valid,
                    1,
                    format!("the file is not UTF-8 text (byte {valid} is invalid)"),
                    Some("scenario files are RON text".into()),
                )],
            })
        }
    }
}
