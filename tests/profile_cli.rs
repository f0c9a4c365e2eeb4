//! `shadernet profile`: the JSON summary, the Chrome trace, and the exit code
//! of bad arguments. Runs the release or debug binary cargo built for tests.

use std::process::Command;

fn profile() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_shadernet"));
    c.arg("profile");
    if let Ok(d) = std::env::var("SHADERNET_DEVICE") {
        c.args(["--device", &d]);
    }
    c
}

#[test]
#[cfg_attr(skip_gpu_tests, ignore)]
fn profile_json_lenet5_and_trace() {
    let trace =
        std::env::temp_dir().join(format!("shadernet-profile-cli-{}.json", std::process::id()));
    let out = profile()
        .args([
            "--model",
            "lenet5",
            "--batch",
            "4",
            "--iters",
            "2",
            "--json",
            "--no-calibrate",
            "--trace",
        ])
        .arg(&trace)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "stdout:\n{stdout}\nstderr:\n{stderr}");
    let last = stdout.lines().last().unwrap_or_default();
    let v: serde_json::Value = serde_json::from_str(last).unwrap_or_else(|e| panic!("{e}: {last}"));
    let kernels = v["kernels"].as_array().unwrap();
    assert!(!kernels.is_empty());
    for k in kernels {
        for key in ["name", "calls", "total_ms", "mean_us", "gflops", "gbs"] {
            assert!(!k[key].is_null(), "{key} missing in {k}");
        }
        assert!(k["calls"].as_u64().unwrap() >= 2, "{k}");
        assert!(k["total_ms"].as_f64().unwrap() > 0.0, "{k}");
    }
    // Sorted by total time, the convolutions and matmuls have FLOPs.
    let totals: Vec<f64> = kernels
        .iter()
        .map(|k| k["total_ms"].as_f64().unwrap())
        .collect();
    assert!(totals.windows(2).all(|w| w[0] >= w[1]), "{totals:?}");
    assert!(kernels
        .iter()
        .any(|k| k["name"].as_str().unwrap().starts_with("matmul")
            && k["gflops"].as_f64().unwrap() > 0.0));
    let calls: u64 = kernels.iter().map(|k| k["calls"].as_u64().unwrap()).sum();
    let step_ms = v["step_ms"].as_f64().unwrap();
    let gpu_ms = v["gpu_ms"].as_f64().unwrap();
    assert!(step_ms > 0.0 && gpu_ms > 0.0, "{v}");
    assert_eq!(
        calls as f64,
        2.0 * v["dispatches_per_step"].as_f64().unwrap()
    );

    let text = std::fs::read_to_string(&trace).unwrap();
    let _ = std::fs::remove_file(&trace);
    let t: serde_json::Value = serde_json::from_str(&text).unwrap();
    let gpu_events = t["traceEvents"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["ph"] == "X" && e["tid"] == 1)
        .count() as u64;
    assert_eq!(gpu_events, calls);
}

#[test]
#[cfg_attr(skip_gpu_tests, ignore)]
fn profile_bad_arguments_exit_2() {
    for args in [
        vec!["--model", "no_such_model", "--batch", "4"],
        vec!["--model", "lenet5", "--batch", "0"],
        vec!["--model", "lenet5", "--batch", "4", "--iters", "0"],
        vec![
            "--model",
            "lenet5",
            "--batch",
            "4",
            "--trace",
            "/nonexistent-dir/x/trace.json",
        ],
    ] {
        let out = profile().args(&args).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.starts_with("error: "), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
    }
    // The subcommand is listed.
    let out = Command::new(env!("CARGO_BIN_EXE_shadernet"))
        .arg("--help")
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("profile"));
}
