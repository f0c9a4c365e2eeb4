//! Dropout (`dropout.wgsl`) with a counter-based hash RNG, and the plain copy
//! kernel (`copy.wgsl`) that the bench uses as its bandwidth baseline.
//!
//! The mask depends only on `(seed, element index)`: the same seed gives the
//! same mask, on any device and however the launch is split.

use crate::error::{shape_err, Result};
use crate::kernel::Kernel;
use crate::ops::pool::{binding_limit, unit_runs, window};
use crate::tensor::{DType, Tensor};

const DROPOUT: Kernel = crate::kernel!("dropout");
const DROPOUT_BWD: Kernel = crate::kernel!("dropout", "backward");
const COPY: Kernel = crate::kernel!("copy");
const COPY4: Kernel = crate::kernel!("copy", "vec4_main");

/// Mirrors `struct Params` in shaders/dropout.wgsl.
#[repr(C)]
#[derive(Clone, Copy, Debug, bytemuck::Pod, bytemuck::Zeroable)]
struct DropoutParams {
    numel: u32,
    key: u32,
    threshold: u32,
    index_base: u32,
    x_base: u32,
    y_base: u32,
    m_base: u32,
    scale: f32,
}

/// Mirrors `struct Params` in shaders/copy.wgsl.
#[repr(C)]
#[derive(Clone, Copy, Debug, bytemuck::Pod, bytemuck::Zeroable)]
struct CopyParams {
    count: u32,
    _pad: [u32; 3],
}

/// The PCG hash of the kernel (Jarzynski & Olano 2020); the key of a seed is
/// `pcg(seed)`.
fn pcg(v: u32) -> u32 {
    let state = v.wrapping_mul(747_796_405).wrapping_add(2_891_336_453);
    let word = ((state >> ((state >> 28) + 4)) ^ state).wrapping_mul(277_803_737);
    (word >> 22) ^ word
}

/// The keep threshold of drop probability `p`: an element is kept when its
/// 32-bit hash is `>= ceil(p * 2^32)`.
fn threshold(p: f32) -> u32 {
    (f64::from(p) * 4_294_967_296.0).ceil().min(u32::MAX as f64) as u32
}

/// `torch.nn.functional.dropout(x, p, training=train)`.
///
/// In training mode each element is kept with probability `1 - p` (decided by
/// a hash of `(seed, index)`), kept elements are scaled by `1 / (1 - p)`
/// (rounded to f32), and the mask (F32: `0` or that scale, same shape as `x`)
/// is returned for [`dropout_backward`]. In eval mode `x` itself comes back
/// (no launch) and no mask. `p` outside `[0, 1)` is an error.
pub fn dropout(x: &Tensor, p: f32, seed: u32, train: bool) -> Result<(Tensor, Option<Tensor>)> {
    let op = "dropout";
    x.expect_dtype(op, DType::F32)?;
    if !(0.0..1.0).contains(&p) {
        return shape_err(
            op,
            format!("dropout probability has to be in [0, 1), got {p}"),
        );
    }
    if !train {
        return Ok((x.clone(), None));
    }
    let numel = x.numel();
    if numel > u32::MAX as usize {
        return shape_err(
            op,
            format!("{numel} elements exceed the 2^32 indices of the mask hash"),
        );
    }
    let dev = x.device();
    let y = Tensor::uninit(dev, x.shape(), DType::F32)?;
    let mask = Tensor::uninit(dev, x.shape(), DType::F32)?;
    let wg = dev.elementwise_workgroup();
    for (s, e) in unit_runs(dev, op, numel, 1)? {
        let (xa, x_base) = window(x, s, e);
        let (ya, y_base) = window(&y, s, e);
        let (ma, m_base) = window(&mask, s, e);
        let params = DropoutParams {
            numel: (e - s) as u32,
            key: pcg(seed),
            threshold: threshold(p),
            index_base: s as u32,
            x_base,
            y_base,
            m_base,
            scale: 1.0 / (1.0 - p),
        };
        dev.launch(
            &DROPOUT,
            &[("WG", f64::from(wg))],
            &params,
            &[xa, ya, ma],
            dev.grid_1d((e - s) as u64, wg)?,
        )?;
    }
    Ok((y, Some(mask)))
}

/// Backward of [`dropout`] in training mode: `dx = dy * mask`.
pub fn dropout_backward(dy: &Tensor, mask: &Tensor) -> Result<Tensor> {
    let op = "dropout_backward";
    dy.expect_dtype(op, DType::F32)?;
    mask.expect_dtype(op, DType::F32)?;
    if dy.shape() != mask.shape() {
        return shape_err(
            op,
            format!("dy has shape {:?}, the mask {:?}", dy.shape(), mask.shape()),
        );
    }
    let dev = dy.device();
    let dx = Tensor::uninit(dev, dy.shape(), DType::F32)?;
    let wg = dev.elementwise_workgroup();
    for (s, e) in unit_runs(dev, op, dy.numel(), 1)? {
        let (da, x_base) = window(dy, s, e);
        let (ma, y_base) = window(mask, s, e);
        let (oa, m_base) = window(&dx, s, e);
        let params = DropoutParams {
            numel: (e - s) as u32,
            key: 0,
            threshold: 0,
            index_base: 0,
            x_base,
            y_base,
            m_base,
            scale: 1.0,
        };
        dev.launch(
            &DROPOUT_BWD,
            &[("WG", f64::from(wg))],
            &params,
            &[da, ma, oa],
            dev.grid_1d((e - s) as u64, wg)?,
        )?;
    }
    Ok(dx)
}

/// A copy of `x` through a compute kernel (`copy.wgsl`): one read and one
/// write per element, vec4 at a time when `vec4` is set and the element count
/// allows it. The bench's bandwidth baseline; [`Tensor::deep_clone`] is the
/// copy to use otherwise.
pub fn copy(x: &Tensor, vec4: bool) -> Result<Tensor> {
    let dev = x.device();
    let y = Tensor::uninit(dev, x.shape(), x.dtype())?;
    let n = x.numel();
    let vec4 = vec4 && n.is_multiple_of(4);
    let item = if vec4 { 4 } else { 1 };
    // Runs start at multiples of the offset alignment, so windows need no base.
    let align = ((dev.storage_offset_align() / 4).max(1) as usize).max(item);
    let per_run = ((binding_limit(dev) / 4) as usize / align * align).max(align);
    let wg = dev.elementwise_workgroup();
    let mut s = 0;
    while s < n {
        let e = (s + per_run).min(n);
        let (xa, _) = window(x, s, e);
        let (ya, _) = window(&y, s, e);
        let count = (e - s) / item;
        dev.launch(
            if vec4 { &COPY4 } else { &COPY },
            &[("WG", f64::from(wg))],
            &CopyParams {
                count: count as u32,
                _pad: [0; 3],
            },
            &[xa, ya],
            dev.grid_1d(count as u64, wg)?,
        )?;
        s = e;
    }
    Ok(y)
}
