//===- pmpd-compile.cpp - The pmpd ahead-of-time model compiler -----------===//
//
// Opens a Hugging Face model directory (fp16 or any-precision packed),
// imports it as an MLIR module, specializes it for a PMPD schedule, and
// either prints a stage (MLIR after import, after the pmpd passes, after the
// lowering to the LLVM dialect, LLVM IR) or writes a runnable artifact
// directory (manifest, weights, tokenizer, shared library). Every stage is
// reachable from here, and so are MLIR's debugging options
// (--mlir-print-ir-after-all, --mlir-timing, ...).
//
//===----------------------------------------------------------------------===//

#include "pmpd/Dialect/PMPD/IR/LearnedScheduler.h"
#include "pmpd/Dialect/PMPD/IR/ScheduleSpec.h"
#include "pmpd/Dialect/PMPD/Transforms/Passes.h"
#include "pmpd/Import/ModelImporter.h"
#include "pmpd/Import/WeightLayout.h"
#include "pmpd/Model/HFModel.h"
#include "pmpd/Artifact/Manifest.h"
#include "pmpd/Target/HostCode.h"
#include "pmpd/Target/TargetBackend.h"
#include "pmpd/Target/WeightBinding.h"

#include "mlir/IR/AsmState.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Support/FileUtilities.h"
#include "mlir/Support/Timing.h"

#include "mlir/InitAllDialects.h"
#include "mlir/InitAllExtensions.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/ToolOutputFile.h"
#include "llvm/Support/WithColor.h"
#include "llvm/Support/raw_ostream.h"

using namespace llvm;
using namespace pmpd;

namespace {
/// How far to compile.
enum class Emit { MLIRImported, MLIR, MLIRLLVM, LLVMIR, Artifact };
} // namespace

static cl::OptionCategory category("pmpd-compile options");
static cl::OptionCategory mlirCategory(
    "MLIR options (printing, debugging and timing of the pass pipeline)");

static cl::opt<std::string> modelDir(cl::Positional, cl::Required,
                                     cl::desc("<model dir>"),
                                     cl::cat(category));
static cl::opt<Emit>
    emit("emit", cl::desc("What to produce"), cl::init(Emit::MLIRImported),
         cl::init(Emit::Artifact),
         cl::values(clEnumValN(Emit::MLIRImported, "mlir-imported",
                               "The imported module: weight declarations and a "
                               "phase-agnostic @forward, no precisions"),
                    clEnumValN(Emit::MLIR, "mlir",
                               "After the pmpd passes: @prefill, one "
                               "@decode_b<K> per decode precision, @decode"),
                    clEnumValN(Emit::MLIRLLVM, "mlir-llvm",
                               "Lowered to the LLVM dialect for the target"),
                    clEnumValN(Emit::LLVMIR, "llvm", "LLVM IR"),
                    clEnumValN(Emit::Artifact, "artifact",
                               "A runnable artifact directory (default)")),
         cl::cat(category));
static cl::opt<std::string> schedule(
    "schedule",
    cl::desc("PMPD schedule, e.g. 'prefill=4;decode=4@0,3@64,2@128' (16 = "
             "fp16), 'prefill=4;decode=learned:FILE' for a learned per-step "
             "scheduler (scripts/train_scheduler.py), or "
             "'prefill=4;decode=kv-cache:FILE' for PMPD's prompt-adaptive "
             "scheduler (scripts/train_kv_scheduler.py). Default: prefill at the "
             "parent precision and one step down every 64 decode steps to the "
             "seed for a packed model; fp16 throughout for an fp16 model"),
    cl::value_desc("spec"), cl::cat(category));
static cl::opt<std::string> overrides(
    "overrides",
    cl::desc("Fixed precisions of layers or projections, e.g. "
             "'layers.0=4,layers.5=4'"),
    cl::value_desc("name=bits,..."), cl::cat(category));
static cl::opt<std::string> targetName("target",
                                       cl::desc("Target (set in main)"),
                                       cl::value_desc("name"), cl::init("cpu"),
                                       cl::cat(category));
static cl::opt<std::string> targetCPU(
    "target-cpu",
    cl::desc("CPU the host code is generated for, e.g. x86-64-v3 for an "
             "artifact that runs on other machines (default: this machine's "
             "CPU for --target cpu, x86-64-v2 for the host code of device "
             "targets)"),
    cl::value_desc("name"), cl::cat(category));
static cl::opt<std::string>
    outputPath("o",
               cl::desc("Output file, or the artifact directory for "
                        "--emit=artifact"),
               cl::value_desc("path"), cl::init("-"), cl::cat(category));

static int fail(const Twine &message) {
  WithColor::error(errs(), "pmpd-compile") << message << "\n";
  return 1;
}

/// The artifact's copy of a learned schedule's classifier.
static constexpr StringLiteral kSchedulerFile = "scheduler.json";

/// The default schedule: fp16 throughout for an fp16 model; for a packed
/// one, prefill at the parent precision and decode stepping down one bit
/// every 64 steps to the seed (4@0,3@64,2@128 for the default 2..4 bits).
static Expected<std::string> defaultSchedule(const HFModel &model) {
  Expected<WeightLayout> layout = detectWeightLayout(model);
  if (!layout)
    return layout.takeError();
  std::optional<PackedBits> bits = layout->get(0, Projection::Q);
  if (!bits)
    return std::string("prefill=16;decode=16@0");
  std::string spec = "prefill=" + std::to_string(bits->parent) + ";decode=";
  for (unsigned b = bits->parent; b >= bits->seed; --b)
    spec += (b == bits->parent ? "" : ",") + std::to_string(b) + "@" +
            std::to_string(64 * (bits->parent - b));
  return spec;
}

/// Writes the weights file the module will read, binds every pmpd.weight to
/// it and lowers the module to the LLVM dialect for the target.
static Error bindAndLower(mlir::ModuleOp module, const HFModel &model,
                          StringRef weightsPath, const TargetBackend &target,
                          const TargetOptions &options,
                          mlir::TimingScope &timing) {
  {
    mlir::TimingScope scope = timing.nest("Weights");
    if (Error error = writeWeightsFile(module, model, weightsPath))
      return error;
    auto weights = SafeTensorsFile::open(weightsPath);
    if (!weights)
      return weights.takeError();
    if (Error error = bindWeights(module, **weights))
      return error;
  }
  mlir::TimingScope scope = timing.nest("Lowering");
  if (Error error = target.prepareModule(module))
    return error;
  mlir::PassManager pm(module->getContext());
  if (failed(mlir::applyPassManagerCLOptions(pm)))
    return createStringError(inconvertibleErrorCode(),
                             "cannot apply the MLIR pass manager options");
  target.buildLoweringPipeline(pm, options);
  if (failed(pm.run(module)))
    return createStringError(inconvertibleErrorCode(),
                             "lowering to the %s target failed",
                             target.getName().str().c_str());
  return Error::success();
}

/// Writes the artifact directory: weights, library, tokenizer, manifest.
static Error writeArtifact(mlir::ModuleOp module, const HFModel &model,
                           StringRef dir, const TargetBackend &target,
                           const TargetOptions &options,
                           mlir::TimingScope &timing) {
  // Fail before the expensive work if the artifact cannot be completed.
  SmallString<256> tokenizer(model.dir());
  sys::path::append(tokenizer, "tokenizer.json");
  if (!sys::fs::exists(tokenizer))
    return createStringError(inconvertibleErrorCode(),
                             "%s: no tokenizer.json, which an artifact needs "
                             "(pmpd-synth takes one with --tokenizer FILE)",
                             model.dir().str().c_str());
  if (std::error_code ec = sys::fs::create_directories(dir))
    return createStringError(ec, "cannot create %s: %s", dir.str().c_str(),
                             ec.message().c_str());
  auto path = [&](StringRef name) {
    SmallString<256> p(dir);
    sys::path::append(p, name);
    return std::string(p);
  };
  Manifest manifest;
  manifest.target = target.getName().str();
  manifest.targetArch = target.getArch(options);
  manifest.weightsFile = "weights.safetensors";
  manifest.libraryFile = target.getLibraryFileName().str();
  manifest.tokenizerFile = "tokenizer.json";
  manifest.prefillEntry = Manifest::kPrefillEntry.str();
  manifest.decodeEntry = Manifest::kDecodeEntry.str();
  manifest.model = model.config();
  manifest.cachePositions = model.config().maxPositions;
  auto scheduleAttr = module->getAttrOfType<ScheduleAttr>(
      PMPDDialect::getScheduleAttrName());
  std::string learnedSource;
  if (scheduleAttr.isLearned()) {
    // The artifact keeps its own copy of the classifier it was compiled with.
    learnedSource = scheduleAttr.getLearned().getValue().str();
    scheduleAttr = ScheduleAttr::get(
        module->getContext(), scheduleAttr.getPrefill(), scheduleAttr.getBits(),
        scheduleAttr.getSteps(), scheduleAttr.getMonotone(),
        mlir::StringAttr::get(module->getContext(), kSchedulerFile),
        scheduleAttr.getKvCache());
    // A kv-cache schedule's state: decided, then each later stage's start.
    manifest.schedulerState = scheduleAttr.isKVCacheLearned()
                                  ? int64_t(scheduleAttr.getBits().size())
                                  : LearnedScheduler::kStateSize;
  }
  manifest.schedule = formatScheduleSpec(scheduleAttr);
  manifest.prefillBits = scheduleAttr.getPrefill();
  SmallVector<unsigned> decodeBits = scheduleAttr.getDistinctDecodeBits();
  manifest.decodeBits.assign(decodeBits.begin(), decodeBits.end());

  addArtifactGeometry(module, ArtifactGeometry::of(manifest));
  if (Error error = bindAndLower(module, model, path(manifest.weightsFile),
                                 target, options, timing))
    return error;
  {
    mlir::TimingScope scope = timing.nest("Code generation");
    if (Error error =
            target.emitLibrary(module, path(manifest.libraryFile), options))
      return error;
  }
  if (std::error_code ec =
          sys::fs::copy_file(tokenizer, path(manifest.tokenizerFile)))
    return createStringError(ec, "cannot copy %s: %s", tokenizer.c_str(),
                             ec.message().c_str());
  SmallVector<StringRef> files{manifest.weightsFile, manifest.libraryFile,
                               manifest.tokenizerFile};
  files.append(target.getAuxiliaryFileNames());
  if (!learnedSource.empty()) {
    if (std::error_code ec =
            sys::fs::copy_file(learnedSource, path(kSchedulerFile)))
      return createStringError(ec, "cannot copy %s: %s", learnedSource.c_str(),
                               ec.message().c_str());
    files.push_back(kSchedulerFile);
  }
  for (StringRef name : files)
    if (Error error = manifest.addFile(dir, name))
      return error;
  return manifest.write(dir);
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
  const TargetRegistry &targets = TargetRegistry::get();
  std::string targetHelp = "Target to compile for (default cpu):\n" +
                           targets.describe();
  targetName.setDescription(targetHelp);
  cl::ParseCommandLineOptions(
      argc, argv,
      "pmpd ahead-of-time model compiler\n\n"
      "Compiles a Hugging Face model directory (config.json and safetensors;\n"
      "fp16, or any-precision packed by pmpd-quantize) for a PMPD schedule\n"
      "into a runnable artifact directory, or prints a stage of it.\n\n"
      "  pmpd-compile MODEL_DIR -o ART_DIR [--schedule S] [--target NAME]\n"
      "  pmpd-compile MODEL_DIR --emit=mlir [--schedule S] [-o FILE]\n");

  mlir::DialectRegistry registry;
  registerImportDialects(registry);
  mlir::registerAllDialects(registry);
  mlir::registerAllExtensions(registry);
  mlir::MLIRContext context(registry);

  mlir::DefaultTimingManager timingManager;
  mlir::applyDefaultTimingManagerCLOptions(timingManager);
  mlir::TimingScope timing = timingManager.getRootScope();

  Expected<const TargetBackend &> target = targets.lookup(targetName);
  if (!target)
    return fail(toString(target.takeError()));
  TargetOptions options;
  options.cpu = targetCPU;

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

  if (emit == Emit::Artifact && outputPath == "-")
    return fail("--emit=artifact needs -o ARTIFACT_DIR");

  if (emit != Emit::MLIRImported) {
    Expected<std::unique_ptr<HFModel>> model =
        HFModel::open(modelDir, /*requireProjections=*/false);
    if (!model)
      return fail(toString(model.takeError()));
    std::string spec = schedule;
    if (spec.empty()) {
      Expected<std::string> chosen = defaultSchedule(**model);
      if (!chosen)
        return fail(toString(chosen.takeError()));
      spec = *chosen;
    }
    mlir::PassManager pm(&context);
    if (failed(mlir::applyPassManagerCLOptions(pm)))
      return fail("cannot apply the MLIR pass manager options");
    pm.enableTiming(timing);
    buildPMPDPhasePipeline(pm, spec, overrides);
    if (failed(pm.run(*module)))
      return fail("the pmpd passes failed on " + modelDir);

    if (emit == Emit::Artifact) {
      if (Error error = writeArtifact(*module, **model, outputPath, *target,
                                      options, timing))
        return fail(toString(std::move(error)));
      return 0;
    }
    if (emit == Emit::MLIRLLVM || emit == Emit::LLVMIR) {
      // The lowered code reads weights at offsets of a particular weights
      // file: bind to a temporary one, as an artifact would.
      SmallString<128> weights;
      if (std::error_code ec = sys::fs::createTemporaryFile(
              "pmpd-weights", "safetensors", weights))
        return fail("cannot create a temporary file: " + ec.message());
      Error error =
          bindAndLower(*module, **model, weights, *target, options, timing);
      sys::fs::remove(weights);
      if (error)
        return fail(toString(std::move(error)));
    }
  }

  std::string message;
  std::unique_ptr<ToolOutputFile> output =
      mlir::openOutputFile(outputPath, &message);
  if (!output)
    return fail(message);
  {
    mlir::TimingScope printTiming = timing.nest("Output");
    if (emit == Emit::LLVMIR) {
      if (Error error = emitLLVMIR(*module, output->os()))
        return fail(toString(std::move(error)));
    } else {
      module->print(output->os());
      output->os() << "\n";
    }
  }
  output->os().flush();
  if (output->os().has_error())
    return fail("cannot write " + outputPath + ": " +
                output->os().error().message());
  output->keep();
  return 0;
}
