#include "core/types.h"

#include <array>
#include <utility>

namespace pd {
namespace {

template <typename E, size_t N>
using NameTable = std::array<std::pair<E, std::string_view>, N>;

constexpr NameTable<CampaignState, 5> kCampaignStates{{
    {CampaignState::kIdle, "idle"},
    {CampaignState::kRunning, "running"},
    {CampaignState::kStopping, "stopping"},
    {CampaignState::kStopped, "stopped"},
    {CampaignState::kDone, "done"},
}};

constexpr NameTable<Outcome, kOutcomeCount> kOutcomes{{
    {Outcome::kConnected, "connected"},
    {Outcome::kNoAnswer, "no_answer"},
    {Outcome::kBusy, "busy"},
    {Outcome::kInvalidNumber, "invalid_number"},
    {Outcome::kFailed, "failed"},
    {Outcome::kAbandoned, "abandoned"},
    {Outcome::kInterrupted, "interrupted"},
    {Outcome::kSuppressed, "suppressed"},
}};

constexpr NameTable<CustomerState, 5> kCustomerStates{{
    {CustomerState::kPending, "pending"},
    {CustomerState::kDialing, "dialing"},
    {CustomerState::kReached, "reached"},
    {CustomerState::kExhausted, "exhausted"},
    {CustomerState::kSuppressed, "suppressed"},
}};

constexpr NameTable<AttemptState, 3> kAttemptStates{{
    {AttemptState::kDialing, "dialing"},
    {AttemptState::kConnected, "connected"},
    {AttemptState::kEnded, "ended"},
}};

template <typename E, size_t N>
std::string_view name_of(const NameTable<E, N>& table, E value) {
  for (const auto& [e, name] : table) {
    if (e == value) return name;
  }
  return "unknown";
}

template <typename E, size_t N>
std::optional<E> parse(const NameTable<E, N>& table, std::string_view s) {
  for (const auto& [e, name] : table) {
    if (name == s) return e;
  }
  return std::nullopt;
}

}  // namespace

std::string_view to_string(CampaignState s) { return name_of(kCampaignStates, s); }
std::string_view to_string(Outcome o) { return name_of(kOutcomes, o); }
std::string_view to_string(CustomerState s) { return name_of(kCustomerStates, s); }
std::string_view to_string(AttemptState s) { return name_of(kAttemptStates, s); }

std::optional<CampaignState> parse_campaign_state(std::string_view s) {
  return parse(kCampaignStates, s);
}
std::optional<Outcome> parse_outcome(std::string_view s) { return parse(kOutcomes, s); }
std::optional<CustomerState> parse_customer_state(std::string_view s) {
  return parse(kCustomerStates, s);
}
std::optional<AttemptState> parse_attempt_state(std::string_view s) {
  return parse(kAttemptStates, s);
}

bool is_retryable(Outcome o) {
  return o == Outcome::kNoAnswer || o == Outcome::kBusy || o == Outcome::kFailed ||
         o == Outcome::kInterrupted;
}

bool is_reached(Outcome o) { return o == Outcome::kConnected || o == Outcome::kAbandoned; }

}  // namespace pd
