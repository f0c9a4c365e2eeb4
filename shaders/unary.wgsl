// unary: y[i] = f(alpha * x[i] + beta) for one elementwise function f chosen by OP.
// Thread mapping: one invocation per element (main4: per vec4), 1-D grid folded
// into 2-D past 65535 groups.
// Launcher: crates/tensor/src/ops/elementwise.rs   Reference: crates/reference/src/elementwise.rs
struct Params {
    numel: u32,
    alpha: f32,
    beta: f32,
    _pad: u32,
}

// 0: identity (affine: add_scalar, mul_scalar, copy), 1: relu, 2: relu6, 3: exp, 4: neg-free sqrt
override OP: u32 = 0u;
override WG: u32 = 256u;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;

fn apply(x0: f32) -> f32 {
    let v = p.alpha * x0 + p.beta;
    var r = v;
    if (OP == 1u) {
        r = max(v, 0.0);
    } else if (OP == 2u) {
        r = clamp(v, 0.0, 6.0);
    } else if (OP == 3u) {
        r = exp(v);
    } else if (OP == 4u) {
        r = sqrt(v);
    }
    return r;
}

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * WG;
    if (i >= p.numel) {
        return;
    }
    y[i] = apply(x[i]);
}

// main4: the same over vec4s (numel a multiple of 4 or the buffer holding whole vec4s:
// p.numel counts vec4s, the last may run past the tensor's end inside its buffer); x read
// as a texel operand with TEXELS (crates/tensor/src/texels.rs), else from storage, as the
// device's measured choice for streaming reads says (Device::stream_reads).
@group(0) @binding(2) var<storage, read_write> y4: array<vec4<f32>>;
// #if TEXELS
override TEX_SHIFT: u32 = 12u;
@group(0) @binding(1) var xt: texture_storage_2d<rgba32float, read>;

fn x_vec4(i: u32) -> vec4<f32> {
    return textureLoad(xt, vec2<u32>(i & ((1u << TEX_SHIFT) - 1u), i >> TEX_SHIFT));
}
// #else
@group(0) @binding(1) var<storage, read> x4: array<vec4<f32>>;

fn x_vec4(i: u32) -> vec4<f32> {
    return x4[i];
}
// #endif

@compute @workgroup_size(WG)
fn main4(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * WG;
    if (i >= p.numel) {
        return;
    }
    let v = x_vec4(i);
    y4[i] = vec4<f32>(apply(v.x), apply(v.y), apply(v.z), apply(v.w));
}
