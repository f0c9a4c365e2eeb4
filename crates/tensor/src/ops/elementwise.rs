//! Elementwise ops: `unary.wgsl` (one function of `alpha * x + beta`) and
//! `binary.wgsl` (two operands, the second broadcast), each specialized by an
//! `OP` override constant.
//!
//! Tensors larger than one storage binding are processed window by window.

use crate::device::Arg;
use crate::error::{shape_err, Result};
use crate::kernel::Kernel;
use crate::tensor::{DType, Tensor};
use crate::texels::{texel_kernel, StreamReads, Texels};

const UNARY: Kernel = crate::kernel!("unary");
const UNARY4: Kernel = crate::kernel!("unary", "main4");
const BINARY: Kernel = crate::kernel!("binary");
const BINARY4: Kernel = crate::kernel!("binary", "main4");

/// Mirrors `struct Params` in shaders/unary.wgsl.
#[repr(C)]
#[derive(Clone, Copy, Debug, bytemuck::Pod, bytemuck::Zeroable)]
struct UnaryParams {
    numel: u32,
    alpha: f32,
    beta: f32,
    _pad: u32,
}

/// Mirrors `struct Params` in shaders/binary.wgsl.
#[repr(C)]
#[derive(Clone, Copy, Debug, bytemuck::Pod, bytemuck::Zeroable)]
struct BinaryParams {
    numel: u32,
    inner: u32,
    b_numel: u32,
    base: u32,
}

/// The function `unary.wgsl` applies after the affine map.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum UnaryOp {
    Identity = 0,
    Relu = 1,
    Relu6 = 2,
    Exp = 3,
    Sqrt = 4,
}

/// The operation `binary.wgsl` applies.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum BinaryOp {
    Add = 0,
    Sub = 1,
    Mul = 2,
    Div = 3,
    ReluBackward = 4,
    Relu6Backward = 5,
    AddRelu = 6,
}

/// Element ranges `[start, end)` such that each window of a tensor fits one
/// storage binding and starts at an aligned offset.
pub(crate) fn windows(t: &Tensor) -> Vec<(usize, usize)> {
    let dev = t.device();
    let align_elems = (dev.storage_offset_align() / 4).max(1) as usize;
    let max_elems = (dev.max_binding_bytes() / 4) as usize / align_elems * align_elems;
    let n = t.numel();
    let mut out = Vec::new();
    let mut start = 0;
    while start < n {
        let end = (start + max_elems).min(n);
        out.push((start, end));
        start = end;
    }
    out
}

fn window_arg(t: &Tensor, start: usize, end: usize) -> Arg<'_> {
    Arg::window(
        t.buffer(),
        (start * 4) as u64,
        ((end - start).max(1) * 4) as u64,
    )
}

/// Whether these tensors can run a `main4` entry: each fits one storage binding
/// and every buffer holds whole vec4s (and, where the device reads streams from
/// texel operands, each fits one).
fn vec4_path(ts: &[&Tensor]) -> bool {
    ts.iter().all(|t| {
        let dev = t.device();
        let vec4s = t.numel().div_ceil(4) as u64;
        t.numel() > 0
            && vec4s * 16 <= t.buffer().size()
            && vec4s * 16 <= dev.max_binding_bytes()
            && (dev.stream_reads() == StreamReads::Storage || vec4s <= dev.max_texel_vec4s())
    })
}

/// A `main4` input: its texel copy (kept in `keep`) or its vec4 storage window.
fn vec4_input<'a>(t: &'a Tensor, keep: &'a Option<Texels>) -> Arg<'a> {
    match keep {
        Some(tx) => Arg::texels(tx),
        None => Arg::window(t.buffer(), 0, t.numel().div_ceil(4) as u64 * 16),
    }
}

/// A `main4` kernel specialized for the device's streaming reads, its override
/// constants, and the texel copies of its inputs (`None` each for storage reads).
type Vec4Launch = (Kernel, Vec<(&'static str, f64)>, Vec<Option<Texels>>);

/// `main4` specialized for the device's streaming reads over the inputs `ts`.
fn vec4_kernel(
    kernel: Kernel,
    constants: &[(&'static str, f64)],
    ts: &[&Tensor],
) -> Result<Vec4Launch> {
    let dev = ts[0].device();
    let texels = dev.stream_reads() == StreamReads::Texels;
    let copies = ts
        .iter()
        .map(|t| {
            texels
                .then(|| dev.texels(t, t.numel().div_ceil(4)))
                .transpose()
        })
        .collect::<Result<Vec<_>>>()?;
    let (kernel, constants) = texel_kernel(dev, kernel, texels, constants);
    Ok((kernel, constants, copies))
}

/// Times an identity `main4` over 16 MiB reading storage and reading a texel copy
/// (the copy included), best of three alternating runs each: `(storage_s, texels_s)`.
/// Device::stream_reads' measurement.
pub(crate) fn time_stream_reads(dev: &crate::Device) -> Result<(f64, f64)> {
    let vec4s = 1usize << 20;
    let x = Tensor::zeros(dev, &[vec4s * 4], DType::F32)?;
    let y = Tensor::uninit(dev, &[vec4s * 4], DType::F32)?;
    let wg = dev.elementwise_workgroup();
    let params = UnaryParams {
        numel: vec4s as u32,
        alpha: 1.0,
        beta: 0.0,
        _pad: 0,
    };
    let constants = [
        ("OP", UnaryOp::Identity as u32 as f64),
        ("WG", f64::from(wg)),
    ];
    let run = |texels: bool| -> Result<f64> {
        dev.sync()?;
        let t0 = std::time::Instant::now();
        let copy = texels.then(|| dev.texels(&x, vec4s)).transpose()?;
        let (kernel, constants) = texel_kernel(dev, UNARY4, texels, &constants);
        dev.launch(
            &kernel,
            &constants,
            &params,
            &[vec4_input(&x, &copy), y.arg()],
            dev.grid_1d(vec4s as u64, wg)?,
        )?;
        dev.sync()?;
        Ok(t0.elapsed().as_secs_f64())
    };
    // The first run of each compiles its pipeline (and JIT-compiles on lavapipe).
    run(false)?;
    run(true)?;
    let (mut storage, mut texels) = (f64::INFINITY, f64::INFINITY);
    for _ in 0..3 {
        storage = storage.min(run(false)?);
        texels = texels.min(run(true)?);
    }
    Ok((storage, texels))
}

fn unary(x: &Tensor, op: UnaryOp, alpha: f32, beta: f32, name: &'static str) -> Result<Tensor> {
    x.expect_dtype(name, DType::F32)?;
    let dev = x.device();
    let y = Tensor::uninit(dev, x.shape(), DType::F32)?;
    let wg = dev.elementwise_workgroup();
    if vec4_path(&[x, &y]) {
        let vec4s = x.numel().div_ceil(4);
        let params = UnaryParams {
            numel: vec4s as u32,
            alpha,
            beta,
            _pad: 0,
        };
        let constants = [("OP", op as u32 as f64), ("WG", f64::from(wg))];
        let (kernel, constants, copies) = vec4_kernel(UNARY4, &constants, &[x])?;
        dev.launch(
            &kernel,
            &constants,
            &params,
            &[
                vec4_input(x, &copies[0]),
                Arg::window(y.buffer(), 0, vec4s as u64 * 16),
            ],
            dev.grid_1d(vec4s as u64, wg)?,
        )?;
        return Ok(y);
    }
    for (s, e) in windows(x) {
        let params = UnaryParams {
            numel: (e - s) as u32,
            alpha,
            beta,
            _pad: 0,
        };
        dev.launch(
            &UNARY,
            &[("OP", op as u32 as f64), ("WG", f64::from(wg))],
            &params,
            &[window_arg(x, s, e), window_arg(&y, s, e)],
            dev.grid_1d((e - s) as u64, wg)?,
        )?;
    }
    Ok(y)
}

/// `max(x, 0)`.
pub fn relu(x: &Tensor) -> Result<Tensor> {
    unary(x, UnaryOp::Relu, 1.0, 0.0, "relu")
}

/// `min(max(x, 0), 6)`.
pub fn relu6(x: &Tensor) -> Result<Tensor> {
    unary(x, UnaryOp::Relu6, 1.0, 0.0, "relu6")
}

/// `x + s`.
pub fn add_scalar(x: &Tensor, s: f32) -> Result<Tensor> {
    unary(x, UnaryOp::Identity, 1.0, s, "add_scalar")
}

/// `x * s`.
pub fn mul_scalar(x: &Tensor, s: f32) -> Result<Tensor> {
    unary(x, UnaryOp::Identity, s, 0.0, "mul_scalar")
}

/// `alpha * x + beta`.
pub fn affine(x: &Tensor, alpha: f32, beta: f32) -> Result<Tensor> {
    unary(x, UnaryOp::Identity, alpha, beta, "affine")
}

/// `exp(x)`.
pub fn exp(x: &Tensor) -> Result<Tensor> {
    unary(x, UnaryOp::Exp, 1.0, 0.0, "exp")
}

/// `sqrt(x)`.
pub fn sqrt(x: &Tensor) -> Result<Tensor> {
    unary(x, UnaryOp::Sqrt, 1.0, 0.0, "sqrt")
}

/// How `b` broadcasts against `a`: `(inner, b_numel)` such that
/// `b_index = (a_index / inner) % b_numel`. NumPy rules, restricted to the
/// case where `b`'s non-1 dimensions form one contiguous block of `a`'s
/// (same shape, scalar, per-channel bias, per-row or per-column vectors).
pub(crate) fn broadcast_pattern(
    op: &'static str,
    a: &[usize],
    b: &[usize],
) -> Result<(usize, usize)> {
    let a_numel: usize = a.iter().product();
    let b_numel: usize = b.iter().product();
    if a == b {
        return Ok((1, a_numel.max(1)));
    }
    if b_numel == 1 {
        return Ok((1, 1));
    }
    let err = || shape_err(op, format!("cannot broadcast {b:?} to {a:?}"));
    if b.len() > a.len() {
        return err();
    }
    let pad = a.len() - b.len();
    let full: Vec<usize> = std::iter::repeat_n(1, pad)
        .chain(b.iter().copied())
        .collect();
    if full.iter().zip(a).any(|(&bd, &ad)| bd != 1 && bd != ad) {
        return err();
    }
    let non1: Vec<usize> = (0..a.len()).filter(|&d| full[d] != 1).collect();
    let (lo, hi) = (non1[0], non1[non1.len() - 1] + 1);
    if (lo..hi).any(|d| full[d] != a[d]) {
        return shape_err(
            op,
            format!(
                "broadcasting {b:?} to {a:?} needs b's non-1 dimensions to be one contiguous block"
            ),
        );
    }
    Ok((a[hi..].iter().product(), b_numel))
}

fn binary(a: &Tensor, b: &Tensor, op: BinaryOp, name: &'static str) -> Result<Tensor> {
    a.expect_dtype(name, DType::F32)?;
    b.expect_dtype(name, DType::F32)?;
    if !std::ptr::eq(a.device().wgpu_device(), b.device().wgpu_device()) {
        return shape_err(name, "operands live on different devices");
    }
    let (inner, b_numel) = broadcast_pattern(name, a.shape(), b.shape())?;
    let dev = a.device();
    let out = Tensor::uninit(dev, a.shape(), DType::F32)?;
    let wg = dev.elementwise_workgroup();
    let b_windows = windows(b);
    let same = a.shape() == b.shape();
    if same && vec4_path(&[a, b, &out]) {
        let vec4s = a.numel().div_ceil(4);
        let params = BinaryParams {
            numel: vec4s as u32,
            inner: 1,
            b_numel: 1,
            base: 0,
        };
        let constants = [("OP", op as u32 as f64), ("WG", f64::from(wg))];
        let (kernel, constants, copies) = vec4_kernel(BINARY4, &constants, &[a, b])?;
        dev.launch(
            &kernel,
            &constants,
            &params,
            &[
                vec4_input(a, &copies[0]),
                vec4_input(b, &copies[1]),
                Arg::window(out.buffer(), 0, vec4s as u64 * 16),
            ],
            dev.grid_1d(vec4s as u64, wg)?,
        )?;
        return Ok(out);
    }
    for (s, e) in windows(a) {
        // A `b` larger than one binding only occurs with the same shape as `a`,
        // where the windows coincide.
        let b_arg = if b_windows.len() > 1 {
            window_arg(b, s, e)
        } else {
            b.arg()
        };
        let base = if b_windows.len() > 1 { 0 } else { s };
        let params = BinaryParams {
            numel: (e - s) as u32,
            inner: inner as u32,
            b_numel: b_numel as u32,
            base: base as u32,
        };
        dev.launch(
            &BINARY,
            &[
                ("OP", op as u32 as f64),
                ("WG", f64::from(wg)),
                ("BROADCAST", f64::from(u8::from(!same))),
            ],
            &params,
            &[window_arg(a, s, e), b_arg, window_arg(&out, s, e)],
            dev.grid_1d((e - s) as u64, wg)?,
        )?;
    }
    Ok(out)
}

/// `a + b` (b broadcast to a's shape).
pub fn add(a: &Tensor, b: &Tensor) -> Result<Tensor> {
    binary(a, b, BinaryOp::Add, "add")
}

/// `max(a + b, 0)` for same-shaped operands: a residual connection and its
/// ReLU in one pass (its gradient is [`relu_backward`] at the output).
pub fn add_relu(a: &Tensor, b: &Tensor) -> Result<Tensor> {
    same_shape("add_relu", a, b)?;
    binary(a, b, BinaryOp::AddRelu, "add_relu")
}

/// `a - b` (b broadcast to a's shape).
pub fn sub(a: &Tensor, b: &Tensor) -> Result<Tensor> {
    binary(a, b, BinaryOp::Sub, "sub")
}

/// `a * b` (b broadcast to a's shape).
pub fn mul(a: &Tensor, b: &Tensor) -> Result<Tensor> {
    binary(a, b, BinaryOp::Mul, "mul")
}

/// `a / b` (b broadcast to a's shape).
pub fn div(a: &Tensor, b: &Tensor) -> Result<Tensor> {
    binary(a, b, BinaryOp::Div, "div")
}

/// Gradient of `relu` at `x` given the upstream gradient `dy`.
pub fn relu_backward(dy: &Tensor, x: &Tensor) -> Result<Tensor> {
    same_shape("relu_backward", dy, x)?;
    binary(dy, x, BinaryOp::ReluBackward, "relu_backward")
}

/// Gradient of `relu6` at `x` given the upstream gradient `dy` (zero at 0 and 6, as PyTorch).
pub fn relu6_backward(dy: &Tensor, x: &Tensor) -> Result<Tensor> {
    same_shape("relu6_backward", dy, x)?;
    binary(dy, x, BinaryOp::Relu6Backward, "relu6_backward")
}

/// Adds a per-channel bias `[C]` to an NCHW (or `[N, C]`) tensor.
pub fn bias_add_channels(x: &Tensor, bias: &Tensor) -> Result<Tensor> {
    per_channel(x, bias, BinaryOp::Add, "bias_add_channels")
}

/// Multiplies an NCHW (or `[N, C]`) tensor by a per-channel factor `[C]`.
pub fn mul_channels(x: &Tensor, scale: &Tensor) -> Result<Tensor> {
    per_channel(x, scale, BinaryOp::Mul, "mul_channels")
}

fn per_channel(x: &Tensor, v: &Tensor, op: BinaryOp, name: &'static str) -> Result<Tensor> {
    if x.rank() < 2 || v.shape() != [x.shape()[1]] {
        return shape_err(
            name,
            format!(
                "per-channel operand {:?} does not match the channels of {:?}",
                v.shape(),
                x.shape()
            ),
        );
    }
    let mut v_shape = vec![1; x.rank()];
    v_shape[1] = x.shape()[1];
    binary(x, &v.reshape(&v_shape)?, op, name)
}

fn same_shape(op: &'static str, a: &Tensor, b: &Tensor) -> Result<()> {
    if a.shape() != b.shape() {
        return shape_err(
            op,
            format!("shapes {:?} and {:?} differ", a.shape(), b.shape()),
        );
    }
    Ok(())
}
