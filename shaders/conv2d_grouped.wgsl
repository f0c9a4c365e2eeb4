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
// The common 3x3 case (padding 1, stride 1 or 2, widths and per-group channels multiples
// of 4) runs conv2d_depthwise.wgsl's grouped3x3 instead of forward and backward_input.
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

// backward_weight3x3: dW of a grouped 3x3 convolution with padding 1 (top/left),
// dilation 1, stride STRIDE (1 or 2) on both axes, w == ow * STRIDE and ow % 4 == 0 (the
// launcher checks; with ANY_WIDTH any w and ow: bounded scalar loads). One invocation per (split z, group, input channel ci, block of 4
// output channels of the group): for each image of its split and each 4-column strip
// it slides a window of three input rows down the output rows (each input row loaded
// once per strip, as 3 vec4s: left neighbour, centre, right neighbour), loads the 4
// channels' dy vec4s once per output row, and adds to tap (r, s) of channel j the dot
// product of dy_j with the input columns tap s meets: acc[r*3+s][j]. 36 sums from 7
// loads per strip and row (stride 1), where `backward_weight` loads 8 values per 4
// products. part[z][co][ci][r][s] for the block's channels inside the group.
override STRIDE: u32 = 1u;
@group(0) @binding(1) var<storage, read> gdy4: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> gx4: array<vec4<f32>>;

// Input row ih of a plane as vec4 columns c4-1 .. c4+1 (columns 4 c4 - 4 .. 4 c4 + 7),
// zeros outside the image. With ANY_WIDTH (any w, ow), the columns that the
// taps read (4 c4 - 1 .. 4 c4 + 4, stride 2: + 7) as bounded scalar loads.
fn xrow3(plane: u32, ih: i32, c4: u32) -> array<vec4<f32>, 3> {
    var v: array<vec4<f32>, 3>;
// #if ANY_WIDTH
    if (ih < 0 || ih >= i32(p.h)) {
        return v;
    }
    let row = (plane + u32(ih)) * p.w;
    let c0 = i32(c4 * 4u);
    v[0] = vec4<f32>(0.0, 0.0, 0.0, x_or_0(row, c0 - 1));
    v[1] = vec4<f32>(x_or_0(row, c0), x_or_0(row, c0 + 1), x_or_0(row, c0 + 2), x_or_0(row, c0 + 3));
    if (STRIDE == 1u) {
        v[2] = vec4<f32>(x_or_0(row, c0 + 4), 0.0, 0.0, 0.0);
    } else {
        v[2] = vec4<f32>(x_or_0(row, c0 + 4), x_or_0(row, c0 + 5), x_or_0(row, c0 + 6), x_or_0(row, c0 + 7));
    }
    return v;
// #else
    let wv = p.w / 4u;
    let inside = ih >= 0 && ih < i32(p.h);
    let base = (plane + u32(clamp(ih, 0, i32(p.h) - 1))) * wv;
    v[0] = select(vec4<f32>(0.0), gx4[base + max(c4, 1u) - 1u], inside && c4 > 0u);
    v[1] = select(vec4<f32>(0.0), gx4[base + c4], inside);
    v[2] = select(vec4<f32>(0.0), gx4[base + min(c4 + 1u, wv - 1u)], inside && c4 + 1u < wv);
    return v;
// #endif
}

// x[row + col] if 0 <= col < w, else 0 (ANY_WIDTH).
fn x_or_0(row: u32, col: i32) -> f32 {
    return select(0.0, wx[row + u32(clamp(col, 0, i32(p.w) - 1))], col >= 0 && col < i32(p.w));
}

// dy columns 4 c4 .. 4 c4 + 3 of dy row `row` (a row index over all planes): one vec4,
// or with ANY_WIDTH bounded scalar loads, zeros past the row's end.
fn dy4(row: u32, c4: u32) -> vec4<f32> {
// #if ANY_WIDTH
    let b = row * p.ow;
    let c0 = c4 * 4u;
    let last = p.ow - 1u;
    return vec4<f32>(select(0.0, wdy[b + min(c0, last)], c0 < p.ow),
                     select(0.0, wdy[b + min(c0 + 1u, last)], c0 + 1u < p.ow),
                     select(0.0, wdy[b + min(c0 + 2u, last)], c0 + 2u < p.ow),
                     select(0.0, wdy[b + min(c0 + 3u, last)], c0 + 3u < p.ow));
// #else
    return gdy4[row * (p.ow / 4u) + c4];
// #endif
}

// The input values tap s (0, 1, 2) meets at the 4 outputs of a strip (as
// conv2d_depthwise.wgsl's `cols`, without its WIDE case).
fn tap_cols(v: array<vec4<f32>, 3>, s: u32) -> vec4<f32> {
    if (STRIDE == 1u) {
        if (s == 0u) {
            return vec4<f32>(v[0].w, v[1].x, v[1].y, v[1].z);
        }
        if (s == 1u) {
            return v[1];
        }
        return vec4<f32>(v[1].y, v[1].z, v[1].w, v[2].x);
    }
    if (s == 0u) {
        return vec4<f32>(v[0].w, v[1].y, v[1].w, v[2].y);
    }
    if (s == 1u) {
        return vec4<f32>(v[1].x, v[1].z, v[2].x, v[2].z);
    }
    return vec4<f32>(v[1].y, v[1].w, v[2].y, v[2].w);
}

// Channel j's share of one tap: dot(dy_j, the tap's input columns) for the 4 channels.
fn tap4(d: array<vec4<f32>, 4>, v: vec4<f32>) -> vec4<f32> {
    return vec4<f32>(dot(d[0], v), dot(d[1], v), dot(d[2], v), dot(d[3], v));
}

@compute @workgroup_size(WG)
fn backward_weight3x3(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * WG;
    if (i >= p.total) {
        return;
    }
    let kblocks = (p.cog + 3u) / 4u;
    let groups = p.k / p.cog;
    let kbi = i % kblocks;
    let ci = (i / kblocks) % p.cig;
    let grp = (i / (kblocks * p.cig)) % groups;
    let z = i / (kblocks * p.cig * groups);
    let co0 = grp * p.cog + kbi * 4u;
    let co_last = grp * p.cog + p.cog - 1u;
    let c = grp * p.cig + ci;
    let owv = (p.ow + 3u) / 4u; // strips of 4 output columns
    let n1 = min(z * p.chunk + p.chunk, p.n);
    var a0 = vec4<f32>(0.0);
    var a1 = vec4<f32>(0.0);
    var a2 = vec4<f32>(0.0);
    var a3 = vec4<f32>(0.0);
    var a4 = vec4<f32>(0.0);
    var a5 = vec4<f32>(0.0);
    var a6 = vec4<f32>(0.0);
    var a7 = vec4<f32>(0.0);
    var a8 = vec4<f32>(0.0);
    for (var n = z * p.chunk; n < n1; n++) {
        let plane = (n * p.c + c) * p.h;
        // dy planes of the block's 4 channels (clamped inside the group: the extra
        // channels' sums are not stored).
        let dyp0 = (n * p.k + co0) * p.oh;
        let dyp1 = (n * p.k + min(co0 + 1u, co_last)) * p.oh;
        let dyp2 = (n * p.k + min(co0 + 2u, co_last)) * p.oh;
        let dyp3 = (n * p.k + min(co0 + 3u, co_last)) * p.oh;
        for (var c4 = 0u; c4 < owv; c4++) {
            let xc = c4 * STRIDE;
            var x0 = xrow3(plane, -1, xc);
            var x1 = xrow3(plane, 0, xc);
            for (var oh = 0u; oh < p.oh; oh++) {
                let top = i32(oh * STRIDE) - 1;
                if (STRIDE == 2u) {
                    x1 = xrow3(plane, top + 1, xc);
                }
                let x2 = xrow3(plane, top + 2, xc);
                var d: array<vec4<f32>, 4>;
                d[0] = dy4(dyp0 + oh, c4);
                d[1] = dy4(dyp1 + oh, c4);
                d[2] = dy4(dyp2 + oh, c4);
                d[3] = dy4(dyp3 + oh, c4);
                a0 += tap4(d, tap_cols(x0, 0u));
                a1 += tap4(d, tap_cols(x0, 1u));
                a2 += tap4(d, tap_cols(x0, 2u));
                a3 += tap4(d, tap_cols(x1, 0u));
                a4 += tap4(d, tap_cols(x1, 1u));
                a5 += tap4(d, tap_cols(x1, 2u));
                a6 += tap4(d, tap_cols(x2, 0u));
                a7 += tap4(d, tap_cols(x2, 1u));
                a8 += tap4(d, tap_cols(x2, 2u));
                if (STRIDE == 1u) {
                    x0 = x1;
                    x1 = x2;
                } else {
                    x0 = x2;
                }
            }
        }
    }
    for (var j = 0u; j < 4u; j++) {
        let co = co0 + j;
        if (co <= co_last) {
            let b = z * p.k * p.cig * 9u + (co * p.cig + ci) * 9u;
            wpart[b] = a0[j];
            wpart[b + 1u] = a1[j];
            wpart[b + 2u] = a2[j];
            wpart[b + 3u] = a3[j];
            wpart[b + 4u] = a4[j];
            wpart[b + 5u] = a5[j];
            wpart[b + 6u] = a6[j];
            wpart[b + 7u] = a7[j];
            wpart[b + 8u] = a8[j];
        }
    }
}
