// RUN: gatec-opt %s --convert-gate-to-linalg | FileCheck %s

// The structure of the router and dispatch lowerings; router-exec.mlir checks
// what they compute.

// Softmax top-2: one forall iteration per token; per row a (maxnum, maximum)
// reduction, exp(x - max), a sum skipping NaN logits, the scores with their
// selection keys, then k passes of one min-reduction over the keys' distances
// below the last key found (the largest key below it is the nearest),
// writing the row's slots into slices of the shared outputs (in place).
// CHECK-LABEL: func.func @softmax_top2
// CHECK-SAME:    ([[LOGITS:%.+]]: tensor<?x8xf32>)
// CHECK:         [[T:%.+]] = tensor.dim [[LOGITS]], %{{.+}} : tensor<?x8xf32>
// CHECK:         [[W0:%.+]] = tensor.empty([[T]]) : tensor<?x2xf32>
// CHECK:         [[E0:%.+]] = tensor.empty([[T]]) : tensor<?x2xi32>
// CHECK:         [[R:%.+]]:2 = scf.forall ([[TOK:%.+]]) in ([[T]]) shared_outs([[WOUT:%.+]] = [[W0]], [[EOUT:%.+]] = [[E0]])
// CHECK:           [[ROW:%.+]] = tensor.extract_slice [[LOGITS]][[[TOK]], 0] [1, 8] [1, 1] : tensor<?x8xf32> to tensor<8xf32>
// CHECK:           [[MAX:%.+]]:2 = linalg.generic {{.*}}iterator_types = ["reduction"]{{.*}} ins([[ROW]] : tensor<8xf32>)
// CHECK:             arith.maxnumf
// CHECK:             arith.maximumf
// CHECK:           [[EXP:%.+]] = linalg.generic {{.*}}iterator_types = ["parallel"]{{.*}} ins([[ROW]] : tensor<8xf32>)
// CHECK:             arith.subf
// CHECK:             math.exp
// CHECK:           linalg.generic {{.*}}iterator_types = ["reduction"]{{.*}} ins([[ROW]], [[EXP]] : tensor<8xf32>, tensor<8xf32>)
// CHECK:             arith.cmpf uno
// CHECK:             arith.addf
// CHECK:           [[SCORES:%.+]]:2 = linalg.generic {{.*}} ins([[EXP]] : tensor<8xf32>) outs({{.*}} : tensor<8xf32>, tensor<8xi64>)
// CHECK:             arith.divf
// CHECK:             arith.bitcast {{.*}} : f32 to i32
// CHECK:             arith.shli
// CHECK:           [[WROW:%.+]] = tensor.extract_slice [[WOUT]][[[TOK]], 0] [1, 2] [1, 1] : tensor<?x2xf32> to tensor<2xf32>
// CHECK:           [[EROW:%.+]] = tensor.extract_slice [[EOUT]][[[TOK]], 0] [1, 2] [1, 1] : tensor<?x2xi32> to tensor<2xi32>
// CHECK:           [[TOP:%.+]]:4 = scf.for {{.*}} iter_args([[BOUND:%.+]] = {{.*}}, {{.*}}, {{.*}} = [[EROW]], {{.*}}) -> (i64, tensor<2xf32>, tensor<2xi32>, f32)
// CHECK:             [[CEIL:%.+]] = arith.subi [[BOUND]], %{{.+}} : i64
// CHECK:             linalg.fill ins([[CEIL]] : i64)
// CHECK:             linalg.generic {{.*}}iterator_types = ["reduction"]{{.*}} ins([[SCORES]]#1 : tensor<8xi64>)
// CHECK:               [[DIST:%.+]] = arith.subi [[CEIL]], %{{.+}} : i64
// CHECK:               arith.minui %{{.+}}, [[DIST]] : i64
// CHECK:             [[NEAREST:%.+]] = tensor.extract
// CHECK:             [[BEST:%.+]] = arith.subi [[CEIL]], [[NEAREST]] : i64
// CHECK:             tensor.extract [[SCORES]]#0
// CHECK:             tensor.insert
// CHECK:             tensor.insert
// CHECK:           [[NORM:%.+]] = linalg.generic {{.*}} ins([[TOP]]#1 : tensor<2xf32>) outs([[WROW]] : tensor<2xf32>)
// CHECK:             arith.divf
// CHECK-NOT:         arith.mulf
// CHECK:           scf.forall.in_parallel
// CHECK-NEXT:        tensor.parallel_insert_slice [[NORM]] into [[WOUT]][[[TOK]], 0] [1, 2] [1, 1]
// CHECK-NEXT:        tensor.parallel_insert_slice [[TOP]]#2 into [[EOUT]][[[TOK]], 0] [1, 2] [1, 1]
// CHECK:         return [[R]]#0, [[R]]#1
func.func @softmax_top2(%logits: tensor<?x8xf32>) -> (tensor<?x2xf32>, tensor<?x2xi32>) {
  %w, %e = gate.router <softmax> %logits {k = 2 : i64, renormalize = true}
      : tensor<?x8xf32> -> tensor<?x2xf32>, tensor<?x2xi32>
  return %w, %e : tensor<?x2xf32>, tensor<?x2xi32>
}

// DeepSeek-V3: bf16 logits, sigmoid, bias for choosing only, 8 groups of 32
// scored by the sum of their two best keys, the best 4 kept, top-8,
// renormalized and scaled by 2.5.
// CHECK-LABEL: func.func @deepseek_v3
// CHECK-SAME:    ([[LOGITS:%.+]]: tensor<?x256xbf16>, [[BIAS:%.+]]: tensor<256xf32>)
// CHECK:         scf.forall
// CHECK:           [[ROW:%.+]] = tensor.extract_slice [[LOGITS]]{{.*}} to tensor<256xbf16>
// CHECK:           [[SCORES:%.+]]:2 = linalg.generic {{.*}} ins([[ROW]], [[BIAS]] : tensor<256xbf16>, tensor<256xf32>)
// CHECK:             [[Z:%.+]] = arith.extf {{.*}} : bf16 to f32
// CHECK:             math.absf [[Z]]
// CHECK:             math.exp
// CHECK:             arith.select
// CHECK:             [[S:%.+]] = arith.divf
// CHECK:             [[BIASED:%.+]] = arith.addf [[S]],
// CHECK:             arith.addf [[BIASED]], %{{.+}} : f32
// CHECK:             linalg.yield [[S]],
// CHECK:           [[GROUPED:%.+]] = tensor.expand_shape [[SCORES]]#1 {{\[\[}}0, 1]] output_shape [8, 32] : tensor<256xi64> into tensor<8x32xi64>
// CHECK:           [[TOP2:%.+]]:2 = linalg.generic {{.*}}iterator_types = ["parallel", "reduction"]{{.*}} ins([[GROUPED]] : tensor<8x32xi64>) outs({{.*}} : tensor<8xi64>, tensor<8xi64>)
// CHECK:             arith.maxui
// CHECK:             arith.minui
// CHECK:             arith.maxui
// CHECK:           [[GKEYS:%.+]] = linalg.generic {{.*}} ins([[TOP2]]#0, [[TOP2]]#1 : tensor<8xi64>, tensor<8xi64>)
// CHECK:             arith.addf
// CHECK:           [[C4:%.+]] = arith.constant 4 : index
// CHECK:           [[THRESHOLD:%.+]] = scf.for {{.*}} to [[C4]] {{.*}} -> (i64)
// CHECK:             linalg.generic {{.*}} ins([[GKEYS]] : tensor<8xi64>)
// CHECK:           [[MASKED:%.+]] = linalg.generic {{.*}} ins([[GROUPED]], [[GKEYS]] : tensor<8x32xi64>, tensor<8xi64>)
// CHECK:             arith.cmpi uge, %{{.+}}, [[THRESHOLD]] : i64
// CHECK:           [[KEYS:%.+]] = tensor.collapse_shape [[MASKED]] {{\[\[}}0, 1]] : tensor<8x32xi64> into tensor<256xi64>
// CHECK:           [[TOP:%.+]]:4 = scf.for {{.*}} -> (i64, tensor<8xf32>, tensor<8xi32>, f32)
// CHECK:             linalg.generic {{.*}} ins([[KEYS]] : tensor<256xi64>)
// CHECK:             tensor.extract [[SCORES]]#0
// CHECK:           linalg.generic {{.*}} ins([[TOP]]#1 : tensor<8xf32>)
// CHECK:             arith.divf
// CHECK:             arith.mulf
// CHECK:           scf.forall.in_parallel
func.func @deepseek_v3(%logits: tensor<?x256xbf16>, %bias: tensor<256xf32>)
    -> (tensor<?x8xf32>, tensor<?x8xi32>) {
  %w, %e = gate.router <sigmoid> %logits bias(%bias : tensor<256xf32>)
      {k = 8 : i64, n_group = 8 : i64, topk_group = 4 : i64, renormalize = true,
       routed_scaling_factor = 2.5 : f32}
      : tensor<?x256xbf16> -> tensor<?x8xf32>, tensor<?x8xi32>
  return %w, %e : tensor<?x8xf32>, tensor<?x8xi32>
}

// Capacity, token order: floor(T * 1.25 / 4) in f64, then the slot-major
// counting sort (histograms per chunk of pairs, prefix sums per expert,
// ranks per chunk) and one parallel decision per pair: kept iff its rank
// among its expert's pairs is below the capacity.
// CHECK-LABEL: func.func @capacity_token_order
// CHECK:         [[T:%.+]] = tensor.dim
// CHECK:         [[R:%.+]]:2 = scf.forall
// CHECK:         [[TI:%.+]] = arith.index_cast [[T]] : index to i64
// CHECK:         [[TF:%.+]] = arith.sitofp [[TI]] : i64 to f64
// CHECK:         [[CF:%.+]] = arith.constant 1.250000e+00 : f64
// CHECK:         [[P:%.+]] = arith.mulf [[TF]], [[CF]] : f64
// CHECK:         [[Q:%.+]] = arith.divf [[P]], %{{.+}} : f64
// CHECK:         [[FL:%.+]] = math.floor [[Q]] : f64
// CHECK:         [[CL:%.+]] = arith.minimumf [[FL]], [[TF]] : f64
// CHECK:         [[CAP:%.+]] = arith.fptosi [[CL]] : f64 to i32
// CHECK:         [[CHUNK:%.+]] = arith.constant 128 : index
// CHECK:         [[NC:%.+]] = arith.ceildivui %{{.+}}, [[CHUNK]] : index
// CHECK:         [[TABLE:%.+]] = linalg.fill {{.*}} -> tensor<?x4xi32>
// CHECK:         [[HIST:%.+]] = scf.forall ([[C:%.+]]) in ([[NC]]) shared_outs([[H:%.+]] = [[TABLE]])
// CHECK:           tensor.extract_slice [[H]][[[C]], 0] [1, 4] [1, 1] : tensor<?x4xi32> to tensor<4xi32>
// CHECK:           scf.for
// CHECK:             [[SLOT:%.+]] = arith.divui %{{.+}}, [[T]] : index
// CHECK:             [[TOK:%.+]] = arith.remui %{{.+}}, [[T]] : index
// CHECK:             tensor.extract [[R]]#1[[[TOK]], [[SLOT]]] : tensor<?x2xi32>
// CHECK:         [[BASES:%.+]] = scf.forall ({{.*}}) in (4) shared_outs({{.*}} = [[HIST]])
// CHECK:           scf.for {{.*}} -> (tensor<?xi32>, i32)
// CHECK:         [[RANKS:%.+]]:2 = scf.forall ({{.*}}) in ([[NC]]) shared_outs({{.*}} = [[BASES]], {{.*}})
// CHECK:         [[BYSLOT:%.+]] = tensor.expand_shape [[RANKS]]#1 {{\[\[}}0, 1]] output_shape [2, [[T]]] : tensor<?xi32> into tensor<2x?xi32>
// CHECK:         [[OUT:%.+]]:2 = linalg.generic {{.*}} ins([[R]]#0, [[R]]#1, [[BYSLOT]] : tensor<?x2xf32>, tensor<?x2xi32>, tensor<2x?xi32>)
// CHECK:           arith.cmpi slt, %{{.+}}, [[CAP]] : i32
// CHECK:         return [[OUT]]#0, [[OUT]]#1
func.func @capacity_token_order(%logits: tensor<?x4xf32>) -> (tensor<?x2xf32>, tensor<?x2xi32>) {
  %w, %e = gate.router <softmax> %logits {k = 2 : i64, capacity_factor = 1.25 : f32}
      : tensor<?x4xf32> -> tensor<?x2xf32>, tensor<?x2xi32>
  return %w, %e : tensor<?x2xf32>, tensor<?x2xi32>
}

// Capacity, score order: pair keys over (weight, pair id), the pairs grouped
// by expert with the dispatch counting sort, then one parallel generic in
// which each pair counts the pairs of its expert that outrank it.
// CHECK-LABEL: func.func @capacity_score_order
// CHECK:         [[R:%.+]]:2 = scf.forall
// CHECK:         [[CAP:%.+]] = arith.fptosi {{.*}} : f64 to i32
// CHECK:         [[KEYS:%.+]] = linalg.generic {{.*}}iterator_types = ["parallel", "parallel"]{{.*}} ins([[R]]#0 : tensor<16x2xf32>) outs({{.*}} : tensor<16x2xi64>)
// CHECK:           linalg.index 0
// CHECK:           linalg.index 1
// CHECK:         [[FLAT:%.+]] = tensor.collapse_shape [[KEYS]] {{\[\[}}0, 1]] : tensor<16x2xi64> into tensor<32xi64>
// CHECK:         [[HIST:%.+]] = scf.forall
// CHECK:         [[BASES:%.+]] = scf.forall ({{.*}}) in (4)
// CHECK:         [[OFFS:%.+]]:2 = scf.for {{.*}} -> (i32, tensor<5xi32>)
// CHECK:         [[OFFSETS:%.+]] = tensor.insert [[OFFS]]#0 into [[OFFS]]#1
// CHECK:         [[POS:%.+]]:2 = scf.forall
// CHECK:         [[SCATTER:%.+]] = scf.forall ({{.*}}) in (32)
// CHECK:         [[SORTED:%.+]] = tensor.extract_slice [[SCATTER]][0] [32] [1] : tensor<64xi32> to tensor<32xi32>
// CHECK:         [[OUT:%.+]]:2 = linalg.generic {{.*}} ins([[R]]#0, [[R]]#1, [[KEYS]] : tensor<16x2xf32>, tensor<16x2xi32>, tensor<16x2xi64>)
// CHECK:           tensor.extract [[OFFSETS]]
// CHECK:           scf.for
// CHECK:             tensor.extract [[SORTED]]
// CHECK:             tensor.extract [[FLAT]]
// CHECK:             arith.cmpi ugt
// CHECK:           arith.cmpi slt, %{{.+}}, [[CAP]] : i32
// CHECK:         return [[OUT]]#0, [[OUT]]#1
func.func @capacity_score_order(%logits: tensor<16x4xf32>) -> (tensor<16x2xf32>, tensor<16x2xi32>) {
  %w, %e = gate.router <softmax> %logits
      {k = 2 : i64, capacity_factor = 1.0 : f32,
       drop_policy = #gate.drop_policy<score_order>}
      : tensor<16x4xf32> -> tensor<16x2xf32>, tensor<16x2xi32>
  return %w, %e : tensor<16x2xf32>, tensor<16x2xi32>
}

// Dispatch with T dynamic: L = (T * 2 + 8 * 63 + 63) / 64 * 64 at run time;
// the token-major counting sort (padded segment starts between its passes),
// a parallel scatter of the pair ids (dropped pairs to entries past L, cut
// off), and the block owners by counting.
// CHECK-LABEL: func.func @dispatch
// CHECK-SAME:    ([[EXPERTS:%.+]]: tensor<?x2xi32>)
// CHECK:         [[T:%.+]] = tensor.dim [[EXPERTS]]
// CHECK:         [[P:%.+]] = arith.muli [[T]], %{{.+}} : index
// CHECK:         [[C64:%.+]] = arith.constant 64 : index
// CHECK:         [[C567:%.+]] = arith.constant 567 : index
// CHECK:         [[WORST:%.+]] = arith.addi [[P]], [[C567]] : index
// CHECK:         [[NB:%.+]] = arith.divui [[WORST]], [[C64]] : index
// CHECK:         [[L:%.+]] = arith.muli [[NB]], [[C64]] : index
// CHECK:         [[NC:%.+]] = arith.ceildivui [[P]], %{{.+}} : index
// CHECK:         [[TABLE:%.+]] = linalg.fill {{.*}} -> tensor<?x8xi32>
// CHECK:         [[HIST:%.+]] = scf.forall ({{.*}}) in ([[NC]]) shared_outs({{.*}} = [[TABLE]])
// CHECK:           scf.for
// CHECK:             arith.divui %{{.+}}, %{{.+}} : index
// CHECK:             arith.remui
// CHECK:             tensor.extract [[EXPERTS]]
// CHECK:         [[BASES:%.+]] = scf.forall ({{.*}}) in (8) shared_outs({{.*}} = [[HIST]])
// CHECK:         [[TOTALS:%.+]] = tensor.extract_slice [[BASES]][[[NC]], 0] [1, 8] [1, 1]
// CHECK:         [[COUNTS:%.+]] = linalg.copy ins([[TOTALS]] : tensor<8xi32>)
// CHECK:         [[OFFS:%.+]]:2 = scf.for {{.*}} -> (i32, tensor<9xi32>)
// CHECK:           tensor.extract [[COUNTS]]
// CHECK:           arith.divui
// CHECK:         [[OFFSETS:%.+]] = tensor.insert [[OFFS]]#0 into [[OFFS]]#1
// CHECK:         [[POS:%.+]]:2 = scf.forall ({{.*}}) in ([[NC]]) shared_outs({{.*}} = [[BASES]], {{.*}})
// CHECK:           scf.for
// CHECK:             tensor.extract [[OFFSETS]]
// CHECK:         [[SENTINEL:%.+]] = arith.index_cast [[P]] : index to i32
// CHECK:         [[EXT:%.+]] = arith.addi [[L]], [[P]] : index
// CHECK:         [[EMPTY:%.+]] = tensor.empty([[EXT]]) : tensor<?xi32>
// CHECK:         [[FILLED:%.+]] = linalg.fill ins([[SENTINEL]] : i32) outs([[EMPTY]] : tensor<?xi32>)
// CHECK:         [[IDS:%.+]] = linalg.generic
// CHECK:         [[SCATTER:%.+]] = scf.forall ([[J:%.+]]) in ([[P]]) shared_outs([[S:%.+]] = [[FILLED]])
// CHECK:           tensor.extract [[POS]]#1[[[J]]]
// CHECK:           [[DEST:%.+]] = arith.select
// CHECK:           [[ID:%.+]] = tensor.extract_slice [[IDS]][[[J]]] [1] [1]
// CHECK:             tensor.parallel_insert_slice [[ID]] into [[S]][[[DEST]]] [1] [1]
// CHECK:         [[SORTED:%.+]] = tensor.extract_slice [[SCATTER]][0] [[[L]]] [1]
// CHECK:         [[POSITIONS:%.+]] = tensor.expand_shape [[POS]]#1 {{\[\[}}0, 1]] output_shape [[[T]], 2]
// CHECK:         [[ENDS:%.+]] = tensor.extract_slice [[OFFSETS]][1] [8] [1]
// CHECK:         tensor.empty([[NB]]) : tensor<?xi32>
// CHECK:         [[OWNERS:%.+]] = linalg.generic {{.*}}iterator_types = ["parallel", "reduction"]{{.*}} ins([[ENDS]] : tensor<8xi32>)
// CHECK:           arith.cmpi sle
// CHECK:         [[BLOCKS:%.+]] = linalg.generic {{.*}} ins([[OWNERS]] : tensor<?xi32>)
// CHECK:         return [[SORTED]], [[BLOCKS]], [[OFFSETS]], [[COUNTS]], [[POSITIONS]]
func.func @dispatch(%experts: tensor<?x2xi32>)
    -> (tensor<?xi32>, tensor<?xi32>, tensor<9xi32>, tensor<8xi32>, tensor<?x2xi32>) {
  %sorted, %blocks, %offsets, %counts, %pos = gate.dispatch %experts
      {num_experts = 8 : i64, block_size = 64 : i64}
      : tensor<?x2xi32> -> tensor<?xi32>, tensor<?xi32>, tensor<9xi32>, tensor<8xi32>, tensor<?x2xi32>
  return %sorted, %blocks, %offsets, %counts, %pos
      : tensor<?xi32>, tensor<?xi32>, tensor<9xi32>, tensor<8xi32>, tensor<?x2xi32>
}
