//! The two pictures of a TCP sender that textbooks draw, read from a
//! trace: the congestion window and slow-start threshold over time (RFC
//! 5681), and the sequence-number graph of tcptrace and Stevens' TCP/IP
//! Illustrated (each data segment a bar from its first to its last byte,
//! the acknowledgments as a line under them, retransmissions marked).
//!
//! [`TcpPlot::of`] gathers the points; [`to_cwnd_svg`] and [`to_seq_svg`]
//! draw them with plotters for slides, and the visualizer draws the same
//! points with egui_plot. Sequence numbers are relative to the SYN.

use super::{ConnName, Event, NodeId, Trace};
use crate::sim::SimTime;
use crate::trace::packet::Payload;
use plotters::prelude::*;
use std::collections::BTreeMap;
use std::ops::Range;

/// What the sender's congestion control is doing (RFC 5681 §3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// cwnd below ssthresh: it grows by one segment per ACK.
    SlowStart,
    /// cwnd at or above ssthresh: about one segment per round trip.
    CongestionAvoidance,
    /// After three duplicate ACKs, until the lost segment is acknowledged
    /// (RFC 5681 §3.2, RFC 6582).
    FastRecovery,
}

impl Phase {
    pub fn name(self) -> &'static str {
        match self {
            Phase::SlowStart => "slow start",
            Phase::CongestionAvoidance => "congestion avoidance",
            Phase::FastRecovery => "fast recovery",
        }
    }
}

/// A loss the sender noticed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Loss {
    /// Three duplicate ACKs: the segment at `seq` is sent again at once.
    FastRetransmit { seq: u32 },
    /// The retransmission timer expired.
    Timeout,
}

impl Loss {
    pub fn name(self) -> &'static str {
        match self {
            Loss::FastRetransmit { .. } => "fast retransmit",
            Loss::Timeout => "timeout",
        }
    }
}

/// One data segment the sender sent.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sent {
    pub time: SimTime,
    /// Relative sequence number of its first byte.
    pub seq: u32,
    pub len: u32,
    /// Some of its bytes had been sent before.
    pub retransmit: bool,
    /// It never arrived.
    pub lost: bool,
}

/// Everything the two plots show, for one direction of one connection.
#[derive(Debug, Clone, PartialEq)]
pub struct TcpPlot {
    /// (sender, receiver) socket addresses.
    pub conn: ConnName,
    pub sender: NodeId,
    /// (time, cwnd, ssthresh) as the sender recorded them.
    pub cwnd: Vec<(SimTime, u32, u32)>,
    /// Where each phase starts.
    pub phases: Vec<(SimTime, Phase)>,
    pub losses: Vec<(SimTime, Loss)>,
    pub sent: Vec<Sent>,
    /// (time, relative ack number) of every ACK the sender received.
    pub acks: Vec<(SimTime, u32)>,
}

impl TcpPlot {
    /// The plots of the connection whose name (`a:p-b:q`, either order)
    /// contains `filter`, or of the connection that carried the most
    /// data; the sender is the end that sent most. `None` if the run has
    /// no TCP data.
    pub fn of(trace: &Trace, filter: Option<&str>) -> Option<TcpPlot> {
        let conn = busiest(trace, filter)?;
        let sender = *trace.addresses.get(conn.0.ip())?;
        let mut plot = TcpPlot {
            conn,
            sender,
            cwnd: Vec::new(),
            phases: Vec::new(),
            losses: Vec::new(),
            sent: Vec::new(),
            acks: Vec::new(),
        };
        let mut highest = 0u32;
        let mut packets: BTreeMap<u64, usize> = BTreeMap::new();
        for r in &trace.records {
            match &r.event {
                Event::Cwnd {
                    host,
                    conn: c,
                    cwnd,
                    ssthresh,
                } if *host == sender && *c == conn => plot.cwnd.push((r.time, *cwnd, *ssthresh)),
                Event::FastRetransmit { host, conn: c, seq } if *host == sender && *c == conn => {
                    let seq = trace.seqs.of(conn.0, conn.1, *seq);
                    plot.losses.push((r.time, Loss::FastRetransmit { seq }));
                }
                Event::RetransmitTimeout { host, conn: c, .. } if *host == sender && *c == conn => {
                    plot.losses.push((r.time, Loss::Timeout));
                }
                Event::SegmentSent { host, packet } if *host == sender => {
                    let Some(p) = trace.packet(*packet) else {
                        continue;
                    };
                    let Payload::Tcp(s) = &p.payload else {
                        continue;
                    };
                    if (p.src_addr(), p.dst_addr()) != conn || s.payload.is_empty() {
                        continue;
                    }
                    let seq = trace.seqs.seq(p);
                    let len = s.payload.len() as u32;
                    packets.insert(*packet, plot.sent.len());
                    plot.sent.push(Sent {
                        time: r.time,
                        seq,
                        len,
                        retransmit: seq < highest,
                        lost: false,
                    });
                    highest = highest.max(seq + len);
                }
                Event::SegmentReceived { host, packet } if *host == sender => {
                    let Some(p) = trace.packet(*packet) else {
                        continue;
                    };
                    if let Payload::Tcp(s) = &p.payload
                        && (p.dst_addr(), p.src_addr()) == conn
                        && s.flags.ack()
                    {
                        plot.acks.push((r.time, trace.seqs.ack(p)));
                    }
                }
                Event::Dropped { packet, .. } => {
                    if let Some(&i) = packets.get(packet) {
                        plot.sent[i].lost = true;
                    }
                }
                _ => {}
            }
        }
        plot.phases = phases(&plot.cwnd, &plot.losses);
        Some(plot)
    }

    /// The same plot over `from..to` only (what came before carried in
    /// at `from`): a close-up of a long transfer.
    pub fn within(&self, from: SimTime, to: SimTime) -> TcpPlot {
        fn cut<T: Copy>(v: &[(SimTime, T)], from: SimTime, to: SimTime) -> Vec<(SimTime, T)> {
            let start = v.partition_point(|e| e.0 < from);
            let mut out: Vec<(SimTime, T)> = Vec::new();
            if start > 0 && v.get(start).is_none_or(|e| e.0 > from) {
                out.push((from, v[start - 1].1));
            }
            out.extend(v[start..].iter().take_while(|e| e.0 <= to).copied());
            out
        }
        let cwnd: Vec<(SimTime, (u32, u32))> =
            self.cwnd.iter().map(|&(t, c, s)| (t, (c, s))).collect();
        TcpPlot {
            conn: self.conn,
            sender: self.sender,
            cwnd: cut(&cwnd, from, to)
                .into_iter()
                .map(|(t, (c, s))| (t, c, s))
                .collect(),
            phases: cut(&self.phases, from, to),
            losses: self
                .losses
                .iter()
                .filter(|l| l.0 >= from && l.0 <= to)
                .copied()
                .collect(),
            sent: self
                .sent
                .iter()
                .filter(|s| s.time >= from && s.time <= to)
                .copied()
                .collect(),
            acks: cut(&self.acks, from, to),
        }
    }

    /// The phase at `time`.
    pub fn phase_at(&self, time: SimTime) -> Option<Phase> {
        let i = self.phases.partition_point(|&(t, _)| t <= time);
        self.phases.get(i.checked_sub(1)?).map(|&(_, p)| p)
    }

    /// Time span of the points, in milliseconds.
    fn span_ms(&self) -> Range<f64> {
        let times = self
            .cwnd
            .iter()
            .map(|c| c.0)
            .chain(self.sent.iter().map(|s| s.time))
            .chain(self.acks.iter().map(|a| a.0));
        let (lo, hi) = times.fold((f64::MAX, f64::MIN), |(lo, hi), t| {
            let ms = ms(t);
            (lo.min(ms), hi.max(ms))
        });
        if lo > hi {
            return 0.0..1.0;
        }
        let pad = ((hi - lo) * 0.02).max(0.5);
        (lo - pad).max(0.0)..hi + pad
    }
}

/// The direction of a TCP connection that carried the most payload bytes,
/// among those whose name contains `filter`.
fn busiest(trace: &Trace, filter: Option<&str>) -> Option<ConnName> {
    let mut bytes: BTreeMap<ConnName, u64> = BTreeMap::new();
    for p in &trace.packets {
        if let Payload::Tcp(s) = &p.payload
            && !s.payload.is_empty()
        {
            let (a, b) = (p.src_addr(), p.dst_addr());
            if !super::conn_matches(filter, a, b) {
                continue;
            }
            *bytes.entry((a, b)).or_default() += s.payload.len() as u64;
        }
    }
    // Most bytes; the first connection on a tie.
    let best = bytes.values().copied().max()?;
    bytes.into_iter().find(|&(_, n)| n == best).map(|(c, _)| c)
}

/// Where each phase starts: from the cwnd changes and the losses.
fn phases(cwnd: &[(SimTime, u32, u32)], losses: &[(SimTime, Loss)]) -> Vec<(SimTime, Phase)> {
    let mut out: Vec<(SimTime, Phase)> = Vec::new();
    let mut push = |t: SimTime, p: Phase| {
        if out.last().map(|&(_, q)| q) != Some(p) {
            out.push((t, p));
        }
    };
    let mut loss = losses.iter().peekable();
    let mut recovering = false;
    for &(t, c, ss) in cwnd {
        while let Some(&&(lt, l)) = loss.peek() {
            if lt > t {
                break;
            }
            loss.next();
            match l {
                Loss::FastRetransmit { .. } => {
                    recovering = true;
                    push(lt, Phase::FastRecovery);
                }
                Loss::Timeout => {
                    recovering = false;
                    push(lt, Phase::SlowStart);
                }
            }
        }
        // Fast recovery ends when the window deflates to ssthresh.
        if recovering && c <= ss {
            recovering = false;
        }
        if !recovering {
            push(
                t,
                if c < ss {
                    Phase::SlowStart
                } else {
                    Phase::CongestionAvoidance
                },
            );
        }
    }
    out
}

/// A value that changes at the given points drawn as steps: flat until
/// the next change, then straight up or down (cwnd, the ACK line).
pub fn steps(points: impl IntoIterator<Item = (f64, f64)>) -> Vec<(f64, f64)> {
    let mut out: Vec<(f64, f64)> = Vec::new();
    for (x, y) in points {
        if let Some(&(_, prev)) = out.last() {
            out.push((x, prev));
        }
        out.push((x, y));
    }
    out
}

/// The highest acknowledgment the sender had at `t`.
fn acked_at(p: &TcpPlot, t: SimTime) -> u32 {
    let i = p.acks.partition_point(|a| a.0 <= t);
    p.acks[..i].iter().map(|a| a.1).max().unwrap_or(0)
}

/// Milliseconds since the start of the run, the plots' x axis.
pub fn ms(t: SimTime) -> f64 {
    t.as_nanos() as f64 / 1e6
}

/// A drawn plot: the SVG, and where its data went (for reading the
/// points back).
#[derive(Debug, Clone)]
pub struct Drawn {
    pub svg: String,
    /// Where the data range lands in pixels: x from its start to its end,
    /// y from the top (the range's end) to the bottom (its start).
    pub pixels: (Range<i32>, Range<i32>),
    /// The data range: x in milliseconds, y in bytes.
    pub data: (Range<f64>, Range<f64>),
}

impl Drawn {
    /// The data point at pixel (x, y).
    pub fn to_data(&self, x: f64, y: f64) -> (f64, f64) {
        let (px, py) = &self.pixels;
        let (dx, dy) = &self.data;
        let fx = (x - px.start as f64) / (px.end - px.start) as f64;
        let fy = (py.end as f64 - y) / (py.end - py.start) as f64;
        (
            dx.start + fx * (dx.end - dx.start),
            dy.start + fy * (dy.end - dy.start),
        )
    }
}

/// The fonts asked for: the first one a viewer has.
const FONT: &str = "DejaVu Sans, Helvetica, Arial, sans-serif";

/// A label is left out when it would start before the previous one ends
/// (an estimate: this many pixels per character, and a gap).
const CHAR_WIDTH: i32 = 7;
const LABEL_GAP: i32 = 10;

/// Size of the exported plots.
pub const SIZE: (u32, u32) = (1000, 560);

/// Colours, shared with the visualizer's plot.
pub const CWND_RGB: [u8; 3] = [0, 114, 178];
pub const SSTHRESH_RGB: [u8; 3] = [213, 94, 0];
pub const DATA_RGB: [u8; 3] = [0, 114, 178];
pub const ACK_RGB: [u8; 3] = [0, 158, 115];
pub const RETRANSMIT_RGB: [u8; 3] = [220, 25, 25];

fn rgb(c: [u8; 3]) -> RGBColor {
    RGBColor(c[0], c[1], c[2])
}

/// An error of the plotting library, as text.
fn err(e: impl std::fmt::Display) -> String {
    format!("cannot draw the plot: {e}")
}

/// The chart both plots draw on: title, axes with their labels, the
/// points `body` adds, the legend; and where the data went.
fn chart(
    title: &str,
    x: Range<f64>,
    y: Range<f64>,
    y_desc: &str,
    y_area: u32,
    body: impl FnOnce(&mut Chart<'_, '_>) -> Result<(), String>,
) -> Result<Drawn, String> {
    let mut svg = String::new();
    let pixels;
    {
        let root = SVGBackend::with_string(&mut svg, SIZE).into_drawing_area();
        root.fill(&WHITE).map_err(err)?;
        let mut chart = ChartBuilder::on(&root)
            .caption(title, (FONT, 20))
            .margin(16)
            .x_label_area_size(44)
            .y_label_area_size(y_area)
            .build_cartesian_2d(x.clone(), y.clone())
            .map_err(err)?;
        chart
            .configure_mesh()
            .x_desc("time (ms)")
            .y_desc(y_desc)
            .light_line_style(RGBColor(235, 235, 235))
            .label_style((FONT, 12))
            .x_label_formatter(&|v| format!("{v:.0}"))
            .y_label_formatter(&|v| format!("{v:.0}"))
            .axis_desc_style((FONT, 14))
            .draw()
            .map_err(err)?;
        // Where the data range's corners land: the mapping back.
        let (a, b) = (
            chart.backend_coord(&(x.start, y.start)),
            chart.backend_coord(&(x.end, y.end)),
        );
        pixels = (a.0..b.0, b.1..a.1);
        body(&mut chart)?;
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.85))
            .border_style(RGBColor(180, 180, 180))
            .label_font((FONT, 12))
            .position(SeriesLabelPosition::LowerRight)
            .draw()
            .map_err(err)?;
        root.present().map_err(err)?;
    }
    Ok(Drawn {
        svg,
        pixels,
        data: (x, y),
    })
}

/// Names each loss at the place `at` gives it, when there is room after
/// the previous name.
fn loss_labels(
    chart: &mut Chart<'_, '_>,
    p: &TcpPlot,
    x: &Range<f64>,
    at: impl Fn(SimTime, Loss) -> (f64, f64),
) -> Result<(), String> {
    let mut last_label: Option<i32> = None;
    for &(t, loss) in &p.losses {
        let at = at(t, loss);
        let px = chart.backend_coord(&at).0;
        if last_label.is_some_and(|end| px < end + LABEL_GAP) || !x.contains(&at.0) {
            continue;
        }
        last_label = Some(px + CHAR_WIDTH * loss.name().len() as i32);
        chart
            .draw_series(std::iter::once(Text::new(
                loss.name(),
                at,
                (FONT, 12).into_font().color(&rgb(RETRANSMIT_RGB)),
            )))
            .map_err(err)?;
    }
    Ok(())
}

/// A plot's drawing surface.
type Chart<'a, 'b> = ChartContext<
    'a,
    SVGBackend<'b>,
    Cartesian2d<plotters::coord::types::RangedCoordf64, plotters::coord::types::RangedCoordf64>,
>;

/// cwnd and ssthresh over time, as steps, with the phases named where
/// they start and each loss marked.
pub fn to_cwnd_svg(p: &TcpPlot, title: &str) -> Result<Drawn, String> {
    let x = p.span_ms();
    // ssthresh starts "infinite" (65535 or more): the axis follows cwnd,
    // with room above it, and a higher ssthresh is drawn at the top.
    let top = p.cwnd.iter().map(|c| c.1).max().unwrap_or(1) as f64 * 1.25;
    let y = 0.0..top.max(1.0);
    chart(title, x.clone(), y.clone(), "bytes", 70, |chart| {
        let cap = |v: u32| (v as f64).min(y.end);
        // Flat to the right edge after the last change.
        let steps = |f: &dyn Fn(&(SimTime, u32, u32)) -> u32| {
            let mut pts = steps(p.cwnd.iter().map(|c| (ms(c.0), cap(f(c)))));
            if let Some(&(_, last)) = pts.last() {
                pts.push((x.end, last));
            }
            pts
        };
        chart
            .draw_series(LineSeries::new(
                steps(&|c| c.2),
                rgb(SSTHRESH_RGB).stroke_width(2),
            ))
            .map_err(err)?
            .label("ssthresh")
            .legend(|(x, y)| PathElement::new([(x, y), (x + 20, y)], rgb(SSTHRESH_RGB)));
        chart
            .draw_series(LineSeries::new(
                steps(&|c| c.1),
                rgb(CWND_RGB).stroke_width(3),
            ))
            .map_err(err)?
            .label("cwnd")
            .legend(|(x, y)| PathElement::new([(x, y), (x + 20, y)], rgb(CWND_RGB)));
        // Phase names where each phase starts, above the window.
        let cwnd_at = |t: SimTime| {
            let i = p.cwnd.partition_point(|c| c.0 <= t);
            p.cwnd.get(i.saturating_sub(1)).map_or(0, |c| c.1)
        };
        let mut last_label: Option<i32> = None;
        for &(t, phase) in &p.phases {
            let at = (ms(t), cap(cwnd_at(t)) + y.end * 0.05);
            let px = chart.backend_coord(&at).0;
            if last_label.is_some_and(|end| px < end + LABEL_GAP) || !x.contains(&at.0) {
                continue;
            }
            last_label = Some(px + CHAR_WIDTH * phase.name().len() as i32);
            chart
                .draw_series(std::iter::once(Text::new(
                    phase.name(),
                    at,
                    (FONT, 13).into_font().color(&RGBColor(60, 60, 60)),
                )))
                .map_err(err)?;
        }
        // Each loss: a mark on the window where the sender noticed it
        // (triangle: three duplicate ACKs; cross: a timeout), named when
        // there is room.
        let marks = |timeout: bool| {
            p.losses
                .iter()
                .filter(move |l| matches!(l.1, Loss::Timeout) == timeout)
                .map(|l| (ms(l.0), cap(cwnd_at(l.0))))
                .collect::<Vec<_>>()
        };
        chart
            .draw_series(
                marks(false)
                    .into_iter()
                    .map(|at| TriangleMarker::new(at, 7, rgb(RETRANSMIT_RGB).filled())),
            )
            .map_err(err)?
            .label("fast retransmit")
            .legend(|(x, y)| TriangleMarker::new((x + 10, y), 6, rgb(RETRANSMIT_RGB).filled()));
        chart
            .draw_series(
                marks(true)
                    .into_iter()
                    .map(|at| Cross::new(at, 7, rgb(RETRANSMIT_RGB).stroke_width(3))),
            )
            .map_err(err)?
            .label("timeout")
            .legend(|(x, y)| Cross::new((x + 10, y), 5, rgb(RETRANSMIT_RGB).stroke_width(3)));
        loss_labels(chart, p, &x, |t, _| (ms(t), y.end * 0.97))
    })
}

/// The sequence-number graph: each data segment a vertical bar from its
/// first to its last byte at the time it was sent (red if it was sent
/// before, crossed if it was lost), and the ACK line.
pub fn to_seq_svg(p: &TcpPlot, title: &str) -> Result<Drawn, String> {
    let x = p.span_ms();
    let top = p
        .sent
        .iter()
        .map(|s| s.seq + s.len)
        .chain(p.acks.iter().map(|a| a.1))
        .max()
        .unwrap_or(1) as f64
        * 1.05;
    let y = 0.0..top.max(1.0);
    chart(
        title,
        x.clone(),
        y.clone(),
        "sequence number (bytes, relative)",
        80,
        |chart| {
            // The ACK line: steps up as acknowledgments arrive.
            let acks = steps(p.acks.iter().map(|&(t, a)| (ms(t), a as f64)));
            chart
                .draw_series(LineSeries::new(acks, rgb(ACK_RGB).stroke_width(2)))
                .map_err(err)?
                .label("ACK received")
                .legend(|(x, y)| PathElement::new([(x, y), (x + 20, y)], rgb(ACK_RGB)));
            let first = |retransmit: bool| {
                p.sent
                    .iter()
                    .filter(move |s| s.retransmit == retransmit)
                    .map(move |s| {
                        let t = ms(s.time);
                        PathElement::new(
                            [(t, s.seq as f64), (t, (s.seq + s.len) as f64)],
                            if retransmit {
                                rgb(RETRANSMIT_RGB).stroke_width(3)
                            } else {
                                rgb(DATA_RGB).stroke_width(2)
                            },
                        )
                    })
            };
            chart
                .draw_series(first(false))
                .map_err(err)?
                .label("data segment")
                .legend(|(x, y)| {
                    PathElement::new([(x + 10, y - 6), (x + 10, y + 6)], rgb(DATA_RGB))
                });
            chart
                .draw_series(first(true))
                .map_err(err)?
                .label("retransmission")
                .legend(|(x, y)| {
                    PathElement::new([(x + 10, y - 6), (x + 10, y + 6)], rgb(RETRANSMIT_RGB))
                });
            // A cross over each segment lost on the way.
            chart
                .draw_series(
                    p.sent
                        .iter()
                        .filter(|s| s.lost)
                        .map(|s| Cross::new((ms(s.time), (s.seq + s.len / 2) as f64), 6, BLACK)),
                )
                .map_err(err)?
                .label("lost")
                .legend(|(x, y)| Cross::new((x + 10, y), 5, BLACK));
            // Over the sequence number the loss concerns.
            loss_labels(chart, p, &x, |t, loss| {
                let seq = match loss {
                    Loss::FastRetransmit { seq } => seq as f64,
                    Loss::Timeout => acked_at(p, t) as f64,
                };
                (ms(t), seq + y.end * 0.04)
            })
        },
    )
}
