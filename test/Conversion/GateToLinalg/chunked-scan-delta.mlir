// RUN: gatec-opt %s --convert-gate-to-linalg | FileCheck %s

// The delta rule with grouped value heads, decoding against a state pool.
// - pairs run over (sequence, value head); q and k are read at head h / 2;
// - each pair's row of the pool is slots[n] when in [0, P), else it reads
//   and writes no row (a zero-size slice) and runs no chunk;
// - per chunk, the keys' scores strictly below the diagonal times beta, the
//   inverse of (I + A) by forward substitution from row 1, and U = T (beta
//   v) - (T (beta exp(b) k)) S as three matmuls before the usual chunk form;
// - the updated pool is the pool itself as a shared output, written back at
//   the pair's row.
// The numbers are checked against the reference in
// test/Reliability/delta-accuracy*.test and the difftests.

// CHECK-DAG: #[[$KEY_HEAD:.+]] = affine_map<(d0) -> (d0 floordiv 2)>
// CHECK-LABEL: func.func @delta_grouped_pool(
// CHECK-SAME: [[Q:%[^:]+]]: tensor<?x1x2x16xf32>, [[V:%[^:]+]]: tensor<?x1x4x8xf32>, [[G:%[^:]+]]: tensor<?x1x4xf32>, [[BETA:%[^:]+]]: tensor<?x1x4xbf16>, [[POOL:%[^:]+]]: tensor<?x4x16x8xf32>, [[SLOTS:%[^:]+]]: tensor<?xi64>)
// CHECK: [[O_INIT:%.+]] = linalg.fill
// CHECK: scf.forall ([[N:%.+]], [[H:%.+]]) in (%{{.+}}, 4) shared_outs([[O_OUT:%.+]] = [[O_INIT]], [[POOL_OUT:%.+]] = [[POOL]])
// CHECK:   [[KH:%.+]] = affine.apply #[[$KEY_HEAD]]([[H]])
// CHECK:   [[SLOT_RAW:%.+]] = tensor.extract [[SLOTS]]{{\[}}[[N]]] : tensor<?xi64>
// CHECK:   [[SLOT:%.+]] = arith.index_cast [[SLOT_RAW]] : i64 to index
// CHECK:   [[P:%.+]] = tensor.dim [[POOL]]
// CHECK:   [[GE0:%.+]] = arith.cmpi sge, [[SLOT]]
// CHECK:   [[LTP:%.+]] = arith.cmpi slt, [[SLOT]], [[P]]
// CHECK:   [[VALID:%.+]] = arith.andi [[GE0]], [[LTP]]
// CHECK:   [[ROW:%.+]] = arith.select [[VALID]], [[SLOT]]
// CHECK:   [[ROWS:%.+]] = arith.select [[VALID]], %c1
// CHECK:   [[LEN:%.+]] = arith.select [[VALID]]
// CHECK:   [[READ:%.+]] = tensor.extract_slice [[POOL_OUT]]{{\[}}[[ROW]], [[H]], 0, 0] {{\[}}[[ROWS]], 1, 16, 8]
// CHECK:   scf.for %{{.+}} = %{{.+}} to [[LEN]] step %c16
// CHECK:     tensor.extract_slice [[Q]][[[N]], %{{.+}}, [[KH]], 0]
// CHECK:     tensor.extract_slice [[V]][[[N]], %{{.+}}, [[H]], 0]
// CHECK:     tensor.extract_slice [[BETA]][[[N]], %{{.+}}, [[H]]]
// CHECK:     arith.cmpi ult
// CHECK:     arith.extf %{{.+}} : bf16 to f32
// CHECK:     [[INVERSE:%.+]] = scf.for %{{.+}} = %c1
// CHECK:       linalg.generic {{.*}}iterator_types = ["reduction", "parallel"]
// CHECK:       arith.subf
// CHECK:     [[NEG_W:%.+]] = linalg.matmul ins([[INVERSE]], %{{.+}} : tensor<?x?xf32>, tensor<?x16xf32>)
// CHECK:     [[TV:%.+]] = linalg.matmul ins([[INVERSE]], %{{.+}} : tensor<?x?xf32>, tensor<?x8xf32>)
// CHECK:     [[U:%.+]] = linalg.matmul ins([[NEG_W]], %{{.+}} : tensor<?x16xf32>, tensor<16x8xf32>) outs([[TV]] : tensor<?x8xf32>)
// CHECK:     linalg.matmul ins(%{{.+}}, [[U]] : tensor<?x?xf32>, tensor<?x8xf32>)
// CHECK:   scf.forall.in_parallel
// CHECK:     tensor.parallel_insert_slice %{{.+}} into [[O_OUT]]
// CHECK:     tensor.parallel_insert_slice %{{.+}} into [[POOL_OUT]]{{\[}}[[ROW]], [[H]], 0, 0] {{\[}}[[ROWS]], 1, 16, 8]
func.func @delta_grouped_pool(%q: tensor<?x1x2x16xf32>, %v: tensor<?x1x4x8xf32>, %g: tensor<?x1x4xf32>,
                              %beta: tensor<?x1x4xbf16>, %pool: tensor<?x4x16x8xf32>, %slots: tensor<?xi64>)
    -> (tensor<?x1x4x8xf32>, tensor<?x4x16x8xf32>) {
  %o, %p = gate.chunked_scan <scalar> %q, %q, %v decay(%g : tensor<?x1x4xf32>) delta(%beta : tensor<?x1x4xbf16>)
      initial_state(%pool : tensor<?x4x16x8xf32>) slots(%slots : tensor<?xi64>) {chunk_size = 16 : i64}
      : tensor<?x1x2x16xf32>, tensor<?x1x2x16xf32>, tensor<?x1x4x8xf32> -> tensor<?x1x4x8xf32>, tensor<?x4x16x8xf32>
  return %o, %p : tensor<?x1x4x8xf32>, tensor<?x4x16x8xf32>
}

// A bf16 pool with the state after every token (chunk_size 1):
// - the pair's pool row (no rows for a skipped slot) is read in bf16 and
//   widened to f32 once, before the chunk loop; the state evolves in f32 and
//   its row is rounded to bf16 once, after it, then written back;
// - the history is a third shared output, zero-filled (a skipped slot's
//   rows stay 0); the chunk loop carries the pair's rows of it and inserts
//   each chunk's state at row t / 1.
// CHECK-LABEL: func.func @bf16_pool_history(
// CHECK-SAME: [[POOL:%[^:]+]]: tensor<?x4x16x8xbf16>, [[SLOTS:%[^:]+]]: tensor<?xi32>)
// CHECK: [[H_INIT:%.+]] = linalg.fill ins(%{{.+}} : f32) outs(%{{.+}} : tensor<?x?x4x16x8xf32>)
// CHECK: scf.forall ([[N:%.+]], [[H:%.+]]) in (%{{.+}}, 4) shared_outs([[O_OUT:%.+]] = %{{.+}}, [[POOL_OUT:%.+]] = [[POOL]], [[H_OUT:%.+]] = [[H_INIT]])
// CHECK:   [[ROW:%.+]] = tensor.extract_slice [[POOL_OUT]]{{.*}} to tensor<?x1x16x8xbf16>
// CHECK:   [[WIDE:%.+]] = linalg.generic {{.*}} ins([[ROW]] : tensor<?x1x16x8xbf16>) outs(%{{.+}} : tensor<?x1x16x8xf32>)
// CHECK:     arith.extf %{{.+}} : bf16 to f32
// CHECK:   [[S0:%.+]] = tensor.insert_slice [[WIDE]]
// CHECK:   [[S0_2D:%.+]] = tensor.collapse_shape [[S0]]
// CHECK:   [[ROWS:%.+]] = tensor.extract_slice [[H_OUT]][[[N]], 0, [[H]], 0, 0] [1, %{{.+}}, 1, 16, 8]
// CHECK:   [[LOOP:%.+]]:3 = scf.for [[T:%.+]] = %{{.+}} to %{{.+}} step %{{.+}} iter_args([[S:%.+]] = [[S0_2D]], %{{.+}} = %{{.+}}, [[HIST:%.+]] = [[ROWS]])
// CHECK:     [[HROWS:%.+]] = tensor.insert_slice [[NEXT:%.+]] into [[HIST]][[[T]], 0, 0] [1, 16, 8]
// CHECK:     scf.yield [[NEXT]], %{{.+}}, [[HROWS]]
// CHECK:   [[ROUNDED:%.+]] = linalg.generic {{.*}} ins(%{{.+}} : tensor<?x1x16x8xf32>) outs(%{{.+}} : tensor<?x1x16x8xbf16>)
// CHECK:     arith.truncf %{{.+}} : f32 to bf16
// CHECK:   scf.forall.in_parallel
// CHECK:     tensor.parallel_insert_slice %{{.+}} into [[O_OUT]]
// CHECK:     tensor.parallel_insert_slice [[ROUNDED]] into [[POOL_OUT]]
// CHECK:     tensor.parallel_insert_slice [[LOOP]]#2 into [[H_OUT]][[[N]], 0, [[H]], 0, 0] [1, %{{.+}}, 1, 16, 8]
func.func @bf16_pool_history(%q: tensor<?x?x2x16xbf16>, %v: tensor<?x?x4x8xbf16>, %g: tensor<?x?x4xf32>,
                             %beta: tensor<?x?x4xf32>, %pool: tensor<?x4x16x8xbf16>, %slots: tensor<?xi32>)
    -> (tensor<?x?x4x8xbf16>, tensor<?x4x16x8xbf16>, tensor<?x?x4x16x8xf32>) {
  %o, %p, %h = gate.chunked_scan <scalar> %q, %q, %v decay(%g : tensor<?x?x4xf32>) delta(%beta : tensor<?x?x4xf32>)
      initial_state(%pool : tensor<?x4x16x8xbf16>) slots(%slots : tensor<?xi32>) {chunk_size = 1 : i64}
      : tensor<?x?x2x16xbf16>, tensor<?x?x2x16xbf16>, tensor<?x?x4x8xbf16>
      -> tensor<?x?x4x8xbf16>, tensor<?x4x16x8xbf16> chunk_states tensor<?x?x4x16x8xf32>
  return %o, %p, %h : tensor<?x?x4x8xbf16>, tensor<?x4x16x8xbf16>, tensor<?x?x4x16x8xf32>
}
