//! The training loop, shared by `shadernet train` on every data set and by the
//! library API (`examples/train_cifar10.rs`).
//!
//! One step: upload the batch (a pool hit, no allocation), forward on a
//! recording tape, mean cross-entropy, backward, optimizer update — all
//! recorded into the device's command batch with no readback. Losses are
//! copied on the GPU into a history buffer and read back only when logged.

use std::time::Instant;

use shadernet_data::{Batch, Loader};
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
    /// Epochs to run (ignored when `steps` is set and reached first).
    pub epochs: usize,
    /// Stop after this many optimizer steps.
    pub steps: Option<usize>,
    /// Label smoothing of the cross-entropy.
    pub label_smoothing: f32,
    /// Seed of dropout masks (data order and augmentation have the loader's seed).
    pub seed: u64,
    /// Read the loss back every this many steps for progress reports.
    pub log_every: usize,
}

/// What happened, as the loop reports it.
#[derive(Clone, Debug)]
pub enum Event {
    /// Losses of logged steps (read back every `log_every` steps).
    Steps {
        /// Epoch (0-based).
        epoch: usize,
        /// Step count after the last of these steps.
        step: usize,
        /// Steps per epoch.
        steps_per_epoch: usize,
        /// Loss of each step since the previous report, in order.
        losses: Vec<f32>,
        /// Learning rate of the last step.
        lr: f64,
        /// Training images per second since the epoch began.
        images_per_s: f64,
    },
    /// End of an epoch, after evaluation.
    Epoch(EpochSummary),
}

/// One epoch's figures.
#[derive(Clone, Debug, PartialEq)]
pub struct EpochSummary {
    /// Epoch (0-based).
    pub epoch: usize,
    /// Optimizer steps so far.
    pub step: usize,
    /// Mean training loss over the epoch's steps.
    pub train_loss: f64,
    /// Training images per second (wall clock, including data and sync).
    pub images_per_s: f64,
    /// Test-split figures, when there is a test split.
    pub test: Option<EvalSummary>,
    /// Seconds since the run began.
    pub elapsed_s: f64,
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

/// Uploads a host batch as (images, labels) tensors.
pub fn upload(device: &Device, batch: &Batch) -> Result<(Tensor, Tensor)> {
    Ok((
        Tensor::from_f32(device, &batch.images, &batch.shape)?,
        Tensor::from_u32(device, &batch.labels, &[batch.n])?,
    ))
}

/// A model, its optimizer and the step count.
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
}

impl Trainer {
    /// A trainer for `model`.
    pub fn new(device: &Device, model: Model, options: TrainOptions) -> Result<Trainer> {
        let optimizer = Optimizer::new(options.optimizer, model.params())?;
        Ok(Trainer {
            model,
            optimizer,
            options,
            device: device.clone(),
            step: 0,
        })
    }

    /// The learning-rate schedule for `steps_per_epoch`.
    pub fn schedule(&self, steps_per_epoch: usize) -> LrSchedule {
        let total = self.options.steps.unwrap_or(self.options.epochs * steps_per_epoch);
        LrSchedule {
            base_lr: self.options.lr,
            schedule: self.options.schedule,
            total_steps: total,
            warmup_steps: self.options.warmup_epochs * steps_per_epoch,
        }
    }

    /// One optimizer step on uploaded tensors; returns the loss as a `[1]`
    /// tensor (not read back).
    pub fn train_step(&mut self, images: &Tensor, labels: &Tensor, lr: f64) -> Result<Tensor> {
        let seed = (self.options.seed as u32).wrapping_add((self.step as u32).wrapping_mul(0x9E37_79B9));
        let tape = Tape::training().with_seed(seed);
        let logits = self.model.forward(&tape, &Var::constant(images.clone()))?;
        let loss = f::cross_entropy(&tape, &logits, labels, self.options.label_smoothing)?;
        let grads = tape.backward(&loss)?;
        self.optimizer.step(&grads, lr as f32)?;
        self.step += 1;
        Ok(loss.into_tensor())
    }

    /// Runs epochs from `start_epoch` (skipping `start_batch` batches of the
    /// first, for a resumed run), evaluating on `test` after each; `report`
    /// sees every event. Returns the summaries and, when `steps` is set, the
    /// loss of every step.
    pub fn fit(
        &mut self,
        train: &Loader,
        test: Option<&Loader>,
        start_epoch: usize,
        start_batch: usize,
        mut report: impl FnMut(&Event),
    ) -> Result<(Vec<EpochSummary>, Vec<f32>)> {
        let steps_per_epoch = train.batches_per_epoch();
        let schedule = self.schedule(steps_per_epoch);
        let started = Instant::now();
        let mut summaries = Vec::new();
        let mut all_losses = Vec::new();
        let log_every = self.options.log_every.max(1);
        let history = Tensor::zeros(&self.device, &[log_every], DType::F32)?;
        let mut epoch = start_epoch;
        let mut skip = start_batch;
        'epochs: while epoch < self.options.epochs || self.options.steps.is_some_and(|s| self.step < s) {
            let epoch_start = Instant::now();
            let (mut pending, mut images, mut loss_sum, mut loss_count) = (0usize, 0usize, 0f64, 0usize);
            let mut last_lr = 0.0;
            let prefetch = train.prefetch(epoch, skip).map_err(|e| shadernet_tensor::Error::Gpu(e.to_string()))?;
            skip = 0;
            for batch in prefetch {
                if self.options.steps.is_some_and(|s| self.step >= s) {
                    break;
                }
                let (x, y) = upload(&self.device, &batch)?;
                last_lr = schedule.lr(self.step);
                let loss = self.train_step(&x, &y, last_lr)?;
                history.copy_into_at(&loss, pending)?;
                pending += 1;
                images += batch.n;
                let done = self.options.steps.is_some_and(|s| self.step >= s);
                if pending == log_every || done {
                    let losses = history.to_vec_f32()?[..pending].to_vec();
                    loss_sum += losses.iter().map(|&l| f64::from(l)).sum::<f64>();
                    loss_count += losses.len();
                    all_losses.extend_from_slice(&losses);
                    report(&Event::Steps {
                        epoch,
                        step: self.step,
                        steps_per_epoch,
                        losses,
                        lr: last_lr,
                        images_per_s: images as f64 / epoch_start.elapsed().as_secs_f64().max(1e-9),
                    });
                    pending = 0;
                }
            }
            if pending > 0 {
                let losses = history.to_vec_f32()?[..pending].to_vec();
                loss_sum += losses.iter().map(|&l| f64::from(l)).sum::<f64>();
                loss_count += losses.len();
                all_losses.extend_from_slice(&losses);
                report(&Event::Steps {
                    epoch,
                    step: self.step,
                    steps_per_epoch,
                    losses,
                    lr: last_lr,
                    images_per_s: images as f64 / epoch_start.elapsed().as_secs_f64().max(1e-9),
                });
            }
            self.device.sync()?;
            let images_per_s = images as f64 / epoch_start.elapsed().as_secs_f64().max(1e-9);
            let test_summary = match test {
                Some(t) => Some(evaluate(&self.device, &self.model, t, self.options.label_smoothing)?),
                None => None,
            };
            let s = EpochSummary {
                epoch,
                step: self.step,
                train_loss: if loss_count > 0 { loss_sum / loss_count as f64 } else { f64::NAN },
                images_per_s,
                test: test_summary,
                elapsed_s: started.elapsed().as_secs_f64(),
            };
            report(&Event::Epoch(s.clone()));
            summaries.push(s);
            epoch += 1;
            if self.options.steps.is_some_and(|s| self.step >= s) || images == 0 {
                break 'epochs;
            }
        }
        Ok((summaries, all_losses))
    }
}

/// Accuracy and mean loss of `model` (eval mode) over every batch of `data`;
/// accumulated on the GPU, read back once.
pub fn evaluate(device: &Device, model: &Model, data: &Loader, label_smoothing: f32) -> Result<EvalSummary> {
    let start = Instant::now();
    let correct = Tensor::zeros(device, &[1], DType::U32)?;
    let mut loss_sum = Tensor::zeros(device, &[1], DType::F32)?;
    let mut images = 0;
    for batch in data.epoch(0) {
        let (x, y) = upload(device, &batch)?;
        let tape = Tape::inference();
        let logits = model.forward(&tape, &Var::constant(x))?;
        let ce = softmax::cross_entropy(logits.tensor(), &y, label_smoothing)?;
        loss_sum = elementwise::add(&loss_sum, &elementwise::mul_scalar(&ce.loss, batch.n as f32)?)?;
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
