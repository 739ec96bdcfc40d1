//===- ScheduleSpecTest.cpp - Schedule attribute and its textual form -----===//

#include "pmpd/Dialect/PMPD/IR/ScheduleSpec.h"

#include "mlir/IR/MLIRContext.h"
#include "gtest/gtest.h"

using namespace mlir;
using namespace pmpd;

namespace {

class ScheduleSpecTest : public ::testing::Test {
protected:
  ScheduleSpecTest() { context.loadDialect<PMPDDialect>(); }

  std::string errorOf(StringRef spec) {
    auto attr = parseScheduleSpec(spec, &context);
    if (attr)
      return "";
    return llvm::toString(attr.takeError());
  }

  MLIRContext context;
};

TEST_F(ScheduleSpecTest, ParsesThePaperSchedule) {
  auto attr = parseScheduleSpec("prefill=4;decode=4@0,3@64,2@128", &context);
  ASSERT_TRUE(static_cast<bool>(attr)) << llvm::toString(attr.takeError());
  EXPECT_EQ(attr->getPrefill(), 4u);
  EXPECT_EQ(attr->getBits(), ArrayRef<int64_t>({4, 3, 2}));
  EXPECT_EQ(attr->getSteps(), ArrayRef<int64_t>({0, 64, 128}));
  EXPECT_TRUE(attr->getMonotone());
  EXPECT_EQ(formatScheduleSpec(*attr), "prefill=4;decode=4@0,3@64,2@128");
}

TEST_F(ScheduleSpecTest, StepLookup) {
  auto attr = parseScheduleSpec("prefill=4;decode=4@0,3@64,2@128", &context);
  ASSERT_TRUE(static_cast<bool>(attr));
  EXPECT_EQ(attr->getDecodeBitsAt(0), 4u);
  EXPECT_EQ(attr->getDecodeBitsAt(63), 4u);
  EXPECT_EQ(attr->getDecodeBitsAt(64), 3u);
  EXPECT_EQ(attr->getDecodeBitsAt(127), 3u);
  EXPECT_EQ(attr->getDecodeBitsAt(128), 2u);
  EXPECT_EQ(attr->getDecodeBitsAt(100000), 2u);
  EXPECT_EQ(attr->getDistinctDecodeBits(), SmallVector<unsigned>({4, 3, 2}));
}

TEST_F(ScheduleSpecTest, UniformAndFP16) {
  auto uniform = parseScheduleSpec(" prefill = 3 ; decode = 3@0 ", &context);
  ASSERT_TRUE(static_cast<bool>(uniform));
  EXPECT_EQ(formatScheduleSpec(*uniform), "prefill=3;decode=3@0");
  auto fp16 = parseScheduleSpec("prefill=16;decode=16@0", &context);
  ASSERT_TRUE(static_cast<bool>(fp16));
  EXPECT_EQ(fp16->getDecodeBitsAt(10), 16u);
}

TEST_F(ScheduleSpecTest, NonMonotoneRoundTrips) {
  auto attr =
      parseScheduleSpec("prefill=4;decode=2@0,4@8;nonmonotone", &context);
  ASSERT_TRUE(static_cast<bool>(attr)) << llvm::toString(attr.takeError());
  EXPECT_FALSE(attr->getMonotone());
  EXPECT_EQ(formatScheduleSpec(*attr), "prefill=4;decode=2@0,4@8;nonmonotone");
  // Parsing the formatted spec gives the same (uniqued) attribute.
  auto again = parseScheduleSpec(formatScheduleSpec(*attr), &context);
  ASSERT_TRUE(static_cast<bool>(again));
  EXPECT_EQ(*again, *attr);
}

TEST_F(ScheduleSpecTest, Errors) {
  EXPECT_NE(errorOf("prefill=4;decode=4@0,3@64,2@32")
                .find("decode steps must strictly increase, but step 32 "
                      "follows step 64"),
            std::string::npos);
  EXPECT_NE(errorOf("prefill=4;decode=2@0,4@8")
                .find("decode precision rises from 2 to 4 bits at step 8"),
            std::string::npos);
  EXPECT_NE(errorOf("prefill=9;decode=4@0").find("unsupported prefill"),
            std::string::npos);
  EXPECT_NE(errorOf("prefill=4;decode=1@0").find("unsupported decode"),
            std::string::npos);
  EXPECT_NE(errorOf("prefill=4;decode=4@5").find("must start at step 0"),
            std::string::npos);
  EXPECT_NE(errorOf("prefill=4;decode=4").find("is not BITS@STEP"),
            std::string::npos);
  EXPECT_NE(errorOf("prefill=x;decode=4@0").find("are not a number"),
            std::string::npos);
  EXPECT_NE(errorOf("decode=4@0").find("missing prefill"), std::string::npos);
  EXPECT_NE(errorOf("prefill=4").find("missing decode"), std::string::npos);
  EXPECT_NE(errorOf("prefill=4;decode=4@0;speed=fast").find("unknown field"),
            std::string::npos);
  // Every message quotes the spec it rejects.
  EXPECT_EQ(errorOf("prefill=4").rfind("invalid schedule 'prefill=4': ", 0),
            0u);
}

} // namespace
