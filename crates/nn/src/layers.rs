//! Layers with PyTorch's parameter names and default initialization.

use shadernet_tensor::ops::conv2d::{Activation, Conv2dConfig};
use shadernet_tensor::ops::pool::Pool2dConfig;
use shadernet_tensor::{DType, Device, Result, Tensor};

use crate::autograd::{Tape, Var};
use crate::functional::{self as f, BnTail};
use crate::init::{default_bound, Rng};
use crate::module::Module;
use crate::param::{join, Param, Slot};

fn config_err<T>(op: &'static str, message: String) -> Result<T> {
    Err(shadernet_tensor::Error::Shape { op, message })
}

/// `nn.Conv2d`: weight `[out, in/groups, kh, kw]`, optional bias `[out]`.
pub struct Conv2d {
    /// The weight.
    pub weight: Param,
    /// The bias, if any.
    pub bias: Option<Param>,
    /// Stride, padding, dilation, groups.
    pub config: Conv2dConfig,
}

impl Conv2d {
    /// A square `k × k` convolution with PyTorch's default initialization.
    /// `groups` must divide both channel counts.
    pub fn new(
        device: &Device,
        rng: &mut Rng,
        c_in: usize,
        c_out: usize,
        k: usize,
        config: Conv2dConfig,
        bias: bool,
    ) -> Result<Conv2d> {
        let g = config.groups;
        if g == 0 || !c_in.is_multiple_of(g) || !c_out.is_multiple_of(g) {
            return config_err(
                "Conv2d",
                format!("groups {g} must divide in_channels {c_in} and out_channels {c_out}"),
            );
        }
        if k == 0 {
            return config_err("Conv2d", "kernel size must be at least 1".into());
        }
        let fan_in = c_in / g * k * k;
        let shape = [c_out, c_in / g, k, k];
        let w = rng.uniform_vec(shape.iter().product(), default_bound(fan_in));
        let weight = Param::new(Tensor::from_f32(device, &w, &shape)?);
        let bias = if bias {
            Some(Param::new(Tensor::from_f32(
                device,
                &rng.uniform_vec(c_out, default_bound(fan_in)),
                &[c_out],
            )?))
        } else {
            None
        };
        Ok(Conv2d {
            weight,
            bias,
            config,
        })
    }
}

impl Module for Conv2d {
    fn forward(&self, tape: &Tape, x: &Var) -> Result<Var> {
        let w = tape.param(&self.weight);
        let b = self.bias.as_ref().map(|b| tape.param(b));
        f::conv2d(tape, x, &w, b.as_ref(), &self.config)
    }
    fn as_conv2d(&self) -> Option<&Conv2d> {
        Some(self)
    }
    fn visit(&self, prefix: &str, v: &mut dyn FnMut(String, Slot<'_>)) {
        v(join(prefix, "weight"), Slot::Param(&self.weight));
        if let Some(b) = &self.bias {
            v(join(prefix, "bias"), Slot::Param(b));
        }
    }
}

/// `nn.Linear`: weight `[out, in]`, bias `[out]`.
pub struct Linear {
    /// The weight.
    pub weight: Param,
    /// The bias, if any.
    pub bias: Option<Param>,
}

impl Linear {
    /// A linear layer with PyTorch's default initialization.
    pub fn new(
        device: &Device,
        rng: &mut Rng,
        c_in: usize,
        c_out: usize,
        bias: bool,
    ) -> Result<Linear> {
        let bound = default_bound(c_in);
        let weight = Param::new(Tensor::from_f32(
            device,
            &rng.uniform_vec(c_in * c_out, bound),
            &[c_out, c_in],
        )?);
        let bias = if bias {
            Some(Param::new(Tensor::from_f32(
                device,
                &rng.uniform_vec(c_out, bound),
                &[c_out],
            )?))
        } else {
            None
        };
        Ok(Linear { weight, bias })
    }
}

impl Module for Linear {
    fn forward(&self, tape: &Tape, x: &Var) -> Result<Var> {
        let w = tape.param(&self.weight);
        let b = self.bias.as_ref().map(|b| tape.param(b));
        f::linear(tape, x, &w, b.as_ref())
    }
    fn visit(&self, prefix: &str, v: &mut dyn FnMut(String, Slot<'_>)) {
        v(join(prefix, "weight"), Slot::Param(&self.weight));
        if let Some(b) = &self.bias {
            v(join(prefix, "bias"), Slot::Param(b));
        }
    }
}

/// `nn.BatchNorm2d(C)`: eps 1e-5, momentum 0.1.
pub struct BatchNorm2d {
    /// γ, initialized to 1.
    pub weight: Param,
    /// β, initialized to 0.
    pub bias: Param,
    /// Running mean (buffer), initialized to 0.
    pub running_mean: Tensor,
    /// Running variance (buffer), initialized to 1.
    pub running_var: Tensor,
    /// Batches seen in training mode (u32 `[1]`; saved as an I64 scalar).
    pub num_batches_tracked: Tensor,
    /// Added to the variance.
    pub eps: f32,
    /// Weight of the new statistic in the running update.
    pub momentum: f32,
}

impl BatchNorm2d {
    /// Batch norm over `c` channels with PyTorch's defaults.
    pub fn new(device: &Device, c: usize) -> Result<BatchNorm2d> {
        Ok(BatchNorm2d {
            weight: Param::new(Tensor::from_f32(device, &vec![1.0; c], &[c])?),
            bias: Param::new(Tensor::zeros(device, &[c], DType::F32)?),
            running_mean: Tensor::zeros(device, &[c], DType::F32)?,
            running_var: Tensor::from_f32(device, &vec![1.0; c], &[c])?,
            num_batches_tracked: Tensor::zeros(device, &[1], DType::U32)?,
            eps: 1e-5,
            momentum: 0.1,
        })
    }
}

impl BatchNorm2d {
    /// `self.forward(x) + residual`, the add fused into the batch-norm kernels
    /// (MobileNetV2's inverted residual; ResNet's blocks use
    /// [`f::conv_bn`] with a [`BnTail::Residual`]).
    pub fn forward_add(&self, tape: &Tape, x: &Var, residual: &Var) -> Result<Var> {
        f::batch_norm_residual(tape, x, residual, self, false)
    }
}

impl Module for BatchNorm2d {
    fn forward(&self, tape: &Tape, x: &Var) -> Result<Var> {
        f::batch_norm(tape, x, self)
    }
    fn as_batch_norm(&self) -> Option<&BatchNorm2d> {
        Some(self)
    }
    fn visit(&self, prefix: &str, v: &mut dyn FnMut(String, Slot<'_>)) {
        v(join(prefix, "weight"), Slot::Param(&self.weight));
        v(join(prefix, "bias"), Slot::Param(&self.bias));
        v(
            join(prefix, "running_mean"),
            Slot::Buffer(&self.running_mean),
        );
        v(join(prefix, "running_var"), Slot::Buffer(&self.running_var));
        v(
            join(prefix, "num_batches_tracked"),
            Slot::Counter(&self.num_batches_tracked),
        );
    }
}

/// Stateless layers.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Layer {
    /// `nn.ReLU`.
    Relu,
    /// `nn.ReLU6`.
    Relu6,
    /// `nn.MaxPool2d`.
    MaxPool2d(Pool2dConfig),
    /// `nn.AvgPool2d` (count_include_pad = true, as PyTorch's default).
    AvgPool2d(Pool2dConfig),
    /// `nn.AdaptiveAvgPool2d((h, w))`.
    AdaptiveAvgPool2d(usize, usize),
    /// `nn.Flatten()` (from dimension 1).
    Flatten,
    /// `nn.Dropout(p)`.
    Dropout(f32),
    /// `nn.Identity`.
    Identity,
}

impl Module for Layer {
    fn forward(&self, tape: &Tape, x: &Var) -> Result<Var> {
        match *self {
            Layer::Relu => f::relu(tape, x),
            Layer::Relu6 => f::relu6(tape, x),
            Layer::MaxPool2d(cfg) => f::max_pool2d(tape, x, &cfg),
            Layer::AvgPool2d(cfg) => f::avg_pool2d(tape, x, &cfg, true, None),
            Layer::AdaptiveAvgPool2d(h, w) => f::adaptive_avg_pool2d(tape, x, h, w),
            Layer::Flatten => f::flatten(tape, x),
            Layer::Dropout(p) => f::dropout(tape, x, p),
            Layer::Identity => Ok(x.clone()),
        }
    }
    fn as_activation(&self) -> Option<Activation> {
        match self {
            Layer::Relu => Some(Activation::Relu),
            Layer::Relu6 => Some(Activation::Relu6),
            _ => None,
        }
    }
    fn visit(&self, _prefix: &str, _v: &mut dyn FnMut(String, Slot<'_>)) {}
}

/// `nn.Sequential`: children named by their index, as PyTorch numbers them.
#[derive(Default)]
pub struct Sequential {
    /// The children, in order.
    pub layers: Vec<Box<dyn Module>>,
}

impl Sequential {
    /// An empty sequence.
    pub fn new() -> Sequential {
        Sequential::default()
    }

    /// Appends a module (builder style).
    pub fn push(mut self, m: impl Module + 'static) -> Sequential {
        self.layers.push(Box::new(m));
        self
    }

    /// Appends a module.
    pub fn add(&mut self, m: impl Module + 'static) {
        self.layers.push(Box::new(m));
    }
}

/// Runs `layers` in order on `x`, fusing where one layer feeds the next: a
/// `Conv2d` followed by a `BatchNorm2d` (and a ReLU or ReLU6) runs as
/// [`f::conv_bn`], a `BatchNorm2d` followed by a ReLU or ReLU6 as
/// [`f::batch_norm_act`]: the same results, fewer passes.
pub fn forward_fused<'a>(
    tape: &Tape,
    x: &Var,
    layers: impl IntoIterator<Item = &'a dyn Module>,
) -> Result<Var> {
    let layers: Vec<&dyn Module> = layers.into_iter().collect();
    let mut h = x.clone();
    let mut i = 0;
    while i < layers.len() {
        let next = |k: usize| layers.get(i + k);
        let act = |k: usize| next(k).and_then(|l| l.as_activation());
        if let (Some(conv), Some(bn)) = (
            layers[i].as_conv2d(),
            next(1).and_then(|l| l.as_batch_norm()),
        ) {
            let a = act(2);
            h = f::conv_bn(tape, &h, conv, bn, BnTail::Act(a.unwrap_or_default()))?;
            i += if a.is_some() { 3 } else { 2 };
        } else if let (Some(bn), Some(a)) = (layers[i].as_batch_norm(), act(1)) {
            h = f::batch_norm_act(tape, &h, bn, a)?;
            i += 2;
        } else {
            h = layers[i].forward(tape, &h)?;
            i += 1;
        }
    }
    Ok(h)
}

impl Module for Sequential {
    fn forward(&self, tape: &Tape, x: &Var) -> Result<Var> {
        forward_fused(tape, x, self.layers.iter().map(|l| l.as_ref()))
    }
    fn visit(&self, prefix: &str, v: &mut dyn FnMut(String, Slot<'_>)) {
        for (i, l) in self.layers.iter().enumerate() {
            l.visit(&join(prefix, &i.to_string()), v);
        }
    }
}
