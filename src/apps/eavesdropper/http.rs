//! HTTP/1.1 (RFC 9112) as a listener reads it: every request line, the
//! credentials of `Authorization: Basic` (RFC 7617: only base64), and the
//! bodies both ways, cut by their `Content-Length`. Requests and
//! responses are paired in order, so the response to a HEAD has no body
//! (RFC 9112 §6.3). Not read: chunked bodies, HTTP/2, and anything after
//! a gap in a direction's stream.
//!
//! Header fields are parsed by [`message::parse_header_field_lenient`]:
//! a field the server would answer with 400 still crossed the link.

use super::reassembly::Stream;
use super::text::{preview, show};
use super::{FindingKind, Findings};
use crate::proto::http::message::{self, HeaderField};
use crate::proto::smtp::sasl::base64_decode_lenient;

/// An HTTP message head: start line and header fields.
struct HttpHead<'a> {
    start_line: &'a [u8],
    fields: Vec<HeaderField>,
    /// Where the body starts.
    body_start: usize,
}

/// Parses a message head at `pos`; `None` if it is not complete.
fn http_head(data: &[u8], pos: usize) -> Option<HttpHead<'_>> {
    let mut fields = Vec::new();
    let mut cursor = pos;
    let mut start_line: Option<&[u8]> = None;
    loop {
        let rest = data.get(cursor..)?;
        let newline = rest.iter().position(|&b| b == b'\n')?;
        let line = &rest[..newline];
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        cursor += newline + 1;
        match start_line {
            None if line.is_empty() => {} // stray CRLF between messages
            None => start_line = Some(line),
            Some(start_line) if line.is_empty() => {
                return Some(HttpHead {
                    start_line,
                    fields,
                    body_start: cursor,
                });
            }
            Some(_) => fields.extend(message::parse_header_field_lenient(line)),
        }
    }
}

/// The body's length (RFC 9112 §6.3): the first `Content-Length`, read
/// as the server reads it; none, or one it would refuse, means no body.
fn content_length(fields: &[HeaderField]) -> usize {
    message::header(fields, "content-length")
        .and_then(message::parse_content_length)
        .map_or(0, |n| usize::try_from(n).unwrap_or(usize::MAX))
}

/// HTTP (RFC 9112): request lines, Basic credentials (RFC 7617), and the
/// bodies both ways.
pub(super) fn read_http(c2s: &Stream, s2c: &Stream, out: &mut Findings) {
    let mut methods = Vec::new();
    for run in &c2s.runs {
        let mut pos = 0;
        while let Some(head) = http_head(&run.data, pos) {
            let time = run.time_at(pos);
            let request_line = show(head.start_line);
            methods.push(request_line.split(' ').next().unwrap_or("").to_string());
            out.add(FindingKind::Command, time, format!("HTTP {request_line}"));
            if let Some(auth) = message::header(&head.fields, "authorization") {
                out.add(FindingKind::Credential, time, describe_authorization(auth));
            }
            let n = content_length(&head.fields);
            let end = head.body_start.saturating_add(n).min(run.data.len());
            let body = &run.data[head.body_start..end];
            if !body.is_empty() {
                out.add(
                    FindingKind::Content,
                    run.time_at(head.body_start),
                    format!(
                        "HTTP request body ({} bytes): {}",
                        body.len(),
                        preview(body)
                    ),
                );
            }
            pos = end;
        }
    }
    let mut methods = methods.into_iter();
    for run in &s2c.runs {
        let mut pos = 0;
        while let Some(head) = http_head(&run.data, pos) {
            // RFC 9112 §6.3: a response to HEAD has no body, whatever its
            // Content-Length says.
            let is_head = methods.next().is_some_and(|m| m == "HEAD");
            let n = if is_head {
                0
            } else {
                content_length(&head.fields)
            };
            let end = head.body_start.saturating_add(n).min(run.data.len());
            let body = &run.data[head.body_start..end];
            let status = show(head.start_line);
            let text = if body.is_empty() {
                format!("HTTP response {status}")
            } else {
                format!(
                    "HTTP response {status}, {} bytes of body: {}",
                    body.len(),
                    preview(body)
                )
            };
            out.add(FindingKind::Content, run.time_at(pos), text);
            pos = end;
        }
    }
}

/// `Basic <base64(user:password)>` decoded (RFC 7617 §2).
fn describe_authorization(value: &str) -> String {
    let (scheme, token) = value.split_once(' ').unwrap_or((value, ""));
    if scheme.eq_ignore_ascii_case("basic")
        && let Some(decoded) = base64_decode_lenient(token.trim())
    {
        let text = show(&decoded);
        if let Some((user, password)) = text.split_once(':') {
            return format!("HTTP Basic user {user} password {password}");
        }
    }
    format!("HTTP Authorization: {}", show(value.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::super::test_tap::{Tap, texts};
    use super::super::{FindingKind, Protocol, analyze};
    use super::*;

    #[test]
    fn http_requests_credentials_and_bodies() {
        let tap = Tap::new(40003, 8000)
            .open()
            .client_sends(b"GET /private/ HTTP/1.1\r\nHost: h\r\nAuthorization: Basic YWxpY2U6c2VjcmV0\r\n\r\n")
            .client_sends(b"HEAD /big HTTP/1.1\r\nHost: h\r\n\r\nPOST /login HTTP/1.1\r\nHost: h\r\nContent-Length: 21\r\n\r\nuser=bob&pw=hamburge")
            .client_sends(b"r")
            .server_sends(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello")
            .server_sends(b"HTTP/1.1 200 OK\r\nContent-Length: 9999\r\n\r\n")
            .server_sends(b"HTTP/1.1 303 See Other\r\nContent-Length: 0\r\n\r\n");
        let report = analyze(&tap.packets);
        assert_eq!(report.connections[0].protocol, Protocol::Http);
        assert_eq!(
            texts(&report, FindingKind::Command),
            vec![
                "HTTP GET /private/ HTTP/1.1",
                "HTTP HEAD /big HTTP/1.1",
                "HTTP POST /login HTTP/1.1"
            ]
        );
        assert_eq!(
            texts(&report, FindingKind::Credential),
            vec!["HTTP Basic user alice password secret"]
        );
        assert_eq!(
            texts(&report, FindingKind::Content),
            vec![
                "HTTP request body (21 bytes): \"user=bob&pw=hamburger\"",
                "HTTP response HTTP/1.1 200 OK, 5 bytes of body: \"hello\"",
                "HTTP response HTTP/1.1 200 OK",
                "HTTP response HTTP/1.1 303 See Other",
            ]
        );
    }

    #[test]
    fn heads_are_read_leniently() {
        let data = b"\r\nGET / HTTP/1.1\r\nAuthorization : Basic Ym9iOnB3\r\nContent-Length: 2, 2\r\n\r\nhi";
        let head = http_head(data, 0).unwrap();
        assert_eq!(head.start_line, b"GET / HTTP/1.1");
        // A space before the colon: a server refuses it, the listener reads it.
        assert_eq!(
            message::header(&head.fields, "authorization"),
            Some("Basic Ym9iOnB3")
        );
        assert_eq!(content_length(&head.fields), 2);
        assert_eq!(head.body_start, data.len() - 2);
        assert!(http_head(b"GET / HTTP/1.1\r\nHost: h\r\n", 0).is_none());
        assert_eq!(
            describe_authorization("Basic Ym9iOnB3"),
            "HTTP Basic user bob password pw"
        );
        assert_eq!(
            describe_authorization("Bearer abc"),
            "HTTP Authorization: Bearer abc"
        );
    }
}
