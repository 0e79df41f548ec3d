//! Exercises: a "what if?" fork of a run, compared with the original.

use crate::captures::render;
use wiretale::exercise::{self, WhatIf, diff};
use wiretale::net::packet::Payload;
use wiretale::scenario::check;
use wiretale::trace::ladder::LadderFilter;
use wiretale::trace::{Event, Layer, Trace};

/// The id of the first SYN sent to port 25 (Alice's server opening the
/// relay connection to Bob's).
fn first_syn_to_port_25(t: &Trace) -> u64 {
    t.records
        .iter()
        .find_map(|r| match r.event {
            Event::SegmentSent { packet, .. } => match &t.packets[packet as usize].payload {
                Payload::Tcp(s) if s.dst_port == 25 && s.flags.syn() && !s.flags.ack() => {
                    Some(packet)
                }
                _ => None,
            },
            _ => None,
        })
        .expect("alice_to_bob relays over port 25")
}

#[test]
fn dropping_the_syn_to_port_25_forks_a_run_that_retransmits_and_still_delivers() {
    let loaded = wiretale::scenario::load("alice_to_bob").unwrap();
    let original = exercise::run(&loaded.scenario).unwrap();
    let syn = first_syn_to_port_25(original.world.trace());
    let change: WhatIf = format!("drop:{syn}").parse().unwrap();
    let forked = exercise::fork(&loaded.scenario, &[change]).unwrap();
    let fork = exercise::run(&forked).unwrap();
    let (a, b) = (original.world.trace(), fork.world.trace());

    // The first difference is that SYN: forwarded in the original, lost
    // in the fork.
    let c = diff::compare(
        &diff::Side {
            name: "original".into(),
            trace: a,
        },
        &diff::Side {
            name: "what if the SYN is lost".into(),
            trace: b,
        },
        &LadderFilter {
            layers: vec![Layer::Tcp, Layer::Smtp],
            conn: Some(":25".into()),
        },
    );
    let d = c.divergence.as_ref().expect("the runs part");
    let lost = &b.records[d.common];
    assert!(
        matches!(lost.event, Event::Dropped { packet, .. } if packet == syn),
        "{:?}",
        d.right
    );
    assert!(d.right.as_deref().unwrap().contains("[SYN]"), "{d:?}");
    assert!(d.left.as_deref().unwrap().contains("forwards"), "{d:?}");
    // Before it, the runs are the same, record for record.
    assert_eq!(
        a.to_text(&a.records[d.common - 1]),
        b.to_text(&b.records[d.common - 1])
    );

    // The fork retransmits the SYN after the RTO (1 s, RFC 6298 §2.1)...
    let sent_at = |t: &Trace| -> Vec<_> {
        t.records
            .iter()
            .filter(|r| match r.event {
                Event::SegmentSent { packet, .. } => matches!(
                    &t.packets[packet as usize].payload,
                    Payload::Tcp(s) if s.dst_port == 25 && s.flags.syn() && !s.flags.ack()
                ),
                _ => false,
            })
            .map(|r| r.time)
            .collect()
    };
    let (syns_a, syns_b) = (sent_at(a), sent_at(b));
    assert_eq!(syns_a.len(), 1);
    assert_eq!(syns_b.len(), 2, "the SYN is sent again");
    let waited = syns_b[1] - syns_b[0];
    assert_eq!(
        waited.as_micros(),
        1_000_000,
        "after the initial RTO of 1 s"
    );
    assert!(
        c.counts
            .iter()
            .any(|(k, x, y)| k == "tcp retransmit_timeout" && *x == 0 && *y == 1),
        "{:?}",
        c.counts
    );
    // ...and still delivers: every expectation of the scenario holds but
    // its `never` of a retransmission timeout, which is the point.
    let failures = check::evaluate(&forked, &fork);
    assert!(!failures.is_empty());
    assert!(
        failures.iter().all(|f| matches!(f,
            check::Failure::Forbidden { pattern, .. } if pattern.contains("retransmit_timeout"))),
        "{failures:?}"
    );
    let stored = |t: &Trace| {
        t.records
            .iter()
            .filter(|r| t.event_name(r) == "stored")
            .count()
    };
    assert_eq!(stored(b), stored(a));

    // The ladders part at the SYN too, and the side-by-side SVG renders.
    let (ml, mr) = c.first_arrow.expect("the ladders differ");
    assert_eq!(ml, Some(0));
    assert_eq!(mr, Some(0));
    assert!(c.right_ladder.arrows[0].lost);
    assert!(!c.left_ladder.arrows[0].lost);
    let svg = c.to_svg("alice_to_bob: the SYN lost");
    assert_eq!(svg.matches("class=\"first-difference\"").count(), 2);
    let pixmap = render(&svg);
    assert!(pixmap.width() > 1000, "two ladders side by side");
    let text = c.to_text();
    assert!(text.contains("First difference:"), "{text}");
    assert!(text.contains("retransmission timeout"), "{text}");
}

#[test]
fn the_same_change_gives_the_same_fork() {
    let loaded = wiretale::scenario::load("ftp_session").unwrap();
    let changes: Vec<WhatIf> = vec!["loss:alice-pc/router=20%@0s".parse().unwrap()];
    let run = || {
        let s = exercise::fork(&loaded.scenario, &changes).unwrap();
        let r = exercise::run(&s).unwrap();
        wiretale::scenario::batch::jsonl(r.world.trace())
    };
    assert_eq!(run(), run());
}

/// A student's answer to a bundled lab, written to `dir`: the starting
/// scenario, changed by `fix` (or not).
fn answer(dir: &std::path::Path, lab: &str, student: &str, fix: impl Fn(&str) -> String) -> String {
    let start = wiretale::scenario::bundled::find(&format!("{lab}_start")).unwrap();
    let path = dir.join(format!("{student}.ron"));
    std::fs::write(&path, fix(start.text)).unwrap();
    path.display().to_string()
}

fn grade(lab: &str, answer: &str) -> wiretale::exercise::grade::Grade {
    let lab = wiretale::scenario::load(lab).unwrap();
    let answer = wiretale::scenario::load(answer).unwrap();
    wiretale::exercise::grade::grade(&lab, &answer).unwrap()
}

#[test]
fn broken_labs_fail_with_the_first_divergence_and_fixed_ones_pass() {
    let dir = std::env::temp_dir().join(format!("wiretale-labs-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();

    // FTP through a firewall: active mode cannot work, passive mode does.
    let broken = grade(
        "ftp_firewall",
        &answer(&dir, "ftp_firewall", "ann", str::to_string),
    );
    assert!(!broken.passed());
    assert_eq!((broken.met(), broken.total), (2, 5), "{}", broken.to_text());
    let c = broken
        .comparison
        .as_ref()
        .expect("compared with the reference");
    let (l, r) = c.first_arrow.unwrap();
    assert_eq!(c.left_ladder.arrows[l.unwrap()].label, "C: PASV");
    assert!(
        c.right_ladder.arrows[r.unwrap()]
            .label
            .starts_with("C: PORT ")
    );
    let text = broken.to_text();
    assert!(
        text.contains("On the ladder, the first arrow that differs:"),
        "{text}"
    );
    assert!(text.contains("C: PORT 10,0,1,2"), "{text}");
    let fixed = grade(
        "ftp_firewall",
        &answer(&dir, "ftp_firewall", "ben", |t| {
            t.replace("mode: Active", "mode: Passive")
        }),
    );
    assert!(fixed.passed(), "{}", fixed.to_text());
    assert!(fixed.comparison.is_none());

    // The missing MX record: the message bounces; with the record it
    // reaches Bob.
    let broken = grade(
        "missing_mx",
        &answer(&dir, "missing_mx", "cat", str::to_string),
    );
    assert!(!broken.passed());
    let d = broken
        .comparison
        .as_ref()
        .and_then(|c| c.divergence.clone())
        .unwrap();
    assert!(d.left.as_deref().unwrap().contains("DNS"), "{d:?}");
    assert!(
        broken.to_text().contains("mx_failed"),
        "{}",
        broken.to_text()
    );
    let fixed = grade(
        "missing_mx",
        &answer(&dir, "missing_mx", "dan", |t| {
            t.replace(
                r#"Mx("crepes.fr", 10, "alice-mail"),"#,
                r#"Mx("crepes.fr", 10, "alice-mail"), Mx("hamburger.edu", 5, "bob-mail"),"#,
            )
        }),
    );
    assert!(fixed.passed(), "{}", fixed.to_text());
    std::fs::remove_dir_all(&dir).ok();
}

/// A headless Chromium, if installed (required where
/// `WIRETALE_REQUIRE_BROWSER=1`, as in CI).
fn chromium() -> Option<&'static str> {
    let found = ["chromium", "chromium-browser", "google-chrome"]
        .into_iter()
        .find(|c| {
            std::process::Command::new(c)
                .arg("--version")
                .output()
                .is_ok_and(|o| o.status.success())
        });
    if found.is_none() {
        assert!(
            std::env::var("WIRETALE_REQUIRE_BROWSER").map_or(true, |v| v != "1"),
            "chromium is required (WIRETALE_REQUIRE_BROWSER=1) but missing"
        );
        eprintln!("skipping: no chromium");
    }
    found
}

#[test]
fn the_class_report_shows_the_ladders_in_a_browser() {
    let dir = std::env::temp_dir().join(format!("wiretale-report-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let ann = answer(&dir, "ftp_firewall", "ann", str::to_string);
    let ben = answer(&dir, "ftp_firewall", "ben", |t| {
        t.replace("mode: Active", "mode: Passive")
    });
    let report = dir.join("report");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_wiretale"))
        .args(["check", "--expect", "ftp_firewall", &ann, &ben, "--report"])
        .arg(&report)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "one answer fails");
    let csv = std::fs::read_to_string(report.join("summary.csv")).unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(
        lines[0],
        "student,file,passed,met,total,parts_at_us,first_difference"
    );
    assert!(
        lines[1].starts_with("ann,") && lines[1].contains(",false,2,5,"),
        "{csv}"
    );
    assert!(
        lines[2].starts_with("ben,") && lines[2].contains(",true,5,5,"),
        "{csv}"
    );
    let page = std::fs::read_to_string(report.join("ann.html")).unwrap();
    assert!(page.contains("2 of 5 expectations met: failed"), "{page}");
    assert!(page.contains("class=\"first-difference\""));
    assert!(
        std::fs::read_to_string(report.join("index.html"))
            .unwrap()
            .contains("ann.html")
    );
    let Some(browser) = chromium() else { return };
    let shot = dir.join("ann.png");
    let status = std::process::Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            "--window-size=1400,2400",
        ])
        .arg(format!("--screenshot={}", shot.display()))
        .arg(format!("file://{}", report.join("ann.html").display()))
        .output()
        .unwrap();
    assert!(
        status.status.success(),
        "{}",
        String::from_utf8_lossy(&status.stderr)
    );
    // The highlighted band of the first difference (#fff3b0) is on the page.
    let decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(&shot).unwrap()));
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    let step = info.color_type.samples();
    let band = buf[..info.buffer_size()]
        .chunks(step)
        .filter(|p| p[0] == 0xff && p[1] == 0xf3 && p[2] == 0xb0)
        .count();
    assert!(
        band > 5000,
        "the diff picture is on the page ({band} highlight pixels)"
    );
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn a_scenario_quiz_pauses_before_its_event_and_scores_the_answers() {
    use wiretale::exercise::quiz;
    let loaded = wiretale::scenario::load("tcp_handshake").unwrap();
    let run = exercise::run(&loaded.scenario).unwrap();
    let t = run.world.trace();
    let (questions, missing) = quiz::from_scenario(&loaded.scenario, t);
    assert!(missing.is_empty(), "{missing:?}");
    assert_eq!(questions.len(), 3);
    // The first is asked just before the server's SYN-ACK goes out.
    let synack = t
        .records
        .iter()
        .position(|r| {
            t.to_text(r)
                .contains("server -> client  TCP  9 > 49152 [SYN,ACK]")
        })
        .unwrap();
    assert_eq!(questions[0].event, synack);
    assert_eq!(questions[0].answer, "1", "the ack, counted from the SYN");
    assert!(questions[0].proof.contains("[SYN,ACK]"));
    let mut session = quiz::Session::new(questions);
    // The run pauses before that event and no other until answered.
    let pauses: Vec<usize> = (0..t.records.len())
        .filter(|&i| session.pauses_before(i))
        .collect();
    assert_eq!(pauses, [synack]);
    assert_eq!(session.answer(Some(" 1 "), 2.0), Some(true));
    // A choice by its number, and by its text in any case.
    assert!(session.next().unwrap().is_right("2"));
    assert!(session.next().unwrap().is_right("established"));
    assert_eq!(session.answer(Some("SYN-RECEIVED"), 1.0), Some(false));
    assert_eq!(session.answer(None, 0.0), Some(false), "no answer");
    assert_eq!(session.answer(Some("x"), 0.0), None, "nothing left to ask");
    assert_eq!(session.score(), 1);
    let results = quiz::Results {
        student: "ann",
        scenario: "tcp_handshake",
        session: &session,
        seconds: 3.0,
    };
    let json: serde_json::Value = serde_json::from_str(&results.to_json()).unwrap();
    assert_eq!(json["score"], 1);
    assert_eq!(json["answers"][1]["answer"], "ESTABLISHED");
    assert_eq!(json["answers"][2]["given"], serde_json::Value::Null);
    assert_eq!(results.to_csv().lines().count(), 4);
}

/// What the text line of a record says the answer is, read from the text
/// (not from the fields the generator uses).
fn answer_in_text(kind: &str, text: &str) -> Option<String> {
    let after = |key: &str| {
        text.split(key).nth(1).map(|rest| {
            rest.split([' ', '"'])
                .find(|w| !w.is_empty())
                .unwrap_or("")
                .to_string()
        })
    };
    match kind {
        // `S: 250 ...`, or HTTP's `S: HTTP/1.1 200 OK`.
        "reply_code" => text.split("S: ").nth(1).and_then(|r| {
            r.split_whitespace().take(2).find_map(|w| {
                let code = w.get(..3)?;
                let next = w.as_bytes().get(3).copied();
                (code.bytes().all(|b| b.is_ascii_digit()) && matches!(next, None | Some(b'-')))
                    .then(|| code.to_string())
            })
        }),
        "tcp_state" => text.rsplit(" -> ").next().map(|s| s.trim().to_string()),
        "synack_ack" => after(" ack="),
        "data_opener" => after("opened_by="),
        "mx" => after("exchange="),
        "queue_retry" => after("retry_in_s="),
        "flag_seen_by" => text.split_whitespace().nth(2).map(str::to_string),
        _ => None,
    }
}

#[test]
fn generated_questions_match_the_trace_on_every_bundled_scenario() {
    use wiretale::exercise::quiz;
    use wiretale::scenario::bundled;
    let mut kinds = std::collections::BTreeMap::new();
    for b in bundled::ALL.iter().chain(bundled::LABS) {
        let loaded = wiretale::scenario::load(b.name).unwrap();
        let run = exercise::run(&loaded.scenario).unwrap();
        let t = run.world.trace();
        let questions = quiz::generated(t);
        // Every event a question can be about has one: each TCP state change.
        let state_changes = t
            .records
            .iter()
            .filter(|r| t.event_name(r) == "state")
            .count();
        let asked = questions.iter().filter(|q| q.source == "tcp_state").count();
        assert_eq!(asked, state_changes, "{}", b.name);
        for q in &questions {
            let text = t.to_text(&t.records[q.event]);
            let want = answer_in_text(&q.source, &text)
                .unwrap_or_else(|| panic!("{}: no answer in {text:?} for {q:?}", b.name));
            assert_eq!(q.answer, want, "{}: {} about {text}", b.name, q.text);
            assert!(q.is_right(&want));
            if !q.choices.is_empty() {
                assert!(q.choices.contains(&q.answer), "{q:?}");
            }
            *kinds.entry(q.source.clone()).or_insert(0) += 1;
        }
    }
    for kind in [
        "reply_code",
        "tcp_state",
        "synack_ack",
        "data_opener",
        "mx",
        "queue_retry",
        "flag_seen_by",
    ] {
        assert!(
            kinds.get(kind).copied().unwrap_or(0) > 0,
            "no {kind} question: {kinds:?}"
        );
    }
}
