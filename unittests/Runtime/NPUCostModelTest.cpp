//===- NPUCostModelTest.cpp - The NPU cost model against hand computation -===//
//
// Every expected number below is computed by hand from the model's
// definition (include/pmpd/Runtime/NPUCostModel.h, NPUWorkload.h), on small
// devices and profiles whose arithmetic is easy to follow.
//
//===----------------------------------------------------------------------===//

#include "pmpd/Runtime/NPUCostModel.h"

#include "gtest/gtest.h"

using namespace pmpd;

namespace {

/// 1 GHz, one context, every throughput 1 a cycle, 1 GB/s, no latency.
NPUDevice simpleDevice() {
  NPUDevice d;
  d.name = "test";
  d.hvxContexts = 1;
  d.clockHz = 1e9;
  d.packetsPerCycle = 1;
  d.hvxPerCycle = 1;
  d.vlutPerCycle = 1;
  d.vmpyPerCycle = 1;
  d.scalarOpsPerCycle = 1;
  d.specialCycles = {{"exp", 40}, {"div", 6}};
  d.vtcmBytes = 1 << 20;
  d.ddrBytesPerSecond = 1e9;
  d.ddrLatencySeconds = 0;
  return d;
}

TileCounts packets(double p) { return TileCounts{p, 0, 0, 0}; }

/// A profile whose 4-bit kernels cost `block` packets per block (decode) or
/// per block and token tile (prefill), and nothing else.
NPUKernelProfile blockProfile(double block) {
  NPUKernelProfile p;
  p.qlinear[4].decode["block"] = packets(block);
  p.qlinear[4].prefill["tile4_block"] = packets(4 * block);
  p.qlinear[4].prefill["tile1_block"] = packets(block);
  p.f16["vector"] = packets(block / 16);
  return p;
}

NPUWorkload oneProjection(NPUKernelProfile profile, int64_t rows,
                          int64_t cols) {
  NPUWorkload w;
  w.prefillBits = 4;
  w.decodeSchedule = {{0, 4}};
  w.kernels = std::move(profile);
  NPUWorkloadOp op;
  op.kind = NPUWorkloadOp::Kind::QLinear;
  op.rows = rows;
  op.cols = cols;
  op.bits = 4;
  w.entries.push_back({"prefill", true, 4, {op}});
  w.entries.push_back({"decode_b4", false, 4, {op}});
  return w;
}

TEST(NPUKernelProfile, FormulasOfDecodeAndPrefill) {
  NPUKernelProfile p;
  NPUKernelProfile::QLinear &q = p.qlinear[3];
  q.decode = {{"c0", packets(100)},   {"x_pad", packets(2)},
              {"x_col", packets(3)},  {"row", packets(50)},
              {"block", TileCounts{60, 70, 8, 16}}};
  q.prefill = {{"c0", packets(100)},      {"x_pad", packets(2)},
               {"x_col", packets(3)},     {"row", packets(50)},
               {"block", packets(40)},    {"tile4", packets(30)},
               {"tile4_block", packets(200)}, {"tile1", packets(10)},
               {"tile1_block", packets(80)}};
  // Decode: 5 rows of 1500 columns: 2 blocks, Kpad = 2048.
  // 100 + 2*2048 + 3*1500 + 50*5 + 60*5*2 = 100 + 4096 + 4500 + 250 + 600.
  auto d = p.qlinearCounts(3, 1, 5, 1500);
  ASSERT_TRUE(bool(d)) << llvm::toString(d.takeError());
  EXPECT_DOUBLE_EQ(d->packets, 9546);
  EXPECT_DOUBLE_EQ(d->hvx, 70 * 10);
  EXPECT_DOUBLE_EQ(d->vlut, 8 * 10);
  EXPECT_DOUBLE_EQ(d->vmpy, 16 * 10);
  // Prefill: 6 tokens (one tile of 4, 2 single tokens), 5 rows, 2 blocks:
  // 100 + 2*6*2048 + 3*6*1500 + 50*5 + 40*10 + 30*5*1 + 200*10*1
  //     + 10*5*2 + 80*10*2.
  auto f = p.qlinearCounts(3, 6, 5, 1500);
  ASSERT_TRUE(bool(f)) << llvm::toString(f.takeError());
  EXPECT_DOUBLE_EQ(f->packets, 100 + 24576 + 27000 + 250 + 400 + 150 + 2000 +
                                   100 + 1600);
  auto missing = p.qlinearCounts(2, 1, 5, 1500);
  ASSERT_FALSE(bool(missing));
  EXPECT_EQ(llvm::toString(missing.takeError()),
            "the kernel profile has no 2-bit projection kernel");
}

TEST(NPUKernelProfile, FormulaOfFP16Rows) {
  NPUKernelProfile p;
  p.f16 = {{"c0", packets(7)},          {"x_col", packets(1)},
           {"x_pad", packets(2)},       {"row", packets(100)},
           {"vector", packets(30)},     {"tile4", packets(5)},
           {"tile4_vector", packets(12)}, {"tile1", packets(3)},
           {"tile1_vector", packets(5)}};
  // 5 tokens, 3 rows of 100 columns (2 vectors of 64): 7 + 500 + 2*10 + 300
  // + 30*6 + 5*3 + 12*6 + 3*3 + 5*6.
  EXPECT_DOUBLE_EQ(p.f16Counts(5, 3, 100).packets,
                   7 + 500 + 20 + 300 + 180 + 15 + 72 + 9 + 30);
}

TEST(NPUCostModel, MemoryBoundProjection) {
  // Compute is free next to DDR: 4096 x 4096 at 4 bits reads 4 planes of
  // 512 bytes and a 16-entry fp16 codebook per row, 16 KiB of x, writes 16
  // KiB of y: 4096 * 2080 + 32768 = 8552448 bytes at 1 GB/s, + 1 us latency.
  NPUDevice d = simpleDevice();
  d.ddrLatencySeconds = 1e-6;
  NPUWorkload w = oneProjection(blockProfile(1), 4096, 4096);
  auto e = estimateCall(w, w.entries[1], 1, 1, d);
  ASSERT_TRUE(bool(e)) << llvm::toString(e.takeError());
  EXPECT_DOUBLE_EQ(e->bytes, 8552448);
  EXPECT_NEAR(e->seconds, 8552448e-9 + 1e-6, 1e-15);
  EXPECT_DOUBLE_EQ(e->projectionSeconds, e->seconds);
  EXPECT_DOUBLE_EQ(e->hvx.packets, 4096 * 4);
}

TEST(NPUCostModel, ComputeBoundProjectionAndContexts) {
  // 10 rows of 2048 columns: 20 blocks of 1000 packets at 1 MHz = 20 ms;
  // DDR at 1 TB/s is negligible.
  NPUDevice d = simpleDevice();
  d.clockHz = 1e6;
  d.ddrBytesPerSecond = 1e12;
  d.hvxContexts = 4;
  NPUWorkload w = oneProjection(blockProfile(1000), 10, 2048);
  auto one = estimateCall(w, w.entries[1], 1, 1, d);
  ASSERT_TRUE(bool(one));
  EXPECT_DOUBLE_EQ(one->seconds, 0.020);
  // Rows split over two contexts: half the time; asking for eight gets the
  // device's four.
  auto two = estimateCall(w, w.entries[1], 1, 1, d, NPUCostOptions{2});
  auto eight = estimateCall(w, w.entries[1], 1, 1, d, NPUCostOptions{8});
  ASSERT_TRUE(two && eight);
  EXPECT_DOUBLE_EQ(two->seconds, 0.010);
  EXPECT_DOUBLE_EQ(eight->seconds, 0.005);
}

TEST(NPUCostModel, ThroughputOfLookupsBoundsPackets) {
  // 1 block of 10 packets but 40 vlut16 at 2 a cycle: 20 cycles, not 10.
  NPUDevice d = simpleDevice();
  d.clockHz = 1;
  d.vlutPerCycle = 2;
  d.ddrBytesPerSecond = 1e18;
  NPUKernelProfile p;
  p.qlinear[4].decode["block"] = TileCounts{10, 12, 40, 16};
  NPUWorkload w = oneProjection(p, 1, 1024);
  auto e = estimateCall(w, w.entries[1], 1, 1, d);
  ASSERT_TRUE(bool(e));
  EXPECT_NEAR(e->seconds, 20, 1e-9);
}

TEST(NPUCostModel, ActivationsThatDoNotFitOnChipAreReadPerRow) {
  // Prefill of 8 tokens of 1024 columns: 16 KiB of int16 activations. With
  // 8 KiB of VTCM every row (2 of them) reads them again: + 2 * 16384.
  NPUDevice d = simpleDevice();
  d.vtcmBytes = 8192;
  NPUWorkload w = oneProjection(blockProfile(0), 2, 1024);
  auto e = estimateCall(w, w.entries[0], 8, 8, d);
  ASSERT_TRUE(bool(e));
  double weights = 2 * (4 * 128 + 2 * 16), x = 8 * 1024 * 4, y = 8 * 2 * 4;
  EXPECT_DOUBLE_EQ(e->bytes, weights + x + y + 2 * 16384);
  d.vtcmBytes = 16384;
  auto fits = estimateCall(w, w.entries[0], 8, 8, d);
  ASSERT_TRUE(bool(fits));
  EXPECT_DOUBLE_EQ(fits->bytes, weights + x + y);
}

TEST(NPUCostModel, ScalarLoopNestInTheSequenceLength) {
  // 64 L iterations of 3 operations and one exp (40 cycles), 100 + 256 L
  // bytes. At L = 10: 640 * 43 = 27520 cycles at 1 MHz = 27.52 ms, against
  // 2660 bytes at 1 GB/s; counted twice (two layers).
  NPUDevice d = simpleDevice();
  d.clockHz = 1e6;
  NPUWorkload w;
  w.prefillBits = 4;
  w.decodeSchedule = {{0, 4}};
  NPUWorkloadOp op;
  op.kind = NPUWorkloadOp::Kind::Scalar;
  op.count = 2;
  op.iterations = {0, 64};
  op.bytes = {100, 256};
  op.arithmetic = 3;
  op.special = {{"exp", 1}};
  op.name = "linalg.generic";
  w.entries.push_back({"decode_b4", false, 4, {op}});
  auto e = estimateCall(w, w.entries[0], 1, 10, d);
  ASSERT_TRUE(bool(e));
  EXPECT_DOUBLE_EQ(e->scalarCycles, 2 * 27520);
  EXPECT_NEAR(e->seconds, 2 * 0.02752, 1e-12);
  EXPECT_DOUBLE_EQ(e->bytes, 2 * 2660);
  EXPECT_DOUBLE_EQ(e->projectionSeconds, 0);
  // Two divides more per iteration: + 640 * 2 * 6 cycles a layer.
  w.entries[0].ops[0].special["div"] = 2;
  e = estimateCall(w, w.entries[0], 1, 10, d);
  ASSERT_TRUE(bool(e));
  EXPECT_DOUBLE_EQ(e->scalarCycles, 2 * (27520 + 640 * 12));
  // A kind the device has no cost for is an error, not a free operation.
  w.entries[0].ops[0].special["sin"] = 1;
  e = estimateCall(w, w.entries[0], 1, 10, d);
  ASSERT_FALSE(bool(e));
  EXPECT_EQ(llvm::toString(e.takeError()),
            "the device has no cost for 'sin' (special_function_cycles) but "
            "linalg.generic needs one");
}

TEST(NPUCostModel, RunFollowsTheScheduleAndThePositions) {
  // Decode at 4 bits for steps 0-1, 3 bits from step 2. The only cost is a
  // loop nest of L iterations of 1 cycle at 1 Hz, so a step at position
  // p costs p + 1 seconds: a prompt of 3, then steps at positions 3..7.
  NPUDevice d = simpleDevice();
  d.clockHz = 1;
  d.ddrBytesPerSecond = 1e18;
  NPUWorkload w;
  w.prefillBits = 4;
  w.decodeSchedule = {{0, 4}, {2, 3}};
  NPUWorkloadOp op;
  op.kind = NPUWorkloadOp::Kind::Scalar;
  op.iterations = {0, 1};
  op.bytes = {0};
  op.arithmetic = 1;
  w.entries.push_back({"prefill", true, 4, {op}});
  w.entries.push_back({"decode_b4", false, 4, {op}});
  w.entries.push_back({"decode_b3", false, 3, {op}});
  auto run = estimateRun(w, 3, 5, d);
  ASSERT_TRUE(bool(run)) << llvm::toString(run.takeError());
  EXPECT_DOUBLE_EQ(run->prefill.seconds, 3);
  EXPECT_DOUBLE_EQ(run->prefillTokensPerSecond, 1);
  ASSERT_EQ(run->decode.size(), 2u);
  EXPECT_EQ(run->decode[4].steps, 2);
  EXPECT_DOUBLE_EQ(run->decode[4].total.seconds, 4 + 5);
  EXPECT_EQ(run->decode[3].steps, 3);
  EXPECT_DOUBLE_EQ(run->decode[3].total.seconds, 6 + 7 + 8);
  EXPECT_DOUBLE_EQ(run->decodeTokensPerSecond(), 5.0 / 30);
}

TEST(NPUDevice, TheBuiltInDeviceIsASnapdragon8Gen3) {
  const NPUDevice &d = NPUDevice::getDefault();
  EXPECT_NE(d.name.find("Snapdragon 8 Gen 3"), std::string::npos) << d.name;
  EXPECT_EQ(d.vtcmBytes, 8 << 20);
  EXPECT_GT(d.ddrBytesPerSecond, 0);
}

TEST(NPUDevice, ErrorsNameTheField) {
  std::string text = NPUDevice::getDefaultText().str();
  auto replace = [&](llvm::StringRef from, llvm::StringRef to) {
    std::string t = text;
    size_t at = t.find(from.str());
    EXPECT_NE(at, std::string::npos) << from.str();
    return t.replace(at, from.size(), to.str());
  };
  auto bad = NPUDevice::parse(replace("\"clock_hz\"", "\"clock\""), "d.json");
  ASSERT_FALSE(bool(bad));
  EXPECT_EQ(llvm::toString(bad.takeError()),
            "d.json: missing value at device.clock_hz");
  bad = NPUDevice::parse(replace("\"hvx_contexts\": 4", "\"hvx_contexts\": 0"),
                         "d.json");
  ASSERT_FALSE(bool(bad));
  EXPECT_EQ(llvm::toString(bad.takeError()),
            "d.json: must be a positive number at device.hvx_contexts");
  bad = NPUDevice::parse("{", "d.json");
  ASSERT_FALSE(bool(bad));
  EXPECT_NE(llvm::toString(bad.takeError()).find("d.json: malformed JSON"),
            std::string::npos);
}

TEST(NPUWorkload, RoundTripAndChecks) {
  NPUWorkload w = oneProjection(blockProfile(3), 8, 512);
  std::string text;
  llvm::raw_string_ostream(text) << llvm::json::Value(toJSON(w));
  auto back = NPUWorkload::parse(text, "w.json");
  ASSERT_TRUE(bool(back)) << llvm::toString(back.takeError());
  EXPECT_EQ(llvm::json::Value(toJSON(*back)), llvm::json::Value(toJSON(w)));

  // A decode precision without its entry point, and a schedule that does
  // not start at step 0.
  NPUWorkload noEntry = w;
  noEntry.decodeSchedule = {{0, 4}, {8, 2}};
  text.clear();
  llvm::raw_string_ostream(text) << llvm::json::Value(toJSON(noEntry));
  auto bad = NPUWorkload::parse(text, "w.json");
  ASSERT_FALSE(bool(bad));
  EXPECT_EQ(llvm::toString(bad.takeError()),
            "w.json: the schedule decodes at 2 bits but there is no 2-bit "
            "decode entry point");
  NPUWorkload late = w;
  late.decodeSchedule = {{1, 4}};
  text.clear();
  llvm::raw_string_ostream(text) << llvm::json::Value(toJSON(late));
  bad = NPUWorkload::parse(text, "w.json");
  ASSERT_FALSE(bool(bad));
  EXPECT_EQ(llvm::toString(bad.takeError()),
            "w.json: expected [first step, bits], steps increasing from 0 at "
            "npu_workload.decode_schedule[0]");
}

} // namespace
