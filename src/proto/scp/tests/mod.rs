//! End-to-end tests: an [`ScpClient`] and an [`ScpServer`] talking SSH
//! through byte buffers, and a hand-driven SSH client for what the
//! scripted one never sends.

use super::*;
use crate::proto::ssh::message::{AuthMethod, ChannelRequest, Message};
use crate::proto::ssh::{CipherName, Event, HostKey, Transport};
use crate::proto::{Session, Transcript};
use bytes::Bytes;
use proptest::prelude::*;
use std::collections::BTreeMap;

const HOST_SECRET: [u8; 32] = [0x42; 32];
const SERVER_SEED: [u8; 32] = [0x17; 32];
const CLIENT_SEED: [u8; 32] = [0x99; 32];

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
    ) -> Result<(), WriteError> {
        if path.starts_with("/pub") {
            return Err(WriteError::PermissionDenied);
        }
        self.add_file(path, data.to_vec(), mtime);
        if let Some(ScpNode::File { mode: m, .. }) = self.nodes.get_mut(path) {
            *m = mode;
        }
        Ok(())
    }

    fn make_dir(&mut self, path: &str, _mode: u32) -> Result<(), WriteError> {
        self.add_dir(path);
        Ok(())
    }
}

fn new_server() -> ScpServer {
    ScpServer::new(HOST_SECRET, SERVER_SEED)
}

fn host_public() -> [u8; 32] {
    HostKey::from_seed(&HOST_SECRET).public()
}

fn client_with(password: &str, operation: ScpOperation, ciphers: &[CipherName]) -> ScpClient {
    ScpClient::new(ScpClientConfig {
        user: "alice".into(),
        password: password.into(),
        seed: CLIENT_SEED,
        ciphers: ciphers.to_vec(),
        known_host_key: Some(host_public()),
        operation,
    })
}

fn new_client(password: &str, operation: ScpOperation) -> ScpClient {
    client_with(password, operation, &CipherName::ALL)
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

fn position(lines: &[String], wanted: &str) -> usize {
    lines
        .iter()
        .position(|l| l == wanted)
        .unwrap_or_else(|| panic!("{wanted:?} not in {lines:#?}"))
}

#[test]
fn upload_one_file_and_read_the_server_transcript() {
    let mut fs = MemFs::new();
    let mut server = new_server();
    let report = ScpEntry::file("report.pdf", vec![7u8; 1432]);
    let mut client = new_client("wonderland", upload("/uploads", vec![report]));
    run(&mut client, &mut server, &mut fs, 100_000);

    assert!(client.succeeded(), "{:?}", client.error());
    assert_eq!(
        fs.file("/uploads/report.pdf"),
        Some((&Bytes::from(vec![7u8; 1432]), 0o644, None))
    );
    assert_eq!(server.user(), Some("alice"));
    assert_eq!(server.state_name(), "CLOSED");
    let lines = lines(&transcript(&mut server));
    assert_eq!(lines[0], "S: SSH-2.0-wiretale");
    assert!(
        lines[1].starts_with(
            "S: kexinit (curve25519-sha256, ssh-ed25519, chacha20-poly1305@openssh.com"
        )
    );
    // The dialogue in the order a textbook tells it.
    let order = [
        "C: SSH-2.0-wiretale",
        "   agreed: curve25519-sha256, ssh-ed25519 host key, chacha20-poly1305@openssh.com, strict key exchange",
        "S: newkeys",
        "C: newkeys",
        "C: service_request ssh-userauth",
        "S: service_accept ssh-userauth",
        "C: userauth_request alice password (password hidden)",
        "S: userauth_success",
        "C: channel_open session (window 2097152, packets up to 32768)",
        "S: channel_open_confirmation (window 2097152)",
        "C: exec \"scp -t /uploads\"",
        "S: channel_success",
        "C: C0644 1432 report.pdf",
        "   (1432 bytes of report.pdf)",
        "C: channel_eof",
        "S: exit-status 0",
        "S: channel_close",
        "C: channel_close",
    ];
    let at: Vec<usize> = order.iter().map(|l| position(&lines, l)).collect();
    assert!(at.windows(2).all(|w| w[0] < w[1]), "{lines:#?}");
    let fingerprint = crate::proto::ssh::fingerprint(&host_public());
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with(&format!("S: kex_ecdh_reply (host key {fingerprint}")))
    );

    // The client's view mirrors it.
    let client_lines = super::tests::lines(&transcript(&mut client));
    assert!(client_lines.contains(&"C: C0644 1432 report.pdf".to_string()));
    assert!(client_lines.contains(&"S: exit-status 0".to_string()));
    assert!(client_lines.contains(
        &"   exchange hash H verified with the host key; keys derived from K and H".to_string()
    ));
}

#[test]
fn an_eavesdropper_sees_only_ciphertext_with_either_cipher() {
    for cipher in CipherName::ALL {
        let mut fs = MemFs::new();
        let mut server = new_server();
        let secret_text = b"TOP SECRET quarterly numbers, do not forward".repeat(10);
        let mut client = client_with(
            "wonderland",
            upload(
                "/uploads/q.txt",
                vec![ScpEntry::file("q.txt", secret_text.clone())],
            ),
            &[cipher],
        );
        let wire = run(&mut client, &mut server, &mut fs, 100_000);
        assert!(client.succeeded(), "{cipher:?}: {:?}", client.error());
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
        // What is readable: the versions and the algorithm lists.
        assert!(wire.to_server.starts_with(b"SSH-2.0-wiretale\r\n"));
        assert!(contains(&wire.to_client, b"curve25519-sha256"));
        let agreed = lines(&transcript(&mut server));
        assert!(
            agreed
                .iter()
                .any(|l| l.contains("agreed:") && l.contains(cipher.name())),
            "{agreed:#?}"
        );
    }
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
        assert_eq!(paths, vec!["pub/photos/a.jpg", "pub/report.pdf"]);
        assert_eq!(client.received_dirs(), vec!["pub", "pub/photos"]);
    }
}

#[test]
fn files_larger_than_the_window_flow_both_ways() {
    // 3 MiB: more than the 2 MiB window, so WINDOW_ADJUST must come.
    let big: Vec<u8> = (0..3 * 1024 * 1024u32)
        .map(|i| (i * 7 % 251) as u8)
        .collect();
    let mut fs = MemFs::new();
    let mut server = new_server();
    let mut client = new_client(
        "wonderland",
        upload(
            "/uploads/big.bin",
            vec![ScpEntry::file("big.bin", big.clone())],
        ),
    );
    run(&mut client, &mut server, &mut fs, 100_000);
    assert!(client.succeeded(), "{:?}", client.error());
    assert_eq!(
        fs.file("/uploads/big.bin").map(|f| f.0.len()),
        Some(big.len())
    );

    let mut server = new_server();
    let mut client = new_client("wonderland", download("/uploads/big.bin", false));
    run(&mut client, &mut server, &mut fs, 100_000);
    assert!(client.succeeded(), "{:?}", client.error());
    assert_eq!(client.received()[0].data, Bytes::from(big));
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
    position(&server_lines, "C: exec \"scp -r -d -t .\"");
}

#[test]
fn failures_are_reported_with_exit_status_1() {
    let mut fs = MemFs::new();
    let mut server = new_server();
    let mut client = new_client("wonderland", download("/nope.txt", false));
    run(&mut client, &mut server, &mut fs, 100_000);
    assert!(client.is_done());
    assert!(!client.succeeded());
    assert_eq!(client.exit_status(), Some(1));
    let client_lines = lines(&transcript(&mut client));
    position(
        &client_lines,
        "S: \\1 scp: /nope.txt: No such file or directory",
    );

    let mut server = new_server();
    let mut client = new_client(
        "wonderland",
        upload("/pub/x", vec![ScpEntry::file("x", &b"x"[..])]),
    );
    run(&mut client, &mut server, &mut fs, 100_000);
    assert_eq!(client.exit_status(), Some(1));
    let server_lines = lines(&transcript(&mut server));
    position(&server_lines, "S: \\1 scp: /pub/x: Permission denied");
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
    position(&server_lines, "   wrong password for user alice");
    position(&server_lines, "S: userauth_failure (try: password)");
}

#[test]
fn a_wrong_host_key_stops_the_client_before_the_password() {
    let mut fs = MemFs::new();
    let mut impostor = ScpServer::new([0x66; 32], SERVER_SEED);
    let mut client = new_client("wonderland", download("/pub/report.pdf", false));
    run(&mut client, &mut impostor, &mut fs, 100_000);
    assert!(
        client.error().unwrap().contains("host key mismatch"),
        "{:?}",
        client.error()
    );
    assert_eq!(impostor.user(), None);
    let client_lines = lines(&transcript(&mut client));
    assert!(
        !client_lines.iter().any(|l| l.contains("userauth_request")),
        "{client_lines:#?}"
    );
    assert_eq!(
        client.server_host_key(),
        Some(HostKey::from_seed(&[0x66; 32]).public())
    );
}

/// An SSH client driven by hand: the real transport, then whatever
/// messages (or bytes) a test wants.
struct RawClient {
    transport: Transport,
    to_server: Vec<u8>,
    ready: bool,
    disconnected: bool,
}

impl RawClient {
    fn connect(server: &mut ScpServer, fs: &mut MemFs) -> RawClient {
        let mut raw = RawClient {
            transport: Transport::client(Some(host_public()), &CipherName::ALL, CLIENT_SEED),
            to_server: Vec::new(),
            ready: false,
            disconnected: false,
        };
        raw.exchange(server, fs);
        assert!(raw.ready);
        raw
    }

    /// Moves bytes both ways until quiet; returns the messages received.
    fn exchange(&mut self, server: &mut ScpServer, fs: &mut MemFs) -> Vec<Message> {
        let mut got = Vec::new();
        loop {
            let mut moved = false;
            while let Some(bytes) = self.transport.poll_output() {
                self.to_server.extend_from_slice(&bytes);
                server.handle_input(&bytes, fs);
                moved = true;
            }
            while let Some(bytes) = server.poll_output() {
                self.transport.handle_input(&bytes);
                moved = true;
            }
            while let Some(event) = self.transport.poll_event() {
                match event {
                    Event::Ready => self.ready = true,
                    Event::Message { payload, .. } => got.extend(Message::decode(&payload).ok()),
                    Event::Disconnected { .. } => self.disconnected = true,
                }
            }
            if !moved {
                return got;
            }
        }
    }

    fn send(&mut self, server: &mut ScpServer, fs: &mut MemFs, message: Message) -> Vec<Message> {
        self.transport.send(message.encode());
        self.exchange(server, fs)
    }

    fn login(&mut self, server: &mut ScpServer, fs: &mut MemFs) {
        let got = self.send(server, fs, password("wonderland"));
        assert_eq!(got, vec![Message::UserAuthSuccess]);
    }

    /// Runs `command` on a new channel: stdout, stderr, exit status.
    fn exec(
        &mut self,
        server: &mut ScpServer,
        fs: &mut MemFs,
        command: &str,
    ) -> (String, String, Option<u32>) {
        self.send(
            server,
            fs,
            Message::ChannelOpen {
                kind: "session".into(),
                sender: 5,
                window: 1 << 20,
                max_packet: 32768,
            },
        );
        let got = self.send(
            server,
            fs,
            Message::Request {
                recipient: 0,
                want_reply: true,
                request: ChannelRequest::Exec(command.into()),
            },
        );
        let (mut out, mut err, mut status) = (String::new(), String::new(), None);
        for m in got {
            match m {
                Message::Data { data, .. } => out.push_str(&String::from_utf8_lossy(&data)),
                Message::ExtendedData { data, .. } => err.push_str(&String::from_utf8_lossy(&data)),
                Message::Request {
                    request: ChannelRequest::ExitStatus(s),
                    ..
                } => status = Some(s),
                _ => {}
            }
        }
        (out, err, status)
    }
}

fn password(p: &str) -> Message {
    Message::UserAuthRequest {
        user: "alice".into(),
        service: "ssh-connection".into(),
        method: AuthMethod::Password(p.into()),
    }
}

#[test]
fn ssh_runs_ls_cat_and_pwd_over_the_same_files() {
    let mut fs = MemFs::new();
    for (command, out, err, status) in [
        ("ls /pub", "photos\nreport.pdf\n", "", 0),
        ("cat notes.txt", "my notes\n", "", 0),
        ("pwd", "/home/alice\n", "", 0),
        (
            "cat /nope",
            "",
            "cat: /nope: No such file or directory\n",
            1,
        ),
        ("rm -rf /", "", "sh: 1: rm: not found\n", 127),
    ] {
        let mut server = new_server();
        let mut raw = RawClient::connect(&mut server, &mut fs);
        raw.login(&mut server, &mut fs);
        assert_eq!(
            raw.exec(&mut server, &mut fs, command),
            (out.into(), err.into(), Some(status)),
            "{command}"
        );
    }
}

#[test]
fn three_wrong_passwords_and_you_are_out() {
    let mut fs = MemFs::new();
    let mut server = new_server();
    let mut raw = RawClient::connect(&mut server, &mut fs);
    // "none" asks which methods there are and is not counted.
    let none = Message::UserAuthRequest {
        user: "alice".into(),
        service: "ssh-connection".into(),
        method: AuthMethod::None,
    };
    let failure = Message::UserAuthFailure {
        methods: vec!["password".into()],
        partial: false,
    };
    assert_eq!(raw.send(&mut server, &mut fs, none), vec![failure.clone()]);
    assert_eq!(
        raw.send(&mut server, &mut fs, password("a")),
        vec![failure.clone()]
    );
    assert_eq!(raw.send(&mut server, &mut fs, password("b")), vec![failure]);
    raw.send(&mut server, &mut fs, password("c"));
    assert!(server.wants_close());
    assert!(raw.disconnected);
    // Even the right password is too late now.
    assert!(
        raw.send(&mut server, &mut fs, password("wonderland"))
            .is_empty()
    );
}

#[test]
fn out_of_order_messages_and_refused_requests() {
    let mut fs = MemFs::new();
    // A channel before authentication: a protocol error.
    let mut server = new_server();
    let mut raw = RawClient::connect(&mut server, &mut fs);
    raw.send(
        &mut server,
        &mut fs,
        Message::ChannelOpen {
            kind: "session".into(),
            sender: 0,
            window: 100,
            max_packet: 100,
        },
    );
    assert!(server.wants_close());

    // A shell, a pty, port forwarding: refused politely.
    let mut server = new_server();
    let mut raw = RawClient::connect(&mut server, &mut fs);
    raw.login(&mut server, &mut fs);
    let got = raw.send(
        &mut server,
        &mut fs,
        Message::ChannelOpen {
            kind: "direct-tcpip".into(),
            sender: 1,
            window: 100,
            max_packet: 100,
        },
    );
    assert!(
        matches!(
            got.as_slice(),
            [Message::ChannelOpenFailure { recipient: 1, .. }]
        ),
        "{got:?}"
    );
    raw.send(
        &mut server,
        &mut fs,
        Message::ChannelOpen {
            kind: "session".into(),
            sender: 2,
            window: 100,
            max_packet: 100,
        },
    );
    let got = raw.send(
        &mut server,
        &mut fs,
        Message::Request {
            recipient: 0,
            want_reply: true,
            request: ChannelRequest::Other("shell".into()),
        },
    );
    assert_eq!(got, vec![Message::ChannelFailure { recipient: 2 }]);
    let got = raw.send(
        &mut server,
        &mut fs,
        Message::GlobalRequest {
            name: "tcpip-forward".into(),
            want_reply: true,
        },
    );
    assert_eq!(got, vec![Message::RequestFailure]);
    assert!(!server.wants_close());
}

#[test]
fn a_tampered_packet_closes_the_connection_without_an_answer() {
    let mut fs = MemFs::new();
    let mut server = new_server();
    let mut raw = RawClient::connect(&mut server, &mut fs);
    raw.transport.send(password("wonderland").encode());
    let mut packet = raw.transport.poll_output().unwrap();
    packet[10] ^= 1;
    server.handle_input(&packet, &mut fs);
    assert!(server.wants_close());
    assert_eq!(server.poll_output(), None);
    assert_eq!(server.user(), None);
    let lines = lines(&transcript(&mut server));
    assert!(
        lines.iter().any(|l| l.contains("failed authentication")),
        "{lines:#?}"
    );
}

#[test]
fn an_injected_packet_before_kexinit_is_refused_under_strict_key_exchange() {
    // The Terrapin attack: a man in the middle slips a packet in before
    // the key exchange so that sequence numbers shift. Strict key
    // exchange makes the server notice.
    let mut fs = MemFs::new();
    let mut server = new_server();
    let mut client = Transport::client(Some(host_public()), &CipherName::ALL, CLIENT_SEED);
    let version = client.poll_output().unwrap();
    server.handle_input(&version, &mut fs);
    let mut injected = crate::proto::ssh::cipher::Sealer::new();
    let mut rng = <rand_chacha::ChaCha20Rng as rand_core::SeedableRng>::from_seed([0; 32]);
    server.handle_input(
        &injected.seal(&[crate::proto::ssh::msg::IGNORE], &mut rng),
        &mut fs,
    );
    let kexinit = client.poll_output().unwrap();
    server.handle_input(&kexinit, &mut fs);
    assert!(server.wants_close());
    let lines = lines(&transcript(&mut server));
    assert!(
        lines.iter().any(|l| l.contains("strict key exchange")),
        "{lines:#?}"
    );
}

#[test]
fn a_stranger_gets_an_answer_in_the_clear() {
    let mut fs = MemFs::new();
    let mut server = new_server();
    while server.poll_output().is_some() {}
    server.handle_input(b"GET / HTTP/1.1\r\n", &mut fs);
    assert_eq!(
        server.poll_output().as_deref(),
        Some(&b"Invalid SSH identification string.\r\n"[..])
    );
    assert!(server.wants_close());
}

#[test]
fn paths_resolve_against_home() {
    assert_eq!(
        server::resolve_path("/home/alice", "notes.txt"),
        "/home/alice/notes.txt"
    );
    assert_eq!(
        server::resolve_path("/home/alice", "~/a/../b"),
        "/home/alice/b"
    );
    assert_eq!(server::resolve_path("/home/alice", "/../../etc"), "/etc");
}

fn plausible_message() -> impl Strategy<Value = Message> {
    let text = "[a-z /.~-]{0,12}";
    prop_oneof![
        Just(password("wonderland")),
        text.prop_map(|p| password(&p)),
        (0u32..3).prop_map(|sender| Message::ChannelOpen {
            kind: "session".into(),
            sender,
            window: 1000,
            max_packet: 100
        }),
        (text, any::<bool>()).prop_map(|(c, w)| Message::Request {
            recipient: 0,
            want_reply: w,
            request: ChannelRequest::Exec(format!("scp -t {c}"))
        }),
        (text, any::<bool>()).prop_map(|(c, w)| Message::Request {
            recipient: 0,
            want_reply: w,
            request: ChannelRequest::Exec(c)
        }),
        prop::collection::vec(any::<u8>(), 0..40)
            .prop_map(|data| Message::Data { recipient: 0, data }),
        Just(Message::Eof { recipient: 0 }),
        Just(Message::Close { recipient: 0 }),
        any::<u32>().prop_map(|bytes| Message::WindowAdjust {
            recipient: 0,
            bytes
        }),
        Just(Message::GlobalRequest {
            name: "keepalive@openssh.com".into(),
            want_reply: true
        }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn arbitrary_bytes_before_the_handshake(chunks in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..120), 0..6)) {
        let mut fs = MemFs::new();
        let mut server = new_server();
        let mut version = b"SSH-2.0-x\r\n".to_vec();
        for chunk in &chunks {
            version.extend_from_slice(chunk);
            server.handle_input(chunk, &mut fs);
        }
        let mut server = new_server();
        server.handle_input(&version, &mut fs);
        while server.poll_output().is_some() {}
    }

    #[test]
    fn arbitrary_bytes_after_the_handshake_close_the_connection(bytes in prop::collection::vec(any::<u8>(), 40..300)) {
        let mut fs = MemFs::new();
        let mut server = new_server();
        let _raw = RawClient::connect(&mut server, &mut fs);
        server.handle_input(&bytes, &mut fs);
        prop_assert!(server.wants_close() || server.user().is_none());
    }

    #[test]
    fn arbitrary_bytes_never_make_the_client_panic(chunks in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..200), 1..6)) {
        let mut client = new_client("wonderland", download("/pub/report.pdf", false));
        let mut reply = b"SSH-2.0-x\r\n".to_vec();
        reply.extend(chunks.concat());
        for piece in reply.chunks(37) {
            client.handle_input(piece);
            while client.poll_output().is_some() {}
        }
        prop_assert!(!client.succeeded());
        while client.poll_transcript().is_some() {}
    }

    #[test]
    fn plausible_messages_are_answered_or_closed(messages in prop::collection::vec(plausible_message(), 1..12)) {
        let mut fs = MemFs::new();
        let mut server = new_server();
        let mut raw = RawClient::connect(&mut server, &mut fs);
        for m in messages {
            raw.send(&mut server, &mut fs, m);
        }
        while server.poll_transcript().is_some() {}
    }
}

mod client_walk;
