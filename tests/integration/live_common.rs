//! Shared helpers of the live-mode tests: starting a server on free ports
//! and running real clients.

#![allow(dead_code)]

use std::process::Command;
use wiretale::live::{LiveFormat, LiveOptions, LiveServer, TraceSink};

/// True if curl and python3 are installed. When they are not, the tests
/// skip, unless `WIRETALE_REQUIRE_CLIENTS=1` asks for a failure.
pub fn clients() -> bool {
    let has = |cmd: &str| {
        Command::new(cmd)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
    };
    let ok = has("curl") && has("python3");
    if !ok {
        assert!(
            std::env::var("WIRETALE_REQUIRE_CLIENTS").map_or(true, |v| v != "1"),
            "curl and python3 are required (WIRETALE_REQUIRE_CLIENTS=1) but missing"
        );
        eprintln!("skipping: curl or python3 is not installed");
    }
    ok
}

/// True if the system `telnet` client and python3 are installed. When
/// they are not, the test skips, unless `WIRETALE_REQUIRE_CLIENTS=1` asks
/// for a failure.
pub fn telnet_client() -> bool {
    let python = Command::new("python3")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    // Not every telnet knows --version: look for it on the PATH.
    let telnet = std::env::var_os("PATH")
        .is_some_and(|path| std::env::split_paths(&path).any(|dir| dir.join("telnet").is_file()));
    let ok = python && telnet;
    if !ok {
        assert!(
            std::env::var("WIRETALE_REQUIRE_CLIENTS").map_or(true, |v| v != "1"),
            "telnet and python3 are required (WIRETALE_REQUIRE_CLIENTS=1) but missing"
        );
        eprintln!("skipping: telnet or python3 is not installed");
    }
    ok
}

/// Serves a bundled scenario on ports the system chooses, keeping the
/// trace lines in memory.
pub fn start(name: &str, opts: LiveOptions) -> LiveServer {
    let loaded = wiretale::scenario::load(name).expect("bundled scenario");
    let sink = TraceSink {
        out: None,
        format: LiveFormat::Text,
        keep_lines: true,
    };
    LiveServer::start(
        &loaded,
        LiveOptions {
            port_base: 0,
            ..opts
        },
        sink,
    )
    .expect("the live server starts")
}

/// Waits until `done` holds (checked every 20 ms), failing the test with
/// `what` after `secs` seconds: mail relayed between live servers arrives
/// a moment after the sender's 250, as on the Internet.
pub fn wait_for(what: &str, secs: u64, mut done: impl FnMut() -> bool) {
    let until = std::time::Instant::now() + std::time::Duration::from_secs(secs);
    while !done() {
        assert!(
            std::time::Instant::now() < until,
            "timed out waiting: {what}"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// The number of messages in `user`'s INBOX at live mail host `host`.
pub fn inbox_len(server: &LiveServer, host: &str, user: &str) -> usize {
    server
        .mail_store(host)
        .and_then(|s| s.folder(user, "INBOX").map(|f| f.len()))
        .unwrap_or(0)
}

/// Runs a Python script; returns its standard output, failing the test
/// if it fails.
pub fn python(script: &str) -> String {
    let out = Command::new("python3")
        .arg("-c")
        .arg(script)
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "python failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Runs curl (quiet, failing on errors, with a time limit); returns its
/// output.
pub fn curl(args: &[&str]) -> String {
    let out = Command::new("curl")
        .args(["--silent", "--show-error", "--max-time", "30"])
        .args(args)
        .output()
        .expect("curl runs");
    assert!(
        out.status.success(),
        "curl {args:?} failed ({}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Runs curl and returns its exit code and standard error.
pub fn curl_status(args: &[&str]) -> (i32, String) {
    let out = Command::new("curl")
        .args(["--silent", "--show-error", "--max-time", "30"])
        .args(args)
        .output()
        .expect("curl runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}
