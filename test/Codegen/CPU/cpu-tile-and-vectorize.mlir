// RUN: gatec-opt %s --gatec-cpu-tile-and-vectorize | FileCheck %s \
// RUN:   --implicit-check-not=linalg.generic --implicit-check-not='scf.forall ('
// RUN: gatec-opt %s --gatec-cpu-tile-and-vectorize=vector-width=8 \
// RUN:   | FileCheck %s --check-prefix=W8
// RUN: gatec-opt %s --gatec-cpu-tile-and-vectorize \
// RUN:     --remarks-filter=gatec-cpu-tile-and-vectorize 2>&1 >/dev/null \
// RUN:   | FileCheck %s --check-prefix=REMARK

// Every linalg.generic here ends up as vector code (no linalg.generic is
// left), and each scf.forall in the output is one that a case expects.

#id = affine_map<(d0, d1) -> (d0, d1)>

// Thread level: an elementwise op over data in memory is tiled into an
// scf.forall over blocks of 8 whole rows (the last block shorter), so each
// operand is read as one contiguous stream. Its producer (x * x), used by
// nothing else, is fused into the block: it is computed row block by row
// block inside the forall and never exists as a whole tensor. Register
// level: both ops become 1 x 16 vector tiles (vector-width 16, AVX-512).
// The pass reports these decisions as remarks at each op's location.
// REMARK-DAG: cpu-tile-and-vectorize.mlir:[[#@LINE+35]]:10: remark: [Passed] ThreadTile | Category:gatec-cpu-tile-and-vectorize | Function=fused_producer | Remark="linalg.generic: thread tile [8, 0], 1 producer(s) fused"
// REMARK-DAG: cpu-tile-and-vectorize.mlir:[[#@LINE+28]]:9: remark: [Passed] RegisterTile | {{.*}} Function=fused_producer | Remark="linalg.generic: register tile [1, 16]"
// CHECK-LABEL: func.func @fused_producer(
// CHECK-SAME:  [[X:%[^:]+]]: tensor<?x64xf32>, [[Y:%[^:]+]]: tensor<?x64xf32>)
// CHECK:       [[N:%.+]] = tensor.dim [[X]], %c0
// CHECK:       [[EMPTY:%.+]] = tensor.empty([[N]])
// CHECK:       [[R:%.+]] = scf.forall ([[I:%.+]]) = (0) to ([[N]]) step (8) shared_outs([[OUT:%.+]] = [[EMPTY]])
// CHECK:         [[ROWS:%.+]] = affine.min #{{.+}}([[I]]){{\[}}[[N]]]
// CHECK:         [[XS:%.+]] = tensor.extract_slice [[X]][[[I]], 0] [[[ROWS]], 64] [1, 1]
// CHECK:         [[SQ:%.+]] = scf.for %{{.+}} = %c0 to [[ROWS]] step %c1
// CHECK:           scf.for %{{.+}} = %c0 to %c64 step %c16
// CHECK:             [[XT:%.+]] = tensor.extract_slice [[XS]][{{.+}}] [1, 16] [1, 1]
// CHECK:             [[XV:%.+]] = vector.transfer_read [[XT]]{{.*}} : tensor<1x16xf32>, vector<1x16xf32>
// CHECK:             arith.mulf [[XV]], [[XV]] : vector<1x16xf32>
// CHECK:         [[YS:%.+]] = tensor.extract_slice [[Y]][[[I]], 0] [[[ROWS]], 64] [1, 1]
// CHECK:         [[SUM:%.+]] = scf.for
// CHECK:           scf.for %{{.+}} = %c0 to %c64 step %c16
// CHECK:             [[ST:%.+]] = tensor.extract_slice [[SQ]][{{.+}}] [1, 16] [1, 1]
// CHECK:             [[YT:%.+]] = tensor.extract_slice [[YS]][{{.+}}] [1, 16] [1, 1]
// CHECK:             [[SV:%.+]] = vector.transfer_read [[ST]]
// CHECK:             [[YV:%.+]] = vector.transfer_read [[YT]]
// CHECK:             arith.addf [[SV]], [[YV]] : vector<1x16xf32>
// CHECK:         scf.forall.in_parallel
// CHECK:           tensor.parallel_insert_slice [[SUM]] into [[OUT]][[[I]], 0] [[[ROWS]], 64] [1, 1]
// CHECK:       return [[R]]
func.func @fused_producer(%x: tensor<?x64xf32>, %y: tensor<?x64xf32>) -> tensor<?x64xf32> {
  %c0 = arith.constant 0 : index
  %n = tensor.dim %x, %c0 : tensor<?x64xf32>
  %e = tensor.empty(%n) : tensor<?x64xf32>
  %sq = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x : tensor<?x64xf32>) outs(%e : tensor<?x64xf32>) {
  ^bb0(%in: f32, %out: f32):
    %m = arith.mulf %in, %in : f32
    linalg.yield %m : f32
  } -> tensor<?x64xf32>
  %sum = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%sq, %y : tensor<?x64xf32>, tensor<?x64xf32>) outs(%e : tensor<?x64xf32>) {
  ^bb0(%a: f32, %b: f32, %out: f32):
    %s = arith.addf %a, %b : f32
    linalg.yield %s : f32
  } -> tensor<?x64xf32>
  return %sum : tensor<?x64xf32>
}

// A producer whose result is also returned is not fused (the full tensor is
// needed anyway): it becomes a forall of its own, and the consumer's forall
// reads slices of its result.
// CHECK-LABEL: func.func @producer_with_other_use(
// CHECK:       [[SQ:%.+]] = scf.forall ({{.+}}) = (0) to ({{.+}}) step (8)
// CHECK:         arith.mulf {{.*}} : vector<1x16xf32>
// CHECK-NOT:     arith.addf
// CHECK:       [[SUM:%.+]] = scf.forall ([[I:%.+]]) = (0) to ({{.+}}) step (8)
// CHECK-NOT:     arith.mulf
// CHECK:         tensor.extract_slice [[SQ]][[[I]], 0]
// CHECK-NOT:     arith.mulf
// CHECK:         arith.addf {{.*}} : vector<1x16xf32>
// CHECK:       return [[SQ]], [[SUM]]
func.func @producer_with_other_use(%x: tensor<?x64xf32>, %y: tensor<?x64xf32>)
    -> (tensor<?x64xf32>, tensor<?x64xf32>) {
  %c0 = arith.constant 0 : index
  %n = tensor.dim %x, %c0 : tensor<?x64xf32>
  %e = tensor.empty(%n) : tensor<?x64xf32>
  %sq = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x : tensor<?x64xf32>) outs(%e : tensor<?x64xf32>) {
  ^bb0(%in: f32, %out: f32):
    %m = arith.mulf %in, %in : f32
    linalg.yield %m : f32
  } -> tensor<?x64xf32>
  %sum = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%sq, %y : tensor<?x64xf32>, tensor<?x64xf32>) outs(%e : tensor<?x64xf32>) {
  ^bb0(%a: f32, %b: f32, %out: f32):
    %s = arith.addf %a, %b : f32
    linalg.yield %s : f32
  } -> tensor<?x64xf32>
  return %sq, %sum : tensor<?x64xf32>, tensor<?x64xf32>
}

// Register level: a row of 40 is two full 1 x 16 vector tiles in a loop and
// one peeled 1 x 8 tile, all static, none masked. With vector-width=8 (AVX2)
// the row is five 1 x 8 tiles and nothing is left to peel.
// CHECK-LABEL: func.func @peeled_row(
// CHECK:       scf.forall ({{.+}}) = (0) to ({{.+}}) step (8)
// CHECK:         scf.for [[J:%.+]] = %c0 to %c32 step %c16
// CHECK:           [[A:%.+]] = vector.transfer_read {{.*}} {in_bounds = [true, true]} : tensor<1x16xf32>, vector<1x16xf32>
// CHECK:           [[B:%.+]] = vector.transfer_read {{.*}} {in_bounds = [true, true]} : tensor<1x16xf32>, vector<1x16xf32>
// CHECK:           [[M:%.+]] = arith.maximumf [[A]], [[B]] : vector<1x16xf32>
// CHECK:           vector.transfer_write [[M]], {{.*}} : vector<1x16xf32>, tensor<1x16xf32>
// CHECK:         tensor.extract_slice {{.+}}[{{.+}}, 32] [1, 8] [1, 1]
// CHECK:         [[A8:%.+]] = vector.transfer_read {{.*}} {in_bounds = [true, true]} : tensor<1x8xf32>, vector<1x8xf32>
// CHECK:         [[B8:%.+]] = vector.transfer_read {{.*}} {in_bounds = [true, true]} : tensor<1x8xf32>, vector<1x8xf32>
// CHECK:         arith.maximumf [[A8]], [[B8]] : vector<1x8xf32>
// CHECK-NOT:     vector.mask
// W8-LABEL:    func.func @peeled_row(
// W8:            scf.for %{{.+}} = %c0 to %c40 step %c8
// W8:              arith.maximumf {{.*}} : vector<1x8xf32>
// W8-NOT:          vector<1x16xf32>
// W8:            scf.forall.in_parallel
func.func @peeled_row(%x: tensor<?x40xf32>, %y: tensor<?x40xf32>) -> tensor<?x40xf32> {
  %c0 = arith.constant 0 : index
  %n = tensor.dim %x, %c0 : tensor<?x40xf32>
  %e = tensor.empty(%n) : tensor<?x40xf32>
  %m = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x, %y : tensor<?x40xf32>, tensor<?x40xf32>) outs(%e : tensor<?x40xf32>) {
  ^bb0(%a: f32, %b: f32, %out: f32):
    %s = arith.maximumf %a, %b : f32
    linalg.yield %s : f32
  } -> tensor<?x40xf32>
  return %m : tensor<?x40xf32>
}

// Register level: a short static row (a router token's 64 experts) is
// vectorized whole, its elementwise ops as well as its reductions, so that
// each value of the row is one vector<64xf32>. Cut into 1 x 16 tiles around
// a whole reduction of the same buffer, the row came back to LLVM as
// register-sized extracts of a row-sized value, which the x86 backend
// rebuilt lane by lane with scalar moves.
// CHECK-LABEL: func.func @short_row(
// CHECK:       scf.forall
// CHECK-NOT:     scf.for %
// CHECK:         [[ROW:%.+]] = vector.transfer_read {{.*}} : tensor<64xf32>, vector<64xf32>
// CHECK:         [[EXP:%.+]] = math.exp [[ROW]] : vector<64xf32>
// CHECK:         vector.multi_reduction <add>, [[EXP]], {{.*}} [0] : vector<64xf32> to f32
// CHECK:         [[P:%.+]] = arith.divf [[EXP]], {{.*}} : vector<64xf32>
// CHECK:         vector.transfer_write [[P]], {{.*}} : vector<64xf32>, tensor<64xf32>
// CHECK:         scf.forall.in_parallel
// W8-LABEL:    func.func @short_row(
// W8-NOT:        scf.for %
// W8:            math.exp {{.*}} : vector<64xf32>
// W8:            scf.forall.in_parallel
#row = affine_map<(d0) -> (d0)>
#all = affine_map<(d0) -> ()>
func.func @short_row(%logits: tensor<?x64xf32>, %out: tensor<?x64xf32>) -> tensor<?x64xf32> {
  %c0 = arith.constant 0 : index
  %n = tensor.dim %logits, %c0 : tensor<?x64xf32>
  %r = scf.forall (%t) in (%n) shared_outs(%o = %out) -> tensor<?x64xf32> {
    %row = tensor.extract_slice %logits[%t, 0] [1, 64] [1, 1] : tensor<?x64xf32> to tensor<64xf32>
    %e = tensor.empty() : tensor<64xf32>
    %exp = linalg.generic {indexing_maps = [#row, #row], iterator_types = ["parallel"]}
        ins(%row : tensor<64xf32>) outs(%e : tensor<64xf32>) {
    ^bb0(%a: f32, %b: f32):
      %x = math.exp %a : f32
      linalg.yield %x : f32
    } -> tensor<64xf32>
    %z = arith.constant 0.0 : f32
    %acc0 = tensor.empty() : tensor<f32>
    %acc = linalg.fill ins(%z : f32) outs(%acc0 : tensor<f32>) -> tensor<f32>
    %sum = linalg.generic {indexing_maps = [#row, #all], iterator_types = ["reduction"]}
        ins(%exp : tensor<64xf32>) outs(%acc : tensor<f32>) {
    ^bb0(%a: f32, %b: f32):
      %s = arith.addf %a, %b : f32
      linalg.yield %s : f32
    } -> tensor<f32>
    %s = tensor.extract %sum[] : tensor<f32>
    %e2 = tensor.empty() : tensor<64xf32>
    %p = linalg.generic {indexing_maps = [#row, #row], iterator_types = ["parallel"]}
        ins(%exp : tensor<64xf32>) outs(%e2 : tensor<64xf32>) {
    ^bb0(%a: f32, %b: f32):
      %q = arith.divf %a, %s : f32
      linalg.yield %q : f32
    } -> tensor<64xf32>
    scf.forall.in_parallel {
      tensor.parallel_insert_slice %p into %o[%t, 0] [1, 64] [1, 1] : tensor<64xf32> into tensor<?x64xf32>
    }
  }
  return %r : tensor<?x64xf32>
}
