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

#include "core/config_keys.h"
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
// {"day", "answered_today", "abandoned_today", "today" ("1.2%"),
// "answered_30d", "abandoned_30d", "rate_30d", "max" ("3%"), "paused",
// "reason" ("paused: 30-day abandon rate ..." or null)}.
nlohmann::json abandon_rates_json(const AbandonRates& rates);

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

// What a running dialer last said about its pacing. The engine's heartbeat
// writes it into the store's settings (pacing_setting_key), so `status` in
// another process shows the live lines per agent.
struct LivePacing {
  std::string mode;            // "progressive"
  double lines_per_agent = 1;  // calls in flight per logged-in agent, aimed for
  bool warming_up = false;     // predictive: dials as power mode until it has learnt
  int64_t throttled = 0;       // contact-centre throttles seen
  std::string note;            // one line for humans
  WallTime at{};               // when the dialer wrote it
};
// "pacing/<campaign id>".
std::string pacing_setting_key(CampaignId id);
nlohmann::json live_pacing_json(const LivePacing& live);
// nullopt when the text is not what live_pacing_json wrote (an older or
// damaged setting reads as "not known", never as an error).
std::optional<LivePacing> parse_live_pacing(std::string_view text);

// The campaign's live pacing from the store's settings, only while the
// campaign is running or stopping (a finished dialer's last word is history,
// not its current level); nullopt otherwise or when never written.
absl::StatusOr<std::optional<LivePacing>> read_live_pacing(Store& store, const Campaign& campaign);

// A campaign's pacing as the store tells it: the configuration (mode,
// lines per agent, target) and, while it runs, what its dialer last wrote.
struct CampaignPacing {
  CampaignConfig config;
  std::optional<LivePacing> live;
  bool running = false;  // running or stopping (live may not be written yet)
};

// The configuration `status` and the API show: a stored value that no
// longer reads (set by a newer version) leaves the defaults in its place,
// the pacing mode as written. max_abandon_rate from `abandon`.
CampaignConfig shown_config(const std::map<std::string, std::string>& stored,
                            std::string_view campaign, const AbandonRates& abandon);
absl::StatusOr<CampaignPacing> read_campaign_pacing(Store& store, const Campaign& campaign,
                                                    const AbandonRates& abandon);

// The "pacing" object of `status --json`, GET /api/campaigns/NAME and the
// live feed: {"mode", "lines_per_agent" (live; null unless a dialer is
// running and has said), "configured_lines_per_agent", "max_lines_per_agent",
// "abandon_rate_today", "abandon_rate_30d", "target_abandon_rate",
// "max_abandon_rate" (fractions, 0.025 = 2.5%), "over_target" (30-day rate
// above the target), "warming_up", "throttled", "note", "updated_at"}. Mode
// and target from the configuration, the abandon rates from the ledger.
nlohmann::json pacing_json(const CampaignConfig& config, const AbandonRates& abandon,
                           const std::optional<LivePacing>& live);
// `status`'s line, after "pacing     ": "progressive, 1.43 lines per agent
// (lines-per-agent 1.5, max 3); abandons today 1.2%, 30 days 2.0%, target
// 2.5% (max 3%)".
// `running` without `live`: "starting" (the dialer has not said yet), else
// "not dialling".
std::string pacing_text(const CampaignConfig& config, const AbandonRates& abandon,
                        const std::optional<LivePacing>& live, WallTime now,
                        bool running = false);

// `config list --json`: every key with its value (its default when not
// set; null when neither).
nlohmann::json config_values_json(const std::map<std::string, std::string>& stored);

}  // namespace pd
