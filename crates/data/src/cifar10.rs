//! CIFAR-10 in the official binary layout (`cifar-10-binary.tar.gz`).
//!
//! The files live in `DIR/cifar-10-batches-bin/` or directly in `DIR`:
//! `data_batch_1.bin` ... `data_batch_5.bin` (training) and `test_batch.bin`,
//! each a sequence of 3,073-byte records (one label byte 0-9, then 1,024 red,
//! 1,024 green and 1,024 blue bytes, each a 32x32 plane in row-major order),
//! and optionally `batches.meta.txt` with the class names, one per line.

use std::path::{Path, PathBuf};

use crate::fsutil::{read, require_dir};
use crate::{DataError, Dataset, Images, Normalization, Result, Split};

/// Bytes per record: 1 label byte and 3 x 32 x 32 pixel bytes.
pub const RECORD: usize = 1 + IMAGE;
/// Pixel bytes per image (3 x 32 x 32).
pub const IMAGE: usize = 3 * 32 * 32;
/// Number of classes.
pub const NUM_CLASSES: usize = 10;
/// The sub-directory the official archive unpacks to.
pub const SUBDIR: &str = "cifar-10-batches-bin";
/// The training files, in order.
pub const TRAIN_FILES: [&str; 5] = [
    "data_batch_1.bin",
    "data_batch_2.bin",
    "data_batch_3.bin",
    "data_batch_4.bin",
    "data_batch_5.bin",
];
/// The test file.
pub const TEST_FILE: &str = "test_batch.bin";
/// The class-names file.
pub const META_FILE: &str = "batches.meta.txt";
/// The standard class names, by label.
pub const CLASSES: [&str; NUM_CLASSES] = [
    "airplane",
    "automobile",
    "bird",
    "cat",
    "deer",
    "dog",
    "frog",
    "horse",
    "ship",
    "truck",
];

fn all_files() -> impl Iterator<Item = &'static str> {
    TRAIN_FILES.into_iter().chain(std::iter::once(TEST_FILE))
}

fn holds_any(dir: &Path) -> bool {
    all_files().any(|f| dir.join(f).is_file())
}

/// The directory holding the `.bin` files: `dir/cifar-10-batches-bin` if it
/// holds any of them, else `dir` itself if it does.
///
/// Errors: `dir` missing or not a directory ([`DataError::NotFound`],
/// [`DataError::NotADirectory`]), or neither place holding any CIFAR-10
/// batch file ([`DataError::NoData`]).
pub fn locate(dir: &Path) -> Result<PathBuf> {
    require_dir(dir)?;
    let sub = dir.join(SUBDIR);
    if holds_any(&sub) {
        return Ok(sub);
    }
    if holds_any(dir) {
        return Ok(dir.to_path_buf());
    }
    Err(DataError::NoData {
        dataset: "CIFAR-10",
        path: dir.to_path_buf(),
        expected: format!(
            "data_batch_1.bin ... data_batch_5.bin and test_batch.bin there or in {}",
            sub.display()
        ),
    })
}

/// Whether `dir` (or `dir/cifar-10-batches-bin`) holds all six batch files,
/// i.e. whether there is anything to load without downloading.
pub fn is_present(dir: &Path) -> bool {
    locate(dir).is_ok_and(|root| all_files().all(|f| root.join(f).is_file()))
}

/// Loads one split of CIFAR-10 from `dir` (see the module docs for the
/// layout): `[n, 3, 32, 32]` u8 images, labels 0-9, the class names of
/// `batches.meta.txt` if present (else [`CLASSES`]) and CIFAR-10's
/// normalization.
///
/// Validates that every file of the split is present (naming the missing
/// ones), that each file's size is a non-zero multiple of 3,073 bytes and
/// that every label is below 10.
pub fn load(dir: &Path, split: Split) -> Result<Dataset> {
    let root = locate(dir)?;
    let names: Vec<&str> = match split {
        Split::Train => TRAIN_FILES.to_vec(),
        Split::Test => vec![TEST_FILE],
    };
    let missing: Vec<&str> = names
        .iter()
        .copied()
        .filter(|n| !root.join(n).is_file())
        .collect();
    if !missing.is_empty() {
        return Err(DataError::MissingFile {
            dir: root,
            name: missing.join(", "),
        });
    }
    let mut images = Vec::new();
    let mut labels = Vec::new();
    for name in names {
        let path = root.join(name);
        let bytes = read(&path)?;
        decode_batch(&path, &bytes, &mut images, &mut labels)?;
    }
    Ok(Dataset {
        name: "cifar10".to_string(),
        classes: read_classes(&root)?,
        images: Images::U8(images),
        labels,
        shape: [3, 32, 32],
        normalization: Some(Normalization::cifar10()),
    })
}

/// Appends the records of one batch file (already read into `bytes`).
fn decode_batch(
    path: &Path,
    bytes: &[u8],
    images: &mut Vec<u8>,
    labels: &mut Vec<u32>,
) -> Result<()> {
    if !bytes.len().is_multiple_of(RECORD) {
        return Err(DataError::RecordSize {
            path: path.to_path_buf(),
            size: bytes.len() as u64,
            record: RECORD,
        });
    }
    if bytes.is_empty() {
        return Err(DataError::Empty {
            path: path.to_path_buf(),
            what: "records",
        });
    }
    let n = bytes.len() / RECORD;
    images.reserve(n * IMAGE);
    labels.reserve(n);
    for (index, rec) in bytes.chunks_exact(RECORD).enumerate() {
        let label = rec[0];
        if usize::from(label) >= NUM_CLASSES {
            return Err(DataError::BadLabel {
                path: path.to_path_buf(),
                index,
                label: u64::from(label),
                classes: NUM_CLASSES,
            });
        }
        labels.push(u32::from(label));
        images.extend_from_slice(&rec[1..]);
    }
    Ok(())
}

/// The class names from `root/batches.meta.txt`, or the standard ones if
/// that file is absent.
fn read_classes(root: &Path) -> Result<Vec<String>> {
    let path = root.join(META_FILE);
    if !path.is_file() {
        return Ok(CLASSES.iter().map(|s| s.to_string()).collect());
    }
    let bytes = read(&path)?;
    let text = String::from_utf8(bytes).map_err(|e| DataError::BadMeta {
        path: path.clone(),
        problem: format!("not UTF-8 text ({e})"),
    })?;
    let names: Vec<String> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect();
    if names.len() != NUM_CLASSES {
        return Err(DataError::BadMeta {
            path,
            problem: format!("holds {} class names, expected {NUM_CLASSES}", names.len()),
        });
    }
    Ok(names)
}
