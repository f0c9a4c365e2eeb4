//! A tiny seeded random number generator (SplitMix64) for reproducible tests.
//!
//! Not cryptographic, not meant to match any other library's stream; it only
//! has to be deterministic for a given seed and of decent statistical quality.

/// SplitMix64 pseudo-random generator.
#[derive(Clone, Debug)]
pub struct Rng {
    state: u64,
}

impl Rng {
    /// Creates a generator from a seed. Equal seeds give equal streams.
    pub fn new(seed: u64) -> Self {
        Rng { state: seed }
    }

    /// Returns the next 64 random bits (SplitMix64 step).
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Returns a uniform `f64` in `[0, 1)` with 53 random bits.
    pub fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Returns a uniform `f64` in `[lo, hi)`.
    pub fn uniform(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.next_f64()
    }

    /// Returns a standard normal sample (Box-Muller; one of the pair is used).
    pub fn normal(&mut self) -> f64 {
        // u1 in (0, 1] so that ln(u1) is finite.
        let u1 = 1.0 - self.next_f64();
        let u2 = self.next_f64();
        (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
    }

    /// Returns a uniform integer in `0..n` (Lemire's multiply-shift; the bias
    /// is at most `n / 2^64`, irrelevant for tests). Panics if `n == 0`.
    pub fn below(&mut self, n: usize) -> usize {
        assert!(n > 0, "Rng::below(0): empty range");
        ((self.next_u64() as u128 * n as u128) >> 64) as usize
    }

    /// Returns `n` uniform samples in `[lo, hi)`.
    pub fn vec_uniform(&mut self, n: usize, lo: f64, hi: f64) -> Vec<f64> {
        (0..n).map(|_| self.uniform(lo, hi)).collect()
    }

    /// Returns `n` standard normal samples.
    pub fn vec_normal(&mut self, n: usize) -> Vec<f64> {
        (0..n).map(|_| self.normal()).collect()
    }

    /// Shuffles a slice in place (Fisher-Yates).
    pub fn shuffle<T>(&mut self, xs: &mut [T]) {
        for i in (1..xs.len()).rev() {
            let j = self.below(i + 1);
            xs.swap(i, j);
        }
    }

    /// Returns a random permutation of `0..n`.
    pub fn permutation(&mut self, n: usize) -> Vec<usize> {
        let mut p: Vec<usize> = (0..n).collect();
        self.shuffle(&mut p);
        p
    }

    /// Returns `n` pairwise-distinct values in random order, spaced at least
    /// `spacing` apart and centred on zero: a shuffled `(i - n/2) * spacing`
    /// plus a jitter of at most `spacing / 4`. Useful to keep max-pool and
    /// argmax tests away from ties.
    pub fn vec_distinct(&mut self, n: usize, spacing: f64) -> Vec<f64> {
        let perm = self.permutation(n);
        perm.into_iter()
            .map(|i| {
                let base = (i as f64 - n as f64 / 2.0) * spacing;
                base + self.uniform(-0.25, 0.25) * spacing
            })
            .collect()
    }

    /// Returns `n` uniform samples in `[lo, hi)` whose absolute distance to
    /// every point in `avoid` is at least `margin` (rejection sampling).
    /// Used to keep inputs away from kinks such as ReLU's 0.
    pub fn vec_uniform_avoiding(
        &mut self,
        n: usize,
        lo: f64,
        hi: f64,
        avoid: &[f64],
        margin: f64,
    ) -> Vec<f64> {
        (0..n)
            .map(|_| loop {
                let v = self.uniform(lo, hi);
                if avoid.iter().all(|a| (v - a).abs() >= margin) {
                    break v;
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deterministic_per_seed() {
        let a: Vec<u64> = {
            let mut r = Rng::new(42);
            (0..8).map(|_| r.next_u64()).collect()
        };
        let b: Vec<u64> = {
            let mut r = Rng::new(42);
            (0..8).map(|_| r.next_u64()).collect()
        };
        let c: Vec<u64> = {
            let mut r = Rng::new(43);
            (0..8).map(|_| r.next_u64()).collect()
        };
        assert_eq!(a, b);
        assert_ne!(a, c);
    }

    #[test]
    fn splitmix64_known_value() {
        // Reference value of SplitMix64 seeded with 0 (first output), as in
        // Vigna's splitmix64.c.
        let mut r = Rng::new(0);
        assert_eq!(r.next_u64(), 0xE220_A839_7B1D_CDAF);
    }

    #[test]
    fn ranges_and_moments() {
        let mut r = Rng::new(7);
        let n = 20000;
        let u = r.vec_uniform(n, -2.0, 3.0);
        assert!(u.iter().all(|&x| (-2.0..3.0).contains(&x)));
        let mean_u = u.iter().sum::<f64>() / n as f64;
        assert!((mean_u - 0.5).abs() < 0.05, "{mean_u}");

        let g = r.vec_normal(n);
        let mean = g.iter().sum::<f64>() / n as f64;
        let var = g.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / n as f64;
        assert!(mean.abs() < 0.03, "{mean}");
        assert!((var - 1.0).abs() < 0.05, "{var}");

        let mut counts = [0usize; 5];
        for _ in 0..n {
            counts[r.below(5)] += 1;
        }
        for c in counts {
            assert!((c as f64 - 4000.0).abs() < 300.0, "{counts:?}");
        }
    }

    #[test]
    fn permutation_and_distinct() {
        let mut r = Rng::new(3);
        let mut p = r.permutation(13);
        p.sort();
        assert_eq!(p, (0..13).collect::<Vec<_>>());

        let mut d = r.vec_distinct(50, 0.1);
        d.sort_by(|a, b| a.partial_cmp(b).unwrap());
        for w in d.windows(2) {
            assert!(w[1] - w[0] >= 0.05 - 1e-12);
        }

        let v = r.vec_uniform_avoiding(200, -1.0, 7.0, &[0.0, 6.0], 0.01);
        assert!(v.iter().all(|x| x.abs() >= 0.01 && (x - 6.0).abs() >= 0.01));
    }
}
