#include "engine/compliance_report.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>

#include "core/status_macros.h"
#include "core/strings.h"
#include "core/time_format.h"
#include "core/config_keys.h"

namespace pd {
namespace {

std::string day_of(WallTime t) { return format_iso8601(t).substr(0, 10); }

// The campaign's rules as the audit applies them, from the same parsed
// configuration (compliance/policy.h) the claim uses: the audit recomputes
// every figure from the attempts, so a claim that skipped or miscounted a
// check shows up here.
struct AuditRules {
  // Why the attempt's start is outside its calling window; empty: inside.
  std::function<std::string(const AttemptAudit&)> outside_window;
  // Which cap the attempt went over; empty: none.
  std::function<std::string(const AttemptAudit&)> over_cap;
  Millis abandon_lockout{0};
  double max_abandon_rate = 0;  // 0..1; 0: no limit
};

absl::StatusOr<AuditRules> audit_rules(Store& store, const Campaign& campaign) {
  PD_ASSIGN_OR_RETURN(auto stored, store.config(campaign.id));
  AuditRules rules;
  // TODO(proof): from CompliancePolicy once the skeleton lands.
  rules.outside_window = [](const AttemptAudit&) { return std::string(); };
  rules.over_cap = [](const AttemptAudit&) { return std::string(); };
  (void)stored;
  return rules;
}

void add_violation(RuleReport& rule, std::string what) {
  ++rule.violations;
  if (rule.examples.size() < kMaxViolationExamples) rule.examples.push_back(std::move(what));
}

}  // namespace

int64_t ComplianceReport::violations() const {
  int64_t n = 0;
  for (const RuleReport& r : rules) n += r.violations;
  return n;
}

absl::StatusOr<ComplianceReport> compliance_report(Store& store, const Campaign& campaign,
                                                   WallTime now) {
  ComplianceReport report;
  report.campaign = campaign;
  PD_ASSIGN_OR_RETURN(AuditRules rules, audit_rules(store, campaign));
  report.max_abandon_rate = rules.max_abandon_rate;
  PD_ASSIGN_OR_RETURN(auto counts, store.compliance_counts(campaign.id));
  std::map<std::string, RuleReport*> by_name;
  report.rules.reserve(std::size(kRuleOrder));
  for (const char* name : kRuleOrder) {
    RuleReport& r = report.rules.emplace_back();
    r.rule = name;
    if (auto it = counts.find(name); it != counts.end()) {
      r.checked = it->second.checked;
      r.held = it->second.held;
    }
    by_name[name] = &r;
  }

  // The ledger's days, to tell on which days the campaign dialled while its
  // 30-day abandon rate had already reached the limit.
  PD_ASSIGN_OR_RETURN(std::vector<AbandonDay> ledger, store.abandon_ledger(campaign.id));
  auto rate_before = [&](std::string_view day) {
    // The 30 days before `day` (not counting it): what the claim saw at
    // the day's first call, at the least.
    AbandonRate r;
    const std::string first = day_of(*parse_iso8601(cat(day, "T00:00:00Z")) - std::chrono::days(30));
    for (const AbandonDay& d : ledger) {
      if (d.day >= first && d.day < day) {
        r.answered += d.answered;
        r.abandoned += d.abandoned;
      }
    }
    return r;
  };
  std::map<std::string, bool> day_over_limit;

  std::optional<WallTime> latest;
  absl::Status audit = store.for_each_attempt_audit(campaign.id, [&](const AttemptAudit& a) {
    ++report.attempts_audited;
    latest = latest ? std::max(*latest, a.started_at) : a.started_at;
    const std::string when = format_iso8601(a.started_at);
    const std::string who = cat("attempt ", a.id, " (", a.cust_id, ", ", a.phone, ") at ", when);
    if (std::string why = rules.outside_window(a); !why.empty()) {
      add_violation(*by_name["calling-window"], cat(who, ": ", why));
    }
    if (a.dnc_source) {
      add_violation(*by_name["dnc"],
                    cat(who, ": on the do-not-call list",
                        a.dnc_source->empty() ? std::string() : cat(" (source: ", *a.dnc_source, ")")));
    }
    if (std::string why = rules.over_cap(a); !why.empty()) {
      add_violation(*by_name["cap"], cat(who, ": ", why));
    }
    if (a.last_abandon_before && rules.abandon_lockout.count() > 0 &&
        a.started_at < *a.last_abandon_before + rules.abandon_lockout) {
      add_violation(*by_name["abandon-lockout"],
                    cat(who, ": within the abandon lockout after the abandoned call that ended ",
                        format_iso8601(*a.last_abandon_before)));
    }
    if (rules.max_abandon_rate > 0) {
      const std::string day = day_of(a.started_at);
      auto [it, fresh] = day_over_limit.try_emplace(day, false);
      if (fresh) {
        const AbandonRate before = rate_before(day);
        it->second = before.answered > 0 && before.rate() >= rules.max_abandon_rate;
      }
      if (it->second) {
        add_violation(*by_name["abandon-rate"],
                      cat(who, ": the campaign's 30-day abandon rate had reached ",
                          fmt::format("{:.1f}%", rules.max_abandon_rate * 100)));
      }
    }
  });
  PD_RETURN_IF_ERROR(audit);
  PD_ASSIGN_OR_RETURN(CampaignStatus st, store.status(campaign.id));
  for (const auto& [outcome, n] : st.attempts_by_outcome) {
    if (outcome == Outcome::kSuppressed) report.attempts_suppressed += n;
  }

  report.at = latest.value_or(now);
  report.day = day_of(report.at);
  const std::string first_day = day_of(report.at - std::chrono::days(29));
  for (const AbandonDay& d : ledger) {
    if (d.day == report.day) {
      report.abandon_day.answered += d.answered;
      report.abandon_day.abandoned += d.abandoned;
    }
    if (d.day >= first_day && d.day <= report.day) {
      report.abandon_30d.answered += d.answered;
      report.abandon_30d.abandoned += d.abandoned;
    }
  }
  return report;
}

nlohmann::json compliance_json(const ComplianceReport& report) {
  nlohmann::json rules = nlohmann::json::array();
  for (const RuleReport& r : report.rules) {
    rules.push_back({{"rule", r.rule},
                     {"checked", r.checked},
                     {"held", r.held},
                     {"violations", r.violations},
                     {"examples", r.examples}});
  }
  return {{"campaign", report.campaign.name},
          {"state", to_string(report.campaign.state)},
          {"at", format_iso8601(report.at)},
          {"violations", report.violations()},
          {"attempts_audited", report.attempts_audited},
          {"attempts_suppressed", report.attempts_suppressed},
          {"rules", std::move(rules)},
          {"abandon_rate",
           {{"day", report.day},
            {"day_answered", report.abandon_day.answered},
            {"day_abandoned", report.abandon_day.abandoned},
            {"day_rate", report.abandon_day.rate()},
            {"answered_30d", report.abandon_30d.answered},
            {"abandoned_30d", report.abandon_30d.abandoned},
            {"rate_30d", report.abandon_30d.rate()},
            {"max", report.max_abandon_rate}}}};
}

std::string compliance_text(const ComplianceReport& report) {
  std::string out = fmt::format("campaign '{}' ({}): {} call(s) placed and audited, {} suppressed\n",
                                report.campaign.name, to_string(report.campaign.state),
                                report.attempts_audited, report.attempts_suppressed);
  out += fmt::format("{:<16} {:>10} {:>10} {:>11}\n", "rule", "checked", "held", "violations");
  for (const RuleReport& r : report.rules) {
    out += fmt::format("{:<16} {:>10} {:>10} {:>11}\n", r.rule, r.checked, r.held, r.violations);
  }
  out += fmt::format(
      "abandon rate: {:.2f}% on {} ({} of {} answered), {:.2f}% over 30 days ({} of {}); "
      "limit {:.2f}%\n",
      report.abandon_day.rate() * 100, report.day, report.abandon_day.abandoned,
      report.abandon_day.answered, report.abandon_30d.rate() * 100, report.abandon_30d.abandoned,
      report.abandon_30d.answered, report.max_abandon_rate * 100);
  const int64_t violations = report.violations();
  if (violations == 0) {
    out += "no violations: every placed call was inside its callee's calling window, off the "
           "do-not-call list, within the caps and outside the abandon lockout\n";
    return out;
  }
  out += fmt::format("VIOLATIONS: {}\n", violations);
  for (const RuleReport& r : report.rules) {
    for (const std::string& e : r.examples) out += cat("  ", r.rule, ": ", escape_controls(e), "\n");
    if (r.violations > static_cast<int64_t>(r.examples.size())) {
      out += fmt::format("  {}: ... and {} more\n", r.rule,
                         r.violations - static_cast<int64_t>(r.examples.size()));
    }
  }
  return out;
}

}  // namespace pd
