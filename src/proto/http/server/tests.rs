//! The server in scripted exchanges: exact responses to real request
//! bytes, validators and ranges, pipelining and requests split anywhere,
//! the errors that close the connection, and a proptest of plausible
//! requests.

use super::*;
use proptest::prelude::*;
use std::collections::BTreeMap;

/// A few files in memory.
struct Files(BTreeMap<String, Bytes>);

impl HttpBackend for Files {
    fn read_file(&self, path: &str) -> Option<Bytes> {
        self.0.get(path).cloned()
    }

    fn modified(&self, path: &str) -> Option<i64> {
        // 2026-03-02 14:05:09 UTC for every file.
        self.0.contains_key(path).then_some(1_772_460_309)
    }
}

fn files() -> Files {
    let mut map = BTreeMap::new();
    map.insert(
        "/index.html".to_string(),
        Bytes::from_static(b"<h1>hi</h1>\n"),
    );
    map.insert("/notes.txt".to_string(), Bytes::from_static(b"hello"));
    map.insert("/docs/index.html".to_string(), Bytes::from_static(b"docs"));
    map.insert("/report.pdf".to_string(), Bytes::from(vec![7u8; 1432]));
    Files(map)
}

/// Feeds `input` and returns everything the server sent.
fn exchange(server: &mut HttpServer, input: &[u8]) -> String {
    server.handle_input(input, &files(), 0);
    let mut out = Vec::new();
    while let Some(chunk) = server.poll_output() {
        out.extend_from_slice(&chunk);
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn transcript(server: &mut HttpServer) -> Vec<Transcript> {
    std::iter::from_fn(|| server.poll_transcript()).collect()
}

/// The status lines in `out` (the test bodies never contain
/// "HTTP/1.1 ").
fn status_lines(out: &str) -> Vec<&str> {
    out.match_indices("HTTP/1.1 ")
        .filter_map(|(i, _)| out[i..].split("\r\n").next())
        .collect()
}

#[test]
fn get_serves_a_file_with_exact_headers() {
    let mut server = HttpServer::new();
    let out = exchange(
        &mut server,
        b"GET /notes.txt HTTP/1.1\r\nHost: files.example\r\n\r\n",
    );
    assert_eq!(
        out,
        "HTTP/1.1 200 OK\r\n\
         Date: Thu, 01 Jan 1970 00:00:00 GMT\r\n\
         Server: wiretale\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\
         Last-Modified: Mon, 02 Mar 2026 14:05:09 GMT\r\n\
         ETag: \"a430d84680aabd0b-5\"\r\n\
         Accept-Ranges: bytes\r\n\
         Content-Length: 5\r\n\
         \r\n\
         hello"
    );
    assert!(!server.wants_close());
    assert_eq!(server.state_name(), "WAITING-REQUEST");
    assert_eq!(
        transcript(&mut server),
        vec![
            Transcript::Command("GET /notes.txt HTTP/1.1".into()),
            Transcript::Reply {
                code: Some(200),
                text: "HTTP/1.1 200 OK".into()
            },
            Transcript::Data("(5 bytes of body)".into()),
        ]
    );
}

/// RFC 9110 §13: If-None-Match with the file's tag, or
/// If-Modified-Since at or after its time, gets 304 and no content;
/// §14: one byte range gets 206, a range past the end 416.
#[test]
fn validators_and_ranges() {
    let mut server = HttpServer::new();
    let get = |server: &mut HttpServer, fields: &str| {
        exchange(
            server,
            format!("GET /notes.txt HTTP/1.1\r\nHost: h\r\n{fields}\r\n").as_bytes(),
        )
    };
    let tag = "\"a430d84680aabd0b-5\"";
    let out = get(&mut server, &format!("If-None-Match: \"other\", {tag}\r\n"));
    assert!(out.starts_with("HTTP/1.1 304 Not Modified\r\n"), "{out}");
    assert!(
        out.ends_with("\r\n\r\n") && !out.contains("Content-Length"),
        "{out}"
    );
    assert!(out.contains(&format!("ETag: {tag}\r\n")), "{out}");
    let out = get(&mut server, "If-None-Match: \"other\"\r\n");
    assert!(
        out.starts_with("HTTP/1.1 200 OK\r\n") && out.ends_with("hello"),
        "{out}"
    );
    // If-Modified-Since: the same second is not modified, one earlier is.
    let out = get(
        &mut server,
        "If-Modified-Since: Mon, 02 Mar 2026 14:05:09 GMT\r\n",
    );
    assert!(out.starts_with("HTTP/1.1 304 "), "{out}");
    let out = get(
        &mut server,
        "If-Modified-Since: Mon, 02 Mar 2026 14:05:08 GMT\r\n",
    );
    assert!(out.starts_with("HTTP/1.1 200 "), "{out}");
    // A date that does not parse is ignored; If-None-Match wins over it.
    let out = get(&mut server, "If-Modified-Since: yesterday\r\n");
    assert!(out.starts_with("HTTP/1.1 200 "), "{out}");
    let out = get(
        &mut server,
        "If-None-Match: \"other\"\r\nIf-Modified-Since: Mon, 02 Mar 2026 14:05:09 GMT\r\n",
    );
    assert!(out.starts_with("HTTP/1.1 200 "), "{out}");
    // Ranges.
    let out = get(&mut server, "Range: bytes=1-3\r\n");
    assert!(out.starts_with("HTTP/1.1 206 Partial Content\r\n"), "{out}");
    assert!(out.contains("Content-Range: bytes 1-3/5\r\n"), "{out}");
    assert!(out.ends_with("Content-Length: 3\r\n\r\nell"), "{out}");
    let out = get(&mut server, "Range: bytes=-2\r\n");
    assert!(
        out.ends_with("\r\n\r\nlo") && out.contains("bytes 3-4/5"),
        "{out}"
    );
    let out = get(&mut server, "Range: bytes=2-99\r\n");
    assert!(
        out.ends_with("\r\n\r\nllo") && out.contains("bytes 2-4/5"),
        "{out}"
    );
    let out = get(&mut server, "Range: bytes=5-\r\n");
    assert!(
        out.starts_with("HTTP/1.1 416 Range Not Satisfiable\r\n"),
        "{out}"
    );
    assert!(out.contains("Content-Range: bytes */5\r\n"), "{out}");
    // Several ranges, or another unit: the whole file.
    let out = get(&mut server, "Range: bytes=0-1,3-4\r\n");
    assert!(
        out.starts_with("HTTP/1.1 200 ") && out.ends_with("hello"),
        "{out}"
    );
    let out = get(&mut server, "Range: lines=1-2\r\n");
    assert!(out.starts_with("HTTP/1.1 200 "), "{out}");
    // The connection is still in order after all of these.
    let out = get(&mut server, "");
    assert!(out.ends_with("hello"), "{out}");
}

#[test]
fn what_curl_sends() {
    let mut server = HttpServer::new();
    let out = exchange(
        &mut server,
        b"GET /report.pdf HTTP/1.1\r\nHost: localhost:8080\r\nUser-Agent: curl/8.5.0\r\nAccept: */*\r\n\r\n",
    );
    assert!(out.starts_with("HTTP/1.1 200 OK\r\n"));
    assert!(out.contains("\r\nContent-Length: 1432\r\n"));
    assert_eq!(out.len(), out.find("\r\n\r\n").unwrap() + 4 + 1432);
    assert!(!server.wants_close());
}

#[test]
fn head_sends_the_length_but_no_body() {
    let mut server = HttpServer::new();
    let out = exchange(&mut server, b"HEAD /report.pdf HTTP/1.1\r\nHost: h\r\n\r\n");
    assert!(out.starts_with("HTTP/1.1 200 OK\r\n"));
    assert!(out.contains("Content-Type: application/pdf\r\n"));
    assert!(out.contains("Content-Length: 1432\r\n"));
    assert!(out.ends_with("\r\n\r\n"));
    let t = transcript(&mut server);
    assert_eq!(t.len(), 2, "no Data line for HEAD: {t:?}");
}

#[test]
fn directory_gets_its_index_and_types_follow_extensions() {
    let mut server = HttpServer::new();
    let out = exchange(&mut server, b"GET / HTTP/1.1\r\nHost: h\r\n\r\n");
    assert!(out.contains("Content-Type: text/html; charset=utf-8\r\n"));
    assert!(out.ends_with("<h1>hi</h1>\n"));
    let out = exchange(&mut server, b"GET /docs/ HTTP/1.1\r\nHost: h\r\n\r\n");
    assert!(out.ends_with("\r\n\r\ndocs"));
}

#[test]
fn not_found_and_forbidden_keep_the_connection() {
    let mut server = HttpServer::new();
    let out = exchange(&mut server, b"GET /missing HTTP/1.1\r\nHost: h\r\n\r\n");
    assert!(out.starts_with("HTTP/1.1 404 Not Found\r\n"));
    assert!(out.ends_with("Content-Length: 14\r\n\r\n404 Not Found\n"));
    // HEAD never gets a body, not even an error page.
    let out = exchange(&mut server, b"HEAD /missing HTTP/1.1\r\nHost: h\r\n\r\n");
    assert!(out.ends_with("Content-Length: 14\r\n\r\n"), "{out}");
    let out = exchange(&mut server, b"HEAD /../x HTTP/1.1\r\nHost: h\r\n\r\n");
    assert!(
        out.starts_with("HTTP/1.1 403 ") && out.ends_with("\r\n\r\n"),
        "{out}"
    );
    let out = exchange(
        &mut server,
        b"GET /docs/../../etc/passwd HTTP/1.1\r\nHost: h\r\n\r\n",
    );
    assert!(out.starts_with("HTTP/1.1 403 Forbidden\r\n"));
    let out = exchange(&mut server, b"GET /%2e%2e/x HTTP/1.1\r\nHost: h\r\n\r\n");
    assert!(out.starts_with("HTTP/1.1 403 Forbidden\r\n"));
    assert!(!server.wants_close());
    let out = exchange(&mut server, b"GET /notes.txt HTTP/1.1\r\nHost: h\r\n\r\n");
    assert!(out.starts_with("HTTP/1.1 200 OK\r\n"));
}

#[test]
fn pipelined_requests_are_answered_in_order() {
    let mut server = HttpServer::new();
    let out = exchange(
        &mut server,
        b"GET /notes.txt HTTP/1.1\r\nHost: h\r\n\r\n\
          HEAD /missing HTTP/1.1\r\nHost: h\r\n\r\n\
          GET /index.html HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n\
          GET /notes.txt HTTP/1.1\r\nHost: h\r\n\r\n",
    );
    assert_eq!(
        status_lines(&out),
        vec![
            "HTTP/1.1 200 OK",
            "HTTP/1.1 404 Not Found",
            "HTTP/1.1 200 OK"
        ]
    );
    // The third asked to close: the fourth is never answered.
    assert!(out.ends_with("Connection: close\r\n\r\n<h1>hi</h1>\n"));
    assert!(server.wants_close());
    assert_eq!(server.state_name(), "CLOSED");
    assert_eq!(server.requests_served(), 3);
}

#[test]
fn a_request_split_into_single_bytes() {
    let mut server = HttpServer::new();
    let request = b"GET /notes.txt HTTP/1.1\r\nHost: h\r\n\r\n";
    let mut out = String::new();
    for b in request.iter() {
        out.push_str(&exchange(&mut server, std::slice::from_ref(b)));
    }
    assert!(out.starts_with("HTTP/1.1 200 OK\r\n"));
    assert!(out.ends_with("hello"));
}

#[test]
fn http_1_0_closes_unless_keep_alive() {
    let mut server = HttpServer::new();
    let out = exchange(
        &mut server,
        b"GET /notes.txt HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
    );
    assert!(out.contains("Connection: keep-alive\r\n"));
    assert!(!server.wants_close());
    let out = exchange(&mut server, b"GET /notes.txt HTTP/1.0\r\n\r\n");
    assert!(out.contains("Connection: close\r\n"));
    assert!(server.wants_close());
}

#[test]
fn other_methods_get_501_after_their_body_is_skipped() {
    let mut server = HttpServer::new();
    let out = exchange(
        &mut server,
        b"POST /form HTTP/1.1\r\nHost: h\r\nContent-Length: 11\r\n\r\nname=alice\n\
          GET /notes.txt HTTP/1.1\r\nHost: h\r\n\r\n",
    );
    assert_eq!(
        status_lines(&out),
        vec!["HTTP/1.1 501 Not Implemented", "HTTP/1.1 200 OK"]
    );
    // The body arriving in pieces.
    let mut server = HttpServer::new();
    let mut out = exchange(
        &mut server,
        b"PUT /x HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\n\r\nab",
    );
    assert_eq!(server.state_name(), "DISCARDING-BODY");
    out.push_str(&exchange(
        &mut server,
        b"cdGET /notes.txt HTTP/1.1\r\nHost: h\r\n\r\n",
    ));
    assert_eq!(
        status_lines(&out),
        vec!["HTTP/1.1 501 Not Implemented", "HTTP/1.1 200 OK"]
    );
    // A lowercase method is another method.
    let out = exchange(&mut server, b"get /notes.txt HTTP/1.1\r\nHost: h\r\n\r\n");
    assert!(out.starts_with("HTTP/1.1 501 "));
}

#[test]
fn errors_that_lose_the_framing_close() {
    let cases: &[(&[u8], &str)] = &[
        (b"GET /a\r\n", "400 Bad Request"),
        (b"GET /a HTTP/1.1\r\n\r\n", "400 Bad Request"),
        (
            b"GET /a HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
            "400 Bad Request",
        ),
        (b"GET /a HTTP/1.1\r\nHost : a\r\n\r\n", "400 Bad Request"),
        (
            b"GET /a HTTP/1.1\r\nHost: a\r\n folded\r\n\r\n",
            "400 Bad Request",
        ),
        (
            b"GET /a HTTP/1.1\r\nHost: a\r\nContent-Length: x\r\n\r\n",
            "400 Bad Request",
        ),
        (b"GET /a%zz HTTP/1.1\r\nHost: a\r\n\r\n", "400 Bad Request"),
        (b"GET /a HTTP/3.0\r\n", "505 HTTP Version Not Supported"),
        (
            b"POST /a HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n",
            "501 Not Implemented",
        ),
        (
            b"POST /a HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999\r\n\r\n",
            "413 Content Too Large",
        ),
    ];
    for (input, status) in cases {
        let mut server = HttpServer::new();
        let out = exchange(&mut server, input);
        assert!(
            out.starts_with(&format!("HTTP/1.1 {status}\r\n")),
            "{input:?} gave {out}"
        );
        assert!(out.contains("Connection: close\r\n"));
        assert!(server.wants_close(), "{input:?}");
    }
}

#[test]
fn limits_give_414_and_431() {
    let limits = HttpLimits {
        max_request_line: 40,
        max_field_line: 30,
        max_fields: 3,
        max_header_bytes: 60,
        max_body: 10,
    };
    let mut server = HttpServer::with_limits(limits);
    let long = format!("GET /{} HTTP/1.1\r\n", "a".repeat(100));
    let out = exchange(&mut server, long.as_bytes());
    assert!(out.starts_with("HTTP/1.1 414 URI Too Long\r\n"), "{out}");
    assert_eq!(
        transcript(&mut server)[0],
        Transcript::Command("(request line longer than 40 bytes)".into())
    );
    // A line that never ends is cut off without waiting for its end.
    let mut server = HttpServer::with_limits(limits);
    let out = exchange(&mut server, &[b'A'; 500]);
    assert!(out.starts_with("HTTP/1.1 414 "), "{out}");

    let mut server = HttpServer::with_limits(limits);
    let out = exchange(
        &mut server,
        b"GET / HTTP/1.1\r\nHost: h\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n",
    );
    assert!(out.starts_with("HTTP/1.1 431 "), "{out}");
    let mut server = HttpServer::with_limits(limits);
    let field = format!("GET / HTTP/1.1\r\nX-Long: {}\r\n", "b".repeat(40));
    let out = exchange(&mut server, field.as_bytes());
    assert!(out.starts_with("HTTP/1.1 431 "), "{out}");
}

#[test]
fn absolute_form_targets_and_leading_empty_lines() {
    let mut server = HttpServer::new();
    let out = exchange(
        &mut server,
        b"\r\n\r\nGET http://files.example/notes.txt?x=1 HTTP/1.1\r\nHost: files.example\r\n\r\n",
    );
    assert!(out.starts_with("HTTP/1.1 200 OK\r\n"));
}

#[test]
fn input_after_close_is_ignored() {
    let mut server = HttpServer::new();
    server.handle_close();
    assert_eq!(
        exchange(&mut server, b"GET / HTTP/1.1\r\nHost: h\r\n\r\n"),
        ""
    );
    assert_eq!(server.state_name(), "CLOSED");
}

fn plausible_request() -> impl Strategy<Value = Vec<u8>> {
    let methods = prop::sample::select(vec!["GET", "HEAD", "POST", "get", "BREW", ""]);
    let targets = prop::sample::select(vec![
        "/",
        "/notes.txt",
        "/../x",
        "/docs/",
        "http://h/index.html",
        "*",
        "/%",
        "/a%20b",
    ]);
    let versions = prop::sample::select(vec!["HTTP/1.1", "HTTP/1.0", "HTTP/2.0", "HTTP/1", ""]);
    let fields = prop::collection::vec(
        prop::sample::select(vec![
            "Host: h",
            "Connection: close",
            "Connection: keep-alive",
            "Content-Length: 3",
            "Content-Length: x",
            "Transfer-Encoding: chunked",
            " folded",
            "Bad Name: x",
        ]),
        0..4,
    );
    (methods, targets, versions, fields, "[a-z]{0,4}").prop_map(|(m, t, v, fs, body)| {
        let mut text = format!("{m} {t} {v}\r\n");
        for f in fs {
            text.push_str(f);
            text.push_str("\r\n");
        }
        text.push_str("\r\n");
        text.push_str(&body);
        text.into_bytes()
    })
}

/// Every response the server writes starts with a status line and
/// has a Content-Length.
fn check_output(server: &mut HttpServer) -> usize {
    let mut responses = 0;
    while let Some(chunk) = server.poll_output() {
        assert!(chunk.starts_with(b"HTTP/1.1 "));
        let text = String::from_utf8_lossy(&chunk);
        assert!(text.contains("Content-Length: "));
        responses += 1;
    }
    responses
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn arbitrary_bytes_never_panic(chunks in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..300), 0..8)) {
        let mut server = HttpServer::with_limits(HttpLimits { max_request_line: 100, max_field_line: 100, ..HttpLimits::default() });
        for chunk in &chunks {
            server.handle_input(chunk, &files(), 0);
            check_output(&mut server);
            prop_assert!(STATES.contains(&server.state_name()));
        }
    }

    #[test]
    fn plausible_requests_are_answered_or_closed(requests in prop::collection::vec(plausible_request(), 1..6)) {
        let mut server = HttpServer::new();
        for request in &requests {
            let before = server.requests_served();
            let was_closed = server.state_name() == "CLOSED";
            server.handle_input(request, &files(), 0);
            let responses = check_output(&mut server);
            if was_closed {
                prop_assert_eq!(responses, 0);
            }
            prop_assert_eq!(server.requests_served() - before, responses as u64);
        }
        // Each request ends with its empty line, so none is left
        // waiting for its head: every one was answered unless the
        // connection closed or a body is still expected.
        prop_assert!(
            server.wants_close()
                || server.state_name() != "READING-HEADERS"
        );
    }
}
