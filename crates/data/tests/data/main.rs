//! Tests of shadernet-data, one binary (faster to build and link).

mod common;

mod augment;
mod cifar;
mod download;
mod idx;
mod loader;
mod normalize;
mod prefetch;
mod real;
mod tensors;
