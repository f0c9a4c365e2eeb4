// conv2d_igemm_portable: the implicit-GEMM convolution of conv2d_igemm.wgsl for adapters
// without subgroup operations (groups = 1). Same layouts, Params, entry points and outputs;
// every invocation loads the weights (forward) or dy values (weight_grad) it needs itself
// instead of receiving them by subgroupShuffle.
//   forward, forward_k32, forward_k16: each invocation owns KB output channels x PB
//     consecutive output pixels (64 x 8, 32 x 16, 16 x 32). Grid: x/y = blocks of WG*PB
//     pixels, z = KB blocks of channels.
//   weight_grad: each invocation owns 64 channels x 2 vec4s of (r, s, c/4).
//     Grid: x = blocks of 2*WG vec4s, y = blocks of 64 k, z = splits of the pixels.
// The hot loops are written out register by register (see conv2d_igemm.wgsl).
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

override WG: u32 = 64u;

@group(0) @binding(0) var<uniform> p: Params;

@group(0) @binding(1) var<storage, read> x: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> wt: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read> res: array<vec4<f32>>;
@group(0) @binding(5) var<storage, read_write> y: array<vec4<f32>>;

@group(0) @binding(1) var<storage, read> gdy: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> gx: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> gpart: array<vec4<f32>>;

// The store epilogue, specialized at pipeline creation: lavapipe runs both sides of every
// `if` (masked), so a runtime test would cost its whole body on every store.
//   EPILOGUE: apply p.flags: bit 0 add bias[k]; bits 2..3 activation (0 none, 1 relu,
//     2 relu6); bit 1 add res after the activation (false: store the sums as they are).
//   VEC4_ROWS: OH*OW is a multiple of 4, so 4 consecutive pixels of one channel are one
//     aligned vec4 of y (stored as one).
//   SMALL_M: m < 2^23, so pixel index divisions run in f32 (div_m).
// y and res are bound as vec4 arrays (rounded up to 16 bytes).
override EPILOGUE: bool = true;
override VEC4_ROWS: bool = false;
override SMALL_M: bool = false;

fn epilogue4(v0: vec4<f32>, k: u32, i4: u32) -> vec4<f32> {
    var v = v0;
    if (EPILOGUE) {
        if ((p.flags & 1u) != 0u) {
            v += vec4<f32>(bias[k]);
        }
        let act = (p.flags >> 2u) & 3u;
        if (act == 1u) {
            v = max(v, vec4<f32>(0.0));
        } else if (act == 2u) {
            v = clamp(v, vec4<f32>(0.0), vec4<f32>(6.0));
        }
        if ((p.flags & 2u) != 0u) {
            v += res[i4];
        }
    }
    return v;
}

fn epilogue1(v0: f32, k: u32, i: u32) -> f32 {
    var v = v0;
    if (EPILOGUE) {
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
            v += res[i / 4u][i % 4u];
        }
    }
    return v;
}

// a / d for pixel indices: with SMALL_M (every pixel index below 2^23) one f32 division,
// exact after one correction step (lavapipe runs a u32 division as a scalar one per lane).
fn div_m(a: u32, d: u32) -> u32 {
    if (SMALL_M) {
        var q = u32(f32(a) / f32(d));
        if (q * d > a) {
            q -= 1u;
        } else if ((q + 1u) * d <= a) {
            q += 1u;
        }
        return q;
    }
    return a / d;
}

// Offset of output pixel m's window origin in the padded NHWC input (m clamped to the last
// pixel: lanes past the end compute a duplicate that is never stored).
fn xbase(m1: u32) -> u32 {
    let m = min(m1, p.m - 1u);
    let n = div_m(m, p.pq);
    let rem = m - n * p.pq;
    let oh = div_m(rem, p.ow);
    let ow = rem - oh * p.ow;
    return ((n * p.hp + oh * p.stride_h) * p.wp + ow * p.stride_w) * p.cv;
}

// Stores a 4 (channels) x 4 (pixels) block: a[q][e] is channel kb + e of pixel mb + q.
// Written without loops or dynamic indices: lavapipe keeps a matrix indexed by a loop
// variable in memory and stores it lane by lane.
fn store_block(a: mat4x4<f32>, mb: u32, kb: u32) {
    if (VEC4_ROWS) {
        if (mb + 3u < p.m) {
            // mb is a multiple of 4 and so is OH*OW: the 4 pixels are one vec4 of each
            // channel.
            let n = div_m(mb, p.pq);
            let ybase = n * p.k * p.pq + (mb - n * p.pq);
            let t = transpose(a);
            store_channel4(t[0], ybase, kb);
            store_channel4(t[1], ybase, kb + 1u);
            store_channel4(t[2], ybase, kb + 2u);
            store_channel4(t[3], ybase, kb + 3u);
        }
    } else {
        store_pixel(a[0], mb, kb);
        store_pixel(a[1], mb + 1u, kb);
        store_pixel(a[2], mb + 2u, kb);
        store_pixel(a[3], mb + 3u, kb);
    }
}

// Four consecutive pixels (from ybase, a multiple of 4) of channel k.
fn store_channel4(v: vec4<f32>, ybase: u32, k: u32) {
    if (k < p.k) {
        let i4 = (ybase + k * p.pq) / 4u;
        y[i4] = epilogue4(v, k, i4);
    }
}

// Channels kb .. kb + 3 of pixel m (skipped past the ends).
fn store_pixel(v: vec4<f32>, m: u32, kb: u32) {
    if (m < p.m) {
        let n = div_m(m, p.pq);
        let ybase = n * p.k * p.pq + (m - n * p.pq);
        store_one(v.x, ybase, kb);
        store_one(v.y, ybase, kb + 1u);
        store_one(v.z, ybase, kb + 2u);
        store_one(v.w, ybase, kb + 3u);
    }
}

fn store_one(v: f32, ybase: u32, k: u32) {
    if (k < p.k) {
        let yi = ybase + k * p.pq;
        y[yi / 4u][yi % 4u] = epilogue1(v, k, yi);
    }
}

@compute @workgroup_size(WG)
fn forward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
           @builtin(local_invocation_index) lid: u32) {
    // 64 output channels x 8 pixels per invocation.
    let m0 = ((wid.x + wid.y * nwg.x) * WG + lid) * 8u;
    if (m0 >= p.m) {
        return;
    }
    let k0 = wid.z * 64u;
    let xb0 = xbase(m0 + 0u);
    let xb1 = xbase(m0 + 1u);
    let xb2 = xbase(m0 + 2u);
    let xb3 = xbase(m0 + 3u);
    let xb4 = xbase(m0 + 4u);
    let xb5 = xbase(m0 + 5u);
    let xb6 = xbase(m0 + 6u);
    let xb7 = xbase(m0 + 7u);
    let wk0 = k0 * p.wk_stride;
    var a0_0 = mat4x4<f32>(); var a0_1 = mat4x4<f32>();
    var a1_0 = mat4x4<f32>(); var a1_1 = mat4x4<f32>();
    var a2_0 = mat4x4<f32>(); var a2_1 = mat4x4<f32>();
    var a3_0 = mat4x4<f32>(); var a3_1 = mat4x4<f32>();
    var a4_0 = mat4x4<f32>(); var a4_1 = mat4x4<f32>();
    var a5_0 = mat4x4<f32>(); var a5_1 = mat4x4<f32>();
    var a6_0 = mat4x4<f32>(); var a6_1 = mat4x4<f32>();
    var a7_0 = mat4x4<f32>(); var a7_1 = mat4x4<f32>();
    var a8_0 = mat4x4<f32>(); var a8_1 = mat4x4<f32>();
    var a9_0 = mat4x4<f32>(); var a9_1 = mat4x4<f32>();
    var a10_0 = mat4x4<f32>(); var a10_1 = mat4x4<f32>();
    var a11_0 = mat4x4<f32>(); var a11_1 = mat4x4<f32>();
    var a12_0 = mat4x4<f32>(); var a12_1 = mat4x4<f32>();
    var a13_0 = mat4x4<f32>(); var a13_1 = mat4x4<f32>();
    var a14_0 = mat4x4<f32>(); var a14_1 = mat4x4<f32>();
    var a15_0 = mat4x4<f32>(); var a15_1 = mat4x4<f32>();
    for (var r = 0u; r < p.kh; r++) {
        for (var s = 0u; s < p.kw; s++) {
            let xo = (r * p.dil_h * p.wp + s * p.dil_w) * p.cv;
            let wo = (r * p.kw + s) * p.cv;
            for (var c = 0u; c < p.cv; c++) {
                let o = xo + c;
                let u = wo + c;
                let x0 = mat4x4<f32>(x[xb0 + o], x[xb1 + o], x[xb2 + o], x[xb3 + o]);
                let x1 = mat4x4<f32>(x[xb4 + o], x[xb5 + o], x[xb6 + o], x[xb7 + o]);
                let m0 = transpose(mat4x4<f32>(wt[wk0 + 0u * p.wk_stride + u], wt[wk0 + 1u * p.wk_stride + u], wt[wk0 + 2u * p.wk_stride + u], wt[wk0 + 3u * p.wk_stride + u]));
                a0_0 += m0 * x0;
                a0_1 += m0 * x1;
                let m1 = transpose(mat4x4<f32>(wt[wk0 + 4u * p.wk_stride + u], wt[wk0 + 5u * p.wk_stride + u], wt[wk0 + 6u * p.wk_stride + u], wt[wk0 + 7u * p.wk_stride + u]));
                a1_0 += m1 * x0;
                a1_1 += m1 * x1;
                let m2 = transpose(mat4x4<f32>(wt[wk0 + 8u * p.wk_stride + u], wt[wk0 + 9u * p.wk_stride + u], wt[wk0 + 10u * p.wk_stride + u], wt[wk0 + 11u * p.wk_stride + u]));
                a2_0 += m2 * x0;
                a2_1 += m2 * x1;
                let m3 = transpose(mat4x4<f32>(wt[wk0 + 12u * p.wk_stride + u], wt[wk0 + 13u * p.wk_stride + u], wt[wk0 + 14u * p.wk_stride + u], wt[wk0 + 15u * p.wk_stride + u]));
                a3_0 += m3 * x0;
                a3_1 += m3 * x1;
                let m4 = transpose(mat4x4<f32>(wt[wk0 + 16u * p.wk_stride + u], wt[wk0 + 17u * p.wk_stride + u], wt[wk0 + 18u * p.wk_stride + u], wt[wk0 + 19u * p.wk_stride + u]));
                a4_0 += m4 * x0;
                a4_1 += m4 * x1;
                let m5 = transpose(mat4x4<f32>(wt[wk0 + 20u * p.wk_stride + u], wt[wk0 + 21u * p.wk_stride + u], wt[wk0 + 22u * p.wk_stride + u], wt[wk0 + 23u * p.wk_stride + u]));
                a5_0 += m5 * x0;
                a5_1 += m5 * x1;
                let m6 = transpose(mat4x4<f32>(wt[wk0 + 24u * p.wk_stride + u], wt[wk0 + 25u * p.wk_stride + u], wt[wk0 + 26u * p.wk_stride + u], wt[wk0 + 27u * p.wk_stride + u]));
                a6_0 += m6 * x0;
                a6_1 += m6 * x1;
                let m7 = transpose(mat4x4<f32>(wt[wk0 + 28u * p.wk_stride + u], wt[wk0 + 29u * p.wk_stride + u], wt[wk0 + 30u * p.wk_stride + u], wt[wk0 + 31u * p.wk_stride + u]));
                a7_0 += m7 * x0;
                a7_1 += m7 * x1;
                let m8 = transpose(mat4x4<f32>(wt[wk0 + 32u * p.wk_stride + u], wt[wk0 + 33u * p.wk_stride + u], wt[wk0 + 34u * p.wk_stride + u], wt[wk0 + 35u * p.wk_stride + u]));
                a8_0 += m8 * x0;
                a8_1 += m8 * x1;
                let m9 = transpose(mat4x4<f32>(wt[wk0 + 36u * p.wk_stride + u], wt[wk0 + 37u * p.wk_stride + u], wt[wk0 + 38u * p.wk_stride + u], wt[wk0 + 39u * p.wk_stride + u]));
                a9_0 += m9 * x0;
                a9_1 += m9 * x1;
                let m10 = transpose(mat4x4<f32>(wt[wk0 + 40u * p.wk_stride + u], wt[wk0 + 41u * p.wk_stride + u], wt[wk0 + 42u * p.wk_stride + u], wt[wk0 + 43u * p.wk_stride + u]));
                a10_0 += m10 * x0;
                a10_1 += m10 * x1;
                let m11 = transpose(mat4x4<f32>(wt[wk0 + 44u * p.wk_stride + u], wt[wk0 + 45u * p.wk_stride + u], wt[wk0 + 46u * p.wk_stride + u], wt[wk0 + 47u * p.wk_stride + u]));
                a11_0 += m11 * x0;
                a11_1 += m11 * x1;
                let m12 = transpose(mat4x4<f32>(wt[wk0 + 48u * p.wk_stride + u], wt[wk0 + 49u * p.wk_stride + u], wt[wk0 + 50u * p.wk_stride + u], wt[wk0 + 51u * p.wk_stride + u]));
                a12_0 += m12 * x0;
                a12_1 += m12 * x1;
                let m13 = transpose(mat4x4<f32>(wt[wk0 + 52u * p.wk_stride + u], wt[wk0 + 53u * p.wk_stride + u], wt[wk0 + 54u * p.wk_stride + u], wt[wk0 + 55u * p.wk_stride + u]));
                a13_0 += m13 * x0;
                a13_1 += m13 * x1;
                let m14 = transpose(mat4x4<f32>(wt[wk0 + 56u * p.wk_stride + u], wt[wk0 + 57u * p.wk_stride + u], wt[wk0 + 58u * p.wk_stride + u], wt[wk0 + 59u * p.wk_stride + u]));
                a14_0 += m14 * x0;
                a14_1 += m14 * x1;
                let m15 = transpose(mat4x4<f32>(wt[wk0 + 60u * p.wk_stride + u], wt[wk0 + 61u * p.wk_stride + u], wt[wk0 + 62u * p.wk_stride + u], wt[wk0 + 63u * p.wk_stride + u]));
                a15_0 += m15 * x0;
                a15_1 += m15 * x1;
            }
        }
    }
    store_block(a0_0, m0 + 0u, k0 + 0u);
    store_block(a0_1, m0 + 4u, k0 + 0u);
    store_block(a1_0, m0 + 0u, k0 + 4u);
    store_block(a1_1, m0 + 4u, k0 + 4u);
    store_block(a2_0, m0 + 0u, k0 + 8u);
    store_block(a2_1, m0 + 4u, k0 + 8u);
    store_block(a3_0, m0 + 0u, k0 + 12u);
    store_block(a3_1, m0 + 4u, k0 + 12u);
    store_block(a4_0, m0 + 0u, k0 + 16u);
    store_block(a4_1, m0 + 4u, k0 + 16u);
    store_block(a5_0, m0 + 0u, k0 + 20u);
    store_block(a5_1, m0 + 4u, k0 + 20u);
    store_block(a6_0, m0 + 0u, k0 + 24u);
    store_block(a6_1, m0 + 4u, k0 + 24u);
    store_block(a7_0, m0 + 0u, k0 + 28u);
    store_block(a7_1, m0 + 4u, k0 + 28u);
    store_block(a8_0, m0 + 0u, k0 + 32u);
    store_block(a8_1, m0 + 4u, k0 + 32u);
    store_block(a9_0, m0 + 0u, k0 + 36u);
    store_block(a9_1, m0 + 4u, k0 + 36u);
    store_block(a10_0, m0 + 0u, k0 + 40u);
    store_block(a10_1, m0 + 4u, k0 + 40u);
    store_block(a11_0, m0 + 0u, k0 + 44u);
    store_block(a11_1, m0 + 4u, k0 + 44u);
    store_block(a12_0, m0 + 0u, k0 + 48u);
    store_block(a12_1, m0 + 4u, k0 + 48u);
    store_block(a13_0, m0 + 0u, k0 + 52u);
    store_block(a13_1, m0 + 4u, k0 + 52u);
    store_block(a14_0, m0 + 0u, k0 + 56u);
    store_block(a14_1, m0 + 4u, k0 + 56u);
    store_block(a15_0, m0 + 0u, k0 + 60u);
    store_block(a15_1, m0 + 4u, k0 + 60u);
}

@compute @workgroup_size(WG)
fn forward_k32(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
           @builtin(local_invocation_index) lid: u32) {
    // 32 output channels x 16 pixels per invocation.
    let m0 = ((wid.x + wid.y * nwg.x) * WG + lid) * 16u;
    if (m0 >= p.m) {
        return;
    }
    let k0 = wid.z * 32u;
    let xb0 = xbase(m0 + 0u);
    let xb1 = xbase(m0 + 1u);
    let xb2 = xbase(m0 + 2u);
    let xb3 = xbase(m0 + 3u);
    let xb4 = xbase(m0 + 4u);
    let xb5 = xbase(m0 + 5u);
    let xb6 = xbase(m0 + 6u);
    let xb7 = xbase(m0 + 7u);
    let xb8 = xbase(m0 + 8u);
    let xb9 = xbase(m0 + 9u);
    let xb10 = xbase(m0 + 10u);
    let xb11 = xbase(m0 + 11u);
    let xb12 = xbase(m0 + 12u);
    let xb13 = xbase(m0 + 13u);
    let xb14 = xbase(m0 + 14u);
    let xb15 = xbase(m0 + 15u);
    let wk0 = k0 * p.wk_stride;
    var a0_0 = mat4x4<f32>(); var a0_1 = mat4x4<f32>(); var a0_2 = mat4x4<f32>(); var a0_3 = mat4x4<f32>();
    var a1_0 = mat4x4<f32>(); var a1_1 = mat4x4<f32>(); var a1_2 = mat4x4<f32>(); var a1_3 = mat4x4<f32>();
    var a2_0 = mat4x4<f32>(); var a2_1 = mat4x4<f32>(); var a2_2 = mat4x4<f32>(); var a2_3 = mat4x4<f32>();
    var a3_0 = mat4x4<f32>(); var a3_1 = mat4x4<f32>(); var a3_2 = mat4x4<f32>(); var a3_3 = mat4x4<f32>();
    var a4_0 = mat4x4<f32>(); var a4_1 = mat4x4<f32>(); var a4_2 = mat4x4<f32>(); var a4_3 = mat4x4<f32>();
    var a5_0 = mat4x4<f32>(); var a5_1 = mat4x4<f32>(); var a5_2 = mat4x4<f32>(); var a5_3 = mat4x4<f32>();
    var a6_0 = mat4x4<f32>(); var a6_1 = mat4x4<f32>(); var a6_2 = mat4x4<f32>(); var a6_3 = mat4x4<f32>();
    var a7_0 = mat4x4<f32>(); var a7_1 = mat4x4<f32>(); var a7_2 = mat4x4<f32>(); var a7_3 = mat4x4<f32>();
    for (var r = 0u; r < p.kh; r++) {
        for (var s = 0u; s < p.kw; s++) {
            let xo = (r * p.dil_h * p.wp + s * p.dil_w) * p.cv;
            let wo = (r * p.kw + s) * p.cv;
            for (var c = 0u; c < p.cv; c++) {
                let o = xo + c;
                let u = wo + c;
                let x0 = mat4x4<f32>(x[xb0 + o], x[xb1 + o], x[xb2 + o], x[xb3 + o]);
                let x1 = mat4x4<f32>(x[xb4 + o], x[xb5 + o], x[xb6 + o], x[xb7 + o]);
                let x2 = mat4x4<f32>(x[xb8 + o], x[xb9 + o], x[xb10 + o], x[xb11 + o]);
                let x3 = mat4x4<f32>(x[xb12 + o], x[xb13 + o], x[xb14 + o], x[xb15 + o]);
                let m0 = transpose(mat4x4<f32>(wt[wk0 + 0u * p.wk_stride + u], wt[wk0 + 1u * p.wk_stride + u], wt[wk0 + 2u * p.wk_stride + u], wt[wk0 + 3u * p.wk_stride + u]));
                a0_0 += m0 * x0;
                a0_1 += m0 * x1;
                a0_2 += m0 * x2;
                a0_3 += m0 * x3;
                let m1 = transpose(mat4x4<f32>(wt[wk0 + 4u * p.wk_stride + u], wt[wk0 + 5u * p.wk_stride + u], wt[wk0 + 6u * p.wk_stride + u], wt[wk0 + 7u * p.wk_stride + u]));
                a1_0 += m1 * x0;
                a1_1 += m1 * x1;
                a1_2 += m1 * x2;
                a1_3 += m1 * x3;
                let m2 = transpose(mat4x4<f32>(wt[wk0 + 8u * p.wk_stride + u], wt[wk0 + 9u * p.wk_stride + u], wt[wk0 + 10u * p.wk_stride + u], wt[wk0 + 11u * p.wk_stride + u]));
                a2_0 += m2 * x0;
                a2_1 += m2 * x1;
                a2_2 += m2 * x2;
                a2_3 += m2 * x3;
                let m3 = transpose(mat4x4<f32>(wt[wk0 + 12u * p.wk_stride + u], wt[wk0 + 13u * p.wk_stride + u], wt[wk0 + 14u * p.wk_stride + u], wt[wk0 + 15u * p.wk_stride + u]));
                a3_0 += m3 * x0;
                a3_1 += m3 * x1;
                a3_2 += m3 * x2;
                a3_3 += m3 * x3;
                let m4 = transpose(mat4x4<f32>(wt[wk0 + 16u * p.wk_stride + u], wt[wk0 + 17u * p.wk_stride + u], wt[wk0 + 18u * p.wk_stride + u], wt[wk0 + 19u * p.wk_stride + u]));
                a4_0 += m4 * x0;
                a4_1 += m4 * x1;
                a4_2 += m4 * x2;
                a4_3 += m4 * x3;
                let m5 = transpose(mat4x4<f32>(wt[wk0 + 20u * p.wk_stride + u], wt[wk0 + 21u * p.wk_stride + u], wt[wk0 + 22u * p.wk_stride + u], wt[wk0 + 23u * p.wk_stride + u]));
                a5_0 += m5 * x0;
                a5_1 += m5 * x1;
                a5_2 += m5 * x2;
                a5_3 += m5 * x3;
                let m6 = transpose(mat4x4<f32>(wt[wk0 + 24u * p.wk_stride + u], wt[wk0 + 25u * p.wk_stride + u], wt[wk0 + 26u * p.wk_stride + u], wt[wk0 + 27u * p.wk_stride + u]));
                a6_0 += m6 * x0;
                a6_1 += m6 * x1;
                a6_2 += m6 * x2;
                a6_3 += m6 * x3;
                let m7 = transpose(mat4x4<f32>(wt[wk0 + 28u * p.wk_stride + u], wt[wk0 + 29u * p.wk_stride + u], wt[wk0 + 30u * p.wk_stride + u], wt[wk0 + 31u * p.wk_stride + u]));
                a7_0 += m7 * x0;
                a7_1 += m7 * x1;
                a7_2 += m7 * x2;
                a7_3 += m7 * x3;
            }
        }
    }
    store_block(a0_0, m0 + 0u, k0 + 0u);
    store_block(a0_1, m0 + 4u, k0 + 0u);
    store_block(a0_2, m0 + 8u, k0 + 0u);
    store_block(a0_3, m0 + 12u, k0 + 0u);
    store_block(a1_0, m0 + 0u, k0 + 4u);
    store_block(a1_1, m0 + 4u, k0 + 4u);
    store_block(a1_2, m0 + 8u, k0 + 4u);
    store_block(a1_3, m0 + 12u, k0 + 4u);
    store_block(a2_0, m0 + 0u, k0 + 8u);
    store_block(a2_1, m0 + 4u, k0 + 8u);
    store_block(a2_2, m0 + 8u, k0 + 8u);
    store_block(a2_3, m0 + 12u, k0 + 8u);
    store_block(a3_0, m0 + 0u, k0 + 12u);
    store_block(a3_1, m0 + 4u, k0 + 12u);
    store_block(a3_2, m0 + 8u, k0 + 12u);
    store_block(a3_3, m0 + 12u, k0 + 12u);
    store_block(a4_0, m0 + 0u, k0 + 16u);
    store_block(a4_1, m0 + 4u, k0 + 16u);
    store_block(a4_2, m0 + 8u, k0 + 16u);
    store_block(a4_3, m0 + 12u, k0 + 16u);
    store_block(a5_0, m0 + 0u, k0 + 20u);
    store_block(a5_1, m0 + 4u, k0 + 20u);
    store_block(a5_2, m0 + 8u, k0 + 20u);
    store_block(a5_3, m0 + 12u, k0 + 20u);
    store_block(a6_0, m0 + 0u, k0 + 24u);
    store_block(a6_1, m0 + 4u, k0 + 24u);
    store_block(a6_2, m0 + 8u, k0 + 24u);
    store_block(a6_3, m0 + 12u, k0 + 24u);
    store_block(a7_0, m0 + 0u, k0 + 28u);
    store_block(a7_1, m0 + 4u, k0 + 28u);
    store_block(a7_2, m0 + 8u, k0 + 28u);
    store_block(a7_3, m0 + 12u, k0 + 28u);
}

@compute @workgroup_size(WG)
fn forward_k16(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
           @builtin(local_invocation_index) lid: u32) {
    // 16 output channels x 32 pixels per invocation.
    let m0 = ((wid.x + wid.y * nwg.x) * WG + lid) * 32u;
    if (m0 >= p.m) {
        return;
    }
    let k0 = wid.z * 16u;
    let xb0 = xbase(m0 + 0u);
    let xb1 = xbase(m0 + 1u);
    let xb2 = xbase(m0 + 2u);
    let xb3 = xbase(m0 + 3u);
    let xb4 = xbase(m0 + 4u);
    let xb5 = xbase(m0 + 5u);
    let xb6 = xbase(m0 + 6u);
    let xb7 = xbase(m0 + 7u);
    let xb8 = xbase(m0 + 8u);
    let xb9 = xbase(m0 + 9u);
    let xb10 = xbase(m0 + 10u);
    let xb11 = xbase(m0 + 11u);
    let xb12 = xbase(m0 + 12u);
    let xb13 = xbase(m0 + 13u);
    let xb14 = xbase(m0 + 14u);
    let xb15 = xbase(m0 + 15u);
    let xb16 = xbase(m0 + 16u);
    let xb17 = xbase(m0 + 17u);
    let xb18 = xbase(m0 + 18u);
    let xb19 = xbase(m0 + 19u);
    let xb20 = xbase(m0 + 20u);
    let xb21 = xbase(m0 + 21u);
    let xb22 = xbase(m0 + 22u);
    let xb23 = xbase(m0 + 23u);
    let xb24 = xbase(m0 + 24u);
    let xb25 = xbase(m0 + 25u);
    let xb26 = xbase(m0 + 26u);
    let xb27 = xbase(m0 + 27u);
    let xb28 = xbase(m0 + 28u);
    let xb29 = xbase(m0 + 29u);
    let xb30 = xbase(m0 + 30u);
    let xb31 = xbase(m0 + 31u);
    let wk0 = k0 * p.wk_stride;
    var a0_0 = mat4x4<f32>(); var a0_1 = mat4x4<f32>(); var a0_2 = mat4x4<f32>(); var a0_3 = mat4x4<f32>(); var a0_4 = mat4x4<f32>(); var a0_5 = mat4x4<f32>(); var a0_6 = mat4x4<f32>(); var a0_7 = mat4x4<f32>();
    var a1_0 = mat4x4<f32>(); var a1_1 = mat4x4<f32>(); var a1_2 = mat4x4<f32>(); var a1_3 = mat4x4<f32>(); var a1_4 = mat4x4<f32>(); var a1_5 = mat4x4<f32>(); var a1_6 = mat4x4<f32>(); var a1_7 = mat4x4<f32>();
    var a2_0 = mat4x4<f32>(); var a2_1 = mat4x4<f32>(); var a2_2 = mat4x4<f32>(); var a2_3 = mat4x4<f32>(); var a2_4 = mat4x4<f32>(); var a2_5 = mat4x4<f32>(); var a2_6 = mat4x4<f32>(); var a2_7 = mat4x4<f32>();
    var a3_0 = mat4x4<f32>(); var a3_1 = mat4x4<f32>(); var a3_2 = mat4x4<f32>(); var a3_3 = mat4x4<f32>(); var a3_4 = mat4x4<f32>(); var a3_5 = mat4x4<f32>(); var a3_6 = mat4x4<f32>(); var a3_7 = mat4x4<f32>();
    for (var r = 0u; r < p.kh; r++) {
        for (var s = 0u; s < p.kw; s++) {
            let xo = (r * p.dil_h * p.wp + s * p.dil_w) * p.cv;
            let wo = (r * p.kw + s) * p.cv;
            for (var c = 0u; c < p.cv; c++) {
                let o = xo + c;
                let u = wo + c;
                let x0 = mat4x4<f32>(x[xb0 + o], x[xb1 + o], x[xb2 + o], x[xb3 + o]);
                let x1 = mat4x4<f32>(x[xb4 + o], x[xb5 + o], x[xb6 + o], x[xb7 + o]);
                let x2 = mat4x4<f32>(x[xb8 + o], x[xb9 + o], x[xb10 + o], x[xb11 + o]);
                let x3 = mat4x4<f32>(x[xb12 + o], x[xb13 + o], x[xb14 + o], x[xb15 + o]);
                let x4 = mat4x4<f32>(x[xb16 + o], x[xb17 + o], x[xb18 + o], x[xb19 + o]);
                let x5 = mat4x4<f32>(x[xb20 + o], x[xb21 + o], x[xb22 + o], x[xb23 + o]);
                let x6 = mat4x4<f32>(x[xb24 + o], x[xb25 + o], x[xb26 + o], x[xb27 + o]);
                let x7 = mat4x4<f32>(x[xb28 + o], x[xb29 + o], x[xb30 + o], x[xb31 + o]);
                let m0 = transpose(mat4x4<f32>(wt[wk0 + 0u * p.wk_stride + u], wt[wk0 + 1u * p.wk_stride + u], wt[wk0 + 2u * p.wk_stride + u], wt[wk0 + 3u * p.wk_stride + u]));
                a0_0 += m0 * x0;
                a0_1 += m0 * x1;
                a0_2 += m0 * x2;
                a0_3 += m0 * x3;
                a0_4 += m0 * x4;
                a0_5 += m0 * x5;
                a0_6 += m0 * x6;
                a0_7 += m0 * x7;
                let m1 = transpose(mat4x4<f32>(wt[wk0 + 4u * p.wk_stride + u], wt[wk0 + 5u * p.wk_stride + u], wt[wk0 + 6u * p.wk_stride + u], wt[wk0 + 7u * p.wk_stride + u]));
                a1_0 += m1 * x0;
                a1_1 += m1 * x1;
                a1_2 += m1 * x2;
                a1_3 += m1 * x3;
                a1_4 += m1 * x4;
                a1_5 += m1 * x5;
                a1_6 += m1 * x6;
                a1_7 += m1 * x7;
                let m2 = transpose(mat4x4<f32>(wt[wk0 + 8u * p.wk_stride + u], wt[wk0 + 9u * p.wk_stride + u], wt[wk0 + 10u * p.wk_stride + u], wt[wk0 + 11u * p.wk_stride + u]));
                a2_0 += m2 * x0;
                a2_1 += m2 * x1;
                a2_2 += m2 * x2;
                a2_3 += m2 * x3;
                a2_4 += m2 * x4;
                a2_5 += m2 * x5;
                a2_6 += m2 * x6;
                a2_7 += m2 * x7;
                let m3 = transpose(mat4x4<f32>(wt[wk0 + 12u * p.wk_stride + u], wt[wk0 + 13u * p.wk_stride + u], wt[wk0 + 14u * p.wk_stride + u], wt[wk0 + 15u * p.wk_stride + u]));
                a3_0 += m3 * x0;
                a3_1 += m3 * x1;
                a3_2 += m3 * x2;
                a3_3 += m3 * x3;
                a3_4 += m3 * x4;
                a3_5 += m3 * x5;
                a3_6 += m3 * x6;
                a3_7 += m3 * x7;
            }
        }
    }
    store_block(a0_0, m0 + 0u, k0 + 0u);
    store_block(a0_1, m0 + 4u, k0 + 0u);
    store_block(a0_2, m0 + 8u, k0 + 0u);
    store_block(a0_3, m0 + 12u, k0 + 0u);
    store_block(a0_4, m0 + 16u, k0 + 0u);
    store_block(a0_5, m0 + 20u, k0 + 0u);
    store_block(a0_6, m0 + 24u, k0 + 0u);
    store_block(a0_7, m0 + 28u, k0 + 0u);
    store_block(a1_0, m0 + 0u, k0 + 4u);
    store_block(a1_1, m0 + 4u, k0 + 4u);
    store_block(a1_2, m0 + 8u, k0 + 4u);
    store_block(a1_3, m0 + 12u, k0 + 4u);
    store_block(a1_4, m0 + 16u, k0 + 4u);
    store_block(a1_5, m0 + 20u, k0 + 4u);
    store_block(a1_6, m0 + 24u, k0 + 4u);
    store_block(a1_7, m0 + 28u, k0 + 4u);
    store_block(a2_0, m0 + 0u, k0 + 8u);
    store_block(a2_1, m0 + 4u, k0 + 8u);
    store_block(a2_2, m0 + 8u, k0 + 8u);
    store_block(a2_3, m0 + 12u, k0 + 8u);
    store_block(a2_4, m0 + 16u, k0 + 8u);
    store_block(a2_5, m0 + 20u, k0 + 8u);
    store_block(a2_6, m0 + 24u, k0 + 8u);
    store_block(a2_7, m0 + 28u, k0 + 8u);
    store_block(a3_0, m0 + 0u, k0 + 12u);
    store_block(a3_1, m0 + 4u, k0 + 12u);
    store_block(a3_2, m0 + 8u, k0 + 12u);
    store_block(a3_3, m0 + 12u, k0 + 12u);
    store_block(a3_4, m0 + 16u, k0 + 12u);
    store_block(a3_5, m0 + 20u, k0 + 12u);
    store_block(a3_6, m0 + 24u, k0 + 12u);
    store_block(a3_7, m0 + 28u, k0 + 12u);
}

@compute @workgroup_size(WG)
fn weight_grad(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    // Invocation owns 64 dy channels and the (r, s, c/4) vec4s j0, j0 + 1.
    let k0 = wid.y * 64u;
    let j0 = (wid.x * WG + lid) * 2u;
    if (j0 >= p.jv) {
        return;
    }
    var joff: array<u32, 2>;
    for (var jj = 0u; jj < 2u; jj++) {
        let j = min(j0 + jj, p.jv - 1u);
        let c = j % p.cv;
        let rs = j / p.cv;
        let r = rs / p.kw;
        let s = rs - r * p.kw;
        joff[jj] = (r * p.dil_h * p.wp + s * p.dil_w) * p.cv + c;
    }
    let jo0 = joff[0];
    let jo1 = joff[1];
    let pix0 = wid.z * p.chunk;
    let pix1 = min(pix0 + p.chunk, p.m);
    let dyo = k0 / 4u;
    var a0_0 = vec4<f32>(); var a0_1 = vec4<f32>(); var a1_0 = vec4<f32>(); var a1_1 = vec4<f32>(); var a2_0 = vec4<f32>(); var a2_1 = vec4<f32>(); var a3_0 = vec4<f32>(); var a3_1 = vec4<f32>();
    var a4_0 = vec4<f32>(); var a4_1 = vec4<f32>(); var a5_0 = vec4<f32>(); var a5_1 = vec4<f32>(); var a6_0 = vec4<f32>(); var a6_1 = vec4<f32>(); var a7_0 = vec4<f32>(); var a7_1 = vec4<f32>();
    var a8_0 = vec4<f32>(); var a8_1 = vec4<f32>(); var a9_0 = vec4<f32>(); var a9_1 = vec4<f32>(); var a10_0 = vec4<f32>(); var a10_1 = vec4<f32>(); var a11_0 = vec4<f32>(); var a11_1 = vec4<f32>();
    var a12_0 = vec4<f32>(); var a12_1 = vec4<f32>(); var a13_0 = vec4<f32>(); var a13_1 = vec4<f32>(); var a14_0 = vec4<f32>(); var a14_1 = vec4<f32>(); var a15_0 = vec4<f32>(); var a15_1 = vec4<f32>();
    var a16_0 = vec4<f32>(); var a16_1 = vec4<f32>(); var a17_0 = vec4<f32>(); var a17_1 = vec4<f32>(); var a18_0 = vec4<f32>(); var a18_1 = vec4<f32>(); var a19_0 = vec4<f32>(); var a19_1 = vec4<f32>();
    var a20_0 = vec4<f32>(); var a20_1 = vec4<f32>(); var a21_0 = vec4<f32>(); var a21_1 = vec4<f32>(); var a22_0 = vec4<f32>(); var a22_1 = vec4<f32>(); var a23_0 = vec4<f32>(); var a23_1 = vec4<f32>();
    var a24_0 = vec4<f32>(); var a24_1 = vec4<f32>(); var a25_0 = vec4<f32>(); var a25_1 = vec4<f32>(); var a26_0 = vec4<f32>(); var a26_1 = vec4<f32>(); var a27_0 = vec4<f32>(); var a27_1 = vec4<f32>();
    var a28_0 = vec4<f32>(); var a28_1 = vec4<f32>(); var a29_0 = vec4<f32>(); var a29_1 = vec4<f32>(); var a30_0 = vec4<f32>(); var a30_1 = vec4<f32>(); var a31_0 = vec4<f32>(); var a31_1 = vec4<f32>();
    var a32_0 = vec4<f32>(); var a32_1 = vec4<f32>(); var a33_0 = vec4<f32>(); var a33_1 = vec4<f32>(); var a34_0 = vec4<f32>(); var a34_1 = vec4<f32>(); var a35_0 = vec4<f32>(); var a35_1 = vec4<f32>();
    var a36_0 = vec4<f32>(); var a36_1 = vec4<f32>(); var a37_0 = vec4<f32>(); var a37_1 = vec4<f32>(); var a38_0 = vec4<f32>(); var a38_1 = vec4<f32>(); var a39_0 = vec4<f32>(); var a39_1 = vec4<f32>();
    var a40_0 = vec4<f32>(); var a40_1 = vec4<f32>(); var a41_0 = vec4<f32>(); var a41_1 = vec4<f32>(); var a42_0 = vec4<f32>(); var a42_1 = vec4<f32>(); var a43_0 = vec4<f32>(); var a43_1 = vec4<f32>();
    var a44_0 = vec4<f32>(); var a44_1 = vec4<f32>(); var a45_0 = vec4<f32>(); var a45_1 = vec4<f32>(); var a46_0 = vec4<f32>(); var a46_1 = vec4<f32>(); var a47_0 = vec4<f32>(); var a47_1 = vec4<f32>();
    var a48_0 = vec4<f32>(); var a48_1 = vec4<f32>(); var a49_0 = vec4<f32>(); var a49_1 = vec4<f32>(); var a50_0 = vec4<f32>(); var a50_1 = vec4<f32>(); var a51_0 = vec4<f32>(); var a51_1 = vec4<f32>();
    var a52_0 = vec4<f32>(); var a52_1 = vec4<f32>(); var a53_0 = vec4<f32>(); var a53_1 = vec4<f32>(); var a54_0 = vec4<f32>(); var a54_1 = vec4<f32>(); var a55_0 = vec4<f32>(); var a55_1 = vec4<f32>();
    var a56_0 = vec4<f32>(); var a56_1 = vec4<f32>(); var a57_0 = vec4<f32>(); var a57_1 = vec4<f32>(); var a58_0 = vec4<f32>(); var a58_1 = vec4<f32>(); var a59_0 = vec4<f32>(); var a59_1 = vec4<f32>();
    var a60_0 = vec4<f32>(); var a60_1 = vec4<f32>(); var a61_0 = vec4<f32>(); var a61_1 = vec4<f32>(); var a62_0 = vec4<f32>(); var a62_1 = vec4<f32>(); var a63_0 = vec4<f32>(); var a63_1 = vec4<f32>();
    for (var m = pix0; m < pix1; m++) {
        let xb = xbase(m);
        let x0 = gx[xb + jo0];
        let x1 = gx[xb + jo1];
        let dyb = m * p.kv + dyo;
        let dv0 = gdy[dyb + 0u];
        a0_0 = fma(vec4<f32>(dv0[0]), x0, a0_0);
        a0_1 = fma(vec4<f32>(dv0[0]), x1, a0_1);
        a1_0 = fma(vec4<f32>(dv0[1]), x0, a1_0);
        a1_1 = fma(vec4<f32>(dv0[1]), x1, a1_1);
        a2_0 = fma(vec4<f32>(dv0[2]), x0, a2_0);
        a2_1 = fma(vec4<f32>(dv0[2]), x1, a2_1);
        a3_0 = fma(vec4<f32>(dv0[3]), x0, a3_0);
        a3_1 = fma(vec4<f32>(dv0[3]), x1, a3_1);
        let dv1 = gdy[dyb + 1u];
        a4_0 = fma(vec4<f32>(dv1[0]), x0, a4_0);
        a4_1 = fma(vec4<f32>(dv1[0]), x1, a4_1);
        a5_0 = fma(vec4<f32>(dv1[1]), x0, a5_0);
        a5_1 = fma(vec4<f32>(dv1[1]), x1, a5_1);
        a6_0 = fma(vec4<f32>(dv1[2]), x0, a6_0);
        a6_1 = fma(vec4<f32>(dv1[2]), x1, a6_1);
        a7_0 = fma(vec4<f32>(dv1[3]), x0, a7_0);
        a7_1 = fma(vec4<f32>(dv1[3]), x1, a7_1);
        let dv2 = gdy[dyb + 2u];
        a8_0 = fma(vec4<f32>(dv2[0]), x0, a8_0);
        a8_1 = fma(vec4<f32>(dv2[0]), x1, a8_1);
        a9_0 = fma(vec4<f32>(dv2[1]), x0, a9_0);
        a9_1 = fma(vec4<f32>(dv2[1]), x1, a9_1);
        a10_0 = fma(vec4<f32>(dv2[2]), x0, a10_0);
        a10_1 = fma(vec4<f32>(dv2[2]), x1, a10_1);
        a11_0 = fma(vec4<f32>(dv2[3]), x0, a11_0);
        a11_1 = fma(vec4<f32>(dv2[3]), x1, a11_1);
        let dv3 = gdy[dyb + 3u];
        a12_0 = fma(vec4<f32>(dv3[0]), x0, a12_0);
        a12_1 = fma(vec4<f32>(dv3[0]), x1, a12_1);
        a13_0 = fma(vec4<f32>(dv3[1]), x0, a13_0);
        a13_1 = fma(vec4<f32>(dv3[1]), x1, a13_1);
        a14_0 = fma(vec4<f32>(dv3[2]), x0, a14_0);
        a14_1 = fma(vec4<f32>(dv3[2]), x1, a14_1);
        a15_0 = fma(vec4<f32>(dv3[3]), x0, a15_0);
        a15_1 = fma(vec4<f32>(dv3[3]), x1, a15_1);
        let dv4 = gdy[dyb + 4u];
        a16_0 = fma(vec4<f32>(dv4[0]), x0, a16_0);
        a16_1 = fma(vec4<f32>(dv4[0]), x1, a16_1);
        a17_0 = fma(vec4<f32>(dv4[1]), x0, a17_0);
        a17_1 = fma(vec4<f32>(dv4[1]), x1, a17_1);
        a18_0 = fma(vec4<f32>(dv4[2]), x0, a18_0);
        a18_1 = fma(vec4<f32>(dv4[2]), x1, a18_1);
        a19_0 = fma(vec4<f32>(dv4[3]), x0, a19_0);
        a19_1 = fma(vec4<f32>(dv4[3]), x1, a19_1);
        let dv5 = gdy[dyb + 5u];
        a20_0 = fma(vec4<f32>(dv5[0]), x0, a20_0);
        a20_1 = fma(vec4<f32>(dv5[0]), x1, a20_1);
        a21_0 = fma(vec4<f32>(dv5[1]), x0, a21_0);
        a21_1 = fma(vec4<f32>(dv5[1]), x1, a21_1);
        a22_0 = fma(vec4<f32>(dv5[2]), x0, a22_0);
        a22_1 = fma(vec4<f32>(dv5[2]), x1, a22_1);
        a23_0 = fma(vec4<f32>(dv5[3]), x0, a23_0);
        a23_1 = fma(vec4<f32>(dv5[3]), x1, a23_1);
        let dv6 = gdy[dyb + 6u];
        a24_0 = fma(vec4<f32>(dv6[0]), x0, a24_0);
        a24_1 = fma(vec4<f32>(dv6[0]), x1, a24_1);
        a25_0 = fma(vec4<f32>(dv6[1]), x0, a25_0);
        a25_1 = fma(vec4<f32>(dv6[1]), x1, a25_1);
        a26_0 = fma(vec4<f32>(dv6[2]), x0, a26_0);
        a26_1 = fma(vec4<f32>(dv6[2]), x1, a26_1);
        a27_0 = fma(vec4<f32>(dv6[3]), x0, a27_0);
        a27_1 = fma(vec4<f32>(dv6[3]), x1, a27_1);
        let dv7 = gdy[dyb + 7u];
        a28_0 = fma(vec4<f32>(dv7[0]), x0, a28_0);
        a28_1 = fma(vec4<f32>(dv7[0]), x1, a28_1);
        a29_0 = fma(vec4<f32>(dv7[1]), x0, a29_0);
        a29_1 = fma(vec4<f32>(dv7[1]), x1, a29_1);
        a30_0 = fma(vec4<f32>(dv7[2]), x0, a30_0);
        a30_1 = fma(vec4<f32>(dv7[2]), x1, a30_1);
        a31_0 = fma(vec4<f32>(dv7[3]), x0, a31_0);
        a31_1 = fma(vec4<f32>(dv7[3]), x1, a31_1);
        let dv8 = gdy[dyb + 8u];
        a32_0 = fma(vec4<f32>(dv8[0]), x0, a32_0);
        a32_1 = fma(vec4<f32>(dv8[0]), x1, a32_1);
        a33_0 = fma(vec4<f32>(dv8[1]), x0, a33_0);
        a33_1 = fma(vec4<f32>(dv8[1]), x1, a33_1);
        a34_0 = fma(vec4<f32>(dv8[2]), x0, a34_0);
        a34_1 = fma(vec4<f32>(dv8[2]), x1, a34_1);
        a35_0 = fma(vec4<f32>(dv8[3]), x0, a35_0);
        a35_1 = fma(vec4<f32>(dv8[3]), x1, a35_1);
        let dv9 = gdy[dyb + 9u];
        a36_0 = fma(vec4<f32>(dv9[0]), x0, a36_0);
        a36_1 = fma(vec4<f32>(dv9[0]), x1, a36_1);
        a37_0 = fma(vec4<f32>(dv9[1]), x0, a37_0);
        a37_1 = fma(vec4<f32>(dv9[1]), x1, a37_1);
        a38_0 = fma(vec4<f32>(dv9[2]), x0, a38_0);
        a38_1 = fma(vec4<f32>(dv9[2]), x1, a38_1);
        a39_0 = fma(vec4<f32>(dv9[3]), x0, a39_0);
        a39_1 = fma(vec4<f32>(dv9[3]), x1, a39_1);
        let dv10 = gdy[dyb + 10u];
        a40_0 = fma(vec4<f32>(dv10[0]), x0, a40_0);
        a40_1 = fma(vec4<f32>(dv10[0]), x1, a40_1);
        a41_0 = fma(vec4<f32>(dv10[1]), x0, a41_0);
        a41_1 = fma(vec4<f32>(dv10[1]), x1, a41_1);
        a42_0 = fma(vec4<f32>(dv10[2]), x0, a42_0);
        a42_1 = fma(vec4<f32>(dv10[2]), x1, a42_1);
        a43_0 = fma(vec4<f32>(dv10[3]), x0, a43_0);
        a43_1 = fma(vec4<f32>(dv10[3]), x1, a43_1);
        let dv11 = gdy[dyb + 11u];
        a44_0 = fma(vec4<f32>(dv11[0]), x0, a44_0);
        a44_1 = fma(vec4<f32>(dv11[0]), x1, a44_1);
        a45_0 = fma(vec4<f32>(dv11[1]), x0, a45_0);
        a45_1 = fma(vec4<f32>(dv11[1]), x1, a45_1);
        a46_0 = fma(vec4<f32>(dv11[2]), x0, a46_0);
        a46_1 = fma(vec4<f32>(dv11[2]), x1, a46_1);
        a47_0 = fma(vec4<f32>(dv11[3]), x0, a47_0);
        a47_1 = fma(vec4<f32>(dv11[3]), x1, a47_1);
        let dv12 = gdy[dyb + 12u];
        a48_0 = fma(vec4<f32>(dv12[0]), x0, a48_0);
        a48_1 = fma(vec4<f32>(dv12[0]), x1, a48_1);
        a49_0 = fma(vec4<f32>(dv12[1]), x0, a49_0);
        a49_1 = fma(vec4<f32>(dv12[1]), x1, a49_1);
        a50_0 = fma(vec4<f32>(dv12[2]), x0, a50_0);
        a50_1 = fma(vec4<f32>(dv12[2]), x1, a50_1);
        a51_0 = fma(vec4<f32>(dv12[3]), x0, a51_0);
        a51_1 = fma(vec4<f32>(dv12[3]), x1, a51_1);
        let dv13 = gdy[dyb + 13u];
        a52_0 = fma(vec4<f32>(dv13[0]), x0, a52_0);
        a52_1 = fma(vec4<f32>(dv13[0]), x1, a52_1);
        a53_0 = fma(vec4<f32>(dv13[1]), x0, a53_0);
        a53_1 = fma(vec4<f32>(dv13[1]), x1, a53_1);
        a54_0 = fma(vec4<f32>(dv13[2]), x0, a54_0);
        a54_1 = fma(vec4<f32>(dv13[2]), x1, a54_1);
        a55_0 = fma(vec4<f32>(dv13[3]), x0, a55_0);
        a55_1 = fma(vec4<f32>(dv13[3]), x1, a55_1);
        let dv14 = gdy[dyb + 14u];
        a56_0 = fma(vec4<f32>(dv14[0]), x0, a56_0);
        a56_1 = fma(vec4<f32>(dv14[0]), x1, a56_1);
        a57_0 = fma(vec4<f32>(dv14[1]), x0, a57_0);
        a57_1 = fma(vec4<f32>(dv14[1]), x1, a57_1);
        a58_0 = fma(vec4<f32>(dv14[2]), x0, a58_0);
        a58_1 = fma(vec4<f32>(dv14[2]), x1, a58_1);
        a59_0 = fma(vec4<f32>(dv14[3]), x0, a59_0);
        a59_1 = fma(vec4<f32>(dv14[3]), x1, a59_1);
        let dv15 = gdy[dyb + 15u];
        a60_0 = fma(vec4<f32>(dv15[0]), x0, a60_0);
        a60_1 = fma(vec4<f32>(dv15[0]), x1, a60_1);
        a61_0 = fma(vec4<f32>(dv15[1]), x0, a61_0);
        a61_1 = fma(vec4<f32>(dv15[1]), x1, a61_1);
        a62_0 = fma(vec4<f32>(dv15[2]), x0, a62_0);
        a62_1 = fma(vec4<f32>(dv15[2]), x1, a62_1);
        a63_0 = fma(vec4<f32>(dv15[3]), x0, a63_0);
        a63_1 = fma(vec4<f32>(dv15[3]), x1, a63_1);
    }
    store_grad(a0_0, a0_1, j0, wid.z, k0 + 0u);
    store_grad(a1_0, a1_1, j0, wid.z, k0 + 1u);
    store_grad(a2_0, a2_1, j0, wid.z, k0 + 2u);
    store_grad(a3_0, a3_1, j0, wid.z, k0 + 3u);
    store_grad(a4_0, a4_1, j0, wid.z, k0 + 4u);
    store_grad(a5_0, a5_1, j0, wid.z, k0 + 5u);
    store_grad(a6_0, a6_1, j0, wid.z, k0 + 6u);
    store_grad(a7_0, a7_1, j0, wid.z, k0 + 7u);
    store_grad(a8_0, a8_1, j0, wid.z, k0 + 8u);
    store_grad(a9_0, a9_1, j0, wid.z, k0 + 9u);
    store_grad(a10_0, a10_1, j0, wid.z, k0 + 10u);
    store_grad(a11_0, a11_1, j0, wid.z, k0 + 11u);
    store_grad(a12_0, a12_1, j0, wid.z, k0 + 12u);
    store_grad(a13_0, a13_1, j0, wid.z, k0 + 13u);
    store_grad(a14_0, a14_1, j0, wid.z, k0 + 14u);
    store_grad(a15_0, a15_1, j0, wid.z, k0 + 15u);
    store_grad(a16_0, a16_1, j0, wid.z, k0 + 16u);
    store_grad(a17_0, a17_1, j0, wid.z, k0 + 17u);
    store_grad(a18_0, a18_1, j0, wid.z, k0 + 18u);
    store_grad(a19_0, a19_1, j0, wid.z, k0 + 19u);
    store_grad(a20_0, a20_1, j0, wid.z, k0 + 20u);
    store_grad(a21_0, a21_1, j0, wid.z, k0 + 21u);
    store_grad(a22_0, a22_1, j0, wid.z, k0 + 22u);
    store_grad(a23_0, a23_1, j0, wid.z, k0 + 23u);
    store_grad(a24_0, a24_1, j0, wid.z, k0 + 24u);
    store_grad(a25_0, a25_1, j0, wid.z, k0 + 25u);
    store_grad(a26_0, a26_1, j0, wid.z, k0 + 26u);
    store_grad(a27_0, a27_1, j0, wid.z, k0 + 27u);
    store_grad(a28_0, a28_1, j0, wid.z, k0 + 28u);
    store_grad(a29_0, a29_1, j0, wid.z, k0 + 29u);
    store_grad(a30_0, a30_1, j0, wid.z, k0 + 30u);
    store_grad(a31_0, a31_1, j0, wid.z, k0 + 31u);
    store_grad(a32_0, a32_1, j0, wid.z, k0 + 32u);
    store_grad(a33_0, a33_1, j0, wid.z, k0 + 33u);
    store_grad(a34_0, a34_1, j0, wid.z, k0 + 34u);
    store_grad(a35_0, a35_1, j0, wid.z, k0 + 35u);
    store_grad(a36_0, a36_1, j0, wid.z, k0 + 36u);
    store_grad(a37_0, a37_1, j0, wid.z, k0 + 37u);
    store_grad(a38_0, a38_1, j0, wid.z, k0 + 38u);
    store_grad(a39_0, a39_1, j0, wid.z, k0 + 39u);
    store_grad(a40_0, a40_1, j0, wid.z, k0 + 40u);
    store_grad(a41_0, a41_1, j0, wid.z, k0 + 41u);
    store_grad(a42_0, a42_1, j0, wid.z, k0 + 42u);
    store_grad(a43_0, a43_1, j0, wid.z, k0 + 43u);
    store_grad(a44_0, a44_1, j0, wid.z, k0 + 44u);
    store_grad(a45_0, a45_1, j0, wid.z, k0 + 45u);
    store_grad(a46_0, a46_1, j0, wid.z, k0 + 46u);
    store_grad(a47_0, a47_1, j0, wid.z, k0 + 47u);
    store_grad(a48_0, a48_1, j0, wid.z, k0 + 48u);
    store_grad(a49_0, a49_1, j0, wid.z, k0 + 49u);
    store_grad(a50_0, a50_1, j0, wid.z, k0 + 50u);
    store_grad(a51_0, a51_1, j0, wid.z, k0 + 51u);
    store_grad(a52_0, a52_1, j0, wid.z, k0 + 52u);
    store_grad(a53_0, a53_1, j0, wid.z, k0 + 53u);
    store_grad(a54_0, a54_1, j0, wid.z, k0 + 54u);
    store_grad(a55_0, a55_1, j0, wid.z, k0 + 55u);
    store_grad(a56_0, a56_1, j0, wid.z, k0 + 56u);
    store_grad(a57_0, a57_1, j0, wid.z, k0 + 57u);
    store_grad(a58_0, a58_1, j0, wid.z, k0 + 58u);
    store_grad(a59_0, a59_1, j0, wid.z, k0 + 59u);
    store_grad(a60_0, a60_1, j0, wid.z, k0 + 60u);
    store_grad(a61_0, a61_1, j0, wid.z, k0 + 61u);
    store_grad(a62_0, a62_1, j0, wid.z, k0 + 62u);
    store_grad(a63_0, a63_1, j0, wid.z, k0 + 63u);
}

// part[z][k][j] for the two vec4s j0, j0 + 1 of one channel (skipped past the ends).
fn store_grad(a0: vec4<f32>, a1: vec4<f32>, j0: u32, z: u32, k: u32) {
    if (k >= p.k) {
        return;
    }
    let base = (z * p.k + k) * p.jv;
    if (j0 < p.jv) {
        gpart[base + j0] = a0;
    }
    if (j0 + 1u < p.jv) {
        gpart[base + j0 + 1u] = a1;
    }
}
