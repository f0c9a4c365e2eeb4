//! Optimizers with PyTorch's exact update rules, run as GPU kernels on each
//! parameter in place; gradient clipping by global norm.
//!
//! State (momentum buffers, Adam moments) is allocated on the first step and
//! reused, so steady-state steps make no allocations.

use std::collections::HashMap;

use shadernet_tensor::ops::{elementwise, optim, reduce};
use shadernet_tensor::{DType, Result, Tensor};

use crate::autograd::Grads;
use crate::param::{Param, ParamId};

/// Which optimizer, with its hyperparameters.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum OptimizerConfig {
    /// torch.optim.SGD.
    Sgd {
        /// Momentum factor.
        momentum: f32,
        /// Dampening for momentum.
        dampening: f32,
        /// L2 penalty added to the gradient.
        weight_decay: f32,
        /// Nesterov momentum.
        nesterov: bool,
    },
    /// torch.optim.Adam (`decoupled: false`) or AdamW (`decoupled: true`).
    Adam {
        /// Coefficients of the running averages.
        betas: (f32, f32),
        /// Added to the denominator.
        eps: f32,
        /// Weight decay.
        weight_decay: f32,
        /// AdamW's decoupled decay.
        decoupled: bool,
    },
}

impl OptimizerConfig {
    /// SGD with PyTorch's defaults except the given momentum and weight decay.
    pub fn sgd(momentum: f32, weight_decay: f32, nesterov: bool) -> Self {
        OptimizerConfig::Sgd {
            momentum,
            dampening: 0.0,
            weight_decay,
            nesterov,
        }
    }

    /// AdamW with betas (0.9, 0.999) and eps 1e-8.
    pub fn adamw(weight_decay: f32) -> Self {
        OptimizerConfig::Adam {
            betas: (0.9, 0.999),
            eps: 1e-8,
            weight_decay,
            decoupled: true,
        }
    }
}

/// Per-parameter state tensors (names as torch's `optimizer.state_dict()`).
#[derive(Debug)]
pub struct ParamState {
    /// `momentum_buffer` (SGD) or `exp_avg` (Adam).
    pub first: Tensor,
    /// `exp_avg_sq` (Adam only).
    pub second: Option<Tensor>,
}

/// An optimizer over a fixed list of parameters.
pub struct Optimizer {
    config: OptimizerConfig,
    params: Vec<Param>,
    state: HashMap<ParamId, ParamState>,
    steps: u32,
}

impl Optimizer {
    /// An optimizer for `params` (in the order of `Module::params`).
    pub fn new(config: OptimizerConfig, params: Vec<Param>) -> Result<Optimizer> {
        if let OptimizerConfig::Sgd {
            momentum,
            dampening,
            nesterov: true,
            ..
        } = config
        {
            if momentum <= 0.0 || dampening != 0.0 {
                return Err(shadernet_tensor::Error::Shape {
                    op: "sgd",
                    message: format!("Nesterov momentum requires momentum > 0 and dampening 0 (got {momentum}, {dampening})"),
                });
            }
        }
        Ok(Optimizer {
            config,
            params,
            state: HashMap::new(),
            steps: 0,
        })
    }

    /// The configuration.
    pub fn config(&self) -> &OptimizerConfig {
        &self.config
    }

    /// Number of steps taken.
    pub fn steps(&self) -> u32 {
        self.steps
    }

    /// The parameters, in order.
    pub fn params(&self) -> &[Param] {
        &self.params
    }

    /// State of a parameter, once it has taken a step.
    pub fn state(&self, p: &Param) -> Option<&ParamState> {
        self.state.get(&p.id())
    }

    /// Restores a parameter's state (checkpoint resume) and the step count.
    pub fn set_state(&mut self, p: &Param, state: ParamState, steps: u32) {
        self.state.insert(p.id(), state);
        self.steps = steps;
    }

    /// Applies one update with learning rate `lr` to every parameter that has
    /// a gradient. Records kernels only; nothing is read back.
    pub fn step(&mut self, grads: &Grads, lr: f32) -> Result<()> {
        self.steps += 1;
        for p in &self.params {
            let Some(g) = grads.get(p) else {
                continue;
            };
            let t = p.tensor();
            let first = !self.state.contains_key(&p.id());
            let st = match self.state.entry(p.id()) {
                std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
                std::collections::hash_map::Entry::Vacant(e) => e.insert(ParamState {
                    first: Tensor::zeros(t.device(), t.shape(), DType::F32)?,
                    second: match self.config {
                        OptimizerConfig::Adam { .. } => {
                            Some(Tensor::zeros(t.device(), t.shape(), DType::F32)?)
                        }
                        OptimizerConfig::Sgd { .. } => None,
                    },
                }),
            };
            match self.config {
                OptimizerConfig::Sgd {
                    momentum,
                    dampening,
                    weight_decay,
                    nesterov,
                } => optim::sgd_step(
                    t,
                    g,
                    &st.first,
                    &optim::SgdStep {
                        lr,
                        momentum,
                        dampening,
                        weight_decay,
                        nesterov,
                        first_step: first,
                    },
                )?,
                OptimizerConfig::Adam {
                    betas,
                    eps,
                    weight_decay,
                    decoupled,
                } => {
                    let second =
                        st.second
                            .as_ref()
                            .ok_or_else(|| shadernet_tensor::Error::Shape {
                                op: "adam",
                                message: "missing second-moment state".into(),
                            })?;
                    optim::adam_step(
                        t,
                        g,
                        &st.first,
                        second,
                        &optim::AdamStep {
                            lr,
                            beta1: betas.0,
                            beta2: betas.1,
                            eps,
                            weight_decay,
                            decoupled,
                            step: self.steps,
                        },
                    )?
                }
            }
        }
        Ok(())
    }
}

/// Rescales every gradient so their global L2 norm is at most `max_norm`
/// (`torch.nn.utils.clip_grad_norm_`), on the GPU. Returns the total norm
/// squared as a `[1]` tensor (read it back only when logging).
pub fn clip_grad_norm(
    grads: &mut Grads,
    params: &[Param],
    max_norm: f32,
) -> Result<Option<Tensor>> {
    let mut total: Option<Tensor> = None;
    for p in params {
        if let Some(g) = grads.get(p) {
            let sq = reduce::sum_all(&elementwise::mul(g, g)?)?;
            total = Some(match total {
                None => sq,
                Some(t) => elementwise::add(&t, &sq)?,
            });
        }
    }
    let Some(total) = total else {
        return Ok(None);
    };
    let coef = optim::clip_coefficient(&total, max_norm)?;
    for p in params {
        if let Some(g) = grads.get(p) {
            let scaled = elementwise::mul(g, &coef)?;
            grads.insert(p, scaled);
        }
    }
    Ok(Some(total))
}
