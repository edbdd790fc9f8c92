// RUN: gatec-opt %s --gatec-fuse-elementwise | FileCheck %s

// A projection reshaped for its elementwise consumer stays a 2-D matmul: the
// reshape is not folded into it (that would make a rank-5 contraction).
// Instead the consumer is collapsed to the matmul's [rows, 32] shape (its
// other operand viewed collapsed), so a GEMM can take it as its epilogue,
// and its result is expanded back.
// CHECK-LABEL: func.func @reshaped_projection(
// CHECK-SAME:      %[[O:[^:]+]]: tensor<?x?x4x8xf32>
// CHECK:         %[[MM:.+]] = linalg.matmul ins(%{{.*}}, %{{.*}} : tensor<?x64xf32>, tensor<64x32xf32>)
// CHECK:         %[[O2:.+]] = tensor.collapse_shape %[[O]] {{\[}}[0, 1], [2, 3]] : tensor<?x?x4x8xf32> into tensor<?x32xf32>
// CHECK:         %[[Y:.+]] = linalg.generic {{.*}}iterator_types = ["parallel", "parallel"]{{.*}} ins(%[[O2]], %[[MM]] : tensor<?x32xf32>, tensor<?x32xf32>)
// CHECK:           arith.negf
// CHECK:           math.exp
// CHECK:         %[[E:.+]] = tensor.expand_shape %[[Y]] {{\[}}[0, 1], [2, 3]]
// CHECK-NOT:     linalg.generic
// CHECK:         return %[[E]]
func.func @reshaped_projection(%o: tensor<?x?x4x8xf32>, %x: tensor<?x64xf32>,
                               %w: tensor<64x32xf32>, %b: index, %t: index)
    -> tensor<?x?x4x8xf32> {
  %c0 = arith.constant 0 : index
  %zero = arith.constant 0.0 : f32
  %rows = tensor.dim %x, %c0 : tensor<?x64xf32>
  %empty = tensor.empty(%rows) : tensor<?x32xf32>
  %acc = linalg.fill ins(%zero : f32) outs(%empty : tensor<?x32xf32>) -> tensor<?x32xf32>
  %mm = linalg.matmul ins(%x, %w : tensor<?x64xf32>, tensor<64x32xf32>)
                      outs(%acc : tensor<?x32xf32>) -> tensor<?x32xf32>
  %g = tensor.expand_shape %mm [[0, 1], [2, 3]] output_shape [%b, %t, 4, 8]
      : tensor<?x32xf32> into tensor<?x?x4x8xf32>
  %init = tensor.empty(%b, %t) : tensor<?x?x4x8xf32>
  // Two elementwise ops: negate, then exp * o; they fuse into one.
  %neg = linalg.generic {
      indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>,
                       affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>],
      iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%g : tensor<?x?x4x8xf32>) outs(%init : tensor<?x?x4x8xf32>) {
  ^bb0(%a: f32, %out: f32):
    %n = arith.negf %a : f32
    linalg.yield %n : f32
  } -> tensor<?x?x4x8xf32>
  %y = linalg.generic {
      indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>,
                       affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>,
                       affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>],
      iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%o, %neg : tensor<?x?x4x8xf32>, tensor<?x?x4x8xf32>)
      outs(%init : tensor<?x?x4x8xf32>) {
  ^bb0(%a: f32, %n: f32, %out: f32):
    %e = math.exp %n : f32
    %p = arith.mulf %a, %e : f32
    linalg.yield %p : f32
  } -> tensor<?x?x4x8xf32>
  return %y : tensor<?x?x4x8xf32>
}

// cast(x, f32) @ cast(w, f32): the matmul reads the bf16 operands and widens
// them itself (exact), so neither f32 copy is made.
// CHECK-LABEL: func.func @widened_operands(
// CHECK-SAME:      %[[X:.+]]: tensor<?x64xbf16>, %[[W:.+]]: tensor<64x32xbf16>
// CHECK-NOT:     arith.extf
// CHECK:         linalg.matmul ins(%[[X]], %[[W]] : tensor<?x64xbf16>, tensor<64x32xbf16>) outs(%{{.*}} : tensor<?x32xf32>)
// CHECK-NOT:     linalg.generic
#id = affine_map<(d0, d1) -> (d0, d1)>
func.func @widened_operands(%x: tensor<?x64xbf16>, %w: tensor<64x32xbf16>)
    -> tensor<?x32xf32> {
  %c0 = arith.constant 0 : index
  %zero = arith.constant 0.0 : f32
  %rows = tensor.dim %x, %c0 : tensor<?x64xbf16>
  %xe = tensor.empty(%rows) : tensor<?x64xf32>
  %xf = linalg.generic {indexing_maps = [#id, #id],
                        iterator_types = ["parallel", "parallel"]}
      ins(%x : tensor<?x64xbf16>) outs(%xe : tensor<?x64xf32>) {
  ^bb0(%a: bf16, %out: f32):
    %e = arith.extf %a : bf16 to f32
    linalg.yield %e : f32
  } -> tensor<?x64xf32>
  %we = tensor.empty() : tensor<64x32xf32>
  %wf = linalg.generic {indexing_maps = [#id, #id],
                        iterator_types = ["parallel", "parallel"]}
      ins(%w : tensor<64x32xbf16>) outs(%we : tensor<64x32xf32>) {
  ^bb0(%a: bf16, %out: f32):
    %e = arith.extf %a : bf16 to f32
    linalg.yield %e : f32
  } -> tensor<64x32xf32>
  %empty = tensor.empty(%rows) : tensor<?x32xf32>
  %acc = linalg.fill ins(%zero : f32) outs(%empty : tensor<?x32xf32>) -> tensor<?x32xf32>
  %mm = linalg.matmul ins(%xf, %wf : tensor<?x64xf32>, tensor<64x32xf32>)
                      outs(%acc : tensor<?x32xf32>) -> tensor<?x32xf32>
  return %mm : tensor<?x32xf32>
}

// Only one side is a widening of a 16-bit value: the matmul stays f32 x f32
// (mixed operand types would reach neither tensor cores nor the bf16 dot).
// CHECK-LABEL: func.func @one_widened_operand(
// CHECK:         arith.extf
// CHECK:         linalg.matmul ins(%{{.*}}, %{{.*}} : tensor<?x64xf32>, tensor<64x32xf32>)
func.func @one_widened_operand(%x: tensor<?x64xbf16>, %w: tensor<64x32xf32>)
    -> tensor<?x32xf32> {
  %c0 = arith.constant 0 : index
  %zero = arith.constant 0.0 : f32
  %rows = tensor.dim %x, %c0 : tensor<?x64xbf16>
  %xe = tensor.empty(%rows) : tensor<?x64xf32>
  %xf = linalg.generic {indexing_maps = [#id, #id],
                        iterator_types = ["parallel", "parallel"]}
      ins(%x : tensor<?x64xbf16>) outs(%xe : tensor<?x64xf32>) {
  ^bb0(%a: bf16, %out: f32):
    %e = arith.extf %a : bf16 to f32
    linalg.yield %e : f32
  } -> tensor<?x64xf32>
  %empty = tensor.empty(%rows) : tensor<?x32xf32>
  %acc = linalg.fill ins(%zero : f32) outs(%empty : tensor<?x32xf32>) -> tensor<?x32xf32>
  %mm = linalg.matmul ins(%xf, %w : tensor<?x64xf32>, tensor<64x32xf32>)
                      outs(%acc : tensor<?x32xf32>) -> tensor<?x32xf32>
  return %mm : tensor<?x32xf32>
}

// The collapsed consumer's result goes to the caller's buffer through a
// collapsed view of it, not through a copy: the expand_shape moves from the
// value to the destination, and the consumer's empty init folds to 2-D.
// CHECK-LABEL: func.func @materialized_in_caller_buffer(
// CHECK-SAME:      %[[OUT:[^:]+]]: memref<?x?x32xbf16>
// CHECK:         %[[MM:.+]] = linalg.matmul
// CHECK:         %[[Y:.+]] = linalg.generic {{.*}} ins(%[[MM]] : tensor<?x32xf32>) outs(%{{.+}} : tensor<?x32xbf16>)
// CHECK:         %[[VIEW:.+]] = memref.collapse_shape %[[OUT]] {{\[}}[0, 1], [2]] : memref<?x?x32xbf16> into memref<?x32xbf16>
// CHECK:         bufferization.materialize_in_destination %[[Y]] in restrict writable %[[VIEW]]
func.func @materialized_in_caller_buffer(%x: tensor<?x64xbf16>, %w: tensor<64x32xbf16>,
                                         %b: index, %t: index, %out: memref<?x?x32xbf16>) {
  %c0 = arith.constant 0 : index
  %zero = arith.constant 0.0 : f32
  %rows = tensor.dim %x, %c0 : tensor<?x64xbf16>
  %empty = tensor.empty(%rows) : tensor<?x32xf32>
  %acc = linalg.fill ins(%zero : f32) outs(%empty : tensor<?x32xf32>) -> tensor<?x32xf32>
  %mm = linalg.matmul ins(%x, %w : tensor<?x64xbf16>, tensor<64x32xbf16>)
                      outs(%acc : tensor<?x32xf32>) -> tensor<?x32xf32>
  %g = tensor.expand_shape %mm [[0, 1], [2]] output_shape [%b, %t, 32]
      : tensor<?x32xf32> into tensor<?x?x32xf32>
  %init = tensor.empty(%b, %t) : tensor<?x?x32xbf16>
  %y = linalg.generic {
      indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d1, d2)>,
                       affine_map<(d0, d1, d2) -> (d0, d1, d2)>],
      iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%g : tensor<?x?x32xf32>) outs(%init : tensor<?x?x32xbf16>) {
  ^bb0(%a: f32, %o: bf16):
    %r = arith.truncf %a : f32 to bf16
    linalg.yield %r : bf16
  } -> tensor<?x?x32xbf16>
  bufferization.materialize_in_destination %y in restrict writable %out
      : (tensor<?x?x32xbf16>, memref<?x?x32xbf16>) -> ()
  return
}
