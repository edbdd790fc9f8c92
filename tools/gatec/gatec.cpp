//===- gatec.cpp - The gatec compiler driver ------------------------------===//
//
// Part of gatec. Compiles a .gate file; everything lives in GatecDriver so
// that tests and other tools can reuse it.
//
//===----------------------------------------------------------------------===//

#include "gatec/Compiler/Driver.h"

int main(int argc, char **argv) { return gatec::runGatecMain(argc, argv); }
