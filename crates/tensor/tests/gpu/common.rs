//! Shared by the GPU tests: one device per process, host<->GPU helpers, fixtures.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use shadernet_tensor::{Device, Tensor};

/// The device every test shares (device creation is slow). `SHADERNET_DEVICE`
/// picks an adapter as `--device` does.
pub fn device() -> &'static Device {
    static DEVICE: OnceLock<Device> = OnceLock::new();
    DEVICE.get_or_init(|| {
        if std::env::var_os("XDG_RUNTIME_DIR").is_none() {
            // Mesa complains on stderr without one; a private temp dir silences it.
            let dir = std::env::temp_dir().join("shadernet-test-xdg");
            let _ = std::fs::create_dir_all(&dir);
            std::env::set_var("XDG_RUNTIME_DIR", dir);
        }
        let selector = std::env::var("SHADERNET_DEVICE").ok();
        Device::new(selector.as_deref()).unwrap_or_else(|e| {
            panic!("GPU tests need an adapter ({e}); build with RUSTFLAGS=\"--cfg skip_gpu_tests\" to mark them ignored")
        })
    })
}

pub fn upload(data: &[f64], shape: &[usize]) -> Tensor {
    let v: Vec<f32> = data.iter().map(|&x| x as f32).collect();
    Tensor::from_f32(device(), &v, shape).unwrap()
}

/// f32-rounded copy of f64 data, so the reference sees exactly what the GPU sees.
pub fn round32(data: &[f64]) -> Vec<f64> {
    data.iter().map(|&x| f64::from(x as f32)).collect()
}

pub fn download(t: &Tensor) -> Vec<f32> {
    t.to_vec_f32().unwrap()
}

/// One fixture file written by scripts/make_fixtures.py.
pub struct Fixture {
    pub name: String,
    bytes: Vec<u8>,
    pub cases: BTreeMap<String, serde_json::Value>,
}

impl Fixture {
    pub fn load(name: &str) -> Fixture {
        let path = format!(
            "{}/../../tests/fixtures/{name}.safetensors",
            env!("CARGO_MANIFEST_DIR")
        );
        let bytes = std::fs::read(&path)
            .unwrap_or_else(|e| panic!("fixture {path}: {e} (run scripts/make_fixtures.py)"));
        let (_, meta) = safetensors::SafeTensors::read_metadata(&bytes).unwrap();
        let cases = meta
            .metadata()
            .as_ref()
            .map(|m| {
                m.iter()
                    .map(|(k, v)| (k.clone(), serde_json::from_str(v).unwrap()))
                    .collect()
            })
            .unwrap_or_default();
        Fixture {
            name: name.to_string(),
            bytes,
            cases,
        }
    }

    fn view(&self, key: &str) -> Option<(safetensors::Dtype, Vec<usize>, Vec<u8>)> {
        let st = safetensors::SafeTensors::deserialize(&self.bytes).unwrap();
        let t = st.tensor(key).ok()?;
        Some((t.dtype(), t.shape().to_vec(), t.data().to_vec()))
    }

    pub fn has(&self, case: &str, role: &str) -> bool {
        self.view(&format!("{case}.{role}")).is_some()
    }

    /// A tensor as f64 values (from F32, F64 or I64 storage) and its shape.
    pub fn get(&self, case: &str, role: &str) -> (Vec<f64>, Vec<usize>) {
        let key = format!("{case}.{role}");
        let (dtype, shape, data) = self
            .view(&key)
            .unwrap_or_else(|| panic!("{}: no tensor {key}", self.name));
        let values = match dtype {
            safetensors::Dtype::F32 => data
                .chunks_exact(4)
                .map(|c| f64::from(f32::from_le_bytes(c.try_into().unwrap())))
                .collect(),
            safetensors::Dtype::F64 => data
                .chunks_exact(8)
                .map(|c| f64::from_le_bytes(c.try_into().unwrap()))
                .collect(),
            safetensors::Dtype::I64 => data
                .chunks_exact(8)
                .map(|c| i64::from_le_bytes(c.try_into().unwrap()) as f64)
                .collect(),
            other => panic!("{key}: unsupported dtype {other:?}"),
        };
        (values, shape)
    }

    /// The case's parameters.
    pub fn param(&self, case: &str, key: &str) -> &serde_json::Value {
        &self.cases[case][key]
    }

    pub fn usize(&self, case: &str, key: &str) -> usize {
        self.param(case, key)
            .as_u64()
            .unwrap_or_else(|| panic!("{}: {case}.{key} is not an integer", self.name))
            as usize
    }

    pub fn bool(&self, case: &str, key: &str) -> bool {
        self.param(case, key).as_bool().unwrap_or(false)
    }

    /// Tolerance for `output` of `case`: the tighter of the op's default and a
    /// bound derived from PyTorch's own f32-vs-f64 spread (4x the spread, relative to
    /// the largest magnitude), never below 1e-6.
    pub fn tol(
        &self,
        case: &str,
        output: &str,
        default: shadernet_reference::tol::Tol,
    ) -> shadernet_reference::tol::Tol {
        let spread = self.cases[case]
            .get(format!("spread_{output}"))
            .and_then(|v| v.as_f64())
            .unwrap_or(0.0);
        let (want, _) = self.get(case, output);
        let scale = want.iter().fold(0.0f64, |m, v| m.max(v.abs()));
        let atol = (4.0 * spread * scale).max(default.atol).max(1e-6);
        shadernet_reference::tol::Tol::new(atol, default.rtol)
    }
}

/// A device of the test's own (the shared one's profiler sees every test's work).
pub fn own_device() -> Device {
    // The shared device's setup also points Mesa at a private XDG_RUNTIME_DIR.
    device();
    Device::new(std::env::var("SHADERNET_DEVICE").ok().as_deref()).unwrap()
}
