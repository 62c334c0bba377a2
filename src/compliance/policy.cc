#include "compliance/policy.h"

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

absl::StatusOr<CompliancePolicy> CompliancePolicy::from_config(
    const std::map<std::string, std::string>& /*config*/, std::string_view /*region_rules*/) {
  return CompliancePolicy();
}

}  // namespace pd
