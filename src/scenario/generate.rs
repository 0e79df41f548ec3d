//! Scenario files for big networks, written out (`wiretale generate`):
//! for benchmarks, and for instructors who want to show a network of a
//! few thousand hosts.
//!
//! | shape | what it is |
//! |---|---|
//! | `star` | one router (`hub`) with every host on a link of its own, and a `server` beside them |
//! | `tree` | routers in a tree, `fanout` children each, with the hosts on the leaves and the `server` at the root |
//! | `campus` | a `core` router with a building router per 40 hosts; each building is also linked to the next one, so routes have a second way round |
//!
//! Every shape has one `server` (a discard service on port 9, RFC 863).
//! With `send`, every host opens a TCP connection to it and sends that
//! many bytes; the starts are spread over the first second, so that the
//! connections overlap but do not all begin at once.
//!
//! The file is plain RON, the format [`super::load`] reads: it can be
//! edited, and a mistake in it is reported as in any scenario.

use std::fmt::Write as _;

/// The network's shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    Star,
    Tree,
    Campus,
}

impl std::str::FromStr for Shape {
    type Err = String;
    fn from_str(s: &str) -> Result<Shape, String> {
        match s.to_ascii_lowercase().as_str() {
            "star" => Ok(Shape::Star),
            "tree" => Ok(Shape::Tree),
            "campus" => Ok(Shape::Campus),
            _ => Err(format!("no shape {s:?}: star, tree or campus")),
        }
    }
}

impl Shape {
    pub fn name(self) -> &'static str {
        match self {
            Shape::Star => "star",
            Shape::Tree => "tree",
            Shape::Campus => "campus",
        }
    }
}

/// What to generate.
#[derive(Debug, Clone)]
pub struct Options {
    pub shape: Shape,
    /// Hosts besides the server and the routers.
    pub hosts: usize,
    /// Each host sends this much to the server ("100KB"); `None`: the
    /// network stays idle.
    pub send: Option<String>,
    /// Children per router (`tree`).
    pub fanout: usize,
    /// With `send`: each host starts when the one before it has finished
    /// (an `after:` on its `transfer_done`), instead of all within the
    /// first second.
    pub chain: bool,
    /// TCP's maximum segment lifetime ("120s"); TIME-WAIT lasts twice
    /// this. The default is 1s, so that big runs end soon.
    pub msl: Option<String>,
}

/// Hosts per building (`campus`).
pub const PER_BUILDING: usize = 40;

/// The most links a network can have: every link gets its own subnet of
/// 10.0.0.0/8 (`crate::net::auto_subnet`).
pub use crate::net::MAX_LINKS;

/// The scenario file.
pub fn generate(o: &Options) -> Result<String, String> {
    if o.hosts == 0 {
        return Err("--hosts must be at least 1".into());
    }
    if o.hosts >= MAX_LINKS {
        return Err(format!(
            "{} hosts need more than {MAX_LINKS} links; a network has at most {MAX_LINKS} (each link gets its own subnet of 10.0.0.0/8)",
            o.hosts
        ));
    }
    if o.shape == Shape::Tree && o.fanout < 2 {
        return Err("--fanout must be at least 2".into());
    }
    if let Some(size) = &o.send {
        super::units::parse_size(size).map_err(|e| format!("--send {size}: {e}"))?;
    }
    if o.chain && o.send.is_none() {
        return Err("--chain goes with --send: it chains the hosts' transfers".into());
    }
    let msl = o.msl.as_deref().unwrap_or("1s");
    super::units::parse_duration(msl).map_err(|e| format!("--msl {msl}: {e}"))?;
    let mut g = Gen::default();
    let server_at = match o.shape {
        Shape::Star => {
            g.router("hub");
            for i in 0..o.hosts {
                g.host(i, "hub");
            }
            "hub".to_string()
        }
        Shape::Tree => {
            // Enough leaf routers for the hosts, `fanout` hosts each.
            let leaves_needed = o.hosts.div_ceil(o.fanout);
            let mut level = vec!["r".to_string()];
            g.router("r");
            while level.len() < leaves_needed {
                let mut next = Vec::new();
                for parent in &level {
                    for c in 0..o.fanout {
                        let name = format!("{parent}{}", c);
                        g.router(&name);
                        g.backbone(parent, &name);
                        next.push(name);
                    }
                }
                level = next;
            }
            for i in 0..o.hosts {
                let leaf = &level[(i / o.fanout).min(level.len() - 1)];
                g.host(i, leaf);
            }
            "r".to_string()
        }
        Shape::Campus => {
            g.router("core");
            let buildings = o.hosts.div_ceil(PER_BUILDING);
            for b in 0..buildings {
                let name = format!("b{b}");
                g.router(&name);
                g.backbone("core", &name);
            }
            if buildings > 2 {
                for b in 0..buildings {
                    g.backbone(&format!("b{b}"), &format!("b{}", (b + 1) % buildings));
                }
            }
            for i in 0..o.hosts {
                g.host(i, &format!("b{}", i / PER_BUILDING));
            }
            "core".to_string()
        }
    };
    g.server(&server_at);
    if g.links > MAX_LINKS {
        return Err(format!(
            "a {} of {} hosts needs {} links; a network has at most {MAX_LINKS} (each link gets its own subnet of 10.0.0.0/8)",
            o.shape.name(),
            o.hosts,
            g.links
        ));
    }
    let mut s = String::new();
    let traffic = match &o.send {
        Some(size) => format!(", each host sending {size} to the server"),
        None => String::new(),
    };
    let _ = writeln!(s, "// Generated by `wiretale generate {}`.", args(o));
    let _ = writeln!(s, "Scenario(");
    let _ = writeln!(s, "    version: 1,");
    let _ = writeln!(
        s,
        "    title: \"A {} of {} hosts{traffic}\",",
        o.shape.name(),
        o.hosts
    );
    let _ = writeln!(s, "    tcp: (msl: \"{msl}\"),");
    let _ = writeln!(s, "    hosts: [");
    s.push_str(&g.hosts);
    let _ = writeln!(s, "    ],");
    let _ = writeln!(s, "    links: [");
    s.push_str(&g.link_text);
    let _ = writeln!(s, "    ],");
    let _ = writeln!(s, "    actions: [");
    if let Some(size) = &o.send {
        for i in 0..o.hosts {
            let when = if o.chain && i > 0 {
                format!(
                    "after: {{\"layer\": \"app\", \"event\": \"transfer_done\", \"host\": \"h{}\"}}",
                    i - 1
                )
            } else if o.chain {
                "at: \"10ms\"".to_string()
            } else {
                // Spread over the first second, in 0.1 ms steps.
                format!("at: \"{}us\"", 10_000 + (i % 10_000) * 100)
            };
            let _ = writeln!(
                s,
                "        Action({when}, host: \"h{i}\", do: TcpSend(to: \"server\", port: 9, bytes: \"{size}\")),"
            );
        }
    }
    let _ = writeln!(s, "    ],");
    let _ = writeln!(s, ")");
    Ok(s)
}

/// The command line that makes `o`.
fn args(o: &Options) -> String {
    let mut a = format!("{} --hosts {}", o.shape.name(), o.hosts);
    if o.shape == Shape::Tree {
        let _ = write!(a, " --fanout {}", o.fanout);
    }
    if let Some(size) = &o.send {
        let _ = write!(a, " --send {size}");
    }
    if o.chain {
        a.push_str(" --chain");
    }
    if let Some(msl) = &o.msl {
        let _ = write!(a, " --msl {msl}");
    }
    a
}

/// The file's lists as they grow.
#[derive(Default)]
struct Gen {
    hosts: String,
    link_text: String,
    links: usize,
}

impl Gen {
    fn router(&mut self, name: &str) {
        let _ = writeln!(self.hosts, "        Host(name: \"{name}\", role: Router),");
    }

    fn host(&mut self, i: usize, router: &str) {
        let _ = writeln!(self.hosts, "        Host(name: \"h{i}\"),");
        self.link(&format!("h{i}"), router, "1ms", "100Mbps");
    }

    fn server(&mut self, router: &str) {
        let _ = writeln!(
            self.hosts,
            "        Host(name: \"server\", role: Server, services: [Discard(port: 9)]),"
        );
        self.link("server", router, "1ms", "1Gbps");
    }

    fn backbone(&mut self, a: &str, b: &str) {
        self.link(a, b, "2ms", "1Gbps");
    }

    fn link(&mut self, a: &str, b: &str, latency: &str, bandwidth: &str) {
        self.links += 1;
        let _ = writeln!(
            self.link_text,
            "        Link(a: \"{a}\", b: \"{b}\", latency: \"{latency}\", bandwidth: \"{bandwidth}\", queue: 1000),"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    impl Options {
        fn tap_chain(mut self) -> Options {
            self.chain = true;
            self
        }
    }

    fn options(shape: Shape, hosts: usize, send: Option<&str>) -> Options {
        Options {
            shape,
            hosts,
            send: send.map(str::to_string),
            fanout: 4,
            chain: false,
            msl: None,
        }
    }

    #[test]
    fn every_shape_is_a_valid_scenario_with_its_hosts() {
        for shape in [Shape::Star, Shape::Tree, Shape::Campus] {
            let text = generate(&options(shape, 90, Some("2KB"))).unwrap();
            let s = crate::scenario::parse("generated.ron", &text)
                .unwrap_or_else(|e| panic!("{shape:?}: {e}"));
            let hosts = s
                .hosts
                .iter()
                .filter(|h| {
                    h.name
                        .strip_prefix('h')
                        .is_some_and(|n| n.parse::<usize>().is_ok())
                })
                .count();
            assert_eq!(hosts, 90, "{shape:?}");
            assert_eq!(s.actions.len(), 90, "{shape:?}");
        }
    }

    #[test]
    fn a_generated_star_delivers_every_transfer() {
        let text = generate(&options(Shape::Star, 12, Some("3KB"))).unwrap();
        let s = crate::scenario::parse("star.ron", &text).unwrap();
        let mut run = crate::scenario::build(&s, s.seed).unwrap();
        run.run();
        let t = run.world.trace();
        let done = t
            .records
            .iter()
            .filter(|r| t.event_name(r) == "transfer_done")
            .count();
        assert_eq!(done, 12, "every host's 3 KB arrived");
    }

    #[test]
    fn a_chained_star_runs_one_transfer_after_the_other() {
        let mut o = options(Shape::Star, 4, Some("2KB"));
        (o.chain, o.msl) = (true, Some("120s".into()));
        let text = generate(&o).unwrap();
        assert!(text.contains("tcp: (msl: \"120s\")"));
        let s = crate::scenario::parse("chain.ron", &text).unwrap();
        let mut run = crate::scenario::build(&s, s.seed).unwrap();
        run.run();
        let t = run.world.trace();
        let at = |event: &str| -> Vec<u64> {
            t.records
                .iter()
                .filter(|r| t.event_name(r) == event)
                .map(|r| r.time.as_micros())
                .collect()
        };
        let (starts, done) = (at("transfer_started"), at("transfer_done"));
        assert_eq!((starts.len(), done.len()), (4, 4));
        for i in 1..4 {
            assert!(starts[i] >= done[i - 1], "{starts:?} {done:?}");
        }
        let e = generate(&options(Shape::Star, 4, None).tap_chain()).unwrap_err();
        assert!(e.contains("--chain goes with --send"), "{e}");
    }

    /// The lines of a run's JSON trace, streamed as it goes or written
    /// from the kept trace afterwards; and the packets still held at the
    /// end.
    fn json_lines(text: &str, streamed: bool) -> (Vec<String>, usize) {
        let s = crate::scenario::parse("t.ron", text).unwrap();
        let mut run = crate::scenario::build(&s, s.seed).unwrap();
        let lines = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        if streamed {
            let to = lines.clone();
            run.world
                .stream_trace(move |t, r| to.lock().unwrap().push(t.to_json(r)));
        }
        run.run();
        let t = run.world.trace();
        if streamed {
            assert!(t.records.is_empty());
        } else {
            lines
                .lock()
                .unwrap()
                .extend(t.records.iter().map(|r| t.to_json(r)));
        }
        let out = lines.lock().unwrap().clone();
        (out, t.packets.len())
    }

    #[test]
    fn a_streamed_run_writes_what_a_kept_one_does_and_lets_go_of_its_packets() {
        let lossy = crate::scenario::bundled::find("tcp_lossy_transfer")
            .unwrap()
            .text;
        let star = generate(&options(Shape::Star, 6, Some("300KB"))).unwrap();
        for text in [lossy, star.as_str()] {
            let (kept, all_packets) = json_lines(text, false);
            let (streamed, held) = json_lines(text, true);
            assert_eq!(streamed, kept);
            assert!(all_packets > 1000, "{all_packets}");
            assert!(held < 300, "{held} of {all_packets} packets still held");
        }
    }

    #[test]
    fn a_campus_has_a_second_way_round() {
        let text = generate(&options(Shape::Campus, 200, None)).unwrap();
        let s = crate::scenario::parse("campus.ron", &text).unwrap();
        // 5 buildings: 5 links to the core and 5 in the ring.
        let ring = s
            .links
            .iter()
            .filter(|l| l.a.starts_with('b') && l.b.starts_with('b'))
            .count();
        assert_eq!(ring, 5);
    }

    #[test]
    fn impossible_networks_are_refused_clearly() {
        let e = generate(&options(Shape::Star, 5_000_000, None)).unwrap_err();
        assert!(e.contains("at most 4194240"), "{e}");
        let e = generate(&options(Shape::Star, 0, None)).unwrap_err();
        assert!(e.contains("at least 1"), "{e}");
        let e = generate(&options(Shape::Star, 5, Some("lots"))).unwrap_err();
        assert!(e.contains("--send lots"), "{e}");
        assert!(
            "ring"
                .parse::<Shape>()
                .unwrap_err()
                .contains("star, tree or campus")
        );
    }
}
