//! The in-memory data set every loader returns.

use crate::Normalization;

/// Image storage: raw bytes for the image data sets, already-normalized
/// floats for `tensors` files.
#[derive(Clone, Debug, PartialEq)]
pub enum Images {
    /// u8 pixels, NCHW, 0 = black / background.
    U8(Vec<u8>),
    /// f32 values, NCHW, already normalized (no normalization or
    /// augmentation is applied to them).
    F32(Vec<f32>),
}

impl Images {
    /// Number of stored values (`n * c * h * w`).
    pub fn len(&self) -> usize {
        match self {
            Images::U8(v) => v.len(),
            Images::F32(v) => v.len(),
        }
    }

    /// Whether there are no values.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A labelled image data set held in memory.
#[derive(Clone, Debug, PartialEq)]
pub struct Dataset {
    /// Short name: `"cifar10"`, `"mnist"`, `"fashion-mnist"`, or the file
    /// stem of a tensors file.
    pub name: String,
    /// Class names, indexed by label.
    pub classes: Vec<String>,
    /// The images, NCHW: `labels.len()` images of `shape` each.
    pub images: Images,
    /// One label per image, each `< classes.len()`.
    pub labels: Vec<u32>,
    /// Shape of one image: `[channels, height, width]`.
    pub shape: [usize; 3],
    /// How u8 pixels are normalized (the data set's standard mean and std);
    /// `None` for already-normalized f32 images.
    pub normalization: Option<Normalization>,
}

impl Dataset {
    /// Number of images.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// Whether the data set holds no images.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// Number of classes.
    pub fn num_classes(&self) -> usize {
        self.classes.len()
    }

    /// Values per image (`c * h * w`).
    pub fn image_len(&self) -> usize {
        self.shape.iter().product()
    }

    /// The NCHW shape of the whole data set: `[n, c, h, w]`.
    pub fn dims(&self) -> [usize; 4] {
        [self.len(), self.shape[0], self.shape[1], self.shape[2]]
    }

    /// The u8 pixels (CHW) of image `i`, or `None` when `i` is out of range
    /// or the images are f32.
    pub fn image_u8(&self, i: usize) -> Option<&[u8]> {
        let len = self.image_len();
        match &self.images {
            Images::U8(v) => v.get(i.checked_mul(len)?..(i + 1).checked_mul(len)?),
            Images::F32(_) => None,
        }
    }

    /// The f32 values (CHW) of image `i`, or `None` when `i` is out of range
    /// or the images are u8.
    pub fn image_f32(&self, i: usize) -> Option<&[f32]> {
        let len = self.image_len();
        match &self.images {
            Images::F32(v) => v.get(i.checked_mul(len)?..(i + 1).checked_mul(len)?),
            Images::U8(_) => None,
        }
    }

    /// How many images each class has, indexed by label.
    pub fn class_counts(&self) -> Vec<usize> {
        let mut counts = vec![0usize; self.num_classes()];
        for &l in &self.labels {
            if let Some(c) = counts.get_mut(l as usize) {
                *c += 1;
            }
        }
        counts
    }

    /// Keeps only the first `n` images (all of them if `n >= len()`), e.g.
    /// for a quick run.
    pub fn truncate(&mut self, n: usize) {
        if n >= self.len() {
            return;
        }
        let keep = n * self.image_len();
        self.labels.truncate(n);
        match &mut self.images {
            Images::U8(v) => v.truncate(keep),
            Images::F32(v) => v.truncate(keep),
        }
    }
}
