//! Script-style tests of the IMAP server and client: real command bytes
//! in, exact replies out.

use super::*;
use crate::proto::Session;
use proptest::prelude::*;

/// 02-Mar-2026 14:05:09 +0000
const NOW: i64 = 1_772_460_309;

const MSG1: &[u8] = b"From: Alice <alice@crepes.fr>\r\n\
To: bob@example.org\r\n\
Subject: Hello\r\n\
Date: Mon, 02 Mar 2026 14:05:09 +0000\r\n\
Message-ID: <1@crepes.fr>\r\n\
\r\n\
Hi Bob,\r\n\
lunch?\r\n";

const MSG2: &[u8] = b"From: carol@example.org\r\n\
To: bob@example.org\r\n\
Subject: Report\r\n\
Date: Sun, 01 Mar 2026 09:00:00 +0000\r\n\
\r\n\
Quarterly numbers attached.\r\n";

/// A store with bob's INBOX holding MSG1 (UID 1) and MSG2 (UID 2).
fn store() -> MemoryMailStore {
    let mut s = MemoryMailStore::new();
    s.add_user("bob", "hunter2");
    s.deliver("bob", MSG1, NOW - 3600).unwrap();
    s.deliver("bob", MSG2, NOW - 7200).unwrap();
    s
}

fn drain(s: &mut ImapServer) -> String {
    let mut v = Vec::new();
    while let Some(b) = s.poll_output() {
        v.extend(b);
    }
    String::from_utf8_lossy(&v).into_owned()
}

/// A server past the greeting.
fn server() -> ImapServer {
    let mut s = ImapServer::new(ImapConfig::default());
    drain(&mut s);
    s
}

/// Sends one chunk and returns everything the server answered.
fn send(s: &mut ImapServer, st: &mut MemoryMailStore, data: &str) -> String {
    s.handle_input(data.as_bytes(), st, NOW);
    drain(s)
}

/// A server logged in as bob with INBOX selected.
fn selected(st: &mut MemoryMailStore) -> ImapServer {
    let mut s = server();
    send(&mut s, st, "a LOGIN bob hunter2\r\n");
    send(&mut s, st, "b SELECT INBOX\r\n");
    s
}

const CAPS: &str = "IMAP4REV1 LITERAL+ IDLE MOVE UNSELECT CHILDREN UIDPLUS NAMESPACE ID ENABLE \
SPECIAL-USE AUTH=PLAIN SASL-IR";

#[test]
fn greeting_capability_login_logout() {
    let mut st = store();
    let mut s = ImapServer::new(ImapConfig::default());
    assert_eq!(s.state_name(), "NotAuthenticated");
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
    assert_eq!(s.state_name(), "Authenticated");
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
    assert_eq!(s.state_name(), "Logout");
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
    assert_eq!(s.state_name(), "Logout");
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
    assert_eq!(s.state_name(), "Selected");
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
    assert_eq!(s.state_name(), "Authenticated");
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
    assert_eq!(s.state_name(), "Authenticated");
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
    assert_eq!(s.state_name(), "NotAuthenticated");
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
    assert_eq!(s.state_name(), "Authenticated");
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
    assert_eq!(s.state_name(), "Selected");
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
    assert_eq!(s.state_name(), "Authenticating");
    assert_eq!(
        send(&mut s, &mut st, &format!("{creds}\r\n")),
        format!("a OK [CAPABILITY {CAPS}] Logged in\r\n")
    );
    assert_eq!(s.state_name(), "Authenticated");
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
    assert_eq!(s.state_name(), "Idling");
    // A delivery while idling: the driver tells the session.
    st.deliver("bob", MSG1, NOW).unwrap();
    s.handle_mailbox_changed(&mut st);
    assert_eq!(drain(&mut s), "* 3 EXISTS\r\n* 3 RECENT\r\n");
    assert_eq!(
        send(&mut s, &mut st, "done\r\n"),
        "c OK IDLE terminated\r\n"
    );
    assert_eq!(s.state_name(), "Selected");
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

// ----- two devices on one mailbox --------------------------------------------

#[test]
fn second_session_sees_flags_and_expunge_on_next_command() {
    let mut st = store();
    let mut laptop = selected(&mut st);
    let mut phone = selected(&mut st);
    // The laptop reads message 1 and deletes message 2.
    send(&mut laptop, &mut st, "c FETCH 1 BODY[TEXT]\r\n");
    assert_eq!(
        send(&mut laptop, &mut st, "d STORE 2 +FLAGS (\\Deleted)\r\n"),
        "* 2 FETCH (FLAGS (\\Deleted \\Recent))\r\nd OK STORE completed\r\n"
    );
    // The phone's next command brings the news. The phone holds no
    // \Recent: the laptop selected first.
    assert_eq!(
        send(&mut phone, &mut st, "c NOOP\r\n"),
        "* 1 FETCH (UID 1 FLAGS (\\Seen))\r\n* 2 FETCH (UID 2 FLAGS (\\Deleted))\r\nc OK NOOP completed\r\n"
    );
    assert_eq!(
        send(&mut laptop, &mut st, "e EXPUNGE\r\n"),
        "* 2 EXPUNGE\r\ne OK EXPUNGE completed\r\n"
    );
    // RFC 3501 §7.4.1: not during FETCH/STORE/SEARCH ...
    assert_eq!(
        send(&mut phone, &mut st, "d FETCH 1:2 FLAGS\r\n"),
        "* 1 FETCH (FLAGS (\\Seen))\r\nd NO [EXPUNGEISSUED] Some messages were expunged\r\n"
    );
    assert_eq!(
        send(&mut phone, &mut st, "e SEARCH ALL\r\n"),
        "* SEARCH 1 2\r\ne OK SEARCH completed\r\n"
    );
    // ... but with the next NOOP.
    assert_eq!(
        send(&mut phone, &mut st, "f NOOP\r\n"),
        "* 2 EXPUNGE\r\nf OK NOOP completed\r\n"
    );
    // New mail: both see EXISTS; only the first to look gets \Recent.
    st.deliver("bob", MSG2, NOW).unwrap();
    assert_eq!(
        send(&mut phone, &mut st, "g NOOP\r\n"),
        "* 2 EXISTS\r\n* 1 RECENT\r\ng OK NOOP completed\r\n"
    );
    assert_eq!(
        send(&mut laptop, &mut st, "f UID FETCH 3 FLAGS\r\n"),
        "* 2 EXISTS\r\n* 1 RECENT\r\n* 2 FETCH (UID 3 FLAGS ())\r\nf OK UID FETCH completed\r\n"
    );
}

#[test]
fn idling_session_sees_other_sessions_changes() {
    let mut st = store();
    let mut laptop = selected(&mut st);
    let mut phone = selected(&mut st);
    assert_eq!(send(&mut phone, &mut st, "c IDLE\r\n"), "+ idling\r\n");
    send(&mut laptop, &mut st, "c STORE 1 +FLAGS (\\Seen)\r\n");
    phone.handle_mailbox_changed(&mut st);
    assert_eq!(drain(&mut phone), "* 1 FETCH (UID 1 FLAGS (\\Seen))\r\n");
    send(&mut laptop, &mut st, "d STORE 1 +FLAGS (\\Deleted)\r\n");
    send(&mut laptop, &mut st, "e EXPUNGE\r\n");
    phone.handle_mailbox_changed(&mut st);
    assert_eq!(drain(&mut phone), "* 1 EXPUNGE\r\n");
    assert_eq!(
        send(&mut phone, &mut st, "DONE\r\n"),
        "c OK IDLE terminated\r\n"
    );
}

#[test]
fn deleting_a_folder_another_session_has_selected() {
    let mut st = store();
    let mut a = server();
    send(&mut a, &mut st, "a LOGIN bob hunter2\r\n");
    send(&mut a, &mut st, "b CREATE Tmp\r\n");
    send(&mut a, &mut st, "c SELECT Tmp\r\n");
    let mut b = server();
    send(&mut b, &mut st, "a LOGIN bob hunter2\r\n");
    assert_eq!(
        send(&mut b, &mut st, "b DELETE Tmp\r\n"),
        "b OK DELETE completed\r\n"
    );
    assert_eq!(
        send(&mut a, &mut st, "d NOOP\r\n"),
        "* BYE Selected mailbox was deleted or renamed\r\nd OK NOOP completed\r\n"
    );
    assert!(a.wants_close());
}

// ----- the client -------------------------------------------------------------

/// Moves bytes between a client and a server until both are quiet.
fn pump(client: &mut ImapClient, server: &mut ImapServer, st: &mut MemoryMailStore) {
    loop {
        let mut moved = false;
        while let Some(b) = server.poll_output() {
            client.handle_input(&b);
            moved = true;
        }
        while let Some(b) = client.poll_output() {
            server.handle_input(&b, st, NOW);
            moved = true;
        }
        if !moved {
            break;
        }
    }
}

fn login() -> ImapStep {
    ImapStep::Login {
        user: "bob".into(),
        password: "hunter2".into(),
    }
}

#[test]
fn client_reads_new_mail_and_files_it() {
    let mut st = store();
    st.create_folder("bob", "Archive").unwrap();
    let mut server = ImapServer::new(ImapConfig::default());
    let mut client = ImapClient::new(vec![
        login(),
        ImapStep::Select(INBOX.into()),
        ImapStep::SearchUnseen,
        ImapStep::Fetch {
            which: Which::LastSearch,
            peek: true,
        },
        ImapStep::Store {
            which: Which::Uids(vec![1]),
            op: StoreOp::Add,
            flags: vec![Flag::Seen, Flag::Flagged],
        },
        ImapStep::Move {
            which: Which::Uids(vec![2]),
            to: "Archive".into(),
        },
        ImapStep::Append {
            folder: "Archive".into(),
            flags: vec![Flag::Seen],
            message: b"Subject: sent\r\n\r\nok\r\n".to_vec(),
        },
        ImapStep::Logout,
    ]);
    pump(&mut client, &mut server, &mut st);
    assert!(client.is_finished());
    assert!(client.wants_close() && server.wants_close());
    let statuses: Vec<_> = client
        .outcomes()
        .iter()
        .map(|o| (o.step, o.status))
        .collect();
    assert_eq!(
        statuses,
        vec![
            ("LOGIN", StepStatus::Ok),
            ("SELECT", StepStatus::Ok),
            ("SEARCH UNSEEN", StepStatus::Ok),
            ("FETCH", StepStatus::Ok),
            ("STORE", StepStatus::Ok),
            ("MOVE", StepStatus::Ok),
            ("APPEND", StepStatus::Ok),
            ("LOGOUT", StepStatus::Ok),
        ]
    );
    assert_eq!(client.search_results(), &[1, 2]);
    let m1 = client.message(INBOX, 1).unwrap();
    assert_eq!(m1.body.as_deref(), Some(MSG1));
    assert_eq!(m1.size, Some(MSG1.len() as u32));
    assert!(m1.flags.contains(&Flag::Seen) && m1.flags.contains(&Flag::Flagged));
    // MOVE's EXPUNGE named UID 2.
    assert_eq!(
        client.updates(),
        &[ImapUpdate::Expunge {
            seq: 2,
            uid: Some(2)
        }]
    );
    assert_eq!(client.mailbox_uids(), &[1]);
    assert_eq!(st.messages("bob", "Archive").unwrap().len(), 2);
    assert_eq!(st.messages("bob", INBOX).unwrap().len(), 1);
}

#[test]
fn client_finds_messages_by_subject() {
    let mut st = store();
    let mut server = ImapServer::new(ImapConfig::default());
    let mut client = ImapClient::new(vec![
        login(),
        ImapStep::Select(INBOX.into()),
        ImapStep::SearchSubject("nothing like this".into()),
        ImapStep::Fetch {
            which: Which::LastSearch,
            peek: true,
        },
        ImapStep::SearchSubject(subject_of(MSG2)),
        ImapStep::Logout,
    ]);
    pump(&mut client, &mut server, &mut st);
    let outcomes: Vec<_> = client
        .outcomes()
        .iter()
        .map(|o| (o.step, o.status))
        .collect();
    assert_eq!(
        outcomes[2..5],
        [
            ("SEARCH SUBJECT", StepStatus::Ok),
            // Nothing found: nothing to fetch.
            ("FETCH", StepStatus::Skipped),
            ("SEARCH SUBJECT", StepStatus::Ok),
        ]
    );
    assert_eq!(client.search_results(), &[2]);
}

/// The Subject of a test message.
fn subject_of(message: &[u8]) -> String {
    let text = String::from_utf8_lossy(message);
    text.lines()
        .find_map(|l| l.strip_prefix("Subject: "))
        .unwrap_or_default()
        .to_string()
}

#[test]
fn client_login_failure_skips_to_logout() {
    let mut st = store();
    let mut server = ImapServer::new(ImapConfig::default());
    let mut client = ImapClient::new(vec![
        ImapStep::Login {
            user: "bob".into(),
            password: "wrong".into(),
        },
        ImapStep::Select(INBOX.into()),
        ImapStep::Logout,
    ]);
    pump(&mut client, &mut server, &mut st);
    let statuses: Vec<_> = client
        .outcomes()
        .iter()
        .map(|o| (o.step, o.status))
        .collect();
    assert_eq!(
        statuses,
        vec![
            ("LOGIN", StepStatus::No),
            ("SELECT", StepStatus::Skipped),
            ("LOGOUT", StepStatus::Ok),
        ]
    );
}

#[test]
fn phone_idles_and_sees_the_laptop_at_work() {
    let mut st = store();
    let mut phone_server = ImapServer::new(ImapConfig::default());
    let mut phone = ImapClient::new(vec![
        login(),
        ImapStep::Select(INBOX.into()),
        ImapStep::Idle,
        ImapStep::Logout,
    ]);
    pump(&mut phone, &mut phone_server, &mut st);
    assert!(phone.is_idling());
    assert_eq!(phone.state_name(), "Idling");
    assert_eq!(phone.mailbox_uids(), &[1, 2]);

    let mut laptop_server = ImapServer::new(ImapConfig::default());
    let mut laptop = ImapClient::new(vec![
        login(),
        ImapStep::Select(INBOX.into()),
        ImapStep::Fetch {
            which: Which::Uids(vec![1]),
            peek: false,
        },
        ImapStep::Store {
            which: Which::Uids(vec![2]),
            op: StoreOp::Add,
            flags: vec![Flag::Deleted],
        },
        ImapStep::Expunge,
        ImapStep::Logout,
    ]);
    pump(&mut laptop, &mut laptop_server, &mut st);
    assert!(laptop.is_finished());
    // BODY[] set \Seen on the laptop's copy of the news.
    assert!(
        laptop
            .message(INBOX, 1)
            .unwrap()
            .flags
            .contains(&Flag::Seen)
    );

    // The store changed: the driver wakes the idling session.
    phone_server.handle_mailbox_changed(&mut st);
    pump(&mut phone, &mut phone_server, &mut st);
    let seen: FlagSet = [Flag::Seen].into_iter().collect();
    assert_eq!(
        phone.updates(),
        &[
            ImapUpdate::Expunge {
                seq: 2,
                uid: Some(2)
            },
            ImapUpdate::Flags {
                seq: 1,
                uid: Some(1),
                flags: seen
            },
        ]
    );
    phone.stop_idle();
    pump(&mut phone, &mut phone_server, &mut st);
    assert!(phone.is_finished());
    assert_eq!(
        phone.outcomes().last().map(|o| o.status),
        Some(StepStatus::Ok)
    );
    let mut events = Vec::new();
    while let Some(e) = phone.poll_event() {
        events.push(e);
    }
    assert!(events.contains(&ClientEvent::IdleStarted));
    assert_eq!(events.last(), Some(&ClientEvent::Finished));
}

#[test]
fn client_waits_for_continuation_before_literal() {
    let mut st = store();
    let mut server = ImapServer::new(ImapConfig::default());
    let mut client = ImapClient::new(vec![
        login(),
        ImapStep::Append {
            folder: INBOX.into(),
            flags: vec![],
            message: b"Subject: x\r\n\r\ny\r\n".to_vec(),
        },
    ]);
    // Greeting, then LOGIN.
    while let Some(b) = server.poll_output() {
        client.handle_input(&b);
    }
    let login = client.poll_output().unwrap();
    server.handle_input(&login, &mut st, NOW);
    while let Some(b) = server.poll_output() {
        client.handle_input(&b);
    }
    // The APPEND line goes alone; the literal waits for "+".
    let line = client.poll_output().unwrap();
    assert_eq!(line, b"A002 APPEND INBOX {17}\r\n");
    assert_eq!(client.poll_output(), None);
    server.handle_input(&line, &mut st, NOW);
    pump(&mut client, &mut server, &mut st);
    assert_eq!(client.outcomes()[1].status, StepStatus::Ok);
    assert_eq!(st.messages("bob", INBOX).unwrap().len(), 3);
}

// ----- robustness -------------------------------------------------------------

/// Commands a client might plausibly send, good and bad.
fn plausible_command() -> impl Strategy<Value = String> {
    let words = prop::sample::select(vec![
        "LOGIN bob hunter2",
        "LOGIN bob wrong",
        "SELECT INBOX",
        "EXAMINE INBOX",
        "SELECT Archive",
        "CREATE Archive",
        "DELETE Archive",
        "RENAME Archive Old",
        "RENAME INBOX Saved",
        "LIST \"\" *",
        "LSUB \"\" %",
        "STATUS INBOX (MESSAGES UNSEEN)",
        "SUBSCRIBE Archive",
        "APPEND INBOX {5+}\r\nhello",
        "APPEND INBOX (\\Seen) {4}\r\nabcd",
        "FETCH 1:* (FLAGS BODY.PEEK[HEADER] ENVELOPE BODYSTRUCTURE)",
        "FETCH 1 BODY[]",
        "FETCH 3 RFC822",
        "UID FETCH 1:* (UID FLAGS)",
        "STORE 1 +FLAGS (\\Deleted)",
        "STORE 1:* -FLAGS.SILENT (\\Seen)",
        "UID STORE 2 FLAGS (\\Flagged)",
        "SEARCH UNSEEN",
        "SEARCH OR FROM alice NOT SEEN",
        "UID SEARCH ALL",
        "COPY 1 Archive",
        "MOVE 1 Archive",
        "EXPUNGE",
        "UID EXPUNGE 1:*",
        "UID EXPUNGE 2,4:5",
        "UID EXPUNGE",
        "UID COPY 1:* Archive",
        "UID MOVE 2 Archive",
        "APPEND Archive {3+}\r\nabc",
        "ID NIL",
        "ID (\"name\" \"x\" \"os\" NIL)",
        "ID (\"name\" {2+}\r\nab)",
        "ID (",
        "NAMESPACE",
        "ENABLE CONDSTORE",
        "CLOSE",
        "UNSELECT",
        "IDLE",
        "DONE",
        "NOOP",
        "CHECK",
        "AUTHENTICATE PLAIN",
        "AGJvYgBodW50ZXIy",
        "*",
        "LOGOUT",
        "FETCH",
        "{3}",
    ]);
    (words, 0u8..3).prop_map(|(w, t)| match t {
        0 => format!("t {w}\r\n"),
        1 => format!("{w}\r\n"),
        _ => format!("x{w}\n"),
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn arbitrary_bytes_never_panic(chunks in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..200), 0..10)) {
        let mut st = store();
        let mut s = ImapServer::new(ImapConfig { max_line: 300, max_literal: 300, ..ImapConfig::default() });
        for chunk in &chunks {
            s.handle_input(chunk, &mut st, NOW);
            while s.poll_output().is_some() {}
            while s.poll_transcript().is_some() {}
        }
        prop_assert!(super::STATES.contains(&s.state_name()));
    }

    #[test]
    fn client_survives_arbitrary_server_bytes(chunks in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..200), 0..10)) {
        let mut client = ImapClient::new(vec![login(), ImapStep::Select(INBOX.into()), ImapStep::Idle, ImapStep::Logout]);
        client.handle_input(b"* OK ready\r\n");
        for chunk in &chunks {
            client.handle_input(chunk);
            client.stop_idle();
            while client.poll_output().is_some() {}
        }
        prop_assert!(super::CLIENT_STATES.contains(&client.state_name()));
    }

    #[test]
    fn client_survives_plausible_server_lines(lines in prop::collection::vec(prop::sample::select(vec![
        "* OK ready\r\n", "* BYE bye\r\n", "+ go\r\n", "+ \r\n",
        "A001 OK done\r\n", "A002 OK [READ-WRITE] ok\r\n", "A003 NO nope\r\n", "A004 BAD what\r\n",
        "A005 OK x\r\n", "A006 OK x\r\n", "* 3 EXISTS\r\n", "* 4000000000 EXISTS\r\n",
        "* 1 EXPUNGE\r\n", "* 4294967295 EXPUNGE\r\n", "* 2 RECENT\r\n", "* SEARCH 1 2 3\r\n",
        "* 4294967295 FETCH (UID 7 FLAGS (\\Seen))\r\n", "* 1 FETCH (FLAGS (\\Deleted \\Recent))\r\n",
        "* 1 FETCH (UID 1 RFC822.SIZE 5 BODY[] {5}\r\nhello)\r\n", "* LIST () \"/\" INBOX\r\n",
        "* CAPABILITY IMAP4rev1 IDLE\r\n", "garbage\r\n", "* 1 FETCH (BODY[] {99999999999}\r\n",
    ]), 0..40)) {
        let mut client = ImapClient::new(vec![
            login(), ImapStep::Select(INBOX.into()), ImapStep::SearchAll,
            ImapStep::Fetch { which: Which::LastSearch, peek: true },
            ImapStep::Idle, ImapStep::Move { which: Which::All, to: "X".into() }, ImapStep::Logout,
        ]);
        for line in &lines {
            client.handle_input(line.as_bytes());
            client.stop_idle();
            while client.poll_output().is_some() {}
            while client.poll_transcript().is_some() {}
        }
        prop_assert!(super::CLIENT_STATES.contains(&client.state_name()));
        prop_assert!(client.exists() as usize <= 1_000_000);
    }

    #[test]
    fn plausible_sessions_answer_or_close(cmds in prop::collection::vec(plausible_command(), 1..25), split in 1usize..40) {
        let mut st = store();
        let mut a = ImapServer::new(ImapConfig::default());
        let mut b = ImapServer::new(ImapConfig::default());
        send(&mut b, &mut st, "a LOGIN bob hunter2\r\nb SELECT INBOX\r\nc IDLE\r\n");
        drain(&mut a);
        for cmd in &cmds {
            // Split each command at an arbitrary point.
            let bytes = cmd.as_bytes();
            let cut = split.min(bytes.len());
            a.handle_input(&bytes[..cut], &mut st, NOW);
            a.handle_input(&bytes[cut..], &mut st, NOW);
            let answer = drain(&mut a);
            prop_assert!(
                !answer.is_empty()
                    || a.wants_close()
                    || a.is_idling()
                    || a.is_mid_command()
                    || a.state_name() == "Authenticating",
                "no answer to {:?} in state {}", cmd, a.state_name()
            );
            // The other device, idling, hears about it without panicking.
            b.handle_mailbox_changed(&mut st);
            drain(&mut b);
            prop_assert!(super::STATES.contains(&a.state_name()));
        }
    }
}
