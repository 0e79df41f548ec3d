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

mod queue;
mod rng;
mod time;

pub use queue::EventQueue;
pub use rng::SimRng;
pub use time::{SimDuration, SimTime};
