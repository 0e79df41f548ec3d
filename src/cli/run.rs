//! `wiretale run`: one scenario, headless, its trace on stdout or in a file.

use super::{BAD_INPUT, FAILED, OK};
use clap::{Args, ValueEnum};
use std::io::{BufWriter, Write};
use std::path::PathBuf;
use wiretale::scenario::{self, check, units};
use wiretale::sim::SimTime;
use wiretale::trace::{Layer, Trace, ladder, pcap, tcp_plot};

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
    /// Record no trace: the run's events are made and passed over, and
    /// nothing is kept or printed (a big run's summary, a benchmark). The
    /// scenario's final-state checks still run; its expectations on the
    /// trace do not.
    #[arg(long, conflicts_with_all = ["trace", "format", "layers", "pcap", "pcap_dir", "ladder", "plot"])]
    pub trace_off: bool,
    /// Only these layers, comma separated (e.g. "tcp,smtp"); the others are
    /// never formatted.
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
    /// "49153" (the ladder, and the connection --plot draws).
    #[arg(long, value_name = "TEXT")]
    ladder_conn: Option<String>,
    /// Plot a TCP sender as SVG: a file named *cwnd*.svg gets the
    /// congestion window and ssthresh over time, *seq*.svg the
    /// sequence-number graph (segments, ACK line, retransmissions). The
    /// connection that carried the most data, or the one --ladder-conn
    /// names. May be given more than once.
    #[arg(long, value_name = "FILE")]
    plot: Vec<PathBuf>,
    /// Plot only this stretch of time, e.g. "0ms..700ms": a close-up of a
    /// long transfer.
    #[arg(long, value_name = "FROM..TO", value_parser = parse_window)]
    plot_time: Option<(SimTime, SimTime)>,
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
    for path in &args.plot {
        plot(args, trace, title, path)?;
    }
    Ok(())
}

/// Which plot a file name asks for.
fn plot_kind(path: &std::path::Path) -> Result<bool, String> {
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default()
        .to_ascii_lowercase();
    if !name.ends_with(".svg") {
        return Err(format!(
            "{}: a plot is an SVG file (cwnd.svg or seq.svg)",
            path.display()
        ));
    }
    match (name.contains("cwnd"), name.contains("seq")) {
        (true, false) => Ok(true),
        (false, true) => Ok(false),
        _ => Err(format!(
            "{}: name the plot file after what it shows: cwnd.svg (congestion window) or seq.svg (sequence numbers)",
            path.display()
        )),
    }
}

fn plot(args: &RunArgs, trace: &Trace, title: &str, path: &std::path::Path) -> Result<(), String> {
    let cwnd = plot_kind(path)?;
    let Some(mut p) = tcp_plot::TcpPlot::of(trace, args.ladder_conn.as_deref()) else {
        return Err(match &args.ladder_conn {
            Some(f) => format!("no TCP connection matching {f:?} carried data: nothing to plot"),
            None => "no TCP connection carried data in this run: nothing to plot".to_owned(),
        });
    };
    if let Some((from, to)) = args.plot_time {
        p = p.within(from, to);
    }
    let name = format!("{title}: {} to {}", p.conn.0, p.conn.1);
    let drawn = if cwnd {
        tcp_plot::to_cwnd_svg(&p, &format!("{name}, congestion window"))?
    } else {
        tcp_plot::to_seq_svg(&p, &format!("{name}, sequence numbers"))?
    };
    std::fs::write(path, drawn.svg).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    eprintln!(
        "wrote the {} plot of {} -> {} ({} segments, {} losses) to {}",
        if cwnd { "cwnd" } else { "sequence" },
        p.conn.0,
        p.conn.1,
        p.sent.len(),
        p.losses.len(),
        path.display()
    );
    Ok(())
}

/// "0ms..700ms".
fn parse_window(s: &str) -> Result<(SimTime, SimTime), String> {
    let (a, b) = s
        .split_once("..")
        .ok_or_else(|| format!("{s:?}: write a stretch of time as FROM..TO, e.g. 0ms..700ms"))?;
    let (from, to) = (parse_time(a.trim())?, parse_time(b.trim())?);
    if to <= from {
        return Err(format!("{s:?}: the end must come after the start"));
    }
    Ok((from, to))
}

fn parse_time(s: &str) -> Result<SimTime, String> {
    units::parse_duration(s).map(|d| SimTime::ZERO + d)
}

pub(super) fn parse_layer(s: &str) -> Result<Layer, String> {
    Layer::from_name(s.trim()).ok_or_else(|| {
        let names: Vec<&str> = Layer::ALL.iter().map(|l| l.name()).collect();
        format!("unknown layer {s:?}; layers: {}", names.join(", "))
    })
}

/// Runs with the trace streamed: each record is formatted (if its layer
/// is wanted) and written as soon as it is made, then forgotten; with
/// `--trace-off`, passed over.
fn stream(args: &RunArgs, run: &mut scenario::Run) -> Result<(), String> {
    let to: Box<dyn Write + Send> = match (&args.trace, args.trace_off) {
        (_, true) => Box::new(std::io::sink()),
        (Some(path), false) => Box::new(
            std::fs::File::create(path)
                .map_err(|e| format!("cannot write {}: {e}", path.display()))?,
        ),
        (None, false) => Box::new(std::io::stdout()),
    };
    let out = std::sync::Arc::new(std::sync::Mutex::new(Some(TraceWriter::new(
        to,
        args.format,
        &args.layers,
    ))));
    let off = args.trace_off;
    let shared = out.clone();
    run.world.stream_trace(move |trace, r| {
        if off {
            return;
        }
        if let Some(w) = shared.lock().unwrap_or_else(|e| e.into_inner()).as_mut() {
            w.record(trace, r);
        }
    });
    run.run();
    let writer = out.lock().unwrap_or_else(|e| e.into_inner()).take();
    match writer.map_or(Ok(()), TraceWriter::finish) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(match &args.trace {
            Some(path) => format!("cannot write {}: {e}", path.display()),
            None => format!("cannot write the trace: {e}"),
        }),
        Ok(()) => Ok(()),
    }
}

/// Formats records into 256 KiB blocks and hands each full block to a
/// thread of its own that writes it, so formatting the next block and
/// writing the last one overlap (a file write costs about as much as
/// formatting the line). Blocks are recycled, not reallocated. After the
/// first error nothing more is written; [`finish`](Self::finish) reports
/// it.
pub(super) struct TraceWriter {
    buf: String,
    /// The size of a block ([`BLOCK`] but in tests).
    block: usize,
    format: Format,
    layers: Vec<Layer>,
    /// Full blocks to the writing thread, and empty ones back.
    full: Option<std::sync::mpsc::SyncSender<String>>,
    empty: std::sync::mpsc::Receiver<String>,
    writer: Option<std::thread::JoinHandle<std::io::Result<()>>>,
    /// The writing thread has stopped (on an error).
    stopped: bool,
}

/// Whether `r`'s layer is one of `layers` (all are, when none is named).
fn wanted(layers: &[Layer], trace: &Trace, r: &wiretale::trace::Record) -> bool {
    layers.is_empty() || layers.contains(&trace.layer(r))
}

/// The size of one write.
const BLOCK: usize = 1 << 18;

/// The records of a kept trace formatted at a turn.
const CHUNK: usize = 8192;

impl TraceWriter {
    pub(super) fn new(mut to: Box<dyn Write + Send>, format: Format, layers: &[Layer]) -> Self {
        let (full, blocks) = std::sync::mpsc::sync_channel::<String>(4);
        let (give_back, empty) = std::sync::mpsc::channel();
        let writer = std::thread::spawn(move || {
            for mut block in blocks {
                to.write_all(block.as_bytes())?;
                block.clear();
                // The formatter may have finished already.
                let _ = give_back.send(block);
            }
            to.flush()
        });
        TraceWriter {
            buf: String::with_capacity(BLOCK + 4096),
            block: BLOCK,
            format,
            layers: layers.to_vec(),
            full: Some(full),
            empty,
            writer: Some(writer),
            stopped: false,
        }
    }

    /// Writes `r`'s line, if its layer is wanted.
    pub(super) fn record(&mut self, trace: &Trace, r: &wiretale::trace::Record) {
        if self.stopped || !wanted(&self.layers, trace, r) {
            return;
        }
        append_line(trace, r, self.format, &mut self.buf);
        if self.buf.len() >= self.block {
            self.hand_over();
        }
    }

    /// Writes every record of a kept trace whose layer is wanted. A big
    /// trace is formatted on two threads, this one and a helper, taking
    /// turns at chunks of [`CHUNK`] records; the lines still go out in
    /// order.
    pub(super) fn all_records(&mut self, trace: &Trace) {
        self.all_records_in(trace, CHUNK);
    }

    fn all_records_in(&mut self, trace: &Trace, chunk: usize) {
        if trace.records.len() < 4 * chunk {
            for r in &trace.records {
                self.record(trace, r);
            }
            return;
        }
        let (format, layers, size) = (self.format, self.layers.clone(), self.block);
        std::thread::scope(|s| {
            // The helper's blocks, each chunk ended by an empty one; and
            // empty blocks back to it.
            let (done, formatted) = std::sync::mpsc::sync_channel::<String>(8);
            let (spare, spares) = std::sync::mpsc::channel::<String>();
            s.spawn(move || {
                let block = || {
                    spares
                        .try_recv()
                        .unwrap_or_else(|_| String::with_capacity(size + 4096))
                };
                for records in trace.records.chunks(chunk).skip(1).step_by(2) {
                    let mut buf = block();
                    for r in records {
                        if wanted(&layers, trace, r) {
                            append_line(trace, r, format, &mut buf);
                            if buf.len() >= size {
                                // The formatter has stopped (on an error).
                                if done.send(std::mem::replace(&mut buf, block())).is_err() {
                                    return;
                                }
                            }
                        }
                    }
                    if !buf.is_empty() && done.send(buf).is_err()
                        || done.send(String::new()).is_err()
                    {
                        return;
                    }
                }
            });
            for (i, records) in trace.records.chunks(chunk).enumerate() {
                if i % 2 == 0 {
                    for r in records {
                        self.record(trace, r);
                    }
                    continue;
                }
                // What this thread has formatted goes first.
                if !self.stopped && !self.buf.is_empty() {
                    self.hand_over();
                }
                while let Ok(block) = formatted.recv() {
                    if block.is_empty() {
                        break;
                    }
                    if !self.stopped {
                        let sent = self.full.as_ref().is_some_and(|f| f.send(block).is_ok());
                        self.stopped = !sent;
                    }
                    if let Ok(b) = self.empty.try_recv() {
                        let _ = spare.send(b);
                    }
                }
                if self.stopped {
                    // Dropping `formatted` stops the helper.
                    break;
                }
            }
            drop(formatted);
        });
    }

    /// Sends the block to the writing thread and takes an empty one.
    fn hand_over(&mut self) {
        let next = self
            .empty
            .try_recv()
            .unwrap_or_else(|_| String::with_capacity(self.block + 4096));
        let block = std::mem::replace(&mut self.buf, next);
        let sent = self.full.as_ref().is_some_and(|f| f.send(block).is_ok());
        if !sent {
            self.stopped = true;
        }
    }

    /// Writes what is left and flushes; the first error, if any.
    pub(super) fn finish(mut self) -> std::io::Result<()> {
        if !self.stopped && !self.buf.is_empty() {
            self.hand_over();
        }
        self.close()
    }

    fn close(&mut self) -> std::io::Result<()> {
        drop(self.full.take());
        match self.writer.take().map(std::thread::JoinHandle::join) {
            Some(Ok(result)) => result,
            Some(Err(_)) => Err(std::io::Error::other("the trace writer stopped")),
            None => Ok(()),
        }
    }
}

impl Drop for TraceWriter {
    /// An unfinished writer still ends its thread.
    fn drop(&mut self) {
        let _ = self.close();
    }
}

/// Writes a whole kept trace, to the file or standard output.
fn write_whole(args: &RunArgs, trace: &Trace) -> Result<(), String> {
    match &args.trace {
        Some(path) => std::fs::File::create(path)
            .and_then(|f| write_trace(Box::new(f), trace, args.format, &args.layers))
            .map_err(|e| format!("cannot write {}: {e}", path.display())),
        None => match write_trace(
            Box::new(std::io::stdout()),
            trace,
            args.format,
            &args.layers,
        ) {
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
            other => other.map_err(|e| format!("cannot write the trace: {e}")),
        },
    }
}

/// Appends one record's line in `format`, with its newline.
pub(super) fn append_line(
    trace: &Trace,
    r: &wiretale::trace::Record,
    format: Format,
    line: &mut String,
) {
    match format {
        Format::Text => trace.write_text(r, line),
        Format::Jsonl => trace.write_json(r, line),
    }
    line.push('\n');
}

fn write_trace(
    out: Box<dyn Write + Send>,
    trace: &Trace,
    format: Format,
    layers: &[Layer],
) -> std::io::Result<()> {
    let mut w = TraceWriter::new(out, format, layers);
    w.all_records(trace);
    w.finish()
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
    // Printing as the run goes keeps no trace in memory; the exports and
    // the expectations need the whole trace, so they keep it.
    let exporting = args.pcap.is_some()
        || args.pcap_dir.is_some()
        || args.ladder.is_some()
        || !args.plot.is_empty();
    let trace_checks = s.expect.len() + s.never.len();
    let streaming = args.trace_off || (!exporting && trace_checks == 0);
    let written = if streaming {
        stream(&args, &mut run)
    } else {
        run.run();
        let trace = run.world.trace();
        write_whole(&args, trace).and_then(|()| exports(&args, trace, &s.title))
    };
    if let Err(e) = written {
        eprintln!("wiretale: {e}");
        return BAD_INPUT;
    }
    eprintln!(
        "{}: {} events, {} simulated, seed {seed}",
        loaded.file,
        run.world.records_made(),
        run.world.now()
    );
    if args.trace_off && trace_checks > 0 {
        eprintln!(
            "--trace-off: the scenario's {trace_checks} expectations on the trace are not checked"
        );
    }
    let (failures, checks) = if args.trace_off {
        (check::evaluate_finals(s, &run), s.final_state.len())
    } else {
        (check::evaluate(s, &run), s.final_state.len() + trace_checks)
    };
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    /// An output that keeps what it is given, and fails once it holds
    /// `fail_after` bytes.
    #[derive(Clone)]
    struct Kept {
        bytes: Arc<Mutex<Vec<u8>>>,
        fail_after: usize,
    }

    impl Write for Kept {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            let mut b = self.bytes.lock().unwrap();
            if b.len() + buf.len() > self.fail_after {
                return Err(std::io::Error::other("disk full"));
            }
            b.extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    fn kept(fail_after: usize) -> Kept {
        Kept {
            bytes: Arc::default(),
            fail_after,
        }
    }

    /// The trace of a bundled run long enough to fill several blocks.
    fn trace() -> Trace {
        let b = scenario::bundled::ALL
            .iter()
            .find(|b| b.name == "tcp_lossy_transfer")
            .unwrap();
        let s = scenario::parse(b.name, b.text).unwrap();
        let mut run = scenario::build(&s, s.seed).unwrap();
        run.run();
        run.world.trace().clone()
    }

    #[test]
    fn the_writer_writes_every_wanted_line_in_order_or_reports_its_error() {
        let t = trace();
        // A chunk of 64 records: formatted on two threads.
        assert!(t.records.len() > 8 * 64, "{} records", t.records.len());
        for (format, layers, chunk) in [
            (Format::Jsonl, vec![], CHUNK),
            (Format::Text, vec![], CHUNK),
            (Format::Jsonl, vec![Layer::Tcp, Layer::App], CHUNK),
            (Format::Jsonl, vec![], 64),
            (Format::Text, vec![Layer::Tcp, Layer::App], 64),
        ] {
            let mut expected = String::new();
            for r in &t.records {
                if layers.is_empty() || layers.contains(&t.layer(r)) {
                    append_line(&t, r, format, &mut expected);
                }
            }
            // Small blocks, so that the trace fills many.
            let block = 4096;
            assert!(expected.len() > 8 * block, "{} bytes", expected.len());
            let out = kept(usize::MAX);
            let mut w = TraceWriter::new(Box::new(out.clone()), format, &layers);
            w.block = block;
            w.all_records_in(&t, chunk);
            w.finish().unwrap();
            assert!(*out.bytes.lock().unwrap() == expected.as_bytes());
            // An output that fails part way: the error, no panic, and
            // only whole blocks before it.
            let out = kept(2 * block + 10);
            let mut w = TraceWriter::new(Box::new(out.clone()), format, &layers);
            w.block = block;
            w.all_records_in(&t, chunk);
            let e = w.finish().unwrap_err();
            assert_eq!(e.to_string(), "disk full");
            let written = out.bytes.lock().unwrap();
            assert!(expected.as_bytes().starts_with(&written));
            assert!(written.ends_with(b"\n"));
        }
    }

    #[test]
    fn a_writer_dropped_unfinished_ends_its_thread() {
        let out = kept(usize::MAX);
        let mut w = TraceWriter::new(Box::new(out.clone()), Format::Text, &[]);
        let t = trace();
        w.record(&t, &t.records[0]);
        drop(w);
        // Nothing was handed over: the unfinished block is not written.
        assert!(out.bytes.lock().unwrap().is_empty());
    }
}
