#!/usr/bin/env python3
"""gatec's CUDA kernels against PyTorch (eager and torch.compile) on one GPU,
in one run: used by `bash scripts/gpu-check.sh run` (see docs/performance.md).

Each benchmark case under --cases is a program written by gatec-check
--write-cuda-case; `./case N` prints `TIME <kernel> <ms> ms`, the mean of N
calls after 3 warm-up calls. The peers run the same math on the same shapes,
timed with CUDA events. Roofline fractions use the H100 figures measured on
this workplace's machines: ~3.0 TB/s device copy, ~800 TFLOP/s bf16 matmul.
"""
import argparse
import json
import os
import re
import subprocess

import torch
import torch.nn.functional as F

from torch_peers import (torch_chunked_gated_delta, torch_chunked_gla, torch_dispatch,
                         torch_grouped_topk, torch_topk)

COPY_BYTES_PER_S = 3.0e12
BF16_FLOPS_PER_S = 800e12


def time_cuda(fn, iterations=50):
    for _ in range(3):
        fn()
    torch.cuda.synchronize()
    start, stop = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    start.record()
    for _ in range(iterations):
        fn()
    stop.record()
    stop.synchronize()
    return start.elapsed_time(stop) / iterations


def peers(kernel, dims):
    """(description, [(peer name, fn)], bytes, flops) for a benchmark case."""
    cuda, bf16 = "cuda", torch.bfloat16
    rand = lambda *shape, dtype=bf16: torch.randn(*shape, device=cuda, dtype=dtype)
    if kernel == "swiglu_act_bf16":
        T, Fd = dims["T"], dims["F"]
        u, g = rand(T, Fd), rand(T, Fd)
        fn = lambda: u * F.silu(g)
        return (f"SwiGLU activation bf16 T={T} F={Fd}", fn, 3 * T * Fd * 2, 0)
    if kernel == "llama3_ffn_bf16":
        T = dims["T"]
        x, wg, wu, wd = rand(T, 4096), rand(4096, 14336) * 0.02, rand(4096, 14336) * 0.02, rand(14336, 4096) * 0.02
        fn = lambda: (F.silu(x @ wg) * (x @ wu)) @ wd
        return (f"Llama-3-8B gated FFN bf16 T={T}", fn, 0, 2 * T * 4096 * 14336 * 3)
    if kernel == "gla_forward":
        B, T, H, K = dims["B"], dims["T"], 8, 128
        q, k, v = rand(B, T, H, K), rand(B, T, H, K), rand(B, T, H, K)
        g = F.logsigmoid(torch.randn(B, T, H, K, device=cuda)) / 16
        # f32 inside, as gatec's scan; the bf16 result, as gatec's.
        fn = lambda: torch_chunked_gla(q.float(), k.float(), v.float(), g).to(torch.bfloat16)
        C = 64
        flops = B * H * (T // C) * 2 * (C * C * K + C * C * K + 2 * C * K * K)
        return (f"GLA forward B={B} T={T} H={H} K=V={K}", fn, 0, flops)
    if kernel == "gdn_forward":
        B, T, H, HV, K = dims["B"], dims["T"], 16, 32, 128
        q, k, v = rand(B, T, H, K), rand(B, T, H, K), rand(B, T, HV, K)
        a, b = torch.randn(B, T, HV, device=cuda), torch.randn(B, T, HV, device=cuda)

        def fn():
            qn, kn = F.normalize(q.float(), dim=-1), F.normalize(k.float(), dim=-1)
            return torch_chunked_gated_delta(qn, kn, v.float(), F.logsigmoid(a),
                                             torch.sigmoid(b)).to(torch.bfloat16)

        C = 64
        flops = B * HV * T * (C * (6 * K + 4 * K) + 6 * K * K)
        return (f"Gated DeltaNet forward B={B} T={T} H={H} HV={HV} K=V={K}", fn, 0, flops)
    if kernel == "gdn_decode":
        N, P, H, HV, K = dims["N"], dims["P"], 16, 32, 128
        q, k, v = rand(N, H, K), rand(N, H, K), rand(N, HV, K)
        a, b = torch.randn(N, HV, device=cuda), torch.randn(N, HV, device=cuda)
        states = torch.randn(P, HV, K, K, device=cuda) * 0.1
        slots = torch.arange(N, device=cuda)

        def fn():
            qn = F.normalize(q.float(), dim=-1).repeat_interleave(HV // H, dim=1)
            kn = F.normalize(k.float(), dim=-1).repeat_interleave(HV // H, dim=1)
            S = states[slots] * torch.exp(F.logsigmoid(a))[..., None, None]
            u = torch.sigmoid(b)[..., None] * (v.float() - torch.einsum("nhk,nhkv->nhv", kn, S))
            S = S + kn[..., None] * u[:, :, None, :]
            states[slots] = S
            return (torch.einsum("nhk,nhkv->nhv", qn, S) * K ** -0.5).to(torch.bfloat16)

        # The state traffic: each sequence's state read and written once.
        return (f"Gated DeltaNet decode step N={N} P={P} (state pool, f32)", fn,
                2 * N * HV * K * K * 4, 0)
    if kernel == "router_e128":
        T = dims["T"]
        logits = torch.randn(T, 128, device=cuda)
        return (f"router softmax top-8 of 128, T={T}", lambda: torch_topk(logits, 8, True), T * 128 * 4, 0)
    if kernel == "router_deepseek_v3":
        T = dims["T"]
        logits, bias = torch.randn(T, 256, device=cuda), torch.randn(256, device=cuda) * 0.1
        return (f"DeepSeek-V3 grouped sigmoid top-8 of 256, T={T}",
                lambda: torch_grouped_topk(logits, bias, 8, 8, 4, 2.5), T * 256 * 4, 0)
    if kernel == "route_dispatch_e256":
        T = dims["T"]
        logits = torch.randn(T, 256, device=cuda)

        def fn():
            _, experts = torch_topk(logits, 8, False)
            return torch_dispatch(experts, 256, 64)

        # Reads the logits; writes the positions and about twice the pairs.
        return (f"softmax top-8 of 256 + dispatch metadata (blocks of 64), T={T}", fn,
                T * 256 * 4 + 3 * T * 8 * 4, 0)
    raise KeyError(kernel)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--cases", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--iterations", type=int, default=50)
    args = parser.parse_args()
    rows = []
    for name in sorted(os.listdir(args.cases)):
        # <kernel>-<dims>/<kernel>/case, dims as T4096_B4.
        kernel, _, dim_text = name.partition("-")
        # <kernel>_wgmma: the same kernel compiled with --cuda-wgmma.
        variant = ""
        if kernel.endswith("_wgmma"):
            kernel, variant = kernel[: -len("_wgmma")], " [sm_90a wgmma]"
        case_dir = os.path.join(args.cases, name, kernel)
        if not os.path.exists(os.path.join(case_dir, "case")):
            continue
        dims = {m.group(1): int(m.group(2)) for m in re.finditer(r"([A-Za-z]+)(\d+)", dim_text)}
        run = subprocess.run(["./case", str(args.iterations), "."], cwd=case_dir,
                             capture_output=True, text=True)
        match = re.search(r"TIME \S+ ([0-9.]+) ms", run.stdout)
        gatec_ms = float(match.group(1)) if match else None
        row = {"case": name, "kernel": kernel, "dims": dims, "gatec_ms": gatec_ms,
               "gatec_output": "ok" if run.returncode == 0 else run.stdout.strip()[-300:]}
        description, fn, nbytes, flops = peers(kernel, dims)
        row["description"] = description + variant
        row["eager_ms"] = time_cuda(fn, args.iterations)
        try:
            compiled = torch.compile(fn)
            row["compile_ms"] = time_cuda(compiled, args.iterations)
        except Exception as error:  # torch.compile may fail on a machine
            row["compile_ms"] = None
            row["compile_error"] = str(error)[:200]
        ideal = max(nbytes / COPY_BYTES_PER_S, flops / BF16_FLOPS_PER_S) * 1e3
        row["roofline_ms"] = ideal
        rows.append(row)
        print(json.dumps(row), flush=True)

    lines = ["| case | gatec ms | eager ms | compile ms | eager / gatec | compile / gatec | gatec % of roofline |",
             "|---|---|---|---|---|---|---|"]
    fmt = lambda x: "n/a" if x is None else f"{x:.4f}"
    for r in rows:
        g = r["gatec_ms"]
        ratio = lambda p: "n/a" if (p is None or not g) else f"{p / g:.2f}x"
        roof = "n/a" if not g else f"{100 * r['roofline_ms'] / g:.1f}%"
        lines.append(f"| {r['description']} | {fmt(g)} | {fmt(r['eager_ms'])} | {fmt(r['compile_ms'])} | "
                     f"{ratio(r['eager_ms'])} | {ratio(r['compile_ms'])} | {roof} |")
    table = "\n".join(lines)
    print(table)
    with open(os.path.join(args.out, "bench.md"), "w") as f:
        f.write(torch.cuda.get_device_name() + "\n\n" + table + "\n")
    with open(os.path.join(args.out, "bench.json"), "w") as f:
        json.dump(rows, f, indent=1)


if __name__ == "__main__":
    main()
