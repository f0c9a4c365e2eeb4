//! `shadernet train`: trains a model on a data set (see spec/cli.md).

use std::path::PathBuf;

use shadernet::data::{Augment, Loader, LoaderConfig, Split};
use shadernet::nn::io;
use shadernet::nn::optim::OptimizerConfig;
use shadernet::nn::schedule::Schedule;
use shadernet::train::{Event, TrainOptions, Trainer};

use super::common::{build_model, load_dataset, load_weights, open_device, read_weights, tensor_error, user};

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
    /// Epochs to train.
    #[arg(long, default_value_t = 30)]
    pub epochs: usize,
    /// Images per batch.
    #[arg(long, default_value_t = 128)]
    pub batch: usize,
    /// sgd or adamw.
    #[arg(long, default_value = "sgd")]
    pub optimizer: String,
    /// Base learning rate.
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
    /// cosine, step, onecycle or none.
    #[arg(long, default_value = "cosine")]
    pub schedule: String,
    /// Linear warm-up epochs.
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
    /// Start from these weights instead of random ones.
    #[arg(long)]
    pub init: Option<PathBuf>,
    /// Stop after this many optimizer steps.
    #[arg(long)]
    pub steps: Option<usize>,
    /// Write the final weights (PyTorch key names) here.
    #[arg(long)]
    pub save: Option<PathBuf>,
    /// Adapter: index or name substring (see `shadernet info`).
    #[arg(long)]
    pub device: Option<String>,
    /// Print one JSON summary on the last line.
    #[arg(long)]
    pub json: bool,
}

fn optimizer(a: &TrainArgs) -> anyhow::Result<OptimizerConfig> {
    match a.optimizer.as_str() {
        "sgd" => Ok(OptimizerConfig::sgd(a.momentum, a.weight_decay, a.nesterov)),
        "adamw" => Ok(OptimizerConfig::adamw(a.weight_decay)),
        other => Err(user(format!("unknown optimizer `{other}`; use sgd or adamw"))),
    }
}

fn schedule(name: &str, epochs: usize) -> anyhow::Result<Schedule> {
    match name {
        "cosine" => Ok(Schedule::Cosine),
        "step" => Ok(Schedule::Step {
            step_size: 0,
            gamma: 0.1,
        })
        .map(|s| {
            let _ = epochs;
            s
        }),
        "onecycle" => Ok(Schedule::OneCycle),
        "none" | "constant" => Ok(Schedule::Constant),
        other => Err(user(format!("unknown schedule `{other}`; use cosine, step, onecycle or none"))),
    }
}

/// Runs `train`.
pub fn run(a: &TrainArgs) -> anyhow::Result<()> {
    if a.batch == 0 {
        return Err(user("--batch must be at least 1"));
    }
    if a.steps == Some(0) {
        return Err(user("--steps must be at least 1"));
    }
    if !(a.lr.is_finite() && a.lr > 0.0) {
        return Err(user(format!("--lr must be a positive number, got {}", a.lr)));
    }
    let opt = optimizer(a)?;
    let sched = schedule(&a.schedule, a.epochs)?;
    let init = a.init.as_deref().map(read_weights).transpose()?;
    if let Some(save) = &a.save {
        check_writable(save)?;
    }
    let train_set = load_dataset(&a.dataset, &a.data, Split::Train)?.ok_or_else(|| user("no training split"))?;
    let test_set = load_dataset(&a.dataset, &a.data, Split::Test)?;
    let device = open_device(a.device.as_deref())?;
    let model = build_model(&a.model, &train_set, &device, a.seed)?;
    if let Some(sd) = &init {
        load_weights(&model, sd)?;
    }
    let augment = a.augment || (a.dataset == "cifar10" && !a.no_augment);
    let loader_cfg = LoaderConfig {
        batch: a.batch,
        shuffle: !a.no_shuffle,
        augment: if augment && a.dataset != "tensors" { Some(Augment::CIFAR10) } else { None },
        seed: a.seed,
        drop_last: false,
    };
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
    let sched = match sched {
        Schedule::Step { gamma, .. } => Schedule::Step {
            step_size: (a.epochs.max(3) / 3) * steps_per_epoch,
            gamma,
        },
        s => s,
    };
    let options = TrainOptions {
        optimizer: opt,
        lr: a.lr,
        schedule: sched,
        warmup_epochs: a.warmup_epochs,
        epochs: if a.steps.is_some() { usize::MAX } else { a.epochs },
        steps: a.steps,
        label_smoothing: a.label_smoothing,
        seed: a.seed,
        log_every: if a.steps.is_some() { a.steps.unwrap_or(1).min(50) } else { 50 },
    };
    let mut trainer = Trainer::new(&device, model, options).map_err(tensor_error)?;
    let json = a.json;
    let (summaries, losses) = trainer
        .fit(&train, test.as_ref(), 0, 0, |e| report(e, json))
        .map_err(tensor_error)?;
    if let Some(path) = &a.save {
        let sd = io::state_dict(&trainer.model).map_err(|e| anyhow::anyhow!(e))?;
        sd.save(path).map_err(user)?;
        if !json {
            println!("saved {}", path.display());
        }
    }
    if json {
        let last = summaries.last();
        let out = serde_json::json!({
            "steps": trainer.step,
            "losses": if a.steps.is_some() { serde_json::json!(losses) } else { serde_json::Value::Null },
            "epochs": summaries.len(),
            "train_loss": last.map(|s| s.train_loss),
            "test_accuracy": last.and_then(|s| s.test.map(|t| t.accuracy)),
            "test_loss": last.and_then(|s| s.test.map(|t| t.loss)),
            "images_per_s": last.map(|s| s.images_per_s),
            "elapsed_s": last.map(|s| s.elapsed_s),
        });
        println!("{out}");
    }
    Ok(())
}

fn report(e: &Event, json: bool) {
    if json {
        return;
    }
    match e {
        Event::Steps {
            epoch,
            step,
            steps_per_epoch,
            losses,
            lr,
            images_per_s,
        } => {
            let loss = losses.last().copied().unwrap_or(f32::NAN);
            println!("epoch {epoch} step {step} ({steps_per_epoch}/epoch) loss {loss:.4} lr {lr:.4} {images_per_s:.1} img/s");
        }
        Event::Epoch(s) => {
            let test = s
                .test
                .map(|t| format!(" test loss {:.4} accuracy {:.4}", t.loss, t.accuracy))
                .unwrap_or_default();
            println!(
                "epoch {} done: train loss {:.4}{test} {:.1} img/s {:.1}s",
                s.epoch, s.train_loss, s.images_per_s, s.elapsed_s
            );
        }
    }
}

/// Fails early when an output path's directory does not exist or is not writable.
pub fn check_writable(path: &std::path::Path) -> anyhow::Result<()> {
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(std::path::Path::new("."));
    let meta = std::fs::metadata(dir).map_err(|e| user(format!("cannot write {}: {}: {e}", path.display(), dir.display())))?;
    if !meta.is_dir() || meta.permissions().readonly() {
        return Err(user(format!("cannot write {}: {} is not a writable directory", path.display(), dir.display())));
    }
    Ok(())
}
