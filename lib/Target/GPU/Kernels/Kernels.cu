//===- Kernels.cu - The gpu target's kernels, one translation unit --------===//
//
// `nvcc -fatbin` compiles one source file into one fatbin without device
// linking (which would keep PTX from JIT-compiling on its own), so the
// kernel sources are compiled together from here.
//
//===----------------------------------------------------------------------===//

#include "QLinear.cu"
#include "LayerOps.cu"
