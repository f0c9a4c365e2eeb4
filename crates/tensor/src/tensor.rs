//! `Tensor`: a shape, an element type and a GPU buffer from the pool.
//!
//! Tensors are contiguous and row-major with PyTorch's NCHW semantics;
//! `reshape` is metadata only. Data moves between host and GPU only on
//! explicit request (`from_*`, `write_*`, `to_vec_*`).

use std::sync::Arc;

use crate::device::{Arg, Device};
use crate::error::{shape_err, Error, Result};
use crate::pool::PooledBuffer;

/// Element type of a tensor. Every kernel computes in f32; integer tensors
/// carry labels and indices.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DType {
    /// 32-bit float.
    F32,
    /// 32-bit signed integer.
    I32,
    /// 32-bit unsigned integer.
    U32,
}

impl DType {
    /// Bytes per element.
    pub fn size(self) -> usize {
        4
    }
}

/// A GPU tensor. Cloning shares the buffer; the buffer returns to the pool when
/// the last clone is dropped.
#[derive(Clone)]
pub struct Tensor {
    storage: Arc<PooledBuffer>,
    shape: Vec<usize>,
    dtype: DType,
    device: Device,
}

impl std::fmt::Debug for Tensor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Tensor({:?}, {:?})", self.shape, self.dtype)
    }
}

fn numel_of(shape: &[usize]) -> usize {
    shape.iter().product()
}

impl Tensor {
    /// A tensor whose contents are whatever the pooled buffer held: for outputs
    /// that a kernel overwrites entirely.
    pub fn uninit(device: &Device, shape: &[usize], dtype: DType) -> Result<Tensor> {
        let bytes = (numel_of(shape) * dtype.size()) as u64;
        let storage = device.alloc(bytes)?;
        Ok(Tensor {
            storage: Arc::new(storage),
            shape: shape.to_vec(),
            dtype,
            device: device.clone(),
        })
    }

    /// A tensor of zeros (filled on the GPU, inside the current batch).
    pub fn zeros(device: &Device, shape: &[usize], dtype: DType) -> Result<Tensor> {
        let t = Tensor::uninit(device, shape, dtype)?;
        device.clear_bytes(t.buffer(), 0, t.byte_size());
        Ok(t)
    }

    fn from_bytes(
        device: &Device,
        bytes: &[u8],
        len: usize,
        shape: &[usize],
        dtype: DType,
        op: &'static str,
    ) -> Result<Tensor> {
        let numel = numel_of(shape);
        if len != numel {
            return Err(Error::HostLength {
                op,
                len,
                shape: shape.to_vec(),
                numel,
            });
        }
        let t = Tensor::uninit(device, shape, dtype)?;
        if !bytes.is_empty() {
            device.write_bytes(t.buffer(), 0, bytes);
        }
        Ok(t)
    }

    /// Uploads f32 data with the given shape.
    pub fn from_f32(device: &Device, data: &[f32], shape: &[usize]) -> Result<Tensor> {
        Self::from_bytes(
            device,
            bytemuck::cast_slice(data),
            data.len(),
            shape,
            DType::F32,
            "from_f32",
        )
    }

    /// Uploads u32 data (labels, indices) with the given shape.
    pub fn from_u32(device: &Device, data: &[u32], shape: &[usize]) -> Result<Tensor> {
        Self::from_bytes(
            device,
            bytemuck::cast_slice(data),
            data.len(),
            shape,
            DType::U32,
            "from_u32",
        )
    }

    /// Uploads i32 data with the given shape.
    pub fn from_i32(device: &Device, data: &[i32], shape: &[usize]) -> Result<Tensor> {
        Self::from_bytes(
            device,
            bytemuck::cast_slice(data),
            data.len(),
            shape,
            DType::I32,
            "from_i32",
        )
    }

    /// Overwrites the contents with host f32 data of the same length (no allocation).
    pub fn write_f32(&self, data: &[f32]) -> Result<()> {
        self.expect_dtype("write_f32", DType::F32)?;
        self.write_raw("write_f32", bytemuck::cast_slice(data), data.len())
    }

    /// Overwrites the contents with host u32 data of the same length (no allocation).
    pub fn write_u32(&self, data: &[u32]) -> Result<()> {
        self.expect_dtype("write_u32", DType::U32)?;
        self.write_raw("write_u32", bytemuck::cast_slice(data), data.len())
    }

    fn write_raw(&self, op: &'static str, bytes: &[u8], len: usize) -> Result<()> {
        if len != self.numel() {
            return Err(Error::HostLength {
                op,
                len,
                shape: self.shape.clone(),
                numel: self.numel(),
            });
        }
        if !bytes.is_empty() {
            self.device.write_bytes(self.buffer(), 0, bytes);
        }
        Ok(())
    }

    fn read_raw(&self) -> Result<Vec<u8>> {
        self.device.read_bytes(self.buffer(), 0, self.byte_size())
    }

    /// Reads an f32 tensor back to the host (a sync point).
    pub fn to_vec_f32(&self) -> Result<Vec<f32>> {
        self.expect_dtype("to_vec_f32", DType::F32)?;
        Ok(bytemuck::pod_collect_to_vec(&self.read_raw()?))
    }

    /// Reads a u32 tensor back to the host (a sync point).
    pub fn to_vec_u32(&self) -> Result<Vec<u32>> {
        self.expect_dtype("to_vec_u32", DType::U32)?;
        Ok(bytemuck::pod_collect_to_vec(&self.read_raw()?))
    }

    /// Reads an i32 tensor back to the host (a sync point).
    pub fn to_vec_i32(&self) -> Result<Vec<i32>> {
        self.expect_dtype("to_vec_i32", DType::I32)?;
        Ok(bytemuck::pod_collect_to_vec(&self.read_raw()?))
    }

    /// Reads a one-element f32 tensor back to the host.
    pub fn to_scalar_f32(&self) -> Result<f32> {
        let v = self.to_vec_f32()?;
        match v.as_slice() {
            [x] => Ok(*x),
            _ => shape_err(
                "to_scalar_f32",
                format!("tensor of shape {:?} is not a scalar", self.shape),
            ),
        }
    }

    /// The same data under another shape with the same number of elements.
    pub fn reshape(&self, shape: &[usize]) -> Result<Tensor> {
        if numel_of(shape) != self.numel() {
            return shape_err(
                "reshape",
                format!(
                    "cannot view {:?} ({} elements) as {:?} ({} elements)",
                    self.shape,
                    self.numel(),
                    shape,
                    numel_of(shape)
                ),
            );
        }
        Ok(Tensor {
            storage: self.storage.clone(),
            shape: shape.to_vec(),
            dtype: self.dtype,
            device: self.device.clone(),
        })
    }

    /// Flattens dimensions `1..` into one: `[N, C, H, W]` to `[N, C*H*W]` (`torch.flatten(x, 1)`).
    pub fn flatten(&self) -> Result<Tensor> {
        match self.shape.split_first() {
            Some((&n, rest)) => self.reshape(&[n, numel_of(rest)]),
            None => self.reshape(&[1]),
        }
    }

    /// A new tensor with a copy of the data (recorded on the GPU).
    pub fn deep_clone(&self) -> Result<Tensor> {
        let t = Tensor::uninit(&self.device, &self.shape, self.dtype)?;
        self.device
            .copy_bytes(self.buffer(), 0, t.buffer(), 0, self.byte_size());
        Ok(t)
    }

    /// Copies `src`'s data into this tensor (same shape and type; no allocation).
    pub fn copy_from(&self, src: &Tensor) -> Result<()> {
        if src.shape != self.shape || src.dtype != self.dtype {
            return shape_err(
                "copy_from",
                format!(
                    "source {:?} {:?} does not match destination {:?} {:?}",
                    src.shape, src.dtype, self.shape, self.dtype
                ),
            );
        }
        self.device
            .copy_bytes(src.buffer(), 0, self.buffer(), 0, self.byte_size());
        Ok(())
    }

    /// Copies all of `src` into this tensor starting at element `offset`
    /// (recorded on the GPU; same element type; no allocation).
    pub fn copy_into_at(&self, src: &Tensor, offset: usize) -> Result<()> {
        if src.dtype != self.dtype || offset + src.numel() > self.numel() {
            return shape_err(
                "copy_into_at",
                format!(
                    "{:?} {:?} does not fit at element {offset} of {:?} {:?}",
                    src.shape, src.dtype, self.shape, self.dtype
                ),
            );
        }
        let size = self.dtype.size() as u64;
        self.device.copy_bytes(
            src.buffer(),
            0,
            self.buffer(),
            offset as u64 * size,
            src.byte_size(),
        );
        Ok(())
    }

    /// The shape.
    pub fn shape(&self) -> &[usize] {
        &self.shape
    }

    /// Number of dimensions.
    pub fn rank(&self) -> usize {
        self.shape.len()
    }

    /// Number of elements.
    pub fn numel(&self) -> usize {
        numel_of(&self.shape)
    }

    /// Element type.
    pub fn dtype(&self) -> DType {
        self.dtype
    }

    /// The device the tensor lives on.
    pub fn device(&self) -> &Device {
        &self.device
    }

    /// Bytes of data (numel × element size).
    pub fn byte_size(&self) -> u64 {
        (self.numel() * self.dtype.size()) as u64
    }

    /// The GPU buffer (may be larger than `byte_size`: pool size classes).
    pub fn buffer(&self) -> &wgpu::Buffer {
        self.storage.buffer()
    }

    /// Whether two tensors share one buffer.
    pub fn same_storage(&self, other: &Tensor) -> bool {
        Arc::ptr_eq(&self.storage, &other.storage)
    }

    /// The whole tensor as a launch argument.
    pub fn arg(&self) -> Arg<'_> {
        Arg::window(self.buffer(), 0, self.byte_size().max(4))
    }

    /// Returns a typed error unless the tensor has element type `dtype`.
    pub fn expect_dtype(&self, op: &'static str, dtype: DType) -> Result<()> {
        if self.dtype != dtype {
            return Err(Error::DType {
                op,
                expected: dtype,
                got: self.dtype,
            });
        }
        Ok(())
    }

    /// Returns a typed error unless the tensor has exactly `rank` dimensions.
    pub fn expect_rank(&self, op: &'static str, rank: usize) -> Result<()> {
        if self.rank() != rank {
            return shape_err(
                op,
                format!("expected a {rank}-d tensor, got shape {:?}", self.shape),
            );
        }
        Ok(())
    }
}
