#!/usr/bin/env python3
"""PyTorch CPU baseline timings for the ops shadernet implements.

Usage:
    python3 scripts/bench_torch.py [--threads 2] [--min-time 1.0] [--json]

Prints a table to stdout. With --json, one JSON object per benchmark goes to
stdout (the table then goes to stderr), e.g.
    {"bench":"conv2d_fwd","layout":"nchw","shape":"...","ms":12.3,
     "gflops":45.6,"gbps":null,"torch":"2.15.0","threads":2}

Each timing is the median over repetitions after warm-up (at least 3
repetitions and at least --min-time seconds in total).
FLOP counts: matmul 2*M*N*K; conv 2*N*K*C*R*S*Hout*Wout per pass (forward,
dX and dW each count the same); depthwise 2*N*C*R*S*Hout*Wout.
Bytes (for GB/s): input + output (+ weights) read/written once, float32.
"""

import argparse
import datetime
import json
import platform
import statistics
import sys
import time

import torch
import torch.nn.functional as F


def cpu_name():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def timeit(fn, min_time):
    for _ in range(2):
        fn()
    times = []
    start = time.perf_counter()
    while len(times) < 3 or time.perf_counter() - start < min_time:
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
        if len(times) >= 200:
            break
    return statistics.median(times)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--min-time", type=float, default=1.0,
                    help="minimum seconds of timed repetitions per benchmark")
    ap.add_argument("--json", action="store_true",
                    help="JSON lines on stdout, table on stderr")
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    table_out = sys.stderr if args.json else sys.stdout
    results = []

    def record(bench, layout, shape, secs, flops=None, nbytes=None):
        r = {"bench": bench, "layout": layout, "shape": shape, "ms": secs * 1e3,
             "gflops": flops / secs / 1e9 if flops else None,
             "gbps": nbytes / secs / 1e9 if nbytes else None,
             "torch": torch.__version__, "threads": args.threads}
        results.append(r)
        if args.json:
            print(json.dumps(r), flush=True)
        g = f"{r['gflops']:8.1f}" if r["gflops"] is not None else f"{'-':>8}"
        b = f"{r['gbps']:7.1f}" if r["gbps"] is not None else f"{'-':>7}"
        print(f"{bench:<14} {layout:<13} {shape:<34} {r['ms']:10.3f} {g} {b}",
              file=table_out, flush=True)

    print(f"# torch {torch.__version__}, {args.threads} threads, CPU: {cpu_name()}, "
          f"mkldnn={torch.backends.mkldnn.is_available()}, "
          f"date {datetime.date.today().isoformat()}", file=table_out)
    print(f"{'bench':<14} {'layout':<13} {'shape':<34} {'ms':>10} {'GFLOP/s':>8} {'GB/s':>7}",
          file=table_out)

    with torch.no_grad():
        # ---- matmul ----
        for n in (1024, 2048):
            a = torch.randn(n, n)
            b = torch.randn(n, n)
            c = torch.empty(n, n)
            secs = timeit(lambda: torch.mm(a, b, out=c), args.min_time)
            record("matmul", "row-major", f"{n}x{n}x{n}", secs, flops=2 * n ** 3)

        # ---- conv2d 3x3: forward, dX, dW ----
        N, C, H, W, K, R, S = 128, 64, 32, 32, 64, 3, 3
        Ho, Wo = H, W  # stride 1, pad 1
        conv_flops = 2 * N * K * C * R * S * Ho * Wo
        shape = f"N{N} C{C} {H}x{W} K{K} {R}x{S} s1 p1"
        x0 = torch.randn(N, C, H, W)
        w0 = torch.randn(K, C, R, S) * 0.05
        dy0 = torch.randn(N, K, Ho, Wo)
        for layout in ("nchw", "channels_last"):
            mf = torch.contiguous_format if layout == "nchw" else torch.channels_last
            x = x0.contiguous(memory_format=mf)
            w = w0.contiguous(memory_format=mf)
            dy = dy0.contiguous(memory_format=mf)
            fwd = lambda: F.conv2d(x, w, None, 1, 1)  # noqa: E731

            def bwd(mask):
                return lambda: torch.ops.aten.convolution_backward(
                    dy, x, w, None, [1, 1], [1, 1], [1, 1], False, [0, 0], 1, mask)

            record("conv2d_fwd", layout, shape, timeit(fwd, args.min_time), flops=conv_flops)
            record("conv2d_dx", layout, shape, timeit(bwd([True, False, False]), args.min_time),
                   flops=conv_flops)
            record("conv2d_dw", layout, shape, timeit(bwd([False, True, False]), args.min_time),
                   flops=conv_flops)

        # ---- bandwidth baseline: a plain copy of the 128x64x32x32 pooling input ----
        x0 = torch.randn(128, 64, 32, 32)
        out = torch.empty_like(x0)
        secs = timeit(lambda: out.copy_(x0), args.min_time)
        record("copy", "nchw", "N128 C64 32x32", secs, nbytes=8 * x0.numel())

        # ---- depthwise 3x3 (MobileNetV2 layers, shadernet bench's CONV_SHAPES) ----
        # bytes as shadernet bench counts them: each operand read once, the result
        # written once (x + w + y for every pass).
        for N, C, H, W, st in ((128, 144, 16, 16, 1), (128, 144, 16, 16, 2), (128, 96, 32, 32, 2)):
            Ho, Wo = (H - 1) // st + 1, (W - 1) // st + 1
            shape = f"N{N} C{C} {H}x{W} 3x3 s{st} p1 dw"
            x0 = torch.randn(N, C, H, W)
            w0 = torch.randn(C, 1, 3, 3) * 0.3
            dy0 = torch.randn(N, C, Ho, Wo)
            nbytes = 4 * (N * C * H * W + C * 9 + N * C * Ho * Wo)
            flops = 2 * N * C * 9 * Ho * Wo
            for layout in ("nchw", "channels_last"):
                mf = torch.contiguous_format if layout == "nchw" else torch.channels_last
                x = x0.contiguous(memory_format=mf)
                w = w0.contiguous(memory_format=mf)
                dy = dy0.contiguous(memory_format=mf)

                def dw_bwd(mask, x=x, w=w, dy=dy, st=st, C=C):
                    return lambda: torch.ops.aten.convolution_backward(
                        dy, x, w, None, [st, st], [1, 1], [1, 1], False, [0, 0], C, mask)

                secs = timeit(lambda: F.conv2d(x, w, None, st, 1, 1, C), args.min_time)
                record("depthwise_fwd", layout, shape, secs, flops=flops, nbytes=nbytes)
                secs = timeit(dw_bwd([True, False, False]), args.min_time)
                record("depthwise_dx", layout, shape, secs, flops=flops, nbytes=nbytes)
                secs = timeit(dw_bwd([False, True, False]), args.min_time)
                record("depthwise_dw", layout, shape, secs, flops=flops, nbytes=nbytes)

        # ---- grouped 3x3 (ResNeXt's 32 groups, shadernet bench's grouped shapes) ----
        for N, C, H, W, G, st in ((32, 128, 28, 28, 32, 1), (32, 256, 28, 28, 32, 2)):
            Ho, Wo = (H - 1) // st + 1, (W - 1) // st + 1
            shape = f"N{N} C{C} {H}x{W} K{C} 3x3 s{st} p1 g{G}"
            flops = 2 * N * C * (C // G) * 9 * Ho * Wo
            x0 = torch.randn(N, C, H, W)
            w0 = torch.randn(C, C // G, 3, 3) * 0.2
            dy0 = torch.randn(N, C, Ho, Wo)
            for layout in ("nchw", "channels_last"):
                mf = torch.contiguous_format if layout == "nchw" else torch.channels_last
                x = x0.contiguous(memory_format=mf)
                w = w0.contiguous(memory_format=mf)
                dy = dy0.contiguous(memory_format=mf)

                def g_bwd(mask, x=x, w=w, dy=dy, st=st, G=G):
                    return lambda: torch.ops.aten.convolution_backward(
                        dy, x, w, None, [st, st], [1, 1], [1, 1], False, [0, 0], G, mask)

                secs = timeit(lambda: F.conv2d(x, w, None, st, 1, 1, G), args.min_time)
                record("grouped_fwd", layout, shape, secs, flops=flops)
                secs = timeit(g_bwd([True, False, False]), args.min_time)
                record("grouped_dx", layout, shape, secs, flops=flops)
                secs = timeit(g_bwd([False, True, False]), args.min_time)
                record("grouped_dw", layout, shape, secs, flops=flops)

        # ---- max pool: 2x2 stride 2 (VGG) and the ResNet stem's 3x3 stride 2 pad 1 ----
        # bytes: x + y + indices (4 bytes each, as shadernet counts its U32 indices)
        for N, C, H, W, k, st, pd in ((128, 64, 32, 32, 2, 2, 0), (16, 64, 112, 112, 3, 2, 1)):
            Ho, Wo = (H + 2 * pd - k) // st + 1, (W + 2 * pd - k) // st + 1
            shape = f"N{N} C{C} {H}x{W} k{k} s{st} p{pd}"
            x0 = torch.randn(N, C, H, W)
            nbytes = 4 * (N * C * H * W + 2 * N * C * Ho * Wo)
            for layout in ("nchw", "channels_last"):
                mf = torch.contiguous_format if layout == "nchw" else torch.channels_last
                x = x0.contiguous(memory_format=mf)
                secs = timeit(lambda: F.max_pool2d(x, k, st, pd), args.min_time)
                record("maxpool_fwd", layout, shape, secs, nbytes=nbytes)
                y, idx = F.max_pool2d(x, k, st, pd, return_indices=True)
                dy = torch.randn_like(y)
                secs = timeit(lambda: torch.ops.aten.max_pool2d_with_indices_backward(
                    dy, x, [k, k], [st, st], [pd, pd], [1, 1], False, idx), args.min_time)
                record("maxpool_bwd", layout, shape, secs, nbytes=nbytes)

        # ---- global average pool (ResNet-20's, before the classifier) ----
        x0 = torch.randn(128, 64, 8, 8)
        for layout in ("nchw", "channels_last"):
            mf = torch.contiguous_format if layout == "nchw" else torch.channels_last
            x = x0.contiguous(memory_format=mf)
            secs = timeit(lambda: F.adaptive_avg_pool2d(x, 1), args.min_time)
            record("avgpool_fwd", layout, "N128 C64 8x8 global", secs,
                   nbytes=4 * (x.numel() + 128 * 64))

    return results


if __name__ == "__main__":
    main()
