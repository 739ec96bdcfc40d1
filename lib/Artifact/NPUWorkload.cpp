//===- NPUWorkload.cpp - What a hexagon artifact's code does, per call ----===//

#include "pmpd/Artifact/NPUWorkload.h"

#include "llvm/Support/MemoryBuffer.h"

using namespace pmpd;
using llvm::json::Array;
using llvm::json::Object;
using llvm::json::ObjectMapper;
using llvm::json::Path;
using llvm::json::Value;

static llvm::Error makeError(const llvm::Twine &message) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), message);
}

TileCounts &TileCounts::operator+=(const TileCounts &o) {
  packets += o.packets;
  hvx += o.hvx;
  vlut += o.vlut;
  vmpy += o.vmpy;
  return *this;
}

TileCounts TileCounts::operator*(double f) const {
  return TileCounts{packets * f, hvx * f, vlut * f, vmpy * f};
}

namespace {
/// Sum of coefficient * feature; a feature the formula lacks counts 0.
TileCounts evaluate(const KernelFormula &formula,
                    std::initializer_list<std::pair<const char *, double>>
                        features) {
  TileCounts total;
  for (auto [name, value] : features) {
    auto it = formula.find(name);
    if (it != formula.end())
      total += it->second * value;
  }
  return total;
}
} // namespace

llvm::Expected<TileCounts>
NPUKernelProfile::qlinearCounts(unsigned bits, int64_t tokens, int64_t rows,
                                int64_t cols) const {
  auto it = qlinear.find(bits);
  if (it == qlinear.end())
    return makeError("the kernel profile has no " + llvm::Twine(bits) +
                     "-bit projection kernel");
  double n = rows, k = cols, t = tokens;
  double blocks = (cols + 1023) / 1024, pad = 1024 * blocks;
  if (tokens == 1)
    return evaluate(it->second.decode, {{"c0", 1},
                                        {"x_pad", pad},
                                        {"x_col", k},
                                        {"row", n},
                                        {"block", n * blocks}});
  double full = tokens / 4, rest = tokens % 4;
  return evaluate(it->second.prefill, {{"c0", 1},
                                       {"x_pad", t * pad},
                                       {"x_col", t * k},
                                       {"row", n},
                                       {"block", n * blocks},
                                       {"tile4", n * full},
                                       {"tile4_block", n * blocks * full},
                                       {"tile1", n * rest},
                                       {"tile1_block", n * blocks * rest}});
}

TileCounts NPUKernelProfile::f16Counts(int64_t tokens, int64_t rows,
                                       int64_t cols) const {
  double n = rows, k = cols, t = tokens;
  double vectors = (cols + 63) / 64;
  double full = tokens / 4, rest = tokens % 4;
  return evaluate(f16, {{"c0", 1},
                        {"x_col", t * k},
                        {"x_pad", t * vectors},
                        {"row", n},
                        {"vector", n * vectors},
                        {"tile4", n * full},
                        {"tile4_vector", n * vectors * full},
                        {"tile1", n * rest},
                        {"tile1_vector", n * vectors * rest}});
}

unsigned NPUWorkload::decodeBitsAt(int64_t step) const {
  unsigned bits = decodeSchedule.empty() ? 16 : decodeSchedule.front().second;
  for (auto [first, b] : decodeSchedule)
    if (step >= first)
      bits = b;
  return bits;
}

const NPUWorkloadEntry *NPUWorkload::prefillEntry() const {
  for (const NPUWorkloadEntry &e : entries)
    if (e.prefill)
      return &e;
  return nullptr;
}

const NPUWorkloadEntry *NPUWorkload::decodeEntry(unsigned bits) const {
  for (const NPUWorkloadEntry &e : entries)
    if (!e.prefill && e.bits == bits)
      return &e;
  return nullptr;
}

//===----------------------------------------------------------------------===//
// JSON
//===----------------------------------------------------------------------===//

bool pmpd::fromJSON(const Value &value, TileCounts &c, Path path) {
  ObjectMapper o(value, path);
  return o && o.map("packets", c.packets) && o.map("hvx", c.hvx) &&
         o.map("vlut", c.vlut) && o.map("vmpy", c.vmpy);
}

Value pmpd::toJSON(const TileCounts &c) {
  return Object{
      {"packets", c.packets}, {"hvx", c.hvx}, {"vlut", c.vlut}, {"vmpy", c.vmpy}};
}

static Value formulaToJSON(const KernelFormula &formula) {
  Object o;
  for (const auto &[name, counts] : formula)
    o[name] = toJSON(counts);
  return std::move(o);
}

bool pmpd::fromJSON(const Value &value, NPUKernelProfile &p, Path path) {
  ObjectMapper o(value, path);
  if (!o || !o.map("f16", p.f16) || !o.mapOptional("harness", p.harness))
    return false;
  const Object *qlinear = value.getAsObject()->getObject("qlinear");
  Path qlinearPath = path.field("qlinear");
  if (!qlinear) {
    qlinearPath.report("expected an object of kernels by bit width");
    return false;
  }
  for (const auto &[key, kernels] : *qlinear) {
    unsigned bits;
    Path bitsPath = qlinearPath.field(key);
    if (llvm::StringRef(key).getAsInteger(10, bits) || bits < 2 || bits > 8) {
      bitsPath.report("expected a bit width from 2 to 8");
      return false;
    }
    ObjectMapper k(kernels, bitsPath);
    NPUKernelProfile::QLinear &q = p.qlinear[bits];
    if (!k || !k.map("decode", q.decode) || !k.map("prefill", q.prefill))
      return false;
  }
  return true;
}

Value pmpd::toJSON(const NPUKernelProfile &p) {
  Object qlinear;
  for (const auto &[bits, q] : p.qlinear)
    qlinear[std::to_string(bits)] =
        Object{{"decode", formulaToJSON(q.decode)},
               {"prefill", formulaToJSON(q.prefill)}};
  return Object{{"harness", p.harness},
                {"qlinear", std::move(qlinear)},
                {"f16", formulaToJSON(p.f16)}};
}

static llvm::StringRef kindName(NPUWorkloadOp::Kind kind) {
  switch (kind) {
  case NPUWorkloadOp::Kind::QLinear:
    return "qlinear";
  case NPUWorkloadOp::Kind::LinearF16:
    return "linear_f16";
  case NPUWorkloadOp::Kind::Scalar:
    return "scalar";
  }
  return "?";
}

bool pmpd::fromJSON(const Value &value, NPUWorkloadOp &op, Path path) {
  ObjectMapper o(value, path);
  std::string kind;
  if (!o || !o.map("kind", kind) || !o.map("count", op.count))
    return false;
  if (kind == "qlinear" || kind == "linear_f16") {
    op.kind = kind == "qlinear" ? NPUWorkloadOp::Kind::QLinear
                                : NPUWorkloadOp::Kind::LinearF16;
    if (!o.map("rows", op.rows) || !o.map("cols", op.cols))
      return false;
    if (op.kind == NPUWorkloadOp::Kind::QLinear && !o.map("bits", op.bits))
      return false;
    if (op.rows <= 0 || op.cols <= 0) {
      path.report("a projection needs positive rows and cols");
      return false;
    }
    return true;
  }
  if (kind != "scalar") {
    path.field("kind").report(
        "expected \"qlinear\", \"linear_f16\" or \"scalar\"");
    return false;
  }
  op.kind = NPUWorkloadOp::Kind::Scalar;
  return o.map("iterations", op.iterations) && o.map("bytes", op.bytes) &&
         o.map("arithmetic", op.arithmetic) && o.map("special", op.special) &&
         o.mapOptional("name", op.name);
}

Value pmpd::toJSON(const NPUWorkloadOp &op) {
  Object o{{"kind", kindName(op.kind)}, {"count", op.count}};
  if (op.isProjection()) {
    o["rows"] = op.rows;
    o["cols"] = op.cols;
    if (op.kind == NPUWorkloadOp::Kind::QLinear)
      o["bits"] = int64_t(op.bits);
    return std::move(o);
  }
  o["name"] = op.name;
  o["iterations"] = op.iterations;
  o["bytes"] = op.bytes;
  o["arithmetic"] = op.arithmetic;
  llvm::json::Object special;
  for (const auto &[kind, count] : op.special)
    special[kind] = count;
  o["special"] = std::move(special);
  return std::move(o);
}

bool pmpd::fromJSON(const Value &value, NPUWorkloadEntry &e, Path path) {
  ObjectMapper o(value, path);
  return o && o.map("name", e.name) && o.map("prefill", e.prefill) &&
         o.map("bits", e.bits) && o.map("ops", e.ops);
}

Value pmpd::toJSON(const NPUWorkloadEntry &e) {
  return Object{{"name", e.name},
                {"prefill", e.prefill},
                {"bits", int64_t(e.bits)},
                {"ops", e.ops}};
}

bool pmpd::fromJSON(const Value &value, NPUWorkload &w, Path path) {
  ObjectMapper o(value, path);
  std::vector<std::vector<int64_t>> schedule;
  if (!o || !o.map("format_version", w.formatVersion) ||
      !o.map("prefill_bits", w.prefillBits) ||
      !o.map("decode_schedule", schedule) || !o.map("entries", w.entries) ||
      !o.map("kernels", w.kernels))
    return false;
  w.decodeSchedule.clear();
  for (size_t i = 0; i < schedule.size(); ++i) {
    if (schedule[i].size() != 2 || schedule[i][1] < 2 || schedule[i][1] > 16 ||
        (i == 0 ? schedule[i][0] != 0
                : schedule[i][0] <= schedule[i - 1][0])) {
      path.field("decode_schedule")
          .index(i)
          .report("expected [first step, bits], steps increasing from 0");
      return false;
    }
    w.decodeSchedule.emplace_back(schedule[i][0], unsigned(schedule[i][1]));
  }
  return true;
}

Value pmpd::toJSON(const NPUWorkload &w) {
  Array schedule;
  for (auto [step, bits] : w.decodeSchedule)
    schedule.push_back(Array{step, int64_t(bits)});
  return Object{{"format_version", w.formatVersion},
                {"prefill_bits", int64_t(w.prefillBits)},
                {"decode_schedule", std::move(schedule)},
                {"entries", w.entries},
                {"kernels", w.kernels}};
}

llvm::Expected<NPUWorkload> NPUWorkload::parse(llvm::StringRef text,
                                               llvm::StringRef origin) {
  auto parsed = llvm::json::parse(text);
  if (!parsed)
    return makeError(origin +
                     ": malformed JSON: " + llvm::toString(parsed.takeError()));
  if (const Object *root = parsed->getAsObject())
    if (std::optional<int64_t> version = root->getInteger("format_version");
        version && *version != kFormatVersion)
      return makeError(origin + ": NPU workload format version " +
                       llvm::Twine(*version) + " is not supported (this "
                       "runtime reads version " + llvm::Twine(kFormatVersion) +
                       "); recompile the model with this pmpd-compile");
  NPUWorkload w;
  Path::Root root("npu_workload");
  if (!fromJSON(*parsed, w, root))
    return makeError(origin + ": " + llvm::toString(root.getError()));
  for (const NPUWorkloadEntry &e : w.entries)
    for (const NPUWorkloadOp &op : e.ops)
      if (op.kind == NPUWorkloadOp::Kind::QLinear &&
          !w.kernels.qlinear.count(op.bits))
        return makeError(origin + ": " + e.name + " has a " +
                         llvm::Twine(op.bits) +
                         "-bit projection but the kernel profile has no "
                         "kernel of that width");
  if (!w.prefillEntry())
    return makeError(origin + ": no prefill entry point");
  for (auto [step, bits] : w.decodeSchedule)
    if (!w.decodeEntry(bits))
      return makeError(origin + ": the schedule decodes at " +
                       llvm::Twine(bits) + " bits but there is no " +
                       llvm::Twine(bits) + "-bit decode entry point");
  return w;
}

llvm::Expected<NPUKernelProfile>
NPUWorkload::parseKernelProfile(llvm::StringRef text, llvm::StringRef origin) {
  auto parsed = llvm::json::parse(text);
  if (!parsed)
    return makeError(origin +
                     ": malformed JSON: " + llvm::toString(parsed.takeError()));
  NPUKernelProfile profile;
  Path::Root root("kernel_profile");
  if (!fromJSON(*parsed, profile, root))
    return makeError(origin + ": " + llvm::toString(root.getError()));
  return profile;
}

llvm::Expected<NPUWorkload> NPUWorkload::load(llvm::StringRef path) {
  auto buffer = llvm::MemoryBuffer::getFile(path, /*IsText=*/true);
  if (!buffer)
    return makeError(path + ": " + buffer.getError().message());
  return parse((*buffer)->getBuffer(), path);
}
