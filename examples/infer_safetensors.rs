//! Loads PyTorch-named weights from a safetensors file into a model and runs
//! it: the state-dict round trip (`io::state_dict` → `StateDict::save` →
//! `StateDict::load` → `io::load_state_dict`) and inference on a batch.
//!
//! Run:
//!   cargo run --release --example infer_safetensors -- [MODEL [WEIGHTS.safetensors]]
//! MODEL defaults to resnet20. With WEIGHTS (e.g. from
//! `safetensors.torch.save_file(model.state_dict(), path)` or `shadernet
//! train --save`) it runs those weights on a random input and prints the
//! top-5 classes. Without, it saves a randomly initialized model to a
//! temporary file first, loads it into a second model built from another
//! seed, and checks that both give bit-identical logits. Runs in seconds on
//! the 32×32 models, which is what CI runs.
//!
//! Expected: "logits [4, 10]", a top-5 list per image, and (without WEIGHTS)
//! "round trip: identical logits".

use shadernet::models::{self, ModelSpec};
use shadernet::nn::io;
use shadernet::nn::state_dict::StateDict;
use shadernet::nn::{Module, Tape, Var};
use shadernet::{Device, Tensor};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Before the driver loads and before any thread: see shadernet::tensor::oversubscribe_llvmpipe.
    shadernet::tensor::oversubscribe_llvmpipe();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let name = args.first().map_or("resnet20", String::as_str);
    let device = Device::new(None)?;
    let spec = ModelSpec::default_for(name);

    let (weights, tmp) = match args.get(1) {
        Some(path) => (StateDict::load(path)?, None),
        None => {
            // Save a fresh model's weights (PyTorch key names) to a file.
            let original = models::build(name, spec, &device, 1)?;
            let path = std::env::temp_dir().join(format!(
                "shadernet-example-{}.safetensors",
                std::process::id()
            ));
            io::state_dict(&original)?.save(&path)?;
            println!(
                "saved {} tensors of {name} to {}",
                io::expected(&original).len(),
                path.display()
            );
            (StateDict::load(&path)?, Some((original, path)))
        }
    };
    // A second model from another seed, then the file's weights into it: every
    // missing, unexpected or mis-shaped key would be reported at once.
    let model = models::build(name, spec, &device, 2)?;
    io::load_state_dict(&model, &weights, name)?;

    let [h, w] = spec.image_size;
    let n = 4;
    let input: Vec<f32> = (0..n * spec.in_channels * h * w)
        .map(|i| ((i * 7919 % 1000) as f32 / 500.0) - 1.0)
        .collect();
    let x = Tensor::from_f32(&device, &input, &[n, spec.in_channels, h, w])?;
    let logits = model.forward(&Tape::inference(), &Var::constant(x.clone()))?;
    println!("logits {:?}", logits.shape());
    let values = logits.tensor().to_vec_f32()?;
    for (i, row) in values.chunks_exact(spec.num_classes).enumerate() {
        let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let sum: f32 = row.iter().map(|v| (v - max).exp()).sum();
        let mut order: Vec<usize> = (0..row.len()).collect();
        order.sort_by(|&a, &b| row[b].total_cmp(&row[a]));
        let top: Vec<String> = order
            .iter()
            .take(5)
            .map(|&c| format!("{c}: {:.3}", (row[c] - max).exp() / sum))
            .collect();
        println!("image {i}: {}", top.join(", "));
    }
    if let Some((original, path)) = tmp {
        let reference = original
            .forward(&Tape::inference(), &Var::constant(x))?
            .tensor()
            .to_vec_f32()?;
        std::fs::remove_file(&path)?;
        if reference != values {
            return Err("round trip: the logits differ".into());
        }
        println!("round trip: identical logits");
    }
    Ok(())
}
