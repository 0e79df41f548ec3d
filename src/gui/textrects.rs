//! `TextRectsPlugin` (`--layout-json FILE`): where every piece of text on
//! screen went, as the layout placed it: egui's text shapes (panels,
//! the ladder, the textbook figure) clipped to what shows, and the scene's
//! labels (host names, addresses, link labels) through the camera, with
//! the window's size and the area the panels leave. Tests check that no
//! two of them overlap at a projector's sizes.

use bevy::prelude::*;
use bevy::sprite::Anchor;
use bevy::text::TextLayoutInfo;
use bevy_egui::{EguiFullOutput, EguiPostUpdateSet, egui};
use std::path::PathBuf;

pub struct TextRectsPlugin {
    pub path: PathBuf,
}

#[derive(Resource)]
struct Target(PathBuf);

/// One text's rectangle, in window pixels.
#[derive(Debug, Clone, serde::Serialize)]
pub struct TextRect {
    pub text: String,
    /// "panel" (egui) or "scene" (a label of the network drawing).
    pub source: &'static str,
    pub rect: [f32; 4],
}

#[derive(Resource, Default)]
struct Egui(Vec<TextRect>);

impl Plugin for TextRectsPlugin {
    fn build(&self, app: &mut App) {
        app.insert_resource(Target(self.path.clone()))
            .init_resource::<Egui>()
            .add_systems(
                PostUpdate,
                collect_egui
                    .after(EguiPostUpdateSet::EndPass)
                    .before(EguiPostUpdateSet::ProcessOutput),
            )
            .add_systems(Last, write);
    }
}

fn text_of(shape: &egui::Shape, clip: egui::Rect, zoom: f32, out: &mut Vec<TextRect>) {
    match shape {
        egui::Shape::Vec(v) => {
            for s in v {
                text_of(s, clip, zoom, out);
            }
        }
        egui::Shape::Text(t) => {
            let text = t.galley.text().trim();
            if text.is_empty() {
                return;
            }
            // The ink of the text: each row's glyphs, not the galley's
            // whole width (a wrapped label's box is wider than its lines).
            for row in &t.galley.rows {
                let r = row.rect_without_leading_space().translate(t.pos.to_vec2());
                let shown = r.intersect(clip);
                if shown.width() < 1.0 || shown.height() < 1.0 {
                    continue;
                }
                let s: String = row.glyphs.iter().map(|g| g.chr).collect();
                if s.trim().is_empty() {
                    continue;
                }
                out.push(TextRect {
                    text: s.trim().to_owned(),
                    source: "panel",
                    rect: [
                        shown.min.x * zoom,
                        shown.min.y * zoom,
                        shown.max.x * zoom,
                        shown.max.y * zoom,
                    ],
                });
            }
        }
        _ => {}
    }
}

fn collect_egui(outputs: Query<&EguiFullOutput>, mut found: ResMut<Egui>) {
    for out in &outputs {
        let Some(full) = &out.0 else { continue };
        let zoom = full.pixels_per_point;
        let mut rects = Vec::new();
        for c in &full.shapes {
            text_of(&c.shape, c.clip_rect, zoom, &mut rects);
        }
        if !rects.is_empty() {
            found.0 = rects;
        }
    }
}

fn write(
    target: Res<Target>,
    found: Res<Egui>,
    labels: Query<(
        &Text2d,
        &TextLayoutInfo,
        &GlobalTransform,
        &ViewVisibility,
        Option<&Anchor>,
    )>,
    camera: Query<(&Camera, &GlobalTransform), With<Camera2d>>,
    theme: Res<super::theme::Theme>,
    window: Query<&Window, With<bevy::window::PrimaryWindow>>,
    ui: Res<super::ui::UiState>,
    sim: NonSend<super::sim::Sim>,
    mut last: Local<String>,
) {
    let mut all = found.0.clone();
    // The textbook figure covers the network drawing entirely.
    let scene_shown = !ui.textbook_on(&sim.player.timeline);
    // The scene shows only in the area the panels leave (they are opaque
    // over the rest); the legend and status lines over it count.
    let zoom = theme.zoom();
    let area = ui.central.map_or(Rect::new(0.0, 0.0, 1e6, 1e6), |c| {
        Rect::new(
            c.min.x * zoom,
            c.min.y * zoom,
            c.max.x * zoom,
            c.max.y * zoom,
        )
    });
    if scene_shown && let Ok((cam, cam_t)) = camera.single() {
        for (text, info, t, visible, anchor) in &labels {
            if !visible.get() || text.0.trim().is_empty() {
                continue;
            }
            let size = info.size * t.scale().truncate();
            let Ok(c) = cam.world_to_viewport(cam_t, t.translation()) else {
                continue;
            };
            // The anchor is where the translation sits on the text (y up
            // in the scene, down in the window).
            let a = anchor.copied().unwrap_or_default().as_vec();
            let (cx, cy) = (c.x - a.x * size.x, c.y + a.y * size.y);
            let r = Rect::from_center_size(Vec2::new(cx, cy), size).intersect(area);
            if r.width() < 1.0 || r.height() < 1.0 {
                continue;
            }
            all.push(TextRect {
                text: text.0.clone(),
                source: "scene",
                rect: [r.min.x, r.min.y, r.max.x, r.max.y],
            });
        }
    }
    let json = serde_json::json!({
        "window": window.single().map(|w| [w.width(), w.height()]).unwrap_or([0.0, 0.0]),
        "central": [area.min.x, area.min.y, area.max.x, area.max.y],
        "texts": all,
    })
    .to_string();
    if *last != json {
        if let Err(e) = std::fs::write(&target.0, &json) {
            eprintln!("wiretale: cannot write {}: {e}", target.0.display());
        }
        *last = json;
    }
}
