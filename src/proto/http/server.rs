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

use super::message::{
    self, HeaderField, PathError, RequestLine, RequestLineError, Version, connection_has,
    header_count,
};
use super::*;
use crate::proto::line::{Line, LineReader};
use crate::proto::{Session, Transcript};
use bytes::Bytes;
use std::collections::VecDeque;

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

/// A response about to be written.
struct Response {
    status: u16,
    content_type: &'static str,
    body: Bytes,
    /// A file's validators: its modification time and strong entity tag.
    modified: Option<i64>,
    etag: Option<String>,
    /// A file: byte ranges may be asked for.
    ranges: bool,
    /// A 206's or 416's `Content-Range`.
    content_range: Option<String>,
}

impl Response {
    /// A short plain-text page for an error status.
    fn error(status: u16) -> Response {
        Response {
            status,
            content_type: "text/plain; charset=utf-8",
            body: Bytes::from(format!("{status} {}\n", reason_phrase(status))),
            modified: None,
            etag: None,
            ranges: false,
            content_range: None,
        }
    }
}

/// A strong entity tag (RFC 9110 §8.8.3) for content: the same bytes give
/// the same tag, any change another; FNV-1a of the bytes and their length.
pub fn etag_of(body: &[u8]) -> String {
    format!("\"{:016x}-{:x}\"", crate::proto::fnv1a(body), body.len())
}

/// The value of a request field (the first one), trimmed.
fn field<'a>(fields: &'a [HeaderField], name: &str) -> Option<&'a str> {
    fields
        .iter()
        .find(|f| f.name.eq_ignore_ascii_case(name))
        .map(|f| f.value.trim())
}

/// Applies the request's preconditions and range to a file's 200
/// (RFC 9110 §13.2.2 order): If-None-Match, else If-Modified-Since, give
/// 304 for an unchanged file; then a single `Range: bytes=` gives 206 with
/// that part, or 416 when it is outside the file. Anything else is left
/// as it is (a multi-range or unknown unit gets the whole file, §14.2).
fn conditional(mut r: Response, fields: &[HeaderField]) -> Response {
    if r.status != OK {
        return r;
    }
    let not_modified = match (field(fields, "If-None-Match"), r.etag.as_deref()) {
        // §13.1.2: weak comparison; "*" matches any current file.
        (Some(list), Some(tag)) => list
            .split(',')
            .map(|t| t.trim().trim_start_matches("W/"))
            .any(|t| t == "*" || t == tag),
        (Some(_), None) => false,
        // §13.1.3: If-Modified-Since only without If-None-Match.
        (None, _) => match (
            field(fields, "If-Modified-Since").and_then(crate::proto::date::parse_http_date),
            r.modified,
        ) {
            (Some(since), Some(m)) => m <= since,
            _ => false,
        },
    };
    if not_modified {
        // §15.4.5: no content, but the validators.
        r.status = NOT_MODIFIED;
        r.body = Bytes::new();
        return r;
    }
    let Some(range) = field(fields, "Range") else {
        return r;
    };
    let len = r.body.len() as u64;
    match parse_range(range, len) {
        Some(Ok((first, last))) => {
            r.content_range = Some(format!("bytes {first}-{last}/{len}"));
            r.body = r.body.slice(first as usize..=last as usize);
            r.status = PARTIAL_CONTENT;
        }
        Some(Err(())) => {
            // §15.5.17: what the client asked for is not there.
            let mut e = Response::error(RANGE_NOT_SATISFIABLE);
            e.content_range = Some(format!("bytes */{len}"));
            e.ranges = true;
            return e;
        }
        None => {}
    }
    r
}

/// A single byte range (RFC 9110 §14.1.2) of a file of `len` bytes:
/// `Some(Ok((first, last)))`, `Some(Err(()))` if it is unsatisfiable,
/// `None` if the field is not one byte range (ignored).
fn parse_range(value: &str, len: u64) -> Option<Result<(u64, u64), ()>> {
    let spec = value.strip_prefix("bytes=")?.trim();
    if spec.contains(',') {
        return None;
    }
    let (a, b) = spec.split_once('-')?;
    let num = |s: &str| -> Option<u64> {
        (!s.is_empty() && s.bytes().all(|c| c.is_ascii_digit()))
            .then(|| s.parse().ok())
            .flatten()
    };
    let (a, b) = (a.trim(), b.trim());
    Some(match (a.is_empty(), b.is_empty()) {
        // "bytes=-500": the last 500 bytes.
        (true, false) => {
            let n = num(b)?;
            if n == 0 || len == 0 {
                Err(())
            } else {
                Ok((len.saturating_sub(n), len - 1))
            }
        }
        // "bytes=100-": from byte 100 to the end.
        (false, true) => {
            let first = num(a)?;
            if first >= len {
                Err(())
            } else {
                Ok((first, len - 1))
            }
        }
        (false, false) => {
            let (first, last) = (num(a)?, num(b)?);
            if last < first {
                return None;
            }
            if first >= len {
                Err(())
            } else {
                Ok((first, last.min(len - 1)))
            }
        }
        (true, true) => return None,
    })
}

/// The file at `path` (a directory's `index.html`), or 404.
fn file_response<B: HttpBackend + ?Sized>(backend: &B, path: String) -> Response {
    let path = if path.ends_with('/') {
        format!("{path}index.html")
    } else {
        path
    };
    match backend.read_file(&path) {
        Some(body) => Response {
            status: OK,
            content_type: message::content_type(&path),
            etag: Some(etag_of(&body)),
            modified: backend.modified(&path),
            body,
            ranges: true,
            content_range: None,
        },
        None => Response::error(NOT_FOUND),
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

/// RFC 9110 §5.6.7 IMF-fixdate: `Sun, 06 Nov 1994 08:49:37 GMT`, which
/// is the RFC 5322 date with `GMT` for the zone.
pub fn http_date(unix_secs: i64) -> String {
    crate::proto::date::rfc5322(unix_secs).replace("+0000", "GMT")
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
            State::WaitingRequest => "waiting-request",
            State::ReadingHeaders => "reading-headers",
            State::DiscardingBody => "discarding-body",
            State::Closed => "closed",
        }
    }
}

#[cfg(test)]
mod tests {
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
        assert_eq!(server.state_name(), "waiting-request");
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
        assert_eq!(server.state_name(), "closed");
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
        assert_eq!(server.state_name(), "discarding-body");
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
        assert_eq!(server.state_name(), "closed");
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
                let was_closed = server.state_name() == "closed";
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
                    || server.state_name() != "reading-headers"
            );
        }
    }
}
