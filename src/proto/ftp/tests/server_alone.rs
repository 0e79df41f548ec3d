//! The server alone, driven by hand: exact replies to each command, the
//! data connection's part played by the test, and the users' roots that
//! no spelling of a path leaves.

use super::*;

#[test]
fn login_is_331_then_230_and_the_password_shows_in_the_transcript() {
    let mut s = Raw::new();
    assert_eq!(s.server.state_name(), "AWAITING-USER");
    assert_eq!(
        s.send("USER alice\r\n"),
        "331 User name okay, need password.\r\n"
    );
    assert_eq!(s.server.state_name(), "AWAITING-PASSWORD");
    assert_eq!(
        s.send("PASS wonderland\r\n"),
        "230 User logged in, proceed.\r\n"
    );
    assert_eq!(s.server.state_name(), "LOGGED-IN");
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
    assert_eq!(s.server.state_name(), "AWAITING-USER");
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
    assert_eq!(s.server.state_name(), "CLOSED");
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
    assert_eq!(s.server.state_name(), "DATA-READY");
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
    assert_eq!(s.server.state_name(), "AWAITING-DATA-CONNECTION");
    assert_eq!(
        s.connected(),
        "150 Opening BINARY mode data connection for notes.txt (12 bytes).\r\n"
    );
    assert_eq!(s.server.state_name(), "TRANSFERRING");
    assert_eq!(s.sent_data(), (b"hello\nworld\n".to_vec(), true));
    assert_eq!(s.sent(), "226 Transfer complete.\r\n");
    assert_eq!(s.server.state_name(), "LOGGED-IN");
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
    assert_eq!(s.server.state_name(), "LOGGED-IN");
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
    assert_eq!(s.server.state_name(), "CLOSED");
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
