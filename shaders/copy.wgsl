// copy: y[i] = x[i], the bandwidth baseline of the bench (one read, one write per
// element). main moves one f32 per invocation, vec4_main one vec4 (numel a multiple of 4).
// Thread mapping: one invocation per item, 1-D grid folded into 2-D.
// Launcher: crates/tensor/src/ops/dropout.rs (copy)   Reference: the identity
struct Params {
    count: u32, // items: f32s for main, vec4s for vec4_main
    _pad0: u32,
    _pad1: u32,
    _pad2: u32,
}

override WG: u32 = 256u;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
@group(0) @binding(1) var<storage, read> x4: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> y4: array<vec4<f32>>;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * WG;
    if (i >= p.count) {
        return;
    }
    y[i] = x[i];
}

@compute @workgroup_size(WG)
fn vec4_main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * WG;
    if (i >= p.count) {
        return;
    }
    y4[i] = x4[i];
}
