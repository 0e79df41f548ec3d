//! One server session, command by command: greeting and login, SELECT,
//! FETCH and its items, STORE, SEARCH, COPY, MOVE and EXPUNGE, UIDPLUS,
//! ID and NAMESPACE, LIST and the folders, APPEND with literals, limits,
//! AUTHENTICATE and IDLE.

use super::*;

#[test]
fn greeting_capability_login_logout() {
    let mut st = store();
    let mut s = ImapServer::new(ImapConfig::default());
    assert_eq!(s.state_name(), "NOT-AUTHENTICATED");
    assert_eq!(
        drain(&mut s),
        format!("* OK [CAPABILITY {CAPS}] localhost IMAP4rev1 server ready\r\n")
    );
    assert_eq!(
        send(&mut s, &mut st, "a1 CAPABILITY\r\n"),
        format!("* CAPABILITY {CAPS}\r\na1 OK CAPABILITY completed\r\n")
    );
    assert_eq!(
        send(&mut s, &mut st, "a2 SELECT INBOX\r\n"),
        "a2 BAD Log in first\r\n"
    );
    assert_eq!(
        send(&mut s, &mut st, "a3 LOGIN bob hunter2\r\n"),
        format!("a3 OK [CAPABILITY {CAPS}] Logged in\r\n")
    );
    assert_eq!(s.state_name(), "AUTHENTICATED");
    assert_eq!(s.user(), Some("bob"));
    assert_eq!(
        send(&mut s, &mut st, "a4 LOGIN bob hunter2\r\n"),
        "a4 BAD Already authenticated\r\n"
    );
    assert_eq!(
        send(&mut s, &mut st, "a5 FETCH 1 FLAGS\r\n"),
        "a5 BAD No mailbox selected\r\n"
    );
    assert_eq!(
        send(&mut s, &mut st, "a6 NOOP\r\n"),
        "a6 OK NOOP completed\r\n"
    );
    assert_eq!(
        send(&mut s, &mut st, "a7 LOGOUT\r\n"),
        "* BYE Logging out\r\na7 OK LOGOUT completed\r\n"
    );
    assert!(s.wants_close());
    assert_eq!(s.state_name(), "LOGOUT");
    // Nothing is read after LOGOUT.
    assert_eq!(send(&mut s, &mut st, "a8 NOOP\r\n"), "");
}

#[test]
fn a_session_the_client_leaves_wants_to_close() {
    // Without LOGOUT, as a client that just hangs up, selected or not.
    let mut st = store();
    let mut s = server();
    assert!(!s.wants_close());
    s.handle_close();
    assert!(s.wants_close());
    assert_eq!(s.state_name(), "LOGOUT");
    let mut s = selected(&mut st);
    s.handle_close();
    assert!(s.wants_close());
    assert_eq!(send(&mut s, &mut st, "c NOOP\r\n"), "");
}

#[test]
fn failed_logins_are_counted_then_bye() {
    let mut st = store();
    let mut s = server();
    let no = "NO [AUTHENTICATIONFAILED] Invalid credentials";
    assert_eq!(
        send(&mut s, &mut st, "a LOGIN bob wrong\r\n"),
        format!("a {no}\r\n")
    );
    assert_eq!(
        send(&mut s, &mut st, "b LOGIN eve x\r\n"),
        format!("b {no}\r\n")
    );
    assert_eq!(s.failed_logins(), 2);
    assert_eq!(
        send(&mut s, &mut st, "c LOGIN \"bob\" \"nope\"\r\n"),
        format!("c {no}\r\n* BYE Too many failed login attempts\r\n")
    );
    assert!(s.wants_close());
}

#[test]
fn bad_syntax_and_unknown_commands() {
    let mut st = store();
    let mut s = server();
    assert_eq!(
        send(&mut s, &mut st, "a FROBNICATE\r\n"),
        "a BAD Unknown command or syntax error\r\n"
    );
    assert_eq!(
        send(&mut s, &mut st, "no-tag-at-all\r\n"),
        "no-tag-at-all BAD Unknown command or syntax error\r\n"
    );
    assert_eq!(
        send(&mut s, &mut st, "* NOOP\r\n"),
        "* BAD Unknown command or syntax error\r\n"
    );
    // Empty lines are ignored; a bare LF ends a line too.
    assert_eq!(
        send(&mut s, &mut st, "\r\nb NOOP\n"),
        "b OK NOOP completed\r\n"
    );
    // RFC 5161: ENABLE needs a login.
    assert_eq!(
        send(&mut s, &mut st, "c ENABLE CONDSTORE\r\n"),
        "c BAD Log in first\r\n"
    );
}

#[test]
fn select_and_examine() {
    let mut st = store();
    let mut s = server();
    send(&mut s, &mut st, "a LOGIN bob hunter2\r\n");
    assert_eq!(
        send(&mut s, &mut st, "b SELECT inbox\r\n"),
        "* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)\r\n\
* OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft \\*)] Flags permitted\r\n\
* 2 EXISTS\r\n\
* 2 RECENT\r\n\
* OK [UNSEEN 1] First unseen\r\n\
* OK [UIDVALIDITY 1] UIDs valid\r\n\
* OK [UIDNEXT 3] Predicted next UID\r\n\
b OK [READ-WRITE] SELECT completed\r\n"
    );
    assert_eq!(s.state_name(), "SELECTED");
    assert_eq!(s.selected_folder(), Some("INBOX"));
    // The first SELECT took \Recent; EXAMINE shows none and takes none.
    assert_eq!(
        send(&mut s, &mut st, "c EXAMINE INBOX\r\n"),
        "* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)\r\n\
* OK [PERMANENTFLAGS ()] No permanent flags permitted\r\n\
* 2 EXISTS\r\n\
* 0 RECENT\r\n\
* OK [UNSEEN 1] First unseen\r\n\
* OK [UIDVALIDITY 1] UIDs valid\r\n\
* OK [UIDNEXT 3] Predicted next UID\r\n\
c OK [READ-ONLY] EXAMINE completed\r\n"
    );
    assert_eq!(
        send(&mut s, &mut st, "d STORE 1 +FLAGS (\\Seen)\r\n"),
        "d NO Mailbox is read-only\r\n"
    );
    // A failed SELECT leaves the session unselected.
    assert_eq!(
        send(&mut s, &mut st, "e SELECT Nowhere\r\n"),
        "e NO [NONEXISTENT] No such mailbox\r\n"
    );
    assert_eq!(s.state_name(), "AUTHENTICATED");
}

#[test]
fn fetch_items() {
    let mut st = store();
    let mut s = selected(&mut st);
    assert_eq!(
        send(
            &mut s,
            &mut st,
            "c FETCH 1 (FLAGS UID RFC822.SIZE INTERNALDATE)\r\n"
        ),
        format!(
            "* 1 FETCH (FLAGS (\\Recent) UID 1 RFC822.SIZE {} INTERNALDATE \"02-Mar-2026 13:05:09 +0000\")\r\n\
c OK FETCH completed\r\n",
            MSG1.len()
        )
    );
    assert_eq!(
        send(&mut s, &mut st, "d FETCH 1 ENVELOPE\r\n"),
        "* 1 FETCH (ENVELOPE (\"Mon, 02 Mar 2026 14:05:09 +0000\" \"Hello\" \
((\"Alice\" NIL \"alice\" \"crepes.fr\")) ((\"Alice\" NIL \"alice\" \"crepes.fr\")) \
((\"Alice\" NIL \"alice\" \"crepes.fr\")) ((NIL NIL \"bob\" \"example.org\")) NIL NIL NIL \
\"<1@crepes.fr>\"))\r\nd OK FETCH completed\r\n"
    );
    assert_eq!(
        send(&mut s, &mut st, "e FETCH 1 (BODYSTRUCTURE BODY)\r\n"),
        "* 1 FETCH (BODYSTRUCTURE (\"TEXT\" \"PLAIN\" (\"CHARSET\" \"us-ascii\") NIL NIL \"7BIT\" 17 2 NIL) \
BODY (\"TEXT\" \"PLAIN\" (\"CHARSET\" \"us-ascii\") NIL NIL \"7BIT\" 17 2))\r\ne OK FETCH completed\r\n"
    );
    assert_eq!(
        send(
            &mut s,
            &mut st,
            "f FETCH 1 (BODY.PEEK[HEADER.FIELDS (SUBJECT FROM)])\r\n"
        ),
        "* 1 FETCH (BODY[HEADER.FIELDS (SUBJECT FROM)] {49}\r\n\
From: Alice <alice@crepes.fr>\r\nSubject: Hello\r\n\r\n)\r\nf OK FETCH completed\r\n"
    );
    assert_eq!(
        send(&mut s, &mut st, "g FETCH 1 BODY.PEEK[TEXT]<0.6>\r\n"),
        "* 1 FETCH (BODY[TEXT]<0> {6}\r\nHi Bob)\r\ng OK FETCH completed\r\n"
    );
    // Nothing so far set \Seen.
    assert_eq!(
        send(&mut s, &mut st, "h FETCH 1 FLAGS\r\n"),
        "* 1 FETCH (FLAGS (\\Recent))\r\nh OK FETCH completed\r\n"
    );
    // BODY[] does, and says so with FLAGS.
    assert_eq!(
        send(&mut s, &mut st, "i FETCH 1 BODY[]\r\n"),
        format!(
            "* 1 FETCH (BODY[] {{{}}}\r\n{} FLAGS (\\Seen \\Recent))\r\ni OK FETCH completed\r\n",
            MSG1.len(),
            String::from_utf8_lossy(MSG1)
        )
    );
    assert_eq!(
        send(&mut s, &mut st, "j UID FETCH 2 (RFC822.HEADER)\r\n"),
        "* 2 FETCH (UID 2 RFC822.HEADER {104}\r\nFrom: carol@example.org\r\nTo: bob@example.org\r\n\
Subject: Report\r\nDate: Sun, 01 Mar 2026 09:00:00 +0000\r\n\r\n)\r\nj OK UID FETCH completed\r\n"
    );
    assert_eq!(
        send(&mut s, &mut st, "k FETCH 2 BODY[1]\r\n"),
        "* 2 FETCH (BODY[1] {29}\r\nQuarterly numbers attached.\r\n FLAGS (\\Seen \\Recent))\r\nk OK FETCH completed\r\n"
    );
    assert_eq!(
        send(&mut s, &mut st, "l FETCH 1:* FAST\r\n"),
        format!(
            "* 1 FETCH (FLAGS (\\Seen \\Recent) INTERNALDATE \"02-Mar-2026 13:05:09 +0000\" RFC822.SIZE {})\r\n\
* 2 FETCH (FLAGS (\\Seen \\Recent) INTERNALDATE \"02-Mar-2026 12:05:09 +0000\" RFC822.SIZE {})\r\n\
l OK FETCH completed\r\n",
            MSG1.len(),
            MSG2.len()
        )
    );
    assert_eq!(
        send(&mut s, &mut st, "m FETCH 3 FLAGS\r\n"),
        "m BAD Invalid message sequence number\r\n"
    );
    // UID sets are lenient: unknown UIDs just match nothing.
    assert_eq!(
        send(&mut s, &mut st, "n UID FETCH 99:* FLAGS\r\n"),
        "* 2 FETCH (UID 2 FLAGS (\\Seen \\Recent))\r\nn OK UID FETCH completed\r\n"
    );
}

#[test]
fn rfc822_and_macros() {
    let mut st = store();
    let mut s = selected(&mut st);
    let all = send(&mut s, &mut st, "c FETCH 2 ALL\r\n");
    assert!(
        all.starts_with("* 2 FETCH (FLAGS (\\Recent) INTERNALDATE"),
        "{all}"
    );
    assert!(all.contains("ENVELOPE (\"Sun, 01 Mar 2026 09:00:00 +0000\" \"Report\""));
    let full = send(&mut s, &mut st, "d FETCH 2 FULL\r\n");
    assert!(full.contains(" BODY (\"TEXT\" \"PLAIN\""), "{full}");
    let rfc822 = send(&mut s, &mut st, "e FETCH 2 RFC822\r\n");
    assert!(rfc822.starts_with(&format!(
        "* 2 FETCH (RFC822 {{{}}}\r\nFrom: carol",
        MSG2.len()
    )));
    assert!(rfc822.ends_with(" FLAGS (\\Seen \\Recent))\r\ne OK FETCH completed\r\n"));
}

#[test]
fn multipart_bodystructure_and_parts() {
    let mut st = store();
    let mime = b"From: a@b\r\nSubject: pic\r\nMIME-Version: 1.0\r\n\
Content-Type: multipart/mixed; boundary=\"XX\"\r\n\r\n\
--XX\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nsee attached\r\n\
--XX\r\nContent-Type: image/png; name=\"a.png\"\r\nContent-Transfer-Encoding: base64\r\n\
Content-Disposition: attachment; filename=\"a.png\"\r\n\r\niVBORw0K\r\n--XX--\r\n";
    st.deliver("bob", mime, NOW).unwrap();
    let mut s = selected(&mut st);
    assert_eq!(
        send(&mut s, &mut st, "c FETCH 3 BODYSTRUCTURE\r\n"),
        "* 3 FETCH (BODYSTRUCTURE ((\"TEXT\" \"PLAIN\" (\"CHARSET\" \"utf-8\") NIL NIL \"7BIT\" 12 1 NIL)\
(\"IMAGE\" \"PNG\" (\"NAME\" \"a.png\") NIL NIL \"BASE64\" 8 NIL (\"ATTACHMENT\" (\"FILENAME\" \"a.png\"))) \
\"MIXED\" (\"BOUNDARY\" \"XX\")))\r\nc OK FETCH completed\r\n"
    );
    assert_eq!(
        send(
            &mut s,
            &mut st,
            "d FETCH 3 (BODY.PEEK[2] BODY.PEEK[1.MIME])\r\n"
        ),
        "* 3 FETCH (BODY[2] {8}\r\niVBORw0K BODY[1.MIME] {43}\r\n\
Content-Type: text/plain; charset=utf-8\r\n\r\n)\r\nd OK FETCH completed\r\n"
    );
}

#[test]
fn store_flags() {
    let mut st = store();
    let mut s = selected(&mut st);
    assert_eq!(
        send(&mut s, &mut st, "c STORE 1:2 +FLAGS (\\Seen \\Flagged)\r\n"),
        "* 1 FETCH (FLAGS (\\Flagged \\Seen \\Recent))\r\n\
* 2 FETCH (FLAGS (\\Flagged \\Seen \\Recent))\r\nc OK STORE completed\r\n"
    );
    assert_eq!(
        send(&mut s, &mut st, "d STORE 2 -FLAGS.SILENT (\\Flagged)\r\n"),
        "d OK STORE completed\r\n"
    );
    assert_eq!(
        send(
            &mut s,
            &mut st,
            "e UID STORE 1 FLAGS (\\Answered $Work)\r\n"
        ),
        "* 1 FETCH (UID 1 FLAGS (\\Answered $Work \\Recent))\r\ne OK UID STORE completed\r\n"
    );
    assert_eq!(
        send(&mut s, &mut st, "f STORE 1 +FLAGS (\\Bogus)\r\n"),
        "f BAD Invalid flag\r\n"
    );
    let flags: Vec<FlagSet> = st
        .messages("bob", INBOX)
        .unwrap()
        .into_iter()
        .map(|m| m.flags)
        .collect();
    assert_eq!(
        flags,
        vec![
            [Flag::Answered, Flag::Keyword("$Work".into())]
                .into_iter()
                .collect(),
            [Flag::Seen].into_iter().collect(),
        ]
    );
}

#[test]
fn search() {
    let mut st = store();
    let mut s = selected(&mut st);
    send(&mut s, &mut st, "c STORE 2 +FLAGS.SILENT (\\Seen)\r\n");
    let cases = [
        ("ALL", "1 2"),
        ("UNSEEN", "1"),
        ("SEEN", "2"),
        ("FROM alice", "1"),
        ("FROM CAROL", "2"),
        ("TO bob@example.org", "1 2"),
        ("SUBJECT \"report\"", "2"),
        ("NOT SUBJECT report", "1"),
        ("OR FROM alice SEEN", "1 2"),
        ("DELETED", ""),
        ("FLAGGED", ""),
        ("2:*", "2"),
        ("UID 1", "1"),
        ("BODY lunch", "1"),
        ("TEXT Quarterly", "2"),
        ("HEADER Message-ID crepes", "1"),
        ("SENTSINCE 2-Mar-2026", "1"),
        ("SENTBEFORE 2-Mar-2026", "2"),
        ("SINCE 2-Mar-2026", "1 2"),
        ("BEFORE 2-Mar-2026", ""),
        ("LARGER 150", "1"),
        ("NEW", "1"),
        ("CHARSET UTF-8 SUBJECT hello", "1"),
    ];
    for (criteria, expected) in cases {
        let sep = if expected.is_empty() { "" } else { " " };
        assert_eq!(
            send(&mut s, &mut st, &format!("s SEARCH {criteria}\r\n")),
            format!("* SEARCH{sep}{expected}\r\ns OK SEARCH completed\r\n"),
            "SEARCH {criteria}"
        );
    }
    assert_eq!(
        send(&mut s, &mut st, "u UID SEARCH UNSEEN\r\n"),
        "* SEARCH 1\r\nu OK UID SEARCH completed\r\n"
    );
    assert_eq!(
        send(&mut s, &mut st, "v SEARCH CHARSET KOI8-R ALL\r\n"),
        "v NO [BADCHARSET (UTF-8 US-ASCII)] Unsupported charset\r\n"
    );
}

#[test]
fn copy_move_expunge_close() {
    let mut st = store();
    let mut s = selected(&mut st);
    assert_eq!(
        send(&mut s, &mut st, "c COPY 1 Archive\r\n"),
        "c NO [TRYCREATE] No such mailbox\r\n"
    );
    assert_eq!(
        send(&mut s, &mut st, "d CREATE Archive\r\n"),
        "d OK CREATE completed\r\n"
    );
    assert_eq!(
        send(&mut s, &mut st, "e COPY 1:2 Archive\r\n"),
        "e OK [COPYUID 2 1:2 1:2] COPY completed\r\n"
    );
    assert_eq!(st.messages("bob", "Archive").unwrap().len(), 2);
    assert_eq!(
        send(&mut s, &mut st, "f UID MOVE 1 Archive\r\n"),
        "* OK [COPYUID 2 1 3] Moved UIDs\r\n* 1 EXPUNGE\r\nf OK UID MOVE completed\r\n"
    );
    assert_eq!(
        send(&mut s, &mut st, "g STORE 1 +FLAGS.SILENT (\\Deleted)\r\n"),
        "g OK STORE completed\r\n"
    );
    assert_eq!(
        send(&mut s, &mut st, "h EXPUNGE\r\n"),
        "* 1 EXPUNGE\r\nh OK EXPUNGE completed\r\n"
    );
    assert!(st.messages("bob", INBOX).unwrap().is_empty());
    send(&mut s, &mut st, "i SELECT Archive\r\n");
    send(&mut s, &mut st, "j STORE 2 +FLAGS.SILENT (\\Deleted)\r\n");
    // CLOSE expunges silently.
    assert_eq!(
        send(&mut s, &mut st, "k CLOSE\r\n"),
        "k OK CLOSE completed\r\n"
    );
    assert_eq!(s.state_name(), "AUTHENTICATED");
    let uids: Vec<u32> = st
        .messages("bob", "Archive")
        .unwrap()
        .iter()
        .map(|m| m.uid)
        .collect();
    assert_eq!(uids, vec![1, 3]);
}

/// RFC 4315 UIDPLUS: APPENDUID and COPYUID name the UIDs the store gave,
/// UID EXPUNGE removes only the deleted messages it names.
#[test]
fn uidplus_appenduid_copyuid_and_uid_expunge() {
    let mut st = store();
    st.deliver("bob", b"Subject: three\r\n\r\n3\r\n", NOW)
        .unwrap();
    st.deliver("bob", b"Subject: four\r\n\r\n4\r\n", NOW)
        .unwrap();
    st.expunge("bob", INBOX, &[3]).unwrap();
    let mut s = selected(&mut st);
    assert_eq!(
        send(&mut s, &mut st, "c CREATE Archive\r\n"),
        "c OK CREATE completed\r\n"
    );
    let archive = st.folder_info("bob", "Archive").unwrap().uid_validity;
    assert_eq!(archive, 2);
    // APPEND: the new message's UID under the folder's UIDVALIDITY.
    assert_eq!(
        send(
            &mut s,
            &mut st,
            "d APPEND Archive {12+}\r\nSubject: a\r\n\r\n"
        ),
        "d OK [APPENDUID 2 1] APPEND completed\r\n"
    );
    assert_eq!(
        st.message_body("bob", "Archive", 1).unwrap(),
        b"Subject: a\r\n"
    );
    // UIDs 1, 2 and 4 (3 is gone): the source set has a gap, the copies
    // are numbered on from Archive's UIDNEXT.
    assert_eq!(
        send(&mut s, &mut st, "e COPY 1:* Archive\r\n"),
        "e OK [COPYUID 2 1:2,4 2:4] COPY completed\r\n"
    );
    let copied: Vec<String> = st
        .messages("bob", "Archive")
        .unwrap()
        .iter()
        .map(|m| subject_of(&st.message_body("bob", "Archive", m.uid).unwrap()))
        .collect();
    assert_eq!(copied, ["a", "Hello", "Report", "four"]);
    assert_eq!(
        send(&mut s, &mut st, "f UID COPY 4,1 Archive\r\n"),
        "f OK [COPYUID 2 1,4 5:6] UID COPY completed\r\n"
    );
    // Nothing named, nothing copied: no COPYUID.
    assert_eq!(
        send(&mut s, &mut st, "g UID COPY 99 Archive\r\n"),
        "g OK UID COPY completed\r\n"
    );
    assert_eq!(
        send(&mut s, &mut st, "h APPEND Nowhere {1+}\r\nx\r\n"),
        "h NO [TRYCREATE] No such mailbox\r\n"
    );
    // UID EXPUNGE 2:4 takes 2 and 4 but leaves the deleted 1 alone.
    send(&mut s, &mut st, "i STORE 1:* +FLAGS.SILENT (\\Deleted)\r\n");
    assert_eq!(
        send(&mut s, &mut st, "j UID EXPUNGE 2:4\r\n"),
        "* 2 EXPUNGE\r\n* 2 EXPUNGE\r\nj OK UID EXPUNGE completed\r\n"
    );
    let left: Vec<u32> = st
        .messages("bob", INBOX)
        .unwrap()
        .iter()
        .map(|m| m.uid)
        .collect();
    assert_eq!(left, [1]);
    assert_eq!(
        send(&mut s, &mut st, "k UID EXPUNGE 1,5:7\r\n"),
        "* 1 EXPUNGE\r\nk OK UID EXPUNGE completed\r\n"
    );
    assert!(st.messages("bob", INBOX).unwrap().is_empty());
    assert_eq!(
        send(&mut s, &mut st, "l UID EXPUNGE 1:x\r\n"),
        "l BAD UID EXPUNGE expects a UID set such as 4:7,9\r\n"
    );
    // The UIDs COPYUID gave are the ones to fetch.
    send(&mut s, &mut st, "m SELECT Archive\r\n");
    assert_eq!(
        send(
            &mut s,
            &mut st,
            "n UID FETCH 6 BODY.PEEK[HEADER.FIELDS (SUBJECT)]\r\n"
        ),
        "* 6 FETCH (UID 6 BODY[HEADER.FIELDS (SUBJECT)] {17}\r\nSubject: four\r\n\r\n)\r\n\
n OK UID FETCH completed\r\n"
    );
    send(&mut s, &mut st, "o STORE 1 +FLAGS.SILENT (\\Deleted)\r\n");
    send(&mut s, &mut st, "p EXAMINE Archive\r\n");
    assert_eq!(
        send(&mut s, &mut st, "q UID EXPUNGE 1\r\n"),
        "q NO Mailbox is read-only\r\n"
    );
    send(&mut s, &mut st, "r CLOSE\r\n");
    assert_eq!(
        send(&mut s, &mut st, "s UID EXPUNGE 1\r\n"),
        "s BAD No mailbox selected\r\n"
    );
    assert_eq!(st.messages("bob", "Archive").unwrap().len(), 6);
}

/// RFC 6851 §4.3: MOVE with UIDPLUS sends COPYUID in an untagged OK,
/// before the EXPUNGEs.
#[test]
fn move_reports_copyuid_before_expunges() {
    let mut st = store();
    st.create_folder("bob", "Old").unwrap();
    st.append("bob", "Old", &FlagSet::new(), NOW, b"\r\n")
        .unwrap();
    let mut s = selected(&mut st);
    assert_eq!(
        send(&mut s, &mut st, "c MOVE 1:2 Old\r\n"),
        "* OK [COPYUID 2 1:2 2:3] Moved UIDs\r\n* 1 EXPUNGE\r\n* 1 EXPUNGE\r\n\
c OK MOVE completed\r\n"
    );
    assert_eq!(
        send(&mut s, &mut st, "d UID MOVE 1 Old\r\n"),
        "d OK UID MOVE completed\r\n"
    );
}

/// ID (RFC 2971) in any state, NAMESPACE (RFC 2342) once logged in,
/// ENABLE (RFC 5161) before a folder is selected.
#[test]
fn id_namespace_and_enable() {
    let mut st = store();
    let mut s = server();
    let id = format!(
        "* ID (\"name\" \"wiretale\" \"version\" \"{}\")\r\n",
        env!("CARGO_PKG_VERSION")
    );
    assert_eq!(
        send(
            &mut s,
            &mut st,
            "a ID (\"name\" \"imaplib\" \"os\" NIL)\r\n"
        ),
        format!("{id}a OK ID completed\r\n")
    );
    assert_eq!(
        s.client_id(),
        Some(
            &[
                ("name".to_string(), Some("imaplib".to_string())),
                ("os".to_string(), None)
            ][..]
        )
    );
    assert_eq!(s.state_name(), "NOT-AUTHENTICATED");
    assert_eq!(
        send(&mut s, &mut st, "b ID (\"name\")\r\n"),
        "b BAD ID expects NIL or a list of field-value pairs\r\n"
    );
    assert_eq!(
        send(&mut s, &mut st, "c NAMESPACE\r\n"),
        "c BAD Log in first\r\n"
    );
    send(&mut s, &mut st, "d LOGIN bob hunter2\r\n");
    assert_eq!(
        send(&mut s, &mut st, "e NAMESPACE\r\n"),
        "* NAMESPACE ((\"\" \"/\")) NIL NIL\r\ne OK NAMESPACE completed\r\n"
    );
    // Nothing here needs enabling, so nothing is listed as enabled.
    assert_eq!(
        send(&mut s, &mut st, "f ENABLE CONDSTORE UTF8=ACCEPT\r\n"),
        "* ENABLED\r\nf OK ENABLE completed\r\n"
    );
    assert_eq!(s.state_name(), "AUTHENTICATED");
    send(&mut s, &mut st, "g SELECT INBOX\r\n");
    assert_eq!(
        send(&mut s, &mut st, "h ENABLE CONDSTORE\r\n"),
        "h BAD ENABLE must come before SELECT or EXAMINE\r\n"
    );
    // ID NIL keeps what the client said before; ID works when selected.
    assert_eq!(
        send(&mut s, &mut st, "i id nil\r\n"),
        format!("{id}i OK ID completed\r\n")
    );
    assert_eq!(s.client_id().map(<[_]>::len), Some(2));
    assert_eq!(s.state_name(), "SELECTED");
}

/// RFC 6154: LIST marks the top-level folders whose names say what they
/// are for.
#[test]
fn list_marks_special_use_folders() {
    let mut st = store();
    let mut s = server();
    send(&mut s, &mut st, "a LOGIN bob hunter2\r\n");
    for name in [
        "Archive",
        "Drafts",
        "junk",
        "\"Sent Messages\"",
        "Trash",
        "Work/Archive",
        "Notes",
    ] {
        assert_eq!(
            send(&mut s, &mut st, &format!("b CREATE {name}\r\n")),
            "b OK CREATE completed\r\n"
        );
    }
    assert_eq!(
        send(&mut s, &mut st, "c LIST \"\" *\r\n"),
        "* LIST (\\HasNoChildren \\Archive) \"/\" Archive\r\n\
* LIST (\\HasNoChildren \\Drafts) \"/\" Drafts\r\n\
* LIST (\\HasNoChildren) \"/\" INBOX\r\n\
* LIST (\\HasNoChildren) \"/\" Notes\r\n\
* LIST (\\HasNoChildren \\Sent) \"/\" \"Sent Messages\"\r\n\
* LIST (\\HasNoChildren \\Trash) \"/\" Trash\r\n\
* LIST (\\HasChildren) \"/\" Work\r\n\
* LIST (\\HasNoChildren) \"/\" Work/Archive\r\n\
* LIST (\\HasNoChildren \\Junk) \"/\" junk\r\n\
c OK LIST completed\r\n"
    );
    assert_eq!(special_use("SPAM"), Some("Junk"));
    assert_eq!(special_use("Deleted Items"), Some("Trash"));
    assert_eq!(special_use("Sent/Old"), None);
    assert_eq!(special_use("INBOX"), None);
}

#[test]
fn folders_list_status_subscriptions() {
    let mut st = store();
    let mut s = server();
    send(&mut s, &mut st, "a LOGIN bob hunter2\r\n");
    assert_eq!(
        send(&mut s, &mut st, "b CREATE Work/2026/\r\n"),
        "b OK CREATE completed\r\n"
    );
    assert_eq!(
        send(&mut s, &mut st, "c CREATE Work\r\n"),
        "c NO [ALREADYEXISTS] Mailbox already exists\r\n"
    );
    assert_eq!(
        send(&mut s, &mut st, "d LIST \"\" *\r\n"),
        "* LIST (\\HasNoChildren) \"/\" INBOX\r\n\
* LIST (\\HasChildren) \"/\" Work\r\n\
* LIST (\\HasNoChildren) \"/\" Work/2026\r\nd OK LIST completed\r\n"
    );
    assert_eq!(
        send(&mut s, &mut st, "e LIST \"\" %\r\n"),
        "* LIST (\\HasNoChildren) \"/\" INBOX\r\n* LIST (\\HasChildren) \"/\" Work\r\ne OK LIST completed\r\n"
    );
    assert_eq!(
        send(&mut s, &mut st, "f LIST Work/ %\r\n"),
        "* LIST (\\HasNoChildren) \"/\" Work/2026\r\nf OK LIST completed\r\n"
    );
    assert_eq!(
        send(&mut s, &mut st, "g LIST \"\" \"\"\r\n"),
        "* LIST (\\Noselect) \"/\" \"\"\r\ng OK LIST completed\r\n"
    );
    assert_eq!(
        send(&mut s, &mut st, "h DELETE Work\r\n"),
        "h NO [CANNOT] Mailbox has subfolders, delete those first\r\n"
    );
    assert_eq!(
        send(&mut s, &mut st, "i DELETE INBOX\r\n"),
        "i NO [CANNOT] INBOX cannot be deleted\r\n"
    );
    assert_eq!(
        send(&mut s, &mut st, "j RENAME Work Jobs\r\n"),
        "j OK RENAME completed\r\n"
    );
    assert_eq!(st.folders("bob"), vec!["INBOX", "Jobs", "Jobs/2026"]);
    assert_eq!(
        send(&mut s, &mut st, "k SUBSCRIBE Jobs\r\n"),
        "k OK SUBSCRIBE completed\r\n"
    );
    assert_eq!(
        send(&mut s, &mut st, "l LSUB \"\" *\r\n"),
        "* LSUB () \"/\" INBOX\r\n* LSUB () \"/\" Jobs\r\nl OK LSUB completed\r\n"
    );
    assert_eq!(
        send(&mut s, &mut st, "m UNSUBSCRIBE Jobs\r\n"),
        "m OK UNSUBSCRIBE completed\r\n"
    );
    assert_eq!(
        send(&mut s, &mut st, "n UNSUBSCRIBE Jobs\r\n"),
        "n NO [NONEXISTENT] Not subscribed\r\n"
    );
    assert_eq!(
        send(
            &mut s,
            &mut st,
            "o STATUS INBOX (MESSAGES RECENT UIDNEXT UIDVALIDITY UNSEEN)\r\n"
        ),
        "* STATUS INBOX (MESSAGES 2 RECENT 2 UIDNEXT 3 UIDVALIDITY 1 UNSEEN 2)\r\no OK STATUS completed\r\n"
    );
    assert_eq!(
        send(&mut s, &mut st, "p DELETE Jobs/2026\r\n"),
        "p OK DELETE completed\r\n"
    );
    // RFC 3501 §6.3.5: renaming INBOX moves its messages.
    assert_eq!(
        send(&mut s, &mut st, "q RENAME INBOX Old\r\n"),
        "q OK RENAME completed\r\n"
    );
    assert_eq!(st.messages("bob", "Old").unwrap().len(), 2);
    assert!(st.messages("bob", INBOX).unwrap().is_empty());
}

#[test]
fn append_with_synchronising_literal_split_anywhere() {
    let mut st = store();
    let mut s = server();
    send(&mut s, &mut st, "a LOGIN bob hunter2\r\n");
    let msg = "Subject: note\r\n\r\nremember\r\n";
    let command = format!(
        "b APPEND INBOX (\\Seen) \"01-Mar-2026 10:00:00 +0100\" {{{}}}\r\n",
        msg.len()
    );
    // Byte by byte: the "+" comes exactly when the announcing line is in.
    let mut replies = String::new();
    for (i, byte) in command.bytes().enumerate() {
        s.handle_input(&[byte], &mut st, NOW);
        let r = drain(&mut s);
        if i + 1 < command.len() {
            assert_eq!(r, "");
        }
        replies.push_str(&r);
    }
    assert_eq!(replies, "+ Ready for literal data\r\n");
    for byte in msg.bytes() {
        s.handle_input(&[byte], &mut st, NOW);
        assert_eq!(drain(&mut s), "");
    }
    assert_eq!(
        send(&mut s, &mut st, "\r\n"),
        "b OK [APPENDUID 1 3] APPEND completed\r\n"
    );
    let m = st.messages("bob", INBOX).unwrap().pop().unwrap();
    assert_eq!(m.uid, 3);
    assert_eq!(m.internal_date, 1_772_355_600); // 01-Mar-2026 09:00:00 UTC
    assert!(m.flags.contains(&Flag::Seen));
    assert_eq!(st.message_body("bob", INBOX, 3).unwrap(), msg.as_bytes());
    let mut seen = Vec::new();
    while let Some(t) = s.poll_transcript() {
        seen.push(t);
    }
    let tail: Vec<_> = seen.iter().rev().take(6).rev().cloned().collect();
    assert_eq!(
        tail,
        vec![
            crate::proto::Transcript::Command(command.trim_end().to_string()),
            crate::proto::Transcript::Reply {
                code: None,
                text: "+ Ready for literal data".into()
            },
            crate::proto::Transcript::Data("Subject: note".into()),
            crate::proto::Transcript::Data("".into()),
            crate::proto::Transcript::Data("remember".into()),
            crate::proto::Transcript::Reply {
                code: None,
                text: "b OK [APPENDUID 1 3] APPEND completed".into()
            },
        ]
    );
}

#[test]
fn literal_plus_and_pipelining() {
    let mut st = store();
    let mut s = server();
    // LOGIN with a LITERAL+ password, APPEND with LITERAL+, and a NOOP,
    // all in one segment: no "+" is sent.
    let input = "a LOGIN bob {7+}\r\nhunter2\r\nb APPEND INBOX {4+}\r\nhi\r\n\r\nc NOOP\r\n";
    assert_eq!(
        send(&mut s, &mut st, input),
        format!(
            "a OK [CAPABILITY {CAPS}] Logged in\r\nb OK [APPENDUID 1 3] APPEND completed\r\nc OK NOOP completed\r\n"
        )
    );
    assert_eq!(st.message_body("bob", INBOX, 3).unwrap(), b"hi\r\n");
    // APPEND to a folder that does not exist.
    assert_eq!(
        send(&mut s, &mut st, "d APPEND Nope {2+}\r\nhi\r\n"),
        "d NO [TRYCREATE] No such mailbox\r\n"
    );
}

#[test]
fn limits_on_literals_and_lines() {
    let mut st = store();
    let config = ImapConfig {
        max_line: 100,
        max_literal: 50,
        ..ImapConfig::default()
    };
    let mut s = ImapServer::new(config.clone());
    drain(&mut s);
    send(&mut s, &mut st, "a LOGIN bob hunter2\r\n");
    assert_eq!(
        send(&mut s, &mut st, "b APPEND INBOX {51}\r\n"),
        "b NO [TOOBIG] Literal too large\r\n"
    );
    assert_eq!(
        send(&mut s, &mut st, &format!("c NOOP {}\r\n", "x".repeat(200))),
        "* BAD Command line too long\r\n"
    );
    assert_eq!(
        send(&mut s, &mut st, "d NOOP\r\n"),
        "d OK NOOP completed\r\n"
    );
    // A refused LITERAL+ literal is already on the wire: BYE.
    assert_eq!(
        send(&mut s, &mut st, "e APPEND INBOX {51+}\r\n"),
        "* BYE Literal too large\r\n"
    );
    assert!(s.wants_close());
}

#[test]
fn authenticate_plain() {
    let mut st = store();
    // "\0bob\0hunter2" in base64.
    let creds = "AGJvYgBodW50ZXIy";
    let mut s = server();
    assert_eq!(send(&mut s, &mut st, "a AUTHENTICATE PLAIN\r\n"), "+ \r\n");
    assert_eq!(s.state_name(), "AUTHENTICATING");
    assert_eq!(
        send(&mut s, &mut st, &format!("{creds}\r\n")),
        format!("a OK [CAPABILITY {CAPS}] Logged in\r\n")
    );
    assert_eq!(s.state_name(), "AUTHENTICATED");
    // SASL-IR: credentials on the command line.
    let mut s = server();
    assert_eq!(
        send(
            &mut s,
            &mut st,
            &format!("a AUTHENTICATE PLAIN {creds}\r\n")
        ),
        format!("a OK [CAPABILITY {CAPS}] Logged in\r\n")
    );
    // Cancel, and a mechanism we do not have.
    let mut s = server();
    send(&mut s, &mut st, "a AUTHENTICATE PLAIN\r\n");
    assert_eq!(
        send(&mut s, &mut st, "*\r\n"),
        "a BAD AUTHENTICATE cancelled\r\n"
    );
    assert_eq!(
        send(&mut s, &mut st, "b AUTHENTICATE CRAM-MD5\r\n"),
        "b NO Unsupported authentication mechanism\r\n"
    );
}

#[test]
fn idle_and_done() {
    let mut st = store();
    let mut s = selected(&mut st);
    assert_eq!(send(&mut s, &mut st, "c IDLE\r\n"), "+ idling\r\n");
    assert!(s.is_idling());
    assert_eq!(s.state_name(), "IDLING");
    // A delivery while idling: the driver tells the session.
    st.deliver("bob", MSG1, NOW).unwrap();
    s.handle_mailbox_changed(&mut st);
    assert_eq!(drain(&mut s), "* 3 EXISTS\r\n* 3 RECENT\r\n");
    assert_eq!(
        send(&mut s, &mut st, "done\r\n"),
        "c OK IDLE terminated\r\n"
    );
    assert_eq!(s.state_name(), "SELECTED");
    send(&mut s, &mut st, "d IDLE\r\n");
    assert_eq!(send(&mut s, &mut st, "NOOP\r\n"), "d BAD Expected DONE\r\n");
    // Outside IDLE, news waits for the next command.
    st.deliver("bob", MSG1, NOW).unwrap();
    s.handle_mailbox_changed(&mut st);
    assert_eq!(drain(&mut s), "");
}

#[test]
fn state_diagrams_are_consistent() {
    for (from, to, _) in TRANSITIONS {
        assert!(
            STATES.contains(from) && STATES.contains(to),
            "{from} -> {to}"
        );
    }
    for (from, to, _) in CLIENT_TRANSITIONS {
        assert!(
            CLIENT_STATES.contains(from) && CLIENT_STATES.contains(to),
            "{from} -> {to}"
        );
    }
}
