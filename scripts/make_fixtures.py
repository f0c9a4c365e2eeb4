#!/usr/bin/env python3
"""Generate PyTorch reference fixtures for shadernet's kernel tests.

Usage:
    python3 scripts/make_fixtures.py [--out tests/fixtures] [--only NAME]

Writes one safetensors file per op family (elementwise, reduce, matmul,
cross_entropy, conv2d, pool, batch_norm). See tests/fixtures/README.md for
the exact format. Summary:

* tensors are named "<case>.<role>" (e.g. "c07.x", "c07.dw"); cases are
  "c00", "c01", ... numbered per file;
* inputs are float32 (labels / indices: int64);
* expected outputs and gradients are computed by torch in float64 from the
  float32 inputs (upcast) and stored as float64;
* __metadata__ maps each case name to a JSON object with the op parameters,
  the role lists, and "spread_<output>" = max|out32 - out64| / max|out64|
  (PyTorch's own float32-vs-float64 discrepancy);
* backward passes use a stored upstream gradient "dy": gradients are
  d(sum(y * dy)) / d(input).

Everything is deterministic: each case draws from its own generator whose
seed is derived from "<family>/<case>", so --only regenerates identical
bytes.
"""

import argparse
import json
import math
import os
import struct
import sys
import warnings
import zlib

import torch
import torch.nn.functional as F

torch.use_deterministic_algorithms(True)
warnings.filterwarnings("ignore", message="Using padding='same'")
torch.set_num_threads(1)
torch.set_num_interop_threads(1)

FORMAT_VERSION = 1


# --------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------

class Family:
    """Collects the cases of one op family (= one safetensors file)."""

    def __init__(self, name):
        self.name = name
        self.tensors = {}
        self.meta = {}
        self.count = 0

    def next_case(self):
        case = "c%02d" % self.count
        self.count += 1
        g = torch.Generator().manual_seed(zlib.crc32(f"{self.name}/{case}".encode()))
        return case, g

    def add(self, case, params, inputs, outputs, spreads):
        for role, t in list(inputs.items()) + list(outputs.items()):
            key = f"{case}.{role}"
            assert key not in self.tensors, key
            if t.is_floating_point():
                t = t.to(torch.float32 if role in inputs else torch.float64)
            else:
                t = t.to(torch.int64)
            self.tensors[key] = t.detach().contiguous().clone()
        m = dict(params)
        m["inputs"] = list(inputs.keys())
        m["outputs"] = list(outputs.keys())
        for k, v in spreads.items():
            m["spread_" + k] = v
        self.meta[case] = json.dumps(m, separators=(",", ":"))

    def save(self, out_dir):
        path = os.path.join(out_dir, f"{self.name}.safetensors")
        write_safetensors(path, self.tensors, self.meta)
        return path


_DTYPES = {torch.float32: ("F32", "<f4"), torch.float64: ("F64", "<f8"),
           torch.int64: ("I64", "<i8")}


def write_safetensors(path, tensors, metadata):
    """Write a standard safetensors file with a deterministic header.

    safetensors.torch.save_file emits __metadata__ in hash-map order, so
    regenerating would churn the bytes; this writer sorts everything (tensor
    data in sorted-name order, header keys sorted, header padded with spaces
    to a multiple of 8 as the format requires) so identical content gives
    identical files."""
    header = {"__metadata__": dict(sorted(metadata.items()))}
    blobs, offset = [], 0
    for name in sorted(tensors):
        t = tensors[name]
        tag, np_dtype = _DTYPES[t.dtype]
        data = t.contiguous().numpy().astype(np_dtype, copy=False).tobytes()
        header[name] = {"dtype": tag, "shape": list(t.shape),
                        "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    hb = json.dumps(header, separators=(",", ":"), sort_keys=True).encode()
    hb += b" " * (-len(hb) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(hb)))
        f.write(hb)
        for data in blobs:
            f.write(data)


def spread(o32, o64):
    """max|o32 - o64| / max|o64| (absolute diff if o64 is all zero)."""
    o64 = o64.detach().double()
    if o64.numel() == 0:
        return 0.0
    diff = (o32.detach().double() - o64).abs().max().item()
    den = o64.abs().max().item()
    return float(diff / den) if den > 0 else float(diff)


def evaluate(fn, inputs, diff, dtype, grad_of="y"):
    """Run fn on inputs cast to dtype; return dict of outputs (+ gradients).

    fn(ins) -> dict role -> tensor. Floating inputs are cast to dtype; those
    listed in `diff` require grad. If grad_of == "y" the gradient of
    sum(y * dy) is taken (dy must be an input); otherwise grad_of names a
    scalar output whose gradient is taken. Gradient roles are "d" + name.
    """
    ins = {}
    for k, v in inputs.items():
        if v.is_floating_point():
            v = v.detach().to(dtype).clone()
            if k in diff:
                v.requires_grad_(True)
        else:
            v = v.detach().clone()
        ins[k] = v
    outs = fn(ins)
    res = {k: v for k, v in outs.items()}
    if diff:
        if grad_of == "y":
            s = (outs["y"] * ins["dy"]).sum()
        else:
            s = outs[grad_of]
        grads = torch.autograd.grad(s, [ins[k] for k in diff])
        for k, gr in zip(diff, grads):
            res["d" + k] = gr
    return {k: v.detach() for k, v in res.items()}


def run_case(fam, params, inputs, fn, diff=(), grad_of="y", drop=()):
    """Evaluate in f32 and f64, record the f64 results plus spreads.

    `drop` lists output roles to not store (e.g. helper outputs)."""
    diff = list(diff)
    o64 = evaluate(fn, inputs, diff, torch.float64, grad_of)
    o32 = evaluate(fn, inputs, diff, torch.float32, grad_of)
    outputs, spreads = {}, {}
    for k, v in o64.items():
        if k in drop:
            continue
        outputs[k] = v
        if v.is_floating_point():
            spreads[k] = spread(o32[k], v)
        else:
            # integer outputs must agree exactly between f32 and f64 runs
            if not torch.equal(o32[k], v):
                print(f"warning: {fam.name} {params} int output {k} differs f32/f64",
                      file=sys.stderr)
    case = params.pop("_case")
    fam.add(case, params, inputs, outputs, spreads)
    return case


def randn(g, *shape, scale=1.0):
    return (torch.randn(tuple(shape), generator=g, dtype=torch.float32) * scale).float()


def uniform(g, lo, hi, *shape):
    return (torch.rand(tuple(shape), generator=g, dtype=torch.float32) * (hi - lo) + lo).float()


def away_from(x, points, eps=1e-2):
    """Nudge values within eps of any of `points` to point +/- eps*1.5."""
    x = x.clone()
    for p in points:
        near = (x - p).abs() < eps
        x = torch.where(near & (x >= p), torch.full_like(x, p + 1.5 * eps), x)
        x = torch.where(near & (x < p), torch.full_like(x, p - 1.5 * eps), x)
    return x.float()


# --------------------------------------------------------------------------
# elementwise
# --------------------------------------------------------------------------

def gen_elementwise():
    fam = Family("elementwise")
    shapes = [[1], [7], [33], [129], [2, 5, 10, 10]]  # numel 1, 7, 33, 129, 1000

    binops = {
        "add": lambda a, b: a + b,
        "sub": lambda a, b: a - b,
        "mul": lambda a, b: a * b,
        "div": lambda a, b: a / b,
    }
    for op, f in binops.items():
        for shape in shapes:
            case, g = fam.next_case()
            a = randn(g, *shape)
            if op == "div":
                mag = uniform(g, 0.5, 2.0, *shape)
                sign = torch.where(torch.rand(*shape, generator=g) < 0.5, -1.0, 1.0)
                b = (mag * sign).float()
            else:
                b = randn(g, *shape)
            dy = randn(g, *shape)
            run_case(fam, {"_case": case, "op": op, "shape": shape},
                     {"a": a, "b": b, "dy": dy},
                     lambda i, f=f: {"y": f(i["a"], i["b"])}, diff=["a", "b"])

    # scalar ops: scalars are exactly representable in f32
    for op, scalars in (("add_scalar", [0.75, -2.5]), ("mul_scalar", [1.25, -0.375])):
        for shape, s in ((shapes[2], scalars[0]), (shapes[4], scalars[1]), (shapes[0], scalars[0])):
            case, g = fam.next_case()
            x = randn(g, *shape)
            dy = randn(g, *shape)
            f = (lambda t, s=s: t + s) if op == "add_scalar" else (lambda t, s=s: t * s)
            run_case(fam, {"_case": case, "op": op, "shape": shape, "scalar": s},
                     {"x": x, "dy": dy}, lambda i, f=f: {"y": f(i["x"])}, diff=["x"])

    # relu / relu6: values spanning -2..8, kept away from the kinks 0 and 6
    for op, f in (("relu", F.relu), ("relu6", F.relu6)):
        for shape in shapes:
            case, g = fam.next_case()
            x = away_from(uniform(g, -2.0, 8.0, *shape), [0.0, 6.0])
            dy = randn(g, *shape)
            run_case(fam, {"_case": case, "op": op, "shape": shape},
                     {"x": x, "dy": dy}, lambda i, f=f: {"y": f(i["x"])}, diff=["x"])

    # bias_add over channels, NCHW: y = x + b[None, :, None, None]
    for n, c, h, w in ((1, 1, 1, 1), (3, 5, 7, 13), (2, 17, 3, 5), (1, 33, 1, 1), (3, 7, 13, 13)):
        case, g = fam.next_case()
        x = randn(g, n, c, h, w)
        b = randn(g, c)
        dy = randn(g, n, c, h, w)
        run_case(fam, {"_case": case, "op": "bias_add", "n": n, "c": c, "h": h, "w": w,
                       "shape": [n, c, h, w]},
                 {"x": x, "b": b, "dy": dy},
                 lambda i: {"y": i["x"] + i["b"][None, :, None, None]}, diff=["x", "b"])
    return fam


# --------------------------------------------------------------------------
# reduce
# --------------------------------------------------------------------------

def gen_reduce():
    fam = Family("reduce")
    cfgs = [
        ([1], [0]),
        ([129], [0]),
        ([1000], [0]),
        ([7, 33], [0]),
        ([7, 33], [1]),
        ([7, 33], [0, 1]),
        ([129, 5], [1]),
        ([5, 7, 13], [0]),
        ([5, 7, 13], [1]),
        ([5, 7, 13], [2]),
        ([5, 7, 13], [0, 2]),
        ([5, 7, 13], [0, 1, 2]),
        ([3, 5, 7, 13], [0, 2, 3]),   # per-channel (batch-norm style)
        ([3, 5, 7, 13], [2, 3]),      # global spatial
        ([3, 5, 7, 13], [1]),
        ([3, 5, 7, 13], [3]),
        ([3, 5, 7, 13], [0, 1, 2, 3]),
        ([1, 17, 1, 33], [1, 3]),
    ]
    for op in ("sum", "mean"):
        for shape, axes in cfgs:
            for keepdim in (False, True):
                case, g = fam.next_case()
                x = randn(g, *shape)
                f = torch.sum if op == "sum" else torch.mean
                yshape = list(f(torch.zeros(shape), dim=axes, keepdim=keepdim).shape)
                dy = randn(g, *yshape)
                run_case(fam, {"_case": case, "op": op, "shape": shape, "axes": axes,
                               "keepdim": keepdim, "out_shape": yshape},
                         {"x": x, "dy": dy},
                         lambda i, f=f, axes=axes, keepdim=keepdim:
                             {"y": f(i["x"], dim=axes, keepdim=keepdim)},
                         diff=["x"])
    return fam


# --------------------------------------------------------------------------
# matmul
# --------------------------------------------------------------------------

def gen_matmul():
    fam = Family("matmul")
    cfgs = []
    # all four transpose combos on a few shapes
    for m, n, k in ((7, 33, 129), (33, 7, 1), (13, 5, 17)):
        for ta in (False, True):
            for tb in (False, True):
                cfgs.append((1, m, n, k, ta, tb))
    cfgs.append((1, 64, 48, 96, False, False))  # a "nice" shape, for contrast
    # shape sweep over {1, 7, 33, 129}, transposes cycled
    sweep = [(1, 1, 1), (1, 7, 33), (7, 1, 129), (129, 33, 1), (33, 129, 7),
             (129, 1, 33), (1, 129, 7), (7, 7, 7), (33, 33, 33), (129, 7, 33),
             (7, 129, 129), (129, 129, 7)]
    combos = [(False, False), (False, True), (True, False), (True, True)]
    for idx, (m, n, k) in enumerate(sweep):
        ta, tb = combos[idx % 4]
        cfgs.append((1, m, n, k, ta, tb))
    # batched
    for idx, (m, n, k) in enumerate(((7, 33, 13), (33, 7, 17), (1, 5, 129), (13, 1, 7))):
        ta, tb = combos[idx % 4]
        cfgs.append((3, m, n, k, ta, tb))
    cfgs.append((3, 17, 13, 33, True, True))

    for batch, m, n, k, ta, tb in cfgs:
        case, g = fam.next_case()
        ashape = [k, m] if ta else [m, k]
        bshape = [n, k] if tb else [k, n]
        if batch > 1:
            ashape = [batch] + ashape
            bshape = [batch] + bshape
        yshape = ([batch] if batch > 1 else []) + [m, n]
        a = randn(g, *ashape)
        b = randn(g, *bshape)
        dy = randn(g, *yshape)

        def fn(i, ta=ta, tb=tb):
            A = i["a"].transpose(-1, -2) if ta else i["a"]
            B = i["b"].transpose(-1, -2) if tb else i["b"]
            return {"y": A @ B}

        run_case(fam, {"_case": case, "op": "matmul", "batch": batch, "m": m, "n": n, "k": k,
                       "trans_a": ta, "trans_b": tb},
                 {"a": a, "b": b, "dy": dy}, fn, diff=["a", "b"])
    return fam


# --------------------------------------------------------------------------
# cross entropy
# --------------------------------------------------------------------------

def gen_cross_entropy():
    fam = Family("cross_entropy")
    cfgs = []
    for n in (1, 7, 33):
        for classes in (2, 10, 100):
            for ls in (0.0, 0.1):
                cfgs.append((n, classes, ls, 2.0))
    cfgs.append((7, 37, 0.0, 30.0))   # large logits: needs max-subtraction
    cfgs.append((33, 17, 0.1, 30.0))
    for n, classes, ls, scale in cfgs:
        case, g = fam.next_case()
        logits = randn(g, n, classes, scale=scale)
        labels = torch.randint(0, classes, (n,), generator=g, dtype=torch.int64)
        # make some predictions correct so "correct" is not always 0
        if n > 1:
            logits[0, labels[0]] += 3.0 * scale

        def fn(i, ls=ls):
            lg = i["logits"]
            lsm = F.log_softmax(lg, dim=1)
            loss = F.cross_entropy(lg, i["labels"], label_smoothing=ls, reduction="mean")
            am = lg.argmax(dim=1)
            correct = (am == i["labels"]).sum().to(torch.int64)
            return {"loss": loss, "log_softmax": lsm, "argmax": am, "correct": correct}

        run_case(fam, {"_case": case, "op": "cross_entropy", "n": n, "classes": classes,
                       "label_smoothing": ls, "reduction": "mean"},
                 {"logits": logits, "labels": labels}, fn, diff=["logits"],
                 grad_of="loss")
    return fam


# --------------------------------------------------------------------------
# conv2d
# --------------------------------------------------------------------------

def conv_out(size, k, s, p0, p1, d):
    return (size + p0 + p1 - d * (k - 1) - 1) // s + 1


def gen_conv2d():
    fam = Family("conv2d")
    # (n, c_in, h, w, c_out, kh, kw, stride, padding(t,b,l,r) | "same", dilation, groups, bias)
    P = lambda p: [p, p, p, p]  # noqa: E731
    cfgs = [
        (1, 1, 1, 1, 1, 1, 1, (1, 1), P(0), (1, 1), 1, True),
        (1, 1, 5, 5, 1, 3, 3, (1, 1), P(0), (1, 1), 1, False),
        (3, 3, 7, 7, 5, 3, 3, (1, 1), P(1), (1, 1), 1, True),
        (1, 3, 13, 13, 4, 3, 3, (2, 2), P(1), (1, 1), 1, True),
        (3, 5, 13, 7, 4, 3, 3, (2, 1), P(1), (1, 1), 1, True),
        (1, 5, 9, 11, 7, 5, 5, (1, 1), P(2), (1, 1), 1, True),
        (3, 17, 13, 13, 5, 5, 5, (2, 2), P(2), (1, 1), 1, False),
        (1, 3, 33, 33, 8, 7, 7, (2, 2), P(3), (1, 1), 1, True),
        (1, 3, 33, 33, 5, 11, 11, (4, 4), P(2), (1, 1), 1, True),   # AlexNet-ish stem
        (3, 5, 12, 10, 3, 1, 1, (1, 1), P(0), (1, 1), 1, True),     # pointwise
        (1, 17, 13, 13, 33, 1, 1, (1, 1), P(0), (1, 1), 1, False),
        (3, 17, 7, 5, 3, 1, 1, (2, 2), P(0), (1, 1), 1, True),      # strided 1x1
        (1, 3, 13, 11, 5, 3, 3, (3, 3), P(0), (1, 1), 1, True),
        (3, 5, 13, 13, 7, 3, 3, (4, 3), P(3), (1, 1), 1, True),
        (1, 5, 11, 13, 3, 3, 5, (1, 2), [1, 1, 2, 2], (1, 1), 1, True),  # rect kernel
        (1, 3, 2, 3, 4, 3, 3, (1, 1), P(1), (1, 1), 1, True),       # tiny spatial
        (3, 1, 1, 13, 2, 1, 3, (1, 1), [0, 0, 1, 1], (1, 1), 1, True),   # H=1
        (1, 5, 4, 4, 3, 5, 5, (1, 1), P(3), (1, 1), 1, True),       # kernel > input
        # dilation
        (1, 3, 13, 13, 4, 3, 3, (1, 1), P(2), (2, 2), 1, True),
        (3, 5, 13, 11, 3, 3, 3, (2, 1), P(1), (2, 2), 1, False),
        (1, 3, 17, 13, 2, 5, 3, (1, 1), P(0), (2, 3), 1, True),
        # asymmetric padding (F.pad then conv)
        (1, 3, 7, 7, 4, 3, 3, (2, 2), [0, 1, 0, 1], (1, 1), 1, True),   # TF-style SAME, s2
        (3, 5, 13, 9, 3, 3, 3, (2, 2), [1, 0, 2, 0], (1, 1), 1, True),
        (1, 1, 6, 5, 3, 4, 4, (1, 1), [1, 2, 2, 1], (1, 1), 1, False),
        # padding='same' (stride 1; even kernels pad more on bottom/right)
        (1, 3, 13, 13, 5, 3, 3, (1, 1), "same", (1, 1), 1, True),
        (3, 5, 7, 9, 3, 4, 4, (1, 1), "same", (1, 1), 1, True),
        (1, 3, 13, 11, 4, 3, 5, (1, 1), "same", (2, 2), 1, True),
        # grouped
        (1, 4, 9, 9, 6, 3, 3, (1, 1), P(1), (1, 1), 2, True),
        (3, 6, 7, 13, 9, 3, 3, (2, 1), P(1), (1, 1), 3, True),
        (1, 64, 5, 5, 64, 3, 3, (1, 1), P(1), (1, 1), 32, True),
        (3, 64, 3, 3, 64, 1, 1, (1, 1), P(0), (1, 1), 32, False),
        (1, 34, 7, 7, 17, 3, 3, (1, 1), P(1), (1, 1), 17, True),     # 2 in / 1 out per group
        # depthwise (groups = c_in)
        (1, 3, 13, 13, 3, 3, 3, (1, 1), P(1), (1, 1), 3, True),
        (3, 17, 13, 13, 17, 3, 3, (2, 2), P(1), (1, 1), 17, True),
        (1, 5, 33, 33, 5, 3, 3, (1, 1), P(1), (1, 1), 5, False),
        (3, 5, 11, 9, 5, 5, 5, (1, 1), P(2), (1, 1), 5, True),
        (1, 32, 7, 7, 32, 3, 3, (2, 2), P(1), (1, 1), 32, True),
        (1, 5, 13, 13, 5, 3, 3, (1, 1), P(2), (2, 2), 5, True),      # dilated depthwise
        (3, 3, 9, 9, 6, 3, 3, (1, 1), P(1), (1, 1), 3, True),        # channel multiplier 2
        (1, 17, 13, 7, 34, 3, 3, (2, 1), P(1), (1, 1), 17, False),   # multiplier 2, strided
        (3, 5, 5, 5, 5, 7, 7, (1, 1), P(3), (1, 1), 5, True),
    ]
    for (n, c_in, h, w, c_out, kh, kw, stride, padding, dilation, groups, bias) in cfgs:
        case, g = fam.next_case()
        same = padding == "same"
        if same:
            th, tw = dilation[0] * (kh - 1), dilation[1] * (kw - 1)
            padding = [th // 2, th - th // 2, tw // 2, tw - tw // 2]
        pt, pb, pl, pr = padding
        ho = conv_out(h, kh, stride[0], pt, pb, dilation[0])
        wo = conv_out(w, kw, stride[1], pl, pr, dilation[1])
        assert ho >= 1 and wo >= 1, (case, ho, wo)
        assert c_in % groups == 0 and c_out % groups == 0
        fan_in = (c_in // groups) * kh * kw
        x = randn(g, n, c_in, h, w)
        wt = randn(g, c_out, c_in // groups, kh, kw, scale=1.0 / math.sqrt(fan_in))
        inputs = {"x": x, "w": wt}
        if bias:
            inputs["b"] = randn(g, c_out)
        inputs["dy"] = randn(g, n, c_out, ho, wo)
        sym = pt == pb and pl == pr

        def fn(i, stride=stride, padding=padding, dilation=dilation, groups=groups,
               same=same, sym=sym):
            b = i.get("b")
            if same:
                y = F.conv2d(i["x"], i["w"], b, stride=1, padding="same",
                             dilation=dilation, groups=groups)
            elif sym:
                y = F.conv2d(i["x"], i["w"], b, stride=stride,
                             padding=(padding[0], padding[2]), dilation=dilation,
                             groups=groups)
            else:
                xp = F.pad(i["x"], (padding[2], padding[3], padding[0], padding[1]))
                y = F.conv2d(xp, i["w"], b, stride=stride, padding=0,
                             dilation=dilation, groups=groups)
            return {"y": y}

        diff = ["x", "w"] + (["b"] if bias else [])
        params = {"_case": case, "op": "conv2d", "n": n, "c_in": c_in, "h": h, "w": w,
                  "c_out": c_out, "kh": kh, "kw": kw, "stride": list(stride),
                  "padding": list(padding), "dilation": list(dilation),
                  "groups": groups, "bias": bias, "h_out": ho, "w_out": wo,
                  "same": same}
        run_case(fam, params, inputs, fn, diff=diff)
        y_shape = fam.tensors[f"{case}.y"].shape
        assert list(y_shape) == [n, c_out, ho, wo], (case, y_shape)
    return fam


# --------------------------------------------------------------------------
# pooling
# --------------------------------------------------------------------------

def pool_out(size, k, s, p, d, ceil):
    """PyTorch's pooling output size (with the ceil_mode last-window rule)."""
    eff = d * (k - 1) + 1
    num = size + 2 * p - eff
    if ceil:
        o = -(-num // s) + 1
        if (o - 1) * s >= size + p:
            o -= 1
    else:
        o = num // s + 1
    return o


def gen_pool():
    fam = Family("pool")
    # max_pool2d: (n, c, h, w, k, stride, pad, dilation, ceil, ties)
    mp = [
        (1, 1, 4, 4, 2, 2, 0, 1, False, False),
        (3, 5, 13, 13, 2, 2, 0, 1, False, False),       # odd input, floor
        (3, 5, 13, 13, 2, 2, 0, 1, True, False),        # odd input, ceil
        (1, 3, 7, 9, 3, 2, 1, 1, False, False),         # ResNet stem style
        (3, 3, 13, 11, 3, 2, 1, 1, True, False),
        (1, 5, 7, 7, 3, 1, 1, 1, False, False),         # stride 1, overlapping
        (1, 3, 13, 13, 3, 2, 0, 2, False, False),       # dilation 2
        (1, 3, 12, 10, 2, 1, 0, 2, True, False),
        (3, 17, 5, 5, 2, 2, 1, 1, True, False),
        (1, 1, 1, 1, 2, 2, 1, 1, True, False),          # window mostly padding
        (1, 2, 9, 9, 3, 1, 1, 1, False, True),          # ties, overlapping windows
        (3, 3, 8, 8, 2, 2, 0, 1, False, True),          # ties, 2x2
    ]
    for n, c, h, w, k, s, p, d, ceil, ties in mp:
        case, g = fam.next_case()
        if ties:
            # few distinct values -> many ties; values are exact in f32 and f64
            x = torch.randint(-2, 3, (n, c, h, w), generator=g).float()
        else:
            x = randn(g, n, c, h, w)
        ho = pool_out(h, k, s, p, d, ceil)
        wo = pool_out(w, k, s, p, d, ceil)
        dy = randn(g, n, c, ho, wo)

        def fn(i, k=k, s=s, p=p, d=d, ceil=ceil):
            y, idx = F.max_pool2d(i["x"], k, s, p, d, ceil_mode=ceil, return_indices=True)
            return {"y": y, "indices": idx}

        run_case(fam, {"_case": case, "op": "max_pool2d", "n": n, "c": c, "h": h, "w": w,
                       "kh": k, "kw": k, "stride": [s, s], "padding": [p, p],
                       "dilation": [d, d], "ceil_mode": ceil, "ties": ties,
                       "h_out": ho, "w_out": wo},
                 {"x": x, "dy": dy}, fn, diff=["x"])
        assert list(fam.tensors[f"{case}.y"].shape) == [n, c, ho, wo], case

    # avg_pool2d: (n, c, h, w, k, stride, pad, ceil, count_include_pad, divisor_override)
    ap = [
        (1, 1, 4, 4, 2, 2, 0, False, True, None),
        (3, 5, 13, 13, 2, 2, 0, False, True, None),
        (3, 5, 13, 13, 2, 2, 0, True, True, None),
        (1, 3, 7, 9, 3, 2, 1, False, True, None),
        (1, 3, 7, 9, 3, 2, 1, False, False, None),
        (3, 3, 13, 11, 3, 2, 1, True, True, None),
        (3, 3, 13, 11, 3, 2, 1, True, False, None),
        (1, 5, 7, 7, 3, 1, 1, False, True, None),
        (1, 5, 7, 7, 3, 1, 1, False, False, None),
        (1, 3, 9, 9, 3, 2, 1, False, True, 5),
        (3, 17, 5, 5, 2, 2, 1, True, False, None),
    ]
    for n, c, h, w, k, s, p, ceil, cip, dov in ap:
        case, g = fam.next_case()
        x = randn(g, n, c, h, w)
        ho = pool_out(h, k, s, p, 1, ceil)
        wo = pool_out(w, k, s, p, 1, ceil)
        dy = randn(g, n, c, ho, wo)

        def fn(i, k=k, s=s, p=p, ceil=ceil, cip=cip, dov=dov):
            return {"y": F.avg_pool2d(i["x"], k, s, p, ceil_mode=ceil,
                                      count_include_pad=cip, divisor_override=dov)}

        run_case(fam, {"_case": case, "op": "avg_pool2d", "n": n, "c": c, "h": h, "w": w,
                       "kh": k, "kw": k, "stride": [s, s], "padding": [p, p],
                       "ceil_mode": ceil, "count_include_pad": cip,
                       "divisor_override": dov, "h_out": ho, "w_out": wo},
                 {"x": x, "dy": dy}, fn, diff=["x"])
        assert list(fam.tensors[f"{case}.y"].shape) == [n, c, ho, wo], case

    # adaptive_avg_pool2d: (n, c, h, w, out_h, out_w)
    aap = [
        (1, 3, 13, 13, 5, 5),
        (3, 5, 7, 7, 3, 3),
        (1, 3, 5, 5, 1, 1),
        (3, 17, 7, 5, 1, 1),     # global average pool
        (1, 3, 13, 9, 4, 7),
        (1, 2, 3, 3, 5, 5),      # upsampling-ish: out > in
        (3, 33, 4, 4, 1, 1),
    ]
    for n, c, h, w, oh, ow in aap:
        case, g = fam.next_case()
        x = randn(g, n, c, h, w)
        dy = randn(g, n, c, oh, ow)
        run_case(fam, {"_case": case, "op": "adaptive_avg_pool2d", "n": n, "c": c,
                       "h": h, "w": w, "out_h": oh, "out_w": ow, "h_out": oh, "w_out": ow},
                 {"x": x, "dy": dy},
                 lambda i, oh=oh, ow=ow: {"y": F.adaptive_avg_pool2d(i["x"], (oh, ow))},
                 diff=["x"])
    return fam


# --------------------------------------------------------------------------
# batch norm
# --------------------------------------------------------------------------

def gen_batch_norm():
    fam = Family("batch_norm")
    eps, momentum = 1e-5, 0.1
    cfgs = []
    for n in (1, 3):
        for c in (1, 3, 17):
            for h, w in ((1, 1), (5, 7), (13, 13)):
                if n == 1 and h * w == 1:
                    continue  # a single value per channel: variance 0
                if n == 3 and c == 17 and h == 13:
                    continue  # size budget; (1, 17, 13, 13) covers it
                cfgs.append((n, c, h, w))
    for n, c, h, w in cfgs:
        case, g = fam.next_case()
        # non-zero mean / non-unit variance per channel
        x = (randn(g, n, c, h, w) * uniform(g, 0.5, 3.0, 1, c, 1, 1)
             + randn(g, 1, c, 1, 1, scale=2.0)).float()
        gamma = uniform(g, 0.5, 1.5, c)
        beta = randn(g, c, scale=0.5)
        running_mean = randn(g, c, scale=0.5)
        running_var = uniform(g, 0.5, 2.0, c)
        dy = randn(g, n, c, h, w)

        def fn(i):
            rm = i["running_mean"].clone()
            rv = i["running_var"].clone()
            y = F.batch_norm(i["x"], rm, rv, i["gamma"], i["beta"], training=True,
                             momentum=momentum, eps=eps)
            y_eval = F.batch_norm(i["x"], i["running_mean"], i["running_var"],
                                  i["gamma"], i["beta"], training=False,
                                  momentum=momentum, eps=eps)
            xd = i["x"].detach()
            return {"y": y, "new_running_mean": rm, "new_running_var": rv,
                    "y_eval": y_eval,
                    "batch_mean": xd.mean(dim=(0, 2, 3)),
                    "batch_var": xd.var(dim=(0, 2, 3), unbiased=False)}

        run_case(fam, {"_case": case, "op": "batch_norm", "n": n, "c": c, "h": h, "w": w,
                       "eps": eps, "momentum": momentum},
                 {"x": x, "gamma": gamma, "beta": beta, "running_mean": running_mean,
                  "running_var": running_var, "dy": dy},
                 fn, diff=["x", "gamma", "beta"])
    return fam


FAMILIES = {
    "elementwise": gen_elementwise,
    "reduce": gen_reduce,
    "matmul": gen_matmul,
    "cross_entropy": gen_cross_entropy,
    "conv2d": gen_conv2d,
    "pool": gen_pool,
    "batch_norm": gen_batch_norm,
}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures"))
    ap.add_argument("--only", choices=sorted(FAMILIES), action="append",
                    help="generate only this family (repeatable)")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    names = args.only or list(FAMILIES)
    for name in names:
        fam = FAMILIES[name]()
        path = fam.save(args.out)
        size = os.path.getsize(path)
        worst = max((v for m in fam.meta.values() for k, v in json.loads(m).items()
                     if k.startswith("spread_")), default=0.0)
        print(f"{os.path.relpath(path)}: {fam.count} cases, {len(fam.tensors)} tensors, "
              f"{size / 1024:.1f} KiB, max spread {worst:.2e}")


if __name__ == "__main__":
    main()
