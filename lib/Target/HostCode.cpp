//===- HostCode.cpp - LLVM-dialect modules to object code -----------------===//

#include "pmpd/Target/HostCode.h"

#include "mlir/ExecutionEngine/OptUtils.h"
#include "mlir/Target/LLVMIR/Dialect/All.h"
#include "mlir/Target/LLVMIR/Export.h"
#include "llvm/IR/LegacyPassManager.h"
#include "llvm/IR/Module.h"
#include "llvm/MC/MCSubtargetInfo.h"
#include "llvm/MC/TargetRegistry.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Program.h"
#include "llvm/Support/TargetSelect.h"
#include "llvm/Support/ToolOutputFile.h"
#include "llvm/Target/TargetMachine.h"
#include "llvm/Target/TargetOptions.h"
#include "llvm/TargetParser/Host.h"
#include "llvm/TargetParser/SubtargetFeature.h"

#include <mutex>

using namespace mlir;
using namespace pmpd;

static llvm::Error makeError(const llvm::Twine &message) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), message);
}

std::string pmpd::hostCPUName() { return llvm::sys::getHostCPUName().str(); }

static void initializeTargets() {
  static std::once_flag once;
  std::call_once(once, [] {
    llvm::InitializeAllTargetInfos();
    llvm::InitializeAllTargets();
    llvm::InitializeAllTargetMCs();
    llvm::InitializeAllAsmPrinters();
  });
}

/// A target machine for `objectTarget`; for host code without a CPU, this
/// machine's CPU with all its features.
static llvm::Expected<std::unique_ptr<llvm::TargetMachine>>
createTargetMachine(const ObjectTarget &objectTarget) {
  initializeTargets();
  llvm::Triple triple(objectTarget.triple.empty()
                          ? llvm::sys::getProcessTriple()
                          : objectTarget.triple);
  std::string error;
  const llvm::Target *target =
      llvm::TargetRegistry::lookupTarget(triple, error);
  if (!target)
    return makeError("no LLVM target for " + triple.str() + ": " + error);
  llvm::SubtargetFeatures features(objectTarget.features);
  std::string cpuName = objectTarget.cpu;
  if (cpuName.empty()) {
    if (!objectTarget.triple.empty())
      return makeError("no CPU given for " + triple.str());
    cpuName = hostCPUName();
    for (const auto &feature : llvm::sys::getHostCPUFeatures())
      features.AddFeature(feature.first(), feature.second);
  }
  llvm::TargetOptions options;
  std::unique_ptr<llvm::TargetMachine> machine(target->createTargetMachine(
      triple, cpuName, features.getString(), options,
      objectTarget.positionIndependent ? llvm::Reloc::PIC_
                                       : llvm::Reloc::Static,
      std::nullopt, llvm::CodeGenOptLevel::Aggressive));
  if (!machine)
    return makeError("cannot create a target machine for " + triple.str());
  if (!machine->getMCSubtargetInfo()->isCPUStringValid(cpuName))
    return makeError("unknown CPU '" + cpuName + "' for " + triple.str());
  return std::move(machine);
}

static llvm::Expected<std::unique_ptr<llvm::Module>>
translate(ModuleOp module, llvm::LLVMContext &context) {
  DialectRegistry registry;
  registerAllToLLVMIRTranslations(registry);
  module->getContext()->appendDialectRegistry(registry);
  std::unique_ptr<llvm::Module> llvmModule =
      translateModuleToLLVMIR(module, context);
  if (!llvmModule)
    return makeError("cannot translate the lowered module to LLVM IR");
  return std::move(llvmModule);
}

llvm::Error pmpd::emitLLVMIR(ModuleOp module, llvm::raw_ostream &os) {
  llvm::LLVMContext context;
  auto llvmModule = translate(module, context);
  if (!llvmModule)
    return llvmModule.takeError();
  (*llvmModule)->print(os, nullptr);
  return llvm::Error::success();
}

llvm::Error pmpd::emitObject(ModuleOp module, const ObjectTarget &target,
                             StringRef objectPath) {
  llvm::LLVMContext context;
  auto llvmModule = translate(module, context);
  if (!llvmModule)
    return llvmModule.takeError();
  auto machine = createTargetMachine(target);
  if (!machine)
    return machine.takeError();
  (*llvmModule)->setDataLayout((*machine)->createDataLayout());
  (*llvmModule)->setTargetTriple((*machine)->getTargetTriple());

  auto optimize = makeOptimizingTransformer(/*optLevel=*/3, /*sizeLevel=*/0,
                                            machine->get());
  if (llvm::Error error = optimize(llvmModule->get()))
    return error;

  std::error_code ec;
  llvm::ToolOutputFile out(objectPath, ec, llvm::sys::fs::OF_None);
  if (ec)
    return makeError("cannot write " + objectPath + ": " + ec.message());
  llvm::legacy::PassManager codegen;
  if ((*machine)->addPassesToEmitFile(codegen, out.os(), nullptr,
                                      llvm::CodeGenFileType::ObjectFile))
    return makeError("the target cannot emit object files");
  codegen.run(**llvmModule);
  out.keep();
  return llvm::Error::success();
}

/// Links `objectPath` and the static `archive` into a shared library.
static llvm::Error linkSharedLibrary(StringRef objectPath, StringRef archive,
                                     StringRef libraryPath) {
  llvm::ErrorOr<std::string> driver = llvm::sys::findProgramByName("c++");
  if (!driver)
    driver = llvm::sys::findProgramByName("g++");
  if (!driver)
    driver = llvm::sys::findProgramByName("clang++");
  if (!driver)
    return makeError("no C++ compiler driver (c++, g++ or clang++) on PATH "
                     "to link the shared library");
  std::string output = libraryPath.str();
  std::string object = objectPath.str();
  std::string archiveArg = archive.str();
  SmallVector<StringRef> args = {*driver, "-shared",   "-o",
                                 output,  object,      archiveArg,
                                 "-ldl",  "-lpthread", "-lm"};
  std::string message;
  int status = llvm::sys::ExecuteAndWait(*driver, args, std::nullopt, {}, 0, 0,
                                         &message);
  if (status != 0)
    return makeError("linking " + libraryPath + " failed" +
                     (message.empty() ? "" : ": " + message));
  return llvm::Error::success();
}

llvm::Error pmpd::emitHostLibrary(ModuleOp module, StringRef cpu,
                                  StringRef archive, StringRef libraryPath) {
  std::string object = (libraryPath + ".o").str();
  ObjectTarget host;
  host.cpu = cpu.str();
  if (llvm::Error error = emitObject(module, host, object))
    return error;
  llvm::Error linked = linkSharedLibrary(object, archive, libraryPath);
  llvm::sys::fs::remove(object);
  return linked;
}
