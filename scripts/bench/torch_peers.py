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
