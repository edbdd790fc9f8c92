# Loads the op library built from moe.gate (see ../extension.test) and checks
# its ops against torch eager on random inputs, then the errors they raise.
# Every check asserts; the printed lines are for FileCheck and the log.
#
# Tolerances, against float64 computed from the same (rounded) inputs:
#   f32 swiglu:  |out - ref| <= 1e-5 * |ref| + 1e-6   (a few f32 ulps)
#   bf16 swiglu: |out - ref| <= 2**-7 * |ref| + 1e-6  (one bf16 rounding is
#                at most 2**-8 relative; a factor 2 for the f32 arithmetic
#                before it), and within 2**-5 relative of torch's bf16 eager
#                result, which rounds twice itself (silu, then the product)
#   router:      weights within 1e-5; every chosen expert's softmax
#                probability equals the reference top-k probability within
#                1e-5 (so near-ties may pick either expert), and at least 99%
#                of the expert ids match torch.topk exactly.

import sys

import torch
import torch.nn.functional as F

torch.ops.load_library(sys.argv[1])
ops = torch.ops.gatec_moe
torch.manual_seed(7)

# The schemas, as PyTorch parsed them.
for name in ("swiglu_f32", "swiglu_bf16", "router"):
    print("schema:", getattr(ops, name).default._schema)

# T = 37, D = 300 is no multiple of the 256 x 128 thread tile; T = 1 and
# T = 0 are the edges; 300 x 1000 spans several tiles per thread.
SHAPES = [(37, 300), (1, 5), (1, 257), (300, 1000), (0, 16)]


def max_rel(out, ref, floor):
    """max |out - ref| / (|ref| + floor) over all elements (0 if empty)."""
    if out.numel() == 0:
        return 0.0
    return ((out - ref).abs() / (ref.abs() + floor)).max().item()


worst = {"f32": 0.0, "bf16": 0.0, "bf16-eager": 0.0}
for T, D in SHAPES:
    u = torch.randn(T, D)
    g = torch.randn(T, D) * 4
    out = ops.swiglu_f32(u, g)
    assert out.dtype == torch.float32 and out.shape == (T, D), out.shape
    ref = F.silu(g.double()) * u.double()
    assert torch.allclose(out.double(), ref, rtol=1e-5, atol=1e-6), (T, D)
    worst["f32"] = max(worst["f32"], max_rel(out.double(), ref, 1e-6))

    ub, gb = u.bfloat16(), g.bfloat16()
    outb = ops.swiglu_bf16(ub, gb)
    assert outb.dtype == torch.bfloat16 and outb.shape == (T, D)
    refb = F.silu(gb.double()) * ub.double()
    assert torch.allclose(outb.double(), refb, rtol=2**-7, atol=1e-6), (T, D)
    eager = (F.silu(gb) * ub).double()
    assert torch.allclose(outb.double(), eager, rtol=2**-5, atol=1e-6), (T, D)
    worst["bf16"] = max(worst["bf16"], max_rel(outb.double(), refb, 1e-6))
    worst["bf16-eager"] = max(worst["bf16-eager"],
                              max_rel(outb.double(), eager, 1e-6))
    print(f"swiglu [{T}, {D}]: ok")

# Strided inputs are made contiguous; inputs that require grad are read.
u = torch.randn(300, 37).t()
g = torch.randn(37, 300, requires_grad=True)
assert not u.is_contiguous()
out = ops.swiglu_f32(u, g)
ref = F.silu(g.detach().double()) * u.double()
assert torch.allclose(out.double(), ref, rtol=1e-5, atol=1e-6)
print("swiglu strided: ok")

worst_weights = 0.0
exact = total = 0
for T in (37, 1, 200, 0):
    x = torch.randn(T, 64)
    w = torch.randn(64, 8) / 4
    weights, experts = ops.router(x, w)
    assert weights.dtype == torch.float32 and weights.shape == (T, 2)
    assert experts.dtype == torch.int32 and experts.shape == (T, 2)
    probs = torch.softmax(x.double() @ w.double(), dim=-1)
    top, top_ids = probs.topk(2, dim=-1)
    ref_weights = top / top.sum(dim=-1, keepdim=True)
    assert torch.allclose(weights.double(), ref_weights, atol=1e-5), T
    chosen = probs.gather(1, experts.long())
    assert torch.allclose(chosen, top, atol=1e-5), T
    exact += (experts.long() == top_ids).sum().item()
    total += experts.numel()
    if T:
        worst_weights = max(worst_weights,
                            (weights.double() - ref_weights).abs().max().item())
    print(f"router [{T}, 64]: ok")
assert exact >= 0.99 * total, (exact, total)

print(f"max error: f32 {worst['f32']:.3g} rel, bf16 {worst['bf16']:.3g} rel "
      f"(vs eager bf16 {worst['bf16-eager']:.3g}), router weights "
      f"{worst_weights:.3g} abs, experts {exact}/{total} equal to torch.topk")


def expect_error(what, call):
    try:
        call()
    except RuntimeError as e:
        # The first line: later ones are PyTorch's C++ context, if any.
        print(f"{what}: {type(e).__name__}: {str(e).splitlines()[0]}")
        return
    raise AssertionError(f"{what}: no error")


x = torch.randn(5, 64)
w = torch.randn(64, 8)
u = torch.randn(3, 7)
expect_error("dtype", lambda: ops.swiglu_f32(u.double(), u))
expect_error("dtype bf16", lambda: ops.swiglu_bf16(u, u))
expect_error("dtype i32", lambda: ops.router(x.int(), w))
expect_error("rank", lambda: ops.swiglu_f32(u, u[None]))
expect_error("literal", lambda: ops.router(torch.randn(5, 63), w))
expect_error("symbol", lambda: ops.swiglu_f32(u, torch.randn(4, 7)))
# This PyTorch has no CUDA, so a meta tensor stands in for a CUDA one: both
# dispatch to the kernel for every backend but the CPU. (Outside inference
# mode PyTorch 1.13 stops meta tensors earlier, at AutogradMeta, which has no
# fallthrough there; AutogradCUDA has one.)
with torch.inference_mode():
    expect_error("meta below autograd",
                 lambda: ops.router(x.to("meta"), w.to("meta")))
    expect_error("mixed", lambda: ops.router(x, w.to("meta")))
expect_error("undefined", lambda: ops.swiglu_f32(u, None))

# CUDA tensors dispatch to that kernel: PyTorch's table for the op says so.
for name in ("swiglu_f32", "swiglu_bf16", "router"):
    table = torch._C._dispatch_dump_table(f"gatec_moe::{name}")
    rows = {line.split(":")[0]: line for line in table.splitlines()}
    assert "[kernel]" in rows["CPU"], rows["CPU"]
    for key in ("CUDA", "Meta"):
        assert "[default backend kernel]" in rows[key], rows[key]
        assert ".torch.cpp" in rows[key], rows[key]
print("dispatch: CPU runs the kernels, CUDA and Meta the refusal")
