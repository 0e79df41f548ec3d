//! `wiretale run`: one scenario, headless, its trace on stdout or in a file.

use super::{BAD_INPUT, FAILED, OK};
use clap::{Args, ValueEnum};
use std::io::{BufWriter, Write};
use std::path::PathBuf;
use wiretale::scenario::{self, check, units};
use wiretale::sim::SimTime;
use wiretale::trace::{Layer, Trace, ladder, pcap};

#[derive(Clone, Copy, ValueEnum)]
pub enum Format {
    /// One readable line per event, like a textbook ladder.
    Text,
    /// One JSON object per line (the trace format of docs/architecture.md).
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
    trace: Option<PathBuf>,
    /// Only these layers, comma separated (e.g. "tcp,smtp").
    #[arg(long, value_delimiter = ',', value_parser = parse_layer)]
    layers: Vec<Layer>,
    /// Write every packet, once, as Ethernet frames in a pcap file for
    /// Wireshark.
    #[arg(long, value_name = "FILE")]
    pcap: Option<PathBuf>,
    /// Write one pcap file per link (every crossing, both directions).
    #[arg(long, value_name = "DIR")]
    pcap_dir: Option<PathBuf>,
    /// Draw a ladder diagram: FILE.svg (an image) or FILE.mmd (Mermaid).
    #[arg(long, value_name = "FILE")]
    ladder: Option<PathBuf>,
    /// What the ladder shows: layers, comma separated ("smtp", "tcp",
    /// "ftp,tcp"); by default every application dialogue.
    #[arg(long, value_delimiter = ',', value_parser = parse_layer)]
    ladder_layers: Vec<Layer>,
    /// Only connections whose name contains this text, e.g. ":25" or
    /// "49153".
    #[arg(long, value_name = "TEXT")]
    ladder_conn: Option<String>,
}

/// Writes the captures and the ladder a run asked for.
fn exports(args: &RunArgs, trace: &Trace, title: &str) -> Result<(), String> {
    if let Some(path) = &args.pcap {
        let file = std::fs::File::create(path)
            .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        let n = pcap::write_pcap(trace, BufWriter::new(file))
            .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        eprintln!("wrote {n} packets to {}", path.display());
    }
    if let Some(dir) = &args.pcap_dir {
        let files = pcap::write_pcap_per_link(trace, dir)
            .map_err(|e| format!("cannot write into {}: {e}", dir.display()))?;
        eprintln!("wrote {} link captures into {}", files.len(), dir.display());
    }
    if let Some(path) = &args.ladder {
        let filter = ladder::LadderFilter {
            layers: args.ladder_layers.clone(),
            conn: args.ladder_conn.clone(),
        };
        let l = ladder::build(trace, &filter);
        let text = match path.extension().and_then(|e| e.to_str()) {
            Some("svg") => ladder::to_svg(&l, title),
            Some("mmd") => ladder::to_mermaid(&l, title),
            _ => {
                return Err(format!(
                    "{}: the ladder file must end in .svg or .mmd",
                    path.display()
                ));
            }
        };
        std::fs::write(path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        eprintln!(
            "wrote a ladder of {} arrows to {}",
            l.arrows.len(),
            path.display()
        );
    }
    Ok(())
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
    if let Err(e) = written.and_then(|()| exports(&args, trace, &s.title)) {
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
