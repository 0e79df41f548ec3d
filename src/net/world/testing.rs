//! What the unit tests of the world's pieces build on: an application that
//! keeps every event it gets, small topologies, and the trace read back.
//!
//! Not here: the applications of `apps`, which the integration tests use.

use super::super::app::{AppEvent, AppId, Application};
use super::super::link::LinkConfig;
use super::{AppCx, NodeKind, World};
use crate::sim::{SimDuration, SimTime};
use crate::trace::{DropReason, Event, NodeId};
use std::net::Ipv4Addr;

/// Keeps the events it is handed, and does nothing else.
#[derive(Default)]
pub(super) struct Recorder {
    pub(super) events: Vec<AppEvent>,
}

impl Application for Recorder {
    fn kind(&self) -> &'static str {
        "recorder"
    }
    fn handle_event(&mut self, _cx: &mut AppCx<'_>, event: AppEvent) {
        self.events.push(event);
    }
}

/// A link with this one-way latency (and the default bandwidth).
pub(super) fn latency(ms: u64) -> LinkConfig {
    LinkConfig {
        latency: SimDuration::from_millis(ms),
        ..LinkConfig::default()
    }
}

/// Nodes of these names and kinds, linked in a row with 1 ms links.
pub(super) fn row(nodes: &[(&str, NodeKind)]) -> (World, Vec<NodeId>) {
    let mut w = World::new(1);
    let ids: Vec<NodeId> = nodes.iter().map(|&(n, k)| w.add_node(n, k)).collect();
    for pair in ids.windows(2) {
        w.add_link(pair[0], pair[1], latency(1), None, None)
            .unwrap();
    }
    (w, ids)
}

/// A [`Recorder`] on `node`.
pub(super) fn recorder(w: &mut World, node: NodeId) -> AppId {
    w.add_app(node, Box::new(Recorder::default()))
}

/// Runs `call` as `app` at `at`.
pub(super) fn at(
    w: &mut World,
    at: SimTime,
    app: AppId,
    call: impl FnOnce(&mut AppCx<'_>) + 'static,
) {
    w.schedule_call(at, app, Box::new(move |_, cx| call(cx)));
}

/// What `app` was handed, without the `Start`s.
pub(super) fn events(w: &World, app: AppId) -> Vec<AppEvent> {
    let r = w.app_as::<Recorder>(app).expect("a recorder");
    r.events
        .iter()
        .filter(|e| !matches!(e, AppEvent::Start))
        .cloned()
        .collect()
}

/// Where and why packets were dropped, in order.
pub(super) fn drops(w: &World) -> Vec<(NodeId, DropReason)> {
    w.trace()
        .records
        .iter()
        .filter_map(|r| match r.event {
            Event::Dropped { node, reason, .. } => Some((node, reason)),
            _ => None,
        })
        .collect()
}

/// The address of `node`.
pub(super) fn addr(w: &World, node: NodeId) -> Ipv4Addr {
    w.node(node).address().unwrap()
}
