//! `shadernet train`: trains a model on a data set (see spec/cli.md and
//! docs/TRAINING.md).
//!
//! Everything a user can get wrong is checked before the first step, cheapest
//! first (arguments, output paths, checkpoint, data, then the GPU), and is
//! reported as one sentence with exit code 2; outputs (`--save`, the
//! checkpoint, `--plot`) are written atomically, so a failed or killed run
//! leaves what was there before.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use shadernet::checkpoint::{self, Checkpoint, CheckpointError};
use shadernet::data::{self, Augment, DataError, Dataset, Loader, LoaderConfig, Split};
use shadernet::metrics::MetricsWriter;
use shadernet::models;
use shadernet::nn::io;
use shadernet::nn::optim::OptimizerConfig;
use shadernet::nn::schedule::Schedule;
use shadernet::train::{EpochSummary, Event, TrainError, TrainOptions, Trainer};

use super::common::{
    build_model, load_dataset, load_weights, open_device_for_speed, read_weights, tensor_error,
    user,
};

/// The arguments of `train`.
#[derive(clap::Args, Debug)]
pub struct TrainArgs {
    /// Model name (see spec/models.md), e.g. resnet20, lenet5, vgg_cifar.
    #[arg(long)]
    pub model: String,
    /// cifar10, fashion-mnist, mnist, or tensors.
    #[arg(long)]
    pub dataset: String,
    /// Data directory (a safetensors file for `--dataset tensors`).
    #[arg(long)]
    pub data: PathBuf,
    /// CIFAR-10 only: when DIR holds no data, download the official archive
    /// (MD5-checked) into it first. Set SHADERNET_CIFAR10_URL to use a mirror.
    #[arg(long)]
    pub download: bool,
    /// Epochs to train (ignored with --steps).
    #[arg(long, default_value_t = 30)]
    pub epochs: usize,
    /// Images per batch.
    #[arg(long, default_value_t = 128)]
    pub batch: usize,
    /// sgd or adamw.
    #[arg(long, default_value = "sgd")]
    pub optimizer: String,
    /// Base (peak) learning rate.
    #[arg(long, default_value_t = 0.1)]
    pub lr: f64,
    /// SGD momentum.
    #[arg(long, default_value_t = 0.9)]
    pub momentum: f32,
    /// Nesterov momentum (SGD).
    #[arg(long)]
    pub nesterov: bool,
    /// Weight decay (added to the gradient for SGD, decoupled for AdamW).
    #[arg(long, default_value_t = 5e-4)]
    pub weight_decay: f32,
    /// Learning-rate schedule after warm-up: cosine, step, onecycle or none.
    #[arg(long, default_value = "cosine")]
    pub schedule: String,
    /// `--schedule step`: multiply the rate by --gamma every this many epochs
    /// (default: a third of the epochs after warm-up, so two decays).
    #[arg(long)]
    pub step_every: Option<usize>,
    /// `--schedule step`: the decay factor.
    #[arg(long, default_value_t = 0.1)]
    pub gamma: f64,
    /// Linear warm-up from lr/W to lr over this many epochs (W = warm-up steps).
    #[arg(long, default_value_t = 0)]
    pub warmup_epochs: usize,
    /// Random crop (pad 4) and horizontal flip (CIFAR-10; the default there).
    #[arg(long, overrides_with = "no_augment")]
    pub augment: bool,
    /// Turn augmentation off.
    #[arg(long)]
    pub no_augment: bool,
    /// Keep the data's order.
    #[arg(long)]
    pub no_shuffle: bool,
    /// Seed of initialization, data order, augmentation and dropout.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Label smoothing of the cross-entropy.
    #[arg(long, default_value_t = 0.0)]
    pub label_smoothing: f32,
    /// Start from these weights (or a checkpoint's) instead of random ones.
    #[arg(long)]
    pub init: Option<PathBuf>,
    /// Continue the run a checkpoint recorded: weights, optimizer state,
    /// epoch and batch, losses so far.
    #[arg(long)]
    pub resume: Option<PathBuf>,
    /// Stop after this many optimizer steps in all (a resumed run counts the
    /// steps before); the schedule then spans these steps.
    #[arg(long)]
    pub steps: Option<usize>,
    /// Write the final weights (PyTorch key names) here.
    #[arg(long)]
    pub save: Option<PathBuf>,
    /// Write a checkpoint here after every epoch and at the end (default:
    /// the --save path with extension .ckpt, else the --resume file).
    #[arg(long)]
    pub checkpoint: Option<PathBuf>,
    /// Also write the checkpoint every this many steps.
    #[arg(long)]
    pub checkpoint_every: Option<usize>,
    /// Append one JSON object per step and per epoch to this file (JSON lines).
    #[arg(long)]
    pub metrics: Option<PathBuf>,
    /// Draw loss and accuracy curves to this PNG after every epoch.
    #[arg(long)]
    pub plot: Option<PathBuf>,
    /// Read the loss back (progress line, metrics) every this many steps.
    #[arg(long, default_value_t = 20)]
    pub log_every: usize,
    /// Adapter: index or name substring (see `shadernet info`).
    #[arg(long)]
    pub device: Option<String>,
    /// Print one JSON summary on the last line (and nothing else on stdout).
    #[arg(long)]
    pub json: bool,
}

fn optimizer(a: &TrainArgs) -> anyhow::Result<OptimizerConfig> {
    match a.optimizer.as_str() {
        "sgd" => {
            if a.nesterov && a.momentum <= 0.0 {
                return Err(user(format!(
                    "--nesterov needs --momentum above 0, got {}",
                    a.momentum
                )));
            }
            Ok(OptimizerConfig::sgd(a.momentum, a.weight_decay, a.nesterov))
        }
        "adamw" => Ok(OptimizerConfig::adamw(a.weight_decay)),
        other => Err(user(format!(
            "unknown optimizer `{other}`; use sgd or adamw"
        ))),
    }
}

/// The schedule for `--schedule`, given the run's length.
fn schedule(a: &TrainArgs, steps_per_epoch: usize) -> anyhow::Result<Schedule> {
    match a.schedule.as_str() {
        "cosine" => Ok(Schedule::Cosine),
        "step" => {
            let step_size = match (a.step_every, a.steps) {
                (Some(e), _) => e * steps_per_epoch,
                (None, Some(steps)) => {
                    (steps.saturating_sub(a.warmup_epochs * steps_per_epoch) / 3).max(1)
                }
                (None, None) => {
                    (a.epochs.saturating_sub(a.warmup_epochs) / 3).max(1) * steps_per_epoch
                }
            };
            Ok(Schedule::Step {
                step_size: step_size.max(1),
                gamma: a.gamma,
            })
        }
        "onecycle" => Ok(Schedule::OneCycle),
        "none" | "constant" => Ok(Schedule::Constant),
        other => Err(user(format!(
            "unknown schedule `{other}`; use cosine, step, onecycle or none"
        ))),
    }
}

/// Checks every argument that needs no file.
fn check_args(a: &TrainArgs) -> anyhow::Result<()> {
    if a.batch == 0 {
        return Err(user("--batch must be at least 1"));
    }
    if a.steps == Some(0) {
        return Err(user("--steps must be at least 1"));
    }
    if a.steps.is_none() && a.epochs == 0 {
        return Err(user("--epochs must be at least 1"));
    }
    if a.log_every == 0 {
        return Err(user("--log-every must be at least 1"));
    }
    if a.checkpoint_every == Some(0) {
        return Err(user("--checkpoint-every must be at least 1"));
    }
    if a.step_every == Some(0) {
        return Err(user("--step-every must be at least 1"));
    }
    if !(a.lr.is_finite() && a.lr > 0.0) {
        return Err(user(format!(
            "--lr must be a positive number, got {}",
            a.lr
        )));
    }
    if !(a.gamma.is_finite() && a.gamma > 0.0) {
        return Err(user(format!(
            "--gamma must be a positive number, got {}",
            a.gamma
        )));
    }
    if !(a.momentum.is_finite() && (0.0..1.0).contains(&a.momentum)) {
        return Err(user(format!(
            "--momentum must be in [0, 1), got {}",
            a.momentum
        )));
    }
    if !(a.weight_decay.is_finite() && a.weight_decay >= 0.0) {
        return Err(user(format!(
            "--weight-decay must be 0 or more, got {}",
            a.weight_decay
        )));
    }
    if !(0.0..1.0).contains(&a.label_smoothing) {
        return Err(user(format!(
            "--label-smoothing must be in [0, 1), got {}",
            a.label_smoothing
        )));
    }
    if !models::MODEL_NAMES.contains(&a.model.as_str()) {
        return Err(user(format!(
            "unknown model `{}`; known models: {}",
            a.model,
            models::MODEL_NAMES.join(", ")
        )));
    }
    if !super::common::DATASETS.contains(&a.dataset.as_str()) {
        return Err(user(format!(
            "unknown data set `{}`; use one of {}",
            a.dataset,
            super::common::DATASETS.join(", ")
        )));
    }
    if a.download && a.dataset != "cifar10" {
        return Err(user(format!(
            "--download fetches CIFAR-10 only, not {}",
            a.dataset
        )));
    }
    if a.init.is_some() && a.resume.is_some() {
        return Err(user(
            "--init and --resume exclude each other (a checkpoint carries its own weights)",
        ));
    }
    optimizer(a)?;
    schedule(a, 1)?;
    Ok(())
}

/// Where checkpoints go: `--checkpoint`, else `--save` with extension
/// `.ckpt`, else the `--resume` file; `None` when there is none of them.
pub fn checkpoint_path(a: &TrainArgs) -> Option<PathBuf> {
    a.checkpoint
        .clone()
        .or_else(|| a.save.as_ref().map(|s| s.with_extension("ckpt")))
        .or_else(|| a.resume.clone())
}

/// An f32 argument as the f64 its shortest decimal form reads as (0.9, not 0.8999999761581421).
fn short(x: f32) -> f64 {
    x.to_string().parse().unwrap_or(f64::from(x))
}

/// The run's arguments as stored in checkpoints and the metrics file.
fn run_config(a: &TrainArgs, augment: bool, schedule_steps: usize) -> serde_json::Value {
    serde_json::json!({
        "model": a.model,
        "dataset": a.dataset,
        "data": a.data.display().to_string(),
        "batch": a.batch,
        "optimizer": a.optimizer,
        "lr": a.lr,
        "momentum": short(a.momentum),
        "nesterov": a.nesterov,
        "weight_decay": short(a.weight_decay),
        "schedule": a.schedule,
        "step_every": a.step_every,
        "gamma": a.gamma,
        "warmup_epochs": a.warmup_epochs,
        "epochs": a.epochs,
        "steps": a.steps,
        "schedule_steps": schedule_steps,
        "augment": augment,
        "shuffle": !a.no_shuffle,
        "seed": a.seed,
        "label_smoothing": short(a.label_smoothing),
    })
}

/// Whether two settings are equal (numbers to f32 precision: checkpoints of
/// older builds stored f32 arguments widened to f64).
fn same(a: Option<&serde_json::Value>, b: Option<&serde_json::Value>) -> bool {
    match (
        a.and_then(serde_json::Value::as_f64),
        b.and_then(serde_json::Value::as_f64),
    ) {
        (Some(x), Some(y)) => (x - y).abs() <= 1e-6 * x.abs().max(y.abs()),
        _ => a == b,
    }
}

/// The settings that change what a resumed run computes, where they differ
/// from the checkpoint's.
fn resume_differences(saved: &serde_json::Value, now: &serde_json::Value) -> Vec<String> {
    let mut keys = vec![
        "dataset",
        "batch",
        "seed",
        "shuffle",
        "augment",
        "label_smoothing",
        "lr",
        "momentum",
        "nesterov",
        "weight_decay",
        "schedule",
        "step_every",
        "gamma",
        "warmup_epochs",
    ];
    let constant = now
        .get("schedule")
        .and_then(|s| s.as_str())
        .is_some_and(|s| s == "none" || s == "constant");
    if !constant
        || now
            .get("warmup_epochs")
            .and_then(|w| w.as_u64())
            .unwrap_or(0)
            > 0
    {
        keys.push("schedule_steps");
    }
    let show = |v: Option<&serde_json::Value>| v.map_or("(unset)".to_string(), |v| v.to_string());
    keys.into_iter()
        .filter(|k| saved.get(*k).is_some() && !same(saved.get(*k), now.get(*k)))
        .map(|k| format!("{k} {} -> {}", show(saved.get(k)), show(now.get(k))))
        .collect()
}

/// Fails early when an output file cannot be written: its directory is
/// missing or not a directory, the path is a directory, or a probe file
/// cannot be created beside it. Nothing at `path` is touched.
pub fn check_writable(path: &Path, what: &str) -> anyhow::Result<()> {
    if path.file_name().is_none() {
        return Err(user(format!(
            "{what} {} does not name a file",
            path.display()
        )));
    }
    if path.is_dir() {
        return Err(user(format!(
            "{what} {} is a directory, not a file",
            path.display()
        )));
    }
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    match std::fs::metadata(dir) {
        Ok(m) if m.is_dir() => {}
        Ok(_) => {
            return Err(user(format!(
                "cannot write {what} {}: {} is not a directory",
                path.display(),
                dir.display()
            )))
        }
        Err(e) => {
            return Err(user(format!(
                "cannot write {what} {}: directory {}: {e}",
                path.display(),
                dir.display()
            )))
        }
    }
    let probe = dir.join(format!(".shadernet-probe-{}", std::process::id()));
    match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&probe)
    {
        Ok(_) => {
            let _ = std::fs::remove_file(&probe);
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(e) => {
            return Err(user(format!(
                "cannot write {what} {}: directory {} is not writable: {e}",
                path.display(),
                dir.display()
            )))
        }
    }
    if path.exists() {
        std::fs::OpenOptions::new()
            .append(true)
            .open(path)
            .map_err(|e| user(format!("cannot write {what} {}: {e}", path.display())))?;
    }
    Ok(())
}

/// How progress is shown.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Display {
    /// Progress bars (a terminal).
    Bars { stderr: bool },
    /// One line per report (stdout is a file or pipe).
    Lines,
    /// Nothing (`--json` without a terminal).
    Quiet,
}

/// Progress bars or log lines.
struct Reporter {
    display: Display,
    bar: Option<ProgressBar>,
    bar_epoch: usize,
    epochs: usize,
    batch: usize,
}

fn duration(secs: f64) -> String {
    if !secs.is_finite() || secs < 0.0 {
        return "?".into();
    }
    let s = secs.round() as u64;
    match s {
        0..=59 => format!("{s}s"),
        60..=3599 => format!("{}m{:02}s", s / 60, s % 60),
        _ => format!("{}h{:02}m", s / 3600, (s % 3600) / 60),
    }
}

impl Reporter {
    fn new(json: bool, epochs: usize, batch: usize) -> Reporter {
        let display = if json {
            if std::io::stderr().is_terminal() {
                Display::Bars { stderr: true }
            } else {
                Display::Quiet
            }
        } else if std::io::stdout().is_terminal() {
            Display::Bars { stderr: false }
        } else {
            Display::Lines
        };
        Reporter {
            display,
            bar: None,
            bar_epoch: usize::MAX,
            epochs,
            batch,
        }
    }

    /// A line for the user, above any bar (stdout, or stderr with `--json`).
    fn line(&self, text: &str) {
        match (&self.bar, self.display) {
            (Some(bar), _) => bar.println(text),
            (None, Display::Lines) | (None, Display::Bars { stderr: false }) => println!("{text}"),
            (None, _) => eprintln!("{text}"),
        }
    }

    /// A fresh bar for `epoch` (terminal only).
    fn start_bar(&mut self, epoch: usize, batch: usize, steps_per_epoch: usize) {
        let Display::Bars { stderr } = self.display else {
            return;
        };
        if let Some(b) = self.bar.take() {
            b.finish_and_clear();
        }
        let target = if stderr {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::stdout()
        };
        let bar = ProgressBar::with_draw_target(Some(steps_per_epoch as u64), target);
        let style = ProgressStyle::with_template("{prefix} [{bar:30.cyan/blue}] {pos}/{len} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> ");
        bar.set_style(style);
        bar.set_prefix(format!("epoch {}/{}", epoch + 1, self.epochs));
        bar.set_position(batch as u64);
        bar.set_message("starting");
        bar.enable_steady_tick(Duration::from_millis(500));
        self.bar = Some(bar);
        self.bar_epoch = epoch;
    }

    fn event(&mut self, e: &Event) {
        match e {
            Event::EpochStart {
                epoch,
                batch,
                steps_per_epoch,
            } => self.start_bar(*epoch, *batch, *steps_per_epoch),
            Event::Steps {
                epoch,
                batch,
                steps_per_epoch,
                losses,
                lr,
                images_per_s,
                ..
            } => {
                let loss = losses.last().copied().unwrap_or(f32::NAN);
                let left = steps_per_epoch.saturating_sub(*batch) * self.batch;
                let eta = left as f64 / images_per_s.max(1e-9);
                match self.display {
                    Display::Bars { .. } => {
                        if self.bar_epoch != *epoch || self.bar.is_none() {
                            self.start_bar(*epoch, *batch, *steps_per_epoch);
                        }
                        if let Some(bar) = &self.bar {
                            bar.set_position(*batch as u64);
                            bar.set_message(format!("loss {loss:.4}  {images_per_s:.0} img/s  ETA {}", duration(eta)));
                        }
                    }
                    Display::Lines => println!(
                        "epoch {}/{} step {}/{} loss {loss:.4} lr {lr:.5} {images_per_s:.1} img/s ETA {}",
                        epoch + 1,
                        self.epochs,
                        batch,
                        steps_per_epoch,
                        duration(eta)
                    ),
                    Display::Quiet => {}
                }
            }
            Event::Epoch(s) => {
                if let Some(bar) = self.bar.take() {
                    bar.finish_and_clear();
                }
                if self.display != Display::Quiet {
                    self.line(&epoch_line(s, self.epochs));
                }
            }
            Event::Checkpoint { .. } => {}
        }
    }

    fn finish(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
    }
}

fn epoch_line(s: &EpochSummary, epochs: usize) -> String {
    let test = s
        .test
        .map(|t| format!(" | test loss {:.4} accuracy {:.4}", t.loss, t.accuracy))
        .unwrap_or_default();
    format!(
        "epoch {}/{} {}: train loss {:.4} accuracy {:.4}{test} | {:.1} img/s, {:.1} s waiting for data | {} elapsed",
        s.epoch + 1,
        epochs,
        if s.complete { "done" } else { "stopped" },
        s.train_loss,
        s.train_accuracy,
        s.images_per_s,
        s.data_wait_s,
        duration(s.elapsed_s)
    )
}

/// Fetches CIFAR-10 into `dir` when it holds no data, with a progress bar.
fn download_cifar10(dir: &Path, quiet: bool) -> anyhow::Result<()> {
    if data::cifar10::is_present(dir) {
        return Ok(());
    }
    let url = std::env::var("SHADERNET_CIFAR10_URL")
        .ok()
        .filter(|u| !u.is_empty());
    let shown = url
        .clone()
        .unwrap_or_else(|| data::download::CIFAR10_URL.to_string());
    let terminal = std::io::stderr().is_terminal();
    if !quiet || terminal {
        eprintln!("downloading CIFAR-10 from {shown} into {}", dir.display());
    }
    let bar = terminal.then(|| {
        let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
        bar.set_style(
            ProgressStyle::with_template(
                "[{bar:30.cyan/blue}] {bytes}/{total_bytes} {bytes_per_sec} ETA {eta}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
        );
        bar
    });
    let mut last_decile = 0;
    let result = data::download::cifar10(dir, url.as_deref(), |done, total| {
        if let Some(bar) = &bar {
            if let Some(t) = total {
                bar.set_length(t);
            }
            bar.set_position(done);
        } else if let Some(t) = total.filter(|&t| t > 0) {
            let decile = done * 10 / t;
            if decile > last_decile && !quiet {
                last_decile = decile;
                eprintln!("downloaded {} of {} MB", done >> 20, t >> 20);
            }
        }
    });
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    match result {
        Ok(dest) => {
            if !quiet || terminal {
                eprintln!("CIFAR-10 is in {}", dest.display());
            }
            Ok(())
        }
        Err(e @ (DataError::DestinationExists { .. } | DataError::NotADirectory { .. })) => {
            Err(user(e))
        }
        Err(e) => Err(anyhow::anyhow!("{e}")),
    }
}

fn load_split(a: &TrainArgs, split: Split) -> anyhow::Result<Option<Dataset>> {
    load_dataset(&a.dataset, &a.data, split)
}

fn checkpoint_error(e: CheckpointError) -> anyhow::Error {
    match e {
        CheckpointError::Mismatch(_) | CheckpointError::Read(_) => user(e),
        CheckpointError::Tensor(t) => tensor_error(t),
        CheckpointError::Write(_) => anyhow::anyhow!("{e}"),
    }
}

/// Runs `train`.
pub fn run(a: &TrainArgs) -> anyhow::Result<()> {
    check_args(a)?;
    let opt = optimizer(a)?;
    let ckpt_path = checkpoint_path(a);
    for (path, what) in [
        (a.save.as_deref(), "--save file"),
        (ckpt_path.as_deref(), "checkpoint"),
        (a.metrics.as_deref(), "--metrics file"),
        (a.plot.as_deref(), "--plot file"),
    ] {
        if let Some(p) = path {
            check_writable(p, what)?;
        }
    }
    let init = match &a.init {
        Some(p) => Some(checkpoint::model_weights(read_weights(p)?)),
        None => None,
    };
    let resume = match &a.resume {
        Some(p) => {
            let c = Checkpoint::load(p).map_err(checkpoint_error)?;
            if c.model() != a.model {
                return Err(user(format!(
                    "checkpoint {} was written for model {}, not {}",
                    p.display(),
                    if c.model().is_empty() {
                        "(unknown)"
                    } else {
                        c.model()
                    },
                    a.model
                )));
            }
            Some(c)
        }
        None => None,
    };

    if a.download {
        download_cifar10(&a.data, a.json)?;
    }
    let train_set =
        load_split(a, Split::Train)?.ok_or_else(|| user("the data set has no training split"))?;
    let test_set = load_split(a, Split::Test)?;
    if let Some(t) = &test_set {
        if t.shape != train_set.shape || t.num_classes() != train_set.num_classes() {
            return Err(user(format!(
                "the test split's images are {:?} with {} classes, the training split's {:?} with {}",
                t.shape,
                t.num_classes(),
                train_set.shape,
                train_set.num_classes()
            )));
        }
    }
    let augment = a.augment || (a.dataset == "cifar10" && !a.no_augment);
    let loader_cfg = LoaderConfig {
        batch: a.batch,
        shuffle: !a.no_shuffle,
        augment: if augment && a.dataset != "tensors" {
            Some(Augment::CIFAR10)
        } else {
            None
        },
        seed: a.seed,
        drop_last: false,
    };
    let dataset_name = train_set.name.clone();
    let train = Loader::new(train_set, loader_cfg.clone()).map_err(user)?;
    let test = match test_set {
        Some(t) => Some(
            Loader::new(
                t,
                LoaderConfig {
                    shuffle: false,
                    augment: None,
                    ..loader_cfg
                },
            )
            .map_err(user)?,
        ),
        None => None,
    };
    let steps_per_epoch = train.batches_per_epoch();
    let sched = schedule(a, steps_per_epoch)?;
    let options = TrainOptions {
        optimizer: opt,
        lr: a.lr,
        schedule: sched,
        warmup_epochs: a.warmup_epochs,
        epochs: a.epochs,
        steps: a.steps,
        label_smoothing: a.label_smoothing,
        seed: a.seed,
        log_every: a.log_every,
    };

    let device = open_device_for_speed(a.device.as_deref())?;
    let model = build_model(&a.model, train.dataset(), &device, a.seed)?;
    if let Some(sd) = &init {
        load_weights(&model, sd)?;
    }
    let mut trainer = Trainer::new(&device, model, options).map_err(tensor_error)?;
    trainer.checkpoint_every = a.checkpoint_every;
    let schedule_steps = trainer.total_steps(steps_per_epoch);
    let config = run_config(a, loader_cfg.augment.is_some(), schedule_steps);
    let total_epochs = a
        .steps
        .map_or(a.epochs, |s| s.div_ceil(steps_per_epoch.max(1)));
    let mut reporter = Reporter::new(a.json, total_epochs, a.batch);

    if let Some(c) = &resume {
        c.restore(&mut trainer, steps_per_epoch)
            .map_err(checkpoint_error)?;
        let diffs = resume_differences(&c.config(), &config);
        if !diffs.is_empty() {
            eprintln!(
                "warning: resuming with other settings than {} was written with ({}); the run will not repeat the interrupted one exactly",
                c.path.display(),
                diffs.join(", ")
            );
        }
        let (epoch, batch) = c.position();
        if !a.json && trainer.finished() {
            reporter.line(&format!(
                "{} is at step {}, the end of this run: nothing left to train",
                c.path.display(),
                c.step()
            ));
        } else if !a.json {
            reporter.line(&format!(
                "resuming {} at step {} (epoch {}, batch {batch}/{steps_per_epoch})",
                c.path.display(),
                c.step(),
                epoch + 1
            ));
        }
    }

    let mut metrics = match &a.metrics {
        Some(p) => {
            let w = match &resume {
                Some(c) => MetricsWriter::resume(p, c.step()),
                None => MetricsWriter::create(p),
            }
            .map_err(|e| user(format!("cannot write --metrics file {}: {e}", p.display())))?;
            Some(w)
        }
        None => None,
    };
    if let Some(m) = &mut metrics {
        let mut rec = config.clone();
        if let Some(o) = rec.as_object_mut() {
            o.insert("type".into(), "config".into());
            o.insert("steps_per_epoch".into(), steps_per_epoch.into());
            if let Some(c) = &resume {
                o.insert("resumed_from".into(), c.path.display().to_string().into());
                o.insert("resumed_at_step".into(), c.step().into());
            }
        }
        m.write(&rec)
            .map_err(|e| anyhow::anyhow!("writing {}: {e}", m.path().display()))?;
    }
    if !a.json && resume.is_none() {
        reporter.line(&format!(
            "training {} on {} ({} images, {} batches of {} per epoch{}) on {}",
            a.model,
            dataset_name,
            train.dataset().len(),
            steps_per_epoch,
            a.batch,
            test.as_ref()
                .map(|t| format!(", {} test images", t.dataset().len()))
                .unwrap_or_default(),
            device.adapter().name
        ));
    }

    let title = format!(
        "{} on {} (batch {}, {} lr {})",
        a.model, dataset_name, a.batch, a.optimizer, a.lr
    );
    let mut checkpointed = false;
    let result = trainer.fit(&train, test.as_ref(), |event, t| {
        reporter.event(event);
        if let Some(m) = &mut metrics {
            m.event(event)
                .map_err(|e| anyhow::anyhow!("writing {}: {e}", m.path().display()))?;
        }
        let checkpoint_now = matches!(event, Event::Epoch(_) | Event::Checkpoint { .. });
        if checkpoint_now {
            if let Some(p) = &ckpt_path {
                checkpoint::save(t, &config, p).map_err(checkpoint_error)?;
                checkpointed = true;
            }
        }
        if let (Event::Epoch(_), Some(p)) = (event, &a.plot) {
            shadernet::plot::draw(&t.history, steps_per_epoch, &title, p)
                .map_err(|e| anyhow::anyhow!(e))?;
        }
        Ok(())
    });
    reporter.finish();
    result.map_err(|e| match e {
        TrainError::Tensor(t) => tensor_error(t),
        TrainError::Data(d) => user(d),
        TrainError::Hook(h) => h,
    })?;

    if let Some(p) = &a.plot {
        // Also when a resumed run had nothing left to do.
        shadernet::plot::draw(&trainer.history, steps_per_epoch, &title, p)
            .map_err(|e| anyhow::anyhow!(e))?;
    }
    if let Some(path) = &a.save {
        let sd = io::state_dict(&trainer.model).map_err(|e| anyhow::anyhow!(e))?;
        sd.save(path).map_err(|e| anyhow::anyhow!("{e}"))?;
    }
    if !a.json {
        if let Some(p) = ckpt_path.as_ref().filter(|_| checkpointed) {
            reporter.line(&format!("checkpoint: {}", p.display()));
        }
        if let Some(p) = &a.save {
            reporter.line(&format!("saved weights: {}", p.display()));
        }
        if let Some(p) = &a.plot {
            reporter.line(&format!("plot: {}", p.display()));
        }
    }
    if a.json {
        let h = &trainer.history;
        let last = h.epochs.last();
        let out = serde_json::json!({
            "steps": trainer.step,
            "losses": if a.steps.is_some() { serde_json::json!(h.step_losses) } else { serde_json::Value::Null },
            "epochs": h.epochs.iter().filter(|e| e.complete).count(),
            "train_loss": last.and_then(|s| shadernet::train::finite(s.train_loss)),
            "train_accuracy": last.and_then(|s| shadernet::train::finite(s.train_accuracy)),
            "test_accuracy": last.and_then(|s| s.test.map(|t| t.accuracy)),
            "test_loss": last.and_then(|s| s.test.and_then(|t| shadernet::train::finite(t.loss))),
            "images_per_s": last.and_then(|s| shadernet::train::finite(s.images_per_s)),
            "elapsed_s": shadernet::train::finite(trainer.elapsed_s()),
            "resumed_from_step": resume.as_ref().map(|c| c.step()),
        });
        println!("{out}");
    }
    Ok(())
}
