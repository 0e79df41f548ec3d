//! Transcripts: the dialogue of each application connection, "C:" and
//! "S:" lines as in the RFCs' examples, grouped by connection, up to the
//! current event (or the whole run, on request).

use crate::gui::ui::View;
use crate::trace::{Dir, Event, Layer, Party};
use bevy_egui::egui;
use std::net::SocketAddrV4;

/// The key of a dialogue: its connection, or its parties when it has none.
#[derive(Debug, Clone, PartialEq)]
enum Key {
    Conn(Layer, SocketAddrV4, SocketAddrV4),
    Parties(Layer, Party, Party),
}

pub fn transcripts(ui: &mut egui::Ui, v: &mut View) {
    let p = &v.sim.player;
    let t = &p.timeline;
    ui.checkbox(
        &mut v.state.transcript_all,
        "Show the whole run (not only up to now)",
    );
    let upto = if v.state.transcript_all {
        t.trace.records.len()
    } else {
        p.cursor
    };
    // Group the dialogue lines by connection, in order of first line.
    let mut groups: Vec<(Key, Vec<usize>)> = Vec::new();
    for (i, r) in t.trace.records.iter().enumerate().take(upto) {
        let Event::Dialogue {
            layer,
            client,
            server,
            conn,
            ..
        } = &r.event
        else {
            continue;
        };
        let key = match conn {
            Some((c, s)) => Key::Conn(*layer, *c, *s),
            None => Key::Parties(*layer, client.clone(), server.clone()),
        };
        match groups.iter_mut().find(|(k, _)| *k == key) {
            Some((_, lines)) => lines.push(i),
            None => groups.push((key, vec![i])),
        }
    }
    if groups.is_empty() {
        ui.add_space(8.0);
        ui.label(if p.cursor == 0 {
            "Nothing said yet: application dialogues (SMTP, POP3, IMAP, FTP, HTTP, DNS) appear here as they happen."
        } else {
            "No application dialogue so far in this run."
        });
        return;
    }
    let current = p.current();
    egui::ScrollArea::vertical()
        .auto_shrink([false, false])
        .id_salt("transcripts")
        .show(ui, |ui| {
            for (gi, (key, lines)) in groups.iter().enumerate() {
                let (layer, title) = match key {
                    Key::Conn(l, c, s) => (
                        *l,
                        format!(
                            "{} {} -> {}   ({c} - {s})",
                            l.label(),
                            t.trace.addr_name(*c.ip()),
                            t.trace.addr_name(*s.ip())
                        ),
                    ),
                    Key::Parties(l, c, s) => (
                        *l,
                        format!(
                            "{} {} -> {}",
                            l.label(),
                            t.trace.party_name(c),
                            t.trace.party_name(s)
                        ),
                    ),
                };
                let header = egui::RichText::new(title)
                    .strong()
                    .color(super::layer_color(layer));
                egui::CollapsingHeader::new(header)
                    .id_salt(("transcript", gi))
                    .default_open(true)
                    .show(ui, |ui| {
                        for &i in lines {
                            let Event::Dialogue { dir, line, .. } = &t.trace.records[i].event
                            else {
                                continue;
                            };
                            let (prefix, color) = match dir {
                                Dir::Command => ("C: ", egui::Color32::from_rgb(0, 70, 150)),
                                Dir::Reply => ("S: ", egui::Color32::from_rgb(0, 110, 60)),
                                Dir::Data => ("   ", egui::Color32::from_gray(95)),
                            };
                            let future = i >= p.cursor;
                            let mut rt = egui::RichText::new(format!("{prefix}{line}"))
                                .monospace()
                                .size(12.0)
                                .color(if future {
                                    color.gamma_multiply(0.4)
                                } else {
                                    color
                                });
                            if Some(i) == current {
                                rt = rt.background_color(egui::Color32::from_rgb(255, 236, 170));
                            }
                            ui.add(egui::Label::new(rt).wrap());
                        }
                    });
            }
        });
}
