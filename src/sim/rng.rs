//! The run's random number generator.
//!
//! ChaCha8 is portable (the same seed gives the same numbers on every
//! platform and release of the crate), fast, and needs no OS entropy. A run
//! owns exactly one [`SimRng`], seeded from the scenario's seed, and hands
//! it down to whatever needs randomness (link loss, TCP initial sequence
//! numbers, ephemeral ports, key material). Because events are processed
//! in a fixed order, the draws happen in a fixed order too.

use rand_chacha::ChaCha8Rng;
use rand_core::{Rng, SeedableRng};

/// A seeded, portable random number generator.
#[derive(Clone, Debug)]
pub struct SimRng(ChaCha8Rng);

impl SimRng {
    pub fn new(seed: u64) -> SimRng {
        SimRng(ChaCha8Rng::seed_from_u64(seed))
    }

    pub fn next_u32(&mut self) -> u32 {
        self.0.next_u32()
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0.next_u64()
    }

    pub fn fill_bytes(&mut self, dst: &mut [u8]) {
        self.0.fill_bytes(dst)
    }

    /// A uniform float in `[0, 1)`, from the top 53 bits of a `u64`.
    pub fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// True with probability `p`. Draws nothing when `p` is 0 or 1, so a
    /// lossless link does not disturb the random sequence of the others.
    pub fn chance(&mut self, p: f64) -> bool {
        if p <= 0.0 {
            false
        } else if p >= 1.0 {
            true
        } else {
            self.next_f64() < p
        }
    }

    /// A uniform integer in `[0, n)`; 0 when `n` is 0. Lemire's method
    /// without the rejection step: the bias is below 2^-32 for the small
    /// ranges used here.
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            return 0;
        }
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_numbers() {
        let mut a = SimRng::new(7);
        let mut b = SimRng::new(7);
        for _ in 0..100 {
            assert_eq!(a.next_u64(), b.next_u64());
        }
        let mut c = SimRng::new(8);
        assert_ne!(SimRng::new(7).next_u64(), c.next_u64());
    }

    #[test]
    fn chance_and_below_stay_in_range() {
        let mut r = SimRng::new(1);
        let hits = (0..10_000).filter(|_| r.chance(0.25)).count();
        assert!((2_000..3_000).contains(&hits), "{hits}");
        assert!((0..1000).all(|_| r.below(10) < 10));
        assert!(!r.chance(0.0));
    }
}
