// Chunked scans compiled for the CPU against the token-by-token reference
// recurrence: every decay kind, f32 and bf16 inputs, T below, equal to and
// not a multiple of the chunk size, T = 1 and T = 0, packed variable-length
// batches with an empty and a length-1 sequence.
// RUN: gatec-check %s --dim B=2 --dim T=13 --kernel vector_f32 --kernel scalar_f32 --kernel fixed_f32 --kernel none_f32 --kernel vector_bf16 --kernel scalar_bf16 | FileCheck %s
// RUN: gatec-check %s --dim B=1 --dim T=1 --kernel vector_f32 --kernel scalar_f32 --kernel fixed_f32 --kernel none_f32 --kernel vector_bf16 --kernel scalar_bf16 | FileCheck %s
// RUN: gatec-check %s --dim B=3 --dim T=0 --kernel vector_f32 --kernel none_f32 | FileCheck %s
// RUN: gatec-check %s --dim B=1 --dim T=40 --seed 3 --kernel vector_f32 --kernel scalar_bf16 | FileCheck %s
// RUN: gatec-check %s --dim T=12 --dim N=4 --dim N1=5 --kernel varlen --input cu=0,5,5,6,12 | FileCheck %s
// RUN: gatec-check %s --dim T=7 --dim N=1 --dim N1=2 --kernel varlen --input cu=0,7 | FileCheck %s
// CHECK-NOT: FAIL
// CHECK: gatec-check: {{[0-9]+}} passed, 0 failed

func.func @vector_f32(%q: tensor<?x?x3x16xf32> {gate.name = "q", gate.shape = #gate.shape<B, T, 3, 16>}, %k: tensor<?x?x3x16xf32> {gate.name = "k", gate.shape = #gate.shape<B, T, 3, 16>}, %v: tensor<?x?x3x8xf32> {gate.name = "v", gate.shape = #gate.shape<B, T, 3, 8>}, %a: tensor<?x?x3x16xf32> {gate.name = "a", gate.shape = #gate.shape<B, T, 3, 16>}, %s0: tensor<?x3x16x8xf32> {gate.name = "s0", gate.shape = #gate.shape<B, 3, 16, 8>}) -> (tensor<?x?x3x8xf32> {gate.name = "o", gate.shape = #gate.shape<B, T, 3, 8>}, tensor<?x3x16x8xf32> {gate.name = "s", gate.shape = #gate.shape<B, 3, 16, 8>}) {
  %lg = linalg.generic {indexing_maps = [affine_map<(d0,d1,d2,d3)->(d0,d1,d2,d3)>, affine_map<(d0,d1,d2,d3)->(d0,d1,d2,d3)>], iterator_types = ["parallel","parallel","parallel","parallel"]} ins(%a : tensor<?x?x3x16xf32>) outs(%a : tensor<?x?x3x16xf32>) {
  ^bb0(%in: f32, %out: f32):
    %one = arith.constant 1.0 : f32
    %e = math.exp %in : f32
    %p = arith.addf %one, %e : f32
    %l = math.log %p : f32
    %n = arith.negf %l : f32
    linalg.yield %n : f32
  } -> tensor<?x?x3x16xf32>
  %o, %s = gate.chunked_scan <vector> %q, %k, %v decay(%lg : tensor<?x?x3x16xf32>) initial_state(%s0 : tensor<?x3x16x8xf32>) {chunk_size = 5 : i64} : tensor<?x?x3x16xf32>, tensor<?x?x3x16xf32>, tensor<?x?x3x8xf32> -> tensor<?x?x3x8xf32>, tensor<?x3x16x8xf32>
  return %o, %s : tensor<?x?x3x8xf32>, tensor<?x3x16x8xf32>
}
func.func @scalar_f32(%q: tensor<?x?x3x16xf32> {gate.name = "q", gate.shape = #gate.shape<B, T, 3, 16>}, %k: tensor<?x?x3x16xf32> {gate.name = "k", gate.shape = #gate.shape<B, T, 3, 16>}, %v: tensor<?x?x3x8xf32> {gate.name = "v", gate.shape = #gate.shape<B, T, 3, 8>}, %a: tensor<?x?x3xf32> {gate.name = "a", gate.shape = #gate.shape<B, T, 3>}, %s0: tensor<?x3x16x8xf32> {gate.name = "s0", gate.shape = #gate.shape<B, 3, 16, 8>}) -> (tensor<?x?x3x8xf32> {gate.name = "o", gate.shape = #gate.shape<B, T, 3, 8>}, tensor<?x3x16x8xf32> {gate.name = "s", gate.shape = #gate.shape<B, 3, 16, 8>}) {
  %lg = linalg.generic {indexing_maps = [affine_map<(d0,d1,d2)->(d0,d1,d2)>, affine_map<(d0,d1,d2)->(d0,d1,d2)>], iterator_types = ["parallel","parallel","parallel"]} ins(%a : tensor<?x?x3xf32>) outs(%a : tensor<?x?x3xf32>) {
  ^bb0(%in: f32, %out: f32):
    %one = arith.constant 1.0 : f32
    %e = math.exp %in : f32
    %p = arith.addf %one, %e : f32
    %l = math.log %p : f32
    %n = arith.negf %l : f32
    linalg.yield %n : f32
  } -> tensor<?x?x3xf32>
  %o, %s = gate.chunked_scan <scalar> %q, %k, %v decay(%lg : tensor<?x?x3xf32>) initial_state(%s0 : tensor<?x3x16x8xf32>) {chunk_size = 4 : i64} : tensor<?x?x3x16xf32>, tensor<?x?x3x16xf32>, tensor<?x?x3x8xf32> -> tensor<?x?x3x8xf32>, tensor<?x3x16x8xf32>
  return %o, %s : tensor<?x?x3x8xf32>, tensor<?x3x16x8xf32>
}
func.func @fixed_f32(%q: tensor<?x?x3x16xf32> {gate.name = "q", gate.shape = #gate.shape<B, T, 3, 16>}, %k: tensor<?x?x3x16xf32> {gate.name = "k", gate.shape = #gate.shape<B, T, 3, 16>}, %v: tensor<?x?x3x8xf32> {gate.name = "v", gate.shape = #gate.shape<B, T, 3, 8>}, %a: tensor<3xf32> {gate.name = "a", gate.shape = #gate.shape<3>}, %s0: tensor<?x3x16x8xf32> {gate.name = "s0", gate.shape = #gate.shape<B, 3, 16, 8>}) -> (tensor<?x?x3x8xf32> {gate.name = "o", gate.shape = #gate.shape<B, T, 3, 8>}, tensor<?x3x16x8xf32> {gate.name = "s", gate.shape = #gate.shape<B, 3, 16, 8>}) {
  %lg = linalg.generic {indexing_maps = [affine_map<(d0)->(d0)>, affine_map<(d0)->(d0)>], iterator_types = ["parallel"]} ins(%a : tensor<3xf32>) outs(%a : tensor<3xf32>) {
  ^bb0(%in: f32, %out: f32):
    %one = arith.constant 1.0 : f32
    %e = math.exp %in : f32
    %p = arith.addf %one, %e : f32
    %l = math.log %p : f32
    %n = arith.negf %l : f32
    linalg.yield %n : f32
  } -> tensor<3xf32>
  %o, %s = gate.chunked_scan <fixed> %q, %k, %v decay(%lg : tensor<3xf32>) initial_state(%s0 : tensor<?x3x16x8xf32>) {chunk_size = 64 : i64} : tensor<?x?x3x16xf32>, tensor<?x?x3x16xf32>, tensor<?x?x3x8xf32> -> tensor<?x?x3x8xf32>, tensor<?x3x16x8xf32>
  return %o, %s : tensor<?x?x3x8xf32>, tensor<?x3x16x8xf32>
}
func.func @none_f32(%q: tensor<?x?x3x16xf32> {gate.name = "q", gate.shape = #gate.shape<B, T, 3, 16>}, %k: tensor<?x?x3x16xf32> {gate.name = "k", gate.shape = #gate.shape<B, T, 3, 16>}, %v: tensor<?x?x3x8xf32> {gate.name = "v", gate.shape = #gate.shape<B, T, 3, 8>}, %s0: tensor<?x3x16x8xf32> {gate.name = "s0", gate.shape = #gate.shape<B, 3, 16, 8>}) -> (tensor<?x?x3x8xf32> {gate.name = "o", gate.shape = #gate.shape<B, T, 3, 8>}, tensor<?x3x16x8xf32> {gate.name = "s", gate.shape = #gate.shape<B, 3, 16, 8>}) {
  %o, %s = gate.chunked_scan <none> %q, %k, %v initial_state(%s0 : tensor<?x3x16x8xf32>) {chunk_size = 3 : i64} : tensor<?x?x3x16xf32>, tensor<?x?x3x16xf32>, tensor<?x?x3x8xf32> -> tensor<?x?x3x8xf32>, tensor<?x3x16x8xf32>
  return %o, %s : tensor<?x?x3x8xf32>, tensor<?x3x16x8xf32>
}
func.func @vector_bf16(%q: tensor<?x?x3x16xbf16> {gate.name = "q", gate.shape = #gate.shape<B, T, 3, 16>}, %k: tensor<?x?x3x16xbf16> {gate.name = "k", gate.shape = #gate.shape<B, T, 3, 16>}, %v: tensor<?x?x3x8xbf16> {gate.name = "v", gate.shape = #gate.shape<B, T, 3, 8>}, %a: tensor<?x?x3x16xf32> {gate.name = "a", gate.shape = #gate.shape<B, T, 3, 16>}, %s0: tensor<?x3x16x8xf32> {gate.name = "s0", gate.shape = #gate.shape<B, 3, 16, 8>}) -> (tensor<?x?x3x8xbf16> {gate.name = "o", gate.shape = #gate.shape<B, T, 3, 8>}, tensor<?x3x16x8xf32> {gate.name = "s", gate.shape = #gate.shape<B, 3, 16, 8>}) {
  %lg = linalg.generic {indexing_maps = [affine_map<(d0,d1,d2,d3)->(d0,d1,d2,d3)>, affine_map<(d0,d1,d2,d3)->(d0,d1,d2,d3)>], iterator_types = ["parallel","parallel","parallel","parallel"]} ins(%a : tensor<?x?x3x16xf32>) outs(%a : tensor<?x?x3x16xf32>) {
  ^bb0(%in: f32, %out: f32):
    %one = arith.constant 1.0 : f32
    %e = math.exp %in : f32
    %p = arith.addf %one, %e : f32
    %l = math.log %p : f32
    %n = arith.negf %l : f32
    linalg.yield %n : f32
  } -> tensor<?x?x3x16xf32>
  %o, %s = gate.chunked_scan <vector> %q, %k, %v decay(%lg : tensor<?x?x3x16xf32>) initial_state(%s0 : tensor<?x3x16x8xf32>) {chunk_size = 8 : i64} : tensor<?x?x3x16xbf16>, tensor<?x?x3x16xbf16>, tensor<?x?x3x8xbf16> -> tensor<?x?x3x8xbf16>, tensor<?x3x16x8xf32>
  return %o, %s : tensor<?x?x3x8xbf16>, tensor<?x3x16x8xf32>
}
func.func @scalar_bf16(%q: tensor<?x?x3x16xbf16> {gate.name = "q", gate.shape = #gate.shape<B, T, 3, 16>}, %k: tensor<?x?x3x16xbf16> {gate.name = "k", gate.shape = #gate.shape<B, T, 3, 16>}, %v: tensor<?x?x3x8xbf16> {gate.name = "v", gate.shape = #gate.shape<B, T, 3, 8>}, %a: tensor<?x?x3xf32> {gate.name = "a", gate.shape = #gate.shape<B, T, 3>}, %s0: tensor<?x3x16x8xf32> {gate.name = "s0", gate.shape = #gate.shape<B, 3, 16, 8>}) -> (tensor<?x?x3x8xbf16> {gate.name = "o", gate.shape = #gate.shape<B, T, 3, 8>}, tensor<?x3x16x8xf32> {gate.name = "s", gate.shape = #gate.shape<B, 3, 16, 8>}) {
  %lg = linalg.generic {indexing_maps = [affine_map<(d0,d1,d2)->(d0,d1,d2)>, affine_map<(d0,d1,d2)->(d0,d1,d2)>], iterator_types = ["parallel","parallel","parallel"]} ins(%a : tensor<?x?x3xf32>) outs(%a : tensor<?x?x3xf32>) {
  ^bb0(%in: f32, %out: f32):
    %one = arith.constant 1.0 : f32
    %e = math.exp %in : f32
    %p = arith.addf %one, %e : f32
    %l = math.log %p : f32
    %n = arith.negf %l : f32
    linalg.yield %n : f32
  } -> tensor<?x?x3xf32>
  %o, %s = gate.chunked_scan <scalar> %q, %k, %v decay(%lg : tensor<?x?x3xf32>) initial_state(%s0 : tensor<?x3x16x8xf32>) {chunk_size = 16 : i64} : tensor<?x?x3x16xbf16>, tensor<?x?x3x16xbf16>, tensor<?x?x3x8xbf16> -> tensor<?x?x3x8xbf16>, tensor<?x3x16x8xf32>
  return %o, %s : tensor<?x?x3x8xbf16>, tensor<?x3x16x8xf32>
}
func.func @varlen(%q: tensor<1x?x2x16xf32> {gate.name = "q", gate.shape = #gate.shape<1, T, 2, 16>}, %k: tensor<1x?x2x16xf32> {gate.name = "k", gate.shape = #gate.shape<1, T, 2, 16>}, %v: tensor<1x?x2x8xf32> {gate.name = "v", gate.shape = #gate.shape<1, T, 2, 8>}, %a: tensor<1x?x2xf32> {gate.name = "a", gate.shape = #gate.shape<1, T, 2>}, %s0: tensor<?x2x16x8xf32> {gate.name = "s0", gate.shape = #gate.shape<N, 2, 16, 8>}, %cu: tensor<?xi32> {gate.name = "cu", gate.shape = #gate.shape<N1>}) -> (tensor<1x?x2x8xf32> {gate.name = "o", gate.shape = #gate.shape<1, T, 2, 8>}, tensor<?x2x16x8xf32> {gate.name = "s", gate.shape = #gate.shape<N, 2, 16, 8>}) {
  %zero = arith.constant 0.0 : f32
  %lg = linalg.generic {indexing_maps = [affine_map<(a,b,c)->(a,b,c)>, affine_map<(a,b,c)->(a,b,c)>], iterator_types = ["parallel","parallel","parallel"]} ins(%a : tensor<1x?x2xf32>) outs(%a : tensor<1x?x2xf32>) {
  ^bb0(%in: f32, %out: f32):
    %n = arith.minimumf %in, %zero : f32
    linalg.yield %n : f32
  } -> tensor<1x?x2xf32>
  %o, %s = gate.chunked_scan <scalar> %q, %k, %v decay(%lg : tensor<1x?x2xf32>) initial_state(%s0 : tensor<?x2x16x8xf32>) cu_seqlens(%cu : tensor<?xi32>) {chunk_size = 4 : i64} : tensor<1x?x2x16xf32>, tensor<1x?x2x16xf32>, tensor<1x?x2x8xf32> -> tensor<1x?x2x8xf32>, tensor<?x2x16x8xf32>
  return %o, %s : tensor<1x?x2x8xf32>, tensor<?x2x16x8xf32>
}
