// batch_norm over [N, C, HW], statistics per channel over its N*HW elements (PyTorch's
// BatchNorm2d). Entry points:
//  stats: one workgroup per channel; each invocation runs Welford over a strided share of
//    the channel, shares are merged with Chan's formula in a tree (numerically stable; no
//    E[x^2]-E[x]^2). Launches over runs of images chain through `acc` (mean, M2); the last
//    writes mean, invstd = 1/sqrt(var_biased + eps), updates running_mean / running_var
//    (unbiased variance, momentum) in place and increments num_batches_tracked.
//  apply: y = (x - mean) * (invstd * gamma) + beta (EVAL: invstd from running_var), then
//    max(y, 0) when RELU. One workgroup column per (n, c) plane, E elements per invocation.
//  reduce_grad: one workgroup per channel; sum(g) and sum(g * xhat), g = dy (masked by
//    y > 0 when RELU), chained over launches through `work`; the last writes per-channel
//    records for dx_main.
//  dx_main: dx = gamma*invstd * (g - sum(g)/M - xhat * sum(g*xhat)/M), M = N*HW
//    (derivation: docs/ops/batch_norm.md).
// Launcher: crates/tensor/src/ops/batch_norm.rs   Reference: crates/reference/src/batch_norm.rs
struct Params {
    n: u32, // images in this launch
    c: u32,
    hw: u32,
    x_base: u32, // element offsets of the bound windows
    y_base: u32,
    z_base: u32,
    n_done: u32, // images handled by earlier launches of the same call (chained via acc/work)
    last: u32, // 1 on the last launch of the call
    step_img: u32, // WG = step_img * hw + step_off: one stride of an invocation
    step_off: u32,
    _pad0: u32,
    _pad1: u32,
    count: f32, // N * HW of the whole call
    momentum: f32,
    eps: f32,
    _pad2: f32,
}

override WG: u32 = 256u;
override RELU: u32 = 0u;
override EVAL: u32 = 0u;
const E: u32 = 4u; // elements per invocation in apply / dx_main
// Stride of the per-channel records in `work` (after sum(g) and sum(g*xhat), 2C floats).
const REC: u32 = 8u;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;

// The same expression in the forward and in the ReLU mask of the backward.
fn bn(v: f32, mean: f32, invstd: f32, gamma: f32, beta: f32) -> f32 {
    return (v - mean) * (invstd * gamma) + beta;
}

// ---- stats ----
@group(0) @binding(2) var<storage, read_write> acc: array<f32>;
@group(0) @binding(3) var<storage, read_write> mean_out: array<f32>;
@group(0) @binding(4) var<storage, read_write> invstd_out: array<f32>;
@group(0) @binding(5) var<storage, read_write> running_mean: array<f32>;
@group(0) @binding(6) var<storage, read_write> running_var: array<f32>;
@group(0) @binding(7) var<storage, read_write> num_batches: array<u32>;

var<workgroup> s_n: array<f32, WG>;
var<workgroup> s_mean: array<f32, WG>;
var<workgroup> s_m2: array<f32, WG>;

struct Moments {
    n: f32,
    mean: f32,
    m2: f32,
}

// Chan et al.: moments of the union of two disjoint sets.
fn merge(a: Moments, b: Moments) -> Moments {
    let n = a.n + b.n;
    if (b.n == 0.0) {
        return a;
    }
    if (a.n == 0.0) {
        return b;
    }
    let d = b.mean - a.mean;
    let f = b.n / n;
    return Moments(n, a.mean + d * f, a.m2 + b.m2 + d * d * a.n * f);
}

@compute @workgroup_size(WG)
fn stats(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
         @builtin(local_invocation_index) lid: u32) {
    let ch = wid.x + wid.y * nwg.x; // uniform over the workgroup
    var m = Moments(0.0, 0.0, 0.0);
    if (ch < p.c) {
        var img = lid / p.hw;
        var off = lid % p.hw;
        loop {
            if (img >= p.n) {
                break;
            }
            let v = x[p.x_base + (img * p.c + ch) * p.hw + off];
            m.n += 1.0;
            let d = v - m.mean;
            m.mean += d / m.n;
            m.m2 += d * (v - m.mean);
            off += p.step_off;
            img += p.step_img;
            if (off >= p.hw) {
                off -= p.hw;
                img += 1u;
            }
        }
    }
    s_n[lid] = m.n;
    s_mean[lid] = m.mean;
    s_m2[lid] = m.m2;
    workgroupBarrier();
    for (var s = WG / 2u; s > 0u; s = s / 2u) {
        if (lid < s) {
            let r = merge(Moments(s_n[lid], s_mean[lid], s_m2[lid]),
                          Moments(s_n[lid + s], s_mean[lid + s], s_m2[lid + s]));
            s_n[lid] = r.n;
            s_mean[lid] = r.mean;
            s_m2[lid] = r.m2;
        }
        workgroupBarrier();
    }
    if (ch >= p.c || lid != 0u) {
        return;
    }
    var t = Moments(s_n[0], s_mean[0], s_m2[0]);
    if (p.n_done > 0u) {
        t = merge(Moments(f32(p.n_done * p.hw), acc[ch], acc[p.c + ch]), t);
    }
    if (p.last == 0u) {
        acc[ch] = t.mean;
        acc[p.c + ch] = t.m2;
        return;
    }
    let var_biased = t.m2 / t.n;
    mean_out[ch] = t.mean;
    invstd_out[ch] = 1.0 / sqrt(var_biased + p.eps);
    let unbiased = t.m2 / (t.n - 1.0);
    running_mean[ch] = (1.0 - p.momentum) * running_mean[ch] + p.momentum * t.mean;
    running_var[ch] = (1.0 - p.momentum) * running_var[ch] + p.momentum * unbiased;
    if (ch == 0u) {
        num_batches[0] += 1u;
    }
}

// ---- apply ----
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
@group(0) @binding(3) var<storage, read> stat_mean: array<f32>; // mean, or running_mean (EVAL)
@group(0) @binding(4) var<storage, read> stat_scale: array<f32>; // invstd, or running_var (EVAL)
@group(0) @binding(5) var<storage, read> gamma: array<f32>;
@group(0) @binding(6) var<storage, read> beta: array<f32>;

@compute @workgroup_size(WG)
fn apply(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
         @builtin(local_invocation_index) lid: u32) {
    let plane = wid.y + wid.z * nwg.y;
    if (plane >= p.n * p.c) {
        return;
    }
    let ch = plane % p.c;
    let mean = stat_mean[ch];
    var invstd = stat_scale[ch];
    if (EVAL == 1u) {
        invstd = 1.0 / sqrt(invstd + p.eps);
    }
    let g = gamma[ch];
    let b = beta[ch];
    let first = wid.x * WG * E + lid;
    let xb = p.x_base + plane * p.hw;
    let yb = p.y_base + plane * p.hw;
    for (var j = 0u; j < E; j++) {
        let k = first + j * WG;
        if (k < p.hw) {
            var v = bn(x[xb + k], mean, invstd, g, b);
            if (RELU == 1u) {
                v = max(v, 0.0);
            }
            y[yb + k] = v;
        }
    }
}

// ---- reduce_grad ----
@group(0) @binding(2) var<storage, read> dy: array<f32>;
@group(0) @binding(3) var<storage, read> saved_mean: array<f32>;
@group(0) @binding(4) var<storage, read> saved_invstd: array<f32>;
@group(0) @binding(7) var<storage, read_write> work: array<f32>;

var<workgroup> s_g: array<f32, WG>;
var<workgroup> s_gx: array<f32, WG>;

@compute @workgroup_size(WG)
fn reduce_grad(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
               @builtin(local_invocation_index) lid: u32) {
    let ch = wid.x + wid.y * nwg.x; // uniform over the workgroup
    var sg = 0.0;
    var sgx = 0.0;
    var mean = 0.0;
    var invstd = 0.0;
    var ga = 0.0;
    var be = 0.0;
    if (ch < p.c) {
        mean = saved_mean[ch];
        invstd = saved_invstd[ch];
        ga = gamma[ch];
        be = beta[ch];
        var img = lid / p.hw;
        var off = lid % p.hw;
        loop {
            if (img >= p.n) {
                break;
            }
            let plane_off = (img * p.c + ch) * p.hw + off;
            let v = x[p.x_base + plane_off];
            var g = dy[p.y_base + plane_off];
            if (RELU == 1u && bn(v, mean, invstd, ga, be) <= 0.0) {
                g = 0.0;
            }
            sg += g;
            sgx += g * ((v - mean) * invstd);
            off += p.step_off;
            img += p.step_img;
            if (off >= p.hw) {
                off -= p.hw;
                img += 1u;
            }
        }
    }
    s_g[lid] = sg;
    s_gx[lid] = sgx;
    workgroupBarrier();
    for (var s = WG / 2u; s > 0u; s = s / 2u) {
        if (lid < s) {
            s_g[lid] += s_g[lid + s];
            s_gx[lid] += s_gx[lid + s];
        }
        workgroupBarrier();
    }
    if (ch >= p.c || lid != 0u) {
        return;
    }
    var tg = s_g[0];
    var tgx = s_gx[0];
    if (p.n_done > 0u) {
        tg += work[ch];
        tgx += work[p.c + ch];
    }
    work[ch] = tg; // dbeta
    work[p.c + ch] = tgx; // dgamma
    if (p.last == 1u) {
        let r = 2u * p.c + ch * REC;
        work[r] = mean;
        work[r + 1u] = invstd;
        work[r + 2u] = ga;
        work[r + 3u] = be;
        work[r + 4u] = tg / p.count;
        work[r + 5u] = tgx / p.count;
    }
}

// ---- dx_main ----
@group(0) @binding(3) var<storage, read> records: array<f32>;
@group(0) @binding(4) var<storage, read_write> dx: array<f32>;

@compute @workgroup_size(WG)
fn dx_main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
           @builtin(local_invocation_index) lid: u32) {
    let plane = wid.y + wid.z * nwg.y;
    if (plane >= p.n * p.c) {
        return;
    }
    let ch = plane % p.c;
    let r = 2u * p.c + ch * REC;
    let mean = records[r];
    let invstd = records[r + 1u];
    let ga = records[r + 2u];
    let be = records[r + 3u];
    let mg = records[r + 4u];
    let mgx = records[r + 5u];
    let k = ga * invstd;
    let first = wid.x * WG * E + lid;
    let base = plane * p.hw;
    for (var j = 0u; j < E; j++) {
        let i = first + j * WG;
        if (i < p.hw) {
            let v = x[p.x_base + base + i];
            var g = dy[p.y_base + base + i];
            if (RELU == 1u && bn(v, mean, invstd, ga, be) <= 0.0) {
                g = 0.0;
            }
            dx[p.z_base + base + i] = k * (g - mg - (v - mean) * invstd * mgx);
        }
    }
}
