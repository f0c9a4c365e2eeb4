//! `shadernet eval`: accuracy and mean loss over a data set's test split.

use std::path::PathBuf;

use shadernet::checkpoint;
use shadernet::data::{Loader, LoaderConfig, Split};
use shadernet::models;
use shadernet::train::evaluate;

use super::common::{
    build_model, load_dataset, load_weights, open_device, read_weights, tensor_error, user,
    DATASETS,
};

/// The arguments of `eval`.
#[derive(clap::Args, Debug)]
pub struct EvalArgs {
    /// Model name (see spec/models.md).
    #[arg(long)]
    pub model: String,
    /// Weights (safetensors, PyTorch key names), or a `train` checkpoint.
    #[arg(long)]
    pub weights: PathBuf,
    /// cifar10, fashion-mnist, mnist, or tensors.
    #[arg(long)]
    pub dataset: String,
    /// Data directory (a safetensors file for `--dataset tensors`, whose
    /// images are all evaluated).
    #[arg(long)]
    pub data: PathBuf,
    /// Images per batch.
    #[arg(long, default_value_t = 256)]
    pub batch: usize,
    /// Adapter: index or name substring.
    #[arg(long)]
    pub device: Option<String>,
    /// Print one JSON object on the last line:
    /// {"accuracy":..,"loss":..,"images":..}.
    #[arg(long)]
    pub json: bool,
}

/// Runs `eval`.
pub fn run(a: &EvalArgs) -> anyhow::Result<()> {
    if a.batch == 0 {
        return Err(user("--batch must be at least 1"));
    }
    if !models::MODEL_NAMES.contains(&a.model.as_str()) {
        return Err(user(format!(
            "unknown model `{}`; known models: {}",
            a.model,
            models::MODEL_NAMES.join(", ")
        )));
    }
    if !DATASETS.contains(&a.dataset.as_str()) {
        return Err(user(format!(
            "unknown data set `{}`; use one of {}",
            a.dataset,
            DATASETS.join(", ")
        )));
    }
    let sd = checkpoint::model_weights(read_weights(&a.weights)?);
    // The test split, or all of a tensors file.
    let data = match load_dataset(&a.dataset, &a.data, Split::Test)? {
        Some(d) => d,
        None => load_dataset(&a.dataset, &a.data, Split::Train)?.ok_or_else(|| user("no data"))?,
    };
    let device = open_device(a.device.as_deref())?;
    let model = build_model(&a.model, &data, &device, 0)?;
    load_weights(&model, &sd)?;
    let loader = Loader::new(
        data,
        LoaderConfig {
            batch: a.batch,
            shuffle: false,
            augment: None,
            seed: 0,
            drop_last: false,
        },
    )
    .map_err(user)?;
    let s = evaluate(&device, &model, &loader, 0.0).map_err(tensor_error)?;
    if a.json {
        println!(
            "{}",
            serde_json::json!({"accuracy": s.accuracy, "loss": s.loss, "images": s.images})
        );
    } else {
        println!(
            "accuracy {:.4}  loss {:.4}  images {}  ({:.0} img/s)",
            s.accuracy, s.loss, s.images, s.images_per_s
        );
    }
    Ok(())
}
