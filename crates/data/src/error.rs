//! The error type of the data crate.

use std::path::{Path, PathBuf};

/// Shorthand for `Result<T, DataError>`.
pub type Result<T, E = DataError> = std::result::Result<T, E>;

fn show(p: &Path) -> std::path::Display<'_> {
    p.display()
}

/// Everything that can go wrong loading, downloading or batching data.
///
/// Each message names the file (or URL) and what was wrong, with expected and
/// actual values where there are any.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DataError {
    /// An I/O operation on `path` failed.
    #[error("{op} {}: {source}", show(path))]
    Io {
        /// What was being done ("reading", "creating", ...).
        op: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The data directory (or file) does not exist.
    #[error("{what} {} does not exist", show(path))]
    NotFound {
        /// "data directory", "data file", ...
        what: &'static str,
        /// The missing path.
        path: PathBuf,
    },
    /// A path that should be a directory is not one.
    #[error("{} is not a directory", show(path))]
    NotADirectory {
        /// The path.
        path: PathBuf,
    },
    /// The directory holds none of the data set's files.
    #[error("no {dataset} data in {}: expected {expected}", show(path))]
    NoData {
        /// Data set name ("CIFAR-10", "Fashion-MNIST", ...).
        dataset: &'static str,
        /// The directory searched.
        path: PathBuf,
        /// What was looked for.
        expected: String,
    },
    /// Some, but not all, of the data set's files are there.
    #[error("{}: missing {name}", show(dir))]
    MissingFile {
        /// The directory searched.
        dir: PathBuf,
        /// The file that is missing.
        name: String,
    },
    /// A CIFAR-10 batch file whose size is not a whole number of records.
    #[error(
        "{}: size {size} bytes is not a multiple of the {record}-byte record \
         ({} whole records and {} bytes left over)",
        show(path), size / *record as u64, size % *record as u64
    )]
    RecordSize {
        /// The file.
        path: PathBuf,
        /// Its size in bytes.
        size: u64,
        /// The record size in bytes.
        record: usize,
    },
    /// A data file that holds no samples at all.
    #[error("{}: holds no {what}", show(path))]
    Empty {
        /// The file.
        path: PathBuf,
        /// "records", "images", ...
        what: &'static str,
    },
    /// A label outside `0..classes`.
    #[error("{}: sample {index} has label {label}, expected 0..={}", show(path), classes - 1)]
    BadLabel {
        /// The file.
        path: PathBuf,
        /// Index of the sample within the file.
        index: usize,
        /// The label found.
        label: u64,
        /// Number of classes.
        classes: usize,
    },
    /// A malformed class-names file (`batches.meta.txt`).
    #[error("{}: {problem}", show(path))]
    BadMeta {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        problem: String,
    },
    /// An IDX file with the wrong magic number.
    #[error(
        "{}: magic number 0x{actual:08x}, expected 0x{expected:08x} ({what})",
        show(path)
    )]
    BadMagic {
        /// The file.
        path: PathBuf,
        /// The magic number expected.
        expected: u32,
        /// The magic number found.
        actual: u32,
        /// What the expected magic stands for.
        what: &'static str,
    },
    /// An IDX header that is inconsistent or too short.
    #[error("{}: {problem}", show(path))]
    BadHeader {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        problem: String,
    },
    /// The file holds less data than its header promises.
    #[error(
        "{}: truncated: the header promises {expected} bytes of data, the file holds {actual}",
        show(path)
    )]
    Truncated {
        /// The file.
        path: PathBuf,
        /// Bytes of data promised by the header.
        expected: u64,
        /// Bytes of data present.
        actual: u64,
    },
    /// The file holds more data than its header promises.
    #[error(
        "{}: the header promises {expected} bytes of data, the file holds {actual}",
        show(path)
    )]
    TrailingData {
        /// The file.
        path: PathBuf,
        /// Bytes of data promised by the header.
        expected: u64,
        /// Bytes of data present.
        actual: u64,
    },
    /// A `.gz` file that does not decompress.
    #[error("{}: bad gzip data: {source}", show(path))]
    Gzip {
        /// The file.
        path: PathBuf,
        /// The decoder's error.
        #[source]
        source: std::io::Error,
    },
    /// Image and label files disagree on the number of samples.
    #[error(
        "{} holds {images} images but {} holds {labels} labels",
        show(images_path),
        show(labels_path)
    )]
    CountMismatch {
        /// The image file.
        images_path: PathBuf,
        /// Number of images.
        images: usize,
        /// The label file.
        labels_path: PathBuf,
        /// Number of labels.
        labels: usize,
    },
    /// A file that safetensors cannot parse.
    #[error("{}: not a valid safetensors file: {message}", show(path))]
    Safetensors {
        /// The file.
        path: PathBuf,
        /// The parser's message.
        message: String,
    },
    /// A required tensor is absent.
    #[error("{}: no tensor `{name}` (tensors present: {})", show(path), present.join(", "))]
    MissingTensor {
        /// The file.
        path: PathBuf,
        /// The tensor looked for.
        name: &'static str,
        /// The tensors the file does hold.
        present: Vec<String>,
    },
    /// A tensor of an unsupported element type.
    #[error(
        "{}: tensor `{name}` has dtype {actual}, expected {expected}",
        show(path)
    )]
    TensorDtype {
        /// The file.
        path: PathBuf,
        /// The tensor.
        name: &'static str,
        /// Accepted dtypes.
        expected: &'static str,
        /// The dtype found.
        actual: String,
    },
    /// A tensor of the wrong rank.
    #[error(
        "{}: tensor `{name}` has shape {shape:?}, expected {expected}",
        show(path)
    )]
    TensorShape {
        /// The file.
        path: PathBuf,
        /// The tensor.
        name: &'static str,
        /// The shape found.
        shape: Vec<usize>,
        /// The shape expected, in words.
        expected: &'static str,
    },
    /// `images` and `labels` disagree on the number of samples.
    #[error(
        "{}: tensor `images` holds {images} images but `labels` holds {labels} labels",
        show(path)
    )]
    TensorCount {
        /// The file.
        path: PathBuf,
        /// Number of images.
        images: usize,
        /// Number of labels.
        labels: usize,
    },
    /// A negative (or too large) label in a tensors file.
    #[error(
        "{}: labels[{index}] is {value}, labels must be in 0..=4294967295",
        show(path)
    )]
    LabelRange {
        /// The file.
        path: PathBuf,
        /// Index of the label.
        index: usize,
        /// The value found.
        value: i64,
    },
    /// The HTTP download failed.
    #[error("downloading {url}: {message}")]
    Download {
        /// The URL.
        url: String,
        /// What went wrong.
        message: String,
    },
    /// The downloaded archive does not have the expected MD5.
    #[error("{url}: MD5 {actual} does not match the expected {expected}; nothing was kept")]
    Checksum {
        /// The URL.
        url: String,
        /// Expected MD5, lowercase hex.
        expected: String,
        /// MD5 of what was received.
        actual: String,
    },
    /// The downloaded archive could not be unpacked or lacks files.
    #[error("{url}: bad archive: {message}")]
    Archive {
        /// The URL.
        url: String,
        /// What went wrong.
        message: String,
    },
    /// The download target already exists but does not hold complete data.
    #[error(
        "{}: already exists but is incomplete ({problem}); remove it and retry",
        show(path)
    )]
    DestinationExists {
        /// The directory.
        path: PathBuf,
        /// What is wrong with it.
        problem: String,
    },
    /// An invalid loader configuration (batch size 0, normalization that
    /// does not match the channels, ...).
    #[error("invalid loader configuration: {0}")]
    Config(String),
}

impl DataError {
    pub(crate) fn io(op: &'static str, path: &Path, source: std::io::Error) -> Self {
        DataError::Io {
            op,
            path: path.to_path_buf(),
            source,
        }
    }
}
