//! `wiretale run`: one scenario, headless, its trace on stdout or in a file.

use super::{BAD_INPUT, FAILED, OK};
use clap::{Args, ValueEnum};
use std::io::{BufWriter, Write};
use wiretale::scenario::{self, check, units};
use wiretale::sim::SimTime;
use wiretale::trace::{Layer, Trace};

#[derive(Clone, Copy, ValueEnum)]
pub enum Format {
    /// One readable line per event, like a textbook ladder.
    Text,
    /// One JSON object per line (the trace format of DESIGN.md).
    Jsonl,
}

#[derive(Args)]
pub struct RunArgs {
    /// A scenario file or the name of a bundled scenario.
    scenario: String,
    /// Seed of the run's random numbers (default: the scenario's).
    #[arg(long)]
    seed: Option<u64>,
    /// Stop at this simulated time, e.g. "2s" (default: the scenario's
    /// `until`, or when nothing is left to do).
    #[arg(long, value_parser = parse_time)]
    until: Option<SimTime>,
    #[arg(long, value_enum, default_value = "text")]
    format: Format,
    /// Write the trace to this file instead of standard output.
    #[arg(long)]
    trace: Option<std::path::PathBuf>,
    /// Only these layers, comma separated (e.g. "tcp,smtp").
    #[arg(long, value_delimiter = ',', value_parser = parse_layer)]
    layers: Vec<Layer>,
}

fn parse_time(s: &str) -> Result<SimTime, String> {
    units::parse_duration(s).map(|d| SimTime::ZERO + d)
}

fn parse_layer(s: &str) -> Result<Layer, String> {
    Layer::from_name(s.trim()).ok_or_else(|| {
        let names: Vec<&str> = Layer::ALL.iter().map(|l| l.name()).collect();
        format!("unknown layer {s:?}; layers: {}", names.join(", "))
    })
}

fn write_trace(
    out: &mut dyn Write,
    trace: &Trace,
    format: Format,
    layers: &[Layer],
) -> std::io::Result<()> {
    for r in &trace.records {
        if !layers.is_empty() && !layers.contains(&trace.layer(r)) {
            continue;
        }
        let line = match format {
            Format::Text => trace.to_text(r),
            Format::Jsonl => trace.to_json(r),
        };
        out.write_all(line.as_bytes())?;
        out.write_all(b"\n")?;
    }
    out.flush()
}

pub fn run(args: RunArgs) -> u8 {
    let loaded = match scenario::load(&args.scenario) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("{e}");
            return BAD_INPUT;
        }
    };
    let s = &loaded.scenario;
    let seed = args.seed.unwrap_or(s.seed);
    let mut run = match scenario::build(s, seed) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("{}: cannot build the network: {e:?}", loaded.file);
            return BAD_INPUT;
        }
    };
    if let Some(t) = args.until {
        run.horizon = t;
    }
    run.run();
    let trace = run.world.trace();
    let written = match &args.trace {
        Some(path) => std::fs::File::create(path)
            .and_then(|f| write_trace(&mut BufWriter::new(f), trace, args.format, &args.layers))
            .map_err(|e| format!("cannot write {}: {e}", path.display())),
        None => {
            let stdout = std::io::stdout();
            match write_trace(
                &mut BufWriter::new(stdout.lock()),
                trace,
                args.format,
                &args.layers,
            ) {
                Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
                other => other.map_err(|e| format!("cannot write the trace: {e}")),
            }
        }
    };
    if let Err(e) = written {
        eprintln!("wiretale: {e}");
        return BAD_INPUT;
    }
    let failures = check::evaluate(s, &run);
    let checks = s.expect.len() + s.never.len() + s.final_state.len();
    eprintln!(
        "{}: {} events, {} simulated, seed {seed}",
        loaded.file,
        trace.records.len(),
        run.world.now()
    );
    if checks > 0 && args.until.is_none() {
        if failures.is_empty() {
            eprintln!("all {checks} expectations met");
        } else {
            for f in &failures {
                eprintln!("FAIL {f}");
            }
            return FAILED;
        }
    }
    OK
}
