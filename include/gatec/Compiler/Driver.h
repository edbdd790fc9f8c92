//===- Driver.h - The gatec command -------------------------------*- C++ -*-===//
//
// Part of gatec. The command line over the compiler library
// (gatec/Compiler.h): options in, files or stdout out.
//
//===----------------------------------------------------------------------===//

#ifndef GATEC_COMPILER_DRIVER_H
#define GATEC_COMPILER_DRIVER_H

namespace gatec {

/// The whole gatec command: parses `argv`, compiles, returns the exit
/// status (0, or 1 after any error).
int runGatecMain(int argc, char **argv);

} // namespace gatec

#endif // GATEC_COMPILER_DRIVER_H
