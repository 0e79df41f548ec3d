//! TCP (RFC 9293) as a sans-IO state machine.
//!
//! [`TcpConnection`] is one end of a connection. It is not a host stack:
//! the [`World`](crate::net::World) demultiplexes segments to connections,
//! runs listeners and answers segments for closed ports with RST.

mod arrival;
mod congestion;
mod conn;
mod output;
mod reassembly;
mod rtt;
pub mod seq;
#[cfg(test)]
mod testing;

pub use conn::{TRANSITIONS, TcpConfig, TcpConnection, TcpError, TcpEvent, TcpState};

use crate::net::packet::{TcpFlags, TcpSegment};
use bytes::Bytes;

/// The RST a host sends for a segment that belongs to no connection
/// (RFC 9293 §3.10.7.1), or `None` if the segment is itself a RST.
pub fn reset_for(seg: &TcpSegment) -> Option<TcpSegment> {
    if seg.flags.rst() {
        return None;
    }
    let (seq, ack, flags) = if seg.flags.ack() {
        (seg.ack, 0, TcpFlags::RST)
    } else {
        (
            0,
            seg.seq.wrapping_add(seg.seq_len()),
            TcpFlags::RST | TcpFlags::ACK,
        )
    };
    Some(TcpSegment {
        src_port: seg.dst_port,
        dst_port: seg.src_port,
        seq,
        ack,
        flags,
        window: 0,
        mss: None,
        payload: Bytes::new(),
    })
}
