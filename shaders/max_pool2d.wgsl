// max_pool2d: y[plane, oh, ow] = max of x[plane] over the dilated window starting at
// (oh*sh - ph, ow*sw - pw); padding never wins (acts as -inf). idx = ih*w + iw of the
// winner: the first maximum in row-major scan order, or the last NaN (PyTorch's rule);
// 0xffffffff for a window with no in-image tap. `backward` gathers, for each input
// element, the dy of every output window covering it whose idx points at it (no
// atomics, no races), summed in output raster order like a sequential scatter.
// Thread mapping: main, one invocation per output element; backward, one per input
// element; 1-D grid folded into 2-D. Index divisions use a float estimate corrected
// exactly (integer division is scalarized on CPU drivers).
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
@group(0) @binding(1) var<storage, read> x: array<f32>;
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

// First tap start + k*d (k >= 0) that is >= 0.
fn first_tap(start: i32, d: i32) -> i32 {
    if (start >= 0) {
        return start;
    }
    if (d == 1) {
        return 0;
    }
    return start + ((d - 1 - start) / d) * d;
}

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let o = gid.x + gid.y * nwg.x * WG;
    let per_plane = p.ho * p.wo;
    if (o >= p.planes * per_plane) {
        return;
    }
    let plane = udiv(o, per_plane, p.inv_plane_out);
    let q = o - plane * per_plane;
    let oh = udiv(q, p.wo, p.inv_wo);
    let ow = q - oh * p.wo;
    let dh = i32(p.dh);
    let dw = i32(p.dw);
    let h0 = i32(oh * p.sh) - i32(p.ph);
    let w0 = i32(ow * p.sw) - i32(p.pw);
    let hs = first_tap(h0, dh);
    let ws = first_tap(w0, dw);
    let he = min(h0 + dh * (i32(p.kh) - 1) + 1, i32(p.h));
    let we = min(w0 + dw * (i32(p.kw) - 1) + 1, i32(p.w));
    let base = p.x_base + plane * p.h * p.w;
    var best = bitcast<f32>(0xff800000u); // -inf
    var bi = 0xffffffffu;
    if (hs < he && ws < we) {
        bi = u32(hs) * p.w + u32(ws);
    }
    for (var ih = hs; ih < he; ih += dh) {
        let row = u32(ih) * p.w;
        for (var iw = ws; iw < we; iw += dw) {
            let k = row + u32(iw);
            let v = x[base + k];
            if (v > best || is_nan(v)) {
                best = v;
                bi = k;
            }
        }
    }
    y[p.y_base + o] = best;
    idx[p.i_base + o] = bi;
}

@group(0) @binding(1) var<storage, read> dy: array<f32>;
@group(0) @binding(2) var<storage, read> idx_in: array<u32>;
@group(0) @binding(3) var<storage, read_write> dx: array<f32>;

@compute @workgroup_size(WG)
fn backward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * WG;
    let per_plane = p.h * p.w;
    if (i >= p.planes * per_plane) {
        return;
    }
    let plane = udiv(i, per_plane, p.inv_plane_in);
    let r = i - plane * per_plane;
    let ih = udiv(r, p.w, p.inv_w);
    let iw = r - ih * p.w;
    let out_base = plane * p.ho * p.wo;
    var acc = 0.0;
    // ky descending gives oh ascending: the order of a sequential scatter.
    for (var ky = i32(p.kh) - 1; ky >= 0; ky--) {
        let th = i32(ih + p.ph) - ky * i32(p.dh);
        if (th < 0) {
            continue;
        }
        let oh = udiv(u32(th), p.sh, p.inv_sh);
        if (oh * p.sh != u32(th) || oh >= p.ho) {
            continue;
        }
        for (var kx = i32(p.kw) - 1; kx >= 0; kx--) {
            let tw = i32(iw + p.pw) - kx * i32(p.dw);
            if (tw < 0) {
                continue;
            }
            let ow = udiv(u32(tw), p.sw, p.inv_sw);
            if (ow * p.sw != u32(tw) || ow >= p.wo) {
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
