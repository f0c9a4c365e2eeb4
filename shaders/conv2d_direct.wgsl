// conv2d_direct: the general 2-D convolution (PyTorch conv2d, cross-correlation) on NCHW
// tensors with OIHW weights, for every stride, asymmetric padding, dilation and group
// count. It is the cross-check of every faster variant, and the path for shapes they
// do not take. Three entry points share one Params:
//   forward:         y[n,k,oh,ow] = epilogue(sum_{ci,r,s} x[n, g*cig+ci, oh*sh+r*dh-pt, ow*sw+s*dw-pl]
//                                             * w[k,ci,r,s]),  g = k / cog
//   backward_input:  dx[n,c,h,w] = sum_{kk,r,s} dy[n, g*cog+kk, oh, ow] * w[g*cog+kk, c-g*cig, r, s]
//                    over the (oh, ow) with oh*sh + r*dh - pt == h (exact division), likewise w
//   backward_weight: part[z][k,ci,r,s] = sum over images z*chunk .. of dy * x  (split over
//                    images; the launcher sums the splits)
// Thread mapping: one invocation per output element (y, dx, or one weight element of one
// split), 1-D grid folded into 2-D (index gid.x + gid.y * nwg.x * WG); splits on gid.z.
// Launcher: crates/tensor/src/ops/conv2d.rs   Reference: crates/reference/src/conv2d.rs
struct Params {
    n: u32,
    c: u32,
    h: u32,
    w: u32,
    k: u32,
    kh: u32,
    kw: u32,
    oh: u32,
    ow: u32,
    stride_h: u32,
    stride_w: u32,
    pad_t: u32,
    pad_l: u32,
    dil_h: u32,
    dil_w: u32,
    groups: u32,
    cig: u32,
    cog: u32,
    total: u32,
    chunk: u32,
    flags: u32,
    _pad0: u32,
    _pad1: u32,
    _pad2: u32,
}

override WG: u32 = 64u;

@group(0) @binding(0) var<uniform> p: Params;

// forward
@group(0) @binding(1) var<storage, read> fx: array<f32>;
@group(0) @binding(2) var<storage, read> fw: array<f32>;
@group(0) @binding(3) var<storage, read> fbias: array<f32>;
@group(0) @binding(4) var<storage, read> fres: array<f32>;
@group(0) @binding(5) var<storage, read_write> fy: array<f32>;

// backward_input: dy, w -> dx
@group(0) @binding(1) var<storage, read> bdy: array<f32>;
@group(0) @binding(2) var<storage, read> bw: array<f32>;
@group(0) @binding(3) var<storage, read_write> bdx: array<f32>;

// backward_weight: dy, x -> partial dw
@group(0) @binding(1) var<storage, read> wdy: array<f32>;
@group(0) @binding(2) var<storage, read> wx: array<f32>;
@group(0) @binding(3) var<storage, read_write> wpart: array<f32>;

// Epilogue flags (p.flags): bit 0 add fbias[k]; bits 2..3 activation (0 none, 1 relu,
// 2 relu6); bit 1 add fres[i] after the activation. A runtime uniform, not an override:
// it runs once per output, and every specialization costs a shader compilation.
fn epilogue(v0: f32, k: u32, i: u32) -> f32 {
    var v = v0;
    if ((p.flags & 1u) != 0u) {
        v += fbias[k];
    }
    let act = (p.flags >> 2u) & 3u;
    if (act == 1u) {
        v = max(v, 0.0);
    } else if (act == 2u) {
        v = clamp(v, 0.0, 6.0);
    }
    if ((p.flags & 2u) != 0u) {
        v += fres[i];
    }
    return v;
}

@compute @workgroup_size(WG)
fn forward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * WG;
    if (i >= p.total) {
        return;
    }
    let ow = i % p.ow;
    let oh = (i / p.ow) % p.oh;
    let k = (i / (p.ow * p.oh)) % p.k;
    let n = i / (p.ow * p.oh * p.k);
    let g = k / p.cog;
    var acc = 0.0;
    for (var ci = 0u; ci < p.cig; ci++) {
        let xc = (n * p.c + g * p.cig + ci) * p.h;
        let wc = (k * p.cig + ci) * p.kh;
        for (var r = 0u; r < p.kh; r++) {
            let ih = i32(oh * p.stride_h + r * p.dil_h) - i32(p.pad_t);
            if (ih < 0 || ih >= i32(p.h)) {
                continue;
            }
            let xrow = (xc + u32(ih)) * p.w;
            let wrow = (wc + r) * p.kw;
            for (var s = 0u; s < p.kw; s++) {
                let iw = i32(ow * p.stride_w + s * p.dil_w) - i32(p.pad_l);
                if (iw < 0 || iw >= i32(p.w)) {
                    continue;
                }
                acc = fma(fx[xrow + u32(iw)], fw[wrow + s], acc);
            }
        }
    }
    fy[i] = epilogue(acc, k, i);
}

@compute @workgroup_size(WG)
fn backward_input(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * WG;
    if (i >= p.total) {
        return;
    }
    let x = i % p.w;
    let y = (i / p.w) % p.h;
    let c = (i / (p.w * p.h)) % p.c;
    let n = i / (p.w * p.h * p.c);
    let g = c / p.cig;
    let ci = c - g * p.cig;
    var acc = 0.0;
    for (var kk = 0u; kk < p.cog; kk++) {
        let k = g * p.cog + kk;
        let dyk = (n * p.k + k) * p.oh;
        let wk = (k * p.cig + ci) * p.kh;
        for (var r = 0u; r < p.kh; r++) {
            let t = i32(y + p.pad_t) - i32(r * p.dil_h);
            if (t < 0 || u32(t) % p.stride_h != 0u) {
                continue;
            }
            let oh = u32(t) / p.stride_h;
            if (oh >= p.oh) {
                continue;
            }
            for (var s = 0u; s < p.kw; s++) {
                let u = i32(x + p.pad_l) - i32(s * p.dil_w);
                if (u < 0 || u32(u) % p.stride_w != 0u) {
                    continue;
                }
                let ow = u32(u) / p.stride_w;
                if (ow >= p.ow) {
                    continue;
                }
                acc = fma(bdy[(dyk + oh) * p.ow + ow], bw[(wk + r) * p.kw + s], acc);
            }
        }
    }
    bdx[i] = acc;
}

@compute @workgroup_size(WG)
fn backward_weight(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * WG;
    if (i >= p.total) {
        return;
    }
    let z = gid.z;
    let s = i % p.kw;
    let r = (i / p.kw) % p.kh;
    let ci = (i / (p.kw * p.kh)) % p.cig;
    let k = i / (p.kw * p.kh * p.cig);
    let c = (k / p.cog) * p.cig + ci;
    let n0 = z * p.chunk;
    let n1 = min(n0 + p.chunk, p.n);
    // The output rows/columns whose window reaches inside the image for tap (r, s).
    var acc = 0.0;
    for (var n = n0; n < n1; n++) {
        let dyk = (n * p.k + k) * p.oh;
        let xc = (n * p.c + c) * p.h;
        for (var oh = 0u; oh < p.oh; oh++) {
            let ih = i32(oh * p.stride_h + r * p.dil_h) - i32(p.pad_t);
            if (ih < 0 || ih >= i32(p.h)) {
                continue;
            }
            let xrow = (xc + u32(ih)) * p.w;
            let dyrow = (dyk + oh) * p.ow;
            for (var ow = 0u; ow < p.ow; ow++) {
                let iw = i32(ow * p.stride_w + s * p.dil_w) - i32(p.pad_l);
                if (iw < 0 || iw >= i32(p.w)) {
                    continue;
                }
                acc = fma(wdy[dyrow + ow], wx[xrow + u32(iw)], acc);
            }
        }
    }
    wpart[z * p.total + i] = acc;
}
