//! Tests of host-side safetensors state dicts: round trips, dtype conversion,
//! metadata, atomic saves, `check()` reports, and a fuzz test of the parser.

use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};

use half::{bf16, f16};
use safetensors::tensor::TensorView;
use safetensors::{Dtype, SafeTensors};
use shadernet_nn::state_dict::{
    Expected, HostData, HostTensor, Misshaped, StateDict, StateDictError,
};

// ---------------------------------------------------------------- helpers

/// A fresh, empty directory for one test.
fn test_dir(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("state_dict_tests")
        .join(format!("{name}-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    dir
}

/// Names of the files in `dir`, sorted.
fn dir_entries(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

/// splitmix64: a small seeded RNG.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }
}

/// A small state dict shaped like a conv + BatchNorm + linear model.
fn sample_dict() -> StateDict {
    let mut sd = StateDict::new();
    let w: Vec<f32> = (0..16 * 3 * 3 * 3).map(|i| i as f32 * 0.01 - 2.0).collect();
    sd.insert("conv1.weight", HostTensor::f32(vec![16, 3, 3, 3], w));
    sd.insert("bn1.weight", HostTensor::f32(vec![16], vec![1.0; 16]));
    sd.insert("bn1.bias", HostTensor::f32(vec![16], vec![0.0; 16]));
    sd.insert(
        "bn1.running_mean",
        HostTensor::f32(vec![16], (0..16).map(|i| i as f32 / 7.0).collect()),
    );
    sd.insert("bn1.running_var", HostTensor::f32(vec![16], vec![1.5; 16]));
    sd.insert("bn1.num_batches_tracked", HostTensor::scalar_i64(391));
    sd.insert(
        "fc.weight",
        HostTensor::f32(vec![10, 16], (0..160).map(|i| -(i as f32)).collect()),
    );
    sd.insert("fc.bias", HostTensor::f32(vec![10], vec![0.25; 10]));
    sd
}

/// A small safetensors file (a handful of tensors, one I64 scalar, metadata).
fn small_file() -> Vec<u8> {
    let mut sd = StateDict::new();
    sd.insert("a", HostTensor::f32(vec![2, 2], vec![1.0, -2.0, 3.5, 0.1]));
    sd.insert("b.num_batches_tracked", HostTensor::scalar_i64(7));
    sd.insert("c", HostTensor::f32(vec![3], vec![9.0, 8.0, 7.0]));
    sd.insert("d", HostTensor::i64(vec![0], vec![]));
    sd.set_metadata("epoch", "3");
    sd.to_bytes().unwrap()
}

/// Builds a file with the reference `safetensors` crate (the code that
/// `safetensors.torch.save_file` runs).
fn reference_file(tensors: &[(&str, Dtype, Vec<usize>, Vec<u8>)]) -> Vec<u8> {
    let views: Vec<(String, TensorView<'_>)> = tensors
        .iter()
        .map(|(name, dtype, shape, bytes)| {
            (
                name.to_string(),
                TensorView::new(*dtype, shape.clone(), bytes).unwrap(),
            )
        })
        .collect();
    safetensors::serialize(views, None).unwrap()
}

/// A file with this header text and data section (header length set right).
fn raw_file(header: &str, data: &[u8]) -> Vec<u8> {
    let mut out = (header.len() as u64).to_le_bytes().to_vec();
    out.extend_from_slice(header.as_bytes());
    out.extend_from_slice(data);
    out
}

fn le_bytes<T: Copy, const N: usize>(values: &[T], f: impl Fn(T) -> [u8; N]) -> Vec<u8> {
    values.iter().flat_map(|&v| f(v)).collect()
}

fn parse_message(r: Result<StateDict, StateDictError>) -> String {
    match r {
        Err(e @ StateDictError::Parse { .. }) => e.to_string(),
        other => panic!("expected a Parse error, got {other:?}"),
    }
}

// ---------------------------------------------------------------- round trips

#[test]
fn save_then_load_round_trips_exactly() {
    let dir = test_dir("round_trip");
    let path = dir.join("model.safetensors");
    let mut sd = sample_dict();
    sd.insert(
        "special",
        HostTensor::f32(
            vec![6],
            vec![
                f32::NAN,
                -0.0,
                f32::INFINITY,
                f32::NEG_INFINITY,
                f32::MIN_POSITIVE,
                1e-45,
            ],
        ),
    );
    sd.insert("empty", HostTensor::f32(vec![0, 4], vec![]));
    sd.insert(
        "ints",
        HostTensor::i64(vec![2, 2], vec![i64::MIN, -1, 0, i64::MAX]),
    );
    sd.save(&path).unwrap();
    let loaded = StateDict::load(&path).unwrap();

    assert_eq!(loaded.len(), sd.len());
    assert_eq!(
        loaded.keys().collect::<Vec<_>>(),
        sd.keys().collect::<Vec<_>>()
    );
    for (name, t) in sd.iter() {
        let l = loaded.get(name).unwrap();
        assert_eq!(l.shape, t.shape, "{name}");
        match (&l.data, &t.data) {
            (HostData::F32(a), HostData::F32(b)) => {
                let a: Vec<u32> = a.iter().map(|x| x.to_bits()).collect();
                let b: Vec<u32> = b.iter().map(|x| x.to_bits()).collect();
                assert_eq!(a, b, "{name}");
            }
            (HostData::I64(a), HostData::I64(b)) => assert_eq!(a, b, "{name}"),
            _ => panic!("{name}: kind changed"),
        }
    }
    let nbt = loaded.get("bn1.num_batches_tracked").unwrap();
    assert_eq!(nbt.shape, Vec::<usize>::new());
    assert_eq!(nbt.as_i64(), Some(&[391i64][..]));
    assert_eq!(nbt.as_f32(), None);

    // The file is exactly to_bytes(), which is deterministic.
    assert_eq!(fs::read(&path).unwrap(), sd.to_bytes().unwrap());
    assert_eq!(sd.to_bytes().unwrap(), sd.clone().to_bytes().unwrap());
    assert_eq!(
        StateDict::from_bytes(&sd.to_bytes().unwrap())
            .unwrap()
            .len(),
        sd.len()
    );
    // No temporary files were left behind.
    assert_eq!(dir_entries(&dir), vec!["model.safetensors".to_string()]);
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn written_files_read_with_the_reference_crate() {
    let mut sd = sample_dict();
    sd.set_metadata("format", "pt");
    let bytes = sd.to_bytes().unwrap();
    assert_eq!(u64::from_le_bytes(bytes[..8].try_into().unwrap()) % 8, 0);

    let st = SafeTensors::deserialize(&bytes).unwrap();
    assert_eq!(st.len(), sd.len());
    let nbt = st.tensor("bn1.num_batches_tracked").unwrap();
    assert_eq!(nbt.dtype(), Dtype::I64);
    assert!(nbt.shape().is_empty());
    assert_eq!(nbt.data(), &391i64.to_le_bytes());
    let w = st.tensor("conv1.weight").unwrap();
    assert_eq!(w.dtype(), Dtype::F32);
    assert_eq!(w.shape(), &[16, 3, 3, 3]);
    let expected = le_bytes(
        sd.get("conv1.weight").unwrap().as_f32().unwrap(),
        f32::to_le_bytes,
    );
    assert_eq!(w.data(), expected.as_slice());
    let (_, meta) = SafeTensors::read_metadata(&bytes).unwrap();
    assert_eq!(
        meta.metadata()
            .as_ref()
            .unwrap()
            .get("format")
            .map(String::as_str),
        Some("pt")
    );
    // I64 data is laid out first, so it is 8-byte aligned.
    assert_eq!(
        meta.info("bn1.num_batches_tracked").unwrap().data_offsets.0,
        0
    );
}

#[test]
fn load_converts_every_supported_dtype() {
    let f16_vals = [0.1f32, 65504.0, -2.5, 0.0];
    let bf16_vals = [0.1f32, -2.5, 3.0e38, 1.0];
    let f64_vals = [0.1f64, -2.5, 1e300, 1e-300];
    let file = reference_file(&[
        (
            "f32",
            Dtype::F32,
            vec![2],
            le_bytes(&[1.5f32, -0.1], f32::to_le_bytes),
        ),
        (
            "f16",
            Dtype::F16,
            vec![2, 2],
            le_bytes(&f16_vals, |x| f16::from_f32(x).to_le_bytes()),
        ),
        (
            "bf16",
            Dtype::BF16,
            vec![4],
            le_bytes(&bf16_vals, |x| bf16::from_f32(x).to_le_bytes()),
        ),
        (
            "f64",
            Dtype::F64,
            vec![4],
            le_bytes(&f64_vals, f64::to_le_bytes),
        ),
        (
            "i64",
            Dtype::I64,
            vec![],
            le_bytes(&[-5i64], i64::to_le_bytes),
        ),
        (
            "i32",
            Dtype::I32,
            vec![3],
            le_bytes(&[i32::MIN, -1, i32::MAX], i32::to_le_bytes),
        ),
        (
            "i16",
            Dtype::I16,
            vec![2],
            le_bytes(&[i16::MIN, i16::MAX], i16::to_le_bytes),
        ),
        (
            "i8",
            Dtype::I8,
            vec![2],
            le_bytes(&[i8::MIN, 5], i8::to_le_bytes),
        ),
        (
            "u32",
            Dtype::U32,
            vec![1],
            le_bytes(&[u32::MAX], u32::to_le_bytes),
        ),
        (
            "u16",
            Dtype::U16,
            vec![1],
            le_bytes(&[u16::MAX], u16::to_le_bytes),
        ),
        ("u8", Dtype::U8, vec![3], vec![0, 7, 255]),
        ("bool", Dtype::BOOL, vec![3], vec![0, 1, 2]),
        (
            "u64",
            Dtype::U64,
            vec![2],
            le_bytes(&[0u64, i64::MAX as u64], u64::to_le_bytes),
        ),
    ]);
    let sd = StateDict::from_bytes(&file).unwrap();

    let f = |name: &str| sd.get(name).unwrap().as_f32().unwrap().to_vec();
    let i = |name: &str| sd.get(name).unwrap().as_i64().unwrap().to_vec();
    assert_eq!(f("f32"), vec![1.5, -0.1]);
    let h = f("f16");
    assert_eq!(sd.get("f16").unwrap().shape, vec![2, 2]);
    assert_eq!(h[0], f16::from_f32(0.1).to_f32());
    assert!((h[0] - 0.1).abs() < 1e-4, "{}", h[0]);
    assert_eq!(h[1], 65504.0);
    assert_eq!(h[2], -2.5);
    assert_eq!(h[3], 0.0);
    let b = f("bf16");
    assert_eq!(b[0], bf16::from_f32(0.1).to_f32());
    assert!((b[0] - 0.1).abs() < 1e-3, "{}", b[0]);
    assert_eq!(b[1], -2.5);
    assert_eq!(b[2], bf16::from_f32(3.0e38).to_f32());
    assert_eq!(b[3], 1.0);
    assert_eq!(f("f64"), vec![0.1f32, -2.5, f32::INFINITY, 0.0]);
    assert_eq!(i("i64"), vec![-5]);
    assert!(sd.get("i64").unwrap().shape.is_empty());
    assert_eq!(i("i32"), vec![i32::MIN as i64, -1, i32::MAX as i64]);
    assert_eq!(i("i16"), vec![i16::MIN as i64, i16::MAX as i64]);
    assert_eq!(i("i8"), vec![-128, 5]);
    assert_eq!(i("u32"), vec![u32::MAX as i64]);
    assert_eq!(i("u16"), vec![65535]);
    assert_eq!(i("u8"), vec![0, 7, 255]);
    assert_eq!(i("bool"), vec![0, 1, 1]);
    assert_eq!(i("u64"), vec![0, i64::MAX]);

    // Saving writes only F32 and I64.
    let again = SafeTensors::deserialize(&sd.to_bytes().unwrap())
        .unwrap()
        .iter()
        .map(|(n, t)| (n.to_string(), t.dtype()))
        .collect::<HashMap<_, _>>();
    assert_eq!(again["f16"], Dtype::F32);
    assert_eq!(again["bf16"], Dtype::F32);
    assert_eq!(again["u8"], Dtype::I64);
    assert_eq!(again["bool"], Dtype::I64);
}

#[test]
fn unsupported_dtypes_are_errors_naming_tensor_and_dtype() {
    for (dtype, name) in [(Dtype::F8_E4M3, "F8_E4M3"), (Dtype::F8_E5M2, "F8_E5M2")] {
        let file = reference_file(&[
            ("ok", Dtype::F32, vec![1], vec![0; 4]),
            ("layer.q", dtype, vec![2], vec![1, 2]),
        ]);
        match StateDict::from_bytes(&file) {
            Err(e @ StateDictError::UnsupportedDtype { .. }) => {
                let StateDictError::UnsupportedDtype {
                    name: n, dtype: d, ..
                } = &e
                else {
                    unreachable!()
                };
                assert_eq!(n, "layer.q");
                assert_eq!(d, name);
                let msg = e.to_string();
                assert!(msg.contains("layer.q") && msg.contains(name), "{msg}");
            }
            other => panic!("{name}: {other:?}"),
        }
    }
    // A dtype the format does not define (complex) is reported the same way.
    let file = raw_file(
        r#"{"z":{"dtype":"C64","shape":[1],"data_offsets":[0,8]}}"#,
        &[0; 8],
    );
    match StateDict::from_bytes(&file) {
        Err(StateDictError::UnsupportedDtype { name, dtype, path }) => {
            assert_eq!(
                (name.as_str(), dtype.as_str(), path.as_str()),
                ("z", "C64", "<bytes>")
            );
        }
        other => panic!("{other:?}"),
    }
    // U64 beyond the i64 range.
    let file = reference_file(&[("big", Dtype::U64, vec![1], u64::MAX.to_le_bytes().to_vec())]);
    let msg = parse_message(StateDict::from_bytes(&file));
    assert!(
        msg.contains("big") && msg.contains("18446744073709551615"),
        "{msg}"
    );
}

#[test]
fn metadata_round_trips() {
    let dir = test_dir("metadata");
    let path = dir.join("ckpt.safetensors");
    let mut sd = sample_dict();
    assert!(sd.metadata().is_empty());
    sd.set_metadata("epoch", "12");
    sd.set_metadata("step", "4692");
    sd.set_metadata("optimizer", r#"{"kind":"sgd","lr":0.1,"momentum":0.9}"#);
    sd.set_metadata("note", "quotes \" and \\ and ünïcode");
    assert_eq!(sd.set_metadata("epoch", "13").as_deref(), Some("12"));
    sd.save(&path).unwrap();

    let loaded = StateDict::load(&path).unwrap();
    assert_eq!(loaded.metadata(), sd.metadata());
    assert_eq!(loaded.get_metadata("epoch"), Some("13"));
    assert_eq!(loaded.get_metadata("step"), Some("4692"));
    assert_eq!(
        loaded.get_metadata("optimizer"),
        Some(r#"{"kind":"sgd","lr":0.1,"momentum":0.9}"#)
    );
    assert_eq!(loaded.get_metadata("missing"), None);
    assert_eq!(loaded, sd);

    let mut plain = loaded.clone();
    for k in ["epoch", "step", "optimizer", "note"] {
        assert!(plain.remove_metadata(k).is_some());
    }
    let bytes = plain.to_bytes().unwrap();
    assert!(!String::from_utf8_lossy(&bytes).contains("__metadata__"));
    assert!(StateDict::from_bytes(&bytes).unwrap().metadata().is_empty());
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn map_operations() {
    let mut sd = StateDict::new();
    assert!(sd.is_empty());
    assert!(sd.insert("b", HostTensor::scalar_f32(1.0)).is_none());
    assert!(sd.insert("a", HostTensor::scalar_i64(2)).is_none());
    assert!(sd.insert("b", HostTensor::scalar_f32(3.0)).is_some());
    assert_eq!(sd.len(), 2);
    assert_eq!(sd.keys().collect::<Vec<_>>(), vec!["a", "b"]);
    assert!(sd.contains_key("a"));
    sd.get_mut("b").unwrap().data = HostData::F32(vec![4.0]);
    assert_eq!(sd.get("b").unwrap().as_f32(), Some(&[4.0f32][..]));
    assert_eq!(
        sd.iter().map(|(k, t)| (k, t.numel())).collect::<Vec<_>>(),
        vec![("a", 1), ("b", 1)]
    );
    assert!(sd.remove("a").is_some());
    assert!(sd.remove("a").is_none());
    let owned: Vec<(String, HostTensor)> = sd.clone().into_iter().collect();
    assert_eq!(owned.len(), 1);
    let rebuilt: StateDict = owned.into_iter().collect();
    assert_eq!(rebuilt, sd);

    let t = HostTensor::f32(vec![2, 3], vec![0.0; 6]);
    assert!(t.is_consistent() && t.is_f32());
    assert_eq!(t.shape_numel(), Some(6));
    assert!(!HostTensor::f32(vec![2, 2], vec![0.0; 3]).is_consistent());
    assert_eq!(
        HostTensor::f32(vec![usize::MAX, 2], vec![]).shape_numel(),
        None
    );
    assert_eq!(HostTensor::scalar_i64(3).to_f32_vec(), vec![3.0]);
    assert_eq!(HostTensor::scalar_f32(391.0).to_i64_vec(), Some(vec![391]));
    assert_eq!(HostTensor::scalar_f32(0.5).to_i64_vec(), None);
    assert_eq!(HostData::I64(vec![]).dtype_name(), "I64");
}

// ---------------------------------------------------------------- atomic save

#[test]
fn invalid_tensor_is_refused_before_touching_the_target() {
    let dir = test_dir("invalid_tensor");
    let path = dir.join("w.safetensors");
    fs::write(&path, b"precious").unwrap();
    let mut sd = sample_dict();
    sd.insert("bad", HostTensor::f32(vec![2, 3], vec![0.0; 5]));
    match sd.save(&path) {
        Err(e @ StateDictError::InvalidTensor { .. }) => {
            assert!(e.to_string().contains("bad"), "{e}");
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        sd.to_bytes(),
        Err(StateDictError::InvalidTensor { .. })
    ));
    let mut reserved = StateDict::new();
    reserved.insert("__metadata__", HostTensor::scalar_f32(0.0));
    assert!(matches!(
        reserved.save(&path),
        Err(StateDictError::InvalidTensor { .. })
    ));
    assert_eq!(fs::read(&path).unwrap(), b"precious");
    assert_eq!(dir_entries(&dir), vec!["w.safetensors".to_string()]);
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn failed_rename_after_writing_leaves_no_temp_file() {
    // The target is a directory: the temporary file is written and fsynced in
    // full, then the rename fails. The directory survives, the temp file goes.
    let dir = test_dir("rename_fails");
    let target = dir.join("w.safetensors");
    fs::create_dir(&target).unwrap();
    fs::write(target.join("inside"), b"keep").unwrap();
    match sample_dict().save(&target) {
        Err(e @ StateDictError::Io { .. }) => {
            assert!(e.to_string().contains("w.safetensors"), "{e}");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(fs::read(target.join("inside")).unwrap(), b"keep");
    assert_eq!(dir_entries(&dir), vec!["w.safetensors".to_string()]);
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn unwritable_paths_are_errors_naming_them() {
    let dir = test_dir("unwritable");
    // Missing directory.
    let missing = dir.join("no_such_dir").join("w.safetensors");
    match sample_dict().save(&missing) {
        Err(StateDictError::Io { path, .. }) => assert_eq!(path, missing),
        other => panic!("{other:?}"),
    }
    // Parent is a regular file.
    let file = dir.join("plain_file");
    fs::write(&file, b"x").unwrap();
    let under_file = file.join("w.safetensors");
    let err = sample_dict().save(&under_file).unwrap_err();
    assert!(
        err.to_string().contains(&under_file.display().to_string()),
        "{err}"
    );
    // Loading a missing file.
    match StateDict::load(dir.join("absent.safetensors")) {
        Err(e @ StateDictError::Io { .. }) => {
            assert!(e.to_string().contains("absent.safetensors"), "{e}")
        }
        other => panic!("{other:?}"),
    }
    // Loading a garbled file names it.
    let garbled = dir.join("garbled.safetensors");
    fs::write(&garbled, b"\xff\xff\xff\xff\xff\xff\xff\xffnot a header").unwrap();
    let msg = parse_message(StateDict::load(&garbled));
    assert!(msg.contains("garbled.safetensors"), "{msg}");
    assert_eq!(dir_entries(&dir), vec!["garbled.safetensors", "plain_file"]);
    fs::remove_dir_all(&dir).unwrap();
}

#[cfg(unix)]
#[test]
fn existing_file_survives_save_into_read_only_directory() {
    use std::os::unix::fs::PermissionsExt;
    let dir = test_dir("read_only");
    let path = dir.join("w.safetensors");
    let original = small_file();
    fs::write(&path, &original).unwrap();
    fs::set_permissions(&dir, fs::Permissions::from_mode(0o555)).unwrap();
    // Privileged users (root in a container) may write anyway: probe first.
    let probe = dir.join("probe");
    let enforced = fs::write(&probe, b"").is_err();
    let _ = fs::remove_file(&probe);
    let result = sample_dict().save(&path);
    fs::set_permissions(&dir, fs::Permissions::from_mode(0o755)).unwrap();
    if enforced {
        match result {
            Err(e @ StateDictError::Io { .. }) => {
                assert!(e.to_string().contains(&path.display().to_string()), "{e}");
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(fs::read(&path).unwrap(), original);
    } else {
        eprintln!("permissions not enforced for this user; checked only that the save is whole");
        result.unwrap();
        assert_eq!(StateDict::load(&path).unwrap(), sample_dict());
    }
    assert_eq!(dir_entries(&dir), vec!["w.safetensors".to_string()]);
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn save_replaces_an_existing_file_and_keeps_relative_paths_working() {
    let dir = test_dir("replace");
    let path = dir.join("w.safetensors");
    fs::write(&path, b"old contents").unwrap();
    let sd = sample_dict();
    sd.save(&path).unwrap();
    assert_eq!(StateDict::load(&path).unwrap(), sd);
    // A second save over a valid file.
    let mut sd2 = sd.clone();
    sd2.insert("extra", HostTensor::scalar_i64(1));
    sd2.save(&path).unwrap();
    assert_eq!(StateDict::load(&path).unwrap(), sd2);
    assert_eq!(dir_entries(&dir), vec!["w.safetensors".to_string()]);
    // A path with no file name is refused.
    assert!(matches!(
        sd.save(dir.join("..")),
        Err(StateDictError::Io { .. })
    ));
    fs::remove_dir_all(&dir).unwrap();
}

// ---------------------------------------------------------------- check()

fn resnet_like_expected() -> Vec<Expected> {
    vec![
        Expected::new("conv1.weight", vec![16, 3, 3, 3]),
        Expected::new("bn1.weight", vec![16]),
        Expected::new("bn1.bias", vec![16]),
        Expected::new("bn1.running_mean", vec![16]),
        Expected::new("bn1.running_var", vec![16]),
        Expected::optional("bn1.num_batches_tracked", vec![]),
        Expected::new("fc.weight", vec![10, 64]),
        Expected::new("fc.bias", vec![10]),
    ]
}

#[test]
fn check_accepts_a_fitting_dict_with_or_without_num_batches_tracked() {
    let mut sd = sample_dict();
    sd.insert("fc.weight", HostTensor::f32(vec![10, 64], vec![0.0; 640]));
    sd.check("resnet20", &resnet_like_expected()).unwrap();
    sd.remove("bn1.num_batches_tracked");
    sd.check("resnet20", &resnet_like_expected()).unwrap();
    // Kind is not checked: a float num_batches_tracked passes and converts.
    sd.insert("bn1.num_batches_tracked", HostTensor::scalar_f32(12.0));
    sd.check("resnet20", &resnet_like_expected()).unwrap();
    assert_eq!(
        sd.get("bn1.num_batches_tracked").unwrap().to_i64_vec(),
        Some(vec![12])
    );
    // A name listed twice counts once.
    let mut twice = resnet_like_expected();
    twice.push(Expected::new("fc.bias", vec![10]));
    sd.check("resnet20", &twice).unwrap();
}

#[test]
fn check_reports_every_problem_at_once() {
    let mut sd = StateDict::new();
    sd.insert(
        "conv1.weight",
        HostTensor::f32(vec![64, 3, 7, 7], vec![0.0; 64 * 3 * 49]),
    );
    for k in ["weight", "bias", "running_mean", "running_var"] {
        sd.insert(format!("bn1.{k}"), HostTensor::f32(vec![16], vec![0.0; 16]));
    }
    sd.insert(
        "classifier.weight",
        HostTensor::f32(vec![10, 64], vec![0.0; 640]),
    );
    let err = sd.check("resnet20", &resnet_like_expected()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "weights do not fit model resnet20: 2 missing (fc.weight [10, 64], fc.bias [10]), \
         1 unexpected (classifier.weight), \
         1 mis-shaped (conv1.weight: expected [16, 3, 3, 3], got [64, 3, 7, 7])"
    );
    let StateDictError::Mismatch {
        model,
        missing,
        unexpected,
        misshaped,
    } = err
    else {
        panic!("not a Mismatch");
    };
    assert_eq!(model, "resnet20");
    assert_eq!(
        missing.iter().map(|e| e.name.as_str()).collect::<Vec<_>>(),
        vec!["fc.weight", "fc.bias"]
    );
    assert_eq!(unexpected, vec!["classifier.weight".to_string()]);
    assert_eq!(
        misshaped,
        vec![Misshaped {
            name: "conv1.weight".into(),
            expected: vec![16, 3, 3, 3],
            actual: vec![64, 3, 7, 7],
        }]
    );
}

#[test]
fn check_reports_misshaped_optional_keys_and_truncates_long_lists() {
    let mut sd = sample_dict();
    sd.insert("fc.weight", HostTensor::f32(vec![10, 64], vec![0.0; 640]));
    sd.insert("bn1.num_batches_tracked", HostTensor::i64(vec![1], vec![3]));
    for i in 0..30 {
        sd.insert(format!("module.extra{i:02}"), HostTensor::scalar_f32(0.0));
    }
    let mut expected = resnet_like_expected();
    for i in 0..25 {
        expected.push(Expected::new(
            format!("layer1.{i}.conv1.weight"),
            vec![16, 16, 3, 3],
        ));
    }
    let msg = sd.check("resnet56", &expected).unwrap_err().to_string();
    assert!(
        msg.starts_with("weights do not fit model resnet56: 25 missing ("),
        "{msg}"
    );
    assert!(
        msg.contains("layer1.0.conv1.weight [16, 16, 3, 3]"),
        "{msg}"
    );
    assert!(
        msg.contains("... and 17 more), 30 unexpected (module.extra00"),
        "{msg}"
    );
    assert!(msg.contains("... and 22 more)"), "{msg}");
    assert!(!msg.contains("layer1.24."), "{msg}");
    assert!(
        msg.ends_with("1 mis-shaped (bn1.num_batches_tracked: expected [], got [1])"),
        "{msg}"
    );
}

// ---------------------------------------------------------------- malformed input

#[test]
fn malformed_files_give_parse_errors_naming_the_problem() {
    let ok_data = [0u8; 8];
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (vec![], "too short"),
        (vec![1, 2, 3], "too short"),
        (u64::MAX.to_le_bytes().to_vec(), "header length"),
        (
            {
                let mut v = 1000u64.to_le_bytes().to_vec();
                v.extend_from_slice(b"{}");
                v
            },
            "exceeds the 2 bytes",
        ),
        (raw_file("{\"a\":", &[]), "not valid JSON"),
        (raw_file("[1,2]", &[]), "not a JSON object"),
        (raw_file("\u{0}\u{0}", &[]), "not valid JSON"),
        (
            {
                let mut v = 2u64.to_le_bytes().to_vec();
                v.extend_from_slice(&[0xff, 0xfe]);
                v
            },
            "not UTF-8",
        ),
        (
            raw_file(
                r#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#,
                &[0; 4],
            ),
            "beyond",
        ),
        (
            raw_file(
                r#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}}"#,
                &ok_data,
            ),
            "do not hold",
        ),
        (
            raw_file(
                r#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[8,0]}}"#,
                &ok_data,
            ),
            "do not hold",
        ),
        (
            raw_file(
                r#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#,
                &ok_data,
            ),
            "cover only 4",
        ),
        (
            raw_file(
                r#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#,
                &ok_data,
            ),
            "unused bytes 0..4",
        ),
        (
            raw_file(
                r#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#,
                &ok_data,
            ),
            "overlaps",
        ),
        (
            raw_file(
                r#"{"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,8]}}"#,
                &ok_data,
            ),
            "not a dimension",
        ),
        (
            raw_file(
                r#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0]}}"#,
                &ok_data,
            ),
            "pair",
        ),
        (
            raw_file(
                r#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8.5]}}"#,
                &ok_data,
            ),
            "pair",
        ),
        (
            raw_file(r#"{"a":{"shape":[2],"data_offsets":[0,8]}}"#, &ok_data),
            "dtype",
        ),
        (
            raw_file(r#"{"a":{"dtype":"F32","data_offsets":[0,8]}}"#, &ok_data),
            "shape",
        ),
        (raw_file(r#"{"a":7}"#, &[]), "not a JSON object"),
        (
            raw_file(r#"{"__metadata__":{"epoch":3}}"#, &[]),
            "not a string",
        ),
        (raw_file(r#"{"__metadata__":[]}"#, &[]), "not a JSON object"),
        (
            raw_file(
                r#"{"a":{"dtype":"F32","shape":[4611686018427387904,8],"data_offsets":[0,8]}}"#,
                &ok_data,
            ),
            "address space",
        ),
        (
            raw_file(
                r#"{"a":{"dtype":"F4","shape":[3],"data_offsets":[0,2]}}"#,
                &[0; 2],
            ),
            "whole number of bytes",
        ),
    ];
    for (bytes, needle) in cases {
        let msg = parse_message(StateDict::from_bytes(&bytes));
        assert!(
            msg.starts_with("<bytes> is not a valid safetensors file: "),
            "{msg}"
        );
        assert!(msg.contains(needle), "expected {needle:?} in {msg:?}");
    }
    // Well-formed edge cases are accepted: an empty header, trailing padding,
    // zero-sized tensors sharing an offset, unknown extra fields.
    for (header, data) in [
        ("{}", &[][..]),
        ("{}      ", &[][..]),
        (
            r#"{"a":{"dtype":"F32","shape":[0],"data_offsets":[0,0]},"b":{"dtype":"I64","shape":[0,3],"data_offsets":[0,0]}}"#,
            &[][..],
        ),
        (
            r#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8],"extra":1}}"#,
            &ok_data[..],
        ),
    ] {
        StateDict::from_bytes(&raw_file(header, data)).unwrap();
    }
}

#[test]
fn offsets_near_usize_max_are_an_error_not_a_panic() {
    // Eight U8 tensors of 2^61 - 1 bytes each chain their offsets up to
    // 2^64 - 8: the reference crate's `buffer_end + N_LEN + n` overflows on
    // this (a panic under overflow checks). Ours must just refuse it.
    let size: u64 = (1 << 61) - 1;
    let mut header = String::from("{");
    for k in 0..8u64 {
        if k > 0 {
            header.push(',');
        }
        header.push_str(&format!(
            r#""t{k}":{{"dtype":"U8","shape":[{size}],"data_offsets":[{},{}]}}"#,
            k * size,
            (k + 1) * size
        ));
    }
    header.push('}');
    let file = raw_file(&header, &[]);
    let msg = parse_message(StateDict::from_bytes(&file));
    assert!(msg.contains("beyond the 0-byte data section"), "{msg}");
    // The reference crate refuses it too, by panicking ("attempt to add with
    // overflow") where overflow checks are on, as in this test profile.
    let reference = std::panic::catch_unwind(|| SafeTensors::deserialize(&file).is_ok());
    assert!(!matches!(reference, Ok(true)));
    if cfg!(debug_assertions) {
        assert!(reference.is_err(), "safetensors no longer panics here");
    }
}

/// Tensors as the reference crate reads them: name, dtype, shape, bytes.
type RefTensors = Vec<(String, Dtype, Vec<usize>, Vec<u8>)>;

/// The result of parsing with the reference crate, `None` if it panicked.
fn reference_parse(bytes: &[u8]) -> Option<Result<RefTensors, ()>> {
    std::panic::catch_unwind(|| match SafeTensors::deserialize(bytes) {
        Ok(st) => Ok(st
            .iter()
            .map(|(n, t)| {
                (
                    n.to_string(),
                    t.dtype(),
                    t.shape().to_vec(),
                    t.data().to_vec(),
                )
            })
            .collect()),
        Err(_) => Err(()),
    })
    .ok()
}

/// Parses `bytes` (it must not panic) and compares with the reference crate.
fn fuzz_one(bytes: &[u8], stats: &mut [usize; 2]) {
    let ours = StateDict::from_bytes(bytes);
    stats[usize::from(ours.is_ok())] += 1;
    let Some(reference) = reference_parse(bytes) else {
        assert!(
            ours.is_err(),
            "reference panicked but we accepted {bytes:?}"
        );
        return;
    };
    match (&ours, &reference) {
        (Ok(sd), Ok(tensors)) => {
            assert_eq!(sd.len(), tensors.len());
            for (name, dtype, shape, data) in tensors {
                let t = sd.get(name).unwrap();
                assert_eq!(&t.shape, shape, "{name}");
                if *dtype == Dtype::F32 {
                    assert_eq!(le_bytes(t.as_f32().unwrap(), f32::to_le_bytes), *data);
                }
                if *dtype == Dtype::I64 {
                    assert_eq!(le_bytes(t.as_i64().unwrap(), i64::to_le_bytes), *data);
                }
            }
        }
        (Ok(_), Err(())) => panic!("we accepted what the reference refuses: {bytes:?}"),
        (Err(e), Ok(_)) => assert!(
            matches!(e, StateDictError::UnsupportedDtype { .. })
                || e.to_string().contains("does not fit in i64"),
            "we refused what the reference accepts ({e}): {bytes:?}"
        ),
        (Err(_), Err(())) => {}
    }
}

/// Rewrites a valid file's header JSON with random edits to offsets, shapes
/// and dtypes, keeping the header length field consistent.
fn mutate_header(rng: &mut Rng, file: &[u8]) -> Vec<u8> {
    let n = u64::from_le_bytes(file[..8].try_into().unwrap()) as usize;
    let mut header: serde_json::Value = serde_json::from_slice(&file[8..8 + n]).unwrap();
    let mut data = file[8 + n..].to_vec();
    let interesting: Vec<serde_json::Value> = vec![
        0.into(),
        1.into(),
        4.into(),
        8.into(),
        (data.len() as u64).into(),
        (data.len() as u64 + 1).into(),
        (data.len() as u64).saturating_sub(1).into(),
        u64::MAX.into(),
        (1u64 << 63).into(),
        (1u64 << 61).into(),
        (u64::MAX - 7).into(),
        (-1).into(),
        1.5.into(),
        "8".into(),
        serde_json::Value::Null,
    ];
    let names: Vec<String> = header.as_object().unwrap().keys().cloned().collect();
    for _ in 0..1 + rng.below(3) {
        let name = &names[rng.below(names.len())];
        let entry = &mut header[name.as_str()];
        if name == "__metadata__" {
            entry["epoch"] = interesting[rng.below(interesting.len())].clone();
            continue;
        }
        match rng.below(6) {
            0 | 1 => {
                let i = rng.below(2);
                entry["data_offsets"][i] = if rng.below(2) == 0 {
                    interesting[rng.below(interesting.len())].clone()
                } else {
                    (rng.below(64) as u64).into()
                };
            }
            2 => {
                let shape = entry["shape"].as_array_mut();
                if let Some(shape) = shape {
                    let v = interesting[rng.below(interesting.len())].clone();
                    if shape.is_empty() || rng.below(3) == 0 {
                        shape.push(v);
                    } else {
                        let i = rng.below(shape.len());
                        shape[i] = v;
                    }
                }
            }
            3 => {
                let dtypes = [
                    "F32", "I64", "F16", "U8", "BOOL", "F4", "F8_E4M3", "C64", "f32",
                ];
                entry["dtype"] = dtypes[rng.below(dtypes.len())].into();
            }
            4 => {
                entry["data_offsets"] = serde_json::json!([rng.below(64), rng.below(64)]);
            }
            _ => {
                // Resize the data section instead.
                let len = rng.below(data.len() + 16);
                data.resize(len, 0x5a);
            }
        }
    }
    let text = header.to_string();
    raw_file(&text, &data)
}

#[test]
fn fuzz_from_bytes_never_panics_and_agrees_with_the_reference() {
    let start = std::time::Instant::now();
    let mut rng = Rng(0x5EED_5AFE_7E45_0125);
    let mut stats = [0usize; 2];
    let valid = small_file();
    assert!(StateDict::from_bytes(&valid).is_ok());
    let mut files = vec![valid.clone(), sample_dict().to_bytes().unwrap()];
    files.push(reference_file(&[
        ("h", Dtype::F16, vec![3], vec![0; 6]),
        ("u", Dtype::U8, vec![5], vec![1; 5]),
        ("l", Dtype::I64, vec![], vec![2; 8]),
    ]));

    // Random byte strings, some with a plausible header length.
    for i in 0..40_000 {
        let len = rng.below(if i % 2 == 0 { 24 } else { 400 });
        let mut bytes = rng.bytes(len);
        if i % 3 == 0 && len >= 8 {
            let n = rng.below(len) as u64;
            bytes[..8].copy_from_slice(&n.to_le_bytes());
        }
        if i % 5 == 0 && len >= 9 {
            bytes[8] = b'{';
        }
        fuzz_one(&bytes, &mut stats);
    }

    // Truncation of a small file at every length.
    for len in 0..=valid.len() {
        fuzz_one(&valid[..len], &mut stats);
    }

    // Header length rewritten to huge, off-by-few and random values.
    let n = u64::from_le_bytes(valid[..8].try_into().unwrap());
    let mut lengths = vec![
        0,
        1,
        u64::MAX,
        u64::MAX - 7,
        1 << 63,
        1 << 32,
        100_000_000,
        100_000_001,
        valid.len() as u64,
        valid.len() as u64 - 8,
        valid.len() as u64 - 7,
    ];
    lengths.extend((0..16).map(|d| n.wrapping_add(d).wrapping_sub(8)));
    lengths.extend((0..200).map(|_| rng.next() >> rng.below(64)));
    for l in lengths {
        let mut bytes = valid.clone();
        bytes[..8].copy_from_slice(&l.to_le_bytes());
        fuzz_one(&bytes, &mut stats);
    }

    // Bit flips, byte overwrites, insertions and deletions of valid files.
    for i in 0..60_000 {
        let mut bytes = files[i % files.len()].clone();
        for _ in 0..1 + rng.below(4) {
            match rng.below(4) {
                0 => {
                    let p = rng.below(bytes.len());
                    bytes[p] ^= 1 << rng.below(8);
                }
                1 => {
                    let p = rng.below(bytes.len());
                    bytes[p] = rng.next() as u8;
                }
                2 => {
                    let p = rng.below(bytes.len() + 1);
                    bytes.insert(p, rng.next() as u8);
                }
                _ => {
                    if !bytes.is_empty() {
                        let p = rng.below(bytes.len());
                        bytes.remove(p);
                    }
                }
            }
        }
        fuzz_one(&bytes, &mut stats);
    }

    // Structured edits of the JSON header (offsets, shapes, dtypes, data size).
    for i in 0..40_000 {
        let bytes = mutate_header(&mut rng, &files[i % files.len()]);
        fuzz_one(&bytes, &mut stats);
    }

    let [refused, accepted] = stats;
    eprintln!(
        "fuzz: {refused} refused, {accepted} accepted in {:.2?}",
        start.elapsed()
    );
    assert!(
        accepted > 1000,
        "the mutations should leave some files valid ({accepted})"
    );
    assert!(refused > 100_000);
}
