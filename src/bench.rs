//! Kernel benchmarks on a fixed list of shapes: what `shadernet bench` prints
//! and what `benches/kernels.rs` runs.

use std::time::Instant;

use shadernet_tensor::ops::{elementwise, matmul, optim};
use shadernet_tensor::{DType, Device, Result, Tensor};

/// One measured kernel and shape.
#[derive(Clone, Debug)]
pub struct BenchResult {
    /// Op family, e.g. `matmul`.
    pub op: String,
    /// Kernel variant, e.g. `portable`.
    pub variant: String,
    /// Shape fields, in the order the op names them (`m`, `n`, `k` for matmul).
    pub shape: Vec<(&'static str, usize)>,
    /// Mean milliseconds per call.
    pub ms: f64,
    /// Achieved GFLOP/s (0 where the op is memory-bound only).
    pub gflops: f64,
    /// Achieved GB/s of compulsory traffic.
    pub gbs: f64,
}

impl BenchResult {
    /// One JSON object: `op`, `variant`, the shape fields, `ms`, `gflops`, `gbs`.
    pub fn to_json(&self) -> serde_json::Value {
        let mut m = serde_json::Map::new();
        m.insert("op".into(), self.op.clone().into());
        m.insert("variant".into(), self.variant.clone().into());
        for (k, v) in &self.shape {
            m.insert((*k).into(), (*v).into());
        }
        m.insert("ms".into(), round3(self.ms).into());
        m.insert("gflops".into(), round3(self.gflops).into());
        m.insert("gbs".into(), round3(self.gbs).into());
        serde_json::Value::Object(m)
    }
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

/// Times `run` (which records GPU work) after one warm-up call that also pays
/// for shader compilation; repeats until about `budget_s` seconds have passed,
/// in [`BATCHES`] batches. Returns the median batch's mean milliseconds per call.
pub fn time_gpu(
    device: &Device,
    budget_s: f64,
    mut run: impl FnMut() -> Result<()>,
) -> Result<f64> {
    run()?;
    device.sync()?;
    let start = Instant::now();
    run()?;
    device.sync()?;
    let once = start.elapsed().as_secs_f64();
    let reps = ((budget_s / once.max(1e-6)) as usize).clamp(BATCHES, 200);
    let per_batch = reps / BATCHES;
    let mut means = Vec::with_capacity(BATCHES);
    for _ in 0..BATCHES {
        let start = Instant::now();
        for _ in 0..per_batch {
            run()?;
        }
        device.sync()?;
        means.push(start.elapsed().as_secs_f64() * 1e3 / per_batch as f64);
    }
    means.sort_by(f64::total_cmp);
    Ok(means[BATCHES / 2])
}

/// Batches [`time_gpu`] splits its repetitions into; it reports their median, which a
/// noisy machine's stalls (other tenants, a stray process) move far less than the mean.
const BATCHES: usize = 5;

/// The matmul shapes: square powers of two, and the GEMMs of CIFAR ResNet and VGG
/// layers as implicit GEMM sees them (M = N·H·W, N = K, K = C·R·S).
pub const MATMUL_SHAPES: &[(usize, usize, usize)] = &[
    (256, 256, 256),
    (512, 512, 512),
    (1024, 1024, 1024),
    (2048, 2048, 2048),
    (131072, 16, 144),
    (32768, 32, 288),
    (8192, 64, 576),
];

/// Matmul layouts benched besides `A [m, k] · B [n, k]ᵀ` (Linear forward), at 1024³:
/// `(trans_a, trans_b, label)` for Linear's dX = dY · W and dW = dYᵀ · X.
pub const MATMUL_LAYOUTS: &[(bool, bool, &str)] = &[(false, false, "nn"), (true, false, "tn")];

fn filled(device: &Device, shape: &[usize]) -> Result<Tensor> {
    let n: usize = shape.iter().product();
    let data: Vec<f32> = (0..n)
        .map(|i| ((i * 7919) % 1000) as f32 / 1000.0 - 0.5)
        .collect();
    Tensor::from_f32(device, &data, shape)
}

/// Benchmarks every kernel family whose op name contains `filter`.
pub fn run(
    device: &Device,
    filter: Option<&str>,
    budget_s: f64,
    mut report: impl FnMut(&BenchResult),
) -> Result<Vec<BenchResult>> {
    let wanted = |op: &str| filter.is_none_or(|f| op.contains(f));
    let mut out = Vec::new();
    let mut push = |r: BenchResult, out: &mut Vec<BenchResult>| {
        report(&r);
        out.push(r);
    };
    if wanted("matmul") {
        // A as [m, k], B as [n, k] (trans_b) for every shape; the other layouts at 1024³.
        let cases = MATMUL_SHAPES
            .iter()
            .map(|&(m, n, k)| (m, n, k, false, true, ""))
            .chain(
                MATMUL_LAYOUTS
                    .iter()
                    .map(|&(ta, tb, label)| (1024, 1024, 1024, ta, tb, label)),
            );
        for (m, n, k, ta, tb, label) in cases {
            let a = filled(device, &if ta { [k, m] } else { [m, k] })?;
            let b = filled(device, &if tb { [n, k] } else { [k, n] })?;
            let c = Tensor::uninit(device, &[m, n], DType::F32)?;
            for variant in matmul::available_variants(device) {
                let ms = time_gpu(device, budget_s, || {
                    matmul::matmul_into(&a, &b, ta, tb, &c, variant)
                })?;
                let flops = 2.0 * (m * n * k) as f64;
                let bytes = 4.0 * (m * k + n * k + m * n) as f64;
                let name = format!("{variant:?}").to_lowercase();
                push(
                    BenchResult {
                        op: "matmul".into(),
                        variant: if label.is_empty() {
                            name
                        } else {
                            format!("{name} {label}")
                        },
                        shape: vec![("m", m), ("n", n), ("k", k)],
                        ms,
                        gflops: flops / ms / 1e6,
                        gbs: bytes / ms / 1e6,
                    },
                    &mut out,
                );
            }
        }
    }
    if wanted("elementwise") {
        // 100 small ops back to back: dominated by per-dispatch overhead.
        let x = filled(device, &[4096])?;
        let ms = time_gpu(device, budget_s, || {
            let mut y = x.clone();
            for _ in 0..100 {
                y = elementwise::add_scalar(&y, 1.0)?;
            }
            Ok(())
        })?;
        push(
            BenchResult {
                op: "elementwise_chain".into(),
                variant: "add_scalar x100".into(),
                shape: vec![("numel", 4096), ("ops", 100)],
                ms,
                gflops: 100.0 * 4096.0 / ms / 1e6,
                gbs: 100.0 * 8.0 * 4096.0 / ms / 1e6,
            },
            &mut out,
        );
        // One large op: bandwidth.
        let n = 1 << 24;
        let big = filled(device, &[n])?;
        let ms = time_gpu(device, budget_s, || elementwise::add(&big, &big).map(drop))?;
        push(
            BenchResult {
                op: "add".into(),
                variant: "binary".into(),
                shape: vec![("numel", n)],
                ms,
                gflops: n as f64 / ms / 1e6,
                gbs: 12.0 * n as f64 / ms / 1e6,
            },
            &mut out,
        );
    }
    // Convolutions: dense (implicit GEMM), depthwise and grouped; forward, dX, dW.
    if CONV_OPS.iter().any(|op| wanted(op)) {
        conv2d_benches(device, budget_s, &wanted, &mut |r| push(r, &mut out))?;
    }
    // Pooling, batch norm and the copy kernel they (and depthwise) are measured against.
    let depthwise = CONV_OPS
        .iter()
        .any(|op| op.starts_with("depthwise") && wanted(op));
    if depthwise || POOL_BN_OPS.iter().any(|op| wanted(op)) {
        for r in pool_and_batch_norm(device, budget_s, &wanted)? {
            push(r, &mut out);
        }
    }
    if wanted("reduce") {
        reduce_benches(device, budget_s, &mut |r| push(r, &mut out))?;
    }
    if SOFTMAX_OPS.iter().any(|op| wanted(op)) {
        softmax_benches(device, budget_s, &wanted, &mut |r| push(r, &mut out))?;
    }
    if wanted("optimizer") {
        optimizer_benches(device, budget_s, &mut |r| push(r, &mut out))?;
    }
    if wanted("dropout_fwd") {
        dropout_benches(device, budget_s, &mut |r| push(r, &mut out))?;
    }
    Ok(out)
}

/// A memory-bound row: `gflops` 0, `gbs` from `bytes` of compulsory traffic.
fn traffic_row(
    op: &str,
    variant: &str,
    shape: Vec<(&'static str, usize)>,
    ms: f64,
    bytes: f64,
) -> BenchResult {
    BenchResult {
        op: op.into(),
        variant: variant.into(),
        shape,
        ms,
        gflops: 0.0,
        gbs: bytes / ms / 1e6,
    }
}

/// Reductions `(shape, axes, mean)`: the per-channel sum over (N, H, W) of a
/// conv bias gradient or batch-norm statistic at N128 C64 32×32, and a mean over
/// the last axis of a wide [4096, 1024] matrix.
pub const REDUCE_SHAPES: &[(&[usize], &[usize], bool)] = &[
    (&[128, 64, 32, 32], &[0, 2, 3], false),
    (&[4096, 1024], &[1], true),
];

/// Shape fields of a [`REDUCE_SHAPES`] entry: `n c h w` for rank 4, `rows cols`
/// for rank 2.
pub fn reduce_shape_fields(shape: &[usize]) -> Vec<(&'static str, usize)> {
    let names: &[&'static str] = match shape.len() {
        2 => &["rows", "cols"],
        4 => &["n", "c", "h", "w"],
        _ => &["d0", "d1", "d2", "d3", "d4", "d5", "d6", "d7"],
    };
    names.iter().copied().zip(shape.iter().copied()).collect()
}

/// Variant name of a [`REDUCE_SHAPES`] entry, e.g. `sum axes=0,2,3`.
pub fn reduce_variant(axes: &[usize], mean: bool) -> String {
    let axes: Vec<String> = axes.iter().map(usize::to_string).collect();
    let kind = if mean { "mean" } else { "sum" };
    format!("{kind} axes={}", axes.join(","))
}

/// `sum`/`mean` over the axes of every [`REDUCE_SHAPES`] entry; `gbs` counts the
/// input read once and the reduced output written once.
fn reduce_benches(device: &Device, budget_s: f64, push: &mut dyn FnMut(BenchResult)) -> Result<()> {
    use shadernet_tensor::ops::reduce;
    for &(shape, axes, mean) in REDUCE_SHAPES {
        let x = filled(device, shape)?;
        let in_len: usize = shape.iter().product();
        let out_len: usize = shape
            .iter()
            .enumerate()
            .filter(|(d, _)| !axes.contains(d))
            .map(|(_, &s)| s)
            .product();
        let f = if mean { reduce::mean } else { reduce::sum };
        let ms = time_gpu(device, budget_s, || f(&x, axes, false).map(drop))?;
        push(traffic_row(
            "reduce",
            &reduce_variant(axes, mean),
            reduce_shape_fields(shape),
            ms,
            4.0 * (in_len + out_len) as f64,
        ));
    }
    Ok(())
}

/// Classifier-head shapes `(rows, classes)`: batch 128 over CIFAR-10's and
/// ImageNet's classes.
pub const SOFTMAX_SHAPES: &[(usize, usize)] = &[(128, 10), (128, 1000)];

/// Shapes `(rows, classes)` of `argmax` and `count_correct`.
pub const ARGMAX_SHAPES: &[(usize, usize)] = &[(128, 1000)];

/// Label smoothing of the benched cross-entropy (the traffic does not depend on it).
pub const CROSS_ENTROPY_SMOOTHING: f32 = 0.1;

/// Op names of [`softmax_benches`].
const SOFTMAX_OPS: &[&str] = &[
    "log_softmax_fwd",
    "log_softmax_bwd",
    "cross_entropy_fwd",
    "cross_entropy_bwd",
    "argmax",
    "count_correct",
];

/// Deterministic u32 labels in `[0, classes)`, one per row.
pub fn bench_labels(device: &Device, rows: usize, classes: usize) -> Result<Tensor> {
    let labels: Vec<u32> = (0..rows).map(|i| ((i * 37) % classes) as u32).collect();
    Tensor::from_u32(device, &labels, &[rows])
}

/// `log_softmax` and cross-entropy forward and backward on [`SOFTMAX_SHAPES`],
/// `argmax` and `count_correct` on [`ARGMAX_SHAPES`]. `gbs` counts compulsory
/// bytes: cross-entropy forward reads the logits and labels and writes the
/// log-probabilities it keeps plus the loss; its backward reads the
/// log-probabilities, labels and upstream scalar and writes the logits'
/// gradient; `count_correct` reads and writes its one-element counter.
fn softmax_benches(
    device: &Device,
    budget_s: f64,
    wanted: &dyn Fn(&str) -> bool,
    push: &mut dyn FnMut(BenchResult),
) -> Result<()> {
    use shadernet_tensor::ops::softmax;
    let fields = |rows: usize, classes: usize| vec![("rows", rows), ("classes", classes)];
    let ls = CROSS_ENTROPY_SMOOTHING;
    let ce_variant = format!("smoothing {ls}");
    for &(rows, classes) in SOFTMAX_SHAPES {
        let x = filled(device, &[rows, classes])?;
        let labels = bench_labels(device, rows, classes)?;
        let (len, r) = ((rows * classes) as f64, rows as f64);
        if wanted("log_softmax_fwd") {
            let ms = time_gpu(device, budget_s, || softmax::log_softmax(&x).map(drop))?;
            push(traffic_row(
                "log_softmax_fwd",
                "rows",
                fields(rows, classes),
                ms,
                8.0 * len,
            ));
        }
        if wanted("log_softmax_bwd") {
            let y = softmax::log_softmax(&x)?;
            let dy = filled(device, &[rows, classes])?;
            let ms = time_gpu(device, budget_s, || {
                softmax::log_softmax_backward(&y, &dy).map(drop)
            })?;
            push(traffic_row(
                "log_softmax_bwd",
                "rows",
                fields(rows, classes),
                ms,
                12.0 * len,
            ));
        }
        if wanted("cross_entropy_fwd") {
            let ms = time_gpu(device, budget_s, || {
                softmax::cross_entropy(&x, &labels, ls).map(drop)
            })?;
            push(traffic_row(
                "cross_entropy_fwd",
                &ce_variant,
                fields(rows, classes),
                ms,
                4.0 * (2.0 * len + r + 1.0),
            ));
        }
        if wanted("cross_entropy_bwd") {
            let ce = softmax::cross_entropy(&x, &labels, ls)?;
            let dloss = Tensor::from_f32(device, &[1.0], &[1])?;
            let ms = time_gpu(device, budget_s, || {
                softmax::cross_entropy_backward(&ce.log_probs, &labels, &dloss, ls).map(drop)
            })?;
            push(traffic_row(
                "cross_entropy_bwd",
                &ce_variant,
                fields(rows, classes),
                ms,
                4.0 * (2.0 * len + r + 1.0),
            ));
        }
    }
    for &(rows, classes) in ARGMAX_SHAPES {
        let x = filled(device, &[rows, classes])?;
        let labels = bench_labels(device, rows, classes)?;
        let (len, r) = ((rows * classes) as f64, rows as f64);
        if wanted("argmax") {
            let ms = time_gpu(device, budget_s, || softmax::argmax(&x).map(drop))?;
            push(traffic_row(
                "argmax",
                "rows",
                fields(rows, classes),
                ms,
                4.0 * (len + r),
            ));
        }
        if wanted("count_correct") {
            let counter = Tensor::from_u32(device, &[0], &[1])?;
            let ms = time_gpu(device, budget_s, || {
                softmax::count_correct(&x, &labels, &counter)
            })?;
            push(traffic_row(
                "count_correct",
                "rows",
                fields(rows, classes),
                ms,
                4.0 * (len + r + 2.0),
            ));
        }
    }
    Ok(())
}

/// Parameter sizes (elements) of the optimizer steps: 1M, a mid-sized layer.
pub const OPTIMIZER_SHAPES: &[usize] = &[1 << 20];

/// The benched SGD step: momentum 0.9 with weight decay, past the first step
/// (so the momentum buffer is read as well as written).
pub const BENCH_SGD: optim::SgdStep = optim::SgdStep {
    lr: 0.01,
    momentum: 0.9,
    dampening: 0.0,
    weight_decay: 5e-4,
    nesterov: false,
    first_step: false,
};

/// The benched AdamW step, past the first step.
pub const BENCH_ADAMW: optim::AdamStep = optim::AdamStep {
    lr: 1e-3,
    beta1: 0.9,
    beta2: 0.999,
    eps: 1e-8,
    weight_decay: 0.01,
    decoupled: true,
    step: 10,
};

/// One SGD-with-momentum and one AdamW step, in place, over every
/// [`OPTIMIZER_SHAPES`] size. `gbs` counts compulsory bytes: SGD reads the
/// gradient, parameter and momentum and writes the last two (5 floats per
/// element); AdamW reads the gradient, parameter and both moments and writes
/// the last three (7 floats per element).
fn optimizer_benches(
    device: &Device,
    budget_s: f64,
    push: &mut dyn FnMut(BenchResult),
) -> Result<()> {
    for &n in OPTIMIZER_SHAPES {
        let param = filled(device, &[n])?;
        let grad = filled(device, &[n])?;
        let buf = filled(device, &[n])?;
        let ms = time_gpu(device, budget_s, || {
            optim::sgd_step(&param, &grad, &buf, &BENCH_SGD)
        })?;
        push(traffic_row(
            "optimizer",
            "sgd_momentum",
            vec![("numel", n)],
            ms,
            20.0 * n as f64,
        ));
        let m = filled(device, &[n])?;
        let v = Tensor::from_f32(device, &vec![1e-4; n], &[n])?;
        let ms = time_gpu(device, budget_s, || {
            optim::adam_step(&param, &grad, &m, &v, &BENCH_ADAMW)
        })?;
        push(traffic_row(
            "optimizer",
            "adamw",
            vec![("numel", n)],
            ms,
            28.0 * n as f64,
        ));
    }
    Ok(())
}

/// Element counts of the dropout forward (8M: a large activation).
pub const DROPOUT_SHAPES: &[usize] = &[1 << 23];

/// Drop probability of the benched dropout.
pub const DROPOUT_P: f32 = 0.5;

/// Dropout forward in training mode on every [`DROPOUT_SHAPES`] size; `gbs`
/// counts the input read once and the output and F32 mask written once.
fn dropout_benches(
    device: &Device,
    budget_s: f64,
    push: &mut dyn FnMut(BenchResult),
) -> Result<()> {
    use shadernet_tensor::ops::dropout;
    for &n in DROPOUT_SHAPES {
        let x = filled(device, &[n])?;
        let ms = time_gpu(device, budget_s, || {
            dropout::dropout(&x, DROPOUT_P, 7, true).map(drop)
        })?;
        push(traffic_row(
            "dropout_fwd",
            &format!("train p={DROPOUT_P}"),
            vec![("numel", n)],
            ms,
            12.0 * n as f64,
        ));
    }
    Ok(())
}

/// Pooling shapes `(n, c, h, w, window, stride, pad)`: VGG-CIFAR pools, and
/// ResNet's ImageNet stem.
pub const POOL_SHAPES: &[[usize; 7]] = &[
    [128, 64, 32, 32, 2, 2, 0],
    [128, 128, 16, 16, 2, 2, 0],
    [128, 256, 8, 8, 2, 2, 0],
    [16, 64, 112, 112, 3, 2, 1],
];

/// Batch-norm shapes `(n, c, h, w)`: ResNet-20's three stages at batch 128.
pub const BN_SHAPES: &[(usize, usize, usize, usize)] =
    &[(128, 16, 32, 32), (128, 32, 16, 16), (128, 64, 8, 8)];

/// Op names of [`pool_and_batch_norm`].
const POOL_BN_OPS: &[&str] = &[
    "copy",
    "maxpool_fwd",
    "maxpool_bwd",
    "avgpool_fwd",
    "batchnorm_fwd",
    "batchnorm_bwd",
];

/// Pooling and batch norm at ResNet-20 / VGG shapes (batch 128, plus the
/// ImageNet ResNet stem pool), and a plain copy of the largest pooling input
/// as the bandwidth baseline (run whenever any of them is, so the comparison is
/// within one run). `gbs` counts compulsory bytes: each input read once, each
/// output written once (max pooling's U32 indices included).
fn pool_and_batch_norm(
    device: &Device,
    budget_s: f64,
    wanted: &dyn Fn(&str) -> bool,
) -> Result<Vec<BenchResult>> {
    use shadernet_tensor::ops::{batch_norm as bn, dropout, pool};
    let mut out = Vec::new();
    let result = |op: &str, variant: &str, s: [usize; 7], ms: f64, bytes: f64| BenchResult {
        op: op.into(),
        variant: variant.into(),
        shape: vec![
            ("n", s[0]),
            ("c", s[1]),
            ("h", s[2]),
            ("w", s[3]),
            ("r", s[4]),
            ("stride", s[5]),
            ("pad", s[6]),
        ],
        ms,
        gflops: 0.0,
        gbs: bytes / ms / 1e6,
    };
    // copy: the same 128x64x32x32 tensor (32 MiB) the first pooling reads.
    let big = filled(device, &[128, 64, 32, 32])?;
    let numel = big.numel() as f64;
    for (variant, vec4) in [("scalar", false), ("vec4", true)] {
        let ms = time_gpu(device, budget_s, || dropout::copy(&big, vec4).map(drop))?;
        out.push(result(
            "copy",
            variant,
            [128, 64, 32, 32, 0, 0, 0],
            ms,
            8.0 * numel,
        ));
    }
    // The same copy reading the source as a texel operand (`unary`'s identity,
    // the texture staging included): what texel reads gain over storage reads.
    let ms = time_gpu(device, budget_s, || {
        shadernet_tensor::ops::elementwise::affine(&big, 1.0, 0.0).map(drop)
    })?;
    out.push(result(
        "copy",
        "texel",
        [128, 64, 32, 32, 0, 0, 0],
        ms,
        8.0 * numel,
    ));
    for &s in POOL_SHAPES {
        let [n, c, h, w, r, st, pd] = s;
        let cfg = pool::Pool2dConfig::square(r)
            .with_stride([st, st])
            .with_padding([pd, pd]);
        let x = filled(device, &[n, c, h, w])?;
        let (ho, wo) = cfg.output_size("bench", h, w)?;
        let (x_len, y_len) = ((n * c * h * w) as f64, (n * c * ho * wo) as f64);
        if wanted("maxpool_fwd") {
            let ms = time_gpu(device, budget_s, || pool::max_pool2d(&x, &cfg).map(drop))?;
            out.push(result(
                "maxpool_fwd",
                cfg.kernel_variant(h, w, false),
                s,
                ms,
                4.0 * (x_len + 2.0 * y_len),
            ));
        }
        if wanted("maxpool_bwd") {
            let (y, idx) = pool::max_pool2d(&x, &cfg)?;
            let ms = time_gpu(device, budget_s, || {
                pool::max_pool2d_backward(&y, &idx, &[n, c, h, w], &cfg).map(drop)
            })?;
            out.push(result(
                "maxpool_bwd",
                cfg.kernel_variant(h, w, true),
                s,
                ms,
                4.0 * (x_len + 2.0 * y_len),
            ));
        }
        if wanted("avgpool_fwd") && pd == 0 {
            let ms = time_gpu(device, budget_s, || {
                pool::avg_pool2d(&x, &cfg, true, None).map(drop)
            })?;
            out.push(result(
                "avgpool_fwd",
                cfg.kernel_variant(h, w, false),
                s,
                ms,
                4.0 * (x_len + y_len),
            ));
        }
    }
    if wanted("avgpool_fwd") {
        // ResNet-20's global average pool before the classifier.
        let s = [128, 64, 8, 8, 8, 8, 0];
        let x = filled(device, &[128, 64, 8, 8])?;
        let ms = time_gpu(device, budget_s, || pool::global_avg_pool2d(&x).map(drop))?;
        out.push(result(
            "avgpool_fwd",
            "global",
            s,
            ms,
            4.0 * (128.0 * 64.0 * 65.0),
        ));
    }
    for &(n, c, h, w) in BN_SHAPES {
        let s = [n, c, h, w, 0, 0, 0];
        let x = filled(device, &[n, c, h, w])?;
        let vec = |v: f32| Tensor::from_f32(device, &vec![v; c], &[c]);
        let (gamma, beta, rm, rv) = (vec(1.0)?, vec(0.0)?, vec(0.0)?, vec(1.0)?);
        let nbt = Tensor::from_u32(device, &[0], &[1])?;
        let len = (n * c * h * w) as f64;
        if wanted("batchnorm_fwd") {
            for (variant, relu) in [("train", false), ("train_relu", true)] {
                let f = if relu {
                    bn::batch_norm_train_relu
                } else {
                    bn::batch_norm_train
                };
                let ms = time_gpu(device, budget_s, || {
                    f(&x, &gamma, &beta, &rm, &rv, &nbt, 0.1, 1e-5).map(drop)
                })?;
                out.push(result("batchnorm_fwd", variant, s, ms, 8.0 * len));
            }
            let ms = time_gpu(device, budget_s, || {
                bn::batch_norm_eval(&x, &gamma, &beta, &rm, &rv, 1e-5).map(drop)
            })?;
            out.push(result("batchnorm_fwd", "eval", s, ms, 8.0 * len));
        }
        if wanted("batchnorm_bwd") {
            let (_, saved) = bn::batch_norm_train(&x, &gamma, &beta, &rm, &rv, &nbt, 0.1, 1e-5)?;
            let dy = filled(device, &[n, c, h, w])?;
            let ms = time_gpu(device, budget_s, || {
                bn::batch_norm_backward(&x, &gamma, &saved, &dy).map(drop)
            })?;
            out.push(result("batchnorm_bwd", "train", s, ms, 12.0 * len));
        }
    }
    Ok(out)
}

/// Op names of [`conv2d_benches`].
const CONV_OPS: &[&str] = &[
    "conv2d_fwd",
    "conv2d_dx",
    "conv2d_dw",
    "depthwise_fwd",
    "depthwise_dx",
    "depthwise_dw",
    "grouped_fwd",
    "grouped_dx",
    "grouped_dw",
];

/// Convolution shapes `(n, c, h, w, k, r, stride, pad, groups)`: ResNet-20's three
/// stages and its stride-2 transitions at batch 128, the headline N128 C64 32×32
/// K64, VGG's 3×3 layers, MobileNetV2's depthwise 3×3 layers, ResNeXt's 32-group 3×3
/// (and a strided one, as in the first block of a ResNeXt stage).
pub const CONV_SHAPES: &[[usize; 9]] = &[
    [128, 16, 32, 32, 16, 3, 1, 1, 1],
    [128, 32, 16, 16, 32, 3, 1, 1, 1],
    [128, 64, 8, 8, 64, 3, 1, 1, 1],
    [128, 16, 32, 32, 32, 3, 2, 1, 1],
    [128, 16, 32, 32, 32, 1, 2, 0, 1],
    [128, 64, 32, 32, 64, 3, 1, 1, 1],
    [128, 128, 16, 16, 128, 3, 1, 1, 1],
    [128, 256, 8, 8, 256, 3, 1, 1, 1],
    [128, 144, 16, 16, 144, 3, 1, 1, 144],
    [128, 144, 16, 16, 144, 3, 2, 1, 144],
    [128, 96, 32, 32, 96, 3, 2, 1, 96],
    [32, 128, 28, 28, 128, 3, 1, 1, 32],
    [32, 256, 28, 28, 256, 3, 2, 1, 32],
];

/// Times forward, dX and dW of every shape in [`CONV_SHAPES`] with the variant
/// the automatic choice takes (and, for the headline shape, the portable
/// implicit GEMM too). `gflops` counts 2·N·K·OH·OW·(C/groups)·R·S; `gbs` counts
/// compulsory bytes (each operand read once, the result written once).
fn conv2d_benches(
    device: &Device,
    budget_s: f64,
    wanted: &dyn Fn(&str) -> bool,
    push: &mut dyn FnMut(BenchResult),
) -> Result<()> {
    use shadernet_tensor::ops::conv2d::{
        self as conv, Conv2dConfig, Conv2dOptions, Conv2dPass, Conv2dVariant,
    };
    for &s in CONV_SHAPES {
        let [n, c, h, w, k, r, st, pd, groups] = s;
        let family = if groups == 1 {
            "conv2d"
        } else if groups == c {
            "depthwise"
        } else {
            "grouped"
        };
        let cfg = Conv2dConfig::new(st, pd).with_groups(groups);
        let xs = [n, c, h, w];
        let ws = [k, c / groups, r, r];
        let ys = cfg.output_size(xs, ws)?;
        let macs = (n * k * ys[2] * ys[3] * (c / groups) * r * r) as f64;
        let (xe, we, ye) = (
            (n * c * h * w) as f64,
            (k * (c / groups) * r * r) as f64,
            ys.iter().product::<usize>() as f64,
        );
        let shape = vec![
            ("n", n),
            ("c", c),
            ("h", h),
            ("w", w),
            ("k", k),
            ("r", r),
            ("stride", st),
            ("pad", pd),
            ("groups", groups),
        ];
        let headline = s == [128, 64, 32, 32, 64, 3, 1, 1, 1];
        let result = |op: String, variant: Conv2dVariant, ms: f64, bytes: f64| BenchResult {
            op,
            variant: variant.name().into(),
            shape: shape.clone(),
            ms,
            gflops: 2.0 * macs / ms / 1e6,
            gbs: 4.0 * bytes / ms / 1e6,
        };
        let variants = |pass| -> Result<Vec<Conv2dVariant>> {
            let auto = conv::conv2d_variant(device, xs, ws, &cfg, pass)?;
            let mut v = vec![auto];
            if headline && auto != Conv2dVariant::IgemmPortable {
                v.push(Conv2dVariant::IgemmPortable);
            }
            Ok(v)
        };
        let x = filled(device, &xs)?;
        let wt = filled(device, &ws)?;
        let dy = filled(device, &ys)?;
        let op = format!("{family}_fwd");
        if wanted(&op) {
            for v in variants(Conv2dPass::Forward)? {
                let opts = Conv2dOptions {
                    variant: Some(v),
                    ..Default::default()
                };
                let ms = time_gpu(device, budget_s, || {
                    conv::conv2d_with(&x, &wt, None, &cfg, &opts).map(drop)
                })?;
                push(result(op.clone(), v, ms, xe + we + ye));
            }
        }
        let op = format!("{family}_dx");
        if wanted(&op) {
            for v in variants(Conv2dPass::BackwardInput)? {
                let ms = time_gpu(device, budget_s, || {
                    conv::conv2d_backward_input_with(&wt, &dy, &cfg, xs, Some(v)).map(drop)
                })?;
                push(result(op.clone(), v, ms, ye + we + xe));
            }
        }
        let op = format!("{family}_dw");
        if wanted(&op) {
            for v in variants(Conv2dPass::BackwardWeight)? {
                let ms = time_gpu(device, budget_s, || {
                    conv::conv2d_backward_weight_with(&x, &dy, &cfg, ws, Some(v)).map(drop)
                })?;
                push(result(op.clone(), v, ms, xe + ye + we));
            }
        }
    }
    Ok(())
}
