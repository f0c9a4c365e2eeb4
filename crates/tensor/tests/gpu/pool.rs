//! max_pool2d, avg_pool2d, adaptive/global average pooling and their backwards
//! against the f64 reference (`shadernet_reference::pool`) on a sweep of odd
//! shapes and windows, PyTorch's tie and NaN rules, the PyTorch fixture, the
//! split-launch path, and every typed error.
//!
//! Tolerances: max pooling's forward and indices are exact (a maximum is one
//! of the inputs); its backward sums at most kh·kw values of dy. Average
//! pooling sums at most 9 values (or a whole 33x33 bin for adaptive pooling)
//! and divides once, so `Tol::FORWARD` / `Tol::BACKWARD` (1e-5 + 1e-4·|want|,
//! 1e-4 + 1e-3·|want|) are about 100x the f32 rounding and far below an
//! indexing or divisor mistake (which moves values by O(1/divisor)).

use shadernet_reference::{
    pool::{self as reference, Pool2dParams},
    rng::Rng,
    tol::{assert_close, Tol},
};
use shadernet_tensor::ops::pool::{self as ops, Pool2dConfig};
use shadernet_tensor::{
    with_stream_reads, without_subgroups, without_texel_operands, DType, Error, StreamReads, Tensor,
};

use crate::common::{device, download, round32, upload, Fixture};

const SHAPES: &[[usize; 4]] = &[
    [1, 1, 1, 1],
    [3, 1, 2, 3],
    [1, 3, 5, 7],
    [3, 5, 7, 5],
    [1, 17, 13, 13],
    [3, 3, 33, 33],
    [1, 5, 13, 33],
    [3, 1, 1, 13],
    [1, 3, 12, 9],
    // Rows of a multiple of 4: the vectorized 2x2 kernels (exact tiling, odd height).
    [3, 5, 8, 12],
    [1, 3, 7, 16],
    // Five 8-column groups with output rows of whole vec4s (backward_cols8 with DY4):
    // stride 2 puts the last group's fifth window past the output (wo 20), stride 1
    // with k 3 reads four vec4s per output row from a shifted start.
    [2, 3, 9, 40],
    // The 3x3 stride-2 padding-1 window on whole vec4 rows (backward_3x3s2): even height
    // here, odd above ([2, 3, 9, 40] and [1, 3, 7, 16]).
    [2, 3, 10, 24],
];

fn params(s: [usize; 4], cfg: &Pool2dConfig) -> Pool2dParams {
    Pool2dParams {
        n: s[0],
        c: s[1],
        h: s[2],
        w: s[3],
        kh: cfg.kernel[0],
        kw: cfg.kernel[1],
        stride_h: cfg.stride[0],
        stride_w: cfg.stride[1],
        pad_h: cfg.padding[0],
        pad_w: cfg.padding[1],
        dilation_h: cfg.dilation[0],
        dilation_w: cfg.dilation[1],
        ceil_mode: cfg.ceil_mode,
    }
}

/// Square windows k 2..3, stride 1..3, padding 0..1, dilation 1..2, both
/// modes, plus rectangular ones that tell the two axes apart.
fn windows(dilations: &[usize]) -> Vec<Pool2dConfig> {
    let mut out = Vec::new();
    for k in [2, 3] {
        for s in [1, 2, 3] {
            for p in [0, 1] {
                for &d in dilations {
                    for ceil in [false, true] {
                        out.push(
                            Pool2dConfig::square(k)
                                .with_stride([s, s])
                                .with_padding([p, p])
                                .with_dilation([d, d])
                                .with_ceil_mode(ceil),
                        );
                    }
                }
            }
        }
    }
    let d2 = *dilations.last().unwrap();
    for ceil in [false, true] {
        out.push(
            Pool2dConfig::new([2, 3])
                .with_stride([1, 2])
                .with_padding([1, 0])
                .with_dilation([d2, 1])
                .with_ceil_mode(ceil),
        );
        out.push(
            Pool2dConfig::new([3, 2])
                .with_stride([3, 1])
                .with_padding([0, 1])
                .with_dilation([1, d2])
                .with_ceil_mode(ceil),
        );
    }
    out
}

fn upload_u32(v: &[usize], shape: &[usize]) -> Tensor {
    let v: Vec<u32> = v
        .iter()
        .map(|&i| u32::try_from(i).unwrap_or(u32::MAX))
        .collect();
    Tensor::from_u32(device(), &v, shape).unwrap()
}

/// Max pooling of `x` against the reference: y and indices exactly, dx within
/// `Tol::BACKWARD`. `x` holds f32-exact values.
fn check_max(s: [usize; 4], cfg: &Pool2dConfig, x: &[f64], rng: &mut Rng) {
    let p = params(s, cfg);
    let ctx = format!("max_pool2d {s:?} {cfg:?}");
    let (want_y, want_i) = reference::max_pool2d(x, &p);
    let (y, idx) = ops::max_pool2d(&upload(x, &s), cfg).unwrap();
    let out_shape = [s[0], s[1], p.h_out(), p.w_out()];
    assert_eq!(y.shape(), out_shape.as_slice(), "{ctx}");
    assert_eq!(idx.dtype(), DType::U32, "{ctx}");
    let got_y = download(&y);
    for (k, (&g, &w)) in got_y.iter().zip(&want_y).enumerate() {
        assert!(
            f64::from(g) == w || (g.is_nan() && w.is_nan()),
            "{ctx}: y[{k}] = {g}, want {w}"
        );
    }
    let got_i = idx.to_vec_u32().unwrap();
    let want_i32: Vec<u32> = want_i
        .iter()
        .map(|&i| u32::try_from(i).unwrap_or(u32::MAX))
        .collect();
    assert_eq!(got_i, want_i32, "{ctx}: indices");
    let dy = round32(&rng.vec_normal(p.y_len()));
    let want_dx = reference::max_pool2d_backward(&dy, &want_i, &p);
    let dx = ops::max_pool2d_backward(&upload(&dy, &out_shape), &idx, &s, cfg).unwrap();
    assert_eq!(dx.shape(), s.as_slice(), "{ctx}");
    let got_dx = download(&dx);
    assert_close(&got_dx, &want_dx, Tol::BACKWARD, &ctx);
    // Exactly the f32 sums in output raster order, as PyTorch's sequential scatter.
    let (plane_in, plane_out) = (p.h * p.w, p.h_out() * p.w_out());
    let mut seq = vec![0.0f32; got_dx.len()];
    for (o, (&g, &i)) in dy.iter().zip(&want_i32).enumerate() {
        if (i as usize) < plane_in {
            seq[o / plane_out * plane_in + i as usize] += g as f32;
        }
    }
    // (f32 equality: exact, with +0 == -0 where nothing was added.)
    assert!(got_dx == seq, "{ctx}: dx is not the raster-order f32 sum");
}

#[test]
#[cfg_attr(skip_gpu_tests, ignore)]
fn max_pool2d_sweep_matches_reference() {
    let mut rng = Rng::new(11);
    let (mut checked, mut refused) = (0, 0);
    for &s in SHAPES {
        for cfg in windows(&[1, 2]) {
            let p = params(s, &cfg);
            let x = round32(&rng.vec_distinct(p.x_len(), 0.01));
            match p.validate() {
                Ok(()) => {
                    // Texel operands where the kernel reads them (storage: the storage
                    // path test below), whatever the device measured faster.
                    with_stream_reads(StreamReads::Texels, || check_max(s, &cfg, &x, &mut rng));
                    checked += 1;
                }
                Err(e) => {
                    // The GPU op refuses exactly what the reference refuses.
                    let r = ops::max_pool2d(&upload(&x, &s), &cfg);
                    assert!(
                        matches!(r, Err(Error::Shape { .. })),
                        "{s:?} {cfg:?}: reference says {e}, GPU gave {r:?}"
                    );
                    refused += 1;
                }
            }
        }
    }
    assert!(
        checked > 350 && refused > 20,
        "{checked} checked, {refused} refused"
    );
}

/// The generic forward reads x as a texel operand where it fits (the sweep above);
/// here the storage-buffer reads, on the same windows for a few shapes; and the
/// four-output column walk without subgroups (`main_cols4`; the sweep runs
/// `main_cols4_sg` where the adapter has subgroups) on every shape whose output
/// rows are whole vec4s.
#[test]
#[cfg_attr(skip_gpu_tests, ignore)]
fn max_pool2d_storage_path_matches_reference() {
    let mut rng = Rng::new(13);
    let mut checked = 0;
    for &s in SHAPES.iter().step_by(3) {
        for cfg in windows(&[1, 2]).into_iter().step_by(5) {
            let p = params(s, &cfg);
            if p.validate().is_err() {
                continue;
            }
            let x = round32(&rng.vec_distinct(p.x_len(), 0.01));
            without_texel_operands(|| check_max(s, &cfg, &x, &mut rng));
            checked += 1;
        }
    }
    assert!(checked > 20, "{checked} checked");
    let mut walked = 0;
    for &s in SHAPES {
        for cfg in windows(&[1]) {
            let p = params(s, &cfg);
            if p.validate().is_err() || !s[3].is_multiple_of(4) || !p.w_out().is_multiple_of(4) {
                continue;
            }
            let x = round32(&rng.vec_distinct(p.x_len(), 0.01));
            without_subgroups(|| check_max(s, &cfg, &x, &mut rng));
            walked += 1;
        }
    }
    assert!(walked > 5, "{walked} column walks checked");
}

#[test]
#[cfg_attr(skip_gpu_tests, ignore)]
fn max_pool2d_ties_nan_and_padding_follow_pytorch() {
    let mut rng = Rng::new(12);
    // Few distinct values: ties everywhere, with overlapping and dilated windows.
    for (s, cfg) in [
        (
            [1, 2, 9, 9],
            Pool2dConfig::square(3)
                .with_stride([1, 1])
                .with_padding([1, 1]),
        ),
        ([3, 3, 8, 8], Pool2dConfig::square(2)),
        (
            [1, 3, 13, 11],
            Pool2dConfig::square(3)
                .with_stride([2, 2])
                .with_padding([1, 1])
                .with_dilation([2, 2])
                .with_ceil_mode(true),
        ),
    ] {
        let n: usize = s.iter().product();
        let x: Vec<f64> = (0..n).map(|_| rng.below(3) as f64 - 1.0).collect();
        check_max(s, &cfg, &x, &mut rng);
    }
    // The explicit tie: [[0, 5], [5, 2]] -> the first 5 in scan order (index 1).
    let cfg = Pool2dConfig::square(2);
    let (y, i) = ops::max_pool2d(&upload(&[0.0, 5.0, 5.0, 2.0], &[1, 1, 2, 2]), &cfg).unwrap();
    assert_eq!(
        (download(&y), i.to_vec_u32().unwrap()),
        (vec![5.0], vec![1])
    );
    // NaN propagates with the index of the last NaN; all -inf keeps the first position;
    // padding never wins over negative values.
    check_max(
        [1, 1, 2, 2],
        &cfg,
        &[1.0, f64::NAN, 3.0, f64::NAN],
        &mut rng,
    );
    check_max([1, 1, 2, 2], &cfg, &[f64::NEG_INFINITY; 4], &mut rng);
    check_max(
        [1, 1, 2, 2],
        &Pool2dConfig::square(2).with_padding([1, 1]),
        &[-5.0, -3.0, -4.0, -6.0],
        &mut rng,
    );
    let x: Vec<f64> = (0..75)
        .map(|i| if i % 7 == 3 { f64::NAN } else { -(i as f64) })
        .collect();
    check_max(
        [1, 3, 5, 5],
        &Pool2dConfig::square(3)
            .with_stride([1, 1])
            .with_padding([1, 1]),
        &x,
        &mut rng,
    );
}

#[test]
#[cfg_attr(skip_gpu_tests, ignore)]
fn avg_pool2d_sweep_matches_reference() {
    let mut rng = Rng::new(13);
    let mut checked = 0usize;
    // Plus 1x1 windows with a stride: strided subsamples (the backward's POINT path);
    // stride 1 on a 1x1 input is the adaptive kernels' rule with a 1x1 output, which
    // must not take the global-pooling kernel's launch.
    let point = [[2, 2], [3, 2], [1, 2], [1, 1]]
        .map(|st| Pool2dConfig::square(1).with_stride(st))
        .into_iter()
        .chain([Pool2dConfig::square(1)
            .with_stride([2, 3])
            .with_ceil_mode(true)]);
    for &s in SHAPES {
        for cfg in windows(&[1]).into_iter().chain(point.clone()) {
            let p = params(s, &cfg);
            if p.validate().is_err() {
                continue;
            }
            let out_shape = [s[0], s[1], p.h_out(), p.w_out()];
            let x = round32(&rng.vec_normal(p.x_len()));
            let dy = round32(&rng.vec_normal(p.y_len()));
            let (xt, dyt) = (upload(&x, &s), upload(&dy, &out_shape));
            for (cip, ovr) in [
                (true, None),
                (false, None),
                (checked.is_multiple_of(2), Some(5)),
            ] {
                let ctx = format!("avg_pool2d {s:?} {cfg:?} cip={cip} ovr={ovr:?}");
                let want = reference::avg_pool2d(&x, &p, cip, ovr);
                let y = ops::avg_pool2d(&xt, &cfg, cip, ovr).unwrap();
                assert_eq!(y.shape(), out_shape.as_slice(), "{ctx}");
                assert_close(&download(&y), &want, Tol::FORWARD, &ctx);
                let want = reference::avg_pool2d_backward(&dy, &p, cip, ovr);
                let dx = ops::avg_pool2d_backward(&dyt, &s, &cfg, cip, ovr).unwrap();
                assert_close(&download(&dx), &want, Tol::BACKWARD, &ctx);
            }
            checked += 1;
        }
    }
    assert!(checked > 150, "{checked} checked");
}

#[test]
#[cfg_attr(skip_gpu_tests, ignore)]
fn adaptive_and_global_avg_pool_match_reference() {
    let mut rng = Rng::new(14);
    for &[n, c, h, w] in SHAPES {
        for (oh, ow) in [(1, 1), (2, 3), (3, 3), (5, 7), (h, w), (h + 2, 1)] {
            let ctx = format!("adaptive_avg_pool2d {:?} -> {oh}x{ow}", [n, c, h, w]);
            let x = round32(&rng.vec_normal(n * c * h * w));
            let dy = round32(&rng.vec_normal(n * c * oh * ow));
            let want = reference::adaptive_avg_pool2d(&x, n, c, h, w, oh, ow);
            let y = ops::adaptive_avg_pool2d(&upload(&x, &[n, c, h, w]), oh, ow).unwrap();
            assert_eq!(y.shape(), [n, c, oh, ow].as_slice(), "{ctx}");
            assert_close(&download(&y), &want, Tol::FORWARD, &ctx);
            let want = reference::adaptive_avg_pool2d_backward(&dy, n, c, h, w, oh, ow);
            let dx =
                ops::adaptive_avg_pool2d_backward(&upload(&dy, &[n, c, oh, ow]), &[n, c, h, w])
                    .unwrap();
            assert_close(&download(&dx), &want, Tol::BACKWARD, &ctx);
        }
        let x = round32(&rng.vec_normal(n * c * h * w));
        let y = ops::global_avg_pool2d(&upload(&x, &[n, c, h, w])).unwrap();
        assert_eq!(y.shape(), [n, c, 1, 1].as_slice());
        assert_eq!(y.flatten().unwrap().shape(), [n, c].as_slice());
        let want = reference::global_avg_pool(&x, n, c, h, w);
        assert_close(&download(&y), &want, Tol::FORWARD, "global_avg_pool2d");
        let dy = round32(&rng.vec_normal(n * c));
        let want = reference::global_avg_pool_backward(&dy, n, c, h, w);
        let dx = ops::global_avg_pool2d_backward(&upload(&dy, &[n, c]), &[n, c, h, w]).unwrap();
        assert_close(
            &download(&dx),
            &want,
            Tol::BACKWARD,
            "global_avg_pool2d_backward",
        );
    }
}

#[test]
#[cfg_attr(skip_gpu_tests, ignore)]
fn split_launches_match_single_launches() {
    // A binding limit of a few planes forces several launches with unaligned
    // window starts; the results must not change.
    let mut rng = Rng::new(15);
    let s = [3, 5, 13, 11];
    let n: usize = s.iter().product();
    let x = upload(&round32(&rng.vec_distinct(n, 0.01)), &s);
    let cfg = Pool2dConfig::square(3)
        .with_stride([2, 2])
        .with_padding([1, 1])
        .with_ceil_mode(true);
    let (ho, wo) = cfg.output_size("test", 13, 11).unwrap();
    let dy = upload(&round32(&rng.vec_normal(15 * ho * wo)), &[3, 5, ho, wo]);
    let run = || {
        let (y, i) = ops::max_pool2d(&x, &cfg).unwrap();
        let dxm = ops::max_pool2d_backward(&dy, &i, &s, &cfg).unwrap();
        let ya = ops::avg_pool2d(&x, &cfg, false, None).unwrap();
        let dxa = ops::avg_pool2d_backward(&dy, &s, &cfg, true, None).unwrap();
        let yd = ops::adaptive_avg_pool2d(&x, 4, 6).unwrap();
        (
            download(&y),
            i.to_vec_u32().unwrap(),
            download(&dxm),
            download(&ya),
            download(&dxa),
            download(&yd),
        )
    };
    let whole = run();
    // The vectorized 2x2 kernels, split the same way.
    let k2 = Pool2dConfig::square(2);
    assert_eq!(k2.kernel_variant(8, 12, true), "2x2_vec4");
    assert_eq!(k2.kernel_variant(7, 16, false), "2x2_vec4");
    assert_eq!(k2.kernel_variant(7, 16, true), "generic");
    assert_eq!(k2.kernel_variant(8, 10, false), "generic");
    let stem = Pool2dConfig::square(3)
        .with_stride([2, 2])
        .with_padding([1, 1]);
    assert_eq!(stem.kernel_variant(112, 112, true), "3x3s2");
    assert_eq!(stem.kernel_variant(9, 40, true), "3x3s2");
    assert_eq!(stem.kernel_variant(9, 40, false), "generic");
    assert_eq!(stem.kernel_variant(10, 12, true), "generic"); // wo = 6
    assert_eq!(
        stem.with_ceil_mode(true).kernel_variant(10, 24, true),
        "generic"
    );
    assert_eq!(
        k2.with_ceil_mode(true).kernel_variant(7, 16, false),
        "generic"
    );
    let x2 = upload(
        &round32(&rng.vec_distinct(3 * 5 * 8 * 12, 0.01)),
        &[3, 5, 8, 12],
    );
    let dy2 = upload(&round32(&rng.vec_normal(3 * 5 * 4 * 6)), &[3, 5, 4, 6]);
    let run2 = || {
        let (y, i) = ops::max_pool2d(&x2, &k2).unwrap();
        let dx = ops::max_pool2d_backward(&dy2, &i, &[3, 5, 8, 12], &k2).unwrap();
        let ya = ops::avg_pool2d(&x2, &k2, true, Some(3)).unwrap();
        let dxa = ops::avg_pool2d_backward(&dy2, &[3, 5, 8, 12], &k2, false, None).unwrap();
        (
            download(&y),
            i.to_vec_u32().unwrap(),
            download(&dx),
            download(&ya),
            download(&dxa),
        )
    };
    let whole2 = run2();
    assert!(ops::with_binding_limit(1000, run2) == whole2, "2x2 split");
    // The stem backward (backward_3x3s2), two planes per launch (960 bytes each).
    let x3 = upload(
        &round32(&rng.vec_distinct(3 * 5 * 10 * 24, 0.01)),
        &[3, 5, 10, 24],
    );
    let dy3 = upload(&round32(&rng.vec_normal(3 * 5 * 5 * 12)), &[3, 5, 5, 12]);
    let run3 = || {
        let (_, i) = ops::max_pool2d(&x3, &stem).unwrap();
        download(&ops::max_pool2d_backward(&dy3, &i, &[3, 5, 10, 24], &stem).unwrap())
    };
    let whole3 = run3();
    assert!(ops::with_binding_limit(2000, run3) == whole3, "3x3s2 split");
    // 13*11*4 = 572 bytes per plane: 1000 bytes holds one plane, 3000 bytes four.
    for limit in [1000, 3000] {
        let split = ops::with_binding_limit(limit, run);
        assert_eq!(split.0, whole.0, "max y, binding limit {limit}");
        assert_eq!(split.1, whole.1, "max indices, binding limit {limit}");
        assert_eq!(split.2, whole.2, "max dx, binding limit {limit}");
        assert_eq!(split.3, whole.3, "avg y, binding limit {limit}");
        assert_eq!(split.4, whole.4, "avg dx, binding limit {limit}");
        assert_eq!(split.5, whole.5, "adaptive y, binding limit {limit}");
    }
    let r = ops::with_binding_limit(256, || ops::max_pool2d(&x, &cfg));
    assert!(matches!(r, Err(Error::Limit { .. })), "{r:?}");
}

#[test]
#[cfg_attr(skip_gpu_tests, ignore)]
fn pytorch_fixture() {
    let fx = Fixture::load("pool");
    let mut seen = [0; 3];
    for case in fx.cases.keys() {
        let op = fx.param(case, "op").as_str().unwrap().to_string();
        let (x, xs) = fx.get(case, "x");
        let (dy, dys) = fx.get(case, "dy");
        let (want_y, _) = fx.get(case, "y");
        let (want_dx, _) = fx.get(case, "dx");
        let s = [xs[0], xs[1], xs[2], xs[3]];
        let pair = |k: &str| {
            let v = fx.param(case, k).as_array().unwrap();
            [
                v[0].as_u64().unwrap() as usize,
                v[1].as_u64().unwrap() as usize,
            ]
        };
        let (xt, dyt) = (upload(&x, &xs), upload(&dy, &dys));
        let ctx = format!("{case} ({op})");
        let (y, dx) = match op.as_str() {
            "max_pool2d" => {
                seen[0] += 1;
                let cfg = Pool2dConfig::new([fx.usize(case, "kh"), fx.usize(case, "kw")])
                    .with_stride(pair("stride"))
                    .with_padding(pair("padding"))
                    .with_dilation(pair("dilation"))
                    .with_ceil_mode(fx.bool(case, "ceil_mode"));
                let (y, idx) = ops::max_pool2d(&xt, &cfg).unwrap();
                let (want_i, _) = fx.get(case, "indices");
                let got_i: Vec<f64> = idx
                    .to_vec_u32()
                    .unwrap()
                    .iter()
                    .map(|&i| f64::from(i))
                    .collect();
                assert_eq!(got_i, want_i, "{ctx}: indices");
                let dx = ops::max_pool2d_backward(&dyt, &idx, &s, &cfg).unwrap();
                (y, dx)
            }
            "avg_pool2d" => {
                seen[1] += 1;
                let cfg = Pool2dConfig::new([fx.usize(case, "kh"), fx.usize(case, "kw")])
                    .with_stride(pair("stride"))
                    .with_padding(pair("padding"))
                    .with_ceil_mode(fx.bool(case, "ceil_mode"));
                let cip = fx.bool(case, "count_include_pad");
                let ovr = fx
                    .param(case, "divisor_override")
                    .as_u64()
                    .map(|d| d as usize);
                let y = ops::avg_pool2d(&xt, &cfg, cip, ovr).unwrap();
                let dx = ops::avg_pool2d_backward(&dyt, &s, &cfg, cip, ovr).unwrap();
                (y, dx)
            }
            "adaptive_avg_pool2d" => {
                seen[2] += 1;
                let (oh, ow) = (fx.usize(case, "out_h"), fx.usize(case, "out_w"));
                let y = ops::adaptive_avg_pool2d(&xt, oh, ow).unwrap();
                let dx = ops::adaptive_avg_pool2d_backward(&dyt, &s).unwrap();
                (y, dx)
            }
            other => panic!("{case}: unknown op {other}"),
        };
        assert_eq!(y.shape(), dys.as_slice(), "{ctx}");
        assert_close(
            &download(&y),
            &want_y,
            fx.tol(case, "y", Tol::FORWARD),
            &ctx,
        );
        assert_close(
            &download(&dx),
            &want_dx,
            fx.tol(case, "dx", Tol::BACKWARD),
            &format!("{ctx} dx"),
        );
    }
    assert!(seen.iter().all(|&k| k >= 5), "cases per op: {seen:?}");
}

/// The message of a shape error (panics on success or another error).
fn shape_message<T: std::fmt::Debug>(r: Result<T, Error>) -> String {
    match r {
        Err(Error::Shape { message, .. }) => message,
        other => panic!("expected a shape error, got {other:?}"),
    }
}

#[test]
#[cfg_attr(skip_gpu_tests, ignore)]
fn bad_inputs_are_typed_errors() {
    let x = upload(&[0.0; 2 * 3 * 5 * 5], &[2, 3, 5, 5]);
    let k3 = Pool2dConfig::square(3);
    // Padding above half the window.
    let m = shape_message(ops::max_pool2d(&x, &k3.with_padding([2, 1])));
    assert!(m.contains("[2, 1]") && m.contains("[3, 3]"), "{m}");
    let m = shape_message(ops::avg_pool2d(
        &x,
        &Pool2dConfig::square(2).with_padding([0, 2]),
        true,
        None,
    ));
    assert!(m.contains("[0, 2]"), "{m}");
    // Zero kernel, stride, dilation.
    for cfg in [
        Pool2dConfig::new([0, 2]),
        k3.with_stride([1, 0]),
        k3.with_dilation([0, 1]),
    ] {
        let m = shape_message(ops::max_pool2d(&x, &cfg));
        assert!(m.contains("nonzero"), "{m}");
    }
    // Output smaller than 1x1: 5x5 input, 3x3 window with dilation 3 (extent 7).
    let m = shape_message(ops::max_pool2d(&x, &k3.with_dilation([3, 3])));
    assert!(
        m.contains("5x5") && m.contains("too small") && m.contains("0x0"),
        "{m}"
    );
    let small = upload(&[0.0; 4], &[1, 1, 2, 2]);
    let m = shape_message(ops::avg_pool2d(&small, &k3, true, None));
    assert!(m.contains("2x2") && m.contains("0x0"), "{m}");
    // Zero-sized and wrong-rank inputs, wrong dtype.
    let empty = Tensor::zeros(device(), &[2, 0, 5, 5], DType::F32).unwrap();
    assert!(shape_message(ops::max_pool2d(&empty, &k3)).contains("zero"));
    let rank3 = upload(&[0.0; 75], &[3, 5, 5]);
    assert!(shape_message(ops::avg_pool2d(&rank3, &k3, true, None)).contains("[3, 5, 5]"));
    let ints = Tensor::from_u32(device(), &[0; 25], &[1, 1, 5, 5]).unwrap();
    assert!(matches!(
        ops::max_pool2d(&ints, &k3),
        Err(Error::DType { .. })
    ));
    // Average pooling: dilation, divisor_override 0.
    let m = shape_message(ops::avg_pool2d(&x, &k3.with_dilation([2, 2]), true, None));
    assert!(m.contains("dilation"), "{m}");
    let m = shape_message(ops::avg_pool2d(&x, &k3, true, Some(0)));
    assert!(m.contains("divisor_override"), "{m}");
    // Adaptive output of zero size.
    let m = shape_message(ops::adaptive_avg_pool2d(&x, 0, 3));
    assert!(m.contains("0x3"), "{m}");
    // Backward: dy / indices of the wrong shape or type.
    let cfg = Pool2dConfig::square(2);
    let (y, idx) = ops::max_pool2d(&x, &cfg).unwrap();
    let wrong = upload(&[0.0; 2 * 3 * 3 * 3], &[2, 3, 3, 3]);
    let m = shape_message(ops::max_pool2d_backward(&wrong, &idx, &[2, 3, 5, 5], &cfg));
    assert!(
        m.contains("[2, 3, 3, 3]") && m.contains("[2, 3, 2, 2]"),
        "{m}"
    );
    assert!(matches!(
        ops::max_pool2d_backward(&y, &y, &[2, 3, 5, 5], &cfg),
        Err(Error::DType { .. })
    ));
    let bad_idx = upload_u32(&[0; 3], &[3]);
    assert!(
        shape_message(ops::max_pool2d_backward(&y, &bad_idx, &[2, 3, 5, 5], &cfg))
            .contains("indices")
    );
    let m = shape_message(ops::avg_pool2d_backward(
        &wrong,
        &[2, 3, 5, 5],
        &cfg,
        true,
        None,
    ));
    assert!(m.contains("[2, 3, 3, 3]"), "{m}");
    let m = shape_message(ops::adaptive_avg_pool2d_backward(&wrong, &[2, 4, 5, 5]));
    assert!(m.contains("[2, 4, 3, 3]"), "{m}");
}
