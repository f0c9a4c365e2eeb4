// matmul (portable path): C[b] = op(A[b]) * op(B[b]) for b in 0..batch. op(A) is A [m, k]
// or, with TRANS_A, the transpose of A stored as [k, m]; op(B) is B [k, n] or, with
// TRANS_B, the transpose of B stored as [n, k]; a 2-d operand shared by all batches has
// batch stride 0. C is [m, ldc]; a launch writes columns n_offset .. n_offset + n (the
// launcher splits a B larger than one storage binding into column windows).
// Thread mapping: an 8x8 workgroup; each invocation owns a 16x16 register block of C
// (4x4 mat4x4 accumulators), so a workgroup covers 128x128; grid = (ceil(n / 128),
// ceil(m / 128), batch). Per step of 4 k an invocation loads 16 + 16 vec4s of A and B and does
// 16 4x4x4 matrix products. Entry points: `main` loads scalars (any shape, any k);
// `main_vec4` loads vec4s along each operand's contiguous dimension, and needs it (k, or
// m for TRANS_A, n without TRANS_B) to be a multiple of 4 (the launcher checks).
// The block is written out in full: every private-array index must be a constant (a
// dynamically indexed private array becomes memory on lavapipe), and there the
// per-invocation loads, not the FMAs, set the speed (shadernet LAVAPIPE.md).
// No subgroup operations and no workgroup memory: runs on every adapter.
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

@compute @workgroup_size(8, 8, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let row0 = gid.y * 16u;
    let col0 = gid.x * 16u;
    if (row0 >= p.m || col0 >= p.n) {
        return;
    }
    let sa = a_strides();
    let sb = b_strides();
    let a_base = gid.z * p.a_batch_stride;
    let b_base = gid.z * p.b_batch_stride;
    // Rows and columns past the edge are clamped for the loads; their results are not stored.
    let ar0 = a_base + min(row0 + 0u, p.m - 1u) * sa.x;
    let ar1 = a_base + min(row0 + 1u, p.m - 1u) * sa.x;
    let ar2 = a_base + min(row0 + 2u, p.m - 1u) * sa.x;
    let ar3 = a_base + min(row0 + 3u, p.m - 1u) * sa.x;
    let ar4 = a_base + min(row0 + 4u, p.m - 1u) * sa.x;
    let ar5 = a_base + min(row0 + 5u, p.m - 1u) * sa.x;
    let ar6 = a_base + min(row0 + 6u, p.m - 1u) * sa.x;
    let ar7 = a_base + min(row0 + 7u, p.m - 1u) * sa.x;
    let ar8 = a_base + min(row0 + 8u, p.m - 1u) * sa.x;
    let ar9 = a_base + min(row0 + 9u, p.m - 1u) * sa.x;
    let ar10 = a_base + min(row0 + 10u, p.m - 1u) * sa.x;
    let ar11 = a_base + min(row0 + 11u, p.m - 1u) * sa.x;
    let ar12 = a_base + min(row0 + 12u, p.m - 1u) * sa.x;
    let ar13 = a_base + min(row0 + 13u, p.m - 1u) * sa.x;
    let ar14 = a_base + min(row0 + 14u, p.m - 1u) * sa.x;
    let ar15 = a_base + min(row0 + 15u, p.m - 1u) * sa.x;
    let bc0 = b_base + min(col0 + 0u, p.n - 1u) * sb.x;
    let bc1 = b_base + min(col0 + 1u, p.n - 1u) * sb.x;
    let bc2 = b_base + min(col0 + 2u, p.n - 1u) * sb.x;
    let bc3 = b_base + min(col0 + 3u, p.n - 1u) * sb.x;
    let bc4 = b_base + min(col0 + 4u, p.n - 1u) * sb.x;
    let bc5 = b_base + min(col0 + 5u, p.n - 1u) * sb.x;
    let bc6 = b_base + min(col0 + 6u, p.n - 1u) * sb.x;
    let bc7 = b_base + min(col0 + 7u, p.n - 1u) * sb.x;
    let bc8 = b_base + min(col0 + 8u, p.n - 1u) * sb.x;
    let bc9 = b_base + min(col0 + 9u, p.n - 1u) * sb.x;
    let bc10 = b_base + min(col0 + 10u, p.n - 1u) * sb.x;
    let bc11 = b_base + min(col0 + 11u, p.n - 1u) * sb.x;
    let bc12 = b_base + min(col0 + 12u, p.n - 1u) * sb.x;
    let bc13 = b_base + min(col0 + 13u, p.n - 1u) * sb.x;
    let bc14 = b_base + min(col0 + 14u, p.n - 1u) * sb.x;
    let bc15 = b_base + min(col0 + 15u, p.n - 1u) * sb.x;
    // acc[h * 4 + q][e][r] = C[row0 + 4h + r][col0 + 4q + e].
    var acc: array<mat4x4<f32>, 16>;
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
        let a8 = load_a(ar8, oa, ok);
        let a9 = load_a(ar9, oa, ok);
        let a10 = load_a(ar10, oa, ok);
        let a11 = load_a(ar11, oa, ok);
        let a12 = load_a(ar12, oa, ok);
        let a13 = load_a(ar13, oa, ok);
        let a14 = load_a(ar14, oa, ok);
        let a15 = load_a(ar15, oa, ok);
        let at0 = transpose(mat4x4<f32>(a0, a1, a2, a3));
        let at1 = transpose(mat4x4<f32>(a4, a5, a6, a7));
        let at2 = transpose(mat4x4<f32>(a8, a9, a10, a11));
        let at3 = transpose(mat4x4<f32>(a12, a13, a14, a15));
        let ob = kq * sb.y;
        let b0 = load_b(bc0, ob, ok);
        let b1 = load_b(bc1, ob, ok);
        let b2 = load_b(bc2, ob, ok);
        let b3 = load_b(bc3, ob, ok);
        let b4 = load_b(bc4, ob, ok);
        let b5 = load_b(bc5, ob, ok);
        let b6 = load_b(bc6, ob, ok);
        let b7 = load_b(bc7, ob, ok);
        let b8 = load_b(bc8, ob, ok);
        let b9 = load_b(bc9, ob, ok);
        let b10 = load_b(bc10, ob, ok);
        let b11 = load_b(bc11, ob, ok);
        let b12 = load_b(bc12, ob, ok);
        let b13 = load_b(bc13, ob, ok);
        let b14 = load_b(bc14, ob, ok);
        let b15 = load_b(bc15, ob, ok);
        let bm0 = mat4x4<f32>(b0, b1, b2, b3);
        let bm1 = mat4x4<f32>(b4, b5, b6, b7);
        let bm2 = mat4x4<f32>(b8, b9, b10, b11);
        let bm3 = mat4x4<f32>(b12, b13, b14, b15);
        acc[0] += at0 * bm0;
        acc[4] += at1 * bm0;
        acc[8] += at2 * bm0;
        acc[12] += at3 * bm0;
        acc[1] += at0 * bm1;
        acc[5] += at1 * bm1;
        acc[9] += at2 * bm1;
        acc[13] += at3 * bm1;
        acc[2] += at0 * bm2;
        acc[6] += at1 * bm2;
        acc[10] += at2 * bm2;
        acc[14] += at3 * bm2;
        acc[3] += at0 * bm3;
        acc[7] += at1 * bm3;
        acc[11] += at2 * bm3;
        acc[15] += at3 * bm3;
    }
    let c_base = gid.z * p.c_batch_stride + p.n_offset;
    if (row0 + 0u < p.m) {
        let cr = c_base + (row0 + 0u) * p.ldc;
        store4(cr, col0 + 0u, transpose(acc[0])[0]);
        store4(cr, col0 + 4u, transpose(acc[1])[0]);
        store4(cr, col0 + 8u, transpose(acc[2])[0]);
        store4(cr, col0 + 12u, transpose(acc[3])[0]);
    }
    if (row0 + 1u < p.m) {
        let cr = c_base + (row0 + 1u) * p.ldc;
        store4(cr, col0 + 0u, transpose(acc[0])[1]);
        store4(cr, col0 + 4u, transpose(acc[1])[1]);
        store4(cr, col0 + 8u, transpose(acc[2])[1]);
        store4(cr, col0 + 12u, transpose(acc[3])[1]);
    }
    if (row0 + 2u < p.m) {
        let cr = c_base + (row0 + 2u) * p.ldc;
        store4(cr, col0 + 0u, transpose(acc[0])[2]);
        store4(cr, col0 + 4u, transpose(acc[1])[2]);
        store4(cr, col0 + 8u, transpose(acc[2])[2]);
        store4(cr, col0 + 12u, transpose(acc[3])[2]);
    }
    if (row0 + 3u < p.m) {
        let cr = c_base + (row0 + 3u) * p.ldc;
        store4(cr, col0 + 0u, transpose(acc[0])[3]);
        store4(cr, col0 + 4u, transpose(acc[1])[3]);
        store4(cr, col0 + 8u, transpose(acc[2])[3]);
        store4(cr, col0 + 12u, transpose(acc[3])[3]);
    }
    if (row0 + 4u < p.m) {
        let cr = c_base + (row0 + 4u) * p.ldc;
        store4(cr, col0 + 0u, transpose(acc[4])[0]);
        store4(cr, col0 + 4u, transpose(acc[5])[0]);
        store4(cr, col0 + 8u, transpose(acc[6])[0]);
        store4(cr, col0 + 12u, transpose(acc[7])[0]);
    }
    if (row0 + 5u < p.m) {
        let cr = c_base + (row0 + 5u) * p.ldc;
        store4(cr, col0 + 0u, transpose(acc[4])[1]);
        store4(cr, col0 + 4u, transpose(acc[5])[1]);
        store4(cr, col0 + 8u, transpose(acc[6])[1]);
        store4(cr, col0 + 12u, transpose(acc[7])[1]);
    }
    if (row0 + 6u < p.m) {
        let cr = c_base + (row0 + 6u) * p.ldc;
        store4(cr, col0 + 0u, transpose(acc[4])[2]);
        store4(cr, col0 + 4u, transpose(acc[5])[2]);
        store4(cr, col0 + 8u, transpose(acc[6])[2]);
        store4(cr, col0 + 12u, transpose(acc[7])[2]);
    }
    if (row0 + 7u < p.m) {
        let cr = c_base + (row0 + 7u) * p.ldc;
        store4(cr, col0 + 0u, transpose(acc[4])[3]);
        store4(cr, col0 + 4u, transpose(acc[5])[3]);
        store4(cr, col0 + 8u, transpose(acc[6])[3]);
        store4(cr, col0 + 12u, transpose(acc[7])[3]);
    }
    if (row0 + 8u < p.m) {
        let cr = c_base + (row0 + 8u) * p.ldc;
        store4(cr, col0 + 0u, transpose(acc[8])[0]);
        store4(cr, col0 + 4u, transpose(acc[9])[0]);
        store4(cr, col0 + 8u, transpose(acc[10])[0]);
        store4(cr, col0 + 12u, transpose(acc[11])[0]);
    }
    if (row0 + 9u < p.m) {
        let cr = c_base + (row0 + 9u) * p.ldc;
        store4(cr, col0 + 0u, transpose(acc[8])[1]);
        store4(cr, col0 + 4u, transpose(acc[9])[1]);
        store4(cr, col0 + 8u, transpose(acc[10])[1]);
        store4(cr, col0 + 12u, transpose(acc[11])[1]);
    }
    if (row0 + 10u < p.m) {
        let cr = c_base + (row0 + 10u) * p.ldc;
        store4(cr, col0 + 0u, transpose(acc[8])[2]);
        store4(cr, col0 + 4u, transpose(acc[9])[2]);
        store4(cr, col0 + 8u, transpose(acc[10])[2]);
        store4(cr, col0 + 12u, transpose(acc[11])[2]);
    }
    if (row0 + 11u < p.m) {
        let cr = c_base + (row0 + 11u) * p.ldc;
        store4(cr, col0 + 0u, transpose(acc[8])[3]);
        store4(cr, col0 + 4u, transpose(acc[9])[3]);
        store4(cr, col0 + 8u, transpose(acc[10])[3]);
        store4(cr, col0 + 12u, transpose(acc[11])[3]);
    }
    if (row0 + 12u < p.m) {
        let cr = c_base + (row0 + 12u) * p.ldc;
        store4(cr, col0 + 0u, transpose(acc[12])[0]);
        store4(cr, col0 + 4u, transpose(acc[13])[0]);
        store4(cr, col0 + 8u, transpose(acc[14])[0]);
        store4(cr, col0 + 12u, transpose(acc[15])[0]);
    }
    if (row0 + 13u < p.m) {
        let cr = c_base + (row0 + 13u) * p.ldc;
        store4(cr, col0 + 0u, transpose(acc[12])[1]);
        store4(cr, col0 + 4u, transpose(acc[13])[1]);
        store4(cr, col0 + 8u, transpose(acc[14])[1]);
        store4(cr, col0 + 12u, transpose(acc[15])[1]);
    }
    if (row0 + 14u < p.m) {
        let cr = c_base + (row0 + 14u) * p.ldc;
        store4(cr, col0 + 0u, transpose(acc[12])[2]);
        store4(cr, col0 + 4u, transpose(acc[13])[2]);
        store4(cr, col0 + 8u, transpose(acc[14])[2]);
        store4(cr, col0 + 12u, transpose(acc[15])[2]);
    }
    if (row0 + 15u < p.m) {
        let cr = c_base + (row0 + 15u) * p.ldc;
        store4(cr, col0 + 0u, transpose(acc[12])[3]);
        store4(cr, col0 + 4u, transpose(acc[13])[3]);
        store4(cr, col0 + 8u, transpose(acc[14])[3]);
        store4(cr, col0 + 12u, transpose(acc[15])[3]);
    }
}

@compute @workgroup_size(8, 8, 1)
fn main_vec4(@builtin(global_invocation_id) gid: vec3<u32>) {
    let row0 = gid.y * 16u;
    let col0 = gid.x * 16u;
    if (row0 >= p.m || col0 >= p.n) {
        return;
    }
    let a_base = gid.z * p.a_batch_stride;
    let b_base = gid.z * p.b_batch_stride;
    // Rows and columns past the edge are clamped for the loads; their results are not stored.
    // TRANS_A: vec4s of 4 rows at one k (quads clamped to the last); else vec4s
    // of 4 k of one row.
    let aq0 = a_base + min(row0 + 0u, p.m - 4u);
    let aq1 = a_base + min(row0 + 4u, p.m - 4u);
    let aq2 = a_base + min(row0 + 8u, p.m - 4u);
    let aq3 = a_base + min(row0 + 12u, p.m - 4u);
    let ar0 = a_base + min(row0 + 0u, p.m - 1u) * p.k;
    let ar1 = a_base + min(row0 + 1u, p.m - 1u) * p.k;
    let ar2 = a_base + min(row0 + 2u, p.m - 1u) * p.k;
    let ar3 = a_base + min(row0 + 3u, p.m - 1u) * p.k;
    let ar4 = a_base + min(row0 + 4u, p.m - 1u) * p.k;
    let ar5 = a_base + min(row0 + 5u, p.m - 1u) * p.k;
    let ar6 = a_base + min(row0 + 6u, p.m - 1u) * p.k;
    let ar7 = a_base + min(row0 + 7u, p.m - 1u) * p.k;
    let ar8 = a_base + min(row0 + 8u, p.m - 1u) * p.k;
    let ar9 = a_base + min(row0 + 9u, p.m - 1u) * p.k;
    let ar10 = a_base + min(row0 + 10u, p.m - 1u) * p.k;
    let ar11 = a_base + min(row0 + 11u, p.m - 1u) * p.k;
    let ar12 = a_base + min(row0 + 12u, p.m - 1u) * p.k;
    let ar13 = a_base + min(row0 + 13u, p.m - 1u) * p.k;
    let ar14 = a_base + min(row0 + 14u, p.m - 1u) * p.k;
    let ar15 = a_base + min(row0 + 15u, p.m - 1u) * p.k;
    // TRANS_B: vec4s of 4 k of one column; else vec4s of 4 columns at one k.
    let bc0 = b_base + min(col0 + 0u, p.n - 1u) * p.k;
    let bc1 = b_base + min(col0 + 1u, p.n - 1u) * p.k;
    let bc2 = b_base + min(col0 + 2u, p.n - 1u) * p.k;
    let bc3 = b_base + min(col0 + 3u, p.n - 1u) * p.k;
    let bc4 = b_base + min(col0 + 4u, p.n - 1u) * p.k;
    let bc5 = b_base + min(col0 + 5u, p.n - 1u) * p.k;
    let bc6 = b_base + min(col0 + 6u, p.n - 1u) * p.k;
    let bc7 = b_base + min(col0 + 7u, p.n - 1u) * p.k;
    let bc8 = b_base + min(col0 + 8u, p.n - 1u) * p.k;
    let bc9 = b_base + min(col0 + 9u, p.n - 1u) * p.k;
    let bc10 = b_base + min(col0 + 10u, p.n - 1u) * p.k;
    let bc11 = b_base + min(col0 + 11u, p.n - 1u) * p.k;
    let bc12 = b_base + min(col0 + 12u, p.n - 1u) * p.k;
    let bc13 = b_base + min(col0 + 13u, p.n - 1u) * p.k;
    let bc14 = b_base + min(col0 + 14u, p.n - 1u) * p.k;
    let bc15 = b_base + min(col0 + 15u, p.n - 1u) * p.k;
    let bq0 = b_base + min(col0 + 0u, p.n - 4u);
    let bq1 = b_base + min(col0 + 4u, p.n - 4u);
    let bq2 = b_base + min(col0 + 8u, p.n - 4u);
    let bq3 = b_base + min(col0 + 12u, p.n - 4u);
    // acc[h * 4 + q][e][r] = C[row0 + 4h + r][col0 + 4q + e].
    var acc: array<mat4x4<f32>, 16>;
    for (var k0 = 0u; k0 < p.k; k0 += 4u) {
        let kq = step_k(k0);
        let ok = step_ok(k0);
        var at0: mat4x4<f32>;
        var at1: mat4x4<f32>;
        var at2: mat4x4<f32>;
        var at3: mat4x4<f32>;
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
            at2 = mat4x4<f32>(
                load_a4(aq2 + kq.x * p.m, ok.x),
                load_a4(aq2 + kq.y * p.m, ok.y),
                load_a4(aq2 + kq.z * p.m, ok.z),
                load_a4(aq2 + kq.w * p.m, ok.w),
            );
            at3 = mat4x4<f32>(
                load_a4(aq3 + kq.x * p.m, ok.x),
                load_a4(aq3 + kq.y * p.m, ok.y),
                load_a4(aq3 + kq.z * p.m, ok.z),
                load_a4(aq3 + kq.w * p.m, ok.w),
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
            at2 = transpose(mat4x4<f32>(
                load_a4(ar8 + k0, true),
                load_a4(ar9 + k0, true),
                load_a4(ar10 + k0, true),
                load_a4(ar11 + k0, true),
            ));
            at3 = transpose(mat4x4<f32>(
                load_a4(ar12 + k0, true),
                load_a4(ar13 + k0, true),
                load_a4(ar14 + k0, true),
                load_a4(ar15 + k0, true),
            ));
        }
        var bm0: mat4x4<f32>;
        var bm1: mat4x4<f32>;
        var bm2: mat4x4<f32>;
        var bm3: mat4x4<f32>;
        if (TRANS_B) {
            bm0 = mat4x4<f32>(
                load_b4(bc0 + k0, true),
                load_b4(bc1 + k0, true),
                load_b4(bc2 + k0, true),
                load_b4(bc3 + k0, true),
            );
            bm1 = mat4x4<f32>(
                load_b4(bc4 + k0, true),
                load_b4(bc5 + k0, true),
                load_b4(bc6 + k0, true),
                load_b4(bc7 + k0, true),
            );
            bm2 = mat4x4<f32>(
                load_b4(bc8 + k0, true),
                load_b4(bc9 + k0, true),
                load_b4(bc10 + k0, true),
                load_b4(bc11 + k0, true),
            );
            bm3 = mat4x4<f32>(
                load_b4(bc12 + k0, true),
                load_b4(bc13 + k0, true),
                load_b4(bc14 + k0, true),
                load_b4(bc15 + k0, true),
            );
        } else {
            bm0 = transpose(mat4x4<f32>(
                load_b4(bq0 + kq.x * p.n, ok.x),
                load_b4(bq0 + kq.y * p.n, ok.y),
                load_b4(bq0 + kq.z * p.n, ok.z),
                load_b4(bq0 + kq.w * p.n, ok.w),
            ));
            bm1 = transpose(mat4x4<f32>(
                load_b4(bq1 + kq.x * p.n, ok.x),
                load_b4(bq1 + kq.y * p.n, ok.y),
                load_b4(bq1 + kq.z * p.n, ok.z),
                load_b4(bq1 + kq.w * p.n, ok.w),
            ));
            bm2 = transpose(mat4x4<f32>(
                load_b4(bq2 + kq.x * p.n, ok.x),
                load_b4(bq2 + kq.y * p.n, ok.y),
                load_b4(bq2 + kq.z * p.n, ok.z),
                load_b4(bq2 + kq.w * p.n, ok.w),
            ));
            bm3 = transpose(mat4x4<f32>(
                load_b4(bq3 + kq.x * p.n, ok.x),
                load_b4(bq3 + kq.y * p.n, ok.y),
                load_b4(bq3 + kq.z * p.n, ok.z),
                load_b4(bq3 + kq.w * p.n, ok.w),
            ));
        }
        acc[0] += at0 * bm0;
        acc[4] += at1 * bm0;
        acc[8] += at2 * bm0;
        acc[12] += at3 * bm0;
        acc[1] += at0 * bm1;
        acc[5] += at1 * bm1;
        acc[9] += at2 * bm1;
        acc[13] += at3 * bm1;
        acc[2] += at0 * bm2;
        acc[6] += at1 * bm2;
        acc[10] += at2 * bm2;
        acc[14] += at3 * bm2;
        acc[3] += at0 * bm3;
        acc[7] += at1 * bm3;
        acc[11] += at2 * bm3;
        acc[15] += at3 * bm3;
    }
    let c_base = gid.z * p.c_batch_stride + p.n_offset;
    if (row0 + 0u < p.m) {
        let cr = c_base + (row0 + 0u) * p.ldc;
        store4(cr, col0 + 0u, transpose(acc[0])[0]);
        store4(cr, col0 + 4u, transpose(acc[1])[0]);
        store4(cr, col0 + 8u, transpose(acc[2])[0]);
        store4(cr, col0 + 12u, transpose(acc[3])[0]);
    }
    if (row0 + 1u < p.m) {
        let cr = c_base + (row0 + 1u) * p.ldc;
        store4(cr, col0 + 0u, transpose(acc[0])[1]);
        store4(cr, col0 + 4u, transpose(acc[1])[1]);
        store4(cr, col0 + 8u, transpose(acc[2])[1]);
        store4(cr, col0 + 12u, transpose(acc[3])[1]);
    }
    if (row0 + 2u < p.m) {
        let cr = c_base + (row0 + 2u) * p.ldc;
        store4(cr, col0 + 0u, transpose(acc[0])[2]);
        store4(cr, col0 + 4u, transpose(acc[1])[2]);
        store4(cr, col0 + 8u, transpose(acc[2])[2]);
        store4(cr, col0 + 12u, transpose(acc[3])[2]);
    }
    if (row0 + 3u < p.m) {
        let cr = c_base + (row0 + 3u) * p.ldc;
        store4(cr, col0 + 0u, transpose(acc[0])[3]);
        store4(cr, col0 + 4u, transpose(acc[1])[3]);
        store4(cr, col0 + 8u, transpose(acc[2])[3]);
        store4(cr, col0 + 12u, transpose(acc[3])[3]);
    }
    if (row0 + 4u < p.m) {
        let cr = c_base + (row0 + 4u) * p.ldc;
        store4(cr, col0 + 0u, transpose(acc[4])[0]);
        store4(cr, col0 + 4u, transpose(acc[5])[0]);
        store4(cr, col0 + 8u, transpose(acc[6])[0]);
        store4(cr, col0 + 12u, transpose(acc[7])[0]);
    }
    if (row0 + 5u < p.m) {
        let cr = c_base + (row0 + 5u) * p.ldc;
        store4(cr, col0 + 0u, transpose(acc[4])[1]);
        store4(cr, col0 + 4u, transpose(acc[5])[1]);
        store4(cr, col0 + 8u, transpose(acc[6])[1]);
        store4(cr, col0 + 12u, transpose(acc[7])[1]);
    }
    if (row0 + 6u < p.m) {
        let cr = c_base + (row0 + 6u) * p.ldc;
        store4(cr, col0 + 0u, transpose(acc[4])[2]);
        store4(cr, col0 + 4u, transpose(acc[5])[2]);
        store4(cr, col0 + 8u, transpose(acc[6])[2]);
        store4(cr, col0 + 12u, transpose(acc[7])[2]);
    }
    if (row0 + 7u < p.m) {
        let cr = c_base + (row0 + 7u) * p.ldc;
        store4(cr, col0 + 0u, transpose(acc[4])[3]);
        store4(cr, col0 + 4u, transpose(acc[5])[3]);
        store4(cr, col0 + 8u, transpose(acc[6])[3]);
        store4(cr, col0 + 12u, transpose(acc[7])[3]);
    }
    if (row0 + 8u < p.m) {
        let cr = c_base + (row0 + 8u) * p.ldc;
        store4(cr, col0 + 0u, transpose(acc[8])[0]);
        store4(cr, col0 + 4u, transpose(acc[9])[0]);
        store4(cr, col0 + 8u, transpose(acc[10])[0]);
        store4(cr, col0 + 12u, transpose(acc[11])[0]);
    }
    if (row0 + 9u < p.m) {
        let cr = c_base + (row0 + 9u) * p.ldc;
        store4(cr, col0 + 0u, transpose(acc[8])[1]);
        store4(cr, col0 + 4u, transpose(acc[9])[1]);
        store4(cr, col0 + 8u, transpose(acc[10])[1]);
        store4(cr, col0 + 12u, transpose(acc[11])[1]);
    }
    if (row0 + 10u < p.m) {
        let cr = c_base + (row0 + 10u) * p.ldc;
        store4(cr, col0 + 0u, transpose(acc[8])[2]);
        store4(cr, col0 + 4u, transpose(acc[9])[2]);
        store4(cr, col0 + 8u, transpose(acc[10])[2]);
        store4(cr, col0 + 12u, transpose(acc[11])[2]);
    }
    if (row0 + 11u < p.m) {
        let cr = c_base + (row0 + 11u) * p.ldc;
        store4(cr, col0 + 0u, transpose(acc[8])[3]);
        store4(cr, col0 + 4u, transpose(acc[9])[3]);
        store4(cr, col0 + 8u, transpose(acc[10])[3]);
        store4(cr, col0 + 12u, transpose(acc[11])[3]);
    }
    if (row0 + 12u < p.m) {
        let cr = c_base + (row0 + 12u) * p.ldc;
        store4(cr, col0 + 0u, transpose(acc[12])[0]);
        store4(cr, col0 + 4u, transpose(acc[13])[0]);
        store4(cr, col0 + 8u, transpose(acc[14])[0]);
        store4(cr, col0 + 12u, transpose(acc[15])[0]);
    }
    if (row0 + 13u < p.m) {
        let cr = c_base + (row0 + 13u) * p.ldc;
        store4(cr, col0 + 0u, transpose(acc[12])[1]);
        store4(cr, col0 + 4u, transpose(acc[13])[1]);
        store4(cr, col0 + 8u, transpose(acc[14])[1]);
        store4(cr, col0 + 12u, transpose(acc[15])[1]);
    }
    if (row0 + 14u < p.m) {
        let cr = c_base + (row0 + 14u) * p.ldc;
        store4(cr, col0 + 0u, transpose(acc[12])[2]);
        store4(cr, col0 + 4u, transpose(acc[13])[2]);
        store4(cr, col0 + 8u, transpose(acc[14])[2]);
        store4(cr, col0 + 12u, transpose(acc[15])[2]);
    }
    if (row0 + 15u < p.m) {
        let cr = c_base + (row0 + 15u) * p.ldc;
        store4(cr, col0 + 0u, transpose(acc[12])[3]);
        store4(cr, col0 + 4u, transpose(acc[13])[3]);
        store4(cr, col0 + 8u, transpose(acc[14])[3]);
        store4(cr, col0 + 12u, transpose(acc[15])[3]);
    }
}
