//! Batch normalisation over `[n, c, hw]` tensors (statistics per channel `c`,
//! over the `n * hw` elements of that channel), with PyTorch semantics.
//!
//! Training normalises with the *biased* batch variance; the running variance
//! is updated with the *unbiased* one (`var * count / (count - 1)`).

/// Outputs of [`batch_norm_train`] (the statistics are needed by the backward
/// pass and by [`running_update`]).
#[derive(Clone, Debug, PartialEq)]
pub struct BatchNormTrainOut {
    /// Normalised output `[n, c, hw]`.
    pub y: Vec<f64>,
    /// Per-channel batch mean `[c]`.
    pub mean: Vec<f64>,
    /// Per-channel biased batch variance `[c]` (divided by `n * hw`).
    pub var_biased: Vec<f64>,
    /// Per-channel `1 / sqrt(var_biased + eps)` `[c]`.
    pub invstd: Vec<f64>,
}

fn check_shapes(x: &[f64], n: usize, c: usize, hw: usize, op: &str) {
    assert_eq!(
        x.len(),
        n * c * hw,
        "{op}: length {} != n {n} * c {c} * hw {hw}",
        x.len()
    );
}

/// Training-mode batch norm:
/// `y = (x - mean[c]) * invstd[c] * gamma[c] + beta[c]` with the batch mean
/// and biased variance of each channel.
///
/// `x`: `[n, c, hw]`, `gamma`, `beta`: `[c]`.
pub fn batch_norm_train(
    x: &[f64],
    gamma: &[f64],
    beta: &[f64],
    n: usize,
    c: usize,
    hw: usize,
    eps: f64,
) -> BatchNormTrainOut {
    check_shapes(x, n, c, hw, "batch_norm_train");
    assert_eq!(gamma.len(), c, "batch_norm_train: gamma length");
    assert_eq!(beta.len(), c, "batch_norm_train: beta length");
    let count = (n * hw) as f64;
    let mut mean = vec![0.0; c];
    let mut var_biased = vec![0.0; c];
    let mut invstd = vec![0.0; c];
    for ch in 0..c {
        // Two-pass mean / variance (exact enough for a reference).
        let mut s = 0.0;
        for b in 0..n {
            for i in 0..hw {
                s += x[(b * c + ch) * hw + i];
            }
        }
        let m = s / count;
        let mut v = 0.0;
        for b in 0..n {
            for i in 0..hw {
                let d = x[(b * c + ch) * hw + i] - m;
                v += d * d;
            }
        }
        mean[ch] = m;
        var_biased[ch] = v / count;
        invstd[ch] = 1.0 / (var_biased[ch] + eps).sqrt();
    }
    let mut y = vec![0.0; x.len()];
    for b in 0..n {
        for ch in 0..c {
            for i in 0..hw {
                let k = (b * c + ch) * hw + i;
                y[k] = (x[k] - mean[ch]) * invstd[ch] * gamma[ch] + beta[ch];
            }
        }
    }
    BatchNormTrainOut {
        y,
        mean,
        var_biased,
        invstd,
    }
}

/// PyTorch's running-statistics update (momentum convention `r = (1-m) r + m stat`,
/// default `m = 0.1`):
/// `running_mean = (1-m) * running_mean + m * mean`,
/// `running_var = (1-m) * running_var + m * var_biased * count / (count - 1)`.
///
/// `count` is the number of elements per channel (`n * hw`); PyTorch refuses
/// to train with `count == 1`, and so does this function (it panics).
pub fn running_update(
    running_mean: &mut [f64],
    running_var: &mut [f64],
    mean: &[f64],
    var_biased: &[f64],
    count: usize,
    momentum: f64,
) {
    let c = running_mean.len();
    assert!(
        running_var.len() == c && mean.len() == c && var_biased.len() == c,
        "running_update: all statistics must have the same length"
    );
    assert!(
        count > 1,
        "running_update: expected more than 1 value per channel when training, got {count}"
    );
    let unbias = count as f64 / (count as f64 - 1.0);
    for ch in 0..c {
        running_mean[ch] = (1.0 - momentum) * running_mean[ch] + momentum * mean[ch];
        running_var[ch] = (1.0 - momentum) * running_var[ch] + momentum * var_biased[ch] * unbias;
    }
}

/// Eval-mode batch norm with running statistics:
/// `y = (x - running_mean[c]) / sqrt(running_var[c] + eps) * gamma[c] + beta[c]`.
///
/// `x`: `[n, c, hw]`, the other vectors `[c]`.
pub fn batch_norm_eval(
    x: &[f64],
    gamma: &[f64],
    beta: &[f64],
    running_mean: &[f64],
    running_var: &[f64],
    n: usize,
    c: usize,
    hw: usize,
    eps: f64,
) -> Vec<f64> {
    check_shapes(x, n, c, hw, "batch_norm_eval");
    for (name, v) in [
        ("gamma", gamma),
        ("beta", beta),
        ("running_mean", running_mean),
        ("running_var", running_var),
    ] {
        assert_eq!(v.len(), c, "batch_norm_eval: {name} length");
    }
    let mut y = vec![0.0; x.len()];
    for b in 0..n {
        for ch in 0..c {
            let inv = 1.0 / (running_var[ch] + eps).sqrt();
            for i in 0..hw {
                let k = (b * c + ch) * hw + i;
                y[k] = (x[k] - running_mean[ch]) * inv * gamma[ch] + beta[ch];
            }
        }
    }
    y
}

/// Backward of training-mode batch norm (the batch statistics depend on `x`).
///
/// With `xhat = (x - mean) * invstd` and `N = n * hw` per channel:
/// * `dbeta[c] = sum dy`
/// * `dgamma[c] = sum dy * xhat`
/// * `dx = gamma * invstd / N * (N * dy - dbeta - xhat * dgamma)`
///
/// `x`, `dy`: `[n, c, hw]`; `gamma`, `mean`, `invstd`: `[c]` (from
/// [`batch_norm_train`]). Returns `(dx, dgamma, dbeta)`.
pub fn batch_norm_backward(
    x: &[f64],
    gamma: &[f64],
    mean: &[f64],
    invstd: &[f64],
    dy: &[f64],
    n: usize,
    c: usize,
    hw: usize,
) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
    check_shapes(x, n, c, hw, "batch_norm_backward");
    check_shapes(dy, n, c, hw, "batch_norm_backward");
    let count = (n * hw) as f64;
    let mut dgamma = vec![0.0; c];
    let mut dbeta = vec![0.0; c];
    for b in 0..n {
        for ch in 0..c {
            for i in 0..hw {
                let k = (b * c + ch) * hw + i;
                let xhat = (x[k] - mean[ch]) * invstd[ch];
                dbeta[ch] += dy[k];
                dgamma[ch] += dy[k] * xhat;
            }
        }
    }
    let mut dx = vec![0.0; x.len()];
    for b in 0..n {
        for ch in 0..c {
            for i in 0..hw {
                let k = (b * c + ch) * hw + i;
                let xhat = (x[k] - mean[ch]) * invstd[ch];
                dx[k] = gamma[ch] * invstd[ch] / count
                    * (count * dy[k] - dbeta[ch] - xhat * dgamma[ch]);
            }
        }
    }
    (dx, dgamma, dbeta)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gradcheck::check_vjp;
    use crate::rng::Rng;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= 1e-12 * (1.0 + b.abs())
    }

    #[test]
    fn golden_biased_vs_unbiased() {
        // n=2, c=1, hw=2: values 1,2 | 3,4 -> mean 2.5,
        // biased var = (2.25+0.25+0.25+2.25)/4 = 1.25, unbiased = 5/3.
        let x = [1.0, 2.0, 3.0, 4.0];
        let out = batch_norm_train(&x, &[1.0], &[0.0], 2, 1, 2, 0.0);
        assert!(close(out.mean[0], 2.5));
        assert!(close(out.var_biased[0], 1.25));
        assert!(close(out.invstd[0], 1.0 / 1.25f64.sqrt()));
        // y[0] = -1.5 / sqrt(1.25) = -1.3416407864998738
        assert!(close(out.y[0], -1.341_640_786_499_873_8), "{}", out.y[0]);
        assert!(close(out.y[3], 1.341_640_786_499_873_8));
        // running: rm = 0.9*0 + 0.1*2.5 = 0.25; rv = 0.9*1 + 0.1*5/3 = 1.0666...
        let (mut rm, mut rv) = (vec![0.0], vec![1.0]);
        running_update(&mut rm, &mut rv, &out.mean, &out.var_biased, 4, 0.1);
        assert!(close(rm[0], 0.25));
        assert!(close(rv[0], 0.9 + 0.1 * 5.0 / 3.0), "{}", rv[0]);
    }

    #[test]
    fn golden_per_channel_gamma_beta_eps() {
        // n=2, c=2, hw=1: x[n0] = [1, 10], x[n1] = [3, 30].
        // ch0: mean 2, var 1; ch1: mean 20, var 100.
        // gamma = [2, 0.5], beta = [1, -1], eps = 0 ->
        //   ch0: (1-2)/1*2+1 = -1, (3-2)*2+1 = 3; ch1: (10-20)/10*0.5-1 = -1.5, 0.5-1 = -0.5
        let x = [1.0, 10.0, 3.0, 30.0];
        let out = batch_norm_train(&x, &[2.0, 0.5], &[1.0, -1.0], 2, 2, 1, 0.0);
        assert_eq!(out.mean, vec![2.0, 20.0]);
        assert_eq!(out.var_biased, vec![1.0, 100.0]);
        assert_eq!(out.y, vec![-1.0, -1.5, 3.0, -0.5]);
        // eps enters under the sqrt: var 1, eps 3 -> invstd 1/2
        let out = batch_norm_train(&x, &[1.0, 1.0], &[0.0, 0.0], 2, 2, 1, 3.0);
        assert!(close(out.invstd[0], 0.5));
        assert!(close(out.y[0], -0.5));
    }

    #[test]
    fn golden_eval() {
        // (2 - 1) / sqrt(3 + 1) * 3 + 0.5 = 2.0 ; second channel (5-0)/sqrt(24+1)*1+0 = 1
        let y = batch_norm_eval(
            &[2.0, 5.0],
            &[3.0, 1.0],
            &[0.5, 0.0],
            &[1.0, 0.0],
            &[3.0, 24.0],
            1,
            2,
            1,
            1.0,
        );
        assert_eq!(y, vec![2.0, 1.0]);
    }

    #[test]
    #[should_panic(expected = "more than 1 value per channel")]
    fn running_update_rejects_single_value() {
        running_update(&mut [0.0], &mut [1.0], &[0.0], &[0.0], 1, 0.1);
    }

    #[test]
    fn gradcheck_train() {
        for (seed, &(n, c, hw)) in [(1, 1, 2), (3, 5, 7), (2, 3, 13), (5, 2, 1), (1, 7, 3)]
            .iter()
            .enumerate()
        {
            let seed = seed as u64;
            let mut rng = Rng::new(seed);
            let x = rng.vec_normal(n * c * hw);
            let gamma = rng.vec_uniform(c, 0.5, 1.5);
            let beta = rng.vec_normal(c);
            let eps = 1e-5;
            let out = batch_norm_train(&x, &gamma, &beta, n, c, hw, eps);
            let bwd =
                |dy: &[f64]| batch_norm_backward(&x, &gamma, &out.mean, &out.invstd, dy, n, c, hw);
            check_vjp(
                |x| batch_norm_train(x, &gamma, &beta, n, c, hw, eps).y,
                |dy| bwd(dy).0,
                &x,
                seed,
            )
            .unwrap_or_else(|e| panic!("dx {n}x{c}x{hw}: {e}"));
            check_vjp(
                |g| batch_norm_train(&x, g, &beta, n, c, hw, eps).y,
                |dy| bwd(dy).1,
                &gamma,
                seed + 10,
            )
            .unwrap_or_else(|e| panic!("dgamma {n}x{c}x{hw}: {e}"));
            check_vjp(
                |b| batch_norm_train(&x, &gamma, b, n, c, hw, eps).y,
                |dy| bwd(dy).2,
                &beta,
                seed + 20,
            )
            .unwrap_or_else(|e| panic!("dbeta {n}x{c}x{hw}: {e}"));
        }
    }
}
