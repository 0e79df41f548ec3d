//! IMAP end to end: the bundled IMAP scenarios run and checked (their key
//! steps in order, mailboxes, queues, the flags each device saw), a
//! session in IDLE told of new mail the moment SMTP delivers it, POP3 and
//! IMAP on one mailbox, the autologout, failures, the inspector views and
//! determinism.

use std::collections::BTreeSet;
use wiretale::apps::mail::store::{Flag, INBOX};
use wiretale::apps::mail::{MailServer, UpdateKind, UserAgent};
use wiretale::net::Application;
use wiretale::scenario::{self, Run, bundled, check};

use crate::mail_support::{find_after, lines, run_bundled};

fn count(lines: &[(u64, String)], parts: &[&str]) -> usize {
    lines
        .iter()
        .filter(|(_, l)| parts.iter().all(|p| l.contains(p)))
        .count()
}

/// Checks that each step's line comes after the previous one's.
fn in_order(lines: &[(u64, String)], steps: &[&[&str]]) {
    let mut at = 0;
    for step in steps {
        at = find_after(lines, at, step) + 1;
    }
}

fn server<'r>(run: &'r Run, host: &str) -> &'r MailServer {
    run.app::<MailServer>(host).expect("mail server")
}

fn agent<'r>(run: &'r Run, host: &str) -> &'r UserAgent {
    run.app::<UserAgent>(host).expect("user agent")
}

/// The subjects in a user's folder, oldest first.
fn subjects(run: &Run, host: &str, user: &str, folder: &str) -> Vec<String> {
    server(run, host)
        .store()
        .folder(user, folder)
        .expect("folder")
        .messages()
        .iter()
        .map(|m| m.subject())
        .collect()
}

/// Flags in their sorted order.
fn flags(list: &[Flag]) -> BTreeSet<Flag> {
    list.iter().cloned().collect()
}

/// The flags of the first message with this subject as the server holds
/// it, in any folder.
fn stored_flags(run: &Run, host: &str, user: &str, subject: &str) -> BTreeSet<Flag> {
    let user = server(run, host).store().user(user).expect("user");
    let m = user
        .folders()
        .flat_map(|f| f.messages())
        .find(|m| m.subject() == subject)
        .expect("message");
    m.flags.clone()
}

/// The flags a device last saw for the message with this subject.
fn device_flags(run: &Run, host: &str, subject: &str) -> BTreeSet<Flag> {
    let m = agent(run, host)
        .remote_messages()
        .values()
        .find(|m| m.subject.as_deref() == Some(subject) && !m.expunged)
        .unwrap_or_else(|| panic!("{host} knows no {subject:?}"));
    m.flags.clone()
}

// ---- isp_to_organization -------------------------------------------------

#[test]
fn isp_to_organization_meets_its_expectations() {
    let (s, run) = run_bundled("isp_to_organization", None);
    let failures = check::evaluate(&s, &run);
    assert!(failures.is_empty(), "{failures:#?}");
}

#[test]
fn isp_to_organization_shows_smtp_then_imap_in_order() {
    let (_, run) = run_bundled("isp_to_organization", None);
    let l = lines(run.world.trace());
    in_order(
        &l,
        &[
            // Figure 5.8's steps 1 to 7.
            &["user1  APP  compose", "user2@organization.com"],
            &["isp.com -> user1  SMTP  S: 250 2.0.0 Ok: queued as I1"],
            &["isp.com  SMTP  queued", "queue_id=\"I1\""],
            &["isp.com -> dns  DNS  C: query MX organization.com"],
            &["isp.com -> organization.com  TCP", "> 25 [SYN]"],
            &["organization.com -> isp.com  SMTP  S: 220 organization.com"],
            &["isp.com -> organization.com  SMTP  C: EHLO isp.com"],
            &["isp.com -> organization.com  SMTP  C: DATA"],
            &["organization.com -> isp.com  SMTP  S: 250 2.0.0 Ok: queued as O1"],
            &["organization.com  SMTP  stored", "user=\"user2\""],
            &["isp.com  SMTP  delivered"],
            // User 2 with IMAP.
            &["user2 -> organization.com  TCP", "> 143 [SYN]"],
            &["organization.com -> user2  IMAP  S: * OK [CAPABILITY IMAP4REV1"],
            &["user2 -> organization.com  IMAP  C: A001 LOGIN user2 at-work"],
            &["user2 -> organization.com  IMAP  C: A002 SELECT INBOX"],
            &["organization.com -> user2  IMAP  S: * 1 EXISTS"],
            &["user2 -> organization.com  IMAP  C: A004 UID SEARCH UNSEEN"],
            &["organization.com -> user2  IMAP  S: * SEARCH 1"],
            &[
                "user2 -> organization.com  IMAP  C: A005 UID FETCH 1 (UID FLAGS RFC822.SIZE BODY[])",
            ],
            &["organization.com -> user2  IMAP  S: * 1 FETCH (UID 1 FLAGS (\\Seen \\Recent)"],
            &["user2 -- organization.com  IMAP     Subject: Project meeting on Thursday"],
            &["organization.com  IMAP  flags", "flags=\"\\\\Seen\""],
            &["user2  APP  fetched", "hops=2"],
            &["user2 -> organization.com  IMAP  C: A007 UID STORE 1 +FLAGS (\\Flagged)"],
            &["user2 -> organization.com  IMAP  C: A008 LOGOUT"],
            &["organization.com -> user2  IMAP  S: * BYE Logging out"],
            &["user2  APP  fetch_done", "messages=1"],
        ],
    );
}

#[test]
fn isp_to_organization_leaves_the_message_on_the_server_read_and_flagged() {
    let (_, run) = run_bundled("isp_to_organization", None);
    assert!(server(&run, "isp.com").queue().is_empty());
    assert_eq!(
        subjects(&run, "organization.com", "user2", INBOX),
        vec!["Project meeting on Thursday"]
    );
    let subject = "Project meeting on Thursday";
    let want = flags(&[Flag::Seen, Flag::Flagged]);
    assert_eq!(
        stored_flags(&run, "organization.com", "user2", subject),
        want
    );
    assert_eq!(device_flags(&run, "user2", subject), want);
    let ua = agent(&run, "user2");
    assert_eq!(ua.fetched().len(), 1);
    assert_eq!(ua.fetched()[0].uid.as_deref(), Some("INBOX;UID=1"));
    assert_eq!(ua.fetched()[0].received().len(), 2);
    // Nobody else changed anything: no updates.
    assert!(ua.updates().is_empty());
}

// ---- pop_vs_imap ---------------------------------------------------------

#[test]
fn pop_vs_imap_meets_its_expectations() {
    let (s, run) = run_bundled("pop_vs_imap", None);
    let failures = check::evaluate(&s, &run);
    assert!(failures.is_empty(), "{failures:#?}");
}

#[test]
fn pop3_download_and_delete_leaves_the_phone_empty() {
    let (_, run) = run_bundled("pop_vs_imap", None);
    let l = lines(run.world.trace());
    in_order(
        &l,
        &[
            &["bob-mail -> bob-laptop  POP3  S: +OK maildrop has 1 messages"],
            &["bob-laptop -> bob-mail  POP3  C: RETR 1"],
            &["bob-laptop -> bob-mail  POP3  C: DELE 1"],
            &["bob-mail  POP3  deleted", "user=\"bob\""],
            &["bob-mail -> bob-phone  POP3  S: +OK maildrop has 0 messages"],
            &["bob-phone  APP  fetch_done", "messages=0"],
        ],
    );
    let laptop = agent(&run, "bob-laptop");
    let phone = agent(&run, "bob-phone");
    assert_eq!(laptop.fetched_with_subject("Lunch on Friday?"), 1);
    assert_eq!(phone.fetched_with_subject("Lunch on Friday?"), 0);
    assert!(!subjects(&run, "bob-mail", "bob", INBOX).contains(&"Lunch on Friday?".to_string()));
}

#[test]
fn pop_vs_imap_both_devices_see_the_same_flags_and_folders() {
    let (_, run) = run_bundled("pop_vs_imap", None);
    // The server: slides read and flagged, the new message read by the
    // phone, the photos in Archive, the newsletter gone.
    assert_eq!(
        subjects(&run, "bob-mail", "bob", INBOX),
        vec!["Slides for Monday", "Are you coming?"]
    );
    assert_eq!(
        subjects(&run, "bob-mail", "bob", "Archive"),
        vec!["Trip photos"]
    );
    let on_server = stored_flags(&run, "bob-mail", "bob", "Slides for Monday");
    assert_eq!(on_server, flags(&[Flag::Seen, Flag::Flagged]));
    // The laptop set the flags; the phone was told; all three agree.
    assert_eq!(
        device_flags(&run, "bob-laptop", "Slides for Monday"),
        on_server
    );
    assert_eq!(
        device_flags(&run, "bob-phone", "Slides for Monday"),
        on_server
    );
    // The phone knows the moved and deleted messages are gone.
    let gone: Vec<String> = agent(&run, "bob-phone")
        .remote_messages()
        .values()
        .filter(|m| m.expunged)
        .filter_map(|m| m.subject.clone())
        .collect();
    assert_eq!(gone, vec!["Trip photos", "Weekly newsletter"]);
    assert!(server(&run, "bob-mail").queue().is_empty());
}

#[test]
fn the_idling_phone_hears_of_each_change_when_it_happens() {
    let (_, run) = run_bundled("pop_vs_imap", None);
    let l = lines(run.world.trace());
    // Each change by the laptop reaches the phone in the same instant.
    for (change, told) in [
        (
            "bob-mail  IMAP  flags user=\"bob\" mailbox=\"INBOX\" uid=2 flags=\"\\\\Seen\"",
            "bob-mail -> bob-phone  IMAP  S: * 1 FETCH (UID 2 FLAGS (\\Seen \\Recent))",
        ),
        (
            "bob-mail  IMAP  expunged user=\"bob\" mailbox=\"INBOX\" uids=\"3\"",
            "bob-mail -> bob-phone  IMAP  S: * 2 EXPUNGE",
        ),
        (
            "mailbox=\"INBOX\" uid=5 from=\"alice@hamburger.edu\" subject=\"Are you coming?\"",
            "bob-mail -> bob-phone  IMAP  S: * 2 EXISTS",
        ),
    ] {
        let i = find_after(&l, 0, &[change]);
        let j = find_after(&l, i, &[told]);
        assert_eq!(l[i].0, l[j].0, "{change} and {told} at different times");
    }
    let phone = agent(&run, "bob-phone");
    let kinds: Vec<UpdateKind> = phone.updates().iter().map(|u| u.kind).collect();
    assert_eq!(
        kinds,
        vec![
            UpdateKind::Flags,   // \Seen
            UpdateKind::Flags,   // \Flagged
            UpdateKind::Flags,   // \Deleted of the moved photos
            UpdateKind::Expunge, // ... gone
            UpdateKind::Flags,   // \Deleted of the newsletter
            UpdateKind::Expunge, // ... gone
            UpdateKind::Exists,  // Alice's new message
        ]
    );
    // The laptop only acted: it was told nothing (its own EXPUNGEs are
    // answers, not news).
    assert!(agent(&run, "bob-laptop").updates().is_empty());
    assert_eq!(count(&l, &["bob-laptop  APP  update"]), 0);
}

// ---- small worlds ---------------------------------------------------------

/// Alice at crepes.fr, Bob at hamburger.edu with a laptop and a phone;
/// `actions` and `finals` are spliced in.
fn world(actions: &str, until: &str) -> Run {
    let text = format!(
        r#"Scenario(
    version: 1,
    title: "imap test",
    until: "{until}",
    tcp: (msl: "2s"),
    hosts: [
        Host(name: "alice-pc",
            accounts: [Account(address: "alice@crepes.fr", password: "pw", server: "alice-mail")]),
        Host(name: "alice-mail",
            role: MailServer(domains: ["crepes.fr"], users: [User(name: "alice", password: "pw")])),
        Host(name: "gw", role: Router),
        Host(name: "dns", role: DnsServer(records: [
            Mx("crepes.fr", 10, "alice-mail"),
            Mx("hamburger.edu", 10, "bob-mail"),
        ])),
        Host(name: "bob-mail",
            role: MailServer(domains: ["hamburger.edu"],
                users: [User(name: "bob", password: "pw", folders: ["Archive", "Work/2026"])])),
        Host(name: "bob-laptop",
            accounts: [Account(address: "bob@hamburger.edu", password: "pw", server: "bob-mail")]),
        Host(name: "bob-phone",
            accounts: [Account(address: "bob@hamburger.edu", password: "pw", server: "bob-mail")]),
    ],
    links: [
        Link(a: "alice-pc", b: "gw", latency: "2ms"),
        Link(a: "alice-mail", b: "gw", latency: "1ms"),
        Link(a: "dns", b: "gw", latency: "5ms"),
        Link(a: "gw", b: "bob-mail", latency: "20ms"),
        Link(a: "gw", b: "bob-laptop", latency: "2ms"),
        Link(a: "gw", b: "bob-phone", latency: "10ms"),
    ],
    actions: [ {actions} ],
)"#
    );
    let s = scenario::parse("test.ron", &text).unwrap_or_else(|e| panic!("{e}"));
    let mut run = scenario::build(&s, 1).expect("builds");
    run.run();
    run
}

fn send(at: &str, subject: &str) -> String {
    format!(
        r#"Action(at: "{at}", host: "alice-pc", do: SendMail(from: "alice@crepes.fr", to: ["bob@hamburger.edu"], subject: "{subject}", body: "Hello Bob\n")),"#
    )
}

#[test]
fn an_idle_session_receives_exists_when_smtp_delivers() {
    let actions = format!(
        r#"{}
        Action(at: "2s", host: "bob-phone", do: FetchMail(account: "bob@hamburger.edu", protocol: Imap,
            steps: [Select("INBOX"), Idle("20s"), ReadAll])),
        {}"#,
        send("1s", "first"),
        send("5s", "second"),
    );
    let run = world(&actions, "1min");
    let l = lines(run.world.trace());
    let stored = find_after(&l, 0, &["bob-mail  SMTP  stored", "subject=\"second\""]);
    let exists = find_after(&l, stored, &["bob-mail -> bob-phone  IMAP  S: * 2 EXISTS"]);
    // Told in the very instant the message was stored, with no command
    // from the phone in between.
    assert_eq!(l[stored].0, l[exists].0);
    assert_eq!(
        count(&l[stored..exists], &["bob-phone -> bob-mail  IMAP"]),
        0
    );
    // Both messages are \Recent for the phone, the first to see them.
    let recent = find_after(&l, exists, &["bob-mail -> bob-phone  IMAP  S: * 2 RECENT"]);
    assert_eq!(recent, exists + 1);
    find_after(
        &l,
        exists,
        &["bob-phone  APP  update", "kind=\"exists\"", "messages=2"],
    );
    // After DONE the phone reads both.
    find_after(&l, exists, &["bob-phone -> bob-mail  IMAP  C: DONE"]);
    let phone = agent(&run, "bob-phone");
    assert_eq!(phone.fetched_with_subject("first"), 1);
    assert_eq!(phone.fetched_with_subject("second"), 1);
    assert_eq!(phone.updates().len(), 1);
    assert_eq!(phone.updates()[0].kind, UpdateKind::Exists);
    // The run ends soon after the session: no idle timer keeps it going.
    assert!(
        run.world.now().as_micros() < 40_000_000,
        "{}",
        run.world.now()
    );
}

#[test]
fn a_pop3_deletion_reaches_an_idling_imap_session() {
    let actions = format!(
        r#"{}
        Action(at: "3s", host: "bob-phone", do: FetchMail(account: "bob@hamburger.edu", protocol: Imap,
            steps: [Select("INBOX"), PeekAll, Idle("10s")])),
        Action(at: "5s", host: "bob-laptop", do: FetchMail(account: "bob@hamburger.edu", protocol: Pop3, delete: true)),"#,
        send("1s", "only one"),
    );
    let run = world(&actions, "1min");
    let l = lines(run.world.trace());
    let deleted = find_after(&l, 0, &["bob-mail  POP3  deleted"]);
    let expunge = find_after(
        &l,
        deleted,
        &["bob-mail -> bob-phone  IMAP  S: * 1 EXPUNGE"],
    );
    assert_eq!(l[deleted].0, l[expunge].0);
    let phone = agent(&run, "bob-phone");
    assert_eq!(phone.updates().len(), 1);
    assert_eq!(phone.updates()[0].kind, UpdateKind::Expunge);
    assert_eq!(phone.updates()[0].subject.as_deref(), Some("only one"));
    assert!(subjects(&run, "bob-mail", "bob", INBOX).is_empty());
}

#[test]
fn imap_deleted_but_not_expunged_mail_is_hidden_from_pop3() {
    let actions = format!(
        r#"{}{}
        Action(at: "3s", host: "bob-phone", do: FetchMail(account: "bob@hamburger.edu", protocol: Imap,
            steps: [Select("INBOX"), Flag(subject: "spam", flag: "\\Deleted")])),
        Action(at: "5s", host: "bob-laptop", do: FetchMail(account: "bob@hamburger.edu", protocol: Pop3, delete: false)),"#,
        send("1s", "spam"),
        send("1.5s", "ham"),
    );
    let run = world(&actions, "1min");
    let laptop = agent(&run, "bob-laptop");
    assert_eq!(laptop.fetched_with_subject("ham"), 1);
    assert_eq!(laptop.fetched_with_subject("spam"), 0);
    // Still on the server, marked, until someone expunges.
    assert_eq!(
        subjects(&run, "bob-mail", "bob", INBOX),
        vec!["spam", "ham"]
    );
}

#[test]
fn copy_create_and_nested_folders() {
    let actions = format!(
        r#"{}
        Action(at: "3s", host: "bob-laptop", do: FetchMail(account: "bob@hamburger.edu", protocol: Imap,
            steps: [Create("Projects/Wiretale"), List, Select("INBOX"),
                    Copy(subject: "plans", to: "Projects/Wiretale"), Copy(subject: "plans", to: "Work/2026"),
                    Unflag(subject: "plans", flag: "\\Seen"), Select("Work/2026"), ReadAll])),"#,
        send("1s", "plans"),
    );
    let run = world(&actions, "1min");
    let l = lines(run.world.trace());
    find_after(
        &l,
        0,
        &[
            "bob-mail -> bob-laptop  IMAP  S: * LIST",
            "Projects/Wiretale",
        ],
    );
    assert_eq!(count(&l, &["bob-laptop  APP  copied"]), 2);
    assert_eq!(
        subjects(&run, "bob-mail", "bob", "Projects/Wiretale"),
        vec!["plans"]
    );
    // Reading the copy in Work/2026 marks only that copy \Seen.
    assert_eq!(stored_flags(&run, "bob-mail", "bob", "plans"), flags(&[]));
    let work = server(&run, "bob-mail")
        .store()
        .folder("bob", "Work/2026")
        .unwrap();
    assert!(work.messages()[0].has_flag(&Flag::Seen));
    assert_eq!(count(&l, &["APP  step_failed"]), 0);
}

#[test]
fn a_step_that_finds_nothing_is_reported_and_the_session_goes_on() {
    let actions = format!(
        r#"{}
        Action(at: "3s", host: "bob-laptop", do: FetchMail(account: "bob@hamburger.edu", protocol: Imap,
            steps: [Select("INBOX"), Read(subject: "no such thing"), Delete(subject: "hello")])),"#,
        send("1s", "hello"),
    );
    let run = world(&actions, "1min");
    let l = lines(run.world.trace());
    let failed = find_after(
        &l,
        0,
        &[
            "bob-laptop  APP  step_failed",
            "step=\"Read\"",
            "status=\"skipped\"",
            "no message with a Subject containing",
        ],
    );
    find_after(
        &l,
        failed,
        &["bob-laptop  APP  deleted", "subject=\"hello\""],
    );
    find_after(&l, failed, &["bob-laptop  APP  fetch_done"]);
    assert!(subjects(&run, "bob-mail", "bob", INBOX).is_empty());
}

#[test]
fn a_wrong_password_is_a_failed_fetch() {
    let text = r#"Scenario(
    version: 1,
    title: "wrong password",
    tcp: (msl: "2s"),
    hosts: [
        Host(name: "mail", role: MailServer(domains: ["hamburger.edu"], users: [User(name: "bob", password: "right")])),
        Host(name: "pc", accounts: [Account(address: "bob@hamburger.edu", password: "wrong", server: "mail")]),
    ],
    links: [Link(a: "mail", b: "pc")],
    actions: [Action(at: "1s", host: "pc", do: FetchMail(account: "bob@hamburger.edu", protocol: Imap))],
)"#;
    let s = scenario::parse("t.ron", text).unwrap_or_else(|e| panic!("{e}"));
    let mut run = scenario::build(&s, 1).unwrap();
    run.run();
    let l = lines(run.world.trace());
    find_after(
        &l,
        0,
        &["mail -> pc  IMAP  S: A001 NO [AUTHENTICATIONFAILED]"],
    );
    find_after(&l, 0, &["pc  APP  fetch_failed", "login failed"]);
    assert_eq!(count(&l, &["pc  APP  step_failed"]), 0);
    assert_eq!(count(&l, &["pc -> mail  IMAP  C: A002 SELECT"]), 0);
}

#[test]
fn an_imap_session_idle_too_long_is_logged_out_after_30_minutes() {
    let actions = format!(
        r#"{}
        Action(at: "2s", host: "bob-phone", do: FetchMail(account: "bob@hamburger.edu", protocol: Imap,
            steps: [Select("INBOX"), Idle("45min")])),"#,
        send("1s", "hello"),
    );
    let run = world(&actions, "1h");
    let l = lines(run.world.trace());
    let bye = find_after(
        &l,
        0,
        &["bob-mail -> bob-phone  IMAP  S: * BYE Autologout; idle for too long"],
    );
    // RFC 3501 §5.4: at least 30 minutes after the last command.
    let idle = find_after(&l, 0, &["bob-phone -> bob-mail  IMAP  C: A004 IDLE"]);
    let waited = l[bye].0 - l[idle].0;
    assert!(
        (30 * 60 * 1_000_000..31 * 60 * 1_000_000).contains(&waited),
        "{waited}"
    );
    find_after(
        &l,
        bye,
        &["bob-phone  APP  fetch_failed", "closed before LOGOUT"],
    );
    // Nothing keeps the run going to the 45 minutes the phone meant to idle.
    assert!(run.world.now().as_micros() < 40 * 60 * 1_000_000);
}

// ---- the inspector views ---------------------------------------------------

/// Every label of an inspector tree, depth first.
fn labels(i: &wiretale::net::Inspect, out: &mut Vec<String>) {
    out.push(i.label.clone());
    for c in &i.children {
        labels(c, out);
    }
}

#[test]
fn inspectors_show_folders_flags_queues_and_protocol_states() {
    let b = bundled::find("pop_vs_imap").unwrap();
    let s = scenario::parse(b.name, b.text).unwrap();
    let mut run = scenario::build(&s, s.seed).unwrap();
    // Midway: the phone idles, the laptop has done its work.
    run.world.run_until(wiretale::sim::SimTime::from_secs(25));
    let server = server(&run, "bob-mail");
    let sessions = server.sessions();
    let idling: Vec<_> = sessions.iter().filter(|s| s.layer == "imap").collect();
    assert_eq!(idling.len(), 1, "{sessions:#?}");
    assert_eq!((idling[0].role, idling[0].state), ("server", "IDLING"));
    assert!(idling[0].states.contains(&"IDLING"));
    let phone = agent(&run, "bob-phone").sessions();
    assert_eq!(phone.len(), 1);
    assert_eq!(
        (phone[0].layer, phone[0].role, phone[0].state),
        ("imap", "client", "IDLING")
    );
    assert!(!phone[0].transitions.is_empty());

    let mut l = Vec::new();
    labels(&server.inspect().unwrap(), &mut l);
    for want in [
        "Mailboxes",
        "INBOX (1 messages, 0 unseen)",
        "UID 2 \\Seen \\Flagged: Slides for Monday",
        "Archive (1 messages, 1 unseen)",
        "UID 1 (unread): Trip photos",
        "Queue (0)",
    ] {
        assert!(l.iter().any(|x| x == want), "no {want:?} in {l:#?}");
    }
    let mut l = Vec::new();
    labels(&agent(&run, "bob-phone").inspect().unwrap(), &mut l);
    assert!(
        l.iter()
            .any(|x| x.starts_with("Updates from the server (6)")),
        "{l:#?}"
    );
    assert!(
        l.iter()
            .any(|x| x.contains("INBOX UID 3") && x.contains("(expunged)")),
        "{l:#?}"
    );
}

#[test]
fn the_queue_inspector_shows_the_next_retry() {
    // bob-mail cannot be reached: alice-mail keeps the message and retries.
    let text = send("1s", "hello");
    let mut run = {
        let t = format!(
            r#"Scenario(
    version: 1,
    title: "retry",
    until: "30s",
    hosts: [
        Host(name: "alice-pc", accounts: [Account(address: "alice@crepes.fr", password: "pw", server: "alice-mail")]),
        Host(name: "alice-mail", role: MailServer(domains: ["crepes.fr"], users: [User(name: "alice", password: "pw")])),
        Host(name: "gw", role: Router),
        Host(name: "dns", role: DnsServer(records: [Mx("hamburger.edu", 10, "bob-mail")])),
        Host(name: "bob-mail", role: MailServer(domains: ["hamburger.edu"], users: [User(name: "bob", password: "pw")])),
    ],
    links: [
        Link(a: "alice-pc", b: "gw"), Link(a: "alice-mail", b: "gw"),
        Link(a: "dns", b: "gw"), Link(a: "gw", b: "bob-mail", up: false),
    ],
    tcp: (syn_retries: 1),
    actions: [ {text} ],
)"#
        );
        let s = scenario::parse("t.ron", &t).unwrap_or_else(|e| panic!("{e}"));
        scenario::build(&s, 1).unwrap()
    };
    run.run();
    let mut l = Vec::new();
    labels(&server(&run, "alice-mail").inspect().unwrap(), &mut l);
    assert!(l.iter().any(|x| x == "Queue (1)"), "{l:#?}");
    assert!(
        l.iter()
            .any(|x| x.starts_with("A1: to bob@hamburger.edu, 1 attempts, next try at")),
        "{l:#?}"
    );
}

// ---- determinism -----------------------------------------------------------

#[test]
fn the_imap_scenarios_are_deterministic_and_hold_for_other_seeds() {
    for name in ["isp_to_organization", "pop_vs_imap"] {
        let b = bundled::find(name).unwrap();
        let s = scenario::parse(name, b.text).unwrap();
        let trace = |seed| {
            let mut r = scenario::build(&s, seed).unwrap();
            r.run();
            scenario::batch::jsonl(r.world.trace())
        };
        assert_eq!(trace(s.seed), trace(s.seed), "{name} is not deterministic");
        for seed in 2..5 {
            let (s, run) = run_bundled(name, Some(seed));
            let failures = check::evaluate(&s, &run);
            assert!(failures.is_empty(), "{name} seed {seed}: {failures:#?}");
        }
    }
}
