//! Host-side safetensors state dicts with PyTorch `state_dict()` key names.
//!
//! A [`StateDict`] maps tensor names (`conv1.weight`, `bn1.running_mean`,
//! `bn1.num_batches_tracked`, ...) to [`HostTensor`]s held in host memory,
//! plus optional string metadata (the safetensors `__metadata__` entry, where
//! checkpoints keep epoch, step and optimizer information).
//!
//! # Reading
//!
//! [`StateDict::load`] and [`StateDict::from_bytes`] parse a safetensors file
//! with their own validating parser, which never panics and never allocates
//! more than a small multiple of the input size, whatever the input: the header
//! length must fit in the file, the header must be a UTF-8 JSON object, every
//! tensor's `data_offsets` must lie inside the data section, match its dtype and
//! shape exactly, and the tensors must cover the data section without gaps or
//! overlaps (the same rules as the reference `safetensors` crate, whose
//! `SafeTensors::deserialize` 0.6 can overflow an addition, and so panic in
//! builds with overflow checks, on offsets near `usize::MAX`).
//!
//! Element types are converted on load into the two kinds shadernet keeps:
//!
//! | file dtype | loaded as |
//! | --- | --- |
//! | `F32` | [`HostData::F32`], as is |
//! | `F16`, `BF16`, `F64` | [`HostData::F32`] (F64 rounded to nearest; beyond the f32 range it becomes ±inf) |
//! | `I64` | [`HostData::I64`], as is |
//! | `I32`, `I16`, `I8`, `U32`, `U16`, `U8` | [`HostData::I64`], exactly |
//! | `BOOL` | [`HostData::I64`]: 0 for a zero byte, 1 otherwise |
//! | `U64` | [`HostData::I64`] when every value is at most `i64::MAX`, else an error |
//! | `F8_*`, `F6_*`, `F4`, any other | [`StateDictError::UnsupportedDtype`] |
//!
//! # Writing
//!
//! [`StateDict::to_bytes`] and [`StateDict::save`] write `F32` and `I64`
//! tensors (so `num_batches_tracked` is an `I64` scalar of shape `[]`, as
//! PyTorch writes it), laid out like the `safetensors` crate lays them out:
//! 8-byte-aligned header padded with spaces, `I64` tensors first, then `F32`,
//! each group sorted by name. The output is byte-for-byte deterministic.
//! [`StateDict::save`] is atomic: it writes a temporary file in the target's
//! directory, fsyncs it and renames it over the target.

#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::unreachable
)]

use std::collections::{BTreeMap, HashSet};
use std::fs::{self, File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// Name that the `<bytes>` origin takes in errors from [`StateDict::from_bytes`].
const BYTES_ORIGIN: &str = "<bytes>";
/// The reserved header key holding string metadata.
const METADATA_KEY: &str = "__metadata__";
/// Largest header accepted, as in the `safetensors` crate (100 MB).
const MAX_HEADER_LEN: u64 = 100_000_000;
/// How many items each list in a [`StateDictError::Mismatch`] message shows.
const MAX_LISTED: usize = 8;

/// Errors from reading, writing and checking state dicts.
#[derive(Debug, thiserror::Error)]
pub enum StateDictError {
    /// Reading or writing a file failed.
    #[error("I/O error on {}: {source}", path.display())]
    Io {
        /// The file concerned (for a failed save, the target, not the temporary file).
        path: PathBuf,
        /// The underlying error.
        source: io::Error,
    },
    /// The input is not a well-formed safetensors file (truncated, garbled,
    /// header length beyond the file, invalid JSON header, offsets out of
    /// range, overlapping or mis-sized tensor data, ...).
    #[error("{path} is not a valid safetensors file: {message}")]
    Parse {
        /// The file path, or `<bytes>` for [`StateDict::from_bytes`].
        path: String,
        /// What is wrong, naming the tensor where one is concerned.
        message: String,
    },
    /// A tensor has an element type that shadernet cannot convert to f32 or i64.
    #[error("{path}: tensor `{name}` has unsupported dtype {dtype} (supported: F32, F16, BF16, F64, I64, I32, I16, I8, U64, U32, U16, U8, BOOL)")]
    UnsupportedDtype {
        /// The file path, or `<bytes>` for [`StateDict::from_bytes`].
        path: String,
        /// The tensor's name.
        name: String,
        /// The dtype as written in the file's header.
        dtype: String,
    },
    /// A tensor of the state dict cannot be written: its shape does not match
    /// the number of elements it holds, or its name is reserved.
    #[error("cannot write tensor `{name}`: {message}")]
    InvalidTensor {
        /// The tensor's name.
        name: String,
        /// What is wrong.
        message: String,
    },
    /// The state dict does not fit the keys and shapes a model expects
    /// (see [`StateDict::check`]); every problem is listed.
    #[error("{}", mismatch_message(model, missing, unexpected, misshaped))]
    Mismatch {
        /// The model's name, as the caller of [`StateDict::check`] gave it.
        model: String,
        /// Expected keys that are absent (in the order the model lists them).
        missing: Vec<Expected>,
        /// Keys present that the model does not have (sorted by name).
        unexpected: Vec<String>,
        /// Keys present with the wrong shape (in the order the model lists them).
        misshaped: Vec<Misshaped>,
    },
}

/// Result type of this module.
pub type Result<T, E = StateDictError> = std::result::Result<T, E>;

/// The elements of a [`HostTensor`], row-major.
#[derive(Debug, Clone, PartialEq)]
pub enum HostData {
    /// Floating-point elements (files' F32, F16, BF16 and F64 load as this).
    F32(Vec<f32>),
    /// Integer elements (files' I64 and smaller integer and BOOL types load as this).
    I64(Vec<i64>),
}

impl HostData {
    /// Number of elements.
    pub fn len(&self) -> usize {
        match self {
            HostData::F32(v) => v.len(),
            HostData::I64(v) => v.len(),
        }
    }

    /// Whether there are no elements.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The safetensors dtype this data is written as: `"F32"` or `"I64"`.
    pub fn dtype_name(&self) -> &'static str {
        match self {
            HostData::F32(_) => "F32",
            HostData::I64(_) => "I64",
        }
    }
}

/// A tensor in host memory: a shape and row-major elements.
///
/// The fields are public; a tensor whose `shape` product differs from the
/// number of elements is representable but [`StateDict::to_bytes`] and
/// [`StateDict::save`] refuse it (see [`HostTensor::is_consistent`]).
#[derive(Debug, Clone, PartialEq)]
pub struct HostTensor {
    /// Dimensions, outermost first; `[]` for a scalar.
    pub shape: Vec<usize>,
    /// Elements, row-major.
    pub data: HostData,
}

impl HostTensor {
    /// A float tensor (not checked: see [`HostTensor::is_consistent`]).
    pub fn f32(shape: Vec<usize>, data: Vec<f32>) -> Self {
        Self {
            shape,
            data: HostData::F32(data),
        }
    }

    /// An integer tensor (not checked: see [`HostTensor::is_consistent`]).
    pub fn i64(shape: Vec<usize>, data: Vec<i64>) -> Self {
        Self {
            shape,
            data: HostData::I64(data),
        }
    }

    /// An integer scalar of shape `[]`, such as BatchNorm's `num_batches_tracked`.
    pub fn scalar_i64(value: i64) -> Self {
        Self::i64(Vec::new(), vec![value])
    }

    /// A float scalar of shape `[]`.
    pub fn scalar_f32(value: f32) -> Self {
        Self::f32(Vec::new(), vec![value])
    }

    /// Number of elements held (for a consistent tensor, the product of `shape`;
    /// 1 for a scalar).
    pub fn numel(&self) -> usize {
        self.data.len()
    }

    /// The product of `shape`, or `None` if it overflows `usize`.
    pub fn shape_numel(&self) -> Option<usize> {
        checked_numel(&self.shape)
    }

    /// Whether the product of `shape` equals the number of elements held.
    pub fn is_consistent(&self) -> bool {
        self.shape_numel() == Some(self.numel())
    }

    /// Whether the elements are floats.
    pub fn is_f32(&self) -> bool {
        matches!(self.data, HostData::F32(_))
    }

    /// The float elements, or `None` for an integer tensor.
    pub fn as_f32(&self) -> Option<&[f32]> {
        match &self.data {
            HostData::F32(v) => Some(v),
            HostData::I64(_) => None,
        }
    }

    /// The integer elements, or `None` for a float tensor.
    pub fn as_i64(&self) -> Option<&[i64]> {
        match &self.data {
            HostData::I64(v) => Some(v),
            HostData::F32(_) => None,
        }
    }

    /// The elements as floats: float data copied, integer data converted with
    /// `as f32` (exact up to 2^24 in magnitude). Use this where a float
    /// parameter is expected, whichever kind the file held.
    pub fn to_f32_vec(&self) -> Vec<f32> {
        match &self.data {
            HostData::F32(v) => v.clone(),
            HostData::I64(v) => v.iter().map(|&x| x as f32).collect(),
        }
    }

    /// The elements as integers: integer data copied, float data converted
    /// when every value is finite, integral and within the i64 range
    /// (`None` otherwise). Use this where an integer buffer such as
    /// `num_batches_tracked` is expected, whichever kind the file held.
    pub fn to_i64_vec(&self) -> Option<Vec<i64>> {
        match &self.data {
            HostData::I64(v) => Some(v.clone()),
            HostData::F32(v) => v.iter().map(|&x| f32_to_i64_exact(x)).collect(),
        }
    }
}

/// `x` as an i64 if it is finite, integral and in range.
fn f32_to_i64_exact(x: f32) -> Option<i64> {
    // 2^63 is exactly representable; every f32 below it in magnitude that is
    // integral converts exactly.
    const LIMIT: f32 = 9_223_372_036_854_775_808.0;
    if x.is_finite() && x.fract() == 0.0 && (-LIMIT..LIMIT).contains(&x) {
        Some(x as i64)
    } else {
        None
    }
}

/// One key a model expects, for [`StateDict::check`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expected {
    /// The PyTorch `state_dict()` key, e.g. `layer1.0.bn1.running_var`.
    pub name: String,
    /// The expected shape (`[]` for a scalar).
    pub shape: Vec<usize>,
    /// Whether the key may be absent (BatchNorm's `num_batches_tracked`).
    /// If present, its shape is still checked.
    pub optional: bool,
}

impl Expected {
    /// A key that must be present with this shape.
    pub fn new(name: impl Into<String>, shape: Vec<usize>) -> Self {
        Self {
            name: name.into(),
            shape,
            optional: false,
        }
    }

    /// A key that may be absent, but if present must have this shape.
    pub fn optional(name: impl Into<String>, shape: Vec<usize>) -> Self {
        Self {
            name: name.into(),
            shape,
            optional: true,
        }
    }
}

/// A key present with the wrong shape, in a [`StateDictError::Mismatch`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Misshaped {
    /// The key.
    pub name: String,
    /// The shape the model expects.
    pub expected: Vec<usize>,
    /// The shape found.
    pub actual: Vec<usize>,
}

/// A set of named host tensors plus string metadata: the content of one
/// safetensors file.
///
/// Tensors are kept in a [`BTreeMap`], so [`StateDict::keys`] and
/// [`StateDict::iter`] go in lexicographic (byte) order of the names, not in
/// insertion or file order. Metadata is likewise a sorted map.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StateDict {
    tensors: BTreeMap<String, HostTensor>,
    metadata: BTreeMap<String, String>,
}

impl StateDict {
    /// An empty state dict.
    pub fn new() -> Self {
        Self::default()
    }

    /// Inserts a tensor, returning the one it replaces.
    pub fn insert(&mut self, name: impl Into<String>, tensor: HostTensor) -> Option<HostTensor> {
        self.tensors.insert(name.into(), tensor)
    }

    /// The tensor named `name`.
    pub fn get(&self, name: &str) -> Option<&HostTensor> {
        self.tensors.get(name)
    }

    /// The tensor named `name`, mutably.
    pub fn get_mut(&mut self, name: &str) -> Option<&mut HostTensor> {
        self.tensors.get_mut(name)
    }

    /// Removes and returns the tensor named `name`.
    pub fn remove(&mut self, name: &str) -> Option<HostTensor> {
        self.tensors.remove(name)
    }

    /// Whether a tensor named `name` is present.
    pub fn contains_key(&self, name: &str) -> bool {
        self.tensors.contains_key(name)
    }

    /// Tensor names, in sorted order.
    pub fn keys(&self) -> impl Iterator<Item = &str> + '_ {
        self.tensors.keys().map(String::as_str)
    }

    /// Number of tensors.
    pub fn len(&self) -> usize {
        self.tensors.len()
    }

    /// Whether there are no tensors.
    pub fn is_empty(&self) -> bool {
        self.tensors.is_empty()
    }

    /// `(name, tensor)` pairs, in sorted order of names.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &HostTensor)> + '_ {
        self.tensors.iter().map(|(k, v)| (k.as_str(), v))
    }

    /// All string metadata (the `__metadata__` header entry), sorted by key.
    pub fn metadata(&self) -> &BTreeMap<String, String> {
        &self.metadata
    }

    /// One metadata value.
    pub fn get_metadata(&self, key: &str) -> Option<&str> {
        self.metadata.get(key).map(String::as_str)
    }

    /// Sets one metadata value, returning the one it replaces.
    pub fn set_metadata(
        &mut self,
        key: impl Into<String>,
        value: impl Into<String>,
    ) -> Option<String> {
        self.metadata.insert(key.into(), value.into())
    }

    /// Removes one metadata value.
    pub fn remove_metadata(&mut self, key: &str) -> Option<String> {
        self.metadata.remove(key)
    }

    /// Reads a safetensors file, converting dtypes as the module documentation
    /// describes.
    ///
    /// # Errors
    /// [`StateDictError::Io`] if the file cannot be read,
    /// [`StateDictError::Parse`] if it is malformed,
    /// [`StateDictError::UnsupportedDtype`] for a tensor of an unsupported dtype.
    pub fn load(path: impl AsRef<Path>) -> Result<StateDict> {
        let path = path.as_ref();
        let bytes = fs::read(path).map_err(|source| StateDictError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        parse(&bytes, &path.display().to_string())
    }

    /// Parses the bytes of a safetensors file; errors name the origin `<bytes>`.
    ///
    /// Never panics, whatever `bytes` holds.
    ///
    /// # Errors
    /// As [`StateDict::load`], less `Io`.
    pub fn from_bytes(bytes: &[u8]) -> Result<StateDict> {
        parse(bytes, BYTES_ORIGIN)
    }

    /// Serializes to safetensors bytes (`F32` and `I64` tensors, metadata in
    /// `__metadata__` when there is any).
    ///
    /// # Errors
    /// [`StateDictError::InvalidTensor`] for a tensor whose shape does not match
    /// its element count, or a tensor named `__metadata__`.
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        let plan = self.plan()?;
        let mut out = Vec::with_capacity(plan.total_len());
        self.write_planned(&plan, &mut out)
            .map_err(|source| StateDictError::Io {
                path: PathBuf::from(BYTES_ORIGIN),
                source,
            })?;
        Ok(out)
    }

    /// Writes the state dict to `path` atomically: the bytes go to a
    /// temporary file in the same directory (named `.NAME.PID.N.tmp`), which is
    /// fsynced and renamed over `path`, and the directory is then fsynced
    /// (best effort). On any failure the temporary file is removed and an
    /// existing file at `path` is left as it was. An existing file's
    /// permissions are carried over (best effort). A symbolic link at `path`
    /// is replaced, not followed.
    ///
    /// # Errors
    /// [`StateDictError::InvalidTensor`] as for [`StateDict::to_bytes`] (checked
    /// before any file is touched); [`StateDictError::Io`] naming `path` if the
    /// directory is missing or unwritable, the disk fills up, or the rename
    /// fails (for instance because `path` is a directory).
    pub fn save(&self, path: impl AsRef<Path>) -> Result<()> {
        let path = path.as_ref();
        let plan = self.plan()?;
        let io_err = |source: io::Error| StateDictError::Io {
            path: path.to_path_buf(),
            source,
        };
        let file_name = path.file_name().ok_or_else(|| {
            io_err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "the path does not name a file",
            ))
        })?;
        let dir = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        let (tmp_path, file) = create_temp(dir, &file_name.to_string_lossy()).map_err(io_err)?;
        let written = self
            .write_to_file(&plan, file, path)
            .and_then(|()| fs::rename(&tmp_path, path));
        if let Err(source) = written {
            // Best effort: the temporary file is ours and must not linger.
            let _ = fs::remove_file(&tmp_path);
            return Err(io_err(source));
        }
        sync_dir(dir);
        Ok(())
    }

    /// Checks that the tensors are exactly those a model expects, with the
    /// expected shapes, and reports every problem at once.
    ///
    /// Keys marked [`Expected::optional`] may be absent. The element kind is
    /// not checked: a float tensor where an integer buffer is expected (or the
    /// reverse) passes, and the model converts it with
    /// [`HostTensor::to_i64_vec`] or [`HostTensor::to_f32_vec`]. A name listed
    /// twice in `expected` counts once (its first entry). `model` only names
    /// the model in the message.
    ///
    /// # Errors
    /// [`StateDictError::Mismatch`] listing missing keys (with the expected
    /// shape), unexpected keys and mis-shaped keys (expected and actual shape).
    pub fn check(&self, model: &str, expected: &[Expected]) -> Result<()> {
        let mut seen: HashSet<&str> = HashSet::with_capacity(expected.len());
        let mut missing = Vec::new();
        let mut misshaped = Vec::new();
        for e in expected {
            if !seen.insert(e.name.as_str()) {
                continue;
            }
            match self.tensors.get(&e.name) {
                None if e.optional => {}
                None => missing.push(e.clone()),
                Some(t) if t.shape != e.shape => misshaped.push(Misshaped {
                    name: e.name.clone(),
                    expected: e.shape.clone(),
                    actual: t.shape.clone(),
                }),
                Some(_) => {}
            }
        }
        let unexpected: Vec<String> = self
            .tensors
            .keys()
            .filter(|k| !seen.contains(k.as_str()))
            .cloned()
            .collect();
        if missing.is_empty() && unexpected.is_empty() && misshaped.is_empty() {
            Ok(())
        } else {
            Err(StateDictError::Mismatch {
                model: model.to_string(),
                missing,
                unexpected,
                misshaped,
            })
        }
    }

    /// Validates the tensors and lays out the file: header bytes and the
    /// write order of tensors.
    fn plan(&self) -> Result<Plan<'_>> {
        let mut order: Vec<(&str, &HostTensor)> = Vec::with_capacity(self.tensors.len());
        for (name, t) in &self.tensors {
            if name == METADATA_KEY {
                return Err(StateDictError::InvalidTensor {
                    name: name.clone(),
                    message: format!("`{METADATA_KEY}` is reserved for metadata"),
                });
            }
            if !t.is_consistent() {
                return Err(StateDictError::InvalidTensor {
                    name: name.clone(),
                    message: format!(
                        "shape {:?} does not match its {} elements",
                        t.shape,
                        t.numel()
                    ),
                });
            }
            order.push((name.as_str(), t));
        }
        // As the safetensors crate does: larger alignment first (I64 before
        // F32), then by name (stable sort keeps the BTreeMap's name order).
        order.sort_by_key(|(_, t)| !matches!(t.data, HostData::I64(_)));

        let mut header = serde_json::Map::new();
        if !self.metadata.is_empty() {
            let meta: serde_json::Map<String, serde_json::Value> = self
                .metadata
                .iter()
                .map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone())))
                .collect();
            header.insert(METADATA_KEY.to_string(), serde_json::Value::Object(meta));
        }
        let mut offset: usize = 0;
        for (name, t) in &order {
            let size = t.numel().checked_mul(elem_bytes(t)).ok_or_else(|| {
                StateDictError::InvalidTensor {
                    name: (*name).to_string(),
                    message: "too large".to_string(),
                }
            })?;
            let end = offset
                .checked_add(size)
                .ok_or_else(|| StateDictError::InvalidTensor {
                    name: (*name).to_string(),
                    message: "the file would exceed the address space".to_string(),
                })?;
            header.insert(
                (*name).to_string(),
                serde_json::json!({
                    "dtype": t.data.dtype_name(),
                    "shape": t.shape,
                    "data_offsets": [offset, end],
                }),
            );
            offset = end;
        }
        let mut header_bytes = serde_json::Value::Object(header).to_string().into_bytes();
        let padded = header_bytes.len().next_multiple_of(8);
        header_bytes.resize(padded, b' ');
        Ok(Plan {
            header: header_bytes,
            order,
            data_len: offset,
        })
    }

    /// Writes the planned file to `out`.
    fn write_planned(&self, plan: &Plan<'_>, out: &mut impl Write) -> io::Result<()> {
        out.write_all(&(plan.header.len() as u64).to_le_bytes())?;
        out.write_all(&plan.header)?;
        const CHUNK: usize = 8192;
        let mut buf: Vec<u8> = Vec::with_capacity(CHUNK * 8);
        for (_, t) in &plan.order {
            match &t.data {
                HostData::F32(v) => {
                    for chunk in v.chunks(CHUNK) {
                        buf.clear();
                        buf.extend(chunk.iter().flat_map(|x| x.to_le_bytes()));
                        out.write_all(&buf)?;
                    }
                }
                HostData::I64(v) => {
                    for chunk in v.chunks(CHUNK) {
                        buf.clear();
                        buf.extend(chunk.iter().flat_map(|x| x.to_le_bytes()));
                        out.write_all(&buf)?;
                    }
                }
            }
        }
        Ok(())
    }

    /// Writes the planned file into the temporary `file`, flushes and fsyncs it.
    fn write_to_file(&self, plan: &Plan<'_>, file: File, target: &Path) -> io::Result<()> {
        let mut w = BufWriter::with_capacity(1 << 20, file);
        self.write_planned(plan, &mut w)?;
        let file = w.into_inner().map_err(io::IntoInnerError::into_error)?;
        if let Ok(meta) = fs::metadata(target) {
            if meta.is_file() {
                // Best effort: keep the permissions of the file being replaced.
                let _ = file.set_permissions(meta.permissions());
            }
        }
        file.sync_all()
    }
}

impl IntoIterator for StateDict {
    type Item = (String, HostTensor);
    type IntoIter = std::collections::btree_map::IntoIter<String, HostTensor>;

    /// Consumes the state dict, yielding `(name, tensor)` in sorted order of names.
    fn into_iter(self) -> Self::IntoIter {
        self.tensors.into_iter()
    }
}

impl FromIterator<(String, HostTensor)> for StateDict {
    /// Collects tensors (no metadata); a repeated name keeps the last tensor.
    fn from_iter<I: IntoIterator<Item = (String, HostTensor)>>(iter: I) -> Self {
        Self {
            tensors: iter.into_iter().collect(),
            metadata: BTreeMap::new(),
        }
    }
}

/// The layout of a file to write.
struct Plan<'a> {
    header: Vec<u8>,
    order: Vec<(&'a str, &'a HostTensor)>,
    data_len: usize,
}

impl Plan<'_> {
    fn total_len(&self) -> usize {
        8usize
            .saturating_add(self.header.len())
            .saturating_add(self.data_len)
    }
}

/// Bytes per element of a tensor as written: 4 for F32, 8 for I64.
fn elem_bytes(t: &HostTensor) -> usize {
    match t.data {
        HostData::F32(_) => 4,
        HostData::I64(_) => 8,
    }
}

/// Creates a fresh temporary file in `dir` for writing `name`.
fn create_temp(dir: &Path, name: &str) -> io::Result<(PathBuf, File)> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let pid = std::process::id();
    let mut last_err = None;
    for _ in 0..16 {
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let tmp = dir.join(format!(".{name}.{pid}.{n}.tmp"));
        match OpenOptions::new().write(true).create_new(true).open(&tmp) {
            Ok(f) => return Ok((tmp, f)),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => last_err = Some(e),
            Err(e) => return Err(e),
        }
    }
    Err(last_err.unwrap_or_else(|| io::Error::other("cannot create a temporary file")))
}

/// Fsyncs a directory so that a rename in it is durable (best effort: not
/// every platform or file system supports it, and the rename has happened).
fn sync_dir(dir: &Path) {
    #[cfg(unix)]
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
    #[cfg(not(unix))]
    let _ = dir;
}

/// Product of a shape, `None` on overflow.
fn checked_numel(shape: &[usize]) -> Option<usize> {
    shape.iter().try_fold(1usize, |acc, &d| acc.checked_mul(d))
}

/// Formats a shape as `[16, 3, 3, 3]`.
fn shape_str(shape: &[usize]) -> String {
    format!("{shape:?}")
}

/// Joins items, showing at most [`MAX_LISTED`] and counting the rest.
fn list<I: ExactSizeIterator<Item = String>>(items: I) -> String {
    let total = items.len();
    let mut parts: Vec<String> = items.take(MAX_LISTED).collect();
    if total > MAX_LISTED {
        parts.push(format!("... and {} more", total - MAX_LISTED));
    }
    parts.join(", ")
}

/// The Display text of [`StateDictError::Mismatch`].
fn mismatch_message(
    model: &str,
    missing: &[Expected],
    unexpected: &[String],
    misshaped: &[Misshaped],
) -> String {
    let mut parts = Vec::new();
    if !missing.is_empty() {
        parts.push(format!(
            "{} missing ({})",
            missing.len(),
            list(
                missing
                    .iter()
                    .map(|e| format!("{} {}", e.name, shape_str(&e.shape)))
            )
        ));
    }
    if !unexpected.is_empty() {
        parts.push(format!(
            "{} unexpected ({})",
            unexpected.len(),
            list(unexpected.iter().cloned())
        ));
    }
    if !misshaped.is_empty() {
        parts.push(format!(
            "{} mis-shaped ({})",
            misshaped.len(),
            list(misshaped.iter().map(|m| format!(
                "{}: expected {}, got {}",
                m.name,
                shape_str(&m.expected),
                shape_str(&m.actual)
            )))
        ));
    }
    format!("weights do not fit model {model}: {}", parts.join(", "))
}

/// Element types of the safetensors format (as of the `safetensors` crate 0.6).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Dtype {
    Bool,
    F4,
    F6E2M3,
    F6E3M2,
    U8,
    I8,
    F8E5M2,
    F8E4M3,
    F8E8M0,
    I16,
    U16,
    F16,
    BF16,
    I32,
    U32,
    F32,
    F64,
    I64,
    U64,
}

impl Dtype {
    /// Parses a header dtype string; `None` if the format does not define it.
    fn parse(s: &str) -> Option<Dtype> {
        Some(match s {
            "BOOL" => Dtype::Bool,
            "F4" => Dtype::F4,
            "F6_E2M3" => Dtype::F6E2M3,
            "F6_E3M2" => Dtype::F6E3M2,
            "U8" => Dtype::U8,
            "I8" => Dtype::I8,
            "F8_E5M2" => Dtype::F8E5M2,
            "F8_E4M3" => Dtype::F8E4M3,
            "F8_E8M0" => Dtype::F8E8M0,
            "I16" => Dtype::I16,
            "U16" => Dtype::U16,
            "F16" => Dtype::F16,
            "BF16" => Dtype::BF16,
            "I32" => Dtype::I32,
            "U32" => Dtype::U32,
            "F32" => Dtype::F32,
            "F64" => Dtype::F64,
            "I64" => Dtype::I64,
            "U64" => Dtype::U64,
            _ => return None,
        })
    }

    /// Bits per element.
    fn bits(self) -> usize {
        match self {
            Dtype::F4 => 4,
            Dtype::F6E2M3 | Dtype::F6E3M2 => 6,
            Dtype::Bool | Dtype::U8 | Dtype::I8 | Dtype::F8E5M2 | Dtype::F8E4M3 | Dtype::F8E8M0 => {
                8
            }
            Dtype::I16 | Dtype::U16 | Dtype::F16 | Dtype::BF16 => 16,
            Dtype::I32 | Dtype::U32 | Dtype::F32 => 32,
            Dtype::F64 | Dtype::I64 | Dtype::U64 => 64,
        }
    }
}

/// One tensor entry of a parsed header.
struct Entry {
    name: String,
    dtype: Dtype,
    dtype_str: String,
    shape: Vec<usize>,
    start: usize,
    end: usize,
}

/// Parses and validates a whole safetensors file.
fn parse(bytes: &[u8], origin: &str) -> Result<StateDict> {
    let err = |message: String| StateDictError::Parse {
        path: origin.to_string(),
        message,
    };
    let Some((len_field, rest)) = bytes.split_first_chunk::<8>() else {
        return Err(err(format!(
            "{} bytes is too short for the 8-byte header length",
            bytes.len()
        )));
    };
    let header_len = u64::from_le_bytes(*len_field);
    if header_len > MAX_HEADER_LEN {
        return Err(err(format!(
            "header length {header_len} exceeds the {MAX_HEADER_LEN}-byte limit"
        )));
    }
    let header_len = usize::try_from(header_len)
        .ok()
        .filter(|&n| n <= rest.len())
        .ok_or_else(|| {
            err(format!(
                "header length {header_len} exceeds the {} bytes that follow it (truncated file?)",
                rest.len()
            ))
        })?;
    let Some((header, data)) = rest.split_at_checked(header_len) else {
        return Err(err("header length out of range".to_string()));
    };
    let header =
        std::str::from_utf8(header).map_err(|e| err(format!("header is not UTF-8: {e}")))?;
    let header: serde_json::Value =
        serde_json::from_str(header).map_err(|e| err(format!("header is not valid JSON: {e}")))?;
    let serde_json::Value::Object(header) = header else {
        return Err(err("header is not a JSON object".to_string()));
    };

    let mut metadata = BTreeMap::new();
    let mut entries: Vec<Entry> = Vec::with_capacity(header.len());
    for (name, value) in header {
        if name == METADATA_KEY {
            let serde_json::Value::Object(map) = value else {
                return Err(err(format!("`{METADATA_KEY}` is not a JSON object")));
            };
            for (k, v) in map {
                let serde_json::Value::String(v) = v else {
                    return Err(err(format!(
                        "`{METADATA_KEY}` value for `{k}` is not a string"
                    )));
                };
                metadata.insert(k, v);
            }
            continue;
        }
        entries.push(parse_entry(name, &value, origin)?);
    }

    // Sizes: dtype × numel must equal the byte range.
    for e in &entries {
        let size = checked_numel(&e.shape)
            .and_then(|n| n.checked_mul(e.dtype.bits()))
            .filter(|bits| bits % 8 == 0)
            .map(|bits| bits / 8)
            .ok_or_else(|| {
                err(format!(
                    "tensor `{}`: shape {} of {} does not span a whole number of bytes within the address space",
                    e.name,
                    shape_str(&e.shape),
                    e.dtype_str
                ))
            })?;
        if e.end < e.start || e.end - e.start != size {
            return Err(err(format!(
                "tensor `{}`: data_offsets [{}, {}] do not hold the {size} bytes of {} {}",
                e.name,
                e.start,
                e.end,
                e.dtype_str,
                shape_str(&e.shape)
            )));
        }
        if e.end > data.len() {
            return Err(err(format!(
                "tensor `{}`: data_offsets [{}, {}] reach beyond the {}-byte data section",
                e.name,
                e.start,
                e.end,
                data.len()
            )));
        }
    }

    // Coverage: the tensors tile the data section, without gap or overlap.
    entries.sort_by_key(|a| (a.start, a.end));
    let mut pos = 0usize;
    let mut prev: Option<&str> = None;
    for e in &entries {
        if e.start < pos {
            return Err(err(format!(
                "tensor `{}` (bytes {}..{}) overlaps tensor `{}` (ending at {pos})",
                e.name,
                e.start,
                e.end,
                prev.unwrap_or("?")
            )));
        }
        if e.start > pos {
            return Err(err(format!(
                "unused bytes {pos}..{} in the data section before tensor `{}`",
                e.start, e.name
            )));
        }
        pos = e.end;
        prev = Some(&e.name);
    }
    if pos != data.len() {
        return Err(err(format!(
            "the data section is {} bytes but the tensors cover only {pos}",
            data.len()
        )));
    }

    let mut tensors = BTreeMap::new();
    for e in entries {
        let bytes = data
            .get(e.start..e.end)
            .ok_or_else(|| err(format!("tensor `{}`: offsets out of range", e.name)))?;
        let data = convert(&e, bytes, origin)?;
        tensors.insert(
            e.name,
            HostTensor {
                shape: e.shape,
                data,
            },
        );
    }
    Ok(StateDict { tensors, metadata })
}

/// Parses one tensor entry of the header (structure only).
fn parse_entry(name: String, value: &serde_json::Value, origin: &str) -> Result<Entry> {
    let err = |message: String| StateDictError::Parse {
        path: origin.to_string(),
        message: format!("tensor `{name}`: {message}"),
    };
    let serde_json::Value::Object(obj) = value else {
        return Err(err("entry is not a JSON object".to_string()));
    };
    let dtype_str = obj
        .get("dtype")
        .and_then(serde_json::Value::as_str)
        .ok_or_else(|| err("missing or non-string `dtype`".to_string()))?;
    let Some(dtype) = Dtype::parse(dtype_str) else {
        return Err(StateDictError::UnsupportedDtype {
            path: origin.to_string(),
            name,
            dtype: dtype_str.to_string(),
        });
    };
    let shape = obj
        .get("shape")
        .and_then(serde_json::Value::as_array)
        .ok_or_else(|| err("missing or non-array `shape`".to_string()))?
        .iter()
        .map(|d| d.as_u64().and_then(|d| usize::try_from(d).ok()))
        .collect::<Option<Vec<usize>>>()
        .ok_or_else(|| err("`shape` holds a value that is not a dimension".to_string()))?;
    let offsets = obj
        .get("data_offsets")
        .and_then(serde_json::Value::as_array)
        .ok_or_else(|| err("missing or non-array `data_offsets`".to_string()))?;
    let offset = |v: Option<&serde_json::Value>| {
        v.and_then(serde_json::Value::as_u64)
            .and_then(|x| usize::try_from(x).ok())
    };
    let (start, end) = match offsets.as_slice() {
        [s, e] => (offset(Some(s)), offset(Some(e))),
        _ => (None, None),
    };
    let (Some(start), Some(end)) = (start, end) else {
        return Err(err(
            "`data_offsets` is not a pair of non-negative integers".to_string()
        ));
    };
    Ok(Entry {
        dtype_str: dtype_str.to_string(),
        name,
        dtype,
        shape,
        start,
        end,
    })
}

/// Decodes little-endian elements of `N` bytes each.
fn decode<const N: usize, T>(bytes: &[u8], f: impl Fn([u8; N]) -> T) -> Vec<T> {
    bytes
        .chunks_exact(N)
        .filter_map(|c| <[u8; N]>::try_from(c).ok())
        .map(f)
        .collect()
}

/// Converts one tensor's bytes to host data (see the module's dtype table).
fn convert(e: &Entry, bytes: &[u8], origin: &str) -> Result<HostData> {
    use half::{bf16, f16};
    Ok(match e.dtype {
        Dtype::F32 => HostData::F32(decode(bytes, f32::from_le_bytes)),
        Dtype::F16 => HostData::F32(decode(bytes, |b| f16::from_le_bytes(b).to_f32())),
        Dtype::BF16 => HostData::F32(decode(bytes, |b| bf16::from_le_bytes(b).to_f32())),
        Dtype::F64 => HostData::F32(decode(bytes, |b| f64::from_le_bytes(b) as f32)),
        Dtype::I64 => HostData::I64(decode(bytes, i64::from_le_bytes)),
        Dtype::I32 => HostData::I64(decode(bytes, |b| i64::from(i32::from_le_bytes(b)))),
        Dtype::I16 => HostData::I64(decode(bytes, |b| i64::from(i16::from_le_bytes(b)))),
        Dtype::I8 => HostData::I64(decode(bytes, |b| i64::from(i8::from_le_bytes(b)))),
        Dtype::U32 => HostData::I64(decode(bytes, |b| i64::from(u32::from_le_bytes(b)))),
        Dtype::U16 => HostData::I64(decode(bytes, |b| i64::from(u16::from_le_bytes(b)))),
        Dtype::U8 => HostData::I64(bytes.iter().map(|&b| i64::from(b)).collect()),
        Dtype::Bool => HostData::I64(bytes.iter().map(|&b| i64::from(b != 0)).collect()),
        Dtype::U64 => {
            let values = decode(bytes, u64::from_le_bytes);
            let converted: Option<Vec<i64>> =
                values.iter().map(|&v| i64::try_from(v).ok()).collect();
            match converted {
                Some(v) => HostData::I64(v),
                None => {
                    let big = values.iter().copied().max().unwrap_or(0);
                    return Err(StateDictError::Parse {
                        path: origin.to_string(),
                        message: format!(
                            "tensor `{}`: U64 value {big} does not fit in i64",
                            e.name
                        ),
                    });
                }
            }
        }
        Dtype::F4
        | Dtype::F6E2M3
        | Dtype::F6E3M2
        | Dtype::F8E5M2
        | Dtype::F8E4M3
        | Dtype::F8E8M0 => {
            return Err(StateDictError::UnsupportedDtype {
                path: origin.to_string(),
                name: e.name.clone(),
                dtype: e.dtype_str.clone(),
            })
        }
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn list_truncates_with_count() {
        let items: Vec<String> = (0..20).map(|i| format!("k{i}")).collect();
        let s = list(items.into_iter());
        assert!(s.starts_with("k0, k1, "));
        assert!(s.ends_with("k7, ... and 12 more"), "{s}");
    }

    #[test]
    fn f32_to_i64_exact_bounds() {
        assert_eq!(f32_to_i64_exact(391.0), Some(391));
        assert_eq!(f32_to_i64_exact(-2.0), Some(-2));
        assert_eq!(f32_to_i64_exact(0.5), None);
        assert_eq!(f32_to_i64_exact(f32::NAN), None);
        assert_eq!(f32_to_i64_exact(f32::INFINITY), None);
        assert_eq!(f32_to_i64_exact(9.3e18), None);
        assert_eq!(
            f32_to_i64_exact(-9_223_372_036_854_775_808.0),
            Some(i64::MIN)
        );
    }

    #[test]
    fn plan_orders_i64_first_and_pads_header() {
        let mut sd = StateDict::new();
        sd.insert("a", HostTensor::f32(vec![3], vec![1.0, 2.0, 3.0]));
        sd.insert("z.num_batches_tracked", HostTensor::scalar_i64(7));
        let plan = sd.plan().unwrap();
        assert_eq!(plan.header.len() % 8, 0);
        assert_eq!(plan.order[0].0, "z.num_batches_tracked");
        assert_eq!(plan.order[1].0, "a");
        assert_eq!(plan.data_len, 8 + 12);
    }

    #[test]
    fn dtype_parse_round_trip() {
        for s in [
            "BOOL", "F4", "F6_E2M3", "F6_E3M2", "U8", "I8", "F8_E5M2", "F8_E4M3", "F8_E8M0", "I16",
            "U16", "F16", "BF16", "I32", "U32", "F32", "F64", "I64", "U64",
        ] {
            assert!(Dtype::parse(s).is_some(), "{s}");
        }
        assert!(Dtype::parse("C64").is_none());
        assert!(Dtype::parse("f32").is_none());
    }
}
