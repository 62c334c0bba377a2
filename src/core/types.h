// Domain vocabulary shared by every layer: campaign states, attempt
// outcomes, customer progress. Plain values, no behaviour beyond naming.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace pd {

// Wall-clock time at millisecond precision, UTC. Used for what people read
// (results, calling windows); intervals use the Clock's monotonic time.
using WallTime = std::chrono::sys_time<std::chrono::milliseconds>;
using Millis = std::chrono::milliseconds;

// The campaign's lifecycle. `stopping` is an operator's request that the
// running engine honours: nothing new is dialled, calls in flight finish.
enum class CampaignState { kIdle, kRunning, kStopping, kStopped, kDone };

// How one dial attempt ended. Every attempt ends in exactly one of these.
enum class Outcome {
  kConnected,      // customer answered and was connected to an agent
  kNoAnswer,       // rang out (ring timeout / TELECOM_UNANSWERED)
  kBusy,           // line busy
  kInvalidNumber,  // the network rejected the number
  kFailed,         // the call could not be placed or failed mid-way
  kAbandoned,      // answered, but no agent within the abandon threshold
  kInterrupted,    // the dialer died while the attempt was in flight
  kSuppressed,     // never dialled: a compliance rule forbade it (do-not-call)
};
inline constexpr int kOutcomeCount = 8;

// Where a customer stands in the campaign.
enum class CustomerState {
  kPending,    // callable now or after next_attempt_at
  kDialing,    // an attempt is in flight
  kReached,    // a call connected (or was abandoned): do not call again
  kExhausted,  // every phone tried as often as the rules allow
  kSuppressed,  // ended by a compliance rule (e.g. do-not-call), never to be dialled
};

// An attempt's own progress; `ended` attempts carry an Outcome.
enum class AttemptState { kDialing, kConnected, kEnded };

std::string_view to_string(CampaignState s);
std::string_view to_string(Outcome o);
std::string_view to_string(CustomerState s);
std::string_view to_string(AttemptState s);

std::optional<CampaignState> parse_campaign_state(std::string_view s);
std::optional<Outcome> parse_outcome(std::string_view s);
std::optional<CustomerState> parse_customer_state(std::string_view s);
std::optional<AttemptState> parse_attempt_state(std::string_view s);

// Outcomes after which the same phone may be tried again (subject to
// max-attempts and retry-delay).
bool is_retryable(Outcome o);
// Outcomes that mean the customer was reached: the other phones are skipped.
bool is_reached(Outcome o);

}  // namespace pd
