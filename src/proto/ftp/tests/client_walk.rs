//! The client walked through its diagram (`proto::contract`): replies a
//! server could send, in any order, mixed with whatever the data
//! connection does, move it only along the edges of `CLIENT_TRANSITIONS`.

use super::*;
use crate::proto::contract::{Walk, is_edge};

/// Replies of every kind a session needs, well-formed.
const REPLIES: &[&str] = &[
    "220 ready\r\n",
    "120 ready in a while\r\n",
    "234 AUTH TLS ok\r\n",
    "200 ok\r\n",
    "331 need password\r\n",
    "230 logged in\r\n",
    "202 superfluous\r\n",
    "332 need account\r\n",
    "530 login incorrect\r\n",
    "227 Entering Passive Mode (10,0,0,1,195,80).\r\n",
    "227 Entering Passive Mode (garbled).\r\n",
    "229 Entering Extended Passive Mode (|||50001|)\r\n",
    "150 opening data connection\r\n",
    "125 data connection already open\r\n",
    "226 transfer complete\r\n",
    "250 ok\r\n",
    "257 \"/\" is the current directory\r\n",
    "350 ready for RNTO\r\n",
    "425 can't open data connection\r\n",
    "426 transfer aborted\r\n",
    "452 insufficient storage\r\n",
    "550 no such file\r\n",
    "500 unknown command\r\n",
    "502 not implemented\r\n",
    "211-Features:\r\n EPSV\r\n211 End\r\n",
];

/// Replies that end the session or cannot be read: rarer, or few
/// sessions would get far.
const ENDINGS: &[&str] = &[
    "421 closing control connection\r\n",
    "221 goodbye\r\n",
    "999 out of range\r\n",
    "garbage\r\n",
];

/// What the server or the data connection does next.
#[derive(Debug, Clone)]
enum Input {
    Reply(&'static str),
    Connected,
    Failed,
    DataBytes(Vec<u8>),
    Closed,
    Sent,
    /// The driver puts TLS under the control connection, if asked to.
    TlsStarted,
}

fn input_strategy() -> impl Strategy<Value = Input> {
    prop_oneof![
        12 => prop::sample::select(REPLIES).prop_map(Input::Reply),
        1 => prop::sample::select(ENDINGS).prop_map(Input::Reply),
        1 => Just(Input::Connected),
        1 => Just(Input::Failed),
        1 => prop::collection::vec(any::<u8>(), 0..20).prop_map(Input::DataBytes),
        1 => Just(Input::Closed),
        1 => Just(Input::Sent),
        1 => Just(Input::TlsStarted),
    ]
}

fn step_strategy() -> impl Strategy<Value = Step> {
    prop_oneof![
        Just(Step::Pwd),
        Just(Step::Cwd("pub".into())),
        Just(Step::List(None)),
        Just(Step::Nlst(Some("pub".into()))),
        Just(Step::Retr("notes.txt".into())),
        Just(Step::RetrFrom("notes.txt".into(), 3)),
        Just(Step::Stor("new.txt".into(), Bytes::from_static(b"new\n"))),
        Just(Step::Appe("new.txt".into(), Bytes::new())),
        Just(Step::Rename("a".into(), "b".into())),
        Just(Step::Type(TransferType::Image)),
        Just(Step::Raw("SYST".into())),
        Just(Step::Quit),
    ]
}

fn client_strategy() -> impl Strategy<Value = FtpClient> {
    (
        prop::collection::vec(step_strategy(), 0..5),
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(|(steps, active, extended, tls)| {
            let mut config = FtpClientConfig::new("alice", "wonderland", SERVER_IP);
            config.steps = steps;
            config.mode = if active {
                DataMode::Active
            } else {
                DataMode::Passive
            };
            config.extended = extended;
            config.tls = tls;
            FtpClient::new(config)
        })
}

/// Logs `client` in as a server would (with TLS first if it asks for
/// it), walking it: the random inputs then start past the login.
fn log_in(client: &mut FtpClient, ports: &mut Ports, w: &mut Walk) -> Result<(), String> {
    let mut reply = |client: &mut FtpClient, w: &mut Walk, text: &'static str| {
        apply(client, ports, &Input::Reply(text));
        apply(client, ports, &Input::TlsStarted);
        step(w, client.state_name())
    };
    reply(client, w, "220 ready\r\n")?;
    if client.state_name() == "SECURING-CONTROL" {
        for text in ["234 AUTH TLS ok\r\n", "200 PBSZ=0\r\n", "200 PROT P\r\n"] {
            reply(client, w, text)?;
        }
    }
    reply(client, w, "331 need password\r\n")?;
    reply(client, w, "230 logged in\r\n")
}

fn walk(client: &FtpClient) -> Walk {
    Walk::new(
        "ftp client",
        CLIENT_STATES,
        CLIENT_TRANSITIONS,
        client.state_name(),
    )
}

/// Walks the client to `now`: one edge, or two through COMMANDING, which
/// the client passes between steps when one reply ends a step and starts
/// the next (a transfer's 226 goes from TRANSFERRING through COMMANDING
/// to SETTING-UP-DATA).
fn step(w: &mut Walk, now: &'static str) -> Result<(), String> {
    let between_steps = is_edge(CLIENT_TRANSITIONS, w.state(), "COMMANDING")
        && is_edge(CLIENT_TRANSITIONS, "COMMANDING", now);
    if between_steps {
        w.step_within(now, 2)
    } else {
        w.step(now)
    }
}

fn apply(client: &mut FtpClient, ports: &mut Ports, input: &Input) {
    match input {
        Input::Reply(reply) => client.handle_input(reply.as_bytes(), ports),
        Input::Connected => client.handle_data_connected(ports),
        Input::Failed => client.handle_data_failed(ports),
        Input::DataBytes(bytes) => client.handle_data_input(bytes),
        Input::Closed => client.handle_data_closed(ports),
        Input::Sent => client.handle_data_sent(ports),
        Input::TlsStarted => {
            if client.take_starttls() {
                client.tls_started();
            }
        }
    }
    while client.poll_data_request().is_some() {}
    while client.poll_output().is_some() {}
    while client.poll_transcript().is_some() {}
}

/// The data connection as a well-behaved server's: a connection the
/// client asks for opens at once, an upload is delivered, and once the
/// transfer command is out the server connects to the client's listener
/// (active mode) and closes the connection when it is done.
fn serve_data(client: &mut FtpClient, ports: &mut Ports) {
    for _ in 0..8 {
        match client.poll_data_request() {
            Some(DataRequest::Connect { .. }) => client.handle_data_connected(ports),
            Some(DataRequest::Close) => client.handle_data_sent(ports),
            Some(DataRequest::Send(_) | DataRequest::Abort) => {}
            None => break,
        }
    }
    if client.state_name() == "TRANSFERRING" {
        if ports.listener.take().is_some() {
            client.handle_data_connected(ports);
        }
        client.handle_data_closed(ports);
    }
    while client.poll_output().is_some() {}
    while client.poll_transcript().is_some() {}
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Replies and data-connection events in any order: every change of
    /// state is a way of a few edges of the diagram, and a hang-up ends
    /// in a final state.
    #[test]
    fn client_follows_its_diagram_through_plausible_replies(
        mut client in client_strategy(),
        logged_in in any::<bool>(),
        inputs in prop::collection::vec(input_strategy(), 0..60),
    ) {
        let mut ports = Ports::new(CLIENT_IP, 40_000);
        let mut w = walk(&client);
        if logged_in {
            let walked = log_in(&mut client, &mut ports, &mut w);
            prop_assert!(walked.is_ok(), "{}", walked.unwrap_err());
        }
        for input in &inputs {
            apply(&mut client, &mut ports, input);
            let walked = step(&mut w, client.state_name());
            prop_assert!(walked.is_ok(), "{} after {:?}", walked.unwrap_err(), input);
        }
        client.handle_close();
        prop_assert!(client.wants_close());
        let hung_up = w.hung_up(client.state_name());
        prop_assert!(hung_up.is_ok(), "{}", hung_up.unwrap_err());
    }

    /// A correct dialogue with bytes cut out and others put in, fed a
    /// line at a time.
    #[test]
    fn client_follows_its_diagram_through_mutated_replies(
        mut client in client_strategy(),
        cut in 0usize..400,
        cut_len in 0usize..40,
        insert in prop::collection::vec(any::<u8>(), 0..40),
    ) {
        let mut dialogue: Vec<u8> = [
            "220 ready\r\n",
            "331 need password\r\n",
            "230 logged in\r\n",
            "227 Entering Passive Mode (10,0,0,1,195,80).\r\n",
            "150 opening data connection\r\n",
            "226 transfer complete\r\n",
            "257 \"/\" is the current directory\r\n",
            "350 ready for RNTO\r\n",
            "250 ok\r\n",
            "221 goodbye\r\n",
        ]
        .concat()
        .into_bytes();
        let at = cut.min(dialogue.len());
        let end = (at + cut_len).min(dialogue.len());
        dialogue.splice(at..end, insert);
        let mut ports = Ports::new(CLIENT_IP, 40_000);
        let mut w = walk(&client);
        for line in dialogue.split_inclusive(|&b| b == b'\n') {
            client.handle_input(line, &mut ports);
            serve_data(&mut client, &mut ports);
            let walked = step(&mut w, client.state_name());
            prop_assert!(walked.is_ok(), "{} after {:?}", walked.unwrap_err(), String::from_utf8_lossy(line));
        }
        client.handle_close();
        let hung_up = w.hung_up(client.state_name());
        prop_assert!(hung_up.is_ok(), "{}", hung_up.unwrap_err());
    }
}
