//! `UiPlugin`: the egui panels around the scene. The toolbar and caption
//! on top, the event list on the left, the inspectors on the right
//! (ladder, transcripts, packet, state machines, hosts), a legend over the
//! scene, and scenario errors in a window. The panels only read the model
//! and send [`Control`] messages; the free rectangle they leave becomes
//! the scene's [`SceneLayout`].

use super::files::FileBrowser;
use super::layout::SceneLayout;
use super::packets::OnScreen;
use super::panels::{self, Tab};
use super::sim::{Control, Playback, Selection, Sim, ViewFilter};
use super::theme::Theme;
use bevy::prelude::*;
use bevy_egui::{EguiContexts, EguiPrimaryContextPass};

/// What the panels remember between frames.
#[derive(Resource, Debug, Default)]
pub struct UiState {
    pub tab: Tab,
    /// The event list is folded away (`[` or its toolbar button).
    pub hide_events: bool,
    /// The inspectors are folded away (`]`).
    pub hide_inspectors: bool,
    /// The caption is folded away (C).
    pub hide_caption: bool,
    /// Presentation mode (P; Esc leaves): the view and the caption only.
    pub presentation: bool,
    /// Heights of the status lines over the scene's top and the legend
    /// over its bottom, last frame: the network is drawn between them.
    pub overlays: (bevy_egui::egui::Vec2, bevy_egui::egui::Vec2),
    /// The area the panels leave, in points (the scene shows there).
    pub central: Option<bevy_egui::egui::Rect>,
    /// The "go to time" field.
    pub goto: String,
    /// What was typed there last if it was not a time.
    pub goto_error: Option<String>,
    /// The error text the user dismissed.
    pub dismissed_error: Option<String>,
    /// The cursor the event list last scrolled to.
    pub followed_cursor: Option<(u64, usize)>,
    /// The cursor the ladder last scrolled to (and the height it had).
    pub ladder_followed: Option<(u64, usize, i32)>,
    /// The comparison with a what-if fork: each ladder's fitted column
    /// headers and the cursor it last scrolled to.
    pub compare: ([panels::ladder::Headers; 2], [Option<(u64, usize, i32)>; 2]),
    /// Cached list rows for the current filter.
    pub rows: panels::events::Rows,
    /// Cached ladder for the current run.
    pub ladder: panels::ladder::LadderCache,
    /// The State machines tab's diagrams and path.
    pub machines: panels::machines::MachineCache,
    /// The TCP plot tab's plot.
    pub plot: panels::plot::PlotCache,
    /// Transcripts: show lines after the cursor too.
    pub transcript_all: bool,
    /// The connection whose state machine is shown (a TCP conn id or a
    /// session's conn).
    pub machine: Option<(bool, u32)>,
    /// The textbook view (true) or the network view (false), as the user
    /// chose; `None` picks by scenario ([`super::textbook::suits`]).
    pub textbook: Option<bool>,
    /// Where to write the textbook figure's JSON each frame it changes.
    pub figure_json: Option<std::path::PathBuf>,
    /// The JSON last written there.
    pub figure_written: String,
    /// The textbook figure, for the run (its generation) and the area it
    /// was laid out in.
    pub figure: Option<(u64, bevy_egui::egui::Rect, super::textbook::Figure)>,
}

impl UiState {
    /// True if the textbook view is shown for this run.
    pub fn textbook_on(&self, t: &super::model::Timeline) -> bool {
        self.textbook.unwrap_or_else(|| super::textbook::suits(t))
    }
}

/// The panels' system set (the theme is applied before it).
#[derive(SystemSet, Debug, Clone, PartialEq, Eq, Hash)]
pub struct UiSet;

pub struct UiPlugin;

impl Plugin for UiPlugin {
    fn build(&self, app: &mut App) {
        app.init_resource::<UiState>()
            .add_systems(EguiPrimaryContextPass, draw.in_set(UiSet));
    }
}

/// Everything the panels read or change, bundled for the draw functions.
pub struct View<'a> {
    pub sim: &'a Sim,
    pub playback: &'a Playback,
    pub filter: &'a mut ViewFilter,
    pub selection: &'a mut Selection,
    pub theme: &'a mut Theme,
    pub state: &'a mut UiState,
    pub browser: &'a mut FileBrowser,
    pub on_screen: &'a OnScreen,
    pub out: Vec<Control>,
}

fn draw(
    mut contexts: EguiContexts,
    sim: NonSend<Sim>,
    playback: Res<Playback>,
    mut filter: ResMut<ViewFilter>,
    mut selection: ResMut<Selection>,
    mut theme: ResMut<Theme>,
    mut state: ResMut<UiState>,
    mut browser: ResMut<FileBrowser>,
    mut layout: ResMut<SceneLayout>,
    on_screen: Res<OnScreen>,
    mut controls: MessageWriter<Control>,
) -> Result {
    let ctx = contexts.ctx_mut()?.clone();
    let mut theme_now = *theme;
    let mut view = View {
        sim: &sim,
        playback: &playback,
        filter: &mut filter,
        selection: &mut selection,
        theme: &mut theme_now,
        state: &mut state,
        browser: &mut browser,
        on_screen: &on_screen,
        out: Vec::new(),
    };
    let central = panels::draw_all(&ctx, &mut view);
    let out = std::mem::take(&mut view.out);
    // egui works in points; with a zoom factor (lecture mode) a point is
    // larger than a window pixel.
    let zoom = ctx.zoom_factor();
    let size = Vec2::new(central.width(), central.height()) * zoom;
    let center = Vec2::new(central.center().x, central.center().y) * zoom;
    let want = SceneLayout {
        size,
        center,
        scale: SceneLayout::scale_for(size, layout.zoom),
        zoom: layout.zoom,
    };
    if *layout != want && size.x > 10.0 && size.y > 10.0 {
        *layout = want;
    }
    if theme_now != *theme {
        *theme = theme_now;
    }
    for c in out {
        controls.write(c);
    }
    Ok(())
}
