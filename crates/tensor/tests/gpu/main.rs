//! GPU tests: every kernel against the f64 reference crate on odd shapes, and
//! against PyTorch fixtures from scripts/make_fixtures.py. They need an adapter
//! (lavapipe in CI); SHADERNET_SKIP_GPU_TESTS=1 marks them ignored.
#![cfg_attr(skip_gpu_tests, allow(dead_code, unused_imports))]

mod common;
mod conv2d;
mod elementwise;
mod matmul;
mod reduce;
mod runtime;
mod softmax;
