//! The visualizer: its model driven headless (no window, no renderer), and
//! one real screenshot under X checked pixel by pixel.
//!
//! The screenshot test needs a display. It uses `DISPLAY` when set, else
//! starts `Xvfb` if it is installed; with neither it is skipped, unless
//! `WIRETALE_REQUIRE_DISPLAY=1` (CI), which makes it fail instead.
#![cfg(feature = "gui")]

use bevy::prelude::*;
use std::collections::BTreeMap;
use wiretale::gui::model::{self, Timeline};
use wiretale::gui::packets::PacketSprite;
use wiretale::gui::sim::{Control, Sim, StartUp};
use wiretale::gui::topology::HostMarker;
use wiretale::net::packet::Payload;
use wiretale::sim::{SimDuration, SimTime};

/// The scenario most GUI tests run mid-flow.
const SCENARIO: &str = "tcp_handshake";

fn app(source: &str) -> App {
    let mut app = wiretale::gui::headless_app(StartUp {
        source: source.into(),
        seed: None,
        at: None,
        play: false,
        what_if: Vec::new(),
    });
    app.update();
    app
}

fn control(app: &mut App, c: Control) {
    app.world_mut().write_message(c);
    app.update();
}

/// Packet entities by flight, with their positions.
fn packets(app: &mut App) -> BTreeMap<usize, Vec2> {
    let mut q = app.world_mut().query::<(&PacketSprite, &Transform)>();
    q.iter(app.world())
        .map(|(p, t)| (p.flight, t.translation.truncate()))
        .collect()
}

fn hosts(app: &mut App) -> BTreeMap<u32, Vec2> {
    let mut q = app.world_mut().query::<(&HostMarker, &Transform)>();
    q.iter(app.world())
        .map(|(h, t)| (h.node, t.translation.truncate()))
        .collect()
}

#[test]
fn packet_entities_sit_where_the_simulated_time_puts_them() {
    let mut app = app(SCENARIO);
    let (first, a_node, b_node) = {
        let sim = app.world().non_send::<Sim>();
        let f = &sim.player.timeline.flights[0];
        (f.clone(), f.from, f.to)
    };
    for (num, den) in [(1u64, 4u64), (1, 2), (9, 10)] {
        let span = (first.arrive - first.depart).as_nanos();
        let t = first.depart + SimDuration::from_nanos(span * num / den);
        control(&mut app, Control::Seek(t));
        let on = packets(&mut app);
        let pos = *on.get(&0).expect("the first packet is on the wire");
        let hs = hosts(&mut app);
        let (a, b) = (hs[&a_node], hs[&b_node]);
        // Along the link from icon edge to icon edge, on the right-hand
        // lane of the direction of travel.
        let dir = (b - a).normalize();
        let trim = wiretale::gui::layout::HOST_RADIUS;
        let (a2, b2) = (a + dir * trim, b - dir * trim);
        let along = (pos - a2).dot(dir) / (b2 - a2).length();
        let expected = num as f32 / den as f32;
        assert!(
            (along - expected).abs() < 0.01,
            "at {num}/{den} of the flight the packet is {along} of the way"
        );
        let side = (pos - a2).perp_dot(dir);
        assert!((side - 7.0).abs() < 0.5, "lane offset {side}");
    }
    // After it arrived, it is gone.
    control(&mut app, Control::Seek(first.arrive));
    assert!(!packets(&mut app).contains_key(&0));
}

/// What the view and the live world look like at the cursor.
fn snapshot(app: &mut App) -> String {
    let on = packets(app);
    let sim = app.world().non_send::<Sim>();
    let p = &sim.player;
    let w = p.world();
    let mut s = format!(
        "cursor {} time {} steps {}\n",
        p.cursor,
        p.time,
        p.live_steps()
    );
    for (c, h, tcp) in w.connections() {
        s += &format!(
            "conn {c} on {h}: {} {} cwnd {} flight {}\n",
            tcp.state(),
            tcp.local(),
            tcp.cwnd(),
            tcp.flight_size()
        );
    }
    for n in w.nodes() {
        for &a in &n.apps {
            if let Some(app) = w.app(a) {
                s += &format!("{:?}\n", app.inspect());
            }
        }
    }
    for (f, pos) in on {
        s += &format!("packet {f} at {:.2},{:.2}\n", pos.x, pos.y);
    }
    s
}

#[test]
fn stepping_back_restores_the_previous_events_state_exactly() {
    let mut app = app("tcp_lossy_transfer");
    for _ in 0..40 {
        control(&mut app, Control::StepForward);
    }
    let at_40 = snapshot(&mut app);
    // Steps skip what the event list hides (LINK and IP, by default).
    let cursor_40 = app.world().non_send::<Sim>().player.cursor;
    assert!(cursor_40 > 40);
    control(&mut app, Control::StepForward);
    let at_41 = snapshot(&mut app);
    for _ in 0..25 {
        control(&mut app, Control::StepForward);
    }
    assert_ne!(snapshot(&mut app), at_41);
    for _ in 0..25 {
        control(&mut app, Control::StepBack);
    }
    assert_eq!(snapshot(&mut app), at_41);
    control(&mut app, Control::StepBack);
    assert_eq!(snapshot(&mut app), at_40);
    // A jump far ahead and back by time gives the same state too.
    let t = app.world().non_send::<Sim>().player.time;
    control(&mut app, Control::Seek(SimTime::from_secs(2)));
    control(&mut app, Control::JumpTo(cursor_40 - 1));
    assert_eq!(app.world().non_send::<Sim>().player.time, t);
    assert_eq!(snapshot(&mut app), at_40);
}

/// PageDown and PageUp, as presentation clickers send them, step from
/// caption to caption; with no captions, from dialogue line to line.
#[test]
fn presenter_keys_step_from_caption_to_caption() {
    use wiretale::trace::Event;
    let mut a = app("alice_to_bob");
    let captions: Vec<usize> = {
        let sim = a.world().non_send::<Sim>();
        let t = &sim.player.timeline;
        t.trace
            .records
            .iter()
            .enumerate()
            .filter(|(_, r)| matches!(r.event, Event::Narration { .. }))
            .map(|(i, _)| i)
            .collect()
    };
    assert!(captions.len() >= 3);
    let current = |app: &mut App| app.world().non_send::<Sim>().player.current();
    for &c in &captions[..3] {
        control(&mut a, Control::NextCaption);
        assert_eq!(current(&mut a), Some(c));
    }
    control(&mut a, Control::PreviousCaption);
    assert_eq!(current(&mut a), Some(captions[1]));
    control(&mut a, Control::PreviousCaption);
    control(&mut a, Control::PreviousCaption);
    assert_eq!(current(&mut a), None, "back before the first caption");
    // A run with no captions and no dialogue (a bulk transfer) has
    // nowhere to go.
    let mut b = app("tcp_lossy_transfer");
    control(&mut b, Control::NextCaption);
    assert_eq!(current(&mut b), None);
}

#[test]
fn a_reloaded_scenario_replaces_the_world() {
    let dir = std::env::temp_dir().join(format!("wiretale-gui-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let file = dir.join("two.ron");
    let handshake = wiretale::scenario::bundled::find(SCENARIO)
        .expect("bundled")
        .text;
    std::fs::write(&file, handshake).expect("write");
    let mut app = app(SCENARIO);
    control(&mut app, Control::Seek(SimTime::from_millis(15)));
    assert_eq!(hosts(&mut app).len(), 2);
    assert_eq!(packets(&mut app).len(), 1);

    // Another scenario: three nodes now, a router in the middle.
    control(&mut app, Control::Load("tcp_lossy_transfer".into()));
    app.update();
    assert_eq!(hosts(&mut app).len(), 3);
    let sim = app.world().non_send::<Sim>();
    assert_eq!(sim.player.timeline.hosts[1].name, "router");
    assert!(sim.error.is_none());

    // A file, then the file changes on disk: the reload shows the change.
    control(&mut app, Control::Load(file.display().to_string()));
    app.update();
    assert_eq!(hosts(&mut app).len(), 2);
    let changed = handshake.replace(
        "title: \"TCP: handshake, 10 KB, teardown\"",
        "title: \"Changed\"",
    );
    std::fs::write(&file, changed).expect("write");
    control(&mut app, Control::Reload);
    app.update();
    let sim = app.world().non_send::<Sim>();
    assert_eq!(sim.player.timeline.scenario.title, "Changed");
    let generation = sim.player.generation;

    // A broken file keeps the last good run and reports file:line:col.
    std::fs::write(
        &file,
        "Scenario(version: 1, title: \"x\", hosts: [Host(nam: \"a\")])",
    )
    .expect("write");
    control(&mut app, Control::Reload);
    let sim = app.world().non_send::<Sim>();
    let err = sim.error.clone().expect("an error");
    assert!(err.contains("two.ron:1:"), "{err}");
    assert_eq!(sim.player.generation, generation);
    assert_eq!(hosts(&mut app).len(), 2);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_default_scenario_is_bundled() {
    let name = wiretale::gui::default_scenario();
    assert!(wiretale::scenario::bundled::find(name).is_some());
    let t: Timeline = model::load(name, None).expect("loads");
    assert!(!t.flights.is_empty());
}

/// The first SYN to port 25 (Alice's mail server opening the relay to
/// Bob's) in a run.
fn first_syn_to_port_25(t: &wiretale::trace::Trace) -> u64 {
    t.records
        .iter()
        .find_map(|r| match r.event {
            wiretale::trace::Event::SegmentSent { packet, .. } => {
                match &t.packets[packet as usize].payload {
                    Payload::Tcp(s) if s.dst_port == 25 && s.flags.syn() && !s.flags.ack() => {
                        Some(packet)
                    }
                    _ => None,
                }
            }
            _ => None,
        })
        .expect("alice_to_bob relays over port 25")
}

/// Predict mode holds the view before each question's event, whatever
/// the student presses, until the question is answered; then the run
/// goes on to the next question, and the answers are scored.
#[test]
fn predict_mode_holds_the_run_before_each_question_until_it_is_answered() {
    use wiretale::gui::exercise::{Predict, PredictOptions};
    let mut a = app("tcp_handshake");
    a.insert_resource(Predict::new(PredictOptions {
        student: "ada".into(),
        ..Default::default()
    }));
    control(&mut a, Control::ToEnd);
    let questions = a.world().resource::<Predict>().session.questions.clone();
    assert_eq!(
        questions.len(),
        3,
        "tcp_handshake's quiz has three questions"
    );
    for (k, q) in questions.iter().enumerate() {
        // Play, step, jump to the end: the view stays before the event.
        for c in [
            Control::ToEnd,
            Control::Play,
            Control::StepForward,
            Control::ToEnd,
        ] {
            control(&mut a, c);
            let sim = a.world().non_send::<Sim>();
            assert_eq!(sim.player.cursor, q.event, "question {k}: {}", q.text);
            assert!(sim.player.time <= q.time);
        }
        assert!(!a.world().resource::<wiretale::gui::sim::Playback>().playing);
        let mut pr = a.world_mut().resource_mut::<Predict>();
        assert_eq!(pr.asking(q.event).map(|x| &x.text), Some(&q.text));
        // The first answer is wrong, the others right.
        let given = if k == 0 {
            "not it".to_string()
        } else {
            q.answer.clone()
        };
        pr.answer(Some(given), "bundled:tcp_handshake");
        let f = pr.feedback.clone().expect("feedback");
        assert_eq!(f.right, k != 0);
        assert_eq!(f.question.proof, q.proof);
    }
    control(&mut a, Control::ToEnd);
    let sim = a.world().non_send::<Sim>();
    assert_eq!(
        sim.player.cursor,
        sim.player.len(),
        "no question holds the view"
    );
    assert_eq!(a.world().resource::<Predict>().session.score(), 2);
}

/// "What if this packet is lost?" forks the run: both runs stand just
/// before they part, and the first arrow that differs is the dropped SYN
/// in both ladders (received in the original, lost in the fork).
#[test]
fn a_what_if_fork_stands_at_the_fork_and_marks_the_dropped_syn_in_both_ladders() {
    let mut a = app("alice_to_bob");
    let syn = {
        let sim = a.world().non_send::<Sim>();
        first_syn_to_port_25(&sim.player.timeline.trace)
    };
    control(
        &mut a,
        Control::WhatIf(vec![wiretale::exercise::WhatIf::DropPacket(syn)]),
    );
    let sim = a.world().non_send::<Sim>();
    assert_eq!(sim.error, None);
    let fork = sim.fork.as_ref().expect("a fork");
    let common = fork.common().expect("the runs part");
    assert_eq!(sim.player.cursor, common, "the view stands where they part");
    for (side, lost) in [(0, false), (1, true)] {
        let lad = &fork.ladders[side];
        let arrow = &lad.arrows[fork.marks[side].expect("a marked arrow")];
        assert_eq!(arrow.flight_packet, syn, "side {side}");
        assert_eq!(arrow.lost, lost, "side {side}");
    }
    // The fork goes on to retransmit the SYN; the original does not.
    let retransmits = |t: &Timeline| {
        t.trace
            .records
            .iter()
            .filter(|r| t.trace.event_name(r) == "retransmit_timeout")
            .count()
    };
    assert_eq!(retransmits(&sim.player.timeline), 0);
    assert_eq!(retransmits(&fork.timeline), 1);
    drop(a);
    // A change the scenario cannot take is an error, and no fork.
    let mut b = app("tcp_handshake");
    control(
        &mut b,
        Control::WhatIf(vec![wiretale::exercise::WhatIf::DnsDown {
            at: Default::default(),
        }]),
    );
    let sim = b.world().non_send::<Sim>();
    assert!(sim.fork.is_none());
    assert!(
        sim.error
            .as_deref()
            .is_some_and(|e| e.contains("no DNS server")),
        "{:?}",
        sim.error
    );
}

// ---------------------------------------------------------------------
// The screenshot under X.

/// A display for the screenshot, starting Xvfb when needed.
struct Display {
    name: String,
    xvfb: Option<std::process::Child>,
}

impl Drop for Display {
    fn drop(&mut self) {
        if let Some(c) = &mut self.xvfb {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn display() -> Option<Display> {
    use std::io::BufRead;
    if let Ok(d) = std::env::var("DISPLAY")
        && !d.is_empty()
    {
        return Some(Display {
            name: d,
            xvfb: None,
        });
    }
    // Xvfb picks a free display number and writes it to the pipe.
    let mut child = std::process::Command::new("Xvfb")
        .args([
            "-displayfd",
            "1",
            "-screen",
            "0",
            "1600x1000x24",
            "-nolisten",
            "tcp",
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .ok()?;
    let mut line = String::new();
    let read = child
        .stdout
        .take()
        .map(|out| std::io::BufReader::new(out).read_line(&mut line));
    match (read, line.trim().parse::<u32>()) {
        (Some(Ok(_)), Ok(n)) => Some(Display {
            name: format!(":{n}"),
            xvfb: Some(child),
        }),
        _ => {
            let _ = child.kill();
            let _ = child.wait();
            None
        }
    }
}

fn close(a: [u8; 3], b: [u8; 3], tol: i32) -> bool {
    a.iter()
        .zip(b)
        .all(|(&x, y)| (i32::from(x) - i32::from(y)).abs() <= tol)
}

/// Centroid and count of the pixels matching `c`, in a region.
fn blob(
    img: &[[u8; 3]],
    w: usize,
    region: (usize, usize, usize, usize),
    c: [u8; 3],
    tol: i32,
) -> Option<(f32, f32, usize)> {
    let (x0, y0, x1, y1) = region;
    let (mut sx, mut sy, mut n) = (0f64, 0f64, 0usize);
    for y in y0..y1 {
        for x in x0..x1 {
            if close(img[y * w + x], c, tol) {
                sx += x as f64;
                sy += y as f64;
                n += 1;
            }
        }
    }
    (n > 0).then(|| ((sx / n as f64) as f32, (sy / n as f64) as f32, n))
}

/// True if a packet drawn at `x` is `frac` of the way between icons
/// centred at `from` and `to + to_shift` (`to_shift` scales with the
/// scene), for some scale of the scene: the flight runs from icon edge to
/// icon edge, and icons grow with the window (scale 0.85 to 1.6), so the
/// packet must be where some such scale puts it.
fn at_fraction(x: f32, from: f32, to: f32, to_shift: f32, frac: f32) -> bool {
    (85..=160).any(|s| {
        let s = s as f32 / 100.0;
        let trim = wiretale::gui::layout::HOST_RADIUS * s;
        let (ax, bx) = (from + trim, to + to_shift * s - trim);
        (x - (ax + (bx - ax) * frac)).abs() < 6.0
    })
}

/// Runs `wiretale gui SCENARIO --at T --screenshot` in the network view at
/// 1400x900 and decodes the PNG; `None` when there is no display (and none
/// is required).
fn screenshot(scenario: &str, at: SimTime) -> Option<(usize, usize, Vec<[u8; 3]>)> {
    screenshot_with(scenario, at, &["--view", "network"])
}

/// A screenshot of the textbook view, with the figure's layout as the
/// view reports it (`--figure-json`).
fn textbook_shot(scenario: &str, at: SimTime) -> Option<(usize, Vec<[u8; 3]>, serde_json::Value)> {
    let json = std::env::temp_dir().join(format!(
        "wiretale-figure-{scenario}-{}-{}.json",
        at.as_nanos(),
        std::process::id()
    ));
    let path = json.to_str().unwrap().to_owned();
    let (w, _, img) = screenshot_with(
        scenario,
        at,
        &["--view", "textbook", "--figure-json", &path],
    )?;
    let text = std::fs::read_to_string(&json).expect("the figure's JSON");
    let _ = std::fs::remove_file(&json);
    Some((w, img, serde_json::from_str(&text).expect("JSON")))
}

fn screenshot_with(
    scenario: &str,
    at: SimTime,
    extra: &[&str],
) -> Option<(usize, usize, Vec<[u8; 3]>)> {
    screenshot_sized(scenario, at, (1400, 900), extra)
}

fn screenshot_sized(
    scenario: &str,
    at: SimTime,
    size: (usize, usize),
    extra: &[&str],
) -> Option<(usize, usize, Vec<[u8; 3]>)> {
    let required = std::env::var("WIRETALE_REQUIRE_DISPLAY").is_ok_and(|v| v == "1");
    let Some(d) = display() else {
        assert!(
            !required,
            "WIRETALE_REQUIRE_DISPLAY=1 but no display (set DISPLAY or install Xvfb)"
        );
        eprintln!("skipped: no display and no Xvfb");
        return None;
    };
    // Tests run in parallel: each picture its own file.
    static SHOTS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = SHOTS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let out = std::env::temp_dir().join(format!(
        "wiretale-shot-{scenario}-{}-{n}.png",
        std::process::id()
    ));
    let status = std::process::Command::new(env!("CARGO_BIN_EXE_wiretale"))
        .args([
            "gui",
            scenario,
            "--at",
            &format!("{}ns", at.as_nanos()),
            "--size",
            &format!("{}x{}", size.0, size.1),
        ])
        .args(extra)
        .arg("--screenshot")
        .arg(&out)
        .env("DISPLAY", &d.name)
        .env_remove("WAYLAND_DISPLAY")
        .status()
        .expect("runs");
    assert!(
        status.success(),
        "wiretale gui --screenshot failed: {status}"
    );
    let file = std::fs::File::open(&out).expect("the PNG exists");
    let mut reader = png::Decoder::new(std::io::BufReader::new(file))
        .read_info()
        .expect("a PNG");
    let mut buf = vec![0; reader.output_buffer_size().expect("size")];
    let info = reader.next_frame(&mut buf).expect("decodes");
    let (w, h) = (info.width as usize, info.height as usize);
    assert_eq!((w, h), size);
    let channels = info.line_size / w;
    let img: Vec<[u8; 3]> = buf[..info.line_size * h]
        .chunks(channels)
        .map(|p| [p[0], p[1], p[2]])
        .collect();
    let _ = std::fs::remove_file(&out);
    Some((w, h, img))
}

#[test]
fn a_screenshot_shows_hosts_and_a_packet_where_they_belong() {
    let at = SimTime::from_millis(15);
    let Some((w, h, img)) = screenshot(SCENARIO, at) else {
        return;
    };

    // The two hosts: the dark icon bodies, left and right halves.
    let body = [61, 74, 94];
    let left = blob(&img, w, (0, 0, w / 2, h), body, 10).expect("a host on the left");
    let right = blob(&img, w, (w / 2, 0, w, h), body, 10).expect("a host on the right");
    assert!(
        left.2 > 300 && right.2 > 300,
        "host icons too small: {left:?} {right:?}"
    );
    assert!(
        (left.1 - right.1).abs() < 12.0,
        "hosts not level: {left:?} {right:?}"
    );

    // The SYN, in the TCP colour, between them at the fraction its flight
    // has reached at 15 ms.
    let t = model::load(SCENARIO, None).expect("loads");
    let f = &t.flights[0];
    let frac = f.fraction(at);
    let band = (
        left.0 as usize + 30,
        (left.1 - 50.0) as usize,
        right.0 as usize - 30,
        (left.1 + 50.0) as usize,
    );
    let tcp = wiretale::gui::model::Proto::Tcp.rgb();
    let pkt = blob(&img, w, band, tcp, 12).expect("a packet between the hosts");
    assert!(pkt.2 > 60, "packet too small: {pkt:?}");
    // The computer's body is centred on its host; the server's tower sits
    // 4 px (times the scene's scale) left of centre.
    assert!(
        at_fraction(pkt.0, left.0, right.0, 4.0, frac),
        "packet at x={} is not {frac} of the way from {} to {}",
        pkt.0,
        left.0,
        right.0
    );
    assert!(
        (pkt.1 - left.1).abs() < 30.0,
        "packet off the link: {pkt:?} vs {left:?}"
    );
}

/// The mail flow mid-way: Alice's server speaks SMTP to Bob's across the
/// long link between the two routers. The routers are drawn level in the
/// router colour, and the segment carrying MAIL FROM is between them, in
/// the SMTP colour, as far along as its flight has got.
#[test]
fn a_screenshot_of_the_mail_flow_shows_smtp_between_the_routers() {
    const MAIL: &str = "alice_to_bob";
    let t = model::load(MAIL, None).expect("loads");
    let node = |name: &str| {
        t.hosts
            .iter()
            .find(|h| h.name == name)
            .unwrap_or_else(|| panic!("{name} in {MAIL}"))
            .node
    };
    let (west, east) = (node("crepes-gw"), node("hamburger-gw"));
    // The segment carrying MAIL FROM, going west to east, caught 40% of
    // the way, alone in its colour on that link at that moment.
    let mail_from = |f: &model::Flight| {
        t.trace.packet(f.packet).is_some_and(|p| match &p.payload {
            Payload::Tcp(seg) => seg.payload.starts_with(b"MAIL FROM:"),
            Payload::Udp(_) => false,
        })
    };
    let (flight, at) = t
        .flights
        .iter()
        .filter(|f| f.proto == model::Proto::Smtp && f.from == west && f.to == east)
        .filter(|f| f.lost.is_none() && mail_from(f))
        .map(|f| {
            (
                f,
                f.depart + SimDuration::from_nanos((f.arrive - f.depart).as_nanos() * 2 / 5),
            )
        })
        .find(|(f, at)| {
            t.flights.iter().all(|g| {
                std::ptr::eq(*f, g)
                    || g.link != f.link
                    || g.proto != model::Proto::Smtp
                    || !(g.queued <= *at && *at < g.end())
            })
        })
        .expect("MAIL FROM between the gateways");
    let frac = flight.fraction(at);
    let Some((w, h, img)) = screenshot(MAIL, at) else {
        return;
    };

    // The routers: discs in the router colour, one in each half of the
    // topology canvas (the middle of the window; the panels are at the
    // sides).
    let router = [41, 107, 158];
    let (x0, x1) = (w * 3 / 10, w * 7 / 10);
    let mid = w / 2;
    let a = blob(&img, w, (x0, 0, mid, h), router, 8).expect("crepes-gw on the left");
    let b = blob(&img, w, (mid, 0, x1, h), router, 8).expect("hamburger-gw on the right");
    assert!(
        a.2 > 300 && b.2 > 300,
        "router discs too small: {a:?} {b:?}"
    );
    assert!((a.1 - b.1).abs() < 4.0, "routers not level: {a:?} {b:?}");
    assert!(b.0 - a.0 > 80.0, "routers too close: {a:?} {b:?}");

    // The SMTP packet, on the link between them.
    let band = (
        a.0 as usize + 20,
        (a.1 - 25.0) as usize,
        b.0 as usize - 20,
        (a.1 + 25.0) as usize,
    );
    let smtp = model::Proto::Smtp.rgb();
    let pkt = blob(&img, w, band, smtp, 12).expect("an SMTP packet between the routers");
    assert!(pkt.2 > 60, "packet too small: {pkt:?}");
    assert!(
        (pkt.1 - a.1).abs() < 15.0,
        "packet off the link: {pkt:?} vs {a:?}"
    );
    // A router's disc is centred on it.
    assert!(
        at_fraction(pkt.0, a.0, b.0, 0.0, frac),
        "packet at x={} is not {frac} of the way from {} to {}",
        pkt.0,
        a.0,
        b.0
    );
}

// ---------------------------------------------------------------------
// The textbook view.

fn rect_of(v: &serde_json::Value) -> [f32; 4] {
    let a: Vec<f32> = v
        .as_array()
        .expect("a rect")
        .iter()
        .map(|x| x.as_f64().unwrap() as f32)
        .collect();
    [a[0], a[1], a[2], a[3]]
}

fn inside(p: (f32, f32), r: [f32; 4]) -> bool {
    r[0] <= p.0 && p.0 <= r[2] && r[1] <= p.1 && p.1 <= r[3]
}

/// The pixels around `p` that have colour `c`.
fn near(img: &[[u8; 3]], w: usize, p: (f32, f32), c: [u8; 3]) -> usize {
    let (x, y) = (p.0 as usize, p.1 as usize);
    blob(img, w, (x - 6, y - 4, x + 6, y + 4), c, 14).map_or(0, |b| b.2)
}

fn object(fig: &serde_json::Value, label: &str) -> (f32, f32) {
    let o = fig["objects"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["label"] == label)
        .unwrap_or_else(|| panic!("no {label} in {fig}"));
    let p = rect_of(&serde_json::json!([o["pos"][0], o["pos"][1], 0, 0]));
    (p[0], p[1])
}

fn host_box<'a>(fig: &'a serde_json::Value, host: &str) -> &'a serde_json::Value {
    fig["boxes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["host"] == host)
        .unwrap_or_else(|| panic!("no box of {host}"))
}

/// Steps 3 and 5 of Fig. 2.16: the envelope in the queue box of Alice's
/// server, then in Bob's mailbox, drawn in the envelope's colour where the
/// figure says it is.
#[test]
fn the_textbook_view_shows_the_envelope_in_the_queue_then_in_bobs_mailbox() {
    use wiretale::gui::textbook::ENVELOPE;
    const SUBJECT: &str = "Searching for the meaning of life.";
    let t = model::load("alice_to_bob", None).expect("loads");
    let time_of = |event: &str| {
        t.trace
            .records
            .iter()
            .find(|r| t.trace.event_name(r) == event)
            .unwrap()
            .time
    };
    // Step 3: queued, DNS asked, the connection not yet open.
    let step3 = time_of("queued") + SimDuration::from_millis(5);
    let Some((w, img, fig)) = textbook_shot("alice_to_bob", step3) else {
        return;
    };
    let env = object(&fig, SUBJECT);
    let queue = rect_of(&host_box(&fig, "alice-mail")["queue"]);
    assert!(
        inside(env, queue),
        "envelope {env:?} not in the queue {queue:?}"
    );
    assert!(
        near(&img, w, env, ENVELOPE) > 30,
        "no envelope drawn at {env:?}"
    );

    // Step 5: stored in Bob's mailbox.
    let step5 = time_of("stored") + SimDuration::from_millis(5);
    let Some((w, img, fig)) = textbook_shot("alice_to_bob", step5) else {
        return;
    };
    let env = object(&fig, SUBJECT);
    let bob = host_box(&fig, "bob-mail")["mailboxes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["user"] == "bob")
        .map(|m| rect_of(&m["rect"]))
        .unwrap();
    assert!(
        inside(env, bob),
        "envelope {env:?} not in Bob's mailbox {bob:?}"
    );
    assert!(
        near(&img, w, env, ENVELOPE) > 30,
        "no envelope drawn at {env:?}"
    );
    // And no longer in the queue.
    let queue = rect_of(&host_box(&fig, "alice-mail")["queue"]);
    let (qx, qy) = (queue[0] as usize, queue[1] as usize);
    let in_queue = blob(
        &img,
        w,
        (qx, qy, queue[2] as usize, queue[3] as usize),
        ENVELOPE,
        14,
    );
    assert!(
        in_queue.is_none(),
        "an envelope is still drawn in the queue: {in_queue:?} at {qx},{qy}"
    );
}

/// Fig. 2.14 during RETR: two pipes between the client and the server,
/// the data connection in its own colour, and the file on it.
#[test]
fn the_textbook_view_shows_ftps_two_pipes_during_a_transfer() {
    use wiretale::gui::textbook::FILE;
    let at = SimTime::from_millis(500);
    let Some((w, img, fig)) = textbook_shot("ftp_session", at) else {
        return;
    };
    let lanes = fig["lanes"].as_array().unwrap();
    let lane = |name: &str| {
        lanes
            .iter()
            .find(|l| l["protocol"] == name)
            .unwrap_or_else(|| panic!("no {name} lane in {fig}"))
    };
    let (control, data) = (lane("FTP control"), lane("FTP data"));
    assert_eq!(control["open"], true);
    assert_eq!(data["open"], true);
    let colour = |l: &serde_json::Value| -> [u8; 3] {
        let c = l["colour"].as_array().unwrap();
        [0, 1, 2].map(|i| c[i].as_u64().unwrap() as u8)
    };
    assert_ne!(colour(control), colour(data));
    // Each pipe is drawn in its colour, a quarter of the way along.
    for l in [control, data] {
        let (a, b) = (
            rect_of(&serde_json::json!([l["from"][0], l["from"][1], 0, 0])),
            rect_of(&serde_json::json!([l["to"][0], l["to"][1], 0, 0])),
        );
        let p = (a[0] + (b[0] - a[0]) * 0.25, a[1] + (b[1] - a[1]) * 0.25);
        assert!(
            near(&img, w, p, colour(l)) > 20,
            "{} not drawn at {p:?}",
            l["protocol"]
        );
    }
    // The photo travels on the data pipe.
    let photo = object(&fig, "photo.jpg");
    assert!(
        near(&img, w, photo, FILE) > 30,
        "no file drawn at {photo:?}"
    );
    let (a, b) = (
        data["from"][1].as_f64().unwrap() as f32,
        data["to"][1].as_f64().unwrap() as f32,
    );
    assert!(
        (photo.1 - a).abs() < 2.0 && (photo.1 - b).abs() < 2.0,
        "the file is not on the data pipe"
    );

    // Between transfers there is no data pipe.
    let between = SimTime::from_millis(280);
    let Some((w, img, fig)) = textbook_shot("ftp_session", between) else {
        return;
    };
    let data = fig["lanes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["protocol"] == "FTP data")
        .unwrap();
    assert_eq!(data["open"], false);
    let (a, b) = (
        rect_of(&serde_json::json!([data["from"][0], data["from"][1], 0, 0])),
        rect_of(&serde_json::json!([data["to"][0], data["to"][1], 0, 0])),
    );
    let p = (a[0] + (b[0] - a[0]) * 0.25, a[1] + (b[1] - a[1]) * 0.25);
    let [r, g, bl] = colour(data);
    assert_eq!(
        near(&img, w, p, [r, g, bl]),
        0,
        "a closed data pipe is drawn"
    );
}

/// Every text on screen, as the layout placed it (`--layout-json`), and
/// the area the side panels leave.
fn layout_of(
    scenario: &str,
    at: SimTime,
    size: (usize, usize),
    extra: &[&str],
) -> Option<(serde_json::Value, Vec<[u8; 3]>)> {
    static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let json = std::env::temp_dir().join(format!(
        "wiretale-layout-{scenario}-{}-{n}.json",
        std::process::id()
    ));
    let path = json.to_str().unwrap().to_owned();
    let mut args: Vec<&str> = extra.to_vec();
    args.extend(["--lecture", "--layout-json", &path]);
    let (_, _, img) = screenshot_sized(scenario, at, size, &args)?;
    let text = std::fs::read_to_string(&json).expect("the layout's JSON");
    let _ = std::fs::remove_file(&json);
    Some((serde_json::from_str(&text).expect("JSON"), img))
}

/// The pairs of texts whose rectangles overlap (by more than a pixel
/// each way).
fn overlapping(layout: &serde_json::Value) -> Vec<String> {
    let texts = layout["texts"].as_array().expect("texts");
    let rect = |t: &serde_json::Value| -> [f64; 4] {
        let r = t["rect"].as_array().unwrap();
        [0, 1, 2, 3].map(|i| r[i].as_f64().unwrap())
    };
    let mut out = Vec::new();
    for (i, a) in texts.iter().enumerate() {
        for b in &texts[i + 1..] {
            let (ra, rb) = (rect(a), rect(b));
            let w = ra[2].min(rb[2]) - ra[0].max(rb[0]);
            let h = ra[3].min(rb[3]) - ra[1].max(rb[1]);
            if w > 1.0 && h > 1.0 {
                out.push(format!(
                    "{} {:?} and {} {:?} overlap by {w:.0}x{h:.0}",
                    a["source"], a["text"], b["source"], b["text"]
                ));
            }
        }
    }
    out
}

/// Lecture mode on a projector: at 1280x720 and at 1024x768, in the
/// textbook view and the network view, no text on screen covers another,
/// as the layout reports it; the scene's labels are there to be counted.
#[test]
fn lecture_mode_fits_a_projector_without_overlapping_text() {
    for (scenario, at, size, view, tab) in [
        ("alice_to_bob", 1360, (1280, 720), "textbook", "ladder"),
        ("ftp_session", 400, (1280, 720), "textbook", "transcripts"),
        (
            "isp_to_organization",
            2000,
            (1280, 720),
            "textbook",
            "ladder",
        ),
        ("scp_vs_ftp", 1000, (1280, 720), "textbook", "ladder"),
        ("alice_to_bob", 1360, (1280, 720), "network", "transcripts"),
        ("alice_to_bob", 1360, (1024, 768), "network", "ladder"),
        ("ftp_session", 400, (1024, 768), "network", "state"),
    ] {
        let figure = std::env::temp_dir().join(format!(
            "wiretale-projector-{scenario}-{view}-{}.json",
            std::process::id()
        ));
        let figure_arg = figure.to_str().unwrap().to_owned();
        let mut args = vec!["--view", view, "--tab", tab];
        if view == "textbook" {
            args.extend(["--figure-json", &figure_arg]);
        }
        let Some((layout, _)) = layout_of(scenario, SimTime::from_millis(at), size, &args) else {
            return;
        };
        let texts = layout["texts"].as_array().unwrap();
        assert!(texts.len() > 50, "{scenario}: only {} texts", texts.len());
        if view == "textbook" {
            let fig: serde_json::Value =
                serde_json::from_str(&std::fs::read_to_string(&figure).unwrap()).unwrap();
            let _ = std::fs::remove_file(&figure);
            figure_reads_whole(&fig, texts);
        }
        if view == "network" {
            assert!(
                texts.iter().any(|t| t["source"] == "scene"),
                "{scenario}: no scene labels counted"
            );
        }
        let clashes = overlapping(&layout);
        assert!(
            clashes.is_empty(),
            "{scenario} {view} {tab} at {size:?}:\n{}",
            clashes.join("\n")
        );
    }
}

/// Every box title of the textbook figure shows whole (in one or two
/// lines, never cut), and a mailbox's label and count stay left of the
/// messages in it.
fn figure_reads_whole(fig: &serde_json::Value, texts: &[serde_json::Value]) {
    let lines: Vec<&str> = texts.iter().filter_map(|t| t["text"].as_str()).collect();
    for b in fig["boxes"].as_array().unwrap() {
        let title = b["title"].as_str().unwrap();
        let whole = lines.contains(&title)
            || lines
                .windows(2)
                .any(|w| format!("{} {}", w[0], w[1]) == title);
        assert!(whole, "the title {title:?} is not shown whole: {lines:?}");
    }
    for b in fig["boxes"].as_array().unwrap() {
        for m in b["mailboxes"].as_array().into_iter().flatten() {
            let row = rect_of(&m["rect"]);
            let label = texts.iter().find(|t| {
                let r = rect_of(&t["rect"]);
                inside(((r[0] + r[2]) / 2.0, (r[1] + r[3]) / 2.0), row)
            });
            let label = label.unwrap_or_else(|| panic!("no label in the mailbox {m}"));
            let right = rect_of(&label["rect"])[2];
            for o in fig["objects"].as_array().unwrap() {
                let p = (
                    o["pos"][0].as_f64().unwrap() as f32,
                    o["pos"][1].as_f64().unwrap() as f32,
                );
                if inside(p, row) {
                    assert!(
                        right < p.0 - 10.0,
                        "{label} runs under the message at {p:?} in {m}"
                    );
                }
            }
        }
    }
}

/// With the side panels folded away the network takes the window's width
/// (at least 80% of it), still with no text over another.
#[test]
fn with_the_panels_folded_the_network_fills_the_window() {
    let Some((layout, _)) = layout_of(
        "alice_to_bob",
        SimTime::from_millis(1360),
        (1280, 720),
        &["--view", "network", "--hide-panels"],
    ) else {
        return;
    };
    let w = layout["window"][0].as_f64().unwrap();
    let c = &layout["central"];
    let central = c[2].as_f64().unwrap() - c[0].as_f64().unwrap();
    assert!(
        central >= 0.8 * w,
        "the network has {central} of {w} pixels"
    );
    assert!(
        overlapping(&layout).is_empty(),
        "{:#?}",
        overlapping(&layout)
    );
    // Presentation mode: the toolbar goes too, the caption stays.
    let Some((layout, _)) = layout_of(
        "alice_to_bob",
        SimTime::from_millis(1360),
        (1280, 720),
        &["--view", "network", "--present"],
    ) else {
        return;
    };
    let texts: Vec<&str> = layout["texts"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|t| t["text"].as_str())
        .collect();
    assert!(!texts.contains(&"Speed"), "the toolbar is hidden");
    assert!(
        texts.iter().any(|t| t.contains("Bob's mail server")),
        "the caption shows: {texts:?}"
    );
}

/// The Transcripts tab lists FTP's data connection under its control
/// connection, between the 150 and the 226, with its ports and bytes: as
/// drawn, read from the layout.
#[test]
fn the_transcripts_tab_shows_the_data_connection_under_its_control_connection() {
    let Some((layout, _)) = layout_of(
        "ftp_session",
        SimTime::from_millis(300),
        (1600, 900),
        &["--view", "textbook", "--tab", "transcripts"],
    ) else {
        return;
    };
    let texts = layout["texts"].as_array().unwrap();
    let find = |want: &str| -> (f64, f64) {
        let t = texts
            .iter()
            .find(|t| t["text"].as_str().is_some_and(|s| s.starts_with(want)))
            .unwrap_or_else(|| panic!("no {want:?} on screen"));
        let r = t["rect"].as_array().unwrap();
        (r[0].as_f64().unwrap(), r[1].as_f64().unwrap())
    };
    let control = find("FTP control alice-pc -> files");
    // (Long lines wrap: each row is a text of its own; match the start.)
    let opened = find("S: 150 Opening");
    let data = find("data connection 20 -> 45000");
    let listing = find("(data connection: 135");
    let done = find("S: 226 Transfer");
    // In order down the tab: the control connection, its 150, the data
    // connection's box (indented) with the listing in it, then the 226.
    assert!(control.1 < opened.1 && opened.1 < data.1 && data.1 < listing.1 && listing.1 < done.1);
    assert!(
        data.0 > opened.0,
        "the data connection is indented under the control one"
    );
}

/// The texts of a layout with their rectangles.
fn texts_of(layout: &serde_json::Value) -> Vec<(String, [f32; 4])> {
    layout["texts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["text"].as_str().unwrap_or("").to_string(),
                rect_of(&t["rect"]),
            )
        })
        .collect()
}

/// The GUI's fork at the SYN to port 25 shows two ladders side by side:
/// the original's on the left and the fork's on the right, each with the
/// hosts' columns, and the first differing arrow marked in both.
#[test]
fn a_fork_shows_two_ladders_side_by_side_with_the_first_difference_marked() {
    let t = model::load("alice_to_bob", None).unwrap();
    let syn = first_syn_to_port_25(&t.trace);
    let change = format!("drop:{syn}");
    let Some((layout, img)) = layout_of(
        "alice_to_bob",
        SimTime::ZERO,
        (1280, 720),
        &["--what-if", &change, "--hide-panels"],
    ) else {
        return;
    };
    let texts = texts_of(&layout);
    let c = rect_of(&layout["central"]);
    let mid = (c[0] + c[2]) / 2.0;
    let find = |what: &str| -> Vec<[f32; 4]> {
        texts
            .iter()
            .filter(|(t, _)| t == what)
            .map(|(_, r)| *r)
            .collect()
    };
    let original = find("The original");
    let forked = find("The fork");
    assert!(
        original.len() == 1 && forked.len() == 1,
        "the two titles: {texts:?}"
    );
    assert!(original[0][2] <= mid && forked[0][0] >= mid);
    // Each ladder has the hosts' columns: alice-mail and bob-mail head a
    // column on both sides.
    for host in ["alice-mail", "bob-mail"] {
        let heads = find(host);
        assert!(
            heads.iter().any(|r| r[2] <= mid) && heads.iter().any(|r| r[0] >= mid),
            "{host} heads a column in both ladders: {heads:?}"
        );
    }
    let marks = find("first difference");
    assert!(
        marks.iter().any(|r| r[0] < mid) && marks.iter().any(|r| r[0] >= mid),
        "the first difference is marked on both sides: {marks:?}"
    );
    // The marks' yellow band is drawn on both sides.
    let w = layout["window"][0].as_f64().unwrap() as usize;
    let h = img.len() / w;
    let fill = [0xff, 0xf3, 0xb0];
    let left = blob(
        &img,
        w,
        (c[0] as usize, c[1] as usize, mid as usize, h),
        fill,
        3,
    );
    let right = blob(
        &img,
        w,
        (mid as usize, c[1] as usize, c[2] as usize, h),
        fill,
        3,
    );
    assert!(
        left.is_some_and(|b| b.2 > 200) && right.is_some_and(|b| b.2 > 200),
        "yellow bands: {left:?} {right:?}"
    );
    assert!(
        overlapping(&layout).is_empty(),
        "{:#?}",
        overlapping(&layout)
    );
}

/// Predict mode in the window: the run stands before the SYN-ACK and the
/// question about its ack number is on screen.
#[test]
fn predict_mode_asks_its_question_in_a_window() {
    let Some((layout, _)) = layout_of(
        "tcp_handshake",
        SimTime::from_millis(25),
        (1280, 720),
        &["--predict", "--view", "network"],
    ) else {
        return;
    };
    // Each row of a wrapped text is its own rectangle: read them in order.
    let texts: Vec<String> = texts_of(&layout).into_iter().map(|(t, _)| t).collect();
    let all = texts.join(" ");
    let has = |what: &str| all.contains(what);
    assert!(has("Predict the next step"), "{texts:?}");
    assert!(has("Question 1 of 3"), "{texts:?}");
    assert!(has("What ack number does its SYN-ACK carry?"), "{texts:?}");
}
