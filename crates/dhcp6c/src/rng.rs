//! Small deterministic random numbers for RFC 8415 jitter and transaction ids.
//!
//! The engine needs a few random numbers per exchange, not cryptographic
//! strength (transaction ids only have to be unpredictable enough that an
//! off-path host cannot guess them; the driver seeds from the kernel's
//! getrandom). Taking a seed keeps tests reproducible and avoids pulling the
//! `rand` crate onto flash.

/// xorshift64* (Vigna), seeded once.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator from `seed`; a zero seed (the one xorshift fixed point)
    /// is replaced by a constant.
    pub fn new(seed: u64) -> Self {
        Self(if seed == 0 {
            0x9e37_79b9_7f4a_7c15
        } else {
            seed
        })
    }

    /// Next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// Uniform in `0..n` (`0` when `n == 0`); the modulo bias is below
    /// 2^-40 for the small ranges used here.
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 { 0 } else { self.next_u64() % n }
    }

    /// Uniform in `lo..=hi` (returns `lo` if the range is empty).
    pub fn between(&mut self, lo: i64, hi: i64) -> i64 {
        if hi <= lo {
            return lo;
        }
        let span = hi.abs_diff(lo).saturating_add(1);
        lo.saturating_add(self.below(span) as i64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deterministic_and_in_range() {
        let mut a = Rng::new(42);
        let mut b = Rng::new(42);
        for _ in 0..1000 {
            let x = a.between(-100_000, 100_000);
            assert_eq!(x, b.between(-100_000, 100_000));
            assert!((-100_000..=100_000).contains(&x));
        }
        let mut z = Rng::new(0);
        assert_ne!(z.next_u64(), 0);
        assert_eq!(z.below(0), 0);
        assert_eq!(z.between(5, 5), 5);
    }
}
