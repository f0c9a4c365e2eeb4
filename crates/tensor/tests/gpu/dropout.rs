//! dropout: the mask against a host mirror of the kernel's hash (so the same
//! seed gives the same mask, bit for bit), the keep fraction within a
//! statistical bound of 1 − p, exact scaling, the backward reusing the mask,
//! eval mode, split launches, typed errors; and the copy kernel.

use shadernet_reference::rng::Rng;
use shadernet_tensor::ops::dropout as ops;
use shadernet_tensor::ops::pool::with_binding_limit;
use shadernet_tensor::{DType, Error, Tensor};

use crate::common::{device, download};

/// Host mirror of shaders/dropout.wgsl: PCG hash of the index mixed with the
/// hashed seed; kept when the hash is at least ceil(p * 2^32).
fn pcg(v: u32) -> u32 {
    let state = v.wrapping_mul(747_796_405).wrapping_add(2_891_336_453);
    let word = ((state >> ((state >> 28) + 4)) ^ state).wrapping_mul(277_803_737);
    (word >> 22) ^ word
}

fn kept(seed: u32, p: f32, i: usize) -> bool {
    let threshold = (f64::from(p) * 4_294_967_296.0).ceil() as u64;
    u64::from(pcg(pcg(i as u32) ^ pcg(seed))) >= threshold
}

fn input(n: usize, seed: u64) -> (Vec<f32>, Tensor) {
    let mut rng = Rng::new(seed);
    let x: Vec<f32> = rng.vec_normal(n).iter().map(|&v| v as f32).collect();
    let t = Tensor::from_f32(device(), &x, &[n]).unwrap();
    (x, t)
}

#[test]
#[cfg_attr(skip_gpu_tests, ignore)]
fn mask_follows_the_hash_and_scaling_is_exact() {
    let n = 100_003;
    let (x, xt) = input(n, 31);
    for (p, seed) in [(0.3f32, 42u32), (0.5, 7), (0.1, 0), (0.9, u32::MAX)] {
        let (y, mask) = ops::dropout(&xt, p, seed, true).unwrap();
        let (y, mask) = (download(&y), download(&mask.unwrap()));
        let scale = 1.0f32 / (1.0 - p);
        for i in 0..n {
            let want_m = if kept(seed, p, i) { scale } else { 0.0 };
            assert_eq!(mask[i], want_m, "p {p} seed {seed}: mask[{i}]");
            assert_eq!(y[i], x[i] * want_m, "p {p} seed {seed}: y[{i}]");
        }
        // Same seed, same mask; another seed, another mask.
        let (_, again) = ops::dropout(&xt, p, seed, true).unwrap();
        assert_eq!(download(&again.unwrap()), mask);
        let (_, other) = ops::dropout(&xt, p, seed ^ 1, true).unwrap();
        let other = download(&other.unwrap());
        let differ = other.iter().zip(&mask).filter(|(a, b)| a != b).count();
        assert!(
            differ > n / 20,
            "seed {seed} vs {}: only {differ} differ",
            seed ^ 1
        );
    }
}

#[test]
#[cfg_attr(skip_gpu_tests, ignore)]
fn keep_fraction_is_one_minus_p() {
    let n = 100_000;
    let (_, xt) = input(n, 32);
    for (k, &p) in [0.05f32, 0.2, 0.5, 0.8, 0.95].iter().enumerate() {
        for seed in [k as u32, 1000 + k as u32] {
            let (_, mask) = ops::dropout(&xt, p, seed, true).unwrap();
            let keep = download(&mask.unwrap())
                .iter()
                .filter(|&&m| m != 0.0)
                .count();
            let frac = keep as f64 / n as f64;
            let q = 1.0 - f64::from(p);
            // 5 standard deviations of a binomial proportion.
            let bound = 5.0 * (q * (1.0 - q) / n as f64).sqrt();
            assert!(
                (frac - q).abs() <= bound,
                "p {p} seed {seed}: kept {frac}, want {q} ± {bound}"
            );
        }
    }
}

#[test]
#[cfg_attr(skip_gpu_tests, ignore)]
fn backward_multiplies_by_the_same_mask() {
    let n = 4099;
    let (_, xt) = input(n, 33);
    let (dy, dyt) = input(n, 34);
    let (_, mask) = ops::dropout(&xt, 0.4, 99, true).unwrap();
    let mask = mask.unwrap();
    let dx = download(&ops::dropout_backward(&dyt, &mask).unwrap());
    let m = download(&mask);
    for i in 0..n {
        assert_eq!(dx[i], dy[i] * m[i], "dx[{i}]");
        assert_eq!(m[i] != 0.0, kept(99, 0.4, i), "mask[{i}]");
    }
}

#[test]
#[cfg_attr(skip_gpu_tests, ignore)]
fn eval_mode_and_p_zero() {
    let (x, xt) = input(1000, 35);
    let (y, mask) = ops::dropout(&xt, 0.5, 1, false).unwrap();
    assert!(mask.is_none());
    assert!(y.same_storage(&xt), "eval mode returns the input itself");
    let (y, mask) = ops::dropout(&xt, 0.0, 1, true).unwrap();
    assert_eq!(download(&y), x);
    assert!(download(&mask.unwrap()).iter().all(|&m| m == 1.0));
}

#[test]
#[cfg_attr(skip_gpu_tests, ignore)]
fn split_launches_give_the_same_mask() {
    let n = 5003;
    let (_, xt) = input(n, 36);
    let run = || {
        let (y, m) = ops::dropout(&xt, 0.25, 5, true).unwrap();
        let m = m.unwrap();
        let dx = ops::dropout_backward(&y, &m).unwrap();
        (download(&y), download(&m), download(&dx))
    };
    let whole = run();
    // 1000 bytes: 250 elements per launch, starting at unaligned offsets.
    let split = with_binding_limit(1000, run);
    assert!(split == whole);
}

#[test]
#[cfg_attr(skip_gpu_tests, ignore)]
fn bad_inputs_are_typed_errors() {
    let (_, xt) = input(10, 37);
    for p in [-0.1f32, 1.0, 1.5, f32::NAN] {
        for train in [true, false] {
            match ops::dropout(&xt, p, 0, train) {
                Err(Error::Shape { message, .. }) => {
                    assert!(message.contains(&format!("{p}")), "{message}")
                }
                other => panic!("p {p}: {other:?}"),
            }
        }
    }
    let ints = Tensor::from_u32(device(), &[0; 10], &[10]).unwrap();
    assert!(matches!(
        ops::dropout(&ints, 0.5, 0, true),
        Err(Error::DType { .. })
    ));
    let (_, mask) = ops::dropout(&xt, 0.5, 0, true).unwrap();
    let (_, dy) = input(11, 38);
    assert!(matches!(
        ops::dropout_backward(&dy, &mask.unwrap()),
        Err(Error::Shape { .. })
    ));
}

#[test]
#[cfg_attr(skip_gpu_tests, ignore)]
fn copy_kernel_copies() {
    for n in [1, 7, 8, 1001, 65_536 * 4 + 12] {
        let (x, xt) = input(n, n as u64);
        for vec4 in [false, true] {
            assert_eq!(
                download(&ops::copy(&xt, vec4).unwrap()),
                x,
                "n {n} vec4 {vec4}"
            );
            let split = with_binding_limit(4096, || ops::copy(&xt, vec4).unwrap());
            assert_eq!(download(&split), x, "n {n} vec4 {vec4} split");
        }
    }
    let ints = Tensor::from_u32(device(), &[1, 2, 3], &[3]).unwrap();
    let c = ops::copy(&ints, true).unwrap();
    assert_eq!(c.dtype(), DType::U32);
    assert_eq!(c.to_vec_u32().unwrap(), vec![1, 2, 3]);
}
