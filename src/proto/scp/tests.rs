//! End-to-end tests: an [`ScpClient`] and an [`ScpServer`] talking through
//! byte buffers, and a hand-driven client for what a real one never sends.

use super::channel::{self, Hello, HelloParse, RecordOpener, RecordSealer};
use super::message::Message;
use super::*;
use crate::proto::{Session, Transcript};
use bytes::Bytes;
use proptest::prelude::*;
use std::collections::BTreeMap;

const HOST_SECRET: [u8; 32] = [0x42; 32];
const SERVER_EPHEMERAL: [u8; 32] = [0x17; 32];
const CLIENT_EPHEMERAL: [u8; 32] = [0x99; 32];

/// Accounts and files in memory.
#[derive(Debug, Default)]
struct MemFs {
    users: BTreeMap<String, String>,
    nodes: BTreeMap<String, ScpNode>,
}

impl MemFs {
    fn new() -> MemFs {
        let mut fs = MemFs::default();
        fs.users.insert("alice".into(), "wonderland".into());
        for dir in [
            "/",
            "/home",
            "/home/alice",
            "/uploads",
            "/pub",
            "/pub/photos",
        ] {
            fs.add_dir(dir);
        }
        fs.add_file("/pub/report.pdf", vec![0xab; 1432], Some(1_700_000_000));
        fs.add_file("/pub/photos/a.jpg", b"JPEG".to_vec(), None);
        fs.add_file("/home/alice/notes.txt", b"my notes\n".to_vec(), None);
        fs
    }

    fn add_dir(&mut self, path: &str) {
        self.nodes.insert(
            path.to_string(),
            ScpNode::Dir {
                mode: 0o755,
                mtime: None,
                entries: Vec::new(),
            },
        );
        self.link(path);
    }

    fn add_file(&mut self, path: &str, data: Vec<u8>, mtime: Option<i64>) {
        self.nodes.insert(
            path.to_string(),
            ScpNode::File {
                data: Bytes::from(data),
                mode: 0o644,
                mtime,
            },
        );
        self.link(path);
    }

    /// Adds `path`'s name to its parent's entries.
    fn link(&mut self, path: &str) {
        let Some((parent, name)) = path.rsplit_once('/') else {
            return;
        };
        if name.is_empty() {
            return;
        }
        let parent = if parent.is_empty() { "/" } else { parent };
        if let Some(ScpNode::Dir { entries, .. }) = self.nodes.get_mut(parent)
            && !entries.iter().any(|e| e == name)
        {
            entries.push(name.to_string());
        }
    }

    fn file(&self, path: &str) -> Option<(&Bytes, u32, Option<i64>)> {
        match self.nodes.get(path)? {
            ScpNode::File { data, mode, mtime } => Some((data, *mode, *mtime)),
            ScpNode::Dir { .. } => None,
        }
    }
}

impl ScpBackend for MemFs {
    fn check_password(&self, user: &str, password: &str) -> bool {
        self.users.get(user).is_some_and(|p| p == password)
    }

    fn home_dir(&self, user: &str) -> String {
        format!("/home/{user}")
    }

    fn lookup(&self, path: &str) -> Option<ScpNode> {
        self.nodes.get(path).cloned()
    }

    fn write_file(
        &mut self,
        path: &str,
        data: Bytes,
        mode: u32,
        mtime: Option<i64>,
    ) -> Result<(), String> {
        if path.starts_with("/pub") {
            return Err("Permission denied".to_string());
        }
        self.add_file(path, data.to_vec(), mtime);
        if let Some(ScpNode::File { mode: m, .. }) = self.nodes.get_mut(path) {
            *m = mode;
        }
        Ok(())
    }

    fn make_dir(&mut self, path: &str, _mode: u32) -> Result<(), String> {
        self.add_dir(path);
        Ok(())
    }
}

fn new_server() -> ScpServer {
    ScpServer::new(HOST_SECRET, SERVER_EPHEMERAL)
}

fn new_client(password: &str, operation: ScpOperation) -> ScpClient {
    ScpClient::new(ScpClientConfig {
        user: "alice".into(),
        password: password.into(),
        ephemeral_secret: CLIENT_EPHEMERAL,
        known_host_key: Some(channel::public_key(&HOST_SECRET)),
        operation,
    })
}

fn upload(target: &str, entries: Vec<ScpEntry>) -> ScpOperation {
    ScpOperation::Upload {
        target: target.into(),
        entries,
        preserve_times: false,
    }
}

fn download(path: &str, recursive: bool) -> ScpOperation {
    ScpOperation::Download {
        path: path.into(),
        recursive,
        preserve_times: true,
    }
}

/// What crossed the link in each direction.
#[derive(Default)]
struct Wire {
    to_server: Vec<u8>,
    to_client: Vec<u8>,
}

/// Moves bytes both ways, `chunk` bytes at a time, until both are quiet;
/// then closes whichever side the other left.
fn run(client: &mut ScpClient, server: &mut ScpServer, fs: &mut MemFs, chunk: usize) -> Wire {
    let mut wire = Wire::default();
    loop {
        let mut moved = false;
        while let Some(bytes) = client.poll_output() {
            wire.to_server.extend_from_slice(&bytes);
            for piece in bytes.chunks(chunk) {
                server.handle_input(piece, fs);
            }
            moved = true;
        }
        while let Some(bytes) = server.poll_output() {
            wire.to_client.extend_from_slice(&bytes);
            for piece in bytes.chunks(chunk) {
                client.handle_input(piece);
            }
            moved = true;
        }
        if !moved {
            break;
        }
    }
    if server.wants_close() {
        client.handle_close();
    }
    if client.wants_close() {
        server.handle_close();
    }
    wire
}

fn transcript(session: &mut impl Session) -> Vec<Transcript> {
    std::iter::from_fn(|| session.poll_transcript()).collect()
}

fn lines(transcript: &[Transcript]) -> Vec<String> {
    transcript
        .iter()
        .map(|t| match t {
            Transcript::Command(text) => format!("C: {text}"),
            Transcript::Reply { text, .. } => format!("S: {text}"),
            Transcript::Data(text) => format!("   {text}"),
        })
        .collect()
}

#[test]
fn upload_one_file_and_read_the_server_transcript() {
    let mut fs = MemFs::new();
    let mut server = new_server();
    let report = ScpEntry::file("report.pdf", vec![7u8; 1432]);
    let mut client = new_client("wonderland", upload("/uploads", vec![report]));
    run(&mut client, &mut server, &mut fs, 100_000);

    assert!(client.succeeded(), "{:?}", client.error());
    assert_eq!(client.exit_status(), Some(0));
    assert_eq!(
        fs.file("/uploads/report.pdf"),
        Some((&Bytes::from(vec![7u8; 1432]), 0o644, None))
    );
    assert_eq!(server.user(), Some("alice"));
    assert_eq!(server.state_name(), "closed");
    let server_hello = lines(&transcript(&mut server));
    let expected_tail = [
        "   key exchange X25519: keys derived with HKDF-SHA256",
        "   channel encrypted with ChaCha20-Poly1305",
        "C: auth password user alice (password hidden)",
        "S: user alice authenticated",
        "C: exec scp -t /uploads",
        "S: \\0 (ok)",
        "C: C0644 1432 report.pdf",
        "S: \\0 (ok)",
        "   (1432 bytes of report.pdf)",
        "C: \\0 (ok)",
        "S: \\0 (ok)",
        "S: exit-status 0",
    ];
    assert_eq!(
        server_hello.len(),
        2 + expected_tail.len(),
        "{server_hello:#?}"
    );
    assert!(server_hello[0].starts_with("S: WTSCP-1.0-wiretale (X25519 key "));
    assert!(server_hello[0].contains(", host key "));
    assert!(server_hello[1].starts_with("C: WTSCP-1.0-wiretale (X25519 key "));
    assert_eq!(&server_hello[2..], &expected_tail);

    // The client's view mirrors it.
    let client_lines = lines(&transcript(&mut client));
    assert!(client_lines.contains(&"C: C0644 1432 report.pdf".to_string()));
    assert!(client_lines.contains(&"S: exit-status 0".to_string()));
}

#[test]
fn an_eavesdropper_sees_only_ciphertext() {
    let mut fs = MemFs::new();
    let mut server = new_server();
    let secret_text = b"TOP SECRET quarterly numbers, do not forward".repeat(10);
    let mut client = new_client(
        "wonderland",
        upload(
            "/uploads/q.txt",
            vec![ScpEntry::file("q.txt", secret_text.clone())],
        ),
    );
    let wire = run(&mut client, &mut server, &mut fs, 100_000);
    assert!(client.succeeded());
    let contains = |hay: &[u8], needle: &[u8]| hay.windows(needle.len()).any(|w| w == needle);
    for needle in [
        &b"wonderland"[..],
        b"alice",
        b"TOP SECRET",
        b"scp -t",
        b"C0644",
        b"q.txt",
    ] {
        assert!(
            !contains(&wire.to_server, needle),
            "{:?} in clear",
            String::from_utf8_lossy(needle)
        );
        assert!(!contains(&wire.to_client, needle));
    }
    // Only the hellos are readable.
    assert!(wire.to_server.starts_with(b"WTSCP-1.0-wiretale\r\n"));
    assert!(wire.to_client.starts_with(b"WTSCP-1.0-wiretale\r\n"));
}

#[test]
fn downloads_a_file_and_a_tree_split_into_small_pieces() {
    for chunk in [1, 13, 100_000] {
        let mut fs = MemFs::new();
        let mut server = new_server();
        let mut client = new_client("wonderland", download("/pub/report.pdf", false));
        run(&mut client, &mut server, &mut fs, chunk);
        assert!(client.succeeded(), "{:?}", client.error());
        let got = client.received();
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].path, "report.pdf");
        assert_eq!(got[0].data, Bytes::from(vec![0xab; 1432]));
        assert_eq!(got[0].mtime, Some(1_700_000_000));

        let mut server = ScpServer::new(HOST_SECRET, [chunk as u8; 32]);
        let mut client = new_client("wonderland", download("/pub", true));
        run(&mut client, &mut server, &mut fs, chunk);
        assert!(client.succeeded(), "{:?}", client.error());
        let paths: Vec<&str> = client.received().iter().map(|f| f.path.as_str()).collect();
        // In the order the directory lists them.
        assert_eq!(paths, vec!["pub/photos/a.jpg", "pub/report.pdf"]);
        assert_eq!(client.received_dirs(), vec!["pub", "pub/photos"]);
    }
}

#[test]
fn uploads_a_tree_relative_to_home() {
    let mut fs = MemFs::new();
    let mut server = new_server();
    let tree = vec![
        ScpEntry::file("a.txt", &b"A"[..]),
        ScpEntry::dir("d", vec![ScpEntry::file("b.txt", &b"B"[..])]),
    ];
    let mut client = new_client("wonderland", upload(".", tree));
    run(&mut client, &mut server, &mut fs, 100_000);
    assert!(client.succeeded(), "{:?}", client.error());
    assert!(fs.file("/home/alice/a.txt").is_some());
    assert!(fs.file("/home/alice/d/b.txt").is_some());
    let server_lines = lines(&transcript(&mut server));
    assert!(
        server_lines.contains(&"C: exec scp -r -d -t .".to_string()),
        "{server_lines:#?}"
    );
}

#[test]
fn failures_are_reported_with_exit_status_1() {
    // A missing file: the source warns, the exit status is 1.
    let mut fs = MemFs::new();
    let mut server = new_server();
    let mut client = new_client("wonderland", download("/nope.txt", false));
    run(&mut client, &mut server, &mut fs, 100_000);
    assert!(client.is_done());
    assert!(!client.succeeded());
    assert_eq!(client.exit_status(), Some(1));
    let client_lines = lines(&transcript(&mut client));
    assert!(client_lines.contains(&"S: \\1 scp: /nope.txt: No such file or directory".to_string()));

    // A write the backend refuses.
    let mut server = new_server();
    let mut client = new_client(
        "wonderland",
        upload("/pub/x", vec![ScpEntry::file("x", &b"x"[..])]),
    );
    run(&mut client, &mut server, &mut fs, 100_000);
    assert_eq!(client.exit_status(), Some(1));
    let server_lines = lines(&transcript(&mut server));
    assert!(server_lines.contains(&"S: \\1 scp: /pub/x: Permission denied".to_string()));

    // A directory without -r.
    let mut server = new_server();
    let mut client = new_client("wonderland", download("/pub", false));
    run(&mut client, &mut server, &mut fs, 100_000);
    assert_eq!(client.exit_status(), Some(1));
}

#[test]
fn wrong_password_ends_the_session() {
    let mut fs = MemFs::new();
    let mut server = new_server();
    let mut client = new_client(
        "guess",
        upload("/uploads", vec![ScpEntry::file("a", &b"a"[..])]),
    );
    run(&mut client, &mut server, &mut fs, 100_000);
    assert_eq!(client.error(), Some("authentication failed"));
    assert!(!fs.nodes.contains_key("/uploads/a"));
    let server_lines = lines(&transcript(&mut server));
    assert!(server_lines.contains(&"S: authentication failed for user alice".to_string()));
}

#[test]
fn a_wrong_host_key_stops_the_client_before_the_password() {
    let mut fs = MemFs::new();
    let mut impostor = ScpServer::new([0x66; 32], SERVER_EPHEMERAL);
    let mut client = new_client("wonderland", download("/pub/report.pdf", false));
    let wire = run(&mut client, &mut impostor, &mut fs, 100_000);
    assert!(client.error().unwrap().starts_with("host key mismatch"));
    // Only the client's hello went out: no password, not even sealed.
    assert_eq!(wire.to_server.len(), "WTSCP-1.0-wiretale\r\n".len() + 32);
    assert_eq!(
        client.server_host_key(),
        Some(channel::public_key(&[0x66; 32]))
    );
}

/// A client driven by hand: it performs the key exchange, then seals
/// whatever messages (or bytes) a test wants.
struct RawClient {
    sealer: RecordSealer,
    opener: RecordOpener,
}

impl RawClient {
    /// Runs the handshake against `server`.
    fn connect(server: &mut ScpServer, fs: &mut MemFs) -> RawClient {
        let hello = Hello {
            version: channel::VERSION_LINE.into(),
            ephemeral: channel::public_key(&CLIENT_EPHEMERAL),
            host_key: None,
        }
        .to_bytes();
        let server_hello = server.poll_output().unwrap();
        let HelloParse::Complete { hello: sh, .. } =
            channel::parse_hello(&server_hello, true).unwrap()
        else {
            panic!("incomplete server hello");
        };
        server.handle_input(&hello, fs);
        let keys = channel::derive_session_keys(
            &channel::diffie_hellman(&CLIENT_EPHEMERAL, &sh.ephemeral).unwrap(),
            &channel::diffie_hellman(&CLIENT_EPHEMERAL, &sh.host_key.unwrap()).unwrap(),
            &channel::exchange_hash(&hello, &server_hello),
        );
        RawClient {
            sealer: RecordSealer::new(&keys.client_to_server),
            opener: RecordOpener::new(&keys.server_to_client),
        }
    }

    fn seal(&mut self, message: &Message) -> Vec<u8> {
        self.sealer.seal(&message.encode()).unwrap()
    }

    /// Everything the server sent since last time, opened.
    fn receive(&mut self, server: &mut ScpServer) -> Vec<Message> {
        while let Some(bytes) = server.poll_output() {
            self.opener.push(&bytes);
        }
        std::iter::from_fn(|| self.opener.next_record().ok().flatten())
            .map(|p| Message::decode(&p).unwrap())
            .collect()
    }

    fn login(&mut self, server: &mut ScpServer, fs: &mut MemFs) {
        let auth = self.seal(&Message::UserAuthRequest {
            user: "alice".into(),
            method: "password".into(),
            password: "wonderland".into(),
        });
        server.handle_input(&auth, fs);
        assert_eq!(self.receive(server), vec![Message::UserAuthSuccess]);
    }
}

#[test]
fn three_wrong_passwords_and_you_are_out() {
    let mut fs = MemFs::new();
    let mut server = new_server();
    let mut raw = RawClient::connect(&mut server, &mut fs);
    for attempt in 1..=3 {
        let record = raw.seal(&Message::UserAuthRequest {
            user: "alice".into(),
            method: "password".into(),
            password: format!("guess{attempt}"),
        });
        server.handle_input(&record, &mut fs);
    }
    let replies = raw.receive(&mut server);
    assert_eq!(
        replies,
        vec![
            Message::UserAuthFailure,
            Message::UserAuthFailure,
            Message::UserAuthFailure,
            Message::Disconnect {
                reason: "too many authentication failures".into()
            }
        ]
    );
    assert!(server.wants_close());
}

#[test]
fn unknown_commands_and_out_of_order_messages() {
    let mut fs = MemFs::new();
    let mut server = new_server();
    let mut raw = RawClient::connect(&mut server, &mut fs);
    // Exec before logging in.
    let exec = raw.seal(&Message::Exec {
        command: "ls".into(),
    });
    server.handle_input(&exec, &mut fs);
    assert!(matches!(
        raw.receive(&mut server)[..],
        [Message::Disconnect { .. }]
    ));
    assert!(server.wants_close());

    let mut server = ScpServer::new(HOST_SECRET, SERVER_EPHEMERAL);
    let mut raw = RawClient::connect(&mut server, &mut fs);
    raw.login(&mut server, &mut fs);
    let exec = raw.seal(&Message::Exec {
        command: "cat /etc/shadow".into(),
    });
    server.handle_input(&exec, &mut fs);
    assert_eq!(raw.receive(&mut server), vec![Message::ExitStatus(127)]);
    let server_lines = lines(&transcript(&mut server));
    assert!(server_lines.contains(&"S: cat: command not found".to_string()));
}

#[test]
fn tampered_and_replayed_records_close_the_channel() {
    // Tampered: one bit flipped in a sealed exec.
    let mut fs = MemFs::new();
    let mut server = new_server();
    let mut raw = RawClient::connect(&mut server, &mut fs);
    raw.login(&mut server, &mut fs);
    let mut exec = raw.seal(&Message::Exec {
        command: "scp -t /uploads".into(),
    });
    exec[10] ^= 0x20;
    server.handle_input(&exec, &mut fs);
    assert!(server.wants_close());
    assert!(
        raw.receive(&mut server).is_empty(),
        "nothing is said to an attacker"
    );
    let server_lines = lines(&transcript(&mut server));
    assert_eq!(
        server_lines.last().unwrap(),
        "   closing: record 1 failed authentication (tampered, replayed or out of order)"
    );

    // Replayed: the login record sent a second time.
    let mut server = ScpServer::new(HOST_SECRET, SERVER_EPHEMERAL);
    let mut raw = RawClient::connect(&mut server, &mut fs);
    let auth = raw.seal(&Message::UserAuthRequest {
        user: "alice".into(),
        method: "password".into(),
        password: "wonderland".into(),
    });
    server.handle_input(&auth, &mut fs);
    server.handle_input(&auth, &mut fs);
    assert!(server.wants_close());
    assert_eq!(server.state_name(), "closed");
}

#[test]
fn a_stranger_gets_protocol_mismatch_in_the_clear() {
    let mut fs = MemFs::new();
    let mut server = new_server();
    server.poll_output();
    server.handle_input(b"SSH-2.0-OpenSSH_9.6\r\n", &mut fs);
    assert_eq!(server.poll_output(), Some(PROTOCOL_MISMATCH_BYTES.to_vec()));
    assert!(server.wants_close());
}

const PROTOCOL_MISMATCH_BYTES: &[u8] = server::PROTOCOL_MISMATCH;

#[test]
fn paths_resolve_against_home() {
    use server::resolve_path;
    assert_eq!(resolve_path("/home/alice", "."), "/home/alice");
    assert_eq!(resolve_path("/home/alice", "~/x/../y"), "/home/alice/y");
    assert_eq!(resolve_path("/home/alice", "/../../etc"), "/etc");
    assert_eq!(resolve_path("/", "a//b/"), "/a/b");
}

/// A plausible message a client might send at any point.
fn plausible_message() -> impl Strategy<Value = Message> {
    prop_oneof![
        Just(Message::UserAuthRequest {
            user: "alice".into(),
            method: "password".into(),
            password: "wonderland".into()
        }),
        Just(Message::UserAuthRequest {
            user: "alice".into(),
            method: "password".into(),
            password: "x".into()
        }),
        prop::sample::select(vec![
            "scp -t /uploads",
            "scp -r -t /uploads",
            "scp -f /pub/report.pdf",
            "scp -r -p -f /pub",
            "scp -t",
            "ls"
        ])
        .prop_map(|c| Message::Exec { command: c.into() }),
        prop::sample::select(vec![
            &b"\0"[..],
            b"C0644 3 a.txt\n",
            b"abc\0",
            b"D0755 0 d\n",
            b"E\n",
            b"T1 0 1 0\n",
            b"\x01oops\n",
            b"C0644 3 ../x\n",
            b"garbage"
        ])
        .prop_map(|d| Message::Data(d.to_vec())),
        Just(Message::Eof),
        Just(Message::ExitStatus(0)),
        Just(Message::Disconnect {
            reason: "bye".into()
        }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn arbitrary_bytes_before_the_handshake(chunks in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..120), 0..6)) {
        let mut fs = MemFs::new();
        let mut server = new_server();
        for chunk in &chunks {
            server.handle_input(chunk, &mut fs);
            while server.poll_output().is_some() {}
        }
        prop_assert!(STATES.contains(&server.state_name()));
    }

    #[test]
    fn arbitrary_bytes_after_the_handshake_close_the_channel(bytes in prop::collection::vec(any::<u8>(), 4..300)) {
        let mut fs = MemFs::new();
        let mut server = new_server();
        let mut raw = RawClient::connect(&mut server, &mut fs);
        server.handle_input(&bytes, &mut fs);
        // Random bytes either look like an unfinished record or fail
        // authentication; they never get an answer.
        prop_assert!(raw.receive(&mut server).is_empty());
        prop_assert!(server.wants_close() || server.state_name() == "authentication");
    }

    #[test]
    fn plausible_sealed_messages_are_answered_or_closed(messages in prop::collection::vec(plausible_message(), 1..12)) {
        let mut fs = MemFs::new();
        let mut server = new_server();
        let mut raw = RawClient::connect(&mut server, &mut fs);
        for message in &messages {
            let closed_before = server.wants_close();
            let record = raw.seal(message);
            server.handle_input(&record, &mut fs);
            let answers = raw.receive(&mut server);
            if closed_before {
                prop_assert!(answers.is_empty());
            }
            prop_assert!(STATES.contains(&server.state_name()));
        }
    }
}
