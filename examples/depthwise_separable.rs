//! A MobileNet-style depthwise-separable block built by hand from `Conv2d`
//! layers: a 3×3 depthwise convolution (`groups = channels`), BatchNorm,
//! ReLU, then a 1×1 pointwise convolution, BatchNorm, ReLU. It trains a small
//! network around the block for a few steps on random data, and compares the
//! block's parameters and multiply-adds with a plain 3×3 convolution of the
//! same input and output channels.
//!
//! Run:
//!   cargo run --release --example depthwise_separable
//! SHADERNET_EXAMPLE_STEPS=N sets the training steps (default 20; CI runs 3).
//!
//! Expected: the loss falls (the network memorizes 16 random labels), and
//! the block needs 1/C_out + 1/9 of the plain convolution's parameters and
//! multiply-adds: 2,336 vs 18,432 weights for 32 → 64 channels, 7.9× fewer.

use std::time::Instant;

use shadernet::models::{Model, ModelSpec};
use shadernet::nn::functional as f;
use shadernet::nn::init::Rng;
use shadernet::nn::layers::{BatchNorm2d, Conv2d, Layer, Linear};
use shadernet::nn::optim::{Optimizer, OptimizerConfig};
use shadernet::nn::param::{join, Slot};
use shadernet::nn::{Module, Tape, Var};
use shadernet::ops::conv2d::Conv2dConfig;
use shadernet::{Device, Tensor};

/// Depthwise 3×3 (one filter per channel) + BN + ReLU, pointwise 1×1 + BN + ReLU.
struct DepthwiseSeparable {
    depthwise: Conv2d,
    bn1: BatchNorm2d,
    pointwise: Conv2d,
    bn2: BatchNorm2d,
}

impl DepthwiseSeparable {
    fn new(
        d: &Device,
        rng: &mut Rng,
        c_in: usize,
        c_out: usize,
    ) -> shadernet::tensor::Result<Self> {
        let depthwise_cfg = Conv2dConfig {
            groups: c_in,
            ..Conv2dConfig::new(1, 1)
        };
        Ok(DepthwiseSeparable {
            depthwise: Conv2d::new(d, rng, c_in, c_in, 3, depthwise_cfg, false)?,
            bn1: BatchNorm2d::new(d, c_in)?,
            pointwise: Conv2d::new(d, rng, c_in, c_out, 1, Conv2dConfig::new(1, 0), false)?,
            bn2: BatchNorm2d::new(d, c_out)?,
        })
    }
}

impl Module for DepthwiseSeparable {
    fn forward(&self, tape: &Tape, x: &Var) -> shadernet::tensor::Result<Var> {
        let h = f::relu(
            tape,
            &self.bn1.forward(tape, &self.depthwise.forward(tape, x)?)?,
        )?;
        f::relu(
            tape,
            &self.bn2.forward(tape, &self.pointwise.forward(tape, &h)?)?,
        )
    }
    fn visit(&self, prefix: &str, v: &mut dyn FnMut(String, Slot<'_>)) {
        self.depthwise.visit(&join(prefix, "depthwise"), v);
        self.bn1.visit(&join(prefix, "bn1"), v);
        self.pointwise.visit(&join(prefix, "pointwise"), v);
        self.bn2.visit(&join(prefix, "bn2"), v);
    }
}

fn forward_ms(m: &dyn Module, x: &Var) -> Result<f64, Box<dyn std::error::Error>> {
    m.forward(&Tape::inference(), x)?.tensor().to_vec_f32()?; // warm-up: pipelines compile
    let t = Instant::now();
    m.forward(&Tape::inference(), x)?.tensor().to_vec_f32()?;
    Ok(t.elapsed().as_secs_f64() * 1e3)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Before the driver loads and before any thread: see shadernet::tensor::oversubscribe_llvmpipe.
    shadernet::tensor::oversubscribe_llvmpipe();
    let steps: usize = std::env::var("SHADERNET_EXAMPLE_STEPS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20);
    let device = Device::new(None)?;
    let rng = &mut Rng::new(0);
    let (c_in, c_out, size, batch) = (32, 64, 32, 16);

    // Parameters and multiply-adds per output pixel, counted from the layers themselves.
    let block = DepthwiseSeparable::new(&device, rng, c_in, c_out)?;
    let plain = Conv2d::new(&device, rng, c_in, c_out, 3, Conv2dConfig::new(1, 1), false)?;
    let conv_weights = |c: &Conv2d| c.weight.tensor().numel();
    let separable = conv_weights(&block.depthwise) + conv_weights(&block.pointwise);
    let dense = conv_weights(&plain);
    let pixels = size * size;
    println!("plain 3x3 conv {c_in}->{c_out}:       {dense:>6} weights, {:>10} multiply-adds on {size}x{size}", dense * pixels);
    println!("depthwise-separable {c_in}->{c_out}: {separable:>6} weights, {:>10} multiply-adds on {size}x{size}", separable * pixels);
    println!(
        "savings: {:.1}x fewer (theory 1/(1/C_out + 1/9) = {:.1}x)",
        dense as f64 / separable as f64,
        1.0 / (1.0 / c_out as f64 + 1.0 / 9.0)
    );

    // A small network: stem conv, the block, global pooling, classifier.
    let spec = ModelSpec {
        in_channels: 3,
        image_size: [size, size],
        num_classes: 10,
    };
    let net = Model::new("dwsep", spec)
        .child(
            "stem",
            Conv2d::new(&device, rng, 3, c_in, 3, Conv2dConfig::new(1, 1), false)?,
        )
        .child("stem_relu", Layer::Relu)
        .child("block", block)
        .child("pool", Layer::AdaptiveAvgPool2d(1, 1))
        .child("flatten", Layer::Flatten)
        .child("fc", Linear::new(&device, rng, c_out, 10, true)?);
    println!("network: {} parameters", net.num_params());

    let mut r = Rng::new(1);
    let x = Tensor::from_f32(
        &device,
        &r.uniform_vec(batch * 3 * size * size, 1.0),
        &[batch, 3, size, size],
    )?;
    let labels: Vec<u32> = (0..batch as u32).map(|i| i % 10).collect();
    let y = Tensor::from_u32(&device, &labels, &[batch])?;
    let mut opt = Optimizer::new(OptimizerConfig::adamw(0.0), net.params())?;
    for step in 1..=steps {
        let tape = Tape::training();
        let logits = net.forward(&tape, &Var::constant(x.clone()))?;
        let loss = f::cross_entropy(&tape, &logits, &y, 0.0)?;
        opt.step(&tape.backward(&loss)?, 0.01)?;
        if step == 1 || step == steps || step % 5 == 0 {
            println!("step {step:>3}: loss {:.4}", loss.tensor().to_scalar_f32()?);
        }
    }

    // Time is not FLOPs: depthwise convolutions do little work per byte moved.
    let h = Var::constant(Tensor::from_f32(
        &device,
        &r.uniform_vec(batch * c_in * pixels, 1.0),
        &[batch, c_in, size, size],
    )?);
    println!(
        "forward of batch {batch}: plain {:.1} ms, separable {:.1} ms (on {})",
        forward_ms(&plain, &h)?,
        forward_ms(&DepthwiseSeparable::new(&device, rng, c_in, c_out)?, &h)?,
        device.adapter().name
    );
    Ok(())
}
