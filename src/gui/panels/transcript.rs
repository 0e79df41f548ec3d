//! Transcripts: the dialogue of each application connection, "C:" and
//! "S:" lines as in the RFCs' examples, grouped by connection, up to the
//! current event (or the whole run, on request). An FTP control
//! connection lists its data connections among its lines, each with its
//! ports and the bytes it moved ([`crate::trace::dialogues`]).

use crate::gui::theme::proto_color32;
use crate::gui::ui::View;
use crate::trace::dialogues::{Dialogue, dialogues};
use crate::trace::{Dir, Event, Layer};
use bevy_egui::egui;

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
    let groups = dialogues(&t.trace, upto);
    if groups.is_empty() {
        ui.add_space(8.0);
        ui.label(if p.cursor == 0 {
            "Nothing said yet: application dialogues (SMTP, POP3, IMAP, FTP, HTTP, TELNET, DNS) appear here as they happen."
        } else {
            "No application dialogue so far in this run."
        });
        return;
    }
    egui::ScrollArea::vertical()
        .auto_shrink([false, false])
        .id_salt("transcripts")
        .show(ui, |ui| {
            for (gi, d) in groups.iter().enumerate() {
                let header = egui::RichText::new(title(v, d))
                    .strong()
                    .color(super::layer_color(d.layer));
                egui::CollapsingHeader::new(header)
                    .id_salt(("transcript", gi))
                    .default_open(true)
                    .show(ui, |ui| {
                        if let Some((c, srv)) = d.conn {
                            ui.add(
                                egui::Label::new(
                                    egui::RichText::new(format!("{c} - {srv}"))
                                        .small()
                                        .color(egui::Color32::from_gray(110)),
                                )
                                .truncate(),
                            );
                        }
                        let mut data = d.data.iter().enumerate().peekable();
                        for (k, &i) in d.lines.iter().enumerate() {
                            while let Some((di, dd)) =
                                data.next_if(|(_, dd)| d.data_position(dd) <= k)
                            {
                                data_connection(ui, v, dd, (gi, di));
                            }
                            line(ui, v, i);
                        }
                        for (di, dd) in data {
                            data_connection(ui, v, dd, (gi, di));
                        }
                    });
            }
        });
}

/// "FTP control alice-pc -> files".
fn title(v: &View, d: &Dialogue) -> String {
    let t = &v.sim.player.timeline.trace;
    let layer = if d.layer == Layer::Ftp {
        d.protocol.name()
    } else {
        d.layer.label()
    };
    // Short enough for a narrow panel: the addresses go on the line
    // under it.
    format!(
        "{layer} {} -> {}",
        t.party_name(&d.client),
        t.party_name(&d.server)
    )
}

/// A data connection, indented inside its control connection's lines.
fn data_connection(ui: &mut egui::Ui, v: &View, d: &Dialogue, id: (usize, usize)) {
    let Some((client, server)) = d.conn else {
        return;
    };
    let mut head = format!("data connection {} -> {}", server.port(), client.port());
    if let Some(n) = d.bytes {
        head.push_str(&format!(", {n} bytes"));
    }
    let colour = proto_color32(d.protocol);
    egui::Frame::new()
        .stroke(egui::Stroke::new(1.5, colour))
        .corner_radius(4)
        .inner_margin(egui::Margin::symmetric(6, 3))
        .outer_margin(egui::Margin {
            left: 14,
            ..Default::default()
        })
        .show(ui, |ui| {
            egui::CollapsingHeader::new(egui::RichText::new(head).strong().color(colour))
                .id_salt(("data", id))
                .default_open(true)
                .show(ui, |ui| {
                    for &i in &d.lines {
                        line(ui, v, i);
                    }
                });
        });
}

/// One "C:" or "S:" line, faint if it is after the cursor, highlighted
/// if it is the current event.
fn line(ui: &mut egui::Ui, v: &View, i: usize) {
    let p = &v.sim.player;
    let Event::Dialogue { dir, line, .. } = &p.timeline.trace.records[i].event else {
        return;
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
    if Some(i) == p.current() {
        rt = rt.background_color(egui::Color32::from_rgb(255, 236, 170));
    }
    ui.add(egui::Label::new(rt).wrap());
}
