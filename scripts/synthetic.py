#!/usr/bin/env python3
"""Deterministic hash generator for synthetic weights and inputs.

Shared with Rust (`crates/nn/src/synthetic.rs`): both implement exactly this
spec and produce bit-identical float32 values, so model-level fixtures can
commit only small outputs (logits, losses, final parameters) while the large
inputs (ImageNet-sized weights, images) are regenerated on either side.

Spec (generator "shadernet-synthetic-v1"; all integer arithmetic is unsigned
64-bit with wraparound):

    key(name)  = FNV-1a 64 of the UTF-8 bytes of name
                 (h = 0xCBF29CE484222325; per byte: h ^= b; h *= 0x100000001B3)
    mix(z)     = splitmix64 finalizer:
                 z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9
                 z = (z ^ (z >> 27)) * 0x94D049BB133111EB
                 z =  z ^ (z >> 31)
    bits(seed, name, i) = mix(seed ^ key(name) ^ (i * 0x9E3779B97F4A7C15))
    u(seed, name, i)    = (bits >> 11) * 2^-53          (f64, in [0, 1))

A tensor of shape S (numel n, row-major flat index i = 0..n-1) of kind K is,
computed in f64 and rounded once to f32 (round to nearest even):

    Uniform{b}      : (2*u(i) - 1) * b                      U(-b, b)
    Range{lo, hi}   : lo + (hi - lo) * u(i)                 U(lo, hi)
    Normalish{s}    : ((((u(4i) + u(4i+1)) + u(4i+2)) + u(4i+3)) - 2)
                      * 1.7320508075688772 * s              ~ s * N(0, 1)
                      (Irwin-Hall of 4, variance 1 after the sqrt(3); evaluated
                      strictly left to right, no fused multiply-add)
    Zero            : 0

Kind rules, version 1 (`RULES_VERSION`), by the last dot-separated part of a
state-dict name and the shape (these reproduce models.md's initialization,
made non-trivial for BN so every term of the BN formula is exercised):

    *.weight, rank >= 2 (conv/linear)  Uniform{1/sqrt(fan_in)},
                                       fan_in = prod(shape[1:]) = in/groups*kh*kw
    *.bias of a conv/linear            Uniform{1/sqrt(fan_in of <prefix>.weight)}
    *.weight, rank 1 (BatchNorm)       Range{0.5, 1.5}
    *.bias of a BatchNorm              Normalish{0.1}   (its weight has rank 1)
    *.running_mean                     Normalish{0.1}
    *.running_var                      Range{0.5, 1.5}
    *.num_batches_tracked              Zero (stored as int64 0)

Parameters use seed 0 and their full PyTorch name (e.g. "layer1.0.conv1.weight").
Inputs: name "input", seed 1, Normalish{1.0}; training images: name "images",
seed 2, Normalish{1.0}; training labels: floor(u(3, "labels", i) * classes)
(f64 product, then floor).

Golden values (also asserted by `cargo test -p shadernet-nn --lib synthetic`
and by `python3 scripts/synthetic.py`):

    key("")                          = 0xcbf29ce484222325
    key("conv1.weight")              = 0x69a29a2cee47d254
    bits(0, "conv1.weight", 0)       = 0x518adaf9dfb88fbe
    u(0, "conv1.weight", 0)          = 0.3185250148814892
    u(1, "input", 12345)             = 0.08118413683021708
    u(3, "labels", 0..8) * 10 floor  = [7, 9, 8, 3, 8, 0, 3, 3]
    tensor(0, "conv1.weight", [6,3,5,5], Uniform{1/sqrt(75)})[0..3]
        = f32 bits [0xbd2ba9aa, 0x3de1bd70, 0xbd6113ad]
    tensor(0, "bn1.bias", [4], Normalish{0.1})
        = f32 bits [0x3dd30992, 0xbe59fa21, 0xbd7c59c2, 0x3e13f59f]
    tensor(0, "bn1.weight", [2], Range{0.5, 1.5})
        = f32 bits [0x3f2c5986, 0x3f90f776]
    tensor(1, "input", [3], Normalish{1.0})
        = f32 bits [0x402cd33a, 0xbf937950, 0xbf98c7c4]

(`python3 scripts/synthetic.py` recomputes and prints these.)
"""

import math
import sys

import numpy as np

GENERATOR = "shadernet-synthetic-v1"
RULES_VERSION = 1

_FNV_OFFSET = 0xCBF29CE484222325
_FNV_PRIME = 0x100000001B3
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_MASK = (1 << 64) - 1
SQRT3 = 1.7320508075688772  # == math.sqrt(3.0), correctly rounded
_TWO_M53 = 2.0 ** -53
_CHUNK = 1 << 22  # elements per vectorized chunk (bounds temporary memory)


def key(name):
    """FNV-1a 64 of the UTF-8 bytes of `name` (Python int)."""
    h = _FNV_OFFSET
    for b in name.encode("utf-8"):
        h ^= b
        h = (h * _FNV_PRIME) & _MASK
    return h


def _mix(z):
    """splitmix64 finalizer on a uint64 array (wrapping)."""
    z = (z ^ (z >> np.uint64(30))) * _M1
    z = (z ^ (z >> np.uint64(27))) * _M2
    return z ^ (z >> np.uint64(31))


def bits_array(seed, name, idx):
    """bits(seed, name, i) for a uint64 index array."""
    base = np.uint64((seed ^ key(name)) & _MASK)
    with np.errstate(over="ignore"):
        return _mix(base ^ (idx.astype(np.uint64) * _GOLDEN))


def uniform_array(seed, name, idx):
    """u(seed, name, i) in [0, 1) as float64 for a uint64 index array."""
    return (bits_array(seed, name, idx) >> np.uint64(11)).astype(np.float64) * _TWO_M53


def bits(seed, name, i):
    return int(bits_array(seed, name, np.array([i], dtype=np.uint64))[0])


def uniform(seed, name, i):
    """u(seed, name, i) as a Python float."""
    return float(uniform_array(seed, name, np.array([i], dtype=np.uint64))[0])


# Kinds are tuples, mirroring the Rust enum:
#   ("uniform", bound) | ("range", lo, hi) | ("normalish", scale) | ("zero",)
def Uniform(bound):
    return ("uniform", float(bound))


def Range(lo, hi):
    return ("range", float(lo), float(hi))


def Normalish(scale):
    return ("normalish", float(scale))


ZERO = ("zero",)


def _values(seed, name, idx, kind):
    tag = kind[0]
    if tag == "uniform":
        return (2.0 * uniform_array(seed, name, idx) - 1.0) * kind[1]
    if tag == "range":
        lo, hi = kind[1], kind[2]
        return lo + (hi - lo) * uniform_array(seed, name, idx)
    if tag == "normalish":
        i4 = idx.astype(np.uint64) * np.uint64(4)
        with np.errstate(over="ignore"):
            s = uniform_array(seed, name, i4)
            s = s + uniform_array(seed, name, i4 + np.uint64(1))
            s = s + uniform_array(seed, name, i4 + np.uint64(2))
            s = s + uniform_array(seed, name, i4 + np.uint64(3))
        return (s - 2.0) * SQRT3 * kind[1]
    if tag == "zero":
        return np.zeros(idx.shape, dtype=np.float64)
    raise ValueError(f"unknown kind {kind!r}")


def tensor(seed, name, shape, kind):
    """The float32 numpy array of `shape` (row-major) for (seed, name, kind)."""
    shape = tuple(int(d) for d in shape)
    n = int(np.prod(shape, dtype=np.int64)) if shape else 1
    out = np.empty(n, dtype=np.float32)
    for start in range(0, n, _CHUNK):
        stop = min(n, start + _CHUNK)
        idx = np.arange(start, stop, dtype=np.uint64)
        out[start:stop] = _values(seed, name, idx, kind).astype(np.float32)
    return out.reshape(shape)


def labels(seed, name, n, classes):
    """floor(u(seed, name, i) * classes) for i = 0..n-1, int64."""
    u = uniform_array(seed, name, np.arange(n, dtype=np.uint64))
    return np.floor(u * float(classes)).astype(np.int64)


def fan_in(shape):
    f = 1
    for d in shape[1:]:
        f *= int(d)
    return f


def kind_for(name, shape, weight_shape=None):
    """Kind of a state-dict entry under rules v1 (None if no rule applies).

    `weight_shape` is the shape of `<prefix>.weight` and is needed for a
    `bias` (rank >= 2: conv/linear bias, rank 1: BatchNorm bias)."""
    last = name.rsplit(".", 1)[-1]
    rank = len(shape)
    if last == "num_batches_tracked":
        return ZERO
    if last == "running_mean":
        return Normalish(0.1)
    if last == "running_var":
        return Range(0.5, 1.5)
    if last == "weight":
        if rank >= 2:
            return Uniform(1.0 / math.sqrt(fan_in(shape)))
        if rank == 1:
            return Range(0.5, 1.5)
        return None
    if last == "bias":
        if weight_shape is None:
            return None
        if len(weight_shape) >= 2:
            return Uniform(1.0 / math.sqrt(fan_in(weight_shape)))
        if len(weight_shape) == 1:
            return Normalish(0.1)
    return None


def state_dict(shapes, seed=0):
    """Generate a whole state dict: `shapes` maps name -> shape (ordered).

    Returns name -> numpy array (float32; int64 for num_batches_tracked)."""
    out = {}
    for name, shape in shapes.items():
        prefix = name.rsplit(".", 1)[0] + "." if "." in name else ""
        ws = shapes.get(prefix + "weight")
        kind = kind_for(name, tuple(shape), None if ws is None else tuple(ws))
        if kind is None:
            raise ValueError(f"no synthetic kind rule for {name} {list(shape)}")
        if name.endswith("num_batches_tracked"):
            out[name] = np.zeros(tuple(shape), dtype=np.int64)
        else:
            out[name] = tensor(seed, name, shape, kind)
    return out


def _f32_hex(a):
    return "[" + ", ".join("0x%08x" % v for v in np.asarray(a, np.float32).view(np.uint32)) + "]"


def golden():
    """The golden values quoted in the module docstring and the Rust test."""
    return [
        ('key("")', "0x%016x" % key("")),
        ('key("conv1.weight")', "0x%016x" % key("conv1.weight")),
        ('bits(0, "conv1.weight", 0)', "0x%016x" % bits(0, "conv1.weight", 0)),
        ('u(0, "conv1.weight", 0)', repr(uniform(0, "conv1.weight", 0))),
        ('u(1, "input", 12345)', repr(uniform(1, "input", 12345))),
        ('u(3, "labels", 0..8) * 10 floor', str(labels(3, "labels", 8, 10).tolist())),
        ('tensor(0, "conv1.weight", [6,3,5,5], Uniform{1/sqrt(75)})[0..3]',
         _f32_hex(tensor(0, "conv1.weight", (6, 3, 5, 5),
                         Uniform(1.0 / math.sqrt(75))).reshape(-1)[:3])),
        ('tensor(0, "bn1.bias", [4], Normalish{0.1})',
         _f32_hex(tensor(0, "bn1.bias", (4,), Normalish(0.1)))),
        ('tensor(0, "bn1.weight", [2], Range{0.5, 1.5})',
         _f32_hex(tensor(0, "bn1.weight", (2,), Range(0.5, 1.5)))),
        ('tensor(1, "input", [3], Normalish{1.0})',
         _f32_hex(tensor(1, "input", (3,), Normalish(1.0)))),
    ]


if __name__ == "__main__":
    for k, v in golden():
        print(f"{k:<66} = {v}")
    # sanity: moments of the kinds
    x = tensor(1, "input", (1 << 20,), Normalish(1.0)).astype(np.float64)
    print(f"Normalish(1) over 2^20: mean {x.mean():+.4f} std {x.std():.4f}", file=sys.stderr)
