#include "core/retry_policy.h"

namespace pd {

NextStep decide_next_step(Outcome outcome, const PhoneProgress& progress, const RetryRules& rules) {
  if (is_reached(outcome)) return {CustomerState::kReached, progress.phone_seq, {}};
  if (is_retryable(outcome) && progress.attempts_on_phone < rules.max_attempts_per_phone) {
    return {CustomerState::kPending, progress.phone_seq, rules.retry_delay};
  }
  // This phone is finished (invalid, or out of attempts): the next phone is
  // tried at once, since it is a different line.
  if (progress.phone_seq + 1 < progress.phone_count) {
    return {CustomerState::kPending, progress.phone_seq + 1, {}};
  }
  return {CustomerState::kExhausted, progress.phone_seq, {}};
}

}  // namespace pd
