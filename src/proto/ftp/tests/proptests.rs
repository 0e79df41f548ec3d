//! Proptests: no input, in any order with any data-connection event,
//! makes the server panic, go silent or touch another user's files.

use super::*;

/// A data-connection event the driver may report at any time.
#[derive(Debug, Clone)]
enum Event {
    Input(Vec<u8>),
    Connected,
    Failed,
    DataInput(Vec<u8>),
    Closed,
    Sent,
    RefusePorts(bool),
}

fn apply(raw: &mut Raw, event: &Event) {
    match event {
        Event::Input(bytes) => {
            raw.send_bytes(bytes);
        }
        Event::Connected => {
            raw.connected();
        }
        Event::Failed => {
            raw.failed();
        }
        Event::DataInput(bytes) => raw.server.handle_data_input(bytes),
        Event::Closed => {
            raw.closed();
        }
        Event::Sent => {
            raw.sent();
        }
        Event::RefusePorts(refuse) => raw.ports.refuse = *refuse,
    }
    raw.requests();
}

fn path_strategy() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("notes.txt".to_string()),
        Just("pub".to_string()),
        Just("pub/README.txt".to_string()),
        Just("../bob/secret.txt".to_string()),
        Just("../../../etc/passwd".to_string()),
        Just("..\\..\\etc".to_string()),
        Just("/".to_string()),
        Just("new".to_string()),
        Just("a\0b".to_string()),
        "[a-z./\\\\]{0,12}",
    ]
}

fn command_strategy() -> impl Strategy<Value = String> {
    let verbs = prop_oneof![
        Just("CWD"),
        Just("MKD"),
        Just("RMD"),
        Just("DELE"),
        Just("RNFR"),
        Just("RNTO"),
        Just("LIST"),
        Just("LIST -R"),
        Just("NLST"),
        Just("RETR"),
        Just("STOR"),
        Just("APPE"),
        Just("SIZE"),
        Just("MDTM"),
        Just("REST"),
        Just("TYPE"),
        Just("PORT"),
        Just("EPRT"),
        Just("EPSV"),
    ];
    let bare = prop_oneof![
        Just("PASV"),
        Just("EPSV"),
        Just("PWD"),
        Just("CDUP"),
        Just("NOOP"),
        Just("ABOR"),
        Just("FEAT"),
        Just("SYST"),
        Just("HELP"),
        Just("TYPE I"),
        Just("TYPE A"),
        Just("PORT 10,0,0,2,4,1"),
        Just("EPRT |1|10.0.0.2|5000|"),
        Just("REST 3"),
        Just("USER alice"),
        Just("PASS wonderland"),
        Just("QUIT"),
        Just("LIST -R"),
        Just("LIST -la"),
        Just("NLST -R pub"),
        Just("STAT"),
    ];
    prop_oneof![
        (verbs, path_strategy()).prop_map(|(v, a)| format!("{v} {a}\r\n")),
        bare.prop_map(|c| format!("{c}\r\n")),
    ]
}

fn event_strategy() -> impl Strategy<Value = Event> {
    prop_oneof![
        4 => command_strategy().prop_map(|c| Event::Input(c.into_bytes())),
        1 => proptest::collection::vec(any::<u8>(), 0..40).prop_map(Event::Input),
        1 => Just(Event::Connected),
        1 => Just(Event::Failed),
        1 => proptest::collection::vec(any::<u8>(), 0..40).prop_map(Event::DataInput),
        1 => Just(Event::Closed),
        1 => Just(Event::Sent),
        1 => any::<bool>().prop_map(Event::RefusePorts),
    ]
}

/// Every reply the server sent parses as RFC 959 replies.
fn assert_well_formed(output: &str) {
    let mut parser = reply::parser();
    parser.push(output.as_bytes());
    while let Some(reply) = parser.next_reply() {
        let (reply, _) = reply.expect("well-formed reply");
        assert!((100..600).contains(&reply.code));
    }
}

/// After any history: end whatever transfer runs, then NOOP must be
/// answered, unless the session is closing.
fn assert_still_answers(raw: &mut Raw) {
    // Queued commands may start new transfers; fail those too.
    for _ in 0..100 {
        raw.server
            .handle_data_failed(&mut raw.vfs, &mut raw.ports, NOW);
    }
    let out = raw.send("\r\nNOOP\r\n");
    assert_well_formed(&out);
    assert!(
        raw.server.wants_close() || out.ends_with("200 NOOP ok.\r\n"),
        "{out:?}"
    );
}

/// Nothing outside alice's home changed.
fn assert_others_untouched(raw: &Raw) {
    assert_eq!(
        &raw.vfs.get_file(&p("/home/bob/secret.txt")).unwrap()[..],
        b"bob's secret\n"
    );
    assert_eq!(
        &raw.vfs.get_file(&p("/etc/passwd")).unwrap()[..],
        b"root:x:0:0\n"
    );
    assert_eq!(raw.vfs.list("bob", &VPath::root()).unwrap().len(), 1);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn arbitrary_bytes_never_panic(chunks in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..200), 0..10), login in any::<bool>()) {
        let mut raw = if login { Raw::logged_in() } else { Raw::new() };
        for chunk in &chunks {
            let out = raw.send_bytes(chunk);
            assert_well_formed(&out);
        }
        assert_still_answers(&mut raw);
    }

    #[test]
    fn random_sessions_with_random_data_events(events in proptest::collection::vec(event_strategy(), 0..40)) {
        let mut raw = Raw::logged_in();
        for event in &events {
            apply(&mut raw, event);
            prop_assert!(STATES.contains(&raw.server.state_name()));
        }
        assert_others_untouched(&raw);
        assert_still_answers(&mut raw);
    }
}
