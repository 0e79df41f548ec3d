//! `ScreenshotPlugin`: `wiretale gui SCENARIO --screenshot FILE.png --at
//! TIME`. The view opens paused at TIME, waits a few frames for the
//! panels and text to settle, saves the window as a PNG and exits. For
//! slides, the README and tests.

use bevy::prelude::*;
use bevy::render::view::screenshot::{Screenshot, ScreenshotCaptured, save_to_disk};
use std::path::PathBuf;

/// Frames to wait before capturing: egui needs two passes to lay out
/// panels, and text needs its glyphs rasterized.
const SETTLE_FRAMES: u32 = 30;
/// Give up after this many frames.
const GIVE_UP_FRAMES: u32 = 1200;

pub struct ScreenshotPlugin {
    pub path: PathBuf,
}

#[derive(Resource)]
struct Shot {
    path: PathBuf,
    frames: u32,
    requested: bool,
}

/// Set by the capture observer.
#[derive(Resource, Default)]
struct Saved(bool);

impl Plugin for ScreenshotPlugin {
    fn build(&self, app: &mut App) {
        app.insert_resource(Shot {
            path: self.path.clone(),
            frames: 0,
            requested: false,
        })
        .init_resource::<Saved>()
        .add_systems(Last, capture);
    }
}

fn capture(
    mut commands: Commands,
    mut shot: ResMut<Shot>,
    saved: Res<Saved>,
    mut exit: MessageWriter<AppExit>,
) {
    shot.frames += 1;
    if saved.0 {
        eprintln!("wiretale: saved {}", shot.path.display());
        exit.write(AppExit::Success);
        return;
    }
    if shot.frames >= GIVE_UP_FRAMES {
        eprintln!("wiretale: the window never rendered; no screenshot taken");
        exit.write(AppExit::from_code(1));
        return;
    }
    if !shot.requested && shot.frames >= SETTLE_FRAMES {
        shot.requested = true;
        commands
            .spawn(Screenshot::primary_window())
            .observe(save_to_disk(shot.path.clone()))
            .observe(|_: On<ScreenshotCaptured>, mut saved: ResMut<Saved>| saved.0 = true);
    }
}
