// RUN: gatec-opt %s --convert-gate-to-linalg | FileCheck %s

// The structure of the chunkwise-parallel lowering of gate.chunked_scan: a
// forall over (sequence, head), a chunk loop carrying the f32 state and the
// output rows, linalg contractions inside. The numbers are checked by
// chunked-scan-exec.mlir.

// CHECK-DAG: #[[$ROW_I:.+]] = affine_map<(d0, d1, d2) -> (d0, d2)>
// CHECK-DAG: #[[$ROW_J:.+]] = affine_map<(d0, d1, d2) -> (d1, d2)>
// CHECK-DAG: #[[$OUT_IJ:.+]] = affine_map<(d0, d1, d2) -> (d0, d1)>
// CHECK-DAG: #[[$TRANS_A:.+]] = affine_map<(d0, d1, d2) -> (d2, d0)>
// CHECK-DAG: #[[$TRANS_B:.+]] = affine_map<(d0, d1, d2) -> (d2, d1)>
// CHECK-DAG: #[[$ID2:.+]] = affine_map<(d0, d1) -> (d0, d1)>
// CHECK-DAG: #[[$I_OF_2:.+]] = affine_map<(d0, d1) -> (d0)>
// CHECK-DAG: #[[$J_OF_2:.+]] = affine_map<(d0, d1) -> (d1)>
// CHECK-DAG: #[[$LEN4:.+]] = affine_map<(d0, d1) -> (4, d0 - d1)>
// CHECK-DAG: #[[$LEN64:.+]] = affine_map<(d0, d1) -> (64, d0 - d1)>
// CHECK-DAG: #[[$LEN32:.+]] = affine_map<(d0, d1) -> (32, d0 - d1)>
// CHECK-DAG: #[[$LEN8:.+]] = affine_map<(d0, d1) -> (8, d0 - d1)>
// CHECK-DAG: #[[$PREV_ROW:.+]] = affine_map<(d0) -> (0, d0 - 1)>
// CHECK-DAG: #[[$PREV_SUB:.+]] = affine_map<(d0) -> (0, d0 - 8)>

// Vector decay (GLA) with initial and final state; T = 10 is not a multiple of
// C = 4, so the last chunk is partial.
// CHECK-LABEL: func.func @vector_states(
// CHECK-SAME: [[Q:%[^:]+]]: tensor<2x10x4x16xf32>, [[K:%[^:]+]]: tensor<2x10x4x16xf32>, [[V:%[^:]+]]: tensor<2x10x4x8xf32>, [[G:%[^:]+]]: tensor<2x10x4x16xf32>, [[S0:%[^:]+]]: tensor<2x4x16x8xf32>)
// CHECK: [[O_INIT:%.+]] = tensor.empty() : tensor<2x10x4x8xf32>
// CHECK: [[S_INIT:%.+]] = tensor.empty() : tensor<2x4x16x8xf32>
// CHECK: [[RES:%.+]]:2 = scf.forall ([[N:%.+]], [[H:%.+]]) in (2, 4) shared_outs([[O_OUT:%.+]] = [[O_INIT]], [[S_OUT:%.+]] = [[S_INIT]])
// CHECK:   [[S_DEST:%.+]] = tensor.extract_slice [[S_OUT]]{{\[}}[[N]], [[H]], 0, 0] [1, 1, 16, 8] [1, 1, 1, 1] : tensor<2x4x16x8xf32> to tensor<16x8xf32>
// CHECK:   [[S0_NH:%.+]] = tensor.extract_slice [[S0]]{{\[}}[[N]], [[H]], 0, 0] [1, 1, 16, 8] [1, 1, 1, 1] : tensor<2x4x16x8xf32> to tensor<16x8xf32>
// CHECK:   [[S_START:%.+]] = linalg.copy ins([[S0_NH]] : tensor<16x8xf32>) outs([[S_DEST]] : tensor<16x8xf32>)
// CHECK:   [[O_SEQ:%.+]] = tensor.extract_slice [[O_OUT]]{{\[}}[[N]], 0, [[H]], 0] [1, 10, 1, 8] [1, 1, 1, 1] : tensor<2x10x4x8xf32> to tensor<10x8xf32>
// CHECK:   [[LOOP:%.+]]:2 = scf.for [[T:%.+]] = %{{.+}} to %{{.+}} step %{{.+}} iter_args([[S:%.+]] = [[S_START]], [[O_ACC:%.+]] = [[O_SEQ]]) -> (tensor<16x8xf32>, tensor<10x8xf32>)
// CHECK:     [[L:%.+]] = affine.min #[[$LEN4]](%{{.+}}, [[T]])
// CHECK:     [[QC:%.+]] = tensor.extract_slice [[Q]]{{\[}}[[N]], [[T]], [[H]], 0] [1, [[L]], 1, 16] [1, 1, 1, 1] : tensor<2x10x4x16xf32> to tensor<?x16xf32>
// CHECK:     [[KC:%.+]] = tensor.extract_slice [[K]]{{\[}}[[N]], [[T]], [[H]], 0] [1, [[L]], 1, 16]
// CHECK:     [[VC:%.+]] = tensor.extract_slice [[V]]{{\[}}[[N]], [[T]], [[H]], 0] [1, [[L]], 1, 8]
// CHECK:     [[GC:%.+]] = tensor.extract_slice [[G]]{{\[}}[[N]], [[T]], [[H]], 0] [1, [[L]], 1, 16]
//            Cumulative log gates: a row-by-row loop over the chunk, clamped,
//            compensated: B#0 = hi, the f32 sums; B#1 = lo, their rounding
//            errors (TwoSum), each row updated in place.
// CHECK:     [[B:%.+]]:4 = scf.for [[I:%.+]] = %{{.+}} to [[L]] step %{{.+}} iter_args(%{{.+}} = %{{.+}}, %{{.+}} = %{{.+}}, [[HI_ROW:%.+]] = %{{.+}}, [[LO_ROW:%.+]] = %{{.+}})
// CHECK:       [[G_ROW:%.+]] = tensor.extract_slice [[GC]]{{\[}}[[I]], 0] [1, 16] [1, 1] : tensor<?x16xf32> to tensor<16xf32>
// CHECK:       [[LO_NEXT:%.+]] = linalg.generic {{.*}} ins([[G_ROW]], [[HI_ROW]] : tensor<16xf32>, tensor<16xf32>) outs([[LO_ROW]] : tensor<16xf32>)
// CHECK:       ^bb0([[G_IN:%.+]]: f32, [[HI_IN:%.+]]: f32, [[LO_IN:%.+]]: f32):
// CHECK:         [[CLAMP:%.+]] = arith.constant -1.280000e+02 : f32
// CHECK:         [[GC_IN:%.+]] = arith.maximumf [[G_IN]], [[CLAMP]] : f32
// CHECK:         [[SUM:%.+]] = arith.addf [[HI_IN]], [[GC_IN]] : f32
// CHECK:         [[G_PART:%.+]] = arith.subf [[SUM]], [[HI_IN]] : f32
// CHECK:         [[HI_PART:%.+]] = arith.subf [[SUM]], [[G_PART]] : f32
// CHECK:         [[HI_ERR:%.+]] = arith.subf [[HI_IN]], [[HI_PART]] : f32
// CHECK:         [[G_ERR:%.+]] = arith.subf [[GC_IN]], [[G_PART]] : f32
// CHECK:         [[ERR:%.+]] = arith.addf [[HI_ERR]], [[G_ERR]] : f32
// CHECK:         arith.addf [[LO_IN]], [[ERR]] : f32
// CHECK:       [[HI_NEXT:%.+]] = linalg.generic {{.*}} ins([[G_ROW]] : tensor<16xf32>) outs([[HI_ROW]] : tensor<16xf32>)
// CHECK:         arith.maximumf
// CHECK:         arith.addf
// CHECK:       [[HIS:%.+]] = tensor.insert_slice [[HI_NEXT]] into %{{.+}}{{\[}}[[I]], 0] [1, 16] [1, 1] : tensor<16xf32> into tensor<?x16xf32>
// CHECK:       [[LOS:%.+]] = tensor.insert_slice [[LO_NEXT]] into %{{.+}}{{\[}}[[I]], 0] [1, 16] [1, 1] : tensor<16xf32> into tensor<?x16xf32>
// CHECK:       scf.yield [[HIS]], [[LOS]], [[HI_NEXT]], [[LO_NEXT]]
//            Intra-chunk scores, secondary chunking: per sub-chunk of 8
//            rows, a direct diagonal block and a matmul of rescaled operands
//            left of it. Every decay between two tokens is
//            (hi_i - hi_j) + (lo_i - lo_j).
// CHECK:     [[ZERO_LL:%.+]] = linalg.fill ins(%{{.+}} : f32) outs(%{{.+}} : tensor<?x?xf32>)
// CHECK:     [[A:%.+]]:2 = scf.for [[P:%.+]] = %{{.+}} to [[L]] step %[[C8:.+]] iter_args([[A_ACC:%.+]] = [[ZERO_LL]], [[KEYS:%.+]] = %{{.+}}) -> (tensor<?x?xf32>, tensor<?x16xf32>)
// CHECK:       [[LP:%.+]] = affine.min #[[$LEN8]]([[L]], [[P]])
// CHECK:       [[QP:%.+]] = tensor.extract_slice [[QC]]{{\[}}[[P]], 0] {{\[}}[[LP]], 16]
// CHECK:       [[KP:%.+]] = tensor.extract_slice [[KC]]{{\[}}[[P]], 0] {{\[}}[[LP]], 16]
// CHECK:       [[HP:%.+]] = tensor.extract_slice [[B]]#0{{\[}}[[P]], 0] {{\[}}[[LP]], 16]
// CHECK:       [[LOP:%.+]] = tensor.extract_slice [[B]]#1{{\[}}[[P]], 0] {{\[}}[[LP]], 16]
// CHECK:       [[DIAG:%.+]] = linalg.generic {indexing_maps = [#[[$ROW_I]], #[[$ROW_J]], #[[$ROW_I]], #[[$ROW_J]], #[[$ROW_I]], #[[$ROW_J]], #[[$OUT_IJ]]], iterator_types = ["parallel", "parallel", "reduction"]}
// CHECK-SAME:  ins([[QP]], [[KP]], [[HP]], [[HP]], [[LOP]], [[LOP]] : tensor<?x16xf32>, tensor<?x16xf32>, tensor<?x16xf32>, tensor<?x16xf32>, tensor<?x16xf32>, tensor<?x16xf32>)
// CHECK:         ^bb0(%{{.+}}: f32, %{{.+}}: f32, [[HI_I:%.+]]: f32, [[HI_J:%.+]]: f32, [[LO_I:%.+]]: f32, [[LO_J:%.+]]: f32, %{{.+}}: f32):
// CHECK:         [[II:%.+]] = linalg.index 0 : index
// CHECK:         [[JJ:%.+]] = linalg.index 1 : index
// CHECK:         [[HI_D:%.+]] = arith.subf [[HI_I]], [[HI_J]] : f32
// CHECK:         [[LO_D:%.+]] = arith.subf [[LO_I]], [[LO_J]] : f32
// CHECK:         [[EXPONENT:%.+]] = arith.addf [[HI_D]], [[LO_D]] : f32
// CHECK:         math.exp [[EXPONENT]] : f32
// CHECK:         [[CAUSAL:%.+]] = arith.cmpi ule, [[JJ]], [[II]] : index
// CHECK:         [[TERM:%.+]] = arith.select [[CAUSAL]]
// CHECK:         arith.addf %{{.+}}, [[TERM]] : f32
// CHECK:       [[WITH_DIAG:%.+]] = tensor.insert_slice [[DIAG]] into [[A_ACC]]{{\[}}[[P]], [[P]]] {{\[}}[[LP]], [[LP]]]
// CHECK:       [[REF_ROW:%.+]] = affine.max #[[$PREV_ROW]]([[P]])
// CHECK:       [[REF_HI:%.+]] = tensor.extract_slice [[B]]#0{{\[}}[[REF_ROW]], 0] [1, 16] [1, 1] : tensor<?x16xf32> to tensor<16xf32>
// CHECK:       [[REF_LO:%.+]] = tensor.extract_slice [[B]]#1{{\[}}[[REF_ROW]], 0] [1, 16] [1, 1] : tensor<?x16xf32> to tensor<16xf32>
// CHECK:       [[QS:%.+]] = linalg.generic {indexing_maps = [#[[$ID2]], #[[$ID2]], #[[$ID2]], #[[$J_OF_2]], #[[$J_OF_2]], #[[$ID2]]], {{.*}}} ins([[QP]], [[HP]], [[LOP]], [[REF_HI]], [[REF_LO]] :
// CHECK:         ^bb0(%{{.+}}: f32, [[QB_HI:%.+]]: f32, [[QB_LO:%.+]]: f32, [[QR_HI:%.+]]: f32, [[QR_LO:%.+]]: f32, %{{.+}}: f32):
// CHECK:         [[Q_HI:%.+]] = arith.subf [[QB_HI]], [[QR_HI]] : f32
// CHECK:         [[Q_LO:%.+]] = arith.subf [[QB_LO]], [[QR_LO]] : f32
// CHECK:         [[Q_EXP:%.+]] = arith.addf [[Q_HI]], [[Q_LO]] : f32
// CHECK:         math.exp [[Q_EXP]]
//              The rescaled keys: rows [0, prev) times the decay across the
//              previous sub-chunk (a product of exp(g) over its rows, a
//              reduction), then the previous sub-chunk [prev, p) from
//              scratch, in place.
// CHECK:       [[PREV:%.+]] = affine.max #[[$PREV_SUB]]([[P]])
// CHECK:       [[PREV_LEN:%.+]] = arith.subi [[P]], [[PREV]] : index
// CHECK:       [[G_PREV:%.+]] = tensor.extract_slice [[GC]]{{\[}}[[PREV]], 0] {{\[}}[[PREV_LEN]], 16]
// CHECK:       [[ONES:%.+]] = linalg.fill ins(%{{.+}} : f32) outs(%{{.+}} : tensor<16xf32>)
// CHECK:       [[KEY_STEP:%.+]] = linalg.generic {indexing_maps = [#[[$ID2]], #[[$J_OF_2]]], iterator_types = ["reduction", "parallel"]} ins([[G_PREV]] : tensor<?x16xf32>) outs([[ONES]] : tensor<16xf32>)
// CHECK:         ^bb0([[STEP_G:%.+]]: f32, [[STEP_ACC:%.+]]: f32):
// CHECK:         [[STEP_GC:%.+]] = arith.maximumf [[STEP_G]], %{{.+}} : f32
// CHECK:         [[STEP_EXP:%.+]] = math.exp [[STEP_GC]] : f32
// CHECK:         arith.mulf [[STEP_ACC]], [[STEP_EXP]] : f32
// CHECK:       [[OLD_KEYS:%.+]] = tensor.extract_slice [[KEYS]][0, 0] {{\[}}[[PREV]], 16]
// CHECK:       [[OLDER:%.+]] = linalg.generic {indexing_maps = [#[[$J_OF_2]], #[[$ID2]]], {{.*}}} ins([[KEY_STEP]] : tensor<16xf32>) outs([[OLD_KEYS]] : tensor<?x16xf32>)
// CHECK-NOT:     math.exp
// CHECK:         arith.mulf
// CHECK:       [[KEYS_1:%.+]] = tensor.insert_slice [[OLDER]] into [[KEYS]][0, 0] {{\[}}[[PREV]], 16]
// CHECK:       [[K_PREV:%.+]] = tensor.extract_slice [[KC]]{{\[}}[[PREV]], 0] {{\[}}[[PREV_LEN]], 16]
// CHECK:       [[HI_PREV:%.+]] = tensor.extract_slice [[B]]#0{{\[}}[[PREV]], 0] {{\[}}[[PREV_LEN]], 16]
// CHECK:       [[LO_PREV:%.+]] = tensor.extract_slice [[B]]#1{{\[}}[[PREV]], 0] {{\[}}[[PREV_LEN]], 16]
// CHECK:       [[NEW_KEYS:%.+]] = tensor.extract_slice [[KEYS_1]]{{\[}}[[PREV]], 0] {{\[}}[[PREV_LEN]], 16]
// CHECK:       [[NEWER:%.+]] = linalg.generic {indexing_maps = [#[[$ID2]], #[[$ID2]], #[[$ID2]], #[[$J_OF_2]], #[[$J_OF_2]], #[[$ID2]]], {{.*}}} ins([[K_PREV]], [[HI_PREV]], [[LO_PREV]], [[REF_HI]], [[REF_LO]] : {{.*}}) outs([[NEW_KEYS]] : tensor<?x16xf32>)
// CHECK:         ^bb0(%{{.+}}: f32, [[KB_HI:%.+]]: f32, [[KB_LO:%.+]]: f32, [[KR_HI:%.+]]: f32, [[KR_LO:%.+]]: f32, %{{.+}}: f32):
// CHECK:         [[K_HI:%.+]] = arith.subf [[KR_HI]], [[KB_HI]] : f32
// CHECK:         [[K_LO:%.+]] = arith.subf [[KR_LO]], [[KB_LO]] : f32
// CHECK:         [[K_EXP:%.+]] = arith.addf [[K_HI]], [[K_LO]] : f32
// CHECK:         math.exp [[K_EXP]]
// CHECK:       [[KEYS_2:%.+]] = tensor.insert_slice [[NEWER]] into [[KEYS_1]]{{\[}}[[PREV]], 0] {{\[}}[[PREV_LEN]], 16]
// CHECK:       [[KS:%.+]] = tensor.extract_slice [[KEYS_2]][0, 0] {{\[}}[[P]], 16]
// CHECK:       [[LEFT:%.+]] = linalg.matmul indexing_maps = [#[[$ROW_I]], #[[$ROW_J]], #[[$OUT_IJ]]] ins([[QS]], [[KS]] : tensor<?x16xf32>, tensor<?x16xf32>)
// CHECK:       [[A_NEXT:%.+]] = tensor.insert_slice [[LEFT]] into [[WITH_DIAG]]{{\[}}[[P]], 0] {{\[}}[[LP]], [[P]]]
// CHECK:       scf.yield [[A_NEXT]], [[KEYS_2]] : tensor<?x?xf32>, tensor<?x16xf32>
//            Output: A v + (q * exp(b)) S, scaled by K^-0.5 = 0.25; the decay
//            from the chunk start reads hi alone.
// CHECK:     [[QE:%.+]] = linalg.generic {indexing_maps = [#[[$ID2]], #[[$ID2]], #[[$ID2]]], {{.*}}} ins([[QC]], [[B]]#0 : tensor<?x16xf32>, tensor<?x16xf32>)
// CHECK:       math.exp
// CHECK:     [[INTRA:%.+]] = linalg.matmul ins([[A]]#0, [[VC]] : tensor<?x?xf32>, tensor<?x8xf32>)
// CHECK:     [[O_C:%.+]] = linalg.matmul ins([[QE]], [[S]] : tensor<?x16xf32>, tensor<16x8xf32>) outs([[INTRA]] : tensor<?x8xf32>)
// CHECK:     [[O_ROWS:%.+]] = tensor.extract_slice [[O_ACC]]{{\[}}[[T]], 0] {{\[}}[[L]], 8] [1, 1] : tensor<10x8xf32> to tensor<?x8xf32>
// CHECK:     [[ROUNDED:%.+]] = linalg.generic {{.*}} ins([[O_C]] : tensor<?x8xf32>) outs([[O_ROWS]] : tensor<?x8xf32>)
// CHECK:       arith.constant 2.500000e-01 : f32
// CHECK:     [[O_NEXT:%.+]] = tensor.insert_slice [[ROUNDED]] into [[O_ACC]]{{\[}}[[T]], 0] {{\[}}[[L]], 8] [1, 1] : tensor<?x8xf32> into tensor<10x8xf32>
//            State: Diag(exp(b_last)) S + (k * exp(b_last - b))^T v.
// CHECK:     [[B_LAST:%.+]] = tensor.extract_slice [[B]]#0{{\[}}%{{.+}}, 0] [1, 16] [1, 1] : tensor<?x16xf32> to tensor<16xf32>
// CHECK:     [[LO_LAST:%.+]] = tensor.extract_slice [[B]]#1{{\[}}%{{.+}}, 0] [1, 16] [1, 1] : tensor<?x16xf32> to tensor<16xf32>
// CHECK:     [[KD:%.+]] = linalg.generic {indexing_maps = [#[[$ID2]], #[[$ID2]], #[[$ID2]], #[[$J_OF_2]], #[[$J_OF_2]], #[[$ID2]]], {{.*}}} ins([[KC]], [[B]]#0, [[B]]#1, [[B_LAST]], [[LO_LAST]] :
// CHECK:       ^bb0(%{{.+}}: f32, [[KD_HI:%.+]]: f32, [[KD_LO:%.+]]: f32, [[KD_LAST_HI:%.+]]: f32, [[KD_LAST_LO:%.+]]: f32, %{{.+}}: f32):
// CHECK:       [[KD_H:%.+]] = arith.subf [[KD_LAST_HI]], [[KD_HI]] : f32
// CHECK:       [[KD_L:%.+]] = arith.subf [[KD_LAST_LO]], [[KD_LO]] : f32
// CHECK:       [[KD_EXP:%.+]] = arith.addf [[KD_H]], [[KD_L]] : f32
// CHECK:       math.exp [[KD_EXP]]
// CHECK:     [[DECAY:%.+]] = linalg.generic {{.*}} ins([[B_LAST]] : tensor<16xf32>)
// CHECK:       math.exp
// CHECK:     [[S_DECAYED:%.+]] = linalg.generic {indexing_maps = [#[[$I_OF_2]], #[[$ID2]]], {{.*}}} ins([[DECAY]] : tensor<16xf32>) outs([[S]] : tensor<16x8xf32>)
// CHECK:     [[S_NEXT:%.+]] = linalg.matmul indexing_maps = [#[[$TRANS_A]], #[[$TRANS_B]], #[[$OUT_IJ]]] ins([[KD]], [[VC]] : tensor<?x16xf32>, tensor<?x8xf32>) outs([[S_DECAYED]] : tensor<16x8xf32>)
// CHECK:     scf.yield [[S_NEXT]], [[O_NEXT]] : tensor<16x8xf32>, tensor<10x8xf32>
// CHECK:   scf.forall.in_parallel
// CHECK:     tensor.parallel_insert_slice [[LOOP]]#1 into [[O_OUT]]{{\[}}[[N]], 0, [[H]], 0] [1, 10, 1, 8] [1, 1, 1, 1] : tensor<10x8xf32> into tensor<2x10x4x8xf32>
// CHECK:     tensor.parallel_insert_slice [[LOOP]]#0 into [[S_OUT]]{{\[}}[[N]], [[H]], 0, 0] [1, 1, 16, 8] [1, 1, 1, 1] : tensor<16x8xf32> into tensor<2x4x16x8xf32>
// CHECK: return [[RES]]#0, [[RES]]#1
func.func @vector_states(%q: tensor<2x10x4x16xf32>, %k: tensor<2x10x4x16xf32>, %v: tensor<2x10x4x8xf32>,
                         %g: tensor<2x10x4x16xf32>, %s0: tensor<2x4x16x8xf32>)
    -> (tensor<2x10x4x8xf32>, tensor<2x4x16x8xf32>) {
  %o, %s = gate.chunked_scan <vector> %q, %k, %v decay(%g : tensor<2x10x4x16xf32>)
      initial_state(%s0 : tensor<2x4x16x8xf32>) {chunk_size = 4 : i64}
      : tensor<2x10x4x16xf32>, tensor<2x10x4x16xf32>, tensor<2x10x4x8xf32>
      -> tensor<2x10x4x8xf32>, tensor<2x4x16x8xf32>
  return %o, %s : tensor<2x10x4x8xf32>, tensor<2x4x16x8xf32>
}

// Scalar decay (Mamba-2 / simple GLA), dynamic T, no initial state: the state
// starts at zero; the scores are a plain q k^T matmul, then one masked
// elementwise generic applies exp(b_i - b_j).
// CHECK-LABEL: func.func @scalar_zero_start(
// CHECK-SAME: [[Q:%[^:]+]]: tensor<2x?x4x16xf32>, [[K:%[^:]+]]: tensor<2x?x4x16xf32>, [[V:%[^:]+]]: tensor<2x?x4x8xf32>, [[G:%[^:]+]]: tensor<2x?x4xf32>)
// CHECK: [[T_DIM:%.+]] = tensor.dim [[Q]], %{{.+}} : tensor<2x?x4x16xf32>
// CHECK: [[O_INIT:%.+]] = tensor.empty([[T_DIM]]) : tensor<2x?x4x8xf32>
// CHECK: scf.forall ([[N:%.+]], [[H:%.+]]) in (2, 4) shared_outs([[O_OUT:%.+]] = [[O_INIT]], [[S_OUT:%.+]] = %{{.+}})
// CHECK:   [[S_DEST:%.+]] = tensor.extract_slice [[S_OUT]]{{\[}}[[N]], [[H]], 0, 0] [1, 1, 16, 8]
// CHECK:   [[S_ZERO:%.+]] = linalg.fill ins(%{{.+}} : f32) outs([[S_DEST]] : tensor<16x8xf32>)
// CHECK:   scf.for [[T:%.+]] = %{{.+}} to [[T_DIM]] step %{{.+}} iter_args([[S:%.+]] = [[S_ZERO]], [[O_ACC:%.+]] = %{{.+}}) -> (tensor<16x8xf32>, tensor<?x8xf32>)
// CHECK:     [[L:%.+]] = affine.min #[[$LEN64]]([[T_DIM]], [[T]])
// CHECK:     [[QC:%.+]] = tensor.extract_slice [[Q]]
// CHECK:     [[KC:%.+]] = tensor.extract_slice [[K]]
// CHECK:     [[VC:%.+]] = tensor.extract_slice [[V]]
// CHECK:     [[GC:%.+]] = tensor.extract_slice [[G]]{{\[}}[[N]], [[T]], [[H]]] [1, [[L]], 1] [1, 1, 1] : tensor<2x?x4xf32> to tensor<?xf32>
// CHECK:     [[B:%.+]]:4 = scf.for [[I:%.+]] = %{{.+}} to [[L]] step %{{.+}} iter_args(%{{.+}} = %{{.+}}, %{{.+}} = %{{.+}}, [[PREV:%.+]] = %{{.+}}, [[PREV_LO:%.+]] = %{{.+}}) -> (tensor<?xf32>, tensor<?xf32>, f32, f32)
// CHECK:       [[G_I:%.+]] = tensor.extract [[GC]]{{\[}}[[I]]] : tensor<?xf32>
// CHECK:       [[CLAMPED:%.+]] = arith.maximumf [[G_I]], %{{.+}} : f32
// CHECK:       [[SUM:%.+]] = arith.addf [[PREV]], [[CLAMPED]] : f32
// CHECK:       [[G_PART:%.+]] = arith.subf [[SUM]], [[PREV]] : f32
// CHECK:       [[HI_PART:%.+]] = arith.subf [[SUM]], [[G_PART]] : f32
// CHECK:       [[HI_ERR:%.+]] = arith.subf [[PREV]], [[HI_PART]] : f32
// CHECK:       [[G_ERR:%.+]] = arith.subf [[CLAMPED]], [[G_PART]] : f32
// CHECK:       [[ERR:%.+]] = arith.addf [[HI_ERR]], [[G_ERR]] : f32
// CHECK:       [[LO:%.+]] = arith.addf [[PREV_LO]], [[ERR]] : f32
// CHECK:       tensor.insert [[SUM]] into %{{.+}}{{\[}}[[I]]] : tensor<?xf32>
// CHECK:       tensor.insert [[LO]] into %{{.+}}{{\[}}[[I]]] : tensor<?xf32>
// The keys are transposed once per chunk so that the score matmul reads them
// contiguously.
// CHECK:     [[KT:%.+]] = linalg.transpose ins([[KC]] : tensor<?x16xf32>) outs(%{{.+}} : tensor<16x?xf32>) permutation = [1, 0]
// CHECK:     [[QK:%.+]] = linalg.matmul ins([[QC]], [[KT]] : tensor<?x16xf32>, tensor<16x?xf32>) outs(%{{.+}} : tensor<?x?xf32>)
// CHECK:     [[A:%.+]] = linalg.generic {indexing_maps = [#[[$I_OF_2]], #[[$I_OF_2]], #[[$J_OF_2]], #[[$J_OF_2]], #[[$ID2]]], iterator_types = ["parallel", "parallel"]} ins([[B]]#0, [[B]]#1, [[B]]#0, [[B]]#1 : tensor<?xf32>, tensor<?xf32>, tensor<?xf32>, tensor<?xf32>) outs([[QK]] : tensor<?x?xf32>)
// CHECK:       ^bb0([[A_HI_I:%.+]]: f32, [[A_LO_I:%.+]]: f32, [[A_HI_J:%.+]]: f32, [[A_LO_J:%.+]]: f32, %{{.+}}: f32):
// CHECK:       [[A_HI:%.+]] = arith.subf [[A_HI_I]], [[A_HI_J]] : f32
// CHECK:       [[A_LO:%.+]] = arith.subf [[A_LO_I]], [[A_LO_J]] : f32
// CHECK:       [[A_EXP:%.+]] = arith.addf [[A_HI]], [[A_LO]] : f32
// CHECK:       math.exp [[A_EXP]]
// CHECK:       arith.cmpi ule
// CHECK:       arith.select
// CHECK:     [[QE:%.+]] = linalg.generic {indexing_maps = [#[[$ID2]], #[[$I_OF_2]], #[[$ID2]]], {{.*}}} ins([[QC]], [[B]]#0 : tensor<?x16xf32>, tensor<?xf32>)
// CHECK:     [[INTRA:%.+]] = linalg.matmul ins([[A]], [[VC]] :
// CHECK:     linalg.matmul ins([[QE]], [[S]] : {{.*}}) outs([[INTRA]] :
// CHECK:     [[B_LAST:%.+]] = tensor.extract [[B]]#0{{\[}}%{{.+}}] : tensor<?xf32>
// CHECK:     [[LO_LAST:%.+]] = tensor.extract [[B]]#1{{\[}}%{{.+}}] : tensor<?xf32>
// CHECK:     [[CHUNK_DECAY:%.+]] = math.exp [[B_LAST]] : f32
// CHECK:     [[KD:%.+]] = linalg.generic {{.*}} ins([[KC]], [[B]]#0, [[B]]#1 : tensor<?x16xf32>, tensor<?xf32>, tensor<?xf32>)
// CHECK:       arith.subf [[B_LAST]], %{{.+}} : f32
// CHECK:       arith.subf [[LO_LAST]], %{{.+}} : f32
// CHECK:     [[S_DECAYED:%.+]] = linalg.generic {{.*}} outs([[S]] : tensor<16x8xf32>)
// CHECK:       arith.mulf %{{.+}}, [[CHUNK_DECAY]] : f32
// CHECK:     linalg.matmul indexing_maps = [#[[$TRANS_A]], #[[$TRANS_B]], #[[$OUT_IJ]]] ins([[KD]], [[VC]] : {{.*}}) outs([[S_DECAYED]] :
// CHECK:   scf.forall.in_parallel
// CHECK:     tensor.parallel_insert_slice %{{.+}} into [[O_OUT]]{{\[}}[[N]], 0, [[H]], 0] [1, [[T_DIM]], 1, 8]
// CHECK:     tensor.parallel_insert_slice %{{.+}} into [[S_OUT]]{{\[}}[[N]], [[H]], 0, 0] [1, 1, 16, 8]
func.func @scalar_zero_start(%q: tensor<2x?x4x16xf32>, %k: tensor<2x?x4x16xf32>, %v: tensor<2x?x4x8xf32>,
                             %g: tensor<2x?x4xf32>)
    -> (tensor<2x?x4x8xf32>, tensor<2x4x16x8xf32>) {
  %o, %s = gate.chunked_scan <scalar> %q, %k, %v decay(%g : tensor<2x?x4xf32>)
      : tensor<2x?x4x16xf32>, tensor<2x?x4x16xf32>, tensor<2x?x4x8xf32>
      -> tensor<2x?x4x8xf32>, tensor<2x4x16x8xf32>
  return %o, %s : tensor<2x?x4x8xf32>, tensor<2x4x16x8xf32>
}

// Fixed decay (RetNet), bf16, all of B, T, H dynamic, no final state: the
// per-head gate is read and clamped once per (sequence, head), the decays come
// from token indices (no cumulative loop), the matmuls read bf16 operands and
// accumulate in f32, and o is rounded to bf16 once. The chunk products are
// marked as allowed to round their operands to bf16 (for tensor cores).
// CHECK-LABEL: func.func @fixed_bf16_dynamic(
// CHECK-SAME: [[Q:%[^:]+]]: tensor<?x?x?x16xbf16>, [[K:%[^:]+]]: tensor<?x?x?x16xbf16>, [[V:%[^:]+]]: tensor<?x?x?x8xbf16>, [[G:%[^:]+]]: tensor<?xf32>)
// CHECK: [[B_DIM:%.+]] = tensor.dim [[Q]], %{{.+}}
// CHECK: [[T_DIM:%.+]] = tensor.dim [[Q]], %{{.+}}
// CHECK: [[H_DIM:%.+]] = tensor.dim [[V]], %{{.+}}
// CHECK: [[RES:%.+]] = scf.forall ([[N:%.+]], [[H:%.+]]) in ([[B_DIM]], [[H_DIM]]) shared_outs([[O_OUT:%.+]] = %{{.+}}) -> (tensor<?x?x?x8xbf16>)
// CHECK:   [[G_H:%.+]] = tensor.extract [[G]]{{\[}}[[H]]] : tensor<?xf32>
// CHECK:   [[GATE:%.+]] = arith.maximumf [[G_H]], %{{.+}} : f32
// CHECK:   scf.for [[T:%.+]] = %{{.+}} to [[T_DIM]] step %{{.+}} iter_args([[S:%.+]] = %{{.+}}, [[O_ACC:%.+]] = %{{.+}}) -> (tensor<16x8xf32>, tensor<?x8xbf16>)
// CHECK:     [[L:%.+]] = affine.min #[[$LEN32]]([[T_DIM]], [[T]])
// CHECK:     [[QC:%.+]] = tensor.extract_slice [[Q]]{{.*}} to tensor<?x16xbf16>
// CHECK:     [[KC:%.+]] = tensor.extract_slice [[K]]{{.*}} to tensor<?x16xbf16>
// CHECK:     [[VC:%.+]] = tensor.extract_slice [[V]]{{.*}} to tensor<?x8xbf16>
// CHECK-NOT: scf.for
// CHECK:     [[KT:%.+]] = linalg.transpose ins([[KC]] : tensor<?x16xbf16>) outs(%{{.+}} : tensor<16x?xbf16>) permutation = [1, 0]
// CHECK:     [[QK:%.+]] = linalg.matmul {gate.multiplicand_type = bf16} ins([[QC]], [[KT]] : tensor<?x16xbf16>, tensor<16x?xbf16>) outs(%{{.+}} : tensor<?x?xf32>)
// CHECK:     [[A:%.+]] = linalg.generic {indexing_maps = [#[[$ID2]]], iterator_types = ["parallel", "parallel"]} outs([[QK]] : tensor<?x?xf32>)
// CHECK:       [[II:%.+]] = linalg.index 0 : index
// CHECK:       [[JJ:%.+]] = linalg.index 1 : index
// CHECK:       [[DIST:%.+]] = arith.subi [[II]], [[JJ]] : index
// CHECK:       [[DIST_I64:%.+]] = arith.index_cast [[DIST]] : index to i64
// CHECK:       [[DIST_F32:%.+]] = arith.sitofp [[DIST_I64]] : i64 to f32
// CHECK:       [[EXPONENT:%.+]] = arith.mulf [[DIST_F32]], [[GATE]] : f32
// CHECK:       math.exp [[EXPONENT]] : f32
// CHECK:       arith.cmpi ule, [[JJ]], [[II]] : index
// CHECK:     [[QE:%.+]] = linalg.generic {{.*}} ins([[QC]] : tensor<?x16xbf16>) outs(%{{.+}} : tensor<?x16xf32>)
// CHECK:       arith.extf %{{.+}} : bf16 to f32
// CHECK:     [[INTRA:%.+]] = linalg.matmul {gate.multiplicand_type = bf16} ins([[A]], [[VC]] : tensor<?x?xf32>, tensor<?x8xbf16>) outs(%{{.+}} : tensor<?x8xf32>)
// CHECK:     [[O_C:%.+]] = linalg.matmul {gate.multiplicand_type = bf16} ins([[QE]], [[S]] : tensor<?x16xf32>, tensor<16x8xf32>) outs([[INTRA]] : tensor<?x8xf32>)
// CHECK:     linalg.generic {{.*}} ins([[O_C]] : tensor<?x8xf32>) outs(%{{.+}} : tensor<?x8xbf16>)
// CHECK:       arith.constant 2.500000e-01 : f32
// CHECK:       arith.truncf %{{.+}} : f32 to bf16
// CHECK:     [[KD:%.+]] = linalg.generic {{.*}} ins([[KC]] : tensor<?x16xbf16>) outs(%{{.+}} : tensor<?x16xf32>)
// CHECK:     linalg.matmul indexing_maps = [#[[$TRANS_A]], #[[$TRANS_B]], #[[$OUT_IJ]]] {gate.multiplicand_type = bf16} ins([[KD]], [[VC]] : tensor<?x16xf32>, tensor<?x8xbf16>)
// CHECK:   scf.forall.in_parallel
// CHECK-NEXT: tensor.parallel_insert_slice %{{.+}} into [[O_OUT]]
// CHECK-NEXT: }
// CHECK: return [[RES]] : tensor<?x?x?x8xbf16>
func.func @fixed_bf16_dynamic(%q: tensor<?x?x?x16xbf16>, %k: tensor<?x?x?x16xbf16>, %v: tensor<?x?x?x8xbf16>,
                              %g: tensor<?xf32>) -> tensor<?x?x?x8xbf16> {
  %o = gate.chunked_scan <fixed> %q, %k, %v decay(%g : tensor<?xf32>) {chunk_size = 32 : i64, scale = 0.25 : f32}
      : tensor<?x?x?x16xbf16>, tensor<?x?x?x16xbf16>, tensor<?x?x?x8xbf16> -> tensor<?x?x?x8xbf16>
  return %o : tensor<?x?x?x8xbf16>
}

// No decay (causal linear attention) over packed sequences: N = len(cu) - 1,
// sequence n spans tokens [cu[n], cu[n+1]) of batch entry 0, clamped so that
// no offsets can reach outside the T tokens (0 <= begin <= end <= T), o starts
// at zero (tokens past cu[N] belong to no sequence), and no exponential is
// emitted.
// CHECK-LABEL: func.func @none_packed(
// CHECK-SAME: [[Q:%[^:]+]]: tensor<1x?x4x16xf32>, [[K:%[^:]+]]: tensor<1x?x4x16xf32>, [[V:%[^:]+]]: tensor<1x?x4x8xf32>, [[S0:%[^:]+]]: tensor<?x4x16x8xf32>, [[CU:%[^:]+]]: tensor<?xi32>)
// CHECK-NOT: math.exp
// CHECK: [[T_DIM:%.+]] = tensor.dim [[Q]], %{{.+}} : tensor<1x?x4x16xf32>
// CHECK: [[CU_LEN:%.+]] = tensor.dim [[CU]], %{{.+}} : tensor<?xi32>
// CHECK: [[NUM_SEQ:%.+]] = affine.apply #{{.+}}(){{\[}}[[CU_LEN]]]
// CHECK: [[O_ZERO:%.+]] = linalg.fill ins(%{{.+}} : f32) outs(%{{.+}} : tensor<1x?x4x8xf32>)
// CHECK: [[S_INIT:%.+]] = tensor.empty([[NUM_SEQ]]) : tensor<?x4x16x8xf32>
// CHECK: scf.forall ([[N:%.+]], [[H:%.+]]) in ([[NUM_SEQ]], 4) shared_outs([[O_OUT:%.+]] = [[O_ZERO]], [[S_OUT:%.+]] = [[S_INIT]])
// CHECK-NOT: math.exp
// CHECK:   [[ZERO:%.+]] = arith.constant 0 : index
// CHECK:   [[CU_N:%.+]] = tensor.extract [[CU]]{{\[}}[[N]]] : tensor<?xi32>
// CHECK:   [[RAW_BEGIN:%.+]] = arith.index_cast [[CU_N]] : i32 to index
// CHECK:   [[BEGIN_LO:%.+]] = arith.maxsi [[RAW_BEGIN]], [[ZERO]] : index
// CHECK:   [[BEGIN:%.+]] = arith.minsi [[BEGIN_LO]], [[T_DIM]] : index
// CHECK:   [[N1:%.+]] = arith.addi [[N]], %{{.+}} : index
// CHECK:   [[CU_N1:%.+]] = tensor.extract [[CU]]{{\[}}[[N1]]] : tensor<?xi32>
// CHECK:   [[RAW_END:%.+]] = arith.index_cast [[CU_N1]] : i32 to index
// CHECK:   [[END_LO:%.+]] = arith.maxsi [[RAW_END]], [[BEGIN]] : index
// CHECK:   [[END:%.+]] = arith.minsi [[END_LO]], [[T_DIM]] : index
// CHECK:   [[LEN:%.+]] = arith.subi [[END]], [[BEGIN]] : index
// CHECK:   [[S_DEST:%.+]] = tensor.extract_slice [[S_OUT]]{{\[}}[[N]], [[H]], 0, 0] [1, 1, 16, 8]
// CHECK:   [[S0_NH:%.+]] = tensor.extract_slice [[S0]]{{\[}}[[N]], [[H]], 0, 0] [1, 1, 16, 8]
// CHECK:   [[S_START:%.+]] = linalg.copy ins([[S0_NH]] : tensor<16x8xf32>) outs([[S_DEST]] : tensor<16x8xf32>)
// CHECK:   [[O_SEQ:%.+]] = tensor.extract_slice [[O_OUT]][0, [[BEGIN]], [[H]], 0] [1, [[LEN]], 1, 8] [1, 1, 1, 1] : tensor<1x?x4x8xf32> to tensor<?x8xf32>
// CHECK:   [[LOOP:%.+]]:2 = scf.for [[T:%.+]] = %{{.+}} to [[LEN]] step %{{.+}} iter_args([[S:%.+]] = [[S_START]], %{{.+}} = [[O_SEQ]])
// CHECK:     [[L:%.+]] = affine.min #[[$LEN64]]([[LEN]], [[T]])
// CHECK:     [[START:%.+]] = affine.apply #{{.+}}([[BEGIN]], [[T]])
// CHECK:     [[QC:%.+]] = tensor.extract_slice [[Q]][0, [[START]], [[H]], 0] [1, [[L]], 1, 16]
// CHECK:     [[KC:%.+]] = tensor.extract_slice [[K]][0, [[START]], [[H]], 0] [1, [[L]], 1, 16]
// CHECK:     [[VC:%.+]] = tensor.extract_slice [[V]][0, [[START]], [[H]], 0] [1, [[L]], 1, 8]
// CHECK-NOT: math.exp
// CHECK:     [[KT:%.+]] = linalg.transpose ins([[KC]] :
// CHECK:     [[QK:%.+]] = linalg.matmul ins([[QC]], [[KT]] :
// CHECK:     [[A:%.+]] = linalg.generic {{.*}} outs([[QK]] : tensor<?x?xf32>)
// CHECK:       arith.cmpi ule
// CHECK:       arith.select
// CHECK:     [[INTRA:%.+]] = linalg.matmul ins([[A]], [[VC]] :
// CHECK:     linalg.matmul ins([[QC]], [[S]] : tensor<?x16xf32>, tensor<16x8xf32>) outs([[INTRA]] :
// CHECK-NOT: math.exp
// CHECK:     linalg.matmul indexing_maps = [#[[$TRANS_A]], #[[$TRANS_B]], #[[$OUT_IJ]]] ins([[KC]], [[VC]] : {{.*}}) outs([[S]] : tensor<16x8xf32>)
// CHECK-NOT: math.exp
// CHECK:   scf.forall.in_parallel
// CHECK:     tensor.parallel_insert_slice [[LOOP]]#1 into [[O_OUT]][0, [[BEGIN]], [[H]], 0] [1, [[LEN]], 1, 8]
// CHECK:     tensor.parallel_insert_slice [[LOOP]]#0 into [[S_OUT]]{{\[}}[[N]], [[H]], 0, 0] [1, 1, 16, 8]
func.func @none_packed(%q: tensor<1x?x4x16xf32>, %k: tensor<1x?x4x16xf32>, %v: tensor<1x?x4x8xf32>,
                       %s0: tensor<?x4x16x8xf32>, %cu: tensor<?xi32>)
    -> (tensor<1x?x4x8xf32>, tensor<?x4x16x8xf32>) {
  %o, %s = gate.chunked_scan <none> %q, %k, %v initial_state(%s0 : tensor<?x4x16x8xf32>)
      cu_seqlens(%cu : tensor<?xi32>)
      : tensor<1x?x4x16xf32>, tensor<1x?x4x16xf32>, tensor<1x?x4x8xf32>
      -> tensor<1x?x4x8xf32>, tensor<?x4x16x8xf32>
  return %o, %s : tensor<1x?x4x8xf32>, tensor<?x4x16x8xf32>
}

// cu_seqlens as i64 with static shapes: offsets are index_cast from i64, the
// forall runs over N = 3 sequences.
// CHECK-LABEL: func.func @scalar_packed_i64(
// CHECK: scf.forall ([[N:%.+]], [[H:%.+]]) in (3, 2)
// CHECK:   tensor.extract %{{.+}}{{\[}}[[N]]] : tensor<4xi64>
// CHECK:   arith.index_cast %{{.+}} : i64 to index
func.func @scalar_packed_i64(%q: tensor<1x9x2x4xf32>, %k: tensor<1x9x2x4xf32>, %v: tensor<1x9x2x4xf32>,
                             %g: tensor<1x9x2xf32>, %cu: tensor<4xi64>) -> tensor<1x9x2x4xf32> {
  %o = gate.chunked_scan <scalar> %q, %k, %v decay(%g : tensor<1x9x2xf32>) cu_seqlens(%cu : tensor<4xi64>)
      {chunk_size = 4 : i64} : tensor<1x9x2x4xf32>, tensor<1x9x2x4xf32>, tensor<1x9x2x4xf32> -> tensor<1x9x2x4xf32>
  return %o : tensor<1x9x2x4xf32>
}
