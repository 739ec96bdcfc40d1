//===- MemRefDescriptor.h - MLIR's C interface for memrefs ------*- C++ -*-===//
//
// How compiled code passes a ranked memref through its C interface
// (llvm.emit_c_interface): the runtime builds these to call the entry points.
//
//===----------------------------------------------------------------------===//

#ifndef PMPD_RUNTIME_MEMREFDESCRIPTOR_H
#define PMPD_RUNTIME_MEMREFDESCRIPTOR_H

#include <cstdint>

namespace pmpd {

template <typename T, int N> struct MemRefDescriptor {
  T *allocated;
  T *aligned;
  int64_t offset;
  int64_t sizes[N];
  int64_t strides[N];
};

/// A descriptor of contiguous row-major `data` with the given sizes.
template <typename T, int N>
MemRefDescriptor<T, N> contiguousMemRef(T *data, const int64_t (&sizes)[N]) {
  MemRefDescriptor<T, N> m{data, data, 0, {}, {}};
  int64_t stride = 1;
  for (int i = N - 1; i >= 0; --i) {
    m.sizes[i] = sizes[i];
    m.strides[i] = stride;
    stride *= sizes[i];
  }
  return m;
}

} // namespace pmpd

#endif // PMPD_RUNTIME_MEMREFDESCRIPTOR_H
