// avg_pool2d and adaptive_avg_pool2d, forward and backward, with PyTorch's exact rules.
// main: window start (oh*sh - ph), end min(start + kh, h + ph) (the padded extent);
// divisor = divisor_override if nonzero, else with count_include_pad that padded-clipped
// size, else the in-image count; a window with no in-image cell gives 0.
// adaptive: bin [floor(o*h/ho), ceil((o+1)*h/ho)), mean of the bin.
// backward / adaptive_backward gather, per input element, dy / divisor of every output
// window covering it, in output raster order (no atomics, no races).
// Thread mapping: one invocation per output (forward) or input (backward) element,
// 1-D grid folded into 2-D. Index divisions use a float estimate corrected exactly.
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
    count_include_pad: u32,
    divisor: u32, // divisor_override, 0 = none
    x_base: u32, // element offsets of the bound windows: x (or dx), y (or dy)
    y_base: u32,
    _pad0: u32,
    inv_wo: f32,
    inv_ho: f32,
    inv_w: f32,
    inv_h: f32,
    inv_plane_out: f32, // 1 / (ho * wo)
    inv_plane_in: f32, // 1 / (h * w)
    inv_sh: f32,
    inv_sw: f32,
}

override WG: u32 = 256u;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(2) var<storage, read_write> dst: array<f32>;

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

// Window of output (oh, ow): in-image rows [r.x, r.y), cols [r.z, r.w), and its divisor.
struct Cell {
    r: vec4<i32>,
    div: f32,
}

fn avg_cell(oh: u32, ow: u32) -> Cell {
    let hstart = i32(oh * p.sh) - i32(p.ph);
    let wstart = i32(ow * p.sw) - i32(p.pw);
    let hend = min(hstart + i32(p.kh), i32(p.h + p.ph));
    let wend = min(wstart + i32(p.kw), i32(p.w + p.pw));
    let padded = (hend - hstart) * (wend - wstart);
    let h0 = max(hstart, 0);
    let w0 = max(wstart, 0);
    let h1 = min(hend, i32(p.h));
    let w1 = min(wend, i32(p.w));
    var div = (h1 - h0) * (w1 - w0);
    if (p.count_include_pad != 0u) {
        div = padded;
    }
    if (p.divisor != 0u) {
        div = i32(p.divisor);
    }
    return Cell(vec4<i32>(h0, h1, w0, w1), f32(div));
}

// (plane, oh, ow) of output element o.
fn output_at(o: u32) -> vec3<u32> {
    let per_plane = p.ho * p.wo;
    let plane = udiv(o, per_plane, p.inv_plane_out);
    let q = o - plane * per_plane;
    let oh = udiv(q, p.wo, p.inv_wo);
    return vec3<u32>(plane, oh, q - oh * p.wo);
}

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let o = gid.x + gid.y * nwg.x * WG;
    let per_plane = p.ho * p.wo;
    if (o >= p.planes * per_plane) {
        return;
    }
    let at = output_at(o);
    let plane = at.x;
    let oh = at.y;
    let ow = at.z;
    let cell = avg_cell(oh, ow);
    let base = p.x_base + plane * p.h * p.w;
    var sum = 0.0;
    for (var ih = cell.r.x; ih < cell.r.y; ih++) {
        let row = base + u32(ih) * p.w;
        for (var iw = cell.r.z; iw < cell.r.w; iw++) {
            sum += src[row + u32(iw)];
        }
    }
    var out = 0.0;
    if (cell.r.x < cell.r.y && cell.r.z < cell.r.w) {
        out = sum / cell.div;
    }
    dst[p.y_base + o] = out;
}

// POINT (set at pipeline creation): a 1x1 window without padding, a strided subsample
// (how a strided pointwise convolution takes its input). The backward then runs one
// invocation per output (the launcher sizes the grid so): output (oh, ow)'s gradient
// goes to input (oh*sh, ow*sw) and zeros to the rest of its sh x sw block, which no
// other window covers; the blocks tile the input (ho*sh >= h). No window search.
override POINT: bool = false;

fn point_backward(o: u32) {
    let per_plane = p.ho * p.wo;
    if (o >= p.planes * per_plane) {
        return;
    }
    let at = output_at(o);
    let plane = at.x;
    let oh = at.y;
    let ow = at.z;
    let g = src[p.y_base + o] / avg_cell(oh, ow).div;
    let base = p.x_base + plane * p.h * p.w;
    for (var a = 0u; a < p.sh; a++) {
        let ih = oh * p.sh + a;
        for (var b = 0u; b < p.sw; b++) {
            let iw = ow * p.sw + b;
            if (ih < p.h && iw < p.w) {
                dst[base + ih * p.w + iw] = select(0.0, g, a == 0u && b == 0u);
            }
        }
    }
}

@compute @workgroup_size(WG)
fn backward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * WG;
    if (POINT) {
        point_backward(i);
        return;
    }
    let per_plane = p.h * p.w;
    if (i >= p.planes * per_plane) {
        return;
    }
    let plane = udiv(i, per_plane, p.inv_plane_in);
    let r = i - plane * per_plane;
    let ih = udiv(r, p.w, p.inv_w);
    let iw = r - ih * p.w;
    // Outputs whose window [o*s - p, o*s - p + k) holds the input position.
    let ah = ih + p.ph;
    let aw = iw + p.pw;
    var oh0 = 0u;
    if (ah >= p.kh) {
        oh0 = udiv(ah - p.kh, p.sh, p.inv_sh) + 1u;
    }
    var ow0 = 0u;
    if (aw >= p.kw) {
        ow0 = udiv(aw - p.kw, p.sw, p.inv_sw) + 1u;
    }
    let oh1 = min(udiv(ah, p.sh, p.inv_sh) + 1u, p.ho);
    let ow1 = min(udiv(aw, p.sw, p.inv_sw) + 1u, p.wo);
    let out_base = p.y_base + plane * p.ho * p.wo;
    var acc = 0.0;
    for (var oh = oh0; oh < oh1; oh++) {
        for (var ow = ow0; ow < ow1; ow++) {
            let cell = avg_cell(oh, ow);
            acc += src[out_base + oh * p.wo + ow] / cell.div;
        }
    }
    dst[p.x_base + i] = acc;
}

// Adaptive bin of output o along an axis of `size` inputs and `out` outputs.
fn bin(o: u32, size: u32, out: u32, inv_out: f32) -> vec2<u32> {
    return vec2<u32>(udiv(o * size, out, inv_out), udiv((o + 1u) * size + out - 1u, out, inv_out));
}

@compute @workgroup_size(WG)
fn adaptive(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let o = gid.x + gid.y * nwg.x * WG;
    let per_plane = p.ho * p.wo;
    if (o >= p.planes * per_plane) {
        return;
    }
    let at = output_at(o);
    let plane = at.x;
    let oh = at.y;
    let ow = at.z;
    let bh = bin(oh, p.h, p.ho, p.inv_ho);
    let bw = bin(ow, p.w, p.wo, p.inv_wo);
    let base = p.x_base + plane * p.h * p.w;
    var sum = 0.0;
    for (var ih = bh.x; ih < bh.y; ih++) {
        let row = base + ih * p.w;
        for (var iw = bw.x; iw < bw.y; iw++) {
            sum += src[row + iw];
        }
    }
    dst[p.y_base + o] = sum / f32((bh.y - bh.x) * (bw.y - bw.x));
}

// GLOBAL (ho = wo = 1, global average pooling: one bin, the whole plane), set at
// pipeline creation: lavapipe runs both sides of an `if` (masked), so a runtime test
// would pay for the bin search of the general case too.
override GLOBAL: bool = false;

@compute @workgroup_size(WG)
fn adaptive_backward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * WG;
    let per_plane = p.h * p.w;
    if (i >= p.planes * per_plane) {
        return;
    }
    let plane = udiv(i, per_plane, p.inv_plane_in);
    if (GLOBAL) {
        dst[p.x_base + i] = src[p.y_base + plane] / f32(per_plane);
        return;
    }
    let r = i - plane * per_plane;
    let ih = udiv(r, p.w, p.inv_w);
    let iw = r - ih * p.w;
    // Bins holding ih: floor(ih*ho/h) ..= ceil((ih+1)*ho/h) - 1 (checked exactly below).
    let oh0 = udiv(ih * p.ho, p.h, p.inv_h);
    let oh1 = min(udiv((ih + 1u) * p.ho + p.h - 1u, p.h, p.inv_h), p.ho);
    let ow0 = udiv(iw * p.wo, p.w, p.inv_w);
    let ow1 = min(udiv((iw + 1u) * p.wo + p.w - 1u, p.w, p.inv_w), p.wo);
    let out_base = p.y_base + plane * p.ho * p.wo;
    var acc = 0.0;
    for (var oh = oh0; oh < oh1; oh++) {
        let bh = bin(oh, p.h, p.ho, p.inv_ho);
        if (ih < bh.x || ih >= bh.y) {
            continue;
        }
        for (var ow = ow0; ow < ow1; ow++) {
            let bw = bin(ow, p.w, p.wo, p.inv_wo);
            if (iw < bw.x || iw >= bw.y) {
                continue;
            }
            acc += src[out_base + oh * p.wo + ow] / f32((bh.y - bh.x) * (bw.y - bw.x));
        }
    }
    dst[p.x_base + i] = acc;
}

// main2x2 / backward2x2: the 2x2 stride-2 window without padding, every window inside
// the input, rows of a multiple of 4 elements and vec4-aligned planes (the launcher
// checks; y_base even), so the divisor is 4 or divisor_override. One invocation handles
// two adjacent outputs: the forward reads one vec4 from each of the two input rows
// (summing in the same order as `main`) and writes a vec2; the backward (exact tiling,
// h == 2*ho and w == 2*wo) reads a vec2 of gradients and writes both rows. inv_wo and inv_plane_out hold 1/(wo/2), 1/(ho*wo/2).
@group(0) @binding(1) var<storage, read> src4: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> src2: array<vec2<f32>>;
@group(0) @binding(2) var<storage, read_write> dst4: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> dst2: array<vec2<f32>>;

// global4: global average pooling (ho = wo = 1) of planes whose h*w is a multiple of 4,
// x_base % 4 == 0 (the launcher checks): one invocation per plane reading it as vec4s,
// four running sums (columns j % 4) added at the end.
@compute @workgroup_size(WG)
fn global4(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let o = gid.x + gid.y * nwg.x * WG;
    if (o >= p.planes) {
        return;
    }
    let n4 = p.h * p.w / 4u;
    let b = p.x_base / 4u + o * n4;
    var s = vec4<f32>(0.0);
    for (var i = 0u; i < n4; i++) {
        s += src4[b + i];
    }
    dst[p.y_base + o] = ((s.x + s.y) + (s.z + s.w)) / f32(p.h * p.w);
}

// global4_backward: the backward of global4 (same conditions): one invocation per dx
// vec4, the plane's dy / (h * w) in all four.
@compute @workgroup_size(WG)
fn global4_backward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * WG;
    let n4 = p.h * p.w / 4u;
    if (i >= p.planes * n4) {
        return;
    }
    let plane = udiv(i, n4, 4.0 * p.inv_plane_in);
    dst4[p.x_base / 4u + i] = vec4<f32>(src[p.y_base + plane] / f32(p.h * p.w));
}

// main2x2 / backward2x2 serve 2x2 windows of stride 2 and, with POINT, the stride-2
// subsample (the 1x1 window: the top-left element of each 2x2 block, divisor 1).
fn divisor2x2() -> f32 {
    if (p.divisor != 0u) {
        return f32(p.divisor);
    }
    return select(4.0, 1.0, POINT);
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
    let v = (p.x_base + plane * p.h * p.w + 2u * oh * p.w + 4u * j) / 4u;
    let a = src4[v];
    let div = divisor2x2();
    let o = p.y_base + plane * p.ho * p.wo + oh * p.wo + 2u * j;
    if (POINT) {
        dst2[o / 2u] = vec2<f32>(a.x, a.z) / div;
        return;
    }
    let b = src4[v + p.w / 4u];
    dst2[o / 2u] = vec2<f32>((((a.x + a.y) + b.x) + b.y) / div, (((a.z + a.w) + b.z) + b.w) / div);
}

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
    let o = p.y_base + plane * p.ho * p.wo + oh * p.wo + 2u * j;
    let div = divisor2x2();
    let g = src2[o / 2u];
    let g0 = g.x / div;
    let g1 = g.y / div;
    let v = (p.x_base + plane * p.h * p.w + 2u * oh * p.w + 4u * j) / 4u;
    if (POINT) {
        dst4[v] = vec4<f32>(g0, 0.0, g1, 0.0);
        dst4[v + p.w / 4u] = vec4<f32>(0.0);
        return;
    }
    let row = vec4<f32>(g0, g0, g1, g1);
    dst4[v] = row;
    dst4[v + p.w / 4u] = row;
}
