//! Helpers shared by the file transfer tests: run scenario text or a
//! bundled scenario, and read the trace as JSON objects.

#![allow(dead_code)]

use serde_json::{Map, Value};
use wiretale::scenario::{self, Run, check};

pub type Fields = Map<String, Value>;

/// Parses, builds and runs scenario text; panics with the diagnostics if
/// it does not validate.
pub fn run_text(text: &str) -> Run {
    let s = scenario::parse("test.ron", text).unwrap_or_else(|e| panic!("{e}"));
    let mut run = scenario::build(&s, s.seed).expect("builds");
    run.run();
    run
}

/// Runs a bundled scenario and asserts that all its expectations hold.
pub fn run_bundled(name: &str) -> Run {
    let loaded = scenario::load(name).unwrap_or_else(|e| panic!("{e}"));
    let s = &loaded.scenario;
    let mut run = scenario::build(s, s.seed).expect("builds");
    run.run();
    let failures = check::evaluate(s, &run);
    assert!(
        failures.is_empty(),
        "{name}: {}",
        failures
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("\n")
    );
    run
}

/// Every record's fields, in order.
pub fn events(run: &Run) -> Vec<Fields> {
    let trace = run.world.trace();
    trace.records.iter().map(|r| trace.fields(r)).collect()
}

/// The events with these `layer` and `event` names.
pub fn select<'a>(events: &'a [Fields], layer: &str, event: &str) -> Vec<&'a Fields> {
    events
        .iter()
        .filter(|f| f["layer"] == layer && f["event"] == event)
        .collect()
}

/// A field as text.
pub fn text(f: &Fields, key: &str) -> String {
    match f.get(key) {
        Some(Value::String(s)) => s.clone(),
        Some(v) => v.to_string(),
        None => String::new(),
    }
}

/// The port of an `a.b.c.d:port` field.
pub fn port(f: &Fields, key: &str) -> u16 {
    text(f, key)
        .rsplit(':')
        .next()
        .and_then(|p| p.parse().ok())
        .unwrap_or(0)
}

/// The reply codes of a protocol's dialogue, in order.
pub fn reply_codes(events: &[Fields], layer: &str) -> Vec<u64> {
    select(events, layer, "reply")
        .iter()
        .filter_map(|f| f.get("code").and_then(Value::as_u64))
        .collect()
}

/// The command lines of a protocol's dialogue, in order.
pub fn commands(events: &[Fields], layer: &str) -> Vec<String> {
    select(events, layer, "command")
        .iter()
        .map(|f| text(f, "line"))
        .collect()
}
