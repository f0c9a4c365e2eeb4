//! `shadernet profile`: per-kernel GPU time of a model's forward pass or
//! training step, from timestamp queries (see spec/cli.md and
//! `shadernet_tensor::profile`).
//!
//! Order of work: calibrate the device's ceilings (a matmul and a copy, about
//! a second), warm up (shader JIT), then for each iteration one step with the
//! profiler off (the baseline wall time, unless `--no-baseline`) and one with
//! it on, each ending in a sync. The table sums the profiled steps.

use std::io::Write;
use std::path::PathBuf;
use std::time::Instant;

use shadernet::models::{self, Model, ModelSpec};
use shadernet::nn::optim::OptimizerConfig;
use shadernet::nn::schedule::Schedule;
use shadernet::nn::{Module, Tape, Var};
use shadernet::tensor::profile::{now_ns, HostKind, KernelStats, Profile, ProfileOptions, Timing};
use shadernet::train::{TrainOptions, Trainer};
use shadernet::{DType, Device, Tensor};

use super::common::{open_device_for_speed, tensor_error, user};

/// The arguments of `profile`.
#[derive(clap::Args, Debug)]
pub struct ProfileArgs {
    /// Model name (see spec/models.md), e.g. resnet20, lenet5.
    #[arg(long)]
    pub model: String,
    /// Images per batch.
    #[arg(long)]
    pub batch: usize,
    /// Profile a whole training step (forward, cross-entropy, backward, SGD)
    /// on random data instead of the forward pass in eval mode.
    #[arg(long)]
    pub train: bool,
    /// Profiled steps.
    #[arg(long, default_value_t = 10)]
    pub iters: usize,
    /// Unprofiled steps first (shader compilation happens here).
    #[arg(long, default_value_t = 1)]
    pub warmup: usize,
    /// Write a Chrome trace (Perfetto, chrome://tracing) of the profiled steps.
    #[arg(long)]
    pub trace: Option<PathBuf>,
    /// Print one JSON object on the last line.
    #[arg(long)]
    pub json: bool,
    /// Adapter: index or name substring (see `shadernet info`).
    #[arg(long)]
    pub device: Option<String>,
    /// Skip the unprofiled step timed before each profiled one (the
    /// profiler-overhead figure is then not measured).
    #[arg(long)]
    pub no_baseline: bool,
    /// Skip the ceiling calibration (no % of ceiling column).
    #[arg(long)]
    pub no_calibrate: bool,
    /// How to time dispatches: auto (end-timestamps on CPU adapters,
    /// timestamps on GPUs, wall-clock without timestamp queries), timestamps
    /// (begin and end of each dispatch), end-timestamps (one query per
    /// dispatch; each runs from the previous one's end), wall-clock (each
    /// dispatch submitted alone and timed on the host).
    #[arg(long, default_value = "auto")]
    pub timing: String,
    /// Seed of the weights and the random data.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
}

/// What the device reaches on a calibrated matmul and a copy.
#[derive(Clone, Copy, Debug)]
struct Ceilings {
    gflops: f64,
    gbs: f64,
}

/// Best matmul GFLOP/s (square, B transposed, every variant; 256³, then
/// 512³ and 1024³ while a call stays short) and copy GB/s (32 MiB, vec4) on
/// this adapter; about a second.
fn calibrate(device: &Device) -> shadernet::tensor::Result<Ceilings> {
    use shadernet::bench::time_gpu;
    use shadernet::ops::{dropout, matmul};
    let mut gflops = 0.0f64;
    for n in [256, 512, 1024] {
        let a = filled(device, &[n, n], 1)?;
        let b = filled(device, &[n, n], 2)?;
        let c = Tensor::uninit(device, &[n, n], DType::F32)?;
        let mut slowest = 0.0f64;
        for v in matmul::available_variants(device) {
            let ms = time_gpu(device, 0.25, || {
                matmul::matmul_into(&a, &b, false, true, &c, v)
            })?;
            gflops = gflops.max(2.0 * (n * n * n) as f64 / ms / 1e6);
            slowest = slowest.max(ms);
        }
        if slowest > 40.0 {
            break;
        }
    }
    let x = filled(device, &[128, 64, 32, 32], 3)?;
    let ms = time_gpu(device, 0.2, || dropout::copy(&x, true).map(drop))?;
    let gbs = 8.0 * x.numel() as f64 / ms / 1e6;
    Ok(Ceilings { gflops, gbs })
}

/// Deterministic values in [-1, 1).
fn random(len: usize, seed: u64) -> Vec<f32> {
    let mut s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            ((s >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
        })
        .collect()
}

fn filled(device: &Device, shape: &[usize], seed: u64) -> shadernet::tensor::Result<Tensor> {
    Tensor::from_f32(device, &random(shape.iter().product(), seed), shape)
}

enum Runner {
    Eval(Model),
    Train(Box<Trainer>),
}

impl Runner {
    /// One forward pass or training step, recorded (not waited for).
    fn step(&mut self, x: &Tensor, y: &Tensor) -> shadernet::tensor::Result<()> {
        match self {
            Runner::Eval(m) => {
                let tape = Tape::inference();
                m.forward(&tape, &Var::constant(x.clone())).map(drop)
            }
            Runner::Train(t) => t.train_step(x, y, 0.01).map(drop),
        }
    }
}

fn mean(v: &[f64]) -> f64 {
    v.iter().sum::<f64>() / v.len().max(1) as f64
}

fn min(v: &[f64]) -> f64 {
    v.iter().copied().fold(f64::INFINITY, f64::min)
}

fn round(x: f64, digits: i32) -> f64 {
    let f = 10f64.powi(digits);
    (x * f).round() / f
}

/// `12% F` (compute-bound share of the matmul ceiling) or `40% M` (memory).
fn pct_ceiling(k: &KernelStats, c: Option<Ceilings>) -> Option<(f64, char)> {
    let c = c?;
    let f = if c.gflops > 0.0 {
        100.0 * k.gflops() / c.gflops
    } else {
        0.0
    };
    let m = if c.gbs > 0.0 {
        100.0 * k.gbs() / c.gbs
    } else {
        0.0
    };
    Some(if f >= m { (f, 'F') } else { (m, 'M') })
}

/// Runs `profile`.
pub fn run(a: &ProfileArgs) -> anyhow::Result<()> {
    if a.batch == 0 {
        return Err(user("--batch must be at least 1"));
    }
    if a.iters == 0 {
        return Err(user("--iters must be at least 1"));
    }
    if !models::MODEL_NAMES.contains(&a.model.as_str()) {
        return Err(user(format!(
            "unknown model `{}`; known models: {}",
            a.model,
            models::MODEL_NAMES.join(", ")
        )));
    }
    let requested = match a.timing.as_str() {
        "auto" => None,
        "timestamps" => Some(Timing::Timestamps),
        "end-timestamps" => Some(Timing::EndTimestamps),
        "wall-clock" => Some(Timing::WallClock),
        other => {
            return Err(user(format!(
                "unknown --timing `{other}`; use auto, timestamps, end-timestamps or wall-clock"
            )))
        }
    };
    let mut trace_file = match &a.trace {
        Some(path) => Some((
            path,
            std::fs::File::create(path)
                .map_err(|e| user(format!("cannot write trace file {}: {e}", path.display())))?,
        )),
        None => None,
    };
    let device = open_device_for_speed(a.device.as_deref())?;
    let options = ProfileOptions { timing: requested };
    let timing = device.profile_timing(options);
    let timing_note = match timing {
        Timing::Timestamps => "GPU timestamp queries at the beginning and end of each dispatch".to_string(),
        Timing::EndTimestamps => "GPU timestamp queries, one per dispatch: each dispatch runs from the previous one's end (device-side launch gap included)".to_string(),
        _ => format!(
            "wall clock per dispatch ({}): each dispatch is submitted alone and timed on the host, so times include the submit and wait overhead (~0.1 ms)",
            if requested == Some(Timing::WallClock) { "--timing wall-clock" } else { "this adapter has no timestamp queries" }
        ),
    };
    eprintln!(
        "profile {} batch {} ({}) on {} ({}); timing: {timing_note}",
        a.model,
        a.batch,
        if a.train {
            "training step"
        } else {
            "forward, eval mode"
        },
        device.adapter().name,
        device.adapter().backend
    );

    let ceilings = if a.no_calibrate {
        None
    } else {
        let c = calibrate(&device).map_err(tensor_error)?;
        eprintln!(
            "ceilings on this adapter: matmul {:.1} GFLOP/s, copy {:.1} GB/s",
            c.gflops, c.gbs
        );
        Some(c)
    };

    let spec = ModelSpec::default_for(&a.model);
    let model = models::build(&a.model, spec, &device, a.seed).map_err(tensor_error)?;
    let [h, w] = spec.image_size;
    let x = filled(
        &device,
        &[a.batch, spec.in_channels, h, w],
        a.seed.wrapping_add(11),
    )
    .map_err(tensor_error)?;
    let labels: Vec<u32> = random(a.batch, a.seed.wrapping_add(12))
        .iter()
        .map(|v| {
            ((v + 1.0) * 0.5 * spec.num_classes as f32) as u32 % spec.num_classes.max(1) as u32
        })
        .collect();
    let y = Tensor::from_u32(&device, &labels, &[a.batch]).map_err(tensor_error)?;
    let mut runner = if a.train {
        let options = TrainOptions {
            optimizer: OptimizerConfig::sgd(0.9, 5e-4, false),
            lr: 0.01,
            schedule: Schedule::Constant,
            warmup_epochs: 0,
            epochs: 1,
            steps: None,
            label_smoothing: 0.0,
            seed: a.seed,
            log_every: 1,
        };
        Runner::Train(Box::new(
            Trainer::new(&device, model, options).map_err(tensor_error)?,
        ))
    } else {
        Runner::Eval(model)
    };

    let run_step = |runner: &mut Runner| -> anyhow::Result<f64> {
        let t = Instant::now();
        runner.step(&x, &y).map_err(tensor_error)?;
        device.sync().map_err(tensor_error)?;
        Ok(t.elapsed().as_secs_f64() * 1e3)
    };
    for i in 0..a.warmup {
        let ms = run_step(&mut runner)?;
        eprintln!("warm-up {}/{}: {ms:.1} ms", i + 1, a.warmup);
    }
    let mut profile = Profile::default();
    let (mut prof_ms, mut base_ms) = (Vec::new(), Vec::new());
    for i in 0..a.iters {
        if !a.no_baseline {
            base_ms.push(run_step(&mut runner)?);
        }
        device.start_profiling_with(options);
        let t0 = now_ns();
        let stepped = run_step(&mut runner);
        let t1 = now_ns();
        let mut p = device.stop_profiling().map_err(tensor_error)?;
        let ms = stepped?;
        prof_ms.push(ms);
        p.push_mark(format!("step {i}"), t0, t1);
        profile.merge(p);
        match base_ms.last() {
            Some(b) => eprintln!(
                "step {}/{}: {ms:.1} ms profiled, {b:.1} ms not",
                i + 1,
                a.iters
            ),
            None => eprintln!("step {}/{}: {ms:.1} ms profiled", i + 1, a.iters),
        }
    }

    let iters = a.iters as f64;
    let step_ms = mean(&prof_ms);
    let baseline_ms = (!base_ms.is_empty()).then(|| mean(&base_ms));
    // Noise from other processes only adds time: compare the fastest steps.
    let overhead_pct = (!base_ms.is_empty()).then(|| 100.0 * (min(&prof_ms) / min(&base_ms) - 1.0));
    let gpu_ms = profile.gpu_busy_ns() as f64 / 1e6 / iters;
    let span_ms = profile.gpu_span_ns() as f64 / 1e6 / iters;
    let encode_ms = profile.encode_ns() as f64 / 1e6 / iters;
    let submit_ms = profile.host_ns(HostKind::Submit) as f64 / 1e6 / iters;
    let wait_ms = profile.host_ns(HostKind::Wait) as f64 / 1e6 / iters;
    let other_ms = step_ms - encode_ms - submit_ms - wait_ms;
    let dispatches = profile.dispatches.len() as f64 / iters;
    let submits = profile.submissions as f64 / iters;
    let images_per_s = a.batch as f64 / (baseline_ms.unwrap_or(step_ms) / 1e3);
    let kernels = profile.kernels();
    let total_step_ms = step_ms * iters;

    if let Some((path, file)) = trace_file.as_mut() {
        file.write_all(profile.chrome_trace().as_bytes())
            .and_then(|()| file.flush())
            .map_err(|e| user(format!("cannot write trace file {}: {e}", path.display())))?;
        eprintln!(
            "trace: {} ({} GPU events; open in https://ui.perfetto.dev)",
            path.display(),
            profile.dispatches.len()
        );
    }

    if a.json {
        let rows: Vec<serde_json::Value> = kernels
            .iter()
            .map(|k| {
                serde_json::json!({
                    "name": k.name,
                    "calls": k.calls,
                    "total_ms": round(k.total_ms(), 4),
                    "mean_us": round(k.mean_us(), 2),
                    "share": round(k.total_ms() / total_step_ms, 4),
                    "gflops": round(k.gflops(), 3),
                    "gbs": round(k.gbs(), 3),
                    "pct_ceiling": pct_ceiling(k, ceilings).map(|(p, _)| round(p, 1)),
                })
            })
            .collect();
        let out = serde_json::json!({
            "model": a.model,
            "batch": a.batch,
            "train": a.train,
            "iters": a.iters,
            "adapter": device.adapter().name,
            "timing": profile.timing.as_str(),
            "kernels": rows,
            "step_ms": round(step_ms, 3),
            "baseline_step_ms": baseline_ms.map(|v| round(v, 3)),
            "overhead_pct": overhead_pct.map(|v| round(v, 2)),
            "gpu_ms": round(gpu_ms, 3),
            "gpu_span_ms": round(span_ms, 3),
            "encode_ms": round(encode_ms, 3),
            "submit_ms": round(submit_ms, 3),
            "wait_ms": round(wait_ms, 3),
            "host_other_ms": round(other_ms, 3),
            "dispatches_per_step": round(dispatches, 2),
            "submits_per_step": round(submits, 2),
            "images_per_s": round(images_per_s, 2),
            "ceiling_gflops": ceilings.map(|c| round(c.gflops, 2)),
            "ceiling_gbs": ceilings.map(|c| round(c.gbs, 2)),
            "trace": a.trace.as_ref().map(|p| p.display().to_string()),
        });
        println!("{out}");
        return Ok(());
    }

    println!("timing: {timing_note}");
    let width = kernels
        .iter()
        .map(|k| k.name.chars().count())
        .max()
        .unwrap_or(6)
        .clamp(6, 96);
    println!(
        "{:<width$} {:>6} {:>10} {:>10} {:>6} {:>8} {:>8} {:>7}",
        "kernel", "calls", "total ms", "mean us", "share", "GFLOP/s", "GB/s", "%ceil"
    );
    for k in &kernels {
        let name: String = if k.name.chars().count() > width {
            k.name.chars().take(width - 1).chain(['…']).collect()
        } else {
            k.name.clone()
        };
        let pct = match pct_ceiling(k, ceilings) {
            Some((p, which)) => format!("{p:.0}% {which}"),
            None => "-".into(),
        };
        let gflops = if k.flops > 0 {
            format!("{:.2}", k.gflops())
        } else {
            "-".into()
        };
        println!(
            "{name:<width$} {:>6} {:>10.3} {:>10.1} {:>5.1}% {gflops:>8} {:>8.2} {pct:>7}",
            k.calls,
            k.total_ms(),
            k.mean_us(),
            100.0 * k.total_ms() / total_step_ms,
            k.gbs(),
        );
    }
    println!();
    println!(
        "per step (mean of {} profiled): wall {step_ms:.2} ms{}",
        a.iters,
        match (baseline_ms, overhead_pct) {
            (Some(b), Some(o)) =>
                format!(" ({b:.2} ms with the profiler off: overhead {o:+.1}%, fastest steps)"),
            _ => String::new(),
        }
    );
    println!(
        "  GPU kernels  {gpu_ms:>10.2} ms  {:>5.1}%  (summed dispatch times; {dispatches:.0} dispatches, {submits:.1} submits)",
        100.0 * gpu_ms / step_ms
    );
    if profile.timing == Timing::Timestamps {
        println!(
            "  GPU span     {span_ms:>10.2} ms  {:>5.1}%  (first start to last end; gaps between dispatches {:.1} us each)",
            100.0 * span_ms / step_ms,
            1e3 * (span_ms - gpu_ms).max(0.0) / dispatches.max(1.0)
        );
    }
    println!(
        "  host encode  {encode_ms:>10.2} ms  {:>5.1}%  (launch: validation, bind groups, passes)",
        100.0 * encode_ms / step_ms
    );
    println!(
        "  host submit  {submit_ms:>10.2} ms  {:>5.1}%",
        100.0 * submit_ms / step_ms
    );
    println!(
        "  host wait    {wait_ms:>10.2} ms  {:>5.1}%  (sync: the GPU finishing)",
        100.0 * wait_ms / step_ms
    );
    println!(
        "  host other   {other_ms:>10.2} ms  {:>5.1}%  (model code, tape, allocation)",
        100.0 * other_ms / step_ms
    );
    println!(
        "  {:.1} images/s{}",
        images_per_s,
        if baseline_ms.is_some() {
            " (profiler off)"
        } else {
            ""
        }
    );
    if let Some(c) = ceilings {
        println!("  ceilings: {:.1} GFLOP/s (best matmul), {:.1} GB/s (copy); %ceil: F = of FLOP/s, M = of GB/s", c.gflops, c.gbs);
    }
    Ok(())
}
