//! Two devices on one mailbox: what one session changes, the other is
//! told on its next command or at once while idling (RFC 3501 §7.4.1, RFC
//! 2177), and a deleted folder ends the session that had it selected.

use super::*;

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
