//! `PrefsPlugin`: the window remembers its layout between sessions:
//! which panels are folded, lecture mode, the text size and the open
//! tab, in `gui.json` under `$WIRETALE_CONFIG_DIR`, else
//! `$XDG_CONFIG_HOME/wiretale`, else `~/.config/wiretale`. Pictures made
//! with `--screenshot` neither read nor write it, so they come out the
//! same on every machine; a command-line option wins over what was saved.

use super::panels::Tab;
use super::theme::{FONT_STEPS, Theme};
use super::ui::UiState;
use bevy::prelude::*;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// What is saved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct Prefs {
    pub hide_events: bool,
    pub hide_inspectors: bool,
    pub hide_caption: bool,
    pub lecture: bool,
    pub font_step: i8,
    pub tab: String,
}

impl Prefs {
    fn of(ui: &UiState, theme: &Theme) -> Prefs {
        Prefs {
            hide_events: ui.hide_events,
            hide_inspectors: ui.hide_inspectors,
            hide_caption: ui.hide_caption,
            lecture: theme.lecture,
            font_step: theme.font_step,
            tab: ui.tab.name().to_owned(),
        }
    }
}

/// Where the preferences live.
pub fn path() -> Option<PathBuf> {
    let var = |k: &str| {
        std::env::var_os(k)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    let dir = var("WIRETALE_CONFIG_DIR")
        .or_else(|| var("XDG_CONFIG_HOME").map(|d| d.join("wiretale")))
        .or_else(|| var("HOME").map(|h| h.join(".config").join("wiretale")))?;
    Some(dir.join("gui.json"))
}

/// Reads the saved preferences; a missing or unreadable file gives the
/// defaults (a broken file is reported and then replaced).
pub fn load() -> Prefs {
    let Some(p) = path() else {
        return Prefs::default();
    };
    match std::fs::read_to_string(&p) {
        Ok(text) => serde_json::from_str(&text).unwrap_or_else(|e| {
            eprintln!(
                "wiretale: ignoring {} ({e}); it is rewritten when the layout changes",
                p.display()
            );
            Prefs::default()
        }),
        Err(_) => Prefs::default(),
    }
}

/// The layout the window opens with, and what the command line fixed.
#[derive(Resource, Debug, Clone)]
pub struct PrefsPlugin {
    /// The saved layout, applied at start.
    pub start: Prefs,
    /// `--lecture` was given.
    pub lecture_given: bool,
    /// `--tab` was given.
    pub tab_given: bool,
    /// `--hide-panels` or `--present` was given.
    pub panels_given: bool,
}

impl Plugin for PrefsPlugin {
    fn build(&self, app: &mut App) {
        app.insert_resource(self.clone())
            .add_systems(Startup, apply)
            .add_systems(Last, save);
    }
}

fn apply(start: Res<PrefsPlugin>, mut ui: ResMut<UiState>, mut theme: ResMut<Theme>) {
    let p = &start.start;
    if !start.panels_given {
        ui.hide_events = p.hide_events;
        ui.hide_inspectors = p.hide_inspectors;
        ui.hide_caption = p.hide_caption;
    }
    if !start.lecture_given {
        theme.lecture = p.lecture;
    }
    if FONT_STEPS.contains(&p.font_step) {
        theme.font_step = p.font_step;
    }
    if !start.tab_given
        && let Some(t) = Tab::from_name(&p.tab)
    {
        ui.tab = t;
    }
}

/// Writes the preferences when they change.
fn save(
    ui: Res<UiState>,
    theme: Res<Theme>,
    mut saved: Local<Option<Prefs>>,
    mut failed: Local<bool>,
) {
    let now = Prefs::of(&ui, &theme);
    let Some(last) = saved.as_ref() else {
        // The first frame: what was applied at start.
        *saved = Some(now);
        return;
    };
    if *last == now || *failed {
        return;
    }
    let Some(p) = path() else { return };
    let written = p
        .parent()
        .map_or(Ok(()), std::fs::create_dir_all)
        .and_then(|()| {
            std::fs::write(
                &p,
                serde_json::to_string_pretty(&now).unwrap_or_default() + "\n",
            )
        });
    if let Err(e) = written {
        eprintln!("wiretale: cannot save the layout to {}: {e}", p.display());
        *failed = true;
    }
    *saved = Some(now);
}
