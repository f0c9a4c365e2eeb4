//! Optimizer update kernels (`optimizer.wgsl`): SGD with momentum, dampening,
//! Nesterov and weight decay; Adam and AdamW; the global-norm clip coefficient.
//! Each updates a parameter tensor in place from its gradient and state.

use crate::error::{shape_err, Result};
use crate::kernel::Kernel;
use crate::tensor::{DType, Tensor};

const SGD: Kernel = crate::kernel!("optimizer", "sgd");
const ADAM: Kernel = crate::kernel!("optimizer", "adam");
const CLIP_COEF: Kernel = crate::kernel!("optimizer", "clip_coef");

/// Mirrors `struct Params` in shaders/optimizer.wgsl.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, bytemuck::Pod, bytemuck::Zeroable)]
struct OptimParams {
    numel: u32,
    first_step: u32,
    lr: f32,
    weight_decay: f32,
    momentum: f32,
    dampening: f32,
    beta1: f32,
    beta2: f32,
    eps: f32,
    bias_correction1: f32,
    sqrt_bias_correction2: f32,
    _pad: u32,
}

/// Hyperparameters of one SGD step (torch.optim.SGD).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SgdStep {
    /// Learning rate for this step.
    pub lr: f32,
    /// Momentum factor (0 disables the buffer).
    pub momentum: f32,
    /// Dampening of the momentum.
    pub dampening: f32,
    /// L2 penalty added to the gradient.
    pub weight_decay: f32,
    /// Nesterov momentum.
    pub nesterov: bool,
    /// Whether this is the buffer's first step (`b = g`).
    pub first_step: bool,
}

/// Hyperparameters of one Adam/AdamW step.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AdamStep {
    /// Learning rate for this step.
    pub lr: f32,
    /// Exponential decay of the first moment.
    pub beta1: f32,
    /// Exponential decay of the second moment.
    pub beta2: f32,
    /// Added to the denominator.
    pub eps: f32,
    /// Weight decay: decoupled (AdamW) or added to the gradient (Adam).
    pub weight_decay: f32,
    /// AdamW's decoupled decay.
    pub decoupled: bool,
    /// 1-based step count (after increment), for the bias corrections.
    pub step: u32,
}

fn check(op: &'static str, param: &Tensor, grad: &Tensor, states: &[&Tensor]) -> Result<()> {
    for t in [param, grad].into_iter().chain(states.iter().copied()) {
        t.expect_dtype(op, DType::F32)?;
        if t.shape() != param.shape() {
            return shape_err(
                op,
                format!(
                    "tensor {:?} does not match the parameter {:?}",
                    t.shape(),
                    param.shape()
                ),
            );
        }
    }
    Ok(())
}

/// One SGD step on `param` in place; `momentum_buf` is read and written when momentum ≠ 0.
pub fn sgd_step(param: &Tensor, grad: &Tensor, momentum_buf: &Tensor, s: &SgdStep) -> Result<()> {
    check("sgd_step", param, grad, &[momentum_buf])?;
    let dev = param.device();
    let wg = dev.elementwise_workgroup();
    let params = OptimParams {
        numel: param.numel() as u32,
        first_step: u32::from(s.first_step),
        lr: s.lr,
        weight_decay: s.weight_decay,
        momentum: s.momentum,
        dampening: s.dampening,
        ..Default::default()
    };
    dev.launch(
        &SGD,
        &[
            ("WG", f64::from(wg)),
            ("NESTEROV", f64::from(u8::from(s.nesterov))),
        ],
        &params,
        &[grad.arg(), param.arg(), momentum_buf.arg()],
        dev.grid_1d(param.numel() as u64, wg)?,
    )
}

/// One Adam or AdamW step on `param` in place with moment buffers `m` and `v`.
pub fn adam_step(
    param: &Tensor,
    grad: &Tensor,
    m: &Tensor,
    v: &Tensor,
    s: &AdamStep,
) -> Result<()> {
    check("adam_step", param, grad, &[m, v])?;
    if s.step == 0 {
        return shape_err("adam_step", "step counts from 1");
    }
    let dev = param.device();
    let wg = dev.elementwise_workgroup();
    let t = s.step as i32;
    let bc1 = 1.0 - f64::from(s.beta1).powi(t);
    let bc2 = 1.0 - f64::from(s.beta2).powi(t);
    let params = OptimParams {
        numel: param.numel() as u32,
        first_step: u32::from(s.step == 1),
        lr: s.lr,
        weight_decay: s.weight_decay,
        beta1: s.beta1,
        beta2: s.beta2,
        eps: s.eps,
        bias_correction1: bc1 as f32,
        sqrt_bias_correction2: bc2.sqrt() as f32,
        ..Default::default()
    };
    dev.launch(
        &ADAM,
        &[
            ("WG", f64::from(wg)),
            ("DECOUPLED", f64::from(u8::from(s.decoupled))),
        ],
        &params,
        &[grad.arg(), param.arg(), m.arg(), v.arg()],
        dev.grid_1d(param.numel() as u64, wg)?,
    )
}

/// `coef[0] = min(1, max_norm / (sqrt(sum_sq[0]) + 1e-6))`, on the GPU.
pub fn clip_coefficient(sum_sq: &Tensor, max_norm: f32) -> Result<Tensor> {
    sum_sq.expect_dtype("clip_coefficient", DType::F32)?;
    if sum_sq.numel() != 1 {
        return shape_err(
            "clip_coefficient",
            format!(
                "expected a one-element sum of squares, got {:?}",
                sum_sq.shape()
            ),
        );
    }
    let dev = sum_sq.device();
    let coef = Tensor::uninit(dev, &[1], DType::F32)?;
    let params = OptimParams {
        numel: 1,
        lr: max_norm,
        ..Default::default()
    };
    dev.launch(
        &CLIP_COEF,
        &[],
        &params,
        &[sum_sq.arg(), coef.arg()],
        [1, 1, 1],
    )?;
    Ok(coef)
}
