//! DNS over UDP (RFC 1035), as much as mail delivery needs: A and MX
//! records, one authoritative server, a stub resolver.
//!
//! The messages on the wire are real DNS messages, encoded and decoded by
//! `hickory-proto`, so a capture opens in Wireshark and `dig` can query
//! the live server. Around that codec this module keeps to small plain
//! types ([`DnsResponse`], [`DnsRecord`], [`Rcode`]) so that applications
//! and traces need not know hickory's.
//!
//! - [`server`]: a [`Zone`] of A and MX records and the [`DnsServer`] that
//!   answers queries about it.
//! - [`client`]: building queries, reading responses, and the
//!   [`MxResolver`] a sending mail server uses to find where to deliver
//!   (RFC 5321 §5.1: MX records, then their addresses).
//!
//! Not here: recursion, caching, CNAME, AAAA, TCP fallback, zone transfers.
//! DNS over UDP has no connection, so nothing here implements
//! [`crate::proto::Session`]: a datagram in, at most one datagram out.

pub mod client;
pub mod server;

#[cfg(test)]
mod tests;

use std::net::Ipv4Addr;

use hickory_proto::op::{Message, MessageType, ResponseCode};
use hickory_proto::rr::{Name, RData, Record, RecordType};

/// The resolver's state names (see [`client::STATES`]); the server itself
/// is stateless (one datagram in, at most one out), so DNS has no server
/// `STATES`.
pub use client::STATES as CLIENT_STATES;
/// The resolver's state diagram (see [`client::TRANSITIONS`]).
pub use client::TRANSITIONS as CLIENT_TRANSITIONS;
pub use client::{
    DnsQuery, MailExchange, MxResolver, ResolveError, build_query, parse_query, parse_response,
};
pub use server::{DnsServer, Zone, ZoneRecord};

/// The DNS port (RFC 1035 §4.2.1).
pub const PORT: u16 = 53;

/// RFC 1035 §4.2.1: UDP messages are at most 512 octets (without EDNS).
pub const MAX_UDP_MESSAGE: usize = 512;

/// Something went wrong turning a name or message into bytes or back.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DnsError {
    /// Not a valid domain name.
    #[error("bad domain name {0:?}")]
    BadName(String),
    /// The bytes are not a DNS message.
    #[error("cannot decode DNS message: {0}")]
    Decode(String),
    /// The message could not be encoded.
    #[error("cannot encode DNS message: {0}")]
    Encode(String),
    /// A response was expected but this is a query, or the other way round.
    #[error("unexpected message direction")]
    WrongDirection,
}

/// The record types this module asks about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum QueryType {
    /// An IPv4 address (RFC 1035 §3.4.1).
    A,
    /// A mail exchanger (RFC 1035 §3.3.9).
    Mx,
}

impl QueryType {
    fn record_type(self) -> RecordType {
        match self {
            QueryType::A => RecordType::A,
            QueryType::Mx => RecordType::MX,
        }
    }
}

impl std::fmt::Display for QueryType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            QueryType::A => "A",
            QueryType::Mx => "MX",
        })
    }
}

/// The response code (RCODE, RFC 1035 §4.1.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rcode {
    NoError,
    /// The server could not read the query.
    FormErr,
    /// The server failed (try again later).
    ServFail,
    /// The name does not exist.
    NxDomain,
    /// The server does not do that kind of query.
    NotImp,
    /// The server will not answer.
    Refused,
    Other(u16),
}

impl Rcode {
    fn from_hickory(code: ResponseCode) -> Rcode {
        match u16::from(code) {
            0 => Rcode::NoError,
            1 => Rcode::FormErr,
            2 => Rcode::ServFail,
            3 => Rcode::NxDomain,
            4 => Rcode::NotImp,
            5 => Rcode::Refused,
            other => Rcode::Other(other),
        }
    }

    /// The mnemonic used in traces, e.g. `NXDOMAIN`.
    pub fn name(self) -> String {
        match self {
            Rcode::NoError => "NOERROR".into(),
            Rcode::FormErr => "FORMERR".into(),
            Rcode::ServFail => "SERVFAIL".into(),
            Rcode::NxDomain => "NXDOMAIN".into(),
            Rcode::NotImp => "NOTIMP".into(),
            Rcode::Refused => "REFUSED".into(),
            Rcode::Other(code) => format!("RCODE{code}"),
        }
    }
}

/// One resource record, reduced to what this module reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DnsRecord {
    /// `name A addr`.
    A { name: String, addr: Ipv4Addr },
    /// `name MX preference exchange`; an empty exchange is the root (".").
    Mx {
        name: String,
        preference: u16,
        exchange: String,
    },
    /// Any other type, by its mnemonic.
    Other { name: String, rtype: String },
}

impl DnsRecord {
    fn from_hickory(record: &Record) -> DnsRecord {
        let name = name_text(&record.name);
        match &record.data {
            RData::A(a) => DnsRecord::A { name, addr: a.0 },
            RData::MX(mx) => DnsRecord::Mx {
                name,
                preference: mx.preference,
                exchange: name_text(&mx.exchange),
            },
            other => DnsRecord::Other {
                name,
                rtype: other.record_type().to_string(),
            },
        }
    }

    /// `A 10.0.2.2`, `MX 10 mail.hamburger.edu`, with the owner name in
    /// front when `with_name`.
    fn describe(&self, with_name: bool) -> String {
        let (name, rest) = match self {
            DnsRecord::A { name, addr } => (name, format!("A {addr}")),
            DnsRecord::Mx {
                name,
                preference,
                exchange,
            } => (name, format!("MX {preference} {}", display_name(exchange))),
            DnsRecord::Other { name, rtype } => (name, rtype.clone()),
        };
        if with_name {
            let mut words = rest.splitn(2, ' ');
            let rtype = words.next().unwrap_or_default();
            let data = words.next().unwrap_or_default();
            format!("{rtype} {} {data}", display_name(name))
                .trim_end()
                .to_string()
        } else {
            rest
        }
    }
}

/// A decoded response, in plain types.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DnsResponse {
    /// The query id it answers.
    pub id: u16,
    pub rcode: Rcode,
    /// AA: the answer comes from the zone's own server.
    pub authoritative: bool,
    /// TC: the answer did not fit and was cut.
    pub truncated: bool,
    /// The question it answers, if the response repeats it.
    pub question: Option<(String, String)>,
    pub answers: Vec<DnsRecord>,
    /// Helpful extra records (addresses of MX hosts).
    pub additionals: Vec<DnsRecord>,
}

impl DnsResponse {
    /// The addresses in the answer section.
    pub fn a_addresses(&self) -> Vec<Ipv4Addr> {
        self.answers
            .iter()
            .filter_map(|r| match r {
                DnsRecord::A { addr, .. } => Some(*addr),
                _ => None,
            })
            .collect()
    }

    /// The `(preference, exchange)` pairs in the answer section.
    pub fn mx(&self) -> Vec<(u16, String)> {
        self.answers
            .iter()
            .filter_map(|r| match r {
                DnsRecord::Mx {
                    preference,
                    exchange,
                    ..
                } => Some((*preference, exchange.clone())),
                _ => None,
            })
            .collect()
    }

    /// The addresses the additional section gives for `host`.
    pub fn additional_addresses(&self, host: &str) -> Vec<Ipv4Addr> {
        self.additionals
            .iter()
            .filter_map(|r| match r {
                DnsRecord::A { name, addr } if name.eq_ignore_ascii_case(host) => Some(*addr),
                _ => None,
            })
            .collect()
    }

    /// One line per fact, for the trace: `answer MX 10 mail.hamburger.edu`,
    /// `additional A mail.hamburger.edu 10.0.2.2`, `NXDOMAIN`,
    /// `NOERROR, no records`.
    pub fn describe(&self) -> Vec<String> {
        let mut lines = Vec::new();
        if self.rcode != Rcode::NoError {
            lines.push(self.rcode.name());
        } else if self.answers.is_empty() {
            lines.push("NOERROR, no records".to_string());
        }
        if self.truncated {
            lines.push("truncated (TC)".to_string());
        }
        for record in &self.answers {
            lines.push(format!("answer {}", record.describe(false)));
        }
        for record in &self.additionals {
            lines.push(format!("additional {}", record.describe(true)));
        }
        lines
    }
}

/// One line describing a query: `query MX hamburger.edu`.
pub fn describe_query(name: &str, qtype: &str) -> String {
    format!("query {qtype} {}", display_name(name))
}

/// Describes any datagram for the trace: a query as one line, a response
/// as [`DnsResponse::describe`], garbage as `malformed DNS message`.
pub fn describe(datagram: &[u8]) -> Vec<String> {
    let Ok(message) = Message::from_vec(datagram) else {
        return vec!["malformed DNS message".to_string()];
    };
    match message.metadata.message_type {
        MessageType::Query => match message.queries.first() {
            Some(q) => vec![describe_query(
                &name_text(q.name()),
                &q.query_type().to_string(),
            )],
            None => vec!["query (no question)".to_string()],
        },
        MessageType::Response => response_from_message(&message).describe(),
    }
}

fn response_from_message(message: &Message) -> DnsResponse {
    DnsResponse {
        id: message.metadata.id,
        rcode: Rcode::from_hickory(message.metadata.response_code),
        authoritative: message.metadata.authoritative,
        truncated: message.metadata.truncation,
        question: message
            .queries
            .first()
            .map(|q| (name_text(q.name()), q.query_type().to_string())),
        answers: message
            .answers
            .iter()
            .map(DnsRecord::from_hickory)
            .collect(),
        additionals: message
            .additionals
            .iter()
            .map(DnsRecord::from_hickory)
            .collect(),
    }
}

/// A domain name as plain text: lower case, no trailing dot; the root is
/// the empty string.
pub fn name_text(name: &Name) -> String {
    normalize_name(&name.to_ascii())
}

/// Lower case without the trailing dot, the form zone lookups use.
pub fn normalize_name(name: &str) -> String {
    name.trim_end_matches('.').to_ascii_lowercase()
}

/// The root shows as "." in traces.
fn display_name(name: &str) -> &str {
    if name.is_empty() { "." } else { name }
}

/// A fully qualified hickory name from text such as `hamburger.edu`.
fn fqdn(name: &str) -> Result<Name, DnsError> {
    let text = format!("{}.", name.trim_end_matches('.'));
    let parsed = Name::from_ascii(&text).map_err(|_| DnsError::BadName(name.to_string()))?;
    Ok(parsed)
}
