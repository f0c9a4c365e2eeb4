//! shadernet's tensor runtime: device and adapter choice, GPU buffers with a
//! pool, a pipeline cache, batched command encoding, upload and readback, and
//! the launchers of every WGSL kernel in `shaders/`.
//!
//! Every op returns `Result`: a shape that does not fit, a wrong element type or
//! a request beyond the device's limits is an [`Error`] naming the op and the
//! numbers, never a panic and never a wgpu validation abort.

#![warn(missing_docs)]

mod cpu_driver;
mod device;
mod error;
mod kernel;
pub mod ops;
mod pool;
pub mod profile;
mod tensor;
mod texels;

pub use cpu_driver::{
    llvmpipe_threads, oversubscribe_llvmpipe, LLVMPIPE_THREADS_PER_CPU, LLVMPIPE_THREADS_VAR,
};
pub use device::{list_adapters, without_subgroups, AdapterSummary, Arg, CounterSnapshot, Device};
pub use error::{Error, Result};
pub use kernel::{source_defines, specialize_source, Kernel};
pub use profile::{Profile, ProfileOptions, Timing};
pub use tensor::{DType, Tensor};
pub use texels::{with_stream_reads, without_texel_operands, StreamReads, Texels};
pub use wgpu;
