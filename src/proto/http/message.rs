//! The pieces of an HTTP/1.1 message that both ends parse: the request
//! line, the status line, header fields, the request target's path, and
//! the media type guessed from a file name.
//!
//! Only syntax lives here (RFC 9112 §3, §4, §5 and RFC 9110 §5, §6.2);
//! what to answer is the server's business.

/// An HTTP version, `HTTP/<major>.<minor>` (RFC 9112 §2.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Version {
    pub major: u8,
    pub minor: u8,
}

impl Version {
    pub const HTTP_1_0: Version = Version { major: 1, minor: 0 };
    pub const HTTP_1_1: Version = Version { major: 1, minor: 1 };

    /// Parses `HTTP/1.1`. The name is case-sensitive and the version is
    /// exactly one digit, a dot and one digit (RFC 9112 §2.3).
    pub fn parse(text: &[u8]) -> Option<Version> {
        match text {
            [b'H', b'T', b'T', b'P', b'/', major, b'.', minor]
                if major.is_ascii_digit() && minor.is_ascii_digit() =>
            {
                Some(Version {
                    major: major - b'0',
                    minor: minor - b'0',
                })
            }
            _ => None,
        }
    }
}

impl std::fmt::Display for Version {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "HTTP/{}.{}", self.major, self.minor)
    }
}

/// A parsed request line: `method SP request-target SP HTTP-version`
/// (RFC 9112 §3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestLine {
    /// The method token, case-sensitive (RFC 9110 §9.1): `GET`, `HEAD`, ...
    pub method: String,
    /// The request target as sent, e.g. `/index.html?x=1`.
    pub target: String,
    pub version: Version,
}

/// Why a request line was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestLineError {
    /// Not `method SP target SP version`: answered with 400.
    Malformed,
    /// Well formed, but a major version other than 1: answered with 505.
    VersionNotSupported,
}

/// `tchar` of RFC 9110 §5.6.2: the characters a token (a method, a field
/// name) may contain.
pub fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// A token: one or more `tchar`.
pub fn is_token(text: &[u8]) -> bool {
    !text.is_empty() && text.iter().all(|&b| is_tchar(b))
}

/// Parses a request line (without its CRLF).
pub fn parse_request_line(line: &[u8]) -> Result<RequestLine, RequestLineError> {
    // RFC 9112 §3: exactly three parts separated by single spaces. Being
    // strict here avoids the request smuggling tricks that lenient
    // whitespace parsing invites (§3, last paragraph).
    let parts: Vec<&[u8]> = line.split(|&b| b == b' ').collect();
    let [method, target, version] = parts.as_slice() else {
        return Err(RequestLineError::Malformed);
    };
    if !is_token(method) {
        return Err(RequestLineError::Malformed);
    }
    // The target is visible ASCII only (RFC 9112 §3.2, RFC 3986 §2).
    if target.is_empty() || !target.iter().all(|&b| (0x21..=0x7e).contains(&b)) {
        return Err(RequestLineError::Malformed);
    }
    let version = Version::parse(version).ok_or(RequestLineError::Malformed)?;
    // RFC 9110 §6.2: a 1.x message with a higher minor version is treated
    // as the highest 1.x we support; another major version gets 505.
    if version.major != 1 {
        return Err(RequestLineError::VersionNotSupported);
    }
    let version = if version.minor >= 1 {
        Version::HTTP_1_1
    } else {
        Version::HTTP_1_0
    };
    Ok(RequestLine {
        // Both are ASCII, checked above.
        method: String::from_utf8_lossy(method).into_owned(),
        target: String::from_utf8_lossy(target).into_owned(),
        version,
    })
}

/// A parsed status line: `HTTP-version SP status-code SP [reason-phrase]`
/// (RFC 9112 §4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusLine {
    pub version: Version,
    pub status: u16,
    pub reason: String,
}

/// Parses a status line (without its CRLF).
pub fn parse_status_line(line: &[u8]) -> Option<StatusLine> {
    let version = Version::parse(line.get(..8)?)?;
    let rest = line.get(8..)?;
    // SP, then exactly three digits.
    let [b' ', d1, d2, d3, tail @ ..] = rest else {
        return None;
    };
    if ![d1, d2, d3].iter().all(|d| d.is_ascii_digit()) {
        return None;
    }
    let status = u16::from(d1 - b'0') * 100 + u16::from(d2 - b'0') * 10 + u16::from(d3 - b'0');
    // RFC 9112 §4: the SP before an empty reason phrase is required, but
    // clients are asked to accept its absence too.
    let reason = match tail {
        [] => &[][..],
        [b' ', reason @ ..] => reason,
        _ => return None,
    };
    Some(StatusLine {
        version,
        status,
        reason: String::from_utf8_lossy(reason).into_owned(),
    })
}

/// One header field, `name: value` (RFC 9112 §5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeaderField {
    /// The name as sent; compare it case-insensitively (RFC 9110 §5.1).
    pub name: String,
    /// The value without leading and trailing whitespace.
    pub value: String,
}

/// Parses a header field line (without its CRLF); `None` if malformed.
pub fn parse_header_field(line: &[u8]) -> Option<HeaderField> {
    // RFC 9112 §5.2: a line starting with whitespace is an obsolete line
    // folding; a server may reject the message with 400, which we do.
    let colon = line.iter().position(|&b| b == b':')?;
    let (name, value) = (&line[..colon], &line[colon + 1..]);
    // RFC 9112 §5.1: no whitespace is allowed between the name and the
    // colon; a server must reject such a message with 400. `is_token`
    // refuses spaces, so it covers that and the obsolete folding.
    if !is_token(name) {
        return None;
    }
    let value = trim_ows(value);
    // RFC 9110 §5.5: field values are visible characters, spaces, tabs and
    // obs-text; CR, LF and NUL must be rejected.
    let valid = value
        .iter()
        .all(|&b| b == b' ' || b == b'\t' || (0x21..=0x7e).contains(&b) || b >= 0x80);
    if !valid {
        return None;
    }
    Some(HeaderField {
        name: String::from_utf8_lossy(name).into_owned(),
        value: String::from_utf8_lossy(value).into_owned(),
    })
}

/// Reads a header field line as a listener on the wire does: the name is
/// what comes before the first colon, name and value trimmed of
/// whitespace; only a line without a colon is refused. A server answers
/// 400 to what [`parse_header_field`] refuses (a space before the colon,
/// a folded line, control characters); the field crossed the link all
/// the same.
pub fn parse_header_field_lenient(line: &[u8]) -> Option<HeaderField> {
    let text = String::from_utf8_lossy(line);
    let (name, value) = text.split_once(':')?;
    Some(HeaderField {
        name: name.trim().to_string(),
        value: value.trim().to_string(),
    })
}

/// Removes optional whitespace (SP and HTAB, RFC 9110 §5.6.3) at both ends.
fn trim_ows(mut value: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = value {
        value = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = value {
        value = rest;
    }
    value
}

/// The value of the first field called `name` (case-insensitive).
pub fn header<'a>(fields: &'a [HeaderField], name: &str) -> Option<&'a str> {
    fields
        .iter()
        .find(|f| f.name.eq_ignore_ascii_case(name))
        .map(|f| f.value.as_str())
}

/// How many fields are called `name`.
pub fn header_count(fields: &[HeaderField], name: &str) -> usize {
    fields
        .iter()
        .filter(|f| f.name.eq_ignore_ascii_case(name))
        .count()
}

/// True if a `Connection` field lists `option` (RFC 9110 §7.6.1: a
/// comma-separated list of case-insensitive tokens).
pub fn connection_has(fields: &[HeaderField], option: &str) -> bool {
    fields
        .iter()
        .filter(|f| f.name.eq_ignore_ascii_case("connection"))
        .flat_map(|f| f.value.split(','))
        .any(|token| token.trim().eq_ignore_ascii_case(option))
}

/// Parses a `Content-Length` value (RFC 9110 §8.6): one or more digits.
/// A list of identical values (`5, 5`) is accepted as RFC 9112 §6.3 allows.
pub fn parse_content_length(value: &str) -> Option<u64> {
    let mut result = None;
    for part in value.split(',') {
        let part = part.trim();
        if part.is_empty() || !part.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let n: u64 = part.parse().ok()?;
        if result.is_some_and(|r| r != n) {
            return None;
        }
        result = Some(n);
    }
    result
}

/// Why a request target could not be turned into a file path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PathError {
    /// Not an origin-form or absolute-form target, or a bad `%` escape:
    /// answered with 400.
    Malformed,
    /// The path climbs above the root with `..`: answered with 403.
    Escapes,
}

/// The file path a request target names: percent-decoded, with `.` and
/// `..` segments resolved, always starting with `/`. A trailing `/` is
/// kept so the server can add `index.html`.
///
/// ```
/// use wiretale::proto::http::message::{request_path, PathError};
/// assert_eq!(request_path("/a/./b/../c.txt?x=1"), Ok("/a/c.txt".to_string()));
/// assert_eq!(request_path("http://example.com/docs/"), Ok("/docs/".to_string()));
/// assert_eq!(request_path("/../etc/passwd"), Err(PathError::Escapes));
/// assert_eq!(request_path("/%2e%2e/secret"), Err(PathError::Escapes));
/// ```
pub fn request_path(target: &str) -> Result<String, PathError> {
    let path = strip_authority(target)?;
    // The query (RFC 3986 §3.4) does not name a file.
    let path = path.split(['?', '#']).next().unwrap_or("");
    // Decode before resolving dot segments, so that `%2e%2e` cannot sneak a
    // `..` past the check below.
    let decoded = percent_decode(path)?;
    let mut segments: Vec<&str> = Vec::new();
    for segment in decoded.split('/') {
        match segment {
            "" | "." => {}
            ".." => {
                if segments.pop().is_none() {
                    return Err(PathError::Escapes);
                }
            }
            name => segments.push(name),
        }
    }
    let mut normalized = format!("/{}", segments.join("/"));
    let ends_in_dir = decoded.ends_with('/') || decoded.ends_with("/.") || decoded.ends_with("/..");
    if ends_in_dir && normalized != "/" {
        normalized.push('/');
    }
    Ok(normalized)
}

/// The path part of an origin-form (`/p`) or absolute-form
/// (`http://host/p`) target (RFC 9112 §3.2.1, §3.2.2).
fn strip_authority(target: &str) -> Result<&str, PathError> {
    if target.starts_with('/') {
        return Ok(target);
    }
    let lower = target.to_ascii_lowercase();
    let after_scheme = if lower.starts_with("http://") {
        &target[7..]
    } else if lower.starts_with("https://") {
        &target[8..]
    } else {
        return Err(PathError::Malformed);
    };
    match after_scheme.find(['/', '?']) {
        Some(i) if after_scheme[i..].starts_with('/') => Ok(&after_scheme[i..]),
        _ => Ok("/"),
    }
}

/// Decodes `%XX` escapes (RFC 3986 §2.1). A NUL byte or a result that is
/// not UTF-8 is refused: no file name contains them.
fn percent_decode(text: &str) -> Result<String, PathError> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let (Some(high), Some(low)) =
                (hex_value(bytes.get(i + 1)), hex_value(bytes.get(i + 2)))
            else {
                return Err(PathError::Malformed);
            };
            out.push(high * 16 + low);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    if out.contains(&0) {
        return Err(PathError::Malformed);
    }
    String::from_utf8(out).map_err(|_| PathError::Malformed)
}

/// The value of one hexadecimal digit.
fn hex_value(digit: Option<&u8>) -> Option<u8> {
    char::from(*digit?).to_digit(16).map(|v| v as u8)
}

/// Percent-encodes the bytes of a path that may not appear in a request
/// target as they are (controls, spaces, non-ASCII), for a client.
pub fn percent_encode_path(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for b in path.bytes() {
        if (0x21..=0x7e).contains(&b) && b != b'%' {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The media type for a file, guessed from its extension (RFC 9110 §8.3).
/// Unknown extensions get `application/octet-stream`, which tells the
/// client "just bytes" (RFC 2046 §4.5.1).
pub fn content_type(path: &str) -> &'static str {
    let name = path.rsplit('/').next().unwrap_or(path);
    let extension = match name.rsplit_once('.') {
        Some((_, ext)) => ext.to_ascii_lowercase(),
        None => String::new(),
    };
    match extension.as_str() {
        "txt" | "text" => "text/plain; charset=utf-8",
        "html" | "htm" => "text/html; charset=utf-8",
        "css" => "text/css",
        "js" => "text/javascript",
        "json" => "application/json",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "pdf" => "application/pdf",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lenient_header_fields() {
        let line = b"Authorization : Basic x\x01";
        assert_eq!(parse_header_field(line), None);
        let field = parse_header_field_lenient(line).unwrap();
        assert_eq!(
            (field.name.as_str(), field.value.as_str()),
            ("Authorization", "Basic x\u{1}")
        );
        assert_eq!(parse_header_field_lenient(b"no colon"), None);
    }

    #[test]
    fn request_lines() {
        let line = parse_request_line(b"GET /index.html HTTP/1.1").unwrap();
        assert_eq!(line.method, "GET");
        assert_eq!(line.target, "/index.html");
        assert_eq!(line.version, Version::HTTP_1_1);
        assert_eq!(
            parse_request_line(b"GET /a HTTP/1.9").unwrap().version,
            Version::HTTP_1_1
        );
        assert_eq!(
            parse_request_line(b"GET  /a HTTP/1.1"),
            Err(RequestLineError::Malformed)
        );
        assert_eq!(
            parse_request_line(b"GET /a"),
            Err(RequestLineError::Malformed)
        );
        assert_eq!(
            parse_request_line(b"G(T /a HTTP/1.1"),
            Err(RequestLineError::Malformed)
        );
        assert_eq!(
            parse_request_line(b"GET /a http/1.1"),
            Err(RequestLineError::Malformed)
        );
        assert_eq!(
            parse_request_line(b"GET /a HTTP/2.0"),
            Err(RequestLineError::VersionNotSupported)
        );
    }

    #[test]
    fn status_lines() {
        let s = parse_status_line(b"HTTP/1.1 404 Not Found").unwrap();
        assert_eq!((s.status, s.reason.as_str()), (404, "Not Found"));
        assert_eq!(parse_status_line(b"HTTP/1.1 200").unwrap().reason, "");
        assert_eq!(parse_status_line(b"HTTP/1.1 20x OK"), None);
        assert_eq!(parse_status_line(b"HTTP/1.1"), None);
    }

    #[test]
    fn header_fields() {
        let f = parse_header_field(b"Host:  example.com \t").unwrap();
        assert_eq!((f.name.as_str(), f.value.as_str()), ("Host", "example.com"));
        assert_eq!(parse_header_field(b"Host : x"), None);
        assert_eq!(parse_header_field(b" folded"), None);
        assert_eq!(parse_header_field(b"no colon"), None);
        assert_eq!(parse_header_field(b"X: a\0b"), None);
        let fields = vec![
            f,
            parse_header_field(b"Connection: Keep-Alive, close").unwrap(),
        ];
        assert!(connection_has(&fields, "close"));
        assert_eq!(header(&fields, "HOST"), Some("example.com"));
    }

    #[test]
    fn content_lengths() {
        assert_eq!(parse_content_length("42"), Some(42));
        assert_eq!(parse_content_length("5, 5"), Some(5));
        assert_eq!(parse_content_length("5, 6"), None);
        assert_eq!(parse_content_length("-1"), None);
        assert_eq!(parse_content_length("+1"), None);
        assert_eq!(parse_content_length("99999999999999999999999"), None);
    }

    #[test]
    fn paths() {
        assert_eq!(request_path("/"), Ok("/".to_string()));
        assert_eq!(request_path("/a%20b.txt"), Ok("/a b.txt".to_string()));
        assert_eq!(request_path("/a/b/.."), Ok("/a/".to_string()));
        assert_eq!(request_path("//a//b"), Ok("/a/b".to_string()));
        assert_eq!(request_path("/a/%2E%2E/%2e%2e/x"), Err(PathError::Escapes));
        assert_eq!(request_path("/a%2"), Err(PathError::Malformed));
        assert_eq!(request_path("/a%00"), Err(PathError::Malformed));
        assert_eq!(request_path("/%ff"), Err(PathError::Malformed));
        assert_eq!(request_path("*"), Err(PathError::Malformed));
        assert_eq!(request_path("HTTP://h"), Ok("/".to_string()));
        assert_eq!(request_path("http://h?q"), Ok("/".to_string()));
        assert_eq!(percent_encode_path("/a b%"), "/a%20b%25");
    }

    #[test]
    fn content_types() {
        assert_eq!(content_type("/index.html"), "text/html; charset=utf-8");
        assert_eq!(content_type("/notes.TXT"), "text/plain; charset=utf-8");
        assert_eq!(content_type("/report.bin"), "application/octet-stream");
        assert_eq!(content_type("/dir.d/README"), "application/octet-stream");
    }
}
