//! Data sets and loading for shadernet (CPU only; no GPU dependency).
//!
//! - [`cifar10::load`] reads the official CIFAR-10 binary layout,
//!   [`mnist::load`] the IDX files of MNIST and Fashion-MNIST (gzipped or
//!   not), [`tensors::load`] a safetensors file of already-normalized images;
//!   each returns a [`Dataset`].
//! - [`download::cifar10`] fetches and unpacks the official CIFAR-10 archive,
//!   checking its MD5.
//! - [`Loader`] cuts a data set into [`Batch`]es of normalized `f32` NCHW
//!   images, shuffled and augmented ([`Augment`]) as deterministic functions
//!   of (seed, epoch, position), so a resumed run sees exactly the batches of
//!   an uninterrupted one ([`Loader::epoch_from`]).
//! - [`Prefetcher`] builds the next batches in a worker thread.
//!
//! Every error a user can cause is a [`DataError`] naming the file and what
//! was wrong with it.

#![deny(missing_docs)]

pub mod augment;
pub mod cifar10;
pub mod dataset;
pub mod download;
pub mod error;
mod fsutil;
pub mod loader;
pub mod mnist;
pub mod normalize;
pub mod prefetch;
pub mod rng;
pub mod tensors;

pub use augment::{Augment, CropFlip};
pub use dataset::{Dataset, Images};
pub use error::{DataError, Result};
pub use loader::{Batch, EpochIter, Loader, LoaderConfig};
pub use normalize::Normalization;
pub use prefetch::{PrefetchStats, Prefetcher};
pub use rng::SplitMix64;

/// Which half of a data set to load.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Split {
    /// The training split (CIFAR-10: 50,000 images; MNIST: 60,000).
    Train,
    /// The test split (10,000 images for CIFAR-10 and (Fashion-)MNIST).
    Test,
}

impl std::fmt::Display for Split {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Split::Train => "train",
            Split::Test => "test",
        })
    }
}
