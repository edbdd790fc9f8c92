/*===- coexist.c - Several generated headers in one C TU ------------------===//
//
// Part of gatec. Compiled by ../coexist.test with the swiglu, moe and
// dispatch_kernels headers force-included; uses something from each.
//
//===----------------------------------------------------------------------===*/

int main(void) {
  gatec_swiglu_shapes s;
  gatec_router_shapes r;
  gatec_dispatch_shapes d;
  gatec_error err;
  int rc = gatec_swiglu_output_shapes(4, 4096, 4, 4096, &s, &err);
  if (rc == GATEC_OK)
    rc = gatec_router_output_shapes(4, 64, &r, &err);
  if (rc == GATEC_OK)
    rc = gatec_dispatch_output_shapes(4, 2, 4, 64, 32, &d, &err);
  return rc;
}
