//! Internet messages (RFC 5322): building a simple one and reading headers.
//!
//! SMTP moves an *envelope* (MAIL FROM, RCPT TO) and a *message*: header
//! fields, an empty line, then the body. The `From:` and `To:` fields in the
//! message are for people; the envelope is what servers route by. This
//! module writes a plain text message and reads header fields back, with
//! folded lines unfolded (RFC 5322 §2.2.3).
//!
//! Not here: MIME multipart bodies, full address-list parsing, decoding of
//! RFC 2047 encoded words (only encoding a UTF-8 Subject).

use super::sasl::base64_encode;
use crate::proto::date;

/// RFC 5322 §2.1.1: lines should be at most 78 characters (excluding CRLF).
pub const RECOMMENDED_LINE: usize = 78;

/// A simple text message to be written out with [`NewMessage::to_bytes`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewMessage {
    /// The author, e.g. `Alice <alice@crepes.fr>` or `alice@crepes.fr`.
    pub from: String,
    /// Primary recipients, each like `from`.
    pub to: Vec<String>,
    /// Carbon-copy recipients (the field is left out when empty).
    pub cc: Vec<String>,
    pub subject: String,
    /// The `Date:` field, Unix seconds.
    pub date_unix: i64,
    /// The `Message-ID:`, with or without angle brackets (see [`message_id`]).
    pub message_id: String,
    /// The body text; LF or CRLF line ends.
    pub body: String,
}

impl NewMessage {
    /// The message as sent: header fields in the usual order, an empty line,
    /// the body, all lines ending in CRLF.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = String::new();
        push_field(&mut out, "Date", &date::rfc5322(self.date_unix));
        push_field(&mut out, "From", &self.from);
        push_address_list(&mut out, "To", &self.to);
        if !self.cc.is_empty() {
            push_address_list(&mut out, "Cc", &self.cc);
        }
        push_field(&mut out, "Subject", &encode_header_text(&self.subject));
        let id = if self.message_id.starts_with('<') {
            self.message_id.clone()
        } else {
            format!("<{}>", self.message_id)
        };
        push_field(&mut out, "Message-ID", &id);
        if !self.body.is_ascii() {
            // RFC 2045: say how the 8-bit body is to be read.
            push_field(&mut out, "MIME-Version", "1.0");
            push_field(&mut out, "Content-Type", "text/plain; charset=utf-8");
            push_field(&mut out, "Content-Transfer-Encoding", "8bit");
        }
        out.push_str("\r\n");
        for line in self.body.lines() {
            out.push_str(line);
            out.push_str("\r\n");
        }
        out.into_bytes()
    }
}

/// A Message-ID (RFC 5322 §3.6.4): `<unique@domain>`. The caller supplies
/// something unique (a counter, simulated time, random bytes).
pub fn message_id(unique: &str, domain: &str) -> String {
    format!("<{unique}@{domain}>")
}

fn push_field(out: &mut String, name: &str, value: &str) {
    out.push_str(name);
    out.push_str(": ");
    out.push_str(value);
    out.push_str("\r\n");
}

/// Writes an address list, folding after a comma when the line would grow
/// past 78 characters (RFC 5322 §2.2.3: folding is CRLF before whitespace).
fn push_address_list(out: &mut String, name: &str, addresses: &[String]) {
    let mut line_len = name.len() + 1;
    out.push_str(name);
    out.push(':');
    for (i, address) in addresses.iter().enumerate() {
        if i > 0 {
            out.push(',');
            line_len += 1;
        }
        if i > 0 && line_len + 1 + address.len() > RECOMMENDED_LINE {
            out.push_str("\r\n");
            line_len = 0;
        }
        out.push(' ');
        out.push_str(address);
        line_len += 1 + address.len();
    }
    out.push_str("\r\n");
}

/// RFC 2047 §4.1: non-ASCII header text becomes `=?UTF-8?B?...?=`.
fn encode_header_text(text: &str) -> String {
    if text.is_ascii() {
        text.to_string()
    } else {
        format!("=?UTF-8?B?{}?=", base64_encode(text.as_bytes()))
    }
}

/// The header fields of a message, unfolded, in order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Headers {
    fields: Vec<(String, String)>,
}

impl Headers {
    /// Reads the header section (up to the first empty line). Lines that
    /// are neither `name: value` nor a continuation are skipped.
    pub fn parse(message: &[u8]) -> Headers {
        let (head, _) = split_message(message);
        let text = String::from_utf8_lossy(head);
        let mut fields: Vec<(String, String)> = Vec::new();
        for line in text.split('\n') {
            let line = line.strip_suffix('\r').unwrap_or(line);
            if line.starts_with([' ', '\t']) {
                // RFC 5322 §2.2.3: unfolding removes the CRLF before the
                // whitespace, so the continuation joins the previous value.
                if let Some((_, value)) = fields.last_mut() {
                    value.push_str(line);
                }
                continue;
            }
            if let Some((name, value)) = line.split_once(':') {
                let name = name.trim_end();
                if !name.is_empty() && !name.contains(' ') {
                    fields.push((name.to_string(), value.to_string()));
                }
            }
        }
        for (_, value) in &mut fields {
            *value = value.trim().to_string();
        }
        Headers { fields }
    }

    /// The value of the first field called `name` (case-insensitive).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The values of every field called `name`, in order (`Received:`
    /// appears once per hop).
    pub fn get_all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.fields
            .iter()
            .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// All fields as `(name, value)`.
    pub fn fields(&self) -> &[(String, String)] {
        &self.fields
    }
}

/// The message as final delivery stores it (RFC 5321 §4.4): a
/// `Return-Path:` field with the envelope's reverse path at the top, so
/// that a reader knows where bounces go (`<>` for a bounce's null path).
pub fn with_return_path(reverse_path: Option<&str>, data: &[u8]) -> Vec<u8> {
    let path = reverse_path.unwrap_or_default();
    let path = path.trim().trim_start_matches('<').trim_end_matches('>');
    let mut out = format!("Return-Path: <{path}>\r\n").into_bytes();
    out.extend_from_slice(data);
    out
}

/// Shortcut: the unfolded value of header `name` in `message`.
pub fn header_value(message: &[u8], name: &str) -> Option<String> {
    Headers::parse(message).get(name).map(str::to_string)
}

/// Splits a message into its header section and its body at the first
/// empty line (CRLF CRLF or LF LF). Without one, all of it is header.
pub fn split_message(message: &[u8]) -> (&[u8], &[u8]) {
    let mut start = 0;
    while start < message.len() {
        let end = message[start..]
            .iter()
            .position(|&b| b == b'\n')
            .map_or(message.len(), |p| start + p);
        let line = &message[start..end];
        if line.is_empty() || line == b"\r" {
            let body_start = (end + 1).min(message.len());
            return (&message[..start], &message[body_start..]);
        }
        start = end + 1;
    }
    (message, &[])
}

/// The body of a message (everything after the first empty line).
pub fn body(message: &[u8]) -> &[u8] {
    split_message(message).1
}

/// The bare address in a mailbox such as `Alice <alice@crepes.fr>`
/// (the part in angle brackets), or the whole text trimmed.
pub fn addr_spec(mailbox: &str) -> &str {
    match (mailbox.rfind('<'), mailbox.rfind('>')) {
        (Some(open), Some(close)) if open < close => &mailbox[open + 1..close],
        _ => mailbox.trim(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> NewMessage {
        NewMessage {
            from: "Alice <alice@crepes.fr>".into(),
            to: vec!["bob@hamburger.edu".into()],
            cc: vec![],
            subject: "Picnic".into(),
            date_unix: 1_772_460_309,
            message_id: message_id("1.alice", "crepes.fr"),
            body: "Do you like ketchup?\nHow about pickles?\n".into(),
        }
    }

    #[test]
    fn builds_a_plain_message() {
        let text = String::from_utf8(sample().to_bytes()).unwrap();
        assert_eq!(
            text,
            "Date: Mon, 02 Mar 2026 14:05:09 +0000\r\n\
             From: Alice <alice@crepes.fr>\r\n\
             To: bob@hamburger.edu\r\n\
             Subject: Picnic\r\n\
             Message-ID: <1.alice@crepes.fr>\r\n\
             \r\n\
             Do you like ketchup?\r\n\
             How about pickles?\r\n"
        );
    }

    #[test]
    fn folds_long_address_lists_and_unfolds_them() {
        let mut m = sample();
        m.to = (0..6).map(|i| format!("user{i}@hamburger.edu")).collect();
        m.subject = "Grüße".into();
        let bytes = m.to_bytes();
        let text = String::from_utf8(bytes.clone()).unwrap();
        assert!(text.lines().all(|l| l.len() <= 80), "{text}");
        assert!(text.contains(",\r\n user"));
        let headers = Headers::parse(&bytes);
        assert_eq!(
            headers.get("to").unwrap(),
            "user0@hamburger.edu, user1@hamburger.edu, user2@hamburger.edu, \
             user3@hamburger.edu, user4@hamburger.edu, user5@hamburger.edu"
        );
        assert_eq!(headers.get("Subject"), Some("=?UTF-8?B?R3LDvMOfZQ==?="));
    }

    #[test]
    fn reads_headers_and_body() {
        let msg = b"Received: from a\r\nReceived: from b\r\n  by c\r\nSubject:  Hi \r\n\r\nbody: not a header\r\n";
        let h = Headers::parse(msg);
        assert_eq!(
            h.get_all("received").collect::<Vec<_>>(),
            vec!["from a", "from b  by c"]
        );
        assert_eq!(h.get("SUBJECT"), Some("Hi"));
        assert_eq!(h.get("body"), None);
        assert_eq!(body(msg), b"body: not a header\r\n");
        assert_eq!(header_value(b"X: 1\n\nY: 2\n", "Y"), None);
        assert_eq!(split_message(b"X: 1"), (&b"X: 1"[..], &b""[..]));
        assert_eq!(addr_spec("Alice <alice@crepes.fr>"), "alice@crepes.fr");
        assert_eq!(addr_spec(" bob@hamburger.edu "), "bob@hamburger.edu");
    }
}
