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
