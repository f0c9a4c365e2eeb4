// log_softmax over the last dimension, negative log-likelihood with label smoothing,
// and the gradient of mean cross-entropy. Rows are independent.
// Thread mapping: one invocation per row (class counts are small next to batch sizes).
// Launcher: crates/tensor/src/ops/softmax.rs   Reference: crates/reference/src/softmax.rs
struct Params {
    rows: u32,
    cols: u32,
    smoothing: f32,
    inv_rows: f32,
}

override WG: u32 = 64u;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;

fn row_index(gid: vec3<u32>, nwg: vec3<u32>) -> u32 {
    return gid.x + gid.y * nwg.x * WG;
}

// y = log_softmax(x) row by row.
@compute @workgroup_size(WG)
fn forward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let r = row_index(gid, nwg);
    if (r >= p.rows) {
        return;
    }
    let base = r * p.cols;
    var m = x[base];
    for (var j = 1u; j < p.cols; j++) {
        m = max(m, x[base + j]);
    }
    var s = 0.0;
    for (var j = 0u; j < p.cols; j++) {
        s += exp(x[base + j] - m);
    }
    let lse = m + log(s);
    for (var j = 0u; j < p.cols; j++) {
        y[base + j] = x[base + j] - lse;
    }
}

// Backward of log_softmax: dx = dy - exp(y) * sum(dy), where x holds y = log_softmax(input).
@group(0) @binding(2) var<storage, read> dy: array<f32>;
@group(0) @binding(3) var<storage, read_write> dx: array<f32>;

@compute @workgroup_size(WG)
fn backward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let r = row_index(gid, nwg);
    if (r >= p.rows) {
        return;
    }
    let base = r * p.cols;
    var s = 0.0;
    for (var j = 0u; j < p.cols; j++) {
        s += dy[base + j];
    }
    for (var j = 0u; j < p.cols; j++) {
        dx[base + j] = dy[base + j] - exp(x[base + j]) * s;
    }
}
