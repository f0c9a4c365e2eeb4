//! The real data sets, where this machine has them (see build.rs).

use std::path::Path;
use std::time::Instant;

use shadernet_data::mnist::{self, Kind};
use shadernet_data::{cifar10, Augment, Loader, LoaderConfig, Split};

fn cifar_dir() -> &'static str {
    let Some(dir) = option_env!("SHADERNET_TEST_CIFAR10") else {
        panic!("built without a CIFAR-10 copy (see build.rs)")
    };
    dir
}

fn fashion_dir() -> &'static str {
    let Some(dir) = option_env!("SHADERNET_TEST_FASHION_MNIST") else {
        panic!("built without Fashion-MNIST (see build.rs)")
    };
    dir
}

#[test]
#[cfg_attr(
    not(has_cifar10),
    ignore = "no CIFAR-10 copy found at shared/data/cifar-10-batches-bin (set SHADERNET_TEST_CIFAR10 and rebuild)"
)]
fn real_cifar10_test_split() {
    let dir = cifar_dir();
    let ds = cifar10::load(Path::new(dir), Split::Test).unwrap();
    assert_eq!(ds.dims(), [10_000, 3, 32, 32]);
    assert_eq!(ds.class_counts(), vec![1000; 10]);
    assert_eq!(ds.classes[0], "airplane");
    assert_eq!(ds.classes[9], "truck");
    // Per-channel means near the published (0.4914, 0.4822, 0.4465).
    let img = match &ds.images {
        shadernet_data::Images::U8(v) => v,
        _ => unreachable!(),
    };
    for (c, want) in [0.4914f64, 0.4822, 0.4465].into_iter().enumerate() {
        let sum: u64 = img
            .chunks_exact(3072)
            .flat_map(|i| &i[c * 1024..(c + 1) * 1024])
            .map(|&p| u64::from(p))
            .sum();
        let mean = sum as f64 / (10_000.0 * 1024.0 * 255.0);
        assert!((mean - want).abs() < 0.01, "channel {c}: mean {mean}");
    }
    // A full augmented epoch through the prefetcher.
    let loader = Loader::new(
        ds,
        LoaderConfig {
            batch: 128,
            augment: Some(Augment::CIFAR10),
            ..LoaderConfig::default()
        },
    )
    .unwrap();
    let t = Instant::now();
    let mut p = loader.prefetch(0, 0).unwrap();
    let n: usize = p.by_ref().map(|b| b.n).sum();
    assert_eq!(n, 10_000);
    eprintln!("CIFAR-10 test epoch: {:?}, {:?}", t.elapsed(), p.stats());
}

#[test]
#[cfg_attr(
    not(has_cifar10),
    ignore = "no CIFAR-10 copy found at shared/data/cifar-10-batches-bin (set SHADERNET_TEST_CIFAR10 and rebuild)"
)]
fn real_cifar10_train_split() {
    let dir = cifar_dir();
    let ds = cifar10::load(Path::new(dir), Split::Train).unwrap();
    assert_eq!(ds.dims(), [50_000, 3, 32, 32]);
    assert_eq!(ds.class_counts(), vec![5000; 10]);
}

#[test]
#[cfg_attr(
    not(has_fashion_mnist),
    ignore = "no /usr/share/datasets/fashion-mnist (apt-get install dataset-fashion-mnist, then rebuild)"
)]
fn real_fashion_mnist() {
    let dir = fashion_dir();
    let test = mnist::load(Path::new(dir), Kind::FashionMnist, Split::Test).unwrap();
    assert_eq!(test.dims(), [10_000, 1, 28, 28]);
    assert_eq!(test.class_counts(), vec![1000; 10]);
    let train = mnist::load(Path::new(dir), Kind::FashionMnist, Split::Train).unwrap();
    assert_eq!(train.dims(), [60_000, 1, 28, 28]);
    assert_eq!(train.class_counts(), vec![6000; 10]);
    // Training-set mean near the published 0.2860.
    let shadernet_data::Images::U8(v) = &train.images else {
        unreachable!()
    };
    let mean = v.iter().map(|&p| u64::from(p)).sum::<u64>() as f64 / (v.len() as f64 * 255.0);
    assert!((mean - 0.2860).abs() < 0.002, "mean {mean}");
}
