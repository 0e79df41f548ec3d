//! TCP plots for slides (`wiretale run --plot cwnd.svg|seq.svg`): the
//! points drawn in the SVG are read back, mapped to data through the
//! plot's axes, and checked against the trace's own events.

use crate::captures::{renders, run};
use std::collections::BTreeMap;
use wiretale::net::packet::Payload;
use wiretale::sim::SimTime;
use wiretale::trace::Event;
use wiretale::trace::tcp_plot::{self, TcpPlot};

/// Every `<polyline>` of a colour: its points in pixels.
fn polylines(svg: &str, colour: [u8; 3]) -> Vec<Vec<(f64, f64)>> {
    let hex = format!("#{:02X}{:02X}{:02X}", colour[0], colour[1], colour[2]);
    let doc = roxmltree::Document::parse(svg).unwrap();
    doc.descendants()
        .filter(|n| n.has_tag_name("polyline") && n.attribute("stroke") == Some(hex.as_str()))
        .map(|n| {
            n.attribute("points")
                .unwrap()
                .split_whitespace()
                .map(|p| {
                    let (x, y) = p.split_once(',').unwrap();
                    (x.parse().unwrap(), y.parse().unwrap())
                })
                .collect()
        })
        .collect()
}

/// The congestion window drawn is the one the sender recorded: every
/// `cwnd` event of the client's connection is a corner of the cwnd line,
/// at its time and value (to a pixel).
#[test]
fn the_cwnd_plot_draws_the_traces_cwnd_events() {
    let (trace, title) = run("tcp_lossy_transfer");
    let plot = TcpPlot::of(&trace, None).expect("a plot");
    let client = trace.nodes.iter().position(|n| n == "client").unwrap() as u32;
    assert_eq!(plot.sender, client);
    let events: Vec<(f64, f64)> = trace
        .records
        .iter()
        .filter_map(|r| match &r.event {
            Event::Cwnd {
                host, conn, cwnd, ..
            } if *host == client && *conn == plot.conn => {
                Some((r.time.as_nanos() as f64 / 1e6, f64::from(*cwnd)))
            }
            _ => None,
        })
        .collect();
    assert!(events.len() > 100, "{} cwnd events", events.len());
    let drawn = tcp_plot::to_cwnd_svg(&plot, &title).unwrap();
    renders(&drawn.svg);
    // The cwnd line (the legend's sample is a short one of the same
    // colour).
    let lines = polylines(&drawn.svg, tcp_plot::CWND_RGB);
    assert_eq!(lines.len(), 2, "the cwnd line and its legend sample");
    let line = lines.iter().max_by_key(|l| l.len()).unwrap();
    let corners: Vec<(f64, f64)> = line.iter().map(|&(x, y)| drawn.to_data(x, y)).collect();
    // One pixel, in data units.
    let (px, py) = &drawn.pixels;
    let (dx, dy) = &drawn.data;
    let tol_x = (dx.end - dx.start) / f64::from(px.end - px.start) * 1.5;
    let tol_y = (dy.end - dy.start) / f64::from(py.end - py.start) * 1.5;
    for (t, c) in &events {
        assert!(
            corners
                .iter()
                .any(|(x, y)| (x - t).abs() <= tol_x && (y - c).abs() <= tol_y),
            "cwnd {c} at {t} ms is not on the line"
        );
    }
    // Steps: two corners per change, and the line ends at the right edge.
    assert_eq!(corners.len(), 2 * events.len());
    // The losses are named: fast retransmits and the timeout of this run.
    let fast = trace
        .records
        .iter()
        .filter(|r| matches!(&r.event, Event::FastRetransmit { host, .. } if *host == client))
        .count();
    let timeouts = trace
        .records
        .iter()
        .filter(|r| matches!(&r.event, Event::RetransmitTimeout { host, .. } if *host == client))
        .count();
    assert!(
        fast > 0 && timeouts > 0,
        "{fast} fast retransmits, {timeouts} timeouts"
    );
    assert_eq!(plot.losses.len(), fast + timeouts);
    let texts = |svg: &str| -> Vec<String> {
        let doc = roxmltree::Document::parse(svg).unwrap();
        doc.descendants()
            .filter(|n| n.has_tag_name("text"))
            .filter_map(|n| n.text())
            .map(|t| t.trim().to_owned())
            .collect()
    };
    let whole = texts(&drawn.svg);
    for name in ["slow start", "fast recovery", "fast retransmit", "timeout"] {
        assert!(
            whole.iter().any(|t| t == name),
            "no label {name:?} in {whole:?}"
        );
    }
    // Labels that would overlap are left out; the close-up of the first
    // 700 ms names every phase it goes through.
    let close = tcp_plot::to_cwnd_svg(
        &plot.within(SimTime::ZERO, SimTime::from_millis(700)),
        &title,
    )
    .unwrap();
    let near = texts(&close.svg);
    for name in [
        "slow start",
        "fast recovery",
        "congestion avoidance",
        "fast retransmit",
    ] {
        assert!(
            near.iter().any(|t| t == name),
            "no label {name:?} in {near:?}"
        );
    }
}

/// The sequence graph draws each data segment the client sent as a bar
/// from its first to its last byte (relative to the SYN) at its send
/// time, retransmissions in red, and the ACKs it received as a line.
#[test]
fn the_sequence_plot_draws_every_segment_and_marks_retransmissions() {
    let (trace, title) = run("tcp_lossy_transfer");
    let plot = TcpPlot::of(&trace, None).expect("a plot");
    let client = plot.sender;
    // The client's segments from the trace, with their own arithmetic.
    let mut isn = None;
    let mut highest = 0u32;
    let mut first_sends = Vec::new();
    let mut resends = Vec::new();
    let mut sent_at: BTreeMap<u64, f64> = BTreeMap::new();
    for r in &trace.records {
        let Event::SegmentSent { host, packet } = &r.event else {
            continue;
        };
        if *host != client {
            continue;
        }
        let p = trace.packet(*packet).unwrap();
        let Payload::Tcp(s) = &p.payload else {
            continue;
        };
        if (p.src_addr(), p.dst_addr()) != plot.conn {
            continue;
        }
        if s.flags.syn() {
            isn = Some(s.seq);
        }
        if s.payload.is_empty() {
            continue;
        }
        let seq = s.seq.wrapping_sub(isn.expect("the SYN first"));
        let end = seq + s.payload.len() as u32;
        let t = r.time.as_nanos() as f64 / 1e6;
        sent_at.insert(*packet, t);
        if seq < highest {
            resends.push((t, f64::from(seq), f64::from(end)));
        } else {
            first_sends.push((t, f64::from(seq), f64::from(end)));
        }
        highest = highest.max(end);
    }
    assert!(!resends.is_empty(), "a lossy run resends");
    let drawn = tcp_plot::to_seq_svg(&plot, &title).unwrap();
    renders(&drawn.svg);
    let (px, py) = &drawn.pixels;
    let (dx, dy) = &drawn.data;
    let tol_x = (dx.end - dx.start) / f64::from(px.end - px.start) * 1.5;
    let tol_y = (dy.end - dy.start) / f64::from(py.end - py.start) * 1.5;
    let bars = |colour| -> Vec<(f64, f64, f64)> {
        polylines(&drawn.svg, colour)
            .into_iter()
            .filter(|l| l.len() == 2 && l[0].0 == l[1].0)
            .map(|l| {
                let (t, a) = drawn.to_data(l[0].0, l[0].1);
                let (_, b) = drawn.to_data(l[1].0, l[1].1);
                (t, a.min(b), a.max(b))
            })
            .collect()
    };
    let check = |drawn_bars: &[(f64, f64, f64)], want: &[(f64, f64, f64)], what: &str| {
        // The legend adds one sample bar of each kind.
        assert_eq!(drawn_bars.len(), want.len() + 1, "{what}");
        for (t, a, b) in want {
            assert!(
                drawn_bars.iter().any(|(x, lo, hi)| (x - t).abs() <= tol_x
                    && (lo - a).abs() <= tol_y
                    && (hi - b).abs() <= tol_y),
                "{what} {a}..{b} at {t} ms is not drawn (tolerance {tol_x} ms, {tol_y} bytes); near: {:?}",
                drawn_bars
                    .iter()
                    .filter(|d| (d.0 - t).abs() < 30.0)
                    .collect::<Vec<_>>()
            );
        }
    };
    check(&bars(tcp_plot::DATA_RGB), &first_sends, "segment");
    check(&bars(tcp_plot::RETRANSMIT_RGB), &resends, "retransmission");
    // The ACK line climbs to the last byte plus the FIN.
    let acks = polylines(&drawn.svg, tcp_plot::ACK_RGB);
    let top = acks
        .iter()
        .flatten()
        .map(|&(x, y)| drawn.to_data(x, y).1)
        .fold(0.0, f64::max);
    assert!(
        (top - f64::from(highest)).abs() <= tol_y + 1.0,
        "acks reach {top}, data {highest}"
    );
    // Lost segments are crossed out: one cross per segment the trace
    // says was dropped (plus the legend's).
    let lost = trace
        .records
        .iter()
        .filter(
            |r| matches!(&r.event, Event::Dropped { packet, .. } if sent_at.contains_key(packet)),
        )
        .count();
    assert!(lost > 0);
    assert_eq!(plot.sent.iter().filter(|s| s.lost).count(), lost);
}

/// `--plot` names what it draws by the file name, and says so when the
/// name does not tell.
#[test]
fn the_plot_file_name_chooses_the_plot() {
    let dir = std::env::temp_dir().join(format!("wiretale-plots-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let bin = env!("CARGO_BIN_EXE_wiretale");
    let ok = std::process::Command::new(bin)
        .args(["run", "tcp_handshake", "--format", "jsonl", "--plot"])
        .arg(dir.join("cwnd.svg"))
        .arg("--plot")
        .arg(dir.join("seq.svg"))
        .output()
        .unwrap();
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    for f in ["cwnd.svg", "seq.svg"] {
        renders(&std::fs::read_to_string(dir.join(f)).unwrap());
    }
    let bad = std::process::Command::new(bin)
        .args(["run", "tcp_handshake", "--plot"])
        .arg(dir.join("plot.svg"))
        .output()
        .unwrap();
    assert!(!bad.status.success());
    let err = String::from_utf8_lossy(&bad.stderr);
    assert!(
        err.contains("cwnd.svg (congestion window) or seq.svg"),
        "{err}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
