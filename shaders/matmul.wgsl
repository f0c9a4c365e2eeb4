// matmul (portable path): C[b] = op(A[b]) * op(B[b]) for b in 0..batch, where op(A) is
// A [m, k] or, with TRANS_A, the transpose of A stored as [k, m]; op(B) is B [k, n] or,
// with TRANS_B, the transpose of B stored as [n, k]. C is [m, ldc] and this launch
// writes columns n_offset .. n_offset + n (the launcher splits a B that exceeds one
// storage binding into column windows).
// Thread mapping: an 8x8 workgroup; each invocation owns a TM x TN register block of C,
// so a workgroup covers (8 TM) x (8 TN); grid = (ceil(n / 8TN), ceil(m / 8TM), batch).
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
const TM: u32 = 4u;
const TN: u32 = 4u;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> c: array<f32>;

fn a_at(base: u32, i: u32, kk: u32) -> f32 {
    if (TRANS_A) {
        return a[base + kk * p.m + i];
    }
    return a[base + i * p.k + kk];
}

fn b_at(base: u32, kk: u32, j: u32) -> f32 {
    if (TRANS_B) {
        return b[base + j * p.k + kk];
    }
    return b[base + kk * p.n + j];
}

@compute @workgroup_size(8, 8, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let row0 = gid.y * TM;
    let col0 = gid.x * TN;
    let batch = gid.z;
    if (row0 >= p.m || col0 >= p.n) {
        return;
    }
    let a_base = batch * p.a_batch_stride;
    let b_base = batch * p.b_batch_stride;
    // Clamp indices at the edges; the stores below are masked.
    var rows: array<u32, TM>;
    var cols: array<u32, TN>;
    for (var i = 0u; i < TM; i++) {
        rows[i] = min(row0 + i, p.m - 1u);
    }
    for (var j = 0u; j < TN; j++) {
        cols[j] = min(col0 + j, p.n - 1u);
    }
    var acc: array<f32, 16>;
    for (var kk = 0u; kk < p.k; kk++) {
        var av: array<f32, TM>;
        var bv: array<f32, TN>;
        for (var i = 0u; i < TM; i++) {
            av[i] = a_at(a_base, rows[i], kk);
        }
        for (var j = 0u; j < TN; j++) {
            bv[j] = b_at(b_base, kk, cols[j]);
        }
        for (var i = 0u; i < TM; i++) {
            for (var j = 0u; j < TN; j++) {
                acc[i * TN + j] = fma(av[i], bv[j], acc[i * TN + j]);
            }
        }
    }
    let c_base = batch * p.c_batch_stride + p.n_offset;
    for (var i = 0u; i < TM; i++) {
        for (var j = 0u; j < TN; j++) {
            if (row0 + i < p.m && col0 + j < p.n) {
                c[c_base + (row0 + i) * p.ldc + col0 + j] = acc[i * TN + j];
            }
        }
    }
}
