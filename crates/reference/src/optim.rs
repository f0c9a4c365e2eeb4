//! Optimizer steps matching `torch.optim.SGD`, `torch.optim.Adam` and
//! `torch.optim.AdamW` (single-tensor, non-AMSGrad, non-maximize paths).

/// One `torch.optim.SGD` step, in place:
///
/// ```text
/// d = g + weight_decay * p
/// if momentum != 0:
///     buf = d                                    (first step: buf is None)
///     buf = momentum * buf + (1 - dampening) * d (later steps)
///     d = nesterov ? d + momentum * buf : buf
/// p -= lr * d
/// ```
///
/// The first step initialises the buffer to `d` itself (no dampening), as
/// PyTorch does. With `momentum == 0`, `buf` is left untouched. Like PyTorch,
/// `nesterov` requires `momentum > 0` and `dampening == 0` (panics otherwise).
pub fn sgd_step(
    p: &mut [f64],
    g: &[f64],
    buf: &mut Option<Vec<f64>>,
    lr: f64,
    momentum: f64,
    dampening: f64,
    weight_decay: f64,
    nesterov: bool,
) {
    assert_eq!(p.len(), g.len(), "sgd_step: param/grad length mismatch");
    assert!(
        !nesterov || (momentum > 0.0 && dampening == 0.0),
        "sgd_step: Nesterov momentum requires a momentum and zero dampening"
    );
    let d: Vec<f64> = (0..p.len()).map(|i| g[i] + weight_decay * p[i]).collect();
    let step: Vec<f64> = if momentum != 0.0 {
        let b = match buf {
            None => buf.insert(d.clone()),
            Some(b) => {
                assert_eq!(b.len(), p.len(), "sgd_step: momentum buffer length");
                for i in 0..b.len() {
                    b[i] = momentum * b[i] + (1.0 - dampening) * d[i];
                }
                b
            }
        };
        if nesterov {
            (0..p.len()).map(|i| d[i] + momentum * b[i]).collect()
        } else {
            b.clone()
        }
    } else {
        d
    };
    for i in 0..p.len() {
        p[i] -= lr * step[i];
    }
}

/// Shared Adam/AdamW moment update and parameter step (after any decay).
fn adam_core(
    p: &mut [f64],
    g: &[f64],
    m: &mut [f64],
    v: &mut [f64],
    step: usize,
    lr: f64,
    beta1: f64,
    beta2: f64,
    eps: f64,
) {
    assert!(
        step >= 1,
        "adam: step is 1-based (incremented before the update)"
    );
    let bc1 = 1.0 - beta1.powi(step as i32);
    let bc2 = 1.0 - beta2.powi(step as i32);
    let step_size = lr / bc1;
    let bc2_sqrt = bc2.sqrt();
    for i in 0..p.len() {
        // exp_avg.lerp_(grad, 1 - beta1)
        m[i] += (1.0 - beta1) * (g[i] - m[i]);
        // exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
        v[i] = beta2 * v[i] + (1.0 - beta2) * g[i] * g[i];
        let denom = v[i].sqrt() / bc2_sqrt + eps;
        p[i] -= step_size * m[i] / denom;
    }
}

fn check_adam(p: &[f64], g: &[f64], m: &[f64], v: &[f64], op: &str) {
    let n = p.len();
    assert!(
        g.len() == n && m.len() == n && v.len() == n,
        "{op}: param/grad/m/v lengths differ ({}, {}, {}, {})",
        n,
        g.len(),
        m.len(),
        v.len()
    );
}

/// One `torch.optim.AdamW` step, in place. `step` is the 1-based step count
/// *after* incrementing (1 on the first call).
///
/// ```text
/// p *= 1 - lr * weight_decay                 (decoupled decay, first)
/// m = beta1 * m + (1 - beta1) * g            (as m.lerp_(g, 1 - beta1))
/// v = beta2 * v + (1 - beta2) * g²
/// bc1 = 1 - beta1^step ; bc2 = 1 - beta2^step
/// p -= (lr / bc1) * m / (sqrt(v) / sqrt(bc2) + eps)
/// ```
pub fn adamw_step(
    p: &mut [f64],
    g: &[f64],
    m: &mut [f64],
    v: &mut [f64],
    step: usize,
    lr: f64,
    beta1: f64,
    beta2: f64,
    eps: f64,
    weight_decay: f64,
) {
    check_adam(p, g, m, v, "adamw_step");
    for x in p.iter_mut() {
        *x *= 1.0 - lr * weight_decay;
    }
    adam_core(p, g, m, v, step, lr, beta1, beta2, eps);
}

/// One `torch.optim.Adam` step, in place: like [`adamw_step`] but with L2
/// decay folded into the gradient (`g = g + weight_decay * p`) instead of
/// the decoupled parameter decay.
pub fn adam_step(
    p: &mut [f64],
    g: &[f64],
    m: &mut [f64],
    v: &mut [f64],
    step: usize,
    lr: f64,
    beta1: f64,
    beta2: f64,
    eps: f64,
    weight_decay: f64,
) {
    check_adam(p, g, m, v, "adam_step");
    let g: Vec<f64> = (0..p.len()).map(|i| g[i] + weight_decay * p[i]).collect();
    adam_core(p, &g, m, v, step, lr, beta1, beta2, eps);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= 1e-12 * (1.0 + b.abs())
    }

    #[test]
    fn sgd_plain_and_weight_decay() {
        // p = 1, g = 0.5, lr = 0.1, wd = 0.2: d = 0.7, p = 0.93
        let mut p = vec![1.0, -2.0];
        let mut buf = None;
        sgd_step(&mut p, &[0.5, 1.0], &mut buf, 0.1, 0.0, 0.0, 0.2, false);
        assert!(close(p[0], 0.93) && close(p[1], -2.0 - 0.1 * (1.0 - 0.4)));
        assert!(buf.is_none());
    }

    #[test]
    fn sgd_momentum_first_step_undampened() {
        // lr 0.1, momentum 0.9, dampening 0.5, g = 0.5 each step:
        // step 1: buf = 0.5 (NOT 0.25), p = 1 - 0.05 = 0.95
        // step 2: buf = 0.9*0.5 + 0.5*0.5 = 0.7, p = 0.95 - 0.07 = 0.88
        let mut p = vec![1.0];
        let mut buf = None;
        sgd_step(&mut p, &[0.5], &mut buf, 0.1, 0.9, 0.5, 0.0, false);
        assert!(close(p[0], 0.95), "{}", p[0]);
        assert!(close(buf.as_ref().unwrap()[0], 0.5));
        sgd_step(&mut p, &[0.5], &mut buf, 0.1, 0.9, 0.5, 0.0, false);
        assert!(close(buf.as_ref().unwrap()[0], 0.7));
        assert!(close(p[0], 0.88), "{}", p[0]);
    }

    #[test]
    fn sgd_nesterov() {
        // p = 1, g = 0.5, wd = 0.1, momentum 0.9, lr 0.1:
        // step 1: d = 0.6, buf = 0.6, d = 0.6 + 0.9*0.6 = 1.14, p = 0.886
        // step 2: d = 0.5 + 0.0886 = 0.5886, buf = 0.54 + 0.5886 = 1.1286,
        //         d = 0.5886 + 1.01574 = 1.60434, p = 0.886 - 0.160434 = 0.725566
        let mut p = vec![1.0];
        let mut buf = None;
        sgd_step(&mut p, &[0.5], &mut buf, 0.1, 0.9, 0.0, 0.1, true);
        assert!(close(p[0], 0.886), "{}", p[0]);
        sgd_step(&mut p, &[0.5], &mut buf, 0.1, 0.9, 0.0, 0.1, true);
        assert!(close(buf.as_ref().unwrap()[0], 1.1286));
        assert!(close(p[0], 0.725566), "{}", p[0]);
    }

    #[test]
    #[should_panic(expected = "Nesterov")]
    fn sgd_nesterov_requires_zero_dampening() {
        sgd_step(&mut [1.0], &[1.0], &mut None, 0.1, 0.9, 0.1, 0.0, true);
    }

    #[test]
    fn adamw_golden_two_steps() {
        // p = 1, g = 0.5 (constant), lr 0.1, b1 0.9, b2 0.999, eps 0.1, wd 0.01.
        // step 1: p = 0.999; m = 0.05, v = 0.00025; bc1 = 0.1, bc2 = 0.001;
        //   denom = sqrt(0.00025)/sqrt(0.001) + 0.1 = 0.5 + 0.1 = 0.6
        //   p = 0.999 - (0.1/0.1) * 0.05 / 0.6 = 0.999 - 1/12 = 0.915666...
        // step 2: p *= 0.999 -> 0.914751; m = 0.095, v = 0.00049975;
        //   bc1 = 0.19, bc2 = 0.001999; sqrt(v/bc2) = 0.5; denom = 0.6
        //   p -= (0.1/0.19) * 0.095 / 0.6 = 1/12 -> 0.831417666...
        // (eps added before dividing by sqrt(bc2) would give denom ~3.66.)
        let mut p = vec![1.0];
        let (mut m, mut v) = (vec![0.0], vec![0.0]);
        adamw_step(
            &mut p,
            &[0.5],
            &mut m,
            &mut v,
            1,
            0.1,
            0.9,
            0.999,
            0.1,
            0.01,
        );
        assert!(close(m[0], 0.05) && close(v[0], 0.00025));
        assert!(close(p[0], 0.999 - 1.0 / 12.0), "{}", p[0]);
        adamw_step(
            &mut p,
            &[0.5],
            &mut m,
            &mut v,
            2,
            0.1,
            0.9,
            0.999,
            0.1,
            0.01,
        );
        assert!(close(m[0], 0.095) && close(v[0], 0.00049975));
        let want = (0.999 - 1.0 / 12.0) * 0.999 - 1.0 / 12.0; // 0.8314176666...
        assert!(close(p[0], want), "{} vs {want}", p[0]);
    }

    #[test]
    fn adamw_tiny_eps_step_is_lr() {
        // With eps = 1e-8 the first step is ~lr * sign(g): 0.999 - 0.1 * 0.5/(0.5+1e-8)
        let mut p = vec![1.0, 1.0];
        let (mut m, mut v) = (vec![0.0; 2], vec![0.0; 2]);
        adamw_step(
            &mut p,
            &[0.5, -3.0],
            &mut m,
            &mut v,
            1,
            0.1,
            0.9,
            0.999,
            1e-8,
            0.01,
        );
        assert!(close(p[0], 0.999 - 0.1 * 0.5 / (0.5 + 1e-8)), "{}", p[0]);
        assert!(close(p[1], 0.999 + 0.1 * 3.0 / (3.0 + 1e-8)), "{}", p[1]);
    }

    #[test]
    fn adam_l2_decay_golden() {
        // Adam (coupled L2): g' = 0.5 + 0.01 * 1 = 0.51; m_hat = 0.51, sqrt(v_hat) = 0.51
        // p = 1 - 0.1 * 0.51 / (0.51 + 0.1) = 1 - 0.051/0.61 = 0.916393442...
        let mut p = vec![1.0];
        let (mut m, mut v) = (vec![0.0], vec![0.0]);
        adam_step(
            &mut p,
            &[0.5],
            &mut m,
            &mut v,
            1,
            0.1,
            0.9,
            0.999,
            0.1,
            0.01,
        );
        assert!(close(m[0], 0.051));
        assert!(close(p[0], 1.0 - 0.051 / 0.61), "{}", p[0]);
        // AdamW from the same state differs (decay not in the moments):
        let mut q = vec![1.0];
        let (mut m2, mut v2) = (vec![0.0], vec![0.0]);
        adamw_step(
            &mut q,
            &[0.5],
            &mut m2,
            &mut v2,
            1,
            0.1,
            0.9,
            0.999,
            0.1,
            0.01,
        );
        assert!((p[0] - q[0]).abs() > 1e-4);
    }
}
