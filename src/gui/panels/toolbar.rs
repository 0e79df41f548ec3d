//! The toolbar (files, time controls, speed, the time line, lecture mode)
//! and the caption line under it.

use super::fmt_time;
use crate::gui::sim::{Control, SPEEDS};
use crate::gui::ui::View;
use crate::gui::visuals::short_duration;
use crate::scenario::units;
use crate::sim::{SimDuration, SimTime};
use bevy_egui::egui;

/// "10 ms/s": simulated time per second of wall time.
pub fn speed_label(speed: f64) -> String {
    format!(
        "{}/s",
        short_duration(SimDuration::from_nanos((speed * 1e9).round() as u64))
    )
}

pub fn toolbar(ui: &mut egui::Ui, v: &mut View) {
    let p = &v.sim.player;
    // Wraps onto a second row on a narrow window rather than overlap.
    ui.horizontal_wrapped(|ui| {
        ui.label(egui::RichText::new("wiretale").strong().size(18.0));
        ui.separator();
        if ui
            .button("📂 Open…")
            .on_hover_text("Open a scenario file (or drop one on the window)")
            .clicked()
        {
            v.browser.open = true;
        }
        if ui
            .button("⟳ Reload")
            .on_hover_text("Load the scenario file again")
            .clicked()
        {
            v.out.push(Control::Reload);
        }
        ui.separator();
        let big = |s: &str| egui::RichText::new(s).size(16.0);
        if ui
            .button(big("⏮"))
            .on_hover_text("Back to the start (Home)")
            .clicked()
        {
            v.out.push(Control::ToStart);
        }
        if ui
            .button(big("⏪"))
            .on_hover_text("Step back to the previous event (left arrow)")
            .clicked()
        {
            v.out.push(Control::StepBack);
        }
        let play = if v.playback.playing {
            "⏸ Pause"
        } else {
            "▶ Play"
        };
        if ui
            .add(egui::Button::new(big(play)).min_size(egui::vec2(86.0, 0.0)))
            .on_hover_text("Play or pause (space)")
            .clicked()
        {
            v.out.push(Control::TogglePlay);
        }
        if ui
            .button(big("⏩"))
            .on_hover_text("Step to the next event (right arrow)")
            .clicked()
        {
            v.out.push(Control::StepForward);
        }
        if ui
            .button(big("⏭"))
            .on_hover_text("To the end (End)")
            .clicked()
        {
            v.out.push(Control::ToEnd);
        }
        ui.separator();
        ui.label("Speed");
        let mut speed = v.playback.speed;
        egui::ComboBox::from_id_salt("speed")
            .selected_text(speed_label(speed))
            .width(96.0)
            .show_ui(ui, |ui| {
                for s in SPEEDS {
                    ui.selectable_value(&mut speed, s, speed_label(s));
                }
            });
        if speed != v.playback.speed {
            // Step the preset list to the chosen value.
            let faster = speed > v.playback.speed;
            let mut cur = v.playback.speed;
            while (cur - speed).abs() > speed * 1e-6 {
                let next = crate::gui::sim::next_speed(cur, faster);
                if next == cur {
                    break;
                }
                cur = next;
                v.out.push(if faster {
                    Control::Faster
                } else {
                    Control::Slower
                });
            }
        }
        ui.separator();
        let mut lecture = v.theme.lecture;
        if ui
            .toggle_value(&mut lecture, "🎓 Lecture")
            .on_hover_text("Large fonts and high contrast for a projector")
            .changed()
        {
            v.theme.lecture = lecture;
        }
        let mut textbook = v.state.textbook_on(&p.timeline);
        if ui
            .toggle_value(&mut textbook, "📖 Textbook")
            .on_hover_text(
                "The textbook's figure: user agents, mail servers with their queues and \
                 mailboxes, file systems and the connections as pipes (T); off: the network",
            )
            .changed()
        {
            v.state.textbook = Some(textbook);
        }
        super::compare::what_if_menu(ui, v);
        ui.separator();
        let mut events = !v.state.hide_events;
        if ui
            .toggle_value(&mut events, "Events")
            .on_hover_text("Show or fold away the event list ([)")
            .changed()
        {
            v.state.hide_events = !events;
        }
        let mut inspectors = !v.state.hide_inspectors;
        if ui
            .toggle_value(&mut inspectors, "Inspectors")
            .on_hover_text("Show or fold away the ladder, transcripts and inspectors (])")
            .changed()
        {
            v.state.hide_inspectors = !inspectors;
        }
        let mut caption = !v.state.hide_caption;
        if ui
            .toggle_value(&mut caption, "Caption")
            .on_hover_text("Show or fold away the caption (C)")
            .changed()
        {
            v.state.hide_caption = !caption;
        }
        if ui
            .button("▶ Present")
            .on_hover_text(
                "The view and the caption only, for a projector (P); PageDown and PageUp step \
                 from caption to caption, Esc leaves",
            )
            .clicked()
        {
            v.state.presentation = true;
        }
        ui.separator();
        if ui.button("A-").on_hover_text("Smaller text (-)").clicked() {
            v.theme.step_font(-1);
        }
        ui.label(format!("{:.0}%", v.theme.font_scale() * 100.0));
        if ui.button("A+").on_hover_text("Larger text (+)").clicked() {
            v.theme.step_font(1);
        }
    });
    ui.horizontal(|ui| {
        let end = p.timeline.end.max(SimTime::from_micros(1));
        ui.label(
            egui::RichText::new(format!("t = {}", fmt_time(p.time)))
                .monospace()
                .size(16.0)
                .strong(),
        );
        ui.label(
            egui::RichText::new(format!("of {}", fmt_time(end)))
                .monospace()
                .color(egui::Color32::from_gray(110)),
        );
        // The slider runs on the time line's axis, where long idle
        // stretches (timers, TIME-WAIT) are shortened.
        let mut x = p.timeline.to_axis(p.time);
        let len = p.timeline.axis_len().max(1.0);
        let avail = ui.available_width() - 260.0;
        ui.spacing_mut().slider_width = avail.max(120.0);
        let r = ui
            .add(egui::Slider::new(&mut x, 0.0..=len).show_value(false))
            .on_hover_text("Drag to move in time (idle stretches are shortened)");
        if r.changed() {
            v.out.push(Control::Seek(p.timeline.from_axis(x)));
        }
        ui.label("Go to");
        let field = ui.add(
            egui::TextEdit::singleline(&mut v.state.goto)
                .desired_width(80.0)
                .hint_text("52ms"),
        );
        if field.changed() {
            v.state.goto_error = None;
        }
        if field.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter)) {
            // What was typed stays in the field, so it can be corrected.
            match units::parse_duration(v.state.goto.trim()) {
                Ok(d) => {
                    v.state.goto_error = None;
                    v.out.push(Control::Seek(SimTime::ZERO + d));
                }
                Err(_) => v.state.goto_error = Some(v.state.goto.trim().to_owned()),
            }
        }
        if let Some(bad) = &v.state.goto_error {
            ui.colored_label(
                egui::Color32::from_rgb(180, 30, 30),
                format!("\u{201c}{bad}\u{201d} is not a time: write 52ms or 1.5s"),
            );
        }
        ui.label(
            egui::RichText::new(format!("event {} of {}", p.cursor, p.len()))
                .color(egui::Color32::from_gray(110)),
        );
    });
}

/// The caption: the scenario's narration, and a sentence for the current
/// event.
pub fn caption(ui: &mut egui::Ui, v: &mut View) {
    let p = &v.sim.player;
    let t = &p.timeline;
    let big = if v.theme.lecture { 24.0 } else { 19.0 };
    let small = if v.theme.lecture { 18.0 } else { 14.5 };
    let narration = t.narration_before(p.cursor);
    let current = p
        .current()
        .map(|i| (i, t.captioner().caption(&t.trace.records[i])));
    ui.set_min_height(if v.theme.lecture { 76.0 } else { 58.0 });
    match (narration, &current) {
        (Some(n), _) => {
            ui.label(egui::RichText::new(n).size(big).strong());
        }
        (None, Some((_, c))) => {
            ui.label(egui::RichText::new(c.as_str()).size(big).strong());
        }
        (None, None) => {
            let text = if t.scenario.description.is_empty() {
                t.scenario.title.clone()
            } else {
                t.scenario.description.clone()
            };
            ui.label(egui::RichText::new(text).size(small + 1.0));
            ui.label(
                egui::RichText::new(
                    "Press ▶ Play (space) or step with the right arrow key to begin.",
                )
                .size(small)
                .color(egui::Color32::from_gray(100)),
            );
            return;
        }
    }
    if let Some((i, c)) = current {
        let when = fmt_time(t.trace.records[i].time);
        let is_narration = matches!(
            t.trace.records[i].event,
            crate::trace::Event::Narration { .. }
        );
        let line = if narration.is_some() && !is_narration {
            format!("Step {} at {when}: {c}", i + 1)
        } else {
            format!("Step {} at {when}", i + 1)
        };
        ui.label(
            egui::RichText::new(line)
                .size(small)
                .color(egui::Color32::from_gray(if v.theme.lecture {
                    20
                } else {
                    85
                })),
        );
    }
}
