// Results export (the sample's SaveResults): one CSV row per dial attempt,
// streamed from the store, CSV-injection safe.
#pragma once

#include <cstdint>
#include <ostream>

#include "absl/status/statusor.h"
#include "store/store.h"

namespace pd {

// The header, in order.
inline constexpr const char* kResultsHeader =
    "campaign,cust_id,phone,attempt,started_at,answered_at,ended_at,outcome,"
    "disconnect_reason,contact_id,agent_id,disposition,callee_timezone,rule";

// Writes the header and every attempt of `campaign`; returns the row count.
absl::StatusOr<int64_t> export_results(Store& store, CampaignId campaign, std::ostream& out);

}  // namespace pd
