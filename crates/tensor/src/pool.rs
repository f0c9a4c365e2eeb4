//! Buffer pool: freed buffers are kept by size class and handed out again, so a
//! repeated workload (a training step, an inference batch) reaches zero new
//! allocations after its first run.

use std::collections::HashMap;
use std::sync::atomic::Ordering;

use crate::device::{lock, Device};
use crate::error::Result;

/// Size classes: four per octave (at most 25 % waste), never below 256 bytes.
pub(crate) fn size_class(bytes: u64) -> u64 {
    let bytes = bytes.max(256);
    let top = 63 - bytes.leading_zeros(); // floor(log2(bytes))
    let step = 1u64 << (top - 2);
    bytes.div_ceil(step) * step
}

#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
enum Kind {
    Storage,
    Staging,
}

/// Free buffers by (kind, size class).
#[derive(Default)]
pub(crate) struct BufferPool {
    free: HashMap<(Kind, u64), Vec<wgpu::Buffer>>,
}

/// A buffer on loan from the pool; it goes back when dropped.
pub(crate) struct PooledBuffer {
    buffer: Option<wgpu::Buffer>,
    class: u64,
    kind: Kind,
    device: Device,
}

impl PooledBuffer {
    pub(crate) fn buffer(&self) -> &wgpu::Buffer {
        self.buffer.as_ref().expect("buffer present until drop") // ok: None only inside `drop`
    }
}

impl Drop for PooledBuffer {
    fn drop(&mut self) {
        if let Some(b) = self.buffer.take() {
            if self.kind == Kind::Storage {
                self.device
                    .inner
                    .counters
                    .live_bytes
                    .fetch_sub(self.class, Ordering::Relaxed);
            }
            lock(&self.device.inner.pool)
                .free
                .entry((self.kind, self.class))
                .or_default()
                .push(b);
        }
    }
}

impl BufferPool {
    fn get(device: &Device, kind: Kind, bytes: u64) -> PooledBuffer {
        let class = size_class(bytes);
        let reused = lock(&device.inner.pool)
            .free
            .get_mut(&(kind, class))
            .and_then(|v| v.pop());
        let counters = &device.inner.counters;
        let buffer = match reused {
            Some(b) => {
                counters.pool_hits.fetch_add(1, Ordering::Relaxed);
                b
            }
            None => {
                counters.allocations.fetch_add(1, Ordering::Relaxed);
                let usage = match kind {
                    Kind::Storage => {
                        wgpu::BufferUsages::STORAGE
                            | wgpu::BufferUsages::COPY_SRC
                            | wgpu::BufferUsages::COPY_DST
                    }
                    Kind::Staging => wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
                };
                device.inner.device.create_buffer(&wgpu::BufferDescriptor {
                    label: Some(match kind {
                        Kind::Storage => "tensor",
                        Kind::Staging => "readback",
                    }),
                    size: class,
                    usage,
                    mapped_at_creation: false,
                })
            }
        };
        if kind == Kind::Storage {
            counters.live_bytes.fetch_add(class, Ordering::Relaxed);
        }
        PooledBuffer {
            buffer: Some(buffer),
            class,
            kind,
            device: device.clone(),
        }
    }

    pub(crate) fn take(device: &Device, bytes: u64) -> Result<PooledBuffer> {
        Ok(Self::get(device, Kind::Storage, bytes))
    }

    pub(crate) fn take_staging(device: &Device, bytes: u64) -> Result<PooledBuffer> {
        let max = device.inner.limits.max_buffer_size;
        if size_class(bytes) > max {
            return Err(crate::Error::Limit {
                what: "readback buffer bytes".into(),
                requested: bytes,
                limit: max,
            });
        }
        Ok(Self::get(device, Kind::Staging, bytes))
    }

    /// Bytes held in free buffers.
    pub(crate) fn free_bytes(&self) -> u64 {
        self.free.iter().map(|((_, c), v)| c * v.len() as u64).sum()
    }

    /// Drops every free buffer (returns the memory to the driver).
    pub(crate) fn trim(&mut self) {
        self.free.clear();
    }
}

impl Device {
    /// Bytes the pool holds in free buffers, ready for reuse.
    pub fn pooled_bytes(&self) -> u64 {
        lock(&self.inner.pool).free_bytes()
    }

    /// Releases every free pooled buffer back to the driver.
    pub fn trim_pool(&self) {
        lock(&self.inner.pool).trim();
    }
}

#[cfg(test)]
mod tests {
    use super::size_class;

    #[test]
    fn size_classes_cover_the_request_with_bounded_waste() {
        for bytes in [
            1u64,
            255,
            256,
            257,
            1000,
            4096,
            5000,
            1 << 20,
            (1 << 20) + 1,
            392 << 20,
        ] {
            let c = size_class(bytes);
            assert!(c >= bytes, "{bytes} -> {c}");
            assert!(c <= (bytes.max(256) * 5).div_ceil(4), "{bytes} -> {c}");
        }
        assert_eq!(size_class(5000), 5120);
        assert_eq!(size_class(4096), 4096);
    }
}
