//! Texel operands: a buffer of `vec4<f32>` copied into a pooled 2D
//! `rgba32float` texture, bound as a read-only storage texture
//! (`texture_storage_2d<rgba32float, read>`), so that a kernel reads element `i`
//! with `textureLoad(t, vec2(i & (W - 1), i >> TEX_SHIFT))`.
//!
//! Why: on lavapipe a storage-buffer load at a per-lane address became a
//! scalar loop over the lanes on AVX2 machines (~75 cycles per lane and vec4
//! measured on a 2-core AVX2 machine), while a texel read is eight 128-bit
//! loads and a transpose. A read-only storage texture rather than a sampled
//! one (`texture_2d<f32>`): llvmpipe compiles a sampled `textureLoad` into a
//! call of ~70 instructions that looks up the mip level's size per lane,
//! while a storage-image load is ~35 inline ones (address, bounds check, the
//! loads): the implicit-GEMM convolutions ran 1.2–1.5× faster that way
//! (docs/PERFORMANCE.md). The implicit-GEMM convolution reads its two operands
//! this way; on GPUs a texel read goes through the texture cache, which does
//! no harm either. Adapters that cannot read `rgba32float` storage textures
//! (or bind two per stage) get no texel operands: the kernels take their
//! storage-buffer paths.
//!
//! The texture is `W = 2^TEX_SHIFT` texels wide (at most 4096 and the
//! adapter's `max_texture_dimension_2d`) and as many rows as the data needs,
//! rounded up to a size class; the copy is recorded into the open batch, so it
//! runs in order with the dispatches around it. Dropping [`Texels`] returns
//! the texture to the device's pool (steady state allocates nothing).

use std::collections::HashMap;
use std::sync::atomic::Ordering;

use crate::device::{lock, with_thread_local, Arg, Device};
use crate::error::{Error, Result};
use crate::kernel::Kernel;
use crate::tensor::Tensor;

thread_local! {
    static NO_TEXELS: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
    static STREAM_READS: std::cell::Cell<Option<StreamReads>> = const { std::cell::Cell::new(None) };
}

/// How the streaming kernels (each input element read about once: batch norm,
/// max pooling's generic forward, the elementwise vec4 entries) read their
/// inputs: from storage buffers, or from texel copies made in front of them.
///
/// Which is faster depends on the machine: on a 2-core AVX2 lavapipe a storage
/// load at a per-lane address was a scalar loop over the lanes and texel reads
/// won ~3x copy included; on AVX-512 lavapipe machines a storage load is a
/// vector gather and the texel copy is one more pass (on a ResNet-20 training
/// step there, batch norm and the binary ops together 340 -> 326 ms with storage
/// reads). [`Device::stream_reads`] measures it once per device on CPU
/// adapters; GPUs read storage (coalesced, cached; a copy would only add a pass).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StreamReads {
    /// Storage-buffer loads.
    Storage,
    /// Texel fetches from a copy made in front of the kernel.
    Texels,
}

/// Runs `f` with the streaming kernels reading `mode` regardless of the
/// device's measured choice (where texel operands exist at all), so that tests
/// cover both paths on any machine.
pub fn with_stream_reads<R>(mode: StreamReads, f: impl FnOnce() -> R) -> R {
    with_thread_local(&STREAM_READS, Some(mode), f)
}

/// Runs `f` as if the adapter could hold no texel operand, so that ops take
/// their storage-buffer paths (for tests of those paths).
#[doc(hidden)]
pub fn without_texel_operands<R>(f: impl FnOnce() -> R) -> R {
    with_thread_local(&NO_TEXELS, true, f)
}

/// Textures of the pool, by row count.
#[derive(Default)]
pub(crate) struct TexturePool {
    free: HashMap<u32, Vec<(wgpu::Texture, wgpu::TextureView)>>,
}

/// A texel copy of a tensor, bound with [`crate::Arg::texels`].
pub struct Texels {
    device: Device,
    rows: u32,
    bytes: u64,
    texture: Option<(wgpu::Texture, wgpu::TextureView)>,
}

impl std::fmt::Debug for Texels {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Texels")
            .field("rows", &self.rows)
            .field("bytes", &self.bytes)
            .finish()
    }
}

impl Texels {
    /// Bytes of data copied in.
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    pub(crate) fn view(&self) -> &wgpu::TextureView {
        &self.texture.as_ref().expect("texels present until drop").1 // ok: None only inside `drop`
    }
}

impl Drop for Texels {
    fn drop(&mut self) {
        if let Some(t) = self.texture.take() {
            let mut pool = lock(&self.device.inner.textures);
            pool.free.entry(self.rows).or_default().push(t);
        }
    }
}

/// Rows rounded up to a size class: 4 per octave.
fn row_class(rows: u32) -> u32 {
    if rows <= 4 {
        return rows.max(1);
    }
    let step = (rows.next_power_of_two() / 8).max(1);
    rows.div_ceil(step) * step
}

impl Device {
    /// `log2` of the texel-operand width: the `TEX_SHIFT` override constant.
    pub fn texel_shift(&self) -> u32 {
        let max = self.inner.limits.max_texture_dimension_2d.clamp(1, 4096);
        31 - max.leading_zeros()
    }

    /// How the streaming kernels read their inputs on this device ([`StreamReads`]):
    /// storage on GPUs; on CPU adapters the faster of the two, measured at the first
    /// call (an identity `main4` of 16 MiB each way, best of three alternating runs,
    /// the texel copy included; a few milliseconds, one sync).
    pub fn stream_reads(&self) -> StreamReads {
        if self.max_texel_vec4s() == 0 {
            return StreamReads::Storage;
        }
        if let Some(mode) = STREAM_READS.with(|c| c.get()) {
            return mode;
        }
        *self.inner.stream_reads.get_or_init(|| {
            if !self.is_cpu() {
                return StreamReads::Storage;
            }
            match crate::ops::elementwise::time_stream_reads(self) {
                Ok((storage, texels)) if texels < storage => StreamReads::Texels,
                Ok(_) => StreamReads::Storage,
                // Nothing measured (an allocation or launch failed): keep the texel
                // copies every kernel was written for first.
                Err(_) => StreamReads::Texels,
            }
        })
    }

    /// How many `vec4<f32>` one texel operand can hold on this adapter.
    pub fn max_texel_vec4s(&self) -> u64 {
        if !self.inner.texel_reads || NO_TEXELS.with(|c| c.get()) {
            return 0;
        }
        let w = 1u64 << self.texel_shift();
        w * u64::from(self.inner.limits.max_texture_dimension_2d)
    }

    fn take_texels(&self, vec4s: usize) -> Result<Texels> {
        if vec4s as u64 > self.max_texel_vec4s() {
            return Err(Error::Limit {
                what: "vec4s in one texel operand".into(),
                requested: vec4s as u64,
                limit: self.max_texel_vec4s(),
            });
        }
        let width = 1u32 << self.texel_shift();
        let used = (vec4s as u64).div_ceil(u64::from(width)) as u32;
        let rows = row_class(used).min(self.inner.limits.max_texture_dimension_2d);
        let reused = lock(&self.inner.textures)
            .free
            .get_mut(&rows)
            .and_then(Vec::pop);
        let texture = match reused {
            Some(t) => t,
            None => {
                self.inner
                    .counters
                    .allocations
                    .fetch_add(1, Ordering::Relaxed);
                let tex = self.inner.device.create_texture(&wgpu::TextureDescriptor {
                    label: Some("texels"),
                    size: wgpu::Extent3d {
                        width,
                        height: rows,
                        depth_or_array_layers: 1,
                    },
                    mip_level_count: 1,
                    sample_count: 1,
                    dimension: wgpu::TextureDimension::D2,
                    format: wgpu::TextureFormat::Rgba32Float,
                    // Bound only as read-only storage textures (see the module doc).
                    usage: wgpu::TextureUsages::STORAGE_BINDING | wgpu::TextureUsages::COPY_DST,
                    view_formats: &[],
                });
                let view = tex.create_view(&wgpu::TextureViewDescriptor::default());
                (tex, view)
            }
        };
        Ok(Texels {
            device: self.clone(),
            rows,
            bytes: vec4s as u64 * 16,
            texture: Some(texture),
        })
    }

    /// Copies the first `vec4s` vec4s of `t` into a pooled texture (recorded
    /// into the open batch).
    pub fn texels(&self, t: &Tensor, vec4s: usize) -> Result<Texels> {
        let bytes = vec4s as u64 * 16;
        if bytes > t.buffer().size() {
            return Err(Error::Limit {
                what: format!("texel copy of a {:?} tensor", t.shape()),
                requested: bytes,
                limit: t.buffer().size(),
            });
        }
        let texels = self.take_texels(vec4s)?;
        let width = 1u32 << self.texel_shift();
        let full = (vec4s as u64 / u64::from(width)) as u32;
        let rem = (vec4s as u64 % u64::from(width)) as u32;
        let texture = texels.texture.as_ref().expect("texels present until drop"); // ok: just made
        self.record(|encoder| {
            let copy = |offset_rows: u32, w: u32, h: u32, encoder: &mut wgpu::CommandEncoder| {
                encoder.copy_buffer_to_texture(
                    wgpu::TexelCopyBufferInfo {
                        buffer: t.buffer(),
                        layout: wgpu::TexelCopyBufferLayout {
                            offset: u64::from(offset_rows) * u64::from(width) * 16,
                            bytes_per_row: Some(width * 16),
                            rows_per_image: None,
                        },
                    },
                    wgpu::TexelCopyTextureInfo {
                        texture: &texture.0,
                        mip_level: 0,
                        origin: wgpu::Origin3d {
                            x: 0,
                            y: offset_rows,
                            z: 0,
                        },
                        aspect: wgpu::TextureAspect::All,
                    },
                    wgpu::Extent3d {
                        width: w,
                        height: h,
                        depth_or_array_layers: 1,
                    },
                );
            };
            if full > 0 {
                copy(0, width, full, encoder);
            }
            if rem > 0 {
                copy(full, rem, 1, encoder);
            }
        });
        Ok(texels)
    }
}

/// The define that specializes a kernel to read its inputs as texel operands
/// (`// #if TEXELS` blocks; batch_norm.wgsl, max_pool2d.wgsl).
const TEXELS: &[&str] = &["TEXELS"];

impl Device {
    /// Texel copies of `ts` (the inputs of one op, made once and read by all
    /// its launches) when the device reads streams from texels and every one
    /// fits a texel operand; `None` otherwise, and the kernels read storage
    /// windows.
    pub(crate) fn texel_copies(&self, ts: &[&Tensor]) -> Result<Option<Vec<Texels>>> {
        if self.stream_reads() == StreamReads::Storage {
            return Ok(None);
        }
        let fits = |t: &Tensor| {
            let vec4s = t.numel().div_ceil(4) as u64;
            vec4s <= self.max_texel_vec4s() && vec4s * 16 <= t.buffer().size()
        };
        if !ts.iter().all(|t| fits(t)) {
            return Ok(None);
        }
        ts.iter()
            .map(|t| self.texels(t, t.numel().div_ceil(4)))
            .collect::<Result<Vec<_>>>()
            .map(Some)
    }
}

/// An input of one launch over elements `start..end` of `t`: its texel copy
/// (and the absolute element offset) or a vec4 storage window (and the offset
/// inside it).
pub(crate) fn texel_or_window<'a>(
    t: &'a Tensor,
    tex: Option<&'a Texels>,
    start: usize,
    end: usize,
) -> Result<(Arg<'a>, u32)> {
    match tex {
        Some(tx) => Ok((Arg::texels(tx), start as u32)),
        None => crate::ops::pool::window_vec4(t, start, end),
    }
}

/// `kernel` specialized for texel inputs when `texels` (its TEXELS blocks and
/// the TEX_SHIFT constant), with its override constants.
pub(crate) fn texel_kernel(
    dev: &Device,
    kernel: Kernel,
    texels: bool,
    constants: &[(&'static str, f64)],
) -> (Kernel, Vec<(&'static str, f64)>) {
    let mut c = constants.to_vec();
    if texels {
        c.push(("TEX_SHIFT", f64::from(dev.texel_shift())));
        (kernel.with_defines(TEXELS), c)
    } else {
        (kernel, c)
    }
}

#[cfg(test)]
mod tests {
    use super::row_class;

    #[test]
    fn row_classes_cover_and_are_few() {
        for r in 1..5000u32 {
            let c = row_class(r);
            assert!(c >= r && c <= r + r / 4 + 1, "{r} -> {c}");
        }
        let distinct: std::collections::BTreeSet<u32> = (1..4096u32).map(row_class).collect();
        assert!(distinct.len() < 60, "{}", distinct.len());
    }
}
