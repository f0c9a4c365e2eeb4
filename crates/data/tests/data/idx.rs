use shadernet_data::mnist::{self, Kind, FASHION_CLASSES};
use shadernet_data::{DataError, Normalization, Split};

use crate::common::*;

fn check(dir: &std::path::Path, kind: Kind, n: usize, rows: usize, cols: usize) {
    let ds = mnist::load(dir, kind, Split::Train).unwrap();
    assert_eq!(ds.dims(), [n, 1, rows, cols]);
    for k in 0..n {
        assert_eq!(ds.labels[k], (k % 10) as u32);
        let img = ds.image_u8(k).unwrap();
        for y in 0..rows {
            for x in 0..cols {
                assert_eq!(img[y * cols + x], idx_pixel(k, y, x));
            }
        }
    }
}

#[test]
fn decodes_raw_and_gzip() {
    for gzip in [false, true] {
        let t = tempfile::tempdir().unwrap();
        // Non-square so that a rows/cols swap shows.
        write_idx(t.path(), "train", 12, 3, 5, gzip);
        write_idx(t.path(), "t10k", 4, 3, 5, gzip);
        check(t.path(), Kind::FashionMnist, 12, 3, 5);
        let test = mnist::load(t.path(), Kind::Mnist, Split::Test).unwrap();
        assert_eq!(test.len(), 4);
        assert_eq!(test.name, "mnist");
        assert_eq!(test.classes[3], "3");
        assert_eq!(test.normalization, Some(Normalization::mnist()));
    }
}

#[test]
fn kind_changes_names_and_normalization() {
    let t = tempfile::tempdir().unwrap();
    write_idx(t.path(), "t10k", 2, 28, 28, true);
    let ds = mnist::load(t.path(), Kind::FashionMnist, Split::Test).unwrap();
    assert_eq!(ds.name, "fashion-mnist");
    assert_eq!(ds.classes, FASHION_CLASSES.map(String::from).to_vec());
    assert_eq!(ds.classes[9], "Ankle boot");
    assert_eq!(ds.normalization, Some(Normalization::fashion_mnist()));
}

#[test]
fn torchvision_raw_layout() {
    let t = tempfile::tempdir().unwrap();
    write_idx(&t.path().join("FashionMNIST/raw"), "train", 3, 2, 2, false);
    check(t.path(), Kind::FashionMnist, 3, 2, 2);
}

#[test]
fn missing_and_empty_directory() {
    let t = tempfile::tempdir().unwrap();
    let e = mnist::load(&t.path().join("nope"), Kind::Mnist, Split::Train).unwrap_err();
    assert!(matches!(e, DataError::NotFound { .. }), "{e}");
    let e = mnist::load(t.path(), Kind::FashionMnist, Split::Train).unwrap_err();
    assert!(matches!(e, DataError::NoData { .. }), "{e}");
    assert!(e.to_string().contains("Fashion-MNIST"), "{e}");
    assert!(e.to_string().contains("train-images-idx3-ubyte"), "{e}");
}

#[test]
fn missing_label_file() {
    let t = tempfile::tempdir().unwrap();
    write_idx(t.path(), "train", 3, 2, 2, true);
    std::fs::remove_file(t.path().join("train-labels-idx1-ubyte.gz")).unwrap();
    let e = mnist::load(t.path(), Kind::Mnist, Split::Train).unwrap_err();
    assert!(matches!(e, DataError::MissingFile { .. }), "{e}");
    assert!(e.to_string().contains("train-labels-idx1-ubyte"), "{e}");
    // The test split was never there.
    let e = mnist::load(t.path(), Kind::Mnist, Split::Test).unwrap_err();
    assert!(e.to_string().contains("t10k-images-idx3-ubyte"), "{e}");
}

#[test]
fn bad_magic() {
    let t = tempfile::tempdir().unwrap();
    write_idx(t.path(), "train", 3, 2, 2, false);
    // A label file where the images should be.
    let labels = std::fs::read(t.path().join("train-labels-idx1-ubyte")).unwrap();
    std::fs::write(t.path().join("train-images-idx3-ubyte"), labels).unwrap();
    let e = mnist::load(t.path(), Kind::Mnist, Split::Train).unwrap_err();
    match &e {
        DataError::BadMagic {
            expected, actual, ..
        } => assert_eq!((*expected, *actual), (0x803, 0x801)),
        other => panic!("{other}"),
    }
    let msg = e.to_string();
    assert!(
        msg.contains("train-images-idx3-ubyte") && msg.contains("0x00000803"),
        "{msg}"
    );

    // And the other way round, gzipped.
    let t = tempfile::tempdir().unwrap();
    write_idx(t.path(), "t10k", 3, 2, 2, true);
    std::fs::write(
        t.path().join("t10k-labels-idx1-ubyte.gz"),
        gz(&idx(0x803, &[3, 1, 1], &[0, 1, 2])),
    )
    .unwrap();
    let e = mnist::load(t.path(), Kind::Mnist, Split::Test).unwrap_err();
    assert!(
        matches!(
            e,
            DataError::BadMagic {
                expected: 0x801,
                ..
            }
        ),
        "{e}"
    );
}

#[test]
fn truncated_raw_file() {
    let t = tempfile::tempdir().unwrap();
    write_idx(t.path(), "train", 4, 3, 3, false);
    let path = t.path().join("train-images-idx3-ubyte");
    let bytes = std::fs::read(&path).unwrap();
    std::fs::write(&path, &bytes[..bytes.len() - 5]).unwrap();
    let e = mnist::load(t.path(), Kind::Mnist, Split::Train).unwrap_err();
    match &e {
        DataError::Truncated {
            expected, actual, ..
        } => assert_eq!((*expected, *actual), (36, 31)),
        other => panic!("{other}"),
    }
    assert!(e.to_string().contains("train-images-idx3-ubyte"), "{e}");
    assert!(
        e.to_string().contains("36") && e.to_string().contains("31"),
        "{e}"
    );
}

#[test]
fn truncated_gzip_file() {
    let t = tempfile::tempdir().unwrap();
    write_idx(t.path(), "train", 40, 8, 8, true);
    let path = t.path().join("train-images-idx3-ubyte.gz");
    let bytes = std::fs::read(&path).unwrap();
    std::fs::write(&path, &bytes[..bytes.len() / 2]).unwrap();
    let e = mnist::load(t.path(), Kind::Mnist, Split::Train).unwrap_err();
    assert!(matches!(e, DataError::Gzip { .. }), "{e}");
    assert!(e.to_string().contains("train-images-idx3-ubyte.gz"), "{e}");
}

#[test]
fn trailing_data_and_short_header() {
    let t = tempfile::tempdir().unwrap();
    write_idx(t.path(), "train", 2, 2, 2, false);
    let path = t.path().join("train-labels-idx1-ubyte");
    let mut bytes = std::fs::read(&path).unwrap();
    bytes.push(0);
    std::fs::write(&path, &bytes).unwrap();
    let e = mnist::load(t.path(), Kind::Mnist, Split::Train).unwrap_err();
    assert!(
        matches!(
            e,
            DataError::TrailingData {
                expected: 2,
                actual: 3,
                ..
            }
        ),
        "{e}"
    );
    std::fs::write(&path, &bytes[..6]).unwrap();
    let e = mnist::load(t.path(), Kind::Mnist, Split::Train).unwrap_err();
    assert!(matches!(e, DataError::BadHeader { .. }), "{e}");
    assert!(e.to_string().contains("train-labels-idx1-ubyte"), "{e}");
}

#[test]
fn count_mismatch() {
    let t = tempfile::tempdir().unwrap();
    write_idx(t.path(), "train", 5, 2, 2, true);
    std::fs::write(
        t.path().join("train-labels-idx1-ubyte.gz"),
        gz(&idx(0x801, &[4], &[0, 1, 2, 3])),
    )
    .unwrap();
    let e = mnist::load(t.path(), Kind::FashionMnist, Split::Train).unwrap_err();
    assert!(
        matches!(
            e,
            DataError::CountMismatch {
                images: 5,
                labels: 4,
                ..
            }
        ),
        "{e}"
    );
    let msg = e.to_string();
    assert!(
        msg.contains("5 images") && msg.contains("4 labels"),
        "{msg}"
    );
}

#[test]
fn label_ten_is_rejected() {
    let t = tempfile::tempdir().unwrap();
    write_idx(t.path(), "t10k", 3, 2, 2, false);
    std::fs::write(
        t.path().join("t10k-labels-idx1-ubyte"),
        idx(0x801, &[3], &[0, 10, 2]),
    )
    .unwrap();
    let e = mnist::load(t.path(), Kind::Mnist, Split::Test).unwrap_err();
    assert!(
        matches!(
            e,
            DataError::BadLabel {
                index: 1,
                label: 10,
                ..
            }
        ),
        "{e}"
    );
}

#[test]
fn empty_image_file() {
    let t = tempfile::tempdir().unwrap();
    write_idx(t.path(), "t10k", 0, 2, 2, false);
    let e = mnist::load(t.path(), Kind::Mnist, Split::Test).unwrap_err();
    assert!(matches!(e, DataError::Empty { .. }), "{e}");
}

#[test]
fn loader_over_idx_data_uses_its_normalization() {
    let t = tempfile::tempdir().unwrap();
    write_idx(t.path(), "train", 25, 28, 28, true);
    let mut ds = mnist::load(t.path(), Kind::FashionMnist, Split::Train).unwrap();
    assert_eq!(ds.class_counts(), vec![3, 3, 3, 3, 3, 2, 2, 2, 2, 2]);
    ds.truncate(20);
    assert_eq!(ds.len(), 20);
    assert_eq!(ds.class_counts(), vec![2; 10]);
    let cfg = shadernet_data::LoaderConfig {
        batch: 8,
        shuffle: false,
        ..Default::default()
    };
    let loader = shadernet_data::Loader::new(ds.clone(), cfg).unwrap();
    let b = loader.batch(0, 2).unwrap();
    assert_eq!(b.shape, [4, 1, 28, 28]);
    let n = Normalization::fashion_mnist();
    assert_eq!(b.images[28 + 3], n.apply(0, idx_pixel(16, 1, 3)));
    assert_eq!(b.labels, vec![6, 7, 8, 9]);
}
