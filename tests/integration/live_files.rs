//! The live FTP and HTTP servers with real clients: curl (passive and
//! active FTP, HTTP) and Python's ftplib.
//!
//! These tests skip when curl or python3 is missing, unless
//! `WIRETALE_REQUIRE_CLIENTS=1` (set by `.ci/run`) makes that a failure.

use crate::live_common;

use live_common::{clients, curl, curl_status, python, start};
use wiretale::apps::files::sha256_hex;
use wiretale::apps::vfs::VPath;
use wiretale::live::{LiveOptions, Service};

fn temp_dir(tag: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("wiretale-live-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn curl_lists_downloads_and_uploads_in_passive_and_active_mode() {
    if !clients() {
        return;
    }
    let server = start("ftp_session", LiveOptions::default());
    let ftp = server.addr("files", Service::Ftp).unwrap();
    let user = ["--user", "alice:wonderland"];
    // Passive (curl tries EPSV first).
    let list = curl(&[&format!("ftp://{ftp}/"), user[0], user[1]]);
    assert!(
        list.contains("report.txt") && list.contains("photo.jpg"),
        "{list}"
    );
    let report = curl(&[&format!("ftp://{ftp}/report.txt"), user[0], user[1]]);
    assert_eq!(report, "Quarterly report\nSales are up.\nCosts are down.\n");
    // Active: curl listens and the server connects back (-P -).
    let list = curl(&["-P", "-", &format!("ftp://{ftp}/"), user[0], user[1]]);
    assert!(list.contains("report.txt"), "{list}");
    let dir = temp_dir("curl-ftp");
    let up = dir.join("notes.txt");
    std::fs::write(&up, "notes uploaded by curl\n").unwrap();
    curl(&[
        "-T",
        up.to_str().unwrap(),
        &format!("ftp://{ftp}/notes.txt"),
        user[0],
        user[1],
    ]);
    curl(&[
        "-P",
        "-",
        "-T",
        up.to_str().unwrap(),
        &format!("ftp://{ftp}/notes2.txt"),
        user[0],
        user[1],
    ]);
    let vfs = server.files("files").unwrap();
    for name in ["/alice/notes.txt", "/alice/notes2.txt"] {
        let got = vfs.get_file(&VPath::parse(name).unwrap()).unwrap();
        assert_eq!(&got[..], b"notes uploaded by curl\n", "{name}");
    }
    // A wrong password: curl's "login denied" (67).
    let (code, _) = curl_status(&[&format!("ftp://{ftp}/"), "--user", "alice:nope"]);
    assert_eq!(code, 67);
    let lines = server.trace_lines();
    assert!(
        lines.iter().any(|l| l.contains("C: PASS wonderland")),
        "the session is traced"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.contains("data_connection") && l.contains("mode=\"active\""))
    );
    assert!(
        lines
            .iter()
            .any(|l| l.contains("data_connection") && l.contains("mode=\"passive\""))
    );
    server.shutdown();
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn ftplib_round_trips_five_megabytes_byte_identical() {
    if !clients() {
        return;
    }
    let server = start("ftp_session", LiveOptions::default());
    let ftp = server.addr("files", Service::Ftp).unwrap();
    let dir = temp_dir("ftplib");
    let src = dir.join("big.bin");
    // Five megabytes that are not text: every byte value, no pattern.
    let mut data = Vec::with_capacity(5 << 20);
    let mut x: u32 = 1;
    while data.len() < 5 << 20 {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        data.extend_from_slice(&x.to_le_bytes());
    }
    std::fs::write(&src, &data).unwrap();
    let out = python(&format!(
        r#"
import ftplib, hashlib, io
for passive in (True, False):
    f = ftplib.FTP()
    f.connect("127.0.0.1", {port}, timeout=30)
    f.login("alice", "wonderland")
    f.set_pasv(passive)
    name = "big-%s.bin" % ("passive" if passive else "active")
    with open({src:?}, "rb") as fh:
        f.storbinary("STOR " + name, fh)
    back = io.BytesIO()
    f.retrbinary("RETR " + name, back.write)
    print(name, hashlib.sha256(back.getvalue()).hexdigest(), f.size(name))
    try:
        f.retrbinary("RETR ../../etc/passwd", back.write)
    except ftplib.error_perm as e:
        print("TRAVERSAL", str(e)[:3])
    f.cwd("../../..")
    print("PWD", f.pwd())
    f.quit()
f = ftplib.FTP()
f.connect("127.0.0.1", {port}, timeout=30)
try:
    f.login("alice", "wrong")
except ftplib.error_perm as e:
    print("LOGIN", str(e)[:3])
"#,
        port = ftp.port(),
        src = src.to_str().unwrap()
    ));
    let want = sha256_hex(&data);
    for mode in ["passive", "active"] {
        let line = format!("big-{mode}.bin {want} {}", data.len());
        assert!(out.contains(&line), "{mode}: expected {line:?} in\n{out}");
    }
    assert_eq!(out.matches("TRAVERSAL 550").count(), 2, "{out}");
    assert_eq!(
        out.matches("PWD /").count(),
        2,
        "the root stays the root: {out}"
    );
    assert!(out.contains("LOGIN 530"), "{out}");
    let vfs = server.files("files").unwrap();
    let stored = vfs
        .get_file(&VPath::parse("/alice/big-active.bin").unwrap())
        .unwrap();
    assert_eq!(sha256_hex(&stored), want);
    server.shutdown();
    std::fs::remove_dir_all(&dir).ok();
}

/// `LIST -R` through Python's ftplib: the listing walks into the
/// directories the client made, like `ls -R`, and `LIST -la` is still a
/// plain listing.
#[test]
fn ftplib_list_recursive_shows_nested_files() {
    if !clients() {
        return;
    }
    let server = start("ftp_session", LiveOptions::default());
    let ftp = server.addr("files", Service::Ftp).unwrap();
    let out = python(&format!(
        r#"
import ftplib, io
f = ftplib.FTP()
f.connect("127.0.0.1", {port}, timeout=10)
f.login("alice", "wonderland")
f.mkd("docs")
f.mkd("docs/deep")
f.storbinary("STOR docs/deep/nested.txt", io.BytesIO(b"nested file\n"))
lines = []
f.retrlines("LIST -R", lines.append)
for l in lines:
    print("R|" + l)
plain = []
f.retrlines("LIST -la", plain.append)
for l in plain:
    print("P|" + l)
f.quit()
"#,
        port = ftp.port()
    ));
    let recursive: Vec<&str> = out.lines().filter_map(|l| l.strip_prefix("R|")).collect();
    let plain: Vec<&str> = out.lines().filter_map(|l| l.strip_prefix("P|")).collect();
    let header = |h: &str| {
        recursive
            .iter()
            .position(|l| *l == h)
            .unwrap_or_else(|| panic!("no {h:?} in {out}"))
    };
    assert_eq!(recursive[0], ".:", "{out}");
    let deep = header("./docs/deep:");
    assert!(header("./docs:") < deep, "{out}");
    let vfs = server.files("files").unwrap();
    let nested = vfs
        .get_file(&VPath::parse("/alice/docs/deep/nested.txt").unwrap())
        .unwrap();
    let line = recursive[deep + 1];
    assert!(
        line.starts_with('-') && line.ends_with(" nested.txt"),
        "{out}"
    );
    assert!(
        line.split_whitespace().nth(4) == Some(nested.len().to_string().as_str()),
        "{line}"
    );
    // Every file of the top directory is in both listings.
    assert!(plain.iter().any(|l| l.ends_with(" report.txt")), "{out}");
    assert!(
        plain
            .iter()
            .any(|l| l.starts_with('d') && l.ends_with(" docs")),
        "{out}"
    );
    assert!(!plain.iter().any(|l| l.ends_with(':')), "{out}");
    for l in &plain {
        assert!(recursive.contains(l), "{l:?} missing from LIST -R: {out}");
    }
    server.shutdown();
}

/// Python's `ftplib.mlsd()` (RFC 3659 §7) lists facts that match the
/// server's files: their type, size and modification time.
#[test]
fn ftplib_mlsd_lists_facts_that_match_the_files() {
    if !clients() {
        return;
    }
    let server = start("ftp_session", LiveOptions::default());
    let ftp = server.addr("files", Service::Ftp).unwrap();
    let out = python(&format!(
        r#"
import ftplib
f = ftplib.FTP()
f.connect("127.0.0.1", {port}, timeout=10)
f.login("alice", "wonderland")
print("FEAT", "MLST" in f.sendcmd("FEAT"))
for name, facts in f.mlsd(facts=["type", "size", "modify", "unique"]):
    print("ENTRY", name, facts["type"], facts.get("size", "-"), facts["modify"], len(facts["unique"]))
print("MLST", f.sendcmd("MLST report.txt").splitlines()[1])
f.quit()
"#,
        port = ftp.port()
    ));
    assert!(out.contains("FEAT True"), "{out}");
    let vfs = server.files("files").unwrap();
    let mut entries = 0;
    for line in out.lines().filter(|l| l.starts_with("ENTRY ")) {
        let w: Vec<&str> = line.split(' ').collect();
        let (name, kind, size, modify) = (w[1], w[2], w[3], w[4]);
        let path = VPath::parse(&format!("/alice/{name}")).unwrap();
        let file = vfs
            .get_file(&path)
            .unwrap_or_else(|e| panic!("{name}: {e:?}: {out}"));
        assert_eq!(kind, "file", "{line}");
        assert_eq!(size, file.len().to_string(), "{line}");
        assert_eq!(modify.len(), 14, "{line}");
        assert_eq!(w[5], "16", "{line}");
        entries += 1;
    }
    assert_eq!(entries, 2, "report.txt and photo.jpg: {out}");
    assert!(out.contains("MLST  type=file;size=47;"), "{out}");
    server.shutdown();
}

#[test]
fn curl_fetches_over_http_from_the_same_files() {
    if !clients() {
        return;
    }
    let server = start("ftp_vs_http", LiveOptions::default());
    let http = server.addr("files", Service::Http).unwrap();
    let got = curl(&[&format!("http://{http}/alice/report.txt")]);
    assert_eq!(got, "Quarterly report\nSales are up.\nCosts are down.\n");
    let (code, _) = curl_status(&["--fail", &format!("http://{http}/alice/missing.txt")]);
    assert_eq!(code, 22, "404 makes curl --fail exit 22");
    server.shutdown();
}

/// Downloaders that keep copies: `curl -z` (If-Modified-Since) and
/// `If-None-Match` with the ETag get 304 for an unchanged file, `curl -r`
/// gets 206 with exactly the bytes asked for (RFC 9110 §13, §14).
#[test]
fn curl_revalidates_and_fetches_ranges() {
    if !clients() {
        return;
    }
    let server = start("ftp_vs_http", LiveOptions::default());
    let http = server.addr("files", Service::Http).unwrap();
    let url = format!("http://{http}/alice/report.txt");
    let code = |args: &[&str]| -> String {
        let mut all = vec!["--output", "/dev/null", "--write-out", "%{http_code}"];
        all.extend_from_slice(args);
        all.push(&url);
        curl(&all)
    };
    // The validators of the first response.
    let head = curl(&["--head", &url]);
    let field = |name: &str| -> String {
        head.lines()
            .find_map(|l| l.strip_prefix(&format!("{name}: ")))
            .unwrap_or_else(|| panic!("no {name} in {head}"))
            .trim()
            .to_owned()
    };
    let etag = field("ETag");
    let modified = field("Last-Modified");
    assert!(
        etag.starts_with('"') && etag.ends_with('"'),
        "a strong tag: {etag}"
    );
    assert_eq!(code(&["-z", &modified]), "304");
    assert_eq!(code(&["-H", &format!("If-None-Match: {etag}")]), "304");
    assert_eq!(code(&["-H", "If-None-Match: \"stale\""]), "200");
    assert_eq!(code(&["-z", "Thu, 01 Jan 1970 00:00:00 GMT"]), "200");
    // Ranges: the first 10 bytes, and one past the end.
    let part = curl(&["-r", "0-9", &url]);
    assert_eq!(part, "Quarterly ");
    assert_eq!(code(&["-r", "0-9"]), "206");
    assert_eq!(code(&["-r", "9999-"]), "416");
    server.shutdown();
}

#[test]
fn pipelined_http_requests_in_one_write_are_all_answered_in_order() {
    use std::io::{Read, Write};
    let server = start("ftp_vs_http", LiveOptions::default());
    let http = server.addr("files", Service::Http).unwrap();
    let mut stream = std::net::TcpStream::connect(http).unwrap();
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(30)))
        .unwrap();
    // The server takes the requests one line at a time and writes each
    // answer before reading on; every request is still answered.
    let n = 200;
    let mut requests = String::new();
    for i in 0..n {
        let last = if i + 1 == n {
            "Connection: close\r\n"
        } else {
            ""
        };
        requests.push_str(&format!(
            "GET /alice/report.txt HTTP/1.1\r\nHost: files\r\n{last}\r\n"
        ));
    }
    stream.write_all(requests.as_bytes()).unwrap();
    let mut answers = Vec::new();
    stream.read_to_end(&mut answers).unwrap();
    let answers = String::from_utf8_lossy(&answers);
    assert_eq!(answers.matches("HTTP/1.1 200 OK\r\n").count(), n);
    assert_eq!(
        answers
            .matches("Quarterly report\nSales are up.\nCosts are down.\n")
            .count(),
        n
    );
    server.shutdown();
}
