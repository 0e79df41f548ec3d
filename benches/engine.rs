//! Engine benchmarks: raw event-queue throughput (the heap the engine
//! uses beside the calendar queue), and a simulated TCP bulk
//! transfer with the trace recorded in memory.
//!
//! Run with `cargo bench --no-default-features --bench engine`. Each figure
//! is the best of five runs. Targets on a 2-core machine, release build:
//! 10 million queue events per second and 2 million TCP segments
//! processed per second (a segment is processed when a host sends it and
//! again when a host receives it). Set `WIRETALE_BENCH_STRICT=1` to exit
//! with an error when a target is missed, and `WIRETALE_BENCH_ONLY=queue`
//! or `=tcp` to run one part (for a profiler).

use bytes::Bytes;
use std::hint::black_box;
use std::net::SocketAddrV4;
use std::time::Instant;
use wiretale::net::{AppCx, AppEvent, Application, LinkConfig, NodeKind, World};
use wiretale::sim::{CalendarQueue, HeapQueue, SimDuration, SimRng, SimTime};
use wiretale::trace::Protocol;

/// The heap's target; the calendar queue, faster on evenly spread events,
/// had 20 M, but loses several times over on the mixes big runs make.
const QUEUE_TARGET: f64 = 10e6;
const SEGMENT_TARGET: f64 = 2e6;

/// The classic "hold" model: a queue of `size` pending events; each step
/// pops the earliest and schedules one at a random later time: `spread`
/// gives the increment (uniform below 1 ms, or a mix of near and far as
/// in a run with many connections: nine in ten within 10 us, one a
/// timer a second away).
macro_rules! hold {
    ($queue:expr, $size:expr, $steps:expr, $mixed:expr) => {{
        let mut q = $queue;
        let mut rng = SimRng::new(1);
        let next = |rng: &mut SimRng| {
            if !$mixed {
                1 + rng.below(1_000_000)
            } else if rng.below(10) == 0 {
                1_000_000_000 + rng.below(1_000_000)
            } else {
                1 + rng.below(10_000)
            }
        };
        for i in 0..$size {
            q.push(SimTime(next(&mut rng)), i as u64);
        }
        let start = Instant::now();
        for _ in 0..$steps {
            let (t, e) = q.pop().unwrap();
            q.push(SimTime(t.0 + next(&mut rng)), black_box(e));
        }
        $steps as f64 / start.elapsed().as_secs_f64()
    }};
}

fn queue_hold(heap: bool, mixed: bool, size: usize, steps: u64) -> f64 {
    if heap {
        hold!(HeapQueue::new(), size, steps, mixed)
    } else {
        hold!(CalendarQueue::new(), size, steps, mixed)
    }
}

/// Sends `total` bytes of one shared zero-filled buffer: no copying and no
/// hashing, so the figure is the engine's and TCP's alone.
struct Blast {
    to: SocketAddrV4,
    total: u64,
    queued: u64,
    chunk: Bytes,
}

impl Application for Blast {
    fn kind(&self) -> &'static str {
        "blast"
    }
    fn handle_event(&mut self, cx: &mut AppCx<'_>, event: AppEvent) {
        match event {
            AppEvent::Start => {
                let _ = cx.connect(self.to, Protocol::Tcp);
            }
            AppEvent::Connected { conn } | AppEvent::Writable { conn }
                if self.queued < self.total =>
            {
                let n = (self.total - self.queued).min(self.chunk.len() as u64);
                cx.send(conn, self.chunk.slice(..n as usize));
                self.queued += n;
                if self.queued == self.total {
                    cx.close(conn);
                }
            }
            _ => {}
        }
    }
}

/// Counts what arrives.
struct Sink {
    received: u64,
}

impl Application for Sink {
    fn kind(&self) -> &'static str {
        "sink"
    }
    fn handle_event(&mut self, cx: &mut AppCx<'_>, event: AppEvent) {
        match event {
            AppEvent::Start => cx.listen(9, Protocol::Tcp).expect("port 9 is free"),
            AppEvent::Data { data, .. } => self.received += data.len() as u64,
            AppEvent::PeerClosed { conn } => cx.close(conn),
            _ => {}
        }
    }
}

/// A bulk transfer of `bytes` between two hosts on a 1 Gbit/s link;
/// returns segments processed per second of wall time and the count.
fn tcp_bulk(bytes: u64) -> (f64, u64, usize) {
    let mut w = World::new(1);
    let a = w.add_node("client", NodeKind::Host);
    let b = w.add_node("server", NodeKind::Host);
    let link = LinkConfig {
        latency: SimDuration::from_millis(1),
        bandwidth_bps: 1_000_000_000,
        queue_packets: 1000,
        ..LinkConfig::default()
    };
    w.add_link(a, b, link, None, None).unwrap();
    let sink = w.add_app(b, Box::new(Sink { received: 0 }));
    let to = SocketAddrV4::new(w.node(b).address().unwrap(), 9);
    w.add_app(
        a,
        Box::new(Blast {
            to,
            total: bytes,
            queued: 0,
            chunk: Bytes::from(vec![0u8; 256 * 1024]),
        }),
    );
    let start = Instant::now();
    w.run(SimTime::from_secs(3600));
    let secs = start.elapsed().as_secs_f64();
    let segs = w.segments_processed();
    assert_eq!(
        w.app_as::<Sink>(sink).map(|s| s.received),
        Some(bytes),
        "transfer incomplete"
    );
    (segs as f64 / secs, segs, w.trace().records.len())
}

fn best_of<T>(runs: usize, f: impl Fn() -> T, key: impl Fn(&T) -> f64) -> T {
    (0..runs)
        .map(|_| f())
        .max_by(|a, b| key(a).total_cmp(&key(b)))
        .expect("at least one run")
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` passes
    // nothing and expects a quick run.
    let quick = !std::env::args().any(|a| a == "--bench");
    let (steps, bytes, runs) = if quick {
        (100_000, 1_000_000, 1)
    } else {
        (20_000_000, 200_000_000, 5)
    };
    let strict = std::env::var("WIRETALE_BENCH_STRICT").is_ok_and(|v| v == "1");
    let mut missed = false;
    let only = std::env::var("WIRETALE_BENCH_ONLY").unwrap_or_default();
    let (queue_on, tcp_on) = (only != "tcp", only != "queue");

    // A run keeps tens to a few thousand events pending (packets in
    // flight plus timers); the target applies to those sizes. The largest
    // size shows how it degrades far beyond them.
    for (mixed, size) in [false, true]
        .into_iter()
        .flat_map(|m| [100, 1_000, 10_000, 100_000].map(|n| (m, n)))
        .filter(|_| queue_on)
    {
        let calendar = best_of(runs, || queue_hold(false, mixed, size, steps), |r| *r);
        let heap = best_of(runs, || queue_hold(true, mixed, size, steps), |r| *r);
        // The engine runs on the heap (`wiretale::sim::EventQueue`).
        let ok = heap >= QUEUE_TARGET || size > 10_000;
        missed |= !ok;
        println!(
            "event queue, {size:>6} pending, {}:  heap {:>6.1} M events/s, calendar {:>6.1} M  (target {:.0} M){}",
            if mixed {
                "near and far"
            } else {
                "uniform     "
            },
            heap / 1e6,
            calendar / 1e6,
            QUEUE_TARGET / 1e6,
            if heap >= QUEUE_TARGET {
                ""
            } else if size > 10_000 {
                "  (beyond a run's sizes)"
            } else {
                "  BELOW TARGET"
            }
        );
    }

    if !tcp_on {
        return;
    }
    let (rate, segs, records) = best_of(runs, || tcp_bulk(bytes), |r| r.0);
    let ok = rate >= SEGMENT_TARGET;
    missed |= !ok;
    println!(
        "tcp bulk {} MB, trace on:    {:>6.2} M segments/s  (target {:.0} M; {segs} segments, {records} trace records){}",
        bytes / 1_000_000,
        rate / 1e6,
        SEGMENT_TARGET / 1e6,
        if ok { "" } else { "  BELOW TARGET" }
    );
    if strict && missed && !quick {
        std::process::exit(1);
    }
}
