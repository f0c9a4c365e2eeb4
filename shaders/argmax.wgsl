// argmax over the last dimension (the first maximum wins, as in torch), and a count of
// rows whose argmax equals the label (accumulated with an atomic add).
// Thread mapping: one invocation per row.
// Launcher: crates/tensor/src/ops/softmax.rs   Reference: crates/reference/src/softmax.rs
struct Params {
    rows: u32,
    cols: u32,
    _pad0: u32,
    _pad1: u32,
}

override WG: u32 = 64u;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;

fn row_argmax(r: u32) -> u32 {
    let base = r * p.cols;
    var best = x[base];
    var arg = 0u;
    for (var j = 1u; j < p.cols; j++) {
        let v = x[base + j];
        if (v > best) {
            best = v;
            arg = j;
        }
    }
    return arg;
}

@group(0) @binding(2) var<storage, read_write> indices: array<u32>;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let r = gid.x + gid.y * nwg.x * WG;
    if (r >= p.rows) {
        return;
    }
    indices[r] = row_argmax(r);
}

@group(0) @binding(2) var<storage, read> labels: array<u32>;
@group(0) @binding(3) var<storage, read_write> correct: atomic<u32>;

@compute @workgroup_size(WG)
fn count_correct(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let r = gid.x + gid.y * nwg.x * WG;
    if (r >= p.rows) {
        return;
    }
    if (row_argmax(r) == labels[r]) {
        atomicAdd(&correct, 1u);
    }
}
