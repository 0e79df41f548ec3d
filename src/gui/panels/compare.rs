//! The comparison with a what-if fork, over the scene's area: where the
//! two runs part, what differs in number, and the ladders of both side by
//! side at the view time, the first arrow that differs marked in each.
//! The original's view time drives both: the fork's ladder shows what it
//! had done by then.

use super::ladder::{self, At};
use crate::gui::sim::Control;
use crate::gui::ui::View;
use bevy_egui::egui;

/// Draws the comparison over `central` (below the status lines).
pub fn compare_view(ctx: &egui::Context, central: egui::Rect, v: &mut View) {
    let Some(fork) = v.sim.fork.as_ref() else {
        return;
    };
    let p = &v.sim.player;
    let big = if v.theme.lecture { 20.0 } else { 16.0 };
    let small = if v.theme.lecture { 15.0 } else { 12.5 };
    // The fork holds the ladders; the panels' state their fitted headers
    // and where each scrolled to.
    let (mut headers, mut followed) = std::mem::take(&mut v.state.compare);
    let mut clicked = None;
    let mut close = false;
    egui::Area::new(egui::Id::new("compare"))
        .fixed_pos(central.min)
        .order(egui::Order::Background)
        .show(ctx, |ui| {
            ui.set_min_size(central.size());
            ui.set_max_size(central.size());
            ui.painter()
                .rect_filled(central, 0, egui::Color32::from_gray(250));
            let inner = central.shrink(8.0);
            let mut ui = ui.new_child(egui::UiBuilder::new().max_rect(inner));
            ui.horizontal_wrapped(|ui| {
                if ui
                    .button("✖ Close")
                    .on_hover_text("Back to the run alone")
                    .clicked()
                {
                    close = true;
                }
                ui.label(
                    egui::RichText::new(format!("The original and {}", fork.title))
                        .size(big)
                        .strong(),
                );
                if let Some(d) = &fork.comparison.divergence {
                    ui.label(
                        egui::RichText::new(format!(
                            "part at {}, after {} shared events.",
                            super::fmt_time(d.time),
                            d.common
                        ))
                        .size(small),
                    );
                }
            });
            summary(&mut ui, fork, small);
            ui.separator();
            // Up to the fork point both runs are the same run, so the
            // fork stands where the original does; after it, at the view
            // time.
            let shared = fork.common().is_none_or(|c| p.cursor <= c);
            let cursors = [
                p.cursor,
                if shared {
                    p.cursor
                } else {
                    fork.timeline.records_until(p.time)
                },
            ];
            let titles = ["The original", "The fork"];
            let timelines = [&p.timeline, &fork.timeline];
            // What each run is doing at the view time.
            let caption = |side: usize| {
                let t = timelines[side];
                cursors[side]
                    .checked_sub(1)
                    .and_then(|i| t.trace.records.get(i))
                    .map(|r| t.captioner().caption(r))
            };
            let captions = [caption(0), caption(1)];
            let width = ui.available_width();
            let height = ui.available_height();
            ui.horizontal_top(|ui| {
                for side in 0..2 {
                    let w = (width - 12.0) / 2.0;
                    ui.allocate_ui(egui::vec2(w, height), |ui| {
                        ui.set_width(w);
                        ui.vertical(|ui| {
                            let t = timelines[side];
                            let caption = captions[side].as_deref().unwrap_or("");
                            ui.horizontal(|ui| {
                                ui.label(egui::RichText::new(titles[side]).size(big).strong());
                                ui.add(
                                    egui::Label::new(egui::RichText::new(caption).size(small))
                                        .truncate(),
                                );
                            });
                            let at = At {
                                generation: p.generation,
                                cursor: cursors[side],
                                time: p.time,
                                chosen: None,
                                mark: fork.marks[side],
                                salt: if side == 0 {
                                    "compare-original"
                                } else {
                                    "compare-fork"
                                },
                            };
                            let hit = ladder::draw(
                                ui,
                                t,
                                &fork.ladders[side],
                                &mut headers[side],
                                &at,
                                &mut followed[side],
                            );
                            if let Some(r) = hit {
                                clicked = t.trace.records.get(r).map(|r| r.time);
                            }
                        });
                    });
                    if side == 0 {
                        ui.separator();
                    }
                }
            });
        });
    if let Some(t) = clicked {
        v.out.push(Control::Seek(t));
    }
    if close {
        v.out.push(Control::CloseFork);
    }
    v.state.compare = (headers, followed);
}

/// Where the runs part, and the events that differ in number.
fn summary(ui: &mut egui::Ui, fork: &crate::gui::exercise::Fork, small: f32) {
    let c = &fork.comparison;
    match &c.divergence {
        None => {
            ui.label(
                egui::RichText::new(
                    "The two runs are the same: the change made no difference to this run.",
                )
                .size(small),
            );
        }
        Some(d) => {
            let line = |who: &str, l: &Option<String>| match l {
                Some(l) => format!("{who}: {}", l.trim_end()),
                None => format!("{who}: (the run ends)"),
            };
            for (who, l) in [("the original", &d.left), ("the fork", &d.right)] {
                ui.add(
                    egui::Label::new(
                        egui::RichText::new(line(who, l))
                            .monospace()
                            .size(small * 0.92),
                    )
                    .truncate(),
                );
            }
            let counts: Vec<String> = c
                .counts
                .iter()
                .filter(|(k, _, _)| {
                    let bookkeeping = k.ends_with(" rtt") || k.ends_with(" cwnd");
                    !k.starts_with("link ") && !k.starts_with("ip ") && !bookkeeping
                })
                .take(5)
                .map(|(k, a, b)| format!("{k} {a} vs {b}"))
                .collect();
            if !counts.is_empty() {
                ui.add(
                    egui::Label::new(
                        egui::RichText::new(format!("In number: {}", counts.join(" · ")))
                            .size(small),
                    )
                    .truncate(),
                );
            }
        }
    }
}

/// The toolbar's "What if" menu: changes made from the view time on, each
/// forking the run (or the packet selected, or the current event's).
pub fn what_if_menu(ui: &mut egui::Ui, v: &mut View) {
    use crate::exercise::WhatIf;
    use crate::gui::model::HostKind;
    use crate::scenario::spec::Role;
    use crate::scenario::units::Dur;
    let p = &v.sim.player;
    let t = &p.timeline;
    let now = Dur(p.time - crate::sim::SimTime::ZERO);
    let lasting = Some(Dur(crate::sim::SimDuration::from_secs(2)));
    // The packet: the one selected, or the current event's, or the next
    // one to move.
    let flight = v
        .selection
        .flight
        .or_else(|| p.current().and_then(|i| t.carrier_flight(i)))
        .or_else(|| (p.cursor..t.trace.records.len()).find_map(|i| t.carrier_flight(i)));
    let mut chosen: Option<WhatIf> = None;
    ui.menu_button("❓ What if", |ui| {
        ui.label(
            egui::RichText::new(format!(
                "From {} on; the run is forked and compared",
                super::fmt_time(p.time)
            ))
            .weak(),
        );
        match flight.and_then(|f| t.flights.get(f)) {
            Some(f) => {
                let label = crate::gui::visuals::packet_label(t, flight.unwrap_or(0));
                if ui
                    .button(format!("Drop this packet (#{}: {label})", f.packet))
                    .clicked()
                {
                    chosen = Some(WhatIf::DropPacket(f.packet));
                }
            }
            None => {
                ui.add_enabled(
                    false,
                    egui::Button::new("Drop this packet (no packet here)"),
                );
            }
        }
        let link_name = |l: &crate::gui::model::LinkView| {
            (
                t.hosts[l.ends[0] as usize].name.clone(),
                t.hosts[l.ends[1] as usize].name.clone(),
            )
        };
        ui.menu_button("Take a host down for 2 s", |ui| {
            for h in t.hosts.iter().filter(|h| h.kind != HostKind::Eavesdropper) {
                if ui.button(&h.name).clicked() {
                    chosen = Some(WhatIf::HostDown {
                        host: h.name.clone(),
                        at: now,
                        lasting,
                    });
                }
            }
        });
        ui.menu_button("Take a link down for 2 s", |ui| {
            for l in &t.links {
                let (a, b) = link_name(l);
                if ui.button(format!("{a} – {b}")).clicked() {
                    chosen = Some(WhatIf::LinkDown {
                        a,
                        b,
                        at: now,
                        lasting,
                    });
                }
            }
        });
        ui.menu_button("Make a link 10 times slower", |ui| {
            for l in &t.links {
                let (a, b) = link_name(l);
                let slower = Dur(l
                    .latency
                    .saturating_mul(10)
                    .max(crate::sim::SimDuration::from_millis(1)));
                if ui.button(format!("{a} – {b} ({slower} one way)")).clicked() {
                    chosen = Some(WhatIf::Latency {
                        a,
                        b,
                        latency: slower,
                        at: now,
                    });
                }
            }
        });
        ui.menu_button("Make a link lose 30% of its packets", |ui| {
            for l in &t.links {
                let (a, b) = link_name(l);
                if ui.button(format!("{a} – {b}")).clicked() {
                    chosen = Some(WhatIf::Loss {
                        a,
                        b,
                        loss: 0.3,
                        at: now,
                    });
                }
            }
        });
        let has_dns = t
            .scenario
            .hosts
            .iter()
            .any(|h| matches!(h.role, Role::DnsServer { .. }));
        if ui
            .add_enabled(has_dns, egui::Button::new("Stop the DNS"))
            .clicked()
        {
            chosen = Some(WhatIf::DnsDown { at: now });
        }
        let seed = t.seed.wrapping_add(1);
        if ui
            .button(format!("Another seed ({seed})"))
            .on_hover_text("The same scenario with other random numbers (losses, ports)")
            .clicked()
        {
            chosen = Some(WhatIf::Seed(seed));
        }
        if v.sim.fork.is_some() {
            ui.separator();
            if ui.button("Close the comparison").clicked() {
                v.out.push(Control::CloseFork);
                ui.close();
            }
        }
        if chosen.is_some() {
            ui.close();
        }
    });
    if let Some(c) = chosen {
        v.out.push(Control::WhatIf(vec![c]));
    }
}
