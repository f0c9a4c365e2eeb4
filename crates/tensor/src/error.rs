//! The one error type of the tensor crate.

use crate::DType;

/// Everything the runtime and its ops can report instead of panicking.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No adapter was found on any backend.
    #[error("no GPU adapter found on any backend (on Linux without a GPU, install the software Vulkan driver: apt-get install mesa-vulkan-drivers)")]
    NoAdapter,
    /// `--device` named an adapter that does not exist.
    #[error("no adapter matches `{selector}`; the adapters found are: {available}")]
    AdapterNotFound {
        /// What the user asked for (index or name substring).
        selector: String,
        /// A list of the adapters that exist.
        available: String,
    },
    /// The device could not be created from the chosen adapter.
    #[error("could not open the device on adapter `{adapter}`: {source}")]
    RequestDevice {
        /// Adapter name.
        adapter: String,
        /// wgpu's error.
        source: wgpu::RequestDeviceError,
    },
    /// Two operands do not fit together, or an argument's shape is wrong.
    #[error("{op}: {message}")]
    Shape {
        /// The op (for example `matmul`).
        op: &'static str,
        /// What did not fit, with the shapes.
        message: String,
    },
    /// A tensor has the wrong element type for the op.
    #[error("{op}: expected a {expected:?} tensor, got {got:?}")]
    DType {
        /// The op.
        op: &'static str,
        /// Element type the op needs.
        expected: DType,
        /// Element type it got.
        got: DType,
    },
    /// A request beyond what the device allows (buffer size, workgroups, ...).
    #[error("{what}: {requested} exceeds the device limit of {limit}")]
    Limit {
        /// What was too large.
        what: String,
        /// The requested amount.
        requested: u64,
        /// The device's limit.
        limit: u64,
    },
    /// Host data does not match the shape it was given.
    #[error("{op}: {len} host elements do not fill shape {shape:?} ({numel} elements)")]
    HostLength {
        /// The op.
        op: &'static str,
        /// Elements given.
        len: usize,
        /// Shape asked for.
        shape: Vec<usize>,
        /// Elements the shape has.
        numel: usize,
    },
    /// A shader failed to compile or validate.
    #[error("kernel `{kernel}`: {message}")]
    Kernel {
        /// Kernel name.
        kernel: String,
        /// The validation message.
        message: String,
    },
    /// An error wgpu reported asynchronously (validation, out of memory, device lost).
    #[error("GPU error: {0}")]
    Gpu(String),
    /// Reading a buffer back failed.
    #[error("reading back from the GPU failed: {0}")]
    Readback(String),
}

/// Result alias of the tensor crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Shorthand for a [`Error::Shape`].
pub(crate) fn shape_err<T>(op: &'static str, message: impl Into<String>) -> Result<T> {
    Err(Error::Shape {
        op,
        message: message.into(),
    })
}
