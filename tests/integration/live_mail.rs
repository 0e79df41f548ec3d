//! The live mail servers with real clients no one here wrote: curl and
//! Python's smtplib and poplib, on loopback.
//!
//! These tests skip when curl or python3 is missing, unless
//! `WIRETALE_REQUIRE_CLIENTS=1` (set by `.ci/run`) makes that a failure.

use crate::live_common;

use live_common::{clients, curl, inbox_len, python, start, wait_for};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};
use wiretale::live::{LiveOptions, Service};

fn line(r: &mut BufReader<TcpStream>) -> String {
    let mut s = String::new();
    r.read_line(&mut s).unwrap();
    s
}

#[test]
fn smtplib_submits_and_poplib_fetches_the_message_intact() {
    if !clients() {
        return;
    }
    let server = start("alice_to_bob", LiveOptions::default());
    let submit = server.addr("alice-mail", Service::Submission).unwrap();
    let pop = server.addr("bob-mail", Service::Pop3).unwrap();
    let body = "Hi Bob,\n.a line that starts with a dot\n..and two\n\nAlice\n";
    let mut out = python(&format!(
        r#"
import smtplib
from email.message import EmailMessage
m = EmailMessage()
m["From"] = "alice@crepes.fr"
m["To"] = "bob@hamburger.edu"
m["Subject"] = "Searching for the meaning of life."
m.set_content({body:?})
s = smtplib.SMTP("127.0.0.1", {sp}, timeout=10)
s.login("alice", "croissant")
s.send_message(m)
s.quit()
"#,
        sp = submit.port(),
    ));
    // Alice's server relays it to Bob's over a real SMTP connection.
    wait_for("the message reaches bob-mail", 10, || {
        inbox_len(&server, "bob-mail", "bob") == 1
    });
    out += &python(&format!(
        r#"
import poplib
p = poplib.POP3("127.0.0.1", {pp}, timeout=10)
p.user("bob")
p.pass_("hungry")
count, size = p.stat()
print("COUNT", count)
lines = p.retr(1)[1]
p.dele(1)
p.quit()
text = b"\n".join(lines).decode()
print(text)
"#,
        pp = pop.port()
    ));
    assert!(out.contains("COUNT 1"), "{out}");
    assert!(
        out.contains("Subject: Searching for the meaning of life."),
        "{out}"
    );
    // Final delivery put the envelope's sender on top (RFC 5321 §4.4).
    assert!(
        out.contains("COUNT 1\nReturn-Path: <alice@crepes.fr>\nReceived: "),
        "{out}"
    );
    assert!(
        out.contains(".a line that starts with a dot\n..and two\n"),
        "dot-stuffing lost: {out}"
    );
    // Each server on the way added its Received: line, newest first.
    let received: Vec<&str> = out.lines().filter(|l| l.starts_with("Received:")).collect();
    assert_eq!(received.len(), 2, "{out}");
    assert!(received[0].contains("by bob-mail.hamburger.edu"), "{out}");
    assert!(received[1].contains("by alice-mail.crepes.fr"), "{out}");
    // POP3 DELE took effect at QUIT.
    let store = server.mail_store("bob-mail").unwrap();
    assert_eq!(store.folder("bob", "INBOX").unwrap().len(), 0);
    let lines = server.trace_lines();
    assert!(
        lines.iter().any(|l| l.contains("C: AUTH PLAIN")),
        "the live session is traced"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.contains("S: 250 2.0.0 Ok: queued as"))
    );
    server.shutdown();
}

#[test]
fn curl_sends_with_smtp_and_lists_and_retrieves_with_pop3() {
    if !clients() {
        return;
    }
    let server = start("alice_to_bob", LiveOptions::default());
    let smtp = server.addr("bob-mail", Service::Smtp).unwrap();
    let pop = server.addr("bob-mail", Service::Pop3).unwrap();
    let dir = std::env::temp_dir().join(format!("wiretale-live-curl-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let msg = dir.join("msg.txt");
    std::fs::write(&msg, "From: carol@example.org\r\nTo: bob@hamburger.edu\r\nSubject: from curl\r\n\r\nSent by curl.\r\n").unwrap();
    curl(&[
        &format!("smtp://{smtp}/tester"),
        "--mail-from",
        "carol@example.org",
        "--mail-rcpt",
        "bob@hamburger.edu",
        "--upload-file",
        msg.to_str().unwrap(),
    ]);
    let list = curl(&[&format!("pop3://{pop}/"), "--user", "bob:hungry"]);
    assert!(list.trim().starts_with("1 "), "LIST: {list}");
    let got = curl(&[&format!("pop3://{pop}/1"), "--user", "bob:hungry"]);
    assert!(got.contains("Subject: from curl"), "{got}");
    assert!(got.contains("Sent by curl."), "{got}");
    assert!(
        got.starts_with("Return-Path: <carol@example.org>\r\n"),
        "{got}"
    );
    server.shutdown();
    std::fs::remove_dir_all(&dir).ok();
}

/// AUTH LOGIN, the username-then-password exchange many mail programs
/// pick: curl with `--login-options AUTH=LOGIN`, and smtplib with LOGIN
/// forced; a wrong password gets 535.
#[test]
fn curl_and_smtplib_log_in_with_auth_login() {
    if !clients() {
        return;
    }
    let server = start("alice_to_bob", LiveOptions::default());
    let submit = server.addr("alice-mail", Service::Submission).unwrap();
    let pop = server.addr("bob-mail", Service::Pop3).unwrap();
    let dir = std::env::temp_dir().join(format!("wiretale-live-login-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let msg = dir.join("msg.txt");
    std::fs::write(
        &msg,
        "From: alice@crepes.fr\r\nTo: bob@hamburger.edu\r\nSubject: by curl with LOGIN\r\n\r\nHello.\r\n",
    )
    .unwrap();
    curl(&[
        &format!("smtp://{submit}/pc"),
        "--login-options",
        "AUTH=LOGIN",
        "--user",
        "alice:croissant",
        "--mail-from",
        "alice@crepes.fr",
        "--mail-rcpt",
        "bob@hamburger.edu",
        "--upload-file",
        msg.to_str().unwrap(),
    ]);
    let out = python(&format!(
        r#"
import smtplib
s = smtplib.SMTP("127.0.0.1", {sp}, timeout=10)
s.ehlo()
print("ADVERTISED", s.esmtp_features.get("auth"))
s.user, s.password = "alice", "wrong"
try:
    s.auth("LOGIN", s.auth_login, initial_response_ok=False)
except smtplib.SMTPAuthenticationError as e:
    print("REFUSED", e.smtp_code)
s.user, s.password = "alice", "croissant"
code, _ = s.auth("LOGIN", s.auth_login, initial_response_ok=False)
print("LOGIN", code)
s.sendmail("alice@crepes.fr", ["bob@hamburger.edu"], "Subject: by smtplib with LOGIN\r\n\r\nHi.\r\n")
s.quit()
"#,
        sp = submit.port()
    ));
    assert!(
        out.contains("ADVERTISED") && out.contains("PLAIN LOGIN"),
        "{out}"
    );
    assert!(out.contains("REFUSED 535"), "{out}");
    assert!(out.contains("LOGIN 235"), "{out}");
    // Both messages reach Bob (relayed to his server).
    let mut subjects = Vec::new();
    for _ in 0..100 {
        let list = curl(&[&format!("pop3://{pop}/"), "--user", "bob:hungry"]);
        if list.lines().count() >= 2 {
            for n in 1..=2 {
                let m = curl(&[&format!("pop3://{pop}/{n}"), "--user", "bob:hungry"]);
                subjects.extend(
                    m.lines()
                        .filter(|l| l.starts_with("Subject:"))
                        .map(str::to_owned),
                );
            }
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    subjects.sort();
    assert_eq!(
        subjects,
        [
            "Subject: by curl with LOGIN",
            "Subject: by smtplib with LOGIN"
        ]
    );
    let lines = server.trace_lines();
    assert!(
        lines.iter().any(|l| l.contains("S: 334 VXNlcm5hbWU6")),
        "the exchange is traced"
    );
    server.shutdown();
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn refusals_over_real_sockets() {
    if !clients() {
        return;
    }
    let server = start(
        "alice_to_bob",
        LiveOptions {
            idle_timeout: Duration::from_secs(1),
            ..LiveOptions::default()
        },
    );
    let submit = server.addr("alice-mail", Service::Submission).unwrap();
    let smtp = server.addr("bob-mail", Service::Smtp).unwrap();
    let pop = server.addr("bob-mail", Service::Pop3).unwrap();
    let out = python(&format!(
        r#"
import smtplib, poplib
s = smtplib.SMTP("127.0.0.1", {sub}, timeout=10)
try:
    s.login("alice", "wrong")
except smtplib.SMTPAuthenticationError as e:
    print("AUTH", e.smtp_code)
s.quit()
s = smtplib.SMTP("127.0.0.1", {smtp}, timeout=10)
try:
    s.sendmail("a@b.c", ["someone@elsewhere.org"], "Subject: relay?\r\n\r\nno\r\n")
except smtplib.SMTPRecipientsRefused as e:
    print("RELAY", e.recipients["someone@elsewhere.org"][0])
s.quit()
p = poplib.POP3("127.0.0.1", {pop}, timeout=10)
p.user("bob")
try:
    p.pass_("nope")
except poplib.error_proto as e:
    print("POP", e)
"#,
        sub = submit.port(),
        smtp = smtp.port(),
        pop = pop.port()
    ));
    assert!(out.contains("AUTH 535"), "{out}");
    assert!(out.contains("RELAY 550"), "{out}");
    assert!(out.contains("POP b'-ERR [AUTH]"), "{out}");

    // A 2 MB line: refused with 500, and the session goes on.
    let mut s = TcpStream::connect(smtp).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut r = BufReader::new(s.try_clone().unwrap());
    assert!(line(&mut r).starts_with("220"));
    s.write_all(b"EHLO ").unwrap();
    s.write_all(&vec![b'x'; 2 << 20]).unwrap();
    s.write_all(b"\r\nNOOP\r\n").unwrap();
    let reply = line(&mut r);
    assert!(reply.starts_with("500"), "{reply}");
    assert!(line(&mut r).starts_with("250"), "NOOP still answered");
    drop(s);

    // A client that connects and says nothing is closed after the idle
    // timeout, with a 421.
    let started = Instant::now();
    let s = TcpStream::connect(smtp).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut r = BufReader::new(s);
    assert!(line(&mut r).starts_with("220"));
    let bye = line(&mut r);
    assert!(bye.starts_with("421"), "{bye}");
    let mut rest = Vec::new();
    assert_eq!(r.read_to_end(&mut rest).unwrap(), 0, "closed after the 421");
    assert!(started.elapsed() < Duration::from_secs(5));
    server.shutdown();
}

#[test]
fn too_many_sessions_are_turned_away() {
    let server = start(
        "alice_to_bob",
        LiveOptions {
            max_sessions: 2,
            ..LiveOptions::default()
        },
    );
    let smtp = server.addr("bob-mail", Service::Smtp).unwrap();
    let mut held = Vec::new();
    for _ in 0..2 {
        let s = TcpStream::connect(smtp).unwrap();
        let mut r = BufReader::new(s.try_clone().unwrap());
        assert!(line(&mut r).starts_with("220"));
        held.push(s);
    }
    let s = TcpStream::connect(smtp).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut r = BufReader::new(s);
    assert!(
        line(&mut r).starts_with("421"),
        "the third session is refused"
    );
    drop(held);
    server.shutdown();
}

/// Submits `n` messages as Alice on one connection (AUTH PLAIN); every
/// tenth goes to a user Bob's server does not have. Returns the subjects
/// the server accepted with 250, for known and for unknown recipients.
fn submit_client(addr: SocketAddr, client: usize, n: usize) -> (Vec<String>, Vec<String>) {
    let s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let mut w = s.try_clone().unwrap();
    let mut r = BufReader::new(s);
    let mut expect = |code: &str| {
        // Multi-line replies end with "NNN " (RFC 5321 §4.2.1).
        loop {
            let l = line(&mut r);
            assert!(l.starts_with(code), "expected {code}, got {l:?}");
            if l.as_bytes().get(3) == Some(&b' ') {
                return;
            }
        }
    };
    expect("220");
    w.write_all(format!("EHLO load{client}\r\n").as_bytes())
        .unwrap();
    expect("250");
    // "\0alice\0croissant" in base64.
    w.write_all(b"AUTH PLAIN AGFsaWNlAGNyb2lzc2FudA==\r\n")
        .unwrap();
    expect("235");
    let (mut known, mut unknown) = (Vec::new(), Vec::new());
    for i in 0..n {
        let subject = format!("load {client}-{i}");
        let to = if i % 10 == 9 {
            format!("nobody{client}x{i}@hamburger.edu")
        } else {
            "bob@hamburger.edu".to_string()
        };
        w.write_all(b"MAIL FROM:<alice@crepes.fr>\r\n").unwrap();
        expect("250");
        w.write_all(format!("RCPT TO:<{to}>\r\n").as_bytes())
            .unwrap();
        expect("250");
        w.write_all(b"DATA\r\n").unwrap();
        expect("354");
        w.write_all(
            format!("Subject: {subject}\r\n\r\nmessage {i} of client {client}\r\n.\r\n").as_bytes(),
        )
        .unwrap();
        expect("250");
        if i % 10 == 9 {
            unknown.push(subject);
        } else {
            known.push(subject);
        }
    }
    w.write_all(b"QUIT\r\n").unwrap();
    expect("221");
    (known, unknown)
}

/// The Subject of the original message a bounce returns (its header is
/// the report's last part).
fn bounced_subject(bounce: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(bounce);
    let returned = text.split("Content-Type: text/rfc822-headers").nth(1)?;
    returned
        .lines()
        .find_map(|l| l.strip_prefix("Subject: "))
        .map(str::to_string)
}

/// 50 concurrent clients each submit 20 messages to Alice's server, which
/// relays them to Bob's: every accepted message is in Bob's mailbox
/// afterwards, once; each of the tenth addressed to users Bob's server
/// does not have comes back to Alice as a bounce, once.
#[test]
fn fifty_concurrent_clients_lose_and_duplicate_nothing() {
    const CLIENTS: usize = 50;
    const EACH: usize = 20;
    let server = start(
        "alice_to_bob",
        LiveOptions {
            max_sessions: 64,
            ..LiveOptions::default()
        },
    );
    let submit = server.addr("alice-mail", Service::Submission).unwrap();
    let started = Instant::now();
    let threads: Vec<_> = (0..CLIENTS)
        .map(|c| std::thread::spawn(move || submit_client(submit, c, EACH)))
        .collect();
    let (mut known, mut unknown) = (Vec::new(), Vec::new());
    for t in threads {
        let (k, u) = t.join().unwrap();
        known.extend(k);
        unknown.extend(u);
    }
    let accepted = known.len() + unknown.len();
    assert_eq!(accepted, CLIENTS * EACH);
    wait_for("every message delivered or bounced", 60, || {
        inbox_len(&server, "bob-mail", "bob") >= known.len()
            && inbox_len(&server, "alice-mail", "alice") >= unknown.len()
            && server
                .mail_queue("alice-mail")
                .is_some_and(|q| q.is_empty())
    });
    let secs = started.elapsed().as_secs_f64();
    let subjects = |host: &str, user: &str| -> Vec<Vec<u8>> {
        let store = server.mail_store(host).unwrap();
        let folder = store.folder(user, "INBOX").unwrap();
        folder.messages().iter().map(|m| m.data.clone()).collect()
    };
    let mut stored: Vec<String> = subjects("bob-mail", "bob")
        .iter()
        .map(|d| {
            let text = String::from_utf8_lossy(d).into_owned();
            let subject = text.lines().find_map(|l| l.strip_prefix("Subject: "));
            subject.unwrap_or_default().to_string()
        })
        .collect();
    let mut bounced: Vec<String> = subjects("alice-mail", "alice")
        .iter()
        .map(|d| bounced_subject(d).expect("a bounce returns the original header"))
        .collect();
    known.sort();
    stored.sort();
    unknown.sort();
    bounced.sort();
    assert_eq!(stored, known, "every message for Bob stored exactly once");
    assert_eq!(
        bounced, unknown,
        "every message for an unknown user bounced exactly once"
    );
    eprintln!(
        "live SMTP load: {accepted} messages from {CLIENTS} concurrent clients, relayed and {} bounced, in {secs:.2} s = {:.0} messages/s",
        unknown.len(),
        accepted as f64 / secs
    );
    server.shutdown();
}

/// A message sent live to a user Bob's server does not have is accepted
/// by Alice's server (it cannot know), refused by Bob's with 550 when it
/// relays it, and returned to Alice: POP3 shows her the bounce. A message
/// for a domain no server of the scenario receives bounces too. Nothing
/// stays in the queue and nothing arrives twice.
#[test]
fn mail_to_an_unknown_user_comes_back_to_the_sender() {
    if !clients() {
        return;
    }
    let server = start("alice_to_bob", LiveOptions::default());
    let submit = server.addr("alice-mail", Service::Submission).unwrap();
    let pop = server.addr("alice-mail", Service::Pop3).unwrap();
    python(&format!(
        r#"
import smtplib
s = smtplib.SMTP("127.0.0.1", {sp}, timeout=10)
s.login("alice", "croissant")
s.sendmail("alice@crepes.fr", ["bob@hamburger.edu", "bobby@hamburger.edu"],
           "From: alice@crepes.fr\r\nSubject: two recipients\r\n\r\nHi.\r\n")
s.sendmail("alice@crepes.fr", ["carol@example.org"],
           "From: alice@crepes.fr\r\nSubject: to nowhere\r\n\r\nHi.\r\n")
s.quit()
"#,
        sp = submit.port()
    ));
    wait_for("two bounces for Alice", 10, || {
        inbox_len(&server, "alice-mail", "alice") == 2
            && server
                .mail_queue("alice-mail")
                .is_some_and(|q| q.is_empty())
    });
    assert_eq!(
        inbox_len(&server, "bob-mail", "bob"),
        1,
        "Bob gets his copy"
    );
    let out = python(&format!(
        r#"
import poplib
p = poplib.POP3("127.0.0.1", {pp}, timeout=10)
p.user("alice")
p.pass_("croissant")
count, size = p.stat()
print("COUNT", count)
for n in range(1, count + 1):
    print("\n".join(l.decode() for l in p.retr(n)[1]))
    print("=====")
p.quit()
"#,
        pp = pop.port()
    ));
    assert!(out.contains("COUNT 2"), "{out}");
    let bounces: Vec<&str> = out
        .split("=====")
        .filter(|b| b.contains("Return-Path"))
        .collect();
    assert_eq!(bounces.len(), 2, "{out}");
    // Bob's server refused bobby at RCPT TO; the bounce says so.
    let unknown = bounces
        .iter()
        .find(|b| b.contains("Subject: two recipients"))
        .expect("the bounce for bobby");
    assert!(unknown.lines().any(|l| l == "Return-Path: <>"), "{unknown}");
    assert!(
        unknown.contains("Subject: Undelivered Mail Returned to Sender"),
        "{unknown}"
    );
    assert!(
        unknown.contains("Final-Recipient: rfc822; bobby@hamburger.edu"),
        "{unknown}"
    );
    assert!(unknown.contains("Status: 5.1.1"), "{unknown}");
    assert!(
        !unknown.contains("Final-Recipient: rfc822; bob@hamburger.edu"),
        "{unknown}"
    );
    // No server of the scenario receives mail for example.org.
    let nowhere = bounces
        .iter()
        .find(|b| b.contains("Subject: to nowhere"))
        .expect("the bounce for carol");
    assert!(nowhere.contains("Status: 5.4.4"), "{nowhere}");
    let lines = server.trace_lines();
    let count = |needle: &str| lines.iter().filter(|l| l.contains(needle)).count();
    assert_eq!(count("SMTP  bounced"), 2, "{lines:#?}");
    assert_eq!(count("SMTP  delivered"), 1, "{lines:#?}");
    // The relay is a real SMTP session at Bob's server, traced as one.
    assert_eq!(
        count("-> bob-mail  SMTP  C: RCPT TO:<bobby@hamburger.edu>"),
        1,
        "{lines:#?}"
    );
    server.shutdown();
}

#[test]
fn a_message_sent_with_smtp_comes_back_intact_over_pop3_and_imap() {
    if !clients() {
        return;
    }
    let server = start("alice_to_bob", LiveOptions::default());
    let smtp = server.addr("bob-mail", Service::Smtp).unwrap();
    let pop = server.addr("bob-mail", Service::Pop3).unwrap();
    let imap = server.addr("bob-mail", Service::Imap).unwrap();
    let out = python(&format!(
        r#"
import smtplib, poplib, imaplib, hashlib
body = "Line one\r\n.dot line\r\n" + "x" * 900 + "\r\nlast line\r\n"
msg = "From: carol@example.org\r\nTo: bob@hamburger.edu\r\nSubject: round trip\r\n\r\n" + body
s = smtplib.SMTP("127.0.0.1", {smtp}, timeout=10)
s.sendmail("carol@example.org", ["bob@hamburger.edu"], msg)
s.quit()
def tail(raw):
    # The message as sent: drop the Return-Path: and Received: lines the
    # server added at final delivery.
    first, rest = raw.split(b"\r\n", 1)
    assert first == b"Return-Path: <carol@example.org>", first
    return rest.split(b"\r\n", 1)[1]
p = poplib.POP3("127.0.0.1", {pop}, timeout=10)
p.user("bob"); p.pass_("hungry")
pop_raw = b"\r\n".join(p.retr(1)[1]) + b"\r\n"
p.quit()
m = imaplib.IMAP4("127.0.0.1", {imap})
m.login("bob", "hungry")
typ, boxes = m.list()
print("LIST", typ, boxes)
m.select("INBOX")
typ, data = m.search(None, "UNSEEN")
print("UNSEEN", data)
typ, data = m.fetch("1", "(BODY[] FLAGS)")
imap_raw = data[0][1]
typ, data = m.fetch("1", "(FLAGS)")
print("FLAGS", data)
m.store("1", "+FLAGS", "\\Flagged")
m.logout()
want = hashlib.sha256(msg.encode()).hexdigest()
print("POP", hashlib.sha256(tail(pop_raw)).hexdigest() == want)
print("IMAP", hashlib.sha256(tail(imap_raw)).hexdigest() == want)
"#,
        smtp = smtp.port(),
        pop = pop.port(),
        imap = imap.port()
    ));
    assert!(out.contains("POP True"), "{out}");
    assert!(out.contains("IMAP True"), "{out}");
    assert!(out.contains("LIST OK"), "{out}");
    assert!(out.contains("UNSEEN [b'1']"), "{out}");
    assert!(
        out.contains("\\\\Seen"),
        "reading BODY[] sets \\Seen: {out}"
    );
    let store = server.mail_store("bob-mail").unwrap();
    let m = &store.folder("bob", "INBOX").unwrap().messages()[0];
    let flags: Vec<String> = m.flags.iter().map(|f| f.name()).collect();
    assert!(flags.contains(&"\\Flagged".to_string()), "{flags:?}");
    server.shutdown();
}

#[test]
fn curl_lists_mailboxes_and_fetches_with_imap() {
    if !clients() {
        return;
    }
    let server = start("alice_to_bob", LiveOptions::default());
    let submit = server.addr("alice-mail", Service::Submission).unwrap();
    let imap = server.addr("bob-mail", Service::Imap).unwrap();
    submit_client(submit, 0, 1);
    wait_for("the message reaches bob-mail", 10, || {
        inbox_len(&server, "bob-mail", "bob") == 1
    });
    let boxes = curl(&[&format!("imap://{imap}/"), "--user", "bob:hungry"]);
    assert!(boxes.contains("INBOX"), "{boxes}");
    let msg = curl(&[
        &format!("imap://{imap}/INBOX;UID=1"),
        "--user",
        "bob:hungry",
    ]);
    assert!(msg.contains("Subject: load 0-0"), "{msg}");
    let (code, _) = live_common::curl_status(&[&format!("imap://{imap}/"), "--user", "bob:wrong"]);
    assert_eq!(code, 67, "login denied");
    server.shutdown();
}

/// A session in IDLE hears of mail delivered over SMTP at once.
#[test]
fn an_idling_imap_session_sees_new_mail() {
    let server = start("alice_to_bob", LiveOptions::default());
    let submit = server.addr("alice-mail", Service::Submission).unwrap();
    let imap = server.addr("bob-mail", Service::Imap).unwrap();
    let s = TcpStream::connect(imap).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut w = s.try_clone().unwrap();
    let mut r = BufReader::new(s);
    assert!(line(&mut r).starts_with("* OK"));
    let mut until = |tag: &str| loop {
        let l = line(&mut r);
        assert!(!l.is_empty(), "connection closed");
        if l.starts_with(tag) {
            return l;
        }
    };
    w.write_all(b"a LOGIN bob hungry\r\n").unwrap();
    assert!(until("a ").starts_with("a OK"));
    w.write_all(b"b SELECT INBOX\r\n").unwrap();
    assert!(until("b ").starts_with("b OK"));
    w.write_all(b"c IDLE\r\n").unwrap();
    until("+");
    let sent = Instant::now();
    // Submitted to Alice's server, relayed to Bob's.
    submit_client(submit, 7, 1);
    let exists = until("* 1 EXISTS");
    assert!(exists.starts_with("* 1 EXISTS"));
    assert!(
        sent.elapsed() < Duration::from_secs(2),
        "seen within the poll interval"
    );
    w.write_all(b"DONE\r\n").unwrap();
    assert!(until("c ").starts_with("c OK"));
    server.shutdown();
}

/// Python's imaplib against the extensions mail programs look for: ID
/// before login, NAMESPACE, ENABLE, SPECIAL-USE in LIST, and UIDPLUS
/// (APPENDUID, COPYUID, MOVE's untagged COPYUID, UID EXPUNGE). The UIDs
/// the replies name are the ones the store holds.
#[test]
fn imaplib_uses_uidplus_namespace_id_and_special_use() {
    if !clients() {
        return;
    }
    let server = start("pop_vs_imap", LiveOptions::default());
    let imap = server.addr("bob-mail", Service::Imap).unwrap();
    let out = python(&format!(
        r#"
import imaplib, re
imaplib.Commands["MOVE"] = ("SELECTED",)
m = imaplib.IMAP4("127.0.0.1", {imap})
print("CAPS", " ".join(sorted(m.capabilities)))
typ, data = m.xatom("ID", '("name" "imaplib" "version" NIL)')
print("ID", typ, m.response("ID")[1])
m.login("bob", "hungry")
typ, data = m.namespace()
print("NAMESPACE", typ, data)
typ, data = m.enable("CONDSTORE")
print("ENABLE", typ, m.response("ENABLED")[1])
typ, data = m.list()
print("LIST", typ, data)
def code(name, data):
    return re.search(rb"\[" + name + rb" ([0-9:,]+) ([0-9:,]+)(?: ([0-9:,]+))?\]", data[0]).groups()
typ, data = m.append("INBOX", None, None, b"Subject: first\r\n\r\none\r\n")
v, first, _ = code(b"APPENDUID", data)
typ, data = m.append("INBOX", None, None, b"Subject: second\r\n\r\ntwo\r\n")
_, second, _ = code(b"APPENDUID", data)
typ, data = m.append("INBOX", None, None, b"Subject: third\r\n\r\nthree\r\n")
_, third, _ = code(b"APPENDUID", data)
print("APPENDUID", int(v), int(first), int(second), int(third))
typ, data = m.select("INBOX")
print("UIDVALIDITY", int(m.response("UIDVALIDITY")[1][0]))
typ, data = m.uid("FETCH", second.decode(), "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
print("FETCHED", data[0][1])
# imaplib's uid() keeps only FETCH data: COPY by sequence numbers gives
# the tagged reply, whose COPYUID names the UIDs.
typ, data = m.copy("1:2", "Archive")
av, src, dst = code(b"COPYUID", data)
print("COPYUID", int(av), src.decode(), dst.decode())
# imaplib also files the tagged reply's code away; drop it before MOVE.
m.response("COPYUID")
typ, data = m.uid("MOVE", third.decode(), "Archive")
print("MOVE", typ, m.response("COPYUID")[1], m.response("EXPUNGE")[1])
m.uid("STORE", first.decode() + ":" + second.decode(), "+FLAGS.SILENT", "(\\Deleted)")
typ, data = m.uid("EXPUNGE", first.decode())
print("UIDEXPUNGE", typ, m.response("EXPUNGE")[1])
typ, data = m.uid("SEARCH", "ALL")
print("LEFT", data)
m.select("Archive")
typ, data = m.uid("FETCH", dst.decode().split(":")[-1].split(",")[-1], "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
print("ARCHIVED", data[0][1])
m.logout()
"#,
        imap = imap.port()
    ));
    let caps = out.lines().find(|l| l.starts_with("CAPS")).unwrap_or("");
    for cap in ["UIDPLUS", "NAMESPACE", "ID", "ENABLE", "SPECIAL-USE"] {
        assert!(caps.split(' ').any(|c| c == cap), "{cap} in {caps}");
    }
    assert!(
        out.contains("ID OK [b'(\"name\" \"wiretale\" \"version\" \""),
        "{out}"
    );
    assert!(
        out.contains("NAMESPACE OK [b'((\"\" \"/\")) NIL NIL']"),
        "{out}"
    );
    assert!(out.contains("ENABLE OK [b'']"), "{out}");
    assert!(
        out.contains("(\\\\HasNoChildren \\\\Archive) \"/\" Archive"),
        "{out}"
    );
    assert!(
        out.contains("FETCHED b'Subject: second\\r\\n\\r\\n'"),
        "{out}"
    );
    let store = server.mail_store("bob-mail").unwrap();
    let inbox = store.folder("bob", "INBOX").unwrap();
    let archive = store.folder("bob", "Archive").unwrap();
    // APPENDUID: INBOX's UIDVALIDITY, and UIDs 1, 2, 3.
    assert!(
        out.contains(&format!("APPENDUID {} 1 2 3", inbox.uid_validity())),
        "{out}"
    );
    assert!(
        out.contains(&format!("UIDVALIDITY {}", inbox.uid_validity())),
        "{out}"
    );
    // COPYUID: Archive's UIDVALIDITY; 1 and 2 became Archive's 1 and 2.
    assert!(
        out.contains(&format!("COPYUID {} 1:2 1:2", archive.uid_validity())),
        "{out}"
    );
    // MOVE: COPYUID untagged, then the EXPUNGE of message 3.
    assert!(
        out.contains(&format!(
            "MOVE OK [b'{} 3 3'] [b'3']",
            archive.uid_validity()
        )),
        "{out}"
    );
    // UID EXPUNGE 1 took message 1 only; 2 is deleted but stays.
    assert!(out.contains("UIDEXPUNGE OK [b'1']"), "{out}");
    assert!(out.contains("LEFT [b'2']"), "{out}");
    assert!(out.contains("ARCHIVED b'Subject: second"), "{out}");
    let uids: Vec<u32> = inbox.messages().iter().map(|m| m.uid).collect();
    assert_eq!(uids, [2]);
    let subjects: Vec<(u32, String)> = archive
        .messages()
        .iter()
        .map(|m| (m.uid, m.subject()))
        .collect();
    assert_eq!(
        subjects,
        [
            (1, "first".to_string()),
            (2, "second".to_string()),
            (3, "third".to_string())
        ]
    );
    server.shutdown();
}
