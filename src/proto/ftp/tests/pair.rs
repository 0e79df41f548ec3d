//! A client and a server joined by in-memory pipes, control and data
//! connections, the way the simulated TCP or real sockets would join them:
//! transfers both ways in every mode, one byte at a time too, and the
//! client's answers to the server's refusals.

use super::*;

/// Joins an [`FtpClient`] and an [`FtpServer`] with in-memory control and
/// data connections, the way the simulated TCP or real sockets would.
struct Pair {
    client: FtpClient,
    server: FtpServer,
    vfs: Vfs,
    server_ports: Ports,
    client_ports: Ports,
    /// The data connection between the two, if one is open.
    link: bool,
    /// A firewall in front of the client drops connections to it.
    firewall: bool,
    /// Deliver bytes in pieces of this size (control and data).
    chunk: usize,
    /// Tell the server about passive connections only after the control
    /// bytes in flight were delivered (so RETR arrives first: 150).
    late_accept: bool,
    pending_accept: bool,
    /// Every byte that crossed a data connection, in order.
    data_log: Vec<u8>,
    server_transcript: Vec<Transcript>,
}

impl Pair {
    fn new(config: FtpClientConfig) -> Pair {
        Pair {
            client: FtpClient::new(config),
            server: FtpServer::new(FtpServerConfig::default()),
            vfs: world(),
            server_ports: Ports::new(SERVER_IP, 50_000),
            client_ports: Ports::new(CLIENT_IP, 40_000),
            link: false,
            firewall: false,
            chunk: usize::MAX,
            late_accept: false,
            pending_accept: false,
            data_log: Vec::new(),
            server_transcript: Vec::new(),
        }
    }

    fn alice(mode: DataMode, extended: bool, steps: Vec<Step>) -> Pair {
        let mut config = FtpClientConfig::new("alice", "wonderland", SERVER_IP);
        config.mode = mode;
        config.extended = extended;
        config.steps = steps;
        Pair::new(config)
    }

    fn run(&mut self) {
        for _ in 0..10_000 {
            let mut progress = self.pump_control();
            progress |= self.pump_data();
            if !progress && self.pending_accept {
                self.pending_accept = false;
                self.server
                    .handle_data_connected(&mut self.vfs, &mut self.server_ports, NOW);
                progress = true;
            }
            self.server_transcript
                .extend(std::iter::from_fn(|| self.server.poll_transcript()));
            if !progress {
                break;
            }
        }
        if self.server.wants_close() {
            self.client.handle_close();
        }
        assert!(
            self.client.is_done(),
            "client stuck in {}",
            self.client.state_name()
        );
    }

    fn pump_control(&mut self) -> bool {
        let mut progress = false;
        while let Some(bytes) = self.client.poll_output() {
            for piece in bytes.chunks(self.chunk.min(bytes.len()).max(1)) {
                self.server
                    .handle_input(piece, &mut self.vfs, &mut self.server_ports, NOW);
            }
            progress = true;
        }
        while let Some(bytes) = self.server.poll_output() {
            for piece in bytes.chunks(self.chunk.min(bytes.len()).max(1)) {
                self.client.handle_input(piece, &mut self.client_ports);
            }
            progress = true;
        }
        progress
    }

    fn pump_data(&mut self) -> bool {
        let mut progress = false;
        while let Some(request) = self.server.poll_data_request() {
            self.server_request(request);
            progress = true;
        }
        while let Some(request) = self.client.poll_data_request() {
            self.client_request(request);
            progress = true;
        }
        progress
    }

    fn server_request(&mut self, request: DataRequest) {
        let (vfs, sp, cp) = (
            &mut self.vfs,
            &mut self.server_ports,
            &mut self.client_ports,
        );
        match request {
            DataRequest::Connect { to } => {
                if !self.firewall && cp.listener == Some(to) {
                    cp.listener = None;
                    self.link = true;
                    self.server.handle_data_connected(vfs, sp, NOW);
                    self.client.handle_data_connected(cp);
                } else {
                    self.server.handle_data_failed(vfs, sp, NOW);
                }
            }
            DataRequest::Send(bytes) => {
                assert!(self.link, "server sends without a connection");
                self.data_log.extend_from_slice(&bytes);
                for piece in bytes.chunks(self.chunk.min(bytes.len()).max(1)) {
                    self.client.handle_data_input(piece);
                }
            }
            DataRequest::Close => {
                assert!(self.link, "server closes without a connection");
                self.link = false;
                self.client.handle_data_closed(cp);
                self.server.handle_data_sent(vfs, sp, NOW);
            }
            DataRequest::Abort => {
                sp.listener = None;
                if std::mem::take(&mut self.link) {
                    self.client.handle_data_closed(cp);
                }
            }
        }
    }

    fn client_request(&mut self, request: DataRequest) {
        let (vfs, sp, cp) = (
            &mut self.vfs,
            &mut self.server_ports,
            &mut self.client_ports,
        );
        match request {
            DataRequest::Connect { to } => {
                if sp.listener == Some(to) {
                    sp.listener = None;
                    self.link = true;
                    self.client.handle_data_connected(cp);
                    if self.late_accept {
                        self.pending_accept = true;
                    } else {
                        self.server.handle_data_connected(vfs, sp, NOW);
                    }
                } else {
                    self.client.handle_data_failed(cp);
                }
            }
            DataRequest::Send(bytes) => {
                assert!(self.link, "client sends without a connection");
                self.data_log.extend_from_slice(&bytes);
                for piece in bytes.chunks(self.chunk.min(bytes.len()).max(1)) {
                    self.server.handle_data_input(piece);
                }
            }
            DataRequest::Close => {
                assert!(self.link, "client closes without a connection");
                self.link = false;
                self.server.handle_data_closed(vfs, sp, NOW);
                self.client.handle_data_sent(cp);
            }
            DataRequest::Abort => {
                cp.listener = None;
                if std::mem::take(&mut self.link) {
                    self.server.handle_data_closed(vfs, sp, NOW);
                }
            }
        }
    }

    fn codes(&self) -> Vec<Option<u16>> {
        self.client.outcomes().iter().map(|o| o.code).collect()
    }

    fn server_said(&self, code: u16) -> bool {
        self.server_transcript
            .iter()
            .any(|t| matches!(t, Transcript::Reply { code: Some(c), .. } if *c == code))
    }
}

fn sha(data: &[u8]) -> Vec<u8> {
    Sha256::digest(data).to_vec()
}

/// LIST, RETR, STOR of a binary file and RETR of it back, in one mode.
fn round_trip(mode: DataMode, extended: bool, chunk: usize) -> Pair {
    let upload = generate_bytes(1234, 70_000);
    let mut pair = Pair::alice(
        mode,
        extended,
        vec![
            Step::Pwd,
            Step::List(None),
            Step::Cwd("pub".into()),
            Step::Type(TransferType::Image),
            Step::Retr("blob.bin".into()),
            Step::Stor("upload.bin".into(), upload.clone()),
            Step::Retr("upload.bin".into()),
            Step::Nlst(None),
        ],
    );
    pair.chunk = chunk;
    pair.run();
    assert!(pair.client.logged_in());
    assert_eq!(pair.client.login_reply().unwrap().code, 230);
    assert_eq!(
        pair.codes(),
        [
            Some(257),
            Some(226),
            Some(250),
            Some(200),
            Some(226),
            Some(226),
            Some(226),
            Some(226)
        ]
    );
    assert!(pair.client.failures().is_empty());
    assert_eq!(
        pair.client.listings()[0],
        "-rw-r--r--    1 alice    ftp            12 Mar  2 14:05 notes.txt\n\
         drwxr-xr-x    1 alice    ftp          4096 Mar  2 14:05 pub\n"
    );
    assert_eq!(
        pair.client.listings()[1],
        "README.txt\nblob.bin\nupload.bin\n"
    );
    let blob = pair.client.download("blob.bin").unwrap();
    assert_eq!(sha(blob), sha(&generate_bytes(9, 5000)));
    // TYPE I: byte-identical both ways.
    let stored = pair.vfs.get_file(&p("/home/alice/pub/upload.bin")).unwrap();
    assert_eq!(sha(&stored), sha(&upload));
    assert_eq!(
        sha(pair.client.download("upload.bin").unwrap()),
        sha(&upload)
    );
    assert!(pair.server.wants_close());
    assert_eq!(pair.client.state_name(), "DONE");
    pair
}

#[test]
fn passive_round_trip_with_pasv() {
    let pair = round_trip(DataMode::Passive, false, usize::MAX);
    assert!(pair.server_said(227));
    assert!(pair.server_said(125));
    let t = &pair.server_transcript;
    assert!(t.contains(&Transcript::Data(
        "(data connection: 5000 bytes of blob.bin)".into()
    )));
    assert!(t.contains(&Transcript::Data(
        "(data connection: 70000 bytes of upload.bin)".into()
    )));
    assert!(t.contains(&Transcript::Command("PASS wonderland".into())));
    assert_eq!(
        t.last(),
        Some(&Transcript::Reply {
            code: Some(221),
            text: "221 Goodbye.".into()
        })
    );
}

#[test]
fn passive_round_trip_with_epsv() {
    let pair = round_trip(DataMode::Passive, true, usize::MAX);
    assert!(pair.server_said(229));
    assert!(!pair.server_said(227));
}

#[test]
fn active_round_trip_with_port() {
    let pair = round_trip(DataMode::Active, false, usize::MAX);
    assert!(
        pair.server_transcript
            .contains(&Transcript::Command("PORT 10,0,0,2,156,64".into()))
    );
    assert!(pair.server_said(150));
    assert!(!pair.server_said(125));
}

#[test]
fn active_round_trip_with_eprt() {
    let pair = round_trip(DataMode::Active, true, usize::MAX);
    assert!(
        pair.server_transcript
            .contains(&Transcript::Command("EPRT |1|10.0.0.2|40000|".into()))
    );
}

#[test]
fn everything_still_works_one_byte_at_a_time() {
    round_trip(DataMode::Passive, false, 1);
    round_trip(DataMode::Active, true, 7);
}

#[test]
fn passive_connection_reported_late_gets_150() {
    let mut pair = Pair::alice(
        DataMode::Passive,
        false,
        vec![Step::Retr("notes.txt".into())],
    );
    pair.late_accept = true;
    pair.run();
    assert_eq!(pair.codes(), [Some(226)]);
    assert!(pair.server_said(150));
    assert_eq!(
        &pair.client.download("notes.txt").unwrap()[..],
        b"hello\nworld\n"
    );
}

#[test]
fn type_a_converts_line_ends_both_ways() {
    let mut pair = Pair::alice(
        DataMode::Passive,
        false,
        vec![
            Step::Type(TransferType::Ascii),
            Step::Retr("notes.txt".into()),
            Step::Stor("up.txt".into(), Bytes::from_static(b"one\ntwo\n")),
        ],
    );
    pair.run();
    assert_eq!(pair.codes(), [Some(200), Some(226), Some(226)]);
    // On the wire: CRLF both ways.
    assert_eq!(pair.data_log, b"hello\r\nworld\r\none\r\ntwo\r\n");
    // In the stores: LF.
    assert_eq!(
        &pair.client.download("notes.txt").unwrap()[..],
        b"hello\nworld\n"
    );
    assert_eq!(
        &pair.vfs.get_file(&p("/home/alice/up.txt")).unwrap()[..],
        b"one\ntwo\n"
    );
    // The same file in TYPE I arrives as stored.
    let mut pair = Pair::alice(
        DataMode::Passive,
        false,
        vec![
            Step::Type(TransferType::Image),
            Step::Retr("notes.txt".into()),
        ],
    );
    pair.run();
    assert_eq!(pair.data_log, b"hello\nworld\n");
}

#[test]
fn rest_resumes_a_download() {
    let mut pair = Pair::alice(
        DataMode::Active,
        false,
        vec![
            Step::Type(TransferType::Image),
            Step::RetrFrom("pub/blob.bin".into(), 4000),
        ],
    );
    pair.run();
    assert_eq!(pair.codes(), [Some(200), Some(226)]);
    assert!(pair.server_said(350));
    assert_eq!(
        pair.client.download("pub/blob.bin").unwrap(),
        &generate_bytes(9, 5000).slice(4000..)
    );
}

#[test]
fn directory_steps_and_rename() {
    let mut pair = Pair::alice(
        DataMode::Passive,
        false,
        vec![
            Step::Mkd("docs".into()),
            Step::Rename("notes.txt".into(), "docs/notes.md".into()),
            Step::Cwd("docs".into()),
            Step::Pwd,
            Step::Size("notes.md".into()),
            Step::Mdtm("notes.md".into()),
            Step::Cdup,
            Step::Rmd("docs".into()),
            Step::Dele("docs/notes.md".into()),
            Step::Rmd("docs".into()),
            Step::Noop,
            Step::Raw("SYST".into()),
        ],
    );
    pair.run();
    assert_eq!(
        pair.codes(),
        [
            Some(257),
            Some(250),
            Some(250),
            Some(257),
            Some(213),
            Some(213),
            Some(250),
            Some(550),
            Some(250),
            Some(250),
            Some(200),
            Some(215)
        ]
    );
    let outcomes = pair.client.outcomes();
    assert_eq!(outcomes[0].text, "\"/docs\" created.");
    assert_eq!(outcomes[1].command, "RNTO docs/notes.md");
    assert_eq!(outcomes[3].text, "\"/docs\" is the current directory.");
    assert_eq!(outcomes[4].text, "14");
    assert_eq!(outcomes[5].text, "20260302140509");
    assert_eq!(pair.client.failures().len(), 1);
}

#[test]
fn firewalled_active_client_gets_425_and_carries_on() {
    let mut pair = Pair::alice(
        DataMode::Active,
        false,
        vec![Step::Retr("notes.txt".into()), Step::List(None), Step::Pwd],
    );
    pair.firewall = true;
    pair.run();
    assert_eq!(pair.codes(), [Some(425), Some(425), Some(257)]);
    assert_eq!(
        pair.client.failures()[0].text,
        "Can't open data connection."
    );
    assert!(pair.client.downloads().is_empty());
}

#[test]
fn quota_full_upload_gets_452() {
    let mut pair = Pair::alice(
        DataMode::Passive,
        true,
        vec![
            Step::Type(TransferType::Image),
            Step::Stor("huge.bin".into(), generate_bytes(5, 1_200_000)),
            Step::Stor("small.bin".into(), generate_bytes(5, 1000)),
        ],
    );
    pair.run();
    assert_eq!(pair.codes(), [Some(200), Some(452), Some(226)]);
    assert!(pair.vfs.get_file(&p("/home/alice/huge.bin")).is_err());
}

#[test]
fn wrong_password_ends_with_530_and_quit() {
    let mut config = FtpClientConfig::new("alice", "guess", SERVER_IP);
    config.steps = vec![Step::Pwd];
    let mut pair = Pair::new(config);
    pair.run();
    assert!(!pair.client.logged_in());
    assert_eq!(pair.client.login_reply().unwrap().code, 530);
    assert!(pair.client.outcomes().is_empty());
    assert!(pair.server.wants_close());
}

#[test]
fn missing_files_and_bad_names_fail_with_550_and_553() {
    let mut pair = Pair::alice(
        DataMode::Passive,
        false,
        vec![
            Step::Retr("ghost.txt".into()),
            Step::Stor("no/such/dir.txt".into(), Bytes::from_static(b"x")),
            Step::Appe("pub".into(), Bytes::from_static(b"x")),
            Step::List(Some("ghost".into())),
            Step::Retr("notes.txt".into()),
        ],
    );
    pair.run();
    assert_eq!(
        pair.codes(),
        [Some(550), Some(553), Some(553), Some(450), Some(226)]
    );
    assert_eq!(pair.client.failures().len(), 4);
}

#[test]
fn client_traversal_attempts_stay_inside() {
    let mut pair = Pair::alice(
        DataMode::Passive,
        false,
        vec![
            Step::Cwd("../../..".into()),
            Step::Pwd,
            Step::Retr("../bob/secret.txt".into()),
            Step::Retr("..\\..\\etc\\passwd".into()),
            Step::Stor("../../secret.txt".into(), Bytes::from_static(b"mine\n")),
            Step::List(Some("../..".into())),
        ],
    );
    pair.run();
    assert_eq!(
        pair.codes(),
        [
            Some(250),
            Some(257),
            Some(550),
            Some(550),
            Some(226),
            Some(226)
        ]
    );
    assert_eq!(
        pair.client.outcomes()[1].text,
        "\"/\" is the current directory."
    );
    assert_eq!(
        &pair.vfs.get_file(&p("/home/alice/secret.txt")).unwrap()[..],
        b"mine\n"
    );
    assert_eq!(
        &pair.vfs.get_file(&p("/home/bob/secret.txt")).unwrap()[..],
        b"bob's secret\n"
    );
    assert!(pair.client.listings()[0].contains("notes.txt"));
}

#[test]
fn epsv_refused_falls_back_to_pasv() {
    // A server that does not know EPSV answers 500; the client tries PASV.
    let mut pair = Pair::alice(
        DataMode::Passive,
        true,
        vec![Step::Retr("notes.txt".into())],
    );
    pair.server
        .handle_input(b"", &mut pair.vfs, &mut pair.server_ports, NOW);
    // Drive by hand until EPSV is sent, then answer it ourselves.
    let greeting = pair.server.poll_output().unwrap();
    pair.client.handle_input(&greeting, &mut pair.client_ports);
    for _ in 0..2 {
        let line = pair.client.poll_output().unwrap();
        pair.server
            .handle_input(&line, &mut pair.vfs, &mut pair.server_ports, NOW);
        let reply = pair.server.poll_output().unwrap();
        pair.client.handle_input(&reply, &mut pair.client_ports);
    }
    assert_eq!(pair.client.poll_output().unwrap(), b"EPSV\r\n");
    pair.client
        .handle_input(b"500 Unknown command.\r\n", &mut pair.client_ports);
    assert_eq!(pair.client.poll_output().unwrap(), b"PASV\r\n");
    pair.server
        .handle_input(b"PASV\r\n", &mut pair.vfs, &mut pair.server_ports, NOW);
    pair.run();
    assert_eq!(pair.codes(), [Some(226)]);
}

#[test]
fn server_going_away_ends_the_client() {
    let mut pair = Pair::alice(DataMode::Passive, false, vec![Step::Pwd]);
    let greeting = pair.server.poll_output().unwrap();
    pair.client.handle_input(&greeting, &mut pair.client_ports);
    pair.client
        .handle_input(b"421 Service closing.\r\n", &mut pair.client_ports);
    assert!(pair.client.is_done());
    let mut pair = Pair::alice(DataMode::Passive, false, vec![Step::Pwd]);
    pair.client
        .handle_input(b"220 hi\r\n", &mut pair.client_ports);
    pair.client
        .handle_input(b"garbage\r\n", &mut pair.client_ports);
    assert!(pair.client.is_done());
    assert!(pair.client.error().unwrap().contains("bad reply"));
}

#[test]
fn state_diagrams_name_only_known_states() {
    for (from, to, _) in TRANSITIONS {
        assert!(
            STATES.contains(from) && STATES.contains(to),
            "{from} -> {to}"
        );
    }
    for (from, to, _) in CLIENT_TRANSITIONS {
        assert!(
            CLIENT_STATES.contains(from) && CLIENT_STATES.contains(to),
            "{from} -> {to}"
        );
    }
}
