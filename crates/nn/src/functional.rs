//! Differentiable ops: each runs its forward kernels and records a named
//! backward struct that holds exactly the tensors its gradient needs.

use shadernet_tensor::ops::conv2d::Activation;
use shadernet_tensor::ops::{
    batch_norm, conv2d, dropout, elementwise, matmul, pool, reduce, softmax,
};
use shadernet_tensor::{Result, Tensor};

use crate::autograd::{Backward, Tape, Var};

fn bytes(ts: &[&Tensor]) -> u64 {
    ts.iter().map(|t| t.byte_size()).sum()
}

#[derive(Debug)]
struct ReluBackward {
    x: Tensor,
    six: bool,
}

impl Backward for ReluBackward {
    fn name(&self) -> &'static str {
        if self.six {
            "relu6"
        } else {
            "relu"
        }
    }
    fn backward(&self, dy: &Tensor) -> Result<Vec<Option<Tensor>>> {
        let dx = if self.six {
            elementwise::relu6_backward(dy, &self.x)?
        } else {
            elementwise::relu_backward(dy, &self.x)?
        };
        Ok(vec![Some(dx)])
    }
    fn saved_bytes(&self) -> u64 {
        bytes(&[&self.x])
    }
}

/// `max(x, 0)`.
pub fn relu(tape: &Tape, x: &Var) -> Result<Var> {
    let y = elementwise::relu(x.tensor())?;
    Ok(tape.record(y, &[x], || {
        Box::new(ReluBackward {
            x: x.tensor().clone(),
            six: false,
        })
    }))
}

/// `min(max(x, 0), 6)`.
pub fn relu6(tape: &Tape, x: &Var) -> Result<Var> {
    let y = elementwise::relu6(x.tensor())?;
    Ok(tape.record(y, &[x], || {
        Box::new(ReluBackward {
            x: x.tensor().clone(),
            six: true,
        })
    }))
}

#[derive(Debug)]
struct AddBackward;

impl Backward for AddBackward {
    fn name(&self) -> &'static str {
        "add"
    }
    fn backward(&self, dy: &Tensor) -> Result<Vec<Option<Tensor>>> {
        Ok(vec![Some(dy.clone()), Some(dy.clone())])
    }
    fn saved_bytes(&self) -> u64 {
        0
    }
}

/// `a + b` for same-shaped operands (residual connections).
pub fn add(tape: &Tape, a: &Var, b: &Var) -> Result<Var> {
    if a.shape() != b.shape() {
        return Err(shadernet_tensor::Error::Shape {
            op: "add",
            message: format!("shapes {:?} and {:?} differ", a.shape(), b.shape()),
        });
    }
    let y = elementwise::add(a.tensor(), b.tensor())?;
    Ok(tape.record(y, &[a, b], || Box::new(AddBackward)))
}

#[derive(Debug)]
struct AddReluBackward {
    y: Tensor,
}

impl Backward for AddReluBackward {
    fn name(&self) -> &'static str {
        "add_relu"
    }
    fn backward(&self, dy: &Tensor) -> Result<Vec<Option<Tensor>>> {
        // y > 0 exactly where a + b > 0.
        let g = elementwise::relu_backward(dy, &self.y)?;
        Ok(vec![Some(g.clone()), Some(g)])
    }
    fn saved_bytes(&self) -> u64 {
        bytes(&[&self.y])
    }
}

/// `relu(a + b)` for same-shaped operands in one pass (a residual block's end).
pub fn add_relu(tape: &Tape, a: &Var, b: &Var) -> Result<Var> {
    if a.shape() != b.shape() {
        return Err(shadernet_tensor::Error::Shape {
            op: "add_relu",
            message: format!("shapes {:?} and {:?} differ", a.shape(), b.shape()),
        });
    }
    let y = elementwise::add_relu(a.tensor(), b.tensor())?;
    let saved = y.clone();
    Ok(tape.record(y, &[a, b], || Box::new(AddReluBackward { y: saved })))
}

#[derive(Debug)]
struct ReshapeBackward {
    input_shape: Vec<usize>,
}

impl Backward for ReshapeBackward {
    fn name(&self) -> &'static str {
        "reshape"
    }
    fn backward(&self, dy: &Tensor) -> Result<Vec<Option<Tensor>>> {
        Ok(vec![Some(dy.reshape(&self.input_shape)?)])
    }
    fn saved_bytes(&self) -> u64 {
        0
    }
}

/// The same data under another shape (a view).
pub fn reshape(tape: &Tape, x: &Var, shape: &[usize]) -> Result<Var> {
    let y = x.tensor().reshape(shape)?;
    Ok(tape.record(y, &[x], || {
        Box::new(ReshapeBackward {
            input_shape: x.shape().to_vec(),
        })
    }))
}

/// `torch.flatten(x, 1)`: `[N, C, H, W]` to `[N, C*H*W]`.
pub fn flatten(tape: &Tape, x: &Var) -> Result<Var> {
    let n = x.shape().first().copied().unwrap_or(1);
    let rest: usize = x.shape().iter().skip(1).product();
    reshape(tape, x, &[n, rest])
}

#[derive(Debug)]
struct LinearBackward {
    x: Tensor,
    w: Tensor,
    bias: bool,
}

impl Backward for LinearBackward {
    fn name(&self) -> &'static str {
        "linear"
    }
    fn backward(&self, dy: &Tensor) -> Result<Vec<Option<Tensor>>> {
        // y = x W^T + b:  dx = dy W,  dW = dy^T x,  db = sum_rows(dy).
        let dx = matmul::matmul(dy, &self.w, false, false)?;
        let dw = matmul::matmul(dy, &self.x, true, false)?;
        let mut out = vec![Some(dx), Some(dw)];
        if self.bias {
            out.push(Some(reduce::sum(dy, &[0], false)?));
        }
        Ok(out)
    }
    fn saved_bytes(&self) -> u64 {
        bytes(&[&self.x, &self.w])
    }
}

/// `x W^T + b` for `x [N, in]`, `W [out, in]`, `b [out]` (`torch.nn.functional.linear`).
pub fn linear(tape: &Tape, x: &Var, w: &Var, b: Option<&Var>) -> Result<Var> {
    let op = "linear";
    match (x.shape(), w.shape()) {
        ([_, i], [o, wi]) if i == wi && b.is_none_or(|b| b.shape() == [*o]) => {}
        _ => {
            return Err(shadernet_tensor::Error::Shape {
                op,
                message: format!(
                    "input {:?} does not fit weight {:?}{}",
                    x.shape(),
                    w.shape(),
                    b.map(|b| format!(" and bias {:?}", b.shape()))
                        .unwrap_or_default()
                ),
            })
        }
    }
    let mut y = matmul::matmul(x.tensor(), w.tensor(), false, true)?;
    if let Some(b) = b {
        y = elementwise::add(&y, b.tensor())?;
    }
    let rule = || -> Box<dyn Backward> {
        Box::new(LinearBackward {
            x: x.tensor().clone(),
            w: w.tensor().clone(),
            bias: b.is_some(),
        })
    };
    Ok(match b {
        Some(b) => tape.record(y, &[x, w, b], rule),
        None => tape.record(y, &[x, w], rule),
    })
}

#[derive(Debug)]
struct CrossEntropyBackward {
    log_probs: Tensor,
    labels: Tensor,
    smoothing: f32,
}

impl Backward for CrossEntropyBackward {
    fn name(&self) -> &'static str {
        "cross_entropy"
    }
    fn backward(&self, dy: &Tensor) -> Result<Vec<Option<Tensor>>> {
        let d = softmax::cross_entropy_backward(&self.log_probs, &self.labels, dy, self.smoothing)?;
        Ok(vec![Some(d)])
    }
    fn saved_bytes(&self) -> u64 {
        bytes(&[&self.log_probs, &self.labels])
    }
}

/// Mean cross-entropy of `logits [N, C]` against u32 `labels [N]`, with label
/// smoothing (`torch.nn.functional.cross_entropy`). Returns a `[1]` loss.
pub fn cross_entropy(tape: &Tape, logits: &Var, labels: &Tensor, smoothing: f32) -> Result<Var> {
    let ce = softmax::cross_entropy(logits.tensor(), labels, smoothing)?;
    let log_probs = ce.log_probs;
    Ok(tape.record(ce.loss, &[logits], || {
        Box::new(CrossEntropyBackward {
            log_probs,
            labels: labels.clone(),
            smoothing,
        })
    }))
}

#[derive(Debug)]
struct Conv2dBackward {
    /// The input; `None` where it exists only as `kept` (a producer wrote it in
    /// the padded layout, [`conv_bn_act_conv_bn`]).
    x: Option<Tensor>,
    w: Tensor,
    cfg: conv2d::Conv2dConfig,
    bias: bool,
    /// Whether x needs a gradient (not for the network's input: dX of the
    /// first layer would be a whole convolution for nothing).
    x_grad: bool,
    /// x as the forward's implicit GEMM laid it out, read again by dW.
    kept: Option<conv2d::Conv2dInput>,
}

impl Conv2dBackward {
    /// dX (where x needs it; holding `x_acc`, x's gradient so far, added in its
    /// store) and dW from `dy`: NCHW, or already in the padded layout `padded`.
    fn dx_dw(
        &self,
        dy: &Tensor,
        padded: Option<&conv2d::Conv2dPaddedLayout>,
        x_acc: Option<&Tensor>,
    ) -> Result<(Option<Tensor>, Tensor)> {
        self.dx_dw_reducing(dy, padded, x_acc, None)
            .map(|(dx, dw, _)| (dx, dw))
    }

    /// [`Conv2dBackward::dx_dw`] whose dX also reduces the backward sums of the
    /// batch norm `below` (x = act(bn(below.x))) where its kernel can: from a
    /// padded dY, without `x_acc`.
    fn dx_dw_reducing(
        &self,
        dy: &Tensor,
        padded: Option<&conv2d::Conv2dPaddedLayout>,
        x_acc: Option<&Tensor>,
        below: Option<conv2d::BnSumsOperands<'_>>,
    ) -> Result<(Option<Tensor>, Tensor, Option<conv2d::BnSumParts>)> {
        let (x, kept, w, cfg) = (self.x.as_ref(), self.kept.as_ref(), &self.w, &self.cfg);
        if let (Some(l), Some(bn), true, None) = (padded, below, self.x_grad, x_acc) {
            let (dx, dw, sums) = conv2d::conv2d_backward_kept_from_padded_with_bn_sums(
                x,
                kept,
                w,
                (dy, l),
                cfg,
                bn,
            )?;
            return Ok((Some(dx), dw, sums));
        }
        let input_grad = if self.x_grad {
            conv2d::InputGrad::Yes { plus: x_acc }
        } else {
            conv2d::InputGrad::No
        };
        let (dx, dw) = match padded {
            Some(l) => conv2d::conv2d_backward_kept_from_padded(x, kept, w, dy, l, cfg, input_grad),
            None => conv2d::conv2d_backward_kept(x, kept, w, dy, cfg, input_grad),
        }?;
        Ok((dx, dw, None))
    }
}

impl Backward for Conv2dBackward {
    fn name(&self) -> &'static str {
        "conv2d"
    }
    fn backward(&self, dy: &Tensor) -> Result<Vec<Option<Tensor>>> {
        let mut acc = vec![None, None, None];
        self.backward_accumulate(dy, &mut acc)?;
        acc.truncate(if self.bias { 3 } else { 2 });
        Ok(acc)
    }
    /// x's accumulated gradient (a residual block's shortcut) is added in dX's
    /// store instead of by a separate pass.
    fn backward_accumulate(&self, dy: &Tensor, acc: &mut [Option<Tensor>]) -> Result<()> {
        let (dx, dw) = self.dx_dw(dy, None, acc.first().and_then(Option::as_ref))?;
        let mut grads = vec![dx, Some(dw)];
        if self.bias {
            grads.push(Some(conv2d::conv2d_backward_bias(dy)?));
        }
        accumulate_after_dx(acc, grads)
    }
    fn saved_bytes(&self) -> u64 {
        let x = self.x.as_ref().map_or(0, |x| bytes(&[x]));
        x + bytes(&[&self.w]) + self.kept.as_ref().map_or(0, |k| k.bytes())
    }
}

/// Adds `grads` into `acc` slot by slot, except slot 0: a convolution's dX,
/// which already holds x's accumulated gradient (added in its store).
fn accumulate_after_dx(acc: &mut [Option<Tensor>], grads: Vec<Option<Tensor>>) -> Result<()> {
    for (k, (slot, g)) in acc.iter_mut().zip(grads).enumerate() {
        if let Some(g) = g {
            *slot = Some(match slot.take() {
                Some(_) if k == 0 => g,
                None => g,
                Some(a) => elementwise::add(&a, &g)?,
            });
        }
    }
    Ok(())
}

/// `torch.nn.functional.conv2d(x, w, b, stride, padding, dilation, groups)`.
pub fn conv2d(
    tape: &Tape,
    x: &Var,
    w: &Var,
    b: Option<&Var>,
    cfg: &conv2d::Conv2dConfig,
) -> Result<Var> {
    if let Some(stride) = strided_pointwise(x.shape(), w.shape(), cfg) {
        // A 1x1 window without padding reads every stride-th pixel only: take that
        // subsample first (a 1x1 average pool, exact; its backward scatters dX into
        // zeros), then a stride-1 pointwise convolution, so the layout pass, dX and
        // dW see a quarter of the pixels instead of the whole input (and dX no
        // zero-inserted dY). ResNet's downsampling shortcuts are such layers.
        let window = pool::Pool2dConfig::square(1).with_stride(stride);
        let xs = avg_pool2d(tape, x, &window, false, None)?;
        return conv2d(tape, &xs, w, b, &cfg.with_stride([1, 1]));
    }
    let bias = b.map(|b| b.tensor());
    // Keep the laid-out input for dW only when dW will run.
    let (y, kept) = if tape.is_recording() && w.node().is_some() {
        conv2d::conv2d_keeping_input(x.tensor(), w.tensor(), bias, cfg)?
    } else {
        (conv2d::conv2d(x.tensor(), w.tensor(), bias, cfg)?, None)
    };
    let rule = move || -> Box<dyn Backward> {
        Box::new(Conv2dBackward {
            x: Some(x.tensor().clone()),
            w: w.tensor().clone(),
            cfg: *cfg,
            bias: b.is_some(),
            x_grad: x.node().is_some(),
            kept,
        })
    };
    Ok(match b {
        Some(b) => tape.record(y, &[x, w, b], rule),
        None => tape.record(y, &[x, w], rule),
    })
}

/// The stride of a convolution that only subsamples its input before a
/// pointwise product (a 1x1 kernel, stride > 1, no padding), else `None`.
fn strided_pointwise(x: &[usize], w: &[usize], cfg: &conv2d::Conv2dConfig) -> Option<[usize; 2]> {
    let pointwise = matches!(w, [_, _, 1, 1]) && x.len() == 4;
    let strided = cfg.stride != [1, 1] && !cfg.stride.contains(&0);
    (pointwise && strided && cfg.padding == [0; 4]).then_some(cfg.stride)
}

#[derive(Debug)]
struct MaxPool2dBackward {
    indices: Tensor,
    x_shape: Vec<usize>,
    cfg: pool::Pool2dConfig,
}

impl Backward for MaxPool2dBackward {
    fn name(&self) -> &'static str {
        "max_pool2d"
    }
    fn backward(&self, dy: &Tensor) -> Result<Vec<Option<Tensor>>> {
        Ok(vec![Some(pool::max_pool2d_backward(
            dy,
            &self.indices,
            &self.x_shape,
            &self.cfg,
        )?)])
    }
    fn saved_bytes(&self) -> u64 {
        bytes(&[&self.indices])
    }
}

/// `torch.nn.functional.max_pool2d`.
pub fn max_pool2d(tape: &Tape, x: &Var, cfg: &pool::Pool2dConfig) -> Result<Var> {
    let (y, indices) = pool::max_pool2d(x.tensor(), cfg)?;
    Ok(tape.record(y, &[x], || {
        Box::new(MaxPool2dBackward {
            indices,
            x_shape: x.shape().to_vec(),
            cfg: *cfg,
        })
    }))
}

#[derive(Debug)]
struct AvgPool2dBackward {
    x_shape: Vec<usize>,
    cfg: pool::Pool2dConfig,
    count_include_pad: bool,
    divisor_override: Option<usize>,
}

impl Backward for AvgPool2dBackward {
    fn name(&self) -> &'static str {
        "avg_pool2d"
    }
    fn backward(&self, dy: &Tensor) -> Result<Vec<Option<Tensor>>> {
        let dx = pool::avg_pool2d_backward(
            dy,
            &self.x_shape,
            &self.cfg,
            self.count_include_pad,
            self.divisor_override,
        )?;
        Ok(vec![Some(dx)])
    }
    fn saved_bytes(&self) -> u64 {
        0
    }
}

/// `torch.nn.functional.avg_pool2d`.
pub fn avg_pool2d(
    tape: &Tape,
    x: &Var,
    cfg: &pool::Pool2dConfig,
    count_include_pad: bool,
    divisor_override: Option<usize>,
) -> Result<Var> {
    let y = pool::avg_pool2d(x.tensor(), cfg, count_include_pad, divisor_override)?;
    Ok(tape.record(y, &[x], || {
        Box::new(AvgPool2dBackward {
            x_shape: x.shape().to_vec(),
            cfg: *cfg,
            count_include_pad,
            divisor_override,
        })
    }))
}

#[derive(Debug)]
struct AdaptiveAvgPool2dBackward {
    x_shape: Vec<usize>,
}

impl Backward for AdaptiveAvgPool2dBackward {
    fn name(&self) -> &'static str {
        "adaptive_avg_pool2d"
    }
    fn backward(&self, dy: &Tensor) -> Result<Vec<Option<Tensor>>> {
        Ok(vec![Some(pool::adaptive_avg_pool2d_backward(
            dy,
            &self.x_shape,
        )?)])
    }
    fn saved_bytes(&self) -> u64 {
        0
    }
}

/// `torch.nn.functional.adaptive_avg_pool2d` (global average pooling with 1×1).
pub fn adaptive_avg_pool2d(tape: &Tape, x: &Var, out_h: usize, out_w: usize) -> Result<Var> {
    let y = pool::adaptive_avg_pool2d(x.tensor(), out_h, out_w)?;
    Ok(tape.record(y, &[x], || {
        Box::new(AdaptiveAvgPool2dBackward {
            x_shape: x.shape().to_vec(),
        })
    }))
}

/// What follows batch norm: an activation (or none), or a residual block's
/// add, with or without the ReLU after it.
#[derive(Clone, Copy)]
pub enum BnTail<'a> {
    /// `act(bn(x))`.
    Act(Activation),
    /// `bn(x) + residual`, then ReLU when `relu`.
    Residual {
        /// The shortcut.
        residual: &'a Var,
        /// Whether a ReLU follows the add.
        relu: bool,
    },
}

impl<'a> BnTail<'a> {
    fn epilogue(self) -> batch_norm::BnEpilogue<'a> {
        match self {
            BnTail::Act(act) => batch_norm::BnEpilogue::act(act),
            BnTail::Residual { residual, relu } => {
                batch_norm::BnEpilogue::residual(residual.tensor(), relu)
            }
        }
    }
}

/// Training-mode batch norm's backward, with its tail: inputs x, gamma, beta
/// (and the residual).
#[derive(Debug)]
struct BatchNormBackward {
    x: Tensor,
    gamma: Tensor,
    /// With a fused activation: it and beta, to recompute its mask.
    act_beta: Option<(Activation, Tensor)>,
    /// With a residual: the output when a ReLU followed (its mask).
    residual: Option<Option<Tensor>>,
    saved: batch_norm::BatchNormSaved,
}

/// Batch norm's gradients: dx (NCHW, or in a convolution's padded dY layout
/// when `padded`), dgamma, dbeta, and the residual's.
struct BnGrads {
    dx: Tensor,
    padded: bool,
    dgamma: Tensor,
    dbeta: Tensor,
    residual: Option<Tensor>,
}

impl BatchNormBackward {
    /// The activation and beta (gamma standing in where no activation reads it).
    fn act_beta(&self) -> (Activation, &Tensor) {
        match &self.act_beta {
            Some((act, beta)) => (*act, beta),
            None => (Activation::None, &self.gamma),
        }
    }

    /// What the dX producing this batch norm's output gradient needs to reduce
    /// its backward sums (records launched here); `None` with a residual.
    fn sums_records(&self) -> Result<Option<(Tensor, Activation)>> {
        if self.residual.is_some() {
            return Ok(None);
        }
        let (act, beta) = self.act_beta();
        let records = batch_norm::batch_norm_grad_records(&self.gamma, beta, &self.saved)?;
        Ok(Some((records, act)))
    }

    /// The gradients for `dy`; dx in `layout` where given and batch norm can
    /// write it there, from `sums` (its backward sums, reduced where dy was
    /// computed) where given.
    fn grads(
        &self,
        dy: &Tensor,
        layout: Option<&conv2d::Conv2dPaddedLayout>,
        sums: Option<&conv2d::BnSumParts>,
    ) -> Result<BnGrads> {
        // With the residual's ReLU, y > 0 exactly where bn(x) + residual > 0; the
        // residual gets the (masked) gradient as is.
        let g = match &self.residual {
            Some(Some(y)) => elementwise::relu_backward(dy, y)?,
            _ => dy.clone(),
        };
        // Without an activation beta is bound but unused; gamma stands in for it.
        let (act, beta) = self.act_beta();
        let (x, gamma, saved) = (&self.x, &self.gamma, &self.saved);
        let padded = match layout {
            Some(l) => {
                batch_norm::batch_norm_act_backward_padded(x, gamma, beta, saved, &g, act, l, sums)?
            }
            None => None,
        };
        let (dx, dgamma, dbeta, padded) = match padded {
            Some((dx, dgamma, dbeta)) => (dx, dgamma, dbeta, true),
            None => {
                let (dx, dgamma, dbeta) =
                    batch_norm::batch_norm_act_backward(x, gamma, beta, saved, &g, act)?;
                (dx, dgamma, dbeta, false)
            }
        };
        Ok(BnGrads {
            dx,
            padded,
            dgamma,
            dbeta,
            residual: self.residual.is_some().then_some(g),
        })
    }
}

impl Backward for BatchNormBackward {
    fn name(&self) -> &'static str {
        match (&self.act_beta, &self.residual) {
            (_, Some(Some(_))) => "batch_norm_add_relu",
            (_, Some(None)) => "batch_norm_add",
            (None, None) => "batch_norm",
            (Some((Activation::Relu6, _)), None) => "batch_norm_relu6",
            (Some(_), None) => "batch_norm_relu",
        }
    }
    fn backward(&self, dy: &Tensor) -> Result<Vec<Option<Tensor>>> {
        let g = self.grads(dy, None, None)?;
        let mut out = vec![Some(g.dx), Some(g.dgamma), Some(g.dbeta)];
        if let Some(r) = g.residual {
            out.push(Some(r));
        }
        Ok(out)
    }
    fn saved_bytes(&self) -> u64 {
        let mask = self.residual.as_ref().and_then(Option::as_ref);
        let records = self.saved.records.as_ref().map_or(0, |r| bytes(&[r]));
        bytes(&[&self.x, &self.saved.mean, &self.saved.invstd])
            + records
            + mask.map_or(0, |y| bytes(&[y]))
    }
}

/// Training-mode batch norm of `x` with `tail` on the GPU (batch statistics,
/// from the producing convolution's `moments` where given; running statistics
/// updated): the output and its backward rule.
fn batch_norm_train(
    x: &Tensor,
    moments: Option<&conv2d::OutputMoments>,
    bn: &crate::layers::BatchNorm2d,
    gamma: &Var,
    beta: &Var,
    tail: BnTail<'_>,
) -> Result<(Tensor, BatchNormBackward)> {
    let epilogue = tail.epilogue();
    let (g, b) = (gamma.tensor(), beta.tensor());
    let (rm, rv, nbt) = (&bn.running_mean, &bn.running_var, &bn.num_batches_tracked);
    let (y, saved) = match moments {
        Some(mo) => batch_norm::batch_norm_train_from_moments(
            x,
            mo,
            epilogue,
            g,
            b,
            rm,
            rv,
            nbt,
            bn.momentum,
            bn.eps,
        )?,
        None => {
            batch_norm::batch_norm_train_with(x, epilogue, g, b, rm, rv, nbt, bn.momentum, bn.eps)?
        }
    };
    let rule = BatchNormBackward::new(x, gamma, beta, tail, &y, saved);
    Ok((y, rule))
}

impl BatchNormBackward {
    /// The rule of training-mode batch norm of `x` with `tail`, whose output is
    /// `y` (kept only as a residual ReLU's mask).
    fn new(
        x: &Tensor,
        gamma: &Var,
        beta: &Var,
        tail: BnTail<'_>,
        y: &Tensor,
        saved: batch_norm::BatchNormSaved,
    ) -> BatchNormBackward {
        let (act_beta, residual) = match tail {
            BnTail::Act(Activation::None) => (None, None),
            BnTail::Act(act) => (Some((act, beta.tensor().clone())), None),
            BnTail::Residual { relu, .. } => (None, Some(relu.then(|| y.clone()))),
        };
        BatchNormBackward {
            x: x.clone(),
            gamma: gamma.tensor().clone(),
            act_beta,
            residual,
            saved,
        }
    }
}

/// [`batch_norm_train`] with an activation, written in a convolution's padded
/// input `layout`; `None` (nothing run) where batch norm cannot write it there.
fn batch_norm_train_padded(
    x: &Tensor,
    moments: Option<&conv2d::OutputMoments>,
    bn: &crate::layers::BatchNorm2d,
    gamma: &Var,
    beta: &Var,
    act: Activation,
    layout: &conv2d::Conv2dPaddedLayout,
) -> Result<Option<(Tensor, BatchNormBackward)>> {
    let out = batch_norm::batch_norm_train_padded(
        x,
        act,
        gamma.tensor(),
        beta.tensor(),
        &bn.running_mean,
        &bn.running_var,
        &bn.num_batches_tracked,
        bn.momentum,
        bn.eps,
        layout,
        moments,
    )?;
    Ok(out.map(|(yp, saved)| {
        let rule = BatchNormBackward::new(x, gamma, beta, BnTail::Act(act), &yp, saved);
        (yp, rule)
    }))
}

/// `BatchNorm2d` forward: batch statistics and a running-stat update on the
/// GPU in training mode, running statistics in eval mode.
pub fn batch_norm(tape: &Tape, x: &Var, bn: &crate::layers::BatchNorm2d) -> Result<Var> {
    batch_norm_tail(tape, x, bn, BnTail::Act(Activation::None))
}

/// `act(batch_norm(x))` with the activation (ReLU, ReLU6 or none) fused into the
/// batch-norm kernels (one pass less forward and backward; the backward
/// recomputes the activation's mask).
pub fn batch_norm_act(
    tape: &Tape,
    x: &Var,
    bn: &crate::layers::BatchNorm2d,
    act: Activation,
) -> Result<Var> {
    batch_norm_tail(tape, x, bn, BnTail::Act(act))
}

/// `batch_norm(x) + residual`, then ReLU when `relu`: a residual block's end,
/// with the add (and the ReLU) fused into batch norm's last pass (one pass less
/// forward than [`batch_norm`] then [`add`] / [`add_relu`]; the same arithmetic).
pub fn batch_norm_residual(
    tape: &Tape,
    x: &Var,
    residual: &Var,
    bn: &crate::layers::BatchNorm2d,
    relu: bool,
) -> Result<Var> {
    batch_norm_tail(tape, x, bn, BnTail::Residual { residual, relu })
}

/// `tail(batch_norm(x))`: fused in training mode and in eval mode without a
/// tape; eval mode on a recording tape records batch norm's affine map and
/// the tail as their own ops.
pub fn batch_norm_tail(
    tape: &Tape,
    x: &Var,
    bn: &crate::layers::BatchNorm2d,
    tail: BnTail<'_>,
) -> Result<Var> {
    let gamma = tape.param(&bn.weight);
    let beta = tape.param(&bn.bias);
    let inputs = |residual: Option<&'_ Var>| -> Vec<Var> {
        let mut v = vec![x.clone(), gamma.clone(), beta.clone()];
        v.extend(residual.cloned());
        v
    };
    if tape.is_training() {
        let (y, rule) = batch_norm_train(x.tensor(), None, bn, &gamma, &beta, tail)?;
        let residual = match tail {
            BnTail::Residual { residual, .. } => Some(residual),
            BnTail::Act(_) => None,
        };
        let inputs = inputs(residual);
        let refs: Vec<&Var> = inputs.iter().collect();
        return Ok(tape.record(y, &refs, || Box::new(rule)));
    }
    if !tape.is_recording() {
        let y = batch_norm::batch_norm_eval_with(
            x.tensor(),
            tail.epilogue(),
            gamma.tensor(),
            beta.tensor(),
            &bn.running_mean,
            &bn.running_var,
            bn.eps,
        )?;
        return Ok(Var::constant(y));
    }
    let y = batch_norm::batch_norm_eval(
        x.tensor(),
        gamma.tensor(),
        beta.tensor(),
        &bn.running_mean,
        &bn.running_var,
        bn.eps,
    )?;
    let y = tape.record(y, &[x, &gamma, &beta], || {
        Box::new(BatchNormEvalBackward {
            gamma: gamma.tensor().clone(),
            running_var: bn.running_var.clone(),
            eps: bn.eps,
        })
    });
    match tail {
        BnTail::Act(Activation::None) => Ok(y),
        BnTail::Act(Activation::Relu) => relu(tape, &y),
        BnTail::Act(Activation::Relu6) => relu6(tape, &y),
        BnTail::Residual {
            residual,
            relu: true,
        } => add_relu(tape, &y, residual),
        BnTail::Residual {
            residual,
            relu: false,
        } => add(tape, &y, residual),
    }
}

#[derive(Debug)]
struct ConvBnBackward {
    conv: Conv2dBackward,
    bn: BatchNormBackward,
    /// Where the convolution's backward reads dY, when batch norm's backward can
    /// write its dx there (no NCHW dY and no layout pass in between).
    layout: Option<conv2d::Conv2dPaddedLayout>,
}

impl Backward for ConvBnBackward {
    fn name(&self) -> &'static str {
        "conv2d_batch_norm"
    }
    fn backward(&self, dy: &Tensor) -> Result<Vec<Option<Tensor>>> {
        let mut acc = vec![None; if self.bn.residual.is_some() { 5 } else { 4 }];
        self.backward_accumulate(dy, &mut acc)?;
        Ok(acc)
    }
    /// Inputs: x, w, gamma, beta (, residual). x's accumulated gradient is added
    /// in dX's store, as [`Conv2dBackward`] does.
    fn backward_accumulate(&self, dy: &Tensor, acc: &mut [Option<Tensor>]) -> Result<()> {
        let (grads, _) = self.grads(dy, acc.first().and_then(Option::as_ref), None, None)?;
        accumulate_after_dx(acc, grads)
    }
    fn saved_bytes(&self) -> u64 {
        self.conv.saved_bytes() + self.bn.saved_bytes()
    }
}

impl ConvBnBackward {
    /// The rule of `conv` (no bias) on `x` with weight `w`, then batch norm.
    fn new(
        x: &Var,
        w: &Var,
        cfg: &conv2d::Conv2dConfig,
        kept: Option<conv2d::Conv2dInput>,
        bn: BatchNormBackward,
        layout: Option<conv2d::Conv2dPaddedLayout>,
    ) -> ConvBnBackward {
        ConvBnBackward {
            conv: Conv2dBackward {
                x: Some(x.tensor().clone()),
                w: w.tensor().clone(),
                cfg: *cfg,
                bias: false,
                x_grad: x.node().is_some(),
                kept,
            },
            bn,
            layout,
        }
    }

    /// `[dx, dw, dgamma, dbeta (, residual)]` for `dy`, dx holding `x_acc` (x's
    /// gradient so far) where given; batch norm's backward sums from `sums`
    /// where given. With `below` (the batch norm whose output x is) dX also
    /// reduces that one's sums where it can, returned beside.
    fn grads(
        &self,
        dy: &Tensor,
        x_acc: Option<&Tensor>,
        sums: Option<&conv2d::BnSumParts>,
        below: Option<conv2d::BnSumsOperands<'_>>,
    ) -> Result<(Vec<Option<Tensor>>, Option<conv2d::BnSumParts>)> {
        let g = self.bn.grads(dy, self.layout.as_ref(), sums)?;
        let padded = self.layout.as_ref().filter(|_| g.padded);
        let (dx, dw, below_sums) = self.conv.dx_dw_reducing(&g.dx, padded, x_acc, below)?;
        let mut grads = vec![dx, Some(dw), Some(g.dgamma), Some(g.dbeta)];
        if let Some(r) = g.residual {
            grads.push(Some(r));
        }
        Ok((grads, below_sums))
    }
}

/// [`conv_bn_act_conv_bn`]'s backward: the second [`ConvBnBackward`], then the
/// first on its dX.
#[derive(Debug)]
struct ConvBnPairBackward {
    first: ConvBnBackward,
    second: ConvBnBackward,
    /// The residual is x itself (an identity shortcut): its gradient joins x's
    /// in the first convolution's dX store instead of an add after the op.
    residual_is_x: bool,
}

impl Backward for ConvBnPairBackward {
    fn name(&self) -> &'static str {
        "conv2d_batch_norm_x2"
    }
    fn backward(&self, dy: &Tensor) -> Result<Vec<Option<Tensor>>> {
        let mut acc = vec![
            None;
            if self.second.bn.residual.is_some() {
                8
            } else {
                7
            }
        ];
        self.backward_accumulate(dy, &mut acc)?;
        Ok(acc)
    }
    /// Inputs: x, w1, gamma1, beta1, w2, gamma2, beta2 (, residual).
    fn backward_accumulate(&self, dy: &Tensor, acc: &mut [Option<Tensor>]) -> Result<()> {
        // The second convolution's dX reduces the first batch norm's backward sums.
        let records = self.first.bn.sums_records()?;
        let below = records
            .as_ref()
            .map(|(records, act)| conv2d::BnSumsOperands {
                x: &self.first.bn.x,
                records,
                act: *act,
            });
        let (mut second, sums) = self.second.grads(dy, None, None, below)?;
        let dh = second[0]
            .take()
            .ok_or_else(|| shadernet_tensor::Error::Shape {
                op: "conv_bn_act_conv_bn",
                message: "the second convolution gave no input gradient".into(),
            })?;
        // The second rule's slots: [dh, dw2, dgamma2, dbeta2, residual].
        let shortcut = if self.residual_is_x {
            second.get_mut(4).and_then(Option::take)
        } else {
            None
        };
        let x_acc = match (acc.first_mut().and_then(Option::take), shortcut) {
            (Some(a), Some(r)) => Some(elementwise::add(&a, &r)?),
            (a, r) => a.or(r),
        };
        let (mut grads, _) = self.first.grads(&dh, x_acc.as_ref(), sums.as_ref(), None)?;
        grads.extend(second.into_iter().skip(1));
        accumulate_after_dx(acc, grads)
    }
    fn saved_bytes(&self) -> u64 {
        self.first.saved_bytes() + self.second.saved_bytes()
    }
}

/// `tail(batch_norm(conv2d(x)))` for a convolution without bias: in training
/// mode one tape op whose backward has batch norm write its dx straight into
/// the layout the convolution's dX and dW read dY in
/// ([`conv2d::conv2d_dy_layout`]), skipping an NCHW dY and its layout pass. The
/// same values as the separate ops; elsewhere (eval mode, no recording, a
/// bias, a strided 1x1 convolution) it runs them.
pub fn conv_bn(
    tape: &Tape,
    x: &Var,
    conv: &crate::layers::Conv2d,
    bn: &crate::layers::BatchNorm2d,
    tail: BnTail<'_>,
) -> Result<Var> {
    let w = tape.param(&conv.weight);
    let cfg = &conv.config;
    let fuse = tape.is_training()
        && tape.is_recording()
        && conv.bias.is_none()
        && w.node().is_some()
        && strided_pointwise(x.shape(), w.shape(), cfg).is_none();
    if !fuse {
        let b = conv.bias.as_ref().map(|b| tape.param(b));
        let z = conv2d(tape, x, &w, b.as_ref(), cfg)?;
        return batch_norm_tail(tape, &z, bn, tail);
    }
    let (z, kept, moments) = conv2d::conv2d_keeping_input_and_moments(x.tensor(), w.tensor(), cfg)?;
    record_conv_bn(tape, x, &w, cfg, (&z, kept, moments.as_ref()), bn, tail)
}

/// A convolution's output, the input it kept for dW and batch norm's partial
/// moments of the output where its kernel wrote them.
type ConvOutput<'a> = (
    &'a Tensor,
    Option<conv2d::Conv2dInput>,
    Option<&'a conv2d::OutputMoments>,
);

/// [`conv_bn`]'s fused op from the convolution's output `z` (and the input it
/// kept, and the moments): batch norm with `tail`, recorded as one op.
#[allow(clippy::too_many_arguments)]
fn record_conv_bn(
    tape: &Tape,
    x: &Var,
    w: &Var,
    cfg: &conv2d::Conv2dConfig,
    (z, kept, moments): ConvOutput<'_>,
    bn: &crate::layers::BatchNorm2d,
    tail: BnTail<'_>,
) -> Result<Var> {
    let gamma = tape.param(&bn.weight);
    let beta = tape.param(&bn.bias);
    let (y, bn_rule) = batch_norm_train(z, moments, bn, &gamma, &beta, tail)?;
    let layout = conv2d::conv2d_dy_layout(x.tensor().device(), shape4_of(x)?, shape4_of(w)?, cfg)?;
    let rule =
        || -> Box<dyn Backward> { Box::new(ConvBnBackward::new(x, w, cfg, kept, bn_rule, layout)) };
    Ok(match tail {
        BnTail::Residual { residual, .. } => tape.record(y, &[x, w, &gamma, &beta, residual], rule),
        BnTail::Act(_) => tape.record(y, &[x, w, &gamma, &beta], rule),
    })
}

/// `tail(bn2(conv2(act(bn1(conv1(x))))))` for two convolutions without bias (a
/// residual block's layers): in training mode one tape op in which the first
/// batch norm writes its output straight into the padded layout the second
/// convolution's forward reads ([`conv2d::conv2d_input_layout`]), so that
/// output never exists as NCHW and the layout pass before `conv2` is skipped;
/// `conv2`'s dW reads that layout again, and the backward is [`conv_bn`]'s
/// twice. The same values as two [`conv_bn`] calls, which it makes where the
/// layout does not apply (eval mode, no recording, a bias, other variants).
pub fn conv_bn_act_conv_bn(
    tape: &Tape,
    x: &Var,
    first: (
        &crate::layers::Conv2d,
        &crate::layers::BatchNorm2d,
        Activation,
    ),
    second: (&crate::layers::Conv2d, &crate::layers::BatchNorm2d),
    tail: BnTail<'_>,
) -> Result<Var> {
    let (conv1, bn1, act) = first;
    let (conv2, bn2) = second;
    let (cfg1, cfg2) = (&conv1.config, &conv2.config);
    let w1 = tape.param(&conv1.weight);
    let w2 = tape.param(&conv2.weight);
    let h_shape = cfg1.output_size(shape4_of(x)?, shape4_of(&w1)?)?;
    let layout = if tape.is_training()
        && tape.is_recording()
        && conv1.bias.is_none()
        && conv2.bias.is_none()
        && w1.node().is_some()
        && w2.node().is_some()
        && strided_pointwise(x.shape(), w1.shape(), cfg1).is_none()
        && strided_pointwise(&h_shape, w2.shape(), cfg2).is_none()
    {
        conv2d::conv2d_input_layout(x.tensor().device(), h_shape, shape4_of(&w2)?, cfg2)?
    } else {
        None
    };
    let Some(layout) = layout else {
        let h = conv_bn(tape, x, conv1, bn1, BnTail::Act(act))?;
        return conv_bn(tape, &h, conv2, bn2, tail);
    };
    let (z1, kept1, mo1) = conv2d::conv2d_keeping_input_and_moments(x.tensor(), w1.tensor(), cfg1)?;
    let gamma1 = tape.param(&bn1.weight);
    let beta1 = tape.param(&bn1.bias);
    let padded = batch_norm_train_padded(&z1, mo1.as_ref(), bn1, &gamma1, &beta1, act, &layout)?;
    let Some((hp, bn1_rule)) = padded else {
        let out1 = (&z1, kept1, mo1.as_ref());
        let h = record_conv_bn(tape, x, &w1, cfg1, out1, bn1, BnTail::Act(act))?;
        return conv_bn(tape, &h, conv2, bn2, tail);
    };
    let (z2, kept2, mo2) =
        conv2d::conv2d_keeping_input_from_padded(&hp, &layout, w2.tensor(), cfg2, true)?;
    drop(hp);
    let gamma2 = tape.param(&bn2.weight);
    let beta2 = tape.param(&bn2.bias);
    let (y, bn2_rule) = batch_norm_train(&z2, mo2.as_ref(), bn2, &gamma2, &beta2, tail)?;
    let dev = x.tensor().device();
    let layout1 = conv2d::conv2d_dy_layout(dev, shape4_of(x)?, shape4_of(&w1)?, cfg1)?;
    let layout2 = conv2d::conv2d_dy_layout(dev, h_shape, shape4_of(&w2)?, cfg2)?;
    let residual_is_x = match tail {
        BnTail::Residual { residual, .. } => {
            residual.node().is_some() && residual.node() == x.node()
        }
        BnTail::Act(_) => false,
    };
    let rule = || -> Box<dyn Backward> {
        let mut second = ConvBnBackward::new(x, &w2, cfg2, Some(kept2), bn2_rule, layout2);
        // conv2's input exists only as the layout it kept; its gradient is needed.
        second.conv.x = None;
        second.conv.x_grad = true;
        Box::new(ConvBnPairBackward {
            first: ConvBnBackward::new(x, &w1, cfg1, kept1, bn1_rule, layout1),
            second,
            residual_is_x,
        })
    };
    let params = [x, &w1, &gamma1, &beta1, &w2, &gamma2, &beta2];
    Ok(match tail {
        BnTail::Residual { residual, .. } => {
            let mut inputs = params.to_vec();
            inputs.push(residual);
            tape.record(y, &inputs, rule)
        }
        BnTail::Act(_) => tape.record(y, &params, rule),
    })
}

/// The four dimensions of a 4-D variable.
fn shape4_of(v: &Var) -> Result<[usize; 4]> {
    v.shape()
        .try_into()
        .map_err(|_| shadernet_tensor::Error::Shape {
            op: "conv_bn",
            message: format!("expected a 4-D tensor, got shape {:?}", v.shape()),
        })
}

/// Eval-mode batch norm is an affine map per channel; only `dx` is provided
/// (fine-tuning through frozen statistics), γ and β get no gradient here.
#[derive(Debug)]
struct BatchNormEvalBackward {
    gamma: Tensor,
    running_var: Tensor,
    eps: f32,
}

impl Backward for BatchNormEvalBackward {
    fn name(&self) -> &'static str {
        "batch_norm_eval"
    }
    fn backward(&self, dy: &Tensor) -> Result<Vec<Option<Tensor>>> {
        // dx = dy * gamma / sqrt(running_var + eps), per channel.
        let invstd = elementwise::affine(&self.running_var, 1.0, self.eps)?;
        let scale = elementwise::div(&self.gamma, &elementwise::sqrt(&invstd)?)?;
        let dx = elementwise::mul_channels(dy, &scale)?;
        Ok(vec![Some(dx), None, None])
    }
    fn saved_bytes(&self) -> u64 {
        0
    }
}

#[derive(Debug)]
struct DropoutBackward {
    mask: Tensor,
}

impl Backward for DropoutBackward {
    fn name(&self) -> &'static str {
        "dropout"
    }
    fn backward(&self, dy: &Tensor) -> Result<Vec<Option<Tensor>>> {
        Ok(vec![Some(dropout::dropout_backward(dy, &self.mask)?)])
    }
    fn saved_bytes(&self) -> u64 {
        bytes(&[&self.mask])
    }
}

/// `torch.nn.functional.dropout(x, p, training)`: in training mode elements are
/// zeroed with probability `p` and the rest scaled by `1/(1-p)`; the mask comes
/// from the tape's seed sequence. In eval mode it is the identity.
pub fn dropout(tape: &Tape, x: &Var, p: f32) -> Result<Var> {
    let (y, mask) = dropout::dropout(x.tensor(), p, tape.next_seed(), tape.is_training())?;
    match mask {
        Some(mask) => Ok(tape.record(y, &[x], || Box::new(DropoutBackward { mask }))),
        None => Ok(x.clone()),
    }
}
