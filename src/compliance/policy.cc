#include "compliance/policy.h"

#include "core/config_keys.h"
#include "core/status_macros.h"
#include "core/strings.h"

namespace pd {

std::string join_zones(const std::vector<std::string>& zones) {
  std::string out;
  for (const std::string& z : zones) {
    if (z.empty()) continue;
    if (!out.empty()) out += ' ';
    out += z;
  }
  return out;
}

std::vector<std::string> split_zones(std::string_view stored) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start < stored.size()) {
    size_t end = stored.find(' ', start);
    if (end == std::string_view::npos) end = stored.size();
    if (end > start) out.emplace_back(stored.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

std::string Verdict::reason() const {
  if (detail.empty()) return std::string(rule);
  return cat(rule, " ", detail);
}

namespace {

// The limits' keys (validated again: a hand-edited store is caught, naming
// the key).
absl::Status read_limits(const std::map<std::string, std::string>& config,
                         CompliancePolicy& policy) {
  PD_ASSIGN_OR_RETURN(CampaignConfig c, CampaignConfig::from(config));
  policy.phone_caps = {c.max_calls_per_24h, c.max_calls_per_7d};
  policy.customer_caps = {c.max_customer_calls_per_24h, c.max_customer_calls_per_7d};
  policy.abandon_lockout = c.abandon_lockout;
  policy.max_abandon_rate = c.max_abandon_rate;
  if (auto tz = config.find("default-timezone"); tz != config.end()) {
    policy.ledger_timezone = tz->second;
  }
  return absl::OkStatus();
}

}  // namespace

CompliancePolicy::PhoneCaps CompliancePolicy::phone_caps_in(std::string_view region) const {
  PhoneCaps out{phone_caps};
  auto it = region.empty() ? region_caps.end() : region_caps.find(region);
  if (it == region_caps.end()) return out;
  // The stricter cap holds; 0 is no cap at all.
  auto lower = [](int& cap, int region_cap, bool& binds) {
    if (region_cap > 0 && (cap == 0 || region_cap < cap)) {
      cap = region_cap;
      binds = true;
    }
  };
  lower(out.caps.per_24h, it->second.per_24h, out.region_24h);
  lower(out.caps.per_7d, it->second.per_7d, out.region_7d);
  return out;
}

absl::StatusOr<CompliancePolicy> CompliancePolicy::from_config(
    const std::map<std::string, std::string>& config, std::string_view /*region_rules*/) {
  CompliancePolicy policy;
  PD_RETURN_IF_ERROR(read_limits(config, policy));
  return policy;
}

}  // namespace pd
