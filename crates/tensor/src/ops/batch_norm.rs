//! BatchNorm2d (`batch_norm.wgsl`) with PyTorch's semantics: training
//! normalizes with the batch mean and biased variance and updates
//! `running_mean` / `running_var` (unbiased variance, momentum) and
//! `num_batches_tracked` in place on the GPU; eval normalizes with the
//! running statistics. Optional fused ReLU or ReLU6 and residual add
//! (`*_relu`, `*_with` and a [`BnEpilogue`]). The training-mode
//! backward is derived in `docs/ops/batch_norm.md`.
//!
//! Every statistic stays on the GPU: nothing is read back. Inputs larger than
//! one storage binding are processed a run of whole images at a time, the
//! per-channel reductions chained across runs.

use crate::device::Device;
use crate::error::{shape_err, Result};
use crate::kernel::Kernel;
use crate::ops::conv2d::{Activation, BnSumParts, Conv2dPaddedLayout, OutputMoments};
use crate::ops::pool::{unit_runs, window, window_vec4};
use crate::tensor::{DType, Tensor};
use crate::texels::{texel_kernel, texel_or_window, Texels};

const STATS: Kernel = crate::kernel!("batch_norm", "stats");
const STATS_PARTS: Kernel = crate::kernel!("batch_norm", "stats_parts");
const RECORDS: Kernel = crate::kernel!("batch_norm", "records");
const APPLY: Kernel = crate::kernel!("batch_norm", "apply");
const APPLY4: Kernel = crate::kernel!("batch_norm", "apply4");
const REDUCE_GRAD: Kernel = crate::kernel!("batch_norm", "reduce_grad");
const GRAD_PARTS: Kernel = crate::kernel!("batch_norm", "grad_parts");
const DX: Kernel = crate::kernel!("batch_norm", "dx_main");
const DX4: Kernel = crate::kernel!("batch_norm", "dx4");
const DX4_PADDED: Kernel = crate::kernel!("batch_norm", "dx4_padded");
const APPLY4_PADDED: Kernel = crate::kernel!("batch_norm", "apply4_padded");

/// Invocations per workgroup of a per-channel reduction over `items` items:
/// 256, or 64 for small channels (fewer idle invocations, a shorter tree).
fn reduce_wg(items: usize) -> u32 {
    if items >= 4 * 256 {
        256
    } else {
        64
    }
}
/// Floats per channel record in the backward's work buffer (two vec4s).
const REC: usize = 8;

/// Mirrors `struct Params` in shaders/batch_norm.wgsl.
#[repr(C)]
#[derive(Clone, Copy, Debug, bytemuck::Pod, bytemuck::Zeroable)]
struct BnParams {
    n: u32,
    c: u32,
    hw: u32,
    x_base: u32,
    y_base: u32,
    z_base: u32,
    n_done: u32,
    last: u32,
    step_img: u32,
    step_off: u32,
    items: u32,
    w: u32,
    count: f32,
    momentum: f32,
    eps: f32,
    inv_hwv: f32,
    inv_c: f32,
    _pad1: [f32; 3],
    pad_hp: u32,
    pad_wp: u32,
    pad_kv: u32,
    pad_off_h: u32,
    pad_off_w: u32,
    pad_ups_h: u32,
    pad_ups_w: u32,
    _pad4: u32,
}

/// What the training forward saves for the backward: per-channel batch mean
/// and `1 / sqrt(var_biased + eps)`, both `[C]`, and the records it applied.
#[derive(Clone, Debug)]
pub struct BatchNormSaved {
    /// Batch mean per channel.
    pub mean: Tensor,
    /// Inverse standard deviation per channel (biased variance plus eps).
    pub invstd: Tensor,
    /// The forward's per-channel `(mean, invstd·γ, β, invstd)` (`[4·C]`), which
    /// [`batch_norm_grad_records`] hands out instead of computing them again;
    /// `None` where they were not kept.
    pub records: Option<Tensor>,
}

/// `[N, C, H*W]` of an `[N, C, H, W]` (or `[N, C]`) f32 input.
fn dims(x: &Tensor, op: &'static str) -> Result<(usize, usize, usize)> {
    x.expect_dtype(op, DType::F32)?;
    let s = x.shape();
    let (n, c, hw) = match *s {
        [n, c] => (n, c, 1),
        [n, c, h, w] => (n, c, h * w),
        _ => {
            return shape_err(
                op,
                format!("expected an [N, C, H, W] or [N, C] input, got {s:?}"),
            )
        }
    };
    if n == 0 || c == 0 || hw == 0 {
        return shape_err(op, format!("input shape {s:?} has a zero size"));
    }
    Ok((n, c, hw))
}

fn per_channel(t: &Tensor, op: &'static str, name: &str, c: usize) -> Result<()> {
    t.expect_dtype(op, DType::F32)?;
    if t.numel() != c || t.rank() != 1 {
        return shape_err(
            op,
            format!("{name} has shape {:?}, expected [{c}]", t.shape()),
        );
    }
    Ok(())
}

/// Elements per item (per invocation of apply / dx): 16 or 4 (vec4 kernels)
/// when a plane holds whole groups of them, else 1.
fn vec_width(hw: usize) -> usize {
    if hw.is_multiple_of(16) {
        16
    } else if hw.is_multiple_of(4) {
        4
    } else {
        1
    }
}

fn params(n: usize, c: usize, hw: usize, count: usize, v: usize) -> BnParams {
    let hwv = hw / v;
    let wg = reduce_wg(n * hwv) as usize;
    BnParams {
        n: n as u32,
        c: c as u32,
        hw: hw as u32,
        x_base: 0,
        y_base: 0,
        z_base: 0,
        n_done: 0,
        last: 0,
        step_img: (wg / hwv) as u32,
        step_off: (wg % hwv) as u32,
        items: (n * c * hwv) as u32,
        w: 0,
        count: count as f32,
        momentum: 0.0,
        eps: 0.0,
        inv_hwv: 1.0 / hwv as f32,
        inv_c: 1.0 / c as f32,
        _pad1: [0.0; 3],
        pad_hp: 0,
        pad_wp: 0,
        pad_kv: 0,
        pad_off_h: 0,
        pad_off_w: 0,
        pad_ups_h: 0,
        pad_ups_w: 0,
        _pad4: 0,
    }
}

/// Workgroups for `count` groups, folded into two dimensions past the limit.
fn fold(dev: &Device, count: usize) -> [u32; 3] {
    let max = dev.limits().max_compute_workgroups_per_dimension.max(1) as usize;
    if count <= max {
        [count as u32, 1, 1]
    } else {
        let y = count.div_ceil(max);
        [count.div_ceil(y) as u32, y as u32, 1]
    }
}

/// Per-channel records `(mean, invstd * gamma, beta, invstd)` of `apply`,
/// from batch statistics or (`eval`) running statistics.
fn records(
    mean: &Tensor,
    scale: &Tensor,
    gamma: &Tensor,
    beta: &Tensor,
    c: usize,
    eps: f32,
    eval: bool,
) -> Result<Tensor> {
    let dev = mean.device();
    let rec = Tensor::uninit(dev, &[4 * c], DType::F32)?;
    let p = BnParams {
        eps,
        ..params(1, c, 1, 1, 1)
    };
    dev.launch(
        &RECORDS,
        &[("WG", 64.0), ("EVAL", f64::from(u8::from(eval)))],
        &p,
        &[rec.arg(), mean.arg(), scale.arg(), gamma.arg(), beta.arg()],
        dev.grid_1d(c as u64, 64)?,
    )?;
    Ok(rec)
}

/// What batch norm's last pass does after the affine map: a residual block's
/// add (`bn(x) + residual`) where given, then the activation.
#[derive(Clone, Copy, Debug, Default)]
pub struct BnEpilogue<'a> {
    /// The activation (none, ReLU or ReLU6).
    pub act: Activation,
    /// The residual operand, of x's shape.
    pub residual: Option<&'a Tensor>,
}

impl<'a> BnEpilogue<'a> {
    /// `act(bn(x))`.
    pub fn act(act: Activation) -> BnEpilogue<'a> {
        BnEpilogue {
            act,
            residual: None,
        }
    }

    /// `bn(x) + residual`, then ReLU when `relu`.
    pub fn residual(residual: &'a Tensor, relu: bool) -> BnEpilogue<'a> {
        BnEpilogue {
            act: if relu {
                Activation::Relu
            } else {
                Activation::None
            },
            residual: Some(residual),
        }
    }

    /// A residual must be F32 with x's shape (checked before anything is launched).
    fn check(self, op: &'static str, x: &Tensor) -> Result<()> {
        let Some(r) = self.residual else {
            return Ok(());
        };
        r.expect_dtype(op, DType::F32)?;
        if r.shape() != x.shape() {
            return shape_err(
                op,
                format!(
                    "residual has shape {:?}, expected the input's {:?}",
                    r.shape(),
                    x.shape()
                ),
            );
        }
        Ok(())
    }
}

/// The kernels' RELU override constant: 0 none, 1 ReLU, 2 ReLU6.
fn act_constant(act: Activation) -> f64 {
    match act {
        Activation::None => 0.0,
        Activation::Relu => 1.0,
        Activation::Relu6 => 2.0,
    }
}

/// `y = (x - mean) * k + beta` (then the epilogue) from per-channel records, by
/// runs of images.
fn apply(
    op: &'static str,
    x: &Tensor,
    x_tex: Option<&Texels>,
    rec: &Tensor,
    epilogue: BnEpilogue<'_>,
) -> Result<Tensor> {
    let (n, c, hw) = dims(x, op)?;
    let dev = x.device();
    let residual = epilogue.residual;
    let y = Tensor::uninit(dev, x.shape(), DType::F32)?;
    let wg = dev.elementwise_workgroup();
    let (rec_arg, _) = window_vec4(rec, 0, rec.numel())?;
    for (i0, i1) in unit_runs(dev, op, n, c * hw)? {
        let (xa, x_base) = texel_or_window(x, x_tex, i0 * c * hw, i1 * c * hw)?;
        let (ya, y_base) = window(&y, i0 * c * hw, i1 * c * hw);
        // Without a residual, rec stands in at its binding (never read).
        let (za, z_base) = match residual {
            Some(r) => window(r, i0 * c * hw, i1 * c * hw),
            None => (rec_arg, 0),
        };
        let v = if x_base.is_multiple_of(4) && y_base.is_multiple_of(4) && z_base.is_multiple_of(4)
        {
            vec_width(hw)
        } else {
            1
        };
        let p = BnParams {
            x_base,
            y_base,
            z_base,
            ..params(i1 - i0, c, hw, n * hw, v)
        };
        let (kernel, constants) = texel_kernel(
            dev,
            if v >= 4 { APPLY4 } else { APPLY },
            x_tex.is_some(),
            &[
                ("WG", f64::from(wg)),
                ("V", v as f64),
                ("RELU", act_constant(epilogue.act)),
                ("RESIDUAL", f64::from(u8::from(residual.is_some()))),
            ],
        );
        dev.launch(
            &kernel,
            &constants,
            &p,
            &[xa, ya, rec_arg, za],
            dev.grid_1d(u64::from(p.items), wg)?,
        )?;
    }
    Ok(y)
}

#[allow(clippy::too_many_arguments)]
fn train(
    op: &'static str,
    x: &Tensor,
    gamma: &Tensor,
    beta: &Tensor,
    running_mean: &Tensor,
    running_var: &Tensor,
    num_batches_tracked: &Tensor,
    momentum: f32,
    eps: f32,
    epilogue: BnEpilogue<'_>,
    out: Option<&Conv2dPaddedLayout>,
    moments: Option<&OutputMoments>,
) -> Result<Option<(Tensor, BatchNormSaved)>> {
    let (n, c, hw) = dims(x, op)?;
    epilogue.check(op, x)?;
    if let Some(mo) = moments {
        let pixels = n * hw;
        let fits = mo.block > 0
            && mo.pixels == pixels
            && mo.blocks == pixels.div_ceil(mo.block)
            && mo.parts.numel() == mo.blocks * c * 2;
        if !fits {
            return shape_err(
                op,
                format!(
                    "moments of {} pixels in {} blocks of {} ({} floats) do not cover x of shape {:?}",
                    mo.pixels,
                    mo.blocks,
                    mo.block,
                    mo.parts.numel(),
                    x.shape()
                ),
            );
        }
    }
    for (t, name) in [
        (gamma, "gamma"),
        (beta, "beta"),
        (running_mean, "running_mean"),
        (running_var, "running_var"),
    ] {
        per_channel(t, op, name, c)?;
    }
    num_batches_tracked.expect_dtype(op, DType::U32)?;
    if num_batches_tracked.numel() != 1 {
        return shape_err(
            op,
            format!(
                "num_batches_tracked has shape {:?}, expected one element",
                num_batches_tracked.shape()
            ),
        );
    }
    if n * hw <= 1 {
        return shape_err(
            op,
            format!(
                "expected more than 1 value per channel when training, got input size {:?}",
                x.shape()
            ),
        );
    }
    if !(eps.is_finite() && eps >= 0.0 && momentum.is_finite()) {
        return shape_err(
            op,
            format!("eps must be finite and >= 0 and momentum finite, got eps {eps} momentum {momentum}"),
        );
    }
    let dev = x.device();
    let runs = unit_runs(dev, op, n, c * hw)?;
    if let Some(l) = out {
        if epilogue.residual.is_some() || !padded_fits(x, runs.len(), l) {
            return Ok(None);
        }
    }
    let mean = Tensor::uninit(dev, &[c], DType::F32)?;
    let invstd = Tensor::uninit(dev, &[c], DType::F32)?;
    // Chained (mean, M2) between runs; only touched when there are several.
    let acc = Tensor::uninit(dev, &[2 * c], DType::F32)?;
    let last = runs.len() - 1;
    let tex = dev.texel_copies(&[x])?;
    let x_tex = tex.as_ref().map(|t| &t[0]);
    if let Some(mo) = moments {
        let p = BnParams {
            hw: mo.block as u32,
            items: mo.blocks as u32,
            w: (n * hw - (mo.blocks - 1) * mo.block) as u32,
            last: 1,
            momentum,
            eps,
            ..params(n, c, 1, n * hw, 1)
        };
        dev.launch(
            &STATS_PARTS,
            &[("WG", f64::from(reduce_wg(mo.blocks)))],
            &p,
            &[
                mo.parts.arg(),
                acc.arg(),
                mean.arg(),
                invstd.arg(),
                running_mean.arg(),
                running_var.arg(),
                num_batches_tracked.arg(),
            ],
            fold(dev, c),
        )?;
    }
    for (r, &(i0, i1)) in runs.iter().enumerate().filter(|_| moments.is_none()) {
        let (xa, x_base) = texel_or_window(x, x_tex, i0 * c * hw, i1 * c * hw)?;
        let v = if x_base.is_multiple_of(4) {
            vec_width(hw)
        } else {
            1
        };
        let p = BnParams {
            x_base,
            n_done: i0 as u32,
            last: u32::from(r == last),
            momentum,
            eps,
            ..params(i1 - i0, c, hw, n * hw, v)
        };
        let (kernel, constants) = texel_kernel(
            dev,
            STATS,
            x_tex.is_some(),
            &[
                ("WG", f64::from(reduce_wg((i1 - i0) * hw / v))),
                ("V", v as f64),
            ],
        );
        dev.launch(
            &kernel,
            &constants,
            &p,
            &[
                xa,
                acc.arg(),
                mean.arg(),
                invstd.arg(),
                running_mean.arg(),
                running_var.arg(),
                num_batches_tracked.arg(),
            ],
            fold(dev, c),
        )?;
    }
    let rec = records(&mean, &invstd, gamma, beta, c, eps, false)?;
    let y = match out {
        Some(l) => apply_padded(x, x_tex, &rec, epilogue.act, l)?,
        None => apply(op, x, x_tex, &rec, epilogue)?,
    };
    let saved = BatchNormSaved {
        mean,
        invstd,
        records: Some(rec),
    };
    Ok(Some((y, saved)))
}

/// [`train`] into NCHW: always `Some`.
#[allow(clippy::too_many_arguments)]
fn train_nchw(
    op: &'static str,
    x: &Tensor,
    gamma: &Tensor,
    beta: &Tensor,
    running_mean: &Tensor,
    running_var: &Tensor,
    num_batches_tracked: &Tensor,
    momentum: f32,
    eps: f32,
    epilogue: BnEpilogue<'_>,
    moments: Option<&OutputMoments>,
) -> Result<(Tensor, BatchNormSaved)> {
    let r = train(
        op,
        x,
        gamma,
        beta,
        running_mean,
        running_var,
        num_batches_tracked,
        momentum,
        eps,
        epilogue,
        None,
        moments,
    )?;
    r.ok_or_else(|| crate::error::Error::Shape {
        op,
        message: "no padded output was asked for".into(),
    })
}

/// Whether a padded pass (dx4_padded, apply4_padded) can write x's shape into
/// `l`: one launch (`runs`), whole vec4s of channels and of each row, a layout
/// for x's shape that holds every pixel and channel.
fn padded_fits(x: &Tensor, runs: usize, l: &Conv2dPaddedLayout) -> bool {
    let [_, c, h, w] = l.shape;
    let inside =
        |len: usize, ups: usize, off: usize, size: usize| len == 0 || (len - 1) * ups + off < size;
    runs == 1
        && w.is_multiple_of(4)
        && c.is_multiple_of(4)
        && x.shape() == l.shape.as_slice()
        && inside(h, l.ups[0], l.off[0], l.hp)
        && inside(w, l.ups[1], l.off[1], l.wp)
        && l.kv * 4 >= c
}

/// The parameters and QUADS of a padded pass over x (`padded_fits`): items of
/// four channels x QUADS x four pixels of a row.
fn padded_params(x: &Tensor, l: &Conv2dPaddedLayout) -> Result<(BnParams, usize)> {
    let (n, c, hw) = dims(x, "batch_norm padded")?;
    let w = w_of(x);
    let quads = [4, 2, 1]
        .into_iter()
        .find(|q| (w / 4).is_multiple_of(*q))
        .unwrap_or(1);
    let p = BnParams {
        w: w as u32,
        items: (n * c / 4 * hw / (4 * quads)) as u32,
        inv_hwv: (4 * quads) as f32 / hw as f32,
        pad_hp: l.hp as u32,
        pad_wp: l.wp as u32,
        pad_kv: l.kv as u32,
        pad_off_h: l.off[0] as u32,
        pad_off_w: l.off[1] as u32,
        pad_ups_h: l.ups[0] as u32,
        pad_ups_w: l.ups[1] as u32,
        ..params(n, c, hw, n * hw, 4)
    };
    Ok((p, quads))
}

/// `act(bn(x))` from the records, into the zero-filled padded layout `l`.
fn apply_padded(
    x: &Tensor,
    x_tex: Option<&Texels>,
    rec: &Tensor,
    act: Activation,
    l: &Conv2dPaddedLayout,
) -> Result<Tensor> {
    let dev = x.device();
    let yp = Tensor::zeros(dev, &[l.floats()], DType::F32)?;
    let (xa, _) = texel_or_window(x, x_tex, 0, x.numel())?;
    let (rec_arg, _) = window_vec4(rec, 0, rec.numel())?;
    let (p, quads) = padded_params(x, l)?;
    let wg = dev.elementwise_workgroup();
    let (kernel, constants) = texel_kernel(
        dev,
        APPLY4_PADDED,
        x_tex.is_some(),
        &[
            ("WG", f64::from(wg)),
            ("QUADS", quads as f64),
            ("RELU", act_constant(act)),
        ],
    );
    dev.launch(
        &kernel,
        &constants,
        &p,
        &[xa, yp.arg(), rec_arg],
        dev.grid_1d(u64::from(p.items), wg)?,
    )?;
    Ok(yp)
}

/// Training-mode `torch.nn.functional.batch_norm(x, running_mean,
/// running_var, gamma, beta, training=True, momentum, eps)` on `[N, C, H, W]`
/// (or `[N, C]`): returns `y` and the saved statistics. `running_mean`,
/// `running_var` (`[C]`) and `num_batches_tracked` (U32, one element) are
/// updated in place on the GPU. Needs more than one value per channel.
#[allow(clippy::too_many_arguments)]
pub fn batch_norm_train(
    x: &Tensor,
    gamma: &Tensor,
    beta: &Tensor,
    running_mean: &Tensor,
    running_var: &Tensor,
    num_batches_tracked: &Tensor,
    momentum: f32,
    eps: f32,
) -> Result<(Tensor, BatchNormSaved)> {
    train_nchw(
        "batch_norm_train",
        x,
        gamma,
        beta,
        running_mean,
        running_var,
        num_batches_tracked,
        momentum,
        eps,
        BnEpilogue::act(Activation::None),
        None,
    )
}

/// [`batch_norm_train`] followed by ReLU, in the same kernels; pair it with
/// [`batch_norm_relu_backward`].
#[allow(clippy::too_many_arguments)]
pub fn batch_norm_train_relu(
    x: &Tensor,
    gamma: &Tensor,
    beta: &Tensor,
    running_mean: &Tensor,
    running_var: &Tensor,
    num_batches_tracked: &Tensor,
    momentum: f32,
    eps: f32,
) -> Result<(Tensor, BatchNormSaved)> {
    batch_norm_train_with(
        x,
        BnEpilogue::act(Activation::Relu),
        gamma,
        beta,
        running_mean,
        running_var,
        num_batches_tracked,
        momentum,
        eps,
    )
}

/// [`batch_norm_train`] with `epilogue` in the same kernels: an activation
/// (ReLU or ReLU6: MobileNetV2's ConvBNReLU6; pair it with
/// [`batch_norm_act_backward`]), or a residual block's add with or without
/// the ReLU after it (one pass less than batch norm then an add; its backward
/// is [`batch_norm_backward`] of `dy`, masked by the output's `> 0` with the
/// ReLU, and that gradient for the residual). A residual of another shape
/// than x is a typed error before anything runs.
#[allow(clippy::too_many_arguments)]
pub fn batch_norm_train_with(
    x: &Tensor,
    epilogue: BnEpilogue<'_>,
    gamma: &Tensor,
    beta: &Tensor,
    running_mean: &Tensor,
    running_var: &Tensor,
    num_batches_tracked: &Tensor,
    momentum: f32,
    eps: f32,
) -> Result<(Tensor, BatchNormSaved)> {
    train_nchw(
        "batch_norm_train_with",
        x,
        gamma,
        beta,
        running_mean,
        running_var,
        num_batches_tracked,
        momentum,
        eps,
        epilogue,
        None,
    )
}

/// [`batch_norm_train_with`] whose batch statistics come from the partial
/// moments the convolution that produced x wrote
/// ([`crate::ops::conv2d::conv2d_keeping_input_and_moments`]) instead of a
/// pass over x (the same values up to rounding: blocks' exact two-pass moments
/// merged by Chan's formula). Moments that do not cover x are a typed error.
#[allow(clippy::too_many_arguments)]
pub fn batch_norm_train_from_moments(
    x: &Tensor,
    moments: &OutputMoments,
    epilogue: BnEpilogue<'_>,
    gamma: &Tensor,
    beta: &Tensor,
    running_mean: &Tensor,
    running_var: &Tensor,
    num_batches_tracked: &Tensor,
    momentum: f32,
    eps: f32,
) -> Result<(Tensor, BatchNormSaved)> {
    train_nchw(
        "batch_norm_train_from_moments",
        x,
        gamma,
        beta,
        running_mean,
        running_var,
        num_batches_tracked,
        momentum,
        eps,
        epilogue,
        Some(moments),
    )
}

/// [`batch_norm_train_with`] (an activation, no residual) writing `act(bn(x))`
/// where a convolution's forward reads its input ([`Conv2dPaddedLayout`] from
/// [`crate::ops::conv2d::conv2d_input_layout`], for
/// [`crate::ops::conv2d::conv2d_keeping_input_from_padded`]) instead of NCHW:
/// returns `(y_padded, saved)`, or `None` (nothing launched, the running
/// statistics untouched) where it does not apply: x larger than one storage
/// binding, C or W not a multiple of 4, or a layout for another shape. Its
/// backward is [`batch_norm_act_backward`] (the mask recomputed from x). With
/// `moments` the statistics come from them (see [`batch_norm_train_from_moments`]).
#[allow(clippy::too_many_arguments)]
pub fn batch_norm_train_padded(
    x: &Tensor,
    act: Activation,
    gamma: &Tensor,
    beta: &Tensor,
    running_mean: &Tensor,
    running_var: &Tensor,
    num_batches_tracked: &Tensor,
    momentum: f32,
    eps: f32,
    layout: &Conv2dPaddedLayout,
    moments: Option<&OutputMoments>,
) -> Result<Option<(Tensor, BatchNormSaved)>> {
    train(
        "batch_norm_train_padded",
        x,
        gamma,
        beta,
        running_mean,
        running_var,
        num_batches_tracked,
        momentum,
        eps,
        BnEpilogue::act(act),
        Some(layout),
        moments,
    )
}

#[allow(clippy::too_many_arguments)]
fn eval(
    op: &'static str,
    x: &Tensor,
    gamma: &Tensor,
    beta: &Tensor,
    running_mean: &Tensor,
    running_var: &Tensor,
    eps: f32,
    epilogue: BnEpilogue<'_>,
) -> Result<Tensor> {
    let (_, c, _) = dims(x, op)?;
    epilogue.check(op, x)?;
    for (t, name) in [
        (gamma, "gamma"),
        (beta, "beta"),
        (running_mean, "running_mean"),
        (running_var, "running_var"),
    ] {
        per_channel(t, op, name, c)?;
    }
    if !(eps.is_finite() && eps >= 0.0) {
        return shape_err(op, format!("eps must be finite and >= 0, got {eps}"));
    }
    let rec = records(running_mean, running_var, gamma, beta, c, eps, true)?;
    let tex = x.device().texel_copies(&[x])?;
    apply(op, x, tex.as_ref().map(|t| &t[0]), &rec, epilogue)
}

/// Eval-mode batch norm: `y = (x - running_mean) / sqrt(running_var + eps)
/// * gamma + beta`.
pub fn batch_norm_eval(
    x: &Tensor,
    gamma: &Tensor,
    beta: &Tensor,
    running_mean: &Tensor,
    running_var: &Tensor,
    eps: f32,
) -> Result<Tensor> {
    eval(
        "batch_norm_eval",
        x,
        gamma,
        beta,
        running_mean,
        running_var,
        eps,
        BnEpilogue::act(Activation::None),
    )
}

/// [`batch_norm_eval`] followed by ReLU in the same kernel.
pub fn batch_norm_eval_relu(
    x: &Tensor,
    gamma: &Tensor,
    beta: &Tensor,
    running_mean: &Tensor,
    running_var: &Tensor,
    eps: f32,
) -> Result<Tensor> {
    batch_norm_eval_with(
        x,
        BnEpilogue::act(Activation::Relu),
        gamma,
        beta,
        running_mean,
        running_var,
        eps,
    )
}

/// [`batch_norm_eval`] with `epilogue` (see [`batch_norm_train_with`]) in the
/// same kernel.
pub fn batch_norm_eval_with(
    x: &Tensor,
    epilogue: BnEpilogue<'_>,
    gamma: &Tensor,
    beta: &Tensor,
    running_mean: &Tensor,
    running_var: &Tensor,
    eps: f32,
) -> Result<Tensor> {
    eval(
        "batch_norm_eval_with",
        x,
        gamma,
        beta,
        running_mean,
        running_var,
        eps,
        epilogue,
    )
}

#[allow(clippy::too_many_arguments)]
fn backward(
    op: &'static str,
    x: &Tensor,
    gamma: &Tensor,
    beta: &Tensor,
    saved: &BatchNormSaved,
    dy: &Tensor,
    act: Activation,
    padded: Option<&Conv2dPaddedLayout>,
    sums: Option<&BnSumParts>,
) -> Result<Option<(Tensor, Tensor, Tensor)>> {
    let (n, c, hw) = dims(x, op)?;
    if let Some(s) = sums {
        let fits = s.pixels == n * hw
            && s.parts.numel() == s.blocks * c * 2
            && s.records.numel() == 4 * c
            && s.act == act;
        if !fits {
            return shape_err(
                op,
                format!(
                    "backward sums of {} pixels in {} blocks ({} floats, {:?}) do not fit x of shape {:?} with {act:?}",
                    s.pixels,
                    s.blocks,
                    s.parts.numel(),
                    s.act,
                    x.shape()
                ),
            );
        }
    }
    dy.expect_dtype(op, DType::F32)?;
    if dy.shape() != x.shape() {
        return shape_err(
            op,
            format!(
                "dy has shape {:?}, expected x's {:?}",
                dy.shape(),
                x.shape()
            ),
        );
    }
    for (t, name) in [
        (gamma, "gamma"),
        (beta, "beta"),
        (&saved.mean, "saved mean"),
        (&saved.invstd, "saved invstd"),
    ] {
        per_channel(t, op, name, c)?;
    }
    let dev = x.device();
    // [C records of REC floats for dx | sum(g) (C) | sum(g*xhat) (C)].
    let work = Tensor::uninit(dev, &[REC * c + 2 * c], DType::F32)?;
    let runs = unit_runs(dev, op, n, c * hw)?;
    // dx into a convolution's padded dY: one launch, whole vec4s per row.
    if padded.is_some_and(|l| !padded_fits(x, runs.len(), l)) {
        return Ok(None);
    }
    let relu_c = ("RELU", act_constant(act));
    let last = runs.len() - 1;
    let tex = dev.texel_copies(&[x, dy])?;
    let (x_tex, dy_tex) = match &tex {
        Some(t) => (Some(&t[0]), Some(&t[1])),
        None => (None, None),
    };
    if let Some(s) = sums {
        let p = BnParams {
            items: s.blocks as u32,
            ..params(n, c, 1, n * hw, 1)
        };
        dev.launch(
            &GRAD_PARTS,
            &[("WG", f64::from(reduce_wg(s.blocks)))],
            &p,
            &[s.parts.arg(), s.records.arg(), work.arg()],
            fold(dev, c),
        )?;
    }
    for (r, &(i0, i1)) in runs.iter().enumerate().filter(|_| sums.is_none()) {
        let (xa, x_base) = texel_or_window(x, x_tex, i0 * c * hw, i1 * c * hw)?;
        let (da, y_base) = texel_or_window(dy, dy_tex, i0 * c * hw, i1 * c * hw)?;
        let v = if x_base.is_multiple_of(4) && y_base.is_multiple_of(4) {
            vec_width(hw)
        } else {
            1
        };
        let p = BnParams {
            x_base,
            y_base,
            n_done: i0 as u32,
            last: u32::from(r == last),
            ..params(i1 - i0, c, hw, n * hw, v)
        };
        let (kernel, constants) = texel_kernel(
            dev,
            REDUCE_GRAD,
            tex.is_some(),
            &[
                ("WG", f64::from(reduce_wg((i1 - i0) * hw / v))),
                ("V", v as f64),
                relu_c,
            ],
        );
        dev.launch(
            &kernel,
            &constants,
            &p,
            &[
                xa,
                da,
                saved.mean.arg(),
                saved.invstd.arg(),
                gamma.arg(),
                beta.arg(),
                work.arg(),
            ],
            fold(dev, c),
        )?;
    }
    let wg = dev.elementwise_workgroup();
    let (rec_arg, _) = window_vec4(&work, 0, work.numel())?;
    if let Some(l) = padded {
        let dxp = Tensor::zeros(dev, &[l.floats()], DType::F32)?;
        let (xa, _) = texel_or_window(x, x_tex, 0, n * c * hw)?;
        let (da, _) = texel_or_window(dy, dy_tex, 0, n * c * hw)?;
        let (p, quads) = padded_params(x, l)?;
        let (kernel, constants) = texel_kernel(
            dev,
            DX4_PADDED,
            tex.is_some(),
            &[("WG", f64::from(wg)), ("QUADS", quads as f64), relu_c],
        );
        dev.launch(
            &kernel,
            &constants,
            &p,
            &[xa, da, rec_arg, dxp.arg()],
            dev.grid_1d(u64::from(p.items), wg)?,
        )?;
        let (dgamma, dbeta) = grad_params(dev, &work, c)?;
        return Ok(Some((dxp, dgamma, dbeta)));
    }
    let dx = Tensor::uninit(dev, x.shape(), DType::F32)?;
    for &(i0, i1) in &runs {
        let (xa, x_base) = texel_or_window(x, x_tex, i0 * c * hw, i1 * c * hw)?;
        let (da, y_base) = texel_or_window(dy, dy_tex, i0 * c * hw, i1 * c * hw)?;
        let (oa, z_base) = window(&dx, i0 * c * hw, i1 * c * hw);
        let v = if x_base.is_multiple_of(4) && y_base.is_multiple_of(4) && z_base.is_multiple_of(4)
        {
            vec_width(hw)
        } else {
            1
        };
        let p = BnParams {
            x_base,
            y_base,
            z_base,
            ..params(i1 - i0, c, hw, n * hw, v)
        };
        let (kernel, constants) = texel_kernel(
            dev,
            if v >= 4 { DX4 } else { DX },
            tex.is_some(),
            &[("WG", f64::from(wg)), ("V", v as f64), relu_c],
        );
        dev.launch(
            &kernel,
            &constants,
            &p,
            &[xa, da, rec_arg, oa],
            dev.grid_1d(u64::from(p.items), wg)?,
        )?;
    }
    let (dgamma, dbeta) = grad_params(dev, &work, c)?;
    Ok(Some((dx, dgamma, dbeta)))
}

/// The row width of an `[N, C, H, W]` tensor (1 for `[N, C]`).
fn w_of(x: &Tensor) -> usize {
    x.shape().get(3).copied().unwrap_or(1)
}

/// `(dgamma, dbeta)` copied out of reduce_grad's `work`.
fn grad_params(dev: &Device, work: &Tensor, c: usize) -> Result<(Tensor, Tensor)> {
    let dgamma = Tensor::uninit(dev, &[c], DType::F32)?;
    let dbeta = Tensor::uninit(dev, &[c], DType::F32)?;
    let bytes = (c * 4) as u64;
    let sums = (REC * c * 4) as u64;
    dev.copy_bytes(work.buffer(), sums, dbeta.buffer(), 0, bytes);
    dev.copy_bytes(work.buffer(), sums + bytes, dgamma.buffer(), 0, bytes);
    Ok((dgamma, dbeta))
}

/// The backward without a padded output: always `Some`.
fn backward_nchw(
    op: &'static str,
    x: &Tensor,
    gamma: &Tensor,
    beta: &Tensor,
    saved: &BatchNormSaved,
    dy: &Tensor,
    act: Activation,
) -> Result<(Tensor, Tensor, Tensor)> {
    backward(op, x, gamma, beta, saved, dy, act, None, None)?.ok_or_else(|| {
        crate::error::Error::Shape {
            op,
            message: "no padded output was asked for".into(),
        }
    })
}

/// Backward of [`batch_norm_train`] (the batch statistics depend on `x`):
/// returns `(dx, dgamma, dbeta)` from `x`, `gamma`, the saved statistics and
/// `dy`.
pub fn batch_norm_backward(
    x: &Tensor,
    gamma: &Tensor,
    saved: &BatchNormSaved,
    dy: &Tensor,
) -> Result<(Tensor, Tensor, Tensor)> {
    // beta is bound but unused without the ReLU mask; gamma stands in for it.
    backward_nchw(
        "batch_norm_backward",
        x,
        gamma,
        gamma,
        saved,
        dy,
        Activation::None,
    )
}

/// Backward of [`batch_norm_train_relu`]: the ReLU mask `y > 0` is recomputed
/// from `x`, the saved statistics, `gamma` and `beta` with the forward's
/// expression, so `y` need not be kept.
pub fn batch_norm_relu_backward(
    x: &Tensor,
    gamma: &Tensor,
    beta: &Tensor,
    saved: &BatchNormSaved,
    dy: &Tensor,
) -> Result<(Tensor, Tensor, Tensor)> {
    batch_norm_act_backward(x, gamma, beta, saved, dy, Activation::Relu)
}

/// Backward of [`batch_norm_train_act`]: the activation's mask (`y > 0` for
/// ReLU, `0 < y < 6` for ReLU6, PyTorch's rule at the bounds) is recomputed
/// from `x`, the saved statistics, `gamma` and `beta` with the forward's
/// expression, so `y` need not be kept.
pub fn batch_norm_act_backward(
    x: &Tensor,
    gamma: &Tensor,
    beta: &Tensor,
    saved: &BatchNormSaved,
    dy: &Tensor,
    act: Activation,
) -> Result<(Tensor, Tensor, Tensor)> {
    backward_nchw("batch_norm_act_backward", x, gamma, beta, saved, dy, act)
}

/// [`batch_norm_act_backward`] writing dx where a convolution's backward reads
/// its dY ([`Conv2dPaddedLayout`], for [`crate::ops::conv2d::conv2d_backward_kept_from_padded`])
/// instead of NCHW: returns `(dx_padded, dgamma, dbeta)`, or `None` (nothing
/// launched) where it does not apply: x larger than one storage binding, a row
/// width not a multiple of 4, or a layout for another shape. With `sums` (the
/// masked gradient's sums, reduced where dy was computed:
/// [`crate::ops::conv2d::conv2d_backward_kept_from_padded_with_bn_sums`]) it
/// merges those instead of reading x and dy for them.
#[allow(clippy::too_many_arguments)]
pub fn batch_norm_act_backward_padded(
    x: &Tensor,
    gamma: &Tensor,
    beta: &Tensor,
    saved: &BatchNormSaved,
    dy: &Tensor,
    act: Activation,
    layout: &Conv2dPaddedLayout,
    sums: Option<&BnSumParts>,
) -> Result<Option<(Tensor, Tensor, Tensor)>> {
    backward(
        "batch_norm_act_backward_padded",
        x,
        gamma,
        beta,
        saved,
        dy,
        act,
        Some(layout),
        sums,
    )
}

/// The per-channel records `(mean, invstd·γ, β, invstd)` a convolution's dX
/// epilogue reduces batch norm's backward sums with
/// ([`crate::ops::conv2d::BnSumsOperands`]): the forward's where `saved` kept
/// them, else computed from `gamma`, `beta` and the saved statistics.
pub fn batch_norm_grad_records(
    gamma: &Tensor,
    beta: &Tensor,
    saved: &BatchNormSaved,
) -> Result<Tensor> {
    let op = "batch_norm_grad_records";
    let c = saved.mean.numel();
    for (t, name) in [
        (gamma, "gamma"),
        (beta, "beta"),
        (&saved.invstd, "saved invstd"),
    ] {
        per_channel(t, op, name, c)?;
    }
    match &saved.records {
        Some(r) if r.numel() == 4 * c => Ok(r.clone()),
        _ => records(&saved.mean, &saved.invstd, gamma, beta, c, 0.0, false),
    }
}
