//! An authoritative DNS server for one [`Zone`] of A and MX records.
//!
//! [`DnsServer::handle_datagram`] takes a UDP payload and returns the
//! response to send back, if any (RFC 1035 §4.1). The server is
//! authoritative for every name in its zone and answers:
//!
//! - NOERROR with the records when the name has records of that type, and
//!   for MX also the A records of the exchanges in the additional section
//!   (RFC 1035 §3.3.9: "additional section processing"), which saves the
//!   sender a query;
//! - NOERROR with no records when the name exists but has no record of
//!   that type (RFC 2308 "NODATA"), which is how a sender learns there is
//!   no MX and falls back to the address (RFC 5321 §5.1);
//! - NXDOMAIN when the name is not in the zone;
//! - FORMERR when the query cannot be read, NOTIMP for other opcodes.
//!
//! It never answers a response (that could start a loop) nor a datagram
//! too short to carry a header. It does not recurse, cache or delegate.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use hickory_proto::op::{Edns, Message, OpCode, Query, ResponseCode};
use hickory_proto::rr::rdata::{A, MX};
use hickory_proto::rr::{DNSClass, RData, Record, RecordType};

use super::{DnsError, MAX_UDP_MESSAGE, fqdn, normalize_name};

/// RFC 1035 §4.1.1: the header is 12 octets.
pub const HEADER_LEN: usize = 12;

/// The largest UDP response sent to an EDNS client (RFC 6891 §6.2.5; 1232
/// is the size DNS Flag Day 2020 recommends).
pub const EDNS_PAYLOAD: u16 = 1232;

/// Default time to live of the zone's records, in seconds.
pub const DEFAULT_TTL: u32 = 3600;

/// A record held by a zone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ZoneRecord {
    /// An IPv4 address.
    A(Ipv4Addr),
    /// A mail exchanger: lower preference is tried first.
    Mx { preference: u16, exchange: String },
}

/// The records a server is authoritative for, by owner name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Zone {
    /// TTL given to every record.
    pub ttl: u32,
    records: BTreeMap<String, Vec<ZoneRecord>>,
}

impl Default for Zone {
    fn default() -> Self {
        Zone::new()
    }
}

impl Zone {
    /// An empty zone.
    pub fn new() -> Zone {
        Zone {
            ttl: DEFAULT_TTL,
            records: BTreeMap::new(),
        }
    }

    /// Adds `name A addr`.
    pub fn add_a(&mut self, name: &str, addr: Ipv4Addr) -> Result<(), DnsError> {
        fqdn(name)?;
        self.records
            .entry(normalize_name(name))
            .or_default()
            .push(ZoneRecord::A(addr));
        Ok(())
    }

    /// Adds `name MX preference exchange`.
    pub fn add_mx(&mut self, name: &str, preference: u16, exchange: &str) -> Result<(), DnsError> {
        fqdn(name)?;
        fqdn(exchange)?;
        self.records
            .entry(normalize_name(name))
            .or_default()
            .push(ZoneRecord::Mx {
                preference,
                exchange: normalize_name(exchange),
            });
        Ok(())
    }

    /// Whether the zone has any record for `name`.
    pub fn contains(&self, name: &str) -> bool {
        self.records.contains_key(&normalize_name(name))
    }

    /// The addresses of `name`.
    pub fn a_records(&self, name: &str) -> Vec<Ipv4Addr> {
        self.records_of(name)
            .filter_map(|r| match r {
                ZoneRecord::A(addr) => Some(*addr),
                _ => None,
            })
            .collect()
    }

    /// The `(preference, exchange)` pairs of `name`, in the order added.
    pub fn mx_records(&self, name: &str) -> Vec<(u16, String)> {
        self.records_of(name)
            .filter_map(|r| match r {
                ZoneRecord::Mx {
                    preference,
                    exchange,
                } => Some((*preference, exchange.clone())),
                _ => None,
            })
            .collect()
    }

    /// Every `(name, record)`, sorted by name.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &ZoneRecord)> {
        self.records
            .iter()
            .flat_map(|(name, records)| records.iter().map(move |r| (name.as_str(), r)))
    }

    fn records_of(&self, name: &str) -> impl Iterator<Item = &ZoneRecord> {
        self.records
            .get(&normalize_name(name))
            .into_iter()
            .flatten()
    }
}

/// An authoritative server for one zone. See the module documentation.
#[derive(Debug, Clone, Default)]
pub struct DnsServer {
    zone: Zone,
}

impl DnsServer {
    /// A server for `zone`.
    pub fn new(zone: Zone) -> DnsServer {
        DnsServer { zone }
    }

    /// The zone served.
    pub fn zone(&self) -> &Zone {
        &self.zone
    }

    /// The zone, to change it between queries.
    pub fn zone_mut(&mut self) -> &mut Zone {
        &mut self.zone
    }

    /// Answers one datagram; `None` means send nothing.
    pub fn handle_datagram(&self, datagram: &[u8]) -> Option<Vec<u8>> {
        if datagram.len() < HEADER_LEN {
            return None;
        }
        // Read the header by hand first, so that even a message hickory
        // cannot decode gets a FORMERR with the right id.
        let id = u16::from_be_bytes([datagram[0], datagram[1]]);
        let is_response = datagram[2] & 0x80 != 0;
        let opcode = OpCode::from_u8((datagram[2] >> 3) & 0x0f);
        if is_response {
            return None;
        }
        let query = match Message::from_vec(datagram) {
            Ok(query) => query,
            Err(_) => return encode(&Message::error_msg(id, opcode, ResponseCode::FormErr)),
        };
        if query.metadata.op_code != OpCode::Query {
            return encode(&Message::error_msg(id, opcode, ResponseCode::NotImp));
        }
        // RFC 9619: a query carries exactly one question.
        let [question] = query.queries.as_slice() else {
            return encode(&Message::error_msg(id, opcode, ResponseCode::FormErr));
        };
        let mut response = self.answer(&query, question);
        let limit = match &query.edns {
            // RFC 6891 §6.2.5: honour the client's buffer size, at least 512.
            Some(edns) => {
                let mut ours = Edns::new();
                ours.set_max_payload(EDNS_PAYLOAD);
                response.edns = Some(ours);
                usize::from(edns.max_payload().clamp(512, EDNS_PAYLOAD))
            }
            None => MAX_UDP_MESSAGE,
        };
        let bytes = encode(&response)?;
        if bytes.len() <= limit {
            return Some(bytes);
        }
        // RFC 1035 §4.2.1 / RFC 2181 §9: too big for UDP, so send the
        // question alone with TC set; the client would retry over TCP.
        response.answers.clear();
        response.additionals.clear();
        response.metadata.truncation = true;
        encode(&response)
    }

    /// Builds the response to a well-formed single-question query.
    fn answer(&self, query: &Message, question: &Query) -> Message {
        let mut response = Message::response(query.metadata.id, OpCode::Query);
        response.metadata.authoritative = true;
        response.metadata.recursion_desired = query.metadata.recursion_desired;
        response.metadata.recursion_available = false;
        response.add_query(question.clone());

        let name = normalize_name(&question.name().to_ascii());
        if question.query_class() != DNSClass::IN {
            response.metadata.response_code = ResponseCode::Refused;
            return response;
        }
        if !self.zone.contains(&name) {
            response.metadata.response_code = ResponseCode::NXDomain;
            return response;
        }
        let ttl = self.zone.ttl;
        match question.query_type() {
            RecordType::A => {
                for addr in self.zone.a_records(&name) {
                    let rdata = RData::A(A(addr));
                    response.add_answer(Record::from_rdata(question.name().clone(), ttl, rdata));
                }
            }
            RecordType::MX => {
                for (preference, exchange) in self.zone.mx_records(&name) {
                    let Ok(exchange_name) = fqdn(&exchange) else {
                        continue;
                    };
                    let rdata = RData::MX(MX::new(preference, exchange_name.clone()));
                    response.add_answer(Record::from_rdata(question.name().clone(), ttl, rdata));
                    for addr in self.zone.a_records(&exchange) {
                        let rdata = RData::A(A(addr));
                        response.add_additional(Record::from_rdata(
                            exchange_name.clone(),
                            ttl,
                            rdata,
                        ));
                    }
                }
            }
            // Other types: the name exists, so NOERROR with no records.
            _ => {}
        }
        response
    }
}

fn encode(message: &Message) -> Option<Vec<u8>> {
    message.to_vec().ok()
}
