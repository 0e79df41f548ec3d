//! Pinned routes (`routes:` in a scenario): the packets for a destination
//! leave the pinned node by the link chosen, a transfer still completes
//! over the longer path, and routes that loop end in TTL drops.

use wiretale::scenario;
use wiretale::trace::Trace;

/// Two paths from r1 to the server: by r2 (2 ms) and by r3 (20 ms). The
/// route at r1 sends the server's packets the long way; the server's
/// replies take the short one.
const PINNED: &str = r#"Scenario(
    version: 1,
    title: "the long way round",
    tcp: (msl: "1s"),
    hosts: [
        Host(name: "client"),
        Host(name: "r1", role: Router),
        Host(name: "r2", role: Router),
        Host(name: "r3", role: Router),
        Host(name: "server", role: Server, services: [Discard(port: 9)]),
    ],
    links: [
        Link(a: "client", b: "r1"),
        Link(a: "r1", b: "r2"),
        Link(a: "r2", b: "server"),
        Link(a: "r1", b: "r3", latency: "10ms"),
        Link(a: "r3", b: "server", latency: "10ms"),
    ],
    routes: [Route(at: "r1", to: "server", via: "r3")],
    actions: [
        Action(at: "1ms", host: "client", do: TcpSend(to: "server", port: 9, bytes: 20000)),
    ],
    expect: [{"layer": "ip", "event": "forwarded", "host": "r3"}],
    final: [Received(host: "server", bytes: 20000)],
)"#;

/// The scenario's run, after its expectations are checked.
fn run(text: &str) -> Trace {
    let s = scenario::parse("routes.ron", text).unwrap();
    let mut r = scenario::build(&s, s.seed).unwrap();
    r.run();
    let failures = scenario::check::evaluate(&s, &r);
    assert!(failures.is_empty(), "{failures:?}");
    r.world.take_trace()
}

/// Who forwarded packets from whom: (router, the packet's source host).
fn forwarded(t: &Trace) -> Vec<(String, String)> {
    let owner = |addr: &str| {
        let a: std::net::SocketAddrV4 = addr.parse().unwrap();
        t.nodes[t.addresses[a.ip()] as usize].clone()
    };
    t.records
        .iter()
        .map(|r| t.fields(r))
        .filter(|f| f["event"] == "forwarded")
        .map(|f| {
            let host = f["host"].as_str().unwrap().to_owned();
            (host, owner(f["src"].as_str().unwrap()))
        })
        .collect()
}

#[test]
fn a_transfer_completes_over_the_pinned_longer_path() {
    let hops = forwarded(&run(PINNED));
    let by = |router: &str, from: &str| {
        hops.iter()
            .filter(|(r, s)| r == router && s == from)
            .count()
    };
    // The client's segments go r1, r3; the server's replies r2, r1.
    assert!(by("r3", "client") > 10, "{hops:?}");
    assert_eq!(by("r2", "client"), 0, "{hops:?}");
    assert_eq!(by("r3", "server"), 0, "{hops:?}");
    assert_eq!(by("r1", "client"), by("r3", "client"));
    assert!(by("r2", "server") > 0, "{hops:?}");
}

#[test]
fn without_the_route_the_short_path_is_taken() {
    let text = PINNED
        .replace(
            "    routes: [Route(at: \"r1\", to: \"server\", via: \"r3\")],\n",
            "",
        )
        .replace("\"host\": \"r3\"", "\"host\": \"r2\"");
    let hops = forwarded(&run(&text));
    assert!(hops.iter().all(|(r, _)| r != "r3"), "{hops:?}");
}

#[test]
fn routes_that_loop_drop_the_packets_by_ttl() {
    let text = PINNED
        .replace(
            "routes: [Route(at: \"r1\", to: \"server\", via: \"r3\")]",
            "routes: [Route(at: \"r1\", to: \"server\", via: \"r3\"), Route(at: \"r3\", to: \"server\", via: \"r1\")]",
        )
        .replace(
            "    expect: [{\"layer\": \"ip\", \"event\": \"forwarded\", \"host\": \"r3\"}],\n    final: [Received(host: \"server\", bytes: 20000)],\n",
            "    until: \"1s\",\n    expect: [{\"event\": \"segment_dropped\", \"reason\": \"ttl_expired\"}],\n    never: [{\"layer\": \"app\", \"event\": \"received\"}],\n",
        );
    assert!(text.contains("ttl_expired"), "{text}");
    let t = run(&text);
    // The first SYN went round between r1 and r3 (10 ms a hop) until its
    // TTL ran out.
    let hops = forwarded(&t);
    assert!(hops.len() >= 60, "{}", hops.len());
    assert!(
        hops.iter()
            .all(|(r, s)| (r == "r1" || r == "r3") && s == "client"),
        "{hops:?}"
    );
}

#[test]
fn of_two_links_to_via_the_route_takes_the_first_that_starts_up() {
    let text = PINNED.replace(
        "        Link(a: \"r1\", b: \"r3\", latency: \"10ms\"),\n",
        "        Link(a: \"r1\", b: \"r3\", latency: \"10ms\", up: false),\n        Link(a: \"r3\", b: \"r1\", latency: \"10ms\"),\n",
    );
    assert!(text.contains("up: false"));
    let t = run(&text);
    let dropped = t
        .records
        .iter()
        .filter(|r| t.fields(r).get("reason").is_some_and(|v| v == "link_down"))
        .count();
    assert_eq!(dropped, 0);
    assert!(forwarded(&t).iter().any(|(r, _)| r == "r3"));
}
