#!/usr/bin/python3
"""gatec's CPU kernels side by side with PyTorch (eager, CPU) and gatec's scalar
reference, in one process, on the shapes of docs/performance.md.

Run through scripts/bench-cpu.sh, which builds gatec, compiles
cpu_kernels.gate to an object and links the libraries this script loads.
Prints a markdown table (time, ratio to each peer, fraction of the roofline
measured in the same run) and a final JSON line with the ratios.
"""
import argparse
import re
import ctypes
import json
import math
import os
import statistics
import sys
import time

import torch
import torch.nn.functional as F

from torch_peers import (torch_chunked_gated_delta, torch_chunked_gla,
                         torch_grouped_topk, torch_topk)

THREADS = int(os.environ.get("OMP_NUM_THREADS", "2"))
torch.set_num_threads(THREADS)
torch.manual_seed(0)


# --- calling gatec kernels -------------------------------------------------

_descriptor_types = {}


def descriptor_type(rank):
    """The strided memref descriptor of the kernels' C ABI."""
    if rank not in _descriptor_types:
        fields = [("allocated", ctypes.c_void_p), ("aligned", ctypes.c_void_p),
                  ("offset", ctypes.c_int64)]
        if rank:
            fields += [("sizes", ctypes.c_int64 * rank),
                       ("strides", ctypes.c_int64 * rank)]
        _descriptor_types[rank] = type(f"Memref{rank}", (ctypes.Structure,),
                                       {"_fields_": fields})
    return _descriptor_types[rank]


def descriptor(t):
    assert t.is_contiguous()
    d = descriptor_type(t.dim())()
    d.allocated = d.aligned = t.data_ptr()
    d.offset = 0
    for i in range(t.dim()):
        d.sizes[i] = t.shape[i]
        d.strides[i] = t.stride(i)
    return d


class Kernels:
    def __init__(self, path):
        self.lib = ctypes.CDLL(path)

    def __call__(self, name, inputs, outputs):
        fn = getattr(self.lib, "_mlir_ciface_" + name)
        descs = [descriptor(t) for t in list(inputs) + list(outputs)]
        fn(*[ctypes.byref(d) for d in descs])
        return outputs


# --- timing ------------------------------------------------------------------

def timeit(fn, min_time=0.3, max_reps=50):
    # gatec's kernels run on libomp and PyTorch on its own OpenMP runtime; each
    # keeps its threads spinning for a while after a parallel region (libomp:
    # KMP_BLOCKTIME, 200 ms), which would steal the cores from whichever peer
    # is timed next. Let them go to sleep first.
    time.sleep(0.3)
    fn()  # warm up: page in buffers, spin up the thread pools
    times = []
    start = time.perf_counter()
    while len(times) < 3 or (time.perf_counter() - start < min_time and
                             len(times) < max_reps):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def check_close(name, got, want, tol):
    got, want = got.float(), want.float()
    err = (got - want).abs().max().item() / max(1.0, want.abs().max().item())
    if not err <= tol:
        sys.exit(f"bench: {name}: gatec and PyTorch disagree "
                 f"(normalized error {err:.3g} > {tol})")


# --- PyTorch peers -------------------------------------------------------------

# --- benchmarks ------------------------------------------------------------------

# The CPU features that decide which code the kernels and the peers run.
FEATURES = ("avx2", "fma", "avx512f", "avx512_bf16", "amx_tile", "amx_bf16",
            "amx_int8")


def host_cpu():
    """The CPU's model and the FEATURES it has, from /proc/cpuinfo."""
    info = {"model": "unknown CPU", "family": "?", "model_number": "?",
            "features": []}
    try:
        with open("/proc/cpuinfo") as f:
            text = f.read().split("\n\n")[0]
    except OSError:
        return info
    fields = dict(line.split(":", 1) for line in text.splitlines() if ":" in line)
    fields = {k.strip(): v.strip() for k, v in fields.items()}
    flags = set(fields.get("flags", "").split())
    info["model"] = fields.get("model name", info["model"])
    info["family"] = fields.get("cpu family", "?")
    info["model_number"] = fields.get("model", "?")
    info["features"] = [f for f in FEATURES if f in flags]
    return info


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--kernels", required=True, help="gatec kernels .so")
    ap.add_argument("--roofline", required=True, help="roofline .so")
    ap.add_argument("--reference", required=True, help="reference shim .so")
    ap.add_argument("--quick", action="store_true",
                    help="smaller shapes (a smoke run, not for the table)")
    ap.add_argument("--runs", type=int, default=1,
                    help="repeat the whole measurement this many times and "
                         "print the range of each ratio")
    ap.add_argument("--only", default="",
                    help="run only the groups whose name matches this regex "
                         "(swiglu, llama_ffn, output_gate, gla, gdn, router)")
    args = ap.parse_args()

    def selected(group):
        return re.search(args.only, group) is not None
    gk = Kernels(args.kernels)
    roof = ctypes.CDLL(args.roofline)
    roof.triad_bandwidth.restype = ctypes.c_double
    roof.triad_bandwidth.argtypes = [ctypes.c_long, ctypes.c_int]
    roof.fma_peak.restype = ctypes.c_double
    roof.fma_peak.argtypes = [ctypes.c_long]
    roof.bf16_dot_peak.restype = ctypes.c_double
    roof.bf16_dot_peak.argtypes = [ctypes.c_long]
    roof.amx_bf16_peak.restype = ctypes.c_double
    roof.amx_bf16_peak.argtypes = [ctypes.c_long]
    ref = ctypes.CDLL(args.reference)
    host = host_cpu()
    missing = [f for f in FEATURES if f not in host["features"]]
    print(f"host: {host['model']} (family {host['family']} model "
          f"{host['model_number']}); has {' '.join(host['features']) or '-'}; "
          f"lacks {' '.join(missing) or '-'}")

    def run_once():
        """One pass over every selected kernel: the machine probes, then each
        kernel against its peers. Returns the JSON record of the pass."""
        bandwidth = roof.triad_bandwidth(1 << 26, 10)
        peak = roof.fma_peak(2_000_000)
        # bf16 matmuls are measured against the machine's fastest bf16 path:
        # AMX tiles (amx_bf16), else the bf16 dot product (avx512_bf16), else
        # the f32 FMA peak (bf16 widened in registers).
        dot_peak = roof.bf16_dot_peak(2_000_000)
        amx_peak = roof.amx_bf16_peak(200_000)
        bf16_peak = max(amx_peak, dot_peak) or peak
        bf16_source = ("AMX tdpbf16ps" if amx_peak >= dot_peak and amx_peak
                       else "vdpbf16ps" if dot_peak else "f32 FMA")
        print(f"machine: {THREADS} threads, triad {bandwidth / 1e9:.1f} GB/s, "
              f"f32 FMA peak {peak / 1e9:.0f} GFLOP/s, "
              f"bf16 peak {bf16_peak / 1e9:.0f} GFLOP/s ({bf16_source})")

        q = 8 if args.quick else 1
        rows = []

        def record(name, t_gatec, peers, flops, bytes_, flop_rate=None):
            roofline = max(flops / (flop_rate or peak), bytes_ / bandwidth)
            row = {"name": name, "gatec_ms": t_gatec * 1e3,
                   "roofline_fraction": roofline / t_gatec}
            for peer, t in peers.items():
                row[f"{peer}_ms"] = t * 1e3
                row[f"vs_{peer}"] = t / t_gatec
            rows.append(row)
            peer_text = "  ".join(f"{p} {t * 1e3:9.2f} ms ({t / t_gatec:5.2f}x)"
                                  for p, t in peers.items())
            print(f"{name:34s} gatec {t_gatec * 1e3:9.2f} ms  {peer_text}  "
                  f"roofline {100 * roofline / t_gatec:5.1f}%", flush=True)

        def ptr(t):
            return ctypes.c_void_p(t.data_ptr())

        # SwiGLU activation alone.
        T, Fd = 4096 // q, 11008
        for dt, name, tol in ((torch.float32, "swiglu_act_f32", 1e-5),
                              (torch.bfloat16, "swiglu_act_bf16", 1e-2)) if selected("swiglu") else ():
            u, g = torch.randn(T, Fd).to(dt), torch.randn(T, Fd).to(dt)
            y = torch.empty(T, Fd, dtype=dt)
            gk(name, [u, g], [y])
            check_close(name, y, F.silu(g.float()) * u.float(), tol)
            t = timeit(lambda: gk(name, [u, g], [y]))
            peers = {"torch": timeit(lambda: F.silu(g) * u)}
            if dt == torch.float32:
                peers["reference"] = timeit(lambda: ref.ref_swiglu(
                    ptr(u), ptr(g), ptr(y), T, Fd), max_reps=3)
            record(name + f" [{T},{Fd}]", t, peers, 0,
                   3 * T * Fd * u.element_size())

        # Llama gated FFN.
        T, d, dff = 512 // q, 2048, 5632
        for dt, name, tol in ((torch.float32, "llama_ffn_f32", 1e-4),
                              (torch.bfloat16, "llama_ffn_bf16", 2e-2)) if selected("llama_ffn") else ():
            x = torch.randn(T, d).to(dt)
            wg, wu = (torch.randn(d, dff) * d ** -0.5).to(dt), (torch.randn(d, dff) * d ** -0.5).to(dt)
            wd = (torch.randn(dff, d) * dff ** -0.5).to(dt)
            y = torch.empty(T, d, dtype=dt)
            gk(name, [x, wg, wu, wd], [y])
            want = (F.silu(x.float() @ wg.float()) * (x.float() @ wu.float())) @ wd.float()
            check_close(name, y, want, tol)
            t = timeit(lambda: gk(name, [x, wg, wu, wd], [y]), min_time=1.0)
            peers = {"torch": timeit(lambda: (F.silu(x @ wg) * (x @ wu)) @ wd, min_time=1.0)}
            record(name + f" T={T}", t, peers, 2 * T * d * dff * 3,
                   (x.numel() + 3 * d * dff + T * d) * x.element_size(),
                   bf16_peak if dt == torch.bfloat16 else peak)

        # Gated-attention output gate with its projection.
        T = 4096 // q
        o, x = torch.randn(1, T, 16, 128), torch.randn(1, T, 2048)
        for name, width in (("output_gate_headwise", 16), ("output_gate_elementwise", 2048)) \
                if selected("output_gate") else ():
            w = torch.randn(2048, width) * 2048 ** -0.5
            y = torch.empty_like(o)
            gk(name, [o, x, w], [y])
            if width == 16:
                peer = lambda: o * torch.sigmoid(x @ w).view(1, T, 16, 1)
            else:
                peer = lambda: o * torch.sigmoid(x @ w).view(1, T, 16, 128)
            check_close(name, y, peer(), 1e-4)
            t = timeit(lambda: gk(name, [o, x, w], [y]))
            record(name + f" T={T}", t, {"torch": timeit(peer)}, 2 * T * 2048 * width,
                   4 * (2 * o.numel() + x.numel() + w.numel()))

        # GLA forward.
        for T in ((2048, 8192) if not args.quick else (256,)) if selected("gla") else ():
            B, H, K, V = 1, 4, 128, 256
            qq, kk = torch.randn(B, T, H, K), torch.randn(B, T, H, K)
            vv = torch.randn(B, T, H, V)
            gg = F.logsigmoid(torch.randn(B, T, H, K)) / 16
            out = torch.empty(B, T, H, V)
            gk("gla_forward", [qq, kk, vv, gg], [out])
            want = torch_chunked_gla(qq, kk, vv, gg)
            check_close("gla_forward", out, want, 1e-3)
            t = timeit(lambda: gk("gla_forward", [qq, kk, vv, gg], [out]), min_time=1.0)
            peers = {"torch": timeit(lambda: torch_chunked_gla(qq, kk, vv, gg), min_time=1.0)}
            C = 64
            flops = B * H * (2 * T * C * K + 2 * T * C * V + 4 * T * K * V)
            record(f"gla_forward T={T}", t, peers, flops,
                   4 * (qq.numel() + kk.numel() + vv.numel() + gg.numel() + out.numel()))
            # The same scan with GLA's output block (per-head RMSNorm, swish
            # gate) fused into its chunk loop; torch runs the three steps.
            zz, ww = torch.randn(B, T, H, V), torch.rand(V) + 0.5
            def torch_block():
                o = torch_chunked_gla(qq, kk, vv, gg)
                return o * torch.rsqrt(o.pow(2).mean(-1, keepdim=True) + 1e-5) * ww * F.silu(zz)
            gk("gla_output_block", [qq, kk, vv, gg, zz, ww], [out])
            check_close("gla_output_block", out, torch_block(), 1e-3)
            t = timeit(lambda: gk("gla_output_block", [qq, kk, vv, gg, zz, ww], [out]),
                       min_time=1.0)
            peers = {"torch": timeit(torch_block, min_time=1.0)}
            record(f"gla_output_block T={T}", t, peers, flops,
                   4 * (qq.numel() + kk.numel() + vv.numel() + gg.numel() + zz.numel()
                        + out.numel()))

        # Gated DeltaNet chunked forward at Qwen3-Next's heads (16 q/k, 32 v).
        T = 4096 // q
        for dt, name, tol in ((torch.float32, "gdn_forward", 1e-3),
                              (torch.bfloat16, "gdn_forward_bf16", 2e-2)) if selected("gdn") else ():
            B, H, HV, K, V = 1, 16, 32, 128, 128
            qq = F.normalize(torch.randn(B, T, H, K), dim=-1).to(dt)
            kk = F.normalize(torch.randn(B, T, H, K), dim=-1).to(dt)
            vv = torch.randn(B, T, HV, V).to(dt)
            gg = -torch.rand(B, T, HV) * 0.1
            bb = torch.rand(B, T, HV)
            out = torch.empty(B, T, HV, V, dtype=dt)
            gk(name, [qq, kk, vv, gg, bb], [out])
            check_close(name, out, torch_chunked_gated_delta(qq, kk, vv, gg, bb), tol)
            t = timeit(lambda: gk(name, [qq, kk, vv, gg, bb], [out]), min_time=1.0)
            peers = {"torch": timeit(lambda: torch_chunked_gated_delta(qq, kk, vv, gg, bb),
                                     min_time=1.0)}
            # Per chunk of C tokens and value head: the keys' scores, T W,
            # T U, W S, q k^T, A U (2 C^2 K or V each), q S, the state
            # update and W S (2 C K V each), counted whole as for GLA.
            C = 64
            flops = B * HV * T * (C * (6 * K + 4 * V) + 6 * K * V)
            record(f"{name} T={T}", t, peers, flops,
                   qq.element_size() * (qq.numel() + kk.numel() + vv.numel() + out.numel())
                   + 4 * (gg.numel() + bb.numel()),
                   bf16_peak if dt == torch.bfloat16 else peak)

        # Gated DeltaNet decoding step: N = 64 sequences, one token each,
        # against a pool of 96 states updated in place at 64 distinct slots.
        # The traffic that counts is each sequence's state read and written
        # once (2 MB each way per sequence); torch gathers, updates and
        # scatters (fla's recurrent step in PyTorch).
        if selected("gdn"):
            N, P, H, HV, K, V = 64 // q, 96 // q, 16, 32, 128, 128
            qq = F.normalize(torch.randn(N, 1, H, K), dim=-1)
            kk = F.normalize(torch.randn(N, 1, H, K), dim=-1)
            vv = torch.randn(N, 1, HV, V)
            gg, bb = -torch.rand(N, 1, HV) * 0.1, torch.rand(N, 1, HV)
            pool = torch.randn(P, HV, K, V) * 0.1
            slots = torch.randperm(P)[:N].to(torch.int32)
            out = torch.empty(N, 1, HV, V)

            def torch_decode(states):
                S = states[slots.long()].float()  # N HV K V
                kr = kk[:, 0].repeat_interleave(HV // H, dim=1)  # N HV K
                qr = qq[:, 0].repeat_interleave(HV // H, dim=1)
                S = S * gg[:, 0].exp()[..., None, None]
                u = bb[:, 0, :, None] * (vv[:, 0] - torch.einsum("nhk,nhkv->nhv", kr, S))
                S = S + kr[..., None] * u[:, :, None, :]
                states[slots.long()] = S.to(states.dtype)
                return torch.einsum("nhk,nhkv->nhv", qr, S)[:, None] * K ** -0.5

            want_pool = pool.clone()
            want = torch_decode(want_pool)
            got_pool = pool.clone()
            gk("gdn_decode", [qq, kk, vv, gg, bb, got_pool, slots], [out])
            check_close("gdn_decode", out, want, 1e-4)
            check_close("gdn_decode pool", got_pool, want_pool, 1e-4)
            t = timeit(lambda: gk("gdn_decode", [qq, kk, vv, gg, bb, got_pool, slots], [out]))
            peers = {"torch": timeit(lambda: torch_decode(want_pool))}
            state_bytes = 2 * N * HV * K * V * 4
            record(f"gdn_decode N={N} P={P}", t, peers, 0, state_bytes)

            # The same step with the pool in bf16 (widened when read, rounded
            # once when written): half the bytes. The tolerance is one bf16
            # rounding of the state (2^-9 relative, on values up to ~0.5).
            pool16 = pool.to(torch.bfloat16)
            want_pool = pool16.clone()
            want = torch_decode(want_pool)
            got_pool = pool16.clone()
            gk("gdn_decode_bf16_pool", [qq, kk, vv, gg, bb, got_pool, slots], [out])
            check_close("gdn_decode_bf16_pool", out, want, 1e-4)
            check_close("gdn_decode_bf16_pool pool", got_pool.float(), want_pool.float(), 4e-3)
            t = timeit(lambda: gk("gdn_decode_bf16_pool", [qq, kk, vv, gg, bb, got_pool, slots], [out]))
            peers = {"torch": timeit(lambda: torch_decode(want_pool))}
            record(f"gdn_decode bf16 pool N={N} P={P}", t, peers, 0, state_bytes // 2)

        # Routers, alone and with the projection from x [4096, 4096].
        T = 4096 // q
        bias = torch.randn(256) * 0.1
        configs = (("mixtral", 8, 2, False, True),
                   ("e64", 64, 8, False, False),
                   ("deepseek_v3", 256, 8, True, True))
        x = torch.randn(T, 4096)
        for tag, E, k, sig, renorm in configs if selected("router") else ():
            logits = torch.randn(T, E)
            w_out, e_out = torch.empty(T, k), torch.empty(T, k, dtype=torch.int32)
            inputs = [logits, bias] if sig else [logits]
            gk("router_" + tag, inputs, [w_out, e_out])
            if sig:
                peer = lambda: torch_grouped_topk(logits, bias, k, 8, 4, 2.5)
            else:
                peer = lambda: torch_topk(logits, k, renorm)
            want_w, want_e = peer()
            check_close("router_" + tag, w_out, want_w, 1e-5)
            t = timeit(lambda: gk("router_" + tag, inputs, [w_out, e_out]))
            ref_w, ref_e = torch.empty(T, k), torch.empty(T, k, dtype=torch.int32)
            peers = {"torch": timeit(peer),
                     "reference": timeit(lambda: ref.ref_route(
                         ptr(logits), ptr(bias) if sig else None, T, E, k, int(sig),
                         int(renorm), 8 if sig else 1, 4 if sig else 1,
                         ctypes.c_double(2.5 if sig else 1.0), ptr(ref_w), ptr(ref_e)),
                         max_reps=5)}
            record(f"router_{tag} E={E} k={k}", t, peers, 0, 4 * (logits.numel() + 2 * T * k))

            w = torch.randn(4096, E) * 4096 ** -0.5
            pin = [x, w, bias] if sig else [x, w]
            gk("proj_router_" + tag, pin, [w_out, e_out])
            if sig:
                ppeer = lambda: torch_grouped_topk(x @ w, bias, k, 8, 4, 2.5)
            else:
                ppeer = lambda: torch_topk(x @ w, k, renorm)
            t = timeit(lambda: gk("proj_router_" + tag, pin, [w_out, e_out]))
            record(f"proj_router_{tag} E={E} k={k}", t, {"torch": timeit(ppeer)},
                   2 * T * 4096 * E, 4 * (x.numel() + w.numel() + 2 * T * k))

        return {"host": host, "threads": THREADS,
                "triad_gbps": bandwidth / 1e9, "fma_gflops": peak / 1e9,
                "bf16_gflops": bf16_peak / 1e9, "bf16_peak_source": bf16_source,
                "amx_bf16_gflops": amx_peak / 1e9,
                "bf16_dot_gflops": dot_peak / 1e9,
                "quick": args.quick, "results": rows}

    runs = []
    for run in range(args.runs):
        if args.runs > 1:
            print(f"--- run {run + 1} of {args.runs}", flush=True)
        runs.append(run_once())
    if args.runs > 1:
        # Ratios across runs: PyTorch's own times drift between runs on a
        # shared host, so one run's ratio is not the whole story.
        print(f"--- x{args.runs} runs: ratio to each peer, lowest to highest")
        for i, row in enumerate(runs[0]["results"]):
            ratios = {key: sorted(r["results"][i][key] for r in runs)
                      for key in row if key.startswith("vs_")}
            text = "  ".join(f"{key[3:]} {min(v):.2f}-{max(v):.2f}x"
                             for key, v in ratios.items())
            print(f"{row['name']:34s} {text}")
    print(json.dumps({"gatec_cpu_bench": runs[0] if args.runs == 1 else
                      {"runs": runs}}))


if __name__ == "__main__":
    main()
