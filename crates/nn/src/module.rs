//! The `Module` trait: a forward pass over the tape, and named state.

use shadernet_tensor::ops::conv2d::Activation;
use shadernet_tensor::Result;

use crate::autograd::{Tape, Var};
use crate::param::{Param, Slot};

/// A layer or a model.
pub trait Module {
    /// Runs the module on `x`, recording on `tape` when it records.
    fn forward(&self, tape: &Tape, x: &Var) -> Result<Var>;

    /// Calls `f` for every parameter and buffer with its PyTorch name under `prefix`.
    fn visit(&self, prefix: &str, f: &mut dyn FnMut(String, Slot<'_>));

    /// `Some` for a `BatchNorm2d`: a container that runs it directly before an
    /// activation fuses the two ([`crate::layers::forward_fused`]).
    fn as_batch_norm(&self) -> Option<&crate::layers::BatchNorm2d> {
        None
    }

    /// The activation an activation layer applies (ReLU, ReLU6), else `None`.
    fn as_activation(&self) -> Option<Activation> {
        None
    }

    /// `Some` for a `Conv2d`: a container fuses it with a batch norm right after
    /// it ([`crate::functional::conv_bn`]).
    fn as_conv2d(&self) -> Option<&crate::layers::Conv2d> {
        None
    }

    /// Every parameter with its name, in `state_dict()` order.
    fn named_params(&self) -> Vec<(String, Param)> {
        let mut out = Vec::new();
        self.visit("", &mut |name, slot| {
            if let Slot::Param(p) = slot {
                out.push((name, p.clone()));
            }
        });
        out
    }

    /// Every parameter, in `state_dict()` order.
    fn params(&self) -> Vec<Param> {
        self.named_params().into_iter().map(|(_, p)| p).collect()
    }

    /// Number of learned scalars.
    fn num_params(&self) -> usize {
        self.params().iter().map(|p| p.tensor().numel()).sum()
    }
}
