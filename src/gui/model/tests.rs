//! The model's tests: flights and losses, the shortened time line,
//! the automatic layout, host kinds, paths through the machines' tables,
//! what a click on a line shows, and stepping back.

use super::*;

fn handshake() -> Timeline {
    load("tcp_handshake", None).expect("bundled scenario loads")
}

#[test]
fn flights_cover_every_transmit_and_interpolate_linearly() {
    let t = handshake();
    let transmits = t
        .trace
        .records
        .iter()
        .filter(|r| matches!(r.event, Event::Transmit { .. }))
        .count();
    assert_eq!(t.flights.len(), transmits);
    let f = &t.flights[0];
    let mid = f.depart + SimDuration::from_nanos((f.arrive - f.depart).as_nanos() / 2);
    assert!((f.fraction(mid) - 0.5).abs() < 1e-3);
    let now: Vec<usize> = t.in_flight(mid).map(|(i, _)| i).collect();
    assert!(now.contains(&0));
    assert!(t.in_flight(f.arrive).all(|(i, _)| i != 0));
}

#[test]
fn the_handshake_is_plain_tcp_and_the_typical_flight_is_the_latency() {
    let t = handshake();
    assert!(t.flights.iter().all(|f| f.proto == Proto::Tcp));
    // 10 ms of latency plus a little serialization.
    assert!(t.typical_flight >= SimDuration::from_millis(10));
    assert!(t.typical_flight < SimDuration::from_millis(12));
}

#[test]
fn losses_end_flights_part_way() {
    let t = load("tcp_lossy_transfer", None).expect("loads");
    let lost: Vec<&Flight> = t.flights.iter().filter(|f| f.lost.is_some()).collect();
    assert!(!lost.is_empty());
    assert!(
        lost.iter()
            .all(|f| f.end() < f.arrive && f.end() > f.depart)
    );
    assert!(
        t.drops
            .iter()
            .any(|d| matches!(d.place, DropPlace::Link { .. }))
    );
}

#[test]
fn the_time_line_shortens_idle_gaps_and_maps_back() {
    let t = handshake();
    // TIME-WAIT is 10 s of nothing; the axis is far shorter.
    assert!(t.end > SimTime::from_secs(10));
    assert!(t.axis_len() < 1e9);
    for ms in [0u64, 5, 15, 33, 80] {
        let at = SimTime::from_millis(ms);
        let back = t.from_axis(t.to_axis(at));
        assert!(
            back.as_nanos().abs_diff(at.as_nanos()) < 1_000,
            "{ms} ms -> {back}"
        );
    }
    assert_eq!(t.from_axis(t.axis_len()), t.end);
}

#[test]
fn automatic_layout_puts_the_chain_across_the_middle() {
    let mut hosts: Vec<HostView> = (0..4)
        .map(|i| HostView {
            node: i,
            name: format!("h{i}"),
            label: None,
            kind: HostKind::Pc,
            addresses: vec![],
            pos: (f32::NAN, f32::NAN),
            firewall: false,
            taps: None,
        })
        .collect();
    auto_layout(&mut hosts, &[[0, 1], [1, 2], [1, 3]]);
    assert!(hosts.iter().all(|h| (0.0..=100.0).contains(&h.pos.0)));
    // A chain of three across, the fourth hangs off the middle one.
    let ys: Vec<f32> = hosts.iter().map(|h| h.pos.1).collect();
    assert_eq!(ys.iter().filter(|&&y| y == 50.0).count(), 3);
}

#[test]
fn hosts_are_drawn_as_their_roles_say() {
    let t = load("scp_vs_ftp", None).expect("loads");
    let kind = |name: &str| t.hosts.iter().find(|h| h.name == name).map(|h| h.kind);
    for h in &t.scenario.hosts {
        assert_eq!(
            kind(&h.name),
            Some(HostKind::of_role(&h.role)),
            "{}",
            h.name
        );
    }
    assert!(t.hosts.iter().any(|h| h.kind == HostKind::Eavesdropper));
    assert!(t.hosts.iter().any(|h| h.kind == HostKind::FileServer));
    // A name says nothing: a client called "mail-router" is a computer.
    assert_eq!(HostKind::of_role(&Role::Client), HostKind::Pc);
}

/// The State machines tab's path: a session's states as the run went
/// through them, every step of it an edge of the session's table; and
/// TCP's from the trace.
#[test]
fn the_path_taken_follows_the_machines_tables() {
    let t = load("ftp_session", None).expect("loads");
    let mut p = Player::new(t).expect("builds");
    p.seek(SimTime::from_millis(700));
    let world = p.world();
    let (node, session) = world
        .nodes()
        .iter()
        .flat_map(|n| {
            n.apps
                .iter()
                .filter_map(|&a| world.app(a))
                .flat_map(|a| a.sessions())
                .map(move |s| (n.id, s))
        })
        .find(|(_, s)| s.layer == "ftp" && s.role == "server")
        .expect("the FTP server's session");
    let path = p.session_path(node, session.conn).expect("replayed");
    assert!(path.len() > 4, "{path:?}");
    assert_eq!(path.last(), Some(&session.state));
    for w in path.windows(2) {
        assert!(
            session
                .transitions
                .iter()
                .any(|(a, b, _)| *a == w[0] && *b == w[1]),
            "{} -> {} is not in the FTP server's table",
            w[0],
            w[1]
        );
    }
    // TCP: the client's control connection opened in two steps.
    let alice = p
        .timeline
        .hosts
        .iter()
        .find(|h| h.name == "alice-pc")
        .unwrap()
        .node;
    let (_, _, c) = world
        .connections()
        .find(|(_, h, c)| *h == alice && c.remote().port() == 21)
        .expect("the control connection");
    let tcp = p.timeline.tcp_path(alice, c.local(), c.remote(), p.cursor);
    assert_eq!(tcp, [("CLOSED", "SYN-SENT"), ("SYN-SENT", "ESTABLISHED")]);
}

#[test]
fn ftp_data_connections_are_known_from_the_engine_not_the_port() {
    let t = load("ftp_passive", None).expect("loads");
    let data: Vec<&ConnView> = t
        .conns
        .iter()
        .filter(|c| c.proto == Proto::FtpData)
        .collect();
    // The passive data connections go to high ports of the server's
    // (40000, 40001): no well-known port says what they are.
    let passive = data
        .iter()
        .filter(|c| c.key.0.port() > 1023 && c.key.1.port() > 1023)
        .count();
    assert_eq!(passive, 2, "{data:?}");
    assert!(t.conns.iter().any(|c| c.proto == Proto::FtpControl));
}

#[test]
fn clicking_an_smtp_line_shows_the_segment_that_carried_it() {
    let t = load("alice_to_bob", None).expect("loads");
    let bob = t.hosts.iter().find(|h| h.name == "bob-mail").unwrap().node;
    let line = |dir: crate::trace::Dir, text: &str| {
        t.trace
            .records
            .iter()
            .position(|r| {
                matches!(&r.event, Event::Dialogue { dir: d, line, server: crate::trace::Party::Node(s), .. }
                    if *d == dir && &**line == text && *s == bob)
            })
            .unwrap()
    };
    // The event list's click jumps the player to the record; the
    // packet tab shows the carrier of the current record.
    let mut p = Player::new(load("alice_to_bob", None).unwrap()).unwrap();
    let data = line(crate::trace::Dir::Command, "DATA");
    p.jump_to(data);
    let f = &t.flights[t.carrier_flight(p.current().unwrap()).expect("a carrier")];
    let payload = |f: &Flight| match &t.trace.packet(f.packet).unwrap().payload {
        Payload::Tcp(s) => s.payload.clone(),
        Payload::Udp(_) => panic!("UDP"),
    };
    assert!(payload(f).starts_with(b"DATA"), "{:?}", payload(f));
    assert_eq!(f.to, bob, "the hop into Bob's server");
    assert!(f.arrive <= t.trace.records[data].time);
    // A reply: the segment leaving the server.
    let reply = line(
        crate::trace::Dir::Reply,
        "354 End data with <CR><LF>.<CR><LF>",
    );
    let f = &t.flights[t.carrier_flight(reply).expect("a carrier")];
    assert!(payload(f).starts_with(b"354"));
    assert_eq!(f.from, bob);
}

#[test]
fn the_network_view_knows_a_down_host_and_a_servers_queue() {
    let t = load("mail_retry", None).expect("loads");
    let node = |n: &str| t.hosts.iter().find(|h| h.name == n).unwrap().node;
    let (alice, bob) = (node("alice-mail"), node("bob-mail"));
    let at = SimTime::from_secs(100);
    let cursor = t.records_until(at);
    assert!(t.host_down(bob, cursor));
    assert!(!t.host_down(alice, cursor));
    assert!(!t.host_down(bob, t.records_until(SimTime::from_secs(151))));
    assert_eq!(t.host_status(alice, at), "queue 2, alice: 0");
    let end = t.end;
    assert_eq!(t.host_status(alice, end), "queue 0, alice: 1");
    assert_eq!(t.host_status(node("alice-pc"), at), "");
}

#[test]
fn stepping_back_replays_to_the_same_state() {
    let mut p = Player::new(handshake()).expect("builds");
    let all = |_: &Timeline, _: usize| true;
    for _ in 0..12 {
        assert!(p.step_forward(all));
    }
    let (cursor, steps) = (p.cursor, p.live_steps());
    let states: Vec<_> = p
        .world()
        .connections()
        .map(|(c, _, t)| (c, t.state()))
        .collect();
    p.step_forward(all);
    p.step_forward(all);
    p.step_back(all);
    p.step_back(all);
    assert_eq!((p.cursor, p.live_steps()), (cursor, steps));
    let again: Vec<_> = p
        .world()
        .connections()
        .map(|(c, _, t)| (c, t.state()))
        .collect();
    assert_eq!(states, again);
}
