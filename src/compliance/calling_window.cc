#include "compliance/calling_window.h"

#include <algorithm>
#include <cctype>

#include "absl/status/status.h"
#include "core/status_macros.h"
#include "core/strings.h"

namespace pd {
namespace {

using std::chrono::minutes;
using std::chrono::seconds;

std::vector<std::string_view> split_spaces(std::string_view s) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i]))) ++i;
    size_t j = i;
    while (j < s.size() && !std::isspace(static_cast<unsigned char>(s[j]))) ++j;
    if (j > i) out.push_back(s.substr(i, j - i));
    i = j;
  }
  return out;
}

std::optional<date::sys_days> parse_date(std::string_view s) {
  // YYYY-MM-DD exactly.
  if (s.size() != 10 || s[4] != '-' || s[7] != '-') return std::nullopt;
  for (size_t i : {0, 1, 2, 3, 5, 6, 8, 9}) {
    if (!std::isdigit(static_cast<unsigned char>(s[i]))) return std::nullopt;
  }
  const int y = std::stoi(std::string(s.substr(0, 4)));
  const unsigned m = static_cast<unsigned>(std::stoi(std::string(s.substr(5, 2))));
  const unsigned d = static_cast<unsigned>(std::stoi(std::string(s.substr(8, 2))));
  const date::year_month_day ymd{date::year{y}, date::month{m}, date::day{d}};
  if (!ymd.ok()) return std::nullopt;
  return date::sys_days{ymd};
}

}  // namespace

absl::StatusOr<std::vector<date::sys_days>> parse_blackout_dates(std::string_view text) {
  std::vector<date::sys_days> out;
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t comma = text.find(',', pos);
    if (comma == std::string_view::npos) comma = text.size();
    const std::string_view item = trim(text.substr(pos, comma - pos));
    pos = comma + 1;
    if (item.empty()) {
      if (comma == text.size()) break;
      continue;
    }
    const auto day = parse_date(item);
    if (!day) {
      return absl::InvalidArgumentError(cat("'", escape_controls(item),
                                            "' is not a date; write YYYY-MM-DD, several "
                                            "separated by commas (2026-12-25,2027-01-01)"));
    }
    out.push_back(*day);
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

std::string format_blackout_dates(const std::vector<date::sys_days>& days) {
  std::string out;
  for (const auto& d : days) {
    if (!out.empty()) out += ',';
    out += date::format("%F", d);
  }
  return out;
}

const date::time_zone* find_time_zone(std::string_view name) {
  if (name.empty()) return nullptr;
  try {
    return date::locate_zone(name);
  } catch (const std::exception&) {
    // locate_zone throws for an unknown name; that is an answer, not an error.
    return nullptr;
  }
}

absl::StatusOr<WindowConfig> WindowConfig::from_config(
    const std::map<std::string, std::string>& config) {
  auto get = [&](std::string_view key) -> std::string_view {
    auto it = config.find(std::string(key));
    return it == config.end() ? std::string_view() : std::string_view(it->second);
  };
  WindowConfig c;
  std::string_view all = get(kCallingHoursKey);
  if (all.empty()) all = kDefaultCallingHours;
  auto base = parse_daily_hours(all, /*allow_closed=*/false);
  if (!base.ok()) {
    return absl::InvalidArgumentError(cat(kCallingHoursKey, ": ", sv(base.status().message())));
  }
  for (size_t d = 0; d < 7; ++d) {
    const std::string key = cat(kCallingHoursKey, "-", kWeekdayNames[d]);
    c.hours[d] = *base;
    c.hours_key[d] = std::string(kCallingHoursKey);
    if (std::string_view v = get(key); !v.empty()) {
      auto h = parse_daily_hours(v, /*allow_closed=*/true);
      if (!h.ok()) return absl::InvalidArgumentError(cat(key, ": ", sv(h.status().message())));
      c.hours[d] = *h;
      c.hours_key[d] = key;
    }
  }
  auto dates = parse_blackout_dates(get(kBlackoutDatesKey));
  if (!dates.ok()) {
    return absl::InvalidArgumentError(cat(kBlackoutDatesKey, ": ", sv(dates.status().message())));
  }
  c.blackout_dates = *std::move(dates);
  const std::string_view tz = trim(get(kDefaultTimezoneKey));
  if (!tz.empty()) {
    const date::time_zone* zone = find_time_zone(tz);
    if (zone == nullptr) {
      return absl::InvalidArgumentError(cat(kDefaultTimezoneKey, ": '", escape_controls(tz),
                                            "' is not an IANA time zone (e.g. America/Chicago)"));
    }
    c.default_timezone = std::string(zone->name());
  }
  return c;
}

std::string WindowVerdict::zones_text() const {
  std::string out;
  for (const auto& z : zones) {
    if (!out.empty()) out += ' ';
    out += z;
  }
  return out;
}


CallingWindow::CallingWindow(WindowConfig config, const RegionRules* rules)
    : config_(std::move(config)), rules_(rules) {}

DailyHours CallingWindow::day_hours(date::sys_days local_day,
                                    const std::vector<const RegionRule*>& rules) const {
  if (std::binary_search(config_.blackout_dates.begin(), config_.blackout_dates.end(),
                         local_day)) {
    return DailyHours::closed_day();
  }
  const unsigned wd = date::weekday{local_day}.c_encoding();
  DailyHours h = config_.hours[wd];
  for (const RegionRule* r : rules) {
    if (r->hours[wd]) h = h.intersect(*r->hours[wd]);
  }
  return h;
}

std::string CallingWindow::why_closed(date::sys_days local_day, int minute,
                                      const std::vector<const RegionRule*>& rules) const {
  if (std::binary_search(config_.blackout_dates.begin(), config_.blackout_dates.end(),
                         local_day)) {
    return std::string(kBlackoutDatesKey);
  }
  auto covers = [minute](const DailyHours& h) {
    return !h.closed() && minute >= h.open && minute < h.close;
  };
  const unsigned wd = date::weekday{local_day}.c_encoding();
  if (!covers(config_.hours[wd])) return config_.hours_key[wd];
  for (const RegionRule* r : rules) {
    const auto& rh = r->hours[wd];
    if (rh && !covers(*rh)) {
      return cat("region ", r->region, " hours", r->hours_set_by_day[wd] ? cat("-", kWeekdayNames[wd]) : "");
    }
  }
  return {};
}

bool CallingWindow::always_open(const std::vector<const RegionRule*>& rules) const {
  if (!config_.blackout_dates.empty()) return false;
  for (const DailyHours& h : config_.hours) {
    if (h.open != 0 || h.close != 24 * 60) return false;
  }
  for (const RegionRule* r : rules) {
    for (const auto& h : r->hours) {
      if (h && (h->open != 0 || h->close != 24 * 60)) return false;
    }
  }
  return true;
}

bool CallingWindow::open_in_zone(const date::time_zone& zone, date::sys_seconds t,
                                 const std::vector<const RegionRule*>& rules,
                                 std::string* why) const {
  const auto local = zone.to_local(t);
  const auto local_day = date::floor<date::days>(local);
  const date::sys_days day{local_day.time_since_epoch()};
  const DailyHours h = day_hours(day, rules);
  const auto minute = static_cast<int>(std::chrono::duration_cast<minutes>(local - local_day).count());
  const bool open = !h.closed() && minute >= h.open && minute < h.close;
  if (!open && why != nullptr) *why = why_closed(day, minute, rules);
  return open;
}

std::optional<date::sys_seconds> CallingWindow::next_open_in_zone(
    const date::time_zone& zone, date::sys_seconds t, date::sys_seconds limit,
    const std::vector<const RegionRule*>& rules) const {
  // Steps from t to the next instant the window could open: a window start
  // (local day + open, mapped with choose::earliest, which gives the
  // transition for a local time skipped by spring-forward) or an offset
  // change (local time jumps, so an open part may begin there). Each step
  // moves forward, so this ends; it stops at `limit`.
  while (t < limit) {
    if (open_in_zone(zone, t, rules, nullptr)) return t;
    const date::sys_info info = zone.get_info(t);
    date::sys_seconds next = info.end;
    const auto local_day = date::floor<date::days>(zone.to_local(t));
    for (int i = 0; i <= 15; ++i) {
      const auto d = local_day + date::days{i};
      const DailyHours h = day_hours(date::sys_days{d.time_since_epoch()}, rules);
      if (h.closed()) continue;
      const auto start = zone.to_sys(d + minutes{h.open}, date::choose::earliest);
      if (start > t) {
        next = std::min(next, date::sys_seconds{start});
        break;
      }
    }
    t = next;
  }
  return std::nullopt;
}

WindowVerdict CallingWindow::check(WallTime now, std::string_view zones,
                                   std::string_view region) const {
  WindowVerdict v;
  std::vector<const date::time_zone*> tzs;
  for (std::string_view name : split_spaces(zones)) {
    if (const date::time_zone* z = find_time_zone(name)) {
      tzs.push_back(z);
      v.zones.emplace_back(name);
    }
  }
  if (tzs.empty() && !config_.default_timezone.empty()) {
    if (const date::time_zone* z = find_time_zone(config_.default_timezone)) {
      tzs.push_back(z);
      v.zones.push_back(config_.default_timezone);
      v.used_default_timezone = true;
    }
  }
  const std::vector<const RegionRule*> rules =
      rules_ == nullptr ? std::vector<const RegionRule*>{} : rules_->for_region(region);
  if (tzs.empty()) {
    // With every day open all day and nothing to narrow it, the answer is
    // the same in every zone: no zone is needed to know it is open.
    if (always_open(rules)) {
      v.open = true;
      return v;
    }
    v.no_timezone = true;
    v.rule = "no time zone (set default-timezone)";
    return v;
  }

  // Sub-second parts of `now` cannot change a minute-based window; checks are
  // on whole seconds, rounded up so the answer is never before `now`.
  const date::sys_seconds start = date::ceil<seconds>(now);
  for (size_t i = 0; i < tzs.size(); ++i) {
    std::string why;
    if (!open_in_zone(*tzs[i], start, rules, &why)) {
      v.held_zone = v.zones[i];
      v.rule = why;
      break;
    }
  }
  if (v.held_zone.empty()) {
    v.open = true;
    return v;
  }

  // The earliest instant open in every zone: each zone's next opening is a
  // lower bound, so take the latest of them and repeat until all are open.
  const date::sys_seconds limit = start + kWindowSearchLimit;
  date::sys_seconds t = start;
  size_t binding = 0;
  bool moved = true;
  while (moved) {
    moved = false;
    for (size_t i = 0; i < tzs.size(); ++i) {
      const auto n = next_open_in_zone(*tzs[i], t, limit, rules);
      if (!n) return v;  // no window within the limit
      if (*n > t) {
        t = *n;
        binding = i;
        moved = true;
      }
    }
  }
  v.next_open = WallTime{t};
  v.opens_zone = v.zones[binding];
  v.opens_local = date::format("%H:%M", tzs[binding]->to_local(t));
  return v;
}

}  // namespace pd
