//! HTTP/1.1 (RFC 9112 message syntax, RFC 9110 semantics), sans-IO: a
//! small origin server for static files and a scripted client.
//!
//! What it is:
//!
//! - [`server::HttpServer`] answers `GET` and `HEAD` for files it asks of a
//!   [`server::HttpBackend`]. It parses the request line and header fields
//!   with limits on their size, frames every response with
//!   `Content-Length`, keeps the connection open between requests
//!   (persistent connections, RFC 9112 §9.3) and answers several pipelined
//!   requests in order (§9.3.2). A real client such as curl can talk to it
//!   over a socket.
//! - [`client::HttpClient`] sends a scripted list of `GET`/`HEAD` requests
//!   over one persistent connection and parses the responses.
//!
//! What it is not: no request bodies beyond reading and discarding them, no
//! chunked transfer coding, no conditional or range requests, no caching,
//! no content negotiation, no TLS, no HTTP/2 or HTTP/3.

pub mod client;
pub mod message;
pub mod server;

/// The client's state names (see [`client::STATES`]).
pub use client::STATES as CLIENT_STATES;
/// The client's state diagram (see [`client::TRANSITIONS`]).
pub use client::TRANSITIONS as CLIENT_TRANSITIONS;
pub use client::{ClientRequest, HttpClient, HttpResponse};
/// The server's state names (see [`server::STATES`]).
pub use server::STATES;
/// The server's state diagram (see [`server::TRANSITIONS`]).
pub use server::TRANSITIONS;
pub use server::{HttpBackend, HttpLimits, HttpServer};

/// The port HTTP servers listen on (RFC 9110 §4.2.1).
pub const PORT: u16 = 80;
/// The usual port of an HTTP server that is not the main one.
pub const ALT_PORT: u16 = 8080;
/// HTTP over TLS (RFC 2818).
pub const TLS_PORT: u16 = 443;

// Status codes used here (RFC 9110 §15).

/// 200 OK (RFC 9110 §15.3.1).
pub const OK: u16 = 200;
/// 206 Partial Content (RFC 9110 §15.3.7): the byte range asked for.
pub const PARTIAL_CONTENT: u16 = 206;
/// 304 Not Modified (RFC 9110 §15.4.5): the client's copy is current.
pub const NOT_MODIFIED: u16 = 304;
/// 400 Bad Request (RFC 9110 §15.5.1): the request could not be parsed.
pub const BAD_REQUEST: u16 = 400;
/// 403 Forbidden (RFC 9110 §15.5.4): here, a path that tries to climb
/// above the document root with `..`.
pub const FORBIDDEN: u16 = 403;
/// 404 Not Found (RFC 9110 §15.5.5).
pub const NOT_FOUND: u16 = 404;
/// 413 Content Too Large (RFC 9110 §15.5.14): a request body over the limit.
pub const CONTENT_TOO_LARGE: u16 = 413;
/// 414 URI Too Long (RFC 9110 §15.5.15): the request line is over the limit.
pub const URI_TOO_LONG: u16 = 414;
/// 416 Range Not Satisfiable (RFC 9110 §15.5.17): the range is outside
/// the file.
pub const RANGE_NOT_SATISFIABLE: u16 = 416;
/// 431 Request Header Fields Too Large (RFC 6585 §5).
pub const REQUEST_HEADER_FIELDS_TOO_LARGE: u16 = 431;
/// 501 Not Implemented (RFC 9110 §15.6.2): a method other than GET or HEAD.
pub const NOT_IMPLEMENTED: u16 = 501;
/// 505 HTTP Version Not Supported (RFC 9110 §15.6.6).
pub const HTTP_VERSION_NOT_SUPPORTED: u16 = 505;

/// The reason phrase sent with a status code (RFC 9112 §4: it is only a
/// hint for humans; clients must not depend on it).
pub fn reason_phrase(status: u16) -> &'static str {
    match status {
        OK => "OK",
        PARTIAL_CONTENT => "Partial Content",
        NOT_MODIFIED => "Not Modified",
        RANGE_NOT_SATISFIABLE => "Range Not Satisfiable",
        BAD_REQUEST => "Bad Request",
        FORBIDDEN => "Forbidden",
        NOT_FOUND => "Not Found",
        CONTENT_TOO_LARGE => "Content Too Large",
        URI_TOO_LONG => "URI Too Long",
        REQUEST_HEADER_FIELDS_TOO_LARGE => "Request Header Fields Too Large",
        NOT_IMPLEMENTED => "Not Implemented",
        HTTP_VERSION_NOT_SUPPORTED => "HTTP Version Not Supported",
        _ => "Unknown",
    }
}
