//! Matrix multiplication: `C = op(A) · op(B)`, optionally batched, either operand
//! transposed.
//!
//! Two kernels share one `Params` layout and one binding layout, and both read
//! every layout directly (`TRANS_A` / `TRANS_B` override constants change only
//! their index arithmetic), so a matmul is one dispatch, with no transposed copy:
//!
//! - `matmul.wgsl`, the portable path: a 16x16 register block per invocation, no
//!   subgroups, no workgroup memory.
//! - `matmul_subgroup.wgsl`, where the adapter has subgroup operations with one
//!   fixed subgroup size `SG` in {8, 16, 32, 64}: each lane owns 8 rows x 64
//!   columns and the 64 columns of `B` are loaded once per subgroup and
//!   broadcast with `subgroupShuffle`, so each element of A and B is loaded
//!   once per 8*SG x 64 block of C. Products with n <= 32 use 16- or 32-column
//!   blocks instead (`COL_QUADS`).
//!
//! Each has two entry points: `main_vec4` reads each operand as vec4s along its
//! contiguous dimension and is used where those dimensions (k for `A [m, k]` and
//! `B [n, k]`, m for `A [k, m]`, n for `B [k, n]`) are multiples of 4; `main`
//! reads scalars and takes any shape.
//!
//! [`matmul_variant`] picks one per call from the device and the shape;
//! [`available_variants`] lists all that the device can run (tests run each).
//! A `B` stored as `[n, k]` (`trans_b`, the layout of a Linear weight) larger
//! than one storage binding is split into column windows of `C` (one dispatch
//! per window).

use crate::device::Arg;
use crate::error::{shape_err, Error, Result};
use crate::kernel::Kernel;
use crate::tensor::{DType, Tensor};

const MATMUL: Kernel = crate::kernel!("matmul");
const MATMUL_VEC4: Kernel = crate::kernel!("matmul", "main_vec4");
const MATMUL_SUBGROUP: Kernel = crate::kernel!("matmul_subgroup");
const MATMUL_SUBGROUP_VEC4: Kernel = crate::kernel!("matmul_subgroup", "main_vec4");

/// Rows x columns of C per invocation of `matmul.wgsl` (its workgroup is 8x8).
const PORTABLE_BLOCK: (usize, usize) = (16, 16);
/// Rows per lane and columns per subgroup of `matmul_subgroup.wgsl`.
const SUBGROUP_BLOCK: (usize, usize) = (8, 64);
/// Subgroup sizes `matmul_subgroup.wgsl` is written for (64 columns split evenly).
const SUBGROUP_SIZES: [u32; 4] = [8, 16, 32, 64];

/// Mirrors `struct Params` in shaders/matmul.wgsl and shaders/matmul_subgroup.wgsl.
#[repr(C)]
#[derive(Clone, Copy, Debug, bytemuck::Pod, bytemuck::Zeroable)]
pub(crate) struct MatmulParams {
    pub m: u32,
    pub n: u32,
    pub k: u32,
    pub batch: u32,
    pub a_batch_stride: u32,
    pub b_batch_stride: u32,
    pub c_batch_stride: u32,
    pub ldc: u32,
    pub n_offset: u32,
    pub _pad: [u32; 3],
}

/// The kernel variants `matmul` can pick.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MatmulVariant {
    /// `matmul.wgsl`: register-blocked, no subgroups; runs everywhere.
    Portable,
    /// `matmul_subgroup.wgsl`: register blocks plus subgroup broadcast of B; needs
    /// subgroup operations with one fixed subgroup size (see [`subgroup_size`]).
    Subgroup,
}

/// Shape of one matmul call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MatmulShape {
    /// Batch count (1 for a plain matrix product).
    pub batch: usize,
    /// Rows of C.
    pub m: usize,
    /// Columns of C.
    pub n: usize,
    /// Reduction length.
    pub k: usize,
}

fn split_batch(t: &Tensor) -> Option<(usize, usize, usize)> {
    match t.shape() {
        [r, c] => Some((1, *r, *c)),
        [b, r, c] => Some((*b, *r, *c)),
        _ => None,
    }
}

/// Checks operand shapes and returns the problem shape.
///
/// `a` is `[m, k]` (`[k, m]` with `trans_a`), `b` is `[k, n]` (`[n, k]` with
/// `trans_b`), each optionally with a leading batch dimension; a 2-d operand is
/// shared by every batch of the other.
pub fn matmul_shape(a: &Tensor, b: &Tensor, trans_a: bool, trans_b: bool) -> Result<MatmulShape> {
    let op = "matmul";
    a.expect_dtype(op, DType::F32)?;
    b.expect_dtype(op, DType::F32)?;
    let (Some((ba, ra, ca)), Some((bb, rb, cb))) = (split_batch(a), split_batch(b)) else {
        return shape_err(
            op,
            format!(
                "operands must be 2-d or 3-d, got {:?} and {:?}",
                a.shape(),
                b.shape()
            ),
        );
    };
    let (m, ka) = if trans_a { (ca, ra) } else { (ra, ca) };
    let (kb, n) = if trans_b { (cb, rb) } else { (rb, cb) };
    if ka != kb {
        return shape_err(
            op,
            format!(
                "inner dimensions differ: A {:?}{} has k = {ka}, B {:?}{} has k = {kb}",
                a.shape(),
                if trans_a { " (transposed)" } else { "" },
                b.shape(),
                if trans_b { " (transposed)" } else { "" }
            ),
        );
    }
    let batch_a = if a.rank() == 3 { ba } else { 0 };
    let batch_b = if b.rank() == 3 { bb } else { 0 };
    if batch_a != 0 && batch_b != 0 && batch_a != batch_b {
        return shape_err(
            op,
            format!("batch sizes differ: {:?} and {:?}", a.shape(), b.shape()),
        );
    }
    Ok(MatmulShape {
        batch: batch_a.max(batch_b).max(1),
        m,
        n,
        k: ka,
    })
}

/// The subgroup size `matmul_subgroup.wgsl` would be compiled for on this device,
/// or `None` where it cannot run: no subgroup operations, a subgroup size that
/// varies (`subgroup_min_size != subgroup_max_size`, e.g. Intel 8..32 or AMD
/// 32..64: the kernel's lane arithmetic needs the exact size), a size outside
/// {8, 16, 32, 64}, or a workgroup limit below it.
pub fn subgroup_size(device: &crate::Device) -> Option<u32> {
    let info = device.adapter();
    let size = info.subgroup_min_size;
    let limits = device.limits();
    let fits = size <= limits.max_compute_invocations_per_workgroup
        && size <= limits.max_compute_workgroup_size_x;
    (device.has_subgroups()
        && size == info.subgroup_max_size
        && SUBGROUP_SIZES.contains(&size)
        && fits)
        .then_some(size)
}

/// The variants this device can run, fastest first (for large problems).
pub fn available_variants(device: &crate::Device) -> Vec<MatmulVariant> {
    let mut v = Vec::with_capacity(2);
    if subgroup_size(device).is_some() {
        v.push(MatmulVariant::Subgroup);
    }
    v.push(MatmulVariant::Portable);
    v
}

/// Which kernel `matmul` uses on this device for this shape: the subgroup kernel
/// wherever the device runs it, the portable kernel elsewhere.
///
/// Measured on lavapipe (subgroup size 8), the subgroup kernel is ahead on every
/// shape tried: tiny, launch-bound products (1x10x512, 16x16x16) by up to 2x, the
/// narrow 131072x16x144 and 32768x32x288 (narrower blocks) by about 3x, and
/// 256^3 .. 2048^3 by about 3x; so the shape does not change the choice on this
/// adapter. Adapters whose subgroup size is not fixed take the portable kernel.
pub fn matmul_variant(a: &Tensor, _shape: &MatmulShape) -> MatmulVariant {
    if subgroup_size(a.device()).is_some() {
        MatmulVariant::Subgroup
    } else {
        MatmulVariant::Portable
    }
}

/// `op(a) · op(b)`; see [`matmul_shape`] for the operand shapes. The result is
/// `[m, n]`, or `[batch, m, n]` when either operand is 3-d.
pub fn matmul(a: &Tensor, b: &Tensor, trans_a: bool, trans_b: bool) -> Result<Tensor> {
    let s = matmul_shape(a, b, trans_a, trans_b)?;
    let out_shape = if a.rank() == 3 || b.rank() == 3 {
        vec![s.batch, s.m, s.n]
    } else {
        vec![s.m, s.n]
    };
    let dev = a.device();
    let c = Tensor::uninit(dev, &out_shape, DType::F32)?;
    matmul_into(a, b, trans_a, trans_b, &c, matmul_variant(a, &s))?;
    Ok(c)
}

/// Like [`matmul`], writing into `c` (shape as `matmul` returns), with a chosen variant.
pub fn matmul_into(
    a: &Tensor,
    b: &Tensor,
    trans_a: bool,
    trans_b: bool,
    c: &Tensor,
    variant: MatmulVariant,
) -> Result<()> {
    let s = matmul_shape(a, b, trans_a, trans_b)?;
    if c.numel() != s.batch * s.m * s.n {
        return shape_err(
            "matmul",
            format!(
                "output {:?} does not hold {}x{}x{}",
                c.shape(),
                s.batch,
                s.m,
                s.n
            ),
        );
    }
    if s.m == 0 || s.n == 0 {
        return Ok(());
    }
    let dev = a.device();
    if s.k == 0 {
        dev.clear_bytes(c.buffer(), 0, c.byte_size());
        return Ok(());
    }
    let max = dev.max_binding_bytes();
    for (name, t) in [("A", a), ("C", c)] {
        if t.byte_size() > max {
            return Err(Error::Limit {
                what: format!(
                    "matmul: bytes of {name} {:?} in one storage binding",
                    t.shape()
                ),
                requested: t.byte_size(),
                limit: max,
            });
        }
    }
    // Column windows of C over rows of a [n, k] B.
    let col_windows: Vec<(usize, usize)> = if b.byte_size() <= max {
        vec![(0, s.n)]
    } else if trans_b && b.rank() == 2 {
        let align = (dev.storage_offset_align() / 4).max(1) as usize;
        let mut rows = (max as usize / 4) / s.k;
        // Window starts must be aligned: rows * k a multiple of `align` elements.
        while rows > 0 && !(rows * s.k).is_multiple_of(align) {
            rows -= 1;
        }
        if rows == 0 {
            return Err(Error::Limit {
                what: format!("matmul: one row of B {:?} in a storage binding", b.shape()),
                requested: (s.k * 4) as u64,
                limit: max,
            });
        }
        (0..s.n)
            .step_by(rows)
            .map(|start| (start, (start + rows).min(s.n)))
            .collect()
    } else {
        return Err(Error::Limit {
            what: format!(
                "matmul: bytes of B {:?} in one storage binding (only a transposed 2-d B is split)",
                b.shape()
            ),
            requested: b.byte_size(),
            limit: max,
        });
    };
    let a_stride = if a.rank() == 3 { s.m * s.k } else { 0 };
    let b_stride = if b.rank() == 3 { s.k * s.n } else { 0 };
    for (n0, n1) in col_windows {
        let n = n1 - n0;
        let params = MatmulParams {
            m: s.m as u32,
            n: n as u32,
            k: s.k as u32,
            batch: s.batch as u32,
            a_batch_stride: a_stride as u32,
            b_batch_stride: b_stride as u32,
            c_batch_stride: (s.m * s.n) as u32,
            ldc: s.n as u32,
            n_offset: n0 as u32,
            _pad: [0; 3],
        };
        let b_arg = if n0 == 0 && n1 == s.n {
            b.arg()
        } else {
            Arg::window(b.buffer(), (n0 * s.k * 4) as u64, (n * s.k * 4) as u64)
        };
        let args = [a.arg(), b_arg, c.arg()];
        // vec4 loads along each operand's contiguous dimension (then every row start,
        // batch stride and window offset is a multiple of 4 elements too).
        let vec4 = (if trans_a { s.m } else { s.k }).is_multiple_of(4)
            && (if trans_b { s.k } else { s.n }).is_multiple_of(4);
        let trans = [
            ("TRANS_A", f64::from(u8::from(trans_a))),
            ("TRANS_B", f64::from(u8::from(trans_b))),
        ];
        match variant {
            MatmulVariant::Portable => {
                let (bm, bn) = (8 * PORTABLE_BLOCK.0, 8 * PORTABLE_BLOCK.1);
                let grid = [
                    n.div_ceil(bn) as u32,
                    s.m.div_ceil(bm) as u32,
                    s.batch as u32,
                ];
                let kernel = if vec4 { &MATMUL_VEC4 } else { &MATMUL };
                dev.launch(kernel, &trans, &params, &args, grid)?;
            }
            MatmulVariant::Subgroup => {
                let Some(sg) = subgroup_size(dev) else {
                    return Err(Error::Kernel {
                        kernel: MATMUL_SUBGROUP.name.into(),
                        message: format!(
                            "needs subgroup operations with one fixed size in {SUBGROUP_SIZES:?}; \
                             this adapter has subgroups: {}, sizes {}..{}",
                            dev.has_subgroups(),
                            dev.adapter().subgroup_min_size,
                            dev.adapter().subgroup_max_size
                        ),
                    });
                };
                // Narrow products get narrower blocks (4 or 8 column quads of the 16).
                let col_quads: usize = match n {
                    0..=16 => 4,
                    17..=32 => 8,
                    _ => SUBGROUP_BLOCK.1 / 4,
                };
                let grid = [
                    n.div_ceil(4 * col_quads) as u32,
                    s.m.div_ceil(SUBGROUP_BLOCK.0 * sg as usize) as u32,
                    s.batch as u32,
                ];
                let constants = [
                    trans[0],
                    trans[1],
                    ("SUBGROUP_SIZE", f64::from(sg)),
                    ("COL_QUADS", col_quads as f64),
                ];
                let kernel = if vec4 {
                    &MATMUL_SUBGROUP_VEC4
                } else {
                    &MATMUL_SUBGROUP
                };
                dev.launch(kernel, &constants, &params, &args, grid)?;
            }
        }
    }
    Ok(())
}
