//! The training loop, shared by `shadernet train` on every data set and by the
//! library API (`examples/train_cifar10.rs`).
//!
//! One step: upload the batch (a pool hit, no allocation), forward on a
//! recording tape, mean cross-entropy, count of correct predictions, backward,
//! optimizer update — all recorded into the device's command batch with no
//! readback. Losses are copied on the GPU into a history buffer and read back
//! only every `log_every` steps (and at checkpoints and epoch ends).
//!
//! A [`Trainer`] knows where it is ([`Trainer::step`], [`Trainer::epoch`],
//! [`Trainer::batch`]) and what happened so far ([`Trainer::history`]), so
//! [`crate::checkpoint`] can save and restore a run mid-epoch and a resumed
//! run takes exactly the steps (same batches, same dropout masks, same
//! optimizer state) that the uninterrupted run would have taken.

use std::time::Instant;

use shadernet_data::{Batch, DataError, Loader};
use shadernet_models::Model;
use shadernet_nn::functional as f;
use shadernet_nn::optim::{Optimizer, OptimizerConfig};
use shadernet_nn::schedule::{LrSchedule, Schedule};
use shadernet_nn::{Module, Tape, Var};
use shadernet_tensor::ops::{elementwise, softmax};
use shadernet_tensor::{DType, Device, Result, Tensor};

/// Hyperparameters of a run.
#[derive(Clone, Debug)]
pub struct TrainOptions {
    /// Optimizer and its settings.
    pub optimizer: OptimizerConfig,
    /// Base learning rate.
    pub lr: f64,
    /// Learning-rate schedule after warm-up.
    pub schedule: Schedule,
    /// Linear warm-up length in epochs.
    pub warmup_epochs: usize,
    /// Epochs to run (ignored when `steps` is set).
    pub epochs: usize,
    /// Stop after this many optimizer steps in all (counting the steps of a
    /// run this one resumes).
    pub steps: Option<usize>,
    /// Label smoothing of the cross-entropy.
    pub label_smoothing: f32,
    /// Seed of dropout masks (data order and augmentation have the loader's seed).
    pub seed: u64,
    /// Read the loss back every this many steps for progress reports.
    pub log_every: usize,
}

impl TrainOptions {
    /// Options with the given optimizer and learning rate: constant schedule,
    /// no warm-up, one epoch, no step limit, no label smoothing, seed 0, a
    /// loss read back every 50 steps.
    pub fn new(optimizer: OptimizerConfig, lr: f64) -> TrainOptions {
        TrainOptions {
            optimizer,
            lr,
            schedule: Schedule::Constant,
            warmup_epochs: 0,
            epochs: 1,
            steps: None,
            label_smoothing: 0.0,
            seed: 0,
            log_every: 50,
        }
    }
}

/// What happened, as the loop reports it.
#[derive(Clone, Debug)]
pub enum Event {
    /// An epoch (or the rest of a resumed one) begins.
    EpochStart {
        /// Epoch (0-based).
        epoch: usize,
        /// Batches of it already done (non-zero when resuming mid-epoch).
        batch: usize,
        /// Steps per epoch.
        steps_per_epoch: usize,
    },
    /// Losses of the steps since the previous report (read back every
    /// `log_every` steps, at checkpoints and at the end of an epoch).
    Steps {
        /// Epoch (0-based).
        epoch: usize,
        /// Step count after the last of these steps (1-based step number of
        /// the last loss).
        step: usize,
        /// Batches of this epoch done so far.
        batch: usize,
        /// Steps per epoch.
        steps_per_epoch: usize,
        /// Loss of each step since the previous report, in order.
        losses: Vec<f32>,
        /// Learning rate of each of these steps, in order.
        lrs: Vec<f64>,
        /// Learning rate of the last step.
        lr: f64,
        /// Training images per second since this epoch (or its resumed part) began.
        images_per_s: f64,
        /// Seconds since the run began (a resumed run counts the time before).
        elapsed_s: f64,
    },
    /// [`Trainer::checkpoint_every`] steps have passed: the trainer's state is
    /// consistent (every loss read back) and may be saved.
    Checkpoint {
        /// Steps so far.
        step: usize,
    },
    /// End of an epoch, after evaluation; also sent when the run stops
    /// mid-epoch at `steps` (then `complete` is false).
    Epoch(EpochSummary),
}

/// One epoch's figures.
#[derive(Clone, Debug, PartialEq)]
pub struct EpochSummary {
    /// Epoch (0-based).
    pub epoch: usize,
    /// Optimizer steps so far.
    pub step: usize,
    /// Whether the epoch ran to its end (false when `--steps` stopped it).
    pub complete: bool,
    /// Mean training loss over the epoch's steps.
    pub train_loss: f64,
    /// Fraction of the epoch's training images the model classified right
    /// (during the step, before its update; with augmentation, on augmented images).
    pub train_accuracy: f64,
    /// Learning rate of the epoch's last step.
    pub lr: f64,
    /// Training images per second (wall clock, including data and sync).
    pub images_per_s: f64,
    /// Seconds the training loop waited for the loader's next batch. The
    /// loader decodes and augments on its own thread while the GPU runs the
    /// current step, so this stays a small fraction of the epoch.
    pub data_wait_s: f64,
    /// Test-split figures, when there is a test split.
    pub test: Option<EvalSummary>,
    /// Seconds since the run began.
    pub elapsed_s: f64,
}

impl EpochSummary {
    /// The summary as a JSON object (`null` for NaN and absent test figures):
    /// `{"epoch","step","complete","train_loss","train_accuracy","lr",
    /// "images_per_s","data_wait_s","test_loss","test_accuracy","test_images","elapsed_s"}`.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "epoch": self.epoch,
            "step": self.step,
            "complete": self.complete,
            "train_loss": finite(self.train_loss),
            "train_accuracy": finite(self.train_accuracy),
            "lr": finite(self.lr),
            "images_per_s": finite(self.images_per_s),
            "data_wait_s": finite(self.data_wait_s),
            "test_loss": self.test.and_then(|t| finite(t.loss)),
            "test_accuracy": self.test.and_then(|t| finite(t.accuracy)),
            "test_images": self.test.map(|t| t.images),
            "elapsed_s": finite(self.elapsed_s),
        })
    }

    /// Reads back what [`EpochSummary::to_json`] wrote; `None` if a required
    /// field is missing.
    pub fn from_json(v: &serde_json::Value) -> Option<EpochSummary> {
        let num = |k: &str| {
            v.get(k)
                .and_then(serde_json::Value::as_f64)
                .unwrap_or(f64::NAN)
        };
        let test = match (
            v.get("test_accuracy").and_then(serde_json::Value::as_f64),
            v.get("test_images").and_then(serde_json::Value::as_u64),
        ) {
            (Some(accuracy), Some(images)) => Some(EvalSummary {
                accuracy,
                loss: num("test_loss"),
                images: images as usize,
                images_per_s: f64::NAN,
            }),
            _ => None,
        };
        Some(EpochSummary {
            epoch: v.get("epoch")?.as_u64()? as usize,
            step: v.get("step")?.as_u64()? as usize,
            complete: v.get("complete")?.as_bool()?,
            train_loss: num("train_loss"),
            train_accuracy: num("train_accuracy"),
            lr: num("lr"),
            images_per_s: num("images_per_s"),
            data_wait_s: num("data_wait_s"),
            test,
            elapsed_s: num("elapsed_s"),
        })
    }
}

/// `Some(x)` when `x` is finite (JSON has no NaN or infinity).
pub fn finite(x: f64) -> Option<f64> {
    x.is_finite().then_some(x)
}

/// Accuracy and mean loss over a data set.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct EvalSummary {
    /// Fraction of images whose argmax equals the label.
    pub accuracy: f64,
    /// Mean cross-entropy.
    pub loss: f64,
    /// Images evaluated.
    pub images: usize,
    /// Images per second.
    pub images_per_s: f64,
}

/// Everything recorded so far in a run (carried by checkpoints).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct History {
    /// The loss of every optimizer step: `step_losses[i]` is the loss of step `i + 1`.
    pub step_losses: Vec<f32>,
    /// One summary per epoch, in order (the last may be incomplete).
    pub epochs: Vec<EpochSummary>,
}

/// Sums of the epoch in progress, so that a checkpoint taken mid-epoch
/// resumes them.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct EpochProgress {
    /// Sum of the losses of this epoch's steps.
    pub loss_sum: f64,
    /// Steps of this epoch whose loss is in `loss_sum`.
    pub loss_count: usize,
    /// Training images of this epoch so far.
    pub images: usize,
    /// Of which the model classified this many right.
    pub correct: u64,
}

/// Why [`Trainer::fit`] stopped early.
#[derive(Debug)]
pub enum TrainError {
    /// A GPU or shape error.
    Tensor(shadernet_tensor::Error),
    /// The data loader failed.
    Data(DataError),
    /// The event callback failed (e.g. a checkpoint could not be written).
    Hook(anyhow::Error),
}

impl std::fmt::Display for TrainError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TrainError::Tensor(e) => write!(f, "{e}"),
            TrainError::Data(e) => write!(f, "{e}"),
            TrainError::Hook(e) => write!(f, "{e:#}"),
        }
    }
}

impl std::error::Error for TrainError {}

impl From<shadernet_tensor::Error> for TrainError {
    fn from(e: shadernet_tensor::Error) -> Self {
        TrainError::Tensor(e)
    }
}

/// Uploads a host batch as (images, labels) tensors.
pub fn upload(device: &Device, batch: &Batch) -> Result<(Tensor, Tensor)> {
    Ok((
        Tensor::from_f32(device, &batch.images, &batch.shape)?,
        Tensor::from_u32(device, &batch.labels, &[batch.n])?,
    ))
}

/// A model, its optimizer, and where the run stands.
pub struct Trainer {
    /// The model being trained.
    pub model: Model,
    /// The optimizer over the model's parameters.
    pub optimizer: Optimizer,
    /// The options of the run.
    pub options: TrainOptions,
    device: Device,
    /// Optimizer steps taken.
    pub step: usize,
    /// The epoch in progress (0-based).
    pub epoch: usize,
    /// Batches of `epoch` already trained on.
    pub batch: usize,
    /// Sums of the epoch in progress.
    pub progress: EpochProgress,
    /// Losses and epoch summaries so far.
    pub history: History,
    /// Seconds spent before this process (a resumed run's earlier part).
    pub elapsed_before: f64,
    /// Send [`Event::Checkpoint`] every this many steps (besides every epoch end).
    pub checkpoint_every: Option<usize>,
    /// GPU counter of this epoch's correct training predictions (u32 `[1]`).
    correct: Tensor,
    /// When `fit` began in this process.
    started: Option<Instant>,
}

impl Trainer {
    /// A trainer for `model`, at step 0.
    pub fn new(device: &Device, model: Model, options: TrainOptions) -> Result<Trainer> {
        let optimizer = Optimizer::new(options.optimizer, model.params())?;
        Ok(Trainer {
            model,
            optimizer,
            options,
            device: device.clone(),
            step: 0,
            epoch: 0,
            batch: 0,
            progress: EpochProgress::default(),
            history: History::default(),
            elapsed_before: 0.0,
            checkpoint_every: None,
            started: None,
            correct: Tensor::zeros(device, &[1], DType::U32)?,
        })
    }

    /// The device.
    pub fn device(&self) -> &Device {
        &self.device
    }

    /// Total optimizer steps of the run for `steps_per_epoch`: `steps` when
    /// set, else `epochs × steps_per_epoch`.
    pub fn total_steps(&self, steps_per_epoch: usize) -> usize {
        self.options
            .steps
            .unwrap_or(self.options.epochs.saturating_mul(steps_per_epoch))
    }

    /// The learning-rate schedule for `steps_per_epoch`: linear warm-up over
    /// `warmup_epochs` epochs, then `schedule` over the remaining steps of
    /// [`Trainer::total_steps`].
    pub fn schedule(&self, steps_per_epoch: usize) -> LrSchedule {
        LrSchedule {
            base_lr: self.options.lr,
            schedule: self.options.schedule,
            total_steps: self.total_steps(steps_per_epoch),
            warmup_steps: self.options.warmup_epochs * steps_per_epoch,
        }
    }

    /// Seconds the run has taken so far: this process's `fit` plus the
    /// time recorded before a resume.
    pub fn elapsed_s(&self) -> f64 {
        self.elapsed_before + self.started.map_or(0.0, |s| s.elapsed().as_secs_f64())
    }

    /// The correct-prediction count of the epoch in progress (a readback).
    pub fn epoch_correct(&self) -> Result<u64> {
        Ok(u64::from(
            self.correct.to_vec_u32()?.first().copied().unwrap_or(0),
        ))
    }

    /// Sets the correct-prediction count of the epoch in progress (resume).
    pub fn set_epoch_correct(&mut self, correct: u64) -> Result<()> {
        self.progress.correct = correct;
        self.correct
            .write_u32(&[u32::try_from(correct).unwrap_or(u32::MAX)])
    }

    /// One optimizer step on uploaded tensors; returns the loss as a `[1]`
    /// tensor (not read back). Also adds the batch's correct predictions to
    /// the epoch's GPU counter.
    pub fn train_step(&mut self, images: &Tensor, labels: &Tensor, lr: f64) -> Result<Tensor> {
        let seed =
            (self.options.seed as u32).wrapping_add((self.step as u32).wrapping_mul(0x9E37_79B9));
        let tape = Tape::training().with_seed(seed);
        let logits = self.model.forward(&tape, &Var::constant(images.clone()))?;
        softmax::count_correct(logits.tensor(), labels, &self.correct)?;
        let loss = f::cross_entropy(&tape, &logits, labels, self.options.label_smoothing)?;
        let grads = tape.backward(&loss)?;
        self.optimizer.step(&grads, lr as f32)?;
        self.step += 1;
        Ok(loss.into_tensor())
    }

    /// Whether the run is over (`steps` reached, or every epoch done).
    pub fn finished(&self) -> bool {
        match self.options.steps {
            Some(s) => self.step >= s,
            None => self.epoch >= self.options.epochs,
        }
    }

    fn steps_reached(&self) -> bool {
        self.options.steps.is_some_and(|s| self.step >= s)
    }

    /// Trains from where the trainer stands (step, epoch, batch: all 0 for a
    /// new run, a checkpoint's position for a resumed one) until
    /// [`Trainer::finished`], evaluating on `test` after each epoch.
    ///
    /// `hook` sees every event together with the trainer, whose state is
    /// consistent at each event (so it may save a checkpoint); an error from
    /// it stops the run. Everything recorded is in [`Trainer::history`].
    pub fn fit(
        &mut self,
        train: &Loader,
        test: Option<&Loader>,
        mut hook: impl FnMut(&Event, &Trainer) -> anyhow::Result<()>,
    ) -> std::result::Result<(), TrainError> {
        let steps_per_epoch = train.batches_per_epoch();
        if steps_per_epoch == 0 {
            return Err(TrainError::Data(DataError::Config(format!(
                "data set `{}` has {} images, not enough for one batch of {}",
                train.dataset().name,
                train.dataset().len(),
                train.config().batch
            ))));
        }
        let schedule = self.schedule(steps_per_epoch);
        if self.started.is_none() {
            self.started = Some(Instant::now());
        }
        let log_every = self.options.log_every.max(1);
        let buffer = Tensor::zeros(&self.device, &[log_every], DType::F32)?;
        let mut last_lr = schedule.lr(self.step);
        while !self.finished() {
            let epoch = self.epoch;
            let epoch_start = Instant::now();
            let mut images = 0usize;
            let mut pending = 0usize;
            let mut lrs = Vec::with_capacity(log_every);
            let prefetch = train
                .prefetch(epoch, self.batch)
                .map_err(TrainError::Data)?;
            let start = Event::EpochStart {
                epoch,
                batch: self.batch,
                steps_per_epoch,
            };
            hook(&start, self).map_err(TrainError::Hook)?;
            let mut batches = prefetch;
            let mut data_wait = std::time::Duration::ZERO;
            loop {
                if self.steps_reached() {
                    break;
                }
                let waited = Instant::now();
                let Some(batch) = batches.next() else { break };
                data_wait += waited.elapsed();
                let (x, y) = upload(&self.device, &batch)?;
                last_lr = schedule.lr(self.step);
                let loss = self.train_step(&x, &y, last_lr)?;
                buffer.copy_into_at(&loss, pending)?;
                lrs.push(last_lr);
                pending += 1;
                images += batch.n;
                self.batch += 1;
                self.progress.images += batch.n;
                let checkpoint_due = self
                    .checkpoint_every
                    .is_some_and(|k| k > 0 && self.step.is_multiple_of(k));
                if pending == log_every
                    || checkpoint_due
                    || self.steps_reached()
                    || self.batch >= steps_per_epoch
                {
                    let losses = buffer.to_vec_f32()?[..pending].to_vec();
                    self.progress.loss_sum += losses.iter().map(|&l| f64::from(l)).sum::<f64>();
                    self.progress.loss_count += losses.len();
                    self.history.step_losses.extend_from_slice(&losses);
                    pending = 0;
                    let event = Event::Steps {
                        epoch,
                        step: self.step,
                        batch: self.batch,
                        steps_per_epoch,
                        losses,
                        lrs: std::mem::take(&mut lrs),
                        lr: last_lr,
                        images_per_s: images as f64 / epoch_start.elapsed().as_secs_f64().max(1e-9),
                        elapsed_s: self.elapsed_s(),
                    };
                    hook(&event, self).map_err(TrainError::Hook)?;
                    if checkpoint_due {
                        self.progress.correct = self.epoch_correct()?;
                        hook(&Event::Checkpoint { step: self.step }, self)
                            .map_err(TrainError::Hook)?;
                    }
                }
            }
            self.device.sync()?;
            let images_per_s = images as f64 / epoch_start.elapsed().as_secs_f64().max(1e-9);
            let test_summary = match test {
                Some(t) => Some(evaluate(
                    &self.device,
                    &self.model,
                    t,
                    self.options.label_smoothing,
                )?),
                None => None,
            };
            self.progress.correct = self.epoch_correct()?;
            let complete = self.batch >= steps_per_epoch;
            let p = self.progress;
            let summary = EpochSummary {
                epoch,
                step: self.step,
                complete,
                train_loss: if p.loss_count > 0 {
                    p.loss_sum / p.loss_count as f64
                } else {
                    f64::NAN
                },
                train_accuracy: if p.images > 0 {
                    p.correct as f64 / p.images as f64
                } else {
                    f64::NAN
                },
                lr: last_lr,
                images_per_s,
                data_wait_s: data_wait.as_secs_f64(),
                test: test_summary,
                elapsed_s: self.elapsed_s(),
            };
            if complete {
                self.epoch += 1;
                self.batch = 0;
                self.progress = EpochProgress::default();
                self.correct.write_u32(&[0])?;
            }
            self.history.epochs.push(summary.clone());
            hook(&Event::Epoch(summary), self).map_err(TrainError::Hook)?;
            if !complete {
                break;
            }
        }
        Ok(())
    }
}

/// Accuracy and mean loss of `model` (eval mode) over every batch of `data`;
/// accumulated on the GPU, read back once.
pub fn evaluate(
    device: &Device,
    model: &Model,
    data: &Loader,
    label_smoothing: f32,
) -> Result<EvalSummary> {
    let start = Instant::now();
    let correct = Tensor::zeros(device, &[1], DType::U32)?;
    let mut loss_sum = Tensor::zeros(device, &[1], DType::F32)?;
    let mut images = 0;
    for batch in data.epoch(0) {
        let (x, y) = upload(device, &batch)?;
        let tape = Tape::inference();
        let logits = model.forward(&tape, &Var::constant(x))?;
        let ce = softmax::cross_entropy(logits.tensor(), &y, label_smoothing)?;
        loss_sum = elementwise::add(
            &loss_sum,
            &elementwise::mul_scalar(&ce.loss, batch.n as f32)?,
        )?;
        softmax::count_correct(logits.tensor(), &y, &correct)?;
        images += batch.n;
    }
    let correct = correct.to_vec_u32()?.first().copied().unwrap_or(0);
    let loss = loss_sum.to_scalar_f32()?;
    let n = images.max(1) as f64;
    Ok(EvalSummary {
        accuracy: f64::from(correct) / n,
        loss: f64::from(loss) / n,
        images,
        images_per_s: images as f64 / start.elapsed().as_secs_f64().max(1e-9),
    })
}
