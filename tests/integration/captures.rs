//! Captures and ladders of every bundled scenario, read back by tools no
//! one here wrote: tshark (Wireshark's command line) for the pcap files,
//! resvg for the SVG ladders.
//!
//! The tshark tests skip when tshark is not installed, unless
//! `WIRETALE_REQUIRE_TSHARK=1` (set by `.ci/run`) makes that a failure.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::Command;
use wiretale::scenario;
use wiretale::trace::{Dir, Event, Layer, Trace, ladder, pcap};

fn tshark() -> bool {
    let found = Command::new("tshark")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        if std::env::var("WIRETALE_REQUIRE_TSHARK").is_ok_and(|v| v == "1") {
            panic!("tshark is required (WIRETALE_REQUIRE_TSHARK=1) but was not found");
        }
        eprintln!("skipping: tshark is not installed");
    }
    found
}

/// Runs a bundled scenario: its trace and title.
pub(crate) fn run(name: &str) -> (Trace, String) {
    let b = scenario::bundled::find(name).unwrap();
    let s = scenario::parse(b.name, b.text).unwrap();
    let mut r = scenario::build(&s, s.seed).unwrap();
    r.run();
    (r.world.take_trace(), s.title)
}

fn temp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("wiretale-captures-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

fn tshark_out(args: &[&str]) -> String {
    let out = Command::new("tshark")
        .args(args)
        .output()
        .expect("tshark runs");
    assert!(
        out.status.success(),
        "tshark {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The layers whose dialogue a trace holds.
fn dialogue_layers(t: &Trace) -> BTreeSet<Layer> {
    t.records
        .iter()
        .filter_map(|r| match r.event {
            Event::Dialogue { layer, .. } => Some(layer),
            _ => None,
        })
        .collect()
}

/// tshark's display-filter name for a protocol.
fn dissector(l: Layer) -> Option<&'static str> {
    Some(match l {
        Layer::Smtp => "smtp",
        Layer::Pop3 => "pop",
        Layer::Imap => "imap",
        Layer::Ftp => "ftp",
        Layer::Dns => "dns",
        Layer::Http => "http",
        Layer::Scp => "ssh",
        Layer::Telnet => "telnet",
        _ => return None,
    })
}

fn check_capture(name: &str) {
    let (trace, _) = run(name);
    let file = temp(&format!("{name}.pcap"));
    let n = pcap::write_pcap(&trace, std::fs::File::create(&file).unwrap()).unwrap();
    assert!(n > 0, "{name}: empty capture");
    let f = file.to_str().unwrap();
    // Every frame decodes; no malformed packet, no bad checksum.
    let listed = tshark_out(&["-r", f, "-T", "fields", "-e", "frame.number"]);
    assert_eq!(
        listed.lines().count(),
        n,
        "{name}: tshark read a different number of frames"
    );
    let bad = tshark_out(&[
        "-r",
        f,
        "-o",
        "ip.check_checksum:TRUE",
        "-o",
        "tcp.check_checksum:TRUE",
        "-o",
        "udp.check_checksum:TRUE",
        "-Y",
        "_ws.malformed || ip.checksum.status == \"Bad\" || tcp.checksum.status == \"Bad\" || udp.checksum.status == \"Bad\" || _ws.expert.severity == \"error\"",
        "-T",
        "fields",
        "-e",
        "frame.number",
        "-e",
        "_ws.expert.message",
    ]);
    assert!(
        bad.trim().is_empty(),
        "{name}: tshark found problems:\n{bad}"
    );
    // Each application protocol of the scenario is recognised.
    for layer in dialogue_layers(&trace) {
        let Some(d) = dissector(layer) else { continue };
        let hits = tshark_out(&["-r", f, "-Y", d, "-T", "fields", "-e", "frame.number"]);
        assert!(
            !hits.trim().is_empty(),
            "{name}: tshark decodes no {d} packets"
        );
    }
    // SSH: the key exchange decodes message by message (KEXINIT,
    // KEX_ECDH_INIT, KEX_ECDH_REPLY, NEWKEYS); what follows is encrypted.
    if dialogue_layers(&trace).contains(&Layer::Scp) {
        let codes = tshark_out(&[
            "-r",
            f,
            "-Y",
            "ssh.message_code",
            "-T",
            "fields",
            "-e",
            "ssh.message_code",
        ]);
        let codes: BTreeSet<&str> = codes
            .split(|c: char| c == ',' || c.is_whitespace())
            .collect();
        for code in ["20", "30", "31", "21"] {
            assert!(
                codes.contains(code),
                "{name}: tshark decodes no SSH message {code}: {codes:?}"
            );
        }
    }
    // TLS after STARTTLS: tshark follows the upgrade and decodes the
    // ClientHello (1) and ServerHello (2).
    let tls_used = trace.records.iter().any(|r| {
        matches!(&r.event, Event::Dialogue { dir: Dir::Data, line, .. } if line.contains("handshake done"))
    });
    if tls_used {
        let types = tshark_out(&[
            "-r",
            f,
            "-Y",
            "tls.handshake.type",
            "-T",
            "fields",
            "-e",
            "tls.handshake.type",
        ]);
        let types: BTreeSet<&str> = types
            .split(|c: char| c == ',' || c.is_whitespace())
            .collect();
        for t in ["1", "2"] {
            assert!(
                types.contains(t),
                "{name}: tshark decodes no TLS handshake type {t}: {types:?}"
            );
        }
    }
    // Following each SMTP, POP3 or FTP control connection gives the
    // dialogue the trace recorded, in order.
    for (conn, lines) in dialogues(&trace) {
        let follow = tshark_out(&[
            "-r",
            f,
            "-q",
            "-z",
            &format!("follow,tcp,ascii,{},{}", conn.0, conn.1),
        ]);
        let stream: Vec<&str> = follow
            .lines()
            .map(|l| l.trim_start_matches('\t').trim_end())
            .collect();
        let mut at = 0;
        for want in &lines {
            match stream[at..].iter().position(|l| l == want) {
                Some(i) => at += i + 1,
                None => panic!(
                    "{name}: following {}-{} in tshark does not show {want:?} in order\n{follow}",
                    conn.0, conn.1
                ),
            }
        }
    }
}

/// For each connection of a line-based dialogue (SMTP, POP3, FTP control),
/// its command and reply lines as the trace recorded them.
fn dialogues(
    t: &Trace,
) -> Vec<(
    (std::net::SocketAddrV4, std::net::SocketAddrV4),
    Vec<String>,
)> {
    let mut out: Vec<(
        (std::net::SocketAddrV4, std::net::SocketAddrV4),
        Vec<String>,
    )> = Vec::new();
    // After STARTTLS the dialogue travels inside TLS: tshark's stream
    // shows it no more.
    let mut upgraded = Vec::new();
    for r in &t.records {
        if let Event::Dialogue {
            layer: Layer::Smtp | Layer::Pop3 | Layer::Ftp,
            dir: Dir::Command | Dir::Reply,
            line,
            conn: Some(conn),
            ..
        } = &r.event
        {
            let conn = &**conn;
            if upgraded.contains(conn) {
                continue;
            }
            if line.contains("Ready to start TLS")
                || line.starts_with("234 ")
                || line.contains("Begin TLS")
            {
                upgraded.push(*conn);
            }
            match out.iter_mut().find(|(c, _)| c == conn) {
                Some((_, v)) => v.push(line.to_string()),
                None => out.push((*conn, vec![line.to_string()])),
            }
        }
    }
    out
}

#[test]
fn every_bundled_scenario_captures_cleanly() {
    if !tshark() {
        return;
    }
    for b in scenario::bundled::ALL {
        check_capture(b.name);
    }
}

/// TELNET goes into the capture as the bytes that crossed the link:
/// tshark decodes the option negotiation, the echoed keystrokes and the
/// password sent one key per segment, with nothing malformed.
#[test]
fn telnet_is_decoded_by_tshark_keystroke_by_keystroke() {
    if !tshark() {
        return;
    }
    let (trace, _) = run("telnet_vs_ssh");
    let file = temp("telnet_vs_ssh-telnet.pcap");
    pcap::write_pcap(&trace, std::fs::File::create(&file).unwrap()).unwrap();
    let f = file.to_str().unwrap();
    let rows = tshark_out(&[
        "-r",
        f,
        "-Y",
        "telnet",
        "-T",
        "fields",
        "-E",
        "separator=|",
        "-e",
        "tcp.srcport",
        "-e",
        "telnet.cmd",
        "-e",
        "telnet.subcmd",
        "-e",
        "telnet.data",
    ]);
    let rows: Vec<Vec<&str>> = rows.lines().map(|l| l.split('|').collect()).collect();
    assert!(rows.len() > 40, "{rows:?}");
    // The server's first words: WILL ECHO, WILL SUPPRESS-GO-AHEAD, the
    // login prompt; the client's answer: DO, DO.
    assert_eq!(rows[0][..3], ["23", "251,251", "1,3"], "{:?}", rows[0]);
    assert!(rows[0][3].contains("login: "), "{:?}", rows[0]);
    assert_eq!(rows[1][1..3], ["253,253", "1,3"], "{:?}", rows[1]);
    // The client's one-key segments spell out the password.
    let keys: String = rows
        .iter()
        .filter(|r| r[0] != "23" && r[3].len() == 1)
        .map(|r| r[3])
        .collect();
    assert!(keys.contains("alicecroissantls"), "{keys}");
    // The report crossed in the clear.
    assert!(
        rows.iter()
            .any(|r| r[0] == "23" && r[3].contains("the merger with Initech")),
        "{rows:?}"
    );
    let bad = tshark_out(&[
        "-r",
        f,
        "-Y",
        "telnet && (_ws.malformed || _ws.expert.severity == \"error\")",
        "-T",
        "fields",
        "-e",
        "frame.number",
    ]);
    assert!(bad.trim().is_empty(), "malformed TELNET frames: {bad}");
}

#[test]
fn per_link_captures_hold_every_crossing() {
    let (trace, _) = run("tcp_lossy_transfer");
    let dir = temp("links");
    let files = pcap::write_pcap_per_link(&trace, &dir).unwrap();
    assert_eq!(files.len(), trace.links.len());
    let crossings = trace
        .records
        .iter()
        .filter(|r| matches!(r.event, Event::Transmit { .. }))
        .count();
    if !tshark() {
        return;
    }
    let mut frames = 0;
    for f in &files {
        frames += tshark_out(&["-r", f.to_str().unwrap(), "-T", "fields", "-e", "ip.ttl"])
            .lines()
            .count();
    }
    assert_eq!(frames, crossings);
    // On the router's far link, packets from the client have one hop less.
    let far = files
        .iter()
        .find(|f| f.to_string_lossy().contains("router--server"))
        .unwrap();
    let ttls = tshark_out(&[
        "-r",
        far.to_str().unwrap(),
        "-Y",
        "ip.src == 10.0.1.2",
        "-T",
        "fields",
        "-e",
        "ip.ttl",
    ]);
    assert!(ttls.lines().all(|l| l == "63"), "{ttls}");
}

/// Renders an SVG with resvg (it must parse).
pub(crate) fn render(svg: &str) -> resvg::tiny_skia::Pixmap {
    let tree =
        resvg::usvg::Tree::from_str(svg, &resvg::usvg::Options::default()).expect("the SVG parses");
    let size = tree.size().to_int_size();
    let mut pixmap = resvg::tiny_skia::Pixmap::new(size.width(), size.height()).unwrap();
    resvg::render(
        &tree,
        resvg::tiny_skia::Transform::default(),
        &mut pixmap.as_mut(),
    );
    pixmap
}

/// Renders an SVG and checks something was drawn on it.
pub(crate) fn renders(svg: &str) {
    let pixmap = render(svg);
    let dark = pixmap.pixels().iter().filter(|p| p.red() < 200).count();
    assert!(dark > 2000, "only {dark} dark pixels");
}

/// The labels of an SVG ladder, top to bottom.
fn labels(svg: &str) -> Vec<String> {
    let doc = roxmltree::Document::parse(svg).unwrap();
    let mut l: Vec<(f64, String)> = doc
        .descendants()
        .filter(|n| n.attribute("class") == Some("label"))
        .map(|n| {
            // A label of several lines is a <text> of <tspan>s.
            let text: Vec<&str> = n
                .descendants()
                .filter(|d| d.is_text())
                .filter_map(|d| d.text())
                .collect();
            (n.attribute("y").unwrap().parse().unwrap(), text.join("\n"))
        })
        .collect();
    l.sort_by(|a, b| a.0.total_cmp(&b.0));
    l.into_iter().map(|(_, t)| t).collect()
}

#[test]
fn tcp_ladder_renders_and_reads_in_order() {
    let (trace, title) = run("tcp_handshake");
    let filter = ladder::LadderFilter {
        layers: vec![Layer::Tcp],
        conn: None,
    };
    let l = ladder::build(&trace, &filter);
    let svg = ladder::to_svg(&l, &title);
    let pixmap = render(&svg);
    // Something was drawn: arrows are not white.
    let drawn = pixmap.pixels().iter().filter(|p| p.red() < 200).count();
    assert!(drawn > 1000, "only {drawn} dark pixels");
    let got = labels(&svg);
    assert_eq!(
        &got[..3],
        ["SYN seq=0", "SYN,ACK seq=0 ack=1", "ACK seq=1 ack=1"]
    );
    assert_eq!(got.last().map(String::as_str), Some("ACK seq=10242 ack=2"));
    let mmd = ladder::to_mermaid(&l, &title);
    assert!(mmd.starts_with("sequenceDiagram\n"));
    assert!(mmd.contains("h_client->>h_server: SYN seq=0\n"));
}

#[test]
fn ladder_filter_by_connection() {
    let (trace, _) = run("tcp_handshake");
    let all = ladder::build(&trace, &ladder::LadderFilter::default());
    let none = ladder::build(
        &trace,
        &ladder::LadderFilter {
            layers: vec![Layer::Tcp],
            conn: Some(":4242".into()),
        },
    );
    assert!(!all.arrows.is_empty());
    assert!(none.arrows.is_empty());
}

#[test]
fn smtp_ladder_of_alice_to_bob_shows_the_dialogue_in_order() {
    let (trace, title) = run("alice_to_bob");
    let filter = ladder::LadderFilter {
        layers: vec![Layer::Smtp],
        conn: Some(":25".into()),
    };
    let l = ladder::build(&trace, &filter);
    assert_eq!(l.columns, ["alice-mail", "bob-mail"]);
    let svg = ladder::to_svg(&l, &title);
    let pixmap = render(&svg);
    assert!(pixmap.pixels().iter().filter(|p| p.red() < 200).count() > 1000);
    let got = labels(&svg);
    let wanted = [
        "S: 220 ",
        "C: EHLO ",
        "S: 250-",
        "C: MAIL FROM:<alice@crepes.fr>",
        "S: 250 ",
        "C: RCPT TO:<bob@hamburger.edu>",
        "S: 250 ",
        "C: DATA",
        "S: 354 ",
        "Received: ",
        "S: 250 2.0.0 Ok: queued",
        "C: QUIT",
        "S: 221 ",
    ];
    assert_eq!(got.len(), wanted.len(), "{got:#?}");
    for (g, w) in got.iter().zip(wanted) {
        assert!(g.starts_with(w), "expected {w:?}, got {g:?}");
    }
    // The message's arrow carries its headers.
    assert!(got[9].contains("Subject: Searching for the meaning of life."));
    let mmd = ladder::to_mermaid(&l, &title);
    assert!(
        mmd.contains("h_alice_mail->>h_bob_mail: C: DATA\n"),
        "{mmd}"
    );
}

/// The arrows of an SVG ladder: (protocol, from port, to port, label).
fn arrows(svg: &str) -> Vec<(String, Option<u16>, Option<u16>, String)> {
    let doc = roxmltree::Document::parse(svg).unwrap();
    doc.descendants()
        .filter(|n| n.attribute("class") == Some("arrow"))
        .map(|g| {
            let port = |k: &str| g.attribute(k).map(|p| p.parse().unwrap());
            let label: Vec<&str> = g
                .descendants()
                .filter(|n| n.attribute("class") == Some("label"))
                .flat_map(|n| {
                    n.descendants()
                        .filter(|d| d.is_text())
                        .filter_map(|d| d.text())
                })
                .collect();
            (
                g.attribute("data-protocol").unwrap_or_default().to_owned(),
                port("data-from-port"),
                port("data-to-port"),
                label.join("\n"),
            )
        })
        .collect()
}

/// Fig. 2.14 of the textbook: FTP's control connection on port 21 and a
/// new data connection from port 20 for each transfer, drawn apart.
#[test]
fn ftp_ladder_draws_the_data_connections_apart_from_the_control_connection() {
    let (trace, title) = run("ftp_session");
    let l = ladder::build(&trace, &ladder::LadderFilter::default());
    let svg = ladder::to_svg(&l, &title);
    render(&svg);
    let got = arrows(&svg);
    let syn = got
        .iter()
        .position(|a| a.0 == "FTP data" && a.1 == Some(20) && a.3 == "SYN")
        .unwrap_or_else(|| panic!("no data connection SYN from port 20: {got:#?}"));
    let done = got
        .iter()
        .position(|a| a.0 == "FTP control" && a.1 == Some(21) && a.3.starts_with("S: 226 "))
        .expect("a 226 reply on port 21");
    assert!(syn < done, "the data connection opens before the 226");
    // The listing travels on the data connection, as its own arrow between
    // the SYN and the 226, never inside the control connection's reply.
    let listing = got
        .iter()
        .position(|a| {
            a.3.starts_with("(data connection: 135 bytes of listing of /)")
        })
        .expect("the listing's arrow");
    assert_eq!(got[listing].0, "FTP data");
    assert_eq!((got[listing].1, got[listing].2), (Some(20), Some(45000)));
    assert!(syn < listing && listing < done);
    assert!(!got[done].3.contains("data connection"), "{:?}", got[done]);
    // Four transfers, four data connections, each with its own ports.
    let data_ports: std::collections::BTreeSet<u16> = got
        .iter()
        .filter(|a| a.0 == "FTP data" && a.3 == "SYN")
        .filter_map(|a| a.2)
        .collect();
    assert_eq!(data_ports, [45000, 45001, 45002, 45003].into());
    assert_eq!(l.conns.len(), 5);
    // With TCP segments drawn too, each FTP line rides on the segment that
    // carried it instead of being a second arrow beside it.
    let both = ladder::build(
        &trace,
        &ladder::LadderFilter {
            layers: vec![Layer::Ftp, Layer::Tcp],
            conn: None,
        },
    );
    let user: Vec<&ladder::Arrow> = both
        .arrows
        .iter()
        .filter(|a| a.label.contains("C: USER alice"))
        .collect();
    assert_eq!(user.len(), 1, "{user:#?}");
    assert!(user[0].label.ends_with("len=12"), "{:?}", user[0].label);
    assert_eq!(user[0].protocol, wiretale::trace::Protocol::FtpControl);
    let mmd = ladder::to_mermaid(&l, &title);
    assert!(
        mmd.contains("h_files-->>h_alice_pc: [20\u{2192}45000] SYN\n"),
        "{mmd}"
    );
}

/// A lost segment's cross sits on its own arrow, between the two hosts
/// it was travelling between.
#[test]
fn a_lost_segment_is_marked_on_its_arrow() {
    let (trace, title) = run("tcp_lossy_transfer");
    let l = ladder::build(
        &trace,
        &ladder::LadderFilter {
            layers: vec![Layer::Tcp],
            conn: None,
        },
    );
    let lost: Vec<&ladder::Arrow> = l.arrows.iter().filter(|a| a.lost).collect();
    assert!(!lost.is_empty());
    for a in lost {
        let at = a.lost_at.expect("a place");
        let (lo, hi) = (a.from.min(a.to) as f64, a.from.max(a.to) as f64);
        assert!(at > lo && at < hi, "{a:?}");
    }
    let svg = ladder::to_svg(&l, &title);
    assert!(svg.contains(r#"class="lost""#));
}

#[test]
fn a_retrieved_message_goes_from_the_server_to_the_client_on_the_ladder() {
    // POP3's RETR: the body follows the server's +OK at the same moment,
    // so it rides on the server's segment, not on the client's RETR.
    let (trace, _) = run("alice_to_bob");
    let filter = ladder::LadderFilter {
        layers: vec![Layer::Pop3],
        conn: None,
    };
    let l = ladder::build(&trace, &filter);
    let col = |name: &str| l.columns.iter().position(|c| c == name).unwrap();
    let (server, client) = (col("bob-mail"), col("bob-pc"));
    let body = l
        .arrows
        .iter()
        .find(|a| {
            a.label
                .contains("Subject: Searching for the meaning of life.")
        })
        .expect("the message on the ladder");
    assert_eq!((body.from, body.to), (server, client));
    let retr = l
        .arrows
        .iter()
        .find(|a| a.label.starts_with("C: RETR"))
        .unwrap();
    assert_eq!((retr.from, retr.to), (client, server));
}
