// What happens to a customer after one of their attempts ends: call again
// later on the same phone, move on to the next phone, or stop. A pure
// function so the Store can apply it inside the transaction that records the
// outcome (and so the engine, the store and the tests all agree on it).
#pragma once

#include <chrono>

#include "core/types.h"

namespace pd {

struct RetryRules {
  int max_attempts_per_phone = 1;  // >= 1
  std::chrono::seconds retry_delay{300};
};

// Where the customer stood when the attempt ended.
struct PhoneProgress {
  int phone_seq = 0;          // 0-based index of the phone just tried
  int phone_count = 1;        // phones the customer has
  int attempts_on_phone = 1;  // attempts on that phone, this one included
};

struct NextStep {
  CustomerState state = CustomerState::kPending;  // kPending, kReached or kExhausted
  int next_phone_seq = 0;                         // meaningful when kPending
  std::chrono::seconds delay{0};                  // from the attempt's end
};

NextStep decide_next_step(Outcome outcome, const PhoneProgress& progress, const RetryRules& rules);

}  // namespace pd
