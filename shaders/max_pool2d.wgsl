// max_pool2d: y[plane, oh, ow] = max of x[plane] over the dilated window starting at
// (oh*sh - ph, ow*sw - pw); padding never wins (acts as -inf). idx = ih*w + iw of the
// winner: the first maximum in row-major scan order, or the last NaN (PyTorch's rule);
// 0xffffffff for a window with no in-image tap. `backward` gathers, for each input
// element, the dy of every output window covering it whose idx points at it (no
// atomics, no races), summed in output raster order like a sequential scatter.
// Thread mapping: main, one invocation per output element (main_row4: four along a row,
// window rows read as vec4s; main_cols4: four along a row, walking down the plane and
// keeping the window rows the next output row shares); backward, one per input element
// (backward_cols8: eight columns of a plane with DIL1, walking down it; backward_3x3s2:
// the same for the ResNet stem's 3x3 stride-2 window, its few windows per element written
// out); 1-D grid folded
// into 2-D. The generic kernels take the window geometry as override constants (KH, KW,
// SH, SW, DIL1: fixed tap loops, no data-dependent bounds) and divide indices in f32
// where they are small (SMALL_INDEX). The backward visits only the windows that can
// cover the element (ceil(k / s) rows and (k + 2) / s + 1 columns per four elements
// with dilation 1, each tap otherwise), oh and ow ascending.
// Launcher: crates/tensor/src/ops/pool.rs   Reference: crates/reference/src/pool.rs
struct Params {
    planes: u32,
    h: u32,
    w: u32,
    ho: u32,
    wo: u32,
    kh: u32,
    kw: u32,
    sh: u32,
    sw: u32,
    ph: u32,
    pw: u32,
    dh: u32,
    dw: u32,
    x_base: u32, // element offsets of the bound windows: x (or dx), y (or dy), idx
    y_base: u32,
    i_base: u32,
    inv_wo: f32,
    inv_plane_out: f32, // 1 / (ho * wo)
    inv_w: f32,
    inv_plane_in: f32, // 1 / (h * w)
    inv_sh: f32,
    inv_sw: f32,
    _pad0: u32,
    _pad1: u32,
}

override WG: u32 = 256u;

@group(0) @binding(0) var<uniform> p: Params;
// `main` reads x from a storage buffer, or specialized with TEXELS from a texel operand
// holding the whole tensor (crates/tensor/src/texels.rs says when each is faster;
// Device::stream_reads measures it).
// #if TEXELS
override TEX_SHIFT: u32 = 12u;
@group(0) @binding(1) var x_tex: texture_storage_2d<rgba32float, read>;

fn x_at(e: u32) -> f32 {
    let t = e >> 2u;
    return textureLoad(x_tex, vec2<u32>(t & ((1u << TEX_SHIFT) - 1u), t >> TEX_SHIFT))[e & 3u];
}

fn x_vec4(t: u32) -> vec4<f32> {
    return textureLoad(x_tex, vec2<u32>(t & ((1u << TEX_SHIFT) - 1u), t >> TEX_SHIFT));
}
// #else
@group(0) @binding(1) var<storage, read> x: array<f32>;

fn x_at(e: u32) -> f32 {
    return x[e];
}

// (x4: the vec4 view of x that main2x2 reads, declared below)
fn x_vec4(t: u32) -> vec4<f32> {
    return x4[t];
}
// #endif
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
@group(0) @binding(3) var<storage, read_write> idx: array<u32>;

// a / b for b > 0 and a < 2^30, with inv = 1/b: float estimate, then exact correction.
fn udiv(a: u32, b: u32, inv: f32) -> u32 {
    var q = u32(f32(a) * inv);
    loop {
        if (q * b <= a) { break; }
        q -= 1u;
    }
    loop {
        if ((q + 1u) * b > a) { break; }
        q += 1u;
    }
    return q;
}

fn is_nan(v: f32) -> bool {
    return (bitcast<u32>(v) & 0x7fffffffu) > 0x7f800000u;
}

// The window geometry, specialized at pipeline creation where the launcher knows it
// (0: read it from the params). With fixed trip counts the tap loops below have no
// data-dependent bounds (lavapipe runs a loop until its slowest lane is done, masked).
//   KH, KW, SH, SW: kernel and stride; DIL1: dilation 1 along both axes (the backward's
//   fixed-count window search needs it); SMALL_INDEX: every element index below 2^24, so
//   index divisions run in f32 (exact after one correction step) instead of the scalar
//   u32 division of CPU drivers.
override KH: u32 = 0u;
override KW: u32 = 0u;
override SH: u32 = 0u;
override SW: u32 = 0u;
override DIL1: bool = false;
override SMALL_INDEX: bool = false;

fn kernel_h() -> u32 {
    if (KH != 0u) { return KH; }
    return p.kh;
}

fn kernel_w() -> u32 {
    if (KW != 0u) { return KW; }
    return p.kw;
}

fn stride_h() -> u32 {
    if (SH != 0u) { return SH; }
    return p.sh;
}

fn stride_w() -> u32 {
    if (SW != 0u) { return SW; }
    return p.sw;
}

fn dil_h() -> u32 {
    if (DIL1) { return 1u; }
    return p.dh;
}

fn dil_w() -> u32 {
    if (DIL1) { return 1u; }
    return p.dw;
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
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let o = gid.x + gid.y * nwg.x * WG;
    let per_plane = p.ho * p.wo;
    if (o >= p.planes * per_plane) {
        return;
    }
    let plane = div_index(o, per_plane);
    let q = o - plane * per_plane;
    let oh = div_index(q, p.wo);
    let ow = q - oh * p.wo;
    let h0 = i32(oh * stride_h()) - i32(p.ph);
    let w0 = i32(ow * stride_w()) - i32(p.pw);
    let base = p.x_base + plane * p.h * p.w;
    var best = bitcast<f32>(0xff800000u); // -inf
    var bi = NONE;
    // Every tap in row-major order, out-of-image ones skipped (padding never wins); the
    // first in-image tap is the index of a window of -inf.
    for (var i = 0u; i < kernel_h(); i++) {
        let ih = h0 + i32(i * dil_h());
        let row_in = ih >= 0 && ih < i32(p.h);
        let row = u32(clamp(ih, 0, i32(p.h) - 1)) * p.w;
        for (var j = 0u; j < kernel_w(); j++) {
            let iw = w0 + i32(j * dil_w());
            let k = row + u32(clamp(iw, 0, i32(p.w) - 1));
            let v = x_at(base + k);
            if (row_in && iw >= 0 && iw < i32(p.w) && (bi == NONE || v > best || is_nan(v))) {
                best = v;
                bi = k;
            }
        }
    }
    y[p.y_base + o] = best;
    idx[p.i_base + o] = bi;
}

const NONE: u32 = 0xffffffffu;

// main_row4: `main` for four consecutive outputs ow0 .. ow0 + 3 of a row per invocation,
// with dilation 1, w % 4 == 0 and x_base % 4 == 0 (the launcher checks). Their taps span
// input columns w0 .. w0 + 3*SW + KW - 1 (w0 = ow0*SW - pw), which start at component
// SHIFT = (-pw) mod 4 of a texel (the same for every group, since 4*SW columns are whole
// texels), so each window row is NV <= 4 vec4 loads instead of 4*KW scalar ones. The
// taps are visited in `main`'s order with `main`'s test, per output.
override SHIFT: u32 = 0u;
override NV: u32 = 4u;

// `main`'s update of one output's running maximum with the taps of one window row.
fn row_taps(win: array<vec4<f32>, 4>, t: u32, row_ok: bool, row: u32, w0: i32,
            best: ptr<function, f32>, bi: ptr<function, u32>) {
    for (var j = 0u; j < kernel_w(); j++) {
        let e = SHIFT + t * stride_w() + j;
        let v = win[e / 4u][e % 4u];
        let iw = w0 + i32(t * stride_w() + j);
        if (row_ok && iw >= 0 && iw < i32(p.w) && (*bi == NONE || v > *best || is_nan(v))) {
            *best = v;
            *bi = row + u32(iw);
        }
    }
}

// The running maxima of 4 outputs of a row and their indices.
struct Best4 {
    v: vec4<f32>,
    i: vec4<u32>,
}

fn no_best4() -> Best4 {
    return Best4(vec4<f32>(bitcast<f32>(0xff800000u)), vec4<u32>(NONE)); // -inf
}

// `best` updated with the taps of window row ih (its NV vec4s in win, clamped into the
// image) of the 4 outputs whose windows start at column w0.
fn row_taps4(win: array<vec4<f32>, 4>, ih: i32, w0: i32, best: Best4) -> Best4 {
    let row_ok = ih >= 0 && ih < i32(p.h);
    let row = u32(clamp(ih, 0, i32(p.h) - 1)) * p.w;
    var b0 = best.v.x;
    var b1 = best.v.y;
    var b2 = best.v.z;
    var b3 = best.v.w;
    var i0 = best.i.x;
    var i1 = best.i.y;
    var i2 = best.i.z;
    var i3 = best.i.w;
    row_taps(win, 0u, row_ok, row, w0, &b0, &i0);
    row_taps(win, 1u, row_ok, row, w0, &b1, &i1);
    row_taps(win, 2u, row_ok, row, w0, &b2, &i2);
    row_taps(win, 3u, row_ok, row, w0, &b3, &i3);
    return Best4(vec4<f32>(b0, b1, b2, b3), vec4<u32>(i0, i1, i2, i3));
}

fn store_output(o: u32, ok: bool, best: f32, bi: u32) {
    if (ok) {
        y[p.y_base + o] = best;
        idx[p.i_base + o] = bi;
    }
}

@compute @workgroup_size(WG)
fn main_row4(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let g = gid.x + gid.y * nwg.x * WG;
    let wq = (p.wo + 3u) / 4u;
    let per_plane = p.ho * wq;
    if (g >= p.planes * per_plane) {
        return;
    }
    let plane = div_index(g, per_plane);
    let q = g - plane * per_plane;
    let oh = div_index(q, wq);
    let ow0 = (q - oh * wq) * 4u;
    let h0 = i32(oh * stride_h()) - i32(p.ph);
    let w0 = i32(ow0 * stride_w()) - i32(p.pw);
    // Texel of window element 0 (column w0 - SHIFT) within its row; exact division.
    let tq = (w0 - i32(SHIFT)) / 4;
    let plane_t = (p.x_base + plane * p.h * p.w) / 4u;
    var best = no_best4();
    for (var i = 0u; i < kernel_h(); i++) {
        best = row_taps4(window_row(plane_t, h0 + i32(i), tq), h0 + i32(i), w0, best);
    }
    let o = plane * p.ho * p.wo + oh * p.wo + ow0;
    store_output(o, true, best.v.x, best.i.x);
    store_output(o + 1u, ow0 + 1u < p.wo, best.v.y, best.i.y);
    store_output(o + 2u, ow0 + 2u < p.wo, best.v.z, best.i.z);
    store_output(o + 3u, ow0 + 3u < p.wo, best.v.w, best.i.w);
}

// main_cols4: main_row4's four outputs per invocation (where row4 applies, and KH <= RING,
// wo % 4 == 0, y_base and i_base multiples of 4), walking every output row of the plane:
// the KH window rows of output row oh are kept and the next output row loads only the
// SH new ones (all KH when SH >= KH); y and idx are stored as one vec4 each.
@group(0) @binding(2) var<storage, read_write> y4: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> idx4: array<vec4<u32>>;

// Window row ih (clamped into the image) of a group whose window starts at texel tq of
// its row: NV vec4s, texels outside the row clamped into it.
fn window_row(plane_t: u32, ih: i32, tq: i32) -> array<vec4<f32>, 4> {
    let row_texels = i32(p.w / 4u);
    let base = plane_t + u32(clamp(ih, 0, i32(p.h) - 1)) * u32(row_texels);
    var win: array<vec4<f32>, 4>;
    for (var v = 0u; v < NV; v++) {
        win[v] = x_vec4(base + u32(clamp(tq + i32(v), 0, row_texels - 1)));
    }
    return win;
}

// The body of main_cols4 / main_cols4_sg for group g0 (clamped to the last one; stores
// only when live). `lane`: the invocation's subgroup lane (window_row_at).
fn cols4(g0: u32, live: bool, lane: u32) {
    let wq = p.wo / 4u;
    let g = min(g0, p.planes * wq - 1u);
    let plane = div_index(g, wq);
    let ow0 = (g - plane * wq) * 4u;
    let w0 = i32(ow0 * stride_w()) - i32(p.pw);
    let tq = (w0 - i32(SHIFT)) / 4;
    let plane_t = (p.x_base + plane * p.h * p.w) / 4u;
    let sh = stride_h();
    let out = plane * p.ho * p.wo + ow0;
    // Lanes whose left neighbour holds another row's (or subgroup's) group load all.
    let first = lane == 0u || ow0 == 0u;
    var rows: array<array<vec4<f32>, 4>, RING>;
    for (var i = 0u; i < kernel_h(); i++) {
        rows[i] = window_row_at(plane_t, i32(i) - i32(p.ph), tq, first);
    }
    for (var oh = 0u; oh < p.ho; oh++) {
        let h0 = i32(oh * sh) - i32(p.ph);
        var best = no_best4();
        for (var i = 0u; i < kernel_h(); i++) {
            best = row_taps4(rows[i], h0 + i32(i), w0, best);
        }
        let o = out + oh * p.wo;
        if (live) {
            y4[(p.y_base + o) / 4u] = best.v;
            idx4[(p.i_base + o) / 4u] = best.i;
        }
        // The next output row's window: SH rows further down.
        for (var i = 0u; i < kernel_h(); i++) {
            if (i + sh < kernel_h()) {
                rows[i] = rows[i + sh];
            } else {
                rows[i] = window_row_at(plane_t, h0 + i32(sh + i), tq, first);
            }
        }
    }
}

@compute @workgroup_size(WG)
fn main_cols4(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let g = gid.x + gid.y * nwg.x * WG;
    cols4(g, g < p.planes * (p.wo / 4u), 0u);
}

// #if SUBGROUPS
// main_cols4_sg: main_cols4 with consecutive groups of a row in adjacent lanes of a
// subgroup (the index built from subgroup_id and subgroup_invocation_id): the groups'
// windows are SW texels apart, so a window row's first NV - SW texels are the left
// lane's last ones, taken by subgroupShuffleUp instead of loaded (2 loads instead of 3
// per window row on the ResNet stem's pool). Every lane runs the same loops (clamped
// index past the end, no stores).
override SG: u32 = 8u;

@compute @workgroup_size(WG)
fn main_cols4_sg(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                 @builtin(subgroup_id) sgid: u32, @builtin(subgroup_invocation_id) lane: u32) {
    let g = (wid.x + wid.y * nwg.x) * WG + sgid * SG + lane;
    cols4(g, g < p.planes * (p.wo / 4u), lane);
}

// window_row with the texels shared with the left lane's window shuffled in (from the
// last texel down, so that a shared texel the left lane itself shuffled is in place);
// `first` lanes load them.
fn window_row_at(plane_t: u32, ih: i32, tq: i32, first: bool) -> array<vec4<f32>, 4> {
    let row_texels = i32(p.w / 4u);
    let base = plane_t + u32(clamp(ih, 0, i32(p.h) - 1)) * u32(row_texels);
    var win: array<vec4<f32>, 4>;
    for (var k = 0u; k < NV; k++) {
        let v = NV - 1u - k;
        let t = base + u32(clamp(tq + i32(v), 0, row_texels - 1));
        if (v + stride_w() >= NV) {
            win[v] = x_vec4(t);
        } else {
            let left = subgroupShuffleUp(win[min(v + stride_w(), 3u)], 1u);
            if (first) {
                win[v] = x_vec4(t);
            } else {
                win[v] = left;
            }
        }
    }
    return win;
}
// #else
fn window_row_at(plane_t: u32, ih: i32, tq: i32, first: bool) -> array<vec4<f32>, 4> {
    return window_row(plane_t, ih, tq);
}
// #endif

// Output windows along one axis that may cover padded position `a` (= input + pad):
// with dilation 1 the range [x, x + y); otherwise y = k taps to test one by one.
fn candidates(a: u32, k: u32, s: u32, inv_s: f32, d: u32, out: u32) -> vec2<u32> {
    if (d != 1u) {
        return vec2<u32>(0u, k);
    }
    var lo = 0u;
    if (a >= k) {
        lo = udiv(a - k, s, inv_s) + 1u;
    }
    let hi = min(udiv(a, s, inv_s) + 1u, out);
    return vec2<u32>(lo, select(0u, hi - lo, hi > lo));
}

// The `j`-th candidate window (ascending), or NONE when that tap covers nothing.
fn candidate(a: u32, j: u32, lo: u32, k: u32, s: u32, inv_s: f32, d: u32, out: u32) -> u32 {
    if (d == 1u) {
        return lo + j;
    }
    let t = i32(a) - i32((k - 1u - j) * d);
    if (t < 0) {
        return NONE;
    }
    let o = udiv(u32(t), s, inv_s);
    if (o * s != u32(t) || o >= out) {
        return NONE;
    }
    return o;
}

@group(0) @binding(1) var<storage, read> dy: array<f32>;
@group(0) @binding(2) var<storage, read> idx_in: array<u32>;
@group(0) @binding(3) var<storage, read_write> dx: array<f32>;

// backward_cols8 (DIL1, KH <= RING, SH <= RING, w % 4 == 0 and x_base % 4 == 0): one
// invocation per eight consecutive columns iw0 .. iw0 + 7 of a plane (the last group of
// a row may hold only four), walking its output rows top to bottom. Output row oh's
// windows cover dx rows top = oh*SH - ph .. top + KH - 1; those that can cover the
// eight columns are among (KW + 6) / SW + 1 columns ending at (iw0 + 7 + pw) / SW. Each
// is read once (dy and index) and its dy added to the element its index points at, in
// two rings (columns iw0 .. +3 and iw0 + 4 .. +7) of KH rows (ring[j] is dx row
// top + j); after output row oh, the SH rows no later window covers are stored (vec4s)
// and the rings move on. Per dx element the dy values arrive in output raster order
// (oh, then ow ascending), as a sequential scatter adds them. Where SW divides 8 each
// window's columns relative to the group are fixed, so a ring it cannot reach is not
// updated (PW, the left padding, as a constant: 18.5 -> 17.3 ms on the ResNet stem's
// pool). (Eight columns per
// invocation measured faster than four; a nested array of rings for a column count
// chosen by constant ran slower than the two named rings.)
const RING: u32 = 16u;
// #if DY4
// backward_cols8 specialized with DY4 (SW 1 or 2, wo, y_base and i_base multiples of
// 4): the dy and indices of an output row's windows are read as the DY4_MAX or fewer
// aligned vec4s that cover them instead of one scalar each (2 + 2 loads instead of 5 + 5
// on the ResNet stem's 3x3 stride-2 pool).
const DY4_MAX: u32 = 4u;
@group(0) @binding(1) var<storage, read> dy4_in: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> idx4_in: array<vec4<u32>>;
// #endif
// backward_cols8: the left padding (set by the launcher; with SW it fixes which columns
// of a group each window can reach).
override PW: u32 = 0u;
// (dx4: the vec4 view of dx, declared below with backward2x2)

@compute @workgroup_size(WG)
fn backward_cols8(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let t = gid.x + gid.y * nwg.x * WG;
    let wq = (p.w + 7u) / 8u;
    if (t >= p.planes * wq) {
        return;
    }
    let plane = div_index(t, wq);
    let iw0 = (t - plane * wq) * 8u;
    let out_base = plane * p.ho * p.wo;
    let xb = (p.x_base + plane * p.h * p.w + iw0) / 4u;
    let sh = stride_h();
    let sw = stride_w();
    let nw = (kernel_w() + 6u) / sw + 1u;
    let last_w = i32(div_index(iw0 + 7u + p.pw, sw));
    let cols = vec4<u32>(0u, 1u, 2u, 3u);
    let hi = iw0 + 4u < p.w;
    var ring: array<vec4<f32>, RING>;
    var ring_hi: array<vec4<f32>, RING>;
// #if DY4
    // SW is 1 or 2, so iw0 / SW is a multiple of 4: the first window, last_w - (nw - 1),
    // is iw0 / SW + f0, at position `shift` of the aligned vec4s from first_al.
    let f0 = i32((7u + PW) / sw) - i32(nw - 1u);
    let first_al = i32(iw0 / sw) + (f0 & -4);
    let shift = u32(f0 - (f0 & -4));
    let nq = (shift + nw + 3u) / 4u;
// #endif
    for (var oh = 0u; oh < p.ho; oh++) {
        let top = i32(oh * sh) - i32(p.ph);
        let row = out_base + oh * p.wo;
        // In-plane index of element (top, iw0).
        let corner = top * i32(p.w) + i32(iw0);
// #if DY4
        // The windows' dy and indices as the aligned vec4s covering them.
        var gq: array<vec4<f32>, DY4_MAX>;
        var iq: array<vec4<u32>, DY4_MAX>;
        for (var q = 0u; q < nq; q++) {
            let ow = first_al + i32(4u * q);
            let e = row + u32(clamp(ow, 0, i32(p.wo) - 4));
            let ok = ow >= 0 && ow < i32(p.wo);
            gq[q] = select(vec4<f32>(0.0), dy4_in[(p.y_base + e) / 4u], ok);
            iq[q] = idx4_in[(p.i_base + e) / 4u];
        }
// #endif
        for (var b = 0u; b < nw; b++) {
// #if DY4
            let s = shift + b;
            let g = gq[s / 4u][s % 4u];
            let ix = iq[s / 4u][s % 4u];
// #else
            let ow = last_w - i32(nw - 1u - b);
            let o = row + u32(clamp(ow, 0, i32(p.wo) - 1));
            let g = select(0.0, dy[p.y_base + o], ow >= 0 && ow < i32(p.wo));
            let ix = idx_in[p.i_base + o];
// #endif
            // NONE (no in-image tap) and indices outside the columns match no d; a
            // window outside the output has g = 0.
            let rel = i32(ix) - corner;
            // Where SW divides 8, window b starts at the same column relative to iw0 in
            // every group (rs, fixed once unrolled): a ring its KW columns miss is
            // skipped.
            let rs = i32(sw * ((7u + PW) / sw)) - i32(PW) - i32(sw * (nw - 1u - b));
            let fixed = SW != 0u && 8u % sw == 0u;
            let to_lo = !fixed || (rs <= 3 && rs + i32(kernel_w()) > 0);
            let to_hi = !fixed || (rs <= 7 && rs + i32(kernel_w()) > 4);
            for (var j = 0u; j < kernel_h(); j++) {
                let d = vec4<u32>(u32(rel - i32(j * p.w)));
                if (to_lo) {
                    ring[j] += select(vec4<f32>(0.0), vec4<f32>(g), d == cols);
                }
                if (to_hi) {
                    ring_hi[j] += select(vec4<f32>(0.0), vec4<f32>(g), d == cols + 4u);
                }
            }
        }
        for (var j = 0u; j < sh; j++) {
            store_row4(xb, top + i32(j), true, ring[j]);
            store_row4(xb + 1u, top + i32(j), hi, ring_hi[j]);
        }
        // Only ring[0 .. KH) is ever non-zero.
        for (var j = 0u; j < kernel_h(); j++) {
            let keep = j + sh < kernel_h();
            ring[j] = select(vec4<f32>(0.0), ring[min(j + sh, RING - 1u)], keep);
            ring_hi[j] = select(vec4<f32>(0.0), ring_hi[min(j + sh, RING - 1u)], keep);
        }
    }
    // The rows below the last window's first (fewer than KH).
    let end = i32(p.ho * sh) - i32(p.ph);
    for (var j = 0u; j < kernel_h(); j++) {
        store_row4(xb, end + i32(j), true, ring[j]);
        store_row4(xb + 1u, end + i32(j), hi, ring_hi[j]);
    }
}

// #if DY4
// backward_3x3s2 (DY4): the 3x3 stride-2 window with padding 1 (the ResNet stem's), h in
// {2*ho - 1, 2*ho}, w == 2*wo, wo, y_base, i_base and x_base multiples of 4 (the launcher
// checks). Window (oh, ow) covers dx rows 2*oh - 1 .. 2*oh + 1 and columns likewise, so dx
// row 2*oh is covered by window row oh alone and row 2*oh - 1 by rows oh - 1 then oh; in
// columns the same with windows 4q .. 4q + 4 for the eight columns 8q .. 8q + 7 of one
// invocation. Walking down the plane, each window row is read once (two aligned vec4s of
// dy and of indices: windows 4q .. 4q + 7, of which 4q + 4 is used) and kept for the next
// dx row; each dx row is two vec4 stores. Per element the windows' dy arrive in output
// raster order (added to 0 for windows whose index does not point at it), as a sequential
// scatter adds them.
struct StemRow {
    g: vec4<f32>,  // dy of windows 4q .. 4q + 3
    i: vec4<u32>,  // their indices
    g4: f32,       // window 4q + 4 (0 and NONE past the row's end)
    i4: u32,
}

fn stem_row(o: u32, more: bool) -> StemRow {
    let e = o / 4u;
    let nxt = select(e, e + 1u, more);
    let g4 = select(0.0, dy4_in[(p.y_base / 4u) + nxt].x, more);
    let i4 = select(NONE, idx4_in[(p.i_base / 4u) + nxt].x, more);
    return StemRow(dy4_in[(p.y_base / 4u) + e], idx4_in[(p.i_base / 4u) + e], g4, i4);
}

// `acc` plus window row `w`'s share of dx elements f .. f + 3 (lo: columns 8q .. 8q + 3,
// else 8q + 4 .. 8q + 7): each even column from one window, each odd one from two, added
// left first.
fn stem_share(acc: vec4<f32>, w: StemRow, f: u32, lo: bool) -> vec4<f32> {
    let fv = vec4<u32>(f) + vec4<u32>(0u, 1u, 2u, 3u);
    let g1 = select(w.g.zzww, w.g.xxyy, lo);
    let i1 = select(w.i.zzww, w.i.xxyy, lo);
    let g2 = select(vec4<f32>(0.0, w.g.w, 0.0, w.g4), vec4<f32>(0.0, w.g.y, 0.0, w.g.z), lo);
    let i2 = select(vec4<u32>(NONE, w.i.w, NONE, w.i4), vec4<u32>(NONE, w.i.y, NONE, w.i.z), lo);
    return (acc + select(vec4<f32>(0.0), g1, i1 == fv)) + select(vec4<f32>(0.0), g2, i2 == fv);
}

@compute @workgroup_size(WG)
fn backward_3x3s2(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let t = gid.x + gid.y * nwg.x * WG;
    let wq = p.w / 8u;
    if (t >= p.planes * wq) {
        return;
    }
    let plane = div_index(t, wq);
    let q = t - plane * wq;
    let out0 = plane * p.ho * p.wo + 4u * q;
    let xb = (p.x_base + plane * p.h * p.w) / 4u + 2u * q;
    let more = 4u * q + 4u < p.wo;
    let none = StemRow(vec4<f32>(0.0), vec4<u32>(NONE), 0.0, NONE);
    let zero = vec4<f32>(0.0);
    var prev = none;
    for (var oh = 0u; oh < p.ho; oh++) {
        let cur = stem_row(out0 + oh * p.wo, more);
        let r = 2u * oh;
        if (oh > 0u) {
            // dx row 2*oh - 1: window rows oh - 1, then oh.
            let f = (r - 1u) * p.w + 8u * q;
            let v = xb + (r - 1u) * (p.w / 4u);
            dx4[v] = stem_share(stem_share(zero, prev, f, true), cur, f, true);
            dx4[v + 1u] = stem_share(stem_share(zero, prev, f + 4u, false), cur, f + 4u, false);
        }
        let f = r * p.w + 8u * q;
        let v = xb + r * (p.w / 4u);
        dx4[v] = stem_share(zero, cur, f, true);
        dx4[v + 1u] = stem_share(zero, cur, f + 4u, false);
        prev = cur;
    }
    // dx row 2*ho - 1 when h is even: window row ho - 1 alone.
    let r = 2u * p.ho - 1u;
    if (r < p.h) {
        let f = r * p.w + 8u * q;
        let v = xb + r * (p.w / 4u);
        dx4[v] = stem_share(zero, prev, f, true);
        dx4[v + 1u] = stem_share(zero, prev, f + 4u, false);
    }
}
// #endif

// dx row r's four elements at vec4 xb + r * w / 4, if `ok` and r is inside the image.
fn store_row4(xb: u32, r: i32, ok: bool, v: vec4<f32>) {
    if (ok && r >= 0 && r < i32(p.h)) {
        dx4[xb + u32(r) * (p.w / 4u)] = v;
    }
}

@compute @workgroup_size(WG)
fn backward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * WG;
    let per_plane = p.h * p.w;
    if (i >= p.planes * per_plane) {
        return;
    }
    let plane = div_index(i, per_plane);
    let r = i - plane * per_plane;
    let ih = div_index(r, p.w);
    let iw = r - ih * p.w;
    let out_base = plane * p.ho * p.wo;
    let nr = candidates(ih + p.ph, p.kh, p.sh, p.inv_sh, p.dh, p.ho);
    let nc = candidates(iw + p.pw, p.kw, p.sw, p.inv_sw, p.dw, p.wo);
    var acc = 0.0;
    for (var a = 0u; a < nr.y; a++) {
        let oh = candidate(ih + p.ph, a, nr.x, p.kh, p.sh, p.inv_sh, p.dh, p.ho);
        if (oh == NONE) {
            continue;
        }
        for (var b = 0u; b < nc.y; b++) {
            let ow = candidate(iw + p.pw, b, nc.x, p.kw, p.sw, p.inv_sw, p.dw, p.wo);
            if (ow == NONE) {
                continue;
            }
            let o = out_base + oh * p.wo + ow;
            if (idx_in[p.i_base + o] == r) {
                acc += dy[p.y_base + o];
            }
        }
    }
    dx[p.x_base + i] = acc;
}

// main2x2 / backward2x2: the 2x2 stride-2 window without padding or dilation (VGG's,
// LeNet's), vectorized. Requires w % 4 == 0, every window inside the input, x_base a
// multiple of 4 and y_base, i_base even (the launcher checks). One invocation handles two
// adjacent outputs: the forward reads one vec4 from each of the two input rows and writes
// a vec2 of values and one of indices; the backward (exact tiling, h == 2*ho and
// w == 2*wo) reads a vec2 of indices and one of gradients and writes both rows.
@group(0) @binding(1) var<storage, read> x4: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> y2: array<vec2<f32>>;
@group(0) @binding(3) var<storage, read_write> idx2: array<vec2<u32>>;

// Scans (a, b) then (c, d) of one window: the same rule as `main`.
fn pick(best: ptr<function, f32>, bi: ptr<function, u32>, v: f32, k: u32) {
    if (v > *best || is_nan(v)) {
        *best = v;
        *bi = k;
    }
}

@compute @workgroup_size(WG)
fn main2x2(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let t = gid.x + gid.y * nwg.x * WG;
    let pairs = p.wo / 2u;
    let per_plane = p.ho * pairs;
    if (t >= p.planes * per_plane) {
        return;
    }
    let plane = udiv(t, per_plane, p.inv_plane_out);
    let q = t - plane * per_plane;
    let oh = udiv(q, pairs, p.inv_wo);
    let j = q - oh * pairs;
    let k0 = 2u * oh * p.w + 4u * j; // in-plane offset of the top-left input
    let v = (p.x_base + plane * p.h * p.w + k0) / 4u;
    let a = x4[v];
    let b = x4[v + p.w / 4u];
    var best0 = bitcast<f32>(0xff800000u);
    var bi0 = k0;
    pick(&best0, &bi0, a.x, k0);
    pick(&best0, &bi0, a.y, k0 + 1u);
    pick(&best0, &bi0, b.x, k0 + p.w);
    pick(&best0, &bi0, b.y, k0 + p.w + 1u);
    var best1 = bitcast<f32>(0xff800000u);
    var bi1 = k0 + 2u;
    pick(&best1, &bi1, a.z, k0 + 2u);
    pick(&best1, &bi1, a.w, k0 + 3u);
    pick(&best1, &bi1, b.z, k0 + p.w + 2u);
    pick(&best1, &bi1, b.w, k0 + p.w + 3u);
    let o = plane * p.ho * p.wo + oh * p.wo + 2u * j;
    y2[(p.y_base + o) / 2u] = vec2<f32>(best0, best1);
    idx2[(p.i_base + o) / 2u] = vec2<u32>(bi0, bi1);
}

@group(0) @binding(1) var<storage, read> dy2: array<vec2<f32>>;
@group(0) @binding(2) var<storage, read> idx2_in: array<vec2<u32>>;
@group(0) @binding(3) var<storage, read_write> dx4: array<vec4<f32>>;

@compute @workgroup_size(WG)
fn backward2x2(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let t = gid.x + gid.y * nwg.x * WG;
    let pairs = p.wo / 2u;
    let per_plane = p.ho * pairs;
    if (t >= p.planes * per_plane) {
        return;
    }
    let plane = udiv(t, per_plane, p.inv_plane_out);
    let q = t - plane * per_plane;
    let oh = udiv(q, pairs, p.inv_wo);
    let j = q - oh * pairs;
    let o = plane * p.ho * p.wo + oh * p.wo + 2u * j;
    let ii = idx2_in[(p.i_base + o) / 2u];
    let gg = dy2[(p.y_base + o) / 2u];
    let i0 = ii.x;
    let i1 = ii.y;
    let g0 = gg.x;
    let g1 = gg.y;
    let k0 = 2u * oh * p.w + 4u * j;
    var top = vec4<f32>(0.0);
    var bot = vec4<f32>(0.0);
    // Each input lies in exactly one window: its gradient is dy or 0.
    top.x = select(0.0, g0, i0 == k0);
    top.y = select(0.0, g0, i0 == k0 + 1u);
    bot.x = select(0.0, g0, i0 == k0 + p.w);
    bot.y = select(0.0, g0, i0 == k0 + p.w + 1u);
    top.z = select(0.0, g1, i1 == k0 + 2u);
    top.w = select(0.0, g1, i1 == k0 + 3u);
    bot.z = select(0.0, g1, i1 == k0 + p.w + 2u);
    bot.w = select(0.0, g1, i1 == k0 + p.w + 3u);
    let v = (p.x_base + plane * p.h * p.w + k0) / 4u;
    dx4[v] = top;
    dx4[v + p.w / 4u] = bot;
}
