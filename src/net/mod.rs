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

pub mod app;
pub mod link;
pub mod packet;
pub mod tcp;
pub mod wire;
mod world;

pub use app::{AppEvent, AppId, Application, ConnId, Inspect, SessionState};
pub use link::LinkConfig;
pub use world::{
    AppCall, AppCx, EPHEMERAL_START, Fault, Firewall, Interface, Node, NodeKind, SocketError,
    TopologyError, TriggerAction, TriggerMatch, World,
};
