// RUN: gatec-opt %s --gatec-fuse-elementwise | FileCheck %s

// A projection reshaped for its elementwise consumer stays a 2-D matmul: the
// reshape is not folded into it (that would make a rank-5 contraction).
// CHECK-LABEL: func.func @reshaped_projection(
// CHECK:         %[[MM:.+]] = linalg.matmul ins(%{{.*}}, %{{.*}} : tensor<?x64xf32>, tensor<64x32xf32>)
// CHECK:         %[[G:.+]] = tensor.expand_shape %[[MM]] {{\[}}[0, 1], [2, 3]]
// CHECK:         linalg.generic {{.*}} ins(%{{.*}}, %[[G]] : tensor<?x?x4x8xf32>, tensor<?x?x4x8xf32>)
// CHECK:           arith.negf
// CHECK:           math.exp
// CHECK-NOT:     linalg.generic
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
