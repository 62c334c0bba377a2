// The compliance rules one campaign is dialled under, and what they say
// about one customer at one moment.
//
// The rules live in the store's claim: Store::claim builds the campaign's
// CompliancePolicy from its configuration (plus the store-wide region rules)
// inside the claim's transaction and asks it about every customer it would
// hand out, so no path (run, serve, simulate; simulator or Amazon Connect;
// one process or several) can place a call that breaks one. A rule that
// holds a customer back says until when (the store moves the customer's
// next callable time there, so the engine sleeps until then instead of
// polling) or that the number must never be dialled (suppressed).
#pragma once

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "core/types.h"

namespace pd {

class CallingWindow;  // compliance/calling_window.h
class RegionRules;    // compliance/region_rules.h

// The rules by name, as counted in the compliance report and written in a
// held customer's reason and a suppressed attempt's rule.
namespace rule {
inline constexpr std::string_view kCallingWindow = "calling-window";
inline constexpr std::string_view kDnc = "dnc";
inline constexpr std::string_view kCap = "cap";
inline constexpr std::string_view kAbandonLockout = "abandon-lockout";
inline constexpr std::string_view kAbandonRate = "abandon-rate";
}  // namespace rule

// What is known about where a callee is, worked out once at import.
struct CalleeFacts {
  std::vector<std::string> zones;  // candidate IANA time zones; empty: unknown
  std::string region;              // e.g. "US-FL"; empty: unknown
};

// Zones as stored: IANA names separated by single spaces.
std::string join_zones(const std::vector<std::string>& zones);
std::vector<std::string> split_zones(std::string_view stored);

// What one rule says about dialling one customer's current phone now.
struct Verdict {
  enum class Kind {
    kDial,      // the rule allows the call
    kDefer,     // not now: callable again at `until` (> now)
    kSuppress,  // never: the number must not be dialled (outcome suppressed)
  };
  Kind kind = Kind::kDial;
  // False when the rule does not apply to this campaign or customer (e.g. no
  // cap configured): the report counts only the calls a rule checked.
  bool checked = true;
  std::string_view rule;  // one of rule::*, for kDefer and kSuppress
  WallTime until{};       // kDefer
  // In a user's words, after the rule's name: "America/Chicago",
  // "source: fcc", "3 calls in 24h".
  std::string detail;

  static Verdict dial() { return {}; }
  static Verdict not_checked() {
    Verdict v;
    v.checked = false;
    return v;
  }
  static Verdict defer(std::string_view rule_name, WallTime until, std::string detail) {
    return {Kind::kDefer, true, rule_name, until, std::move(detail)};
  }
  static Verdict suppress(std::string_view rule_name, std::string detail) {
    return {Kind::kSuppress, true, rule_name, {}, std::move(detail)};
  }
  // "calling-window America/Chicago": the rule, then its detail.
  std::string reason() const;
};

// One campaign's compliance configuration, parsed. Cheap to copy; the store
// caches it while the configuration does not change.
class CompliancePolicy {
 public:
  // `config` is the campaign's stored configuration (config_keys.h names);
  // `region_rules` the store-wide region rules text (empty: the built-in
  // ones). Errors name the key (or the rules file line) that is wrong.
  static absl::StatusOr<CompliancePolicy> from_config(
      const std::map<std::string, std::string>& config, std::string_view region_rules);

  // The windows, caps, lockout and abandon-rate settings are added by the
  // rules that use them (see the store's claim).

  // The defaults: 08:00-21:00, the built-in region rules.
  CompliancePolicy();

  // --- calling windows and region rules ---------------------------------
  // The campaign's calling window with the region rules applied
  // (compliance/calling_window.h).
  const CallingWindow& window() const;
  // The region rules in force (compliance/region_rules.h): per-region hours
  // and caps, e.g. Florida's 3 calls in 24 hours:
  // region_rules().max_calls_24h("US-FL").
  const RegionRules& region_rules() const;
  // What the calling-window rule says about calling a phone in `zones` /
  // `region` at `now`; sets `callee_timezone` to the zones checked.
  Verdict check_window(const CalleeFacts& callee, WallTime now,
                       std::string* callee_timezone) const;

 private:
  // Shared, so a copy is cheap; window_ points into region_rules_.
  std::shared_ptr<const RegionRules> region_rules_;
  std::shared_ptr<const CallingWindow> window_;
};

// The store setting (Store::setting) holding the region rules text.
inline constexpr std::string_view kRegionRulesSetting = "region-rules";

// The region rules text as `rules show` prints it: the stored text, or the
// built-in data/region-rules.conf when none is stored.
std::string_view region_rules_text_or_default(std::string_view stored);

// "the next window opens 08:00 America/Chicago" for a customer held by
// `held` ("calling-window America/Chicago") until `until`; for another rule,
// "held by cap 3 calls in 24h until 2026-12-02T14:05:00.000Z". Empty when
// `held` is. The caller adds how long that is from now.
std::string waiting_text(std::string_view held, WallTime until);
// "42 min", "3 h 5 min", "2 d 4 h": how long until `until` from `now`.
std::string wait_duration_text(WallTime now, WallTime until);

}  // namespace pd
