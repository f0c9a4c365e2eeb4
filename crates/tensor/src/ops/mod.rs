//! Ops: each file pairs the launchers of one op family with its WGSL kernels
//! (`shaders/<name>.wgsl`) and its GPU-vs-reference tests.

pub mod batch_norm;
pub mod conv2d;
pub mod dropout;
pub mod elementwise;
pub mod matmul;
pub mod optim;
pub mod pool;
pub mod reduce;
pub mod softmax;
