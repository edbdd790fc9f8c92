// RUN: gatec-opt %s --convert-gate-to-linalg --canonicalize | FileCheck %s
// RUN: gatec-opt %s --convert-gate-to-linalg="conv-slice-tokens=4" --canonicalize | FileCheck %s --check-prefix=SLICE

// The structure of the lowering of gate.causal_conv1d (canonicalized, so the
// static sizes fold): a forall over (sequence, time slice, channel block)
// for y, where the first W - 1 tokens of a sequence read a small window
// [state^T ; x rows] and every other token reads x in place, each part one
// elementwise generic over W shifted views and the block's weights (as f32
// rows); then a forall over (sequence, channel block) for the final state.
// The numbers are checked against the reference by
// test/Target/CPU/short-conv.test and test/Target/CUDA/Emulator/short-conv.test.

// CHECK-DAG: #[[$BLOCK64:.+]] = affine_map<(d0) -> (d0 * 64)>
// CHECK-DAG: #[[$TRANSPOSE:.+]] = affine_map<(d0, d1) -> (d1, d0)>
// CHECK-DAG: #[[$ID2:.+]] = affine_map<(d0, d1) -> (d0, d1)>
// CHECK-DAG: #[[$CHANNEL:.+]] = affine_map<(d0, d1) -> (d1)>
// CHECK-DAG: #[[$LAST_BLOCK:.+]] = affine_map<(d0)[s0] -> (d0 * -64 + s0, 64)>

// W = 4, T = 10 and C = 128 (two blocks of 64), with bias, initial and final
// state. T is below one slice (64 tokens), so the slice loop folds away: the
// head is the first 3 tokens, the body the other 7.
// CHECK-LABEL: func.func @states(
// CHECK-SAME: [[X:%[^:]+]]: tensor<2x10x128xbf16>, [[W:%[^:]+]]: tensor<128x4xf32>, [[B:%[^:]+]]: tensor<128xbf16>, [[S0:%[^:]+]]: tensor<2x128x3xbf16>)
// CHECK: [[Y_INIT:%.+]] = tensor.empty() : tensor<2x10x128xbf16>
// CHECK: [[S_INIT:%.+]] = tensor.empty() : tensor<2x128x3xbf16>
// CHECK: [[Y:%.+]] = scf.forall ([[N:%.+]], [[CB:%.+]]) in (2, 2) shared_outs([[Y_OUT:%.+]] = [[Y_INIT]])
// CHECK:   [[C0:%.+]] = affine.apply #[[$BLOCK64]]([[CB]])
// CHECK:   [[XS:%.+]] = tensor.extract_slice [[X]]{{\[}}[[N]], 0, [[C0]]] [1, 10, 64] [1, 1, 1] : tensor<2x10x128xbf16> to tensor<10x64xbf16>
// CHECK:   [[S0B:%.+]] = tensor.extract_slice [[S0]]{{\[}}[[N]], [[C0]], 0] [1, 64, 3] [1, 1, 1] : tensor<2x128x3xbf16> to tensor<64x3xbf16>
// CHECK:   [[Y_SEQ:%.+]] = tensor.extract_slice [[Y_OUT]]{{\[}}[[N]], 0, [[C0]]] [1, 10, 64] [1, 1, 1] : tensor<2x10x128xbf16> to tensor<10x64xbf16>
// CHECK:   [[WB:%.+]] = tensor.extract_slice [[W]]{{\[}}[[C0]], 0] [64, 4] [1, 1] : tensor<128x4xf32> to tensor<64x4xf32>
// CHECK:   [[TAPS:%.+]] = linalg.generic {indexing_maps = [#[[$TRANSPOSE]], #[[$ID2]]], {{.*}}} ins([[WB]] : tensor<64x4xf32>) outs(%{{.+}} : tensor<4x64xf32>)
// CHECK:   [[T0:%.+]] = tensor.extract_slice [[TAPS]][0, 0] [1, 64] [1, 1] : tensor<4x64xf32> to tensor<64xf32>
// CHECK:   [[T1:%.+]] = tensor.extract_slice [[TAPS]][1, 0] [1, 64]
// CHECK:   [[T2:%.+]] = tensor.extract_slice [[TAPS]][2, 0] [1, 64]
// CHECK:   [[T3:%.+]] = tensor.extract_slice [[TAPS]][3, 0] [1, 64]
// CHECK:   [[BB:%.+]] = tensor.extract_slice [[B]]{{\[}}[[C0]]] [64] [1] : tensor<128xbf16> to tensor<64xbf16>
//          The head window: the state transposed, then the first 3 tokens.
// CHECK:   [[HEAD0:%.+]] = tensor.empty() : tensor<6x64xbf16>
// CHECK:   [[HEAD_TOP:%.+]] = tensor.extract_slice [[HEAD0]][0, 0] [3, 64]
// CHECK:   [[STATE_T:%.+]] = linalg.generic {indexing_maps = [#[[$TRANSPOSE]], #[[$ID2]]], {{.*}}} ins([[S0B]] : tensor<64x3xbf16>) outs([[HEAD_TOP]] : tensor<3x64xbf16>)
// CHECK:   [[HEAD1:%.+]] = tensor.insert_slice [[STATE_T]] into [[HEAD0]][0, 0] [3, 64]
// CHECK:   [[HEAD_BOTTOM:%.+]] = tensor.extract_slice [[HEAD1]][3, 0] [3, 64]
// CHECK:   [[FIRST:%.+]] = tensor.extract_slice [[XS]][0, 0] [3, 64]
// CHECK:   [[COPIED:%.+]] = linalg.copy ins([[FIRST]] : tensor<3x64xbf16>) outs([[HEAD_BOTTOM]] : tensor<3x64xbf16>)
// CHECK:   [[HEAD:%.+]] = tensor.insert_slice [[COPIED]] into [[HEAD1]][3, 0] [3, 64]
// CHECK:   [[H0:%.+]] = tensor.extract_slice [[HEAD]][0, 0] [3, 64]
// CHECK:   [[H1:%.+]] = tensor.extract_slice [[HEAD]][1, 0] [3, 64]
// CHECK:   [[H2:%.+]] = tensor.extract_slice [[HEAD]][2, 0] [3, 64]
// CHECK:   [[Y_HEAD_DEST:%.+]] = tensor.extract_slice [[Y_SEQ]][0, 0] [3, 64]
//          The window's last view is the 3 copied tokens themselves.
// CHECK:   [[Y_HEAD:%.+]] = linalg.generic {indexing_maps = [#[[$ID2]], #[[$ID2]], #[[$ID2]], #[[$ID2]], #[[$CHANNEL]], #[[$CHANNEL]], #[[$CHANNEL]], #[[$CHANNEL]], #[[$CHANNEL]], #[[$ID2]]], iterator_types = ["parallel", "parallel"]} ins([[H0]], [[H1]], [[H2]], [[COPIED]], [[T0]], [[T1]], [[T2]], [[T3]], [[BB]] : {{.*}}) outs([[Y_HEAD_DEST]] : tensor<3x64xbf16>)
//          acc = bias + w0 x0 + w1 x1 + w2 x2 + w3 x3 in f32, silu, one rounding.
// CHECK:     arith.extf
// CHECK:     arith.extf
// CHECK:     arith.mulf
// CHECK:     arith.addf
// CHECK-COUNT-3: arith.addf
// CHECK:     math.exp
// CHECK:     [[R:%.+]] = arith.truncf %{{.+}} : f32 to bf16
// CHECK-NEXT: linalg.yield [[R]] : bf16
// CHECK:   [[Y_SEQ1:%.+]] = tensor.insert_slice [[Y_HEAD]] into [[Y_SEQ]][0, 0] [3, 64]
//          The body: the other 7 tokens, windows read from x in place.
// CHECK:   [[X3:%.+]] = tensor.extract_slice [[XS]][3, 0] [7, 64]
// CHECK:   [[X0:%.+]] = tensor.extract_slice [[XS]][0, 0] [7, 64]
// CHECK:   [[X1:%.+]] = tensor.extract_slice [[XS]][1, 0] [7, 64]
// CHECK:   [[X2:%.+]] = tensor.extract_slice [[XS]][2, 0] [7, 64]
// CHECK:   [[Y_BODY_DEST:%.+]] = tensor.extract_slice [[Y_SEQ1]][3, 0] [7, 64]
// CHECK:   [[Y_BODY:%.+]] = linalg.generic {{.*}} ins([[X0]], [[X1]], [[X2]], [[X3]], [[T0]], [[T1]], [[T2]], [[T3]], [[BB]] : {{.*}}) outs([[Y_BODY_DEST]] : tensor<7x64xbf16>)
// CHECK:   [[Y_SEQ2:%.+]] = tensor.insert_slice [[Y_BODY]] into [[Y_SEQ1]][3, 0] [7, 64]
// CHECK:   scf.forall.in_parallel
// CHECK:     tensor.parallel_insert_slice [[Y_SEQ2]] into [[Y_OUT]]{{\[}}[[N]], 0, [[C0]]] [1, 10, 64] [1, 1, 1]
//          The final state: the last 3 inputs, transposed to [C, W - 1].
// CHECK: [[S:%.+]] = scf.forall ([[N:%.+]], [[CB:%.+]]) in (2, 2) shared_outs([[S_OUT:%.+]] = [[S_INIT]])
// CHECK:   [[C0:%.+]] = affine.apply #[[$BLOCK64]]([[CB]])
// CHECK:   [[XS:%.+]] = tensor.extract_slice [[X]]{{\[}}[[N]], 0, [[C0]]] [1, 10, 64]
// CHECK:   [[S_DEST:%.+]] = tensor.extract_slice [[S_OUT]]{{\[}}[[N]], [[C0]], 0] [1, 64, 3] [1, 1, 1] : tensor<2x128x3xbf16> to tensor<64x3xbf16>
// CHECK:   [[LAST:%.+]] = tensor.extract_slice [[XS]][7, 0] [3, 64]
// CHECK:   [[S_NEW:%.+]] = linalg.generic {indexing_maps = [#[[$TRANSPOSE]], #[[$ID2]]], {{.*}}} ins([[LAST]] : tensor<3x64xbf16>) outs([[S_DEST]] : tensor<64x3xbf16>)
// CHECK:   scf.forall.in_parallel
// CHECK:     tensor.parallel_insert_slice [[S_NEW]] into [[S_OUT]]{{\[}}[[N]], [[C0]], 0] [1, 64, 3] [1, 1, 1]
// CHECK: return [[Y]], [[S]]

// With slices of 4 tokens, T = 10 is 3 slices of S = 4: slice k starts at
// t0 = min(4 k, 10) and holds min(4, 10 - t0) tokens; h = clamp(3 - t0, 0, l)
// of them read the state, whose window takes the state's entries [t0, 3)
// and then x[0 : t0 + h] (both empty past the first 3 tokens, and at most
// 3 rows each); the other tokens read x from t0 + h - 3 on.
// SLICE-DAG: #[[$TRANSPOSE:.+]] = affine_map<(d0, d1) -> (d1, d0)>
// SLICE-DAG: #[[$ID2:.+]] = affine_map<(d0, d1) -> (d0, d1)>
// SLICE-DAG: #[[$TOKENS:.+]] = affine_map<(d0) -> (10, d0)>
// SLICE-DAG: #[[$SLICE_LEN:.+]] = affine_map<(d0) -> (-d0 + 10, 4)>
// SLICE-DAG: #[[$NONNEG:.+]] = affine_map<(d0) -> (0, d0)>
// SLICE-DAG: #[[$HEAD_LEN:.+]] = affine_map<(d0, d1) -> (-d0 + 3, 3, d1)>
// SLICE-DAG: #[[$STATE_ROWS:.+]] = affine_map<(d0, d1) -> (-d0 + 3, d1 * 3)>
// SLICE-DAG: #[[$AT_MOST_3:.+]] = affine_map<(d0) -> (3, d0)>
// SLICE-DAG: #[[$INPUT_ROWS:.+]] = affine_map<(d0, d1) -> (3, d1 * 3, d0 + d1)>
// SLICE-DAG: #[[$BODY_FIRST:.+]] = affine_map<(d0, d1) -> (0, d0 + d1 - 3)>
// SLICE-LABEL: func.func @states(
// SLICE: scf.forall ([[N:%.+]], [[K:%.+]], [[CB:%.+]]) in (2, 3, 2)
// SLICE:   [[K4:%.+]] = arith.muli [[K]], %c4 : index
// SLICE:   [[T0:%.+]] = affine.min #[[$TOKENS]]([[K4]])
// SLICE:   [[L0:%.+]] = affine.min #[[$SLICE_LEN]]([[T0]])
// SLICE:   [[L:%.+]] = affine.max #[[$NONNEG]]([[L0]])
// SLICE:   tensor.extract_slice %{{.+}}{{\[}}[[N]], [[T0]], %{{.+}}] [1, [[L]], 64] [1, 1, 1] : tensor<2x10x128xbf16> to tensor<?x64xbf16>
// SLICE:   [[H0:%.+]] = affine.min #[[$HEAD_LEN]]([[T0]], [[L]])
// SLICE:   [[H:%.+]] = affine.max #[[$NONNEG]]([[H0]])
// SLICE:   [[SR0:%.+]] = affine.min #[[$STATE_ROWS]]([[T0]], [[H]])
// SLICE:   [[SR1:%.+]] = affine.max #[[$NONNEG]]([[SR0]])
// SLICE:   [[SR:%.+]] = affine.min #[[$AT_MOST_3]]([[SR1]])
// SLICE:   [[XR:%.+]] = affine.min #[[$INPUT_ROWS]]([[T0]], [[H]])
// SLICE:   [[WINDOW:%.+]] = tensor.empty(%{{.+}}) : tensor<?x64xbf16>
// SLICE:   linalg.generic {indexing_maps = [#[[$TRANSPOSE]], #[[$ID2]]], {{.*}}} ins(%{{.+}} : tensor<64x?xbf16>) outs(%{{.+}} : tensor<?x64xbf16>)
// SLICE:   [[FIRST:%.+]] = affine.max #[[$BODY_FIRST]]([[T0]], [[H]])
// SLICE: scf.forall ({{.*}}) in (2, 2)
func.func @states(%x: tensor<2x10x128xbf16>, %w: tensor<128x4xf32>, %b: tensor<128xbf16>, %s0: tensor<2x128x3xbf16>)
    -> (tensor<2x10x128xbf16>, tensor<2x128x3xbf16>) {
  %y, %s = gate.causal_conv1d <silu> %x, %w bias(%b : tensor<128xbf16>) initial_state(%s0 : tensor<2x128x3xbf16>)
      : tensor<2x10x128xbf16>, tensor<128x4xf32> -> tensor<2x10x128xbf16>, tensor<2x128x3xbf16>
  return %y, %s : tensor<2x10x128xbf16>, tensor<2x128x3xbf16>
}

// Packed sequences, W = 2, dynamic C: y starts as zeros (tokens past cu[N]),
// the slices are the average sequence length T / N over 64 tokens (at least
// one), the offsets are clamped as the chunked scan clamps them, the last
// channel block is partial, and without an initial state the window and the
// final state start from zeros.
// CHECK-LABEL: func.func @varlen(
// CHECK-SAME: [[X:%[^:]+]]: tensor<1x?x?xf32>, [[W:%[^:]+]]: tensor<?x2xf32>, [[CU:%[^:]+]]: tensor<?xi64>)
// CHECK-DAG: [[T:%.+]] = tensor.dim [[X]], %c1
// CHECK-DAG: [[C:%.+]] = tensor.dim [[X]], %c2
// CHECK-DAG: [[NCU:%.+]] = tensor.dim [[CU]], %c0
// CHECK: [[NSEQ:%.+]] = affine.apply #{{.+}}(){{\[}}[[NCU]]]
// CHECK: [[NBLOCKS:%.+]] = arith.ceildivui [[C]], %c64 : index
// CHECK: [[Y_EMPTY:%.+]] = tensor.empty([[T]], [[C]]) : tensor<1x?x?xf32>
// CHECK: [[Y_INIT:%.+]] = linalg.fill ins(%{{.+}} : f32) outs([[Y_EMPTY]] : tensor<1x?x?xf32>)
// CHECK: [[N1:%.+]] = arith.maxui [[NSEQ]], %c1 : index
// CHECK: [[AVG:%.+]] = arith.ceildivui [[T]], [[N1]] : index
// CHECK: [[K0:%.+]] = arith.ceildivui [[AVG]], %c64 : index
// CHECK: [[K:%.+]] = arith.maxui [[K0]], %c1 : index
// CHECK: scf.forall ([[N:%.+]], [[SL:%.+]], [[CB:%.+]]) in ([[NSEQ]], [[K]], [[NBLOCKS]]) shared_outs([[Y_OUT:%.+]] = [[Y_INIT]])
// CHECK:   [[RAW_BEGIN:%.+]] = tensor.extract [[CU]]{{\[}}[[N]]] : tensor<?xi64>
// CHECK:   [[B_IDX:%.+]] = arith.index_cast [[RAW_BEGIN]] : i64 to index
// CHECK:   [[B_LO:%.+]] = arith.maxsi [[B_IDX]], %c0 : index
// CHECK:   [[BEGIN:%.+]] = arith.minsi [[B_LO]], [[T]] : index
// CHECK:   [[RAW_END:%.+]] = tensor.extract [[CU]]
// CHECK:   [[E_IDX:%.+]] = arith.index_cast [[RAW_END]] : i64 to index
// CHECK:   [[E_LO:%.+]] = arith.maxsi [[E_IDX]], [[BEGIN]] : index
// CHECK:   [[END:%.+]] = arith.minsi [[E_LO]], [[T]] : index
// CHECK:   [[LEN:%.+]] = arith.subi [[END]], [[BEGIN]] : index
// CHECK:   [[C0:%.+]] = affine.apply #[[$BLOCK64]]([[CB]])
// CHECK:   [[CW:%.+]] = affine.min #[[$LAST_BLOCK]]([[CB]]){{\[}}[[C]]]
// CHECK:   [[XS:%.+]] = tensor.extract_slice [[X]][0, [[BEGIN]], [[C0]]] [1, [[LEN]], [[CW]]] [1, 1, 1] : tensor<1x?x?xf32> to tensor<?x?xf32>
// CHECK:   [[S:%.+]] = arith.ceildivui [[LEN]], [[K]] : index
// CHECK:   arith.muli [[SL]], [[S]] : index
//          No initial state: the window's older rows are zeros.
// CHECK:   linalg.fill ins(%{{.+}} : f32) outs(%{{.+}} : tensor<?x?xf32>)
// CHECK:   linalg.generic {{.*}} outs(%{{.+}} : tensor<?x?xf32>)
// CHECK:   linalg.generic {{.*}} outs(%{{.+}} : tensor<?x?xf32>)
// CHECK:   scf.forall.in_parallel
// CHECK:     tensor.parallel_insert_slice %{{.+}} into [[Y_OUT]][0, %{{.+}}, [[C0]]] [1, %{{.+}}, [[CW]]] [1, 1, 1]
//          The final state's older part is zeros too.
// CHECK: scf.forall ([[N:%.+]], [[CB:%.+]]) in ([[NSEQ]], [[NBLOCKS]])
// CHECK:   linalg.fill ins(%{{.+}} : f32) outs(%{{.+}} : tensor<?x?xf32>)
// CHECK:   linalg.generic {indexing_maps = [#[[$TRANSPOSE]], #[[$ID2]]]
func.func @varlen(%x: tensor<1x?x?xf32>, %w: tensor<?x2xf32>, %cu: tensor<?xi64>) -> (tensor<1x?x?xf32>, tensor<?x?x1xf32>) {
  %y, %s = gate.causal_conv1d <identity> %x, %w cu_seqlens(%cu : tensor<?xi64>)
      : tensor<1x?x?xf32>, tensor<?x2xf32> -> tensor<1x?x?xf32>, tensor<?x?x1xf32>
  return %y, %s : tensor<1x?x?xf32>, tensor<?x?x1xf32>
}

// W = 1: no window and no state, one generic per slice; C below one block
// is one block of C channels.
// CHECK-LABEL: func.func @width_one(
// CHECK: scf.forall ({{.*}}) in (%{{.+}}, %{{.+}}) shared_outs
// CHECK-NOT: tensor.insert_slice
// CHECK:   [[Y:%.+]] = linalg.generic {indexing_maps = [#[[$ID2]], #[[$CHANNEL]], #[[$ID2]]], {{.*}}} ins(%{{.+}}, %{{.+}} : tensor<?x32xf16>, tensor<32xf32>) outs(%{{.+}} : tensor<?x32xf16>)
// CHECK:     arith.maximumf
// CHECK:     arith.truncf %{{.+}} : f32 to f16
// CHECK:   scf.forall.in_parallel
// CHECK:     tensor.parallel_insert_slice [[Y]]
func.func @width_one(%x: tensor<?x?x32xf16>, %w: tensor<32x1xf16>) -> tensor<?x?x32xf16> {
  %y = gate.causal_conv1d <relu> %x, %w : tensor<?x?x32xf16>, tensor<32x1xf16> -> tensor<?x?x32xf16>
  return %y : tensor<?x?x32xf16>
}

// A conv state pool (slots): y starts from zeros (a skipped sequence's
// outputs); each sequence's row is slots[n] when in [0, P), else it reads
// none (rows = 0) and has no tokens; its row's channels are copied into a
// zero-filled [64, 3] window source. The final states go back into the pool
// itself, the second forall's shared output: each sequence reads its row
// from it and writes the same rows back, which bufferizes in place.
// CHECK-LABEL: func.func @pool(
// CHECK-SAME: [[X:%[^:]+]]: tensor<?x1x128xbf16>, [[W:%[^:]+]]: tensor<128x4xbf16>, [[POOL:%[^:]+]]: tensor<?x128x3xbf16>, [[SLOTS:%[^:]+]]: tensor<?xi32>)
// CHECK: [[Y_ZEROS:%.+]] = linalg.fill ins(%{{.+}} : bf16) outs(%{{.+}} : tensor<?x1x128xbf16>)
// CHECK: scf.forall ([[N:%.+]], [[CB:%.+]]) in (%{{.+}}, 2) shared_outs(%{{.+}} = [[Y_ZEROS]])
// CHECK:   [[RAW:%.+]] = tensor.extract [[SLOTS]]{{\[}}[[N]]]
// CHECK:   [[SLOT:%.+]] = arith.index_cast [[RAW]] : i32 to index
// CHECK:   [[P:%.+]] = tensor.dim [[POOL]], %{{.+}}
// CHECK:   [[GE:%.+]] = arith.cmpi sge, [[SLOT]]
// CHECK:   [[LT:%.+]] = arith.cmpi slt, [[SLOT]], [[P]]
// CHECK:   [[VALID:%.+]] = arith.andi [[GE]], [[LT]]
// CHECK:   [[ROW:%.+]] = arith.select [[VALID]], [[SLOT]]
// CHECK:   [[ROWS:%.+]] = arith.select [[VALID]]
// CHECK:   [[C0:%.+]] = affine.apply #[[$BLOCK64]]([[CB]])
// CHECK:   [[READ:%.+]] = tensor.extract_slice [[POOL]]{{\[}}[[ROW]], [[C0]], 0] {{\[}}[[ROWS]], 64, 3]
// CHECK:   [[ZEROS:%.+]] = linalg.fill ins(%{{.+}} : bf16) outs(%{{.+}} : tensor<1x64x3xbf16>)
// CHECK:   tensor.insert_slice [[READ]] into [[ZEROS]][0, 0, 0] {{\[}}[[ROWS]], 64, 3]
// CHECK: scf.forall ([[N2:%.+]], [[CB2:%.+]]) in (%{{.+}}, 2) shared_outs([[POOL_OUT:%.+]] = [[POOL]])
// CHECK:   [[ROW2:%.+]] = arith.select
// CHECK:   [[ROWS2:%.+]] = arith.select
// CHECK:   [[C02:%.+]] = affine.apply #[[$BLOCK64]]([[CB2]])
// CHECK:   tensor.extract_slice [[POOL_OUT]]{{\[}}[[ROW2]], [[C02]], 0] {{\[}}[[ROWS2]], 64, 3]
// CHECK:   [[EXPANDED:%.+]] = tensor.expand_shape %{{.+}} {{\[\[}}0, 1], [2]] output_shape [1, 64, 3]
// CHECK:   [[BACK:%.+]] = tensor.extract_slice [[EXPANDED]][0, 0, 0] {{\[}}[[ROWS2]], 64, 3]
// CHECK:   scf.forall.in_parallel
// CHECK:     tensor.parallel_insert_slice [[BACK]] into [[POOL_OUT]]{{\[}}[[ROW2]], [[C02]], 0] {{\[}}[[ROWS2]], 64, 3]
func.func @pool(%x: tensor<?x1x128xbf16>, %w: tensor<128x4xbf16>, %pool: tensor<?x128x3xbf16>, %slots: tensor<?xi32>) -> (tensor<?x1x128xbf16>, tensor<?x128x3xbf16>) {
  %y, %s = gate.causal_conv1d <silu> %x, %w initial_state(%pool : tensor<?x128x3xbf16>) slots(%slots : tensor<?xi32>)
      : tensor<?x1x128xbf16>, tensor<128x4xbf16> -> tensor<?x1x128xbf16>, tensor<?x128x3xbf16>
  return %y, %s : tensor<?x1x128xbf16>, tensor<?x128x3xbf16>
}
