//! Scripted actions, faults and captions that wait for an event instead
//! of a time (`after:` in a scenario).

use wiretale::scenario;
use wiretale::trace::Event;

const BASE: &str = r#"Scenario(
    version: 1,
    title: "after an event",
    tcp: (msl: "1s"),
    hosts: [
        Host(name: "client"),
        Host(name: "server", role: Server, services: [Discard(port: 9)]),
    ],
    links: [Link(a: "client", b: "server", latency: "5ms")],
    actions: [
        Action(at: "1ms", host: "client", do: TcpSend(to: "server", port: 9, bytes: 1000)),
        // A second transfer once the first has arrived.
        Action(after: {"layer": "app", "event": "received", "bytes": 1000}, wait: "100ms",
               host: "client", do: TcpSend(to: "server", port: 9, bytes: 2000)),
    ],
    faults: [
        // The link goes down when the second transfer arrives.
        Fault(after: {"layer": "app", "event": "received", "bytes": 2000}, do: LinkDown("client", "server")),
    ],
    narration: [
        (after: {"layer": "tcp", "event": "segment_sent", "flags": "SYN"}, text: "a SYN"),
    ],
)"#;

fn run(text: &str) -> wiretale::trace::Trace {
    let s = scenario::parse("after.ron", text).unwrap();
    let mut r = scenario::build(&s, s.seed).unwrap();
    r.run();
    r.world.take_trace()
}

#[test]
fn actions_faults_and_captions_follow_their_events() {
    let t = run(BASE);
    let received: Vec<_> = t
        .records
        .iter()
        .filter(|r| t.fields(r)["event"] == "received")
        .map(|r| (r.time, t.fields(r)["bytes"].as_u64().unwrap()))
        .collect();
    assert_eq!(
        received.iter().map(|r| r.1).collect::<Vec<_>>(),
        [1000, 2000]
    );
    let second_start = t
        .records
        .iter()
        .filter(|r| t.fields(r)["event"] == "transfer_started")
        .nth(1)
        .unwrap()
        .time;
    assert_eq!(
        second_start,
        received[0].0 + wiretale::sim::SimDuration::from_millis(100)
    );
    let down = t
        .records
        .iter()
        .find(|r| matches!(r.event, Event::LinkState { up: false, .. }))
        .unwrap();
    assert_eq!(down.time, received[1].0);
    // The caption fires once, with the first SYN.
    let captions: Vec<_> = t
        .records
        .iter()
        .filter(|r| matches!(r.event, Event::Narration { .. }))
        .collect();
    assert_eq!(captions.len(), 1);
    let first_syn = t
        .records
        .iter()
        .find(|r| t.fields(r)["event"] == "segment_sent" && t.fields(r)["flags"] == "SYN")
        .unwrap();
    assert_eq!(captions[0].time, first_syn.time);
}

#[test]
fn when_must_be_a_time_or_an_event() {
    let both = BASE.replace(
        "Action(at: \"1ms\", host",
        "Action(at: \"1ms\", after: {\"layer\": \"app\"}, host",
    );
    let neither = BASE.replace("Action(at: \"1ms\", host", "Action(host");
    let wait_alone = BASE.replace(
        "Action(at: \"1ms\", host",
        "Action(at: \"1ms\", wait: \"1s\", host",
    );
    let bad_layer = BASE.replace(
        "{\"layer\": \"tcp\", \"event\": \"segment_sent\"",
        "{\"layer\": \"tpc\", \"event\": \"segment_sent\"",
    );
    for (what, text, phrase) in [
        ("both", both, "not both"),
        ("neither", neither, "say when"),
        ("wait without after", wait_alone, "`wait` goes with `after`"),
        ("bad pattern", bad_layer, "did you mean `tcp`"),
    ] {
        let e = scenario::parse("after.ron", &text)
            .expect_err(what)
            .to_string();
        assert!(e.contains(phrase), "{what}: {e}");
        assert!(e.contains("after.ron:"), "{what}: {e}");
    }
}
