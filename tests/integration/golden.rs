//! Golden traces: every bundled scenario's trace, with its own seed, is
//! compared byte for byte with `tests/golden/NAME.jsonl`. When a change to
//! the engine or a protocol changes a trace on purpose, review the diff and
//! rewrite them with `WIRETALE_BLESS=1 cargo test --test integration golden::` (or
//! `wiretale check --bless scenarios/`).

use wiretale::scenario::{self, batch};

#[test]
fn bundled_scenarios_match_their_golden_traces() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden");
    let bless = std::env::var("WIRETALE_BLESS").is_ok_and(|v| v == "1");
    let mut problems = Vec::new();
    for b in scenario::bundled::ALL {
        let s = scenario::parse(b.name, b.text).unwrap();
        let mut run = scenario::build(&s, s.seed).unwrap();
        run.run();
        let trace = batch::jsonl(run.world.trace());
        let path = dir.join(format!("{}.jsonl", b.name));
        if bless {
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(&path, &trace).unwrap();
            continue;
        }
        match std::fs::read_to_string(&path) {
            Ok(expected) => {
                if let Some((line, want, got)) = batch::first_difference(&expected, &trace) {
                    problems.push(format!(
                        "{}: line {line}\n  golden: {want}\n  now:    {got}",
                        b.name
                    ));
                }
            }
            Err(_) => problems.push(format!("{}: no golden trace at {}", b.name, path.display())),
        }
    }
    assert!(
        problems.is_empty(),
        "traces differ from the golden ones (WIRETALE_BLESS=1 rewrites them after review):\n{}",
        problems.join("\n")
    );
}

#[test]
fn same_seed_same_bytes() {
    for b in scenario::bundled::ALL {
        let s = scenario::parse(b.name, b.text).unwrap();
        let run = || {
            let mut r = scenario::build(&s, s.seed).unwrap();
            r.run();
            batch::jsonl(r.world.trace())
        };
        assert_eq!(run(), run(), "{} is not deterministic", b.name);
    }
}

/// The vocabulary scenarios are checked against is the one runs record:
/// every event of every golden trace, and each of its fields, is declared
/// (an event missing from the list would make a correct pattern an error
/// at load).
#[test]
fn every_recorded_event_is_in_the_vocabulary() {
    use wiretale::trace::Layer;
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden");
    let mut missing = std::collections::BTreeSet::new();
    for b in scenario::bundled::ALL {
        let text = std::fs::read_to_string(dir.join(format!("{}.jsonl", b.name))).unwrap();
        for line in text.lines() {
            let v: serde_json::Map<String, serde_json::Value> = serde_json::from_str(line).unwrap();
            let layer = Layer::from_name(v["layer"].as_str().unwrap()).unwrap();
            let event = v["event"].as_str().unwrap();
            let kinds: Vec<_> = wiretale::apps::vocabulary()
                .filter(|k| k.layer == layer && k.name == event)
                .collect();
            for field in v.keys() {
                let known = ["time_us", "layer", "event"].contains(&field.as_str())
                    || kinds.iter().any(|k| k.has_field(field));
                if !known {
                    missing.insert(format!("{}/{event}: {field}", layer.name()));
                }
            }
            if kinds.is_empty() {
                missing.insert(format!("{}/{event}", layer.name()));
            }
        }
    }
    assert!(missing.is_empty(), "not in the vocabulary: {missing:?}");
}
