//! `ControlsPlugin`: the keyboard and the mouse on the scene. Space plays
//! and pauses, the arrows step (left/right) and change speed (up/down),
//! Home and End jump, PageDown and PageUp step from caption to caption
//! (what presentation clickers send), L toggles lecture mode, T the
//! textbook view, `[` `]` and C fold the event list, the inspectors and
//! the caption, P (or F5) presentation mode (Esc leaves it), + and -
//! the text size (0 resets). A click on a packet opens
//! it in the packet inspector; a click on a host opens its inspector.
//! Keys typed into a text field and clicks on panels belong to egui.

use super::packets::PacketSprite;
use super::panels::Tab;
use super::sim::{Control, Selection, Sim};
use super::theme::Theme;
use super::topology::HostMarker;
use super::ui::UiState;
use bevy::prelude::*;
use bevy::window::PrimaryWindow;
use bevy_egui::input::EguiWantsInput;

pub struct ControlsPlugin;

impl Plugin for ControlsPlugin {
    fn build(&self, app: &mut App) {
        app.add_systems(Update, (keyboard, click).before(super::sim::SimSet));
    }
}

fn keyboard(
    keys: Res<ButtonInput<KeyCode>>,
    egui_input: Option<Res<EguiWantsInput>>,
    mut controls: MessageWriter<Control>,
    mut theme: ResMut<Theme>,
    mut ui: ResMut<UiState>,
    sim: NonSend<Sim>,
) {
    if egui_input.is_some_and(|e| e.wants_keyboard_input()) {
        return;
    }
    let pairs = [
        (KeyCode::PageDown, Control::NextCaption),
        (KeyCode::PageUp, Control::PreviousCaption),
        (KeyCode::Space, Control::TogglePlay),
        (KeyCode::ArrowRight, Control::StepForward),
        (KeyCode::ArrowLeft, Control::StepBack),
        (KeyCode::ArrowUp, Control::Faster),
        (KeyCode::ArrowDown, Control::Slower),
        (KeyCode::Home, Control::ToStart),
        (KeyCode::End, Control::ToEnd),
    ];
    for (k, c) in pairs {
        if keys.just_pressed(k) {
            controls.write(c);
        }
    }
    if keys.just_pressed(KeyCode::KeyL) {
        theme.lecture = !theme.lecture;
    }
    if keys.just_pressed(KeyCode::KeyT) {
        let on = ui.textbook_on(&sim.player.timeline);
        ui.textbook = Some(!on);
    }
    if keys.just_pressed(KeyCode::BracketLeft) {
        ui.hide_events = !ui.hide_events;
    }
    if keys.just_pressed(KeyCode::BracketRight) {
        ui.hide_inspectors = !ui.hide_inspectors;
    }
    if keys.just_pressed(KeyCode::KeyC) {
        ui.hide_caption = !ui.hide_caption;
    }
    if keys.just_pressed(KeyCode::KeyP) || keys.just_pressed(KeyCode::F5) {
        ui.presentation = !ui.presentation;
    }
    if keys.just_pressed(KeyCode::Escape) {
        ui.presentation = false;
    }
    if keys.any_just_pressed([KeyCode::Equal, KeyCode::NumpadAdd]) {
        theme.step_font(1);
    }
    if keys.any_just_pressed([KeyCode::Minus, KeyCode::NumpadSubtract]) {
        theme.step_font(-1);
    }
    if keys.just_pressed(KeyCode::Digit0) {
        theme.font_step = 0;
    }
}

/// How close (in pixels) a click must be to pick something.
const PICK_PACKET: f32 = 14.0;
const PICK_HOST: f32 = 36.0;

fn click(
    buttons: Res<ButtonInput<MouseButton>>,
    egui_input: Option<Res<EguiWantsInput>>,
    window: Query<&Window, With<PrimaryWindow>>,
    camera: Query<(&Camera, &GlobalTransform)>,
    packets: Query<(&PacketSprite, &GlobalTransform)>,
    hosts: Query<(&HostMarker, &GlobalTransform)>,
    sim: NonSend<Sim>,
    mut selection: ResMut<Selection>,
    mut ui: ResMut<UiState>,
) {
    if !buttons.just_pressed(MouseButton::Left) {
        return;
    }
    if egui_input.is_some_and(|e| e.wants_pointer_input() || e.is_pointer_over_area()) {
        return;
    }
    let Ok(w) = window.single() else { return };
    let Some(cursor) = w.cursor_position() else {
        return;
    };
    let Some((cam, cam_tf)) = camera.iter().next() else {
        return;
    };
    let Ok(at) = cam.viewport_to_world_2d(cam_tf, cursor) else {
        return;
    };
    let nearest_packet = packets
        .iter()
        .map(|(p, tf)| (p.flight, tf.translation().truncate().distance(at)))
        .filter(|&(_, d)| d < PICK_PACKET)
        .min_by(|a, b| a.1.total_cmp(&b.1));
    if let Some((flight, _)) = nearest_packet {
        selection.flight = Some(flight);
        selection.conn = sim.player.timeline.flights.get(flight).map(|f| f.conn);
        ui.tab = Tab::Packet;
        return;
    }
    let nearest_host = hosts
        .iter()
        .map(|(h, tf)| (h.node, tf.translation().truncate().distance(at)))
        .filter(|&(_, d)| d < PICK_HOST)
        .min_by(|a, b| a.1.total_cmp(&b.1));
    match nearest_host {
        Some((node, _)) => {
            selection.host = Some(node);
            ui.tab = Tab::Hosts;
        }
        None => {
            selection.flight = None;
            selection.host = None;
        }
    }
}
