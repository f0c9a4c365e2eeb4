//! Tolerance checks for comparing GPU (`f32`) results with `f64` references.
//!
//! An element passes when `|got - want| <= atol + rtol * |want|` (the formula
//! llm.c uses), or when both are the same infinity, or both are NaN. A NaN on
//! only one side always fails.

/// Absolute and relative tolerance of a comparison.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Tol {
    /// Absolute tolerance.
    pub atol: f64,
    /// Relative tolerance (scaled by `|want|`).
    pub rtol: f64,
}

impl Tol {
    /// Tolerance for forward passes of `f32` kernels.
    pub const FORWARD: Tol = Tol {
        atol: 1e-5,
        rtol: 1e-4,
    };
    /// Tolerance for backward passes of `f32` kernels (longer reductions).
    pub const BACKWARD: Tol = Tol {
        atol: 1e-4,
        rtol: 1e-3,
    };

    /// Builds a tolerance from its two parts.
    pub const fn new(atol: f64, rtol: f64) -> Self {
        Tol { atol, rtol }
    }

    /// Whether a single element passes: `|got - want| <= atol + rtol*|want|`,
    /// with equal infinities and NaN-vs-NaN counted as passing.
    pub fn passes(&self, got: f64, want: f64) -> bool {
        if got.is_nan() || want.is_nan() {
            return got.is_nan() && want.is_nan();
        }
        if got == want {
            return true; // covers equal infinities
        }
        if got.is_infinite() || want.is_infinite() {
            return false; // an infinity only matches the same infinity
        }
        (got - want).abs() <= self.atol + self.rtol * want.abs()
    }
}

/// Shared implementation of the `check_close*` family over `f64` values.
fn check_impl(got: &[f64], want: &[f64], tol: Tol) -> Result<(), String> {
    if got.len() != want.len() {
        return Err(format!(
            "length mismatch: got {} elements, want {}",
            got.len(),
            want.len()
        ));
    }
    let mut n_bad = 0usize;
    let mut first_bad: Vec<(usize, f64, f64)> = Vec::new();
    // Worst = largest |diff| / (atol + rtol*|want|), NaN mismatches count as inf.
    let mut worst: Option<(usize, f64)> = None;
    let mut max_abs = 0.0f64;
    let mut max_rel = 0.0f64;
    for (i, (&g, &w)) in got.iter().zip(want).enumerate() {
        let pass = tol.passes(g, w);
        let (abs, rel) = if pass && (g == w || (g.is_nan() && w.is_nan())) {
            (0.0, 0.0)
        } else {
            let d = (g - w).abs();
            let d = if d.is_nan() { f64::INFINITY } else { d };
            let d = if g.is_infinite() || w.is_infinite() {
                f64::INFINITY
            } else {
                d
            };
            let rel = if w == 0.0 || !w.is_finite() {
                if d == 0.0 {
                    0.0
                } else {
                    f64::INFINITY
                }
            } else {
                d / w.abs()
            };
            (d, rel)
        };
        max_abs = max_abs.max(abs);
        max_rel = max_rel.max(rel);
        if !pass {
            n_bad += 1;
            if first_bad.len() < 5 {
                first_bad.push((i, g, w));
            }
            let allowed = tol.atol + tol.rtol * w.abs();
            let ratio = if allowed > 0.0 && abs.is_finite() {
                abs / allowed
            } else {
                f64::INFINITY
            };
            if worst.is_none_or(|(_, r)| ratio > r) {
                worst = Some((i, ratio));
            }
        }
    }
    if n_bad == 0 {
        return Ok(());
    }
    let (wi, _) = worst.expect("n_bad > 0 implies a worst element"); // ok: set with every bad element
    let mut msg = format!(
        "{n_bad} of {} elements mismatch (atol={:e}, rtol={:e}); worst at index {wi}: \
         got {}, want {}; max abs err {:e}, max rel err {:e}; first failures:",
        got.len(),
        tol.atol,
        tol.rtol,
        got[wi],
        want[wi],
        max_abs,
        max_rel
    );
    for (i, g, w) in first_bad {
        msg.push_str(&format!(" [{i}] got {g} want {w};"));
    }
    Err(msg)
}

/// Compares an `f32` result with an `f64` reference element-wise.
///
/// Returns `Err` with a report on length mismatch, or with the number of
/// failing elements, the worst index (largest violation relative to the
/// allowed error), the max absolute and relative errors over all elements,
/// and the first 5 failing `(index, got, want)` triples.
pub fn check_close(got: &[f32], want: &[f64], tol: Tol) -> Result<(), String> {
    let got: Vec<f64> = got.iter().map(|&g| g as f64).collect();
    check_impl(&got, want, tol)
}

/// Like [`check_close`] but for an `f64` result.
pub fn check_close_f64(got: &[f64], want: &[f64], tol: Tol) -> Result<(), String> {
    check_impl(got, want, tol)
}

/// Panics with `ctx` and the [`check_close`] report when the check fails.
#[track_caller]
pub fn assert_close(got: &[f32], want: &[f64], tol: Tol, ctx: &str) {
    if let Err(e) = check_close(got, want, tol) {
        panic!("{ctx}: {e}"); // ok: an assertion helper for tests, panicking is its job
    }
}

/// Panics with `ctx` and the [`check_close_f64`] report when the check fails.
#[track_caller]
pub fn assert_close_f64(got: &[f64], want: &[f64], tol: Tol, ctx: &str) {
    if let Err(e) = check_close_f64(got, want, tol) {
        panic!("{ctx}: {e}"); // ok: an assertion helper for tests, panicking is its job
    }
}

/// Normalised max error `max|got - want| / max|want|`.
///
/// Returns 0 when both maxima are 0 (e.g. all-zero tensors, or empty ones),
/// infinity when only the reference is all-zero, and NaN if any element of
/// either input is NaN (so a `< threshold` check fails). Panics on length
/// mismatch.
pub fn rel_max_err(got: &[f32], want: &[f64]) -> f64 {
    assert_eq!(
        got.len(),
        want.len(),
        "rel_max_err: length mismatch ({} vs {})",
        got.len(),
        want.len()
    );
    let mut num = 0.0f64;
    let mut den = 0.0f64;
    for (&g, &w) in got.iter().zip(want) {
        let d = (g as f64 - w).abs();
        if d.is_nan() || w.is_nan() {
            return f64::NAN;
        }
        num = num.max(d);
        den = den.max(w.abs());
    }
    if num == 0.0 {
        0.0
    } else {
        num / den
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formula_boundaries() {
        let t = Tol::new(1e-3, 1e-2);
        // allowed = 1e-3 + 1e-2 * 10 = 0.101
        assert!(t.passes(10.1, 10.0));
        assert!(!t.passes(10.102, 10.0));
        assert!(t.passes(-10.1, -10.0));
        // pure atol around zero
        assert!(t.passes(0.0009, 0.0));
        assert!(!t.passes(0.0011, 0.0));
        // infinities and NaN
        assert!(t.passes(f64::INFINITY, f64::INFINITY));
        assert!(!t.passes(f64::INFINITY, f64::NEG_INFINITY));
        assert!(!t.passes(f64::INFINITY, 1.0));
        assert!(t.passes(f64::NAN, f64::NAN));
        assert!(!t.passes(f64::NAN, 0.0));
        assert!(!t.passes(0.0, f64::NAN));
        assert_eq!(Tol::FORWARD, Tol::new(1e-5, 1e-4));
        assert_eq!(Tol::BACKWARD, Tol::new(1e-4, 1e-3));
    }

    #[test]
    fn check_close_reports() {
        let want = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0];
        let got_ok: Vec<f32> = want.iter().map(|&w| (w + 1e-6) as f32).collect();
        assert!(check_close(&got_ok, &want, Tol::FORWARD).is_ok());

        let got = [1.0f32, 2.5, 3.0, 0.0, 5.1, 7.0, 8.0];
        let err = check_close(&got, &want, Tol::FORWARD).unwrap_err();
        assert!(err.starts_with("5 of 7 elements mismatch"), "{err}");
        // Worst is index 3 (err 4 on want 4), the largest violation.
        assert!(err.contains("worst at index 3"), "{err}");
        assert!(err.contains("max abs err 4e0"), "{err}");
        assert!(err.contains("max rel err 1e0"), "{err}");
        assert!(err.contains("[1] got 2.5 want 2"), "{err}");
        // Only the first five failures are listed: 1, 3, 4, 5, 6 -> all five.
        assert_eq!(err.matches("] got ").count(), 5, "{err}");

        let err = check_close(&[1.0f32], &want, Tol::FORWARD).unwrap_err();
        assert!(err.contains("length mismatch"), "{err}");

        let err = check_close(&[f32::NAN, 2.0], &[1.0, 2.0], Tol::FORWARD).unwrap_err();
        assert!(err.contains("1 of 2") && err.contains("index 0"), "{err}");
    }

    #[test]
    fn check_close_lists_at_most_five() {
        let want = vec![0.0; 20];
        let got = vec![1.0f32; 20];
        let err = check_close(&got, &want, Tol::FORWARD).unwrap_err();
        assert!(err.starts_with("20 of 20"), "{err}");
        assert_eq!(err.matches("] got ").count(), 5, "{err}");
        assert!(check_close_f64(&[1.0, 2.0], &[1.0, 2.0], Tol::new(0.0, 0.0)).is_ok());
        assert!(check_close_f64(&[1.0, 2.0 + 1e-9], &[1.0, 2.0], Tol::new(0.0, 0.0)).is_err());
    }

    #[test]
    #[should_panic(expected = "my context: 1 of 1 elements mismatch")]
    fn assert_close_panics_with_context() {
        assert_close(&[1.0], &[2.0], Tol::FORWARD, "my context");
    }

    #[test]
    fn rel_max_err_values() {
        assert_eq!(rel_max_err(&[], &[]), 0.0);
        assert_eq!(rel_max_err(&[0.0, 0.0], &[0.0, 0.0]), 0.0);
        assert_eq!(rel_max_err(&[1.0], &[0.0]), f64::INFINITY);
        // max|diff| = 0.5 (index 1), max|want| = 4
        let r = rel_max_err(&[1.0, 2.5, -4.0], &[1.0, 2.0, -4.0]);
        assert!((r - 0.125).abs() < 1e-15, "{r}");
        assert!(rel_max_err(&[f32::NAN], &[1.0]).is_nan());
    }
}
