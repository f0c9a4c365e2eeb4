//! Kernels: WGSL sources from `shaders/`, their source specializations, and
//! the key of the pipeline cache.
//!
//! Most specialization is by override constants. What overrides cannot do is
//! change a binding's type (a storage buffer or a texel operand, say); for that
//! a source holds alternatives between marker lines, each on its own line:
//!
//! ```text
//! // #if TEXELS
//! ...kept when the kernel is specialized with TEXELS
//! // #else
//! ...kept otherwise
//! // #endif
//! ```
//!
//! (nesting allowed). [`specialize_source`] keeps the lines of the chosen
//! alternatives and blanks the others, so line numbers in errors still match
//! the file.

/// A WGSL compute kernel: its name (file name and pipeline label), source and entry point.
#[derive(Clone, Copy, Debug)]
pub struct Kernel {
    /// Name, equal to the file name under `shaders/` without `.wgsl`.
    pub name: &'static str,
    /// The WGSL source.
    pub source: &'static str,
    /// Entry point (`main` for every file with one kernel).
    pub entry: &'static str,
    /// Names whose `// #if NAME` blocks are kept (see the module docs).
    pub defines: &'static [&'static str],
}

impl Kernel {
    /// The same kernel with the source blocks of `defines` kept.
    pub const fn with_defines(self, defines: &'static [&'static str]) -> Kernel {
        Kernel { defines, ..self }
    }

    /// The WGSL source after [`specialize_source`] with the kernel's defines.
    pub fn specialized_source(&self) -> std::borrow::Cow<'static, str> {
        if self.defines.is_empty() && !self.source.contains("// #if ") {
            return std::borrow::Cow::Borrowed(self.source);
        }
        std::borrow::Cow::Owned(specialize_source(self.source, self.defines))
    }
}

/// `source` with the `// #if NAME` / `// #else` / `// #endif` blocks resolved
/// for `defines`: lines of the alternatives not taken, and the marker lines,
/// become empty lines.
pub fn specialize_source(source: &str, defines: &[&str]) -> String {
    // One entry per open block: whether its current alternative is kept.
    let mut open: Vec<bool> = Vec::new();
    let mut out = String::with_capacity(source.len());
    for line in source.lines() {
        let t = line.trim();
        let kept_outside = open.iter().all(|&k| k);
        if let Some(name) = t.strip_prefix("// #if ") {
            open.push(defines.contains(&name.trim()));
        } else if t == "// #else" {
            if let Some(k) = open.last_mut() {
                *k = !*k;
            }
        } else if t == "// #endif" {
            open.pop();
        } else if kept_outside {
            out.push_str(line);
        }
        out.push('\n');
    }
    out
}

/// Names used in `// #if NAME` markers of `source`, sorted, each once.
pub fn source_defines(source: &str) -> Vec<String> {
    let mut names: Vec<String> = source
        .lines()
        .filter_map(|l| {
            l.trim()
                .strip_prefix("// #if ")
                .map(|n| n.trim().to_string())
        })
        .collect();
    names.sort();
    names.dedup();
    names
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
            defines: &[],
        }
    };
}

/// Cache key: kernel, entry point and the values of its override constants.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub(crate) struct PipelineKey {
    name: &'static str,
    entry: &'static str,
    defines: &'static [&'static str],
    constants: Vec<(&'static str, u64)>,
}

impl PipelineKey {
    pub(crate) fn new(kernel: &Kernel, constants: &[(&'static str, f64)]) -> Self {
        let mut constants: Vec<_> = constants.iter().map(|&(k, v)| (k, v.to_bits())).collect();
        constants.sort();
        PipelineKey {
            name: kernel.name,
            entry: kernel.entry,
            defines: kernel.defines,
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
        let defines = if self.defines.is_empty() {
            String::new()
        } else {
            format!("[{}]", self.defines.join(","))
        };
        format!(
            "{}/{}{defines}{{{}}}",
            self.name,
            self.entry,
            consts.join(",")
        )
    }
}
