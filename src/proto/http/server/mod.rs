//! The HTTP/1.1 origin server: `GET` and `HEAD` for static files.
//!
//! [`HttpServer`] is one connection. It reads a request line and header
//! fields (RFC 9112 §2.1), decides on an answer, and frames every response
//! with `Content-Length` so the connection can carry the next request
//! (RFC 9112 §6.3, §9.3). Requests may arrive split anywhere or several at
//! once (pipelining, RFC 9112 §9.3.2); responses leave in request order.
//!
//! The answers it knows:
//!
//! | status | when |
//! |---|---|
//! | 200 | the file exists (for `/dir/`, the file `/dir/index.html`), with `Last-Modified` and a strong `ETag` |
//! | 206 | one byte range of it (`Range: bytes=0-99`, `bytes=-500`, `bytes=100-`) |
//! | 304 | `If-None-Match` names its ETag, or (without it) `If-Modified-Since` is not older than it |
//! | 416 | the range starts past its end |
//! | 400 | malformed request line, header field, target or framing; missing `Host` |
//! | 403 | the path climbs above the root (`/../etc/passwd`) |
//! | 404 | no such file |
//! | 413 | a request body over the limit |
//! | 414 | request line over the limit |
//! | 431 | too many or too large header fields |
//! | 501 | a method other than `GET`/`HEAD`, or a transfer coding |
//! | 505 | an HTTP major version other than 1 |
//!
//! After 400, 413, 414, 431, 505 and a request with a transfer coding the
//! server closes the connection: it can no longer tell where the next
//! request starts. It is not a general server: request bodies are read and
//! thrown away, and there is no chunked coding, no multi-range (a
//! request for several ranges gets the whole file) and no `If-Match` or
//! `If-Range`.
//!
//! The pieces: this file is the connection (reading requests, framing
//! responses, keeping the connection or closing it); `answer` decides what
//! a request gets (the file, a range of it, 304, an error); `tests` are
//! the scripted exchanges.

use super::message::{
    self, HeaderField, PathError, RequestLine, RequestLineError, Version, connection_has,
    header_count,
};
use super::*;
use crate::proto::line::{Line, LineReader};
use crate::proto::{Session, Transcript};
use bytes::Bytes;
use std::collections::VecDeque;

mod answer;
#[cfg(test)]
mod tests;

use answer::{Response, conditional, file_response};
pub use answer::{etag_of, http_date};

/// The server's states, for the visualizer.
pub const STATES: &[&str] = &[
    "WAITING-REQUEST",
    "READING-HEADERS",
    "DISCARDING-BODY",
    "CLOSED",
];

/// The server's state diagram: `(from, to, label)`.
pub const TRANSITIONS: &[crate::proto::Transition] = &[
    ("WAITING-REQUEST", "READING-HEADERS", "request line"),
    ("WAITING-REQUEST", "CLOSED", "bad request line: 400/414/505"),
    ("READING-HEADERS", "READING-HEADERS", "header field"),
    (
        "READING-HEADERS",
        "WAITING-REQUEST",
        "empty line: response sent",
    ),
    (
        "READING-HEADERS",
        "DISCARDING-BODY",
        "empty line, Content-Length > 0",
    ),
    ("READING-HEADERS", "CLOSED", "Connection: close, or 400/431"),
    (
        "DISCARDING-BODY",
        "WAITING-REQUEST",
        "body read: response sent",
    ),
    ("DISCARDING-BODY", "CLOSED", "body read, Connection: close"),
    ("WAITING-REQUEST", "CLOSED", "peer closed"),
];

/// What the server needs from the world: the files it serves.
pub trait HttpBackend {
    /// The content of the file at `path`, or `None` if there is none.
    ///
    /// `path` is absolute and normalized: it starts with `/`, has no `.`,
    /// `..` or empty segments, and is percent-decoded (`/docs/a b.txt`).
    /// A directory is never asked for: the server asks for its
    /// `index.html` instead.
    fn read_file(&self, path: &str) -> Option<Bytes>;

    /// When the file at `path` last changed, Unix seconds, if known: the
    /// `Last-Modified` field and `If-Modified-Since` (RFC 9110 §8.8.2).
    fn modified(&self, path: &str) -> Option<i64> {
        let _ = path;
        None
    }
}

/// Size limits that keep a hostile client from growing the server's
/// memory without bound.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HttpLimits {
    /// Longest request line, in bytes, without CRLF. RFC 9112 §3
    /// recommends supporting at least 8000 octets. Over it: 414.
    pub max_request_line: usize,
    /// Longest header field line, without CRLF. Over it: 431.
    pub max_field_line: usize,
    /// Most header fields in one request. Over it: 431.
    pub max_fields: usize,
    /// Most bytes of header fields in one request. Over it: 431.
    pub max_header_bytes: usize,
    /// Largest request body the server reads (and discards). Over it: 413.
    pub max_body: u64,
}

impl Default for HttpLimits {
    fn default() -> Self {
        HttpLimits {
            max_request_line: 8000,
            max_field_line: 8000,
            max_fields: 100,
            max_header_bytes: 64 * 1024,
            max_body: 1024 * 1024,
        }
    }
}

/// The `Server` field of every response (RFC 9110 §10.2.4).
const SERVER_NAME: &str = "wiretale";
/// Transcript lines longer than this are cut, so traces stay readable.
const MAX_TRANSCRIPT_LINE: usize = 200;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Between requests: the next line is a request line.
    WaitingRequest,
    /// After the request line, until the empty line.
    ReadingHeaders,
    /// Reading the body of a request to find where the next one starts.
    DiscardingBody,
    /// The connection is over (or about to be, once output is flushed).
    Closed,
}

/// A request whose head is being read.
#[derive(Debug, Clone)]
struct PendingRequest {
    line: RequestLine,
    fields: Vec<HeaderField>,
    field_bytes: usize,
}

/// One HTTP connection, server side.
#[derive(Debug, Clone)]
pub struct HttpServer {
    limits: HttpLimits,
    reader: LineReader,
    state: State,
    pending: Option<PendingRequest>,
    body_remaining: u64,
    output: VecDeque<Vec<u8>>,
    transcript: VecDeque<Transcript>,
    close_requested: bool,
    requests_served: u64,
}

impl Default for HttpServer {
    fn default() -> Self {
        HttpServer::new()
    }
}

impl HttpServer {
    /// A server connection with the default [`HttpLimits`]. HTTP servers
    /// speak only when spoken to: there is no greeting.
    pub fn new() -> HttpServer {
        HttpServer::with_limits(HttpLimits::default())
    }

    /// A server connection with the given limits.
    pub fn with_limits(limits: HttpLimits) -> HttpServer {
        // One reader for both kinds of line; the limit of each kind is
        // checked separately below. +2 for the CRLF the reader counts.
        let longest = limits.max_request_line.max(limits.max_field_line) + 2;
        HttpServer {
            limits,
            reader: LineReader::new(longest),
            state: State::WaitingRequest,
            pending: None,
            body_remaining: 0,
            output: VecDeque::new(),
            transcript: VecDeque::new(),
            close_requested: false,
            requests_served: 0,
        }
    }

    /// How many responses the server has sent (errors included).
    pub fn requests_served(&self) -> u64 {
        self.requests_served
    }

    /// Feeds bytes received from the client. `now_unix` (seconds) dates
    /// the responses (`Date`, RFC 9110 §6.6.1).
    pub fn handle_input<B: HttpBackend + ?Sized>(
        &mut self,
        data: &[u8],
        backend: &B,
        now_unix: i64,
    ) {
        if self.state == State::Closed {
            return;
        }
        self.reader.push(data);
        loop {
            let progressed = match self.state {
                State::Closed => false,
                State::WaitingRequest => self.read_request_line(now_unix),
                State::ReadingHeaders => self.read_field_line(backend, now_unix),
                State::DiscardingBody => self.discard_body(backend, now_unix),
            };
            if !progressed {
                break;
            }
        }
    }

    /// One step in `WaitingRequest`; false when more input is needed.
    fn read_request_line(&mut self, now_unix: i64) -> bool {
        match self.reader.next_line() {
            None => false,
            Some(Line::TooLong) => {
                let limit = self.limits.max_request_line;
                self.command(format!("(request line longer than {limit} bytes)"));
                self.fail(URI_TOO_LONG, now_unix);
                true
            }
            // RFC 9112 §2.2: ignore empty lines before a request line
            // (some clients send an extra CRLF after a body).
            Some(Line::Complete(line)) if line.is_empty() => true,
            Some(Line::Complete(line)) => {
                self.command(String::from_utf8_lossy(&line).into_owned());
                if line.len() > self.limits.max_request_line {
                    self.fail(URI_TOO_LONG, now_unix);
                    return true;
                }
                match message::parse_request_line(&line) {
                    Ok(request_line) => {
                        self.pending = Some(PendingRequest {
                            line: request_line,
                            fields: Vec::new(),
                            field_bytes: 0,
                        });
                        self.state = State::ReadingHeaders;
                    }
                    Err(RequestLineError::Malformed) => self.fail(BAD_REQUEST, now_unix),
                    Err(RequestLineError::VersionNotSupported) => {
                        self.fail(HTTP_VERSION_NOT_SUPPORTED, now_unix)
                    }
                }
                true
            }
        }
    }

    /// One step in `ReadingHeaders`; false when more input is needed.
    fn read_field_line<B: HttpBackend + ?Sized>(&mut self, backend: &B, now_unix: i64) -> bool {
        let line = match self.reader.next_line() {
            None => return false,
            Some(Line::TooLong) => {
                self.fail(REQUEST_HEADER_FIELDS_TOO_LARGE, now_unix);
                return true;
            }
            Some(Line::Complete(line)) => line,
        };
        if line.is_empty() {
            // RFC 9112 §2.1: the empty line ends the header section.
            self.end_of_header_section(backend, now_unix);
            return true;
        }
        let Some(pending) = self.pending.as_mut() else {
            self.fail(BAD_REQUEST, now_unix);
            return true;
        };
        pending.field_bytes += line.len() + 2;
        let too_large = line.len() > self.limits.max_field_line
            || pending.fields.len() >= self.limits.max_fields
            || pending.field_bytes > self.limits.max_header_bytes;
        if too_large {
            self.fail(REQUEST_HEADER_FIELDS_TOO_LARGE, now_unix);
            return true;
        }
        match message::parse_header_field(&line) {
            Some(field) => pending.fields.push(field),
            None => self.fail(BAD_REQUEST, now_unix),
        }
        true
    }

    /// The header section is complete: check the framing, then answer or
    /// first skip the body.
    fn end_of_header_section<B: HttpBackend + ?Sized>(&mut self, backend: &B, now_unix: i64) {
        let Some(pending) = self.pending.as_ref() else {
            self.fail(BAD_REQUEST, now_unix);
            return;
        };
        let fields = &pending.fields;
        // RFC 9112 §3.2: an HTTP/1.1 request must carry exactly one Host
        // field; a server must answer 400 otherwise.
        let hosts = header_count(fields, "host");
        if hosts > 1 || (pending.line.version == Version::HTTP_1_1 && hosts == 0) {
            self.fail(BAD_REQUEST, now_unix);
            return;
        }
        // RFC 9112 §6.1: a server that does not understand a transfer
        // coding answers 501; without Content-Length we cannot find the
        // end of the body, so the connection must close too.
        if header_count(fields, "transfer-encoding") > 0 {
            self.fail(NOT_IMPLEMENTED, now_unix);
            return;
        }
        match content_length(fields) {
            Err(()) => self.fail(BAD_REQUEST, now_unix),
            Ok(n) if n > self.limits.max_body => self.fail(CONTENT_TOO_LARGE, now_unix),
            Ok(0) => self.answer(backend, now_unix),
            Ok(n) => {
                // RFC 9112 §6.3: the body is Content-Length bytes; read
                // them so the next request is found where it starts.
                self.body_remaining = n;
                self.state = State::DiscardingBody;
            }
        }
    }

    /// One step in `DiscardingBody`; false when more input is needed.
    fn discard_body<B: HttpBackend + ?Sized>(&mut self, backend: &B, now_unix: i64) -> bool {
        let available = self.reader.buffered() as u64;
        if available == 0 {
            return false;
        }
        let n = available.min(self.body_remaining);
        self.reader.take_raw(n as usize);
        self.body_remaining -= n;
        if self.body_remaining == 0 {
            self.answer(backend, now_unix);
        }
        true
    }

    /// Answers a complete, well-framed request.
    fn answer<B: HttpBackend + ?Sized>(&mut self, backend: &B, now_unix: i64) {
        let Some(request) = self.pending.take() else {
            self.fail(BAD_REQUEST, now_unix);
            return;
        };
        self.state = State::WaitingRequest;
        let mut keep_alive = wants_keep_alive(&request);
        // RFC 9110 §9.3.2: HEAD gets the same header fields as GET, and
        // never a body, whatever the status.
        let head_only = request.line.method == "HEAD";
        // RFC 9110 §9.1: methods are case-sensitive; "get" is not GET.
        let response = if request.line.method != "GET" && !head_only {
            Response::error(NOT_IMPLEMENTED)
        } else {
            match message::request_path(&request.line.target) {
                Ok(path) => conditional(file_response(backend, path), &request.fields),
                Err(PathError::Malformed) => {
                    keep_alive = false;
                    Response::error(BAD_REQUEST)
                }
                Err(PathError::Escapes) => Response::error(FORBIDDEN),
            }
        };
        self.send(
            response,
            head_only,
            keep_alive,
            request.line.version,
            now_unix,
        );
    }

    /// Sends an error response and closes: the framing is lost.
    fn fail(&mut self, status: u16, now_unix: i64) {
        let (version, head_only) = match self.pending.take() {
            Some(p) => (p.line.version, p.line.method == "HEAD"),
            None => (Version::HTTP_1_1, false),
        };
        self.send(Response::error(status), head_only, false, version, now_unix);
    }

    /// Writes a response: status line, header fields, body.
    fn send(
        &mut self,
        response: Response,
        head_only: bool,
        keep_alive: bool,
        request_version: Version,
        now_unix: i64,
    ) {
        // RFC 9110 §2.5: a server answers with the highest minor version
        // it supports within the request's major version.
        let status_line = format!(
            "HTTP/1.1 {} {}",
            response.status,
            reason_phrase(response.status)
        );
        let mut head = format!("{status_line}\r\n");
        head.push_str(&format!("Date: {}\r\n", http_date(now_unix)));
        head.push_str(&format!("Server: {SERVER_NAME}\r\n"));
        head.push_str(&format!("Content-Type: {}\r\n", response.content_type));
        if let Some(t) = response.modified {
            head.push_str(&format!("Last-Modified: {}\r\n", http_date(t)));
        }
        if let Some(tag) = &response.etag {
            head.push_str(&format!("ETag: {tag}\r\n"));
        }
        if response.ranges {
            // RFC 9110 §14.3: byte ranges of this resource may be asked for.
            head.push_str("Accept-Ranges: bytes\r\n");
        }
        if let Some(range) = &response.content_range {
            head.push_str(&format!("Content-Range: {range}\r\n"));
        }
        // RFC 9110 §8.6: a response to HEAD carries the Content-Length the
        // GET would have had, but no body (§9.3.2).
        // §8.6 again: a 304 has no content, and may not claim a length
        // other than the 200's: it sends none.
        if response.status != NOT_MODIFIED {
            head.push_str(&format!("Content-Length: {}\r\n", response.body.len()));
        }
        if !keep_alive {
            // RFC 9112 §9.6: announce the close so the client does not send
            // more requests on this connection.
            head.push_str("Connection: close\r\n");
        } else if request_version == Version::HTTP_1_0 {
            // An HTTP/1.0 client closes unless told the connection persists.
            head.push_str("Connection: keep-alive\r\n");
        }
        head.push_str("\r\n");
        let mut bytes = head.into_bytes();
        if !head_only {
            bytes.extend_from_slice(&response.body);
        }
        self.output.push_back(bytes);
        self.transcript.push_back(Transcript::Reply {
            code: Some(response.status),
            text: status_line,
        });
        if !head_only && !response.body.is_empty() {
            let n = response.body.len();
            self.transcript
                .push_back(Transcript::Data(format!("({n} bytes of body)")));
        }
        self.requests_served += 1;
        if !keep_alive {
            self.state = State::Closed;
            self.close_requested = true;
        }
    }

    fn command(&mut self, text: String) {
        self.transcript
            .push_back(Transcript::Command(shorten(text)));
    }
}

/// RFC 9112 §9.3: HTTP/1.1 connections persist unless `Connection: close`;
/// HTTP/1.0 ones close unless `Connection: keep-alive` (RFC 9112 §C.2.2).
fn wants_keep_alive(request: &PendingRequest) -> bool {
    let fields = &request.fields;
    if connection_has(fields, "close") {
        return false;
    }
    request.line.version == Version::HTTP_1_1 || connection_has(fields, "keep-alive")
}

/// The request's Content-Length (0 if absent), or `Err` if the fields
/// disagree or are not numbers (RFC 9112 §6.3 item 5: answer 400).
fn content_length(fields: &[HeaderField]) -> Result<u64, ()> {
    let values: Vec<&str> = fields
        .iter()
        .filter(|f| f.name.eq_ignore_ascii_case("content-length"))
        .map(|f| f.value.as_str())
        .collect();
    if values.is_empty() {
        return Ok(0);
    }
    message::parse_content_length(&values.join(",")).ok_or(())
}

/// Cuts a transcript line to a readable length.
fn shorten(mut text: String) -> String {
    if text.len() > MAX_TRANSCRIPT_LINE {
        let mut cut = MAX_TRANSCRIPT_LINE;
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        text.truncate(cut);
        text.push_str("...");
    }
    text
}

impl Session for HttpServer {
    fn poll_output(&mut self) -> Option<Vec<u8>> {
        self.output.pop_front()
    }

    fn poll_transcript(&mut self) -> Option<Transcript> {
        self.transcript.pop_front()
    }

    fn wants_close(&self) -> bool {
        self.close_requested
    }

    fn handle_close(&mut self) {
        self.state = State::Closed;
        // Like every machine's: once the peer is gone there is nothing
        // more to say, so the connection is to be closed.
        self.close_requested = true;
    }

    fn state_name(&self) -> &'static str {
        match self.state {
            State::WaitingRequest => "WAITING-REQUEST",
            State::ReadingHeaders => "READING-HEADERS",
            State::DiscardingBody => "DISCARDING-BODY",
            State::Closed => "CLOSED",
        }
    }
}
