//! `ThemePlugin`: the clean light theme and the high-contrast lecture
//! theme (large fonts, black on white, thicker lines), for the egui panels
//! and the scene alike. [`Palette`] is the one place scene colours are
//! chosen.

use super::layout::SceneLayout;
use super::model::Proto;
use bevy::prelude::*;
use bevy_egui::{EguiContexts, EguiPrimaryContextPass, egui};

/// Lecture mode on or off, and the text size.
#[derive(Resource, Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Theme {
    pub lecture: bool,
    /// Text and shapes larger (positive) or smaller (negative) in steps of
    /// 10% (the A+ and A- buttons, + and -).
    pub font_step: i8,
}

/// The smallest and largest text-size steps.
pub const FONT_STEPS: std::ops::RangeInclusive<i8> = -3..=8;

/// Scene colours for a theme.
#[derive(Debug, Clone, Copy)]
pub struct Palette {
    pub background: Color,
    pub link: Color,
    pub link_down: Color,
    pub text: Color,
    pub text_weak: Color,
    pub icon_body: Color,
    pub icon_screen: Color,
    pub icon_line: Color,
    pub router: Color,
    pub drop: Color,
    pub highlight: Color,
}

impl Theme {
    /// The scene's colours.
    pub fn palette(self) -> Palette {
        if self.lecture {
            Palette {
                background: Color::WHITE,
                link: Color::srgb(0.15, 0.15, 0.15),
                link_down: Color::srgb(0.85, 0.0, 0.0),
                text: Color::BLACK,
                text_weak: Color::srgb(0.15, 0.15, 0.15),
                icon_body: Color::srgb(0.10, 0.12, 0.16),
                icon_screen: Color::srgb(0.55, 0.80, 1.0),
                icon_line: Color::WHITE,
                router: Color::srgb(0.0, 0.30, 0.60),
                drop: Color::srgb(0.90, 0.0, 0.0),
                highlight: Color::BLACK,
            }
        } else {
            Palette {
                background: Color::srgb(0.965, 0.972, 0.984),
                link: Color::srgb(0.62, 0.66, 0.72),
                link_down: Color::srgb(0.86, 0.20, 0.18),
                text: Color::srgb(0.12, 0.14, 0.18),
                text_weak: Color::srgb(0.40, 0.44, 0.50),
                icon_body: Color::srgb(0.24, 0.29, 0.37),
                icon_screen: Color::srgb(0.72, 0.86, 0.98),
                icon_line: Color::srgb(0.88, 0.91, 0.95),
                router: Color::srgb(0.16, 0.42, 0.62),
                drop: Color::srgb(0.86, 0.10, 0.10),
                highlight: Color::srgb(0.98, 0.75, 0.10),
            }
        }
    }

    /// The text-size factor alone.
    pub fn font_scale(self) -> f32 {
        1.0 + 0.1 * f32::from(self.font_step)
    }

    /// Size factor of the scene's shapes and labels.
    pub fn scale(self) -> f32 {
        (if self.lecture { 1.3 } else { 1.0 }) * self.font_scale()
    }

    /// egui's zoom factor: how large a point of the panels is.
    pub fn zoom(self) -> f32 {
        (if self.lecture { 1.35 } else { 1.0 }) * self.font_scale()
    }

    /// One step larger (`+1`) or smaller (`-1`), within [`FONT_STEPS`].
    pub fn step_font(&mut self, by: i8) {
        self.font_step = (self.font_step + by).clamp(*FONT_STEPS.start(), *FONT_STEPS.end());
    }
}

/// A protocol's colour as Bevy's.
pub fn proto_color(p: Proto) -> Color {
    let [r, g, b] = p.rgb();
    Color::srgb_u8(r, g, b)
}

/// A protocol's colour as egui's.
pub fn proto_color32(p: Proto) -> egui::Color32 {
    let [r, g, b] = p.rgb();
    egui::Color32::from_rgb(r, g, b)
}

/// A distinct colour per connection (golden-angle hues), for the ring
/// around each packet and the ladder's arrows.
pub fn conn_color(index: usize) -> Color {
    let hue = (index as f32 * 137.508) % 360.0;
    Color::hsl(hue, 0.65, 0.45)
}

/// The same as egui's.
pub fn conn_color32(index: usize) -> egui::Color32 {
    let c = conn_color(index).to_srgba();
    egui::Color32::from_rgb(
        (c.red * 255.0) as u8,
        (c.green * 255.0) as u8,
        (c.blue * 255.0) as u8,
    )
}

/// The theme for the scene and, when egui is there, for the panels (the
/// benchmark runs the scene's half alone, with no window).
pub struct ThemePlugin;

impl Plugin for ThemePlugin {
    fn build(&self, app: &mut App) {
        app.init_resource::<Theme>()
            .add_systems(Update, scene_theme);
        if app.is_plugin_added::<bevy_egui::EguiPlugin>() {
            app.add_systems(EguiPrimaryContextPass, apply_theme.before(super::ui::UiSet));
        }
    }
}

/// Sets the egui style whenever the theme changes (and on the first frame).
fn apply_theme(
    mut contexts: EguiContexts,
    theme: Res<Theme>,
    mut applied: Local<Option<Theme>>,
) -> Result {
    if *applied == Some(*theme) {
        return Ok(());
    }
    let ctx = contexts.ctx_mut()?;
    *applied = Some(*theme);
    let mut visuals = egui::Visuals::light();
    visuals.panel_fill = egui::Color32::from_rgb(250, 251, 253);
    visuals.window_fill = egui::Color32::from_rgb(255, 255, 255);
    visuals.faint_bg_color = egui::Color32::from_rgb(240, 243, 248);
    visuals.extreme_bg_color = egui::Color32::from_rgb(255, 255, 255);
    visuals.selection.bg_fill = egui::Color32::from_rgb(255, 226, 140);
    visuals.selection.stroke = egui::Stroke::new(1.0, egui::Color32::from_rgb(60, 45, 0));
    if theme.lecture {
        visuals.override_text_color = Some(egui::Color32::BLACK);
        visuals.panel_fill = egui::Color32::WHITE;
        visuals.widgets.noninteractive.bg_stroke = egui::Stroke::new(1.5, egui::Color32::BLACK);
        visuals.widgets.inactive.bg_stroke = egui::Stroke::new(1.5, egui::Color32::BLACK);
        visuals.widgets.inactive.fg_stroke = egui::Stroke::new(2.0, egui::Color32::BLACK);
        visuals.widgets.hovered.fg_stroke = egui::Stroke::new(2.0, egui::Color32::BLACK);
    }
    ctx.set_visuals(visuals);
    ctx.set_zoom_factor(theme.zoom());
    Ok(())
}

/// Scene background and scale follow the theme.
fn scene_theme(theme: Res<Theme>, mut clear: ResMut<ClearColor>, mut layout: ResMut<SceneLayout>) {
    if !theme.is_changed() {
        return;
    }
    clear.0 = theme.palette().background;
    let zoom = theme.scale();
    if layout.zoom != zoom {
        layout.zoom = zoom;
        layout.scale = SceneLayout::scale_for(layout.size, zoom);
    }
}
