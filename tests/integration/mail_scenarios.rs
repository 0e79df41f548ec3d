//! The bundled mail scenarios, run and checked: their own expectations,
//! the order of the key steps, the final state of mailboxes, queues and
//! user agents, the retry timing, and determinism.

use wiretale::apps::mail::{MailServer, UserAgent};
use wiretale::scenario::{self, bundled, check};
use wiretale::trace::Trace;

use crate::mail_support::{find_after, lines, run_bundled};

#[test]
fn every_bundled_scenario_is_valid() {
    for b in bundled::ALL {
        scenario::parse(b.name, b.text).unwrap_or_else(|e| panic!("{}: {e}", b.name));
    }
}

#[test]
fn alice_to_bob_meets_its_expectations() {
    let (s, run) = run_bundled("alice_to_bob", None);
    let failures = check::evaluate(&s, &run);
    assert!(failures.is_empty(), "{failures:#?}");
}

#[test]
fn alice_to_bob_shows_the_textbook_steps_in_order() {
    let (_, run) = run_bundled("alice_to_bob", None);
    let l = lines(run.world.trace());
    // Submission, queue, DNS, TCP to port 25, the SMTP dialogue, mailbox,
    // POP3: each step after the previous one.
    let steps: &[&[&str]] = &[
        &["alice-pc -> alice-mail  SMTP  C: AUTH PLAIN"],
        &["alice-mail -> alice-pc  SMTP  S: 250 2.0.0 Ok: queued as A1"],
        &["alice-mail  SMTP  queued", "queue_id=\"A1\""],
        &["alice-mail -> dns  DNS  C: query MX hamburger.edu"],
        &["dns -> alice-mail  DNS  S: answer MX 10 bob-mail.hamburger.edu"],
        &["alice-mail -> bob-mail  TCP", "> 25 [SYN]"],
        &["bob-mail -> alice-mail  TCP", "25 >", "[SYN,ACK]"],
        &["bob-mail -> alice-mail  SMTP  S: 220 bob-mail.hamburger.edu"],
        &["alice-mail -> bob-mail  SMTP  C: EHLO alice-mail.crepes.fr"],
        &["bob-mail -> alice-mail  SMTP  S: 250 ENHANCEDSTATUSCODES"],
        &["alice-mail -> bob-mail  SMTP  C: MAIL FROM:<alice@crepes.fr>"],
        &["bob-mail -> alice-mail  SMTP  S: 250 2.1.0 Ok"],
        &["alice-mail -> bob-mail  SMTP  C: RCPT TO:<bob@hamburger.edu>"],
        &["bob-mail -> alice-mail  SMTP  S: 250 2.1.5 Ok"],
        &["alice-mail -> bob-mail  SMTP  C: DATA"],
        &["bob-mail -> alice-mail  SMTP  S: 354"],
        &["alice-mail -- bob-mail  SMTP     Subject: Searching for the meaning of life."],
        &["alice-mail -- bob-mail  SMTP     Do you know what it is?"],
        &["alice-mail -- bob-mail  SMTP     ."],
        &["bob-mail -> alice-mail  SMTP  S: 250 2.0.0 Ok: queued as B1"],
        &["bob-mail  SMTP  stored", "user=\"bob\""],
        &["alice-mail -> bob-mail  SMTP  C: QUIT"],
        &["bob-mail -> alice-mail  SMTP  S: 221"],
        &["alice-mail  SMTP  delivered", "queue_id=\"A1\""],
        &["bob-pc -> bob-mail  POP3  C: USER bob"],
        &["bob-pc -> bob-mail  POP3  C: PASS hungry"],
        &["bob-pc -> bob-mail  POP3  C: RETR 1"],
        &[
            "bob-pc  APP  fetched",
            "subject=\"Searching for the meaning of life.\"",
        ],
        &[
            "bob-pc  APP  header",
            "name=\"Received\"",
            "by bob-mail.hamburger.edu",
        ],
        &[
            "bob-pc  APP  header",
            "name=\"Received\"",
            "by alice-mail.crepes.fr",
        ],
    ];
    let mut at = 0;
    for step in steps {
        at = find_after(&l, at, step) + 1;
    }
    // The sending side does not repeat the dialogue: one line per command.
    let ehlo = l
        .iter()
        .filter(|(_, x)| x.contains("C: EHLO alice-mail.crepes.fr"))
        .count();
    assert_eq!(ehlo, 1);
}

#[test]
fn alice_to_bob_final_state() {
    let (_, run) = run_bundled("alice_to_bob", None);
    let bob_pc = run.app::<UserAgent>("bob-pc").expect("user agent");
    let [m] = bob_pc.fetched() else {
        panic!("expected one message, got {:?}", bob_pc.fetched());
    };
    assert_eq!(m.subject(), "Searching for the meaning of life.");
    assert_eq!(m.from(), "alice@crepes.fr");
    let received = m.received();
    assert_eq!(received.len(), 2, "{received:?}");
    assert!(received[0].starts_with("from alice-mail.crepes.fr ("));
    assert!(received[0].contains("by bob-mail.hamburger.edu with ESMTP id B1"));
    assert!(received[1].starts_with("from alice-pc ("));
    assert!(received[1].contains("by alice-mail.crepes.fr with ESMTPA id A1"));

    let alice_mail = run.app::<MailServer>("alice-mail").expect("mail server");
    assert!(alice_mail.queue().is_empty());
    let bob_mail = run.app::<MailServer>("bob-mail").expect("mail server");
    let inbox = bob_mail.store().folder("bob", "INBOX").unwrap();
    // Downloaded and deleted; the UID is not reused.
    assert!(inbox.is_empty());
    assert_eq!(inbox.uid_next(), 2);
    assert!(!bob_mail.store().user("bob").unwrap().is_locked());

    let alice_pc = run.app::<UserAgent>("alice-pc").unwrap();
    assert!(matches!(
        &alice_pc.sent()[0].status,
        wiretale::apps::mail::SendStatus::Submitted(r) if r.contains("queued as A1")
    ));
}

#[test]
fn mail_retry_meets_its_expectations() {
    let (s, run) = run_bundled("mail_retry", None);
    let failures = check::evaluate(&s, &run);
    assert!(failures.is_empty(), "{failures:#?}");
}

/// `(time_us, number)`: an event's time and one of its numeric fields.
type Timed = Vec<(u64, i64)>;

/// `(time_us, attempt)` of each delivery attempt of a queue entry, and
/// `(time_us, retry_in_s)` of each deferral.
fn attempts_and_deferrals(trace: &Trace, id: &str) -> (Timed, Timed) {
    let mut attempts = Vec::new();
    let mut deferrals = Vec::new();
    for r in &trace.records {
        let f = trace.fields(r);
        if f["layer"] != "smtp" || f.get("queue_id").and_then(|v| v.as_str()) != Some(id) {
            continue;
        }
        let t = r.time.as_micros();
        match f["event"].as_str() {
            Some("delivery_attempt") => attempts.push((t, f["attempt"].as_i64().unwrap())),
            Some("deferred") => deferrals.push((t, f["retry_in_s"].as_i64().unwrap())),
            _ => {}
        }
    }
    (attempts, deferrals)
}

#[test]
fn mail_retry_backs_off_one_then_two_minutes() {
    let (_, run) = run_bundled("mail_retry", None);
    let (attempts, deferrals) = attempts_and_deferrals(run.world.trace(), "A1");
    assert_eq!(
        attempts.iter().map(|a| a.1).collect::<Vec<_>>(),
        vec![1, 2, 3]
    );
    assert_eq!(
        deferrals.iter().map(|d| d.1).collect::<Vec<_>>(),
        vec![60, 120]
    );
    // Each retry starts exactly the announced time after its deferral.
    for (d, a) in deferrals.iter().zip(&attempts[1..]) {
        assert_eq!(a.0 - d.0, d.1 as u64 * 1_000_000, "{d:?} then {a:?}");
    }
    // A connection attempt to the dead host gives up after three SYNs
    // (1 s + 2 s + 4 s with `syn_retries: 2`).
    let first_failure = deferrals[0].0 - attempts[0].0;
    assert!(
        (7_000_000..7_100_000).contains(&first_failure),
        "{first_failure}"
    );
}

#[test]
fn mail_retry_final_state() {
    let (_, run) = run_bundled("mail_retry", None);
    let bob_mail = run.app::<MailServer>("bob-mail").unwrap();
    let inbox = bob_mail.store().folder("bob", "INBOX").unwrap();
    // Delivered once, although it was tried three times.
    assert_eq!(inbox.len(), 1);
    assert_eq!(inbox.messages()[0].subject(), "Lunch on Friday?");

    let alice_mail = run.app::<MailServer>("alice-mail").unwrap();
    assert!(alice_mail.queue().is_empty());
    let alice_inbox = alice_mail.store().folder("alice", "INBOX").unwrap();
    let [bounce] = alice_inbox.messages() else {
        panic!("expected one bounce");
    };
    let text = String::from_utf8_lossy(&bounce.data);
    assert!(text.contains("From: Mail Delivery System <MAILER-DAEMON@alice-mail.crepes.fr>"));
    assert!(text.contains("Final-Recipient: rfc822; bobby@hamburger.edu"));
    assert!(text.contains("Status: 5.1.1"));
    assert!(text.contains("Subject: Picnic photos"));
    assert!(
        !text.contains("Here are the photos."),
        "only the header returns"
    );

    let alice_pc = run.app::<UserAgent>("alice-pc").unwrap();
    assert_eq!(alice_pc.fetched_with_subject("Undelivered"), 1);
}

#[test]
fn the_same_seed_gives_the_same_trace() {
    for name in ["alice_to_bob", "mail_retry"] {
        let (_, a) = run_bundled(name, Some(7));
        let (_, b) = run_bundled(name, Some(7));
        let (ta, tb) = (a.world.trace(), b.world.trace());
        assert_eq!(ta.records.len(), tb.records.len(), "{name}");
        for (ra, rb) in ta.records.iter().zip(&tb.records) {
            assert_eq!(ta.to_json(ra), tb.to_json(rb), "{name}");
        }
    }
}

#[test]
fn another_seed_tells_the_same_story() {
    let (s, run) = run_bundled("alice_to_bob", Some(12345));
    let failures = check::evaluate(&s, &run);
    assert!(failures.is_empty(), "{failures:#?}");
}
