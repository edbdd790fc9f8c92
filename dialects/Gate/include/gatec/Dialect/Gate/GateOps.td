//===- GateOps.td - Gate dialect operations ----------------*- tablegen -*-===//
//
// Part of gatec. Shape rules live in the verifiers (GateOps.cpp); the
// frontend, the backends and the generated headers all call them.
//
//===----------------------------------------------------------------------===//

#ifndef GATEC_DIALECT_GATE_GATEOPS_TD
#define GATEC_DIALECT_GATE_GATEOPS_TD

include "gatec/Dialect/Gate/GateDialect.td"
include "gatec/Dialect/Gate/GateAttrs.td"
include "gatec/Dialect/Gate/GateABI.td"
include "mlir/Interfaces/SideEffectInterfaces.td"
include "mlir/IR/CommonAttrConstraints.td"
include "mlir/IR/CommonTypeConstraints.td"

def Gate_FloatTensor : RankedTensorOf<[F32, F16, BF16]>;
def Gate_F32Tensor : RankedTensorOf<[F32]>;
// A scan's recurrent states: f32, or bf16 in a state pool (f32 arithmetic).
def Gate_StateTensor : RankedTensorOf<[F32, BF16]>;
def Gate_I32Tensor : RankedTensorOf<[I32]>;
def Gate_IndexTensor : RankedTensorOf<[I32, I64]>;

//===----------------------------------------------------------------------===//
// Gates
//===----------------------------------------------------------------------===//

def Gate_GateOp : Gate_Op<"gate", [Pure]> {
  let summary = "y = act(g) * x: GLU-family gate or attention output gate";
  let description = [{
    Multiplies `x` by the activated gate `g`. With the `sigmoid` activation and
    `headwise` granularity this is the output gate of gated attention
    (Qiu et al. 2025): `x` is the SDPA output `[B, T, H, D]` and `g` is
    `[B, T, H, 1]`, broadcast over `D`. With `silu` it is SwiGLU's
    `silu(x W_gate) * (x W_up)` where `g = x W_gate` and `x = x W_up`.

    Activations: `sigmoid` (GLU), `identity` (Bilinear), `relu` (ReGLU),
    `gelu` (erf form) and `gelu_tanh` (GEGLU), `silu` (SwiGLU).

    `clamp_limit = L` gives clamped SwiGLU: `g` is clamped to `(-inf, L]` and
    `x` to `[-L, L]` before the product. Arithmetic is done in f32 whatever the
    element type; the result is rounded once to the element type of `x`.

    Example:
    ```mlir
    %y = gate.gate <silu> %up, %gate : tensor<?x11008xbf16>, tensor<?x11008xbf16> -> tensor<?x11008xbf16>
    %o = gate.gate <sigmoid> %attn, %g {granularity = #gate.granularity<headwise>}
        : tensor<1x?x16x128xf32>, tensor<1x?x16x1xf32> -> tensor<1x?x16x128xf32>
    ```
  }];
  let arguments = (ins Gate_FloatTensor:$x, Gate_FloatTensor:$g,
                       Gate_ActivationAttr:$activation,
                       DefaultValuedAttr<Gate_GranularityAttr,
                                         "::mlir::gate::Granularity::elementwise">:$granularity,
                       OptionalAttr<F32Attr>:$clamp_limit);
  let results = (outs Gate_FloatTensor:$y);
  let assemblyFormat = [{
    $activation $x `,` $g attr-dict `:` type($x) `,` type($g) `->` type($y)
  }];
  let hasVerifier = 1;
}

def Gate_FusedGateOp : Gate_Op<"fused_gate", [Pure]> {
  let summary = "GLU gate on one fused [..., 2F] operand";
  let description = [{
    The fused form of `gate.gate`: `input` holds both halves along its last
    dimension, as produced by one fused `[d, 2F]` projection. `gate_half`
    says which half is the gate `g` (default `first`: `[g | x]`, the layout of
    vLLM's fused `gate_up_proj`; `second` is the swapped `[x | g]` layout).
    The result is `act(g) * x` of shape `[..., F]`, with the same activation
    and clamping rules as `gate.gate`.

    Example:
    ```mlir
    %y = gate.fused_gate <silu> %gu {gate_half = #gate.gate_half<second>}
        : tensor<?x22016xbf16> -> tensor<?x11008xbf16>
    ```
  }];
  let arguments = (ins Gate_FloatTensor:$input,
                       Gate_ActivationAttr:$activation,
                       DefaultValuedAttr<Gate_GateHalfAttr,
                                         "::mlir::gate::GateHalf::first">:$gate_half,
                       OptionalAttr<F32Attr>:$clamp_limit);
  let results = (outs Gate_FloatTensor:$y);
  let assemblyFormat = [{
    $activation $input attr-dict `:` type($input) `->` type($y)
  }];
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Chunked scans
//===----------------------------------------------------------------------===//

def Gate_ChunkedScanOp : Gate_Op<"chunked_scan", [Pure, AttrSizedOperandSegments,
                                                   AttrSizedResultSegments]> {
  let summary = "gated linear recurrence, evaluated in chunkwise-parallel form";
  let description = [{
    Computes, per batch entry and value head,
    `S_t = Diag(alpha_t) S_{t-1} + k_t^T v_t` and `o_t = scale * q_t S_t`,
    with `q, k: [B, T, H, K]`, `v: [B, T, HV, V]`, state `S: [HV, K, V]` per
    sequence, and `alpha_t = exp(decay_t)` given in log space (`decay <= 0`).
    Grouped value heads: HV is a multiple G of H, and value head j reads
    q and k head `floor(j / G)` (HV = H is the ungrouped case); everything
    else (decay, beta, the states, o) has one entry per value head.
    `decay_kind` gives the shape of the decay operand:
    - `vector` (GLA, KDA): `[B, T, HV, K]`, one log gate per key channel;
    - `scalar` (Mamba-2 SSD, simple GLA, Gated DeltaNet): `[B, T, HV]`;
    - `fixed` (RetNet): `[HV]`, a per-head constant;
    - `none` (causal linear attention, DeltaNet): no decay operand.

    With `beta: [B, T, HV]` (`delta(...)`) the update is the delta rule
    (DeltaNet, Gated DeltaNet, KDA): with `S' = Diag(alpha_t) S_{t-1}`,
    `S_t = S' + beta_t k_t^T (v_t - k_t S')`, i.e. the state's prediction
    for key k_t moves towards v_t by the learning rate `beta_t` (in [0, 1];
    keys are usually L2-normalized, which keeps the recurrence contractive).

    `scale` defaults to `K^-0.5`. `chunk_size` (default 64) is the chunk
    length of the chunkwise-parallel evaluation; it changes rounding, not
    the result. The optional `initial_state` and `final_state` are f32
    `[N, HV, K, V]`, where `N = B`, or the number of sequences when
    `cu_seqlens` is given. `cu_seqlens` (`[N + 1]`, i32 or i64, starting at 0
    and non-decreasing up to `T`) packs variable-length sequences into one
    batch entry (`B = 1`); the state restarts at each boundary.
    `o: [B, T, HV, V]` has the element type of `v`; every accumulation is
    f32.

    State pool (decoding, serving): with `state_slots: [N]` (i32 or i64),
    `initial_state` is a pool `[P, HV, K, V]` of states, sequence n starts
    from `initial_state[slots[n]]`, and `final_state` (required, the pool's
    type) is the pool with row `slots[n]` replaced by sequence n's final
    state and every other row unchanged; lowered so that the pool is
    updated in place when it is a writable buffer. A slot outside [0, P)
    (vLLM's padding slot -1) skips its sequence: no state is read or
    written and its outputs are 0. Two sequences must not share a slot.
    The pool is f32, or bf16: each state is then widened to f32 when read,
    evolves in f32 and is rounded to bf16 once, when written back.

    `chunk_states` (optional, f32 `[B, ceil(T / C), HV, K, V]`, C the chunk
    size) holds the state after every chunk, row `(start + t) / C` for the
    chunk at token t of a sequence starting at `start` (prefix caching keeps
    them). With chunk_size 1 these are the states after every token
    (speculative decoding keeps the accepted one); with `cu_seqlens` only
    chunk_size 1 is allowed, so that row t is the state after packed token
    t. Rows of no sequence (tokens past cu[N], skipped pool slots) are 0.

    Example:
    ```mlir
    %o, %s = gate.chunked_scan <vector> %q, %k, %v decay(%g : tensor<1x?x4x128xf32>)
        initial_state(%s0 : tensor<1x4x128x256xf32>) {chunk_size = 64 : i64}
        : tensor<1x?x4x128xbf16>, tensor<1x?x4x128xbf16>, tensor<1x?x4x256xbf16>
        -> tensor<1x?x4x256xbf16>, tensor<1x4x128x256xf32>
    ```
  }];
  let arguments = (ins Gate_FloatTensor:$q, Gate_FloatTensor:$k, Gate_FloatTensor:$v,
                       Optional<Gate_FloatTensor>:$decay,
                       Optional<Gate_FloatTensor>:$beta,
                       Optional<Gate_StateTensor>:$initial_state,
                       Optional<Gate_IndexTensor>:$cu_seqlens,
                       Optional<Gate_IndexTensor>:$state_slots,
                       Gate_DecayKindAttr:$decay_kind,
                       DefaultValuedAttr<I64Attr, "64">:$chunk_size,
                       OptionalAttr<F32Attr>:$scale);
  let results = (outs Gate_FloatTensor:$o, Optional<Gate_StateTensor>:$final_state,
                      Optional<Gate_F32Tensor>:$chunk_states);
  let assemblyFormat = [{
    $decay_kind $q `,` $k `,` $v
    (`decay` `(` $decay^ `:` type($decay) `)`)?
    (`delta` `(` $beta^ `:` type($beta) `)`)?
    (`initial_state` `(` $initial_state^ `:` type($initial_state) `)`)?
    (`cu_seqlens` `(` $cu_seqlens^ `:` type($cu_seqlens) `)`)?
    (`slots` `(` $state_slots^ `:` type($state_slots) `)`)?
    attr-dict `:` type($q) `,` type($k) `,` type($v) `->` type($o) (`,` type($final_state)^)?
    (`chunk_states` type($chunk_states)^)?
  }];
  let extraClassDeclaration = [{
    /// The scale applied to q: the `scale` attribute, else K^-0.5.
    double getEffectiveScale();
    /// The rows of chunk_states for `tokens` tokens in chunks of
    /// `chunkSize`: ceil(tokens / chunkSize), one per chunk.
    static int64_t getChunkStateRows(int64_t tokens, int64_t chunkSize) {
      return getChunkStateRows(tokens, chunkSize, [](int64_t v) { return v; });
    }
    /// The same formula on integers or #gate.dim expressions (the entry
    /// points' shapes); `constant` makes a value of an integer.
    template <typename V, typename MakeConstant>
    static V getChunkStateRows(V tokens, int64_t chunkSize,
                               MakeConstant constant) {
      return (tokens + constant(chunkSize - 1)) / constant(chunkSize);
    }
    /// G, the value heads per query/key head (HV / H); 1 when ungrouped.
    /// Only meaningful once verified and with static H and HV.
    int64_t getValueHeadsPerKeyHead();
  }];
  let hasVerifier = 1;
  let hasCanonicalizer = 1;
}

//===----------------------------------------------------------------------===//
// Short convolutions
//===----------------------------------------------------------------------===//

def Gate_CausalConv1dOp : Gate_Op<"causal_conv1d", [Pure, AttrSizedOperandSegments]> {
  let summary = "short causal depthwise convolution over T, with conv state";
  let description = [{
    The short convolution that Mamba-2, Gated DeltaNet (Qwen3-Next) and KDA
    (Kimi Linear) apply to their projections before the scan, with the
    semantics of causal-conv1d's `causal_conv1d_fn`. With `x: [B, T, C]`,
    `weight: [C, W]` (one filter of width W per channel, oldest tap first)
    and the optional `bias: [C]`:

    `y[b, t, c] = act(bias[c] + sum_{w < W} weight[c, w] * x[b, t - (W-1) + w, c])`

    accumulated in f32 and rounded once to x's element type. W is static,
    from 1 to 8. `activation` is one of the gate family's activations
    (`identity` for none; the models use `silu`).

    Positions before a sequence's first token read its conv state, the last
    W - 1 inputs of the previous segment, oldest first (causal-conv1d's
    `initial_states` and `causal_conv1d_update`'s `conv_state`):
    `initial_state: [N, C, W - 1]`, or zeros without one. The optional
    `final_state: [N, C, W - 1]` holds the last W - 1 inputs of each
    sequence; for a sequence shorter than W - 1 it reaches back into the
    initial state (or zeros), so that running two segments with the state
    carried gives what running them as one does. States hold inputs, not
    sums, so they have x's element type and carrying one is exact. A
    width-1 convolution reads no earlier inputs and takes no states.

    `N = B`, or with `cu_seqlens` (`[N + 1]`, i32 or i64, starting at 0 and
    non-decreasing up to `T`; then `B = 1`) the number of packed sequences:
    the convolution restarts at each offset, reading that sequence's own
    state. Tokens past `cu_seqlens[N]` belong to no sequence and get 0.

    State pool (decoding, serving; causal-conv1d's `conv_state_indices`):
    with `state_slots: [N]` (i32 or i64), `initial_state` is a pool
    `[P, C, W - 1]`, sequence n reads `initial_state[slots[n]]`, and
    `final_state` (required, the pool's type) is the pool with row
    `slots[n]` replaced by sequence n's final state and every other row
    unchanged, updated in place when the pool is a writable buffer. A slot
    outside [0, P) (vLLM's padding slot -1) skips its sequence: no state is
    read or written and its outputs are 0. Two sequences must not share a
    slot.

    Example (Qwen3-Next's q/k/v convolution over packed sequences):
    ```mlir
    %y, %s = gate.causal_conv1d <silu> %x, %w
        initial_state(%s0 : tensor<?x8192x3xbf16>) cu_seqlens(%cu : tensor<?xi32>)
        : tensor<1x?x8192xbf16>, tensor<8192x4xbf16>
        -> tensor<1x?x8192xbf16>, tensor<?x8192x3xbf16>
    ```
  }];
  let arguments = (ins Gate_FloatTensor:$x, Gate_FloatTensor:$weight,
                       Optional<Gate_FloatTensor>:$bias,
                       Optional<Gate_FloatTensor>:$initial_state,
                       Optional<Gate_IndexTensor>:$cu_seqlens,
                       Optional<Gate_IndexTensor>:$state_slots,
                       Gate_ActivationAttr:$activation);
  let results = (outs Gate_FloatTensor:$y, Optional<Gate_FloatTensor>:$final_state);
  let assemblyFormat = [{
    $activation $x `,` $weight
    (`bias` `(` $bias^ `:` type($bias) `)`)?
    (`initial_state` `(` $initial_state^ `:` type($initial_state) `)`)?
    (`cu_seqlens` `(` $cu_seqlens^ `:` type($cu_seqlens) `)`)?
    (`slots` `(` $state_slots^ `:` type($state_slots) `)`)?
    attr-dict `:` type($x) `,` type($weight) `->` type($y) (`,` type($final_state)^)?
  }];
  let extraClassDeclaration = [{
    /// The largest kernel width W the op takes.
    static constexpr int64_t kMaxWidth = 8;
    /// W, the kernel width (static once verified).
    int64_t getWidth() { return getWeight().getType().getDimSize(1); }
  }];
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Routers
//===----------------------------------------------------------------------===//

def Gate_RouterOp : Gate_Op<"router", [Pure]> {
  let summary = "Mixture-of-Experts top-k routing";
  let description = [{
    Chooses `k` experts per token from router `logits: [T, E]` and returns
    their `weights: [T, k]` (f32) and `experts: [T, k]` (i32), slots ordered
    by decreasing selection score.

    - `softmax` scoring: `s = softmax(logits)` in f32; `sigmoid`: `s = sigmoid(logits)`.
    - `selection_bias: [E]` (DeepSeek-V3's aux-loss-free bias) is added to `s`
      for choosing only; weights are always taken from `s`.
    - Grouped selection (`n_group > 1`): the E experts form `n_group`
      contiguous groups; each group is scored by `group_score` (`max`, or
      `sum_top2`, the sum of its two best biased scores); only the best
      `topk_group` groups stay eligible.
    - `renormalize`: the k weights are divided by their sum (+1e-20).
      Then all weights are multiplied by `routed_scaling_factor`.
    - `capacity_factor`: each expert takes at most
      `floor(T * capacity_factor / E)` assignments (computed in f64), in
      `drop_policy` order: `token_order` keeps every token's first choice
      before any second choice, tokens in order (GShard); `score_order` keeps
      the highest final weights, ties to the lower pair id `t * k + slot`.
      A dropped assignment has expert index -1 and weight 0; the weights
      that stay are not renormalized again.

    Contract: ties break to the lower expert index (and, for groups, to the
    lower group index). NaN logits rank below every number. With `softmax`
    a NaN logit makes every weight of its row NaN; with `sigmoid` it reaches
    the weights only when its expert is chosen (then, with `renormalize`,
    every weight of the row).

    Example (DeepSeek-V3):
    ```mlir
    %w, %e = gate.router <sigmoid> %logits bias(%b : tensor<256xf32>)
        {k = 8 : i64, n_group = 8 : i64, topk_group = 4 : i64, renormalize = true,
         routed_scaling_factor = 2.5 : f32}
        : tensor<?x256xf32> -> tensor<?x8xf32>, tensor<?x8xi32>
    ```
  }];
  let arguments = (ins Gate_FloatTensor:$logits,
                       Optional<Gate_FloatTensor>:$selection_bias,
                       Gate_ScoringAttr:$scoring,
                       I64Attr:$k,
                       DefaultValuedAttr<BoolAttr, "false">:$renormalize,
                       DefaultValuedAttr<F32Attr, "1.0f">:$routed_scaling_factor,
                       DefaultValuedAttr<I64Attr, "1">:$n_group,
                       DefaultValuedAttr<I64Attr, "1">:$topk_group,
                       DefaultValuedAttr<Gate_GroupScoreAttr,
                                         "::mlir::gate::GroupScore::sum_top2">:$group_score,
                       OptionalAttr<F32Attr>:$capacity_factor,
                       DefaultValuedAttr<Gate_DropPolicyAttr,
                                         "::mlir::gate::DropPolicy::token_order">:$drop_policy);
  let results = (outs Gate_F32Tensor:$weights, Gate_I32Tensor:$experts);
  let assemblyFormat = [{
    $scoring $logits (`bias` `(` $selection_bias^ `:` type($selection_bias) `)`)?
    attr-dict `:` type($logits) `->` type($weights) `,` type($experts)
  }];
  let extraClassDeclaration = [{
    /// Assignments each expert keeps: floor(T * capacity_factor / E), in f64.
    static int64_t getCapacity(int64_t tokens, int64_t numExperts,
                               const ::llvm::APFloat &capacityFactor);
  }];
  let hasVerifier = 1;
  let hasCanonicalizer = 1;
}

def Gate_DispatchOp : Gate_Op<"dispatch", [Pure]> {
  let summary = "expert-sorted dispatch metadata for the expert GEMMs";
  let description = [{
    From the router's `experts: [T, k]` (i32, -1 for a dropped assignment;
    any id outside [0, E) is dropped the same way), builds what grouped
    expert GEMMs and the combine step need. A pair id is
    `t * k + slot`; `P = T * k`.

    - `sorted_pairs: [L]`: pair ids grouped by expert; within an expert,
      increasing pair id (token order). Each expert's segment is padded with
      the sentinel `P` up to a multiple of `block_size`; entries past the
      last segment are also `P`. `L = ceil((P + E * (block_size - 1)) / block_size) * block_size`,
      the worst case, so the size is known before the data.
    - `block_experts: [L / block_size]`: the expert of each block, -1 past
      the last used block.
    - `expert_offsets: [E + 1]`: start of each expert's padded segment in
      `sorted_pairs`; `expert_offsets[E]` is the used length.
    - `expert_counts: [E]`: assignments per expert, without padding.
    - `pair_positions: [T, k]`: where each pair landed in `sorted_pairs`
      (-1 if dropped): the inverse permutation the combine step gathers with.

    Example:
    ```mlir
    %sorted, %blocks, %offsets, %counts, %pos = gate.dispatch %experts
        {num_experts = 8 : i64, block_size = 64 : i64}
        : tensor<?x2xi32> -> tensor<?xi32>, tensor<?xi32>, tensor<9xi32>, tensor<8xi32>, tensor<?x2xi32>
    ```
  }];
  let arguments = (ins Gate_I32Tensor:$experts,
                       I64Attr:$num_experts,
                       DefaultValuedAttr<I64Attr, "64">:$block_size);
  let results = (outs Gate_I32Tensor:$sorted_pairs, Gate_I32Tensor:$block_experts,
                      Gate_I32Tensor:$expert_offsets, Gate_I32Tensor:$expert_counts,
                      Gate_I32Tensor:$pair_positions);
  let assemblyFormat = [{
    $experts attr-dict `:` type($experts) `->` type($sorted_pairs) `,`
    type($block_experts) `,` type($expert_offsets) `,` type($expert_counts) `,`
    type($pair_positions)
  }];
  let extraClassDeclaration = [{
    /// Length of `sorted_pairs` for `numPairs` = T * k assignments.
    static int64_t getSortedLength(int64_t numPairs, int64_t numExperts,
                                   int64_t blockSize) {
      return getSortedLength(numPairs, numExperts, blockSize,
                             [](int64_t v) { return v; });
    }
    /// The length of `block_experts`, ceil((P + E * (block_size - 1)) /
    /// block_size), on integers or #gate.dim expressions (the entry points'
    /// shapes); `constant` makes a value of an integer.
    template <typename V, typename MakeConstant>
    static V getSortedBlocks(V numPairs, int64_t numExperts, int64_t blockSize,
                             MakeConstant constant) {
      return (numPairs + constant(numExperts) * constant(blockSize - 1) +
              constant(blockSize - 1)) /
             constant(blockSize);
    }
    /// The length of `sorted_pairs`: every block is full.
    template <typename V, typename MakeConstant>
    static V getSortedLength(V numPairs, int64_t numExperts, int64_t blockSize,
                             MakeConstant constant) {
      return getSortedBlocks(numPairs, numExperts, blockSize, constant) *
             constant(blockSize);
    }
  }];
  let hasVerifier = 1;
}

#endif // GATEC_DIALECT_GATE_GATEOPS_TD
