//! 2-D convolution, forward and backward, as `torch.nn.functional.conv2d`
//! (cross-correlation; NCHW input, OIHW weights `[c_out, c_in/groups, kh, kw]`).
//!
//! Variants (see [`Conv2dVariant`]) and when [`conv2d_variant`] picks each:
//! - `Direct` (`conv2d_direct.wgsl`): one invocation per output element; every
//!   shape, stride, padding, dilation and group count. The cross-check of the
//!   others; picked only when nothing faster applies.
//! - `Igemm` (`conv2d_igemm.wgsl`): implicit GEMM for `groups == 1` on adapters
//!   with subgroups of one fixed size. The input is copied once per call into a
//!   zero-padded NHWC buffer (channels padded to 4) and the weights into
//!   `[K][R][S][C]`, so that the inner loop reads vec4s along the reduction with
//!   no bounds checks; each lane owns `KB` output channels × `PB` pixels and the
//!   weights, common to all lanes, are loaded once per subgroup and shared with
//!   `subgroupShuffle`. dX is the same kernel on dY (zero-inserted for stride > 1,
//!   padded by `D(K-1) - pad`) with flipped, transposed weights; dW is
//!   `conv2d_igemm.wgsl`'s `weight_grad` entry (a split reduction over N·H·W,
//!   summed and turned back to OIHW by `conv2d_layout.wgsl`). A 1×1 convolution
//!   is the same kernel with R = S = 1: a plain GEMM over NHWC.
//! - `IgemmPortable` (`conv2d_igemm_portable.wgsl`): the same implicit GEMM
//!   without subgroup operations, for adapters that lack them.
//! - `Depthwise` (`conv2d_depthwise.wgsl`): `groups == c_in` (any channel
//!   multiplier); memory-bound, NCHW in place, register strips along the row.
//! - `Grouped` (`conv2d_grouped.wgsl`): `1 < groups`, register blocks of
//!   output channels of one group × pixels, all groups in one launch.
//!
//! Every variant can be forced through [`Conv2dOptions::variant`] (and the
//! `*_with` backward functions); forcing one that does not apply to the shape or
//! the adapter is an error, never a silent fallback, so a test that forces a
//! variant knows that variant ran.

use crate::device::{Arg, Device};
use crate::error::{shape_err, Error, Result};
use crate::kernel::Kernel;
use crate::ops::reduce;
use crate::tensor::{DType, Tensor};

const DIRECT_FWD: Kernel = crate::kernel!("conv2d_direct", "forward");
const DIRECT_DX: Kernel = crate::kernel!("conv2d_direct", "backward_input");
const DIRECT_DW: Kernel = crate::kernel!("conv2d_direct", "backward_weight");

const OP: &str = "conv2d";

/// Stride, padding, dilation and groups of a convolution (PyTorch's meaning).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Conv2dConfig {
    /// `[stride_h, stride_w]`.
    pub stride: [usize; 2],
    /// Zero padding `[top, bottom, left, right]`.
    pub padding: [usize; 4],
    /// `[dilation_h, dilation_w]` (1 = dense kernel).
    pub dilation: [usize; 2],
    /// Groups: `c_in` and `c_out` are split into `groups` independent convolutions.
    pub groups: usize,
}

impl Default for Conv2dConfig {
    fn default() -> Self {
        Conv2dConfig::valid()
    }
}

impl Conv2dConfig {
    /// Square stride and symmetric padding on all four sides; dilation 1, one group.
    pub fn new(stride: usize, padding: usize) -> Self {
        Conv2dConfig {
            stride: [stride, stride],
            padding: [padding; 4],
            dilation: [1, 1],
            groups: 1,
        }
    }

    /// Stride 1, no padding (PyTorch's `padding='valid'`).
    pub fn valid() -> Self {
        Conv2dConfig::new(1, 0)
    }

    /// PyTorch's `padding='same'` for a `kh × kw` kernel and stride 1: the total
    /// padding `dilation·(k−1)` is split with the extra pixel at the bottom/right.
    pub fn same(kh: usize, kw: usize, dilation: usize) -> Self {
        let split = |k: usize| {
            let total = dilation * k.saturating_sub(1);
            (total / 2, total - total / 2)
        };
        let (t, b) = split(kh);
        let (l, r) = split(kw);
        Conv2dConfig {
            stride: [1, 1],
            padding: [t, b, l, r],
            dilation: [dilation, dilation],
            groups: 1,
        }
    }

    /// With another stride `[h, w]`.
    pub fn with_stride(mut self, stride: [usize; 2]) -> Self {
        self.stride = stride;
        self
    }

    /// With asymmetric padding `[top, bottom, left, right]`.
    pub fn with_padding(mut self, padding: [usize; 4]) -> Self {
        self.padding = padding;
        self
    }

    /// With the same dilation along both axes.
    pub fn with_dilation(mut self, dilation: usize) -> Self {
        self.dilation = [dilation, dilation];
        self
    }

    /// With dilation `[h, w]`.
    pub fn with_dilation_hw(mut self, dilation: [usize; 2]) -> Self {
        self.dilation = dilation;
        self
    }

    /// With `groups` groups (`groups == c_in` is a depthwise convolution).
    pub fn with_groups(mut self, groups: usize) -> Self {
        self.groups = groups;
        self
    }

    /// Output shape `[n, c_out, h_out, w_out]` for an input `[n, c, h, w]` and a
    /// weight `[c_out, c_in/groups, kh, kw]`, with
    /// `h_out = floor((h + pt + pb − (dh·(kh−1)+1)) / sh) + 1` (likewise `w_out`).
    ///
    /// Errors (each naming the numbers): a zero size, stride, dilation or group
    /// count; `groups` not dividing `c` or `c_out`; the input's channels not
    /// matching the weight's `c_in/groups × groups`; an output below 1×1.
    pub fn output_size(&self, input: [usize; 4], weight: [usize; 4]) -> Result<[usize; 4]> {
        Geom::new(input, weight, self).map(|g| [g.n, g.k, g.oh, g.ow])
    }
}

/// The epilogue applied after the bias in the forward pass.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Activation {
    /// None.
    #[default]
    None,
    /// `max(v, 0)`.
    Relu,
    /// `min(max(v, 0), 6)`.
    Relu6,
}

/// The kernel families of the convolution; see the module documentation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Conv2dVariant {
    /// General kernel, one output per invocation; every configuration.
    Direct,
    /// Implicit GEMM with subgroup broadcast (`groups == 1`, subgroups of one size).
    Igemm,
    /// Implicit GEMM without subgroup operations (`groups == 1`).
    IgemmPortable,
    /// Depthwise (`groups == c_in`).
    Depthwise,
    /// Grouped (`groups > 1`), all groups in one launch.
    Grouped,
}

impl Conv2dVariant {
    /// Every variant, in the order of preference of the automatic choice.
    pub const ALL: [Conv2dVariant; 5] = [
        Conv2dVariant::Igemm,
        Conv2dVariant::IgemmPortable,
        Conv2dVariant::Depthwise,
        Conv2dVariant::Grouped,
        Conv2dVariant::Direct,
    ];

    /// Lower-case name (`direct`, `igemm`, ...), as the bench prints it.
    pub fn name(self) -> &'static str {
        match self {
            Conv2dVariant::Direct => "direct",
            Conv2dVariant::Igemm => "igemm",
            Conv2dVariant::IgemmPortable => "igemm_portable",
            Conv2dVariant::Depthwise => "depthwise",
            Conv2dVariant::Grouped => "grouped",
        }
    }
}

/// Which of the three computations a variant question is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Conv2dPass {
    /// `y = conv2d(x, w)`.
    Forward,
    /// `dx` from `dy` and `w`.
    BackwardInput,
    /// `dw` from `dy` and `x`.
    BackwardWeight,
}

/// Options of [`conv2d_with`]: a forced variant and the fused epilogue
/// `y = act(conv(x, w) + bias) + residual`.
#[derive(Clone, Copy, Debug, Default)]
pub struct Conv2dOptions<'a> {
    /// Run this variant (an error if it does not apply); `None` picks one.
    pub variant: Option<Conv2dVariant>,
    /// Activation after the bias.
    pub activation: Activation,
    /// A tensor of the output's shape added after the activation.
    pub residual: Option<&'a Tensor>,
}

/// Every number of one convolution problem, checked.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) struct Geom {
    pub n: usize,
    pub c: usize,
    pub h: usize,
    pub w: usize,
    pub k: usize,
    pub kh: usize,
    pub kw: usize,
    pub oh: usize,
    pub ow: usize,
    pub sh: usize,
    pub sw: usize,
    pub pt: usize,
    pub pb: usize,
    pub pl: usize,
    pub pr: usize,
    pub dh: usize,
    pub dw: usize,
    pub groups: usize,
    pub cig: usize,
    pub cog: usize,
}

impl Geom {
    fn new(input: [usize; 4], weight: [usize; 4], cfg: &Conv2dConfig) -> Result<Geom> {
        let [n, c, h, w] = input;
        let [k, cig, kh, kw] = weight;
        let named = [
            ("batch size n", n),
            ("input channels c", c),
            ("input height h", h),
            ("input width w", w),
            ("output channels c_out", k),
            ("weight input channels c_in/groups", cig),
            ("kernel height kh", kh),
            ("kernel width kw", kw),
            ("stride_h", cfg.stride[0]),
            ("stride_w", cfg.stride[1]),
            ("dilation_h", cfg.dilation[0]),
            ("dilation_w", cfg.dilation[1]),
            ("groups", cfg.groups),
        ];
        for (name, v) in named {
            if v == 0 {
                return shape_err(
                    OP,
                    format!("{name} must be at least 1 (input {input:?}, weight {weight:?}, {cfg:?})"),
                );
            }
        }
        let groups = cfg.groups;
        if c % groups != 0 {
            return shape_err(
                OP,
                format!("groups {groups} does not divide the input channels c {c}"),
            );
        }
        if k % groups != 0 {
            return shape_err(
                OP,
                format!("groups {groups} does not divide the output channels c_out {k}"),
            );
        }
        if cig * groups != c {
            return shape_err(
                OP,
                format!(
                    "channel mismatch: x {input:?} has c = {c} but w {weight:?} expects c_in/groups × groups = {cig} × {groups} = {}",
                    cig * groups
                ),
            );
        }
        let [sh, sw] = cfg.stride;
        let [pt, pb, pl, pr] = cfg.padding;
        let [dh, dw] = cfg.dilation;
        let out = |size: usize, pa: usize, pz: usize, kk: usize, s: usize, d: usize, what: &str| {
            let eff = d * (kk - 1) + 1;
            let total = size + pa + pz;
            if total < eff {
                shape_err(
                    OP,
                    format!(
                        "output {what} would be below 1: input {what} {size} + padding {pa}+{pz} = {total} is smaller than the dilated kernel {eff} (kernel {kk}, dilation {d})"
                    ),
                )
            } else {
                Ok((total - eff) / s + 1)
            }
        };
        let oh = out(h, pt, pb, kh, sh, dh, "height")?;
        let ow = out(w, pl, pr, kw, sw, dw, "width")?;
        Ok(Geom {
            n,
            c,
            h,
            w,
            k,
            kh,
            kw,
            oh,
            ow,
            sh,
            sw,
            pt,
            pb,
            pl,
            pr,
            dh,
            dw,
            groups,
            cig,
            cog: k / groups,
        })
    }

    fn x_shape(&self) -> [usize; 4] {
        [self.n, self.c, self.h, self.w]
    }
    fn w_shape(&self) -> [usize; 4] {
        [self.k, self.cig, self.kh, self.kw]
    }
    fn y_shape(&self) -> [usize; 4] {
        [self.n, self.k, self.oh, self.ow]
    }
    /// Multiply-adds of one pass (the same for forward, dX and dW).
    pub(crate) fn macs(&self) -> usize {
        self.n * self.k * self.oh * self.ow * self.cig * self.kh * self.kw
    }
}

fn shape4(t: &Tensor, what: &str) -> Result<[usize; 4]> {
    t.expect_dtype(OP, DType::F32)?;
    match t.shape() {
        &[a, b, c, d] => Ok([a, b, c, d]),
        s => shape_err(OP, format!("{what} must be 4-d, got shape {s:?}")),
    }
}

fn expect_shape(t: &Tensor, what: &str, want: &[usize]) -> Result<()> {
    t.expect_dtype(OP, DType::F32)?;
    if t.shape() != want {
        return shape_err(
            OP,
            format!("{what} has shape {:?}, expected {want:?}", t.shape()),
        );
    }
    Ok(())
}

/// Mirrors `struct Params` in shaders/conv2d_direct.wgsl.
#[repr(C)]
#[derive(Clone, Copy, Debug, bytemuck::Pod, bytemuck::Zeroable)]
struct DirectParams {
    n: u32,
    c: u32,
    h: u32,
    w: u32,
    k: u32,
    kh: u32,
    kw: u32,
    oh: u32,
    ow: u32,
    stride_h: u32,
    stride_w: u32,
    pad_t: u32,
    pad_l: u32,
    dil_h: u32,
    dil_w: u32,
    groups: u32,
    cig: u32,
    cog: u32,
    total: u32,
    chunk: u32,
}

impl DirectParams {
    fn new(g: &Geom, total: usize, chunk: usize) -> Self {
        DirectParams {
            n: g.n as u32,
            c: g.c as u32,
            h: g.h as u32,
            w: g.w as u32,
            k: g.k as u32,
            kh: g.kh as u32,
            kw: g.kw as u32,
            oh: g.oh as u32,
            ow: g.ow as u32,
            stride_h: g.sh as u32,
            stride_w: g.sw as u32,
            pad_t: g.pt as u32,
            pad_l: g.pl as u32,
            dil_h: g.dh as u32,
            dil_w: g.dw as u32,
            groups: g.groups as u32,
            cig: g.cig as u32,
            cog: g.cog as u32,
            total: total as u32,
            chunk: chunk as u32,
        }
    }
}

const DIRECT_WG: u32 = 64;

fn act_code(a: Activation) -> f64 {
    match a {
        Activation::None => 0.0,
        Activation::Relu => 1.0,
        Activation::Relu6 => 2.0,
    }
}

/// Constants of the fused epilogue, shared by every forward kernel.
fn epilogue_constants(
    bias: Option<&Tensor>,
    opts: &Conv2dOptions<'_>,
) -> [(&'static str, f64); 3] {
    [
        ("HAS_BIAS", f64::from(u8::from(bias.is_some()))),
        ("ACT", act_code(opts.activation)),
        ("HAS_RES", f64::from(u8::from(opts.residual.is_some()))),
    ]
}

fn direct_forward(
    g: &Geom,
    x: &Tensor,
    w: &Tensor,
    bias: Option<&Tensor>,
    opts: &Conv2dOptions<'_>,
    y: &Tensor,
) -> Result<()> {
    let dev = x.device();
    let total = y.numel();
    let params = DirectParams::new(g, total, 0);
    let ep = epilogue_constants(bias, opts);
    let constants = [("WG", f64::from(DIRECT_WG)), ep[0], ep[1], ep[2]];
    // Unused epilogue operands are bound to `w` (never read).
    let b_arg = bias.map_or(w.arg(), Tensor::arg);
    let r_arg = opts.residual.map_or(w.arg(), Tensor::arg);
    dev.launch(
        &DIRECT_FWD,
        &constants,
        &params,
        &[x.arg(), w.arg(), b_arg, r_arg, y.arg()],
        dev.grid_1d(total as u64, DIRECT_WG)?,
    )
}

fn direct_backward_input(g: &Geom, w: &Tensor, dy: &Tensor, dx: &Tensor) -> Result<()> {
    let dev = w.device();
    let total = dx.numel();
    let params = DirectParams::new(g, total, 0);
    dev.launch(
        &DIRECT_DX,
        &[("WG", f64::from(DIRECT_WG))],
        &params,
        &[dy.arg(), w.arg(), dx.arg()],
        dev.grid_1d(total as u64, DIRECT_WG)?,
    )
}

/// Number of partial sums a weight gradient of `outputs` elements over `n`
/// images is split into, and images per split: enough invocations to fill the
/// device without long serial loops.
fn dw_split(outputs: usize, n: usize, target: usize) -> (usize, usize) {
    let want = target.div_ceil(outputs.max(1)).clamp(1, n);
    let chunk = n.div_ceil(want);
    (n.div_ceil(chunk), chunk)
}

fn direct_backward_weight(g: &Geom, x: &Tensor, dy: &Tensor) -> Result<Tensor> {
    let dev = x.device();
    let total = g.k * g.cig * g.kh * g.kw;
    let (splits, chunk) = dw_split(total, g.n, 8192);
    let part = Tensor::uninit(dev, &[splits, total], DType::F32)?;
    let params = DirectParams::new(g, total, chunk);
    let mut grid = dev.grid_1d(total as u64, DIRECT_WG)?;
    grid[2] = splits as u32;
    dev.launch(
        &DIRECT_DW,
        &[("WG", f64::from(DIRECT_WG))],
        &params,
        &[dy.arg(), x.arg(), part.arg()],
        grid,
    )?;
    let dw = if splits == 1 {
        part
    } else {
        reduce::sum(&part, &[0], false)?
    };
    dw.reshape(&g.w_shape())
}

/// Whether `variant` can run `pass` of this problem on this device, and why not.
fn applies(dev: &Device, g: &Geom, variant: Conv2dVariant, _pass: Conv2dPass) -> Result<(), String> {
    let _ = dev;
    match variant {
        Conv2dVariant::Direct => Ok(()),
        other => Err(format!("variant {other:?} is not implemented yet (groups {})", g.groups)),
    }
}

/// The variants that can run `pass` of this problem on this device, fastest first.
pub fn available_variants(
    device: &Device,
    x_shape: [usize; 4],
    w_shape: [usize; 4],
    cfg: &Conv2dConfig,
    pass: Conv2dPass,
) -> Result<Vec<Conv2dVariant>> {
    let g = Geom::new(x_shape, w_shape, cfg)?;
    Ok(Conv2dVariant::ALL
        .into_iter()
        .filter(|&v| applies(device, &g, v, pass).is_ok())
        .collect())
}

/// The variant the automatic choice runs for `pass` of this problem on this device.
pub fn conv2d_variant(
    device: &Device,
    x_shape: [usize; 4],
    w_shape: [usize; 4],
    cfg: &Conv2dConfig,
    pass: Conv2dPass,
) -> Result<Conv2dVariant> {
    let g = Geom::new(x_shape, w_shape, cfg)?;
    Ok(choose(device, &g, pass))
}

fn choose(dev: &Device, g: &Geom, pass: Conv2dPass) -> Conv2dVariant {
    Conv2dVariant::ALL
        .into_iter()
        .find(|&v| applies(dev, g, v, pass).is_ok())
        .unwrap_or(Conv2dVariant::Direct)
}

fn resolve(dev: &Device, g: &Geom, pass: Conv2dPass, forced: Option<Conv2dVariant>) -> Result<Conv2dVariant> {
    match forced {
        None => Ok(choose(dev, g, pass)),
        Some(v) => match applies(dev, g, v, pass) {
            Ok(()) => Ok(v),
            Err(why) => shape_err(OP, format!("{pass:?} cannot run the {} variant: {why}", v.name())),
        },
    }
}

/// `torch.nn.functional.conv2d(x, w, bias, stride, padding, dilation, groups)`.
///
/// `x`: `[n, c, h, w]`; `w`: `[c_out, c/groups, kh, kw]`; `bias`: `[c_out]`.
/// Returns `[n, c_out, h_out, w_out]` (see [`Conv2dConfig::output_size`]).
pub fn conv2d(x: &Tensor, w: &Tensor, bias: Option<&Tensor>, cfg: &Conv2dConfig) -> Result<Tensor> {
    conv2d_with(x, w, bias, cfg, &Conv2dOptions::default())
}

/// [`conv2d`] with a forced variant and/or a fused epilogue
/// `act(conv(x, w) + bias) + residual`.
pub fn conv2d_with(
    x: &Tensor,
    w: &Tensor,
    bias: Option<&Tensor>,
    cfg: &Conv2dConfig,
    opts: &Conv2dOptions<'_>,
) -> Result<Tensor> {
    let g = Geom::new(shape4(x, "x")?, shape4(w, "w")?, cfg)?;
    if let Some(b) = bias {
        expect_shape(b, "bias", &[g.k])?;
    }
    if let Some(r) = opts.residual {
        expect_shape(r, "residual", &g.y_shape())?;
    }
    let dev = x.device();
    let variant = resolve(dev, &g, Conv2dPass::Forward, opts.variant)?;
    let y = Tensor::uninit(dev, &g.y_shape(), DType::F32)?;
    match variant {
        Conv2dVariant::Direct => direct_forward(&g, x, w, bias, opts, &y)?,
        other => return Err(not_implemented(other)),
    }
    Ok(y)
}

fn not_implemented(v: Conv2dVariant) -> Error {
    Error::Shape {
        op: OP,
        message: format!("variant {v:?} is not implemented"),
    }
}

/// Gradient of [`conv2d`] with respect to its input: `dx` of shape `x_shape`
/// from the weight `w` and the output gradient `dy`.
pub fn conv2d_backward_input(
    w: &Tensor,
    dy: &Tensor,
    cfg: &Conv2dConfig,
    x_shape: [usize; 4],
) -> Result<Tensor> {
    conv2d_backward_input_with(w, dy, cfg, x_shape, None)
}

/// [`conv2d_backward_input`] with a forced variant.
pub fn conv2d_backward_input_with(
    w: &Tensor,
    dy: &Tensor,
    cfg: &Conv2dConfig,
    x_shape: [usize; 4],
    variant: Option<Conv2dVariant>,
) -> Result<Tensor> {
    let g = Geom::new(x_shape, shape4(w, "w")?, cfg)?;
    expect_shape(dy, "dy", &g.y_shape())?;
    let dev = w.device();
    let variant = resolve(dev, &g, Conv2dPass::BackwardInput, variant)?;
    let dx = Tensor::uninit(dev, &g.x_shape(), DType::F32)?;
    match variant {
        Conv2dVariant::Direct => direct_backward_input(&g, w, dy, &dx)?,
        other => return Err(not_implemented(other)),
    }
    Ok(dx)
}

/// Gradient of [`conv2d`] with respect to its weight: `dw` of shape `w_shape`
/// from the input `x` and the output gradient `dy`.
pub fn conv2d_backward_weight(
    x: &Tensor,
    dy: &Tensor,
    cfg: &Conv2dConfig,
    w_shape: [usize; 4],
) -> Result<Tensor> {
    conv2d_backward_weight_with(x, dy, cfg, w_shape, None)
}

/// [`conv2d_backward_weight`] with a forced variant.
pub fn conv2d_backward_weight_with(
    x: &Tensor,
    dy: &Tensor,
    cfg: &Conv2dConfig,
    w_shape: [usize; 4],
    variant: Option<Conv2dVariant>,
) -> Result<Tensor> {
    let g = Geom::new(shape4(x, "x")?, w_shape, cfg)?;
    expect_shape(dy, "dy", &g.y_shape())?;
    let dev = x.device();
    let variant = resolve(dev, &g, Conv2dPass::BackwardWeight, variant)?;
    match variant {
        Conv2dVariant::Direct => direct_backward_weight(&g, x, dy),
        other => Err(not_implemented(other)),
    }
}

/// Gradient of [`conv2d`] with respect to its bias: `dy` summed over n, h, w.
pub fn conv2d_backward_bias(dy: &Tensor) -> Result<Tensor> {
    shape4(dy, "dy")?;
    reduce::sum(dy, &[0, 2, 3], false)
}

#[allow(dead_code)]
fn _unused(_: Arg<'_>) {}
