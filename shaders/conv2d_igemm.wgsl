// conv2d_igemm: implicit-GEMM convolution with subgroup shuffles (groups = 1).
// Inputs come from conv2d_layout.wgsl: x as zero-padded NHWC vec4 [n][hp][wp][cv]
// (channels padded to 4*cv), weights as [kp][kh][kw][cv] vec4 (kp a multiple of KB),
// both read as texel operands (load_a / load_b below), not storage buffers.
//   forward_k32, forward_k16:
//     y[n,k,oh,ow] = epilogue(sum_{r,s,c} x[n, oh*sh + r*dh, ow*sw + s*dw, c] * w[k,r,s,c])
//     (padded coordinates: no bounds checks). Output NCHW. dX runs through the same entry
//     points (the launcher feeds them the zero-inserted, padded dY and the flipped,
//     transposed weights).
//     Thread mapping: each lane owns KB output channels x 8 consecutive output pixels
//     (m = n*OH*OW + oh*OW + ow), KB = 32 or 16: KB/4 x 2 mat4x4 accumulators. Per
//     (r, s, c/4) step a lane loads its 8 input vec4s and KB/SG weight vec4s (channel
//     k0 + j*SG + lane); the weight vec4 of channel kk reaches every lane by
//     subgroupShuffle(w[kk / SG], kk % SG), four of them form a 4x4 block (transposed)
//     that multiplies a 4-pixel block of x. The block is kept small on purpose: on
//     lavapipe the unrolled loop body of a 512-accumulator block (64 x 8, 32 x 16) is
//     larger than the CPU's instruction cache and ran ~20 % slower per FLOP than 32 x 8.
//     scripts/gen_igemm_fwd.py writes them.
//     Grid: x/y = subgroup blocks of SG*8 pixels (WG/SG per workgroup), z = KB blocks.
//   weight_grad: part[z][k][r][s][c] = sum over pixels of split z of dy[pix][k] * x[pix + (r,s)][c]
//     with dy as NHWK vec4 [n][dy_hp][dy_wp][kv] (channels padded to a multiple of 64;
//     pixel (oh, ow) at (oh*dy_ups_h + dy_off_h, ow*dy_ups_w + dy_off_w): an unpadded copy,
//     or dX's padded, zero-inserted dY reused). Each lane owns
//     64 channels (lane*DPL .. + DPL of its own, DPL = 64/SG, shuffled to all) x 2 vec4s of
//     (r, s, c/4). Grid: x = blocks of 2*SG vec4s (one subgroup per workgroup), y = blocks
//     of 64 k, z = splits of the pixels. Needs SG <= 16 (DPL a multiple of 4).
//   weight_grad_k16: the same in blocks of 16 output channels, for layers with at most 32
//     (padding them to 64 would waste half or more of the work): 16 x 9 vec4s per lane,
//     dy read by every lane instead of shuffled. It splits the subgroup into lane groups
//     that reduce disjoint shares of the pixels when fewer lanes cover the (r, s, c/4)
//     vec4s (4 lanes for a 3x3 layer of 16 channels, 1 for 3 channels);
//     scripts/gen_igemm_dw.py writes it.
// The hot loops are written out register by register (one variable per accumulator block):
// lavapipe does not unroll loops over register arrays, and an array indexed in a loop
// lives in memory (10x slower). Needs subgroups whose size equals SG (the launcher checks
// subgroup_min == max == SG).
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
    group_lanes: u32, // weight_grad_k16: lanes per lane group (see there)
    lane_groups: u32, // weight_grad_k16: lane groups per subgroup
    // weight_grad*: where dy pixel (n, oh, ow) is in its NHWK operand: row
    // oh * dy_ups_h + dy_off_h of dy_hp, column ow * dy_ups_w + dy_off_w of dy_wp (an
    // unpadded copy, or the padded, zero-inserted dY that dX was computed from).
    dy_hp: u32,
    dy_wp: u32,
    dy_off_h: u32,
    dy_off_w: u32,
    dy_ups_h: u32,
    dy_ups_w: u32,
    _pad0: u32,
    _pad1: u32,
}

override SG: u32 = 8u;
override WG: u32 = 64u;

@group(0) @binding(0) var<uniform> p: Params;

// The two operands are texel operands (crates/tensor/src/texels.rs): vec4 i of
// operand a is textureLoad(tex_a, (i % W, i / W)) with W = 2^TEX_SHIFT, from a read-only
// storage texture (on lavapipe ~35 inline instructions, where a sampled texture's
// textureLoad is a call of ~70 and a storage-buffer load at a per-lane address a gather
// or a loop over the lanes).
override TEX_SHIFT: u32 = 12u;
@group(0) @binding(1) var tex_a: texture_storage_2d<rgba32float, read>;
@group(0) @binding(2) var tex_b: texture_storage_2d<rgba32float, read>;

fn load_a(i: u32) -> vec4<f32> {
    return textureLoad(tex_a, vec2<u32>(i & ((1u << TEX_SHIFT) - 1u), i >> TEX_SHIFT));
}

fn load_b(i: u32) -> vec4<f32> {
    return textureLoad(tex_b, vec2<u32>(i & ((1u << TEX_SHIFT) - 1u), i >> TEX_SHIFT));
}

@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read> res: array<vec4<f32>>;
@group(0) @binding(5) var<storage, read_write> y: array<vec4<f32>>;

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

// FLAT: the forward entries' reduction (r, s, c/4) as one loop over the weight vec4 index,
// c/4 and the x offset carried by selects, instead of an (r, s, c/4) nest. On lavapipe
// each loop entry and exit costs a pass over the live (spilled) accumulators, so a nest
// whose inner loop is short loses: ResNet-20 stage 1 (C/4 = 4) forward 30 -> 36 GFLOP/s
// flat (Zen 4). Where the nest pays depends on the CPU: on the Zen 4 it was ~5 % faster
// with C/4 = 16 (headline 60.7 vs 57.6); on the Xeon VM of 2026-12-07 (`bench`, three
// alternating rounds) flat was 5-10 % faster at C/4 = 8 and 16 (stage 2 fwd 9.8-10.4 ->
// 8.8-9.0 ms, stage 3 8.7-9.0 -> 8.2-8.5, headline 132-147 -> 122-131) and ~3 % slower
// at C/4 = 32, equal at 64. The launcher takes the flat loop up to C/4 = 16.
override FLAT: bool = false;

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

// The weight gradient's two operand offsets of output pixel m (clamped to the last):
// x's window origin (as xbase) and dy's vec4 0 of the pixel.
fn grad_bases(m1: u32) -> vec2<u32> {
    let m = min(m1, p.m - 1u);
    let n = div_m(m, p.pq);
    let rem = m - n * p.pq;
    let oh = div_m(rem, p.ow);
    let ow = rem - oh * p.ow;
    let xb = ((n * p.hp + oh * p.stride_h) * p.wp + ow * p.stride_w) * p.cv;
    let dyb = ((n * p.dy_hp + oh * p.dy_ups_h + p.dy_off_h) * p.dy_wp + ow * p.dy_ups_w + p.dy_off_w) * p.kv;
    return vec2<u32>(xb, dyb);
}

// a + m * x for 4x4 blocks, written as chains of fma: one fused multiply-add per product
// where the driver keeps fma fused (GPUs). Mesa 22.3's llvmpipe lowers fma to a multiply
// and an add (vmulps + vaddps in the JIT code, docs/PERFORMANCE.md), as it does a matrix
// product; the chains still keep the accumulators' dependency order explicit.
fn mac(a: mat4x4<f32>, m: mat4x4<f32>, x: mat4x4<f32>) -> mat4x4<f32> {
    return mat4x4<f32>(
        fma(m[3], vec4<f32>(x[0].w), fma(m[2], vec4<f32>(x[0].z), fma(m[1], vec4<f32>(x[0].y), fma(m[0], vec4<f32>(x[0].x), a[0])))),
        fma(m[3], vec4<f32>(x[1].w), fma(m[2], vec4<f32>(x[1].z), fma(m[1], vec4<f32>(x[1].y), fma(m[0], vec4<f32>(x[1].x), a[1])))),
        fma(m[3], vec4<f32>(x[2].w), fma(m[2], vec4<f32>(x[2].z), fma(m[1], vec4<f32>(x[2].y), fma(m[0], vec4<f32>(x[2].x), a[2])))),
        fma(m[3], vec4<f32>(x[3].w), fma(m[2], vec4<f32>(x[3].z), fma(m[1], vec4<f32>(x[3].y), fma(m[0], vec4<f32>(x[3].x), a[3])))));
}

// Element of output pixel m, channel 0, in NCHW y (channel k at + k * pq).
fn y_base(m: u32) -> u32 {
    let n = div_m(m, p.pq);
    return n * p.k * p.pq + (m - n * p.pq);
}

// Stores a 4 (channels) x 4 (pixels) block: a[q][e] is channel kb + e of pixel mb + q.
// Written without loops or dynamic indices: lavapipe keeps a matrix indexed by a loop
// variable in memory and stores it lane by lane.
fn store_block(a: mat4x4<f32>, mb: u32, kb: u32) {
    if (VEC4_ROWS) {
        if (mb + 3u < p.m) {
            // mb is a multiple of 4 and so is OH*OW: the 4 pixels are one vec4 of each
            // channel.
            let ybase = y_base(mb);
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
        let ybase = y_base(m);
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

// Per subgroup block of pixels and output channel, the pairs the MOMENTS and GRAD_SUMS
// epilogues write (see there) at pairs[block * p.k + k].
@group(0) @binding(6) var<storage, read_write> pairs: array<vec2<f32>>;

// 1 for pixels base .. base + 3 of the lane below its `nv` valid ones, else 0 (the
// MOMENTS and GRAD_SUMS epilogues).
fn valid4(nv: u32, base: u32) -> vec4<f32> {
    return select(vec4<f32>(0.0), vec4<f32>(1.0), vec4<u32>(base) + vec4<u32>(0u, 1u, 2u, 3u) < vec4<u32>(nv));
}

// #if MOMENTS
// MOMENTS (forward entries): the epilogue also writes batch norm's partial moments of the
// output (stored values, before any epilogue: the launcher runs it without one): per
// subgroup block of SG * 8 pixels and output channel, (mean, M2) of the block's pixels
// below p.m, in two passes over the registers (the block's sum, then the squared
// deviations from its mean), at pairs[block * p.k + k]. Batch norm's stats_parts merges
// them instead of reading the output again.

// Per channel (components), the sum over a 4-pixel block's valid pixels (a[q]: pixel q).
fn block_sum(a: mat4x4<f32>, v: vec4<f32>) -> vec4<f32> {
    return (a[0] * v.x + a[1] * v.y) + (a[2] * v.z + a[3] * v.w);
}

// Per channel, the squared deviations from `mean` over the block's valid pixels.
fn block_m2(a: mat4x4<f32>, v: vec4<f32>, mean: vec4<f32>) -> vec4<f32> {
    let d0 = (a[0] - mean) * v.x;
    let d1 = (a[1] - mean) * v.y;
    let d2 = (a[2] - mean) * v.z;
    let d3 = (a[3] - mean) * v.w;
    return (d0 * d0 + d1 * d1) + (d2 * d2 + d3 * d3);
}

// Channels kb .. kb + 3 of the subgroup's block: lane e writes channel kb + e.
fn store_moments(blk: u32, kb: u32, mean: vec4<f32>, m2: vec4<f32>, lane: u32) {
    if (lane < 4u && kb + lane < p.k) {
        pairs[blk * p.k + kb + lane] = vec2<f32>(mean[lane], m2[lane]);
    }
}
// #endif

// #if GRAD_SUMS
// GRAD_SUMS (forward entries running dX, whose output is the gradient g of a batch norm's
// output act(bn(x)), x of the output's shape): the epilogue also writes batch norm's
// backward sums, per subgroup block of SG * 8 pixels and output channel k,
// (sum(g'), sum(g' * xhat)) over the block's pixels below p.m at pairs[block * p.k + k],
// g' = g where the activation GRAD_ACT (0 none, 1 ReLU, 2 ReLU6) passes the
// gradient, xhat = (x - mean) * invstd: reduce_grad's sums without reading g and x again
// (batch norm's grad_parts merges them). gsum_rec holds `records`' (mean, k, beta,
// invstd) per channel. Needs VEC4_ROWS and no epilogue (the launcher checks).
@group(0) @binding(7) var<storage, read> gsum_x: array<vec4<f32>>;
@group(0) @binding(8) var<storage, read> gsum_rec: array<vec4<f32>>;
override GRAD_ACT: u32 = 0u;

// Where the 4-pixel block at mb of channel 0 is in y and gsum_x (elements; lanes past the
// end get a valid block, their v is 0).
fn grad_base(mb: u32) -> u32 {
    return y_base(min(mb, p.m - 4u));
}

// Per channel kb .. kb + 3 (components), column 0 the sum of g' and column 1 of g' * xhat
// over the lane's two 4-pixel blocks (a0 at base0, a1 at base1; a[q]: pixel q) where v0 /
// v1 are 1; rec's columns are the 4 channels' records.
fn grad_group(a0: mat4x4<f32>, a1: mat4x4<f32>, base0: u32, base1: u32, kb: u32,
              v0: vec4<f32>, v1: vec4<f32>, rec: mat4x4<f32>) -> mat2x4<f32> {
    let t0 = transpose(a0);
    let t1 = transpose(a1);
    let s0 = grad_channel(t0[0], t1[0], base0, base1, kb, v0, v1, rec[0]);
    let s1 = grad_channel(t0[1], t1[1], base0, base1, kb + 1u, v0, v1, rec[1]);
    let s2 = grad_channel(t0[2], t1[2], base0, base1, kb + 2u, v0, v1, rec[2]);
    let s3 = grad_channel(t0[3], t1[3], base0, base1, kb + 3u, v0, v1, rec[3]);
    return mat2x4<f32>(vec4<f32>(s0.x, s1.x, s2.x, s3.x), vec4<f32>(s0.y, s1.y, s2.y, s3.y));
}

// (sum(g'), sum(g' * xhat)) of channel k over its two 4-pixel blocks.
fn grad_channel(g0: vec4<f32>, g1: vec4<f32>, base0: u32, base1: u32, k: u32,
                v0: vec4<f32>, v1: vec4<f32>, r: vec4<f32>) -> vec2<f32> {
    let kc = min(k, p.k - 1u); // channels past p.k: never stored
    return grad_quad(g0, gsum_x[(base0 + kc * p.pq) / 4u], v0, r)
        + grad_quad(g1, gsum_x[(base1 + kc * p.pq) / 4u], v1, r);
}

// One channel's 4 pixels, with reduce_grad's expressions (r: mean, k, beta, invstd).
fn grad_quad(g: vec4<f32>, x: vec4<f32>, v: vec4<f32>, r: vec4<f32>) -> vec2<f32> {
    let y = (x - vec4<f32>(r.x)) * r.y + vec4<f32>(r.z);
    var keep = v > vec4<f32>(0.5);
    if (GRAD_ACT == 1u) {
        keep = keep & (y > vec4<f32>(0.0));
    } else if (GRAD_ACT == 2u) {
        keep = keep & (y > vec4<f32>(0.0)) & (y < vec4<f32>(6.0));
    }
    let gm = select(vec4<f32>(0.0), g, keep);
    return vec2<f32>((gm.x + gm.y) + (gm.z + gm.w), dot(gm, (x - vec4<f32>(r.x)) * r.w));
}

// Channels kb .. kb + 3 of the subgroup's block: lane e writes channel kb + e.
fn store_grad_sums(blk: u32, kb: u32, s: mat2x4<f32>, lane: u32) {
    if (lane < 4u && kb + lane < p.k) {
        pairs[blk * p.k + kb + lane] = vec2<f32>(s[0][lane], s[1][lane]);
    }
}
// #endif

// BEGIN generated by scripts/gen_igemm_fwd.py
@compute @workgroup_size(WG)
fn forward_k32(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
           @builtin(subgroup_id) sgid: u32, @builtin(subgroup_invocation_id) lane: u32) {
    // 32 output channels x 8 pixels per lane.
    let blk = (wid.x + wid.y * nwg.x) * (WG / SG) + sgid;
    if (blk * SG * 8u >= p.m) {
        return; // the whole subgroup is past the end
    }
    let m0 = blk * SG * 8u + lane * 8u;
    let k0 = wid.z * 32u;
    let xb0 = xbase(m0 + 0u);
    let xb1 = xbase(m0 + 1u);
    let xb2 = xbase(m0 + 2u);
    let xb3 = xbase(m0 + 3u);
    let xb4 = xbase(m0 + 4u);
    let xb5 = xbase(m0 + 5u);
    let xb6 = xbase(m0 + 6u);
    let xb7 = xbase(m0 + 7u);
    // Lane holds the weights of channels k0 + j*SG + lane, j < 32/SG.
    var wb: array<u32, 4>;
    wb[0] = (k0 + 0u * SG + lane) * p.wk_stride;
    wb[1] = (k0 + 1u * SG + lane) * p.wk_stride;
    wb[2] = (k0 + 2u * SG + lane) * p.wk_stride;
    wb[3] = (k0 + 3u * SG + lane) * p.wk_stride;
    var a0_0 = mat4x4<f32>(); var a0_1 = mat4x4<f32>();
    var a1_0 = mat4x4<f32>(); var a1_1 = mat4x4<f32>();
    var a2_0 = mat4x4<f32>(); var a2_1 = mat4x4<f32>();
    var a3_0 = mat4x4<f32>(); var a3_1 = mat4x4<f32>();
    var a4_0 = mat4x4<f32>(); var a4_1 = mat4x4<f32>();
    var a5_0 = mat4x4<f32>(); var a5_1 = mat4x4<f32>();
    var a6_0 = mat4x4<f32>(); var a6_1 = mat4x4<f32>();
    var a7_0 = mat4x4<f32>(); var a7_1 = mat4x4<f32>();
    if (FLAT) {
        // One loop over the whole reduction (r, s, c/4), its weight vec4 index u.
        var c = 0u;
        var s = 0u;
        var xo = 0u; // x offset of tap (r, s)
        let s_step = p.dil_w * p.cv;
        let r_step = (p.dil_h * p.wp - p.kw * p.dil_w) * p.cv;
        for (var u = 0u; u < p.wk_stride; u++) {
            let o = xo + c;
            let x0 = mat4x4<f32>(load_a(xb0 + o), load_a(xb1 + o), load_a(xb2 + o), load_a(xb3 + o));
            let x1 = mat4x4<f32>(load_a(xb4 + o), load_a(xb5 + o), load_a(xb6 + o), load_a(xb7 + o));
            var w: array<vec4<f32>, 4>;
            w[0] = load_b(wb[0] + u);
            if (1u < 32u / SG) { w[1] = load_b(wb[1] + u); }
            if (2u < 32u / SG) { w[2] = load_b(wb[2] + u); }
            if (3u < 32u / SG) { w[3] = load_b(wb[3] + u); }
            let m0 = transpose(mat4x4<f32>(subgroupShuffle(w[0u / SG], 0u % SG), subgroupShuffle(w[1u / SG], 1u % SG), subgroupShuffle(w[2u / SG], 2u % SG), subgroupShuffle(w[3u / SG], 3u % SG)));
            a0_0 = mac(a0_0, m0, x0);
            a0_1 = mac(a0_1, m0, x1);
            let m1 = transpose(mat4x4<f32>(subgroupShuffle(w[4u / SG], 4u % SG), subgroupShuffle(w[5u / SG], 5u % SG), subgroupShuffle(w[6u / SG], 6u % SG), subgroupShuffle(w[7u / SG], 7u % SG)));
            a1_0 = mac(a1_0, m1, x0);
            a1_1 = mac(a1_1, m1, x1);
            let m2 = transpose(mat4x4<f32>(subgroupShuffle(w[8u / SG], 8u % SG), subgroupShuffle(w[9u / SG], 9u % SG), subgroupShuffle(w[10u / SG], 10u % SG), subgroupShuffle(w[11u / SG], 11u % SG)));
            a2_0 = mac(a2_0, m2, x0);
            a2_1 = mac(a2_1, m2, x1);
            let m3 = transpose(mat4x4<f32>(subgroupShuffle(w[12u / SG], 12u % SG), subgroupShuffle(w[13u / SG], 13u % SG), subgroupShuffle(w[14u / SG], 14u % SG), subgroupShuffle(w[15u / SG], 15u % SG)));
            a3_0 = mac(a3_0, m3, x0);
            a3_1 = mac(a3_1, m3, x1);
            let m4 = transpose(mat4x4<f32>(subgroupShuffle(w[16u / SG], 16u % SG), subgroupShuffle(w[17u / SG], 17u % SG), subgroupShuffle(w[18u / SG], 18u % SG), subgroupShuffle(w[19u / SG], 19u % SG)));
            a4_0 = mac(a4_0, m4, x0);
            a4_1 = mac(a4_1, m4, x1);
            let m5 = transpose(mat4x4<f32>(subgroupShuffle(w[20u / SG], 20u % SG), subgroupShuffle(w[21u / SG], 21u % SG), subgroupShuffle(w[22u / SG], 22u % SG), subgroupShuffle(w[23u / SG], 23u % SG)));
            a5_0 = mac(a5_0, m5, x0);
            a5_1 = mac(a5_1, m5, x1);
            let m6 = transpose(mat4x4<f32>(subgroupShuffle(w[24u / SG], 24u % SG), subgroupShuffle(w[25u / SG], 25u % SG), subgroupShuffle(w[26u / SG], 26u % SG), subgroupShuffle(w[27u / SG], 27u % SG)));
            a6_0 = mac(a6_0, m6, x0);
            a6_1 = mac(a6_1, m6, x1);
            let m7 = transpose(mat4x4<f32>(subgroupShuffle(w[28u / SG], 28u % SG), subgroupShuffle(w[29u / SG], 29u % SG), subgroupShuffle(w[30u / SG], 30u % SG), subgroupShuffle(w[31u / SG], 31u % SG)));
            a7_0 = mac(a7_0, m7, x0);
            a7_1 = mac(a7_1, m7, x1);
            c += 1u;
            let next_s = c == p.cv;
            c = select(c, 0u, next_s);
            s = select(s, s + 1u, next_s);
            xo = select(xo, xo + s_step, next_s);
            let next_r = s == p.kw;
            s = select(s, 0u, next_r);
            xo = select(xo, xo + r_step, next_r);
        }
    } else {
        for (var r = 0u; r < p.kh; r++) {
            for (var s = 0u; s < p.kw; s++) {
                let xo = (r * p.dil_h * p.wp + s * p.dil_w) * p.cv;
                let wo = (r * p.kw + s) * p.cv;
                for (var c = 0u; c < p.cv; c++) {
                    let o = xo + c;
                    let u = wo + c;
                    let x0 = mat4x4<f32>(load_a(xb0 + o), load_a(xb1 + o), load_a(xb2 + o), load_a(xb3 + o));
                    let x1 = mat4x4<f32>(load_a(xb4 + o), load_a(xb5 + o), load_a(xb6 + o), load_a(xb7 + o));
                    var w: array<vec4<f32>, 4>;
                    w[0] = load_b(wb[0] + u);
                    if (1u < 32u / SG) { w[1] = load_b(wb[1] + u); }
                    if (2u < 32u / SG) { w[2] = load_b(wb[2] + u); }
                    if (3u < 32u / SG) { w[3] = load_b(wb[3] + u); }
                    let m0 = transpose(mat4x4<f32>(subgroupShuffle(w[0u / SG], 0u % SG), subgroupShuffle(w[1u / SG], 1u % SG), subgroupShuffle(w[2u / SG], 2u % SG), subgroupShuffle(w[3u / SG], 3u % SG)));
                    a0_0 = mac(a0_0, m0, x0);
                    a0_1 = mac(a0_1, m0, x1);
                    let m1 = transpose(mat4x4<f32>(subgroupShuffle(w[4u / SG], 4u % SG), subgroupShuffle(w[5u / SG], 5u % SG), subgroupShuffle(w[6u / SG], 6u % SG), subgroupShuffle(w[7u / SG], 7u % SG)));
                    a1_0 = mac(a1_0, m1, x0);
                    a1_1 = mac(a1_1, m1, x1);
                    let m2 = transpose(mat4x4<f32>(subgroupShuffle(w[8u / SG], 8u % SG), subgroupShuffle(w[9u / SG], 9u % SG), subgroupShuffle(w[10u / SG], 10u % SG), subgroupShuffle(w[11u / SG], 11u % SG)));
                    a2_0 = mac(a2_0, m2, x0);
                    a2_1 = mac(a2_1, m2, x1);
                    let m3 = transpose(mat4x4<f32>(subgroupShuffle(w[12u / SG], 12u % SG), subgroupShuffle(w[13u / SG], 13u % SG), subgroupShuffle(w[14u / SG], 14u % SG), subgroupShuffle(w[15u / SG], 15u % SG)));
                    a3_0 = mac(a3_0, m3, x0);
                    a3_1 = mac(a3_1, m3, x1);
                    let m4 = transpose(mat4x4<f32>(subgroupShuffle(w[16u / SG], 16u % SG), subgroupShuffle(w[17u / SG], 17u % SG), subgroupShuffle(w[18u / SG], 18u % SG), subgroupShuffle(w[19u / SG], 19u % SG)));
                    a4_0 = mac(a4_0, m4, x0);
                    a4_1 = mac(a4_1, m4, x1);
                    let m5 = transpose(mat4x4<f32>(subgroupShuffle(w[20u / SG], 20u % SG), subgroupShuffle(w[21u / SG], 21u % SG), subgroupShuffle(w[22u / SG], 22u % SG), subgroupShuffle(w[23u / SG], 23u % SG)));
                    a5_0 = mac(a5_0, m5, x0);
                    a5_1 = mac(a5_1, m5, x1);
                    let m6 = transpose(mat4x4<f32>(subgroupShuffle(w[24u / SG], 24u % SG), subgroupShuffle(w[25u / SG], 25u % SG), subgroupShuffle(w[26u / SG], 26u % SG), subgroupShuffle(w[27u / SG], 27u % SG)));
                    a6_0 = mac(a6_0, m6, x0);
                    a6_1 = mac(a6_1, m6, x1);
                    let m7 = transpose(mat4x4<f32>(subgroupShuffle(w[28u / SG], 28u % SG), subgroupShuffle(w[29u / SG], 29u % SG), subgroupShuffle(w[30u / SG], 30u % SG), subgroupShuffle(w[31u / SG], 31u % SG)));
                    a7_0 = mac(a7_0, m7, x0);
                    a7_1 = mac(a7_1, m7, x1);
                }
            }
        }
    }
// #if MOMENTS
    // Batch norm's partial moments of the block (see MOMENTS): 8 pixels per lane.
    let nv = min(p.m - min(m0, p.m), 8u);
    let v0 = valid4(nv, 0u);
    let v1 = valid4(nv, 4u);
    let count = f32(subgroupAdd(nv));
    let mean0 = subgroupAdd(block_sum(a0_0, v0) + block_sum(a0_1, v1)) / count;
    store_moments(blk, k0 + 0u, mean0, subgroupAdd(block_m2(a0_0, v0, mean0) + block_m2(a0_1, v1, mean0)), lane);
    let mean1 = subgroupAdd(block_sum(a1_0, v0) + block_sum(a1_1, v1)) / count;
    store_moments(blk, k0 + 4u, mean1, subgroupAdd(block_m2(a1_0, v0, mean1) + block_m2(a1_1, v1, mean1)), lane);
    let mean2 = subgroupAdd(block_sum(a2_0, v0) + block_sum(a2_1, v1)) / count;
    store_moments(blk, k0 + 8u, mean2, subgroupAdd(block_m2(a2_0, v0, mean2) + block_m2(a2_1, v1, mean2)), lane);
    let mean3 = subgroupAdd(block_sum(a3_0, v0) + block_sum(a3_1, v1)) / count;
    store_moments(blk, k0 + 12u, mean3, subgroupAdd(block_m2(a3_0, v0, mean3) + block_m2(a3_1, v1, mean3)), lane);
    let mean4 = subgroupAdd(block_sum(a4_0, v0) + block_sum(a4_1, v1)) / count;
    store_moments(blk, k0 + 16u, mean4, subgroupAdd(block_m2(a4_0, v0, mean4) + block_m2(a4_1, v1, mean4)), lane);
    let mean5 = subgroupAdd(block_sum(a5_0, v0) + block_sum(a5_1, v1)) / count;
    store_moments(blk, k0 + 20u, mean5, subgroupAdd(block_m2(a5_0, v0, mean5) + block_m2(a5_1, v1, mean5)), lane);
    let mean6 = subgroupAdd(block_sum(a6_0, v0) + block_sum(a6_1, v1)) / count;
    store_moments(blk, k0 + 24u, mean6, subgroupAdd(block_m2(a6_0, v0, mean6) + block_m2(a6_1, v1, mean6)), lane);
    let mean7 = subgroupAdd(block_sum(a7_0, v0) + block_sum(a7_1, v1)) / count;
    store_moments(blk, k0 + 28u, mean7, subgroupAdd(block_m2(a7_0, v0, mean7) + block_m2(a7_1, v1, mean7)), lane);
// #endif
// #if GRAD_SUMS
    // Batch norm's backward sums of the block (see GRAD_SUMS): 8 pixels per lane.
    let gn = min(p.m - min(m0, p.m), 8u);
    let gv0 = valid4(gn, 0u);
    let gv1 = valid4(gn, 4u);
    let gb0 = grad_base(m0);
    let gb1 = grad_base(m0 + 4u);
    // The lane loads the records of channels k0 + j*SG + lane (shuffled to all, as the weights).
    var grec: array<vec4<f32>, 4>;
    grec[0] = gsum_rec[min(k0 + 0u * SG + lane, p.k - 1u)];
    if (1u < 32u / SG) { grec[1] = gsum_rec[min(k0 + 1u * SG + lane, p.k - 1u)]; }
    if (2u < 32u / SG) { grec[2] = gsum_rec[min(k0 + 2u * SG + lane, p.k - 1u)]; }
    if (3u < 32u / SG) { grec[3] = gsum_rec[min(k0 + 3u * SG + lane, p.k - 1u)]; }
    let gs0 = grad_group(a0_0, a0_1, gb0, gb1, k0 + 0u, gv0, gv1, mat4x4<f32>(subgroupShuffle(grec[0u / SG], 0u % SG), subgroupShuffle(grec[1u / SG], 1u % SG), subgroupShuffle(grec[2u / SG], 2u % SG), subgroupShuffle(grec[3u / SG], 3u % SG)));
    store_grad_sums(blk, k0 + 0u, mat2x4<f32>(subgroupAdd(gs0[0]), subgroupAdd(gs0[1])), lane);
    let gs1 = grad_group(a1_0, a1_1, gb0, gb1, k0 + 4u, gv0, gv1, mat4x4<f32>(subgroupShuffle(grec[4u / SG], 4u % SG), subgroupShuffle(grec[5u / SG], 5u % SG), subgroupShuffle(grec[6u / SG], 6u % SG), subgroupShuffle(grec[7u / SG], 7u % SG)));
    store_grad_sums(blk, k0 + 4u, mat2x4<f32>(subgroupAdd(gs1[0]), subgroupAdd(gs1[1])), lane);
    let gs2 = grad_group(a2_0, a2_1, gb0, gb1, k0 + 8u, gv0, gv1, mat4x4<f32>(subgroupShuffle(grec[8u / SG], 8u % SG), subgroupShuffle(grec[9u / SG], 9u % SG), subgroupShuffle(grec[10u / SG], 10u % SG), subgroupShuffle(grec[11u / SG], 11u % SG)));
    store_grad_sums(blk, k0 + 8u, mat2x4<f32>(subgroupAdd(gs2[0]), subgroupAdd(gs2[1])), lane);
    let gs3 = grad_group(a3_0, a3_1, gb0, gb1, k0 + 12u, gv0, gv1, mat4x4<f32>(subgroupShuffle(grec[12u / SG], 12u % SG), subgroupShuffle(grec[13u / SG], 13u % SG), subgroupShuffle(grec[14u / SG], 14u % SG), subgroupShuffle(grec[15u / SG], 15u % SG)));
    store_grad_sums(blk, k0 + 12u, mat2x4<f32>(subgroupAdd(gs3[0]), subgroupAdd(gs3[1])), lane);
    let gs4 = grad_group(a4_0, a4_1, gb0, gb1, k0 + 16u, gv0, gv1, mat4x4<f32>(subgroupShuffle(grec[16u / SG], 16u % SG), subgroupShuffle(grec[17u / SG], 17u % SG), subgroupShuffle(grec[18u / SG], 18u % SG), subgroupShuffle(grec[19u / SG], 19u % SG)));
    store_grad_sums(blk, k0 + 16u, mat2x4<f32>(subgroupAdd(gs4[0]), subgroupAdd(gs4[1])), lane);
    let gs5 = grad_group(a5_0, a5_1, gb0, gb1, k0 + 20u, gv0, gv1, mat4x4<f32>(subgroupShuffle(grec[20u / SG], 20u % SG), subgroupShuffle(grec[21u / SG], 21u % SG), subgroupShuffle(grec[22u / SG], 22u % SG), subgroupShuffle(grec[23u / SG], 23u % SG)));
    store_grad_sums(blk, k0 + 20u, mat2x4<f32>(subgroupAdd(gs5[0]), subgroupAdd(gs5[1])), lane);
    let gs6 = grad_group(a6_0, a6_1, gb0, gb1, k0 + 24u, gv0, gv1, mat4x4<f32>(subgroupShuffle(grec[24u / SG], 24u % SG), subgroupShuffle(grec[25u / SG], 25u % SG), subgroupShuffle(grec[26u / SG], 26u % SG), subgroupShuffle(grec[27u / SG], 27u % SG)));
    store_grad_sums(blk, k0 + 24u, mat2x4<f32>(subgroupAdd(gs6[0]), subgroupAdd(gs6[1])), lane);
    let gs7 = grad_group(a7_0, a7_1, gb0, gb1, k0 + 28u, gv0, gv1, mat4x4<f32>(subgroupShuffle(grec[28u / SG], 28u % SG), subgroupShuffle(grec[29u / SG], 29u % SG), subgroupShuffle(grec[30u / SG], 30u % SG), subgroupShuffle(grec[31u / SG], 31u % SG)));
    store_grad_sums(blk, k0 + 28u, mat2x4<f32>(subgroupAdd(gs7[0]), subgroupAdd(gs7[1])), lane);
// #endif
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
}

@compute @workgroup_size(WG)
fn forward_k16(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
           @builtin(subgroup_id) sgid: u32, @builtin(subgroup_invocation_id) lane: u32) {
    // 16 output channels x 8 pixels per lane.
    let blk = (wid.x + wid.y * nwg.x) * (WG / SG) + sgid;
    if (blk * SG * 8u >= p.m) {
        return; // the whole subgroup is past the end
    }
    let m0 = blk * SG * 8u + lane * 8u;
    let k0 = wid.z * 16u;
    let xb0 = xbase(m0 + 0u);
    let xb1 = xbase(m0 + 1u);
    let xb2 = xbase(m0 + 2u);
    let xb3 = xbase(m0 + 3u);
    let xb4 = xbase(m0 + 4u);
    let xb5 = xbase(m0 + 5u);
    let xb6 = xbase(m0 + 6u);
    let xb7 = xbase(m0 + 7u);
    // Lane holds the weights of channels k0 + j*SG + lane, j < 16/SG.
    var wb: array<u32, 2>;
    wb[0] = (k0 + 0u * SG + lane) * p.wk_stride;
    wb[1] = (k0 + 1u * SG + lane) * p.wk_stride;
    var a0_0 = mat4x4<f32>(); var a0_1 = mat4x4<f32>();
    var a1_0 = mat4x4<f32>(); var a1_1 = mat4x4<f32>();
    var a2_0 = mat4x4<f32>(); var a2_1 = mat4x4<f32>();
    var a3_0 = mat4x4<f32>(); var a3_1 = mat4x4<f32>();
    if (FLAT) {
        // One loop over the whole reduction (r, s, c/4), its weight vec4 index u.
        var c = 0u;
        var s = 0u;
        var xo = 0u; // x offset of tap (r, s)
        let s_step = p.dil_w * p.cv;
        let r_step = (p.dil_h * p.wp - p.kw * p.dil_w) * p.cv;
        for (var u = 0u; u < p.wk_stride; u++) {
            let o = xo + c;
            let x0 = mat4x4<f32>(load_a(xb0 + o), load_a(xb1 + o), load_a(xb2 + o), load_a(xb3 + o));
            let x1 = mat4x4<f32>(load_a(xb4 + o), load_a(xb5 + o), load_a(xb6 + o), load_a(xb7 + o));
            var w: array<vec4<f32>, 2>;
            w[0] = load_b(wb[0] + u);
            if (1u < 16u / SG) { w[1] = load_b(wb[1] + u); }
            let m0 = transpose(mat4x4<f32>(subgroupShuffle(w[0u / SG], 0u % SG), subgroupShuffle(w[1u / SG], 1u % SG), subgroupShuffle(w[2u / SG], 2u % SG), subgroupShuffle(w[3u / SG], 3u % SG)));
            a0_0 = mac(a0_0, m0, x0);
            a0_1 = mac(a0_1, m0, x1);
            let m1 = transpose(mat4x4<f32>(subgroupShuffle(w[4u / SG], 4u % SG), subgroupShuffle(w[5u / SG], 5u % SG), subgroupShuffle(w[6u / SG], 6u % SG), subgroupShuffle(w[7u / SG], 7u % SG)));
            a1_0 = mac(a1_0, m1, x0);
            a1_1 = mac(a1_1, m1, x1);
            let m2 = transpose(mat4x4<f32>(subgroupShuffle(w[8u / SG], 8u % SG), subgroupShuffle(w[9u / SG], 9u % SG), subgroupShuffle(w[10u / SG], 10u % SG), subgroupShuffle(w[11u / SG], 11u % SG)));
            a2_0 = mac(a2_0, m2, x0);
            a2_1 = mac(a2_1, m2, x1);
            let m3 = transpose(mat4x4<f32>(subgroupShuffle(w[12u / SG], 12u % SG), subgroupShuffle(w[13u / SG], 13u % SG), subgroupShuffle(w[14u / SG], 14u % SG), subgroupShuffle(w[15u / SG], 15u % SG)));
            a3_0 = mac(a3_0, m3, x0);
            a3_1 = mac(a3_1, m3, x1);
            c += 1u;
            let next_s = c == p.cv;
            c = select(c, 0u, next_s);
            s = select(s, s + 1u, next_s);
            xo = select(xo, xo + s_step, next_s);
            let next_r = s == p.kw;
            s = select(s, 0u, next_r);
            xo = select(xo, xo + r_step, next_r);
        }
    } else {
        for (var r = 0u; r < p.kh; r++) {
            for (var s = 0u; s < p.kw; s++) {
                let xo = (r * p.dil_h * p.wp + s * p.dil_w) * p.cv;
                let wo = (r * p.kw + s) * p.cv;
                for (var c = 0u; c < p.cv; c++) {
                    let o = xo + c;
                    let u = wo + c;
                    let x0 = mat4x4<f32>(load_a(xb0 + o), load_a(xb1 + o), load_a(xb2 + o), load_a(xb3 + o));
                    let x1 = mat4x4<f32>(load_a(xb4 + o), load_a(xb5 + o), load_a(xb6 + o), load_a(xb7 + o));
                    var w: array<vec4<f32>, 2>;
                    w[0] = load_b(wb[0] + u);
                    if (1u < 16u / SG) { w[1] = load_b(wb[1] + u); }
                    let m0 = transpose(mat4x4<f32>(subgroupShuffle(w[0u / SG], 0u % SG), subgroupShuffle(w[1u / SG], 1u % SG), subgroupShuffle(w[2u / SG], 2u % SG), subgroupShuffle(w[3u / SG], 3u % SG)));
                    a0_0 = mac(a0_0, m0, x0);
                    a0_1 = mac(a0_1, m0, x1);
                    let m1 = transpose(mat4x4<f32>(subgroupShuffle(w[4u / SG], 4u % SG), subgroupShuffle(w[5u / SG], 5u % SG), subgroupShuffle(w[6u / SG], 6u % SG), subgroupShuffle(w[7u / SG], 7u % SG)));
                    a1_0 = mac(a1_0, m1, x0);
                    a1_1 = mac(a1_1, m1, x1);
                    let m2 = transpose(mat4x4<f32>(subgroupShuffle(w[8u / SG], 8u % SG), subgroupShuffle(w[9u / SG], 9u % SG), subgroupShuffle(w[10u / SG], 10u % SG), subgroupShuffle(w[11u / SG], 11u % SG)));
                    a2_0 = mac(a2_0, m2, x0);
                    a2_1 = mac(a2_1, m2, x1);
                    let m3 = transpose(mat4x4<f32>(subgroupShuffle(w[12u / SG], 12u % SG), subgroupShuffle(w[13u / SG], 13u % SG), subgroupShuffle(w[14u / SG], 14u % SG), subgroupShuffle(w[15u / SG], 15u % SG)));
                    a3_0 = mac(a3_0, m3, x0);
                    a3_1 = mac(a3_1, m3, x1);
                }
            }
        }
    }
// #if MOMENTS
    // Batch norm's partial moments of the block (see MOMENTS): 8 pixels per lane.
    let nv = min(p.m - min(m0, p.m), 8u);
    let v0 = valid4(nv, 0u);
    let v1 = valid4(nv, 4u);
    let count = f32(subgroupAdd(nv));
    let mean0 = subgroupAdd(block_sum(a0_0, v0) + block_sum(a0_1, v1)) / count;
    store_moments(blk, k0 + 0u, mean0, subgroupAdd(block_m2(a0_0, v0, mean0) + block_m2(a0_1, v1, mean0)), lane);
    let mean1 = subgroupAdd(block_sum(a1_0, v0) + block_sum(a1_1, v1)) / count;
    store_moments(blk, k0 + 4u, mean1, subgroupAdd(block_m2(a1_0, v0, mean1) + block_m2(a1_1, v1, mean1)), lane);
    let mean2 = subgroupAdd(block_sum(a2_0, v0) + block_sum(a2_1, v1)) / count;
    store_moments(blk, k0 + 8u, mean2, subgroupAdd(block_m2(a2_0, v0, mean2) + block_m2(a2_1, v1, mean2)), lane);
    let mean3 = subgroupAdd(block_sum(a3_0, v0) + block_sum(a3_1, v1)) / count;
    store_moments(blk, k0 + 12u, mean3, subgroupAdd(block_m2(a3_0, v0, mean3) + block_m2(a3_1, v1, mean3)), lane);
// #endif
// #if GRAD_SUMS
    // Batch norm's backward sums of the block (see GRAD_SUMS): 8 pixels per lane.
    let gn = min(p.m - min(m0, p.m), 8u);
    let gv0 = valid4(gn, 0u);
    let gv1 = valid4(gn, 4u);
    let gb0 = grad_base(m0);
    let gb1 = grad_base(m0 + 4u);
    // The lane loads the records of channels k0 + j*SG + lane (shuffled to all, as the weights).
    var grec: array<vec4<f32>, 2>;
    grec[0] = gsum_rec[min(k0 + 0u * SG + lane, p.k - 1u)];
    if (1u < 16u / SG) { grec[1] = gsum_rec[min(k0 + 1u * SG + lane, p.k - 1u)]; }
    let gs0 = grad_group(a0_0, a0_1, gb0, gb1, k0 + 0u, gv0, gv1, mat4x4<f32>(subgroupShuffle(grec[0u / SG], 0u % SG), subgroupShuffle(grec[1u / SG], 1u % SG), subgroupShuffle(grec[2u / SG], 2u % SG), subgroupShuffle(grec[3u / SG], 3u % SG)));
    store_grad_sums(blk, k0 + 0u, mat2x4<f32>(subgroupAdd(gs0[0]), subgroupAdd(gs0[1])), lane);
    let gs1 = grad_group(a1_0, a1_1, gb0, gb1, k0 + 4u, gv0, gv1, mat4x4<f32>(subgroupShuffle(grec[4u / SG], 4u % SG), subgroupShuffle(grec[5u / SG], 5u % SG), subgroupShuffle(grec[6u / SG], 6u % SG), subgroupShuffle(grec[7u / SG], 7u % SG)));
    store_grad_sums(blk, k0 + 4u, mat2x4<f32>(subgroupAdd(gs1[0]), subgroupAdd(gs1[1])), lane);
    let gs2 = grad_group(a2_0, a2_1, gb0, gb1, k0 + 8u, gv0, gv1, mat4x4<f32>(subgroupShuffle(grec[8u / SG], 8u % SG), subgroupShuffle(grec[9u / SG], 9u % SG), subgroupShuffle(grec[10u / SG], 10u % SG), subgroupShuffle(grec[11u / SG], 11u % SG)));
    store_grad_sums(blk, k0 + 8u, mat2x4<f32>(subgroupAdd(gs2[0]), subgroupAdd(gs2[1])), lane);
    let gs3 = grad_group(a3_0, a3_1, gb0, gb1, k0 + 12u, gv0, gv1, mat4x4<f32>(subgroupShuffle(grec[12u / SG], 12u % SG), subgroupShuffle(grec[13u / SG], 13u % SG), subgroupShuffle(grec[14u / SG], 14u % SG), subgroupShuffle(grec[15u / SG], 15u % SG)));
    store_grad_sums(blk, k0 + 12u, mat2x4<f32>(subgroupAdd(gs3[0]), subgroupAdd(gs3[1])), lane);
// #endif
    store_block(a0_0, m0 + 0u, k0 + 0u);
    store_block(a0_1, m0 + 4u, k0 + 0u);
    store_block(a1_0, m0 + 0u, k0 + 4u);
    store_block(a1_1, m0 + 4u, k0 + 4u);
    store_block(a2_0, m0 + 0u, k0 + 8u);
    store_block(a2_1, m0 + 4u, k0 + 8u);
    store_block(a3_0, m0 + 0u, k0 + 12u);
    store_block(a3_1, m0 + 4u, k0 + 12u);
}
// END generated by scripts/gen_igemm_fwd.py

// BEGIN generated by scripts/gen_igemm_dw.py: weight_grad
@compute @workgroup_size(SG)
fn weight_grad(@builtin(workgroup_id) wid: vec3<u32>, @builtin(subgroup_invocation_id) lane: u32) {
    // Lane owns dy channels k0 + lane*DPL .. + DPL (DPL = 64/SG, loaded as DPL/4 vec4s,
    // shuffled to every lane) and the (r, s, c/4) vec4s j0 + 2*lane, j0 + 2*lane + 1.
    let dpl = 64u / SG;
    let k0 = wid.y * 64u;
    let j0 = wid.x * SG * 2u + lane * 2u;
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
    let dyo = k0 / 4u + lane * (dpl / 4u);
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
    for (var m = pix0; m < pix1; m += 3u) {
        // 3 pixels per iteration (those past the end zeroed): 1/3 of the
        // masked accumulator updates per multiply-add.
        let b0 = grad_bases(m);
        let x0_0 = load_b(b0.x + jo0);
        let x0_1 = load_b(b0.x + jo1);
        var v0: array<vec4<f32>, 2>;
        v0[0] = load_a(b0.y + dyo + 0u);
        if (dpl > 4u) { v0[1] = load_a(b0.y + dyo + 1u); }
        let b1 = grad_bases(min(m + 1u, pix1 - 1u));
        let x1_0 = load_b(b1.x + jo0);
        let x1_1 = load_b(b1.x + jo1);
        var v1: array<vec4<f32>, 2>;
        v1[0] = select(vec4<f32>(0.0), load_a(b1.y + dyo + 0u), m + 1u < pix1);
        if (dpl > 4u) { v1[1] = select(vec4<f32>(0.0), load_a(b1.y + dyo + 1u), m + 1u < pix1); }
        let b2 = grad_bases(min(m + 2u, pix1 - 1u));
        let x2_0 = load_b(b2.x + jo0);
        let x2_1 = load_b(b2.x + jo1);
        var v2: array<vec4<f32>, 2>;
        v2[0] = select(vec4<f32>(0.0), load_a(b2.y + dyo + 0u), m + 2u < pix1);
        if (dpl > 4u) { v2[1] = select(vec4<f32>(0.0), load_a(b2.y + dyo + 1u), m + 2u < pix1); }
        let d0_0 = vec4<f32>(subgroupShuffle(v0[(0u % dpl) / 4u][0], 0u / dpl));
        let d1_0 = vec4<f32>(subgroupShuffle(v1[(0u % dpl) / 4u][0], 0u / dpl));
        let d2_0 = vec4<f32>(subgroupShuffle(v2[(0u % dpl) / 4u][0], 0u / dpl));
        a0_0 = fma(d2_0, x2_0, fma(d1_0, x1_0, fma(d0_0, x0_0, a0_0)));
        a0_1 = fma(d2_0, x2_1, fma(d1_0, x1_1, fma(d0_0, x0_1, a0_1)));
        let d0_1 = vec4<f32>(subgroupShuffle(v0[(1u % dpl) / 4u][1], 1u / dpl));
        let d1_1 = vec4<f32>(subgroupShuffle(v1[(1u % dpl) / 4u][1], 1u / dpl));
        let d2_1 = vec4<f32>(subgroupShuffle(v2[(1u % dpl) / 4u][1], 1u / dpl));
        a1_0 = fma(d2_1, x2_0, fma(d1_1, x1_0, fma(d0_1, x0_0, a1_0)));
        a1_1 = fma(d2_1, x2_1, fma(d1_1, x1_1, fma(d0_1, x0_1, a1_1)));
        let d0_2 = vec4<f32>(subgroupShuffle(v0[(2u % dpl) / 4u][2], 2u / dpl));
        let d1_2 = vec4<f32>(subgroupShuffle(v1[(2u % dpl) / 4u][2], 2u / dpl));
        let d2_2 = vec4<f32>(subgroupShuffle(v2[(2u % dpl) / 4u][2], 2u / dpl));
        a2_0 = fma(d2_2, x2_0, fma(d1_2, x1_0, fma(d0_2, x0_0, a2_0)));
        a2_1 = fma(d2_2, x2_1, fma(d1_2, x1_1, fma(d0_2, x0_1, a2_1)));
        let d0_3 = vec4<f32>(subgroupShuffle(v0[(3u % dpl) / 4u][3], 3u / dpl));
        let d1_3 = vec4<f32>(subgroupShuffle(v1[(3u % dpl) / 4u][3], 3u / dpl));
        let d2_3 = vec4<f32>(subgroupShuffle(v2[(3u % dpl) / 4u][3], 3u / dpl));
        a3_0 = fma(d2_3, x2_0, fma(d1_3, x1_0, fma(d0_3, x0_0, a3_0)));
        a3_1 = fma(d2_3, x2_1, fma(d1_3, x1_1, fma(d0_3, x0_1, a3_1)));
        let d0_4 = vec4<f32>(subgroupShuffle(v0[(4u % dpl) / 4u][0], 4u / dpl));
        let d1_4 = vec4<f32>(subgroupShuffle(v1[(4u % dpl) / 4u][0], 4u / dpl));
        let d2_4 = vec4<f32>(subgroupShuffle(v2[(4u % dpl) / 4u][0], 4u / dpl));
        a4_0 = fma(d2_4, x2_0, fma(d1_4, x1_0, fma(d0_4, x0_0, a4_0)));
        a4_1 = fma(d2_4, x2_1, fma(d1_4, x1_1, fma(d0_4, x0_1, a4_1)));
        let d0_5 = vec4<f32>(subgroupShuffle(v0[(5u % dpl) / 4u][1], 5u / dpl));
        let d1_5 = vec4<f32>(subgroupShuffle(v1[(5u % dpl) / 4u][1], 5u / dpl));
        let d2_5 = vec4<f32>(subgroupShuffle(v2[(5u % dpl) / 4u][1], 5u / dpl));
        a5_0 = fma(d2_5, x2_0, fma(d1_5, x1_0, fma(d0_5, x0_0, a5_0)));
        a5_1 = fma(d2_5, x2_1, fma(d1_5, x1_1, fma(d0_5, x0_1, a5_1)));
        let d0_6 = vec4<f32>(subgroupShuffle(v0[(6u % dpl) / 4u][2], 6u / dpl));
        let d1_6 = vec4<f32>(subgroupShuffle(v1[(6u % dpl) / 4u][2], 6u / dpl));
        let d2_6 = vec4<f32>(subgroupShuffle(v2[(6u % dpl) / 4u][2], 6u / dpl));
        a6_0 = fma(d2_6, x2_0, fma(d1_6, x1_0, fma(d0_6, x0_0, a6_0)));
        a6_1 = fma(d2_6, x2_1, fma(d1_6, x1_1, fma(d0_6, x0_1, a6_1)));
        let d0_7 = vec4<f32>(subgroupShuffle(v0[(7u % dpl) / 4u][3], 7u / dpl));
        let d1_7 = vec4<f32>(subgroupShuffle(v1[(7u % dpl) / 4u][3], 7u / dpl));
        let d2_7 = vec4<f32>(subgroupShuffle(v2[(7u % dpl) / 4u][3], 7u / dpl));
        a7_0 = fma(d2_7, x2_0, fma(d1_7, x1_0, fma(d0_7, x0_0, a7_0)));
        a7_1 = fma(d2_7, x2_1, fma(d1_7, x1_1, fma(d0_7, x0_1, a7_1)));
        let d0_8 = vec4<f32>(subgroupShuffle(v0[(8u % dpl) / 4u][0], 8u / dpl));
        let d1_8 = vec4<f32>(subgroupShuffle(v1[(8u % dpl) / 4u][0], 8u / dpl));
        let d2_8 = vec4<f32>(subgroupShuffle(v2[(8u % dpl) / 4u][0], 8u / dpl));
        a8_0 = fma(d2_8, x2_0, fma(d1_8, x1_0, fma(d0_8, x0_0, a8_0)));
        a8_1 = fma(d2_8, x2_1, fma(d1_8, x1_1, fma(d0_8, x0_1, a8_1)));
        let d0_9 = vec4<f32>(subgroupShuffle(v0[(9u % dpl) / 4u][1], 9u / dpl));
        let d1_9 = vec4<f32>(subgroupShuffle(v1[(9u % dpl) / 4u][1], 9u / dpl));
        let d2_9 = vec4<f32>(subgroupShuffle(v2[(9u % dpl) / 4u][1], 9u / dpl));
        a9_0 = fma(d2_9, x2_0, fma(d1_9, x1_0, fma(d0_9, x0_0, a9_0)));
        a9_1 = fma(d2_9, x2_1, fma(d1_9, x1_1, fma(d0_9, x0_1, a9_1)));
        let d0_10 = vec4<f32>(subgroupShuffle(v0[(10u % dpl) / 4u][2], 10u / dpl));
        let d1_10 = vec4<f32>(subgroupShuffle(v1[(10u % dpl) / 4u][2], 10u / dpl));
        let d2_10 = vec4<f32>(subgroupShuffle(v2[(10u % dpl) / 4u][2], 10u / dpl));
        a10_0 = fma(d2_10, x2_0, fma(d1_10, x1_0, fma(d0_10, x0_0, a10_0)));
        a10_1 = fma(d2_10, x2_1, fma(d1_10, x1_1, fma(d0_10, x0_1, a10_1)));
        let d0_11 = vec4<f32>(subgroupShuffle(v0[(11u % dpl) / 4u][3], 11u / dpl));
        let d1_11 = vec4<f32>(subgroupShuffle(v1[(11u % dpl) / 4u][3], 11u / dpl));
        let d2_11 = vec4<f32>(subgroupShuffle(v2[(11u % dpl) / 4u][3], 11u / dpl));
        a11_0 = fma(d2_11, x2_0, fma(d1_11, x1_0, fma(d0_11, x0_0, a11_0)));
        a11_1 = fma(d2_11, x2_1, fma(d1_11, x1_1, fma(d0_11, x0_1, a11_1)));
        let d0_12 = vec4<f32>(subgroupShuffle(v0[(12u % dpl) / 4u][0], 12u / dpl));
        let d1_12 = vec4<f32>(subgroupShuffle(v1[(12u % dpl) / 4u][0], 12u / dpl));
        let d2_12 = vec4<f32>(subgroupShuffle(v2[(12u % dpl) / 4u][0], 12u / dpl));
        a12_0 = fma(d2_12, x2_0, fma(d1_12, x1_0, fma(d0_12, x0_0, a12_0)));
        a12_1 = fma(d2_12, x2_1, fma(d1_12, x1_1, fma(d0_12, x0_1, a12_1)));
        let d0_13 = vec4<f32>(subgroupShuffle(v0[(13u % dpl) / 4u][1], 13u / dpl));
        let d1_13 = vec4<f32>(subgroupShuffle(v1[(13u % dpl) / 4u][1], 13u / dpl));
        let d2_13 = vec4<f32>(subgroupShuffle(v2[(13u % dpl) / 4u][1], 13u / dpl));
        a13_0 = fma(d2_13, x2_0, fma(d1_13, x1_0, fma(d0_13, x0_0, a13_0)));
        a13_1 = fma(d2_13, x2_1, fma(d1_13, x1_1, fma(d0_13, x0_1, a13_1)));
        let d0_14 = vec4<f32>(subgroupShuffle(v0[(14u % dpl) / 4u][2], 14u / dpl));
        let d1_14 = vec4<f32>(subgroupShuffle(v1[(14u % dpl) / 4u][2], 14u / dpl));
        let d2_14 = vec4<f32>(subgroupShuffle(v2[(14u % dpl) / 4u][2], 14u / dpl));
        a14_0 = fma(d2_14, x2_0, fma(d1_14, x1_0, fma(d0_14, x0_0, a14_0)));
        a14_1 = fma(d2_14, x2_1, fma(d1_14, x1_1, fma(d0_14, x0_1, a14_1)));
        let d0_15 = vec4<f32>(subgroupShuffle(v0[(15u % dpl) / 4u][3], 15u / dpl));
        let d1_15 = vec4<f32>(subgroupShuffle(v1[(15u % dpl) / 4u][3], 15u / dpl));
        let d2_15 = vec4<f32>(subgroupShuffle(v2[(15u % dpl) / 4u][3], 15u / dpl));
        a15_0 = fma(d2_15, x2_0, fma(d1_15, x1_0, fma(d0_15, x0_0, a15_0)));
        a15_1 = fma(d2_15, x2_1, fma(d1_15, x1_1, fma(d0_15, x0_1, a15_1)));
        let d0_16 = vec4<f32>(subgroupShuffle(v0[(16u % dpl) / 4u][0], 16u / dpl));
        let d1_16 = vec4<f32>(subgroupShuffle(v1[(16u % dpl) / 4u][0], 16u / dpl));
        let d2_16 = vec4<f32>(subgroupShuffle(v2[(16u % dpl) / 4u][0], 16u / dpl));
        a16_0 = fma(d2_16, x2_0, fma(d1_16, x1_0, fma(d0_16, x0_0, a16_0)));
        a16_1 = fma(d2_16, x2_1, fma(d1_16, x1_1, fma(d0_16, x0_1, a16_1)));
        let d0_17 = vec4<f32>(subgroupShuffle(v0[(17u % dpl) / 4u][1], 17u / dpl));
        let d1_17 = vec4<f32>(subgroupShuffle(v1[(17u % dpl) / 4u][1], 17u / dpl));
        let d2_17 = vec4<f32>(subgroupShuffle(v2[(17u % dpl) / 4u][1], 17u / dpl));
        a17_0 = fma(d2_17, x2_0, fma(d1_17, x1_0, fma(d0_17, x0_0, a17_0)));
        a17_1 = fma(d2_17, x2_1, fma(d1_17, x1_1, fma(d0_17, x0_1, a17_1)));
        let d0_18 = vec4<f32>(subgroupShuffle(v0[(18u % dpl) / 4u][2], 18u / dpl));
        let d1_18 = vec4<f32>(subgroupShuffle(v1[(18u % dpl) / 4u][2], 18u / dpl));
        let d2_18 = vec4<f32>(subgroupShuffle(v2[(18u % dpl) / 4u][2], 18u / dpl));
        a18_0 = fma(d2_18, x2_0, fma(d1_18, x1_0, fma(d0_18, x0_0, a18_0)));
        a18_1 = fma(d2_18, x2_1, fma(d1_18, x1_1, fma(d0_18, x0_1, a18_1)));
        let d0_19 = vec4<f32>(subgroupShuffle(v0[(19u % dpl) / 4u][3], 19u / dpl));
        let d1_19 = vec4<f32>(subgroupShuffle(v1[(19u % dpl) / 4u][3], 19u / dpl));
        let d2_19 = vec4<f32>(subgroupShuffle(v2[(19u % dpl) / 4u][3], 19u / dpl));
        a19_0 = fma(d2_19, x2_0, fma(d1_19, x1_0, fma(d0_19, x0_0, a19_0)));
        a19_1 = fma(d2_19, x2_1, fma(d1_19, x1_1, fma(d0_19, x0_1, a19_1)));
        let d0_20 = vec4<f32>(subgroupShuffle(v0[(20u % dpl) / 4u][0], 20u / dpl));
        let d1_20 = vec4<f32>(subgroupShuffle(v1[(20u % dpl) / 4u][0], 20u / dpl));
        let d2_20 = vec4<f32>(subgroupShuffle(v2[(20u % dpl) / 4u][0], 20u / dpl));
        a20_0 = fma(d2_20, x2_0, fma(d1_20, x1_0, fma(d0_20, x0_0, a20_0)));
        a20_1 = fma(d2_20, x2_1, fma(d1_20, x1_1, fma(d0_20, x0_1, a20_1)));
        let d0_21 = vec4<f32>(subgroupShuffle(v0[(21u % dpl) / 4u][1], 21u / dpl));
        let d1_21 = vec4<f32>(subgroupShuffle(v1[(21u % dpl) / 4u][1], 21u / dpl));
        let d2_21 = vec4<f32>(subgroupShuffle(v2[(21u % dpl) / 4u][1], 21u / dpl));
        a21_0 = fma(d2_21, x2_0, fma(d1_21, x1_0, fma(d0_21, x0_0, a21_0)));
        a21_1 = fma(d2_21, x2_1, fma(d1_21, x1_1, fma(d0_21, x0_1, a21_1)));
        let d0_22 = vec4<f32>(subgroupShuffle(v0[(22u % dpl) / 4u][2], 22u / dpl));
        let d1_22 = vec4<f32>(subgroupShuffle(v1[(22u % dpl) / 4u][2], 22u / dpl));
        let d2_22 = vec4<f32>(subgroupShuffle(v2[(22u % dpl) / 4u][2], 22u / dpl));
        a22_0 = fma(d2_22, x2_0, fma(d1_22, x1_0, fma(d0_22, x0_0, a22_0)));
        a22_1 = fma(d2_22, x2_1, fma(d1_22, x1_1, fma(d0_22, x0_1, a22_1)));
        let d0_23 = vec4<f32>(subgroupShuffle(v0[(23u % dpl) / 4u][3], 23u / dpl));
        let d1_23 = vec4<f32>(subgroupShuffle(v1[(23u % dpl) / 4u][3], 23u / dpl));
        let d2_23 = vec4<f32>(subgroupShuffle(v2[(23u % dpl) / 4u][3], 23u / dpl));
        a23_0 = fma(d2_23, x2_0, fma(d1_23, x1_0, fma(d0_23, x0_0, a23_0)));
        a23_1 = fma(d2_23, x2_1, fma(d1_23, x1_1, fma(d0_23, x0_1, a23_1)));
        let d0_24 = vec4<f32>(subgroupShuffle(v0[(24u % dpl) / 4u][0], 24u / dpl));
        let d1_24 = vec4<f32>(subgroupShuffle(v1[(24u % dpl) / 4u][0], 24u / dpl));
        let d2_24 = vec4<f32>(subgroupShuffle(v2[(24u % dpl) / 4u][0], 24u / dpl));
        a24_0 = fma(d2_24, x2_0, fma(d1_24, x1_0, fma(d0_24, x0_0, a24_0)));
        a24_1 = fma(d2_24, x2_1, fma(d1_24, x1_1, fma(d0_24, x0_1, a24_1)));
        let d0_25 = vec4<f32>(subgroupShuffle(v0[(25u % dpl) / 4u][1], 25u / dpl));
        let d1_25 = vec4<f32>(subgroupShuffle(v1[(25u % dpl) / 4u][1], 25u / dpl));
        let d2_25 = vec4<f32>(subgroupShuffle(v2[(25u % dpl) / 4u][1], 25u / dpl));
        a25_0 = fma(d2_25, x2_0, fma(d1_25, x1_0, fma(d0_25, x0_0, a25_0)));
        a25_1 = fma(d2_25, x2_1, fma(d1_25, x1_1, fma(d0_25, x0_1, a25_1)));
        let d0_26 = vec4<f32>(subgroupShuffle(v0[(26u % dpl) / 4u][2], 26u / dpl));
        let d1_26 = vec4<f32>(subgroupShuffle(v1[(26u % dpl) / 4u][2], 26u / dpl));
        let d2_26 = vec4<f32>(subgroupShuffle(v2[(26u % dpl) / 4u][2], 26u / dpl));
        a26_0 = fma(d2_26, x2_0, fma(d1_26, x1_0, fma(d0_26, x0_0, a26_0)));
        a26_1 = fma(d2_26, x2_1, fma(d1_26, x1_1, fma(d0_26, x0_1, a26_1)));
        let d0_27 = vec4<f32>(subgroupShuffle(v0[(27u % dpl) / 4u][3], 27u / dpl));
        let d1_27 = vec4<f32>(subgroupShuffle(v1[(27u % dpl) / 4u][3], 27u / dpl));
        let d2_27 = vec4<f32>(subgroupShuffle(v2[(27u % dpl) / 4u][3], 27u / dpl));
        a27_0 = fma(d2_27, x2_0, fma(d1_27, x1_0, fma(d0_27, x0_0, a27_0)));
        a27_1 = fma(d2_27, x2_1, fma(d1_27, x1_1, fma(d0_27, x0_1, a27_1)));
        let d0_28 = vec4<f32>(subgroupShuffle(v0[(28u % dpl) / 4u][0], 28u / dpl));
        let d1_28 = vec4<f32>(subgroupShuffle(v1[(28u % dpl) / 4u][0], 28u / dpl));
        let d2_28 = vec4<f32>(subgroupShuffle(v2[(28u % dpl) / 4u][0], 28u / dpl));
        a28_0 = fma(d2_28, x2_0, fma(d1_28, x1_0, fma(d0_28, x0_0, a28_0)));
        a28_1 = fma(d2_28, x2_1, fma(d1_28, x1_1, fma(d0_28, x0_1, a28_1)));
        let d0_29 = vec4<f32>(subgroupShuffle(v0[(29u % dpl) / 4u][1], 29u / dpl));
        let d1_29 = vec4<f32>(subgroupShuffle(v1[(29u % dpl) / 4u][1], 29u / dpl));
        let d2_29 = vec4<f32>(subgroupShuffle(v2[(29u % dpl) / 4u][1], 29u / dpl));
        a29_0 = fma(d2_29, x2_0, fma(d1_29, x1_0, fma(d0_29, x0_0, a29_0)));
        a29_1 = fma(d2_29, x2_1, fma(d1_29, x1_1, fma(d0_29, x0_1, a29_1)));
        let d0_30 = vec4<f32>(subgroupShuffle(v0[(30u % dpl) / 4u][2], 30u / dpl));
        let d1_30 = vec4<f32>(subgroupShuffle(v1[(30u % dpl) / 4u][2], 30u / dpl));
        let d2_30 = vec4<f32>(subgroupShuffle(v2[(30u % dpl) / 4u][2], 30u / dpl));
        a30_0 = fma(d2_30, x2_0, fma(d1_30, x1_0, fma(d0_30, x0_0, a30_0)));
        a30_1 = fma(d2_30, x2_1, fma(d1_30, x1_1, fma(d0_30, x0_1, a30_1)));
        let d0_31 = vec4<f32>(subgroupShuffle(v0[(31u % dpl) / 4u][3], 31u / dpl));
        let d1_31 = vec4<f32>(subgroupShuffle(v1[(31u % dpl) / 4u][3], 31u / dpl));
        let d2_31 = vec4<f32>(subgroupShuffle(v2[(31u % dpl) / 4u][3], 31u / dpl));
        a31_0 = fma(d2_31, x2_0, fma(d1_31, x1_0, fma(d0_31, x0_0, a31_0)));
        a31_1 = fma(d2_31, x2_1, fma(d1_31, x1_1, fma(d0_31, x0_1, a31_1)));
        let d0_32 = vec4<f32>(subgroupShuffle(v0[(32u % dpl) / 4u][0], 32u / dpl));
        let d1_32 = vec4<f32>(subgroupShuffle(v1[(32u % dpl) / 4u][0], 32u / dpl));
        let d2_32 = vec4<f32>(subgroupShuffle(v2[(32u % dpl) / 4u][0], 32u / dpl));
        a32_0 = fma(d2_32, x2_0, fma(d1_32, x1_0, fma(d0_32, x0_0, a32_0)));
        a32_1 = fma(d2_32, x2_1, fma(d1_32, x1_1, fma(d0_32, x0_1, a32_1)));
        let d0_33 = vec4<f32>(subgroupShuffle(v0[(33u % dpl) / 4u][1], 33u / dpl));
        let d1_33 = vec4<f32>(subgroupShuffle(v1[(33u % dpl) / 4u][1], 33u / dpl));
        let d2_33 = vec4<f32>(subgroupShuffle(v2[(33u % dpl) / 4u][1], 33u / dpl));
        a33_0 = fma(d2_33, x2_0, fma(d1_33, x1_0, fma(d0_33, x0_0, a33_0)));
        a33_1 = fma(d2_33, x2_1, fma(d1_33, x1_1, fma(d0_33, x0_1, a33_1)));
        let d0_34 = vec4<f32>(subgroupShuffle(v0[(34u % dpl) / 4u][2], 34u / dpl));
        let d1_34 = vec4<f32>(subgroupShuffle(v1[(34u % dpl) / 4u][2], 34u / dpl));
        let d2_34 = vec4<f32>(subgroupShuffle(v2[(34u % dpl) / 4u][2], 34u / dpl));
        a34_0 = fma(d2_34, x2_0, fma(d1_34, x1_0, fma(d0_34, x0_0, a34_0)));
        a34_1 = fma(d2_34, x2_1, fma(d1_34, x1_1, fma(d0_34, x0_1, a34_1)));
        let d0_35 = vec4<f32>(subgroupShuffle(v0[(35u % dpl) / 4u][3], 35u / dpl));
        let d1_35 = vec4<f32>(subgroupShuffle(v1[(35u % dpl) / 4u][3], 35u / dpl));
        let d2_35 = vec4<f32>(subgroupShuffle(v2[(35u % dpl) / 4u][3], 35u / dpl));
        a35_0 = fma(d2_35, x2_0, fma(d1_35, x1_0, fma(d0_35, x0_0, a35_0)));
        a35_1 = fma(d2_35, x2_1, fma(d1_35, x1_1, fma(d0_35, x0_1, a35_1)));
        let d0_36 = vec4<f32>(subgroupShuffle(v0[(36u % dpl) / 4u][0], 36u / dpl));
        let d1_36 = vec4<f32>(subgroupShuffle(v1[(36u % dpl) / 4u][0], 36u / dpl));
        let d2_36 = vec4<f32>(subgroupShuffle(v2[(36u % dpl) / 4u][0], 36u / dpl));
        a36_0 = fma(d2_36, x2_0, fma(d1_36, x1_0, fma(d0_36, x0_0, a36_0)));
        a36_1 = fma(d2_36, x2_1, fma(d1_36, x1_1, fma(d0_36, x0_1, a36_1)));
        let d0_37 = vec4<f32>(subgroupShuffle(v0[(37u % dpl) / 4u][1], 37u / dpl));
        let d1_37 = vec4<f32>(subgroupShuffle(v1[(37u % dpl) / 4u][1], 37u / dpl));
        let d2_37 = vec4<f32>(subgroupShuffle(v2[(37u % dpl) / 4u][1], 37u / dpl));
        a37_0 = fma(d2_37, x2_0, fma(d1_37, x1_0, fma(d0_37, x0_0, a37_0)));
        a37_1 = fma(d2_37, x2_1, fma(d1_37, x1_1, fma(d0_37, x0_1, a37_1)));
        let d0_38 = vec4<f32>(subgroupShuffle(v0[(38u % dpl) / 4u][2], 38u / dpl));
        let d1_38 = vec4<f32>(subgroupShuffle(v1[(38u % dpl) / 4u][2], 38u / dpl));
        let d2_38 = vec4<f32>(subgroupShuffle(v2[(38u % dpl) / 4u][2], 38u / dpl));
        a38_0 = fma(d2_38, x2_0, fma(d1_38, x1_0, fma(d0_38, x0_0, a38_0)));
        a38_1 = fma(d2_38, x2_1, fma(d1_38, x1_1, fma(d0_38, x0_1, a38_1)));
        let d0_39 = vec4<f32>(subgroupShuffle(v0[(39u % dpl) / 4u][3], 39u / dpl));
        let d1_39 = vec4<f32>(subgroupShuffle(v1[(39u % dpl) / 4u][3], 39u / dpl));
        let d2_39 = vec4<f32>(subgroupShuffle(v2[(39u % dpl) / 4u][3], 39u / dpl));
        a39_0 = fma(d2_39, x2_0, fma(d1_39, x1_0, fma(d0_39, x0_0, a39_0)));
        a39_1 = fma(d2_39, x2_1, fma(d1_39, x1_1, fma(d0_39, x0_1, a39_1)));
        let d0_40 = vec4<f32>(subgroupShuffle(v0[(40u % dpl) / 4u][0], 40u / dpl));
        let d1_40 = vec4<f32>(subgroupShuffle(v1[(40u % dpl) / 4u][0], 40u / dpl));
        let d2_40 = vec4<f32>(subgroupShuffle(v2[(40u % dpl) / 4u][0], 40u / dpl));
        a40_0 = fma(d2_40, x2_0, fma(d1_40, x1_0, fma(d0_40, x0_0, a40_0)));
        a40_1 = fma(d2_40, x2_1, fma(d1_40, x1_1, fma(d0_40, x0_1, a40_1)));
        let d0_41 = vec4<f32>(subgroupShuffle(v0[(41u % dpl) / 4u][1], 41u / dpl));
        let d1_41 = vec4<f32>(subgroupShuffle(v1[(41u % dpl) / 4u][1], 41u / dpl));
        let d2_41 = vec4<f32>(subgroupShuffle(v2[(41u % dpl) / 4u][1], 41u / dpl));
        a41_0 = fma(d2_41, x2_0, fma(d1_41, x1_0, fma(d0_41, x0_0, a41_0)));
        a41_1 = fma(d2_41, x2_1, fma(d1_41, x1_1, fma(d0_41, x0_1, a41_1)));
        let d0_42 = vec4<f32>(subgroupShuffle(v0[(42u % dpl) / 4u][2], 42u / dpl));
        let d1_42 = vec4<f32>(subgroupShuffle(v1[(42u % dpl) / 4u][2], 42u / dpl));
        let d2_42 = vec4<f32>(subgroupShuffle(v2[(42u % dpl) / 4u][2], 42u / dpl));
        a42_0 = fma(d2_42, x2_0, fma(d1_42, x1_0, fma(d0_42, x0_0, a42_0)));
        a42_1 = fma(d2_42, x2_1, fma(d1_42, x1_1, fma(d0_42, x0_1, a42_1)));
        let d0_43 = vec4<f32>(subgroupShuffle(v0[(43u % dpl) / 4u][3], 43u / dpl));
        let d1_43 = vec4<f32>(subgroupShuffle(v1[(43u % dpl) / 4u][3], 43u / dpl));
        let d2_43 = vec4<f32>(subgroupShuffle(v2[(43u % dpl) / 4u][3], 43u / dpl));
        a43_0 = fma(d2_43, x2_0, fma(d1_43, x1_0, fma(d0_43, x0_0, a43_0)));
        a43_1 = fma(d2_43, x2_1, fma(d1_43, x1_1, fma(d0_43, x0_1, a43_1)));
        let d0_44 = vec4<f32>(subgroupShuffle(v0[(44u % dpl) / 4u][0], 44u / dpl));
        let d1_44 = vec4<f32>(subgroupShuffle(v1[(44u % dpl) / 4u][0], 44u / dpl));
        let d2_44 = vec4<f32>(subgroupShuffle(v2[(44u % dpl) / 4u][0], 44u / dpl));
        a44_0 = fma(d2_44, x2_0, fma(d1_44, x1_0, fma(d0_44, x0_0, a44_0)));
        a44_1 = fma(d2_44, x2_1, fma(d1_44, x1_1, fma(d0_44, x0_1, a44_1)));
        let d0_45 = vec4<f32>(subgroupShuffle(v0[(45u % dpl) / 4u][1], 45u / dpl));
        let d1_45 = vec4<f32>(subgroupShuffle(v1[(45u % dpl) / 4u][1], 45u / dpl));
        let d2_45 = vec4<f32>(subgroupShuffle(v2[(45u % dpl) / 4u][1], 45u / dpl));
        a45_0 = fma(d2_45, x2_0, fma(d1_45, x1_0, fma(d0_45, x0_0, a45_0)));
        a45_1 = fma(d2_45, x2_1, fma(d1_45, x1_1, fma(d0_45, x0_1, a45_1)));
        let d0_46 = vec4<f32>(subgroupShuffle(v0[(46u % dpl) / 4u][2], 46u / dpl));
        let d1_46 = vec4<f32>(subgroupShuffle(v1[(46u % dpl) / 4u][2], 46u / dpl));
        let d2_46 = vec4<f32>(subgroupShuffle(v2[(46u % dpl) / 4u][2], 46u / dpl));
        a46_0 = fma(d2_46, x2_0, fma(d1_46, x1_0, fma(d0_46, x0_0, a46_0)));
        a46_1 = fma(d2_46, x2_1, fma(d1_46, x1_1, fma(d0_46, x0_1, a46_1)));
        let d0_47 = vec4<f32>(subgroupShuffle(v0[(47u % dpl) / 4u][3], 47u / dpl));
        let d1_47 = vec4<f32>(subgroupShuffle(v1[(47u % dpl) / 4u][3], 47u / dpl));
        let d2_47 = vec4<f32>(subgroupShuffle(v2[(47u % dpl) / 4u][3], 47u / dpl));
        a47_0 = fma(d2_47, x2_0, fma(d1_47, x1_0, fma(d0_47, x0_0, a47_0)));
        a47_1 = fma(d2_47, x2_1, fma(d1_47, x1_1, fma(d0_47, x0_1, a47_1)));
        let d0_48 = vec4<f32>(subgroupShuffle(v0[(48u % dpl) / 4u][0], 48u / dpl));
        let d1_48 = vec4<f32>(subgroupShuffle(v1[(48u % dpl) / 4u][0], 48u / dpl));
        let d2_48 = vec4<f32>(subgroupShuffle(v2[(48u % dpl) / 4u][0], 48u / dpl));
        a48_0 = fma(d2_48, x2_0, fma(d1_48, x1_0, fma(d0_48, x0_0, a48_0)));
        a48_1 = fma(d2_48, x2_1, fma(d1_48, x1_1, fma(d0_48, x0_1, a48_1)));
        let d0_49 = vec4<f32>(subgroupShuffle(v0[(49u % dpl) / 4u][1], 49u / dpl));
        let d1_49 = vec4<f32>(subgroupShuffle(v1[(49u % dpl) / 4u][1], 49u / dpl));
        let d2_49 = vec4<f32>(subgroupShuffle(v2[(49u % dpl) / 4u][1], 49u / dpl));
        a49_0 = fma(d2_49, x2_0, fma(d1_49, x1_0, fma(d0_49, x0_0, a49_0)));
        a49_1 = fma(d2_49, x2_1, fma(d1_49, x1_1, fma(d0_49, x0_1, a49_1)));
        let d0_50 = vec4<f32>(subgroupShuffle(v0[(50u % dpl) / 4u][2], 50u / dpl));
        let d1_50 = vec4<f32>(subgroupShuffle(v1[(50u % dpl) / 4u][2], 50u / dpl));
        let d2_50 = vec4<f32>(subgroupShuffle(v2[(50u % dpl) / 4u][2], 50u / dpl));
        a50_0 = fma(d2_50, x2_0, fma(d1_50, x1_0, fma(d0_50, x0_0, a50_0)));
        a50_1 = fma(d2_50, x2_1, fma(d1_50, x1_1, fma(d0_50, x0_1, a50_1)));
        let d0_51 = vec4<f32>(subgroupShuffle(v0[(51u % dpl) / 4u][3], 51u / dpl));
        let d1_51 = vec4<f32>(subgroupShuffle(v1[(51u % dpl) / 4u][3], 51u / dpl));
        let d2_51 = vec4<f32>(subgroupShuffle(v2[(51u % dpl) / 4u][3], 51u / dpl));
        a51_0 = fma(d2_51, x2_0, fma(d1_51, x1_0, fma(d0_51, x0_0, a51_0)));
        a51_1 = fma(d2_51, x2_1, fma(d1_51, x1_1, fma(d0_51, x0_1, a51_1)));
        let d0_52 = vec4<f32>(subgroupShuffle(v0[(52u % dpl) / 4u][0], 52u / dpl));
        let d1_52 = vec4<f32>(subgroupShuffle(v1[(52u % dpl) / 4u][0], 52u / dpl));
        let d2_52 = vec4<f32>(subgroupShuffle(v2[(52u % dpl) / 4u][0], 52u / dpl));
        a52_0 = fma(d2_52, x2_0, fma(d1_52, x1_0, fma(d0_52, x0_0, a52_0)));
        a52_1 = fma(d2_52, x2_1, fma(d1_52, x1_1, fma(d0_52, x0_1, a52_1)));
        let d0_53 = vec4<f32>(subgroupShuffle(v0[(53u % dpl) / 4u][1], 53u / dpl));
        let d1_53 = vec4<f32>(subgroupShuffle(v1[(53u % dpl) / 4u][1], 53u / dpl));
        let d2_53 = vec4<f32>(subgroupShuffle(v2[(53u % dpl) / 4u][1], 53u / dpl));
        a53_0 = fma(d2_53, x2_0, fma(d1_53, x1_0, fma(d0_53, x0_0, a53_0)));
        a53_1 = fma(d2_53, x2_1, fma(d1_53, x1_1, fma(d0_53, x0_1, a53_1)));
        let d0_54 = vec4<f32>(subgroupShuffle(v0[(54u % dpl) / 4u][2], 54u / dpl));
        let d1_54 = vec4<f32>(subgroupShuffle(v1[(54u % dpl) / 4u][2], 54u / dpl));
        let d2_54 = vec4<f32>(subgroupShuffle(v2[(54u % dpl) / 4u][2], 54u / dpl));
        a54_0 = fma(d2_54, x2_0, fma(d1_54, x1_0, fma(d0_54, x0_0, a54_0)));
        a54_1 = fma(d2_54, x2_1, fma(d1_54, x1_1, fma(d0_54, x0_1, a54_1)));
        let d0_55 = vec4<f32>(subgroupShuffle(v0[(55u % dpl) / 4u][3], 55u / dpl));
        let d1_55 = vec4<f32>(subgroupShuffle(v1[(55u % dpl) / 4u][3], 55u / dpl));
        let d2_55 = vec4<f32>(subgroupShuffle(v2[(55u % dpl) / 4u][3], 55u / dpl));
        a55_0 = fma(d2_55, x2_0, fma(d1_55, x1_0, fma(d0_55, x0_0, a55_0)));
        a55_1 = fma(d2_55, x2_1, fma(d1_55, x1_1, fma(d0_55, x0_1, a55_1)));
        let d0_56 = vec4<f32>(subgroupShuffle(v0[(56u % dpl) / 4u][0], 56u / dpl));
        let d1_56 = vec4<f32>(subgroupShuffle(v1[(56u % dpl) / 4u][0], 56u / dpl));
        let d2_56 = vec4<f32>(subgroupShuffle(v2[(56u % dpl) / 4u][0], 56u / dpl));
        a56_0 = fma(d2_56, x2_0, fma(d1_56, x1_0, fma(d0_56, x0_0, a56_0)));
        a56_1 = fma(d2_56, x2_1, fma(d1_56, x1_1, fma(d0_56, x0_1, a56_1)));
        let d0_57 = vec4<f32>(subgroupShuffle(v0[(57u % dpl) / 4u][1], 57u / dpl));
        let d1_57 = vec4<f32>(subgroupShuffle(v1[(57u % dpl) / 4u][1], 57u / dpl));
        let d2_57 = vec4<f32>(subgroupShuffle(v2[(57u % dpl) / 4u][1], 57u / dpl));
        a57_0 = fma(d2_57, x2_0, fma(d1_57, x1_0, fma(d0_57, x0_0, a57_0)));
        a57_1 = fma(d2_57, x2_1, fma(d1_57, x1_1, fma(d0_57, x0_1, a57_1)));
        let d0_58 = vec4<f32>(subgroupShuffle(v0[(58u % dpl) / 4u][2], 58u / dpl));
        let d1_58 = vec4<f32>(subgroupShuffle(v1[(58u % dpl) / 4u][2], 58u / dpl));
        let d2_58 = vec4<f32>(subgroupShuffle(v2[(58u % dpl) / 4u][2], 58u / dpl));
        a58_0 = fma(d2_58, x2_0, fma(d1_58, x1_0, fma(d0_58, x0_0, a58_0)));
        a58_1 = fma(d2_58, x2_1, fma(d1_58, x1_1, fma(d0_58, x0_1, a58_1)));
        let d0_59 = vec4<f32>(subgroupShuffle(v0[(59u % dpl) / 4u][3], 59u / dpl));
        let d1_59 = vec4<f32>(subgroupShuffle(v1[(59u % dpl) / 4u][3], 59u / dpl));
        let d2_59 = vec4<f32>(subgroupShuffle(v2[(59u % dpl) / 4u][3], 59u / dpl));
        a59_0 = fma(d2_59, x2_0, fma(d1_59, x1_0, fma(d0_59, x0_0, a59_0)));
        a59_1 = fma(d2_59, x2_1, fma(d1_59, x1_1, fma(d0_59, x0_1, a59_1)));
        let d0_60 = vec4<f32>(subgroupShuffle(v0[(60u % dpl) / 4u][0], 60u / dpl));
        let d1_60 = vec4<f32>(subgroupShuffle(v1[(60u % dpl) / 4u][0], 60u / dpl));
        let d2_60 = vec4<f32>(subgroupShuffle(v2[(60u % dpl) / 4u][0], 60u / dpl));
        a60_0 = fma(d2_60, x2_0, fma(d1_60, x1_0, fma(d0_60, x0_0, a60_0)));
        a60_1 = fma(d2_60, x2_1, fma(d1_60, x1_1, fma(d0_60, x0_1, a60_1)));
        let d0_61 = vec4<f32>(subgroupShuffle(v0[(61u % dpl) / 4u][1], 61u / dpl));
        let d1_61 = vec4<f32>(subgroupShuffle(v1[(61u % dpl) / 4u][1], 61u / dpl));
        let d2_61 = vec4<f32>(subgroupShuffle(v2[(61u % dpl) / 4u][1], 61u / dpl));
        a61_0 = fma(d2_61, x2_0, fma(d1_61, x1_0, fma(d0_61, x0_0, a61_0)));
        a61_1 = fma(d2_61, x2_1, fma(d1_61, x1_1, fma(d0_61, x0_1, a61_1)));
        let d0_62 = vec4<f32>(subgroupShuffle(v0[(62u % dpl) / 4u][2], 62u / dpl));
        let d1_62 = vec4<f32>(subgroupShuffle(v1[(62u % dpl) / 4u][2], 62u / dpl));
        let d2_62 = vec4<f32>(subgroupShuffle(v2[(62u % dpl) / 4u][2], 62u / dpl));
        a62_0 = fma(d2_62, x2_0, fma(d1_62, x1_0, fma(d0_62, x0_0, a62_0)));
        a62_1 = fma(d2_62, x2_1, fma(d1_62, x1_1, fma(d0_62, x0_1, a62_1)));
        let d0_63 = vec4<f32>(subgroupShuffle(v0[(63u % dpl) / 4u][3], 63u / dpl));
        let d1_63 = vec4<f32>(subgroupShuffle(v1[(63u % dpl) / 4u][3], 63u / dpl));
        let d2_63 = vec4<f32>(subgroupShuffle(v2[(63u % dpl) / 4u][3], 63u / dpl));
        a63_0 = fma(d2_63, x2_0, fma(d1_63, x1_0, fma(d0_63, x0_0, a63_0)));
        a63_1 = fma(d2_63, x2_1, fma(d1_63, x1_1, fma(d0_63, x0_1, a63_1)));
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
// END generated by scripts/gen_igemm_dw.py: weight_grad

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

// BEGIN generated by scripts/gen_igemm_dw.py
@compute @workgroup_size(SG)
fn weight_grad_k16(@builtin(workgroup_id) wid: vec3<u32>, @builtin(subgroup_invocation_id) lane: u32) {
    // weight_grad for layers with at most 16 output channels: 16 channels x 9 vec4s of
    // (r, s, c/4) per lane. The subgroup is p.lane_groups groups of p.group_lanes lanes;
    // group g reduces the g-th share of the split's pixels into split slot
    // z * lane_groups + g (lanes past the last group compute a copy that is not stored).
    let k0 = wid.y * 16u;
    let g = lane / p.group_lanes;
    let in_group = g < p.lane_groups;
    let gc = min(g, p.lane_groups - 1u);
    let j0 = (wid.x * p.group_lanes + lane % p.group_lanes) * 9u;
    var joff: array<u32, 9>;
    for (var jj = 0u; jj < 9u; jj++) {
        let j = min(j0 + jj, p.jv - 1u);
        let c = j % p.cv;
        let rs = j / p.cv;
        let r = rs / p.kw;
        let s = rs - r * p.kw;
        joff[jj] = (r * p.dil_h * p.wp + s * p.dil_w) * p.cv + c;
    }
    let jo0 = joff[0];
    let jo1 = joff[1];
    let jo2 = joff[2];
    let jo3 = joff[3];
    let jo4 = joff[4];
    let jo5 = joff[5];
    let jo6 = joff[6];
    let jo7 = joff[7];
    let jo8 = joff[8];
    let split0 = wid.z * p.chunk;
    let split1 = min(split0 + p.chunk, p.m);
    let share = (p.chunk + p.lane_groups - 1u) / p.lane_groups;
    let pix0 = min(split0 + gc * share, split1);
    let pix1 = min(pix0 + share, split1);
    var a0_0 = vec4<f32>(); var a0_1 = vec4<f32>(); var a0_2 = vec4<f32>(); var a0_3 = vec4<f32>(); var a0_4 = vec4<f32>(); var a0_5 = vec4<f32>(); var a0_6 = vec4<f32>(); var a0_7 = vec4<f32>(); var a0_8 = vec4<f32>();
    var a1_0 = vec4<f32>(); var a1_1 = vec4<f32>(); var a1_2 = vec4<f32>(); var a1_3 = vec4<f32>(); var a1_4 = vec4<f32>(); var a1_5 = vec4<f32>(); var a1_6 = vec4<f32>(); var a1_7 = vec4<f32>(); var a1_8 = vec4<f32>();
    var a2_0 = vec4<f32>(); var a2_1 = vec4<f32>(); var a2_2 = vec4<f32>(); var a2_3 = vec4<f32>(); var a2_4 = vec4<f32>(); var a2_5 = vec4<f32>(); var a2_6 = vec4<f32>(); var a2_7 = vec4<f32>(); var a2_8 = vec4<f32>();
    var a3_0 = vec4<f32>(); var a3_1 = vec4<f32>(); var a3_2 = vec4<f32>(); var a3_3 = vec4<f32>(); var a3_4 = vec4<f32>(); var a3_5 = vec4<f32>(); var a3_6 = vec4<f32>(); var a3_7 = vec4<f32>(); var a3_8 = vec4<f32>();
    var a4_0 = vec4<f32>(); var a4_1 = vec4<f32>(); var a4_2 = vec4<f32>(); var a4_3 = vec4<f32>(); var a4_4 = vec4<f32>(); var a4_5 = vec4<f32>(); var a4_6 = vec4<f32>(); var a4_7 = vec4<f32>(); var a4_8 = vec4<f32>();
    var a5_0 = vec4<f32>(); var a5_1 = vec4<f32>(); var a5_2 = vec4<f32>(); var a5_3 = vec4<f32>(); var a5_4 = vec4<f32>(); var a5_5 = vec4<f32>(); var a5_6 = vec4<f32>(); var a5_7 = vec4<f32>(); var a5_8 = vec4<f32>();
    var a6_0 = vec4<f32>(); var a6_1 = vec4<f32>(); var a6_2 = vec4<f32>(); var a6_3 = vec4<f32>(); var a6_4 = vec4<f32>(); var a6_5 = vec4<f32>(); var a6_6 = vec4<f32>(); var a6_7 = vec4<f32>(); var a6_8 = vec4<f32>();
    var a7_0 = vec4<f32>(); var a7_1 = vec4<f32>(); var a7_2 = vec4<f32>(); var a7_3 = vec4<f32>(); var a7_4 = vec4<f32>(); var a7_5 = vec4<f32>(); var a7_6 = vec4<f32>(); var a7_7 = vec4<f32>(); var a7_8 = vec4<f32>();
    var a8_0 = vec4<f32>(); var a8_1 = vec4<f32>(); var a8_2 = vec4<f32>(); var a8_3 = vec4<f32>(); var a8_4 = vec4<f32>(); var a8_5 = vec4<f32>(); var a8_6 = vec4<f32>(); var a8_7 = vec4<f32>(); var a8_8 = vec4<f32>();
    var a9_0 = vec4<f32>(); var a9_1 = vec4<f32>(); var a9_2 = vec4<f32>(); var a9_3 = vec4<f32>(); var a9_4 = vec4<f32>(); var a9_5 = vec4<f32>(); var a9_6 = vec4<f32>(); var a9_7 = vec4<f32>(); var a9_8 = vec4<f32>();
    var a10_0 = vec4<f32>(); var a10_1 = vec4<f32>(); var a10_2 = vec4<f32>(); var a10_3 = vec4<f32>(); var a10_4 = vec4<f32>(); var a10_5 = vec4<f32>(); var a10_6 = vec4<f32>(); var a10_7 = vec4<f32>(); var a10_8 = vec4<f32>();
    var a11_0 = vec4<f32>(); var a11_1 = vec4<f32>(); var a11_2 = vec4<f32>(); var a11_3 = vec4<f32>(); var a11_4 = vec4<f32>(); var a11_5 = vec4<f32>(); var a11_6 = vec4<f32>(); var a11_7 = vec4<f32>(); var a11_8 = vec4<f32>();
    var a12_0 = vec4<f32>(); var a12_1 = vec4<f32>(); var a12_2 = vec4<f32>(); var a12_3 = vec4<f32>(); var a12_4 = vec4<f32>(); var a12_5 = vec4<f32>(); var a12_6 = vec4<f32>(); var a12_7 = vec4<f32>(); var a12_8 = vec4<f32>();
    var a13_0 = vec4<f32>(); var a13_1 = vec4<f32>(); var a13_2 = vec4<f32>(); var a13_3 = vec4<f32>(); var a13_4 = vec4<f32>(); var a13_5 = vec4<f32>(); var a13_6 = vec4<f32>(); var a13_7 = vec4<f32>(); var a13_8 = vec4<f32>();
    var a14_0 = vec4<f32>(); var a14_1 = vec4<f32>(); var a14_2 = vec4<f32>(); var a14_3 = vec4<f32>(); var a14_4 = vec4<f32>(); var a14_5 = vec4<f32>(); var a14_6 = vec4<f32>(); var a14_7 = vec4<f32>(); var a14_8 = vec4<f32>();
    var a15_0 = vec4<f32>(); var a15_1 = vec4<f32>(); var a15_2 = vec4<f32>(); var a15_3 = vec4<f32>(); var a15_4 = vec4<f32>(); var a15_5 = vec4<f32>(); var a15_6 = vec4<f32>(); var a15_7 = vec4<f32>(); var a15_8 = vec4<f32>();
    for (var m = pix0; m < pix1; m += 4u) {
        // 4 pixels per iteration (those past the end zeroed): 1/4 of the
        // masked accumulator updates per multiply-add.
        let b0 = grad_bases(m);
        let x0_0 = load_b(b0.x + jo0);
        let x0_1 = load_b(b0.x + jo1);
        let x0_2 = load_b(b0.x + jo2);
        let x0_3 = load_b(b0.x + jo3);
        let x0_4 = load_b(b0.x + jo4);
        let x0_5 = load_b(b0.x + jo5);
        let x0_6 = load_b(b0.x + jo6);
        let x0_7 = load_b(b0.x + jo7);
        let x0_8 = load_b(b0.x + jo8);
        let v0_0 = load_a(b0.y + k0 / 4u + 0u);
        let v0_1 = load_a(b0.y + k0 / 4u + 1u);
        let v0_2 = load_a(b0.y + k0 / 4u + 2u);
        let v0_3 = load_a(b0.y + k0 / 4u + 3u);
        let b1 = grad_bases(min(m + 1u, pix1 - 1u));
        let x1_0 = load_b(b1.x + jo0);
        let x1_1 = load_b(b1.x + jo1);
        let x1_2 = load_b(b1.x + jo2);
        let x1_3 = load_b(b1.x + jo3);
        let x1_4 = load_b(b1.x + jo4);
        let x1_5 = load_b(b1.x + jo5);
        let x1_6 = load_b(b1.x + jo6);
        let x1_7 = load_b(b1.x + jo7);
        let x1_8 = load_b(b1.x + jo8);
        let v1_0 = select(vec4<f32>(0.0), load_a(b1.y + k0 / 4u + 0u), m + 1u < pix1);
        let v1_1 = select(vec4<f32>(0.0), load_a(b1.y + k0 / 4u + 1u), m + 1u < pix1);
        let v1_2 = select(vec4<f32>(0.0), load_a(b1.y + k0 / 4u + 2u), m + 1u < pix1);
        let v1_3 = select(vec4<f32>(0.0), load_a(b1.y + k0 / 4u + 3u), m + 1u < pix1);
        let b2 = grad_bases(min(m + 2u, pix1 - 1u));
        let x2_0 = load_b(b2.x + jo0);
        let x2_1 = load_b(b2.x + jo1);
        let x2_2 = load_b(b2.x + jo2);
        let x2_3 = load_b(b2.x + jo3);
        let x2_4 = load_b(b2.x + jo4);
        let x2_5 = load_b(b2.x + jo5);
        let x2_6 = load_b(b2.x + jo6);
        let x2_7 = load_b(b2.x + jo7);
        let x2_8 = load_b(b2.x + jo8);
        let v2_0 = select(vec4<f32>(0.0), load_a(b2.y + k0 / 4u + 0u), m + 2u < pix1);
        let v2_1 = select(vec4<f32>(0.0), load_a(b2.y + k0 / 4u + 1u), m + 2u < pix1);
        let v2_2 = select(vec4<f32>(0.0), load_a(b2.y + k0 / 4u + 2u), m + 2u < pix1);
        let v2_3 = select(vec4<f32>(0.0), load_a(b2.y + k0 / 4u + 3u), m + 2u < pix1);
        let b3 = grad_bases(min(m + 3u, pix1 - 1u));
        let x3_0 = load_b(b3.x + jo0);
        let x3_1 = load_b(b3.x + jo1);
        let x3_2 = load_b(b3.x + jo2);
        let x3_3 = load_b(b3.x + jo3);
        let x3_4 = load_b(b3.x + jo4);
        let x3_5 = load_b(b3.x + jo5);
        let x3_6 = load_b(b3.x + jo6);
        let x3_7 = load_b(b3.x + jo7);
        let x3_8 = load_b(b3.x + jo8);
        let v3_0 = select(vec4<f32>(0.0), load_a(b3.y + k0 / 4u + 0u), m + 3u < pix1);
        let v3_1 = select(vec4<f32>(0.0), load_a(b3.y + k0 / 4u + 1u), m + 3u < pix1);
        let v3_2 = select(vec4<f32>(0.0), load_a(b3.y + k0 / 4u + 2u), m + 3u < pix1);
        let v3_3 = select(vec4<f32>(0.0), load_a(b3.y + k0 / 4u + 3u), m + 3u < pix1);
        let d0_0 = vec4<f32>(v0_0.x);
        let d1_0 = vec4<f32>(v1_0.x);
        let d2_0 = vec4<f32>(v2_0.x);
        let d3_0 = vec4<f32>(v3_0.x);
        a0_0 = fma(d3_0, x3_0, fma(d2_0, x2_0, fma(d1_0, x1_0, fma(d0_0, x0_0, a0_0))));
        a0_1 = fma(d3_0, x3_1, fma(d2_0, x2_1, fma(d1_0, x1_1, fma(d0_0, x0_1, a0_1))));
        a0_2 = fma(d3_0, x3_2, fma(d2_0, x2_2, fma(d1_0, x1_2, fma(d0_0, x0_2, a0_2))));
        a0_3 = fma(d3_0, x3_3, fma(d2_0, x2_3, fma(d1_0, x1_3, fma(d0_0, x0_3, a0_3))));
        a0_4 = fma(d3_0, x3_4, fma(d2_0, x2_4, fma(d1_0, x1_4, fma(d0_0, x0_4, a0_4))));
        a0_5 = fma(d3_0, x3_5, fma(d2_0, x2_5, fma(d1_0, x1_5, fma(d0_0, x0_5, a0_5))));
        a0_6 = fma(d3_0, x3_6, fma(d2_0, x2_6, fma(d1_0, x1_6, fma(d0_0, x0_6, a0_6))));
        a0_7 = fma(d3_0, x3_7, fma(d2_0, x2_7, fma(d1_0, x1_7, fma(d0_0, x0_7, a0_7))));
        a0_8 = fma(d3_0, x3_8, fma(d2_0, x2_8, fma(d1_0, x1_8, fma(d0_0, x0_8, a0_8))));
        let d0_1 = vec4<f32>(v0_0.y);
        let d1_1 = vec4<f32>(v1_0.y);
        let d2_1 = vec4<f32>(v2_0.y);
        let d3_1 = vec4<f32>(v3_0.y);
        a1_0 = fma(d3_1, x3_0, fma(d2_1, x2_0, fma(d1_1, x1_0, fma(d0_1, x0_0, a1_0))));
        a1_1 = fma(d3_1, x3_1, fma(d2_1, x2_1, fma(d1_1, x1_1, fma(d0_1, x0_1, a1_1))));
        a1_2 = fma(d3_1, x3_2, fma(d2_1, x2_2, fma(d1_1, x1_2, fma(d0_1, x0_2, a1_2))));
        a1_3 = fma(d3_1, x3_3, fma(d2_1, x2_3, fma(d1_1, x1_3, fma(d0_1, x0_3, a1_3))));
        a1_4 = fma(d3_1, x3_4, fma(d2_1, x2_4, fma(d1_1, x1_4, fma(d0_1, x0_4, a1_4))));
        a1_5 = fma(d3_1, x3_5, fma(d2_1, x2_5, fma(d1_1, x1_5, fma(d0_1, x0_5, a1_5))));
        a1_6 = fma(d3_1, x3_6, fma(d2_1, x2_6, fma(d1_1, x1_6, fma(d0_1, x0_6, a1_6))));
        a1_7 = fma(d3_1, x3_7, fma(d2_1, x2_7, fma(d1_1, x1_7, fma(d0_1, x0_7, a1_7))));
        a1_8 = fma(d3_1, x3_8, fma(d2_1, x2_8, fma(d1_1, x1_8, fma(d0_1, x0_8, a1_8))));
        let d0_2 = vec4<f32>(v0_0.z);
        let d1_2 = vec4<f32>(v1_0.z);
        let d2_2 = vec4<f32>(v2_0.z);
        let d3_2 = vec4<f32>(v3_0.z);
        a2_0 = fma(d3_2, x3_0, fma(d2_2, x2_0, fma(d1_2, x1_0, fma(d0_2, x0_0, a2_0))));
        a2_1 = fma(d3_2, x3_1, fma(d2_2, x2_1, fma(d1_2, x1_1, fma(d0_2, x0_1, a2_1))));
        a2_2 = fma(d3_2, x3_2, fma(d2_2, x2_2, fma(d1_2, x1_2, fma(d0_2, x0_2, a2_2))));
        a2_3 = fma(d3_2, x3_3, fma(d2_2, x2_3, fma(d1_2, x1_3, fma(d0_2, x0_3, a2_3))));
        a2_4 = fma(d3_2, x3_4, fma(d2_2, x2_4, fma(d1_2, x1_4, fma(d0_2, x0_4, a2_4))));
        a2_5 = fma(d3_2, x3_5, fma(d2_2, x2_5, fma(d1_2, x1_5, fma(d0_2, x0_5, a2_5))));
        a2_6 = fma(d3_2, x3_6, fma(d2_2, x2_6, fma(d1_2, x1_6, fma(d0_2, x0_6, a2_6))));
        a2_7 = fma(d3_2, x3_7, fma(d2_2, x2_7, fma(d1_2, x1_7, fma(d0_2, x0_7, a2_7))));
        a2_8 = fma(d3_2, x3_8, fma(d2_2, x2_8, fma(d1_2, x1_8, fma(d0_2, x0_8, a2_8))));
        let d0_3 = vec4<f32>(v0_0.w);
        let d1_3 = vec4<f32>(v1_0.w);
        let d2_3 = vec4<f32>(v2_0.w);
        let d3_3 = vec4<f32>(v3_0.w);
        a3_0 = fma(d3_3, x3_0, fma(d2_3, x2_0, fma(d1_3, x1_0, fma(d0_3, x0_0, a3_0))));
        a3_1 = fma(d3_3, x3_1, fma(d2_3, x2_1, fma(d1_3, x1_1, fma(d0_3, x0_1, a3_1))));
        a3_2 = fma(d3_3, x3_2, fma(d2_3, x2_2, fma(d1_3, x1_2, fma(d0_3, x0_2, a3_2))));
        a3_3 = fma(d3_3, x3_3, fma(d2_3, x2_3, fma(d1_3, x1_3, fma(d0_3, x0_3, a3_3))));
        a3_4 = fma(d3_3, x3_4, fma(d2_3, x2_4, fma(d1_3, x1_4, fma(d0_3, x0_4, a3_4))));
        a3_5 = fma(d3_3, x3_5, fma(d2_3, x2_5, fma(d1_3, x1_5, fma(d0_3, x0_5, a3_5))));
        a3_6 = fma(d3_3, x3_6, fma(d2_3, x2_6, fma(d1_3, x1_6, fma(d0_3, x0_6, a3_6))));
        a3_7 = fma(d3_3, x3_7, fma(d2_3, x2_7, fma(d1_3, x1_7, fma(d0_3, x0_7, a3_7))));
        a3_8 = fma(d3_3, x3_8, fma(d2_3, x2_8, fma(d1_3, x1_8, fma(d0_3, x0_8, a3_8))));
        let d0_4 = vec4<f32>(v0_1.x);
        let d1_4 = vec4<f32>(v1_1.x);
        let d2_4 = vec4<f32>(v2_1.x);
        let d3_4 = vec4<f32>(v3_1.x);
        a4_0 = fma(d3_4, x3_0, fma(d2_4, x2_0, fma(d1_4, x1_0, fma(d0_4, x0_0, a4_0))));
        a4_1 = fma(d3_4, x3_1, fma(d2_4, x2_1, fma(d1_4, x1_1, fma(d0_4, x0_1, a4_1))));
        a4_2 = fma(d3_4, x3_2, fma(d2_4, x2_2, fma(d1_4, x1_2, fma(d0_4, x0_2, a4_2))));
        a4_3 = fma(d3_4, x3_3, fma(d2_4, x2_3, fma(d1_4, x1_3, fma(d0_4, x0_3, a4_3))));
        a4_4 = fma(d3_4, x3_4, fma(d2_4, x2_4, fma(d1_4, x1_4, fma(d0_4, x0_4, a4_4))));
        a4_5 = fma(d3_4, x3_5, fma(d2_4, x2_5, fma(d1_4, x1_5, fma(d0_4, x0_5, a4_5))));
        a4_6 = fma(d3_4, x3_6, fma(d2_4, x2_6, fma(d1_4, x1_6, fma(d0_4, x0_6, a4_6))));
        a4_7 = fma(d3_4, x3_7, fma(d2_4, x2_7, fma(d1_4, x1_7, fma(d0_4, x0_7, a4_7))));
        a4_8 = fma(d3_4, x3_8, fma(d2_4, x2_8, fma(d1_4, x1_8, fma(d0_4, x0_8, a4_8))));
        let d0_5 = vec4<f32>(v0_1.y);
        let d1_5 = vec4<f32>(v1_1.y);
        let d2_5 = vec4<f32>(v2_1.y);
        let d3_5 = vec4<f32>(v3_1.y);
        a5_0 = fma(d3_5, x3_0, fma(d2_5, x2_0, fma(d1_5, x1_0, fma(d0_5, x0_0, a5_0))));
        a5_1 = fma(d3_5, x3_1, fma(d2_5, x2_1, fma(d1_5, x1_1, fma(d0_5, x0_1, a5_1))));
        a5_2 = fma(d3_5, x3_2, fma(d2_5, x2_2, fma(d1_5, x1_2, fma(d0_5, x0_2, a5_2))));
        a5_3 = fma(d3_5, x3_3, fma(d2_5, x2_3, fma(d1_5, x1_3, fma(d0_5, x0_3, a5_3))));
        a5_4 = fma(d3_5, x3_4, fma(d2_5, x2_4, fma(d1_5, x1_4, fma(d0_5, x0_4, a5_4))));
        a5_5 = fma(d3_5, x3_5, fma(d2_5, x2_5, fma(d1_5, x1_5, fma(d0_5, x0_5, a5_5))));
        a5_6 = fma(d3_5, x3_6, fma(d2_5, x2_6, fma(d1_5, x1_6, fma(d0_5, x0_6, a5_6))));
        a5_7 = fma(d3_5, x3_7, fma(d2_5, x2_7, fma(d1_5, x1_7, fma(d0_5, x0_7, a5_7))));
        a5_8 = fma(d3_5, x3_8, fma(d2_5, x2_8, fma(d1_5, x1_8, fma(d0_5, x0_8, a5_8))));
        let d0_6 = vec4<f32>(v0_1.z);
        let d1_6 = vec4<f32>(v1_1.z);
        let d2_6 = vec4<f32>(v2_1.z);
        let d3_6 = vec4<f32>(v3_1.z);
        a6_0 = fma(d3_6, x3_0, fma(d2_6, x2_0, fma(d1_6, x1_0, fma(d0_6, x0_0, a6_0))));
        a6_1 = fma(d3_6, x3_1, fma(d2_6, x2_1, fma(d1_6, x1_1, fma(d0_6, x0_1, a6_1))));
        a6_2 = fma(d3_6, x3_2, fma(d2_6, x2_2, fma(d1_6, x1_2, fma(d0_6, x0_2, a6_2))));
        a6_3 = fma(d3_6, x3_3, fma(d2_6, x2_3, fma(d1_6, x1_3, fma(d0_6, x0_3, a6_3))));
        a6_4 = fma(d3_6, x3_4, fma(d2_6, x2_4, fma(d1_6, x1_4, fma(d0_6, x0_4, a6_4))));
        a6_5 = fma(d3_6, x3_5, fma(d2_6, x2_5, fma(d1_6, x1_5, fma(d0_6, x0_5, a6_5))));
        a6_6 = fma(d3_6, x3_6, fma(d2_6, x2_6, fma(d1_6, x1_6, fma(d0_6, x0_6, a6_6))));
        a6_7 = fma(d3_6, x3_7, fma(d2_6, x2_7, fma(d1_6, x1_7, fma(d0_6, x0_7, a6_7))));
        a6_8 = fma(d3_6, x3_8, fma(d2_6, x2_8, fma(d1_6, x1_8, fma(d0_6, x0_8, a6_8))));
        let d0_7 = vec4<f32>(v0_1.w);
        let d1_7 = vec4<f32>(v1_1.w);
        let d2_7 = vec4<f32>(v2_1.w);
        let d3_7 = vec4<f32>(v3_1.w);
        a7_0 = fma(d3_7, x3_0, fma(d2_7, x2_0, fma(d1_7, x1_0, fma(d0_7, x0_0, a7_0))));
        a7_1 = fma(d3_7, x3_1, fma(d2_7, x2_1, fma(d1_7, x1_1, fma(d0_7, x0_1, a7_1))));
        a7_2 = fma(d3_7, x3_2, fma(d2_7, x2_2, fma(d1_7, x1_2, fma(d0_7, x0_2, a7_2))));
        a7_3 = fma(d3_7, x3_3, fma(d2_7, x2_3, fma(d1_7, x1_3, fma(d0_7, x0_3, a7_3))));
        a7_4 = fma(d3_7, x3_4, fma(d2_7, x2_4, fma(d1_7, x1_4, fma(d0_7, x0_4, a7_4))));
        a7_5 = fma(d3_7, x3_5, fma(d2_7, x2_5, fma(d1_7, x1_5, fma(d0_7, x0_5, a7_5))));
        a7_6 = fma(d3_7, x3_6, fma(d2_7, x2_6, fma(d1_7, x1_6, fma(d0_7, x0_6, a7_6))));
        a7_7 = fma(d3_7, x3_7, fma(d2_7, x2_7, fma(d1_7, x1_7, fma(d0_7, x0_7, a7_7))));
        a7_8 = fma(d3_7, x3_8, fma(d2_7, x2_8, fma(d1_7, x1_8, fma(d0_7, x0_8, a7_8))));
        let d0_8 = vec4<f32>(v0_2.x);
        let d1_8 = vec4<f32>(v1_2.x);
        let d2_8 = vec4<f32>(v2_2.x);
        let d3_8 = vec4<f32>(v3_2.x);
        a8_0 = fma(d3_8, x3_0, fma(d2_8, x2_0, fma(d1_8, x1_0, fma(d0_8, x0_0, a8_0))));
        a8_1 = fma(d3_8, x3_1, fma(d2_8, x2_1, fma(d1_8, x1_1, fma(d0_8, x0_1, a8_1))));
        a8_2 = fma(d3_8, x3_2, fma(d2_8, x2_2, fma(d1_8, x1_2, fma(d0_8, x0_2, a8_2))));
        a8_3 = fma(d3_8, x3_3, fma(d2_8, x2_3, fma(d1_8, x1_3, fma(d0_8, x0_3, a8_3))));
        a8_4 = fma(d3_8, x3_4, fma(d2_8, x2_4, fma(d1_8, x1_4, fma(d0_8, x0_4, a8_4))));
        a8_5 = fma(d3_8, x3_5, fma(d2_8, x2_5, fma(d1_8, x1_5, fma(d0_8, x0_5, a8_5))));
        a8_6 = fma(d3_8, x3_6, fma(d2_8, x2_6, fma(d1_8, x1_6, fma(d0_8, x0_6, a8_6))));
        a8_7 = fma(d3_8, x3_7, fma(d2_8, x2_7, fma(d1_8, x1_7, fma(d0_8, x0_7, a8_7))));
        a8_8 = fma(d3_8, x3_8, fma(d2_8, x2_8, fma(d1_8, x1_8, fma(d0_8, x0_8, a8_8))));
        let d0_9 = vec4<f32>(v0_2.y);
        let d1_9 = vec4<f32>(v1_2.y);
        let d2_9 = vec4<f32>(v2_2.y);
        let d3_9 = vec4<f32>(v3_2.y);
        a9_0 = fma(d3_9, x3_0, fma(d2_9, x2_0, fma(d1_9, x1_0, fma(d0_9, x0_0, a9_0))));
        a9_1 = fma(d3_9, x3_1, fma(d2_9, x2_1, fma(d1_9, x1_1, fma(d0_9, x0_1, a9_1))));
        a9_2 = fma(d3_9, x3_2, fma(d2_9, x2_2, fma(d1_9, x1_2, fma(d0_9, x0_2, a9_2))));
        a9_3 = fma(d3_9, x3_3, fma(d2_9, x2_3, fma(d1_9, x1_3, fma(d0_9, x0_3, a9_3))));
        a9_4 = fma(d3_9, x3_4, fma(d2_9, x2_4, fma(d1_9, x1_4, fma(d0_9, x0_4, a9_4))));
        a9_5 = fma(d3_9, x3_5, fma(d2_9, x2_5, fma(d1_9, x1_5, fma(d0_9, x0_5, a9_5))));
        a9_6 = fma(d3_9, x3_6, fma(d2_9, x2_6, fma(d1_9, x1_6, fma(d0_9, x0_6, a9_6))));
        a9_7 = fma(d3_9, x3_7, fma(d2_9, x2_7, fma(d1_9, x1_7, fma(d0_9, x0_7, a9_7))));
        a9_8 = fma(d3_9, x3_8, fma(d2_9, x2_8, fma(d1_9, x1_8, fma(d0_9, x0_8, a9_8))));
        let d0_10 = vec4<f32>(v0_2.z);
        let d1_10 = vec4<f32>(v1_2.z);
        let d2_10 = vec4<f32>(v2_2.z);
        let d3_10 = vec4<f32>(v3_2.z);
        a10_0 = fma(d3_10, x3_0, fma(d2_10, x2_0, fma(d1_10, x1_0, fma(d0_10, x0_0, a10_0))));
        a10_1 = fma(d3_10, x3_1, fma(d2_10, x2_1, fma(d1_10, x1_1, fma(d0_10, x0_1, a10_1))));
        a10_2 = fma(d3_10, x3_2, fma(d2_10, x2_2, fma(d1_10, x1_2, fma(d0_10, x0_2, a10_2))));
        a10_3 = fma(d3_10, x3_3, fma(d2_10, x2_3, fma(d1_10, x1_3, fma(d0_10, x0_3, a10_3))));
        a10_4 = fma(d3_10, x3_4, fma(d2_10, x2_4, fma(d1_10, x1_4, fma(d0_10, x0_4, a10_4))));
        a10_5 = fma(d3_10, x3_5, fma(d2_10, x2_5, fma(d1_10, x1_5, fma(d0_10, x0_5, a10_5))));
        a10_6 = fma(d3_10, x3_6, fma(d2_10, x2_6, fma(d1_10, x1_6, fma(d0_10, x0_6, a10_6))));
        a10_7 = fma(d3_10, x3_7, fma(d2_10, x2_7, fma(d1_10, x1_7, fma(d0_10, x0_7, a10_7))));
        a10_8 = fma(d3_10, x3_8, fma(d2_10, x2_8, fma(d1_10, x1_8, fma(d0_10, x0_8, a10_8))));
        let d0_11 = vec4<f32>(v0_2.w);
        let d1_11 = vec4<f32>(v1_2.w);
        let d2_11 = vec4<f32>(v2_2.w);
        let d3_11 = vec4<f32>(v3_2.w);
        a11_0 = fma(d3_11, x3_0, fma(d2_11, x2_0, fma(d1_11, x1_0, fma(d0_11, x0_0, a11_0))));
        a11_1 = fma(d3_11, x3_1, fma(d2_11, x2_1, fma(d1_11, x1_1, fma(d0_11, x0_1, a11_1))));
        a11_2 = fma(d3_11, x3_2, fma(d2_11, x2_2, fma(d1_11, x1_2, fma(d0_11, x0_2, a11_2))));
        a11_3 = fma(d3_11, x3_3, fma(d2_11, x2_3, fma(d1_11, x1_3, fma(d0_11, x0_3, a11_3))));
        a11_4 = fma(d3_11, x3_4, fma(d2_11, x2_4, fma(d1_11, x1_4, fma(d0_11, x0_4, a11_4))));
        a11_5 = fma(d3_11, x3_5, fma(d2_11, x2_5, fma(d1_11, x1_5, fma(d0_11, x0_5, a11_5))));
        a11_6 = fma(d3_11, x3_6, fma(d2_11, x2_6, fma(d1_11, x1_6, fma(d0_11, x0_6, a11_6))));
        a11_7 = fma(d3_11, x3_7, fma(d2_11, x2_7, fma(d1_11, x1_7, fma(d0_11, x0_7, a11_7))));
        a11_8 = fma(d3_11, x3_8, fma(d2_11, x2_8, fma(d1_11, x1_8, fma(d0_11, x0_8, a11_8))));
        let d0_12 = vec4<f32>(v0_3.x);
        let d1_12 = vec4<f32>(v1_3.x);
        let d2_12 = vec4<f32>(v2_3.x);
        let d3_12 = vec4<f32>(v3_3.x);
        a12_0 = fma(d3_12, x3_0, fma(d2_12, x2_0, fma(d1_12, x1_0, fma(d0_12, x0_0, a12_0))));
        a12_1 = fma(d3_12, x3_1, fma(d2_12, x2_1, fma(d1_12, x1_1, fma(d0_12, x0_1, a12_1))));
        a12_2 = fma(d3_12, x3_2, fma(d2_12, x2_2, fma(d1_12, x1_2, fma(d0_12, x0_2, a12_2))));
        a12_3 = fma(d3_12, x3_3, fma(d2_12, x2_3, fma(d1_12, x1_3, fma(d0_12, x0_3, a12_3))));
        a12_4 = fma(d3_12, x3_4, fma(d2_12, x2_4, fma(d1_12, x1_4, fma(d0_12, x0_4, a12_4))));
        a12_5 = fma(d3_12, x3_5, fma(d2_12, x2_5, fma(d1_12, x1_5, fma(d0_12, x0_5, a12_5))));
        a12_6 = fma(d3_12, x3_6, fma(d2_12, x2_6, fma(d1_12, x1_6, fma(d0_12, x0_6, a12_6))));
        a12_7 = fma(d3_12, x3_7, fma(d2_12, x2_7, fma(d1_12, x1_7, fma(d0_12, x0_7, a12_7))));
        a12_8 = fma(d3_12, x3_8, fma(d2_12, x2_8, fma(d1_12, x1_8, fma(d0_12, x0_8, a12_8))));
        let d0_13 = vec4<f32>(v0_3.y);
        let d1_13 = vec4<f32>(v1_3.y);
        let d2_13 = vec4<f32>(v2_3.y);
        let d3_13 = vec4<f32>(v3_3.y);
        a13_0 = fma(d3_13, x3_0, fma(d2_13, x2_0, fma(d1_13, x1_0, fma(d0_13, x0_0, a13_0))));
        a13_1 = fma(d3_13, x3_1, fma(d2_13, x2_1, fma(d1_13, x1_1, fma(d0_13, x0_1, a13_1))));
        a13_2 = fma(d3_13, x3_2, fma(d2_13, x2_2, fma(d1_13, x1_2, fma(d0_13, x0_2, a13_2))));
        a13_3 = fma(d3_13, x3_3, fma(d2_13, x2_3, fma(d1_13, x1_3, fma(d0_13, x0_3, a13_3))));
        a13_4 = fma(d3_13, x3_4, fma(d2_13, x2_4, fma(d1_13, x1_4, fma(d0_13, x0_4, a13_4))));
        a13_5 = fma(d3_13, x3_5, fma(d2_13, x2_5, fma(d1_13, x1_5, fma(d0_13, x0_5, a13_5))));
        a13_6 = fma(d3_13, x3_6, fma(d2_13, x2_6, fma(d1_13, x1_6, fma(d0_13, x0_6, a13_6))));
        a13_7 = fma(d3_13, x3_7, fma(d2_13, x2_7, fma(d1_13, x1_7, fma(d0_13, x0_7, a13_7))));
        a13_8 = fma(d3_13, x3_8, fma(d2_13, x2_8, fma(d1_13, x1_8, fma(d0_13, x0_8, a13_8))));
        let d0_14 = vec4<f32>(v0_3.z);
        let d1_14 = vec4<f32>(v1_3.z);
        let d2_14 = vec4<f32>(v2_3.z);
        let d3_14 = vec4<f32>(v3_3.z);
        a14_0 = fma(d3_14, x3_0, fma(d2_14, x2_0, fma(d1_14, x1_0, fma(d0_14, x0_0, a14_0))));
        a14_1 = fma(d3_14, x3_1, fma(d2_14, x2_1, fma(d1_14, x1_1, fma(d0_14, x0_1, a14_1))));
        a14_2 = fma(d3_14, x3_2, fma(d2_14, x2_2, fma(d1_14, x1_2, fma(d0_14, x0_2, a14_2))));
        a14_3 = fma(d3_14, x3_3, fma(d2_14, x2_3, fma(d1_14, x1_3, fma(d0_14, x0_3, a14_3))));
        a14_4 = fma(d3_14, x3_4, fma(d2_14, x2_4, fma(d1_14, x1_4, fma(d0_14, x0_4, a14_4))));
        a14_5 = fma(d3_14, x3_5, fma(d2_14, x2_5, fma(d1_14, x1_5, fma(d0_14, x0_5, a14_5))));
        a14_6 = fma(d3_14, x3_6, fma(d2_14, x2_6, fma(d1_14, x1_6, fma(d0_14, x0_6, a14_6))));
        a14_7 = fma(d3_14, x3_7, fma(d2_14, x2_7, fma(d1_14, x1_7, fma(d0_14, x0_7, a14_7))));
        a14_8 = fma(d3_14, x3_8, fma(d2_14, x2_8, fma(d1_14, x1_8, fma(d0_14, x0_8, a14_8))));
        let d0_15 = vec4<f32>(v0_3.w);
        let d1_15 = vec4<f32>(v1_3.w);
        let d2_15 = vec4<f32>(v2_3.w);
        let d3_15 = vec4<f32>(v3_3.w);
        a15_0 = fma(d3_15, x3_0, fma(d2_15, x2_0, fma(d1_15, x1_0, fma(d0_15, x0_0, a15_0))));
        a15_1 = fma(d3_15, x3_1, fma(d2_15, x2_1, fma(d1_15, x1_1, fma(d0_15, x0_1, a15_1))));
        a15_2 = fma(d3_15, x3_2, fma(d2_15, x2_2, fma(d1_15, x1_2, fma(d0_15, x0_2, a15_2))));
        a15_3 = fma(d3_15, x3_3, fma(d2_15, x2_3, fma(d1_15, x1_3, fma(d0_15, x0_3, a15_3))));
        a15_4 = fma(d3_15, x3_4, fma(d2_15, x2_4, fma(d1_15, x1_4, fma(d0_15, x0_4, a15_4))));
        a15_5 = fma(d3_15, x3_5, fma(d2_15, x2_5, fma(d1_15, x1_5, fma(d0_15, x0_5, a15_5))));
        a15_6 = fma(d3_15, x3_6, fma(d2_15, x2_6, fma(d1_15, x1_6, fma(d0_15, x0_6, a15_6))));
        a15_7 = fma(d3_15, x3_7, fma(d2_15, x2_7, fma(d1_15, x1_7, fma(d0_15, x0_7, a15_7))));
        a15_8 = fma(d3_15, x3_8, fma(d2_15, x2_8, fma(d1_15, x1_8, fma(d0_15, x0_8, a15_8))));
    }
    if (!in_group) {
        return;
    }
    let z = wid.z * p.lane_groups + g;
    store_grad1(a0_0, j0 + 0u, z, k0 + 0u);
    store_grad1(a0_1, j0 + 1u, z, k0 + 0u);
    store_grad1(a0_2, j0 + 2u, z, k0 + 0u);
    store_grad1(a0_3, j0 + 3u, z, k0 + 0u);
    store_grad1(a0_4, j0 + 4u, z, k0 + 0u);
    store_grad1(a0_5, j0 + 5u, z, k0 + 0u);
    store_grad1(a0_6, j0 + 6u, z, k0 + 0u);
    store_grad1(a0_7, j0 + 7u, z, k0 + 0u);
    store_grad1(a0_8, j0 + 8u, z, k0 + 0u);
    store_grad1(a1_0, j0 + 0u, z, k0 + 1u);
    store_grad1(a1_1, j0 + 1u, z, k0 + 1u);
    store_grad1(a1_2, j0 + 2u, z, k0 + 1u);
    store_grad1(a1_3, j0 + 3u, z, k0 + 1u);
    store_grad1(a1_4, j0 + 4u, z, k0 + 1u);
    store_grad1(a1_5, j0 + 5u, z, k0 + 1u);
    store_grad1(a1_6, j0 + 6u, z, k0 + 1u);
    store_grad1(a1_7, j0 + 7u, z, k0 + 1u);
    store_grad1(a1_8, j0 + 8u, z, k0 + 1u);
    store_grad1(a2_0, j0 + 0u, z, k0 + 2u);
    store_grad1(a2_1, j0 + 1u, z, k0 + 2u);
    store_grad1(a2_2, j0 + 2u, z, k0 + 2u);
    store_grad1(a2_3, j0 + 3u, z, k0 + 2u);
    store_grad1(a2_4, j0 + 4u, z, k0 + 2u);
    store_grad1(a2_5, j0 + 5u, z, k0 + 2u);
    store_grad1(a2_6, j0 + 6u, z, k0 + 2u);
    store_grad1(a2_7, j0 + 7u, z, k0 + 2u);
    store_grad1(a2_8, j0 + 8u, z, k0 + 2u);
    store_grad1(a3_0, j0 + 0u, z, k0 + 3u);
    store_grad1(a3_1, j0 + 1u, z, k0 + 3u);
    store_grad1(a3_2, j0 + 2u, z, k0 + 3u);
    store_grad1(a3_3, j0 + 3u, z, k0 + 3u);
    store_grad1(a3_4, j0 + 4u, z, k0 + 3u);
    store_grad1(a3_5, j0 + 5u, z, k0 + 3u);
    store_grad1(a3_6, j0 + 6u, z, k0 + 3u);
    store_grad1(a3_7, j0 + 7u, z, k0 + 3u);
    store_grad1(a3_8, j0 + 8u, z, k0 + 3u);
    store_grad1(a4_0, j0 + 0u, z, k0 + 4u);
    store_grad1(a4_1, j0 + 1u, z, k0 + 4u);
    store_grad1(a4_2, j0 + 2u, z, k0 + 4u);
    store_grad1(a4_3, j0 + 3u, z, k0 + 4u);
    store_grad1(a4_4, j0 + 4u, z, k0 + 4u);
    store_grad1(a4_5, j0 + 5u, z, k0 + 4u);
    store_grad1(a4_6, j0 + 6u, z, k0 + 4u);
    store_grad1(a4_7, j0 + 7u, z, k0 + 4u);
    store_grad1(a4_8, j0 + 8u, z, k0 + 4u);
    store_grad1(a5_0, j0 + 0u, z, k0 + 5u);
    store_grad1(a5_1, j0 + 1u, z, k0 + 5u);
    store_grad1(a5_2, j0 + 2u, z, k0 + 5u);
    store_grad1(a5_3, j0 + 3u, z, k0 + 5u);
    store_grad1(a5_4, j0 + 4u, z, k0 + 5u);
    store_grad1(a5_5, j0 + 5u, z, k0 + 5u);
    store_grad1(a5_6, j0 + 6u, z, k0 + 5u);
    store_grad1(a5_7, j0 + 7u, z, k0 + 5u);
    store_grad1(a5_8, j0 + 8u, z, k0 + 5u);
    store_grad1(a6_0, j0 + 0u, z, k0 + 6u);
    store_grad1(a6_1, j0 + 1u, z, k0 + 6u);
    store_grad1(a6_2, j0 + 2u, z, k0 + 6u);
    store_grad1(a6_3, j0 + 3u, z, k0 + 6u);
    store_grad1(a6_4, j0 + 4u, z, k0 + 6u);
    store_grad1(a6_5, j0 + 5u, z, k0 + 6u);
    store_grad1(a6_6, j0 + 6u, z, k0 + 6u);
    store_grad1(a6_7, j0 + 7u, z, k0 + 6u);
    store_grad1(a6_8, j0 + 8u, z, k0 + 6u);
    store_grad1(a7_0, j0 + 0u, z, k0 + 7u);
    store_grad1(a7_1, j0 + 1u, z, k0 + 7u);
    store_grad1(a7_2, j0 + 2u, z, k0 + 7u);
    store_grad1(a7_3, j0 + 3u, z, k0 + 7u);
    store_grad1(a7_4, j0 + 4u, z, k0 + 7u);
    store_grad1(a7_5, j0 + 5u, z, k0 + 7u);
    store_grad1(a7_6, j0 + 6u, z, k0 + 7u);
    store_grad1(a7_7, j0 + 7u, z, k0 + 7u);
    store_grad1(a7_8, j0 + 8u, z, k0 + 7u);
    store_grad1(a8_0, j0 + 0u, z, k0 + 8u);
    store_grad1(a8_1, j0 + 1u, z, k0 + 8u);
    store_grad1(a8_2, j0 + 2u, z, k0 + 8u);
    store_grad1(a8_3, j0 + 3u, z, k0 + 8u);
    store_grad1(a8_4, j0 + 4u, z, k0 + 8u);
    store_grad1(a8_5, j0 + 5u, z, k0 + 8u);
    store_grad1(a8_6, j0 + 6u, z, k0 + 8u);
    store_grad1(a8_7, j0 + 7u, z, k0 + 8u);
    store_grad1(a8_8, j0 + 8u, z, k0 + 8u);
    store_grad1(a9_0, j0 + 0u, z, k0 + 9u);
    store_grad1(a9_1, j0 + 1u, z, k0 + 9u);
    store_grad1(a9_2, j0 + 2u, z, k0 + 9u);
    store_grad1(a9_3, j0 + 3u, z, k0 + 9u);
    store_grad1(a9_4, j0 + 4u, z, k0 + 9u);
    store_grad1(a9_5, j0 + 5u, z, k0 + 9u);
    store_grad1(a9_6, j0 + 6u, z, k0 + 9u);
    store_grad1(a9_7, j0 + 7u, z, k0 + 9u);
    store_grad1(a9_8, j0 + 8u, z, k0 + 9u);
    store_grad1(a10_0, j0 + 0u, z, k0 + 10u);
    store_grad1(a10_1, j0 + 1u, z, k0 + 10u);
    store_grad1(a10_2, j0 + 2u, z, k0 + 10u);
    store_grad1(a10_3, j0 + 3u, z, k0 + 10u);
    store_grad1(a10_4, j0 + 4u, z, k0 + 10u);
    store_grad1(a10_5, j0 + 5u, z, k0 + 10u);
    store_grad1(a10_6, j0 + 6u, z, k0 + 10u);
    store_grad1(a10_7, j0 + 7u, z, k0 + 10u);
    store_grad1(a10_8, j0 + 8u, z, k0 + 10u);
    store_grad1(a11_0, j0 + 0u, z, k0 + 11u);
    store_grad1(a11_1, j0 + 1u, z, k0 + 11u);
    store_grad1(a11_2, j0 + 2u, z, k0 + 11u);
    store_grad1(a11_3, j0 + 3u, z, k0 + 11u);
    store_grad1(a11_4, j0 + 4u, z, k0 + 11u);
    store_grad1(a11_5, j0 + 5u, z, k0 + 11u);
    store_grad1(a11_6, j0 + 6u, z, k0 + 11u);
    store_grad1(a11_7, j0 + 7u, z, k0 + 11u);
    store_grad1(a11_8, j0 + 8u, z, k0 + 11u);
    store_grad1(a12_0, j0 + 0u, z, k0 + 12u);
    store_grad1(a12_1, j0 + 1u, z, k0 + 12u);
    store_grad1(a12_2, j0 + 2u, z, k0 + 12u);
    store_grad1(a12_3, j0 + 3u, z, k0 + 12u);
    store_grad1(a12_4, j0 + 4u, z, k0 + 12u);
    store_grad1(a12_5, j0 + 5u, z, k0 + 12u);
    store_grad1(a12_6, j0 + 6u, z, k0 + 12u);
    store_grad1(a12_7, j0 + 7u, z, k0 + 12u);
    store_grad1(a12_8, j0 + 8u, z, k0 + 12u);
    store_grad1(a13_0, j0 + 0u, z, k0 + 13u);
    store_grad1(a13_1, j0 + 1u, z, k0 + 13u);
    store_grad1(a13_2, j0 + 2u, z, k0 + 13u);
    store_grad1(a13_3, j0 + 3u, z, k0 + 13u);
    store_grad1(a13_4, j0 + 4u, z, k0 + 13u);
    store_grad1(a13_5, j0 + 5u, z, k0 + 13u);
    store_grad1(a13_6, j0 + 6u, z, k0 + 13u);
    store_grad1(a13_7, j0 + 7u, z, k0 + 13u);
    store_grad1(a13_8, j0 + 8u, z, k0 + 13u);
    store_grad1(a14_0, j0 + 0u, z, k0 + 14u);
    store_grad1(a14_1, j0 + 1u, z, k0 + 14u);
    store_grad1(a14_2, j0 + 2u, z, k0 + 14u);
    store_grad1(a14_3, j0 + 3u, z, k0 + 14u);
    store_grad1(a14_4, j0 + 4u, z, k0 + 14u);
    store_grad1(a14_5, j0 + 5u, z, k0 + 14u);
    store_grad1(a14_6, j0 + 6u, z, k0 + 14u);
    store_grad1(a14_7, j0 + 7u, z, k0 + 14u);
    store_grad1(a14_8, j0 + 8u, z, k0 + 14u);
    store_grad1(a15_0, j0 + 0u, z, k0 + 15u);
    store_grad1(a15_1, j0 + 1u, z, k0 + 15u);
    store_grad1(a15_2, j0 + 2u, z, k0 + 15u);
    store_grad1(a15_3, j0 + 3u, z, k0 + 15u);
    store_grad1(a15_4, j0 + 4u, z, k0 + 15u);
    store_grad1(a15_5, j0 + 5u, z, k0 + 15u);
    store_grad1(a15_6, j0 + 6u, z, k0 + 15u);
    store_grad1(a15_7, j0 + 7u, z, k0 + 15u);
    store_grad1(a15_8, j0 + 8u, z, k0 + 15u);
}
// END generated by scripts/gen_igemm_dw.py

// part[z][k][j] for one vec4 j of one channel (skipped past the ends).
fn store_grad1(a: vec4<f32>, j: u32, z: u32, k: u32) {
    if (k < p.k && j < p.jv) {
        gpart[(z * p.k + k) * p.jv + j] = a;
    }
}
