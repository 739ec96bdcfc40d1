//===- TargetRegistry.cpp - The targets of this build ---------------------===//

#include "pmpd/Target/TargetBackend.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/StringExtras.h"

using namespace pmpd;

TargetRegistry::TargetRegistry() {
  backends.push_back(createCPUTargetBackend());
  backends.push_back(createGPUTargetBackend());
  backends.push_back(createHexagonTargetBackend());
}

const TargetRegistry &TargetRegistry::get() {
  static const TargetRegistry registry;
  return registry;
}

llvm::Expected<const TargetBackend &>
TargetRegistry::lookup(llvm::StringRef name) const {
  for (const auto &backend : backends) {
    if (backend->getName() != name)
      continue;
    std::string reason = backend->getUnavailableReason();
    if (!reason.empty())
      return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                     "target '%s' is not available in this "
                                     "build: %s",
                                     name.str().c_str(), reason.c_str());
    return *backend;
  }
  std::string names = llvm::join(
      llvm::map_range(backends, [](const auto &b) { return b->getName(); }),
      ", ");
  return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                 "unknown target '%s'; the targets are: %s",
                                 name.str().c_str(), names.c_str());
}

std::string TargetRegistry::describe() const {
  std::string text;
  for (const auto &backend : backends) {
    text += "  " + backend->getName().str() + ": " +
            backend->getDescription().str();
    std::string reason = backend->getUnavailableReason();
    if (!reason.empty())
      text += " (not in this build: " + reason + ")";
    text += "\n";
  }
  return text;
}
