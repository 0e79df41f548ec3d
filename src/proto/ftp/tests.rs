//! Scripted tests: the server alone with exact replies, then a client and a
//! server joined by in-memory pipes (control and data connections), then
//! proptests that throw arbitrary input at the server.

use std::net::{Ipv4Addr, SocketAddrV4};

use bytes::Bytes;
use proptest::prelude::*;
use sha2::{Digest, Sha256};

use super::*;
use crate::apps::vfs::{Account, VPath, Vfs, generate_bytes};
use crate::proto::{Session, Transcript};

const SERVER_IP: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
const CLIENT_IP: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);
/// 2026-03-02 14:05:09 UTC.
const NOW: i64 = 1_772_460_309;

fn p(s: &str) -> VPath {
    VPath::parse(s).unwrap()
}

/// alice (writable, 1 MB quota), bob (has a secret), guest (read-only).
fn world() -> Vfs {
    let mut vfs = Vfs::new();
    let mut alice = Account::new("wonderland", p("/home/alice"));
    alice.quota = Some(1_000_000);
    vfs.add_user("alice", alice, NOW).unwrap();
    vfs.add_user("bob", Account::new("builder", p("/home/bob")), NOW)
        .unwrap();
    let mut guest = Account::new("guest", p("/home/alice/pub"));
    guest.read_only = true;
    vfs.add_user("guest", guest, NOW).unwrap();
    vfs.create_text_file(&p("/home/alice/notes.txt"), "hello\nworld\n", NOW)
        .unwrap();
    vfs.create_text_file(&p("/home/alice/pub/README.txt"), "Read me.\n", NOW)
        .unwrap();
    vfs.create_binary_file(&p("/home/alice/pub/blob.bin"), 5000, 9, NOW)
        .unwrap();
    vfs.create_text_file(&p("/home/bob/secret.txt"), "bob's secret\n", NOW)
        .unwrap();
    vfs.create_text_file(&p("/etc/passwd"), "root:x:0:0\n", NOW)
        .unwrap();
    vfs
}

/// Hands out listening addresses on one host, like an OS's ephemeral ports.
struct Ports {
    ip: Ipv4Addr,
    next_port: u16,
    listener: Option<SocketAddrV4>,
    refuse: bool,
}

impl Ports {
    fn new(ip: Ipv4Addr, first_port: u16) -> Ports {
        Ports {
            ip,
            next_port: first_port,
            listener: None,
            refuse: false,
        }
    }
}

impl DataPorts for Ports {
    fn open_listener(&mut self) -> Option<SocketAddrV4> {
        if self.refuse {
            return None;
        }
        let addr = SocketAddrV4::new(self.ip, self.next_port);
        self.next_port = self.next_port.wrapping_add(1).max(1024);
        self.listener = Some(addr);
        Some(addr)
    }
}

// ----- the server alone -----

/// A server session driven by hand: feed bytes, read exact replies, play
/// the data connection's part.
struct Raw {
    server: FtpServer,
    vfs: Vfs,
    ports: Ports,
}

impl Raw {
    fn new() -> Raw {
        let mut raw = Raw {
            server: FtpServer::new(FtpServerConfig::default()),
            vfs: world(),
            ports: Ports::new(SERVER_IP, 50_000),
        };
        assert_eq!(raw.output(), "220 wiretale FTP server ready.\r\n");
        raw
    }

    fn logged_in() -> Raw {
        let mut raw = Raw::new();
        raw.send("USER alice\r\nPASS wonderland\r\n");
        raw
    }

    fn output(&mut self) -> String {
        let mut out = Vec::new();
        while let Some(bytes) = self.server.poll_output() {
            out.extend(bytes);
        }
        String::from_utf8(out).unwrap()
    }

    /// Feeds bytes and returns everything the server answered.
    fn send(&mut self, data: &str) -> String {
        self.send_bytes(data.as_bytes())
    }

    fn send_bytes(&mut self, data: &[u8]) -> String {
        self.server
            .handle_input(data, &mut self.vfs, &mut self.ports, NOW);
        self.output()
    }

    fn requests(&mut self) -> Vec<DataRequest> {
        std::iter::from_fn(|| self.server.poll_data_request()).collect()
    }

    fn connected(&mut self) -> String {
        self.server
            .handle_data_connected(&mut self.vfs, &mut self.ports, NOW);
        self.output()
    }

    fn failed(&mut self) -> String {
        self.server
            .handle_data_failed(&mut self.vfs, &mut self.ports, NOW);
        self.output()
    }

    fn closed(&mut self) -> String {
        self.server
            .handle_data_closed(&mut self.vfs, &mut self.ports, NOW);
        self.output()
    }

    fn sent(&mut self) -> String {
        self.server
            .handle_data_sent(&mut self.vfs, &mut self.ports, NOW);
        self.output()
    }

    fn transcript(&mut self) -> Vec<Transcript> {
        std::iter::from_fn(|| self.server.poll_transcript()).collect()
    }

    /// The bytes of the Send requests, and whether a Close followed.
    fn sent_data(&mut self) -> (Vec<u8>, bool) {
        let mut data = Vec::new();
        let mut closed = false;
        for r in self.requests() {
            match r {
                DataRequest::Send(b) => data.extend_from_slice(&b),
                DataRequest::Close => closed = true,
                other => panic!("unexpected {other:?}"),
            }
        }
        (data, closed)
    }
}

#[test]
fn login_is_331_then_230_and_the_password_shows_in_the_transcript() {
    let mut s = Raw::new();
    assert_eq!(s.server.state_name(), "AwaitingUser");
    assert_eq!(
        s.send("USER alice\r\n"),
        "331 User name okay, need password.\r\n"
    );
    assert_eq!(s.server.state_name(), "AwaitingPassword");
    assert_eq!(
        s.send("PASS wonderland\r\n"),
        "230 User logged in, proceed.\r\n"
    );
    assert_eq!(s.server.state_name(), "LoggedIn");
    assert_eq!(s.server.user(), Some("alice"));
    let t = s.transcript();
    assert!(t.contains(&Transcript::Command("PASS wonderland".into())));
    assert!(t.contains(&Transcript::Reply {
        code: Some(230),
        text: "230 User logged in, proceed.".into()
    }));
    assert_eq!(
        s.send("ACCT x\r\n"),
        "202 ACCT not needed at this site.\r\n"
    );
}

#[test]
fn everything_needs_a_login_first() {
    let mut s = Raw::new();
    for cmd in [
        "PWD",
        "CWD pub",
        "LIST",
        "RETR notes.txt",
        "STOR x",
        "PASV",
        "PORT 1,2,3,4,5,6",
        "SIZE x",
        "DELE x",
        "TYPE I",
        "REST 1",
    ] {
        assert_eq!(
            s.send(&format!("{cmd}\r\n")),
            "530 Please login with USER and PASS.\r\n",
            "{cmd}"
        );
    }
    // A few commands work before login.
    assert_eq!(s.send("NOOP\r\n"), "200 NOOP ok.\r\n");
    assert_eq!(s.send("SYST\r\n"), "215 UNIX Type: L8\r\n");
    assert_eq!(s.send("PASS x\r\n"), "503 Login with USER first.\r\n");
    assert_eq!(
        s.send("ACCT x\r\n"),
        "503 Login with USER and PASS first.\r\n"
    );
}

#[test]
fn wrong_passwords_get_530_and_three_close_the_session() {
    let mut s = Raw::new();
    assert_eq!(
        s.send("USER alice\r\nPASS nope\r\n"),
        "331 User name okay, need password.\r\n530 Login incorrect.\r\n"
    );
    assert_eq!(s.server.state_name(), "AwaitingUser");
    assert_eq!(
        s.send("USER nobody\r\nPASS x\r\n"),
        "331 User name okay, need password.\r\n530 Login incorrect.\r\n"
    );
    assert!(!s.server.wants_close());
    assert_eq!(
        s.send("USER alice\r\nPASS still-wrong\r\nNOOP\r\n"),
        "331 User name okay, need password.\r\n530 Login incorrect.\r\n\
         421 Too many failed logins; closing control connection.\r\n"
    );
    assert!(s.server.wants_close());
    assert_eq!(s.server.state_name(), "Closed");
    assert_eq!(s.send("NOOP\r\n"), "");
}

#[test]
fn commands_split_anywhere_and_pipelined() {
    let mut s = Raw::new();
    let mut out = String::new();
    for b in "USER alice\r\nPASS wonderland\r\nPWD\r\n".bytes() {
        out += &s.send_bytes(&[b]);
    }
    assert_eq!(
        out,
        "331 User name okay, need password.\r\n230 User logged in, proceed.\r\n\
         257 \"/\" is the current directory.\r\n"
    );
    assert_eq!(
        s.send("CWD pub\r\nPWD\r\nCDUP\r\nPWD\nNOOP\r\nSY"),
        "250 Directory successfully changed.\r\n257 \"/pub\" is the current directory.\r\n\
         250 Directory successfully changed.\r\n257 \"/\" is the current directory.\r\n200 NOOP ok.\r\n"
    );
    assert_eq!(s.send("ST\r\n"), "215 UNIX Type: L8\r\n");
}

#[test]
fn syntax_errors_and_unimplemented_commands() {
    let mut s = Raw::logged_in();
    assert_eq!(s.send("XYZZY\r\n"), "500 Unknown command.\r\n");
    assert_eq!(s.send("\r\n"), "500 Unknown command.\r\n");
    assert_eq!(s.send("RETR\r\n"), "501 RETR needs an argument.\r\n");
    assert_eq!(s.send("STAT\r\n"), "502 STAT not implemented.\r\n");
    assert_eq!(
        s.send("TYPE E\r\n"),
        "504 Only TYPE A, A N, I and L 8 are supported.\r\n"
    );
    assert_eq!(s.send("TYPE Q\r\n"), "501 Unrecognised TYPE command.\r\n");
    assert_eq!(s.send("TYPE I\r\n"), "200 Switching to Binary mode.\r\n");
    assert_eq!(s.send("type a n\r\n"), "200 Switching to ASCII mode.\r\n");
    assert_eq!(s.send("MODE S\r\n"), "200 Mode set to S.\r\n");
    assert_eq!(
        s.send("MODE B\r\n"),
        "504 Only stream mode (S) is supported.\r\n"
    );
    assert_eq!(s.send("STRU F\r\n"), "200 Structure set to F.\r\n");
    assert_eq!(
        s.send("STRU R\r\n"),
        "504 Only file structure (F) is supported.\r\n"
    );
    assert_eq!(s.send("PORT 1,2,3\r\n"), "501 Illegal PORT command.\r\n");
    assert_eq!(
        s.send("EPRT |2|::1|5000|\r\n"),
        "522 Network protocol not supported, use (1)\r\n"
    );
    assert_eq!(s.send("EPRT junk\r\n"), "501 Illegal EPRT command.\r\n");
    assert_eq!(
        s.send("EPSV 2\r\n"),
        "522 Network protocol not supported, use (1)\r\n"
    );
    assert_eq!(s.send("REST abc\r\n"), "501 REST needs a byte count.\r\n");
    assert_eq!(s.send("RNTO x\r\n"), "503 RNFR required first.\r\n");
    let long = format!("RETR {}\r\nNOOP\r\n", "x".repeat(5000));
    assert_eq!(
        s.send(&long),
        "500 Command line too long.\r\n200 NOOP ok.\r\n"
    );
}

#[test]
fn feat_and_help_are_multi_line_replies() {
    let mut s = Raw::new();
    assert_eq!(
        s.send("FEAT\r\n"),
        "211-Features:\r\n EPRT\r\n EPSV\r\n MDTM\r\n MLST type*;size*;modify*;perm*;unique*;\r\n PASV\r\n REST STREAM\r\n SIZE\r\n211 End\r\n"
    );
    let help = s.send("HELP\r\n");
    assert!(help.starts_with("214-The following commands are recognized.\r\n ABOR ACCT"));
    assert!(help.ends_with("214 Help OK.\r\n"));
}

#[test]
fn directories_names_and_file_facts() {
    let mut s = Raw::logged_in();
    assert_eq!(s.send("MKD new\r\n"), "257 \"/new\" created.\r\n");
    assert_eq!(
        s.send("MKD new\r\n"),
        "550 Create directory operation failed: File exists.\r\n"
    );
    assert_eq!(
        s.send("CWD new\r\n"),
        "250 Directory successfully changed.\r\n"
    );
    assert_eq!(
        s.send("MKD \"odd\"\r\n"),
        "257 \"/new/\"\"odd\"\"\" created.\r\n"
    );
    assert_eq!(
        s.send("RMD \"odd\"\r\nCDUP\r\n"),
        "250 Remove directory operation successful.\r\n250 Directory successfully changed.\r\n"
    );
    assert_eq!(
        s.send("CWD nowhere\r\n"),
        "550 Failed to change directory: No such file or directory.\r\n"
    );
    assert_eq!(
        s.send("CWD notes.txt\r\n"),
        "550 Failed to change directory: Not a directory.\r\n"
    );
    assert_eq!(
        s.send("RMD pub\r\n"),
        "550 Remove directory operation failed: Directory not empty.\r\n"
    );
    // RNFR, then a CWD, then RNTO: RNFR's path was relative to the old cwd.
    assert_eq!(s.send("RNFR notes.txt\r\n"), "350 Ready for RNTO.\r\n");
    assert_eq!(
        s.send("CWD new\r\n"),
        "250 Directory successfully changed.\r\n"
    );
    assert_eq!(s.send("RNTO moved.txt\r\n"), "250 Rename successful.\r\n");
    assert!(s.vfs.get_file(&p("/home/alice/new/moved.txt")).is_ok());
    assert_eq!(
        s.send("RNFR ghost\r\n"),
        "550 RNFR command failed: No such file or directory.\r\n"
    );
    assert_eq!(
        s.send("SIZE moved.txt\r\n"),
        "213 14\r\n",
        "TYPE A counts the CRs"
    );
    assert_eq!(
        s.send("TYPE I\r\nSIZE moved.txt\r\n"),
        "200 Switching to Binary mode.\r\n213 12\r\n"
    );
    assert_eq!(
        s.send("SIZE /pub\r\n"),
        "550 Could not get file size: Is a directory.\r\n"
    );
    assert_eq!(
        s.send("SIZE ghost\r\n"),
        "550 Could not get file size: No such file or directory.\r\n"
    );
    assert_eq!(s.send("MDTM moved.txt\r\n"), "213 20260302140509\r\n");
    assert_eq!(
        s.send("DELE moved.txt\r\n"),
        "250 Delete operation successful.\r\n"
    );
    assert_eq!(
        s.send("DELE moved.txt\r\n"),
        "550 Delete operation failed: No such file or directory.\r\n"
    );
    assert_eq!(
        s.send("DELE /pub\r\n"),
        "550 Delete operation failed: Is a directory.\r\n"
    );
}

#[test]
fn transfers_need_port_or_pasv_first() {
    let mut s = Raw::logged_in();
    assert_eq!(
        s.send("RETR notes.txt\r\n"),
        "425 Use PORT or PASV first.\r\n"
    );
    assert_eq!(s.send("LIST\r\n"), "425 Use PORT or PASV first.\r\n");
    assert!(s.requests().is_empty());
}

#[test]
fn active_retr_connects_to_the_client_then_150_data_226() {
    let mut s = Raw::logged_in();
    s.transcript();
    assert_eq!(
        s.send("PORT 10,0,0,2,4,1\r\n"),
        "200 PORT command successful.\r\n"
    );
    assert_eq!(s.server.state_name(), "DataReady");
    assert_eq!(
        s.send("TYPE I\r\nRETR notes.txt\r\n"),
        "200 Switching to Binary mode.\r\n"
    );
    assert_eq!(
        s.requests(),
        vec![DataRequest::Connect {
            to: SocketAddrV4::new(CLIENT_IP, 1025)
        }]
    );
    assert_eq!(s.server.state_name(), "AwaitingDataConnection");
    assert_eq!(
        s.connected(),
        "150 Opening BINARY mode data connection for notes.txt (12 bytes).\r\n"
    );
    assert_eq!(s.server.state_name(), "Transferring");
    assert_eq!(s.sent_data(), (b"hello\nworld\n".to_vec(), true));
    assert_eq!(s.sent(), "226 Transfer complete.\r\n");
    assert_eq!(s.server.state_name(), "LoggedIn");
    assert!(s.transcript().contains(&Transcript::Data(
        "(data connection: 12 bytes of notes.txt)".into()
    )));
    // The data connection was used up: the next transfer needs a new one.
    assert_eq!(
        s.send("RETR notes.txt\r\n"),
        "425 Use PORT or PASV first.\r\n"
    );
}

#[test]
fn active_connect_blocked_gives_425() {
    let mut s = Raw::logged_in();
    s.send("EPRT |1|10.0.0.2|40000|\r\n");
    assert_eq!(s.send("RETR notes.txt\r\n"), "");
    assert_eq!(s.requests().len(), 1);
    assert_eq!(s.failed(), "425 Can't open data connection.\r\n");
    assert_eq!(s.server.state_name(), "LoggedIn");
}

#[test]
fn port_to_a_third_party_is_refused_when_the_client_is_known() {
    let config = FtpServerConfig {
        client_ip: Some(CLIENT_IP),
        ..FtpServerConfig::default()
    };
    let mut s = Raw::logged_in();
    s.server = FtpServer::new(config);
    s.send("USER alice\r\nPASS wonderland\r\n");
    assert_eq!(
        s.send("PORT 10,0,0,9,4,1\r\n"),
        "504 Data connection must go to the client.\r\n"
    );
    assert_eq!(
        s.send("PORT 10,0,0,2,0,80\r\n"),
        "504 Data connection must go to the client.\r\n"
    );
    assert_eq!(
        s.send("PORT 10,0,0,2,4,1\r\n"),
        "200 PORT command successful.\r\n"
    );
}

#[test]
fn passive_connection_before_retr_gets_125() {
    let mut s = Raw::logged_in();
    assert_eq!(
        s.send("PASV\r\n"),
        "227 Entering Passive Mode (10,0,0,1,195,80).\r\n"
    );
    assert_eq!(s.connected(), "");
    assert_eq!(
        s.send("RETR pub/README.txt\r\n"),
        "125 Data connection already open; transfer starting.\r\n"
    );
    // TYPE A by default: LF in the store, CRLF on the wire.
    assert_eq!(s.sent_data(), (b"Read me.\r\n".to_vec(), true));
    assert_eq!(s.sent(), "226 Transfer complete.\r\n");
}

#[test]
fn passive_connection_after_retr_gets_150() {
    let mut s = Raw::logged_in();
    assert_eq!(
        s.send("EPSV\r\n"),
        "229 Entering Extended Passive Mode (|||50000|)\r\n"
    );
    assert_eq!(
        s.send("RETR notes.txt\r\n"),
        "150 Opening ASCII mode data connection for notes.txt (14 bytes).\r\n"
    );
    assert!(s.requests().is_empty());
    assert_eq!(s.connected(), "");
    assert_eq!(s.sent_data(), (b"hello\r\nworld\r\n".to_vec(), true));
    assert_eq!(s.sent(), "226 Transfer complete.\r\n");
    // A passive listener that no client ever reaches.
    s.send("PASV\r\nRETR notes.txt\r\n");
    assert_eq!(s.failed(), "425 Can't open data connection.\r\n");
    // No port available.
    s.ports.refuse = true;
    assert_eq!(s.send("PASV\r\n"), "425 Can't open passive connection.\r\n");
    assert_eq!(
        s.send("EPSV ALL\r\nPASV\r\nPORT 1,2,3,4,5,6\r\n"),
        "200 EPSV ALL ok.\r\n503 EPSV ALL in effect; use EPSV.\r\n503 EPSV ALL in effect; use EPSV.\r\n"
    );
}

#[test]
fn list_and_nlst_look_like_ls() {
    let mut s = Raw::logged_in();
    s.send("PASV\r\n");
    s.connected();
    assert_eq!(
        s.send("LIST -la\r\n"),
        "125 Data connection already open; transfer starting.\r\n"
    );
    let (data, _) = s.sent_data();
    assert_eq!(
        String::from_utf8(data).unwrap(),
        "-rw-r--r--    1 alice    ftp            12 Mar  2 14:05 notes.txt\r\n\
         drwxr-xr-x    1 alice    ftp          4096 Mar  2 14:05 pub\r\n"
    );
    s.transcript();
    assert_eq!(s.sent(), "226 Transfer complete.\r\n");
    let t = s.transcript();
    assert_eq!(
        t[0],
        Transcript::Data("(data connection: 128 bytes of listing of /)".into())
    );
    assert_eq!(
        t[1],
        Transcript::Data(
            "-rw-r--r--    1 alice    ftp            12 Mar  2 14:05 notes.txt".into()
        )
    );
    s.send("PASV\r\nNLST pub\r\n");
    s.connected();
    assert_eq!(s.sent_data().0, b"README.txt\r\nblob.bin\r\n");
    s.sent();
    assert_eq!(
        s.send("PASV\r\nLIST ghost\r\n"),
        "227 Entering Passive Mode (10,0,0,1,195,82).\r\n450 Cannot list ghost: No such file or directory.\r\n"
    );
}

/// `LIST -R` lists like `ls -R`: the directory, then every subdirectory
/// under a `path:` header, blocks separated by an empty line.
#[test]
fn list_recursive_walks_subdirectories() {
    let mut s = Raw::logged_in();
    s.vfs.mkdir_all(&p("/home/alice/pub/deep/er"), NOW).unwrap();
    s.vfs
        .create_text_file(&p("/home/alice/pub/deep/x.txt"), "deep\n", NOW)
        .unwrap();
    let mut listing = |cmd: &str| {
        s.send("PASV\r\n");
        s.connected();
        s.send(&format!("{cmd}\r\n"));
        let data = String::from_utf8(s.sent_data().0).unwrap();
        s.sent();
        data
    };
    let file = |size: u32, name: &str| {
        format!("-rw-r--r--    1 alice    ftp      {size:>8} Mar  2 14:05 {name}\r\n")
    };
    let dir =
        |name: &str| format!("drwxr-xr-x    1 alice    ftp          4096 Mar  2 14:05 {name}\r\n");
    let all = listing("LIST -R");
    assert_eq!(
        all,
        format!(
            ".:\r\n{}{}\r\n./pub:\r\n{}{}{}\r\n./pub/deep:\r\n{}{}\r\n./pub/deep/er:\r\n",
            file(12, "notes.txt"),
            dir("pub"),
            file(9, "README.txt"),
            file(5000, "blob.bin"),
            dir("deep"),
            dir("er"),
            file(5, "x.txt"),
        )
    );
    assert_eq!(
        listing("NLST -R /pub/"),
        "/pub/:\r\nREADME.txt\r\nblob.bin\r\ndeep\r\n\r\n/pub/deep:\r\ner\r\nx.txt\r\n\r\n/pub/deep/er:\r\n"
    );
    // A file has nothing below it; other options change nothing.
    assert_eq!(listing("LIST -lR notes.txt"), file(12, "notes.txt"));
    assert_eq!(
        listing("LIST -la pub/deep"),
        format!("{}{}", dir("er"), file(5, "x.txt"))
    );
    let t = s.transcript();
    let summary = format!(
        "(data connection: {} bytes of recursive listing of /)",
        all.len()
    );
    assert!(t.contains(&Transcript::Data(summary)), "{t:?}");
    assert!(t.contains(&Transcript::Data("./pub/deep:".into())), "{t:?}");
}

/// `LIST -R` of a very deep tree stops at `RECURSIVE_MAX_DEPTH` levels.
#[test]
fn list_recursive_is_bounded() {
    let mut s = Raw::logged_in();
    let deep = format!("/home/alice/t{}", "/d".repeat(40));
    s.vfs.mkdir_all(&p(&deep), NOW).unwrap();
    s.send("PASV\r\n");
    s.connected();
    s.send("NLST -R t\r\n");
    let data = String::from_utf8(s.sent_data().0).unwrap();
    let headers: Vec<&str> = data.lines().filter(|l| l.ends_with(':')).collect();
    assert_eq!(headers.len(), server::RECURSIVE_MAX_DEPTH);
    assert_eq!(headers[0], "t:");
    assert_eq!(
        headers.last().copied(),
        Some(format!("t{}:", "/d".repeat(server::RECURSIVE_MAX_DEPTH - 1)).as_str())
    );
}

/// MLSD and MLST (RFC 3659 §7): facts a program can read, the same for
/// the same object in both.
#[test]
fn mlsd_and_mlst_give_facts() {
    let mut s = Raw::logged_in();
    s.send("PASV\r\n");
    s.connected();
    assert_eq!(
        s.send("MLSD\r\n"),
        "125 Data connection already open; transfer starting.\r\n"
    );
    let listing = String::from_utf8(s.sent_data().0).unwrap();
    let lines: Vec<&str> = listing.lines().collect();
    assert_eq!(lines.len(), 2, "{listing}");
    assert!(listing.ends_with("\r\n"));
    let (notes_facts, notes) = lines[0].split_once(' ').unwrap();
    assert_eq!(notes, "notes.txt");
    assert!(
        notes_facts.starts_with("type=file;size=12;modify=20")
            && notes_facts.contains(";perm=rwadf;unique="),
        "{notes_facts}"
    );
    let (pub_facts, pub_name) = lines[1].split_once(' ').unwrap();
    assert_eq!(pub_name, "pub");
    assert!(pub_facts.starts_with("type=dir;modify="), "{pub_facts}");
    assert!(!pub_facts.contains("size="));
    s.transcript();
    assert_eq!(s.sent(), "226 Transfer complete.\r\n");
    // MLST names the same object with the same unique fact.
    let reply = s.send("MLST notes.txt\r\n");
    assert!(reply.starts_with("250-Listing notes.txt\r\n "), "{reply}");
    assert!(
        reply.contains(&format!(" {notes_facts} /notes.txt\r\n")),
        "{reply}"
    );
    assert!(reply.ends_with("250 End\r\n"), "{reply}");
    let reply = s.send("MLST pub/../notes.txt\r\n");
    assert!(
        reply.contains(&format!(" {notes_facts} /notes.txt\r\n")),
        "{reply}"
    );
    // MLSD of a file, and of nothing.
    assert_eq!(
        s.send("PASV\r\nMLSD notes.txt\r\n"),
        "227 Entering Passive Mode (10,0,0,1,195,81).\r\n501 notes.txt is not a directory.\r\n"
    );
    assert_eq!(
        s.send("MLST ghost\r\n"),
        "550 Cannot list ghost: No such file or directory.\r\n"
    );
    // OPTS MLST chooses the facts (RFC 3659 §7.9); FEAT marks them.
    assert_eq!(
        s.send("OPTS MLST size;TYPE;bogus;\r\n"),
        "200 MLST OPTS type;size;\r\n"
    );
    assert_eq!(
        s.send("MLST notes.txt\r\n"),
        "250-Listing notes.txt\r\n type=file;size=12; /notes.txt\r\n250 End\r\n"
    );
    assert!(
        s.send("FEAT\r\n")
            .contains(" MLST type*;size*;modify;perm;unique;\r\n")
    );
    assert_eq!(
        s.send("OPTS UTF8 ON\r\n"),
        "501 Option UTF8 not understood.\r\n"
    );
}

#[test]
fn stor_receives_until_the_client_closes() {
    let mut s = Raw::logged_in();
    s.send("TYPE I\r\nPASV\r\n");
    assert_eq!(
        s.send("STOR up.bin\r\n"),
        "150 Ok to send data for up.bin.\r\n"
    );
    s.connected();
    s.server.handle_data_input(b"\x00\x01\r\n");
    s.server.handle_data_input(b"\xff");
    assert_eq!(s.closed(), "226 Transfer complete.\r\n");
    assert_eq!(
        &s.vfs.get_file(&p("/home/alice/up.bin")).unwrap()[..],
        b"\x00\x01\r\n\xff"
    );
    // APPE adds; TYPE A turns CRLF back into LF.
    s.send("TYPE A\r\nPASV\r\n");
    s.connected();
    assert_eq!(
        s.send("APPE up.bin\r\n"),
        "125 Data connection already open; transfer starting.\r\n"
    );
    s.server.handle_data_input(b"line\r\n");
    assert_eq!(s.closed(), "226 Transfer complete.\r\n");
    assert_eq!(
        &s.vfs.get_file(&p("/home/alice/up.bin")).unwrap()[..],
        b"\x00\x01\r\n\xffline\n"
    );
}

#[test]
fn store_errors_452_550_553() {
    let mut s = Raw::logged_in();
    // Quota: alice may hold 1 MB.
    s.send("TYPE I\r\nPASV\r\nSTOR big\r\n");
    s.connected();
    s.server.handle_data_input(&vec![7u8; 1_000_001]);
    assert_eq!(s.closed(), "452 Could not store file: Quota exceeded.\r\n");
    assert!(s.vfs.get_file(&p("/home/alice/big")).is_err());
    // Names refused before any data connection is opened.
    assert!(s.send("PASV\r\n").starts_with("227 "));
    assert_eq!(
        s.send("STOR /pub\r\n"),
        "553 Could not create file: Is a directory.\r\n"
    );
    assert_eq!(
        s.send("STOR nodir/x\r\n"),
        "553 Could not create file: No such file or directory.\r\n"
    );
    assert_eq!(
        s.send("STOR a\0b\r\n"),
        "553 Could not create file: Invalid file name.\r\n"
    );
    // A read-only user.
    let mut g = Raw::new();
    g.send("USER guest\r\nPASS guest\r\nPASV\r\n");
    assert_eq!(
        g.send("STOR x\r\n"),
        "550 Could not create file: Permission denied.\r\n"
    );
    assert_eq!(
        g.send("MKD x\r\n"),
        "550 Create directory operation failed: Permission denied.\r\n"
    );
    g.send("PASV\r\n");
    g.connected();
    g.send("LIST\r\n");
    assert!(
        String::from_utf8(g.sent_data().0)
            .unwrap()
            .starts_with("-r--r--r--    1 guest    ftp")
    );
    assert_eq!(g.sent(), "226 Transfer complete.\r\n");
    g.send("PASV\r\n");
    // The guest's root is alice's /pub: her notes are out of reach.
    assert_eq!(
        g.send("RETR ../notes.txt\r\n"),
        "550 Failed to open file: No such file or directory.\r\n"
    );
}

#[test]
fn upload_limit_keeps_memory_bounded() {
    let mut s = Raw::logged_in();
    s.server = FtpServer::new(FtpServerConfig {
        max_upload: 10,
        ..FtpServerConfig::default()
    });
    s.send("USER alice\r\nPASS wonderland\r\nPASV\r\nSTOR x\r\n");
    s.connected();
    s.server.handle_data_input(b"0123456789");
    s.server.handle_data_input(b"!");
    s.server.handle_data_input(b"more");
    assert_eq!(
        s.closed(),
        "452 Insufficient storage space: upload too large.\r\n"
    );
}

#[test]
fn rest_then_retr_resumes() {
    let mut s = Raw::logged_in();
    s.send("TYPE I\r\nPASV\r\n");
    s.connected();
    assert_eq!(
        s.send("REST 6\r\n"),
        "350 Restarting at 6. Send STOR or RETR.\r\n"
    );
    s.send("RETR notes.txt\r\n");
    assert_eq!(s.sent_data().0, b"world\n");
    s.sent();
    // The offset was used up.
    s.send("PASV\r\nRETR notes.txt\r\n");
    s.connected();
    assert_eq!(s.sent_data().0, b"hello\nworld\n");
    s.sent();
    // REST + STOR keeps the first bytes of the old file.
    s.send("PASV\r\nREST 5\r\nSTOR notes.txt\r\n");
    s.connected();
    s.server.handle_data_input(b", again\n");
    assert_eq!(s.closed(), "226 Transfer complete.\r\n");
    assert_eq!(
        &s.vfs.get_file(&p("/home/alice/notes.txt")).unwrap()[..],
        b"hello, again\n"
    );
}

#[test]
fn abor_during_a_transfer_is_426_then_226() {
    let mut s = Raw::logged_in();
    s.send("PASV\r\nSTOR partial\r\n");
    s.connected();
    s.server.handle_data_input(b"some bytes");
    // ftplib sends Telnet IP and Synch before ABOR.
    assert_eq!(
        s.send_bytes(b"\xff\xf4\xff\xf2ABOR\r\n"),
        "426 Connection closed; transfer aborted.\r\n226 Abort successful.\r\n"
    );
    assert_eq!(s.requests(), vec![DataRequest::Abort]);
    assert!(s.vfs.get_file(&p("/home/alice/partial")).is_err());
    // A late report from the driver changes nothing.
    assert_eq!(s.closed(), "");
    assert_eq!(s.send("ABOR\r\n"), "226 No transfer to abort.\r\n");
}

#[test]
fn abor_whose_lf_was_lost_as_urgent_data_still_works() {
    // ftplib sends "ABOR\r\n" with MSG_OOB; a socket without SO_OOBINLINE
    // delivers only "ABOR\r".
    let mut s = Raw::logged_in();
    s.send("PASV\r\nRETR notes.txt\r\n");
    s.connected();
    s.requests();
    assert_eq!(
        s.send("ABOR\r"),
        "426 Connection closed; transfer aborted.\r\n226 Abort successful.\r\n"
    );
    // If the LF does arrive after all, it is not an extra empty command.
    assert_eq!(s.send("\nNOOP\r\n"), "200 NOOP ok.\r\n");
    assert_eq!(s.send("abor\r"), "226 No transfer to abort.\r\n");
    assert_eq!(s.send("NOOP\r\n"), "200 NOOP ok.\r\n");
}

#[test]
fn commands_wait_behind_a_running_transfer() {
    let mut s = Raw::logged_in();
    s.send("PASV\r\n");
    s.connected();
    assert_eq!(
        s.send("RETR notes.txt\r\nPWD\r\nQUIT\r\n"),
        "125 Data connection already open; transfer starting.\r\n"
    );
    assert!(!s.server.wants_close());
    s.requests();
    assert_eq!(
        s.sent(),
        "226 Transfer complete.\r\n257 \"/\" is the current directory.\r\n221 Goodbye.\r\n"
    );
    assert!(s.server.wants_close());
}

#[test]
fn a_client_that_drops_the_download_gets_426() {
    let mut s = Raw::logged_in();
    s.send("PASV\r\nRETR notes.txt\r\n");
    s.connected();
    s.requests();
    assert_eq!(s.closed(), "426 Connection closed; transfer aborted.\r\n");
    assert_eq!(s.requests(), vec![DataRequest::Abort]);
}

#[test]
fn quit_drops_the_data_channel() {
    let mut s = Raw::logged_in();
    s.send("PASV\r\n");
    assert_eq!(s.send("QUIT\r\n"), "221 Goodbye.\r\n");
    assert_eq!(s.requests(), vec![DataRequest::Abort]);
    assert!(s.server.wants_close());
    s.server.handle_close();
    assert_eq!(s.server.state_name(), "Closed");
}

#[test]
fn traversal_attempts_stay_inside_the_users_root() {
    let mut s = Raw::logged_in();
    for attempt in ["..", "../..", "/../../..", "..\\..", "pub/../../../.."] {
        assert_eq!(
            s.send(&format!("CWD {attempt}\r\n")),
            "250 Directory successfully changed.\r\n"
        );
        assert_eq!(s.send("PWD\r\n"), "257 \"/\" is the current directory.\r\n");
    }
    for attempt in [
        "../bob/secret.txt",
        "/../bob/secret.txt",
        "../../home/bob/secret.txt",
        "..\\bob\\secret.txt",
        "../../../etc/passwd",
        "/etc/passwd",
        "%2e%2e/bob/secret.txt",
        "....//bob/secret.txt",
    ] {
        s.send("PASV\r\n");
        assert_eq!(
            s.send(&format!("RETR {attempt}\r\n")),
            "550 Failed to open file: No such file or directory.\r\n",
            "{attempt}"
        );
        assert_eq!(s.send(&format!("SIZE {attempt}\r\n")).get(..3), Some("550"));
    }
    assert_eq!(
        s.send("CWD ../bob\r\n"),
        "550 Failed to change directory: No such file or directory.\r\n"
    );
    assert_eq!(s.send("RETR a\0b\r\n").get(..3), Some("550"));
    // Writes with such paths land inside alice's root.
    s.send("PASV\r\nSTOR ../../home/bob/evil.txt\r\n");
    assert_eq!(
        s.send("STOR ../../../bob/evil.txt\r\n").get(..3),
        Some("553")
    );
    s.send("PASV\r\n");
    assert_eq!(s.send("MKD ../../home\r\n"), "257 \"/home\" created.\r\n");
    s.send("PASV\r\nSTOR ../../home/bob/evil.txt\r\n");
    assert_eq!(
        s.send("MKD /../home/bob\r\n"),
        "257 \"/home/bob\" created.\r\n"
    );
    s.send("PASV\r\n");
    s.send("STOR ../../home/bob/evil.txt\r\n");
    s.connected();
    s.server.handle_data_input(b"gotcha");
    assert_eq!(s.closed(), "226 Transfer complete.\r\n");
    assert!(s.vfs.get_file(&p("/home/alice/home/bob/evil.txt")).is_ok());
    assert!(s.vfs.get_file(&p("/home/bob/evil.txt")).is_err());
    assert_eq!(
        s.send("RNFR notes.txt\r\nRNTO ../../../etc/passwd\r\n"),
        "350 Ready for RNTO.\r\n553 Rename failed: No such file or directory.\r\n"
    );
    assert_eq!(
        &s.vfs.get_file(&p("/etc/passwd")).unwrap()[..],
        b"root:x:0:0\n"
    );
    assert_eq!(s.send("DELE ../bob/secret.txt\r\n").get(..3), Some("550"));
    assert!(s.vfs.get_file(&p("/home/bob/secret.txt")).is_ok());
}

// ----- a client and a server joined by pipes -----

/// Joins an [`FtpClient`] and an [`FtpServer`] with in-memory control and
/// data connections, the way the simulated TCP or real sockets would.
struct Pair {
    client: FtpClient,
    server: FtpServer,
    vfs: Vfs,
    server_ports: Ports,
    client_ports: Ports,
    /// The data connection between the two, if one is open.
    link: bool,
    /// A firewall in front of the client drops connections to it.
    firewall: bool,
    /// Deliver bytes in pieces of this size (control and data).
    chunk: usize,
    /// Tell the server about passive connections only after the control
    /// bytes in flight were delivered (so RETR arrives first: 150).
    late_accept: bool,
    pending_accept: bool,
    /// Every byte that crossed a data connection, in order.
    data_log: Vec<u8>,
    server_transcript: Vec<Transcript>,
}

impl Pair {
    fn new(config: FtpClientConfig) -> Pair {
        Pair {
            client: FtpClient::new(config),
            server: FtpServer::new(FtpServerConfig::default()),
            vfs: world(),
            server_ports: Ports::new(SERVER_IP, 50_000),
            client_ports: Ports::new(CLIENT_IP, 40_000),
            link: false,
            firewall: false,
            chunk: usize::MAX,
            late_accept: false,
            pending_accept: false,
            data_log: Vec::new(),
            server_transcript: Vec::new(),
        }
    }

    fn alice(mode: DataMode, extended: bool, steps: Vec<Step>) -> Pair {
        let mut config = FtpClientConfig::new("alice", "wonderland", SERVER_IP);
        config.mode = mode;
        config.extended = extended;
        config.steps = steps;
        Pair::new(config)
    }

    fn run(&mut self) {
        for _ in 0..10_000 {
            let mut progress = self.pump_control();
            progress |= self.pump_data();
            if !progress && self.pending_accept {
                self.pending_accept = false;
                self.server
                    .handle_data_connected(&mut self.vfs, &mut self.server_ports, NOW);
                progress = true;
            }
            self.server_transcript
                .extend(std::iter::from_fn(|| self.server.poll_transcript()));
            if !progress {
                break;
            }
        }
        if self.server.wants_close() {
            self.client.handle_close();
        }
        assert!(
            self.client.is_done(),
            "client stuck in {}",
            self.client.state_name()
        );
    }

    fn pump_control(&mut self) -> bool {
        let mut progress = false;
        while let Some(bytes) = self.client.poll_output() {
            for piece in bytes.chunks(self.chunk.min(bytes.len()).max(1)) {
                self.server
                    .handle_input(piece, &mut self.vfs, &mut self.server_ports, NOW);
            }
            progress = true;
        }
        while let Some(bytes) = self.server.poll_output() {
            for piece in bytes.chunks(self.chunk.min(bytes.len()).max(1)) {
                self.client.handle_input(piece, &mut self.client_ports);
            }
            progress = true;
        }
        progress
    }

    fn pump_data(&mut self) -> bool {
        let mut progress = false;
        while let Some(request) = self.server.poll_data_request() {
            self.server_request(request);
            progress = true;
        }
        while let Some(request) = self.client.poll_data_request() {
            self.client_request(request);
            progress = true;
        }
        progress
    }

    fn server_request(&mut self, request: DataRequest) {
        let (vfs, sp, cp) = (
            &mut self.vfs,
            &mut self.server_ports,
            &mut self.client_ports,
        );
        match request {
            DataRequest::Connect { to } => {
                if !self.firewall && cp.listener == Some(to) {
                    cp.listener = None;
                    self.link = true;
                    self.server.handle_data_connected(vfs, sp, NOW);
                    self.client.handle_data_connected(cp);
                } else {
                    self.server.handle_data_failed(vfs, sp, NOW);
                }
            }
            DataRequest::Send(bytes) => {
                assert!(self.link, "server sends without a connection");
                self.data_log.extend_from_slice(&bytes);
                for piece in bytes.chunks(self.chunk.min(bytes.len()).max(1)) {
                    self.client.handle_data_input(piece);
                }
            }
            DataRequest::Close => {
                assert!(self.link, "server closes without a connection");
                self.link = false;
                self.client.handle_data_closed(cp);
                self.server.handle_data_sent(vfs, sp, NOW);
            }
            DataRequest::Abort => {
                sp.listener = None;
                if std::mem::take(&mut self.link) {
                    self.client.handle_data_closed(cp);
                }
            }
        }
    }

    fn client_request(&mut self, request: DataRequest) {
        let (vfs, sp, cp) = (
            &mut self.vfs,
            &mut self.server_ports,
            &mut self.client_ports,
        );
        match request {
            DataRequest::Connect { to } => {
                if sp.listener == Some(to) {
                    sp.listener = None;
                    self.link = true;
                    self.client.handle_data_connected(cp);
                    if self.late_accept {
                        self.pending_accept = true;
                    } else {
                        self.server.handle_data_connected(vfs, sp, NOW);
                    }
                } else {
                    self.client.handle_data_failed(cp);
                }
            }
            DataRequest::Send(bytes) => {
                assert!(self.link, "client sends without a connection");
                self.data_log.extend_from_slice(&bytes);
                for piece in bytes.chunks(self.chunk.min(bytes.len()).max(1)) {
                    self.server.handle_data_input(piece);
                }
            }
            DataRequest::Close => {
                assert!(self.link, "client closes without a connection");
                self.link = false;
                self.server.handle_data_closed(vfs, sp, NOW);
                self.client.handle_data_sent(cp);
            }
            DataRequest::Abort => {
                cp.listener = None;
                if std::mem::take(&mut self.link) {
                    self.server.handle_data_closed(vfs, sp, NOW);
                }
            }
        }
    }

    fn codes(&self) -> Vec<Option<u16>> {
        self.client.outcomes().iter().map(|o| o.code).collect()
    }

    fn server_said(&self, code: u16) -> bool {
        self.server_transcript
            .iter()
            .any(|t| matches!(t, Transcript::Reply { code: Some(c), .. } if *c == code))
    }
}

fn sha(data: &[u8]) -> Vec<u8> {
    Sha256::digest(data).to_vec()
}

/// LIST, RETR, STOR of a binary file and RETR of it back, in one mode.
fn round_trip(mode: DataMode, extended: bool, chunk: usize) -> Pair {
    let upload = generate_bytes(1234, 70_000);
    let mut pair = Pair::alice(
        mode,
        extended,
        vec![
            Step::Pwd,
            Step::List(None),
            Step::Cwd("pub".into()),
            Step::Type(TransferType::Image),
            Step::Retr("blob.bin".into()),
            Step::Stor("upload.bin".into(), upload.clone()),
            Step::Retr("upload.bin".into()),
            Step::Nlst(None),
        ],
    );
    pair.chunk = chunk;
    pair.run();
    assert!(pair.client.logged_in());
    assert_eq!(pair.client.login_reply().unwrap().code, 230);
    assert_eq!(
        pair.codes(),
        [
            Some(257),
            Some(226),
            Some(250),
            Some(200),
            Some(226),
            Some(226),
            Some(226),
            Some(226)
        ]
    );
    assert!(pair.client.failures().is_empty());
    assert_eq!(
        pair.client.listings()[0],
        "-rw-r--r--    1 alice    ftp            12 Mar  2 14:05 notes.txt\n\
         drwxr-xr-x    1 alice    ftp          4096 Mar  2 14:05 pub\n"
    );
    assert_eq!(
        pair.client.listings()[1],
        "README.txt\nblob.bin\nupload.bin\n"
    );
    let blob = pair.client.download("blob.bin").unwrap();
    assert_eq!(sha(blob), sha(&generate_bytes(9, 5000)));
    // TYPE I: byte-identical both ways.
    let stored = pair.vfs.get_file(&p("/home/alice/pub/upload.bin")).unwrap();
    assert_eq!(sha(&stored), sha(&upload));
    assert_eq!(
        sha(pair.client.download("upload.bin").unwrap()),
        sha(&upload)
    );
    assert!(pair.server.wants_close());
    assert_eq!(pair.client.state_name(), "Done");
    pair
}

#[test]
fn passive_round_trip_with_pasv() {
    let pair = round_trip(DataMode::Passive, false, usize::MAX);
    assert!(pair.server_said(227));
    assert!(pair.server_said(125));
    let t = &pair.server_transcript;
    assert!(t.contains(&Transcript::Data(
        "(data connection: 5000 bytes of blob.bin)".into()
    )));
    assert!(t.contains(&Transcript::Data(
        "(data connection: 70000 bytes of upload.bin)".into()
    )));
    assert!(t.contains(&Transcript::Command("PASS wonderland".into())));
    assert_eq!(
        t.last(),
        Some(&Transcript::Reply {
            code: Some(221),
            text: "221 Goodbye.".into()
        })
    );
}

#[test]
fn passive_round_trip_with_epsv() {
    let pair = round_trip(DataMode::Passive, true, usize::MAX);
    assert!(pair.server_said(229));
    assert!(!pair.server_said(227));
}

#[test]
fn active_round_trip_with_port() {
    let pair = round_trip(DataMode::Active, false, usize::MAX);
    assert!(
        pair.server_transcript
            .contains(&Transcript::Command("PORT 10,0,0,2,156,64".into()))
    );
    assert!(pair.server_said(150));
    assert!(!pair.server_said(125));
}

#[test]
fn active_round_trip_with_eprt() {
    let pair = round_trip(DataMode::Active, true, usize::MAX);
    assert!(
        pair.server_transcript
            .contains(&Transcript::Command("EPRT |1|10.0.0.2|40000|".into()))
    );
}

#[test]
fn everything_still_works_one_byte_at_a_time() {
    round_trip(DataMode::Passive, false, 1);
    round_trip(DataMode::Active, true, 7);
}

#[test]
fn passive_connection_reported_late_gets_150() {
    let mut pair = Pair::alice(
        DataMode::Passive,
        false,
        vec![Step::Retr("notes.txt".into())],
    );
    pair.late_accept = true;
    pair.run();
    assert_eq!(pair.codes(), [Some(226)]);
    assert!(pair.server_said(150));
    assert_eq!(
        &pair.client.download("notes.txt").unwrap()[..],
        b"hello\nworld\n"
    );
}

#[test]
fn type_a_converts_line_ends_both_ways() {
    let mut pair = Pair::alice(
        DataMode::Passive,
        false,
        vec![
            Step::Type(TransferType::Ascii),
            Step::Retr("notes.txt".into()),
            Step::Stor("up.txt".into(), Bytes::from_static(b"one\ntwo\n")),
        ],
    );
    pair.run();
    assert_eq!(pair.codes(), [Some(200), Some(226), Some(226)]);
    // On the wire: CRLF both ways.
    assert_eq!(pair.data_log, b"hello\r\nworld\r\none\r\ntwo\r\n");
    // In the stores: LF.
    assert_eq!(
        &pair.client.download("notes.txt").unwrap()[..],
        b"hello\nworld\n"
    );
    assert_eq!(
        &pair.vfs.get_file(&p("/home/alice/up.txt")).unwrap()[..],
        b"one\ntwo\n"
    );
    // The same file in TYPE I arrives as stored.
    let mut pair = Pair::alice(
        DataMode::Passive,
        false,
        vec![
            Step::Type(TransferType::Image),
            Step::Retr("notes.txt".into()),
        ],
    );
    pair.run();
    assert_eq!(pair.data_log, b"hello\nworld\n");
}

#[test]
fn rest_resumes_a_download() {
    let mut pair = Pair::alice(
        DataMode::Active,
        false,
        vec![
            Step::Type(TransferType::Image),
            Step::RetrFrom("pub/blob.bin".into(), 4000),
        ],
    );
    pair.run();
    assert_eq!(pair.codes(), [Some(200), Some(226)]);
    assert!(pair.server_said(350));
    assert_eq!(
        pair.client.download("pub/blob.bin").unwrap(),
        &generate_bytes(9, 5000).slice(4000..)
    );
}

#[test]
fn directory_steps_and_rename() {
    let mut pair = Pair::alice(
        DataMode::Passive,
        false,
        vec![
            Step::Mkd("docs".into()),
            Step::Rename("notes.txt".into(), "docs/notes.md".into()),
            Step::Cwd("docs".into()),
            Step::Pwd,
            Step::Size("notes.md".into()),
            Step::Mdtm("notes.md".into()),
            Step::Cdup,
            Step::Rmd("docs".into()),
            Step::Dele("docs/notes.md".into()),
            Step::Rmd("docs".into()),
            Step::Noop,
            Step::Raw("SYST".into()),
        ],
    );
    pair.run();
    assert_eq!(
        pair.codes(),
        [
            Some(257),
            Some(250),
            Some(250),
            Some(257),
            Some(213),
            Some(213),
            Some(250),
            Some(550),
            Some(250),
            Some(250),
            Some(200),
            Some(215)
        ]
    );
    let outcomes = pair.client.outcomes();
    assert_eq!(outcomes[0].text, "\"/docs\" created.");
    assert_eq!(outcomes[1].command, "RNTO docs/notes.md");
    assert_eq!(outcomes[3].text, "\"/docs\" is the current directory.");
    assert_eq!(outcomes[4].text, "14");
    assert_eq!(outcomes[5].text, "20260302140509");
    assert_eq!(pair.client.failures().len(), 1);
}

#[test]
fn firewalled_active_client_gets_425_and_carries_on() {
    let mut pair = Pair::alice(
        DataMode::Active,
        false,
        vec![Step::Retr("notes.txt".into()), Step::List(None), Step::Pwd],
    );
    pair.firewall = true;
    pair.run();
    assert_eq!(pair.codes(), [Some(425), Some(425), Some(257)]);
    assert_eq!(
        pair.client.failures()[0].text,
        "Can't open data connection."
    );
    assert!(pair.client.downloads().is_empty());
}

#[test]
fn quota_full_upload_gets_452() {
    let mut pair = Pair::alice(
        DataMode::Passive,
        true,
        vec![
            Step::Type(TransferType::Image),
            Step::Stor("huge.bin".into(), generate_bytes(5, 1_200_000)),
            Step::Stor("small.bin".into(), generate_bytes(5, 1000)),
        ],
    );
    pair.run();
    assert_eq!(pair.codes(), [Some(200), Some(452), Some(226)]);
    assert!(pair.vfs.get_file(&p("/home/alice/huge.bin")).is_err());
}

#[test]
fn wrong_password_ends_with_530_and_quit() {
    let mut config = FtpClientConfig::new("alice", "guess", SERVER_IP);
    config.steps = vec![Step::Pwd];
    let mut pair = Pair::new(config);
    pair.run();
    assert!(!pair.client.logged_in());
    assert_eq!(pair.client.login_reply().unwrap().code, 530);
    assert!(pair.client.outcomes().is_empty());
    assert!(pair.server.wants_close());
}

#[test]
fn missing_files_and_bad_names_fail_with_550_and_553() {
    let mut pair = Pair::alice(
        DataMode::Passive,
        false,
        vec![
            Step::Retr("ghost.txt".into()),
            Step::Stor("no/such/dir.txt".into(), Bytes::from_static(b"x")),
            Step::Appe("pub".into(), Bytes::from_static(b"x")),
            Step::List(Some("ghost".into())),
            Step::Retr("notes.txt".into()),
        ],
    );
    pair.run();
    assert_eq!(
        pair.codes(),
        [Some(550), Some(553), Some(553), Some(450), Some(226)]
    );
    assert_eq!(pair.client.failures().len(), 4);
}

#[test]
fn client_traversal_attempts_stay_inside() {
    let mut pair = Pair::alice(
        DataMode::Passive,
        false,
        vec![
            Step::Cwd("../../..".into()),
            Step::Pwd,
            Step::Retr("../bob/secret.txt".into()),
            Step::Retr("..\\..\\etc\\passwd".into()),
            Step::Stor("../../secret.txt".into(), Bytes::from_static(b"mine\n")),
            Step::List(Some("../..".into())),
        ],
    );
    pair.run();
    assert_eq!(
        pair.codes(),
        [
            Some(250),
            Some(257),
            Some(550),
            Some(550),
            Some(226),
            Some(226)
        ]
    );
    assert_eq!(
        pair.client.outcomes()[1].text,
        "\"/\" is the current directory."
    );
    assert_eq!(
        &pair.vfs.get_file(&p("/home/alice/secret.txt")).unwrap()[..],
        b"mine\n"
    );
    assert_eq!(
        &pair.vfs.get_file(&p("/home/bob/secret.txt")).unwrap()[..],
        b"bob's secret\n"
    );
    assert!(pair.client.listings()[0].contains("notes.txt"));
}

#[test]
fn epsv_refused_falls_back_to_pasv() {
    // A server that does not know EPSV answers 500; the client tries PASV.
    let mut pair = Pair::alice(
        DataMode::Passive,
        true,
        vec![Step::Retr("notes.txt".into())],
    );
    pair.server
        .handle_input(b"", &mut pair.vfs, &mut pair.server_ports, NOW);
    // Drive by hand until EPSV is sent, then answer it ourselves.
    let greeting = pair.server.poll_output().unwrap();
    pair.client.handle_input(&greeting, &mut pair.client_ports);
    for _ in 0..2 {
        let line = pair.client.poll_output().unwrap();
        pair.server
            .handle_input(&line, &mut pair.vfs, &mut pair.server_ports, NOW);
        let reply = pair.server.poll_output().unwrap();
        pair.client.handle_input(&reply, &mut pair.client_ports);
    }
    assert_eq!(pair.client.poll_output().unwrap(), b"EPSV\r\n");
    pair.client
        .handle_input(b"500 Unknown command.\r\n", &mut pair.client_ports);
    assert_eq!(pair.client.poll_output().unwrap(), b"PASV\r\n");
    pair.server
        .handle_input(b"PASV\r\n", &mut pair.vfs, &mut pair.server_ports, NOW);
    pair.run();
    assert_eq!(pair.codes(), [Some(226)]);
}

#[test]
fn server_going_away_ends_the_client() {
    let mut pair = Pair::alice(DataMode::Passive, false, vec![Step::Pwd]);
    let greeting = pair.server.poll_output().unwrap();
    pair.client.handle_input(&greeting, &mut pair.client_ports);
    pair.client
        .handle_input(b"421 Service closing.\r\n", &mut pair.client_ports);
    assert!(pair.client.is_done());
    let mut pair = Pair::alice(DataMode::Passive, false, vec![Step::Pwd]);
    pair.client
        .handle_input(b"220 hi\r\n", &mut pair.client_ports);
    pair.client
        .handle_input(b"garbage\r\n", &mut pair.client_ports);
    assert!(pair.client.is_done());
    assert!(pair.client.error().unwrap().contains("bad reply"));
}

#[test]
fn state_diagrams_name_only_known_states() {
    for (from, to, _) in TRANSITIONS {
        assert!(
            STATES.contains(from) && STATES.contains(to),
            "{from} -> {to}"
        );
    }
    for (from, to, _) in client::TRANSITIONS {
        assert!(
            client::STATES.contains(from) && client::STATES.contains(to),
            "{from} -> {to}"
        );
    }
}

// ----- proptests: no input makes the server panic or go silent -----

/// A data-connection event the driver may report at any time.
#[derive(Debug, Clone)]
enum Event {
    Input(Vec<u8>),
    Connected,
    Failed,
    DataInput(Vec<u8>),
    Closed,
    Sent,
    RefusePorts(bool),
}

fn apply(raw: &mut Raw, event: &Event) {
    match event {
        Event::Input(bytes) => {
            raw.send_bytes(bytes);
        }
        Event::Connected => {
            raw.connected();
        }
        Event::Failed => {
            raw.failed();
        }
        Event::DataInput(bytes) => raw.server.handle_data_input(bytes),
        Event::Closed => {
            raw.closed();
        }
        Event::Sent => {
            raw.sent();
        }
        Event::RefusePorts(refuse) => raw.ports.refuse = *refuse,
    }
    raw.requests();
}

fn path_strategy() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("notes.txt".to_string()),
        Just("pub".to_string()),
        Just("pub/README.txt".to_string()),
        Just("../bob/secret.txt".to_string()),
        Just("../../../etc/passwd".to_string()),
        Just("..\\..\\etc".to_string()),
        Just("/".to_string()),
        Just("new".to_string()),
        Just("a\0b".to_string()),
        "[a-z./\\\\]{0,12}",
    ]
}

fn command_strategy() -> impl Strategy<Value = String> {
    let verbs = prop_oneof![
        Just("CWD"),
        Just("MKD"),
        Just("RMD"),
        Just("DELE"),
        Just("RNFR"),
        Just("RNTO"),
        Just("LIST"),
        Just("LIST -R"),
        Just("NLST"),
        Just("RETR"),
        Just("STOR"),
        Just("APPE"),
        Just("SIZE"),
        Just("MDTM"),
        Just("REST"),
        Just("TYPE"),
        Just("PORT"),
        Just("EPRT"),
        Just("EPSV"),
    ];
    let bare = prop_oneof![
        Just("PASV"),
        Just("EPSV"),
        Just("PWD"),
        Just("CDUP"),
        Just("NOOP"),
        Just("ABOR"),
        Just("FEAT"),
        Just("SYST"),
        Just("HELP"),
        Just("TYPE I"),
        Just("TYPE A"),
        Just("PORT 10,0,0,2,4,1"),
        Just("EPRT |1|10.0.0.2|5000|"),
        Just("REST 3"),
        Just("USER alice"),
        Just("PASS wonderland"),
        Just("QUIT"),
        Just("LIST -R"),
        Just("LIST -la"),
        Just("NLST -R pub"),
        Just("STAT"),
    ];
    prop_oneof![
        (verbs, path_strategy()).prop_map(|(v, a)| format!("{v} {a}\r\n")),
        bare.prop_map(|c| format!("{c}\r\n")),
    ]
}

fn event_strategy() -> impl Strategy<Value = Event> {
    prop_oneof![
        4 => command_strategy().prop_map(|c| Event::Input(c.into_bytes())),
        1 => proptest::collection::vec(any::<u8>(), 0..40).prop_map(Event::Input),
        1 => Just(Event::Connected),
        1 => Just(Event::Failed),
        1 => proptest::collection::vec(any::<u8>(), 0..40).prop_map(Event::DataInput),
        1 => Just(Event::Closed),
        1 => Just(Event::Sent),
        1 => any::<bool>().prop_map(Event::RefusePorts),
    ]
}

/// Every reply the server sent parses as RFC 959 replies.
fn assert_well_formed(output: &str) {
    let mut parser = reply::parser();
    parser.push(output.as_bytes());
    while let Some(reply) = parser.next_reply() {
        let (reply, _) = reply.expect("well-formed reply");
        assert!((100..600).contains(&reply.code));
    }
}

/// After any history: end whatever transfer runs, then NOOP must be
/// answered, unless the session is closing.
fn assert_still_answers(raw: &mut Raw) {
    // Queued commands may start new transfers; fail those too.
    for _ in 0..100 {
        raw.server
            .handle_data_failed(&mut raw.vfs, &mut raw.ports, NOW);
    }
    let out = raw.send("\r\nNOOP\r\n");
    assert_well_formed(&out);
    assert!(
        raw.server.wants_close() || out.ends_with("200 NOOP ok.\r\n"),
        "{out:?}"
    );
}

/// Nothing outside alice's home changed.
fn assert_others_untouched(raw: &Raw) {
    assert_eq!(
        &raw.vfs.get_file(&p("/home/bob/secret.txt")).unwrap()[..],
        b"bob's secret\n"
    );
    assert_eq!(
        &raw.vfs.get_file(&p("/etc/passwd")).unwrap()[..],
        b"root:x:0:0\n"
    );
    assert_eq!(raw.vfs.list("bob", &VPath::root()).unwrap().len(), 1);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn arbitrary_bytes_never_panic(chunks in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..200), 0..10), login in any::<bool>()) {
        let mut raw = if login { Raw::logged_in() } else { Raw::new() };
        for chunk in &chunks {
            let out = raw.send_bytes(chunk);
            assert_well_formed(&out);
        }
        assert_still_answers(&mut raw);
    }

    #[test]
    fn random_sessions_with_random_data_events(events in proptest::collection::vec(event_strategy(), 0..40)) {
        let mut raw = Raw::logged_in();
        for event in &events {
            apply(&mut raw, event);
            prop_assert!(STATES.contains(&raw.server.state_name()));
        }
        assert_others_untouched(&raw);
        assert_still_answers(&mut raw);
    }
}
