#include "core/token_bucket.h"

#include <gtest/gtest.h>

namespace pd {
namespace {

using std::chrono::milliseconds;

const MonoTime kStart{Micros(5'000'000)};

TEST(TokenBucket, StartsFullAndSpendsTheBurstAtOnce) {
  TokenBucket b(2.0, 5.0, kStart);
  for (int i = 0; i < 5; ++i) EXPECT_EQ(b.try_take(kStart), Micros(0)) << i;
  const Micros wait = b.try_take(kStart);
  // One token at 2/s is 500 ms away.
  EXPECT_GE(wait, milliseconds(500));
  EXPECT_LE(wait, milliseconds(501));
}

TEST(TokenBucket, RefillsAtTheRateAndOnlyThen) {
  TokenBucket b(2.0, 1.0, kStart);
  EXPECT_EQ(b.try_take(kStart), Micros(0));
  // A refused take spends nothing: asking again gives the same answer.
  const Micros wait = b.try_take(kStart);
  EXPECT_EQ(b.try_take(kStart), wait);
  EXPECT_GT(b.try_take(kStart + milliseconds(499)), Micros(0));
  EXPECT_EQ(b.try_take(kStart + wait), Micros(0));
  EXPECT_GT(b.try_take(kStart + wait), Micros(0));
}

TEST(TokenBucket, SavesNoMoreThanTheBurst) {
  TokenBucket b(10.0, 3.0, kStart);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(b.try_take(kStart), Micros(0));
  const MonoTime later = kStart + std::chrono::hours(1);
  int taken = 0;
  while (b.try_take(later) == Micros(0)) ++taken;
  EXPECT_EQ(taken, 3);
}

TEST(TokenBucket, PacesASteadyStreamAtTheRate) {
  TokenBucket b(4.0, 1.0, kStart);
  MonoTime t = kStart;
  int granted = 0;
  // Callers that wait exactly as told get one token per 250 ms.
  while (t < kStart + std::chrono::seconds(10)) {
    const Micros wait = b.try_take(t);
    if (wait == Micros(0)) {
      ++granted;
    } else {
      t += wait;
    }
  }
  EXPECT_GE(granted, 40);
  EXPECT_LE(granted, 41);
}

TEST(TokenBucket, IgnoresTimeGoingBackwards) {
  TokenBucket b(1.0, 1.0, kStart);
  EXPECT_EQ(b.try_take(kStart), Micros(0));
  EXPECT_GT(b.try_take(kStart - std::chrono::seconds(10)), Micros(0));
  EXPECT_EQ(b.try_take(kStart + std::chrono::seconds(1)), Micros(0));
}

}  // namespace
}  // namespace pd
