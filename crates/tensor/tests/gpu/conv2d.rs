//! conv2d forward, dX and dW: every variant against the f64 reference on odd
//! shapes, every variant against the direct kernel, the PyTorch fixture, and the
//! typed errors of bad configurations.
//!
//! Tolerances: inputs are uniform in [-1, 1] (rounded to f32 before the
//! reference sees them), so a sum of L products has magnitude about sqrt(L) and
//! f32 accumulation error about eps·sqrt(L)·(a few). We allow
//! `atol = 2e-5·sqrt(L)`, `rtol = 1e-4`, where L is the reduction length of the
//! pass (c_in/groups·kh·kw for y, c_out/groups·kh·kw for dx, n·h_out·w_out for
//! dw): about 1000× f32's unit roundoff relative to the typical magnitude,
//! and far below any indexing mistake (which moves values by O(1)).

use shadernet_reference::{
    conv2d::{self as reference, Conv2dParams},
    rng::Rng,
    tol::{assert_close, Tol},
};
use shadernet_tensor::ops::conv2d::{
    self as conv, Activation, Conv2dConfig, Conv2dOptions, Conv2dPass, Conv2dVariant, InputGrad,
};
use shadernet_tensor::{Device, Error, Tensor};

use crate::common::{device, download, own_device, round32, upload, Fixture};

/// One convolution problem of the sweep.
#[derive(Clone, Copy, Debug)]
struct Case {
    n: usize,
    c: usize,
    h: usize,
    w: usize,
    k: usize,
    kh: usize,
    kw: usize,
    cfg: Conv2dConfig,
    bias: bool,
}

impl Case {
    fn params(&self) -> Conv2dParams {
        let [pt, pb, pl, pr] = self.cfg.padding;
        Conv2dParams {
            n: self.n,
            c_in: self.c,
            h: self.h,
            w: self.w,
            c_out: self.k,
            kh: self.kh,
            kw: self.kw,
            stride_h: self.cfg.stride[0],
            stride_w: self.cfg.stride[1],
            pad_top: pt,
            pad_bottom: pb,
            pad_left: pl,
            pad_right: pr,
            dilation_h: self.cfg.dilation[0],
            dilation_w: self.cfg.dilation[1],
            groups: self.cfg.groups,
        }
    }
    fn x_shape(&self) -> [usize; 4] {
        [self.n, self.c, self.h, self.w]
    }
    fn w_shape(&self) -> [usize; 4] {
        [self.k, self.c / self.cfg.groups, self.kh, self.kw]
    }
}

/// Random x, w and dY of a case (f32-representable), the f64 reference
/// gradients, and the three uploaded.
struct BackwardProblem {
    p: Conv2dParams,
    x: Vec<f64>,
    w: Vec<f64>,
    want_dx: Vec<f64>,
    want_dw: Vec<f64>,
    xt: Tensor,
    wt: Tensor,
    dyt: Tensor,
}

fn backward_problem(rng: &mut Rng, case: &Case) -> BackwardProblem {
    let p = case.params();
    let x = round32(&rng.vec_uniform(p.x_len(), -1.0, 1.0));
    let w = round32(&rng.vec_uniform(p.w_len(), -1.0, 1.0));
    let dy = round32(&rng.vec_uniform(p.y_len(), -1.0, 1.0));
    let (want_dx, want_dw, _) = reference::conv2d_backward(&x, &w, &dy, &p);
    let ys = [p.n, p.c_out, p.h_out(), p.w_out()];
    BackwardProblem {
        xt: upload(&x, &case.x_shape()),
        wt: upload(&w, &case.w_shape()),
        dyt: upload(&dy, &ys),
        p,
        x,
        w,
        want_dx,
        want_dw,
    }
}

/// `conv2d_keeping_input`, then `conv2d_backward_kept` with dX (plus `acc`, a
/// gradient already accumulated for x, and its values): dX (+ acc) and dW
/// against the reference.
fn check_kept_backward(case: &Case, pr: &BackwardProblem, acc: Option<(&Tensor, &[f64])>) {
    let p = &pr.p;
    let (_, kept) = conv::conv2d_keeping_input(&pr.xt, &pr.wt, None, &case.cfg).unwrap();
    let input_grad = InputGrad::Yes {
        plus: acc.map(|a| a.0),
    };
    let (dx, dw) = conv::conv2d_backward_kept(
        Some(&pr.xt),
        kept.as_ref(),
        &pr.wt,
        &pr.dyt,
        &case.cfg,
        input_grad,
    )
    .unwrap();
    let want_dx: Vec<f64> = match acc {
        Some((_, a)) => pr.want_dx.iter().zip(a).map(|(d, a)| d + a).collect(),
        None => pr.want_dx.clone(),
    };
    let dx = dx.expect("dx asked for");
    let tol_x = tol_for(p.c_out * p.kh * p.kw);
    assert_close(
        &download(&dx),
        &want_dx,
        tol_x,
        &format!("dx (+ acc) {case:?}"),
    );
    let tol_w = tol_for(p.n * p.h_out() * p.w_out());
    assert_close(&download(&dw), &pr.want_dw, tol_w, &format!("dw {case:?}"));
}

fn tol_for(len: usize) -> Tol {
    Tol::new(2e-5 * (len.max(1) as f64).sqrt(), 1e-4)
}

/// Runs forward, dX and dW of `case` with every variant that applies (or only
/// `only`), compares each with the f64 reference, and returns the variants run
/// per pass.
fn check(case: &Case, rng: &mut Rng, only: Option<Conv2dVariant>) -> [Vec<Conv2dVariant>; 3] {
    let p = case.params();
    p.validate().unwrap();
    let (ho, wo) = (p.h_out(), p.w_out());
    let x = round32(&rng.vec_uniform(p.x_len(), -1.0, 1.0));
    let w = round32(&rng.vec_uniform(p.w_len(), -1.0, 1.0));
    let b = round32(&rng.vec_uniform(p.c_out, -1.0, 1.0));
    let dy = round32(&rng.vec_uniform(p.y_len(), -1.0, 1.0));
    let want_y = reference::conv2d(&x, &w, case.bias.then_some(b.as_slice()), &p);
    let (want_dx, want_dw, want_db) = reference::conv2d_backward(&x, &w, &dy, &p);
    let xs = case.x_shape();
    let ws = case.w_shape();
    let ys = [p.n, p.c_out, ho, wo];
    let (xt, wt, bt, dyt) = (
        upload(&x, &xs),
        upload(&w, &ws),
        upload(&b, &[p.c_out]),
        upload(&dy, &ys),
    );
    let cfg = &case.cfg;
    let dev = device();
    let pick = |pass| -> Vec<Conv2dVariant> {
        let all = conv::available_variants(dev, xs, ws, cfg, pass).unwrap();
        assert!(all.contains(&Conv2dVariant::Direct), "{case:?}: {all:?}");
        match only {
            Some(v) => all.into_iter().filter(|&a| a == v).collect(),
            None => all,
        }
    };
    let fwd = pick(Conv2dPass::Forward);
    let dxv = pick(Conv2dPass::BackwardInput);
    let dwv = pick(Conv2dPass::BackwardWeight);
    let ctx = |what: &str, v: Conv2dVariant| format!("{what} {v:?} {case:?}");
    for &v in &fwd {
        let opts = Conv2dOptions {
            variant: Some(v),
            ..Default::default()
        };
        let y = conv::conv2d_with(&xt, &wt, case.bias.then_some(&bt), cfg, &opts).unwrap();
        assert_eq!(y.shape(), &ys);
        assert_close(
            &download(&y),
            &want_y,
            tol_for(p.c_in_per_group() * p.kh * p.kw),
            &ctx("y", v),
        );
    }
    for &v in &dxv {
        let dx = conv::conv2d_backward_input_with(&wt, &dyt, cfg, xs, Some(v)).unwrap();
        assert_eq!(dx.shape(), &xs);
        assert_close(
            &download(&dx),
            &want_dx,
            tol_for(p.c_out_per_group() * p.kh * p.kw),
            &ctx("dx", v),
        );
    }
    for &v in &dwv {
        let dw = conv::conv2d_backward_weight_with(&xt, &dyt, cfg, ws, Some(v)).unwrap();
        assert_eq!(dw.shape(), &ws);
        assert_close(
            &download(&dw),
            &want_dw,
            tol_for(p.n * ho * wo),
            &ctx("dw", v),
        );
    }
    if case.bias {
        let db = conv::conv2d_backward_bias(&dyt).unwrap();
        assert_close(
            &download(&db),
            &want_db,
            tol_for(p.n * ho * wo),
            &format!("db {case:?}"),
        );
    }
    [fwd, dxv, dwv]
}

#[allow(clippy::too_many_arguments)]
fn case(
    n: usize,
    c: usize,
    h: usize,
    w: usize,
    k: usize,
    kh: usize,
    kw: usize,
    cfg: Conv2dConfig,
    bias: bool,
) -> Case {
    Case {
        n,
        c,
        h,
        w,
        k,
        kh,
        kw,
        cfg,
        bias,
    }
}

/// Hand-picked dense (groups = 1) cases: every kernel size, stride 1–4,
/// symmetric and asymmetric padding 0–3, dilation 2, 1×1, tiny and 33×33 inputs.
fn dense_cases() -> Vec<Case> {
    let c = Conv2dConfig::new;
    vec![
        case(1, 1, 1, 1, 1, 1, 1, c(1, 0), true),
        case(3, 3, 5, 7, 5, 3, 3, c(1, 1), true),
        case(1, 5, 13, 13, 7, 3, 3, c(2, 1), false),
        case(3, 17, 7, 5, 3, 1, 1, c(1, 0), true),
        case(1, 17, 13, 13, 33, 1, 1, c(1, 0), false),
        case(3, 5, 13, 11, 3, 1, 1, c(2, 0), true),
        case(1, 3, 33, 33, 8, 7, 7, c(2, 3), true),
        case(1, 3, 33, 33, 5, 11, 11, c(4, 2), true),
        case(3, 5, 9, 11, 7, 5, 5, c(1, 2), false),
        case(1, 17, 13, 13, 5, 5, 5, c(3, 2), true),
        case(1, 3, 2, 3, 4, 3, 3, c(1, 1), true),
        case(
            3,
            1,
            1,
            13,
            2,
            1,
            3,
            c(1, 0).with_padding([0, 0, 1, 1]),
            true,
        ),
        case(1, 5, 4, 4, 3, 5, 5, c(1, 3), false),
        case(1, 3, 13, 13, 4, 3, 3, c(1, 2).with_dilation(2), true),
        case(
            3,
            5,
            13,
            11,
            3,
            3,
            3,
            c(1, 1).with_dilation(2).with_stride([2, 1]),
            false,
        ),
        case(
            1,
            3,
            7,
            7,
            4,
            3,
            3,
            c(2, 0).with_padding([0, 1, 0, 1]),
            true,
        ),
        case(
            3,
            5,
            13,
            9,
            3,
            3,
            3,
            c(2, 0).with_padding([1, 0, 2, 0]),
            true,
        ),
        case(
            1,
            1,
            6,
            5,
            3,
            4,
            4,
            c(1, 0).with_padding([1, 2, 2, 1]),
            false,
        ),
        case(1, 3, 13, 13, 5, 3, 3, Conv2dConfig::same(3, 3, 1), true),
        case(3, 5, 7, 9, 3, 4, 4, Conv2dConfig::same(4, 4, 1), true),
        case(1, 3, 13, 11, 4, 3, 5, Conv2dConfig::same(3, 5, 2), false),
        case(1, 5, 13, 13, 7, 3, 3, c(4, 3).with_stride([4, 3]), true),
        case(3, 17, 33, 33, 17, 3, 3, c(1, 1), true),
        case(1, 17, 13, 13, 65, 3, 3, c(1, 1), false),
        case(
            1,
            3,
            13,
            13,
            3,
            5,
            5,
            c(1, 0).with_dilation_hw([2, 3]),
            true,
        ),
    ]
}

/// Grouped and depthwise cases: groups 2, 3 and 32, depthwise with channel
/// multipliers 1 and 2, strides, dilation, asymmetric padding.
fn grouped_cases() -> Vec<Case> {
    let c = Conv2dConfig::new;
    vec![
        case(1, 4, 9, 9, 6, 3, 3, c(1, 1).with_groups(2), true),
        case(
            3,
            6,
            7,
            13,
            9,
            3,
            3,
            c(1, 1).with_stride([2, 1]).with_groups(3),
            true,
        ),
        case(1, 64, 5, 5, 64, 3, 3, c(1, 1).with_groups(32), true),
        case(3, 64, 3, 3, 64, 1, 1, c(1, 0).with_groups(32), false),
        case(3, 3, 9, 9, 6, 3, 3, c(1, 1).with_groups(3), true),
        case(
            1,
            6,
            13,
            11,
            4,
            5,
            3,
            c(2, 2).with_groups(2).with_dilation(2),
            false,
        ),
        case(3, 96, 7, 7, 96, 3, 3, c(2, 1).with_groups(32), true),
        // depthwise
        case(1, 3, 13, 13, 3, 3, 3, c(1, 1).with_groups(3), true),
        case(3, 17, 13, 13, 17, 3, 3, c(2, 1).with_groups(17), true),
        case(1, 5, 33, 33, 5, 3, 3, c(1, 1).with_groups(5), false),
        case(3, 5, 11, 9, 5, 5, 5, c(1, 2).with_groups(5), true),
        case(1, 32, 7, 7, 32, 3, 3, c(2, 1).with_groups(32), true),
        case(
            1,
            5,
            13,
            13,
            5,
            3,
            3,
            c(1, 2).with_dilation(2).with_groups(5),
            true,
        ),
        case(3, 5, 5, 5, 5, 7, 7, c(1, 3).with_groups(5), true),
        case(
            1,
            1,
            13,
            7,
            1,
            3,
            3,
            c(3, 0).with_padding([2, 0, 1, 3]).with_groups(1),
            true,
        ),
        case(
            1,
            17,
            13,
            7,
            34,
            3,
            3,
            c(1, 1).with_stride([2, 1]).with_groups(17),
            false,
        ),
        case(
            3,
            3,
            12,
            10,
            6,
            4,
            4,
            Conv2dConfig::same(4, 4, 1).with_groups(3),
            true,
        ),
        case(1, 5, 13, 13, 5, 11, 11, c(4, 3).with_groups(5), true),
        // depthwise 3x3 with widths that are multiples of 4 (the vec4-row kernel)
        case(2, 6, 8, 12, 6, 3, 3, c(1, 1).with_groups(6), true),
        case(3, 5, 9, 16, 5, 3, 3, c(2, 1).with_groups(5), true),
        case(
            1,
            4,
            8,
            8,
            4,
            3,
            3,
            c(2, 0).with_padding([1, 0, 1, 0]).with_groups(4),
            false,
        ),
        case(1, 3, 5, 8, 6, 3, 3, c(1, 1).with_groups(3), true),
        case(1, 7, 1, 4, 7, 3, 3, c(1, 1).with_groups(7), true),
        case(1, 4, 20, 8, 4, 3, 3, c(1, 1).with_groups(4), true),
        case(2, 3, 21, 16, 3, 3, 3, c(2, 1).with_groups(3), false),
    ]
}

#[test]
#[cfg_attr(skip_gpu_tests, ignore)]
fn dense_every_variant_matches_reference() {
    let mut rng = Rng::new(101);
    for c in dense_cases() {
        check(&c, &mut rng, None);
    }
}

#[test]
#[cfg_attr(skip_gpu_tests, ignore)]
fn grouped_and_depthwise_every_variant_matches_reference() {
    let mut rng = Rng::new(202);
    for c in grouped_cases() {
        check(&c, &mut rng, None);
    }
}

/// Depthwise 3×3 with padding 1 at the top/left (MobileNetV2's layers), W and OW
/// multiples of 4: the texel kernels of conv2d_depthwise.wgsl, `forward3x3`,
/// `backward_input3x3s2` (dX of stride 2) and `backward_weight3x3` (dW, any multiplier).
/// Odd H, bottom and right padding 0 or 1 (OH and OW from them), several images and
/// channels, row counts that are not multiples of the kernels' 8 rows, multiplier 2.
#[test]
#[cfg_attr(skip_gpu_tests, ignore)]
fn depthwise_3x3_texel_paths_match_reference() {
    let mut rng = Rng::new(407);
    let dw = |c: usize| Conv2dConfig::new(2, 1).with_groups(c);
    let cases = [
        case(2, 5, 8, 8, 5, 3, 3, dw(5), false),
        case(1, 3, 7, 16, 3, 3, 3, dw(3), true),
        case(
            3,
            2,
            13,
            8,
            2,
            3,
            3,
            dw(2).with_padding([1, 0, 1, 1]),
            false,
        ),
        case(
            1,
            7,
            18,
            24,
            7,
            3,
            3,
            dw(7).with_padding([1, 1, 1, 0]),
            false,
        ),
        case(2, 3, 9, 8, 6, 3, 3, dw(3), false),
        case(
            2,
            5,
            9,
            12,
            5,
            3,
            3,
            Conv2dConfig::new(1, 1).with_groups(5),
            true,
        ),
        case(
            1,
            3,
            5,
            8,
            6,
            3,
            3,
            Conv2dConfig::new(1, 1).with_groups(3),
            false,
        ),
    ];
    for case in &cases {
        let [fwd, dx, dw] = check(case, &mut rng, Some(Conv2dVariant::Depthwise));
        assert_eq!(fwd, [Conv2dVariant::Depthwise], "{case:?}");
        assert_eq!(dx, [Conv2dVariant::Depthwise], "{case:?}");
        assert_eq!(dw, [Conv2dVariant::Depthwise], "{case:?}");
    }
}

/// The depthwise 3×3 subgroup entries (`forward3x3_sg`, `backward_input3x3s2_sg`,
/// `backward_weight3x3_sg`: a row's strips in adjacent lanes, neighbouring columns by
/// shuffles) against the reference, and the same cases without subgroups (the texel
/// entries). Rows 1, 2, 4 and 8 lanes wide (4 and 8 columns per lane), odd H and
/// channel counts, row counts that leave the last block short, bottom/right padding 0,
/// multiplier 2, bias. On a device with subgroups, every entry must have run.
#[test]
#[cfg_attr(skip_gpu_tests, ignore)]
fn depthwise_3x3_subgroup_paths_match_reference() {
    let mut rng = Rng::new(409);
    let dw = |s: usize, c: usize| Conv2dConfig::new(s, 1).with_groups(c);
    let cases = [
        case(3, 5, 13, 16, 5, 3, 3, dw(1, 5), true),
        case(1, 3, 6, 4, 3, 3, 3, dw(1, 3), false),
        case(2, 2, 9, 32, 4, 3, 3, dw(1, 2), false),
        case(2, 7, 13, 16, 7, 3, 3, dw(2, 7), true),
        case(3, 1, 6, 8, 1, 3, 3, dw(2, 1), false),
        case(1, 3, 5, 64, 3, 3, 3, dw(2, 3), false),
        case(
            2,
            3,
            13,
            16,
            3,
            3,
            3,
            dw(2, 3).with_padding([1, 0, 1, 0]),
            false,
        ),
        case(1, 4, 35, 8, 4, 3, 3, dw(1, 4), false),
    ];
    for case in &cases {
        for subgroups in [true, false] {
            let mut run = || check(case, &mut rng, Some(Conv2dVariant::Depthwise));
            let ran = if subgroups {
                run()
            } else {
                shadernet_tensor::without_subgroups(run)
            };
            assert_eq!(
                ran,
                [[Conv2dVariant::Depthwise]; 3].map(Vec::from),
                "{case:?}"
            );
        }
    }
    let dev = own_device();
    if !dev.has_subgroups() {
        return;
    }
    dev.start_profiling();
    for case in &cases {
        let p = case.params();
        let x = Tensor::from_f32(&dev, &vec![0.5; p.x_len()], &case.x_shape()).unwrap();
        let w = Tensor::from_f32(&dev, &vec![0.5; p.w_len()], &case.w_shape()).unwrap();
        let y = conv::conv2d(&x, &w, None, &case.cfg).unwrap();
        conv::conv2d_backward_input(&w, &y, &case.cfg, case.x_shape()).unwrap();
        conv::conv2d_backward_weight(&x, &y, &case.cfg, case.w_shape()).unwrap();
    }
    let entries: Vec<&str> = dev
        .stop_profiling()
        .unwrap()
        .dispatches
        .iter()
        .map(|d| d.entry)
        .collect();
    for want in [
        "forward3x3_sg",
        "backward_input3x3s2_sg",
        "backward_weight3x3_sg",
    ] {
        assert!(entries.contains(&want), "{want} never ran: {entries:?}");
    }
}

/// The grouped 3×3 weight gradient (`grouped_backward_weight3x3` in conv2d_depthwise.wgsl: a
/// window of input rows slid down each 4-column strip, blocks of 4 output channels):
/// groups 2, 3 and 32, 1 to 4 input and 1 to 6 output channels per group (blocks that
/// are full and partial), strides 1 and 2, odd H, bottom/right padding 0, several
/// images (and splits). Forward and dX run too; the test asserts the kernel ran.
#[test]
#[cfg_attr(skip_gpu_tests, ignore)]
fn grouped_3x3_weight_gradient_matches_reference() {
    let mut rng = Rng::new(411);
    let grouped = |s: usize, g: usize| Conv2dConfig::new(s, 1).with_groups(g);
    let cases = [
        case(3, 4, 7, 8, 6, 3, 3, grouped(1, 2), false),
        case(2, 6, 9, 12, 15, 3, 3, grouped(1, 3), true),
        case(1, 64, 5, 4, 64, 3, 3, grouped(1, 32), false),
        case(2, 8, 13, 16, 12, 3, 3, grouped(2, 2), false),
        case(
            3,
            6,
            6,
            8,
            9,
            3,
            3,
            grouped(2, 3).with_padding([1, 0, 1, 0]),
            false,
        ),
        case(40, 4, 3, 4, 8, 3, 3, grouped(1, 2), false),
    ];
    for case in &cases {
        let [fwd, dx, dw] = check(case, &mut rng, Some(Conv2dVariant::Grouped));
        assert_eq!((fwd.len(), dx.len(), dw.len()), (1, 1, 1), "{case:?}");
    }
    let dev = own_device();
    dev.start_profiling();
    for case in &cases {
        let p = case.params();
        let x = Tensor::from_f32(&dev, &vec![0.5; p.x_len()], &case.x_shape()).unwrap();
        let dy = Tensor::from_f32(
            &dev,
            &vec![0.5; p.y_len()],
            &[p.n, p.c_out, p.h_out(), p.w_out()],
        )
        .unwrap();
        conv::conv2d_backward_weight(&x, &dy, &case.cfg, case.w_shape()).unwrap();
    }
    let profile = dev.stop_profiling().unwrap();
    let ran = profile
        .dispatches
        .iter()
        .filter(|d| d.kernel == "conv2d_depthwise" && d.entry == "grouped_backward_weight3x3")
        .count();
    assert_eq!(ran, cases.len(), "{:?}", profile.dispatches);
}

/// The grouped 3×3 sliding window (`grouped3x3` in conv2d_depthwise.wgsl: 4 output
/// channels × 4 rows × 4 columns per invocation, vec4 weights): forward at strides 1 and
/// 2 and, as the same kernel over the group-transposed weights, dX at stride 1; dX at
/// stride 2 (`grouped3x3s2_dx`, odd dx sizes included). Groups 2,
/// 4 and 32, 4 to 32 channels per group, heights that leave a partial block of rows (7,
/// 9, 6 → 3 rows at stride 2), bottom/right padding 0, bias; widths multiples of 4 (x a
/// texel operand, and again without texel operands) and not (7, 10 → 5, 14: the
/// ANY_WIDTH form's storage loads and bounded stores; dW's `grouped_backward_weight3x3`
/// in its ANY_WIDTH form too). Checked against the f64 reference; the test
/// asserts which launches ran which kernel.
#[test]
#[cfg_attr(skip_gpu_tests, ignore)]
fn grouped_3x3_window_matches_reference() {
    let mut rng = Rng::new(977);
    let grouped = |s: usize, g: usize| Conv2dConfig::new(s, 1).with_groups(g);
    // (case, the entry its dX runs: the window at stride 1, grouped3x3s2_dx at stride 2)
    let cases = [
        (
            case(2, 16, 7, 8, 16, 3, 3, grouped(1, 2), true),
            "grouped3x3",
        ),
        (
            case(3, 32, 9, 12, 64, 3, 3, grouped(1, 4), false),
            "grouped3x3",
        ),
        (
            case(2, 128, 5, 4, 128, 3, 3, grouped(1, 32), true),
            "grouped3x3",
        ),
        (
            case(2, 16, 9, 16, 32, 3, 3, grouped(2, 4), true),
            "grouped3x3s2_dx",
        ),
        (
            case(
                1,
                8,
                6,
                8,
                8,
                3,
                3,
                grouped(2, 2).with_padding([1, 0, 1, 0]),
                false,
            ),
            "grouped3x3s2_dx",
        ),
        (
            case(2, 16, 7, 7, 16, 3, 3, grouped(1, 2), true),
            "grouped3x3",
        ),
        (
            case(1, 64, 14, 14, 64, 3, 3, grouped(1, 4), false),
            "grouped3x3",
        ),
        (
            case(2, 16, 9, 10, 16, 3, 3, grouped(2, 2), true),
            "grouped3x3s2_dx",
        ),
        (
            case(1, 128, 7, 7, 128, 3, 3, grouped(1, 4), false),
            "grouped3x3",
        ),
        (
            case(3, 8, 13, 11, 16, 3, 3, grouped(2, 2), false),
            "grouped3x3s2_dx",
        ),
    ];
    for (case, _) in &cases {
        let [fwd, dx, dw] = check(case, &mut rng, Some(Conv2dVariant::Grouped));
        assert_eq!((fwd.len(), dx.len(), dw.len()), (1, 1, 1), "{case:?}");
    }
    shadernet_tensor::without_texel_operands(|| {
        for (case, _) in &cases[..5] {
            check(case, &mut rng, Some(Conv2dVariant::Grouped));
        }
    });
    let dev = own_device();
    for (case, dx_entry) in &cases {
        assert_kernels_ran(
            &dev,
            case,
            "conv2d_depthwise/grouped3x3",
            &format!("conv2d_depthwise/{dx_entry}"),
            "conv2d_depthwise/grouped_backward_weight3x3",
        );
    }
}

/// Runs the forward, dX and dW of `case` (all inputs 0.5) and asserts that each pass
/// launched the named kernel: `file/entry`, in any of its source forms, or
/// `file/entry[DEFINE]` for one form.
fn assert_kernels_ran(dev: &Device, case: &Case, fwd: &str, dx: &str, dw: &str) {
    let p = case.params();
    let x = Tensor::from_f32(dev, &vec![0.5; p.x_len()], &case.x_shape()).unwrap();
    let w = Tensor::from_f32(dev, &vec![0.5; p.w_len()], &case.w_shape()).unwrap();
    let profiled = |run: &dyn Fn() -> Tensor| {
        dev.start_profiling();
        let out = run();
        (out, dev.stop_profiling().unwrap().dispatches)
    };
    let (y, fwd_ran) = profiled(&|| conv::conv2d(&x, &w, None, &case.cfg).unwrap());
    let (_, dx_ran) =
        profiled(&|| conv::conv2d_backward_input(&w, &y, &case.cfg, case.x_shape()).unwrap());
    let (_, dw_ran) =
        profiled(&|| conv::conv2d_backward_weight(&x, &y, &case.cfg, case.w_shape()).unwrap());
    for (want, ran) in [(fwd, &fwd_ran), (dx, &dx_ran), (dw, &dw_ran)] {
        let found = ran.iter().any(|d| {
            let base = d.label.split('{').next().unwrap_or_default();
            base == want || base.starts_with(&format!("{want}["))
        });
        assert!(found, "{case:?}: {want} did not run: {ran:?}");
    }
}

/// The depthwise 3×3 window at widths that are not multiples of 4 (`forward3x3`'s
/// ANY_WIDTH form: storage rows, bounded loads and stores; MobileNetV2's 14×14 and 7×7
/// stages): strides 1 and 2, widths 7, 13, 14 and 5, odd heights, multiplier 2, bias,
/// bottom/right padding 0. Forward and dX (multiplier 1: the same kernel rotated at
/// stride 1, `backward_input3x3s2`'s ANY_WIDTH form at stride 2) against the f64
/// reference; the test asserts which kernels ran.
#[test]
#[cfg_attr(skip_gpu_tests, ignore)]
fn depthwise_3x3_any_width_matches_reference() {
    let mut rng = Rng::new(5151);
    let dw = |s: usize, c: usize| Conv2dConfig::new(s, 1).with_groups(c);
    // (case, the kernel its dX runs: the window rotated at stride 1, backward_input3x3s2
    // at stride 2, the generic kernel for multiplier 2)
    let cases = [
        (
            case(2, 5, 7, 7, 5, 3, 3, dw(1, 5), true),
            "forward3x3[ANY_WIDTH]",
        ),
        (
            case(1, 3, 13, 14, 3, 3, 3, dw(1, 3), false),
            "forward3x3[ANY_WIDTH]",
        ),
        (case(2, 4, 9, 13, 8, 3, 3, dw(1, 4), true), "backward_input"),
        (
            case(3, 6, 14, 14, 6, 3, 3, dw(2, 6), true),
            "backward_input3x3s2[ANY_WIDTH]",
        ),
        (
            case(
                1,
                5,
                11,
                5,
                5,
                3,
                3,
                dw(2, 5).with_padding([1, 0, 1, 0]),
                false,
            ),
            "backward_input3x3s2[ANY_WIDTH]",
        ),
    ];
    for (case, _) in &cases {
        let [fwd, dx, dw] = check(case, &mut rng, Some(Conv2dVariant::Depthwise));
        assert_eq!((fwd.len(), dx.len(), dw.len()), (1, 1, 1), "{case:?}");
    }
    let dev = own_device();
    for (case, dx_kernel) in &cases {
        assert_kernels_ran(
            &dev,
            case,
            "conv2d_depthwise/forward3x3[ANY_WIDTH]",
            &format!("conv2d_depthwise/{dx_kernel}"),
            "conv2d_depthwise/grouped_backward_weight3x3[ANY_WIDTH]",
        );
    }
}

/// Runs `cases` with the implicit GEMM forced and checks that the forward and dX ran it.
fn check_igemm(cases: &[Case], rng: &mut Rng) {
    for case in cases {
        let [fwd, dx, _] = check(case, rng, Some(Conv2dVariant::Igemm));
        assert_eq!(fwd, [Conv2dVariant::Igemm], "{case:?}");
        assert_eq!(dx, [Conv2dVariant::Igemm], "{case:?}");
    }
}

/// 1×1 convolutions whose OIHW weights already are the implicit GEMM's weight layout
/// (input channels a multiple of 4, output channels a multiple of the tile: 16, 32, 64)
/// bind them as they are: forward and dX against the reference, stride 1 and 2, bias;
/// the forward must not run `weight_to_krsc`, while 1×1 layers with 6 input or 20
/// output channels (a padded layout) still must.
#[test]
#[cfg_attr(skip_gpu_tests, ignore)]
fn pointwise_weights_bound_as_they_are() {
    let mut rng = Rng::new(808);
    let c = Conv2dConfig::new;
    // (case, whether its forward needs the layout pass)
    let cases = [
        (case(2, 8, 5, 7, 16, 1, 1, c(1, 0), true), false),
        (case(1, 12, 6, 6, 32, 1, 1, c(2, 0), false), false),
        (case(3, 4, 3, 5, 64, 1, 1, c(1, 0), true), false),
        (case(2, 6, 5, 7, 16, 1, 1, c(1, 0), false), true),
        (case(2, 8, 5, 7, 20, 1, 1, c(1, 0), true), true),
    ];
    let only: Vec<Case> = cases.iter().map(|(case, _)| *case).collect();
    check_igemm(&only, &mut rng);
    let dev = own_device();
    for (case, converts) in &cases {
        let p = case.params();
        let x = Tensor::from_f32(&dev, &vec![0.5; p.x_len()], &case.x_shape()).unwrap();
        let w = Tensor::from_f32(&dev, &vec![0.5; p.w_len()], &case.w_shape()).unwrap();
        let opts = Conv2dOptions {
            variant: Some(Conv2dVariant::Igemm),
            ..Default::default()
        };
        dev.start_profiling();
        conv::conv2d_with(&x, &w, None, &case.cfg, &opts).unwrap();
        let ran = dev.stop_profiling().unwrap().dispatches;
        let layout = ran.iter().any(|d| d.entry == "weight_to_krsc");
        assert_eq!(layout, *converts, "{case:?}: {ran:?}");
    }
}

/// The subgroup kernel's forward tiles (16 × 8 for at most 16 output channels, 32 × 8
/// above), for the forward pass and dX: channel counts that fill a block exactly, leave
/// it partial or span several blocks (13, 16, 20, 40, 70), output rows that are and are
/// not multiples of a lane's 8 pixels, partial subgroups, stride and dilation along H,
/// asymmetric padding and the dX of a stride-2 layer.
#[test]
#[cfg_attr(skip_gpu_tests, ignore)]
fn forward_tiles_match_reference() {
    let mut rng = Rng::new(404);
    let c = Conv2dConfig::new;
    let cases = [
        case(2, 5, 6, 32, 16, 3, 3, c(1, 1), true),
        case(1, 3, 7, 32, 13, 3, 3, c(1, 1).with_stride([2, 1]), false),
        case(1, 5, 9, 34, 9, 3, 3, c(1, 0).with_dilation_hw([2, 1]), true),
        // dX of a stride-2 layer (a zero-inserted dY).
        case(1, 6, 8, 32, 12, 3, 3, c(2, 1), false),
        case(3, 17, 5, 16, 20, 3, 3, c(1, 1), true),
        case(2, 17, 8, 8, 70, 3, 3, c(1, 1), true),
        case(
            1,
            9,
            5,
            10,
            40,
            3,
            3,
            c(1, 0).with_padding([1, 1, 0, 0]),
            false,
        ),
    ];
    check_igemm(&cases, &mut rng);
}

/// The four-column layout pass (`to_padded_nhwc4`, source width % 4 == 0): every offset
/// of the source's aligned vec4 columns against the dst columns (padding 0..3 forward,
/// kernel - 1 - padding for dX, negative where dX crops), rows upsampled for the dX of a stride along H, partial
/// channel blocks, several images, planes of several row blocks with a short last one
/// (H 19 and 21 against 8 rows per invocation); its UPS_W2 form for the dX of a stride of 2 along W
/// (stride 3 beside it takes the per-texel entry).
#[test]
#[cfg_attr(skip_gpu_tests, ignore)]
fn four_column_layout_path_matches_reference() {
    let mut rng = Rng::new(405);
    let c = Conv2dConfig::new;
    let cases = [
        case(2, 5, 5, 8, 7, 3, 3, c(1, 0), true),
        case(3, 3, 6, 12, 5, 3, 3, c(1, 1), false),
        case(1, 4, 5, 8, 6, 5, 5, c(1, 2), true),
        case(1, 17, 4, 16, 5, 7, 7, c(1, 3), false),
        case(2, 3, 5, 8, 4, 5, 5, c(1, 0), false),
        case(1, 3, 5, 8, 5, 3, 3, c(1, 3), true),
        case(2, 6, 7, 8, 5, 3, 3, c(1, 1).with_stride([2, 1]), false),
        case(2, 5, 19, 8, 6, 3, 3, c(1, 1), true),
        case(1, 3, 21, 12, 5, 3, 3, c(1, 2).with_stride([2, 1]), false),
        // dX of a stride along W (columns upsampled, any source width): the first source
        // column at an even and an odd dst column, cropped (padding beyond the kernel's
        // reach), the source width not a multiple of 4, a 1x1 layer.
        case(2, 5, 8, 8, 6, 3, 3, c(2, 1), false),
        case(1, 3, 7, 9, 5, 3, 3, c(2, 0), false),
        case(1, 4, 6, 11, 7, 5, 5, c(1, 2).with_stride([1, 2]), true),
        case(2, 5, 5, 10, 3, 3, 3, c(1, 3).with_stride([1, 2]), false),
        case(1, 6, 6, 14, 9, 1, 1, c(2, 0), false),
        case(1, 3, 5, 12, 4, 3, 3, c(1, 1).with_stride([1, 3]), false),
    ];
    check_igemm(&cases, &mut rng);
}

#[test]
#[cfg_attr(skip_gpu_tests, ignore)]
fn portable_gradients_from_kept_operands_match_reference() {
    // Without texel operands the implicit GEMMs run their portable kernels; dW there must
    // not read dX's padded dY as if it were a plain NHWC copy (it ignores the layout).
    let mut rng = Rng::new(611);
    let c = Conv2dConfig::new;
    let cases = [
        case(2, 5, 7, 9, 64, 3, 3, c(1, 1), false),
        case(2, 6, 8, 8, 64, 3, 3, c(2, 1), false),
    ];
    let dev = device();
    for case in &cases {
        let problem = backward_problem(&mut rng, case);
        shadernet_tensor::without_texel_operands(|| {
            let pass = Conv2dPass::BackwardWeight;
            let v = conv::conv2d_variant(dev, case.x_shape(), case.w_shape(), &case.cfg, pass);
            assert_eq!(v.unwrap(), Conv2dVariant::IgemmPortable, "{case:?}");
            check_kept_backward(case, &problem, None);
        });
    }
}

#[test]
#[cfg_attr(skip_gpu_tests, ignore)]
fn strided_3x3_dx_by_phases_matches_reference() {
    // dX of 3x3 stride-2 padding-1 layers (H even, W % 4 == 0) runs as four stride-1
    // convolutions of dY, one per output phase, interleaved into dX (plus an accumulated
    // gradient); dW then reads the phases' dY layout (K a multiple of 16). Odd channel
    // counts, the smallest sizes, N = 1 and 3, against the f64 reference and the direct
    // kernel; W = 6 takes the zero-inserted path instead.
    let mut rng = Rng::new(517);
    let cfg = Conv2dConfig::new(2, 1);
    let cases = [
        case(1, 3, 2, 4, 5, 3, 3, cfg, false),
        case(3, 5, 6, 8, 7, 3, 3, cfg, false),
        case(2, 16, 14, 12, 33, 3, 3, cfg, false),
        case(1, 17, 8, 16, 32, 3, 3, cfg, false),
        case(2, 5, 6, 8, 16, 3, 3, cfg, false),
        case(1, 8, 4, 8, 64, 3, 3, cfg, false),
        case(2, 5, 6, 6, 7, 3, 3, cfg, false),
    ];
    let dev = device();
    for case in &cases {
        let problem = backward_problem(&mut rng, case);
        let BackwardProblem {
            p,
            want_dx,
            wt,
            dyt,
            ..
        } = &problem;
        let tol = tol_for(p.c_out * p.kh * p.kw);
        let direct = conv::conv2d_backward_input_with(
            wt,
            dyt,
            &case.cfg,
            case.x_shape(),
            Some(Conv2dVariant::Direct),
        )
        .unwrap();
        let direct: Vec<f64> = download(&direct).into_iter().map(f64::from).collect();
        let variants = conv::available_variants(
            dev,
            case.x_shape(),
            case.w_shape(),
            &case.cfg,
            Conv2dPass::BackwardInput,
        )
        .unwrap();
        for v in variants {
            let dx = conv::conv2d_backward_input_with(wt, dyt, &case.cfg, case.x_shape(), Some(v))
                .unwrap();
            let got = download(&dx);
            assert_close(&got, want_dx, tol, &format!("dx {v:?} {case:?}"));
            assert_close(&got, &direct, tol, &format!("dx {v:?} vs direct {case:?}"));
        }
        let acc = round32(&rng.vec_uniform(want_dx.len(), -1.0, 1.0));
        let plus = upload(&acc, &case.x_shape());
        check_kept_backward(case, &problem, Some((&plus, &acc)));
    }
}

/// dX and dW from what the forward pass kept (`conv2d_keeping_input`) and, with
/// dX, from dX's padded dY (`conv2d_backward_kept`) equal the reference: stride 1
/// and 2, channel counts that fill the dW block (dY reused) and that do not, a
/// 1x1 layer; a kept input of another geometry is not used.
#[test]
#[cfg_attr(skip_gpu_tests, ignore)]
fn gradients_from_kept_operands_match_reference() {
    let mut rng = Rng::new(406);
    let c = Conv2dConfig::new;
    let cases = [
        case(2, 5, 7, 9, 6, 3, 3, c(1, 1), true),
        case(3, 17, 8, 8, 20, 3, 3, c(2, 1), false),
        case(1, 4, 6, 10, 9, 1, 1, c(1, 0), false),
        case(2, 5, 7, 9, 16, 3, 3, c(1, 1), false),
        case(2, 6, 9, 8, 32, 3, 3, c(2, 1), false),
        case(1, 3, 6, 7, 16, 1, 1, c(2, 0), false),
        case(1, 9, 6, 6, 64, 3, 3, c(1, 1).with_dilation(2), false),
    ];
    let dev = device();
    for case in &cases {
        let BackwardProblem {
            p,
            x,
            w,
            want_dx,
            want_dw,
            xt,
            wt,
            dyt,
        } = backward_problem(&mut rng, case);
        let ys = [p.n, p.c_out, p.h_out(), p.w_out()];
        let (y, kept) = conv::conv2d_keeping_input(&xt, &wt, None, &case.cfg).unwrap();
        assert_eq!(y.shape(), &ys);
        let fwd = conv::conv2d_variant(
            dev,
            case.x_shape(),
            case.w_shape(),
            &case.cfg,
            Conv2dPass::Forward,
        )
        .unwrap();
        // The forward keeps its input exactly when it ran an implicit GEMM.
        let igemm = matches!(fwd, Conv2dVariant::Igemm | Conv2dVariant::IgemmPortable);
        assert_eq!(kept.is_some(), igemm, "{case:?}: {fwd:?}");
        let tol = tol_for(p.n * p.h_out() * p.w_out());
        // Without dX, with it (whose padded dY dW then reads), and with it added to
        // an already accumulated gradient (the store's residual add).
        let acc = round32(&rng.vec_uniform(want_dx.len(), -1.0, 1.0));
        let acc_t = upload(&acc, &case.x_shape());
        let want_sum: Vec<f64> = want_dx.iter().zip(&acc).map(|(d, a)| d + a).collect();
        let modes = [
            (InputGrad::No, None),
            (InputGrad::Yes { plus: None }, Some(&want_dx)),
            (InputGrad::Yes { plus: Some(&acc_t) }, Some(&want_sum)),
        ];
        for (input_grad, want) in modes {
            let (dx, dw) = conv::conv2d_backward_kept(
                Some(&xt),
                kept.as_ref(),
                &wt,
                &dyt,
                &case.cfg,
                input_grad,
            )
            .unwrap();
            let ctx = format!("kept, {input_grad:?}, {case:?}");
            assert_close(&download(&dw), &want_dw, tol, &format!("dw {ctx}"));
            assert_eq!(dx.is_some(), want.is_some(), "{ctx}");
            if let (Some(dx), Some(want)) = (dx, want) {
                let l = p.c_out_per_group() * p.kh * p.kw;
                assert_close(&download(&dx), want, tol_for(l), &format!("dx {ctx}"));
            }
        }
        // The same input with another padding: the kept layout does not apply.
        let other = case.cfg.with_padding([0, 0, 0, 0]);
        let po = Case {
            cfg: other,
            ..*case
        }
        .params();
        let dyo = round32(&rng.vec_uniform(po.y_len(), -1.0, 1.0));
        let (_, want_o, _) = reference::conv2d_backward(&x, &w, &dyo, &po);
        let dyo_t = upload(&dyo, &[po.n, po.c_out, po.h_out(), po.w_out()]);
        let yes = InputGrad::Yes { plus: None };
        let (_, dw_o) =
            conv::conv2d_backward_kept(Some(&xt), kept.as_ref(), &wt, &dyo_t, &other, yes).unwrap();
        assert_close(
            &download(&dw_o),
            &want_o,
            tol_for(po.n * po.h_out() * po.w_out()),
            &format!("dw other padding {case:?}"),
        );
    }
}

/// A random sweep over the whole configuration space.
#[test]
#[cfg_attr(skip_gpu_tests, ignore)]
fn random_sweep_matches_reference() {
    let mut rng = Rng::new(303);
    let chans = [1, 3, 5, 17];
    let sizes = [1, 2, 3, 5, 7, 9, 13, 33];
    let ks = [1, 3, 5, 7];
    let mut done = 0;
    while done < 40 {
        let groups = [1, 1, 1, 2, 3][rng.below(5)];
        let c = chans[rng.below(4)] * groups;
        let depthwise = rng.below(4) == 0;
        let (groups, k) = if depthwise {
            (c, c * (1 + rng.below(2)))
        } else {
            (groups, chans[rng.below(4)] * groups)
        };
        let (h, w) = (sizes[rng.below(8)], sizes[rng.below(8)]);
        let (kh, kw) = (ks[rng.below(4)], ks[rng.below(4)]);
        let pad = [rng.below(4), rng.below(4), rng.below(4), rng.below(4)];
        let dil = [
            1 + usize::from(rng.below(4) == 0),
            1 + usize::from(rng.below(4) == 0),
        ];
        let cfg = Conv2dConfig::new(1, 0)
            .with_stride([1 + rng.below(4), 1 + rng.below(4)])
            .with_padding(pad)
            .with_dilation_hw(dil)
            .with_groups(groups);
        let cs = case(
            [1, 3][rng.below(2)],
            c,
            h,
            w,
            k,
            kh,
            kw,
            cfg,
            rng.below(2) == 0,
        );
        if cs.params().validate().is_err() {
            continue;
        }
        check(&cs, &mut rng, None);
        done += 1;
    }
}

/// The automatic choice takes the fast variant the shape calls for, and every
/// variant it can take was cross-checked above.
#[test]
#[cfg_attr(skip_gpu_tests, ignore)]
fn automatic_choice_takes_the_specialized_variant() {
    let dev = device();
    let dense = if dev.has_subgroups()
        && dev.adapter().subgroup_min_size == dev.adapter().subgroup_max_size
    {
        Conv2dVariant::Igemm
    } else {
        Conv2dVariant::IgemmPortable
    };
    let cfg = Conv2dConfig::new(1, 1);
    for pass in [
        Conv2dPass::Forward,
        Conv2dPass::BackwardInput,
        Conv2dPass::BackwardWeight,
    ] {
        let pick = |x, w, cfg: &Conv2dConfig| conv::conv2d_variant(dev, x, w, cfg, pass).unwrap();
        assert_eq!(pick([2, 16, 8, 8], [16, 16, 3, 3], &cfg), dense, "{pass:?}");
        assert_eq!(
            pick([2, 16, 8, 8], [16, 1, 3, 3], &cfg.with_groups(16)),
            Conv2dVariant::Depthwise,
            "{pass:?}"
        );
        assert_eq!(
            pick([2, 16, 8, 8], [32, 1, 3, 3], &cfg.with_groups(16)),
            Conv2dVariant::Depthwise,
            "{pass:?}"
        );
        assert_eq!(
            pick([2, 64, 8, 8], [64, 2, 3, 3], &cfg.with_groups(32)),
            Conv2dVariant::Grouped,
            "{pass:?}"
        );
    }
}

/// Each specialized variant, forced, on a shape of its own (so a variant that
/// silently fell back would still be caught by `available_variants`).
#[test]
#[cfg_attr(skip_gpu_tests, ignore)]
fn forced_variants_run_or_refuse() {
    let dev = device();
    let mut rng = Rng::new(404);
    let dense = case(3, 5, 13, 11, 7, 3, 3, Conv2dConfig::new(1, 1), true);
    let dw = case(
        3,
        17,
        13,
        13,
        17,
        3,
        3,
        Conv2dConfig::new(2, 1).with_groups(17),
        true,
    );
    let grouped = case(
        1,
        64,
        7,
        5,
        64,
        3,
        3,
        Conv2dConfig::new(1, 1).with_groups(32),
        true,
    );
    for (cs, v) in [
        (dense, Conv2dVariant::IgemmPortable),
        (dw, Conv2dVariant::Depthwise),
        (grouped, Conv2dVariant::Grouped),
    ] {
        let ran = check(&cs, &mut rng, Some(v));
        for pass in ran {
            assert_eq!(pass, vec![v], "{cs:?}");
        }
    }
    // Igemm and Depthwise refuse grouped shapes with an error naming the variant.
    let x = Tensor::zeros(dev, &[1, 64, 5, 5], shadernet_tensor::DType::F32).unwrap();
    let w = Tensor::zeros(dev, &[64, 2, 3, 3], shadernet_tensor::DType::F32).unwrap();
    for v in [
        Conv2dVariant::Igemm,
        Conv2dVariant::IgemmPortable,
        Conv2dVariant::Depthwise,
    ] {
        let opts = Conv2dOptions {
            variant: Some(v),
            ..Default::default()
        };
        let e = conv::conv2d_with(
            &x,
            &w,
            None,
            &Conv2dConfig::new(1, 1).with_groups(32),
            &opts,
        )
        .unwrap_err();
        assert!(e.to_string().contains(v.name()), "{e}");
    }
}

/// The autotuner picks a variant that applies, writes its choice to the cache
/// file, and reads the same choice back; its tuned plan computes the right thing.
#[test]
#[cfg_attr(skip_gpu_tests, ignore)]
fn autotuner_picks_checks_and_caches() {
    // The device first: Mesa reads XDG_CACHE_HOME for its shader cache when it opens.
    let dev = device();
    let dir = std::env::temp_dir().join(format!("shadernet-autotune-{}", std::process::id()));
    std::env::set_var("XDG_CACHE_HOME", &dir);
    let cs = case(2, 5, 9, 12, 6, 3, 3, Conv2dConfig::new(1, 1), false);
    let mut rng = Rng::new(606);
    for pass in [
        Conv2dPass::Forward,
        Conv2dPass::BackwardInput,
        Conv2dPass::BackwardWeight,
    ] {
        let (v, kb) = conv::autotune(dev, cs.x_shape(), cs.w_shape(), &cs.cfg, pass).unwrap();
        let all = conv::available_variants(dev, cs.x_shape(), cs.w_shape(), &cs.cfg, pass).unwrap();
        assert!(all.contains(&v), "{pass:?}: {v:?} not in {all:?}");
        assert!([0, 16, 32, 64].contains(&kb), "{kb}");
        // Cached: the same answer again, without tuning.
        let again = conv::autotune(dev, cs.x_shape(), cs.w_shape(), &cs.cfg, pass).unwrap();
        assert_eq!(again, (v, kb), "{pass:?}");
    }
    let file = conv::autotune_cache_file().unwrap();
    assert!(file.starts_with(&dir), "{file:?}");
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(text.contains("BackwardWeight|n2 c5 h9 w12 k6"), "{text}");
    // The automatic choice with autotuning on follows the cache and stays exact.
    let p = cs.params();
    let x = round32(&rng.vec_uniform(p.x_len(), -1.0, 1.0));
    let w = round32(&rng.vec_uniform(p.w_len(), -1.0, 1.0));
    let dy = round32(&rng.vec_uniform(p.y_len(), -1.0, 1.0));
    let ys = [p.n, p.c_out, p.h_out(), p.w_out()];
    let (xt, wt, dyt) = (
        upload(&x, &cs.x_shape()),
        upload(&w, &cs.w_shape()),
        upload(&dy, &ys),
    );
    let (want_dx, want_dw, _) = reference::conv2d_backward(&x, &w, &dy, &p);
    conv::set_autotune(true);
    let y = conv::conv2d(&xt, &wt, None, &cs.cfg);
    let dx = conv::conv2d_backward_input(&wt, &dyt, &cs.cfg, cs.x_shape());
    let dw = conv::conv2d_backward_weight(&xt, &dyt, &cs.cfg, cs.w_shape());
    conv::set_autotune(false);
    assert_close(
        &download(&y.unwrap()),
        &reference::conv2d(&x, &w, None, &p),
        tol_for(45),
        "autotuned y",
    );
    assert_close(
        &download(&dx.unwrap()),
        &want_dx,
        tol_for(54),
        "autotuned dx",
    );
    assert_close(
        &download(&dw.unwrap()),
        &want_dw,
        tol_for(2 * 9 * 12),
        "autotuned dw",
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// The fused epilogue `act(conv + bias) + residual` of every forward variant.
#[test]
#[cfg_attr(skip_gpu_tests, ignore)]
fn fused_epilogue_matches_reference() {
    let dev = device();
    let mut rng = Rng::new(505);
    for cs in [
        case(3, 5, 9, 7, 6, 3, 3, Conv2dConfig::new(1, 1), true),
        case(
            1,
            6,
            9,
            7,
            6,
            3,
            3,
            Conv2dConfig::new(2, 1).with_groups(6),
            true,
        ),
        case(
            1,
            6,
            9,
            7,
            6,
            3,
            3,
            Conv2dConfig::new(1, 1).with_groups(2),
            false,
        ),
    ] {
        let p = cs.params();
        let x = round32(&rng.vec_uniform(p.x_len(), -1.0, 1.0));
        let w = round32(&rng.vec_uniform(p.w_len(), -1.0, 1.0));
        let b = round32(&rng.vec_uniform(p.c_out, -1.0, 1.0));
        let res = round32(&rng.vec_uniform(p.y_len(), -1.0, 1.0));
        let ys = [p.n, p.c_out, p.h_out(), p.w_out()];
        let plain = reference::conv2d(&x, &w, cs.bias.then_some(b.as_slice()), &p);
        let (xt, wt, bt, rt) = (
            upload(&x, &cs.x_shape()),
            upload(&w, &cs.w_shape()),
            upload(&b, &[p.c_out]),
            upload(&res, &ys),
        );
        let variants = conv::available_variants(
            dev,
            cs.x_shape(),
            cs.w_shape(),
            &cs.cfg,
            Conv2dPass::Forward,
        )
        .unwrap();
        for v in variants {
            for (act, f) in [
                (Activation::Relu, (|v: f64| v.max(0.0)) as fn(f64) -> f64),
                (Activation::Relu6, |v: f64| v.clamp(0.0, 6.0)),
                (Activation::None, |v: f64| v),
            ] {
                for with_res in [false, true] {
                    let want: Vec<f64> = plain
                        .iter()
                        .zip(&res)
                        .map(|(&y, &r)| f(y) + if with_res { r } else { 0.0 })
                        .collect();
                    let opts = Conv2dOptions {
                        variant: Some(v),
                        activation: act,
                        residual: with_res.then_some(&rt),
                    };
                    let y = conv::conv2d_with(&xt, &wt, cs.bias.then_some(&bt), &cs.cfg, &opts)
                        .unwrap();
                    assert_close(
                        &download(&y),
                        &want,
                        tol_for(p.c_in_per_group() * 9),
                        &format!("epilogue {v:?} {act:?} res={with_res} {cs:?}"),
                    );
                }
            }
        }
    }
}

/// PyTorch's own conv2d on the fixture cases (scripts/make_fixtures.py):
/// forward, dx, dw and db of every variant that applies. Tolerance per output:
/// `Fixture::tol`, i.e. 4× PyTorch's own f32-vs-f64 spread relative to the
/// largest magnitude, never tighter than the sweep's defaults (atol 1e-5 forward,
/// 1e-4 backward, rtol 1e-4).
#[test]
#[cfg_attr(skip_gpu_tests, ignore)]
fn pytorch_fixture() {
    let fx = Fixture::load("conv2d");
    assert!(fx.cases.len() >= 30, "expected the conv2d fixture cases");
    let dev = device();
    for case in fx.cases.keys() {
        let pair = |key: &str| -> [usize; 2] {
            let v = fx.param(case, key).as_array().unwrap();
            [
                v[0].as_u64().unwrap() as usize,
                v[1].as_u64().unwrap() as usize,
            ]
        };
        let pad = fx.param(case, "padding").as_array().unwrap();
        let padding = [0, 1, 2, 3].map(|i| pad[i].as_u64().unwrap() as usize);
        let cfg = Conv2dConfig {
            stride: pair("stride"),
            padding,
            dilation: pair("dilation"),
            groups: fx.usize(case, "groups"),
        };
        let (x, xs) = fx.get(case, "x");
        let (w, ws) = fx.get(case, "w");
        let (dy, ys) = fx.get(case, "dy");
        let xs4 = [xs[0], xs[1], xs[2], xs[3]];
        let ws4 = [ws[0], ws[1], ws[2], ws[3]];
        let (xt, wt, dyt) = (upload(&x, &xs), upload(&w, &ws), upload(&dy, &ys));
        let bias = fx.bool(case, "bias").then(|| {
            let (b, bs) = fx.get(case, "b");
            upload(&b, &bs)
        });
        assert_eq!(
            cfg.output_size(xs4, ws4).unwrap().to_vec(),
            ys,
            "{case}: output size"
        );
        let fwd_tol = fx.tol(case, "y", Tol::new(1e-5, 1e-4));
        let (want_y, _) = fx.get(case, "y");
        for v in conv::available_variants(dev, xs4, ws4, &cfg, Conv2dPass::Forward).unwrap() {
            let opts = Conv2dOptions {
                variant: Some(v),
                ..Default::default()
            };
            let y = conv::conv2d_with(&xt, &wt, bias.as_ref(), &cfg, &opts).unwrap();
            assert_close(&download(&y), &want_y, fwd_tol, &format!("{case} y {v:?}"));
        }
        let (want_dx, _) = fx.get(case, "dx");
        let dx_tol = fx.tol(case, "dx", Tol::new(1e-4, 1e-4));
        for v in conv::available_variants(dev, xs4, ws4, &cfg, Conv2dPass::BackwardInput).unwrap() {
            let dx = conv::conv2d_backward_input_with(&wt, &dyt, &cfg, xs4, Some(v)).unwrap();
            assert_close(
                &download(&dx),
                &want_dx,
                dx_tol,
                &format!("{case} dx {v:?}"),
            );
        }
        let (want_dw, _) = fx.get(case, "dw");
        let dw_tol = fx.tol(case, "dw", Tol::new(1e-4, 1e-4));
        for v in conv::available_variants(dev, xs4, ws4, &cfg, Conv2dPass::BackwardWeight).unwrap()
        {
            let dw = conv::conv2d_backward_weight_with(&xt, &dyt, &cfg, ws4, Some(v)).unwrap();
            assert_close(
                &download(&dw),
                &want_dw,
                dw_tol,
                &format!("{case} dw {v:?}"),
            );
        }
        if fx.has(case, "db") {
            let (want_db, _) = fx.get(case, "db");
            let db = conv::conv2d_backward_bias(&dyt).unwrap();
            assert_close(
                &download(&db),
                &want_db,
                fx.tol(case, "db", Tol::new(1e-4, 1e-4)),
                &format!("{case} db"),
            );
        }
    }
}

fn shape_message(r: Result<impl std::fmt::Debug, Error>) -> String {
    match r {
        Err(e @ Error::Shape { .. }) => e.to_string(),
        other => panic!("expected a shape error, got {other:?}"),
    }
}

/// Every bad configuration is a typed `Error::Shape` naming the numbers; no kernel runs.
#[test]
fn bad_configurations_are_typed_errors() {
    let c = Conv2dConfig::new(1, 1);
    // channel mismatch: x has 6 channels, w expects 4 × 1
    let m = shape_message(c.output_size([1, 6, 8, 8], [4, 4, 3, 3]));
    assert!(m.contains("c = 6") && m.contains("4 × 1"), "{m}");
    // groups not dividing c_in
    let m = shape_message(c.with_groups(4).output_size([1, 6, 8, 8], [4, 1, 3, 3]));
    assert!(m.contains("groups 4") && m.contains("c 6"), "{m}");
    // groups not dividing c_out
    let m = shape_message(c.with_groups(3).output_size([1, 6, 8, 8], [4, 2, 3, 3]));
    assert!(m.contains("groups 3") && m.contains("c_out 4"), "{m}");
    // grouped channel mismatch: 6 channels, groups 2, w expects 2 per group
    let m = shape_message(c.with_groups(2).output_size([1, 6, 8, 8], [4, 2, 3, 3]));
    assert!(m.contains("c = 6") && m.contains("2 × 2"), "{m}");
    // zero sizes, stride, dilation, groups
    for (cfg, x, w, name) in [
        (c, [0, 3, 8, 8], [4, 3, 3, 3], "batch size n"),
        (c, [1, 3, 0, 8], [4, 3, 3, 3], "input height h"),
        (c, [1, 3, 8, 8], [4, 3, 3, 0], "kernel width kw"),
        (c, [1, 3, 8, 8], [0, 3, 3, 3], "c_out"),
        (
            c.with_stride([1, 0]),
            [1, 3, 8, 8],
            [4, 3, 3, 3],
            "stride_w",
        ),
        (c.with_dilation(0), [1, 3, 8, 8], [4, 3, 3, 3], "dilation_h"),
        (c.with_groups(0), [1, 3, 8, 8], [4, 3, 3, 3], "groups"),
    ] {
        let m = shape_message(cfg.output_size(x, w));
        assert!(m.contains(name) && m.contains("at least 1"), "{name}: {m}");
    }
    // output below 1: 4 + 0 + 0 < 5; dilated 3 × 2 → 5 > 4
    let m = shape_message(Conv2dConfig::valid().output_size([1, 1, 4, 9], [1, 1, 5, 3]));
    assert!(
        m.contains("height") && m.contains("4 + padding 0+0") && m.contains("kernel 5"),
        "{m}"
    );
    let m = shape_message(
        Conv2dConfig::valid()
            .with_dilation(2)
            .output_size([1, 1, 9, 4], [1, 1, 3, 3]),
    );
    assert!(
        m.contains("width") && m.contains("dilated kernel 5") && m.contains("dilation 2"),
        "{m}"
    );
    // output sizes: floor division, asymmetric padding, dilation, same
    let out = |cfg: Conv2dConfig, x, w| cfg.output_size(x, w).unwrap();
    assert_eq!(
        out(Conv2dConfig::new(2, 0), [1, 1, 5, 5], [1, 1, 2, 2]),
        [1, 1, 2, 2]
    );
    assert_eq!(
        out(
            Conv2dConfig::new(2, 0).with_padding([1, 0, 0, 2]),
            [2, 3, 7, 7],
            [4, 3, 3, 3]
        ),
        [2, 4, 3, 4]
    );
    assert_eq!(
        out(Conv2dConfig::same(4, 3, 2), [1, 1, 7, 6], [1, 1, 4, 3]),
        [1, 1, 7, 6]
    );
    assert_eq!(Conv2dConfig::same(4, 4, 1).padding, [1, 2, 1, 2]);
}

/// Bad tensors handed to the launchers: typed errors too.
#[test]
#[cfg_attr(skip_gpu_tests, ignore)]
fn bad_tensors_are_typed_errors() {
    let dev = device();
    let f = |s: &[usize]| Tensor::zeros(dev, s, shadernet_tensor::DType::F32).unwrap();
    let cfg = Conv2dConfig::new(1, 1);
    let m = shape_message(conv::conv2d(&f(&[1, 3, 8]), &f(&[4, 3, 3, 3]), None, &cfg));
    assert!(m.contains("4-d") && m.contains("[1, 3, 8]"), "{m}");
    let m = shape_message(conv::conv2d(
        &f(&[1, 3, 8, 8]),
        &f(&[4, 3, 3, 3]),
        Some(&f(&[5])),
        &cfg,
    ));
    assert!(
        m.contains("bias") && m.contains("[5]") && m.contains("[4]"),
        "{m}"
    );
    let m = shape_message(conv::conv2d_backward_input(
        &f(&[4, 3, 3, 3]),
        &f(&[1, 4, 7, 8]),
        &cfg,
        [1, 3, 8, 8],
    ));
    assert!(m.contains("dy") && m.contains("[1, 4, 8, 8]"), "{m}");
    let m = shape_message(conv::conv2d_backward_weight(
        &f(&[1, 3, 8, 8]),
        &f(&[1, 4, 8, 8]),
        &cfg,
        [4, 2, 3, 3],
    ));
    assert!(m.contains("c = 3"), "{m}");
    let m = shape_message(conv::conv2d_with(
        &f(&[1, 3, 8, 8]),
        &f(&[4, 3, 3, 3]),
        None,
        &cfg,
        &Conv2dOptions {
            residual: Some(&f(&[1, 4, 8, 7])),
            ..Default::default()
        },
    ));
    assert!(m.contains("residual"), "{m}");
}

#[test]
#[cfg_attr(skip_gpu_tests, ignore)]
fn padded_dy_of_the_wrong_layout_or_size_is_a_typed_error() {
    // conv2d_backward_kept_from_padded takes dY only in the layout conv2d_dy_layout
    // gives for the same convolution, and at least that many elements.
    use shadernet_tensor::ops::conv2d::{conv2d_backward_kept_from_padded, conv2d_dy_layout};
    let dev = device();
    let cfg = Conv2dConfig::new(1, 1);
    let (x_shape, w_shape) = ([2, 4, 8, 8], [16, 4, 3, 3]);
    let layout = conv2d_dy_layout(dev, x_shape, w_shape, &cfg)
        .unwrap()
        .expect("the implicit GEMMs take a padded dY here");
    let x = Tensor::zeros(dev, &x_shape, shadernet_tensor::DType::F32).unwrap();
    let w = Tensor::zeros(dev, &w_shape, shadernet_tensor::DType::F32).unwrap();
    let message = |r: Result<_, Error>| match r {
        Err(Error::Shape { message, .. }) => message,
        other => panic!(
            "expected a shape error, got {:?}",
            other.map(|_: (Option<Tensor>, Tensor)| ())
        ),
    };
    let small = Tensor::zeros(dev, &[layout.floats() - 4], shadernet_tensor::DType::F32).unwrap();
    let m = message(conv2d_backward_kept_from_padded(
        Some(&x),
        None,
        &w,
        &small,
        &layout,
        &cfg,
        InputGrad::Yes { plus: None },
    ));
    assert!(m.contains("padded dY holds"), "{m}");
    let dyp = Tensor::zeros(dev, &[layout.floats()], shadernet_tensor::DType::F32).unwrap();
    let other = shadernet_tensor::ops::conv2d::Conv2dPaddedLayout {
        hp: layout.hp + 1,
        ..layout
    };
    let m = message(conv2d_backward_kept_from_padded(
        Some(&x),
        None,
        &w,
        &dyp,
        &other,
        &cfg,
        InputGrad::No,
    ));
    assert!(m.contains("padded layout"), "{m}");
}

#[test]
#[cfg_attr(skip_gpu_tests, ignore)]
fn padded_input_of_the_wrong_layout_or_size_is_a_typed_error() {
    // conv2d_keeping_input_from_padded takes x only in the layout conv2d_input_layout
    // gives for the same convolution and at least that many elements; a backward given
    // neither x nor its kept layout is a typed error too. Given the right layout it
    // equals conv2d_keeping_input on the same values (x laid out by hand here).
    use shadernet_tensor::ops::conv2d::{
        conv2d_backward_kept, conv2d_input_layout, conv2d_keeping_input,
        conv2d_keeping_input_from_padded, Conv2dPaddedLayout, InputGrad,
    };
    let dev = device();
    let cfg = Conv2dConfig::new(1, 1);
    let (x_shape, w_shape) = ([2, 4, 4, 8], [16, 4, 3, 3]);
    let layout = conv2d_input_layout(dev, x_shape, w_shape, &cfg)
        .unwrap()
        .expect("the implicit GEMMs read a padded input here");
    assert_eq!(
        (layout.hp, layout.wp, layout.kv, layout.off),
        (6, 10, 1, [1, 1])
    );
    let mut rng = shadernet_reference::rng::Rng::new(5);
    let xs = round32(&rng.vec_normal(2 * 4 * 4 * 8));
    let ws = round32(&rng.vec_normal(16 * 4 * 9));
    let (x, w) = (upload(&xs, &x_shape), upload(&ws, &w_shape));
    let mut padded = vec![0.0; layout.floats()];
    for (i, &v) in xs.iter().enumerate() {
        let (n, c, r, s) = (i / 128, i / 32 % 4, i / 8 % 4, i % 8);
        padded[((n * 6 + r + 1) * 10 + s + 1) * 4 + c] = v;
    }
    let xp = upload(&padded, &[layout.floats()]);
    let (y, kept, _) = conv2d_keeping_input_from_padded(&xp, &layout, &w, &cfg, false).unwrap();
    let (want, _) = conv2d_keeping_input(&x, &w, None, &cfg).unwrap();
    assert_eq!(download(&y), download(&want));
    // dW from the kept layout alone equals dW from x.
    let dy = upload(&round32(&rng.vec_normal(2 * 16 * 4 * 8)), &[2, 16, 4, 8]);
    let (_, dw) = conv2d_backward_kept(None, Some(&kept), &w, &dy, &cfg, InputGrad::No).unwrap();
    let (_, want_dw) = conv2d_backward_kept(Some(&x), None, &w, &dy, &cfg, InputGrad::No).unwrap();
    assert_close(
        &download(&dw),
        &download(&want_dw)
            .iter()
            .map(|&v| f64::from(v))
            .collect::<Vec<_>>(),
        Tol::BACKWARD,
        "dw from the kept layout",
    );
    let message = |r: Result<(Tensor, _, _), Error>| match r {
        Err(Error::Shape { message, .. }) => message,
        other => panic!("expected a shape error, got {:?}", other.map(|_| ())),
    };
    let small = Tensor::zeros(dev, &[layout.floats() - 4], shadernet_tensor::DType::F32).unwrap();
    let m = message(conv2d_keeping_input_from_padded(
        &small, &layout, &w, &cfg, false,
    ));
    assert!(m.contains("padded x holds"), "{m}");
    let other = Conv2dPaddedLayout {
        wp: layout.wp + 1,
        ..layout
    };
    let m = message(conv2d_keeping_input_from_padded(
        &xp, &other, &w, &cfg, false,
    ));
    assert!(m.contains("padded layout"), "{m}");
    let r = conv2d_backward_kept(None, None, &w, &dy, &cfg, InputGrad::No);
    assert!(matches!(r, Err(Error::Shape { .. })), "{:?}", r.map(|_| ()));
}
