//===- TuningTest.cpp - Tuning tables of the CUDA matmul kernels ----------===//
//
// Part of gatec. The table format of tuning/cuda-matmul.tsv, the copy
// compiled into gatec, and the nearest-row rule for unseen shapes.
//
//===----------------------------------------------------------------------===//

#include "gatec/Codegen/CUDA/Tuning.h"

#include <gtest/gtest.h>

namespace {

constexpr const char *kHeader = "chip\tkind\tn\tk\ttile_m\ttile_n\ttile_k\t"
                                "stages\tus\n";

TEST(TuningTest, CompiledInTableParses) {
  // A malformed tuning/cuda-matmul.tsv would abort here (and in gatec).
  for (const gatec::TuningEntry &entry : gatec::builtinTuningTable()) {
    EXPECT_FALSE(entry.chip.empty());
    EXPECT_GT(entry.tile.stages, 0);
  }
}

TEST(TuningTest, UnseenShapesTakeTheNearestRowOfTheirChipAndKind) {
  std::string text = std::string(kHeader) +
                     "# comment\n"
                     "sm_90\tmma\t256\t64\t64\t128\t32\t3\t10\n"
                     "sm_90\tmma\t4096\t4096\t128\t256\t32\t2\t900.5\n"
                     "sm_90\tmma-paired\t256\t64\t128\t64\t32\t4\t5\n";
  std::string error;
  std::optional<std::vector<gatec::TuningEntry>> table =
      gatec::parseTuningTable(text, error);
  ASSERT_TRUE(table) << error;
  ASSERT_EQ(table->size(), 3u);
  EXPECT_DOUBLE_EQ((*table)[1].microseconds, 900.5);

  std::optional<gatec::MatmulTile> exact =
      gatec::lookupMatmulTile(*table, "sm_90", "mma", 256, 64);
  ASSERT_TRUE(exact);
  EXPECT_EQ(exact->m, 64);
  EXPECT_EQ(exact->stages, 3);
  // 2048 x 2048 is one halving of each from (4096, 4096), three and five
  // doublings from (256, 64).
  std::optional<gatec::MatmulTile> near =
      gatec::lookupMatmulTile(*table, "sm_90", "mma", 2048, 2048);
  ASSERT_TRUE(near);
  EXPECT_EQ(near->n, 256);
  std::optional<gatec::MatmulTile> paired =
      gatec::lookupMatmulTile(*table, "sm_90", "mma-paired", 14336, 4096);
  ASSERT_TRUE(paired);
  EXPECT_EQ(paired->stages, 4);
  EXPECT_FALSE(gatec::lookupMatmulTile(*table, "sm_80", "mma", 256, 64));
  EXPECT_FALSE(gatec::lookupMatmulTile(*table, "sm_90", "wgmma", 256, 64));
}

TEST(TuningTest, MalformedRowsNameTheirLine) {
  std::string error;
  EXPECT_FALSE(
      gatec::parseTuningTable("sm_90\tmma\t1\t1\t1\t1\t1\t1\t1\n", error));
  EXPECT_NE(error.find("line 1: expected the header row"), std::string::npos)
      << error;
  EXPECT_FALSE(gatec::parseTuningTable(
      std::string(kHeader) + "sm_90\tmma\t256\t64\t64\t128\t32\n", error));
  EXPECT_NE(error.find("line 2: expected 9 tab-separated fields, got 7"),
            std::string::npos)
      << error;
  EXPECT_FALSE(gatec::parseTuningTable(
      std::string(kHeader) + "sm_90\tmmx\t256\t64\t64\t128\t32\t2\t1\n",
      error));
  EXPECT_NE(error.find("line 2: expected a kind"), std::string::npos) << error;
  EXPECT_FALSE(gatec::parseTuningTable(
      std::string(kHeader) + "sm_90\tmma\t256\t-64\t64\t128\t32\t2\t1\n",
      error));
  EXPECT_NE(error.find("got '-64'"), std::string::npos) << error;
  EXPECT_FALSE(gatec::parseTuningTable("", error));
}

TEST(TuningTest, MatmulTileStrings) {
  std::optional<gatec::MatmulTile> tile = gatec::parseMatmulTile("64x256x32x3");
  ASSERT_TRUE(tile);
  EXPECT_EQ(tile->m, 64);
  EXPECT_EQ(tile->n, 256);
  EXPECT_EQ(tile->k, 32);
  EXPECT_EQ(tile->stages, 3);
  EXPECT_FALSE(gatec::parseMatmulTile("64x256x32"));
  EXPECT_FALSE(gatec::parseMatmulTile("64x256x0x3"));
  EXPECT_FALSE(gatec::parseMatmulTile("64x256x32x3x1"));
  EXPECT_FALSE(gatec::parseMatmulTile("big"));
}

} // namespace
