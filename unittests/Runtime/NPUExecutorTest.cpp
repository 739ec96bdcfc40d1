//===- NPUExecutorTest.cpp - The npu executor's refusals ------------------===//
//
// What can be wrong with a hexagon artifact's program or its emulator before
// a token runs, each a clear error: the program is missing, not an ELF,
// truncated, or for another machine; the emulator is not installed, or
// crashes or exits before it says hello. (Corrupted and truncated programs
// are refused earlier by the manifest's hashes: test/e2e/hexagon-target.test.)
//
//===----------------------------------------------------------------------===//

#include "pmpd/Runtime/Executor.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"
#include "gtest/gtest.h"

#include <cstdlib>
#include <sys/stat.h>

using namespace pmpd;

namespace {

/// A valid ELF header of a 32-bit little-endian Hexagon executable, padded.
std::string hexagonHeader() {
  std::string h(64, '\0');
  h.replace(0, 4,
            "\x7f"
            "ELF");
  h[4] = 1;          // 32-bit
  h[5] = 1;          // little-endian
  h[6] = 1;          // version
  h[16] = 2;         // executable
  h[18] = char(164); // QDSP6
  return h;
}

class NPUExecutorTest : public ::testing::Test {
protected:
  void SetUp() override {
    ASSERT_FALSE(llvm::sys::fs::createUniqueDirectory("pmpd-npu", dir));
    write("weights.safetensors", std::string(1000, 'w'));
    manifest.target = "hexagon";
    manifest.targetArch = "hexagonv67+hvx128";
    manifest.model.numLayers = 2;
    manifest.model.numKVHeads = 2;
    manifest.model.headDim = 16;
    manifest.model.vocabSize = 100;
    manifest.model.hiddenSize = 64;
    manifest.weightsFile = "weights.safetensors";
    manifest.libraryFile = "model.elf";
    manifest.cachePositions = 32;
    savedPath = getenv("PATH") ? getenv("PATH") : "";
    unsetenv("PMPD_QEMU_HEXAGON");
  }
  void TearDown() override {
    setenv("PATH", savedPath.c_str(), 1);
    unsetenv("PMPD_QEMU_HEXAGON");
    llvm::sys::fs::remove_directories(dir);
  }

  std::string path(llvm::StringRef name) {
    llvm::SmallString<128> p(dir);
    llvm::sys::path::append(p, name);
    return std::string(p);
  }
  void write(llvm::StringRef name, llvm::StringRef contents) {
    std::error_code ec;
    llvm::raw_fd_ostream os(path(name), ec);
    ASSERT_FALSE(ec);
    os << contents;
  }
  /// A stand-in for qemu-hexagon.
  void fakeEmulator(llvm::StringRef script) {
    write("emulator.sh", ("#!/bin/sh\n" + script + "\n").str());
    chmod(path("emulator.sh").c_str(), 0755);
    setenv("PMPD_QEMU_HEXAGON", path("emulator.sh").c_str(), 1);
  }
  /// The error createNPUExecutor returns ("" if it succeeds).
  std::string error() {
    auto executor = createNPUExecutor(manifest, dir, SessionOptions());
    if (executor)
      return "";
    return llvm::toString(executor.takeError());
  }

  llvm::SmallString<128> dir;
  Manifest manifest;
  std::string savedPath;
};

TEST_F(NPUExecutorTest, MissingProgram) {
  EXPECT_NE(error().find("model.elf: No such file or directory"),
            std::string::npos)
      << error();
}

TEST_F(NPUExecutorTest, NotAnELF) {
  write("model.elf", "#!/bin/sh\necho hello\n");
  EXPECT_NE(
      error().find("model.elf: not an ELF file, so not a Hexagon program"),
      std::string::npos)
      << error();
}

TEST_F(NPUExecutorTest, TruncatedHeader) {
  write("model.elf", hexagonHeader().substr(0, 20));
  EXPECT_NE(error().find("model.elf: truncated ELF header (20 bytes)"),
            std::string::npos)
      << error();
}

TEST_F(NPUExecutorTest, ProgramForAnotherMachine) {
  // This test's own executable: an x86-64 ELF.
  auto self = llvm::MemoryBuffer::getFile("/proc/self/exe");
  ASSERT_TRUE(bool(self));
  write("model.elf", (*self)->getBuffer().take_front(4096));
  EXPECT_NE(error().find("model.elf: an ELF for machine 62 (64-bit), not for "
                         "Hexagon (machine 164, 32-bit little-endian)"),
            std::string::npos)
      << error();
}

TEST_F(NPUExecutorTest, EmulatorNotInstalled) {
  write("model.elf", hexagonHeader());
  setenv("PATH", dir.c_str(), 1);
  EXPECT_NE(error().find("qemu-hexagon not found on PATH"), std::string::npos)
      << error();
  setenv("PMPD_QEMU_HEXAGON", path("no-such-emulator").c_str(), 1);
  EXPECT_NE(error().find("no-such-emulator: not an executable program"),
            std::string::npos)
      << error();
}

TEST_F(NPUExecutorTest, EmulatorCrashes) {
  write("model.elf", hexagonHeader());
  fakeEmulator("echo 'qemu: uncaught target signal 11 (Segmentation fault)' "
               ">&2; kill -SEGV $$");
  std::string message = error();
  EXPECT_NE(message.find("stopped answering: it was killed by signal 11"),
            std::string::npos)
      << message;
  EXPECT_NE(message.find("qemu: uncaught target signal 11"), std::string::npos)
      << message;
}

TEST_F(NPUExecutorTest, EmulatorExitsBeforeHello) {
  write("model.elf", hexagonHeader());
  fakeEmulator("echo \"$1 $2 $3\" >&2; exit 3");
  std::string message = error();
  EXPECT_NE(message.find("stopped answering: it exited with status 3"),
            std::string::npos)
      << message;
  // The program, the weights file and its size are its arguments.
  EXPECT_NE(message.find("model.elf " + path("weights.safetensors") + " 1000"),
            std::string::npos)
      << message;
}

TEST_F(NPUExecutorTest, ProgramThatDoesNotSpeakTheProtocol) {
  write("model.elf", hexagonHeader());
  fakeEmulator("printf '%080d' 0");
  EXPECT_NE(error().find("does not speak pmpd's NPU protocol"),
            std::string::npos)
      << error();
}

} // namespace
