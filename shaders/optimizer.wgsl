// optimizer: in-place parameter updates with PyTorch's exact rules, one invocation
// per element. `sgd` is torch.optim.SGD (weight decay added to the gradient; momentum
// buffer b = m*b + (1-dampening)*g, or b = g on the first step; Nesterov g + m*b;
// p -= lr * update). `adam` is torch.optim.Adam / AdamW (DECOUPLED: p *= 1 - lr*wd
// first; else g += wd*p), m = lerp(m, g, 1-beta1), v = beta2*v + (1-beta2)*g*g,
// p -= (lr / bc1) * m / (sqrt(v) / sqrt(bc2) + eps).
// Thread mapping: one invocation per element, 1-D grid folded into 2-D.
// Launcher: crates/tensor/src/ops/optim.rs   Reference: crates/reference/src/optim.rs
struct Params {
    numel: u32,
    first_step: u32,
    lr: f32,
    weight_decay: f32,
    momentum: f32,
    dampening: f32,
    beta1: f32,
    beta2: f32,
    eps: f32,
    bias_correction1: f32,
    sqrt_bias_correction2: f32,
    _pad: u32,
}

override WG: u32 = 256u;
override NESTEROV: bool = false;
override DECOUPLED: bool = true;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> grad: array<f32>;
@group(0) @binding(2) var<storage, read_write> param: array<f32>;
@group(0) @binding(3) var<storage, read_write> state1: array<f32>;

fn index(gid: vec3<u32>, nwg: vec3<u32>) -> u32 {
    return gid.x + gid.y * nwg.x * WG;
}

@compute @workgroup_size(WG)
fn sgd(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = index(gid, nwg);
    if (i >= p.numel) {
        return;
    }
    let w = param[i];
    var g = grad[i] + p.weight_decay * w;
    if (p.momentum != 0.0) {
        var b: f32;
        if (p.first_step != 0u) {
            b = g;
        } else {
            b = p.momentum * state1[i] + (1.0 - p.dampening) * g;
        }
        state1[i] = b;
        if (NESTEROV) {
            g = g + p.momentum * b;
        } else {
            g = b;
        }
    }
    param[i] = w - p.lr * g;
}

@group(0) @binding(4) var<storage, read_write> state2: array<f32>;

@compute @workgroup_size(WG)
fn adam(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = index(gid, nwg);
    if (i >= p.numel) {
        return;
    }
    var w = param[i];
    var g = grad[i];
    if (DECOUPLED) {
        w = w * (1.0 - p.lr * p.weight_decay);
    } else {
        g = g + p.weight_decay * w;
    }
    var m = state1[i];
    var v = state2[i];
    if (p.first_step != 0u) {
        m = 0.0;
        v = 0.0;
    }
    m = m + (1.0 - p.beta1) * (g - m);
    v = p.beta2 * v + (1.0 - p.beta2) * g * g;
    state1[i] = m;
    state2[i] = v;
    let denom = sqrt(v) / p.sqrt_bias_correction2 + p.eps;
    param[i] = w - (p.lr / p.bias_correction1) * (m / denom);
}

// Global-norm clipping coefficient: out[0] = min(1, max_norm / (sqrt(sum_sq[0]) + 1e-6)),
// with max_norm in `lr` (torch.nn.utils.clip_grad_norm_).
@compute @workgroup_size(1)
fn clip_coef() {
    let norm = sqrt(grad[0]);
    param[0] = min(1.0, p.lr / (norm + 1e-6));
}
