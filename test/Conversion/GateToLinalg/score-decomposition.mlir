// RUN: gatec-opt %s --convert-gate-to-linalg | FileCheck %s --check-prefix=DEFAULT
// RUN: gatec-opt %s --convert-gate-to-linalg="score-sub-chunk=16 transpose-score-keys=false" | FileCheck %s --check-prefix=CHOSEN
// RUN: not gatec-opt %s --convert-gate-to-linalg="score-sub-chunk=0" 2>&1 | FileCheck %s --check-prefix=ZERO

// How a scan's scores are decomposed is the pipeline's choice, not the
// conversion's: the sub-chunk of a vector decay's secondary chunking, and
// whether q k^T reads a transposed copy of the keys.

// CHOSEN-DAG: #[[$KEYS_T:.+]] = affine_map<(d0, d1, d2) -> (d1, d2)>

// Vector decay: the score loop steps over sub-chunks of 8 (default) or 16.
// DEFAULT-LABEL: func.func @vector(
// DEFAULT: scf.for %{{.+}} = %{{.+}} to %{{.+}} step %c8{{.*}} iter_args
// CHOSEN-LABEL: func.func @vector(
// CHOSEN: scf.for %{{.+}} = %{{.+}} to %{{.+}} step %c16{{.*}} iter_args
func.func @vector(%q: tensor<1x40x2x16xf32>, %v: tensor<1x40x2x8xf32>, %g: tensor<1x40x2x16xf32>) -> tensor<1x40x2x8xf32> {
  %o = gate.chunked_scan <vector> %q, %q, %v decay(%g : tensor<1x40x2x16xf32>) {chunk_size = 32 : i64}
      : tensor<1x40x2x16xf32>, tensor<1x40x2x16xf32>, tensor<1x40x2x8xf32> -> tensor<1x40x2x8xf32>
  return %o : tensor<1x40x2x8xf32>
}

// Scalar decay: q k^T against a transposed copy of the chunk's keys
// (default), or as a matmul reading the keys transposed in place
// (linalg.matmul_transpose_b, printed with its indexing maps).
// DEFAULT-LABEL: func.func @scalar(
// DEFAULT: [[KT:%.+]] = linalg.transpose ins(%{{.+}} : tensor<?x16xf32>) outs(%{{.+}} : tensor<16x?xf32>) permutation = [1, 0]
// DEFAULT: linalg.matmul ins(%{{.+}}, [[KT]] : tensor<?x16xf32>, tensor<16x?xf32>)
// CHOSEN-LABEL: func.func @scalar(
// CHOSEN-NOT: linalg.transpose
// CHOSEN: linalg.matmul indexing_maps = [#{{.+}}, #[[$KEYS_T]], #{{.+}}] ins(%{{.+}}, %{{.+}} : tensor<?x16xf32>, tensor<?x16xf32>)
// CHOSEN-NOT: linalg.transpose
// CHOSEN: return
func.func @scalar(%q: tensor<1x40x2x16xf32>, %v: tensor<1x40x2x8xf32>, %g: tensor<1x40x2xf32>) -> tensor<1x40x2x8xf32> {
  %o = gate.chunked_scan <scalar> %q, %q, %v decay(%g : tensor<1x40x2xf32>) {chunk_size = 32 : i64}
      : tensor<1x40x2x16xf32>, tensor<1x40x2x16xf32>, tensor<1x40x2x8xf32> -> tensor<1x40x2x8xf32>
  return %o : tensor<1x40x2x8xf32>
}

// ZERO: convert-gate-to-linalg: score-sub-chunk must be >= 1, got 0
