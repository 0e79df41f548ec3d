//! The visualizer (feature `gui`): a Bevy app that animates a scenario's
//! run, with egui panels around it.
//!
//! The GUI is a view (docs/architecture.md): it reads the trace and the world's
//! state and never changes what the engine does. Its model
//! ([`model`]: the whole run, the cursor, packets in flight) has no Bevy
//! in it; the plugins, one per file, turn that model into entities and
//! panels:
//!
//! - [`sim::SimPlugin`]: the player, playback and the [`sim::Control`]
//!   messages everything else sends.
//! - [`topology::TopologyPlugin`] and [`packets::PacketsPlugin`]: host,
//!   link, packet and drop entities placed for the view time.
//! - [`visuals::VisualsPlugin`]: how those entities look (shapes, colours,
//!   labels) and the camera.
//! - [`ui::UiPlugin`]: the toolbar, caption, event list, ladder,
//!   transcripts, packet inspector, state machines and host inspectors.
//! - [`controls::ControlsPlugin`]: keyboard shortcuts and clicking on the
//!   scene.
//! - [`files::FilesPlugin`]: opening files, drag and drop, reloading a
//!   file when it changes on disk.
//! - [`screenshot::ScreenshotPlugin`]: `--screenshot`, render and exit.
//! - [`theme::ThemePlugin`]: the light theme and the high-contrast
//!   lecture theme, and the text size.
//! - [`prefs::PrefsPlugin`]: the layout the window saves between
//!   sessions.
//! - [`exercise::ExercisePlugin`]: predict mode's questions; what-if
//!   forks are [`exercise::Fork`]s the player's controls make.
//!
//! [`headless_app`] builds the model plugins alone (no window, no
//! renderer) for tests and the frame-time benchmark.

// Bevy systems get their parameters by injection: long parameter lists
// and query types are how they say what they touch.
#![allow(clippy::too_many_arguments, clippy::type_complexity)]

pub mod bench;
pub mod controls;
pub mod exercise;
pub mod files;
pub mod layout;
pub mod model;
pub mod packets;
pub mod panels;
pub mod placement;
pub mod player;
pub mod prefs;
pub mod screenshot;
pub mod sim;
pub mod textbook;
pub mod textrects;
pub mod theme;
pub mod topology;
pub mod ui;
pub mod visuals;

use crate::scenario::bundled;
use crate::sim::SimTime;
use bevy::prelude::*;
use std::path::PathBuf;

/// The scenario `wiretale` opens with no arguments: the textbook's mail
/// from Alice to Bob.
pub const DEFAULT_SCENARIO: &str = "alice_to_bob";

/// What opens when [`DEFAULT_SCENARIO`] is not bundled in this build.
pub const FALLBACK_SCENARIO: &str = "tcp_handshake";

/// The bundled scenario to open by default.
pub fn default_scenario() -> &'static str {
    if bundled::find(DEFAULT_SCENARIO).is_some() {
        DEFAULT_SCENARIO
    } else {
        FALLBACK_SCENARIO
    }
}

/// The scenario shown when the requested one cannot be loaded (its error
/// is shown over it).
pub fn fallback_scenario() -> &'static str {
    default_scenario()
}

/// How to open the visualizer.
#[derive(Debug, Clone)]
pub struct GuiOptions {
    /// A scenario file or bundled name.
    pub scenario: String,
    pub seed: Option<u64>,
    /// Start at this simulated time.
    pub at: Option<SimTime>,
    /// Large fonts and high contrast.
    pub lecture: bool,
    /// Render once at `at` into this PNG file and exit.
    pub screenshot: Option<PathBuf>,
    /// Window size in logical pixels; `None`: the size of the screen
    /// (the window opens maximized).
    pub size: Option<(u32, u32)>,
    /// Start playing at once.
    pub play: bool,
    /// The inspector tab to show first ("ladder", "transcripts", "packet",
    /// "state", "tcp", "hosts").
    pub tab: Option<String>,
    /// Start in the textbook view (`Some(true)`) or the network view
    /// (`Some(false)`); by default the textbook view for scenarios with
    /// mail or file servers.
    pub textbook: Option<bool>,
    /// Start in presentation mode: the view and the caption only.
    pub present: bool,
    /// Start with the event list and the inspectors folded away.
    pub hide_panels: bool,
    /// Write where the textbook view drew its boxes, pipes and objects to
    /// this JSON file (with `--screenshot`, for checking pictures).
    pub figure_json: Option<PathBuf>,
    /// Write the rectangle of every text on screen to this JSON file
    /// (with `--screenshot`: checking that no text covers another).
    pub layout_json: Option<PathBuf>,
    /// Predict mode: hold before each question's event and ask.
    pub predict: Option<exercise::PredictOptions>,
    /// Fork the run with these changes at once and show the comparison.
    pub what_if: Vec<crate::exercise::WhatIf>,
}

impl Default for GuiOptions {
    fn default() -> Self {
        GuiOptions {
            scenario: default_scenario().to_owned(),
            seed: None,
            at: None,
            lecture: false,
            screenshot: None,
            size: None,
            play: false,
            tab: None,
            textbook: None,
            figure_json: None,
            layout_json: None,
            present: false,
            hide_panels: false,
            predict: None,
            what_if: Vec::new(),
        }
    }
}

/// Why the window cannot open.
pub fn display_problem() -> Option<String> {
    #[cfg(all(unix, not(target_os = "macos")))]
    {
        let set = |k: &str| std::env::var_os(k).is_some_and(|v| !v.is_empty());
        if !set("DISPLAY") && !set("WAYLAND_DISPLAY") {
            return Some(
                "no display found (DISPLAY/WAYLAND_DISPLAY unset); run headless with `wiretale run alice_to_bob`"
                    .to_owned(),
            );
        }
    }
    None
}

/// The model plugins and their start-up resource, with no window: what
/// tests and the benchmark drive with `app.update()`.
pub fn headless_app(start: sim::StartUp) -> App {
    let mut app = App::new();
    app.add_plugins(MinimalPlugins)
        .insert_resource(start)
        .add_plugins((
            sim::SimPlugin,
            topology::TopologyPlugin,
            packets::PacketsPlugin,
        ));
    app
}

/// Opens the window and runs until it closes; returns the exit code.
pub fn run(opts: GuiOptions) -> u8 {
    if let Some(problem) = display_problem() {
        eprintln!("wiretale: {problem}");
        return 2;
    }
    let title = format!("wiretale: {}", opts.scenario);
    // A picture has the size asked for (or a fixed one, so that pictures
    // compare); a window for people fills the screen it opens on.
    let size = opts.size.or(opts.screenshot.as_ref().map(|_| (1600, 900)));
    let mut window = Window {
        title,
        resolution: bevy::window::WindowResolution::new(
            size.map_or(1280, |s| s.0),
            size.map_or(800, |s| s.1),
        )
        .with_scale_factor_override(1.0),
        position: bevy::window::WindowPosition::Centered(bevy::window::MonitorSelection::Current),
        ..default()
    };
    if size.is_none() {
        window.set_maximized(true);
    }
    let mut app = App::new();
    app.add_plugins(
        DefaultPlugins
            .set(WindowPlugin {
                primary_window: Some(window),
                ..default()
            })
            .set(bevy::log::LogPlugin {
                filter: "warn,wgpu=error,naga=warn".into(),
                ..default()
            }),
    )
    .insert_resource(sim::StartUp {
        source: opts.scenario.clone(),
        seed: opts.seed,
        at: opts.at,
        play: opts.play && opts.screenshot.is_none(),
        what_if: opts.what_if.clone(),
    })
    .insert_resource(theme::Theme {
        lecture: opts.lecture,
        ..default()
    })
    .add_plugins(bevy_egui::EguiPlugin::default())
    .add_plugins((
        sim::SimPlugin,
        topology::TopologyPlugin,
        packets::PacketsPlugin,
        visuals::VisualsPlugin,
        theme::ThemePlugin,
        ui::UiPlugin,
        controls::ControlsPlugin,
        files::FilesPlugin,
        exercise::ExercisePlugin,
    ));
    if let Some(predict) = &opts.predict {
        app.insert_resource(exercise::Predict::new(predict.clone()));
    }
    app.insert_resource(ui::UiState {
        tab: opts
            .tab
            .as_deref()
            .and_then(panels::Tab::from_name)
            .unwrap_or_default(),
        textbook: opts.textbook,
        presentation: opts.present,
        hide_events: opts.hide_panels,
        hide_inspectors: opts.hide_panels,
        figure_json: opts.figure_json.clone(),
        ..Default::default()
    });
    if let Some(path) = &opts.layout_json {
        app.add_plugins(textrects::TextRectsPlugin { path: path.clone() });
    }
    if let Some(path) = &opts.screenshot {
        app.add_plugins(screenshot::ScreenshotPlugin { path: path.clone() });
    } else {
        app.add_plugins(prefs::PrefsPlugin {
            start: prefs::load(),
            lecture_given: opts.lecture,
            tab_given: opts.tab.is_some(),
            panels_given: opts.hide_panels || opts.present,
        });
    }
    let code = app.run();
    match code {
        AppExit::Success => 0,
        AppExit::Error(n) => n.get(),
    }
}
