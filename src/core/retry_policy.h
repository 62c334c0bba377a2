// What happens to a customer after one of their attempts ends: call again
// later on the same phone, move on to the next phone, or stop. A pure
// function so the Store can apply it inside the transaction that records the
// outcome (and so the engine, the store and the tests all agree on it).
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "core/types.h"

namespace pd {

// What an agent's wrap-up code (the attempt's disposition) does to the
// customer, as the `dispositions` config key maps codes to actions:
//   done      no more calls to the customer
//   callback  call the same phone again after `delay` (or at the time the
//             agent gave)
//   retry     call the same phone again after `delay`
//   dnc       add the number to the do-not-call list, and no more calls
// A code the map does not name is recorded and changes nothing.
enum class DispositionAction { kDone, kCallback, kRetry, kDnc };
std::string_view to_string(DispositionAction a);

struct DispositionRule {
  DispositionAction action = DispositionAction::kDone;
  std::chrono::seconds delay{0};  // callback and retry
};
// Code (upper-case) -> rule.
using DispositionRules = std::map<std::string, DispositionRule, std::less<>>;

// Parses "SALE=done,CALLBACK=callback:2h,RETRY=retry:30m,DNC=dnc". Codes
// are letters, digits, '_', '-' and '.', matched without regard to case;
// callback and retry need a delay from 1s to 30d. kInvalidArgument names the
// entry that is wrong and says what is allowed.
absl::StatusOr<DispositionRules> parse_dispositions(std::string_view text);
// The canonical text (codes upper-case and sorted; durations as "2h").
std::string format_dispositions(const DispositionRules& rules);
// Whether `code` may be a disposition code: 1-64 letters, digits, '_', '-'
// or '.'.
bool is_disposition_code(std::string_view code);
// The rule for `code` (any case); nullptr when the map does not name it.
const DispositionRule* find_disposition(const DispositionRules& rules, std::string_view code);

struct RetryRules {
  int max_attempts_per_phone = 1;  // >= 1
  std::chrono::seconds retry_delay{300};
  // Shared, so the rules stay cheap to copy with every attempt's end.
  std::shared_ptr<const DispositionRules> dispositions;
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

// The step when the attempt carries a disposition the rules name (`rule`
// not null): done and dnc end the customer (reached when the outcome says
// so, else exhausted); callback and retry call the same phone after the
// rule's delay. A null `rule` is decide_next_step(outcome, progress, rules).
NextStep decide_next_step(Outcome outcome, const PhoneProgress& progress, const RetryRules& rules,
                          const DispositionRule* rule);

}  // namespace pd
