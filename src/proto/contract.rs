//! The state diagrams are a contract. Every machine's `TRANSITIONS` table
//! is what the visualizer draws and what students read next to the RFC,
//! so every state change a machine makes in answer to its input must be
//! an edge of that table: a [`Walk`] follows a machine through its states
//! and names the first change that is not.
//!
//! One change is not drawn: a hang-up. When the peer closes the
//! connection (or it fails) a machine may go from any state to one of its
//! final states (those with no edge out), as RFC 9293 Figure 5 leaves out
//! the resets. [`Walk::hung_up`] checks that instead.
//!
//! The fuzz targets' drivers ([`crate::fuzzing`]) walk every server machine
//! this way after every line or message they feed it, so the fuzzers, the
//! replayed corpus and the property tests all hold the machines to their
//! diagrams.

use super::Transition;

/// True if `from -> to` is an edge of `table` (a state that does not
/// change needs no edge).
pub fn is_edge(table: &[Transition], from: &str, to: &str) -> bool {
    from == to || table.iter().any(|(f, t, _)| *f == from && *t == to)
}

/// The shortest way from `from` to `to` along the edges of `table`, of at
/// most `max_edges` edges, both ends included (`[from]` when they are the
/// same state).
pub fn path(
    table: &[Transition],
    from: &'static str,
    to: &'static str,
    max_edges: usize,
) -> Option<Vec<&'static str>> {
    let mut frontier: Vec<Vec<&'static str>> = vec![vec![from]];
    for _ in 0..=max_edges {
        if let Some(p) = frontier.iter().find(|p| p.last() == Some(&to)) {
            return Some(p.clone());
        }
        let mut next = Vec::new();
        for p in &frontier {
            let last = p.last().copied().unwrap_or(from);
            for (f, t, _) in table {
                if *f == last && !p.contains(t) {
                    let mut q = p.clone();
                    q.push(t);
                    next.push(q);
                }
            }
        }
        frontier = next;
    }
    None
}

/// The states of `states` that `table` has no edge out of (self-loops
/// aside): where a machine ends.
pub fn final_states(states: &'static [&'static str], table: &[Transition]) -> Vec<&'static str> {
    states
        .iter()
        .copied()
        .filter(|s| !table.iter().any(|(f, t, _)| f == s && t != s))
        .collect()
}

/// A machine followed through its states.
#[derive(Debug, Clone)]
pub struct Walk {
    machine: &'static str,
    states: &'static [&'static str],
    table: &'static [Transition],
    /// The states so far, the current one last.
    path: Vec<&'static str>,
}

impl Walk {
    /// A walk of `machine` (its name, for messages), starting in `initial`.
    pub fn new(
        machine: &'static str,
        states: &'static [&'static str],
        table: &'static [Transition],
        initial: &'static str,
    ) -> Walk {
        Walk {
            machine,
            states,
            table,
            path: vec![initial],
        }
    }

    /// The current state.
    pub fn state(&self) -> &'static str {
        self.path.last().copied().unwrap_or("")
    }

    /// The states so far.
    pub fn path(&self) -> &[&'static str] {
        &self.path
    }

    /// The machine's state after one input: an error names a state not in
    /// `STATES`, or a change that is not an edge of the table.
    pub fn step(&mut self, now: &'static str) -> Result<(), String> {
        let from = self.state();
        if !self.states.contains(&now) {
            return Err(format!(
                "{}: state {now:?} is not one of its STATES ({:?})",
                self.machine, self.states
            ));
        }
        if !is_edge(self.table, from, now) {
            return Err(format!(
                "{}: went from {from} to {now}, which is no edge of its TRANSITIONS (states so far: {})",
                self.machine,
                self.path.join(" -> ")
            ));
        }
        if now != from {
            self.path.push(now);
        }
        Ok(())
    }

    /// The machine's state after an input that may have made several
    /// changes (one segment can carry several commands, or a whole
    /// response): there must be a way of at most `max_edges` edges from
    /// the last state seen to `now`. An error names the two states.
    pub fn step_within(&mut self, now: &'static str, max_edges: usize) -> Result<(), String> {
        let from = self.state();
        if !self.states.contains(&now) {
            return self.step(now);
        }
        match path(self.table, from, now, max_edges) {
            Some(p) => {
                self.path.extend(p.into_iter().skip(1));
                Ok(())
            }
            None => Err(format!(
                "{}: went from {from} to {now}, and no way of at most {max_edges} edges of its TRANSITIONS leads there (states so far: {})",
                self.machine,
                self.path.join(" -> ")
            )),
        }
    }

    /// The machine's state after the peer hung up: it stayed where it was
    /// or went to one of its final states.
    pub fn hung_up(&mut self, now: &'static str) -> Result<(), String> {
        let from = self.state();
        if now == from {
            return Ok(());
        }
        let finals = final_states(self.states, self.table);
        if !finals.contains(&now) {
            return Err(format!(
                "{}: the peer hung up in {from} and it went to {now}, which is not a final state ({finals:?})",
                self.machine
            ));
        }
        self.path.push(now);
        Ok(())
    }

    /// [`step`](Self::step), panicking with its message: for tests and
    /// fuzz targets.
    #[track_caller]
    pub fn expect_step(&mut self, now: &'static str) {
        if let Err(e) = self.step(now) {
            panic!("{e}");
        }
    }

    /// [`hung_up`](Self::hung_up), panicking with its message.
    #[track_caller]
    pub fn expect_hung_up(&mut self, now: &'static str) {
        if let Err(e) = self.hung_up(now) {
            panic!("{e}");
        }
    }
}

/// Feeds `data` to a machine one line at a time through `feed` (which
/// returns the machine's state after the line) and walks it after each:
/// for the property tests of the clients, where one reply line may make a
/// few changes (a reply, and the next command it starts).
pub fn feed_by_lines(
    walk: &mut Walk,
    data: &[u8],
    max_edges: usize,
    mut feed: impl FnMut(&[u8]) -> &'static str,
) -> Result<(), String> {
    for line in data.split_inclusive(|&b| b == b'\n') {
        let state = feed(line);
        walk.step_within(state, max_edges)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const STATES: &[&str] = &["CONNECTED", "READY", "CLOSED"];
    const TABLE: &[Transition] = &[
        ("CONNECTED", "READY", "HELO / 250"),
        ("READY", "READY", "NOOP / 250"),
        ("READY", "CLOSED", "QUIT / 221"),
    ];

    #[test]
    fn a_walk_along_the_edges_is_kept() {
        let mut w = Walk::new("toy", STATES, TABLE, "CONNECTED");
        for s in ["CONNECTED", "READY", "READY", "CLOSED"] {
            w.step(s).unwrap();
        }
        assert_eq!(w.path(), ["CONNECTED", "READY", "CLOSED"]);
    }

    #[test]
    fn a_change_that_is_no_edge_is_named() {
        let mut w = Walk::new("toy", STATES, TABLE, "CONNECTED");
        let e = w.step("CLOSED").unwrap_err();
        assert!(
            e.contains("went from CONNECTED to CLOSED") && e.contains("no edge"),
            "{e}"
        );
        let e = w.step("LIMBO").unwrap_err();
        assert!(e.contains("\"LIMBO\" is not one of its STATES"), "{e}");
    }

    #[test]
    fn several_changes_in_one_step_follow_a_way_through_the_table() {
        let mut w = Walk::new("toy", STATES, TABLE, "CONNECTED");
        w.step_within("CLOSED", 2).unwrap();
        assert_eq!(w.path(), ["CONNECTED", "READY", "CLOSED"]);
        let mut w = Walk::new("toy", STATES, TABLE, "CONNECTED");
        let e = w.step_within("CLOSED", 1).unwrap_err();
        assert!(e.contains("no way of at most 1 edges"), "{e}");
        assert_eq!(path(TABLE, "READY", "CONNECTED", 5), None);
    }

    #[test]
    fn a_hang_up_may_end_the_machine_from_any_state() {
        assert_eq!(final_states(STATES, TABLE), ["CLOSED"]);
        let mut w = Walk::new("toy", STATES, TABLE, "CONNECTED");
        w.hung_up("CLOSED").unwrap();
        let mut w = Walk::new("toy", STATES, TABLE, "CONNECTED");
        let e = w.hung_up("READY").unwrap_err();
        assert!(e.contains("not a final state"), "{e}");
    }
}
