//! The kernel profiler: GPU time of every dispatch from timestamp queries,
//! host-side encode, submit and wait time, bytes and FLOPs, aggregated per
//! kernel variant and exported as a Chrome trace.
//!
//! Switched on per device with [`Device::start_profiling`] and off with
//! [`Device::stop_profiling`], which returns the [`Profile`] of everything
//! recorded in between.
//!
//! - With `TIMESTAMP_QUERY` ([`Timing::Timestamps`]): the compute pass of each
//!   dispatch (there is one pass per dispatch) gets `timestamp_writes` at its
//!   beginning and end. At each submit the batch's queries are resolved into
//!   a GPU buffer by the same command buffer; the buffers are read back once,
//!   in `stop_profiling`. GPU times are aligned to the host clock (the GPU
//!   cannot start a submission before the host submitted it).
//! - [`Timing::EndTimestamps`], the default on CPU adapters: one query per
//!   dispatch, at the end of its pass (plus one at the beginning of the first
//!   pass of each submission); a dispatch's time runs from the previous one's
//!   end, so it includes the device-side launch gap (and any copy or clear
//!   recorded between the two). Half the queries: on
//!   lavapipe every query costs a scene flush (~25 µs), and dispatches run
//!   strictly one after another anyway, so nothing is lost.
//! - Without ([`Timing::WallClock`]): each dispatch is submitted on its own
//!   and timed on the host from submit to completion, which includes the
//!   submit and wait overhead (about 0.1 ms on lavapipe) and serializes the
//!   work: a fallback that ranks kernels, not a measurement of the batched step.
//! - Off: no query is written, nothing is recorded; `launch` and `submit`
//!   cost one atomic load more.
//!
//! Launchers may name a variant for the profiler with
//! [`Device::variant_label`] (a scoped, thread-local label); otherwise a
//! dispatch is named `kernel/entry{CONST=V,...}`. FLOPs come from
//! [`kernel_flops`], a cost table that decodes each kernel's `Params`.

use std::borrow::Cow;
use std::cell::RefCell;
use std::collections::HashMap;
use std::marker::PhantomData;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::Instant;

use crate::device::{lock, Arg, Device};
use crate::error::{Error, Result};
use crate::kernel::{Kernel, PipelineKey};

/// Queries per query set (wgpu's maximum); a batch uses more sets when it holds
/// more than half this many dispatches.
const QUERIES_PER_SET: u32 = wgpu::QUERY_SET_MAX_QUERIES;
/// Bytes of one buffer that resolved timestamps accumulate in until the end.
const CHUNK_BYTES: u64 = 256 * 1024;

/// Nanoseconds since the profiler's process-wide epoch (the host clock every
/// [`Profile`] uses, so profiles taken one after another can be merged).
pub fn now_ns() -> u64 {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    EPOCH.get_or_init(Instant::now).elapsed().as_nanos() as u64
}

/// How the dispatches of a [`Profile`] were timed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Timing {
    /// The profiler was not on: nothing was recorded.
    #[default]
    Off,
    /// GPU timestamp queries at the beginning and end of each dispatch's pass.
    Timestamps,
    /// One GPU timestamp query per dispatch, at the end of its pass (and one at
    /// the beginning of each submission's first pass): a dispatch runs from the
    /// previous one's end to its own, launch gap included. For devices that
    /// run dispatches one after another (the default on CPU adapters).
    EndTimestamps,
    /// No timestamp queries: each dispatch submitted alone and timed on the
    /// host from submit to completion (submit and wait overhead included).
    WallClock,
}

impl Timing {
    /// `timestamps`, `wall-clock` or `off`.
    pub fn as_str(self) -> &'static str {
        match self {
            Timing::Off => "off",
            Timing::Timestamps => "timestamps",
            Timing::EndTimestamps => "end-timestamps",
            Timing::WallClock => "wall-clock",
        }
    }
}

/// How to profile.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ProfileOptions {
    /// The timing to use; `None` picks [`Timing::EndTimestamps`] on CPU
    /// adapters, [`Timing::Timestamps`] on others, and [`Timing::WallClock`]
    /// where the adapter has no timestamp queries (also what any request for
    /// timestamps gets there).
    pub timing: Option<Timing>,
}

/// One dispatch as the profiler saw it.
#[derive(Clone, Debug, PartialEq)]
pub struct DispatchRecord {
    /// Kernel name (the WGSL file name).
    pub kernel: &'static str,
    /// Entry point.
    pub entry: &'static str,
    /// Variant label: the launcher's [`Device::variant_label`], else
    /// `kernel/entry{CONST=V,...}`.
    pub label: String,
    /// Index of the submission (command buffer) it ran in, within the profile.
    pub submission: u64,
    /// GPU start, in ns on the host clock of [`now_ns`].
    pub start_ns: u64,
    /// GPU end, in ns on the host clock of [`now_ns`].
    pub end_ns: u64,
    /// Bytes of the distinct buffer windows bound (compulsory traffic estimate:
    /// each argument read or written once).
    pub bytes: u64,
    /// Floating-point operations from [`kernel_flops`] (0 where unknown).
    pub flops: u64,
    /// Workgroups dispatched.
    pub workgroups: [u32; 3],
    /// When `launch` began, on the host clock.
    pub encode_start_ns: u64,
    /// Host time `launch` took (validation, bind group, pass encoding).
    pub encode_ns: u64,
}

impl DispatchRecord {
    /// GPU duration in nanoseconds.
    pub fn duration_ns(&self) -> u64 {
        self.end_ns.saturating_sub(self.start_ns)
    }
}

/// What a host span measured.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HostKind {
    /// Finishing and submitting a command buffer.
    Submit,
    /// Waiting for the GPU (`sync`, readbacks).
    Wait,
    /// A span the caller added with [`Profile::push_mark`] (a step, say).
    Mark,
}

/// A span of host time.
#[derive(Clone, Debug, PartialEq)]
pub struct HostSpan {
    /// What it measured.
    pub kind: HostKind,
    /// Name shown in the trace.
    pub name: String,
    /// Start, ns on the host clock of [`now_ns`].
    pub start_ns: u64,
    /// End, ns on the host clock of [`now_ns`].
    pub end_ns: u64,
}

impl HostSpan {
    /// Length in nanoseconds.
    pub fn duration_ns(&self) -> u64 {
        self.end_ns.saturating_sub(self.start_ns)
    }
}

/// Everything recorded between `start_profiling` and `stop_profiling`.
#[derive(Clone, Debug, Default)]
pub struct Profile {
    /// Adapter name.
    pub adapter: String,
    /// How dispatches were timed.
    pub timing: Timing,
    /// When profiling started, ns on the host clock of [`now_ns`].
    pub start_ns: u64,
    /// When it stopped.
    pub end_ns: u64,
    /// Every dispatch, in recording order.
    pub dispatches: Vec<DispatchRecord>,
    /// Submit and wait spans, and the caller's marks (encode spans are in
    /// [`DispatchRecord::encode_ns`]).
    pub host: Vec<HostSpan>,
    /// Command buffers submitted.
    pub submissions: u64,
    /// Timestamp queries written.
    pub queries: u64,
}

/// The dispatches of one kernel variant, summed.
#[derive(Clone, Debug, PartialEq)]
pub struct KernelStats {
    /// Variant label.
    pub name: String,
    /// Dispatches.
    pub calls: u64,
    /// Summed GPU time, ns.
    pub total_ns: u64,
    /// Shortest dispatch, ns.
    pub min_ns: u64,
    /// Longest dispatch, ns.
    pub max_ns: u64,
    /// Summed bytes bound.
    pub bytes: u64,
    /// Summed FLOPs.
    pub flops: u64,
}

impl KernelStats {
    /// Summed GPU time in milliseconds.
    pub fn total_ms(&self) -> f64 {
        self.total_ns as f64 / 1e6
    }
    /// Mean GPU time per call in microseconds.
    pub fn mean_us(&self) -> f64 {
        self.total_ns as f64 / 1e3 / self.calls.max(1) as f64
    }
    /// Achieved GFLOP/s (0 where FLOPs are unknown).
    pub fn gflops(&self) -> f64 {
        self.flops as f64 / self.total_ns.max(1) as f64
    }
    /// Achieved GB/s of compulsory traffic.
    pub fn gbs(&self) -> f64 {
        self.bytes as f64 / self.total_ns.max(1) as f64
    }
}

impl Profile {
    /// One row per kernel variant, longest total GPU time first.
    pub fn kernels(&self) -> Vec<KernelStats> {
        let mut rows: Vec<KernelStats> = Vec::new();
        let mut index: HashMap<&str, usize> = HashMap::new();
        for d in &self.dispatches {
            let t = d.duration_ns();
            let i = *index.entry(d.label.as_str()).or_insert_with(|| {
                rows.push(KernelStats {
                    name: d.label.clone(),
                    calls: 0,
                    total_ns: 0,
                    min_ns: u64::MAX,
                    max_ns: 0,
                    bytes: 0,
                    flops: 0,
                });
                rows.len() - 1
            });
            let r = &mut rows[i];
            r.calls += 1;
            r.total_ns += t;
            r.min_ns = r.min_ns.min(t);
            r.max_ns = r.max_ns.max(t);
            r.bytes += d.bytes;
            r.flops += d.flops;
        }
        rows.sort_by(|a, b| b.total_ns.cmp(&a.total_ns).then(a.name.cmp(&b.name)));
        rows
    }

    /// Summed GPU time of every dispatch, ns.
    pub fn gpu_busy_ns(&self) -> u64 {
        self.dispatches
            .iter()
            .map(DispatchRecord::duration_ns)
            .sum()
    }

    /// GPU time from the first dispatch's start to the last one's end,
    /// summed over submissions, ns: [`Profile::gpu_busy_ns`] plus the gaps
    /// between dispatches (launch overhead on the device side).
    pub fn gpu_span_ns(&self) -> u64 {
        let mut spans: HashMap<u64, (u64, u64)> = HashMap::new();
        for d in &self.dispatches {
            let s = spans.entry(d.submission).or_insert((d.start_ns, d.end_ns));
            s.0 = s.0.min(d.start_ns);
            s.1 = s.1.max(d.end_ns);
        }
        spans.values().map(|(a, b)| b.saturating_sub(*a)).sum()
    }

    /// Summed host time of `launch` calls, ns.
    pub fn encode_ns(&self) -> u64 {
        self.dispatches.iter().map(|d| d.encode_ns).sum()
    }

    /// Summed host time of spans of one kind, ns.
    pub fn host_ns(&self, kind: HostKind) -> u64 {
        self.host
            .iter()
            .filter(|s| s.kind == kind)
            .map(HostSpan::duration_ns)
            .sum()
    }

    /// Adds a named host span (e.g. one training step) to the trace.
    pub fn push_mark(&mut self, name: impl Into<String>, start_ns: u64, end_ns: u64) {
        self.host.push(HostSpan {
            kind: HostKind::Mark,
            name: name.into(),
            start_ns,
            end_ns,
        });
    }

    /// Appends a later profile of the same device (times share one clock).
    pub fn merge(&mut self, other: Profile) {
        if self.timing == Timing::Off {
            self.timing = other.timing;
            self.adapter = other.adapter.clone();
            self.start_ns = other.start_ns;
        }
        let base = self.submissions;
        self.dispatches
            .extend(other.dispatches.into_iter().map(|mut d| {
                d.submission += base;
                d
            }));
        self.host.extend(other.host);
        self.submissions += other.submissions;
        self.queries += other.queries;
        self.start_ns = self.start_ns.min(other.start_ns);
        self.end_ns = self.end_ns.max(other.end_ns);
    }

    /// The profile as a Chrome trace (JSON object format, `traceEvents` of
    /// complete `X` events, times in µs) that Perfetto and chrome://tracing
    /// open: thread 1 is the GPU queue (one event per dispatch), thread 2 the
    /// host (encode, submit, wait and mark spans).
    pub fn chrome_trace(&self) -> String {
        let t0 = self
            .dispatches
            .iter()
            .map(|d| d.start_ns.min(d.encode_start_ns))
            .chain(self.host.iter().map(|s| s.start_ns))
            .min()
            .unwrap_or(self.start_ns)
            .min(self.start_ns);
        let us = |ns: u64| (ns.saturating_sub(t0)) as f64 / 1e3;
        let mut ev: Vec<String> =
            Vec::with_capacity(2 * self.dispatches.len() + self.host.len() + 3);
        ev.push(format!(
            r#"{{"name":"process_name","ph":"M","pid":1,"tid":0,"args":{{"name":{}}}}}"#,
            json_str(&format!("shadernet on {}", self.adapter))
        ));
        ev.push(format!(
            r#"{{"name":"thread_name","ph":"M","pid":1,"tid":1,"args":{{"name":{}}}}}"#,
            json_str(&format!("GPU queue ({})", self.timing.as_str()))
        ));
        ev.push(r#"{"name":"thread_name","ph":"M","pid":1,"tid":2,"args":{"name":"host"}}"#.into());
        // GPU track: one event per dispatch; an overlap with the previous
        // dispatch (possible on GPUs that run passes concurrently) is clipped
        // so the track stays well nested, the raw times kept in args.
        let mut order: Vec<&DispatchRecord> = self.dispatches.iter().collect();
        order.sort_by_key(|d| d.start_ns);
        let mut prev_end = 0u64;
        for d in order {
            let start = d.start_ns.max(prev_end);
            let end = d.end_ns.max(start);
            prev_end = end;
            ev.push(format!(
                r#"{{"name":{},"cat":"gpu","ph":"X","pid":1,"tid":1,"ts":{:.3},"dur":{:.3},"args":{{"kernel":{},"entry":{},"submission":{},"bytes":{},"flops":{},"workgroups":[{},{},{}],"gpu_start_ns":{},"gpu_end_ns":{}}}}}"#,
                json_str(&d.label),
                us(start),
                (end - start) as f64 / 1e3,
                json_str(d.kernel),
                json_str(d.entry),
                d.submission,
                d.bytes,
                d.flops,
                d.workgroups[0],
                d.workgroups[1],
                d.workgroups[2],
                d.start_ns,
                d.end_ns,
            ));
        }
        for d in &self.dispatches {
            ev.push(format!(
                r#"{{"name":"encode","cat":"host","ph":"X","pid":1,"tid":2,"ts":{:.3},"dur":{:.3},"args":{{"kernel":{}}}}}"#,
                us(d.encode_start_ns),
                d.encode_ns as f64 / 1e3,
                json_str(&d.label),
            ));
        }
        for s in &self.host {
            let cat = match s.kind {
                HostKind::Submit => "submit",
                HostKind::Wait => "wait",
                HostKind::Mark => "mark",
            };
            ev.push(format!(
                r#"{{"name":{},"cat":"{cat}","ph":"X","pid":1,"tid":2,"ts":{:.3},"dur":{:.3}}}"#,
                json_str(&s.name),
                us(s.start_ns),
                s.duration_ns() as f64 / 1e3,
            ));
        }
        let mut out = String::from("{\"displayTimeUnit\":\"ns\",\"traceEvents\":[\n");
        out.push_str(&ev.join(",\n"));
        out.push_str("\n]}\n");
        out
    }

    /// Writes [`Profile::chrome_trace`] to `path`.
    pub fn write_chrome_trace(&self, path: &std::path::Path) -> std::io::Result<()> {
        std::fs::write(path, self.chrome_trace())
    }
}

/// A JSON string literal.
fn json_str(s: &str) -> String {
    let mut o = String::with_capacity(s.len() + 2);
    o.push('"');
    for c in s.chars() {
        match c {
            '"' => o.push_str("\\\""),
            '\\' => o.push_str("\\\\"),
            '\n' => o.push_str("\\n"),
            '\r' => o.push_str("\\r"),
            '\t' => o.push_str("\\t"),
            c if (c as u32) < 0x20 => o.push_str(&format!("\\u{:04x}", c as u32)),
            c => o.push(c),
        }
    }
    o.push('"');
    o
}

// ---------------------------------------------------------------------------
// The cost table.

/// The `i`-th u32 of a params struct (0 past its end).
fn word(params: &[u8], i: usize) -> u64 {
    params
        .get(4 * i..4 * i + 4)
        .and_then(|b| <[u8; 4]>::try_from(b).ok())
        .map_or(0, |b| u64::from(u32::from_le_bytes(b)))
}

/// Floating-point operations (a multiply-add counts 2) of one dispatch of
/// `kernel`/`entry` with these `Params` bytes, decoded from each kernel's
/// `struct Params` in `shaders/`; 0 for kernels not in the table (memory-bound
/// ones: elementwise, layout, pooling, batch norm).
///
/// - `matmul*`: `2·m·n·k·batch` (words 0–3).
/// - `conv2d_direct` (every entry: forward, dX and dW do the same MACs):
///   `2·N·K·(C/groups)·R·S·Hout·Wout` from `n, k, kh, kw, oh, ow, cig`.
/// - `conv2d_depthwise`, `conv2d_grouped` (every entry): the same formula from
///   their `n, k, kh, kw, oh, ow, cig` (`cig` = 1 for depthwise).
/// - `conv2d_igemm*`: `forward*` (every tile shape; also dX, on the zero-inserted dY):
///   `2·m·k·4cv·R·S` with `m` output pixels and `cv` input vec4s (channels
///   padded to 4); `weight_grad`: `2·m·k·4jv`, `jv` = vec4s of `(r, s, c/4)`.
///   Padded channels and inserted zeros count: these are executed FLOPs.
pub fn kernel_flops(kernel: &str, entry: &str, params: &[u8]) -> u64 {
    let w = |i| word(params, i);
    if kernel.starts_with("matmul") {
        return 2 * w(0) * w(1) * w(2) * w(3).max(1);
    }
    match kernel {
        "conv2d_direct" => {
            // n c h w k kh kw oh ow sh sw pt pl dh dw groups cig cog total chunk
            let (n, k, kh, kw, oh, ow, cig) = (w(0), w(4), w(5), w(6), w(7), w(8), w(16));
            2 * n * k * cig * kh * kw * oh * ow
        }
        "conv2d_depthwise" | "conv2d_grouped" => {
            // n c h w k kh kw oh ow sh sw pt pl dh dw cig cog ...
            let (n, k, kh, kw, oh, ow, cig) = (w(0), w(4), w(5), w(6), w(7), w(8), w(15));
            2 * n * k * cig.max(1) * kh * kw * oh * ow
        }
        "conv2d_igemm" | "conv2d_igemm_portable" => {
            // m pq ow k hp wp cv kh kw sh sw dh dw wk_stride kv jv chunk
            let (m, k, cv, kh, kw, kv, jv) = (w(0), w(3), w(6), w(7), w(8), w(14), w(15));
            if entry.starts_with("forward") {
                2 * m * k * 4 * cv * kh * kw
            } else if entry.starts_with("weight_grad") {
                let k = if k > 0 { k } else { 4 * kv };
                2 * m * k * 4 * jv
            } else {
                0
            }
        }
        _ => 0,
    }
}

// ---------------------------------------------------------------------------
// Variant labels.

thread_local! {
    static LABELS: RefCell<Vec<Cow<'static, str>>> = const { RefCell::new(Vec::new()) };
}

/// While alive, names the dispatches this thread launches (innermost guard
/// wins) for the profiler. Made by [`Device::variant_label`].
#[must_use = "the label applies only while the guard lives"]
pub struct VariantLabel {
    // Thread-local: the guard must be dropped on the thread that made it.
    _not_send: PhantomData<*const ()>,
}

impl Drop for VariantLabel {
    fn drop(&mut self) {
        LABELS.with(|l| {
            l.borrow_mut().pop();
        });
    }
}

fn current_label() -> Option<String> {
    LABELS.with(|l| l.borrow().last().map(|s| s.to_string()))
}

impl Device {
    /// Names the dispatches this thread launches while the returned guard
    /// lives (e.g. `"conv2d igemm dX"` around the forward kernel run as dX);
    /// the profiler shows this label instead of `kernel/entry{CONST=V,...}`.
    /// Cheap when the profiler is off (a thread-local push); build costly
    /// labels only when [`Device::is_profiling`].
    pub fn variant_label(&self, label: impl Into<Cow<'static, str>>) -> VariantLabel {
        LABELS.with(|l| l.borrow_mut().push(label.into()));
        VariantLabel {
            _not_send: PhantomData,
        }
    }

    /// Whether the profiler is on.
    pub fn is_profiling(&self) -> bool {
        self.inner.profiler.mode() != Timing::Off
    }

    /// Turns the profiler on with the best timing the adapter offers
    /// (timestamp queries: [`Timing::EndTimestamps`] on CPU adapters,
    /// [`Timing::Timestamps`] on GPUs; else wall clock); returns the timing
    /// in use. Work
    /// recorded before is submitted first and not profiled. If the profiler
    /// is already on, it keeps going.
    pub fn start_profiling(&self) -> Timing {
        self.start_profiling_with(ProfileOptions::default())
    }
}

// ---------------------------------------------------------------------------
// The recorder behind the device.

/// A dispatch recorded into the open batch, waiting for its submit.
struct Pending {
    rec: DispatchRecord,
    /// Its queries within the batch.
    query: Option<QuerySlots>,
}

/// A resolved timestamp's place: (chunk, byte offset).
type Loc = (usize, u64);

/// A submitted dispatch and where its timestamps land.
struct Done {
    rec: DispatchRecord,
    /// Where the begin timestamp (if written) and the end one landed.
    at: Option<(Option<Loc>, Loc)>,
}

/// The queries of one dispatch's pass, from [`Profiler::reserve_queries`].
pub(crate) struct PassQueries {
    /// The query set both indices are in.
    pub set: wgpu::QuerySet,
    /// Index in `set` of the beginning-of-pass query, if any.
    pub begin: Option<u32>,
    /// Index in `set` of the end-of-pass query.
    pub end: u32,
    /// The same as indices within the batch, for the recorder.
    pub slots: QuerySlots,
}

impl PassQueries {
    /// Queries written.
    pub fn count(&self) -> u64 {
        1 + u64::from(self.begin.is_some())
    }
}

/// Indices of a dispatch's queries within its batch.
#[derive(Clone, Copy, Debug)]
pub(crate) struct QuerySlots {
    begin: Option<u32>,
    end: u32,
}

struct Recorder {
    timing: Timing,
    start_ns: u64,
    sets: Vec<wgpu::QuerySet>,
    batch_queries: u32,
    pending: Vec<Pending>,
    chunks: Vec<wgpu::Buffer>,
    chunk_used: u64,
    done: Vec<Done>,
    host: Vec<HostSpan>,
    /// Host time each submission was handed to the queue.
    submit_at: Vec<u64>,
    queries: u64,
    labels: HashMap<PipelineKey, String>,
}

/// Profiler state of one device: a mode for the fast check, the recorder.
pub(crate) struct Profiler {
    mode: AtomicU8,
    state: Mutex<Option<Recorder>>,
}

const OFF: u8 = 0;
const STAMPS: u8 = 1;
const WALL: u8 = 2;
const END_STAMPS: u8 = 3;

impl Profiler {
    pub(crate) fn new() -> Profiler {
        Profiler {
            mode: AtomicU8::new(OFF),
            state: Mutex::new(None),
        }
    }

    pub(crate) fn mode(&self) -> Timing {
        match self.mode.load(Ordering::Relaxed) {
            STAMPS => Timing::Timestamps,
            END_STAMPS => Timing::EndTimestamps,
            WALL => Timing::WallClock,
            _ => Timing::Off,
        }
    }

    /// The host time now when the profiler is on (the only cost when off).
    #[inline]
    pub(crate) fn now_if_on(&self) -> Option<u64> {
        (self.mode.load(Ordering::Relaxed) != OFF).then(now_ns)
    }

    /// Starts recording (the caller has flushed earlier work).
    pub(crate) fn start(&self, timing: Timing) -> Timing {
        let mut state = lock(&self.state);
        if let Some(r) = state.as_ref() {
            return r.timing;
        }
        *state = Some(Recorder {
            timing,
            start_ns: now_ns(),
            sets: Vec::new(),
            batch_queries: 0,
            pending: Vec::new(),
            chunks: Vec::new(),
            chunk_used: 0,
            done: Vec::new(),
            host: Vec::new(),
            submit_at: Vec::new(),
            queries: 0,
            labels: HashMap::new(),
        });
        let code = match timing {
            Timing::WallClock => WALL,
            Timing::EndTimestamps => END_STAMPS,
            _ => STAMPS,
        };
        self.mode.store(code, Ordering::Relaxed);
        timing
    }

    /// The queries of the next dispatch's pass, in the timestamp modes. A
    /// pass's queries never straddle two sets: the set size is even, passes
    /// take two queries in [`Timing::Timestamps`], and in
    /// [`Timing::EndTimestamps`] only the batch's first pass (at index 0) does.
    pub(crate) fn reserve_queries(&self, device: &wgpu::Device) -> Option<PassQueries> {
        let mut state = lock(&self.state);
        let r = state.as_mut()?;
        let q = r.batch_queries;
        let begin = match r.timing {
            Timing::Timestamps => true,
            Timing::EndTimestamps => q == 0,
            _ => return None,
        };
        let n = 1 + u32::from(begin);
        let set = ((q + n - 1) / QUERIES_PER_SET) as usize;
        while r.sets.len() <= set {
            r.sets
                .push(device.create_query_set(&wgpu::QuerySetDescriptor {
                    label: Some("shadernet profiler"),
                    ty: wgpu::QueryType::Timestamp,
                    count: QUERIES_PER_SET,
                }));
        }
        r.batch_queries += n;
        r.queries += u64::from(n);
        let slots = QuerySlots {
            begin: begin.then_some(q),
            end: q + n - 1,
        };
        Some(PassQueries {
            set: r.sets[set].clone(),
            begin: slots.begin.map(|b| b % QUERIES_PER_SET),
            end: slots.end % QUERIES_PER_SET,
            slots,
        })
    }

    /// Records a dispatch just encoded into the open batch.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn record_dispatch(
        &self,
        kernel: &Kernel,
        constants: &[(&'static str, f64)],
        params: &[u8],
        args: &[Arg<'_>],
        workgroups: [u32; 3],
        encode_start_ns: u64,
        query: Option<QuerySlots>,
    ) {
        let encode_ns = now_ns().saturating_sub(encode_start_ns);
        let mut state = lock(&self.state);
        let Some(r) = state.as_mut() else { return };
        let label = match current_label() {
            Some(l) => l,
            None => r
                .labels
                .entry(PipelineKey::new(kernel, constants))
                .or_insert_with_key(PipelineKey::label)
                .clone(),
        };
        // Distinct windows only: an operand bound twice (an unused epilogue
        // slot, say) is counted once.
        let mut seen: Vec<(usize, u64, u64)> = Vec::with_capacity(args.len());
        let mut bytes = 0;
        for a in args {
            let id = match a.resource {
                crate::device::ArgResource::Buffer(b) => std::ptr::from_ref(b) as usize,
                crate::device::ArgResource::Texture(t) => std::ptr::from_ref(t) as usize,
            };
            let key = (id, a.offset, a.size);
            if !seen.contains(&key) {
                seen.push(key);
                bytes += a.size;
            }
        }
        r.pending.push(Pending {
            rec: DispatchRecord {
                kernel: kernel.name,
                entry: kernel.entry,
                label,
                submission: 0,
                start_ns: 0,
                end_ns: 0,
                bytes,
                flops: kernel_flops(kernel.name, kernel.entry, params),
                workgroups,
                encode_start_ns,
                encode_ns,
            },
            query,
        });
    }

    /// Before a batch is finished: resolves its queries into the readback
    /// chunks and moves its dispatches to the submitted list.
    pub(crate) fn resolve(&self, device: &wgpu::Device, encoder: &mut wgpu::CommandEncoder) {
        let mut state = lock(&self.state);
        let Some(r) = state.as_mut() else { return };
        let submission = r.submit_at.len() as u64;
        let used = r.batch_queries;
        let mut set_at: Vec<(usize, u64)> = Vec::new();
        let mut first = 0;
        while first < used {
            let set = (first / QUERIES_PER_SET) as usize;
            let count = (used - first).min(QUERIES_PER_SET);
            let bytes = u64::from(count) * 8;
            let offset = r
                .chunk_used
                .next_multiple_of(wgpu::QUERY_RESOLVE_BUFFER_ALIGNMENT);
            if r.chunks.is_empty() || offset + bytes > CHUNK_BYTES {
                r.chunks.push(device.create_buffer(&wgpu::BufferDescriptor {
                    label: Some("shadernet profiler timestamps"),
                    size: CHUNK_BYTES,
                    usage: wgpu::BufferUsages::QUERY_RESOLVE | wgpu::BufferUsages::COPY_SRC,
                    mapped_at_creation: false,
                }));
                r.chunk_used = 0;
            }
            let offset = r
                .chunk_used
                .next_multiple_of(wgpu::QUERY_RESOLVE_BUFFER_ALIGNMENT);
            let chunk = r.chunks.len() - 1;
            encoder.resolve_query_set(&r.sets[set], 0..count, &r.chunks[chunk], offset);
            r.chunk_used = offset + bytes;
            set_at.push((chunk, offset));
            first += count;
        }
        r.batch_queries = 0;
        let pending = std::mem::take(&mut r.pending);
        let locate = |q: u32| {
            let (chunk, base) = *set_at.get((q / QUERIES_PER_SET) as usize)?;
            Some((chunk, base + u64::from(q % QUERIES_PER_SET) * 8))
        };
        r.done.extend(pending.into_iter().map(|p| {
            let at = p
                .query
                .and_then(|q| Some((q.begin.and_then(locate), locate(q.end)?)));
            let mut rec = p.rec;
            rec.submission = submission;
            Done { rec, at }
        }));
    }

    /// After a submit: its host span (from `start_ns`) and the time it was
    /// handed to the queue.
    pub(crate) fn submitted(&self, start_ns: u64, queued_ns: u64) {
        let end = now_ns();
        let mut state = lock(&self.state);
        let Some(r) = state.as_mut() else { return };
        r.submit_at.push(queued_ns);
        r.host.push(HostSpan {
            kind: HostKind::Submit,
            name: "submit".into(),
            start_ns,
            end_ns: end,
        });
    }

    /// After a wait for the GPU that began at `start_ns`.
    pub(crate) fn waited(&self, start_ns: u64) {
        let end = now_ns();
        let mut state = lock(&self.state);
        let Some(r) = state.as_mut() else { return };
        r.host.push(HostSpan {
            kind: HostKind::Wait,
            name: "wait".into(),
            start_ns,
            end_ns: end,
        });
    }

    /// Wall-clock mode: the GPU span of the dispatch submitted last.
    pub(crate) fn time_last(&self, start_ns: u64, end_ns: u64) {
        let mut state = lock(&self.state);
        let Some(r) = state.as_mut() else { return };
        if let Some(d) = r.done.last_mut() {
            d.rec.start_ns = start_ns;
            d.rec.end_ns = end_ns;
        }
    }

    /// Stops recording; the caller has submitted the open batch.
    fn take(&self) -> Option<Recorder> {
        self.mode.store(OFF, Ordering::Relaxed);
        lock(&self.state).take()
    }
}

impl Device {
    /// Turns the profiler on; see [`Device::start_profiling`].
    /// `options.timing` overrides the choice for the adapter.
    pub fn start_profiling_with(&self, options: ProfileOptions) -> Timing {
        let timing = self.profile_timing(options);
        self.flush_for_profiler(|| self.inner.profiler.start(timing))
    }

    /// The timing [`Device::start_profiling_with`] would use (it starts nothing).
    pub fn profile_timing(&self, options: ProfileOptions) -> Timing {
        let stamps = self.features().contains(wgpu::Features::TIMESTAMP_QUERY);
        let cpu = self.is_cpu();
        match options.timing {
            _ if !stamps => Timing::WallClock,
            Some(Timing::Off) | None if cpu => Timing::EndTimestamps,
            Some(Timing::Off) | None => Timing::Timestamps,
            Some(t) => t,
        }
    }

    /// Turns the profiler off and returns what it recorded (an empty profile,
    /// [`Timing::Off`], when it was not on). Submits and waits for pending
    /// work, then reads the timestamps back: call it outside timed regions.
    pub fn stop_profiling(&self) -> Result<Profile> {
        let Some(r) = self.flush_for_profiler(|| self.inner.profiler.take()) else {
            return Ok(Profile::default());
        };
        self.inner
            .device
            .poll(wgpu::PollType::Wait {
                submission_index: None,
                timeout: None,
            })
            .map_err(|e| Error::Gpu(e.to_string()))?;
        let end_ns = now_ns();
        let mut stamps: Vec<Vec<u8>> = Vec::with_capacity(r.chunks.len());
        for c in &r.chunks {
            stamps.push(read_buffer(&self.inner.device, &self.inner.queue, c)?);
        }
        let period = f64::from(self.inner.queue.get_timestamp_period());
        let tick = |chunk: usize, off: u64| -> u64 {
            let ticks = stamps
                .get(chunk)
                .and_then(|s| s.get(off as usize..off as usize + 8))
                .and_then(|b| <[u8; 8]>::try_from(b).ok())
                .map_or(0, u64::from_le_bytes);
            (ticks as f64 * period) as u64
        };
        let mut dispatches: Vec<DispatchRecord> = Vec::with_capacity(r.done.len());
        // GPU clock -> host clock: the largest (submit time - first GPU start)
        // over submissions, since no submission starts before it is queued.
        let mut offset: Option<i128> = None;
        let mut last_sub = None;
        // End of the previous dispatch of the same submission (EndTimestamps).
        let mut prev_end: Option<(u64, u64)> = None;
        for d in r.done {
            let mut rec = d.rec;
            if let Some((begin, (ec, eo))) = d.at {
                let end = tick(ec, eo);
                let start = match (begin, prev_end) {
                    (Some((bc, bo)), _) => tick(bc, bo),
                    (None, Some((sub, e))) if sub == rec.submission => e,
                    (None, _) => end,
                };
                rec.start_ns = start.min(end);
                rec.end_ns = end;
                prev_end = Some((rec.submission, end));
                if last_sub != Some(rec.submission) {
                    last_sub = Some(rec.submission);
                    if let Some(&queued) = r.submit_at.get(rec.submission as usize) {
                        let o = i128::from(queued) - i128::from(rec.start_ns);
                        offset = Some(offset.map_or(o, |x| x.max(o)));
                    }
                }
            }
            dispatches.push(rec);
        }
        if matches!(r.timing, Timing::Timestamps | Timing::EndTimestamps) {
            let o = offset.unwrap_or(0);
            let shift = |t: u64| (i128::from(t) + o).clamp(0, i128::from(u64::MAX)) as u64;
            for d in &mut dispatches {
                d.start_ns = shift(d.start_ns);
                d.end_ns = shift(d.end_ns);
            }
        }
        Ok(Profile {
            adapter: self.adapter().name.clone(),
            timing: r.timing,
            start_ns: r.start_ns,
            end_ns,
            dispatches,
            host: r.host,
            submissions: r.submit_at.len() as u64,
            queries: r.queries,
        })
    }
}

/// Copies a buffer to a mappable one and reads it (at the end of profiling only).
fn read_buffer(device: &wgpu::Device, queue: &wgpu::Queue, src: &wgpu::Buffer) -> Result<Vec<u8>> {
    let size = src.size();
    let staging = device.create_buffer(&wgpu::BufferDescriptor {
        label: Some("shadernet profiler readback"),
        size,
        usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
        mapped_at_creation: false,
    });
    let mut encoder = device.create_command_encoder(&wgpu::CommandEncoderDescriptor {
        label: Some("shadernet profiler readback"),
    });
    encoder.copy_buffer_to_buffer(src, 0, &staging, 0, size);
    queue.submit([encoder.finish()]);
    let slice = staging.slice(..);
    let (tx, rx) = std::sync::mpsc::channel();
    slice.map_async(wgpu::MapMode::Read, move |r| {
        // The receiver lives until `recv` below returns.
        let _ = tx.send(r);
    });
    device
        .poll(wgpu::PollType::Wait {
            submission_index: None,
            timeout: None,
        })
        .map_err(|e| Error::Readback(e.to_string()))?;
    match rx.recv() {
        Ok(Ok(())) => {}
        Ok(Err(e)) => return Err(Error::Readback(e.to_string())),
        Err(_) => return Err(Error::Readback("map callback never ran".into())),
    }
    let out = slice
        .get_mapped_range()
        .map_err(|e| Error::Readback(e.to_string()))?
        .to_vec();
    staging.unmap();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bytes(words: &[u32]) -> Vec<u8> {
        words.iter().flat_map(|w| w.to_le_bytes()).collect()
    }

    #[test]
    fn matmul_flops_from_params() {
        let p = bytes(&[64, 32, 16, 3, 0, 0, 0, 0, 0, 0, 0, 0]);
        assert_eq!(kernel_flops("matmul", "main", &p), 2 * 64 * 32 * 16 * 3);
        let p = bytes(&[64, 32, 16, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        assert_eq!(kernel_flops("matmul", "main", &p), 2 * 64 * 32 * 16);
    }

    #[test]
    fn conv_flops_from_params() {
        // n c h w k kh kw oh ow sh sw pt pl dh dw groups cig cog total chunk
        let p = bytes(&[
            128, 64, 32, 32, 64, 3, 3, 32, 32, 1, 1, 1, 1, 1, 1, 1, 64, 64, 0, 0,
        ]);
        let want = 2 * 128 * 64 * 64 * 9 * 32 * 32;
        for e in ["forward", "backward_input", "backward_weight"] {
            assert_eq!(kernel_flops("conv2d_direct", e, &p), want);
        }
        // m pq ow k hp wp cv kh kw sh sw dh dw wk_stride kv jv chunk
        let m = 128 * 32 * 32;
        let p = bytes(&[
            m, 1024, 32, 64, 34, 34, 16, 3, 3, 1, 1, 1, 1, 0, 16, 144, 0, 0, 0, 0,
        ]);
        assert_eq!(kernel_flops("conv2d_igemm", "forward", &p), want);
        assert_eq!(
            kernel_flops("conv2d_igemm_portable", "forward_k16", &p),
            want
        );
        assert_eq!(kernel_flops("conv2d_igemm", "weight_grad", &p), want);
        // n c h w k kh kw oh ow sh sw pt pl dh dw cig cog total chunk flags strips
        let p = bytes(&[
            128, 144, 16, 16, 144, 3, 3, 8, 8, 2, 2, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0,
        ]);
        let dw = 2 * 128 * 144 * 9 * 8 * 8;
        assert_eq!(kernel_flops("conv2d_depthwise", "forward", &p), dw);
        assert_eq!(kernel_flops("conv2d_grouped", "backward_weight", &p), dw);
        assert_eq!(kernel_flops("binary", "main", &p), 0);
        assert_eq!(kernel_flops("matmul", "main", &[1, 2]), 0);
    }

    #[test]
    fn trace_escapes_and_nests() {
        let mut p = Profile {
            adapter: "a \"b\"".into(),
            timing: Timing::Timestamps,
            ..Profile::default()
        };
        p.push_mark("step\n0", 10, 20);
        let t = p.chrome_trace();
        assert!(t.contains(r#"on a \"b\"""#), "{t}");
        assert!(t.contains(r#""step\n0""#), "{t}");
    }
}
