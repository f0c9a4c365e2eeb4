//! GPU tests: every kernel against the f64 reference crate on odd shapes, and
//! against PyTorch fixtures from scripts/make_fixtures.py. They need an adapter
//! (lavapipe in CI); RUSTFLAGS="--cfg skip_gpu_tests" marks them ignored.
#![cfg_attr(skip_gpu_tests, allow(dead_code, unused_imports))]

mod batch_norm;
mod common;
mod conv2d;
mod dropout;
mod elementwise;
mod matmul;
mod optim;
mod pool;
mod profile;
mod reduce;
mod runtime;
mod softmax;
