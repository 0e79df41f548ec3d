//! RFC 3501 §6.4.4 SEARCH: does one message match a search key?
//!
//! imap-codec parses the criteria into a tree of `SearchKey`s (a list of
//! keys is an AND, `OR a b`, `NOT a`); this module walks that tree for one
//! message at a time. String criteria match substrings case-insensitively
//! on the raw header or text, without decoding MIME (as RFC 3501 permits
//! for a server that does not support the requested charset).

use imap_codec::imap_types::search::SearchKey;

use super::convert::{astring_bytes, day_from_search_date, set_contains};
use super::message::{contains_ignore_case, fields, header_value, sent_day, split_header};
use super::store::{Flag, FlagSet};

/// What SEARCH knows about one message of the session's view.
#[derive(Debug, Clone, Copy)]
pub struct Candidate<'a> {
    /// Sequence number in the session's view.
    pub seq: u32,
    pub uid: u32,
    pub flags: &'a FlagSet,
    /// `\Recent` in this session.
    pub recent: bool,
    pub size: u32,
    pub internal_date: i64,
    /// The message bytes, when a criterion needs them (`None` if the
    /// message was expunged meanwhile).
    pub body: Option<&'a [u8]>,
    /// What `*` means for sequence numbers and for UIDs.
    pub largest_seq: u32,
    pub largest_uid: u32,
}

/// True if evaluating `key` needs the message bytes.
pub fn needs_body(key: &SearchKey<'_>) -> bool {
    use SearchKey as K;
    match key {
        K::And(keys) => keys.as_ref().iter().any(needs_body),
        K::Not(k) => needs_body(k),
        K::Or(a, b) => needs_body(a) || needs_body(b),
        K::Bcc(_)
        | K::Body(_)
        | K::Cc(_)
        | K::From(_)
        | K::Header(..)
        | K::SentBefore(_)
        | K::SentOn(_)
        | K::SentSince(_)
        | K::Subject(_)
        | K::Text(_)
        | K::To(_) => true,
        _ => false,
    }
}

fn header_contains(c: &Candidate<'_>, name: &str, needle: &[u8]) -> bool {
    let Some(body) = c.body else { return false };
    let (header, _) = split_header(body);
    fields(header).iter().any(|f| {
        f.name.eq_ignore_ascii_case(name.as_bytes()) && contains_ignore_case(&f.value, needle)
    })
}

fn sent(c: &Candidate<'_>) -> Option<i64> {
    let (header, _) = split_header(c.body?);
    sent_day(&header_value(header, "Date")?)
}

/// The day (since 1970-01-01, UTC) of a Unix time.
fn day_of(unix: i64) -> i64 {
    unix.div_euclid(86_400)
}

/// True if the message matches `key`.
pub fn matches(key: &SearchKey<'_>, c: &Candidate<'_>) -> bool {
    use SearchKey as K;
    let has = |f: Flag| c.flags.contains(&f);
    let internal = day_of(c.internal_date);
    match key {
        K::And(keys) => keys.as_ref().iter().all(|k| matches(k, c)),
        K::Not(k) => !matches(k, c),
        K::Or(a, b) => matches(a, c) || matches(b, c),
        K::SequenceSet(set) => set_contains(set, c.seq, c.largest_seq),
        K::Uid(set) => set_contains(set, c.uid, c.largest_uid),
        K::All => true,
        K::Answered => has(Flag::Answered),
        K::Unanswered => !has(Flag::Answered),
        K::Deleted => has(Flag::Deleted),
        K::Undeleted => !has(Flag::Deleted),
        K::Draft => has(Flag::Draft),
        K::Undraft => !has(Flag::Draft),
        K::Flagged => has(Flag::Flagged),
        K::Unflagged => !has(Flag::Flagged),
        K::Seen => has(Flag::Seen),
        K::Unseen => !has(Flag::Seen),
        K::Keyword(k) => has(Flag::Keyword(k.inner().to_string())),
        K::Unkeyword(k) => !has(Flag::Keyword(k.inner().to_string())),
        K::Recent => c.recent,
        // RFC 3501 §6.4.4: NEW is RECENT UNSEEN, OLD is NOT RECENT.
        K::New => c.recent && !has(Flag::Seen),
        K::Old => !c.recent,
        K::Larger(n) => c.size > *n,
        K::Smaller(n) => c.size < *n,
        K::Before(d) => day_from_search_date(d).is_some_and(|d| internal < d),
        K::On(d) => day_from_search_date(d).is_some_and(|d| internal == d),
        K::Since(d) => day_from_search_date(d).is_some_and(|d| internal >= d),
        K::SentBefore(d) => compare_sent(c, d, |s, d| s < d),
        K::SentOn(d) => compare_sent(c, d, |s, d| s == d),
        K::SentSince(d) => compare_sent(c, d, |s, d| s >= d),
        K::Bcc(s) => header_contains(c, "Bcc", &astring_bytes(s)),
        K::Cc(s) => header_contains(c, "Cc", &astring_bytes(s)),
        K::From(s) => header_contains(c, "From", &astring_bytes(s)),
        K::To(s) => header_contains(c, "To", &astring_bytes(s)),
        K::Subject(s) => header_contains(c, "Subject", &astring_bytes(s)),
        K::Header(name, value) => {
            let name = String::from_utf8_lossy(&astring_bytes(name)).into_owned();
            header_contains(c, &name, &astring_bytes(value))
        }
        K::Body(s) => c
            .body
            .is_some_and(|b| contains_ignore_case(split_header(b).1, &astring_bytes(s))),
        K::Text(s) => c
            .body
            .is_some_and(|b| contains_ignore_case(b, &astring_bytes(s))),
    }
}

fn compare_sent(
    c: &Candidate<'_>,
    date: &imap_codec::imap_types::datetime::NaiveDate,
    cmp: fn(i64, i64) -> bool,
) -> bool {
    match (sent(c), day_from_search_date(date)) {
        (Some(s), Some(d)) => cmp(s, d),
        _ => false,
    }
}
