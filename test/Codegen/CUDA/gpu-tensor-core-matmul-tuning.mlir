// RUN: gatec-opt %s --split-input-file --gatec-gpu-tensor-core-matmul="chip=sm_90 tuning-table=%S/Inputs/tuning.tsv" | FileCheck %s
// RUN: gatec-opt %s --split-input-file --gatec-gpu-tensor-core-matmul="chip=sm_80 tuning-table=%S/Inputs/tuning.tsv" | FileCheck %s --check-prefix=UNTUNED
// RUN: gatec-opt %s --split-input-file --gatec-gpu-tensor-core-matmul="chip=sm_89 tuning-table=%S/Inputs/tuning.tsv" 2>&1 | FileCheck %s --check-prefix=INVALID
// RUN: not gatec-opt %s --split-input-file --gatec-gpu-tensor-core-matmul="chip=sm_90 tuning-table=%S/Inputs/bad-tuning.tsv" 2>&1 | FileCheck %s --check-prefix=BAD
// RUN: gatec-opt %s --split-input-file --gatec-gpu-tensor-core-matmul="chip=sm_90" | FileCheck %s --check-prefix=UNTUNED

// Tiles per weight shape from a tuning table (Inputs/tuning.tsv; gatec
// compiles tuning/cuda-matmul.tsv in and uses it by default, empty until a
// GPU session runs scripts/gpu-tune.sh).

// Its own row (n = 256, k = 64): 64 x 128 tiles, three stages, so a 64-row
// grid and a three-slot ring of 64 x (32 + 8) A and 32 x (128 + 8) B tiles.
// CHECK-LABEL: func.func @tuned
// CHECK:       arith.ceildivui %{{.+}}, %c64
// CHECK:       gpu.launch
// CHECK-SAME:    workgroup(%{{.*}} : memref<3x64x40xbf16, #gpu.address_space<workgroup>>, %{{.*}} : memref<3x32x136xbf16, #gpu.address_space<workgroup>>)
// A chip without rows keeps the defaults: 128 x 128 x 32, two stages.
// UNTUNED-LABEL: func.func @tuned
// UNTUNED:       gpu.launch
// UNTUNED-SAME:    workgroup(%{{.*}} : memref<2x128x40xbf16, #gpu.address_space<workgroup>>, %{{.*}} : memref<2x32x136xbf16, #gpu.address_space<workgroup>>)
// A row whose tile cannot make a kernel (B's 32 x 96 tile is not a whole
// number of the 256 threads' 16-byte copies) is reported and not used.
// INVALID: warning: gatec-gpu-tensor-core-matmul: ignoring the tuned mma tile for sm_89: block tile 64x96x32 with 2 stages is not a multiple of the 2 x 4 warp grid
// INVALID-LABEL: func.func @tuned
// INVALID:       workgroup(%{{.*}} : memref<2x128x40xbf16, #gpu.address_space<workgroup>>
// A malformed table is an error naming the line.
// BAD: error: gatec-gpu-tensor-core-matmul: {{.*}}bad-tuning.tsv: line 2: expected a positive integer, got '0'
func.func @tuned(%x: memref<?x64xbf16>, %w: memref<64x256xbf16>, %y: memref<?x256xf32>) {
  linalg.matmul ins(%x, %w : memref<?x64xbf16>, memref<64x256xbf16>) outs(%y : memref<?x256xf32>)
  return
}

// -----

// A shape the table has never seen (n = 512, k = 128) takes the nearest row
// in log scale: (256, 64) is one doubling of each away, (4096, 4096) three
// and five.
// CHECK-LABEL: func.func @unseen
// CHECK:       workgroup(%{{.*}} : memref<3x64x40xbf16, #gpu.address_space<workgroup>>, %{{.*}} : memref<3x32x136xbf16, #gpu.address_space<workgroup>>)
// UNTUNED-LABEL: func.func @unseen
// UNTUNED:       workgroup(%{{.*}} : memref<2x128x40xbf16, #gpu.address_space<workgroup>>
func.func @unseen(%x: memref<?x128xbf16>, %w: memref<128x512xbf16>, %y: memref<?x512xf32>) {
  linalg.matmul ins(%x, %w : memref<?x128xbf16>, memref<128x512xbf16>) outs(%y : memref<?x512xf32>)
  return
}

// The Llama-3 FFN through the CUDA pipeline's stages up to this pass: the
// paired gate/up kernel takes the mma-paired row (64 x 128 over both
// projections: 64 columns of each B), the down projection (n = 4096,
// k = 14336) the nearest mma row, (4096, 4096): 64 x 256.
// RUN: rm -rf %t && mkdir -p %t
// RUN: gatec %gatec_src_root/examples/llama3_swiglu_ffn.gate --emit=mlir -o %t
// RUN: gatec-opt %t/llama3_swiglu_ffn.mlir --convert-gate-to-linalg --gatec-destination-passing-abi \
// RUN:   --gatec-fuse-elementwise --canonicalize --cse --eliminate-empty-tensors \
// RUN:   --one-shot-bufferize="bufferize-function-boundaries function-boundary-type-conversion=identity-layout-map" \
// RUN:   --canonicalize --cse --gatec-gpu-tensor-core-matmul="chip=sm_90 tuning-table=%S/Inputs/tuning.tsv" \
// RUN: | FileCheck %s --check-prefix=FFN
// FFN:      gpu.launch
// FFN-SAME:   workgroup(%{{.*}} : memref<3x64x40xbf16, #gpu.address_space<workgroup>>, %{{.*}} : memref<3x32x72xbf16, #gpu.address_space<workgroup>>, %{{.*}} : memref<3x32x72xbf16, #gpu.address_space<workgroup>>)
// FFN:      gpu.launch
// FFN-SAME:   workgroup(%{{.*}} : memref<2x64x40xbf16, #gpu.address_space<workgroup>>, %{{.*}} : memref<2x32x264xbf16, #gpu.address_space<workgroup>>)
