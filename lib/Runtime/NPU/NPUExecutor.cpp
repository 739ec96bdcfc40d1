//===- NPUExecutor.cpp - Running Hexagon artifacts as offload processes ---===//
//
// A hexagon artifact's code is a static Hexagon ELF that serves requests on
// its stdin and stdout (include/pmpd/Runtime/NPUProtocol.h). Off the phone
// it runs under QEMU's Hexagon user-mode emulator, as the DSP is reached
// through FastRPC on one: the weights (mapped by the process from the
// artifact's file) and the KV cache live in the emulated process; the host
// sends token ids and reads back logits. Everything that can go wrong
// before or while it runs (no emulator, a binary for another machine, a
// process that dies) is an error naming the cause.
//
//===----------------------------------------------------------------------===//

#include "pmpd/Runtime/Executor.h"
#include "pmpd/Runtime/NPUProtocol.h"

#include "llvm/ADT/SmallString.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Program.h"

#include <cerrno>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

using namespace pmpd;

namespace {

/// The emulator, unless PMPD_QEMU_HEXAGON names another program.
constexpr llvm::StringLiteral kEmulator = "qemu-hexagon";
constexpr llvm::StringLiteral kEmulatorVariable = "PMPD_QEMU_HEXAGON";

llvm::Error makeError(const llvm::Twine &message) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), message);
}

/// Checks that `path` is a Hexagon executable that QEMU can run: a 32-bit
/// little-endian ELF executable for machine QDSP6 (164).
llvm::Error checkHexagonELF(llvm::StringRef path) {
  auto file = llvm::MemoryBuffer::getFile(path, /*IsText=*/false,
                                          /*RequiresNullTerminator=*/false);
  if (!file)
    return makeError(path + ": " + file.getError().message());
  llvm::StringRef bytes = (*file)->getBuffer();
  if (!bytes.starts_with("\x7f"
                         "ELF"))
    return makeError(path + ": not an ELF file, so not a Hexagon program");
  constexpr size_t kHeaderBytes = 52;
  if (bytes.size() < kHeaderBytes)
    return makeError(path + ": truncated ELF header (" +
                     llvm::Twine(bytes.size()) + " bytes)");
  auto u16 = [&](size_t at) {
    return uint16_t(uint8_t(bytes[at]) | uint8_t(bytes[at + 1]) << 8);
  };
  constexpr uint16_t kMachineHexagon = 164, kExecutable = 2;
  if (bytes[4] != 1 || bytes[5] != 1 || u16(18) != kMachineHexagon)
    return makeError(path + ": an ELF for machine " + llvm::Twine(u16(18)) +
                     (bytes[4] == 2 ? " (64-bit)" : "") +
                     ", not for Hexagon (machine 164, 32-bit little-endian)");
  if (u16(16) != kExecutable)
    return makeError(path + ": a Hexagon ELF but not an executable");
  return llvm::Error::success();
}

class NPUExecutor final : public Executor {
public:
  explicit NPUExecutor(const Manifest &manifest) : manifest(manifest) {}
  ~NPUExecutor() override;

  llvm::Error open(llvm::StringRef dir);

  llvm::Error prefill(llvm::ArrayRef<int64_t> ids, int64_t position,
                      std::vector<float> &logits) override {
    PMPDNPURequest request{PMPD_NPU_PREFILL, 0, position, int64_t(ids.size()),
                           0};
    if (llvm::Error error = send(&request, sizeof request))
      return error;
    if (llvm::Error error = send(ids.data(), ids.size() * sizeof(int64_t)))
      return error;
    int32_t bits;
    return receiveLogits(logits, bits);
  }
  llvm::Error decode(int64_t id, int64_t step, int64_t position,
                     std::vector<float> &logits, unsigned &bits) override {
    PMPDNPURequest request{PMPD_NPU_DECODE, 0, step, position, id};
    if (llvm::Error error = send(&request, sizeof request))
      return error;
    int32_t chosen;
    if (llvm::Error error = receiveLogits(logits, chosen))
      return error;
    bits = unsigned(chosen);
    return llvm::Error::success();
  }
  llvm::Error resetSchedule() override {
    PMPDNPURequest request{PMPD_NPU_RESET, 0, 0, 0, 0};
    if (llvm::Error error = send(&request, sizeof request))
      return error;
    PMPDNPUReply reply;
    if (llvm::Error error = receive(&reply, sizeof reply))
      return error;
    return checkStatus(reply.status);
  }
  std::string describe() const override {
    return "npu (" + manifest.targetArch + ", under " + emulator + ")";
  }
  int32_t threads() const override { return 1; }

private:
  llvm::Error start(llvm::StringRef binary, llvm::StringRef weights,
                    int64_t weightsBytes);
  llvm::Error send(const void *data, size_t bytes);
  llvm::Error receive(void *data, size_t bytes);
  llvm::Error receiveLogits(std::vector<float> &logits, int32_t &bits);
  llvm::Error checkStatus(int32_t status);
  /// Why the process stopped talking: its exit status and what it wrote to
  /// stderr.
  llvm::Error processFailure(const llvm::Twine &what);

  Manifest manifest;
  std::string emulator, binary;
  pid_t child = -1;
  int channel = -1; // The host's end of the process's stdin and stdout.
  llvm::SmallString<128> stderrPath;
};

} // namespace

NPUExecutor::~NPUExecutor() {
  if (channel >= 0) {
    PMPDNPURequest quit{PMPD_NPU_QUIT, 0, 0, 0, 0};
    (void)::send(channel, &quit, sizeof quit, MSG_NOSIGNAL);
    ::close(channel);
  }
  if (child > 0) {
    int status;
    while (waitpid(child, &status, 0) < 0 && errno == EINTR) {
    }
  }
  if (!stderrPath.empty())
    llvm::sys::fs::remove(stderrPath);
}

llvm::Error NPUExecutor::open(llvm::StringRef dir) {
  binary = Manifest::pathIn(dir, manifest.libraryFile);
  if (llvm::Error error = checkHexagonELF(binary))
    return error;
  std::string weights = Manifest::pathIn(dir, manifest.weightsFile);
  uint64_t weightsBytes = 0;
  if (std::error_code ec = llvm::sys::fs::file_size(weights, weightsBytes))
    return makeError(weights + ": " + ec.message());

  const char *chosen = getenv(kEmulatorVariable.data());
  if (chosen && *chosen) {
    emulator = chosen;
    if (!llvm::sys::fs::can_execute(emulator))
      return makeError(llvm::Twine(kEmulatorVariable) + "=" + emulator +
                       ": not an executable program");
  } else {
    auto found = llvm::sys::findProgramByName(kEmulator);
    if (!found)
      return makeError(
          "qemu-hexagon not found on PATH: hexagon artifacts run under QEMU's "
          "Hexagon user-mode emulator (Debian package qemu-user; "
          "scripts/setup.sh installs it)");
    emulator = *found;
  }
  return start(binary, weights, int64_t(weightsBytes));
}

llvm::Error NPUExecutor::start(llvm::StringRef binaryPath,
                               llvm::StringRef weights, int64_t weightsBytes) {
  int fds[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0)
    return makeError(llvm::Twine("cannot create the NPU channel: ") +
                     strerror(errno));
  channel = fds[0];
  if (std::error_code ec =
          llvm::sys::fs::createTemporaryFile("pmpd-npu", "stderr", stderrPath))
    return makeError("cannot create a file for the NPU process's errors: " +
                     ec.message());

  int errors = ::open(stderrPath.c_str(), O_WRONLY | O_TRUNC | O_CLOEXEC);
  if (errors < 0)
    return makeError("cannot open " + stderrPath + ": " + strerror(errno));
  std::string bytes = std::to_string(weightsBytes);
  std::string binaryArg = binaryPath.str(), weightsArg = weights.str();
  char *argv[] = {emulator.data(), binaryArg.data(), weightsArg.data(),
                  bytes.data(), nullptr};
  // fork and exec rather than posix_spawn: the process must die with its
  // host (a killed pmpd-run would otherwise leave it computing), which only
  // the child can ask for. Only async-signal-safe calls after the fork.
  pid_t host = getpid();
  child = fork();
  if (child == 0) {
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != host)
      _exit(126);
    if (dup2(fds[1], 0) < 0 || dup2(fds[1], 1) < 0 || dup2(errors, 2) < 0)
      _exit(126);
    execv(emulator.c_str(), argv);
    _exit(127);
  }
  int forkError = errno;
  ::close(fds[1]);
  ::close(errors);
  if (child < 0) {
    child = -1;
    return makeError("cannot start " + emulator + ": " + strerror(forkError));
  }

  PMPDNPUHello hello;
  if (llvm::Error error = receive(&hello, sizeof hello))
    return error;
  if (memcmp(hello.magic, PMPD_NPU_MAGIC, sizeof hello.magic) != 0)
    return makeError(binary + ": does not speak pmpd's NPU protocol (not "
                              "made by pmpd-compile --target hexagon?)");
  if (hello.status == PMPD_NPU_NO_WEIGHTS)
    return makeError(binary + ": the NPU process cannot map " + weights);
  if (llvm::Error error = checkStatus(hello.status))
    return error;
  ArtifactGeometry expected = ArtifactGeometry::of(manifest);
  ArtifactGeometry compiled = ArtifactGeometry::fromValues(
      llvm::ArrayRef<int64_t>(hello.geometry, PMPD_NPU_GEOMETRY_FIELDS));
  if (compiled != expected)
    return makeError(binary + " was compiled for " + compiled.describe() +
                     ", but the manifest says " + expected.describe() +
                     ": the manifest was edited or belongs to another "
                     "artifact");
  return llvm::Error::success();
}

llvm::Error NPUExecutor::send(const void *data, size_t bytes) {
  const char *p = static_cast<const char *>(data);
  while (bytes) {
    ssize_t sent = ::send(channel, p, bytes, MSG_NOSIGNAL);
    if (sent < 0 && errno == EINTR)
      continue;
    if (sent <= 0)
      return processFailure("stopped taking requests");
    p += sent;
    bytes -= size_t(sent);
  }
  return llvm::Error::success();
}

llvm::Error NPUExecutor::receive(void *data, size_t bytes) {
  char *p = static_cast<char *>(data);
  while (bytes) {
    ssize_t got = ::recv(channel, p, bytes, 0);
    if (got < 0 && errno == EINTR)
      continue;
    if (got <= 0)
      return processFailure("stopped answering");
    p += got;
    bytes -= size_t(got);
  }
  return llvm::Error::success();
}

llvm::Error NPUExecutor::checkStatus(int32_t status) {
  switch (status) {
  case PMPD_NPU_OK:
    return llvm::Error::success();
  case PMPD_NPU_BAD_REQUEST:
    return makeError(binary + ": the NPU process refused a request");
  case PMPD_NPU_OUT_OF_MEMORY:
    return makeError(binary + ": the NPU process is out of memory");
  default:
    return makeError(binary + ": the NPU process failed (status " +
                     llvm::Twine(status) + ")");
  }
}

llvm::Error NPUExecutor::receiveLogits(std::vector<float> &logits,
                                       int32_t &bits) {
  PMPDNPUReply reply;
  if (llvm::Error error = receive(&reply, sizeof reply))
    return error;
  if (llvm::Error error = checkStatus(reply.status))
    return error;
  if (reply.rows < 0 || reply.cols != manifest.model.vocabSize ||
      reply.rows > manifest.cachePositions)
    return makeError(binary + ": the NPU process sent logits of " +
                     llvm::Twine(reply.rows) + " x " + llvm::Twine(reply.cols) +
                     " for a vocabulary of " +
                     llvm::Twine(manifest.model.vocabSize));
  logits.resize(size_t(reply.rows * reply.cols));
  bits = reply.bits;
  return receive(logits.data(), logits.size() * sizeof(float));
}

llvm::Error NPUExecutor::processFailure(const llvm::Twine &what) {
  std::string how = "is gone";
  if (child > 0) {
    ::close(channel);
    channel = -1;
    int status = 0;
    pid_t waited;
    while ((waited = waitpid(child, &status, 0)) < 0 && errno == EINTR) {
    }
    child = -1;
    if (waited > 0 && WIFEXITED(status))
      how = "exited with status " + std::to_string(WEXITSTATUS(status));
    else if (waited > 0 && WIFSIGNALED(status))
      how = "was killed by signal " + std::to_string(WTERMSIG(status)) + " (" +
            strsignal(WTERMSIG(status)) + ")";
  }
  std::string message;
  if (auto text = llvm::MemoryBuffer::getFile(stderrPath)) {
    llvm::StringRef err = llvm::StringRef((*text)->getBuffer()).trim();
    if (err.size() > 2000)
      err = err.take_back(2000);
    if (!err.empty())
      message = ": " + err.str();
  }
  return makeError("the NPU process (" + emulator + " " + binary + ") " + what +
                   ": it " + how + message);
}

llvm::Expected<std::unique_ptr<Executor>>
pmpd::createNPUExecutor(const Manifest &manifest, llvm::StringRef dir,
                        const SessionOptions &) {
  auto executor = std::make_unique<NPUExecutor>(manifest);
  if (llvm::Error error = executor->open(dir))
    return std::move(error);
  return std::move(executor);
}
