//! Adapter choice, the wgpu device, and the shared runtime state of one device:
//! the buffer pool, the pipeline cache, the open command batch and the counters.
//!
//! Life of a launch: an op calls [`Device::launch`] with a [`Kernel`], its
//! specialization constants, a `Params` struct and its buffer arguments. The
//! pipeline comes from the cache (compiled once per process and key); the
//! params are appended to a uniform arena; a bind group and one compute pass
//! are recorded into the open command encoder. Nothing is submitted until a
//! sync point: a readback, an upload over pending work, [`Device::flush`], or
//! the batch reaching its bounded depth.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use crate::error::{Error, Result};
use crate::kernel::{Kernel, PipelineKey};
use crate::pool::{BufferPool, PooledBuffer};
use crate::profile::{now_ns, Profiler, Timing};

/// How many bytes of uniform params one batch can hold before it is submitted.
const PARAMS_ARENA_BYTES: u64 = 256 * 1024;

thread_local! {
    static NO_SUBGROUPS: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Runs `f` as if the device had no subgroup operations, so that ops take their
/// portable paths (for tests of those paths).
#[doc(hidden)]
pub fn without_subgroups<R>(f: impl FnOnce() -> R) -> R {
    with_thread_local(&NO_SUBGROUPS, true, f)
}

/// Runs `f` with the thread-local `key` set to `value`, restoring it afterwards
/// (also when `f` panics): the test overrides of the ops' path choices.
pub(crate) fn with_thread_local<T: Copy + 'static, R>(
    key: &'static std::thread::LocalKey<std::cell::Cell<T>>,
    value: T,
    f: impl FnOnce() -> R,
) -> R {
    struct Restore<T: Copy + 'static>(&'static std::thread::LocalKey<std::cell::Cell<T>>, T);
    impl<T: Copy + 'static> Drop for Restore<T> {
        fn drop(&mut self) {
            self.0.with(|c| c.set(self.1));
        }
    }
    let _restore = Restore(key, key.with(|c| c.replace(value)));
    f()
}

/// One adapter as `shadernet info` lists it.
#[derive(Clone, Debug)]
pub struct AdapterSummary {
    /// Position in the listing (what `--device INDEX` means).
    pub index: usize,
    /// Adapter name, e.g. `llvmpipe (LLVM 15.0.6, 256 bits)`.
    pub name: String,
    /// Backend: Vulkan, Metal, Dx12, Gl.
    pub backend: String,
    /// DiscreteGpu, IntegratedGpu, VirtualGpu, Cpu, Other.
    pub device_type: String,
    /// Driver name and version.
    pub driver: String,
    /// The limits the adapter offers.
    pub limits: wgpu::Limits,
    /// The features the adapter offers.
    pub features: wgpu::Features,
    /// Smallest subgroup size (0 when unknown).
    pub subgroup_min_size: u32,
    /// Largest subgroup size (0 when unknown).
    pub subgroup_max_size: u32,
}

impl AdapterSummary {
    /// Whether subgroup operations are available.
    pub fn has_subgroups(&self) -> bool {
        self.features.contains(wgpu::Features::SUBGROUP)
    }
    /// Whether timestamp queries are available.
    pub fn has_timestamps(&self) -> bool {
        self.features.contains(wgpu::Features::TIMESTAMP_QUERY)
    }
}

/// The features shadernet uses when the adapter has them.
fn wanted_features() -> wgpu::Features {
    wgpu::Features::SUBGROUP
        | wgpu::Features::TIMESTAMP_QUERY
        | wgpu::Features::TIMESTAMP_QUERY_INSIDE_ENCODERS
        | wgpu::Features::TIMESTAMP_QUERY_INSIDE_PASSES
        | wgpu::Features::SHADER_F16
}

fn type_rank(t: wgpu::DeviceType) -> u32 {
    match t {
        wgpu::DeviceType::DiscreteGpu => 0,
        wgpu::DeviceType::IntegratedGpu => 1,
        wgpu::DeviceType::VirtualGpu => 2,
        wgpu::DeviceType::Cpu => 3,
        wgpu::DeviceType::Other => 4,
    }
}

fn backend_rank(b: wgpu::Backend) -> u32 {
    match b {
        wgpu::Backend::Vulkan | wgpu::Backend::Metal | wgpu::Backend::Dx12 => 0,
        wgpu::Backend::Gl => 1,
        _ => 2,
    }
}

fn instance() -> wgpu::Instance {
    let mut desc = wgpu::InstanceDescriptor::new_without_display_handle();
    desc.backends = wgpu::Backends::all();
    wgpu::Instance::new(desc)
}

/// All adapters on every backend, most capable first (the order `--device INDEX` uses).
fn sorted_adapters(instance: &wgpu::Instance) -> Vec<wgpu::Adapter> {
    let mut adapters = pollster::block_on(instance.enumerate_adapters(wgpu::Backends::all()));
    adapters.sort_by_key(|a| {
        let info = a.get_info();
        (type_rank(info.device_type), backend_rank(info.backend))
    });
    adapters
}

fn summarize(index: usize, adapter: &wgpu::Adapter) -> AdapterSummary {
    let info = adapter.get_info();
    AdapterSummary {
        index,
        name: info.name.clone(),
        backend: format!("{:?}", info.backend),
        device_type: format!("{:?}", info.device_type),
        driver: format!("{} {}", info.driver, info.driver_info)
            .trim()
            .to_string(),
        limits: adapter.limits(),
        features: adapter.features(),
        subgroup_min_size: info.subgroup_min_size,
        subgroup_max_size: info.subgroup_max_size,
    }
}

/// Every adapter wgpu finds, most capable first.
pub fn list_adapters() -> Vec<AdapterSummary> {
    sorted_adapters(&instance())
        .iter()
        .enumerate()
        .map(|(i, a)| summarize(i, a))
        .collect()
}

/// Monotonic counters of the runtime; later work asserts on them.
#[derive(Default, Debug)]
pub(crate) struct Counters {
    pub allocations: AtomicU64,
    pub pool_hits: AtomicU64,
    pub live_bytes: AtomicU64,
    pub submits: AtomicU64,
    pub pipeline_compiles: AtomicU64,
    pub readbacks: AtomicU64,
    pub uploads: AtomicU64,
    pub dispatches: AtomicU64,
    pub timestamp_queries: AtomicU64,
}

/// A copy of the counters at one moment. Subtract two to measure a workload.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CounterSnapshot {
    /// GPU buffers created (pool misses).
    pub allocations: u64,
    /// Buffer requests served from the pool.
    pub pool_hits: u64,
    /// Bytes held by live tensors (size classes, not exact sizes).
    pub live_bytes: u64,
    /// Command buffers submitted.
    pub submits: u64,
    /// Compute pipelines compiled.
    pub pipeline_compiles: u64,
    /// Buffers read back to the host.
    pub readbacks: u64,
    /// Host-to-GPU uploads.
    pub uploads: u64,
    /// Dispatches recorded.
    pub dispatches: u64,
    /// Timestamp queries written (by the profiler only).
    pub timestamp_queries: u64,
}

impl std::ops::Sub for CounterSnapshot {
    type Output = CounterSnapshot;
    fn sub(self, o: Self) -> Self {
        CounterSnapshot {
            allocations: self.allocations - o.allocations,
            pool_hits: self.pool_hits - o.pool_hits,
            live_bytes: self.live_bytes.wrapping_sub(o.live_bytes),
            submits: self.submits - o.submits,
            pipeline_compiles: self.pipeline_compiles - o.pipeline_compiles,
            readbacks: self.readbacks - o.readbacks,
            uploads: self.uploads - o.uploads,
            dispatches: self.dispatches - o.dispatches,
            timestamp_queries: self.timestamp_queries - o.timestamp_queries,
        }
    }
}

/// A compiled pipeline and its bind group layout.
pub(crate) struct Pipeline {
    pub pipeline: wgpu::ComputePipeline,
    pub layout: wgpu::BindGroupLayout,
}

/// The command encoder being filled, and the params its dispatches use.
struct Batch {
    encoder: Option<wgpu::CommandEncoder>,
    params: Vec<u8>,
    dispatches: u32,
}

pub(crate) struct Inner {
    pub summary: AdapterSummary,
    pub device: wgpu::Device,
    pub queue: wgpu::Queue,
    pub limits: wgpu::Limits,
    pub features: wgpu::Features,
    pipelines: Mutex<HashMap<PipelineKey, Arc<Pipeline>>>,
    pub pool: Mutex<BufferPool>,
    batch: Mutex<Batch>,
    params_buffer: wgpu::Buffer,
    params_align: u64,
    pub counters: Counters,
    error: Arc<Mutex<Option<String>>>,
    pub profiler: Profiler,
    pub textures: Mutex<crate::texels::TexturePool>,
    /// How streaming kernels read their inputs, measured once (`Device::stream_reads`).
    pub stream_reads: std::sync::OnceLock<crate::texels::StreamReads>,
    /// Whether kernels can read texel operands: read-only `rgba32float` storage
    /// textures, two per kernel (`crate::texels`).
    pub texel_reads: bool,
}

/// A GPU device: cheap to clone, shared by every tensor created on it.
#[derive(Clone)]
pub struct Device {
    pub(crate) inner: Arc<Inner>,
}

impl std::fmt::Debug for Device {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Device({} on {})",
            self.inner.summary.name, self.inner.summary.backend
        )
    }
}

/// An argument of a launch: a whole buffer or a byte window of one, or a
/// texel operand (a `texture_storage_2d<rgba32float, read>` binding).
#[derive(Clone, Copy)]
pub struct Arg<'a> {
    pub(crate) resource: ArgResource<'a>,
    pub(crate) offset: u64,
    pub(crate) size: u64,
}

/// What an [`Arg`] binds.
#[derive(Clone, Copy)]
pub(crate) enum ArgResource<'a> {
    /// A storage buffer (a window `[offset, offset + size)` of it).
    Buffer(&'a wgpu::Buffer),
    /// A texel operand (`size` counts its bytes of data).
    Texture(&'a wgpu::TextureView),
}

impl<'a> Arg<'a> {
    /// A window `[offset, offset + size)` in bytes of a buffer.
    pub fn window(buffer: &'a wgpu::Buffer, offset: u64, size: u64) -> Self {
        Arg {
            resource: ArgResource::Buffer(buffer),
            offset,
            size,
        }
    }

    /// A texel operand made by [`Device::texels`].
    pub fn texels(t: &'a crate::texels::Texels) -> Self {
        Arg {
            resource: ArgResource::Texture(t.view()),
            offset: 0,
            size: t.bytes(),
        }
    }
}

pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while a lock is held leaves plain data behind: keep using it.
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Device {
    /// Opens the most capable adapter (discrete, integrated, virtual, then CPU),
    /// or the one `selector` names: an index in [`list_adapters`] order or a
    /// case-insensitive substring of the adapter name.
    pub fn new(selector: Option<&str>) -> Result<Device> {
        let instance = instance();
        let adapters = sorted_adapters(&instance);
        if adapters.is_empty() {
            return Err(Error::NoAdapter);
        }
        let index = match selector {
            None => 0,
            Some(s) => {
                let found = match s.trim().parse::<usize>() {
                    Ok(i) if i < adapters.len() => Some(i),
                    Ok(_) => None,
                    Err(_) => {
                        let needle = s.to_lowercase();
                        adapters.iter().position(|a| {
                            let info = a.get_info();
                            info.name.to_lowercase().contains(&needle)
                                || format!("{:?}", info.backend).to_lowercase() == needle
                        })
                    }
                };
                found.ok_or_else(|| Error::AdapterNotFound {
                    selector: s.to_string(),
                    available: adapters
                        .iter()
                        .enumerate()
                        .map(|(i, a)| {
                            let info = a.get_info();
                            format!("{i}: {} ({:?})", info.name, info.backend)
                        })
                        .collect::<Vec<_>>()
                        .join(", "),
                })?
            }
        };
        let adapter = &adapters[index];
        let summary = summarize(index, adapter);
        let features = adapter.features() & wanted_features();
        let limits = adapter.limits();
        let texel_reads = adapter
            .get_texture_format_features(wgpu::TextureFormat::Rgba32Float)
            .flags
            .contains(wgpu::TextureFormatFeatureFlags::STORAGE_READ_ONLY)
            && limits.max_storage_textures_per_shader_stage >= 2;
        let (device, queue) = pollster::block_on(adapter.request_device(&wgpu::DeviceDescriptor {
            label: Some("shadernet"),
            required_features: features,
            required_limits: limits.clone(),
            experimental_features: wgpu::ExperimentalFeatures::disabled(),
            memory_hints: wgpu::MemoryHints::Performance,
            trace: wgpu::Trace::Off,
        }))
        .map_err(|source| Error::RequestDevice {
            adapter: summary.name.clone(),
            source,
        })?;
        let error = Arc::new(Mutex::new(None::<String>));
        let sink = error.clone();
        device.on_uncaptured_error(Arc::new(move |e: wgpu::Error| {
            let mut slot = lock(&sink);
            if slot.is_none() {
                *slot = Some(e.to_string());
            }
        }));
        let params_align = u64::from(limits.min_uniform_buffer_offset_alignment).max(16);
        let params_buffer = device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("params arena"),
            size: PARAMS_ARENA_BYTES,
            usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        Ok(Device {
            inner: Arc::new(Inner {
                summary,
                device,
                queue,
                limits,
                features,
                pipelines: Mutex::new(HashMap::new()),
                pool: Mutex::new(BufferPool::default()),
                batch: Mutex::new(Batch {
                    encoder: None,
                    params: Vec::new(),
                    dispatches: 0,
                }),
                params_buffer,
                params_align,
                counters: Counters::default(),
                error,
                profiler: Profiler::new(),
                textures: Mutex::new(Default::default()),
                stream_reads: std::sync::OnceLock::new(),
                texel_reads,
            }),
        })
    }

    /// The adapter this device runs on.
    pub fn adapter(&self) -> &AdapterSummary {
        &self.inner.summary
    }

    /// Whether the adapter runs shaders on the CPU (lavapipe, llvmpipe, WARP).
    pub fn is_cpu(&self) -> bool {
        self.adapter().device_type == format!("{:?}", wgpu::DeviceType::Cpu)
    }

    /// The limits the device was opened with (the adapter's own).
    pub fn limits(&self) -> &wgpu::Limits {
        &self.inner.limits
    }

    /// The features the device was opened with.
    pub fn features(&self) -> wgpu::Features {
        self.inner.features
    }

    /// Whether subgroup operations can be used in kernels (false inside
    /// [`without_subgroups`]).
    pub fn has_subgroups(&self) -> bool {
        self.inner.features.contains(wgpu::Features::SUBGROUP) && !NO_SUBGROUPS.with(|c| c.get())
    }

    /// The raw wgpu device, for profiling and tools.
    pub fn wgpu_device(&self) -> &wgpu::Device {
        &self.inner.device
    }

    /// The raw wgpu queue.
    pub fn wgpu_queue(&self) -> &wgpu::Queue {
        &self.inner.queue
    }

    /// Largest number of bytes one storage binding may cover.
    pub fn max_binding_bytes(&self) -> u64 {
        self.inner.limits.max_storage_buffer_binding_size
    }

    /// Alignment of a storage binding's offset.
    pub fn storage_offset_align(&self) -> u64 {
        u64::from(self.inner.limits.min_storage_buffer_offset_alignment)
    }

    /// A copy of the runtime counters.
    pub fn counters(&self) -> CounterSnapshot {
        let c = &self.inner.counters;
        CounterSnapshot {
            allocations: c.allocations.load(Ordering::Relaxed),
            pool_hits: c.pool_hits.load(Ordering::Relaxed),
            live_bytes: c.live_bytes.load(Ordering::Relaxed),
            submits: c.submits.load(Ordering::Relaxed),
            pipeline_compiles: c.pipeline_compiles.load(Ordering::Relaxed),
            readbacks: c.readbacks.load(Ordering::Relaxed),
            uploads: c.uploads.load(Ordering::Relaxed),
            dispatches: c.dispatches.load(Ordering::Relaxed),
            timestamp_queries: c.timestamp_queries.load(Ordering::Relaxed),
        }
    }

    /// Returns the first asynchronous GPU error since the last check, if any.
    pub(crate) fn take_error(&self) -> Result<()> {
        match lock(&self.inner.error).take() {
            Some(message) => Err(Error::Gpu(message)),
            None => Ok(()),
        }
    }

    /// A storage buffer of at least `bytes` bytes, from the pool when one is free.
    pub(crate) fn alloc(&self, bytes: u64) -> Result<PooledBuffer> {
        let max = self.inner.limits.max_buffer_size;
        if bytes > max {
            return Err(Error::Limit {
                what: "buffer size in bytes".into(),
                requested: bytes,
                limit: max,
            });
        }
        BufferPool::take(self, bytes)
    }

    /// The compiled pipeline for a kernel and specialization, compiled on first use.
    pub(crate) fn pipeline(
        &self,
        kernel: &Kernel,
        constants: &[(&'static str, f64)],
    ) -> Result<Arc<Pipeline>> {
        let key = PipelineKey::new(kernel, constants);
        if let Some(p) = lock(&self.inner.pipelines).get(&key) {
            return Ok(p.clone());
        }
        let dev = &self.inner.device;
        let scope = dev.push_error_scope(wgpu::ErrorFilter::Validation);
        let module = dev.create_shader_module(wgpu::ShaderModuleDescriptor {
            label: Some(kernel.name),
            source: wgpu::ShaderSource::Wgsl(kernel.specialized_source()),
        });
        let pipeline = dev.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
            label: Some(kernel.name),
            layout: None,
            module: &module,
            entry_point: Some(kernel.entry),
            compilation_options: wgpu::PipelineCompilationOptions {
                constants,
                zero_initialize_workgroup_memory: true,
            },
            cache: None,
        });
        if let Some(e) = pollster::block_on(scope.pop()) {
            return Err(Error::Kernel {
                kernel: key.label(),
                message: e.to_string(),
            });
        }
        let layout = pipeline.get_bind_group_layout(0);
        self.inner
            .counters
            .pipeline_compiles
            .fetch_add(1, Ordering::Relaxed);
        let p = Arc::new(Pipeline { pipeline, layout });
        lock(&self.inner.pipelines).insert(key, p.clone());
        Ok(p)
    }

    /// Records one dispatch of `kernel` into the open batch.
    ///
    /// Binding 0 is `params` (a uniform); bindings 1.. are `args` in order.
    /// `workgroups` is checked against the device's per-dimension limit.
    pub fn launch<P: bytemuck::Pod>(
        &self,
        kernel: &Kernel,
        constants: &[(&'static str, f64)],
        params: &P,
        args: &[Arg<'_>],
        workgroups: [u32; 3],
    ) -> Result<()> {
        let prof_t0 = self.inner.profiler.now_if_on();
        let max_wg = self.inner.limits.max_compute_workgroups_per_dimension;
        if let Some(&w) = workgroups.iter().find(|&&w| w > max_wg) {
            return Err(Error::Limit {
                what: format!("{}: workgroups in one dimension", kernel.name),
                requested: u64::from(w),
                limit: u64::from(max_wg),
            });
        }
        let max_bind = self.max_binding_bytes();
        for a in args
            .iter()
            .filter(|a| matches!(a.resource, ArgResource::Buffer(_)))
        {
            if a.size > max_bind {
                return Err(Error::Limit {
                    what: format!("{}: bytes in one storage binding", kernel.name),
                    requested: a.size,
                    limit: max_bind,
                });
            }
        }
        if workgroups.contains(&0) {
            return Ok(());
        }
        let pipeline = self.pipeline(kernel, constants)?;
        let wall_clock = prof_t0.is_some() && self.inner.profiler.mode() == Timing::WallClock;
        let prof_t0 = if wall_clock {
            // Profiler fallback: earlier work must not count as this dispatch's
            // (nor its wait as this dispatch's encoding).
            self.sync()?;
            Some(now_ns())
        } else {
            prof_t0
        };
        let bytes = bytemuck::bytes_of(params);
        let mut batch = lock(&self.inner.batch);
        let align = self.inner.params_align;
        let slot = (bytes.len() as u64).div_ceil(align) * align;
        if batch.params.len() as u64 + slot > PARAMS_ARENA_BYTES {
            self.submit_locked(&mut batch);
        }
        let offset = batch.params.len() as u64;
        batch.params.extend_from_slice(bytes);
        batch.params.resize((offset + slot) as usize, 0);
        let params_size = (bytes.len() as u64).div_ceil(16) * 16;
        let mut entries = Vec::with_capacity(args.len() + 1);
        entries.push(wgpu::BindGroupEntry {
            binding: 0,
            resource: wgpu::BindingResource::Buffer(wgpu::BufferBinding {
                buffer: &self.inner.params_buffer,
                offset,
                size: std::num::NonZeroU64::new(params_size),
            }),
        });
        for (i, a) in args.iter().enumerate() {
            let resource = match a.resource {
                ArgResource::Buffer(buffer) => wgpu::BindingResource::Buffer(wgpu::BufferBinding {
                    buffer,
                    offset: a.offset,
                    size: std::num::NonZeroU64::new(a.size.max(4)),
                }),
                ArgResource::Texture(view) => wgpu::BindingResource::TextureView(view),
            };
            entries.push(wgpu::BindGroupEntry {
                binding: i as u32 + 1,
                resource,
            });
        }
        let bind_group = self
            .inner
            .device
            .create_bind_group(&wgpu::BindGroupDescriptor {
                label: Some(kernel.name),
                layout: &pipeline.layout,
                entries: &entries,
            });
        let encoder = batch.encoder.get_or_insert_with(|| {
            self.inner
                .device
                .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                    label: Some("shadernet batch"),
                })
        });
        let queries = match prof_t0 {
            Some(_) => self.inner.profiler.reserve_queries(&self.inner.device),
            None => None,
        };
        {
            let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
                label: Some(kernel.name),
                timestamp_writes: queries.as_ref().map(|q| wgpu::ComputePassTimestampWrites {
                    query_set: &q.set,
                    beginning_of_pass_write_index: q.begin,
                    end_of_pass_write_index: Some(q.end),
                }),
            });
            pass.set_pipeline(&pipeline.pipeline);
            pass.set_bind_group(0, &bind_group, &[]);
            pass.dispatch_workgroups(workgroups[0], workgroups[1], workgroups[2]);
        }
        batch.dispatches += 1;
        self.inner
            .counters
            .dispatches
            .fetch_add(1, Ordering::Relaxed);
        if let Some(t0) = prof_t0 {
            if let Some(q) = &queries {
                self.inner
                    .counters
                    .timestamp_queries
                    .fetch_add(q.count(), Ordering::Relaxed);
            }
            let p = &self.inner.profiler;
            p.record_dispatch(
                kernel,
                constants,
                bytes,
                args,
                workgroups,
                t0,
                queries.map(|q| q.slots),
            );
            if wall_clock {
                let start = now_ns();
                self.submit_locked(&mut batch);
                drop(batch);
                let waited = self.poll_wait();
                p.time_last(start, now_ns());
                waited?;
            }
        }
        Ok(())
    }

    /// Waits for all submitted work.
    fn poll_wait(&self) -> Result<()> {
        self.inner
            .device
            .poll(wgpu::PollType::Wait {
                submission_index: None,
                timeout: None,
            })
            .map(drop)
            .map_err(|e| Error::Gpu(e.to_string()))
    }

    /// Submits the open batch, then runs `f` before any other thread can record.
    pub(crate) fn flush_for_profiler<T>(&self, f: impl FnOnce() -> T) -> T {
        let mut batch = lock(&self.inner.batch);
        self.submit_locked(&mut batch);
        f()
    }

    /// Records commands into the open batch (after the dispatches before it).
    pub(crate) fn record(&self, f: impl FnOnce(&mut wgpu::CommandEncoder)) {
        let mut batch = lock(&self.inner.batch);
        let encoder = batch.encoder.get_or_insert_with(|| {
            self.inner
                .device
                .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                    label: Some("shadernet batch"),
                })
        });
        f(encoder);
    }

    fn submit_locked(&self, batch: &mut Batch) {
        if let Some(mut encoder) = batch.encoder.take() {
            let prof_t0 = self.inner.profiler.now_if_on();
            if prof_t0.is_some() {
                self.inner
                    .profiler
                    .resolve(&self.inner.device, &mut encoder);
            }
            if !batch.params.is_empty() {
                self.inner
                    .queue
                    .write_buffer(&self.inner.params_buffer, 0, &batch.params);
            }
            let commands = encoder.finish();
            let queued = prof_t0.map(|_| now_ns());
            self.inner.queue.submit([commands]);
            if let (Some(t0), Some(queued)) = (prof_t0, queued) {
                self.inner.profiler.submitted(t0, queued);
            }
            self.inner.counters.submits.fetch_add(1, Ordering::Relaxed);
        }
        batch.params.clear();
        batch.dispatches = 0;
    }

    /// Submits the recorded dispatches (if any) without waiting for them.
    pub fn flush(&self) {
        let mut batch = lock(&self.inner.batch);
        self.submit_locked(&mut batch);
    }

    /// Number of dispatches recorded and not yet submitted.
    pub fn pending_dispatches(&self) -> u32 {
        lock(&self.inner.batch).dispatches
    }

    /// Submits pending work, waits for the GPU to finish it, and reports any
    /// asynchronous GPU error raised since the last check.
    pub fn sync(&self) -> Result<()> {
        self.flush();
        let prof_t0 = self.inner.profiler.now_if_on();
        self.poll_wait()?;
        if let Some(t0) = prof_t0 {
            self.inner.profiler.waited(t0);
        }
        self.take_error()
    }

    /// Writes host bytes into a buffer at `offset`. Work recorded earlier that
    /// may still read this buffer is submitted first, so it sees the old data.
    pub(crate) fn write_bytes(&self, buffer: &wgpu::Buffer, offset: u64, bytes: &[u8]) {
        self.flush();
        self.inner.queue.write_buffer(buffer, offset, bytes);
        self.inner.counters.uploads.fetch_add(1, Ordering::Relaxed);
    }

    /// Copies `size` bytes from `buffer` at `offset` back to the host.
    pub(crate) fn read_bytes(
        &self,
        buffer: &wgpu::Buffer,
        offset: u64,
        size: u64,
    ) -> Result<Vec<u8>> {
        let mut out = vec![0u8; size as usize];
        if size == 0 {
            return Ok(out);
        }
        let staging = BufferPool::take_staging(self, size)?;
        {
            let mut batch = lock(&self.inner.batch);
            let encoder = batch.encoder.get_or_insert_with(|| {
                self.inner
                    .device
                    .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                        label: Some("shadernet batch"),
                    })
            });
            encoder.copy_buffer_to_buffer(buffer, offset, staging.buffer(), 0, size);
            self.submit_locked(&mut batch);
        }
        let slice = staging.buffer().slice(0..size);
        let (tx, rx) = std::sync::mpsc::channel();
        slice.map_async(wgpu::MapMode::Read, move |r| {
            // The receiver lives until `recv` below returns.
            let _ = tx.send(r);
        });
        let prof_t0 = self.inner.profiler.now_if_on();
        self.inner
            .device
            .poll(wgpu::PollType::Wait {
                submission_index: None,
                timeout: None,
            })
            .map_err(|e| Error::Readback(e.to_string()))?;
        if let Some(t0) = prof_t0 {
            self.inner.profiler.waited(t0);
        }
        self.take_error()?;
        match rx.recv() {
            Ok(Ok(())) => {}
            Ok(Err(e)) => return Err(Error::Readback(e.to_string())),
            Err(_) => return Err(Error::Readback("map callback never ran".into())),
        }
        {
            let view = slice
                .get_mapped_range()
                .map_err(|e| Error::Readback(e.to_string()))?;
            out.copy_from_slice(&view);
        }
        staging.buffer().unmap();
        self.inner
            .counters
            .readbacks
            .fetch_add(1, Ordering::Relaxed);
        Ok(out)
    }

    /// Records a GPU-side copy between buffers into the open batch.
    pub(crate) fn copy_bytes(
        &self,
        src: &wgpu::Buffer,
        src_off: u64,
        dst: &wgpu::Buffer,
        dst_off: u64,
        size: u64,
    ) {
        if size == 0 {
            return;
        }
        let mut batch = lock(&self.inner.batch);
        let encoder = batch.encoder.get_or_insert_with(|| {
            self.inner
                .device
                .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                    label: Some("shadernet batch"),
                })
        });
        encoder.copy_buffer_to_buffer(src, src_off, dst, dst_off, size);
    }

    /// Workgroup size for 1-D elementwise kernels: 256 or what the device allows,
    /// a multiple of 8 (the SIMD width of software rasterizers, and of every GPU).
    pub fn elementwise_workgroup(&self) -> u32 {
        let max = self
            .inner
            .limits
            .max_compute_invocations_per_workgroup
            .min(self.inner.limits.max_compute_workgroup_size_x);
        (256u32.min(max) / 8 * 8).max(8).min(max)
    }

    /// Workgroup counts covering `invocations` with `wg`-sized groups, folded into
    /// two dimensions when one would exceed the per-dimension limit. Kernels
    /// recover the linear index as `gid.x + gid.y * num_workgroups.x * WG`.
    pub fn grid_1d(&self, invocations: u64, wg: u32) -> Result<[u32; 3]> {
        let groups = invocations.div_ceil(u64::from(wg));
        let max = u64::from(self.inner.limits.max_compute_workgroups_per_dimension);
        if groups <= max {
            return Ok([groups as u32, 1, 1]);
        }
        let y = groups.div_ceil(max);
        if y > max {
            return Err(Error::Limit {
                what: "workgroups of a 1-D launch".into(),
                requested: groups,
                limit: max * max,
            });
        }
        Ok([groups.div_ceil(y) as u32, y as u32, 1])
    }
}

impl Device {
    /// Records a zero fill of `size` bytes at `offset` into the open batch.
    pub(crate) fn clear_bytes(&self, buffer: &wgpu::Buffer, offset: u64, size: u64) {
        if size == 0 {
            return;
        }
        let mut batch = lock(&self.inner.batch);
        let encoder = batch.encoder.get_or_insert_with(|| {
            self.inner
                .device
                .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                    label: Some("shadernet batch"),
                })
        });
        // clear_buffer needs 4-byte multiples; tensor sizes always are.
        encoder.clear_buffer(buffer, offset, Some(size));
    }
}
