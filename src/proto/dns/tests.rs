//! DNS server, client helpers and MX resolution, with property tests.

use std::net::Ipv4Addr;

use proptest::prelude::*;

use super::client::{self, *};
use super::server::*;
use super::*;

const BOB_MAIL: Ipv4Addr = Ipv4Addr::new(10, 0, 2, 2);
const BACKUP_MAIL: Ipv4Addr = Ipv4Addr::new(10, 0, 3, 2);
const CREPES: Ipv4Addr = Ipv4Addr::new(10, 0, 1, 2);

fn zone() -> Zone {
    let mut z = Zone::new();
    z.add_mx("hamburger.edu", 20, "backup.hamburger.edu")
        .unwrap();
    z.add_mx("Hamburger.EDU.", 10, "mail.hamburger.edu")
        .unwrap();
    z.add_a("mail.hamburger.edu", BOB_MAIL).unwrap();
    z.add_a("backup.hamburger.edu", BACKUP_MAIL).unwrap();
    // crepes.fr has no MX, only an address: the implicit MX case.
    z.add_a("crepes.fr", CREPES).unwrap();
    // An MX whose exchange is outside the zone's address records.
    z.add_mx("nowhere.org", 10, "mx.nowhere.org").unwrap();
    z
}

fn ask(server: &DnsServer, id: u16, name: &str, qtype: QueryType) -> DnsResponse {
    let query = build_query(id, name, qtype).unwrap();
    parse_response(&server.handle_datagram(&query).unwrap()).unwrap()
}

#[test]
fn mx_answer_carries_addresses_in_the_additional_section() {
    let server = DnsServer::new(zone());
    let r = ask(&server, 7, "hamburger.edu", QueryType::Mx);
    assert_eq!(r.id, 7);
    assert_eq!(r.rcode, Rcode::NoError);
    assert!(r.authoritative);
    assert_eq!(
        r.question,
        Some(("hamburger.edu".to_string(), "MX".to_string()))
    );
    assert_eq!(
        r.mx(),
        vec![
            (20, "backup.hamburger.edu".to_string()),
            (10, "mail.hamburger.edu".to_string())
        ]
    );
    assert_eq!(r.additional_addresses("mail.hamburger.edu"), vec![BOB_MAIL]);
    assert_eq!(
        r.describe(),
        vec![
            "answer MX 20 backup.hamburger.edu",
            "answer MX 10 mail.hamburger.edu",
            "additional A backup.hamburger.edu 10.0.3.2",
            "additional A mail.hamburger.edu 10.0.2.2",
        ]
    );
}

#[test]
fn a_nodata_and_nxdomain() {
    let server = DnsServer::new(zone());
    let r = ask(&server, 1, "MAIL.hamburger.edu", QueryType::A);
    assert_eq!(r.a_addresses(), vec![BOB_MAIL]);
    assert_eq!(r.describe(), vec!["answer A 10.0.2.2"]);

    let r = ask(&server, 2, "crepes.fr", QueryType::Mx);
    assert_eq!(r.rcode, Rcode::NoError);
    assert!(r.answers.is_empty());
    assert_eq!(r.describe(), vec!["NOERROR, no records"]);

    let r = ask(&server, 3, "nosuch.example", QueryType::A);
    assert_eq!(r.rcode, Rcode::NxDomain);
    assert_eq!(r.describe(), vec!["NXDOMAIN"]);
}

#[test]
fn descriptions_of_raw_datagrams() {
    let query = build_query(9, "hamburger.edu", QueryType::Mx).unwrap();
    assert_eq!(describe(&query), vec!["query MX hamburger.edu"]);
    assert_eq!(
        parse_query(&query).unwrap(),
        client::DnsQuery {
            id: 9,
            name: "hamburger.edu".into(),
            qtype: "MX".into()
        }
    );
    assert_eq!(describe(b"junk"), vec!["malformed DNS message"]);
    assert_eq!(parse_response(&query), Err(DnsError::WrongDirection));
    assert!(build_query(1, "bad..name", QueryType::A).is_err());
}

#[test]
fn garbage_gets_formerr_or_silence() {
    let server = DnsServer::new(zone());
    // Too short for a header: nothing to answer.
    assert_eq!(server.handle_datagram(b"\x12\x34\x01"), None);
    // A header claiming one question that is not there.
    let bad = [0x12, 0x34, 0x01, 0x00, 0x00, 0x01, 0, 0, 0, 0, 0, 0, 0xff];
    let r = parse_response(&server.handle_datagram(&bad).unwrap()).unwrap();
    assert_eq!((r.id, r.rcode), (0x1234, Rcode::FormErr));
    // Two questions.
    let mut two = Message::new(5, MessageType::Query, hickory_proto::op::OpCode::Query);
    let q = hickory_proto::op::Query::query(
        hickory_proto::rr::Name::from_ascii("a.b.").unwrap(),
        hickory_proto::rr::RecordType::A,
    );
    two.add_query(q.clone());
    two.add_query(q);
    let r = parse_response(&server.handle_datagram(&two.to_vec().unwrap()).unwrap()).unwrap();
    assert_eq!(r.rcode, Rcode::FormErr);
    // A response is never answered.
    let response = server
        .handle_datagram(&build_query(1, "crepes.fr", QueryType::A).unwrap())
        .unwrap();
    assert_eq!(server.handle_datagram(&response), None);
}

#[test]
fn edns_queries_get_an_opt_record_back() {
    let server = DnsServer::new(zone());
    let mut query = Message::new(3, MessageType::Query, hickory_proto::op::OpCode::Query);
    query.add_query(hickory_proto::op::Query::query(
        hickory_proto::rr::Name::from_ascii("hamburger.edu.").unwrap(),
        hickory_proto::rr::RecordType::MX,
    ));
    let mut edns = hickory_proto::op::Edns::new();
    edns.set_max_payload(4096);
    query.edns = Some(edns);
    let bytes = server.handle_datagram(&query.to_vec().unwrap()).unwrap();
    let response = Message::from_vec(&bytes).unwrap();
    assert_eq!(
        response.edns.as_ref().map(|e| e.max_payload()),
        Some(EDNS_PAYLOAD)
    );
    assert_eq!(response.answers.len(), 2);
}

#[test]
fn oversized_answers_are_truncated() {
    let mut z = Zone::new();
    for i in 0..60 {
        z.add_a("big.example", Ipv4Addr::new(10, 1, 0, i)).unwrap();
    }
    let server = DnsServer::new(z);
    let bytes = server
        .handle_datagram(&build_query(4, "big.example", QueryType::A).unwrap())
        .unwrap();
    assert!(bytes.len() <= MAX_UDP_MESSAGE);
    let r = parse_response(&bytes).unwrap();
    assert!(r.truncated);
    assert!(r.answers.is_empty());
}

/// Runs a resolver against a server until it has a result.
fn resolve(
    server: &DnsServer,
    domain: &str,
) -> (Result<Vec<MailExchange>, ResolveError>, Vec<String>) {
    let mut resolver = MxResolver::new(domain, 100);
    while let Some(query) = resolver.poll_query() {
        match server.handle_datagram(&query) {
            Some(response) => resolver.handle_response(&response),
            None => resolver.handle_timeout(),
        }
    }
    let trace = std::iter::from_fn(|| resolver.poll_trace()).collect();
    (resolver.result().cloned().unwrap(), trace)
}

#[test]
fn resolver_orders_exchanges_by_preference() {
    let server = DnsServer::new(zone());
    let (result, trace) = resolve(&server, "hamburger.edu");
    assert_eq!(
        result.unwrap(),
        vec![
            MailExchange {
                preference: 10,
                host: "mail.hamburger.edu".into(),
                addresses: vec![BOB_MAIL]
            },
            MailExchange {
                preference: 20,
                host: "backup.hamburger.edu".into(),
                addresses: vec![BACKUP_MAIL]
            },
        ]
    );
    assert_eq!(trace[0], "query MX hamburger.edu");
    assert!(trace.contains(&"answer MX 10 mail.hamburger.edu".to_string()));
}

#[test]
fn resolver_uses_the_implicit_mx() {
    let server = DnsServer::new(zone());
    let (result, trace) = resolve(&server, "crepes.fr");
    assert_eq!(
        result.unwrap(),
        vec![MailExchange {
            preference: 0,
            host: "crepes.fr".into(),
            addresses: vec![CREPES]
        }]
    );
    assert_eq!(
        trace,
        vec![
            "query MX crepes.fr",
            "NOERROR, no records",
            "query A crepes.fr",
            "answer A 10.0.1.2"
        ]
    );
}

#[test]
fn resolver_failures() {
    let mut z = zone();
    z.add_mx("nomail.example", 0, ".").unwrap();
    let server = DnsServer::new(z);
    let (result, _) = resolve(&server, "nosuch.example");
    let err = result.unwrap_err();
    assert_eq!(err, ResolveError::NoSuchDomain("nosuch.example".into()));
    assert!(err.is_permanent());
    let (result, _) = resolve(&server, "nomail.example");
    assert_eq!(
        result.unwrap_err(),
        ResolveError::NullMx("nomail.example".into())
    );
    let (result, trace) = resolve(&server, "nowhere.org");
    assert_eq!(
        result.unwrap_err(),
        ResolveError::NoAddress("nowhere.org".into())
    );
    assert!(trace.contains(&"query A mx.nowhere.org".to_string()));

    // No answer at all: temporary.
    let mut resolver = MxResolver::new("hamburger.edu", 1);
    assert_eq!(resolver.state_name(), "QUERY-MX");
    resolver.poll_query().unwrap();
    resolver.handle_timeout();
    assert_eq!(resolver.state_name(), "FAILED");
    assert!(
        !resolver
            .result()
            .unwrap()
            .as_ref()
            .unwrap_err()
            .is_permanent()
    );
}

#[test]
fn resolver_ignores_mismatched_responses() {
    let server = DnsServer::new(zone());
    let mut resolver = MxResolver::new("hamburger.edu", 50);
    let query = resolver.poll_query().unwrap();
    // A response with another id (a spoofing attempt) changes nothing.
    let forged = server
        .handle_datagram(&build_query(51, "hamburger.edu", QueryType::Mx).unwrap())
        .unwrap();
    resolver.handle_response(&forged);
    resolver.handle_response(b"garbage");
    assert_eq!(resolver.state_name(), "QUERY-MX");
    resolver.handle_response(&server.handle_datagram(&query).unwrap());
    assert_eq!(resolver.state_name(), "DONE");
    assert!(CLIENT_STATES.contains(&resolver.state_name()));
}

fn qtype() -> impl Strategy<Value = QueryType> {
    prop_oneof![Just(QueryType::A), Just(QueryType::Mx)]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn server_never_panics_on_bytes(bytes in prop::collection::vec(any::<u8>(), 0..600)) {
        let server = DnsServer::new(zone());
        if let Some(response) = server.handle_datagram(&bytes) {
            // Whatever comes back is a well-formed response with our id.
            let r = parse_response(&response).unwrap();
            prop_assert_eq!(r.id, u16::from_be_bytes([bytes[0], bytes[1]]));
            prop_assert!(response.len() <= MAX_UDP_MESSAGE);
        }
        let _ = describe(&bytes);
        let mut resolver = MxResolver::new("hamburger.edu", 0);
        resolver.handle_response(&bytes);
    }

    #[test]
    fn server_answers_every_query(
        id in any::<u16>(),
        labels in prop::collection::vec("[a-z0-9]{1,10}", 1..4),
        known in any::<bool>(),
        qt in qtype(),
        flip in prop::collection::vec((0usize..64, any::<u8>()), 0..3),
    ) {
        let server = DnsServer::new(zone());
        let name = if known { "hamburger.edu".to_string() } else { labels.join(".") };
        let mut query = build_query(id, &name, qt).unwrap();
        let clean = server.handle_datagram(&query).unwrap();
        let r = parse_response(&clean).unwrap();
        prop_assert_eq!(r.id, id);
        prop_assert!(matches!(r.rcode, Rcode::NoError | Rcode::NxDomain));
        // Corrupt a few bytes: still no panic, and any answer keeps the id.
        for (pos, byte) in flip {
            if let Some(b) = query.get_mut(pos) {
                *b = byte;
            }
        }
        if let Some(response) = server.handle_datagram(&query) {
            let r = parse_response(&response).unwrap();
            prop_assert_eq!(r.id, u16::from_be_bytes([query[0], query[1]]));
        }
    }
}

/// Exchanges a random zone may give hamburger.edu: in the zone or not,
/// with or without an address, or the null MX `.`.
const EXCHANGES: &[&str] = &[
    "mail.hamburger.edu",
    "backup.hamburger.edu",
    "mx.elsewhere.org",
    ".",
];

/// A zone with `mx` as hamburger.edu's MX records, `addressed` marking
/// which names (the exchanges, then the domain itself) have an address.
fn random_zone(mx: &[(u16, usize)], addressed: &[bool]) -> Zone {
    let mut z = Zone::new();
    for &(preference, host) in mx {
        z.add_mx("hamburger.edu", preference, EXCHANGES[host])
            .unwrap();
    }
    let names = [
        "mail.hamburger.edu",
        "backup.hamburger.edu",
        "hamburger.edu",
    ];
    for (name, has) in names.iter().zip(addressed) {
        if *has {
            z.add_a(name, BOB_MAIL).unwrap();
        }
    }
    z
}

/// What reaches the resolver next.
#[derive(Debug, Clone)]
enum Arrival {
    /// The server's answer to the outstanding query.
    Answer,
    /// That answer with a byte changed (past the id): another rcode, a
    /// broken record, a question that no longer matches.
    Mutated(usize, u8),
    /// The answer to the query before (late, or replayed).
    Stale,
    Timeout,
    Garbage(Vec<u8>),
}

fn arrival() -> impl Strategy<Value = Arrival> {
    prop_oneof![
        4 => Just(Arrival::Answer),
        3 => (2usize..120, any::<u8>()).prop_map(|(at, b)| Arrival::Mutated(at, b)),
        1 => Just(Arrival::Stale),
        1 => Just(Arrival::Timeout),
        1 => prop::collection::vec(any::<u8>(), 0..40).prop_map(Arrival::Garbage),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Answers, mutated answers, replays and timeouts in any order: every
    /// change of state is an edge of the resolver's diagram (one datagram
    /// or timeout makes at most one change).
    #[test]
    fn resolver_follows_its_diagram(
        mx in prop::collection::vec((0u16..30, 0usize..EXCHANGES.len()), 0..4),
        addressed in prop::collection::vec(any::<bool>(), 3),
        arrivals in prop::collection::vec(arrival(), 0..12),
    ) {
        let server = DnsServer::new(random_zone(&mx, &addressed));
        let mut resolver = MxResolver::new("hamburger.edu", 100);
        let mut w = crate::proto::contract::Walk::new(
            "dns resolver",
            CLIENT_STATES,
            CLIENT_TRANSITIONS,
            resolver.state_name(),
        );
        let mut query = resolver.poll_query();
        let mut previous: Option<Vec<u8>> = None;
        for arrival in &arrivals {
            let answer = query.as_ref().and_then(|q| server.handle_datagram(q));
            match arrival {
                Arrival::Answer => {
                    if let Some(a) = &answer {
                        resolver.handle_response(a);
                    }
                }
                Arrival::Mutated(at, byte) => {
                    if let Some(mut a) = answer.clone() {
                        if let Some(b) = a.get_mut(*at) {
                            *b = *byte;
                        }
                        resolver.handle_response(&a);
                    }
                }
                Arrival::Stale => {
                    if let Some(p) = &previous {
                        resolver.handle_response(p);
                    }
                }
                Arrival::Timeout => resolver.handle_timeout(),
                Arrival::Garbage(bytes) => resolver.handle_response(bytes),
            }
            let walked = w.step(resolver.state_name());
            prop_assert!(walked.is_ok(), "{} after {:?}", walked.unwrap_err(), arrival);
            if let Some(next) = resolver.poll_query() {
                previous = answer;
                query = Some(next);
            }
            while resolver.poll_trace().is_some() {}
        }
        // A result exactly when the walk reached the end.
        let finished = matches!(resolver.state_name(), "DONE" | "FAILED");
        prop_assert_eq!(finished, resolver.result().is_some());
    }
}
