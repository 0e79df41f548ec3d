//! Recognising what a connection carries, and where it turned into TLS.
//!
//! The listener cannot ask the applications what they speak, so it reads
//! the first line each side sent (a greeting, a request line, a version
//! string) and falls back on the well-known port, built from the
//! `proto::*::PORT` constants, only when the content says nothing: servers
//! in a scenario may listen on unusual ports. After a STARTTLS (SMTP,
//! RFC 3207; IMAP, RFC 9051 §6.2.1), STLS (POP3, RFC 2595) or AUTH TLS
//! (FTP, RFC 4217) and the server's yes, both streams are cut in two: the
//! clear part for the protocol's reader, the rest for the TLS reader.

use super::reassembly::{Stream, cut};
use super::text::{first_line, lines, next_line_start, starts_with_ignore_case};
use super::{ConnectionId, Protocol};
use crate::proto::{ftp, http, imap, pop3, scp, smtp, telnet};
use crate::sim::SimTime;

/// True if `line` looks like an HTTP request line.
fn is_http_request_line(line: &[u8]) -> bool {
    let parts: Vec<&[u8]> = line.split(|&b| b == b' ').collect();
    matches!(parts.as_slice(), [method, _, version]
        if !method.is_empty()
            && method.iter().all(|b| b.is_ascii_uppercase())
            && version.starts_with(b"HTTP/"))
}

/// Content first, ports as a fallback: servers in a scenario may listen
/// on unusual ports.
pub(super) fn detect_protocol(id: ConnectionId, c2s: &Stream, s2c: &Stream) -> Protocol {
    let client = first_line(c2s.first_run());
    let server = first_line(s2c.first_run());
    if client.starts_with(b"SSH-") || server.starts_with(b"SSH-") {
        return Protocol::Scp;
    }
    // A TELNET server opens by negotiating options: its first byte is IAC.
    if [c2s, s2c]
        .iter()
        .any(|s| s.first_run().first() == Some(&telnet::IAC))
    {
        return Protocol::Telnet;
    }
    if is_http_request_line(client) || server.starts_with(b"HTTP/1.") {
        return Protocol::Http;
    }
    if server.starts_with(b"+OK") {
        return Protocol::Pop3;
    }
    if server.starts_with(b"* OK") || server.starts_with(b"* PREAUTH") {
        return Protocol::Imap;
    }
    if server.starts_with(b"220") {
        // Both SMTP and FTP greet with 220; the client's first word tells.
        if ["EHLO", "HELO", "LHLO"]
            .iter()
            .any(|c| starts_with_ignore_case(client, c))
        {
            return Protocol::Smtp;
        }
        if ["USER", "AUTH", "FEAT", "OPTS", "SYST"]
            .iter()
            .any(|c| starts_with_ignore_case(client, c))
        {
            return Protocol::FtpControl;
        }
    }
    // Last, the well-known port: an eavesdropper cannot ask the
    // applications what they speak, so it guesses as Wireshark does.
    match id.server.port() {
        ftp::CONTROL_PORT => Protocol::FtpControl,
        scp::PORT => Protocol::Scp,
        telnet::PORT => Protocol::Telnet,
        smtp::PORT | smtp::SUBMISSION_PORT => Protocol::Smtp,
        pop3::PORT => Protocol::Pop3,
        imap::PORT => Protocol::Imap,
        http::PORT | http::ALT_PORT => Protocol::Http,
        _ => Protocol::Data,
    }
}

/// Where a STARTTLS-style upgrade happened: the command, when it was
/// seen, and both directions' bytes from the first TLS byte on.
pub(super) type Upgrade = (&'static str, SimTime, Stream, Stream);

/// Finds the client's STARTTLS (SMTP, IMAP), STLS (POP3) or AUTH TLS
/// (FTP) and the server's yes to it; splits both streams there.
pub(super) fn split_at_starttls(
    protocol: Protocol,
    c2s: &Stream,
    s2c: &Stream,
) -> (Stream, Stream, Option<Upgrade>) {
    let none = (c2s.clone(), s2c.clone(), None);
    let (verb, yes): (&'static str, fn(&[u8]) -> bool) = match protocol {
        Protocol::Smtp => ("STARTTLS", |l| {
            l.starts_with(b"220 ") && l.windows(3).any(|w| w == b"TLS")
        }),
        Protocol::Pop3 => ("STLS", |l| {
            l.starts_with(b"+OK") && l.windows(3).any(|w| w == b"TLS")
        }),
        Protocol::Imap => ("STARTTLS", |l| l.windows(9).any(|w| w == b"Begin TLS")),
        Protocol::FtpControl => ("AUTH TLS", |l| l.starts_with(b"234 ")),
        _ => return none,
    };
    let Some(client) = c2s.runs.first() else {
        return none;
    };
    let Some(command) = lines(&client.data).into_iter().find(|line| {
        let text = String::from_utf8_lossy(line.text).to_ascii_uppercase();
        // IMAP puts a tag first: "a1 STARTTLS".
        text == verb
            || text
                .split_whitespace()
                .skip(1)
                .collect::<Vec<_>>()
                .join(" ")
                == verb
                && protocol == Protocol::Imap
    }) else {
        return none;
    };
    let client_at = next_line_start(&client.data, command.start);
    let Some(server) = s2c.runs.first() else {
        return none;
    };
    let Some(reply) = lines(&server.data).into_iter().find(|line| yes(line.text)) else {
        return none;
    };
    let server_at = next_line_start(&server.data, reply.start);
    let time = client.time_at(command.start);
    let (c_clear, c_tls) = cut(c2s, client_at);
    let (s_clear, s_tls) = cut(s2c, server_at);
    (c_clear, s_clear, Some((verb, time, c_tls, s_tls)))
}

#[cfg(test)]
mod tests {
    use super::super::reassembly::{group_connections, reassemble};
    use super::super::test_tap::Tap;
    use super::*;

    /// The protocol of the tap's connection, and both streams.
    fn detected(tap: &Tap) -> (Protocol, Stream, Stream) {
        let connections = group_connections(&tap.packets);
        let (id, to_server, to_client) = connections[0].oriented();
        let (c2s, s2c) = (reassemble(to_server), reassemble(to_client));
        (detect_protocol(id, &c2s, &s2c), c2s, s2c)
    }

    #[test]
    fn content_before_ports() {
        let on = |port| Tap::new(40020, port).open();
        let cases = [
            (
                on(5000)
                    .server_sends(b"220 x ESMTP\r\n")
                    .client_sends(b"EHLO c\r\n"),
                Protocol::Smtp,
            ),
            (
                on(5000)
                    .server_sends(b"220 x FTP\r\n")
                    .client_sends(b"USER a\r\n"),
                Protocol::FtpControl,
            ),
            (on(25).server_sends(b"+OK ready\r\n"), Protocol::Pop3),
            (on(5000).server_sends(b"* OK IMAP4rev2\r\n"), Protocol::Imap),
            (on(5000).client_sends(b"GET / HTTP/1.1\r\n"), Protocol::Http),
            (on(80).client_sends(b"SSH-2.0-x\r\n"), Protocol::Scp),
            (
                on(5000).server_sends(&[telnet::IAC, telnet::DO, 1]),
                Protocol::Telnet,
            ),
            // Nothing said: the port decides.
            (on(143), Protocol::Imap),
            (on(8080), Protocol::Http),
            (on(5000), Protocol::Data),
        ];
        for (tap, expected) in cases {
            assert_eq!(detected(&tap).0, expected);
        }
    }

    #[test]
    fn starttls_splits_both_streams() {
        let tap = Tap::new(40021, 110)
            .open()
            .server_sends(b"+OK ready\r\n")
            .client_sends(b"STLS\r\n")
            .server_sends(b"+OK Begin TLS negotiation\r\n\x16\x03\x03")
            .client_sends(b"\x16\x03\x01");
        let (protocol, c2s, s2c) = detected(&tap);
        let (clear_c2s, clear_s2c, upgrade) = split_at_starttls(protocol, &c2s, &s2c);
        let (verb, _, tls_c2s, tls_s2c) = upgrade.unwrap();
        assert_eq!(verb, "STLS");
        assert_eq!(clear_c2s.first_run(), b"STLS\r\n");
        assert_eq!(
            clear_s2c.first_run(),
            b"+OK ready\r\n+OK Begin TLS negotiation\r\n"
        );
        assert_eq!(tls_c2s.first_run(), b"\x16\x03\x01");
        assert_eq!(tls_s2c.first_run(), b"\x16\x03\x03");
        // Without the server's yes nothing is cut.
        let refused = Tap::new(40022, 110)
            .open()
            .server_sends(b"+OK ready\r\n")
            .client_sends(b"STLS\r\n")
            .server_sends(b"-ERR no\r\n");
        let (protocol, c2s, s2c) = detected(&refused);
        assert!(split_at_starttls(protocol, &c2s, &s2c).2.is_none());
    }
}
