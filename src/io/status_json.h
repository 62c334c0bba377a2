// The JSON shapes that report on a campaign, shared by the command line
// (`status --json`, `config list --json`, `simulate`) and the HTTP API, so
// both print the same keys (documented in the README).
// Thread-safety: plain functions.
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <ostream>
#include <string>

#include "core/types.h"
#include "store/store.h"

namespace pd {

// {"connected": n, ...} with every outcome, 0 when none.
nlohmann::json outcomes_json(const std::map<Outcome, int64_t>& by_outcome);

// `status --json`: campaign, state, dialer (null unless running or
// stopping), customers, customers_by_state, phones, attempts,
// attempts_in_flight, attempts_by_outcome, the reject counts below, and
// next_callable_at (only while every pending customer waits for a retry).
// {"held": "calling-window America/Chicago", "until": ISO time, "text": "the
// next window opens 08:00 America/Chicago"} when a compliance rule holds the
// customer callable next; null otherwise. (The reader adds "in 42 min".)
nlohmann::json waiting_json(const CampaignStatus& st);
nlohmann::json campaign_status_json(const CampaignStatus& status);

// null, or {"owner", "lease_until", "responding", "problem"?}: how the
// dialer of a running or stopping campaign is doing.
nlohmann::json dialer_json(const std::optional<DialerHealth>& dialer);

// rejected_rows, rejects_by_reason ({reason: rows}) and rejects_not_listed
// (rejected rows the store counted but did not keep).
nlohmann::json reject_counts_json(const RejectCounts& rejects);

// `rejects --json` and GET .../rejects: reject_counts_json's keys plus
// "rejects": [{"line", "reason"}], written row by row as the store reads
// them, so memory stays flat however many rows a store holds (stores from
// before version 3 kept every one).
absl::Status write_rejects_json(Store& store, CampaignId id, std::ostream& out);

// Customers in `state` (0 when none).
int64_t customers_in(const CampaignStatus& status, CustomerState state);

// `config list --json`: every key with its value (its default when not
// set; null when neither).
nlohmann::json config_values_json(const std::map<std::string, std::string>& stored);

}  // namespace pd
