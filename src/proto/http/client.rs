//! The HTTP/1.1 client: a scripted list of requests over one persistent
//! connection.
//!
//! [`HttpClient`] sends `GET` and `HEAD` requests in order and parses each
//! response: status line, header fields and a body framed by
//! `Content-Length` (or, without it, by the end of the connection;
//! RFC 9112 §6.3). By default it waits for each response before sending
//! the next request; [`HttpClient::pipelined`] sends them all at once
//! (RFC 9112 §9.3.2). The last request carries `Connection: close`, so the
//! server ends the connection when the script is done.
//!
//! It is not a browser: no redirects, no chunked coding, no cookies, no
//! retries on a new connection.

use super::message::{self, HeaderField};
use crate::proto::line::{Line, LineReader};
use crate::proto::{Session, Transcript};
use bytes::Bytes;
use std::collections::VecDeque;

/// The client's states, for the visualizer.
pub const STATES: &[&str] = &[
    "SENDING-REQUEST",
    "WAITING-STATUS",
    "READING-HEADERS",
    "READING-BODY",
    "DONE",
    "CLOSED",
];

/// The client's state diagram: `(from, to, label)`.
pub const TRANSITIONS: &[crate::proto::Transition] = &[
    ("SENDING-REQUEST", "WAITING-STATUS", "request sent"),
    ("WAITING-STATUS", "READING-HEADERS", "status line"),
    (
        "READING-HEADERS",
        "READING-BODY",
        "empty line, body follows",
    ),
    ("READING-HEADERS", "SENDING-REQUEST", "empty line, no body"),
    (
        "READING-BODY",
        "SENDING-REQUEST",
        "Content-Length bytes read",
    ),
    ("READING-BODY", "DONE", "last response read"),
    ("READING-HEADERS", "DONE", "last response read"),
    (
        "WAITING-STATUS",
        "CLOSED",
        "malformed response / peer closed",
    ),
    ("DONE", "CLOSED", "connection closed"),
];

/// Longest status or header line the client accepts, in bytes.
const MAX_LINE: usize = 8192;
/// Most header fields in one response.
const MAX_FIELDS: usize = 100;
/// Largest response body the client keeps, in bytes.
pub const MAX_BODY: u64 = 64 * 1024 * 1024;
/// The `User-Agent` field of every request (RFC 9110 §10.1.5).
const USER_AGENT: &str = "wiretale";

/// A request the client sends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientRequest {
    /// `GET` or `HEAD` (any token is sent as is).
    pub method: String,
    /// The path, e.g. `/index.html`; bytes a target may not contain are
    /// percent-encoded when sent.
    pub path: String,
}

impl ClientRequest {
    /// `GET path`.
    pub fn get(path: &str) -> ClientRequest {
        ClientRequest {
            method: "GET".to_string(),
            path: path.to_string(),
        }
    }

    /// `HEAD path`.
    pub fn head(path: &str) -> ClientRequest {
        ClientRequest {
            method: "HEAD".to_string(),
            path: path.to_string(),
        }
    }
}

/// A response the client received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpResponse {
    /// The request it answers.
    pub request: ClientRequest,
    /// The status code, e.g. 200.
    pub status: u16,
    /// The reason phrase, e.g. `OK`.
    pub reason: String,
    /// The header fields, in order, as `(name, value)`.
    pub headers: Vec<(String, String)>,
    /// The body (empty for `HEAD`).
    pub body: Bytes,
}

impl HttpResponse {
    /// The value of the first header field called `name`
    /// (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    SendingRequest,
    WaitingStatus,
    ReadingHeaders,
    ReadingBody,
    Done,
    Closed,
}

/// How the end of the body being read is found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BodyFraming {
    Length(u64),
    UntilClose,
}

/// A response whose head or body is being read.
#[derive(Debug, Clone)]
struct PartialResponse {
    status: u16,
    reason: String,
    fields: Vec<HeaderField>,
    body: Vec<u8>,
}

/// One HTTP connection, client side.
#[derive(Debug, Clone)]
pub struct HttpClient {
    host: String,
    to_send: VecDeque<ClientRequest>,
    in_flight: VecDeque<ClientRequest>,
    total: usize,
    pipelined: bool,
    reader: LineReader,
    state: State,
    current: Option<PartialResponse>,
    framing: BodyFraming,
    responses: Vec<HttpResponse>,
    transcript: VecDeque<Transcript>,
    error: Option<String>,
}

impl HttpClient {
    /// A client that will send `requests` to the server named `host` (the
    /// value of the `Host` field, RFC 9112 §3.2), one at a time.
    pub fn new(host: &str, requests: Vec<ClientRequest>) -> HttpClient {
        let total = requests.len();
        HttpClient {
            host: host.to_string(),
            to_send: requests.into(),
            in_flight: VecDeque::new(),
            total,
            pipelined: false,
            reader: LineReader::new(MAX_LINE),
            state: if total == 0 {
                State::Done
            } else {
                State::SendingRequest
            },
            current: None,
            framing: BodyFraming::Length(0),
            responses: Vec::new(),
            transcript: VecDeque::new(),
            error: None,
        }
    }

    /// Sends all requests at once instead of waiting for each response.
    pub fn pipelined(mut self, yes: bool) -> HttpClient {
        self.pipelined = yes;
        self
    }

    /// The responses received so far, in request order.
    pub fn responses(&self) -> &[HttpResponse] {
        &self.responses
    }

    /// Why the client gave up, if it did (malformed response, early
    /// close).
    pub fn error(&self) -> Option<&str> {
        self.error.as_deref()
    }

    /// True once every request has its response, or the client gave up.
    pub fn is_done(&self) -> bool {
        matches!(self.state, State::Done | State::Closed)
    }

    /// Feeds bytes received from the server.
    pub fn handle_input(&mut self, data: &[u8]) {
        if self.is_done() {
            return;
        }
        self.reader.push(data);
        while self.step() {}
    }

    /// One parsing step; false when more input is needed.
    fn step(&mut self) -> bool {
        match self.state {
            State::SendingRequest | State::Done | State::Closed => false,
            State::WaitingStatus => self.read_status_line(),
            State::ReadingHeaders => self.read_field_line(),
            State::ReadingBody => self.read_body(),
        }
    }

    fn read_status_line(&mut self) -> bool {
        let line = match self.reader.next_line() {
            None => return false,
            Some(Line::TooLong) => return self.give_up("status line too long"),
            Some(Line::Complete(line)) => line,
        };
        let Some(status) = message::parse_status_line(&line) else {
            return self.give_up("malformed status line");
        };
        self.transcript.push_back(Transcript::Reply {
            code: Some(status.status),
            text: String::from_utf8_lossy(&line).into_owned(),
        });
        self.current = Some(PartialResponse {
            status: status.status,
            reason: status.reason,
            fields: Vec::new(),
            body: Vec::new(),
        });
        self.state = State::ReadingHeaders;
        true
    }

    fn read_field_line(&mut self) -> bool {
        let line = match self.reader.next_line() {
            None => return false,
            Some(Line::TooLong) => return self.give_up("header field too long"),
            Some(Line::Complete(line)) => line,
        };
        if line.is_empty() {
            return self.end_of_header_section();
        }
        let Some(current) = self.current.as_mut() else {
            return self.give_up("header field without a status line");
        };
        if current.fields.len() >= MAX_FIELDS {
            return self.give_up("too many header fields");
        }
        match message::parse_header_field(&line) {
            Some(field) => {
                current.fields.push(field);
                true
            }
            None => self.give_up("malformed header field"),
        }
    }

    /// Decides how long the body is (RFC 9112 §6.3).
    fn end_of_header_section(&mut self) -> bool {
        let Some(current) = self.current.as_ref() else {
            return self.give_up("empty line without a status line");
        };
        let status = current.status;
        // RFC 9110 §15.2: 1xx responses are interim; the real one follows.
        if (100..200).contains(&status) {
            self.current = None;
            self.state = State::WaitingStatus;
            return true;
        }
        let is_head = self.in_flight.front().is_some_and(|r| r.method == "HEAD");
        // RFC 9112 §6.3 rule 1: no body after HEAD, 204 or 304.
        if is_head || status == 204 || status == 304 {
            self.finish_response();
            return true;
        }
        if message::header_count(&current.fields, "transfer-encoding") > 0 {
            return self.give_up("transfer codings are not supported");
        }
        let lengths: Vec<&str> = current
            .fields
            .iter()
            .filter(|f| f.name.eq_ignore_ascii_case("content-length"))
            .map(|f| f.value.as_str())
            .collect();
        self.framing = if lengths.is_empty() {
            // RFC 9112 §6.3 rule 8: the body ends when the server closes.
            BodyFraming::UntilClose
        } else {
            match message::parse_content_length(&lengths.join(",")) {
                Some(n) if n <= MAX_BODY => BodyFraming::Length(n),
                Some(_) => return self.give_up("response body too large"),
                None => return self.give_up("invalid Content-Length"),
            }
        };
        if self.framing == BodyFraming::Length(0) {
            self.finish_response();
        } else {
            self.state = State::ReadingBody;
        }
        true
    }

    fn read_body(&mut self) -> bool {
        let available = self.reader.buffered();
        if available == 0 {
            return false;
        }
        let Some(current) = self.current.as_mut() else {
            return self.give_up("body without a status line");
        };
        match self.framing {
            BodyFraming::Length(n) => {
                let missing = n as usize - current.body.len();
                let chunk = self.reader.take_raw(available.min(missing));
                current.body.extend_from_slice(&chunk);
                if current.body.len() as u64 == n {
                    self.finish_response();
                }
            }
            BodyFraming::UntilClose => {
                let chunk = self.reader.take_raw(available);
                current.body.extend_from_slice(&chunk);
                if current.body.len() as u64 > MAX_BODY {
                    return self.give_up("response body too large");
                }
            }
        }
        true
    }

    /// The response is complete: keep it and move on.
    fn finish_response(&mut self) {
        let (Some(current), Some(request)) = (self.current.take(), self.in_flight.pop_front())
        else {
            self.give_up("response without a request");
            return;
        };
        if !current.body.is_empty() {
            let n = current.body.len();
            self.transcript
                .push_back(Transcript::Data(format!("({n} bytes of body)")));
        }
        let server_closes = message::connection_has(&current.fields, "close");
        self.responses.push(HttpResponse {
            request,
            status: current.status,
            reason: current.reason,
            headers: current
                .fields
                .into_iter()
                .map(|f| (f.name, f.value))
                .collect(),
            body: Bytes::from(current.body),
        });
        self.state = if self.responses.len() == self.total {
            State::Done
        } else if server_closes {
            // RFC 9112 §9.6: no more requests on a connection the server
            // is closing; the rest of the script is not answered.
            self.error = Some("the server closed the connection early".to_string());
            State::Done
        } else if self.in_flight.is_empty() {
            State::SendingRequest
        } else {
            State::WaitingStatus
        };
    }

    fn give_up(&mut self, why: &str) -> bool {
        self.error = Some(why.to_string());
        self.state = State::Closed;
        false
    }

    /// The bytes of one request.
    fn format_request(&self, request: &ClientRequest, last: bool) -> String {
        let target = message::percent_encode_path(&request.path);
        let mut text = format!(
            "{} {target} HTTP/1.1\r\nHost: {}\r\nUser-Agent: {USER_AGENT}\r\n",
            request.method, self.host
        );
        if last {
            text.push_str("Connection: close\r\n");
        }
        text.push_str("\r\n");
        text
    }
}

impl Session for HttpClient {
    fn poll_output(&mut self) -> Option<Vec<u8>> {
        let may_send = match self.state {
            State::SendingRequest => true,
            State::WaitingStatus | State::ReadingHeaders | State::ReadingBody => self.pipelined,
            State::Done | State::Closed => false,
        };
        if !may_send {
            return None;
        }
        let request = self.to_send.pop_front()?;
        let text = self.format_request(&request, self.to_send.is_empty());
        let request_line = text.lines().next().unwrap_or_default().to_string();
        self.transcript.push_back(Transcript::Command(request_line));
        self.in_flight.push_back(request);
        if self.state == State::SendingRequest {
            self.state = State::WaitingStatus;
        }
        Some(text.into_bytes())
    }

    fn poll_transcript(&mut self) -> Option<Transcript> {
        self.transcript.pop_front()
    }

    fn wants_close(&self) -> bool {
        self.is_done()
    }

    fn handle_close(&mut self) {
        // RFC 9112 §6.3 rule 8: a body without Content-Length ends here.
        if self.state == State::ReadingBody && self.framing == BodyFraming::UntilClose {
            self.finish_response();
        }
        if self.state != State::Done {
            self.error
                .get_or_insert_with(|| "connection closed before the last response".to_string());
        }
        self.state = State::Closed;
    }

    fn state_name(&self) -> &'static str {
        match self.state {
            State::SendingRequest => "SENDING-REQUEST",
            State::WaitingStatus => "WAITING-STATUS",
            State::ReadingHeaders => "READING-HEADERS",
            State::ReadingBody => "READING-BODY",
            State::Done => "DONE",
            State::Closed => "CLOSED",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::CLIENT_STATES;
    use super::super::server::{HttpBackend, HttpServer};
    use super::*;

    struct Files;

    impl HttpBackend for Files {
        fn read_file(&self, path: &str) -> Option<Bytes> {
            match path {
                "/index.html" => Some(Bytes::from_static(b"<p>home</p>")),
                "/big.bin" => Some(Bytes::from(vec![1u8; 5000])),
                _ => None,
            }
        }
    }

    /// Pumps bytes both ways until neither side has anything to say,
    /// delivering the client's bytes `chunk` at a time.
    fn run(client: &mut HttpClient, server: &mut HttpServer, chunk: usize) {
        loop {
            let mut moved = false;
            while let Some(bytes) = client.poll_output() {
                for piece in bytes.chunks(chunk) {
                    server.handle_input(piece, &Files, 0);
                }
                moved = true;
            }
            while let Some(bytes) = server.poll_output() {
                for piece in bytes.chunks(chunk) {
                    client.handle_input(piece);
                }
                moved = true;
            }
            if !moved {
                break;
            }
        }
    }

    fn script() -> Vec<ClientRequest> {
        vec![
            ClientRequest::get("/"),
            ClientRequest::head("/big.bin"),
            ClientRequest::get("/missing"),
            ClientRequest::head("/missing"),
            ClientRequest::get("/big.bin"),
        ]
    }

    #[test]
    fn a_script_over_one_connection() {
        for (pipelined, chunk) in [(false, 10_000), (true, 10_000), (false, 7), (true, 1)] {
            let mut client = HttpClient::new("files.example", script()).pipelined(pipelined);
            let mut server = HttpServer::new();
            run(&mut client, &mut server, chunk);
            assert!(client.is_done());
            assert_eq!(client.error(), None);
            let r = client.responses();
            assert_eq!(r.len(), 5);
            assert_eq!((r[0].status, r[0].reason.as_str()), (200, "OK"));
            assert_eq!(r[0].body, Bytes::from_static(b"<p>home</p>"));
            assert_eq!(
                r[0].header("content-type"),
                Some("text/html; charset=utf-8")
            );
            assert_eq!(r[1].header("Content-Length"), Some("5000"));
            assert!(r[1].body.is_empty());
            assert_eq!(r[2].status, 404);
            assert_eq!((r[3].status, r[3].body.len()), (404, 0));
            assert_eq!(r[4].body.len(), 5000);
            assert_eq!(r[4].request, ClientRequest::get("/big.bin"));
            // The last request asked the server to close.
            assert!(server.wants_close());
            assert!(client.wants_close());
            assert_eq!(server.requests_served(), 5);
        }
    }

    #[test]
    fn requests_are_formatted_like_curl_would() {
        let mut client = HttpClient::new(
            "h",
            vec![ClientRequest::get("/a b"), ClientRequest::head("/")],
        );
        assert_eq!(
            client.poll_output().unwrap(),
            b"GET /a%20b HTTP/1.1\r\nHost: h\r\nUser-Agent: wiretale\r\n\r\n"
        );
        // Not pipelined: the second waits for the first response.
        assert_eq!(client.poll_output(), None);
        client.handle_input(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n");
        assert_eq!(
            client.poll_output().unwrap(),
            b"HEAD / HTTP/1.1\r\nHost: h\r\nUser-Agent: wiretale\r\nConnection: close\r\n\r\n"
        );
        let transcript: Vec<_> = std::iter::from_fn(|| client.poll_transcript()).collect();
        assert_eq!(
            transcript,
            vec![
                Transcript::Command("GET /a%20b HTTP/1.1".into()),
                Transcript::Reply {
                    code: Some(404),
                    text: "HTTP/1.1 404 Not Found".into()
                },
                Transcript::Command("HEAD / HTTP/1.1".into()),
            ]
        );
    }

    #[test]
    fn body_until_close_and_interim_responses() {
        let mut client = HttpClient::new("h", vec![ClientRequest::get("/")]);
        client.poll_output();
        client.handle_input(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.0 200 OK\r\n\r\nsome");
        client.handle_input(b" bytes");
        assert_eq!(client.state_name(), "READING-BODY");
        client.handle_close();
        assert_eq!(
            client.responses()[0].body,
            Bytes::from_static(b"some bytes")
        );
        assert_eq!(client.error(), None);
    }

    #[test]
    fn bad_responses_and_early_close() {
        let mut client = HttpClient::new("h", vec![ClientRequest::get("/")]);
        client.poll_output();
        client.handle_input(b"SMTP 220 hello\r\n");
        assert_eq!(client.error(), Some("malformed status line"));
        assert!(client.wants_close());

        let mut client =
            HttpClient::new("h", vec![ClientRequest::get("/"), ClientRequest::get("/")]);
        client.poll_output();
        client.handle_input(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc");
        client.handle_close();
        assert_eq!(
            client.error(),
            Some("connection closed before the last response")
        );
        assert!(client.responses().is_empty());
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(256))]

        #[test]
        fn arbitrary_responses_never_panic(chunks in proptest::collection::vec(proptest::collection::vec(proptest::prelude::any::<u8>(), 0..200), 0..6)) {
            let mut client = HttpClient::new("h", script()).pipelined(true);
            while client.poll_output().is_some() {}
            let mut w = crate::proto::contract::Walk::new("http client", CLIENT_STATES, super::super::CLIENT_TRANSITIONS, client.state_name());
            for chunk in &chunks {
                let walked = crate::proto::contract::feed_by_lines(&mut w, chunk, 4, |line| {
                    client.handle_input(line);
                    client.state_name()
                });
                proptest::prop_assert!(walked.is_ok(), "{}", walked.unwrap_err());
            }
            client.handle_close();
            proptest::prop_assert!(client.responses().len() <= 5);
            proptest::prop_assert!(CLIENT_STATES.contains(&client.state_name()));
        }
    }
}
