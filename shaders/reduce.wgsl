// reduce: out[o] = scale * sum over the reduced index space of x.
// The launcher merges adjacent dimensions so that at most 4 kept and 4 reduced
// dimensions remain; each is (size, stride in x). Unused entries have size 1.
// Thread mapping: main: one workgroup per output element; its WG invocations stride
// over the reduced elements, then a tree reduction in workgroup memory. serial (short
// reductions over many outputs, e.g. the split partial sums of weight gradients): one
// invocation per output element, summing in order, no barriers.
// Launcher: crates/tensor/src/ops/reduce.rs   Reference: crates/reference/src/reduce.rs
struct Params {
    kept_size: vec4<u32>,
    kept_stride: vec4<u32>,
    red_size: vec4<u32>,
    red_stride: vec4<u32>,
    out_numel: u32,
    red_numel: u32,
    scale: f32,
    _pad: u32,
}

override WG: u32 = 64u;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;

var<workgroup> partial: array<f32, WG>;

// Offset in x of linear index `i` decomposed row-major over `size` with `stride`.
fn offset_of(i: u32, size: vec4<u32>, stride: vec4<u32>) -> u32 {
    var rem = i;
    var off = 0u;
    for (var d = 3i; d >= 0; d--) {
        let s = size[d];
        off += (rem % s) * stride[d];
        rem = rem / s;
    }
    return off;
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
    let o = wid.x + wid.y * nwg.x;
    // `o` is uniform across the workgroup, so every invocation reaches the barriers.
    let in_range = o < p.out_numel;
    var acc = 0.0;
    if (in_range) {
        let base = offset_of(o, p.kept_size, p.kept_stride);
        for (var j = lid; j < p.red_numel; j += WG) {
            acc += x[base + offset_of(j, p.red_size, p.red_stride)];
        }
    }
    partial[lid] = acc;
    workgroupBarrier();
    for (var s = WG / 2u; s > 0u; s = s / 2u) {
        if (lid < s) {
            partial[lid] += partial[lid + s];
        }
        workgroupBarrier();
    }
    if (in_range && lid == 0u) {
        out[o] = partial[0] * p.scale;
    }
}

@compute @workgroup_size(WG)
fn serial(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let o = gid.x + gid.y * nwg.x * WG;
    if (o >= p.out_numel) {
        return;
    }
    let base = offset_of(o, p.kept_size, p.kept_stride);
    var acc = 0.0;
    if (all(p.red_size.xyz == vec3<u32>(1u))) {
        // One reduced dimension: a strided walk.
        for (var j = 0u; j < p.red_numel; j++) {
            acc += x[base + j * p.red_stride.w];
        }
    } else {
        for (var j = 0u; j < p.red_numel; j++) {
            acc += x[base + offset_of(j, p.red_size, p.red_stride)];
        }
    }
    out[o] = acc * p.scale;
}

// expand (the backward of a reduction): out[i] = scale * x[j], where i runs over the
// full shape and j is the index of the reduced tensor. The launcher passes up to 8
// merged dimensions, outermost first, in `red_size`/`kept_size` (sizes 0..3, 4..7) and
// `red_stride`/`kept_stride` (the stride of each in x: 0 for reduced dimensions).
@group(0) @binding(2) var<storage, read_write> expanded: array<f32>;

@compute @workgroup_size(WG)
fn expand(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * WG;
    if (i >= p.out_numel) {
        return;
    }
    // Low four dimensions in kept_*, high four in red_*.
    let lo_numel = p.kept_size.x * p.kept_size.y * p.kept_size.z * p.kept_size.w;
    let j = offset_of(i % lo_numel, p.kept_size, p.kept_stride)
        + offset_of(i / lo_numel, p.red_size, p.red_stride);
    expanded[i] = x[j] * p.scale;
}
