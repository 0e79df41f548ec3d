//! Conversions between wiretale's types and imap-types' wire types.
//!
//! imap-codec parses commands into, and encodes responses from, the typed
//! values of imap-types (strings that know whether they may be quoted,
//! flags, body structures, ...). These helpers build those values from the
//! store's plain data and read plain data back out of parsed commands.

use std::num::NonZeroU32;

use imap_codec::{
    ResponseCodec,
    decode::Decoder,
    imap_types::{
        body::{
            BasicFields, Body, BodyStructure, Disposition, MultiPartExtensionData,
            SinglePartExtensionData, SpecificFields,
        },
        core::{AString, Atom, IString, Literal, NString, NonEmptyVec},
        datetime::DateTime,
        envelope::{Address, Envelope},
        fetch::MessageDataItem,
        flag::{Flag as ImapFlag, FlagFetch, FlagPerm},
        mailbox::{ListMailbox, Mailbox},
        response::{Data, Response},
        sequence::{SeqOrUid, Sequence, SequenceSet},
    },
};

use super::message::{self, EnvelopeAddress, MimePart};
use super::store::{Flag, FlagSet, INBOX};
use crate::proto::date;

/// A string for the wire: quoted when it can be, a literal otherwise.
/// NUL cannot travel in IMAP4rev1 strings at all, so it becomes a space.
pub fn istring(data: &[u8]) -> IString<'static> {
    match IString::try_from(data.to_vec()) {
        Ok(s) => s,
        Err(_) => IString::Literal(nul_free_literal(data)),
    }
}

/// Always a literal (`{n}` + data), as servers send message content:
/// clients such as Python's imaplib only return literals as separate data.
pub fn literal(data: &[u8]) -> NString<'static> {
    NString(Some(IString::Literal(nul_free_literal(data))))
}

fn nul_free_literal(data: &[u8]) -> Literal<'static> {
    match Literal::try_from(data.to_vec()) {
        Ok(l) => l,
        Err(_) => {
            let cleaned: Vec<u8> = data
                .iter()
                .map(|&b| if b == 0 { b' ' } else { b })
                .collect();
            // Valid by construction: a literal may hold any octet but NUL.
            Literal::unvalidated(cleaned)
        }
    }
}

/// An nstring: NIL for `None`.
pub fn nstring(data: Option<&[u8]>) -> NString<'static> {
    NString(data.map(istring))
}

/// The bytes of an astring argument (user names, search strings).
pub fn astring_bytes(s: &AString<'_>) -> Vec<u8> {
    s.as_ref().to_vec()
}

/// The folder name a mailbox argument names, or `None` if it is not UTF-8.
pub fn mailbox_name(mailbox: &Mailbox<'_>) -> Option<String> {
    match mailbox {
        Mailbox::Inbox => Some(INBOX.to_string()),
        Mailbox::Other(other) => std::str::from_utf8(other.as_ref()).ok().map(str::to_string),
    }
}

/// The wire form of a folder name.
pub fn mailbox(name: &str) -> Option<Mailbox<'static>> {
    if name == INBOX {
        return Some(Mailbox::Inbox);
    }
    Mailbox::try_from(name.to_string()).ok()
}

/// The text of a LIST pattern.
pub fn list_pattern(pattern: &ListMailbox<'_>) -> Option<String> {
    let bytes: &[u8] = match pattern {
        ListMailbox::Token(t) => t.as_ref(),
        ListMailbox::String(s) => s.as_ref(),
    };
    std::str::from_utf8(bytes).ok().map(str::to_string)
}

/// Our flag as imap-types' flag (keywords that are not atoms are dropped).
pub fn to_imap_flag(flag: &Flag) -> Option<ImapFlag<'static>> {
    Some(match flag {
        Flag::Answered => ImapFlag::Answered,
        Flag::Flagged => ImapFlag::Flagged,
        Flag::Deleted => ImapFlag::Deleted,
        Flag::Seen => ImapFlag::Seen,
        Flag::Draft => ImapFlag::Draft,
        Flag::Keyword(k) => ImapFlag::Keyword(Atom::try_from(k.clone()).ok()?),
    })
}

/// A system flag (`\Something`) that IMAP4rev1 does not define.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("unknown system flag")]
pub struct UnknownFlag;

/// A flag from a command. `Ok(None)` for `\Recent`, which a client may
/// name but not set (RFC 3501 §2.3.2).
pub fn from_imap_flag(flag: &ImapFlag<'_>) -> Result<Option<Flag>, UnknownFlag> {
    Ok(Some(match flag {
        ImapFlag::Answered => Flag::Answered,
        ImapFlag::Flagged => Flag::Flagged,
        ImapFlag::Deleted => Flag::Deleted,
        ImapFlag::Seen => Flag::Seen,
        ImapFlag::Draft => Flag::Draft,
        ImapFlag::Keyword(atom) => Flag::Keyword(atom.inner().to_string()),
        ImapFlag::Extension(_) => {
            if flag.to_string().eq_ignore_ascii_case("\\Recent") {
                return Ok(None);
            }
            return Err(UnknownFlag);
        }
    }))
}

/// The flags of a command as a set.
pub fn flag_set(flags: &[ImapFlag<'_>]) -> Result<FlagSet, UnknownFlag> {
    let mut set = FlagSet::new();
    for f in flags {
        if let Some(flag) = from_imap_flag(f)? {
            set.insert(flag);
        }
    }
    Ok(set)
}

/// A FETCH `FLAGS` list, with `\Recent` when the session holds it.
pub fn flag_fetch(flags: &FlagSet, recent: bool) -> Vec<FlagFetch<'static>> {
    let mut out: Vec<FlagFetch<'static>> = flags
        .iter()
        .filter_map(to_imap_flag)
        .map(FlagFetch::Flag)
        .collect();
    if recent {
        out.push(FlagFetch::Recent);
    }
    out
}

/// A list of flags for the FLAGS response.
pub fn flag_list(flags: &FlagSet) -> Vec<ImapFlag<'static>> {
    flags.iter().filter_map(to_imap_flag).collect()
}

/// A PERMANENTFLAGS list; `\*` says new keywords may be created.
pub fn perm_flags(flags: &FlagSet, keywords_allowed: bool) -> Vec<FlagPerm<'static>> {
    let mut out: Vec<FlagPerm<'static>> = flags
        .iter()
        .filter_map(to_imap_flag)
        .map(FlagPerm::Flag)
        .collect();
    if keywords_allowed {
        out.push(FlagPerm::Asterisk);
    }
    out
}

/// RFC 3501 §2.3.3 INTERNALDATE as imap-types' `DateTime`.
///
/// imap-types wraps chrono's date type, which wiretale does not otherwise
/// use. Rather than depend on chrono, we write the date the way the wire
/// carries it (with [`date::imap_date_time`]) and let imap-codec parse it.
pub fn internal_date(unix_secs: i64) -> Option<DateTime> {
    let wire = format!(
        "* 1 FETCH (INTERNALDATE \"{}\")\r\n",
        date::imap_date_time(unix_secs)
    );
    match ResponseCodec::new().decode(wire.as_bytes()) {
        Ok((_, Response::Data(Data::Fetch { items, .. }))) => {
            items.into_iter().find_map(|item| match item {
                MessageDataItem::InternalDate(d) => Some(d),
                _ => None,
            })
        }
        _ => None,
    }
}

/// Unix seconds of an IMAP date-time (APPEND's optional date).
pub fn unix_from_date_time(date: &DateTime) -> i64 {
    date.as_ref().timestamp()
}

/// Days since 1970-01-01 of a SEARCH date (`SINCE 1-Feb-2026`).
pub fn day_from_search_date(date: &imap_codec::imap_types::datetime::NaiveDate) -> Option<i64> {
    date.as_ref()
        .and_hms_opt(0, 0, 0)
        .map(|t| t.and_utc().timestamp().div_euclid(86_400))
}

/// The number a `*` or a value stands for.
fn expand(v: &SeqOrUid, largest: u32) -> u32 {
    match v {
        SeqOrUid::Value(n) => n.get(),
        SeqOrUid::Asterisk => largest,
    }
}

/// True if `n` is in the sequence set. `largest` is what `*` means (the
/// highest sequence number or UID in use). RFC 3501 §9: a range `a:b`
/// holds everything between a and b whichever is larger. Sets are tested,
/// never expanded, so `1:4294967295` costs nothing.
pub fn set_contains(set: &SequenceSet, n: u32, largest: u32) -> bool {
    set.0.as_ref().iter().any(|s| match s {
        Sequence::Single(v) => expand(v, largest) == n,
        Sequence::Range(a, b) => {
            let (a, b) = (expand(a, largest), expand(b, largest));
            a.min(b) <= n && n <= a.max(b)
        }
    })
}

/// The highest explicit number in a set (to reject sequence numbers past
/// the end of the mailbox).
pub fn set_max_value(set: &SequenceSet) -> u32 {
    let value = |v: &SeqOrUid| match v {
        SeqOrUid::Value(n) => n.get(),
        SeqOrUid::Asterisk => 0,
    };
    set.0
        .as_ref()
        .iter()
        .map(|s| match s {
            Sequence::Single(v) => value(v),
            Sequence::Range(a, b) => value(a).max(value(b)),
        })
        .max()
        .unwrap_or(0)
}

/// A sequence set of UIDs, compressed into ranges ("1:3,7").
pub fn uid_set(uids: &[u32]) -> Option<SequenceSet> {
    let mut sorted: Vec<u32> = uids.iter().copied().filter(|&u| u > 0).collect();
    sorted.sort_unstable();
    sorted.dedup();
    let mut seqs = Vec::new();
    let mut i = 0;
    while i < sorted.len() {
        let start = sorted[i];
        let mut end = start;
        while i + 1 < sorted.len() && sorted[i + 1] == end + 1 {
            i += 1;
            end = sorted[i];
        }
        let a = NonZeroU32::new(start)?;
        let b = NonZeroU32::new(end)?;
        seqs.push(if a == b {
            Sequence::Single(SeqOrUid::Value(a))
        } else {
            Sequence::Range(SeqOrUid::Value(a), SeqOrUid::Value(b))
        });
        i += 1;
    }
    SequenceSet::try_from(seqs).ok()
}

fn address(a: &EnvelopeAddress) -> Address<'static> {
    Address {
        name: nstring(a.name.as_deref()),
        adl: NString(None),
        mailbox: nstring(a.mailbox.as_deref()),
        host: nstring(a.host.as_deref()),
    }
}

/// RFC 3501 §7.4.2 ENVELOPE of a message header.
pub fn envelope(header: &[u8]) -> Envelope<'static> {
    let f = message::envelope_fields(header);
    let list = |v: &[EnvelopeAddress]| v.iter().map(address).collect::<Vec<_>>();
    Envelope {
        date: nstring(f.date.as_deref()),
        subject: nstring(f.subject.as_deref()),
        from: list(&f.from),
        sender: list(&f.sender),
        reply_to: list(&f.reply_to),
        to: list(&f.to),
        cc: list(&f.cc),
        bcc: list(&f.bcc),
        in_reply_to: nstring(f.in_reply_to.as_deref()),
        message_id: nstring(f.message_id.as_deref()),
    }
}

fn upper(s: &str) -> IString<'static> {
    istring(s.to_ascii_uppercase().as_bytes())
}

fn params(list: &[(String, String)]) -> Vec<(IString<'static>, IString<'static>)> {
    list.iter()
        .map(|(k, v)| (upper(k), istring(v.as_bytes())))
        .collect()
}

fn disposition(part: &MimePart<'_>) -> Option<Disposition<'static>> {
    let value = message::header_value(part.header, "Content-Disposition")?;
    let (kind, list) = message::parse_disposition(&value)?;
    Some(Disposition {
        disposition: Some((upper(&kind), params(&list))),
        tail: None,
    })
}

/// RFC 3501 §7.4.2 BODYSTRUCTURE (`extended`) or BODY of a MIME part.
pub fn body_structure(part: &MimePart<'_>, extended: bool) -> BodyStructure<'static> {
    if !part.children.is_empty() {
        let bodies: Vec<_> = part
            .children
            .iter()
            .map(|c| body_structure(c, extended))
            .collect();
        if let Ok(bodies) = NonEmptyVec::try_from(bodies) {
            return BodyStructure::Multi {
                bodies,
                subtype: upper(&part.content_type.subtype),
                extension_data: extended.then(|| MultiPartExtensionData {
                    parameter_list: params(&part.content_type.params),
                    tail: disposition(part),
                }),
            };
        }
    }
    let ct = &part.content_type;
    let header_nstring = |name: &str| nstring(message::header_value(part.header, name).as_deref());
    let encoding = message::header_value(part.header, "Content-Transfer-Encoding")
        .map(|v| String::from_utf8_lossy(&v).trim().to_string())
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| "7bit".to_string());
    let basic = BasicFields {
        parameter_list: params(&ct.params),
        id: header_nstring("Content-ID"),
        description: header_nstring("Content-Description"),
        content_transfer_encoding: upper(&encoding),
        size: u32::try_from(part.body.len()).unwrap_or(u32::MAX),
    };
    let specific = if ct.kind == "text" {
        SpecificFields::Text {
            subtype: upper(&ct.subtype),
            number_of_lines: part.body_lines(),
        }
    } else if let Some(inner) = &part.message {
        SpecificFields::Message {
            envelope: Box::new(envelope(inner.header)),
            body_structure: Box::new(body_structure(inner, extended)),
            number_of_lines: part.body_lines(),
        }
    } else {
        SpecificFields::Basic {
            r#type: upper(&ct.kind),
            subtype: upper(&ct.subtype),
        }
    };
    BodyStructure::Single {
        body: Body { basic, specific },
        extension_data: extended.then(|| SinglePartExtensionData {
            md5: NString(None),
            tail: disposition(part),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_date_round_trip() {
        let d = internal_date(1_772_460_309).unwrap();
        assert_eq!(unix_from_date_time(&d), 1_772_460_309);
    }

    #[test]
    fn sets() {
        let set: SequenceSet = "2:4,9,*".parse().unwrap();
        assert!(set_contains(&set, 3, 20));
        assert!(set_contains(&set, 20, 20));
        assert!(!set_contains(&set, 5, 20));
        let reversed: SequenceSet = "9:5".parse().unwrap();
        assert!(set_contains(&reversed, 7, 20));
        assert_eq!(set_max_value(&set), 9);
        let u = uid_set(&[7, 1, 2, 3]).unwrap();
        assert!(set_contains(&u, 2, 0) && set_contains(&u, 7, 0) && !set_contains(&u, 5, 0));
    }
}
