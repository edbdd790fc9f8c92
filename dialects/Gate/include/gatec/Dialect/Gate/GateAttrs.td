//===- GateAttrs.td - Gate dialect attributes --------------*- tablegen -*-===//
//
// Part of gatec. Enumerations that select the variant of each gate op.
//
//===----------------------------------------------------------------------===//

#ifndef GATEC_DIALECT_GATE_GATEATTRS_TD
#define GATEC_DIALECT_GATE_GATEATTRS_TD

include "gatec/Dialect/Gate/GateDialect.td"
include "mlir/IR/AttrTypeBase.td"
include "mlir/IR/EnumAttr.td"

class Gate_EnumAttr<EnumAttrInfo enumInfo, string name>
    : EnumAttr<Gate_Dialect, enumInfo, name> {
  let assemblyFormat = "`<` $value `>`";
}

def Gate_Activation : I32EnumAttr<"Activation",
    "activation applied to the gating operand", [
      I32EnumAttrCase<"sigmoid", 0>,   // GLU, gated-attention output gate
      I32EnumAttrCase<"identity", 1>,  // Bilinear
      I32EnumAttrCase<"relu", 2>,      // ReGLU
      I32EnumAttrCase<"gelu", 3>,      // GEGLU, exact erf form
      I32EnumAttrCase<"gelu_tanh", 4>, // GEGLU, tanh approximation
      I32EnumAttrCase<"silu", 5>       // SwiGLU
    ]> {
  let genSpecializedAttr = 0;
  let cppNamespace = "::mlir::gate";
}
def Gate_ActivationAttr : Gate_EnumAttr<Gate_Activation, "activation">;

def Gate_Granularity : I32EnumAttr<"Granularity",
    "how the gate broadcasts over the gated operand", [
      I32EnumAttrCase<"elementwise", 0>, // g has the shape of x
      I32EnumAttrCase<"headwise", 1>     // g is [..., 1], broadcast over the last dim
    ]> {
  let genSpecializedAttr = 0;
  let cppNamespace = "::mlir::gate";
}
def Gate_GranularityAttr : Gate_EnumAttr<Gate_Granularity, "granularity">;

def Gate_GateHalf : I32EnumAttr<"GateHalf",
    "which half of a fused [..., 2F] operand is the gate", [
      I32EnumAttrCase<"first", 0>,  // [gate | up], e.g. vLLM's fused gate_up_proj
      I32EnumAttrCase<"second", 1>  // [up | gate], the "swapped" layout
    ]> {
  let genSpecializedAttr = 0;
  let cppNamespace = "::mlir::gate";
}
def Gate_GateHalfAttr : Gate_EnumAttr<Gate_GateHalf, "gate_half">;

def Gate_DecayKind : I32EnumAttr<"DecayKind",
    "form of the log-space decay of a chunked scan", [
      I32EnumAttrCase<"vector", 0>, // GLA: one log gate per key channel [B,T,H,K]
      I32EnumAttrCase<"scalar", 1>, // Mamba-2 / simple GLA: one per token and head [B,T,H]
      I32EnumAttrCase<"fixed", 2>,  // RetNet: one constant per head [H]
      I32EnumAttrCase<"none", 3>    // plain causal linear attention
    ]> {
  let genSpecializedAttr = 0;
  let cppNamespace = "::mlir::gate";
}
def Gate_DecayKindAttr : Gate_EnumAttr<Gate_DecayKind, "decay">;

def Gate_Scoring : I32EnumAttr<"Scoring",
    "how router logits become expert scores", [
      I32EnumAttrCase<"softmax", 0>, // Mixtral, Switch, GShard
      I32EnumAttrCase<"sigmoid", 1>  // DeepSeek-V3
    ]> {
  let genSpecializedAttr = 0;
  let cppNamespace = "::mlir::gate";
}
def Gate_ScoringAttr : Gate_EnumAttr<Gate_Scoring, "scoring">;

def Gate_GroupScore : I32EnumAttr<"GroupScore",
    "how a group of experts is scored in grouped top-k", [
      I32EnumAttrCase<"max", 0>,     // DeepSeek-V2
      I32EnumAttrCase<"sum_top2", 1> // DeepSeek-V3
    ]> {
  let genSpecializedAttr = 0;
  let cppNamespace = "::mlir::gate";
}
def Gate_GroupScoreAttr : Gate_EnumAttr<Gate_GroupScore, "group_score">;

def Gate_DropPolicy : I32EnumAttr<"DropPolicy",
    "which assignments keep their expert slot when it is over capacity", [
      I32EnumAttrCase<"token_order", 0>, // earlier tokens first (Switch, GShard)
      I32EnumAttrCase<"score_order", 1>  // higher router weights first
    ]> {
  let genSpecializedAttr = 0;
  let cppNamespace = "::mlir::gate";
}
def Gate_DropPolicyAttr : Gate_EnumAttr<Gate_DropPolicy, "drop_policy">;

#endif // GATEC_DIALECT_GATE_GATEATTRS_TD
