//! What the unit tests of the pieces of TCP start from: two ends of a
//! connection that went through the three-way handshake, segment by
//! segment, with no network in between.
//!
//! Not here: a wire with delays and losses (the tests in `conn` have one).

use super::conn::{TcpConfig, TcpConnection};
use crate::sim::{SimDuration, SimTime};
use std::net::{Ipv4Addr, SocketAddrV4};

/// The client's initial sequence number.
pub(super) const CLIENT_ISS: u32 = 1000;
/// The server's initial sequence number.
pub(super) const SERVER_ISS: u32 = 5000;

fn addr(last: u8, port: u16) -> SocketAddrV4 {
    SocketAddrV4::new(Ipv4Addr::new(10, 0, 0, last), port)
}

/// The client's and the server's end, ESTABLISHED at time `rtt`: the
/// client's SYN left at 0 and the SYN,ACK came back after `rtt`, which is
/// the client's first RTT sample. Both ends' events are drained.
pub(super) fn established(config: TcpConfig, rtt: SimDuration) -> (TcpConnection, TcpConnection) {
    let t0 = SimTime::ZERO;
    let t1 = t0 + rtt;
    let mut client =
        TcpConnection::connect(config.clone(), addr(1, 40000), addr(2, 80), CLIENT_ISS, t0);
    let syn = client.poll_transmit(t0).expect("SYN");
    let mut server =
        TcpConnection::accept(config, addr(2, 80), addr(1, 40000), &syn, SERVER_ISS, t0);
    let syn_ack = server.poll_transmit(t0).expect("SYN,ACK");
    client.handle_segment(t1, &syn_ack);
    let ack = client.poll_transmit(t1).expect("ACK");
    server.handle_segment(t1, &ack);
    while client.poll_event().is_some() {}
    while server.poll_event().is_some() {}
    (client, server)
}
