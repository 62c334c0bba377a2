#include "core/start_time.h"

#include <date/tz.h>
#include <fmt/format.h>

#include <charconv>
#include <stdexcept>
#include <vector>

#include "core/strings.h"

namespace pd {
namespace {

constexpr const char* kShapes =
    "expected a date, a time and an IANA time zone (e.g. \"2026-03-08 06:00 America/New_York\") "
    "or an RFC 3339 time (e.g. 2026-03-08T11:00:00Z or 2026-03-08T06:00:00-05:00)";

bool digits(std::string_view s, size_t pos, size_t len, int& out) {
  if (pos + len > s.size()) return false;
  for (size_t i = pos; i < pos + len; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
  }
  auto [p, ec] = std::from_chars(s.data() + pos, s.data() + pos + len, out);
  return ec == std::errc() && p == s.data() + pos + len;
}

// "YYYY-MM-DD"; nullopt when it is not that shape or not a real date.
std::optional<std::chrono::year_month_day> parse_date(std::string_view s) {
  int y, m, d;
  if (s.size() != 10 || s[4] != '-' || s[7] != '-' || !digits(s, 0, 4, y) ||
      !digits(s, 5, 2, m) || !digits(s, 8, 2, d)) {
    return std::nullopt;
  }
  const std::chrono::year_month_day ymd{std::chrono::year{y}, std::chrono::month(unsigned(m)),
                                        std::chrono::day(unsigned(d))};
  if (!ymd.ok()) return std::nullopt;
  return ymd;
}

// "HH:MM", "HH:MM:SS" or "HH:MM:SS.fff..." (fractions kept to the
// millisecond); nullopt when it is not that shape or not a time of day.
std::optional<Millis> parse_time_of_day(std::string_view s) {
  int h, m, sec = 0, ms = 0;
  if (s.size() < 5 || s[2] != ':' || !digits(s, 0, 2, h) || !digits(s, 3, 2, m)) {
    return std::nullopt;
  }
  if (s.size() > 5) {
    if (s.size() < 8 || s[5] != ':' || !digits(s, 6, 2, sec)) return std::nullopt;
    if (s.size() > 8) {
      if (s[8] != '.' || s.size() == 9) return std::nullopt;
      std::string_view frac = s.substr(9);
      for (char c : frac) {
        if (c < '0' || c > '9') return std::nullopt;
      }
      std::string three(frac.substr(0, 3));
      three.resize(3, '0');
      digits(three, 0, 3, ms);
    }
  }
  if (h > 23 || m > 59 || sec > 59) return std::nullopt;
  return std::chrono::hours{h} + std::chrono::minutes{m} + std::chrono::seconds{sec} + Millis{ms};
}

std::string hh_mm(std::chrono::seconds offset_or_time) {
  const auto total = offset_or_time.count();
  const auto a = total < 0 ? -total : total;
  return fmt::format("{}{:02d}:{:02d}", total < 0 ? "-" : "+", a / 3600, (a / 60) % 60);
}

absl::Status bad(std::string_view option, std::string_view text, std::string_view why) {
  return absl::InvalidArgumentError(cat(option, ": ", echo(text), ": ", why));
}

// "DATE TIME ZONE", read in the zone's local time.
absl::StatusOr<WallTime> parse_local(std::string_view option, std::string_view text,
                                     const std::vector<std::string_view>& words) {
  auto date = parse_date(words[0]);
  if (!date) return bad(option, text, cat(echo(words[0]), " is not a date (YYYY-MM-DD)"));
  auto time = parse_time_of_day(words[1]);
  if (!time) return bad(option, text, cat(echo(words[1]), " is not a time of day (HH:MM)"));
  const date::time_zone* zone = nullptr;
  try {
    zone = date::locate_zone(words[2]);
  } catch (const std::exception&) {
    return bad(option, text,
               cat("unknown time zone ", echo(words[2]),
                   ": use an IANA name such as America/New_York, Pacific/Honolulu or UTC"));
  }
  const date::local_time<Millis> local{
      std::chrono::sys_days{*date}.time_since_epoch() + *time};
  const date::local_info info = zone->get_info(std::chrono::floor<std::chrono::seconds>(local));
  switch (info.result) {
    case date::local_info::unique:
      return WallTime{local.time_since_epoch() - std::chrono::duration_cast<Millis>(info.first.offset)};
    case date::local_info::nonexistent:
      return bad(option, text,
                 cat(words[1], " does not exist in ", words[2], " on ", words[0],
                     ": the clocks go forward there then (UTC", hh_mm(info.first.offset), " to UTC",
                     hh_mm(info.second.offset), "); pick a time outside the gap"));
    case date::local_info::ambiguous: {
      auto rfc3339 = [&](std::chrono::seconds offset) {
        return cat(words[0], "T",
                   words[1].size() == 5 ? cat(words[1], ":00") : std::string(words[1]),
                   hh_mm(offset));
      };
      return bad(option, text,
                 cat(words[1], " happens twice in ", words[2], " on ", words[0],
                     ": the clocks go back there then; say which with an RFC 3339 time: ",
                     rfc3339(info.first.offset), " (the first) or ", rfc3339(info.second.offset),
                     " (the second)"));
    }
  }
  return bad(option, text, kShapes);
}

// "YYYY-MM-DDTHH:MM:SS[.fff](Z|+HH:MM|-HH:MM)".
absl::StatusOr<WallTime> parse_rfc3339(std::string_view option, std::string_view text) {
  const size_t t = text.find_first_of("Tt");
  if (t == std::string_view::npos) return bad(option, text, kShapes);
  auto date = parse_date(text.substr(0, t));
  if (!date) return bad(option, text, cat(echo(text.substr(0, t)), " is not a date (YYYY-MM-DD)"));
  std::string_view rest = text.substr(t + 1);
  std::chrono::minutes offset{0};
  size_t zone_at = rest.find_first_of("Zz+-");
  if (zone_at == std::string_view::npos) {
    return bad(option, text, "an RFC 3339 time needs Z or a UTC offset (+HH:MM or -HH:MM) at the end");
  }
  std::string_view zone = rest.substr(zone_at);
  if (zone != "Z" && zone != "z") {
    int oh, om;
    if (zone.size() != 6 || zone[3] != ':' || !digits(zone, 1, 2, oh) || !digits(zone, 4, 2, om) ||
        oh > 23 || om > 59) {
      return bad(option, text, cat(echo(zone), " is not a UTC offset (Z, +HH:MM or -HH:MM)"));
    }
    offset = std::chrono::hours{oh} + std::chrono::minutes{om};
    if (zone[0] == '-') offset = -offset;
  }
  std::string_view clock = rest.substr(0, zone_at);
  auto time = parse_time_of_day(clock);
  if (!time || clock.size() < 8) {
    return bad(option, text, cat(echo(clock), " is not a time of day (HH:MM:SS)"));
  }
  return WallTime{std::chrono::sys_days{*date}} + *time - offset;
}

}  // namespace

absl::StatusOr<WallTime> parse_start_time(std::string_view text, std::string_view option) {
  std::vector<std::string_view> words;
  std::string_view rest = trim(text);
  while (!rest.empty()) {
    const size_t space = rest.find_first_of(" \t");
    words.push_back(rest.substr(0, space));
    if (space == std::string_view::npos) break;
    rest = trim(rest.substr(space));
  }
  if (words.size() == 3) return parse_local(option, text, words);
  if (words.size() == 1) return parse_rfc3339(option, words[0]);
  return bad(option, text, kShapes);
}

}  // namespace pd
