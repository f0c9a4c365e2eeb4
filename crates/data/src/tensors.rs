//! `--dataset tensors`: images and labels from a safetensors file.
//!
//! The file holds `images` (float32 `[N, C, H, W]`, already normalized: no
//! normalization or augmentation is applied to them) and `labels` (int64
//! `[N]`; int32 and uint8 are accepted too).

use std::path::Path;

use safetensors::{Dtype, SafeTensors};

use crate::fsutil::read;
use crate::{DataError, Dataset, Images, Result};

/// Name of the images tensor.
pub const IMAGES: &str = "images";
/// Name of the labels tensor.
pub const LABELS: &str = "labels";

/// Loads `images` and `labels` from the safetensors file at `path`.
///
/// The data set's classes are `"0"`, `"1"`, ... up to the largest label,
/// its name the file stem, and it has no normalization (the images are used
/// as they are). Errors: missing tensors, wrong dtypes or ranks, image and
/// label counts that differ, negative labels, an empty file.
pub fn load(path: &Path) -> Result<Dataset> {
    let bytes = read(path)?;
    let st = SafeTensors::deserialize(&bytes).map_err(|e| DataError::Safetensors {
        path: path.to_path_buf(),
        message: e.to_string(),
    })?;
    let get = |name: &'static str| {
        st.tensor(name).map_err(|_| {
            let mut present: Vec<String> = st.names().iter().map(|s| s.to_string()).collect();
            present.sort();
            DataError::MissingTensor {
                path: path.to_path_buf(),
                name,
                present,
            }
        })
    };
    let images = get(IMAGES)?;
    let labels = get(LABELS)?;

    if images.dtype() != Dtype::F32 {
        return Err(DataError::TensorDtype {
            path: path.to_path_buf(),
            name: IMAGES,
            expected: "F32",
            actual: images.dtype().to_string(),
        });
    }
    let &[n, c, h, w] = images.shape() else {
        return Err(DataError::TensorShape {
            path: path.to_path_buf(),
            name: IMAGES,
            shape: images.shape().to_vec(),
            expected: "rank 4 [N, C, H, W]",
        });
    };
    if c == 0 || h == 0 || w == 0 {
        return Err(DataError::TensorShape {
            path: path.to_path_buf(),
            name: IMAGES,
            shape: images.shape().to_vec(),
            expected: "[N, C, H, W] with non-zero C, H and W",
        });
    }
    let &[nl] = labels.shape() else {
        return Err(DataError::TensorShape {
            path: path.to_path_buf(),
            name: LABELS,
            shape: labels.shape().to_vec(),
            expected: "rank 1 [N]",
        });
    };
    if nl != n {
        return Err(DataError::TensorCount {
            path: path.to_path_buf(),
            images: n,
            labels: nl,
        });
    }
    if n == 0 {
        return Err(DataError::Empty {
            path: path.to_path_buf(),
            what: "images",
        });
    }

    let data = labels.data();
    let raw: Vec<i64> = match labels.dtype() {
        Dtype::I64 => data
            .chunks_exact(8)
            .map(|b| i64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]))
            .collect(),
        Dtype::I32 => data
            .chunks_exact(4)
            .map(|b| i64::from(i32::from_le_bytes([b[0], b[1], b[2], b[3]])))
            .collect(),
        Dtype::U8 => data.iter().map(|&b| i64::from(b)).collect(),
        other => {
            return Err(DataError::TensorDtype {
                path: path.to_path_buf(),
                name: LABELS,
                expected: "I64, I32 or U8",
                actual: other.to_string(),
            })
        }
    };
    let mut out_labels = Vec::with_capacity(n);
    for (index, &value) in raw.iter().enumerate() {
        let l = u32::try_from(value).map_err(|_| DataError::LabelRange {
            path: path.to_path_buf(),
            index,
            value,
        })?;
        out_labels.push(l);
    }
    let classes = out_labels.iter().max().map_or(0, |&m| m as usize + 1);

    let pixels: Vec<f32> = images
        .data()
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect();

    Ok(Dataset {
        name: path.file_stem().map_or_else(
            || "tensors".to_string(),
            |s| s.to_string_lossy().into_owned(),
        ),
        classes: (0..classes).map(|i| i.to_string()).collect(),
        images: Images::F32(pixels),
        labels: out_labels,
        shape: [c, h, w],
        normalization: None,
    })
}
