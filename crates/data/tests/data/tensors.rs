use std::path::{Path, PathBuf};

use safetensors::tensor::TensorView;
use safetensors::Dtype;
use shadernet_data::{tensors, Augment, DataError, Images, Loader, LoaderConfig};

/// A tensor to write: name, dtype, shape, little-endian bytes.
type Tensor = (&'static str, Dtype, Vec<usize>, Vec<u8>);

fn f32_bytes(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

/// Writes tensors given as (name, dtype, shape, bytes).
fn write(dir: &Path, name: &str, tensors: &[Tensor]) -> PathBuf {
    let views: Vec<(&str, TensorView<'_>)> = tensors
        .iter()
        .map(|(n, d, s, b)| (*n, TensorView::new(*d, s.clone(), b).unwrap()))
        .collect();
    let bytes = safetensors::serialize(views, None).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

fn images(n: usize) -> (Vec<f32>, Tensor) {
    let v: Vec<f32> = (0..n * 2 * 2 * 3).map(|i| i as f32 * 0.25 - 3.0).collect();
    let b = f32_bytes(&v);
    (v, ("images", Dtype::F32, vec![n, 2, 2, 3], b))
}

#[test]
fn loads_images_and_labels_of_each_dtype() {
    let t = tempfile::tempdir().unwrap();
    let (vals, img) = images(3);
    let cases = [
        (
            Dtype::I64,
            [0i64, 7, 2]
                .iter()
                .flat_map(|x| x.to_le_bytes())
                .collect::<Vec<u8>>(),
        ),
        (
            Dtype::I32,
            [0i32, 7, 2].iter().flat_map(|x| x.to_le_bytes()).collect(),
        ),
        (Dtype::U8, vec![0u8, 7, 2]),
    ];
    for (dtype, labels) in cases {
        let path = write(
            t.path(),
            "set.safetensors",
            &[img.clone(), ("labels", dtype, vec![3], labels)],
        );
        let ds = tensors::load(&path).unwrap();
        assert_eq!(ds.name, "set");
        assert_eq!(ds.dims(), [3, 2, 2, 3]);
        assert_eq!(ds.labels, vec![0, 7, 2]);
        assert_eq!(ds.num_classes(), 8);
        assert_eq!(ds.images, Images::F32(vals.clone()));
        assert_eq!(ds.normalization, None);
    }
}

#[test]
fn loader_uses_tensors_as_they_are() {
    let t = tempfile::tempdir().unwrap();
    let (vals, img) = images(5);
    let labels: Vec<u8> = [1i64, 2, 3, 4, 0]
        .iter()
        .flat_map(|x| x.to_le_bytes())
        .collect();
    let path = write(
        t.path(),
        "s.safetensors",
        &[img, ("labels", Dtype::I64, vec![5], labels)],
    );
    let ds = tensors::load(&path).unwrap();
    let cfg = LoaderConfig {
        batch: 2,
        shuffle: false,
        augment: Some(Augment::CIFAR10),
        seed: 1,
        drop_last: false,
    };
    let loader = Loader::new(ds, cfg).unwrap();
    let got: Vec<f32> = loader.epoch(3).flat_map(|b| b.images).collect();
    assert_eq!(got, vals, "no normalization or augmentation of f32 data");
}

fn err(tensors: &[Tensor]) -> DataError {
    let t = tempfile::tempdir().unwrap();
    let path = write(t.path(), "bad.safetensors", tensors);
    tensors::load(&path).unwrap_err()
}

#[test]
fn missing_tensors() {
    let (_, img) = images(2);
    let e = err(std::slice::from_ref(&img));
    assert!(
        matches!(e, DataError::MissingTensor { name: "labels", .. }),
        "{e}"
    );
    assert!(e.to_string().contains("bad.safetensors") && e.to_string().contains("images"));
    let e = err(&[("labels", Dtype::U8, vec![2], vec![0, 1])]);
    assert!(
        matches!(e, DataError::MissingTensor { name: "images", .. }),
        "{e}"
    );
}

#[test]
fn wrong_ranks() {
    let (_, img) = images(2);
    let e = err(&[img.clone(), ("labels", Dtype::U8, vec![2, 1], vec![0, 1])]);
    assert!(
        matches!(e, DataError::TensorShape { name: "labels", .. }),
        "{e}"
    );
    assert!(e.to_string().contains("[2, 1]"), "{e}");
    let flat = ("images", Dtype::F32, vec![2, 12], img.3.clone());
    let e = err(&[flat, ("labels", Dtype::U8, vec![2], vec![0, 1])]);
    assert!(
        matches!(e, DataError::TensorShape { name: "images", .. }),
        "{e}"
    );
}

#[test]
fn wrong_dtypes() {
    let (_, img) = images(2);
    let e = err(&[
        img.clone(),
        ("labels", Dtype::F32, vec![2], f32_bytes(&[0.0, 1.0])),
    ]);
    assert!(
        matches!(e, DataError::TensorDtype { name: "labels", .. }),
        "{e}"
    );
    let f64_imgs = ("images", Dtype::F64, vec![1, 1, 1, 2], vec![0u8; 16]);
    let e = err(&[f64_imgs, ("labels", Dtype::U8, vec![1], vec![0])]);
    assert!(
        matches!(e, DataError::TensorDtype { name: "images", .. }),
        "{e}"
    );
}

#[test]
fn count_mismatch() {
    let (_, img) = images(2);
    let e = err(&[img, ("labels", Dtype::U8, vec![3], vec![0, 1, 2])]);
    assert!(
        matches!(
            e,
            DataError::TensorCount {
                images: 2,
                labels: 3,
                ..
            }
        ),
        "{e}"
    );
}

#[test]
fn negative_label() {
    let (_, img) = images(2);
    let labels: Vec<u8> = [3i64, -1].iter().flat_map(|x| x.to_le_bytes()).collect();
    let e = err(&[img, ("labels", Dtype::I64, vec![2], labels)]);
    assert!(
        matches!(
            e,
            DataError::LabelRange {
                index: 1,
                value: -1,
                ..
            }
        ),
        "{e}"
    );
}

#[test]
fn not_a_safetensors_file_and_missing_file() {
    let t = tempfile::tempdir().unwrap();
    let path = t.path().join("junk.safetensors");
    std::fs::write(&path, b"definitely not safetensors").unwrap();
    let e = tensors::load(&path).unwrap_err();
    assert!(matches!(e, DataError::Safetensors { .. }), "{e}");
    assert!(e.to_string().contains("junk.safetensors"), "{e}");
    let e = tensors::load(&t.path().join("none.safetensors")).unwrap_err();
    assert!(matches!(e, DataError::NotFound { .. }), "{e}");
}
