//! A name server application: [`crate::proto::dns::DnsServer`] on UDP
//! port 53.
//!
//! Every datagram that arrives is answered (or ignored, as the machine
//! decides) at once, and both the question and the answer are traced as
//! dialogue lines in layer `dns`, with the asking host as the client:
//!
//! ```text
//!   12.000 ms  alice-mail -> dns  DNS  C: query MX hamburger.edu
//!   12.000 ms  dns -> alice-mail  DNS  S: answer MX 10 bob-mail.hamburger.edu
//!   12.000 ms  dns -> alice-mail  DNS  S: additional A bob-mail.hamburger.edu 10.0.4.2
//! ```
//!
//! Not here: recursion, caching, DNS over TCP.

use super::events;
use std::net::SocketAddrV4;

use crate::net::{AppCx, AppEvent, Application};
use crate::proto::Transcript;
use crate::proto::dns::{self, DnsServer, Zone};
use crate::trace::{Layer, Party, Protocol};

/// An authoritative name server on a host.
#[derive(Debug, Clone)]
pub struct NameServer {
    server: DnsServer,
    port: u16,
    /// Queries answered so far.
    answered: u64,
}

impl NameServer {
    /// A server for `zone` on port 53.
    pub fn new(zone: Zone) -> NameServer {
        NameServer {
            server: DnsServer::new(zone),
            port: dns::PORT,
            answered: 0,
        }
    }

    /// The zone served.
    pub fn zone(&self) -> &Zone {
        self.server.zone()
    }

    /// The zone, to change records during a run (a scripted action).
    pub fn zone_mut(&mut self) -> &mut Zone {
        self.server.zone_mut()
    }

    /// How many queries got a response.
    pub fn answered(&self) -> u64 {
        self.answered
    }

    fn on_datagram(&mut self, cx: &mut AppCx<'_>, from: SocketAddrV4, data: &[u8]) {
        let local = SocketAddrV4::new(cx.address(), self.port);
        let client = cx.party(from);
        let server = Party::Node(cx.host());
        let conn = Some((from, local));
        for line in dns::describe(data) {
            cx.trace_line(
                Layer::Dns,
                client.clone(),
                server.clone(),
                conn,
                Transcript::Command(line),
            );
        }
        let Some(response) = self.server.handle_datagram(data) else {
            return;
        };
        for line in dns::describe(&response) {
            cx.trace_line(
                Layer::Dns,
                client.clone(),
                server.clone(),
                conn,
                Transcript::Reply {
                    code: None,
                    text: line,
                },
            );
        }
        self.answered += 1;
        cx.udp_send(self.port, from, response);
    }
}

impl Application for NameServer {
    fn kind(&self) -> &'static str {
        "name server"
    }

    fn handle_event(&mut self, cx: &mut AppCx<'_>, event: AppEvent) {
        match event {
            AppEvent::Start => {
                if let Err(e) = cx.udp_bind(self.port, Protocol::Dns) {
                    cx.emit(
                        &events::LISTEN_FAILED,
                        vec![("port", self.port.into()), ("error", e.to_string().into())],
                    );
                }
            }
            AppEvent::Datagram { from, port, data } if port == self.port => {
                self.on_datagram(cx, from, &data);
            }
            _ => {}
        }
    }
}
