//! MNIST and Fashion-MNIST in the IDX format of the official releases
//! (gzipped or not; also the layout of Debian's `dataset-fashion-mnist`).
//!
//! Files: `train-images-idx3-ubyte`, `train-labels-idx1-ubyte`,
//! `t10k-images-idx3-ubyte`, `t10k-labels-idx1-ubyte`, each optionally with
//! `.gz` (gzip is recognised by its magic bytes, not the name). They are
//! looked for in `DIR`, `DIR/raw` and `DIR/{MNIST,FashionMNIST}/raw`
//! (torchvision's layout). IDX: a big-endian header (magic `0x00000803` for
//! images, `0x00000801` for labels, then one u32 per dimension), then
//! unsigned bytes in row-major order.

use std::io::Read;
use std::path::{Path, PathBuf};

use crate::fsutil::{read, require_dir};
use crate::{DataError, Dataset, Images, Normalization, Result, Split};

/// Magic number of an IDX file of u8 with 3 dimensions (images).
pub const IMAGES_MAGIC: u32 = 0x0000_0803;
/// Magic number of an IDX file of u8 with 1 dimension (labels).
pub const LABELS_MAGIC: u32 = 0x0000_0801;
/// Number of classes of both data sets.
pub const NUM_CLASSES: usize = 10;

/// Fashion-MNIST class names, by label.
pub const FASHION_CLASSES: [&str; NUM_CLASSES] = [
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
];

/// MNIST class names (the digits), by label.
pub const MNIST_CLASSES: [&str; NUM_CLASSES] = ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"];

/// Which of the two IDX data sets; only the name, the class names and the
/// normalization differ.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kind {
    /// LeCun et al.'s handwritten digits.
    Mnist,
    /// Zalando's Fashion-MNIST.
    FashionMnist,
}

impl Kind {
    /// The data set name as the CLI spells it: `"mnist"` or `"fashion-mnist"`.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Mnist => "mnist",
            Kind::FashionMnist => "fashion-mnist",
        }
    }

    /// The name for messages: `"MNIST"` or `"Fashion-MNIST"`.
    pub fn display_name(self) -> &'static str {
        match self {
            Kind::Mnist => "MNIST",
            Kind::FashionMnist => "Fashion-MNIST",
        }
    }

    /// The class names, by label.
    pub fn classes(self) -> [&'static str; NUM_CLASSES] {
        match self {
            Kind::Mnist => MNIST_CLASSES,
            Kind::FashionMnist => FASHION_CLASSES,
        }
    }

    /// The standard normalization (MNIST 0.1307/0.3081, Fashion-MNIST
    /// 0.2860/0.3530).
    pub fn normalization(self) -> Normalization {
        match self {
            Kind::Mnist => Normalization::mnist(),
            Kind::FashionMnist => Normalization::fashion_mnist(),
        }
    }

    fn torchvision_dir(self) -> &'static str {
        match self {
            Kind::Mnist => "MNIST",
            Kind::FashionMnist => "FashionMNIST",
        }
    }
}

fn prefix(split: Split) -> &'static str {
    match split {
        Split::Train => "train",
        Split::Test => "t10k",
    }
}

/// Existing file for `{prefix}-{what}-idx{d}-ubyte[.gz]` (or the
/// `{prefix}-{what}.idx{d}-ubyte` spelling) in `dir`.
fn find(dir: &Path, split: Split, what: &str, dims: u32) -> Option<PathBuf> {
    let p = prefix(split);
    [
        format!("{p}-{what}-idx{dims}-ubyte"),
        format!("{p}-{what}-idx{dims}-ubyte.gz"),
        format!("{p}-{what}.idx{dims}-ubyte"),
        format!("{p}-{what}.idx{dims}-ubyte.gz"),
    ]
    .into_iter()
    .map(|n| dir.join(n))
    .find(|p| p.is_file())
}

fn holds_any(dir: &Path) -> bool {
    [Split::Train, Split::Test]
        .into_iter()
        .any(|s| find(dir, s, "images", 3).is_some() || find(dir, s, "labels", 1).is_some())
}

/// The directory holding the IDX files: the first of `dir`, `dir/raw` and
/// `dir/{MNIST,FashionMNIST}/raw` that holds any of them.
pub fn locate(dir: &Path, kind: Kind) -> Result<PathBuf> {
    require_dir(dir)?;
    let candidates = [
        dir.to_path_buf(),
        dir.join("raw"),
        dir.join(kind.torchvision_dir()).join("raw"),
    ];
    candidates
        .into_iter()
        .find(|d| holds_any(d))
        .ok_or_else(|| DataError::NoData {
            dataset: kind.display_name(),
            path: dir.to_path_buf(),
            expected: "train-images-idx3-ubyte[.gz], train-labels-idx1-ubyte[.gz], \
                       t10k-images-idx3-ubyte[.gz], t10k-labels-idx1-ubyte[.gz]"
                .to_string(),
        })
}

/// Loads one split of MNIST or Fashion-MNIST from `dir`: `[n, 1, rows, cols]`
/// u8 images (28x28 for the official files), labels 0-9, the kind's class
/// names and normalization.
///
/// Validates the magic numbers, the header dimensions, that the data length
/// matches the header exactly, that image and label counts agree and that
/// every label is below 10.
pub fn load(dir: &Path, kind: Kind, split: Split) -> Result<Dataset> {
    let root = locate(dir, kind)?;
    let p = prefix(split);
    let images_path = find(&root, split, "images", 3).ok_or_else(|| DataError::MissingFile {
        dir: root.clone(),
        name: format!("{p}-images-idx3-ubyte[.gz]"),
    })?;
    let labels_path = find(&root, split, "labels", 1).ok_or_else(|| DataError::MissingFile {
        dir: root.clone(),
        name: format!("{p}-labels-idx1-ubyte[.gz]"),
    })?;

    let image_bytes = read_maybe_gz(&images_path)?;
    let (dims, pixels) = parse_idx(
        &images_path,
        &image_bytes,
        IMAGES_MAGIC,
        "u8 images, 3 dims",
    )?;
    let &[n, rows, cols] = dims.as_slice() else {
        return Err(DataError::BadHeader {
            path: images_path,
            problem: format!("image dimensions {dims:?}, expected [n, rows, cols]"),
        });
    };
    if rows == 0 || cols == 0 {
        return Err(DataError::BadHeader {
            path: images_path,
            problem: format!("images of {rows}x{cols} pixels"),
        });
    }
    if n == 0 {
        return Err(DataError::Empty {
            path: images_path,
            what: "images",
        });
    }

    let label_bytes = read_maybe_gz(&labels_path)?;
    let (ldims, raw_labels) =
        parse_idx(&labels_path, &label_bytes, LABELS_MAGIC, "u8 labels, 1 dim")?;
    let labels_n = ldims.first().copied().unwrap_or(0);
    if labels_n != n {
        return Err(DataError::CountMismatch {
            images_path,
            images: n,
            labels_path,
            labels: labels_n,
        });
    }
    let mut labels = Vec::with_capacity(n);
    for (index, &l) in raw_labels.iter().enumerate() {
        if usize::from(l) >= NUM_CLASSES {
            return Err(DataError::BadLabel {
                path: labels_path,
                index,
                label: u64::from(l),
                classes: NUM_CLASSES,
            });
        }
        labels.push(u32::from(l));
    }

    Ok(Dataset {
        name: kind.name().to_string(),
        classes: kind.classes().iter().map(|s| s.to_string()).collect(),
        images: Images::U8(pixels.to_vec()),
        labels,
        shape: [1, rows, cols],
        normalization: Some(kind.normalization()),
    })
}

/// Reads `path`, gunzipping it if it starts with the gzip magic bytes.
pub fn read_maybe_gz(path: &Path) -> Result<Vec<u8>> {
    let bytes = read(path)?;
    if bytes.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::with_capacity(bytes.len().saturating_mul(4));
        flate2::read::MultiGzDecoder::new(bytes.as_slice())
            .read_to_end(&mut out)
            .map_err(|source| DataError::Gzip {
                path: path.to_path_buf(),
                source,
            })?;
        Ok(out)
    } else {
        Ok(bytes)
    }
}

/// Parses an IDX file of unsigned bytes already in memory: checks the magic
/// number against `magic` (`what` describes it for the message) and that the
/// data that follows the header is exactly as long as the dimensions say.
/// Returns the dimensions and the data.
pub fn parse_idx<'a>(
    path: &Path,
    bytes: &'a [u8],
    magic: u32,
    what: &'static str,
) -> Result<(Vec<usize>, &'a [u8])> {
    let be32 = |i: usize| -> Option<u32> {
        let b = bytes.get(i..i + 4)?;
        Some(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    };
    let actual = be32(0).ok_or_else(|| DataError::BadHeader {
        path: path.to_path_buf(),
        problem: format!(
            "the file is {} bytes, too short for an IDX header",
            bytes.len()
        ),
    })?;
    if actual != magic {
        return Err(DataError::BadMagic {
            path: path.to_path_buf(),
            expected: magic,
            actual,
            what,
        });
    }
    let ndims = (magic & 0xff) as usize;
    let header = 4 + 4 * ndims;
    let mut dims = Vec::with_capacity(ndims);
    for d in 0..ndims {
        let v = be32(4 + 4 * d).ok_or_else(|| DataError::BadHeader {
            path: path.to_path_buf(),
            problem: format!(
                "a header of {ndims} dimensions needs {header} bytes, the file is {} bytes",
                bytes.len()
            ),
        })?;
        dims.push(v as usize);
    }
    let expected = dims
        .iter()
        .try_fold(1u64, |acc, &d| acc.checked_mul(d as u64))
        .ok_or_else(|| DataError::BadHeader {
            path: path.to_path_buf(),
            problem: format!("dimensions {dims:?} overflow"),
        })?;
    let data = bytes.get(header..).unwrap_or(&[]);
    let actual = data.len() as u64;
    if actual < expected {
        return Err(DataError::Truncated {
            path: path.to_path_buf(),
            expected,
            actual,
        });
    }
    if actual > expected {
        return Err(DataError::TrailingData {
            path: path.to_path_buf(),
            expected,
            actual,
        });
    }
    Ok((dims, data))
}
