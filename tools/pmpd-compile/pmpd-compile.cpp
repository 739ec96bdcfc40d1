//===- pmpd-compile.cpp - The pmpd ahead-of-time model compiler -----------===//
//
// Opens a Hugging Face model directory (fp16 or any-precision packed),
// imports it as an MLIR module, runs the pass pipeline the requested stage
// needs, and prints the result. Every stage is reachable from here, and so
// are MLIR's debugging options (--mlir-print-ir-after-all, --mlir-timing, ...),
// so that a compilation can be inspected without a second tool.
//
//===----------------------------------------------------------------------===//

#include "pmpd/Import/ModelImporter.h"
#include "pmpd/Model/HFModel.h"

#include "mlir/IR/AsmState.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Support/FileUtilities.h"
#include "mlir/Support/Timing.h"

#include "llvm/Support/CommandLine.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/ToolOutputFile.h"
#include "llvm/Support/WithColor.h"
#include "llvm/Support/raw_ostream.h"

using namespace llvm;
using namespace pmpd;

namespace {
/// How far to compile.
enum class Emit { MLIRImported };
} // namespace

static cl::OptionCategory category("pmpd-compile options");
static cl::OptionCategory mlirCategory(
    "MLIR options (printing, debugging and timing of the pass pipeline)");

static cl::opt<std::string> modelDir(cl::Positional, cl::Required,
                                     cl::desc("<model dir>"),
                                     cl::cat(category));
static cl::opt<Emit>
    emit("emit", cl::desc("What to produce"), cl::init(Emit::MLIRImported),
         cl::values(clEnumValN(Emit::MLIRImported, "mlir-imported",
                               "The imported module: weight declarations and a "
                               "phase-agnostic @forward, no precisions")),
         cl::cat(category));
static cl::opt<std::string> outputPath("o", cl::desc("Output file"),
                                       cl::value_desc("file"), cl::init("-"),
                                       cl::cat(category));

static int fail(const Twine &message) {
  WithColor::error(errs(), "pmpd-compile") << message << "\n";
  return 1;
}

/// Adds the passes that take an imported module to `emit`. The imported
/// module itself needs none.
static void buildPipeline(mlir::PassManager &pm, Emit stage) {
  switch (stage) {
  case Emit::MLIRImported:
    return;
  }
}

int main(int argc, char **argv) {
  InitLLVM init(argc, argv);
  mlir::registerMLIRContextCLOptions();
  mlir::registerPassManagerCLOptions();
  mlir::registerAsmPrinterCLOptions();
  mlir::registerDefaultTimingManagerCLOptions();
  // Show MLIR's own options under a heading of their own, and hide the
  // options every LLVM tool inherits, so that --help says what matters here.
  for (auto &option : cl::getRegisteredOptions())
    if (option.first.starts_with("mlir-"))
      option.second->addCategory(mlirCategory);
  cl::HideUnrelatedOptions({&category, &mlirCategory});
  cl::ParseCommandLineOptions(
      argc, argv,
      "pmpd ahead-of-time model compiler\n\n"
      "Compiles a Hugging Face model directory (config.json and safetensors;\n"
      "fp16, or any-precision packed by the quantizer) and prints the "
      "requested stage.\n");

  mlir::DialectRegistry registry;
  registerImportDialects(registry);
  mlir::MLIRContext context(registry);

  mlir::DefaultTimingManager timingManager;
  mlir::applyDefaultTimingManagerCLOptions(timingManager);
  mlir::TimingScope timing = timingManager.getRootScope();

  mlir::OwningOpRef<mlir::ModuleOp> module;
  {
    mlir::TimingScope importTiming = timing.nest("Import");
    Expected<std::unique_ptr<HFModel>> model =
        HFModel::open(modelDir, /*requireProjections=*/false);
    if (!model)
      return fail(toString(model.takeError()));
    Expected<mlir::OwningOpRef<mlir::ModuleOp>> imported =
        importModel(context, **model);
    if (!imported)
      return fail(toString(imported.takeError()));
    module = std::move(*imported);
  }

  mlir::PassManager pm(&context);
  if (failed(mlir::applyPassManagerCLOptions(pm)))
    return fail("cannot apply the MLIR pass manager options");
  pm.enableTiming(timing);
  buildPipeline(pm, emit);
  if (failed(pm.run(*module)))
    return fail("the pass pipeline failed on " + modelDir);

  std::string message;
  std::unique_ptr<ToolOutputFile> output =
      mlir::openOutputFile(outputPath, &message);
  if (!output)
    return fail(message);
  {
    mlir::TimingScope printTiming = timing.nest("Output");
    module->print(output->os());
    output->os() << "\n";
  }
  output->os().flush();
  if (output->os().has_error())
    return fail("cannot write " + outputPath + ": " +
                output->os().error().message());
  output->keep();
  return 0;
}
