//! The trace of a live server: the same events and formats as a simulated
//! run, written out as they happen.
//!
//! Times are wall-clock microseconds since the server started: the live
//! mode is the one place where real time becomes simulated time. Records
//! are written and then dropped, so a server that runs for days keeps
//! constant memory.

use crate::sim::SimTime;
use crate::trace::{Event, Trace};
use std::io::Write;
use std::time::Instant;

/// How trace lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LiveFormat {
    /// One readable line per event.
    Text,
    /// One JSON object per line.
    Jsonl,
}

/// Where the live trace goes.
pub struct LiveTrace {
    trace: Trace,
    start: Instant,
    out: Option<Box<dyn Write + Send>>,
    format: LiveFormat,
    /// Lines kept for inspection (tests), when asked.
    kept: Option<Vec<String>>,
}

impl LiveTrace {
    /// A trace naming the scenario's hosts (`names` is a trace of the
    /// scenario's network with no events: its host names and addresses).
    pub fn new(names: Trace, out: Option<Box<dyn Write + Send>>, format: LiveFormat) -> LiveTrace {
        LiveTrace {
            trace: Trace {
                records: Vec::new(),
                packets: Vec::new(),
                enabled: true,
                ..names
            },
            start: Instant::now(),
            out,
            format,
            kept: None,
        }
    }

    /// Also keeps every line in memory (for tests).
    pub fn keep_lines(&mut self) {
        self.kept = Some(Vec::new());
    }

    /// The lines kept so far.
    pub fn kept(&self) -> &[String] {
        self.kept.as_deref().unwrap_or_default()
    }

    /// The time of "now" in the trace.
    pub fn now(&self) -> SimTime {
        SimTime::from_micros(self.start.elapsed().as_micros() as u64)
    }

    /// Records an event now and writes it out.
    pub fn push(&mut self, event: Event) {
        let now = self.now();
        self.trace.push(now, event);
        if let Some(r) = self.trace.records.pop() {
            let line = match self.format {
                LiveFormat::Text => self.trace.to_text(&r),
                LiveFormat::Jsonl => self.trace.to_json(&r),
            };
            if let Some(out) = self.out.as_mut() {
                // A closed stdout (a pager quit) must not stop the server.
                let _ = writeln!(out, "{line}").and_then(|()| out.flush());
            }
            if let Some(k) = self.kept.as_mut() {
                k.push(line);
            }
        }
    }
}
