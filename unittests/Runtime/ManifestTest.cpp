//===- ManifestTest.cpp - Artifact manifests and their checks -------------===//

#include "pmpd/Artifact/Manifest.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"
#include "gtest/gtest.h"

using namespace pmpd;

namespace {

class ManifestTest : public ::testing::Test {
protected:
  void SetUp() override {
    ASSERT_FALSE(llvm::sys::fs::createUniqueDirectory("pmpd-manifest", dir));
    writeFile("weights.safetensors", std::string(1000, 'w'));
    writeFile("libmodel.so", "library bytes");
    writeFile("tokenizer.json", "{}");
    manifest.target = "cpu";
    manifest.targetArch = "generic";
    manifest.schedule = "prefill=4;decode=4@0,3@64";
    manifest.prefillBits = 4;
    manifest.decodeBits = {4, 3};
    manifest.model.architecture = "LlamaForCausalLM";
    manifest.model.hiddenSize = 64;
    manifest.model.intermediateSize = 128;
    manifest.model.numLayers = 2;
    manifest.model.numHeads = 4;
    manifest.model.numKVHeads = 2;
    manifest.model.headDim = 16;
    manifest.model.vocabSize = 100;
    manifest.model.maxPositions = 32;
    manifest.weightsFile = "weights.safetensors";
    manifest.libraryFile = "libmodel.so";
    manifest.tokenizerFile = "tokenizer.json";
    manifest.prefillEntry = Manifest::kPrefillEntry.str();
    manifest.decodeEntry = Manifest::kDecodeEntry.str();
    manifest.cachePositions = 32;
    for (const char *name :
         {"weights.safetensors", "libmodel.so", "tokenizer.json"})
      ASSERT_FALSE(static_cast<bool>(manifest.addFile(dir, name)));
    ASSERT_FALSE(static_cast<bool>(manifest.write(dir)));
  }

  void TearDown() override { llvm::sys::fs::remove_directories(dir); }

  std::string path(llvm::StringRef name) {
    llvm::SmallString<128> p(dir);
    llvm::sys::path::append(p, name);
    return std::string(p);
  }

  void writeFile(llvm::StringRef name, llvm::StringRef contents) {
    std::error_code ec;
    llvm::raw_fd_ostream os(path(name), ec);
    ASSERT_FALSE(ec);
    os << contents;
  }

  std::string loadError() {
    auto loaded = Manifest::load(dir);
    if (loaded)
      return "";
    return llvm::toString(loaded.takeError());
  }

  /// Manifest::load fails with a message that contains `expected`.
  void expectLoadError(llvm::StringRef expected) {
    std::string error = loadError();
    EXPECT_NE(error.find(expected.str()), std::string::npos) << error;
  }

  /// Writes the manifest again after a test changed it.
  void rewriteManifest() {
    ASSERT_FALSE(static_cast<bool>(manifest.write(dir)));
  }

  llvm::SmallString<128> dir;
  Manifest manifest;
};

TEST_F(ManifestTest, RoundTrips) {
  auto loaded = Manifest::load(dir);
  ASSERT_TRUE(static_cast<bool>(loaded)) << llvm::toString(loaded.takeError());
  EXPECT_EQ(loaded->schedule, manifest.schedule);
  EXPECT_EQ(loaded->decodeBits, manifest.decodeBits);
  EXPECT_EQ(loaded->prefillBits, 4u);
  EXPECT_EQ(loaded->model.numKVHeads, 2);
  EXPECT_EQ(loaded->cachePositions, 32);
  EXPECT_EQ(loaded->files.at("libmodel.so").bytes, 13);
  EXPECT_EQ(loaded->files.at("libmodel.so").xxh3.size(), 16u);
}

TEST_F(ManifestTest, MissingFile) {
  llvm::sys::fs::remove(path("libmodel.so"));
  expectLoadError("libmodel.so: No such file or directory");
}

TEST_F(ManifestTest, TruncatedWeights) {
  writeFile("weights.safetensors", std::string(999, 'w'));
  expectLoadError("999 bytes, but the manifest records 1000 "
                  "(truncated or replaced since compilation)");
}

TEST_F(ManifestTest, ReplacedWeights) {
  // Same size, other contents: the weights of another model.
  writeFile("weights.safetensors", std::string(1000, 'x'));
  expectLoadError("weights.safetensors: contents differ from the "
                  "compiled artifact");
}

TEST_F(ManifestTest, VersionMismatch) {
  manifest.formatVersion = 7;
  rewriteManifest();
  expectLoadError("artifact format version 7 is not supported "
                  "(this runtime reads version 2)");
}

TEST_F(ManifestTest, SchedulerStateOutOfRange) {
  manifest.schedulerState = -3;
  rewriteManifest();
  expectLoadError("field 'scheduler_state': must be an integer in [0, 64]");
}

TEST_F(ManifestTest, SchedulerStateWithoutLearnedSchedule) {
  manifest.schedulerState = 3;
  rewriteManifest();
  expectLoadError("field 'scheduler_state': only a learned "
                  "schedule has a state");
}

TEST_F(ManifestTest, LearnedScheduleWithoutState) {
  manifest.schedule += ";learned=scheduler.json";
  rewriteManifest();
  expectLoadError("field 'scheduler_state': a learned schedule "
                  "needs the scheduler's state size");
}

TEST_F(ManifestTest, MalformedJSON) {
  writeFile("manifest.json", "{\"format\": ");
  expectLoadError("manifest.json: malformed JSON");
}

TEST_F(ManifestTest, NotAnArtifact) {
  llvm::sys::fs::remove(path("manifest.json"));
  expectLoadError("is this an artifact directory made by "
                  "pmpd-compile?");
}

TEST_F(ManifestTest, MissingField) {
  manifest.prefillEntry = "";
  manifest.decodeEntry = "";
  writeFile("manifest.json", "{\"format\": \"pmpd-artifact\", "
                             "\"format_version\": 2}");
  expectLoadError("missing value at manifest.model");
}

TEST_F(ManifestTest, WrongFieldType) {
  std::string text;
  {
    auto buffer = llvm::MemoryBuffer::getFile(path("manifest.json"));
    ASSERT_TRUE(static_cast<bool>(buffer));
    text = (*buffer)->getBuffer().str();
  }
  std::string field = "\"kv_cache_positions\": 32";
  size_t at = text.find(field);
  ASSERT_NE(at, std::string::npos);
  text.replace(at, field.size(), "\"kv_cache_positions\": \"32\"");
  writeFile("manifest.json", text);
  expectLoadError("expected integer at manifest.kv_cache_positions");
}

TEST_F(ManifestTest, LibraryOutsideTheArtifact) {
  // A manifest must not make the runtime load code from elsewhere.
  manifest.libraryFile = "../outside/lib.so";
  rewriteManifest();
  expectLoadError("field 'library': '../outside/lib.so' is not a file name "
                  "inside the artifact directory");
}

TEST_F(ManifestTest, WeightsOutsideTheArtifact) {
  manifest.weightsFile = "/etc/passwd";
  rewriteManifest();
  expectLoadError("field 'weights': '/etc/passwd' is not a file name inside "
                  "the artifact directory");
}

TEST_F(ManifestTest, UnlistedFile) {
  manifest.files.erase("tokenizer.json");
  rewriteManifest();
  expectLoadError("field 'files': does not list 'tokenizer.json'");
}

TEST_F(ManifestTest, OtherEntryPoints) {
  // Another symbol of the library, called with the entry's arguments.
  manifest.decodeEntry = "pmpd_device_bind";
  rewriteManifest();
  expectLoadError("field 'entry_points': expected \"_mlir_ciface_prefill\" "
                  "and \"_mlir_ciface_decode\"");
}

TEST_F(ManifestTest, RecordsTheTarget) {
  manifest.target = "gpu";
  manifest.targetArch = "sm_90";
  rewriteManifest();
  auto loaded = Manifest::load(dir);
  ASSERT_TRUE(static_cast<bool>(loaded)) << llvm::toString(loaded.takeError());
  EXPECT_EQ(loaded->target, "gpu");
  EXPECT_EQ(loaded->targetArch, "sm_90");
}

} // namespace
