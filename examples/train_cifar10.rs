//! Trains ResNet-20 on CIFAR-10 with the library API: model, data, optimizer,
//! and the training loop written out (what `shadernet train` runs, minus
//! checkpoints and progress bars).
//!
//! Run:
//!   cargo run --release --example train_cifar10 -- [DATA_DIR]
//! DATA_DIR (default `data/cifar10`) holds the CIFAR-10 binary files
//! (`shadernet train --dataset cifar10 --data DIR --download` fetches them).
//! Environment: SHADERNET_EXAMPLE_STEPS=N stops after N steps (CI runs 3),
//! SHADERNET_EXAMPLE_BATCH=B sets the batch (default 128).
//! Without CIFAR-10 in DATA_DIR it trains on 512 random CIFAR-shaped images
//! instead, to show the API anywhere.
//!
//! Expected: the loss of the first step is near ln(10) = 2.30 and falls; each
//! epoch ends with a test-split line (`test accuracy ...`).

use shadernet::data::{
    cifar10, Augment, Dataset, Images, Loader, LoaderConfig, Normalization, Split,
};
use shadernet::models::{self, ModelSpec};
use shadernet::nn::functional::cross_entropy;
use shadernet::nn::optim::{Optimizer, OptimizerConfig};
use shadernet::nn::schedule::{LrSchedule, Schedule};
use shadernet::nn::{Module, Tape, Var};
use shadernet::train::{evaluate, upload};
use shadernet::Device;

fn env(name: &str) -> Option<usize> {
    std::env::var(name).ok().and_then(|v| v.parse().ok())
}

/// `n` random CIFAR-shaped images (stand-in data when CIFAR-10 is absent).
fn random_cifar(n: usize) -> Dataset {
    let mut x = 0x2545_F491_4F6C_DD1Du64;
    let mut next = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    Dataset {
        name: "random".into(),
        classes: cifar10::CLASSES.iter().map(|s| s.to_string()).collect(),
        images: Images::U8((0..n * 3 * 32 * 32).map(|_| next() as u8).collect()),
        labels: (0..n).map(|_| (next() % 10) as u32).collect(),
        shape: [3, 32, 32],
        normalization: Some(Normalization::cifar10()),
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Before the driver loads and before any thread: see shadernet::tensor::oversubscribe_llvmpipe.
    shadernet::tensor::oversubscribe_llvmpipe();
    let dir = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "data/cifar10".into());
    let (train_set, test_set) = match (
        cifar10::load(dir.as_ref(), Split::Train),
        cifar10::load(dir.as_ref(), Split::Test),
    ) {
        (Ok(train), Ok(test)) => (train, test),
        (Err(e), _) | (_, Err(e)) => {
            println!("no CIFAR-10 ({e}); using random images");
            (random_cifar(512), random_cifar(128))
        }
    };
    let batch = env("SHADERNET_EXAMPLE_BATCH").unwrap_or(128);
    let config = LoaderConfig {
        batch,
        shuffle: true,
        augment: Some(Augment::CIFAR10),
        seed: 0,
        drop_last: false,
    };
    let train = Loader::new(train_set, config.clone())?;
    let test = Loader::new(
        test_set,
        LoaderConfig {
            shuffle: false,
            augment: None,
            ..config
        },
    )?;

    let device = Device::new(None)?;
    let spec = ModelSpec {
        in_channels: 3,
        image_size: [32, 32],
        num_classes: 10,
    };
    let model = models::build("resnet20", spec, &device, 0)?;
    let mut optimizer = Optimizer::new(OptimizerConfig::sgd(0.9, 5e-4, false), model.params())?;
    let epochs = 30;
    let steps_per_epoch = train.batches_per_epoch();
    let total = env("SHADERNET_EXAMPLE_STEPS").unwrap_or(epochs * steps_per_epoch);
    let schedule = LrSchedule {
        base_lr: 0.1,
        schedule: Schedule::Cosine,
        total_steps: total,
        warmup_steps: 0,
    };
    println!(
        "resnet20: {} parameters, {} steps on {}",
        model.num_params(),
        total,
        device.adapter().name
    );

    let mut step = 0;
    'run: for epoch in 0..epochs {
        for b in train.prefetch(epoch, 0)? {
            let (images, labels) = upload(&device, &b)?;
            let tape = Tape::training().with_seed(step as u32);
            let logits = model.forward(&tape, &Var::constant(images))?;
            let loss = cross_entropy(&tape, &logits, &labels, 0.0)?;
            let grads = tape.backward(&loss)?;
            optimizer.step(&grads, schedule.lr(step) as f32)?;
            step += 1;
            if step % 50 == 0 || step == total || step <= 3 {
                // Reading the loss back waits for the GPU: do it only now and then.
                println!(
                    "epoch {epoch} step {step} loss {:.4}",
                    loss.tensor().to_scalar_f32()?
                );
            }
            if step == total {
                break 'run;
            }
        }
        let t = evaluate(&device, &model, &test, 0.0)?;
        println!(
            "epoch {epoch}: test accuracy {:.4} loss {:.4}",
            t.accuracy, t.loss
        );
    }
    let t = evaluate(&device, &model, &test, 0.0)?;
    println!(
        "after {step} steps: test accuracy {:.4} loss {:.4}",
        t.accuracy, t.loss
    );
    Ok(())
}
