// binary: out[i] = a[i] (op) b[j] with b broadcast: j = ((base + i) / inner) % b_numel.
// Same-shape operands use inner = 1, b_numel = numel; a per-channel NCHW bias uses
// inner = H*W, b_numel = C; a scalar tensor uses b_numel = 1.
// Thread mapping: one invocation per element of `a` (main4: per vec4), 1-D grid
// folded into 2-D.
// Launcher: crates/tensor/src/ops/elementwise.rs   Reference: crates/reference/src/elementwise.rs
struct Params {
    numel: u32,
    inner: u32,
    b_numel: u32,
    base: u32,
}

// 0 add, 1 sub, 2 mul, 3 div, 4 relu_backward (a = dy, b = x), 5 relu6_backward (a = dy, b = x),
// 6 add_relu: max(a + b, 0) (a residual connection and its ReLU in one pass)
override OP: u32 = 0u;
override WG: u32 = 256u;
// false when both operands have the same shape: no index arithmetic for `b`.
override BROADCAST: bool = true;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

fn apply(x: f32, y: f32) -> f32 {
    var r: f32;
    if (OP == 0u) {
        r = x + y;
    } else if (OP == 1u) {
        r = x - y;
    } else if (OP == 2u) {
        r = x * y;
    } else if (OP == 3u) {
        r = x / y;
    } else if (OP == 4u) {
        r = select(0.0, x, y > 0.0);
    } else if (OP == 6u) {
        r = max(x + y, 0.0);
    } else {
        r = select(0.0, x, y > 0.0 && y < 6.0);
    }
    return r;
}

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * WG;
    if (i >= p.numel) {
        return;
    }
    var j = i;
    if (BROADCAST) {
        j = ((p.base + i) / p.inner) % p.b_numel;
    }
    out[i] = apply(a[i], b[j]);
}

// main4: same-shape operands over vec4s (p.numel counts vec4s; the last vec4 may run
// past the tensors' end inside their buffers), read as texel operands with TEXELS
// (crates/tensor/src/texels.rs), else from storage, as the device's measured choice for
// streaming reads says (Device::stream_reads).
@group(0) @binding(3) var<storage, read_write> out4: array<vec4<f32>>;
// #if TEXELS
override TEX_SHIFT: u32 = 12u;
@group(0) @binding(1) var at: texture_storage_2d<rgba32float, read>;
@group(0) @binding(2) var bt: texture_storage_2d<rgba32float, read>;

fn texel_coord(i: u32) -> vec2<u32> {
    return vec2<u32>(i & ((1u << TEX_SHIFT) - 1u), i >> TEX_SHIFT);
}

fn a_vec4(i: u32) -> vec4<f32> {
    return textureLoad(at, texel_coord(i));
}

fn b_vec4(i: u32) -> vec4<f32> {
    return textureLoad(bt, texel_coord(i));
}
// #else
@group(0) @binding(1) var<storage, read> a4: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> b4: array<vec4<f32>>;

fn a_vec4(i: u32) -> vec4<f32> {
    return a4[i];
}

fn b_vec4(i: u32) -> vec4<f32> {
    return b4[i];
}
// #endif

@compute @workgroup_size(WG)
fn main4(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * WG;
    if (i >= p.numel) {
        return;
    }
    let x = a_vec4(i);
    let y = b_vec4(i);
    out4[i] = vec4<f32>(apply(x.x, y.x), apply(x.y, y.y), apply(x.z, y.z), apply(x.w, y.w));
}
