// conv2d_layout: the layout transforms around the implicit-GEMM convolution kernels.
//   to_padded_nhwc: NCHW src [n][c][h][w] -> dst [n][hp][wp][cv] of vec4 (channels padded
//     with zeros to 4*cv). dst row i reads src row (i - off_h) / ups_h when that is an
//     exact, in-range division, else zero (off_h is a signed i32 stored as u32 bits); the
//     same along the width. With ups = 1 this is zero padding (or cropping); with
//     ups = stride it also inserts stride-1 zeros between rows/columns (dX of a strided
//     convolution). to_padded_nhwc_texel: the same, reading src as a texel operand
//     (crates/tensor/src/texels.rs); to_padded_nhwc4: the same with four dst columns
//     and ROWS dst rows per invocation (vec4 loads and stores), for ups_w = 1 and
//     w % 4 == 0, or ups_w = 2 (UPS_W2). The launcher copies dst into a texel operand
//     where the implicit GEMM reads one.
//   weight_to_krsc: OIHW src [k][c][kh][kw] -> dst [kp][kh][kw][cv] of vec4; with FLIP the
//     roles of k and c swap and the kernel is rotated by 180 degrees:
//     dst[c][r][s][k] = src[k][c][kh-1-r][kw-1-s] (the weights of dX as a convolution).
//     Rows >= k (or c with FLIP) and channels beyond the source are zero.
//   dw_finish: sums the split partial weight gradients part[z][k][kh][kw][cv] (vec4s) and
//     writes OIHW dw[k][c][r][s].
//   phase_weights, interleave_phases: dX of a 3x3, stride-2, padding-1 convolution as four
//     stride-1 convolutions of dY, one per output phase (a, b) = (h % 2, w % 2):
//     dx[2i+a, 2j+b] = sum_k sum_{r',s'} dy[k, i+r', j+s'] * W_ab[c, k, r', s'] with
//     1 + a rows and 1 + b columns of taps (padding a at the bottom, b at the right):
//     phase_weights writes OIHW W_ab[c][k][r'][s'] = w[k][c][ra(r')][sb(s')], ra = 1 for
//     a = 0 and 2, 0 for a = 1 (likewise sb); interleave_phases writes the rows of phase
//     a of dx from the two phase outputs (a, 0) and (a, 1) (plus an accumulated gradient
//     with ACC). Derivation: docs/ops/conv2d.md.
// Thread mapping: one invocation per dst vec4 (transforms; four along W and ROWS down
// the plane for to_padded_nhwc4) or per part vec4 (finish);
// 1-D grids folded into 2-D (index gid.x + gid.y * nwg.x * WG).
// Launcher: crates/tensor/src/ops/conv2d.rs   Reference: crates/reference/src/conv2d.rs
struct PadParams {
    n: u32,
    c: u32,
    h: u32,
    w: u32,
    hp: u32,
    wp: u32,
    cv: u32,
    off_h: u32,
    off_w: u32,
    ups_h: u32,
    ups_w: u32,
    total: u32,
    wq: u32, // to_padded_nhwc4: column groups per row
    k0: u32, // to_padded_nhwc4 (ups_w = 1): first source vec4 column, floor(-off_w / 4) (i32 bits)
    last_vec4: u32, // to_padded_nhwc4: index of the source's last vec4
    hb: u32, // to_padded_nhwc4: blocks of ROWS dst rows per plane, ceil(hp / ROWS)
}

struct WeightParams {
    k: u32,
    c: u32,
    kh: u32,
    kw: u32,
    kp: u32,
    cv: u32,
    flip: u32,
    total: u32,
}

struct FinishParams {
    k: u32,
    c: u32,
    kh: u32,
    kw: u32,
    cp: u32,
    splits: u32,
    split_stride: u32,
    total: u32,
}

struct PhaseParams {
    n: u32,
    c: u32, // dx channels (the forward's input channels)
    k: u32, // dy channels
    a: u32, // the phase's row parity (interleave: the rows it writes)
    b: u32, // the phase's column parity (phase_weights)
    h2: u32, // phase rows (H / 2) and columns (W / 2)
    w2: u32,
    total: u32,
}

override WG: u32 = 64u;

@group(0) @binding(0) var<uniform> pp: PadParams;
@group(0) @binding(1) var<storage, read> psrc: array<f32>;
@group(0) @binding(2) var<storage, read_write> pdst: array<vec4<f32>>;

@group(0) @binding(0) var<uniform> wp: WeightParams;
@group(0) @binding(1) var<storage, read> wsrc: array<f32>;
@group(0) @binding(2) var<storage, read_write> wdst: array<vec4<f32>>;

@group(0) @binding(0) var<uniform> fp: FinishParams;
@group(0) @binding(1) var<storage, read> fpart4: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> fdw: array<f32>;

// Source index along one axis for dst index i, or -1 outside / between samples.
fn src_coord(i: u32, off: u32, ups: u32, size: u32) -> i32 {
    let t = i32(i) - bitcast<i32>(off);
    if (t < 0 || u32(t) % ups != 0u) {
        return -1;
    }
    let s = u32(t) / ups;
    if (s >= size) {
        return -1;
    }
    return i32(s);
}

// a / d for a < 2^23: a float division and one correction step. lavapipe runs a u32
// division as 8 scalar divisions (one per lane); this is one vector division.
fn div_small(a: u32, d: u32) -> u32 {
    var q = u32(f32(a) / f32(d));
    if (q * d > a) {
        q -= 1u;
    } else if ((q + 1u) * d <= a) {
        q += 1u;
    }
    return q;
}

// SMALL_INDEX (pp.total < 2^23) picks div_small at pipeline creation: lavapipe runs both
// sides of an `if` (masked), so a runtime choice would pay for the scalar divisions too.
override SMALL_INDEX: bool = false;

fn div(a: u32, d: u32) -> u32 {
    if (SMALL_INDEX) {
        return div_small(a, d);
    }
    return a / d;
}

// Source index along one axis for dst index i, or -1 outside / between samples.
fn src_coord_fast(i: u32, off: u32, ups: u32, size: u32) -> i32 {
    if (ups == 1u) {
        let t = i32(i) - bitcast<i32>(off);
        if (t < 0 || u32(t) >= size) {
            return -1;
        }
        return t;
    }
    return src_coord(i, off, ups, size);
}

// The dst vec4 idx of to_padded_nhwc: its dst index and the src index of its first
// channel (-1 where it is padding), with the channel-block index cvi.
struct PadSlot {
    dst: u32,
    src: i32,
    cvi: u32,
}

fn pad_slot(idx: u32) -> PadSlot {
    // Width fastest, so neighbouring lanes read neighbouring source elements.
    let q1 = div(idx, pp.wp);
    let j = idx - q1 * pp.wp;
    let q2 = div(q1, pp.cv);
    let cvi = q1 - q2 * pp.cv;
    let n = div(q2, pp.hp);
    let i = q2 - n * pp.hp;
    let sr = src_coord_fast(i, pp.off_h, pp.ups_h, pp.h);
    let sc = src_coord_fast(j, pp.off_w, pp.ups_w, pp.w);
    var src = -1;
    if (sr >= 0 && sc >= 0) {
        src = i32(n * pp.c * pp.h * pp.w + u32(sr) * pp.w + u32(sc));
    }
    return PadSlot(((n * pp.hp + i) * pp.wp + j) * pp.cv + cvi, src, cvi);
}

@compute @workgroup_size(WG)
fn to_padded_nhwc(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let idx = gid.x + gid.y * nwg.x * WG;
    if (idx >= pp.total) {
        return;
    }
    let slot = pad_slot(idx);
    var v = vec4<f32>(0.0);
    if (slot.src >= 0) {
        let plane = pp.h * pp.w;
        for (var q = 0u; q < 4u; q++) {
            let c = slot.cvi * 4u + q;
            if (c < pp.c) {
                v[q] = psrc[u32(slot.src) + c * plane];
            }
        }
    }
    pdst[slot.dst] = v;
}

// to_padded_nhwc reading the source as a texel operand (crates/tensor/src/texels.rs):
// element e is component e % 4 of texel e / 4.
override TEX_SHIFT: u32 = 12u;
@group(0) @binding(1) var ptex: texture_storage_2d<rgba32float, read>;

fn texel_elem(e: u32) -> f32 {
    let t = e >> 2u;
    let v = textureLoad(ptex, vec2<u32>(t & ((1u << TEX_SHIFT) - 1u), t >> TEX_SHIFT));
    let k = e & 3u;
    return select(select(v.x, v.y, k == 1u), select(v.z, v.w, k == 3u), k >= 2u);
}

// The four channels cvi*4 .. +3 of a pad slot's source pixel (zero past c or in padding),
// without a loop: lavapipe keeps a vector written at a loop index in memory.
fn slot_texels(slot: PadSlot) -> vec4<f32> {
    let plane = pp.h * pp.w;
    let c0 = slot.cvi * 4u;
    let src = u32(max(slot.src, 0));
    let ok = slot.src >= 0;
    return vec4<f32>(
        select(0.0, texel_elem(src + c0 * plane), ok && c0 < pp.c),
        select(0.0, texel_elem(src + (c0 + 1u) * plane), ok && c0 + 1u < pp.c),
        select(0.0, texel_elem(src + (c0 + 2u) * plane), ok && c0 + 2u < pp.c),
        select(0.0, texel_elem(src + (c0 + 3u) * plane), ok && c0 + 3u < pp.c));
}

@compute @workgroup_size(WG)
fn to_padded_nhwc_texel(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let idx = gid.x + gid.y * nwg.x * WG;
    if (idx >= pp.total) {
        return;
    }
    let slot = pad_slot(idx);
    let v = slot_texels(slot);
    pdst[slot.dst] = v;
}

// The source as vec4s (to_padded_nhwc4).
@group(0) @binding(1) var<storage, read> psrc4: array<vec4<f32>>;

override ROWS: u32 = 8u;

// to_padded_nhwc4: four columns and ROWS dst rows per invocation, in two forms.
// - ups_w = 1 and w % 4 == 0: the invocation takes source vec4 column k = jq + k0 (source
//   columns 4k .. 4k + 3, one aligned vec4 per channel and row, zero outside the source)
//   to dst columns 4k + off_w .. + 3 (those inside 0 .. wp); k runs from k0 =
//   floor(-off_w / 4) so that every dst column, padding included, is written once.
// - UPS_W2: dst columns 4 jq .. + 3 (upsampled_window below).
// Each invocation walks ROWS dst rows down its column group, so its index arithmetic is
// paid once per ROWS rows; per row 4 vec4 loads (8 for UPS_W2) and 4 vec4 stores.
@compute @workgroup_size(WG)
fn to_padded_nhwc4(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let idx = gid.x + gid.y * nwg.x * WG;
    if (idx >= pp.total) {
        return;
    }
    // idx = ((n * hb + ib) * cv + cvi) * wq + jq: column groups fastest.
    let q1 = div(idx, pp.wq);
    let jq = idx - q1 * pp.wq;
    let q2 = div(q1, pp.cv);
    let cvi = q1 - q2 * pp.cv;
    let n = div(q2, pp.hb);
    let ib = q2 - n * pp.hb;
    let off_w = bitcast<i32>(pp.off_w);
    let k = i32(jq) + bitcast<i32>(pp.k0); // source vec4 column (ups_w = 1)
    var j0 = 4 * k + off_w;
    if (UPS_W2) {
        j0 = i32(jq) * 4;
    }
    let k_in = k >= 0 && k < i32(pp.w / 4u);
    let plane = pp.h * pp.w;
    // Element of (n, channel cvi * 4, row 0, column 0).
    let e_n = i32(n * pp.c * plane + cvi * 4u * plane);
    let i_end = min(ib * ROWS + ROWS, pp.hp);
    for (var i = ib * ROWS; i < i_end; i++) {
        let sr = src_coord_fast(i, pp.off_h, pp.ups_h, pp.h);
        let e0 = e_n + i32(u32(max(sr, 0)) * pp.w);
        var w0: vec4<f32>;
        var w1: vec4<f32>;
        var w2: vec4<f32>;
        var w3: vec4<f32>;
        if (UPS_W2) {
            let sc0 = j0 - off_w;
            w0 = upsampled_window(e0, 0u, cvi, sc0, sr >= 0, plane);
            w1 = upsampled_window(e0, 1u, cvi, sc0, sr >= 0, plane);
            w2 = upsampled_window(e0, 2u, cvi, sc0, sr >= 0, plane);
            w3 = upsampled_window(e0, 3u, cvi, sc0, sr >= 0, plane);
        } else {
            let t = u32(e0 / 4 + max(k, 0));
            let ok = k_in && sr >= 0;
            w0 = aligned_vec4(t, 0u, cvi, ok, plane);
            w1 = aligned_vec4(t, 1u, cvi, ok, plane);
            w2 = aligned_vec4(t, 2u, cvi, ok, plane);
            w3 = aligned_vec4(t, 3u, cvi, ok, plane);
        }
        let row = (n * pp.hp + i) * pp.wp;
        store_column(row, j0, cvi, vec4<f32>(w0.x, w1.x, w2.x, w3.x));
        store_column(row, j0 + 1, cvi, vec4<f32>(w0.y, w1.y, w2.y, w3.y));
        store_column(row, j0 + 2, cvi, vec4<f32>(w0.z, w1.z, w2.z, w3.z));
        store_column(row, j0 + 3, cvi, vec4<f32>(w0.w, w1.w, w2.w, w3.w));
    }
}

// Channel cvi * 4 + q's source vec4 t (of channel cvi * 4; zero where not ok or past the
// channels). Written without loops or dynamic indices: lavapipe keeps such arrays in
// memory and runs both sides of every `if`.
fn aligned_vec4(t: u32, q: u32, cvi: u32, ok: bool, plane: u32) -> vec4<f32> {
    let v = psrc4[min(t + q * (plane / 4u), pp.last_vec4)];
    return select(vec4<f32>(0.0), v, ok && cvi * 4u + q < pp.c);
}

// UPS_W2 (ups_w = 2, any w): of the four dst columns j0 + t, the two with t - off_w even
// hold source columns sa = (sc0 + t) / 2 and sa + 1, read from the texel holding sa and the
// next one (sa's component differs from invocation to invocation); the others are the
// inserted zeros.
override UPS_W2: bool = false;

fn upsampled_window(e0: i32, q: u32, cvi: u32, sc0: i32, row_ok: bool, plane: u32) -> vec4<f32> {
    let odd = (sc0 & 1) != 0; // the first source column sits at t = 1 (else t = 0)
    let sa = (sc0 + select(0, 1, odd)) / 2; // even numerator: exact for negative values too
    let e = e0 + i32(q * plane) + sa;
    let t = e >> 2u;
    let k = u32(e & 3);
    let a = psrc4[u32(max(t, 0))];
    let b = psrc4[min(u32(max(t + 1, 0)), pp.last_vec4)];
    let ok = row_ok && cvi * 4u + q < pp.c;
    let va = select(0.0, pick5(a, b, k), ok && sa >= 0 && sa < i32(pp.w));
    let vb = select(0.0, pick5(a, b, k + 1u), ok && sa + 1 >= 0 && sa + 1 < i32(pp.w));
    return select(vec4<f32>(va, 0.0, vb, 0.0), vec4<f32>(0.0, va, 0.0, vb), odd);
}

// Component k (0..4) of a followed by b.
fn pick5(a: vec4<f32>, b: vec4<f32>, k: u32) -> f32 {
    let lo = select(select(a.x, a.y, k == 1u), select(a.z, a.w, k == 3u), k >= 2u);
    return select(lo, b.x, k == 4u);
}

fn store_column(row: u32, j: i32, cvi: u32, v: vec4<f32>) {
    if (j >= 0 && j < i32(pp.wp)) {
        pdst[(row + u32(j)) * pp.cv + cvi] = v;
    }
}

@compute @workgroup_size(WG)
fn weight_to_krsc(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let idx = gid.x + gid.y * nwg.x * WG;
    if (idx >= wp.total) {
        return;
    }
    let cvi = idx % wp.cv;
    let s = (idx / wp.cv) % wp.kw;
    let r = (idx / (wp.cv * wp.kw)) % wp.kh;
    let kd = idx / (wp.cv * wp.kw * wp.kh);
    var v = vec4<f32>(0.0);
    for (var q = 0u; q < 4u; q++) {
        let cd = cvi * 4u + q;
        var o = kd;
        var i = cd;
        var rr = r;
        var ss = s;
        if (wp.flip != 0u) {
            o = cd;
            i = kd;
            rr = wp.kh - 1u - r;
            ss = wp.kw - 1u - s;
        }
        if (o < wp.k && i < wp.c) {
            v[q] = wsrc[((o * wp.c + i) * wp.kh + rr) * wp.kw + ss];
        }
    }
    wdst[idx] = v;
}

@compute @workgroup_size(WG)
fn dw_finish(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    // One invocation per vec4 (k, r, s, c/4) of part: the splits' vec4s summed, then the
    // 4 channels written to their OIHW places (a quarter of the loads of one per element).
    let idx = gid.x + gid.y * nwg.x * WG;
    if (idx >= fp.total) {
        return;
    }
    let cv = fp.cp / 4u;
    let rs_n = fp.kh * fp.kw;
    let j = idx % (rs_n * cv);
    let k = idx / (rs_n * cv);
    let c4 = j % cv;
    let rs = j / cv;
    var acc = vec4<f32>(0.0);
    for (var z = 0u; z < fp.splits; z++) {
        acc += fpart4[z * (fp.split_stride / 4u) + idx];
    }
    for (var q = 0u; q < 4u; q++) {
        let c = c4 * 4u + q;
        if (c < fp.c) {
            fdw[(k * fp.c + c) * rs_n + rs] = acc[q];
        }
    }
}

@group(0) @binding(0) var<uniform> php: PhaseParams;
@group(0) @binding(1) var<storage, read> ph_w: array<f32>;
@group(0) @binding(2) var<storage, read_write> ph_wout: array<f32>;

// Kernel row (column) of the forward's 3x3 weight that tap t of parity a reads.
fn phase_tap(a: u32, t: u32) -> u32 {
    return select(1u, 2u - 2u * t, a == 1u);
}

@compute @workgroup_size(WG)
fn phase_weights(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    // One invocation per element of W_ab [c][k][1 + a][1 + b].
    let idx = gid.x + gid.y * nwg.x * WG;
    if (idx >= php.total) {
        return;
    }
    let th = 1u + php.a;
    let tw = 1u + php.b;
    let s = idx % tw;
    let r = (idx / tw) % th;
    let k = (idx / (tw * th)) % php.k;
    let c = idx / (tw * th * php.k);
    ph_wout[idx] = ph_w[((k * php.c + c) * 3u + phase_tap(php.a, r)) * 3u + phase_tap(php.b, s)];
}

@group(0) @binding(1) var<storage, read> ph_even: array<f32>; // phase (a, 0)
@group(0) @binding(2) var<storage, read> ph_odd: array<f32>; // phase (a, 1)
@group(0) @binding(3) var<storage, read> ph_acc: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read_write> ph_dx: array<vec4<f32>>;

// ACC: add the gradient already accumulated for x (bound at ph_acc) in the store.
override ACC: bool = false;

@compute @workgroup_size(WG)
fn interleave_phases(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    // One invocation per dx vec4 of the rows 2i + a: columns 4q .. 4q + 3, which are
    // phase columns 2q (b = 0, 1) and 2q + 1 (b = 0, 1).
    let idx = gid.x + gid.y * nwg.x * WG;
    if (idx >= php.total) {
        return;
    }
    let wq = php.w2 / 2u;
    let q = idx % wq;
    let plane_row = idx / wq; // (n * c + ch) * h2 + i
    let i = plane_row % php.h2;
    let plane = plane_row / php.h2;
    let e = plane_row * php.w2 + 2u * q;
    var v = vec4<f32>(ph_even[e], ph_odd[e], ph_even[e + 1u], ph_odd[e + 1u]);
    let d = ((plane * php.h2 + i) * 2u + php.a) * wq + q; // dx vec4: row 2i + a, 2 * w2 = W wide
    if (ACC) {
        v += ph_acc[d];
    }
    ph_dx[d] = v;
}
