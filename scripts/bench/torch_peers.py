"""The PyTorch peers of gatec's benchmarks, shared by bench_cpu.py and
bench_gpu.py: the same math as the gatec kernels, on any device."""
import torch


def torch_chunked_gla(q, k, v, g, chunk=64):
    """Chunkwise-parallel GLA in PyTorch (the form fla's reference uses):
    intra-chunk scores with per-channel decays, state carried across chunks."""
    B, T, H, K = q.shape
    V = v.shape[-1]
    scale = K ** -0.5
    q, k, v, g = (x.transpose(1, 2) for x in (q, k, v, g))  # B H T .
    o = torch.empty(B, H, T, V, device=q.device, dtype=q.dtype)
    S = torch.zeros(B, H, K, V, device=q.device, dtype=q.dtype)
    for t0 in range(0, T, chunk):
        t1 = min(t0 + chunk, T)
        qc, kc, vc, gc = q[:, :, t0:t1], k[:, :, t0:t1], v[:, :, t0:t1], g[:, :, t0:t1]
        b = gc.cumsum(2)
        qe = qc * b.exp() * scale
        ke = kc * (b[:, :, -1:] - b).exp()
        # intra: A_ij = sum_k q_ik k_jk exp(b_ik - b_jk), j <= i
        A = torch.einsum("bhik,bhjk->bhij", qc * scale * b.exp(), kc * (-b).exp())
        mask = torch.ones(t1 - t0, t1 - t0, dtype=torch.bool, device=q.device).tril()
        A = A.masked_fill(~mask, 0)
        o[:, :, t0:t1] = A @ vc + qe @ S
        S = S * b[:, :, -1, :, None].exp() + ke.transpose(-1, -2) @ vc
    return o.transpose(1, 2)


def torch_chunked_gated_delta(q, k, v, g, beta, chunk=64):
    """Chunkwise-parallel Gated DeltaNet in PyTorch (the form of fla's naive
    chunk_gated_delta_rule): q, k [B, T, H, K] (L2-normalized), v [B, T, HV, V]
    with HV a multiple of H, scalar log decays g and rates beta [B, T, HV].
    Per chunk: A = strictly lower beta_i k_i.k_j exp(b_i - b_j), T = (I + A)^-1
    by a triangular solve, U = T (beta v) - T (beta exp(b) k) S, then the
    output and the state update with U in v's place."""
    B, T, H, K = q.shape
    HV, V = v.shape[2], v.shape[-1]
    scale = K ** -0.5
    q = q.repeat_interleave(HV // H, dim=2)
    k = k.repeat_interleave(HV // H, dim=2)
    q, k, v = (x.transpose(1, 2) for x in (q, k, v))  # B HV T .
    g, beta = g.transpose(1, 2), beta.transpose(1, 2)  # B HV T
    dt = q.dtype
    o = torch.empty(B, HV, T, V, device=q.device, dtype=dt)
    S = torch.zeros(B, HV, K, V, device=q.device, dtype=torch.float32)
    for t0 in range(0, T, chunk):
        t1 = min(t0 + chunk, T)
        L = t1 - t0
        qc, kc, vc = (x[:, :, t0:t1].float() for x in (q, k, v))
        bc, gc = beta[:, :, t0:t1].float(), g[:, :, t0:t1].float()
        b = gc.cumsum(-1)
        ones = torch.ones(L, L, dtype=torch.bool, device=q.device)
        lower, strict = ones.tril(), ones.tril(-1)
        decay = (b[..., :, None] - b[..., None, :]).masked_fill(~lower, float("-inf")).exp()
        A = (kc @ kc.transpose(-1, -2) * decay * bc[..., :, None]).masked_fill(~strict, 0)
        eye = torch.eye(L, device=q.device).expand_as(A)
        Tm = torch.linalg.solve_triangular(eye + A, eye, upper=False, unitriangular=True)
        W = Tm @ (kc * (bc * b.exp())[..., None])
        U = Tm @ (vc * bc[..., None]) - W @ S
        qk = qc @ kc.transpose(-1, -2) * decay
        o[:, :, t0:t1] = ((qc * b.exp()[..., None]) @ S + qk @ U).mul(scale).to(dt)
        S = S * b[..., -1, None, None].exp() + (kc * (b[..., -1:] - b).exp()[..., None]).transpose(-1, -2) @ U
    return o.transpose(1, 2)


def torch_grouped_topk(logits, bias, k, groups, topk_groups, scale):
    s = logits.sigmoid()
    sb = s + bias
    T, E = s.shape
    gs = sb.view(T, groups, -1).topk(2, dim=-1).values.sum(-1)
    keep = gs.topk(topk_groups, dim=-1).indices
    mask = torch.zeros(T, groups, dtype=torch.bool, device=logits.device).scatter_(1, keep, True)
    sb = sb.masked_fill(~mask.repeat_interleave(E // groups, 1), float("-inf"))
    idx = sb.topk(k, dim=-1).indices
    w = s.gather(1, idx)
    w = w / (w.sum(-1, keepdim=True) + 1e-20) * scale
    return w, idx.int()


def torch_topk(logits, k, renormalize):
    p = logits.softmax(-1)
    w, idx = p.topk(k, dim=-1)
    if renormalize:
        w = w / w.sum(-1, keepdim=True)
    return w, idx.int()


def torch_dispatch(experts, num_experts, block):
    """gate.dispatch in PyTorch (what moe_align_block_size computes): pairs
    sorted stably by expert into segments padded to `block`, the expert of
    each block (-1 past the used length), segment offsets, counts and each
    pair's position."""
    flat = experts.flatten().long()
    N, E, device = flat.numel(), num_experts, experts.device
    counts = torch.bincount(flat, minlength=E)
    padded = (counts + block - 1) // block * block
    offsets = torch.zeros(E + 1, dtype=torch.long, device=device)
    offsets[1:] = padded.cumsum(0)
    order = torch.argsort(flat, stable=True)
    first = counts.cumsum(0) - counts  # each expert's first rank in `order`
    ranks = torch.arange(N, device=device) - first[flat[order]]
    positions = torch.empty(N, dtype=torch.long, device=device)
    positions[order] = offsets[flat[order]] + ranks
    num_blocks = (N + E * (block - 1) + block - 1) // block
    sorted_pairs = torch.full((num_blocks * block,), N, dtype=torch.int32, device=device)
    sorted_pairs[positions] = torch.arange(N, dtype=torch.int32, device=device)
    owners = torch.repeat_interleave(torch.arange(E, device=device), padded // block)
    block_experts = torch.full((num_blocks,), -1, dtype=torch.int32, device=device)
    block_experts[: owners.numel()] = owners.int()
    return (sorted_pairs, block_experts, offsets.int(), counts.int(),
            positions.int().view(experts.shape))
