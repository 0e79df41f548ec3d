//! The mail parts of the scenario format: what instructors write, and the
//! errors (with line, column and a hint) they get for mistakes.

use wiretale::scenario;

/// A small valid mail scenario; `patch` replaces one piece of text.
const BASE: &str = r#"Scenario(
    version: 1,
    title: "mail",
    hosts: [
        Host(name: "alice-pc",
            accounts: [Account(address: "alice@crepes.fr", password: "pw", server: "alice-mail")]),
        Host(name: "alice-mail",
            role: MailServer(domains: ["crepes.fr"], users: [User(name: "alice", password: "pw")])),
        Host(name: "dns", role: DnsServer(records: [Mx("hamburger.edu", 10, "bob-mail")])),
        Host(name: "bob-mail",
            role: MailServer(domains: ["hamburger.edu"], users: [User(name: "bob", password: "pw")])),
        Host(name: "r", role: Router),
    ],
    links: [
        Link(a: "alice-pc", b: "r"), Link(a: "alice-mail", b: "r"),
        Link(a: "dns", b: "r"), Link(a: "bob-mail", b: "r"),
    ],
    actions: [
        Action(at: "1s", host: "alice-pc", do: SendMail(from: "alice@crepes.fr", to: ["bob@hamburger.edu"], subject: "Hi")),
        Action(at: "5s", host: "alice-pc", do: FetchMail(account: "alice@crepes.fr", protocol: Pop3, delete: true)),
    ],
    final: [
        Mailbox(host: "bob-mail", user: "bob", subject: "Hi", count: 1),
        QueueEmpty(host: "alice-mail"),
        Fetched(host: "alice-pc", count: 0),
        Bounced(host: "alice-mail", user: "alice"),
    ],
)"#;

fn patched(from: &str, to: &str) -> String {
    assert!(BASE.contains(from), "{from}");
    BASE.replacen(from, to, 1)
}

/// The error text for the patched scenario; panics if it is valid.
fn error(from: &str, to: &str) -> String {
    match scenario::parse("mail.ron", &patched(from, to)) {
        Ok(_) => panic!("accepted with {to:?}"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn the_base_scenario_is_valid_and_builds() {
    let s = scenario::parse("mail.ron", BASE).unwrap_or_else(|e| panic!("{e}"));
    let mut run = scenario::build(&s, 1).unwrap();
    run.run();
    let failures = scenario::check::evaluate(&s, &run);
    // Everything but the bounce check holds (there is no bounce).
    assert_eq!(failures.len(), 1, "{failures:#?}");
    assert!(failures[0].to_string().contains("holds no bounce"));
}

#[test]
fn unknown_mail_server_of_an_account() {
    let e = error(r#"server: "alice-mail")"#, r#"server: "alice-mial")"#);
    assert!(
        e.contains("an account names an unknown host `alice-mial`"),
        "{e}"
    );
    assert!(e.contains("did you mean `alice-mail`?"), "{e}");
    assert!(e.contains("mail.ron:6:"), "{e}");
}

#[test]
fn account_on_a_host_that_is_no_mail_server() {
    let e = error(r#"server: "alice-mail")"#, r#"server: "dns")"#);
    assert!(
        e.contains("an account needs a MailServer, but `dns` is a DnsServer"),
        "{e}"
    );
    assert!(e.contains("mail servers: alice-mail, bob-mail"), "{e}");
}

#[test]
fn account_for_a_user_the_server_lacks() {
    let e = error(
        r#"Account(address: "alice@crepes.fr""#,
        r#"Account(address: "alyce@crepes.fr""#,
    );
    assert!(
        e.contains("mail server `alice-mail` has no user `alyce`"),
        "{e}"
    );
    assert!(e.contains("did you mean `alice`?"), "{e}");
}

#[test]
fn account_in_a_domain_the_server_does_not_hold() {
    let e = error(
        r#"Account(address: "alice@crepes.fr""#,
        r#"Account(address: "alice@crepes.com""#,
    );
    assert!(
        e.contains("`alice-mail` holds mail for crepes.fr, not for crepes.com"),
        "{e}"
    );
}

#[test]
fn mx_to_an_unknown_host() {
    let e = error(
        r#"Mx("hamburger.edu", 10, "bob-mail")"#,
        r#"Mx("hamburger.edu", 10, "bob-mial")"#,
    );
    assert!(
        e.contains("MX for \"hamburger.edu\" points to unknown host `bob-mial`"),
        "{e}"
    );
    assert!(e.contains("did you mean `bob-mail`?"), "{e}");
    assert!(e.contains("mail.ron:9:"), "{e}");
}

#[test]
fn mx_to_a_name_with_an_a_record_is_fine() {
    let text = patched(
        r#"Mx("hamburger.edu", 10, "bob-mail")"#,
        r#"Mx("hamburger.edu", 10, "mx.hamburger.edu"), A("mx.hamburger.edu", "bob-mail")"#,
    );
    let s = scenario::parse("mail.ron", &text).unwrap_or_else(|e| panic!("{e}"));
    let mut run = scenario::build(&s, 1).unwrap();
    run.run();
    let t = run.world.trace();
    assert!(
        t.records
            .iter()
            .any(|r| t.to_text(r).contains("answer MX 10 mx.hamburger.edu"))
    );
    assert!(
        t.records
            .iter()
            .any(|r| t.to_text(r).contains("bob-mail  SMTP  stored"))
    );
}

#[test]
fn a_record_to_nothing() {
    let e = error(
        r#"Mx("hamburger.edu", 10, "bob-mail")"#,
        r#"Mx("hamburger.edu", 10, "bob-mail"), A("www.hamburger.edu", "bob-mall")"#,
    );
    assert!(
        e.contains("\"bob-mall\" is neither an address nor a host"),
        "{e}"
    );
    assert!(e.contains("did you mean `bob-mail`?"), "{e}");
}

#[test]
fn mx_to_a_host_without_mail_server() {
    let e = error(
        r#"Mx("hamburger.edu", 10, "bob-mail")"#,
        r#"Mx("hamburger.edu", 10, "alice-pc")"#,
    );
    assert!(
        e.contains("which is a Client and runs no mail server"),
        "{e}"
    );
}

#[test]
fn send_mail_from_an_address_the_host_has_no_account_for() {
    let e = error(
        r#"SendMail(from: "alice@crepes.fr""#,
        r#"SendMail(from: "alice@crepes.com""#,
    );
    assert!(
        e.contains("SendMail: host `alice-pc` has no account \"alice@crepes.com\""),
        "{e}"
    );
    assert!(e.contains("did you mean `alice@crepes.fr`?"), "{e}");
    assert!(e.contains("mail.ron:19:63"), "{e}");
}

#[test]
fn send_mail_to_something_that_is_no_address() {
    let e = error(
        r#"to: ["bob@hamburger.edu"]"#,
        r#"to: ["bob at hamburger.edu"]"#,
    );
    assert!(
        e.contains("\"bob at hamburger.edu\" is not an e-mail address"),
        "{e}"
    );
    let e = error(r#"to: ["bob@hamburger.edu"]"#, r#"to: []"#);
    assert!(e.contains("SendMail needs at least one recipient"), "{e}");
}

#[test]
fn fetch_mail_for_an_account_the_host_lacks() {
    let e = error(
        r#"FetchMail(account: "alice@crepes.fr""#,
        r#"FetchMail(account: "bob@hamburger.edu""#,
    );
    assert!(
        e.contains("FetchMail: host `alice-pc` has no account \"bob@hamburger.edu\""),
        "{e}"
    );
    assert!(e.contains("its accounts: alice@crepes.fr"), "{e}");
}

#[test]
fn imap_without_steps_reads_the_unseen_mail() {
    // The IMAP steps are checked in tests/mail_imap_validation.rs.
    let text = patched("protocol: Pop3", "protocol: Imap");
    scenario::parse("mail.ron", &text).unwrap_or_else(|e| panic!("{e}"));
}

#[test]
fn relaying_needs_a_dns_server() {
    let text = patched(
        r#"Host(name: "dns", role: DnsServer(records: [Mx("hamburger.edu", 10, "bob-mail")])),"#,
        r#"Host(name: "dns"),"#,
    );
    let e = scenario::parse("mail.ron", &text).unwrap_err().to_string();
    assert!(
        e.contains("must be relayed, but `alice-mail` has no DnsServer to find hamburger.edu's mail exchanger"),
        "{e}"
    );
}

#[test]
fn two_dns_servers_need_a_choice() {
    let text = patched(
        r#"Host(name: "r", role: Router),"#,
        r#"Host(name: "r", role: Router), Host(name: "dns2", role: DnsServer()),"#,
    )
    .replacen(
        "links: [",
        "links: [\n        Link(a: \"dns2\", b: \"r\"),",
        1,
    );
    let e = scenario::parse("mail.ron", &text).unwrap_err().to_string();
    assert!(
        e.contains("cannot tell which of the 2 DnsServer hosts to ask"),
        "{e}"
    );
    let text = text.replacen(
        r#"role: MailServer(domains: ["crepes.fr"],"#,
        r#"role: MailServer(dns: "dns", domains: ["crepes.fr"],"#,
        1,
    );
    let text = text.replacen(
        r#"role: MailServer(domains: ["hamburger.edu"],"#,
        r#"role: MailServer(dns: "dns2", domains: ["hamburger.edu"],"#,
        1,
    );
    scenario::parse("mail.ron", &text).unwrap_or_else(|e| panic!("{e}"));
}

#[test]
fn final_checks_name_mail_servers_and_users() {
    let e = error(
        r#"Mailbox(host: "bob-mail", user: "bob""#,
        r#"Mailbox(host: "bob-mail", user: "rob""#,
    );
    assert!(
        e.contains("mail server `bob-mail` has no user `rob`"),
        "{e}"
    );
    let e = error(
        r#"QueueEmpty(host: "alice-mail")"#,
        r#"QueueEmpty(host: "alice-pc")"#,
    );
    assert!(
        e.contains("a final check needs a MailServer, but `alice-pc` is a Client"),
        "{e}"
    );
    let e = error(r#"Fetched(host: "alice-pc""#, r#"Fetched(host: "dns""#);
    assert!(e.contains("`Fetched` needs a user agent on `dns`"), "{e}");
}

#[test]
fn typos_in_mail_fields_are_errors_not_ignored() {
    let e = error("subject: \"Hi\", count: 1", "subjet: \"Hi\", count: 1");
    assert!(e.contains("unknown field `subjet`"), "{e}");
    assert!(e.contains("did you mean `subject`?"), "{e}");
    let e = error("users: [User(name: \"bob\"", "user: [User(name: \"bob\"");
    assert!(e.contains("unknown field `user`"), "{e}");
    let e = error("delete: true", "delet: true");
    assert!(e.contains("unknown field `delet`"), "{e}");
}

#[test]
fn mail_server_options() {
    let e = error(
        r#"users: [User(name: "bob", password: "pw")])"#,
        r#"users: [User(name: "bob", password: "pw"), User(name: "Bob", password: "x")], retry: "0s")"#,
    );
    assert!(
        e.contains("mail server `bob-mail` has two users called `Bob`"),
        "{e}"
    );
    assert!(e.contains("`retry` must be longer than zero"), "{e}");
    let e = error(r#"domains: ["hamburger.edu"]"#, r#"domains: []"#);
    assert!(
        e.contains("mail server `bob-mail` needs at least one domain"),
        "{e}"
    );
}
