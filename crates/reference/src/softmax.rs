//! Row-wise (log-)softmax, cross-entropy loss and accuracy helpers.
//!
//! All functions treat `x` as a `[rows, cols]` matrix and normalise each row.

fn check_rc(x: &[f64], rows: usize, cols: usize, op: &str) {
    assert_eq!(
        x.len(),
        rows * cols,
        "{op}: length {} != rows {rows} * cols {cols}",
        x.len()
    );
}

/// Row-wise log-softmax: `y[r, j] = x[r, j] - max_r - ln(sum_i exp(x[r, i] - max_r))`.
///
/// `x`: `[rows, cols]`, returns `[rows, cols]`.
pub fn log_softmax(x: &[f64], rows: usize, cols: usize) -> Vec<f64> {
    check_rc(x, rows, cols, "log_softmax");
    let mut y = vec![0.0; x.len()];
    for r in 0..rows {
        let row = &x[r * cols..(r + 1) * cols];
        let max = row.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let sum: f64 = row.iter().map(|v| (v - max).exp()).sum();
        let lse = max + sum.ln();
        for j in 0..cols {
            y[r * cols + j] = row[j] - lse;
        }
    }
    y
}

/// Row-wise softmax (`exp` of [`log_softmax`]).
pub fn softmax(x: &[f64], rows: usize, cols: usize) -> Vec<f64> {
    log_softmax(x, rows, cols)
        .into_iter()
        .map(f64::exp)
        .collect()
}

/// Backward of [`log_softmax`] given its output `y`:
/// `dx[r, j] = dy[r, j] - exp(y[r, j]) * sum_i dy[r, i]`.
pub fn log_softmax_backward(y: &[f64], dy: &[f64], rows: usize, cols: usize) -> Vec<f64> {
    check_rc(y, rows, cols, "log_softmax_backward");
    check_rc(dy, rows, cols, "log_softmax_backward");
    let mut dx = vec![0.0; y.len()];
    for r in 0..rows {
        let s: f64 = dy[r * cols..(r + 1) * cols].iter().sum();
        for j in 0..cols {
            let i = r * cols + j;
            dx[i] = dy[i] - y[i].exp() * s;
        }
    }
    dx
}

/// Mean cross-entropy loss with PyTorch's label smoothing
/// (`F.cross_entropy(logits, labels, label_smoothing=eps)`, reduction mean).
///
/// With `lp = log_softmax(logits)` and `C = classes`, each sample's loss is
/// `(1 - eps) * (-lp[label]) + (eps / C) * sum_c (-lp[c])`, i.e. the target
/// distribution is `(1 - eps) * onehot + eps / C` (the smoothing mass is
/// spread over all C classes, including the true one). Returns the mean over
/// the `n` samples.
///
/// `logits`: `[n, classes]`, `labels`: `[n]` with values `< classes`.
pub fn cross_entropy(
    logits: &[f64],
    labels: &[usize],
    n: usize,
    classes: usize,
    label_smoothing: f64,
) -> f64 {
    assert_eq!(labels.len(), n, "cross_entropy: labels length");
    assert!(
        (0.0..=1.0).contains(&label_smoothing),
        "cross_entropy: label_smoothing {label_smoothing} must be in [0, 1]"
    );
    let lp = log_softmax(logits, n, classes);
    let mut total = 0.0;
    for r in 0..n {
        let label = labels[r];
        assert!(
            label < classes,
            "cross_entropy: label {label} >= classes {classes}"
        );
        let row = &lp[r * classes..(r + 1) * classes];
        let nll = -row[label];
        let smooth = -row.iter().sum::<f64>() / classes as f64;
        total += (1.0 - label_smoothing) * nll + label_smoothing * smooth;
    }
    total / n as f64
}

/// Gradient of [`cross_entropy`] (mean loss) with respect to the logits:
/// `dlogits[r, c] = (softmax[r, c] - target[r, c]) / n` with
/// `target = (1 - eps) * onehot(label) + eps / C`.
///
/// Returns `[n, classes]`.
pub fn cross_entropy_backward(
    logits: &[f64],
    labels: &[usize],
    n: usize,
    classes: usize,
    label_smoothing: f64,
) -> Vec<f64> {
    assert_eq!(labels.len(), n, "cross_entropy_backward: labels length");
    let p = softmax(logits, n, classes);
    let mut d = vec![0.0; p.len()];
    for r in 0..n {
        assert!(
            labels[r] < classes,
            "cross_entropy_backward: label out of range"
        );
        for c in 0..classes {
            let onehot = if c == labels[r] { 1.0 } else { 0.0 };
            let target = (1.0 - label_smoothing) * onehot + label_smoothing / classes as f64;
            d[r * classes + c] = (p[r * classes + c] - target) / n as f64;
        }
    }
    d
}

/// Index of the maximum of each row; the first maximum wins on ties (as
/// `torch.argmax`), and a NaN counts as the maximum (the first NaN wins).
///
/// `x`: `[rows, cols]` with `cols >= 1`, returns `[rows]`.
pub fn argmax_rows(x: &[f64], rows: usize, cols: usize) -> Vec<usize> {
    check_rc(x, rows, cols, "argmax_rows");
    assert!(cols >= 1 || rows == 0, "argmax_rows: cols must be >= 1");
    (0..rows)
        .map(|r| {
            let row = &x[r * cols..(r + 1) * cols];
            if let Some(i) = row.iter().position(|v| v.is_nan()) {
                return i;
            }
            let mut best = 0;
            for j in 1..cols {
                if row[j] > row[best] {
                    best = j;
                }
            }
            best
        })
        .collect()
}

/// Number of rows whose [`argmax_rows`] equals the label.
pub fn count_correct(logits: &[f64], labels: &[usize], n: usize, classes: usize) -> usize {
    assert_eq!(labels.len(), n, "count_correct: labels length");
    argmax_rows(logits, n, classes)
        .iter()
        .zip(labels)
        .filter(|(a, b)| a == b)
        .count()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gradcheck::{check_vjp, directional_check};
    use crate::rng::Rng;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= 1e-12 * (1.0 + b.abs())
    }

    #[test]
    fn log_softmax_golden() {
        // Row [0, ln 3]: softmax = [1/4, 3/4]. Row 2 is shifted by 1000
        // (must not overflow and must give the same result).
        let l3 = 3f64.ln();
        let x = [0.0, l3, 1000.0, 1000.0 + l3];
        let y = log_softmax(&x, 2, 2);
        let want = [-(4f64.ln()), l3 - 4f64.ln()];
        for (i, &w) in [want[0], want[1], want[0], want[1]].iter().enumerate() {
            assert!(close(y[i], w), "{i}: {} vs {w}", y[i]);
        }
        let p = softmax(&x, 2, 2);
        assert!(close(p[0], 0.25) && close(p[3], 0.75));
    }

    #[test]
    fn log_softmax_gradcheck() {
        let mut rng = Rng::new(40);
        for &(rows, cols) in &[(1, 1), (3, 5), (7, 13), (2, 1)] {
            let x: Vec<f64> = rng
                .vec_normal(rows * cols)
                .iter()
                .map(|v| 3.0 * v)
                .collect();
            let y = log_softmax(&x, rows, cols);
            check_vjp(
                |x| log_softmax(x, rows, cols),
                |dy| log_softmax_backward(&y, dy, rows, cols),
                &x,
                (rows * cols) as u64,
            )
            .unwrap();
        }
    }

    #[test]
    fn cross_entropy_golden_label_smoothing() {
        // Sample 0: logits [0, ln 3] -> p = [1/4, 3/4], label 0.
        //   lp = [-ln 4, ln 3 - ln 4]
        //   eps = 0.1, C = 2: 0.9 * ln 4 + 0.05 * (ln 4 + ln 4 - ln 3) = ln 4 - 0.05 ln 3
        //   (the "eps/(C-1) on the other classes" convention would give
        //   0.9 ln 4 + 0.1 (ln 4 - ln 3) = ln 4 - 0.1 ln 3, so this pins it.)
        // Sample 1: logits [0, 0], label 1 -> ln 2 whatever eps.
        // Mean: (ln 4 - 0.05 ln 3 + ln 2) / 2 = (3 ln 2 - 0.05 ln 3) / 2
        let (l2, l3) = (2f64.ln(), 3f64.ln());
        let logits = [0.0, l3, 0.0, 0.0];
        let labels = [0, 1];
        let loss = cross_entropy(&logits, &labels, 2, 2, 0.1);
        let want = (3.0 * l2 - 0.05 * l3) / 2.0; // = 1.0122875...
        assert!(close(loss, want), "{loss} vs {want}");
        // Without smoothing: (ln 4 + ln 2) / 2 = 1.5 ln 2.
        let loss0 = cross_entropy(&logits, &labels, 2, 2, 0.0);
        assert!(close(loss0, 1.5 * l2), "{loss0}");
        // Gradient of sample 0: (p - target) / n = ([0.25, 0.75] - [0.95, 0.05]) / 2
        //   = [-0.35, 0.35]; sample 1: ([0.5, 0.5] - [0.05, 0.95]) / 2 = [0.225, -0.225]
        let g = cross_entropy_backward(&logits, &labels, 2, 2, 0.1);
        let gw = [-0.35, 0.35, 0.225, -0.225];
        for i in 0..4 {
            assert!(close(g[i], gw[i]), "{i}: {} vs {}", g[i], gw[i]);
        }
    }

    #[test]
    fn cross_entropy_three_classes() {
        // logits [ln 1, ln 2, ln 5] -> p = [1/8, 2/8, 5/8]; label 2, eps 0.3:
        // 0.7 * ln(8/5) + 0.1 * (ln 8 + ln 4 + ln(8/5))
        let logits = [0.0, 2f64.ln(), 5f64.ln()];
        let loss = cross_entropy(&logits, &[2], 1, 3, 0.3);
        let want = 0.7 * (1.6f64).ln() + 0.1 * (8f64.ln() + 4f64.ln() + 1.6f64.ln());
        assert!(close(loss, want), "{loss} vs {want}");
    }

    #[test]
    fn cross_entropy_gradcheck() {
        let mut rng = Rng::new(41);
        for &(n, classes, eps) in &[(1, 1, 0.0), (3, 5, 0.0), (7, 13, 0.1), (5, 3, 0.25)] {
            let logits = rng.vec_normal(n * classes);
            let labels: Vec<usize> = (0..n).map(|_| rng.below(classes)).collect();
            let g = cross_entropy_backward(&logits, &labels, n, classes, eps);
            directional_check(
                |x| cross_entropy(x, &labels, n, classes, eps),
                &logits,
                &g,
                n as u64,
            )
            .unwrap();
        }
    }

    #[test]
    fn argmax_first_max_wins() {
        let x = [
            1.0,
            3.0,
            3.0,
            2.0,
            5.0,
            5.0,
            5.0,
            5.0,
            -1.0,
            f64::NAN,
            9.0,
            f64::NAN,
        ];
        assert_eq!(argmax_rows(&x, 3, 4), vec![1, 0, 1]);
        // [-inf, -inf] -> 0
        assert_eq!(argmax_rows(&[f64::NEG_INFINITY; 2], 1, 2), vec![0]);
        let logits = [0.1, 0.9, 0.8, 0.2, 0.5, 0.5];
        assert_eq!(count_correct(&logits, &[1, 0, 0], 3, 2), 3);
        assert_eq!(count_correct(&logits, &[1, 1, 1], 3, 2), 1);
    }
}
