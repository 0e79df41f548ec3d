//! Mail under trouble: crashes and broken links in the middle of a
//! transfer, a server down for good, DNS failures, an open-relay attempt,
//! a bounce that cannot be delivered. The rule checked throughout (RFC
//! 5321 §6.1): a message accepted with 250 is delivered exactly once or
//! returned to its sender, never lost and never duplicated.

use proptest::prelude::*;
use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddrV4};

use wiretale::apps::mail::{MailServer, UserAgent};
use wiretale::net::{AppCx, AppEvent, Application, ConnId, Fault};
use wiretale::proto::Session;
use wiretale::proto::smtp::{
    Credentials, OutgoingMessage, ReceivedMessage, RecipientStatus, Reply, SmtpBackend, SmtpClient,
    SmtpClientConfig, SmtpConfig, SmtpServer,
};
use wiretale::scenario::{self, Run};
use wiretale::sim::{SimDuration, SimTime};
use wiretale::trace::{Event, Protocol, Trace};

/// Alice's computer and server, a router, the DNS, Bob's server and
/// computer; `alice_options` (more fields of Alice's MailServer role),
/// `extra_hosts` and `actions` are spliced into the scenario text.
fn world(alice_options: &str, extra_hosts: &str, actions: &str, until: &str) -> Run {
    let text = format!(
        r#"Scenario(
    version: 1,
    title: "test",
    until: "{until}",
    tcp: (syn_retries: 2),
    hosts: [
        Host(name: "alice-pc",
            accounts: [Account(address: "alice@crepes.fr", password: "pw", server: "alice-mail")]),
        Host(name: "alice-mail",
            role: MailServer(domains: ["crepes.fr"], users: [User(name: "alice", password: "pw")] {alice_options})),
        Host(name: "gw", role: Router),
        Host(name: "dns", role: DnsServer(records: [
            Mx("crepes.fr", 10, "alice-mail"),
            Mx("hamburger.edu", 10, "bob-mail"),
        ])),
        Host(name: "bob-mail",
            role: MailServer(domains: ["hamburger.edu"], users: [User(name: "bob", password: "pw")])),
        Host(name: "bob-pc",
            accounts: [Account(address: "bob@hamburger.edu", password: "pw", server: "bob-mail")]),
        {extra_hosts}
    ],
    links: [
        Link(a: "alice-pc", b: "gw", latency: "2ms"),
        Link(a: "alice-mail", b: "gw", latency: "1ms"),
        Link(a: "dns", b: "gw", latency: "5ms"),
        Link(a: "gw", b: "bob-mail", latency: "20ms", bandwidth: "2Mbps"),
        Link(a: "gw", b: "bob-pc", latency: "2ms"),
        Link(a: "gw", b: "mallory", latency: "2ms"),
    ],
    actions: [ {actions} ],
)"#
    );
    let s = scenario::parse("test.ron", &text).unwrap_or_else(|e| panic!("{e}"));
    scenario::build(&s, 1).expect("builds")
}

const NO_EXTRA: &str = r#"Host(name: "mallory")"#;

fn send(at: &str, to: &str, subject: &str, lines: usize) -> String {
    let body: String = (0..lines)
        .map(|i| format!("line {i:05} of a long message, to make DATA take a while\\n"))
        .collect();
    format!(
        r#"Action(at: "{at}", host: "alice-pc", do: SendMail(from: "alice@crepes.fr", to: ["{to}"], subject: "{subject}", body: "{body}")),"#
    )
}

/// Runs until a trace record satisfies `found`; false if the run ended.
fn run_until(run: &mut Run, found: impl Fn(&Trace, usize) -> bool) -> bool {
    let mut seen = 0;
    while run.world.step() {
        let trace = run.world.trace();
        while seen < trace.records.len() {
            if found(trace, seen) {
                return true;
            }
            seen += 1;
        }
        if run.world.now() > run.horizon {
            break;
        }
    }
    false
}

/// A trace record's text contains every part.
fn has(trace: &Trace, i: usize, parts: &[&str]) -> bool {
    let text = trace.to_text(&trace.records[i]);
    parts.iter().all(|p| text.contains(p))
}

fn count(trace: &Trace, parts: &[&str]) -> usize {
    (0..trace.records.len())
        .filter(|&i| has(trace, i, parts))
        .count()
}

fn node(run: &Run, name: &str) -> u32 {
    run.nodes[name]
}

fn link(run: &Run, a: &str, b: &str) -> u32 {
    let (a, b) = (node(run, a), node(run, b));
    run.world
        .links()
        .iter()
        .find(|l| l.ends == [a, b] || l.ends == [b, a])
        .map(|l| l.id)
        .expect("link")
}

fn inbox_subjects(run: &Run, host: &str, user: &str) -> Vec<String> {
    let server = run.app::<MailServer>(host).expect("mail server");
    server
        .store()
        .folder(user, "INBOX")
        .expect("user")
        .messages()
        .iter()
        .map(|m| m.subject())
        .collect()
}

fn queue_len(run: &Run, host: &str) -> usize {
    run.app::<MailServer>(host).unwrap().queue().len()
}

/// The 354 that starts the message text between the two servers.
fn data_started(trace: &Trace, i: usize) -> bool {
    has(trace, i, &["bob-mail -> alice-mail  SMTP  S: 354"])
}

#[test]
fn receiving_server_crashes_during_data_then_gets_the_message_once() {
    let mut run = world(
        "",
        NO_EXTRA,
        &send("1s", "bob@hamburger.edu", "Big", 2000),
        "20min",
    );
    assert!(run_until(&mut run, data_started));
    let now = run.world.now();
    let bob = node(&run, "bob-mail");
    run.world.schedule_fault(
        now + SimDuration::from_millis(30),
        Fault::HostDown { node: bob },
    );
    run.world.schedule_fault(
        now + SimDuration::from_secs(20),
        Fault::HostUp { node: bob },
    );
    run.run();
    let t = run.world.trace();
    assert_eq!(count(t, &["FAULT  host_down host=bob-mail"]), 1);
    assert!(count(t, &["bob-mail  TCP  DROPPED (host_down)"]) > 0);
    // The interrupted transfer was not taken (no 250 for it), so Alice's
    // server retried later and delivered once.
    assert_eq!(
        count(
            t,
            &[
                "alice-mail  SMTP  deferred",
                "lost the connection",
                "connection reset"
            ]
        ),
        1
    );
    assert_eq!(count(t, &["alice-mail  SMTP  delivered"]), 1);
    assert_eq!(inbox_subjects(&run, "bob-mail", "bob"), vec!["Big"]);
    assert_eq!(queue_len(&run, "alice-mail"), 0);
    assert_eq!(count(t, &["bounced"]), 0);
    let stored = &run.app::<MailServer>("bob-mail").unwrap().store();
    let m = &stored.folder("bob", "INBOX").unwrap().messages()[0];
    assert!(String::from_utf8_lossy(&m.data).contains("line 01999 of a long message"));
}

#[test]
fn a_link_down_during_data_delays_but_does_not_duplicate() {
    let mut run = world(
        "",
        NO_EXTRA,
        &send("1s", "bob@hamburger.edu", "Big", 2000),
        "20min",
    );
    assert!(run_until(&mut run, data_started));
    let now = run.world.now();
    let l = link(&run, "gw", "bob-mail");
    run.world.schedule_fault(
        now + SimDuration::from_millis(30),
        Fault::LinkUp { link: l, up: false },
    );
    run.world.schedule_fault(
        now + SimDuration::from_secs(30),
        Fault::LinkUp { link: l, up: true },
    );
    run.run();
    let t = run.world.trace();
    assert!(count(t, &["DROPPED (link_down)"]) > 0);
    assert_eq!(count(t, &["alice-mail  SMTP  delivered"]), 1);
    assert_eq!(inbox_subjects(&run, "bob-mail", "bob"), vec!["Big"]);
    assert_eq!(queue_len(&run, "alice-mail"), 0);
}

#[test]
fn receiving_server_crashes_after_its_250_no_duplicate() {
    let mut run = world(
        "",
        NO_EXTRA,
        &send("1s", "bob@hamburger.edu", "Hello", 3),
        "20min",
    );
    assert!(run_until(&mut run, |t, i| has(
        t,
        i,
        &["bob-mail  SMTP  stored"]
    )));
    // The 250 is already on the wire when the host dies.
    let now = run.world.now();
    let bob = node(&run, "bob-mail");
    run.world.schedule_fault(now, Fault::HostDown { node: bob });
    run.world.schedule_fault(
        now + SimDuration::from_secs(10),
        Fault::HostUp { node: bob },
    );
    run.run();
    let t = run.world.trace();
    assert_eq!(count(t, &["alice-mail  SMTP  delivered"]), 1);
    assert_eq!(count(t, &["alice-mail  SMTP  deferred"]), 0);
    // The mailbox is on disk: the crash did not lose it.
    assert_eq!(inbox_subjects(&run, "bob-mail", "bob"), vec!["Hello"]);
}

#[test]
fn sending_server_crash_keeps_the_queue_and_resumes() {
    let mut run = world(
        "",
        NO_EXTRA,
        &send("1s", "bob@hamburger.edu", "Hello", 3),
        "20min",
    );
    assert!(run_until(&mut run, |t, i| has(
        t,
        i,
        &["alice-mail  SMTP  queued"]
    )));
    let now = run.world.now();
    let alice = node(&run, "alice-mail");
    run.world.schedule_fault(
        now + SimDuration::from_millis(1),
        Fault::HostDown { node: alice },
    );
    run.world.schedule_fault(
        now + SimDuration::from_secs(30),
        Fault::HostUp { node: alice },
    );
    run.run();
    let t = run.world.trace();
    assert_eq!(count(t, &["alice-mail  SMTP  queue_kept", "messages=1"]), 1);
    assert_eq!(
        count(t, &["alice-mail  SMTP  queue_resumed", "messages=1"]),
        1
    );
    assert_eq!(count(t, &["alice-mail  SMTP  delivered"]), 1);
    assert_eq!(inbox_subjects(&run, "bob-mail", "bob"), vec!["Hello"]);
    assert_eq!(queue_len(&run, "alice-mail"), 0);
    // Alice's user agent had its 250 before the crash: submitted.
    assert_eq!(count(t, &["alice-pc  APP  submitted"]), 1);
}

#[test]
fn a_server_down_for_good_means_a_bounce_after_the_give_up_time() {
    let mut run = world(
        r#", retry: "1min", give_up: "5min""#,
        NO_EXTRA,
        &send("1s", "bob@hamburger.edu", "Anyone there?", 3),
        "20min",
    );
    let bob = node(&run, "bob-mail");
    run.world
        .schedule_fault(SimTime::ZERO, Fault::HostDown { node: bob });
    run.run();
    let t = run.world.trace();
    // Attempts at 0, +1, +2 (+3 min), then the last one at the give-up
    // time, then the bounce.
    let attempts: Vec<u64> = t
        .records
        .iter()
        .filter(|r| t.to_text(r).contains("SMTP  delivery_attempt"))
        .map(|r| r.time.as_micros() / 1_000_000)
        .collect();
    assert_eq!(attempts, vec![1, 68, 195, 301], "{attempts:?}");
    assert_eq!(
        count(t, &["alice-mail  SMTP  bounced", "status=\"4.4.7\""]),
        1
    );
    assert_eq!(
        inbox_subjects(&run, "alice-mail", "alice"),
        vec!["Undelivered Mail Returned to Sender"]
    );
    assert_eq!(queue_len(&run, "alice-mail"), 0);
}

#[test]
fn unknown_domain_bounces_and_a_silent_dns_defers() {
    let mut run = world(
        "",
        NO_EXTRA,
        &send("1s", "someone@nowhere.example", "Hi", 1),
        "5min",
    );
    run.run();
    let t = run.world.trace();
    assert_eq!(count(t, &["dns -> alice-mail  DNS  S: NXDOMAIN"]), 1);
    assert_eq!(count(t, &["mx_failed", "permanent=true"]), 1);
    assert_eq!(count(t, &["bounced", "status=\"5.1.2\""]), 1);
    assert_eq!(inbox_subjects(&run, "alice-mail", "alice").len(), 1);

    let mut run = world(
        "",
        NO_EXTRA,
        &send("1s", "bob@hamburger.edu", "Hi", 1),
        "5min",
    );
    let dns = node(&run, "dns");
    run.world
        .schedule_fault(SimTime::ZERO, Fault::HostDown { node: dns });
    run.run();
    let t = run.world.trace();
    assert!(
        count(
            t,
            &["mx_failed", "no answer to MX query", "permanent=false"]
        ) >= 2
    );
    assert!(count(t, &["alice-mail  SMTP  deferred"]) >= 2);
    assert_eq!(count(t, &["bounced"]), 0);
    assert_eq!(queue_len(&run, "alice-mail"), 1);
}

#[test]
fn a_message_to_several_domains_is_split_per_domain() {
    let actions = r#"Action(at: "1s", host: "alice-pc", do: SendMail(from: "alice@crepes.fr", to: ["bob@hamburger.edu", "alice@crepes.fr"], cc: ["someone@nowhere.example"], subject: "Party", body: "Friday!")),"#;
    let mut run = world("", NO_EXTRA, actions, "10min");
    run.run();
    let t = run.world.trace();
    // Alice's copy stays local; one queue entry per foreign domain.
    assert_eq!(count(t, &["alice-mail  SMTP  stored", "user=\"alice\""]), 2);
    assert_eq!(
        count(
            t,
            &[
                "alice-mail  SMTP  queued",
                "queue_id=\"A1\"",
                "hamburger.edu"
            ]
        ),
        1
    );
    assert_eq!(
        count(
            t,
            &[
                "alice-mail  SMTP  queued",
                "queue_id=\"A1-2\"",
                "nowhere.example"
            ]
        ),
        1
    );
    assert_eq!(inbox_subjects(&run, "bob-mail", "bob"), vec!["Party"]);
    // The copy for alice, and the bounce about nowhere.example.
    assert_eq!(
        inbox_subjects(&run, "alice-mail", "alice"),
        vec!["Party", "Undelivered Mail Returned to Sender"]
    );
}

#[test]
fn leave_on_server_fetches_only_new_messages() {
    let actions = format!(
        r#"{}
        Action(at: "10s", host: "bob-pc", do: FetchMail(account: "bob@hamburger.edu", delete: false)),
        {}
        Action(at: "30s", host: "bob-pc", do: FetchMail(account: "bob@hamburger.edu", delete: false)),
        Action(at: "40s", host: "bob-pc", do: FetchMail(account: "bob@hamburger.edu", delete: true)),
        Action(at: "50s", host: "bob-pc", do: FetchMail(account: "bob@hamburger.edu")),"#,
        send("1s", "bob@hamburger.edu", "First", 1),
        send("15s", "bob@hamburger.edu", "Second", 1),
    );
    let mut run = world("", NO_EXTRA, &actions, "10min");
    run.run();
    let ua = run.app::<UserAgent>("bob-pc").unwrap();
    let subjects: Vec<String> = ua.fetched().iter().map(|m| m.subject()).collect();
    // 10 s: First; 30 s: Second only; 40 s: both again (delete mode does
    // not skip), then deleted; 50 s: nothing left.
    assert_eq!(subjects, vec!["First", "Second", "First", "Second"]);
    assert!(inbox_subjects(&run, "bob-mail", "bob").is_empty());
    let t = run.world.trace();
    assert_eq!(count(t, &["bob-pc  APP  fetch_done", "messages=0"]), 1);
}

#[test]
fn wrong_password_is_refused_and_traced() {
    let text = r#"Scenario(
        version: 1, title: "t",
        hosts: [
            Host(name: "pc", accounts: [Account(address: "bob@hamburger.edu", password: "wrong", server: "mail")]),
            Host(name: "mail", role: MailServer(domains: ["hamburger.edu"], users: [User(name: "bob", password: "right")])),
        ],
        links: [Link(a: "pc", b: "mail")],
        actions: [
            Action(at: "1s", host: "pc", do: SendMail(from: "bob@hamburger.edu", to: ["bob@hamburger.edu"], subject: "x")),
            Action(at: "2s", host: "pc", do: FetchMail(account: "bob@hamburger.edu")),
        ],
    )"#;
    let s = scenario::parse("t.ron", text).unwrap_or_else(|e| panic!("{e}"));
    let mut run = scenario::build(&s, 1).unwrap();
    run.run();
    let t = run.world.trace();
    assert_eq!(
        count(t, &["S: 535 5.7.8 Authentication credentials invalid"]),
        1
    );
    assert_eq!(count(t, &["pc  APP  submit_failed", "535"]), 1);
    assert_eq!(count(t, &["S: -ERR [AUTH]"]), 1);
    assert_eq!(count(t, &["pc  APP  fetch_failed", "login refused"]), 1);
}

// ---- a scripted SMTP client, for what a user agent would not do ----------

/// Sends one message with a bare [`SmtpClient`] when told to.
struct Scripted {
    to: SocketAddrV4,
    client: Option<SmtpClient>,
    conn: Option<ConnId>,
    pending: Option<(SmtpClientConfig, OutgoingMessage)>,
}

impl Scripted {
    fn start(&mut self, cx: &mut AppCx<'_>) {
        let Some((config, message)) = self.pending.take() else {
            return;
        };
        self.client = Some(SmtpClient::new(config, vec![message]));
        self.conn = cx.connect(self.to, Protocol::Smtp).ok();
    }
}

impl Application for Scripted {
    fn kind(&self) -> &'static str {
        "scripted smtp client"
    }

    fn handle_event(&mut self, cx: &mut AppCx<'_>, event: AppEvent) {
        let (Some(client), Some(conn)) = (self.client.as_mut(), self.conn) else {
            return;
        };
        match event {
            AppEvent::Data { data, .. } => client.handle_input(&data),
            AppEvent::PeerClosed { .. } | AppEvent::Closed { .. } => client.handle_close(),
            _ => return,
        }
        while let Some(bytes) = client.poll_output() {
            cx.send(conn, bytes);
        }
        if client.wants_close() {
            cx.close(conn);
        }
    }
}

fn scripted(
    run: &mut Run,
    host: &str,
    to: &str,
    port: u16,
    auth: bool,
    from: &str,
    rcpt: &str,
) -> u32 {
    let addr = run.world.node(node(run, to)).address().unwrap();
    let config = SmtpClientConfig {
        ehlo_name: host.into(),
        credentials: auth.then(|| Credentials {
            username: "alice".into(),
            password: "pw".into(),
        }),
        starttls: false,
    };
    let message = OutgoingMessage {
        reverse_path: from.into(),
        recipients: vec![rcpt.into()],
        data: b"From: someone\r\nSubject: scripted\r\n\r\nhello\r\n".to_vec(),
    };
    let app = run.world.add_app(
        node(run, host),
        Box::new(Scripted {
            to: SocketAddrV4::new(addr, port),
            client: None,
            conn: None,
            pending: Some((config, message)),
        }),
    );
    run.world.schedule_call(
        SimTime::from_secs(1),
        app,
        Box::new(|app, cx| {
            if let Some(s) = app.as_any_mut().downcast_mut::<Scripted>() {
                s.start(cx);
            }
        }),
    );
    app
}

#[test]
fn port_25_is_not_an_open_relay() {
    let mut run = world("", NO_EXTRA, "", "5min");
    let app = scripted(
        &mut run,
        "mallory",
        "bob-mail",
        25,
        false,
        "mallory@evil.example",
        "alice@crepes.fr",
    );
    run.run();
    let t = run.world.trace();
    assert_eq!(
        count(t, &["S: 550 5.7.1 <alice@crepes.fr>: Relay access denied"]),
        1
    );
    assert_eq!(queue_len(&run, "bob-mail"), 0);
    assert!(inbox_subjects(&run, "alice-mail", "alice").is_empty());
    let s = run.world.app_as::<Scripted>(app).unwrap();
    let status = &s.client.as_ref().unwrap().reports()[0].recipients[0].status;
    assert!(matches!(status, RecipientStatus::PermFailed(r) if r.code == 550));
}

#[test]
fn submission_requires_auth() {
    let mut run = world("", NO_EXTRA, "", "5min");
    scripted(
        &mut run,
        "mallory",
        "alice-mail",
        587,
        false,
        "mallory@evil.example",
        "bob@hamburger.edu",
    );
    run.run();
    let t = run.world.trace();
    assert_eq!(count(t, &["S: 530 5.7.0 Authentication required"]), 1);
    assert_eq!(queue_len(&run, "alice-mail"), 0);
}

#[test]
fn a_bounce_is_never_bounced() {
    let mut run = world("", NO_EXTRA, "", "5min");
    // MAIL FROM:<> (a bounce) to a user Bob's server does not know.
    scripted(
        &mut run,
        "alice-pc",
        "alice-mail",
        587,
        true,
        "",
        "nobody@hamburger.edu",
    );
    run.run();
    let t = run.world.trace();
    assert_eq!(count(t, &["C: MAIL FROM:<>"]), 2);
    assert_eq!(count(t, &["S: 550 5.1.1 <nobody@hamburger.edu>"]), 1);
    assert_eq!(
        count(t, &["alice-mail  SMTP  discarded", "undeliverable bounce"]),
        1
    );
    assert_eq!(count(t, &["bounced"]), 0);
    assert_eq!(queue_len(&run, "alice-mail"), 0);
    assert!(inbox_subjects(&run, "alice-mail", "alice").is_empty());
    assert!(inbox_subjects(&run, "alice-mail", "postmaster").is_empty());
}

#[test]
fn traces_carry_no_duplicate_dialogue_from_clients() {
    let mut run = world(
        "",
        NO_EXTRA,
        &send("1s", "bob@hamburger.edu", "Hi", 1),
        "5min",
    );
    run.run();
    let t = run.world.trace();
    // Every dialogue line is reported once, by the server.
    let dialogue: Vec<String> = t
        .records
        .iter()
        .filter(|r| matches!(r.event, Event::Dialogue { .. }))
        .map(|r| t.to_text(r))
        .collect();
    assert_eq!(
        dialogue
            .iter()
            .filter(|l| l.contains("C: RCPT TO:<bob@hamburger.edu>"))
            .count(),
        2,
        "once at alice-mail (submission) and once at bob-mail"
    );
}

// ---- a greylisting receiver: 451 the first time -----------------------------

/// Accepts a message only on the second try, like a greylisting server
/// (a common defence against spam software that never retries).
#[derive(Default)]
struct Greylist {
    tries: u32,
    accepted: Vec<ReceivedMessage>,
}

impl SmtpBackend for Greylist {
    fn is_local_domain(&self, domain: &str) -> bool {
        domain == "grey.example"
    }
    fn user_exists(&self, _: &str, _: &str) -> bool {
        true
    }
    fn check_password(&mut self, _: &str, _: &str) -> bool {
        false
    }
    fn next_queue_id(&mut self) -> String {
        format!("G{}", self.tries + 1)
    }
    fn accept_message(&mut self, message: ReceivedMessage) -> Result<(), Reply> {
        self.tries += 1;
        if self.tries == 1 {
            return Err(Reply::new(451, "4.7.1 Greylisted, please try again later"));
        }
        self.accepted.push(message);
        Ok(())
    }
}

#[derive(Default)]
struct GreylistServer {
    backend: Greylist,
    sessions: BTreeMap<ConnId, SmtpServer>,
}

impl Application for GreylistServer {
    fn kind(&self) -> &'static str {
        "greylisting smtp server"
    }

    fn handle_event(&mut self, cx: &mut AppCx<'_>, event: AppEvent) {
        let conn = match event {
            AppEvent::Start => {
                let _ = cx.listen(25, Protocol::Smtp);
                return;
            }
            AppEvent::Accepted { conn, .. } => {
                let Some(peer) = cx.connection(conn).map(|c| *c.remote().ip()) else {
                    return;
                };
                let server = SmtpServer::new(SmtpConfig::new("mx.grey.example"), IpAddr::V4(peer));
                self.sessions.insert(conn, server);
                conn
            }
            AppEvent::Data { conn, data } => {
                let now = cx.now_unix();
                if let Some(s) = self.sessions.get_mut(&conn) {
                    s.handle_input(&data, &mut self.backend, now);
                }
                conn
            }
            AppEvent::PeerClosed { conn } => {
                cx.close(conn);
                return;
            }
            _ => return,
        };
        let Some(s) = self.sessions.get_mut(&conn) else {
            return;
        };
        while let Some(line) = s.poll_transcript() {
            cx.trace_dialogue(wiretale::trace::Layer::Smtp, conn, line);
        }
        while let Some(bytes) = s.poll_output() {
            cx.send(conn, bytes);
        }
        if s.wants_close() {
            cx.close(conn);
        }
    }
}

#[test]
fn a_4xx_reply_means_try_again_later() {
    let text = r#"Scenario(
        version: 1, title: "greylisting", until: "10min",
        hosts: [
            Host(name: "alice-pc", accounts: [Account(address: "alice@crepes.fr", password: "pw", server: "alice-mail")]),
            Host(name: "alice-mail", role: MailServer(domains: ["crepes.fr"], users: [User(name: "alice", password: "pw")])),
            Host(name: "dns", role: DnsServer(records: [
                Mx("grey.example", 10, "mx.grey.example"),
                A("mx.grey.example", "grey"),
            ])),
            Host(name: "grey"),
            Host(name: "r", role: Router),
        ],
        links: [
            Link(a: "alice-pc", b: "r"), Link(a: "alice-mail", b: "r"),
            Link(a: "dns", b: "r"), Link(a: "grey", b: "r", latency: "10ms"),
        ],
        actions: [
            Action(at: "1s", host: "alice-pc", do: SendMail(from: "alice@crepes.fr", to: ["carol@grey.example"], subject: "Hello Carol")),
        ],
    )"#;
    let s = scenario::parse("grey.ron", text).unwrap_or_else(|e| panic!("{e}"));
    let mut run = scenario::build(&s, 1).unwrap();
    let grey = run
        .world
        .add_app(node(&run, "grey"), Box::new(GreylistServer::default()));
    run.run();
    let t = run.world.trace();
    assert_eq!(
        count(t, &["grey -> alice-mail  SMTP  S: 451 4.7.1 Greylisted"]),
        1
    );
    let deferred: Vec<&wiretale::trace::Record> = t
        .records
        .iter()
        .filter(|r| t.to_text(r).contains("alice-mail  SMTP  deferred"))
        .collect();
    assert_eq!(deferred.len(), 1);
    assert!(
        t.to_text(deferred[0])
            .contains("mx.grey.example said: 451 4.7.1 Greylisted")
    );
    let delivered: Vec<u64> = t
        .records
        .iter()
        .filter(|r| t.to_text(r).contains("alice-mail  SMTP  delivered"))
        .map(|r| r.time.as_micros())
        .collect();
    assert_eq!(delivered.len(), 1);
    // One minute later (plus the second session's round trips).
    let waited = delivered[0] - deferred[0].time.as_micros();
    assert!((60_000_000..61_000_000).contains(&waited), "{waited}");
    let server = run.world.app_as::<GreylistServer>(grey).unwrap();
    assert_eq!(server.backend.accepted.len(), 1);
    assert_eq!(queue_len(&run, "alice-mail"), 0);
}

// ---- property: crashes of the receiving server -------------------------

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]

    /// Bob's server crashes at any moment of the relay (before, during or
    /// after the SMTP session) and comes back after a while: the message
    /// reaches Bob's mailbox exactly once and Alice's queue drains. (A
    /// crash of the *sending* server between the receiver's 250 and its
    /// arrival can duplicate a message, as RFC 5321 §6.1 warns; this
    /// property is about the receiver.)
    #[test]
    fn receiver_crashes_never_lose_or_duplicate(
        down_ms in 1_000u64..2_200,
        down_for_s in 1u64..200,
        lines in prop_oneof![Just(3usize), Just(1500usize)],
    ) {
        let mut run = world("", NO_EXTRA, &send("1s", "bob@hamburger.edu", "Prop", lines), "30min");
        let bob = node(&run, "bob-mail");
        let down = SimTime::from_millis(down_ms);
        run.world.schedule_fault(down, Fault::HostDown { node: bob });
        run.world.schedule_fault(
            down + SimDuration::from_secs(down_for_s),
            Fault::HostUp { node: bob },
        );
        run.run();
        let t = run.world.trace();
        prop_assert_eq!(inbox_subjects(&run, "bob-mail", "bob"), vec!["Prop".to_string()]);
        prop_assert_eq!(queue_len(&run, "alice-mail"), 0);
        prop_assert_eq!(count(t, &["bounced"]), 0);
        prop_assert_eq!(count(t, &["alice-mail  SMTP  delivered"]), 1);
    }
}
