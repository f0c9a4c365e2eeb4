//! The kernel profiler: every dispatch recorded with a GPU duration, nothing
//! written or recorded while off, and a Chrome trace with one event per dispatch.
//! Each test opens its own device, so other tests' dispatches do not count.

use shadernet_tensor::ops::{elementwise, matmul};
use shadernet_tensor::profile::{HostKind, Profile};
use shadernet_tensor::{Device, ProfileOptions, Tensor, Timing};

use crate::common::own_device;

/// 3 matmuls (64x48 · (40x48)ᵀ) and 5 scalar adds: 8 dispatches.
fn workload(dev: &Device) -> Tensor {
    let a = Tensor::from_f32(dev, &vec![0.25; 64 * 48], &[64, 48]).unwrap();
    let b = Tensor::from_f32(dev, &vec![0.5; 40 * 48], &[40, 48]).unwrap();
    let mut c = a.clone();
    for _ in 0..3 {
        c = matmul::matmul(&a, &b, false, true).unwrap();
    }
    for _ in 0..5 {
        c = elementwise::add_scalar(&c, 1.0).unwrap();
    }
    c
}

fn check_workload(p: &Profile) {
    assert_eq!(p.dispatches.len(), 8, "{:#?}", p.kernels());
    let mm: Vec<_> = p
        .dispatches
        .iter()
        .filter(|d| d.kernel.starts_with("matmul"))
        .collect();
    assert_eq!(mm.len(), 3);
    for d in &mm {
        // `matmul` or `matmul_subgroup`, whichever the adapter runs.
        assert!(
            d.label.starts_with(&format!("{}/{}{{", d.kernel, d.entry))
                && d.label.contains("TRANS_A=0")
                && d.label.contains("TRANS_B=1"),
            "{}",
            d.label
        );
        assert_eq!(d.flops, 2 * 64 * 40 * 48);
        assert_eq!(d.bytes, 4 * (64 * 48 + 40 * 48 + 64 * 40));
    }
    let rows = p.kernels();
    assert_eq!(rows.iter().map(|r| r.calls).sum::<u64>(), 8);
    let mm_row = rows.iter().find(|r| r.name.starts_with("matmul")).unwrap();
    assert_eq!(mm_row.calls, 3);
    for d in &p.dispatches {
        assert!(d.duration_ns() > 0, "zero duration: {d:?}");
        assert!(d.end_ns > d.start_ns);
        assert!(d.bytes > 0, "{d:?}");
        assert!(d.encode_start_ns >= p.start_ns, "{d:?}");
    }
    assert!(p.submissions >= 1);
    assert!(p.host_ns(HostKind::Wait) > 0);
    assert!(p.host_ns(HostKind::Submit) > 0);
}

fn has_timestamps(dev: &Device) -> bool {
    let yes = dev
        .features()
        .contains(shadernet_tensor::wgpu::Features::TIMESTAMP_QUERY);
    if !yes {
        eprintln!("adapter has no timestamp queries: timestamp test skipped");
    }
    yes
}

/// Profiles the workload with `timing` and checks what every timestamp mode
/// promises; returns the profile.
fn profile_with(dev: &Device, timing: Timing) -> Profile {
    let before = dev.counters();
    assert_eq!(
        dev.start_profiling_with(ProfileOptions {
            timing: Some(timing)
        }),
        timing
    );
    assert!(dev.is_profiling());
    let out = workload(dev).to_vec_f32().unwrap();
    let p = dev.stop_profiling().unwrap();
    let delta = dev.counters() - before;
    assert!(!dev.is_profiling());
    assert_eq!(out[0], 48.0 * 0.125 + 5.0);
    assert_eq!(p.timing, timing);
    assert_eq!(delta.dispatches, 8);
    assert_eq!(delta.timestamp_queries, p.queries);
    check_workload(&p);
    // GPU times are aligned to the host clock: inside the profiled window,
    // and in order within the one stream of work.
    for d in &p.dispatches {
        assert!(
            d.start_ns >= p.start_ns && d.end_ns <= p.end_ns,
            "{d:?} outside {}..{}",
            p.start_ns,
            p.end_ns
        );
    }
    for w in p.dispatches.windows(2) {
        assert!(
            w[1].start_ns >= w[0].end_ns,
            "{:?} overlaps {:?}",
            w[1],
            w[0]
        );
    }
    p
}

#[test]
#[cfg_attr(skip_gpu_tests, ignore)]
fn profile_timestamps_record_every_dispatch() {
    let dev = own_device();
    // Warm-up: pipelines compiled, shaders JIT-compiled.
    workload(&dev).to_vec_f32().unwrap();
    if !has_timestamps(&dev) {
        return;
    }
    let p = profile_with(&dev, Timing::Timestamps);
    assert_eq!(p.queries, 16, "a begin and an end query per dispatch");
}

#[test]
#[cfg_attr(skip_gpu_tests, ignore)]
fn profile_end_timestamps_chain_dispatches() {
    let dev = own_device();
    workload(&dev).to_vec_f32().unwrap();
    if !has_timestamps(&dev) {
        return;
    }
    let p = profile_with(&dev, Timing::EndTimestamps);
    // One end query per dispatch and one begin query per submission with dispatches.
    let mut subs: Vec<u64> = p.dispatches.iter().map(|d| d.submission).collect();
    subs.dedup();
    assert_eq!(p.queries, 8 + subs.len() as u64);
    // Within a submission, each dispatch starts where the previous one ended.
    for w in p.dispatches.windows(2) {
        if w[0].submission == w[1].submission {
            assert_eq!(w[1].start_ns, w[0].end_ns);
        }
    }
    assert_eq!(p.gpu_span_ns(), p.gpu_busy_ns());
}

#[test]
#[cfg_attr(skip_gpu_tests, ignore)]
fn profile_default_timing_fits_the_adapter() {
    let dev = own_device();
    let want = if !dev
        .features()
        .contains(shadernet_tensor::wgpu::Features::TIMESTAMP_QUERY)
    {
        Timing::WallClock
    } else if dev.adapter().device_type == "Cpu" {
        Timing::EndTimestamps
    } else {
        Timing::Timestamps
    };
    assert_eq!(dev.start_profiling(), want);
    // Starting again keeps the running profiler.
    assert_eq!(
        dev.start_profiling_with(ProfileOptions {
            timing: Some(Timing::WallClock)
        }),
        want
    );
    assert!(dev.stop_profiling().unwrap().dispatches.is_empty());
}

#[test]
#[cfg_attr(skip_gpu_tests, ignore)]
fn profile_many_dispatches_in_one_batch_span_query_sets() {
    // More than 2048 dispatches in one batch: more than one query set (4096
    // queries each) resolved at the same submit.
    let dev = own_device();
    let x = Tensor::from_f32(&dev, &[1.0; 64], &[64]).unwrap();
    elementwise::add_scalar(&x, 1.0)
        .unwrap()
        .to_vec_f32()
        .unwrap();
    if !dev
        .features()
        .contains(shadernet_tensor::wgpu::Features::TIMESTAMP_QUERY)
    {
        return;
    }
    let n = 2500;
    for (timing, per_dispatch) in [(Timing::Timestamps, 2), (Timing::EndTimestamps, 1)] {
        dev.start_profiling_with(ProfileOptions {
            timing: Some(timing),
        });
        let mut y = x.clone();
        for _ in 0..n {
            y = elementwise::add_scalar(&y, 1.0).unwrap();
        }
        assert_eq!(y.to_vec_f32().unwrap()[63], 1.0 + n as f32);
        let p = dev.stop_profiling().unwrap();
        assert_eq!(p.dispatches.len(), n);
        let begins = if timing == Timing::EndTimestamps {
            p.submissions.min(n as u64)
        } else {
            0
        };
        assert!(
            p.queries >= per_dispatch * n as u64 && p.queries <= per_dispatch * n as u64 + begins,
            "{timing:?}: {} queries",
            p.queries
        );
        let zero = p.dispatches.iter().filter(|d| d.duration_ns() == 0).count();
        assert_eq!(
            zero, 0,
            "{timing:?}: {zero} of {n} dispatches have no duration"
        );
        let rows = p.kernels();
        assert_eq!(rows.len(), 1, "{rows:?}");
        assert_eq!(rows[0].calls, n as u64);
    }
}

#[test]
#[cfg_attr(skip_gpu_tests, ignore)]
fn profile_disabled_writes_no_query_and_records_nothing() {
    let dev = own_device();
    workload(&dev).to_vec_f32().unwrap();
    let before = dev.counters();
    workload(&dev).to_vec_f32().unwrap();
    let delta = dev.counters() - before;
    assert_eq!(delta.dispatches, 8);
    assert_eq!(delta.timestamp_queries, 0);
    assert!(!dev.is_profiling());
    // Stopping a profiler that never started: an empty profile.
    let p = dev.stop_profiling().unwrap();
    assert_eq!(p.timing, Timing::Off);
    assert!(p.dispatches.is_empty() && p.host.is_empty() && p.queries == 0);
    // After a start/stop cycle it is off again: no queries, nothing recorded.
    dev.start_profiling();
    workload(&dev).to_vec_f32().unwrap();
    let first = dev.stop_profiling().unwrap();
    assert_eq!(first.dispatches.len(), 8);
    let before = dev.counters();
    workload(&dev).to_vec_f32().unwrap();
    let delta = dev.counters() - before;
    assert_eq!(delta.timestamp_queries, 0);
    let p = dev.stop_profiling().unwrap();
    assert!(p.dispatches.is_empty());
}

#[test]
#[cfg_attr(skip_gpu_tests, ignore)]
fn profile_wall_clock_fallback_times_every_dispatch() {
    let dev = own_device();
    workload(&dev).to_vec_f32().unwrap();
    let before = dev.counters();
    let timing = dev.start_profiling_with(ProfileOptions {
        timing: Some(Timing::WallClock),
    });
    assert_eq!(timing, Timing::WallClock);
    workload(&dev).to_vec_f32().unwrap();
    let p = dev.stop_profiling().unwrap();
    let delta = dev.counters() - before;
    assert_eq!(p.timing, Timing::WallClock);
    assert_eq!(delta.timestamp_queries, 0);
    assert_eq!(p.queries, 0);
    check_workload(&p);
    // Each dispatch is its own submission.
    assert!(p.submissions >= 8, "{}", p.submissions);
}

#[test]
#[cfg_attr(skip_gpu_tests, ignore)]
fn profile_variant_label_names_dispatches() {
    let dev = own_device();
    let x = Tensor::from_f32(&dev, &[1.0; 64], &[64]).unwrap();
    elementwise::add_scalar(&x, 1.0)
        .unwrap()
        .to_vec_f32()
        .unwrap();
    dev.start_profiling();
    {
        let _outer = dev.variant_label("outer");
        elementwise::add_scalar(&x, 1.0).unwrap();
        {
            let _inner = dev.variant_label(format!("inner {}", 2));
            elementwise::add_scalar(&x, 1.0).unwrap();
        }
        elementwise::add_scalar(&x, 1.0).unwrap();
    }
    elementwise::add_scalar(&x, 1.0).unwrap();
    let p = dev.stop_profiling().unwrap();
    let labels: Vec<&str> = p.dispatches.iter().map(|d| d.label.as_str()).collect();
    assert_eq!(labels[..3], ["outer", "inner 2", "outer"]);
    assert!(labels[3].starts_with("unary/"), "{labels:?}");
}

#[test]
#[cfg_attr(skip_gpu_tests, ignore)]
fn profile_trace_has_one_x_event_per_dispatch() {
    let dev = own_device();
    workload(&dev).to_vec_f32().unwrap();
    dev.start_profiling();
    let t0 = shadernet_tensor::profile::now_ns();
    workload(&dev).to_vec_f32().unwrap();
    dev.sync().unwrap();
    let t1 = shadernet_tensor::profile::now_ns();
    let mut p = dev.stop_profiling().unwrap();
    p.push_mark("step 0", t0, t1);
    // A second profile merged in: one trace of both.
    dev.start_profiling();
    workload(&dev).to_vec_f32().unwrap();
    p.merge(dev.stop_profiling().unwrap());
    assert_eq!(p.dispatches.len(), 16);

    let path = std::env::temp_dir().join(format!("shadernet-trace-{}.json", std::process::id()));
    p.write_chrome_trace(&path).unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    let _ = std::fs::remove_file(&path);
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    let events = v["traceEvents"].as_array().unwrap();
    let x = |tid: u64| {
        events
            .iter()
            .filter(|e| e["ph"] == "X" && e["tid"] == tid)
            .collect::<Vec<_>>()
    };
    let gpu = x(1);
    assert_eq!(gpu.len(), p.dispatches.len());
    assert_eq!(
        gpu.iter()
            .filter(|e| e["args"]["kernel"]
                .as_str()
                .is_some_and(|k| k.starts_with("matmul")))
            .count(),
        6
    );
    for e in &gpu {
        assert!(e["ts"].as_f64().unwrap() >= 0.0);
        assert!(e["dur"].as_f64().unwrap() > 0.0, "{e}");
        assert!(e["args"]["bytes"].as_u64().unwrap() > 0);
    }
    let host = x(2);
    let count = |cat: &str| host.iter().filter(|e| e["cat"] == cat).count();
    assert_eq!(count("host"), 16, "one encode span per dispatch");
    assert!(count("submit") >= 2);
    assert!(count("wait") >= 2);
    assert_eq!(count("mark"), 1);
    // Thread names for Perfetto.
    assert!(events.iter().any(|e| e["ph"] == "M"
        && e["args"]["name"]
            .as_str()
            .is_some_and(|n| n.starts_with("GPU queue"))));
}

/// Measurement, not a check: the cost of timestamp queries on a chain of
/// small dispatches (the worst case: per-dispatch overhead dominates), with
/// the profiler off, in `Timestamps` and in `EndTimestamps` mode, in turn.
/// Run with
/// `cargo test --release -p shadernet-tensor --test gpu profile_overhead -- --ignored --nocapture`
/// (`PROFILE_OVERHEAD_REPS=N`, default 20; `PROFILE_OVERHEAD_QUICK=1`: the
/// small chain only).
#[test]
#[ignore]
fn profile_overhead_measurement() {
    let dev = own_device();
    let reps: usize = std::env::var("PROFILE_OVERHEAD_REPS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20);
    let quick = std::env::var_os("PROFILE_OVERHEAD_QUICK").is_some();
    let cases: &[(usize, usize)] = if quick {
        &[(4096, 200)]
    } else {
        &[(4096, 200), (1 << 20, 50)]
    };
    let modes = [None, Some(Timing::Timestamps), Some(Timing::EndTimestamps)];
    for &(numel, chain) in cases {
        let x = Tensor::from_f32(&dev, &vec![1.0; numel], &[numel]).unwrap();
        // Returns (total, host recording) in ms.
        let run = || {
            let t = std::time::Instant::now();
            let mut y = x.clone();
            for _ in 0..chain {
                y = elementwise::add_scalar(&y, 1.0).unwrap();
            }
            let host = t.elapsed().as_secs_f64() * 1e3;
            dev.sync().unwrap();
            (t.elapsed().as_secs_f64() * 1e3, host)
        };
        let mut times = vec![(Vec::new(), Vec::new()); modes.len()];
        // A different order each rep (the machine's load drifts), and paired
        // differences against the "off" run of the same rep.
        let mut seed = 0x2545_F491_4F6C_DD1Du64;
        for rep in 0..=reps {
            let mut order = [0usize, 1, 2];
            for k in (1..order.len()).rev() {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                order.swap(k, (seed % (k as u64 + 1)) as usize);
            }
            for &m in &order {
                if let Some(t) = modes[m] {
                    dev.start_profiling_with(ProfileOptions { timing: Some(t) });
                }
                let (t, h) = run();
                dev.stop_profiling().unwrap();
                if rep > 0 {
                    times[m].0.push(t);
                    times[m].1.push(h);
                }
            }
        }
        let median = |v: &[f64]| {
            let mut v = v.to_vec();
            v.sort_by(f64::total_cmp);
            v[v.len() / 2]
        };
        let min = |v: &[f64]| v.iter().copied().fold(f64::INFINITY, f64::min);
        let (off, off_host) = (&times[0].0, &times[0].1);
        println!(
            "{chain} x add_scalar({numel}), {reps} reps: off min {:.3} ms, median {:.3} ms",
            min(off),
            median(off)
        );
        for (m, mode) in modes.iter().enumerate().skip(1) {
            let (on, on_host) = (&times[m].0, &times[m].1);
            let diff: Vec<f64> = on.iter().zip(off).map(|(a, b)| a - b).collect();
            let host: Vec<f64> = on_host.iter().zip(off_host).map(|(a, b)| a - b).collect();
            println!(
                "  {:?}: min {:.3} ms, median {:.3} ms; paired difference median {:+.3} ms ({:+.1}% of the off median, {:+.1} us/dispatch); host recording {:+.2} us/dispatch",
                mode.unwrap_or(Timing::Off),
                min(on),
                median(on),
                median(&diff),
                100.0 * median(&diff) / median(off),
                1e3 * median(&diff) / chain as f64,
                1e3 * median(&host) / chain as f64,
            );
        }
    }
}
