//! What a scenario does to the network while it runs: faults (a link down
//! or back up, its loss or latency changed, a host crashing and
//! restarting, one packet lost on purpose) at a time, and triggers that
//! wait for an event in the trace instead ("when the first SMTP 250 is
//! sent, take the link down").
//!
//! Not here: how a link loses packets by chance (`link`), what the
//! applications do about a crash (they get `Crashed`, then `Start`).

use super::super::app::{AppEvent, AppId, ConnId};
use super::super::packet::PacketId;
use super::{AppCall, SimEvent, World};
use crate::sim::{SimDuration, SimTime};
use crate::trace::{Event, LinkId, NodeId, Record, Trace, Value};
use std::collections::BTreeMap;

/// Decides whether a recorded event sets off a trigger.
pub type TriggerMatch = Box<dyn FnMut(&Trace, &Record) -> bool>;

/// What a trigger does when its event happens.
pub enum TriggerAction {
    /// Show a caption.
    Narrate(String),
    /// Call into an application (a scripted user action).
    Call { app: AppId, call: AppCall },
    /// Apply a fault.
    Fault(Fault),
}

/// An action that waits for an event instead of a time: "when the first
/// SMTP 250 is sent, take the link down". It fires once.
pub(super) struct Trigger {
    matches: TriggerMatch,
    delay: SimDuration,
    action: Option<TriggerAction>,
}

/// A scripted change to the network.
#[derive(Debug, Clone, PartialEq)]
pub enum Fault {
    /// A link goes down (or comes back up).
    LinkUp { link: LinkId, up: bool },
    /// A link's loss probability changes.
    SetLoss { link: LinkId, loss: f64 },
    /// A host crashes: connections, timers and listeners vanish; packets
    /// for it are dropped until it restarts.
    HostDown { node: NodeId },
    /// A crashed host restarts: its applications get `Start` again.
    HostUp { node: NodeId },
    /// A link's one-way propagation delay changes (packets already on
    /// the way keep theirs).
    SetLatency { link: LinkId, latency: SimDuration },
    /// The packet with this id is lost on the next link it crosses: "what
    /// if this packet were lost?". A run is deterministic, so the packet of
    /// a given id is the same one in every run of a scenario and seed,
    /// until the runs part.
    DropPacket { packet: PacketId },
}

/// The pending triggers of one event name: those that name a host, by
/// host, and the others.
#[derive(Default)]
pub(super) struct EventTriggers {
    any: Vec<usize>,
    host: BTreeMap<String, Vec<usize>>,
}

impl World {
    /// Applies `fault` at time `at`.
    pub fn schedule_fault(&mut self, at: SimTime, fault: Fault) {
        self.queue.push(at, SimEvent::Fault(fault));
    }

    /// Carries out `action`, `delay` after the first event `matches`
    /// accepts (at most once).
    pub fn add_trigger(
        &mut self,
        matches: TriggerMatch,
        delay: SimDuration,
        action: TriggerAction,
    ) {
        self.add_trigger_on(None, None, matches, delay, action);
    }

    /// The same for a trigger that only events called `event` can set
    /// off, and if `host` is given, only those whose `host` field is that:
    /// it is asked about those alone, so that the cost of a record does
    /// not grow with the triggers waiting for other events or hosts (a
    /// thousand transfers chained with `after:` each wait for the same
    /// event of another host).
    pub fn add_trigger_on(
        &mut self,
        event: Option<&str>,
        host: Option<&str>,
        matches: TriggerMatch,
        delay: SimDuration,
        action: TriggerAction,
    ) {
        let i = self.triggers.len();
        self.triggers.push(Trigger {
            matches,
            delay,
            action: Some(action),
        });
        match event {
            Some(e) => {
                let by = self.trigger_index.entry(e.to_owned()).or_default();
                match host {
                    Some(h) => by.host.entry(h.to_owned()).or_default().push(i),
                    None => by.any.push(i),
                }
            }
            None => self.trigger_any.push(i),
        }
        self.triggers_pending += 1;
    }

    /// Looks at the events recorded since the last look for those that set
    /// off a trigger.
    pub(super) fn check_triggers(&mut self) {
        let end = self.trace.records.len();
        if self.triggers_pending == 0 {
            self.triggers_seen = end;
            return;
        }
        let mut fired = Vec::new();
        let host_key = [String::from("host")];
        for (k, record) in self.trace.records[self.triggers_seen.min(end)..end]
            .iter()
            .enumerate()
        {
            let name = self.trace.event_name(record);
            let (triggers, trace) = (&mut self.triggers, &self.trace);
            let mut ask = |list: &mut Vec<usize>| {
                // Fired triggers leave the list, in order.
                list.retain(|&i| {
                    let t = &mut triggers[i];
                    if t.action.is_some()
                        && (t.matches)(trace, record)
                        && let Some(action) = t.action.take()
                    {
                        fired.push(((k, i), t.delay, action));
                        return false;
                    }
                    t.action.is_some()
                });
            };
            if let Some(by) = self.trigger_index.get_mut(name) {
                ask(&mut by.any);
                if !by.host.is_empty()
                    && let Some(Some(serde_json::Value::String(h))) =
                        trace.fields_named(record, &host_key).pop()
                    && let Some(list) = by.host.get_mut(&h)
                {
                    ask(list);
                    if list.is_empty() {
                        by.host.remove(&h);
                    }
                }
            }
            ask(&mut self.trigger_any);
        }
        self.triggers_seen = end;
        self.triggers_pending -= fired.len();
        // Record by record, and for one record in the order the triggers
        // were added.
        fired.sort_by_key(|(order, _, _)| *order);
        let fired: Vec<(SimDuration, TriggerAction)> =
            fired.into_iter().map(|(_, d, a)| (d, a)).collect();
        for (delay, action) in fired {
            let at = self.now + delay;
            let event = match action {
                TriggerAction::Narrate(text) => SimEvent::Narrate(text),
                TriggerAction::Call { app, call } => SimEvent::Call { app, call },
                TriggerAction::Fault(f) => SimEvent::Fault(f),
            };
            self.queue.push(at, event);
        }
    }

    pub(super) fn apply_fault(&mut self, fault: Fault) {
        let now = self.now;
        match fault {
            Fault::LinkUp { link, up } => {
                self.links[link as usize].set_up(up);
                self.trace.push(now, Event::LinkState { link, up });
            }
            Fault::SetLoss { link, loss } => {
                self.links[link as usize].config.loss = loss;
                let name = self.links[link as usize].name.clone();
                self.trace.push(
                    now,
                    Event::Fault {
                        event: "loss_changed",
                        fields: vec![
                            ("link", name.into()),
                            ("loss_percent", ((loss * 100.0).round() as i64).into()),
                        ],
                    },
                );
            }
            Fault::SetLatency { link, latency } => {
                self.links[link as usize].config.latency = latency;
                let name = self.links[link as usize].name.clone();
                self.trace.push(
                    now,
                    Event::Fault {
                        event: "latency_changed",
                        fields: vec![
                            ("link", name.into()),
                            ("latency_us", latency.as_micros().into()),
                        ],
                    },
                );
            }
            Fault::DropPacket { packet } => {
                // Traced when it happens, not when it is armed: until then
                // the run is the same as without it.
                self.doomed.insert(packet);
            }
            Fault::HostDown { node } => self.crash(node),
            Fault::HostUp { node } => {
                let n = &mut self.nodes[node as usize];
                if n.up {
                    return;
                }
                n.up = true;
                self.trace.push(
                    now,
                    Event::Fault {
                        event: "host_up",
                        fields: vec![("host", Value::Node(node))],
                    },
                );
                for app in self.nodes[node as usize].apps.clone() {
                    self.pending.push_back((app, AppEvent::Start));
                }
            }
        }
    }

    fn crash(&mut self, node: NodeId) {
        let n = &mut self.nodes[node as usize];
        if !n.up {
            return;
        }
        n.up = false;
        n.listeners.clear();
        n.udp.clear();
        let conns: Vec<ConnId> = n.take_conns();
        for c in conns {
            self.conns[c as usize] = None;
        }
        self.trace.push(
            self.now,
            Event::Fault {
                event: "host_down",
                fields: vec![("host", Value::Node(node))],
            },
        );
        for app in self.nodes[node as usize].apps.clone() {
            self.apps[app as usize].epoch += 1;
            self.pending.push_back((app, AppEvent::Crashed));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::NodeKind;
    use super::super::testing::{addr, at, drops, events, recorder, row};
    use super::*;
    use crate::trace::{DropReason, Protocol};
    use std::net::SocketAddrV4;

    /// Two hosts on one link, `b` bound to UDP port 7, and a datagram from
    /// `a` at each of `times` (ms).
    fn datagrams(times: &[u64]) -> (World, [NodeId; 2], [AppId; 2]) {
        let (mut w, n) = row(&[("a", NodeKind::Host), ("b", NodeKind::Host)]);
        let (sender, sink) = (recorder(&mut w, n[0]), recorder(&mut w, n[1]));
        at(&mut w, SimTime::ZERO, sink, |cx| {
            cx.udp_bind(7, Protocol::Udp).unwrap()
        });
        let to = SocketAddrV4::new(addr(&w, n[1]), 7);
        for &t in times {
            at(&mut w, SimTime::from_millis(t), sender, move |cx| {
                cx.udp_send(5000, to, &b"x"[..])
            });
        }
        (w, [n[0], n[1]], [sender, sink])
    }

    fn received(w: &World, app: AppId) -> usize {
        events(w, app)
            .iter()
            .filter(|e| matches!(e, AppEvent::Datagram { .. }))
            .count()
    }

    #[test]
    fn a_link_that_is_down_drops_what_is_sent_over_it() {
        let (mut w, [a, _], [_, sink]) = datagrams(&[10, 30]);
        w.schedule_fault(
            SimTime::from_millis(5),
            Fault::LinkUp { link: 0, up: false },
        );
        w.schedule_fault(
            SimTime::from_millis(20),
            Fault::LinkUp { link: 0, up: true },
        );
        w.run(SimTime::from_secs(1));
        assert_eq!(drops(&w), [(a, DropReason::LinkDown)]);
        assert_eq!(received(&w, sink), 1);
    }

    #[test]
    fn a_crashed_host_drops_packets_and_its_applications_start_again() {
        let (mut w, [_, b], [_, sink]) = datagrams(&[10, 30]);
        w.schedule_fault(SimTime::from_millis(5), Fault::HostDown { node: b });
        w.schedule_fault(SimTime::from_millis(20), Fault::HostUp { node: b });
        w.run(SimTime::from_secs(1));
        // Down at 10 ms; at 30 ms up again but its UDP binding is gone.
        assert_eq!(
            drops(&w),
            [(b, DropReason::HostDown), (b, DropReason::PortClosed)]
        );
        let r = w.app_as::<super::super::testing::Recorder>(sink).unwrap();
        let kinds: Vec<&str> = r
            .events
            .iter()
            .map(|e| match e {
                AppEvent::Start => "start",
                AppEvent::Crashed => "crashed",
                _ => "other",
            })
            .collect();
        assert_eq!(kinds, ["start", "crashed", "start"]);
    }

    #[test]
    fn a_dropped_packet_is_lost_once_it_is_sent() {
        let (mut w, [_, b], [_, sink]) = datagrams(&[10, 30]);
        // Packet ids count from 0: the first datagram is packet 0. It is
        // lost on the link, so the drop is where it would have arrived.
        w.schedule_fault(SimTime::ZERO, Fault::DropPacket { packet: 0 });
        w.run(SimTime::from_secs(1));
        assert_eq!(drops(&w), [(b, DropReason::Injected)]);
        assert_eq!(received(&w, sink), 1);
    }

    #[test]
    fn a_trigger_fires_once_after_its_delay() {
        let (mut w, _, _) = datagrams(&[10, 30]);
        w.add_trigger(
            Box::new(|_, r| matches!(r.event, Event::DatagramReceived { .. })),
            SimDuration::from_millis(100),
            TriggerAction::Narrate("the first one arrived".into()),
        );
        w.run(SimTime::from_secs(1));
        let narrations: Vec<SimTime> = w
            .trace()
            .records
            .iter()
            .filter(|r| matches!(r.event, Event::Narration { .. }))
            .map(|r| r.time)
            .collect();
        // Sent at 10 ms over a 1 ms link (and a little serialization).
        assert_eq!(narrations.len(), 1);
        assert!(
            narrations[0] > SimTime::from_millis(111) && narrations[0] < SimTime::from_millis(112)
        );
    }

    #[test]
    fn a_trigger_on_an_event_is_asked_about_that_event_alone() {
        use std::cell::Cell;
        use std::rc::Rc;
        let (mut w, _, _) = datagrams(&[10, 30]);
        let asked = Rc::new(Cell::new(0));
        let seen = asked.clone();
        let name = w
            .trace()
            .event_name(&crate::trace::Record {
                time: SimTime::ZERO,
                event: Event::Narration {
                    text: String::new(),
                },
            })
            .to_owned();
        // Waits for a narration, which never comes: the datagrams' many
        // events are not put to it.
        w.add_trigger_on(
            Some(&name),
            None,
            Box::new(move |_, _| {
                seen.set(seen.get() + 1);
                false
            }),
            SimDuration::ZERO,
            TriggerAction::Narrate("never".into()),
        );
        // One that waits for any event is asked about every one.
        let any = Rc::new(Cell::new(0));
        let counted = any.clone();
        w.add_trigger(
            Box::new(move |_, _| {
                counted.set(counted.get() + 1);
                false
            }),
            SimDuration::ZERO,
            TriggerAction::Narrate("never".into()),
        );
        w.run(SimTime::from_secs(1));
        assert!(!w.trace().records.is_empty());
        assert_eq!(any.get(), w.trace().records.len());
        assert_eq!(asked.get(), 0);
    }
}
