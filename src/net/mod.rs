//! The network: packets, links, routing, host stacks and the transport
//! protocols, with the event loop that moves packets between them.
//!
//! - [`packet`]: IPv4 packets with TCP or UDP payloads, as structs.
//! - [`wire`]: the same packets as real bytes, and pcap capture files.
//! - [`link`]: links with latency, bandwidth, a drop-tail queue and loss.
//! - [`tcp`]: TCP as a sans-IO state machine.
//! - [`app`]: the interface applications program against.
//! - [`World`]: nodes, links, static routes, host stacks and the
//!   discrete-event loop that drives them.
//!
//! Not here: IPv6, ARP and link-layer addresses, fragmentation, ICMP,
//! dynamic routing. Application protocols are in [`crate::proto`] and the
//! programs that speak them in [`crate::apps`].

pub mod app;
pub mod link;
pub mod tcp;
mod world;

/// The packets as the trace records them, and their bytes on a wire:
/// the trace's vocabulary, used here.
pub use crate::trace::{packet, wire};

pub use app::{AppEvent, AppId, Application, ConnId, Inspect, SessionState};
pub use link::LinkConfig;
pub use world::{
    AppCall, AppCx, EPHEMERAL_START, Fault, Firewall, Interface, MAX_LINKS, Node, NodeKind,
    SocketError, TopologyError, TriggerAction, TriggerMatch, World, auto_subnet,
};
