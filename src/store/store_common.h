// Helpers both Store implementations share (SQLite and PostgreSQL): the
// parts of the contract that do not depend on an SQL dialect. Only store
// implementations include this.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "compliance/policy.h"
#include "core/retry_policy.h"
#include "core/types.h"
#include "store/store.h"

namespace pd::store_common {

inline int64_t ms(WallTime t) { return t.time_since_epoch().count(); }
inline WallTime wall(int64_t v) { return WallTime{Millis{v}}; }
// The real clock, in ms since the epoch (created_at and the like).
int64_t wall_now_ms();
// `bytes` random bytes as lower-case hex (instance ids).
std::string random_hex(size_t bytes);

inline constexpr Millis k24h{24LL * 3600 * 1000};
inline constexpr Millis k7d = 7 * k24h;
// An abandoned call lasts seconds; its start is looked up this far before
// the lockout's reach, so the index on (phone, started_at) bounds the scan.
inline constexpr Millis kLongestCall = k24h;
// How far back call_history keeps the calls a reload forgets: the longest
// look-back of any rule (abandon-lockout may be 30 days; a call may last a
// day), plus a margin.
inline constexpr int64_t kCallHistoryKeptMs = 32LL * 24 * 3600 * 1000;

absl::StatusOr<CampaignState> state_from(std::string_view text);

// Connect's ClientToken: unique per attempt (not per phone, so a legitimate
// redial is never refused) and per database (the random instance id), and
// derived from the attempt, so a retried request reuses it. The start time
// is part of it because attempt ids can come back after a reload deletes
// the newest attempts: a reused token would get the old call's contact from
// Connect (idempotent for 7 days) and place no call.
std::string client_token(std::string_view instance_id, AttemptId attempt, int64_t started_ms);

// "2026-12-02": the day of `t` in `zone` (an IANA name; empty or unknown:
// UTC).
std::string ledger_day(WallTime t, std::string_view zone);
// The day `n` days before `day` ("YYYY-MM-DD").
std::string days_before(const std::string& day, int n);

// When one more call is allowed under `cap` calls in `window`, counting
// the calls placed to phone `key` (or, `per_customer`, to customer id
// `key`) in every campaign; nullopt when one is allowed now.
using CapLookup = std::function<absl::StatusOr<std::optional<WallTime>>(
    bool per_customer, std::string_view key, int cap, Millis window)>;
// The cap rule's verdict for the customer's current phone: every cap
// reached holds the customer until the one that lets go last.
absl::StatusOr<Verdict> caps_verdict(const CompliancePolicy& policy, const CalleeFacts& callee,
                                     std::string_view phone, std::string_view cust_id,
                                     WallTime now, const CapLookup& lets_go);

// The wrap-up code an agent gave, trimmed; kInvalidArgument naming it when
// it cannot be one (is_disposition_code).
absl::StatusOr<std::string_view> disposition_code(std::string_view raw);
// kInvalidArgument when `callback_at` comes with a code the campaign's
// dispositions do not map to callback (`rule`: the code's rule, or null).
absl::Status check_callback_at(std::string_view code, const DispositionRule* rule,
                               const std::optional<WallTime>& callback_at);

// kFailedPrecondition: the campaign may not dial, its abandon rate reached
// the limit.
absl::Status abandon_rate_paused(std::string_view campaign, const AbandonRates& rates);

}  // namespace pd::store_common
