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
