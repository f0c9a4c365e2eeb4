//! The autograd tape: records each differentiable GPU op with what its
//! backward rule needs, and replays the rules in reverse on the GPU.
//!
//! A [`Tape`] is made per step. Ops called through it run at once (their
//! kernels are recorded into the device's command batch) and, when the tape is
//! recording and an input needs a gradient, push a node: the op's name, the
//! nodes of its inputs, and a named backward struct holding the tensors it
//! saved. [`Tape::backward`] walks the nodes in reverse, calls each rule and
//! accumulates gradients in GPU buffers; nothing is read back. When it returns,
//! the nodes (and the saved tensors with them) are dropped, so their buffers go
//! back to the pool for the next step.
//!
//! In inference ([`Tape::inference`]) nothing is recorded: the same model code
//! runs the plain tensor ops.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;

use shadernet_tensor::{ops, Result, Tensor};

use crate::param::{Param, ParamId};

/// Index of a node on its tape.
pub type NodeId = usize;

/// A tensor flowing through a model, with the tape node that produced it (if
/// it needs a gradient).
#[derive(Clone, Debug)]
pub struct Var {
    value: Tensor,
    node: Option<NodeId>,
}

impl Var {
    /// A value that needs no gradient (inputs, labels).
    pub fn constant(value: Tensor) -> Var {
        Var { value, node: None }
    }

    /// The tensor.
    pub fn tensor(&self) -> &Tensor {
        &self.value
    }

    /// Consumes the var, returning its tensor.
    pub fn into_tensor(self) -> Tensor {
        self.value
    }

    /// The shape.
    pub fn shape(&self) -> &[usize] {
        self.value.shape()
    }

    /// The tape node, when the value depends on a parameter.
    pub fn node(&self) -> Option<NodeId> {
        self.node
    }
}

/// The backward rule of one op: gradients of its inputs from its output's.
pub trait Backward: std::fmt::Debug {
    /// The op's name (as the profiler and tape listings show it).
    fn name(&self) -> &'static str;
    /// One entry per input, in the order the op recorded them (`None` where no
    /// gradient is needed or defined).
    fn backward(&self, dy: &Tensor) -> Result<Vec<Option<Tensor>>>;
    /// Adds the inputs' gradients to `acc` (one slot per input: the gradient
    /// accumulated so far, or `None`). A rule that can fold the sum into its own
    /// kernels (conv2d's dX store) overrides this; by default, `backward` and an
    /// add where a slot is taken.
    fn backward_accumulate(&self, dy: &Tensor, acc: &mut [Option<Tensor>]) -> Result<()> {
        for (slot, g) in acc.iter_mut().zip(self.backward(dy)?) {
            if let Some(g) = g {
                *slot = Some(match slot.take() {
                    None => g,
                    Some(a) => ops::elementwise::add(&a, &g)?,
                });
            }
        }
        Ok(())
    }
    /// Bytes of GPU memory the rule keeps alive for the backward pass.
    fn saved_bytes(&self) -> u64;
}

enum Entry {
    Leaf(ParamId),
    Op {
        inputs: Vec<Option<NodeId>>,
        rule: Box<dyn Backward>,
    },
}

/// One recorded op, as [`Tape::listing`] shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeInfo {
    /// Node index.
    pub id: NodeId,
    /// Op name, or `param` for a leaf.
    pub name: &'static str,
    /// Input nodes.
    pub inputs: Vec<Option<NodeId>>,
    /// Bytes the op saved for backward.
    pub saved_bytes: u64,
}

/// Gradients of the parameters, by parameter identity.
#[derive(Default, Debug)]
pub struct Grads {
    map: HashMap<ParamId, Tensor>,
}

impl Grads {
    /// The gradient of `p`, if it received one.
    pub fn get(&self, p: &Param) -> Option<&Tensor> {
        self.map.get(&p.id())
    }

    /// Number of parameters with a gradient.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// Whether no parameter received a gradient.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// Replaces `p`'s gradient (gradient clipping rescales in place instead).
    pub fn insert(&mut self, p: &Param, g: Tensor) {
        self.map.insert(p.id(), g);
    }
}

/// Records differentiable ops; see the module documentation.
pub struct Tape {
    entries: RefCell<Vec<Entry>>,
    leaves: RefCell<HashMap<ParamId, NodeId>>,
    recording: bool,
    training: bool,
    seed: Cell<u32>,
}

impl Tape {
    /// A tape for a training step: records ops; layers run in training mode
    /// (batch norm uses batch statistics and updates its running ones, dropout drops).
    pub fn training() -> Tape {
        Tape {
            entries: RefCell::new(Vec::new()),
            leaves: RefCell::new(HashMap::new()),
            recording: true,
            training: true,
            seed: Cell::new(0),
        }
    }

    /// Inference: nothing is recorded, layers run in eval mode.
    pub fn inference() -> Tape {
        Tape {
            entries: RefCell::new(Vec::new()),
            leaves: RefCell::new(HashMap::new()),
            recording: false,
            training: false,
            seed: Cell::new(0),
        }
    }

    /// Sets the seed of the random ops (dropout) recorded next; each random op
    /// takes the next value of this sequence.
    pub fn with_seed(self, seed: u32) -> Tape {
        self.seed.set(seed);
        self
    }

    /// The seed for the next random op.
    pub fn next_seed(&self) -> u32 {
        let s = self.seed.get();
        self.seed.set(s.wrapping_add(0x9E37_79B9));
        s
    }

    /// Whether layers run in training mode.
    pub fn is_training(&self) -> bool {
        self.training
    }

    /// Whether ops are recorded.
    pub fn is_recording(&self) -> bool {
        self.recording
    }

    /// The parameter as a var: a leaf of the tape when recording.
    pub fn param(&self, p: &Param) -> Var {
        if !self.recording {
            return Var::constant(p.tensor().clone());
        }
        let mut leaves = self.leaves.borrow_mut();
        let node = *leaves.entry(p.id()).or_insert_with(|| {
            let mut entries = self.entries.borrow_mut();
            entries.push(Entry::Leaf(p.id()));
            entries.len() - 1
        });
        Var {
            value: p.tensor().clone(),
            node: Some(node),
        }
    }

    /// Wraps an op's output: records `rule` when recording and any input needs a gradient.
    pub fn record(
        &self,
        value: Tensor,
        inputs: &[&Var],
        rule: impl FnOnce() -> Box<dyn Backward>,
    ) -> Var {
        if !self.recording || inputs.iter().all(|v| v.node.is_none()) {
            return Var::constant(value);
        }
        let mut entries = self.entries.borrow_mut();
        entries.push(Entry::Op {
            inputs: inputs.iter().map(|v| v.node).collect(),
            rule: rule(),
        });
        Var {
            value,
            node: Some(entries.len() - 1),
        }
    }

    /// The recorded nodes, in order.
    pub fn listing(&self) -> Vec<NodeInfo> {
        self.entries
            .borrow()
            .iter()
            .enumerate()
            .map(|(id, e)| match e {
                Entry::Leaf(_) => NodeInfo {
                    id,
                    name: "param",
                    inputs: Vec::new(),
                    saved_bytes: 0,
                },
                Entry::Op { inputs, rule } => NodeInfo {
                    id,
                    name: rule.name(),
                    inputs: inputs.clone(),
                    saved_bytes: rule.saved_bytes(),
                },
            })
            .collect()
    }

    /// Bytes of GPU memory held for the backward pass.
    pub fn saved_bytes(&self) -> u64 {
        self.listing().iter().map(|n| n.saved_bytes).sum()
    }

    /// Backpropagates from a one-element `loss` (gradient 1) and returns the
    /// parameters' gradients. The recorded nodes are consumed.
    pub fn backward(&self, loss: &Var) -> Result<Grads> {
        let seed = ops::elementwise::affine(loss.tensor(), 0.0, 1.0)?;
        self.backward_with(loss, seed)
    }

    /// Backpropagates from `out` with upstream gradient `dy`.
    pub fn backward_with(&self, out: &Var, dy: Tensor) -> Result<Grads> {
        let mut grads = Grads::default();
        let Some(root) = out.node else {
            return Ok(grads);
        };
        let entries = std::mem::take(&mut *self.entries.borrow_mut());
        self.leaves.borrow_mut().clear();
        let mut pending: Vec<Option<Tensor>> = vec![None; entries.len()];
        pending[root] = Some(dy);
        // Nodes are in execution order, so reverse order is a topological order.
        for (id, entry) in entries.into_iter().enumerate().rev() {
            let Some(g) = pending[id].take() else {
                continue;
            };
            match entry {
                Entry::Leaf(pid) => {
                    grads.map.insert(pid, g);
                }
                Entry::Op { inputs, rule } => {
                    // The inputs' pending gradients go to the rule, which adds its own;
                    // an input recorded twice (x + x) keeps its sum in the first slot.
                    let mut acc: Vec<Option<Tensor>> = inputs
                        .iter()
                        .enumerate()
                        .map(|(k, input)| match input {
                            Some(i) if !inputs[..k].contains(input) => pending[*i].take(),
                            _ => None,
                        })
                        .collect();
                    rule.backward_accumulate(&g, &mut acc)?;
                    drop(g);
                    for (input, slot) in inputs.into_iter().zip(acc) {
                        if let (Some(i), Some(slot)) = (input, slot) {
                            pending[i] = Some(match pending[i].take() {
                                None => slot,
                                Some(first) => ops::elementwise::add(&first, &slot)?,
                            });
                        }
                    }
                    // `rule` drops here: its saved tensors return to the pool.
                }
            }
        }
        Ok(grads)
    }
}
