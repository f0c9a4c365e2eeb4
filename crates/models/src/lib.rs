//! The model zoo of `spec/models.md`: each model is a [`Model`] whose named
//! children carry PyTorch's `state_dict()` key names.

#![warn(missing_docs)]

pub mod blocks;

use shadernet_nn::init::Rng;
use shadernet_nn::layers::{forward_fused, BatchNorm2d, Conv2d, Layer, Linear, Sequential};
use shadernet_nn::param::{join, Slot};
use shadernet_nn::{Module, Tape, Var};
use shadernet_tensor::ops::conv2d::Conv2dConfig;
use shadernet_tensor::ops::pool::Pool2dConfig;
use shadernet_tensor::{Device, Error, Result};

use blocks::{conv, conv_bn_act, BasicBlock, Bottleneck, InvertedResidual};

/// Every model name `build` knows.
pub const MODEL_NAMES: &[&str] = &[
    "lenet5",
    "vgg_cifar",
    "resnet20",
    "resnet18",
    "resnet34",
    "resnet50",
    "resnext50_32x4d",
    "vgg11_bn",
    "mobilenet_v2",
    "alexnet",
];

/// What a model is built for: input channels and size, and class count.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ModelSpec {
    /// Input channels (3 for colour images, 1 for MNIST).
    pub in_channels: usize,
    /// Input height and width.
    pub image_size: [usize; 2],
    /// Output classes.
    pub num_classes: usize,
}

impl ModelSpec {
    /// The input size a model is defined for: 224×224×3 for the ImageNet models,
    /// 32×32×3 for the CIFAR ones.
    pub fn default_for(name: &str) -> ModelSpec {
        match name {
            "lenet5" | "vgg_cifar" | "resnet20" => ModelSpec {
                in_channels: 3,
                image_size: [32, 32],
                num_classes: 10,
            },
            _ => ModelSpec {
                in_channels: 3,
                image_size: [224, 224],
                num_classes: 1000,
            },
        }
    }
}

/// A model: named children run in order.
pub struct Model {
    /// Model name (one of [`MODEL_NAMES`] or a custom one).
    pub name: String,
    /// What it was built for.
    pub spec: ModelSpec,
    children: Vec<(String, Box<dyn Module>)>,
}

impl Model {
    /// A model from named children (stateless children may have any name).
    pub fn new(name: &str, spec: ModelSpec) -> Model {
        Model {
            name: name.to_string(),
            spec,
            children: Vec::new(),
        }
    }

    /// Appends a named child.
    pub fn child(mut self, name: &str, m: impl Module + 'static) -> Model {
        self.children.push((name.to_string(), Box::new(m)));
        self
    }
}

impl Module for Model {
    fn forward(&self, tape: &Tape, x: &Var) -> Result<Var> {
        let s = x.shape();
        let want = [
            self.spec.in_channels,
            self.spec.image_size[0],
            self.spec.image_size[1],
        ];
        if s.len() != 4 || s[1] != want[0] || (self.fixed_size() && s[2..] != want[1..]) {
            return Err(Error::Shape {
                op: "model input",
                message: format!(
                    "{} expects input [N, {}, {}, {}], got {s:?}",
                    self.name, want[0], want[1], want[2]
                ),
            });
        }
        forward_fused(tape, x, self.children.iter().map(|(_, c)| c.as_ref()))
    }
    fn visit(&self, prefix: &str, v: &mut dyn FnMut(String, Slot<'_>)) {
        for (name, c) in &self.children {
            c.visit(&join(prefix, name), v);
        }
    }
}

impl Model {
    /// Whether the model needs exactly its spec's image size (a flatten into a
    /// fixed-size Linear with no adaptive pooling before it).
    fn fixed_size(&self) -> bool {
        matches!(self.name.as_str(), "lenet5" | "vgg_cifar")
    }
}

fn unknown(name: &str) -> Error {
    Error::Shape {
        op: "model",
        message: format!(
            "unknown model `{name}`; known models: {}",
            MODEL_NAMES.join(", ")
        ),
    }
}

/// Builds a model by name with PyTorch's default initialization from `seed`.
pub fn build(name: &str, spec: ModelSpec, device: &Device, seed: u64) -> Result<Model> {
    let rng = &mut Rng::new(seed);
    let d = device;
    match name {
        "lenet5" => lenet5(d, rng, spec),
        "vgg_cifar" => vgg(d, rng, "vgg_cifar", spec, &VGG_CIFAR, true, false),
        "vgg11_bn" => vgg(d, rng, "vgg11_bn", spec, &VGG11, true, true),
        "resnet20" => resnet_cifar(d, rng, spec, 3),
        "resnet18" => resnet_basic(d, rng, "resnet18", spec, [2, 2, 2, 2]),
        "resnet34" => resnet_basic(d, rng, "resnet34", spec, [3, 4, 6, 3]),
        "resnet50" => resnet_bottleneck(d, rng, "resnet50", spec, 1, 64),
        "resnext50_32x4d" => resnet_bottleneck(d, rng, "resnext50_32x4d", spec, 32, 4),
        "mobilenet_v2" => mobilenet_v2(d, rng, spec),
        "alexnet" => alexnet(d, rng, spec),
        other => Err(unknown(other)),
    }
}

fn lenet5(d: &Device, rng: &mut Rng, spec: ModelSpec) -> Result<Model> {
    let pad = if spec.image_size == [28, 28] { 2 } else { 0 };
    let flat = {
        let conv_out = |s: usize| (((s + 2 * pad).saturating_sub(4)) / 2).saturating_sub(4) / 2;
        16 * conv_out(spec.image_size[0]) * conv_out(spec.image_size[1])
    };
    if flat == 0 {
        return Err(Error::Shape {
            op: "lenet5",
            message: format!(
                "input {:?} is too small for two 5x5 convolutions and two 2x2 pools",
                spec.image_size
            ),
        });
    }
    Ok(Model::new("lenet5", spec)
        .child(
            "conv1",
            Conv2d::new(
                d,
                rng,
                spec.in_channels,
                6,
                5,
                Conv2dConfig::new(1, pad),
                true,
            )?,
        )
        .child("relu1", Layer::Relu)
        .child("pool1", Layer::MaxPool2d(Pool2dConfig::square(2)))
        .child(
            "conv2",
            Conv2d::new(d, rng, 6, 16, 5, Conv2dConfig::new(1, 0), true)?,
        )
        .child("relu2", Layer::Relu)
        .child("pool2", Layer::MaxPool2d(Pool2dConfig::square(2)))
        .child("flatten", Layer::Flatten)
        .child("fc1", Linear::new(d, rng, flat, 120, true)?)
        .child("relu3", Layer::Relu)
        .child("fc2", Linear::new(d, rng, 120, 84, true)?)
        .child("relu4", Layer::Relu)
        .child("fc3", Linear::new(d, rng, 84, spec.num_classes, true)?))
}

/// A VGG feature config: a width is `Conv2d(3×3, pad 1)` + BN + ReLU, `M` a 2×2 max pool.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VggItem {
    /// A 3×3 convolution to this many channels, then BN and ReLU.
    Conv(usize),
    /// `MaxPool2d(2, 2)`.
    Pool,
}

use VggItem::{Conv as C, Pool as M};

/// `[64, 64, 'M', 128, 128, 'M', 256, 256, 'M']`.
pub const VGG_CIFAR: [VggItem; 9] = [C(64), C(64), M, C(128), C(128), M, C(256), C(256), M];
/// torchvision's config A (vgg11).
pub const VGG11: [VggItem; 13] = [
    C(64),
    M,
    C(128),
    M,
    C(256),
    C(256),
    M,
    C(512),
    C(512),
    M,
    C(512),
    C(512),
    M,
];

/// torchvision-style VGG features for any config (`features.N` numbered over
/// every module, ReLU and pool included).
pub fn vgg_features(
    d: &Device,
    rng: &mut Rng,
    in_channels: usize,
    config: &[VggItem],
    batch_norm: bool,
) -> Result<(Sequential, usize)> {
    let mut features = Sequential::new();
    let mut c = in_channels;
    for item in config {
        match *item {
            VggItem::Conv(n) => {
                features.add(Conv2d::new(d, rng, c, n, 3, Conv2dConfig::new(1, 1), true)?);
                if batch_norm {
                    features.add(BatchNorm2d::new(d, n)?);
                }
                features.add(Layer::Relu);
                c = n;
            }
            VggItem::Pool => features.add(Layer::MaxPool2d(Pool2dConfig::square(2))),
        }
    }
    Ok((features, c))
}

fn vgg(
    d: &Device,
    rng: &mut Rng,
    name: &str,
    spec: ModelSpec,
    config: &[VggItem],
    bn: bool,
    imagenet: bool,
) -> Result<Model> {
    let (features, c) = vgg_features(d, rng, spec.in_channels, config, bn)?;
    let model = Model::new(name, spec).child("features", features);
    if imagenet {
        let classifier = Sequential::new()
            .push(Linear::new(d, rng, c * 7 * 7, 4096, true)?)
            .push(Layer::Relu)
            .push(Layer::Dropout(0.5))
            .push(Linear::new(d, rng, 4096, 4096, true)?)
            .push(Layer::Relu)
            .push(Layer::Dropout(0.5))
            .push(Linear::new(d, rng, 4096, spec.num_classes, true)?);
        Ok(model
            .child("avgpool", Layer::AdaptiveAvgPool2d(7, 7))
            .child("flatten", Layer::Flatten)
            .child("classifier", classifier))
    } else {
        let pools = config.iter().filter(|i| **i == VggItem::Pool).count();
        let side = |s: usize| s >> pools;
        let flat = c * side(spec.image_size[0]) * side(spec.image_size[1]);
        if flat == 0 {
            return Err(Error::Shape {
                op: name_static(name),
                message: format!(
                    "input {:?} is too small for {pools} 2x2 pools",
                    spec.image_size
                ),
            });
        }
        Ok(model.child("flatten", Layer::Flatten).child(
            "classifier",
            Linear::new(d, rng, flat, spec.num_classes, true)?,
        ))
    }
}

fn name_static(name: &str) -> &'static str {
    MODEL_NAMES
        .iter()
        .find(|n| **n == name)
        .copied()
        .unwrap_or("model")
}

fn resnet_cifar(d: &Device, rng: &mut Rng, spec: ModelSpec, blocks: usize) -> Result<Model> {
    let mut model = Model::new("resnet20", spec)
        .child("conv1", conv(d, rng, spec.in_channels, 16, 3, 1, 1)?)
        .child("bn1", BatchNorm2d::new(d, 16)?)
        .child("relu", Layer::Relu);
    let mut c = 16;
    for (i, width) in [16usize, 32, 64].into_iter().enumerate() {
        let mut layer = Sequential::new();
        for b in 0..blocks {
            let stride = if b == 0 && i > 0 { 2 } else { 1 };
            layer.add(BasicBlock::new(d, rng, c, width, stride)?);
            c = width;
        }
        model = model.child(&format!("layer{}", i + 1), layer);
    }
    Ok(model
        .child("avgpool", Layer::AdaptiveAvgPool2d(1, 1))
        .child("flatten", Layer::Flatten)
        .child("fc", Linear::new(d, rng, 64, spec.num_classes, true)?))
}

fn imagenet_stem(d: &Device, rng: &mut Rng, name: &str, spec: ModelSpec) -> Result<Model> {
    Ok(Model::new(name, spec)
        .child(
            "conv1",
            Conv2d::new(
                d,
                rng,
                spec.in_channels,
                64,
                7,
                Conv2dConfig::new(2, 3),
                false,
            )?,
        )
        .child("bn1", BatchNorm2d::new(d, 64)?)
        .child("relu", Layer::Relu)
        .child(
            "maxpool",
            Layer::MaxPool2d(
                Pool2dConfig::square(3)
                    .with_stride([2, 2])
                    .with_padding([1, 1]),
            ),
        ))
}

fn resnet_basic(
    d: &Device,
    rng: &mut Rng,
    name: &str,
    spec: ModelSpec,
    layers: [usize; 4],
) -> Result<Model> {
    let mut model = imagenet_stem(d, rng, name, spec)?;
    let mut c = 64;
    for (i, (&n, width)) in layers.iter().zip([64usize, 128, 256, 512]).enumerate() {
        let mut layer = Sequential::new();
        for b in 0..n {
            let stride = if b == 0 && i > 0 { 2 } else { 1 };
            layer.add(BasicBlock::new(d, rng, c, width, stride)?);
            c = width;
        }
        model = model.child(&format!("layer{}", i + 1), layer);
    }
    Ok(model
        .child("avgpool", Layer::AdaptiveAvgPool2d(1, 1))
        .child("flatten", Layer::Flatten)
        .child("fc", Linear::new(d, rng, 512, spec.num_classes, true)?))
}

fn resnet_bottleneck(
    d: &Device,
    rng: &mut Rng,
    name: &str,
    spec: ModelSpec,
    groups: usize,
    base_width: usize,
) -> Result<Model> {
    let mut model = imagenet_stem(d, rng, name, spec)?;
    let mut c = 64;
    for (i, (n, planes)) in [3usize, 4, 6, 3]
        .into_iter()
        .zip([64usize, 128, 256, 512])
        .enumerate()
    {
        let mut layer = Sequential::new();
        for b in 0..n {
            let stride = if b == 0 && i > 0 { 2 } else { 1 };
            layer.add(Bottleneck::new(
                d, rng, c, planes, stride, groups, base_width,
            )?);
            c = planes * 4;
        }
        model = model.child(&format!("layer{}", i + 1), layer);
    }
    Ok(model
        .child("avgpool", Layer::AdaptiveAvgPool2d(1, 1))
        .child("flatten", Layer::Flatten)
        .child("fc", Linear::new(d, rng, 2048, spec.num_classes, true)?))
}

fn mobilenet_v2(d: &Device, rng: &mut Rng, spec: ModelSpec) -> Result<Model> {
    let mut features = Sequential::new().push(conv_bn_act(
        conv(d, rng, spec.in_channels, 32, 3, 2, 1)?,
        BatchNorm2d::new(d, 32)?,
        Layer::Relu6,
    ));
    let mut c = 32;
    for (t, out, n, s) in [
        (1, 16, 1, 1),
        (6, 24, 2, 2),
        (6, 32, 3, 2),
        (6, 64, 4, 2),
        (6, 96, 3, 1),
        (6, 160, 3, 2),
        (6, 320, 1, 1),
    ] {
        for i in 0..n {
            features.add(InvertedResidual::new(
                d,
                rng,
                c,
                out,
                if i == 0 { s } else { 1 },
                t,
            )?);
            c = out;
        }
    }
    features.add(conv_bn_act(
        conv(d, rng, c, 1280, 1, 1, 1)?,
        BatchNorm2d::new(d, 1280)?,
        Layer::Relu6,
    ));
    let classifier = Sequential::new()
        .push(Layer::Dropout(0.2))
        .push(Linear::new(d, rng, 1280, spec.num_classes, true)?);
    Ok(Model::new("mobilenet_v2", spec)
        .child("features", features)
        .child("avgpool", Layer::AdaptiveAvgPool2d(1, 1))
        .child("flatten", Layer::Flatten)
        .child("classifier", classifier))
}

fn alexnet(d: &Device, rng: &mut Rng, spec: ModelSpec) -> Result<Model> {
    let pool = Layer::MaxPool2d(Pool2dConfig::square(3).with_stride([2, 2]));
    let cv = |rng: &mut Rng, i: usize, o: usize, k: usize, s: usize, p: usize| {
        Conv2d::new(d, rng, i, o, k, Conv2dConfig::new(s, p), true)
    };
    let features = Sequential::new()
        .push(cv(rng, spec.in_channels, 64, 11, 4, 2)?)
        .push(Layer::Relu)
        .push(pool)
        .push(cv(rng, 64, 192, 5, 1, 2)?)
        .push(Layer::Relu)
        .push(pool)
        .push(cv(rng, 192, 384, 3, 1, 1)?)
        .push(Layer::Relu)
        .push(cv(rng, 384, 256, 3, 1, 1)?)
        .push(Layer::Relu)
        .push(cv(rng, 256, 256, 3, 1, 1)?)
        .push(Layer::Relu)
        .push(pool);
    let classifier = Sequential::new()
        .push(Layer::Dropout(0.5))
        .push(Linear::new(d, rng, 256 * 6 * 6, 4096, true)?)
        .push(Layer::Relu)
        .push(Layer::Dropout(0.5))
        .push(Linear::new(d, rng, 4096, 4096, true)?)
        .push(Layer::Relu)
        .push(Linear::new(d, rng, 4096, spec.num_classes, true)?);
    Ok(Model::new("alexnet", spec)
        .child("features", features)
        .child("avgpool", Layer::AdaptiveAvgPool2d(6, 6))
        .child("flatten", Layer::Flatten)
        .child("classifier", classifier))
}
