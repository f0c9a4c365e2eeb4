// dropout (training): keep element i with probability 1 - p, decided by a counter-based
// hash of (seed, global index i) so that the same seed gives the same mask on any device
// and any split of the launch: r = pcg(pcg(i) ^ key), key = pcg(seed) (host-computed),
// kept when r >= threshold = ceil(p * 2^32). mask[i] = kept ? scale : 0 with
// scale = 1 / (1 - p) rounded to f32, y[i] = x[i] * mask[i] (PyTorch's input * noise).
// `backward`: dx[i] = dy[i] * mask[i] (bindings dy, mask, dx at x_base, y_base, m_base).
// Thread mapping: one invocation per element, 1-D grid folded into 2-D.
// Launcher: crates/tensor/src/ops/dropout.rs   Reference: crates/tensor/tests/gpu/dropout.rs (a host mirror of the hash)
struct Params {
    numel: u32,
    key: u32, // pcg(seed)
    threshold: u32,
    index_base: u32, // global index of this launch's first element
    x_base: u32, // element offsets of the bound windows
    y_base: u32,
    m_base: u32,
    scale: f32,
}

override WG: u32 = 256u;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
@group(0) @binding(3) var<storage, read_write> mask: array<f32>;

// PCG hash (Jarzynski & Olano, "Hash Functions for GPU Rendering", 2020).
fn pcg(v: u32) -> u32 {
    let state = v * 747796405u + 2891336453u;
    let word = ((state >> ((state >> 28u) + 4u)) ^ state) * 277803737u;
    return (word >> 22u) ^ word;
}

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * WG;
    if (i >= p.numel) {
        return;
    }
    let r = pcg(pcg(p.index_base + i) ^ p.key);
    var m = 0.0;
    if (r >= p.threshold) {
        m = p.scale;
    }
    mask[p.m_base + i] = m;
    y[p.y_base + i] = x[p.x_base + i] * m;
}

@group(0) @binding(2) var<storage, read> mask_in: array<f32>;
@group(0) @binding(3) var<storage, read_write> dx: array<f32>;

@compute @workgroup_size(WG)
fn backward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * WG;
    if (i >= p.numel) {
        return;
    }
    dx[p.m_base + i] = x[p.x_base + i] * mask_in[p.y_base + i];
}
