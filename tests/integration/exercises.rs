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
