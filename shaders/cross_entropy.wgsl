// cross_entropy: per-row loss from log-probabilities and labels with label smoothing
// eps: loss_r = -(1 - eps) * lp[r, label] - eps / C * sum_j lp[r, j]; and the gradient
// of the MEAN loss wrt the logits, scaled by the upstream gradient g (a 1-element tensor):
// dlogits[r, j] = g * (exp(lp[r, j]) - (1 - eps) * [j == label] - eps / C) / rows.
// Labels outside [0, C) contribute nothing (the loader rejects them before any launch).
// Thread mapping: one invocation per row.
// Launcher: crates/tensor/src/ops/softmax.rs   Reference: crates/reference/src/softmax.rs
struct Params {
    rows: u32,
    cols: u32,
    smoothing: f32,
    inv_rows: f32,
}

override WG: u32 = 64u;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> logp: array<f32>;
@group(0) @binding(2) var<storage, read> labels: array<u32>;

fn row_index(gid: vec3<u32>, nwg: vec3<u32>) -> u32 {
    return gid.x + gid.y * nwg.x * WG;
}

@group(0) @binding(3) var<storage, read_write> loss: array<f32>;

@compute @workgroup_size(WG)
fn forward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let r = row_index(gid, nwg);
    if (r >= p.rows) {
        return;
    }
    let base = r * p.cols;
    let label = labels[r];
    var s = 0.0;
    for (var j = 0u; j < p.cols; j++) {
        s += logp[base + j];
    }
    var picked = 0.0;
    if (label < p.cols) {
        picked = logp[base + label];
    }
    loss[r] = -(1.0 - p.smoothing) * picked - p.smoothing / f32(p.cols) * s;
}

@group(0) @binding(3) var<storage, read> upstream: array<f32>;
@group(0) @binding(4) var<storage, read_write> dlogits: array<f32>;

@compute @workgroup_size(WG)
fn backward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let r = row_index(gid, nwg);
    if (r >= p.rows) {
        return;
    }
    let g = upstream[0] * p.inv_rows;
    let base = r * p.cols;
    let label = labels[r];
    let off = p.smoothing / f32(p.cols);
    for (var j = 0u; j < p.cols; j++) {
        var t = off;
        if (j == label) {
            t += 1.0 - p.smoothing;
        }
        dlogits[base + j] = g * (exp(logp[base + j]) - t);
    }
}
