//! `shadernet infer`: logits for a safetensors `input` tensor, or the top
//! classes of image files (PNG, JPEG).
//!
//! Images are decoded, converted to the model's channels (RGB, or luma for a
//! one-channel model), resized so the shorter side is the model's input size
//! (bilinear, antialiased when shrinking, as PIL and torchvision do),
//! center-cropped to the input size, scaled to [0, 1] and normalized with the
//! data set's mean and std: CIFAR-10's for the 32×32 models, ImageNet's for
//! the 224×224 ones, Fashion-MNIST's for one-channel models (`--normalize`
//! overrides).

use std::path::{Path, PathBuf};

use image::imageops::FilterType;
use shadernet::checkpoint;
use shadernet::data::{cifar10, mnist, Normalization};
use shadernet::models::{self, ModelSpec};
use shadernet::nn::state_dict::{HostTensor, StateDict};
use shadernet::nn::{Module, Tape, Var};
use shadernet::Tensor;

use super::common::{
    load_weights, open_device, read_weights, spec_for_weights, tensor_error, user,
};
use super::train::check_writable;

/// The 1000 ImageNet class names, in class-index order (the WordNet-derived
/// short names of the ImageNet class index; one per line).
const IMAGENET_CLASSES: &str = include_str!("imagenet_classes.txt");

/// Images per forward pass.
const CHUNK: usize = 16;

/// The arguments of `infer`.
#[derive(clap::Args, Debug)]
pub struct InferArgs {
    /// Model name (see spec/models.md).
    #[arg(long)]
    pub model: String,
    /// Weights (safetensors, PyTorch key names), or a `train` checkpoint.
    #[arg(long)]
    pub weights: PathBuf,
    /// A safetensors file with tensor `input` (float32 [N, C, H, W]).
    #[arg(long)]
    pub input: Option<PathBuf>,
    /// Where to write tensor `logits` (float32 [N, classes]).
    #[arg(long)]
    pub output: Option<PathBuf>,
    /// Image files (PNG or JPEG) to classify.
    #[arg(value_name = "IMAGE")]
    pub images: Vec<PathBuf>,
    /// Class names: cifar10, fashion-mnist, mnist, imagenet, or a text file
    /// with one name per line (default: by the model's classes and input).
    #[arg(long)]
    pub labels: Option<String>,
    /// Input normalization: cifar10, fashion-mnist, mnist or imagenet
    /// (default: by the model's input, see `infer --help`).
    #[arg(long)]
    pub normalize: Option<String>,
    /// How many classes to print per image.
    #[arg(long, default_value_t = 5)]
    pub top: usize,
    /// Adapter: index or name substring.
    #[arg(long)]
    pub device: Option<String>,
    /// Image mode: print one JSON object on the last line.
    #[arg(long)]
    pub json: bool,
}

/// Runs `infer`.
pub fn run(a: &InferArgs) -> anyhow::Result<()> {
    if !models::MODEL_NAMES.contains(&a.model.as_str()) {
        return Err(user(format!(
            "unknown model `{}`; known models: {}",
            a.model,
            models::MODEL_NAMES.join(", ")
        )));
    }
    match (&a.input, &a.output, a.images.is_empty()) {
        (Some(input), Some(output), true) => run_tensor(a, input, output),
        (None, None, false) => run_images(a),
        (None, None, true) => Err(user(
            "infer needs image files, or --input X.safetensors and --output Y.safetensors",
        )),
        (Some(_), Some(_), false) => Err(user(
            "give either image files or --input/--output, not both",
        )),
        _ => Err(user("--input and --output go together")),
    }
}

fn run_tensor(a: &InferArgs, input: &Path, output: &Path) -> anyhow::Result<()> {
    check_writable(output, "--output file")?;
    let sd = checkpoint::model_weights(read_weights(&a.weights)?);
    let inputs = StateDict::load(input).map_err(user)?;
    let x = inputs.get("input").ok_or_else(|| {
        user(format!(
            "{} has no tensor `input` (it has: {})",
            input.display(),
            inputs.keys().collect::<Vec<_>>().join(", ")
        ))
    })?;
    let Some(data) = x.as_f32() else {
        return Err(user(format!(
            "tensor `input` in {} must be float (got {})",
            input.display(),
            x.data.dtype_name()
        )));
    };
    let mut spec = spec_for_weights(&a.model, &sd);
    if let [_, c, h, w] = x.shape[..] {
        if c != spec.in_channels {
            return Err(user(format!(
                "tensor `input` has {c} channels but {} weights expect {}",
                a.model, spec.in_channels
            )));
        }
        spec.image_size = [h, w];
    } else {
        return Err(user(format!(
            "tensor `input` must be [N, C, H, W], got {:?}",
            x.shape
        )));
    }
    let device = open_device(a.device.as_deref())?;
    let model = models::build(&a.model, spec, &device, 0).map_err(tensor_error)?;
    load_weights(&model, &sd)?;
    let xt = Tensor::from_f32(&device, data, &x.shape).map_err(tensor_error)?;
    let logits = model
        .forward(&Tape::inference(), &Var::constant(xt))
        .map_err(tensor_error)?;
    let values = logits.tensor().to_vec_f32().map_err(tensor_error)?;
    let mut out = StateDict::new();
    out.insert("logits", HostTensor::f32(logits.shape().to_vec(), values));
    out.save(output).map_err(user)?;
    println!("wrote logits {:?} to {}", logits.shape(), output.display());
    Ok(())
}

/// The normalization `--normalize` names, or the default for the model's input.
fn normalization(a: &InferArgs, spec: &ModelSpec) -> anyhow::Result<(String, Normalization)> {
    let name = match (&a.normalize, a.labels.as_deref()) {
        (Some(n), _) => n.clone(),
        (None, Some(l @ ("mnist" | "fashion-mnist"))) if spec.in_channels == 1 => l.to_string(),
        (None, _) if spec.in_channels == 1 => "fashion-mnist".into(),
        (None, _) if spec.image_size[0].max(spec.image_size[1]) <= 64 => "cifar10".into(),
        (None, _) => "imagenet".into(),
    };
    let norm = match name.as_str() {
        "cifar10" => Normalization::cifar10(),
        "imagenet" => Normalization::imagenet(),
        "fashion-mnist" => Normalization::fashion_mnist(),
        "mnist" => Normalization::mnist(),
        other => {
            return Err(user(format!(
                "unknown --normalize `{other}`; use cifar10, imagenet, fashion-mnist or mnist"
            )))
        }
    };
    if norm.channels() != spec.in_channels {
        return Err(user(format!(
            "--normalize {name} is for {}-channel images but the {} weights take {} channels",
            norm.channels(),
            a.model,
            spec.in_channels
        )));
    }
    Ok((name, norm))
}

/// The class names `--labels` names, or the default for the model; `None`
/// prints class indices.
fn class_names(a: &InferArgs, spec: &ModelSpec) -> anyhow::Result<Option<Vec<String>>> {
    let owned = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let (source, names) = match a.labels.as_deref() {
        Some("cifar10") => ("cifar10".to_string(), owned(&cifar10::CLASSES)),
        Some("fashion-mnist") => ("fashion-mnist".to_string(), owned(&mnist::FASHION_CLASSES)),
        Some("mnist") => ("mnist".to_string(), owned(&mnist::MNIST_CLASSES)),
        Some("imagenet") => (
            "imagenet".to_string(),
            IMAGENET_CLASSES.lines().map(str::to_string).collect(),
        ),
        Some(file) => {
            let text = std::fs::read_to_string(file)
                .map_err(|e| user(format!("cannot read --labels file {file}: {e}")))?;
            (
                file.to_string(),
                text.lines()
                    .map(str::trim)
                    .filter(|l| !l.is_empty())
                    .map(str::to_string)
                    .collect(),
            )
        }
        None => {
            return Ok(match (spec.num_classes, spec.in_channels) {
                (1000, _) => Some(IMAGENET_CLASSES.lines().map(str::to_string).collect()),
                (10, 3) => Some(owned(&cifar10::CLASSES)),
                (10, 1) => Some(owned(&mnist::FASHION_CLASSES)),
                _ => None,
            })
        }
    };
    if names.len() != spec.num_classes {
        return Err(user(format!(
            "--labels {source} has {} class names but the {} weights have {} classes",
            names.len(),
            a.model,
            spec.num_classes
        )));
    }
    Ok(Some(names))
}

/// Decodes an image file and turns it into a normalized CHW tensor of the
/// model's input size.
pub fn preprocess(path: &Path, spec: &ModelSpec, norm: &Normalization) -> anyhow::Result<Vec<f32>> {
    let reader = image::io::Reader::open(path)
        .map_err(|e| user(format!("cannot read image {}: {e}", path.display())))?
        .with_guessed_format()
        .map_err(|e| user(format!("cannot read image {}: {e}", path.display())))?;
    let img = reader.decode().map_err(|e| {
        user(format!(
            "{} is not a PNG or JPEG image that can be decoded: {e}",
            path.display()
        ))
    })?;
    let [h, w] = spec.image_size;
    let (iw, ih) = (img.width() as usize, img.height() as usize);
    if iw == 0 || ih == 0 {
        return Err(user(format!(
            "image {} is empty ({iw}x{ih})",
            path.display()
        )));
    }
    // Shorter side to the model's size, keeping the aspect ratio.
    let side = h.max(w);
    let (nw, nh) = if iw <= ih {
        (
            side,
            ((ih * side) as f64 / iw as f64).round().max(side as f64) as usize,
        )
    } else {
        (
            ((iw * side) as f64 / ih as f64).round().max(side as f64) as usize,
            side,
        )
    };
    let (x0, y0) = ((nw - w) / 2, (nh - h) / 2);
    let plane = h * w;
    let mut out = vec![0f32; spec.in_channels * plane];
    let mut put = |c: usize, y: usize, x: usize, p: u8| {
        out[c * plane + y * w + x] = norm.apply(c, p);
    };
    if spec.in_channels == 1 {
        let g = img.to_luma8();
        let g = if (nw, nh) == (iw, ih) {
            g
        } else {
            image::imageops::resize(&g, nw as u32, nh as u32, FilterType::Triangle)
        };
        for y in 0..h {
            for x in 0..w {
                put(0, y, x, g.get_pixel((x0 + x) as u32, (y0 + y) as u32).0[0]);
            }
        }
    } else {
        let rgb = img.to_rgb8();
        let rgb = if (nw, nh) == (iw, ih) {
            rgb
        } else {
            image::imageops::resize(&rgb, nw as u32, nh as u32, FilterType::Triangle)
        };
        for y in 0..h {
            for x in 0..w {
                let p = rgb.get_pixel((x0 + x) as u32, (y0 + y) as u32).0;
                for (c, &v) in p.iter().enumerate().take(spec.in_channels) {
                    put(c, y, x, v);
                }
            }
        }
    }
    Ok(out)
}

/// Softmax of one row of logits, in f64.
fn softmax(row: &[f32]) -> Vec<f64> {
    let m = row.iter().copied().fold(f32::NEG_INFINITY, f32::max) as f64;
    let e: Vec<f64> = row.iter().map(|&v| (v as f64 - m).exp()).collect();
    let s: f64 = e.iter().sum();
    e.into_iter().map(|v| v / s).collect()
}

fn run_images(a: &InferArgs) -> anyhow::Result<()> {
    if a.top == 0 {
        return Err(user("--top must be at least 1"));
    }
    let sd = checkpoint::model_weights(read_weights(&a.weights)?);
    let spec = spec_for_weights(&a.model, &sd);
    let (norm_name, norm) = normalization(a, &spec)?;
    let names = class_names(a, &spec)?;
    // Decode every image first: a bad file fails before the GPU starts.
    let mut inputs = Vec::with_capacity(a.images.len());
    for p in &a.images {
        inputs.push(preprocess(p, &spec, &norm)?);
    }
    let device = open_device(a.device.as_deref())?;
    let model = models::build(&a.model, spec, &device, 0).map_err(tensor_error)?;
    load_weights(&model, &sd)?;
    let [h, w] = spec.image_size;
    let classes = spec.num_classes;
    let mut probs = Vec::with_capacity(inputs.len());
    for chunk in inputs.chunks(CHUNK) {
        let flat: Vec<f32> = chunk.concat();
        let x = Tensor::from_f32(&device, &flat, &[chunk.len(), spec.in_channels, h, w])
            .map_err(tensor_error)?;
        let logits = model
            .forward(&Tape::inference(), &Var::constant(x))
            .map_err(tensor_error)?;
        let values = logits.tensor().to_vec_f32().map_err(tensor_error)?;
        probs.extend(values.chunks_exact(classes).map(softmax));
    }
    let k = a.top.min(classes);
    let mut predictions = Vec::new();
    if !a.json {
        println!(
            "{}: {} classes, input {}x{}x{} ({norm_name} normalization){}",
            a.model,
            classes,
            spec.in_channels,
            h,
            w,
            if names.is_none() {
                "; no class names for this model, printing class indices (use --labels FILE)"
            } else {
                ""
            }
        );
    }
    for (path, p) in a.images.iter().zip(&probs) {
        let mut order: Vec<usize> = (0..classes).collect();
        order.sort_by(|&i, &j| p[j].total_cmp(&p[i]).then(i.cmp(&j)));
        let top: Vec<(usize, f64)> = order.into_iter().take(k).map(|c| (c, p[c])).collect();
        let name = |c: usize| names.as_ref().and_then(|n| n.get(c).cloned());
        if a.json {
            predictions.push(serde_json::json!({
                "image": path.display().to_string(),
                "top": top.iter().map(|&(c, pr)| serde_json::json!({"class": c, "name": name(c), "probability": pr})).collect::<Vec<_>>(),
            }));
        } else {
            println!("{}", path.display());
            for (rank, &(c, pr)) in top.iter().enumerate() {
                let label = name(c).map_or_else(|| format!("class {c}"), |n| format!("{n} ({c})"));
                println!("  {}. {label:<32} {:>7.3}%", rank + 1, pr * 100.0);
            }
        }
    }
    if a.json {
        println!(
            "{}",
            serde_json::json!({
                "model": a.model,
                "input": [spec.in_channels, h, w],
                "normalization": norm_name,
                "predictions": predictions,
            })
        );
    }
    Ok(())
}
