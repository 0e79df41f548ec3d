//! Scripted sessions of the TELNET server and client, and property tests
//! that feed both arbitrary bytes.

use proptest::prelude::*;

use super::client::*;
use super::server::*;
use super::*;
use crate::apps::vfs::{Account, VPath, Vfs};
use crate::proto::{Session, Transcript};

const REPORT: &str = "Quarterly report\nAll is well.\n";

fn vfs() -> Vfs {
    let mut v = Vfs::new();
    let home = |p: &str| VPath::parse(p).unwrap();
    v.add_user("alice", Account::new("croissant", home("/alice")), 0)
        .unwrap();
    v.add_user("bob", Account::new("hungry", home("/bob")), 0)
        .unwrap();
    v.create_text_file(&home("/alice/report.txt"), REPORT, 0)
        .unwrap();
    v.mkdir_all(&home("/alice/docs"), 0).unwrap();
    v.create_text_file(&home("/alice/docs/plan.txt"), "plan\n", 0)
        .unwrap();
    v.create_text_file(&home("/bob/secret.txt"), "bob's\n", 0)
        .unwrap();
    v
}

fn output(s: &mut TelnetServer) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(bytes) = s.poll_output() {
        out.extend(bytes);
    }
    out
}

/// What the server printed, as a screen shows it.
fn screen(s: &mut TelnetServer) -> String {
    let (text, _) = codec::screen_text(&output(s));
    String::from_utf8_lossy(&text).into_owned()
}

fn say(s: &mut TelnetServer, v: &mut Vfs, input: &[u8]) -> String {
    s.handle_input(input, v);
    screen(s)
}

/// A server whose ECHO and SUPPRESS-GO-AHEAD the client accepted.
fn agreed() -> TelnetServer {
    let mut s = TelnetServer::new(TelnetConfig::new("files"));
    let first = output(&mut s);
    assert!(first.starts_with(b"\xff\xfb\x01\xff\xfb\x03"), "{first:?}");
    s.handle_input(b"\xff\xfd\x01\xff\xfd\x03", &mut vfs());
    assert!(s.echoes());
    assert!(output(&mut s).is_empty(), "agreement is not acknowledged");
    s
}

fn logged_in(v: &mut Vfs) -> TelnetServer {
    let mut s = agreed();
    say(&mut s, v, b"alice\r\ncroissant\r\n");
    assert_eq!(s.state_name(), "SHELL");
    s
}

fn events(s: &mut TelnetServer) -> Vec<TelnetEvent> {
    std::iter::from_fn(|| s.poll_event()).collect()
}

#[test]
fn the_textbook_session() {
    let mut v = vfs();
    let mut s = TelnetServer::new(TelnetConfig::new("files"));
    assert_eq!(s.state_name(), "LOGIN");
    let (text, negotiations) = codec::screen_text(&output(&mut s));
    assert_eq!(
        negotiations,
        vec![(Verb::Will, OPT_ECHO), (Verb::Will, OPT_SUPPRESS_GO_AHEAD)]
    );
    assert_eq!(
        String::from_utf8_lossy(&text),
        "\nwiretale TELNET server on files\n\nfiles login: "
    );
    s.handle_input(b"\xff\xfd\x01\xff\xfd\x03", &mut v);
    // Each key comes back as it is typed.
    for (key, echo) in [(&b"a"[..], "a"), (b"l", "l"), (b"i", "i"), (b"c", "c")] {
        assert_eq!(say(&mut s, &mut v, key), echo);
    }
    assert_eq!(say(&mut s, &mut v, b"e\r\n"), "e\nPassword: ");
    assert_eq!(s.state_name(), "PASSWORD");
    // The password is not echoed: only the line end comes back.
    for key in b"croissant" {
        assert_eq!(say(&mut s, &mut v, &[*key]), "");
    }
    assert_eq!(
        say(&mut s, &mut v, b"\r\0"),
        "\nWelcome to files, alice. Commands: ls, cat, cd, pwd, help, exit.\nalice@files:/$ "
    );
    assert_eq!(s.user(), Some("alice"));
    assert_eq!(
        say(&mut s, &mut v, b"ls\r\n"),
        "ls\ndocs/\nreport.txt\nalice@files:/$ "
    );
    assert_eq!(
        say(&mut s, &mut v, b"cat report.txt\r\n"),
        format!("cat report.txt\n{REPORT}alice@files:/$ ")
    );
    assert_eq!(say(&mut s, &mut v, b"exit\r\n"), "exit\nlogout\n");
    assert!(s.wants_close());
    assert_eq!(s.state_name(), "CLOSED");

    let t: Vec<Transcript> = std::iter::from_fn(|| s.poll_transcript()).collect();
    let reply = |text: &str| Transcript::Reply {
        code: None,
        text: text.into(),
    };
    assert_eq!(t[0], reply("WILL ECHO"));
    assert_eq!(t[1], reply("WILL SUPPRESS-GO-AHEAD"));
    assert_eq!(t[2], reply("wiretale TELNET server on files"));
    assert_eq!(t[3], reply("files login:"));
    assert_eq!(t[4], Transcript::Command("DO ECHO".into()));
    assert_eq!(t[5], Transcript::Command("DO SUPPRESS-GO-AHEAD".into()));
    assert_eq!(t[6], Transcript::Command("alice".into()));
    assert_eq!(t[7], reply("Password:"));
    assert_eq!(t[8], Transcript::Command("croissant".into()));
    assert!(t.contains(&Transcript::Command("cat report.txt".into())));
    assert!(t.contains(&reply("Quarterly report")));
    assert_eq!(t.last(), Some(&reply("logout")));

    let names: Vec<TelnetEvent> = events(&mut s);
    assert_eq!(
        names,
        vec![
            TelnetEvent::Negotiated {
                option: OPT_ECHO,
                side: Side::Local,
                result: OptionResult::Enabled
            },
            TelnetEvent::Negotiated {
                option: OPT_SUPPRESS_GO_AHEAD,
                side: Side::Local,
                result: OptionResult::Enabled
            },
            TelnetEvent::Login {
                user: "alice".into()
            },
            TelnetEvent::PasswordPrompt {
                user: "alice".into()
            },
            TelnetEvent::LoginOk {
                user: "alice".into()
            },
            TelnetEvent::Command {
                user: "alice".into(),
                line: "ls".into(),
                status: 0
            },
            TelnetEvent::Command {
                user: "alice".into(),
                line: "cat report.txt".into(),
                status: 0
            },
            TelnetEvent::Command {
                user: "alice".into(),
                line: "exit".into(),
                status: 0
            },
            TelnetEvent::Logout {
                user: "alice".into()
            },
        ]
    );
}

#[test]
fn every_other_option_is_refused_once() {
    let mut v = vfs();
    let mut s = agreed();
    // A client offering its terminal type, window size and line mode, and
    // asking the server for binary and status.
    s.handle_input(
        b"\xff\xfb\x18\xff\xfb\x1f\xff\xfb\x22\xff\xfd\x00\xff\xfd\x05",
        &mut v,
    );
    assert_eq!(
        output(&mut s),
        b"\xff\xfe\x18\xff\xfe\x1f\xff\xfe\x22\xff\xfc\x00\xff\xfc\x05"
    );
    // Their WONT and DONT in answer are not answered again, nor is a DO
    // for what is on already.
    s.handle_input(b"\xff\xfc\x18\xff\xfe\x00\xff\xfd\x01\xff\xfd\x03", &mut v);
    assert!(output(&mut s).is_empty());
    // The client's SUPPRESS-GO-AHEAD is welcome.
    s.handle_input(b"\xff\xfb\x03", &mut v);
    assert_eq!(output(&mut s), b"\xff\xfd\x03");
    let refused = events(&mut s)
        .into_iter()
        .filter(|e| {
            matches!(
                e,
                TelnetEvent::Negotiated {
                    result: OptionResult::Refused,
                    ..
                }
            )
        })
        .count();
    assert_eq!(refused, 5);
    // A subnegotiation nobody agreed to is skipped, data after it read.
    assert_eq!(say(&mut s, &mut v, b"\xff\xfa\x18\x00vt100\xff\xf0x"), "x");
}

#[test]
fn a_client_that_refuses_echo_echoes_itself() {
    let mut v = vfs();
    let mut s = TelnetServer::new(TelnetConfig::new("files"));
    output(&mut s);
    s.handle_input(b"\xff\xfe\x01\xff\xfe\x03", &mut v);
    assert!(!s.echoes());
    // Nothing is echoed, and with SUPPRESS-GO-AHEAD refused each prompt
    // ends with a Go Ahead (RFC 858).
    let out = {
        s.handle_input(b"alice\r\n", &mut v);
        output(&mut s)
    };
    assert_eq!(out, b"Password: \xff\xf9");
}

#[test]
fn wrong_passwords_and_three_strikes() {
    let mut v = vfs();
    let mut s = agreed();
    assert_eq!(
        say(&mut s, &mut v, b"alice\r\nwrong\r\n"),
        "alice\nPassword: \nLogin incorrect\n\nfiles login: "
    );
    assert_eq!(s.state_name(), "LOGIN");
    // An unknown user is asked for a password all the same.
    assert_eq!(say(&mut s, &mut v, b"mallory\r\n"), "mallory\nPassword: ");
    say(&mut s, &mut v, b"x\r\n");
    assert!(!s.wants_close());
    let last = say(&mut s, &mut v, b"bob\r\ncroissant\r\n");
    assert!(
        last.ends_with("Too many failed logins. Goodbye.\n"),
        "{last}"
    );
    assert!(s.wants_close());
    let failed: Vec<u32> = events(&mut s)
        .into_iter()
        .filter_map(|e| match e {
            TelnetEvent::LoginFailed { attempts, .. } => Some(attempts),
            _ => None,
        })
        .collect();
    assert_eq!(failed, [1, 2, 3]);
    // Nothing more is answered.
    s.handle_input(b"alice\r\n", &mut v);
    assert!(output(&mut s).is_empty());
}

#[test]
fn the_shell_commands_and_their_errors() {
    let mut v = vfs();
    let mut s = logged_in(&mut v);
    screen(&mut s);
    let prompt = "alice@files:/$ ";
    let cases = [
        ("pwd", "/\n"),
        ("cat nope.txt", "cat: nope.txt: No such file or directory\n"),
        ("cat docs", "cat: docs: Is a directory\n"),
        (
            "cat",
            "cat: missing file operand (this shell has no input to copy)\n",
        ),
        (
            "ls nope",
            "ls: cannot access 'nope': No such file or directory\n",
        ),
        ("ls report.txt", "report.txt\n"),
        (
            "ls docs report.txt",
            "docs:\nplan.txt\n\nreport.txt:\nreport.txt\n",
        ),
        ("rm report.txt", "rm: command not found\n"),
        ("help", "Commands: ls, cat, cd, pwd, help, exit.\n"),
        ("cd a b", "cd: too many arguments\n"),
        ("cd report.txt", "cd: report.txt: Not a directory\n"),
        (
            "cat ../bob/secret.txt",
            "cat: ../bob/secret.txt: No such file or directory\n",
        ),
        ("", ""),
    ];
    for (line, want) in cases {
        let got = say(&mut s, &mut v, format!("{line}\r\n").as_bytes());
        assert_eq!(got, format!("{line}\n{want}{prompt}"), "{line}");
    }
    assert_eq!(
        say(&mut s, &mut v, b"cd docs\r\n"),
        "cd docs\nalice@files:/docs$ "
    );
    assert_eq!(
        say(&mut s, &mut v, b"cat plan.txt\r\n"),
        "cat plan.txt\nplan\nalice@files:/docs$ "
    );
    assert_eq!(
        say(&mut s, &mut v, b"cd ../..\r\npwd\r\n"),
        "cd ../..\nalice@files:/$ pwd\n/\nalice@files:/$ "
    );
    let statuses: Vec<(String, u32)> = events(&mut s)
        .into_iter()
        .filter_map(|e| match e {
            TelnetEvent::Command { line, status, .. } => Some((line, status)),
            _ => None,
        })
        .collect();
    assert!(statuses.contains(&("rm report.txt".into(), 127)));
    assert!(statuses.contains(&("ls nope".into(), 2)));
    assert!(statuses.contains(&("cat nope.txt".into(), 1)));
    assert!(statuses.contains(&("pwd".into(), 0)));
}

#[test]
fn line_editing_keys() {
    let mut v = vfs();
    let mut s = logged_in(&mut v);
    screen(&mut s);
    // DEL and BS erase, and the screen is told so.
    assert_eq!(say(&mut s, &mut v, b"pwx\x7f"), "pwx\x08 \x08");
    assert_eq!(say(&mut s, &mut v, b"d\r\n"), "d\n/\nalice@files:/$ ");
    // IAC EC and IAC EL are the same keys in TELNET's words.
    while s.poll_transcript().is_some() {}
    say(&mut s, &mut v, b"catt\xff\xf7 x\xff\xf8pwd\r\n");
    let t: Vec<Transcript> = std::iter::from_fn(|| s.poll_transcript()).collect();
    assert_eq!(t[0], Transcript::Command("pwd".into()), "{t:?}");
    // Ctrl-C and IAC IP drop the line.
    assert_eq!(
        say(&mut s, &mut v, b"cat report.txt\x03"),
        "cat report.txt^C\nalice@files:/$ "
    );
    assert_eq!(say(&mut s, &mut v, b"ls\xff\xf4"), "ls^C\nalice@files:/$ ");
    // IAC AYT is answered, and the line typed so far is shown again.
    assert_eq!(
        say(&mut s, &mut v, b"pw\xff\xf6"),
        "pw\n[Yes]\nalice@files:/$ pw"
    );
    // A line too long rings the bell instead of growing.
    say(&mut s, &mut v, b"\x15");
    let long = vec![b'x'; MAX_LINE + 5];
    let echoed = say(&mut s, &mut v, &long);
    assert_eq!(echoed.matches('\x07').count(), 5);
    // UTF-8 is one character to erase; a data byte 255 is echoed doubled.
    s.handle_input(b"\x15\xc3\xa9\x7f\xff\xff", &mut v);
    let raw = output(&mut s);
    assert!(raw.ends_with(b"\xc3\xa9\x08 \x08\xff\xff"), "{raw:?}");
    // Ctrl-D on an empty line logs out.
    s.handle_input(b"\x15\x04", &mut v);
    assert!(s.wants_close());
}

#[test]
fn ctrl_c_at_the_password_starts_the_login_again() {
    let mut v = vfs();
    let mut s = agreed();
    assert_eq!(
        say(&mut s, &mut v, b"alice\r\ncrois\x03"),
        "alice\nPassword: \nfiles login: "
    );
    assert_eq!(s.state_name(), "LOGIN");
}

#[test]
fn split_and_whole_input_give_the_same_session() {
    let script: &[u8] =
        b"\xff\xfd\x01\xff\xfd\x03\xff\xfb\x18alice\r\ncroissant\r\0ls\r\ncat report.txt\ncd docs\r\nexit\r\n";
    let run = |pieces: Vec<&[u8]>| {
        let mut v = vfs();
        let mut s = TelnetServer::new(TelnetConfig::new("files"));
        let mut out = output(&mut s);
        for p in pieces {
            s.handle_input(p, &mut v);
            out.extend(output(&mut s));
        }
        let t: Vec<Transcript> = std::iter::from_fn(|| s.poll_transcript()).collect();
        (out, t, events(&mut s), s.state_name())
    };
    let whole = run(vec![script]);
    assert_eq!(whole, run(script.chunks(1).collect()));
    assert_eq!(whole, run(script.chunks(3).collect()));
    assert_eq!(whole.3, "CLOSED");
}

#[test]
fn large_output_is_summarised_in_the_transcript() {
    let mut v = vfs();
    let body: String = (0..80).map(|i| format!("line {i}\n")).collect();
    v.create_text_file(&VPath::parse("/alice/long.txt").unwrap(), &body, 0)
        .unwrap();
    let mut s = logged_in(&mut v);
    while s.poll_transcript().is_some() {}
    s.handle_input(b"cat long.txt\r\n", &mut v);
    let t: Vec<Transcript> = std::iter::from_fn(|| s.poll_transcript()).collect();
    assert_eq!(t.len(), 1 + 50 + 1 + 1);
    assert_eq!(
        t[51],
        Transcript::Reply {
            code: None,
            text: "(... 30 more lines)".into()
        }
    );
    // The screen gets all of it.
    assert!(screen(&mut s).contains("line 79\n"));
}

// ---- client ---------------------------------------------------------------

fn config(password: &str, commands: &[&str]) -> TelnetClientConfig {
    TelnetClientConfig {
        user: "alice".into(),
        password: password.into(),
        commands: commands.iter().map(|c| c.to_string()).collect(),
    }
}

/// Runs a client against a server, one keystroke at a time; returns the
/// client's keystrokes as they went out.
fn run(c: &mut TelnetClient, s: &mut TelnetServer, v: &mut Vfs) -> Vec<Vec<u8>> {
    let mut keys = Vec::new();
    loop {
        let mut progressed = false;
        while let Some(bytes) = s.poll_output() {
            c.handle_input(&bytes);
            progressed = true;
        }
        while let Some(bytes) = c.poll_output() {
            s.handle_input(&bytes, v);
            progressed = true;
        }
        if let Some(key) = c.poll_keystroke() {
            s.handle_input(&key, v);
            keys.push(key);
            progressed = true;
        }
        if s.wants_close() || c.wants_close() {
            while let Some(bytes) = s.poll_output() {
                c.handle_input(&bytes);
            }
            c.handle_close();
            s.handle_close();
            break;
        }
        if !progressed {
            break;
        }
    }
    keys
}

#[test]
fn the_client_logs_in_runs_its_commands_and_exits() {
    let mut v = vfs();
    let mut s = TelnetServer::new(TelnetConfig::new("files"));
    let mut c = TelnetClient::new(config("croissant", &["ls", "cat report.txt", "cd docs"]));
    let keys = run(&mut c, &mut s, &mut v);
    assert_eq!(c.error(), None);
    assert!(c.succeeded() && c.logged_in() && c.remote_echo());
    // One keystroke per segment: alice, croissant, the commands, exit,
    // each with its Return.
    let typed = "alice".len() + "croissant".len() + "lscat report.txtcd docsexit".len();
    assert_eq!(keys.len(), typed + 6);
    assert!(keys.iter().all(|k| k.len() == 1 || k == b"\r\n"));
    let outputs = c.outputs();
    assert_eq!(outputs.len(), 3);
    assert_eq!(outputs[0].output, "docs/\nreport.txt\n");
    assert_eq!(outputs[1].command, "cat report.txt");
    assert_eq!(outputs[1].output, REPORT);
    assert_eq!(outputs[2].output, "");
    assert_eq!(c.state_name(), "CLOSED");
}

#[test]
fn the_client_keeps_the_end_of_a_long_output_segment_by_segment() {
    let mut v = vfs();
    let big: String = (0..150_000).map(|i| format!("{i:09}\n")).collect();
    v.create_text_file(&VPath::parse("/alice/big.txt").unwrap(), &big, 0)
        .unwrap();
    let mut s = TelnetServer::new(TelnetConfig::new("files"));
    let mut c = TelnetClient::new(config("croissant", &["cat big.txt"]));
    // As run() does, but the server's output arrives in segments.
    let started = std::time::Instant::now();
    loop {
        let mut progressed = false;
        while let Some(bytes) = s.poll_output() {
            for segment in bytes.chunks(1460) {
                c.handle_input(segment);
            }
            progressed = true;
        }
        while let Some(bytes) = c.poll_output() {
            s.handle_input(&bytes, &mut v);
            progressed = true;
        }
        if let Some(key) = c.poll_keystroke() {
            s.handle_input(&key, &mut v);
            progressed = true;
        }
        if !progressed || s.wants_close() {
            break;
        }
    }
    assert!(started.elapsed() < std::time::Duration::from_secs(20));
    let out = &c.outputs()[0].output;
    assert!(big.len() > MAX_SCREEN);
    assert!(
        out.len() <= MAX_SCREEN && out.len() > MAX_SCREEN / 3,
        "{}",
        out.len()
    );
    assert!(out.ends_with("000149999\n"));
}

#[test]
fn the_client_reports_a_refused_login() {
    let mut v = vfs();
    let mut s = TelnetServer::new(TelnetConfig::new("files"));
    let mut c = TelnetClient::new(config("wrong", &["ls"]));
    run(&mut c, &mut s, &mut v);
    assert_eq!(
        c.error(),
        Some(&TelnetClientError::LoginRefused("Login incorrect".into()))
    );
    assert!(!c.logged_in() && !c.succeeded());
    assert!(c.wants_close());
}

#[test]
fn the_client_stops_at_an_exit_in_its_commands() {
    let mut v = vfs();
    let mut s = TelnetServer::new(TelnetConfig::new("files"));
    let mut c = TelnetClient::new(config("croissant", &["pwd", "logout", "ls"]));
    run(&mut c, &mut s, &mut v);
    assert!(c.succeeded());
    assert_eq!(c.outputs().len(), 1);
    assert_eq!(c.outputs()[0].output, "/\n");
}

#[test]
fn the_client_refuses_what_it_does_not_know_and_notices_an_early_close() {
    let mut c = TelnetClient::new(config("croissant", &[]));
    c.handle_input(b"\xff\xfd\x18\xff\xfb\x01\xff\xfd\x03");
    assert_eq!(
        c.poll_output(),
        Some(b"\xff\xfc\x18\xff\xfd\x01\xff\xfb\x03".to_vec())
    );
    c.handle_input(b"host login: ");
    assert_eq!(c.poll_keystroke(), Some(b"a".to_vec()));
    c.handle_close();
    assert_eq!(c.error(), Some(&TelnetClientError::ConnectionClosed));
    assert_eq!(c.poll_keystroke(), None);
}

// ---- property tests ------------------------------------------------------

fn plausible_input() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        Just(b"alice\r\n".to_vec()),
        Just(b"croissant\r\n".to_vec()),
        Just(b"wrong\r\0".to_vec()),
        Just(b"ls\r\n".to_vec()),
        Just(b"cat report.txt\r\n".to_vec()),
        Just(b"cd docs\r\n".to_vec()),
        Just(b"exit\r\n".to_vec()),
        Just(b"\xff\xfd\x01".to_vec()),
        Just(b"\xff\xfe\x01".to_vec()),
        Just(b"\xff\xfb\x18".to_vec()),
        Just(b"\xff\xfa\x18\x01".to_vec()),
        Just(b"\xff\xf0".to_vec()),
        Just(b"\xff\xf4".to_vec()),
        Just(b"\x7f\x03\x04\x15".to_vec()),
        prop::collection::vec(any::<u8>(), 0..40),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn server_survives_arbitrary_bytes(chunks in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..300), 0..8)) {
        let mut v = vfs();
        let mut s = TelnetServer::new(TelnetConfig::new("h"));
        for chunk in &chunks {
            s.handle_input(chunk, &mut v);
            prop_assert!(super::STATES.contains(&s.state_name()));
            while s.poll_output().is_some() {}
        }
        s.handle_close();
        prop_assert!(s.wants_close());
    }

    #[test]
    fn server_answers_negotiation_at_most_once_per_request(pieces in prop::collection::vec(plausible_input(), 0..40)) {
        let mut v = vfs();
        let mut s = TelnetServer::new(TelnetConfig::new("h"));
        output(&mut s);
        let (mut sent, mut received) = (Decoder::new(), Decoder::new());
        let (mut requests, mut replies) = (0, 0);
        let negotiations = |items: Vec<(usize, Item)>| {
            items.iter().filter(|(_, i)| matches!(i, Item::Negotiation(..))).count()
        };
        for piece in &pieces {
            s.handle_input(piece, &mut v);
            let out = output(&mut s);
            prop_assert!(super::STATES.contains(&s.state_name()));
            // Whatever the client says, every negotiation the server sends
            // answers one the client sent: never more replies than requests.
            requests += negotiations(sent.decode(piece));
            replies += negotiations(received.decode(&out));
            prop_assert!(replies <= requests, "{:?} -> {:?}", piece, out);
        }
    }

    #[test]
    fn client_survives_arbitrary_bytes(chunks in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..200), 0..8)) {
        let mut c = TelnetClient::new(config("croissant", &["ls"]));
        c.handle_input(b"login: ");
        let mut w = crate::proto::contract::Walk::new("telnet client", CLIENT_STATES, super::CLIENT_TRANSITIONS, c.state_name());
        for chunk in &chunks {
            // A prompt is not a line: the client is walked after each
            // piece that ends at LF, within a few edges.
            let walked = crate::proto::contract::feed_by_lines(&mut w, chunk, 4, |piece| {
                c.handle_input(piece);
                while c.poll_keystroke().is_some() {}
                while c.poll_output().is_some() {}
                c.state_name()
            });
            prop_assert!(walked.is_ok(), "{}", walked.unwrap_err());
        }
        c.handle_close();
        prop_assert!(c.wants_close());
    }
}
