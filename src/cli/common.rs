//! What every subcommand shares: opening the device, loading data sets and
//! weights, and sorting errors into "your input" (exit 2) and "runtime" (exit 1).

use std::path::Path;

use shadernet::data::{self, Dataset, Split};
use shadernet::models::{self, Model, ModelSpec};
use shadernet::nn::io;
use shadernet::nn::state_dict::StateDict;
use shadernet::tensor::{AdapterSummary, Device};

/// An error the user caused (bad argument or input): exit code 2.
#[derive(Debug)]
pub struct UserError(pub String);

impl std::fmt::Display for UserError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UserError {}

/// A user error from anything displayable.
pub fn user(e: impl std::fmt::Display) -> anyhow::Error {
    UserError(e.to_string()).into()
}

/// Whether an error from the tensor runtime was caused by the input (shapes,
/// types, sizes beyond the device) rather than by the GPU.
pub fn tensor_error(e: shadernet::Error) -> anyhow::Error {
    use shadernet::Error as E;
    match e {
        E::Shape { .. }
        | E::DType { .. }
        | E::HostLength { .. }
        | E::AdapterNotFound { .. }
        | E::Limit { .. } => user(e),
        other => anyhow::Error::new(other),
    }
}

/// Opens the adapter `--device` names (or the most capable one).
pub fn open_device(selector: Option<&str>) -> anyhow::Result<Device> {
    Device::new(selector).map_err(tensor_error)
}

/// [`open_device`] for the commands whose speed is the point (`train`, `profile`,
/// `bench`): also says on stderr when the automatic choice is llvmpipe through OpenGL
/// (the other commands keep stderr to their one-sentence errors).
pub fn open_device_for_speed(selector: Option<&str>) -> anyhow::Result<Device> {
    let device = open_device(selector)?;
    if let Some(note) = software_gl_note(selector, device.adapter()) {
        eprintln!("{note}");
    }
    Ok(device)
}

/// A hint when the automatic choice fell back to a CPU adapter through OpenGL (no
/// Vulkan driver installed): no subgroups there, so every kernel takes its portable
/// form (ResNet-20 training: 53 img/s there, 185-194 on lavapipe, same 2-vCPU VM).
fn software_gl_note(selector: Option<&str>, a: &AdapterSummary) -> Option<String> {
    (selector.is_none() && a.backend == "Gl" && a.device_type == "Cpu").then(|| {
        format!(
            "note: running on {} through OpenGL (no Vulkan driver found): without subgroups \
             every kernel takes its portable form; Mesa's lavapipe (Debian: apt-get install \
             mesa-vulkan-drivers) runs the same shaders several times faster on this CPU",
            a.name
        )
    })
}

/// The data sets `--dataset` accepts.
pub const DATASETS: &[&str] = &["cifar10", "fashion-mnist", "mnist", "tensors"];

/// Loads one split of a data set; every data error is the user's (exit 2).
/// For `tensors`, `path` is the safetensors file and there is no test split.
pub fn load_dataset(name: &str, path: &Path, split: Split) -> anyhow::Result<Option<Dataset>> {
    let r = match name {
        "cifar10" => data::cifar10::load(path, split),
        "fashion-mnist" => data::mnist::load(path, data::mnist::Kind::FashionMnist, split),
        "mnist" => data::mnist::load(path, data::mnist::Kind::Mnist, split),
        "tensors" => match split {
            Split::Train => data::tensors::load(path),
            Split::Test => return Ok(None),
        },
        other => {
            return Err(user(format!(
                "unknown data set `{other}`; use one of {}",
                DATASETS.join(", ")
            )))
        }
    };
    r.map(Some).map_err(user)
}

/// Builds `model` for a data set's image shape and classes.
pub fn build_model(
    name: &str,
    dataset: &Dataset,
    device: &Device,
    seed: u64,
) -> anyhow::Result<Model> {
    let [c, h, w] = dataset.shape;
    let spec = ModelSpec {
        in_channels: c,
        image_size: [h, w],
        num_classes: dataset.num_classes(),
    };
    models::build(name, spec, device, seed).map_err(tensor_error)
}

/// Loads a safetensors file (any problem with it is the user's).
pub fn read_weights(path: &Path) -> anyhow::Result<StateDict> {
    StateDict::load(path).map_err(user)
}

/// Writes `sd` into `model`, reporting every missing, unexpected and
/// mis-shaped key at once.
pub fn load_weights(model: &Model, sd: &StateDict) -> anyhow::Result<()> {
    io::load_state_dict(model, sd, &model.name).map_err(|e| match e {
        io::IoError::StateDict(e) => user(e),
        io::IoError::Tensor(e) => tensor_error(e),
    })
}

/// The number of classes a weights file was trained for: the output size of
/// its last Linear (`fc.weight`, `classifier.weight`, `classifier.N.weight`, `fc3.weight`).
pub fn classes_in_weights(sd: &StateDict) -> Option<usize> {
    let mut best: Option<(usize, usize)> = None;
    for (name, t) in sd.iter() {
        let last_linear = name == "fc.weight"
            || name == "fc3.weight"
            || name == "classifier.weight"
            || (name.starts_with("classifier.") && name.ends_with(".weight"));
        if last_linear && t.shape.len() == 2 {
            let idx = name
                .split('.')
                .nth(1)
                .and_then(|s| s.parse::<usize>().ok())
                .unwrap_or(0);
            if best.is_none_or(|(i, _)| idx >= i) {
                best = Some((idx, t.shape[0]));
            }
        }
    }
    best.map(|(_, c)| c)
}

/// The model spec for inference: the model's default input, with the class
/// count from the weights file when it differs.
pub fn spec_for_weights(name: &str, sd: &StateDict) -> ModelSpec {
    let mut spec = ModelSpec::default_for(name);
    if let Some(c) = classes_in_weights(sd) {
        spec.num_classes = c;
    }
    if let Some(w) = sd
        .get("conv1.weight")
        .or_else(|| sd.get("features.0.weight"))
        .or_else(|| sd.get("features.0.0.weight"))
    {
        if w.shape.len() == 4 {
            spec.in_channels = w.shape[1];
        }
    }
    if name == "lenet5" && spec.in_channels == 1 {
        spec.image_size = [28, 28];
    }
    spec
}

#[cfg(test)]
mod tests {
    use super::*;

    fn adapter(backend: &str, device_type: &str) -> AdapterSummary {
        AdapterSummary {
            index: 0,
            name: "llvmpipe (LLVM 15.0.6, 256 bits)".into(),
            backend: backend.into(),
            device_type: device_type.into(),
            driver: String::new(),
            limits: shadernet::tensor::wgpu::Limits::default(),
            features: shadernet::tensor::wgpu::Features::empty(),
            subgroup_min_size: 0,
            subgroup_max_size: 0,
        }
    }

    #[test]
    fn only_an_automatic_cpu_gl_choice_gets_the_lavapipe_note() {
        let note = software_gl_note(None, &adapter("Gl", "Cpu")).expect("a note");
        assert!(note.contains("mesa-vulkan-drivers") && note.contains("llvmpipe"));
        assert_eq!(software_gl_note(None, &adapter("Vulkan", "Cpu")), None);
        assert_eq!(
            software_gl_note(None, &adapter("Gl", "IntegratedGpu")),
            None
        );
        // The user picked it: no note.
        assert_eq!(software_gl_note(Some("1"), &adapter("Gl", "Cpu")), None);
    }
}
