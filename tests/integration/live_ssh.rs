//! The live SSH server with OpenSSH's own clients: `scp -O` uploads and
//! downloads a 5 MB file, `ssh` runs `ls` and `cat`, a wrong password is
//! refused, and `ssh-keyscan` sees the host key wiretale prints.
//!
//! The clients check the host key against a known_hosts file written from
//! the key the server reports (StrictHostKeyChecking=yes), so a wrong key
//! or a bad signature fails the test. Passwords go in through sshpass.
//! These tests skip when the tools are missing, unless
//! `WIRETALE_REQUIRE_CLIENTS=1` (set by `.ci/run`) makes that a failure.

use crate::live_common::start;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use wiretale::apps::vfs::VPath;
use wiretale::live::{LiveOptions, LiveServer, Service};
use wiretale::proto::ssh;

const PASSWORD: &str = "correct-horse-battery-staple";

fn tools() -> bool {
    let ok = [
        "ssh",
        "scp",
        "sshpass",
        "ssh-keyscan",
        "ssh-keygen",
        "timeout",
    ]
    .iter()
    .all(|tool| {
        Command::new("sh")
            .args(["-c", &format!("command -v {tool}")])
            .output()
            .is_ok_and(|o| o.status.success())
    });
    if !ok {
        assert!(
            std::env::var("WIRETALE_REQUIRE_CLIENTS").map_or(true, |v| v != "1"),
            "OpenSSH's ssh, scp, ssh-keyscan and sshpass are required (WIRETALE_REQUIRE_CLIENTS=1) but missing"
        );
        eprintln!("skipping: OpenSSH client tools or sshpass are not installed");
    }
    ok
}

struct Ssh {
    server: LiveServer,
    port: u16,
    dir: PathBuf,
    known_hosts: PathBuf,
}

impl Ssh {
    fn start() -> Ssh {
        let server = start("scp_vs_ftp", LiveOptions::default());
        let port = server
            .addr("files", Service::Ssh)
            .expect("SSH is served")
            .port();
        let dir = std::env::temp_dir().join(format!("wiretale-live-ssh-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let key = server.ssh_host_key("files").expect("a host key");
        let known_hosts = dir.join("known_hosts");
        std::fs::write(
            &known_hosts,
            format!("[127.0.0.1]:{port} {}\n", ssh::public_key_line(&key)),
        )
        .unwrap();
        Ssh {
            server,
            port,
            dir,
            known_hosts,
        }
    }

    /// Options that make the client ignore the user's own configuration,
    /// insist on the known host key and use the password.
    fn options(&self) -> Vec<String> {
        [
            "-F",
            "/dev/null",
            "-o",
            "StrictHostKeyChecking=yes",
            "-o",
            &format!("UserKnownHostsFile={}", self.known_hosts.display()),
            "-o",
            "PubkeyAuthentication=no",
            "-o",
            "PreferredAuthentications=password",
            "-o",
            "NumberOfPasswordPrompts=1",
            "-o",
            "ConnectTimeout=10",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect()
    }

    /// Runs `tool` under sshpass with `password`, within 120 s.
    fn run(&self, password: &str, tool: &str, args: &[String]) -> Output {
        Command::new("timeout")
            .args(["120", "sshpass", "-p", password, tool])
            .args(self.options())
            .args(args)
            .output()
            .expect("sshpass runs")
    }

    fn ssh(&self, password: &str, command: &str) -> Output {
        let args = [
            "-p".to_string(),
            self.port.to_string(),
            "bob@127.0.0.1".into(),
            command.into(),
        ];
        self.run(password, "ssh", &args)
    }

    fn scp(&self, from: &str, to: &str) -> Output {
        let args = [
            "-O".to_string(),
            "-P".into(),
            self.port.to_string(),
            from.into(),
            to.into(),
        ];
        self.run(PASSWORD, "scp", &args)
    }
}

fn ok(out: &Output, what: &str) -> String {
    assert!(
        out.status.success(),
        "{what} failed ({}):\n{}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// 5 MB that compress badly and differ at every offset.
fn big_file(path: &Path) -> Vec<u8> {
    let mut x: u32 = 0x2545_f491;
    let data: Vec<u8> = (0..5_000_000)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        })
        .collect();
    std::fs::write(path, &data).unwrap();
    data
}

#[test]
fn openssh_scp_ssh_and_keyscan_against_the_live_server() {
    if !tools() {
        return;
    }
    let s = Ssh::start();

    // scp -O up and down, 5 MB, byte for byte.
    let local = s.dir.join("big.bin");
    let data = big_file(&local);
    ok(
        &s.scp(local.to_str().unwrap(), "bob@127.0.0.1:big.bin"),
        "scp upload",
    );
    let stored = s
        .server
        .files("files")
        .unwrap()
        .get_file(&VPath::parse("/bob/big.bin").unwrap())
        .unwrap();
    assert!(stored[..] == data[..], "the upload arrived intact");
    let back = s.dir.join("back.bin");
    ok(
        &s.scp("bob@127.0.0.1:big.bin", back.to_str().unwrap()),
        "scp download",
    );
    assert!(
        std::fs::read(&back).unwrap() == data,
        "the download is byte-identical"
    );

    // ssh runs ls and cat over the same files.
    let listing = ok(&s.ssh(PASSWORD, "ls"), "ssh ls");
    assert!(listing.lines().any(|l| l == "payroll.txt"), "{listing}");
    assert!(listing.lines().any(|l| l == "big.bin"), "{listing}");
    let payroll = ok(&s.ssh(PASSWORD, "cat payroll.txt"), "ssh cat");
    assert_eq!(payroll, "Payroll: Alice 5100, Bob 4900, Carol 6200\n");

    // A wrong password is refused.
    let refused = s.ssh("not-the-password", "ls");
    let why = String::from_utf8_lossy(&refused.stderr);
    assert!(
        !refused.status.success() && why.contains("Permission denied"),
        "{why}"
    );
    assert!(String::from_utf8_lossy(&refused.stdout).is_empty());

    // ssh-keyscan sees the key wiretale reports, with the same fingerprint.
    let key = s.server.ssh_host_key("files").unwrap();
    let scan = Command::new("timeout")
        .args([
            "30",
            "ssh-keyscan",
            "-t",
            "ed25519",
            "-p",
            &s.port.to_string(),
            "127.0.0.1",
        ])
        .output()
        .unwrap();
    let scan = ok(&scan, "ssh-keyscan");
    assert!(scan.contains(&ssh::public_key_line(&key)), "{scan}");
    let path = s.dir.join("scan");
    std::fs::write(&path, &scan).unwrap();
    let listed = Command::new("ssh-keygen")
        .args(["-l", "-f"])
        .arg(&path)
        .output()
        .unwrap();
    let listed = ok(&listed, "ssh-keygen -l");
    assert!(
        listed.contains(&ssh::fingerprint(&key)),
        "{listed} vs {}",
        ssh::fingerprint(&key)
    );

    // The sessions are traced like simulated ones, the password never.
    let lines = s.server.trace_lines();
    assert!(
        lines.iter().any(|l| l.contains("C: SSH-2.0-OpenSSH")),
        "traced"
    );
    assert!(
        lines.iter().any(|l| l.contains("exec \"scp -t big.bin\"")),
        "{lines:#?}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.contains("userauth_request bob password (password hidden)"))
    );
    assert!(!lines.iter().any(|l| l.contains(PASSWORD)));
    let _ = std::fs::remove_dir_all(&s.dir);
}
