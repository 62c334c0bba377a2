// The proof that the compliance rules held (`powerdialer compliance`,
// GET /api/campaigns/NAME/compliance, the dashboard's compliance view).
//
// For each rule: the candidates the claims checked and held back (counted
// inside the claim's own transaction, Store::compliance_counts), and the
// violations that an independent audit of the placed attempts finds:
// every attempt's start re-checked against the calling window in each of its
// phone's zones, the do-not-call entries in force then, the contact caps
// over the 24 hours and 7 days before it (all campaigns), the abandon
// lockout, and the campaign's abandon rate on the days it dialled. A
// compliance officer reads "0 violations" as the claim's promise kept.
//
// Plain functions over a Store; not thread-safe beyond the Store's rules.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "store/store.h"

namespace pd {

struct RuleReport {
  std::string rule;  // "calling-window", "dnc", "cap", "abandon-lockout", "abandon-rate"
  int64_t checked = 0;
  int64_t held = 0;
  int64_t violations = 0;
  // The first few violations, each naming the attempt and what was wrong.
  std::vector<std::string> examples;
};

// Abandoned calls / calls answered by a person (the ledger's figures).
struct AbandonRate {
  int64_t answered = 0;
  int64_t abandoned = 0;
  double rate() const {
    return answered == 0 ? 0.0 : static_cast<double>(abandoned) / static_cast<double>(answered);
  }
};

struct ComplianceReport {
  Campaign campaign;
  // The moment the rates are taken at: the campaign's latest recorded call
  // (a simulated campaign's clock), or the real time when it has none.
  WallTime at{};
  int64_t attempts_audited = 0;  // calls placed
  int64_t attempts_suppressed = 0;
  std::vector<RuleReport> rules;  // in kRuleOrder
  std::string day;                // 'YYYY-MM-DD' (UTC) of `at`
  AbandonRate abandon_day;        // that day
  AbandonRate abandon_30d;        // the 30 days up to and including it
  double max_abandon_rate = 0;    // the campaign's limit (0..1)

  int64_t violations() const;
};

inline constexpr const char* kRuleOrder[] = {"calling-window", "dnc", "cap", "abandon-lockout",
                                              "abandon-rate"};
inline constexpr size_t kMaxViolationExamples = 20;

// kNotFound (no such campaign), or the store's and the configuration's
// errors. `now` is the real time (used when the campaign never dialled).
absl::StatusOr<ComplianceReport> compliance_report(Store& store, const Campaign& campaign,
                                                   WallTime now);

// {"campaign", "at", "violations", "attempts_audited", "attempts_suppressed",
//  "rules": [{"rule", "checked", "held", "violations", "examples"}],
//  "abandon_rate": {"day", "day_answered", "day_abandoned", "day_rate",
//                   "answered_30d", "abandoned_30d", "rate_30d", "max"}}
nlohmann::json compliance_json(const ComplianceReport& report);
// A table for people, ending with a plain verdict line.
std::string compliance_text(const ComplianceReport& report);

}  // namespace pd
