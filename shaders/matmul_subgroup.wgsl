// matmul (subgroup path): C[b] = op(A[b]) * op(B[b]), the same problem, Params, bindings
// and entry points (`main`: scalar loads, any shape; `main_vec4`: vec4 loads along the
// contiguous dimensions, which must be multiples of 4) as matmul.wgsl, for adapters with
// subgroup operations. S below is SUBGROUP_SIZE.
// Thread mapping: one subgroup of S lanes per workgroup. S is the adapter's subgroup
// size: the launcher picks this kernel only where subgroup_min_size == max_size, and
// the kernel stores NaN if the size it runs with differs. Lane l owns rows
// row0 + 8l .. row0 + 8l + 7 and all 64 columns of the workgroup's block: 512
// accumulators (2x16 mat4x4). A workgroup covers S * 8 rows x 4 COL_QUADS columns of C
// (64, or fewer for narrow products); grid = (ceil(n / (4 COL_QUADS)), ceil(m / (S * 8)),
// batch).
// Per step of 4 k a lane loads its 8 rows of op(A) (4 k each) and a 1/S share of the
// step's 4 x 64 block of op(B) (64 / S vec4s); all of it then reaches every lane through
// subgroupShuffle with a constant lane: a broadcast (naga wants subgroupBroadcast's lane
// to be a const-expression, which S, an override, is not). Each element of A and B is
// thus loaded once per workgroup: on lavapipe every storage load is a per-lane scalar
// loop, and loads, not FMAs, set the speed (shadernet LAVAPIPE.md).
// The block is written out in full: every private-array index is a constant once S is
// known (a dynamically indexed private array becomes memory on lavapipe).
// Launcher: crates/tensor/src/ops/matmul.rs   Reference: crates/reference/src/matmul.rs
struct Params {
    m: u32,
    n: u32,
    k: u32,
    batch: u32,
    a_batch_stride: u32,
    b_batch_stride: u32,
    c_batch_stride: u32,
    ldc: u32,
    n_offset: u32,
    _pad0: u32,
    _pad1: u32,
    _pad2: u32,
}

override TRANS_A: bool = false;
override TRANS_B: bool = false;
// Subgroup size: 8, 16, 32 or 64.
override SUBGROUP_SIZE: u32 = 8u;
// Column quads per workgroup: 16 (64 columns), or 8 / 4 for narrow products (n <= 32 /
// n <= 16), which would otherwise leave most of a 64-column block idle.
override COL_QUADS: u32 = 16u;

@group(0) @binding(0) var<uniform> p: Params;
// `main` reads A and B as scalars; `main_vec4` reads the same buffers as vec4s.
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(1) var<storage, read> a4: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> b4: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> c: array<f32>;

// Element (i, kk) of op(A) is A[base + i * sa.x + kk * sa.y]; element (kk, j) of op(B)
// is B[base + j * sb.x + kk * sb.y].
fn a_strides() -> vec2<u32> {
    return select(vec2<u32>(p.k, 1u), vec2<u32>(1u, p.m), TRANS_A);
}

fn b_strides() -> vec2<u32> {
    return select(vec2<u32>(1u, p.n), vec2<u32>(p.k, 1u), TRANS_B);
}

// The k of one step of 4 (clamped to k - 1 past the end) and which of them exist.
// Components past the end are zeroed, so a partial last step adds exact zeros (even
// where the clamped element it read is not finite).
fn step_k(k0: u32) -> vec4<u32> {
    return min(vec4<u32>(k0) + vec4<u32>(0u, 1u, 2u, 3u), vec4<u32>(p.k - 1u));
}

fn step_ok(k0: u32) -> vec4<bool> {
    return vec4<u32>(k0) + vec4<u32>(0u, 1u, 2u, 3u) < vec4<u32>(p.k);
}

// Four k of one row of op(A) / column of op(B) as scalars; `o` = offsets of the k.
fn load_a(base: u32, o: vec4<u32>, ok: vec4<bool>) -> vec4<f32> {
    let v = vec4<f32>(a[base + o.x], a[base + o.y], a[base + o.z], a[base + o.w]);
    return select(vec4<f32>(0.0), v, ok);
}

fn load_b(base: u32, o: vec4<u32>, ok: vec4<bool>) -> vec4<f32> {
    let v = vec4<f32>(b[base + o.x], b[base + o.y], b[base + o.z], b[base + o.w]);
    return select(vec4<f32>(0.0), v, ok);
}

// One vec4 at element offset `e` (a multiple of 4), zero unless `ok`.
fn load_a4(e: u32, ok: bool) -> vec4<f32> {
    return select(vec4<f32>(0.0), a4[e / 4u], ok);
}

fn load_b4(e: u32, ok: bool) -> vec4<f32> {
    return select(vec4<f32>(0.0), b4[e / 4u], ok);
}

// Stores up to four consecutive columns col .. col + 3 of one row of C.
fn store4(row_base: u32, col: u32, v: vec4<f32>) {
    if (col + 3u < p.n) {
        c[row_base + col] = v.x;
        c[row_base + col + 1u] = v.y;
        c[row_base + col + 2u] = v.z;
        c[row_base + col + 3u] = v.w;
    } else {
        for (var e = 0u; e < 4u; e++) {
            if (col + e < p.n) {
                c[row_base + col + e] = v[e];
            }
        }
    }
}

@compute @workgroup_size(SUBGROUP_SIZE, 1, 1)
fn main(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(subgroup_invocation_id) lane: u32,
    @builtin(subgroup_size) sg_size: u32,
) {
    let row0 = wid.y * (SUBGROUP_SIZE * 8u) + lane * 8u;
    let col0 = wid.x * (4u * COL_QUADS);
    let sa = a_strides();
    let sb = b_strides();
    let a_base = wid.z * p.a_batch_stride;
    let b_base = wid.z * p.b_batch_stride;
    // Rows and columns past the edge are clamped for the loads; their results are not stored.
    let ar0 = a_base + min(row0 + 0u, p.m - 1u) * sa.x;
    let ar1 = a_base + min(row0 + 1u, p.m - 1u) * sa.x;
    let ar2 = a_base + min(row0 + 2u, p.m - 1u) * sa.x;
    let ar3 = a_base + min(row0 + 3u, p.m - 1u) * sa.x;
    let ar4 = a_base + min(row0 + 4u, p.m - 1u) * sa.x;
    let ar5 = a_base + min(row0 + 5u, p.m - 1u) * sa.x;
    let ar6 = a_base + min(row0 + 6u, p.m - 1u) * sa.x;
    let ar7 = a_base + min(row0 + 7u, p.m - 1u) * sa.x;
    // What this lane loads of B (S = SUBGROUP_SIZE, W = 4 COL_QUADS columns): slot s is column
    // col0 + s * S + lane, for the slots s * S < W; column j is then in slot j / S of
    // lane j % S.
    let bc0 = b_base + min(col0 + 0u * SUBGROUP_SIZE + lane, p.n - 1u) * sb.x;
    let bc1 = b_base + min(col0 + 1u * SUBGROUP_SIZE + lane, p.n - 1u) * sb.x;
    let bc2 = b_base + min(col0 + 2u * SUBGROUP_SIZE + lane, p.n - 1u) * sb.x;
    let bc3 = b_base + min(col0 + 3u * SUBGROUP_SIZE + lane, p.n - 1u) * sb.x;
    let bc4 = b_base + min(col0 + 4u * SUBGROUP_SIZE + lane, p.n - 1u) * sb.x;
    let bc5 = b_base + min(col0 + 5u * SUBGROUP_SIZE + lane, p.n - 1u) * sb.x;
    let bc6 = b_base + min(col0 + 6u * SUBGROUP_SIZE + lane, p.n - 1u) * sb.x;
    let bc7 = b_base + min(col0 + 7u * SUBGROUP_SIZE + lane, p.n - 1u) * sb.x;
    // acc[h * 16 + q][e][r] = C[row0 + 4h + r][col0 + 4q + e].
    var acc: array<mat4x4<f32>, 32>;
    for (var k0 = 0u; k0 < p.k; k0 += 4u) {
        let kq = step_k(k0);
        let ok = step_ok(k0);
        let oa = kq * sa.y;
        let a0 = load_a(ar0, oa, ok);
        let a1 = load_a(ar1, oa, ok);
        let a2 = load_a(ar2, oa, ok);
        let a3 = load_a(ar3, oa, ok);
        let a4 = load_a(ar4, oa, ok);
        let a5 = load_a(ar5, oa, ok);
        let a6 = load_a(ar6, oa, ok);
        let a7 = load_a(ar7, oa, ok);
        let at0 = transpose(mat4x4<f32>(a0, a1, a2, a3));
        let at1 = transpose(mat4x4<f32>(a4, a5, a6, a7));
        let ob = kq * sb.y;
        var bs: array<vec4<f32>, 8>;
        bs[0] = load_b(bc0, ob, ok);
        if (1u * SUBGROUP_SIZE < 4u * COL_QUADS) {
            bs[1] = load_b(bc1, ob, ok);
        }
        if (2u * SUBGROUP_SIZE < 4u * COL_QUADS) {
            bs[2] = load_b(bc2, ob, ok);
        }
        if (3u * SUBGROUP_SIZE < 4u * COL_QUADS) {
            bs[3] = load_b(bc3, ob, ok);
        }
        if (4u * SUBGROUP_SIZE < 4u * COL_QUADS) {
            bs[4] = load_b(bc4, ob, ok);
        }
        if (5u * SUBGROUP_SIZE < 4u * COL_QUADS) {
            bs[5] = load_b(bc5, ob, ok);
        }
        if (6u * SUBGROUP_SIZE < 4u * COL_QUADS) {
            bs[6] = load_b(bc6, ob, ok);
        }
        if (7u * SUBGROUP_SIZE < 4u * COL_QUADS) {
            bs[7] = load_b(bc7, ob, ok);
        }
        let bm0 = mat4x4<f32>(
            subgroupShuffle(bs[0u / SUBGROUP_SIZE], 0u % SUBGROUP_SIZE),
            subgroupShuffle(bs[1u / SUBGROUP_SIZE], 1u % SUBGROUP_SIZE),
            subgroupShuffle(bs[2u / SUBGROUP_SIZE], 2u % SUBGROUP_SIZE),
            subgroupShuffle(bs[3u / SUBGROUP_SIZE], 3u % SUBGROUP_SIZE),
        );
        acc[0] += at0 * bm0;
        acc[16] += at1 * bm0;
        let bm1 = mat4x4<f32>(
            subgroupShuffle(bs[4u / SUBGROUP_SIZE], 4u % SUBGROUP_SIZE),
            subgroupShuffle(bs[5u / SUBGROUP_SIZE], 5u % SUBGROUP_SIZE),
            subgroupShuffle(bs[6u / SUBGROUP_SIZE], 6u % SUBGROUP_SIZE),
            subgroupShuffle(bs[7u / SUBGROUP_SIZE], 7u % SUBGROUP_SIZE),
        );
        acc[1] += at0 * bm1;
        acc[17] += at1 * bm1;
        let bm2 = mat4x4<f32>(
            subgroupShuffle(bs[8u / SUBGROUP_SIZE], 8u % SUBGROUP_SIZE),
            subgroupShuffle(bs[9u / SUBGROUP_SIZE], 9u % SUBGROUP_SIZE),
            subgroupShuffle(bs[10u / SUBGROUP_SIZE], 10u % SUBGROUP_SIZE),
            subgroupShuffle(bs[11u / SUBGROUP_SIZE], 11u % SUBGROUP_SIZE),
        );
        acc[2] += at0 * bm2;
        acc[18] += at1 * bm2;
        let bm3 = mat4x4<f32>(
            subgroupShuffle(bs[12u / SUBGROUP_SIZE], 12u % SUBGROUP_SIZE),
            subgroupShuffle(bs[13u / SUBGROUP_SIZE], 13u % SUBGROUP_SIZE),
            subgroupShuffle(bs[14u / SUBGROUP_SIZE], 14u % SUBGROUP_SIZE),
            subgroupShuffle(bs[15u / SUBGROUP_SIZE], 15u % SUBGROUP_SIZE),
        );
        acc[3] += at0 * bm3;
        acc[19] += at1 * bm3;
        if (4u < COL_QUADS) {
            let bm4 = mat4x4<f32>(
                subgroupShuffle(bs[16u / SUBGROUP_SIZE], 16u % SUBGROUP_SIZE),
                subgroupShuffle(bs[17u / SUBGROUP_SIZE], 17u % SUBGROUP_SIZE),
                subgroupShuffle(bs[18u / SUBGROUP_SIZE], 18u % SUBGROUP_SIZE),
                subgroupShuffle(bs[19u / SUBGROUP_SIZE], 19u % SUBGROUP_SIZE),
            );
            acc[4] += at0 * bm4;
            acc[20] += at1 * bm4;
        }
        if (5u < COL_QUADS) {
            let bm5 = mat4x4<f32>(
                subgroupShuffle(bs[20u / SUBGROUP_SIZE], 20u % SUBGROUP_SIZE),
                subgroupShuffle(bs[21u / SUBGROUP_SIZE], 21u % SUBGROUP_SIZE),
                subgroupShuffle(bs[22u / SUBGROUP_SIZE], 22u % SUBGROUP_SIZE),
                subgroupShuffle(bs[23u / SUBGROUP_SIZE], 23u % SUBGROUP_SIZE),
            );
            acc[5] += at0 * bm5;
            acc[21] += at1 * bm5;
        }
        if (6u < COL_QUADS) {
            let bm6 = mat4x4<f32>(
                subgroupShuffle(bs[24u / SUBGROUP_SIZE], 24u % SUBGROUP_SIZE),
                subgroupShuffle(bs[25u / SUBGROUP_SIZE], 25u % SUBGROUP_SIZE),
                subgroupShuffle(bs[26u / SUBGROUP_SIZE], 26u % SUBGROUP_SIZE),
                subgroupShuffle(bs[27u / SUBGROUP_SIZE], 27u % SUBGROUP_SIZE),
            );
            acc[6] += at0 * bm6;
            acc[22] += at1 * bm6;
        }
        if (7u < COL_QUADS) {
            let bm7 = mat4x4<f32>(
                subgroupShuffle(bs[28u / SUBGROUP_SIZE], 28u % SUBGROUP_SIZE),
                subgroupShuffle(bs[29u / SUBGROUP_SIZE], 29u % SUBGROUP_SIZE),
                subgroupShuffle(bs[30u / SUBGROUP_SIZE], 30u % SUBGROUP_SIZE),
                subgroupShuffle(bs[31u / SUBGROUP_SIZE], 31u % SUBGROUP_SIZE),
            );
            acc[7] += at0 * bm7;
            acc[23] += at1 * bm7;
        }
        if (8u < COL_QUADS) {
            let bm8 = mat4x4<f32>(
                subgroupShuffle(bs[32u / SUBGROUP_SIZE], 32u % SUBGROUP_SIZE),
                subgroupShuffle(bs[33u / SUBGROUP_SIZE], 33u % SUBGROUP_SIZE),
                subgroupShuffle(bs[34u / SUBGROUP_SIZE], 34u % SUBGROUP_SIZE),
                subgroupShuffle(bs[35u / SUBGROUP_SIZE], 35u % SUBGROUP_SIZE),
            );
            acc[8] += at0 * bm8;
            acc[24] += at1 * bm8;
        }
        if (9u < COL_QUADS) {
            let bm9 = mat4x4<f32>(
                subgroupShuffle(bs[36u / SUBGROUP_SIZE], 36u % SUBGROUP_SIZE),
                subgroupShuffle(bs[37u / SUBGROUP_SIZE], 37u % SUBGROUP_SIZE),
                subgroupShuffle(bs[38u / SUBGROUP_SIZE], 38u % SUBGROUP_SIZE),
                subgroupShuffle(bs[39u / SUBGROUP_SIZE], 39u % SUBGROUP_SIZE),
            );
            acc[9] += at0 * bm9;
            acc[25] += at1 * bm9;
        }
        if (10u < COL_QUADS) {
            let bm10 = mat4x4<f32>(
                subgroupShuffle(bs[40u / SUBGROUP_SIZE], 40u % SUBGROUP_SIZE),
                subgroupShuffle(bs[41u / SUBGROUP_SIZE], 41u % SUBGROUP_SIZE),
                subgroupShuffle(bs[42u / SUBGROUP_SIZE], 42u % SUBGROUP_SIZE),
                subgroupShuffle(bs[43u / SUBGROUP_SIZE], 43u % SUBGROUP_SIZE),
            );
            acc[10] += at0 * bm10;
            acc[26] += at1 * bm10;
        }
        if (11u < COL_QUADS) {
            let bm11 = mat4x4<f32>(
                subgroupShuffle(bs[44u / SUBGROUP_SIZE], 44u % SUBGROUP_SIZE),
                subgroupShuffle(bs[45u / SUBGROUP_SIZE], 45u % SUBGROUP_SIZE),
                subgroupShuffle(bs[46u / SUBGROUP_SIZE], 46u % SUBGROUP_SIZE),
                subgroupShuffle(bs[47u / SUBGROUP_SIZE], 47u % SUBGROUP_SIZE),
            );
            acc[11] += at0 * bm11;
            acc[27] += at1 * bm11;
        }
        if (12u < COL_QUADS) {
            let bm12 = mat4x4<f32>(
                subgroupShuffle(bs[48u / SUBGROUP_SIZE], 48u % SUBGROUP_SIZE),
                subgroupShuffle(bs[49u / SUBGROUP_SIZE], 49u % SUBGROUP_SIZE),
                subgroupShuffle(bs[50u / SUBGROUP_SIZE], 50u % SUBGROUP_SIZE),
                subgroupShuffle(bs[51u / SUBGROUP_SIZE], 51u % SUBGROUP_SIZE),
            );
            acc[12] += at0 * bm12;
            acc[28] += at1 * bm12;
        }
        if (13u < COL_QUADS) {
            let bm13 = mat4x4<f32>(
                subgroupShuffle(bs[52u / SUBGROUP_SIZE], 52u % SUBGROUP_SIZE),
                subgroupShuffle(bs[53u / SUBGROUP_SIZE], 53u % SUBGROUP_SIZE),
                subgroupShuffle(bs[54u / SUBGROUP_SIZE], 54u % SUBGROUP_SIZE),
                subgroupShuffle(bs[55u / SUBGROUP_SIZE], 55u % SUBGROUP_SIZE),
            );
            acc[13] += at0 * bm13;
            acc[29] += at1 * bm13;
        }
        if (14u < COL_QUADS) {
            let bm14 = mat4x4<f32>(
                subgroupShuffle(bs[56u / SUBGROUP_SIZE], 56u % SUBGROUP_SIZE),
                subgroupShuffle(bs[57u / SUBGROUP_SIZE], 57u % SUBGROUP_SIZE),
                subgroupShuffle(bs[58u / SUBGROUP_SIZE], 58u % SUBGROUP_SIZE),
                subgroupShuffle(bs[59u / SUBGROUP_SIZE], 59u % SUBGROUP_SIZE),
            );
            acc[14] += at0 * bm14;
            acc[30] += at1 * bm14;
        }
        if (15u < COL_QUADS) {
            let bm15 = mat4x4<f32>(
                subgroupShuffle(bs[60u / SUBGROUP_SIZE], 60u % SUBGROUP_SIZE),
                subgroupShuffle(bs[61u / SUBGROUP_SIZE], 61u % SUBGROUP_SIZE),
                subgroupShuffle(bs[62u / SUBGROUP_SIZE], 62u % SUBGROUP_SIZE),
                subgroupShuffle(bs[63u / SUBGROUP_SIZE], 63u % SUBGROUP_SIZE),
            );
            acc[15] += at0 * bm15;
            acc[31] += at1 * bm15;
        }
    }
    // Compiled for another subgroup size than the one it runs with: store NaN.
    let bad = sg_size != SUBGROUP_SIZE;
    let nan = vec4<f32>(bitcast<f32>(0x7fc00000u | p._pad0));
    let c_base = wid.z * p.c_batch_stride + p.n_offset;
    if (row0 + 0u < p.m) {
        let cr = c_base + (row0 + 0u) * p.ldc;
        store4(cr, col0 + 0u, select(transpose(acc[0])[0], nan, bad));
        store4(cr, col0 + 4u, select(transpose(acc[1])[0], nan, bad));
        store4(cr, col0 + 8u, select(transpose(acc[2])[0], nan, bad));
        store4(cr, col0 + 12u, select(transpose(acc[3])[0], nan, bad));
        if (4u < COL_QUADS) {
            store4(cr, col0 + 16u, select(transpose(acc[4])[0], nan, bad));
        }
        if (5u < COL_QUADS) {
            store4(cr, col0 + 20u, select(transpose(acc[5])[0], nan, bad));
        }
        if (6u < COL_QUADS) {
            store4(cr, col0 + 24u, select(transpose(acc[6])[0], nan, bad));
        }
        if (7u < COL_QUADS) {
            store4(cr, col0 + 28u, select(transpose(acc[7])[0], nan, bad));
        }
        if (8u < COL_QUADS) {
            store4(cr, col0 + 32u, select(transpose(acc[8])[0], nan, bad));
        }
        if (9u < COL_QUADS) {
            store4(cr, col0 + 36u, select(transpose(acc[9])[0], nan, bad));
        }
        if (10u < COL_QUADS) {
            store4(cr, col0 + 40u, select(transpose(acc[10])[0], nan, bad));
        }
        if (11u < COL_QUADS) {
            store4(cr, col0 + 44u, select(transpose(acc[11])[0], nan, bad));
        }
        if (12u < COL_QUADS) {
            store4(cr, col0 + 48u, select(transpose(acc[12])[0], nan, bad));
        }
        if (13u < COL_QUADS) {
            store4(cr, col0 + 52u, select(transpose(acc[13])[0], nan, bad));
        }
        if (14u < COL_QUADS) {
            store4(cr, col0 + 56u, select(transpose(acc[14])[0], nan, bad));
        }
        if (15u < COL_QUADS) {
            store4(cr, col0 + 60u, select(transpose(acc[15])[0], nan, bad));
        }
    }
    if (row0 + 1u < p.m) {
        let cr = c_base + (row0 + 1u) * p.ldc;
        store4(cr, col0 + 0u, select(transpose(acc[0])[1], nan, bad));
        store4(cr, col0 + 4u, select(transpose(acc[1])[1], nan, bad));
        store4(cr, col0 + 8u, select(transpose(acc[2])[1], nan, bad));
        store4(cr, col0 + 12u, select(transpose(acc[3])[1], nan, bad));
        if (4u < COL_QUADS) {
            store4(cr, col0 + 16u, select(transpose(acc[4])[1], nan, bad));
        }
        if (5u < COL_QUADS) {
            store4(cr, col0 + 20u, select(transpose(acc[5])[1], nan, bad));
        }
        if (6u < COL_QUADS) {
            store4(cr, col0 + 24u, select(transpose(acc[6])[1], nan, bad));
        }
        if (7u < COL_QUADS) {
            store4(cr, col0 + 28u, select(transpose(acc[7])[1], nan, bad));
        }
        if (8u < COL_QUADS) {
            store4(cr, col0 + 32u, select(transpose(acc[8])[1], nan, bad));
        }
        if (9u < COL_QUADS) {
            store4(cr, col0 + 36u, select(transpose(acc[9])[1], nan, bad));
        }
        if (10u < COL_QUADS) {
            store4(cr, col0 + 40u, select(transpose(acc[10])[1], nan, bad));
        }
        if (11u < COL_QUADS) {
            store4(cr, col0 + 44u, select(transpose(acc[11])[1], nan, bad));
        }
        if (12u < COL_QUADS) {
            store4(cr, col0 + 48u, select(transpose(acc[12])[1], nan, bad));
        }
        if (13u < COL_QUADS) {
            store4(cr, col0 + 52u, select(transpose(acc[13])[1], nan, bad));
        }
        if (14u < COL_QUADS) {
            store4(cr, col0 + 56u, select(transpose(acc[14])[1], nan, bad));
        }
        if (15u < COL_QUADS) {
            store4(cr, col0 + 60u, select(transpose(acc[15])[1], nan, bad));
        }
    }
    if (row0 + 2u < p.m) {
        let cr = c_base + (row0 + 2u) * p.ldc;
        store4(cr, col0 + 0u, select(transpose(acc[0])[2], nan, bad));
        store4(cr, col0 + 4u, select(transpose(acc[1])[2], nan, bad));
        store4(cr, col0 + 8u, select(transpose(acc[2])[2], nan, bad));
        store4(cr, col0 + 12u, select(transpose(acc[3])[2], nan, bad));
        if (4u < COL_QUADS) {
            store4(cr, col0 + 16u, select(transpose(acc[4])[2], nan, bad));
        }
        if (5u < COL_QUADS) {
            store4(cr, col0 + 20u, select(transpose(acc[5])[2], nan, bad));
        }
        if (6u < COL_QUADS) {
            store4(cr, col0 + 24u, select(transpose(acc[6])[2], nan, bad));
        }
        if (7u < COL_QUADS) {
            store4(cr, col0 + 28u, select(transpose(acc[7])[2], nan, bad));
        }
        if (8u < COL_QUADS) {
            store4(cr, col0 + 32u, select(transpose(acc[8])[2], nan, bad));
        }
        if (9u < COL_QUADS) {
            store4(cr, col0 + 36u, select(transpose(acc[9])[2], nan, bad));
        }
        if (10u < COL_QUADS) {
            store4(cr, col0 + 40u, select(transpose(acc[10])[2], nan, bad));
        }
        if (11u < COL_QUADS) {
            store4(cr, col0 + 44u, select(transpose(acc[11])[2], nan, bad));
        }
        if (12u < COL_QUADS) {
            store4(cr, col0 + 48u, select(transpose(acc[12])[2], nan, bad));
        }
        if (13u < COL_QUADS) {
            store4(cr, col0 + 52u, select(transpose(acc[13])[2], nan, bad));
        }
        if (14u < COL_QUADS) {
            store4(cr, col0 + 56u, select(transpose(acc[14])[2], nan, bad));
        }
        if (15u < COL_QUADS) {
            store4(cr, col0 + 60u, select(transpose(acc[15])[2], nan, bad));
        }
    }
    if (row0 + 3u < p.m) {
        let cr = c_base + (row0 + 3u) * p.ldc;
        store4(cr, col0 + 0u, select(transpose(acc[0])[3], nan, bad));
        store4(cr, col0 + 4u, select(transpose(acc[1])[3], nan, bad));
        store4(cr, col0 + 8u, select(transpose(acc[2])[3], nan, bad));
        store4(cr, col0 + 12u, select(transpose(acc[3])[3], nan, bad));
        if (4u < COL_QUADS) {
            store4(cr, col0 + 16u, select(transpose(acc[4])[3], nan, bad));
        }
        if (5u < COL_QUADS) {
            store4(cr, col0 + 20u, select(transpose(acc[5])[3], nan, bad));
        }
        if (6u < COL_QUADS) {
            store4(cr, col0 + 24u, select(transpose(acc[6])[3], nan, bad));
        }
        if (7u < COL_QUADS) {
            store4(cr, col0 + 28u, select(transpose(acc[7])[3], nan, bad));
        }
        if (8u < COL_QUADS) {
            store4(cr, col0 + 32u, select(transpose(acc[8])[3], nan, bad));
        }
        if (9u < COL_QUADS) {
            store4(cr, col0 + 36u, select(transpose(acc[9])[3], nan, bad));
        }
        if (10u < COL_QUADS) {
            store4(cr, col0 + 40u, select(transpose(acc[10])[3], nan, bad));
        }
        if (11u < COL_QUADS) {
            store4(cr, col0 + 44u, select(transpose(acc[11])[3], nan, bad));
        }
        if (12u < COL_QUADS) {
            store4(cr, col0 + 48u, select(transpose(acc[12])[3], nan, bad));
        }
        if (13u < COL_QUADS) {
            store4(cr, col0 + 52u, select(transpose(acc[13])[3], nan, bad));
        }
        if (14u < COL_QUADS) {
            store4(cr, col0 + 56u, select(transpose(acc[14])[3], nan, bad));
        }
        if (15u < COL_QUADS) {
            store4(cr, col0 + 60u, select(transpose(acc[15])[3], nan, bad));
        }
    }
    if (row0 + 4u < p.m) {
        let cr = c_base + (row0 + 4u) * p.ldc;
        store4(cr, col0 + 0u, select(transpose(acc[16])[0], nan, bad));
        store4(cr, col0 + 4u, select(transpose(acc[17])[0], nan, bad));
        store4(cr, col0 + 8u, select(transpose(acc[18])[0], nan, bad));
        store4(cr, col0 + 12u, select(transpose(acc[19])[0], nan, bad));
        if (4u < COL_QUADS) {
            store4(cr, col0 + 16u, select(transpose(acc[20])[0], nan, bad));
        }
        if (5u < COL_QUADS) {
            store4(cr, col0 + 20u, select(transpose(acc[21])[0], nan, bad));
        }
        if (6u < COL_QUADS) {
            store4(cr, col0 + 24u, select(transpose(acc[22])[0], nan, bad));
        }
        if (7u < COL_QUADS) {
            store4(cr, col0 + 28u, select(transpose(acc[23])[0], nan, bad));
        }
        if (8u < COL_QUADS) {
            store4(cr, col0 + 32u, select(transpose(acc[24])[0], nan, bad));
        }
        if (9u < COL_QUADS) {
            store4(cr, col0 + 36u, select(transpose(acc[25])[0], nan, bad));
        }
        if (10u < COL_QUADS) {
            store4(cr, col0 + 40u, select(transpose(acc[26])[0], nan, bad));
        }
        if (11u < COL_QUADS) {
            store4(cr, col0 + 44u, select(transpose(acc[27])[0], nan, bad));
        }
        if (12u < COL_QUADS) {
            store4(cr, col0 + 48u, select(transpose(acc[28])[0], nan, bad));
        }
        if (13u < COL_QUADS) {
            store4(cr, col0 + 52u, select(transpose(acc[29])[0], nan, bad));
        }
        if (14u < COL_QUADS) {
            store4(cr, col0 + 56u, select(transpose(acc[30])[0], nan, bad));
        }
        if (15u < COL_QUADS) {
            store4(cr, col0 + 60u, select(transpose(acc[31])[0], nan, bad));
        }
    }
    if (row0 + 5u < p.m) {
        let cr = c_base + (row0 + 5u) * p.ldc;
        store4(cr, col0 + 0u, select(transpose(acc[16])[1], nan, bad));
        store4(cr, col0 + 4u, select(transpose(acc[17])[1], nan, bad));
        store4(cr, col0 + 8u, select(transpose(acc[18])[1], nan, bad));
        store4(cr, col0 + 12u, select(transpose(acc[19])[1], nan, bad));
        if (4u < COL_QUADS) {
            store4(cr, col0 + 16u, select(transpose(acc[20])[1], nan, bad));
        }
        if (5u < COL_QUADS) {
            store4(cr, col0 + 20u, select(transpose(acc[21])[1], nan, bad));
        }
        if (6u < COL_QUADS) {
            store4(cr, col0 + 24u, select(transpose(acc[22])[1], nan, bad));
        }
        if (7u < COL_QUADS) {
            store4(cr, col0 + 28u, select(transpose(acc[23])[1], nan, bad));
        }
        if (8u < COL_QUADS) {
            store4(cr, col0 + 32u, select(transpose(acc[24])[1], nan, bad));
        }
        if (9u < COL_QUADS) {
            store4(cr, col0 + 36u, select(transpose(acc[25])[1], nan, bad));
        }
        if (10u < COL_QUADS) {
            store4(cr, col0 + 40u, select(transpose(acc[26])[1], nan, bad));
        }
        if (11u < COL_QUADS) {
            store4(cr, col0 + 44u, select(transpose(acc[27])[1], nan, bad));
        }
        if (12u < COL_QUADS) {
            store4(cr, col0 + 48u, select(transpose(acc[28])[1], nan, bad));
        }
        if (13u < COL_QUADS) {
            store4(cr, col0 + 52u, select(transpose(acc[29])[1], nan, bad));
        }
        if (14u < COL_QUADS) {
            store4(cr, col0 + 56u, select(transpose(acc[30])[1], nan, bad));
        }
        if (15u < COL_QUADS) {
            store4(cr, col0 + 60u, select(transpose(acc[31])[1], nan, bad));
        }
    }
    if (row0 + 6u < p.m) {
        let cr = c_base + (row0 + 6u) * p.ldc;
        store4(cr, col0 + 0u, select(transpose(acc[16])[2], nan, bad));
        store4(cr, col0 + 4u, select(transpose(acc[17])[2], nan, bad));
        store4(cr, col0 + 8u, select(transpose(acc[18])[2], nan, bad));
        store4(cr, col0 + 12u, select(transpose(acc[19])[2], nan, bad));
        if (4u < COL_QUADS) {
            store4(cr, col0 + 16u, select(transpose(acc[20])[2], nan, bad));
        }
        if (5u < COL_QUADS) {
            store4(cr, col0 + 20u, select(transpose(acc[21])[2], nan, bad));
        }
        if (6u < COL_QUADS) {
            store4(cr, col0 + 24u, select(transpose(acc[22])[2], nan, bad));
        }
        if (7u < COL_QUADS) {
            store4(cr, col0 + 28u, select(transpose(acc[23])[2], nan, bad));
        }
        if (8u < COL_QUADS) {
            store4(cr, col0 + 32u, select(transpose(acc[24])[2], nan, bad));
        }
        if (9u < COL_QUADS) {
            store4(cr, col0 + 36u, select(transpose(acc[25])[2], nan, bad));
        }
        if (10u < COL_QUADS) {
            store4(cr, col0 + 40u, select(transpose(acc[26])[2], nan, bad));
        }
        if (11u < COL_QUADS) {
            store4(cr, col0 + 44u, select(transpose(acc[27])[2], nan, bad));
        }
        if (12u < COL_QUADS) {
            store4(cr, col0 + 48u, select(transpose(acc[28])[2], nan, bad));
        }
        if (13u < COL_QUADS) {
            store4(cr, col0 + 52u, select(transpose(acc[29])[2], nan, bad));
        }
        if (14u < COL_QUADS) {
            store4(cr, col0 + 56u, select(transpose(acc[30])[2], nan, bad));
        }
        if (15u < COL_QUADS) {
            store4(cr, col0 + 60u, select(transpose(acc[31])[2], nan, bad));
        }
    }
    if (row0 + 7u < p.m) {
        let cr = c_base + (row0 + 7u) * p.ldc;
        store4(cr, col0 + 0u, select(transpose(acc[16])[3], nan, bad));
        store4(cr, col0 + 4u, select(transpose(acc[17])[3], nan, bad));
        store4(cr, col0 + 8u, select(transpose(acc[18])[3], nan, bad));
        store4(cr, col0 + 12u, select(transpose(acc[19])[3], nan, bad));
        if (4u < COL_QUADS) {
            store4(cr, col0 + 16u, select(transpose(acc[20])[3], nan, bad));
        }
        if (5u < COL_QUADS) {
            store4(cr, col0 + 20u, select(transpose(acc[21])[3], nan, bad));
        }
        if (6u < COL_QUADS) {
            store4(cr, col0 + 24u, select(transpose(acc[22])[3], nan, bad));
        }
        if (7u < COL_QUADS) {
            store4(cr, col0 + 28u, select(transpose(acc[23])[3], nan, bad));
        }
        if (8u < COL_QUADS) {
            store4(cr, col0 + 32u, select(transpose(acc[24])[3], nan, bad));
        }
        if (9u < COL_QUADS) {
            store4(cr, col0 + 36u, select(transpose(acc[25])[3], nan, bad));
        }
        if (10u < COL_QUADS) {
            store4(cr, col0 + 40u, select(transpose(acc[26])[3], nan, bad));
        }
        if (11u < COL_QUADS) {
            store4(cr, col0 + 44u, select(transpose(acc[27])[3], nan, bad));
        }
        if (12u < COL_QUADS) {
            store4(cr, col0 + 48u, select(transpose(acc[28])[3], nan, bad));
        }
        if (13u < COL_QUADS) {
            store4(cr, col0 + 52u, select(transpose(acc[29])[3], nan, bad));
        }
        if (14u < COL_QUADS) {
            store4(cr, col0 + 56u, select(transpose(acc[30])[3], nan, bad));
        }
        if (15u < COL_QUADS) {
            store4(cr, col0 + 60u, select(transpose(acc[31])[3], nan, bad));
        }
    }
}

@compute @workgroup_size(SUBGROUP_SIZE, 1, 1)
fn main_vec4(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(subgroup_invocation_id) lane: u32,
    @builtin(subgroup_size) sg_size: u32,
) {
    let row0 = wid.y * (SUBGROUP_SIZE * 8u) + lane * 8u;
    let col0 = wid.x * (4u * COL_QUADS);
    let a_base = wid.z * p.a_batch_stride;
    let b_base = wid.z * p.b_batch_stride;
    // Rows and columns past the edge are clamped for the loads; their results are not stored.
    // TRANS_A: vec4s of 4 rows at one k (quads clamped to the last); else vec4s
    // of 4 k of one row.
    let aq0 = a_base + min(row0 + 0u, p.m - 4u);
    let aq1 = a_base + min(row0 + 4u, p.m - 4u);
    let ar0 = a_base + min(row0 + 0u, p.m - 1u) * p.k;
    let ar1 = a_base + min(row0 + 1u, p.m - 1u) * p.k;
    let ar2 = a_base + min(row0 + 2u, p.m - 1u) * p.k;
    let ar3 = a_base + min(row0 + 3u, p.m - 1u) * p.k;
    let ar4 = a_base + min(row0 + 4u, p.m - 1u) * p.k;
    let ar5 = a_base + min(row0 + 5u, p.m - 1u) * p.k;
    let ar6 = a_base + min(row0 + 6u, p.m - 1u) * p.k;
    let ar7 = a_base + min(row0 + 7u, p.m - 1u) * p.k;
    // What this lane loads of B (S = SUBGROUP_SIZE, Q = COL_QUADS): slot s holds t = s * S + lane,
    // for the slots s * S < 4 Q. TRANS_B: column col0 + t, 4 k (column j is then in
    // slot j / S of lane j % S). Else: columns col0 + 4 (t % Q) .. + 3 at k0 + t / Q (so
    // columns 4q .. 4q + 3 at k0 + kk are in slot t / S of lane t % S, t = Q kk + q).
    let t0 = 0u * SUBGROUP_SIZE + lane;
    let bc0 = b_base + min(col0 + t0, p.n - 1u) * p.k;
    let bq0 = b_base + min(col0 + 4u * (t0 % COL_QUADS), p.n - 4u);
    let t1 = 1u * SUBGROUP_SIZE + lane;
    let bc1 = b_base + min(col0 + t1, p.n - 1u) * p.k;
    let bq1 = b_base + min(col0 + 4u * (t1 % COL_QUADS), p.n - 4u);
    let t2 = 2u * SUBGROUP_SIZE + lane;
    let bc2 = b_base + min(col0 + t2, p.n - 1u) * p.k;
    let bq2 = b_base + min(col0 + 4u * (t2 % COL_QUADS), p.n - 4u);
    let t3 = 3u * SUBGROUP_SIZE + lane;
    let bc3 = b_base + min(col0 + t3, p.n - 1u) * p.k;
    let bq3 = b_base + min(col0 + 4u * (t3 % COL_QUADS), p.n - 4u);
    let t4 = 4u * SUBGROUP_SIZE + lane;
    let bc4 = b_base + min(col0 + t4, p.n - 1u) * p.k;
    let bq4 = b_base + min(col0 + 4u * (t4 % COL_QUADS), p.n - 4u);
    let t5 = 5u * SUBGROUP_SIZE + lane;
    let bc5 = b_base + min(col0 + t5, p.n - 1u) * p.k;
    let bq5 = b_base + min(col0 + 4u * (t5 % COL_QUADS), p.n - 4u);
    let t6 = 6u * SUBGROUP_SIZE + lane;
    let bc6 = b_base + min(col0 + t6, p.n - 1u) * p.k;
    let bq6 = b_base + min(col0 + 4u * (t6 % COL_QUADS), p.n - 4u);
    let t7 = 7u * SUBGROUP_SIZE + lane;
    let bc7 = b_base + min(col0 + t7, p.n - 1u) * p.k;
    let bq7 = b_base + min(col0 + 4u * (t7 % COL_QUADS), p.n - 4u);
    // acc[h * 16 + q][e][r] = C[row0 + 4h + r][col0 + 4q + e].
    var acc: array<mat4x4<f32>, 32>;
    for (var k0 = 0u; k0 < p.k; k0 += 4u) {
        let kq = step_k(k0);
        let ok = step_ok(k0);
        var at0: mat4x4<f32>;
        var at1: mat4x4<f32>;
        if (TRANS_A) {
            at0 = mat4x4<f32>(
                load_a4(aq0 + kq.x * p.m, ok.x),
                load_a4(aq0 + kq.y * p.m, ok.y),
                load_a4(aq0 + kq.z * p.m, ok.z),
                load_a4(aq0 + kq.w * p.m, ok.w),
            );
            at1 = mat4x4<f32>(
                load_a4(aq1 + kq.x * p.m, ok.x),
                load_a4(aq1 + kq.y * p.m, ok.y),
                load_a4(aq1 + kq.z * p.m, ok.z),
                load_a4(aq1 + kq.w * p.m, ok.w),
            );
        } else {
            at0 = transpose(mat4x4<f32>(
                load_a4(ar0 + k0, true),
                load_a4(ar1 + k0, true),
                load_a4(ar2 + k0, true),
                load_a4(ar3 + k0, true),
            ));
            at1 = transpose(mat4x4<f32>(
                load_a4(ar4 + k0, true),
                load_a4(ar5 + k0, true),
                load_a4(ar6 + k0, true),
                load_a4(ar7 + k0, true),
            ));
        }
        var bs: array<vec4<f32>, 8>;
        if (TRANS_B) {
            bs[0] = load_b4(bc0 + k0, true);
        } else {
            let kk = t0 / COL_QUADS;
            bs[0] = load_b4(bq0 + kq[kk] * p.n, ok[kk]);
        }
        if (1u * SUBGROUP_SIZE < 4u * COL_QUADS) {
            if (TRANS_B) {
                bs[1] = load_b4(bc1 + k0, true);
            } else {
                let kk = t1 / COL_QUADS;
                bs[1] = load_b4(bq1 + kq[kk] * p.n, ok[kk]);
            }
        }
        if (2u * SUBGROUP_SIZE < 4u * COL_QUADS) {
            if (TRANS_B) {
                bs[2] = load_b4(bc2 + k0, true);
            } else {
                let kk = t2 / COL_QUADS;
                bs[2] = load_b4(bq2 + kq[kk] * p.n, ok[kk]);
            }
        }
        if (3u * SUBGROUP_SIZE < 4u * COL_QUADS) {
            if (TRANS_B) {
                bs[3] = load_b4(bc3 + k0, true);
            } else {
                let kk = t3 / COL_QUADS;
                bs[3] = load_b4(bq3 + kq[kk] * p.n, ok[kk]);
            }
        }
        if (4u * SUBGROUP_SIZE < 4u * COL_QUADS) {
            if (TRANS_B) {
                bs[4] = load_b4(bc4 + k0, true);
            } else {
                let kk = t4 / COL_QUADS;
                bs[4] = load_b4(bq4 + kq[kk] * p.n, ok[kk]);
            }
        }
        if (5u * SUBGROUP_SIZE < 4u * COL_QUADS) {
            if (TRANS_B) {
                bs[5] = load_b4(bc5 + k0, true);
            } else {
                let kk = t5 / COL_QUADS;
                bs[5] = load_b4(bq5 + kq[kk] * p.n, ok[kk]);
            }
        }
        if (6u * SUBGROUP_SIZE < 4u * COL_QUADS) {
            if (TRANS_B) {
                bs[6] = load_b4(bc6 + k0, true);
            } else {
                let kk = t6 / COL_QUADS;
                bs[6] = load_b4(bq6 + kq[kk] * p.n, ok[kk]);
            }
        }
        if (7u * SUBGROUP_SIZE < 4u * COL_QUADS) {
            if (TRANS_B) {
                bs[7] = load_b4(bc7 + k0, true);
            } else {
                let kk = t7 / COL_QUADS;
                bs[7] = load_b4(bq7 + kq[kk] * p.n, ok[kk]);
            }
        }
        var bm0: mat4x4<f32>;
        if (TRANS_B) {
            bm0 = mat4x4<f32>(
                subgroupShuffle(bs[0u / SUBGROUP_SIZE], 0u % SUBGROUP_SIZE),
                subgroupShuffle(bs[1u / SUBGROUP_SIZE], 1u % SUBGROUP_SIZE),
                subgroupShuffle(bs[2u / SUBGROUP_SIZE], 2u % SUBGROUP_SIZE),
                subgroupShuffle(bs[3u / SUBGROUP_SIZE], 3u % SUBGROUP_SIZE),
            );
        } else {
            bm0 = transpose(mat4x4<f32>(
                subgroupShuffle(
                    bs[(0u) / SUBGROUP_SIZE],
                    (0u) % SUBGROUP_SIZE,
                ),
                subgroupShuffle(
                    bs[(1u * COL_QUADS + 0u) / SUBGROUP_SIZE],
                    (1u * COL_QUADS + 0u) % SUBGROUP_SIZE,
                ),
                subgroupShuffle(
                    bs[(2u * COL_QUADS + 0u) / SUBGROUP_SIZE],
                    (2u * COL_QUADS + 0u) % SUBGROUP_SIZE,
                ),
                subgroupShuffle(
                    bs[(3u * COL_QUADS + 0u) / SUBGROUP_SIZE],
                    (3u * COL_QUADS + 0u) % SUBGROUP_SIZE,
                ),
            ));
        }
        acc[0] += at0 * bm0;
        acc[16] += at1 * bm0;
        var bm1: mat4x4<f32>;
        if (TRANS_B) {
            bm1 = mat4x4<f32>(
                subgroupShuffle(bs[4u / SUBGROUP_SIZE], 4u % SUBGROUP_SIZE),
                subgroupShuffle(bs[5u / SUBGROUP_SIZE], 5u % SUBGROUP_SIZE),
                subgroupShuffle(bs[6u / SUBGROUP_SIZE], 6u % SUBGROUP_SIZE),
                subgroupShuffle(bs[7u / SUBGROUP_SIZE], 7u % SUBGROUP_SIZE),
            );
        } else {
            bm1 = transpose(mat4x4<f32>(
                subgroupShuffle(
                    bs[(1u) / SUBGROUP_SIZE],
                    (1u) % SUBGROUP_SIZE,
                ),
                subgroupShuffle(
                    bs[(1u * COL_QUADS + 1u) / SUBGROUP_SIZE],
                    (1u * COL_QUADS + 1u) % SUBGROUP_SIZE,
                ),
                subgroupShuffle(
                    bs[(2u * COL_QUADS + 1u) / SUBGROUP_SIZE],
                    (2u * COL_QUADS + 1u) % SUBGROUP_SIZE,
                ),
                subgroupShuffle(
                    bs[(3u * COL_QUADS + 1u) / SUBGROUP_SIZE],
                    (3u * COL_QUADS + 1u) % SUBGROUP_SIZE,
                ),
            ));
        }
        acc[1] += at0 * bm1;
        acc[17] += at1 * bm1;
        var bm2: mat4x4<f32>;
        if (TRANS_B) {
            bm2 = mat4x4<f32>(
                subgroupShuffle(bs[8u / SUBGROUP_SIZE], 8u % SUBGROUP_SIZE),
                subgroupShuffle(bs[9u / SUBGROUP_SIZE], 9u % SUBGROUP_SIZE),
                subgroupShuffle(bs[10u / SUBGROUP_SIZE], 10u % SUBGROUP_SIZE),
                subgroupShuffle(bs[11u / SUBGROUP_SIZE], 11u % SUBGROUP_SIZE),
            );
        } else {
            bm2 = transpose(mat4x4<f32>(
                subgroupShuffle(
                    bs[(2u) / SUBGROUP_SIZE],
                    (2u) % SUBGROUP_SIZE,
                ),
                subgroupShuffle(
                    bs[(1u * COL_QUADS + 2u) / SUBGROUP_SIZE],
                    (1u * COL_QUADS + 2u) % SUBGROUP_SIZE,
                ),
                subgroupShuffle(
                    bs[(2u * COL_QUADS + 2u) / SUBGROUP_SIZE],
                    (2u * COL_QUADS + 2u) % SUBGROUP_SIZE,
                ),
                subgroupShuffle(
                    bs[(3u * COL_QUADS + 2u) / SUBGROUP_SIZE],
                    (3u * COL_QUADS + 2u) % SUBGROUP_SIZE,
                ),
            ));
        }
        acc[2] += at0 * bm2;
        acc[18] += at1 * bm2;
        var bm3: mat4x4<f32>;
        if (TRANS_B) {
            bm3 = mat4x4<f32>(
                subgroupShuffle(bs[12u / SUBGROUP_SIZE], 12u % SUBGROUP_SIZE),
                subgroupShuffle(bs[13u / SUBGROUP_SIZE], 13u % SUBGROUP_SIZE),
                subgroupShuffle(bs[14u / SUBGROUP_SIZE], 14u % SUBGROUP_SIZE),
                subgroupShuffle(bs[15u / SUBGROUP_SIZE], 15u % SUBGROUP_SIZE),
            );
        } else {
            bm3 = transpose(mat4x4<f32>(
                subgroupShuffle(
                    bs[(3u) / SUBGROUP_SIZE],
                    (3u) % SUBGROUP_SIZE,
                ),
                subgroupShuffle(
                    bs[(1u * COL_QUADS + 3u) / SUBGROUP_SIZE],
                    (1u * COL_QUADS + 3u) % SUBGROUP_SIZE,
                ),
                subgroupShuffle(
                    bs[(2u * COL_QUADS + 3u) / SUBGROUP_SIZE],
                    (2u * COL_QUADS + 3u) % SUBGROUP_SIZE,
                ),
                subgroupShuffle(
                    bs[(3u * COL_QUADS + 3u) / SUBGROUP_SIZE],
                    (3u * COL_QUADS + 3u) % SUBGROUP_SIZE,
                ),
            ));
        }
        acc[3] += at0 * bm3;
        acc[19] += at1 * bm3;
        if (4u < COL_QUADS) {
            var bm4: mat4x4<f32>;
            if (TRANS_B) {
                bm4 = mat4x4<f32>(
                    subgroupShuffle(bs[16u / SUBGROUP_SIZE], 16u % SUBGROUP_SIZE),
                    subgroupShuffle(bs[17u / SUBGROUP_SIZE], 17u % SUBGROUP_SIZE),
                    subgroupShuffle(bs[18u / SUBGROUP_SIZE], 18u % SUBGROUP_SIZE),
                    subgroupShuffle(bs[19u / SUBGROUP_SIZE], 19u % SUBGROUP_SIZE),
                );
            } else {
                bm4 = transpose(mat4x4<f32>(
                    subgroupShuffle(
                        bs[(4u) / SUBGROUP_SIZE],
                        (4u) % SUBGROUP_SIZE,
                    ),
                    subgroupShuffle(
                        bs[(1u * COL_QUADS + 4u) / SUBGROUP_SIZE],
                        (1u * COL_QUADS + 4u) % SUBGROUP_SIZE,
                    ),
                    subgroupShuffle(
                        bs[(2u * COL_QUADS + 4u) / SUBGROUP_SIZE],
                        (2u * COL_QUADS + 4u) % SUBGROUP_SIZE,
                    ),
                    subgroupShuffle(
                        bs[(3u * COL_QUADS + 4u) / SUBGROUP_SIZE],
                        (3u * COL_QUADS + 4u) % SUBGROUP_SIZE,
                    ),
                ));
            }
            acc[4] += at0 * bm4;
            acc[20] += at1 * bm4;
        }
        if (5u < COL_QUADS) {
            var bm5: mat4x4<f32>;
            if (TRANS_B) {
                bm5 = mat4x4<f32>(
                    subgroupShuffle(bs[20u / SUBGROUP_SIZE], 20u % SUBGROUP_SIZE),
                    subgroupShuffle(bs[21u / SUBGROUP_SIZE], 21u % SUBGROUP_SIZE),
                    subgroupShuffle(bs[22u / SUBGROUP_SIZE], 22u % SUBGROUP_SIZE),
                    subgroupShuffle(bs[23u / SUBGROUP_SIZE], 23u % SUBGROUP_SIZE),
                );
            } else {
                bm5 = transpose(mat4x4<f32>(
                    subgroupShuffle(
                        bs[(5u) / SUBGROUP_SIZE],
                        (5u) % SUBGROUP_SIZE,
                    ),
                    subgroupShuffle(
                        bs[(1u * COL_QUADS + 5u) / SUBGROUP_SIZE],
                        (1u * COL_QUADS + 5u) % SUBGROUP_SIZE,
                    ),
                    subgroupShuffle(
                        bs[(2u * COL_QUADS + 5u) / SUBGROUP_SIZE],
                        (2u * COL_QUADS + 5u) % SUBGROUP_SIZE,
                    ),
                    subgroupShuffle(
                        bs[(3u * COL_QUADS + 5u) / SUBGROUP_SIZE],
                        (3u * COL_QUADS + 5u) % SUBGROUP_SIZE,
                    ),
                ));
            }
            acc[5] += at0 * bm5;
            acc[21] += at1 * bm5;
        }
        if (6u < COL_QUADS) {
            var bm6: mat4x4<f32>;
            if (TRANS_B) {
                bm6 = mat4x4<f32>(
                    subgroupShuffle(bs[24u / SUBGROUP_SIZE], 24u % SUBGROUP_SIZE),
                    subgroupShuffle(bs[25u / SUBGROUP_SIZE], 25u % SUBGROUP_SIZE),
                    subgroupShuffle(bs[26u / SUBGROUP_SIZE], 26u % SUBGROUP_SIZE),
                    subgroupShuffle(bs[27u / SUBGROUP_SIZE], 27u % SUBGROUP_SIZE),
                );
            } else {
                bm6 = transpose(mat4x4<f32>(
                    subgroupShuffle(
                        bs[(6u) / SUBGROUP_SIZE],
                        (6u) % SUBGROUP_SIZE,
                    ),
                    subgroupShuffle(
                        bs[(1u * COL_QUADS + 6u) / SUBGROUP_SIZE],
                        (1u * COL_QUADS + 6u) % SUBGROUP_SIZE,
                    ),
                    subgroupShuffle(
                        bs[(2u * COL_QUADS + 6u) / SUBGROUP_SIZE],
                        (2u * COL_QUADS + 6u) % SUBGROUP_SIZE,
                    ),
                    subgroupShuffle(
                        bs[(3u * COL_QUADS + 6u) / SUBGROUP_SIZE],
                        (3u * COL_QUADS + 6u) % SUBGROUP_SIZE,
                    ),
                ));
            }
            acc[6] += at0 * bm6;
            acc[22] += at1 * bm6;
        }
        if (7u < COL_QUADS) {
            var bm7: mat4x4<f32>;
            if (TRANS_B) {
                bm7 = mat4x4<f32>(
                    subgroupShuffle(bs[28u / SUBGROUP_SIZE], 28u % SUBGROUP_SIZE),
                    subgroupShuffle(bs[29u / SUBGROUP_SIZE], 29u % SUBGROUP_SIZE),
                    subgroupShuffle(bs[30u / SUBGROUP_SIZE], 30u % SUBGROUP_SIZE),
                    subgroupShuffle(bs[31u / SUBGROUP_SIZE], 31u % SUBGROUP_SIZE),
                );
            } else {
                bm7 = transpose(mat4x4<f32>(
                    subgroupShuffle(
                        bs[(7u) / SUBGROUP_SIZE],
                        (7u) % SUBGROUP_SIZE,
                    ),
                    subgroupShuffle(
                        bs[(1u * COL_QUADS + 7u) / SUBGROUP_SIZE],
                        (1u * COL_QUADS + 7u) % SUBGROUP_SIZE,
                    ),
                    subgroupShuffle(
                        bs[(2u * COL_QUADS + 7u) / SUBGROUP_SIZE],
                        (2u * COL_QUADS + 7u) % SUBGROUP_SIZE,
                    ),
                    subgroupShuffle(
                        bs[(3u * COL_QUADS + 7u) / SUBGROUP_SIZE],
                        (3u * COL_QUADS + 7u) % SUBGROUP_SIZE,
                    ),
                ));
            }
            acc[7] += at0 * bm7;
            acc[23] += at1 * bm7;
        }
        if (8u < COL_QUADS) {
            var bm8: mat4x4<f32>;
            if (TRANS_B) {
                bm8 = mat4x4<f32>(
                    subgroupShuffle(bs[32u / SUBGROUP_SIZE], 32u % SUBGROUP_SIZE),
                    subgroupShuffle(bs[33u / SUBGROUP_SIZE], 33u % SUBGROUP_SIZE),
                    subgroupShuffle(bs[34u / SUBGROUP_SIZE], 34u % SUBGROUP_SIZE),
                    subgroupShuffle(bs[35u / SUBGROUP_SIZE], 35u % SUBGROUP_SIZE),
                );
            } else {
                bm8 = transpose(mat4x4<f32>(
                    subgroupShuffle(
                        bs[(8u) / SUBGROUP_SIZE],
                        (8u) % SUBGROUP_SIZE,
                    ),
                    subgroupShuffle(
                        bs[(1u * COL_QUADS + 8u) / SUBGROUP_SIZE],
                        (1u * COL_QUADS + 8u) % SUBGROUP_SIZE,
                    ),
                    subgroupShuffle(
                        bs[(2u * COL_QUADS + 8u) / SUBGROUP_SIZE],
                        (2u * COL_QUADS + 8u) % SUBGROUP_SIZE,
                    ),
                    subgroupShuffle(
                        bs[(3u * COL_QUADS + 8u) / SUBGROUP_SIZE],
                        (3u * COL_QUADS + 8u) % SUBGROUP_SIZE,
                    ),
                ));
            }
            acc[8] += at0 * bm8;
            acc[24] += at1 * bm8;
        }
        if (9u < COL_QUADS) {
            var bm9: mat4x4<f32>;
            if (TRANS_B) {
                bm9 = mat4x4<f32>(
                    subgroupShuffle(bs[36u / SUBGROUP_SIZE], 36u % SUBGROUP_SIZE),
                    subgroupShuffle(bs[37u / SUBGROUP_SIZE], 37u % SUBGROUP_SIZE),
                    subgroupShuffle(bs[38u / SUBGROUP_SIZE], 38u % SUBGROUP_SIZE),
                    subgroupShuffle(bs[39u / SUBGROUP_SIZE], 39u % SUBGROUP_SIZE),
                );
            } else {
                bm9 = transpose(mat4x4<f32>(
                    subgroupShuffle(
                        bs[(9u) / SUBGROUP_SIZE],
                        (9u) % SUBGROUP_SIZE,
                    ),
                    subgroupShuffle(
                        bs[(1u * COL_QUADS + 9u) / SUBGROUP_SIZE],
                        (1u * COL_QUADS + 9u) % SUBGROUP_SIZE,
                    ),
                    subgroupShuffle(
                        bs[(2u * COL_QUADS + 9u) / SUBGROUP_SIZE],
                        (2u * COL_QUADS + 9u) % SUBGROUP_SIZE,
                    ),
                    subgroupShuffle(
                        bs[(3u * COL_QUADS + 9u) / SUBGROUP_SIZE],
                        (3u * COL_QUADS + 9u) % SUBGROUP_SIZE,
                    ),
                ));
            }
            acc[9] += at0 * bm9;
            acc[25] += at1 * bm9;
        }
        if (10u < COL_QUADS) {
            var bm10: mat4x4<f32>;
            if (TRANS_B) {
                bm10 = mat4x4<f32>(
                    subgroupShuffle(bs[40u / SUBGROUP_SIZE], 40u % SUBGROUP_SIZE),
                    subgroupShuffle(bs[41u / SUBGROUP_SIZE], 41u % SUBGROUP_SIZE),
                    subgroupShuffle(bs[42u / SUBGROUP_SIZE], 42u % SUBGROUP_SIZE),
                    subgroupShuffle(bs[43u / SUBGROUP_SIZE], 43u % SUBGROUP_SIZE),
                );
            } else {
                bm10 = transpose(mat4x4<f32>(
                    subgroupShuffle(
                        bs[(10u) / SUBGROUP_SIZE],
                        (10u) % SUBGROUP_SIZE,
                    ),
                    subgroupShuffle(
                        bs[(1u * COL_QUADS + 10u) / SUBGROUP_SIZE],
                        (1u * COL_QUADS + 10u) % SUBGROUP_SIZE,
                    ),
                    subgroupShuffle(
                        bs[(2u * COL_QUADS + 10u) / SUBGROUP_SIZE],
                        (2u * COL_QUADS + 10u) % SUBGROUP_SIZE,
                    ),
                    subgroupShuffle(
                        bs[(3u * COL_QUADS + 10u) / SUBGROUP_SIZE],
                        (3u * COL_QUADS + 10u) % SUBGROUP_SIZE,
                    ),
                ));
            }
            acc[10] += at0 * bm10;
            acc[26] += at1 * bm10;
        }
        if (11u < COL_QUADS) {
            var bm11: mat4x4<f32>;
            if (TRANS_B) {
                bm11 = mat4x4<f32>(
                    subgroupShuffle(bs[44u / SUBGROUP_SIZE], 44u % SUBGROUP_SIZE),
                    subgroupShuffle(bs[45u / SUBGROUP_SIZE], 45u % SUBGROUP_SIZE),
                    subgroupShuffle(bs[46u / SUBGROUP_SIZE], 46u % SUBGROUP_SIZE),
                    subgroupShuffle(bs[47u / SUBGROUP_SIZE], 47u % SUBGROUP_SIZE),
                );
            } else {
                bm11 = transpose(mat4x4<f32>(
                    subgroupShuffle(
                        bs[(11u) / SUBGROUP_SIZE],
                        (11u) % SUBGROUP_SIZE,
                    ),
                    subgroupShuffle(
                        bs[(1u * COL_QUADS + 11u) / SUBGROUP_SIZE],
                        (1u * COL_QUADS + 11u) % SUBGROUP_SIZE,
                    ),
                    subgroupShuffle(
                        bs[(2u * COL_QUADS + 11u) / SUBGROUP_SIZE],
                        (2u * COL_QUADS + 11u) % SUBGROUP_SIZE,
                    ),
                    subgroupShuffle(
                        bs[(3u * COL_QUADS + 11u) / SUBGROUP_SIZE],
                        (3u * COL_QUADS + 11u) % SUBGROUP_SIZE,
                    ),
                ));
            }
            acc[11] += at0 * bm11;
            acc[27] += at1 * bm11;
        }
        if (12u < COL_QUADS) {
            var bm12: mat4x4<f32>;
            if (TRANS_B) {
                bm12 = mat4x4<f32>(
                    subgroupShuffle(bs[48u / SUBGROUP_SIZE], 48u % SUBGROUP_SIZE),
                    subgroupShuffle(bs[49u / SUBGROUP_SIZE], 49u % SUBGROUP_SIZE),
                    subgroupShuffle(bs[50u / SUBGROUP_SIZE], 50u % SUBGROUP_SIZE),
                    subgroupShuffle(bs[51u / SUBGROUP_SIZE], 51u % SUBGROUP_SIZE),
                );
            } else {
                bm12 = transpose(mat4x4<f32>(
                    subgroupShuffle(
                        bs[(12u) / SUBGROUP_SIZE],
                        (12u) % SUBGROUP_SIZE,
                    ),
                    subgroupShuffle(
                        bs[(1u * COL_QUADS + 12u) / SUBGROUP_SIZE],
                        (1u * COL_QUADS + 12u) % SUBGROUP_SIZE,
                    ),
                    subgroupShuffle(
                        bs[(2u * COL_QUADS + 12u) / SUBGROUP_SIZE],
                        (2u * COL_QUADS + 12u) % SUBGROUP_SIZE,
                    ),
                    subgroupShuffle(
                        bs[(3u * COL_QUADS + 12u) / SUBGROUP_SIZE],
                        (3u * COL_QUADS + 12u) % SUBGROUP_SIZE,
                    ),
                ));
            }
            acc[12] += at0 * bm12;
            acc[28] += at1 * bm12;
        }
        if (13u < COL_QUADS) {
            var bm13: mat4x4<f32>;
            if (TRANS_B) {
                bm13 = mat4x4<f32>(
                    subgroupShuffle(bs[52u / SUBGROUP_SIZE], 52u % SUBGROUP_SIZE),
                    subgroupShuffle(bs[53u / SUBGROUP_SIZE], 53u % SUBGROUP_SIZE),
                    subgroupShuffle(bs[54u / SUBGROUP_SIZE], 54u % SUBGROUP_SIZE),
                    subgroupShuffle(bs[55u / SUBGROUP_SIZE], 55u % SUBGROUP_SIZE),
                );
            } else {
                bm13 = transpose(mat4x4<f32>(
                    subgroupShuffle(
                        bs[(13u) / SUBGROUP_SIZE],
                        (13u) % SUBGROUP_SIZE,
                    ),
                    subgroupShuffle(
                        bs[(1u * COL_QUADS + 13u) / SUBGROUP_SIZE],
                        (1u * COL_QUADS + 13u) % SUBGROUP_SIZE,
                    ),
                    subgroupShuffle(
                        bs[(2u * COL_QUADS + 13u) / SUBGROUP_SIZE],
                        (2u * COL_QUADS + 13u) % SUBGROUP_SIZE,
                    ),
                    subgroupShuffle(
                        bs[(3u * COL_QUADS + 13u) / SUBGROUP_SIZE],
                        (3u * COL_QUADS + 13u) % SUBGROUP_SIZE,
                    ),
                ));
            }
            acc[13] += at0 * bm13;
            acc[29] += at1 * bm13;
        }
        if (14u < COL_QUADS) {
            var bm14: mat4x4<f32>;
            if (TRANS_B) {
                bm14 = mat4x4<f32>(
                    subgroupShuffle(bs[56u / SUBGROUP_SIZE], 56u % SUBGROUP_SIZE),
                    subgroupShuffle(bs[57u / SUBGROUP_SIZE], 57u % SUBGROUP_SIZE),
                    subgroupShuffle(bs[58u / SUBGROUP_SIZE], 58u % SUBGROUP_SIZE),
                    subgroupShuffle(bs[59u / SUBGROUP_SIZE], 59u % SUBGROUP_SIZE),
                );
            } else {
                bm14 = transpose(mat4x4<f32>(
                    subgroupShuffle(
                        bs[(14u) / SUBGROUP_SIZE],
                        (14u) % SUBGROUP_SIZE,
                    ),
                    subgroupShuffle(
                        bs[(1u * COL_QUADS + 14u) / SUBGROUP_SIZE],
                        (1u * COL_QUADS + 14u) % SUBGROUP_SIZE,
                    ),
                    subgroupShuffle(
                        bs[(2u * COL_QUADS + 14u) / SUBGROUP_SIZE],
                        (2u * COL_QUADS + 14u) % SUBGROUP_SIZE,
                    ),
                    subgroupShuffle(
                        bs[(3u * COL_QUADS + 14u) / SUBGROUP_SIZE],
                        (3u * COL_QUADS + 14u) % SUBGROUP_SIZE,
                    ),
                ));
            }
            acc[14] += at0 * bm14;
            acc[30] += at1 * bm14;
        }
        if (15u < COL_QUADS) {
            var bm15: mat4x4<f32>;
            if (TRANS_B) {
                bm15 = mat4x4<f32>(
                    subgroupShuffle(bs[60u / SUBGROUP_SIZE], 60u % SUBGROUP_SIZE),
                    subgroupShuffle(bs[61u / SUBGROUP_SIZE], 61u % SUBGROUP_SIZE),
                    subgroupShuffle(bs[62u / SUBGROUP_SIZE], 62u % SUBGROUP_SIZE),
                    subgroupShuffle(bs[63u / SUBGROUP_SIZE], 63u % SUBGROUP_SIZE),
                );
            } else {
                bm15 = transpose(mat4x4<f32>(
                    subgroupShuffle(
                        bs[(15u) / SUBGROUP_SIZE],
                        (15u) % SUBGROUP_SIZE,
                    ),
                    subgroupShuffle(
                        bs[(1u * COL_QUADS + 15u) / SUBGROUP_SIZE],
                        (1u * COL_QUADS + 15u) % SUBGROUP_SIZE,
                    ),
                    subgroupShuffle(
                        bs[(2u * COL_QUADS + 15u) / SUBGROUP_SIZE],
                        (2u * COL_QUADS + 15u) % SUBGROUP_SIZE,
                    ),
                    subgroupShuffle(
                        bs[(3u * COL_QUADS + 15u) / SUBGROUP_SIZE],
                        (3u * COL_QUADS + 15u) % SUBGROUP_SIZE,
                    ),
                ));
            }
            acc[15] += at0 * bm15;
            acc[31] += at1 * bm15;
        }
    }
    // Compiled for another subgroup size than the one it runs with: store NaN.
    let bad = sg_size != SUBGROUP_SIZE;
    let nan = vec4<f32>(bitcast<f32>(0x7fc00000u | p._pad0));
    let c_base = wid.z * p.c_batch_stride + p.n_offset;
    if (row0 + 0u < p.m) {
        let cr = c_base + (row0 + 0u) * p.ldc;
        store4(cr, col0 + 0u, select(transpose(acc[0])[0], nan, bad));
        store4(cr, col0 + 4u, select(transpose(acc[1])[0], nan, bad));
        store4(cr, col0 + 8u, select(transpose(acc[2])[0], nan, bad));
        store4(cr, col0 + 12u, select(transpose(acc[3])[0], nan, bad));
        if (4u < COL_QUADS) {
            store4(cr, col0 + 16u, select(transpose(acc[4])[0], nan, bad));
        }
        if (5u < COL_QUADS) {
            store4(cr, col0 + 20u, select(transpose(acc[5])[0], nan, bad));
        }
        if (6u < COL_QUADS) {
            store4(cr, col0 + 24u, select(transpose(acc[6])[0], nan, bad));
        }
        if (7u < COL_QUADS) {
            store4(cr, col0 + 28u, select(transpose(acc[7])[0], nan, bad));
        }
        if (8u < COL_QUADS) {
            store4(cr, col0 + 32u, select(transpose(acc[8])[0], nan, bad));
        }
        if (9u < COL_QUADS) {
            store4(cr, col0 + 36u, select(transpose(acc[9])[0], nan, bad));
        }
        if (10u < COL_QUADS) {
            store4(cr, col0 + 40u, select(transpose(acc[10])[0], nan, bad));
        }
        if (11u < COL_QUADS) {
            store4(cr, col0 + 44u, select(transpose(acc[11])[0], nan, bad));
        }
        if (12u < COL_QUADS) {
            store4(cr, col0 + 48u, select(transpose(acc[12])[0], nan, bad));
        }
        if (13u < COL_QUADS) {
            store4(cr, col0 + 52u, select(transpose(acc[13])[0], nan, bad));
        }
        if (14u < COL_QUADS) {
            store4(cr, col0 + 56u, select(transpose(acc[14])[0], nan, bad));
        }
        if (15u < COL_QUADS) {
            store4(cr, col0 + 60u, select(transpose(acc[15])[0], nan, bad));
        }
    }
    if (row0 + 1u < p.m) {
        let cr = c_base + (row0 + 1u) * p.ldc;
        store4(cr, col0 + 0u, select(transpose(acc[0])[1], nan, bad));
        store4(cr, col0 + 4u, select(transpose(acc[1])[1], nan, bad));
        store4(cr, col0 + 8u, select(transpose(acc[2])[1], nan, bad));
        store4(cr, col0 + 12u, select(transpose(acc[3])[1], nan, bad));
        if (4u < COL_QUADS) {
            store4(cr, col0 + 16u, select(transpose(acc[4])[1], nan, bad));
        }
        if (5u < COL_QUADS) {
            store4(cr, col0 + 20u, select(transpose(acc[5])[1], nan, bad));
        }
        if (6u < COL_QUADS) {
            store4(cr, col0 + 24u, select(transpose(acc[6])[1], nan, bad));
        }
        if (7u < COL_QUADS) {
            store4(cr, col0 + 28u, select(transpose(acc[7])[1], nan, bad));
        }
        if (8u < COL_QUADS) {
            store4(cr, col0 + 32u, select(transpose(acc[8])[1], nan, bad));
        }
        if (9u < COL_QUADS) {
            store4(cr, col0 + 36u, select(transpose(acc[9])[1], nan, bad));
        }
        if (10u < COL_QUADS) {
            store4(cr, col0 + 40u, select(transpose(acc[10])[1], nan, bad));
        }
        if (11u < COL_QUADS) {
            store4(cr, col0 + 44u, select(transpose(acc[11])[1], nan, bad));
        }
        if (12u < COL_QUADS) {
            store4(cr, col0 + 48u, select(transpose(acc[12])[1], nan, bad));
        }
        if (13u < COL_QUADS) {
            store4(cr, col0 + 52u, select(transpose(acc[13])[1], nan, bad));
        }
        if (14u < COL_QUADS) {
            store4(cr, col0 + 56u, select(transpose(acc[14])[1], nan, bad));
        }
        if (15u < COL_QUADS) {
            store4(cr, col0 + 60u, select(transpose(acc[15])[1], nan, bad));
        }
    }
    if (row0 + 2u < p.m) {
        let cr = c_base + (row0 + 2u) * p.ldc;
        store4(cr, col0 + 0u, select(transpose(acc[0])[2], nan, bad));
        store4(cr, col0 + 4u, select(transpose(acc[1])[2], nan, bad));
        store4(cr, col0 + 8u, select(transpose(acc[2])[2], nan, bad));
        store4(cr, col0 + 12u, select(transpose(acc[3])[2], nan, bad));
        if (4u < COL_QUADS) {
            store4(cr, col0 + 16u, select(transpose(acc[4])[2], nan, bad));
        }
        if (5u < COL_QUADS) {
            store4(cr, col0 + 20u, select(transpose(acc[5])[2], nan, bad));
        }
        if (6u < COL_QUADS) {
            store4(cr, col0 + 24u, select(transpose(acc[6])[2], nan, bad));
        }
        if (7u < COL_QUADS) {
            store4(cr, col0 + 28u, select(transpose(acc[7])[2], nan, bad));
        }
        if (8u < COL_QUADS) {
            store4(cr, col0 + 32u, select(transpose(acc[8])[2], nan, bad));
        }
        if (9u < COL_QUADS) {
            store4(cr, col0 + 36u, select(transpose(acc[9])[2], nan, bad));
        }
        if (10u < COL_QUADS) {
            store4(cr, col0 + 40u, select(transpose(acc[10])[2], nan, bad));
        }
        if (11u < COL_QUADS) {
            store4(cr, col0 + 44u, select(transpose(acc[11])[2], nan, bad));
        }
        if (12u < COL_QUADS) {
            store4(cr, col0 + 48u, select(transpose(acc[12])[2], nan, bad));
        }
        if (13u < COL_QUADS) {
            store4(cr, col0 + 52u, select(transpose(acc[13])[2], nan, bad));
        }
        if (14u < COL_QUADS) {
            store4(cr, col0 + 56u, select(transpose(acc[14])[2], nan, bad));
        }
        if (15u < COL_QUADS) {
            store4(cr, col0 + 60u, select(transpose(acc[15])[2], nan, bad));
        }
    }
    if (row0 + 3u < p.m) {
        let cr = c_base + (row0 + 3u) * p.ldc;
        store4(cr, col0 + 0u, select(transpose(acc[0])[3], nan, bad));
        store4(cr, col0 + 4u, select(transpose(acc[1])[3], nan, bad));
        store4(cr, col0 + 8u, select(transpose(acc[2])[3], nan, bad));
        store4(cr, col0 + 12u, select(transpose(acc[3])[3], nan, bad));
        if (4u < COL_QUADS) {
            store4(cr, col0 + 16u, select(transpose(acc[4])[3], nan, bad));
        }
        if (5u < COL_QUADS) {
            store4(cr, col0 + 20u, select(transpose(acc[5])[3], nan, bad));
        }
        if (6u < COL_QUADS) {
            store4(cr, col0 + 24u, select(transpose(acc[6])[3], nan, bad));
        }
        if (7u < COL_QUADS) {
            store4(cr, col0 + 28u, select(transpose(acc[7])[3], nan, bad));
        }
        if (8u < COL_QUADS) {
            store4(cr, col0 + 32u, select(transpose(acc[8])[3], nan, bad));
        }
        if (9u < COL_QUADS) {
            store4(cr, col0 + 36u, select(transpose(acc[9])[3], nan, bad));
        }
        if (10u < COL_QUADS) {
            store4(cr, col0 + 40u, select(transpose(acc[10])[3], nan, bad));
        }
        if (11u < COL_QUADS) {
            store4(cr, col0 + 44u, select(transpose(acc[11])[3], nan, bad));
        }
        if (12u < COL_QUADS) {
            store4(cr, col0 + 48u, select(transpose(acc[12])[3], nan, bad));
        }
        if (13u < COL_QUADS) {
            store4(cr, col0 + 52u, select(transpose(acc[13])[3], nan, bad));
        }
        if (14u < COL_QUADS) {
            store4(cr, col0 + 56u, select(transpose(acc[14])[3], nan, bad));
        }
        if (15u < COL_QUADS) {
            store4(cr, col0 + 60u, select(transpose(acc[15])[3], nan, bad));
        }
    }
    if (row0 + 4u < p.m) {
        let cr = c_base + (row0 + 4u) * p.ldc;
        store4(cr, col0 + 0u, select(transpose(acc[16])[0], nan, bad));
        store4(cr, col0 + 4u, select(transpose(acc[17])[0], nan, bad));
        store4(cr, col0 + 8u, select(transpose(acc[18])[0], nan, bad));
        store4(cr, col0 + 12u, select(transpose(acc[19])[0], nan, bad));
        if (4u < COL_QUADS) {
            store4(cr, col0 + 16u, select(transpose(acc[20])[0], nan, bad));
        }
        if (5u < COL_QUADS) {
            store4(cr, col0 + 20u, select(transpose(acc[21])[0], nan, bad));
        }
        if (6u < COL_QUADS) {
            store4(cr, col0 + 24u, select(transpose(acc[22])[0], nan, bad));
        }
        if (7u < COL_QUADS) {
            store4(cr, col0 + 28u, select(transpose(acc[23])[0], nan, bad));
        }
        if (8u < COL_QUADS) {
            store4(cr, col0 + 32u, select(transpose(acc[24])[0], nan, bad));
        }
        if (9u < COL_QUADS) {
            store4(cr, col0 + 36u, select(transpose(acc[25])[0], nan, bad));
        }
        if (10u < COL_QUADS) {
            store4(cr, col0 + 40u, select(transpose(acc[26])[0], nan, bad));
        }
        if (11u < COL_QUADS) {
            store4(cr, col0 + 44u, select(transpose(acc[27])[0], nan, bad));
        }
        if (12u < COL_QUADS) {
            store4(cr, col0 + 48u, select(transpose(acc[28])[0], nan, bad));
        }
        if (13u < COL_QUADS) {
            store4(cr, col0 + 52u, select(transpose(acc[29])[0], nan, bad));
        }
        if (14u < COL_QUADS) {
            store4(cr, col0 + 56u, select(transpose(acc[30])[0], nan, bad));
        }
        if (15u < COL_QUADS) {
            store4(cr, col0 + 60u, select(transpose(acc[31])[0], nan, bad));
        }
    }
    if (row0 + 5u < p.m) {
        let cr = c_base + (row0 + 5u) * p.ldc;
        store4(cr, col0 + 0u, select(transpose(acc[16])[1], nan, bad));
        store4(cr, col0 + 4u, select(transpose(acc[17])[1], nan, bad));
        store4(cr, col0 + 8u, select(transpose(acc[18])[1], nan, bad));
        store4(cr, col0 + 12u, select(transpose(acc[19])[1], nan, bad));
        if (4u < COL_QUADS) {
            store4(cr, col0 + 16u, select(transpose(acc[20])[1], nan, bad));
        }
        if (5u < COL_QUADS) {
            store4(cr, col0 + 20u, select(transpose(acc[21])[1], nan, bad));
        }
        if (6u < COL_QUADS) {
            store4(cr, col0 + 24u, select(transpose(acc[22])[1], nan, bad));
        }
        if (7u < COL_QUADS) {
            store4(cr, col0 + 28u, select(transpose(acc[23])[1], nan, bad));
        }
        if (8u < COL_QUADS) {
            store4(cr, col0 + 32u, select(transpose(acc[24])[1], nan, bad));
        }
        if (9u < COL_QUADS) {
            store4(cr, col0 + 36u, select(transpose(acc[25])[1], nan, bad));
        }
        if (10u < COL_QUADS) {
            store4(cr, col0 + 40u, select(transpose(acc[26])[1], nan, bad));
        }
        if (11u < COL_QUADS) {
            store4(cr, col0 + 44u, select(transpose(acc[27])[1], nan, bad));
        }
        if (12u < COL_QUADS) {
            store4(cr, col0 + 48u, select(transpose(acc[28])[1], nan, bad));
        }
        if (13u < COL_QUADS) {
            store4(cr, col0 + 52u, select(transpose(acc[29])[1], nan, bad));
        }
        if (14u < COL_QUADS) {
            store4(cr, col0 + 56u, select(transpose(acc[30])[1], nan, bad));
        }
        if (15u < COL_QUADS) {
            store4(cr, col0 + 60u, select(transpose(acc[31])[1], nan, bad));
        }
    }
    if (row0 + 6u < p.m) {
        let cr = c_base + (row0 + 6u) * p.ldc;
        store4(cr, col0 + 0u, select(transpose(acc[16])[2], nan, bad));
        store4(cr, col0 + 4u, select(transpose(acc[17])[2], nan, bad));
        store4(cr, col0 + 8u, select(transpose(acc[18])[2], nan, bad));
        store4(cr, col0 + 12u, select(transpose(acc[19])[2], nan, bad));
        if (4u < COL_QUADS) {
            store4(cr, col0 + 16u, select(transpose(acc[20])[2], nan, bad));
        }
        if (5u < COL_QUADS) {
            store4(cr, col0 + 20u, select(transpose(acc[21])[2], nan, bad));
        }
        if (6u < COL_QUADS) {
            store4(cr, col0 + 24u, select(transpose(acc[22])[2], nan, bad));
        }
        if (7u < COL_QUADS) {
            store4(cr, col0 + 28u, select(transpose(acc[23])[2], nan, bad));
        }
        if (8u < COL_QUADS) {
            store4(cr, col0 + 32u, select(transpose(acc[24])[2], nan, bad));
        }
        if (9u < COL_QUADS) {
            store4(cr, col0 + 36u, select(transpose(acc[25])[2], nan, bad));
        }
        if (10u < COL_QUADS) {
            store4(cr, col0 + 40u, select(transpose(acc[26])[2], nan, bad));
        }
        if (11u < COL_QUADS) {
            store4(cr, col0 + 44u, select(transpose(acc[27])[2], nan, bad));
        }
        if (12u < COL_QUADS) {
            store4(cr, col0 + 48u, select(transpose(acc[28])[2], nan, bad));
        }
        if (13u < COL_QUADS) {
            store4(cr, col0 + 52u, select(transpose(acc[29])[2], nan, bad));
        }
        if (14u < COL_QUADS) {
            store4(cr, col0 + 56u, select(transpose(acc[30])[2], nan, bad));
        }
        if (15u < COL_QUADS) {
            store4(cr, col0 + 60u, select(transpose(acc[31])[2], nan, bad));
        }
    }
    if (row0 + 7u < p.m) {
        let cr = c_base + (row0 + 7u) * p.ldc;
        store4(cr, col0 + 0u, select(transpose(acc[16])[3], nan, bad));
        store4(cr, col0 + 4u, select(transpose(acc[17])[3], nan, bad));
        store4(cr, col0 + 8u, select(transpose(acc[18])[3], nan, bad));
        store4(cr, col0 + 12u, select(transpose(acc[19])[3], nan, bad));
        if (4u < COL_QUADS) {
            store4(cr, col0 + 16u, select(transpose(acc[20])[3], nan, bad));
        }
        if (5u < COL_QUADS) {
            store4(cr, col0 + 20u, select(transpose(acc[21])[3], nan, bad));
        }
        if (6u < COL_QUADS) {
            store4(cr, col0 + 24u, select(transpose(acc[22])[3], nan, bad));
        }
        if (7u < COL_QUADS) {
            store4(cr, col0 + 28u, select(transpose(acc[23])[3], nan, bad));
        }
        if (8u < COL_QUADS) {
            store4(cr, col0 + 32u, select(transpose(acc[24])[3], nan, bad));
        }
        if (9u < COL_QUADS) {
            store4(cr, col0 + 36u, select(transpose(acc[25])[3], nan, bad));
        }
        if (10u < COL_QUADS) {
            store4(cr, col0 + 40u, select(transpose(acc[26])[3], nan, bad));
        }
        if (11u < COL_QUADS) {
            store4(cr, col0 + 44u, select(transpose(acc[27])[3], nan, bad));
        }
        if (12u < COL_QUADS) {
            store4(cr, col0 + 48u, select(transpose(acc[28])[3], nan, bad));
        }
        if (13u < COL_QUADS) {
            store4(cr, col0 + 52u, select(transpose(acc[29])[3], nan, bad));
        }
        if (14u < COL_QUADS) {
            store4(cr, col0 + 56u, select(transpose(acc[30])[3], nan, bad));
        }
        if (15u < COL_QUADS) {
            store4(cr, col0 + 60u, select(transpose(acc[31])[3], nan, bad));
        }
    }
}
