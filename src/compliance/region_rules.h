// Region rules: calling hours by weekday and call caps that a region's law
// adds to every campaign (e.g. Florida: 08:00-20:00, 3 calls in 24 hours).
// Store-wide text (settings 'region-rules'; data/region-rules.conf compiled
// in as the default), parsed here. The format, INI-like:
//
//   # comment
//   [US-FL]                # a region (ISO 3166-2) or a country ([US])
//   hours = 08:00-20:00    # every day; hours-mon .. hours-sun override, or "closed"
//   max-calls-per-24h = 3  # also max-calls-per-7d
//
// Thread-safety: immutable after parse(); safe from any thread.
#pragma once

#include <array>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace pd {

// Local opening hours of one day: [open, close) in minutes since local
// midnight; close may be 1440 (24:00). open >= close means closed all day.
struct DailyHours {
  int open = 0;
  int close = 24 * 60;

  bool closed() const { return close <= open; }
  static DailyHours closed_day() { return {0, 0}; }
  // The part of both; closed when they do not overlap.
  DailyHours intersect(const DailyHours& other) const;
  bool operator==(const DailyHours&) const = default;
};

// "08:00-21:00" (24:00 = end of day; "00:00-24:00" the whole day), or, with
// `allow_closed`, "closed". The error says what is wrong with `text`.
absl::StatusOr<DailyHours> parse_daily_hours(std::string_view text, bool allow_closed);
std::string format_daily_hours(const DailyHours& h);  // "08:00-21:00" or "closed"

struct RegionRule {
  std::string region;  // "US-FL" or "US"
  // By weekday, Sunday first; nullopt: the region adds no limit that day.
  std::array<std::optional<DailyHours>, 7> hours;
  std::array<bool, 7> hours_set_by_day{};  // set by hours-DAY (not `hours`)
  std::optional<int> max_calls_24h;  // calls to one phone in any 24 hours
  std::optional<int> max_calls_7d;   // ... in any 7 days
};

class RegionRules {
 public:
  RegionRules() = default;

  // `source` names the text in errors ("region-rules.conf", "settings"):
  // "FILE:LINE: key 'hours-sun': ...".
  static absl::StatusOr<RegionRules> parse(std::string_view text, std::string_view source);
  // data/region-rules.conf as compiled in.
  static const RegionRules& defaults();

  // The rules that apply to `region`: its country's section ("US") and its
  // own ("US-FL"), those that exist, country first. Empty region: none.
  std::vector<const RegionRule*> for_region(std::string_view region) const;
  // The lowest cap of the rules for `region`; nullopt when none sets one.
  std::optional<int> max_calls_24h(std::string_view region) const;
  std::optional<int> max_calls_7d(std::string_view region) const;

  const std::map<std::string, RegionRule, std::less<>>& all() const { return rules_; }

 private:
  std::map<std::string, RegionRule, std::less<>> rules_;
};

}  // namespace pd
