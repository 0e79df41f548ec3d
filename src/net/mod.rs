//! The network: packets, links, routing, and the transport protocols.
//!
//! - [`packet`]: IPv4 packets with TCP or UDP payloads, as structs.
//! - [`wire`]: the same packets as real bytes, and pcap capture files.
//! - [`tcp`]: TCP as a sans-IO state machine.

pub mod packet;
pub mod tcp;
pub mod wire;
