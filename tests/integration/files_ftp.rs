//! FTP in the simulated network: one control connection, a new data
//! connection per transfer (from port 20 in active mode), TYPE A and TYPE I,
//! users kept inside their roots, the error paths (425, 452, 530, 550),
//! commands split across segments, and determinism.

use crate::files_support;

use files_support::*;
use std::collections::BTreeSet;
use std::process::Command;
use wiretale::apps::files::{FileServer, FtpUser, generated_content, sha256_hex};
use wiretale::apps::vfs::VPath;
use wiretale::net::packet::Payload;
use wiretale::scenario::{self, Run};

/// The events of `wiretale run SCENARIO --format jsonl`, parsed.
fn cli_jsonl(scenario: &str, extra: &[&str]) -> (Vec<Fields>, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_wiretale"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["run", scenario, "--format", "jsonl"])
        .args(extra)
        .output()
        .expect("wiretale runs");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "wiretale failed: {stderr}");
    let stdout = String::from_utf8(out.stdout).expect("UTF-8");
    let events = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    (events, stdout)
}

fn syns(events: &[Fields]) -> Vec<&Fields> {
    select(events, "tcp", "segment_sent")
        .into_iter()
        .filter(|f| f["flags"] == "SYN")
        .collect()
}

fn time(f: &Fields) -> u64 {
    f["time_us"].as_u64().unwrap()
}

#[test]
fn ftp_session_jsonl_one_control_connection_and_a_data_connection_per_transfer() {
    let (events, _) = cli_jsonl("scenarios/ftp_session.ron", &[]);

    // One control connection to port 21 for the whole session.
    let syns = syns(&events);
    let control: Vec<_> = syns.iter().filter(|f| port(f, "dst") == 21).collect();
    assert_eq!(control.len(), 1, "one control connection");
    assert_eq!(control[0]["host"], "alice-pc");
    let dialogue_conns: BTreeSet<String> = select(&events, "ftp", "command")
        .iter()
        .chain(select(&events, "ftp", "reply").iter())
        .map(|f| text(f, "conn"))
        .collect();
    assert_eq!(dialogue_conns.len(), 1, "every command and reply on it");

    // Active mode: every data connection is opened by the server, from
    // port 20, to a new client port; the client opens nothing but the
    // control connection.
    let data: Vec<_> = syns
        .iter()
        .filter(|f| f["host"] == "files" && port(f, "src") == 20)
        .collect();
    assert_eq!(
        data.len(),
        4,
        "LIST, RETR, RETR, STOR: four data connections"
    );
    let client_ports: BTreeSet<u16> = data.iter().map(|f| port(f, "dst")).collect();
    assert_eq!(client_ports.len(), 4, "each on a new connection");
    assert_eq!(syns.iter().filter(|f| f["host"] == "alice-pc").count(), 1);
    for opened in select(&events, "ftp", "data_opened") {
        assert_eq!(opened["opened_by"], "server");
        assert_eq!(opened["server_port"], 20);
    }

    // Each transfer command is followed by its own data connection
    // before the next command.
    let mut transfers = Vec::new();
    let mut current: Option<String> = None;
    for f in &events {
        if f["layer"] == "ftp" && f["event"] == "command" {
            current = Some(text(f, "line"));
        }
        if f["layer"] == "ftp" && f["event"] == "data_opened" {
            transfers.push(current.clone().unwrap_or_default());
        }
    }
    assert_eq!(
        transfers,
        vec![
            "LIST",
            "RETR report.txt",
            "RETR photo.jpg",
            "STOR notes.txt"
        ]
    );

    // The replies of the figure.
    let codes = reply_codes(&events, "ftp");
    for code in [220, 331, 230, 200, 226, 221] {
        assert!(codes.contains(&code), "{code} in {codes:?}");
    }
    assert!(codes.contains(&150) || codes.contains(&125));
    assert_eq!(codes.iter().filter(|&&c| c == 226).count(), 4);
    let user = codes.iter().position(|&c| c == 331).unwrap();
    let logged_in = codes.iter().position(|&c| c == 230).unwrap();
    assert!(user < logged_in);

    // The control connection stays open while the data connections come
    // and go: its first FIN follows the last data connection's end.
    let last_data_closed = select(&events, "ftp", "data_closed")
        .iter()
        .map(|f| time(f))
        .max()
        .unwrap();
    let control_fin = select(&events, "tcp", "segment_sent")
        .into_iter()
        .filter(|f| text(f, "flags").contains("FIN"))
        .filter(|f| port(f, "src") == 21 || port(f, "dst") == 21)
        .map(time)
        .min()
        .unwrap();
    assert!(control_fin > last_data_closed);
    let data_fins = select(&events, "tcp", "segment_sent")
        .into_iter()
        .filter(|f| text(f, "flags").contains("FIN") && port(f, "src") == 20)
        .count();
    assert_eq!(data_fins, 4, "the server ends each data connection once");
}

const TYPES: &str = r#"Scenario(
    version: 1,
    title: "types",
    until: "20s",
    hosts: [
        Host(name: "pc"),
        Host(name: "files", role: FileServer(
            users: [User(name: "alice", password: "pw")],
            files: [
                File(path: "/alice/text.txt", text: "line one\nline two\n"),
                File(path: "/alice/blob.bin", size: "1MB"),
            ],
        )),
    ],
    links: [Link(a: "pc", b: "files")],
    actions: [
        Action(at: "10ms", host: "pc", do: Ftp(server: "files", user: "alice", password: "pw", mode: Passive, steps: [
            Type(Ascii), Retr("text.txt"),
            Type(Binary), Retr("blob.bin"),
            Type(Ascii), Retr("blob.bin"),
            Stor(name: "up.txt", text: "a\nb\n"),
            Type(Binary), Stor(name: "up.bin", size: "10KB"),
        ])),
    ],
)"#;

/// True if some TCP segment carried exactly `bytes`.
fn some_segment_carries(run: &Run, bytes: &[u8]) -> bool {
    run.world.trace().packets.iter().any(|p| match &p.payload {
        Payload::Tcp(s) => s.payload.as_ref() == bytes,
        Payload::Udp(_) => false,
    })
}

#[test]
fn type_i_is_byte_identical_and_type_a_converts_line_ends() {
    let run = run_text(TYPES);
    let user = run.app::<FtpUser>("pc").unwrap();
    let session = &user.sessions()[0];
    assert!(
        session.outcomes.iter().all(|o| o.ok()),
        "{:?}",
        session.outcomes
    );
    let downloads = user.downloads();
    assert_eq!(downloads.len(), 3);

    // TYPE A text: CRLF on the wire, LF again on arrival.
    assert_eq!(&downloads[0].data[..], b"line one\nline two\n");
    assert!(some_segment_carries(&run, b"line one\r\nline two\r\n"));

    // TYPE I: the very same bytes, hash for hash.
    let original = generated_content("/alice/blob.bin", 1_000_000);
    assert_eq!(downloads[1].sha256, sha256_hex(&original));
    assert_eq!(downloads[1].data, original);

    // The classic mistake: a binary file in TYPE A arrives damaged (every
    // CR LF pair in it loses its CR).
    let pairs = original.windows(2).filter(|w| w == b"\r\n").count();
    assert!(pairs > 0);
    assert_ne!(downloads[2].sha256, downloads[1].sha256);
    assert_eq!(downloads[2].data.len(), original.len() - pairs);

    // Uploads: TYPE A turns the wire's CRLF back into LF; TYPE I keeps
    // every byte.
    let server = run.app::<FileServer>("files").unwrap();
    let up = server
        .vfs()
        .get_file(&VPath::parse("/alice/up.txt").unwrap());
    assert_eq!(&up.unwrap()[..], b"a\nb\n");
    assert!(some_segment_carries(&run, b"a\r\nb\r\n"));
    let bin = server
        .vfs()
        .get_file(&VPath::parse("/alice/up.bin").unwrap());
    assert_eq!(bin.unwrap(), generated_content("up.bin", 10_000));
}

const ESCAPES: &str = r#"Scenario(
    version: 1,
    title: "escapes",
    until: "20s",
    hosts: [
        Host(name: "pc"),
        Host(name: "files", role: FileServer(
            users: [
                User(name: "alice", password: "pw", home: "/home/alice"),
                User(name: "bob", password: "bpw", home: "/home/bob"),
            ],
            files: [
                File(path: "/home/alice/mine.txt", text: "mine\n"),
                File(path: "/home/bob/secret.txt", text: "TOP SECRET\n"),
                File(path: "/etc/passwd", text: "root:x:0:0\n"),
            ],
        )),
    ],
    links: [Link(a: "pc", b: "files")],
    actions: [
        Action(at: "10ms", host: "pc", do: Ftp(server: "files", user: "alice", password: "pw", steps: [
            Retr("../bob/secret.txt"),
            Retr("/../../home/bob/secret.txt"),
            Retr("..\\bob\\secret.txt"),
            Retr("../../etc/passwd"),
            Cwd("../../.."),
            Pwd,
            ListPath("/.."),
            ListPath("../../home/bob"),
            Stor(name: "../bob/evil.txt", text: "pwned\n"),
            Stor(name: "../../evil.txt", text: "pwned\n"),
            Stor(name: "/../../etc/passwd", text: "evil\n"),
            Rename("mine.txt", "../../home/bob/mine.txt"),
            Dele("../bob/secret.txt"),
        ])),
    ],
)"#;

#[test]
fn escape_attempts_stay_inside_the_users_root() {
    let run = run_text(ESCAPES);
    let user = run.app::<FtpUser>("pc").unwrap();
    let session = &user.sessions()[0];
    let codes: Vec<Option<u16>> = session.outcomes.iter().map(|o| o.code).collect();
    assert_eq!(
        codes,
        [
            550, 550, 550, 550, // no RETR reaches another tree
            250, 257, // CWD ../../.. succeeds: the root is its own parent
            226, 450, // LIST /.. is Alice's root; ../../home/bob does not exist in it
            553, // STOR ../bob/evil.txt: there is no /bob in Alice's root
            226, // STOR ../../evil.txt lands in Alice's root
            553, // STOR /../../etc/passwd: there is no /etc in it either
            553, 550, // no RENAME or DELE outside either
        ]
        .map(Some)
    );
    assert!(session.outcomes[5].text.starts_with("\"/\""));
    assert!(user.downloads().is_empty());
    assert!(session.listings[0].contains("mine.txt"));

    let server = run.app::<FileServer>("files").unwrap();
    let files: Vec<String> = server
        .vfs()
        .files()
        .iter()
        .map(|(p, _)| p.to_string())
        .collect();
    assert_eq!(
        files,
        [
            "/etc/passwd",
            "/home/alice/evil.txt",
            "/home/alice/mine.txt",
            "/home/bob/secret.txt"
        ]
    );
    let get = |p: &str| server.vfs().get_file(&VPath::parse(p).unwrap()).unwrap();
    assert_eq!(&get("/etc/passwd")[..], b"root:x:0:0\n");
    assert_eq!(&get("/home/bob/secret.txt")[..], b"TOP SECRET\n");

    // Nothing of Bob's or the system's crossed the network.
    for p in &run.world.trace().packets {
        let data = p.app_payload();
        for secret in [&b"TOP SECRET"[..], b"root:x"] {
            assert!(!data.windows(secret.len()).any(|w| w == secret));
        }
    }
}

#[test]
fn the_error_paths_425_452_530_550() {
    // A firewall drops the server's active connection: 425 after the
    // data timeout, on the server's side; a failed step on the client's,
    // and the session goes on.
    let run = run_bundled("ftp_passive");
    let events = events(&run);
    let codes = reply_codes(&events, "ftp");
    assert_eq!(codes.iter().filter(|&&c| c == 425).count(), 1);
    let failed = select(&events, "ftp", "data_failed");
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0]["reason"], "timeout");
    assert!(time(failed[0]) >= 10_000_000);
    let user = run.app::<FtpUser>("alice-pc").unwrap();
    let sessions = user.sessions();
    assert_eq!(sessions[0].outcomes[0].command, "LIST");
    assert_eq!(sessions[0].outcomes[0].code, Some(425));
    assert!(sessions[0].outcomes[1].ok(), "PWD after the 425");
    assert!(sessions[0].done && sessions[0].error.is_none());
    assert!(sessions[1].outcomes.iter().all(|o| o.ok()));
    let dropped = select(&events, "tcp", "segment_dropped");
    assert!(
        dropped
            .iter()
            .all(|f| f["reason"] == "firewall" && port(f, "src") == 20)
    );
    assert!(dropped.len() >= 3, "the SYN and its retransmissions");

    // 530, 550 and 452.
    let run = run_bundled("ftp_errors");
    let events = files_support::events(&run);
    let codes = reply_codes(&events, "ftp");
    for code in [530, 550, 452] {
        assert!(codes.contains(&code), "{code} in {codes:?}");
    }
    let user = run.app::<FtpUser>("alice-pc").unwrap();
    let sessions = user.sessions();
    assert_eq!(sessions[0].login_code, Some(530));
    assert!(!sessions[0].logged_in && sessions[0].outcomes.is_empty());
    let stor = &sessions[1].outcomes[1];
    assert_eq!(
        (stor.command.as_str(), stor.code),
        ("STOR big.bin", Some(452))
    );
}

const SPLIT: &str = r#"Scenario(
    version: 1,
    title: "tiny segments",
    until: "30s",
    tcp: (mss: 7),
    hosts: [
        Host(name: "pc"),
        Host(name: "files", role: FileServer(
            users: [User(name: "alice", password: "wonderland")],
            files: [File(path: "/alice/a-file-with-a-rather-long-name.txt", text: "split but whole\n")],
        )),
    ],
    links: [Link(a: "pc", b: "files")],
    actions: [
        Action(at: "10ms", host: "pc", do: Ftp(server: "files", user: "alice", password: "wonderland", mode: Active, steps: [
            Retr("a-file-with-a-rather-long-name.txt"),
            Stor(name: "another-long-name-for-an-upload.txt", text: "up\n"),
        ])),
    ],
)"#;

#[test]
fn commands_split_across_segments_are_read_whole() {
    let run = run_text(SPLIT);
    let events = files_support::events(&run);
    let commands = files_support::commands(&events, "ftp");
    assert!(commands.contains(&"PASS wonderland".to_string()));
    assert!(commands.contains(&"RETR a-file-with-a-rather-long-name.txt".to_string()));
    assert!(commands.contains(&"STOR another-long-name-for-an-upload.txt".to_string()));
    // The command went out in pieces of at most 7 bytes, most of them
    // not ending a line.
    let to_21: Vec<_> = run
        .world
        .trace()
        .packets
        .iter()
        .filter_map(|p| match &p.payload {
            Payload::Tcp(s) if s.dst_port == 21 && !s.payload.is_empty() => Some(s.payload.clone()),
            _ => None,
        })
        .collect();
    assert!(to_21.iter().all(|p| p.len() <= 7));
    assert!(to_21.iter().filter(|p| !p.ends_with(b"\n")).count() > 10);
    let user = run.app::<FtpUser>("pc").unwrap();
    let d = user.download("a-file-with-a-rather-long-name.txt").unwrap();
    assert_eq!(&d.data[..], b"split but whole\n");
    let server = run.app::<FileServer>("files").unwrap();
    let up = VPath::parse("/alice/another-long-name-for-an-upload.txt").unwrap();
    assert_eq!(&server.vfs().get_file(&up).unwrap()[..], b"up\n");
}

/// The whole trace as JSON lines.
fn jsonl(run: &Run) -> String {
    let trace = run.world.trace();
    let mut out = String::new();
    for r in &trace.records {
        out.push_str(&trace.to_json(r));
        out.push('\n');
    }
    out
}

#[test]
fn same_seed_same_trace_bytes() {
    for name in ["ftp_session", "ftp_passive", "scp_vs_ftp", "ftp_vs_http"] {
        let loaded = scenario::load(name).unwrap();
        let s = &loaded.scenario;
        let mut a = scenario::build(s, 42).unwrap();
        let mut b = scenario::build(s, 42).unwrap();
        a.run();
        b.run();
        assert_eq!(jsonl(&a), jsonl(&b), "{name}");
    }
    // Through the command line too.
    let (_, first) = cli_jsonl("ftp_session", &["--seed", "7"]);
    let (_, second) = cli_jsonl("ftp_session", &["--seed", "7"]);
    assert_eq!(first, second);
    // Another seed changes sequence numbers and keys, not the outcome.
    let (_, other) = cli_jsonl("ftp_session", &["--seed", "8"]);
    assert_ne!(first, other);
}
