//! `SimPlugin`: owns the [`Player`] (the run and the current position in
//! it), plays it forward in simulated time, and applies the [`Control`]
//! messages that the toolbar, the keyboard, the event list and file
//! loading send. Everything else in the visualizer only reads [`Sim`].
//!
//! Simulated time advances with wall time times the speed; sprites are
//! placed by interpolation between each packet's departure and arrival, so
//! the animation is smooth at any speed, while the live world only ever
//! moves by whole engine steps.

use super::model::{self, Player, Timeline};
use crate::sim::{SimDuration, SimTime};
use crate::trace::{Layer, NodeId};
use bevy::prelude::*;
use std::collections::BTreeSet;
use std::path::PathBuf;

/// Commands to the player.
#[derive(Message, Debug, Clone, PartialEq)]
pub enum Control {
    TogglePlay,
    Play,
    Pause,
    /// To the next event the event list shows.
    StepForward,
    /// To the previous event the event list shows (replaying from the
    /// start).
    StepBack,
    /// To a simulated time.
    Seek(SimTime),
    /// To just after record `i`.
    JumpTo(usize),
    ToStart,
    ToEnd,
    /// To the next caption (PageDown, as presentation clickers send).
    NextCaption,
    /// To the previous caption (PageUp).
    PreviousCaption,
    Faster,
    Slower,
    /// Load a scenario file or bundled name.
    Load(String),
    /// Load the current file again (it changed on disk).
    Reload,
    /// Fork the run with these changes and compare the two
    /// ([`super::exercise::Fork`]).
    WhatIf(Vec<crate::exercise::WhatIf>),
    /// Close the comparison with a fork.
    CloseFork,
}

/// The player, and where its scenario came from. Not `Send` (the live
/// world's applications are not), so it is a main-thread resource:
/// systems take it as `NonSend<Sim>`.
pub struct Sim {
    pub player: Player,
    /// The file to watch for changes (none for bundled scenarios).
    pub watch: Option<PathBuf>,
    /// What was asked for last: a path or a bundled name.
    pub source: String,
    /// The last load error (shown over the view until the next load).
    pub error: Option<String>,
    /// A seed that overrides the scenario's.
    pub seed: Option<u64>,
    /// A what-if fork of the run, compared with it.
    pub fork: Option<super::exercise::Fork>,
}

impl Sim {
    /// A sim on a timeline loaded from `source`.
    pub fn new(
        timeline: Timeline,
        source: &str,
        seed: Option<u64>,
    ) -> Result<Sim, model::LoadError> {
        Ok(Sim {
            player: Player::new(timeline)?,
            watch: watch_path(source),
            source: source.to_owned(),
            error: None,
            seed,
            fork: None,
        })
    }

    /// Loads `source`; on error keeps the current run and records the error.
    pub fn load(&mut self, source: &str) {
        match model::load(source, self.seed) {
            Ok(t) => match self.player.replace(t) {
                Ok(()) => {
                    self.error = None;
                    self.fork = None;
                    self.source = source.to_owned();
                    self.watch = watch_path(source);
                }
                Err(e) => self.error = Some(e.0),
            },
            Err(e) => {
                self.error = Some(e.0);
                // Keep watching a file that failed, so fixing it reloads.
                if let Some(p) = watch_path(source) {
                    self.source = source.to_owned();
                    self.watch = Some(p);
                }
            }
        }
    }
}

impl Sim {
    /// Forks the run with `changes` and compares the two; the view goes
    /// to just before they part (the last event they share is the
    /// current one). A change that cannot be made is the error shown.
    pub fn fork_with(&mut self, changes: Vec<crate::exercise::WhatIf>) {
        match super::exercise::Fork::new(&self.player.timeline, changes) {
            Ok(fork) => {
                match fork.common() {
                    Some(0) => self.player.seek(SimTime::ZERO),
                    Some(c) => self.player.jump_to(c - 1),
                    None => {}
                }
                self.fork = Some(fork);
                self.error = None;
            }
            Err(e) => self.error = Some(format!("what if: {}", e.0)),
        }
    }
}

/// A path worth watching: an existing file.
fn watch_path(source: &str) -> Option<PathBuf> {
    let p = PathBuf::from(source);
    p.is_file().then_some(p)
}

/// Simulated seconds per wall-clock second that the view can play at.
pub const SPEEDS: [f64; 17] = [
    0.0001, 0.0002, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0,
    10.0, 100.0,
];

/// Play state.
#[derive(Resource, Debug, Clone)]
pub struct Playback {
    pub playing: bool,
    /// Simulated seconds per wall second.
    pub speed: f64,
    /// Jump over stretches where nothing moves (timers, TIME-WAIT).
    pub skip_idle: bool,
}

impl Playback {
    /// Paused, at a speed at which a packet takes about a second to cross
    /// a typical link.
    pub fn for_timeline(t: &Timeline) -> Playback {
        let ideal = t.typical_flight.as_secs_f64() / 1.2;
        let speed = SPEEDS
            .iter()
            .copied()
            .min_by(|a, b| {
                let da = (a.ln() - ideal.max(1e-9).ln()).abs();
                let db = (b.ln() - ideal.max(1e-9).ln()).abs();
                da.total_cmp(&db)
            })
            .unwrap_or(0.01);
        Playback {
            playing: false,
            speed,
            skip_idle: true,
        }
    }
}

/// Which events the event list shows (and stepping stops at).
#[derive(Resource, Debug, Clone, Default)]
pub struct ViewFilter {
    /// Layers hidden from the list.
    pub hidden: BTreeSet<Layer>,
    /// Only events about this host.
    pub host: Option<NodeId>,
    /// Only events whose text contains this (any case): a word, an
    /// address or port, a field such as `code=550`.
    pub text: String,
}

impl ViewFilter {
    /// The list starts without the link and IP events (each hop of each
    /// packet): what remains reads end to end, as the textbook tells it.
    pub fn initial() -> ViewFilter {
        ViewFilter {
            hidden: [Layer::Link, Layer::Ip].into(),
            host: None,
            text: String::new(),
        }
    }

    /// Whether record `i` shows.
    pub fn shows(&self, t: &Timeline, i: usize) -> bool {
        let Some(r) = t.trace.records.get(i) else {
            return false;
        };
        if self.hidden.contains(&t.trace.layer(r)) {
            return false;
        }
        if let Some(h) = self.host
            && !t.record_hosts(i).contains(&Some(h))
        {
            return false;
        }
        let query = self.text.trim();
        query.is_empty() || contains_any_case(&t.trace.to_text(r), query)
    }
}

/// Whether `hay` contains `needle`, ignoring ASCII case.
fn contains_any_case(hay: &str, needle: &str) -> bool {
    let needle = needle.to_ascii_lowercase();
    hay.to_ascii_lowercase().contains(&needle)
}

/// What the user selected: a packet (flight), a host, a connection.
#[derive(Resource, Debug, Clone, Default, PartialEq)]
pub struct Selection {
    pub flight: Option<usize>,
    pub host: Option<NodeId>,
    pub conn: Option<usize>,
    /// A message or file clicked in the textbook view (a journey of the
    /// run's story).
    pub object: Option<usize>,
}

/// The run to open at start-up.
#[derive(Resource, Debug, Clone)]
pub struct StartUp {
    pub source: String,
    pub seed: Option<u64>,
    /// Where to put the view first.
    pub at: Option<SimTime>,
    pub play: bool,
    /// Fork the run with these changes at once (`--what-if`).
    pub what_if: Vec<crate::exercise::WhatIf>,
}

pub struct SimPlugin;

impl Plugin for SimPlugin {
    fn build(&self, app: &mut App) {
        app.add_message::<Control>()
            .init_resource::<Selection>()
            .insert_resource(ViewFilter::initial())
            .add_systems(PreStartup, open_first)
            .add_systems(
                Update,
                (super::exercise::hold_for_questions, apply_controls, play)
                    .chain()
                    .in_set(SimSet),
            );
    }
}

/// The systems that move the player; the scene syncs after them.
#[derive(SystemSet, Debug, Clone, PartialEq, Eq, Hash)]
pub struct SimSet;

/// Loads the start-up scenario; a broken one shows its error over the
/// fallback scenario, so the window always opens.
fn open_first(world: &mut World) {
    if world.contains_non_send::<Sim>() {
        return;
    }
    let Some(start) = world.get_resource::<StartUp>().cloned() else {
        return;
    };
    let (timeline, error) = match model::load(&start.source, start.seed) {
        Ok(t) => (t, None),
        Err(e) => match model::load(super::fallback_scenario(), start.seed) {
            Ok(t) => (t, Some(e.0)),
            Err(e2) => panic!("the bundled scenario does not load: {e2}"),
        },
    };
    let mut playback = Playback::for_timeline(&timeline);
    playback.playing = start.play;
    let mut sim = match Sim::new(timeline, &start.source, start.seed) {
        Ok(s) => s,
        Err(e) => panic!("the bundled scenario does not build: {e}"),
    };
    let broken = error.is_some();
    if broken {
        sim.error = error;
        sim.watch = watch_path(&start.source);
    }
    if let Some(at) = start.at {
        sim.player.seek(at);
    }
    if !start.what_if.is_empty() && !broken {
        sim.fork_with(start.what_if.clone());
    }
    world.insert_non_send(sim);
    world.insert_resource(playback);
}

/// Applies the control messages of this frame.
pub fn apply_controls(
    mut msgs: MessageReader<Control>,
    mut sim: NonSendMut<Sim>,
    mut playback: ResMut<Playback>,
    filter: Res<ViewFilter>,
    mut selection: ResMut<Selection>,
) {
    for m in msgs.read() {
        let sim = &mut *sim;
        let p = &mut sim.player;
        match m {
            Control::TogglePlay => {
                if !playback.playing && p.time >= p.timeline.end {
                    p.seek(SimTime::ZERO);
                }
                playback.playing = !playback.playing;
            }
            Control::Play => playback.playing = true,
            Control::Pause => playback.playing = false,
            Control::StepForward => {
                playback.playing = false;
                p.step_forward(|t, i| filter.shows(t, i));
            }
            Control::StepBack => {
                playback.playing = false;
                p.step_back(|t, i| filter.shows(t, i));
            }
            Control::Seek(t) => p.seek(*t),
            Control::JumpTo(i) => {
                playback.playing = false;
                p.jump_to(*i);
            }
            Control::ToStart => {
                playback.playing = false;
                p.seek(SimTime::ZERO);
            }
            Control::ToEnd => {
                playback.playing = false;
                let end = p.timeline.end;
                p.seek(end);
            }
            Control::NextCaption => {
                playback.playing = false;
                p.next_caption();
            }
            Control::PreviousCaption => {
                playback.playing = false;
                p.previous_caption();
            }
            Control::Faster => playback.speed = next_speed(playback.speed, true),
            Control::Slower => playback.speed = next_speed(playback.speed, false),
            Control::Load(source) => {
                let before = p.generation;
                sim.load(source);
                if sim.player.generation != before {
                    *selection = Selection::default();
                    let keep = playback.playing;
                    *playback = Playback::for_timeline(&sim.player.timeline);
                    playback.playing = keep;
                }
            }
            Control::Reload => {
                let source = sim.source.clone();
                let before = sim.player.generation;
                sim.load(&source);
                if sim.player.generation != before {
                    *selection = Selection::default();
                }
            }
            Control::WhatIf(changes) => {
                playback.playing = false;
                sim.fork_with(changes.clone());
            }
            Control::CloseFork => sim.fork = None,
        }
    }
}

/// The next preset speed up or down.
pub fn next_speed(speed: f64, faster: bool) -> f64 {
    if faster {
        SPEEDS
            .iter()
            .copied()
            .find(|&s| s > speed * 1.001)
            .unwrap_or(speed)
    } else {
        SPEEDS
            .iter()
            .rev()
            .copied()
            .find(|&s| s < speed * 0.999)
            .unwrap_or(speed)
    }
}

/// Advances simulated time while playing.
fn play(time: Res<Time>, mut sim: NonSendMut<Sim>, mut playback: ResMut<Playback>) {
    if !playback.playing {
        return;
    }
    let wall = time.delta_secs_f64().min(0.1);
    advance_by_wall(&mut sim.player, &mut playback, wall);
}

/// Moves the player forward by `wall` seconds of wall time at the current
/// speed, skipping idle stretches; pauses at the end.
pub fn advance_by_wall(p: &mut Player, playback: &mut Playback, wall: f64) {
    let dt = SimDuration::from_nanos((wall * playback.speed * 1e9) as u64);
    p.advance(dt);
    if p.held() {
        // A question waits for its answer.
        playback.playing = false;
        return;
    }
    if playback.skip_idle && p.timeline.in_flight(p.time).next().is_none() {
        // Nothing on the wire: if the next event is far away at this speed,
        // go to shortly before it.
        if let Some(next) = p.timeline.trace.records.get(p.cursor) {
            let lead = SimDuration::from_nanos((0.25 * playback.speed * 1e9) as u64);
            let far = SimDuration::from_nanos((0.8 * playback.speed * 1e9) as u64);
            if next.time > p.time + far {
                p.advance(SimDuration::from_nanos(
                    (next.time - p.time)
                        .as_nanos()
                        .saturating_sub(lead.as_nanos()),
                ));
            }
        }
    }
    if p.time >= p.timeline.end && p.timeline.in_flight(p.time).next().is_none() {
        playback.playing = false;
    }
}
