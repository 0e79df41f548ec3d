//! Malformed scenarios: each is refused with a message naming the file,
//! line and column, `wiretale run` and `wiretale check` exit 2, and
//! nothing panics.

use std::process::Command;
use wiretale::scenario;

/// A small valid scenario to break in various ways.
const VALID: &str = r#"Scenario(
    version: 1,
    title: "two hosts",
    hosts: [
        Host(name: "client"),
        Host(name: "server", role: Server, services: [Discard(port: 9)]),
    ],
    links: [
        Link(a: "client", b: "server", latency: "5ms"),
    ],
    actions: [
        Action(at: "1ms", host: "client", do: TcpSend(to: "server", port: 9, bytes: 1000)),
    ],
    expect: [
        {"layer": "app", "event": "received", "bytes": 1000},
    ],
)
"#;

fn with_quiz(entry: &str) -> String {
    VALID.replace(
        "    ],\n)\n",
        &format!("    ],\n    quiz: [\n        {entry},\n    ],\n)\n"),
    )
}

/// (what is wrong, the text, the line and column the error must name, a
/// phrase the message must contain).
fn cases() -> Vec<(&'static str, String, usize, usize, &'static str)> {
    vec![
        (
            "syntax error",
            VALID.replace("Host(name: \"client\"),", "Host(name: \"client\",,"),
            5,
            29,
            "",
        ),
        (
            "unknown field",
            VALID.replace("latency:", "latncy:"),
            9,
            40,
            "did you mean `latency`",
        ),
        (
            "unknown host",
            VALID.replace("b: \"server\"", "b: \"servr\""),
            9,
            30,
            "did you mean `server`",
        ),
        (
            "duplicate address",
            VALID
                .replace(
                    "Host(name: \"client\")",
                    "Host(name: \"client\", address: \"10.0.0.7\")",
                )
                .replace(
                    "Host(name: \"server\",",
                    "Host(name: \"server\", address: \"10.0.0.7\",",
                ),
            6,
            39,
            "used twice",
        ),
        (
            "loss out of range",
            VALID.replace("latency: \"5ms\"", "latency: \"5ms\", loss: 1.5"),
            9,
            56,
            "between 0.0 and 1.0",
        ),
        ("empty file", String::new(), 1, 1, "empty"),
        (
            "unknown role",
            VALID.replace("role: Server", "role: Servr"),
            6,
            36,
            "did you mean `Server`",
        ),
        (
            "missing title",
            VALID.replace("    title: \"two hosts\",\n", ""),
            16,
            1,
            "missing field `title`",
        ),
        (
            "bad duration",
            VALID.replace("\"5ms\"", "\"fast\""),
            9,
            49,
            "not a duration",
        ),
        (
            "duplicate host",
            VALID.replace("Host(name: \"server\", role", "Host(name: \"client\", role"),
            6,
            20,
            "two hosts are called",
        ),
        (
            "unknown layer",
            VALID.replace("\"layer\": \"app\"", "\"layer\": \"ap\""),
            15,
            19,
            "did you mean `app`",
        ),
        (
            "misspelt event in expect",
            VALID.replace("\"event\": \"received\"", "\"event\": \"recieved\""),
            15,
            35,
            "did you mean `received`",
        ),
        (
            "field no such event carries",
            VALID.replace("\"bytes\": 1000}", "\"byts\": 1000}"),
            15,
            47,
            "did you mean `bytes`",
        ),
        (
            // The second caption's pattern is the wrong one: the error
            // points there, not at the first caption's identical text.
            "misspelt event in narration after:, second of two",
            VALID.replace(
                "    expect: [",
                "    narration: [\n        (after: {\"layer\": \"app\", \"event\": \"transfer_started\"}, text: \"It starts.\"),\n        (after: {\"layer\": \"app\", \"event\": \"transfer_started\", \"to~\": \"transfer_startd\"}, text: \"Again.\"),\n        (after: {\"layer\": \"app\", \"event\": \"transfer_startd\"}, text: \"Never.\"),\n    ],\n    expect: [",
            ),
            17,
            43,
            "did you mean `transfer_started`",
        ),
        (
            "a known event in the wrong layer",
            VALID.replace("\"layer\": \"app\"", "\"layer\": \"tcp\""),
            15,
            35,
            "no event `received` in layer `tcp`",
        ),
        (
            "bad version",
            VALID.replace("version: 1", "version: 2"),
            2,
            5,
            "version 2",
        ),
        (
            "link to itself",
            VALID.replace("b: \"server\"", "b: \"client\""),
            9,
            17,
            "to itself",
        ),
        (
            "quiz answer field misspelt",
            with_quiz(r#"Quiz(before: {"layer": "app", "event": "received"}, question: "How many bytes arrive?", field: "byts")"#),
            18,
            104,
            "did you mean `bytes`",
        ),
        (
            "quiz with both a field and an answer",
            with_quiz(r#"Quiz(before: {"layer": "app", "event": "received"}, question: "How many bytes arrive?", field: "bytes", answer: "1000")"#),
            18,
            71,
            "not both",
        ),
        (
            "quiz answer not among the choices",
            with_quiz(r#"Quiz(before: {"layer": "app", "event": "received"}, question: "How many bytes arrive?", choices: ["10", "100"], answer: "1000")"#),
            18,
            71,
            "not one of the choices",
        ),
        (
            "quiz event misspelt",
            with_quiz(r#"Quiz(before: {"layer": "app", "event": "recieved"}, question: "How many bytes arrive?", field: "bytes")"#),
            18,
            48,
            "did you mean `received`",
        ),
        (
            "negative port",
            VALID.replace("port: 9, bytes", "port: -9, bytes"),
            12,
            76,
            "out of range",
        ),
    ]
}

/// A scenario with two of everything, so that a mistake in the second
/// one must not be reported at the first.
const TWO_OF_EACH: &str = r#"Scenario(
    version: 1,
    title: "two links",
    hosts: [
        Host(name: "client", position: (10.0, 50.0)),
        Host(name: "r", role: Router, position: (50.0, 50.0)),
        Host(name: "server", role: Server, services: [Discard(port: 9)], position: (90.0, 50.0)),
        Host(name: "mail", role: MailServer(domains: ["x.org"], users: [User(name: "carol", password: "pw")])),
    ],
    links: [
        Link(a: "client", b: "r", loss: 0.01, queue: 10),
        Link(a: "r", b: "server", loss: 0.01, queue: 10),
        Link(a: "r", b: "mail"),
    ],
    actions: [
        Action(at: "1ms", host: "client", do: TcpSend(to: "server", port: 9, bytes: 1000)),
    ],
    faults: [
        Fault(at: "5ms", do: HostDown("server")),
    ],
    final: [
        Received(host: "server", bytes: 1000),
    ],
    routes: [
        Route(at: "r", to: "server", via: "server"),
        Route(at: "r", to: "mail", via: "mail"),
    ],
)
"#;

/// Misplaced positions: each error names the line and column of the item
/// it is about, not an earlier one that looks the same.
fn placed_cases() -> Vec<(&'static str, String, usize, usize, &'static str)> {
    vec![
        (
            "queue of the second link",
            TWO_OF_EACH.replace(
                "b: \"server\", loss: 0.01, queue: 10",
                "b: \"server\", loss: 0.01, queue: 0",
            ),
            12,
            47,
            "at least one packet",
        ),
        (
            "loss of the second link",
            TWO_OF_EACH.replace("b: \"server\", loss: 0.01", "b: \"server\", loss: 2.0"),
            12,
            35,
            "between 0.0 and 1.0",
        ),
        (
            "position of the third host",
            TWO_OF_EACH.replace("position: (90.0, 50.0)", "position: (190.0, 50.0)"),
            7,
            74,
            "within 0..100",
        ),
        (
            "a fault names a host that is only a user",
            TWO_OF_EACH.replace("HostDown(\"server\")", "HostDown(\"carol\")"),
            19,
            39,
            "unknown host `carol`",
        ),
        (
            "a final check names an unknown host",
            TWO_OF_EACH.replace("Received(host: \"server\"", "Received(host: \"servr\""),
            22,
            24,
            "did you mean `server`",
        ),
        (
            "a final check on a host without the service",
            TWO_OF_EACH.replace("Received(host: \"server\"", "Received(host: \"client\""),
            22,
            24,
            "needs a Discard service",
        ),
        (
            "a route via an unknown host",
            TWO_OF_EACH.replace("via: \"mail\"", "via: \"mial\""),
            26,
            41,
            "^^^^^^ did you mean `mail`?",
        ),
        (
            "a route via a host that is not a neighbour",
            TWO_OF_EACH.replace(
                "Route(at: \"r\", to: \"mail\", via: \"mail\")",
                "Route(at: \"server\", to: \"mail\", via: \"client\")",
            ),
            26,
            46,
            "^^^^^^^^ `server` is linked to r",
        ),
        (
            "a route via its destination when that is no neighbour",
            TWO_OF_EACH.replace(
                "Route(at: \"r\", to: \"mail\", via: \"mail\")",
                "Route(at: \"client\", to: \"mail\", via: \"mail\")",
            ),
            26,
            41,
            "^^^ `client` is linked to r",
        ),
        (
            "a route at its destination",
            TWO_OF_EACH.replace(
                "Route(at: \"r\", to: \"mail\"",
                "Route(at: \"mail\", to: \"mail\"",
            ),
            26,
            19,
            "a route at `mail` to `mail` itself",
        ),
        (
            "two routes at one node to one destination",
            TWO_OF_EACH.replace(
                "to: \"mail\", via: \"mail\"",
                "to: \"server\", via: \"server\"",
            ),
            26,
            19,
            "two routes at `r` to `server` (routes 1 and 2)",
        ),
        (
            "a host with no link",
            TWO_OF_EACH.replace("        Link(a: \"r\", b: \"mail\"),\n", ""),
            8,
            20,
            "`mail` has no link",
        ),
    ]
}

#[test]
fn errors_point_at_the_item_they_are_about() {
    scenario::parse("ok.ron", TWO_OF_EACH).unwrap();
    for (what, text, line, col, phrase) in placed_cases() {
        let err = match scenario::parse("broken.ron", &text) {
            Ok(_) => panic!("{what}: accepted"),
            Err(e) => e,
        };
        let d = &err.diagnostics[0];
        let shown = err.to_string();
        assert_eq!(
            (d.line, d.col),
            (line, col),
            "{what}: wrong place in\n{shown}"
        );
        assert!(
            shown.contains(phrase),
            "{what}: expected {phrase:?} in\n{shown}"
        );
    }
}

#[test]
fn each_malformed_scenario_names_its_place() {
    for (what, text, line, col, phrase) in cases() {
        let err = match scenario::parse("broken.ron", &text) {
            Ok(_) => panic!("{what}: accepted"),
            Err(e) => e,
        };
        let d = &err.diagnostics[0];
        let shown = err.to_string();
        assert_eq!(d.file, "broken.ron", "{what}");
        assert_eq!(d.line, line, "{what}: wrong line in\n{shown}");
        if col > 0 {
            assert_eq!(d.col, col, "{what}: wrong column in\n{shown}");
        }
        assert!(
            shown.contains(&format!("broken.ron:{line}:")),
            "{what}: {shown}"
        );
        assert!(
            shown.contains(phrase),
            "{what}: expected {phrase:?} in\n{shown}"
        );
    }
}

#[test]
fn the_valid_one_is_valid() {
    scenario::parse("ok.ron", VALID).unwrap();
}

fn wiretale(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_wiretale"))
        .args(args)
        .output()
        .expect("wiretale runs")
}

#[test]
fn cli_exits_2_with_file_line_column_and_never_panics() {
    let dir = std::env::temp_dir().join(format!("wiretale-bad-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut files = Vec::new();
    for (i, (what, text, line, _, _)) in cases().into_iter().enumerate() {
        let path = dir.join(format!("case{i}.ron"));
        std::fs::write(&path, text).unwrap();
        files.push((what, path, line));
    }
    // Binary garbage, and bytes that are not UTF-8 after a valid start.
    let garbage = dir.join("garbage.ron");
    std::fs::write(&garbage, [0xff, 0xfe, 0x00, 0x13, 0x37, 0x80, 0x81]).unwrap();
    files.push(("binary garbage", garbage, 1));
    let latin1 = dir.join("latin1.ron");
    std::fs::write(&latin1, b"Scenario(\n  title: \"caf\xe9\",\n").unwrap();
    files.push(("not UTF-8", latin1, 2));
    for (what, path, line) in &files {
        let p = path.to_str().unwrap();
        for cmd in [vec!["run", p], vec!["check", p]] {
            let out = wiretale(&cmd);
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(2), "{what} ({cmd:?}): {stderr}");
            assert!(
                stderr.contains(&format!("{p}:{line}:")),
                "{what} ({cmd:?}): {stderr}"
            );
            assert!(!stderr.contains("panicked"), "{what}: {stderr}");
        }
    }
    assert!(files.len() >= 10);
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn unknown_scenario_name_suggests_a_bundled_one() {
    let out = wiretale(&["run", "tcp_handshak"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("did you mean `tcp_handshake`"));
}

#[test]
fn a_wrong_expectation_exits_1_and_names_it() {
    let dir = std::env::temp_dir().join(format!("wiretale-wrong-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("wrong.ron");
    std::fs::write(&path, VALID.replace("\"bytes\": 1000}", "\"bytes\": 999}")).unwrap();
    let p = path.to_str().unwrap();
    let junit = dir.join("report.xml");
    let out = wiretale(&["check", p, "--junit", junit.to_str().unwrap()]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("FAIL wrong"), "{stdout}");
    assert!(stdout.contains("expect[0]"), "{stdout}");
    assert!(stdout.contains("bytes: expected 999, got 1000"), "{stdout}");
    let out = wiretale(&["run", p]);
    assert_eq!(out.status.code(), Some(1));
    // The report names the failing case.
    let xml = std::fs::read_to_string(&junit).unwrap();
    let doc = roxmltree::Document::parse(&xml).unwrap();
    let case = doc
        .descendants()
        .find(|n| n.has_tag_name("testcase"))
        .unwrap();
    assert_eq!(case.attribute("name"), Some("wrong"));
    assert!(case.children().any(|c| c.has_tag_name("failure")));
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn junit_has_one_test_case_per_run() {
    let dir = std::env::temp_dir().join(format!("wiretale-junit-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let junit = dir.join("report.xml");
    let out = wiretale(&[
        "check",
        "--bundled",
        "--seeds",
        "3",
        "--quiet",
        "--junit",
        junit.to_str().unwrap(),
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let xml = std::fs::read_to_string(&junit).unwrap();
    let doc = roxmltree::Document::parse(&xml).unwrap();
    let cases: Vec<_> = doc
        .descendants()
        .filter(|n| n.has_tag_name("testcase"))
        .collect();
    let bundled = wiretale::scenario::bundled::ALL.len();
    assert_eq!(cases.len(), bundled * 3);
    for b in wiretale::scenario::bundled::ALL {
        for k in 0..3 {
            let seed = scenario::parse(b.name, b.text).unwrap().seed + k;
            let name = format!("{}#seed={seed}", b.name);
            assert!(
                cases.iter().any(|c| c.attribute("name") == Some(&name)),
                "{name} missing"
            );
        }
    }
    assert!(
        cases
            .iter()
            .all(|c| !c.children().any(|x| x.has_tag_name("failure")))
    );
    std::fs::remove_dir_all(&dir).ok();
}

mod fuzz {
    use super::VALID;
    use proptest::prelude::*;
    use wiretale::scenario;

    proptest! {
        #![proptest_config(ProptestConfig { cases: 512, .. ProptestConfig::default() })]

        /// Arbitrary text is refused with a placed diagnostic, never a panic.
        #[test]
        fn arbitrary_text_never_panics(text in ".{0,400}") {
            if let Err(e) = scenario::parse("fuzz.ron", &text) {
                prop_assert!(!e.diagnostics.is_empty());
            }
        }

        /// A valid scenario with a slice cut out, or a few characters
        /// replaced, is accepted or refused cleanly, and when accepted it
        /// builds and runs.
        #[test]
        fn mutated_scenarios_never_panic(cut in 0usize..VALID.len(), len in 0usize..40, with in "[a-z\":(),0-9 \\[\\]{}-]{0,6}") {
            let mut text = VALID.to_owned();
            let start = (0..=cut).rev().find(|&i| text.is_char_boundary(i)).unwrap_or(0);
            let end = (start + len).min(text.len());
            let end = (end..=text.len()).find(|&i| text.is_char_boundary(i)).unwrap_or(text.len());
            text.replace_range(start..end, &with);
            match scenario::parse("fuzz.ron", &text) {
                Ok(s) => {
                    let mut run = scenario::build(&s, s.seed).expect("a parsed scenario builds");
                    run.horizon = run.horizon.min(wiretale::sim::SimTime::from_secs(60));
                    run.run();
                }
                Err(e) => prop_assert!(e.diagnostics.iter().all(|d| d.file == "fuzz.ron")),
            }
        }
    }
}
