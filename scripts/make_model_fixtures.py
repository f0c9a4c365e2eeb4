#!/usr/bin/env python3
"""Model-level PyTorch parity fixtures with regenerable synthetic weights.

Usage:
    python3 scripts/make_model_fixtures.py [--out tests/fixtures/models] [--only ID]
    python3 scripts/make_model_fixtures.py --print-keys MODEL
    python3 scripts/make_model_fixtures.py --check-saved FILE.safetensors --model ID

Weights, inputs and training batches are NOT stored: they come from the
deterministic hash generator of `scripts/synthetic.py` (mirrored bit-exactly by
`crates/nn/src/synthetic.rs`), so only small outputs are committed:

* `infer_<id>.safetensors`: `logits` (F64) of the eval-mode forward, computed
  in float64 from the float32 synthetic weights (seed 0) and input (name
  "input", seed 1) upcast; metadata with the recipe and `spread_logits`.
* `train_<id>_<opt>.safetensors`: `losses` (F64, float64 run), `labels`
  (I64), and the parameters/buffers after training under their PyTorch names
  (lenet5: F32, 5 steps; resnet20 / vgg_cifar: one step, parameters F16 and
  BN buffers F32 / I64), plus the float32-vs-float64 spreads of the recipe.
  The vgg_cifar training fixtures use the narrower `VGG_CIFAR_TRAIN_CFG`
  (recorded in their metadata as `vgg_config`, which
  crates/models/tests/parity.rs builds) to keep each file under 1 MiB; the
  inference fixture uses the default `VGG_CIFAR_CFG`.

Every metadata value is a JSON text (strings quoted). See
tests/fixtures/README.md ("Model fixtures") for the full format.
"""

import argparse
import copy
import json
import math
import os
import struct
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import synthetic  # noqa: E402

torch.use_deterministic_algorithms(True)

FORMAT_VERSION = 1
WEIGHT_SEED, INPUT_SEED, IMAGES_SEED, LABELS_SEED = 0, 1, 2, 3
DEFAULT_OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..",
                           "tests", "fixtures", "models")


# --------------------------------------------------------------------------
# the small models, with models.md's exact key names
# --------------------------------------------------------------------------

class LeNet5(nn.Module):
    def __init__(self, in_ch=3, num_classes=10, size=32):
        super().__init__()
        self.conv1 = nn.Conv2d(in_ch, 6, 5, padding=2 if size == 28 else 0)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.fc1 = nn.Linear(400, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, num_classes)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = torch.flatten(x, 1)
        x = F.relu(self.fc1(x))
        x = F.relu(self.fc2(x))
        return self.fc3(x)


VGG_CIFAR_CFG = [64, 64, "M", 128, 128, "M", 256, 256, "M"]
# The training fixtures' VGG: the default's F16 parameters after one step are
# ~2.3 MiB (over the 2 MiB fixture limit); half the widths keep stacked 3x3
# convs, BN and pooling at ~0.6 MiB. Written to the metadata as `vgg_config`.
VGG_CIFAR_TRAIN_CFG = [32, 32, "M", 64, 64, "M", 128, 128, "M"]


class VGGCifar(nn.Module):
    def __init__(self, cfg=VGG_CIFAR_CFG, in_ch=3, num_classes=10, size=32):
        super().__init__()
        layers, c = [], in_ch
        for v in cfg:
            if v == "M":
                layers.append(nn.MaxPool2d(2, 2))
                size //= 2
            else:
                layers += [nn.Conv2d(c, v, 3, padding=1), nn.BatchNorm2d(v), nn.ReLU(inplace=True)]
                c = v
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Linear(c * size * size, num_classes)

    def forward(self, x):
        return self.classifier(torch.flatten(self.features(x), 1))


class BasicBlock(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.downsample = None
        if stride != 1 or cin != cout:
            self.downsample = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False),
                                            nn.BatchNorm2d(cout))

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        sc = x if self.downsample is None else self.downsample(x)
        return F.relu(out + sc)


class ResNet20(nn.Module):
    def __init__(self, num_classes=10, blocks=3):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 16, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(16)
        cin, layers = 16, []
        for c, stride in ((16, 1), (32, 2), (64, 2)):
            blk = []
            for b in range(blocks):
                blk.append(BasicBlock(cin, c, stride if b == 0 else 1))
                cin = c
            layers.append(nn.Sequential(*blk))
        self.layer1, self.layer2, self.layer3 = layers
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(64, num_classes)

    def forward(self, x):
        x = F.relu(self.bn1(self.conv1(x)))
        x = self.layer3(self.layer2(self.layer1(x)))
        return self.fc(torch.flatten(self.avgpool(x), 1))


# fixture id -> (architecture, builder, input shape [N,C,H,W], num_classes)
def _tv(name):
    def build():
        import torchvision
        return getattr(torchvision.models, name)(weights=None)
    return build


MODELS = {
    "lenet5": ("lenet5", lambda: LeNet5(3, 10, 32), [4, 3, 32, 32], 10),
    "lenet5_28": ("lenet5", lambda: LeNet5(1, 10, 28), [4, 1, 28, 28], 10),
    "vgg_cifar": ("vgg_cifar", lambda: VGGCifar(), [4, 3, 32, 32], 10),
    "resnet20": ("resnet20", lambda: ResNet20(10), [4, 3, 32, 32], 10),
    "resnet18": ("resnet18", _tv("resnet18"), [2, 3, 224, 224], 1000),
    "resnet34": ("resnet34", _tv("resnet34"), [2, 3, 224, 224], 1000),
    "resnet50": ("resnet50", _tv("resnet50"), [2, 3, 224, 224], 1000),
    "resnext50_32x4d": ("resnext50_32x4d", _tv("resnext50_32x4d"), [2, 3, 224, 224], 1000),
    "vgg11_bn": ("vgg11_bn", _tv("vgg11_bn"), [2, 3, 224, 224], 1000),
    "alexnet": ("alexnet", _tv("alexnet"), [2, 3, 224, 224], 1000),
    "mobilenet_v2": ("mobilenet_v2", _tv("mobilenet_v2"), [2, 3, 224, 224], 1000),
}

TRAIN_MODELS = {"lenet5": 5, "resnet20": 1, "vgg_cifar": 1}  # id -> steps
TRAIN_VGG_CFG = {"vgg_cifar": VGG_CIFAR_TRAIN_CFG}  # id -> config of the training fixtures
TRAIN_BATCH, TRAIN_IMAGES = 16, 80
OPTIMIZERS = {
    "sgd": {"lr": 0.05, "momentum": 0.9, "dampening": 0.0, "nesterov": False,
            "weight_decay": 5e-4},
    "adamw": {"lr": 1e-3, "betas": [0.9, 0.999], "eps": 1e-8, "weight_decay": 1e-2,
              "amsgrad": False},
}


def check_keys(fid, sd, vgg_cfg=VGG_CIFAR_CFG):
    """Assert the key names that models.md spells out for the small models."""
    keys = list(sd.keys())
    if fid.startswith("lenet5"):
        want = [f"{m}.{p}" for m in ("conv1", "conv2", "fc1", "fc2", "fc3")
                for p in ("weight", "bias")]
        assert keys == want, keys
    elif fid == "vgg_cifar":
        bn = ("weight", "bias", "running_mean", "running_var", "num_batches_tracked")
        want, idx, c, side = [], 0, 3, 32
        for v in vgg_cfg:
            if v == "M":
                idx, side = idx + 1, side // 2
            else:
                want += [f"features.{idx}.weight", f"features.{idx}.bias"]
                want += [f"features.{idx + 1}.{p}" for p in bn]
                idx, c = idx + 3, v
        want += ["classifier.weight", "classifier.bias"]
        assert keys == want, keys
        assert tuple(sd["classifier.weight"].shape) == (10, c * side * side)
        if vgg_cfg == VGG_CIFAR_CFG:
            assert tuple(sd["classifier.weight"].shape) == (10, 4096)
    elif fid == "resnet20":
        for k in ("conv1.weight", "bn1.running_var", "layer1.0.conv1.weight",
                  "layer1.2.bn2.num_batches_tracked", "layer2.0.downsample.0.weight",
                  "layer2.0.downsample.1.running_mean", "layer3.0.downsample.1.weight",
                  "fc.weight", "fc.bias"):
            assert k in sd, k
        assert not any(k.startswith("layer1.0.downsample") for k in keys)
        assert tuple(sd["layer3.0.downsample.0.weight"].shape) == (64, 32, 1, 1)
        assert not any(k.endswith("conv1.bias") or k.endswith("conv2.bias") for k in keys)
        nparam = sum(v.numel() for k, v in sd.items() if "running" not in k
                     and "num_batches" not in k)
        assert nparam == 272474, nparam  # the classic ResNet-20 count
    elif fid == "resnext50_32x4d":
        assert sd["layer1.0.conv2.weight"].shape == (128, 4, 3, 3)
    elif fid == "mobilenet_v2":
        assert "features.1.conv.0.0.weight" in sd and "classifier.1.weight" in sd


def build(fid, vgg_cfg=None):
    """The model of fixture id `fid`; `vgg_cfg` replaces vgg_cifar's config."""
    arch, builder, shape, classes = MODELS[fid]
    torch.manual_seed(0)  # default init is overwritten; this only keeps it quiet
    if vgg_cfg is not None:
        assert fid == "vgg_cifar", fid
        model = VGGCifar(vgg_cfg)
    else:
        model = builder()
    return model, arch, shape, classes


def synthetic_state_dict(model, seed=WEIGHT_SEED):
    shapes = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    return {k: torch.from_numpy(v) for k, v in synthetic.state_dict(shapes, seed).items()}


def load_synthetic(model):
    sd = synthetic_state_dict(model)
    model.load_state_dict(sd, strict=True)
    return sd


def synthetic_input(shape, name="input", seed=INPUT_SEED):
    return torch.from_numpy(synthetic.tensor(seed, name, shape, synthetic.Normalish(1.0)))


def spread(a32, a64):
    """max|a32 - a64| / max|a64| (absolute if a64 == 0)."""
    a64 = a64.detach().double()
    diff = (a32.detach().double() - a64).abs().max().item()
    den = a64.abs().max().item()
    return float(diff / den) if den > 0 else float(diff)


def rel_l2(a, b, den=None):
    """||a - b|| / ||den or b|| over lists of tensors, in float64."""
    num = sum(float(((x.double() - y.double()) ** 2).sum()) for x, y in zip(a, b))
    ref = b if den is None else den
    d = sum(float((y.double() ** 2).sum()) for y in ref)
    return math.sqrt(num / d) if d > 0 else math.sqrt(num)


# --------------------------------------------------------------------------
# safetensors writer (sorted header -> byte-identical regeneration)
# --------------------------------------------------------------------------

_DTYPES = {torch.float16: ("F16", "<f2"), torch.float32: ("F32", "<f4"),
           torch.float64: ("F64", "<f8"), torch.int64: ("I64", "<i8")}


def write_safetensors(path, tensors, metadata):
    header = {"__metadata__": {k: json.dumps(v, separators=(",", ":"))
                               for k, v in sorted(metadata.items())}}
    blobs, offset = [], 0
    for name in sorted(tensors):
        t = tensors[name].detach().contiguous()
        tag, np_dtype = _DTYPES[t.dtype]
        data = t.numpy().astype(np_dtype, copy=False).tobytes()
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


def read_metadata(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
    return {k: json.loads(v) for k, v in header.get("__metadata__", {}).items()}


def common_meta():
    import torchvision
    return {"format_version": FORMAT_VERSION, "generator": synthetic.GENERATOR,
            "rules_version": synthetic.RULES_VERSION, "weight_seed": WEIGHT_SEED,
            "torch": torch.__version__.split("+")[0],
            "torchvision": torchvision.__version__.split("+")[0]}


def state_dict_listing(sd):
    return [[k, list(v.shape), "I64" if v.dtype == torch.int64 else "F32"]
            for k, v in sd.items()]


# --------------------------------------------------------------------------
# inference
# --------------------------------------------------------------------------

def forward(model, x, dtype, batchstats=False):
    """Eval-mode forward in `dtype` (on a copy).

    batchstats=True: every BatchNorm normalizes with the batch statistics
    (training-mode normalization, biased variance; the running buffers play no
    part), Dropout stays off."""
    m = copy.deepcopy(model).to(dtype).eval()
    if batchstats:
        for mod in m.modules():
            if isinstance(mod, nn.modules.batchnorm._BatchNorm):
                mod.train()
    with torch.no_grad():
        return m(x.to(dtype))


def has_bn(model):
    return any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in model.modules())


def sensitivity(logits):
    """max|logits - batch mean| / max|logits|: how much the input matters."""
    return float((logits - logits.mean(0, keepdim=True)).abs().max() / logits.abs().max())


def gen_infer(fid, out_dir):
    model, arch, shape, classes = build(fid)
    sd = load_synthetic(model)
    check_keys(fid, sd)
    x = synthetic_input(shape)
    l64 = forward(model, x, torch.float64)
    l32 = forward(model, x, torch.float32)
    assert tuple(l64.shape) == (shape[0], classes)
    floats = [v for v in sd.values() if v.is_floating_point()]
    meta = common_meta()
    meta.update({
        "kind": "infer", "model": arch, "fixture": fid, "mode": "eval",
        "input_name": "input", "input_seed": INPUT_SEED, "input_kind": ["normalish", 1.0],
        "input_shape": shape, "num_classes": classes,
        "reference": "float64 forward of the float32 weights and input, upcast",
        "spread_logits": spread(l32, l64),
        "input_sensitivity": sensitivity(l64),
        "param_count": int(sum(v.numel() for v in floats)),
        "param_sum": float(sum(float(v.double().sum()) for v in floats)),
        "param_abs_sum": float(sum(float(v.double().abs().sum()) for v in floats)),
        "input_sum": float(x.double().sum()),
        "state_dict": state_dict_listing(sd),
    })
    tensors = {"logits": l64}
    if has_bn(model):
        b64 = forward(model, x, torch.float64, batchstats=True)
        b32 = forward(model, x, torch.float32, batchstats=True)
        tensors["logits_batchstats"] = b64
        meta["logits_batchstats"] = ("same forward, but every BatchNorm normalizes with "
                                     "the batch's own mean and biased variance "
                                     "(training-mode BN), Dropout off")
        meta["spread_logits_batchstats"] = spread(b32, b64)
        meta["input_sensitivity_batchstats"] = sensitivity(b64)
    path = os.path.join(out_dir, f"infer_{fid}.safetensors")
    write_safetensors(path, tensors, meta)
    return path, meta


# --------------------------------------------------------------------------
# training
# --------------------------------------------------------------------------

def train_run(fid, opt_name, steps, dtype):
    model, _, _, classes = build(fid, TRAIN_VGG_CFG.get(fid))
    sd0 = load_synthetic(model)
    model = model.to(dtype).train()
    images = synthetic_input([TRAIN_IMAGES, 3, 32, 32], "images", IMAGES_SEED).to(dtype)
    labels = torch.from_numpy(synthetic.labels(LABELS_SEED, "labels", TRAIN_IMAGES, classes))
    h = OPTIMIZERS[opt_name]
    if opt_name == "sgd":
        opt = torch.optim.SGD(model.parameters(), lr=h["lr"], momentum=h["momentum"],
                              dampening=h["dampening"], nesterov=h["nesterov"],
                              weight_decay=h["weight_decay"], foreach=False)
    else:
        opt = torch.optim.AdamW(model.parameters(), lr=h["lr"], betas=tuple(h["betas"]),
                                eps=h["eps"], weight_decay=h["weight_decay"],
                                amsgrad=h["amsgrad"], foreach=False)
    losses = []
    for k in range(steps):
        xb = images[k * TRAIN_BATCH:(k + 1) * TRAIN_BATCH]
        yb = labels[k * TRAIN_BATCH:(k + 1) * TRAIN_BATCH]
        opt.zero_grad(set_to_none=True)
        loss = F.cross_entropy(model(xb), yb)
        loss.backward()
        opt.step()
        losses.append(loss.detach().double())
    params = {k: v.detach().clone() for k, v in model.named_parameters()}
    buffers = {k: v.detach().clone() for k, v in model.named_buffers()}
    return torch.stack(losses), params, buffers, labels, sd0


def gen_train(fid, opt_name, out_dir):
    steps = TRAIN_MODELS[fid]
    losses64, p64, b64, labels, sd0 = train_run(fid, opt_name, steps, torch.float64)
    losses32, p32, b32, _, _ = train_run(fid, opt_name, steps, torch.float32)
    vgg_cfg = TRAIN_VGG_CFG.get(fid)
    if vgg_cfg is not None:
        check_keys(fid, sd0, vgg_cfg)
    names = list(p64)
    init = [sd0[k] for k in names]
    small = fid.startswith("lenet5")
    pdtype = torch.float32 if small else torch.float16
    stored = {k: v.to(pdtype) for k, v in p64.items()}
    float_bufs = [k for k, v in b64.items() if v.is_floating_point()]
    meta = common_meta()
    meta.update({
        "kind": "train", "model": MODELS[fid][0], "fixture": fid, "optimizer": opt_name,
        "hyper": OPTIMIZERS[opt_name], "steps": steps, "batch_size": TRAIN_BATCH,
        "input_shape": [TRAIN_BATCH, 3, 32, 32], "num_classes": MODELS[fid][3],
        "images": {"name": "images", "seed": IMAGES_SEED, "shape": [TRAIN_IMAGES, 3, 32, 32],
                   "kind": ["normalish", 1.0]},
        "labels": {"name": "labels", "seed": LABELS_SEED, "n": TRAIN_IMAGES,
                   "classes": MODELS[fid][3], "formula": "floor(u(3, 'labels', i) * classes)"},
        "batches": "step k (0-based) uses images[16k:16k+16] and labels[16k:16k+16], no shuffle",
        "loss": "cross_entropy, mean over the batch",
        "losses": "losses[k] = loss of step k, computed before its update (float64 run)",
        "bn_mode": "train", "torch_optimizer": "torch.optim.SGD / AdamW, foreach=False",
        "reference": "float64 run from the float32 synthetic weights and images, upcast",
        "param_dtype": "F32" if small else "F16",
        "params": names, "buffers": list(b64),
        "spread_losses": spread(losses32, losses64),
        "spread_params": max(spread(p32[k], p64[k]) for k in names),
        "rel_l2_params": rel_l2([p32[k] for k in names], [p64[k] for k in names]),
        "rel_l2_update": rel_l2([p64[k] for k in names], init),
        "rel_l2_params_f32_over_update": rel_l2(
            [p32[k] for k in names], [p64[k] for k in names],
            den=[p64[k] - i for k, i in zip(names, init)]),
        "rel_l2_stored_rounding": rel_l2([stored[k] for k in names],
                                         [p64[k] for k in names]),
        "rel_l2_stored_rounding_over_update": rel_l2(
            [stored[k] for k in names], [p64[k] for k in names],
            den=[p64[k] - i for k, i in zip(names, init)]),
    })
    if vgg_cfg is not None:
        meta["vgg_config"] = vgg_cfg
    meta["per_tensor"] = {k: [spread(p32[k], p64[k]),
                              rel_l2([p32[k]], [p64[k]]),
                              rel_l2([stored[k]], [p64[k]])] for k in names}
    meta["per_tensor"].update({k: [spread(b32[k], b64[k]), rel_l2([b32[k]], [b64[k]]),
                                   rel_l2([b64[k].float()], [b64[k]])] for k in float_bufs})
    if float_bufs:
        meta["spread_buffers"] = max(spread(b32[k], b64[k]) for k in float_bufs)
        meta["rel_l2_buffers"] = rel_l2([b32[k] for k in float_bufs],
                                        [b64[k] for k in float_bufs])
    tensors = {"losses": losses64, "labels": labels}
    tensors.update(stored)
    for k, v in b64.items():
        tensors[k] = v.to(torch.float32) if v.is_floating_point() else v.to(torch.int64)
    path = os.path.join(out_dir, f"train_{fid}_{opt_name}.safetensors")
    write_safetensors(path, tensors, meta)
    return path, meta


# --------------------------------------------------------------------------
# checking a state dict written by shadernet
# --------------------------------------------------------------------------

def check_saved(path, fid, fixture, tol):
    from safetensors.torch import load_file
    model, arch, _, _ = build(fid)
    sd = load_file(path)
    try:
        model.load_state_dict(sd, strict=True)
    except RuntimeError as e:
        print(f"load_state_dict(strict=True) failed for {path} into {fid}:\n{e}")
        return 2
    print(f"loaded {len(sd)} tensors from {path} into {arch} (strict)")
    meta = read_metadata(fixture)
    from safetensors.numpy import load_file as load_np
    fx = load_np(fixture)
    ref = torch.from_numpy(fx["logits"])
    shape = meta["input_shape"]
    x = synthetic_input(shape)
    l64 = forward(model, x, torch.float64)
    l32 = forward(model, x, torch.float32)
    torch.set_printoptions(precision=6, sci_mode=False, linewidth=120)
    print(f"logits (float64 forward of the saved weights) on synthetic input {shape}:")
    print(l64[:, :10] if l64.shape[1] > 10 else l64)
    # where the saved tensors differ from the generator (diagnostics)
    gen = synthetic_state_dict(model)
    diffs = []
    for k, v in gen.items():
        if k in sd and v.is_floating_point():
            d = (sd[k].double() - v.double()).abs().max().item()
            if d > 0:
                diffs.append((d, k))
    diffs.sort(reverse=True)
    if diffs:
        print(f"{len(diffs)} tensors differ from the synthetic generator; largest:")
        for d, k in diffs[:5]:
            print(f"  {k}: max|diff| {d:.3e}")
    else:
        print("every float tensor equals the synthetic generator's bit for bit")
    rel64 = float((l64 - ref).abs().max() / ref.abs().max())
    rel32 = float((l32.double() - ref).abs().max() / ref.abs().max())
    print(f"vs {fixture}: max|diff|/max|ref| = {rel64:.3e} (f64 forward), "
          f"{rel32:.3e} (f32 forward; fixture spread_logits {meta['spread_logits']:.2e}); "
          f"tolerance {tol:g}")
    bad = rel64 > tol
    if "logits_batchstats" in fx:
        refb = torch.from_numpy(fx["logits_batchstats"])
        b64 = forward(model, x, torch.float64, batchstats=True)
        relb = float((b64 - refb).abs().max() / refb.abs().max())
        print(f"logits_batchstats: max|diff|/max|ref| = {relb:.3e} (f64 forward)")
        bad = bad or relb > tol
    if bad:
        print("MISMATCH")
        return 1
    print("OK")
    return 0


def print_keys(fid):
    model, arch, shape, classes = build(fid)
    sd = model.state_dict()
    check_keys(fid, sd)
    print(f"# {fid} ({arch}): {len(sd)} entries, input {shape}, {classes} classes")
    shapes = {k: tuple(v.shape) for k, v in sd.items()}
    for k, v in sd.items():
        prefix = k.rsplit(".", 1)[0] + "."
        kind = synthetic.kind_for(k, tuple(v.shape), shapes.get(prefix + "weight"))
        print(f"{k:<48} {str(list(v.shape)):<20} {kind}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=DEFAULT_OUT)
    ap.add_argument("--only", action="append",
                    help="generate only this file stem, e.g. infer_resnet18 or "
                         "train_lenet5_sgd (repeatable)")
    ap.add_argument("--threads", type=int, default=1,
                    help="torch threads (1 keeps the bytes reproducible)")
    ap.add_argument("--print-keys", metavar="ID", choices=sorted(MODELS))
    ap.add_argument("--check-saved", metavar="FILE")
    ap.add_argument("--model", choices=sorted(MODELS), help="fixture id for --check-saved")
    ap.add_argument("--fixture", help="fixture to compare with (default "
                    "<out>/infer_<model>.safetensors)")
    ap.add_argument("--tol", type=float, default=1e-4,
                    help="--check-saved: max|diff|/max|ref| allowed")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)

    if args.print_keys:
        print_keys(args.print_keys)
        return 0
    if args.check_saved:
        if not args.model:
            ap.error("--check-saved needs --model")
        fixture = args.fixture or os.path.join(args.out, f"infer_{args.model}.safetensors")
        return check_saved(args.check_saved, args.model, fixture, args.tol)

    jobs = [(f"infer_{m}", gen_infer, (m,)) for m in MODELS]
    jobs += [(f"train_{m}_{o}", gen_train, (m, o)) for m in TRAIN_MODELS for o in OPTIMIZERS]
    if args.only:
        unknown = set(args.only) - {j[0] for j in jobs}
        if unknown:
            ap.error(f"unknown --only {sorted(unknown)}; known: {[j[0] for j in jobs]}")
        jobs = [j for j in jobs if j[0] in args.only]
    os.makedirs(args.out, exist_ok=True)
    for stem, fn, a in jobs:
        path, meta = fn(*a, args.out)
        size = os.path.getsize(path)
        info = {k: v for k, v in meta.items() if k.startswith(("spread_", "rel_l2", "input_sens"))}
        print(f"{os.path.relpath(path)}: {size / 1024:.1f} KiB "
              + " ".join(f"{k}={v:.2e}" for k, v in info.items()), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
