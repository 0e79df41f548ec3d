//! The IMAP parts of the scenario format: `FetchMail(..., protocol: Imap,
//! steps: [...])`, the users' folders and the `Flags` and `SawUpdate`
//! checks, and the errors (with line, column and a hint) instructors get
//! for mistakes.

use wiretale::scenario;

/// A small valid IMAP scenario; `patch` replaces one piece of text.
const BASE: &str = r#"Scenario(
    version: 1,
    title: "imap",
    hosts: [
        Host(name: "mail",
            role: MailServer(domains: ["hamburger.edu"], users: [
                User(name: "bob", password: "pw", folders: ["Archive", "Work/2026"]),
            ])),
        Host(name: "laptop",
            accounts: [Account(address: "bob@hamburger.edu", password: "pw", server: "mail")]),
        Host(name: "phone",
            accounts: [Account(address: "bob@hamburger.edu", password: "pw", server: "mail")]),
        Host(name: "r", role: Router),
    ],
    links: [Link(a: "mail", b: "r"), Link(a: "laptop", b: "r"), Link(a: "phone", b: "r")],
    actions: [
        Action(at: "1s", host: "laptop", do: SendMail(from: "bob@hamburger.edu", to: ["bob@hamburger.edu"], subject: "Note to self")),
        Action(at: "2s", host: "phone", do: FetchMail(account: "bob@hamburger.edu", protocol: Imap, steps: [
            Select("INBOX"), PeekAll, Idle("5s"),
        ])),
        Action(at: "3s", host: "laptop", do: FetchMail(account: "bob@hamburger.edu", protocol: Imap, steps: [
            Login,
            Select("INBOX"),
            SearchUnseen,
            ReadFound,
            Flag(subject: "Note", flag: "\\Flagged"),
            Create("Old"),
            Copy(subject: "Note", to: "Old"),
            Move(subject: "Note", to: "Archive"),
            Logout,
        ])),
    ],
    final: [
        Mailbox(host: "mail", user: "bob", folder: "Archive", subject: "Note", count: 1),
        Mailbox(host: "mail", user: "bob", folder: "Old", count: 1),
        Flags(host: "mail", user: "bob", folder: "Archive", subject: "Note", has: ["\\Seen", "\\Flagged"], lacks: ["\\Deleted"]),
        SawUpdate(host: "phone", kind: "flags", flag: "\\Seen", subject: "Note"),
        SawUpdate(host: "phone", kind: "expunge", count: 1),
        SawUpdate(host: "laptop", kind: "exists", count: 0),
    ],
)"#;

fn patched(from: &str, to: &str) -> String {
    assert!(BASE.contains(from), "{from}");
    BASE.replacen(from, to, 1)
}

/// The error text for the patched scenario; panics if it is valid.
fn error(from: &str, to: &str) -> String {
    match scenario::parse("imap.ron", &patched(from, to)) {
        Ok(_) => panic!("accepted with {to:?}"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn the_base_scenario_is_valid_and_meets_its_checks() {
    let s = scenario::parse("imap.ron", BASE).unwrap_or_else(|e| panic!("{e}"));
    let mut run = scenario::build(&s, 1).unwrap();
    run.run();
    let failures = scenario::check::evaluate(&s, &run);
    assert!(failures.is_empty(), "{failures:#?}");
}

#[test]
fn a_misspelt_step_is_a_parse_error_with_a_suggestion() {
    let e = error("PeekAll", "PeakAll");
    assert!(e.contains("unknown variant `PeakAll`"), "{e}");
    assert!(e.contains("did you mean `PeekAll`?"), "{e}");
    assert!(e.contains("imap.ron:19:"), "{e}");
}

#[test]
fn an_unknown_folder_gets_a_suggestion() {
    let e = error(r#"to: "Archive")"#, r#"to: "Archve")"#);
    assert!(
        e.contains("user `bob` of `mail` has no folder \"Archve\""),
        "{e}"
    );
    assert!(e.contains("did you mean `Archive`?"), "{e}");
    assert!(e.contains("imap.ron:29:"), "{e}");
    let e = error(r#"Select("INBOX"), PeekAll"#, r#"Select("Spam"), PeekAll"#);
    assert!(e.contains("no folder \"Spam\""), "{e}");
    assert!(e.contains("give the user `folders: [...]`"), "{e}");
}

#[test]
fn a_folder_created_by_a_step_is_known() {
    let text = patched(r#"to: "Archive")"#, r#"to: "Old")"#);
    scenario::parse("imap.ron", &text).unwrap_or_else(|e| panic!("{e}"));
}

#[test]
fn flags_are_checked() {
    let e = error(r#"flag: "\\Flagged""#, r#"flag: "\\Flaged""#);
    assert!(e.contains("unknown system flag \"\\\\Flaged\""), "{e}");
    assert!(e.contains("did you mean `\\Flagged`?"), "{e}");
    assert!(e.contains("imap.ron:26:"), "{e}");
    let e = error(r#"flag: "\\Flagged""#, r#"flag: "Flagged""#);
    assert!(
        e.contains("is a keyword, not the system flag \\Flagged"),
        "{e}"
    );
    let e = error(r#"flag: "\\Flagged""#, r#"flag: "\\Recent""#);
    assert!(e.contains("the server gives it"), "{e}");
    let e = error(r#"flag: "\\Flagged""#, r#"flag: "two words""#);
    assert!(e.contains("is not a flag"), "{e}");
    // A keyword of one's own is fine.
    let text = patched(r#"flag: "\\Flagged""#, r#"flag: "$Work""#);
    let text = text.replace(
        r#"has: ["\\Seen", "\\Flagged"]"#,
        r#"has: ["\\Seen", "$Work"]"#,
    );
    scenario::parse("imap.ron", &text).unwrap_or_else(|e| panic!("{e}"));
}

#[test]
fn steps_need_a_selected_folder_and_a_search() {
    let e = error(r#"Select("INBOX"), PeekAll"#, "PeekAll");
    assert!(
        e.contains("`PeekAll` works on the selected folder, but no `Select` comes before it"),
        "{e}"
    );
    assert!(e.contains("add `Select(\"INBOX\")` before it"), "{e}");
    assert!(e.contains("imap.ron:19:13"), "{e}");
    let e = error("SearchUnseen,", "");
    assert!(
        e.contains("`ReadFound` reads what the last search found"),
        "{e}"
    );
    assert!(e.contains("add `SearchUnseen` before it"), "{e}");
}

#[test]
fn login_first_and_logout_last() {
    let e = error("ReadFound,", "ReadFound, Login,");
    assert!(e.contains("`Login` can only be the first step"), "{e}");
    // The second `Login` of the action is underlined.
    assert!(e.contains("imap.ron:25:24"), "{e}");
    let e = error("ReadFound,", "ReadFound, Logout,");
    assert!(e.contains("`Logout` can only be the last step"), "{e}");
    assert!(e.contains("imap.ron:25:24"), "{e}");
}

#[test]
fn idle_needs_a_duration() {
    let e = error(r#"Idle("5s")"#, r#"Idle("0s")"#);
    assert!(
        e.contains("`Idle` needs a duration longer than zero"),
        "{e}"
    );
    let e = error(r#"Idle("5s")"#, r#"Idle("soon")"#);
    assert!(e.contains("is not a duration"), "{e}");
}

#[test]
fn steps_are_for_imap_only() {
    let e = error(
        "protocol: Imap, steps: [\n            Select(\"INBOX\"), PeekAll",
        "protocol: Pop3, steps: [\n            Select(\"INBOX\"), PeekAll",
    );
    assert!(e.contains("`steps` are for IMAP"), "{e}");
    assert!(e.contains("write `protocol: Imap`"), "{e}");
    assert!(e.contains("imap.ron:18:"), "{e}");
}

#[test]
fn user_folders_are_checked() {
    let e = error(
        r#"folders: ["Archive", "Work/2026"]"#,
        r#"folders: ["INBOX"]"#,
    );
    assert!(e.contains("has an INBOX already"), "{e}");
    let e = error(
        r#"folders: ["Archive", "Work/2026"]"#,
        r#"folders: ["Work//2026"]"#,
    );
    assert!(e.contains("\"Work//2026\" is not a folder name"), "{e}");
    let e = error(
        r#"folders: ["Archive", "Work/2026"]"#,
        r#"folders: ["Archive", "Archive"]"#,
    );
    assert!(e.contains("has the folder \"Archive\" twice"), "{e}");
}

#[test]
fn the_flags_check_is_checked() {
    let e = error(
        r#"Flags(host: "mail", user: "bob","#,
        r#"Flags(host: "mail","#,
    );
    assert!(e.contains("needs the mailbox's `user`"), "{e}");
    let e = error(
        r#"Flags(host: "mail", user: "bob","#,
        r#"Flags(host: "phone", user: "bob","#,
    );
    assert!(e.contains("`user` is for mail servers"), "{e}");
    let e = error(
        r#"Flags(host: "mail", user: "bob","#,
        r#"Flags(host: "r", user: "bob","#,
    );
    assert!(
        e.contains("`Flags` needs a MailServer or a host with `accounts`"),
        "{e}"
    );
    let e = error(
        r#"Flags(host: "mail", user: "bob","#,
        r#"Flags(host: "mail", user: "rob","#,
    );
    assert!(e.contains("mail server `mail` has no user `rob`"), "{e}");
    let e = error(r#"lacks: ["\\Deleted"]"#, r#"lacks: ["\\Delted"]"#);
    assert!(e.contains("did you mean `\\Deleted`?"), "{e}");
    let e = error(r#"has: ["\\Seen", "\\Flagged"], lacks: ["\\Deleted"]"#, "");
    assert!(e.contains("`Flags` needs `has` or `lacks`"), "{e}");
    let e = error(
        r#"folder: "Archive", subject: "Note", has"#,
        r#"folder: "Archiv", subject: "Note", has"#,
    );
    assert!(e.contains("did you mean `Archive`?"), "{e}");
}

#[test]
fn the_saw_update_check_is_checked() {
    let e = error(r#"kind: "expunge""#, r#"kind: "expunged""#);
    assert!(e.contains("unknown kind of update \"expunged\""), "{e}");
    assert!(e.contains("did you mean `expunge`?"), "{e}");
    let e = error(r#"kind: "flags", flag"#, r#"kind: "exists", flag"#);
    assert!(
        e.contains("`flag` only applies to updates of `kind: \"flags\"`"),
        "{e}"
    );
    let e = error(r#"SawUpdate(host: "phone""#, r#"SawUpdate(host: "mail""#);
    assert!(
        e.contains("`SawUpdate` needs a user agent on `mail`"),
        "{e}"
    );
}

#[test]
fn failed_final_checks_say_what_was_found() {
    let text = patched(r#"has: ["\\Seen", "\\Flagged"]"#, r#"has: ["\\Answered"]"#).replace(
        r#"kind: "expunge", count: 1"#,
        r#"kind: "expunge", count: 3"#,
    );
    let s = scenario::parse("imap.ron", &text).unwrap_or_else(|e| panic!("{e}"));
    let mut run = scenario::build(&s, 1).unwrap();
    run.run();
    let failures: Vec<String> = scenario::check::evaluate(&s, &run)
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(failures.len(), 2, "{failures:#?}");
    assert!(
        failures[0].contains("\"Note to self\" has \\Seen \\Flagged"),
        "{failures:#?}"
    );
    assert!(
        failures[1].contains("expected 3 matching update(s), found 1; the device saw flags 1"),
        "{failures:#?}"
    );
}
