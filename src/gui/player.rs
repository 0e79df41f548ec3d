//! The [`Player`]: the current position in a run (the cursor into the
//! trace and the view time) and a live world stepped to it for the
//! inspectors. Stepping back rebuilds the world from the scenario and seed
//! and steps it until its trace reaches the wanted event, which restores
//! exactly the state it had there (see [`super::model`]). Predict mode
//! holds it before a question's event ([`Player::set_hold`]).

use super::model::{LoadError, Timeline};
use crate::scenario;
use crate::sim::{SimDuration, SimTime};
use crate::trace::{Event, NodeId};

/// The current position in a run: the cursor into the trace, the view
/// time, and a live world at that point for the inspectors.
pub struct Player {
    pub timeline: Timeline,
    live: scenario::Run,
    live_steps: usize,
    /// Records `..cursor` have happened; `cursor - 1` is the current event.
    pub cursor: usize,
    /// The view time (packets are drawn where this time puts them).
    pub time: SimTime,
    /// Bumped whenever a different timeline is loaded.
    pub generation: u64,
    /// The view does not go past this record until it is lifted: a
    /// question in predict mode is about it (see [`Player::set_hold`]).
    hold: Option<usize>,
}

impl Player {
    /// A player at the start of a timeline.
    pub fn new(timeline: Timeline) -> Result<Player, LoadError> {
        let live = scenario::build(&timeline.scenario, timeline.seed)
            .map_err(|e| LoadError(format!("{}: {e:?}", timeline.file)))?;
        Ok(Player {
            timeline,
            live,
            live_steps: 0,
            cursor: 0,
            time: SimTime::ZERO,
            generation: 0,
            hold: None,
        })
    }

    /// Replaces the timeline (a reload or another file), keeping the view
    /// time when it is still inside the new run.
    pub fn replace(&mut self, timeline: Timeline) -> Result<(), LoadError> {
        let keep = self.time.min(timeline.end);
        let generation = self.generation + 1;
        *self = Player::new(timeline)?;
        self.generation = generation;
        self.seek(keep);
        Ok(())
    }

    /// The number of records.
    pub fn len(&self) -> usize {
        self.timeline.trace.records.len()
    }

    /// True if the run recorded nothing.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The current event (the last that happened), if any.
    pub fn current(&self) -> Option<usize> {
        self.cursor.checked_sub(1)
    }

    /// Moves the view to time `t`: every record up to `t` has happened.
    pub fn seek(&mut self, t: SimTime) {
        self.time = t;
        self.cursor = self.timeline.records_until(t);
        self.clamp();
        self.sync();
    }

    /// Holds the view before record `i` (`None` lifts the hold): moving
    /// on stops just before it, and a view already past it goes back
    /// there. Predict mode holds the view before the event a question is
    /// about.
    pub fn set_hold(&mut self, i: Option<usize>) {
        if self.hold == i {
            return;
        }
        self.hold = i;
        if self.clamp() {
            self.sync();
        }
    }

    /// True if the view stands at the hold and cannot move on.
    pub fn held(&self) -> bool {
        self.hold.is_some_and(|h| self.cursor >= h)
    }

    /// Puts the view back before the hold if it went past it; true if it
    /// moved. The view time goes to just before the held event (not
    /// before the one ahead of it), so that its packet is on its way.
    fn clamp(&mut self) -> bool {
        let Some(h) = self.hold else {
            return false;
        };
        if self.cursor <= h {
            return false;
        }
        self.cursor = h;
        let records = &self.timeline.trace.records;
        let before = h
            .checked_sub(1)
            .and_then(|p| records.get(p))
            .map_or(SimTime::ZERO, |r| r.time);
        let at = records.get(h).map_or(before, |r| r.time);
        self.time = if at > before {
            SimTime::ZERO + SimDuration::from_nanos(at.as_nanos() - 1)
        } else {
            before
        };
        true
    }

    /// Moves to just after record `i` (clicking an event in the list).
    pub fn jump_to(&mut self, i: usize) {
        let Some(r) = self.timeline.trace.records.get(i) else {
            return;
        };
        self.time = r.time;
        self.cursor = i + 1;
        self.clamp();
        self.sync();
    }

    /// Advances the view time by `dt` while playing.
    pub fn advance(&mut self, dt: SimDuration) {
        let t = self.time + dt;
        self.time = t;
        self.cursor = self.cursor.max(self.timeline.records_until(t));
        self.clamp();
        self.sync();
    }

    /// Steps to the next record that `show` accepts; false at the end.
    pub fn step_forward(&mut self, show: impl Fn(&Timeline, usize) -> bool) -> bool {
        match (self.cursor..self.len()).find(|&i| show(&self.timeline, i)) {
            Some(i) => {
                self.jump_to(i);
                true
            }
            None => false,
        }
    }

    /// Steps back to the previous record that `show` accepts (or to the
    /// start); false if already there.
    pub fn step_back(&mut self, show: impl Fn(&Timeline, usize) -> bool) -> bool {
        let Some(cur) = self.current() else {
            return false;
        };
        match (0..cur).rev().find(|&i| show(&self.timeline, i)) {
            Some(i) => self.jump_to(i),
            None => {
                self.time = SimTime::ZERO;
                self.cursor = 0;
                self.sync();
            }
        }
        true
    }

    /// The records presenter keys step between: the scenario's captions
    /// (narration), or, in a scenario without any, every application
    /// dialogue line.
    fn caption_stops(&self) -> Vec<usize> {
        let t = &self.timeline;
        if !t.narrations.is_empty() {
            return t.narrations.clone();
        }
        t.trace
            .records
            .iter()
            .enumerate()
            .filter(|(_, r)| matches!(r.event, Event::Dialogue { .. }))
            .map(|(i, _)| i)
            .collect()
    }

    /// To the next caption (PageDown); false at the last one.
    pub fn next_caption(&mut self) -> bool {
        let stops = self.caption_stops();
        self.step_forward(|_, i| stops.binary_search(&i).is_ok())
    }

    /// To the previous caption (PageUp), or to the start before the first.
    pub fn previous_caption(&mut self) -> bool {
        let stops = self.caption_stops();
        self.step_back(|_, i| stops.binary_search(&i).is_ok())
    }

    /// The live world at the current event, for inspectors.
    pub fn world(&self) -> &crate::net::World {
        &self.live.world
    }

    /// Steps the live world to the current cursor, rebuilding it from the
    /// scenario when it is ahead (the engine is deterministic, so replay
    /// reproduces every state exactly).
    fn sync(&mut self) {
        let want = self.timeline.steps_for(self.cursor);
        if self.live_steps > want
            && let Ok(run) = scenario::build(&self.timeline.scenario, self.timeline.seed)
        {
            self.live = run;
            self.live_steps = 0;
        }
        while self.live_steps < want && self.live.world.step() {
            self.live_steps += 1;
        }
    }

    /// World steps taken by the live world (for tests).
    pub fn live_steps(&self) -> usize {
        self.live_steps
    }

    /// The states an application session (on `node`, with connection
    /// `conn`) went through up to the current event, in order: the run
    /// replayed from the start, the session looked at after every step.
    /// `None` when the run is too long to replay for this (more than
    /// [`MAX_PATH_STEPS`] steps).
    pub fn session_path(
        &self,
        node: NodeId,
        conn: crate::net::ConnId,
    ) -> Option<Vec<&'static str>> {
        if self.live_steps > MAX_PATH_STEPS {
            return None;
        }
        let mut run = scenario::build(&self.timeline.scenario, self.timeline.seed).ok()?;
        let mut path: Vec<&'static str> = Vec::new();
        let mut look = |w: &crate::net::World| {
            let Some(n) = w.nodes().get(node as usize) else {
                return;
            };
            for &app in &n.apps {
                if let Some(a) = w.app(app)
                    && let Some(s) = a.sessions().into_iter().find(|s| s.conn == conn)
                    && path.last() != Some(&s.state)
                {
                    path.push(s.state);
                }
            }
        };
        for _ in 0..self.live_steps {
            if !run.world.step() {
                break;
            }
            look(&run.world);
        }
        Some(path)
    }
}

/// The longest run [`Player::session_path`] replays.
pub const MAX_PATH_STEPS: usize = 200_000;
