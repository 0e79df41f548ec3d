//! TLS as a listener reads it, after a STARTTLS or on a protected FTP
//! data connection: the records' types and sizes (RFC 8446 §5.1), the
//! server name a ClientHello asks for (RFC 6066 §3), whether the
//! ServerHello picks TLS 1.3 (its `supported_versions`, RFC 8446 §4.2.1),
//! and in TLS 1.2, where the Certificate travels in the clear (RFC 5246
//! §7.4.2), the names it carries. Nothing of the content. This is a
//! reader of a few handshake fields, not a TLS parser: wiretale's TLS
//! itself is rustls, which offers no such view of another party's bytes.

use super::reassembly::Stream;
use super::text::longest_printable_run;
use super::{FindingKind, Findings};

/// What TLS shows a listener: the records' types and sizes, the server
/// name in the ClientHello, the version the ServerHello picks, and in
/// TLS 1.2 the certificates. Nothing of the content.
pub(super) fn read_tls(c2s: &Stream, s2c: &Stream, out: &mut Findings) {
    for (stream, direction) in [(c2s, "client to server"), (s2c, "server to client")] {
        let Some(run) = stream.runs.first() else {
            continue;
        };
        let mut data: Vec<u8> = run.data.clone();
        for later in stream.runs.iter().skip(1) {
            data.extend_from_slice(&later.data);
        }
        if data.is_empty() {
            continue;
        }
        let time = run.time_at(0);
        let mut at = 0;
        let mut sizes = Vec::new();
        let mut encrypted = 0usize;
        while let Some(header) = data.get(at..at + 5) {
            let kind = header[0];
            let len = usize::from(u16::from_be_bytes([header[3], header[4]]));
            let Some(body) = data.get(at + 5..at + 5 + len) else {
                break;
            };
            sizes.push(5 + len);
            match kind {
                // Handshake in the clear: ClientHello, ServerHello, and in
                // TLS 1.2 the Certificate.
                22 => {
                    for finding in describe_handshake(body) {
                        out.add(
                            FindingKind::Banner,
                            run.time_at(at.min(run.data.len().saturating_sub(1))),
                            format!("{direction} {finding}"),
                        );
                    }
                }
                23 => encrypted += len,
                _ => {}
            }
            at += 5 + len;
        }
        if sizes.is_empty() {
            continue;
        }
        let shown: Vec<String> = sizes.iter().take(12).map(|n| n.to_string()).collect();
        let longest = longest_printable_run(&data[..at]);
        let text = format!(
            "{direction}: {} TLS records ({} bytes encrypted), sizes {}{}, longest printable run {} bytes: no readable text",
            sizes.len(),
            encrypted,
            shown.join(", "),
            if sizes.len() > 12 { ", ..." } else { "" },
            longest.len()
        );
        out.add(FindingKind::Ciphertext, time, text);
    }
}

/// What a clear handshake record says: the ClientHello's server name, the
/// ServerHello's version, a TLS 1.2 Certificate's names.
fn describe_handshake(mut body: &[u8]) -> Vec<String> {
    let mut found = Vec::new();
    while body.len() >= 4 {
        let kind = body[0];
        let len = usize::from(body[1]) << 16 | usize::from(body[2]) << 8 | usize::from(body[3]);
        let Some(message) = body.get(4..4 + len) else {
            break;
        };
        match kind {
            1 => found.push(match client_hello_sni(message) {
                Some(name) => format!("TLS ClientHello: server name (SNI) {name}"),
                None => "TLS ClientHello".to_string(),
            }),
            2 => found.push(if server_hello_is_tls13(message) {
                "TLS ServerHello: TLS 1.3, so the certificate travels encrypted".to_string()
            } else {
                "TLS ServerHello: TLS 1.2".to_string()
            }),
            11 => found.push(format!(
                "TLS Certificate in the clear: {}",
                certificate_names(message)
            )),
            _ => {}
        }
        body = &body[4 + len..];
    }
    found
}

/// Skips a length-prefixed field of `width` bytes of length.
fn skip_field(data: &[u8], at: usize, width: usize) -> Option<usize> {
    let len = data
        .get(at..at + width)?
        .iter()
        .fold(0usize, |n, &b| n << 8 | usize::from(b));
    Some(at + width + len)
}

/// The extensions block of a ClientHello or ServerHello, from `at`.
fn extensions(data: &[u8], at: usize) -> Vec<(u16, &[u8])> {
    let mut out = Vec::new();
    let Some(total) = data.get(at..at + 2) else {
        return out;
    };
    let end = (at + 2 + usize::from(u16::from_be_bytes([total[0], total[1]]))).min(data.len());
    let mut i = at + 2;
    while i + 4 <= end {
        let kind = u16::from_be_bytes([data[i], data[i + 1]]);
        let len = usize::from(u16::from_be_bytes([data[i + 2], data[i + 3]]));
        let Some(body) = data.get(i + 4..i + 4 + len) else {
            break;
        };
        out.push((kind, body));
        i += 4 + len;
    }
    out
}

fn client_hello_sni(hello: &[u8]) -> Option<String> {
    // version (2), random (32), session id, cipher suites, compression.
    let at = skip_field(hello, 34, 1)?;
    let at = skip_field(hello, at, 2)?;
    let at = skip_field(hello, at, 1)?;
    let (_, sni) = extensions(hello, at)
        .into_iter()
        .find(|(kind, _)| *kind == 0)?;
    // server_name_list (2), name_type (1), host_name (2 + n).
    let name = sni.get(5..)?;
    Some(String::from_utf8_lossy(name).into_owned())
}

fn server_hello_is_tls13(hello: &[u8]) -> bool {
    let Some(at) = skip_field(hello, 34, 1) else {
        return false;
    };
    // cipher suite (2), compression (1).
    extensions(hello, at + 3)
        .iter()
        .any(|(kind, body)| *kind == 43 && body == &[0x03, 0x04])
}

/// The common names in a Certificate message, subject first.
fn certificate_names(message: &[u8]) -> String {
    // RFC 5280: a name's CN is OID 2.5.4.3 (06 03 55 04 03), then a string.
    let mut names = Vec::new();
    let mut i = 0;
    while let Some(rest) = message.get(i..) {
        let Some(p) = rest
            .windows(5)
            .position(|w| w == [0x06, 0x03, 0x55, 0x04, 0x03])
        else {
            break;
        };
        let at = i + p + 5;
        if let (Some(_), Some(&len)) = (message.get(at), message.get(at + 1))
            && let Some(text) = message.get(at + 2..at + 2 + usize::from(len))
        {
            names.push(String::from_utf8_lossy(text).into_owned());
        }
        i = at;
    }
    // Each certificate names its issuer, then its subject.
    match names.as_slice() {
        [issuer, subject, ..] => format!("certificate for CN={subject}, issued by CN={issuer}"),
        [one] => format!("certificate naming CN={one}"),
        [] => "certificates".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_tap::{Tap, texts};
    use super::super::{FindingKind, analyze, readable_text};

    #[test]
    fn after_starttls_trudy_sees_the_sni_and_in_tls_1_2_the_certificate() {
        use crate::proto::tls::{TlsLayer, pki::ScenarioPki, provider};
        use std::sync::Arc;
        let pki = ScenarioPki::new(9, "tap").unwrap();
        let cert = pki.host_cert("mail.example").unwrap();
        // A server that speaks TLS 1.2 only: its Certificate message
        // travels in the clear.
        let server_config = rustls::ServerConfig::builder_with_details(
            provider::provider(),
            Arc::new(provider::Clock(Some(1_800_000_000))),
        )
        .with_protocol_versions(&[&rustls::version::TLS12])
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(cert.chain, cert.key)
        .unwrap();
        let mut server = TlsLayer::server(Arc::new(server_config), Some([1; 32])).unwrap();
        let client_config = crate::proto::tls::client_config(&pki, Some(1_800_000_000)).unwrap();
        let mut client = TlsLayer::client(client_config, "mail.example", Some([2; 32])).unwrap();
        let mut tap = Tap::new(40006, 25)
            .open()
            .server_sends(b"220 mail.example ESMTP\r\n")
            .client_sends(b"EHLO c.example\r\n")
            .server_sends(b"250-mail.example\r\n250 STARTTLS\r\n")
            .client_sends(b"STARTTLS\r\n")
            .server_sends(b"220 2.0.0 Ready to start TLS\r\n");
        client.send(b"MAIL FROM:<secret@sender.example>\r\n");
        for _ in 0..4 {
            let c = client.take_output();
            if !c.is_empty() {
                tap = tap.client_sends(&c);
            }
            server.receive(&c);
            let s = server.take_output();
            if !s.is_empty() {
                tap = tap.server_sends(&s);
            }
            client.receive(&s);
        }
        let report = analyze(&tap.close().packets);
        let text = readable_text(&report);
        assert!(
            texts(&report, FindingKind::Command).contains(&"SMTP STARTTLS".to_string()),
            "{text}"
        );
        let banners = texts(&report, FindingKind::Banner);
        assert!(
            banners
                .iter()
                .any(|b| b.ends_with("server name (SNI) mail.example")),
            "{banners:?}"
        );
        assert!(
            banners
                .iter()
                .any(|b| b.contains("TLS ServerHello: TLS 1.2")),
            "{banners:?}"
        );
        assert!(
            banners.iter().any(|b| b
                .contains("certificate for CN=mail.example, issued by CN=wiretale scenario CA")),
            "{banners:?}"
        );
        assert!(!text.contains("secret@sender"), "{text}");
    }
}
