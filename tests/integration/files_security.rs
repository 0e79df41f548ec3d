//! SCP (over SSH) versus FTP and TELNET on a tapped link: the eavesdropper
//! recovers FTP's password and files and TELNET's password, commands and
//! output, and nothing of SCP's; no packet of the SCP connections carries
//! the password or a file in plain text.

use crate::files_support;

use files_support::*;
use wiretale::apps::eavesdropper::{FindingKind, Protocol};
use wiretale::apps::tap::Eavesdropper;
use wiretale::net::packet::{Packet, Payload};

const FTP_PASSWORD: &str = "wonderland";
const SCP_PASSWORD: &str = "correct-horse-battery-staple";
const REPORT: &str = "Quarterly report: the merger with Initech closes on Friday.";
const NOTES: &str = "Buy Initech shares before Friday.";
const PAYROLL: &str = "Payroll: Alice 5100, Bob 4900, Carol 6200";
const PLANS: &str = "Ask for a raise after the merger.";

fn contains(hay: &[u8], needle: &str) -> bool {
    hay.windows(needle.len()).any(|w| w == needle.as_bytes())
}

fn tcp_ports(p: &Packet) -> Option<(u16, u16)> {
    match &p.payload {
        Payload::Tcp(s) => Some((s.src_port, s.dst_port)),
        Payload::Udp(_) => None,
    }
}

#[test]
fn trudy_reads_ftp_and_not_scp() {
    let run = run_bundled("scp_vs_ftp");
    let trudy = run.app::<Eavesdropper>("trudy").unwrap();
    assert!(!trudy.captured().is_empty());

    // FTP: the password, the commands and both files.
    assert!(trudy.can_read(&format!("PASS {FTP_PASSWORD}")));
    assert!(trudy.can_read(REPORT));
    assert!(trudy.can_read(NOTES));
    let report = trudy.report();
    assert!(
        report
            .findings
            .iter()
            .any(|f| f.kind == FindingKind::Credential
                && f.text == format!("FTP PASS {FTP_PASSWORD}"))
    );
    assert!(
        report
            .findings
            .iter()
            .any(|f| f.kind == FindingKind::File && f.text.contains(REPORT))
    );

    // SCP: neither the password nor a file, only ciphertext.
    for secret in [SCP_PASSWORD, PAYROLL, PLANS] {
        assert!(!trudy.can_read(secret), "{secret}");
    }
    let scp: Vec<_> = report
        .connections
        .iter()
        .filter(|c| c.connection.server.port() == 22)
        .collect();
    assert_eq!(scp.len(), 2);
    assert!(scp.iter().all(|c| c.protocol == Protocol::Scp));
    for f in report
        .findings
        .iter()
        .filter(|f| f.connection.server.port() == 22)
    {
        assert!(
            matches!(f.kind, FindingKind::Banner | FindingKind::Ciphertext),
            "{f:?}"
        );
    }

    // The findings were reported in the trace as they were made.
    let events = events(&run);
    let reported = select(&events, "app", "eavesdropped");
    assert!(
        reported
            .iter()
            .any(|f| f["text"] == format!("FTP PASS {FTP_PASSWORD}"))
    );
    assert!(reported.iter().any(|f| f["kind"] == "ciphertext"));
}

#[test]
fn no_scp_packet_carries_the_password_or_a_file() {
    let run = run_bundled("scp_vs_ftp");
    let packets = &run.world.trace().packets;
    let on_port = |port: u16| -> Vec<&Packet> {
        packets
            .iter()
            .filter(|p| tcp_ports(p).is_some_and(|(s, d)| s == port || d == port))
            .collect()
    };
    let scp = on_port(22);
    assert!(scp.iter().any(|p| !p.app_payload().is_empty()));
    for p in &scp {
        for secret in [SCP_PASSWORD, PAYROLL, PLANS, "bob"] {
            assert!(
                !contains(p.app_payload(), secret),
                "{secret} in an SCP packet"
            );
        }
    }
    // Not even across segment boundaries: each direction's bytes joined.
    for to_server in [true, false] {
        let joined: Vec<u8> = scp
            .iter()
            .filter(|p| tcp_ports(p).is_some_and(|(_, d)| (d == 22) == to_server))
            .flat_map(|p| p.app_payload().iter().copied())
            .collect();
        for secret in [SCP_PASSWORD, PAYROLL, PLANS] {
            assert!(!contains(&joined, secret));
        }
    }
    // FTP, by contrast, carries both in the clear.
    assert!(
        on_port(21)
            .iter()
            .any(|p| contains(p.app_payload(), &format!("PASS {FTP_PASSWORD}")))
    );
    assert!(packets.iter().any(|p| contains(p.app_payload(), REPORT)));
}

#[test]
fn starttls_leaves_trudy_the_greeting_and_the_server_name_only() {
    let run = run_bundled("smtp_starttls");
    let trudy = run.app::<Eavesdropper>("trudy").unwrap();
    let report = trudy.report();
    let text = wiretale::apps::eavesdropper::readable_text(&report);
    // Before STARTTLS: the EHLO and the extension list; then the
    // ClientHello's server name.
    assert!(trudy.can_read("EHLO alice-mail.crepes.fr"));
    assert!(trudy.can_read("250-STARTTLS"));
    assert!(text.contains("SMTP STARTTLS"), "{text}");
    assert!(
        text.contains("server name (SNI) bob-mail.hamburger.edu"),
        "{text}"
    );
    // Nothing of what went inside TLS: not the envelope, the subject or
    // the text, not in her report and not in any packet.
    for secret in ["bob@hamburger.edu", "surprise party", "Don't tell Carol"] {
        assert!(!trudy.can_read(secret), "{secret}");
        assert!(!text.contains(secret), "{secret} in {text}");
        for (_, p) in trudy.captured() {
            if let Payload::Tcp(seg) = &p.payload {
                assert!(!contains(&seg.payload, secret), "{secret} on the wire");
            }
        }
    }
    // The message without TLS is read whole.
    assert!(trudy.can_read("Shall we have dinner at seven?"));
    let protected = report
        .connections
        .iter()
        .filter(|c| c.connection.server.port() == 25)
        .count();
    assert_eq!(protected, 2);
}

// ---- TELNET versus SSH (telnet_vs_ssh) ------------------------------------

const TELNET_PASSWORD: &str = "croissant";
const TELNET_REPORT: &str = "Quarterly report: the merger with Initech closes on Friday.";

#[test]
fn trudy_reads_the_telnet_password_and_not_the_secure_channel() {
    let run = run_bundled("telnet_vs_ssh");
    let trudy = run.app::<Eavesdropper>("trudy").unwrap();
    let report = trudy.report();
    let telnet: Vec<_> = report
        .connections
        .iter()
        .filter(|c| c.connection.server.port() == 23)
        .collect();
    assert_eq!(telnet.len(), 1);
    assert_eq!(telnet[0].protocol, Protocol::Telnet);
    let on = |port: u16| -> Vec<_> {
        report
            .findings
            .iter()
            .filter(|f| f.connection.server.port() == port)
            .collect()
    };

    // TELNET: the password, put back together from its keystrokes, the
    // commands and the file.
    let credentials: Vec<&str> = on(23)
        .iter()
        .filter(|f| f.kind == FindingKind::Credential)
        .map(|f| f.text.as_str())
        .collect();
    assert_eq!(
        credentials,
        [
            "TELNET login name alice",
            "TELNET password croissant (typed in 9 segments)"
        ]
    );
    assert!(
        on(23)
            .iter()
            .any(|f| f.kind == FindingKind::Command && f.text == "TELNET command cat report.txt")
    );
    assert!(
        on(23)
            .iter()
            .any(|f| f.kind == FindingKind::Content && f.text.contains(TELNET_REPORT))
    );
    // Each key of the password was a segment of its own, and none came
    // back: the server echoed the login name, not the password.
    let packets = &run.world.trace().packets;
    let client = telnet[0].connection.client.port();
    let one_byte_segments: Vec<u8> = packets
        .iter()
        .filter(|p| tcp_ports(p) == Some((client, 23)) && p.app_payload().len() == 1)
        .map(|p| p.app_payload()[0])
        .collect();
    assert!(
        contains(&one_byte_segments, &format!("alice{TELNET_PASSWORD}ls")),
        "{:?}",
        String::from_utf8_lossy(&one_byte_segments)
    );
    let echoed: Vec<u8> = packets
        .iter()
        .filter(|p| tcp_ports(p) == Some((23, client)))
        .flat_map(|p| p.app_payload().iter().copied())
        .collect();
    assert!(contains(&echoed, "alice"));
    assert!(!contains(&echoed, TELNET_PASSWORD));

    // The same password and the same file with scp over SSH:
    // nothing of either, in any finding or any packet of it.
    let secure = on(22);
    assert!(!secure.is_empty());
    for f in &secure {
        assert!(
            matches!(f.kind, FindingKind::Banner | FindingKind::Ciphertext),
            "{f:?}"
        );
        for secret in [TELNET_PASSWORD, TELNET_REPORT, "Initech", "alice"] {
            assert!(!f.text.contains(secret), "{secret} in {f:?}");
        }
    }
    for to_server in [true, false] {
        let joined: Vec<u8> = packets
            .iter()
            .filter(|p| {
                tcp_ports(p).is_some_and(|(s, d)| (d == 22 && to_server) || (s == 22 && !to_server))
            })
            .flat_map(|p| p.app_payload().iter().copied())
            .collect();
        assert!(!joined.is_empty());
        for secret in [TELNET_PASSWORD, TELNET_REPORT, "Initech"] {
            assert!(!contains(&joined, secret), "{secret} on port 22");
        }
    }

    // Alice got her file both ways, and Trudy said what she read as she
    // read it.
    let events = events(&run);
    let done = select(&events, "app", "telnet_done");
    assert_eq!(done.len(), 1);
    assert_eq!(done[0]["succeeded"], true);
    assert!(select(&events, "app", "scp_done")[0]["succeeded"] == true);
    let reported = select(&events, "app", "eavesdropped");
    assert!(
        reported
            .iter()
            .any(|f| f["text"] == "TELNET password croissant (typed in 9 segments)")
    );
    assert!(
        reported
            .iter()
            .filter(|f| text(f, "server").ends_with(":22"))
            .all(|f| f["kind"] == "banner" || f["kind"] == "ciphertext")
    );
}

#[test]
fn ftp_over_tls_hides_carols_password_and_file_on_both_connections() {
    let run = run_bundled("scp_vs_ftp");
    let trudy = run.app::<Eavesdropper>("trudy").unwrap();
    let report = trudy.report();
    let text = wiretale::apps::eavesdropper::readable_text(&report);
    // She sees the upgrade and the handshakes, on the control connection
    // and on the data connection PROT P protects.
    assert!(text.contains("FTP AUTH TLS"), "{text}");
    let hellos = report
        .findings
        .iter()
        .filter(|f| f.text.contains("ClientHello: server name (SNI) files"))
        .count();
    assert_eq!(hellos, 2, "{text}");
    for secret in ["tiramisu", "Budget 2026", "marketing 40k"] {
        assert!(!trudy.can_read(secret), "{secret}");
        for (_, p) in trudy.captured() {
            if let Payload::Tcp(seg) = &p.payload {
                assert!(!contains(&seg.payload, secret), "{secret} on the wire");
            }
        }
    }
    // Alice's plain FTP in the same run is still read whole.
    assert!(trudy.can_read(&format!("PASS {FTP_PASSWORD}")));
}

#[test]
fn https_hides_the_page_that_http_gives_away() {
    let run = run_text(
        r#"Scenario(
    version: 1,
    title: "HTTP and HTTPS",
    hosts: [
        Host(name: "pc", position: (10, 50)),
        Host(name: "r", role: Router, position: (50, 50)),
        Host(name: "web", position: (90, 50), role: FileServer(serves: [Http],
            files: [File(path: "/secret.txt", text: "the launch code is 0000\n")], tls: Offer)),
        Host(name: "trudy", role: Eavesdropper(link: ("r", "web")), position: (70, 80)),
    ],
    links: [Link(a: "pc", b: "r", latency: "5ms"), Link(a: "r", b: "web", latency: "5ms")],
    actions: [
        Action(at: "100ms", host: "pc", do: HttpGet(server: "web", paths: ["/secret.txt"], tls: true)),
        Action(at: "1s", host: "pc", do: HttpGet(server: "web", paths: ["/secret.txt"])),
    ],
)"#,
    );
    let client = run.app::<wiretale::apps::files::WebClient>("pc").unwrap();
    let results = client.results();
    assert_eq!(results.len(), 2);
    assert_eq!(results[0].server.port(), 443);
    assert!(
        results.iter().all(|r| r.downloads.len() == 1),
        "{results:?}"
    );
    let trudy = run.app::<Eavesdropper>("trudy").unwrap();
    let report = trudy.report();
    // Port 443: the server name in the ClientHello, records, nothing else.
    let https: Vec<_> = report
        .findings
        .iter()
        .filter(|f| f.connection.server.port() == 443)
        .collect();
    assert!(
        https
            .iter()
            .any(|f| f.text.contains("server name (SNI) web"))
    );
    assert!(
        https
            .iter()
            .all(|f| !f.text.contains("launch code") && !f.text.contains("GET"))
    );
    // Port 80: the request and the page.
    assert!(report
        .findings
        .iter()
        .any(|f| f.connection.server.port() == 80 && f.text.contains("the launch code is 0000")));
}

#[test]
fn tls_actions_need_a_server_that_offers_tls() {
    let text = r#"Scenario(
    version: 1,
    title: "no TLS here",
    hosts: [
        Host(name: "pc", position: (10, 50)),
        Host(name: "web", position: (90, 50), role: FileServer(serves: [Http, Ftp], users: [User(name: "a", password: "b")])),
    ],
    links: [Link(a: "pc", b: "web", latency: "5ms")],
    actions: [
        Action(at: "100ms", host: "pc", do: HttpGet(server: "web", paths: ["/x"], tls: true)),
        Action(at: "200ms", host: "pc", do: Ftp(server: "web", user: "a", password: "b", tls: true)),
    ],
)"#;
    let err = wiretale::scenario::parse("notls.ron", text)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("HttpGet with `tls: true`: `web` offers no TLS"),
        "{err}"
    );
    assert!(
        err.contains("Ftp with `tls: true`: `web` offers no TLS"),
        "{err}"
    );
    assert!(err.contains("tls: Offer"), "{err}");
}
