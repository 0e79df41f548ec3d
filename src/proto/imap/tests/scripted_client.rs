//! The scripted client against the server: reading and filing new mail,
//! finding messages by subject, a failed login, a phone idling while a
//! laptop works, and literals sent only after the server's `+`.

use super::*;

/// Moves bytes between a client and a server until both are quiet.
fn pump(client: &mut ImapClient, server: &mut ImapServer, st: &mut MemoryMailStore) {
    loop {
        let mut moved = false;
        while let Some(b) = server.poll_output() {
            client.handle_input(&b);
            moved = true;
        }
        while let Some(b) = client.poll_output() {
            server.handle_input(&b, st, NOW);
            moved = true;
        }
        if !moved {
            break;
        }
    }
}

#[test]
fn client_reads_new_mail_and_files_it() {
    let mut st = store();
    st.create_folder("bob", "Archive").unwrap();
    let mut server = ImapServer::new(ImapConfig::default());
    let mut client = ImapClient::new(vec![
        login(),
        ImapStep::Select(INBOX.into()),
        ImapStep::SearchUnseen,
        ImapStep::Fetch {
            which: Which::LastSearch,
            peek: true,
        },
        ImapStep::Store {
            which: Which::Uids(vec![1]),
            op: StoreOp::Add,
            flags: vec![Flag::Seen, Flag::Flagged],
        },
        ImapStep::Move {
            which: Which::Uids(vec![2]),
            to: "Archive".into(),
        },
        ImapStep::Append {
            folder: "Archive".into(),
            flags: vec![Flag::Seen],
            message: b"Subject: sent\r\n\r\nok\r\n".to_vec(),
        },
        ImapStep::Logout,
    ]);
    pump(&mut client, &mut server, &mut st);
    assert!(client.is_finished());
    assert!(client.wants_close() && server.wants_close());
    let statuses: Vec<_> = client
        .outcomes()
        .iter()
        .map(|o| (o.step, o.status))
        .collect();
    assert_eq!(
        statuses,
        vec![
            ("LOGIN", StepStatus::Ok),
            ("SELECT", StepStatus::Ok),
            ("SEARCH UNSEEN", StepStatus::Ok),
            ("FETCH", StepStatus::Ok),
            ("STORE", StepStatus::Ok),
            ("MOVE", StepStatus::Ok),
            ("APPEND", StepStatus::Ok),
            ("LOGOUT", StepStatus::Ok),
        ]
    );
    assert_eq!(client.search_results(), &[1, 2]);
    let m1 = client.message(INBOX, 1).unwrap();
    assert_eq!(m1.body.as_deref(), Some(MSG1));
    assert_eq!(m1.size, Some(MSG1.len() as u32));
    assert!(m1.flags.contains(&Flag::Seen) && m1.flags.contains(&Flag::Flagged));
    // MOVE's EXPUNGE named UID 2.
    assert_eq!(
        client.updates(),
        &[ImapUpdate::Expunge {
            seq: 2,
            uid: Some(2)
        }]
    );
    assert_eq!(client.mailbox_uids(), &[1]);
    assert_eq!(st.messages("bob", "Archive").unwrap().len(), 2);
    assert_eq!(st.messages("bob", INBOX).unwrap().len(), 1);
}

#[test]
fn client_finds_messages_by_subject() {
    let mut st = store();
    let mut server = ImapServer::new(ImapConfig::default());
    let mut client = ImapClient::new(vec![
        login(),
        ImapStep::Select(INBOX.into()),
        ImapStep::SearchSubject("nothing like this".into()),
        ImapStep::Fetch {
            which: Which::LastSearch,
            peek: true,
        },
        ImapStep::SearchSubject(subject_of(MSG2)),
        ImapStep::Logout,
    ]);
    pump(&mut client, &mut server, &mut st);
    let outcomes: Vec<_> = client
        .outcomes()
        .iter()
        .map(|o| (o.step, o.status))
        .collect();
    assert_eq!(
        outcomes[2..5],
        [
            ("SEARCH SUBJECT", StepStatus::Ok),
            // Nothing found: nothing to fetch.
            ("FETCH", StepStatus::Skipped),
            ("SEARCH SUBJECT", StepStatus::Ok),
        ]
    );
    assert_eq!(client.search_results(), &[2]);
}

#[test]
fn client_login_failure_skips_to_logout() {
    let mut st = store();
    let mut server = ImapServer::new(ImapConfig::default());
    let mut client = ImapClient::new(vec![
        ImapStep::Login {
            user: "bob".into(),
            password: "wrong".into(),
        },
        ImapStep::Select(INBOX.into()),
        ImapStep::Logout,
    ]);
    pump(&mut client, &mut server, &mut st);
    let statuses: Vec<_> = client
        .outcomes()
        .iter()
        .map(|o| (o.step, o.status))
        .collect();
    assert_eq!(
        statuses,
        vec![
            ("LOGIN", StepStatus::No),
            ("SELECT", StepStatus::Skipped),
            ("LOGOUT", StepStatus::Ok),
        ]
    );
}

#[test]
fn phone_idles_and_sees_the_laptop_at_work() {
    let mut st = store();
    let mut phone_server = ImapServer::new(ImapConfig::default());
    let mut phone = ImapClient::new(vec![
        login(),
        ImapStep::Select(INBOX.into()),
        ImapStep::Idle,
        ImapStep::Logout,
    ]);
    pump(&mut phone, &mut phone_server, &mut st);
    assert!(phone.is_idling());
    assert_eq!(phone.state_name(), "IDLING");
    assert_eq!(phone.mailbox_uids(), &[1, 2]);

    let mut laptop_server = ImapServer::new(ImapConfig::default());
    let mut laptop = ImapClient::new(vec![
        login(),
        ImapStep::Select(INBOX.into()),
        ImapStep::Fetch {
            which: Which::Uids(vec![1]),
            peek: false,
        },
        ImapStep::Store {
            which: Which::Uids(vec![2]),
            op: StoreOp::Add,
            flags: vec![Flag::Deleted],
        },
        ImapStep::Expunge,
        ImapStep::Logout,
    ]);
    pump(&mut laptop, &mut laptop_server, &mut st);
    assert!(laptop.is_finished());
    // BODY[] set \Seen on the laptop's copy of the news.
    assert!(
        laptop
            .message(INBOX, 1)
            .unwrap()
            .flags
            .contains(&Flag::Seen)
    );

    // The store changed: the driver wakes the idling session.
    phone_server.handle_mailbox_changed(&mut st);
    pump(&mut phone, &mut phone_server, &mut st);
    let seen: FlagSet = [Flag::Seen].into_iter().collect();
    assert_eq!(
        phone.updates(),
        &[
            ImapUpdate::Expunge {
                seq: 2,
                uid: Some(2)
            },
            ImapUpdate::Flags {
                seq: 1,
                uid: Some(1),
                flags: seen
            },
        ]
    );
    phone.stop_idle();
    pump(&mut phone, &mut phone_server, &mut st);
    assert!(phone.is_finished());
    assert_eq!(
        phone.outcomes().last().map(|o| o.status),
        Some(StepStatus::Ok)
    );
    let mut events = Vec::new();
    while let Some(e) = phone.poll_event() {
        events.push(e);
    }
    assert!(events.contains(&ClientEvent::IdleStarted));
    assert_eq!(events.last(), Some(&ClientEvent::Finished));
}

#[test]
fn client_waits_for_continuation_before_literal() {
    let mut st = store();
    let mut server = ImapServer::new(ImapConfig::default());
    let mut client = ImapClient::new(vec![
        login(),
        ImapStep::Append {
            folder: INBOX.into(),
            flags: vec![],
            message: b"Subject: x\r\n\r\ny\r\n".to_vec(),
        },
    ]);
    // Greeting, then LOGIN.
    while let Some(b) = server.poll_output() {
        client.handle_input(&b);
    }
    let login = client.poll_output().unwrap();
    server.handle_input(&login, &mut st, NOW);
    while let Some(b) = server.poll_output() {
        client.handle_input(&b);
    }
    // The APPEND line goes alone; the literal waits for "+".
    let line = client.poll_output().unwrap();
    assert_eq!(line, b"A002 APPEND INBOX {17}\r\n");
    assert_eq!(client.poll_output(), None);
    server.handle_input(&line, &mut st, NOW);
    pump(&mut client, &mut server, &mut st);
    assert_eq!(client.outcomes()[1].status, StepStatus::Ok);
    assert_eq!(st.messages("bob", INBOX).unwrap().len(), 3);
}
