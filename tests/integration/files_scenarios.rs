//! The bundled file transfer scenarios meet their own expectations, and
//! mistakes in the file transfer parts of a scenario are reported at
//! their line and column with a hint.

use crate::files_support;

use files_support::run_bundled;
use wiretale::scenario;

#[test]
fn ftp_session_meets_its_expectations() {
    run_bundled("ftp_session");
}

#[test]
fn ftp_passive_meets_its_expectations() {
    run_bundled("ftp_passive");
}

#[test]
fn ftp_errors_meets_its_expectations() {
    run_bundled("ftp_errors");
}

#[test]
fn ftp_vs_http_meets_its_expectations() {
    let run = run_bundled("ftp_vs_http");
    let events = files_support::events(&run);
    // One TCP connection for HTTP, three for FTP (control + two data).
    let syns = |port: u16| {
        files_support::select(&events, "tcp", "segment_sent")
            .into_iter()
            .filter(|f| f["flags"] == "SYN" && f["host"] == "alice-pc")
            .filter(|f| port == 0 || files_support::port(f, "dst") == port)
            .count()
    };
    assert_eq!(syns(80), 1);
    assert_eq!(syns(21), 1);
    assert_eq!(syns(0), 4);
}

#[test]
fn scp_vs_ftp_meets_its_expectations() {
    run_bundled("scp_vs_ftp");
}

#[test]
fn telnet_vs_ssh_meets_its_expectations() {
    run_bundled("telnet_vs_ssh");
}

#[test]
fn telnet_actions_are_checked() {
    let text = scenario_with(
        HOSTS,
        r#"    actions: [
        Action(at: "1s", host: "pc", do: Telnet(server: "files", user: "alice", password: "pw")),
        Action(at: "2s", host: "pc", do: Telnet(server: "router", user: "alice", password: "pw")),
    ],"#,
    );
    let e = errors(&text);
    assert!(e.contains("Telnet: `files` does not serve Telnet"), "{e}");
    assert!(e.contains("add `Telnet` to its `serves`"), "{e}");
    assert!(
        e.contains("Telnet needs a file server, but `router` is a Router"),
        "{e}"
    );

    let hosts = r#"
        Host(name: "pc"),
        Host(name: "router", role: Router),
        Host(name: "files", role: FileServer(serves: [Telnet], users: [User(name: "alice", password: "pw")])),"#;
    let text = scenario_with(
        hosts,
        r#"    actions: [Action(at: "1s", host: "pc", do: Telnet(server: "files", user: "alice", password: "pw",
        commands: ["ls", "cat a
b", "", "exit", "pwd"]))],"#,
    );
    let e = errors(&text);
    assert!(
        e.contains("TELNET command 2 must be non-empty text on one line"),
        "{e}"
    );
    assert!(
        e.contains("TELNET command 3 must be non-empty text on one line"),
        "{e}"
    );
    assert!(
        e.contains("`pwd` comes after `exit`: the session has ended by then"),
        "{e}"
    );
    assert!(e.contains("bad.ron:11:"), "{e}");
    let text = scenario_with(
        hosts,
        r#"    actions: [Action(at: "1s", host: "pc", do: Telnet(server: "files", user: "alice", passwd: "pw"))],"#,
    );
    let e = errors(&text);
    assert!(e.contains("unknown field `passwd` in `Telnet`"), "{e}");
    assert!(e.contains("did you mean `password`?"), "{e}");

    // A valid one runs: a wrong password is a failed login, reported.
    let text = scenario_with(
        hosts,
        r#"    actions: [Action(at: "1s", host: "pc", do: Telnet(server: "files", user: "alice", password: "nope", commands: ["ls"]))],
    expect: [{"layer": "telnet", "event": "login_failed", "user": "alice", "attempts": 1},
             {"layer": "app", "event": "telnet_done", "logged_in": false, "succeeded": false, "error": "login refused: Login incorrect"}],"#,
    );
    let run = files_support::run_text(&text);
    let s = scenario::parse("t.ron", &text).unwrap();
    let failures = wiretale::scenario::check::evaluate(&s, &run);
    assert!(failures.is_empty(), "{failures:?}");
}

/// The diagnostics of invalid scenario text, as printed.
fn errors(text: &str) -> String {
    match scenario::parse("bad.ron", text) {
        Ok(_) => panic!("the scenario should not validate"),
        Err(e) => e.to_string(),
    }
}

const HOSTS: &str = r#"
        Host(name: "pc"),
        Host(name: "router", role: Router),
        Host(name: "files", role: FileServer(users: [User(name: "alice", password: "pw")])),"#;

fn scenario_with(hosts: &str, rest: &str) -> String {
    format!(
        "Scenario(\n    version: 1,\n    title: \"t\",\n    hosts: [{hosts}\n    ],\n    links: [Link(a: \"pc\", b: \"router\"), Link(a: \"router\", b: \"files\")],\n{rest}\n)\n"
    )
}

#[test]
fn unknown_server_is_reported_with_a_suggestion() {
    let text = scenario_with(
        HOSTS,
        r#"    actions: [Action(at: "1s", host: "pc", do: Ftp(server: "file", user: "alice", password: "pw"))],"#,
    );
    let e = errors(&text);
    assert!(e.contains("Ftp names an unknown host `file`"), "{e}");
    assert!(e.contains("bad.ron:10:"), "{e}");
    assert!(e.contains("did you mean `files`?"), "{e}");
}

#[test]
fn a_server_must_serve_the_protocol() {
    let text = scenario_with(
        HOSTS,
        r#"    actions: [
        Action(at: "1s", host: "pc", do: HttpGet(server: "files", paths: ["/a"])),
        Action(at: "1s", host: "pc", do: ScpDownload(server: "router", user: "a", password: "b", remote: "x")),
    ],"#,
    );
    let e = errors(&text);
    assert!(e.contains("HttpGet: `files` does not serve Http"), "{e}");
    assert!(e.contains("add `Http` to its `serves`"), "{e}");
    assert!(
        e.contains("ScpDownload needs a file server, but `router` is a Router"),
        "{e}"
    );
}

#[test]
fn unknown_fields_and_missing_content() {
    let text = scenario_with(
        HOSTS,
        r#"    actions: [Action(at: "1s", host: "pc", do: Ftp(server: "files", user: "alice", password: "pw", steps: [Stor(name: "x", txt: "y")]))],"#,
    );
    let e = errors(&text);
    assert!(e.contains("unknown field `txt`"), "{e}");
    assert!(e.contains("did you mean `text`?"), "{e}");

    let text = scenario_with(
        r#"
        Host(name: "pc"),
        Host(name: "router", role: Router),
        Host(name: "files", role: FileServer(files: [File(path: "/a.txt"), File(path: "b.txt", text: "x")])),"#,
        "",
    );
    let e = errors(&text);
    assert!(
        e.contains("File \"/a.txt\" needs either `text` or `size`"),
        "{e}"
    );
    assert!(e.contains("file path \"b.txt\" must be absolute"), "{e}");
}

#[test]
fn eavesdroppers_need_an_existing_link_and_cannot_act() {
    let hosts = format!(
        "{HOSTS}\n        Host(name: \"trudy\", role: Eavesdropper(link: (\"pc\", \"files\"))),"
    );
    let text = scenario_with(
        &hosts,
        r#"    actions: [Action(at: "1s", host: "trudy", do: HttpGet(server: "files", paths: ["/a"]))],
    final: [Eavesdropped(host: "pc", contains: "x")],"#,
    );
    let e = errors(&text);
    assert!(
        e.contains("taps a link between `pc` and `files`, but there is none"),
        "{e}"
    );
    assert!(e.contains("eavesdropper `trudy` only listens"), "{e}");
    assert!(e.contains("`pc` is not an eavesdropper"), "{e}");
}

#[test]
fn final_checks_are_validated() {
    let text = scenario_with(
        HOSTS,
        r#"    final: [
        File(host: "pc", path: "/x"),
        Downloaded(host: "pc", name: "x", sha256: "abc"),
    ],"#,
    );
    let e = errors(&text);
    assert!(
        e.contains("`File` needs a file server, but `pc` is a Client"),
        "{e}"
    );
    assert!(e.contains("no action of `pc` downloads anything"), "{e}");
    assert!(e.contains("`sha256` must be 64 hexadecimal digits"), "{e}");
}

#[test]
fn a_web_server_and_scp_uploads_of_generated_files() {
    let text = r#"Scenario(
    version: 1,
    title: "web and scp",
    until: "5s",
    hosts: [
        Host(name: "pc"),
        Host(name: "web", role: WebServer(files: [File(path: "/index.html", text: "<p>hi</p>\n")])),
        Host(name: "files", role: FileServer(serves: [Scp], users: [User(name: "carol", password: "pw", quota: "1MB")])),
    ],
    links: [Link(a: "pc", b: "web"), Link(a: "pc", b: "files")],
    actions: [
        Action(at: "10ms", host: "pc", do: HttpGet(server: "web", paths: ["/", "/missing"])),
        Action(at: "10ms", host: "pc", do: ScpUpload(server: "files", user: "carol", password: "pw",
            local: File(path: "data/big.bin", size: "300KB"), remote: "big.bin")),
        Action(at: "1s", host: "pc", do: ScpUpload(server: "files", user: "carol", password: "pw",
            local: File(path: "huge.bin", size: "800KB"), remote: "huge.bin")),
        Action(at: "2s", host: "pc", do: ScpDownload(server: "files", user: "carol", password: "pw", remote: "big.bin")),
    ],
    expect: [
        {"layer": "http", "event": "reply", "line": "HTTP/1.1 200 OK"},
        {"layer": "http", "event": "reply", "line": "HTTP/1.1 404 Not Found"},
        {"layer": "app", "event": "scp_done", "command": "scp -t huge.bin", "succeeded": false},
    ],
    final: [
        Downloaded(host: "pc", name: "/", same_as: ("web", "/index.html")),
        File(host: "files", path: "/carol/big.bin", size: "300KB"),
        NoFile(host: "files", path: "/carol/huge.bin"),
        Downloaded(host: "pc", name: "big.bin", size: 300000, same_as: ("files", "/carol/big.bin")),
    ],
)"#;
    let s = scenario::parse("t.ron", text).unwrap_or_else(|e| panic!("{e}"));
    let mut run = scenario::build(&s, 3).unwrap();
    run.run();
    let failures = scenario::check::evaluate(&s, &run);
    assert!(failures.is_empty(), "{failures:?}");
    let big = wiretale::apps::files::generated_content("data/big.bin", 300_000);
    let server = run
        .app::<wiretale::apps::files::FileServer>("files")
        .unwrap();
    let stored = server
        .vfs()
        .get_file(&wiretale::apps::vfs::VPath::parse("/carol/big.bin").unwrap())
        .unwrap();
    assert_eq!(stored, big);
}
