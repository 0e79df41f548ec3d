//! Proptests: arbitrary bytes make neither the server nor the client
//! panic, the client survives plausible server lines, and plausible
//! command sessions, split anywhere, are answered or closed.

use super::*;

/// Commands a client might plausibly send, good and bad.
fn plausible_command() -> impl Strategy<Value = String> {
    let words = prop::sample::select(vec![
        "LOGIN bob hunter2",
        "LOGIN bob wrong",
        "SELECT INBOX",
        "EXAMINE INBOX",
        "SELECT Archive",
        "CREATE Archive",
        "DELETE Archive",
        "RENAME Archive Old",
        "RENAME INBOX Saved",
        "LIST \"\" *",
        "LSUB \"\" %",
        "STATUS INBOX (MESSAGES UNSEEN)",
        "SUBSCRIBE Archive",
        "APPEND INBOX {5+}\r\nhello",
        "APPEND INBOX (\\Seen) {4}\r\nabcd",
        "FETCH 1:* (FLAGS BODY.PEEK[HEADER] ENVELOPE BODYSTRUCTURE)",
        "FETCH 1 BODY[]",
        "FETCH 3 RFC822",
        "UID FETCH 1:* (UID FLAGS)",
        "STORE 1 +FLAGS (\\Deleted)",
        "STORE 1:* -FLAGS.SILENT (\\Seen)",
        "UID STORE 2 FLAGS (\\Flagged)",
        "SEARCH UNSEEN",
        "SEARCH OR FROM alice NOT SEEN",
        "UID SEARCH ALL",
        "COPY 1 Archive",
        "MOVE 1 Archive",
        "EXPUNGE",
        "UID EXPUNGE 1:*",
        "UID EXPUNGE 2,4:5",
        "UID EXPUNGE",
        "UID COPY 1:* Archive",
        "UID MOVE 2 Archive",
        "APPEND Archive {3+}\r\nabc",
        "ID NIL",
        "ID (\"name\" \"x\" \"os\" NIL)",
        "ID (\"name\" {2+}\r\nab)",
        "ID (",
        "NAMESPACE",
        "ENABLE CONDSTORE",
        "CLOSE",
        "UNSELECT",
        "IDLE",
        "DONE",
        "NOOP",
        "CHECK",
        "AUTHENTICATE PLAIN",
        "AGJvYgBodW50ZXIy",
        "*",
        "LOGOUT",
        "FETCH",
        "{3}",
    ]);
    (words, 0u8..3).prop_map(|(w, t)| match t {
        0 => format!("t {w}\r\n"),
        1 => format!("{w}\r\n"),
        _ => format!("x{w}\n"),
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn arbitrary_bytes_never_panic(chunks in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..200), 0..10)) {
        let mut st = store();
        let mut s = ImapServer::new(ImapConfig { max_line: 300, max_literal: 300, ..ImapConfig::default() });
        for chunk in &chunks {
            s.handle_input(chunk, &mut st, NOW);
            while s.poll_output().is_some() {}
            while s.poll_transcript().is_some() {}
        }
        prop_assert!(super::STATES.contains(&s.state_name()));
    }

    #[test]
    fn client_survives_arbitrary_server_bytes(chunks in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..200), 0..10)) {
        let mut client = ImapClient::new(vec![login(), ImapStep::Select(INBOX.into()), ImapStep::Idle, ImapStep::Logout]);
        client.handle_input(b"* OK ready\r\n");
        for chunk in &chunks {
            client.handle_input(chunk);
            client.stop_idle();
            while client.poll_output().is_some() {}
        }
        prop_assert!(super::CLIENT_STATES.contains(&client.state_name()));
    }

    #[test]
    fn client_survives_plausible_server_lines(lines in prop::collection::vec(prop::sample::select(vec![
        "* OK ready\r\n", "* BYE bye\r\n", "+ go\r\n", "+ \r\n",
        "A001 OK done\r\n", "A002 OK [READ-WRITE] ok\r\n", "A003 NO nope\r\n", "A004 BAD what\r\n",
        "A005 OK x\r\n", "A006 OK x\r\n", "* 3 EXISTS\r\n", "* 4000000000 EXISTS\r\n",
        "* 1 EXPUNGE\r\n", "* 4294967295 EXPUNGE\r\n", "* 2 RECENT\r\n", "* SEARCH 1 2 3\r\n",
        "* 4294967295 FETCH (UID 7 FLAGS (\\Seen))\r\n", "* 1 FETCH (FLAGS (\\Deleted \\Recent))\r\n",
        "* 1 FETCH (UID 1 RFC822.SIZE 5 BODY[] {5}\r\nhello)\r\n", "* LIST () \"/\" INBOX\r\n",
        "* CAPABILITY IMAP4rev1 IDLE\r\n", "garbage\r\n", "* 1 FETCH (BODY[] {99999999999}\r\n",
    ]), 0..40)) {
        let mut client = ImapClient::new(vec![
            login(), ImapStep::Select(INBOX.into()), ImapStep::SearchAll,
            ImapStep::Fetch { which: Which::LastSearch, peek: true },
            ImapStep::Idle, ImapStep::Move { which: Which::All, to: "X".into() }, ImapStep::Logout,
        ]);
        let mut w = crate::proto::contract::Walk::new("imap client", super::CLIENT_STATES, super::CLIENT_TRANSITIONS, client.state_name());
        for line in &lines {
            let walked = crate::proto::contract::feed_by_lines(&mut w, line.as_bytes(), 3, |l| {
                client.handle_input(l);
                client.stop_idle();
                while client.poll_output().is_some() {}
                while client.poll_transcript().is_some() {}
                client.state_name()
            });
            prop_assert!(walked.is_ok(), "{}", walked.unwrap_err());
        }
        prop_assert!(super::CLIENT_STATES.contains(&client.state_name()));
        prop_assert!(client.exists() as usize <= 1_000_000);
    }

    #[test]
    fn plausible_sessions_answer_or_close(cmds in prop::collection::vec(plausible_command(), 1..25), split in 1usize..40) {
        let mut st = store();
        let mut a = ImapServer::new(ImapConfig::default());
        let mut b = ImapServer::new(ImapConfig::default());
        send(&mut b, &mut st, "a LOGIN bob hunter2\r\nb SELECT INBOX\r\nc IDLE\r\n");
        drain(&mut a);
        for cmd in &cmds {
            // Split each command at an arbitrary point.
            let bytes = cmd.as_bytes();
            let cut = split.min(bytes.len());
            a.handle_input(&bytes[..cut], &mut st, NOW);
            a.handle_input(&bytes[cut..], &mut st, NOW);
            let answer = drain(&mut a);
            prop_assert!(
                !answer.is_empty()
                    || a.wants_close()
                    || a.is_idling()
                    || a.is_mid_command()
                    || a.state_name() == "AUTHENTICATING",
                "no answer to {:?} in state {}", cmd, a.state_name()
            );
            // The other device, idling, hears about it without panicking.
            b.handle_mailbox_changed(&mut st);
            drain(&mut b);
            prop_assert!(super::STATES.contains(&a.state_name()));
        }
    }
}
