// conv2d_grouped: grouped convolution (1 < groups, e.g. ResNeXt's 32 groups) on NCHW tensors
// with OIHW weights [k, cig, kh, kw], every group in one launch; any stride, padding,
// dilation. Register blocks: 4 output (or input) channels of one group x 4 consecutive
// pixels of one row, so each loaded input value serves 4 channels and each weight 4 pixels.
//   forward:         y[n, g*cog + kb..kb+3, oh, ow0..ow0+3] = epilogue(sum_{ci,r,s} x * w)
//   backward_input:  dx[n, g*cig + cb..cb+3, h, w0..w0+3] = sum_{kk,r,s} dy[n, g*cog+kk, oh, ow]
//                    * w[g*cog+kk, c, r, s] over the exact (oh, ow) of each tap
//   backward_weight: part[z][k, ci, r, s] = sum over images z*chunk.. and all (oh, ow) of
//                    dy[n,k,oh,ow] * x[n, g*cig+ci, ih, iw], 4 columns at a time (covers
//                    depthwise too: cig = 1)
// Thread mapping: forward / backward_input: one invocation per (n, channel block, row,
// 4-wide strip), 1-D grid folded into 2-D; backward_weight: one invocation per weight
// element, splits over images on gid.z.
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
    cig: u32,
    cog: u32,
    total: u32,
    chunk: u32,
    flags: u32,
    strips: u32,
    cblocks: u32,
    _pad0: u32, // (last_texel in conv2d_depthwise.wgsl)
    _pad1: u32,
}

override WG: u32 = 64u;

@group(0) @binding(0) var<uniform> p: Params;

@group(0) @binding(1) var<storage, read> fx: array<f32>;
@group(0) @binding(2) var<storage, read> fw: array<f32>;
@group(0) @binding(3) var<storage, read> fbias: array<f32>;
@group(0) @binding(4) var<storage, read> fres: array<f32>;
@group(0) @binding(5) var<storage, read_write> fy: array<f32>;

@group(0) @binding(1) var<storage, read> bdy: array<f32>;
@group(0) @binding(2) var<storage, read> bw: array<f32>;
@group(0) @binding(3) var<storage, read_write> bdx: array<f32>;

@group(0) @binding(1) var<storage, read> wdy: array<f32>;
@group(0) @binding(2) var<storage, read> wx: array<f32>;
@group(0) @binding(3) var<storage, read_write> wpart: array<f32>;

// Epilogue flags (p.flags): bit 0 add bias[k]; bits 2..3 activation (0 none, 1 relu,
// 2 relu6); bit 1 add res[i] after the activation.
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

fn xat(row: u32, iw: i32) -> f32 {
    let ok = iw >= 0 && iw < i32(p.w);
    let v = fx[row + u32(clamp(iw, 0, i32(p.w) - 1))];
    return select(0.0, v, ok);
}

@compute @workgroup_size(WG)
fn forward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * WG;
    if (i >= p.total) {
        return;
    }
    let strip = i % p.strips;
    let oh = (i / p.strips) % p.oh;
    let blk = (i / (p.strips * p.oh)) % p.cblocks; // block of 4 output channels, all groups
    let n = i / (p.strips * p.oh * p.cblocks);
    let bpg = p.cblocks / (p.k / p.cog); // blocks per group
    let g = blk / bpg;
    let kb = g * p.cog + (blk - g * bpg) * 4u;
    let kend = g * p.cog + p.cog;
    // Weight rows of the 4 channels (clamped inside the group; extra ones are not stored).
    var wrow = vec4<u32>(0u);
    for (var j = 0u; j < 4u; j++) {
        wrow[j] = min(kb + j, kend - 1u) * p.cig;
    }
    let ow0 = strip * 4u;
    let step = i32(p.stride_w);
    // acc[j] holds channel kb + j for the 4 pixels.
    var acc: array<vec4<f32>, 4>;
    for (var ci = 0u; ci < p.cig; ci++) {
        let plane = (n * p.c + g * p.cig + ci) * p.h;
        for (var r = 0u; r < p.kh; r++) {
            let ih = i32(oh * p.stride_h + r * p.dil_h) - i32(p.pad_t);
            if (ih < 0 || ih >= i32(p.h)) {
                continue;
            }
            let row = (plane + u32(ih)) * p.w;
            for (var s = 0u; s < p.kw; s++) {
                let iw = i32(ow0 * p.stride_w + s * p.dil_w) - i32(p.pad_l);
                let xv = vec4<f32>(xat(row, iw), xat(row, iw + step), xat(row, iw + 2 * step), xat(row, iw + 3 * step));
                let tap = (ci * p.kh + r) * p.kw + s;
                let khw = p.kh * p.kw;
                acc[0] = fma(xv, vec4<f32>(fw[wrow[0] * khw + tap]), acc[0]);
                acc[1] = fma(xv, vec4<f32>(fw[wrow[1] * khw + tap]), acc[1]);
                acc[2] = fma(xv, vec4<f32>(fw[wrow[2] * khw + tap]), acc[2]);
                acc[3] = fma(xv, vec4<f32>(fw[wrow[3] * khw + tap]), acc[3]);
            }
        }
    }
    for (var j = 0u; j < 4u; j++) {
        let k = kb + j;
        if (k >= kend) {
            break;
        }
        let ybase = ((n * p.k + k) * p.oh + oh) * p.ow;
        for (var q = 0u; q < 4u; q++) {
            if (ow0 + q < p.ow) {
                let yi = ybase + ow0 + q;
                fy[yi] = epilogue(acc[j][q], k, yi);
            }
        }
    }
}

fn dyat(row: u32, u: i32) -> f32 {
    let sw = i32(p.stride_w);
    let q = u / sw;
    let ok = u >= 0 && q * sw == u && q < i32(p.ow);
    let v = bdy[row + u32(clamp(q, 0, i32(p.ow) - 1))];
    return select(0.0, v, ok);
}

@compute @workgroup_size(WG)
fn backward_input(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * WG;
    if (i >= p.total) {
        return;
    }
    let strip = i % p.strips;
    let y = (i / p.strips) % p.h;
    let blk = (i / (p.strips * p.h)) % p.cblocks; // block of 4 input channels, all groups
    let n = i / (p.strips * p.h * p.cblocks);
    let groups = p.c / p.cig;
    let bpg = p.cblocks / groups;
    let g = blk / bpg;
    let cb = (blk - g * bpg) * 4u; // first channel of the block inside the group
    var cl = vec4<u32>(0u);
    for (var j = 0u; j < 4u; j++) {
        cl[j] = min(cb + j, p.cig - 1u);
    }
    let x0 = strip * 4u;
    let khw = p.kh * p.kw;
    var acc: array<vec4<f32>, 4>;
    for (var kk = 0u; kk < p.cog; kk++) {
        let k = g * p.cog + kk;
        for (var r = 0u; r < p.kh; r++) {
            let t = i32(y + p.pad_t) - i32(r * p.dil_h);
            if (t < 0 || u32(t) % p.stride_h != 0u) {
                continue;
            }
            let oh = u32(t) / p.stride_h;
            if (oh >= p.oh) {
                continue;
            }
            let row = ((n * p.k + k) * p.oh + oh) * p.ow;
            for (var s = 0u; s < p.kw; s++) {
                let u = i32(x0 + p.pad_l) - i32(s * p.dil_w);
                let dv = vec4<f32>(dyat(row, u), dyat(row, u + 1), dyat(row, u + 2), dyat(row, u + 3));
                let tap = r * p.kw + s;
                acc[0] = fma(dv, vec4<f32>(bw[(k * p.cig + cl[0]) * khw + tap]), acc[0]);
                acc[1] = fma(dv, vec4<f32>(bw[(k * p.cig + cl[1]) * khw + tap]), acc[1]);
                acc[2] = fma(dv, vec4<f32>(bw[(k * p.cig + cl[2]) * khw + tap]), acc[2]);
                acc[3] = fma(dv, vec4<f32>(bw[(k * p.cig + cl[3]) * khw + tap]), acc[3]);
            }
        }
    }
    for (var j = 0u; j < 4u; j++) {
        if (cb + j >= p.cig) {
            break;
        }
        let base = ((n * p.c + g * p.cig + cb + j) * p.h + y) * p.w;
        for (var q = 0u; q < 4u; q++) {
            if (x0 + q < p.w) {
                bdx[base + x0 + q] = acc[j][q];
            }
        }
    }
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
    let co = i / (p.kw * p.kh * p.cig);
    let c = (co / p.cog) * p.cig + ci;
    let n0 = z * p.chunk;
    let n1 = min(n0 + p.chunk, p.n);
    // Output columns whose tap s lands inside the image: ow in [lo, hi).
    let off = i32(s * p.dil_w) - i32(p.pad_l);
    let sw = i32(p.stride_w);
    let lo = u32(max(0, (-off + sw - 1) / sw));
    let span = i32(p.w) - 1 - off;
    let hi = select(0u, u32(min(span / sw + 1, i32(p.ow))), span >= 0);
    var acc = vec4<f32>(0.0);
    var tail = 0.0;
    for (var n = n0; n < n1; n++) {
        for (var oh = 0u; oh < p.oh; oh++) {
            let ih = i32(oh * p.stride_h + r * p.dil_h) - i32(p.pad_t);
            if (ih < 0 || ih >= i32(p.h)) {
                continue;
            }
            let dyrow = ((n * p.k + co) * p.oh + oh) * p.ow;
            let xrow = ((n * p.c + c) * p.h + u32(ih)) * p.w;
            var ow = lo;
            for (; ow + 4u <= hi; ow += 4u) {
                let d = vec4<f32>(wdy[dyrow + ow], wdy[dyrow + ow + 1u], wdy[dyrow + ow + 2u], wdy[dyrow + ow + 3u]);
                let b = xrow + u32(i32(ow * p.stride_w) + off);
                let xv = vec4<f32>(wx[b], wx[b + p.stride_w], wx[b + 2u * p.stride_w], wx[b + 3u * p.stride_w]);
                acc = fma(d, xv, acc);
            }
            for (; ow < hi; ow++) {
                tail = fma(wdy[dyrow + ow], wx[xrow + u32(i32(ow * p.stride_w) + off)], tail);
            }
        }
    }
    wpart[z * p.total + i] = acc.x + acc.y + acc.z + acc.w + tail;
}
