# Loads the op library built from test/Target/CPU/Inputs/pool.gate (see
# ../pool.test): the state pool is a mutable argument (Tensor(a!)) that the
# op updates in place, only in the rows the slots name, and the op returns
# only o. Checked against a float64 eager recurrence: |error| <= 1e-5 (the
# f32 chunk form of one token is a few roundings). Every check asserts; the
# printed lines are for FileCheck.

import sys

import torch
import torch.nn.functional as F

torch.ops.load_library(sys.argv[1])
ops = torch.ops.gatec_pool
torch.manual_seed(11)
print("schema:", ops.gdn_decode.default._schema)
print("schema:", ops.gdn_decode_i64.default._schema)


def inputs(n):
    q, k = torch.randn(n, 1, 2, 16), torch.randn(n, 1, 2, 16)
    v = torch.randn(n, 1, 4, 8)
    a, b = torch.randn(n, 1, 4), torch.randn(n, 1, 4)
    return q, k, v, a, b


def reference(q, k, v, a, b, pool, slots):
    """One Gated DeltaNet step per sequence, in float64; updates pool."""
    q, k, v, a, b = (t.double() for t in (q, k, v, a, b))
    kn = k * torch.rsqrt((k * k).sum(-1, keepdim=True) + 1e-6)
    o = torch.zeros(v.shape, dtype=torch.float64)
    for i, s in enumerate(slots.tolist()):
        if s < 0:
            continue
        for h in range(4):
            S = pool[s, h].double() * torch.exp(F.logsigmoid(a[i, 0, h]))
            key = kn[i, 0, h // 2]
            S = S + torch.sigmoid(b[i, 0, h]) * torch.outer(key, v[i, 0, h] - key @ S)
            o[i, 0, h] = (q[i, 0, h // 2] @ S) * 16 ** -0.5
            pool[s, h] = S.float()
    return o


# Two steps on a pool of 8 rows, sequence 2 padding: the op writes the
# caller's tensor (same storage), the named rows only.
pool = torch.randn(8, 4, 16, 8) * 0.5
ref_pool = pool.clone()
slots = torch.tensor([5, 0, -1, 3], dtype=torch.int32)
pointer = pool.data_ptr()
for step in range(2):
    before = pool.clone()
    x = inputs(4)
    o = ops.gdn_decode(*x, pool, slots)
    assert isinstance(o, torch.Tensor) and o.shape == (4, 1, 4, 8)
    ref = reference(*x, ref_pool, slots)
    assert pool.data_ptr() == pointer
    err = max((o.double() - ref).abs().max().item(),
              (pool.double() - ref_pool.double()).abs().max().item())
    assert err <= 1e-5, err
    for row in range(8):
        assert torch.equal(pool[row], before[row]) == (row not in (5, 0, 3)), row
    assert torch.equal(o[2], torch.zeros(1, 4, 8))
    print(f"step {step}: ok, max error {err:.1e}")

# A contiguous slice of a larger pool is updated where it lies.
big = torch.zeros(10, 4, 16, 8)
o = ops.gdn_decode_i64(*inputs(2), big[4:8], torch.tensor([1, 3]))
assert big[[5, 7]].abs().sum() > 0 and big[[0, 1, 2, 3, 4, 6, 8, 9]].abs().sum() == 0
print("slice: ok")


def error(what, *args):
    try:
        ops.gdn_decode(*args)
    except RuntimeError as e:
        print(f"{what}: RuntimeError: {str(e).splitlines()[0]}")
        return
    raise AssertionError(what + " did not raise")


x = inputs(4)
pool = torch.randn(8, 4, 16, 8)
before = pool.clone()
error("past the pool", *x, pool, torch.tensor([0, 1, 2, 9], dtype=torch.int32))
error("duplicate", *x, pool, torch.tensor([2, 1, -1, 2], dtype=torch.int32))
assert torch.equal(pool, before)
error("strided pool", *x, pool.transpose(2, 3), torch.tensor([0, 1, 2, 3], dtype=torch.int32))
error("pool dtype", *x, pool.double(), torch.tensor([0, 1, 2, 3], dtype=torch.int32))
