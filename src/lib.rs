//! shadernet: convolutional networks on any GPU. Every tensor is a GPU buffer
//! and every op a WGSL compute shader run through wgpu (Vulkan, Metal, DX12, GL).
//!
//! This facade re-exports the workspace crates; the `shadernet` binary is the CLI.

pub use shadernet_tensor as tensor;
pub use shadernet_tensor::{ops, DType, Device, Error, Tensor};

pub mod bench;
pub mod checkpoint;
pub mod metrics;
pub mod plot;
pub mod train;

pub use shadernet_data as data;
pub use shadernet_models as models;
pub use shadernet_nn as nn;
