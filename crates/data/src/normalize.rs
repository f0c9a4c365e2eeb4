//! Per-channel input normalization: pixels scaled to [0, 1], then
//! `(x - mean[c]) / std[c]`, as torchvision's `ToTensor` + `Normalize`.

use crate::{DataError, Result};

/// CIFAR-10 per-channel mean (R, G, B).
pub const CIFAR10_MEAN: [f32; 3] = [0.4914, 0.4822, 0.4465];
/// CIFAR-10 per-channel standard deviation (R, G, B).
pub const CIFAR10_STD: [f32; 3] = [0.2470, 0.2435, 0.2616];
/// Fashion-MNIST mean.
pub const FASHION_MNIST_MEAN: [f32; 1] = [0.2860];
/// Fashion-MNIST standard deviation.
pub const FASHION_MNIST_STD: [f32; 1] = [0.3530];
/// MNIST mean.
pub const MNIST_MEAN: [f32; 1] = [0.1307];
/// MNIST standard deviation.
pub const MNIST_STD: [f32; 1] = [0.3081];
/// ImageNet per-channel mean (R, G, B).
pub const IMAGENET_MEAN: [f32; 3] = [0.485, 0.456, 0.406];
/// ImageNet per-channel standard deviation (R, G, B).
pub const IMAGENET_STD: [f32; 3] = [0.229, 0.224, 0.225];

/// Per-channel mean and standard deviation of pixels scaled to [0, 1].
#[derive(Clone, Debug, PartialEq)]
pub struct Normalization {
    /// Mean of each channel.
    pub mean: Vec<f32>,
    /// Standard deviation of each channel.
    pub std: Vec<f32>,
}

impl Normalization {
    /// A normalization from per-channel means and standard deviations;
    /// errors if the lengths differ, are zero, or a std is not positive.
    pub fn new(mean: Vec<f32>, std: Vec<f32>) -> Result<Self> {
        if mean.is_empty() || mean.len() != std.len() {
            return Err(DataError::Config(format!(
                "normalization needs one mean and one std per channel, got {} means and {} stds",
                mean.len(),
                std.len()
            )));
        }
        if let Some(s) = std.iter().find(|s| !(s.is_finite() && **s > 0.0)) {
            return Err(DataError::Config(format!(
                "normalization std must be positive and finite, got {s}"
            )));
        }
        Ok(Normalization { mean, std })
    }

    /// CIFAR-10: mean (0.4914, 0.4822, 0.4465), std (0.2470, 0.2435, 0.2616).
    pub fn cifar10() -> Self {
        Normalization {
            mean: CIFAR10_MEAN.to_vec(),
            std: CIFAR10_STD.to_vec(),
        }
    }

    /// Fashion-MNIST: mean 0.2860, std 0.3530.
    pub fn fashion_mnist() -> Self {
        Normalization {
            mean: FASHION_MNIST_MEAN.to_vec(),
            std: FASHION_MNIST_STD.to_vec(),
        }
    }

    /// MNIST: mean 0.1307, std 0.3081.
    pub fn mnist() -> Self {
        Normalization {
            mean: MNIST_MEAN.to_vec(),
            std: MNIST_STD.to_vec(),
        }
    }

    /// ImageNet: mean (0.485, 0.456, 0.406), std (0.229, 0.224, 0.225).
    pub fn imagenet() -> Self {
        Normalization {
            mean: IMAGENET_MEAN.to_vec(),
            std: IMAGENET_STD.to_vec(),
        }
    }

    /// No normalization beyond scaling to [0, 1] (mean 0, std 1).
    pub fn identity(channels: usize) -> Self {
        Normalization {
            mean: vec![0.0; channels],
            std: vec![1.0; channels],
        }
    }

    /// Number of channels.
    pub fn channels(&self) -> usize {
        self.mean.len()
    }

    /// The normalized value of pixel `p` in channel `c`:
    /// `(p / 255 - mean[c]) / std[c]`, in f32 as torchvision computes it.
    /// Returns `p / 255` for a channel beyond those known.
    pub fn apply(&self, c: usize, p: u8) -> f32 {
        let x = f32::from(p) / 255.0;
        match (self.mean.get(c), self.std.get(c)) {
            (Some(m), Some(s)) => (x - m) / s,
            _ => x,
        }
    }

    /// A 256-entry lookup table per channel: `table[c * 256 + p] == apply(c, p)`.
    pub fn table(&self) -> Vec<f32> {
        (0..self.channels())
            .flat_map(|c| (0..=255u8).map(move |p| self.apply(c, p)))
            .collect()
    }

    /// Normalizes one CHW u8 image (`channels()` planes of `plane` pixels)
    /// into `out`; errors if the lengths do not match.
    pub fn normalize_into(&self, image: &[u8], plane: usize, out: &mut [f32]) -> Result<()> {
        let need = self.channels() * plane;
        if image.len() != need || out.len() != need {
            return Err(DataError::Config(format!(
                "normalizing a {}-channel image of {plane} pixels a plane needs {need} values, \
                 got {} in and {} out",
                self.channels(),
                image.len(),
                out.len()
            )));
        }
        if plane == 0 {
            return Ok(());
        }
        for (c, (src, dst)) in image
            .chunks_exact(plane)
            .zip(out.chunks_exact_mut(plane))
            .enumerate()
        {
            for (s, d) in src.iter().zip(dst.iter_mut()) {
                *d = self.apply(c, *s);
            }
        }
        Ok(())
    }
}
