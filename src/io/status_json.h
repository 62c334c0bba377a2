// The JSON shapes that report on a campaign, shared by the command line
// (`status --json`, `config list --json`, `simulate`) and the HTTP API, so
// both print the same keys (documented in the README).
// Thread-safety: plain functions.
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <string>

#include "core/types.h"
#include "store/store.h"

namespace pd {

// {"connected": n, ...} with every outcome, 0 when none.
nlohmann::json outcomes_json(const std::map<Outcome, int64_t>& by_outcome);

// `status --json`: campaign, state, customers, customers_by_state, phones,
// rejected_rows, attempts, attempts_in_flight, attempts_by_outcome,
// next_callable_at.
nlohmann::json campaign_status_json(const CampaignStatus& status);

// Customers in `state` (0 when none).
int64_t customers_in(const CampaignStatus& status, CustomerState state);

// `config list --json`: every key with its value (its default when not
// set; null when neither).
nlohmann::json config_values_json(const std::map<std::string, std::string>& stored);

}  // namespace pd
