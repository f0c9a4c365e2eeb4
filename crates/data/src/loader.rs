//! Batching: shuffling, augmentation and normalization into f32 NCHW
//! batches, as deterministic functions of (seed, epoch, position).

use std::sync::Arc;

use crate::{Augment, DataError, Dataset, Images, Normalization, Prefetcher, Result, SplitMix64};

/// Stream tag of the per-epoch shuffle.
const SHUFFLE_STREAM: u64 = 0x5348_5546; // "SHUF"
/// Stream tag of the per-sample augmentation.
const AUGMENT_STREAM: u64 = 0x4155_474D; // "AUGM"

/// How a [`Loader`] cuts a data set into batches.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoaderConfig {
    /// Images per batch (the last batch may be smaller unless `drop_last`).
    pub batch: usize,
    /// Shuffle the order every epoch (else the data set's order).
    pub shuffle: bool,
    /// Augmentation of u8 images, e.g. [`Augment::CIFAR10`]; `None` for none.
    /// Never applied to already-normalized f32 (`tensors`) images.
    pub augment: Option<Augment>,
    /// Seed of the shuffle and augmentation streams.
    pub seed: u64,
    /// Drop the last batch when it is smaller than `batch`.
    pub drop_last: bool,
}

impl Default for LoaderConfig {
    /// Batch 128, shuffled, no augmentation, seed 0, last partial batch kept.
    fn default() -> Self {
        LoaderConfig {
            batch: 128,
            shuffle: true,
            augment: None,
            seed: 0,
            drop_last: false,
        }
    }
}

/// One batch of normalized images with their labels.
#[derive(Clone, Debug, PartialEq)]
pub struct Batch {
    /// Normalized images, NCHW (`shape`), `n * c * h * w` values.
    pub images: Vec<f32>,
    /// One label per image.
    pub labels: Vec<u32>,
    /// Number of images (`shape[0]`; may be below the batch size for the
    /// last batch of an epoch).
    pub n: usize,
    /// `[n, c, h, w]`.
    pub shape: [usize; 4],
    /// The epoch this batch belongs to.
    pub epoch: usize,
    /// Index of this batch within its epoch.
    pub index: usize,
    /// Indices into the data set of the images, in batch order.
    pub indices: Vec<usize>,
}

/// Cuts a [`Dataset`] into [`Batch`]es; cheap to clone (the data set is
/// shared).
#[derive(Clone, Debug)]
pub struct Loader {
    dataset: Arc<Dataset>,
    config: LoaderConfig,
    /// Per-channel 256-entry table of normalized values of u8 pixels.
    table: Arc<Vec<f32>>,
}

impl Loader {
    /// A loader over `dataset`, normalizing u8 images with the data set's own
    /// normalization (or only scaling to [0, 1] if it has none).
    ///
    /// Errors: batch size 0, a data set whose image storage does not match
    /// its shape and label count, a normalization with a different number of
    /// channels than the images.
    pub fn new(dataset: impl Into<Arc<Dataset>>, config: LoaderConfig) -> Result<Self> {
        let dataset = dataset.into();
        let norm = dataset
            .normalization
            .clone()
            .unwrap_or_else(|| Normalization::identity(dataset.shape[0]));
        Self::build(dataset, config, norm)
    }

    /// This loader with u8 images normalized by `norm` instead.
    pub fn with_normalization(self, norm: Normalization) -> Result<Self> {
        Self::build(self.dataset, self.config, norm)
    }

    fn build(dataset: Arc<Dataset>, config: LoaderConfig, norm: Normalization) -> Result<Self> {
        if config.batch == 0 {
            return Err(DataError::Config(
                "batch size must be at least 1".to_string(),
            ));
        }
        if dataset.image_len() == 0 {
            return Err(DataError::Config(format!(
                "data set `{}` has images of shape {:?}",
                dataset.name, dataset.shape
            )));
        }
        let want = dataset.len().checked_mul(dataset.image_len());
        if want != Some(dataset.images.len()) {
            return Err(DataError::Config(format!(
                "data set `{}` holds {} values for {} images of shape {:?}",
                dataset.name,
                dataset.images.len(),
                dataset.len(),
                dataset.shape
            )));
        }
        let table = match &dataset.images {
            Images::U8(_) => {
                if norm.channels() != dataset.shape[0] {
                    return Err(DataError::Config(format!(
                        "normalization for {} channels, but `{}` images have {}",
                        norm.channels(),
                        dataset.name,
                        dataset.shape[0]
                    )));
                }
                norm.table()
            }
            Images::F32(_) => Vec::new(),
        };
        Ok(Loader {
            dataset,
            config,
            table: Arc::new(table),
        })
    }

    /// The data set.
    pub fn dataset(&self) -> &Arc<Dataset> {
        &self.dataset
    }

    /// The configuration.
    pub fn config(&self) -> &LoaderConfig {
        &self.config
    }

    /// Batches in one epoch: `ceil(n / batch)`, or `floor` with `drop_last`.
    pub fn batches_per_epoch(&self) -> usize {
        let n = self.dataset.len();
        if self.config.drop_last {
            n / self.config.batch
        } else {
            n.div_ceil(self.config.batch)
        }
    }

    /// The order in which epoch `epoch` visits the data set: a permutation
    /// drawn from (seed, epoch) when shuffling, else `0..n`.
    pub fn order(&self, epoch: usize) -> Vec<usize> {
        let mut order: Vec<usize> = (0..self.dataset.len()).collect();
        if self.config.shuffle {
            SplitMix64::derive(self.config.seed, &[SHUFFLE_STREAM, epoch as u64])
                .shuffle(&mut order);
        }
        order
    }

    /// The batches of epoch `epoch`.
    pub fn epoch(&self, epoch: usize) -> EpochIter {
        self.epoch_from(epoch, 0)
    }

    /// The batches of epoch `epoch` from batch `start_batch` on: exactly the
    /// batches `epoch(epoch)` yields after skipping `start_batch` of them
    /// (for resuming), without building the skipped ones.
    pub fn epoch_from(&self, epoch: usize, start_batch: usize) -> EpochIter {
        let end = self.batches_per_epoch();
        EpochIter {
            loader: self.clone(),
            epoch,
            order: self.order(epoch),
            next: start_batch.min(end),
            end,
            scratch: Vec::new(),
        }
    }

    /// Batch `index` of epoch `epoch` alone, or `None` past the last batch.
    pub fn batch(&self, epoch: usize, index: usize) -> Option<Batch> {
        self.epoch_from(epoch, index).next()
    }

    /// The batches of epoch `epoch` from `start_batch` on, built ahead in a
    /// worker thread (two batches deep); see [`Prefetcher`].
    pub fn prefetch(&self, epoch: usize, start_batch: usize) -> Result<Prefetcher> {
        Prefetcher::new(
            self.epoch_from(epoch, start_batch),
            Prefetcher::DEFAULT_DEPTH,
        )
    }

    /// Builds batch `index` of `epoch`, whose order is `order`.
    fn make_batch(
        &self,
        epoch: usize,
        order: &[usize],
        index: usize,
        scratch: &mut Vec<u8>,
    ) -> Option<Batch> {
        let b = self.config.batch;
        let start = index.checked_mul(b)?;
        let end = start.checked_add(b)?.min(order.len());
        let indices = order.get(start..end)?.to_vec();
        let ds = &*self.dataset;
        let [c, h, w] = ds.shape;
        let len = ds.image_len();
        let plane = h * w;
        let m = indices.len();
        let mut images = vec![0f32; m * len];
        let mut labels = Vec::with_capacity(m);
        for (k, (&idx, out)) in indices.iter().zip(images.chunks_exact_mut(len)).enumerate() {
            labels.push(*ds.labels.get(idx)?);
            match &ds.images {
                Images::F32(_) => out.copy_from_slice(ds.image_f32(idx)?),
                Images::U8(_) => {
                    let mut src = ds.image_u8(idx)?;
                    if let Some(aug) = &self.config.augment {
                        let position = (start + k) as u64;
                        let mut rng = SplitMix64::derive(
                            self.config.seed,
                            &[AUGMENT_STREAM, epoch as u64, position],
                        );
                        scratch.resize(len, 0);
                        aug.sample(&mut rng)
                            .apply_into(src, ds.shape, scratch)
                            .ok()?;
                        src = scratch;
                    }
                    if plane > 0 {
                        for (ch, (s, d)) in src
                            .chunks_exact(plane)
                            .zip(out.chunks_exact_mut(plane))
                            .enumerate()
                        {
                            let t = self.table.get(ch * 256..ch * 256 + 256)?;
                            for (p, v) in s.iter().zip(d.iter_mut()) {
                                *v = t[usize::from(*p)];
                            }
                        }
                    }
                }
            }
        }
        Some(Batch {
            images,
            labels,
            n: m,
            shape: [m, c, h, w],
            epoch,
            index,
            indices,
        })
    }
}

/// The batches of one epoch, in order; built on demand by `next()`.
#[derive(Debug)]
pub struct EpochIter {
    loader: Loader,
    epoch: usize,
    order: Vec<usize>,
    next: usize,
    end: usize,
    scratch: Vec<u8>,
}

impl EpochIter {
    /// The epoch.
    pub fn epoch(&self) -> usize {
        self.epoch
    }

    /// Index of the batch the next call to `next()` returns.
    pub fn next_index(&self) -> usize {
        self.next
    }

    /// The visiting order of the whole epoch (data set indices).
    pub fn order(&self) -> &[usize] {
        &self.order
    }
}

impl Iterator for EpochIter {
    type Item = Batch;

    fn next(&mut self) -> Option<Batch> {
        if self.next >= self.end {
            return None;
        }
        let batch = self
            .loader
            .make_batch(self.epoch, &self.order, self.next, &mut self.scratch);
        self.next += 1;
        batch
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = self.end.saturating_sub(self.next);
        (left, Some(left))
    }

    fn nth(&mut self, n: usize) -> Option<Batch> {
        self.next = self.next.saturating_add(n).min(self.end);
        self.next()
    }
}

impl ExactSizeIterator for EpochIter {}
