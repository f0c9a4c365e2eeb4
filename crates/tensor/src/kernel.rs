//! Kernels: WGSL sources from `shaders/`, and the key of the pipeline cache.

/// A WGSL compute kernel: its name (file name and pipeline label), source and entry point.
#[derive(Clone, Copy, Debug)]
pub struct Kernel {
    /// Name, equal to the file name under `shaders/` without `.wgsl`.
    pub name: &'static str,
    /// The WGSL source.
    pub source: &'static str,
    /// Entry point (`main` for every file with one kernel).
    pub entry: &'static str,
}

/// `kernel!("matmul")` is the kernel in `shaders/matmul.wgsl` with entry point `main`;
/// `kernel!("file", "entry")` picks another entry point of the same file.
#[macro_export]
#[doc(hidden)]
macro_rules! kernel {
    ($name:literal) => {
        $crate::kernel!($name, "main")
    };
    ($name:literal, $entry:literal) => {
        $crate::Kernel {
            name: $name,
            source: include_str!(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../../shaders/",
                $name,
                ".wgsl"
            )),
            entry: $entry,
        }
    };
}

/// Cache key: kernel, entry point and the values of its override constants.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub(crate) struct PipelineKey {
    name: &'static str,
    entry: &'static str,
    constants: Vec<(&'static str, u64)>,
}

impl PipelineKey {
    pub(crate) fn new(kernel: &Kernel, constants: &[(&'static str, f64)]) -> Self {
        let mut constants: Vec<_> = constants.iter().map(|&(k, v)| (k, v.to_bits())).collect();
        constants.sort();
        PipelineKey {
            name: kernel.name,
            entry: kernel.entry,
            constants,
        }
    }

    /// `name/entry{K=V,...}` for messages and the profiler.
    pub(crate) fn label(&self) -> String {
        let consts: Vec<String> = self
            .constants
            .iter()
            .map(|&(k, v)| format!("{k}={}", f64::from_bits(v)))
            .collect();
        format!("{}/{}{{{}}}", self.name, self.entry, consts.join(","))
    }
}
