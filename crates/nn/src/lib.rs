//! shadernet's training and inference engine: the autograd tape, layers,
//! losses, optimizers and safetensors state dicts with PyTorch key names.

#![warn(missing_docs)]

pub mod autograd;
pub mod functional;
pub mod init;
pub mod io;
pub mod layers;
pub mod module;
pub mod optim;
pub mod param;
pub mod schedule;
pub mod state_dict;
pub mod synthetic;

pub use autograd::{Backward, Grads, Tape, Var};
pub use module::Module;
pub use param::{Param, Slot};
