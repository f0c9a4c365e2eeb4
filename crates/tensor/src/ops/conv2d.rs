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
use crate::ops::{elementwise, reduce};
use crate::tensor::{DType, Tensor};

const DIRECT_FWD: Kernel = crate::kernel!("conv2d_direct", "forward");
const DIRECT_DX: Kernel = crate::kernel!("conv2d_direct", "backward_input");
const DIRECT_DW: Kernel = crate::kernel!("conv2d_direct", "backward_weight");
const TO_NHWC: Kernel = crate::kernel!("conv2d_layout", "to_padded_nhwc");
const TO_NHWC_TEXEL: Kernel = crate::kernel!("conv2d_layout", "to_padded_nhwc_texel");
const TO_NHWC4: Kernel = crate::kernel!("conv2d_layout", "to_padded_nhwc4");
const TO_KRSC: Kernel = crate::kernel!("conv2d_layout", "weight_to_krsc");
const DW_FINISH: Kernel = crate::kernel!("conv2d_layout", "dw_finish");
const PHASE_WEIGHTS: Kernel = crate::kernel!("conv2d_layout", "phase_weights");
const INTERLEAVE_PHASES: Kernel = crate::kernel!("conv2d_layout", "interleave_phases");
/// Forward entry points of the subgroup kernel by output channels per lane (each × 8 pixels).
const IGEMM_FWD: [(usize, Kernel); 2] = [
    (32, crate::kernel!("conv2d_igemm", "forward_k32")),
    (16, crate::kernel!("conv2d_igemm", "forward_k16")),
];
/// The same entries with batch norm's partial moments in the epilogue (MOMENTS).
const IGEMM_FWD_MOMENTS: [(usize, Kernel); 2] = [
    (
        32,
        crate::kernel!("conv2d_igemm", "forward_k32").with_defines(&["MOMENTS"]),
    ),
    (
        16,
        crate::kernel!("conv2d_igemm", "forward_k16").with_defines(&["MOMENTS"]),
    ),
];
/// The same entries running dX with batch norm's backward sums in the epilogue (GRAD_SUMS).
const IGEMM_FWD_BN_SUMS: [(usize, Kernel); 2] = [
    (
        32,
        crate::kernel!("conv2d_igemm", "forward_k32").with_defines(&["GRAD_SUMS"]),
    ),
    (
        16,
        crate::kernel!("conv2d_igemm", "forward_k16").with_defines(&["GRAD_SUMS"]),
    ),
];
/// Pixels per lane of the subgroup kernel's forward entries.
const IGEMM_PB: usize = 8;
const PORTABLE_FWD: [(usize, Kernel); 3] = [
    (64, crate::kernel!("conv2d_igemm_portable", "forward")),
    (32, crate::kernel!("conv2d_igemm_portable", "forward_k32")),
    (16, crate::kernel!("conv2d_igemm_portable", "forward_k16")),
];
/// The weight-gradient entry points by output channels per block (the lanes' vec4s of
/// (r, s, c/4): 512 / (4 * 64) = 2, and 9 for the 16-channel block).
const IGEMM_DW: [(usize, Kernel); 2] = [
    (64, crate::kernel!("conv2d_igemm", "weight_grad")),
    (16, crate::kernel!("conv2d_igemm", "weight_grad_k16")),
];
const PORTABLE_DW: Kernel = crate::kernel!("conv2d_igemm_portable", "weight_grad");
const DEPTHWISE_FWD: Kernel = crate::kernel!("conv2d_depthwise", "forward");
const DEPTHWISE_DX: Kernel = crate::kernel!("conv2d_depthwise", "backward_input");
const DEPTHWISE_3X3: Kernel = crate::kernel!("conv2d_depthwise", "forward3x3");
const DEPTHWISE_3X3_ANY_WIDTH: Kernel = DEPTHWISE_3X3.with_defines(&["ANY_WIDTH"]);
const DEPTHWISE_3X3_SG: Kernel =
    crate::kernel!("conv2d_depthwise", "forward3x3_sg").with_defines(&["SUBGROUPS"]);
const DEPTHWISE_3X3_S2_DX_SG: Kernel =
    crate::kernel!("conv2d_depthwise", "backward_input3x3s2_sg").with_defines(&["SUBGROUPS"]);
const DEPTHWISE_3X3_DW_SG: Kernel =
    crate::kernel!("conv2d_depthwise", "backward_weight3x3_sg").with_defines(&["SUBGROUPS"]);
const DEPTHWISE_3X3_S2_DX: Kernel = crate::kernel!("conv2d_depthwise", "backward_input3x3s2");
const DEPTHWISE_3X3_S2_DX_ANY_WIDTH: Kernel = DEPTHWISE_3X3_S2_DX.with_defines(&["ANY_WIDTH"]);
const DEPTHWISE_3X3_DW: Kernel = crate::kernel!("conv2d_depthwise", "backward_weight3x3");
const GROUPED_3X3: Kernel = crate::kernel!("conv2d_depthwise", "grouped3x3");
const GROUPED_3X3_ANY_WIDTH: Kernel = GROUPED_3X3.with_defines(&["ANY_WIDTH"]);
const GROUPED_3X3_S2_DX: Kernel = crate::kernel!("conv2d_depthwise", "grouped3x3s2_dx");
const GROUPED_FWD: Kernel = crate::kernel!("conv2d_grouped", "forward");
const GROUPED_DX: Kernel = crate::kernel!("conv2d_grouped", "backward_input");
const GROUPED_DW: Kernel = crate::kernel!("conv2d_grouped", "backward_weight");
const GROUPED_DW_3X3: Kernel = crate::kernel!("conv2d_depthwise", "grouped_backward_weight3x3");
const GROUPED_DW_3X3_ANY_WIDTH: Kernel = GROUPED_DW_3X3.with_defines(&["ANY_WIDTH"]);

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
                    format!(
                        "{name} must be at least 1 (input {input:?}, weight {weight:?}, {cfg:?})"
                    ),
                );
            }
        }
        let groups = cfg.groups;
        if !c.is_multiple_of(groups) {
            return shape_err(
                OP,
                format!("groups {groups} does not divide the input channels c {c}"),
            );
        }
        if !k.is_multiple_of(groups) {
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
    flags: u32,
    _pad: [u32; 3],
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
            flags: 0,
            _pad: [0; 3],
        }
    }
}

const DIRECT_WG: u32 = 64;

fn act_code(a: Activation) -> u32 {
    match a {
        Activation::None => 0,
        Activation::Relu => 1,
        Activation::Relu6 => 2,
    }
}

/// `flags` of the kernels' Params: bit 0 bias, bit 1 residual, bits 2..3 activation.
fn epilogue_flags(bias: Option<&Tensor>, opts: &Conv2dOptions<'_>) -> u32 {
    u32::from(bias.is_some())
        | (u32::from(opts.residual.is_some()) << 1)
        | (act_code(opts.activation) << 2)
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
    let params = DirectParams {
        flags: epilogue_flags(bias, opts),
        ..DirectParams::new(g, total, 0)
    };
    let constants = [("WG", f64::from(DIRECT_WG))];
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

/// The weight gradient from its `[splits, ...]` partial sums, in OIHW.
fn sum_splits(part: Tensor, splits: usize, g: &Geom) -> Result<Tensor> {
    let dw = if splits == 1 {
        part
    } else {
        reduce::sum(&part, &[0], false)?
    };
    dw.reshape(&g.w_shape())
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
    sum_splits(part, splits, g)
}

// ---------------------------------------------------------------------------
// Implicit GEMM (conv2d_igemm.wgsl, conv2d_igemm_portable.wgsl, conv2d_layout.wgsl)

/// Mirrors `struct Params` in shaders/conv2d_igemm.wgsl and conv2d_igemm_portable.wgsl.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, bytemuck::Pod, bytemuck::Zeroable)]
struct IgemmParams {
    m: u32,
    pq: u32,
    ow: u32,
    k: u32,
    hp: u32,
    wp: u32,
    cv: u32,
    kh: u32,
    kw: u32,
    stride_h: u32,
    stride_w: u32,
    dil_h: u32,
    dil_w: u32,
    wk_stride: u32,
    kv: u32,
    jv: u32,
    chunk: u32,
    flags: u32,
    group_lanes: u32,
    lane_groups: u32,
    dy_hp: u32,
    dy_wp: u32,
    dy_off_h: u32,
    dy_off_w: u32,
    dy_ups_h: u32,
    dy_ups_w: u32,
    _pad: [u32; 2],
}

/// Mirrors `struct PadParams` in shaders/conv2d_layout.wgsl.
#[repr(C)]
#[derive(Clone, Copy, Debug, bytemuck::Pod, bytemuck::Zeroable)]
struct PadParams {
    n: u32,
    c: u32,
    h: u32,
    w: u32,
    hp: u32,
    wp: u32,
    cv: u32,
    off_h: u32,
    off_w: u32,
    ups_h: u32,
    ups_w: u32,
    total: u32,
    wq: u32,
    k0: u32,
    last_vec4: u32,
    hb: u32,
}

/// Mirrors `struct WeightParams` in shaders/conv2d_layout.wgsl.
#[repr(C)]
#[derive(Clone, Copy, Debug, bytemuck::Pod, bytemuck::Zeroable)]
struct WeightParams {
    k: u32,
    c: u32,
    kh: u32,
    kw: u32,
    kp: u32,
    cv: u32,
    flip: u32,
    total: u32,
}

/// Mirrors `struct FinishParams` in shaders/conv2d_layout.wgsl.
#[repr(C)]
#[derive(Clone, Copy, Debug, bytemuck::Pod, bytemuck::Zeroable)]
struct FinishParams {
    k: u32,
    c: u32,
    kh: u32,
    kw: u32,
    cp: u32,
    splits: u32,
    split_stride: u32,
    total: u32,
}

/// Mirrors `struct PhaseParams` in shaders/conv2d_layout.wgsl.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, bytemuck::Pod, bytemuck::Zeroable)]
struct PhaseParams {
    n: u32,
    c: u32,
    k: u32,
    a: u32,
    b: u32,
    h2: u32,
    w2: u32,
    total: u32,
}

const LAYOUT_WG: u32 = 64;
/// Dst rows per invocation of `to_padded_nhwc4`.
const LAYOUT_ROWS: usize = 8;
/// Accumulators per lane of the portable forward entry points (KB × PB) and of the
/// weight-gradient blocks.
const LANE_ACC: usize = 512;
/// Channels per block of `weight_grad` (the portable kernel's only one).
const DW_KB: usize = 64;

/// The one subgroup size of the adapter, or why the subgroup kernels cannot run.
pub(crate) fn subgroup_size(dev: &Device) -> Result<usize, String> {
    if !dev.has_subgroups() {
        return Err("the adapter has no subgroup operations".into());
    }
    let a = dev.adapter();
    let (lo, hi) = (a.subgroup_min_size as usize, a.subgroup_max_size as usize);
    if lo != hi || !matches!(lo, 8 | 16 | 32 | 64) {
        return Err(format!(
            "needs one fixed subgroup size of 8, 16, 32 or 64 lanes, the adapter reports {lo}..{hi}"
        ));
    }
    Ok(lo)
}

/// Register block of the forward kernel: output channels and pixels per lane.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
struct Tile {
    /// Subgroup size the kernel is specialized for (0 for the portable kernel).
    sg: usize,
    /// Output channels per lane (KB).
    kb: usize,
    /// Pixels per lane (PB).
    pb: usize,
    /// Invocations per workgroup.
    wg: usize,
}

/// The forward tile of `plan`: its `kb`, or by default the smallest block that covers
/// the `k_out` output channels (a 16-channel layer padded to 64 would waste 3/4 of its
/// multiply-adds). The subgroup kernel has 32 × 8 and 16 × 8 blocks (larger ones ran
/// slower per FLOP on lavapipe: their unrolled loop bodies outgrow the CPU's
/// instruction cache); the portable kernel 64 × 8, 32 × 16 and 16 × 32.
fn forward_tile(dev: &Device, plan: Plan, k_out: usize) -> Tile {
    let subgroup = plan.variant == Conv2dVariant::Igemm;
    let widest = widest_forward_block(plan.variant);
    let kb = if plan.kb != 0 {
        plan.kb.min(widest)
    } else if k_out > 32 {
        widest
    } else if k_out > 16 {
        32
    } else {
        16
    };
    let sg = if subgroup {
        subgroup_size(dev).unwrap_or(8)
    } else {
        0
    };
    Tile {
        sg,
        kb,
        pb: if subgroup { IGEMM_PB } else { LANE_ACC / kb },
        wg: 64usize.max(sg),
    }
}

/// Output channels per lane of the widest forward block `variant` has.
fn widest_forward_block(variant: Conv2dVariant) -> usize {
    if variant == Conv2dVariant::Igemm {
        32
    } else {
        64
    }
}

fn tile_kernel(table: &[(usize, Kernel)], kb: usize) -> Result<&Kernel> {
    table
        .iter()
        .find(|(k, _)| *k == kb)
        .map(|(_, kern)| kern)
        .ok_or_else(|| Error::Shape {
            op: OP,
            message: format!("no implicit-GEMM kernel with {kb} channels per lane"),
        })
}

fn round_up(v: usize, m: usize) -> usize {
    v.div_ceil(m) * m
}

/// An implicit-GEMM operand: a storage buffer (portable kernels) or a texel
/// operand (subgroup kernels).
#[derive(Debug)]
enum Staged {
    Buffer(Tensor),
    Texels(crate::Texels),
}

impl Staged {
    fn arg(&self) -> Arg<'_> {
        match self {
            Staged::Buffer(t) => t.arg(),
            Staged::Texels(t) => Arg::texels(t),
        }
    }
}

/// Copies an NCHW tensor into a zero-padded NHWC vec4 layout `[n][hp][wp][cv]`
/// (see `to_padded_nhwc` in conv2d_layout.wgsl): a storage buffer, or with
/// `texels` a texel operand.
#[allow(clippy::too_many_arguments)]
fn to_padded_nhwc(
    src: &Tensor,
    [n, c, h, w]: [usize; 4],
    hp: usize,
    wp: usize,
    cv: usize,
    off: [i64; 2],
    ups: [usize; 2],
    texels: bool,
) -> Result<Staged> {
    let dev = src.device();
    let total = n * hp * wp * cv;
    let vec4s = src.numel().div_ceil(4);
    let mut params = PadParams {
        n: n as u32,
        c: c as u32,
        h: h as u32,
        w: w as u32,
        hp: hp as u32,
        wp: wp as u32,
        cv: cv as u32,
        off_h: off[0] as i32 as u32,
        off_w: off[1] as i32 as u32,
        ups_h: ups[0] as u32,
        ups_w: ups[1] as u32,
        total: total as u32,
        wq: 0,
        k0: (-off[1]).div_euclid(4) as i32 as u32,
        last_vec4: vec4s.saturating_sub(1) as u32,
        hb: hp.div_ceil(LAYOUT_ROWS) as u32,
    };
    // The kernels' index divisions run in f32 below 2^23 invocations (SMALL_INDEX).
    let constants = |invocations: usize, extra: &[(&'static str, f64)]| {
        let mut c = vec![
            ("WG", f64::from(LAYOUT_WG)),
            ("SMALL_INDEX", f64::from(u8::from(invocations < 1 << 23))),
        ];
        c.extend_from_slice(extra);
        c
    };
    let dst = Tensor::uninit(dev, &[n, hp, wp, cv * 4], DType::F32)?;
    if (ups[1] == 1 && w % 4 == 0) || ups[1] == 2 {
        // Four columns and LAYOUT_ROWS rows per invocation where every source row is whole
        // vec4s, or where every other dst column is an inserted zero. Column groups: source
        // vec4 columns k0 ..= floor((wp - 1 - off_w) / 4), which reach every dst column,
        // or dst columns 4 jq .. + 3 (UPS_W2).
        let wq = if ups[1] == 2 {
            wp.div_ceil(4)
        } else {
            ((wp as i64 - 1 - off[1]).div_euclid(4) - (-off[1]).div_euclid(4) + 1) as usize
        };
        params.wq = wq as u32;
        let invocations = n * params.hb as usize * cv * wq;
        params.total = invocations as u32;
        let (src_arg, _) = crate::ops::pool::window_vec4(src, 0, src.numel())?;
        dev.launch(
            &TO_NHWC4,
            &constants(
                invocations,
                &[
                    ("UPS_W2", f64::from(u8::from(ups[1] == 2))),
                    ("ROWS", LAYOUT_ROWS as f64),
                ],
            ),
            &params,
            &[src_arg, dst.arg()],
            dev.grid_1d(invocations as u64, LAYOUT_WG)?,
        )?;
    } else if (vec4s as u64) <= dev.max_texel_vec4s() && vec4s as u64 * 16 <= src.buffer().size() {
        // The source as a texel operand where it fits (a faster read on lavapipe).
        let src_tex = dev.texels(src, vec4s)?;
        dev.launch(
            &TO_NHWC_TEXEL,
            &constants(total, &[("TEX_SHIFT", f64::from(dev.texel_shift()))]),
            &params,
            &[Arg::texels(&src_tex), dst.arg()],
            dev.grid_1d(total as u64, LAYOUT_WG)?,
        )?;
    } else {
        dev.launch(
            &TO_NHWC,
            &constants(total, &[]),
            &params,
            &[src.arg(), dst.arg()],
            dev.grid_1d(total as u64, LAYOUT_WG)?,
        )?;
    }
    // The implicit GEMM's texel operand is a copy of the storage layout: on lavapipe vec4
    // storage stores and the buffer-to-texture copy (a memcpy) take less than half the
    // time of texture stores, which are per-lane scalar loops (docs/PERFORMANCE.md).
    if texels {
        return Ok(Staged::Texels(dev.texels(&dst, total)?));
    }
    Ok(Staged::Buffer(dst))
}

/// OIHW weights as `[kp][kh][kw][cv]` vec4s; with `flip` the dX weights
/// `[c][kh][kw][k]` rotated by 180°.
fn weight_to_krsc(w: &Tensor, g: &Geom, kp: usize, cv: usize, flip: bool) -> Result<Tensor> {
    let dev = w.device();
    let total = kp * g.kh * g.kw * cv;
    let dst = Tensor::uninit(dev, &[total * 4], DType::F32)?;
    let params = WeightParams {
        k: g.k as u32,
        c: g.cig as u32,
        kh: g.kh as u32,
        kw: g.kw as u32,
        kp: kp as u32,
        cv: cv as u32,
        flip: u32::from(flip),
        total: total as u32,
    };
    dev.launch(
        &TO_KRSC,
        &[("WG", f64::from(LAYOUT_WG))],
        &params,
        &[w.arg(), dst.arg()],
        dev.grid_1d(total as u64, LAYOUT_WG)?,
    )?;
    Ok(dst)
}

/// The whole tensor as an `array<vec4<f32>>` binding: its size rounded up to 16
/// bytes (pool buffers come in size classes that are multiples of 64 bytes).
fn vec4_arg(t: &Tensor) -> Result<Arg<'_>> {
    let size = t.byte_size().div_ceil(16) * 16;
    if t.buffer().size() < size {
        return Err(Error::Limit {
            what: format!("{OP}: buffer of {:?} bound as vec4s", t.shape()),
            requested: size,
            limit: t.buffer().size(),
        });
    }
    Ok(Arg::window(t.buffer(), 0, size))
}

/// The implicit GEMMs' SMALL_M override: pixel index divisions in f32 below 2^23 pixels.
fn small_m(m: u32) -> (&'static str, f64) {
    ("SMALL_M", f64::from(u8::from(m < 1 << 23)))
}

/// Runs the implicit-GEMM forward kernel over a prepared padded NHWC input.
#[allow(clippy::too_many_arguments)]
fn igemm_launch(
    pass: Conv2dPass,
    variant: Conv2dVariant,
    tile: Tile,
    params: &IgemmParams,
    xp: &Staged,
    wt: &Tensor,
    bias: Option<&Tensor>,
    opts: &Conv2dOptions<'_>,
    y: &Tensor,
    extra: EpilogueSums<'_>,
) -> Result<()> {
    let dev = y.device();
    // The profiler's name: the same kernels run the forward pass and dX.
    let _label = dev.is_profiling().then(|| {
        let pass = if pass == Conv2dPass::Forward {
            "conv2d_fwd"
        } else {
            "conv2d_dx"
        };
        let sg = if tile.sg > 0 {
            format!("igemm_sg{}", tile.sg)
        } else {
            "igemm_portable".to_string()
        };
        dev.variant_label(format!("{pass}/{sg}_{}x{}", tile.kb, tile.pb))
    });
    let params = &IgemmParams {
        flags: epilogue_flags(bias, opts),
        ..*params
    };
    // The store's specialization (see the kernels' EPILOGUE, VEC4_ROWS and SMALL_M).
    let store = [
        ("EPILOGUE", f64::from(u8::from(params.flags != 0))),
        (
            "VEC4_ROWS",
            f64::from(u8::from(params.pq.is_multiple_of(4))),
        ),
        small_m(params.m),
    ];
    let b_arg = bias.map_or(wt.arg(), Tensor::arg);
    let r_arg = opts.residual.map_or(Ok(wt.arg()), vec4_arg)?;
    let m = params.m as usize;
    let kblocks = (params.k as usize).div_ceil(tile.kb) as u32;
    if variant == Conv2dVariant::Igemm {
        let w_tex = dev.texels(wt, wt.numel() / 4)?;
        let mut args = vec![xp.arg(), Arg::texels(&w_tex), b_arg, r_arg, vec4_arg(y)?];
        let mut constants = Vec::with_capacity(8);
        let table = match extra {
            EpilogueSums::None => &IGEMM_FWD,
            EpilogueSums::Moments(mo) => {
                args.push(mo.arg());
                &IGEMM_FWD_MOMENTS
            }
            EpilogueSums::BatchNormGrad { parts, bn } => {
                if params.flags != 0 || !params.pq.is_multiple_of(4) {
                    return shape_err(
                        OP,
                        "batch-norm sums in dX's epilogue need no epilogue and rows of whole vec4s",
                    );
                }
                args.extend([parts.arg(), vec4_arg(bn.x)?, bn.records.arg()]);
                constants.push(("GRAD_ACT", f64::from(act_code(bn.act))));
                &IGEMM_FWD_BN_SUMS
            }
        };
        let blocks = m.div_ceil(tile.sg * tile.pb);
        let wgs = blocks.div_ceil(tile.wg / tile.sg);
        let mut grid = dev.grid_1d(wgs as u64, 1)?;
        grid[2] = kblocks;
        constants.extend([
            ("SG", tile.sg as f64),
            ("WG", tile.wg as f64),
            ("TEX_SHIFT", f64::from(dev.texel_shift())),
            store[0],
            store[1],
            store[2],
            // One flat reduction loop unless the nest's channel loop is long (C > 64; see
            // FLAT in conv2d_igemm.wgsl).
            ("FLAT", f64::from(u8::from(params.cv <= 16))),
        ]);
        dev.launch(
            tile_kernel(table, tile.kb)?,
            &constants,
            params,
            &args,
            grid,
        )
    } else if !matches!(extra, EpilogueSums::None) {
        shape_err(
            OP,
            "batch-norm moments and sums come only from the subgroup implicit GEMM",
        )
    } else {
        let args = [xp.arg(), wt.arg(), b_arg, r_arg, vec4_arg(y)?];
        let wgs = m.div_ceil(tile.wg * tile.pb);
        let mut grid = dev.grid_1d(wgs as u64, 1)?;
        grid[2] = kblocks;
        dev.launch(
            tile_kernel(&PORTABLE_FWD, tile.kb)?,
            &[("WG", tile.wg as f64), store[0], store[1], store[2]],
            params,
            &args,
            grid,
        )
    }
}

/// What the forward entries' epilogue writes besides y.
#[derive(Clone, Copy)]
enum EpilogueSums<'a> {
    None,
    /// Batch norm's partial moments of the output ([`OutputMoments`]'s parts).
    Moments(&'a Tensor),
    /// dX: batch norm's partial backward sums ([`BnSumParts`]'s parts) for `bn`.
    BatchNormGrad {
        parts: &'a Tensor,
        bn: BnSumsOperands<'a>,
    },
}

/// x zero-padded into the NHWC vec4 layout the implicit GEMMs read (the
/// forward's operand and the weight gradient's).
fn padded_input(x: &Tensor, g: &Geom, variant: Conv2dVariant) -> Result<Staged> {
    to_padded_nhwc(
        x,
        g.x_shape(),
        g.h + g.pt + g.pb,
        g.w + g.pl + g.pr,
        g.c.div_ceil(4),
        [g.pt as i64, g.pl as i64],
        [1, 1],
        variant == Conv2dVariant::Igemm,
    )
}

#[allow(clippy::too_many_arguments)]
fn igemm_forward(
    g: &Geom,
    plan: Plan,
    x: &Tensor,
    w: &Tensor,
    bias: Option<&Tensor>,
    opts: &Conv2dOptions<'_>,
    y: &Tensor,
    moments: Option<&Tensor>,
) -> Result<Staged> {
    let xp = padded_input(x, g, plan.variant)?;
    let hw = (g.h + g.pt + g.pb, g.w + g.pl + g.pr);
    igemm_forward_from(
        Conv2dPass::Forward,
        g,
        plan,
        &xp,
        hw,
        w,
        bias,
        opts,
        y,
        moments,
    )?;
    Ok(xp)
}

/// Batch norm's partial moments of a convolution's output, written by its
/// forward kernel ([`conv2d_keeping_input_and_moments`]): `(mean, M2)` of each
/// block of `block` consecutive output pixels (in `(n, oh, ow)` order; the
/// last block holds the rest) and output channel, `[blocks][k]` vec2s in
/// `parts`. [`crate::ops::batch_norm::batch_norm_train_from_moments`] merges
/// them instead of reading the output again.
#[derive(Debug)]
pub struct OutputMoments {
    /// `[blocks][k]` pairs `(mean, M2)`.
    pub parts: Tensor,
    /// Output pixels per block.
    pub block: usize,
    /// Blocks.
    pub blocks: usize,
    /// Output pixels in all (`N·OH·OW`).
    pub pixels: usize,
}

/// The moments buffer of `g`'s forward with `plan` (subgroup kernels only).
fn output_moments(dev: &Device, g: &Geom, plan: Plan) -> Result<Option<OutputMoments>> {
    if plan.variant != Conv2dVariant::Igemm {
        return Ok(None);
    }
    let tile = forward_tile(dev, plan, g.k);
    let block = tile.sg * tile.pb;
    let pixels = g.n * g.oh * g.ow;
    let blocks = pixels.div_ceil(block);
    let parts = Tensor::uninit(dev, &[blocks * g.k * 2], DType::F32)?;
    Ok(Some(OutputMoments {
        parts,
        block,
        blocks,
        pixels,
    }))
}

/// The forward implicit GEMM from an input already laid out: `xp` holds
/// `hp × wp` padded pixels, the geometry's rows and columns starting at 0.
/// `pass` names it for the profiler (dX's phases run it too).
#[allow(clippy::too_many_arguments)]
fn igemm_forward_from(
    pass: Conv2dPass,
    g: &Geom,
    plan: Plan,
    xp: &Staged,
    (hp, wp): (usize, usize),
    w: &Tensor,
    bias: Option<&Tensor>,
    opts: &Conv2dOptions<'_>,
    y: &Tensor,
    moments: Option<&Tensor>,
) -> Result<()> {
    let variant = plan.variant;
    let tile = forward_tile(w.device(), plan, g.k);
    let cv = g.c.div_ceil(4);
    let kp = round_up(g.k, tile.kb);
    // A 1×1 kernel's OIHW weights are already `[kp][1][1][cv]` vec4s where the channels
    // fill whole vec4s and the rows fill whole tiles: no layout pass.
    let converted;
    let wt = if (g.kh, g.kw) == (1, 1) && g.cig == g.c && g.c.is_multiple_of(4) && kp == g.k {
        w
    } else {
        converted = weight_to_krsc(w, g, kp, cv, false)?;
        &converted
    };
    let params = IgemmParams {
        m: (g.n * g.oh * g.ow) as u32,
        pq: (g.oh * g.ow) as u32,
        ow: g.ow as u32,
        k: g.k as u32,
        hp: hp as u32,
        wp: wp as u32,
        cv: cv as u32,
        kh: g.kh as u32,
        kw: g.kw as u32,
        stride_h: g.sh as u32,
        stride_w: g.sw as u32,
        dil_h: g.dh as u32,
        dil_w: g.dw as u32,
        wk_stride: (g.kh * g.kw * cv) as u32,
        ..Default::default()
    };
    let extra = moments.map_or(EpilogueSums::None, EpilogueSums::Moments);
    igemm_launch(pass, variant, tile, &params, xp, wt, bias, opts, y, extra)
}

/// dX's padded, zero-inserted dY (an NHWK vec4 operand), which the weight
/// gradient reads again instead of building its own copy.
#[derive(Debug)]
struct StagedDy {
    variant: Conv2dVariant,
    geom: Geom,
    dyp: Staged,
    layout: DyLayout,
}

/// Where a padded dY lies: `[n][hp][wp][kv]` vec4s, dY pixel (oh, ow) at row
/// `oh·ups[0] + off[0]`, column `ow·ups[1] + off[1]`. [`DyLayout::of`] is dX's
/// zero-inserted one (`ups` the stride; offsets negative where dX crops dY:
/// padding beyond the kernel's reach); the phase path has its own.
#[derive(Clone, Copy, Debug)]
struct DyLayout {
    hp: usize,
    wp: usize,
    kv: usize,
    off: [i64; 2],
    ups: [usize; 2],
}

impl DyLayout {
    /// The phase path's ([`phase_backward_input`]): one layout of dY for the four
    /// phases (and dW), a zero row and column past its end serving the phases
    /// that read pixel i + 1, j + 1.
    fn of_phases(g: &Geom) -> DyLayout {
        DyLayout {
            hp: g.oh + 1,
            wp: g.ow + 1,
            kv: g.k.div_ceil(4),
            off: [0, 0],
            ups: [1, 1],
        }
    }

    /// The layout dX's `plan` reads dY in.
    fn for_dx(dev: &Device, g: &Geom, plan: Plan) -> DyLayout {
        if plan.variant == Conv2dVariant::Igemm && phases_apply(dev, g) {
            DyLayout::of_phases(g)
        } else {
            DyLayout::of(g)
        }
    }

    /// `dy` laid out this way: a texel operand for the subgroup kernels, a
    /// storage buffer for the portable ones.
    fn stage(&self, g: &Geom, variant: Conv2dVariant, dy: &Tensor) -> Result<Staged> {
        to_padded_nhwc(
            dy,
            g.y_shape(),
            self.hp,
            self.wp,
            self.kv,
            self.off,
            self.ups,
            variant == Conv2dVariant::Igemm,
        )
    }

    fn of(g: &Geom) -> DyLayout {
        let (eh, ew) = (g.dh * (g.kh - 1), g.dw * (g.kw - 1));
        DyLayout {
            hp: g.h + eh,
            wp: g.w + ew,
            kv: g.k.div_ceil(4),
            off: [eh as i64 - g.pt as i64, ew as i64 - g.pl as i64],
            ups: [g.sh, g.sw],
        }
    }
}

/// dX as a stride-1 convolution of the zero-inserted, padded dY (`dyp`, in
/// [`DyLayout::of`]) with the flipped, transposed weights (see
/// docs/ops/conv2d.md), plus `acc` where given (the store's residual add);
/// returns that dY.
fn igemm_backward_input(
    g: &Geom,
    plan: Plan,
    w: &Tensor,
    dyp: Staged,
    dx: &Tensor,
    acc: Option<&Tensor>,
    bn: Option<BnSumsOperands<'_>>,
) -> Result<(StagedDy, Option<BnSumParts>)> {
    let variant = plan.variant;
    let tile = forward_tile(w.device(), plan, g.c);
    let layout = DyLayout::of(g);
    let DyLayout { hp, wp, kv, .. } = layout;
    let wt = weight_to_krsc(w, g, round_up(g.c, tile.kb), kv, true)?;
    let params = IgemmParams {
        m: (g.n * g.h * g.w) as u32,
        pq: (g.h * g.w) as u32,
        ow: g.w as u32,
        k: g.c as u32,
        hp: hp as u32,
        wp: wp as u32,
        cv: kv as u32,
        kh: g.kh as u32,
        kw: g.kw as u32,
        stride_h: 1,
        stride_w: 1,
        dil_h: g.dh as u32,
        dil_w: g.dw as u32,
        wk_stride: (g.kh * g.kw * kv) as u32,
        ..Default::default()
    };
    // Batch norm's sums where the subgroup kernel stores whole vec4 rows and adds nothing.
    let sums = match bn {
        Some(bn)
            if variant == Conv2dVariant::Igemm
                && acc.is_none()
                && (g.h * g.w).is_multiple_of(4) =>
        {
            expect_shape(bn.x, "batch norm's x", &g.x_shape())?;
            expect_shape(bn.records, "batch norm's records", &[4 * g.c])?;
            let blocks = (g.n * g.h * g.w).div_ceil(tile.sg * tile.pb);
            Some(BnSumParts {
                parts: Tensor::uninit(dx.device(), &[blocks * g.c * 2], DType::F32)?,
                records: bn.records.clone(),
                act: bn.act,
                blocks,
                pixels: g.n * g.h * g.w,
            })
        }
        _ => None,
    };
    let extra = match (&sums, bn) {
        (Some(s), Some(bn)) => EpilogueSums::BatchNormGrad {
            parts: &s.parts,
            bn,
        },
        _ => EpilogueSums::None,
    };
    igemm_launch(
        Conv2dPass::BackwardInput,
        variant,
        tile,
        &params,
        &dyp,
        &wt,
        None,
        &Conv2dOptions {
            residual: acc,
            ..Default::default()
        },
        dx,
        extra,
    )?;
    let staged = StagedDy {
        variant,
        geom: *g,
        dyp,
        layout,
    };
    Ok((staged, sums))
}

/// What dX's epilogue needs to reduce the backward sums of the batch norm whose
/// output's gradient it computes ([`conv2d_backward_kept_from_padded_with_bn_sums`]).
#[derive(Clone, Copy, Debug)]
pub struct BnSumsOperands<'a> {
    /// Batch norm's input, of dX's shape.
    pub x: &'a Tensor,
    /// Its per-channel `(mean, invstd·γ, β, invstd)`
    /// ([`crate::ops::batch_norm::batch_norm_grad_records`]).
    pub records: &'a Tensor,
    /// The activation after batch norm, whose gradient mask applies.
    pub act: Activation,
}

/// Batch norm's backward sums reduced in dX's epilogue: per block of `pixels /
/// blocks` (rounded up) output pixels and channel, `(sum(g), sum(g·xhat))` of
/// the masked gradient, `[blocks][c]` pairs in `parts`;
/// [`crate::ops::batch_norm::batch_norm_act_backward_padded`] merges them
/// instead of reading g and x again.
#[derive(Debug)]
pub struct BnSumParts {
    /// `[blocks][c]` pairs `(sum(g), sum(g·xhat))`.
    pub parts: Tensor,
    /// The records the sums were taken with.
    pub records: Tensor,
    /// The activation whose mask was applied.
    pub act: Activation,
    /// Blocks.
    pub blocks: usize,
    /// Pixels in all (`N·H·W`).
    pub pixels: usize,
}

/// Whether dX runs by phases ([`phase_backward_input`]): a 3×3, stride-2,
/// padding-1 convolution without dilation or groups (ResNet's stage
/// transitions), H even and W a multiple of 4 (the interleave's vec4 rows).
/// The four phase convolutions' implicit GEMM must apply too (it does wherever
/// dX's own does; checked rather than assumed).
fn phases_apply(dev: &Device, g: &Geom) -> bool {
    g.groups == 1
        && [g.kh, g.kw, g.sh, g.sw, g.dh, g.dw] == [3, 3, 2, 2, 1, 1]
        && [g.pt, g.pb, g.pl, g.pr] == [1; 4]
        && g.h.is_multiple_of(2)
        && g.w.is_multiple_of(4)
        && PHASES.iter().all(|&(a, b)| {
            phase_geom(g, a, b).is_ok_and(|gp| {
                applies(dev, &gp, Conv2dVariant::Igemm, Conv2dPass::Forward).is_ok()
            })
        })
}

/// Output phases `(a, b)`: dX rows `2i + a`, columns `2j + b`.
const PHASES: [(usize, usize); 4] = [(0, 0), (0, 1), (1, 0), (1, 1)];

/// Phase `(a, b)`'s convolution: dY in, `1 + a` × `1 + b` taps, padding `a`
/// at the bottom and `b` at the right.
fn phase_geom(g: &Geom, a: usize, b: usize) -> Result<Geom> {
    let cfg = Conv2dConfig::new(1, 0).with_padding([0, a, 0, b]);
    Geom::new(g.y_shape(), [g.c, g.k, 1 + a, 1 + b], &cfg)
}

/// dX of a strided 3×3 convolution by output phases: the dX of a stride-2
/// layer as one convolution would run over dY with zeros inserted, three
/// quarters of its products by zero. Each phase `(a, b)` of dX (rows `2i + a`,
/// columns `2j + b`) is instead a stride-1 convolution of dY with `(1 + a) ×
/// (1 + b)` of the weight's taps (`phase_weights`), and `interleave_phases`
/// writes the four into dX, adding `acc` (a gradient accumulated for x) in
/// the store. Derivation in docs/ops/conv2d.md.
fn phase_backward_input(
    g: &Geom,
    plan: Plan,
    w: &Tensor,
    dyp: Staged,
    acc: Option<&Tensor>,
) -> Result<(Tensor, StagedDy)> {
    let dev = w.device();
    let base = PhaseParams {
        n: g.n as u32,
        c: g.c as u32,
        k: g.k as u32,
        h2: (g.h / 2) as u32,
        w2: (g.w / 2) as u32,
        ..Default::default()
    };
    let layout = DyLayout::of_phases(g);
    let (hp, wp) = (layout.hp, layout.wp);
    let mut phases = Vec::with_capacity(4);
    for (a, b) in PHASES {
        let gp = phase_geom(g, a, b)?;
        let wab = Tensor::uninit(dev, &gp.w_shape(), DType::F32)?;
        let p = PhaseParams {
            a: a as u32,
            b: b as u32,
            total: wab.numel() as u32,
            ..base
        };
        dev.launch(
            &PHASE_WEIGHTS,
            &[("WG", f64::from(LAYOUT_WG))],
            &p,
            &[w.arg(), wab.arg()],
            dev.grid_1d(wab.numel() as u64, LAYOUT_WG)?,
        )?;
        let pp = resolve(dev, &gp, Conv2dPass::Forward, Some(plan.variant))?;
        let y = Tensor::uninit(dev, &gp.y_shape(), DType::F32)?;
        igemm_forward_from(
            Conv2dPass::BackwardInput,
            &gp,
            pp,
            &dyp,
            (hp, wp),
            &wab,
            None,
            &Conv2dOptions::default(),
            &y,
            None,
        )?;
        phases.push(y);
    }
    let dx = Tensor::uninit(dev, &g.x_shape(), DType::F32)?;
    let total = g.n * g.c * (g.h / 2) * (g.w / 4);
    for a in 0..2 {
        let p = PhaseParams {
            a: a as u32,
            total: total as u32,
            ..base
        };
        let (even, odd) = (&phases[2 * a], &phases[2 * a + 1]);
        dev.launch(
            &INTERLEAVE_PHASES,
            &[
                ("WG", f64::from(LAYOUT_WG)),
                ("ACC", f64::from(u8::from(acc.is_some()))),
            ],
            &p,
            &[
                even.arg(),
                odd.arg(),
                vec4_arg(acc.unwrap_or(even))?,
                vec4_arg(&dx)?,
            ],
            dev.grid_1d(total as u64, LAYOUT_WG)?,
        )?;
    }
    let staged = StagedDy {
        variant: plan.variant,
        geom: *g,
        dyp,
        layout,
    };
    Ok((dx, staged))
}

/// Output channels per block of the weight-gradient kernels. The subgroup
/// kernel has a 16-channel block for narrow layers: up to 32 output channels
/// (two blocks) it measured faster than 32- or 64-channel blocks, whose lanes'
/// vec4s a 3x3 layer of 16 or 32 input channels fills only partly.
fn dw_channel_block(variant: Conv2dVariant, g: &Geom) -> usize {
    match variant {
        Conv2dVariant::Igemm if g.k <= 32 => 16,
        _ => DW_KB,
    }
}

/// dW as a reduction over the N·H·W pixels, split for parallelism; the
/// partial sums are added and put back in OIHW order by `dw_finish`.
fn igemm_backward_weight(
    dev: &Device,
    g: &Geom,
    variant: Conv2dVariant,
    x: XOperand<'_>,
    dy: Option<&Tensor>,
    staged_dy: Option<&StagedDy>,
) -> Result<Tensor> {
    let cv = g.c.div_ceil(4);
    let (hp, wp) = (g.h + g.pt + g.pb, g.w + g.pl + g.pr);
    let (sg, lanes) = match variant {
        Conv2dVariant::Igemm => {
            let sg = subgroup_size(dev).map_err(|m| Error::Shape { op: OP, message: m })?;
            (sg, sg)
        }
        _ => (0, 64),
    };
    let kb = dw_channel_block(variant, g);
    // (r, s, c/4) vec4s per lane: weight_grad_k16 holds 9 (a 3x3 tap set), the
    // others LANE_ACC accumulators' worth.
    let jb = if kb == 16 { 9 } else { LANE_ACC / (4 * kb) };
    let kp = round_up(g.k, kb);
    // The forward pass built the same padded input (`igemm_forward`): reuse it when kept.
    let built;
    let xp = match x {
        XOperand::Kept(xp) => xp,
        XOperand::Nchw(x) => {
            built = padded_input(x, g, variant)?;
            &built
        }
    };
    // dX's dY serves when it is the same kernel family and geometry, holds kp / 4
    // channel vec4s per pixel and every pixel of dY (no cropping). Only the subgroup
    // kernels read it through its layout (`grad_bases`); the portable weight_grad
    // reads a plain [m][kv] copy.
    let reuse = staged_dy
        .filter(|_| variant == Conv2dVariant::Igemm)
        .and_then(|d| {
            let l = &d.layout;
            let [off_h, off_w] = l.off.map(|o| usize::try_from(o).ok());
            let (off_h, off_w) = (off_h?, off_w?);
            (d.variant == variant
                && d.geom == *g
                && l.kv * 4 == kp
                && (g.oh - 1) * l.ups[0] + off_h < l.hp
                && (g.ow - 1) * l.ups[1] + off_w < l.wp)
                .then_some((d, [off_h, off_w]))
        });
    let built_dy;
    let (dyk, dy_at) = match reuse {
        Some((d, off)) => (&d.dyp, (d.layout.hp, d.layout.wp, off, d.layout.ups)),
        None => {
            let Some(dy) = dy else {
                return shape_err(OP, "dW: the padded dY given does not fit its kernel");
            };
            built_dy = to_padded_nhwc(
                dy,
                g.y_shape(),
                g.oh,
                g.ow,
                kp / 4,
                [0, 0],
                [1, 1],
                variant == Conv2dVariant::Igemm,
            )?;
            (&built_dy, (g.oh, g.ow, [0, 0], [1, 1]))
        }
    };
    let jv = g.kh * g.kw * cv;
    let m = g.n * g.oh * g.ow;
    // weight_grad_k16 splits a subgroup into lane groups when fewer lanes than the
    // subgroup's cover the vec4s; each group reduces its own share of the pixels into
    // its own slot of `part`.
    let (group_lanes, lane_groups) = if sg > 0 && kb == 16 {
        let lanes_needed = jv.div_ceil(jb).clamp(1, sg);
        (lanes_needed, sg / lanes_needed)
    } else {
        (lanes, 1)
    };
    let jblocks = jv.div_ceil(group_lanes * jb);
    let kblocks = kp / kb;
    // Workgroups to aim for: enough to fill a GPU; on a CPU adapter a few per thread
    // (more splits only lengthen dw_finish, which sums them: 256 cost ~4 ms there).
    let target = if dev.is_cpu() {
        static THREADS: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
        16 * *THREADS.get_or_init(|| std::thread::available_parallelism().map_or(4, |n| n.get()))
    } else {
        256
    };
    let want = target
        .div_ceil(jblocks * kblocks * lane_groups)
        .clamp(1, m.div_ceil(256).max(1));
    let chunk = m.div_ceil(want);
    let splits = m.div_ceil(chunk);
    let slots = splits * lane_groups;
    let part = Tensor::uninit(dev, &[slots * g.k * jv * 4], DType::F32)?;
    let params = IgemmParams {
        m: m as u32,
        pq: (g.oh * g.ow) as u32,
        ow: g.ow as u32,
        k: g.k as u32,
        hp: hp as u32,
        wp: wp as u32,
        cv: cv as u32,
        kh: g.kh as u32,
        kw: g.kw as u32,
        stride_h: g.sh as u32,
        stride_w: g.sw as u32,
        dil_h: g.dh as u32,
        dil_w: g.dw as u32,
        kv: (kp / 4) as u32,
        jv: jv as u32,
        chunk: chunk as u32,
        group_lanes: group_lanes as u32,
        lane_groups: lane_groups as u32,
        dy_hp: dy_at.0 as u32,
        dy_wp: dy_at.1 as u32,
        dy_off_h: dy_at.2[0] as u32,
        dy_off_w: dy_at.2[1] as u32,
        dy_ups_h: dy_at.3[0] as u32,
        dy_ups_w: dy_at.3[1] as u32,
        ..Default::default()
    };
    let grid = [jblocks as u32, kblocks as u32, splits as u32];
    {
        let _label = dev.is_profiling().then(|| {
            dev.variant_label(if sg > 0 {
                format!("conv2d_dw/igemm_sg{sg}_{kb}x{}", jb * 4)
            } else {
                format!("conv2d_dw/igemm_portable_{kb}x{}", jb * 4)
            })
        });
        if variant == Conv2dVariant::Igemm {
            let args = [dyk.arg(), xp.arg(), part.arg()];
            let constants = [
                ("SG", sg as f64),
                ("TEX_SHIFT", f64::from(dev.texel_shift())),
                small_m(params.m),
            ];
            dev.launch(
                tile_kernel(&IGEMM_DW, kb)?,
                &constants,
                &params,
                &args,
                grid,
            )?;
        } else {
            let args = [dyk.arg(), xp.arg(), part.arg()];
            let constants = [("WG", lanes as f64), small_m(params.m)];
            dev.launch(&PORTABLE_DW, &constants, &params, &args, grid)?;
        }
    }
    let dw = Tensor::uninit(dev, &g.w_shape(), DType::F32)?;
    // One invocation per part vec4 of one split.
    let total = g.k * jv;
    let fin = FinishParams {
        k: g.k as u32,
        c: g.cig as u32,
        kh: g.kh as u32,
        kw: g.kw as u32,
        cp: (cv * 4) as u32,
        splits: slots as u32,
        split_stride: (g.k * jv * 4) as u32,
        total: total as u32,
    };
    dev.launch(
        &DW_FINISH,
        &[("WG", f64::from(LAYOUT_WG))],
        &fin,
        &[part.arg(), dw.arg()],
        dev.grid_1d(total as u64, LAYOUT_WG)?,
    )?;
    Ok(dw)
}

// ---------------------------------------------------------------------------
// Depthwise and grouped (conv2d_depthwise.wgsl, conv2d_grouped.wgsl)

/// Mirrors `struct Params` in shaders/conv2d_depthwise.wgsl and conv2d_grouped.wgsl
/// (`cblocks` is padding in the depthwise file).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, bytemuck::Pod, bytemuck::Zeroable)]
struct GroupedParams {
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
    cig: u32,
    cog: u32,
    total: u32,
    chunk: u32,
    flags: u32,
    strips: u32,
    cblocks: u32,
    last_texel: u32,
    _pad: u32,
}

const GROUPED_WG: u32 = 64;

impl GroupedParams {
    fn new(g: &Geom, total: usize, strips: usize, cblocks: usize) -> Self {
        GroupedParams {
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
            cig: g.cig as u32,
            cog: g.cog as u32,
            total: total as u32,
            strips: strips as u32,
            cblocks: cblocks as u32,
            ..Default::default()
        }
    }
}

fn launch_1d(
    dev: &Device,
    kernel: &Kernel,
    params: &GroupedParams,
    args: &[crate::device::Arg<'_>],
) -> Result<()> {
    dev.launch(
        kernel,
        &[("WG", f64::from(GROUPED_WG))],
        params,
        args,
        dev.grid_1d(u64::from(params.total), GROUPED_WG)?,
    )
}

/// Whether `forward3x3`'s ANY_WIDTH form (storage x, bounded loads and stores) takes
/// this depthwise problem: as [`depthwise_3x3_applies`] without the width and texel
/// conditions, x and y each in one storage binding.
fn depthwise_3x3_any_width_applies(dev: &Device, g: &Geom) -> bool {
    g.cig == 1 && is_3x3_pad1_stride12(g) && storage_operands_fit(dev, g)
}

/// Whether `forward3x3` (vec4 rows, 4×4 output blocks) takes this depthwise problem:
/// 3×3, dilation 1, top/left padding 1, stride 1 or 2, widths multiples of 4
/// (8 output rows × 4 columns per invocation, a sliding window of input rows).
fn depthwise_3x3_applies(dev: &Device, g: &Geom) -> bool {
    // Its input is a texel operand.
    (g.n * g.c * g.h * g.w / 4) as u64 <= dev.max_texel_vec4s()
        && g.cig == 1
        && is_3x3_pad1_stride12(g)
        && g.w.is_multiple_of(4)
        && g.ow.is_multiple_of(4)
}

/// The subgroup size the depthwise `*_sg` entries run with on a problem `forward3x3`
/// takes, if they apply: a row is `strips` lanes wide, which must divide the subgroup
/// (and the subgroup the workgroup), so that no row straddles two subgroups; each lane's
/// input columns are exactly its output columns times the stride; x and y fit one
/// storage binding each (these entries read x from storage).
fn depthwise_3x3_subgroup(dev: &Device, g: &Geom, strips: usize) -> Option<usize> {
    let sg = subgroup_size(dev).ok()?;
    (strips > 0
        && sg.is_multiple_of(strips)
        && (GROUPED_WG as usize).is_multiple_of(sg)
        && g.w == g.ow * g.sw
        && storage_operands_fit(dev, g))
    .then_some(sg)
}

/// Whether x and y (or dx and dy) each fit one storage binding.
fn storage_operands_fit(dev: &Device, g: &Geom) -> bool {
    let fits = |elems: usize| (elems * 4) as u64 <= dev.max_binding_bytes();
    fits(g.n * g.c * g.h * g.w) && fits(g.n * g.k * g.oh * g.ow)
}

/// 3×3, dilation 1, padding 1 at the top/left, the same stride (1 or 2) on both axes:
/// the layers the sliding 3×3 kernels of conv2d_depthwise.wgsl and conv2d_grouped.wgsl
/// take (bottom/right padding 0 or 1).
fn is_3x3_pad1_stride12(g: &Geom) -> bool {
    (g.kh, g.kw, g.dh, g.dw, g.pt, g.pl) == (3, 3, 1, 1, 1, 1)
        && g.sh == g.sw
        && (g.sh == 1 || g.sh == 2)
}

/// Rows per invocation of the `*_sg` entries: at most `max`, spread evenly over the
/// blocks of a plane of `rows` rows.
fn rows_per_block(rows: usize, max: usize) -> usize {
    rows.div_ceil(rows.div_ceil(max))
}

/// The specialization constants of a depthwise `*_sg` launch.
fn depthwise_sg_constants(
    dev: &Device,
    g: &Geom,
    sg: usize,
    wide: bool,
) -> [(&'static str, f64); 5] {
    [
        ("WG", f64::from(GROUPED_WG)),
        ("STRIDE", g.sh as f64),
        ("TEX_SHIFT", f64::from(dev.texel_shift())),
        ("SG", sg as f64),
        ("WIDE", f64::from(u8::from(wide))),
    ]
}

/// Runs `forward3x3` (or `forward3x3_sg`, or its ANY_WIDTH form where the widths are not
/// multiples of 4) with input `x` of shape `[n, c, h, w]` (as
/// `g` describes it).
fn depthwise_3x3(
    g: &Geom,
    x: &Tensor,
    w: &Tensor,
    flags: u32,
    bias: Option<&Tensor>,
    residual: Option<&Tensor>,
    y: &Tensor,
) -> Result<()> {
    let dev = x.device();
    let b_arg = bias.map_or(w.arg(), Tensor::arg);
    let r_arg = residual.map_or(w.arg(), Tensor::arg);
    if !depthwise_3x3_applies(dev, g) {
        // ANY_WIDTH: 4 columns per lane, the last strip of a row partly outside it.
        let strips = g.ow.div_ceil(4);
        let total = g.n * g.k * g.oh.div_ceil(8) * strips;
        let params = GroupedParams {
            flags,
            ..GroupedParams::new(g, total, strips, 0)
        };
        return dev.launch(
            &DEPTHWISE_3X3_ANY_WIDTH,
            &[
                ("WG", f64::from(GROUPED_WG)),
                ("STRIDE", g.sh as f64),
                ("WIDE", 0.0),
                ("TEX_SHIFT", f64::from(dev.texel_shift())),
            ],
            &params,
            &[x.arg(), w.arg(), b_arg, r_arg, y.arg()],
            dev.grid_1d(total as u64, GROUPED_WG)?,
        );
    }
    // 8 output columns per lane at stride 1 where the row holds whole 8-column strips.
    let wide = g.sw == 1 && g.ow.is_multiple_of(8);
    let cols = if wide { 8 } else { 4 };
    let strips = g.ow / cols;
    if let Some(sg) = depthwise_3x3_subgroup(dev, g, strips) {
        let rows = rows_per_block(g.oh, 32);
        let total = g.n * g.k * g.oh.div_ceil(rows) * strips;
        let params = GroupedParams {
            flags,
            chunk: rows as u32,
            ..GroupedParams::new(g, total, strips, 0)
        };
        return dev.launch(
            &DEPTHWISE_3X3_SG,
            &depthwise_sg_constants(dev, g, sg, wide),
            &params,
            &[x.arg(), w.arg(), b_arg, r_arg, y.arg()],
            dev.grid_1d(total as u64, GROUPED_WG)?,
        );
    }
    let x_tex = dev.texels(x, x.numel() / 4)?;
    let total = g.n * g.k * g.oh.div_ceil(8) * (g.ow / cols);
    let params = GroupedParams {
        flags,
        ..GroupedParams::new(g, total, g.ow / cols, 0)
    };
    dev.launch(
        &DEPTHWISE_3X3,
        &[
            ("WG", f64::from(GROUPED_WG)),
            ("STRIDE", g.sh as f64),
            ("WIDE", f64::from(u8::from(wide))),
            ("TEX_SHIFT", f64::from(dev.texel_shift())),
        ],
        &params,
        &[Arg::texels(&x_tex), w.arg(), b_arg, r_arg, y.arg()],
        dev.grid_1d(total as u64, GROUPED_WG)?,
    )
}

fn depthwise_forward(
    g: &Geom,
    x: &Tensor,
    w: &Tensor,
    bias: Option<&Tensor>,
    opts: &Conv2dOptions<'_>,
    y: &Tensor,
) -> Result<()> {
    let flags = epilogue_flags(bias, opts);
    if depthwise_3x3_applies(x.device(), g) || depthwise_3x3_any_width_applies(x.device(), g) {
        return depthwise_3x3(g, x, w, flags, bias, opts.residual, y);
    }
    let strips = g.ow.div_ceil(4);
    let params = GroupedParams {
        flags,
        ..GroupedParams::new(g, g.n * g.k * g.oh * strips, strips, 0)
    };
    let b_arg = bias.map_or(w.arg(), Tensor::arg);
    let r_arg = opts.residual.map_or(w.arg(), Tensor::arg);
    launch_1d(
        x.device(),
        &DEPTHWISE_FWD,
        &params,
        &[x.arg(), w.arg(), b_arg, r_arg, y.arg()],
    )
}

fn depthwise_backward_input(g: &Geom, w: &Tensor, dy: &Tensor, dx: &Tensor) -> Result<()> {
    // Stride 1, 'same' 3×3, multiplier 1: dX is the same depthwise convolution of dY
    // with the kernel rotated by 180° (flags bit 4).
    let window =
        depthwise_3x3_applies(w.device(), g) || depthwise_3x3_any_width_applies(w.device(), g);
    if window && g.sh == 1 && g.cog == 1 && (g.oh, g.ow) == (g.h, g.w) {
        return depthwise_3x3(g, dy, w, 16, None, None, dx);
    }
    // Stride 2 of the same: backward_input3x3s2, dY a texel operand.
    if depthwise_3x3_applies(w.device(), g) && g.sh == 2 && g.cog == 1 {
        let dev = w.device();
        // 8 dx columns per lane (OW, a multiple of 4 here, is W / 2).
        let strips = g.w / 8;
        if let Some(sg) = depthwise_3x3_subgroup(dev, g, strips) {
            // An even number of dx rows per invocation (two per dy row).
            let rows = 2 * rows_per_block(g.oh, 16);
            let total = g.n * g.c * g.h.div_ceil(rows) * strips;
            let params = GroupedParams {
                chunk: rows as u32,
                ..GroupedParams::new(g, total, strips, 0)
            };
            return dev.launch(
                &DEPTHWISE_3X3_S2_DX_SG,
                &depthwise_sg_constants(dev, g, sg, false),
                &params,
                &[dy.arg(), w.arg(), dx.arg()],
                dev.grid_1d(total as u64, GROUPED_WG)?,
            );
        }
        let vec4s = dy.numel().div_ceil(4);
        let total = g.n * g.c * g.h.div_ceil(8) * (g.w / 4);
        let params = GroupedParams {
            last_texel: (vec4s - 1) as u32,
            ..GroupedParams::new(g, total, g.w / 4, 0)
        };
        let dy_tex = dev.texels(dy, vec4s)?;
        return dev.launch(
            &DEPTHWISE_3X3_S2_DX,
            &[
                ("WG", f64::from(GROUPED_WG)),
                ("TEX_SHIFT", f64::from(dev.texel_shift())),
            ],
            &params,
            &[Arg::texels(&dy_tex), w.arg(), dx.arg()],
            dev.grid_1d(total as u64, GROUPED_WG)?,
        );
    }
    // The same at any width (ANY_WIDTH: dy from storage, bounded loads and stores).
    if depthwise_3x3_any_width_applies(w.device(), g) && g.sh == 2 && g.cog == 1 {
        let dev = w.device();
        let strips = g.w.div_ceil(4);
        let total = g.n * g.c * g.h.div_ceil(8) * strips;
        let params = GroupedParams::new(g, total, strips, 0);
        return dev.launch(
            &DEPTHWISE_3X3_S2_DX_ANY_WIDTH,
            &[
                ("WG", f64::from(GROUPED_WG)),
                ("TEX_SHIFT", f64::from(dev.texel_shift())),
            ],
            &params,
            &[dy.arg(), w.arg(), dx.arg()],
            dev.grid_1d(total as u64, GROUPED_WG)?,
        );
    }
    let strips = g.w.div_ceil(4);
    let params = GroupedParams::new(g, g.n * g.c * g.h * strips, strips, 0);
    launch_1d(
        w.device(),
        &DEPTHWISE_DX,
        &params,
        &[dy.arg(), w.arg(), dx.arg()],
    )
}

fn grouped_forward(
    g: &Geom,
    x: &Tensor,
    w: &Tensor,
    bias: Option<&Tensor>,
    opts: &Conv2dOptions<'_>,
    y: &Tensor,
) -> Result<()> {
    if grouped_3x3_applies(x.device(), g) {
        // The weights as [cig][r][s][k / 4] vec4s over output channels, rotated.
        let wt = weight_to_krsc(w, g, g.cig, g.k / 4, true)?;
        return grouped_3x3(
            g,
            x,
            &wt,
            epilogue_flags(bias, opts),
            bias,
            opts.residual,
            y,
            false,
        );
    }
    let strips = g.ow.div_ceil(4);
    let cblocks = g.groups * g.cog.div_ceil(4);
    let params = GroupedParams {
        flags: epilogue_flags(bias, opts),
        ..GroupedParams::new(g, g.n * cblocks * g.oh * strips, strips, cblocks)
    };
    let b_arg = bias.map_or(w.arg(), Tensor::arg);
    let r_arg = opts.residual.map_or(w.arg(), Tensor::arg);
    let dev = x.device();
    dev.launch(
        &GROUPED_FWD,
        &grouped_constants(g, &params),
        &params,
        &[x.arg(), w.arg(), b_arg, r_arg, y.arg()],
        dev.grid_1d(u64::from(params.total), GROUPED_WG)?,
    )
}

fn grouped_backward_input(g: &Geom, w: &Tensor, dy: &Tensor, dx: &Tensor) -> Result<()> {
    // Stride 1 with padding 1 on every side: dX is the forward of dy through the
    // group-transposed, rotated weights (`grouped3x3` with GROUPED_DX).
    let t = Geom {
        c: g.k,
        h: g.oh,
        w: g.ow,
        k: g.c,
        oh: g.h,
        ow: g.w,
        cig: g.cog,
        cog: g.cig,
        ..*g
    };
    if g.sh == 1 && (g.oh, g.ow) == (g.h, g.w) && grouped_3x3_applies(w.device(), &t) {
        // The weights as [k][r][s][cig / 4] vec4s over input channels (unrotated).
        let wt = weight_to_krsc(w, g, g.k, g.cig / 4, false)?;
        return grouped_3x3(&t, dy, &wt, 0, None, None, dx, true);
    }
    if g.sh == 2 && grouped_3x3_applies(w.device(), g) && storage_operands_fit(w.device(), g) {
        // `grouped3x3s2_dx`, the weights in the same layout as stride 1's.
        let wt = weight_to_krsc(w, g, g.k, g.cig / 4, false)?;
        let strips = g.w.div_ceil(4);
        let total = g.n * (g.c / 4) * g.h.div_ceil(4) * strips;
        let params = GroupedParams::new(g, total, strips, 0);
        let dev = w.device();
        return dev.launch(
            &GROUPED_3X3_S2_DX,
            &[("WG", f64::from(GROUPED_WG)), ("STRIDE", 2.0)],
            &params,
            &[dy.arg(), wt.arg(), dx.arg()],
            dev.grid_1d(total as u64, GROUPED_WG)?,
        );
    }
    let strips = g.w.div_ceil(4);
    let cblocks = g.groups * g.cig.div_ceil(4);
    let params = GroupedParams::new(g, g.n * cblocks * g.h * strips, strips, cblocks);
    let dev = w.device();
    dev.launch(
        &GROUPED_DX,
        &grouped_constants(g, &params),
        &params,
        &[dy.arg(), w.arg(), dx.arg()],
        dev.grid_1d(u64::from(params.total), GROUPED_WG)?,
    )
}

/// Whether `grouped3x3` (4 output channels × 4 rows × 4 columns per invocation, a
/// sliding window of input rows) takes this grouped problem: 3×3, dilation 1, top/left
/// padding 1, stride 1 or 2, output channels per group a multiple of 4 (vec4 weights
/// over a block of 4), input channels per group too (the dX layout); x and y each in one
/// storage binding, or x a texel operand where both widths are multiples of 4.
fn grouped_3x3_applies(dev: &Device, g: &Geom) -> bool {
    g.groups > 1
        && g.cig > 1
        && is_3x3_pad1_stride12(g)
        && g.cog.is_multiple_of(4)
        && g.cig.is_multiple_of(4)
        && (grouped_3x3_texels(dev, g) || storage_operands_fit(dev, g))
}

/// Whether `grouped3x3` reads x as texel rows (vec4-aligned rows, stores as vec4s);
/// otherwise its ANY_WIDTH form reads and writes storage buffers.
fn grouped_3x3_texels(dev: &Device, g: &Geom) -> bool {
    (g.n * g.c * g.h * g.w / 4) as u64 <= dev.max_texel_vec4s()
        && g.w.is_multiple_of(4)
        && g.ow.is_multiple_of(4)
}

/// Runs `grouped3x3` on `x` (`[n, c, h, w]` as `g` describes it) with weights `wt` in the
/// layout `dx` selects (see the shader), writing `y`.
#[allow(clippy::too_many_arguments)]
fn grouped_3x3(
    g: &Geom,
    x: &Tensor,
    wt: &Tensor,
    flags: u32,
    bias: Option<&Tensor>,
    residual: Option<&Tensor>,
    y: &Tensor,
    dx: bool,
) -> Result<()> {
    let dev = x.device();
    let strips = g.ow.div_ceil(4);
    let total = g.n * (g.k / 4) * g.oh.div_ceil(4) * strips;
    let params = GroupedParams {
        flags,
        ..GroupedParams::new(g, total, strips, 0)
    };
    let texels = grouped_3x3_texels(dev, g);
    let x_tex = if texels {
        Some(dev.texels(x, x.numel() / 4)?)
    } else {
        None
    };
    dev.launch(
        if texels {
            &GROUPED_3X3
        } else {
            &GROUPED_3X3_ANY_WIDTH
        },
        &[
            ("WG", f64::from(GROUPED_WG)),
            ("STRIDE", g.sh as f64),
            ("TEX_SHIFT", f64::from(dev.texel_shift())),
            ("GROUPED_DX", f64::from(u8::from(dx))),
        ],
        &params,
        &[
            x_tex.as_ref().map_or(x.arg(), Arg::texels),
            wt.arg(),
            bias.map_or(wt.arg(), Tensor::arg),
            residual.map_or(wt.arg(), Tensor::arg),
            y.arg(),
        ],
        dev.grid_1d(total as u64, GROUPED_WG)?,
    )
}

/// The specialization of the grouped forward and dX kernels: the kernel size as
/// constants (fixed tap loops) and f32 index divisions below 2^24 invocations (see
/// conv2d_grouped.wgsl's KH, KW, SMALL_INDEX).
fn grouped_constants(g: &Geom, params: &GroupedParams) -> [(&'static str, f64); 4] {
    [
        ("WG", f64::from(GROUPED_WG)),
        ("KH", g.kh as f64),
        ("KW", g.kw as f64),
        ("SMALL_INDEX", f64::from(u8::from(params.total < 1 << 24))),
    ]
}

/// dW of the depthwise convolutions `forward3x3` runs (`backward_weight3x3`, x and dy
/// texel operands): one invocation per (output channel, split of the image rows), the
/// splits summed by `reduce::sum`.
fn depthwise_3x3_backward_weight(g: &Geom, x: &Tensor, dy: &Tensor) -> Result<Tensor> {
    let dev = x.device();
    let strips = g.ow / 4;
    if let Some(sg) = depthwise_3x3_subgroup(dev, g, strips) {
        // Splits of whole images, enough lanes to fill the device.
        let (splits, images) = dw_split(g.k * strips, g.n, 4096);
        let total = splits * g.k * strips;
        let part = Tensor::uninit(dev, &[splits, g.k * 9], DType::F32)?;
        let params = GroupedParams {
            chunk: images as u32,
            ..GroupedParams::new(g, total, strips, 0)
        };
        dev.launch(
            &DEPTHWISE_3X3_DW_SG,
            &depthwise_sg_constants(dev, g, sg, false),
            &params,
            &[x.arg(), dy.arg(), part.arg()],
            dev.grid_1d(total as u64, GROUPED_WG)?,
        )?;
        return sum_splits(part, splits, g);
    }
    let rows = g.n * g.oh;
    // Enough invocations to fill the device, each a run of whole rows.
    let (splits, chunk) = dw_split(g.k, rows, 4096);
    let total = g.k * splits;
    let part = Tensor::uninit(dev, &[splits, g.k * 9], DType::F32)?;
    let params = GroupedParams {
        chunk: chunk as u32,
        ..GroupedParams::new(g, total, 0, 0)
    };
    let x_tex = dev.texels(x, x.numel() / 4)?;
    let dy_tex = dev.texels(dy, dy.numel() / 4)?;
    dev.launch(
        &DEPTHWISE_3X3_DW,
        &[
            ("WG", f64::from(GROUPED_WG)),
            ("STRIDE", g.sh as f64),
            ("TEX_SHIFT", f64::from(dev.texel_shift())),
        ],
        &params,
        &[Arg::texels(&x_tex), Arg::texels(&dy_tex), part.arg()],
        dev.grid_1d(total as u64, GROUPED_WG)?,
    )?;
    sum_splits(part, splits, g)
}

/// dW of depthwise and grouped convolutions: one invocation per weight element,
/// split over images, the splits summed by `reduce::sum`.
fn grouped_backward_weight(g: &Geom, x: &Tensor, dy: &Tensor) -> Result<Tensor> {
    let dev = x.device();
    if grouped_3x3_dw_applies(dev, g) {
        return grouped_3x3_backward_weight(g, x, dy);
    }
    let total = g.k * g.cig * g.kh * g.kw;
    let (splits, chunk) = dw_split(total, g.n, 16384);
    let part = Tensor::uninit(dev, &[splits, total], DType::F32)?;
    let params = GroupedParams {
        chunk: chunk as u32,
        ..GroupedParams::new(g, total, 0, 0)
    };
    let mut grid = dev.grid_1d(total as u64, GROUPED_WG)?;
    grid[2] = splits as u32;
    dev.launch(
        &GROUPED_DW,
        &[("WG", f64::from(GROUPED_WG))],
        &params,
        &[dy.arg(), x.arg(), part.arg()],
        grid,
    )?;
    sum_splits(part, splits, g)
}

/// Whether `grouped_backward_weight3x3` (conv2d_depthwise.wgsl) takes this problem: 3×3,
/// padding 1 at the top/left, dilation 1, stride 1 or 2 on both axes, x and dy in one
/// storage binding each.
fn grouped_3x3_dw_applies(dev: &Device, g: &Geom) -> bool {
    is_3x3_pad1_stride12(g) && storage_operands_fit(dev, g)
}

/// Whether `grouped_backward_weight3x3` reads texel rows: each output column's strip of input
/// columns exactly `stride` times its own (w == ow · stride), ow a multiple of 4;
/// otherwise its ANY_WIDTH form's bounded scalar loads.
fn grouped_3x3_dw_vec4(g: &Geom) -> bool {
    g.w == g.ow * g.sw && g.ow.is_multiple_of(4)
}

/// dW of a grouped 3×3 convolution by `grouped_backward_weight3x3`: one invocation per (split
/// of the images, group, input channel, block of 4 output channels), the splits summed
/// by `reduce::sum`.
fn grouped_3x3_backward_weight(g: &Geom, x: &Tensor, dy: &Tensor) -> Result<Tensor> {
    let dev = x.device();
    let lanes = g.groups * g.cig * g.cog.div_ceil(4);
    let (splits, chunk) = dw_split(lanes, g.n, 4096);
    let total = splits * lanes;
    let part = Tensor::uninit(dev, &[splits, g.k * g.cig * 9], DType::F32)?;
    let params = GroupedParams {
        chunk: chunk as u32,
        ..GroupedParams::new(g, total, 0, 0)
    };
    let constants = [
        ("WG", f64::from(GROUPED_WG)),
        ("STRIDE", g.sh as f64),
        ("TEX_SHIFT", f64::from(dev.texel_shift())),
    ];
    let grid = dev.grid_1d(total as u64, GROUPED_WG)?;
    let fits = |t: &Tensor| (t.numel() / 4) as u64 <= dev.max_texel_vec4s();
    if grouped_3x3_dw_vec4(g) && fits(x) && fits(dy) {
        // x and dy as texel operands.
        let x_tex = dev.texels(x, x.numel() / 4)?;
        let dy_tex = dev.texels(dy, dy.numel() / 4)?;
        let args = [Arg::texels(&x_tex), Arg::texels(&dy_tex), part.arg()];
        dev.launch(&GROUPED_DW_3X3, &constants, &params, &args, grid)?;
    } else {
        let args = [x.arg(), dy.arg(), part.arg()];
        dev.launch(&GROUPED_DW_3X3_ANY_WIDTH, &constants, &params, &args, grid)?;
    }
    sum_splits(part, splits, g)
}

/// Whether `variant` can run `pass` of this problem on this device, and why not.
fn applies(dev: &Device, g: &Geom, variant: Conv2dVariant, pass: Conv2dPass) -> Result<(), String> {
    match variant {
        Conv2dVariant::Direct => Ok(()),
        Conv2dVariant::Igemm | Conv2dVariant::IgemmPortable => {
            if g.groups != 1 {
                return Err(format!("needs groups = 1, got groups {}", g.groups));
            }
            if variant == Conv2dVariant::Igemm {
                // Its operands are texel copies (padded NHWC input, dY or dX's padded dY).
                let cv = g.c.div_ceil(4).max(g.k.div_ceil(4)) as u64;
                let (hp, wp) = (
                    (g.h + g.pt + g.pb).max(g.h + g.dh * (g.kh - 1)),
                    (g.w + g.pl + g.pr).max(g.w + g.dw * (g.kw - 1)),
                );
                let vec4s = (g.n * hp * wp) as u64 * (cv + 16);
                if vec4s > dev.max_texel_vec4s() {
                    return Err(format!(
                        "its operands ({vec4s} vec4s) exceed the adapter's texture size ({} vec4s)",
                        dev.max_texel_vec4s()
                    ));
                }
                let sg = subgroup_size(dev)?;
                if pass == Conv2dPass::BackwardWeight && 4 * sg > 64 {
                    return Err(format!(
                        "its weight gradient needs subgroups of at most 16 lanes, the adapter has {sg}"
                    ));
                }
            }
            Ok(())
        }
        Conv2dVariant::Depthwise => {
            if g.cig != 1 {
                return Err(format!(
                    "needs groups = c_in (one input channel per group), got groups {} for c_in {}",
                    g.groups, g.c
                ));
            }
            Ok(())
        }
        Conv2dVariant::Grouped => {
            if g.groups < 2 {
                return Err(format!("needs groups > 1, got groups {}", g.groups));
            }
            Ok(())
        }
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

/// A variant and, for the implicit GEMMs' forward/dX, the output channels per
/// lane of the forward tile (0: the default for the shape).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Plan {
    variant: Conv2dVariant,
    kb: usize,
}

impl Plan {
    fn of(variant: Conv2dVariant) -> Plan {
        Plan { variant, kb: 0 }
    }
}

fn resolve(
    dev: &Device,
    g: &Geom,
    pass: Conv2dPass,
    forced: Option<Conv2dVariant>,
) -> Result<Plan> {
    match forced {
        None => {
            if autotune::enabled() {
                if let Some(plan) = autotune::plan(dev, g, pass) {
                    return Ok(plan);
                }
            }
            Ok(Plan::of(choose(dev, g, pass)))
        }
        Some(v) => match applies(dev, g, v, pass) {
            Ok(()) => Ok(Plan::of(v)),
            Err(why) => shape_err(
                OP,
                format!("{pass:?} cannot run the {} variant: {why}", v.name()),
            ),
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
    let plan = resolve(dev, &g, Conv2dPass::Forward, opts.variant)?;
    Ok(run_forward(&g, plan, x, w, bias, opts, None)?.0)
}

/// The forward with `plan`; `moments` (the subgroup implicit GEMM only) gets
/// batch norm's partial moments of the output.
fn run_forward(
    g: &Geom,
    plan: Plan,
    x: &Tensor,
    w: &Tensor,
    bias: Option<&Tensor>,
    opts: &Conv2dOptions<'_>,
    moments: Option<&Tensor>,
) -> Result<(Tensor, Option<Conv2dInput>)> {
    let y = Tensor::uninit(x.device(), &g.y_shape(), DType::F32)?;
    let mut kept = None;
    match plan.variant {
        Conv2dVariant::Direct => direct_forward(g, x, w, bias, opts, &y)?,
        Conv2dVariant::Igemm | Conv2dVariant::IgemmPortable => {
            let xp = igemm_forward(g, plan, x, w, bias, opts, &y, moments)?;
            kept = Some(Conv2dInput {
                variant: plan.variant,
                geom: *g,
                xp,
            });
        }
        Conv2dVariant::Depthwise => depthwise_forward(g, x, w, bias, opts, &y)?,
        Conv2dVariant::Grouped => grouped_forward(g, x, w, bias, opts, &y)?,
    }
    Ok((y, kept))
}

/// The input of a convolution in the padded layout its implicit-GEMM kernels
/// read, kept from the forward pass ([`conv2d_keeping_input`]) so that the
/// weight gradient ([`conv2d_backward_kept`]) need not build it again.
/// Dropping it returns its storage to the device's pool.
#[derive(Debug)]
pub struct Conv2dInput {
    variant: Conv2dVariant,
    geom: Geom,
    xp: Staged,
}

impl Conv2dInput {
    /// Bytes it holds on the device.
    pub fn bytes(&self) -> u64 {
        match &self.xp {
            Staged::Buffer(t) => t.byte_size(),
            Staged::Texels(t) => t.bytes(),
        }
    }
}

/// [`conv2d`] that also returns its input in the layout of the weight gradient
/// where the implicit-GEMM kernels ran (`None` for the other variants), to be
/// passed to [`conv2d_backward_kept`].
pub fn conv2d_keeping_input(
    x: &Tensor,
    w: &Tensor,
    bias: Option<&Tensor>,
    cfg: &Conv2dConfig,
) -> Result<(Tensor, Option<Conv2dInput>)> {
    let g = Geom::new(shape4(x, "x")?, shape4(w, "w")?, cfg)?;
    if let Some(b) = bias {
        expect_shape(b, "bias", &[g.k])?;
    }
    let plan = resolve(x.device(), &g, Conv2dPass::Forward, None)?;
    run_forward(&g, plan, x, w, bias, &Conv2dOptions::default(), None)
}

/// [`conv2d_keeping_input`] without bias that also returns batch norm's
/// partial moments of the output where the subgroup implicit GEMM runs
/// ([`OutputMoments`]; `None` for the other variants).
pub fn conv2d_keeping_input_and_moments(
    x: &Tensor,
    w: &Tensor,
    cfg: &Conv2dConfig,
) -> Result<(Tensor, Option<Conv2dInput>, Option<OutputMoments>)> {
    let g = Geom::new(shape4(x, "x")?, shape4(w, "w")?, cfg)?;
    let dev = x.device();
    let plan = resolve(dev, &g, Conv2dPass::Forward, None)?;
    let mo = output_moments(dev, &g, plan)?;
    let parts = mo.as_ref().map(|m| &m.parts);
    let (y, kept) = run_forward(&g, plan, x, w, None, &Conv2dOptions::default(), parts)?;
    Ok((y, kept, mo))
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
    let plan = resolve(dev, &g, Conv2dPass::BackwardInput, variant)?;
    Ok(run_backward_input(&g, plan, w, DyOperand::Nchw(dy), None, None)?.0)
}

/// dX, and the implicit GEMMs' padded dY (which dW can read again).
/// dX, plus `acc` where given (a gradient already accumulated for x: added in
/// the implicit GEMM's store, by a separate add after the other variants).
fn run_backward_input(
    g: &Geom,
    plan: Plan,
    w: &Tensor,
    dy: DyOperand<'_>,
    acc: Option<&Tensor>,
    bn: Option<BnSumsOperands<'_>>,
) -> Result<(Tensor, Option<StagedDy>, Option<BnSumParts>)> {
    if let Some(a) = acc {
        expect_shape(a, "accumulated dx", &g.x_shape())?;
    }
    let dev = w.device();
    if !matches!(
        plan.variant,
        Conv2dVariant::Igemm | Conv2dVariant::IgemmPortable
    ) {
        let DyOperand::Nchw(dy) = dy else {
            return shape_err(
                OP,
                format!(
                    "dX by the {} variant needs dy in NCHW, not a padded layout",
                    plan.variant.name()
                ),
            );
        };
        let dx = Tensor::uninit(dev, &g.x_shape(), DType::F32)?;
        match plan.variant {
            Conv2dVariant::Direct => direct_backward_input(g, w, dy, &dx)?,
            Conv2dVariant::Depthwise => depthwise_backward_input(g, w, dy, &dx)?,
            _ => grouped_backward_input(g, w, dy, &dx)?,
        }
        return match acc {
            Some(a) => Ok((elementwise::add(a, &dx)?, None, None)),
            None => Ok((dx, None, None)),
        };
    }
    let dyp = match dy {
        DyOperand::Nchw(t) => DyLayout::for_dx(dev, g, plan).stage(g, plan.variant, t)?,
        DyOperand::Staged(s) => s,
    };
    if plan.variant == Conv2dVariant::Igemm && phases_apply(dev, g) {
        let (dx, staged) = phase_backward_input(g, plan, w, dyp, acc)?;
        return Ok((dx, Some(staged), None));
    }
    let dx = Tensor::uninit(dev, &g.x_shape(), DType::F32)?;
    let (staged, sums) = igemm_backward_input(g, plan, w, dyp, &dx, acc, bn)?;
    Ok((dx, Some(staged), sums))
}

/// dY as dX reads it: NCHW, or already in dX's padded layout (a producer wrote
/// it there, [`conv2d_backward_kept_from_padded`]).
enum DyOperand<'a> {
    Nchw(&'a Tensor),
    Staged(Staged),
}

/// x as dW reads it: NCHW (laid out again where needed), or the padded layout
/// the forward pass kept.
#[derive(Clone, Copy)]
enum XOperand<'a> {
    Nchw(&'a Tensor),
    Kept(&'a Staged),
}

impl<'a> XOperand<'a> {
    /// `kept` where it holds this geometry for this variant, else `x`; an error
    /// where neither is there.
    fn of(
        x: Option<&'a Tensor>,
        kept: Option<&'a Conv2dInput>,
        g: &Geom,
        variant: Conv2dVariant,
    ) -> Result<XOperand<'a>> {
        match (kept.filter(|k| k.variant == variant && k.geom == *g), x) {
            (Some(k), _) => Ok(XOperand::Kept(&k.xp)),
            (None, Some(x)) => Ok(XOperand::Nchw(x)),
            (None, None) => shape_err(
                OP,
                "dW needs x: neither x nor its padded layout for this convolution was kept",
            ),
        }
    }
}

/// The geometry of a backward pass whose input `x` may exist only as what the
/// forward kept.
fn backward_geom(
    x: Option<&Tensor>,
    kept: Option<&Conv2dInput>,
    w: &Tensor,
    cfg: &Conv2dConfig,
) -> Result<Geom> {
    let x_shape = match (x, kept) {
        (Some(x), _) => shape4(x, "x")?,
        (None, Some(k)) => k.geom.x_shape(),
        (None, None) => return shape_err(OP, "neither x nor its kept padded layout was given"),
    };
    Geom::new(x_shape, shape4(w, "w")?, cfg)
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
    let plan = resolve(dev, &g, Conv2dPass::BackwardWeight, variant)?;
    run_backward_weight(&g, plan, XOperand::Nchw(x), dy, None)
}

/// Whether [`conv2d_backward_kept`] computes the input gradient dX.
#[derive(Clone, Copy, Debug)]
pub enum InputGrad<'a> {
    /// No dX (the network's input).
    No,
    /// dX, plus `plus` where given.
    Yes {
        /// A gradient already accumulated for x (a residual block's shortcut),
        /// added in the implicit GEMM's store instead of by a separate pass.
        plus: Option<&'a Tensor>,
    },
}

/// The gradients of [`conv2d`] with respect to its input (see [`InputGrad`])
/// and its weight, from what the forward pass kept ([`conv2d_keeping_input`]
/// on the same `x` and `cfg`, or `None`): where the implicit GEMMs run, dW
/// reads the forward's padded input and dX's padded dY instead of laying
/// either out again. `x` may be `None` where the input exists only as `kept`
/// ([`conv2d_keeping_input_from_padded`]). Returns `(dx, dw)`.
pub fn conv2d_backward_kept(
    x: Option<&Tensor>,
    kept: Option<&Conv2dInput>,
    w: &Tensor,
    dy: &Tensor,
    cfg: &Conv2dConfig,
    input_grad: InputGrad<'_>,
) -> Result<(Option<Tensor>, Tensor)> {
    let g = backward_geom(x, kept, w, cfg)?;
    expect_shape(dy, "dy", &g.y_shape())?;
    let dev = w.device();
    let (dx, staged_dy) = if let InputGrad::Yes { plus } = input_grad {
        let plan = resolve(dev, &g, Conv2dPass::BackwardInput, None)?;
        let (dx, staged, _) = run_backward_input(&g, plan, w, DyOperand::Nchw(dy), plus, None)?;
        (Some(dx), staged)
    } else {
        (None, None)
    };
    let plan = resolve(dev, &g, Conv2dPass::BackwardWeight, None)?;
    let xo = XOperand::of(x, kept, &g, plan.variant)?;
    let dw = run_backward_weight(&g, plan, xo, dy, staged_dy.as_ref())?;
    Ok((dx, dw))
}

/// An operand of a convolution's implicit GEMMs in their padded NHWC layout:
/// vec4s `[n][hp][wp][kv]` (channels zero-padded to `4·kv`), pixel `(i, j)` of
/// the `[n, c, h, w]` tensor at row `i·ups[0] + off[0]`, column `j·ups[1] +
/// off[1]`, zeros everywhere else. dY as dX and dW read it
/// ([`conv2d_dy_layout`]; `ups` the stride where zeros are inserted), or x as
/// the forward reads it ([`conv2d_input_layout`]; `off` the padding). A
/// producer (batch norm's last pass) can write its output there directly and
/// hand it to [`conv2d_backward_kept_from_padded`] or
/// [`conv2d_keeping_input_from_padded`], saving the layout pass.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Conv2dPaddedLayout {
    /// The tensor's shape `[n, c, h, w]` (dY's `[n, k, oh, ow]`).
    pub shape: [usize; 4],
    /// Rows of the padded layout.
    pub hp: usize,
    /// Columns of the padded layout.
    pub wp: usize,
    /// vec4s of channels per pixel.
    pub kv: usize,
    /// Row and column of pixel (0, 0).
    pub off: [usize; 2],
    /// Row and column step between pixels (dY's stride where zeros are inserted).
    pub ups: [usize; 2],
}

impl Conv2dPaddedLayout {
    /// f32 elements of the padded layout.
    pub fn floats(&self) -> usize {
        self.shape[0] * self.hp * self.wp * self.kv * 4
    }

    /// `t`, holding this layout, as a texel operand: a typed error where this is
    /// not `expected` (the layout in which the convolution's `pass` reads `what`)
    /// or `t` is too small for it.
    fn stage(
        &self,
        dev: &Device,
        t: &Tensor,
        expected: Option<Conv2dPaddedLayout>,
        (what, pass): (&str, &str),
    ) -> Result<Staged> {
        if expected != Some(*self) {
            return shape_err(
                OP,
                format!("{what}'s padded layout {self:?} is not the one this convolution's {pass} reads"),
            );
        }
        if t.numel() < self.floats() {
            return shape_err(
                OP,
                format!(
                    "padded {what} holds {} elements, its layout needs {}",
                    t.numel(),
                    self.floats()
                ),
            );
        }
        Ok(Staged::Texels(dev.texels(t, self.floats() / 4)?))
    }
}

/// `pass`'s plan where it and dW both run the subgroup implicit GEMM (the
/// kernels that read padded operands a producer may write), else `None`.
fn subgroup_igemm_with_dw(dev: &Device, g: &Geom, pass: Conv2dPass) -> Result<Option<Plan>> {
    let plan = resolve(dev, g, pass, None)?;
    let dw = resolve(dev, g, Conv2dPass::BackwardWeight, None)?;
    let both = plan.variant == Conv2dVariant::Igemm && dw.variant == Conv2dVariant::Igemm;
    Ok(both.then_some(plan))
}

/// The layout [`conv2d_backward_kept_from_padded`] takes dY in for this
/// convolution on `dev`, or `None` where its dX or dW would not read one (other
/// variants, or a dW kernel whose channel blocks differ from dX's).
pub fn conv2d_dy_layout(
    dev: &Device,
    x_shape: [usize; 4],
    w_shape: [usize; 4],
    cfg: &Conv2dConfig,
) -> Result<Option<Conv2dPaddedLayout>> {
    let g = Geom::new(x_shape, w_shape, cfg)?;
    let Some(dx_plan) = subgroup_igemm_with_dw(dev, &g, Conv2dPass::BackwardInput)? else {
        return Ok(None);
    };
    let l = DyLayout::for_dx(dev, &g, dx_plan);
    let [Ok(off_h), Ok(off_w)] = l.off.map(usize::try_from) else {
        return Ok(None);
    };
    // dW reads the same operand only with its own channel blocks (see
    // igemm_backward_weight's `reuse`).
    let kb = dw_channel_block(Conv2dVariant::Igemm, &g);
    let fits = l.kv * 4 == round_up(g.k, kb)
        && (g.oh - 1) * l.ups[0] + off_h < l.hp
        && (g.ow - 1) * l.ups[1] + off_w < l.wp;
    Ok(fits.then_some(Conv2dPaddedLayout {
        shape: g.y_shape(),
        hp: l.hp,
        wp: l.wp,
        kv: l.kv,
        off: [off_h, off_w],
        ups: l.ups,
    }))
}

/// The layout [`conv2d_keeping_input_from_padded`] takes x in for this
/// convolution on `dev` (the forward's zero-padded input), or `None` where the
/// forward or dW would not read it (variants other than the subgroup implicit
/// GEMM).
pub fn conv2d_input_layout(
    dev: &Device,
    x_shape: [usize; 4],
    w_shape: [usize; 4],
    cfg: &Conv2dConfig,
) -> Result<Option<Conv2dPaddedLayout>> {
    let g = Geom::new(x_shape, w_shape, cfg)?;
    if subgroup_igemm_with_dw(dev, &g, Conv2dPass::Forward)?.is_none() {
        return Ok(None);
    }
    Ok(Some(Conv2dPaddedLayout {
        shape: x_shape,
        hp: g.h + g.pt + g.pb,
        wp: g.w + g.pl + g.pr,
        kv: g.c.div_ceil(4),
        off: [g.pt, g.pl],
        ups: [1, 1],
    }))
}

/// [`conv2d_keeping_input`] with x already in the padded layout
/// [`conv2d_input_layout`] gives (`xp`, at least [`Conv2dPaddedLayout::floats`]
/// elements; a producer wrote it there): the forward reads it as it is and
/// keeps it for dW ([`conv2d_backward_kept`] with no x); with `moments` it also
/// returns batch norm's partial moments of the output ([`OutputMoments`]).
pub fn conv2d_keeping_input_from_padded(
    xp: &Tensor,
    layout: &Conv2dPaddedLayout,
    w: &Tensor,
    cfg: &Conv2dConfig,
    moments: bool,
) -> Result<(Tensor, Conv2dInput, Option<OutputMoments>)> {
    let g = Geom::new(layout.shape, shape4(w, "w")?, cfg)?;
    let dev = w.device();
    let expected = conv2d_input_layout(dev, g.x_shape(), g.w_shape(), cfg)?;
    let staged = layout.stage(dev, xp, expected, ("x", "forward"))?;
    let plan = resolve(dev, &g, Conv2dPass::Forward, None)?;
    let y = Tensor::uninit(dev, &g.y_shape(), DType::F32)?;
    let hw = (layout.hp, layout.wp);
    let opts = Conv2dOptions::default();
    let mo = if moments {
        output_moments(dev, &g, plan)?
    } else {
        None
    };
    let parts = mo.as_ref().map(|m| &m.parts);
    igemm_forward_from(
        Conv2dPass::Forward,
        &g,
        plan,
        &staged,
        hw,
        w,
        None,
        &opts,
        &y,
        parts,
    )?;
    let kept = Conv2dInput {
        variant: plan.variant,
        geom: g,
        xp: staged,
    };
    Ok((y, kept, mo))
}

/// [`conv2d_backward_kept`] with dY already in the padded layout
/// [`conv2d_dy_layout`] gives (`dyp`, at least [`Conv2dPaddedLayout::floats`]
/// elements): dX and dW read it as it is.
pub fn conv2d_backward_kept_from_padded(
    x: Option<&Tensor>,
    kept: Option<&Conv2dInput>,
    w: &Tensor,
    dyp: &Tensor,
    layout: &Conv2dPaddedLayout,
    cfg: &Conv2dConfig,
    input_grad: InputGrad<'_>,
) -> Result<(Option<Tensor>, Tensor)> {
    let (dx, dw, _) = kept_from_padded(x, kept, w, (dyp, layout), cfg, input_grad, None)?;
    Ok((dx, dw))
}

/// [`conv2d_backward_kept_from_padded`] with dX, whose epilogue also reduces
/// the backward sums of the batch norm `bn` whose output x is (dX is the
/// gradient of `act(bn(bn.x))`): `(dx, dw, sums)`, `sums` `None` where this dX
/// kernel cannot (the portable kernel, the strided path, rows not of whole
/// vec4s), and batch norm then reduces them itself.
pub fn conv2d_backward_kept_from_padded_with_bn_sums(
    x: Option<&Tensor>,
    kept: Option<&Conv2dInput>,
    w: &Tensor,
    (dyp, layout): (&Tensor, &Conv2dPaddedLayout),
    cfg: &Conv2dConfig,
    bn: BnSumsOperands<'_>,
) -> Result<(Tensor, Tensor, Option<BnSumParts>)> {
    let input_grad = InputGrad::Yes { plus: None };
    let (dx, dw, sums) = kept_from_padded(x, kept, w, (dyp, layout), cfg, input_grad, Some(bn))?;
    let dx = dx.ok_or_else(|| Error::Shape {
        op: OP,
        message: "dX was asked for and not computed".into(),
    })?;
    Ok((dx, dw, sums))
}

fn kept_from_padded(
    x: Option<&Tensor>,
    kept: Option<&Conv2dInput>,
    w: &Tensor,
    (dyp, layout): (&Tensor, &Conv2dPaddedLayout),
    cfg: &Conv2dConfig,
    input_grad: InputGrad<'_>,
    bn: Option<BnSumsOperands<'_>>,
) -> Result<(Option<Tensor>, Tensor, Option<BnSumParts>)> {
    let g = backward_geom(x, kept, w, cfg)?;
    let dev = w.device();
    let expected = conv2d_dy_layout(dev, g.x_shape(), g.w_shape(), cfg)?;
    let staged = layout.stage(dev, dyp, expected, ("dY", "backward"))?;
    let dx_plan = resolve(dev, &g, Conv2dPass::BackwardInput, None)?;
    let (dx, staged_dy, sums) = match input_grad {
        InputGrad::Yes { plus } => {
            let (dx, s, sums) =
                run_backward_input(&g, dx_plan, w, DyOperand::Staged(staged), plus, bn)?;
            (Some(dx), s, sums)
        }
        InputGrad::No => {
            let dl = DyLayout::for_dx(dev, &g, dx_plan);
            let s = StagedDy {
                variant: Conv2dVariant::Igemm,
                geom: g,
                dyp: staged,
                layout: dl,
            };
            (None, Some(s), None)
        }
    };
    let plan = resolve(dev, &g, Conv2dPass::BackwardWeight, None)?;
    let xo = XOperand::of(x, kept, &g, plan.variant)?;
    let dw = igemm_backward_weight(dev, &g, plan.variant, xo, None, staged_dy.as_ref())?;
    Ok((dx, dw, sums))
}

fn run_backward_weight(
    g: &Geom,
    plan: Plan,
    x: XOperand<'_>,
    dy: &Tensor,
    staged_dy: Option<&StagedDy>,
) -> Result<Tensor> {
    match (plan.variant, x) {
        (Conv2dVariant::Igemm | Conv2dVariant::IgemmPortable, x) => {
            igemm_backward_weight(dy.device(), g, plan.variant, x, Some(dy), staged_dy)
        }
        (_, XOperand::Kept(_)) => shape_err(
            OP,
            format!(
                "dW of this convolution ({:?}) needs x itself, not its padded layout",
                plan.variant
            ),
        ),
        (Conv2dVariant::Direct, XOperand::Nchw(x)) => direct_backward_weight(g, x, dy),
        (Conv2dVariant::Depthwise, XOperand::Nchw(x)) if depthwise_3x3_applies(x.device(), g) => {
            depthwise_3x3_backward_weight(g, x, dy)
        }
        (Conv2dVariant::Depthwise | Conv2dVariant::Grouped, XOperand::Nchw(x)) => {
            grouped_backward_weight(g, x, dy)
        }
    }
}

/// Gradient of [`conv2d`] with respect to its bias: `dy` summed over n, h, w.
pub fn conv2d_backward_bias(dy: &Tensor) -> Result<Tensor> {
    shape4(dy, "dy")?;
    reduce::sum(dy, &[0, 2, 3], false)
}

// ---------------------------------------------------------------------------
// Autotuner

/// Opt-in autotuning of the automatic choice: `SHADERNET_CONV_AUTOTUNE=1` in the
/// environment, or [`set_autotune`]. Off by default so tests stay deterministic.
///
/// Per (adapter, pass, problem) it times a bounded set of candidates (every
/// applicable variant; the forward tiles of the implicit GEMMs), once,
/// after checking each candidate's output against the direct kernel on the
/// same problem with at most 2 images (a candidate that disagrees is dropped).
/// The choice is kept in memory and in `conv2d_autotune.json` under
/// `$XDG_CACHE_HOME/shadernet/` (or `~/.cache/shadernet/`).
pub fn set_autotune(on: bool) {
    autotune::set(on);
}

/// Whether the autotuner decides the automatic choice (see [`set_autotune`]).
pub fn autotune_enabled() -> bool {
    autotune::enabled()
}

/// Tunes `pass` of this problem now (or reads the cached choice), whether or not
/// autotuning is enabled, and returns the variant it picked with the output
/// channels per lane of its tile (0 when the variant has no tile choice).
pub fn autotune(
    device: &Device,
    x_shape: [usize; 4],
    w_shape: [usize; 4],
    cfg: &Conv2dConfig,
    pass: Conv2dPass,
) -> Result<(Conv2dVariant, usize)> {
    let g = Geom::new(x_shape, w_shape, cfg)?;
    let plan = autotune::plan(device, &g, pass).unwrap_or(Plan::of(choose(device, &g, pass)));
    Ok((plan.variant, plan.kb))
}

/// Where the autotuner keeps its choices (`None` without a cache or home directory).
pub fn autotune_cache_file() -> Option<std::path::PathBuf> {
    autotune::cache_file()
}

mod autotune {
    use std::collections::BTreeMap;
    use std::sync::atomic::{AtomicU8, Ordering};
    use std::sync::Mutex;
    use std::time::Instant;

    use super::{
        applies, run_backward_input, run_backward_weight, run_forward, Conv2dOptions, Conv2dPass,
        Conv2dVariant, Geom, Plan,
    };
    use crate::device::{lock, Device};
    use crate::tensor::Tensor;

    /// 0: not decided yet (read the environment), 1: off, 2: on.
    static STATE: AtomicU8 = AtomicU8::new(0);
    /// Key → (variant name, kb). Loaded from the cache file on first use.
    static CACHE: Mutex<Option<BTreeMap<String, (String, usize)>>> = Mutex::new(None);

    pub(super) fn set(on: bool) {
        STATE.store(if on { 2 } else { 1 }, Ordering::Relaxed);
    }

    pub(super) fn enabled() -> bool {
        match STATE.load(Ordering::Relaxed) {
            0 => {
                let on = std::env::var("SHADERNET_CONV_AUTOTUNE")
                    .is_ok_and(|v| !v.is_empty() && v != "0");
                set(on);
                on
            }
            s => s == 2,
        }
    }

    pub(super) fn cache_file() -> Option<std::path::PathBuf> {
        let base = std::env::var_os("XDG_CACHE_HOME")
            .filter(|v| !v.is_empty())
            .map(std::path::PathBuf::from)
            .or_else(|| {
                std::env::var_os("HOME").map(|h| std::path::PathBuf::from(h).join(".cache"))
            })?;
        Some(base.join("shadernet").join("conv2d_autotune.json"))
    }

    /// Reads the cache file: one `"key": ["variant", kb],` entry per line (the file
    /// is written by `save` in exactly that form; anything else is ignored).
    fn load() -> BTreeMap<String, (String, usize)> {
        let mut map = BTreeMap::new();
        let Some(text) = cache_file().and_then(|f| std::fs::read_to_string(f).ok()) else {
            return map;
        };
        for line in text.lines() {
            let line = line.trim().trim_end_matches(',');
            let Some((key, val)) = line.split_once("\": [") else {
                continue;
            };
            let key = key.trim_start_matches('"').to_string();
            let val = val.trim_end_matches(']');
            let mut parts = val.split(',').map(str::trim);
            let (Some(name), Some(kb)) = (parts.next(), parts.next()) else {
                continue;
            };
            if let Ok(kb) = kb.parse::<usize>() {
                map.insert(key, (name.trim_matches('"').to_string(), kb));
            }
        }
        map
    }

    fn save(map: &BTreeMap<String, (String, usize)>) {
        let Some(file) = cache_file() else {
            return;
        };
        let body: Vec<String> = map
            .iter()
            .map(|(k, (v, kb))| format!("  \"{k}\": [\"{v}\", {kb}]"))
            .collect();
        let text = format!("{{\n{}\n}}\n", body.join(",\n"));
        // A cache that cannot be written only costs a re-tune next time.
        if let Some(dir) = file.parent() {
            let _ = std::fs::create_dir_all(dir);
        }
        let _ = std::fs::write(file, text);
    }

    fn key(dev: &Device, g: &Geom, pass: Conv2dPass) -> String {
        let a = dev.adapter();
        let name: String = format!("{} {}", a.name, a.backend)
            .chars()
            .filter(|c| *c != '"' && *c != '\\')
            .collect();
        format!(
            "{name}|{pass:?}|n{} c{} h{} w{} k{} r{}x{} s{}x{} p{},{},{},{} d{}x{} g{}",
            g.n,
            g.c,
            g.h,
            g.w,
            g.k,
            g.kh,
            g.kw,
            g.sh,
            g.sw,
            g.pt,
            g.pb,
            g.pl,
            g.pr,
            g.dh,
            g.dw,
            g.groups
        )
    }

    fn variant_named(name: &str) -> Option<Conv2dVariant> {
        Conv2dVariant::ALL.into_iter().find(|v| v.name() == name)
    }

    /// The tuned plan of this problem, tuning it now when it is not cached.
    pub(super) fn plan(dev: &Device, g: &Geom, pass: Conv2dPass) -> Option<Plan> {
        let key = key(dev, g, pass);
        {
            let mut cache = lock(&CACHE);
            let map = cache.get_or_insert_with(load);
            if let Some((name, kb)) = map.get(&key) {
                if let Some(variant) = variant_named(name) {
                    if applies(dev, g, variant, pass).is_ok() {
                        return Some(Plan { variant, kb: *kb });
                    }
                }
            }
        }
        let plan = tune(dev, g, pass)?;
        let mut cache = lock(&CACHE);
        let map = cache.get_or_insert_with(load);
        map.insert(key, (plan.variant.name().to_string(), plan.kb));
        save(map);
        Some(plan)
    }

    fn candidates(dev: &Device, g: &Geom, pass: Conv2dPass) -> Vec<Plan> {
        let mut out = Vec::new();
        for v in Conv2dVariant::ALL {
            if applies(dev, g, v, pass).is_err() {
                continue;
            }
            let tiled = matches!(v, Conv2dVariant::Igemm | Conv2dVariant::IgemmPortable)
                && pass != Conv2dPass::BackwardWeight;
            if tiled {
                let widest = super::widest_forward_block(v);
                out.extend(
                    [64, 32, 16]
                        .into_iter()
                        .filter(|&kb| kb <= widest)
                        .map(|kb| Plan { variant: v, kb }),
                );
            } else if v != Conv2dVariant::Direct || out.is_empty() {
                // The direct kernel is the reference, timed only when it is all there is.
                out.push(Plan::of(v));
            }
        }
        out
    }

    fn filled(dev: &Device, shape: &[usize], seed: usize) -> Option<Tensor> {
        let n: usize = shape.iter().product();
        let data: Vec<f32> = (0..n)
            .map(|i| (((i + seed) * 7919) % 1000) as f32 / 1000.0 - 0.5)
            .collect();
        Tensor::from_f32(dev, &data, shape).ok()
    }

    /// Runs `pass` of `g` with `plan` on the given operands.
    fn run(g: &Geom, plan: Plan, pass: Conv2dPass, ops: &[Tensor; 3]) -> Option<Tensor> {
        let [x, w, dy] = ops;
        match pass {
            Conv2dPass::Forward => {
                run_forward(g, plan, x, w, None, &Conv2dOptions::default(), None).map(|(y, _)| y)
            }
            Conv2dPass::BackwardInput => {
                run_backward_input(g, plan, w, super::DyOperand::Nchw(dy), None, None)
                    .map(|(dx, ..)| dx)
            }
            Conv2dPass::BackwardWeight => {
                run_backward_weight(g, plan, super::XOperand::Nchw(x), dy, None)
            }
        }
        .ok()
    }

    fn operands(dev: &Device, g: &Geom) -> Option<[Tensor; 3]> {
        Some([
            filled(dev, &g.x_shape(), 1)?,
            filled(dev, &g.w_shape(), 2)?,
            filled(dev, &g.y_shape(), 3)?,
        ])
    }

    fn tune(dev: &Device, g: &Geom, pass: Conv2dPass) -> Option<Plan> {
        let cands = candidates(dev, g, pass);
        if cands.len() <= 1 {
            return cands.first().copied();
        }
        // Check every candidate against the direct kernel on at most 2 images.
        let small = Geom {
            n: g.n.min(2),
            ..*g
        };
        let ops = operands(dev, &small)?;
        let want = run(&small, Plan::of(Conv2dVariant::Direct), pass, &ops)?
            .to_vec_f32()
            .ok()?;
        let scale = want.iter().fold(1.0f32, |m, v| m.max(v.abs()));
        let ok: Vec<Plan> = cands
            .into_iter()
            .filter(|&plan| {
                run(&small, plan, pass, &ops)
                    .and_then(|t| t.to_vec_f32().ok())
                    .is_some_and(|got| {
                        got.len() == want.len()
                            && got
                                .iter()
                                .zip(&want)
                                .all(|(a, b)| (a - b).abs() <= 1e-3 * scale)
                    })
            })
            .collect();
        // Time the survivors on the real problem: one warm-up (shader compilation),
        // then the best of two runs.
        let ops = operands(dev, g)?;
        let mut best: Option<(f64, Plan)> = None;
        for plan in ok {
            run(g, plan, pass, &ops)?;
            dev.sync().ok()?;
            let mut t = f64::INFINITY;
            for _ in 0..2 {
                let start = Instant::now();
                run(g, plan, pass, &ops)?;
                dev.sync().ok()?;
                t = t.min(start.elapsed().as_secs_f64());
            }
            if best.is_none_or(|(b, _)| t < b) {
                best = Some((t, plan));
            }
        }
        best.map(|(_, p)| p)
    }
}
