//! Where the textbook's objects are, as a function of simulated time: the
//! message of Fig. 2.16 from Alice's user agent through the queue and the
//! SMTP connection into Bob's mailbox and his user agent; the retried and
//! the returned message; FTP's file moving between the file systems of
//! Fig. 2.14 over a data connection that lives only for its transfer.

use wiretale::net::packet::Payload;
use wiretale::scenario;
use wiretale::sim::SimTime;
use wiretale::trace::story::{Journey, Place, Story, Thing};
use wiretale::trace::{Dir, Event, Layer, Protocol, Trace, socket_pair};

fn run(name: &str) -> Trace {
    let b = scenario::bundled::ALL
        .iter()
        .find(|b| b.name == name)
        .unwrap();
    let s = scenario::parse(b.name, b.text).unwrap();
    let mut run = scenario::build(&s, s.seed).unwrap();
    run.run();
    run.world.take_trace()
}

fn node(t: &Trace, name: &str) -> u32 {
    t.nodes.iter().position(|n| n == name).unwrap() as u32
}

/// The time of the first dialogue line of `layer` whose text contains
/// `text`, at or after `from`.
fn line_time(t: &Trace, layer: Layer, dir: Dir, text: &str, from: SimTime) -> SimTime {
    t.records
        .iter()
        .find(|r| {
            r.time >= from
                && matches!(&r.event, Event::Dialogue { layer: l, dir: d, line, .. }
                    if *l == layer && *d == dir && line.contains(text))
        })
        .unwrap_or_else(|| panic!("no {layer:?} {dir:?} line with {text:?}"))
        .time
}

fn app_time(t: &Trace, event: &str, from: SimTime) -> SimTime {
    t.records
        .iter()
        .find(|r| r.time >= from && matches!(&r.event, Event::App { event: e, .. } if *e == event))
        .unwrap_or_else(|| panic!("no {event}"))
        .time
}

fn message<'a>(story: &'a Story, subject: &str) -> &'a Journey {
    story
        .journeys
        .iter()
        .find(|j| j.thing == Thing::Message && j.label == subject)
        .unwrap_or_else(|| panic!("no journey of {subject:?}: {:#?}", story.journeys))
}

/// A microsecond before and after `t`.
fn before(t: SimTime) -> SimTime {
    SimTime(t.0 - 1_000)
}
fn after(t: SimTime) -> SimTime {
    SimTime(t.0 + 1_000)
}

/// Checks that at every ACK `receiver` sends on the leg's connection
/// between `from` and `to`, the object's progress is the share of its
/// bytes acknowledged, never going back; returns how many ACKs it checked.
fn acknowledged_progress(
    t: &Trace,
    story: &Story,
    leg: &wiretale::trace::story::Leg,
    receiver: u32,
    from: SimTime,
    to: SimTime,
) -> usize {
    let Place::Pipe { conn, .. } = leg.place else {
        panic!("not on a pipe: {:?}", leg.place);
    };
    let (first, end) = leg.bytes.expect("the object's bytes are known");
    let mut checked = 0;
    let mut last = 0.0;
    for r in &t.records {
        let Event::SegmentSent { host, packet } = r.event else {
            continue;
        };
        let p = t.packet(packet).unwrap();
        if host != receiver
            || socket_pair(p.src_addr(), p.dst_addr()) != conn
            || r.time < from
            || r.time > to
        {
            continue;
        }
        let Payload::Tcp(s) = &p.payload else {
            continue;
        };
        let span = end.wrapping_sub(first);
        let acked = s.ack.wrapping_sub(first);
        // One past the end acknowledges a FIN as well.
        let want = if acked > span + 1 {
            last
        } else {
            acked.min(span) as f32 / span as f32
        };
        let got = story.progress(leg, r.time);
        assert!((got - want).abs() < 1e-6, "at {}: {got} != {want}", r.time);
        assert!(got >= last);
        last = got;
        checked += 1;
    }
    checked
}

#[test]
fn alice_to_bob_the_envelope_moves_as_in_figure_2_16() {
    let t = run("alice_to_bob");
    let story = Story::new(&t);
    let (alice_pc, alice_mail, bob_mail, bob_pc) = (
        node(&t, "alice-pc"),
        node(&t, "alice-mail"),
        node(&t, "bob-mail"),
        node(&t, "bob-pc"),
    );
    let env = message(&story, "Searching for the meaning of life.");
    let composed = app_time(&t, "compose", SimTime::ZERO);
    assert_eq!(
        env.place_at(composed),
        Some(&Place::Agent { host: alice_pc })
    );

    // In Alice's queue from the 250 "queued as" until the SYN to port 25.
    let queued = line_time(&t, Layer::Smtp, Dir::Reply, "queued as A1", SimTime::ZERO);
    let syn = t
        .records
        .iter()
        .find_map(|r| match r.event {
            Event::SegmentSent { host, packet } if host == alice_mail => {
                let p = t.packet(packet)?;
                match &p.payload {
                    Payload::Tcp(s) if s.dst_port == 25 && s.flags.syn() => Some(r.time),
                    _ => None,
                }
            }
            _ => None,
        })
        .unwrap();
    assert!(queued < syn);
    let in_queue = Place::Queue {
        host: alice_mail,
        queue_id: "A1".into(),
    };
    // Before that it travelled from her user agent to her server
    // (submission, port 587).
    assert!(matches!(
        env.place_at(before(queued)),
        Some(Place::Pipe { conn, sender, receiver })
            if *sender == alice_pc && *receiver == alice_mail && conn.1.port() == 587
    ));
    assert_ne!(env.place_at(before(queued)), Some(&in_queue));
    assert_eq!(env.place_at(queued), Some(&in_queue));
    assert_eq!(env.place_at(syn), Some(&in_queue));
    assert_eq!(story.queue_at(alice_mail, syn).count(), 1);
    assert_eq!(story.queue_at(alice_mail, before(queued)).count(), 0);

    // On the SMTP pipe during DATA, as far along as its bytes are
    // acknowledged.
    let data = line_time(&t, Layer::Smtp, Dir::Reply, "354", syn);
    let done = line_time(&t, Layer::Smtp, Dir::Reply, "queued as B1", data);
    let leg = env.leg_at(data).unwrap();
    let Place::Pipe {
        sender, receiver, ..
    } = leg.place.clone()
    else {
        panic!("not on a pipe during DATA: {:?}", leg.place);
    };
    assert_eq!((sender, receiver), (alice_mail, bob_mail));
    let (first, end) = leg.bytes.expect("the message's bytes are known");
    assert!(end.wrapping_sub(first) > 300, "{first}..{end}");
    // Every ACK Alice's server receives on that connection during DATA
    // moves the envelope to exactly the share of bytes it acknowledges
    // (here one segment carries the whole message).
    let checked = acknowledged_progress(&t, &story, leg, bob_mail, data, done);
    assert!(checked >= 1, "{checked} ACKs during DATA");
    assert_eq!(story.progress(leg, done), 1.0);
    assert_eq!(story.progress(leg, data), 0.0);

    // In Bob's mailbox after `stored`, and counted there only then.
    let stored = app_time(&t, "stored", data);
    let mailbox = Place::Mailbox {
        host: bob_mail,
        user: "bob".into(),
        folder: "INBOX".into(),
    };
    assert_ne!(env.place_at(before(stored)), Some(&mailbox));
    assert_eq!(env.place_at(stored), Some(&mailbox));
    assert_eq!(
        story.mailbox_count(bob_mail, "bob", "INBOX", before(stored)),
        0
    );
    assert_eq!(story.mailbox_count(bob_mail, "bob", "INBOX", stored), 1);

    // Bob's user agent has it after RETR: on the POP3 pipe in between.
    let retr = line_time(&t, Layer::Pop3, Dir::Command, "RETR 1", stored);
    let fetched = app_time(&t, "fetched", retr);
    assert_eq!(env.place_at(before(retr)), Some(&mailbox));
    assert!(matches!(
        env.place_at(retr),
        Some(Place::Pipe { sender, receiver, .. }) if *sender == bob_mail && *receiver == bob_pc
    ));
    assert_eq!(env.place_at(fetched), Some(&Place::Agent { host: bob_pc }));
    // POP3 deleted it on the server (DELE, then QUIT).
    let end_of_run = t.records.last().unwrap().time;
    assert_eq!(story.mailbox_count(bob_mail, "bob", "INBOX", end_of_run), 0);
}

#[test]
fn mail_retry_the_envelope_waits_in_the_queue_and_the_bounce_comes_back() {
    let t = run("mail_retry");
    let story = Story::new(&t);
    let (alice_mail, bob_mail) = (node(&t, "alice-mail"), node(&t, "bob-mail"));
    let lunch = message(&story, "Lunch on Friday?");
    let queued = Place::Queue {
        host: alice_mail,
        queue_id: "A1".into(),
    };
    // Queued at every deferral and every new attempt until the one that
    // reaches Bob's server.
    let entry = story
        .queue_at(alice_mail, SimTime::from_secs(100))
        .find(|q| q.queue_id == "A1")
        .expect("A1 is queued at 100 s");
    assert_eq!(entry.retries.len(), 2);
    assert_eq!(entry.attempts.len(), 3);
    for &(at, next) in &entry.retries {
        assert_eq!(lunch.place_at(at), Some(&queued));
        assert_eq!(lunch.place_at(next), Some(&queued));
    }
    let first = lunch.legs.iter().position(|l| l.place == queued).unwrap();
    let delivered = lunch
        .legs
        .iter()
        .position(|l| matches!(l.place, Place::Mailbox { host, .. } if host == bob_mail))
        .expect("delivered in the end");
    assert!(
        lunch.legs[first..delivered]
            .iter()
            .all(|l| l.place == queued || matches!(l.place, Place::Pipe { .. }))
    );
    // Left the queue when Bob's server took it.
    assert!(entry.left.is_some_and(|t| t > SimTime::from_secs(150)));

    // The message to the unknown user stops at Alice's server and a
    // notification reaches her mailbox.
    let picnic = message(&story, "Picnic photos");
    assert!(matches!(
        picnic.legs.last().map(|l| &l.place),
        Some(Place::Stopped { host, reason }) if *host == alice_mail && reason.contains("550")
    ));
    let bounce = story
        .journeys
        .iter()
        .find(|j| j.thing == Thing::Bounce)
        .expect("a bounce");
    assert_eq!(bounce.label, "Returned: Picnic photos");
    assert_eq!(
        bounce.legs.last().map(|l| &l.place),
        Some(&Place::Mailbox {
            host: alice_mail,
            user: "alice".into(),
            folder: "INBOX".into()
        })
    );
}

#[test]
fn ftp_session_the_file_moves_on_a_data_connection_of_its_own() {
    let t = run("ftp_session");
    let story = Story::new(&t);
    let (alice, files) = (node(&t, "alice-pc"), node(&t, "files"));
    let report = story
        .journeys
        .iter()
        .find(|j| j.thing == Thing::File && j.label == "report.txt")
        .expect("report.txt travels");
    assert_eq!(
        report.place_at(SimTime::ZERO),
        Some(&Place::Files {
            host: files,
            path: "report.txt".into(),
            local: false
        })
    );
    // It appears in Alice's file system exactly when the 226 reaches her.
    let retr = line_time(
        &t,
        Layer::Ftp,
        Dir::Command,
        "RETR report.txt",
        SimTime::ZERO,
    );
    let reply = line_time(&t, Layer::Ftp, Dir::Reply, "226", retr);
    let arrives = t
        .records
        .iter()
        .find_map(|r| match r.event {
            Event::SegmentReceived { host, packet } if host == alice && r.time >= reply => {
                match &t.packet(packet)?.payload {
                    Payload::Tcp(s) if s.payload.starts_with(b"226") => Some(r.time),
                    _ => None,
                }
            }
            _ => None,
        })
        .unwrap();
    let local = Place::Files {
        host: alice,
        path: "report.txt".into(),
        local: true,
    };
    assert_eq!(report.place_at(arrives), Some(&local));
    assert_ne!(report.place_at(before(arrives)), Some(&local));
    // In between it was on a data connection, not the control connection.
    let Some(Place::Pipe { conn, sender, .. }) = report.place_at(before(arrives)) else {
        panic!("{:?}", report.place_at(before(arrives)));
    };
    assert_eq!(*sender, files);
    let pipe = story.pipes.iter().find(|p| p.conn == *conn).unwrap();
    assert_eq!(pipe.protocol, Protocol::FtpData);

    // The 100 kB photo crosses in many segments: it moves as they are
    // acknowledged.
    let photo = story
        .journeys
        .iter()
        .find(|j| j.label == "photo.jpg")
        .expect("photo.jpg travels");
    let leg = photo
        .legs
        .iter()
        .find(|l| matches!(l.place, Place::Pipe { .. }))
        .unwrap();
    let (first, end) = leg.bytes.unwrap();
    assert_eq!(end.wrapping_sub(first), 100_000);
    let arrived = photo.legs.last().unwrap().start;
    let checked = acknowledged_progress(&t, &story, leg, alice, leg.start, arrived);
    assert!(checked > 20, "{checked} ACKs");
    let halfway = SimTime((leg.start.0 + arrived.0) / 2);
    let p = story.progress(leg, halfway);
    assert!(0.0 < p && p < 1.0, "{p}");
    assert_eq!(story.progress(leg, arrived), 1.0);

    // Each data pipe exists from its SYN to its last segment, the control
    // pipe for the whole session.
    let data: Vec<_> = story
        .pipes
        .iter()
        .filter(|p| p.protocol == Protocol::FtpData)
        .collect();
    assert!(data.len() >= 3, "{data:?}");
    for p in &data {
        let segments: Vec<(SimTime, bool)> = t
            .records
            .iter()
            .filter_map(|r| match r.event {
                Event::SegmentSent { packet, .. } | Event::SegmentReceived { packet, .. } => {
                    let pk = t.packet(packet)?;
                    let Payload::Tcp(s) = &pk.payload else {
                        return None;
                    };
                    (socket_pair(pk.src_addr(), pk.dst_addr()) == p.conn)
                        .then_some((r.time, s.flags.syn() && !s.flags.ack()))
                }
                _ => None,
            })
            .collect();
        assert_eq!(
            segments.first(),
            Some(&(p.opened, true)),
            "opens with its SYN"
        );
        assert_eq!(segments.last().map(|s| s.0), Some(p.closed));
        let open_at = |at: SimTime| story.pipes_at(at).any(|q| q.conn == p.conn);
        assert!(!open_at(before(p.opened)) && open_at(p.opened));
        assert!(open_at(p.closed) && !open_at(after(p.closed)));
    }
    let control = story
        .pipes
        .iter()
        .find(|p| p.protocol == Protocol::FtpControl)
        .unwrap();
    assert!(
        data.iter()
            .all(|d| control.opened < d.opened && d.closed < control.closed)
    );
}

#[test]
fn scp_vs_ftp_the_file_moves_on_the_one_encrypted_pipe() {
    let t = run("scp_vs_ftp");
    let story = Story::new(&t);
    let bob = node(&t, "bob-pc");
    let payroll = story
        .journeys
        .iter()
        .find(|j| {
            j.label == "payroll.txt"
                && j.legs.iter().any(|l| {
                    matches!(&l.place, Place::Pipe { conn, .. }
                    if story.pipes.iter().any(|p| p.conn == *conn && p.protocol == Protocol::Scp))
                })
        })
        .expect("payroll.txt over SCP");
    assert_eq!(
        payroll.legs.last().map(|l| &l.place),
        Some(&Place::Files {
            host: bob,
            path: "payroll.txt".into(),
            local: true
        })
    );
}

#[test]
fn pop_vs_imap_flags_show_on_every_device_that_sees_them() {
    let t = run("pop_vs_imap");
    let story = Story::new(&t);
    let end = t.records.last().unwrap().time;
    let slides = |host: &str| {
        story
            .flags_at(node(&t, host), end)
            .into_iter()
            .find(|(s, _)| *s == "Slides for Monday")
            .map(|(_, f)| f.to_owned())
    };
    // Set on the laptop, held by the server, told to the phone.
    assert_eq!(slides("bob-laptop").as_deref(), Some("\\Seen \\Flagged"));
    assert_eq!(slides("bob-mail").as_deref(), Some("\\Seen \\Flagged"));
    assert_eq!(slides("bob-phone").as_deref(), Some("\\Seen \\Flagged"));
    // Before anything was flagged, nobody shows flags for it.
    assert_eq!(
        story.flags_at(node(&t, "bob-phone"), SimTime::ZERO).len(),
        0
    );
}

#[test]
fn ftp_errors_a_refused_transfer_stops_where_it_was() {
    let t = run("ftp_errors");
    let story = Story::new(&t);
    let last = |label: &str| {
        story
            .journeys
            .iter()
            .find(|j| j.label == label)
            .and_then(|j| j.legs.last())
            .map(|l| l.place.clone())
            .unwrap_or_else(|| panic!("no journey of {label}"))
    };
    // A download of a missing file stops at the server with its 550.
    let Place::Stopped { host, reason } = last("missing.txt") else {
        panic!("missing.txt did not stop");
    };
    assert_eq!(t.nodes[host as usize], "files");
    assert!(reason.starts_with("550"), "{reason}");
    // An upload over quota stops where it was sent from, with its 452.
    let Place::Stopped { host, reason } = last("big.bin") else {
        panic!("big.bin did not stop");
    };
    assert_ne!(t.nodes[host as usize], "files");
    assert!(reason.starts_with("452"), "{reason}");
}

/// The Transcripts tab's list: FTP's data connections sit under the
/// control connection that opened them, between its 150 and 226, each
/// with its own ports and the bytes it moved.
#[test]
fn ftp_data_connections_are_listed_under_their_control_connection() {
    use wiretale::trace::dialogues::dialogues;
    use wiretale::trace::{Event, Protocol};
    let t = run("ftp_session");
    let all = dialogues(&t, t.records.len());
    let control: Vec<_> = all
        .iter()
        .filter(|d| d.protocol == Protocol::FtpControl)
        .collect();
    assert_eq!(control.len(), 1, "{all:#?}");
    // No data connection is left at the top level.
    assert!(all.iter().all(|d| d.protocol != Protocol::FtpData));
    let c = control[0];
    assert_eq!(c.conn.map(|(_, s)| s.port()), Some(21));
    let ports: Vec<u16> = c
        .data
        .iter()
        .filter_map(|d| d.conn)
        .map(|(a, _)| a.port())
        .collect();
    assert_eq!(ports, [45000, 45001, 45002, 45003]);
    assert!(c.data.iter().all(|d| d.protocol == Protocol::FtpData
        && d.conn.is_some_and(|(_, s)| s.port() == 20)));
    // Bytes on the wire: the 45-byte notes.txt goes up in ASCII mode, with
    // its one line end as CRLF.
    let bytes: Vec<Option<u64>> = c.data.iter().map(|d| d.bytes).collect();
    assert_eq!(bytes, [Some(135), Some(50), Some(100_000), Some(46)]);
    let line = |i: usize| match &t.records[i].event {
        Event::Dialogue { line, .. } => line.clone(),
        _ => unreachable!(),
    };
    // The listing sits between the control connection's 150 and 226.
    let listing = &c.data[0];
    assert!(line(listing.lines[0]).starts_with("(data connection: 135 bytes of listing"));
    let at = c.data_position(listing);
    assert!(
        line(c.lines[at - 1]).starts_with("150 "),
        "{}",
        line(c.lines[at - 1])
    );
    assert!(
        line(c.lines[at]).starts_with("226 "),
        "{}",
        line(c.lines[at])
    );
    // Up to a moment before the first transfer closed, it is not there.
    let early = dialogues(&t, listing.lines[0]);
    assert!(early.iter().all(|d| d.data.is_empty()));
}
