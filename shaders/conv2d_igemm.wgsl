// conv2d_igemm: implicit-GEMM convolution with subgroup broadcast (groups = 1).
// Inputs come from conv2d_layout.wgsl: x as zero-padded NHWC vec4 [n][hp][wp][cv]
// (channels padded to 4*cv), weights as [kp][kh][kw][cv] vec4 (kp a multiple of KB).
//   forward: y[n,k,oh,ow] = epilogue(sum_{r,s,c} x[n, oh*sh + r*dh, ow*sw + s*dw, c] * w[k,r,s,c])
//     (padded coordinates: no bounds checks). Output NCHW. Also runs dX (the launcher
//     feeds it the zero-inserted, padded dY and the flipped, transposed weights).
//     Thread mapping: each lane owns KB output channels x PB consecutive output pixels
//     (m = n*OH*OW + oh*OW + ow); a subgroup covers SG*PB pixels. Per (r, s, c/4) step a
//     lane loads its PB input vec4s and KB/SG weight vec4s (channel k0 + j*SG + lane);
//     the weight of channel kk reaches every lane through subgroupShuffle(.., kk % SG).
//     Grid: x/y = subgroup blocks of pixels (WG/SG per workgroup), z = blocks of KB channels.
//   weight_grad: part[z][k][r][s][c] = sum over pixels of split z of dy[pix][k] * x[pix + (r,s)][c]
//     with dy as NHWK vec4 [pix][kv] (channels padded to a multiple of KB). Each lane owns
//     KB channels x JB vec4s of (r, s, c/4); per pixel it loads KB/SG dy values (as vec4s)
//     and JB x vec4s, and the dy values of all lanes are shuffled to everyone.
//     Grid: x = blocks of SG*JB (r,s,c/4) vec4s (one subgroup per workgroup), y = KB blocks
//     of k, z = splits of the pixels.
// Needs subgroups whose size equals SG (the launcher checks subgroup_min == max == SG).
// Launcher: crates/tensor/src/ops/conv2d.rs   Reference: crates/reference/src/conv2d.rs
struct Params {
    m: u32,
    pq: u32,
    ow: u32,
    k: u32,
    hp: u32,
    wp: u32,
    cv: u32,
    kh: u32,
    kw: u32,
    stride_h: u32,
    stride_w: u32,
    dil_h: u32,
    dil_w: u32,
    wk_stride: u32,
    kv: u32,
    jv: u32,
    chunk: u32,
    flags: u32,
    _pad1: u32,
    _pad2: u32,
}

override SG: u32 = 8u;
override KB: u32 = 64u;
override PB: u32 = 8u;
override WG: u32 = 64u;

// Register-array capacities (WGSL function arrays need constant sizes); the
// launcher keeps KB*PB <= MAX_ACC, PB <= MAX_PB, KB/SG <= MAX_WV.
const MAX_ACC: u32 = 512u;
const MAX_PB: u32 = 16u;
const MAX_WV: u32 = 8u;
// weight_grad: vec4 accumulators KB x JB, JB vec4s of x per lane.
const JB: u32 = 2u;
const MAX_ACC4: u32 = 128u;
const MAX_DYV: u32 = 2u;

@group(0) @binding(0) var<uniform> p: Params;

@group(0) @binding(1) var<storage, read> x: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> wt: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read> res: array<f32>;
@group(0) @binding(5) var<storage, read_write> y: array<f32>;

@group(0) @binding(1) var<storage, read> gdy: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> gx: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> gpart: array<vec4<f32>>;

// Epilogue flags (p.flags): bit 0 add bias[k]; bits 2..3 activation (0 none, 1 relu,
// 2 relu6); bit 1 add res[i] after the activation. A runtime uniform, not an override:
// it runs once per output, and every specialization costs a shader compilation.
fn epilogue(v0: f32, k: u32, i: u32) -> f32 {
    var v = v0;
    if ((p.flags & 1u) != 0u) {
        v += bias[k];
    }
    let act = (p.flags >> 2u) & 3u;
    if (act == 1u) {
        v = max(v, 0.0);
    } else if (act == 2u) {
        v = clamp(v, 0.0, 6.0);
    }
    if ((p.flags & 2u) != 0u) {
        v += res[i];
    }
    return v;
}

@compute @workgroup_size(WG)
fn forward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
           @builtin(subgroup_id) sgid: u32, @builtin(subgroup_invocation_id) lane: u32) {
    let blk = (wid.x + wid.y * nwg.x) * (WG / SG) + sgid;
    if (blk * SG * PB >= p.m) {
        return; // the whole subgroup is past the end
    }
    let m0 = blk * SG * PB + lane * PB;
    let k0 = wid.z * KB;
    var xb: array<u32, MAX_PB>;
    for (var q = 0u; q < PB; q++) {
        let m = min(m0 + q, p.m - 1u);
        let n = m / p.pq;
        let rem = m - n * p.pq;
        let oh = rem / p.ow;
        let ow = rem - oh * p.ow;
        xb[q] = ((n * p.hp + oh * p.stride_h) * p.wp + ow * p.stride_w) * p.cv;
    }
    var wb: array<u32, MAX_WV>;
    for (var j = 0u; j < KB / SG; j++) {
        wb[j] = (k0 + j * SG + lane) * p.wk_stride;
    }
    var acc: array<f32, MAX_ACC>;
    for (var r = 0u; r < p.kh; r++) {
        for (var s = 0u; s < p.kw; s++) {
            let xo = (r * p.dil_h * p.wp + s * p.dil_w) * p.cv;
            let wo = (r * p.kw + s) * p.cv;
            for (var c = 0u; c < p.cv; c++) {
                var xv: array<vec4<f32>, MAX_PB>;
                for (var q = 0u; q < PB; q++) {
                    xv[q] = x[xb[q] + xo + c];
                }
                var wv: array<vec4<f32>, MAX_WV>;
                for (var j = 0u; j < KB / SG; j++) {
                    wv[j] = wt[wb[j] + wo + c];
                }
                for (var kk = 0u; kk < KB; kk++) {
                    let wk = subgroupShuffle(wv[kk / SG], kk % SG);
                    for (var q = 0u; q < PB; q++) {
                        let xq = xv[q];
                        let a = kk * PB + q;
                        acc[a] = fma(wk.x, xq.x, fma(wk.y, xq.y, fma(wk.z, xq.z, fma(wk.w, xq.w, acc[a]))));
                    }
                }
            }
        }
    }
    for (var q = 0u; q < PB; q++) {
        let m = m0 + q;
        if (m >= p.m) {
            break;
        }
        let n = m / p.pq;
        let ybase = n * p.k * p.pq + (m - n * p.pq);
        for (var kk = 0u; kk < KB; kk++) {
            let k = k0 + kk;
            if (k >= p.k) {
                break;
            }
            let yi = ybase + k * p.pq;
            y[yi] = epilogue(acc[kk * PB + q], k, yi);
        }
    }
}

@compute @workgroup_size(SG)
fn weight_grad(@builtin(workgroup_id) wid: vec3<u32>, @builtin(subgroup_invocation_id) lane: u32) {
    // Lane owns dy channels k0 + lane*DPL .. + DPL (DPL = KB/SG, loaded as DPL/4 vec4s)
    // and the vec4s j0 + lane*JB + jj of (r, s, c/4).
    let dpl = KB / SG;
    let k0 = wid.y * KB;
    let jblk = wid.x * SG * JB;
    var joff: array<u32, JB>;
    for (var jj = 0u; jj < JB; jj++) {
        let j = min(jblk + lane * JB + jj, p.jv - 1u);
        let c = j % p.cv;
        let rs = j / p.cv;
        let r = rs / p.kw;
        let s = rs - r * p.kw;
        joff[jj] = (r * p.dil_h * p.wp + s * p.dil_w) * p.cv + c;
    }
    let pix0 = wid.z * p.chunk;
    let pix1 = min(pix0 + p.chunk, p.m);
    var acc: array<vec4<f32>, MAX_ACC4>;
    let dyo = k0 / 4u + lane * (dpl / 4u);
    for (var m = pix0; m < pix1; m++) {
        let n = m / p.pq;
        let rem = m - n * p.pq;
        let oh = rem / p.ow;
        let ow = rem - oh * p.ow;
        let xb = ((n * p.hp + oh * p.stride_h) * p.wp + ow * p.stride_w) * p.cv;
        var xv: array<vec4<f32>, JB>;
        for (var jj = 0u; jj < JB; jj++) {
            xv[jj] = gx[xb + joff[jj]];
        }
        var dv: array<vec4<f32>, MAX_DYV>;
        for (var t = 0u; t < dpl / 4u; t++) {
            dv[t] = gdy[m * p.kv + dyo + t];
        }
        for (var l = 0u; l < SG; l++) {
            for (var t = 0u; t < dpl / 4u; t++) {
                let d4 = subgroupShuffle(dv[t], l);
                for (var e = 0u; e < 4u; e++) {
                    let kk = l * dpl + t * 4u + e;
                    let de = d4[e];
                    for (var jj = 0u; jj < JB; jj++) {
                        acc[kk * JB + jj] = fma(vec4<f32>(de), xv[jj], acc[kk * JB + jj]);
                    }
                }
            }
        }
    }
    for (var jj = 0u; jj < JB; jj++) {
        let j = jblk + lane * JB + jj;
        if (j >= p.jv) {
            break;
        }
        for (var kk = 0u; kk < KB; kk++) {
            let k = k0 + kk;
            if (k >= p.k) {
                break;
            }
            gpart[(wid.z * p.k + k) * p.jv + j] = acc[kk * JB + jj];
        }
    }
}
