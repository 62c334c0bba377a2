#include "core/retry_policy.h"

#include <gtest/gtest.h>

namespace pd {
namespace {

const RetryRules kTwoTries{2, std::chrono::seconds(600)};

TEST(RetryPolicy, ReachedCustomersAreNotCalledAgain) {
  EXPECT_EQ(decide_next_step(Outcome::kConnected, {0, 3, 1}, kTwoTries).state,
            CustomerState::kReached);
  EXPECT_EQ(decide_next_step(Outcome::kAbandoned, {0, 3, 1}, kTwoTries).state,
            CustomerState::kReached);
}

TEST(RetryPolicy, RetryableOutcomesRetryTheSamePhoneAfterTheDelay) {
  for (Outcome o : {Outcome::kNoAnswer, Outcome::kBusy, Outcome::kFailed, Outcome::kInterrupted}) {
    const NextStep s = decide_next_step(o, {1, 3, 1}, kTwoTries);
    EXPECT_EQ(s.state, CustomerState::kPending);
    EXPECT_EQ(s.next_phone_seq, 1);
    EXPECT_EQ(s.delay, std::chrono::seconds(600));
  }
}

TEST(RetryPolicy, OutOfAttemptsMovesToTheNextPhoneAtOnce) {
  const NextStep s = decide_next_step(Outcome::kNoAnswer, {0, 2, 2}, kTwoTries);
  EXPECT_EQ(s.state, CustomerState::kPending);
  EXPECT_EQ(s.next_phone_seq, 1);
  EXPECT_EQ(s.delay, std::chrono::seconds(0));
}

TEST(RetryPolicy, InvalidNumbersAreNeverRetried) {
  EXPECT_EQ(decide_next_step(Outcome::kInvalidNumber, {0, 2, 1}, kTwoTries).next_phone_seq, 1);
  EXPECT_EQ(decide_next_step(Outcome::kInvalidNumber, {1, 2, 1}, kTwoTries).state,
            CustomerState::kExhausted);
}

TEST(RetryPolicy, LastPhoneOutOfAttemptsExhaustsTheCustomer) {
  EXPECT_EQ(decide_next_step(Outcome::kBusy, {0, 1, 1}, RetryRules{}).state,
            CustomerState::kExhausted);
}

}  // namespace
}  // namespace pd

namespace pd {
namespace {

TEST(RetryPolicy, DispositionsOverrideTheOutcomesStep) {
  const DispositionRule callback{DispositionAction::kCallback, std::chrono::hours(2)};
  const DispositionRule done{DispositionAction::kDone, {}};
  const DispositionRule dnc{DispositionAction::kDnc, {}};
  // A connected customer is reached, but a callback calls the same phone again.
  NextStep s = decide_next_step(Outcome::kConnected, {1, 3, 1}, RetryRules{}, &callback);
  EXPECT_EQ(s.state, CustomerState::kPending);
  EXPECT_EQ(s.next_phone_seq, 1);
  EXPECT_EQ(s.delay, std::chrono::hours(2));
  // done ends a customer the outcome would have retried.
  s = decide_next_step(Outcome::kNoAnswer, {0, 3, 1}, kTwoTries, &done);
  EXPECT_EQ(s.state, CustomerState::kExhausted);
  s = decide_next_step(Outcome::kConnected, {0, 3, 1}, kTwoTries, &dnc);
  EXPECT_EQ(s.state, CustomerState::kReached);
  // No rule: the outcome decides.
  s = decide_next_step(Outcome::kNoAnswer, {0, 3, 1}, kTwoTries, nullptr);
  EXPECT_EQ(s.state, CustomerState::kPending);
  EXPECT_EQ(s.delay, std::chrono::seconds(600));
}

}  // namespace
}  // namespace pd
