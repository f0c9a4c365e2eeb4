//! A module's state as a safetensors state dict with PyTorch key names, both
//! directions: `state_dict` reads every parameter and buffer back from the GPU,
//! `load_state_dict` checks a dict against the module (reporting every missing,
//! unexpected and mis-shaped key at once) and writes it into the existing
//! GPU buffers.

use shadernet_tensor::DType;

use crate::module::Module;
use crate::param::Slot;
use crate::state_dict::{Expected, HostTensor, StateDict, StateDictError};

/// Errors of state-dict transfer.
#[derive(Debug, thiserror::Error)]
pub enum IoError {
    /// The dict does not fit the module, or the file was bad.
    #[error(transparent)]
    StateDict(#[from] StateDictError),
    /// A GPU transfer failed.
    #[error(transparent)]
    Tensor(#[from] shadernet_tensor::Error),
}

/// The keys and shapes `load_state_dict` expects (`num_batches_tracked` optional).
pub fn expected(m: &dyn Module) -> Vec<Expected> {
    let mut out = Vec::new();
    m.visit("", &mut |name, slot| match slot {
        Slot::Param(p) => out.push(Expected::new(name, p.shape().to_vec())),
        Slot::Buffer(t) => out.push(Expected::new(name, t.shape().to_vec())),
        Slot::Counter(_) => out.push(Expected::optional(name, Vec::new())),
    });
    out
}

/// Reads every parameter and buffer back (a sync point).
pub fn state_dict(m: &dyn Module) -> Result<StateDict, IoError> {
    let mut slots = Vec::new();
    m.visit("", &mut |name, slot| {
        let t = match slot {
            Slot::Param(p) => (p.tensor().clone(), false),
            Slot::Buffer(t) => (t.clone(), false),
            Slot::Counter(t) => (t.clone(), true),
        };
        slots.push((name, t));
    });
    let mut sd = StateDict::new();
    for (name, (t, counter)) in slots {
        let host = if counter {
            let v = match t.dtype() {
                DType::U32 => t.to_vec_u32()?.first().map(|&v| i64::from(v)).unwrap_or(0),
                DType::I32 => t.to_vec_i32()?.first().map(|&v| i64::from(v)).unwrap_or(0),
                DType::F32 => t.to_vec_f32()?.first().map(|&v| v as i64).unwrap_or(0),
            };
            HostTensor::scalar_i64(v)
        } else {
            HostTensor::f32(t.shape().to_vec(), t.to_vec_f32()?)
        };
        sd.insert(name, host);
    }
    Ok(sd)
}

/// Checks `sd` against the module (all problems reported at once, naming
/// `model`) and writes it into the module's GPU buffers.
pub fn load_state_dict(m: &dyn Module, sd: &StateDict, model: &str) -> Result<(), IoError> {
    sd.check(model, &expected(m))?;
    let mut result: Result<(), IoError> = Ok(());
    m.visit("", &mut |name, slot| {
        if result.is_err() {
            return;
        }
        let Some(host) = sd.get(&name) else {
            return; // only an optional counter can be absent after `check`
        };
        let r = match slot {
            Slot::Param(p) => p.tensor().write_f32(&host.to_f32_vec()),
            Slot::Buffer(t) => t.write_f32(&host.to_f32_vec()),
            Slot::Counter(t) => {
                let v = host
                    .to_i64_vec()
                    .and_then(|v| v.first().copied())
                    .unwrap_or(0);
                t.write_u32(&[v.clamp(0, i64::from(u32::MAX)) as u32])
            }
        };
        if let Err(e) = r {
            result = Err(e.into());
        }
    });
    result
}
