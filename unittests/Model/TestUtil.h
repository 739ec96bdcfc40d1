//===- TestUtil.h - Helpers shared by the Model library tests ---*- C++ -*-===//
//
// A temporary directory per test and an assertion that an error message
// names the file and the problem, which is what every malformed-input test
// checks.
//
//===----------------------------------------------------------------------===//

#ifndef PMPD_UNITTESTS_MODEL_TESTUTIL_H
#define PMPD_UNITTESTS_MODEL_TESTUTIL_H

#include "llvm/ADT/SmallString.h"
#include "llvm/Support/Error.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"

#include "gtest/gtest.h"

#include <initializer_list>
#include <string>

namespace pmpd::test {

/// A fresh directory, removed with its contents at the end of the test.
class TempDir {
public:
  TempDir() {
    std::error_code ec =
        llvm::sys::fs::createUniqueDirectory("pmpd-model-test", dir);
    EXPECT_FALSE(ec) << ec.message();
  }
  ~TempDir() { llvm::sys::fs::remove_directories(dir); }
  std::string path(llvm::StringRef name = "") const {
    llvm::SmallString<256> p(dir);
    if (!name.empty())
      llvm::sys::path::append(p, name);
    return std::string(p);
  }

private:
  llvm::SmallString<256> dir;
};

inline void writeFile(const std::string &path, llvm::StringRef bytes) {
  std::error_code ec;
  llvm::raw_fd_ostream os(path, ec);
  ASSERT_FALSE(ec) << ec.message();
  os << bytes;
}

inline std::string readFile(const std::string &path) {
  auto buffer = llvm::MemoryBuffer::getFile(path, /*IsText=*/false,
                                            /*RequiresNullTerminator=*/false);
  EXPECT_TRUE(bool(buffer)) << path;
  return buffer ? (*buffer)->getBuffer().str() : std::string();
}

/// The message of `value`'s error; fails the test when it is not an error.
template <typename T> std::string errorOf(llvm::Expected<T> value) {
  if (value) {
    ADD_FAILURE() << "expected an error";
    return "";
  }
  return llvm::toString(value.takeError());
}

inline std::string errorOf(llvm::Error err) {
  if (!err) {
    ADD_FAILURE() << "expected an error";
    return "";
  }
  return llvm::toString(std::move(err));
}

/// Asserts `message` starts with "<file>: " and contains every fragment.
#define EXPECT_ERROR_NAMES(message, file, ...)                                 \
  do {                                                                         \
    std::string msg_ = (message);                                              \
    std::string file_ = (file);                                                \
    EXPECT_EQ(msg_.rfind(file_ + ": ", 0), 0u)                                 \
        << "message does not start with the file: " << msg_;                   \
    for (const char *fragment_ : std::initializer_list<const char *>{          \
             __VA_ARGS__})                                                     \
      EXPECT_NE(msg_.find(fragment_), std::string::npos)                       \
          << "missing \"" << fragment_ << "\" in: " << msg_;                   \
  } while (false)

} // namespace pmpd::test

#endif // PMPD_UNITTESTS_MODEL_TESTUTIL_H
