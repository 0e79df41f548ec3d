//! Hostile clients against `wiretale serve`, while well-behaved ones keep
//! being served.
//!
//! The server runs as a child process, so that its peak memory is its
//! own (read from `/proc/PID/status`). Everything is on loopback, bounded
//! in time and count, and stops by itself.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

const SCENARIO: &str = r#"Scenario(
    version: 1,
    title: "Servers under attack",
    hosts: [
        Host(name: "bob-mail", position: (20, 50),
            role: MailServer(domains: ["hamburger.edu"], users: [User(name: "bob", password: "hungry")])),
        Host(name: "router", role: Router, position: (50, 50)),
        Host(name: "files", position: (80, 50),
            role: FileServer(
                serves: [Ftp, Http],
                users: [User(name: "alice", password: "wonderland")],
                files: [File(path: "/alice/report.txt", text: "Quarterly report\n")],
            )),
    ],
    links: [
        Link(a: "bob-mail", b: "router", latency: "1ms"),
        Link(a: "router", b: "files", latency: "1ms"),
    ],
)
"#;

/// A `wiretale serve` child, killed when dropped.
struct Served {
    child: Child,
    addrs: Vec<(String, String, SocketAddr)>,
}

impl Served {
    fn start(dir: &std::path::Path) -> Served {
        let file = dir.join("hostile.ron");
        std::fs::write(&file, SCENARIO).unwrap();
        let mut child = Command::new(env!("CARGO_BIN_EXE_wiretale"))
            .arg("serve")
            .arg(&file)
            .args(["--port-base", "0", "--max-sessions", "2000"])
            .args(["--idle-timeout", "30s", "--passive-ports", "41000-41999"])
            .arg("--trace")
            .arg(dir.join("trace.txt"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("wiretale serve starts");
        let mut err = BufReader::new(child.stderr.take().unwrap());
        let mut addrs = Vec::new();
        let mut line = String::new();
        // "  bob-mail       SMTP        127.0.0.1:41234"
        while addrs.len() < 9 {
            line.clear();
            if err.read_line(&mut line).unwrap_or(0) == 0 {
                panic!("serve stopped: {line}");
            }
            let words: Vec<&str> = line.split_whitespace().collect();
            if let [host, service, addr] = words[..]
                && let Ok(addr) = addr.parse()
            {
                addrs.push((host.to_string(), service.to_string(), addr));
            }
        }
        // Keep draining stderr so the child never blocks on it.
        std::thread::spawn(move || {
            let mut sink = String::new();
            while err.read_line(&mut sink).unwrap_or(0) > 0 {
                sink.clear();
            }
        });
        Served { child, addrs }
    }

    fn addr(&self, service: &str) -> SocketAddr {
        self.addrs
            .iter()
            .find(|(_, s, _)| s == service)
            .map(|(.., a)| *a)
            .unwrap_or_else(|| panic!("no {service} in {:?}", self.addrs))
    }

    /// A field of /proc/PID/status in kB (VmRSS, VmHWM, Threads).
    fn status(&self, field: &str) -> u64 {
        let text = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .unwrap_or_default();
        text.lines()
            .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
            .and_then(|v| v.split_whitespace().next()?.parse().ok())
            .unwrap_or(0)
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn connect(addr: SocketAddr) -> (TcpStream, BufReader<TcpStream>) {
    let s = TcpStream::connect_timeout(&addr, Duration::from_secs(5)).expect("connects");
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.set_write_timeout(Some(Duration::from_secs(10))).unwrap();
    let r = BufReader::new(s.try_clone().unwrap());
    (s, r)
}

fn line(r: &mut BufReader<TcpStream>) -> String {
    let mut l = String::new();
    let _ = r.read_line(&mut l);
    l
}

/// Reads an SMTP/FTP reply, multi-line ones to their last line.
fn reply(r: &mut BufReader<TcpStream>) -> String {
    loop {
        let l = line(r);
        if l.len() < 4 || l.as_bytes()[3] == b' ' {
            return l;
        }
    }
}

fn expect(r: &mut BufReader<TcpStream>, code: &str, what: &str) {
    let l = reply(r);
    assert!(l.starts_with(code), "{what}: expected {code}, got {l:?}");
}

/// One round of what a well-behaved user does; returns how long it took.
fn well_behaved(s: &Served, round: usize) -> Duration {
    let started = Instant::now();
    match round % 4 {
        0 => {
            let (mut w, mut r) = connect(s.addr("SMTP"));
            expect(&mut r, "220", "SMTP greeting");
            w.write_all(b"EHLO good\r\n").unwrap();
            expect(&mut r, "250", "EHLO");
            w.write_all(b"MAIL FROM:<carol@example.org>\r\n").unwrap();
            expect(&mut r, "250", "MAIL");
            w.write_all(b"RCPT TO:<bob@hamburger.edu>\r\n").unwrap();
            expect(&mut r, "250", "RCPT");
            w.write_all(b"DATA\r\n").unwrap();
            expect(&mut r, "354", "DATA");
            w.write_all(format!("Subject: good {round}\r\n\r\nfine\r\n.\r\n").as_bytes())
                .unwrap();
            expect(&mut r, "250", "end of data");
            w.write_all(b"QUIT\r\n").unwrap();
            expect(&mut r, "221", "QUIT");
        }
        1 => {
            let (mut w, mut r) = connect(s.addr("POP3"));
            assert!(line(&mut r).starts_with("+OK"));
            w.write_all(b"USER bob\r\nPASS hungry\r\nSTAT\r\nQUIT\r\n")
                .unwrap();
            for what in ["USER", "PASS", "STAT", "QUIT"] {
                let l = line(&mut r);
                assert!(l.starts_with("+OK"), "POP3 {what}: {l:?}");
            }
        }
        2 => {
            let (mut w, mut r) = connect(s.addr("HTTP"));
            w.write_all(
                b"GET /alice/report.txt HTTP/1.1\r\nHost: files\r\nConnection: close\r\n\r\n",
            )
            .unwrap();
            let mut body = String::new();
            r.read_to_string(&mut body).unwrap();
            assert!(body.starts_with("HTTP/1.1 200"), "{body}");
            assert!(body.ends_with("Quarterly report\n"), "{body}");
        }
        _ => {
            let (mut w, mut r) = connect(s.addr("FTP"));
            expect(&mut r, "220", "FTP greeting");
            w.write_all(b"USER alice\r\n").unwrap();
            expect(&mut r, "331", "USER");
            w.write_all(b"PASS wonderland\r\n").unwrap();
            expect(&mut r, "230", "PASS");
            w.write_all(b"PWD\r\n").unwrap();
            expect(&mut r, "257", "PWD");
            w.write_all(b"QUIT\r\n").unwrap();
            expect(&mut r, "221", "QUIT");
        }
    }
    started.elapsed()
}

/// Sends `len` bytes of `fill` without a line end, then CRLF, in pieces.
fn long_line(w: &mut TcpStream, len: usize) -> std::io::Result<()> {
    let chunk = vec![b'a'; 64 * 1024];
    let mut sent = 0;
    while sent < len {
        w.write_all(&chunk)?;
        sent += chunk.len();
    }
    w.write_all(b"\r\n")
}

/// A port on which nobody listens (bound a moment ago, then let go).
fn dead_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

#[test]
fn hostile_clients_do_not_stop_well_behaved_ones() {
    let dir = std::env::temp_dir().join(format!("wiretale-hostile-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let served = Arc::new(Served::start(&dir));
    let idle_rss = served.status("VmRSS");
    let stop = Arc::new(AtomicBool::new(false));
    let mut attackers = Vec::new();

    // 200 connections that each send one byte a second.
    {
        let s = served.clone();
        let stop = stop.clone();
        attackers.push(std::thread::spawn(move || {
            let services = ["SMTP", "POP3", "IMAP", "FTP", "HTTP"];
            let mut slow: Vec<TcpStream> = (0..200)
                .filter_map(|n| TcpStream::connect(s.addr(services[n % 5])).ok())
                .collect();
            for c in &slow {
                c.set_nonblocking(true).unwrap();
            }
            let text = b"NOOP\r\n";
            let mut k = 0;
            let mut sink = [0u8; 4096];
            while !stop.load(Ordering::SeqCst) {
                for c in &mut slow {
                    let _ = c.write(&text[k % text.len()..k % text.len() + 1]);
                    while matches!(c.read(&mut sink), Ok(n) if n > 0) {}
                }
                k += 1;
                std::thread::sleep(Duration::from_secs(1));
            }
            slow.len()
        }));
    }
    // 1,000 connections opened at once, held for a while, then dropped.
    {
        let s = served.clone();
        attackers.push(std::thread::spawn(move || {
            let addr = s.addr("SMTP");
            let held: Vec<TcpStream> = (0..1000)
                .filter_map(|_| TcpStream::connect_timeout(&addr, Duration::from_secs(5)).ok())
                .collect();
            std::thread::sleep(Duration::from_secs(5));
            held.len()
        }));
    }
    // A 10 MB line to every line service: refused, and SMTP goes on.
    {
        let s = served.clone();
        attackers.push(std::thread::spawn(move || {
            for service in ["SMTP", "POP3", "IMAP", "FTP", "HTTP"] {
                let (mut w, mut r) = connect(s.addr(service));
                if service != "HTTP" {
                    line(&mut r); // the greeting
                }
                let sent = long_line(&mut w, 10 << 20);
                if service == "SMTP" {
                    assert!(
                        sent.is_ok(),
                        "the SMTP server reads a 10 MB line to its end"
                    );
                    let l = reply(&mut r);
                    assert!(l.starts_with("500"), "10 MB SMTP line: {l:?}");
                    w.write_all(b"NOOP\r\n").unwrap();
                    expect(&mut r, "250", "NOOP after the long line");
                } else {
                    // Refused with the protocol's error (the HTTP server
                    // answers and closes before the line is all read).
                    let l = line(&mut r);
                    let refused = match service {
                        "POP3" => "-ERR",
                        "IMAP" => "* BAD",
                        "FTP" => "500",
                        _ => "HTTP/1.1 414",
                    };
                    assert!(l.starts_with(refused), "10 MB line to {service}: {l:?}");
                }
            }
            5
        }));
    }
    // A DATA that never ends: 30 MB without the final dot.
    {
        let s = served.clone();
        attackers.push(std::thread::spawn(move || {
            let (mut w, mut r) = connect(s.addr("SMTP"));
            expect(&mut r, "220", "greeting");
            w.write_all(b"HELO endless\r\nMAIL FROM:<x@example.org>\r\nRCPT TO:<bob@hamburger.edu>\r\nDATA\r\n")
                .unwrap();
            for code in ["250", "250", "250", "354"] {
                expect(&mut r, code, "endless DATA");
            }
            let lines = b"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\r\n".repeat(800);
            let mut sent = 0;
            while sent < 30 << 20 {
                if w.write_all(&lines).is_err() {
                    break;
                }
                sent += lines.len();
            }
            sent
        }));
    }
    // IMAP literals that announce 2 GB: refused before any byte of them.
    {
        let s = served.clone();
        attackers.push(std::thread::spawn(move || {
            let (mut w, mut r) = connect(s.addr("IMAP"));
            assert!(line(&mut r).starts_with("* OK"));
            w.write_all(b"a LOGIN bob hungry\r\n").unwrap();
            assert!(line(&mut r).starts_with("a OK"));
            w.write_all(b"b APPEND INBOX {2000000000}\r\n").unwrap();
            let l = line(&mut r);
            assert!(
                l.starts_with("b NO [TOOBIG]"),
                "a 2 GB literal is refused, not invited: {l:?}"
            );
            // A literal that needs no go-ahead: the server cannot refuse
            // it before it comes, and must not keep it.
            let (mut w, mut r) = connect(s.addr("IMAP"));
            assert!(line(&mut r).starts_with("* OK"));
            w.write_all(b"a LOGIN bob hungry\r\n").unwrap();
            assert!(line(&mut r).starts_with("a OK"));
            let _ = w.write_all(b"b APPEND INBOX {2000000000+}\r\n");
            let chunk = vec![b'z'; 1 << 20];
            let mut sent = 0;
            while sent < 20 << 20 && w.write_all(&chunk).is_ok() {
                sent += chunk.len();
            }
            2
        }));
    }
    // FTP PORT to a port nobody listens on: 425, and the session goes on.
    {
        let s = served.clone();
        attackers.push(std::thread::spawn(move || {
            let (mut w, mut r) = connect(s.addr("FTP"));
            expect(&mut r, "220", "greeting");
            w.write_all(b"USER alice\r\n").unwrap();
            expect(&mut r, "331", "USER");
            w.write_all(b"PASS wonderland\r\n").unwrap();
            expect(&mut r, "230", "PASS");
            let port = dead_port();
            w.write_all(format!("PORT 127,0,0,1,{},{}\r\n", port >> 8, port & 255).as_bytes())
                .unwrap();
            expect(&mut r, "200", "PORT");
            let asked = Instant::now();
            w.write_all(b"LIST\r\n").unwrap();
            let l = reply(&mut r);
            assert!(l.starts_with("425") || l.starts_with("150"), "LIST: {l:?}");
            if l.starts_with("150") {
                let l = reply(&mut r);
                assert!(l.starts_with("425") || l.starts_with("426"), "LIST: {l:?}");
            }
            assert!(asked.elapsed() < Duration::from_secs(6), "refused in time");
            w.write_all(b"NOOP\r\n").unwrap();
            expect(&mut r, "200", "NOOP after the failed data connection");
            1
        }));
    }
    // A flood of failed logins on every service with a password.
    {
        let s = served.clone();
        attackers.push(std::thread::spawn(move || {
            let mut refused = 0;
            for n in 0..60 {
                match n % 3 {
                    0 => {
                        let (mut w, mut r) = connect(s.addr("POP3"));
                        line(&mut r);
                        w.write_all(b"USER bob\r\nPASS guess\r\n").unwrap();
                        line(&mut r);
                        assert!(line(&mut r).starts_with("-ERR"));
                    }
                    1 => {
                        let (mut w, mut r) = connect(s.addr("IMAP"));
                        line(&mut r);
                        w.write_all(b"a LOGIN bob guess\r\n").unwrap();
                        assert!(line(&mut r).starts_with("a NO"));
                    }
                    _ => {
                        let (mut w, mut r) = connect(s.addr("FTP"));
                        reply(&mut r);
                        w.write_all(b"USER alice\r\nPASS guess\r\n").unwrap();
                        reply(&mut r);
                        assert!(reply(&mut r).starts_with("530"));
                    }
                }
                refused += 1;
            }
            refused
        }));
    }

    // Meanwhile, well-behaved clients: each round served on time.
    let started = Instant::now();
    let mut worst = Duration::ZERO;
    let mut rounds = 0;
    let mut peak_threads = 0;
    while started.elapsed() < Duration::from_secs(12) {
        let took = well_behaved(&served, rounds);
        assert!(
            took < Duration::from_secs(2),
            "round {rounds} took {took:?} under attack"
        );
        worst = worst.max(took);
        rounds += 1;
        peak_threads = peak_threads.max(served.status("Threads"));
        std::thread::sleep(Duration::from_millis(50));
    }
    stop.store(true, Ordering::SeqCst);
    let done: Vec<usize> = attackers.into_iter().map(|t| t.join().unwrap()).collect();
    assert!(done[0] >= 190, "the slow clients got in: {}", done[0]);
    assert!(done[1] >= 900, "the 1,000 got in: {}", done[1]);
    // And after the attack, still.
    for n in 0..4 {
        well_behaved(&served, rounds + n);
    }
    let peak = served.status("VmHWM");
    eprintln!(
        "hostile clients: {rounds} well-behaved rounds, worst {worst:?}; server peak RSS {} MB (idle {} MB), up to {peak_threads} threads",
        peak / 1024,
        idle_rss / 1024
    );
    assert!(rounds >= 20, "only {rounds} rounds");
    // Bounded: no copy of the 10 MB lines, the 30 MB DATA or the 2 GB
    // literal is kept.
    assert!(peak < 400 * 1024, "server peak RSS {peak} kB");
    std::fs::remove_dir_all(&dir).ok();
}
