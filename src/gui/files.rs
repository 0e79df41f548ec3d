//! `FilesPlugin`: getting scenarios in. A small file browser (an egui
//! window: no native dialog, so nothing beyond the window system is
//! needed), files dropped on the window, and automatic reload when the
//! open file changes on disk (its modification time is polled once a
//! second). A file that fails to load shows its error over the view and
//! stays watched, so saving a fix reloads it.

use super::sim::{Control, Sim};
use super::ui::View;
use crate::scenario::bundled;
use bevy::prelude::*;
use bevy::window::FileDragAndDrop;
use bevy_egui::egui;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

/// The browser's state.
#[derive(Resource, Debug, Default)]
pub struct FileBrowser {
    pub open: bool,
    /// The folder shown (the working directory at first).
    pub dir: Option<PathBuf>,
    entries: Vec<(String, bool)>,
    listed: Option<PathBuf>,
}

pub struct FilesPlugin;

impl Plugin for FilesPlugin {
    fn build(&self, app: &mut App) {
        app.init_resource::<FileBrowser>()
            .add_systems(Update, (dropped_files, watch_file));
    }
}

/// A file dropped on the window is opened.
fn dropped_files(mut drops: MessageReader<FileDragAndDrop>, mut controls: MessageWriter<Control>) {
    for d in drops.read() {
        if let FileDragAndDrop::DroppedFile { path_buf, .. } = d {
            controls.write(Control::Load(path_buf.display().to_string()));
        }
    }
}

/// What the watcher last saw.
#[derive(Default)]
struct Seen {
    path: Option<PathBuf>,
    modified: Option<SystemTime>,
    since_check: Duration,
}

/// Reloads the open file when its modification time changes.
fn watch_file(
    time: Res<Time<Real>>,
    sim: NonSend<Sim>,
    mut seen: Local<Seen>,
    mut controls: MessageWriter<Control>,
) {
    seen.since_check += time.delta();
    if seen.since_check < Duration::from_secs(1) {
        return;
    }
    seen.since_check = Duration::ZERO;
    let Some(path) = sim.watch.clone() else {
        seen.path = None;
        return;
    };
    let modified = std::fs::metadata(&path).and_then(|m| m.modified()).ok();
    if seen.path.as_ref() != Some(&path) {
        seen.path = Some(path);
        seen.modified = modified;
        return;
    }
    if modified.is_some() && modified != seen.modified {
        seen.modified = modified;
        controls.write(Control::Reload);
    }
}

fn list(dir: &Path) -> Vec<(String, bool)> {
    let mut v: Vec<(String, bool)> = match std::fs::read_dir(dir) {
        Ok(rd) => rd
            .filter_map(|e| e.ok())
            .filter_map(|e| {
                let name = e.file_name().to_string_lossy().into_owned();
                let is_dir = e.file_type().is_ok_and(|t| t.is_dir());
                let shown = !name.starts_with('.') && (is_dir || name.ends_with(".ron"));
                shown.then_some((name, is_dir))
            })
            .collect(),
        Err(_) => Vec::new(),
    };
    // Folders first, then files, each alphabetically.
    v.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    v
}

/// The "Open scenario" window.
pub fn browser_window(ctx: &egui::Context, v: &mut View) {
    if !v.browser.open {
        return;
    }
    let dir = v
        .browser
        .dir
        .clone()
        .or_else(|| std::env::current_dir().ok())
        .unwrap_or_else(|| PathBuf::from("."));
    if v.browser.listed.as_ref() != Some(&dir) {
        v.browser.entries = list(&dir);
        v.browser.listed = Some(dir.clone());
    }
    let mut open = true;
    let mut go_to: Option<PathBuf> = None;
    let mut load: Option<String> = None;
    egui::Window::new("Open a scenario")
        .open(&mut open)
        .collapsible(false)
        .default_size(egui::vec2(520.0, 480.0))
        .anchor(egui::Align2::CENTER_CENTER, egui::vec2(0.0, 0.0))
        .show(ctx, |ui| {
            ui.label(egui::RichText::new("Bundled scenarios").strong());
            ui.horizontal_wrapped(|ui| {
                for b in bundled::ALL {
                    if ui.button(b.name).clicked() {
                        load = Some(b.name.to_owned());
                    }
                }
            });
            ui.separator();
            ui.horizontal(|ui| {
                if ui.button("⬆ Up").clicked()
                    && let Some(parent) = dir.parent()
                {
                    go_to = Some(parent.to_path_buf());
                }
                ui.label(egui::RichText::new(dir.display().to_string()).monospace());
            });
            egui::ScrollArea::vertical()
                .max_height(320.0)
                .auto_shrink([false, true])
                .show(ui, |ui| {
                    if v.browser.entries.is_empty() {
                        ui.label("(no folders or .ron files here)");
                    }
                    for (name, is_dir) in &v.browser.entries {
                        let label = if *is_dir {
                            format!("📁 {name}")
                        } else {
                            format!("📄 {name}")
                        };
                        if ui.selectable_label(false, label).clicked() {
                            let p = dir.join(name);
                            if *is_dir {
                                go_to = Some(p);
                            } else {
                                load = Some(p.display().to_string());
                            }
                        }
                    }
                });
            ui.separator();
            ui.label(
                egui::RichText::new("Tip: drop a .ron file on the window to open it. An open file reloads by itself when you save it.")
                    .small()
                    .weak(),
            );
        });
    if let Some(d) = go_to {
        v.browser.dir = Some(d);
    }
    if let Some(l) = load {
        v.out.push(Control::Load(l));
        open = false;
    }
    v.browser.open = open;
}
