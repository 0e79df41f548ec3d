//! The frame-time benchmark: a generated network of many hosts with
//! about a thousand packets on the wire, played through the model plugins
//! and the egui panels with no renderer, timing what the app itself does
//! each frame (the software renderer of a test machine is not measured).
//! Used by `cargo bench --bench gui_frame` and `wiretale gui --bench-frames N`.

use super::files::FileBrowser;
use super::model::Timeline;
use super::packets::OnScreen;
use super::sim::{Playback, Selection, Sim, StartUp, ViewFilter};
use super::theme::Theme;
use super::ui::{UiState, View};
use crate::sim::{SimDuration, SimTime};
use bevy_egui::egui;
use std::fmt::Write as _;
use std::time::{Duration, Instant};

/// A scenario of `routers` routers in a ring, each with `per_router`
/// hosts around it; every host sends `bytes` to the host across the ring.
pub fn generate_scenario(routers: usize, per_router: usize, bytes: &str) -> String {
    generate(routers, per_router, bytes, false)
}

/// The same ring for the textbook view: the first host of each router is
/// a file server holding a file of `bytes`, and every other host fetches
/// it with FTP (passive mode) from the server across the ring.
pub fn generate_ftp_scenario(routers: usize, per_router: usize, bytes: &str) -> String {
    generate(routers, per_router, bytes, true)
}

fn generate(routers: usize, per_router: usize, bytes: &str, ftp: bool) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "Scenario(version: 1, title: \"Benchmark: {} hosts\", tcp: (msl: \"1s\"), hosts: [",
        routers * (per_router + 1)
    );
    let n = routers * per_router;
    for r in 0..routers {
        let a = std::f32::consts::TAU * r as f32 / routers as f32;
        let (x, y) = (50.0 + 18.0 * a.cos(), 50.0 + 18.0 * a.sin());
        let _ = writeln!(
            s,
            "  Host(name: \"r{r}\", role: Router, position: ({x:.1}, {y:.1})),"
        );
        for h in 0..per_router {
            let b = a + (h as f32 - per_router as f32 / 2.0) * 0.6 / per_router as f32;
            let rad = 36.0 + 10.0 * (h % 2) as f32;
            let (x, y) = (50.0 + rad * b.cos(), 50.0 + rad * b.sin());
            if !ftp {
                let _ = writeln!(
                    s,
                    "  Host(name: \"h{r}_{h}\", role: Server, services: [Discard(port: 9)], position: ({x:.1}, {y:.1})),"
                );
            } else if h == 0 {
                let _ = writeln!(
                    s,
                    "  Host(name: \"h{r}_{h}\", role: FileServer(users: [User(name: \"u\", password: \"p\")], files: [File(path: \"/u/f.bin\", size: \"{bytes}\")]), position: ({x:.1}, {y:.1})),"
                );
            } else {
                let _ = writeln!(s, "  Host(name: \"h{r}_{h}\", position: ({x:.1}, {y:.1})),");
            }
        }
    }
    s.push_str("], links: [\n");
    for r in 0..routers {
        let _ = writeln!(
            s,
            "  Link(a: \"r{r}\", b: \"r{}\", latency: \"10ms\", bandwidth: \"1Gbps\", queue: 1000),",
            (r + 1) % routers
        );
        for h in 0..per_router {
            let _ = writeln!(
                s,
                "  Link(a: \"h{r}_{h}\", b: \"r{r}\", latency: \"30ms\", bandwidth: \"50Mbps\", queue: 200),"
            );
        }
    }
    s.push_str("], actions: [\n");
    for i in 0..n {
        let (r, h) = (i / per_router, i % per_router);
        let j = (i + n / 2) % n;
        let (r2, h2) = (j / per_router, j % per_router);
        if ftp {
            if h != 0 {
                let _ = writeln!(
                    s,
                    "  Action(at: \"{}ms\", host: \"h{r}_{h}\", do: Ftp(server: \"h{r2}_0\", user: \"u\", password: \"p\", mode: Passive, steps: [Type(Binary), Retr(\"f.bin\")])),",
                    10 + (i % 20)
                );
            }
            continue;
        }
        let _ = writeln!(
            s,
            "  Action(at: \"{}ms\", host: \"h{r}_{h}\", do: TcpSend(to: \"h{r2}_{h2}\", port: 9, bytes: \"{bytes}\")),",
            10 + (i % 20)
        );
    }
    s.push_str("])\n");
    s
}

/// The benchmark's timeline: 10 routers and 190 hosts (sending to each
/// other, or fetching files with FTP for the textbook view).
pub fn bench_timeline() -> Timeline {
    timeline_of(generate_scenario(10, 19, "20KB"))
}

fn timeline_of(text: String) -> Timeline {
    let scenario = match crate::scenario::parse("bench.ron", &text) {
        Ok(s) => s,
        Err(e) => panic!("the generated scenario is invalid: {e}"),
    };
    let loaded = crate::scenario::Loaded {
        file: "bench.ron".into(),
        text,
        scenario,
    };
    match Timeline::new(loaded, None) {
        Ok(t) => t,
        Err(e) => panic!("the generated scenario does not run: {e}"),
    }
}

/// The time with the most packets on the wire (sampled every millisecond).
pub fn busiest_time(t: &Timeline) -> (SimTime, usize) {
    let mut best = (SimTime::ZERO, 0);
    let mut at = SimTime::ZERO;
    while at <= t.end {
        let n = t.in_flight(at).count();
        if n > best.1 {
            best = (at, n);
        }
        at += SimDuration::from_millis(1);
    }
    best
}

/// Simulated seconds per wall second while measuring.
const SPEED: f64 = 0.01;

/// Frame times of a benchmark run.
#[derive(Debug, Clone)]
pub struct FrameStats {
    pub hosts: usize,
    pub frames: usize,
    /// Packets on the wire, smallest and largest over the frames.
    pub packets: (usize, usize),
    pub mean: Duration,
    pub p95: Duration,
    pub max: Duration,
    /// Of the mean: moving the player (view time, cursor, and stepping
    /// the live world the inspectors read) and the Bevy schedule (scene
    /// entities, visuals).
    pub mean_update: Duration,
    /// Of `mean_update`: moving the player.
    pub mean_player: Duration,
    /// Of the mean: building the egui panels.
    pub mean_ui: Duration,
}

impl std::fmt::Display for FrameStats {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} hosts, {}-{} packets on the wire, {} frames: mean {:.3} ms (player {:.3} ms + schedule {:.3} ms + panels {:.3} ms), p95 {:.3} ms, max {:.3} ms",
            self.hosts,
            self.packets.0,
            self.packets.1,
            self.frames,
            self.mean.as_secs_f64() * 1e3,
            self.mean_player.as_secs_f64() * 1e3,
            (self.mean_update - self.mean_player).as_secs_f64() * 1e3,
            self.mean_ui.as_secs_f64() * 1e3,
            self.p95.as_secs_f64() * 1e3,
            self.max.as_secs_f64() * 1e3
        )
    }
}

/// Plays `frames` frames of 1/60 s around the busiest moment and times
/// each: the app's update schedule plus one pass of the egui panels, in
/// the network view.
pub fn measure(frames: usize) -> FrameStats {
    measure_view(frames, false)
}

/// [`measure`] in the network view or (`textbook`) the textbook view.
pub fn measure_view(frames: usize, textbook: bool) -> FrameStats {
    let timeline = if textbook {
        timeline_of(generate_ftp_scenario(10, 19, "20KB"))
    } else {
        bench_timeline()
    };
    let (busy, _) = busiest_time(&timeline);
    let hosts = timeline.hosts.len();
    let mut app = super::headless_app(StartUp {
        source: "bench".into(),
        seed: None,
        at: None,
        play: false,
        what_if: Vec::new(),
    });
    let mut sim = match Sim::new(timeline, "bench", None) {
        Ok(s) => s,
        Err(e) => panic!("{e}"),
    };
    // Play through the peak at a speed at which a packet crosses a link in
    // about a second, as a viewer would watch it.
    let speed = SPEED;
    let span = SimDuration::from_nanos((frames as f64 / 60.0 * speed * 1e9) as u64);
    let start = SimTime(busy.0.saturating_sub(span.as_nanos() / 2));
    sim.player.seek(start);
    let mut playback = Playback::for_timeline(&sim.player.timeline);
    playback.speed = speed;
    app.insert_non_send(sim);
    app.insert_resource(playback);
    app.insert_resource(UiState {
        textbook: Some(textbook),
        ..Default::default()
    })
    .init_resource::<FileBrowser>()
    .init_resource::<Theme>()
    .init_resource::<bevy::prelude::ClearColor>();
    // The visuals too (meshes, materials, labels as components; nothing
    // is rendered).
    app.add_plugins(bevy::asset::AssetPlugin::default());
    bevy::asset::AssetApp::init_asset::<bevy::prelude::Mesh>(&mut app);
    bevy::asset::AssetApp::init_asset::<bevy::prelude::ColorMaterial>(&mut app);
    app.add_plugins((super::visuals::VisualsPlugin, super::theme::ThemePlugin));
    // Warm up: the first frame spawns the scene, the first panel pass
    // builds the event list's and the ladder's caches (once per load).
    app.update();
    let ctx = egui::Context::default();
    build_panels(&mut app, &ctx);
    let mut times = Vec::with_capacity(frames);
    let (mut upd, mut uis, mut adv) = (Duration::ZERO, Duration::ZERO, Duration::ZERO);
    let mut packets = (usize::MAX, 0);
    for _ in 0..frames {
        let t0 = Instant::now();
        {
            let world = app.world_mut();
            let mut sim = world.non_send_mut::<Sim>();
            let sim = &mut *sim;
            let mut pb = Playback {
                playing: true,
                speed: SPEED,
                skip_idle: false,
            };
            super::sim::advance_by_wall(&mut sim.player, &mut pb, 1.0 / 60.0);
        }
        let ta = Instant::now();
        adv += ta - t0;
        app.update();
        let t1 = Instant::now();
        build_panels(&mut app, &ctx);
        let t2 = Instant::now();
        upd += t1 - t0;
        uis += t2 - t1;
        times.push(t2 - t0);
        let n = app.world().resource::<OnScreen>().flights.len();
        packets = (packets.0.min(n), packets.1.max(n));
    }
    times.sort();
    let total: Duration = times.iter().sum();
    let n = times.len().max(1) as u32;
    FrameStats {
        hosts,
        frames,
        packets,
        mean: total / n,
        p95: times[(times.len() * 95 / 100).min(times.len().saturating_sub(1))],
        max: times.last().copied().unwrap_or_default(),
        mean_update: upd / n,
        mean_player: adv / n,
        mean_ui: uis / n,
    }
}

/// One pass of the panels over the app's resources.
fn build_panels(app: &mut bevy::app::App, ctx: &egui::Context) {
    let world = app.world_mut();
    let Some(sim) = world.remove_non_send::<Sim>() else {
        return;
    };
    {
        world.resource_scope(|world, mut state: bevy::prelude::Mut<UiState>| {
            world.resource_scope(|world, mut browser: bevy::prelude::Mut<FileBrowser>| {
                world.resource_scope(|world, mut filter: bevy::prelude::Mut<ViewFilter>| {
                    world.resource_scope(|world, mut selection: bevy::prelude::Mut<Selection>| {
                        let playback = world.resource::<Playback>().clone();
                        let mut theme = *world.resource::<Theme>();
                        let on = world.resource::<OnScreen>();
                        let mut view = View {
                            sim: &sim,
                            playback: &playback,
                            filter: &mut filter,
                            selection: &mut selection,
                            theme: &mut theme,
                            state: &mut state,
                            browser: &mut browser,
                            on_screen: on,
                            out: Vec::new(),
                        };
                        let input = egui::RawInput {
                            screen_rect: Some(egui::Rect::from_min_size(
                                egui::Pos2::ZERO,
                                egui::vec2(1600.0, 900.0),
                            )),
                            ..Default::default()
                        };
                        ctx.begin_pass(input);
                        super::panels::draw_all(ctx, &mut view);
                        // No renderer here: drop the font textures egui
                        // would upload.
                        let mut out = ctx.end_pass();
                        out.textures_delta.clear();
                    });
                });
            });
        });
    }
    world.insert_non_send(sim);
}

/// Runs the benchmark for `frames` frames and says how it went, for the
/// CLI's `--bench-frames`.
pub fn describe(frames: usize) -> String {
    let verdict = |s: &FrameStats| {
        if s.mean.as_secs_f64() * 1e3 < 4.0 {
            "under"
        } else {
            "OVER"
        }
    };
    let network = measure_view(frames.max(1), false);
    let textbook = measure_view(frames.max(1), true);
    format!(
        "network view: {network}\ntextbook view: {textbook}\nthe app's own work per frame is {} the 4 ms budget in the network view and {} it in the textbook view (mean)",
        verdict(&network),
        verdict(&textbook)
    )
}
