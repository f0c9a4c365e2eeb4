//! BatchNorm2d forward (train and eval, with and without fused ReLU, and the
//! residual block's fused `bn(x) + residual` with and without the ReLU), the
//! in-place running-statistics update, and the training-mode backward against
//! the f64 reference (`shadernet_reference::batch_norm`) and the PyTorch
//! fixture; a badly conditioned channel (mean 100, std 0.1) that a naive
//! E[x²]−E[x]² would get wrong; the split-launch path; every typed error.
//!
//! Tolerances: statistics are per-channel sums of up to 131072 values computed
//! with Welford per invocation and a pairwise tree, so their relative error is
//! a few f32 ulps times log2 of the count; y and dx are O(1) values built from
//! them, checked at 1e-4 absolute + 1e-4 relative (forward) and 1e-4 + 1e-3
//! (backward, and dgamma/dbeta, sums of O(1) terms whose magnitude grows like
//! sqrt(count)). An indexing or formula mistake moves values by O(1).

use shadernet_reference::{
    batch_norm as reference,
    rng::Rng,
    tol::{assert_close, Tol},
};
use shadernet_tensor::ops::batch_norm::{self as ops, BatchNormSaved};
use shadernet_tensor::ops::conv2d::Activation;
use shadernet_tensor::ops::pool::with_binding_limit;
use shadernet_tensor::{
    with_stream_reads, without_texel_operands, DType, Device, Error, StreamReads, Tensor,
};

use crate::common::{device, download, round32, upload, Fixture};

const FWD: Tol = Tol::new(1e-4, 1e-4);
const BWD: Tol = Tol::new(1e-4, 1e-3);
const MOMENTUM: f32 = 0.1;
const EPS: f32 = 1e-5;

/// Inputs of one case, f32-exact.
struct Case {
    n: usize,
    c: usize,
    hw: usize,
    shape: Vec<usize>,
    x: Vec<f64>,
    gamma: Vec<f64>,
    beta: Vec<f64>,
    rm: Vec<f64>,
    rv: Vec<f64>,
    dy: Vec<f64>,
    /// The residual operand of the fused `relu(bn(x) + residual)`.
    res: Vec<f64>,
}

impl Case {
    /// Channel `ch` has mean `offset[ch]` and std `spread[ch]`.
    fn new(
        rng: &mut Rng,
        n: usize,
        c: usize,
        h: usize,
        w: usize,
        offset: f64,
        spread: f64,
    ) -> Case {
        let hw = h * w;
        let means = rng.vec_normal(c);
        let stds = rng.vec_uniform(c, 0.5, 2.0);
        let mut x = rng.vec_normal(n * c * hw);
        for (i, v) in x.iter_mut().enumerate() {
            let ch = (i / hw) % c;
            *v = offset + means[ch] * spread * 3.0 + *v * stds[ch] * spread;
        }
        Case {
            n,
            c,
            hw,
            shape: vec![n, c, h, w],
            x: round32(&x),
            gamma: round32(&rng.vec_uniform(c, 0.5, 1.5)),
            beta: round32(&rng.vec_normal(c)),
            rm: round32(&rng.vec_normal(c)),
            rv: round32(&rng.vec_uniform(c, 0.5, 2.0)),
            dy: round32(&rng.vec_normal(n * c * hw)),
            res: round32(&rng.vec_normal(n * c * hw)),
        }
    }
    fn count(&self) -> usize {
        self.n * self.hw
    }
}

/// GPU tensors of a case's parameters and buffers.
struct Gpu {
    x: Tensor,
    gamma: Tensor,
    beta: Tensor,
    rm: Tensor,
    rv: Tensor,
    nbt: Tensor,
    dy: Tensor,
}

impl Gpu {
    fn new(k: &Case) -> Gpu {
        let c = [k.c];
        Gpu {
            x: upload(&k.x, &k.shape),
            gamma: upload(&k.gamma, &c),
            beta: upload(&k.beta, &c),
            rm: upload(&k.rm, &c),
            rv: upload(&k.rv, &c),
            nbt: Tensor::from_u32(device(), &[7], &[1]).unwrap(),
            dy: upload(&k.dy, &k.shape),
        }
    }
    fn train(&self, relu: bool) -> (Tensor, BatchNormSaved) {
        let f = if relu {
            ops::batch_norm_train_relu
        } else {
            ops::batch_norm_train
        };
        f(
            &self.x,
            &self.gamma,
            &self.beta,
            &self.rm,
            &self.rv,
            &self.nbt,
            MOMENTUM,
            EPS,
        )
        .unwrap()
    }
}

fn relu(v: &[f64]) -> Vec<f64> {
    v.iter().map(|&a| a.max(0.0)).collect()
}

/// Train forward, running update, eval and backward (plain and fused ReLU) of
/// one case against the reference.
fn check(k: &Case, ctx: &str) {
    let (n, c, hw) = (k.n, k.c, k.hw);
    let g = Gpu::new(k);
    let want = reference::batch_norm_train(&k.x, &k.gamma, &k.beta, n, c, hw, f64::from(EPS));
    let (y, saved) = g.train(false);
    assert_eq!(y.shape(), k.shape.as_slice(), "{ctx}");
    assert_close(
        &download(&saved.mean),
        &want.mean,
        FWD,
        &format!("{ctx} mean"),
    );
    assert_close(
        &download(&saved.invstd),
        &want.invstd,
        Tol::new(0.0, 1e-4),
        &format!("{ctx} invstd"),
    );
    assert_close(&download(&y), &want.y, FWD, &format!("{ctx} y"));
    // Running statistics: updated in place, and again by the second (ReLU) step.
    let (mut rm, mut rv) = (k.rm.clone(), k.rv.clone());
    let m = f64::from(MOMENTUM);
    reference::running_update(&mut rm, &mut rv, &want.mean, &want.var_biased, k.count(), m);
    assert_close(&download(&g.rm), &rm, FWD, &format!("{ctx} running_mean"));
    assert_close(&download(&g.rv), &rv, FWD, &format!("{ctx} running_var"));
    assert_eq!(
        g.nbt.to_vec_u32().unwrap(),
        vec![8],
        "{ctx} num_batches_tracked"
    );
    let (y_relu, saved_relu) = g.train(true);
    reference::running_update(&mut rm, &mut rv, &want.mean, &want.var_biased, k.count(), m);
    assert_close(
        &download(&g.rm),
        &rm,
        FWD,
        &format!("{ctx} running_mean, 2 steps"),
    );
    assert_close(
        &download(&g.rv),
        &rv,
        FWD,
        &format!("{ctx} running_var, 2 steps"),
    );
    assert_eq!(
        g.nbt.to_vec_u32().unwrap(),
        vec![9],
        "{ctx} num_batches_tracked"
    );
    let y_relu = download(&y_relu);
    assert_close(&y_relu, &relu(&want.y), FWD, &format!("{ctx} y relu"));
    // Backward.
    let (dx, dgamma, dbeta) = ops::batch_norm_backward(&g.x, &g.gamma, &saved, &g.dy).unwrap();
    let (wdx, wdg, wdb) =
        reference::batch_norm_backward(&k.x, &k.gamma, &want.mean, &want.invstd, &k.dy, n, c, hw);
    assert_eq!(dgamma.shape(), [c].as_slice());
    assert_close(&download(&dbeta), &wdb, BWD, &format!("{ctx} dbeta"));
    assert_close(&download(&dgamma), &wdg, BWD, &format!("{ctx} dgamma"));
    assert_close(&download(&dx), &wdx, BWD, &format!("{ctx} dx"));
    // Fused ReLU backward: the mask must be the forward's own y > 0.
    let masked: Vec<f64> =
        k.dy.iter()
            .zip(&y_relu)
            .map(|(&d, &yv)| if yv > 0.0 { d } else { 0.0 })
            .collect();
    let (dx, dgamma, dbeta) =
        ops::batch_norm_relu_backward(&g.x, &g.gamma, &g.beta, &saved_relu, &g.dy).unwrap();
    let (wdx, wdg, wdb) =
        reference::batch_norm_backward(&k.x, &k.gamma, &want.mean, &want.invstd, &masked, n, c, hw);
    assert_close(&download(&dbeta), &wdb, BWD, &format!("{ctx} relu dbeta"));
    assert_close(&download(&dgamma), &wdg, BWD, &format!("{ctx} relu dgamma"));
    assert_close(&download(&dx), &wdx, BWD, &format!("{ctx} relu dx"));
    // Eval with the (original) running statistics.
    let g = Gpu::new(k);
    let want = reference::batch_norm_eval(
        &k.x,
        &k.gamma,
        &k.beta,
        &k.rm,
        &k.rv,
        n,
        c,
        hw,
        f64::from(EPS),
    );
    let y = ops::batch_norm_eval(&g.x, &g.gamma, &g.beta, &g.rm, &g.rv, EPS).unwrap();
    assert_close(&download(&y), &want, FWD, &format!("{ctx} eval"));
    let y = ops::batch_norm_eval_relu(&g.x, &g.gamma, &g.beta, &g.rm, &g.rv, EPS).unwrap();
    assert_close(
        &download(&y),
        &relu(&want),
        FWD,
        &format!("{ctx} eval relu"),
    );
    // A residual block's end, bn(x) + residual with and without the ReLU: eval, then
    // train (which updates the running statistics like the plain forward).
    let res = upload(&k.res, &k.shape);
    let plus = |y: &[f64], relu_after: bool| {
        let v: Vec<f64> = y.iter().zip(&k.res).map(|(a, b)| a + b).collect();
        if relu_after {
            relu(&v)
        } else {
            v
        }
    };
    for relu_after in [false, true] {
        let y = ops::batch_norm_eval_with(
            &g.x,
            ops::BnEpilogue::residual(&res, relu_after),
            &g.gamma,
            &g.beta,
            &g.rm,
            &g.rv,
            EPS,
        )
        .unwrap();
        assert_close(
            &download(&y),
            &plus(&want, relu_after),
            FWD,
            &format!("{ctx} eval residual relu={relu_after}"),
        );
    }
    let want = reference::batch_norm_train(&k.x, &k.gamma, &k.beta, n, c, hw, f64::from(EPS));
    let (mut rm, mut rv) = (k.rm.clone(), k.rv.clone());
    for relu_after in [false, true] {
        let (y, saved) = ops::batch_norm_train_with(
            &g.x,
            ops::BnEpilogue::residual(&res, relu_after),
            &g.gamma,
            &g.beta,
            &g.rm,
            &g.rv,
            &g.nbt,
            MOMENTUM,
            EPS,
        )
        .unwrap();
        let ctx = format!("{ctx} residual relu={relu_after}");
        assert_close(
            &download(&y),
            &plus(&want.y, relu_after),
            FWD,
            &format!("{ctx} y"),
        );
        assert_close(
            &download(&saved.mean),
            &want.mean,
            FWD,
            &format!("{ctx} mean"),
        );
        reference::running_update(&mut rm, &mut rv, &want.mean, &want.var_biased, k.count(), m);
        assert_close(&download(&g.rm), &rm, FWD, &format!("{ctx} running_mean"));
        assert_close(&download(&g.rv), &rv, FWD, &format!("{ctx} running_var"));
    }
}

#[test]
#[cfg_attr(skip_gpu_tests, ignore)]
fn batch_norm_matches_reference_on_odd_shapes() {
    let mut rng = Rng::new(21);
    for &(n, c, h, w) in &[
        (3, 1, 1, 1),
        (3, 3, 1, 1),
        (2, 5, 1, 1),
        (1, 1, 5, 7),
        (1, 3, 13, 13),
        (3, 5, 7, 5),
        (3, 17, 13, 13),
        (1, 17, 33, 33),
        (3, 3, 33, 1),
        (7, 5, 3, 3),
        // H·W a multiple of 4: the vec4 kernels.
        (3, 5, 2, 2),
        (1, 17, 4, 3),
        (2, 3, 12, 12),
    ] {
        let k = Case::new(&mut rng, n, c, h, w, 0.5, 1.0);
        // Both operand paths (the device's measured choice is one of them): texel
        // operands, and storage buffers.
        with_stream_reads(StreamReads::Texels, || {
            check(&k, &format!("[{n}, {c}, {h}, {w}] texels"))
        });
        without_texel_operands(|| check(&k, &format!("[{n}, {c}, {h}, {w}] storage")));
    }
}

#[test]
#[cfg_attr(skip_gpu_tests, ignore)]
fn batch_norm_large_channel_count_128x32x32() {
    // N·H·W = 131072 values per channel.
    let mut rng = Rng::new(22);
    let k = Case::new(&mut rng, 128, 3, 32, 32, 0.5, 1.0);
    check(&k, "[128, 3, 32, 32]");
}

#[test]
#[cfg_attr(skip_gpu_tests, ignore)]
fn batch_norm_statistics_are_stable_for_large_means() {
    // Mean about 100, std about 0.1: E[x^2] - E[x]^2 in f32 loses every digit of
    // the variance (ulp(1e4) ~ 1e-3 against a variance of ~1e-2).
    let mut rng = Rng::new(23);
    let k = Case::new(&mut rng, 16, 3, 16, 16, 100.0, 0.1);
    let g = Gpu::new(&k);
    let (_, saved) = g.train(false);
    let want = reference::batch_norm_train(&k.x, &k.gamma, &k.beta, k.n, k.c, k.hw, f64::from(EPS));
    assert_close(
        &download(&saved.invstd),
        &want.invstd,
        Tol::new(0.0, 1e-3),
        "invstd at mean 100",
    );
    let (mut rm, mut rv) = (k.rm.clone(), k.rv.clone());
    reference::running_update(
        &mut rm,
        &mut rv,
        &want.mean,
        &want.var_biased,
        k.count(),
        0.1,
    );
    assert_close(
        &download(&g.rv),
        &rv,
        Tol::new(1e-5, 1e-4),
        "running_var at mean 100",
    );
    check(&k, "mean 100 std 0.1");
}

#[test]
#[cfg_attr(skip_gpu_tests, ignore)]
fn training_step_reads_nothing_back() {
    // A private device, so other tests' readbacks do not count.
    let dev = Device::new(std::env::var("SHADERNET_DEVICE").ok().as_deref()).unwrap();
    let (n, c, hw) = (4, 3, 25);
    let f = |v: f32, len: usize| Tensor::from_f32(&dev, &vec![v; len], &[len]).unwrap();
    let data: Vec<f32> = (0..n * c * hw).map(|i| (i % 11) as f32 * 0.3).collect();
    let x = Tensor::from_f32(&dev, &data, &[n, c, 5, 5]).unwrap();
    let (gamma, beta, rm, rv) = (f(1.0, c), f(0.0, c), f(0.0, c), f(1.0, c));
    let nbt = Tensor::from_u32(&dev, &[0], &[1]).unwrap();
    let dy = x.deep_clone().unwrap();
    let before = dev.counters();
    let (_, saved) =
        ops::batch_norm_train(&x, &gamma, &beta, &rm, &rv, &nbt, MOMENTUM, EPS).unwrap();
    let _ = ops::batch_norm_backward(&x, &gamma, &saved, &dy).unwrap();
    dev.sync().unwrap();
    let d = dev.counters() - before;
    assert_eq!((d.readbacks, d.uploads), (0, 0), "{d:?}");
    assert_eq!(nbt.to_vec_u32().unwrap(), vec![1]);
}

#[test]
#[cfg_attr(skip_gpu_tests, ignore)]
fn split_launches_match_reference() {
    // Per-image windows: 3*7*5*4 = 420 bytes. A 1000-byte limit runs two images
    // per launch (chaining the statistics across 3 launches), 500 bytes one.
    let mut rng = Rng::new(24);
    let k = Case::new(&mut rng, 5, 3, 7, 5, 2.0, 1.0);
    for limit in [500, 1000] {
        with_binding_limit(limit, || check(&k, &format!("binding limit {limit}")));
        with_binding_limit(limit, || {
            without_texel_operands(|| check(&k, &format!("binding limit {limit}, storage")))
        });
    }
    // The vec4 kernels (16 and 4 elements per item): 3*4*4*4 = 192 and 3*2*6*4 =
    // 144 bytes per image, one or two per launch.
    for (h, w) in [(4, 4), (2, 6)] {
        let k4 = Case::new(&mut rng, 5, 3, h, w, 2.0, 1.0);
        for limit in [300, 500] {
            with_binding_limit(limit, || {
                check(&k4, &format!("{h}x{w}, binding limit {limit}"))
            });
            with_binding_limit(limit, || {
                without_texel_operands(|| {
                    check(&k4, &format!("{h}x{w}, binding limit {limit}, storage"))
                })
            });
        }
    }
    let g = Gpu::new(&k);
    let r = with_binding_limit(256, || {
        ops::batch_norm_train(&g.x, &g.gamma, &g.beta, &g.rm, &g.rv, &g.nbt, 0.1, EPS)
    });
    assert!(matches!(r, Err(Error::Limit { .. })), "{r:?}");
}

#[test]
#[cfg_attr(skip_gpu_tests, ignore)]
fn pytorch_fixture() {
    let fx = Fixture::load("batch_norm");
    let mut cases = 0;
    for case in fx.cases.keys() {
        let get = |role: &str| fx.get(case, role);
        let (x, shape) = get("x");
        let c = shape[1];
        let t = |role: &str| upload(&get(role).0, &get(role).1);
        let (xt, gamma, beta, rm, rv, dy) = (
            t("x"),
            t("gamma"),
            t("beta"),
            t("running_mean"),
            t("running_var"),
            t("dy"),
        );
        let eps = fx.param(case, "eps").as_f64().unwrap() as f32;
        let momentum = fx.param(case, "momentum").as_f64().unwrap() as f32;
        let nbt = Tensor::from_u32(device(), &[0], &[1]).unwrap();
        let tol = |out: &str, d: Tol| fx.tol(case, out, d);
        // Eval first: it reads the running statistics the training step overwrites.
        let y_eval = ops::batch_norm_eval(&xt, &gamma, &beta, &rm, &rv, eps).unwrap();
        assert_close(
            &download(&y_eval),
            &get("y_eval").0,
            tol("y_eval", FWD),
            &format!("{case} y_eval"),
        );
        let (y, saved) =
            ops::batch_norm_train(&xt, &gamma, &beta, &rm, &rv, &nbt, momentum, eps).unwrap();
        assert_close(
            &download(&y),
            &get("y").0,
            tol("y", FWD),
            &format!("{case} y"),
        );
        assert_close(
            &download(&saved.mean),
            &get("batch_mean").0,
            tol("batch_mean", FWD),
            &format!("{case} mean"),
        );
        let want_invstd: Vec<f64> = get("batch_var")
            .0
            .iter()
            .map(|v| 1.0 / (v + f64::from(eps)).sqrt())
            .collect();
        assert_close(
            &download(&saved.invstd),
            &want_invstd,
            Tol::new(0.0, 1e-4),
            &format!("{case} invstd"),
        );
        assert_close(
            &download(&rm),
            &get("new_running_mean").0,
            tol("new_running_mean", FWD),
            &format!("{case} running_mean"),
        );
        assert_close(
            &download(&rv),
            &get("new_running_var").0,
            tol("new_running_var", FWD),
            &format!("{case} running_var"),
        );
        assert_eq!(nbt.to_vec_u32().unwrap(), vec![1]);
        let (dx, dgamma, dbeta) = ops::batch_norm_backward(&xt, &gamma, &saved, &dy).unwrap();
        assert_close(
            &download(&dx),
            &get("dx").0,
            tol("dx", BWD),
            &format!("{case} dx"),
        );
        assert_close(
            &download(&dgamma),
            &get("dgamma").0,
            tol("dgamma", BWD),
            &format!("{case} dgamma"),
        );
        assert_close(
            &download(&dbeta),
            &get("dbeta").0,
            tol("dbeta", BWD),
            &format!("{case} dbeta"),
        );
        assert_eq!(x.len(), shape.iter().product::<usize>());
        assert_eq!(dgamma.shape(), [c].as_slice());
        cases += 1;
    }
    assert!(cases >= 10, "{cases} cases");
}

fn shape_message<T: std::fmt::Debug>(r: Result<T, Error>) -> String {
    match r {
        Err(Error::Shape { message, .. }) => message,
        other => panic!("expected a shape error, got {other:?}"),
    }
}

#[test]
#[cfg_attr(skip_gpu_tests, ignore)]
fn bad_inputs_are_typed_errors() {
    let mut rng = Rng::new(25);
    let k = Case::new(&mut rng, 2, 3, 2, 2, 0.0, 1.0);
    let g = Gpu::new(&k);
    let train = |x: &Tensor, gamma: &Tensor, nbt: &Tensor, eps: f32| {
        ops::batch_norm_train(x, gamma, &g.beta, &g.rm, &g.rv, nbt, MOMENTUM, eps)
    };
    // One value per channel in training mode (PyTorch refuses it too); eval is fine.
    let one = upload(&[1.0, 2.0, 3.0], &[1, 3, 1, 1]);
    let m = shape_message(train(&one, &g.gamma, &g.nbt, EPS));
    assert!(
        m.contains("more than 1 value per channel") && m.contains("[1, 3, 1, 1]"),
        "{m}"
    );
    assert!(ops::batch_norm_eval(&one, &g.gamma, &g.beta, &g.rm, &g.rv, EPS).is_ok());
    // Per-channel vectors of the wrong length.
    let gamma4 = upload(&[1.0; 4], &[4]);
    let m = shape_message(train(&g.x, &gamma4, &g.nbt, EPS));
    assert!(
        m.contains("gamma") && m.contains("[4]") && m.contains("[3]"),
        "{m}"
    );
    let m = shape_message(ops::batch_norm_eval(
        &g.x, &g.gamma, &g.beta, &gamma4, &g.rv, EPS,
    ));
    assert!(m.contains("running_mean"), "{m}");
    // num_batches_tracked: U32 with one element.
    let nbt_f = upload(&[0.0], &[1]);
    assert!(matches!(
        train(&g.x, &g.gamma, &nbt_f, EPS),
        Err(Error::DType { .. })
    ));
    let nbt2 = Tensor::from_u32(device(), &[0, 0], &[2]).unwrap();
    assert!(shape_message(train(&g.x, &g.gamma, &nbt2, EPS)).contains("num_batches_tracked"));
    // Bad eps, rank, zero size, dtype.
    assert!(shape_message(train(&g.x, &g.gamma, &g.nbt, -1.0)).contains("eps"));
    let rank3 = upload(&k.x, &[2, 3, 4]);
    assert!(shape_message(train(&rank3, &g.gamma, &g.nbt, EPS)).contains("[2, 3, 4]"));
    let empty = Tensor::zeros(device(), &[0, 3, 2, 2], DType::F32).unwrap();
    assert!(shape_message(train(&empty, &g.gamma, &g.nbt, EPS)).contains("zero"));
    let ints = Tensor::from_u32(device(), &[0; 24], &[2, 3, 2, 2]).unwrap();
    assert!(matches!(
        train(&ints, &g.gamma, &g.nbt, EPS),
        Err(Error::DType { .. })
    ));
    // Backward: dy of another shape, saved statistics of another size.
    let (_, saved) = g.train(false);
    let dy = upload(&[0.0; 12], &[1, 3, 2, 2]);
    let m = shape_message(ops::batch_norm_backward(&g.x, &g.gamma, &saved, &dy));
    assert!(
        m.contains("[1, 3, 2, 2]") && m.contains("[2, 3, 2, 2]"),
        "{m}"
    );
    let bad = BatchNormSaved {
        mean: gamma4.clone(),
        invstd: saved.invstd.clone(),
        records: None,
    };
    assert!(
        shape_message(ops::batch_norm_backward(&g.x, &g.gamma, &bad, &g.dy)).contains("saved mean")
    );
    // A residual of another shape: a typed error before anything runs (the running
    // statistics and num_batches_tracked keep their values).
    let (rm, rv, nbt) = (
        download(&g.rm),
        download(&g.rv),
        g.nbt.to_vec_u32().unwrap(),
    );
    let m = shape_message(ops::batch_norm_train_with(
        &g.x,
        ops::BnEpilogue::residual(&dy, true),
        &g.gamma,
        &g.beta,
        &g.rm,
        &g.rv,
        &g.nbt,
        MOMENTUM,
        EPS,
    ));
    assert!(
        m.contains("residual") && m.contains("[1, 3, 2, 2]") && m.contains("[2, 3, 2, 2]"),
        "{m}"
    );
    assert_eq!(download(&g.rm), rm);
    assert_eq!(download(&g.rv), rv);
    assert_eq!(g.nbt.to_vec_u32().unwrap(), nbt);
    let m = shape_message(ops::batch_norm_eval_with(
        &g.x,
        ops::BnEpilogue::residual(&dy, false),
        &g.gamma,
        &g.beta,
        &g.rm,
        &g.rv,
        EPS,
    ));
    assert!(m.contains("residual"), "{m}");
}

#[test]
#[cfg_attr(skip_gpu_tests, ignore)]
fn batch_norm_relu6_matches_reference() {
    // gamma doubled and beta shifted by 3 so that a good share of y lies above 6 as
    // well as below 0:
    // both bounds of the mask 0 < y < 6 are exercised, forward and backward.
    let mut rng = Rng::new(26);
    let relu6 = |v: &[f64]| -> Vec<f64> { v.iter().map(|&a| a.clamp(0.0, 6.0)).collect() };
    for &(n, c, h, w) in &[(3, 5, 7, 5), (2, 3, 12, 12), (3, 5, 2, 2)] {
        let mut k = Case::new(&mut rng, n, c, h, w, 0.5, 1.0);
        k.beta = k.beta.iter().map(|b| b + 3.0).collect();
        k.gamma = k.gamma.iter().map(|g| 2.0 * g).collect();
        let hw = h * w;
        let run = |ctx: &str| {
            let g = Gpu::new(&k);
            let want =
                reference::batch_norm_train(&k.x, &k.gamma, &k.beta, n, c, hw, f64::from(EPS));
            let above = want.y.iter().filter(|&&v| v >= 6.0).count();
            let below = want.y.iter().filter(|&&v| v <= 0.0).count();
            assert!(
                above > 0 && below > 0,
                "{ctx}: {above} above 6, {below} below 0"
            );
            let (y, saved) = ops::batch_norm_train_with(
                &g.x,
                ops::BnEpilogue::act(Activation::Relu6),
                &g.gamma,
                &g.beta,
                &g.rm,
                &g.rv,
                &g.nbt,
                MOMENTUM,
                EPS,
            )
            .unwrap();
            let y = download(&y);
            assert_close(&y, &relu6(&want.y), FWD, &format!("{ctx} y relu6"));
            let masked: Vec<f64> =
                k.dy.iter()
                    .zip(&y)
                    .map(|(&d, &yv)| if yv > 0.0 && yv < 6.0 { d } else { 0.0 })
                    .collect();
            let (dx, dgamma, dbeta) = ops::batch_norm_act_backward(
                &g.x,
                &g.gamma,
                &g.beta,
                &saved,
                &g.dy,
                Activation::Relu6,
            )
            .unwrap();
            let (wdx, wdg, wdb) = reference::batch_norm_backward(
                &k.x,
                &k.gamma,
                &want.mean,
                &want.invstd,
                &masked,
                n,
                c,
                hw,
            );
            assert_close(&download(&dbeta), &wdb, BWD, &format!("{ctx} relu6 dbeta"));
            assert_close(
                &download(&dgamma),
                &wdg,
                BWD,
                &format!("{ctx} relu6 dgamma"),
            );
            assert_close(&download(&dx), &wdx, BWD, &format!("{ctx} relu6 dx"));
            let g = Gpu::new(&k);
            let want = reference::batch_norm_eval(
                &k.x,
                &k.gamma,
                &k.beta,
                &k.rm,
                &k.rv,
                n,
                c,
                hw,
                f64::from(EPS),
            );
            let y = ops::batch_norm_eval_with(
                &g.x,
                ops::BnEpilogue::act(Activation::Relu6),
                &g.gamma,
                &g.beta,
                &g.rm,
                &g.rv,
                EPS,
            )
            .unwrap();
            assert_close(
                &download(&y),
                &relu6(&want),
                FWD,
                &format!("{ctx} eval relu6"),
            );
        };
        with_stream_reads(StreamReads::Texels, || {
            run(&format!("[{n}, {c}, {h}, {w}] texels"))
        });
        without_texel_operands(|| run(&format!("[{n}, {c}, {h}, {w}] storage")));
    }
}

#[test]
#[cfg_attr(skip_gpu_tests, ignore)]
fn train_into_a_padded_input_matches_nchw() {
    // batch_norm_train_padded writes act(bn(x)) where a 3x3 convolution's forward reads
    // its input: every pixel where the NCHW output has it, zeros in the padding (the
    // buffer may come dirty from the pool), the same running statistics. Where it does
    // not apply (a width of 6) it returns None and leaves the running statistics alone.
    use shadernet_tensor::ops::conv2d::{conv2d_input_layout, Conv2dConfig};
    let dev = device();
    let mut rng = Rng::new(31);
    let cfg = Conv2dConfig::new(1, 1);
    for act in [Activation::Relu, Activation::Relu6, Activation::None] {
        let shape = [2, 8, 4, 8];
        let layout = conv2d_input_layout(dev, shape, [16, 8, 3, 3], &cfg)
            .unwrap()
            .expect("a padded input layout");
        let xs = round32(&rng.vec_normal(2 * 8 * 4 * 8));
        let x = upload(&xs, &shape);
        let (g, b) = (upload(&[1.5; 8], &[8]), upload(&[0.25; 8], &[8]));
        let stats = || {
            (
                Tensor::zeros(dev, &[8], DType::F32).unwrap(),
                upload(&[1.0; 8], &[8]),
                Tensor::from_u32(dev, &[0], &[1]).unwrap(),
            )
        };
        let (m1, v1, n1) = stats();
        let (m2, v2, n2) = stats();
        // A pooled buffer of the output's size, dirty: the padding must be zeroed.
        drop(upload(&vec![f64::NAN; layout.floats()], &[layout.floats()]));
        let (yp, _) =
            ops::batch_norm_train_padded(&x, act, &g, &b, &m1, &v1, &n1, 0.1, 1e-5, &layout, None)
                .unwrap()
                .expect("batch norm writes this layout");
        let (y, _) = ops::batch_norm_train_with(
            &x,
            ops::BnEpilogue::act(act),
            &g,
            &b,
            &m2,
            &v2,
            &n2,
            0.1,
            1e-5,
        )
        .unwrap();
        let (yp, y) = (download(&yp), download(&y));
        assert_eq!(yp.len(), layout.floats());
        let mut want = vec![0.0f32; layout.floats()];
        for (i, &v) in y.iter().enumerate() {
            let (n, c, r, s) = (i / 256, i / 32 % 8, i / 8 % 4, i % 8);
            want[((n * 6 + r + 1) * 10 + s + 1) * 8 + c] = v;
        }
        assert_eq!(yp, want, "{act:?}");
        assert_eq!(download(&m1), download(&m2), "running mean");
        assert_eq!(download(&v1), download(&v2), "running var");
        assert_eq!(n1.to_vec_u32().unwrap(), [1]);
    }
    // Width 6: no vec4 rows, nothing run.
    let shape = [2, 8, 4, 6];
    let layout = conv2d_input_layout(dev, shape, [16, 8, 3, 3], &cfg)
        .unwrap()
        .expect("a padded input layout");
    let x = upload(&round32(&rng.vec_normal(2 * 8 * 4 * 6)), &shape);
    let ones = upload(&[1.0; 8], &[8]);
    let m = Tensor::zeros(dev, &[8], DType::F32).unwrap();
    let n = Tensor::from_u32(dev, &[0], &[1]).unwrap();
    let r = ops::batch_norm_train_padded(
        &x,
        Activation::Relu,
        &ones,
        &ones,
        &m,
        &ones,
        &n,
        0.1,
        1e-5,
        &layout,
        None,
    )
    .unwrap();
    assert!(r.is_none());
    assert_eq!(download(&m), vec![0.0; 8]);
    assert_eq!(n.to_vec_u32().unwrap(), [0]);
}

#[test]
#[cfg_attr(skip_gpu_tests, ignore)]
fn statistics_from_conv_moments_match_reference() {
    // The implicit GEMM's epilogue writes each subgroup block's (mean, M2) per output
    // channel; batch_norm_train_from_moments merges them instead of reading the output.
    // Against the f64 moments of the very output it wrote: a partial last block (189
    // pixels, blocks of 64), output channels that fill no whole tile (20 of 32), the
    // 16-channel tile, and (a valid 3x3 window over inputs 50 +- 0.01, positive weights)
    // outputs whose mean is ~3*10^4 standard deviations from zero.
    // The same y and running statistics as batch norm's own statistics pass, within
    // rounding; moments that do not cover x are a typed error.
    use shadernet_tensor::ops::conv2d::{conv2d_keeping_input_and_moments, Conv2dConfig};
    let dev = device();
    let mut rng = Rng::new(41);
    for (x_shape, k, offset) in [
        ([3, 5, 7, 9], 20, 0.0),
        ([2, 16, 8, 8], 16, 0.0),
        ([2, 8, 4, 8], 32, 50.0),
    ] {
        // Padding 1, except the offset case: no zero taps to spread its outputs.
        let cfg = Conv2dConfig::new(1, usize::from(offset == 0.0));
        let [n, c, h, w] = x_shape;
        let xs: Vec<f64> = round32(&rng.vec_normal(n * c * h * w))
            .iter()
            .map(|v| offset + if offset > 0.0 { 0.01 * v } else { *v })
            .collect();
        let ws: Vec<f64> = round32(&rng.vec_normal(k * c * 9))
            .iter()
            .map(|v| if offset > 0.0 { v.abs() } else { *v })
            .collect();
        let (x, wt) = (upload(&round32(&xs), &x_shape), upload(&ws, &[k, c, 3, 3]));
        let (z, _, mo) = conv2d_keeping_input_and_moments(&x, &wt, &cfg).unwrap();
        let mo = mo.expect("the subgroup implicit GEMM writes moments");
        let zs = download(&z);
        let hw = z.shape()[2] * z.shape()[3];
        let stats = || {
            (
                Tensor::zeros(dev, &[k], DType::F32).unwrap(),
                upload(&vec![1.0; k], &[k]),
                Tensor::from_u32(dev, &[0], &[1]).unwrap(),
            )
        };
        let (g, b) = (upload(&vec![1.0; k], &[k]), upload(&vec![0.0; k], &[k]));
        let ((m1, v1, n1), (m2, v2, n2)) = (stats(), stats());
        let epi = ops::BnEpilogue::act(Activation::None);
        let (y1, s1) =
            ops::batch_norm_train_from_moments(&z, &mo, epi, &g, &b, &m1, &v1, &n1, 0.1, 1e-5)
                .unwrap();
        let (y2, _) =
            ops::batch_norm_train_with(&z, epi, &g, &b, &m2, &v2, &n2, 0.1, 1e-5).unwrap();
        let (mean, invstd) = (download(&s1.mean), download(&s1.invstd));
        let ctx = format!("{x_shape:?} k {k} offset {offset}");
        for ch in 0..k {
            let vals: Vec<f64> = (0..n)
                .flat_map(|i| {
                    zs[(i * k + ch) * hw..(i * k + ch + 1) * hw]
                        .iter()
                        .map(|&v| f64::from(v))
                })
                .collect();
            let mu = vals.iter().sum::<f64>() / vals.len() as f64;
            let var = vals.iter().map(|v| (v - mu) * (v - mu)).sum::<f64>() / vals.len() as f64;
            let want = 1.0 / (var + 1e-5).sqrt();
            // A few ulps of the mean itself (it is rounded to f32 like the data).
            let ulps = 4.0 * f64::from(f32::EPSILON) * mu.abs() + 1e-6;
            assert!(
                (f64::from(mean[ch]) - mu).abs() <= ulps,
                "{ctx} mean[{ch}] {} vs {mu}",
                mean[ch]
            );
            assert!(
                (f64::from(invstd[ch]) - want).abs() <= 1e-4 * want,
                "{ctx} invstd[{ch}] {} vs {want}",
                invstd[ch]
            );
        }
        // y = (z - mean) * invstd inherits the two means' rounding (a few ulps of a mean
        // ~3*10^4 standard deviations from zero moves y by ~1e-3); the running
        // statistics are at the data's scale.
        let slack = (0..k)
            .map(|ch| 8.0 * f32::EPSILON * mean[ch].abs() * invstd[ch])
            .fold(0.0f32, f32::max);
        let close = |a: &[f32], b: &[f32], what: &str| {
            for (i, (u, v)) in a.iter().zip(b).enumerate() {
                let tol = 1e-4 * (1.0 + v.abs()) + if what == "y" { slack } else { 0.0 };
                assert!((u - v).abs() <= tol, "{ctx} {what}[{i}]: {u} vs {v}");
            }
        };
        close(&download(&y1), &download(&y2), "y");
        close(&download(&m1), &download(&m2), "running_mean");
        close(&download(&v1), &download(&v2), "running_var");
        assert_eq!(n1.to_vec_u32().unwrap(), [1]);
        // Moments of another shape.
        let other =
            Tensor::zeros(dev, &[n + 1, k, z.shape()[2], z.shape()[3]], DType::F32).unwrap();
        let r =
            ops::batch_norm_train_from_moments(&other, &mo, epi, &g, &b, &m1, &v1, &n1, 0.1, 1e-5);
        assert!(
            matches!(r, Err(Error::Shape { .. })),
            "{ctx}: {:?}",
            r.map(|_| ())
        );
        assert_eq!(n1.to_vec_u32().unwrap(), [1]);
    }
}

/// NCHW `data` of `shape` placed in the padded `layout` (zeros elsewhere).
fn to_padded(
    data: &[f64],
    shape: [usize; 4],
    l: &shadernet_tensor::ops::conv2d::Conv2dPaddedLayout,
) -> Vec<f64> {
    let [_, c, h, w] = shape;
    let mut out = vec![0.0; l.floats()];
    for (i, &v) in data.iter().enumerate() {
        let (b, ch, r, s) = (i / (c * h * w), i / (h * w) % c, i / w % h, i % w);
        let (row, col) = (r * l.ups[0] + l.off[0], s * l.ups[1] + l.off[1]);
        out[((b * l.hp + row) * l.wp + col) * l.kv * 4 + ch] = v;
    }
    out
}

#[test]
#[cfg_attr(skip_gpu_tests, ignore)]
fn backward_sums_from_conv_dx_match_reference() {
    // dX's epilogue (GRAD_SUMS) reduces the backward sums of the batch norm whose output
    // it is the gradient of: per 64-pixel block and channel (sum(g'), sum(g' * xhat)), g'
    // masked by the activation; batch_norm_act_backward_padded merges them instead of
    // reading g and x again. Against the f64 sums of the very dX it wrote (dbeta, dgamma)
    // and the same backward without them (dx, dgamma, dbeta): a partial last block (216
    // pixels), 20 of a 32-channel tile (parts only: no padded layout below has 20
    // channels), the 16-channel tile, every activation. Where the kernel cannot
    // (rows of 5 pixels) no sums come back; sums for another activation or shape are a
    // typed error.
    use shadernet_tensor::ops::conv2d::{
        conv2d_backward_kept_from_padded_with_bn_sums, conv2d_dy_layout, BnSumsOperands,
        Conv2dConfig,
    };
    let dev = device();
    let mut rng = Rng::new(43);
    let cfg = Conv2dConfig::new(1, 1);
    let tol = Tol::new(1e-4, 1e-4);
    let mut checked = 0;
    for (shape, k) in [
        ([3, 20, 6, 12], 16),
        ([3, 16, 6, 12], 16),
        ([2, 16, 8, 8], 32),
        ([2, 8, 5, 5], 16),
    ] {
        let [n, c, h, w] = shape;
        let len = n * c * h * w;
        for act in [Activation::None, Activation::Relu, Activation::Relu6] {
            // The convolution below the sums: x (its input) and w give dX of shape x.
            let layout = conv2d_dy_layout(dev, shape, [k, c, 3, 3], &cfg)
                .unwrap()
                .expect("a padded dY layout");
            let dys = round32(&rng.vec_normal(n * k * h * w));
            let dyp = upload(&to_padded(&dys, [n, k, h, w], &layout), &[layout.floats()]);
            let xc = upload(&round32(&rng.vec_normal(len)), &shape);
            let wt = upload(&round32(&rng.vec_normal(k * c * 9)), &[k, c, 3, 3]);
            // The batch norm: its input, statistics and affine parameters (y spans 0..6).
            let xs = round32(&rng.vec_normal(len));
            let means = round32(
                &rng.vec_normal(c)
                    .iter()
                    .map(|v| 0.1 * v)
                    .collect::<Vec<_>>(),
            );
            let invstds = round32(&(0..c).map(|i| 0.8 + 0.05 * i as f64).collect::<Vec<_>>());
            let gammas = round32(
                &(0..c)
                    .map(|i| 1.5 + 0.1 * (i % 5) as f64)
                    .collect::<Vec<_>>(),
            );
            let betas = round32(
                &(0..c)
                    .map(|i| 0.5 + 0.25 * (i % 3) as f64)
                    .collect::<Vec<_>>(),
            );
            let (x, gamma, beta) = (
                upload(&xs, &shape),
                upload(&gammas, &[c]),
                upload(&betas, &[c]),
            );
            let saved = BatchNormSaved {
                mean: upload(&means, &[c]),
                invstd: upload(&invstds, &[c]),
                records: None,
            };
            let records = ops::batch_norm_grad_records(&gamma, &beta, &saved).unwrap();
            let bn = BnSumsOperands {
                x: &x,
                records: &records,
                act,
            };
            let (g, _, sums) = conv2d_backward_kept_from_padded_with_bn_sums(
                Some(&xc),
                None,
                &wt,
                (&dyp, &layout),
                &cfg,
                bn,
            )
            .unwrap();
            if h * w % 4 != 0 {
                assert!(sums.is_none(), "rows of {w} pixels: no sums");
                continue;
            }
            let sums = sums.expect("the subgroup dX writes the sums");
            // Blocks of SG * 8 pixels (64 on lavapipe), the last one partial.
            assert_eq!(sums.pixels, n * h * w);
            assert!(
                sums.blocks >= 1 && sums.blocks <= n * h * w,
                "{} blocks",
                sums.blocks
            );
            // f64 sums of the masked gradient dX produced.
            let gs: Vec<f64> = download(&g).iter().map(|&v| f64::from(v)).collect();
            let (mut sg, mut sgx) = (vec![0.0; c], vec![0.0; c]);
            for (i, (&gv, &xv)) in gs.iter().zip(&xs).enumerate() {
                let ch = i / (h * w) % c;
                let k_ = f64::from(invstds[ch] as f32 * gammas[ch] as f32);
                let y = (xv - means[ch]) * k_ + betas[ch];
                let pass = match act {
                    Activation::None => true,
                    Activation::Relu => y > 0.0,
                    Activation::Relu6 => y > 0.0 && y < 6.0,
                };
                if pass {
                    sg[ch] += gv;
                    sgx[ch] += gv * (xv - means[ch]) * invstds[ch];
                }
            }
            // The parts themselves, summed over the blocks.
            let parts = download(&sums.parts);
            assert_eq!(parts.len(), sums.blocks * c * 2);
            let (mut pg, mut pgx) = (vec![0.0f32; c], vec![0.0f32; c]);
            for (i, pair) in parts.chunks(2).enumerate() {
                pg[i % c] += pair[0];
                pgx[i % c] += pair[1];
            }
            let what = format!("{shape:?} {act:?}");
            assert_close(&pg, &sg, tol, &format!("parts' sum(g) {what}"));
            assert_close(&pgx, &sgx, tol, &format!("parts' sum(g xhat) {what}"));
            // Batch norm's backward into the padded dY of a convolution below it (where
            // its channels fill that one's dW blocks).
            let Some(below) = conv2d_dy_layout(dev, [n, 4, h, w], [c, 4, 3, 3], &cfg).unwrap()
            else {
                continue;
            };
            let run = |s| {
                ops::batch_norm_act_backward_padded(&x, &gamma, &beta, &saved, &g, act, &below, s)
                    .unwrap()
                    .expect("batch norm writes the padded dY")
            };
            let (dxp, dgamma, dbeta) = run(Some(&sums));
            let (dxp_own, dgamma_own, dbeta_own) = run(None);
            assert_close(&download(&dbeta), &sg, tol, &format!("dbeta {what}"));
            assert_close(&download(&dgamma), &sgx, tol, &format!("dgamma {what}"));
            let own: Vec<f64> = download(&dxp_own).iter().map(|&v| f64::from(v)).collect();
            assert_close(&download(&dxp), &own, BWD, &format!("dx {what}"));
            for (got, own, name) in [
                (&dbeta, &dbeta_own, "dbeta"),
                (&dgamma, &dgamma_own, "dgamma"),
            ] {
                let own: Vec<f64> = download(own).iter().map(|&v| f64::from(v)).collect();
                assert_close(
                    &download(got),
                    &own,
                    tol,
                    &format!("{name} vs reduce_grad {what}"),
                );
            }
            checked += 1;
            // Sums taken for another activation, or of another batch norm's shape.
            let other = if act == Activation::Relu {
                Activation::None
            } else {
                Activation::Relu
            };
            let e = ops::batch_norm_act_backward_padded(
                &x,
                &gamma,
                &beta,
                &saved,
                &g,
                other,
                &below,
                Some(&sums),
            );
            assert!(matches!(e, Err(Error::Shape { .. })), "{what}: {e:?}");
        }
    }
    assert_eq!(
        checked, 6,
        "two shapes with batch norm's padded backward, three activations"
    );
}
