#include "engine/compliance_report.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <memory>

#include "core/status_macros.h"
#include "core/strings.h"
#include "core/time_format.h"
#include "compliance/calling_window.h"
#include "compliance/policy.h"
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

// A config value as stored, or the key's default.
std::string config_value(const std::map<std::string, std::string>& stored, std::string_view key) {
  if (auto it = stored.find(std::string(key)); it != stored.end()) return it->second;
  const ConfigKey* k = find_config_key(key);
  return k != nullptr ? std::string(k->default_value) : std::string();
}

// "3%" or "0.03" (validated when it was set); nullopt when unset or unreadable.
std::optional<double> rate_value(std::string_view text) {
  text = trim(text);
  if (text.empty()) return std::nullopt;
  const bool percent = text.back() == '%';
  if (percent) text.remove_suffix(1);
  try {
    size_t used = 0;
    const double v = std::stod(std::string(text), &used);
    if (used != text.size()) return std::nullopt;
    return percent ? v / 100 : v;
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

int64_t cap_value(const std::map<std::string, std::string>& stored, std::string_view key) {
  const std::string v = config_value(stored, key);
  if (v.empty()) return 0;
  try {
    return std::stoll(v);
  } catch (const std::exception&) {
    return 0;
  }
}

absl::StatusOr<AuditRules> audit_rules(Store& store, const Campaign& campaign) {
  PD_ASSIGN_OR_RETURN(auto stored, store.config(campaign.id));
  AuditRules rules;
  // The windows: the campaign's hours and the store's region rules, parsed
  // as the claim parses them, asked afresh for each recorded start.
  PD_ASSIGN_OR_RETURN(std::optional<std::string> rules_text, store.setting(kRegionRulesSetting));
  PD_ASSIGN_OR_RETURN(CompliancePolicy parsed,
                      CompliancePolicy::from_config(stored, rules_text.value_or("")));
  auto policy = std::make_shared<const CompliancePolicy>(std::move(parsed));
  rules.outside_window = [policy](const AttemptAudit& a) -> std::string {
    const WindowVerdict v = policy->window().check(a.started_at, a.zones, a.region);
    if (v.open) return {};
    if (v.no_timezone) return "the number has no time zone and the campaign no default-timezone";
    return cat("closed in ", v.held_zone.empty() ? v.zones_text() : v.held_zone,
               v.rule.empty() ? std::string() : cat(" (", v.rule, ")"));
  };
  // The caps: the campaign's, or its callee's region's when lower.
  const int64_t phone_24h = cap_value(stored, "max-calls-per-24h");
  const int64_t phone_7d = cap_value(stored, "max-calls-per-7d");
  const int64_t customer_24h = cap_value(stored, "max-customer-calls-per-24h");
  const int64_t customer_7d = cap_value(stored, "max-customer-calls-per-7d");
  rules.over_cap = [=](const AttemptAudit& a) -> std::string {
    auto lowest = [](int64_t campaign_cap, std::optional<int> region_cap) {
      if (!region_cap) return campaign_cap;
      return campaign_cap > 0 ? std::min<int64_t>(campaign_cap, *region_cap) : *region_cap;
    };
    const int64_t p24 = lowest(phone_24h, policy->region_rules().max_calls_24h(a.region));
    const int64_t p7 = lowest(phone_7d, policy->region_rules().max_calls_7d(a.region));
    if (p24 > 0 && a.phone_calls_24h > p24) {
      return cat("call ", a.phone_calls_24h, " to the number in 24 hours (cap ", p24, ")");
    }
    if (p7 > 0 && a.phone_calls_7d > p7) {
      return cat("call ", a.phone_calls_7d, " to the number in 7 days (cap ", p7, ")");
    }
    if (customer_24h > 0 && a.customer_calls_24h > customer_24h) {
      return cat("call ", a.customer_calls_24h, " to the customer in 24 hours (cap ",
                 customer_24h, ")");
    }
    if (customer_7d > 0 && a.customer_calls_7d > customer_7d) {
      return cat("call ", a.customer_calls_7d, " to the customer in 7 days (cap ", customer_7d,
                 ")");
    }
    return {};
  };
  if (auto lockout = parse_duration(config_value(stored, "abandon-lockout"))) {
    rules.abandon_lockout = std::chrono::duration_cast<Millis>(*lockout);
  }
  rules.max_abandon_rate = rate_value(config_value(stored, "max-abandon-rate")).value_or(0);
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
    if (rules.max_abandon_rate > 0 && rules.max_abandon_rate < 1) {  // 100%: no cap
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
