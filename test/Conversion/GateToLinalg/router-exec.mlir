// Selection and weights of the gate.router / gate.dispatch lowering, checked
// by execution: each case is lowered with upstream passes, JIT-run, and its
// outputs printed and compared with gatec::ref::route / gatec::ref::dispatch
// (lib/Reference/Reference.cpp). Every expected value below was printed by a
// throwaway program that ran the reference on these exact inputs and
// parameters (std::cout, 6 significant digits, as printMemrefF32 prints);
// where a line depends on a rule worth naming, the comment says which.
// Experts must match exactly; weights to the 6 printed digits.
//
// The counting sorts (capacity, dispatch) must not depend on their chunk
// size: the cases also run with chunks of 1 and 3 pairs, so that every pass
// crosses chunk boundaries and ends on a partial chunk.
//
// REQUIRES: mlir-runner
// DEFINE: %{chunk} =
// DEFINE: %{run} = gatec-opt %s --convert-gate-to-linalg=%{chunk} \
// DEFINE:   --one-shot-bufferize="bufferize-function-boundaries" \
// DEFINE:   --scf-forall-to-for --convert-linalg-to-loops --expand-strided-metadata \
// DEFINE:   --lower-affine --convert-scf-to-cf --finalize-memref-to-llvm \
// DEFINE:   --convert-vector-to-llvm --convert-math-to-llvm --convert-arith-to-llvm \
// DEFINE:   --convert-cf-to-llvm --convert-func-to-llvm --reconcile-unrealized-casts \
// DEFINE: | mlir-runner -e main -entry-point-result=void \
// DEFINE:   -shared-libs=%mlir_runner_utils,%mlir_c_runner_utils \
// DEFINE: | FileCheck %s
// RUN: %{run}
// REDEFINE: %{chunk} = pair-chunk=1
// RUN: %{run}
// REDEFINE: %{chunk} = pair-chunk=3
// RUN: %{run}

// Softmax top-2 over E = 6 (not a power of two), T dynamic. Rows: all logits
// equal (ties -> lowest indices), all negative with a tie at -1 (experts 1
// and 4, lower first), a NaN logit (ranked below every number; the row's
// weights are NaN, the true softmax), and a plain row.
func.func @softmax_top2(%l: tensor<?x6xf32>) -> (tensor<?x2xf32>, tensor<?x2xi32>) {
  %w, %e = gate.router <softmax> %l {k = 2 : i64, renormalize = true}
      : tensor<?x6xf32> -> tensor<?x2xf32>, tensor<?x2xi32>
  return %w, %e : tensor<?x2xf32>, tensor<?x2xi32>
}

// The same rows without renormalizing, scaled by 2: the weights are 2 * p.
func.func @softmax_top2_scaled(%l: tensor<?x6xf32>) -> (tensor<?x2xf32>, tensor<?x2xi32>) {
  %w, %e = gate.router <softmax> %l {k = 2 : i64, routed_scaling_factor = 2.0 : f32}
      : tensor<?x6xf32> -> tensor<?x2xf32>, tensor<?x2xi32>
  return %w, %e : tensor<?x2xf32>, tensor<?x2xi32>
}

// Sigmoid with k = E: the whole ranking. Row 0 holds +0 and -0 (equal: the
// lower index first), a NaN (last), and -100 / -90, whose sigmoids are
// subnormal in f32 but distinct (a 1 / (1 + exp(-z)) form would give 0 for
// both and tie them the other way round).
func.func @sigmoid_all(%l: tensor<3x6xf32>) -> (tensor<3x6xf32>, tensor<3x6xi32>) {
  %w, %e = gate.router <sigmoid> %l {k = 6 : i64}
      : tensor<3x6xf32> -> tensor<3x6xf32>, tensor<3x6xi32>
  return %w, %e : tensor<3x6xf32>, tensor<3x6xi32>
}

// Grouped selection, E = 8 in 4 groups of 2, keep 2 groups, bias +0.5 on
// expert 7, renormalize, scale 2.5 (DeepSeek-V3 style, small). Row 0: max
// keeps groups {3, 0}, sum_top2 keeps {3, 1}. Row 1: equal logits, ties
// between groups go to the lower group. Row 2: a NaN in group 0 makes its
// sum_top2 score NaN (ranked last) but leaves its max at the other expert.
func.func @grouped_max(%l: tensor<3x8xf32>, %b: tensor<8xf32>) -> (tensor<3x2xf32>, tensor<3x2xi32>) {
  %w, %e = gate.router <sigmoid> %l bias(%b : tensor<8xf32>)
      {k = 2 : i64, n_group = 4 : i64, topk_group = 2 : i64,
       group_score = #gate.group_score<max>, renormalize = true,
       routed_scaling_factor = 2.5 : f32}
      : tensor<3x8xf32> -> tensor<3x2xf32>, tensor<3x2xi32>
  return %w, %e : tensor<3x2xf32>, tensor<3x2xi32>
}

func.func @grouped_sum_top2(%l: tensor<3x8xf32>, %b: tensor<8xf32>) -> (tensor<3x2xf32>, tensor<3x2xi32>) {
  %w, %e = gate.router <sigmoid> %l bias(%b : tensor<8xf32>)
      {k = 2 : i64, n_group = 4 : i64, topk_group = 2 : i64,
       group_score = #gate.group_score<sum_top2>, renormalize = true,
       routed_scaling_factor = 2.5 : f32}
      : tensor<3x8xf32> -> tensor<3x2xf32>, tensor<3x2xi32>
  return %w, %e : tensor<3x2xf32>, tensor<3x2xi32>
}

// Capacity floor(6 * 1.0 / 3) = 2 per expert for 12 assignments, so half
// are dropped (expert -1, weight 0), differently under the two policies.
func.func @capacity_token_order(%l: tensor<6x3xf32>) -> (tensor<6x2xf32>, tensor<6x2xi32>) {
  %w, %e = gate.router <softmax> %l {k = 2 : i64, capacity_factor = 1.0 : f32}
      : tensor<6x3xf32> -> tensor<6x2xf32>, tensor<6x2xi32>
  return %w, %e : tensor<6x2xf32>, tensor<6x2xi32>
}

func.func @capacity_score_order(%l: tensor<6x3xf32>) -> (tensor<6x2xf32>, tensor<6x2xi32>) {
  %w, %e = gate.router <softmax> %l
      {k = 2 : i64, capacity_factor = 1.0 : f32,
       drop_policy = #gate.drop_policy<score_order>}
      : tensor<6x3xf32> -> tensor<6x2xf32>, tensor<6x2xi32>
  return %w, %e : tensor<6x2xf32>, tensor<6x2xi32>
}

// T = 208 (dynamic), E = 3, factor 1.6875, every token on expert 0 (equal
// logits): the reference's floor(T * cf / E) = 117 kept, where
// floor(T / E * cf) would round 116.99999999999999 down to 116.
func.func @capacity_boundary(%l: tensor<?x3xf32>) -> tensor<3xi32> {
  %w, %e = gate.router <softmax> %l {k = 1 : i64, capacity_factor = 1.6875 : f32}
      : tensor<?x3xf32> -> tensor<?x1xf32>, tensor<?x1xi32>
  %sorted, %blocks, %offsets, %counts, %pos = gate.dispatch %e
      {num_experts = 3 : i64, block_size = 1 : i64}
      : tensor<?x1xi32> -> tensor<?xi32>, tensor<?xi32>, tensor<4xi32>, tensor<3xi32>, tensor<?x1xi32>
  return %counts : tensor<3xi32>
}

// Dispatch with T dynamic, blocks of 4 and dropped pairs (-1).
func.func @dispatch_block4(%e: tensor<?x2xi32>)
    -> (tensor<?xi32>, tensor<?xi32>, tensor<4xi32>, tensor<3xi32>, tensor<?x2xi32>) {
  %sorted, %blocks, %offsets, %counts, %pos = gate.dispatch %e
      {num_experts = 3 : i64, block_size = 4 : i64}
      : tensor<?x2xi32> -> tensor<?xi32>, tensor<?xi32>, tensor<4xi32>, tensor<3xi32>, tensor<?x2xi32>
  return %sorted, %blocks, %offsets, %counts, %pos
      : tensor<?xi32>, tensor<?xi32>, tensor<4xi32>, tensor<3xi32>, tensor<?x2xi32>
}

// Dispatch of the score_order router's output, static shapes, blocks of 2.
func.func @dispatch_block2(%e: tensor<6x2xi32>)
    -> (tensor<16xi32>, tensor<8xi32>, tensor<4xi32>, tensor<3xi32>, tensor<6x2xi32>) {
  %sorted, %blocks, %offsets, %counts, %pos = gate.dispatch %e
      {num_experts = 3 : i64, block_size = 2 : i64}
      : tensor<6x2xi32> -> tensor<16xi32>, tensor<8xi32>, tensor<4xi32>, tensor<3xi32>, tensor<6x2xi32>
  return %sorted, %blocks, %offsets, %counts, %pos
      : tensor<16xi32>, tensor<8xi32>, tensor<4xi32>, tensor<3xi32>, tensor<6x2xi32>
}

func.func @main() {
  %soft = arith.constant dense<[[1.0, 1.0, 1.0, 1.0, 1.0, 1.0],
                                [-3.0, -1.0, -2.0, -5.0, -1.0, -4.0],
                                [0.5, 0x7FC00000, 2.0, 1.0, -1.0, 0.0],
                                [0.1, 0.7, -0.3, 0.7, 1.5, 0.2]]> : tensor<4x6xf32>
  %soft_dyn = tensor.cast %soft : tensor<4x6xf32> to tensor<?x6xf32>

  // CHECK-LABEL: softmax_top2
  // CHECK:      [0.5,   0.5],
  // CHECK-NEXT: [0.5,   0.5],
  // CHECK-NEXT: [{{-?nan}},   {{-?nan}}],
  // CHECK-NEXT: [0.689974,   0.310026]]
  // CHECK:      {{\[}}[0,   1],
  // CHECK-NEXT: [1,   4],
  // CHECK-NEXT: [2,   3],
  // CHECK-NEXT: [4,   1]]
  vector.print str "softmax_top2\n"
  %w0, %e0 = call @softmax_top2(%soft_dyn)
      : (tensor<?x6xf32>) -> (tensor<?x2xf32>, tensor<?x2xi32>)
  %u1 = tensor.cast %w0 : tensor<?x2xf32> to tensor<*xf32>
  call @printMemrefF32(%u1) : (tensor<*xf32>) -> ()
  %u2 = tensor.cast %e0 : tensor<?x2xi32> to tensor<*xi32>
  call @printMemrefI32(%u2) : (tensor<*xi32>) -> ()

  // CHECK-LABEL: softmax_top2_scaled
  // CHECK:      [0.333333,   0.333333],
  // CHECK-NEXT: [0.777811,   0.777811],
  // CHECK-NEXT: [{{-?nan}},   {{-?nan}}],
  // CHECK-NEXT: [0.774268,   0.347901]]
  // CHECK:      {{\[}}[0,   1],
  // CHECK-NEXT: [1,   4],
  // CHECK-NEXT: [2,   3],
  // CHECK-NEXT: [4,   1]]
  vector.print str "softmax_top2_scaled\n"
  %w1, %e1 = call @softmax_top2_scaled(%soft_dyn)
      : (tensor<?x6xf32>) -> (tensor<?x2xf32>, tensor<?x2xi32>)
  %u3 = tensor.cast %w1 : tensor<?x2xf32> to tensor<*xf32>
  call @printMemrefF32(%u3) : (tensor<*xf32>) -> ()
  %u4 = tensor.cast %e1 : tensor<?x2xi32> to tensor<*xi32>
  call @printMemrefI32(%u4) : (tensor<*xi32>) -> ()

  // CHECK-LABEL: sigmoid_all
  // CHECK:      [0.952574,   0.5,   0.5,   8.19401e-40,   3.78351e-44,   {{-?nan}}],
  // CHECK-NEXT: [0.268941,   0.119203,   0.0474259,   0.0179862,   0.00669285,   0.00247262],
  // CHECK-NEXT: [0.880797,   0.880797,   0.880797,   0.880797,   0.880797,   0.880797]]
  // CHECK:      {{\[}}[2,   0,   1,   5,   4,   3],
  // CHECK-NEXT: [0,   1,   2,   3,   4,   5],
  // CHECK-NEXT: [0,   1,   2,   3,   4,   5]]
  vector.print str "sigmoid_all\n"
  %sig = arith.constant dense<[[0.0, -0.0, 3.0, 0x7FC00000, -100.0, -90.0],
                               [-1.0, -2.0, -3.0, -4.0, -5.0, -6.0],
                               [2.0, 2.0, 2.0, 2.0, 2.0, 2.0]]> : tensor<3x6xf32>
  %w2, %e2 = call @sigmoid_all(%sig)
      : (tensor<3x6xf32>) -> (tensor<3x6xf32>, tensor<3x6xi32>)
  %u5 = tensor.cast %w2 : tensor<3x6xf32> to tensor<*xf32>
  call @printMemrefF32(%u5) : (tensor<*xf32>) -> ()
  %u6 = tensor.cast %e2 : tensor<3x6xi32> to tensor<*xi32>
  call @printMemrefI32(%u6) : (tensor<*xi32>) -> ()

  %grp = arith.constant dense<[[3.0, -3.0, 1.0, 1.0, 2.0, -1.0, 0.5, 0.8],
                               [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
                               [0x7FC00000, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0, -1.0]]> : tensor<3x8xf32>
  %bias = arith.constant dense<[0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.5]> : tensor<8xf32>

  // CHECK-LABEL: grouped_max
  // CHECK:      [1.05016,   1.44984],
  // CHECK-NEXT: [1.25,   1.25],
  // CHECK-NEXT: [0.672354,   1.82765]]
  // CHECK:      {{\[}}[7,   0],
  // CHECK-NEXT: [7,   0],
  // CHECK-NEXT: [7,   1]]
  vector.print str "grouped_max\n"
  %w3, %e3 = call @grouped_max(%grp, %bias)
      : (tensor<3x8xf32>, tensor<8xf32>) -> (tensor<3x2xf32>, tensor<3x2xi32>)
  %u7 = tensor.cast %w3 : tensor<3x2xf32> to tensor<*xf32>
  call @printMemrefF32(%u7) : (tensor<*xf32>) -> ()
  %u8 = tensor.cast %e3 : tensor<3x2xi32> to tensor<*xi32>
  call @printMemrefI32(%u8) : (tensor<*xi32>) -> ()

  // CHECK-LABEL: grouped_sum_top2
  // CHECK:      [1.21386,   1.28614],
  // CHECK-NEXT: [1.25,   1.25],
  // CHECK-NEXT: [0.874389,   1.62561]]
  // CHECK:      {{\[}}[7,   2],
  // CHECK-NEXT: [7,   0],
  // CHECK-NEXT: [7,   2]]
  vector.print str "grouped_sum_top2\n"
  %w4, %e4 = call @grouped_sum_top2(%grp, %bias)
      : (tensor<3x8xf32>, tensor<8xf32>) -> (tensor<3x2xf32>, tensor<3x2xi32>)
  %u9 = tensor.cast %w4 : tensor<3x2xf32> to tensor<*xf32>
  call @printMemrefF32(%u9) : (tensor<*xf32>) -> ()
  %u10 = tensor.cast %e4 : tensor<3x2xi32> to tensor<*xi32>
  call @printMemrefI32(%u10) : (tensor<*xi32>) -> ()

  %cap = arith.constant dense<[[2.0, 1.0, 0.0], [0.0, 3.0, 1.0], [1.0, 0.0, 2.5],
                               [3.0, 0.0, 2.9], [0.5, 0.6, 0.0], [4.0, 0.0, 0.0]]> : tensor<6x3xf32>

  // Slot 0 of every token first: token 5's first choice (expert 0) finds
  // experts 0 full after tokens 0 and 3; of the second choices only token
  // 1's (expert 2) still finds room.
  // CHECK-LABEL: capacity_token_order
  // CHECK:      [0.665241,   0],
  // CHECK-NEXT: [0.843795,   0.114195],
  // CHECK-NEXT: [0.766157,   0],
  // CHECK-NEXT: [0.511607,   0],
  // CHECK-NEXT: [0.407556,   0],
  // CHECK-NEXT: [0,   0]]
  // CHECK:      {{\[}}[0,   -1],
  // CHECK-NEXT: [1,   2],
  // CHECK-NEXT: [2,   -1],
  // CHECK-NEXT: [0,   -1],
  // CHECK-NEXT: [1,   -1],
  // CHECK-NEXT: [-1,   -1]]
  vector.print str "capacity_token_order\n"
  %w5, %e5 = call @capacity_token_order(%cap)
      : (tensor<6x3xf32>) -> (tensor<6x2xf32>, tensor<6x2xi32>)
  %u11 = tensor.cast %w5 : tensor<6x2xf32> to tensor<*xf32>
  call @printMemrefF32(%u11) : (tensor<*xf32>) -> ()
  %u12 = tensor.cast %e5 : tensor<6x2xi32> to tensor<*xi32>
  call @printMemrefI32(%u12) : (tensor<*xi32>) -> ()

  // Heaviest first per expert: token 5's 0.96 on expert 0 displaces token
  // 3's 0.51, which keeps its second choice (expert 2, 0.46) instead.
  // CHECK-LABEL: capacity_score_order
  // CHECK:      [0.665241,   0],
  // CHECK-NEXT: [0.843795,   0],
  // CHECK-NEXT: [0.766157,   0],
  // CHECK-NEXT: [0,   0.462921],
  // CHECK-NEXT: [0.407556,   0],
  // CHECK-NEXT: [0.964663,   0]]
  // CHECK:      {{\[}}[0,   -1],
  // CHECK-NEXT: [1,   -1],
  // CHECK-NEXT: [2,   -1],
  // CHECK-NEXT: [-1,   2],
  // CHECK-NEXT: [1,   -1],
  // CHECK-NEXT: [0,   -1]]
  vector.print str "capacity_score_order\n"
  %w6, %e6 = call @capacity_score_order(%cap)
      : (tensor<6x3xf32>) -> (tensor<6x2xf32>, tensor<6x2xi32>)
  // Dispatched here, before %e6 is printed: the external printer may write
  // its buffer, so reading %e6 after that would need a copy.
  %s7, %b7, %o7, %c7, %p7 = call @dispatch_block2(%e6)
      : (tensor<6x2xi32>) -> (tensor<16xi32>, tensor<8xi32>, tensor<4xi32>, tensor<3xi32>, tensor<6x2xi32>)
  %u13 = tensor.cast %w6 : tensor<6x2xf32> to tensor<*xf32>
  call @printMemrefF32(%u13) : (tensor<*xf32>) -> ()
  %u14 = tensor.cast %e6 : tensor<6x2xi32> to tensor<*xi32>
  call @printMemrefI32(%u14) : (tensor<*xi32>) -> ()

  // CHECK-LABEL: dispatch_block2
  // CHECK:      [0,  10,  2,  8,  4,  7,  12,  12,  12,  12,  12,  12,  12,  12,  12,  12]
  // CHECK:      [0,  1,  2,  -1,  -1,  -1,  -1,  -1]
  // CHECK:      [0,  2,  4,  6]
  // CHECK:      [2,  2,  2]
  // CHECK:      {{\[}}[0,   -1],
  // CHECK-NEXT: [2,   -1],
  // CHECK-NEXT: [4,   -1],
  // CHECK-NEXT: [-1,   5],
  // CHECK-NEXT: [3,   -1],
  // CHECK-NEXT: [1,   -1]]
  vector.print str "dispatch_block2\n"
  %u15 = tensor.cast %s7 : tensor<16xi32> to tensor<*xi32>
  call @printMemrefI32(%u15) : (tensor<*xi32>) -> ()
  %u16 = tensor.cast %b7 : tensor<8xi32> to tensor<*xi32>
  call @printMemrefI32(%u16) : (tensor<*xi32>) -> ()
  %u17 = tensor.cast %o7 : tensor<4xi32> to tensor<*xi32>
  call @printMemrefI32(%u17) : (tensor<*xi32>) -> ()
  %u18 = tensor.cast %c7 : tensor<3xi32> to tensor<*xi32>
  call @printMemrefI32(%u18) : (tensor<*xi32>) -> ()
  %u19 = tensor.cast %p7 : tensor<6x2xi32> to tensor<*xi32>
  call @printMemrefI32(%u19) : (tensor<*xi32>) -> ()

  // CHECK-LABEL: capacity_boundary
  // CHECK: [117,  0,  0]
  vector.print str "capacity_boundary\n"
  %flat = arith.constant dense<1.0> : tensor<208x3xf32>
  %flat_dyn = tensor.cast %flat : tensor<208x3xf32> to tensor<?x3xf32>
  %c8 = call @capacity_boundary(%flat_dyn) : (tensor<?x3xf32>) -> tensor<3xi32>
  %u20 = tensor.cast %c8 : tensor<3xi32> to tensor<*xi32>
  call @printMemrefI32(%u20) : (tensor<*xi32>) -> ()

  // Pairs 3 and 6 are dropped; segments of 3, 1 and 4 pairs padded to 4 with
  // the sentinel P = 10; L = ceil((10 + 3 * 3) / 4) * 4 = 20.
  // CHECK-LABEL: dispatch_block4
  // CHECK:      [0,  4,  9,  10,  5,  10,  10,  10,  1,  2,  7,  8,  10,  10,  10,  10,  10,  10,  10,  10]
  // CHECK:      [0,  1,  2,  -1,  -1]
  // CHECK:      [0,  4,  8,  12]
  // CHECK:      [3,  1,  4]
  // CHECK:      {{\[}}[0,   8],
  // CHECK-NEXT: [9,   -1],
  // CHECK-NEXT: [1,   4],
  // CHECK-NEXT: [-1,   10],
  // CHECK-NEXT: [11,   2]]
  vector.print str "dispatch_block4\n"
  %pairs = arith.constant dense<[[0, 2], [2, -1], [0, 1], [-1, 2], [2, 0]]> : tensor<5x2xi32>
  %pairs_dyn = tensor.cast %pairs : tensor<5x2xi32> to tensor<?x2xi32>
  %s9, %b9, %o9, %c9, %p9 = call @dispatch_block4(%pairs_dyn)
      : (tensor<?x2xi32>) -> (tensor<?xi32>, tensor<?xi32>, tensor<4xi32>, tensor<3xi32>, tensor<?x2xi32>)
  %u21 = tensor.cast %s9 : tensor<?xi32> to tensor<*xi32>
  call @printMemrefI32(%u21) : (tensor<*xi32>) -> ()
  %u22 = tensor.cast %b9 : tensor<?xi32> to tensor<*xi32>
  call @printMemrefI32(%u22) : (tensor<*xi32>) -> ()
  %u23 = tensor.cast %o9 : tensor<4xi32> to tensor<*xi32>
  call @printMemrefI32(%u23) : (tensor<*xi32>) -> ()
  %u24 = tensor.cast %c9 : tensor<3xi32> to tensor<*xi32>
  call @printMemrefI32(%u24) : (tensor<*xi32>) -> ()
  %u25 = tensor.cast %p9 : tensor<?x2xi32> to tensor<*xi32>
  call @printMemrefI32(%u25) : (tensor<*xi32>) -> ()
  return
}

// The runtime library's printers take unranked buffers.
func.func private @printMemrefF32(tensor<*xf32>)
func.func private @printMemrefI32(tensor<*xi32>)

