//! The fuzz targets (`fuzz/`, see `fuzz/README.md`) in the ordinary test
//! suite, on stable Rust:
//!
//! - every seed of `fuzz/corpus/TARGET/seed-*` and every input that once
//!   broke a machine, kept in `tests/fuzz_regressions/TARGET/`, is fed
//!   again through the very function the fuzz target runs
//!   ([`wiretale::fuzzing`]);
//! - the seeds are made from the golden traces' dialogues (and the
//!   bundled scenarios), and must stay what this file makes of them. When
//!   the golden traces change on purpose, rewrite the seeds with
//!   `WIRETALE_BLESS=1 cargo test --test integration fuzz_corpus::`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use wiretale::fuzzing::{self, SshPipe, TARGETS, tcp::Start};
use wiretale::proto::dns::{QueryType, client::build_query};
use wiretale::proto::ssh::message::{AuthMethod, ChannelRequest, Message};
use wiretale::proto::tls::TlsLayer;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The files of a folder, sorted; none if it does not exist.
fn files(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut out: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file())
        .collect();
    out.sort();
    out
}

fn is_seed(path: &Path) -> bool {
    path.file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| n.starts_with("seed-"))
}

#[test]
fn fuzz_seeds_and_regressions_replay() {
    let mut failures = Vec::new();
    let mut replayed = 0;
    for target in TARGETS {
        let source = root().join(format!("fuzz/fuzz_targets/{}.rs", target.name));
        let text = std::fs::read_to_string(&source)
            .unwrap_or_else(|_| panic!("no fuzz target {}", source.display()));
        assert!(
            text.contains(&format!("wiretale::fuzzing::{}(data)", target.name)),
            "{} does not run wiretale::fuzzing::{}",
            source.display(),
            target.name
        );
        let seeds: Vec<PathBuf> = files(&root().join("fuzz/corpus").join(target.name))
            .into_iter()
            .filter(|p| is_seed(p))
            .collect();
        assert!(!seeds.is_empty(), "{} has no seeds", target.name);
        let regressions = files(&root().join("tests/fuzz_regressions").join(target.name));
        for path in seeds.iter().chain(&regressions) {
            let data = std::fs::read(path).unwrap();
            let run = target.run;
            replayed += 1;
            if std::panic::catch_unwind(|| run(&data)).is_err() {
                failures.push(path.display().to_string());
            }
        }
    }
    // A folder of regressions must belong to a target, or it is never run.
    let names: BTreeSet<&str> = TARGETS.iter().map(|t| t.name).collect();
    if let Ok(dirs) = std::fs::read_dir(root().join("tests/fuzz_regressions")) {
        for dir in dirs.flatten() {
            let name = dir.file_name().to_string_lossy().into_owned();
            assert!(
                names.contains(name.as_str()),
                "tests/fuzz_regressions/{name} is not a fuzz target"
            );
        }
    }
    assert!(replayed > TARGETS.len());
    assert!(failures.is_empty(), "these inputs fail: {failures:#?}");
}

// ----------------------------------------------------------------------
// Seeds from the golden traces
// ----------------------------------------------------------------------

/// The lines a client sent on one connection of a golden trace.
struct Dialogue {
    scenario: String,
    protocol: String,
    /// (event, line): `command` lines, and for SMTP the `data` lines.
    lines: Vec<(String, String)>,
}

fn dialogues() -> Vec<Dialogue> {
    let mut out = Vec::new();
    for path in files(&root().join("tests/golden")) {
        let scenario = path.file_stem().unwrap().to_string_lossy().into_owned();
        let text = std::fs::read_to_string(&path).unwrap();
        let mut by_conn: BTreeMap<(String, String), usize> = BTreeMap::new();
        let mut found: Vec<Dialogue> = Vec::new();
        for line in text.lines() {
            let record: serde_json::Value = serde_json::from_str(line).unwrap();
            let field = |k: &str| record.get(k).and_then(|v| v.as_str()).map(str::to_string);
            let (Some(layer), Some(event), Some(conn), Some(text)) =
                (field("layer"), field("event"), field("conn"), field("line"))
            else {
                continue;
            };
            if event != "command" && !(event == "data" && layer == "smtp") {
                continue;
            }
            let index = *by_conn.entry((layer.clone(), conn)).or_insert_with(|| {
                found.push(Dialogue {
                    scenario: scenario.clone(),
                    protocol: layer.clone(),
                    lines: Vec::new(),
                });
                found.len() - 1
            });
            found[index].lines.push((event, text));
        }
        out.extend(found);
    }
    out
}

fn commands<'a>(d: &'a Dialogue) -> impl Iterator<Item = &'a str> + 'a {
    d.lines
        .iter()
        .filter(|(event, _)| event == "command")
        .map(|(_, line)| line.as_str())
}

/// SMTP: the commands, and after DATA the message lines as the trace
/// shows them: as they crossed the wire, dot-stuffed, up to the final
/// `.` (which a seed adds where the trace cut the message short).
fn smtp_seed(d: &Dialogue) -> Vec<u8> {
    let mut out = String::new();
    let mut in_data = false;
    for (event, line) in &d.lines {
        if event == "command" {
            if in_data {
                out.push_str(".\r\n");
            }
            out.push_str(line);
            out.push_str("\r\n");
            in_data = line.eq_ignore_ascii_case("DATA");
        } else if in_data && !line.starts_with("(... ") {
            out.push_str(line);
            out.push_str("\r\n");
            in_data = line != ".";
        }
    }
    if in_data {
        out.push_str(".\r\n");
    }
    out.into_bytes()
}

fn crlf_lines(d: &Dialogue) -> Vec<u8> {
    commands(d)
        .flat_map(|l| [l, "\r\n"])
        .collect::<String>()
        .into_bytes()
}

/// HTTP: the trace shows request lines; a client sends its `Host` field
/// (required in HTTP/1.1) and the empty line after each.
fn http_seed(d: &Dialogue) -> Vec<u8> {
    commands(d)
        .flat_map(|l| [l, "\r\nHost: files\r\n\r\n"])
        .collect::<String>()
        .into_bytes()
}

/// FTP: control lines; an upload's data follows its command, as the
/// target's data events.
fn ftp_seed(d: &Dialogue) -> Vec<u8> {
    let mut out = Vec::new();
    for line in commands(d) {
        out.extend_from_slice(line.as_bytes());
        out.extend_from_slice(b"\r\n");
        let verb = line.split(' ').next().unwrap_or("").to_ascii_uppercase();
        if matches!(verb.as_str(), "STOR" | "APPE" | "STOU") {
            out.push(fuzzing::FTP_DATA_BYTES);
            out.extend_from_slice(b"uploaded on the data connection\r\n");
            out.push(fuzzing::FTP_DATA_CLOSED);
            out.push(b'\n');
        }
    }
    out
}

/// TELNET: the trace names option negotiation (`DO ECHO`); the rest are
/// lines the user typed.
fn telnet_seed(d: &Dialogue) -> Vec<u8> {
    use wiretale::proto::telnet::{DO, DONT, IAC, OPT_ECHO, OPT_SUPPRESS_GO_AHEAD, WILL, WONT};
    let mut out = Vec::new();
    for line in commands(d) {
        let mut words = line.splitn(2, ' ');
        let verb = match words.next() {
            Some("DO") => Some(DO),
            Some("DONT") => Some(DONT),
            Some("WILL") => Some(WILL),
            Some("WONT") => Some(WONT),
            _ => None,
        };
        let option = match words.next() {
            Some("ECHO") => Some(OPT_ECHO),
            Some("SUPPRESS-GO-AHEAD") => Some(OPT_SUPPRESS_GO_AHEAD),
            Some(other) => other.parse::<u8>().ok(),
            None => None,
        };
        match (verb, option) {
            (Some(verb), Some(option)) => out.extend_from_slice(&[IAC, verb, option]),
            _ => {
                out.extend_from_slice(line.as_bytes());
                out.extend_from_slice(b"\r\n");
            }
        }
    }
    out
}

fn dns_seeds(d: &Dialogue) -> Vec<Vec<u8>> {
    commands(d)
        .filter_map(|l| {
            let mut words = l.split(' ');
            if words.next() != Some("query") {
                return None;
            }
            let qtype = match words.next()? {
                "MX" => QueryType::Mx,
                "A" => QueryType::A,
                _ => return None,
            };
            build_query(0x2a2a, words.next()?, qtype).ok()
        })
        .collect()
}

/// SCP: the trace describes the messages the client sent after the key
/// exchange (the transport's own ones are made by the transport); this
/// turns them back into message payloads, with the password of the
/// target's world for the user.
fn scp_payloads(d: &Dialogue) -> Option<Vec<Vec<u8>>> {
    let mut out = Vec::new();
    let mut logged_in = false;
    for line in commands(d) {
        let words: Vec<&str> = line.split(' ').collect();
        let message = match words[0] {
            "userauth_request" => {
                let user = *words.get(1)?;
                let (_, password) = fuzzing::FILE_USERS.iter().find(|(u, _)| *u == user)?;
                logged_in = true;
                Message::UserAuthRequest {
                    user: user.into(),
                    service: "ssh-connection".into(),
                    method: AuthMethod::Password((*password).into()),
                }
            }
            "channel_open" => {
                let number = |i: usize| -> Option<u32> {
                    words
                        .get(i)?
                        .trim_matches(|c: char| !c.is_ascii_digit())
                        .parse()
                        .ok()
                };
                Message::ChannelOpen {
                    kind: words.get(1)?.to_string(),
                    sender: 0,
                    window: number(3)?,
                    max_packet: number(7)?,
                }
            }
            "exec" => Message::Request {
                recipient: 0,
                want_reply: true,
                request: ChannelRequest::Exec(line["exec ".len()..].trim_matches('"').into()),
            },
            "\\0" => Message::Data {
                recipient: 0,
                data: vec![0],
            },
            "channel_eof" => Message::Eof { recipient: 0 },
            "channel_close" => Message::Close { recipient: 0 },
            w if w.starts_with('C') || w.starts_with('D') || w == "E" || w.starts_with('T') => {
                let mut data = format!("{line}\n").into_bytes();
                // A file's header is followed by its content and a \0.
                if w.starts_with('C')
                    && let Some(size) = words.get(1).and_then(|s| s.parse::<usize>().ok())
                {
                    out.push(Message::Data { recipient: 0, data }.encode());
                    data = vec![b'x'; size.min(4096)];
                    data.push(0);
                }
                Message::Data { recipient: 0, data }
            }
            // The version line, kexinit, kex_ecdh_init, newkeys and the
            // service request are the transport's.
            _ => continue,
        };
        out.push(message.encode());
    }
    logged_in.then_some(out)
}

/// A client session for `scp_server`: the bytes a real client transport
/// sends for these payloads. Replayed into a fresh server it logs in.
fn scp_stream(payloads: &[Vec<u8>]) -> Vec<u8> {
    let mut pipe = SshPipe::connect();
    for p in payloads {
        pipe.send(p);
    }
    let sent = pipe.sent;
    let mut server = fuzzing::scp_server_machine();
    let mut vfs = fuzzing::file_tree();
    let mut view = wiretale::apps::files::ScpView::new(&mut vfs, None, fuzzing::NOW);
    server.handle_input(&sent, &mut view);
    assert!(
        server.user().is_some(),
        "a replayed SCP session does not log in"
    );
    sent
}

/// A client session for `tls_server`: a handshake with the target's
/// server, `app` as application data, and close_notify. Replayed into a
/// fresh server it yields `app` again.
fn tls_stream(app: &[u8], seed: u8) -> Vec<u8> {
    let client_config = fuzzing::tls_client_config();
    let mut client = TlsLayer::client(client_config, fuzzing::TLS_HOST, Some([seed; 32])).unwrap();
    let mut server =
        TlsLayer::server(fuzzing::tls_server_config(), Some(fuzzing::TLS_SERVER_SEED)).unwrap();
    let mut sent = Vec::new();
    let mut app_sent = false;
    for _ in 0..100 {
        let out = client.take_output();
        sent.extend_from_slice(&out);
        let _ = server.receive(&out);
        let back = server.take_output();
        let _ = client.receive(&back);
        if out.is_empty() && back.is_empty() {
            if app_sent {
                break;
            }
            assert!(!client.is_handshaking(), "{:?}", client.error());
            client.send(app);
            client.close();
            app_sent = true;
        }
    }
    let mut replay =
        TlsLayer::server(fuzzing::tls_server_config(), Some(fuzzing::TLS_SERVER_SEED)).unwrap();
    assert_eq!(replay.receive(&sent), app, "a replayed TLS session differs");
    sent
}

/// Input for `tcp_segments` that starts in `start`: the enum's index in
/// the first four bytes the way `arbitrary` reads a variant (a multiply
/// and shift of a `u32`), then bytes from a fixed generator.
fn tcp_seed(index: usize) -> Vec<u8> {
    let count = Start::ALL.len() as u64;
    let first = (((index as u64) << 32).div_ceil(count)) as u32;
    let mut out = first.to_le_bytes().to_vec();
    let mut x: u32 = 0x9e37_79b9 ^ index as u32;
    for _ in 0..400 {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        out.push((x >> 24) as u8);
    }
    out
}

/// Seeds per target, at most this many.
const MAX_SEEDS: usize = 16;

/// Every seed this file makes: target -> (file name, content).
fn make_seeds() -> BTreeMap<&'static str, Vec<(String, Vec<u8>)>> {
    let mut seeds: BTreeMap<&'static str, Vec<(String, Vec<u8>)>> = BTreeMap::new();
    let mut per_scenario: BTreeMap<(&'static str, String), usize> = BTreeMap::new();
    let mut add = |target: &'static str, scenario: &str, data: Vec<u8>| {
        if data.is_empty() {
            return;
        }
        let list = seeds.entry(target).or_default();
        if list.len() < MAX_SEEDS && !list.iter().any(|(_, d)| *d == data) {
            let n = per_scenario
                .entry((target, scenario.to_string()))
                .or_default();
            *n += 1;
            list.push((format!("seed-{scenario}-{n}"), data));
        }
    };
    let mut tls_apps: BTreeMap<String, (String, Vec<u8>)> = BTreeMap::new();
    for d in dialogues() {
        let data = match d.protocol.as_str() {
            "smtp" => smtp_seed(&d),
            "pop3" | "imap" => crlf_lines(&d),
            "ftp" => ftp_seed(&d),
            "http" => http_seed(&d),
            "telnet" => telnet_seed(&d),
            "dns" => {
                for q in dns_seeds(&d) {
                    add("dns_server", &d.scenario, q);
                }
                continue;
            }
            "scp" => {
                if let Some(payloads) = scp_payloads(&d) {
                    let refs = payloads.iter().map(Vec::as_slice);
                    add("scp_session", &d.scenario, fuzzing::join_messages(refs));
                    add("scp_server", &d.scenario, scp_stream(&payloads));
                }
                continue;
            }
            other => panic!("a dialogue of an unknown protocol {other}"),
        };
        let target = match d.protocol.as_str() {
            "smtp" => "smtp_server",
            "pop3" => "pop3_server",
            "imap" => "imap_server",
            "ftp" => "ftp_server",
            "http" => "http_server",
            _ => "telnet_server",
        };
        tls_apps
            .entry(d.protocol.clone())
            .or_insert_with(|| (d.scenario.clone(), data.clone()));
        add(target, &d.scenario, data);
    }
    // TLS carries each protocol's first dialogue.
    for (i, (_, (scenario, app))) in tls_apps.into_iter().enumerate() {
        add("tls_server", &scenario, tls_stream(&app, i as u8 + 1));
    }
    for (i, start) in Start::ALL.iter().enumerate() {
        let name = format!("{start:?}").to_lowercase();
        add("tcp_segments", &name, tcp_seed(i));
    }
    let mut ron = files(&root().join("scenarios"));
    ron.retain(|p| p.extension().is_some_and(|e| e == "ron"));
    for path in ron {
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        add("scenario_load", &name, std::fs::read(&path).unwrap());
    }
    seeds
}

#[test]
fn tcp_seeds_start_in_every_state() {
    for (i, start) in Start::ALL.iter().enumerate() {
        let data = tcp_seed(i);
        let mut u = arbitrary::Unstructured::new(&data);
        let plan: fuzzing::tcp::Plan = arbitrary::Arbitrary::arbitrary(&mut u).unwrap();
        assert_eq!(plan.start, *start);
        let lab = fuzzing::tcp::set_up(*start, plan.with_data, plan.small_mss, plan.delayed_ack);
        assert_eq!(lab.conn.state(), start.state());
    }
}

#[test]
fn fuzz_seeds_match_the_golden_traces() {
    let bless = std::env::var("WIRETALE_BLESS").is_ok_and(|v| v == "1");
    let seeds = make_seeds();
    let mut problems = Vec::new();
    for target in TARGETS {
        let dir = root().join("fuzz/corpus").join(target.name);
        let want = seeds.get(target.name).cloned().unwrap_or_default();
        if want.is_empty() {
            problems.push(format!("{}: no seed could be made", target.name));
            continue;
        }
        let have: Vec<PathBuf> = files(&dir).into_iter().filter(|p| is_seed(p)).collect();
        if bless {
            std::fs::create_dir_all(&dir).unwrap();
            for path in &have {
                std::fs::remove_file(path).unwrap();
            }
            for (name, data) in &want {
                std::fs::write(dir.join(name), data).unwrap();
            }
            continue;
        }
        let have_names: BTreeSet<String> = have
            .iter()
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        let want_names: BTreeSet<String> = want.iter().map(|(n, _)| n.clone()).collect();
        if have_names != want_names {
            problems.push(format!(
                "{}: seeds {have_names:?}, expected {want_names:?}",
                target.name
            ));
            continue;
        }
        for (name, data) in &want {
            if std::fs::read(dir.join(name)).ok().as_ref() != Some(data) {
                problems.push(format!("{}: {name} differs", target.name));
            }
        }
    }
    assert!(
        problems.is_empty(),
        "the fuzz seeds are not what the golden traces give \
         (WIRETALE_BLESS=1 rewrites them):\n{}",
        problems.join("\n")
    );
}

// ----------------------------------------------------------------------
// A property test on stable: mutated seeds
// ----------------------------------------------------------------------

/// The line-protocol servers' targets, by name.
const LINE_SERVERS: &[&str] = &[
    "smtp_server",
    "pop3_server",
    "imap_server",
    "ftp_server",
    "http_server",
    "telnet_server",
];

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(48))]

    /// A seed dialogue with a piece cut out and random bytes put in:
    /// every line server answers it without a panic, holds to its
    /// diagram at every line (`proto::contract`), and wants to close once
    /// the peer is gone, as the fuzz targets check.
    #[test]
    fn mutated_dialogues_keep_every_server_to_its_diagram(
        which in 0usize..1000,
        cut in 0usize..4000,
        cut_len in 0usize..200,
        insert in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..64),
    ) {
        for name in LINE_SERVERS {
            let target = TARGETS.iter().find(|t| t.name == *name).unwrap();
            let seeds: Vec<PathBuf> = files(&root().join("fuzz/corpus").join(name))
                .into_iter()
                .filter(|p| is_seed(p))
                .collect();
            let mut data = std::fs::read(&seeds[which % seeds.len()]).unwrap();
            let at = cut.min(data.len());
            let end = (at + cut_len).min(data.len());
            data.splice(at..end, insert.iter().copied());
            (target.run)(&data);
        }
    }
}
