//! Building blocks shared by the models: conv + BN (+ activation) stacks and
//! residual blocks, with torchvision's child names.

use shadernet_nn::functional::{self as f, BnTail};
use shadernet_nn::init::Rng;
use shadernet_nn::layers::{BatchNorm2d, Conv2d, Layer, Sequential};
use shadernet_nn::param::{join, Slot};
use shadernet_nn::{Module, Tape, Var};
use shadernet_tensor::ops::conv2d::{Activation, Conv2dConfig};
use shadernet_tensor::{Device, Result};

/// A conv without bias, with `padding = k / 2` (torchvision's conv3x3 / conv1x1).
pub fn conv(
    dev: &Device,
    rng: &mut Rng,
    c_in: usize,
    c_out: usize,
    k: usize,
    stride: usize,
    groups: usize,
) -> Result<Conv2d> {
    Conv2d::new(
        dev,
        rng,
        c_in,
        c_out,
        k,
        Conv2dConfig::new(stride, k / 2).with_groups(groups),
        false,
    )
}

/// torchvision's `Conv2dNormActivation`: `0` conv (no bias), `1` BN, `2` activation.
pub fn conv_bn_act(conv: Conv2d, bn: BatchNorm2d, act: Layer) -> Sequential {
    Sequential::new().push(conv).push(bn).push(act)
}

/// The projection shortcut: `0` conv 1×1 with stride, `1` BN.
pub fn downsample(
    dev: &Device,
    rng: &mut Rng,
    c_in: usize,
    c_out: usize,
    stride: usize,
) -> Result<Sequential> {
    Ok(Sequential::new()
        .push(conv(dev, rng, c_in, c_out, 1, stride, 1)?)
        .push(BatchNorm2d::new(dev, c_out)?))
}

/// ResNet's BasicBlock: `relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x))`.
pub struct BasicBlock {
    conv1: Conv2d,
    bn1: BatchNorm2d,
    conv2: Conv2d,
    bn2: BatchNorm2d,
    downsample: Option<Sequential>,
}

impl BasicBlock {
    /// A block from `c_in` to `c_out` channels; the shortcut projects when the
    /// stride or the channel count changes.
    pub fn new(
        dev: &Device,
        rng: &mut Rng,
        c_in: usize,
        c_out: usize,
        stride: usize,
    ) -> Result<BasicBlock> {
        Ok(BasicBlock {
            conv1: conv(dev, rng, c_in, c_out, 3, stride, 1)?,
            bn1: BatchNorm2d::new(dev, c_out)?,
            conv2: conv(dev, rng, c_out, c_out, 3, 1, 1)?,
            bn2: BatchNorm2d::new(dev, c_out)?,
            downsample: if stride != 1 || c_in != c_out {
                Some(downsample(dev, rng, c_in, c_out, stride)?)
            } else {
                None
            },
        })
    }
}

impl Module for BasicBlock {
    fn forward(&self, tape: &Tape, x: &Var) -> Result<Var> {
        let shortcut = match &self.downsample {
            Some(d) => d.forward(tape, x)?,
            None => x.clone(),
        };
        let tail = BnTail::Residual {
            residual: &shortcut,
            relu: true,
        };
        f::conv_bn_act_conv_bn(
            tape,
            x,
            (&self.conv1, &self.bn1, Activation::Relu),
            (&self.conv2, &self.bn2),
            tail,
        )
    }
    fn visit(&self, prefix: &str, v: &mut dyn FnMut(String, Slot<'_>)) {
        self.conv1.visit(&join(prefix, "conv1"), v);
        self.bn1.visit(&join(prefix, "bn1"), v);
        self.conv2.visit(&join(prefix, "conv2"), v);
        self.bn2.visit(&join(prefix, "bn2"), v);
        if let Some(d) = &self.downsample {
            d.visit(&join(prefix, "downsample"), v);
        }
    }
}

/// ResNet's Bottleneck (expansion 4, stride on the 3×3, optional groups: ResNeXt).
pub struct Bottleneck {
    conv1: Conv2d,
    bn1: BatchNorm2d,
    conv2: Conv2d,
    bn2: BatchNorm2d,
    conv3: Conv2d,
    bn3: BatchNorm2d,
    downsample: Option<Sequential>,
}

impl Bottleneck {
    /// torchvision's `Bottleneck(inplanes, planes, stride, groups, base_width)`.
    pub fn new(
        dev: &Device,
        rng: &mut Rng,
        inplanes: usize,
        planes: usize,
        stride: usize,
        groups: usize,
        base_width: usize,
    ) -> Result<Bottleneck> {
        let width = planes * base_width / 64 * groups;
        let out = planes * 4;
        Ok(Bottleneck {
            conv1: conv(dev, rng, inplanes, width, 1, 1, 1)?,
            bn1: BatchNorm2d::new(dev, width)?,
            conv2: conv(dev, rng, width, width, 3, stride, groups)?,
            bn2: BatchNorm2d::new(dev, width)?,
            conv3: conv(dev, rng, width, out, 1, 1, 1)?,
            bn3: BatchNorm2d::new(dev, out)?,
            downsample: if stride != 1 || inplanes != out {
                Some(downsample(dev, rng, inplanes, out, stride)?)
            } else {
                None
            },
        })
    }
}

impl Module for Bottleneck {
    fn forward(&self, tape: &Tape, x: &Var) -> Result<Var> {
        let relu = BnTail::Act(Activation::Relu);
        let h = f::conv_bn(tape, x, &self.conv1, &self.bn1, relu)?;
        let shortcut = match &self.downsample {
            Some(d) => d.forward(tape, x)?,
            None => x.clone(),
        };
        let tail = BnTail::Residual {
            residual: &shortcut,
            relu: true,
        };
        f::conv_bn_act_conv_bn(
            tape,
            &h,
            (&self.conv2, &self.bn2, Activation::Relu),
            (&self.conv3, &self.bn3),
            tail,
        )
    }
    fn visit(&self, prefix: &str, v: &mut dyn FnMut(String, Slot<'_>)) {
        self.conv1.visit(&join(prefix, "conv1"), v);
        self.bn1.visit(&join(prefix, "bn1"), v);
        self.conv2.visit(&join(prefix, "conv2"), v);
        self.bn2.visit(&join(prefix, "bn2"), v);
        self.conv3.visit(&join(prefix, "conv3"), v);
        self.bn3.visit(&join(prefix, "bn3"), v);
        if let Some(d) = &self.downsample {
            d.visit(&join(prefix, "downsample"), v);
        }
    }
}

/// MobileNetV2's InvertedResidual: `conv` = [pointwise expand (ConvBNReLU6) when
/// t ≠ 1], depthwise 3×3 (ConvBNReLU6), pointwise project (conv), BN; the input is
/// added when the stride is 1 and the channel count is kept.
pub struct InvertedResidual {
    /// `conv.0 ..= conv.{n-1}`: up to the projection.
    conv: Sequential,
    /// `conv.{n}`: the projection's batch norm, with the input's add fused into it.
    bn: BatchNorm2d,
    residual: bool,
}

impl InvertedResidual {
    /// torchvision's `InvertedResidual(inp, oup, stride, expand_ratio)`.
    pub fn new(
        dev: &Device,
        rng: &mut Rng,
        inp: usize,
        oup: usize,
        stride: usize,
        expand_ratio: usize,
    ) -> Result<InvertedResidual> {
        let hidden = inp * expand_ratio;
        let mut conv = Sequential::new();
        if expand_ratio != 1 {
            conv.add(conv_bn_act(
                self::conv(dev, rng, inp, hidden, 1, 1, 1)?,
                BatchNorm2d::new(dev, hidden)?,
                Layer::Relu6,
            ));
        }
        conv.add(conv_bn_act(
            self::conv(dev, rng, hidden, hidden, 3, stride, hidden)?,
            BatchNorm2d::new(dev, hidden)?,
            Layer::Relu6,
        ));
        conv.add(self::conv(dev, rng, hidden, oup, 1, 1, 1)?);
        Ok(InvertedResidual {
            conv,
            bn: BatchNorm2d::new(dev, oup)?,
            residual: stride == 1 && inp == oup,
        })
    }
}

impl Module for InvertedResidual {
    fn forward(&self, tape: &Tape, x: &Var) -> Result<Var> {
        let h = self.conv.forward(tape, x)?;
        if self.residual {
            self.bn.forward_add(tape, &h, x)
        } else {
            self.bn.forward(tape, &h)
        }
    }
    fn visit(&self, prefix: &str, v: &mut dyn FnMut(String, Slot<'_>)) {
        let conv = join(prefix, "conv");
        self.conv.visit(&conv, v);
        self.bn
            .visit(&join(&conv, &self.conv.layers.len().to_string()), v);
    }
}
