#include "io/status_json.h"

#include <algorithm>

#include "compliance/policy.h"
#include "core/config_keys.h"
#include "core/status_macros.h"
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

nlohmann::json reject_counts_json(const RejectCounts& rejects) {
  nlohmann::json by_reason = nlohmann::json::object();
  for (const auto& [reason, rows] : rejects.by_reason) by_reason[reason] = rows;
  return {
      {"rejected_rows", rejects.rows},
      {"rejects_by_reason", std::move(by_reason)},
      {"rejects_not_listed", std::max<int64_t>(0, rejects.rows - rejects.listed)},
  };
}

absl::Status write_rejects_json(Store& store, CampaignId id, std::ostream& out) {
  PD_ASSIGN_OR_RETURN(RejectCounts counts, store.reject_counts(id));
  std::string head = reject_counts_json(counts).dump(2);
  head.pop_back();  // the closing brace: the rows follow
  while (!head.empty() && (head.back() == '\n' || head.back() == ' ')) head.pop_back();
  out << head << ",\n  \"rejects\": [";
  bool first = true;
  PD_RETURN_IF_ERROR(store.for_each_reject(id, [&](int64_t line, std::string_view reason) {
    out << (first ? "\n    " : ",\n    ")
        << nlohmann::json{{"line", line}, {"reason", reason}}.dump(
               -1, ' ', false, nlohmann::json::error_handler_t::replace);
    first = false;
  }));
  out << (first ? "]\n}\n" : "\n  ]\n}\n");
  return out ? absl::OkStatus() : absl::UnavailableError("the rejects could not be written out");
}

nlohmann::json dialer_json(const std::optional<DialerHealth>& dialer) {
  if (!dialer) return nullptr;
  return {
      {"owner", dialer->owner.empty() ? nlohmann::json(nullptr) : nlohmann::json(dialer->owner)},
      {"lease_until", dialer->lease_until ? nlohmann::json(format_iso8601(*dialer->lease_until))
                                          : nlohmann::json(nullptr)},
      {"responding", dialer->responding},
      {"problem",
       dialer->problem.empty() ? nlohmann::json(nullptr) : nlohmann::json(dialer->problem)},
  };
}

nlohmann::json waiting_json(const CampaignStatus& st) {
  // A compliance rule holds the customer callable next: say which and until
  // when, so "nothing is being dialled" reads as a rule, not a fault.
  if (st.next_callable_held.empty() || !st.next_callable_at) return nullptr;
  return {{"held", st.next_callable_held},
          {"until", format_iso8601(*st.next_callable_at)},
          {"text", waiting_text(st.next_callable_held, *st.next_callable_at)}};
}

nlohmann::json campaign_status_json(const CampaignStatus& st) {
  nlohmann::json by_state = nlohmann::json::object();
  for (auto s : {CustomerState::kPending, CustomerState::kDialing, CustomerState::kReached,
                 CustomerState::kExhausted, CustomerState::kSuppressed}) {
    by_state[std::string(to_string(s))] = customers_in(st, s);
  }
  nlohmann::json j = {
      {"campaign", st.campaign.name},
      {"state", to_string(st.campaign.state)},
      {"dialer", dialer_json(st.dialer)},
      {"customers", st.customers},
      {"customers_by_state", by_state},
      {"phones", st.phones},
      {"attempts", st.attempts},
      {"attempts_in_flight", st.attempts_in_flight},
      {"attempts_by_outcome", outcomes_json(st.attempts_by_outcome)},
  };
  j.update(reject_counts_json(st.rejects));
  // Only a real time: a customer never called is callable from the epoch,
  // which would read as "1970" (then someone is callable at once).
  if (st.next_callable_at && st.next_callable_at->time_since_epoch().count() > 0) {
    j["next_callable_at"] = format_iso8601(*st.next_callable_at);
  }
  if (nlohmann::json w = waiting_json(st); !w.is_null()) j["waiting"] = std::move(w);
  return j;
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
