//===- SafeTensorsTest.cpp - safetensors reader and writer tests ----------===//
//
// The fixture's values are checked against numbers Python's safetensors and
// numpy gave for the same elements (an independent reader); every malformed
// file the reader must refuse is built here byte by byte.
//
//===----------------------------------------------------------------------===//

#include "pmpd/Model/SafeTensors.h"
#include "pmpd/Support/Half.h"

#include "TestUtil.h"

#include "llvm/Support/Endian.h"

#include <cmath>
#include <numeric>

using namespace pmpd;
using namespace pmpd::test;

static const char *kFixture =
    PMPD_SOURCE_DIR "/fixtures/pmpd-tiny-llama/model.safetensors";

//===----------------------------------------------------------------------===//
// Reading the fixture
//===----------------------------------------------------------------------===//

TEST(SafeTensorsTest, ReadsFixture) {
  auto file = SafeTensorsFile::open(kFixture);
  ASSERT_TRUE(bool(file)) << llvm::toString(file.takeError());
  // 6 layers x 9 tensors + embed + norm + lm_head.
  EXPECT_EQ((*file)->tensors().size(), 57u);
  EXPECT_EQ((*file)->metadata().at("format"), "pt");
  int64_t params = 0;
  for (const TensorView &t : (*file)->tensors()) {
    EXPECT_EQ(t.dtype, DType::F16) << t.name;
    params += t.numElements();
  }
  EXPECT_EQ(params, 26089984); // Python: sum(v.size for v in tensors).

  const TensorView *embed = (*file)->lookup("model.embed_tokens.weight");
  ASSERT_NE(embed, nullptr);
  EXPECT_EQ(embed->shape, (llvm::SmallVector<int64_t>{8192, 512}));
  EXPECT_EQ(embed->data.size(), 8192u * 512 * 2);
  EXPECT_EQ((*file)->lookup("model.embed_tokens"), nullptr);
}

// Values of a few elements, as numpy read them from the same file.
TEST(SafeTensorsTest, FixtureValuesMatchNumpy) {
  auto file = SafeTensorsFile::open(kFixture);
  ASSERT_TRUE(bool(file)) << llvm::toString(file.takeError());
  struct Probe {
    const char *name;
    int64_t index;
    float value;
  };
  const Probe probes[] = {
      {"model.embed_tokens.weight", 0, 0.028411865234375f},
      {"model.embed_tokens.weight", 1 * 512 + 5, 0.016754150390625f},
      {"model.embed_tokens.weight", 8191 * 512 + 511, -0.0037288665771484375f},
      {"model.layers.3.self_attn.k_proj.weight", 0, 0.0236358642578125f},
      {"model.layers.3.self_attn.k_proj.weight", 255 * 512 + 511,
       0.0657958984375f},
      {"model.layers.3.self_attn.k_proj.weight", 17 * 512 + 300,
       0.0036945343017578125f},
      {"model.norm.weight", 0, 1.76953125f},
      {"model.norm.weight", 511, 1.701171875f},
  };
  for (const Probe &p : probes) {
    const TensorView *t = (*file)->lookup(p.name);
    ASSERT_NE(t, nullptr) << p.name;
    auto values = toFloat32(*t);
    ASSERT_TRUE(bool(values)) << llvm::toString(values.takeError());
    EXPECT_EQ((*values)[p.index], p.value) << p.name << "[" << p.index << "]";
  }
  // Sums (in double) of whole tensors, from numpy's float64 sum.
  const std::pair<const char *, double> sums[] = {
      {"model.embed_tokens.weight", -852.8855068087578},
      {"model.layers.3.self_attn.k_proj.weight", -16.23646515607834},
      {"model.norm.weight", 844.1298828125},
  };
  for (const auto &[name, expected] : sums) {
    auto values = toFloat32(*(*file)->lookup(name));
    ASSERT_TRUE(bool(values));
    double sum = std::accumulate(values->begin(), values->end(), 0.0);
    EXPECT_NEAR(sum, expected, 1e-9 * std::abs(expected)) << name;
  }
}

TEST(SafeTensorsTest, TensorsAreInFileOrder) {
  auto file = SafeTensorsFile::open(kFixture);
  ASSERT_TRUE(bool(file));
  uint64_t previous = 0;
  for (const TensorView &t : (*file)->tensors()) {
    uint64_t offset = (*file)->fileOffset(t);
    EXPECT_GE(offset, previous) << t.name;
    previous = offset + t.data.size();
  }
  // The last tensor ends at the end of the file.
  EXPECT_EQ(previous, uint64_t(52186160));
}

TEST(SafeTensorsTest, DTypeNames) {
  const std::pair<const char *, size_t> all[] = {
      {"F64", 8}, {"F32", 4}, {"F16", 2}, {"BF16", 2}, {"I64", 8},
      {"I32", 4}, {"I16", 2}, {"I8", 1},  {"U64", 8},  {"U32", 4},
      {"U16", 2}, {"U8", 1},  {"BOOL", 1}};
  for (const auto &[name, size] : all) {
    std::optional<DType> d = parseDType(name);
    ASSERT_TRUE(d.has_value()) << name;
    EXPECT_EQ(dtypeName(*d), name);
    EXPECT_EQ(dtypeSize(*d), size) << name;
  }
  EXPECT_FALSE(parseDType("F8_E4M3").has_value());
  EXPECT_FALSE(parseDType("f16").has_value());
}

TEST(SafeTensorsTest, ToFloat32RefusesIntegers) {
  uint8_t bytes[4] = {1, 0, 0, 0};
  TensorView t{"ids", DType::I32, {1}, llvm::ArrayRef<uint8_t>(bytes)};
  std::string msg = errorOf(toFloat32(t));
  EXPECT_NE(msg.find("'ids'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("I32"), std::string::npos) << msg;
}

//===----------------------------------------------------------------------===//
// Writing
//===----------------------------------------------------------------------===//

static llvm::ArrayRef<uint8_t> asBytes(const void *p, size_t n) {
  return llvm::ArrayRef<uint8_t>(static_cast<const uint8_t *>(p), n);
}

TEST(SafeTensorsTest, WriterRoundTrips) {
  TempDir dir;
  std::vector<float> f32 = {1.5f, -2.25f, 3.0f, 0.0f, 1e-8f, -65504.0f};
  std::vector<uint16_t> f16, bf16;
  for (float v : f32) {
    f16.push_back(floatToHalf(v));
    bf16.push_back(floatToBF16(v));
  }
  std::vector<int32_t> i32 = {7, -8, 9};
  uint8_t flags[] = {1, 0, 1, 1};

  SafeTensorsWriter w;
  w.addTensor("f32", DType::F32, {2, 3}, asBytes(f32.data(), 24));
  w.addTensor("f16", DType::F16, {3, 2}, asBytes(f16.data(), 12));
  w.addTensor("bf16", DType::BF16, {6}, asBytes(bf16.data(), 12));
  w.addTensor("i32", DType::I32, {3}, asBytes(i32.data(), 12));
  w.addTensor("flags", DType::Bool, {2, 2}, asBytes(flags, 4));
  w.addTensor("scalar", DType::F32, {}, asBytes(f32.data(), 4));
  w.addTensor("empty", DType::F16, {0, 5}, {});
  w.addMetadata("format", "pt");
  w.addMetadata("note", "quotes \" and \\ escape");
  std::string path = dir.path("rt.safetensors");
  ASSERT_FALSE(bool(w.write(path)));
  EXPECT_EQ(w.fileSize(), readFile(path).size());

  auto file = SafeTensorsFile::open(path);
  ASSERT_TRUE(bool(file)) << llvm::toString(file.takeError());
  EXPECT_EQ((*file)->tensors().size(), 7u);
  EXPECT_EQ((*file)->metadata().at("note"), "quotes \" and \\ escape");

  const TensorView *t = (*file)->lookup("f32");
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(t->shape, (llvm::SmallVector<int64_t>{2, 3}));
  EXPECT_EQ(*toFloat32(*t), f32);
  // fp16 / bf16 reads give what the conversions give (the values are chosen
  // so that both formats represent them with at most rounding).
  auto halves = toFloat32(*(*file)->lookup("f16"));
  auto brains = toFloat32(*(*file)->lookup("bf16"));
  ASSERT_TRUE(halves && brains);
  for (size_t i = 0; i < f32.size(); ++i) {
    EXPECT_EQ((*halves)[i], halfToFloat(f16[i]));
    EXPECT_EQ((*brains)[i], bf16ToFloat(bf16[i]));
  }
  EXPECT_EQ((*halves)[0], 1.5f);
  EXPECT_EQ((*brains)[1], -2.25f);

  t = (*file)->lookup("i32");
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(t->dtype, DType::I32);
  EXPECT_EQ(0, std::memcmp(t->data.data(), i32.data(), 12));
  t = (*file)->lookup("scalar");
  EXPECT_TRUE(t->shape.empty());
  EXPECT_EQ(t->numElements(), 1);
  t = (*file)->lookup("empty");
  EXPECT_EQ(t->numElements(), 0);
  EXPECT_TRUE(t->data.empty());
  EXPECT_EQ((*file)->lookup("flags")->data, asBytes(flags, 4));
}

TEST(SafeTensorsTest, WriterIsDeterministic) {
  TempDir dir;
  std::vector<uint8_t> a(24, 3), b(6, 7), c(8, 9);
  SafeTensorsWriter w1, w2;
  w1.addTensor("a", DType::F32, {2, 3}, a);
  w1.addTensor("b", DType::U8, {6}, b);
  w1.addTensor("c", DType::F16, {4}, c);
  w1.addMetadata("x", "1");
  w1.addMetadata("y", "2");
  w2.addMetadata("y", "2");
  w2.addTensor("c", DType::F16, {4}, c);
  w2.addTensor("a", DType::F32, {2, 3}, a);
  w2.addMetadata("x", "1");
  w2.addTensor("b", DType::U8, {6}, b);
  ASSERT_FALSE(bool(w1.write(dir.path("1.safetensors"))));
  ASSERT_FALSE(bool(w2.write(dir.path("2.safetensors"))));
  ASSERT_FALSE(bool(w1.write(dir.path("3.safetensors"))));
  std::string one = readFile(dir.path("1.safetensors"));
  EXPECT_EQ(one, readFile(dir.path("2.safetensors")));
  EXPECT_EQ(one, readFile(dir.path("3.safetensors")));

  // Header padded with spaces to a multiple of 8; tensors by name.
  uint64_t headerSize = llvm::support::endian::read64le(one.data());
  EXPECT_EQ(headerSize % 8, 0u);
  std::string header = one.substr(8, headerSize);
  EXPECT_EQ(header.substr(0, header.find_last_not_of(' ') + 1),
            "{\"__metadata__\":{\"x\":\"1\",\"y\":\"2\"},"
            "\"a\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,24]},"
            "\"b\":{\"dtype\":\"U8\",\"shape\":[6],\"data_offsets\":[24,30]},"
            "\"c\":{\"dtype\":\"F16\",\"shape\":[4],\"data_offsets\":[30,38]}"
            "}");
  EXPECT_EQ(one.size(), 8 + headerSize + 38);
}

// A generated tensor gives the same file as the same bytes added directly,
// also when it spans several 32 MiB write chunks.
TEST(SafeTensorsTest, WriterGeneratorMatchesBytes) {
  TempDir dir;
  const uint64_t n = (40u << 20) + 6; // Over one chunk, not a multiple.
  std::vector<uint8_t> bytes(n);
  for (uint64_t i = 0; i < n; ++i)
    bytes[i] = uint8_t(i * 2654435761u >> 13);
  SafeTensorsWriter direct, generated;
  direct.addTensor("t", DType::U16, {int64_t(n / 2)}, bytes);
  std::vector<std::pair<uint64_t, uint64_t>> calls;
  generated.addGeneratedTensor(
      "t", DType::U16, {int64_t(n / 2)},
      [&](uint64_t offset, llvm::MutableArrayRef<uint8_t> chunk) {
        calls.push_back({offset, chunk.size()});
        std::memcpy(chunk.data(), bytes.data() + offset, chunk.size());
      });
  uint64_t progress = 0;
  ASSERT_FALSE(bool(direct.write(dir.path("d.safetensors"))));
  ASSERT_FALSE(bool(generated.write(dir.path("g.safetensors"),
                                    [&](uint64_t k) { progress += k; })));
  EXPECT_EQ(readFile(dir.path("d.safetensors")),
            readFile(dir.path("g.safetensors")));
  EXPECT_EQ(progress, n);
  ASSERT_EQ(calls.size(), 2u);
  EXPECT_EQ(calls[0], std::make_pair(uint64_t(0), uint64_t(32 << 20)));
  EXPECT_EQ(calls[1].first, uint64_t(32 << 20));
}

TEST(SafeTensorsTest, WriterLeavesNoTemporaryFiles) {
  TempDir dir;
  SafeTensorsWriter w;
  std::vector<uint8_t> b(4, 1);
  w.addTensor("t", DType::U8, {4}, b);
  ASSERT_FALSE(bool(w.write(dir.path("a.safetensors"))));
  ASSERT_FALSE(bool(w.write(dir.path("a.safetensors")))); // Replaces.
  std::error_code ec;
  std::vector<std::string> names;
  for (llvm::sys::fs::directory_iterator it(dir.path(), ec), end;
       it != end && !ec; it.increment(ec))
    names.push_back(llvm::sys::path::filename(it->path()).str());
  EXPECT_EQ(names, std::vector<std::string>{"a.safetensors"});

  std::string bad = dir.path("no-such-dir/a.safetensors");
  EXPECT_ERROR_NAMES(errorOf(w.write(bad)), bad, "temporary file");
}

//===----------------------------------------------------------------------===//
// Malformed files
//===----------------------------------------------------------------------===//

/// A file with the given header text and `dataSize` bytes of data.
static std::string makeFile(llvm::StringRef header, size_t dataSize) {
  std::string bytes(8, '\0');
  llvm::support::endian::write64le(bytes.data(), header.size());
  bytes += header.str();
  bytes.append(dataSize, '\x11');
  return bytes;
}

namespace {
struct BadCase {
  const char *label;
  std::string bytes;
  std::vector<const char *> fragments;
};
} // namespace

static std::string lengthOnly(uint64_t claimed, size_t actual) {
  std::string bytes(8, '\0');
  llvm::support::endian::write64le(bytes.data(), claimed);
  bytes.append(actual, '{');
  return bytes;
}

TEST(SafeTensorsTest, RejectsMalformedFiles) {
  const char *okEntry =
      R"("ok":{"dtype":"F16","shape":[2,2],"data_offsets":[0,8]})";
  auto one = [&](const std::string &entry, size_t data = 16) {
    return makeFile("{" + entry + "}", data);
  };
  const BadCase cases[] = {
      {"empty file", "", {"0 bytes", "too short"}},
      {"five bytes", "abcde", {"5 bytes", "too short"}},
      {"length past end", lengthOnly(1000, 10),
       {"header length 1000", "past the end", "18 bytes"}},
      {"huge length", lengthOnly(~0ull, 3), {"past the end"}},
      {"not JSON", makeFile("{\"a\": ", 0), {"not valid JSON"}},
      {"not an object", makeFile("[1,2]", 0), {"an array", "JSON object"}},
      {"entry not an object", one(R"("t":[1])"), {"'t'", "expected an object"}},
      {"missing dtype", one(R"("t":{"shape":[1],"data_offsets":[0,2]})"),
       {"'t'", "missing 'dtype'"}},
      {"missing shape", one(R"("t":{"dtype":"F16","data_offsets":[0,2]})"),
       {"'t'", "missing 'shape'"}},
      {"missing offsets", one(R"("t":{"dtype":"F16","shape":[1]})"),
       {"'t'", "missing 'data_offsets'"}},
      {"dtype not a string",
       one(R"("t":{"dtype":16,"shape":[1],"data_offsets":[0,2]})"),
       {"'t'", "'dtype' is a number"}},
      {"unknown dtype",
       one(R"("t":{"dtype":"F8","shape":[1],"data_offsets":[0,1]})"),
       {"'t'", "unknown dtype \"F8\""}},
      {"shape not an array",
       one(R"("t":{"dtype":"F16","shape":4,"data_offsets":[0,8]})"),
       {"'t'", "'shape' is a number"}},
      {"shape of strings",
       one(R"("t":{"dtype":"F16","shape":["4"],"data_offsets":[0,8]})"),
       {"'t'", "not an integer"}},
      {"negative dim",
       one(R"("t":{"dtype":"F16","shape":[-2,2],"data_offsets":[0,8]})"),
       {"'t'", "negative dimension -2"}},
      {"offsets of one",
       one(R"("t":{"dtype":"F16","shape":[1],"data_offsets":[0]})"),
       {"'t'", "two integers"}},
      {"negative offset",
       one(R"("t":{"dtype":"F16","shape":[1],"data_offsets":[-2,0]})"),
       {"'t'", "non-negative"}},
      {"end before begin",
       one(R"("t":{"dtype":"F16","shape":[1],"data_offsets":[4,2]})"),
       {"'t'", "[4, 2]", "end before"}},
      {"out of range",
       one(R"("t":{"dtype":"F16","shape":[12],"data_offsets":[0,24]})"),
       {"'t'", "[0, 24]", "out of range", "16 bytes"}},
      {"size mismatch",
       one(R"("t":{"dtype":"F32","shape":[2,2],"data_offsets":[0,8]})"),
       {"'t'", "F32 shape [2, 2] needs 16 bytes", "hold 8"}},
      {"size overflow",
       one(R"("t":{"dtype":"F32","shape":[4294967296,4294967296],)"
           R"("data_offsets":[0,8]})"),
       {"'t'", "more than 2^64"}},
      {"overlap",
       one(std::string(okEntry) +
           R"(,"t":{"dtype":"F16","shape":[2],"data_offsets":[6,10]})"),
       {"'ok' [0, 8)", "'t' [6, 10)", "overlap"}},
      {"metadata not strings",
       one(std::string(R"("__metadata__":{"n":3},)") + okEntry),
       {"__metadata__", "'n'", "expected a string"}},
      {"metadata not an object",
       one(std::string(R"("__metadata__":"x",)") + okEntry),
       {"__metadata__", "expected an object"}},
  };
  TempDir dir;
  int n = 0;
  for (const BadCase &c : cases) {
    std::string path = dir.path("bad" + std::to_string(n++) + ".safetensors");
    writeFile(path, c.bytes);
    SCOPED_TRACE(c.label);
    std::string msg = errorOf(SafeTensorsFile::open(path));
    EXPECT_EQ(msg.rfind(path + ": ", 0), 0u) << msg;
    for (const char *f : c.fragments)
      EXPECT_NE(msg.find(f), std::string::npos)
          << "missing \"" << f << "\" in: " << msg;
  }
}

TEST(SafeTensorsTest, AcceptsEdgeCases) {
  TempDir dir;
  // Empty header object, empty tensors at the same offset, trailing data.
  const std::pair<const char *, std::string> ok[] = {
      {"no tensors", makeFile("{}", 0)},
      {"padded header", makeFile("{}      ", 0)},
      {"empty tensors",
       makeFile(R"({"a":{"dtype":"F16","shape":[0],"data_offsets":[2,2]},)"
                R"("b":{"dtype":"F16","shape":[1],"data_offsets":[0,2]},)"
                R"("c":{"dtype":"F16","shape":[0,3],"data_offsets":[2,2]}})",
                2)},
  };
  for (const auto &[label, bytes] : ok) {
    std::string path = dir.path(std::string(label) + ".safetensors");
    writeFile(path, bytes);
    auto file = SafeTensorsFile::open(path);
    EXPECT_TRUE(bool(file)) << label << ": "
                            << (file ? "" : llvm::toString(file.takeError()));
  }
}

TEST(SafeTensorsTest, MissingFile) {
  TempDir dir;
  std::string path = dir.path("absent.safetensors");
  EXPECT_ERROR_NAMES(errorOf(SafeTensorsFile::open(path)), path,
                     "cannot open");
}
