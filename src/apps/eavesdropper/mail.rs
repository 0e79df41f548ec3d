//! The mail protocols as a listener reads them: SMTP (RFC 5321), POP3
//! (RFC 1939) and IMAP (RFC 9051). What crosses in the clear before any
//! STARTTLS: the envelope, the Subject of each message going by, and the
//! credentials, whether typed as they are (POP3 `USER`/`PASS`, IMAP
//! `LOGIN`) or only base64 encoded in a SASL exchange (`AUTH PLAIN`,
//! RFC 4616; `AUTH LOGIN`; IMAP `AUTHENTICATE`). APOP (RFC 1939 §7) shows
//! only a digest.
//!
//! Base64 is decoded by [`crate::proto::smtp::sasl`], without insisting on padding, and an
//! IMAP literal is recognised by [`framing::literal_announcement`], as the
//! server's framer recognises it. The astrings of `LOGIN` are read here,
//! straight from the captured stream with the literal's bytes in place:
//! the server hands a whole framed command to imap-codec, which a
//! listener holding one direction of a stream, perhaps with gaps, cannot
//! do.

use super::reassembly::Stream;
use super::text::{lines, next_line_start, show, split_command, starts_with_ignore_case};
use super::{FindingKind, Findings};
use crate::proto::imap::framing;
use crate::proto::smtp::sasl::base64_decode_lenient;
use crate::sim::SimTime;

/// What a SASL exchange is waiting for in the next client line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SaslWait {
    None,
    /// RFC 4616: `authzid NUL authcid NUL passwd`, base64.
    PlainResponse,
    /// AUTH LOGIN: the user name, then the password, each base64.
    LoginUser,
    LoginPassword,
}

/// Decodes an AUTH PLAIN response into a finding. The listener splits
/// the decoded bytes at NUL itself rather than with
/// [`decode_plain`](crate::proto::smtp::sasl::decode_plain): a response the server refuses (an empty
/// password, bytes that are not UTF-8) still crossed the link.
fn report_plain(protocol: &str, b64: &str, time: SimTime, out: &mut Findings) {
    let text = match base64_decode_lenient(b64.trim()) {
        Some(decoded) => {
            let parts: Vec<&[u8]> = decoded.split(|&b| b == 0).collect();
            match parts.as_slice() {
                [_, user, password] => format!(
                    "{protocol} AUTH PLAIN user {} password {}",
                    show(user),
                    show(password)
                ),
                _ => format!("{protocol} AUTH PLAIN {}", show(&decoded)),
            }
        }
        None => format!("{protocol} AUTH PLAIN {b64} (not base64)"),
    };
    out.add(FindingKind::Credential, time, text);
}

/// Follows an `AUTH` (SMTP, POP3) or `AUTHENTICATE` (IMAP) exchange: the
/// mechanism and an optional initial response, then later lines.
fn sasl_start(
    protocol: &str,
    mechanism: &str,
    initial: Option<&str>,
    time: SimTime,
    out: &mut Findings,
) -> SaslWait {
    match (mechanism.to_ascii_uppercase().as_str(), initial) {
        ("PLAIN", Some(b64)) if b64 != "=" => {
            report_plain(protocol, b64, time, out);
            SaslWait::None
        }
        ("PLAIN", _) => SaslWait::PlainResponse,
        ("LOGIN", Some(b64)) => {
            let user = base64_decode_lenient(b64).map_or(b64.to_string(), |u| show(&u));
            out.add(
                FindingKind::Credential,
                time,
                format!("{protocol} AUTH LOGIN user {user}"),
            );
            SaslWait::LoginPassword
        }
        ("LOGIN", None) => SaslWait::LoginUser,
        _ => SaslWait::None,
    }
}

/// A client line while a SASL exchange is in progress.
fn sasl_continue(
    protocol: &str,
    wait: SaslWait,
    line: &[u8],
    time: SimTime,
    out: &mut Findings,
) -> SaslWait {
    let text = String::from_utf8_lossy(line);
    let text = text.trim();
    // RFC 4954 §4: "*" cancels the exchange.
    if text == "*" {
        return SaslWait::None;
    }
    let decoded = base64_decode_lenient(text).map_or(text.to_string(), |d| show(&d));
    match wait {
        SaslWait::None => SaslWait::None,
        SaslWait::PlainResponse => {
            report_plain(protocol, text, time, out);
            SaslWait::None
        }
        SaslWait::LoginUser => {
            out.add(
                FindingKind::Credential,
                time,
                format!("{protocol} AUTH LOGIN user {decoded}"),
            );
            SaslWait::LoginPassword
        }
        SaslWait::LoginPassword => {
            out.add(
                FindingKind::Credential,
                time,
                format!("{protocol} AUTH LOGIN password {decoded}"),
            );
            SaslWait::None
        }
    }
}

/// Subject lines of messages going by.
fn report_subjects(protocol: &str, stream: &Stream, out: &mut Findings) {
    for run in &stream.runs {
        for line in lines(&run.data) {
            if starts_with_ignore_case(line.text, "Subject:") {
                let subject = show(&line.text[8..]);
                out.add(
                    FindingKind::Content,
                    run.time_at(line.start),
                    format!("{protocol} message with Subject:{subject}"),
                );
            }
        }
    }
}

/// SMTP (RFC 5321): AUTH credentials (RFC 4954), the envelope, and what
/// the messages say.
pub(super) fn read_smtp(c2s: &Stream, out: &mut Findings) {
    for run in &c2s.runs {
        let mut wait = SaslWait::None;
        let mut in_data = false;
        for line in lines(&run.data) {
            let time = run.time_at(line.start);
            if in_data {
                // RFC 5321 §4.1.1.4: the message ends with a lone ".".
                if line.text == b"." {
                    in_data = false;
                }
                continue;
            }
            if wait != SaslWait::None {
                wait = sasl_continue("SMTP", wait, line.text, time, out);
                continue;
            }
            let (word, arg) = split_command(line.text);
            match word.as_str() {
                "AUTH" => {
                    let mut args = arg.split_whitespace();
                    let mechanism = args.next().unwrap_or("");
                    wait = sasl_start("SMTP", mechanism, args.next(), time, out);
                }
                "MAIL" | "RCPT" => out.add(
                    FindingKind::Command,
                    time,
                    format!("SMTP {}", show(line.text)),
                ),
                "DATA" => in_data = true,
                _ => {}
            }
        }
    }
    report_subjects("SMTP", c2s, out);
}

/// POP3 (RFC 1939 §7): USER and PASS in plain text, or AUTH (RFC 5034).
pub(super) fn read_pop3(c2s: &Stream, s2c: &Stream, out: &mut Findings) {
    for run in &c2s.runs {
        let mut wait = SaslWait::None;
        for line in lines(&run.data) {
            let time = run.time_at(line.start);
            if wait != SaslWait::None {
                wait = sasl_continue("POP3", wait, line.text, time, out);
                continue;
            }
            let (word, arg) = split_command(line.text);
            match word.as_str() {
                "USER" | "PASS" => {
                    out.add(FindingKind::Credential, time, format!("POP3 {word} {arg}"))
                }
                "APOP" => out.add(
                    FindingKind::Credential,
                    time,
                    format!(
                        "POP3 APOP {} (a digest, not the password)",
                        show(line.text.get(5..).unwrap_or(&[]))
                    ),
                ),
                "AUTH" => {
                    let mut args = arg.split_whitespace();
                    let mechanism = args.next().unwrap_or("");
                    wait = sasl_start("POP3", mechanism, args.next(), time, out);
                }
                "RETR" => out.add(FindingKind::Command, time, format!("POP3 RETR {arg}")),
                _ => {}
            }
        }
    }
    report_subjects("POP3", s2c, out);
}

/// IMAP (RFC 9051 §6.2.3): `tag LOGIN user password`, the arguments being
/// atoms, quoted strings or literals; or AUTHENTICATE.
pub(super) fn read_imap(c2s: &Stream, s2c: &Stream, out: &mut Findings) {
    for run in &c2s.runs {
        let data = &run.data;
        let mut pos = 0;
        let mut wait = SaslWait::None;
        while pos < data.len() {
            let time = run.time_at(pos);
            let line_end = data[pos..]
                .iter()
                .position(|&b| b == b'\n')
                .map_or(data.len(), |p| pos + p);
            let line = &data[pos..line_end];
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            if wait != SaslWait::None {
                wait = sasl_continue("IMAP", wait, line, time, out);
                pos = line_end + 1;
                continue;
            }
            let words: Vec<&[u8]> = line.splitn(3, |&b| b == b' ').collect();
            let command = words
                .get(1)
                .map(|w| w.to_ascii_uppercase())
                .unwrap_or_default();
            let mut next = line_end + 1;
            if command == b"LOGIN" && words.len() == 3 {
                // Arguments start after "tag LOGIN ".
                let mut cursor = pos + words[0].len() + 1 + words[1].len() + 1;
                let user = imap_astring(data, &mut cursor);
                skip_spaces(data, &mut cursor);
                let password = imap_astring(data, &mut cursor);
                if let (Some(user), Some(password)) = (user, password) {
                    out.add(
                        FindingKind::Credential,
                        time,
                        format!(
                            "IMAP LOGIN user {} password {}",
                            show(&user),
                            show(&password)
                        ),
                    );
                }
                next = next_line_start(data, cursor);
            } else if command == b"AUTHENTICATE" {
                let args =
                    String::from_utf8_lossy(words.get(2).copied().unwrap_or(&[])).into_owned();
                let mut args = args.split_whitespace();
                let mechanism = args.next().unwrap_or("");
                wait = sasl_start("IMAP", mechanism, args.next(), time, out);
            } else if let Some((n, _)) = framing::literal_announcement(line) {
                // A literal ends the line: its bytes follow, skip them.
                next = next.saturating_add(n);
            }
            pos = next;
        }
    }
    report_subjects("IMAP", s2c, out);
}

fn skip_spaces(data: &[u8], cursor: &mut usize) {
    while data.get(*cursor) == Some(&b' ') {
        *cursor += 1;
    }
}

/// An IMAP astring at `cursor`: atom, "quoted", or {n} literal.
fn imap_astring(data: &[u8], cursor: &mut usize) -> Option<Vec<u8>> {
    match data.get(*cursor)? {
        b'"' => {
            let mut value = Vec::new();
            *cursor += 1;
            loop {
                match data.get(*cursor)? {
                    b'"' => {
                        *cursor += 1;
                        return Some(value);
                    }
                    b'\\' => {
                        value.push(*data.get(*cursor + 1)?);
                        *cursor += 2;
                    }
                    b'\r' | b'\n' => return None,
                    &b => {
                        value.push(b);
                        *cursor += 1;
                    }
                }
            }
        }
        b'{' => {
            let close = data[*cursor..].iter().position(|&b| b == b'}')? + *cursor;
            let line = &data[*cursor..=close];
            let (n, _) = framing::literal_announcement(line)?;
            // The literal's bytes start after the CRLF that ends the line.
            let start = next_line_start(data, close);
            let value = data.get(start..start.checked_add(n)?)?.to_vec();
            *cursor = start + n;
            Some(value)
        }
        _ => {
            let start = *cursor;
            while let Some(&b) = data.get(*cursor) {
                if b == b' ' || b == b'\r' || b == b'\n' {
                    break;
                }
                *cursor += 1;
            }
            (*cursor > start).then(|| data[start..*cursor].to_vec())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_tap::{Tap, texts};
    use super::super::{FindingKind, Protocol, analyze};

    #[test]
    fn smtp_auth_is_only_base64() {
        let tap = Tap::new(40001, 587)
            .open()
            .server_sends(b"220 mail.example ESMTP\r\n")
            .client_sends(b"EHLO crepes.fr\r\n")
            // RFC 4616 example-style: authzid empty, alice, secret.
            .client_sends(b"AUTH PLAIN AGFsaWNlAHNlY3JldA==\r\n")
            .client_sends(b"AUTH LOGIN\r\n")
            .client_sends(b"Ym9i\r\n")
            .client_sends(b"aGFtYnVyZ2Vy\r\n")
            .client_sends(b"MAIL FROM:<alice@crepes.fr>\r\nRCPT TO:<bob@hamburger.edu>\r\nDATA\r\n")
            .client_sends(b"Subject: lunch\r\n\r\nAUTH PLAIN is just text here\r\n.\r\nQUIT\r\n");
        let report = analyze(&tap.packets);
        assert_eq!(report.connections[0].protocol, Protocol::Smtp);
        assert_eq!(
            texts(&report, FindingKind::Credential),
            vec![
                "SMTP AUTH PLAIN user alice password secret",
                "SMTP AUTH LOGIN user bob",
                "SMTP AUTH LOGIN password hamburger",
            ]
        );
        assert_eq!(
            texts(&report, FindingKind::Command),
            vec![
                "SMTP MAIL FROM:<alice@crepes.fr>",
                "SMTP RCPT TO:<bob@hamburger.edu>"
            ]
        );
        assert_eq!(
            texts(&report, FindingKind::Content),
            vec!["SMTP message with Subject: lunch"]
        );
    }

    #[test]
    fn imap_login_with_quoted_strings_and_literals() {
        let tap = Tap::new(40002, 143)
            .open()
            .server_sends(b"* OK IMAP4rev2 ready\r\n")
            .client_sends(b"a1 LOGIN \"alice\" \"won\\\"der\"\r\n")
            .client_sends(b"a2 LOGIN {3}\r\nbob {9}\r\nhamburger\r\n")
            .client_sends(b"a3 AUTHENTICATE PLAIN\r\nAGNhcm9sAHB3\r\n")
            .client_sends(b"a4 APPEND INBOX {22}\r\nx LOGIN fake fake\r\n\r\na5 LOGOUT\r\n");
        let report = analyze(&tap.packets);
        assert_eq!(
            texts(&report, FindingKind::Credential),
            vec![
                "IMAP LOGIN user alice password won\"der",
                "IMAP LOGIN user bob password hamburger",
                "IMAP AUTH PLAIN user carol password pw",
            ]
        );
    }

    #[test]
    fn pop3_apop_auth_and_retr() {
        let tap = Tap::new(40030, 110)
            .open()
            .server_sends(b"+OK POP3 ready <1.2@x>\r\n")
            .client_sends(b"APOP bob c4c9334bac560ecc979e58001b3e22fb\r\n")
            .client_sends(b"AUTH PLAIN\r\n")
            .client_sends(b"AGJvYgBoYW1idXJnZXI\r\n")
            .client_sends(b"AUTH LOGIN Ym9i\r\n*\r\nRETR 1\r\n");
        let report = analyze(&tap.packets);
        assert_eq!(report.connections[0].protocol, Protocol::Pop3);
        assert_eq!(
            texts(&report, FindingKind::Credential),
            vec![
                "POP3 APOP bob c4c9334bac560ecc979e58001b3e22fb (a digest, not the password)",
                // Unpadded base64 is read all the same.
                "POP3 AUTH PLAIN user bob password hamburger",
                "POP3 AUTH LOGIN user bob",
            ]
        );
        assert_eq!(texts(&report, FindingKind::Command), vec!["POP3 RETR 1"]);
    }
}
