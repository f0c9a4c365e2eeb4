// unary: y[i] = f(alpha * x[i] + beta) for one elementwise function f chosen by OP.
// Thread mapping: one invocation per element, 1-D grid folded into 2-D past 65535 groups.
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

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * WG;
    if (i >= p.numel) {
        return;
    }
    let v = p.alpha * x[i] + p.beta;
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
    y[i] = r;
}
