//! Data augmentation with torchvision's semantics:
//! `RandomCrop(size, padding)` (zero padding of the raw image, i.e. black
//! before normalization, then a random `size`x`size` crop, `size` being the
//! image size) followed by `RandomHorizontalFlip(p = 0.5)`.

use crate::{DataError, Result, SplitMix64};

/// Which augmentation to apply to every training image.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Augment {
    /// Zero pixels added on each side before the random crop (0: no crop).
    pub padding: usize,
    /// Whether to flip horizontally with probability 0.5.
    pub hflip: bool,
}

impl Augment {
    /// The standard CIFAR-10 augmentation: `RandomCrop(32, padding=4)`, then
    /// `RandomHorizontalFlip()`.
    pub const CIFAR10: Augment = Augment {
        padding: 4,
        hflip: true,
    };

    /// Draws one crop offset and flip from `rng`: `top` and `left` uniform
    /// in `0..=2*padding` (in that order), then the flip with probability
    /// 0.5 (no draw when `hflip` is off).
    pub fn sample(&self, rng: &mut SplitMix64) -> CropFlip {
        let span = 2 * self.padding + 1;
        let top = rng.below(span);
        let left = rng.below(span);
        let flip = self.hflip && rng.next_f64() < 0.5;
        CropFlip {
            padding: self.padding,
            top,
            left,
            flip,
        }
    }
}

/// One draw of the augmentation: a crop whose top-left corner is at
/// (`top`, `left`) in the image padded by `padding` zeros on every side,
/// then a horizontal flip if `flip`.
///
/// Output pixel `(y, x)` of each channel is padded pixel
/// `(y + top, x' + left)`, where `x' = w - 1 - x` when flipped and `x`
/// otherwise; `top == left == padding` without flip is the identity.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct CropFlip {
    /// Padding on each side, in pixels.
    pub padding: usize,
    /// Row of the crop's top-left corner in the padded image.
    pub top: usize,
    /// Column of the crop's top-left corner in the padded image.
    pub left: usize,
    /// Whether the crop is mirrored left-right.
    pub flip: bool,
}

impl CropFlip {
    /// Applies the crop and flip to a CHW u8 image of `shape`
    /// `[channels, height, width]`, returning a new image of the same shape.
    pub fn apply(&self, image: &[u8], shape: [usize; 3]) -> Result<Vec<u8>> {
        let mut out = vec![0u8; image.len()];
        self.apply_into(image, shape, &mut out)?;
        Ok(out)
    }

    /// As [`CropFlip::apply`], writing into `out` (same length as `image`).
    pub fn apply_into(&self, image: &[u8], shape: [usize; 3], out: &mut [u8]) -> Result<()> {
        let [c, h, w] = shape;
        let need = c * h * w;
        if image.len() != need || out.len() != need {
            return Err(DataError::Config(format!(
                "augmenting a {c}x{h}x{w} image needs {need} bytes, got {} in and {} out",
                image.len(),
                out.len()
            )));
        }
        if self.top > 2 * self.padding || self.left > 2 * self.padding {
            return Err(DataError::Config(format!(
                "crop offset ({}, {}) outside 0..={} for padding {}",
                self.top,
                self.left,
                2 * self.padding,
                self.padding
            )));
        }
        if need == 0 {
            return Ok(());
        }
        let plane = h * w;
        for (src, dst) in image.chunks_exact(plane).zip(out.chunks_exact_mut(plane)) {
            for (y, row) in dst.chunks_exact_mut(w).enumerate() {
                // Source row in the unpadded image, if inside it.
                let sy = (y + self.top).checked_sub(self.padding).filter(|&r| r < h);
                let Some(sy) = sy else {
                    row.fill(0);
                    continue;
                };
                let src_row = &src[sy * w..(sy + 1) * w];
                for (x, d) in row.iter_mut().enumerate() {
                    let xc = if self.flip { w - 1 - x } else { x };
                    *d = (xc + self.left)
                        .checked_sub(self.padding)
                        .and_then(|sx| src_row.get(sx))
                        .copied()
                        .unwrap_or(0);
                }
            }
        }
        Ok(())
    }
}
