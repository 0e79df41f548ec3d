//! TCP plots: the congestion window and ssthresh over time, or the
//! sequence-number graph (segments, retransmissions, losses, the ACK
//! line), for the selected connection or the one that carried the most
//! data. The same points as `wiretale run --plot`
//! ([`crate::trace::tcp_plot`]); a line marks the view time.

use crate::gui::ui::View;
use crate::trace::tcp_plot::{self, Loss, TcpPlot, ms};
use bevy_egui::egui;
use egui_plot::{Legend, Line, MarkerShape, Plot, PlotPoint, Points, Text, VLine};

/// Which plot the tab shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Kind {
    #[default]
    Cwnd,
    Seq,
}

/// The plot of one run and connection.
#[derive(Debug, Default)]
pub struct PlotCache {
    key: Option<(u64, Option<usize>)>,
    plot: Option<TcpPlot>,
    pub kind: Kind,
}

fn colour(c: [u8; 3]) -> egui::Color32 {
    egui::Color32::from_rgb(c[0], c[1], c[2])
}

pub fn plot(ui: &mut egui::Ui, v: &mut View) {
    let t = &v.sim.player.timeline;
    let key = (v.sim.player.generation, v.selection.conn);
    if v.state.plot.key != Some(key) {
        let filter = v
            .selection
            .conn
            .and_then(|c| t.conns.get(c))
            .map(|c| crate::trace::conn_text(c.key));
        // A selected connection that carried no data (a DNS flow, a
        // refused SYN) falls back to the busiest one.
        let plot = TcpPlot::of(&t.trace, filter.as_deref()).or_else(|| TcpPlot::of(&t.trace, None));
        v.state.plot.plot = plot;
        v.state.plot.key = Some(key);
    }
    let Some(p) = &v.state.plot.plot else {
        ui.add_space(8.0);
        ui.label("No TCP connection carries data in this run: nothing to plot.");
        return;
    };
    let now = v.sim.player.time;
    ui.horizontal_wrapped(|ui| {
        ui.selectable_value(&mut v.state.plot.kind, Kind::Cwnd, "cwnd and ssthresh");
        ui.selectable_value(&mut v.state.plot.kind, Kind::Seq, "sequence numbers");
    });
    ui.label(
        egui::RichText::new(format!(
            "{} -> {}   (click a packet of another connection to plot it)",
            p.conn.0, p.conn.1
        ))
        .small()
        .color(egui::Color32::from_gray(90)),
    );
    let cwnd_now = p.cwnd.iter().take_while(|c| c.0 <= now).last().copied();
    ui.label(match (p.phase_at(now), cwnd_now) {
        (Some(phase), Some((_, c, ss))) => {
            format!("now: {}, cwnd {c} bytes, ssthresh {ss}", phase.name())
        }
        _ => "now: before the connection".to_owned(),
    });
    let now_ms = ms(now);
    let kind = v.state.plot.kind;
    Plot::new(("tcp-plot", kind as u8))
        .legend(Legend::default())
        .x_axis_label("time (ms)")
        .y_axis_label(if kind == Kind::Cwnd {
            "bytes"
        } else {
            "sequence number (relative)"
        })
        .allow_scroll(false)
        .show(ui, |pu| {
            match kind {
                Kind::Cwnd => cwnd(pu, p),
                Kind::Seq => seq(pu, p),
            }
            pu.vline(
                VLine::new("now", now_ms)
                    .color(egui::Color32::from_rgb(240, 170, 0))
                    .width(2.0),
            );
        });
}

/// Steps through `(x, y)` changes: flat until the next change.
fn steps(points: impl Iterator<Item = (f64, f64)>) -> Vec<[f64; 2]> {
    tcp_plot::steps(points)
        .into_iter()
        .map(|(x, y)| [x, y])
        .collect()
}

fn cwnd(pu: &mut egui_plot::PlotUi, p: &TcpPlot) {
    let top = p.cwnd.iter().map(|c| c.1).max().unwrap_or(1) as f64 * 1.25;
    pu.line(
        Line::new(
            "ssthresh",
            steps(p.cwnd.iter().map(|c| (ms(c.0), (c.2 as f64).min(top)))),
        )
        .color(colour(tcp_plot::SSTHRESH_RGB))
        .width(1.5),
    );
    pu.line(
        Line::new("cwnd", steps(p.cwnd.iter().map(|c| (ms(c.0), c.1 as f64))))
            .color(colour(tcp_plot::CWND_RGB))
            .width(2.5),
    );
    let cwnd_at = |t: crate::sim::SimTime| {
        let i = p.cwnd.partition_point(|c| c.0 <= t);
        p.cwnd.get(i.saturating_sub(1)).map_or(0.0, |c| c.1 as f64)
    };
    let marks = |timeout: bool| -> Vec<[f64; 2]> {
        p.losses
            .iter()
            .filter(|l| matches!(l.1, Loss::Timeout) == timeout)
            .map(|l| [ms(l.0), cwnd_at(l.0)])
            .collect()
    };
    pu.points(
        Points::new("fast retransmit", marks(false))
            .shape(MarkerShape::Up)
            .filled(true)
            .radius(5.0)
            .color(colour(tcp_plot::RETRANSMIT_RGB)),
    );
    pu.points(
        Points::new("timeout", marks(true))
            .shape(MarkerShape::Cross)
            .radius(6.0)
            .color(colour(tcp_plot::RETRANSMIT_RGB)),
    );
    // Phase names where each phase starts, when there is room after the
    // previous name at the current zoom (what the plot showed last frame).
    let bounds = pu.plot_bounds();
    let room = bounds.width() * 0.16;
    let visible = bounds.min()[0]..=bounds.max()[0];
    let mut last: Option<f64> = None;
    for &(t, phase) in &p.phases {
        let x = ms(t);
        if !visible.contains(&x) || last.is_some_and(|l| x < l + room) {
            continue;
        }
        last = Some(x);
        pu.text(
            Text::new(
                "",
                PlotPoint::new(x, cwnd_at(t) + top * 0.06),
                egui::RichText::new(phase.name()).size(11.0),
            )
            .anchor(egui::Align2::LEFT_BOTTOM)
            .color(egui::Color32::from_gray(60)),
        );
    }
}

fn seq(pu: &mut egui_plot::PlotUi, p: &TcpPlot) {
    pu.line(
        Line::new(
            "ACK received",
            steps(p.acks.iter().map(|a| (ms(a.0), a.1 as f64))),
        )
        .color(colour(tcp_plot::ACK_RGB))
        .width(1.5),
    );
    let ends = |retransmit: bool| -> Vec<[f64; 2]> {
        p.sent
            .iter()
            .filter(|s| s.retransmit == retransmit)
            .map(|s| [ms(s.time), (s.seq + s.len) as f64])
            .collect()
    };
    pu.points(
        Points::new("data segment (its last byte)", ends(false))
            .shape(MarkerShape::Diamond)
            .radius(2.5)
            .color(colour(tcp_plot::DATA_RGB)),
    );
    pu.points(
        Points::new("retransmission", ends(true))
            .shape(MarkerShape::Diamond)
            .filled(true)
            .radius(4.0)
            .color(colour(tcp_plot::RETRANSMIT_RGB)),
    );
    let lost: Vec<[f64; 2]> = p
        .sent
        .iter()
        .filter(|s| s.lost)
        .map(|s| [ms(s.time), (s.seq + s.len) as f64])
        .collect();
    pu.points(
        Points::new("lost", lost)
            .shape(MarkerShape::Cross)
            .radius(5.0)
            .color(egui::Color32::BLACK),
    );
}
