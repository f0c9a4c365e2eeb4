// batch_norm over [N, C, HW], statistics per channel over its M = N*HW elements (PyTorch's
// BatchNorm2d). Inputs are read through vec4 views. Every invocation handles items of V
// elements: V = 4 or 16 reads V/4 whole vec4s (HW % V == 0, vec4-aligned windows), V = 1
// single components. Entry points:
//  stats: one workgroup per channel; each invocation runs Welford over a strided share of
//    the channel (a vec4 at a time: the vec4's own moments, merged), and the shares are
//    merged with Chan's formula in two levels (numerically stable; no E[x^2]-E[x]^2; the
//    moments are of x - pivot, the channel's first element). Launches
//    over runs of images chain through `acc` (mean, M2); the last writes mean,
//    invstd = 1/sqrt(var_biased + eps), updates running_mean / running_var (unbiased
//    variance, momentum) in place and increments num_batches_tracked.
//  records: per channel (mean, k = invstd * gamma, beta, invstd) for apply, from the batch
//    statistics or (EVAL) from running_mean / running_var.
//  apply / apply4: y = (x - mean) * k + beta, plus a residual operand when RESIDUAL (the
//    end of a residual block: one pass instead of batch norm and an add), then the
//    activation RELU (1: max(y, 0), 2: ReLU6, min(max(y, 0), 6)); one invocation per
//    element (V = 1) / per V elements; apply4_padded writes act(bn(x)) in a convolution's
//    padded input layout instead of NCHW (see there).
//  reduce_grad: one workgroup per channel; sum(g) and sum(g * xhat), g = dy (masked by
//    y > 0 for RELU 1, 0 < y < 6 for RELU 2, y recomputed with the forward's expression;
//    RESIDUAL plays no part there: the launcher masks first), chained over launches
//    through `work`; the last writes two vec4 records per channel for dx.
//  grad_parts: the same sums and records from a convolution's dX epilogue (its per-block
//    partial sums, conv2d_igemm.wgsl GRAD_SUMS) instead of reading g and x (see there).
//  dx_main / dx4: dx = k * (g - sum(g)/M - xhat * sum(g*xhat)/M), xhat = (x - mean) * invstd
//    (derivation: docs/ops/batch_norm.md); dx4_padded writes it in a convolution's padded
//    dY layout instead of NCHW (see there).
// Launcher: crates/tensor/src/ops/batch_norm.rs   Reference: crates/reference/src/batch_norm.rs
struct Params {
    n: u32, // images in this launch
    c: u32,
    hw: u32,
    x_base: u32, // element offsets of the bound windows (multiples of 4 when V >= 4)
    y_base: u32,
    z_base: u32,
    n_done: u32, // images handled by earlier launches of the same call (chained via acc/work)
    last: u32, // 1 on the last launch of the call
    step_img: u32, // WG = step_img * (hw / V) + step_off: one stride of an invocation
    step_off: u32,
    items: u32, // items (of V elements) of the launch: the invocations of apply / dx
    w: u32, // dx4_padded / apply4_padded: the plane's width; stats_parts: the last block's pixels
    count: f32, // M = N * HW of the whole call
    momentum: f32,
    eps: f32,
    inv_hwv: f32, // 1 / (hw / V)
    inv_c: f32,
    _pad1: f32,
    _pad2: f32,
    _pad3: f32,
    // dx4_padded / apply4_padded: the padded layout written (see dx4_padded).
    pad_hp: u32,
    pad_wp: u32,
    pad_kv: u32, // vec4s per pixel
    pad_off_h: u32,
    pad_off_w: u32,
    pad_ups_h: u32,
    pad_ups_w: u32,
    _pad4: u32,
}

override WG: u32 = 256u;
override V: u32 = 1u;
// The activation after batch norm (and the residual): 0 none, 1 ReLU, 2 ReLU6.
override RELU: u32 = 0u;
override EVAL: u32 = 0u;
// Lanes of the first level of the stats / reduce_grad workgroup reductions (divides WG).
const FOLD: u32 = 8u;

@group(0) @binding(0) var<uniform> p: Params;

// x (and dy, below) are read as vec4s: from a storage buffer, or specialized with TEXELS
// from a texel operand holding the whole tensor (crates/tensor/src/texels.rs says when each
// is faster; Device::stream_reads measures it).
// #if TEXELS
override TEX_SHIFT: u32 = 12u;
@group(0) @binding(1) var x_tex: texture_storage_2d<rgba32float, read>;

fn texel_at(t: texture_storage_2d<rgba32float, read>, i: u32) -> vec4<f32> {
    return textureLoad(t, vec2<u32>(i & ((1u << TEX_SHIFT) - 1u), i >> TEX_SHIFT));
}

fn x_vec4(i: u32) -> vec4<f32> {
    return texel_at(x_tex, i);
}
// #else
@group(0) @binding(1) var<storage, read> x4: array<vec4<f32>>;

fn x_vec4(i: u32) -> vec4<f32> {
    return x4[i];
}
// #endif

// a / b for b > 0 and a < 2^30, with inv = 1/b: float estimate, then exact correction.
fn udiv(a: u32, b: u32, inv: f32) -> u32 {
    var q = u32(f32(a) * inv);
    loop {
        if (q * b <= a) { break; }
        q -= 1u;
    }
    loop {
        if ((q + 1u) * b > a) { break; }
        q += 1u;
    }
    return q;
}

fn x_at(e: u32) -> f32 {
    return x_vec4(e >> 2u)[e & 3u];
}

// The normalized output: the same expression in the forward and in the backward's mask.
fn bn(v: f32, mean: f32, k: f32, beta: f32) -> f32 {
    return (v - mean) * k + beta;
}

// Element offset, within the launch's windows, of item `off` (V elements) of image `img`.
fn item_offset(img: u32, ch: u32, off: u32) -> u32 {
    return (img * p.c + ch) * p.hw + off * V;
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
    if (b.n == 0.0) {
        return a;
    }
    if (a.n == 0.0) {
        return b;
    }
    let n = a.n + b.n;
    let d = b.mean - a.mean;
    let f = b.n / n;
    return Moments(n, a.mean + d * f, a.m2 + b.m2 + d * d * a.n * f);
}

@compute @workgroup_size(WG)
fn stats(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
         @builtin(local_invocation_index) lid: u32) {
    let ch = wid.x + wid.y * nwg.x; // uniform over the workgroup
    let hwv = p.hw / V;
    var m = Moments(0.0, 0.0, 0.0);
    // The moments are taken of x - pivot, the channel's first element in this launch:
    // means near zero keep the folds below exact to the data's own spread (a mean of
    // 100 would otherwise cost ~1e-5 absolute in every merge). The merges' error now
    // scales with ulp(|pivot - mean|): a first element thousands of standard deviations
    // from the mean would cost digits of the variance (not seen in activations).
    var pivot = 0.0;
    if (ch < p.c) {
        pivot = x_at(p.x_base + item_offset(0u, ch, 0u));
        var img = lid / hwv;
        var off = lid % hwv;
        loop {
            if (img >= p.n) {
                break;
            }
            let e = p.x_base + item_offset(img, ch, off);
            if (V >= 4u) {
                // The item's V (4 or 16) elements as one block: its mean and squared
                // deviations in two passes over registers, merged into the running
                // moments once per item (one division per V elements).
                let i0 = e >> 2u;
                let pv = vec4<f32>(pivot);
                let a = x_vec4(i0) - pv;
                var b = vec4<f32>(0.0);
                var c = vec4<f32>(0.0);
                var d = vec4<f32>(0.0);
                var sum = a;
                if (V == 16u) {
                    b = x_vec4(i0 + 1u) - pv;
                    c = x_vec4(i0 + 2u) - pv;
                    d = x_vec4(i0 + 3u) - pv;
                    sum = (a + b) + (c + d);
                }
                let mv = ((sum.x + sum.y) + (sum.z + sum.w)) / f32(V);
                let da = a - vec4<f32>(mv);
                var m2 = dot(da, da);
                if (V == 16u) {
                    let db = b - vec4<f32>(mv);
                    let dc = c - vec4<f32>(mv);
                    let dd = d - vec4<f32>(mv);
                    m2 += (dot(db, db) + dot(dc, dc)) + dot(dd, dd);
                }
                m = merge(m, Moments(f32(V), mv, m2));
            } else {
                let v = x_at(e) - pivot;
                m.n += 1.0;
                let d = v - m.mean;
                m.mean += d / m.n;
                m.m2 += d * (v - m.mean);
            }
            off += p.step_off;
            img += p.step_img;
            if (off >= hwv) {
                off -= hwv;
                img += 1u;
            }
        }
    }
    finish_stats(m, lid, ch, pivot);
}

// The workgroup's moments `m` (of values - pivot) folded together, chained with earlier
// launches through `acc`; the last launch writes mean / invstd and updates the running
// statistics.
fn finish_stats(m: Moments, lid: u32, ch: u32, pivot: f32) {
    s_n[lid] = m.n;
    s_mean[lid] = m.mean;
    s_m2[lid] = m.m2;
    workgroupBarrier();
    // Two levels (FOLD lanes fold WG / FOLD shares each, then lane 0 folds theirs): two
    // barriers instead of log2(WG); on lavapipe each barrier resumes every subgroup of
    // the workgroup.
    if (lid < FOLD) {
        let w = WG / FOLD;
        var r = Moments(s_n[lid * w], s_mean[lid * w], s_m2[lid * w]);
        for (var i = 1u; i < w; i++) {
            let j = lid * w + i;
            r = merge(r, Moments(s_n[j], s_mean[j], s_m2[j]));
        }
        s_n[lid * w] = r.n;
        s_mean[lid * w] = r.mean;
        s_m2[lid * w] = r.m2;
    }
    workgroupBarrier();
    if (ch >= p.c || lid != 0u) {
        return;
    }
    var t = Moments(s_n[0], s_mean[0], s_m2[0]);
    for (var i = 1u; i < FOLD; i++) {
        let j = i * (WG / FOLD);
        t = merge(t, Moments(s_n[j], s_mean[j], s_m2[j]));
    }
    t.mean += pivot;
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

// ---- stats_parts ----
// stats from a convolution's partial moments (conv2d_igemm.wgsl, MOMENTS) instead of x:
// p.items blocks of p.hw pixels each but the last, of p.w, (mean, M2) per block and
// channel at parts[block * p.c + ch], merged as `stats` merges its items (one launch:
// n_done 0, last 1).
@group(0) @binding(1) var<storage, read> parts: array<vec2<f32>>;

@compute @workgroup_size(WG)
fn stats_parts(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
               @builtin(local_invocation_index) lid: u32) {
    let ch = wid.x + wid.y * nwg.x; // uniform over the workgroup
    var m = Moments(0.0, 0.0, 0.0);
    var pivot = 0.0;
    if (ch < p.c) {
        pivot = parts[ch].x;
        for (var b = lid; b < p.items; b += WG) {
            let e = parts[b * p.c + ch];
            let n = f32(select(p.hw, p.w, b + 1u == p.items));
            m = merge(m, Moments(n, e.x - pivot, e.y));
        }
    }
    finish_stats(m, lid, ch, pivot);
}

// ---- records ----
@group(0) @binding(1) var<storage, read_write> rec_out: array<f32>;
@group(0) @binding(2) var<storage, read> stat_mean: array<f32>; // mean, or running_mean (EVAL)
@group(0) @binding(3) var<storage, read> stat_scale: array<f32>; // invstd, or running_var (EVAL)
@group(0) @binding(4) var<storage, read> rec_gamma: array<f32>;
@group(0) @binding(5) var<storage, read> rec_beta: array<f32>;

@compute @workgroup_size(WG)
fn records(@builtin(global_invocation_id) gid: vec3<u32>) {
    let ch = gid.x;
    if (ch >= p.c) {
        return;
    }
    var invstd = stat_scale[ch];
    if (EVAL == 1u) {
        invstd = 1.0 / sqrt(invstd + p.eps);
    }
    rec_out[4u * ch] = stat_mean[ch];
    rec_out[4u * ch + 1u] = invstd * rec_gamma[ch];
    rec_out[4u * ch + 2u] = rec_beta[ch];
    rec_out[4u * ch + 3u] = invstd;
}

// ---- apply ----
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
@group(0) @binding(2) var<storage, read_write> y4: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> rec: array<vec4<f32>>;
// RESIDUAL: the residual operand, same shape as x, at element offset z_base (a multiple
// of 4 when V >= 4). Without it the launcher binds rec here (never read).
override RESIDUAL: bool = false;
@group(0) @binding(4) var<storage, read> res: array<f32>;
@group(0) @binding(4) var<storage, read> res4: array<vec4<f32>>;

// Channel of item t of the launch (items of V elements).
fn channel_of(t: u32) -> u32 {
    let plane = udiv(t, p.hw / V, p.inv_hwv);
    return plane - udiv(plane, p.c, p.inv_c) * p.c;
}

fn act(v: f32) -> f32 {
    if (RELU == 1u) {
        return max(v, 0.0);
    }
    if (RELU == 2u) {
        return min(max(v, 0.0), 6.0);
    }
    return v;
}

@compute @workgroup_size(WG)
fn apply(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * WG;
    if (i >= p.items) {
        return;
    }
    let r = rec[channel_of(i)];
    var v = bn(x_at(p.x_base + i), r.x, r.y, r.z);
    if (RESIDUAL) {
        v += res[p.z_base + i];
    }
    y[p.y_base + i] = act(v);
}

@compute @workgroup_size(WG)
fn apply4(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let t = gid.x + gid.y * nwg.x * WG;
    if (t >= p.items) {
        return;
    }
    let r = rec[channel_of(t)];
    for (var q = 0u; q < V / 4u; q++) {
        let k = t * (V / 4u) + q;
        let v = x_vec4(p.x_base / 4u + k);
        var o = vec4<f32>(bn(v.x, r.x, r.y, r.z), bn(v.y, r.x, r.y, r.z), bn(v.z, r.x, r.y, r.z),
                          bn(v.w, r.x, r.y, r.z));
        if (RESIDUAL) {
            o += res4[p.z_base / 4u + k];
        }
        y4[p.y_base / 4u + k] = vec4<f32>(act(o.x), act(o.y), act(o.z), act(o.w));
    }
}

// ---- reduce_grad ----
// #if TEXELS
@group(0) @binding(2) var dy_tex: texture_storage_2d<rgba32float, read>;

fn dy_vec4(i: u32) -> vec4<f32> {
    return texel_at(dy_tex, i);
}
// #else
@group(0) @binding(2) var<storage, read> dy4: array<vec4<f32>>;

fn dy_vec4(i: u32) -> vec4<f32> {
    return dy4[i];
}
// #endif
@group(0) @binding(3) var<storage, read> saved_mean: array<f32>;
@group(0) @binding(4) var<storage, read> saved_invstd: array<f32>;
@group(0) @binding(5) var<storage, read> gamma: array<f32>;
@group(0) @binding(6) var<storage, read> beta: array<f32>;
@group(0) @binding(7) var<storage, read_write> work: array<f32>;

var<workgroup> s_g: array<f32, WG>;
var<workgroup> s_gx: array<f32, WG>;

// Layout of `work`: 8 floats of records per channel, then sum(g) (C), then sum(g*xhat) (C).
// Record: (mean, k, beta, invstd), (sum(g)/M, sum(g*xhat)/M, 0, 0).

fn masked(g: f32, v: f32, mean: f32, k: f32, be: f32) -> f32 {
    // ReLU passes the gradient where y > 0, ReLU6 where 0 < y < 6 (PyTorch's
    // hardtanh_backward).
    let y = bn(v, mean, k, be);
    if ((RELU == 1u && y <= 0.0) || (RELU == 2u && (y <= 0.0 || y >= 6.0))) {
        return 0.0;
    }
    return g;
}

// The workgroup's totals of (sg, sgx), valid at lid 0: FOLD lanes sum WG / FOLD shares each,
// then lane 0 sums theirs (a fixed order: the result does not depend on scheduling).
fn fold_sums(sg: f32, sgx: f32, lid: u32) -> vec2<f32> {
    s_g[lid] = sg;
    s_gx[lid] = sgx;
    workgroupBarrier();
    if (lid < FOLD) {
        let w = WG / FOLD;
        var a = 0.0;
        var b = 0.0;
        for (var i = 0u; i < w; i++) {
            a += s_g[lid * w + i];
            b += s_gx[lid * w + i];
        }
        s_g[lid * w] = a;
        s_gx[lid * w] = b;
    }
    workgroupBarrier();
    var t = vec2<f32>(0.0);
    for (var i = 0u; i < FOLD; i++) {
        t += vec2<f32>(s_g[i * (WG / FOLD)], s_gx[i * (WG / FOLD)]);
    }
    return t;
}

@compute @workgroup_size(WG)
fn reduce_grad(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
               @builtin(local_invocation_index) lid: u32) {
    let ch = wid.x + wid.y * nwg.x; // uniform over the workgroup
    let hwv = p.hw / V;
    var sg = 0.0;
    var sgx = 0.0;
    var mean = 0.0;
    var invstd = 0.0;
    var k = 0.0;
    var be = 0.0;
    if (ch < p.c) {
        mean = saved_mean[ch];
        invstd = saved_invstd[ch];
        k = invstd * gamma[ch];
        be = beta[ch];
        var img = lid / hwv;
        var off = lid % hwv;
        loop {
            if (img >= p.n) {
                break;
            }
            let o = item_offset(img, ch, off);
            if (V >= 4u) {
                for (var q = 0u; q < V / 4u; q++) {
                    let v = x_vec4(((p.x_base + o) >> 2u) + q);
                    let gv = dy_vec4(((p.y_base + o) >> 2u) + q);
                    let g = vec4<f32>(masked(gv.x, v.x, mean, k, be), masked(gv.y, v.y, mean, k, be),
                                      masked(gv.z, v.z, mean, k, be), masked(gv.w, v.w, mean, k, be));
                    sg += (g.x + g.y) + (g.z + g.w);
                    sgx += dot(g, (v - vec4<f32>(mean)) * invstd);
                }
            } else {
                let v = x_at(p.x_base + o);
                let e = p.y_base + o;
                let g = masked(dy_vec4(e >> 2u)[e & 3u], v, mean, k, be);
                sg += g;
                sgx += g * ((v - mean) * invstd);
            }
            off += p.step_off;
            img += p.step_img;
            if (off >= hwv) {
                off -= hwv;
                img += 1u;
            }
        }
    }
    let t = fold_sums(sg, sgx, lid);
    if (ch >= p.c || lid != 0u) {
        return;
    }
    let sums = 8u * p.c;
    var tg = t.x;
    var tgx = t.y;
    if (p.n_done > 0u) {
        tg += work[sums + ch];
        tgx += work[sums + p.c + ch];
    }
    work[sums + ch] = tg; // dbeta
    work[sums + p.c + ch] = tgx; // dgamma
    if (p.last == 1u) {
        let r = 8u * ch;
        work[r] = mean;
        work[r + 1u] = k;
        work[r + 2u] = be;
        work[r + 3u] = invstd;
        work[r + 4u] = tg / p.count;
        work[r + 5u] = tgx / p.count;
        work[r + 6u] = 0.0;
        work[r + 7u] = 0.0;
    }
}

// ---- grad_parts ----
// reduce_grad's sums from a convolution's dX epilogue (conv2d_igemm.wgsl, GRAD_SUMS)
// instead of x and dy: per block of pixels and channel (sum(g), sum(g * xhat)) at
// parts[block * p.c + ch] (p.items blocks), g already masked by the activation there;
// gp_rec holds `records`' (mean, k, beta, invstd). Writes `work` as reduce_grad's last
// launch does.
@group(0) @binding(2) var<storage, read> gp_rec: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> gp_work: array<f32>;

@compute @workgroup_size(WG)
fn grad_parts(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
              @builtin(local_invocation_index) lid: u32) {
    let ch = wid.x + wid.y * nwg.x; // uniform over the workgroup
    var sg = 0.0;
    var sgx = 0.0;
    if (ch < p.c) {
        for (var b = lid; b < p.items; b += WG) {
            let e = parts[b * p.c + ch];
            sg += e.x;
            sgx += e.y;
        }
    }
    let t = fold_sums(sg, sgx, lid);
    if (ch >= p.c || lid != 0u) {
        return;
    }
    let sums = 8u * p.c;
    gp_work[sums + ch] = t.x; // dbeta
    gp_work[sums + p.c + ch] = t.y; // dgamma
    let r = gp_rec[ch];
    let o = 8u * ch;
    gp_work[o] = r.x;
    gp_work[o + 1u] = r.y;
    gp_work[o + 2u] = r.z;
    gp_work[o + 3u] = r.w;
    gp_work[o + 4u] = t.x / p.count;
    gp_work[o + 5u] = t.y / p.count;
    gp_work[o + 6u] = 0.0;
    gp_work[o + 7u] = 0.0;
}

// ---- dx_main / dx4 ----
@group(0) @binding(4) var<storage, read_write> dx: array<f32>;
@group(0) @binding(4) var<storage, read_write> dx4_out: array<vec4<f32>>;

fn dx_of(v: f32, gy: f32, a: vec4<f32>, b: vec4<f32>) -> f32 {
    let g = masked(gy, v, a.x, a.y, a.z);
    return a.y * (g - b.x - (v - a.x) * a.w * b.y);
}

@compute @workgroup_size(WG)
fn dx_main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * WG;
    if (i >= p.items) {
        return;
    }
    let ch = channel_of(i);
    let a = rec[2u * ch];
    let b = rec[2u * ch + 1u];
    let e = p.y_base + i;
    dx[p.z_base + i] = dx_of(x_at(p.x_base + i), dy_vec4(e >> 2u)[e & 3u], a, b);
}

// The dx of item t's vec4 k (V / 4 of them per item).
fn dx4_value(k: u32, a: vec4<f32>, b: vec4<f32>) -> vec4<f32> {
    let v = x_vec4(p.x_base / 4u + k);
    let g = dy_vec4(p.y_base / 4u + k);
    return vec4<f32>(dx_of(v.x, g.x, a, b), dx_of(v.y, g.y, a, b), dx_of(v.z, g.z, a, b),
                     dx_of(v.w, g.w, a, b));
}

@compute @workgroup_size(WG)
fn dx4(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let t = gid.x + gid.y * nwg.x * WG;
    if (t >= p.items) {
        return;
    }
    let ch = channel_of(t);
    let a = rec[2u * ch];
    let b = rec[2u * ch + 1u];
    for (var q = 0u; q < V / 4u; q++) {
        let k = t * (V / 4u) + q;
        dx4_out[p.z_base / 4u + k] = dx4_value(k, a, b);
    }
}

// dx4_padded: dx written not as NCHW but where a convolution's dX and dW read their dY
// (conv2d.rs, Conv2dPaddedLayout; the launcher zero-fills the rest): pixel (n, h, w) at vec4
// ((n * pad_hp + h * pad_ups_h + pad_off_h) * pad_wp + w * pad_ups_w + pad_off_w)
// * pad_kv + c / 4, channels c .. c + 3 in its components. One invocation per four
// channels x QUADS x 4 pixels of a row (c % 4 == 0, 4 * QUADS divides w; items = n * c / 4
// * hw / (4 * QUADS), inv_hwv = 4 * QUADS / hw): per four pixels, four channel vec4s read
// and transposed into four pixel vec4s, as the layout pass (conv2d_layout.wgsl,
// to_padded_nhwc4) does, so every store is a vec4; the channels' records are read once.
override QUADS: u32 = 1u;

// The item of a padded launch (dx4_padded, apply4_padded): four channels (the first,
// ch) x QUADS x 4 pixels of a row; k0 is the NCHW vec4 index of channel ch's first pixel
// of the block (the next channels a plane, kp vec4s, on), px0 the padded layout's vec4
// of that pixel (the next pixels of the row `step` vec4s on).
struct PaddedItem {
    ch: u32,
    k0: u32,
    kp: u32,
    px0: u32,
    step: u32,
}

fn padded_item(t: u32) -> PaddedItem {
    let blocks = p.hw / (4u * QUADS);
    let rest = udiv(t, blocks, p.inv_hwv);
    let pb = t - rest * blocks;
    let groups = p.c / 4u;
    let n = rest / groups;
    let cg = rest - n * groups;
    let ch = 4u * cg;
    let e = 4u * QUADS * pb;
    let h = e / p.w;
    let w0 = e - h * p.w;
    let px0 = ((n * p.pad_hp + h * p.pad_ups_h + p.pad_off_h) * p.pad_wp + w0 * p.pad_ups_w
        + p.pad_off_w) * p.pad_kv + cg;
    return PaddedItem(ch, ((n * p.c + ch) * p.hw) / 4u + QUADS * pb, p.hw / 4u, px0,
                      p.pad_ups_w * p.pad_kv);
}

@compute @workgroup_size(WG)
fn dx4_padded(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let t = gid.x + gid.y * nwg.x * WG;
    if (t >= p.items) {
        return;
    }
    let it = padded_item(t);
    let a0 = rec[2u * it.ch];
    let b0 = rec[2u * it.ch + 1u];
    let a1 = rec[2u * it.ch + 2u];
    let b1 = rec[2u * it.ch + 3u];
    let a2 = rec[2u * it.ch + 4u];
    let b2 = rec[2u * it.ch + 5u];
    let a3 = rec[2u * it.ch + 6u];
    let b3 = rec[2u * it.ch + 7u];
    for (var j = 0u; j < QUADS; j++) {
        let d0 = dx4_value(it.k0 + j, a0, b0);
        let d1 = dx4_value(it.k0 + it.kp + j, a1, b1);
        let d2 = dx4_value(it.k0 + 2u * it.kp + j, a2, b2);
        let d3 = dx4_value(it.k0 + 3u * it.kp + j, a3, b3);
        let px = it.px0 + 4u * j * it.step;
        dx4_out[px] = vec4<f32>(d0.x, d1.x, d2.x, d3.x);
        dx4_out[px + it.step] = vec4<f32>(d0.y, d1.y, d2.y, d3.y);
        dx4_out[px + 2u * it.step] = vec4<f32>(d0.z, d1.z, d2.z, d3.z);
        dx4_out[px + 3u * it.step] = vec4<f32>(d0.w, d1.w, d2.w, d3.w);
    }
}

// apply4_padded: apply4's act(bn(x)) (no residual) written where a convolution's forward
// reads its input (conv2d.rs, conv2d_input_layout; the launcher zero-fills the padding)
// instead of NCHW: dx4_padded's items and transposed stores, x at element offset 0.
fn act_bn4(v: vec4<f32>, r: vec4<f32>) -> vec4<f32> {
    return vec4<f32>(act(bn(v.x, r.x, r.y, r.z)), act(bn(v.y, r.x, r.y, r.z)),
                     act(bn(v.z, r.x, r.y, r.z)), act(bn(v.w, r.x, r.y, r.z)));
}

@compute @workgroup_size(WG)
fn apply4_padded(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let t = gid.x + gid.y * nwg.x * WG;
    if (t >= p.items) {
        return;
    }
    let it = padded_item(t);
    let r0 = rec[it.ch];
    let r1 = rec[it.ch + 1u];
    let r2 = rec[it.ch + 2u];
    let r3 = rec[it.ch + 3u];
    for (var j = 0u; j < QUADS; j++) {
        let v0 = act_bn4(x_vec4(it.k0 + j), r0);
        let v1 = act_bn4(x_vec4(it.k0 + it.kp + j), r1);
        let v2 = act_bn4(x_vec4(it.k0 + 2u * it.kp + j), r2);
        let v3 = act_bn4(x_vec4(it.k0 + 3u * it.kp + j), r3);
        let px = it.px0 + 4u * j * it.step;
        y4[px] = vec4<f32>(v0.x, v1.x, v2.x, v3.x);
        y4[px + it.step] = vec4<f32>(v0.y, v1.y, v2.y, v3.y);
        y4[px + 2u * it.step] = vec4<f32>(v0.z, v1.z, v2.z, v3.z);
        y4[px + 3u * it.step] = vec4<f32>(v0.w, v1.w, v2.w, v3.w);
    }
}
