//! The state diagrams are a contract: every state change an application's
//! protocol machine makes while the bundled scenarios and labs run is an
//! edge of that machine's `TRANSITIONS` (the table the visualizer draws),
//! or a hang-up into one of its final states
//! (`wiretale::proto::contract`).
//!
//! Each machine is looked at after every step of the engine. One step
//! delivers one segment, which can carry several lines (a status line and
//! the headers, a reply and the next command it starts), so a step may
//! make a few changes: they must follow a way of at most
//! [`MAX_CHANGES_PER_STEP`] edges through the table. The fuzz targets
//! feed the servers one line at a time and check every single change.

use std::collections::BTreeMap;
use wiretale::proto::contract::Walk;
use wiretale::scenario::{self, bundled};

/// The most changes one step of the engine is taken to make.
const MAX_CHANGES_PER_STEP: usize = 3;

/// Runs `name` and walks every session it has; the problems found.
fn walk_scenario(name: &str) -> Vec<String> {
    let loaded = scenario::load(name).unwrap();
    let mut run = scenario::build(&loaded.scenario, loaded.scenario.seed).unwrap();
    let mut walks: BTreeMap<(u32, u32, u32, &'static str, &'static str), Walk> = BTreeMap::new();
    let mut problems = Vec::new();
    while run
        .world
        .next_event_time()
        .is_some_and(|t| t <= run.horizon)
    {
        run.world.step();
        let w = &run.world;
        let mut seen = Vec::new();
        for node in w.nodes() {
            for &app in &node.apps {
                let Some(a) = w.app(app) else { continue };
                for s in a.sessions() {
                    let key = (node.id, app, s.conn, s.layer, s.role);
                    seen.push(key);
                    let walk = walks
                        .entry(key)
                        .or_insert_with(|| Walk::new(s.layer, s.states, s.transitions, s.state));
                    if let Err(e) = walk.step_within(s.state, MAX_CHANGES_PER_STEP) {
                        problems.push(format!(
                            "{name}, {} {} on {}: {e}",
                            s.layer, s.role, node.name
                        ));
                        // Go on from where it is, to find the next one.
                        *walk = Walk::new(s.layer, s.states, s.transitions, s.state);
                    }
                }
            }
        }
        // A session that is gone ended; a new one on the same connection
        // id starts a walk of its own.
        walks.retain(|k, _| seen.contains(k));
    }
    problems
}

#[test]
fn every_state_change_in_the_bundled_runs_is_an_edge_of_its_diagram() {
    let mut problems = Vec::new();
    for b in bundled::ALL.iter().chain(bundled::LABS) {
        problems.extend(walk_scenario(b.name));
    }
    problems.sort();
    problems.dedup();
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// The check has teeth: the SMTP client of mail_retry goes from RSET to
/// QUIT (the only message was refused, nothing is left to send); against
/// its table without that edge the walk fails and names the change.
#[test]
fn a_missing_edge_is_caught() {
    use wiretale::proto::smtp::{CLIENT_STATES, CLIENT_TRANSITIONS};
    let loaded = scenario::load("mail_retry").unwrap();
    let mut run = scenario::build(&loaded.scenario, loaded.scenario.seed).unwrap();
    let without: Vec<_> = CLIENT_TRANSITIONS
        .iter()
        .copied()
        // Without it (and without the other short way there, through
        // MAIL) no way of a few edges leads from RSET to QUIT.
        .filter(|(f, t, _)| !((*f == "RSET" || *f == "MAIL") && *t == "QUIT"))
        .collect();
    let without: &'static [wiretale::proto::Transition] = Box::leak(without.into_boxed_slice());
    let mut walks: BTreeMap<u32, Walk> = BTreeMap::new();
    let mut caught = None;
    while caught.is_none() && run.world.step() {
        let w = &run.world;
        for node in w.nodes() {
            for &app in &node.apps {
                let Some(a) = w.app(app) else { continue };
                for s in a.sessions() {
                    if s.layer != "smtp" || s.role != "client" {
                        continue;
                    }
                    let walk = walks.entry(s.conn).or_insert_with(|| {
                        Walk::new("smtp client", CLIENT_STATES, without, s.state)
                    });
                    if let Err(e) = walk.step_within(s.state, MAX_CHANGES_PER_STEP) {
                        caught = Some(e);
                    }
                }
            }
        }
    }
    let e = caught.expect("the walk fails without the edge");
    assert!(e.contains("went from RSET to QUIT"), "{e}");
}

/// TCP's diagram (RFC 9293 Figure 5, as the visualizer draws it) holds
/// every state change of every connection in the bundled runs: the trace
/// records each change on its own. As in the figure, an abort is not
/// drawn: a reset received (RFC 9293 §3.10.7) or retransmissions given up
/// (§3.8.3) take a connection from any state to CLOSED.
#[test]
fn every_tcp_state_change_in_the_bundled_runs_is_an_edge_of_figure_5() {
    use wiretale::trace::Event;
    let mut problems = Vec::new();
    for b in bundled::ALL.iter().chain(bundled::LABS) {
        let loaded = scenario::load(b.name).unwrap();
        let mut run = scenario::build(&loaded.scenario, loaded.scenario.seed).unwrap();
        run.run();
        let t = run.world.trace();
        for r in &t.records {
            if let Event::TcpState { from, to, .. } = &r.event
                && to.name() != "CLOSED"
                && !wiretale::proto::contract::is_edge(
                    wiretale::net::tcp::TRANSITIONS,
                    from.name(),
                    to.name(),
                )
            {
                problems.push(format!("{}: {}", b.name, t.to_text(r)));
            }
        }
    }
    problems.dedup();
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
