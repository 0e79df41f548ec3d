//! TLS in live mode with real clients: curl with `--ssl-reqd` for SMTP
//! (STARTTLS), POP3 (STLS) and IMAP (STARTTLS), the implicit-TLS ports
//! (SMTPS, POP3S, IMAPS, HTTPS), Python's smtplib/poplib/imaplib with
//! `starttls()`, and `openssl s_client -starttls smtp`, every one
//! verifying the server against the scenario's CA.
//!
//! These tests skip when curl or python3 is missing, unless
//! `WIRETALE_REQUIRE_CLIENTS=1` (set by `.ci/run`) makes that a failure.

use crate::live_common::{clients, curl, python, start};
use std::process::Command;
use wiretale::live::{LiveOptions, LiveServer, Service};

fn ca_file(server: &LiveServer, tag: &str) -> String {
    let path = std::env::temp_dir().join(format!("wiretale-ca-{tag}-{}.pem", std::process::id()));
    std::fs::write(&path, server.ca_pem()).unwrap();
    path.to_string_lossy().into_owned()
}

#[test]
fn mail_over_starttls_and_implicit_tls_with_curl_python_and_openssl() {
    if !clients() {
        return;
    }
    let server = start("alice_to_bob", LiveOptions::default());
    let ca = ca_file(&server, "mail");
    let addr = |host: &str, s: Service| server.addr(host, s).unwrap().to_string();
    let message = std::env::temp_dir().join(format!("wiretale-tls-msg-{}.txt", std::process::id()));
    std::fs::write(
        &message,
        "From: alice@crepes.fr\r\nTo: bob@hamburger.edu\r\nSubject: over TLS\r\n\r\nSealed.\r\n",
    )
    .unwrap();
    let send = |url: String| {
        curl(&[
            "--ssl-reqd",
            "--cacert",
            &ca,
            &url,
            "--user",
            "alice:croissant",
            "--mail-from",
            "alice@crepes.fr",
            "--mail-rcpt",
            "bob@hamburger.edu",
            "-T",
            message.to_str().unwrap(),
        ])
    };
    // SMTP submission with STARTTLS, then SMTPS on the implicit port.
    send(format!(
        "smtp://{}",
        addr("alice-mail", Service::Submission)
    ));
    send(format!("smtps://{}", addr("alice-mail", Service::Smtps)));
    // POP3 with STLS, IMAP with STARTTLS, and their implicit ports.
    let list = curl(&[
        "--ssl-reqd",
        "--cacert",
        &ca,
        &format!("pop3://{}/", addr("bob-mail", Service::Pop3)),
        "--user",
        "bob:hungry",
    ]);
    assert!(list.lines().count() >= 2, "{list}");
    let pop = curl(&[
        "--cacert",
        &ca,
        &format!("pop3s://{}/1", addr("bob-mail", Service::Pop3s)),
        "--user",
        "bob:hungry",
    ]);
    let imap = curl(&[
        "--ssl-reqd",
        "--cacert",
        &ca,
        &format!("imap://{}/INBOX;UID=1", addr("bob-mail", Service::Imap)),
        "--user",
        "bob:hungry",
    ]);
    let imaps = curl(&[
        "--cacert",
        &ca,
        &format!("imaps://{}/INBOX;UID=1", addr("bob-mail", Service::Imaps)),
        "--user",
        "bob:hungry",
    ]);
    for got in [&pop, &imap, &imaps] {
        assert!(got.contains("Received: "), "{got}");
    }
    // Python's libraries, verifying with the CA.
    let (smtp, pop3, imap_port) = (
        server
            .addr("alice-mail", Service::Submission)
            .unwrap()
            .port(),
        server.addr("bob-mail", Service::Pop3).unwrap().port(),
        server.addr("bob-mail", Service::Imap).unwrap().port(),
    );
    let out = python(&format!(
        r#"
import smtplib, poplib, imaplib, ssl
ctx = ssl.create_default_context(cafile="{ca}")
s = smtplib.SMTP("127.0.0.1", {smtp}, timeout=20); s.starttls(context=ctx); s.login("alice", "croissant")
s.sendmail("alice@crepes.fr", ["bob@hamburger.edu"], "Subject: from python\r\n\r\nhi\r\n"); s.quit()
p = poplib.POP3("127.0.0.1", {pop3}, timeout=20); p.stls(context=ctx); p.user("bob"); p.pass_("hungry"); print("pop3", p.stat()[0]); p.quit()
i = imaplib.IMAP4("127.0.0.1", {imap_port}, timeout=20); i.starttls(ssl_context=ctx); i.login("bob", "hungry"); print("imap", i.select("INBOX")[0]); i.logout()
"#
    ));
    assert!(out.contains("pop3 ") && out.contains("imap OK"), "{out}");
    // openssl shows the chain: the host's certificate, signed by the CA.
    let s_client = Command::new("timeout")
        .args([
            "20",
            "openssl",
            "s_client",
            "-starttls",
            "smtp",
            "-connect",
            &addr("alice-mail", Service::Smtp),
            "-CAfile",
            &ca,
        ])
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    let shown = String::from_utf8_lossy(&s_client.stdout);
    assert!(
        shown.contains("CN = alice-mail") && shown.contains("wiretale scenario CA"),
        "{shown}"
    );
    assert!(shown.contains("Verify return code: 0 (ok)"), "{shown}");
    // The trace shows the switch and the TLS session, never the password
    // in a line before it.
    let lines = server.trace_lines();
    assert!(
        lines
            .iter()
            .any(|l| l.contains("S: 220 2.0.0 Ready to start TLS")),
        "{lines:#?}"
    );
    assert!(lines.iter().any(|l| l.contains("handshake done")));
    assert!(
        lines.iter().any(|l| l.contains("with ESMTPSA")) || pop.contains("with ESMTPSA"),
        "{pop}"
    );
    let _ = std::fs::remove_file(&message);
}

#[test]
fn https_serves_the_file_tree() {
    if !clients() {
        return;
    }
    let server = start("ftp_vs_http", LiveOptions::default());
    let ca = ca_file(&server, "web");
    let url = format!(
        "https://{}/alice/report.txt",
        server.addr("files", Service::Https).unwrap()
    );
    let got = curl(&["--cacert", &ca, &url]);
    assert_eq!(got, "Quarterly report\nSales are up.\nCosts are down.\n");
}

#[test]
fn ftp_with_auth_tls_protects_the_control_and_the_data_connections() {
    if !clients() {
        return;
    }
    let server = start("ftp_session", LiveOptions::default());
    let ca = ca_file(&server, "ftp");
    let ftp = server.addr("files", Service::Ftp).unwrap();
    let user = ["--user", "alice:wonderland"];
    let secure = ["--ssl-reqd", "--cacert", ca.as_str()];
    // curl: AUTH TLS, PBSZ 0, PROT P, then TLS on every data connection.
    let list = curl(&[
        secure[0],
        secure[1],
        secure[2],
        &format!("ftp://{ftp}/"),
        user[0],
        user[1],
    ]);
    assert!(list.contains("report.txt"), "{list}");
    let report = curl(&[
        secure[0],
        secure[1],
        secure[2],
        &format!("ftp://{ftp}/report.txt"),
        user[0],
        user[1],
    ]);
    assert_eq!(report, "Quarterly report\nSales are up.\nCosts are down.\n");
    let up = std::env::temp_dir().join(format!("wiretale-ftps-{}.txt", std::process::id()));
    std::fs::write(&up, "uploaded over TLS\n").unwrap();
    curl(&[
        secure[0],
        secure[1],
        secure[2],
        "-T",
        up.to_str().unwrap(),
        &format!("ftp://{ftp}/tls.txt"),
        user[0],
        user[1],
    ]);
    // Python's FTP_TLS with prot_p, verifying against the CA.
    let out = python(&format!(
        r#"
import ftplib, ssl, io
ctx = ssl.create_default_context(cafile="{ca}")
f = ftplib.FTP_TLS(context=ctx, timeout=20); f.connect("127.0.0.1", {port}); f.login("alice", "wonderland"); f.prot_p()
b = io.BytesIO(); f.retrbinary("RETR tls.txt", b.write); print(b.getvalue().decode().strip())
f.storbinary("STOR py.txt", io.BytesIO(b"from python over TLS\n")); print(sorted(f.nlst())); f.quit()
"#,
        port = ftp.port()
    ));
    assert!(out.contains("uploaded over TLS"), "{out}");
    assert!(out.contains("'py.txt'"), "{out}");
    let vfs = server.files("files").unwrap();
    let got = vfs
        .get_file(&wiretale::apps::vfs::VPath::parse("/alice/py.txt").unwrap())
        .unwrap();
    assert_eq!(&got[..], b"from python over TLS\n");
    let lines = server.trace_lines();
    assert!(
        lines
            .iter()
            .any(|l| l.contains("S: 234 AUTH TLS successful.")),
        "{lines:#?}"
    );
    assert!(lines.iter().any(|l| l.contains("C: PROT P")));
    let _ = std::fs::remove_file(&up);
}
