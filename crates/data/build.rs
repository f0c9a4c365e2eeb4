//! Finds the real data sets for the tests that need them: sets the cfg
//! `has_cifar10` / `has_fashion_mnist` (and the directories in the env vars
//! `SHADERNET_TEST_CIFAR10` / `SHADERNET_TEST_FASHION_MNIST`) when they are
//! present, so those tests are `#[ignore]`d, visibly, when they are not.
//! Override the places with the same env var names at build time.

use std::path::PathBuf;

fn find(var: &str, candidates: &[PathBuf], marker: &str) -> Option<PathBuf> {
    println!("cargo::rerun-if-env-changed={var}");
    let from_env = std::env::var_os(var).map(PathBuf::from);
    from_env
        .into_iter()
        .chain(candidates.iter().cloned())
        .find(|d| d.join(marker).is_file())
}

fn main() {
    println!("cargo::rustc-check-cfg=cfg(has_cifar10)");
    println!("cargo::rustc-check-cfg=cfg(has_fashion_mnist)");
    let manifest = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_default());
    // crates/data -> the repository root; shared/ is inside it or beside it.
    let root = manifest.join("..").join("..");
    let cifar = [
        root.join("shared/data/cifar-10-batches-bin"),
        root.join("../shared/data/cifar-10-batches-bin"),
    ];
    for c in &cifar {
        println!("cargo::rerun-if-changed={}", c.display());
    }
    if let Some(dir) = find("SHADERNET_TEST_CIFAR10", &cifar, "test_batch.bin") {
        println!("cargo::rustc-cfg=has_cifar10");
        println!("cargo::rustc-env=SHADERNET_TEST_CIFAR10={}", dir.display());
    }
    let fashion = [PathBuf::from("/usr/share/datasets/fashion-mnist")];
    for c in &fashion {
        println!("cargo::rerun-if-changed={}", c.display());
    }
    if let Some(dir) = find(
        "SHADERNET_TEST_FASHION_MNIST",
        &fashion,
        "t10k-labels-idx1-ubyte.gz",
    ) {
        println!("cargo::rustc-cfg=has_fashion_mnist");
        println!(
            "cargo::rustc-env=SHADERNET_TEST_FASHION_MNIST={}",
            dir.display()
        );
    }
}
