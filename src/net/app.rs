//! The interface between the network and the applications on its hosts.
//!
//! An [`Application`] lives on one host and reacts to [`AppEvent`]s: a
//! connection was accepted or established, data arrived, the peer closed,
//! a timer fired, a datagram came in. It acts on the world through an
//! [`AppCx`](super::AppCx): listen, connect, send, close, set timers,
//! record trace events. Applications never see the event queue or other
//! hosts' state, just as a program sees only its sockets.
//!
//! This is only the interface; the applications themselves are in
//! [`crate::apps`].

use super::tcp::TcpError;
use crate::net::packet::Packet;
use bytes::Bytes;
use std::any::Any;
use std::net::SocketAddrV4;

/// Identifies a TCP connection in a run. Ids are never reused, so a
/// trace or a visualizer can follow one connection from start to end.
pub type ConnId = u32;

/// Identifies an application in a run.
pub type AppId = u32;

/// Something that happened to an application.
#[derive(Debug, Clone)]
pub enum AppEvent {
    /// The application should start (its host came up).
    Start,
    /// A connection to one of the application's listening ports reached
    /// ESTABLISHED.
    Accepted { conn: ConnId, port: u16 },
    /// A connection the application opened reached ESTABLISHED.
    Connected { conn: ConnId },
    /// In-order bytes arrived on a connection.
    Data { conn: ConnId, data: Bytes },
    /// Everything the application queued on the connection was handed to
    /// TCP and there is room for more.
    Writable { conn: ConnId },
    /// The peer sent FIN: no more data will arrive on `conn`.
    PeerClosed { conn: ConnId },
    /// The connection is over: `None` after an orderly close by both
    /// sides, else why it failed (refused, reset, timed out). No event
    /// about `conn` follows this one.
    Closed {
        conn: ConnId,
        error: Option<TcpError>,
    },
    /// A UDP datagram arrived on a bound port.
    Datagram {
        from: SocketAddrV4,
        port: u16,
        data: Bytes,
    },
    /// A timer set with `AppCx::set_timer` fired.
    Timer { token: u64 },
    /// A packet crossed a link this application taps (eavesdroppers).
    Sniffed { packet: Packet },
    /// An IP packet for a host whose own stack is this application (see
    /// `World::set_raw_stack`).
    RawPacket { packet: Packet },
    /// The host crashed: every connection and timer is gone. The
    /// application keeps what it would keep on disk.
    Crashed,
}

/// Access to an application's concrete type, implemented for every type:
/// final-state checks and the visualizer's inspectors read applications
/// through it, and scripted actions call their methods.
pub trait AsAny: Any {
    fn as_any(&self) -> &dyn Any;
    fn as_any_mut(&mut self) -> &mut dyn Any;
}

impl<T: Any> AsAny for T {
    fn as_any(&self) -> &dyn Any {
        self
    }
    fn as_any_mut(&mut self) -> &mut dyn Any {
        self
    }
}

/// A read-only view of part of an application's state, for the
/// visualizer's host inspector: a labelled tree ("Queue (1)" > "q1: to
/// bob@hamburger.edu, next try at 61.000 s"). Applications build it from
/// their own state; the visualizer draws it without knowing their types.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Inspect {
    pub label: String,
    pub children: Vec<Inspect>,
}

impl Inspect {
    /// A leaf.
    pub fn leaf(label: impl Into<String>) -> Inspect {
        Inspect {
            label: label.into(),
            children: Vec::new(),
        }
    }

    /// A node with children.
    pub fn node(label: impl Into<String>, children: Vec<Inspect>) -> Inspect {
        Inspect {
            label: label.into(),
            children,
        }
    }
}

/// The protocol state of one connection an application serves or drives,
/// for the visualizer's state-machine view.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionState {
    pub conn: ConnId,
    /// The protocol, as the trace's `layer` names it ("smtp", "ftp", ...).
    pub layer: &'static str,
    /// "server" or "client".
    pub role: &'static str,
    /// The current state: one of `states`.
    pub state: &'static str,
    /// Every state of the machine's diagram (the module's `STATES`).
    pub states: &'static [&'static str],
    /// Its edges (the module's `TRANSITIONS`).
    pub transitions: &'static [crate::trace::Transition],
}

/// A program on a simulated host.
pub trait Application: AsAny {
    /// A short name for the visualizer and errors: "mail server", ...
    fn kind(&self) -> &'static str;
    /// Reacts to one event.
    fn handle_event(&mut self, cx: &mut super::AppCx<'_>, event: AppEvent);
    /// What the host inspector shows of this application (mailboxes,
    /// queues, files); `None` shows nothing.
    fn inspect(&self) -> Option<Inspect> {
        None
    }
    /// The protocol state of each connection the application handles now.
    fn sessions(&self) -> Vec<SessionState> {
        Vec::new()
    }
}
