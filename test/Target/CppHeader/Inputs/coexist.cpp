//===- coexist.cpp - Several generated headers in one C++ TU --------------===//
//
// Part of gatec. Compiled by ../coexist.test with the swiglu, moe and
// dispatch_kernels headers force-included; uses something from each.
//
//===----------------------------------------------------------------------===//

#include <vector>

int main() {
  namespace swiglu = gatec_kernels::swiglu;
  namespace moe = gatec_kernels::moe;
  namespace dispatch = gatec_kernels::dispatch_kernels;

  swiglu::SwigluShapes s;
  moe::RouterShapes r;
  dispatch::DispatchShapes d;
  gatec_kernels::Status st =
      swiglu::swiglu_output_shapes({4, 4096}, {4, 4096}, s);
  st = moe::router_output_shapes({4, 64}, r);
  st = dispatch::dispatch_output_shapes({4, 2}, {4, 64}, {32}, d);
  std::vector<gatec_bf16> out(static_cast<size_t>(s.out_numel));
  gatec_memref_bf16_2d desc = {};
  (void)desc;
  return st.ok() && out.size() == 4 * 4096 && r.weights_numel == 8 ? 0 : 1;
}
