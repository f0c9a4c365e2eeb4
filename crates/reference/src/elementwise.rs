//! Element-wise ops: arithmetic, ReLU/ReLU6 and the per-channel bias add.
//!
//! Binary ops require equal shapes (no broadcasting); they panic otherwise.

fn check_same(a: &[f64], b: &[f64], op: &str) {
    assert_eq!(
        a.len(),
        b.len(),
        "{op}: length mismatch ({} vs {})",
        a.len(),
        b.len()
    );
}

/// `y = a + b` (same shape).
pub fn add(a: &[f64], b: &[f64]) -> Vec<f64> {
    check_same(a, b, "add");
    a.iter().zip(b).map(|(x, y)| x + y).collect()
}

/// `y = max(a + b, 0)` (same shape).
pub fn add_relu(a: &[f64], b: &[f64]) -> Vec<f64> {
    relu(&add(a, b))
}

/// `y = a - b` (same shape).
pub fn sub(a: &[f64], b: &[f64]) -> Vec<f64> {
    check_same(a, b, "sub");
    a.iter().zip(b).map(|(x, y)| x - y).collect()
}

/// `y = a * b` (same shape).
pub fn mul(a: &[f64], b: &[f64]) -> Vec<f64> {
    check_same(a, b, "mul");
    a.iter().zip(b).map(|(x, y)| x * y).collect()
}

/// `y = a / b` (same shape; IEEE semantics for division by zero).
pub fn div(a: &[f64], b: &[f64]) -> Vec<f64> {
    check_same(a, b, "div");
    a.iter().zip(b).map(|(x, y)| x / y).collect()
}

/// Backward of [`mul`]: `(da, db) = (dy * b, dy * a)`.
pub fn mul_backward(a: &[f64], b: &[f64], dy: &[f64]) -> (Vec<f64>, Vec<f64>) {
    check_same(a, b, "mul_backward");
    check_same(a, dy, "mul_backward");
    let da = dy.iter().zip(b).map(|(g, y)| g * y).collect();
    let db = dy.iter().zip(a).map(|(g, x)| g * x).collect();
    (da, db)
}

/// Backward of [`div`]: `(da, db) = (dy / b, -dy * a / b²)`.
pub fn div_backward(a: &[f64], b: &[f64], dy: &[f64]) -> (Vec<f64>, Vec<f64>) {
    check_same(a, b, "div_backward");
    check_same(a, dy, "div_backward");
    let da = dy.iter().zip(b).map(|(g, y)| g / y).collect();
    let db = (0..a.len())
        .map(|i| -dy[i] * a[i] / (b[i] * b[i]))
        .collect();
    (da, db)
}

/// `y = x + s`.
pub fn add_scalar(x: &[f64], s: f64) -> Vec<f64> {
    x.iter().map(|v| v + s).collect()
}

/// `y = x * s`.
pub fn mul_scalar(x: &[f64], s: f64) -> Vec<f64> {
    x.iter().map(|v| v * s).collect()
}

/// `y = max(x, 0)`; NaN propagates (as `torch.relu`).
pub fn relu(x: &[f64]) -> Vec<f64> {
    x.iter()
        .map(|&v| if v > 0.0 || v.is_nan() { v } else { 0.0 })
        .collect()
}

/// Backward of [`relu`] given the forward input `x`: `dx = x > 0 ? dy : 0`.
///
/// PyTorch's `threshold_backward` zeroes the gradient where `x <= 0`, so the
/// gradient at exactly 0 is 0.
pub fn relu_backward(x: &[f64], dy: &[f64]) -> Vec<f64> {
    check_same(x, dy, "relu_backward");
    x.iter()
        .zip(dy)
        .map(|(&v, &g)| if v <= 0.0 { 0.0 } else { g })
        .collect()
}

/// `y = min(max(x, 0), 6)`; NaN propagates.
pub fn relu6(x: &[f64]) -> Vec<f64> {
    x.iter()
        .map(|&v| if v.is_nan() { v } else { v.clamp(0.0, 6.0) })
        .collect()
}

/// Backward of [`relu6`] given the forward input `x`:
/// `dx = (x <= 0 || x >= 6) ? 0 : dy`, PyTorch's `hardtanh_backward`
/// formulation: the gradient passes for `0 < x < 6`, is 0 at exactly 0 and
/// exactly 6, and (since both comparisons are false) passes for NaN inputs.
pub fn relu6_backward(x: &[f64], dy: &[f64]) -> Vec<f64> {
    check_same(x, dy, "relu6_backward");
    x.iter()
        .zip(dy)
        .map(|(&v, &g)| if v <= 0.0 || v >= 6.0 { 0.0 } else { g })
        .collect()
}

/// Per-channel bias add: `y[n, c, i] = x[n, c, i] + bias[c]`.
///
/// `x`: `[n, c, hw]`, `bias`: `[c]`, returns `[n, c, hw]`.
pub fn bias_add_channels(x: &[f64], bias: &[f64], n: usize, c: usize, hw: usize) -> Vec<f64> {
    assert_eq!(x.len(), n * c * hw, "bias_add_channels: x length");
    assert_eq!(bias.len(), c, "bias_add_channels: bias length");
    let mut y = vec![0.0; x.len()];
    for b in 0..n {
        for ch in 0..c {
            let base = (b * c + ch) * hw;
            for i in 0..hw {
                y[base + i] = x[base + i] + bias[ch];
            }
        }
    }
    y
}

/// Backward of [`bias_add_channels`] for the bias:
/// `dbias[c] = sum over n and hw of dy[n, c, hw]`. (The gradient for `x` is
/// `dy` itself.)
///
/// `dy`: `[n, c, hw]`, returns `[c]`.
pub fn bias_add_channels_backward(dy: &[f64], n: usize, c: usize, hw: usize) -> Vec<f64> {
    assert_eq!(
        dy.len(),
        n * c * hw,
        "bias_add_channels_backward: dy length"
    );
    let mut db = vec![0.0; c];
    for b in 0..n {
        for ch in 0..c {
            let base = (b * c + ch) * hw;
            for i in 0..hw {
                db[ch] += dy[base + i];
            }
        }
    }
    db
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gradcheck::check_vjp;
    use crate::rng::Rng;

    #[test]
    fn arithmetic_golden() {
        let a = [1.0, -2.0, 3.0];
        let b = [4.0, 5.0, -0.5];
        assert_eq!(add(&a, &b), vec![5.0, 3.0, 2.5]);
        assert_eq!(sub(&a, &b), vec![-3.0, -7.0, 3.5]);
        assert_eq!(mul(&a, &b), vec![4.0, -10.0, -1.5]);
        assert_eq!(div(&a, &b), vec![0.25, -0.4, -6.0]);
        assert_eq!(add_scalar(&a, 1.5), vec![2.5, -0.5, 4.5]);
        assert_eq!(mul_scalar(&a, -2.0), vec![-2.0, 4.0, -6.0]);
    }

    #[test]
    #[should_panic(expected = "length mismatch")]
    fn binary_shape_mismatch_panics() {
        add(&[1.0, 2.0], &[1.0]);
    }

    #[test]
    fn relu_golden_and_kinks() {
        let x = [-1.0, 0.0, 0.5, 6.0, 7.0, f64::NAN];
        let y = relu(&x);
        assert_eq!(&y[..5], &[0.0, 0.0, 0.5, 6.0, 7.0]);
        assert!(y[5].is_nan());
        let y6 = relu6(&x);
        assert_eq!(&y6[..5], &[0.0, 0.0, 0.5, 6.0, 6.0]);
        assert!(y6[5].is_nan());
        let dy = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
        // relu: zero at x <= 0 (incl. exactly 0), passes for NaN (x <= 0 is false).
        assert_eq!(relu_backward(&x, &dy), vec![0.0, 0.0, 3.0, 4.0, 5.0, 6.0]);
        // relu6: passes for 0 < x < 6; 0 at exactly 0 and 6; passes for NaN
        // (hardtanh_backward zeroes only where x <= 0 || x >= 6).
        assert_eq!(relu6_backward(&x, &dy), vec![0.0, 0.0, 3.0, 0.0, 0.0, 6.0]);
    }

    #[test]
    fn relu_gradcheck() {
        let mut rng = Rng::new(10);
        let x = rng.vec_uniform_avoiding(13, -3.0, 9.0, &[0.0, 6.0], 1e-3);
        check_vjp(relu, |dy| relu_backward(&x, dy), &x, 1).unwrap();
        check_vjp(relu6, |dy| relu6_backward(&x, dy), &x, 2).unwrap();
    }

    #[test]
    fn mul_div_gradcheck() {
        let mut rng = Rng::new(11);
        let a = rng.vec_normal(7);
        let b = rng.vec_uniform(7, 0.5, 2.0);
        check_vjp(|a| mul(a, &b), |dy| mul_backward(&a, &b, dy).0, &a, 3).unwrap();
        check_vjp(|b| mul(&a, b), |dy| mul_backward(&a, &b, dy).1, &b, 4).unwrap();
        check_vjp(|a| div(a, &b), |dy| div_backward(&a, &b, dy).0, &a, 5).unwrap();
        check_vjp(|b| div(&a, b), |dy| div_backward(&a, &b, dy).1, &b, 6).unwrap();
    }

    #[test]
    fn bias_add_golden() {
        // n=2, c=3, hw=2; x = 0..12, bias = [10, 20, 30]
        let x: Vec<f64> = (0..12).map(|v| v as f64).collect();
        let y = bias_add_channels(&x, &[10.0, 20.0, 30.0], 2, 3, 2);
        assert_eq!(
            y,
            vec![10.0, 11.0, 22.0, 23.0, 34.0, 35.0, 16.0, 17.0, 28.0, 29.0, 40.0, 41.0]
        );
        // dbias[c] = sum over n, hw: c0: 0+1+6+7 = 14, c1: 2+3+8+9 = 22, c2: 4+5+10+11 = 30
        assert_eq!(
            bias_add_channels_backward(&x, 2, 3, 2),
            vec![14.0, 22.0, 30.0]
        );
    }

    #[test]
    fn bias_add_gradcheck() {
        let mut rng = Rng::new(12);
        let (n, c, hw) = (3, 5, 7);
        let x = rng.vec_normal(n * c * hw);
        let bias = rng.vec_normal(c);
        check_vjp(
            |b| bias_add_channels(&x, b, n, c, hw),
            |dy| bias_add_channels_backward(dy, n, c, hw),
            &bias,
            7,
        )
        .unwrap();
    }
}
