//! Live-mode latency: sequential requests from one client thread, each on
//! a new connection, against `wiretale serve`'s servers on loopback.
//!
//! Run with `cargo bench --no-default-features --bench live`. Targets on a
//! 2-core machine, release build: 2,000 HTTP GETs per second and 2,000 FTP
//! logins (connect, greeting, USER, PASS, QUIT) per second. Set
//! `WIRETALE_BENCH_STRICT=1` to exit with an error when a target is
//! missed.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Instant;
use wiretale::live::{LiveFormat, LiveOptions, LiveServer, Service, TraceSink};

const TARGET: f64 = 2000.0;

fn http_gets(addr: SocketAddr, n: usize) -> f64 {
    let start = Instant::now();
    for _ in 0..n {
        let mut s = TcpStream::connect(addr).expect("connects");
        s.write_all(b"GET /alice/report.txt HTTP/1.1\r\nHost: files\r\nConnection: close\r\n\r\n")
            .expect("sends");
        let mut reply = Vec::new();
        s.read_to_end(&mut reply).expect("reads");
        assert!(reply.starts_with(b"HTTP/1.1 200 OK\r\n"), "a 200");
    }
    n as f64 / start.elapsed().as_secs_f64()
}

fn ftp_logins(addr: SocketAddr, n: usize) -> f64 {
    let start = Instant::now();
    for _ in 0..n {
        let s = TcpStream::connect(addr).expect("connects");
        let mut w = s.try_clone().expect("clones");
        let mut r = BufReader::new(s);
        let mut line = String::new();
        let mut expect = |r: &mut BufReader<TcpStream>, code: &str| {
            line.clear();
            r.read_line(&mut line).expect("reads");
            assert!(line.starts_with(code), "{code}: {line}");
        };
        expect(&mut r, "220");
        w.write_all(b"USER alice\r\n").unwrap();
        expect(&mut r, "331");
        w.write_all(b"PASS wonderland\r\n").unwrap();
        expect(&mut r, "230");
        w.write_all(b"QUIT\r\n").unwrap();
        expect(&mut r, "221");
    }
    n as f64 / start.elapsed().as_secs_f64()
}

fn main() {
    let loaded = wiretale::scenario::load("ftp_vs_http").expect("bundled scenario");
    let server = LiveServer::start(
        &loaded,
        LiveOptions {
            port_base: 0,
            ..LiveOptions::default()
        },
        TraceSink {
            out: None,
            format: LiveFormat::Text,
            keep_lines: false,
        },
    )
    .expect("the live server starts");
    let http = server.addr("files", Service::Http).expect("HTTP");
    let ftp = server.addr("files", Service::Ftp).expect("FTP");
    // Warm up, then the best of three runs.
    http_gets(http, 100);
    ftp_logins(ftp, 100);
    let best = |f: &dyn Fn() -> f64| (0..3).map(|_| f()).fold(0.0, f64::max);
    let gets = best(&|| http_gets(http, 2000));
    let logins = best(&|| ftp_logins(ftp, 1000));
    server.shutdown();
    println!(
        "live: {gets:.0} sequential HTTP GETs per second (each a new connection), {logins:.0} FTP logins per second (target {TARGET:.0} each)"
    );
    let strict = std::env::var("WIRETALE_BENCH_STRICT").is_ok_and(|v| v == "1");
    if strict && (gets < TARGET || logins < TARGET) {
        eprintln!("live: below the target");
        std::process::exit(1);
    }
}
