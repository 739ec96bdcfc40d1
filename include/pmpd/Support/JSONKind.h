//===- JSONKind.h - Naming the kind of a JSON value -------------*- C++ -*-===//
//
// Error messages about JSON files say what was found where something else
// was expected ("got a string"); one wording for every reader.
//
//===----------------------------------------------------------------------===//

#ifndef PMPD_SUPPORT_JSONKIND_H
#define PMPD_SUPPORT_JSONKIND_H

#include "llvm/Support/JSON.h"

namespace pmpd {

/// "null", "a boolean", "a number", "a string", "an array" or "an object".
inline const char *jsonKind(const llvm::json::Value &v) {
  switch (v.kind()) {
  case llvm::json::Value::Null:
    return "null";
  case llvm::json::Value::Boolean:
    return "a boolean";
  case llvm::json::Value::Number:
    return "a number";
  case llvm::json::Value::String:
    return "a string";
  case llvm::json::Value::Array:
    return "an array";
  case llvm::json::Value::Object:
    return "an object";
  }
  return "?";
}

} // namespace pmpd

#endif // PMPD_SUPPORT_JSONKIND_H
