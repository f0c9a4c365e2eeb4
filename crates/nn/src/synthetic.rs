//! Deterministic hash generator for synthetic weights and inputs.
//!
//! Shared with Python (`scripts/synthetic.py`): both implement exactly this
//! spec and produce bit-identical `f32` values, so the model-level fixtures in
//! `tests/fixtures/models/` commit only small outputs (logits, losses, final
//! parameters) while the large inputs (ImageNet-sized weights, images) are
//! regenerated on either side. Every value is a pure function of
//! `(seed, tensor name, flat index)`: no state, any order, any subset.
//!
//! # Spec (generator `shadernet-synthetic-v1`)
//!
//! All integer arithmetic is `u64` with wraparound.
//!
//! ```text
//! key(name)  = FNV-1a 64 of the UTF-8 bytes of name
//!              (h = 0xCBF29CE484222325; per byte: h ^= b; h *= 0x100000001B3)
//! mix(z)     = splitmix64 finalizer:
//!              z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9
//!              z = (z ^ (z >> 27)) * 0x94D049BB133111EB
//!              z =  z ^ (z >> 31)
//! bits(seed, name, i) = mix(seed ^ key(name) ^ (i * 0x9E3779B97F4A7C15))
//! u(seed, name, i)    = (bits >> 11) * 2^-53           (f64, in [0, 1))
//! ```
//!
//! A tensor of shape `S` (numel `n`, row-major flat index `i = 0..n`) of kind
//! `K` is computed in `f64` and rounded once to `f32` (nearest, ties to even):
//!
//! ```text
//! Uniform{b}     : (2*u(i) - 1) * b                     U(-b, b)
//! Range{lo, hi}  : lo + (hi - lo) * u(i)                U(lo, hi)
//! Normalish{s}   : ((((u(4i) + u(4i+1)) + u(4i+2)) + u(4i+3)) - 2)
//!                  * 1.7320508075688772 * s             ~ s * N(0, 1)
//!                  (Irwin-Hall of 4 uniforms, variance 1 after the sqrt(3);
//!                  strictly left to right, no fused multiply-add)
//! Zero           : 0
//! ```
//!
//! # Kind rules, version 1 ([`RULES_VERSION`], [`kind_for`])
//!
//! By the last dot-separated part of a state-dict name and the shape:
//!
//! ```text
//! *.weight, rank >= 2 (conv/linear)  Uniform{1/sqrt(fan_in)},
//!                                    fan_in = prod(shape[1..]) = in/groups*kh*kw
//! *.bias of a conv/linear            Uniform{1/sqrt(fan_in of <prefix>.weight)}
//! *.weight, rank 1 (BatchNorm)       Range{0.5, 1.5}
//! *.bias of a BatchNorm              Normalish{0.1}   (its weight has rank 1)
//! *.running_mean                     Normalish{0.1}
//! *.running_var                      Range{0.5, 1.5}
//! *.num_batches_tracked              Zero (an int64 0 in a state dict)
//! ```
//!
//! Parameters use seed 0 and their full PyTorch name (`"layer1.0.conv1.weight"`).
//! Inputs: name `"input"`, seed 1, `Normalish{1.0}`; training images: name
//! `"images"`, seed 2, `Normalish{1.0}`; training labels:
//! `floor(u(3, "labels", i) * classes)` ([`labels`]).
//!
//! # Golden values
//!
//! Asserted by this module's tests and printed by `python3 scripts/synthetic.py`:
//!
//! ```text
//! key("")                        = 0xcbf29ce484222325
//! key("conv1.weight")            = 0x69a29a2cee47d254
//! bits(0, "conv1.weight", 0)     = 0x518adaf9dfb88fbe
//! u(0, "conv1.weight", 0)        = 0.3185250148814892
//! u(1, "input", 12345)           = 0.08118413683021708
//! labels(3, "labels", 8, 10)     = [7, 9, 8, 3, 8, 0, 3, 3]
//! tensor(0, "conv1.weight", [6,3,5,5], Uniform{1/sqrt(75)})[0..3]
//!     = f32 bits [0xbd2ba9aa, 0x3de1bd70, 0xbd6113ad]
//! tensor(0, "bn1.bias", [4], Normalish{0.1})
//!     = f32 bits [0x3dd30992, 0xbe59fa21, 0xbd7c59c2, 0x3e13f59f]
//! tensor(0, "bn1.weight", [2], Range{0.5, 1.5})
//!     = f32 bits [0x3f2c5986, 0x3f90f776]
//! tensor(1, "input", [3], Normalish{1.0})
//!     = f32 bits [0x402cd33a, 0xbf937950, 0xbf98c7c4]
//! ```

/// The generator's name, as recorded in fixture metadata.
pub const GENERATOR: &str = "shadernet-synthetic-v1";

/// Version of the name/shape → [`Kind`] rules of [`kind_for`].
pub const RULES_VERSION: u32 = 1;

/// Seed of model parameters and buffers.
pub const WEIGHT_SEED: u64 = 0;
/// Seed (and tensor name `"input"`) of inference inputs.
pub const INPUT_SEED: u64 = 1;
/// Seed (and tensor name `"images"`) of training images.
pub const IMAGES_SEED: u64 = 2;
/// Seed (and tensor name `"labels"`) of training labels.
pub const LABELS_SEED: u64 = 3;

const FNV_OFFSET: u64 = 0xCBF2_9CE4_8422_2325;
const FNV_PRIME: u64 = 0x0000_0100_0000_01B3;
const GOLDEN_GAMMA: u64 = 0x9E37_79B9_7F4A_7C15;
/// sqrt(3) rounded to f64 (equal to `3f64.sqrt()`).
const SQRT3: f64 = 1.732_050_807_568_877_2;
/// 2^-53.
const TWO_M53: f64 = 1.0 / 9_007_199_254_740_992.0;

/// How the values of a synthetic tensor are distributed.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Kind {
    /// U(−bound, bound): `(2u − 1) · bound`.
    Uniform {
        /// Half-width.
        bound: f64,
    },
    /// U(lo, hi): `lo + (hi − lo) · u`.
    Range {
        /// Lower end.
        lo: f64,
        /// Upper end.
        hi: f64,
    },
    /// `scale` times an approximate N(0, 1): the centred, unit-variance sum of
    /// the four uniforms at indices `4i .. 4i+3`.
    Normalish {
        /// Standard deviation.
        scale: f64,
    },
    /// All zeros.
    Zero,
}

/// FNV-1a 64 of the UTF-8 bytes of `name`.
pub fn key(name: &str) -> u64 {
    name.bytes().fold(FNV_OFFSET, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(FNV_PRIME)
    })
}

/// The splitmix64 finalizer.
pub fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The 64 hash bits for element `i` of tensor `name` under `seed`.
pub fn bits(seed: u64, name: &str, i: u64) -> u64 {
    bits_keyed(seed ^ key(name), i)
}

fn bits_keyed(base: u64, i: u64) -> u64 {
    mix(base ^ i.wrapping_mul(GOLDEN_GAMMA))
}

fn uniform_keyed(base: u64, i: u64) -> f64 {
    (bits_keyed(base, i) >> 11) as f64 * TWO_M53
}

/// `u(seed, name, i)`: uniform in [0, 1) with 53 random bits.
pub fn uniform(seed: u64, name: &str, i: u64) -> f64 {
    uniform_keyed(seed ^ key(name), i)
}

fn value(base: u64, i: u64, kind: Kind) -> f64 {
    match kind {
        Kind::Uniform { bound } => (2.0 * uniform_keyed(base, i) - 1.0) * bound,
        Kind::Range { lo, hi } => lo + (hi - lo) * uniform_keyed(base, i),
        Kind::Normalish { scale } => {
            let j = i.wrapping_mul(4);
            let mut s = uniform_keyed(base, j);
            s += uniform_keyed(base, j.wrapping_add(1));
            s += uniform_keyed(base, j.wrapping_add(2));
            s += uniform_keyed(base, j.wrapping_add(3));
            (s - 2.0) * SQRT3 * scale
        }
        Kind::Zero => 0.0,
    }
}

/// The `f32` tensor of `shape` (row-major) for `(seed, name, kind)`.
pub fn tensor(seed: u64, name: &str, shape: &[usize], kind: Kind) -> Vec<f32> {
    let n = shape.iter().fold(1usize, |a, &d| a.saturating_mul(d));
    let base = seed ^ key(name);
    (0..n as u64).map(|i| value(base, i, kind) as f32).collect()
}

/// Class labels `floor(u(seed, name, i) · classes)` for `i = 0..n`.
pub fn labels(seed: u64, name: &str, n: usize, classes: usize) -> Vec<usize> {
    let base = seed ^ key(name);
    (0..n as u64)
        .map(|i| (uniform_keyed(base, i) * classes as f64).floor() as usize)
        .collect()
}

/// `fan_in = prod(shape[1..])` of a conv (`[out, in/groups, kh, kw]`) or
/// linear (`[out, in]`) weight.
pub fn fan_in(shape: &[usize]) -> usize {
    shape
        .iter()
        .skip(1)
        .fold(1usize, |a, &d| a.saturating_mul(d))
}

/// The [`Kind`] of a state-dict entry under rules version 1, or `None` when
/// no rule applies.
///
/// `weight_shape` is the shape of `<prefix>.weight` and is needed only for a
/// `bias`: rank ≥ 2 makes it a conv/linear bias, rank 1 a BatchNorm bias.
/// `num_batches_tracked` gets [`Kind::Zero`] (store it as an int64 0).
pub fn kind_for(name: &str, shape: &[usize], weight_shape: Option<&[usize]>) -> Option<Kind> {
    let last = name.rsplit('.').next().unwrap_or(name);
    let uniform_for = |w: &[usize]| Kind::Uniform {
        bound: 1.0 / (fan_in(w) as f64).sqrt(),
    };
    match last {
        "num_batches_tracked" => Some(Kind::Zero),
        "running_mean" => Some(Kind::Normalish { scale: 0.1 }),
        "running_var" => Some(Kind::Range { lo: 0.5, hi: 1.5 }),
        "weight" => match shape.len() {
            0 => None,
            1 => Some(Kind::Range { lo: 0.5, hi: 1.5 }),
            _ => Some(uniform_for(shape)),
        },
        "bias" => match weight_shape.map(<[usize]>::len) {
            None | Some(0) => None,
            Some(1) => Some(Kind::Normalish { scale: 0.1 }),
            Some(_) => weight_shape.map(uniform_for),
        },
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f32_bits(v: &[f32]) -> Vec<u32> {
        v.iter().map(|x| x.to_bits()).collect()
    }

    #[test]
    fn golden_hashes() {
        assert_eq!(key(""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(key("conv1.weight"), 0x69a2_9a2c_ee47_d254);
        assert_eq!(bits(0, "conv1.weight", 0), 0x518a_daf9_dfb8_8fbe);
        assert_eq!(uniform(0, "conv1.weight", 0), 0.318_525_014_881_489_2);
        assert_eq!(uniform(1, "input", 12345), 0.081_184_136_830_217_08);
        assert_eq!(labels(3, "labels", 8, 10), vec![7, 9, 8, 3, 8, 0, 3, 3]);
    }

    #[test]
    fn golden_tensors() {
        let w = tensor(
            0,
            "conv1.weight",
            &[6, 3, 5, 5],
            Kind::Uniform {
                bound: 1.0 / 75f64.sqrt(),
            },
        );
        assert_eq!(w.len(), 450);
        assert_eq!(
            f32_bits(&w[..3]),
            vec![0xbd2b_a9aa, 0x3de1_bd70, 0xbd61_13ad]
        );
        let b = tensor(0, "bn1.bias", &[4], Kind::Normalish { scale: 0.1 });
        assert_eq!(
            f32_bits(&b),
            vec![0x3dd3_0992, 0xbe59_fa21, 0xbd7c_59c2, 0x3e13_f59f]
        );
        let g = tensor(0, "bn1.weight", &[2], Kind::Range { lo: 0.5, hi: 1.5 });
        assert_eq!(f32_bits(&g), vec![0x3f2c_5986, 0x3f90_f776]);
        let x = tensor(1, "input", &[3], Kind::Normalish { scale: 1.0 });
        assert_eq!(f32_bits(&x), vec![0x402c_d33a, 0xbf93_7950, 0xbf98_c7c4]);
        assert_eq!(tensor(0, "x", &[0], Kind::Zero), Vec::<f32>::new());
        assert_eq!(tensor(0, "x", &[], Kind::Zero), vec![0.0]);
    }

    /// Sums of the f32 bit patterns of whole tensors, as computed by
    /// `scripts/synthetic.py` (catches drift beyond the first elements).
    #[test]
    fn golden_checksums() {
        let ck = |v: Vec<f32>| v.iter().map(|x| u64::from(x.to_bits())).sum::<u64>();
        let x = tensor(
            1,
            "input",
            &[2, 3, 224, 224],
            Kind::Normalish { scale: 1.0 },
        );
        assert_eq!(ck(x), 643_325_549_865_243);
        let w = tensor(
            0,
            "fc.weight",
            &[1000, 512],
            Kind::Uniform {
                bound: 1.0 / 512f64.sqrt(),
            },
        );
        assert_eq!(ck(w), 1_069_079_883_259_373);
        let v = tensor(
            0,
            "layer4.1.bn2.running_var",
            &[512],
            Kind::Range { lo: 0.5, hi: 1.5 },
        );
        assert_eq!(ck(v), 544_965_163_634);
        assert_eq!(labels(3, "labels", 80, 10).iter().sum::<usize>(), 391);
    }

    #[test]
    fn sqrt3_constant() {
        assert_eq!(SQRT3, 3f64.sqrt());
        assert_eq!(TWO_M53, (-53f64).exp2());
    }

    #[test]
    fn kinds_follow_rules() {
        let conv = [64usize, 3, 7, 7];
        assert_eq!(
            kind_for("conv1.weight", &conv, None),
            Some(Kind::Uniform {
                bound: 1.0 / 147f64.sqrt()
            })
        );
        assert_eq!(
            kind_for("fc.bias", &[10], Some(&[10, 64])),
            Some(Kind::Uniform { bound: 0.125 })
        );
        assert_eq!(
            kind_for("bn1.weight", &[64], None),
            Some(Kind::Range { lo: 0.5, hi: 1.5 })
        );
        assert_eq!(
            kind_for("bn1.bias", &[64], Some(&[64])),
            Some(Kind::Normalish { scale: 0.1 })
        );
        assert_eq!(
            kind_for("layer1.0.bn1.running_mean", &[64], None),
            Some(Kind::Normalish { scale: 0.1 })
        );
        assert_eq!(
            kind_for("bn1.running_var", &[64], None),
            Some(Kind::Range { lo: 0.5, hi: 1.5 })
        );
        assert_eq!(
            kind_for("bn1.num_batches_tracked", &[], None),
            Some(Kind::Zero)
        );
        assert_eq!(kind_for("fc.bias", &[10], None), None);
        assert_eq!(kind_for("something.else", &[10], None), None);
    }

    #[test]
    fn ranges_and_moments() {
        let n = 1 << 16;
        let r = tensor(5, "r", &[n], Kind::Range { lo: 0.5, hi: 1.5 });
        assert!(r.iter().all(|&v| (0.5..=1.5).contains(&v)));
        let u = tensor(5, "u", &[n], Kind::Uniform { bound: 0.25 });
        assert!(u.iter().all(|&v| (-0.25..=0.25).contains(&v)));
        let x = tensor(5, "x", &[n], Kind::Normalish { scale: 2.0 });
        let mean = x.iter().map(|&v| f64::from(v)).sum::<f64>() / n as f64;
        let var = x
            .iter()
            .map(|&v| (f64::from(v) - mean).powi(2))
            .sum::<f64>()
            / n as f64;
        assert!(mean.abs() < 0.05, "mean {mean}");
        assert!((var.sqrt() - 2.0).abs() < 0.05, "std {}", var.sqrt());
    }
}
