//! 2-D pooling with PyTorch's exact semantics: `max_pool2d` (with indices),
//! `avg_pool2d`, `adaptive_avg_pool2d`, `global_avg_pool2d`, and their
//! backwards (`max_pool2d.wgsl`, `avg_pool2d.wgsl`).
//!
//! Inputs are `[N, C, H, W]`. Every backward is a gather (one invocation per
//! input element visits the output windows that cover it), so overlapping
//! windows accumulate without atomics or races. Tensors larger than one
//! storage binding are processed a run of `(n, c)` planes at a time.

use std::cell::Cell;

use crate::device::{Arg, Device};
use crate::error::{shape_err, Error, Result};
use crate::kernel::Kernel;
use crate::tensor::{DType, Tensor};
use crate::texels::texel_kernel;

const MAX_FWD: Kernel = crate::kernel!("max_pool2d");
const MAX_BWD: Kernel = crate::kernel!("max_pool2d", "backward");
const MAX_BWD_COLS8: Kernel = crate::kernel!("max_pool2d", "backward_cols8");
const MAX_BWD_COLS8_DY4: Kernel =
    crate::kernel!("max_pool2d", "backward_cols8").with_defines(&["DY4"]);
const MAX_BWD_3X3S2: Kernel = crate::kernel!("max_pool2d", "backward_3x3s2").with_defines(&["DY4"]);
const MAX_FWD_ROW4: Kernel = crate::kernel!("max_pool2d", "main_row4");
const MAX_FWD_COLS4: Kernel = crate::kernel!("max_pool2d", "main_cols4");
const MAX_FWD_COLS4_SG: Kernel =
    crate::kernel!("max_pool2d", "main_cols4_sg").with_defines(&["SUBGROUPS"]);
const MAX_FWD_2X2: Kernel = crate::kernel!("max_pool2d", "main2x2");
const MAX_BWD_2X2: Kernel = crate::kernel!("max_pool2d", "backward2x2");
const AVG_FWD: Kernel = crate::kernel!("avg_pool2d");
const AVG_BWD: Kernel = crate::kernel!("avg_pool2d", "backward");
const AVG_FWD_2X2: Kernel = crate::kernel!("avg_pool2d", "main2x2");
const AVG_BWD_2X2: Kernel = crate::kernel!("avg_pool2d", "backward2x2");
const ADAPTIVE_FWD: Kernel = crate::kernel!("avg_pool2d", "adaptive");
const GLOBAL4: Kernel = crate::kernel!("avg_pool2d", "global4");
const GLOBAL4_BWD: Kernel = crate::kernel!("avg_pool2d", "global4_backward");
const ADAPTIVE_BWD: Kernel = crate::kernel!("avg_pool2d", "adaptive_backward");

// ---------------------------------------------------------------------------
// Splitting launches to fit one storage binding (shared with batch_norm and
// dropout).
// ---------------------------------------------------------------------------

thread_local! {
    static BINDING_LIMIT: Cell<Option<u64>> = const { Cell::new(None) };
}

/// Runs `f` with the per-binding byte limit that pooling, batch norm and
/// dropout split their launches by lowered to `bytes` on this thread, so tests
/// can exercise the multi-launch paths on small tensors.
#[doc(hidden)]
pub fn with_binding_limit<R>(bytes: u64, f: impl FnOnce() -> R) -> R {
    let old = BINDING_LIMIT.with(|l| l.replace(Some(bytes)));
    let r = f();
    BINDING_LIMIT.with(|l| l.set(old));
    r
}

/// The byte limit launches are split by: the device's, or a test override.
pub(crate) fn binding_limit(dev: &Device) -> u64 {
    BINDING_LIMIT
        .with(|l| l.get())
        .unwrap_or_else(|| dev.max_binding_bytes())
        .min(dev.max_binding_bytes())
}

/// Elements a binding window may need beyond its data to start aligned.
fn align_elems(dev: &Device) -> usize {
    (dev.storage_offset_align() / 4).max(1) as usize
}

/// Splits `units` units (planes, images) of at most `unit_elems` f32 elements
/// per bound tensor into runs `[u0, u1)` whose aligned windows fit the binding
/// limit. A single unit too large for one binding is an [`Error::Limit`].
pub(crate) fn unit_runs(
    dev: &Device,
    op: &'static str,
    units: usize,
    unit_elems: usize,
) -> Result<Vec<(usize, usize)>> {
    let limit = binding_limit(dev);
    let max_elems = (limit / 4) as usize;
    // Room to start the window aligned, and to round a vec4 view up.
    let slack = align_elems(dev) + 3;
    let per_run = max_elems.saturating_sub(slack) / unit_elems.max(1);
    if per_run == 0 {
        return Err(Error::Limit {
            what: format!("{op}: bytes of one plane in one storage binding"),
            requested: ((unit_elems + slack) * 4) as u64,
            limit,
        });
    }
    let mut out = Vec::new();
    let mut u = 0;
    while u < units {
        let end = (u + per_run).min(units);
        out.push((u, end));
        u = end;
    }
    Ok(out)
}

/// Binding of elements `[start, end)` of `t`: the window starts at the aligned
/// offset at or below `start`; the second value is `start`'s index in it.
pub(crate) fn window(t: &Tensor, start: usize, end: usize) -> (Arg<'_>, u32) {
    let a = align_elems(t.device());
    let s = start / a * a;
    let arg = Arg::window(t.buffer(), (s * 4) as u64, ((end - s).max(1) * 4) as u64);
    (arg, (start - s) as u32)
}

/// Like [`window`], for a read-only `array<vec4<f32>>` view: the size is
/// rounded up to whole vec4s (pooled buffers are larger than their tensors'
/// data, in multiples of 64 bytes, so the rounded window stays inside).
pub(crate) fn window_vec4(t: &Tensor, start: usize, end: usize) -> Result<(Arg<'_>, u32)> {
    let a = align_elems(t.device());
    let s = start / a * a;
    let want = (((end - s).max(1) * 4) as u64).div_ceil(16) * 16;
    let room = t.buffer().size().saturating_sub((s * 4) as u64) / 16 * 16;
    if want > room {
        return Err(Error::Limit {
            what: "bytes of a vec4 view past the end of its buffer".into(),
            requested: want,
            limit: room,
        });
    }
    Ok((
        Arg::window(t.buffer(), (s * 4) as u64, want),
        (start - s) as u32,
    ))
}

fn inv(v: usize) -> f32 {
    1.0 / v.max(1) as f32
}

// ---------------------------------------------------------------------------
// Configuration
// ---------------------------------------------------------------------------

/// Window of `max_pool2d` / `avg_pool2d`, as PyTorch's arguments
/// (`[height, width]` pairs).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pool2dConfig {
    /// Window size.
    pub kernel: [usize; 2],
    /// Step between windows (PyTorch's default: the window size).
    pub stride: [usize; 2],
    /// Implicit padding on each side, at most half the window.
    pub padding: [usize; 2],
    /// Spacing of the window's taps (max pooling only; 1 for average pooling).
    pub dilation: [usize; 2],
    /// Round the output size up (the last window must still start inside the
    /// input or its left padding).
    pub ceil_mode: bool,
}

impl Pool2dConfig {
    /// A `kernel` window with PyTorch's defaults: stride = kernel, no padding,
    /// no dilation, floor mode.
    pub fn new(kernel: [usize; 2]) -> Self {
        Pool2dConfig {
            kernel,
            stride: kernel,
            padding: [0, 0],
            dilation: [1, 1],
            ceil_mode: false,
        }
    }

    /// A square `k x k` window with PyTorch's defaults (stride `k`).
    pub fn square(k: usize) -> Self {
        Self::new([k, k])
    }

    /// The same window with another stride.
    pub fn with_stride(mut self, stride: [usize; 2]) -> Self {
        self.stride = stride;
        self
    }

    /// The same window with another padding.
    pub fn with_padding(mut self, padding: [usize; 2]) -> Self {
        self.padding = padding;
        self
    }

    /// The same window with another dilation.
    pub fn with_dilation(mut self, dilation: [usize; 2]) -> Self {
        self.dilation = dilation;
        self
    }

    /// The same window with `ceil_mode` set.
    pub fn with_ceil_mode(mut self, ceil_mode: bool) -> Self {
        self.ceil_mode = ceil_mode;
        self
    }

    /// Which kernel max / average pooling of an `h x w` input runs:
    /// `"2x2_vec4"` (the vectorized 2x2 stride-2 kernels; the backward also
    /// needs the windows to tile the input exactly), `"3x3s2"` (max pooling's
    /// backward for the ResNet stem's 3x3 stride-2 padding-1 window on whole
    /// vec4 rows; a split launch whose bound windows are not vec4-aligned falls
    /// back to the generic kernels) or `"generic"`.
    pub fn kernel_variant(&self, h: usize, w: usize, backward: bool) -> &'static str {
        match self.output_size("kernel_variant", h, w) {
            Ok((ho, wo))
                if is_2x2(self, h, w, ho, wo) && (!backward || (h == 2 * ho && w == 2 * wo)) =>
            {
                "2x2_vec4"
            }
            Ok((ho, wo)) if backward && is_stem_3x3s2(self, h, w, ho, wo) => "3x3s2",
            _ => "generic",
        }
    }

    /// Output size `(h_out, w_out)` for an `h x w` input per PyTorch's
    /// `pooling_output_shape`, or a typed error naming the numbers when a
    /// size is zero, the padding exceeds half the window, or the output would
    /// be smaller than 1x1.
    pub fn output_size(&self, op: &'static str, h: usize, w: usize) -> Result<(usize, usize)> {
        for (name, v) in [
            ("kernel", self.kernel),
            ("stride", self.stride),
            ("dilation", self.dilation),
        ] {
            if v.contains(&0) {
                return shape_err(op, format!("{name} must be nonzero, got {v:?}"));
            }
        }
        for a in 0..2 {
            if self.padding[a] > self.kernel[a] / 2 {
                return shape_err(
                    op,
                    format!(
                        "padding should be at most half of the kernel size, got padding {:?} for kernel {:?}",
                        self.padding, self.kernel
                    ),
                );
            }
        }
        let out = |a: usize, size: usize| -> i64 {
            let (size, k, p, s, d) = (
                size as i64,
                self.kernel[a] as i64,
                self.padding[a] as i64,
                self.stride[a] as i64,
                self.dilation[a] as i64,
            );
            let numer = size + 2 * p - d * (k - 1) - 1 + if self.ceil_mode { s - 1 } else { 0 };
            let mut o = numer.div_euclid(s) + 1;
            if self.ceil_mode && (o - 1) * s >= size + p {
                o -= 1;
            }
            o
        };
        let (ho, wo) = (out(0, h), out(1, w));
        if ho < 1 || wo < 1 {
            return shape_err(
                op,
                format!(
                    "output size too small: input {h}x{w}, kernel {:?}, stride {:?}, padding {:?}, dilation {:?}, ceil_mode {} gives {ho}x{wo}",
                    self.kernel, self.stride, self.padding, self.dilation, self.ceil_mode
                ),
            );
        }
        Ok((ho as usize, wo as usize))
    }
}

/// `[N, C, H, W]` of an f32 input, with every size nonzero.
fn input_dims(x: &Tensor, op: &'static str) -> Result<[usize; 4]> {
    x.expect_dtype(op, DType::F32)?;
    dims_of(x.shape(), op)
}

fn dims_of(shape: &[usize], op: &'static str) -> Result<[usize; 4]> {
    match *shape {
        [n, c, h, w] if n > 0 && c > 0 && h > 0 && w > 0 => Ok([n, c, h, w]),
        [_, _, _, _] => shape_err(op, format!("input shape {shape:?} has a zero size")),
        _ => shape_err(op, format!("expected an [N, C, H, W] input, got {shape:?}")),
    }
}

fn expect_shape(t: &Tensor, op: &'static str, what: &str, want: &[usize]) -> Result<()> {
    if t.shape() != want {
        return shape_err(
            op,
            format!("{what} has shape {:?}, expected {want:?}", t.shape()),
        );
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// Max pooling
// ---------------------------------------------------------------------------

/// Mirrors `struct Params` in shaders/max_pool2d.wgsl.
#[repr(C)]
#[derive(Clone, Copy, Debug, bytemuck::Pod, bytemuck::Zeroable)]
struct MaxParams {
    planes: u32,
    h: u32,
    w: u32,
    ho: u32,
    wo: u32,
    kh: u32,
    kw: u32,
    sh: u32,
    sw: u32,
    ph: u32,
    pw: u32,
    dh: u32,
    dw: u32,
    x_base: u32,
    y_base: u32,
    i_base: u32,
    inv_wo: f32,
    inv_plane_out: f32,
    inv_w: f32,
    inv_plane_in: f32,
    inv_sh: f32,
    inv_sw: f32,
    _pad0: u32,
    _pad1: u32,
}

/// Whether the vectorized 2x2 kernels apply: a 2x2 stride-2 window without
/// padding or dilation, every window inside the input (not a ceil-mode
/// partial one), and rows of a multiple of 4 elements (so every window row is
/// half of an aligned vec4, and every plane starts on a vec4).
fn is_2x2(cfg: &Pool2dConfig, h: usize, w: usize, ho: usize, wo: usize) -> bool {
    cfg.kernel == [2, 2]
        && cfg.stride == [2, 2]
        && cfg.padding == [0, 0]
        && cfg.dilation == [1, 1]
        && 2 * ho <= h
        && 2 * wo <= w
        && w.is_multiple_of(4)
}

impl MaxParams {
    /// With `tile` (the 2x2 kernels, two outputs per invocation), `inv_wo` and
    /// `inv_plane_out` hold the reciprocals of `wo / 2` and `ho * wo / 2`.
    fn new(cfg: &Pool2dConfig, h: usize, w: usize, ho: usize, wo: usize, tile: bool) -> Self {
        let pair = if tile { 2 } else { 1 };
        MaxParams {
            planes: 0,
            h: h as u32,
            w: w as u32,
            ho: ho as u32,
            wo: wo as u32,
            kh: cfg.kernel[0] as u32,
            kw: cfg.kernel[1] as u32,
            sh: cfg.stride[0] as u32,
            sw: cfg.stride[1] as u32,
            ph: cfg.padding[0] as u32,
            pw: cfg.padding[1] as u32,
            dh: cfg.dilation[0] as u32,
            dw: cfg.dilation[1] as u32,
            x_base: 0,
            y_base: 0,
            i_base: 0,
            inv_wo: inv(wo / pair),
            inv_plane_out: inv(ho * wo / pair),
            inv_w: inv(w),
            inv_plane_in: inv(h * w),
            inv_sh: inv(cfg.stride[0]),
            inv_sw: inv(cfg.stride[1]),
            _pad0: 0,
            _pad1: 0,
        }
    }
}

/// `torch.nn.functional.max_pool2d(x, kernel, stride, padding, dilation,
/// ceil_mode, return_indices=True)`: returns `(y, indices)`, both
/// `[N, C, H_out, W_out]`; `indices` (U32) are flat `ih * W + iw` offsets
/// within each `(n, c)` plane. Padding acts as -inf; among equal maxima the
/// first in row-major scan order wins; a NaN propagates (its index is the last
/// NaN of the window).
pub fn max_pool2d(x: &Tensor, cfg: &Pool2dConfig) -> Result<(Tensor, Tensor)> {
    let op = "max_pool2d";
    let [n, c, h, w] = input_dims(x, op)?;
    let (ho, wo) = cfg.output_size(op, h, w)?;
    let dev = x.device();
    let y = Tensor::uninit(dev, &[n, c, ho, wo], DType::F32)?;
    let indices = Tensor::uninit(dev, &[n, c, ho, wo], DType::U32)?;
    let tile = is_2x2(cfg, h, w, ho, wo);
    let wg = dev.elementwise_workgroup();
    // Four outputs of a column per invocation down the whole plane, vec4 stores
    // (main_cols4), where row4 applies and the planes' outputs are whole vec4s; it
    // reads x from storage (each x vec4 about once: a texel copy would cost more than
    // it saves). The other generic kernels read x as a texel operand where it fits.
    let cols4 = !tile
        && row4_window(cfg, w).is_some()
        && cfg.kernel[0] <= 16
        && wo.is_multiple_of(4)
        && (ho * wo).is_multiple_of(4);
    let tex = if tile || cols4 {
        None
    } else {
        dev.texel_copies(&[x])?
    };
    let x_tex = tex.as_ref().map(|t| &t[0]);
    for (p0, p1) in unit_runs(dev, op, n * c, h * w)? {
        let (xa, x_base) = match x_tex {
            Some(t) => (Arg::texels(t), (p0 * h * w) as u32),
            None => window(x, p0 * h * w, p1 * h * w),
        };
        let (ya, y_base) = window(&y, p0 * ho * wo, p1 * ho * wo);
        let (ia, i_base) = window(&indices, p0 * ho * wo, p1 * ho * wo);
        // Vec4 rows and vec2 outputs need aligned starts (always so when w % 4 == 0).
        let use_tile = tile
            && x_base.is_multiple_of(4)
            && y_base.is_multiple_of(2)
            && i_base.is_multiple_of(2);
        let params = MaxParams {
            planes: (p1 - p0) as u32,
            x_base,
            y_base,
            i_base,
            ..MaxParams::new(cfg, h, w, ho, wo, use_tile)
        };
        let row4 = row4_window(cfg, w).filter(|_| !use_tile && x_base.is_multiple_of(4));
        let (kernel, per_plane, constants) = if use_tile {
            (MAX_FWD_2X2, ho * wo / 2, vec![("WG", f64::from(wg))])
        } else {
            let elements = (p1 - p0) * (h * w).max(ho * wo) + x_base as usize;
            let mut constants = max_window_constants(cfg, wg, elements);
            match row4 {
                Some((shift, nv))
                    if cols4 && y_base.is_multiple_of(4) && i_base.is_multiple_of(4) =>
                {
                    constants.extend([("SHIFT", shift as f64), ("NV", nv as f64)]);
                    // Neighbouring groups' shared texels by subgroup shuffles where the
                    // adapter has one subgroup size that divides the workgroup.
                    match super::conv2d::subgroup_size(dev) {
                        Ok(sg) if (wg as usize).is_multiple_of(sg) => {
                            constants.push(("SG", sg as f64));
                            (MAX_FWD_COLS4_SG, wo / 4, constants)
                        }
                        _ => (MAX_FWD_COLS4, wo / 4, constants),
                    }
                }
                Some((shift, nv)) => {
                    constants.extend([("SHIFT", shift as f64), ("NV", nv as f64)]);
                    (MAX_FWD_ROW4, ho * wo.div_ceil(4), constants)
                }
                None => (MAX_FWD, ho * wo, constants),
            }
        };
        let (kernel, constants) = texel_kernel(dev, kernel, x_tex.is_some(), &constants);
        dev.launch(
            &kernel,
            &constants,
            &params,
            &[xa, ya, ia],
            dev.grid_1d(((p1 - p0) * per_plane) as u64, wg)?,
        )?;
    }
    Ok((y, indices))
}

/// The four-output forward's window (`main_row4` in max_pool2d.wgsl): the
/// component where each group's window starts in its texel (SHIFT) and the
/// vec4s of one window row (NV), where it applies (dilation 1, rows of whole
/// texels, at most 4 vec4s).
fn row4_window(cfg: &Pool2dConfig, w: usize) -> Option<(usize, usize)> {
    let shift = (4 - cfg.padding[1] % 4) % 4;
    let nv = (shift + 3 * cfg.stride[1] + cfg.kernel[1]).div_ceil(4);
    (cfg.dilation == [1, 1] && w.is_multiple_of(4) && nv <= 4).then_some((shift, nv))
}

/// The generic max-pool kernels' specialization (max_pool2d.wgsl): the window's
/// kernel and stride as constants (fixed tap loops), DIL1 for dilation 1, and
/// SMALL_INDEX where every element index of the launch is below 2^24.
fn max_window_constants(cfg: &Pool2dConfig, wg: u32, elements: usize) -> Vec<(&'static str, f64)> {
    let c = |v: usize| v as f64;
    vec![
        ("WG", f64::from(wg)),
        ("KH", c(cfg.kernel[0])),
        ("KW", c(cfg.kernel[1])),
        ("SH", c(cfg.stride[0])),
        ("SW", c(cfg.stride[1])),
        ("DIL1", c(usize::from(cfg.dilation == [1, 1]))),
        ("SMALL_INDEX", c(usize::from(elements < 1 << 24))),
    ]
}

/// Whether `backward_3x3s2` fits: the 3x3 stride-2 window with padding 1 and
/// dilation 1 (the ResNet stem's), every dx row reached (h is 2 ho or 2 ho - 1),
/// w == 2 wo with wo a multiple of 4 (whole, aligned vec4 rows of dx and dy).
fn is_stem_3x3s2(cfg: &Pool2dConfig, h: usize, w: usize, ho: usize, wo: usize) -> bool {
    cfg.kernel == [3, 3]
        && cfg.stride == [2, 2]
        && cfg.padding == [1, 1]
        && cfg.dilation == [1, 1]
        && (h == 2 * ho || h + 1 == 2 * ho)
        && w == 2 * wo
        && wo.is_multiple_of(4)
}

/// Whether `backward_cols8` may read an output row's windows as aligned vec4s
/// (`DY4`; the bound windows' starts are checked by the caller): a stride of 1 or
/// 2 keeps `iw0 / sw` (iw0 a multiple of 8) a multiple of 4, so each group's first
/// window sits at a fixed offset from an aligned vec4; `wo % 4 == 0` keeps rows
/// aligned, and the vec4s covering the windows must fit the kernel's `DY4_MAX` (4).
fn cols8_dy_vec4(cfg: &Pool2dConfig, wo: usize) -> bool {
    let (kw, sw, pw) = (cfg.kernel[1], cfg.stride[1], cfg.padding[1]);
    if !(sw == 1 || sw == 2) || !wo.is_multiple_of(4) {
        return false;
    }
    // As the kernel computes them: nw windows per group, the first at iw0 / sw + f0.
    let nw = (kw + 6) / sw + 1;
    let f0 = ((7 + pw) / sw) as i64 - (nw as i64 - 1);
    let shift = f0.rem_euclid(4) as usize;
    (shift + nw).div_ceil(4) <= 4
}

/// Backward of [`max_pool2d`]: `dx` of shape `x_shape`, where each input
/// element receives the sum of `dy` over the output windows whose index
/// points at it.
pub fn max_pool2d_backward(
    dy: &Tensor,
    indices: &Tensor,
    x_shape: &[usize],
    cfg: &Pool2dConfig,
) -> Result<Tensor> {
    let op = "max_pool2d_backward";
    dy.expect_dtype(op, DType::F32)?;
    indices.expect_dtype(op, DType::U32)?;
    let [n, c, h, w] = dims_of(x_shape, op)?;
    let (ho, wo) = cfg.output_size(op, h, w)?;
    expect_shape(dy, op, "dy", &[n, c, ho, wo])?;
    expect_shape(indices, op, "indices", &[n, c, ho, wo])?;
    let dev = dy.device();
    let dx = Tensor::uninit(dev, x_shape, DType::F32)?;
    // The vectorized backward also needs the windows to tile the input exactly.
    let tile = is_2x2(cfg, h, w, ho, wo) && h == 2 * ho && w == 2 * wo;
    let stem = is_stem_3x3s2(cfg, h, w, ho, wo);
    let wg = dev.elementwise_workgroup();
    for (p0, p1) in unit_runs(dev, op, n * c, (h * w).max(ho * wo))? {
        let (da, y_base) = window(dy, p0 * ho * wo, p1 * ho * wo);
        let (ia, i_base) = window(indices, p0 * ho * wo, p1 * ho * wo);
        let (xa, x_base) = window(&dx, p0 * h * w, p1 * h * w);
        // Vec4 rows and vec2 outputs need aligned starts (always so when w % 4 == 0).
        let use_tile = tile
            && x_base.is_multiple_of(4)
            && y_base.is_multiple_of(2)
            && i_base.is_multiple_of(2);
        let params = MaxParams {
            planes: (p1 - p0) as u32,
            x_base,
            y_base,
            i_base,
            ..MaxParams::new(cfg, h, w, ho, wo, use_tile)
        };
        let (kernel, per_plane, constants) = if use_tile {
            (&MAX_BWD_2X2, ho * wo / 2, vec![("WG", f64::from(wg))])
        } else if stem && [x_base, y_base, i_base].iter().all(|b| b.is_multiple_of(4)) {
            let elements = (p1 - p0) * h * w;
            (
                &MAX_BWD_3X3S2,
                w / 8,
                vec![
                    ("WG", f64::from(wg)),
                    ("SMALL_INDEX", f64::from(u8::from(elements < 1 << 24))),
                ],
            )
        } else {
            let elements = (p1 - p0) * (h * w).max(ho * wo) + y_base.max(i_base) as usize;
            let constants = max_window_constants(cfg, wg, elements);
            // Dilation 1, at most 16 kernel rows and stride, whole vec4 rows: eight
            // columns of a plane per invocation (backward_cols8), else one element.
            if cfg.dilation == [1, 1]
                && cfg.kernel[0] <= 16
                && cfg.stride[0] <= 16
                && w.is_multiple_of(4)
                && x_base.is_multiple_of(4)
            {
                let mut constants = constants;
                constants.push(("PW", cfg.padding[1] as f64));
                let dy_vec4 =
                    cols8_dy_vec4(cfg, wo) && y_base.is_multiple_of(4) && i_base.is_multiple_of(4);
                let kernel = if dy_vec4 {
                    &MAX_BWD_COLS8_DY4
                } else {
                    &MAX_BWD_COLS8
                };
                (kernel, w.div_ceil(8), constants)
            } else {
                (&MAX_BWD, h * w, constants)
            }
        };
        dev.launch(
            kernel,
            &constants,
            &params,
            &[da, ia, xa],
            dev.grid_1d(((p1 - p0) * per_plane) as u64, wg)?,
        )?;
    }
    Ok(dx)
}

// ---------------------------------------------------------------------------
// Average pooling
// ---------------------------------------------------------------------------

/// Mirrors `struct Params` in shaders/avg_pool2d.wgsl.
#[repr(C)]
#[derive(Clone, Copy, Debug, bytemuck::Pod, bytemuck::Zeroable)]
struct AvgParams {
    planes: u32,
    h: u32,
    w: u32,
    ho: u32,
    wo: u32,
    kh: u32,
    kw: u32,
    sh: u32,
    sw: u32,
    ph: u32,
    pw: u32,
    count_include_pad: u32,
    divisor: u32,
    x_base: u32,
    y_base: u32,
    _pad0: u32,
    inv_wo: f32,
    inv_ho: f32,
    inv_w: f32,
    inv_h: f32,
    inv_plane_out: f32,
    inv_plane_in: f32,
    inv_sh: f32,
    inv_sw: f32,
}

/// Window, stride, padding and divisor rule of one average pooling (all ones
/// for the adaptive kernels, which do not read them).
#[derive(Clone, Copy, PartialEq, Eq)]
struct AvgRule {
    kernel: [usize; 2],
    stride: [usize; 2],
    padding: [usize; 2],
    count_include_pad: bool,
    divisor: usize,
}

const ADAPTIVE_RULE: AvgRule = AvgRule {
    kernel: [1, 1],
    stride: [1, 1],
    padding: [0, 0],
    count_include_pad: false,
    divisor: 0,
};

/// The vec4 kernel an average-pool launch takes instead of its generic one where it
/// applies (and the bound windows are aligned).
#[derive(Clone, Copy)]
enum AvgVec4 {
    /// None.
    No,
    /// A 2x2 stride-2 kernel (`main2x2` / `backward2x2`), where the windows tile 2x2
    /// (also the stride-2 subsample, with POINT).
    Tile2x2(&'static Kernel),
    /// `global4` / `global4_backward`: global pooling of planes of whole vec4s (the
    /// caller checked).
    Global4(&'static Kernel),
}

/// One average-pool family launch over all planes: forward when `backward`
/// is false (`src` = x, `dst` = y), else backward (`src` = dy, `dst` = dx).
#[allow(clippy::too_many_arguments)]
fn avg_launch(
    op: &'static str,
    kernel: &Kernel,
    src: &Tensor,
    dst: &Tensor,
    [n, c, h, w]: [usize; 4],
    [ho, wo]: [usize; 2],
    rule: AvgRule,
    backward: bool,
    vec4: AvgVec4,
) -> Result<()> {
    let dev = src.device();
    let wg = dev.elementwise_workgroup();
    let cfg = Pool2dConfig {
        kernel: rule.kernel,
        stride: rule.stride,
        padding: rule.padding,
        dilation: [1, 1],
        ceil_mode: false,
    };
    // The adaptive kernels' single-bin case (GLOBAL) and the window kernels'
    // strided subsample (POINT); each kernel reads only its own.
    let global = rule == ADAPTIVE_RULE && ho == 1 && wo == 1;
    let point = rule != ADAPTIVE_RULE && rule.kernel == [1, 1] && rule.padding == [0, 0];
    let tile = match vec4 {
        AvgVec4::No => false,
        // 2x2 windows of stride 2, or (POINT) the stride-2 subsample.
        AvgVec4::Tile2x2(_) => {
            let tile_cfg = Pool2dConfig {
                kernel: [2, 2],
                ..cfg
            };
            (cfg.kernel == [2, 2] || point)
                && is_2x2(&tile_cfg, h, w, ho, wo)
                && (!backward || (h == 2 * ho && w == 2 * wo))
        }
        AvgVec4::Global4(_) => true,
    };
    let base = AvgParams {
        planes: 0,
        h: h as u32,
        w: w as u32,
        ho: ho as u32,
        wo: wo as u32,
        kh: rule.kernel[0] as u32,
        kw: rule.kernel[1] as u32,
        sh: rule.stride[0] as u32,
        sw: rule.stride[1] as u32,
        ph: rule.padding[0] as u32,
        pw: rule.padding[1] as u32,
        count_include_pad: u32::from(rule.count_include_pad),
        divisor: rule.divisor as u32,
        x_base: 0,
        y_base: 0,
        _pad0: 0,
        inv_wo: inv(wo),
        inv_ho: inv(ho),
        inv_w: inv(w),
        inv_h: inv(h),
        inv_plane_out: inv(ho * wo),
        inv_plane_in: inv(h * w),
        inv_sh: inv(rule.stride[0]),
        inv_sw: inv(rule.stride[1]),
    };
    for (p0, p1) in unit_runs(dev, op, n * c, (h * w).max(ho * wo))? {
        // x_base locates x (or dx), y_base y (or dy), whichever is src or dst.
        let (src_arg, dst_arg, x_base, y_base) = if backward {
            let (ya, y_base) = window(src, p0 * ho * wo, p1 * ho * wo);
            let (xa, x_base) = window(dst, p0 * h * w, p1 * h * w);
            (ya, xa, x_base, y_base)
        } else {
            let (xa, x_base) = window(src, p0 * h * w, p1 * h * w);
            let (ya, y_base) = window(dst, p0 * ho * wo, p1 * ho * wo);
            (xa, ya, x_base, y_base)
        };
        let use_tile = tile && x_base.is_multiple_of(4) && y_base.is_multiple_of(2);
        let params = AvgParams {
            planes: (p1 - p0) as u32,
            x_base,
            y_base,
            ..base
        };
        let (kernel, params, per_plane) = match vec4 {
            // One invocation per plane forward, per dx vec4 backward.
            AvgVec4::Global4(k) if use_tile => (k, params, if backward { h * w / 4 } else { 1 }),
            AvgVec4::Tile2x2(k) if use_tile => (
                k,
                AvgParams {
                    inv_wo: inv(wo / 2),
                    inv_plane_out: inv(ho * wo / 2),
                    ..params
                },
                ho * wo / 2,
            ),
            // The subsample's backward (POINT) runs per output, the others per input.
            _ if backward && !point => (kernel, params, h * w),
            _ => (kernel, params, ho * wo),
        };
        dev.launch(
            kernel,
            &[
                ("WG", f64::from(wg)),
                ("GLOBAL", f64::from(u8::from(global))),
                ("POINT", f64::from(u8::from(point))),
            ],
            &params,
            &[src_arg, dst_arg],
            dev.grid_1d(((p1 - p0) * per_plane) as u64, wg)?,
        )?;
    }
    Ok(())
}

fn avg_rule(
    op: &'static str,
    cfg: &Pool2dConfig,
    count_include_pad: bool,
    divisor_override: Option<usize>,
) -> Result<AvgRule> {
    if cfg.dilation != [1, 1] {
        return shape_err(
            op,
            format!(
                "average pooling has no dilation, got dilation {:?}",
                cfg.dilation
            ),
        );
    }
    let divisor = match divisor_override {
        Some(0) => return shape_err(op, "divisor_override must be nonzero, got 0"),
        Some(d) if d > u32::MAX as usize => {
            return shape_err(op, format!("divisor_override {d} does not fit 32 bits"))
        }
        Some(d) => d,
        None => 0,
    };
    Ok(AvgRule {
        kernel: cfg.kernel,
        stride: cfg.stride,
        padding: cfg.padding,
        count_include_pad,
        divisor,
    })
}

/// `torch.nn.functional.avg_pool2d(x, kernel, stride, padding, ceil_mode,
/// count_include_pad, divisor_override)`. The window is clipped to the padded
/// extent; the divisor is `divisor_override`, else (with `count_include_pad`)
/// the clipped window's size, else the number of in-image cells. `cfg.dilation`
/// must be `[1, 1]`.
pub fn avg_pool2d(
    x: &Tensor,
    cfg: &Pool2dConfig,
    count_include_pad: bool,
    divisor_override: Option<usize>,
) -> Result<Tensor> {
    let op = "avg_pool2d";
    let dims = input_dims(x, op)?;
    let rule = avg_rule(op, cfg, count_include_pad, divisor_override)?;
    let (ho, wo) = cfg.output_size(op, dims[2], dims[3])?;
    let y = Tensor::uninit(x.device(), &[dims[0], dims[1], ho, wo], DType::F32)?;
    avg_launch(
        op,
        &AVG_FWD,
        x,
        &y,
        dims,
        [ho, wo],
        rule,
        false,
        AvgVec4::Tile2x2(&AVG_FWD_2X2),
    )?;
    Ok(y)
}

/// Backward of [`avg_pool2d`]: `dx` of shape `x_shape`, each input element
/// receiving `dy / divisor` of every window that covers it.
pub fn avg_pool2d_backward(
    dy: &Tensor,
    x_shape: &[usize],
    cfg: &Pool2dConfig,
    count_include_pad: bool,
    divisor_override: Option<usize>,
) -> Result<Tensor> {
    let op = "avg_pool2d_backward";
    dy.expect_dtype(op, DType::F32)?;
    let dims = dims_of(x_shape, op)?;
    let rule = avg_rule(op, cfg, count_include_pad, divisor_override)?;
    let (ho, wo) = cfg.output_size(op, dims[2], dims[3])?;
    expect_shape(dy, op, "dy", &[dims[0], dims[1], ho, wo])?;
    let dx = Tensor::uninit(dy.device(), x_shape, DType::F32)?;
    avg_launch(
        op,
        &AVG_BWD,
        dy,
        &dx,
        dims,
        [ho, wo],
        rule,
        true,
        AvgVec4::Tile2x2(&AVG_BWD_2X2),
    )?;
    Ok(dx)
}

/// `torch.nn.functional.adaptive_avg_pool2d(x, (out_h, out_w))`: output bin
/// `i` averages inputs `floor(i*H/out_h) .. ceil((i+1)*H/out_h)` (bins may
/// overlap, and `out` may exceed the input size).
pub fn adaptive_avg_pool2d(x: &Tensor, out_h: usize, out_w: usize) -> Result<Tensor> {
    let op = "adaptive_avg_pool2d";
    let dims = input_dims(x, op)?;
    if out_h == 0 || out_w == 0 {
        return shape_err(
            op,
            format!("output size must be at least 1x1, got {out_h}x{out_w}"),
        );
    }
    let y = Tensor::uninit(x.device(), &[dims[0], dims[1], out_h, out_w], DType::F32)?;
    let vec4 = global4(dims, [out_h, out_w], &GLOBAL4);
    avg_launch(
        op,
        &ADAPTIVE_FWD,
        x,
        &y,
        dims,
        [out_h, out_w],
        ADAPTIVE_RULE,
        false,
        vec4,
    )?;
    Ok(y)
}

/// Global pooling of planes of whole vec4s takes `kernel` (`global4` or its backward;
/// the launcher falls back where a bound window is not vec4-aligned).
fn global4(dims: [usize; 4], out: [usize; 2], kernel: &'static Kernel) -> AvgVec4 {
    if out == [1, 1] && (dims[2] * dims[3]).is_multiple_of(4) {
        AvgVec4::Global4(kernel)
    } else {
        AvgVec4::No
    }
}

/// Backward of [`adaptive_avg_pool2d`]; the output size is `dy`'s.
pub fn adaptive_avg_pool2d_backward(dy: &Tensor, x_shape: &[usize]) -> Result<Tensor> {
    let op = "adaptive_avg_pool2d_backward";
    dy.expect_dtype(op, DType::F32)?;
    let dims = dims_of(x_shape, op)?;
    let [_, _, oh, ow] = dims_of(dy.shape(), op)?;
    expect_shape(dy, op, "dy", &[dims[0], dims[1], oh, ow])?;
    let dx = Tensor::uninit(dy.device(), x_shape, DType::F32)?;
    avg_launch(
        op,
        &ADAPTIVE_BWD,
        dy,
        &dx,
        dims,
        [oh, ow],
        ADAPTIVE_RULE,
        true,
        global4(dims, [oh, ow], &GLOBAL4_BWD),
    )?;
    Ok(dx)
}

/// Global average pooling: [`adaptive_avg_pool2d`] to 1x1, `[N, C, 1, 1]`
/// (`flatten` then gives `[N, C]`).
pub fn global_avg_pool2d(x: &Tensor) -> Result<Tensor> {
    adaptive_avg_pool2d(x, 1, 1)
}

/// Backward of [`global_avg_pool2d`]: `dy` is `[N, C, 1, 1]` or `[N, C]`.
pub fn global_avg_pool2d_backward(dy: &Tensor, x_shape: &[usize]) -> Result<Tensor> {
    let dy = match *dy.shape() {
        [n, c] => dy.reshape(&[n, c, 1, 1])?,
        _ => dy.clone(),
    };
    adaptive_avg_pool2d_backward(&dy, x_shape)
}
