//===- GateDialect.td - Gate dialect definition ------------*- tablegen -*-===//
//
// Part of gatec. The `gate` dialect: gating layers of neural networks
// (GLU-family gates, chunked linear-recurrence scans, MoE routers) as
// first-class tensor ops.
//
//===----------------------------------------------------------------------===//

#ifndef GATEC_DIALECT_GATE_GATEDIALECT_TD
#define GATEC_DIALECT_GATE_GATEDIALECT_TD

include "mlir/IR/OpBase.td"

def Gate_Dialect : Dialect {
  let name = "gate";
  let summary = "Gating layers: GLU gates, chunked linear-recurrence scans and MoE routers.";
  let description = [{
    The `gate` dialect holds the op families of gatec at tensor level,
    before any tiling: `gate.gate` / `gate.fused_gate` (GLU family and output
    gates), `gate.chunked_scan` (gated linear recurrences in chunkwise-parallel
    form), `gate.causal_conv1d` (the short convolutions in front of those
    scans), and `gate.router` / `gate.dispatch` (Mixture-of-Experts routing and
    the metadata the expert GEMMs need). Projections around them stay in
    upstream `linalg`. The semantics of every op are fixed by one reference
    implementation (`gatec/Reference/Reference.h`), which every backend is
    tested against.
  }];
  let cppNamespace = "::mlir::gate";
  let useDefaultAttributePrinterParser = 1;
  // The kernel ABI's attributes (gatec/Dialect/Gate/KernelABI.h) are typed.
  let hasOperationAttrVerify = 1;
  let hasRegionArgAttrVerify = 1;
  let hasRegionResultAttrVerify = 1;
  let hasCanonicalizer = 0;
}

class Gate_Op<string mnemonic, list<Trait> traits = []>
    : Op<Gate_Dialect, mnemonic, traits>;

#endif // GATEC_DIALECT_GATE_GATEDIALECT_TD
