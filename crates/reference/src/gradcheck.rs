//! Finite-difference checks of backward functions.
//!
//! Every backward in this crate is tested by reducing the op to a scalar
//! `L(x) = sum(r ⊙ op(x))` with a random `r`; the backward fed `dy = r` must
//! then return `dL/dx`. [`directional_check`] compares the analytic
//! directional derivative `<grad, v>` with a central difference along a few
//! random unit directions `v`, which catches errors in any element of `grad`
//! whose `v` component is not tiny while costing only two evaluations of `L`
//! per direction. [`check_vjp`] wraps the whole recipe.

use crate::rng::Rng;

/// Finite-difference step along the unit direction.
pub const EPS: f64 = 1e-6;
/// Relative tolerance of the comparison (see [`directional_check`]).
pub const RTOL: f64 = 1e-6;
/// Absolute tolerance, relative to the magnitude of `L` (see [`directional_check`]).
pub const ATOL_SCALE: f64 = 1e-8;
/// Number of random directions tried by [`directional_check`].
pub const DIRECTIONS: usize = 3;

/// Dot product of two equally long slices.
pub fn dot(a: &[f64], b: &[f64]) -> f64 {
    assert_eq!(a.len(), b.len(), "dot: length mismatch");
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// Returns a random direction of unit L2 norm (normal samples, normalised).
pub fn random_unit(n: usize, rng: &mut Rng) -> Vec<f64> {
    loop {
        let v = rng.vec_normal(n);
        let norm = dot(&v, &v).sqrt();
        if norm > 1e-3 || n == 0 {
            return v
                .into_iter()
                .map(|x| x / norm.max(f64::MIN_POSITIVE))
                .collect();
        }
    }
}

/// Checks an analytic gradient `grad = dL/dx` of the scalar function `f` at
/// `x` against central differences along [`DIRECTIONS`] random unit
/// directions `v` (drawn from `seed`).
///
/// For each direction: `analytic = <grad, v>`,
/// `numeric = (f(x + EPS v) - f(x - EPS v)) / (2 EPS)` with `EPS = 1e-6`.
/// It passes when
///
/// `|analytic - numeric| <= RTOL * max(|analytic|, |numeric|) + ATOL_SCALE * max(1, |f(x+)|, |f(x-)|)`
///
/// with `RTOL = 1e-6` and `ATOL_SCALE = 1e-8`. The relative part covers the
/// `O(EPS²)` truncation error of the central difference for smooth `f`
/// (about `1e-12` relative); the absolute part covers cancellation when
/// subtracting two nearly equal values of `f`: each `f` evaluation carries a
/// rounding error of a few ulp of its magnitude, i.e. `~1e-16 |f|`, which the
/// division by `2 EPS` amplifies to `~1e-10 |f|`, so `1e-8 |f|` leaves a
/// 100x margin for long sums. Any genuine bug (a missing term, a wrong
/// index) shows up many orders of magnitude above these bounds.
///
/// Inputs must stay at least ~`1e-5` away from kinks of `f` (ReLU at 0,
/// max-pool ties), since `x` moves by up to `EPS` per element.
pub fn directional_check(
    f: impl Fn(&[f64]) -> f64,
    x: &[f64],
    grad: &[f64],
    seed: u64,
) -> Result<(), String> {
    if x.len() != grad.len() {
        return Err(format!(
            "gradient length {} does not match input length {}",
            grad.len(),
            x.len()
        ));
    }
    let mut rng = Rng::new(seed);
    let mut xp = vec![0.0; x.len()];
    for dir in 0..DIRECTIONS {
        let v = random_unit(x.len(), &mut rng);
        let analytic = dot(grad, &v);
        for i in 0..x.len() {
            xp[i] = x[i] + EPS * v[i];
        }
        let fp = f(&xp);
        for i in 0..x.len() {
            xp[i] = x[i] - EPS * v[i];
        }
        let fm = f(&xp);
        let numeric = (fp - fm) / (2.0 * EPS);
        let err = (analytic - numeric).abs();
        let allowed =
            RTOL * analytic.abs().max(numeric.abs()) + ATOL_SCALE * fp.abs().max(fm.abs()).max(1.0);
        // Written so that a NaN anywhere fails the check.
        let ok = err <= allowed;
        if !ok {
            return Err(format!(
                "directional derivative mismatch (direction {dir}, seed {seed}): \
                 analytic <grad,v> = {analytic:.12e}, central difference = {numeric:.12e}, \
                 |diff| = {err:.3e} > allowed {allowed:.3e} (f(x+)={fp:.6e}, f(x-)={fm:.6e})"
            ));
        }
    }
    Ok(())
}

/// Checks a vector-Jacobian product: draws `r` (standard normal, same length
/// as `op(x)`) from `seed`, computes `grad = vjp(r)` and runs
/// [`directional_check`] on `L(x) = sum(r ⊙ op(x))`.
///
/// `op` is the forward as a function of the single input being checked
/// (other inputs captured by the closure); `vjp` is the backward for that
/// input, given `dy`.
pub fn check_vjp(
    op: impl Fn(&[f64]) -> Vec<f64>,
    vjp: impl Fn(&[f64]) -> Vec<f64>,
    x: &[f64],
    seed: u64,
) -> Result<(), String> {
    let y = op(x);
    let mut rng = Rng::new(seed ^ 0x5EED_0F0D_D5E5);
    let r = rng.vec_normal(y.len());
    let grad = vjp(&r);
    directional_check(|xx| dot(&r, &op(xx)), x, &grad, seed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_correct_gradient() {
        let mut rng = Rng::new(1);
        let x = rng.vec_normal(13);
        // f(x) = sum_i sin(x_i) * x_{(i+1)%n} + 0.5 * |x|^2
        let f = |x: &[f64]| {
            let n = x.len();
            (0..n).map(|i| x[i].sin() * x[(i + 1) % n]).sum::<f64>() + 0.5 * dot(x, x)
        };
        let n = x.len();
        let grad: Vec<f64> = (0..n)
            .map(|i| x[i].cos() * x[(i + 1) % n] + x[(i + n - 1) % n].sin() + x[i])
            .collect();
        directional_check(f, &x, &grad, 9).unwrap();
    }

    #[test]
    fn rejects_wrong_gradient() {
        let mut rng = Rng::new(2);
        let x = rng.vec_normal(7);
        let f = |x: &[f64]| x.iter().map(|v| v.exp()).sum::<f64>();
        let good: Vec<f64> = x.iter().map(|v| v.exp()).collect();
        directional_check(f, &x, &good, 5).unwrap();
        // One element off by 0.1% must be detected.
        let mut bad = good.clone();
        bad[3] *= 1.001;
        assert!(directional_check(f, &x, &bad, 5).is_err());
        // Wrong length.
        assert!(directional_check(f, &x, &good[..6], 5).is_err());
        // NaN gradient.
        let mut nan = good.clone();
        nan[0] = f64::NAN;
        assert!(directional_check(f, &x, &nan, 5).is_err());
    }

    #[test]
    fn check_vjp_linear_map() {
        // op(x) = A x with A 3x5; vjp(r) = A^T r.
        let mut rng = Rng::new(3);
        let a = rng.vec_normal(15);
        let x = rng.vec_normal(5);
        let op = |x: &[f64]| (0..3).map(|i| dot(&a[i * 5..i * 5 + 5], x)).collect();
        let vjp = |r: &[f64]| {
            (0..5)
                .map(|j| (0..3).map(|i| a[i * 5 + j] * r[i]).sum())
                .collect()
        };
        check_vjp(op, vjp, &x, 11).unwrap();
        // A wrong vjp (A^T r with rows swapped) is rejected.
        let bad = |r: &[f64]| {
            (0..5)
                .map(|j| (0..3).map(|i| a[i * 5 + j] * r[2 - i]).sum())
                .collect()
        };
        assert!(check_vjp(op, bad, &x, 11).is_err());
    }
}
