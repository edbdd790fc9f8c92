// RUN: gatec-opt %s --gatec-round-multiplicands | FileCheck %s

// f32 operands of a marked contraction are rounded to bf16 and widened back;
// bf16 operands are used as they are; the mark is dropped.
// CHECK-LABEL: func.func @rounded
// CHECK-SAME:    %[[A:.*]]: tensor<?x64xf32>, %[[V:.*]]: tensor<64x32xbf16>
// CHECK:         %[[R:.*]] = linalg.generic {{.*}} ins(%[[A]] : tensor<?x64xf32>)
// CHECK:           %[[T:.*]] = arith.truncf %{{.*}} : f32 to bf16
// CHECK:           %[[E:.*]] = arith.extf %[[T]] : bf16 to f32
// CHECK:           linalg.yield %[[E]] : f32
// CHECK:         linalg.matmul ins(%[[R]], %[[V]] : tensor<?x64xf32>, tensor<64x32xbf16>)
// CHECK-NOT:     gate.multiplicand_type
func.func @rounded(%a: tensor<?x64xf32>, %v: tensor<64x32xbf16>,
                   %c: tensor<?x32xf32>) -> tensor<?x32xf32> {
  %r = linalg.matmul {gate.multiplicand_type = bf16}
      ins(%a, %v : tensor<?x64xf32>, tensor<64x32xbf16>)
      outs(%c : tensor<?x32xf32>) -> tensor<?x32xf32>
  return %r : tensor<?x32xf32>
}

// Split: hi + lo, lo being the rounded remainder x - hi.
// CHECK-LABEL: func.func @split
// CHECK:         linalg.generic
// CHECK:           %[[HT:.*]] = arith.truncf %[[X:.*]] : f32 to bf16
// CHECK:           %[[HI:.*]] = arith.extf %[[HT]] : bf16 to f32
// CHECK:           %[[REST:.*]] = arith.subf %[[X]], %[[HI]] : f32
// CHECK:           %[[LT:.*]] = arith.truncf %[[REST]] : f32 to bf16
// CHECK:           %[[LO:.*]] = arith.extf %[[LT]] : bf16 to f32
// CHECK:           %[[SUM:.*]] = arith.addf %[[HI]], %[[LO]] : f32
// CHECK:           linalg.yield %[[SUM]] : f32
// CHECK:         linalg.matmul ins
// CHECK-NOT:     gate.split_multiplicands
func.func @split(%a: tensor<?x64xf32>, %v: tensor<64x32xbf16>,
                 %c: tensor<?x32xf32>) -> tensor<?x32xf32> {
  %r = linalg.matmul {gate.multiplicand_type = bf16, gate.split_multiplicands}
      ins(%a, %v : tensor<?x64xf32>, tensor<64x32xbf16>)
      outs(%c : tensor<?x32xf32>) -> tensor<?x32xf32>
  return %r : tensor<?x32xf32>
}

// Unmarked contractions keep their f32 operands.
// CHECK-LABEL: func.func @unmarked
// CHECK-NOT:     arith.truncf
// CHECK:         linalg.matmul
func.func @unmarked(%a: tensor<?x64xf32>, %v: tensor<64x32xf32>,
                    %c: tensor<?x32xf32>) -> tensor<?x32xf32> {
  %r = linalg.matmul ins(%a, %v : tensor<?x64xf32>, tensor<64x32xf32>)
      outs(%c : tensor<?x32xf32>) -> tensor<?x32xf32>
  return %r : tensor<?x32xf32>
}
