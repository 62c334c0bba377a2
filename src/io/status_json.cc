#include "io/status_json.h"

#include "core/config_keys.h"
#include "core/time_format.h"

namespace pd {

nlohmann::json outcomes_json(const std::map<Outcome, int64_t>& by_outcome) {
  nlohmann::json j = nlohmann::json::object();
  for (int i = 0; i < kOutcomeCount; ++i) {
    const auto o = static_cast<Outcome>(i);
    auto it = by_outcome.find(o);
    j[std::string(to_string(o))] = it == by_outcome.end() ? 0 : it->second;
  }
  return j;
}

int64_t customers_in(const CampaignStatus& status, CustomerState state) {
  auto it = status.customers_by_state.find(state);
  return it == status.customers_by_state.end() ? 0 : it->second;
}

nlohmann::json campaign_status_json(const CampaignStatus& st) {
  nlohmann::json by_state = nlohmann::json::object();
  for (auto s : {CustomerState::kPending, CustomerState::kDialing, CustomerState::kReached,
                 CustomerState::kExhausted}) {
    by_state[std::string(to_string(s))] = customers_in(st, s);
  }
  return {
      {"campaign", st.campaign.name},
      {"state", to_string(st.campaign.state)},
      {"customers", st.customers},
      {"customers_by_state", by_state},
      {"phones", st.phones},
      {"rejected_rows", st.rejected_rows},
      {"attempts", st.attempts},
      {"attempts_in_flight", st.attempts_in_flight},
      {"attempts_by_outcome", outcomes_json(st.attempts_by_outcome)},
      {"next_callable_at", st.next_callable_at
                               ? nlohmann::json(format_iso8601(*st.next_callable_at))
                               : nlohmann::json(nullptr)},
  };
}

nlohmann::json config_values_json(const std::map<std::string, std::string>& stored) {
  nlohmann::json j = nlohmann::json::object();
  for (const ConfigKey& k : all_config_keys()) {
    auto it = stored.find(std::string(k.name));
    const std::string v = it != stored.end() ? it->second : std::string(k.default_value);
    j[std::string(k.name)] = v.empty() ? nlohmann::json(nullptr) : nlohmann::json(v);
  }
  return j;
}

}  // namespace pd
