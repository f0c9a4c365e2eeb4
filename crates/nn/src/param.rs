//! Parameters (learned tensors) and the named-state visitor every module implements.

use std::sync::atomic::{AtomicU64, Ordering};

use shadernet_tensor::Tensor;

/// Identity of a parameter (stable for its lifetime; gradients are keyed by it).
pub type ParamId = u64;

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// A learned tensor. Optimizers and `load_state_dict` write its buffer in
/// place, so clones of a `Param` all see the update.
#[derive(Clone, Debug)]
pub struct Param {
    id: ParamId,
    tensor: Tensor,
}

impl Param {
    /// Wraps a tensor as a new parameter.
    pub fn new(tensor: Tensor) -> Param {
        Param {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            tensor,
        }
    }

    /// Identity.
    pub fn id(&self) -> ParamId {
        self.id
    }

    /// The current value.
    pub fn tensor(&self) -> &Tensor {
        &self.tensor
    }

    /// Shape.
    pub fn shape(&self) -> &[usize] {
        self.tensor.shape()
    }
}

/// One named entry of a module's state, as `state_dict()` lists it.
#[derive(Clone, Copy, Debug)]
pub enum Slot<'a> {
    /// A learned parameter (`weight`, `bias`).
    Param(&'a Param),
    /// A float buffer (`running_mean`, `running_var`).
    Buffer(&'a Tensor),
    /// An integer counter stored as a one-element u32 tensor and saved as an
    /// I64 scalar (`num_batches_tracked`); optional when loading.
    Counter(&'a Tensor),
}

/// `prefix.name`, or `name` at the root.
pub fn join(prefix: &str, name: &str) -> String {
    if prefix.is_empty() {
        name.to_string()
    } else {
        format!("{prefix}.{name}")
    }
}
