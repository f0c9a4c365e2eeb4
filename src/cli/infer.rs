//! `shadernet infer`: logits for a safetensors `input` tensor.

use std::path::PathBuf;

use shadernet::models;
use shadernet::nn::state_dict::{HostTensor, StateDict};
use shadernet::nn::{Module, Tape, Var};
use shadernet::Tensor;

use super::common::{load_weights, open_device, read_weights, spec_for_weights, tensor_error, user};
use super::train::check_writable;

/// The arguments of `infer`.
#[derive(clap::Args, Debug)]
pub struct InferArgs {
    /// Model name (see spec/models.md).
    #[arg(long)]
    pub model: String,
    /// Weights (safetensors, PyTorch key names).
    #[arg(long)]
    pub weights: PathBuf,
    /// A safetensors file with tensor `input` (float32 [N, C, H, W]).
    #[arg(long)]
    pub input: Option<PathBuf>,
    /// Where to write tensor `logits` (float32 [N, classes]).
    #[arg(long)]
    pub output: Option<PathBuf>,
    /// Adapter: index or name substring.
    #[arg(long)]
    pub device: Option<String>,
}

/// Runs `infer`.
pub fn run(a: &InferArgs) -> anyhow::Result<()> {
    if !models::MODEL_NAMES.contains(&a.model.as_str()) {
        return Err(user(format!("unknown model `{}`; known models: {}", a.model, models::MODEL_NAMES.join(", "))));
    }
    let (Some(input), Some(output)) = (&a.input, &a.output) else {
        return Err(user("infer needs --input X.safetensors and --output Y.safetensors"));
    };
    check_writable(output)?;
    let sd = read_weights(&a.weights)?;
    let inputs = StateDict::load(input).map_err(user)?;
    let x = inputs
        .get("input")
        .ok_or_else(|| user(format!("{} has no tensor `input` (it has: {})", input.display(), inputs.keys().collect::<Vec<_>>().join(", "))))?;
    let Some(data) = x.as_f32() else {
        return Err(user(format!("tensor `input` in {} must be float (got {})", input.display(), x.data.dtype_name())));
    };
    let mut spec = spec_for_weights(&a.model, &sd);
    if let [_, c, h, w] = x.shape[..] {
        if c != spec.in_channels {
            return Err(user(format!("tensor `input` has {c} channels but {} weights expect {}", a.model, spec.in_channels)));
        }
        spec.image_size = [h, w];
    } else {
        return Err(user(format!("tensor `input` must be [N, C, H, W], got {:?}", x.shape)));
    }
    let device = open_device(a.device.as_deref())?;
    let model = models::build(&a.model, spec, &device, 0).map_err(tensor_error)?;
    load_weights(&model, &sd)?;
    let xt = Tensor::from_f32(&device, data, &x.shape).map_err(tensor_error)?;
    let logits = model.forward(&Tape::inference(), &Var::constant(xt)).map_err(tensor_error)?;
    let values = logits.tensor().to_vec_f32().map_err(tensor_error)?;
    let mut out = StateDict::new();
    out.insert("logits", HostTensor::f32(logits.shape().to_vec(), values));
    out.save(output).map_err(user)?;
    println!("wrote logits {:?} to {}", logits.shape(), output.display());
    Ok(())
}
