#include "compliance/policy.h"

#include "compliance/calling_window.h"
#include "compliance/compliance_data.h"
#include "compliance/region_rules.h"
#include "core/strings.h"
#include "core/time_format.h"

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
    const std::map<std::string, std::string>& config, std::string_view region_rules) {
  CompliancePolicy p;
  if (!trim(region_rules).empty()) {
    auto rules = RegionRules::parse(region_rules, "the stored region rules");
    if (!rules.ok()) return rules.status();
    p.region_rules_ = std::make_shared<const RegionRules>(*std::move(rules));
  }
  auto window = WindowConfig::from_config(config);
  if (!window.ok()) return window.status();
  p.window_ = std::make_shared<const CallingWindow>(*std::move(window), p.region_rules_.get());
  return p;
}

CompliancePolicy::CompliancePolicy()
    : region_rules_(std::make_shared<const RegionRules>(RegionRules::defaults())) {
  auto config = WindowConfig::from_config({});
  // The defaults are constants that a unit test parses: they cannot fail.
  if (!config.ok()) std::abort();
  window_ = std::make_shared<const CallingWindow>(*std::move(config), region_rules_.get());
}

const CallingWindow& CompliancePolicy::window() const { return *window_; }
const RegionRules& CompliancePolicy::region_rules() const { return *region_rules_; }

Verdict CompliancePolicy::check_window(const CalleeFacts& callee, WallTime now,
                                       std::string* callee_timezone) const {
  const WindowVerdict w = window_->check(now, join_zones(callee.zones), callee.region);
  if (callee_timezone != nullptr) *callee_timezone = w.zones_text();
  if (w.open) return Verdict::dial();
  if (w.no_timezone) {
    // Nothing says when it is daytime for this callee: never guess.
    return Verdict::suppress(rule::kCallingWindow, "no time zone known (set default-timezone)");
  }
  if (!w.next_open) {
    // No window in the next 14 days (the hours never overlap, or all is
    // closed): look again then, as the configuration may have changed.
    return Verdict::defer(rule::kCallingWindow, now + kWindowSearchLimit,
                          cat(w.held_zone, " (no window in 14 days: ", w.rule, ")"));
  }
  return Verdict::defer(rule::kCallingWindow, *w.next_open, w.opens_zone);
}

std::string_view region_rules_text_or_default(std::string_view stored) {
  return trim(stored).empty() ? default_region_rules() : stored;
}

std::string waiting_text(std::string_view held, WallTime until) {
  if (held.empty()) return {};
  const std::string prefix = cat(rule::kCallingWindow, " ");
  if (held.substr(0, prefix.size()) == prefix) {
    const std::string_view rest = held.substr(prefix.size());
    const std::string_view zone_name = rest.substr(0, rest.find(' '));
    if (rest == zone_name) {
      if (const date::time_zone* zone = find_time_zone(zone_name)) {
        return cat("the next window opens ",
                   date::format("%H:%M", zone->to_local(date::floor<std::chrono::seconds>(until))),
                   " ", zone_name);
      }
    }
  }
  return cat("held by ", held, " until ", format_iso8601(until));
}

std::string wait_duration_text(WallTime now, WallTime until) {
  using namespace std::chrono;
  if (until <= now) return "now";
  // Rounded up: "in 1 min" for 20 seconds, never "in 0 min".
  const int64_t total = duration_cast<minutes>(until - now + minutes(1) - milliseconds(1)).count();
  const int64_t d = total / (24 * 60), h = (total / 60) % 24, m = total % 60;
  if (d > 0) return h > 0 ? cat(d, " d ", h, " h") : cat(d, " d");
  if (h > 0) return m > 0 ? cat(h, " h ", m, " min") : cat(h, " h");
  return cat(m, " min");
}

}  // namespace pd
