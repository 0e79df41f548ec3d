//! Exercises in the visualizer: predict mode and what-if forks.
//!
//! - **Predict mode** ([`Predict`], `wiretale gui --predict`): the run
//!   holds before each question's event (the scenario's `quiz:` entries,
//!   and with `--generated` questions made from the run, as
//!   [`crate::exercise::quiz`] makes them for `wiretale quiz`). A window
//!   asks; the answer is scored, a wrong one shows the right answer and
//!   the event that proves it, and the results file is written after
//!   every answer, so closing the window loses nothing.
//! - **What if** ([`Fork`]): at any event the student picks a change (the
//!   toolbar's "What if" menu, or `--what-if` on the command line); the
//!   changed scenario runs to its end and the two runs are compared
//!   (`panels::compare` draws both ladders side by side, the first
//!   difference marked).
//!
//! Neither changes what the engine does: a question only holds the
//! view ([`crate::gui::model::Player::set_hold`]), and a fork is another
//! run of the scenario with the change made, as `wiretale diff` runs it.

use super::model::{LoadError, Timeline};
use super::panels::ladder::LadderCache;
use super::sim::{Control, Sim};
use super::ui::UiSet;
use crate::exercise::diff::{self, Comparison, Side};
use crate::exercise::quiz::{self, Question, Session};
use crate::exercise::{self, WhatIf};
use crate::trace::ladder::LadderFilter;
use bevy::prelude::*;
use bevy_egui::{EguiContexts, EguiPrimaryContextPass, egui};
use std::path::PathBuf;
use std::time::Instant;

/// How predict mode asks.
#[derive(Debug, Clone, Default)]
pub struct PredictOptions {
    /// Also ask questions generated from the run.
    pub generated: bool,
    /// At most this many generated questions, spread over the run.
    pub max: usize,
    /// The student's name, for the results.
    pub student: String,
    /// Where the results go (`.json` or `.csv`), after every answer.
    pub results: Option<PathBuf>,
}

/// The last answer, shown until the student goes on.
#[derive(Debug, Clone)]
pub struct Feedback {
    pub question: Question,
    pub given: Option<String>,
    pub right: bool,
}

/// Predict mode: the questions of the run on screen and the answers so
/// far. Present only when the visualizer was opened with `--predict`.
#[derive(Resource, Debug)]
pub struct Predict {
    pub options: PredictOptions,
    /// The questions of the current run (rebuilt when another run is
    /// loaded).
    pub session: Session,
    /// The run the session belongs to.
    pub generation: Option<u64>,
    /// What was typed for a question without choices.
    pub typed: String,
    /// When the question on screen was first shown.
    pub asked: Option<Instant>,
    pub feedback: Option<Feedback>,
    /// When the session began.
    pub started: Instant,
    /// Why the results could not be written, or where they went.
    pub written: Option<Result<PathBuf, String>>,
    /// Scenario `quiz:` entries that matched no event.
    pub missing: Vec<String>,
    /// The student closed the window after the last question.
    pub closed: bool,
}

impl Predict {
    pub fn new(options: PredictOptions) -> Predict {
        Predict {
            options,
            session: Session::new(Vec::new()),
            generation: None,
            typed: String::new(),
            asked: None,
            feedback: None,
            started: Instant::now(),
            written: None,
            missing: Vec::new(),
            closed: false,
        }
    }

    /// The questions for a run, as `wiretale quiz` asks them.
    pub fn questions(&self, t: &Timeline) -> (Vec<Question>, Vec<String>) {
        let (mut qs, missing) = quiz::from_scenario(&t.scenario, &t.trace);
        if self.options.generated {
            qs.extend(quiz::spread(quiz::generated(&t.trace), self.options.max));
        }
        (qs, missing)
    }

    /// The question on screen: the next one, once the view stands before
    /// its event.
    pub fn asking(&self, cursor: usize) -> Option<&Question> {
        self.session.next().filter(|q| cursor >= q.event)
    }

    /// Scores an answer to the question on screen and writes the results.
    pub fn answer(&mut self, given: Option<String>, scenario: &str) {
        let seconds = self.asked.take().map_or(0.0, |t| t.elapsed().as_secs_f64());
        let Some(question) = self.session.next().cloned() else {
            return;
        };
        let right = self
            .session
            .answer(given.as_deref(), seconds)
            .unwrap_or(false);
        self.feedback = Some(Feedback {
            question,
            given,
            right,
        });
        self.typed.clear();
        self.write(scenario);
    }

    /// Writes the results so far to the results file, if there is one.
    fn write(&mut self, scenario: &str) {
        let Some(path) = self.options.results.clone() else {
            return;
        };
        let results = quiz::Results {
            student: &self.options.student,
            scenario,
            session: &self.session,
            seconds: self.started.elapsed().as_secs_f64(),
        };
        self.written = Some(
            results
                .write(&path)
                .map(|()| path.clone())
                .map_err(|e| format!("cannot write {}: {e}", path.display())),
        );
    }
}

/// Keeps the view before the next question's event (in the
/// [`super::sim::SimSet`] chain, before the controls move the player).
pub fn hold_for_questions(mut sim: NonSendMut<Sim>, predict: Option<ResMut<Predict>>) {
    let Some(mut pr) = predict else {
        return;
    };
    let p = &mut sim.player;
    if pr.generation != Some(p.generation) {
        let (questions, missing) = pr.questions(&p.timeline);
        pr.session = Session::new(questions);
        pr.missing = missing;
        pr.generation = Some(p.generation);
        pr.feedback = None;
        pr.asked = None;
        pr.closed = false;
    }
    let hold = pr.session.next().map(|q| q.event);
    p.set_hold(hold);
    if pr.asking(p.cursor).is_some() {
        pr.asked.get_or_insert_with(Instant::now);
        // A new question replaces the last answer's feedback.
        if pr
            .feedback
            .as_ref()
            .is_some_and(|f| Some(f.question.event) != hold)
            && p.held()
        {
            pr.feedback = None;
        }
    }
}

/// A what-if fork: the same scenario with changes made, run to its end,
/// and its comparison with the original.
pub struct Fork {
    pub changes: Vec<WhatIf>,
    /// "what if packet 23 is lost".
    pub title: String,
    pub timeline: Timeline,
    pub comparison: Comparison,
    /// The ladders of the original and of the fork.
    pub ladders: [LadderCache; 2],
    /// Per ladder, the first arrow that differs (an index into its
    /// arrows).
    pub marks: [Option<usize>; 2],
}

impl Fork {
    /// Runs the fork of `original` with `changes` and compares the two.
    pub fn new(original: &Timeline, changes: Vec<WhatIf>) -> Result<Fork, LoadError> {
        let timeline = original.fork(&changes)?;
        let title = exercise::describe(&changes);
        let comparison = diff::compare(
            &Side {
                name: "the original".into(),
                trace: &original.trace,
            },
            &Side {
                name: title.clone(),
                trace: &timeline.trace,
            },
            &LadderFilter::default(),
        );
        let ladders = [LadderCache::build(original), LadderCache::build(&timeline)];
        let common = comparison.divergence.as_ref().map(|d| d.common);
        let mark = |l: &LadderCache| common.and_then(|c| first_changed(l, c));
        let marks = [mark(&ladders[0]), mark(&ladders[1])];
        Ok(Fork {
            changes,
            title,
            timeline,
            comparison,
            ladders,
            marks,
        })
    }

    /// The number of records both runs share before they part.
    pub fn common(&self) -> Option<usize> {
        self.comparison.divergence.as_ref().map(|d| d.common)
    }
}

/// The first arrow of a ladder whose end (its receipt or its loss), or
/// failing that whose send, comes at or after record `common`: the first
/// arrow that is not the same in both runs.
pub fn first_changed(l: &LadderCache, common: usize) -> Option<usize> {
    l.arrows
        .iter()
        .position(|a| a.end_record >= common)
        .or_else(|| l.arrows.iter().position(|a| a.record >= common))
}

/// The predict window.
pub struct ExercisePlugin;

impl Plugin for ExercisePlugin {
    fn build(&self, app: &mut App) {
        app.add_systems(EguiPrimaryContextPass, predict_window.after(UiSet));
    }
}

fn predict_window(
    mut contexts: EguiContexts,
    sim: NonSend<Sim>,
    predict: Option<ResMut<Predict>>,
    theme: Res<super::theme::Theme>,
    state: Res<super::ui::UiState>,
    mut controls: MessageWriter<Control>,
) -> Result {
    let Some(mut pr) = predict else {
        return Ok(());
    };
    if pr.closed {
        return Ok(());
    }
    let ctx = contexts.ctx_mut()?.clone();
    let p = &sim.player;
    let total = pr.session.questions.len();
    let big = if theme.lecture { 24.0 } else { 18.0 };
    let small = if theme.lecture { 18.0 } else { 14.0 };
    let area = state.central.unwrap_or(ctx.viewport_rect());
    let width = (area.width() * 0.6).clamp(320.0, 720.0);
    let mut out = Vec::new();
    let scenario = p.timeline.file.clone();
    egui::Window::new("Predict the next step")
        .id(egui::Id::new("predict"))
        .collapsible(false)
        .resizable(false)
        .default_width(width)
        .max_width(width)
        // Bottom right of the scene: the legend is at its bottom left.
        .pivot(egui::Align2::RIGHT_BOTTOM)
        .fixed_pos(area.right_bottom() - egui::vec2(12.0, 12.0))
        .constrain_to(area)
        .show(&ctx, |ui| {
            ui.set_width(width);
            if total == 0 {
                ui.label(
                    egui::RichText::new(
                        "This scenario has no quiz: questions. Open it with --predict --generated \
                         for questions made from the run.",
                    )
                    .size(small),
                );
                for m in &pr.missing {
                    ui.label(format!("{m} matched no event of the run"));
                }
                return;
            }
            if let Some(f) = pr.feedback.clone() {
                feedback(ui, &f, big, small, &mut out, &mut pr);
                return;
            }
            match pr.asking(p.cursor).cloned() {
                Some(q) => {
                    let number = pr.session.answers.len() + 1;
                    ui.label(
                        egui::RichText::new(format!(
                            "Question {number} of {total}, before the event at {}",
                            super::panels::fmt_time(q.time)
                        ))
                        .size(small)
                        .color(egui::Color32::from_gray(90)),
                    );
                    ui.label(egui::RichText::new(&q.text).size(big).strong());
                    ui.add_space(4.0);
                    let mut given = None;
                    if q.choices.is_empty() {
                        let edit = ui.add(
                            egui::TextEdit::singleline(&mut pr.typed)
                                .hint_text("your answer")
                                .font(egui::FontId::proportional(small))
                                .desired_width(width * 0.6),
                        );
                        let enter =
                            edit.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
                        if (ui
                            .button(egui::RichText::new("Answer").size(small))
                            .clicked()
                            || enter)
                            && !pr.typed.trim().is_empty()
                        {
                            given = Some(pr.typed.trim().to_string());
                        }
                    } else {
                        ui.horizontal_wrapped(|ui| {
                            for (k, c) in q.choices.iter().enumerate() {
                                let key =
                                    ui.input(|i| digit(k + 1).is_some_and(|d| i.key_pressed(d)));
                                if ui
                                    .button(
                                        egui::RichText::new(format!("{}  {c}", k + 1)).size(big),
                                    )
                                    .clicked()
                                    || key
                                {
                                    given = Some(c.clone());
                                }
                            }
                        });
                    }
                    ui.horizontal(|ui| {
                        if ui
                            .small_button("Skip")
                            .on_hover_text("Go on without answering (scored as not answered)")
                            .clicked()
                        {
                            pr.answer(None, &scenario);
                        }
                        ui.label(
                            egui::RichText::new(format!(
                                "score so far {} of {}",
                                pr.session.score(),
                                pr.session.answers.len()
                            ))
                            .size(small * 0.85)
                            .color(egui::Color32::from_gray(110)),
                        );
                    });
                    if given.is_some() {
                        pr.answer(given, &scenario);
                    }
                }
                None if pr.session.next().is_none() => {
                    ui.label(
                        egui::RichText::new(format!("Score: {} of {total}.", pr.session.score()))
                            .size(big)
                            .strong(),
                    );
                    written(ui, &pr, small);
                    if ui.button("Close").clicked() {
                        pr.closed = true;
                    }
                }
                None => {
                    let q = pr.session.next().map(|q| q.time);
                    ui.label(
                        egui::RichText::new(format!(
                            "Question {} of {total} comes before the event at {}. Play or step on.",
                            pr.session.answers.len() + 1,
                            q.map(super::panels::fmt_time).unwrap_or_default()
                        ))
                        .size(small),
                    );
                }
            }
        });
    for c in out {
        controls.write(c);
    }
    Ok(())
}

/// Right or wrong, the answer, and the event that shows it.
fn feedback(
    ui: &mut egui::Ui,
    f: &Feedback,
    big: f32,
    small: f32,
    out: &mut Vec<Control>,
    pr: &mut Predict,
) {
    let (text, colour) = match (&f.given, f.right) {
        (_, true) => (
            format!("Right: {}.", f.question.answer),
            egui::Color32::from_rgb(20, 120, 40),
        ),
        (None, _) => (
            format!("Not answered. The answer is {}.", f.question.answer),
            egui::Color32::from_rgb(170, 30, 30),
        ),
        (Some(g), false) => (
            format!("Not {g}: the answer is {}.", f.question.answer),
            egui::Color32::from_rgb(170, 30, 30),
        ),
    };
    ui.label(egui::RichText::new(&f.question.text).size(small));
    ui.label(egui::RichText::new(text).size(big).strong().color(colour));
    ui.label(egui::RichText::new("The event that shows it:").size(small));
    ui.label(
        egui::RichText::new(f.question.proof.trim_end())
            .monospace()
            .size(small * 0.9),
    );
    written(ui, pr, small);
    if ui
        .button(egui::RichText::new("Continue ▶").size(big))
        .on_hover_text("Show the event (Enter)")
        .clicked()
        || ui.input(|i| i.key_pressed(egui::Key::Enter))
    {
        out.push(Control::JumpTo(f.question.event));
        pr.feedback = None;
    }
}

/// Where the results went, or why they could not be written.
fn written(ui: &mut egui::Ui, pr: &Predict, small: f32) {
    match &pr.written {
        Some(Ok(path)) => {
            ui.label(
                egui::RichText::new(format!("Results saved to {}", path.display()))
                    .size(small * 0.85)
                    .color(egui::Color32::from_gray(100)),
            );
        }
        Some(Err(e)) => {
            ui.label(
                egui::RichText::new(e)
                    .size(small)
                    .color(egui::Color32::from_rgb(170, 30, 30)),
            );
        }
        None => {}
    }
}

/// The key for choice `n` (1 to 9).
fn digit(n: usize) -> Option<egui::Key> {
    use egui::Key::*;
    [Num1, Num2, Num3, Num4, Num5, Num6, Num7, Num8, Num9]
        .get(n.wrapping_sub(1))
        .copied()
}
