//! What a request gets: the file (a directory's `index.html`) with its
//! validators, `Last-Modified` and a strong `ETag`; 304 when a condition
//! says the client's copy is current (RFC 9110 §13.1.2, §13.1.3, with
//! `If-None-Match` taking precedence, §13.2.2); one byte range of it with
//! 206, or 416 (RFC 9110 §14); an error page.
//!
//! Not here: reading the request and writing the response (the parent
//! module).

use super::super::message::HeaderField;
use super::super::*;
use super::HttpBackend;
use bytes::Bytes;

/// A response about to be written.
pub(super) struct Response {
    pub(super) status: u16,
    pub(super) content_type: &'static str,
    pub(super) body: Bytes,
    /// A file's validators: its modification time and strong entity tag.
    pub(super) modified: Option<i64>,
    pub(super) etag: Option<String>,
    /// A file: byte ranges may be asked for.
    pub(super) ranges: bool,
    /// A 206's or 416's `Content-Range`.
    pub(super) content_range: Option<String>,
}

impl Response {
    /// A short plain-text page for an error status.
    pub(super) fn error(status: u16) -> Response {
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
pub(super) fn conditional(mut r: Response, fields: &[HeaderField]) -> Response {
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
pub(super) fn file_response<B: HttpBackend + ?Sized>(backend: &B, path: String) -> Response {
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

/// RFC 9110 §5.6.7 IMF-fixdate: `Sun, 06 Nov 1994 08:49:37 GMT`, which
/// is the RFC 5322 date with `GMT` for the zone.
pub fn http_date(unix_secs: i64) -> String {
    crate::proto::date::rfc5322(unix_secs).replace("+0000", "GMT")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two files, `/a.txt` and `/d/index.html`, modified at a fixed time.
    struct One;

    const MODIFIED: i64 = 1_772_460_309;

    impl HttpBackend for One {
        fn read_file(&self, path: &str) -> Option<Bytes> {
            matches!(path, "/a.txt" | "/d/index.html").then(|| Bytes::from_static(b"0123456789"))
        }
        fn modified(&self, _path: &str) -> Option<i64> {
            Some(MODIFIED)
        }
    }

    fn with(name: &str, value: &str) -> Vec<HeaderField> {
        vec![HeaderField {
            name: name.into(),
            value: value.into(),
        }]
    }

    fn answer(fields: &[HeaderField]) -> Response {
        conditional(file_response(&One, "/a.txt".into()), fields)
    }

    #[test]
    fn one_byte_range_in_each_of_its_forms() {
        // RFC 9110 §14.1.2: first-last, first-, and -suffix.
        assert_eq!(parse_range("bytes=0-3", 10), Some(Ok((0, 3))));
        assert_eq!(parse_range("bytes=7-", 10), Some(Ok((7, 9))));
        assert_eq!(parse_range("bytes=-3", 10), Some(Ok((7, 9))));
        assert_eq!(parse_range("bytes=5-100", 10), Some(Ok((5, 9))));
        assert_eq!(parse_range("bytes=10-", 10), Some(Err(())));
        // Several ranges, other units and nonsense are ignored.
        assert_eq!(parse_range("bytes=0-1,5-6", 10), None);
        assert_eq!(parse_range("items=0-1", 10), None);
        assert_eq!(parse_range("bytes=3-1", 10), None);
    }

    #[test]
    fn a_range_gets_206_or_416() {
        let r = answer(&with("Range", "bytes=2-4"));
        assert_eq!((r.status, &r.body[..]), (PARTIAL_CONTENT, &b"234"[..]));
        assert_eq!(r.content_range.as_deref(), Some("bytes 2-4/10"));
        let r = answer(&with("Range", "bytes=20-"));
        assert_eq!(r.status, RANGE_NOT_SATISFIABLE);
        assert_eq!(r.content_range.as_deref(), Some("bytes */10"));
    }

    #[test]
    fn a_current_copy_gets_304() {
        // RFC 9110 §13.1.2 (weak comparison) and §13.1.3.
        let tag = etag_of(b"0123456789");
        assert_eq!(
            answer(&with("If-None-Match", &format!("W/{tag}"))).status,
            NOT_MODIFIED
        );
        assert_eq!(answer(&with("If-None-Match", "\"other\"")).status, OK);
        let since = http_date(MODIFIED);
        assert_eq!(
            answer(&with("If-Modified-Since", &since)).status,
            NOT_MODIFIED
        );
        let before = http_date(MODIFIED - 1);
        assert_eq!(answer(&with("If-Modified-Since", &before)).status, OK);
        // If-None-Match wins: a different tag and a recent date give 200.
        let mut both = with("If-None-Match", "\"other\"");
        both.extend(with("If-Modified-Since", &since));
        assert_eq!(answer(&both).status, OK);
    }

    #[test]
    fn a_directory_is_its_index_and_a_missing_file_is_404() {
        let index = file_response(&One, "/d/".into());
        assert_eq!(
            (index.status, index.content_type),
            (OK, "text/html; charset=utf-8")
        );
        assert_eq!(file_response(&One, "/".into()).status, NOT_FOUND);
        assert_eq!(file_response(&One, "/b.txt".into()).status, NOT_FOUND);
        assert_eq!(http_date(784111777), "Sun, 06 Nov 1994 08:49:37 GMT");
        assert_ne!(etag_of(b"a"), etag_of(b"b"));
    }
}
