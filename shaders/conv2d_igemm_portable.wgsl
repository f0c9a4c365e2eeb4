// conv2d_igemm_portable: the implicit-GEMM convolution of conv2d_igemm.wgsl for adapters
// without subgroup operations (groups = 1). Same layouts, Params and outputs; the only
// difference is that every invocation loads the weights (forward) or dy values
// (weight_grad) it needs itself instead of receiving them by subgroupShuffle.
//   forward: each invocation owns KB output channels x PB consecutive output pixels.
//     Grid: x/y = blocks of WG*PB pixels, z = blocks of KB channels.
//   weight_grad: each invocation owns KB channels x JB vec4s of (r, s, c/4).
//     Grid: x = blocks of WG*JB vec4s, y = KB blocks of k, z = splits of the pixels.
// Launcher: crates/tensor/src/ops/conv2d.rs   Reference: crates/reference/src/conv2d.rs
struct Params {
    m: u32,
    pq: u32,
    ow: u32,
    k: u32,
    hp: u32,
    wp: u32,
    cv: u32,
    kh: u32,
    kw: u32,
    stride_h: u32,
    stride_w: u32,
    dil_h: u32,
    dil_w: u32,
    wk_stride: u32,
    kv: u32,
    jv: u32,
    chunk: u32,
    flags: u32,
    _pad1: u32,
    _pad2: u32,
}

override KB: u32 = 16u;
override PB: u32 = 8u;
override WG: u32 = 64u;

// Register-array capacities; the launcher keeps KB*PB <= MAX_ACC, PB <= MAX_PB.
const MAX_ACC: u32 = 512u;
const MAX_PB: u32 = 16u;
const JB: u32 = 2u;
const MAX_ACC4: u32 = 128u;

@group(0) @binding(0) var<uniform> p: Params;

@group(0) @binding(1) var<storage, read> x: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> wt: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read> res: array<f32>;
@group(0) @binding(5) var<storage, read_write> y: array<f32>;

@group(0) @binding(1) var<storage, read> gdy: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> gx: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> gpart: array<vec4<f32>>;

// Epilogue flags (p.flags): bit 0 add bias[k]; bits 2..3 activation (0 none, 1 relu,
// 2 relu6); bit 1 add res[i] after the activation. A runtime uniform, not an override:
// it runs once per output, and every specialization costs a shader compilation.
fn epilogue(v0: f32, k: u32, i: u32) -> f32 {
    var v = v0;
    if ((p.flags & 1u) != 0u) {
        v += bias[k];
    }
    let act = (p.flags >> 2u) & 3u;
    if (act == 1u) {
        v = max(v, 0.0);
    } else if (act == 2u) {
        v = clamp(v, 0.0, 6.0);
    }
    if ((p.flags & 2u) != 0u) {
        v += res[i];
    }
    return v;
}

@compute @workgroup_size(WG)
fn forward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
           @builtin(local_invocation_index) lid: u32) {
    let m0 = ((wid.x + wid.y * nwg.x) * WG + lid) * PB;
    if (m0 >= p.m) {
        return;
    }
    let k0 = wid.z * KB;
    var xb: array<u32, MAX_PB>;
    for (var q = 0u; q < PB; q++) {
        let m = min(m0 + q, p.m - 1u);
        let n = m / p.pq;
        let rem = m - n * p.pq;
        let oh = rem / p.ow;
        let ow = rem - oh * p.ow;
        xb[q] = ((n * p.hp + oh * p.stride_h) * p.wp + ow * p.stride_w) * p.cv;
    }
    var acc: array<f32, MAX_ACC>;
    for (var r = 0u; r < p.kh; r++) {
        for (var s = 0u; s < p.kw; s++) {
            let xo = (r * p.dil_h * p.wp + s * p.dil_w) * p.cv;
            let wo = (r * p.kw + s) * p.cv;
            for (var c = 0u; c < p.cv; c++) {
                var xv: array<vec4<f32>, MAX_PB>;
                for (var q = 0u; q < PB; q++) {
                    xv[q] = x[xb[q] + xo + c];
                }
                for (var kk = 0u; kk < KB; kk++) {
                    let wk = wt[(k0 + kk) * p.wk_stride + wo + c];
                    for (var q = 0u; q < PB; q++) {
                        let xq = xv[q];
                        let a = kk * PB + q;
                        acc[a] = fma(wk.x, xq.x, fma(wk.y, xq.y, fma(wk.z, xq.z, fma(wk.w, xq.w, acc[a]))));
                    }
                }
            }
        }
    }
    for (var q = 0u; q < PB; q++) {
        let m = m0 + q;
        if (m >= p.m) {
            break;
        }
        let n = m / p.pq;
        let ybase = n * p.k * p.pq + (m - n * p.pq);
        for (var kk = 0u; kk < KB; kk++) {
            let k = k0 + kk;
            if (k >= p.k) {
                break;
            }
            let yi = ybase + k * p.pq;
            y[yi] = epilogue(acc[kk * PB + q], k, yi);
        }
    }
}

@compute @workgroup_size(WG)
fn weight_grad(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let k0 = wid.y * KB;
    let jbase = (wid.x * WG + lid) * JB;
    if (jbase >= p.jv) {
        return;
    }
    var joff: array<u32, JB>;
    for (var jj = 0u; jj < JB; jj++) {
        let j = min(jbase + jj, p.jv - 1u);
        let c = j % p.cv;
        let rs = j / p.cv;
        let r = rs / p.kw;
        let s = rs - r * p.kw;
        joff[jj] = (r * p.dil_h * p.wp + s * p.dil_w) * p.cv + c;
    }
    let pix0 = wid.z * p.chunk;
    let pix1 = min(pix0 + p.chunk, p.m);
    var acc: array<vec4<f32>, MAX_ACC4>;
    for (var m = pix0; m < pix1; m++) {
        let n = m / p.pq;
        let rem = m - n * p.pq;
        let oh = rem / p.ow;
        let ow = rem - oh * p.ow;
        let xb = ((n * p.hp + oh * p.stride_h) * p.wp + ow * p.stride_w) * p.cv;
        var xv: array<vec4<f32>, JB>;
        for (var jj = 0u; jj < JB; jj++) {
            xv[jj] = gx[xb + joff[jj]];
        }
        for (var t = 0u; t < KB / 4u; t++) {
            let d4 = gdy[m * p.kv + k0 / 4u + t];
            for (var e = 0u; e < 4u; e++) {
                let kk = t * 4u + e;
                let de = d4[e];
                for (var jj = 0u; jj < JB; jj++) {
                    acc[kk * JB + jj] = fma(vec4<f32>(de), xv[jj], acc[kk * JB + jj]);
                }
            }
        }
    }
    for (var jj = 0u; jj < JB; jj++) {
        let j = jbase + jj;
        if (j >= p.jv) {
            break;
        }
        for (var kk = 0u; kk < KB; kk++) {
            let k = k0 + kk;
            if (k >= p.k) {
                break;
            }
            gpart[(wid.z * p.k + k) * p.jv + j] = acc[kk * JB + jj];
        }
    }
}
