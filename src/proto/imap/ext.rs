//! The commands of IMAP extensions that imap-codec 1.0 does not parse,
//! read by hand from a complete message (lines joined by CRLF, literals in
//! place, as `framing.rs` hands them over), and the untagged replies that
//! answer them.
//!
//! - `ID` (RFC 2971): the client names itself, the server answers in kind.
//! - `NAMESPACE` (RFC 2342): where a user's folders live and which
//!   hierarchy delimiter they use.
//! - `UID EXPUNGE` (RFC 4315 §2.1): expunge only the `\Deleted` messages
//!   among the given UIDs.
//!
//! The server tries imap-codec first; only what it rejects comes here, so a
//! command that is neither of these three still gets the usual BAD.

use std::str::FromStr;

use imap_codec::imap_types::sequence::SequenceSet;

use super::framing;

/// RFC 2971 §3.3: at most 30 field-value pairs.
pub const ID_MAX_FIELDS: usize = 30;
/// RFC 2971 §3.3: field names are at most 30 octets.
pub const ID_MAX_NAME: usize = 30;
/// RFC 2971 §3.3: values are at most 1024 octets.
pub const ID_MAX_VALUE: usize = 1024;

/// A field of an ID list and its value (NIL is `None`).
pub type IdField = (String, Option<String>);

/// One of the commands read here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExtCommand {
    /// RFC 2971 §3.1 `ID ( "name" "value" ... )`, or `ID NIL` (`None`).
    Id(Option<Vec<IdField>>),
    /// RFC 2342 §5 `NAMESPACE`.
    Namespace,
    /// RFC 4315 §2.1 `UID EXPUNGE sequence-set`.
    UidExpunge(SequenceSet),
}

/// If `message` is one of the commands above, its tag and either the
/// command or why its arguments are wrong (for a tagged BAD). `None` for
/// anything else.
pub fn parse(message: &[u8]) -> Option<(String, Result<ExtCommand, &'static str>)> {
    let tag = framing::first_word(message)?;
    let mut c = Cursor {
        data: message
            .strip_suffix(b"\r\n")
            .or_else(|| message.strip_suffix(b"\n"))
            .unwrap_or(message),
        pos: tag.len(),
    };
    if !c.eat(b' ') {
        return None;
    }
    let name = c.word();
    let result = if name.eq_ignore_ascii_case(b"ID") {
        parse_id(&mut c)
    } else if name.eq_ignore_ascii_case(b"NAMESPACE") {
        if c.at_end() {
            Ok(ExtCommand::Namespace)
        } else {
            Err("NAMESPACE takes no arguments")
        }
    } else if name.eq_ignore_ascii_case(b"UID") {
        if !c.eat(b' ') || !c.word().eq_ignore_ascii_case(b"EXPUNGE") {
            return None;
        }
        parse_uid_expunge(&mut c)
    } else {
        return None;
    };
    Some((tag, result))
}

/// RFC 2971 §4: `id = "ID" SP id-params-list`, `id-params-list = "("
/// *(string SP nstring) ")" / nil`, pairs separated by spaces.
fn parse_id(c: &mut Cursor<'_>) -> Result<ExtCommand, &'static str> {
    const SYNTAX: &str = "ID expects NIL or a list of field-value pairs";
    if !c.eat(b' ') {
        return Err(SYNTAX);
    }
    if c.eat_nil() {
        return if c.at_end() {
            Ok(ExtCommand::Id(None))
        } else {
            Err(SYNTAX)
        };
    }
    if !c.eat(b'(') {
        return Err(SYNTAX);
    }
    let mut fields = Vec::new();
    if !c.eat(b')') {
        loop {
            let name = c.string().ok_or(SYNTAX)?;
            if !c.eat(b' ') {
                return Err(SYNTAX);
            }
            let value = if c.eat_nil() {
                None
            } else {
                Some(c.string().ok_or(SYNTAX)?)
            };
            if name.len() > ID_MAX_NAME || value.as_ref().is_some_and(|v| v.len() > ID_MAX_VALUE) {
                return Err("ID field names are at most 30 octets, values at most 1024");
            }
            fields.push((name, value));
            if fields.len() > ID_MAX_FIELDS {
                return Err("ID takes at most 30 field-value pairs");
            }
            if c.eat(b')') {
                break;
            }
            if !c.eat(b' ') {
                return Err(SYNTAX);
            }
        }
    }
    if !c.at_end() {
        return Err(SYNTAX);
    }
    Ok(ExtCommand::Id(Some(fields)))
}

/// RFC 4315 §4: `uid-expunge = "UID" SP "EXPUNGE" SP sequence-set`.
fn parse_uid_expunge(c: &mut Cursor<'_>) -> Result<ExtCommand, &'static str> {
    const SYNTAX: &str = "UID EXPUNGE expects a UID set such as 4:7,9";
    if !c.eat(b' ') {
        return Err(SYNTAX);
    }
    let set = c.word();
    if !c.at_end() || set.is_empty() {
        return Err(SYNTAX);
    }
    // RFC 3501 §9 sequence-set: digits, ':', ',' and '*' only (Rust's
    // number parser would also take a '+').
    if !set
        .iter()
        .all(|&b| b.is_ascii_digit() || matches!(b, b':' | b',' | b'*'))
    {
        return Err(SYNTAX);
    }
    let text = std::str::from_utf8(set).map_err(|_| SYNTAX)?;
    SequenceSet::from_str(text)
        .map(ExtCommand::UidExpunge)
        .map_err(|_| SYNTAX)
}

/// A position in a message.
struct Cursor<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn at_end(&self) -> bool {
        self.pos >= self.data.len()
    }

    fn peek(&self) -> Option<u8> {
        self.data.get(self.pos).copied()
    }

    fn eat(&mut self, b: u8) -> bool {
        if self.peek() == Some(b) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    /// Everything up to the next space or the end.
    fn word(&mut self) -> &'a [u8] {
        let rest = &self.data[self.pos.min(self.data.len())..];
        let len = rest.iter().position(|&b| b == b' ').unwrap_or(rest.len());
        self.pos += len;
        &rest[..len]
    }

    /// `NIL`, case-insensitively, if it is a whole token here.
    fn eat_nil(&mut self) -> bool {
        let rest = &self.data[self.pos.min(self.data.len())..];
        let is_nil = rest.len() >= 3
            && rest[..3].eq_ignore_ascii_case(b"NIL")
            && rest.get(3).is_none_or(|&b| b == b' ' || b == b')');
        if is_nil {
            self.pos += 3;
        }
        is_nil
    }

    /// RFC 3501 §4.3 string: a quoted string or a literal, as UTF-8
    /// (invalid sequences replaced).
    fn string(&mut self) -> Option<String> {
        match self.peek()? {
            b'"' => self.quoted(),
            b'{' => self.literal(),
            _ => None,
        }
    }

    /// `"` ... `"`, where only `\"` and `\\` are escapes and CR/LF may
    /// not appear.
    fn quoted(&mut self) -> Option<String> {
        self.pos += 1;
        let mut out = Vec::new();
        loop {
            let b = self.peek()?;
            self.pos += 1;
            match b {
                b'"' => return Some(String::from_utf8_lossy(&out).into_owned()),
                b'\\' => {
                    let escaped = self.peek()?;
                    if escaped != b'"' && escaped != b'\\' {
                        return None;
                    }
                    self.pos += 1;
                    out.push(escaped);
                }
                b'\r' | b'\n' | 0 => return None,
                _ => out.push(b),
            }
        }
    }

    /// `{n}` or `{n+}` (RFC 7888), CRLF, then n octets.
    fn literal(&mut self) -> Option<String> {
        let rest = &self.data[self.pos..];
        let close = rest.iter().position(|&b| b == b'}')?;
        let (n, _) = framing::literal_announcement(&rest[..=close])?;
        let start = self.pos + close + 1;
        if self.data.get(start..start + 2)? != b"\r\n" {
            return None;
        }
        let body = self.data.get(start + 2..(start + 2).checked_add(n)?)?;
        self.pos = start + 2 + n;
        Some(String::from_utf8_lossy(body).into_owned())
    }
}

/// A quoted string for a reply (RFC 3501 §9 quoted: `"` and `\` escaped).
pub fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

/// RFC 2971 §3.2: the server's `* ID` reply, naming wiretale.
pub fn id_response() -> String {
    let fields = [("name", "wiretale"), ("version", env!("CARGO_PKG_VERSION"))];
    let list: Vec<String> = fields
        .iter()
        .map(|(k, v)| format!("{} {}", quote(k), quote(v)))
        .collect();
    format!("* ID ({})", list.join(" "))
}

/// RFC 2342 §5: one personal namespace with no prefix, no other users'
/// and no shared namespaces: `* NAMESPACE (("" "/")) NIL NIL`.
pub fn namespace_response(delimiter: char) -> String {
    format!(
        "* NAMESPACE ((\"\" {})) NIL NIL",
        quote(&delimiter.to_string())
    )
}

/// RFC 4315 §4 uid-set: ascending runs written as ranges, `1:3,5,8:9`.
/// The UIDs keep their order, so that the n-th UID of a COPYUID source
/// set matches the n-th of its destination set.
pub fn uid_set(uids: &[u32]) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut i = 0;
    while i < uids.len() {
        let start = uids[i];
        let mut end = start;
        while i + 1 < uids.len() && end.checked_add(1) == Some(uids[i + 1]) {
            i += 1;
            end = uids[i];
        }
        parts.push(if start == end {
            start.to_string()
        } else {
            format!("{start}:{end}")
        });
        i += 1;
    }
    parts.join(",")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::imap::convert::set_contains;
    use proptest::prelude::*;

    proptest! {
        /// A uid-set names exactly the UIDs it was made from, in a form
        /// the sequence-set parser reads back.
        #[test]
        fn uid_sets_round_trip(uids in prop::collection::btree_set(1u32..200, 1..60)) {
            let uids: Vec<u32> = uids.into_iter().collect();
            let text = uid_set(&uids);
            let set = SequenceSet::from_str(&text).unwrap();
            let named: Vec<u32> = (1..200).filter(|&n| set_contains(&set, n, 199)).collect();
            prop_assert_eq!(named, uids.clone());
            // Runs are merged: no two parts could be joined.
            prop_assert_eq!(text.split(',').count(), 1 + uids.windows(2).filter(|w| w[1] != w[0] + 1).count());
        }

        /// Arbitrary bytes after a tag never panic the parser.
        #[test]
        fn arbitrary_arguments_never_panic(name in prop::sample::select(vec!["ID ", "NAMESPACE", "UID EXPUNGE ", "UID "]), rest in prop::collection::vec(any::<u8>(), 0..80)) {
            let mut message = format!("t {name}").into_bytes();
            message.extend(rest);
            message.extend_from_slice(b"\r\n");
            let _ = parse(&message);
        }
    }

    fn parsed(s: &str) -> Option<(String, Result<ExtCommand, &'static str>)> {
        parse(s.as_bytes())
    }

    #[test]
    fn id_lists_nil_and_literals() {
        assert_eq!(
            parsed("a ID NIL\r\n"),
            Some(("a".into(), Ok(ExtCommand::Id(None))))
        );
        assert_eq!(
            parsed("a1 id (\"name\" \"mutt\" \"version\" NIL)\r\n"),
            Some((
                "a1".into(),
                Ok(ExtCommand::Id(Some(vec![
                    ("name".into(), Some("mutt".into())),
                    ("version".into(), None)
                ])))
            ))
        );
        assert_eq!(
            parsed("b ID (\"os\" {5}\r\nLi\"nx)\r\n"),
            Some((
                "b".into(),
                Ok(ExtCommand::Id(Some(vec![(
                    "os".into(),
                    Some("Li\"nx".into())
                )])))
            ))
        );
        assert_eq!(
            parsed("c ID ()\r\n"),
            Some(("c".into(), Ok(ExtCommand::Id(Some(vec![])))))
        );
        for bad in [
            "d ID\r\n",
            "d ID (\"name\")\r\n",
            "d ID (\"name\" \"x\"\r\n",
            "d ID (name x)\r\n",
            "d ID (\"a\" \"b\")x\r\n",
            "d ID NILS\r\n",
            "d ID (\"a\" {9}\r\nab)\r\n",
            "d ID (\"a\\x\" NIL)\r\n",
        ] {
            assert!(matches!(parsed(bad), Some((_, Err(_)))), "{bad:?}");
        }
        let many: String = (0..31).map(|i| format!("\"f{i}\" NIL ")).collect();
        assert_eq!(
            parsed(&format!("e ID ({})\r\n", many.trim_end())).map(|p| p.1),
            Some(Err("ID takes at most 30 field-value pairs"))
        );
        let long = "x".repeat(31);
        assert!(matches!(
            parsed(&format!("e ID (\"{long}\" NIL)\r\n")),
            Some((_, Err(_)))
        ));
    }

    #[test]
    fn namespace_and_uid_expunge() {
        assert_eq!(
            parsed("n NAMESPACE\r\n"),
            Some(("n".into(), Ok(ExtCommand::Namespace)))
        );
        assert!(matches!(parsed("n NAMESPACE x\r\n"), Some((_, Err(_)))));
        let Some((tag, Ok(ExtCommand::UidExpunge(set)))) = parsed("u uid expunge 1:3,5,7:*\r\n")
        else {
            panic!("UID EXPUNGE not parsed");
        };
        assert_eq!(tag, "u");
        assert_eq!(set, SequenceSet::from_str("1:3,5,7:*").unwrap());
        for bad in [
            "u UID EXPUNGE\r\n",
            "u UID EXPUNGE 0\r\n",
            "u UID EXPUNGE +1\r\n",
            "u UID EXPUNGE 1,,2\r\n",
            "u UID EXPUNGE 1 2\r\n",
            "u UID EXPUNGE 1:2:3\r\n",
        ] {
            assert!(matches!(parsed(bad), Some((_, Err(_)))), "{bad:?}");
        }
        // Not ours: the server's generic BAD.
        assert_eq!(parsed("u UID FROB 1\r\n"), None);
        assert_eq!(parsed("u FROB\r\n"), None);
        assert_eq!(parsed("+ ID NIL\r\n"), None);
    }

    #[test]
    fn replies() {
        assert_eq!(uid_set(&[1, 2, 3, 5, 8, 9]), "1:3,5,8:9");
        assert_eq!(uid_set(&[7]), "7");
        assert_eq!(uid_set(&[4, 3]), "4,3");
        assert_eq!(uid_set(&[u32::MAX - 1, u32::MAX]), "4294967294:4294967295");
        assert_eq!(
            namespace_response('/'),
            "* NAMESPACE ((\"\" \"/\")) NIL NIL"
        );
        assert_eq!(
            namespace_response('\\'),
            "* NAMESPACE ((\"\" \"\\\\\")) NIL NIL"
        );
        assert_eq!(quote("a\"b"), "\"a\\\"b\"");
        assert!(id_response().starts_with("* ID (\"name\" \"wiretale\" \"version\" \""));
    }
}
