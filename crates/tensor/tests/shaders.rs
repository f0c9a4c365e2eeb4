//! Every WGSL file under `shaders/` parses and validates with naga, for every
//! specialization of its override constants that the launchers use. Needs no GPU.
//!
//! Override values come from one table by name; a kernel that declares an
//! override missing from the table fails here until its values are listed.

use std::path::PathBuf;

/// Values each override constant takes in the launchers.
fn override_values(name: &str) -> Option<Vec<f64>> {
    Some(match name {
        // unary.wgsl has 5 functions, binary.wgsl 7 operations.
        "OP" => (0..7).map(f64::from).collect(),
        "WG" => vec![8.0, 64.0, 256.0],
        "TRANS_A" | "TRANS_B" | "NESTEROV" | "DECOUPLED" | "BROADCAST" => vec![0.0, 1.0],
        // batch_norm.wgsl: fused activation (none, ReLU, ReLU6), eval-mode statistics, the fused
        // residual add, elements per item.
        "EVAL" | "RESIDUAL" => vec![0.0, 1.0],
        "RELU" => vec![0.0, 1.0, 2.0],
        // conv2d_igemm.wgsl GRAD_SUMS: the activation whose gradient mask dX's epilogue applies.
        "GRAD_ACT" => vec![0.0, 1.0, 2.0],
        // batch_norm.wgsl dx4_padded: 4-pixel groups per invocation.
        "QUADS" => vec![1.0, 2.0, 4.0],
        "V" => vec![1.0, 4.0, 16.0],
        // conv2d_igemm.wgsl: the subgroup size it is specialized for.
        "SG" => vec![8.0, 16.0, 32.0],
        // conv2d_depthwise.wgsl forward3x3: stride 1 or 2.
        "STRIDE" => vec![1.0, 2.0],
        "WIDE" | "GROUPED_DX" => vec![0.0, 1.0],
        // conv2d_igemm*.wgsl: the store's specialization.
        "EPILOGUE" | "VEC4_ROWS" | "SMALL_M" | "FLAT" => vec![0.0, 1.0],
        // conv2d_layout.wgsl: index divisions in f32 below 2^23 invocations; dX of
        // stride 2 along W in the four-column entry.
        "SMALL_INDEX" | "UPS_W2" => vec![0.0, 1.0],
        // conv2d_layout.wgsl to_padded_nhwc4: dst rows per invocation.
        "ROWS" => vec![1.0, 8.0],
        // conv2d_layout.wgsl interleave_phases: an accumulated gradient added in the store.
        "ACC" => vec![0.0, 1.0],
        // max_pool2d.wgsl: the window's kernel and stride (0: from the params), dilation 1.
        "KH" | "KW" => vec![0.0, 3.0],
        "SH" | "SW" => vec![0.0, 2.0],
        "PW" => vec![0.0, 1.0],
        "DIL1" => vec![0.0, 1.0],
        // max_pool2d.wgsl main_row4: the window's first component and vec4s per row.
        "SHIFT" => vec![0.0, 3.0],
        "NV" => vec![1.0, 4.0],
        // avg_pool2d.wgsl adaptive_backward: one bin per plane (global average pooling).
        "GLOBAL" => vec![0.0, 1.0],
        // avg_pool2d.wgsl backward: a 1x1 window without padding (a strided subsample).
        "POINT" => vec![0.0, 1.0],
        // matmul_subgroup.wgsl: the adapter's (fixed) subgroup size.
        "SUBGROUP_SIZE" => vec![8.0, 16.0, 32.0, 64.0],
        "COL_QUADS" => vec![4.0, 8.0, 16.0],
        // Texel operands: log2 of the texture width (4096, or 8192-wide adapters' 2048).
        "TEX_SHIFT" => vec![11.0, 12.0],
        _ => return None,
    })
}

fn shader_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shaders")
}

fn validator() -> naga::valid::Validator {
    naga::valid::Validator::new(
        naga::valid::ValidationFlags::all(),
        naga::valid::Capabilities::all(),
    )
}

/// All combinations of the listed values of `names`.
fn combinations(names: &[String]) -> Vec<Vec<(String, f64)>> {
    let mut out = vec![Vec::new()];
    for n in names {
        let values = override_values(n)
            .unwrap_or_else(|| panic!("override `{n}` has no values in override_values()"));
        out = out
            .into_iter()
            .flat_map(|prefix| {
                values.iter().map(move |&v| {
                    let mut p = prefix.clone();
                    p.push((n.clone(), v));
                    p
                })
            })
            .collect();
    }
    out
}

#[test]
fn every_shader_validates_for_every_specialization() {
    let mut files: Vec<PathBuf> = std::fs::read_dir(shader_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "wgsl"))
        .collect();
    files.sort();
    assert!(
        files.len() >= 6,
        "expected the shaders/ folder, found {files:?}"
    );
    let mut checked = 0;
    for path in files {
        let source = std::fs::read_to_string(&path).unwrap();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        assert!(
            source.starts_with("//"),
            "{name}: start with a comment saying what the kernel does"
        );
        // Every subset of the source's `// #if NAME` blocks (see kernel.rs).
        let names = shadernet_tensor::source_defines(&source);
        for mask in 0..(1u32 << names.len()) {
            let defines: Vec<&str> = names
                .iter()
                .enumerate()
                .filter(|(i, _)| mask & (1 << i) != 0)
                .map(|(_, n)| n.as_str())
                .collect();
            let source = shadernet_tensor::specialize_source(&source, &defines);
            let name = format!("{name}{defines:?}");
            checked += validate_all(&name, &source);
        }
    }
    assert!(checked > 0);
}

/// Parses and validates `source`, then every entry point with every listed
/// combination of its override values; returns how many were checked.
fn validate_all(name: &str, source: &str) -> usize {
    let mut checked = 0;
    let module = naga::front::wgsl::parse_str(source)
        .unwrap_or_else(|e| panic!("{name}: {}", e.emit_to_string(source)));
    let info = validator()
        .validate(&module)
        .unwrap_or_else(|e| panic!("{name}: {}", e.emit_to_string(source)));
    let overrides: Vec<String> = module
        .overrides
        .iter()
        .filter_map(|(_, o)| o.name.clone())
        .collect();
    for ep in &module.entry_points {
        for combo in combinations(&overrides) {
            let mut constants = naga::back::PipelineConstants::default();
            for (k, v) in &combo {
                constants.insert(k.clone(), *v);
            }
            naga::back::pipeline_constants::process_overrides(
                &module,
                &info,
                Some((ep.stage, &ep.name)),
                &constants,
            )
            .unwrap_or_else(|e| panic!("{name}::{} with {combo:?}: {e}", ep.name));
            checked += 1;
        }
    }
    checked
}

#[test]
fn source_blocks_are_specialized() {
    let src = "a\n// #if T\nb\n// #if U\nc\n// #else\nd\n// #endif\n// #else\ne\n// #endif\nf\n";
    let lines = |defines: &[&str]| -> Vec<String> {
        shadernet_tensor::specialize_source(src, defines)
            .lines()
            .filter(|l| !l.is_empty())
            .map(str::to_string)
            .collect()
    };
    assert_eq!(lines(&[]), ["a", "e", "f"]);
    assert_eq!(lines(&["T"]), ["a", "b", "d", "f"]);
    assert_eq!(lines(&["T", "U"]), ["a", "b", "c", "f"]);
    assert_eq!(lines(&["U"]), ["a", "e", "f"]);
    // Line numbers are kept.
    assert_eq!(
        shadernet_tensor::specialize_source(src, &[])
            .lines()
            .count(),
        src.lines().count()
    );
    assert_eq!(shadernet_tensor::source_defines(src), ["T", "U"]);
}

#[test]
fn params_structs_are_scalars_padded_to_16_bytes() {
    // Rust mirrors `struct Params` field for field with repr(C); that only agrees
    // with WGSL's layout when the struct is 4-byte scalars / vec4s and 16-byte sized.
    for entry in std::fs::read_dir(shader_dir()).unwrap() {
        let path = entry.unwrap().path();
        let source =
            shadernet_tensor::specialize_source(&std::fs::read_to_string(&path).unwrap(), &[]);
        let module = naga::front::wgsl::parse_str(&source).unwrap();
        for (_, ty) in module.types.iter() {
            if ty.name.as_deref() == Some("Params") {
                if let naga::TypeInner::Struct { span, .. } = ty.inner {
                    assert_eq!(span % 16, 0, "{}: Params is {span} bytes", path.display());
                }
            }
        }
    }
}
