// conv2d_depthwise: depthwise convolution (groups = c_in, weight [c_in*mult, 1, kh, kw], mult = cog,
// output channel co reads input channel co / mult) on NCHW tensors, any stride, padding,
// dilation and channel multiplier. Memory-bound: each invocation owns a strip of 4
// consecutive outputs along the row, so that one weight load serves 4 outputs and the
// row/column bounds work is shared.
//   forward:         y[n,co,oh,ow0..ow0+3] = epilogue(sum_{r,s} x[n, co/mult, ih, iw] * w[co,r,s])
//   backward_input:  dx[n,ci,h,w0..w0+3] = sum_{m,r,s} dy[n, ci*mult+m, oh, ow] * w[ci*mult+m, r, s]
//                    over the (oh, ow) with oh*sh + r*dh - pt == h (exact division), likewise w
//   forward3x3:      the common MobileNet case, 3x3, padding 1 (top/left), dilation 1,
//                    stride S = STRIDE (1 or 2) on both axes, w and w_out multiples of 4:
//                    each invocation owns 8 output rows x 4 columns (8 with WIDE: stride 1,
//                    w_out a multiple of 8) and slides a window of
//                    three input rows down them, loading each input row once as 3 vec4s
//                    (left neighbour, centre, right neighbour); it stores vec4s. With p.flags bit 4 the kernel is rotated by 180 degrees,
//                    which makes it dX of a stride-1 depthwise convolution (multiplier 1).
//                    With ANY_WIDTH (any w and w_out, not WIDE), x is a storage buffer read
//                    by bounded scalar loads and the outputs are bounded scalar stores.
//   backward_input3x3s2: dX of forward3x3's stride-2 case (multiplier 1, w a multiple of 4,
//                    or with ANY_WIDTH any w: storage dy, bounded loads and stores):
//                    dx[h, w] = sum of dy[(h+1-r)/2, (w+1-s)/2] * w[r, s] over the taps
//                    with h+1-r and w+1-s even. Each invocation owns 8 dx rows x 4 columns:
//                    even rows take kernel row 1 of dy row h/2, odd rows kernel rows 0 and
//                    2 of dy rows (h+1)/2 and (h-1)/2, so the 8 rows read 5 dy rows once,
//                    each as the 3 values at columns x0/2 .. x0/2+2 (dy a texel operand).
//   backward_weight3x3: dW of forward3x3 (any multiplier): part[z][co][r][s] = the sum over
//                    split z of the (n, oh) rows of dy[n, co, oh, ow] * x[n, co/mult,
//                    oh*S + r - 1, ow*S + s - 1]; one invocation per (co, z), 4 output
//                    columns (one dy texel, three input rows as in forward3x3) per step;
//                    the launcher sums the splits.
//   grouped_backward_weight3x3: dW of grouped (and the other depthwise) 3x3 layers with
//                    padding 1, blocks of 4 output channels, any width with ANY_WIDTH
//   (other weight gradients: conv2d_grouped.wgsl's backward_weight)
//   grouped3x3:      forward3x3's window for grouped convolutions (cog and cig multiples of
//                    4): 4 output channels x 4 rows x 4 columns per invocation, each input
//                    row of each input channel of the group loaded once; with GROUPED_DX
//                    the same kernel is dX of a stride-1 grouped convolution.
//   grouped3x3s2_dx: dX of grouped3x3's stride-2 case (4 input channels x 4 rows x 4
//                    columns per invocation, dy rows read once per output channel).
// Thread mapping: one invocation per 4-wide strip (8x4 block for forward3x3), 1-D grid
// folded into 2-D.
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
    _pad0: u32,
    last_texel: u32, // backward_input3x3s2: index of dy's last texel
    _pad2: u32,
}

override WG: u32 = 64u;
// Stride of forward3x3 (1 or 2).
override STRIDE: u32 = 1u;
// forward3x3 with stride 1 and w_out a multiple of 8: 8 columns per invocation.
override WIDE: bool = false;

@group(0) @binding(0) var<uniform> p: Params;

@group(0) @binding(1) var<storage, read> fx: array<f32>;
@group(0) @binding(2) var<storage, read> fw: array<f32>;
@group(0) @binding(3) var<storage, read> fbias: array<f32>;
@group(0) @binding(4) var<storage, read> fres: array<f32>;
@group(0) @binding(5) var<storage, read_write> fy: array<f32>;

// forward3x3 reads x as a texel operand (crates/tensor/src/texels.rs): vec4 i is the
// texel (i % W, i / W), W = 2^TEX_SHIFT; on lavapipe far cheaper than a storage load.
override TEX_SHIFT: u32 = 12u;
@group(0) @binding(1) var tx: texture_storage_2d<rgba32float, read>;

fn load_x4(i: u32) -> vec4<f32> {
    return textureLoad(tx, vec2<u32>(i & ((1u << TEX_SHIFT) - 1u), i >> TEX_SHIFT));
}
@group(0) @binding(4) var<storage, read> vres: array<vec4<f32>>;
@group(0) @binding(5) var<storage, read_write> vy: array<vec4<f32>>;

@group(0) @binding(1) var<storage, read> bdy: array<f32>;
@group(0) @binding(2) var<storage, read> bw: array<f32>;
@group(0) @binding(3) var<storage, read_write> bdx: array<f32>;
@group(0) @binding(3) var<storage, read_write> vdx: array<vec4<f32>>;


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

// x[row + iw] if 0 <= iw < w, else 0 (the index is clamped so the load stays in bounds).
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
    let co = (i / (p.strips * p.oh)) % p.k;
    let n = i / (p.strips * p.oh * p.k);
    let ow0 = strip * 4u;
    let plane = (n * p.c + co / p.cog) * p.h;
    var acc = vec4<f32>(0.0);
    let step = i32(p.stride_w);
    for (var r = 0u; r < p.kh; r++) {
        let ih = i32(oh * p.stride_h + r * p.dil_h) - i32(p.pad_t);
        if (ih < 0 || ih >= i32(p.h)) {
            continue;
        }
        let row = (plane + u32(ih)) * p.w;
        for (var s = 0u; s < p.kw; s++) {
            let wv = fw[(co * p.kh + r) * p.kw + s];
            let iw = i32(ow0 * p.stride_w + s * p.dil_w) - i32(p.pad_l);
            let xv = vec4<f32>(xat(row, iw), xat(row, iw + step), xat(row, iw + 2 * step), xat(row, iw + 3 * step));
            acc = fma(xv, vec4<f32>(wv), acc);
        }
    }
    let ybase = ((n * p.k + co) * p.oh + oh) * p.ow;
    for (var j = 0u; j < 4u; j++) {
        if (ow0 + j < p.ow) {
            let yi = ybase + ow0 + j;
            fy[yi] = epilogue(acc[j], co, yi);
        }
    }
}

// dy[row + ow] * wv when column u = x + pl - s*dw lands exactly on an output column.
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
    let ci = (i / (p.strips * p.h)) % p.c;
    let n = i / (p.strips * p.h * p.c);
    let x0 = strip * 4u;
    var acc = vec4<f32>(0.0);
    for (var m = 0u; m < p.cog; m++) {
        let co = ci * p.cog + m;
        for (var r = 0u; r < p.kh; r++) {
            let t = i32(y + p.pad_t) - i32(r * p.dil_h);
            if (t < 0 || u32(t) % p.stride_h != 0u) {
                continue;
            }
            let oh = u32(t) / p.stride_h;
            if (oh >= p.oh) {
                continue;
            }
            let row = ((n * p.k + co) * p.oh + oh) * p.ow;
            for (var s = 0u; s < p.kw; s++) {
                let wv = bw[(co * p.kh + r) * p.kw + s];
                let u = i32(x0 + p.pad_l) - i32(s * p.dil_w);
                let dv = vec4<f32>(dyat(row, u), dyat(row, u + 1), dyat(row, u + 2), dyat(row, u + 3));
                acc = fma(dv, vec4<f32>(wv), acc);
            }
        }
    }
    let base = ((n * p.c + ci) * p.h + y) * p.w;
    for (var j = 0u; j < 4u; j++) {
        if (x0 + j < p.w) {
            bdx[base + x0 + j] = acc[j];
        }
    }
}

// Input row ih of a plane as vec4 columns c4-1 .. c4+2 (the last only when WIDE), zeros
// outside the image: texel loads, or with ANY_WIDTH (any w; not WIDE) the columns the
// taps read, 4 c4 - 1 .. 4 c4 + 4 (stride 2: + 7), as bounded scalar storage loads.
fn row3(plane: u32, ih: i32, c4: u32) -> array<vec4<f32>, 4> {
    var v: array<vec4<f32>, 4>;
    if (ih < 0 || ih >= i32(p.h)) {
        return v;
    }
// #if ANY_WIDTH
    let row = (plane + u32(ih)) * p.w;
    let c0 = i32(c4 * 4u);
    v[0] = vec4<f32>(0.0, 0.0, 0.0, xat(row, c0 - 1));
    v[1] = vec4<f32>(xat(row, c0), xat(row, c0 + 1), xat(row, c0 + 2), xat(row, c0 + 3));
    if (STRIDE == 1u) {
        v[2] = vec4<f32>(xat(row, c0 + 4), 0.0, 0.0, 0.0);
    } else {
        v[2] = vec4<f32>(xat(row, c0 + 4), xat(row, c0 + 5), xat(row, c0 + 6), xat(row, c0 + 7));
    }
    return v;
// #else
    let wv = p.w / 4u;
    let base = (plane + u32(ih)) * wv;
    let l = load_x4(base + max(c4, 1u) - 1u);
    let c = load_x4(base + min(c4, wv - 1u));
    let r = load_x4(base + min(c4 + 1u, wv - 1u));
    v[0] = select(vec4<f32>(0.0), l, c4 > 0u);
    v[1] = select(vec4<f32>(0.0), c, c4 < wv);
    v[2] = select(vec4<f32>(0.0), r, c4 + 1u < wv);
    if (WIDE) {
        let r2 = load_x4(base + min(c4 + 2u, wv - 1u));
        v[3] = select(vec4<f32>(0.0), r2, c4 + 2u < wv);
    }
    return v;
// #endif
}

// ANY_WIDTH's store: the 4 outputs ow0.. of channel k from element e (those inside the
// row), through the epilogue.
fn store4_any(v: vec4<f32>, k: u32, e: u32, ow0: u32) {
    for (var q = 0u; q < 4u; q++) {
        if (ow0 + q < p.ow) {
            fy[e + q] = epilogue(v[q], k, e + q);
        }
    }
}

// The input values tap s (0, 1, 2) of a kernel row meets at the 4 outputs of a strip; v
// holds the input columns around the strip's first input column 4*STRIDE*strip.
fn cols(v: array<vec4<f32>, 4>, s: u32) -> vec4<f32> {
    if (STRIDE == 1u) {
        // output j reads columns j-1, j, j+1 of the centre vec4
        if (s == 0u) {
            return vec4<f32>(v[0].w, v[1].x, v[1].y, v[1].z);
        }
        if (s == 1u) {
            return v[1];
        }
        return vec4<f32>(v[1].y, v[1].z, v[1].w, v[2].x);
    }
    // stride 2: output j reads columns 2j-1, 2j, 2j+1 of the 8 in v[1], v[2]
    if (s == 0u) {
        return vec4<f32>(v[0].w, v[1].y, v[1].w, v[2].y);
    }
    if (s == 1u) {
        return vec4<f32>(v[1].x, v[1].z, v[2].x, v[2].z);
    }
    return vec4<f32>(v[1].y, v[1].w, v[2].y, v[2].w);
}

// One kernel row (weights a, b, c for taps s = 0, 1, 2) applied to the 4 outputs of a strip.
fn taps(v: array<vec4<f32>, 4>, a: f32, b: f32, c: f32) -> vec4<f32> {
    return a * cols(v, 0u) + b * cols(v, 1u) + c * cols(v, 2u);
}

// A WIDE row (stride 1) shifted by one vec4: the columns around its second 4 outputs.
fn shifted(v: array<vec4<f32>, 4>) -> array<vec4<f32>, 4> {
    var u: array<vec4<f32>, 4>;
    u[0] = v[1];
    u[1] = v[2];
    u[2] = v[3];
    return u;
}

// The 3x3 kernel of output channel co from fw, rotated by 180 degrees with p.flags bit 4
// (forward3x3 as dX of a stride-1 convolution).
fn kernel9(co: u32) -> array<f32, 9> {
    let flip = (p.flags & 16u) != 0u;
    var w: array<f32, 9>;
    for (var t = 0u; t < 9u; t++) {
        w[t] = fw[co * 9u + select(t, 8u - t, flip)];
    }
    return w;
}

// The 4 outputs of a strip from its three input rows (row3's layout) and the kernel.
fn conv3(r0: array<vec4<f32>, 4>, r1: array<vec4<f32>, 4>, r2: array<vec4<f32>, 4>,
         w: array<f32, 9>) -> vec4<f32> {
    return taps(r0, w[0], w[1], w[2]) + taps(r1, w[3], w[4], w[5]) + taps(r2, w[6], w[7], w[8]);
}

// Activation and residual of 4 outputs of forward3x3 (the bias is already in v).
fn finish(v0: vec4<f32>, yi: u32, act: u32) -> vec4<f32> {
    var v = v0;
    if (act == 1u) {
        v = max(v, vec4<f32>(0.0));
    } else if (act == 2u) {
        v = clamp(v, vec4<f32>(0.0), vec4<f32>(6.0));
    }
    if ((p.flags & 2u) != 0u) {
        v += vres[yi];
    }
    return v;
}

// Stores a strip's 4 outputs (8 with WIDE) at vec4 yi: the three input rows (row3's
// layout) through the kernel, plus bias b, then finish().
fn store_strip(r0: array<vec4<f32>, 4>, r1: array<vec4<f32>, 4>, r2: array<vec4<f32>, 4>,
               w: array<f32, 9>, b: f32, yi: u32, act: u32) {
    vy[yi] = finish(conv3(r0, r1, r2, w) + vec4<f32>(b), yi, act);
    if (WIDE) {
        let v = conv3(shifted(r0), shifted(r1), shifted(r2), w) + vec4<f32>(b);
        vy[yi + 1u] = finish(v, yi + 1u, act);
    }
}

// Output rows per forward3x3 invocation.
const ROWS: u32 = 8u;

@compute @workgroup_size(WG)
fn forward3x3(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * WG;
    if (i >= p.total) {
        return;
    }
    let owv = p.ow / 4u;
    let strips = p.strips;
    let strip = i % strips;
    let rblocks = (p.oh + ROWS - 1u) / ROWS;
    let oh0 = ((i / strips) % rblocks) * ROWS;
    let co = (i / (strips * rblocks)) % p.k;
    let n = i / (strips * rblocks * p.k);
    let plane = (n * p.c + co / p.cog) * p.h;
    let w = kernel9(co);
    let c4 = strip * select(STRIDE, 2u, WIDE);
    let obase = (n * p.k + co) * p.oh;
    let act = (p.flags >> 2u) & 3u;
    let b = select(0.0, fbias[co], (p.flags & 1u) != 0u);
    // A window of three input rows slides down: stride 1 loads one new row per output
    // row, stride 2 two.
    let ih0 = i32(oh0 * STRIDE) - 1;
    var r0 = row3(plane, ih0, c4);
    var r1 = row3(plane, ih0 + 1, c4);
    for (var o = 0u; o < ROWS; o++) {
        let oh = oh0 + o;
        if (oh >= p.oh) {
            break;
        }
        let top = i32(oh * STRIDE) - 1;
        if (STRIDE == 2u) {
            r1 = row3(plane, top + 1, c4);
        }
        let r2 = row3(plane, top + 2, c4);
// #if ANY_WIDTH
        store4_any(conv3(r0, r1, r2, w), co, (obase + oh) * p.ow + strip * 4u, strip * 4u);
// #else
        store_strip(r0, r1, r2, w, b, (obase + oh) * owv + select(strip, 2u * strip, WIDE), act);
// #endif
        if (STRIDE == 1u) {
            r0 = r1;
            r1 = r2;
        } else {
            r0 = r2;
        }
    }
}

// ---- grouped3x3: forward3x3's sliding window for grouped convolutions ----
// Grouped weights as vec4s over 4 output channels (weight_to_krsc's layouts), tap order
// rotated by 180 degrees: gw4[((cbase + ci) * 9 + 8 - t) * s_row + blk], t = r * 3 + s,
// s_row the vec4s of one tap row (p.k / 4 for the forward, p.cog / 4 for GROUPED_DX).
@group(0) @binding(2) var<storage, read> gw4: array<vec4<f32>>;

// GROUPED_DX: the launch is dX of a stride-1 grouped convolution, as the forward of dy
// (p.c = the original k) through the group-transposed, rotated weights: input channel ci
// of group g is the original output channel g * p.cig + ci (layout [k][r][s][cig / 4]);
// else the forward (layout [cig][r][s][k / 4], rotated).
override GROUPED_DX: bool = false;

// One input row x (row3's layout) through one kernel row (wa, wb, wc: taps s = 0, 1, 2,
// each a vec4 over the 4 output channels): column j holds channel j's 4 outputs.
fn row_block(x: array<vec4<f32>, 4>, wa: vec4<f32>, wb: vec4<f32>, wc: vec4<f32>) -> mat4x4<f32> {
    let a = cols(x, 0u);
    let b = cols(x, 1u);
    let c = cols(x, 2u);
    return mat4x4<f32>(a * wa.x + b * wb.x + c * wc.x, a * wa.y + b * wb.y + c * wc.y,
                       a * wa.z + b * wb.z + c * wc.z, a * wa.w + b * wb.w + c * wc.w);
}

// Kernel row r of the 9 weight vec4s w through input row x.
fn kernel_row(x: array<vec4<f32>, 4>, w: array<vec4<f32>, 9>, r: u32) -> mat4x4<f32> {
    return row_block(x, w[3u * r], w[3u * r + 1u], w[3u * r + 2u]);
}

// Input row t of an invocation's window (x, row3's layout) into the output rows it feeds:
// output row o takes it at kernel row t - STRIDE * o where that is 0, 1 or 2 (t is a
// constant at every call, so the tests fold away).
fn feed(x: array<vec4<f32>, 4>, w: array<vec4<f32>, 9>, t: u32, a0: ptr<function, mat4x4<f32>>,
        a1: ptr<function, mat4x4<f32>>, a2: ptr<function, mat4x4<f32>>,
        a3: ptr<function, mat4x4<f32>>) {
    if (t <= 2u) {
        *a0 += kernel_row(x, w, t);
    }
    if (t >= STRIDE && t - STRIDE <= 2u) {
        *a1 += kernel_row(x, w, t - STRIDE);
    }
    if (t >= 2u * STRIDE && t - 2u * STRIDE <= 2u) {
        *a2 += kernel_row(x, w, t - 2u * STRIDE);
    }
    if (t >= 3u * STRIDE && t - 3u * STRIDE <= 2u) {
        *a3 += kernel_row(x, w, t - 3u * STRIDE);
    }
}

// Output rows per grouped3x3 invocation (feed() and the row schedule assume 4).
const GROWS: u32 = 4u;

// Stores output row oh of the 4 channels k0.. (a's columns) at column strip `strip`
// (with ANY_WIDTH, the columns inside the row).
fn store_rows(a: mat4x4<f32>, n: u32, k0: u32, oh: u32, strip: u32, act: u32) {
    if (oh >= p.oh) {
        return;
    }
    for (var j = 0u; j < 4u; j++) {
        let k = k0 + j;
// #if ANY_WIDTH
        store4_any(a[j], k, ((n * p.k + k) * p.oh + oh) * p.ow + strip * 4u, strip * 4u);
// #else
        let b = select(0.0, fbias[k], (p.flags & 1u) != 0u);
        let yi = ((n * p.k + k) * p.oh + oh) * (p.ow / 4u) + strip;
        vy[yi] = finish(a[j] + vec4<f32>(b), yi, act);
// #endif
    }
}

// grouped3x3: 3x3, padding 1 (top/left), dilation 1, stride STRIDE (1 or 2), cig and cog
// multiples of 4; w and ow multiples of 4 (x a texel operand) or, with ANY_WIDTH,
// any widths (x and y storage buffers). One invocation per (image, 4 output channels of one
// group, GROWS output rows, 4-column strip); for each input channel of the group it loads
// the 9 weight vec4s and each of the GROWS * STRIDE + 3 - STRIDE input rows once (3 texels)
// and adds every row into the (up to 3) output rows it feeds.
@compute @workgroup_size(WG)
fn grouped3x3(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * WG;
    if (i >= p.total) {
        return;
    }
    let strips = p.strips;
    let strip = i % strips;
    let rblocks = (p.oh + GROWS - 1u) / GROWS;
    let oh0 = ((i / strips) % rblocks) * GROWS;
    let kvs = p.k / 4u;
    let kv = (i / (strips * rblocks)) % kvs; // block of 4 output channels, all groups
    let n = i / (strips * rblocks * kvs);
    let g = (kv * 4u) / p.cog;
    // Weight addressing (see gw4): rows of S vec4s, block blk of the row.
    var cbase = 0u;
    var blk = kv;
    var s_row = kvs;
    if (GROUPED_DX) {
        cbase = g * p.cig;
        blk = kv - g * (p.cog / 4u);
        s_row = p.cog / 4u;
    }
    let ih0 = i32(oh0 * STRIDE) - 1;
    var a0 = mat4x4<f32>();
    var a1 = mat4x4<f32>();
    var a2 = mat4x4<f32>();
    var a3 = mat4x4<f32>();
    for (var ci = 0u; ci < p.cig; ci++) {
        let plane = (n * p.c + g * p.cig + ci) * p.h;
        let wrow = (cbase + ci) * 9u;
        var w: array<vec4<f32>, 9>;
        for (var t = 0u; t < 9u; t++) {
            w[t] = gw4[(wrow + 8u - t) * s_row + blk];
        }
        // Input rows ih0 .. ih0 + 5 (stride 2: + 8), each loaded once.
        feed(row3(plane, ih0, strip * STRIDE), w, 0u, &a0, &a1, &a2, &a3);
        feed(row3(plane, ih0 + 1, strip * STRIDE), w, 1u, &a0, &a1, &a2, &a3);
        feed(row3(plane, ih0 + 2, strip * STRIDE), w, 2u, &a0, &a1, &a2, &a3);
        feed(row3(plane, ih0 + 3, strip * STRIDE), w, 3u, &a0, &a1, &a2, &a3);
        feed(row3(plane, ih0 + 4, strip * STRIDE), w, 4u, &a0, &a1, &a2, &a3);
        feed(row3(plane, ih0 + 5, strip * STRIDE), w, 5u, &a0, &a1, &a2, &a3);
        if (STRIDE == 2u) {
            feed(row3(plane, ih0 + 6, strip * STRIDE), w, 6u, &a0, &a1, &a2, &a3);
            feed(row3(plane, ih0 + 7, strip * STRIDE), w, 7u, &a0, &a1, &a2, &a3);
            feed(row3(plane, ih0 + 8, strip * STRIDE), w, 8u, &a0, &a1, &a2, &a3);
        }
    }
    let act = (p.flags >> 2u) & 3u;
    store_rows(a0, n, kv * 4u, oh0, strip, act);
    store_rows(a1, n, kv * 4u, oh0 + 1u, strip, act);
    store_rows(a2, n, kv * 4u, oh0 + 2u, strip, act);
    store_rows(a3, n, kv * 4u, oh0 + 3u, strip, act);
}

// ---- grouped3x3s2_dx: dX of grouped3x3's stride-2 case ----
// (storage operands: dy at binding 1 as fx, weights gw4 in the [k][r][s][cig / 4] layout,
// dx at binding 3 as bdx; p describes the forward problem.)

// dy[row d of plane, c0 .. c0 + 2], zeros past the last row / column.
fn dy_row3(plane: u32, d: u32, c0: u32) -> vec3<f32> {
    if (d >= p.oh) {
        return vec3<f32>(0.0);
    }
    let row = (plane + d) * p.ow;
    let last = p.ow - 1u;
    return vec3<f32>(select(0.0, fx[row + min(c0, last)], c0 < p.ow),
                     select(0.0, fx[row + min(c0 + 1u, last)], c0 + 1u < p.ow),
                     select(0.0, fx[row + min(c0 + 2u, last)], c0 + 2u < p.ow));
}

// Kernel row r of w (vec4s over 4 input channels) applied to dy values q into 4 dx
// columns (taps_s2t per channel): column j of the result is channel j's 4 columns.
fn s2_row(q: vec3<f32>, w: array<vec4<f32>, 9>, r: u32) -> mat4x4<f32> {
    let a = w[3u * r];
    let b = w[3u * r + 1u];
    let c = w[3u * r + 2u];
    return mat4x4<f32>(taps_s2t(q, a.x, b.x, c.x), taps_s2t(q, a.y, b.y, c.y),
                       taps_s2t(q, a.z, b.z, c.z), taps_s2t(q, a.w, b.w, c.w));
}

// The 4 dx columns x0 .. x0 + 3 of dx row `row` (a row index over all planes), those
// inside the row.
fn store_dx4(row: u32, x0: u32, v: vec4<f32>) {
    for (var q = 0u; q < 4u; q++) {
        if (x0 + q < p.w) {
            bdx[row * p.w + x0 + q] = v[q];
        }
    }
}

// dx row h of the 4 channels c0.. (a's columns), columns x0 .. x0 + 3 inside the row.
fn store_dx_rows(a: mat4x4<f32>, n: u32, c0: u32, h: u32, x0: u32) {
    if (h >= p.h) {
        return;
    }
    for (var j = 0u; j < 4u; j++) {
        store_dx4((n * p.c + c0 + j) * p.h + h, x0, a[j]);
    }
}

// grouped3x3s2_dx: dX of a grouped 3x3 convolution with stride 2, padding 1 (top/left),
// dilation 1, cig a multiple of 4. One invocation per (image, 4 input channels of one
// group, 4 dx rows from an even row h0, 4 columns from x0 = 4 * strip). dx[h, x] takes
// dy[(h + 1 - r) / 2, (x + 1 - s) / 2] through tap (r, s) where both are exact: even
// rows kernel row 1 of dy row h / 2, odd rows kernel rows 0 and 2 of dy rows (h + 1) / 2
// and (h - 1) / 2 (columns likewise, taps_s2t), so the 4 rows read dy rows h0 / 2 ..
// h0 / 2 + 2 once per output channel of the group, 3 values each.
@compute @workgroup_size(WG)
fn grouped3x3s2_dx(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * WG;
    if (i >= p.total) {
        return;
    }
    let strips = p.strips;
    let strip = i % strips;
    let rblocks = (p.h + 3u) / 4u;
    let h0 = ((i / strips) % rblocks) * 4u;
    let cvs = p.c / 4u;
    let cv = (i / (strips * rblocks)) % cvs; // block of 4 input channels, all groups
    let n = i / (strips * rblocks * cvs);
    let g = (cv * 4u) / p.cig;
    let s_row = p.cig / 4u;
    let blk = cv - g * s_row;
    let d0 = h0 / 2u;
    let c0 = strip * 2u;
    var a0 = mat4x4<f32>();
    var a1 = mat4x4<f32>();
    var a2 = mat4x4<f32>();
    var a3 = mat4x4<f32>();
    for (var kk = 0u; kk < p.cog; kk++) {
        let k = g * p.cog + kk;
        let plane = (n * p.k + k) * p.oh;
        var w: array<vec4<f32>, 9>;
        for (var t = 0u; t < 9u; t++) {
            w[t] = gw4[(k * 9u + t) * s_row + blk];
        }
        let q0 = dy_row3(plane, d0, c0);
        let q1 = dy_row3(plane, d0 + 1u, c0);
        let q2 = dy_row3(plane, d0 + 2u, c0);
        a0 += s2_row(q0, w, 1u);
        a1 += s2_row(q1, w, 0u) + s2_row(q0, w, 2u);
        a2 += s2_row(q1, w, 1u);
        a3 += s2_row(q2, w, 0u) + s2_row(q1, w, 2u);
    }
    let x0 = strip * 4u;
    store_dx_rows(a0, n, cv * 4u, h0, x0);
    store_dx_rows(a1, n, cv * 4u, h0 + 1u, x0);
    store_dx_rows(a2, n, cv * 4u, h0 + 2u, x0);
    store_dx_rows(a3, n, cv * 4u, h0 + 3u, x0);
}

// dy[row, c0 .. c0+2] of dy row `oh` of plane `plane` (zeros past the last row / column).
fn dy3(plane: u32, oh: u32, c0: u32) -> vec3<f32> {
    if (oh >= p.oh) {
        return vec3<f32>(0.0);
    }
    let e = (plane + oh) * p.ow + c0;
    let t = e >> 2u;
    let a = load_x4(t);
    let b = load_x4(min(t + 1u, p.last_texel));
    var v: vec3<f32>;
    switch e & 3u {
        case 0u: {
            v = a.xyz;
        }
        case 1u: {
            v = a.yzw;
        }
        case 2u: {
            v = vec3<f32>(a.z, a.w, b.x);
        }
        default: {
            v = vec3<f32>(a.w, b.x, b.y);
        }
    }
    if (c0 + 2u >= p.ow) {
        v.z = 0.0;
    }
    return v;
}

// One kernel row (weights a, b, c for s = 0, 1, 2) of dy values q = dy[c0 .. c0+2] into
// the 4 dx columns x0 .. x0+3 (c0 = x0 / 2): column j takes the taps with x0+j+1-s even.
fn taps_s2t(q: vec3<f32>, a: f32, b: f32, c: f32) -> vec4<f32> {
    return vec4<f32>(q.x * b, q.y * a + q.x * c, q.y * b, q.z * a + q.y * c);
}

// The 3x3 kernel of channel ci from bw (dX of stride 2, multiplier 1).
fn dx_kernel9(ci: u32) -> array<f32, 9> {
    var w: array<f32, 9>;
    for (var t = 0u; t < 9u; t++) {
        w[t] = bw[ci * 9u + t];
    }
    return w;
}

// dX of stride 2 at an even row h: kernel row 1 of dy row h/2 (its values q).
fn even_row_s2(q: vec3<f32>, w: array<f32, 9>) -> vec4<f32> {
    return taps_s2t(q, w[3], w[4], w[5]);
}

// At odd row h+1: kernel row 2 of dy row h/2 (lo) and row 0 of dy row h/2+1 (hi).
fn odd_row_s2(lo: vec3<f32>, hi: vec3<f32>, w: array<f32, 9>) -> vec4<f32> {
    return taps_s2t(hi, w[0], w[1], w[2]) + taps_s2t(lo, w[6], w[7], w[8]);
}

@compute @workgroup_size(WG)
fn backward_input3x3s2(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * WG;
    if (i >= p.total) {
        return;
    }
    let wv = (p.w + 3u) / 4u; // strips of 4 dx columns
    let strip = i % wv;
    let rblocks = (p.h + ROWS - 1u) / ROWS;
    let h0 = ((i / wv) % rblocks) * ROWS;
    let ci = (i / (wv * rblocks)) % p.c;
    let n = i / (wv * rblocks * p.c);
    let plane = (n * p.k + ci) * p.oh;
    let w = dx_kernel9(ci);
    let c0 = strip * 2u;
    let oh0 = h0 / 2u;
    var lo = s2_dy(plane, oh0, c0);
    let xbase = (n * p.c + ci) * p.h;
    for (var o = 0u; o < ROWS / 2u; o++) {
        let h = h0 + 2u * o;
        if (h >= p.h) {
            break;
        }
        // Even row h: kernel row 1 of dy row h/2.
        s2_store(xbase + h, strip, even_row_s2(lo, w));
        if (h + 1u >= p.h) {
            break;
        }
        // Odd row h+1: kernel row 0 of dy row h/2+1, row 2 of dy row h/2.
        let hi = s2_dy(plane, oh0 + o + 1u, c0);
        s2_store(xbase + h + 1u, strip, odd_row_s2(lo, hi, w));
        lo = hi;
    }
}

// backward_input3x3s2's dy values c0 .. c0 + 2 of dy row d: from the texel operand, or
// with ANY_WIDTH (w not a multiple of 4) bounded storage loads (dy_row3).
fn s2_dy(plane: u32, d: u32, c0: u32) -> vec3<f32> {
// #if ANY_WIDTH
    return dy_row3(plane, d, c0);
// #else
    return dy3(plane, d, c0);
// #endif
}

// backward_input3x3s2's 4 dx columns of a strip in dx row `row` (over all planes): one
// vec4, or with ANY_WIDTH the columns inside the row.
fn s2_store(row: u32, strip: u32, v: vec4<f32>) {
// #if ANY_WIDTH
    store_dx4(row, strip * 4u, v);
// #else
    vdx[row * (p.w / 4u) + strip] = v;
// #endif
}

@group(0) @binding(2) var tdy: texture_storage_2d<rgba32float, read>;
@group(0) @binding(3) var<storage, read_write> dwpart: array<f32>;

fn load_dy4(i: u32) -> vec4<f32> {
    return textureLoad(tdy, vec2<u32>(i & ((1u << TEX_SHIFT) - 1u), i >> TEX_SHIFT));
}

@compute @workgroup_size(WG)
fn backward_weight3x3(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * WG;
    if (i >= p.total) {
        return;
    }
    let co = i % p.k;
    let z = i / p.k;
    let r0 = z * p.chunk;
    let r1 = min(r0 + p.chunk, p.n * p.oh);
    let owv = p.ow / 4u;
    var a0 = vec4<f32>(0.0);
    var a1 = vec4<f32>(0.0);
    var a2 = vec4<f32>(0.0);
    var a3 = vec4<f32>(0.0);
    var a4 = vec4<f32>(0.0);
    var a5 = vec4<f32>(0.0);
    var a6 = vec4<f32>(0.0);
    var a7 = vec4<f32>(0.0);
    var a8 = vec4<f32>(0.0);
    for (var row = r0; row < r1; row++) {
        let n = row / p.oh;
        let oh = row - n * p.oh;
        let plane = (n * p.c + co / p.cog) * p.h;
        let dyrow = ((n * p.k + co) * p.oh + oh) * owv;
        let top = i32(oh * STRIDE) - 1;
        for (var c4 = 0u; c4 < owv; c4++) {
            let d = load_dy4(dyrow + c4);
            let x0 = row3(plane, top, c4 * STRIDE);
            let x1 = row3(plane, top + 1, c4 * STRIDE);
            let x2 = row3(plane, top + 2, c4 * STRIDE);
            a0 = fma(d, cols(x0, 0u), a0);
            a1 = fma(d, cols(x0, 1u), a1);
            a2 = fma(d, cols(x0, 2u), a2);
            a3 = fma(d, cols(x1, 0u), a3);
            a4 = fma(d, cols(x1, 1u), a4);
            a5 = fma(d, cols(x1, 2u), a5);
            a6 = fma(d, cols(x2, 0u), a6);
            a7 = fma(d, cols(x2, 1u), a7);
            a8 = fma(d, cols(x2, 2u), a8);
        }
    }
    let b = (z * p.k + co) * 9u;
    dwpart[b] = (a0.x + a0.y) + (a0.z + a0.w);
    dwpart[b + 1u] = (a1.x + a1.y) + (a1.z + a1.w);
    dwpart[b + 2u] = (a2.x + a2.y) + (a2.z + a2.w);
    dwpart[b + 3u] = (a3.x + a3.y) + (a3.z + a3.w);
    dwpart[b + 4u] = (a4.x + a4.y) + (a4.z + a4.w);
    dwpart[b + 5u] = (a5.x + a5.y) + (a5.z + a5.w);
    dwpart[b + 6u] = (a6.x + a6.y) + (a6.z + a6.w);
    dwpart[b + 7u] = (a7.x + a7.y) + (a7.z + a7.w);
    dwpart[b + 8u] = (a8.x + a8.y) + (a8.z + a8.w);
}

// #if SUBGROUPS
// forward3x3_sg: forward3x3 (4 output columns per invocation) with the strips of one
// output row in adjacent lanes of a subgroup, so that each lane loads only its own input
// columns (STRIDE vec4s per input row) and takes the one neighbouring column each tap
// row needs from the lane beside it (subgroupShuffleUp / Down): 1 texel load per input
// row at stride 1 instead of 3. The launcher checks that the strips of a row (p.strips)
// divide the subgroup size SG, so no row straddles two subgroups; p.chunk output rows
// per invocation. Every lane runs the same loop (shuffles need all lanes): lanes past
// p.total compute with a clamped index and store nothing.
override SG: u32 = 8u;
// The *_sg entries read x from storage (on lavapipe as fast as a texel operand once
// each vec4 is loaded once, and no texel copy in front).
@group(0) @binding(1) var<storage, read> x4: array<vec4<f32>>;

// An invocation of the *_sg entries: its logical index is built so that the lanes of a
// subgroup are consecutive indices, split into (unit, strip) with p.strips (a power of
// two dividing SG) strips per unit; past p.total (not live) it takes the last index.
struct SgLane {
    live: bool,
    strip: u32,
    unit: u32,
}

fn sg_lane(wid: vec3<u32>, nwg: vec3<u32>, sgid: u32, lane: u32) -> SgLane {
    let i = (wid.x + wid.y * nwg.x) * WG + sgid * SG + lane;
    let ic = min(i, p.total - 1u);
    let live = i < p.total;
    return SgLane(live, ic & (p.strips - 1u), ic >> countTrailingZeros(p.strips));
}

// Input row ih of a plane for the lane owning strip `strip` of `spr`, in row3's layout:
// v[1] (and v[2] at stride 2) its own vec4s, v[0] the left lane's last vec4 and at
// stride 1 v[2] the right lane's first, zeros outside the image.
fn row_sg(plane: u32, ih: i32, strip: u32, spr: u32) -> array<vec4<f32>, 4> {
    var v: array<vec4<f32>, 4>;
    let inside = ih >= 0 && ih < i32(p.h);
    let base = (plane + u32(clamp(ih, 0, i32(p.h) - 1))) * (p.w / 4u) + strip * select(STRIDE, 2u, WIDE);
    let a = select(vec4<f32>(0.0), x4[base], inside);
    let first = strip == 0u;
    if (WIDE) {
        let b = select(vec4<f32>(0.0), x4[base + 1u], inside);
        v[0] = select(subgroupShuffleUp(b, 1u), vec4<f32>(0.0), first);
        v[1] = a;
        v[2] = b;
        v[3] = select(subgroupShuffleDown(a, 1u), vec4<f32>(0.0), strip + 1u == spr);
    } else if (STRIDE == 1u) {
        v[0] = select(subgroupShuffleUp(a, 1u), vec4<f32>(0.0), first);
        v[1] = a;
        v[2] = select(subgroupShuffleDown(a, 1u), vec4<f32>(0.0), strip + 1u == spr);
    } else {
        let b = select(vec4<f32>(0.0), x4[base + 1u], inside);
        v[0] = select(subgroupShuffleUp(b, 1u), vec4<f32>(0.0), first);
        v[1] = a;
        v[2] = b;
    }
    return v;
}

@compute @workgroup_size(WG)
fn forward3x3_sg(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                 @builtin(subgroup_id) sgid: u32, @builtin(subgroup_invocation_id) lane: u32) {
    let at = sg_lane(wid, nwg, sgid, lane);
    let live = at.live;
    let strip = at.strip;
    let spr = p.strips;
    let rows = p.chunk;
    let rblocks = (p.oh + rows - 1u) / rows;
    let oh0 = (at.unit % rblocks) * rows;
    let co = (at.unit / rblocks) % p.k;
    let n = at.unit / (rblocks * p.k);
    let plane = (n * p.c + co / p.cog) * p.h;
    let w = kernel9(co);
    let obase = (n * p.k + co) * p.oh;
    let act = (p.flags >> 2u) & 3u;
    let b = select(0.0, fbias[co], (p.flags & 1u) != 0u);
    let ih0 = i32(oh0 * STRIDE) - 1;
    var r0 = row_sg(plane, ih0, strip, spr);
    var r1 = row_sg(plane, ih0 + 1, strip, spr);
    for (var o = 0u; o < rows; o++) {
        let oh = oh0 + o;
        let top = i32(oh * STRIDE) - 1;
        if (STRIDE == 2u) {
            r1 = row_sg(plane, top + 1, strip, spr);
        }
        let r2 = row_sg(plane, top + 2, strip, spr);
        if (live && oh < p.oh) {
            store_strip(r0, r1, r2, w, b, (obase + oh) * (p.ow / 4u) + select(strip, 2u * strip, WIDE), act);
        }
        if (STRIDE == 1u) {
            r0 = r1;
            r1 = r2;
        } else {
            r0 = r2;
        }
    }
}

// backward_input3x3s2_sg: backward_input3x3s2 with the strips of a dx row in adjacent
// lanes, 8 dx columns per lane (forward3x3's stride 2 has OW, so dy's rows, in whole
// vec4s): per dy row each lane loads the four dy values its columns start at (one vec4,
// x4's view of binding 1) and takes the fifth from the lane beside it. p.chunk (even) dx
// rows per invocation.

// The dy values of dy row oh the lane's first and second 4 dx columns read:
// dy[c0 .. c0 + 2] with c0 = 2 * (their first dx column).
fn dy_sg(plane: u32, oh: u32, strip: u32, spr: u32) -> array<vec3<f32>, 2> {
    let row = plane + min(oh, p.oh - 1u);
    let a = select(vec4<f32>(0.0), x4[row * (p.ow / 4u) + strip], oh < p.oh);
    let next = select(subgroupShuffleDown(a.x, 1u), 0.0, strip + 1u == spr);
    return array<vec3<f32>, 2>(a.xyz, vec3<f32>(a.zw, next));
}

@compute @workgroup_size(WG)
fn backward_input3x3s2_sg(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                          @builtin(subgroup_id) sgid: u32, @builtin(subgroup_invocation_id) lane: u32) {
    let at = sg_lane(wid, nwg, sgid, lane);
    let live = at.live;
    let strip = at.strip;
    let unit = at.unit;
    let spr = p.strips;
    let rows = p.chunk;
    let rblocks = (p.h + rows - 1u) / rows;
    let h0 = (unit % rblocks) * rows;
    let ci = (unit / rblocks) % p.c;
    let n = unit / (rblocks * p.c);
    let plane = (n * p.k + ci) * p.oh;
    let w = dx_kernel9(ci);
    let oh0 = h0 / 2u;
    let wv = p.w / 4u;
    let col = 2u * strip;
    let xbase = (n * p.c + ci) * p.h;
    var lo = dy_sg(plane, oh0, strip, spr);
    for (var o = 0u; o < rows / 2u; o++) {
        let h = h0 + 2u * o;
        let hi = dy_sg(plane, oh0 + o + 1u, strip, spr);
        if (live && h < p.h) {
            // Even row h: kernel row 1 of dy row h/2.
            vdx[(xbase + h) * wv + col] = even_row_s2(lo[0], w);
            vdx[(xbase + h) * wv + col + 1u] = even_row_s2(lo[1], w);
        }
        if (live && h + 1u < p.h) {
            // Odd row h+1: kernel row 0 of dy row h/2+1, row 2 of dy row h/2.
            vdx[(xbase + h + 1u) * wv + col] = odd_row_s2(lo[0], hi[0], w);
            vdx[(xbase + h + 1u) * wv + col + 1u] = odd_row_s2(lo[1], hi[1], w);
        }
        lo = hi;
    }
}

// backward_weight3x3_sg: backward_weight3x3 with the strips of a row in adjacent lanes
// (x rows as forward3x3_sg loads them), each invocation sliding down whole images, so
// that each x row is loaded once instead of three times. Invocation (z, co, strip): split
// z covers images z * p.chunk .. z * p.chunk + p.chunk - 1 (every lane runs p.chunk
// images, those past n with zero dy); the lanes' partial sums meet by
// subgroupShuffleXor and the first strip stores part[z][co][r][s].
@group(0) @binding(2) var<storage, read> dy4: array<vec4<f32>>;

// The sum over the strips of a row (adjacent lanes, `spr` a power of two) of the sum of
// v's components.
fn row_sum(v: vec4<f32>, spr: u32) -> f32 {
    var t = (v.x + v.y) + (v.z + v.w);
    for (var m = 1u; m < spr; m <<= 1u) {
        t += subgroupShuffleXor(t, m);
    }
    return t;
}

@compute @workgroup_size(WG)
fn backward_weight3x3_sg(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                         @builtin(subgroup_id) sgid: u32, @builtin(subgroup_invocation_id) lane: u32) {
    let at = sg_lane(wid, nwg, sgid, lane);
    let live = at.live;
    let strip = at.strip;
    let unit = at.unit;
    let spr = p.strips;
    let co = unit % p.k;
    let z = unit / p.k;
    var a0 = vec4<f32>(0.0);
    var a1 = vec4<f32>(0.0);
    var a2 = vec4<f32>(0.0);
    var a3 = vec4<f32>(0.0);
    var a4 = vec4<f32>(0.0);
    var a5 = vec4<f32>(0.0);
    var a6 = vec4<f32>(0.0);
    var a7 = vec4<f32>(0.0);
    var a8 = vec4<f32>(0.0);
    for (var j = 0u; j < p.chunk; j++) {
        let image = z * p.chunk + j;
        let n = min(image, p.n - 1u);
        let plane = (n * p.c + co / p.cog) * p.h;
        let dyplane = (n * p.k + co) * p.oh;
        var x0 = row_sg(plane, -1, strip, spr);
        var x1 = row_sg(plane, 0, strip, spr);
        for (var oh = 0u; oh < p.oh; oh++) {
            let top = i32(oh * STRIDE) - 1;
            if (STRIDE == 2u) {
                x1 = row_sg(plane, top + 1, strip, spr);
            }
            let x2 = row_sg(plane, top + 2, strip, spr);
            let d = select(vec4<f32>(0.0), dy4[(dyplane + oh) * spr + strip], image < p.n);
            a0 = fma(d, cols(x0, 0u), a0);
            a1 = fma(d, cols(x0, 1u), a1);
            a2 = fma(d, cols(x0, 2u), a2);
            a3 = fma(d, cols(x1, 0u), a3);
            a4 = fma(d, cols(x1, 1u), a4);
            a5 = fma(d, cols(x1, 2u), a5);
            a6 = fma(d, cols(x2, 0u), a6);
            a7 = fma(d, cols(x2, 1u), a7);
            a8 = fma(d, cols(x2, 2u), a8);
            if (STRIDE == 1u) {
                x0 = x1;
                x1 = x2;
            } else {
                x0 = x2;
            }
        }
    }
    let s0 = row_sum(a0, spr);
    let s1 = row_sum(a1, spr);
    let s2 = row_sum(a2, spr);
    let s3 = row_sum(a3, spr);
    let s4 = row_sum(a4, spr);
    let s5 = row_sum(a5, spr);
    let s6 = row_sum(a6, spr);
    let s7 = row_sum(a7, spr);
    let s8 = row_sum(a8, spr);
    if (live && strip == 0u) {
        let b = (z * p.k + co) * 9u;
        dwpart[b] = s0;
        dwpart[b + 1u] = s1;
        dwpart[b + 2u] = s2;
        dwpart[b + 3u] = s3;
        dwpart[b + 4u] = s4;
        dwpart[b + 5u] = s5;
        dwpart[b + 6u] = s6;
        dwpart[b + 7u] = s7;
        dwpart[b + 8u] = s8;
    }
}
// #endif

// grouped_backward_weight3x3: dW of a grouped (or depthwise) 3x3 convolution with padding
// 1 (top/left), dilation 1, stride STRIDE (1 or 2) on both axes. One invocation per (split
// z, group, input channel ci, block of 4 output channels of the group): for each image of
// its split and each 4-column strip it slides a window of three input rows (row3) down
// the output rows, loads the 4 channels' dy vec4s once per output row, and adds to tap
// (r, s) of channel j the dot product of dy_j with the input columns tap s meets (cols):
// acc[r*3+s][j]. 36 sums from 7 loads per strip and row (stride 1), where
// conv2d_grouped.wgsl's `backward_weight` loads 8 values per 4 products. x and dy are
// texel operands where w == ow * STRIDE and ow % 4 == 0; with ANY_WIDTH (any w, ow)
// storage buffers read by bounded scalar loads. part[z][co][ci][r][s] for the block's
// channels inside the group.
@group(0) @binding(2) var<storage, read> sdy: array<f32>;

// dy columns 4 c4 .. 4 c4 + 3 of dy row `row` (a row index over all planes): one texel,
// or with ANY_WIDTH bounded scalar loads, zeros past the row's end.
fn block_dy4(row: u32, c4: u32) -> vec4<f32> {
// #if ANY_WIDTH
    let b = row * p.ow;
    let c0 = c4 * 4u;
    let last = p.ow - 1u;
    return vec4<f32>(select(0.0, sdy[b + min(c0, last)], c0 < p.ow),
                     select(0.0, sdy[b + min(c0 + 1u, last)], c0 + 1u < p.ow),
                     select(0.0, sdy[b + min(c0 + 2u, last)], c0 + 2u < p.ow),
                     select(0.0, sdy[b + min(c0 + 3u, last)], c0 + 3u < p.ow));
// #else
    return load_dy4(row * (p.ow / 4u) + c4);
// #endif
}

// Channel j's share of one tap: dot(dy_j, the tap's input columns) for the 4 channels.
fn tap4(d: array<vec4<f32>, 4>, v: vec4<f32>) -> vec4<f32> {
    return vec4<f32>(dot(d[0], v), dot(d[1], v), dot(d[2], v), dot(d[3], v));
}

@compute @workgroup_size(WG)
fn grouped_backward_weight3x3(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
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
            var x0 = row3(plane, -1, xc);
            var x1 = row3(plane, 0, xc);
            for (var oh = 0u; oh < p.oh; oh++) {
                let top = i32(oh * STRIDE) - 1;
                if (STRIDE == 2u) {
                    x1 = row3(plane, top + 1, xc);
                }
                let x2 = row3(plane, top + 2, xc);
                var d: array<vec4<f32>, 4>;
                d[0] = block_dy4(dyp0 + oh, c4);
                d[1] = block_dy4(dyp1 + oh, c4);
                d[2] = block_dy4(dyp2 + oh, c4);
                d[3] = block_dy4(dyp3 + oh, c4);
                a0 += tap4(d, cols(x0, 0u));
                a1 += tap4(d, cols(x0, 1u));
                a2 += tap4(d, cols(x0, 2u));
                a3 += tap4(d, cols(x1, 0u));
                a4 += tap4(d, cols(x1, 1u));
                a5 += tap4(d, cols(x1, 2u));
                a6 += tap4(d, cols(x2, 0u));
                a7 += tap4(d, cols(x2, 1u));
                a8 += tap4(d, cols(x2, 2u));
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
            dwpart[b] = a0[j];
            dwpart[b + 1u] = a1[j];
            dwpart[b + 2u] = a2[j];
            dwpart[b + 3u] = a3[j];
            dwpart[b + 4u] = a4[j];
            dwpart[b + 5u] = a5[j];
            dwpart[b + 6u] = a6[j];
            dwpart[b + 7u] = a7[j];
            dwpart[b + 8u] = a8[j];
        }
    }
}
