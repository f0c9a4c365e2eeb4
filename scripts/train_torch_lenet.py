"""The accuracy recipe of docs/TRAINING.md in PyTorch, for the time and accuracy
beside shadernet's: LeNet-5, batch 64, SGD lr 0.05 momentum 0.9, no weight
decay, no schedule, no augmentation, 2 epochs, shuffled each epoch.

    python3 scripts/train_torch_lenet.py fashion-mnist /usr/share/datasets/fashion-mnist
    python3 scripts/train_torch_lenet.py cifar10 ../shared/data/cifar-10-batches-bin [SEED]

Reads the same files shadernet reads (IDX, gzipped or not; CIFAR-10 binary)
and normalizes with the same constants (spec/models.md). Prints one line per
epoch: test accuracy and elapsed wall time. 2 threads, like the 2-core VM.
"""

import gzip
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(__file__))
from make_model_fixtures import LeNet5  # noqa: E402


def idx(path):
    for p in (path, path + ".gz"):
        if os.path.exists(p):
            data = gzip.open(p).read() if p.endswith(".gz") else open(p, "rb").read()
            ndim = data[3]
            dims = np.frombuffer(data[4 : 4 + 4 * ndim], dtype=">u4")
            return np.frombuffer(data[4 + 4 * ndim :], dtype=np.uint8).reshape(dims)
    raise FileNotFoundError(path)


def mnist(root, split, mean, std):
    prefix = "train" if split == "train" else "t10k"
    x = idx(os.path.join(root, f"{prefix}-images-idx3-ubyte")).astype(np.float32) / 255.0
    y = idx(os.path.join(root, f"{prefix}-labels-idx1-ubyte")).astype(np.int64)
    x = (x - mean) / std
    return torch.from_numpy(x[:, None]), torch.from_numpy(y)


def cifar(root, split):
    names = [f"data_batch_{i}.bin" for i in range(1, 6)] if split == "train" else ["test_batch.bin"]
    raw = np.concatenate([np.fromfile(os.path.join(root, n), dtype=np.uint8) for n in names])
    raw = raw.reshape(-1, 3073)
    y = raw[:, 0].astype(np.int64)
    x = raw[:, 1:].reshape(-1, 3, 32, 32).astype(np.float32) / 255.0
    mean = np.array([0.4914, 0.4822, 0.4465], dtype=np.float32)[:, None, None]
    std = np.array([0.2470, 0.2435, 0.2616], dtype=np.float32)[:, None, None]
    return torch.from_numpy((x - mean) / std), torch.from_numpy(y)


def main():
    dataset, root = sys.argv[1], sys.argv[2]
    seed = int(sys.argv[3]) if len(sys.argv) > 3 else 0
    torch.set_num_threads(2)
    torch.manual_seed(seed)
    if dataset == "cifar10":
        (xtr, ytr), (xte, yte) = cifar(root, "train"), cifar(root, "test")
        model = LeNet5(3, 10, 32)
    else:
        mean, std = (0.2860, 0.3530) if dataset == "fashion-mnist" else (0.1307, 0.3081)
        (xtr, ytr), (xte, yte) = mnist(root, "train", mean, std), mnist(root, "test", mean, std)
        model = LeNet5(1, 10, 28)
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    start = time.perf_counter()
    for epoch in range(2):
        model.train()
        perm = torch.randperm(len(xtr))
        for i in range(0, len(xtr), 64):
            b = perm[i : i + 64]
            opt.zero_grad(set_to_none=True)
            F.cross_entropy(model(xtr[b]), ytr[b]).backward()
            opt.step()
        model.eval()
        with torch.no_grad():
            correct = sum(
                (model(xte[i : i + 1000]).argmax(1) == yte[i : i + 1000]).sum().item()
                for i in range(0, len(xte), 1000)
            )
        print(
            f"{dataset} seed {seed} epoch {epoch + 1}: test accuracy {correct / len(xte):.4f}, "
            f"{time.perf_counter() - start:.1f} s elapsed"
        )


if __name__ == "__main__":
    main()
