//! `wiretale gui` (and `wiretale` alone): the visualizer. Without the
//! `gui` feature it says so in one line and exits 2.

use super::BAD_INPUT;
use clap::Args;
use std::path::PathBuf;
use wiretale::scenario::units;
use wiretale::sim::SimTime;

#[derive(Args, Debug, Default)]
#[cfg_attr(not(feature = "gui"), allow(dead_code))]
pub struct GuiArgs {
    /// A scenario file or the name of a bundled scenario (default:
    /// alice_to_bob).
    pub scenario: Option<String>,
    /// Render the view at `--at` into this PNG file and exit.
    #[arg(long)]
    pub screenshot: Option<PathBuf>,
    /// Start at this simulated time, e.g. "52ms".
    #[arg(long, value_parser = parse_time)]
    pub at: Option<SimTime>,
    /// Large fonts and high contrast, for a projector.
    #[arg(long)]
    pub lecture: bool,
    /// Seed of the run's random numbers (default: the scenario's).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Window size, e.g. "1280x720" (default: the screen's; 1600x900 for
    /// --screenshot).
    #[arg(long, value_parser = parse_size)]
    pub size: Option<(u32, u32)>,
    /// Start playing at once.
    #[arg(long)]
    pub play: bool,
    /// The inspector tab to open on: ladder, transcripts, packet, state,
    /// tcp (the TCP plot), hosts.
    #[arg(long)]
    pub tab: Option<String>,
    /// The view to open on: "textbook" (the figures' boxes, queues,
    /// mailboxes, file systems and pipes; the default for scenarios with
    /// mail or file servers) or "network" (hosts, links and packets).
    #[arg(long, value_parser = parse_view)]
    pub view: Option<bool>,
    /// With --screenshot: also write where the textbook view drew its
    /// boxes, pipes and objects to this JSON file.
    #[arg(long)]
    pub figure_json: Option<PathBuf>,
    /// Start in presentation mode: the view and the caption only
    /// (PageDown/PageUp step between captions, P or Esc leaves).
    #[arg(long)]
    pub present: bool,
    /// Start with the event list and the inspectors folded away ([ and ]
    /// bring them back).
    #[arg(long)]
    pub hide_panels: bool,
    /// Write the rectangle of every text on screen (panels and the
    /// network's labels) to this JSON file, e.g. with --screenshot, to
    /// check that no text covers another.
    #[arg(long, value_name = "FILE")]
    pub layout_json: Option<PathBuf>,
    /// Predict mode: the run holds before each of the scenario's quiz:
    /// questions and asks; the answers are scored as you go.
    #[arg(long)]
    pub predict: bool,
    /// With --predict: also ask questions generated from the run (reply
    /// codes, TCP states, ack numbers, who opens the data connection, the
    /// queue, who sees a flag).
    #[arg(long)]
    pub generated: bool,
    /// With --generated: at most this many generated questions.
    #[arg(long, default_value_t = 10)]
    pub max: usize,
    /// With --predict: the student's name for the results (default:
    /// $USER).
    #[arg(long)]
    pub name: Option<String>,
    /// With --predict: write the results (name, answers, score, time) to
    /// FILE.json or FILE.csv after every answer.
    #[arg(long, value_name = "FILE")]
    pub results: Option<PathBuf>,
    /// Fork the run with this change and show both runs side by side
    /// (repeatable; the forms of `wiretale diff --what-if`, e.g.
    /// drop:23, link-down:A/B@1s+2s, dns-down@0s, seed:7).
    #[arg(long = "what-if", value_name = "CHANGE")]
    pub what_if: Vec<String>,
    /// Time this many frames of a generated 200-host network and print
    /// the figures (no window).
    #[arg(long, hide = true)]
    pub bench_frames: Option<usize>,
}

fn parse_time(s: &str) -> Result<SimTime, String> {
    units::parse_duration(s).map(|d| SimTime::ZERO + d)
}

/// `textbook` is true, `network` false.
fn parse_view(s: &str) -> Result<bool, String> {
    match s.to_ascii_lowercase().as_str() {
        "textbook" => Ok(true),
        "network" => Ok(false),
        _ => Err(format!("expected textbook or network, got {s:?}")),
    }
}

fn parse_size(s: &str) -> Result<(u32, u32), String> {
    let (w, h) = s
        .split_once(['x', 'X'])
        .ok_or_else(|| format!("expected WIDTHxHEIGHT, got {s:?}"))?;
    let n = |v: &str| {
        v.trim()
            .parse::<u32>()
            .ok()
            .filter(|&n| (200..=8192).contains(&n))
            .ok_or_else(|| format!("bad window size {s:?}"))
    };
    Ok((n(w)?, n(h)?))
}

#[cfg(feature = "gui")]
pub fn gui(args: Option<GuiArgs>) -> u8 {
    use wiretale::gui;
    let args = args.unwrap_or_default();
    if let Some(frames) = args.bench_frames {
        println!("{}", gui::bench::describe(frames));
        return super::OK;
    }
    // Check the scenario before opening a window, so that a typo in a
    // command line is an error in the terminal with the usual exit code.
    let scenario = args
        .scenario
        .unwrap_or_else(|| gui::default_scenario().to_owned());
    if let Err(e) = wiretale::scenario::load(&scenario)
        && (args.screenshot.is_some() || !std::path::Path::new(&scenario).exists())
    {
        eprintln!("{e}");
        return BAD_INPUT;
    }
    let mut what_if = Vec::new();
    for w in &args.what_if {
        match w.parse::<wiretale::exercise::WhatIf>() {
            Ok(c) => what_if.push(c),
            Err(e) => {
                eprintln!("wiretale gui: --what-if {e}");
                return BAD_INPUT;
            }
        }
    }
    if let Ok(loaded) = wiretale::scenario::load(&scenario)
        && let Err(e) = wiretale::exercise::fork(&loaded.scenario, &what_if)
    {
        eprintln!("wiretale gui: --what-if: {e}");
        return BAD_INPUT;
    }
    if (args.generated || args.name.is_some() || args.results.is_some()) && !args.predict {
        eprintln!("wiretale gui: --generated, --name and --results go with --predict");
        return BAD_INPUT;
    }
    if let Some(Err(e)) = args
        .results
        .as_deref()
        .map(wiretale::exercise::quiz::results_path)
    {
        eprintln!("wiretale gui: {e}");
        return BAD_INPUT;
    }
    let predict = args.predict.then(|| gui::exercise::PredictOptions {
        generated: args.generated,
        max: args.max,
        student: args
            .name
            .clone()
            .or_else(|| std::env::var("USER").ok())
            .unwrap_or_else(|| "student".into()),
        results: args.results.clone(),
    });
    gui::run(gui::GuiOptions {
        scenario,
        seed: args.seed,
        at: args.at,
        lecture: args.lecture,
        screenshot: args.screenshot,
        size: args.size,
        play: args.play,
        tab: args.tab,
        textbook: args.view,
        figure_json: args.figure_json,
        layout_json: args.layout_json,
        present: args.present,
        hide_panels: args.hide_panels,
        predict,
        what_if,
    })
}

#[cfg(not(feature = "gui"))]
pub fn gui(_args: Option<GuiArgs>) -> u8 {
    eprintln!(
        "wiretale: this build has no visualizer; use `wiretale run SCENARIO` to run a scenario headless"
    );
    BAD_INPUT
}
