//! The live TELNET server with the system's own `telnet` client, driven
//! on a pseudo-terminal the way a person types: the client negotiates
//! character mode, each key goes out as it is pressed, the server echoes
//! all of them but the password's.
//!
//! The test skips when telnet or python3 is missing, unless
//! `WIRETALE_REQUIRE_CLIENTS=1` (set by `.ci/run`) makes that a failure.

use crate::live_common;

use live_common::{python, start, telnet_client};
use wiretale::live::{LiveOptions, Service};

/// Runs `telnet 127.0.0.1 PORT` on a pseudo-terminal, answers each prompt
/// by typing a line one key at a time, and prints what the terminal
/// showed. Every wait is bounded: 30 s for the whole session.
const DRIVE: &str = r#"
import os, pty, select, subprocess, sys, time

port, steps = int(sys.argv[1]), [s.split("=>", 1) for s in sys.argv[2:]]
deadline = time.monotonic() + 30
master, slave = pty.openpty()
proc = subprocess.Popen(["telnet", "127.0.0.1", str(port)],
                        stdin=slave, stdout=slave, stderr=slave, close_fds=True)
os.close(slave)
seen = b""

def read_some(timeout):
    global seen
    if not select.select([master], [], [], timeout)[0]:
        return True
    try:
        chunk = os.read(master, 4096)
    except OSError:
        return False
    seen += chunk
    return bool(chunk)

def give_up(why):
    proc.kill()
    sys.stderr.write("%s; the terminal showed %r\n" % (why, seen))
    sys.exit(1)

mark = 0
for prompt, line in steps:
    while prompt.encode() not in seen[mark:]:
        if time.monotonic() > deadline:
            give_up("no %r in time" % prompt)
        if not read_some(0.2):
            give_up("telnet ended before %r" % prompt)
    mark = seen.index(prompt.encode(), mark) + len(prompt)
    for c in line:
        os.write(master, c.encode())
        time.sleep(0.01)
        read_some(0)
    os.write(master, b"\r")
while time.monotonic() < deadline and read_some(0.2):
    pass
try:
    proc.wait(timeout=5)
except subprocess.TimeoutExpired:
    give_up("telnet did not exit")
sys.stdout.write(seen.decode("utf-8", "replace"))
"#;

/// Drives the system telnet through `steps` (`prompt=>line`); returns what
/// its terminal showed.
fn telnet(port: u16, steps: &[&str]) -> String {
    let mut script = format!("import sys\nsys.argv = ['drive', '{port}'");
    for s in steps {
        script.push_str(&format!(", {s:?}"));
    }
    script.push_str("]\n");
    script.push_str(DRIVE);
    python(&script)
}

#[test]
fn the_system_telnet_logs_in_and_cats_a_file() {
    if !telnet_client() {
        return;
    }
    let server = start("telnet_vs_ssh", LiveOptions::default());
    let addr = server
        .addr("files", Service::Telnet)
        .expect("TELNET is served");
    let screen = telnet(
        addr.port(),
        &[
            "login: =>alice",
            "Password: =>croissant",
            "$ =>cat report.txt",
            "$ =>exit",
        ],
    );
    assert!(
        screen.contains("Quarterly report: the merger with Initech closes on Friday."),
        "{screen}"
    );
    assert!(screen.contains("alice@files:/$ cat report.txt"), "{screen}");
    assert!(screen.contains("logout"), "{screen}");
    // The server echoed every key but the password's, and the client,
    // in character mode with the server's ECHO, printed none itself.
    assert!(screen.contains("files login: alice"), "{screen}");
    assert!(!screen.contains("croissant"), "{screen}");

    let lines = server.trace_lines();
    let has = |s: &str| lines.iter().any(|l| l.contains(s));
    assert!(has("C: DO ECHO"), "{lines:#?}");
    assert!(has(r#"negotiated client="#) && has(r#"option="ECHO" side="server" result="enabled""#));
    assert!(has("C: croissant"), "the password crossed the connection");
    assert!(has(r#"login_ok client="#));
    assert!(has(r#"command="cat report.txt" status=0"#), "{lines:#?}");
    assert!(has(r#"logout client="#));
    server.shutdown();
}
