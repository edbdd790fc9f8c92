// RUN: gatec-opt %s --pass-pipeline='builtin.module(func.func(gatec-cpu-tile-and-vectorize{bf16-dot=true}))' | FileCheck %s
// RUN: gatec-opt %s --pass-pipeline='builtin.module(func.func(gatec-cpu-tile-and-vectorize))' | FileCheck %s --check-prefix=WIDEN
// RUN: gatec-opt %s --pass-pipeline='builtin.module(func.func(gatec-cpu-tile-and-vectorize{bf16-dot=true}))' --remarks-filter=gatec-cpu-tile-and-vectorize 2>&1 >/dev/null | FileCheck %s --check-prefix=REMARK

// The dot-product tile replaces the matmul; the remark reporting it still
// names the matmul's location and function.
// REMARK: cpu-tile-and-vectorize-bf16-dot.mlir:[[#]]:8: remark: [Passed] BF16Dot | Category:gatec-cpu-tile-and-vectorize | Function=bf16_matmul | Remark="linalg.matmul: avx512_bf16 dot-product tile"

// With bf16-dot, a bf16 matmul's register tiles take k in pairs: both rows
// of B's tile are interleaved into (B[0, n], B[1, n]) pairs, each row's
// (A[m, 0], A[m, 1]) is broadcast as one 32-bit lane, and one vdpbf16ps per
// row and 16 columns accumulates in f32. K = 67 is odd: its last k is peeled
// and takes the widening path (a vector.contract).
// CHECK-LABEL: func.func @bf16_matmul(
// CHECK:         scf.for {{.*}} step %c2
// CHECK:           %[[A:.+]] = vector.transfer_read {{.*}} : tensor<8x2xbf16>, vector<8x2xbf16>
// CHECK:           %[[B:.+]] = vector.transfer_read {{.*}} : tensor<2x32xbf16>, vector<2x32xbf16>
// CHECK:           %[[C:.+]] = vector.transfer_read {{.*}} : tensor<8x32xf32>, vector<8x32xf32>
// CHECK:           %[[B0:.+]] = vector.extract %[[B]][0] : vector<32xbf16> from vector<2x32xbf16>
// CHECK:           %[[B1:.+]] = vector.extract %[[B]][1] : vector<32xbf16> from vector<2x32xbf16>
// CHECK:           %[[LO0:.+]] = vector.extract_strided_slice %[[B0]] {offsets = [0], sizes = [16], strides = [1]}
// CHECK:           %[[LO1:.+]] = vector.extract_strided_slice %[[B1]] {offsets = [0], sizes = [16], strides = [1]}
// CHECK:           %[[PAIRS_LO:.+]] = vector.interleave %[[LO0]], %[[LO1]] : vector<16xbf16> -> vector<32xbf16>
// CHECK:           %[[PAIRS_HI:.+]] = vector.interleave
// CHECK:           %[[A0:.+]] = vector.extract %[[A]][0] : vector<2xbf16> from vector<8x2xbf16>
// CHECK:           %[[A0_BITS:.+]] = vector.bitcast %[[A0]] : vector<2xbf16> to vector<1xi32>
// CHECK:           %[[A0_LANE:.+]] = vector.extract %[[A0_BITS]][0] : i32 from vector<1xi32>
// CHECK:           %[[A0_ALL:.+]] = vector.broadcast %[[A0_LANE]] : i32 to vector<16xi32>
// CHECK:           %[[A0_PAIR:.+]] = vector.bitcast %[[A0_ALL]] : vector<16xi32> to vector<32xbf16>
// CHECK:           x86vector.avx512.dot %{{.+}}, %[[A0_PAIR]], %[[PAIRS_LO]] : vector<32xbf16> -> vector<16xf32>
// CHECK:           x86vector.avx512.dot %{{.+}}, %[[A0_PAIR]], %[[PAIRS_HI]] : vector<32xbf16> -> vector<16xf32>
// CHECK-COUNT-14:  x86vector.avx512.dot
// CHECK:           vector.transfer_write {{.*}} : vector<8x32xf32>, tensor<8x32xf32>
// The peeled last k (K odd) widens.
// CHECK:         vector.contract
// CHECK-NOT:     x86vector.avx512.dot

// Without the option (no avx512_bf16), the same tile widens bf16 to f32.
// WIDEN-LABEL: func.func @bf16_matmul(
// WIDEN-NOT:   x86vector.avx512.dot
// WIDEN:       vector.contract
func.func @bf16_matmul(%a: tensor<64x67xbf16>, %b: tensor<67x32xbf16>) -> tensor<64x32xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<64x32xf32>
  %c = linalg.fill ins(%zero : f32) outs(%e : tensor<64x32xf32>) -> tensor<64x32xf32>
  %r = linalg.matmul ins(%a, %b : tensor<64x67xbf16>, tensor<67x32xbf16>) outs(%c : tensor<64x32xf32>) -> tensor<64x32xf32>
  return %r : tensor<64x32xf32>
}

// f32 matmuls are untouched by the option.
// CHECK-LABEL: func.func @f32_matmul(
// CHECK-NOT:     x86vector
// CHECK:         vector.contract
func.func @f32_matmul(%a: tensor<64x64xf32>, %b: tensor<64x32xf32>) -> tensor<64x32xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<64x32xf32>
  %c = linalg.fill ins(%zero : f32) outs(%e : tensor<64x32xf32>) -> tensor<64x32xf32>
  %r = linalg.matmul ins(%a, %b : tensor<64x64xf32>, tensor<64x32xf32>) outs(%c : tensor<64x32xf32>) -> tensor<64x32xf32>
  return %r : tensor<64x32xf32>
}
