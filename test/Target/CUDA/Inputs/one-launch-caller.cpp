// Calls Mixtral's router, dispatch and routing + dispatch kernels through the
// generated header at several batch sizes, against the recording driver:
// the output shows what the launch code allocates and which path it took.
#include "mixtral_router.h"

#include <cstdint>
#include <cstdio>
#include <cstdlib>

namespace k = gatec_kernels::mixtral_router_cuda;

template <typename T> static T *at(uintptr_t address) {
  return reinterpret_cast<T *>(address);
}

static void check(const k::Status &status) {
  if (!status.ok()) {
    std::printf("error: %s\n", status.message().c_str());
    std::exit(1);
  }
}

static void dispatch(int64_t tokens) {
  std::printf("dispatch T=%lld\n", static_cast<long long>(tokens));
  k::Mixtral8x7bDispatchShapes shapes;
  check(k::mixtral_8x7b_dispatch_output_shapes({tokens, 2}, shapes));
  check(k::mixtral_8x7b_dispatch(
      {at<const int32_t>(0x10000), {tokens, 2}},
      {at<int32_t>(0x20000), shapes.sorted_pairs},
      {at<int32_t>(0x30000), shapes.block_experts},
      {at<int32_t>(0x40000), shapes.expert_offsets},
      {at<int32_t>(0x50000), shapes.expert_counts},
      {at<int32_t>(0x60000), shapes.pair_positions}, nullptr));
}

static void router(int64_t tokens) {
  std::printf("router T=%lld\n", static_cast<long long>(tokens));
  check(k::mixtral_8x7b_router(
      {at<const gatec_bf16>(0x10000), {tokens, 4096}},
      {at<const gatec_bf16>(0x20000), {4096, 8}},
      {at<float>(0x30000), {tokens, 2}}, {at<int32_t>(0x40000), {tokens, 2}},
      nullptr));
}

static void routing(int64_t tokens) {
  std::printf("routing T=%lld\n", static_cast<long long>(tokens));
  k::Mixtral8x7bMoeRoutingShapes shapes;
  check(k::mixtral_8x7b_moe_routing_output_shapes({tokens, 4096}, {4096, 8},
                                                   shapes));
  check(k::mixtral_8x7b_moe_routing(
      {at<const gatec_bf16>(0x10000), {tokens, 4096}},
      {at<const gatec_bf16>(0x20000), {4096, 8}},
      {at<float>(0x30000), shapes.weights},
      {at<int32_t>(0x40000), shapes.sorted_pairs},
      {at<int32_t>(0x50000), shapes.block_experts},
      {at<int32_t>(0x60000), shapes.expert_offsets},
      {at<int32_t>(0x70000), shapes.expert_counts},
      {at<int32_t>(0x80000), shapes.pair_positions}, nullptr));
}

int main() {
  router(33);
  dispatch(5);
  dispatch(0);
  dispatch(5000);
  routing(17);
  routing(5000);
  return 0;
}
