//! Training checkpoints: everything `train --resume` needs, in one
//! safetensors file, written atomically.
//!
//! # Format (`format = shadernet-checkpoint`, `format_version = 1`)
//!
//! Tensors:
//! - the model's state dict under its PyTorch names (`conv1.weight`,
//!   `bn1.running_mean`, `bn1.num_batches_tracked`, ...), so the weights part
//!   is exactly what `--save` writes;
//! - the optimizer state under `optimizer.state.<param>.<buffer>`, with
//!   PyTorch's buffer names: `momentum_buffer` (SGD), `exp_avg` and
//!   `exp_avg_sq` (Adam, AdamW); a parameter that never had a gradient has none;
//! - `shadernet.step_losses` (F32 `[steps]`): the loss of every step so far.
//!
//! String metadata (safetensors `__metadata__`): `model`, `optimizer`
//! (`sgd`, `adamw` or `adam`), `optimizer_steps`, `step` (optimizer steps
//! taken), `epoch` (the epoch in progress, 0-based) and `batch_in_epoch`
//! (batches of it done), `seed`, the sums of the epoch in progress
//! (`epoch_loss_sum`, `epoch_loss_count`, `epoch_images`, `epoch_correct`),
//! `elapsed_s`, `history` (a JSON array of the epoch summaries) and `config`
//! (a JSON object of the run's arguments: data set, batch size, learning
//! rate, ...).
//!
//! `eval`, `infer` and `train --init` accept a checkpoint wherever they take
//! weights ([`model_weights`] drops the non-model tensors).
//!
//! [`save`] goes through [`StateDict::save`]: a temporary file in the same
//! directory, fsynced, renamed over the target. A process killed at any
//! moment leaves either the previous checkpoint or the new one, never a mix
//! (at worst a stray `.NAME.PID.N.tmp` file beside it).

use std::path::{Path, PathBuf};

use shadernet_nn::io::{self, IoError};
use shadernet_nn::optim::{OptimizerConfig, ParamState};
use shadernet_nn::state_dict::{HostTensor, StateDict, StateDictError};
use shadernet_nn::Module;
use shadernet_tensor::Tensor;

use crate::train::{EpochProgress, EpochSummary, History, Trainer};

/// The `format` metadata value of a checkpoint.
pub const FORMAT: &str = "shadernet-checkpoint";
/// The `format_version` this code writes and reads.
pub const FORMAT_VERSION: &str = "1";
/// Prefix of the optimizer-state tensors.
pub const OPTIMIZER_PREFIX: &str = "optimizer.state.";
/// Name of the per-step loss tensor.
pub const STEP_LOSSES: &str = "shadernet.step_losses";

/// Why a checkpoint could not be written, read or used.
#[derive(Debug)]
pub enum CheckpointError {
    /// The file is not a checkpoint this run can resume from (another model,
    /// other shapes, another optimizer, not a checkpoint at all): the user's input.
    Mismatch(String),
    /// The file could not be read or parsed (the user's input).
    Read(StateDictError),
    /// Writing the file failed.
    Write(StateDictError),
    /// Reading the model or optimizer state back from the GPU failed.
    Tensor(shadernet_tensor::Error),
}

impl std::fmt::Display for CheckpointError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CheckpointError::Mismatch(m) => f.write_str(m),
            CheckpointError::Read(e) => write!(f, "{e}"),
            CheckpointError::Write(e) => write!(f, "writing the checkpoint failed: {e}"),
            CheckpointError::Tensor(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for CheckpointError {}

impl From<shadernet_tensor::Error> for CheckpointError {
    fn from(e: shadernet_tensor::Error) -> Self {
        CheckpointError::Tensor(e)
    }
}

/// The `optimizer` metadata value of a configuration.
pub fn optimizer_kind(config: &OptimizerConfig) -> &'static str {
    match config {
        OptimizerConfig::Sgd { .. } => "sgd",
        OptimizerConfig::Adam {
            decoupled: true, ..
        } => "adamw",
        OptimizerConfig::Adam {
            decoupled: false, ..
        } => "adam",
    }
}

/// The PyTorch names of the optimizer's per-parameter buffers.
fn buffer_names(config: &OptimizerConfig) -> (&'static str, Option<&'static str>) {
    match config {
        OptimizerConfig::Sgd { .. } => ("momentum_buffer", None),
        OptimizerConfig::Adam { .. } => ("exp_avg", Some("exp_avg_sq")),
    }
}

/// Everything about `trainer` a resumed run needs, as a state dict with
/// metadata; `config` (any JSON object, the run's arguments) is stored as is.
/// Reads the model and optimizer state back from the GPU (a sync point).
pub fn capture(
    trainer: &Trainer,
    config: &serde_json::Value,
) -> Result<StateDict, CheckpointError> {
    let mut sd = io::state_dict(&trainer.model).map_err(|e| match e {
        IoError::Tensor(t) => CheckpointError::Tensor(t),
        IoError::StateDict(s) => CheckpointError::Write(s),
    })?;
    let opt_config = *trainer.optimizer.config();
    let (first, second) = buffer_names(&opt_config);
    for (name, p) in trainer.model.named_params() {
        let Some(state) = trainer.optimizer.state(&p) else {
            continue;
        };
        sd.insert(
            format!("{OPTIMIZER_PREFIX}{name}.{first}"),
            HostTensor::f32(state.first.shape().to_vec(), state.first.to_vec_f32()?),
        );
        if let (Some(second_name), Some(t)) = (second, &state.second) {
            sd.insert(
                format!("{OPTIMIZER_PREFIX}{name}.{second_name}"),
                HostTensor::f32(t.shape().to_vec(), t.to_vec_f32()?),
            );
        }
    }
    if !trainer.history.step_losses.is_empty() {
        sd.insert(
            STEP_LOSSES,
            HostTensor::f32(
                vec![trainer.history.step_losses.len()],
                trainer.history.step_losses.clone(),
            ),
        );
    }
    let p = trainer.progress;
    let correct = trainer.epoch_correct()?;
    let history: Vec<serde_json::Value> = trainer
        .history
        .epochs
        .iter()
        .map(EpochSummary::to_json)
        .collect();
    let meta: [(&str, String); 18] = [
        ("format", FORMAT.to_string()),
        ("format_version", FORMAT_VERSION.to_string()),
        (
            "written_by",
            format!("shadernet {}", env!("CARGO_PKG_VERSION")),
        ),
        ("model", trainer.model.name.clone()),
        ("optimizer", optimizer_kind(&opt_config).to_string()),
        ("optimizer_steps", trainer.optimizer.steps().to_string()),
        ("step", trainer.step.to_string()),
        ("epoch", trainer.epoch.to_string()),
        ("batch_in_epoch", trainer.batch.to_string()),
        ("seed", trainer.options.seed.to_string()),
        ("epoch_loss_sum", p.loss_sum.to_string()),
        ("epoch_loss_count", p.loss_count.to_string()),
        ("epoch_images", p.images.to_string()),
        ("epoch_correct", correct.to_string()),
        ("elapsed_s", trainer.elapsed_s().to_string()),
        ("history", serde_json::Value::Array(history).to_string()),
        ("config", config.to_string()),
        (
            "steps_recorded",
            trainer.history.step_losses.len().to_string(),
        ),
    ];
    for (k, v) in meta {
        sd.set_metadata(k, v);
    }
    Ok(sd)
}

/// Writes a checkpoint of `trainer` to `path` atomically (see the module docs).
pub fn save(
    trainer: &Trainer,
    config: &serde_json::Value,
    path: &Path,
) -> Result<(), CheckpointError> {
    let sd = capture(trainer, config)?;
    sd.save(path).map_err(CheckpointError::Write)
}

/// Whether a state dict is a checkpoint (by its `format` metadata).
pub fn is_checkpoint(sd: &StateDict) -> bool {
    sd.get_metadata("format") == Some(FORMAT)
}

/// The model weights of a state dict: a checkpoint's without its optimizer
/// state and history, any other state dict unchanged.
pub fn model_weights(sd: StateDict) -> StateDict {
    if !is_checkpoint(&sd) {
        return sd;
    }
    sd.into_iter()
        .filter(|(k, _)| !k.starts_with(OPTIMIZER_PREFIX) && !k.starts_with("shadernet."))
        .collect()
}

/// A checkpoint read from a file.
pub struct Checkpoint {
    /// Where it was read from.
    pub path: PathBuf,
    /// Its tensors and metadata.
    pub state: StateDict,
}

fn meta_num<T: std::str::FromStr>(
    sd: &StateDict,
    path: &Path,
    key: &str,
) -> Result<T, CheckpointError> {
    sd.get_metadata(key)
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| {
            CheckpointError::Mismatch(format!(
                "checkpoint {} has no valid `{key}` entry in its metadata",
                path.display()
            ))
        })
}

impl Checkpoint {
    /// Reads and checks a checkpoint file (format and version).
    pub fn load(path: &Path) -> Result<Checkpoint, CheckpointError> {
        let state = StateDict::load(path).map_err(CheckpointError::Read)?;
        if !is_checkpoint(&state) {
            return Err(CheckpointError::Mismatch(format!(
                "{} is a weights file, not a training checkpoint (it has no optimizer state or position); use --init to start from its weights",
                path.display()
            )));
        }
        if state.get_metadata("format_version") != Some(FORMAT_VERSION) {
            return Err(CheckpointError::Mismatch(format!(
                "checkpoint {} has format version {}, this build reads version {FORMAT_VERSION}",
                path.display(),
                state.get_metadata("format_version").unwrap_or("(none)")
            )));
        }
        Ok(Checkpoint {
            path: path.to_path_buf(),
            state,
        })
    }

    /// The model it was written for.
    pub fn model(&self) -> &str {
        self.state.get_metadata("model").unwrap_or("")
    }

    /// Optimizer steps taken.
    pub fn step(&self) -> usize {
        self.state
            .get_metadata("step")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    }

    /// The epoch in progress and the batches of it done.
    pub fn position(&self) -> (usize, usize) {
        let get = |k| {
            self.state
                .get_metadata(k)
                .and_then(|v| v.parse().ok())
                .unwrap_or(0)
        };
        (get("epoch"), get("batch_in_epoch"))
    }

    /// The run configuration it was written with (`Null` if absent).
    pub fn config(&self) -> serde_json::Value {
        self.state
            .get_metadata("config")
            .and_then(|c| serde_json::from_str(c).ok())
            .unwrap_or(serde_json::Value::Null)
    }

    /// Puts the checkpoint's weights, optimizer state, position and history
    /// into `trainer`, whose model and optimizer must be those the checkpoint
    /// was written for; `steps_per_epoch` of the data it resumes on. Every
    /// mismatch is a [`CheckpointError::Mismatch`] naming what differs.
    pub fn restore(
        &self,
        trainer: &mut Trainer,
        steps_per_epoch: usize,
    ) -> Result<(), CheckpointError> {
        let path = self.path.display();
        let sd = &self.state;
        let model = trainer.model.name.clone();
        if self.model() != model {
            return Err(CheckpointError::Mismatch(format!(
                "checkpoint {path} was written for model {}, not {model}",
                if self.model().is_empty() {
                    "(unknown)"
                } else {
                    self.model()
                }
            )));
        }
        let opt_config = *trainer.optimizer.config();
        let kind = optimizer_kind(&opt_config);
        let saved_kind = sd.get_metadata("optimizer").unwrap_or("(none)");
        if saved_kind != kind {
            return Err(CheckpointError::Mismatch(format!(
                "checkpoint {path} holds {saved_kind} optimizer state, but this run uses {kind}; resume with --optimizer {saved_kind}"
            )));
        }
        let (epoch, batch): (usize, usize) = (
            meta_num(sd, &self.path, "epoch")?,
            meta_num(sd, &self.path, "batch_in_epoch")?,
        );
        if batch > steps_per_epoch {
            return Err(CheckpointError::Mismatch(format!(
                "checkpoint {path} stopped after batch {batch} of epoch {epoch}, but this data set has only {steps_per_epoch} batches per epoch (another --batch or data set?)"
            )));
        }
        let weights = model_weights(sd.clone());
        io::load_state_dict(&trainer.model, &weights, &model).map_err(|e| match e {
            IoError::StateDict(s) => {
                CheckpointError::Mismatch(format!("checkpoint {path} does not fit this run: {s}"))
            }
            IoError::Tensor(t) => CheckpointError::Tensor(t),
        })?;

        let (first, second) = buffer_names(&opt_config);
        let optimizer_steps: u32 = meta_num(sd, &self.path, "optimizer_steps")?;
        let params = trainer.model.named_params();
        let known: std::collections::HashSet<String> = params
            .iter()
            .flat_map(|(n, _)| {
                let mut v = vec![format!("{OPTIMIZER_PREFIX}{n}.{first}")];
                if let Some(s) = second {
                    v.push(format!("{OPTIMIZER_PREFIX}{n}.{s}"));
                }
                v
            })
            .collect();
        if let Some(stray) = sd
            .keys()
            .find(|k| k.starts_with(OPTIMIZER_PREFIX) && !known.contains(*k))
        {
            return Err(CheckpointError::Mismatch(format!(
                "checkpoint {path} has optimizer state `{stray}`, which no parameter of {model} with {kind} has"
            )));
        }
        let device = trainer.device().clone();
        let host = |name: &str, shape: &[usize]| -> Result<Option<Tensor>, CheckpointError> {
            let Some(t) = sd.get(name) else {
                return Ok(None);
            };
            if t.shape != shape {
                return Err(CheckpointError::Mismatch(format!(
                    "checkpoint {path}: `{name}` has shape {:?}, the parameter has {shape:?}",
                    t.shape
                )));
            }
            Ok(Some(Tensor::from_f32(&device, &t.to_f32_vec(), shape)?))
        };
        for (name, p) in &params {
            let Some(first_t) = host(&format!("{OPTIMIZER_PREFIX}{name}.{first}"), p.shape())?
            else {
                continue;
            };
            let second_t = match second {
                Some(s) => Some(host(&format!("{OPTIMIZER_PREFIX}{name}.{s}"), p.shape())?.ok_or_else(|| {
                    CheckpointError::Mismatch(format!("checkpoint {path} has `{OPTIMIZER_PREFIX}{name}.{first}` but no `{s}` beside it"))
                })?),
                None => None,
            };
            trainer.optimizer.set_state(
                p,
                ParamState {
                    first: first_t,
                    second: second_t,
                },
                optimizer_steps,
            );
        }

        let step: usize = meta_num(sd, &self.path, "step")?;
        let losses = match sd.get(STEP_LOSSES) {
            Some(t) => t.to_f32_vec(),
            None => Vec::new(),
        };
        if losses.len() != step {
            return Err(CheckpointError::Mismatch(format!(
                "checkpoint {path} is at step {step} but records {} step losses",
                losses.len()
            )));
        }
        let epochs: Vec<EpochSummary> = sd
            .get_metadata("history")
            .and_then(|h| serde_json::from_str::<serde_json::Value>(h).ok())
            .and_then(|v| {
                v.as_array()
                    .map(|a| a.iter().filter_map(EpochSummary::from_json).collect())
            })
            .unwrap_or_default();
        trainer.step = step;
        trainer.epoch = epoch;
        trainer.batch = batch;
        trainer.history = History {
            step_losses: losses,
            // An incomplete epoch's summary is replaced when the epoch completes.
            epochs: epochs.into_iter().filter(|e| e.complete).collect(),
        };
        trainer.progress = EpochProgress {
            loss_sum: meta_num(sd, &self.path, "epoch_loss_sum")?,
            loss_count: meta_num(sd, &self.path, "epoch_loss_count")?,
            images: meta_num(sd, &self.path, "epoch_images")?,
            correct: 0,
        };
        trainer.set_epoch_correct(meta_num(sd, &self.path, "epoch_correct")?)?;
        trainer.elapsed_before = meta_num(sd, &self.path, "elapsed_s").unwrap_or(0.0);
        Ok(())
    }
}
