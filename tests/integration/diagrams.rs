//! State-machine diagrams (`wiretale diagram`, the State machines tab):
//! laid out from each machine's table so that no label covers another
//! label or a state, each label beside its own arrow.

use wiretale::diagram::{self, Diagram, Marks, Rect};
use wiretale::proto::{Transition, dns, http, scp};

/// Every machine wiretale runs, with its states and table.
fn every_machine() -> Vec<(&'static str, Vec<&'static str>, &'static [Transition])> {
    let mut all: Vec<(&'static str, Vec<&'static str>, &'static [Transition])> =
        diagram::machines()
            .into_iter()
            .map(|(name, _, states, t)| (name, states, t))
            .collect();
    all.push(("http", http::STATES.to_vec(), http::TRANSITIONS));
    all.push(("scp", scp::STATES.to_vec(), scp::TRANSITIONS));
    all.push(("dns", dns::CLIENT_STATES.to_vec(), dns::CLIENT_TRANSITIONS));
    all
}

/// The shortest distance from a rectangle to a polyline.
fn distance(r: &Rect, path: &[(f64, f64)]) -> f64 {
    let to_point = |x: f64, y: f64| {
        let dx = (r.x - x).max(0.0).max(x - (r.x + r.w));
        let dy = (r.y - y).max(0.0).max(y - (r.y + r.h));
        (dx * dx + dy * dy).sqrt()
    };
    path.windows(2)
        .flat_map(|w| {
            (0..=50).map(move |k| {
                let t = f64::from(k) / 50.0;
                (
                    w[0].0 + (w[1].0 - w[0].0) * t,
                    w[0].1 + (w[1].1 - w[0].1) * t,
                )
            })
        })
        .map(|(x, y)| to_point(x, y))
        .fold(f64::MAX, f64::min)
}

fn check(name: &str, d: &Diagram, transitions: &[Transition]) {
    let clashes = diagram::overlaps(d);
    assert!(clashes.is_empty(), "{name}: {clashes:#?}");
    // Every transition is on the diagram, once.
    let mut seen: Vec<usize> = d.edges.iter().flat_map(|e| e.transitions.clone()).collect();
    seen.sort();
    assert_eq!(seen, (0..transitions.len()).collect::<Vec<_>>(), "{name}");
    for e in &d.edges {
        if e.lines.is_empty() {
            continue;
        }
        // A label sits beside its own arrow.
        let gap = distance(&e.label, &e.path);
        assert!(
            gap < 30.0,
            "{name}: label {:?} is {gap:.0} px from its arrow",
            e.lines
        );
        // Labels stay on the canvas.
        assert!(
            e.label.x >= 0.0 && e.label.y >= 0.0,
            "{name}: {:?}",
            e.lines
        );
        assert!(e.label.x + e.label.w <= d.width && e.label.y + e.label.h <= d.height);
    }
    // States do not overlap each other.
    for (i, a) in d.states.iter().enumerate() {
        for b in &d.states[i + 1..] {
            assert!(
                !a.rect.overlaps(&b.rect),
                "{name}: {} and {}",
                a.name,
                b.name
            );
        }
    }
}

#[test]
fn no_label_covers_another_label_or_a_state_in_any_diagram() {
    for (name, states, transitions) in every_machine() {
        let d = diagram::layout(&states, transitions);
        check(name, &d, transitions);
    }
}

#[test]
fn exported_diagrams_render_with_a_legend_and_fixed_arrowheads() {
    for (name, title, states, transitions) in diagram::machines() {
        let d = diagram::layout(&states, transitions);
        let first = d.states[0].name;
        let next: Vec<(&str, &str)> = d
            .edges
            .iter()
            .filter(|e| e.from == first)
            .map(|e| (e.from, e.to))
            .take(1)
            .collect();
        let marks = Marks {
            current: next.first().map(|e| e.1),
            taken: &next,
        };
        let svg = diagram::to_svg(&d, title, &marks);
        crate::captures::renders(&svg);
        // Arrowheads are sized in pixels, not by the stroke or the edge.
        assert!(svg.contains(r#"markerUnits="userSpaceOnUse""#), "{name}");
        for item in [
            "taken so far",
            "possible next",
            "other transitions",
            "current state",
        ] {
            assert!(
                svg.contains(&format!(">{item}<")),
                "{name}: no legend item {item:?}"
            );
        }
        // The path taken and the possible next steps are drawn apart.
        if !next.is_empty() {
            assert!(svg.contains("url(#head-taken)"), "{name}");
        }
    }
}

#[test]
fn wiretale_diagram_writes_an_svg_and_refuses_an_unknown_machine() {
    let dir = std::env::temp_dir().join(format!("wiretale-diagrams-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let bin = env!("CARGO_BIN_EXE_wiretale");
    for m in [
        "tcp",
        "smtp",
        "pop3",
        "imap",
        "ftp",
        "telnet",
        "telnet-option",
    ] {
        let file = dir.join(format!("{m}.svg"));
        let out = std::process::Command::new(bin)
            .args(["diagram", m, "--svg"])
            .arg(&file)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{m}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let svg = std::fs::read_to_string(&file).unwrap();
        assert!(svg.starts_with("<svg"), "{m}");
    }
    let out = std::process::Command::new(bin)
        .args(["diagram", "gopher", "--svg"])
        .arg(dir.join("x.svg"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("no state machine called \"gopher\"") && err.contains("tcp, smtp"),
        "{err}"
    );
    let out = std::process::Command::new(bin)
        .args(["diagram", "tcp", "--current", "LISTENING", "--svg"])
        .arg(dir.join("y.svg"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("its states: CLOSED"));
    let _ = std::fs::remove_dir_all(&dir);
}
