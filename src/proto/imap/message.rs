//! Reading a stored message the way IMAP FETCH and SEARCH need it.
//!
//! IMAP lets a client ask for pieces of a message without downloading it:
//! the header, the text, one MIME part, a few header fields, the ENVELOPE
//! (RFC 3501 §7.4.2, the parsed Date/Subject/From/To/...) and the
//! BODYSTRUCTURE (the MIME tree with types and sizes). This module parses
//! RFC 5322 headers and RFC 2045/2046 MIME structure just far enough for
//! that. It is not a full MIME library: it does not decode transfer
//! encodings or encoded words, and it treats anything it cannot parse as a
//! single opaque part, as servers do.

/// How deep MIME parts may nest before the rest is treated as opaque, so a
/// hostile message cannot exhaust the stack.
const MAX_DEPTH: usize = 16;

/// Splits a message into its header (including the empty line that ends
/// it, as IMAP's `BODY[HEADER]` returns it) and its body.
pub fn split_header(data: &[u8]) -> (&[u8], &[u8]) {
    let mut pos = 0;
    while pos < data.len() {
        let end = match data[pos..].iter().position(|&b| b == b'\n') {
            Some(i) => pos + i + 1,
            None => data.len(),
        };
        let line = &data[pos..end];
        if line == b"\r\n" || line == b"\n" {
            return (&data[..end], &data[end..]);
        }
        pos = end;
    }
    (data, &[])
}

/// One header field: its name, the raw text (all folded lines with their
/// line ends) and the unfolded value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field<'a> {
    pub name: &'a [u8],
    pub raw: &'a [u8],
    pub value: Vec<u8>,
}

/// The fields of a header block, in order.
pub fn fields(header: &[u8]) -> Vec<Field<'_>> {
    let mut out: Vec<Field<'_>> = Vec::new();
    let mut start: Option<usize> = None;
    let mut pos = 0;
    fn flush<'h>(header: &'h [u8], start: usize, end: usize, out: &mut Vec<Field<'h>>) {
        let raw = &header[start..end];
        if let Some(colon) = raw.iter().position(|&b| b == b':') {
            let name = trim(&raw[..colon]);
            if !name.is_empty() {
                out.push(Field {
                    name,
                    raw,
                    value: unfold(&raw[colon + 1..]),
                });
            }
        }
    }
    while pos < header.len() {
        let end = match header[pos..].iter().position(|&b| b == b'\n') {
            Some(i) => pos + i + 1,
            None => header.len(),
        };
        let line = &header[pos..end];
        let blank = line == b"\r\n" || line == b"\n";
        let continuation = matches!(line.first(), Some(b' ' | b'\t'));
        if !continuation {
            if let Some(s) = start.take() {
                flush(header, s, pos, &mut out);
            }
            if blank {
                return out;
            }
            start = Some(pos);
        }
        pos = end;
    }
    if let Some(s) = start {
        flush(header, s, header.len(), &mut out);
    }
    out
}

/// RFC 5322 §2.2.3: unfolding removes the CRLF before each continuation;
/// the result is trimmed.
fn unfold(value: &[u8]) -> Vec<u8> {
    let v: Vec<u8> = value
        .iter()
        .copied()
        .filter(|&b| b != b'\r' && b != b'\n')
        .collect();
    trim(&v).to_vec()
}

fn trim(s: &[u8]) -> &[u8] {
    let start = s
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(s.len());
    let end = s
        .iter()
        .rposition(|b| !b.is_ascii_whitespace())
        .map_or(start, |e| e + 1);
    &s[start..end.max(start)]
}

/// The unfolded value of the first field called `name` (case-insensitive).
pub fn header_value(header: &[u8], name: &str) -> Option<Vec<u8>> {
    fields(header)
        .into_iter()
        .find(|f| f.name.eq_ignore_ascii_case(name.as_bytes()))
        .map(|f| f.value)
}

/// `BODY[HEADER.FIELDS (...)]` and `.NOT`: the matching (or all other)
/// fields as they were written, followed by the empty line.
pub fn header_fields(header: &[u8], names: &[Vec<u8>], not: bool) -> Vec<u8> {
    let mut out = Vec::new();
    for f in fields(header) {
        let listed = names.iter().any(|n| n.eq_ignore_ascii_case(f.name));
        if listed != not {
            out.extend_from_slice(f.raw);
            if !f.raw.ends_with(b"\n") {
                out.extend_from_slice(b"\r\n");
            }
        }
    }
    out.extend_from_slice(b"\r\n");
    out
}

/// True if `needle` occurs in `haystack`, ignoring ASCII case (RFC 3501
/// §6.4.4: SEARCH matches substrings case-insensitively).
pub fn contains_ignore_case(haystack: &[u8], needle: &[u8]) -> bool {
    if needle.is_empty() {
        return true;
    }
    haystack
        .windows(needle.len())
        .any(|w| w.eq_ignore_ascii_case(needle))
}

/// A parsed `Content-Type` (RFC 2045 §5.1), lower-cased type names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContentType {
    pub kind: String,
    pub subtype: String,
    pub params: Vec<(String, String)>,
}

impl ContentType {
    /// RFC 2045 §5.2: the default is `text/plain; charset=us-ascii`.
    pub fn default_text() -> ContentType {
        ContentType {
            kind: "text".into(),
            subtype: "plain".into(),
            params: vec![("charset".into(), "us-ascii".into())],
        }
    }

    fn message_rfc822() -> ContentType {
        ContentType {
            kind: "message".into(),
            subtype: "rfc822".into(),
            params: Vec::new(),
        }
    }

    /// A parameter's value, by case-insensitive name.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Splits a structured header value at `;` outside quotes and removes
/// RFC 5322 comments in parentheses.
fn split_params(value: &[u8]) -> Vec<String> {
    let text = String::from_utf8_lossy(value);
    let mut parts = Vec::new();
    let mut cur = String::new();
    let mut in_quote = false;
    let mut escaped = false;
    let mut depth = 0usize;
    for c in text.chars() {
        if escaped {
            cur.push(c);
            escaped = false;
            continue;
        }
        match c {
            '\\' if in_quote => escaped = true,
            '"' if depth == 0 => {
                in_quote = !in_quote;
                cur.push(c);
            }
            '(' if !in_quote => depth += 1,
            ')' if !in_quote && depth > 0 => depth -= 1,
            ';' if !in_quote && depth == 0 => parts.push(std::mem::take(&mut cur)),
            _ if depth > 0 => {}
            _ => cur.push(c),
        }
    }
    parts.push(cur);
    parts
}

fn unquote(s: &str) -> String {
    let s = s.trim();
    s.strip_prefix('"')
        .and_then(|s| s.strip_suffix('"'))
        .unwrap_or(s)
        .to_string()
}

/// `name=value` parameters after the first element of a structured value.
fn parse_params(parts: &[String]) -> Vec<(String, String)> {
    parts
        .iter()
        .filter_map(|p| {
            let (k, v) = p.split_once('=')?;
            let k = k.trim();
            (!k.is_empty()).then(|| (k.to_ascii_lowercase(), unquote(v)))
        })
        .collect()
}

/// Parses a `Content-Type` value; `None` if it has no valid type/subtype.
pub fn parse_content_type(value: &[u8]) -> Option<ContentType> {
    let parts = split_params(value);
    let (kind, subtype) = parts.first()?.split_once('/')?;
    let (kind, subtype) = (kind.trim(), subtype.trim());
    let token = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_graphic());
    if !token(kind) || !token(subtype) {
        return None;
    }
    Some(ContentType {
        kind: kind.to_ascii_lowercase(),
        subtype: subtype.to_ascii_lowercase(),
        params: parse_params(&parts[1..]),
    })
}

/// A parsed `Content-Disposition` (RFC 2183): `attachment; filename=x`.
pub fn parse_disposition(value: &[u8]) -> Option<(String, Vec<(String, String)>)> {
    let parts = split_params(value);
    let kind = parts.first()?.trim().to_ascii_lowercase();
    (!kind.is_empty()).then(|| (kind, parse_params(&parts[1..])))
}

/// One node of a message's MIME tree. The root is the message itself.
#[derive(Debug, Clone)]
pub struct MimePart<'a> {
    /// The header block (for the root, the message header).
    pub header: &'a [u8],
    /// The body, without the header.
    pub body: &'a [u8],
    pub content_type: ContentType,
    /// Sub-parts of a `multipart/*` part.
    pub children: Vec<MimePart<'a>>,
    /// The encapsulated message of a `message/rfc822` part.
    pub message: Option<Box<MimePart<'a>>>,
}

/// Parses a whole message into its MIME tree.
pub fn parse_message(data: &[u8]) -> MimePart<'_> {
    parse_part(data, ContentType::default_text(), 0)
}

fn parse_part(data: &[u8], default: ContentType, depth: usize) -> MimePart<'_> {
    let (header, body) = split_header(data);
    let content_type = header_value(header, "Content-Type")
        .and_then(|v| parse_content_type(&v))
        .unwrap_or(default);
    let mut part = MimePart {
        header,
        body,
        content_type,
        children: Vec::new(),
        message: None,
    };
    if depth >= MAX_DEPTH {
        return part;
    }
    if part.content_type.kind == "multipart" {
        if let Some(boundary) = part.content_type.param("boundary") {
            // RFC 2046 §5.1.5: in a digest the parts default to messages.
            let child_default = if part.content_type.subtype == "digest" {
                ContentType::message_rfc822()
            } else {
                ContentType::default_text()
            };
            part.children = split_multipart(body, boundary.as_bytes())
                .into_iter()
                .map(|p| parse_part(p, child_default.clone(), depth + 1))
                .collect();
        }
        if part.children.is_empty() {
            // Unparseable multipart: show it as one opaque text part.
            part.content_type = ContentType::default_text();
        }
    } else if part.content_type.kind == "message" && part.content_type.subtype == "rfc822" {
        part.message = Some(Box::new(parse_part(
            body,
            ContentType::default_text(),
            depth + 1,
        )));
    }
    part
}

/// RFC 2046 §5.1.1: the parts between `--boundary` lines, each without the
/// line break that precedes the next delimiter.
fn split_multipart<'a>(body: &'a [u8], boundary: &[u8]) -> Vec<&'a [u8]> {
    let mut delimiter = b"--".to_vec();
    delimiter.extend_from_slice(boundary);
    let mut parts = Vec::new();
    let mut part_start: Option<usize> = None;
    let mut pos = 0;
    while pos < body.len() {
        let line_end = match body[pos..].iter().position(|&b| b == b'\n') {
            Some(i) => pos + i + 1,
            None => body.len(),
        };
        let line = &body[pos..line_end];
        if let Some(rest) = line.strip_prefix(delimiter.as_slice()) {
            let closing = rest.starts_with(b"--");
            let rest = if closing { &rest[2..] } else { rest };
            if rest.iter().all(|b| b.is_ascii_whitespace()) {
                if let Some(start) = part_start.take() {
                    let mut end = pos;
                    if end > start && body[end - 1] == b'\n' {
                        end -= 1;
                        if end > start && body[end - 1] == b'\r' {
                            end -= 1;
                        }
                    }
                    parts.push(&body[start..end.max(start)]);
                }
                if closing {
                    return parts;
                }
                part_start = Some(line_end);
            }
        }
        pos = line_end;
    }
    // No closing delimiter: the last part runs to the end.
    if let Some(start) = part_start {
        parts.push(&body[start..]);
    }
    parts
}

impl<'a> MimePart<'a> {
    /// RFC 3501 §6.4.5 part numbers: `[2, 1]` is the first part of the
    /// second part. A non-multipart node has one part, itself (so
    /// `BODY[1]` of a plain message is its text); a `message/rfc822` part's
    /// numbers continue inside the encapsulated message.
    pub fn find(&self, path: &[u32]) -> Option<&MimePart<'a>> {
        let mut node = self;
        for &n in path {
            let index = usize::try_from(n).ok()?.checked_sub(1)?;
            let container = match &node.message {
                Some(inner) => inner.as_ref(),
                None => node,
            };
            node = if container.children.is_empty() {
                (index == 0).then_some(container)?
            } else {
                container.children.get(index)?
            };
        }
        Some(node)
    }

    /// The number of lines of the body, as BODYSTRUCTURE reports it.
    pub fn body_lines(&self) -> u32 {
        let mut n = self.body.iter().filter(|&&b| b == b'\n').count();
        if !self.body.is_empty() && !self.body.ends_with(b"\n") {
            n += 1;
        }
        u32::try_from(n).unwrap_or(u32::MAX)
    }
}

/// A mailbox address from a header, split the way ENVELOPE wants it
/// (RFC 3501 §7.4.2: name, source route, mailbox, host). Group syntax is
/// a start marker with only `mailbox` (the group name) and an end marker
/// with all four `None`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvelopeAddress {
    pub name: Option<Vec<u8>>,
    pub mailbox: Option<Vec<u8>>,
    pub host: Option<Vec<u8>>,
}

/// Parses an RFC 5322 address list (`"Alice" <a@x>, b@y, Team: c@z;`).
pub fn parse_address_list(value: &[u8]) -> Vec<EnvelopeAddress> {
    let mut out = Vec::new();
    let mut cur: Vec<u8> = Vec::new();
    let mut in_quote = false;
    let mut escaped = false;
    let mut angle = 0usize;
    let mut paren = 0usize;
    let mut in_group = false;
    for &b in value {
        if escaped {
            cur.push(b);
            escaped = false;
            continue;
        }
        match b {
            b'\\' if in_quote || paren > 0 => {
                cur.push(b);
                escaped = true;
            }
            b'"' if paren == 0 => {
                in_quote = !in_quote;
                cur.push(b);
            }
            b'(' if !in_quote => paren += 1,
            b')' if !in_quote && paren > 0 => paren -= 1,
            _ if paren > 0 => {}
            b'<' if !in_quote => {
                angle += 1;
                cur.push(b);
            }
            b'>' if !in_quote && angle > 0 => {
                angle -= 1;
                cur.push(b);
            }
            b',' if !in_quote && angle == 0 => {
                push_address(&mut out, &cur);
                cur.clear();
            }
            b':' if !in_quote && angle == 0 && !in_group => {
                // RFC 5322 §3.4 group: "display-name: list;"
                out.push(EnvelopeAddress {
                    name: None,
                    mailbox: Some(dequote(trim(&cur))),
                    host: None,
                });
                cur.clear();
                in_group = true;
            }
            b';' if !in_quote && angle == 0 && in_group => {
                push_address(&mut out, &cur);
                cur.clear();
                out.push(EnvelopeAddress {
                    name: None,
                    mailbox: None,
                    host: None,
                });
                in_group = false;
            }
            _ => cur.push(b),
        }
    }
    push_address(&mut out, &cur);
    if in_group {
        out.push(EnvelopeAddress {
            name: None,
            mailbox: None,
            host: None,
        });
    }
    out
}

fn dequote(s: &[u8]) -> Vec<u8> {
    let s = trim(s);
    let inner = s
        .strip_prefix(b"\"")
        .and_then(|s| s.strip_suffix(b"\""))
        .unwrap_or(s);
    let mut out = Vec::with_capacity(inner.len());
    let mut escaped = false;
    for &b in inner {
        if b == b'\\' && !escaped {
            escaped = true;
            continue;
        }
        escaped = false;
        out.push(b);
    }
    out
}

fn push_address(out: &mut Vec<EnvelopeAddress>, item: &[u8]) {
    let item = trim(item);
    if item.is_empty() {
        return;
    }
    let (name, addr) = match item.iter().position(|&b| b == b'<') {
        Some(open) => {
            let close = item[open..]
                .iter()
                .position(|&b| b == b'>')
                .map_or(item.len(), |c| open + c);
            let name = dequote(&item[..open]);
            (
                (!name.is_empty()).then_some(name),
                trim(&item[open + 1..close]),
            )
        }
        None => (None, item),
    };
    // Drop an obsolete source route ("@a,@b:user@host").
    let addr = match addr.iter().position(|&b| b == b':') {
        Some(colon) if addr.first() == Some(&b'@') => &addr[colon + 1..],
        _ => addr,
    };
    if addr.is_empty() && name.is_none() {
        return;
    }
    let (mailbox, host) = match addr.iter().rposition(|&b| b == b'@') {
        Some(at) => (addr[..at].to_vec(), addr[at + 1..].to_vec()),
        None => (addr.to_vec(), Vec::new()),
    };
    out.push(EnvelopeAddress {
        name,
        mailbox: Some(dequote(&mailbox)),
        host: Some(host),
    });
}

/// The parsed pieces of an ENVELOPE (RFC 3501 §7.4.2), as raw bytes.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct EnvelopeFields {
    pub date: Option<Vec<u8>>,
    pub subject: Option<Vec<u8>>,
    pub from: Vec<EnvelopeAddress>,
    pub sender: Vec<EnvelopeAddress>,
    pub reply_to: Vec<EnvelopeAddress>,
    pub to: Vec<EnvelopeAddress>,
    pub cc: Vec<EnvelopeAddress>,
    pub bcc: Vec<EnvelopeAddress>,
    pub in_reply_to: Option<Vec<u8>>,
    pub message_id: Option<Vec<u8>>,
}

/// Reads the ENVELOPE fields from a header block.
pub fn envelope_fields(header: &[u8]) -> EnvelopeFields {
    let get = |name: &str| header_value(header, name).filter(|v| !v.is_empty());
    let list = |name: &str| {
        get(name)
            .map(|v| parse_address_list(&v))
            .unwrap_or_default()
    };
    let from = list("From");
    // RFC 3501 §7.4.2: a missing or empty Sender or Reply-To is the From.
    let mut sender = list("Sender");
    if sender.is_empty() {
        sender = from.clone();
    }
    let mut reply_to = list("Reply-To");
    if reply_to.is_empty() {
        reply_to = from.clone();
    }
    EnvelopeFields {
        date: get("Date"),
        subject: get("Subject"),
        from,
        sender,
        reply_to,
        to: list("To"),
        cc: list("Cc"),
        bcc: list("Bcc"),
        in_reply_to: get("In-Reply-To"),
        message_id: get("Message-ID"),
    }
}

/// Days since 1970-01-01 of a civil date (Howard Hinnant's
/// `days_from_civil`, the inverse of [`crate::proto::date::civil_from_days`]).
pub fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = i64::from(month);
    let mp = if m > 2 { m - 3 } else { m + 9 };
    let doy = (153 * mp + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

const MONTHS: [&str; 12] = [
    "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
];

/// The day (since 1970-01-01) of an RFC 5322 `Date:` value such as
/// `Mon, 02 Mar 2026 14:05:09 +0000`. RFC 3501 §6.4.4 SENTBEFORE and
/// friends compare dates only, "disregarding time and timezone".
pub fn sent_day(value: &[u8]) -> Option<i64> {
    let text = String::from_utf8_lossy(value);
    let tokens: Vec<&str> = text
        .split(|c: char| c.is_whitespace() || c == ',')
        .filter(|t| !t.is_empty())
        .collect();
    let mi = tokens
        .iter()
        .position(|t| MONTHS.contains(&t.to_ascii_lowercase().as_str()))?;
    let month = MONTHS
        .iter()
        .position(|m| *m == tokens[mi].to_ascii_lowercase())?;
    let day: u32 = tokens.get(mi.checked_sub(1)?)?.parse().ok()?;
    let mut year: i64 = tokens.get(mi + 1)?.parse().ok()?;
    // RFC 5322 §4.3: two-digit years.
    if year < 50 {
        year += 2000;
    } else if year < 1000 {
        year += 1900;
    }
    if !(1..=31).contains(&day) || !(0..=9999).contains(&year) {
        return None;
    }
    Some(days_from_civil(year, month as u32 + 1, day))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::date::civil_from_days;

    const MULTI: &[u8] = b"From: Alice <alice@crepes.fr>\r\n\
Subject: pics\r\n\
Content-Type: multipart/mixed; boundary=\"XX\"\r\n\
\r\n\
preamble\r\n\
--XX\r\n\
Content-Type: text/plain\r\n\
\r\n\
hello\r\n\
--XX\r\n\
Content-Type: image/png; name=a.png\r\n\
Content-Transfer-Encoding: base64\r\n\
\r\n\
iVBORw0K\r\n\
--XX--\r\n";

    #[test]
    fn header_split_and_fields() {
        let msg = b"Subject: a\r\n b\r\nTo: x@y\r\n\r\nbody\r\n";
        let (h, b) = split_header(msg);
        assert_eq!(b, b"body\r\n");
        let f = fields(h);
        assert_eq!(f.len(), 2);
        assert_eq!(f[0].value, b"a b");
        assert_eq!(f[0].raw, b"Subject: a\r\n b\r\n");
        assert_eq!(
            header_fields(h, &[b"to".to_vec()], false),
            b"To: x@y\r\n\r\n"
        );
        assert_eq!(
            header_fields(h, &[b"to".to_vec()], true),
            b"Subject: a\r\n b\r\n\r\n"
        );
    }

    #[test]
    fn multipart_tree_and_part_numbers() {
        let m = parse_message(MULTI);
        assert_eq!(m.content_type.subtype, "mixed");
        assert_eq!(m.children.len(), 2);
        assert_eq!(m.find(&[1]).unwrap().body, b"hello");
        assert_eq!(m.find(&[2]).unwrap().content_type.subtype, "png");
        assert!(m.find(&[3]).is_none());
        let plain = parse_message(b"Subject: x\r\n\r\nhi\r\n");
        assert_eq!(plain.find(&[1]).unwrap().body, b"hi\r\n");
        assert_eq!(plain.body_lines(), 1);
    }

    #[test]
    fn addresses() {
        let list =
            parse_address_list(b"\"Alice A.\" <alice@crepes.fr>, bob@x.org (Bob), Team: c@z;");
        assert_eq!(list.len(), 5);
        assert_eq!(list[0].name.as_deref(), Some(&b"Alice A."[..]));
        assert_eq!(list[0].mailbox.as_deref(), Some(&b"alice"[..]));
        assert_eq!(list[0].host.as_deref(), Some(&b"crepes.fr"[..]));
        assert_eq!(list[1].name, None);
        assert_eq!(list[1].host.as_deref(), Some(&b"x.org"[..]));
        assert_eq!(list[2].mailbox.as_deref(), Some(&b"Team"[..]));
        assert_eq!(list[2].host, None);
        assert_eq!(list[4].mailbox, None);
    }

    #[test]
    fn dates() {
        let d = sent_day(b"Mon, 02 Mar 2026 14:05:09 +0000").unwrap();
        assert_eq!(civil_from_days(d), (2026, 3, 2));
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(sent_day(b"garbage"), None);
    }
}
