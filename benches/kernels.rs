//! Criterion benches of the kernel families, on the shapes `shadernet bench`
//! measures: `shadernet::bench::{MATMUL_SHAPES, MATMUL_LAYOUTS, CONV_SHAPES,
//! POOL_SHAPES, BN_SHAPES, REDUCE_SHAPES, SOFTMAX_SHAPES, ARGMAX_SHAPES,
//! OPTIMIZER_SHAPES, DROPOUT_SHAPES}` (and the same copy, global-pool and
//! elementwise cases as `shadernet::bench::run`).
//!
//! Each benchmark is named `op/variant/shape` as `shadernet bench` prints its
//! rows, e.g. `conv2d_fwd/igemm/n=128 c=64 h=32 w=32 k=64 r=3 stride=1 pad=1 groups=1`,
//! and reports a rate: for matmul, conv and the elementwise chain, elements/s
//! count FLOPs (`Gelem/s` reads as GFLOP/s); for copy, pooling, batch norm,
//! reductions, log-softmax, cross-entropy, argmax, the optimizer steps, dropout
//! and the large `add`, bytes/s count compulsory traffic in decimal units (the
//! CLI's GB/s column).
//!
//! Each timed iteration records the op and then waits for the GPU with
//! `device.sync()`, so the time is GPU time plus one submit and wait per call
//! (`shadernet bench` syncs once per batch of calls instead, so tiny kernels read
//! a little faster there). The operands are made, and one untimed call pays for
//! the shader compilation, only when the filter selects the benchmark.
//!
//! Run it in release (cargo bench does); the whole set takes a long time on a
//! software adapter (one conv pass at batch 128 takes seconds on lavapipe), so
//! pass a filter, a regular expression over the names:
//!
//! ```text
//! cargo bench --bench kernels -- conv2d_fwd            # one op
//! cargo bench --bench kernels -- 'matmul/.*/m=1024 '   # one shape, every variant
//! cargo bench --bench kernels -- '^(maxpool|avgpool)'  # several ops
//! cargo bench --bench kernels -- --list                # the names, no GPU work
//! cargo bench --bench kernels -- --test matmul         # each once: a smoke test
//! SHADERNET_BENCH_DEVICE=1 cargo bench --bench kernels # adapter, as `--device`
//! ```
//!
//! The kernel families (matmul, conv2d, pooling, batch norm, elementwise,
//! reduce, softmax and cross-entropy, optimizer, dropout) each set their own warm-up and measurement times, with 10 samples; criterion
//! takes flat sampling by itself where an iteration is long.

use std::time::Duration;

use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, BenchmarkId, Criterion, Throughput};
use shadernet::bench::{
    bench_labels, reduce_shape_fields, reduce_variant, ARGMAX_SHAPES, BENCH_ADAMW, BENCH_SGD,
    BN_SHAPES, CONV_SHAPES, CROSS_ENTROPY_SMOOTHING, DROPOUT_P, DROPOUT_SHAPES, MATMUL_LAYOUTS,
    MATMUL_SHAPES, OPTIMIZER_SHAPES, POOL_SHAPES, REDUCE_SHAPES, SOFTMAX_SHAPES,
};
use shadernet::ops::batch_norm as bn;
use shadernet::ops::conv2d::{
    self as conv, Conv2dConfig, Conv2dOptions, Conv2dPass, Conv2dVariant,
};
use shadernet::ops::{dropout, elementwise, matmul, optim, pool, reduce, softmax};
use shadernet::tensor::Result;
use shadernet::{DType, Device, Error, Tensor};

type Group<'a> = BenchmarkGroup<'a, WallTime>;

fn main() {
    if std::env::var_os("XDG_RUNTIME_DIR").is_none() {
        // Mesa complains about a missing runtime dir on every start (as in the CLI's
        // main): point it at a private one, before any thread is spawned.
        let dir = std::env::temp_dir().join(format!("shadernet-xdg-{}", std::process::id()));
        if std::fs::create_dir_all(&dir).is_ok() {
            std::env::set_var("XDG_RUNTIME_DIR", &dir);
        }
    }
    // As in the CLI's main: more llvmpipe threads than CPUs (cpu_driver.rs).
    shadernet::tensor::oversubscribe_llvmpipe();
    let selector = std::env::var("SHADERNET_BENCH_DEVICE").ok();
    let device = match Device::new(selector.as_deref()) {
        Ok(device) => device,
        Err(Error::NoAdapter) => {
            eprintln!("kernels bench: no GPU adapter found, nothing to measure");
            return;
        }
        Err(e) => {
            eprintln!("kernels bench: {e}");
            std::process::exit(1);
        }
    };
    eprintln!(
        "kernels bench on {} ({})",
        device.adapter().name,
        device.adapter().backend
    );
    let mut c = Criterion::default().configure_from_args();
    matmul(&mut c, &device);
    conv2d(&mut c, &device);
    pooling(&mut c, &device);
    batch_norm(&mut c, &device);
    elementwise(&mut c, &device);
    reductions(&mut c, &device);
    softmax_and_loss(&mut c, &device);
    optimizer(&mut c, &device);
    dropout_fwd(&mut c, &device);
    c.final_summary();
}

/// A criterion group for one op, with the family's timing.
fn group<'a>(c: &'a mut Criterion, op: &str, warm_up_s: u64, measure_s: u64) -> Group<'a> {
    let mut g = c.benchmark_group(op);
    g.sample_size(10)
        .warm_up_time(Duration::from_secs(warm_up_s))
        .measurement_time(Duration::from_secs(measure_s));
    g
}

/// `k=v k=v ...`, as `shadernet bench` prints a shape.
fn shape_name(fields: &[(&str, usize)]) -> String {
    let parts: Vec<String> = fields.iter().map(|(k, v)| format!("{k}={v}")).collect();
    parts.join(" ")
}

/// Registers `op/variant/shape` in `g`. When the filter selects it, `setup`
/// makes the operands, one untimed call of `run` (plus a sync) compiles the
/// shaders, and then each timed iteration records `run` and waits for the GPU.
fn bench<S>(
    g: &mut Group<'_>,
    device: &Device,
    variant: &str,
    shape: &str,
    throughput: Throughput,
    setup: impl FnOnce() -> Result<S>,
    run: impl Fn(&S) -> Result<()>,
) {
    let id = BenchmarkId::new(variant, shape);
    let name = format!("{variant}/{shape}");
    let mut setup = Some(setup);
    let mut state: Option<S> = None;
    g.throughput(throughput);
    g.bench_function(id, |b| {
        if state.is_none() {
            let make = setup.take().expect("setup runs once");
            let s = make().unwrap_or_else(|e| panic!("{name}: setup: {e}"));
            run(&s)
                .and_then(|()| device.sync())
                .unwrap_or_else(|e| panic!("{name}: {e}"));
            state = Some(s);
        }
        let s = state.as_ref().expect("state was just made");
        b.iter(|| {
            run(s).unwrap_or_else(|e| panic!("{name}: {e}"));
            device.sync().unwrap_or_else(|e| panic!("{name}: {e}"));
        });
    });
}

/// The deterministic fill `shadernet bench` uses.
fn filled(device: &Device, shape: &[usize]) -> Result<Tensor> {
    let n: usize = shape.iter().product();
    let data: Vec<f32> = (0..n)
        .map(|i| ((i * 7919) % 1000) as f32 / 1000.0 - 0.5)
        .collect();
    Tensor::from_f32(device, &data, shape)
}

/// `A [m, k] · B [n, k]ᵀ` on every shape, the other layouts at 1024³; every
/// variant the device runs.
fn matmul(crit: &mut Criterion, device: &Device) {
    let mut g = group(crit, "matmul", 1, 5);
    let cases = MATMUL_SHAPES
        .iter()
        .map(|&(m, n, k)| (m, n, k, false, true, ""))
        .chain(
            MATMUL_LAYOUTS
                .iter()
                .map(|&(ta, tb, label)| (1024, 1024, 1024, ta, tb, label)),
        );
    for (m, n, k, ta, tb, label) in cases {
        let shape = shape_name(&[("m", m), ("n", n), ("k", k)]);
        for variant in matmul::available_variants(device) {
            let name = format!("{variant:?}").to_lowercase();
            let name = if label.is_empty() {
                name
            } else {
                format!("{name} {label}")
            };
            bench(
                &mut g,
                device,
                &name,
                &shape,
                Throughput::Elements(2 * (m * n * k) as u64),
                || {
                    let a = filled(device, &if ta { [k, m] } else { [m, k] })?;
                    let b = filled(device, &if tb { [n, k] } else { [k, n] })?;
                    let c = Tensor::uninit(device, &[m, n], DType::F32)?;
                    Ok((a, b, c))
                },
                |(a, b, c)| matmul::matmul_into(a, b, ta, tb, c, variant),
            );
        }
    }
    g.finish();
}

/// Forward, dX and dW of every shape in `CONV_SHAPES`, grouped by op
/// (`conv2d_*` dense, `depthwise_*`, `grouped_*`), with the variant the automatic
/// choice takes (and the portable implicit GEMM too on the headline shape).
fn conv2d(crit: &mut Criterion, device: &Device) {
    let family_of = |s: &[usize; 9]| {
        let (ch, groups) = (s[1], s[8]);
        if groups == 1 {
            "conv2d"
        } else if groups == ch {
            "depthwise"
        } else {
            "grouped"
        }
    };
    for family in ["conv2d", "depthwise", "grouped"] {
        for (suffix, pass) in [
            ("fwd", Conv2dPass::Forward),
            ("dx", Conv2dPass::BackwardInput),
            ("dw", Conv2dPass::BackwardWeight),
        ] {
            let op = format!("{family}_{suffix}");
            let mut g = group(crit, &op, 2, 10);
            for &s in CONV_SHAPES.iter().filter(|s| family_of(s) == family) {
                conv2d_shape(&mut g, device, s, pass);
            }
            g.finish();
        }
    }
}

fn conv2d_shape(g: &mut Group<'_>, device: &Device, s: [usize; 9], pass: Conv2dPass) {
    let [n, c, h, w, k, r, st, pd, groups] = s;
    let cfg = Conv2dConfig::new(st, pd).with_groups(groups);
    let xs = [n, c, h, w];
    let ws = [k, c / groups, r, r];
    let ys = cfg
        .output_size(xs, ws)
        .unwrap_or_else(|e| panic!("conv {s:?}: {e}"));
    let macs = n * k * ys[2] * ys[3] * (c / groups) * r * r;
    let shape = shape_name(&[
        ("n", n),
        ("c", c),
        ("h", h),
        ("w", w),
        ("k", k),
        ("r", r),
        ("stride", st),
        ("pad", pd),
        ("groups", groups),
    ]);
    let auto = conv::conv2d_variant(device, xs, ws, &cfg, pass)
        .unwrap_or_else(|e| panic!("conv {s:?}: {e}"));
    let mut variants = vec![auto];
    if s == [128, 64, 32, 32, 64, 3, 1, 1, 1] && auto != Conv2dVariant::IgemmPortable {
        variants.push(Conv2dVariant::IgemmPortable);
    }
    let flops = Throughput::Elements(2 * macs as u64);
    for v in variants {
        match pass {
            Conv2dPass::Forward => bench(
                g,
                device,
                v.name(),
                &shape,
                flops.clone(),
                || Ok((filled(device, &xs)?, filled(device, &ws)?)),
                |(x, wt)| {
                    let opts = Conv2dOptions {
                        variant: Some(v),
                        ..Default::default()
                    };
                    conv::conv2d_with(x, wt, None, &cfg, &opts).map(drop)
                },
            ),
            Conv2dPass::BackwardInput => bench(
                g,
                device,
                v.name(),
                &shape,
                flops.clone(),
                || Ok((filled(device, &ws)?, filled(device, &ys)?)),
                |(wt, dy)| conv::conv2d_backward_input_with(wt, dy, &cfg, xs, Some(v)).map(drop),
            ),
            Conv2dPass::BackwardWeight => bench(
                g,
                device,
                v.name(),
                &shape,
                flops.clone(),
                || Ok((filled(device, &xs)?, filled(device, &ys)?)),
                |(x, dy)| conv::conv2d_backward_weight_with(x, dy, &cfg, ws, Some(v)).map(drop),
            ),
        }
    }
}

/// Shape fields of the pooling, copy and batch-norm rows of `shadernet bench`.
fn pool_shape_name(s: [usize; 7]) -> String {
    let [n, c, h, w, r, st, pd] = s;
    shape_name(&[
        ("n", n),
        ("c", c),
        ("h", h),
        ("w", w),
        ("r", r),
        ("stride", st),
        ("pad", pd),
    ])
}

/// The copy baseline, max pooling forward and backward, and average pooling
/// (every `POOL_SHAPES` entry without padding, and ResNet-20's global pool).
fn pooling(crit: &mut Criterion, device: &Device) {
    // copy: the 128x64x32x32 tensor (32 MiB) the first pooling reads.
    let mut g = group(crit, "copy", 1, 5);
    let copy_shape = [128, 64, 32, 32];
    let numel: usize = copy_shape.iter().product();
    for (variant, vec4) in [("scalar", false), ("vec4", true)] {
        bench(
            &mut g,
            device,
            variant,
            &pool_shape_name([128, 64, 32, 32, 0, 0, 0]),
            Throughput::BytesDecimal(8 * numel as u64),
            || filled(device, &copy_shape),
            |x| dropout::copy(x, vec4).map(drop),
        );
    }
    g.finish();

    let cases: Vec<_> = POOL_SHAPES
        .iter()
        .map(|&s| {
            let [_, _, h, w, r, st, pd] = s;
            let cfg = pool::Pool2dConfig::square(r)
                .with_stride([st, st])
                .with_padding([pd, pd]);
            let (ho, wo) = cfg
                .output_size("bench", h, w)
                .unwrap_or_else(|e| panic!("pool {s:?}: {e}"));
            (s, cfg, ho, wo)
        })
        .collect();
    let lens = |s: [usize; 7], ho: usize, wo: usize| {
        let [n, c, h, w, ..] = s;
        ((n * c * h * w) as u64, (n * c * ho * wo) as u64)
    };

    let mut g = group(crit, "maxpool_fwd", 1, 5);
    for &(s, cfg, ho, wo) in &cases {
        let [n, c, h, w, ..] = s;
        let (x_len, y_len) = lens(s, ho, wo);
        bench(
            &mut g,
            device,
            cfg.kernel_variant(h, w, false),
            &pool_shape_name(s),
            Throughput::BytesDecimal(4 * (x_len + 2 * y_len)),
            || filled(device, &[n, c, h, w]),
            |x| pool::max_pool2d(x, &cfg).map(drop),
        );
    }
    g.finish();

    let mut g = group(crit, "maxpool_bwd", 1, 5);
    for &(s, cfg, ho, wo) in &cases {
        let [n, c, h, w, ..] = s;
        let (x_len, y_len) = lens(s, ho, wo);
        bench(
            &mut g,
            device,
            cfg.kernel_variant(h, w, true),
            &pool_shape_name(s),
            Throughput::BytesDecimal(4 * (x_len + 2 * y_len)),
            || pool::max_pool2d(&filled(device, &[n, c, h, w])?, &cfg),
            |(y, idx)| pool::max_pool2d_backward(y, idx, &[n, c, h, w], &cfg).map(drop),
        );
    }
    g.finish();

    let mut g = group(crit, "avgpool_fwd", 1, 5);
    for &(s, cfg, ho, wo) in cases.iter().filter(|case| case.0[6] == 0) {
        let [n, c, h, w, ..] = s;
        let (x_len, y_len) = lens(s, ho, wo);
        bench(
            &mut g,
            device,
            cfg.kernel_variant(h, w, false),
            &pool_shape_name(s),
            Throughput::BytesDecimal(4 * (x_len + y_len)),
            || filled(device, &[n, c, h, w]),
            |x| pool::avg_pool2d(x, &cfg, true, None).map(drop),
        );
    }
    // ResNet-20's global average pool before the classifier.
    bench(
        &mut g,
        device,
        "global",
        &pool_shape_name([128, 64, 8, 8, 8, 8, 0]),
        Throughput::BytesDecimal(4 * 128 * 64 * 65),
        || filled(device, &[128, 64, 8, 8]),
        |x| pool::global_avg_pool2d(x).map(drop),
    );
    g.finish();
}

/// Batch-norm operands of one `BN_SHAPES` entry (identity statistics).
struct BnInputs {
    x: Tensor,
    gamma: Tensor,
    beta: Tensor,
    mean: Tensor,
    var: Tensor,
    batches: Tensor,
}

fn bn_inputs(device: &Device, (n, c, h, w): (usize, usize, usize, usize)) -> Result<BnInputs> {
    let vec = |v: f32| Tensor::from_f32(device, &vec![v; c], &[c]);
    Ok(BnInputs {
        x: filled(device, &[n, c, h, w])?,
        gamma: vec(1.0)?,
        beta: vec(0.0)?,
        mean: vec(0.0)?,
        var: vec(1.0)?,
        batches: Tensor::from_u32(device, &[0], &[1])?,
    })
}

/// Training forward (plain and fused ReLU), eval forward and training backward
/// on every `BN_SHAPES` entry.
fn batch_norm(crit: &mut Criterion, device: &Device) {
    let mut g = group(crit, "batchnorm_fwd", 1, 5);
    for &(n, c, h, w) in BN_SHAPES {
        let shape = pool_shape_name([n, c, h, w, 0, 0, 0]);
        let len = (n * c * h * w) as u64;
        for (variant, relu) in [("train", false), ("train_relu", true)] {
            let f = if relu {
                bn::batch_norm_train_relu
            } else {
                bn::batch_norm_train
            };
            bench(
                &mut g,
                device,
                variant,
                &shape,
                Throughput::BytesDecimal(8 * len),
                || bn_inputs(device, (n, c, h, w)),
                |i| {
                    f(
                        &i.x, &i.gamma, &i.beta, &i.mean, &i.var, &i.batches, 0.1, 1e-5,
                    )
                    .map(drop)
                },
            );
        }
        bench(
            &mut g,
            device,
            "eval",
            &shape,
            Throughput::BytesDecimal(8 * len),
            || bn_inputs(device, (n, c, h, w)),
            |i| bn::batch_norm_eval(&i.x, &i.gamma, &i.beta, &i.mean, &i.var, 1e-5).map(drop),
        );
    }
    g.finish();

    let mut g = group(crit, "batchnorm_bwd", 1, 5);
    for &(n, c, h, w) in BN_SHAPES {
        let len = (n * c * h * w) as u64;
        bench(
            &mut g,
            device,
            "train",
            &pool_shape_name([n, c, h, w, 0, 0, 0]),
            Throughput::BytesDecimal(12 * len),
            || {
                let i = bn_inputs(device, (n, c, h, w))?;
                let (_, saved) = bn::batch_norm_train(
                    &i.x, &i.gamma, &i.beta, &i.mean, &i.var, &i.batches, 0.1, 1e-5,
                )?;
                let dy = filled(device, &[n, c, h, w])?;
                Ok((i, saved, dy))
            },
            |(i, saved, dy)| bn::batch_norm_backward(&i.x, &i.gamma, saved, dy).map(drop),
        );
    }
    g.finish();
}

/// 100 small ops back to back (per-dispatch overhead), and one large `add`
/// (bandwidth).
fn elementwise(crit: &mut Criterion, device: &Device) {
    let mut g = group(crit, "elementwise_chain", 1, 3);
    bench(
        &mut g,
        device,
        "add_scalar x100",
        &shape_name(&[("numel", 4096), ("ops", 100)]),
        Throughput::Elements(100 * 4096),
        || filled(device, &[4096]),
        |x| {
            let mut y = x.clone();
            for _ in 0..100 {
                y = elementwise::add_scalar(&y, 1.0)?;
            }
            Ok(())
        },
    );
    g.finish();

    let mut g = group(crit, "add", 1, 3);
    let n = 1 << 24;
    bench(
        &mut g,
        device,
        "binary",
        &shape_name(&[("numel", n)]),
        Throughput::BytesDecimal(12 * n as u64),
        || filled(device, &[n]),
        |x| elementwise::add(x, x).map(drop),
    );
    g.finish();
}

/// `sum`/`mean` over the axes of every `REDUCE_SHAPES` entry.
fn reductions(crit: &mut Criterion, device: &Device) {
    let mut g = group(crit, "reduce", 1, 3);
    for &(shape, axes, mean) in REDUCE_SHAPES {
        let in_len: usize = shape.iter().product();
        let out_len: usize = shape
            .iter()
            .enumerate()
            .filter(|(d, _)| !axes.contains(d))
            .map(|(_, &s)| s)
            .product();
        let f = if mean { reduce::mean } else { reduce::sum };
        bench(
            &mut g,
            device,
            &reduce_variant(axes, mean),
            &shape_name(&reduce_shape_fields(shape)),
            Throughput::BytesDecimal(4 * (in_len + out_len) as u64),
            || filled(device, shape),
            |x| f(x, axes, false).map(drop),
        );
    }
    g.finish();
}

/// `log_softmax` and cross-entropy forward and backward on `SOFTMAX_SHAPES`,
/// `argmax` and `count_correct` on `ARGMAX_SHAPES`; one group per op.
fn softmax_and_loss(crit: &mut Criterion, device: &Device) {
    let name = |rows: usize, classes: usize| shape_name(&[("rows", rows), ("classes", classes)]);
    let ls = CROSS_ENTROPY_SMOOTHING;
    let ce_variant = format!("smoothing {ls}");

    let mut g = group(crit, "log_softmax_fwd", 1, 3);
    for &(rows, classes) in SOFTMAX_SHAPES {
        bench(
            &mut g,
            device,
            "rows",
            &name(rows, classes),
            Throughput::BytesDecimal(8 * (rows * classes) as u64),
            || filled(device, &[rows, classes]),
            |x| softmax::log_softmax(x).map(drop),
        );
    }
    g.finish();

    let mut g = group(crit, "log_softmax_bwd", 1, 3);
    for &(rows, classes) in SOFTMAX_SHAPES {
        bench(
            &mut g,
            device,
            "rows",
            &name(rows, classes),
            Throughput::BytesDecimal(12 * (rows * classes) as u64),
            || {
                let y = softmax::log_softmax(&filled(device, &[rows, classes])?)?;
                Ok((y, filled(device, &[rows, classes])?))
            },
            |(y, dy)| softmax::log_softmax_backward(y, dy).map(drop),
        );
    }
    g.finish();

    let mut g = group(crit, "cross_entropy_fwd", 1, 3);
    for &(rows, classes) in SOFTMAX_SHAPES {
        bench(
            &mut g,
            device,
            &ce_variant,
            &name(rows, classes),
            Throughput::BytesDecimal(4 * (2 * rows * classes + rows + 1) as u64),
            || {
                Ok((
                    filled(device, &[rows, classes])?,
                    bench_labels(device, rows, classes)?,
                ))
            },
            |(x, labels)| softmax::cross_entropy(x, labels, ls).map(drop),
        );
    }
    g.finish();

    let mut g = group(crit, "cross_entropy_bwd", 1, 3);
    for &(rows, classes) in SOFTMAX_SHAPES {
        bench(
            &mut g,
            device,
            &ce_variant,
            &name(rows, classes),
            Throughput::BytesDecimal(4 * (2 * rows * classes + rows + 1) as u64),
            || {
                let labels = bench_labels(device, rows, classes)?;
                let ce = softmax::cross_entropy(&filled(device, &[rows, classes])?, &labels, ls)?;
                let dloss = Tensor::from_f32(device, &[1.0], &[1])?;
                Ok((ce.log_probs, labels, dloss))
            },
            |(lp, labels, dloss)| softmax::cross_entropy_backward(lp, labels, dloss, ls).map(drop),
        );
    }
    g.finish();

    let mut g = group(crit, "argmax", 1, 3);
    for &(rows, classes) in ARGMAX_SHAPES {
        bench(
            &mut g,
            device,
            "rows",
            &name(rows, classes),
            Throughput::BytesDecimal(4 * (rows * classes + rows) as u64),
            || filled(device, &[rows, classes]),
            |x| softmax::argmax(x).map(drop),
        );
    }
    g.finish();

    let mut g = group(crit, "count_correct", 1, 3);
    for &(rows, classes) in ARGMAX_SHAPES {
        bench(
            &mut g,
            device,
            "rows",
            &name(rows, classes),
            Throughput::BytesDecimal(4 * (rows * classes + rows + 2) as u64),
            || {
                Ok((
                    filled(device, &[rows, classes])?,
                    bench_labels(device, rows, classes)?,
                    Tensor::from_u32(device, &[0], &[1])?,
                ))
            },
            |(x, labels, counter)| softmax::count_correct(x, labels, counter),
        );
    }
    g.finish();
}

/// Optimizer state of one `OPTIMIZER_SHAPES` entry: parameter, gradient, and
/// the two state buffers (SGD uses the first as its momentum).
struct OptimInputs {
    param: Tensor,
    grad: Tensor,
    first: Tensor,
    second: Tensor,
}

fn optim_inputs(device: &Device, n: usize) -> Result<OptimInputs> {
    Ok(OptimInputs {
        param: filled(device, &[n])?,
        grad: filled(device, &[n])?,
        first: filled(device, &[n])?,
        second: Tensor::from_f32(device, &vec![1e-4; n], &[n])?,
    })
}

/// One SGD-with-momentum step and one AdamW step, in place, on every
/// `OPTIMIZER_SHAPES` size (`BENCH_SGD`, `BENCH_ADAMW`).
fn optimizer(crit: &mut Criterion, device: &Device) {
    let mut g = group(crit, "optimizer", 1, 3);
    for &n in OPTIMIZER_SHAPES {
        let shape = shape_name(&[("numel", n)]);
        bench(
            &mut g,
            device,
            "sgd_momentum",
            &shape,
            Throughput::BytesDecimal(20 * n as u64),
            || optim_inputs(device, n),
            |i| optim::sgd_step(&i.param, &i.grad, &i.first, &BENCH_SGD),
        );
        bench(
            &mut g,
            device,
            "adamw",
            &shape,
            Throughput::BytesDecimal(28 * n as u64),
            || optim_inputs(device, n),
            |i| optim::adam_step(&i.param, &i.grad, &i.first, &i.second, &BENCH_ADAMW),
        );
    }
    g.finish();
}

/// Dropout forward in training mode on every `DROPOUT_SHAPES` size.
fn dropout_fwd(crit: &mut Criterion, device: &Device) {
    let mut g = group(crit, "dropout_fwd", 1, 3);
    for &n in DROPOUT_SHAPES {
        bench(
            &mut g,
            device,
            &format!("train p={DROPOUT_P}"),
            &shape_name(&[("numel", n)]),
            Throughput::BytesDecimal(12 * n as u64),
            || filled(device, &[n]),
            |x| dropout::dropout(x, DROPOUT_P, 7, true).map(drop),
        );
    }
    g.finish();
}
