//! Sum and mean over chosen axes (`reduce.wgsl`).

use crate::error::{shape_err, Error, Result};
use crate::kernel::Kernel;
use crate::tensor::{DType, Tensor};

const REDUCE: Kernel = crate::kernel!("reduce");
const REDUCE_SERIAL: Kernel = crate::kernel!("reduce", "serial");
const REDUCE_WG: u32 = 64;
/// Reductions up to this many elements per output run `serial` (one invocation per
/// output) instead of one workgroup per output: on lavapipe each of the tree's
/// barriers costs more than the loads it saves (8 splits of a 1296-element depthwise
/// weight gradient: 3 ms with the tree).
const SERIAL_MAX: usize = 256;

/// Mirrors `struct Params` in shaders/reduce.wgsl.
#[repr(C)]
#[derive(Clone, Copy, Debug, bytemuck::Pod, bytemuck::Zeroable)]
struct ReduceParams {
    kept_size: [u32; 4],
    kept_stride: [u32; 4],
    red_size: [u32; 4],
    red_stride: [u32; 4],
    out_numel: u32,
    red_numel: u32,
    scale: f32,
    _pad: u32,
}

/// Merges adjacent dimensions of a contiguous shape that are both kept or both
/// reduced, drops size-1 dimensions, and returns `(kept, reduced)` lists of
/// `(size, stride)`, outermost first.
/// `(size, stride)` of merged dimensions, outermost first.
type Dims = Vec<(usize, usize)>;

fn split_dims(shape: &[usize], reduced: &[bool]) -> (Dims, Dims) {
    let mut strides = vec![1usize; shape.len()];
    for d in (0..shape.len().saturating_sub(1)).rev() {
        strides[d] = strides[d + 1] * shape[d + 1];
    }
    let mut merged: Vec<(usize, usize, bool)> = Vec::new();
    for d in 0..shape.len() {
        if shape[d] == 1 {
            continue;
        }
        match merged.last_mut() {
            Some(last) if last.2 == reduced[d] => {
                last.0 *= shape[d];
                last.1 = strides[d];
            }
            _ => merged.push((shape[d], strides[d], reduced[d])),
        }
    }
    let kept = merged.iter().filter(|m| !m.2).map(|m| (m.0, m.1)).collect();
    let red = merged.iter().filter(|m| m.2).map(|m| (m.0, m.1)).collect();
    (kept, red)
}

fn pack(dims: &[(usize, usize)]) -> ([u32; 4], [u32; 4]) {
    let mut size = [1u32; 4];
    let mut stride = [0u32; 4];
    let off = 4 - dims.len();
    for (i, &(s, st)) in dims.iter().enumerate() {
        size[off + i] = s as u32;
        stride[off + i] = st as u32;
    }
    (size, stride)
}

fn reduce(
    x: &Tensor,
    axes: &[usize],
    keepdim: bool,
    mean: bool,
    op: &'static str,
) -> Result<Tensor> {
    x.expect_dtype(op, DType::F32)?;
    let shape = x.shape();
    let mut reduced = vec![false; shape.len()];
    for &a in axes {
        if a >= shape.len() {
            return shape_err(op, format!("axis {a} is out of range for shape {shape:?}"));
        }
        reduced[a] = true;
    }
    let out_shape: Vec<usize> = shape
        .iter()
        .zip(&reduced)
        .filter_map(|(&s, &r)| match (r, keepdim) {
            (false, _) => Some(s),
            (true, true) => Some(1),
            (true, false) => None,
        })
        .collect();
    let red_numel: usize = shape
        .iter()
        .zip(&reduced)
        .filter(|p| *p.1)
        .map(|p| *p.0)
        .product();
    let out_numel: usize = out_shape.iter().product();
    let (kept, red) = split_dims(shape, &reduced);
    if kept.len() > 4 || red.len() > 4 {
        return shape_err(
            op,
            format!("axes {axes:?} of {shape:?} interleave kept and reduced dimensions more than 4 times"),
        );
    }
    let dev = x.device();
    if x.byte_size() > dev.max_binding_bytes() {
        return Err(Error::Limit {
            what: format!("{op}: input bytes in one binding"),
            requested: x.byte_size(),
            limit: dev.max_binding_bytes(),
        });
    }
    let out = Tensor::uninit(dev, &out_shape, DType::F32)?;
    let (kept_size, kept_stride) = pack(&kept);
    let (red_size, red_stride) = pack(&red);
    let scale = if mean && red_numel > 0 {
        1.0 / red_numel as f32
    } else {
        1.0
    };
    let params = ReduceParams {
        kept_size,
        kept_stride,
        red_size,
        red_stride,
        out_numel: out_numel as u32,
        red_numel: red_numel as u32,
        scale,
        _pad: 0,
    };
    // `serial`: one invocation per output; `main`: one workgroup per output.
    let (kernel, outputs_per_group) = if red_numel <= SERIAL_MAX {
        (&REDUCE_SERIAL, REDUCE_WG)
    } else {
        (&REDUCE, 1)
    };
    dev.launch(
        kernel,
        &[("WG", f64::from(REDUCE_WG))],
        &params,
        &[x.arg(), out.arg()],
        dev.grid_1d(out_numel as u64, outputs_per_group)?,
    )?;
    Ok(out)
}

/// Sum over `axes`; with `keepdim` the reduced axes stay as size 1.
pub fn sum(x: &Tensor, axes: &[usize], keepdim: bool) -> Result<Tensor> {
    reduce(x, axes, keepdim, false, "sum")
}

/// Mean over `axes`; with `keepdim` the reduced axes stay as size 1.
pub fn mean(x: &Tensor, axes: &[usize], keepdim: bool) -> Result<Tensor> {
    reduce(x, axes, keepdim, true, "mean")
}

/// Sum of every element, as a one-element tensor of shape `[1]`.
pub fn sum_all(x: &Tensor) -> Result<Tensor> {
    let axes: Vec<usize> = (0..x.rank()).collect();
    reduce(x, &axes, false, false, "sum_all")?.reshape(&[1])
}

/// Mean of every element, as a one-element tensor of shape `[1]`.
pub fn mean_all(x: &Tensor) -> Result<Tensor> {
    let axes: Vec<usize> = (0..x.rank()).collect();
    reduce(x, &axes, false, true, "mean_all")?.reshape(&[1])
}

const EXPAND: Kernel = crate::kernel!("reduce", "expand");

/// Gradient of `sum`/`mean` over `axes`: `dy` (the reduced tensor, with or
/// without kept dimensions) broadcast back to `shape`, times `scale`
/// (1 for `sum`, 1/count for `mean`).
pub fn reduce_backward(dy: &Tensor, shape: &[usize], axes: &[usize], scale: f32) -> Result<Tensor> {
    let op = "reduce_backward";
    dy.expect_dtype(op, DType::F32)?;
    let mut reduced = vec![false; shape.len()];
    for &a in axes {
        if a >= shape.len() {
            return shape_err(op, format!("axis {a} is out of range for shape {shape:?}"));
        }
        reduced[a] = true;
    }
    let kept_numel: usize = shape
        .iter()
        .zip(&reduced)
        .filter(|p| !*p.1)
        .map(|p| *p.0)
        .product();
    if dy.numel() != kept_numel {
        return shape_err(
            op,
            format!(
                "gradient {:?} does not match {shape:?} reduced over {axes:?}",
                dy.shape()
            ),
        );
    }
    // Merged dimensions of the full shape with their strides in dy (0 when reduced).
    let mut dims: Vec<(usize, usize, bool)> = Vec::new();
    for d in 0..shape.len() {
        if shape[d] == 1 {
            continue;
        }
        match dims.last_mut() {
            Some(last) if last.2 == reduced[d] => last.0 *= shape[d],
            _ => dims.push((shape[d], 0, reduced[d])),
        }
    }
    let mut stride = 1;
    for d in dims.iter_mut().rev() {
        if !d.2 {
            d.1 = stride;
            stride *= d.0;
        }
    }
    if dims.len() > 8 {
        return shape_err(
            op,
            format!("axes {axes:?} of {shape:?} interleave too many dimensions"),
        );
    }
    let mut all = vec![(1usize, 0usize); 8 - dims.len()];
    all.extend(dims.iter().map(|d| (d.0, d.1)));
    let (hi_size, hi_stride) = pack(&all[..4]);
    let (lo_size, lo_stride) = pack(&all[4..]);
    let dev = dy.device();
    let out = Tensor::uninit(dev, shape, DType::F32)?;
    let numel = out.numel();
    let params = ReduceParams {
        kept_size: lo_size,
        kept_stride: lo_stride,
        red_size: hi_size,
        red_stride: hi_stride,
        out_numel: numel as u32,
        red_numel: 0,
        scale,
        _pad: 0,
    };
    let wg = dev.elementwise_workgroup();
    dev.launch(
        &EXPAND,
        &[("WG", f64::from(wg))],
        &params,
        &[dy.arg(), out.arg()],
        dev.grid_1d(numel as u64, wg)?,
    )?;
    Ok(out)
}
