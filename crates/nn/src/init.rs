//! PyTorch's default initialization from a seeded generator.
//!
//! `kaiming_uniform_(a = sqrt(5))` on a conv or linear weight is U(−b, b) with
//! b = gain · sqrt(3 / fan_in), gain = sqrt(2 / (1 + a²)) = sqrt(1/3), so
//! b = 1 / sqrt(fan_in); biases are U(−1/sqrt(fan_in), 1/sqrt(fan_in)).

/// A seeded SplitMix64 generator for initialization and data order.
#[derive(Clone, Debug)]
pub struct Rng {
    state: u64,
}

impl Rng {
    /// A generator from a seed.
    pub fn new(seed: u64) -> Rng {
        Rng { state: seed }
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    pub fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// `n` samples of U(−bound, bound) as f32.
    pub fn uniform_vec(&mut self, n: usize, bound: f64) -> Vec<f32> {
        (0..n)
            .map(|_| ((self.next_f64() * 2.0 - 1.0) * bound) as f32)
            .collect()
    }
}

/// The bound `1/sqrt(fan_in)` of PyTorch's default conv/linear init.
pub fn default_bound(fan_in: usize) -> f64 {
    1.0 / (fan_in.max(1) as f64).sqrt()
}
