//! Scripted dialogues for the SMTP server and client, and property tests.

use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, Ipv4Addr};

use proptest::prelude::*;

use super::client::*;
use super::reply::*;
use super::sasl::{base64_encode, encode_plain};
use super::server::*;
use crate::proto::{Session, Transcript};

const NOW: i64 = 1_772_460_309; // Mon, 02 Mar 2026 14:05:09 +0000
const CLIENT: IpAddr = IpAddr::V4(Ipv4Addr::new(10, 0, 1, 2));

#[derive(Default)]
struct TestBackend {
    domains: BTreeSet<String>,
    users: BTreeMap<String, String>,
    relay_ok: bool,
    refuse_with: Option<Reply>,
    next_id: u32,
    accepted: Vec<ReceivedMessage>,
}

impl TestBackend {
    fn hamburger() -> TestBackend {
        TestBackend {
            domains: ["hamburger.edu".to_string()].into(),
            users: [
                ("bob".to_string(), "bobpw".to_string()),
                ("carol".to_string(), "carolpw".to_string()),
            ]
            .into(),
            ..TestBackend::default()
        }
    }
}

impl SmtpBackend for TestBackend {
    fn is_local_domain(&self, domain: &str) -> bool {
        self.domains.contains(domain)
    }
    fn user_exists(&self, local_part: &str, _domain: &str) -> bool {
        self.users.contains_key(local_part)
    }
    fn check_password(&mut self, user: &str, password: &str) -> bool {
        self.users.get(user).is_some_and(|p| p == password)
    }
    fn may_relay(&self, _client_addr: IpAddr) -> bool {
        self.relay_ok
    }
    fn next_queue_id(&mut self) -> String {
        self.next_id += 1;
        format!("Q{}", self.next_id)
    }
    fn accept_message(&mut self, message: ReceivedMessage) -> Result<(), Reply> {
        if let Some(reply) = &self.refuse_with {
            return Err(reply.clone());
        }
        self.accepted.push(message);
        Ok(())
    }
}

fn server(config: SmtpConfig) -> SmtpServer {
    SmtpServer::new(config, CLIENT)
}

/// Everything the server has to send, as text.
fn output(s: &mut SmtpServer) -> String {
    let mut out = Vec::new();
    while let Some(bytes) = s.poll_output() {
        out.extend(bytes);
    }
    String::from_utf8(out).unwrap()
}

/// Feeds `input` and returns the server's answer.
fn say(s: &mut SmtpServer, b: &mut TestBackend, input: &str) -> String {
    s.handle_input(input.as_bytes(), b, NOW);
    output(s)
}

/// A server that has greeted and been greeted with EHLO.
fn greeted(config: SmtpConfig, b: &mut TestBackend) -> SmtpServer {
    let mut s = server(config);
    output(&mut s);
    say(&mut s, b, "EHLO crepes.fr\r\n");
    s
}

const EHLO_REPLY: &str = "250-mail.hamburger.edu Hello crepes.fr\r\n\
                          250-SIZE 10485760\r\n\
                          250-8BITMIME\r\n\
                          250-PIPELINING\r\n\
                          250-AUTH PLAIN LOGIN\r\n\
                          250 ENHANCEDSTATUSCODES\r\n";

#[test]
fn the_textbook_dialogue() {
    let mut b = TestBackend::hamburger();
    let mut s = server(SmtpConfig::new("mail.hamburger.edu"));
    assert_eq!(output(&mut s), "220 mail.hamburger.edu ESMTP wiretale\r\n");
    assert_eq!(s.state_name(), "CONNECTED");
    assert_eq!(say(&mut s, &mut b, "EHLO crepes.fr\r\n"), EHLO_REPLY);
    assert_eq!(
        say(&mut s, &mut b, "MAIL FROM:<alice@crepes.fr>\r\n"),
        "250 2.1.0 Ok\r\n"
    );
    assert_eq!(s.state_name(), "MAIL");
    assert_eq!(
        say(&mut s, &mut b, "RCPT TO:<bob@hamburger.edu>\r\n"),
        "250 2.1.5 Ok\r\n"
    );
    assert_eq!(s.state_name(), "RCPT");
    assert_eq!(
        say(&mut s, &mut b, "DATA\r\n"),
        "354 End data with <CR><LF>.<CR><LF>\r\n"
    );
    assert_eq!(s.state_name(), "DATA");
    assert_eq!(say(&mut s, &mut b, "Do you like ketchup?\r\n"), "");
    assert_eq!(
        say(&mut s, &mut b, "..How about pickles?\r\n.\r\n"),
        "250 2.0.0 Ok: queued as Q1\r\n"
    );
    assert_eq!(
        say(&mut s, &mut b, "QUIT\r\n"),
        "221 2.0.0 mail.hamburger.edu closing connection\r\n"
    );
    assert!(s.wants_close());
    assert_eq!(s.state_name(), "CLOSED");

    let m = &b.accepted[0];
    assert_eq!(m.queue_id, "Q1");
    assert_eq!(
        m.reverse_path.as_ref().unwrap().to_string(),
        "alice@crepes.fr"
    );
    assert_eq!(m.recipients[0].to_string(), "bob@hamburger.edu");
    assert_eq!(m.helo, "crepes.fr");
    assert_eq!(m.client_addr, CLIENT);
    assert_eq!(m.auth_user, None);
    assert_eq!(m.received_at, NOW);
    assert_eq!(
        String::from_utf8(m.data.clone()).unwrap(),
        "Received: from crepes.fr ([10.0.1.2]) by mail.hamburger.edu with ESMTP id Q1; \
         Mon, 02 Mar 2026 14:05:09 +0000\r\n\
         Do you like ketchup?\r\n\
         .How about pickles?\r\n"
    );

    // The transcript has both directions in order.
    let mut t = Vec::new();
    while let Some(line) = s.poll_transcript() {
        t.push(line);
    }
    assert_eq!(
        t[0],
        Transcript::Reply {
            code: Some(220),
            text: "220 mail.hamburger.edu ESMTP wiretale".into()
        }
    );
    assert_eq!(t[1], Transcript::Command("EHLO crepes.fr".into()));
    assert!(t.contains(&Transcript::Data("..How about pickles?".into())));
    assert!(t.contains(&Transcript::Data(".".into())));
    assert_eq!(
        t.last(),
        Some(&Transcript::Reply {
            code: Some(221),
            text: "221 2.0.0 mail.hamburger.edu closing connection".into()
        })
    );
}

const SCRIPT: &str = "EHLO crepes.fr\r\nMAIL FROM:<alice@crepes.fr>\r\nRCPT TO:<bob@hamburger.edu>\r\n\
                      RCPT TO:<nobody@hamburger.edu>\r\nDATA\r\nSubject: hi\r\n\r\n..\r\n.\r\nQUIT\r\n";

fn run_script_in_pieces(pieces: &[&[u8]]) -> (String, Vec<ReceivedMessage>) {
    let mut b = TestBackend::hamburger();
    let mut s = server(SmtpConfig::new("mail.hamburger.edu"));
    for piece in pieces {
        s.handle_input(piece, &mut b, NOW);
    }
    (output(&mut s), b.accepted)
}

#[test]
fn pipelined_and_byte_by_byte_input_give_the_same_dialogue() {
    let whole = run_script_in_pieces(&[SCRIPT.as_bytes()]);
    let bytes: Vec<&[u8]> = SCRIPT.as_bytes().chunks(1).collect();
    let one_by_one = run_script_in_pieces(&bytes);
    assert_eq!(whole, one_by_one);
    let (out, accepted) = whole;
    assert!(out.contains(
        "550 5.1.1 <nobody@hamburger.edu>: Recipient address rejected: User unknown\r\n"
    ));
    assert!(out.ends_with(
        "250 2.0.0 Ok: queued as Q1\r\n221 2.0.0 mail.hamburger.edu closing connection\r\n"
    ));
    assert_eq!(accepted.len(), 1);
    assert_eq!(accepted[0].recipients.len(), 1);
    let data = String::from_utf8(accepted[0].data.clone()).unwrap();
    assert!(data.ends_with("\r\nSubject: hi\r\n\r\n.\r\n"), "{data}");
}

#[test]
fn commands_out_of_sequence_get_503() {
    let mut b = TestBackend::hamburger();
    let mut s = server(SmtpConfig::new("mail.hamburger.edu"));
    output(&mut s);
    assert_eq!(
        say(&mut s, &mut b, "MAIL FROM:<alice@crepes.fr>\r\n"),
        "503 5.5.1 Send EHLO/HELO first\r\n"
    );
    assert_eq!(
        say(&mut s, &mut b, "HELO crepes.fr\r\n"),
        "250 mail.hamburger.edu Hello crepes.fr\r\n"
    );
    assert_eq!(
        say(&mut s, &mut b, "RCPT TO:<bob@hamburger.edu>\r\n"),
        "503 5.5.1 Need MAIL command\r\n"
    );
    assert_eq!(
        say(&mut s, &mut b, "DATA\r\n"),
        "503 5.5.1 Need MAIL command\r\n"
    );
    say(&mut s, &mut b, "MAIL FROM:<>\r\n");
    assert_eq!(
        say(&mut s, &mut b, "DATA\r\n"),
        "503 5.5.1 Need RCPT command\r\n"
    );
    assert_eq!(
        say(&mut s, &mut b, "MAIL FROM:<alice@crepes.fr>\r\n"),
        "503 5.5.1 Nested MAIL command\r\n"
    );
    assert_eq!(say(&mut s, &mut b, "RSET\r\n"), "250 2.0.0 Ok\r\n");
    assert_eq!(s.state_name(), "READY");
}

#[test]
fn miscellaneous_commands() {
    let mut b = TestBackend::hamburger();
    let mut s = greeted(SmtpConfig::new("mail.hamburger.edu"), &mut b);
    assert_eq!(
        say(&mut s, &mut b, "VRFY bob\r\n"),
        "252 2.5.0 Cannot VRFY user, but will accept message and attempt delivery\r\n"
    );
    assert_eq!(
        say(&mut s, &mut b, "EXPN staff\r\nTURN\r\n"),
        "502 5.5.1 Command not implemented\r\n502 5.5.1 Command not implemented\r\n"
    );
    assert_eq!(
        say(&mut s, &mut b, "WIBBLE\r\n"),
        "500 5.5.2 Command unrecognized\r\n"
    );
    assert_eq!(say(&mut s, &mut b, "noop\r\n"), "250 2.0.0 Ok\r\n");
    assert!(say(&mut s, &mut b, "HELP\r\n").starts_with("214 2.0.0 Commands:"));
    assert_eq!(
        say(&mut s, &mut b, "MAIL FROM:<alice>\r\n"),
        "501 5.1.7 Bad sender address syntax\r\n"
    );
    // RFC 5321 §4.1.1.3: <Postmaster> must always be accepted.
    say(&mut s, &mut b, "MAIL FROM:<>\r\n");
    assert_eq!(
        say(&mut s, &mut b, "RCPT TO:<Postmaster>\r\n"),
        "250 2.1.5 Ok\r\n"
    );
}

#[test]
fn no_open_relay() {
    let mut b = TestBackend::hamburger();
    let mut s = greeted(SmtpConfig::new("mail.hamburger.edu"), &mut b);
    say(&mut s, &mut b, "MAIL FROM:<spammer@example.com>\r\n");
    assert_eq!(
        say(&mut s, &mut b, "RCPT TO:<victim@elsewhere.org>\r\n"),
        "550 5.7.1 <victim@elsewhere.org>: Relay access denied\r\n"
    );
    assert_eq!(say(&mut s, &mut b, "RSET\r\n"), "250 2.0.0 Ok\r\n");
    // After AUTH the same recipient is fine (the server will relay it).
    let auth = format!("AUTH PLAIN {}\r\n", encode_plain("bob", "bobpw"));
    assert_eq!(
        say(&mut s, &mut b, &auth),
        "235 2.7.0 Authentication successful\r\n"
    );
    say(&mut s, &mut b, "MAIL FROM:<bob@hamburger.edu>\r\n");
    assert_eq!(
        say(&mut s, &mut b, "RCPT TO:<alice@crepes.fr>\r\n"),
        "250 2.1.5 Ok\r\n"
    );
    say(&mut s, &mut b, "DATA\r\nhello\r\n.\r\n");
    assert_eq!(b.accepted[0].auth_user.as_deref(), Some("bob"));
    assert!(
        String::from_utf8_lossy(&b.accepted[0].data).contains("with ESMTPA id Q1;"),
        "authenticated sessions are marked ESMTPA"
    );

    // A backend may trust the client's network instead.
    let mut b = TestBackend::hamburger();
    b.relay_ok = true;
    let mut s = greeted(SmtpConfig::new("mail.hamburger.edu"), &mut b);
    say(&mut s, &mut b, "MAIL FROM:<bob@hamburger.edu>\r\n");
    assert_eq!(
        say(&mut s, &mut b, "RCPT TO:<alice@crepes.fr>\r\n"),
        "250 2.1.5 Ok\r\n"
    );
}

#[test]
fn auth_plain_both_forms_and_failures() {
    let mut b = TestBackend::hamburger();
    let mut s = greeted(SmtpConfig::submission("mail.hamburger.edu"), &mut b);
    assert_eq!(
        say(&mut s, &mut b, "MAIL FROM:<bob@hamburger.edu>\r\n"),
        "530 5.7.0 Authentication required\r\n"
    );
    assert_eq!(
        say(&mut s, &mut b, "AUTH CRAM-MD5\r\n"),
        "504 5.5.4 Unrecognized authentication mechanism\r\n"
    );
    assert_eq!(say(&mut s, &mut b, "AUTH PLAIN\r\n"), "334 \r\n");
    assert_eq!(s.state_name(), "AUTH-CONTINUE");
    assert_eq!(
        say(&mut s, &mut b, "*\r\n"),
        "501 5.7.0 Authentication cancelled\r\n"
    );
    assert_eq!(s.state_name(), "READY");
    let wrong = format!("AUTH PLAIN {}\r\n", encode_plain("bob", "guess"));
    assert_eq!(
        say(&mut s, &mut b, &wrong),
        "535 5.7.8 Authentication credentials invalid\r\n"
    );
    assert_eq!(
        say(&mut s, &mut b, "AUTH PLAIN !!!!\r\n"),
        "501 5.5.2 Cannot decode response\r\n"
    );
    say(&mut s, &mut b, "AUTH PLAIN\r\n");
    let right = format!("{}\r\n", encode_plain("bob", "bobpw"));
    assert_eq!(
        say(&mut s, &mut b, &right),
        "235 2.7.0 Authentication successful\r\n"
    );
    assert_eq!(s.auth_user(), Some("bob"));
    assert_eq!(
        say(&mut s, &mut b, "AUTH PLAIN\r\n"),
        "503 5.5.1 Already authenticated\r\n"
    );
    assert_eq!(
        say(&mut s, &mut b, "MAIL FROM:<bob@hamburger.edu>\r\n"),
        "250 2.1.0 Ok\r\n"
    );
}

/// AUTH LOGIN, as mail programs send it: "334 Username:", then
/// "334 Password:" (base64 both ways), with or without the username on
/// the command line; "*" cancels at either step.
#[test]
fn auth_login_asks_for_the_username_then_the_password() {
    let b64 = |s: &str| base64_encode(s.as_bytes());
    let mut b = TestBackend::hamburger();
    let mut s = greeted(SmtpConfig::submission("mail.hamburger.edu"), &mut b);
    let ehlo = say(&mut s, &mut b, "EHLO pc\r\n");
    assert!(ehlo.contains("250-AUTH PLAIN LOGIN\r\n"), "{ehlo}");
    // Wrong password, then cancelled at each step.
    assert_eq!(
        say(&mut s, &mut b, "AUTH LOGIN\r\n"),
        "334 VXNlcm5hbWU6\r\n"
    );
    assert_eq!(s.state_name(), "AUTH-CONTINUE");
    assert_eq!(
        say(&mut s, &mut b, &format!("{}\r\n", b64("bob"))),
        "334 UGFzc3dvcmQ6\r\n"
    );
    assert_eq!(s.state_name(), "AUTH-CONTINUE");
    assert_eq!(
        say(&mut s, &mut b, &format!("{}\r\n", b64("guess"))),
        "535 5.7.8 Authentication credentials invalid\r\n"
    );
    assert_eq!(s.state_name(), "READY");
    say(&mut s, &mut b, "AUTH LOGIN\r\n");
    assert_eq!(
        say(&mut s, &mut b, "*\r\n"),
        "501 5.7.0 Authentication cancelled\r\n"
    );
    say(&mut s, &mut b, &format!("AUTH LOGIN {}\r\n", b64("bob")));
    assert_eq!(
        say(&mut s, &mut b, "*\r\n"),
        "501 5.7.0 Authentication cancelled\r\n"
    );
    assert_eq!(
        say(&mut s, &mut b, "AUTH LOGIN !!!\r\n"),
        "501 5.5.2 Cannot decode response\r\n"
    );
    assert_eq!(s.auth_user(), None);
    // The username on the command line: only the password is asked for.
    assert_eq!(
        say(&mut s, &mut b, &format!("auth login {}\r\n", b64("bob"))),
        "334 UGFzc3dvcmQ6\r\n"
    );
    assert_eq!(
        say(&mut s, &mut b, &format!("{}\r\n", b64("bobpw"))),
        "235 2.7.0 Authentication successful\r\n"
    );
    assert_eq!(s.auth_user(), Some("bob"));
    assert_eq!(
        say(&mut s, &mut b, "MAIL FROM:<bob@hamburger.edu>\r\n"),
        "250 2.1.0 Ok\r\n"
    );
}

#[test]
fn size_limits() {
    let mut b = TestBackend::hamburger();
    let mut config = SmtpConfig::new("mail.hamburger.edu");
    config.max_message_size = 100;
    let mut s = greeted(config, &mut b);
    assert_eq!(
        say(&mut s, &mut b, "MAIL FROM:<alice@crepes.fr> SIZE=101\r\n"),
        "552 5.3.4 Message size exceeds fixed maximum message size\r\n"
    );
    say(&mut s, &mut b, "MAIL FROM:<alice@crepes.fr> SIZE=100\r\n");
    say(&mut s, &mut b, "RCPT TO:<bob@hamburger.edu>\r\nDATA\r\n");
    let body = "0123456789\r\n".repeat(9); // 108 octets
    assert_eq!(
        say(&mut s, &mut b, &format!("{body}.\r\n")),
        "552 5.3.4 Message size exceeds fixed maximum message size\r\n"
    );
    assert!(b.accepted.is_empty());
    assert_eq!(s.state_name(), "READY");
}

#[test]
fn over_long_lines_are_refused() {
    let mut b = TestBackend::hamburger();
    let mut s = greeted(SmtpConfig::new("mail.hamburger.edu"), &mut b);
    let long = format!("NOOP {}\r\n", "x".repeat(995)); // 1001 octets with CRLF
    assert_eq!(say(&mut s, &mut b, &long), "500 5.5.2 Line too long\r\n");
    let fits = format!("NOOP {}\r\n", "x".repeat(993)); // exactly 1000
    assert_eq!(say(&mut s, &mut b, &fits), "250 2.0.0 Ok\r\n");
    say(
        &mut s,
        &mut b,
        "MAIL FROM:<a@crepes.fr>\r\nRCPT TO:<bob@hamburger.edu>\r\nDATA\r\n",
    );
    let long_text = format!("{}\r\n.\r\n", "y".repeat(2000));
    assert_eq!(
        say(&mut s, &mut b, &long_text),
        "500 5.5.2 Line too long\r\n"
    );
    assert!(b.accepted.is_empty());
}

#[test]
fn backend_refusal_and_helo_protocol() {
    let mut b = TestBackend::hamburger();
    b.refuse_with = Some(Reply::new(452, "4.2.2 Mailbox full"));
    let mut s = server(SmtpConfig::new("mail.hamburger.edu"));
    output(&mut s);
    let out = say(
        &mut s,
        &mut b,
        "HELO crepes.fr\r\nMAIL FROM:<a@crepes.fr>\r\nRCPT TO:<bob@hamburger.edu>\r\nDATA\r\nx\r\n.\r\n",
    );
    assert!(out.ends_with("452 4.2.2 Mailbox full\r\n"), "{out}");
    b.refuse_with = None;
    say(
        &mut s,
        &mut b,
        "MAIL FROM:<a@crepes.fr>\r\nRCPT TO:<bob@hamburger.edu>\r\nDATA\r\nx\r\n.\r\n",
    );
    assert!(String::from_utf8_lossy(&b.accepted[0].data).contains(" with SMTP id Q2;"));
}

#[test]
fn too_many_errors_closes_with_421() {
    let mut b = TestBackend::hamburger();
    let mut s = greeted(SmtpConfig::new("mail.hamburger.edu"), &mut b);
    let out = say(&mut s, &mut b, &"BOGUS\r\n".repeat(25));
    assert_eq!(out.matches("500 5.5.2").count(), 20);
    assert!(out.ends_with("421 4.7.0 mail.hamburger.edu Too many errors, closing connection\r\n"));
    assert!(s.wants_close());
    assert_eq!(say(&mut s, &mut b, "NOOP\r\n"), "");
}

#[test]
fn dropped_connection_discards_the_transaction() {
    let mut b = TestBackend::hamburger();
    let mut s = greeted(SmtpConfig::new("mail.hamburger.edu"), &mut b);
    say(
        &mut s,
        &mut b,
        "MAIL FROM:<a@crepes.fr>\r\nRCPT TO:<bob@hamburger.edu>\r\nDATA\r\nhalf a mess",
    );
    s.handle_close();
    assert!(s.wants_close());
    assert!(b.accepted.is_empty());
}

#[test]
fn transcript_of_a_long_body_is_capped() {
    let mut b = TestBackend::hamburger();
    let mut s = greeted(SmtpConfig::new("mail.hamburger.edu"), &mut b);
    say(
        &mut s,
        &mut b,
        "MAIL FROM:<a@crepes.fr>\r\nRCPT TO:<bob@hamburger.edu>\r\nDATA\r\n",
    );
    while s.poll_transcript().is_some() {}
    say(&mut s, &mut b, &format!("{}.\r\n", "line\r\n".repeat(80)));
    let t: Vec<Transcript> = std::iter::from_fn(|| s.poll_transcript()).collect();
    assert_eq!(t.len(), 50 + 3);
    assert_eq!(t[50], Transcript::Data("(... 30 more lines)".into()));
    assert_eq!(t[51], Transcript::Data(".".into()));
    assert_eq!(b.accepted.len(), 1);
}

// ---- client --------------------------------------------------------------

fn client_config(credentials: bool) -> SmtpClientConfig {
    SmtpClientConfig {
        starttls: false,
        ehlo_name: "crepes.fr".into(),
        credentials: credentials.then(|| Credentials {
            username: "bob".into(),
            password: "bobpw".into(),
        }),
    }
}

fn message(recipients: &[&str], data: &str) -> OutgoingMessage {
    OutgoingMessage {
        reverse_path: "alice@crepes.fr".into(),
        recipients: recipients.iter().map(|r| r.to_string()).collect(),
        data: data.as_bytes().to_vec(),
    }
}

/// Pumps bytes both ways until neither side has anything to say; then
/// closes the connection if either side wants to.
fn run(c: &mut SmtpClient, s: &mut SmtpServer, b: &mut TestBackend) {
    loop {
        let mut progressed = false;
        while let Some(bytes) = s.poll_output() {
            c.handle_input(&bytes);
            progressed = true;
        }
        while let Some(bytes) = c.poll_output() {
            s.handle_input(&bytes, b, NOW);
            progressed = true;
        }
        if !progressed {
            break;
        }
    }
    if s.wants_close() {
        c.handle_close();
    }
}

#[test]
fn client_delivers_several_messages_and_records_each_recipient() {
    let mut b = TestBackend::hamburger();
    let mut s = server(SmtpConfig::new("mail.hamburger.edu"));
    let mut c = SmtpClient::new(
        client_config(false),
        vec![
            message(
                &[
                    "bob@hamburger.edu",
                    "nobody@hamburger.edu",
                    "x@elsewhere.org",
                ],
                "Subject: one\n\n.leading dot\nend\n",
            ),
            message(&["nobody@hamburger.edu"], "Subject: two\n\nnobody\n"),
            message(&["carol@hamburger.edu"], "Subject: three\r\n\r\nhi\r\n"),
        ],
    );
    assert_eq!(c.state_name(), "GREETING");
    run(&mut c, &mut s, &mut b);
    assert_eq!(c.outcome(), &SessionOutcome::Completed);
    assert!(c.wants_close() && s.wants_close());
    assert_eq!(c.server_max_size(), Some(10_485_760));

    let r = c.reports();
    assert_eq!(r[0].outcome(), MessageOutcome::PartiallyDelivered);
    assert_eq!(r[0].recipients[0].status, RecipientStatus::Accepted);
    let RecipientStatus::PermFailed(reply) = &r[0].recipients[1].status else {
        panic!("{:?}", r[0].recipients[1])
    };
    assert_eq!(reply.code, 550);
    assert!(
        matches!(&r[0].recipients[2].status, RecipientStatus::PermFailed(r) if r.text().contains("Relay access denied"))
    );
    assert_eq!(
        r[0].final_reply.as_ref().unwrap().text(),
        "2.0.0 Ok: queued as Q1"
    );
    assert_eq!(r[1].outcome(), MessageOutcome::PermFailed);
    assert_eq!(r[1].final_reply, None);
    assert_eq!(r[2].outcome(), MessageOutcome::Delivered);

    assert_eq!(b.accepted.len(), 2);
    let data = String::from_utf8(b.accepted[0].data.clone()).unwrap();
    assert!(
        data.ends_with("Subject: one\r\n\r\n.leading dot\r\nend\r\n"),
        "{data}"
    );
    assert_eq!(
        b.accepted[1].recipients[0].to_string(),
        "carol@hamburger.edu"
    );
}

#[test]
fn client_authenticates_on_the_submission_port() {
    let mut b = TestBackend::hamburger();
    let mut s = server(SmtpConfig::submission("mail.hamburger.edu"));
    let mut c = SmtpClient::new(
        client_config(true),
        vec![message(&["alice@crepes.fr"], "Subject: hi\n\nhello\n")],
    );
    run(&mut c, &mut s, &mut b);
    assert_eq!(c.reports()[0].outcome(), MessageOutcome::Delivered);
    assert_eq!(b.accepted[0].auth_user.as_deref(), Some("bob"));

    // Wrong password: 535, QUIT, the message fails for good.
    let mut b = TestBackend::hamburger();
    let mut s = server(SmtpConfig::submission("mail.hamburger.edu"));
    let mut config = client_config(true);
    config.credentials.as_mut().unwrap().password = "nope".into();
    let mut c = SmtpClient::new(config, vec![message(&["alice@crepes.fr"], "x\n")]);
    run(&mut c, &mut s, &mut b);
    assert!(matches!(c.outcome(), SessionOutcome::Failed(r) if r.code == AUTH_INVALID));
    assert_eq!(c.reports()[0].outcome(), MessageOutcome::PermFailed);
    assert!(b.accepted.is_empty());

    // Without credentials the submission server says 530 to MAIL.
    let mut s = server(SmtpConfig::submission("mail.hamburger.edu"));
    let mut c = SmtpClient::new(
        client_config(false),
        vec![message(&["alice@crepes.fr"], "x\n")],
    );
    run(&mut c, &mut s, &mut b);
    assert_eq!(c.outcome(), &SessionOutcome::Completed);
    assert!(
        matches!(&c.reports()[0].recipients[0].status, RecipientStatus::PermFailed(r) if r.code == AUTH_REQUIRED)
    );
}

/// Feeds the client one server line and returns what it sends back.
fn exchange(c: &mut SmtpClient, server_says: &str) -> String {
    c.handle_input(server_says.as_bytes());
    String::from_utf8(c.poll_output().unwrap_or_default()).unwrap()
}

#[test]
fn client_falls_back_to_helo_and_stuffs_dots() {
    let mut c = SmtpClient::new(
        client_config(true),
        vec![message(
            &["bob@hamburger.edu"],
            ".\n..x\nlast line without newline",
        )],
    );
    assert_eq!(
        exchange(&mut c, "220 old.example SMTP\r\n"),
        "EHLO crepes.fr\r\n"
    );
    assert_eq!(exchange(&mut c, "500 what?\r\n"), "HELO crepes.fr\r\n");
    // No EHLO, no AUTH, no SIZE parameter.
    assert_eq!(
        exchange(&mut c, "250 old.example\r\n"),
        "MAIL FROM:<alice@crepes.fr>\r\n"
    );
    assert_eq!(
        exchange(&mut c, "250 ok\r\n"),
        "RCPT TO:<bob@hamburger.edu>\r\n"
    );
    assert_eq!(exchange(&mut c, "250 ok\r\n"), "DATA\r\n");
    assert_eq!(
        exchange(&mut c, "354 go\r\n"),
        "..\r\n...x\r\nlast line without newline\r\n.\r\n"
    );
    assert_eq!(c.state_name(), "BODY");
    assert_eq!(exchange(&mut c, "250 queued\r\n"), "QUIT\r\n");
    assert_eq!(exchange(&mut c, "221 bye\r\n"), "");
    assert!(c.is_finished());
    assert_eq!(c.outcome(), &SessionOutcome::Completed);
}

#[test]
fn client_sends_size_and_8bitmime_when_offered() {
    let mut c = SmtpClient::new(
        client_config(false),
        vec![message(&["bob@hamburger.edu"], "Grüße\n")],
    );
    exchange(&mut c, "220 mail\r\n");
    assert_eq!(
        exchange(&mut c, "250-mail\r\n250-SIZE 1000\r\n250 8BITMIME\r\n"),
        "MAIL FROM:<alice@crepes.fr> SIZE=8 BODY=8BITMIME\r\n"
    );
}

#[test]
fn client_handles_refusals_and_early_close() {
    // A 554 greeting: QUIT at once, everything fails permanently.
    let mut c = SmtpClient::new(client_config(false), vec![message(&["b@h.edu"], "x\n")]);
    assert_eq!(exchange(&mut c, "554 go away\r\n"), "QUIT\r\n");
    c.handle_close();
    assert!(matches!(c.outcome(), SessionOutcome::Failed(r) if r.code == 554));
    assert_eq!(c.reports()[0].outcome(), MessageOutcome::PermFailed);

    // Temporary refusal of DATA, then RSET before the next message.
    let mut c = SmtpClient::new(
        client_config(false),
        vec![message(&["b@h.edu"], "x\n"), message(&["c@h.edu"], "y\n")],
    );
    exchange(&mut c, "220 h\r\n");
    exchange(&mut c, "250 h\r\n");
    exchange(&mut c, "250 ok\r\n");
    exchange(&mut c, "250 ok\r\n");
    assert_eq!(exchange(&mut c, "451 4.3.0 later\r\n"), "RSET\r\n");
    assert_eq!(c.reports()[0].outcome(), MessageOutcome::TempFailed);
    assert_eq!(
        exchange(&mut c, "250 ok\r\n"),
        "MAIL FROM:<alice@crepes.fr>\r\n"
    );
    // The connection drops in the middle of the second message.
    exchange(&mut c, "250 ok\r\n");
    c.handle_close();
    assert!(c.wants_close());
    let RecipientStatus::TempFailed(reply) = &c.reports()[1].recipients[0].status else {
        panic!()
    };
    assert_eq!(reply.code, LOCAL_ERROR);
    assert!(matches!(c.outcome(), SessionOutcome::Failed(r) if r.code == 451));

    // 421 at any point: the server is going away.
    let mut c = SmtpClient::new(client_config(false), vec![message(&["b@h.edu"], "x\n")]);
    exchange(&mut c, "220 h\r\n");
    assert_eq!(exchange(&mut c, "421 4.7.0 shutting down\r\n"), "");
    assert!(c.wants_close());
    assert_eq!(c.reports()[0].outcome(), MessageOutcome::TempFailed);

    // Garbage instead of replies.
    let mut c = SmtpClient::new(client_config(false), vec![message(&["b@h.edu"], "x\n")]);
    exchange(&mut c, "HTTP/1.1 400 Bad Request\r\n");
    assert!(c.wants_close());
    assert_eq!(c.reports()[0].outcome(), MessageOutcome::TempFailed);
}

// ---- property tests ---------------------------------------------------

fn plausible_line() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("EHLO crepes.fr".to_string()),
        Just("HELO crepes.fr".to_string()),
        Just("MAIL FROM:<alice@crepes.fr>".to_string()),
        Just("MAIL FROM:<> SIZE=99999999999".to_string()),
        Just("RCPT TO:<bob@hamburger.edu>".to_string()),
        Just("RCPT TO:<x@elsewhere.org>".to_string()),
        Just("RCPT TO:<postmaster>".to_string()),
        Just("DATA".to_string()),
        Just(".".to_string()),
        Just("..".to_string()),
        Just("RSET".to_string()),
        Just("NOOP".to_string()),
        Just("VRFY bob".to_string()),
        Just("AUTH PLAIN".to_string()),
        Just("AUTH PLAIN AGJvYgBib2Jwdw==".to_string()),
        Just("*".to_string()),
        Just("QUIT".to_string()),
        "[ -~]{0,40}",
        "[A-Z]{4} [<>@:a-z.=0-9 ]{0,30}",
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn server_survives_arbitrary_bytes(chunks in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..300), 0..8)) {
        let mut b = TestBackend::hamburger();
        let mut s = server(SmtpConfig::new("mail.hamburger.edu"));
        for chunk in &chunks {
            s.handle_input(chunk, &mut b, NOW);
            prop_assert!(super::STATES.contains(&s.state_name()));
        }
        while s.poll_transcript().is_some() {}
        s.handle_close();
        prop_assert!(s.wants_close());
    }

    #[test]
    fn server_answers_every_command_or_closes(lines in prop::collection::vec(plausible_line(), 0..30)) {
        let mut b = TestBackend::hamburger();
        let mut s = server(SmtpConfig::new("mail.hamburger.edu"));
        output(&mut s);
        for line in lines {
            let state = s.state_name();
            let out = say(&mut s, &mut b, &format!("{line}\r\n"));
            prop_assert!(super::STATES.contains(&s.state_name()));
            // Outside DATA every line is answered, unless the session is over.
            if state != "DATA" && state != "CLOSED" {
                prop_assert!(!out.is_empty() || s.wants_close(), "no answer to {line:?} in {state}");
            }
            if s.wants_close() {
                prop_assert_eq!(say(&mut s, &mut b, "NOOP\r\n"), "");
            }
        }
    }

    #[test]
    fn client_survives_arbitrary_replies(chunks in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..200), 0..8)) {
        let mut c = SmtpClient::new(client_config(true), vec![message(&["b@h.edu", "c@h.edu"], "x\n")]);
        let mut w = crate::proto::contract::Walk::new("smtp client", super::CLIENT_STATES, super::CLIENT_TRANSITIONS, c.state_name());
        for chunk in &chunks {
            let walked = crate::proto::contract::feed_by_lines(&mut w, chunk, 3, |line| {
                c.handle_input(line);
                c.state_name()
            });
            prop_assert!(walked.is_ok(), "{}", walked.unwrap_err());
        }
        c.handle_close();
        prop_assert!(c.wants_close());
        prop_assert!(w.hung_up(c.state_name()).is_ok());
        prop_assert!(c.reports()[0].outcome() != MessageOutcome::Pending);
    }
}

proptest! {
    /// Replies a server could send, in any order: the client moves only
    /// along the edges of its diagram (`proto::contract`).
    #[test]
    fn client_follows_its_diagram_through_plausible_replies(replies in prop::collection::vec(prop::sample::select(vec![
        "220 mail.h.edu ESMTP\r\n", "250 ok\r\n", "250-mail.h.edu\r\n250-AUTH PLAIN\r\n250 STARTTLS\r\n",
        "354 go ahead\r\n", "221 bye\r\n", "235 ok\r\n", "334 \r\n", "421 closing\r\n",
        "450 later\r\n", "454 no TLS\r\n", "500 what\r\n", "535 no\r\n", "550 no such user\r\n",
        "554 go away\r\n", "garbage\r\n",
    ]), 0..30)) {
        let mut c = SmtpClient::new(client_config(true), vec![message(&["b@h.edu", "c@h.edu"], "x\n"), message(&["d@h.edu"], "y\n")]);
        let mut w = crate::proto::contract::Walk::new("smtp client", super::CLIENT_STATES, super::CLIENT_TRANSITIONS, c.state_name());
        for reply in &replies {
            let walked = crate::proto::contract::feed_by_lines(&mut w, reply.as_bytes(), 3, |line| {
                c.handle_input(line);
                while c.poll_output().is_some() {}
                if c.take_starttls() {
                    c.tls_started();
                }
                c.state_name()
            });
            prop_assert!(walked.is_ok(), "{}", walked.unwrap_err());
        }
    }
}

#[test]
fn only_crlf_dot_crlf_ends_the_data() {
    // "SMTP smuggling": LF . LF inside the text must not end it, or the
    // lines after it would run as commands.
    let mut b = TestBackend::hamburger();
    let mut s = greeted(SmtpConfig::new("mail.hamburger.edu"), &mut b);
    say(
        &mut s,
        &mut b,
        "MAIL FROM:<a@crepes.fr>\r\nRCPT TO:<bob@hamburger.edu>\r\nDATA\r\n",
    );
    let out = say(
        &mut s,
        &mut b,
        "hello\n.\nMAIL FROM:<admin@hamburger.edu>\r\n.\r\nNOOP\r\n",
    );
    assert_eq!(out, "250 2.0.0 Ok: queued as Q1\r\n250 2.0.0 Ok\r\n");
    assert_eq!(b.accepted.len(), 1);
    assert!(
        String::from_utf8_lossy(&b.accepted[0].data)
            .ends_with("hello\n.\nMAIL FROM:<admin@hamburger.edu>\r\n")
    );
}

#[test]
fn a_crlf_split_across_segments_still_ends_a_line() {
    let mut b = TestBackend::hamburger();
    let mut s = greeted(SmtpConfig::new("mail.hamburger.edu"), &mut b);
    say(
        &mut s,
        &mut b,
        "MAIL FROM:<a@crepes.fr>\r\nRCPT TO:<bob@hamburger.edu>\r\nDATA\r\n",
    );
    let long = "z".repeat(1200);
    for piece in ["x\r", "\n.", "\r", "\n", &long, "\r", "\n"] {
        s.handle_input(piece.as_bytes(), &mut b, NOW);
    }
    assert_eq!(
        output(&mut s),
        "250 2.0.0 Ok: queued as Q1\r\n500 5.5.2 Line too long\r\n"
    );
}

#[test]
fn starttls_switches_once_drops_pipelined_commands_and_starts_over() {
    let mut b = TestBackend::hamburger();
    let config = SmtpConfig {
        starttls: true,
        require_tls_for_auth: true,
        ..SmtpConfig::new("mail.hamburger.edu")
    };
    let mut s = greeted(config.clone(), &mut b);
    // Before TLS: STARTTLS offered, AUTH neither offered nor accepted.
    let ehlo = say(&mut s, &mut b, "EHLO crepes.fr\r\n");
    assert!(
        ehlo.contains("250-STARTTLS\r\n") && !ehlo.contains("AUTH"),
        "{ehlo}"
    );
    assert_eq!(
        say(&mut s, &mut b, "AUTH PLAIN AGFsaWNlAHdvbmRlcmxhbmQ=\r\n"),
        "530 5.7.0 Must issue a STARTTLS command first\r\n"
    );
    // An injected command behind STARTTLS is never read.
    assert_eq!(
        say(&mut s, &mut b, "STARTTLS\r\nMAIL FROM:<mallory@evil>\r\n"),
        "220 2.0.0 Ready to start TLS\r\n"
    );
    assert!(s.take_starttls());
    assert!(!s.take_starttls(), "asked once");
    s.tls_started();
    assert!(s.is_secure());
    assert_eq!(s.state_name(), "CONNECTED");
    let ehlo = say(&mut s, &mut b, "EHLO crepes.fr\r\n");
    assert!(
        !ehlo.contains("STARTTLS") && ehlo.contains("AUTH PLAIN LOGIN"),
        "{ehlo}"
    );
    assert_eq!(
        say(&mut s, &mut b, "STARTTLS\r\n"),
        "503 5.5.1 TLS already active\r\n"
    );
    // Without the option, STARTTLS is a command like any unknown one.
    let mut plain = greeted(SmtpConfig::new("mail.hamburger.edu"), &mut b);
    assert_eq!(
        say(&mut plain, &mut b, "STARTTLS\r\n"),
        "502 5.5.1 STARTTLS not available\r\n"
    );
    assert!(!plain.take_starttls());
}
