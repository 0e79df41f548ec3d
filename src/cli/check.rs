//! `wiretale check`: run many scenarios headless and check their
//! expectations, in parallel, with a progress bar, a summary, JUnit XML
//! and golden traces.

use super::{BAD_INPUT, FAILED, OK};
use clap::Args;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Instant;
use wiretale::scenario::batch::{self, Job, Outcome};
use wiretale::scenario::{self, Loaded, bundled};

#[derive(Args)]
pub struct CheckArgs {
    /// Scenario files, directories (searched for .ron files) or names of
    /// bundled scenarios.
    paths: Vec<String>,
    /// Check every bundled scenario.
    #[arg(long)]
    bundled: bool,
    /// Run each scenario with this many seeds, starting at its own.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..=100_000))]
    seeds: u64,
    /// Parallel runs (default: one per core).
    #[arg(long, short = 'j')]
    jobs: Option<usize>,
    /// Write a JUnit XML report here.
    #[arg(long)]
    junit: Option<PathBuf>,
    /// Compare each scenario's trace (with its own seed) to DIR/NAME.jsonl.
    #[arg(long, value_name = "DIR")]
    golden: Option<PathBuf>,
    /// Rewrite the golden traces in --golden DIR (default tests/golden)
    /// instead of comparing.
    #[arg(long)]
    bless: bool,
    /// Print only failures and the summary.
    #[arg(long, short)]
    quiet: bool,
    /// Grade the scenario files against this lab (a file or a bundled
    /// lab such as ftp_firewall): each runs with the lab's expectations and
    /// seed, and one that fails is compared with the lab's reference run.
    #[arg(long, value_name = "LAB")]
    expect: Option<String>,
    /// With --expect: write DIR/STUDENT.html for each answer (score, what
    /// failed, both ladders), DIR/index.html and DIR/summary.csv.
    #[arg(long, value_name = "DIR", requires = "expect")]
    report: Option<PathBuf>,
}

/// The .ron files under `dir`, sorted, recursively.
fn ron_files(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            ron_files(&p, out)?;
        } else if p.extension().is_some_and(|e| e == "ron") {
            out.push(p);
        }
    }
    Ok(())
}

/// The name a report uses for a scenario: its file stem.
fn stem(file: &str) -> String {
    let base = file.rsplit(['/', '\\', ':']).next().unwrap_or(file);
    base.strip_suffix(".ron").unwrap_or(base).to_owned()
}

/// A progress line on stderr: redrawn in place on a terminal, printed
/// every tenth of the batch otherwise.
struct Progress {
    tty: bool,
    shown: bool,
    start: Instant,
    failed: usize,
    last_tenth: usize,
}

impl Progress {
    fn bar(&self, done: usize, total: usize) -> String {
        let width = 30;
        let filled = width * done / total.max(1);
        format!(
            "[{}{}] {done}/{total} runs, {} failed, {:.1} s",
            "#".repeat(filled),
            ".".repeat(width - filled),
            self.failed,
            self.start.elapsed().as_secs_f64()
        )
    }

    fn clear(&mut self) {
        if self.tty && self.shown {
            eprint!("\r\x1b[2K");
            self.shown = false;
        }
    }

    fn update(&mut self, done: usize, total: usize) {
        if total < 2 {
            return;
        }
        if self.tty {
            eprint!("\r\x1b[2K{}", self.bar(done, total));
            self.shown = true;
        } else if total >= 20 {
            let tenth = done * 10 / total;
            if tenth > self.last_tenth {
                self.last_tenth = tenth;
                eprintln!("{}", self.bar(done, total));
            }
        }
        let _ = std::io::stderr().flush();
    }
}

fn report_line(o: &Outcome) -> String {
    let sim = o.sim_us as f64 / 1e6;
    let mut s = format!(
        "{} {}  ({} events, {sim:.3} s simulated, {} ms)",
        if o.passed() { "PASS" } else { "FAIL" },
        o.name,
        o.events,
        o.wall.as_millis()
    );
    if !o.passed() {
        s.push_str(&format!("\n  {}", o.file));
        for f in &o.failures {
            for line in f.to_string().lines() {
                s.push_str("\n  ");
                s.push_str(line);
            }
        }
    }
    s
}

pub fn check(args: CheckArgs) -> u8 {
    let mut sources: Vec<String> = Vec::new();
    let mut bad_input = false;
    if args.bundled {
        sources.extend(bundled::ALL.iter().map(|b| b.name.to_owned()));
    }
    for p in &args.paths {
        let path = Path::new(p);
        if path.is_dir() {
            let mut files = Vec::new();
            if let Err(e) = ron_files(path, &mut files) {
                eprintln!("error: cannot read directory {p}: {e}");
                bad_input = true;
            }
            if files.is_empty() {
                eprintln!("error: no .ron files in {p}");
                bad_input = true;
            }
            sources.extend(files.iter().map(|f| f.display().to_string()));
        } else {
            sources.push(p.clone());
        }
    }
    if sources.is_empty() {
        eprintln!("error: nothing to check; give scenario files or directories, or --bundled");
        return BAD_INPUT;
    }

    if let Some(lab) = &args.expect {
        return grade(&args, lab, &sources, bad_input);
    }
    let mut loaded: Vec<Arc<Loaded>> = Vec::new();
    for s in &sources {
        match scenario::load(s) {
            Ok(l) => loaded.push(Arc::new(l)),
            Err(e) => {
                eprintln!("{e}\n");
                bad_input = true;
            }
        }
    }

    let golden_dir = match (&args.golden, args.bless) {
        (Some(d), _) => Some(d.clone()),
        (None, true) => Some(PathBuf::from("tests/golden")),
        (None, false) => None,
    };
    let mut jobs = Vec::new();
    for l in &loaded {
        for k in 0..args.seeds {
            let seed = l.scenario.seed.wrapping_add(k);
            let name = if args.seeds > 1 {
                format!("{}#seed={seed}", stem(&l.file))
            } else {
                stem(&l.file)
            };
            jobs.push(Job {
                name,
                loaded: l.clone(),
                seed,
                // Golden traces are recorded with the scenario's own seed.
                keep_trace: golden_dir.is_some() && k == 0,
            });
        }
    }

    let threads = args
        .jobs
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
        .max(1);
    let start = Instant::now();
    let progress = Mutex::new(Progress {
        tty: std::io::stderr().is_terminal(),
        shown: false,
        start,
        failed: 0,
        last_tenth: 0,
    });
    let quiet = args.quiet;
    let outcomes = batch::run_jobs(&jobs, threads, &|done, total, o| {
        let mut p = progress.lock().unwrap_or_else(|e| e.into_inner());
        p.clear();
        if !o.passed() {
            p.failed += 1;
        }
        if !quiet || !o.passed() {
            println!("{}", report_line(o));
            let _ = std::io::stdout().flush();
        }
        p.update(done, total);
    });
    progress.lock().unwrap_or_else(|e| e.into_inner()).clear();

    let mut golden_failures = 0;
    if let Some(dir) = &golden_dir {
        for o in &outcomes {
            let Some(trace) = &o.trace else { continue };
            let path = dir.join(format!("{}.jsonl", stem(&o.file)));
            if args.bless {
                let written =
                    std::fs::create_dir_all(dir).and_then(|()| std::fs::write(&path, trace));
                match written {
                    Ok(()) => println!("BLESSED {}", path.display()),
                    Err(e) => {
                        eprintln!("error: cannot write {}: {e}", path.display());
                        bad_input = true;
                    }
                }
                continue;
            }
            match std::fs::read_to_string(&path) {
                Ok(expected) => {
                    if let Some((line, want, got)) = batch::first_difference(&expected, trace) {
                        golden_failures += 1;
                        println!(
                            "FAIL {} differs from its golden trace {} at line {line}\n  expected: {want}\n  actual:   {got}\n  (rerun with --bless to accept the new trace)",
                            o.name,
                            path.display()
                        );
                    }
                }
                Err(e) => {
                    golden_failures += 1;
                    println!(
                        "FAIL {}: no golden trace {} ({e}); run with --bless to create it",
                        o.name,
                        path.display()
                    );
                }
            }
        }
    }

    let total = start.elapsed();
    if let Some(path) = &args.junit
        && let Err(e) = std::fs::write(path, batch::junit_xml(&outcomes, total))
    {
        eprintln!("error: cannot write {}: {e}", path.display());
        bad_input = true;
    }
    let failed = outcomes.iter().filter(|o| !o.passed()).count();
    eprintln!(
        "{} runs: {} passed, {} failed{} ({:.1} s wall, {threads} threads)",
        outcomes.len(),
        outcomes.len() - failed,
        failed,
        if golden_failures > 0 {
            format!(", {golden_failures} golden traces differ")
        } else {
            String::new()
        },
        total.as_secs_f64()
    );
    if bad_input {
        BAD_INPUT
    } else if failed > 0 || golden_failures > 0 {
        FAILED
    } else {
        OK
    }
}

/// `check --expect LAB`: grades each answer against the lab.
fn grade(args: &CheckArgs, lab: &str, sources: &[String], mut bad_input: bool) -> u8 {
    use wiretale::exercise::grade;
    let lab = match scenario::load(lab) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("{e}");
            return BAD_INPUT;
        }
    };
    if grade::expectations(&lab.scenario) == 0 {
        eprintln!(
            "error: {} has no expectations (expect, never or final) to grade against",
            lab.file
        );
        return BAD_INPUT;
    }
    let start = Instant::now();
    let mut progress = Progress {
        tty: std::io::stderr().is_terminal(),
        shown: false,
        start,
        failed: 0,
        last_tenth: 0,
    };
    let mut grades = Vec::new();
    let mut outcomes = Vec::new();
    for (done, source) in sources.iter().enumerate() {
        let answer = match scenario::load(source) {
            Ok(l) => l,
            Err(e) => {
                progress.clear();
                eprintln!("{e}\n");
                bad_input = true;
                continue;
            }
        };
        let began = Instant::now();
        let g = match grade::grade(&lab, &answer) {
            Ok(g) => g,
            Err(e) => {
                progress.clear();
                eprintln!("error: {}: {e}", answer.file);
                bad_input = true;
                continue;
            }
        };
        progress.clear();
        if !g.passed() {
            progress.failed += 1;
        }
        if !args.quiet || !g.passed() {
            println!("{}", g.to_text());
        }
        outcomes.push(Outcome {
            name: g.student.clone(),
            file: g.file.clone(),
            seed: lab.scenario.seed,
            failures: g.failures.clone(),
            events: 0,
            sim_us: 0,
            wall: began.elapsed(),
            trace: None,
        });
        grades.push(g);
        progress.update(done + 1, sources.len());
    }
    progress.clear();
    if let Some(dir) = &args.report {
        let title = &lab.scenario.title;
        let mut files: Vec<(PathBuf, String)> = grades
            .iter()
            .map(|g| {
                (
                    dir.join(format!("{}.html", g.student)),
                    grade::page(title, g),
                )
            })
            .collect();
        files.push((dir.join("index.html"), grade::index_page(title, &grades)));
        files.push((dir.join("summary.csv"), grade::summary_csv(&grades)));
        for (path, text) in files {
            if let Err(e) = std::fs::create_dir_all(dir).and_then(|()| std::fs::write(&path, text))
            {
                eprintln!("error: cannot write {}: {e}", path.display());
                bad_input = true;
            }
        }
        eprintln!("wrote the report to {}", dir.join("index.html").display());
    }
    if let Some(path) = &args.junit
        && let Err(e) = std::fs::write(path, batch::junit_xml(&outcomes, start.elapsed()))
    {
        eprintln!("error: cannot write {}: {e}", path.display());
        bad_input = true;
    }
    let failed = grades.iter().filter(|g| !g.passed()).count();
    eprintln!(
        "{} answers graded against {}: {} passed, {} failed",
        grades.len(),
        lab.file,
        grades.len() - failed,
        failed
    );
    if bad_input {
        BAD_INPUT
    } else if failed > 0 {
        FAILED
    } else {
        OK
    }
}
