//! Scripted dialogues for the POP3 server and client, and property tests.

use std::collections::{BTreeMap, BTreeSet};

use proptest::prelude::*;

use super::client::*;
use super::server::*;
use crate::proto::{Session, Transcript};

#[derive(Default)]
struct Store {
    passwords: BTreeMap<String, String>,
    maildrops: BTreeMap<String, Vec<MaildropMessage>>,
    locked: BTreeSet<String>,
}

impl Store {
    fn bob() -> Store {
        let messages = vec![
            MaildropMessage {
                uid: "u-1".into(),
                data: b"Subject: one\r\n\r\nDo you like ketchup?\r\n.hidden dot\r\n".to_vec(),
            },
            MaildropMessage {
                uid: "u-2".into(),
                data: b"Subject: two\r\nFrom: alice@crepes.fr\r\n\r\nl1\r\nl2\r\nl3\r\n".to_vec(),
            },
        ];
        Store {
            passwords: [("bob".to_string(), "hungry".to_string())].into(),
            maildrops: [("bob".to_string(), messages)].into(),
            locked: BTreeSet::new(),
        }
    }
}

impl Pop3Backend for Store {
    fn check_password(&mut self, user: &str, password: &str) -> bool {
        self.passwords.get(user).is_some_and(|p| p == password)
    }
    fn lock_maildrop(&mut self, user: &str) -> bool {
        self.locked.insert(user.to_string())
    }
    fn unlock_maildrop(&mut self, user: &str) {
        self.locked.remove(user);
    }
    fn maildrop(&mut self, user: &str) -> Vec<MaildropMessage> {
        self.maildrops.get(user).cloned().unwrap_or_default()
    }
    fn delete_messages(&mut self, user: &str, uids: &[String]) -> Result<(), DeleteError> {
        if let Some(drop) = self.maildrops.get_mut(user) {
            drop.retain(|m| !uids.contains(&m.uid));
        }
        Ok(())
    }
}

fn output(s: &mut Pop3Server) -> String {
    let mut out = Vec::new();
    while let Some(bytes) = s.poll_output() {
        out.extend(bytes);
    }
    String::from_utf8(out).unwrap()
}

fn say(s: &mut Pop3Server, store: &mut Store, input: &str) -> String {
    s.handle_input(input.as_bytes(), store);
    output(s)
}

fn new_server() -> Pop3Server {
    let mut s = Pop3Server::new(Pop3Config::new("mail.hamburger.edu"));
    assert_eq!(
        output(&mut s),
        "+OK mail.hamburger.edu POP3 server ready\r\n"
    );
    s
}

fn logged_in(store: &mut Store) -> Pop3Server {
    let mut s = new_server();
    say(&mut s, store, "USER bob\r\nPASS hungry\r\n");
    assert_eq!(s.state_name(), "TRANSACTION");
    s
}

#[test]
fn the_textbook_dialogue() {
    let mut store = Store::bob();
    let mut s = new_server();
    assert_eq!(s.state_name(), "AUTHORIZATION");
    assert_eq!(say(&mut s, &mut store, "user bob\r\n"), "+OK send PASS\r\n");
    assert_eq!(
        say(&mut s, &mut store, "pass hungry\r\n"),
        "+OK maildrop has 2 messages (102 octets)\r\n"
    );
    assert!(store.locked.contains("bob"));
    assert_eq!(say(&mut s, &mut store, "STAT\r\n"), "+OK 2 102\r\n");
    assert_eq!(
        say(&mut s, &mut store, "list\r\n"),
        "+OK 2 messages (102 octets)\r\n1 51\r\n2 51\r\n.\r\n"
    );
    assert_eq!(
        say(&mut s, &mut store, "retr 1\r\n"),
        "+OK 51 octets\r\nSubject: one\r\n\r\nDo you like ketchup?\r\n..hidden dot\r\n.\r\n"
    );
    assert_eq!(
        say(&mut s, &mut store, "dele 1\r\n"),
        "+OK message 1 deleted\r\n"
    );
    assert_eq!(
        say(&mut s, &mut store, "quit\r\n"),
        "+OK mail.hamburger.edu POP3 server signing off (1 messages left)\r\n"
    );
    assert!(s.wants_close());
    assert!(!s.holds_lock());
    assert!(store.locked.is_empty());
    assert_eq!(store.maildrops["bob"].len(), 1);
    assert_eq!(store.maildrops["bob"][0].uid, "u-2");

    let t: Vec<Transcript> = std::iter::from_fn(|| s.poll_transcript()).collect();
    assert_eq!(t[1], Transcript::Command("user bob".into()));
    assert!(t.contains(&Transcript::Data("..hidden dot".into())));
    assert!(t.contains(&Transcript::Reply {
        code: None,
        text: "+OK 51 octets".into()
    }));
}

#[test]
fn dropped_connection_deletes_nothing_and_unlocks() {
    let mut store = Store::bob();
    let mut s = logged_in(&mut store);
    say(&mut s, &mut store, "DELE 1\r\nDELE 2\r\n");
    s.handle_close_with(&mut store);
    assert!(s.wants_close());
    assert!(store.locked.is_empty());
    assert_eq!(store.maildrops["bob"].len(), 2);

    // Session::handle_close alone keeps the lock until release().
    let mut s = logged_in(&mut store);
    s.handle_close();
    assert!(store.locked.contains("bob"));
    s.release(&mut store);
    s.release(&mut store);
    assert!(store.locked.is_empty());
}

#[test]
fn a_second_session_finds_the_maildrop_in_use() {
    let mut store = Store::bob();
    let mut first = logged_in(&mut store);
    let mut second = new_server();
    assert_eq!(
        say(&mut second, &mut store, "USER bob\r\nPASS hungry\r\n"),
        "+OK send PASS\r\n-ERR [IN-USE] Maildrop already locked by another session\r\n"
    );
    assert_eq!(second.state_name(), "AUTHORIZATION");
    say(&mut first, &mut store, "QUIT\r\n");
    assert_eq!(
        say(&mut second, &mut store, "USER bob\r\nPASS hungry\r\n"),
        "+OK send PASS\r\n+OK maildrop has 2 messages (102 octets)\r\n"
    );
}

#[test]
fn failed_logins() {
    let mut store = Store::bob();
    let mut s = new_server();
    assert_eq!(
        say(&mut s, &mut store, "PASS hungry\r\n"),
        "-ERR send USER first\r\n"
    );
    assert_eq!(
        say(&mut s, &mut store, "STAT\r\n"),
        "-ERR command not valid in this state\r\n"
    );
    assert_eq!(
        say(&mut s, &mut store, "USER bob\r\nPASS wrong\r\n"),
        "+OK send PASS\r\n-ERR [AUTH] Invalid username or password\r\n"
    );
    say(&mut s, &mut store, "USER eve\r\nPASS x\r\n");
    assert!(!s.wants_close());
    say(&mut s, &mut store, "USER bob\r\nPASS still wrong\r\n");
    assert!(s.wants_close(), "three strikes");
    assert!(store.locked.is_empty());
}

#[test]
fn listing_commands_and_errors() {
    let mut store = Store::bob();
    let mut s = logged_in(&mut store);
    assert_eq!(say(&mut s, &mut store, "LIST 2\r\n"), "+OK 2 51\r\n");
    assert_eq!(
        say(&mut s, &mut store, "UIDL\r\n"),
        "+OK unique-id listing follows\r\n1 u-1\r\n2 u-2\r\n.\r\n"
    );
    assert_eq!(say(&mut s, &mut store, "UIDL 1\r\n"), "+OK 1 u-1\r\n");
    assert_eq!(
        say(&mut s, &mut store, "TOP 2 1\r\n"),
        "+OK top of message follows\r\nSubject: two\r\nFrom: alice@crepes.fr\r\n\r\nl1\r\n.\r\n"
    );
    assert_eq!(
        say(&mut s, &mut store, "TOP 1 0\r\n"),
        "+OK top of message follows\r\nSubject: one\r\n\r\n.\r\n"
    );
    assert_eq!(
        say(&mut s, &mut store, "DELE 1\r\n"),
        "+OK message 1 deleted\r\n"
    );
    assert_eq!(
        say(&mut s, &mut store, "RETR 1\r\n"),
        "-ERR message 1 already deleted\r\n"
    );
    assert_eq!(say(&mut s, &mut store, "STAT\r\n"), "+OK 1 51\r\n");
    assert_eq!(
        say(&mut s, &mut store, "LIST\r\n"),
        "+OK 1 messages (51 octets)\r\n2 51\r\n.\r\n"
    );
    assert_eq!(
        say(&mut s, &mut store, "RSET\r\n"),
        "+OK maildrop has 2 messages (102 octets)\r\n"
    );
    assert_eq!(
        say(&mut s, &mut store, "RETR 3\r\n"),
        "-ERR no such message\r\n"
    );
    assert_eq!(
        say(&mut s, &mut store, "RETR 0\r\n"),
        "-ERR no such message\r\n"
    );
    assert_eq!(
        say(&mut s, &mut store, "RETR x\r\n"),
        "-ERR invalid message number\r\n"
    );
    assert_eq!(
        say(&mut s, &mut store, "RETR 99999999999999999999999\r\n"),
        "-ERR no such message\r\n"
    );
    assert_eq!(
        say(&mut s, &mut store, "RETR\r\n"),
        "-ERR syntax: RETR msg\r\n"
    );
    assert_eq!(
        say(&mut s, &mut store, "TOP 1 x\r\n"),
        "-ERR invalid line count\r\n"
    );
    assert_eq!(say(&mut s, &mut store, "NOOP\r\n"), "+OK\r\n");
    assert_eq!(
        say(&mut s, &mut store, "USER bob\r\n"),
        "-ERR command not valid in this state\r\n"
    );
    assert_eq!(
        say(&mut s, &mut store, "APOP bob x\r\n"),
        "-ERR command not supported\r\n"
    );
    assert_eq!(
        say(&mut s, &mut store, "XYZZY\r\n"),
        "-ERR unknown command\r\n"
    );
    let long = format!("NOOP {}\r\n", "x".repeat(300));
    assert_eq!(say(&mut s, &mut store, &long), "-ERR line too long\r\n");
}

#[test]
fn capa_in_both_states() {
    let mut store = Store::bob();
    let mut s = new_server();
    let capa = "+OK Capability list follows\r\nUSER\r\nTOP\r\nUIDL\r\nRESP-CODES\r\nPIPELINING\r\n\
                IMPLEMENTATION wiretale\r\n.\r\n";
    assert_eq!(say(&mut s, &mut store, "CAPA\r\n"), capa);
    say(&mut s, &mut store, "USER bob\r\nPASS hungry\r\n");
    assert_eq!(say(&mut s, &mut store, "CAPA\r\n"), capa);
}

#[test]
fn pipelined_and_byte_by_byte_input_give_the_same_dialogue() {
    let script = b"CAPA\r\nUSER bob\r\nPASS hungry\r\nSTAT\r\nLIST\r\nUIDL\r\nRETR 1\r\nRETR 2\r\nDELE 1\r\nDELE 2\r\nQUIT\r\n";
    let run = |pieces: Vec<&[u8]>| {
        let mut store = Store::bob();
        let mut s = new_server();
        for p in pieces {
            s.handle_input(p, &mut store);
        }
        (output(&mut s), store.maildrops["bob"].len())
    };
    let whole = run(vec![&script[..]]);
    assert_eq!(whole, run(script.chunks(1).collect()));
    assert_eq!(whole.1, 0);
    assert!(whole.0.ends_with("(0 messages left)\r\n"));
}

#[test]
fn transcript_of_a_long_message_is_capped() {
    let mut store = Store::bob();
    let mut body = b"Subject: long\r\n\r\n".to_vec();
    for i in 0..100 {
        body.extend_from_slice(format!("line {i}\r\n").as_bytes());
    }
    store.maildrops.get_mut("bob").unwrap()[0].data = body;
    let mut s = logged_in(&mut store);
    while s.poll_transcript().is_some() {}
    say(&mut s, &mut store, "RETR 1\r\n");
    let t: Vec<Transcript> = std::iter::from_fn(|| s.poll_transcript()).collect();
    assert_eq!(t.len(), 2 + 50 + 2);
    assert_eq!(t[52], Transcript::Data("(... 52 more lines)".into()));
    assert_eq!(t[53], Transcript::Data(".".into()));
}

// ---- client ---------------------------------------------------------------

fn config(password: &str, mode: RetrievalMode) -> Pop3ClientConfig {
    Pop3ClientConfig {
        user: "bob".into(),
        password: password.into(),
        mode,
        stls: false,
    }
}

fn run(c: &mut Pop3Client, s: &mut Pop3Server, store: &mut Store) {
    loop {
        let mut progressed = false;
        while let Some(bytes) = s.poll_output() {
            c.handle_input(&bytes);
            progressed = true;
        }
        while let Some(bytes) = c.poll_output() {
            s.handle_input(&bytes, store);
            progressed = true;
        }
        if !progressed {
            break;
        }
    }
    if s.wants_close() {
        c.handle_close();
        s.handle_close_with(store);
    }
}

#[test]
fn client_downloads_and_deletes() {
    let mut store = Store::bob();
    let mut s = Pop3Server::new(Pop3Config::new("mail.hamburger.edu"));
    let mut c = Pop3Client::new(config("hungry", RetrievalMode::DownloadAndDelete));
    run(&mut c, &mut s, &mut store);
    assert_eq!(c.error(), None);
    assert!(c.is_finished());
    assert_eq!(c.stat(), Some((2, 102)));
    assert_eq!(c.listing(), &[(1, 51), (2, 51)]);
    assert_eq!(c.messages().len(), 2);
    assert_eq!(c.messages()[0].uid.as_deref(), Some("u-1"));
    assert_eq!(c.messages()[0].data, store_message(0));
    assert!(store.maildrops["bob"].is_empty());
    assert!(store.locked.is_empty());
}

fn store_message(i: usize) -> Vec<u8> {
    Store::bob().maildrops["bob"][i].data.clone()
}

#[test]
fn client_leaves_mail_on_the_server_and_skips_seen_messages() {
    let mut store = Store::bob();
    let mut s = Pop3Server::new(Pop3Config::new("mail.hamburger.edu"));
    let seen: BTreeSet<String> = ["u-1".to_string()].into();
    let mut c = Pop3Client::new(config("hungry", RetrievalMode::LeaveOnServer { seen }));
    run(&mut c, &mut s, &mut store);
    assert_eq!(c.error(), None);
    assert_eq!(c.messages().len(), 1);
    assert_eq!(c.messages()[0].number, 2);
    assert_eq!(c.messages()[0].data, store_message(1));
    assert_eq!(store.maildrops["bob"].len(), 2);
}

#[test]
fn client_reports_refusals() {
    let mut store = Store::bob();
    let mut s = Pop3Server::new(Pop3Config::new("mail.hamburger.edu"));
    let mut c = Pop3Client::new(config("wrong", RetrievalMode::DownloadAndDelete));
    run(&mut c, &mut s, &mut store);
    assert!(matches!(c.error(), Some(Pop3ClientError::LoginRefused(t)) if t.contains("[AUTH]")));
    assert!(c.is_finished());

    let mut holder = Pop3Server::new(Pop3Config::new("mail.hamburger.edu"));
    holder.handle_input(b"USER bob\r\nPASS hungry\r\n", &mut store);
    let mut s = Pop3Server::new(Pop3Config::new("mail.hamburger.edu"));
    let mut c = Pop3Client::new(config("hungry", RetrievalMode::DownloadAndDelete));
    run(&mut c, &mut s, &mut store);
    assert!(matches!(c.error(), Some(Pop3ClientError::MailboxInUse(_))));
    assert!(c.messages().is_empty());
}

#[test]
fn client_notices_an_early_close_and_garbage() {
    let mut c = Pop3Client::new(config("hungry", RetrievalMode::DownloadAndDelete));
    c.handle_input(b"+OK hi\r\n");
    assert_eq!(c.poll_output(), Some(b"USER bob\r\n".to_vec()));
    c.handle_close();
    assert_eq!(c.error(), Some(&Pop3ClientError::ConnectionClosed));

    let mut c = Pop3Client::new(config("hungry", RetrievalMode::DownloadAndDelete));
    c.handle_input(b"220 this is SMTP\r\n");
    assert!(matches!(c.error(), Some(Pop3ClientError::BadResponse(_))));
    assert!(c.wants_close());
}

// ---- property tests ------------------------------------------------------

fn plausible_line() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("USER bob".to_string()),
        Just("PASS hungry".to_string()),
        Just("PASS wrong".to_string()),
        Just("STAT".to_string()),
        Just("LIST".to_string()),
        "LIST [0-9]{1,3}",
        "RETR [0-9x]{0,3}",
        "DELE [0-9]{1,2}",
        "TOP [0-9]{1,2} [0-9]{1,2}",
        Just("UIDL".to_string()),
        Just("RSET".to_string()),
        Just("NOOP".to_string()),
        Just("CAPA".to_string()),
        Just("QUIT".to_string()),
        "[ -~]{0,40}",
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn server_survives_arbitrary_bytes(chunks in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..300), 0..8)) {
        let mut store = Store::bob();
        let mut s = Pop3Server::new(Pop3Config::new("h"));
        for chunk in &chunks {
            s.handle_input(chunk, &mut store);
            prop_assert!(super::STATES.contains(&s.state_name()));
        }
        s.handle_close_with(&mut store);
        prop_assert!(s.wants_close());
        prop_assert!(store.locked.is_empty());
        prop_assert_eq!(store.maildrops["bob"].len(), 2);
    }

    #[test]
    fn server_answers_every_command_or_closes(lines in prop::collection::vec(plausible_line(), 0..30)) {
        let mut store = Store::bob();
        let mut s = Pop3Server::new(Pop3Config::new("h"));
        output(&mut s);
        for line in &lines {
            let closed_before = s.wants_close();
            let out = say(&mut s, &mut store, &format!("{line}\r\n"));
            prop_assert!(super::STATES.contains(&s.state_name()));
            if closed_before {
                prop_assert_eq!(out, "");
            } else {
                prop_assert!(out.starts_with("+OK") || out.starts_with("-ERR"), "{:?} -> {:?}", line, out);
            }
        }
        s.handle_close_with(&mut store);
        prop_assert!(store.locked.is_empty(), "lock released however the session ends");
    }

    #[test]
    fn client_survives_arbitrary_responses(chunks in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..200), 0..8)) {
        let mut c = Pop3Client::new(config("hungry", RetrievalMode::DownloadAndDelete));
        let mut w = crate::proto::contract::Walk::new("pop3 client", super::CLIENT_STATES, super::CLIENT_TRANSITIONS, c.state_name());
        let walked = crate::proto::contract::feed_by_lines(&mut w, b"+OK hi\r\n+OK\r\n+OK\r\n+OK 2 10\r\n+OK\r\n", 3, |line| {
            c.handle_input(line);
            c.state_name()
        });
        prop_assert!(walked.is_ok(), "{}", walked.unwrap_err());
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
    }
}

#[test]
fn stls_switches_and_can_keep_passwords_off_the_clear_wire() {
    let mut store = Store::bob();
    let config = Pop3Config {
        stls: true,
        require_tls_for_login: true,
        ..Pop3Config::new("mail.hamburger.edu")
    };
    let mut s = Pop3Server::new(config);
    output(&mut s);
    let capa = say(&mut s, &mut store, "CAPA\r\n");
    assert!(
        capa.contains("STLS\r\n") && !capa.contains("USER\r\n"),
        "{capa}"
    );
    assert!(say(&mut s, &mut store, "USER bob\r\n").starts_with("-ERR [AUTH] Use STLS first"));
    // A command pipelined behind STLS in the clear is dropped.
    assert_eq!(
        say(&mut s, &mut store, "STLS\r\nUSER bob\r\n"),
        "+OK Begin TLS negotiation\r\n"
    );
    assert!(s.take_starttls());
    s.tls_started();
    let capa = say(&mut s, &mut store, "CAPA\r\n");
    assert!(
        !capa.contains("STLS") && capa.contains("USER\r\n"),
        "{capa}"
    );
    say(&mut s, &mut store, "USER bob\r\nPASS hungry\r\n");
    assert_eq!(s.state_name(), "TRANSACTION");
    assert!(say(&mut s, &mut store, "STLS\r\n").starts_with("-ERR"));
}
