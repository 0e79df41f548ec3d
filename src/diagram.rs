//! State-machine diagrams as the RFCs draw them, from each machine's
//! `TRANSITIONS` table: states in layers from the initial one (the TCP
//! diagram placed by hand after RFC 9293 Figure 5), edges of one pair of
//! states merged into one arrow, and every label placed where it covers no
//! other label and no state. The visualizer's State machines tab draws the
//! same layout; [`to_svg`] exports it for slides (`wiretale diagram`).
//!
//! The layout measures text with a fixed estimate of glyph widths (a
//! little wider than DejaVu Sans), so what it promises holds in any
//! viewer that uses a font no wider.

use crate::proto::Transition;
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// A rectangle: top-left corner and size, y down.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rect {
    pub x: f64,
    pub y: f64,
    pub w: f64,
    pub h: f64,
}

impl Rect {
    fn centered(cx: f64, cy: f64, w: f64, h: f64) -> Rect {
        Rect {
            x: cx - w / 2.0,
            y: cy - h / 2.0,
            w,
            h,
        }
    }

    pub fn center(&self) -> (f64, f64) {
        (self.x + self.w / 2.0, self.y + self.h / 2.0)
    }

    /// True if the two overlap (touching edges do not count).
    pub fn overlaps(&self, o: &Rect) -> bool {
        self.x < o.x + o.w && o.x < self.x + self.w && self.y < o.y + o.h && o.y < self.y + self.h
    }

    fn grow(&self, by: f64) -> Rect {
        Rect {
            x: self.x - by,
            y: self.y - by,
            w: self.w + 2.0 * by,
            h: self.h + 2.0 * by,
        }
    }

    fn shift(&mut self, dx: f64, dy: f64) {
        self.x += dx;
        self.y += dy;
    }
}

/// A state's box.
#[derive(Debug, Clone, PartialEq)]
pub struct StateBox {
    pub name: &'static str,
    pub rect: Rect,
}

/// One arrow: every transition between one pair of states, in one
/// direction.
#[derive(Debug, Clone, PartialEq)]
pub struct Edge {
    pub from: &'static str,
    pub to: &'static str,
    /// The transitions it stands for (indices into the table).
    pub transitions: Vec<usize>,
    /// The points it passes through, from `from`'s box to `to`'s.
    pub path: Vec<(f64, f64)>,
    /// Its label, one line per transition (long ones wrapped).
    pub lines: Vec<String>,
    pub label: Rect,
}

/// A laid-out diagram.
#[derive(Debug, Clone, PartialEq)]
pub struct Diagram {
    pub states: Vec<StateBox>,
    pub edges: Vec<Edge>,
    pub width: f64,
    pub height: f64,
}

/// Font sizes the layout assumes, and their widest average glyph.
pub const STATE_FONT: f64 = 12.0;
pub const LABEL_FONT: f64 = 10.5;
const GLYPH: f64 = 0.66;
const LINE: f64 = 1.25;
/// Label lines are wrapped at this many characters.
const WRAP: usize = 30;

fn text_width(s: &str, size: f64) -> f64 {
    s.chars().count() as f64 * size * GLYPH
}

/// A label's lines: one per transition, long ones wrapped at spaces.
fn wrap(label: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut line = String::new();
    for word in label.split(' ') {
        if !line.is_empty() && line.chars().count() + 1 + word.chars().count() > WRAP {
            out.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() {
        out.push(line);
    }
    out
}

/// The diagrams `wiretale diagram` knows: name, title, states, edges,
/// hand placement.
pub fn machines() -> Vec<(
    &'static str,
    &'static str,
    Vec<&'static str>,
    &'static [Transition],
)> {
    use crate::proto::{ftp, imap, pop3, scp, smtp, telnet};
    vec![
        (
            "tcp",
            "TCP connection states (RFC 9293 Figure 5)",
            vec!["CLOSED"],
            crate::net::tcp::TRANSITIONS,
        ),
        (
            "smtp",
            "SMTP server (RFC 5321)",
            smtp::STATES.to_vec(),
            smtp::TRANSITIONS,
        ),
        (
            "smtp-client",
            "SMTP client (RFC 5321)",
            smtp::CLIENT_STATES.to_vec(),
            smtp::CLIENT_TRANSITIONS,
        ),
        (
            "pop3",
            "POP3 server (RFC 1939)",
            pop3::STATES.to_vec(),
            pop3::TRANSITIONS,
        ),
        (
            "pop3-client",
            "POP3 client (RFC 1939)",
            pop3::CLIENT_STATES.to_vec(),
            pop3::CLIENT_TRANSITIONS,
        ),
        (
            "imap",
            "IMAP server (RFC 3501 §3)",
            imap::STATES.to_vec(),
            imap::TRANSITIONS,
        ),
        (
            "imap-client",
            "IMAP client (RFC 3501)",
            imap::CLIENT_STATES.to_vec(),
            imap::CLIENT_TRANSITIONS,
        ),
        (
            "ftp",
            "FTP server (RFC 959)",
            ftp::STATES.to_vec(),
            ftp::TRANSITIONS,
        ),
        (
            "ftp-client",
            "FTP client (RFC 959)",
            ftp::CLIENT_STATES.to_vec(),
            ftp::CLIENT_TRANSITIONS,
        ),
        (
            "ssh",
            "SSH server running scp (RFC 4253, 4252, 4254)",
            scp::STATES.to_vec(),
            scp::TRANSITIONS,
        ),
        (
            "ssh-client",
            "SSH client running scp (RFC 4253, 4252, 4254)",
            scp::CLIENT_STATES.to_vec(),
            scp::CLIENT_TRANSITIONS,
        ),
        (
            "telnet",
            "TELNET server (RFC 854)",
            telnet::STATES.to_vec(),
            telnet::TRANSITIONS,
        ),
        (
            "telnet-client",
            "TELNET client (RFC 854)",
            telnet::CLIENT_STATES.to_vec(),
            telnet::CLIENT_TRANSITIONS,
        ),
        (
            "telnet-option",
            "TELNET option negotiation, one side of one option (RFC 855, RFC 1143)",
            telnet::OPTION_STATES.to_vec(),
            telnet::OPTION_TRANSITIONS,
        ),
    ]
}

/// Hand placement of TCP's states, (column, row), after RFC 9293 Figure
/// 5: opening at the top, ESTABLISHED in the middle, the active closer
/// on the left. Machines with no hand placement are laid out in layers.
const TCP_PLACES: &[(&str, (usize, usize))] = &[
    ("CLOSED", (1, 0)),
    ("LISTEN", (1, 1)),
    ("SYN-RECEIVED", (0, 2)),
    ("SYN-SENT", (2, 2)),
    ("ESTABLISHED", (1, 3)),
    ("FIN-WAIT-1", (0, 4)),
    ("CLOSE-WAIT", (2, 4)),
    ("FIN-WAIT-2", (0, 5)),
    ("CLOSING", (1, 5)),
    ("LAST-ACK", (2, 5)),
    ("TIME-WAIT", (1, 6)),
];

/// SMTP server: the mail transaction down the middle, AUTH beside READY,
/// CLOSED below it where every QUIT goes; the way back to READY (RSET,
/// the end of DATA) on the right.
const SMTP_PLACES: &[(&str, (usize, usize))] = &[
    ("CONNECTED", (1, 0)),
    ("READY", (1, 1)),
    ("AUTH-CONTINUE", (0, 1)),
    ("MAIL", (1, 2)),
    ("RCPT", (1, 3)),
    ("DATA", (1, 4)),
    ("CLOSED", (0, 3)),
];

/// FTP server: login down the middle, the two ways into a transfer
/// (passive connected at once; active or waiting) below.
const FTP_PLACES: &[(&str, (usize, usize))] = &[
    ("AWAITING-USER", (1, 0)),
    ("AWAITING-PASSWORD", (1, 1)),
    ("LOGGED-IN", (1, 2)),
    ("DATA-READY", (1, 3)),
    ("AWAITING-DATA-CONNECTION", (0, 4)),
    ("TRANSFERRING", (1, 5)),
    ("CLOSED", (2, 2)),
];

/// The hand placement of a machine, if it has one (found by its table).
fn places_for(transitions: &[Transition]) -> Option<&'static [(&'static str, (usize, usize))]> {
    use crate::proto::{ftp, smtp};
    let same = |t: &[Transition]| std::ptr::eq(t, transitions);
    if same(crate::net::tcp::TRANSITIONS) {
        Some(TCP_PLACES)
    } else if same(smtp::TRANSITIONS) {
        Some(SMTP_PLACES)
    } else if same(ftp::TRANSITIONS) {
        Some(FTP_PLACES)
    } else {
        None
    }
}

/// Every state named by the table, after `states` (in their order).
fn all_states(states: &[&'static str], transitions: &[Transition]) -> Vec<&'static str> {
    let mut out: Vec<&'static str> = states.to_vec();
    for (a, b, _) in transitions {
        for s in [*a, *b] {
            if !out.contains(&s) {
                out.push(s);
            }
        }
    }
    out
}

/// (column, row) of each state: the hand placement when every state has
/// one, else layers by distance from the first state, ordered in each
/// layer by where their predecessors are.
fn grid(states: &[&'static str], transitions: &[Transition]) -> Vec<(usize, usize)> {
    if let Some(places) = places_for(transitions)
        && states.iter().all(|s| places.iter().any(|(n, _)| n == s))
    {
        return states
            .iter()
            .map(|s| places.iter().find(|(n, _)| n == s).map_or((0, 0), |p| p.1))
            .collect();
    }
    let index: BTreeMap<&str, usize> = states.iter().enumerate().map(|(i, s)| (*s, i)).collect();
    let mut rank = vec![usize::MAX; states.len()];
    rank[0] = 0;
    let mut queue = std::collections::VecDeque::from([0usize]);
    while let Some(i) = queue.pop_front() {
        for (a, b, _) in transitions {
            if index.get(a) == Some(&i)
                && let Some(&j) = index.get(b)
                && rank[j] == usize::MAX
            {
                rank[j] = rank[i] + 1;
                queue.push_back(j);
            }
        }
    }
    let deepest = rank
        .iter()
        .filter(|&&r| r != usize::MAX)
        .max()
        .copied()
        .unwrap_or(0);
    for r in rank.iter_mut().filter(|r| **r == usize::MAX) {
        *r = deepest + 1;
    }
    // Terminal states (no way out) go to the bottom row, as in the RFCs'
    // figures.
    let bottom = rank.iter().max().copied().unwrap_or(0);
    for (i, s) in states.iter().enumerate() {
        let leaves = transitions.iter().any(|(a, b, _)| a == s && b != s);
        if !leaves && i != 0 {
            rank[i] = bottom.max(rank[i]);
        }
    }
    let rows = rank.iter().max().copied().unwrap_or(0) + 1;
    let mut layers: Vec<Vec<usize>> = vec![Vec::new(); rows];
    for (i, &r) in rank.iter().enumerate() {
        layers[r].push(i);
    }
    // Barycentre ordering, top down, twice.
    let mut col = vec![0.0f64; states.len()];
    for layer in &layers {
        for (k, &i) in layer.iter().enumerate() {
            col[i] = k as f64;
        }
    }
    for _ in 0..2 {
        for layer in layers.iter_mut().skip(1) {
            let mut keyed: Vec<(f64, usize)> = layer
                .iter()
                .map(|&i| {
                    let preds: Vec<f64> = transitions
                        .iter()
                        .filter(|(_, b, _)| index.get(b) == Some(&i))
                        .filter_map(|(a, _, _)| index.get(a))
                        .filter(|&&j| rank[j] < rank[i])
                        .map(|&j| col[j])
                        .collect();
                    let key = if preds.is_empty() {
                        col[i]
                    } else {
                        preds.iter().sum::<f64>() / preds.len() as f64
                    };
                    (key, i)
                })
                .collect();
            keyed.sort_by(|a, b| a.0.total_cmp(&b.0));
            *layer = keyed.into_iter().map(|(_, i)| i).collect();
            for (k, &i) in layer.iter().enumerate() {
                col[i] = k as f64;
            }
        }
    }
    // Centre each layer under the widest.
    let widest = layers.iter().map(Vec::len).max().unwrap_or(1);
    let mut out = vec![(0, 0); states.len()];
    for (r, layer) in layers.iter().enumerate() {
        let offset = (widest - layer.len()) / 2;
        for (k, &i) in layer.iter().enumerate() {
            out[i] = (k + offset, r);
        }
    }
    out
}

/// Lays out a machine: `states` first (their order is kept where it can
/// be), then any other state the table names.
pub fn layout(states: &[&'static str], transitions: &[Transition]) -> Diagram {
    let states = all_states(states, transitions);
    let places = grid(&states, transitions);
    // Wider gaps until every label finds a free place.
    let mut best: Option<(usize, Diagram)> = None;
    for attempt in 0..10 {
        let spread = 1.0 + 0.25 * attempt as f64;
        let d = place(&states, &places, transitions, spread);
        let clashes = overlaps(&d).len();
        if clashes == 0 {
            return d;
        }
        if best.as_ref().is_none_or(|(n, _)| clashes < *n) {
            best = Some((clashes, d));
        }
    }
    best.map(|(_, d)| d)
        .unwrap_or_else(|| place(&states, &places, transitions, 1.0))
}

/// Every pair of a label and another label or a state box that overlap.
pub fn overlaps(d: &Diagram) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for (i, e) in d.edges.iter().enumerate() {
        for s in &d.states {
            if e.label.overlaps(&s.rect) {
                out.push((e.lines.join(" "), s.name.to_owned()));
            }
        }
        for f in &d.edges[i + 1..] {
            if e.label.overlaps(&f.label) {
                out.push((e.lines.join(" "), f.lines.join(" ")));
            }
        }
    }
    out
}

const BOX_H: f64 = 30.0;
const PAD: f64 = 3.0;

fn place(
    states: &[&'static str],
    places: &[(usize, usize)],
    transitions: &[Transition],
    spread: f64,
) -> Diagram {
    let box_w: Vec<f64> = states
        .iter()
        .map(|s| text_width(s, STATE_FONT) + 24.0)
        .collect();
    let widest = box_w.iter().copied().fold(80.0, f64::max);
    let col_gap = (widest + 150.0) * spread;
    let row_gap = 110.0 * spread;
    let boxes: Vec<StateBox> = states
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let (c, r) = places[i];
            StateBox {
                name: s,
                rect: Rect::centered(c as f64 * col_gap, r as f64 * row_gap, box_w[i], BOX_H),
            }
        })
        .collect();
    let at = |s: &str| boxes.iter().position(|b| b.name == s);
    // One edge per ordered pair of states.
    let mut edges: Vec<Edge> = Vec::new();
    for (k, (a, b, label)) in transitions.iter().enumerate() {
        let (Some(_), Some(_)) = (at(a), at(b)) else {
            continue;
        };
        let lines = if label.is_empty() {
            Vec::new()
        } else {
            wrap(label)
        };
        match edges.iter_mut().find(|e| e.from == *a && e.to == *b) {
            Some(e) => {
                e.transitions.push(k);
                e.lines.extend(lines);
            }
            None => edges.push(Edge {
                from: a,
                to: b,
                transitions: vec![k],
                path: Vec::new(),
                lines,
                label: Rect {
                    x: 0.0,
                    y: 0.0,
                    w: 0.0,
                    h: 0.0,
                },
            }),
        }
    }
    // Paths.
    let mut loops_on: BTreeMap<&str, usize> = BTreeMap::new();
    for i in 0..edges.len() {
        let (a, b) = (edges[i].from, edges[i].to);
        let ra = boxes[at(a).unwrap_or(0)].rect;
        let rb = boxes[at(b).unwrap_or(0)].rect;
        edges[i].path = if a == b {
            let n = loops_on.entry(a).or_insert(0);
            *n += 1;
            self_loop(&ra, *n - 1)
        } else {
            // Straight when nothing is in the way; edges both ways bend
            // apart; otherwise the least bend that clears every other box.
            let back = edges.iter().any(|e| e.from == b && e.to == a);
            let clear = |path: &[(f64, f64)]| {
                boxes.iter().all(|o| {
                    o.name == a
                        || o.name == b
                        || !path
                            .windows(2)
                            .any(|w| segment_hits(w[0], w[1], &o.rect.grow(8.0)))
                })
            };
            let bends: &[f64] = if back {
                &[36.0, 70.0, 110.0, 160.0, 220.0]
            } else {
                &[0.0, 50.0, -50.0, 90.0, -90.0, 140.0, -140.0, 200.0, -200.0]
            };
            bends
                .iter()
                .map(|&bend| curve(&ra, &rb, bend))
                .find(|p| clear(p))
                .unwrap_or_else(|| curve(&ra, &rb, bends[0]))
        };
    }
    // Labels: the first free place along the path, then beside it.
    let mut taken: Vec<Rect> = boxes.iter().map(|b| b.rect.grow(PAD)).collect();
    let mut order: Vec<usize> = (0..edges.len()).collect();
    // Self-loops first: their labels have the fewest good places.
    order.sort_by_key(|&i| edges[i].from != edges[i].to);
    for i in order {
        let e = &edges[i];
        let w = e
            .lines
            .iter()
            .map(|l| text_width(l, LABEL_FONT))
            .fold(0.0, f64::max)
            + 2.0 * PAD;
        let h = e.lines.len() as f64 * LABEL_FONT * LINE + 2.0 * PAD;
        if e.lines.is_empty() {
            continue;
        }
        let candidates = label_candidates(e, w, h);
        let free = candidates
            .iter()
            .find(|r| !taken.iter().any(|t| t.overlaps(r)))
            .copied()
            .unwrap_or(candidates[0]);
        taken.push(free);
        edges[i].label = free;
    }
    // Move everything to a margin from the top left.
    let mut min = (f64::MAX, f64::MAX);
    let mut max = (f64::MIN, f64::MIN);
    let mut grow = |x: f64, y: f64| {
        min = (min.0.min(x), min.1.min(y));
        max = (max.0.max(x), max.1.max(y));
    };
    for b in &boxes {
        grow(b.rect.x, b.rect.y);
        grow(b.rect.x + b.rect.w, b.rect.y + b.rect.h);
    }
    for e in &edges {
        for &(x, y) in &e.path {
            grow(x, y);
        }
        if !e.lines.is_empty() {
            grow(e.label.x, e.label.y);
            grow(e.label.x + e.label.w, e.label.y + e.label.h);
        }
    }
    let margin = 16.0;
    let (dx, dy) = (margin - min.0, margin - min.1);
    let mut boxes = boxes;
    for b in &mut boxes {
        b.rect.shift(dx, dy);
    }
    for e in &mut edges {
        for p in &mut e.path {
            p.0 += dx;
            p.1 += dy;
        }
        e.label.shift(dx, dy);
    }
    Diagram {
        states: boxes,
        edges,
        width: max.0 - min.0 + 2.0 * margin,
        height: max.1 - min.1 + 2.0 * margin,
    }
}

/// True if the segment from `a` to `b` passes through `r`.
fn segment_hits(a: (f64, f64), b: (f64, f64), r: &Rect) -> bool {
    let steps = (((b.0 - a.0).abs() + (b.1 - a.1).abs()) / 4.0)
        .ceil()
        .max(1.0) as usize;
    (0..=steps).any(|k| {
        let t = k as f64 / steps as f64;
        let (x, y) = (a.0 + (b.0 - a.0) * t, a.1 + (b.1 - a.1) * t);
        x > r.x && x < r.x + r.w && y > r.y && y < r.y + r.h
    })
}

/// Where the ray from a box's centre toward `toward` leaves the box.
fn border(r: &Rect, toward: (f64, f64)) -> (f64, f64) {
    let (cx, cy) = r.center();
    let (dx, dy) = (toward.0 - cx, toward.1 - cy);
    let tx = if dx.abs() > 1e-9 {
        (r.w / 2.0) / dx.abs()
    } else {
        f64::INFINITY
    };
    let ty = if dy.abs() > 1e-9 {
        (r.h / 2.0) / dy.abs()
    } else {
        f64::INFINITY
    };
    let t = tx.min(ty);
    (cx + dx * t, cy + dy * t)
}

/// A curve from box `a` to box `b` bent `bend` pixels to the right of its
/// direction (straight if 0), sampled as a polyline.
fn curve(a: &Rect, b: &Rect, bend: f64) -> Vec<(f64, f64)> {
    let (ca, cb) = (a.center(), b.center());
    let (dx, dy) = (cb.0 - ca.0, cb.1 - ca.1);
    let len = (dx * dx + dy * dy).sqrt().max(1e-9);
    let normal = (-dy / len, dx / len);
    let control = (
        (ca.0 + cb.0) / 2.0 + normal.0 * bend * 2.0,
        (ca.1 + cb.1) / 2.0 + normal.1 * bend * 2.0,
    );
    let start = border(a, if bend == 0.0 { cb } else { control });
    let end = border(b, if bend == 0.0 { ca } else { control });
    if bend == 0.0 {
        return vec![start, end];
    }
    (0..=24)
        .map(|k| {
            let t = k as f64 / 24.0;
            let u = 1.0 - t;
            (
                u * u * start.0 + 2.0 * u * t * control.0 + t * t * end.0,
                u * u * start.1 + 2.0 * u * t * control.1 + t * t * end.1,
            )
        })
        .collect()
}

/// The `n`th loop on a box: out of its right side and back, further out
/// for each further loop.
fn self_loop(r: &Rect, n: usize) -> Vec<(f64, f64)> {
    let right = r.x + r.w;
    let reach = 26.0 + 18.0 * n as f64;
    let (top, bottom) = (r.y + 6.0, r.y + r.h - 6.0);
    (0..=16)
        .map(|k| {
            let a = std::f64::consts::PI * (k as f64 / 16.0);
            let x = right + reach * a.sin();
            let y = top + (bottom - top) * (1.0 - a.cos()) / 2.0 - 10.0 * a.sin() * (n as f64);
            (x, y)
        })
        .collect()
}

/// Places a label of size `w` x `h` could go, best first: along the
/// path, then further to either side of it.
fn label_candidates(e: &Edge, w: f64, h: f64) -> Vec<Rect> {
    let point = |t: f64| {
        let n = e.path.len() - 1;
        let f = t * n as f64;
        let i = (f.floor() as usize).min(n.saturating_sub(1));
        let frac = f - i as f64;
        let (a, b) = (e.path[i], e.path[(i + 1).min(n)]);
        (a.0 + (b.0 - a.0) * frac, a.1 + (b.1 - a.1) * frac)
    };
    let mut out = Vec::new();
    if e.from == e.to {
        // Right of the loop's outermost point, then above and below it.
        let far = e
            .path
            .iter()
            .copied()
            .fold((f64::MIN, 0.0), |m, p| if p.0 > m.0 { p } else { m });
        for dy in [0.0, -h / 2.0, h / 2.0, -h, h] {
            for dx in [6.0, 24.0] {
                out.push(Rect {
                    x: far.0 + dx,
                    y: far.1 - h / 2.0 + dy,
                    w,
                    h,
                });
            }
        }
        return out;
    }
    for t in [0.5, 0.4, 0.6, 0.3, 0.7, 0.22, 0.78] {
        let (x, y) = point(t);
        for (dx, dy) in [
            (0.0, 0.0),
            (w / 2.0 + 6.0, 0.0),
            (-w / 2.0 - 6.0, 0.0),
            (0.0, -h / 2.0 - 4.0),
            (0.0, h / 2.0 + 4.0),
            (w / 2.0 + 6.0, -h),
            (-w / 2.0 - 6.0, h),
        ] {
            out.push(Rect::centered(x + dx, y + dy, w, h));
        }
    }
    out
}

/// How a diagram is coloured: the current state, the edges taken so far
/// (in order), and with them the possible next ones.
#[derive(Debug, Clone, Default)]
pub struct Marks<'a> {
    pub current: Option<&'a str>,
    pub taken: &'a [(&'a str, &'a str)],
}

/// Colours, shared with the visualizer.
pub const TAKEN_RGB: [u8; 3] = [0, 90, 170];
pub const NEXT_RGB: [u8; 3] = [213, 94, 0];
pub const OTHER_RGB: [u8; 3] = [150, 150, 150];
pub const CURRENT_RGB: [u8; 3] = [255, 205, 60];

/// How one edge is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EdgeKind {
    Taken,
    Next,
    Other,
}

impl Edge {
    /// Taken, a possible next step, or neither.
    pub fn kind(&self, marks: &Marks<'_>) -> EdgeKind {
        if marks
            .taken
            .iter()
            .any(|&(a, b)| a == self.from && b == self.to)
        {
            EdgeKind::Taken
        } else if marks.current == Some(self.from) {
            EdgeKind::Next
        } else {
            EdgeKind::Other
        }
    }
}

fn hex(c: [u8; 3]) -> String {
    format!("#{:02x}{:02x}{:02x}", c[0], c[1], c[2])
}

fn xml(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The diagram as SVG, with its title and a legend.
pub fn to_svg(d: &Diagram, title: &str, marks: &Marks<'_>) -> String {
    let top = 40.0;
    let legend_h = 34.0;
    // Room for the legend's four items.
    let width = d.width.max(620.0);
    let height = d.height + top + legend_h + 10.0;
    let mut s = String::new();
    let font = "DejaVu Sans, Helvetica, Arial, sans-serif";
    let _ = writeln!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0}" height="{height:.0}" viewBox="0 0 {width:.0} {height:.0}" font-family="{font}">"#
    );
    let _ = writeln!(s, r##"<rect width="100%" height="100%" fill="#ffffff"/>"##);
    // Arrowheads of one size whatever the edge's length.
    s.push_str("<defs>");
    for (id, c) in [
        ("taken", TAKEN_RGB),
        ("next", NEXT_RGB),
        ("other", OTHER_RGB),
    ] {
        let _ = write!(
            s,
            r#"<marker id="head-{id}" viewBox="0 0 10 10" refX="9" refY="5" markerUnits="userSpaceOnUse" markerWidth="10" markerHeight="10" orient="auto"><path d="M 0 0 L 10 5 L 0 10 z" fill="{}"/></marker>"#,
            hex(c)
        );
    }
    s.push_str("</defs>\n");
    let _ = writeln!(
        s,
        r##"<text x="16" y="26" font-size="16" font-weight="bold" fill="#222">{}</text>"##,
        xml(title)
    );
    let _ = writeln!(s, r#"<g transform="translate(0 {top})">"#);
    for e in &d.edges {
        let (id, c, w, dash) = match e.kind(marks) {
            EdgeKind::Taken => ("taken", TAKEN_RGB, 2.6, ""),
            EdgeKind::Next => ("next", NEXT_RGB, 2.0, r#" stroke-dasharray="6 3""#),
            EdgeKind::Other => ("other", OTHER_RGB, 1.3, ""),
        };
        let pts: Vec<String> = e
            .path
            .iter()
            .map(|(x, y)| format!("{x:.1},{y:.1}"))
            .collect();
        let _ = writeln!(
            s,
            r#"<polyline class="edge" points="{}" fill="none" stroke="{}" stroke-width="{w}"{dash} marker-end="url(#head-{id})"/>"#,
            pts.join(" "),
            hex(c)
        );
    }
    for e in &d.edges {
        if e.lines.is_empty() {
            continue;
        }
        let r = e.label;
        let _ = write!(
            s,
            r##"<g class="label"><rect x="{:.1}" y="{:.1}" width="{:.1}" height="{:.1}" rx="3" fill="#ffffff" fill-opacity="0.92"/>"##,
            r.x, r.y, r.w, r.h
        );
        for (k, line) in e.lines.iter().enumerate() {
            let _ = write!(
                s,
                r##"<text x="{:.1}" y="{:.1}" font-size="{LABEL_FONT}" text-anchor="middle" fill="#333">{}</text>"##,
                r.x + r.w / 2.0,
                r.y + PAD + LABEL_FONT * (k as f64 * LINE + 1.0),
                xml(line)
            );
        }
        s.push_str("</g>\n");
    }
    for b in &d.states {
        let r = b.rect;
        let current = marks.current == Some(b.name);
        let (fill, stroke, sw) = if current {
            (hex(CURRENT_RGB), "#784600", 2.5)
        } else {
            ("#ffffff".to_owned(), "#44546a", 1.2)
        };
        let _ = writeln!(
            s,
            r#"<g class="state"><rect x="{:.1}" y="{:.1}" width="{:.1}" height="{:.1}" rx="7" fill="{fill}" stroke="{stroke}" stroke-width="{sw}"/><text x="{:.1}" y="{:.1}" font-size="{STATE_FONT}" text-anchor="middle" fill="{}">{}</text></g>"#,
            r.x,
            r.y,
            r.w,
            r.h,
            r.x + r.w / 2.0,
            r.y + r.h / 2.0 + STATE_FONT * 0.36,
            if current { "#000" } else { "#1a2533" },
            xml(b.name)
        );
    }
    s.push_str("</g>\n");
    // The legend: what the strokes mean.
    let y = top + d.height + 18.0;
    let mut x = 16.0;
    let mut item = |s: &mut String, c: [u8; 3], w: f64, dash: &str, label: &str| {
        let _ = writeln!(
            s,
            r##"<line x1="{x:.0}" y1="{y:.0}" x2="{:.0}" y2="{y:.0}" stroke="{}" stroke-width="{w}"{dash}/><text x="{:.0}" y="{:.0}" font-size="11" fill="#333" class="legend">{}</text>"##,
            x + 28.0,
            hex(c),
            x + 34.0,
            y + 4.0,
            xml(label)
        );
        x += 34.0 + text_width(label, 11.0) + 18.0;
    };
    item(&mut s, TAKEN_RGB, 2.6, "", "taken so far");
    item(
        &mut s,
        NEXT_RGB,
        2.0,
        r#" stroke-dasharray="6 3""#,
        "possible next",
    );
    item(&mut s, OTHER_RGB, 1.3, "", "other transitions");
    let _ = writeln!(
        s,
        r##"<rect x="{x:.0}" y="{:.0}" width="26" height="14" rx="4" fill="{}" stroke="#784600"/><text x="{:.0}" y="{:.0}" font-size="11" fill="#333" class="legend">current state</text>"##,
        y - 7.0,
        hex(CURRENT_RGB),
        x + 32.0,
        y + 4.0
    );
    s.push_str("</svg>\n");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_labels_wrap_at_spaces() {
        let w = wrap("CWD PWD MKD RMD DELE RNFR RNTO TYPE SIZE MDTM REST / 2xx 3xx 5xx");
        assert!(w.len() > 1);
        assert!(w.iter().all(|l| l.chars().count() <= WRAP), "{w:?}");
        assert_eq!(
            w.join(" "),
            "CWD PWD MKD RMD DELE RNFR RNTO TYPE SIZE MDTM REST / 2xx 3xx 5xx"
        );
    }

    #[test]
    fn parallel_transitions_make_one_edge_with_a_line_each() {
        let t: &[Transition] = &[("A", "B", "one"), ("A", "B", "two"), ("B", "A", "back")];
        let d = layout(&["A", "B"], t);
        assert_eq!(d.edges.len(), 2);
        assert_eq!(d.edges[0].lines, ["one", "two"]);
        assert_eq!(d.edges[0].transitions, [0, 1]);
    }
}
