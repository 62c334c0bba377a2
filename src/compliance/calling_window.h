// Calling windows: when a callee may be called, in the callee's local time.
//
// A campaign's window (config `calling-hours`, `calling-hours-mon`..`-sun`,
// `blackout-dates`) and the region rules of the callee's region (see
// region_rules.h) both hold, in every zone the phone may be in: a phone whose
// number or ZIP straddles a zone line is called only when the window is open
// in all its zones (the strictest reading). Local times come from the OS time
// zone database (date/tz, USE_OS_TZDB), so DST is exact: a window that starts
// at a local time skipped by spring-forward opens at the transition, and a
// local time repeated by fall-back counts as the local clock reads.
//
// Thread-safety: a CallingWindow is immutable after construction; check() is
// safe from any thread.
#pragma once

#include <array>
#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "date/tz.h"
#include "compliance/region_rules.h"
#include "core/types.h"

namespace pd {

// After this long without a window the search stops: "no window".
inline constexpr std::chrono::hours kWindowSearchLimit{14 * 24};

// The config keys (validated in core/config_keys.cc through the parsers below).
inline constexpr std::string_view kCallingHoursKey = "calling-hours";
inline constexpr std::string_view kBlackoutDatesKey = "blackout-dates";
inline constexpr std::string_view kDefaultTimezoneKey = "default-timezone";
inline constexpr std::string_view kDefaultCallingHours = "08:00-21:00";
// "calling-hours-" + kWeekdayNames[i]; index 0 is Sunday (date::weekday::c_encoding).
inline constexpr std::array<std::string_view, 7> kWeekdayNames = {"sun", "mon", "tue", "wed",
                                                                  "thu", "fri", "sat"};

// "2026-12-25,2026-12-26" (commas, optional spaces); sorted, deduplicated.
absl::StatusOr<std::vector<date::sys_days>> parse_blackout_dates(std::string_view text);
std::string format_blackout_dates(const std::vector<date::sys_days>& days);

// An IANA zone known to the OS database, or nullptr.
const date::time_zone* find_time_zone(std::string_view name);

// The campaign's part of the window, from its config map (defaults applied).
struct WindowConfig {
  std::array<DailyHours, 7> hours;               // by weekday, Sunday first
  std::array<std::string, 7> hours_key;          // the config key each day's hours come from
  std::vector<date::sys_days> blackout_dates;    // the callee's local dates, sorted
  std::string default_timezone;                  // empty: a phone with no zone is not dialled

  static absl::StatusOr<WindowConfig> from_config(
      const std::map<std::string, std::string>& config);
};

struct WindowVerdict {
  bool open = false;
  // The zones checked: the phone's, or {default_timezone} when it had none.
  std::vector<std::string> zones;
  bool used_default_timezone = false;
  // No zone and no default-timezone: the phone is never dialled (unless the
  // window is open all day every day, which needs no zone; then `open`).
  bool no_timezone = false;
  // When !open: the earliest instant >= now the window is open in all the
  // zones; nullopt when there is none within kWindowSearchLimit (or no zone).
  std::optional<WallTime> next_open;
  // When !open: a zone closed at `now` and why ("calling-hours",
  // "calling-hours-sun", "blackout-dates", "region US-FL hours-sun").
  std::string held_zone;
  std::string rule;
  // With next_open: the zone whose window opens last (the one to name in
  // "the next window opens 08:00 America/Chicago") and that local time.
  std::string opens_zone;
  std::string opens_local;  // "08:00"

  // The zones as stored in results' callee_timezone: space-separated.
  std::string zones_text() const;
};

class CallingWindow {
 public:
  // `rules` may be null (no region rules); it must outlive this object.
  CallingWindow(WindowConfig config, const RegionRules* rules);

  // `zones`: the phone's IANA zones, space-separated ('' = unknown);
  // `region`: e.g. "US-FL" ('' = unknown). Unknown zone names count as no
  // zone (import validates them, so only a hand-edited store has them).
  WindowVerdict check(WallTime now, std::string_view zones, std::string_view region) const;

  const WindowConfig& config() const { return config_; }

 private:
  DailyHours day_hours(date::sys_days local_day,
                       const std::vector<const RegionRule*>& rules) const;
  // The rule that keeps `minute` (since local midnight) of `local_day` closed.
  std::string why_closed(date::sys_days local_day, int minute,
                         const std::vector<const RegionRule*>& rules) const;
  // Open at every instant in every zone (00:00-24:00 every day, no blackout
  // dates, no region hours): a phone with no zone may be called.
  bool always_open(const std::vector<const RegionRule*>& rules) const;
  bool open_in_zone(const date::time_zone& zone, date::sys_seconds t,
                    const std::vector<const RegionRule*>& rules, std::string* why) const;
  std::optional<date::sys_seconds> next_open_in_zone(const date::time_zone& zone,
                                                      date::sys_seconds t,
                                                      date::sys_seconds limit,
                                                      const std::vector<const RegionRule*>& rules) const;

  WindowConfig config_;
  const RegionRules* rules_;
};

}  // namespace pd
