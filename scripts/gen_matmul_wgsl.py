#!/usr/bin/env python3
"""Writes shaders/matmul.wgsl and shaders/matmul_subgroup.wgsl: unrolled register blocks,
each with two entry points, `main` (scalar loads: any shape) and `main_vec4` (vec4 loads
along each operand's contiguous dimension, for shapes where that is a multiple of 4).
Usage (the committed files): python3 scripts/gen_matmul_wgsl.py shaders 16 16 8"""
import sys

PARAMS = """struct Params {
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
}"""

BINDINGS = """@group(0) @binding(0) var<uniform> p: Params;
// `main` reads A and B as scalars; `main_vec4` reads the same buffers as vec4s.
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(1) var<storage, read> a4: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> b4: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> c: array<f32>;"""

HELPERS = """// Element (i, kk) of op(A) is A[base + i * sa.x + kk * sa.y]; element (kk, j) of op(B)
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
}"""

KSTEP = """    for (var k0 = 0u; k0 < p.k; k0 += 4u) {
        let kq = step_k(k0);
        let ok = step_ok(k0);"""


def emit_a_setup(w, tm, vec4):
    """Offsets of this invocation's tm rows of op(A) (rows clamped to the last)."""
    if not vec4:
        for i in range(tm):
            w(f"    let ar{i} = a_base + min(row0 + {i}u, p.m - 1u) * sa.x;")
    else:
        w("    // TRANS_A: vec4s of 4 rows at one k (quads clamped to the last); else vec4s")
        w("    // of 4 k of one row.")
        for h in range(tm // 4):
            w(f"    let aq{h} = a_base + min(row0 + {4*h}u, p.m - 4u);")
        for i in range(tm):
            w(f"    let ar{i} = a_base + min(row0 + {i}u, p.m - 1u) * p.k;")


def emit_a_step(w, tm, vec4):
    """Defines at{h}: mat4x4 whose [kk][r] is op(A)[row 4h + r][k0 + kk]."""
    if not vec4:
        w("        let oa = kq * sa.y;")
        for i in range(tm):
            w(f"        let a{i} = load_a(ar{i}, oa, ok);")
        for h in range(tm // 4):
            w(f"        let at{h} = transpose(mat4x4<f32>(a{4*h}, a{4*h+1}, a{4*h+2}, a{4*h+3}));")
        return
    for h in range(tm // 4):
        w(f"        var at{h}: mat4x4<f32>;")
    w("        if (TRANS_A) {")
    for h in range(tm // 4):
        cols = ", ".join(f"load_a4(aq{h} + kq[{kk}] * p.m, ok[{kk}])" for kk in range(4))
        w(f"            at{h} = mat4x4<f32>(")
        for kk in range(4):
            w(f"                load_a4(aq{h} + kq.{'xyzw'[kk]} * p.m, ok.{'xyzw'[kk]}),")
        w("            );")
    w("        } else {")
    for h in range(tm // 4):
        w(f"            at{h} = transpose(mat4x4<f32>(")
        for r in range(4):
            w(f"                load_a4(ar{4*h+r} + k0, true),")
        w("            ));")
    w("        }")


def portable_b_setup(w, tn, vec4):
    if not vec4:
        for j in range(tn):
            w(f"    let bc{j} = b_base + min(col0 + {j}u, p.n - 1u) * sb.x;")
    else:
        w("    // TRANS_B: vec4s of 4 k of one column; else vec4s of 4 columns at one k.")
        for j in range(tn):
            w(f"    let bc{j} = b_base + min(col0 + {j}u, p.n - 1u) * p.k;")
        for q in range(tn // 4):
            w(f"    let bq{q} = b_base + min(col0 + {4*q}u, p.n - 4u);")


def portable_b_step(w, tn, vec4):
    """Defines bm{q}: mat4x4 whose [e][kk] is op(B)[k0 + kk][col 4q + e]."""
    if not vec4:
        w("        let ob = kq * sb.y;")
        for j in range(tn):
            w(f"        let b{j} = load_b(bc{j}, ob, ok);")
        for q in range(tn // 4):
            w(f"        let bm{q} = mat4x4<f32>(b{4*q}, b{4*q+1}, b{4*q+2}, b{4*q+3});")
        return
    for q in range(tn // 4):
        w(f"        var bm{q}: mat4x4<f32>;")
    w("        if (TRANS_B) {")
    for q in range(tn // 4):
        w(f"            bm{q} = mat4x4<f32>(")
        for e in range(4):
            w(f"                load_b4(bc{4*q+e} + k0, true),")
        w("            );")
    w("        } else {")
    for q in range(tn // 4):
        w(f"            bm{q} = transpose(mat4x4<f32>(")
        for kk in range(4):
            w(f"                load_b4(bq{q} + kq.{'xyzw'[kk]} * p.n, ok.{'xyzw'[kk]}),")
        w("            ));")
    w("        }")


def emit_stores(w, rq, cq, poison=False, col_guard=False):
    for h in range(rq):
        for r in range(4):
            i = 4 * h + r
            w(f"    if (row0 + {i}u < p.m) {{")
            w(f"        let cr = c_base + (row0 + {i}u) * p.ldc;")
            for q in range(cq):
                v = f"transpose(acc[{h*cq+q}])[{r}]"
                if poison:
                    v = f"select({v}, nan, bad)"
                if col_guard and q >= 4:
                    w(f"        if ({q}u < COL_QUADS) {{")
                    w(f"            store4(cr, col0 + {4*q}u, {v});")
                    w("        }")
                else:
                    w(f"        store4(cr, col0 + {4*q}u, {v});")
            w("    }")


def portable_entry(w, tm, tn, vec4):
    rq, cq = tm // 4, tn // 4
    name = "main_vec4" if vec4 else "main"
    w("")
    w("@compute @workgroup_size(8, 8, 1)")
    w(f"fn {name}(@builtin(global_invocation_id) gid: vec3<u32>) {{")
    w(f"    let row0 = gid.y * {tm}u;")
    w(f"    let col0 = gid.x * {tn}u;")
    w("    if (row0 >= p.m || col0 >= p.n) {")
    w("        return;")
    w("    }")
    if not vec4:
        w("    let sa = a_strides();")
        w("    let sb = b_strides();")
    w("    let a_base = gid.z * p.a_batch_stride;")
    w("    let b_base = gid.z * p.b_batch_stride;")
    w("    // Rows and columns past the edge are clamped for the loads; their results are not stored.")
    emit_a_setup(w, tm, vec4)
    portable_b_setup(w, tn, vec4)
    w(f"    // acc[h * {cq} + q][e][r] = C[row0 + 4h + r][col0 + 4q + e].")
    w(f"    var acc: array<mat4x4<f32>, {rq * cq}>;")
    w(KSTEP)
    emit_a_step(w, tm, vec4)
    portable_b_step(w, tn, vec4)
    for q in range(cq):
        for h in range(rq):
            w(f"        acc[{h*cq+q}] += at{h} * bm{q};")
    w("    }")
    w("    let c_base = gid.z * p.c_batch_stride + p.n_offset;")
    emit_stores(w, rq, cq)
    w("}")


def portable(tm, tn):
    rq, cq = tm // 4, tn // 4
    L = []
    w = L.append
    w(f"""// matmul (portable path): C[b] = op(A[b]) * op(B[b]) for b in 0..batch. op(A) is A [m, k]
// or, with TRANS_A, the transpose of A stored as [k, m]; op(B) is B [k, n] or, with
// TRANS_B, the transpose of B stored as [n, k]; a 2-d operand shared by all batches has
// batch stride 0. C is [m, ldc]; a launch writes columns n_offset .. n_offset + n (the
// launcher splits a B larger than one storage binding into column windows).
// Thread mapping: an 8x8 workgroup; each invocation owns a {tm}x{tn} register block of C
// ({rq}x{cq} mat4x4 accumulators), so a workgroup covers {8*tm}x{8*tn}; grid = (ceil(n / {8*tn}),
// ceil(m / {8*tm}), batch). Per step of 4 k an invocation loads {tm} + {tn} vec4s of A and B and does
// {rq*cq} 4x4x4 matrix products. Entry points: `main` loads scalars (any shape, any k);
// `main_vec4` loads vec4s along each operand's contiguous dimension, and needs it (k, or
// m for TRANS_A, n without TRANS_B) to be a multiple of 4 (the launcher checks).
// The block is written out in full: every private-array index must be a constant (a
// dynamically indexed private array becomes memory on lavapipe), and there the
// per-invocation loads, not the FMAs, set the speed (shadernet LAVAPIPE.md).
// No subgroup operations and no workgroup memory: runs on every adapter.
// Launcher: crates/tensor/src/ops/matmul.rs   Reference: crates/reference/src/matmul.rs
{PARAMS}

override TRANS_A: bool = false;
override TRANS_B: bool = false;

{BINDINGS}

{HELPERS}""")
    portable_entry(w, tm, tn, False)
    portable_entry(w, tm, tn, True)
    return "\n".join(L) + "\n"


def subgroup_entry(w, tm, tn, vec4):
    rq, cq = tm // 4, tn // 4
    nslot = tn // 8
    S = "SUBGROUP_SIZE"
    name = "main_vec4" if vec4 else "main"
    w("")
    w(f"@compute @workgroup_size({S}, 1, 1)")
    w(f"fn {name}(")
    w("    @builtin(workgroup_id) wid: vec3<u32>,")
    w("    @builtin(subgroup_invocation_id) lane: u32,")
    w("    @builtin(subgroup_size) sg_size: u32,")
    w(") {")
    w(f"    let row0 = wid.y * ({S} * {tm}u) + lane * {tm}u;")
    w(f"    let col0 = wid.x * (4u * COL_QUADS);")
    if not vec4:
        w("    let sa = a_strides();")
        w("    let sb = b_strides();")
    w("    let a_base = wid.z * p.a_batch_stride;")
    w("    let b_base = wid.z * p.b_batch_stride;")
    w("    // Rows and columns past the edge are clamped for the loads; their results are not stored.")
    emit_a_setup(w, tm, vec4)
    if not vec4:
        w(f"    // What this lane loads of B (S = {S}, W = 4 COL_QUADS columns): slot s is column")
        w(f"    // col0 + s * S + lane, for the slots s * S < W; column j is then in slot j / S of")
        w(f"    // lane j % S.")
        for s in range(nslot):
            w(f"    let bc{s} = b_base + min(col0 + {s}u * {S} + lane, p.n - 1u) * sb.x;")
    else:
        w(f"    // What this lane loads of B (S = {S}, Q = COL_QUADS): slot s holds t = s * S + lane,")
        w(f"    // for the slots s * S < 4 Q. TRANS_B: column col0 + t, 4 k (column j is then in")
        w(f"    // slot j / S of lane j % S). Else: columns col0 + 4 (t % Q) .. + 3 at k0 + t / Q (so")
        w(f"    // columns 4q .. 4q + 3 at k0 + kk are in slot t / S of lane t % S, t = Q kk + q).")
        for s in range(nslot):
            w(f"    let t{s} = {s}u * {S} + lane;")
            w(f"    let bc{s} = b_base + min(col0 + t{s}, p.n - 1u) * p.k;")
            w(f"    let bq{s} = b_base + min(col0 + 4u * (t{s} % COL_QUADS), p.n - 4u);")
    w(f"    // acc[h * {cq} + q][e][r] = C[row0 + 4h + r][col0 + 4q + e].")
    w(f"    var acc: array<mat4x4<f32>, {rq * cq}>;")
    w(KSTEP)
    emit_a_step(w, tm, vec4)
    if not vec4:
        w("        let ob = kq * sb.y;")
    w(f"        var bs: array<vec4<f32>, {nslot}>;")
    for s in range(nslot):
        ind = "        " if s == 0 else "            "
        if s > 0:
            w(f"        if ({s}u * {S} < 4u * COL_QUADS) {{")
        if not vec4:
            w(f"{ind}bs[{s}] = load_b(bc{s}, ob, ok);")
        else:
            w(f"{ind}if (TRANS_B) {{")
            w(f"{ind}    bs[{s}] = load_b4(bc{s} + k0, true);")
            w(f"{ind}}} else {{")
            w(f"{ind}    let kk = t{s} / COL_QUADS;")
            w(f"{ind}    bs[{s}] = load_b4(bq{s} + kq[kk] * p.n, ok[kk]);")
            w(f"{ind}}}")
        if s > 0:
            w("        }")
    for q in range(cq):
        guard = q >= 4
        if guard:
            w(f"        if ({q}u < COL_QUADS) {{")
        ind = "            " if guard else "        "
        if not vec4:
            w(f"{ind}let bm{q} = mat4x4<f32>(")
            for e_ in range(4):
                j = 4 * q + e_
                w(f"{ind}    subgroupShuffle(bs[{j}u / {S}], {j}u % {S}),")
            w(f"{ind});")
        else:
            w(f"{ind}var bm{q}: mat4x4<f32>;")
            w(f"{ind}if (TRANS_B) {{")
            w(f"{ind}    bm{q} = mat4x4<f32>(")
            for e_ in range(4):
                j = 4 * q + e_
                w(f"{ind}        subgroupShuffle(bs[{j}u / {S}], {j}u % {S}),")
            w(f"{ind}    );")
            w(f"{ind}}} else {{")
            w(f"{ind}    bm{q} = transpose(mat4x4<f32>(")
            for kk in range(4):
                t = f"{kk}u * COL_QUADS + {q}u" if kk else f"{q}u"
                w(f"{ind}        subgroupShuffle(")
                w(f"{ind}            bs[({t}) / {S}],")
                w(f"{ind}            ({t}) % {S},")
                w(f"{ind}        ),")
            w(f"{ind}    ));")
            w(f"{ind}}}")
        for h in range(rq):
            w(f"{ind}acc[{h*cq+q}] += at{h} * bm{q};")
        if guard:
            w("        }")
    w("    }")
    w("    // Compiled for another subgroup size than the one it runs with: store NaN.")
    w(f"    let bad = sg_size != {S};")
    w("    let nan = vec4<f32>(bitcast<f32>(0x7fc00000u | p._pad0));")
    w("    let c_base = wid.z * p.c_batch_stride + p.n_offset;")
    emit_stores(w, rq, cq, poison=True, col_guard=True)
    w("}")


def subgroup(tm):
    tn = 64
    rq, cq = tm // 4, tn // 4
    L = []
    w = L.append
    w(f"""// matmul (subgroup path): C[b] = op(A[b]) * op(B[b]), the same problem, Params, bindings
// and entry points (`main`: scalar loads, any shape; `main_vec4`: vec4 loads along the
// contiguous dimensions, which must be multiples of 4) as matmul.wgsl, for adapters with
// subgroup operations. S below is SUBGROUP_SIZE.
// Thread mapping: one subgroup of S lanes per workgroup. S is the adapter's subgroup
// size: the launcher picks this kernel only where subgroup_min_size == max_size, and
// the kernel stores NaN if the size it runs with differs. Lane l owns rows
// row0 + {tm}l .. row0 + {tm}l + {tm - 1} and all {tn} columns of the workgroup's block: {tm * tn}
// accumulators ({rq}x{cq} mat4x4). A workgroup covers S * {tm} rows x 4 COL_QUADS columns of C
// ({tn}, or fewer for narrow products); grid = (ceil(n / (4 COL_QUADS)), ceil(m / (S * {tm})),
// batch).
// Per step of 4 k a lane loads its {tm} rows of op(A) (4 k each) and a 1/S share of the
// step's 4 x {tn} block of op(B) ({tn} / S vec4s); all of it then reaches every lane through
// subgroupShuffle with a constant lane: a broadcast (naga wants subgroupBroadcast's lane
// to be a const-expression, which S, an override, is not). Each element of A and B is
// thus loaded once per workgroup: on lavapipe every storage load is a per-lane scalar
// loop, and loads, not FMAs, set the speed (shadernet LAVAPIPE.md).
// The block is written out in full: every private-array index is a constant once S is
// known (a dynamically indexed private array becomes memory on lavapipe).
// Launcher: crates/tensor/src/ops/matmul.rs   Reference: crates/reference/src/matmul.rs
{PARAMS}

override TRANS_A: bool = false;
override TRANS_B: bool = false;
// Subgroup size: 8, 16, 32 or 64.
override SUBGROUP_SIZE: u32 = 8u;
// Column quads per workgroup: 16 (64 columns), or 8 / 4 for narrow products (n <= 32 /
// n <= 16), which would otherwise leave most of a 64-column block idle.
override COL_QUADS: u32 = 16u;

{BINDINGS}

{HELPERS}""")
    subgroup_entry(w, tm, tn, False)
    subgroup_entry(w, tm, tn, True)
    return "\n".join(L) + "\n"


if __name__ == "__main__":
    out = sys.argv[1]
    tm, tn = int(sys.argv[2]), int(sys.argv[3])
    stm = int(sys.argv[4])
    open(f"{out}/matmul.wgsl", "w").write(portable(tm, tn))
    open(f"{out}/matmul_subgroup.wgsl", "w").write(subgroup(stm))
