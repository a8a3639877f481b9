//! The fuzzer's random numbers: ChaCha8 seeded from the run's seed, one stream per execution
//! index, so that execution `n` of a run produces the same input every time, also after the
//! worker was restarted past a crash.

use rand::{Rng, RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;

pub struct FuzzRng(ChaCha8Rng);

impl FuzzRng {
    /// The generator of execution `execution` of the run seeded with `seed`.
    pub fn for_execution(seed: u64, execution: u64) -> Self {
        let mut r = ChaCha8Rng::seed_from_u64(seed);
        r.set_stream(execution);
        FuzzRng(r)
    }

    /// A number in `0..n`; 0 when `n` is 0.
    pub fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            self.0.random_range(0..n)
        }
    }

    /// True with probability `num / den`.
    pub fn chance(&mut self, num: u32, den: u32) -> bool {
        self.0.random_range(0..den.max(1)) < num
    }

    pub fn byte(&mut self) -> u8 {
        self.0.random()
    }

    pub fn fill(&mut self, buf: &mut [u8]) {
        self.0.fill_bytes(buf);
    }

    /// One element of a non-empty slice.
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> Option<&'a T> {
        items.get(self.below(items.len()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_are_reproducible_and_distinct() {
        let draw = |seed, exec| {
            let mut r = FuzzRng::for_execution(seed, exec);
            (0..8).map(|_| r.byte()).collect::<Vec<_>>()
        };
        assert_eq!(draw(1, 7), draw(1, 7));
        assert_ne!(draw(1, 7), draw(1, 8));
        assert_ne!(draw(1, 7), draw(2, 7));
        let mut r = FuzzRng::for_execution(3, 0);
        assert!((0..1000).all(|_| r.below(5) < 5));
        assert_eq!(r.below(0), 0);
    }
}
