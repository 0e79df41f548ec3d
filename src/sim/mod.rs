//! The deterministic discrete-event engine's building blocks.
//!
//! - [`SimTime`] and [`SimDuration`]: integer nanoseconds. There is no
//!   wall clock anywhere in the engine; time only moves when the next event
//!   is taken from the queue.
//! - [`EventQueue`]: a priority queue keyed by `(time, insertion sequence)`,
//!   so events at equal times fire in the order they were scheduled.
//! - [`SimRng`]: the one seeded, portable random number generator of a run.
//!
//! This module knows nothing of networks; [`crate::net::World`] puts these
//! pieces together.

mod heap;
mod queue;
mod rng;
mod time;

pub use heap::HeapQueue;
pub use queue::CalendarQueue;

/// The engine's event queue: the faster of the two on the engine's
/// benchmark and on big runs (see `heap`).
pub type EventQueue<E> = HeapQueue<E>;
pub use rng::SimRng;
pub use time::{SimDuration, SimTime};
