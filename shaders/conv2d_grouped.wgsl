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
// 4-wide strip), 1-D grid folded into 2-D, specialized by the kernel size (KH, KW: fixed
// tap loops, rows outside the image masked instead of skipped) and f32 index divisions
// (SMALL_INDEX); backward_weight: one invocation per weight element, splits over images
// on gid.z.
// The common 3x3 case (padding 1, dilation 1, stride 1 or 2, channels per group multiples
// of 4) runs conv2d_depthwise.wgsl's grouped3x3 and grouped3x3s2_dx instead, and every
// 3x3 padding-1 layer's dW its grouped_backward_weight3x3.
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

// The forward's specialization, set by the launcher: KH, KW the kernel size (0: read
// from the params), so that the tap loops have fixed trip counts (lavapipe runs a loop
// until its slowest lane is done, masked); SMALL_INDEX: every invocation index below
// 2^24, so the index decomposition divides in f32 (exact after one correction step)
// instead of by the scalar u32 division of CPU drivers.
override KH: u32 = 0u;
override KW: u32 = 0u;
override SMALL_INDEX: bool = false;

fn kernel_h() -> u32 {
    if (KH != 0u) { return KH; }
    return p.kh;
}

fn kernel_w() -> u32 {
    if (KW != 0u) { return KW; }
    return p.kw;
}

// a / b for b > 0 (see SMALL_INDEX).
fn div_index(a: u32, b: u32) -> u32 {
    if (SMALL_INDEX) {
        var q = u32(f32(a) / f32(b));
        q = select(q, q - 1u, q * b > a);
        return select(q, q + 1u, (q + 1u) * b <= a);
    }
    return a / b;
}

@compute @workgroup_size(WG)
fn forward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * WG;
    if (i >= p.total) {
        return;
    }
    let q1 = div_index(i, p.strips);
    let strip = i - q1 * p.strips;
    let q2 = div_index(q1, p.oh);
    let oh = q1 - q2 * p.oh;
    let n = div_index(q2, p.cblocks);
    let blk = q2 - n * p.cblocks; // block of 4 output channels, all groups
    let bpg = p.cblocks / (p.k / p.cog); // blocks per group (uniform)
    let g = div_index(blk, bpg);
    let kb = g * p.cog + (blk - g * bpg) * 4u;
    let kend = g * p.cog + p.cog;
    let khw = kernel_h() * kernel_w();
    // Weight rows of the 4 channels (clamped inside the group; extra ones are not stored).
    let w0 = min(kb, kend - 1u) * p.cig * khw;
    let w1 = min(kb + 1u, kend - 1u) * p.cig * khw;
    let w2 = min(kb + 2u, kend - 1u) * p.cig * khw;
    let w3 = min(kb + 3u, kend - 1u) * p.cig * khw;
    let ow0 = strip * 4u;
    let step = i32(p.stride_w);
    // acc_j holds channel kb + j for the 4 pixels.
    var acc0 = vec4<f32>(0.0);
    var acc1 = vec4<f32>(0.0);
    var acc2 = vec4<f32>(0.0);
    var acc3 = vec4<f32>(0.0);
    for (var ci = 0u; ci < p.cig; ci++) {
        let plane = (n * p.c + g * p.cig + ci) * p.h;
        for (var r = 0u; r < kernel_h(); r++) {
            // A row outside the image reads row 0 and contributes zeros.
            let ih = i32(oh * p.stride_h + r * p.dil_h) - i32(p.pad_t);
            let row_in = ih >= 0 && ih < i32(p.h);
            let row = (plane + u32(clamp(ih, 0, i32(p.h) - 1))) * p.w;
            for (var s = 0u; s < kernel_w(); s++) {
                let iw = i32(ow0 * p.stride_w + s * p.dil_w) - i32(p.pad_l);
                let xv = select(vec4<f32>(0.0),
                                vec4<f32>(xat(row, iw), xat(row, iw + step), xat(row, iw + 2 * step), xat(row, iw + 3 * step)),
                                row_in);
                let tap = (ci * kernel_h() + r) * kernel_w() + s;
                acc0 = fma(xv, vec4<f32>(fw[w0 + tap]), acc0);
                acc1 = fma(xv, vec4<f32>(fw[w1 + tap]), acc1);
                acc2 = fma(xv, vec4<f32>(fw[w2 + tap]), acc2);
                acc3 = fma(xv, vec4<f32>(fw[w3 + tap]), acc3);
            }
        }
    }
    let ybase = ((n * p.k + kb) * p.oh + oh) * p.ow + ow0;
    let plane_out = p.oh * p.ow;
    store4(acc0, kb, kend, ybase, ow0);
    store4(acc1, kb + 1u, kend, ybase + plane_out, ow0);
    store4(acc2, kb + 2u, kend, ybase + 2u * plane_out, ow0);
    store4(acc3, kb + 3u, kend, ybase + 3u * plane_out, ow0);
}

// The 4 pixels ow0.. of channel k from ybase (those past the row's end, or a channel
// past its group, are not stored).
fn store4(v: vec4<f32>, k: u32, kend: u32, ybase: u32, ow0: u32) {
    if (k >= kend) {
        return;
    }
    if (ow0 < p.ow) {
        fy[ybase] = epilogue(v.x, k, ybase);
    }
    if (ow0 + 1u < p.ow) {
        fy[ybase + 1u] = epilogue(v.y, k, ybase + 1u);
    }
    if (ow0 + 2u < p.ow) {
        fy[ybase + 2u] = epilogue(v.z, k, ybase + 2u);
    }
    if (ow0 + 3u < p.ow) {
        fy[ybase + 3u] = epilogue(v.w, k, ybase + 3u);
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
    let q1 = div_index(i, p.strips);
    let strip = i - q1 * p.strips;
    let q2 = div_index(q1, p.h);
    let y = q1 - q2 * p.h;
    let n = div_index(q2, p.cblocks);
    let blk = q2 - n * p.cblocks; // block of 4 input channels, all groups
    let groups = p.c / p.cig;
    let bpg = p.cblocks / groups; // uniform
    let g = div_index(blk, bpg);
    let cb = (blk - g * bpg) * 4u; // first channel of the block inside the group
    let khw = kernel_h() * kernel_w();
    // Weight offsets of the 4 input channels within a weight row (clamped inside the
    // group; extra ones are not stored).
    let c0 = min(cb, p.cig - 1u) * khw;
    let c1 = min(cb + 1u, p.cig - 1u) * khw;
    let c2 = min(cb + 2u, p.cig - 1u) * khw;
    let c3 = min(cb + 3u, p.cig - 1u) * khw;
    let x0 = strip * 4u;
    var acc0 = vec4<f32>(0.0);
    var acc1 = vec4<f32>(0.0);
    var acc2 = vec4<f32>(0.0);
    var acc3 = vec4<f32>(0.0);
    for (var kk = 0u; kk < p.cog; kk++) {
        let k = g * p.cog + kk;
        let wk = k * p.cig * khw;
        for (var r = 0u; r < kernel_h(); r++) {
            // Output row oh of tap r, if it exists (a row between strided outputs or past
            // the edge reads row 0 and contributes zeros).
            let t = i32(y + p.pad_t) - i32(r * p.dil_h);
            let tq = u32(max(t, 0));
            let oh = div_index(tq, p.stride_h);
            let row_ok = t >= 0 && oh * p.stride_h == tq && oh < p.oh;
            let row = ((n * p.k + k) * p.oh + min(oh, p.oh - 1u)) * p.ow;
            for (var s = 0u; s < kernel_w(); s++) {
                let u = i32(x0 + p.pad_l) - i32(s * p.dil_w);
                let dv = select(vec4<f32>(0.0),
                                vec4<f32>(dyat(row, u), dyat(row, u + 1), dyat(row, u + 2), dyat(row, u + 3)),
                                row_ok);
                let tap = r * kernel_w() + s;
                acc0 = fma(dv, vec4<f32>(bw[wk + c0 + tap]), acc0);
                acc1 = fma(dv, vec4<f32>(bw[wk + c1 + tap]), acc1);
                acc2 = fma(dv, vec4<f32>(bw[wk + c2 + tap]), acc2);
                acc3 = fma(dv, vec4<f32>(bw[wk + c3 + tap]), acc3);
            }
        }
    }
    let base = ((n * p.c + g * p.cig + cb) * p.h + y) * p.w + x0;
    let plane = p.h * p.w;
    store_dx4(acc0, cb, base, x0);
    store_dx4(acc1, cb + 1u, base + plane, x0);
    store_dx4(acc2, cb + 2u, base + 2u * plane, x0);
    store_dx4(acc3, cb + 3u, base + 3u * plane, x0);
}

// The 4 columns x0.. of in-group channel c from base (past the row's end, or a channel
// past the group, not stored).
fn store_dx4(v: vec4<f32>, c: u32, base: u32, x0: u32) {
    if (c >= p.cig) {
        return;
    }
    if (x0 < p.w) {
        bdx[base] = v.x;
    }
    if (x0 + 1u < p.w) {
        bdx[base + 1u] = v.y;
    }
    if (x0 + 2u < p.w) {
        bdx[base + 2u] = v.z;
    }
    if (x0 + 3u < p.w) {
        bdx[base + 3u] = v.w;
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
