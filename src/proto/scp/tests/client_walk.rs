//! The client walked through its diagram: a hand-driven SSH server sends
//! it messages in any order, and mutated packets of a real session.

use super::*;

/// An SSH server driven by hand: the real transport (key exchange and
/// `ssh-userauth`), then whatever messages a test sends the client.
struct RawServer {
    transport: Transport,
}

impl RawServer {
    fn new() -> RawServer {
        RawServer {
            transport: Transport::server(HostKey::from_seed(&HOST_SECRET), SERVER_SEED),
        }
    }

    /// Moves bytes both ways until quiet.
    fn exchange(&mut self, client: &mut ScpClient) {
        loop {
            let mut moved = false;
            while let Some(bytes) = client.poll_output() {
                self.transport.handle_input(&bytes);
                moved = true;
            }
            while let Some(bytes) = self.transport.poll_output() {
                client.handle_input(&bytes);
                moved = true;
            }
            while self.transport.poll_event().is_some() {}
            while client.poll_transcript().is_some() {}
            if !moved {
                return;
            }
        }
    }

    fn send(&mut self, client: &mut ScpClient, message: &Message) {
        self.transport.send(message.encode());
        self.exchange(client);
    }
}

/// What the server does next.
#[derive(Debug, Clone)]
enum ServerMove {
    Send(Message),
    Disconnect,
    /// Bytes that are no SSH packet (the MAC check fails).
    Garbage(Vec<u8>),
}

fn rcp_bytes() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        Just(b"\0".to_vec()),
        Just(b"\x01scp: /uploads: Permission denied\n".to_vec()),
        Just(b"\x02scp: protocol error\n".to_vec()),
        Just(b"C0644 5 report.txt\n".to_vec()),
        Just(b"hello".to_vec()),
        Just(b"D0755 0 photos\n".to_vec()),
        Just(b"E\n".to_vec()),
        Just(b"T1700000000 0 1700000000 0\n".to_vec()),
        prop::collection::vec(any::<u8>(), 0..20),
    ]
}

fn server_move() -> impl Strategy<Value = ServerMove> {
    let send = |m: Message| Just(ServerMove::Send(m));
    prop_oneof![
        1 => send(Message::UserAuthSuccess),
        1 => send(Message::UserAuthFailure {
            methods: vec!["password".into()],
            partial: false,
        }),
        1 => send(Message::UserAuthBanner("Authorized use only.".into())),
        1 => send(Message::ChannelOpenConfirmation {
            recipient: 0,
            sender: 3,
            window: 1 << 20,
            max_packet: 32768,
        }),
        1 => send(Message::ChannelOpenFailure {
            recipient: 0,
            reason: 1,
            description: "administratively prohibited".into(),
        }),
        1 => send(Message::ChannelSuccess { recipient: 0 }),
        1 => send(Message::ChannelFailure { recipient: 0 }),
        4 => rcp_bytes().prop_map(|data| ServerMove::Send(Message::Data { recipient: 0, data })),
        1 => send(Message::ExtendedData {
            recipient: 0,
            code: 1,
            data: b"scp: something failed\n".to_vec(),
        }),
        1 => send(Message::Eof { recipient: 0 }),
        1 => send(Message::Close { recipient: 0 }),
        1 => (0u32..2).prop_map(|status| ServerMove::Send(Message::Request {
            recipient: 0,
            want_reply: false,
            request: ChannelRequest::ExitStatus(status),
        })),
        1 => send(Message::WindowAdjust {
            recipient: 0,
            bytes: 1000,
        }),
        1 => send(Message::GlobalRequest {
            name: "keepalive@openssh.com".into(),
            want_reply: true,
        }),
        1 => Just(ServerMove::Disconnect),
        1 => prop::collection::vec(any::<u8>(), 1..60).prop_map(ServerMove::Garbage),
    ]
}

fn operation() -> impl Strategy<Value = ScpOperation> {
    prop_oneof![
        Just(upload(
            "/uploads",
            vec![ScpEntry::file("report.pdf", vec![7u8; 300])]
        )),
        Just(upload(
            "/uploads",
            vec![ScpEntry::Dir {
                name: "photos".into(),
                mode: 0o755,
                mtime: None,
                entries: vec![ScpEntry::file("a.jpg", vec![1u8; 10])],
            }]
        )),
        Just(download("/pub/report.pdf", false)),
        Just(download("/pub", true)),
    ]
}

fn client_walk(client: &ScpClient) -> crate::proto::contract::Walk {
    crate::proto::contract::Walk::new(
        "scp client",
        CLIENT_STATES,
        CLIENT_TRANSITIONS,
        client.state_name(),
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// After a real key exchange, server messages in any order (from a
    /// few steps of a good session on): every change of the client's
    /// state is an edge of its diagram, and a hang-up ends in a final
    /// state.
    #[test]
    fn client_follows_its_diagram_through_plausible_messages(
        operation in operation(),
        good_steps in 0usize..4,
        moves in prop::collection::vec(server_move(), 0..16),
    ) {
        let mut client = new_client("wonderland", operation);
        let mut w = client_walk(&client);
        let mut server = RawServer::new();
        server.exchange(&mut client);
        let walked = w.step(client.state_name());
        prop_assert!(walked.is_ok(), "{}", walked.unwrap_err());
        let good = [
            Message::UserAuthSuccess,
            Message::ChannelOpenConfirmation {
                recipient: 0,
                sender: 3,
                window: 1 << 20,
                max_packet: 32768,
            },
            Message::ChannelSuccess { recipient: 0 },
        ];
        let moves = good
            .into_iter()
            .take(good_steps)
            .map(ServerMove::Send)
            .chain(moves);
        for m in moves {
            match &m {
                ServerMove::Send(message) => server.send(&mut client, message),
                ServerMove::Disconnect => {
                    server.transport.disconnect(2, "protocol error");
                    server.exchange(&mut client);
                }
                ServerMove::Garbage(bytes) => {
                    client.handle_input(bytes);
                    server.exchange(&mut client);
                }
            }
            let walked = w.step(client.state_name());
            prop_assert!(walked.is_ok(), "{} after {:?}", walked.unwrap_err(), m);
        }
        client.handle_close();
        prop_assert!(client.wants_close());
        let hung_up = w.hung_up(client.state_name());
        prop_assert!(hung_up.is_ok(), "{}", hung_up.unwrap_err());
    }

    /// A real session's packets from the server, one of them with a
    /// piece cut out and random bytes put in, fed one by one to a client
    /// with the same seed: in the key exchange the changes meet the
    /// parser, after it the MAC check.
    #[test]
    fn client_follows_its_diagram_through_mutated_replies(
        which in 0usize..2,
        packet in any::<prop::sample::Index>(),
        cut in 0usize..200,
        cut_len in 0usize..64,
        insert in prop::collection::vec(any::<u8>(), 0..32),
    ) {
        let operation = || if which == 0 {
            upload("/uploads", vec![ScpEntry::file("report.pdf", vec![7u8; 300])])
        } else {
            download("/pub/report.pdf", false)
        };
        let mut packets = recorded_packets(operation());
        let chosen = packet.index(packets.len());
        let mutated = &mut packets[chosen];
        let at = cut.min(mutated.len());
        let end = (at + cut_len).min(mutated.len());
        mutated.splice(at..end, insert);

        let mut client = new_client("wonderland", operation());
        let mut w = client_walk(&client);
        for p in &packets {
            client.handle_input(p);
            while client.poll_output().is_some() {}
            let walked = w.step(client.state_name());
            prop_assert!(walked.is_ok(), "{}", walked.unwrap_err());
        }
        client.handle_close();
        let hung_up = w.hung_up(client.state_name());
        prop_assert!(hung_up.is_ok(), "{}", hung_up.unwrap_err());
    }
}

/// What the server sends in a good session with `operation`, one piece
/// of output at a time.
fn recorded_packets(operation: ScpOperation) -> Vec<Vec<u8>> {
    let mut fs = MemFs::new();
    let mut server = new_server();
    let mut client = new_client("wonderland", operation);
    let mut packets = Vec::new();
    loop {
        let mut moved = false;
        while let Some(bytes) = client.poll_output() {
            server.handle_input(&bytes, &mut fs);
            moved = true;
        }
        while let Some(bytes) = server.poll_output() {
            client.handle_input(&bytes);
            packets.push(bytes);
            moved = true;
        }
        if !moved {
            break;
        }
    }
    assert!(client.succeeded(), "{:?}", client.error());
    packets
}
