//! Integration tests of the `shadernet` binary's `train`, `eval`, `infer` and `info`
//! on tiny data sets the tests write themselves (a 40-image tensors file, a
//! 20 + 8 image CIFAR-10 directory), LeNet-5 at batch 8 for a few steps.
//!
//! Needs a GPU adapter (lavapipe does); `RUSTFLAGS="--cfg skip_gpu_tests"`
//! marks the tests that start the GPU as ignored.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use serde_json::Value;
use shadernet::nn::state_dict::{HostTensor, StateDict};

// ---------------------------------------------------------------- helpers

struct Out {
    code: i32,
    stdout: String,
    stderr: String,
}

fn shadernet(args: &[&str]) -> Out {
    let out = Command::new(env!("CARGO_BIN_EXE_shadernet"))
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("the shadernet binary runs");
    Out {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Runs and expects success; returns the output.
fn ok(args: &[&str]) -> Out {
    let out = shadernet(args);
    assert_eq!(
        out.code, 0,
        "shadernet {args:?} failed\nstdout:\n{}\nstderr:\n{}",
        out.stdout, out.stderr
    );
    out
}

/// The JSON object on the last line of stdout.
fn last_json(out: &Out) -> Value {
    let line = out.stdout.lines().last().unwrap_or("");
    serde_json::from_str(line).unwrap_or_else(|e| {
        panic!(
            "last line is not JSON ({e}): {line:?}\nstdout:\n{}",
            out.stdout
        )
    })
}

fn s(p: &Path) -> &str {
    p.to_str().expect("UTF-8 temp path")
}

fn losses(v: &Value) -> Vec<f32> {
    v["losses"]
        .as_array()
        .expect("losses array")
        .iter()
        .map(|x| x.as_f64().expect("a number") as f32)
        .collect()
}

/// A tiny deterministic generator (no dependency).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> f32 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((self.0 >> 40) as f32) / (1u64 << 24) as f32
    }
}

/// `n` learnable images [n, c, h, w]: noise plus a bright square whose place
/// depends on the label (labels cycle through 0..10).
fn images(n: usize, c: usize, h: usize, w: usize, seed: u64) -> (Vec<f32>, Vec<u32>) {
    let mut rng = Lcg(seed);
    let mut x = Vec::with_capacity(n * c * h * w);
    let mut y = Vec::with_capacity(n);
    for i in 0..n {
        let label = (i % 10) as u32;
        let (cy, cx) = (
            (label as usize / 5) * h / 2 + h / 8,
            (label as usize % 5) * w / 5,
        );
        for _ in 0..c {
            for r in 0..h {
                for q in 0..w {
                    let inside = r >= cy && r < cy + h / 4 && q >= cx && q < cx + w / 5;
                    x.push(0.3 * rng.next() + if inside { 1.0 } else { 0.0 });
                }
            }
        }
        y.push(label);
    }
    (x, y)
}

/// A `--dataset tensors` file of `n` 1×28×28 images (already normalized).
fn write_tensors(path: &Path, n: usize, labels: usize) {
    let (x, y) = images(n, 1, 28, 28, 7);
    let mut sd = StateDict::new();
    sd.insert(
        "images",
        HostTensor::f32(vec![n, 1, 28, 28], x.iter().map(|v| v - 0.5).collect()),
    );
    sd.insert(
        "labels",
        HostTensor::i64(
            vec![labels],
            y.iter()
                .take(labels)
                .map(|&l| i64::from(l))
                .chain(std::iter::repeat(0))
                .take(labels)
                .collect(),
        ),
    );
    sd.save(path).expect("writing the tensors file");
}

/// A CIFAR-10 binary directory: 5 training files of `per_file` images and a
/// test file of `test` images.
fn write_cifar(dir: &Path, per_file: usize, test: usize) {
    std::fs::create_dir_all(dir).expect("mkdir");
    let record = |x: &[f32], label: u32| {
        let mut r = vec![label as u8];
        r.extend(x.iter().map(|v| (v * 200.0).clamp(0.0, 255.0) as u8));
        r
    };
    let (x, y) = images(5 * per_file + test, 3, 32, 32, 11);
    let img = 3 * 32 * 32;
    for f in 0..6 {
        let (name, range) = if f < 5 {
            (
                format!("data_batch_{}.bin", f + 1),
                f * per_file..(f + 1) * per_file,
            )
        } else {
            (
                "test_batch.bin".to_string(),
                5 * per_file..5 * per_file + test,
            )
        };
        let bytes: Vec<u8> = range
            .flat_map(|i| record(&x[i * img..(i + 1) * img], y[i]))
            .collect();
        std::fs::write(dir.join(name), bytes).expect("write cifar file");
    }
}

fn tensors_file() -> &'static Path {
    static FILE: OnceLock<(tempfile::TempDir, PathBuf)> = OnceLock::new();
    &FILE
        .get_or_init(|| {
            let dir = tempfile::tempdir().expect("tempdir");
            let p = dir.path().join("tiny.safetensors");
            write_tensors(&p, 40, 40);
            (dir, p)
        })
        .1
}

/// Common arguments: LeNet-5 on the 40-image tensors file, batch 8.
fn tiny_train<'a>(extra: &[&'a str]) -> Vec<&'a str> {
    let mut v = vec![
        "train",
        "--model",
        "lenet5",
        "--dataset",
        "tensors",
        "--data",
        s(tensors_file()),
        "--batch",
        "8",
        "--weight-decay",
        "0",
    ];
    v.extend_from_slice(extra);
    v
}

// ---------------------------------------------------------------- train

#[test]
#[cfg_attr(skip_gpu_tests, ignore)]
fn train_json_losses_on_tensors_file() {
    let out = ok(&tiny_train(&[
        "--steps",
        "4",
        "--lr",
        "0.05",
        "--schedule",
        "none",
        "--json",
    ]));
    assert_eq!(
        out.stdout.lines().count(),
        1,
        "--json prints only the summary:\n{}",
        out.stdout
    );
    let v = last_json(&out);
    assert_eq!(v["steps"], 4);
    let l = losses(&v);
    assert_eq!(l.len(), 4);
    assert!(l.iter().all(|x| x.is_finite() && *x > 0.0), "{l:?}");
    // Ten balanced classes: the first loss is near ln(10).
    assert!((l[0] - 10f32.ln()).abs() < 0.5, "first loss {}", l[0]);
    assert!(
        v["test_accuracy"].is_null(),
        "a tensors file has no test split: {v}"
    );
    assert!(v["train_accuracy"]
        .as_f64()
        .is_some_and(|a| (0.0..=1.0).contains(&a)));
}

/// Runs the tiny training `steps` steps, resuming from `resume` when given,
/// checkpointing to `ckpt`; returns the JSON summary.
fn resumable(
    opt: &[&str],
    steps: &str,
    ckpt: &Path,
    resume: Option<&Path>,
    metrics: &Path,
) -> Value {
    let mut args = tiny_train(opt);
    args.extend_from_slice(&["--metrics", s(metrics)]);
    args.extend_from_slice(&[
        "--steps",
        steps,
        "--schedule",
        "none",
        "--checkpoint",
        s(ckpt),
        "--json",
    ]);
    if let Some(r) = resume {
        args.extend_from_slice(&["--resume", s(r)]);
    }
    last_json(&ok(&args))
}

fn model_and_optimizer_tensors(p: &Path) -> StateDict {
    let sd = StateDict::load(p).expect("checkpoint loads");
    sd.into_iter()
        .filter(|(k, _)| !k.starts_with("shadernet."))
        .collect()
}

#[test]
#[cfg_attr(skip_gpu_tests, ignore)]
fn resume_gives_the_same_losses() {
    let dir = tempfile::tempdir().expect("tempdir");
    for (name, opt) in [
        (
            "sgd",
            &["--optimizer", "sgd", "--lr", "0.05", "--momentum", "0.9"][..],
        ),
        ("adamw", &["--optimizer", "adamw", "--lr", "0.002"][..]),
    ] {
        let full_ckpt = dir.path().join(format!("{name}-full.ckpt"));
        let part_ckpt = dir.path().join(format!("{name}-part.ckpt"));
        let resumed_ckpt = dir.path().join(format!("{name}-resumed.ckpt"));
        // 40 images, batch 8: 5 steps an epoch; 3 + 4 steps cross the epoch boundary.
        let full_metrics = dir.path().join(format!("{name}-full.jsonl"));
        let metrics = dir.path().join(format!("{name}.jsonl"));
        let full = resumable(opt, "7", &full_ckpt, None, &full_metrics);
        let part = resumable(opt, "3", &part_ckpt, None, &metrics);
        // What an interrupted run may leave after its last checkpoint.
        let mut text = std::fs::read_to_string(&metrics).expect("metrics");
        text.push_str("{\"type\":\"step\",\"epoch\":0,\"step\":4,\"loss\":9.0}\n{\"type\":\"st");
        std::fs::write(&metrics, text).expect("write");
        let resumed = resumable(opt, "7", &resumed_ckpt, Some(&part_ckpt), &metrics);
        let (lf, lp, lr) = (losses(&full), losses(&part), losses(&resumed));
        assert_eq!(lf.len(), 7);
        assert_eq!(lp[..], lf[..3], "{name}: the first 3 steps differ");
        assert_eq!(
            lr, lf,
            "{name}: resumed losses differ from the uninterrupted run's"
        );
        assert_eq!(resumed["resumed_from_step"], 3);

        // The mid-epoch checkpoint records its position and the optimizer state.
        let sd = StateDict::load(&part_ckpt).expect("checkpoint loads");
        assert_eq!(sd.get_metadata("format"), Some("shadernet-checkpoint"));
        assert_eq!(sd.get_metadata("step"), Some("3"));
        assert_eq!(sd.get_metadata("epoch"), Some("0"));
        assert_eq!(sd.get_metadata("batch_in_epoch"), Some("3"));
        assert_eq!(sd.get_metadata("seed"), Some("0"));
        assert_eq!(sd.get_metadata("model"), Some("lenet5"));
        let buffer = if name == "sgd" {
            "optimizer.state.conv1.weight.momentum_buffer"
        } else {
            "optimizer.state.conv1.weight.exp_avg_sq"
        };
        assert_eq!(
            sd.get(buffer).map(|t| t.shape.clone()),
            Some(vec![6, 1, 5, 5]),
            "{name}: no {buffer}"
        );

        // Both runs end in bit-identical weights and optimizer state.
        let (a, b) = (
            model_and_optimizer_tensors(&full_ckpt),
            model_and_optimizer_tensors(&resumed_ckpt),
        );
        assert_eq!(a.keys().collect::<Vec<_>>(), b.keys().collect::<Vec<_>>());
        for (k, t) in a.iter() {
            assert_eq!(Some(t), b.get(k), "{name}: `{k}` differs after resume");
        }
        // The resumed metrics file reads as the uninterrupted run's.
        let records = |p: &Path| -> Vec<(String, u64, Option<bool>, Option<f64>)> {
            metrics_records(p)
                .iter()
                .filter(|r| r["type"] != "config")
                .map(|r| {
                    let kind = r["type"].as_str().unwrap_or("").to_string();
                    let loss = r["loss"].as_f64().or(r["train_loss"].as_f64());
                    (
                        kind,
                        r["step"].as_u64().unwrap_or(0),
                        r["complete"].as_bool(),
                        loss,
                    )
                })
                .collect()
        };
        let (a, b) = (records(&full_metrics), records(&metrics));
        assert_eq!(a.len(), 7 + 2, "{a:?}");
        assert_eq!(a, b, "{name}: metrics of the resumed run differ");
        let end = StateDict::load(&resumed_ckpt).expect("loads");
        assert_eq!(end.get_metadata("epoch"), Some("1"));
        assert_eq!(end.get_metadata("batch_in_epoch"), Some("2"));
    }
}

/// Whether `p` holds a complete, loadable checkpoint; its step.
fn checkpoint_step(p: &Path) -> Option<usize> {
    let sd = StateDict::load(p).unwrap_or_else(|e| panic!("{} is corrupt: {e}", p.display()));
    assert!(sd.get("conv1.weight").is_some(), "checkpoint lacks weights");
    sd.get_metadata("step").and_then(|v| v.parse().ok())
}

#[test]
#[cfg_attr(skip_gpu_tests, ignore)]
fn checkpoint_survives_kill() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ckpt = dir.path().join("run.ckpt");
    let log = dir.path().join("stderr.txt");
    let mut last = 0;
    for round in 0..3u64 {
        let mut args = tiny_train(&[
            "--steps",
            "1000000",
            "--lr",
            "0.01",
            "--schedule",
            "none",
            "--checkpoint-every",
            "1",
            "--checkpoint",
        ]);
        args.push(s(&ckpt));
        if ckpt.exists() {
            args.extend_from_slice(&["--resume", s(&ckpt)]);
        }
        let mut child = Command::new(env!("CARGO_BIN_EXE_shadernet"))
            .args(&args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).expect("log file"))
            .spawn()
            .expect("spawn");
        // Read the checkpoint while the child rewrites it every step: every
        // read sees a whole file.
        let start = Instant::now();
        let mut seen = Vec::new();
        while start.elapsed() < Duration::from_secs(300) {
            if let Some(status) = child.try_wait().expect("try_wait") {
                panic!(
                    "round {round}: training exited early ({status}):\n{}",
                    std::fs::read_to_string(&log).unwrap_or_default()
                );
            }
            if ckpt.exists() {
                if let Some(step) = checkpoint_step(&ckpt) {
                    if seen.last() != Some(&step) {
                        seen.push(step);
                    }
                }
            }
            if seen.iter().filter(|&&s| s > last).count() >= 3 {
                break;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        assert!(
            seen.iter().any(|&s| s > last),
            "round {round}: no new checkpoint within 300 s"
        );
        // Kill at a different moment of the save cycle each round.
        std::thread::sleep(Duration::from_millis(7 * round + 3));
        child.kill().expect("kill");
        child.wait().expect("wait");
        let step = checkpoint_step(&ckpt).expect("a step in the metadata");
        assert!(step > last, "round {round}: step {step} after {last}");
        last = step;
    }
    // The surviving checkpoint resumes: two more steps, with its losses kept.
    let sd = StateDict::load(&ckpt).expect("loads");
    let before = sd
        .get("shadernet.step_losses")
        .map(|t| t.to_f32_vec())
        .unwrap_or_default();
    assert_eq!(before.len(), last);
    let target = (last + 2).to_string();
    let v = last_json(&ok(&tiny_train(&[
        "--steps",
        &target,
        "--lr",
        "0.01",
        "--schedule",
        "none",
        "--resume",
        s(&ckpt),
        "--json",
    ])));
    let l = losses(&v);
    assert_eq!(l.len(), last + 2);
    assert_eq!(l[..last], before[..]);
}

// ------------------------------------------------- a CIFAR-10 run, shared

struct CifarRun {
    _dir: tempfile::TempDir,
    data: PathBuf,
    weights: PathBuf,
    ckpt: PathBuf,
    metrics: PathBuf,
    plot: PathBuf,
    root: PathBuf,
    out: Out,
}

/// LeNet-5 on a 20 + 8 image CIFAR-10 directory: 2 epochs of 3 steps, cosine
/// with one warm-up epoch, metrics, plot, saved weights. Run once.
fn cifar_run() -> &'static CifarRun {
    static RUN: OnceLock<CifarRun> = OnceLock::new();
    RUN.get_or_init(|| {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path().to_path_buf();
        let data = root.join("cifar");
        write_cifar(&data, 4, 8);
        let (weights, metrics, plot) = (
            root.join("w.safetensors"),
            root.join("m.jsonl"),
            root.join("p.png"),
        );
        let out = ok(&[
            "train",
            "--model",
            "lenet5",
            "--dataset",
            "cifar10",
            "--data",
            s(&data),
            "--epochs",
            "2",
            "--batch",
            "8",
            "--lr",
            "0.01",
            "--warmup-epochs",
            "1",
            "--log-every",
            "2",
            "--save",
            s(&weights),
            "--metrics",
            s(&metrics),
            "--plot",
            s(&plot),
        ]);
        CifarRun {
            ckpt: root.join("w.ckpt"),
            _dir: dir,
            data,
            weights,
            metrics,
            plot,
            root,
            out,
        }
    })
}

fn metrics_records(p: &Path) -> Vec<Value> {
    std::fs::read_to_string(p)
        .expect("metrics file")
        .lines()
        .map(|l| {
            serde_json::from_str(l)
                .unwrap_or_else(|e| panic!("metrics line is not JSON ({e}): {l}"))
        })
        .collect()
}

#[test]
#[cfg_attr(skip_gpu_tests, ignore)]
fn metrics_file_has_step_and_epoch_records() {
    let run = cifar_run();
    let recs = metrics_records(&run.metrics);
    assert_eq!(recs[0]["type"], "config");
    assert_eq!(recs[0]["model"], "lenet5");
    assert_eq!(recs[0]["steps_per_epoch"], 3);
    let steps: Vec<&Value> = recs.iter().filter(|r| r["type"] == "step").collect();
    let numbers: Vec<u64> = steps
        .iter()
        .map(|r| r["step"].as_u64().expect("step"))
        .collect();
    assert_eq!(numbers, vec![1, 2, 3, 4, 5, 6]);
    assert!(steps
        .iter()
        .all(|r| r["loss"].as_f64().is_some_and(f64::is_finite)));
    // Linear warm-up over the first epoch (3 steps) to lr 0.01.
    let lr0 = steps[0]["lr"].as_f64().expect("lr");
    assert!((lr0 - 0.01 / 3.0).abs() < 1e-9, "warm-up lr {lr0}");
    assert!((steps[2]["lr"].as_f64().expect("lr") - 0.01).abs() < 1e-9);
    let epochs: Vec<&Value> = recs.iter().filter(|r| r["type"] == "epoch").collect();
    assert_eq!(epochs.len(), 2);
    for (i, e) in epochs.iter().enumerate() {
        assert_eq!(e["epoch"], i);
        assert_eq!(e["step"], 3 * (i + 1));
        assert_eq!(e["complete"], true);
        assert_eq!(e["test_images"], 8);
        for k in [
            "train_loss",
            "train_accuracy",
            "test_loss",
            "test_accuracy",
            "images_per_s",
            "data_wait_s",
            "elapsed_s",
        ] {
            assert!(
                e[k].as_f64().is_some_and(f64::is_finite),
                "epoch record lacks {k}: {e}"
            );
        }
    }
    // Plain log lines when stdout is not a terminal.
    let text = &run.out.stdout;
    assert!(
        text.contains("epoch 1/2 done") && text.contains("epoch 2/2 done"),
        "{text}"
    );
    assert!(text.contains("step 2/3 loss"), "{text}");
}

#[test]
#[cfg_attr(skip_gpu_tests, ignore)]
fn plot_is_a_valid_png() {
    let run = cifar_run();
    let bytes = std::fs::read(&run.plot).expect("plot written");
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
    let img = image::load_from_memory_with_format(&bytes, image::ImageFormat::Png)
        .expect("decodes")
        .to_rgb8();
    assert_eq!(img.dimensions(), (1200, 480));
    let drawn = img.pixels().filter(|p| p.0 != [255, 255, 255]).count();
    assert!(drawn > 5000, "only {drawn} non-white pixels");
    // Both series colours (train blue, test orange) are there.
    assert!(img.pixels().any(|p| p.0 == [31, 119, 180]));
    assert!(img.pixels().any(|p| p.0 == [255, 127, 14]));
}

#[test]
#[cfg_attr(skip_gpu_tests, ignore)]
fn eval_json_matches_training() {
    let run = cifar_run();
    let last_epoch = metrics_records(&run.metrics)
        .into_iter()
        .rfind(|r| r["type"] == "epoch")
        .expect("epoch record");
    for weights in [&run.weights, &run.ckpt] {
        let v = last_json(&ok(&[
            "eval",
            "--model",
            "lenet5",
            "--weights",
            s(weights),
            "--dataset",
            "cifar10",
            "--data",
            s(&run.data),
            "--json",
        ]));
        assert_eq!(v["images"], 8);
        assert_eq!(
            v["accuracy"], last_epoch["test_accuracy"],
            "{v} vs {last_epoch}"
        );
        let (a, b) = (
            v["loss"].as_f64().expect("loss"),
            last_epoch["test_loss"].as_f64().expect("loss"),
        );
        assert!(
            (a - b).abs() < 1e-4,
            "eval loss {a}, training's test loss {b}"
        );
    }
}

#[test]
#[cfg_attr(skip_gpu_tests, ignore)]
fn infer_on_png_and_jpeg() {
    let run = cifar_run();
    let png = run.root.join("square.png");
    let jpg = run.root.join("wide.jpg");
    let square = image::RgbImage::from_fn(32, 32, |x, y| {
        image::Rgb([(x * 8) as u8, (y * 8) as u8, 128])
    });
    square.save(&png).expect("write png");
    let wide = image::RgbImage::from_fn(50, 40, |x, _| image::Rgb([200, (x * 5) as u8, 30]));
    wide.save(&jpg).expect("write jpeg");
    let v = last_json(&ok(&[
        "infer",
        "--model",
        "lenet5",
        "--weights",
        s(&run.weights),
        "--labels",
        "cifar10",
        "--json",
        s(&png),
        s(&jpg),
    ]));
    assert_eq!(v["normalization"], "cifar10");
    assert_eq!(v["input"], serde_json::json!([3, 32, 32]));
    let preds = v["predictions"].as_array().expect("predictions");
    assert_eq!(preds.len(), 2);
    let cifar = [
        "airplane",
        "automobile",
        "bird",
        "cat",
        "deer",
        "dog",
        "frog",
        "horse",
        "ship",
        "truck",
    ];
    for p in preds {
        let top = p["top"].as_array().expect("top");
        assert_eq!(top.len(), 5);
        let probs: Vec<f64> = top
            .iter()
            .map(|t| t["probability"].as_f64().expect("p"))
            .collect();
        assert!(probs.windows(2).all(|w| w[0] >= w[1]), "{probs:?}");
        assert!(probs.iter().sum::<f64>() <= 1.0 + 1e-9 && probs[0] > 0.0);
        for t in top {
            let c = t["class"].as_u64().expect("class") as usize;
            assert_eq!(t["name"], cifar[c]);
        }
    }
    // Human-readable output names the file and ranks the classes.
    let out = ok(&[
        "infer",
        "--model",
        "lenet5",
        "--weights",
        s(&run.weights),
        s(&png),
    ]);
    assert!(
        out.stdout.contains("square.png")
            && out.stdout.contains("  1. ")
            && out.stdout.contains("  5. "),
        "{}",
        out.stdout
    );

    // The tensor mode: logits for an `input` tensor.
    let input = run.root.join("x.safetensors");
    let logits = run.root.join("y.safetensors");
    let (x, _) = images(2, 3, 32, 32, 3);
    let mut sd = StateDict::new();
    sd.insert("input", HostTensor::f32(vec![2, 3, 32, 32], x));
    sd.save(&input).expect("write input");
    ok(&[
        "infer",
        "--model",
        "lenet5",
        "--weights",
        s(&run.weights),
        "--input",
        s(&input),
        "--output",
        s(&logits),
    ]);
    let y = StateDict::load(&logits).expect("logits written");
    assert_eq!(y.get("logits").map(|t| t.shape.clone()), Some(vec![2, 10]));
}

// ---------------------------------------------------------------- bench

/// `bench --filter avgpool --json`: the last line is a JSON array with the
/// global and 2x2 average-pool rows and the copy rows they are measured
/// against, each with its shape, `ms`, `gflops` and `gbs`.
#[test]
#[cfg_attr(skip_gpu_tests, ignore)]
fn bench_json_has_the_filtered_rows_and_the_copy() {
    let out = ok(&[
        "bench",
        "--filter",
        "avgpool",
        "--seconds",
        "0.01",
        "--json",
    ]);
    let rows = last_json(&out);
    let rows = rows.as_array().expect("a JSON array");
    let ops: Vec<&str> = rows.iter().map(|r| r["op"].as_str().unwrap()).collect();
    assert!(
        ops.iter().all(|&op| op == "avgpool_fwd" || op == "copy"),
        "{ops:?}"
    );
    assert!(ops.contains(&"copy"), "{ops:?}");
    assert!(
        rows.iter().any(|r| r["variant"] == "global"),
        "no global pool row: {rows:?}"
    );
    for r in rows {
        for field in ["n", "c", "h", "w", "ms", "gflops", "gbs"] {
            assert!(r[field].is_number(), "{field} missing in {r}");
        }
        assert!(r["ms"].as_f64().unwrap() > 0.0, "{r}");
        assert!(r["gbs"].as_f64().unwrap() > 0.0, "{r}");
    }
}

// ---------------------------------------------------------------- bad input

/// Runs a command that must fail with exit code 2 and one `error:` line
/// mentioning `needle`.
fn bad(args: &[&str], needle: &str) {
    let out = shadernet(args);
    assert_eq!(
        out.code, 2,
        "shadernet {args:?}: exit {}, want 2\nstderr:\n{}",
        out.code, out.stderr
    );
    let errors: Vec<&str> = out
        .stderr
        .lines()
        .filter(|l| l.starts_with("error"))
        .collect();
    assert_eq!(
        errors.len(),
        1,
        "shadernet {args:?}: want one error line:\n{}",
        out.stderr
    );
    assert_eq!(
        out.stderr.lines().last(),
        errors.first().copied(),
        "the error is the last line:\n{}",
        out.stderr
    );
    assert!(
        !out.stderr.contains("panicked") && !out.stderr.contains("backtrace"),
        "{}",
        out.stderr
    );
    assert!(
        errors[0].contains(needle),
        "shadernet {args:?}: `{}` does not mention `{needle}`",
        errors[0]
    );
}

#[test]
fn bad_arguments_exit_2_before_any_work() {
    let t = s(tensors_file());
    bad(
        &[
            "train",
            "--model",
            "lenet5",
            "--dataset",
            "tensors",
            "--data",
            t,
            "--batch",
            "0",
        ],
        "--batch",
    );
    bad(
        &[
            "train",
            "--model",
            "lenet6",
            "--dataset",
            "tensors",
            "--data",
            t,
        ],
        "unknown model `lenet6`",
    );
    bad(
        &[
            "train",
            "--model",
            "lenet5",
            "--dataset",
            "svhn",
            "--data",
            t,
        ],
        "unknown data set `svhn`",
    );
    bad(
        &[
            "train",
            "--model",
            "lenet5",
            "--dataset",
            "tensors",
            "--data",
            t,
            "--optimizer",
            "rmsprop",
        ],
        "rmsprop",
    );
    bad(
        &[
            "train",
            "--model",
            "lenet5",
            "--dataset",
            "tensors",
            "--data",
            t,
            "--schedule",
            "linear",
        ],
        "linear",
    );
    bad(
        &[
            "train",
            "--model",
            "lenet5",
            "--dataset",
            "tensors",
            "--data",
            t,
            "--download",
        ],
        "--download",
    );
    bad(
        &[
            "eval",
            "--model",
            "lenet5",
            "--weights",
            t,
            "--dataset",
            "tensors",
            "--data",
            t,
            "--batch",
            "0",
        ],
        "--batch",
    );
    bad(
        &["infer", "--model", "lenet5", "--weights", t],
        "image files",
    );
}

#[test]
fn bad_data_exits_2_naming_the_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let train = |dataset: &str, data: &Path| {
        vec![
            "train".to_string(),
            "--model".into(),
            "lenet5".into(),
            "--dataset".into(),
            dataset.into(),
            "--data".into(),
            s(data).into(),
            "--steps".into(),
            "1".into(),
        ]
    };
    let run = |args: Vec<String>, needle: &str| {
        bad(&args.iter().map(String::as_str).collect::<Vec<_>>(), needle)
    };

    let missing = d.join("nope");
    run(train("cifar10", &missing), "does not exist");
    let empty = d.join("empty");
    std::fs::create_dir(&empty).expect("mkdir");
    run(train("cifar10", &empty), "no CIFAR-10 data");
    run(train("fashion-mnist", &empty), "no Fashion-MNIST data");

    // A CIFAR-10 file cut mid-record.
    let cut = d.join("cut");
    write_cifar(&cut, 2, 2);
    let f = cut.join("data_batch_3.bin");
    let bytes = std::fs::read(&f).expect("read");
    std::fs::write(&f, &bytes[..3073 + 100]).expect("truncate");
    run(train("cifar10", &cut), "data_batch_3.bin");

    // IDX files whose image and label counts differ, and a truncated one.
    let idx = d.join("idx");
    std::fs::create_dir(&idx).expect("mkdir");
    let header = |magic: u32, dims: &[u32]| -> Vec<u8> {
        std::iter::once(magic)
            .chain(dims.iter().copied())
            .flat_map(u32::to_be_bytes)
            .collect()
    };
    let write_idx = |name: &str, magic: u32, dims: &[u32], len: usize| {
        let mut b = header(magic, dims);
        b.extend(std::iter::repeat_n(1u8, len));
        std::fs::write(idx.join(name), b).expect("write idx");
    };
    write_idx("train-images-idx3-ubyte", 0x803, &[5, 28, 28], 5 * 784);
    write_idx("train-labels-idx1-ubyte", 0x801, &[4], 4);
    write_idx("t10k-images-idx3-ubyte", 0x803, &[2, 28, 28], 2 * 784);
    write_idx("t10k-labels-idx1-ubyte", 0x801, &[2], 2);
    run(train("fashion-mnist", &idx), "4 labels");
    write_idx("train-labels-idx1-ubyte", 0x801, &[5], 5);
    write_idx("train-images-idx3-ubyte", 0x803, &[5, 28, 28], 3 * 784);
    run(train("fashion-mnist", &idx), "truncated");

    // A tensors file with 40 images and 39 labels, and one that is not safetensors.
    let mismatch = d.join("mismatch.safetensors");
    write_tensors(&mismatch, 40, 39);
    run(train("tensors", &mismatch), "39 labels");
    let garbage = d.join("garbage.safetensors");
    std::fs::write(&garbage, b"\x10\x00\x00\x00\x00\x00\x00\x00{\"a\":").expect("write");
    run(train("tensors", &garbage), "garbage.safetensors");
}

#[test]
fn unwritable_outputs_exit_2_before_training() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let t = s(tensors_file());
    let file = d.join("a-file");
    std::fs::write(&file, b"x").expect("write");
    let base = [
        "train",
        "--model",
        "lenet5",
        "--dataset",
        "tensors",
        "--data",
        t,
        "--steps",
        "1",
    ];
    let with = |flag: &str, p: &Path, needle: &str| {
        let mut v = base.to_vec();
        v.extend_from_slice(&[flag, s(p)]);
        bad(&v, needle);
    };
    with(
        "--save",
        &d.join("no-such-dir").join("w.safetensors"),
        "no-such-dir",
    );
    with("--metrics", &file.join("m.jsonl"), "not a directory");
    with("--plot", d, "is a directory");
    with("--checkpoint", &d.join("missing").join("c.ckpt"), "missing");
    bad(
        &[
            "infer",
            "--model",
            "lenet5",
            "--weights",
            t,
            "--input",
            t,
            "--output",
            s(&d.join("none").join("y.safetensors")),
        ],
        "none",
    );
}

#[test]
#[cfg_attr(skip_gpu_tests, ignore)]
fn bad_checkpoints_exit_2_and_leave_save_untouched() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let t = s(tensors_file());
    // A checkpoint of LeNet-5 on 1×28×28 images.
    let ckpt = d.join("lenet.ckpt");
    ok(&tiny_train(&["--steps", "1", "--checkpoint", s(&ckpt)]));
    // Another model.
    bad(
        &[
            "train",
            "--model",
            "resnet20",
            "--dataset",
            "tensors",
            "--data",
            t,
            "--resume",
            s(&ckpt),
        ],
        "written for model lenet5, not resnet20",
    );
    // Same model, other input shape (3×32×32 CIFAR-10): the weights do not fit.
    // An existing --save target and its checkpoint are left as they were.
    let cifar = d.join("cifar");
    write_cifar(&cifar, 2, 2);
    let save = d.join("precious.safetensors");
    std::fs::write(&save, b"precious bytes").expect("write");
    bad(
        &[
            "train",
            "--model",
            "lenet5",
            "--dataset",
            "cifar10",
            "--data",
            s(&cifar),
            "--resume",
            s(&ckpt),
            "--save",
            s(&save),
        ],
        "conv1.weight",
    );
    assert_eq!(
        std::fs::read(&save).expect("still there"),
        b"precious bytes"
    );
    assert!(
        !d.join("precious.ckpt").exists(),
        "a failed run wrote a checkpoint"
    );
    // Another optimizer.
    bad(
        &tiny_train(&["--resume", s(&ckpt), "--optimizer", "adamw"]),
        "adamw",
    );
    // Plain weights are not a checkpoint.
    let weights = d.join("w.safetensors");
    ok(&tiny_train(&["--steps", "1", "--save", s(&weights)]));
    bad(
        &tiny_train(&["--resume", s(&weights)]),
        "not a training checkpoint",
    );
    // --init with the wrong model's weights names the keys.
    bad(
        &[
            "train",
            "--model",
            "lenet5",
            "--dataset",
            "cifar10",
            "--data",
            s(&cifar),
            "--init",
            s(&weights),
            "--steps",
            "1",
        ],
        "mis-shaped",
    );
    // A truncated checkpoint.
    let cut = d.join("cut.ckpt");
    let bytes = std::fs::read(&ckpt).expect("read");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).expect("write");
    bad(&tiny_train(&["--resume", s(&cut)]), "cut.ckpt");
}

#[test]
fn download_failure_exits_1_and_leaves_nothing() {
    // A port nothing listens on: connection refused, a runtime failure.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    drop(listener);
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("cifar");
    let out = Command::new(env!("CARGO_BIN_EXE_shadernet"))
        .args([
            "train",
            "--model",
            "lenet5",
            "--dataset",
            "cifar10",
            "--data",
            s(&data),
            "--download",
            "--steps",
            "1",
        ])
        .env(
            "SHADERNET_CIFAR10_URL",
            format!("http://127.0.0.1:{port}/cifar-10-binary.tar.gz"),
        )
        .stdin(Stdio::null())
        .output()
        .expect("runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr
            .lines()
            .last()
            .is_some_and(|l| l.starts_with("error: downloading http://127.0.0.1")),
        "{stderr}"
    );
    assert!(!data.exists(), "a failed download left {}", data.display());
}

#[test]
#[cfg_attr(skip_gpu_tests, ignore)]
fn info_json_names_the_chosen_adapter_and_its_texel_operands() {
    let v = last_json(&ok(&["info", "--json"]));
    let adapters = v["adapters"].as_array().expect("an `adapters` array");
    let chosen = v["chosen"].as_u64().expect("a `chosen` index");
    let adapter = adapters
        .iter()
        .find(|a| a["index"].as_u64() == Some(chosen))
        .unwrap_or_else(|| panic!("chosen {chosen} is not among the adapters: {v}"));
    let texels = v["texel_operands"]
        .as_bool()
        .expect("`texel_operands` is a bool");
    // lavapipe reads rgba32float storage textures (WebGPU guarantees it): the capability
    // check must not turn the texel kernels off there.
    let name = adapter["name"].as_str().unwrap_or_default();
    if name.contains("llvmpipe") && adapter["backend"] == "Vulkan" {
        assert!(texels, "{v}");
    }
    // On a CPU adapter the CLI runs llvmpipe with 3 threads per CPU unless the
    // environment it inherits set LP_NUM_THREADS (then that value, untouched).
    if adapter["device_type"] == "Cpu" {
        let inherited = std::env::var_os(shadernet::tensor::LLVMPIPE_THREADS_VAR);
        let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
        let expected = match shadernet::tensor::llvmpipe_threads(inherited.as_deref(), cpus) {
            Some(n) => n.to_string(),
            None => inherited.unwrap_or_default().to_string_lossy().into_owned(),
        };
        assert_eq!(v["lp_num_threads"].as_str(), Some(expected.as_str()), "{v}");
    } else {
        assert!(v["lp_num_threads"].is_null(), "{v}");
    }
}
