//! Two runs side by side: where they part, what each did next, and how
//! each ended.
//!
//! Two runs of one scenario (the original and a [what-if](super::whatif)
//! fork), or of two scenarios (a lab's reference and a student's file),
//! are compared record by record: they are the same up to the first record
//! whose text differs, the *first difference*. From there the comparison
//! shows what each run did next (the dialogue and TCP lines, without the
//! per-hop link and IP lines), which events one run has more of than the
//! other (`retransmit_timeout: 0 -> 1`), and two ladders drawn side by
//! side with the first arrow that differs highlighted on both.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::sim::SimTime;
use crate::trace::ladder::{self, Arrow, Ladder, LadderFilter};
use crate::trace::{Layer, Record, Trace};

/// One run to compare: a name for headings and its trace.
pub struct Side<'a> {
    pub name: String,
    pub trace: &'a Trace,
}

/// Where two runs part.
#[derive(Debug, Clone, PartialEq)]
pub struct Divergence {
    /// Records both runs have, the same, before it.
    pub common: usize,
    pub time: SimTime,
    /// The first differing record of each run (`None`: that run had ended).
    pub left: Option<String>,
    pub right: Option<String>,
}

/// Everything the comparison found.
#[derive(Debug, Clone, PartialEq)]
pub struct Comparison {
    pub left_name: String,
    pub right_name: String,
    /// `None` when the runs are the same, record for record.
    pub divergence: Option<Divergence>,
    /// What each run did next (at most [`NEXT_LINES`] lines each).
    pub left_next: Vec<String>,
    pub right_next: Vec<String>,
    /// Events (`layer event`) whose counts differ: left, right.
    pub counts: Vec<(String, usize, usize)>,
    /// When each run ended, and how many events each recorded.
    pub ends: (SimTime, SimTime),
    pub events: (usize, usize),
    pub left_ladder: Ladder,
    pub right_ladder: Ladder,
    /// The first arrow that differs, on each ladder.
    pub first_arrow: Option<(Option<usize>, Option<usize>)>,
}

/// How many lines of "what happened next" each side shows.
pub const NEXT_LINES: usize = 12;

/// True for the records a reader follows: not the per-hop link and IP
/// lines, nor the TCP estimator's bookkeeping.
fn notable(t: &Trace, r: &Record) -> bool {
    !matches!(t.layer(r), Layer::Link | Layer::Ip) && !matches!(t.event_name(r), "cwnd" | "rtt")
}

fn counts(t: &Trace) -> BTreeMap<String, usize> {
    let mut m = BTreeMap::new();
    for r in &t.records {
        *m.entry(format!("{} {}", t.layer(r).name(), t.event_name(r)))
            .or_insert(0) += 1;
    }
    m
}

/// An arrow as compared: who to whom, what, lost or not, and when sent.
fn arrow_key(a: &Arrow, l: &Ladder) -> (String, String, String, bool, SimTime) {
    let col = |c: usize| l.columns.get(c).cloned().unwrap_or_default();
    (col(a.from), col(a.to), a.label.clone(), a.lost, a.sent)
}

/// Compares two runs; the ladders keep to `filter`.
pub fn compare(left: &Side<'_>, right: &Side<'_>, filter: &LadderFilter) -> Comparison {
    let (a, b) = (left.trace, right.trace);
    let common = a
        .records
        .iter()
        .zip(&b.records)
        .take_while(|(x, y)| x.time == y.time && a.to_text(x) == b.to_text(y))
        .count();
    let same = common == a.records.len() && common == b.records.len();
    let divergence = (!same).then(|| {
        let (x, y) = (a.records.get(common), b.records.get(common));
        Divergence {
            common,
            time: x.or(y).map_or(SimTime::ZERO, |r| r.time),
            left: x.map(|r| a.to_text(r)),
            right: y.map(|r| b.to_text(r)),
        }
    });
    let next = |t: &Trace| -> Vec<String> {
        t.records
            .iter()
            .skip(common)
            .filter(|r| notable(t, r))
            .take(NEXT_LINES)
            .map(|r| t.to_text(r))
            .collect()
    };
    let (ca, cb) = (counts(a), counts(b));
    let mut keys: Vec<&String> = ca.keys().chain(cb.keys()).collect();
    keys.sort();
    keys.dedup();
    let counts = keys
        .into_iter()
        .filter_map(|k| {
            let (x, y) = (
                ca.get(k).copied().unwrap_or(0),
                cb.get(k).copied().unwrap_or(0),
            );
            (x != y).then(|| (k.clone(), x, y))
        })
        .collect();
    let end = |t: &Trace| t.records.last().map_or(SimTime::ZERO, |r| r.time);
    let (la, lb) = (ladder::build(a, filter), ladder::build(b, filter));
    let ka: Vec<_> = la.arrows.iter().map(|x| arrow_key(x, &la)).collect();
    let kb: Vec<_> = lb.arrows.iter().map(|x| arrow_key(x, &lb)).collect();
    let same_arrows = ka.iter().zip(&kb).take_while(|(x, y)| x == y).count();
    let first_arrow = (ka.len() != kb.len() || same_arrows < ka.len()).then(|| {
        (
            (same_arrows < ka.len()).then_some(same_arrows),
            (same_arrows < kb.len()).then_some(same_arrows),
        )
    });
    Comparison {
        left_name: left.name.clone(),
        right_name: right.name.clone(),
        divergence,
        left_next: next(a),
        right_next: next(b),
        counts,
        ends: (end(a), end(b)),
        events: (a.records.len(), b.records.len()),
        left_ladder: la,
        right_ladder: lb,
        first_arrow,
    }
}

impl Comparison {
    /// The comparison for a terminal.
    pub fn to_text(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(s, "left:  {}", self.left_name);
        let _ = writeln!(s, "right: {}", self.right_name);
        let Some(d) = &self.divergence else {
            let _ = writeln!(
                s,
                "\nThe two runs are the same, event for event ({} events).",
                self.events.0
            );
            return s;
        };
        let _ = writeln!(
            s,
            "\nThe runs are the same for {} events; they part at {}.",
            d.common, d.time
        );
        let _ = writeln!(s, "First difference:");
        let none = "(the run had ended)".to_string();
        let _ = writeln!(s, "  left:  {}", d.left.as_ref().unwrap_or(&none).trim());
        let _ = writeln!(s, "  right: {}", d.right.as_ref().unwrap_or(&none).trim());
        if let Some((l, r)) = self.first_arrow {
            let show = |ladder: &Ladder, i: Option<usize>| -> String {
                i.and_then(|i| ladder.arrows.get(i)).map_or_else(
                    || "(no more arrows)".to_string(),
                    |a| {
                        let col = |c: usize| ladder.columns.get(c).cloned().unwrap_or_default();
                        let label = a.label.lines().next().unwrap_or_default();
                        let lost = if a.lost { " (lost)" } else { "" };
                        format!("{} -> {}: {label}{lost}", col(a.from), col(a.to))
                    },
                )
            };
            let _ = writeln!(s, "On the ladder, the first arrow that differs:");
            let _ = writeln!(s, "  left:  {}", show(&self.left_ladder, l));
            let _ = writeln!(s, "  right: {}", show(&self.right_ladder, r));
        }
        for (name, lines) in [
            (&self.left_name, &self.left_next),
            (&self.right_name, &self.right_next),
        ] {
            let _ = writeln!(s, "\nThen, in {name}:");
            for l in lines {
                let _ = writeln!(s, "  {}", l.trim_end());
            }
        }
        if !self.counts.is_empty() {
            let _ = writeln!(s, "\nEvents that differ in number (left -> right):");
            for (k, x, y) in &self.counts {
                let _ = writeln!(s, "  {k}: {x} -> {y}");
            }
        }
        let _ = writeln!(
            s,
            "\nThe left run ends at {}, the right one at {}.",
            self.ends.0, self.ends.1
        );
        s
    }

    /// The two ladders side by side, titled, with the first arrow that
    /// differs highlighted on each.
    pub fn to_svg(&self, title: &str) -> String {
        let (ml, mr) = self.first_arrow.unwrap_or((None, None));
        let note = "first difference";
        let left = ladder::to_svg_marked(&self.left_ladder, &self.left_name, ml.map(|i| (i, note)));
        let right =
            ladder::to_svg_marked(&self.right_ladder, &self.right_name, mr.map(|i| (i, note)));
        let (wl, hl) = svg_size(&left);
        let (wr, hr) = svg_size(&right);
        let gap = 24.0;
        let top = 44.0;
        let width = wl + gap + wr;
        let height = top + hl.max(hr);
        let mut s = String::new();
        let _ = writeln!(
            s,
            r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0}" height="{height:.0}" viewBox="0 0 {width:.0} {height:.0}" font-family="DejaVu Sans, Helvetica, Arial, sans-serif">"#
        );
        let _ = writeln!(s, r##"<rect width="100%" height="100%" fill="#ffffff"/>"##);
        let _ = writeln!(
            s,
            r##"<text x="16" y="28" font-size="18" font-weight="bold" fill="#222">{}</text>"##,
            xml(title)
        );
        for (x, body) in [(0.0, &left), (wl + gap, &right)] {
            // Each ladder is a whole SVG document: nest it in place.
            let inner = body.replacen("<svg ", &format!(r#"<svg x="{x:.0}" y="{top:.0}" "#), 1);
            s.push_str(&inner);
        }
        let _ = writeln!(
            s,
            r##"<line x1="{:.0}" y1="{top:.0}" x2="{:.0}" y2="{height:.0}" stroke="#c0c7d0" stroke-width="2"/>"##,
            wl + gap / 2.0,
            wl + gap / 2.0
        );
        s.push_str("</svg>\n");
        s
    }
}

/// The width and height an SVG document declares.
fn svg_size(svg: &str) -> (f64, f64) {
    let attr = |name: &str| -> f64 {
        svg.split_once(&format!(" {name}=\""))
            .and_then(|(_, rest)| rest.split('"').next()?.parse().ok())
            .unwrap_or(0.0)
    };
    (attr("width"), attr("height"))
}

fn xml(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}
