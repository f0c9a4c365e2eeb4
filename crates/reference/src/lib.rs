//! Plain-Rust `f64` reference implementations of every shadernet op.
//!
//! This crate is the ground truth that every WGSL kernel is tested against.
//! Correctness and PyTorch semantics matter far more than speed, so every op
//! is written as a pair of naive loops (forward and backward) in the style of
//! llm.c's `train_gpt2.c`, with the tensor shapes spelled out in comments.
//!
//! Conventions used throughout:
//!
//! * Tensors are flat `&[f64]` slices in row-major order; images are NCHW.
//! * Each op family lives in its own module; ops with many shape arguments
//!   take a small `Copy` params struct (e.g. [`conv2d::Conv2dParams`]).
//! * Backward functions take the upstream gradient `dy` (same shape as the
//!   forward output) and return gradients with the same shape and layout as
//!   the corresponding forward inputs.
//! * Semantics follow PyTorch (output-size formulas, pooling divisors,
//!   tie-breaking, optimizer update order, ...); each module documents the
//!   exact rule it implements.
//!
//! Helpers for tests live in [`rng`] (seeded random numbers), [`tol`]
//! (tolerance comparisons of `f32` GPU results against `f64` references) and
//! [`gradcheck`] (finite-difference checks of backward functions).

// The reference code deliberately uses index loops mirroring the shape
// comments, and several PyTorch-shaped signatures take many scalars.
#![allow(clippy::needless_range_loop, clippy::too_many_arguments)]
#![warn(missing_docs)]

pub mod batch_norm;
pub mod conv2d;
pub mod elementwise;
pub mod gradcheck;
pub mod matmul;
pub mod optim;
pub mod pool;
pub mod reduce;
pub mod rng;
pub mod softmax;
pub mod tol;
