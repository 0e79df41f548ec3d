//! `wiretale bench`: the scale workloads, each at several sizes, each in
//! a process of its own (so that its peak memory is its own), with the
//! figures next to their targets, and the trace writers' speed.
//!
//! | workload | what runs | target |
//! |---|---|---|
//! | `idle` | a star of N idle hosts: read, checked, built, routed | 100,000: < 2 s, < 1.5 GB |
//! | `star` | a star of N hosts each sending 100 KB, trace off | 10,000: < 10 s, <= 558 MB |
//! | `short` | N hosts, one 1 KB connection each, MSL 120 s, trace off | 10,000: < 0.5 s |
//! | `chain` | N 1 KB connections, each started by `after:` the last | 1,000: < 0.2 s |
//! | `flat` | one host sending N x 100 KB (what the star of N sends), trace off | the same peak memory at every size |
//! | `writer` | a kept trace written as JSON lines and as text to a file | >= 5 M events/s |
//!
//! Cost should be linear: time and memory per host at the largest size
//! within 1.5 times those at the smallest.

use super::run::{Format, TraceWriter};
use super::{BAD_INPUT, FAILED, OK};
use clap::Args;
use std::io::Write as _;
use std::process::Command;
use std::time::Instant;
use wiretale::scenario::{self, generate};

#[derive(Args)]
pub struct BenchArgs {
    /// Workloads, comma separated: idle, star, short, chain, flat, writer
    /// (default: all).
    #[arg(long, value_delimiter = ',')]
    only: Vec<String>,
    /// Sizes in hosts or connections (`flat`: one host sends as much as
    /// that many hosts of `star`), comma separated.
    #[arg(long, value_delimiter = ',', default_values_t = [1_000usize, 10_000, 100_000])]
    sizes: Vec<usize>,
    /// Exit 1 when a target is missed.
    #[arg(long)]
    strict: bool,
    /// Run one workload at one size here and print its figures as JSON
    /// (what the table is made of).
    #[arg(long, hide = true)]
    one: Option<String>,
}

const WORKLOADS: &[&str] = &["idle", "star", "short", "chain", "flat", "writer"];

/// One measurement.
#[derive(Debug, Clone, Copy, Default)]
struct Figures {
    secs: f64,
    /// `writer`: the time of the text writer (`secs` is the JSON one's).
    text_secs: f64,
    events: u64,
    peak_kb: u64,
}

pub fn bench(args: BenchArgs) -> u8 {
    if let Some(w) = &args.one {
        let size = args.sizes.first().copied().unwrap_or(1_000);
        return match one(w, size) {
            Ok(f) => {
                println!(
                    "{{\"secs\":{},\"text_secs\":{},\"events\":{},\"peak_kb\":{}}}",
                    f.secs, f.text_secs, f.events, f.peak_kb
                );
                OK
            }
            Err(e) => {
                eprintln!("wiretale bench: {e}");
                BAD_INPUT
            }
        };
    }
    let only: Vec<&str> = if args.only.is_empty() {
        WORKLOADS.to_vec()
    } else {
        args.only.iter().map(String::as_str).collect()
    };
    if let Some(bad) = only.iter().find(|w| !WORKLOADS.contains(w)) {
        eprintln!(
            "wiretale bench: no workload {bad:?}; workloads: {}",
            WORKLOADS.join(", ")
        );
        return BAD_INPUT;
    }
    if args.sizes.is_empty() || args.sizes.contains(&0) {
        eprintln!("wiretale bench: --sizes must be numbers above 0");
        return BAD_INPUT;
    }
    let mut missed = Vec::new();
    println!("| workload | size | time | events | peak memory | per host | target |");
    println!("|---|---:|---:|---:|---:|---:|---|");
    for w in only {
        let sizes: Vec<usize> = if w == "writer" {
            vec![args.sizes[0]]
        } else {
            args.sizes.clone()
        };
        let mut rows = Vec::new();
        for &n in &sizes {
            let progress = std::io::IsTerminal::is_terminal(&std::io::stderr());
            if progress {
                eprint!("{w} at {n}...\r");
                let _ = std::io::stderr().flush();
            }
            let measured = measure(w, n);
            if progress {
                eprint!("\r{:40}\r", "");
            }
            match measured {
                Ok(f) => {
                    let (verdict, ok) = target(w, n, &f, rows.first());
                    if !ok {
                        missed.push(format!("{w} at {n}: {verdict}"));
                    }
                    println!("{}", row(w, n, &f, &verdict));
                    rows.push((n, f));
                }
                Err(e) => {
                    eprintln!("wiretale bench: {w} at {n}: {e}");
                    return BAD_INPUT;
                }
            }
        }
    }
    if missed.is_empty() {
        eprintln!("every target met");
        OK
    } else {
        for m in &missed {
            eprintln!("MISSED {m}");
        }
        if args.strict { FAILED } else { OK }
    }
}

/// Runs one workload in a child process and reads its figures.
fn measure(w: &str, n: usize) -> Result<Figures, String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let out = Command::new(exe)
        .args(["bench", "--one", w, "--sizes", &n.to_string()])
        .output()
        .map_err(|e| e.to_string())?;
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).trim().to_string());
    }
    let v: serde_json::Value =
        serde_json::from_slice(&out.stdout).map_err(|e| format!("unreadable figures: {e}"))?;
    Ok(Figures {
        secs: v["secs"].as_f64().unwrap_or(0.0),
        text_secs: v["text_secs"].as_f64().unwrap_or(0.0),
        events: v["events"].as_u64().unwrap_or(0),
        peak_kb: v["peak_kb"].as_u64().unwrap_or(0),
    })
}

/// A table row.
fn row(w: &str, n: usize, f: &Figures, verdict: &str) -> String {
    let (time, per) = if w == "writer" {
        (
            format!(
                "JSON {:.2}, text {:.2} M events/s",
                f.events as f64 / f.secs / 1e6,
                f.events as f64 / f.text_secs / 1e6
            ),
            String::new(),
        )
    } else {
        (
            format!("{:.3} s", f.secs),
            format!(
                "{:.2} us, {:.1} KB",
                f.secs * 1e6 / n as f64,
                f.peak_kb as f64 / n as f64
            ),
        )
    };
    format!(
        "| {w} | {n} | {time} | {} | {:.1} MB | {per} | {verdict} |",
        f.events,
        f.peak_kb as f64 / 1024.0
    )
}

/// The verdict on a measurement: its target where one applies to this
/// size, and linearity against the smallest size.
fn target(w: &str, n: usize, f: &Figures, first: Option<&(usize, Figures)>) -> (String, bool) {
    let mb = f.peak_kb as f64 / 1024.0;
    let mut notes = Vec::new();
    let mut ok = true;
    let mut check = |cond: bool, text: String| {
        ok &= cond;
        notes.push(format!("{text} {}", if cond { "ok" } else { "MISSED" }));
    };
    match (w, n) {
        ("idle", 100_000) => check(f.secs < 2.0 && mb < 1536.0, "< 2 s, < 1.5 GB".into()),
        ("star", 10_000) => check(f.secs < 10.0 && mb <= 558.0, "< 10 s, <= 558 MB".into()),
        ("short", 10_000) => check(f.secs < 0.5, "< 0.5 s".into()),
        ("chain", 1_000) => check(f.secs < 0.2, "< 0.2 s".into()),
        ("writer", _) => check(
            f.events as f64 / f.secs.max(f.text_secs) >= 5e6,
            ">= 5 M events/s".into(),
        ),
        _ => {}
    }
    if let Some(&(n0, f0)) = first
        && w != "writer"
    {
        if w == "flat" {
            check(
                f.peak_kb as f64 <= 1.5 * f0.peak_kb as f64,
                format!("peak within 1.5x of {n0}'s"),
            );
        } else if n >= 100 * n0 {
            let t = (f.secs / n as f64) / (f0.secs / n0 as f64).max(1e-12);
            let m = (f.peak_kb as f64 / n as f64) / (f0.peak_kb as f64 / n0 as f64);
            check(
                t <= 1.5 && m <= 1.5,
                format!("per host {t:.2}x time, {m:.2}x memory of {n0}'s (<= 1.5x)"),
            );
        }
    }
    (notes.join("; "), ok)
}

/// Runs one workload here.
fn one(w: &str, n: usize) -> Result<Figures, String> {
    let options =
        |send: Option<&str>, chain: bool, msl: Option<&str>, hosts: usize| generate::Options {
            shape: generate::Shape::Star,
            hosts,
            send: send.map(str::to_string),
            fanout: 8,
            chain,
            msl: msl.map(str::to_string),
        };
    let o = match w {
        "idle" => options(None, false, None, n),
        "star" => options(Some("100KB"), false, None, n),
        "short" => options(Some("1KB"), false, Some("120s"), n),
        "chain" => options(Some("1KB"), true, None, n),
        "flat" => options(Some(&format!("{}KB", n * 100)), false, None, 1),
        "writer" => options(Some("100KB"), false, None, n),
        _ => return Err(format!("no workload {w:?}")),
    };
    let text = generate::generate(&o)?;
    let start = Instant::now();
    let s = scenario::parse("bench.ron", &text).map_err(|e| e.to_string())?;
    // Building computes the routes too.
    let mut run = scenario::build(&s, s.seed).map_err(|e| format!("{e:?}"))?;
    if w == "writer" {
        run.run();
        return write_speed(run.world.trace());
    }
    if w != "idle" {
        run.world.stream_trace(|_, _| {});
        run.run();
    }
    Ok(Figures {
        secs: start.elapsed().as_secs_f64(),
        text_secs: 0.0,
        events: run.world.records_made(),
        peak_kb: peak_kb(),
    })
}

/// Writes a kept trace as JSON lines and as text to a file, and times
/// each.
fn write_speed(trace: &wiretale::trace::Trace) -> Result<Figures, String> {
    let path = std::env::temp_dir().join(format!("wiretale-bench-{}.trace", std::process::id()));
    let mut secs = [0.0; 2];
    for (k, format) in [Format::Jsonl, Format::Text].into_iter().enumerate() {
        // The best of three passes: the writer's speed, less the noise of
        // whatever else the machine was doing.
        secs[k] = f64::INFINITY;
        for _ in 0..3 {
            let file = std::fs::File::create(&path).map_err(|e| e.to_string())?;
            let start = Instant::now();
            let mut out = TraceWriter::new(Box::new(file), format, &[]);
            out.all_records(trace);
            out.finish().map_err(|e| e.to_string())?;
            secs[k] = secs[k].min(start.elapsed().as_secs_f64());
        }
    }
    let _ = std::fs::remove_file(&path);
    Ok(Figures {
        secs: secs[0],
        text_secs: secs[1],
        events: trace.records.len() as u64,
        peak_kb: peak_kb(),
    })
}

/// This process's peak resident memory, from /proc (0 where there is none).
fn peak_kb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}
