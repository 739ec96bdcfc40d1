//===- ManifestTest.cpp - Artifact manifests and their checks -------------===//

#include "pmpd/Runtime/Manifest.h"

#include "llvm/Support/FileSystem.h"
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
    manifest.cpu = "generic";
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
    manifest.prefillEntry = "_mlir_ciface_prefill";
    manifest.decodeEntry = "_mlir_ciface_decode";
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
  EXPECT_NE(loadError().find("libmodel.so: No such file or directory"),
            std::string::npos)
      << loadError();
}

TEST_F(ManifestTest, TruncatedWeights) {
  writeFile("weights.safetensors", std::string(999, 'w'));
  EXPECT_NE(loadError().find("999 bytes, but the manifest records 1000 "
                             "(truncated or replaced since compilation)"),
            std::string::npos)
      << loadError();
}

TEST_F(ManifestTest, ReplacedWeights) {
  // Same size, other contents: the weights of another model.
  writeFile("weights.safetensors", std::string(1000, 'x'));
  EXPECT_NE(loadError().find("weights.safetensors: contents differ from the "
                             "compiled artifact"),
            std::string::npos)
      << loadError();
}

TEST_F(ManifestTest, VersionMismatch) {
  manifest.formatVersion = 7;
  ASSERT_FALSE(static_cast<bool>(manifest.write(dir)));
  EXPECT_NE(loadError().find("artifact format version 7 is not supported "
                             "(this runtime reads version 1)"),
            std::string::npos)
      << loadError();
}

TEST_F(ManifestTest, SchedulerStateOutOfRange) {
  manifest.schedulerState = -3;
  ASSERT_FALSE(static_cast<bool>(manifest.write(dir)));
  EXPECT_NE(loadError().find("field 'scheduler_state': missing or not an "
                             "integer in [0, 64]"),
            std::string::npos)
      << loadError();
}

TEST_F(ManifestTest, SchedulerStateWithoutLearnedSchedule) {
  manifest.schedulerState = 3;
  ASSERT_FALSE(static_cast<bool>(manifest.write(dir)));
  EXPECT_NE(loadError().find("field 'scheduler_state': only a learned "
                             "schedule has a state"),
            std::string::npos)
      << loadError();
}

TEST_F(ManifestTest, LearnedScheduleWithoutState) {
  manifest.schedule += ";learned=scheduler.json";
  ASSERT_FALSE(static_cast<bool>(manifest.write(dir)));
  EXPECT_NE(loadError().find("field 'scheduler_state': a learned schedule "
                             "needs the scheduler's state size"),
            std::string::npos)
      << loadError();
}

TEST_F(ManifestTest, MalformedJSON) {
  writeFile("manifest.json", "{\"format\": ");
  EXPECT_NE(loadError().find("manifest.json: malformed JSON"),
            std::string::npos)
      << loadError();
}

TEST_F(ManifestTest, NotAnArtifact) {
  llvm::sys::fs::remove(path("manifest.json"));
  EXPECT_NE(loadError().find("is this an artifact directory made by "
                             "pmpd-compile?"),
            std::string::npos)
      << loadError();
}

TEST_F(ManifestTest, MissingField) {
  manifest.prefillEntry = "";
  manifest.decodeEntry = "";
  writeFile("manifest.json", "{\"format\": \"pmpd-artifact\", "
                             "\"format_version\": 1}");
  EXPECT_NE(loadError().find("field 'target': missing"), std::string::npos)
      << loadError();
}

} // namespace
