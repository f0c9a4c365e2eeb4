use shadernet_data::cifar10::{self, CLASSES};
use shadernet_data::{DataError, Images, Normalization, Split};

use crate::common::*;

#[test]
fn decodes_subdir_layout_exactly() {
    let t = tempfile::tempdir().unwrap();
    let meta = "a0\na1\na2\na3\na4\na5\na6\na7\na8\na9\n\n";
    write_cifar(&t.path().join("cifar-10-batches-bin"), 3, Some(meta));
    let ds = cifar10::load(t.path(), Split::Train).unwrap();
    assert_eq!(ds.name, "cifar10");
    assert_eq!(ds.len(), 15);
    assert_eq!(ds.dims(), [15, 3, 32, 32]);
    assert_eq!(ds.classes[0], "a0");
    assert_eq!(ds.classes[9], "a9");
    assert_eq!(ds.normalization, Some(Normalization::cifar10()));
    assert!(matches!(ds.images, Images::U8(_)));
    for k in 0..15 {
        assert_eq!(ds.labels[k], u32::from(cifar_label(k)), "label {k}");
        let img = ds.image_u8(k).unwrap();
        for c in 0..3 {
            for y in 0..32 {
                for x in 0..32 {
                    assert_eq!(img[c * 1024 + y * 32 + x], cifar_pixel(k, c, y, x));
                }
            }
        }
    }
    let test = cifar10::load(t.path(), Split::Test).unwrap();
    assert_eq!(test.len(), 3);
    assert_eq!(test.image_u8(0).unwrap()[0], cifar_pixel(15, 0, 0, 0));
    assert_eq!(test.labels[1], u32::from(cifar_label(16)));
}

#[test]
fn decodes_flat_layout_with_standard_classes() {
    let t = tempfile::tempdir().unwrap();
    write_cifar(t.path(), 2, None);
    assert!(cifar10::is_present(t.path()));
    assert_eq!(cifar10::locate(t.path()).unwrap(), t.path());
    let ds = cifar10::load(t.path(), Split::Test).unwrap();
    assert_eq!(ds.len(), 2);
    assert_eq!(ds.classes, CLASSES.map(String::from).to_vec());
    // Planes in R, G, B order: record byte 1 + 1024 is green (0, 0).
    let rec = cifar_record(0, 10);
    let img = ds.image_u8(0).unwrap();
    assert_eq!(img, &rec[1..]);
    assert_eq!(img[1024], cifar_pixel(10, 1, 0, 0));
}

#[test]
fn missing_and_empty_directory() {
    let t = tempfile::tempdir().unwrap();
    let missing = t.path().join("nope");
    let e = cifar10::load(&missing, Split::Train).unwrap_err();
    assert!(matches!(e, DataError::NotFound { .. }), "{e}");
    assert!(e.to_string().contains("nope") && e.to_string().contains("does not exist"));
    assert!(!cifar10::is_present(&missing));

    let e = cifar10::load(t.path(), Split::Test).unwrap_err();
    assert!(matches!(e, DataError::NoData { .. }), "{e}");
    assert!(e.to_string().contains("test_batch.bin"), "{e}");
    assert!(!cifar10::is_present(t.path()));

    let file = t.path().join("f");
    std::fs::write(&file, b"x").unwrap();
    let e = cifar10::load(&file, Split::Test).unwrap_err();
    assert!(matches!(e, DataError::NotADirectory { .. }), "{e}");
}

#[test]
fn missing_train_file_is_named() {
    let t = tempfile::tempdir().unwrap();
    write_cifar(t.path(), 1, None);
    std::fs::remove_file(t.path().join("data_batch_3.bin")).unwrap();
    assert!(!cifar10::is_present(t.path()));
    // The test split is still loadable.
    assert_eq!(cifar10::load(t.path(), Split::Test).unwrap().len(), 1);
    let e = cifar10::load(t.path(), Split::Train).unwrap_err();
    assert!(matches!(e, DataError::MissingFile { .. }), "{e}");
    assert!(e.to_string().contains("data_batch_3.bin"), "{e}");
}

#[test]
fn truncated_file() {
    let t = tempfile::tempdir().unwrap();
    write_cifar(t.path(), 2, None);
    let path = t.path().join("test_batch.bin");
    let bytes = std::fs::read(&path).unwrap();
    std::fs::write(&path, &bytes[..bytes.len() - 100]).unwrap();
    let e = cifar10::load(t.path(), Split::Test).unwrap_err();
    match &e {
        DataError::RecordSize { size, record, .. } => {
            assert_eq!(*size, 2 * 3073 - 100);
            assert_eq!(*record, 3073);
        }
        other => panic!("{other}"),
    }
    let msg = e.to_string();
    assert!(
        msg.contains("test_batch.bin") && msg.contains("3073"),
        "{msg}"
    );
    assert!(msg.contains("6046 bytes"), "{msg}");
}

#[test]
fn empty_file() {
    let t = tempfile::tempdir().unwrap();
    write_cifar(t.path(), 1, None);
    std::fs::write(t.path().join("test_batch.bin"), b"").unwrap();
    let e = cifar10::load(t.path(), Split::Test).unwrap_err();
    assert!(matches!(e, DataError::Empty { .. }), "{e}");
}

#[test]
fn label_ten_is_rejected() {
    let t = tempfile::tempdir().unwrap();
    write_cifar(t.path(), 3, None);
    let path = t.path().join("data_batch_2.bin");
    let mut bytes = std::fs::read(&path).unwrap();
    bytes[2 * 3073] = 10;
    std::fs::write(&path, bytes).unwrap();
    let e = cifar10::load(t.path(), Split::Train).unwrap_err();
    match &e {
        DataError::BadLabel { index, label, .. } => assert_eq!((*index, *label), (2, 10)),
        other => panic!("{other}"),
    }
    assert!(e.to_string().contains("data_batch_2.bin"), "{e}");
}

#[test]
fn bad_meta_file() {
    let t = tempfile::tempdir().unwrap();
    write_cifar(t.path(), 1, Some("a\nb\n"));
    let e = cifar10::load(t.path(), Split::Test).unwrap_err();
    assert!(matches!(e, DataError::BadMeta { .. }), "{e}");
    assert!(e.to_string().contains("2 class names, expected 10"), "{e}");
}
