//! `wiretale run` as a user runs it: JSON lines in the trace format of
//! docs/architecture.md, byte-identical for a seed, different for another.

use std::process::Command;

fn run(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_wiretale"))
        .args(args)
        .output()
        .expect("wiretale runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn jsonl_follows_the_trace_format() {
    let scenario = concat!(env!("CARGO_MANIFEST_DIR"), "/scenarios/tcp_handshake.ron");
    let (code, out, err) = run(&["run", scenario, "--format", "jsonl"]);
    assert_eq!(code, 0, "{err}");
    let mut layers = std::collections::BTreeSet::new();
    let mut last_time = 0;
    for line in out.lines() {
        let v: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
        let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(&keys[..3], ["time_us", "layer", "event"], "{line}");
        let t = v["time_us"].as_u64().unwrap();
        assert!(t >= last_time, "time goes forward");
        last_time = t;
        layers.insert(v["layer"].as_str().unwrap().to_owned());
    }
    assert!(layers.contains("tcp") && layers.contains("link") && layers.contains("app"));
    // A SYN as docs/architecture.md shows it.
    let syn: serde_json::Value = serde_json::from_str(
        out.lines()
            .find(|l| l.contains("\"segment_sent\"") && l.contains("\"flags\":\"SYN\""))
            .unwrap(),
    )
    .unwrap();
    for k in ["host", "src", "dst", "flags", "seq", "ack", "len"] {
        assert!(syn.get(k).is_some(), "{k} missing in {syn}");
    }
}

#[test]
fn same_seed_same_bytes_other_seed_other_trace() {
    let a = run(&["run", "tcp_handshake", "--format", "jsonl"]).1;
    let b = run(&["run", "tcp_handshake", "--format", "jsonl"]).1;
    assert!(!a.is_empty());
    assert_eq!(a, b);
    let l1 = run(&[
        "run",
        "tcp_lossy_transfer",
        "--format",
        "jsonl",
        "--seed",
        "1",
    ])
    .1;
    let l1b = run(&[
        "run",
        "tcp_lossy_transfer",
        "--format",
        "jsonl",
        "--seed",
        "1",
    ])
    .1;
    let l2 = run(&[
        "run",
        "tcp_lossy_transfer",
        "--format",
        "jsonl",
        "--seed",
        "2",
    ])
    .1;
    assert_eq!(l1, l1b);
    assert_ne!(l1, l2);
}

#[test]
fn until_layers_and_trace_file() {
    let (code, out, _) = run(&["run", "tcp_handshake", "--until", "25ms", "--layers", "tcp"]);
    assert_eq!(code, 0);
    assert!(out.lines().all(|l| l.contains("  TCP  ")), "{out}");
    let last: f64 = out
        .lines()
        .last()
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!(last <= 25.0, "{last}");
    let file = std::env::temp_dir().join(format!("wiretale-trace-{}.jsonl", std::process::id()));
    let (code, out, _) = run(&[
        "run",
        "tcp_handshake",
        "--format",
        "jsonl",
        "--trace",
        file.to_str().unwrap(),
    ]);
    assert_eq!(code, 0);
    assert!(out.is_empty(), "the trace goes to the file");
    assert!(std::fs::read_to_string(&file).unwrap().lines().count() > 50);
    std::fs::remove_file(&file).ok();
    let (code, _, err) = run(&["run", "tcp_handshake", "--layers", "tpc"]);
    assert_eq!(code, 2, "a bad argument is bad input");
    assert!(err.contains("unknown layer"), "{err}");
}

#[test]
fn diff_compares_a_run_with_its_what_if_and_refuses_bad_changes() {
    let dir = std::env::temp_dir().join(format!("wiretale-diff-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let svg = dir.join("fork.svg");
    let (code, out, err) = run(&[
        "diff",
        "tcp_handshake",
        "--what-if",
        "drop:0",
        "--ladder-layers",
        "tcp",
        "--svg",
        svg.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("what if packet 0 is lost"), "{out}");
    assert!(out.contains("First difference:"), "{out}");
    assert!(out.contains("DROPPED (injected)"), "{out}");
    assert!(
        std::fs::read_to_string(&svg)
            .unwrap()
            .contains("first-difference")
    );
    let (code, out, _) = run(&["diff", "tcp_handshake", "tcp_handshake"]);
    assert_eq!(code, 0);
    assert!(out.contains("the same, event for event"), "{out}");
    let (code, _, err) = run(&["diff", "tcp_handshake"]);
    assert_eq!(code, 2);
    assert!(err.contains("nothing to compare"), "{err}");
    let (code, _, err) = run(&["diff", "tcp_handshake", "--what-if", "host-down:sever"]);
    assert_eq!(code, 2);
    assert!(
        err.contains("no host `sever`") && err.contains("did you mean `server`"),
        "{err}"
    );
    let (code, _, err) = run(&["diff", "tcp_handshake", "--what-if", "melt:server"]);
    assert_eq!(code, 2);
    assert!(err.contains("no change called"), "{err}");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn quiz_takes_piped_answers_and_writes_the_results() {
    use std::io::Write;
    let dir = std::env::temp_dir().join(format!("wiretale-quiz-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let results = dir.join("ann.json");
    let mut child = Command::new(env!("CARGO_BIN_EXE_wiretale"))
        .args(["quiz", "ftp_session", "--name", "ann", "--results"])
        .arg(&results)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // 230 is right, 21 is the control port (the SYN comes from 20), and
    // the last question (who opens the data connection) gets no answer.
    child.stdin.take().unwrap().write_all(b"230\n21\n").unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("Question 2 of 3"), "{stdout}");
    assert!(stdout.contains("Not \"21\": the answer is 20."), "{stdout}");
    assert!(
        stdout.contains("(no answer) The answer is server."),
        "{stdout}"
    );
    assert!(stdout.contains("Score: 1 of 3."), "{stdout}");
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&results).unwrap()).unwrap();
    assert_eq!(json["student"], "ann");
    assert_eq!(json["score"], 1);
    assert_eq!(json["answers"].as_array().unwrap().len(), 3);
    assert_eq!(json["answers"][0]["right"], true);
    assert_eq!(json["answers"][1]["answer"], "20");
    assert_eq!(json["answers"][2]["given"], serde_json::Value::Null);
    let (code, _, err) = run(&["quiz", "alice_to_bob"]);
    assert_eq!(code, 2);
    assert!(err.contains("--generated"), "{err}");
    std::fs::remove_dir_all(&dir).ok();
}

/// `wiretale generate` writes a scenario that `wiretale run` runs, and
/// refuses what it cannot make.
#[test]
fn generate_writes_a_scenario_that_runs() {
    let file = std::env::temp_dir().join(format!("wiretale-gen-{}.ron", std::process::id()));
    let path = file.to_str().unwrap();
    let (code, _, err) = run(&[
        "generate", "tree", "--hosts", "20", "--fanout", "3", "--send", "2KB", "-o", path,
    ]);
    assert_eq!(code, 0, "{err}");
    let (code, out, err) = run(&["run", path, "--layers", "app"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out.matches("transfer_done").count(), 20, "{out}");
    // With the trace off: nothing printed, the same run summed up.
    let (code, off, off_err) = run(&["run", path, "--trace-off"]);
    assert_eq!(code, 0, "{off_err}");
    assert!(off.is_empty(), "{off}");
    let summary = |e: &str| {
        e.lines()
            .find(|l| l.contains(" events, "))
            .map(str::to_owned)
    };
    assert_eq!(summary(&off_err), summary(&err));
    // A scenario's expectations on the trace are not held against a run
    // without one: it passes on its final state alone.
    let (code, _, err) = run(&["run", "alice_to_bob", "--trace-off"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("expectations on the trace are not checked"),
        "{err}"
    );
    assert!(!err.contains("FAIL"), "{err}");
    let (code, _, err) = run(&["run", path, "--trace-off", "--format", "jsonl"]);
    let _ = std::fs::remove_file(&file);
    assert_eq!(code, 2);
    assert!(err.contains("--trace-off"), "{err}");
    let (code, _, err) = run(&["generate", "ring", "--hosts", "5"]);
    assert_eq!(code, 2);
    assert!(err.contains("star, tree or campus"), "{err}");
    let (code, _, err) = run(&["generate", "star", "--hosts", "5000000"]);
    assert_eq!(code, 2);
    assert!(err.contains("at most 4194240"), "{err}");
    let (code, _, err) = run(&["generate", "star", "--hosts", "5", "--chain"]);
    assert_eq!(code, 2);
    assert!(err.contains("--chain goes with --send"), "{err}");
}

/// `wiretale bench` runs its workloads in child processes and prints a
/// table with each figure next to its target; bad workloads are refused.
#[test]
fn bench_prints_a_table_of_its_workloads() {
    let (code, out, err) = run(&["bench", "--only", "chain,flat,idle", "--sizes", "5,10"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("| workload | size |"), "{out}");
    for w in [
        "| chain | 5 |",
        "| chain | 10 |",
        "| flat | 10 |",
        "| idle | 5 |",
    ] {
        assert!(out.contains(w), "{w} in {out}");
    }
    assert!(out.contains("peak within 1.5x of 5's"), "{out}");
    let (code, _, err) = run(&["bench", "--only", "warp"]);
    assert_eq!(code, 2);
    assert!(err.contains("no workload \"warp\""), "{err}");
}
