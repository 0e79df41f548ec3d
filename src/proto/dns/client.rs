//! The asking side of DNS: queries, responses, and the MX lookup a sending
//! mail server performs.
//!
//! [`build_query`] and [`parse_response`] are the stub resolver's two
//! halves. [`MxResolver`] strings them together as RFC 5321 §5.1 asks:
//! look up the MX records of the recipient's domain and order them by
//! preference; find each exchange's address (from the additional section
//! when the server supplied it, otherwise with an A query); and when the
//! domain has no MX at all, treat the domain itself as the only exchange
//! (the "implicit MX"). Like the other machines it is sans-IO: it hands
//! out datagrams to send and takes the ones received; timers belong to the
//! driver, which calls [`MxResolver::handle_timeout`].
//!
//! Not here: retrying a query, several name servers, randomizing among
//! exchanges of equal preference.

use std::collections::VecDeque;
use std::net::Ipv4Addr;

use hickory_proto::op::{Message, MessageType, OpCode, Query};

use super::{
    DnsError, DnsResponse, QueryType, Rcode, describe_query, fqdn, name_text, normalize_name,
    response_from_message,
};
use crate::proto::Transition;

/// Encodes a standard query for `name` (recursion desired, as stub
/// resolvers ask).
pub fn build_query(id: u16, name: &str, qtype: QueryType) -> Result<Vec<u8>, DnsError> {
    let mut message = Message::new(id, MessageType::Query, OpCode::Query);
    message.metadata.recursion_desired = true;
    message.add_query(Query::query(fqdn(name)?, qtype.record_type()));
    message
        .to_vec()
        .map_err(|e| DnsError::Encode(e.to_string()))
}

/// A decoded query: id, name and type mnemonic (`A`, `MX`, `AAAA`, ...).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DnsQuery {
    pub id: u16,
    pub name: String,
    pub qtype: String,
}

/// Decodes a query (the server side of [`build_query`]).
pub fn parse_query(datagram: &[u8]) -> Result<DnsQuery, DnsError> {
    let message = Message::from_vec(datagram).map_err(|e| DnsError::Decode(e.to_string()))?;
    if message.metadata.message_type != MessageType::Query {
        return Err(DnsError::WrongDirection);
    }
    let question = message
        .queries
        .first()
        .ok_or_else(|| DnsError::Decode("no question".into()))?;
    Ok(DnsQuery {
        id: message.metadata.id,
        name: name_text(question.name()),
        qtype: question.query_type().to_string(),
    })
}

/// Decodes a response into plain types.
pub fn parse_response(datagram: &[u8]) -> Result<DnsResponse, DnsError> {
    let message = Message::from_vec(datagram).map_err(|e| DnsError::Decode(e.to_string()))?;
    if message.metadata.message_type != MessageType::Response {
        return Err(DnsError::WrongDirection);
    }
    Ok(response_from_message(&message))
}

/// A host that accepts mail for the domain, with its addresses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailExchange {
    /// MX preference (0 for the implicit MX).
    pub preference: u16,
    /// The exchange's name.
    pub host: String,
    /// Its IPv4 addresses.
    pub addresses: Vec<Ipv4Addr>,
}

/// Why no exchange was found.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ResolveError {
    /// NXDOMAIN: the domain does not exist (permanent).
    #[error("domain {0} does not exist")]
    NoSuchDomain(String),
    /// RFC 7505 null MX (`MX 0 .`): the domain accepts no mail (permanent).
    #[error("domain {0} does not accept mail (null MX)")]
    NullMx(String),
    /// MX hosts (or the domain itself) have no address (permanent).
    #[error("no address for the mail exchangers of {0}")]
    NoAddress(String),
    /// SERVFAIL, no answer, or an unreadable response (try again later).
    #[error("temporary DNS failure: {0}")]
    Temporary(String),
}

impl ResolveError {
    /// Whether giving up (bouncing) is right, rather than retrying later.
    pub fn is_permanent(&self) -> bool {
        !matches!(self, ResolveError::Temporary(_))
    }
}

/// The states of the resolver diagram.
pub const STATES: &[&str] = &["QUERY-MX", "QUERY-A", "DONE", "FAILED"];

/// The resolver's state diagram for the visualizer: `(from, to, label)`.
pub const TRANSITIONS: &[Transition] = &[
    (
        "QUERY-MX",
        "DONE",
        "MX with addresses in additional section",
    ),
    (
        "QUERY-MX",
        "QUERY-A",
        "MX without addresses / query A of exchange",
    ),
    (
        "QUERY-MX",
        "QUERY-A",
        "no MX (implicit MX) / query A of domain",
    ),
    ("QUERY-MX", "FAILED", "NXDOMAIN, null MX, SERVFAIL, timeout"),
    ("QUERY-A", "QUERY-A", "answer / query A of next exchange"),
    ("QUERY-A", "DONE", "addresses found"),
    ("QUERY-A", "FAILED", "no exchange has an address"),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    QueryMx,
    /// Waiting for the A records of `exchanges[i]`.
    QueryA(usize),
    Done,
    Failed,
}

/// Finds the mail exchangers of a domain (RFC 5321 §5.1). See the module
/// documentation.
#[derive(Debug, Clone)]
pub struct MxResolver {
    domain: String,
    next_id: u16,
    /// The id and question of the query awaiting an answer.
    outstanding: Option<(u16, String, QueryType)>,
    state: State,
    exchanges: Vec<MailExchange>,
    /// Whether some A query failed temporarily (decides the final error).
    temporary_trouble: bool,
    result: Option<Result<Vec<MailExchange>, ResolveError>>,
    output: VecDeque<Vec<u8>>,
    trace: VecDeque<String>,
}

impl MxResolver {
    /// Starts resolving `domain`: the MX query is ready in
    /// [`poll_query`](Self::poll_query). Query ids start at `first_id` and
    /// count up (a real resolver picks each at random).
    pub fn new(domain: &str, first_id: u16) -> MxResolver {
        let mut resolver = MxResolver {
            domain: normalize_name(domain),
            next_id: first_id,
            outstanding: None,
            state: State::QueryMx,
            exchanges: Vec::new(),
            temporary_trouble: false,
            result: None,
            output: VecDeque::new(),
            trace: VecDeque::new(),
        };
        let domain = resolver.domain.clone();
        resolver.send_query(&domain, QueryType::Mx);
        resolver
    }

    /// The domain being resolved.
    pub fn domain(&self) -> &str {
        &self.domain
    }

    /// The next datagram to send to the name server.
    pub fn poll_query(&mut self) -> Option<Vec<u8>> {
        self.output.pop_front()
    }

    /// The next line for the trace (`query MX hamburger.edu`,
    /// `answer MX 10 mail.hamburger.edu`, `NXDOMAIN`, ...).
    pub fn poll_trace(&mut self) -> Option<String> {
        self.trace.pop_front()
    }

    /// The outcome, once there is one: exchanges in the order to try them,
    /// each with at least one address.
    pub fn result(&self) -> Option<&Result<Vec<MailExchange>, ResolveError>> {
        self.result.as_ref()
    }

    /// The current state, one of [`STATES`].
    pub fn state_name(&self) -> &'static str {
        match self.state {
            State::QueryMx => "QUERY-MX",
            State::QueryA(_) => "QUERY-A",
            State::Done => "DONE",
            State::Failed => "FAILED",
        }
    }

    /// Feeds a datagram from the name server. Responses that do not match
    /// the outstanding query (id or question) are ignored, as a resolver
    /// must to resist spoofing (RFC 5452 §4).
    pub fn handle_response(&mut self, datagram: &[u8]) {
        let Some((id, name, qtype)) = self.outstanding.clone() else {
            return;
        };
        let Ok(response) = parse_response(datagram) else {
            return;
        };
        let question_matches = response
            .question
            .as_ref()
            .is_some_and(|(n, t)| *n == name && *t == qtype.to_string());
        if response.id != id || !question_matches {
            return;
        }
        self.outstanding = None;
        self.trace.extend(response.describe());
        match self.state {
            State::QueryMx => self.on_mx_response(&response),
            State::QueryA(i) => self.on_a_response(i, &response),
            State::Done | State::Failed => {}
        }
    }

    /// The outstanding query got no answer in time.
    pub fn handle_timeout(&mut self) {
        if self.outstanding.take().is_none() {
            return;
        }
        self.trace.push_back("timeout".to_string());
        match self.state {
            State::QueryMx => self.fail(ResolveError::Temporary("no answer to MX query".into())),
            State::QueryA(i) => {
                self.temporary_trouble = true;
                self.query_next_address(i + 1);
            }
            State::Done | State::Failed => {}
        }
    }

    fn on_mx_response(&mut self, response: &DnsResponse) {
        match response.rcode {
            Rcode::NoError => {}
            Rcode::NxDomain => return self.fail(ResolveError::NoSuchDomain(self.domain.clone())),
            other => return self.fail(ResolveError::Temporary(other.name())),
        }
        let mut mx = response.mx();
        // RFC 7505 §3: a single MX with exchange "." means "no mail here".
        if mx.len() == 1 && mx[0].1.is_empty() {
            return self.fail(ResolveError::NullMx(self.domain.clone()));
        }
        if mx.is_empty() {
            // RFC 5321 §5.1: no MX, so the domain is its own implicit MX.
            self.exchanges = vec![MailExchange {
                preference: 0,
                host: self.domain.clone(),
                addresses: Vec::new(),
            }];
        } else {
            // Lower preference first; a stable sort keeps the server's order
            // among equals.
            mx.sort_by_key(|(preference, _)| *preference);
            self.exchanges = mx
                .into_iter()
                .filter(|(_, host)| !host.is_empty())
                .map(|(preference, host)| MailExchange {
                    preference,
                    addresses: response.additional_addresses(&host),
                    host,
                })
                .collect();
        }
        self.query_next_address(0);
    }

    fn on_a_response(&mut self, index: usize, response: &DnsResponse) {
        match response.rcode {
            Rcode::NoError | Rcode::NxDomain => {}
            _ => self.temporary_trouble = true,
        }
        if let Some(exchange) = self.exchanges.get_mut(index) {
            exchange.addresses = response.a_addresses();
        }
        self.query_next_address(index + 1);
    }

    /// Sends an A query for the first exchange from `from` on that has no
    /// address yet, or finishes.
    fn query_next_address(&mut self, from: usize) {
        let next = (from..self.exchanges.len()).find(|&i| self.exchanges[i].addresses.is_empty());
        match next {
            Some(i) => {
                let host = self.exchanges[i].host.clone();
                self.state = State::QueryA(i);
                self.send_query(&host, QueryType::A);
            }
            None => self.finish(),
        }
    }

    fn finish(&mut self) {
        let usable: Vec<MailExchange> = self
            .exchanges
            .iter()
            .filter(|e| !e.addresses.is_empty())
            .cloned()
            .collect();
        if !usable.is_empty() {
            self.state = State::Done;
            self.result = Some(Ok(usable));
        } else if self.temporary_trouble {
            self.fail(ResolveError::Temporary(
                "no address for any exchange".into(),
            ));
        } else {
            self.fail(ResolveError::NoAddress(self.domain.clone()));
        }
    }

    fn fail(&mut self, error: ResolveError) {
        self.state = State::Failed;
        self.outstanding = None;
        self.result = Some(Err(error));
    }

    fn send_query(&mut self, name: &str, qtype: QueryType) {
        let id = self.next_id;
        self.next_id = self.next_id.wrapping_add(1);
        match build_query(id, name, qtype) {
            Ok(bytes) => {
                self.trace
                    .push_back(describe_query(name, &qtype.to_string()));
                self.outstanding = Some((id, normalize_name(name), qtype));
                self.output.push_back(bytes);
            }
            Err(_) => self.fail(ResolveError::NoSuchDomain(name.to_string())),
        }
    }
}
