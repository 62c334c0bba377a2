#include "compliance/region_rules.h"

#include <algorithm>
#include <cctype>
#include <charconv>

#include "absl/status/status.h"
#include "compliance/compliance_data.h"
#include "core/strings.h"

namespace pd {
namespace {

constexpr std::array<std::string_view, 7> kDays = {"sun", "mon", "tue", "wed",
                                                   "thu", "fri", "sat"};

// "HH:MM" with 00 <= HH <= 24 (24 only as "24:00"); minutes since midnight.
std::optional<int> parse_clock(std::string_view s) {
  if (s.size() != 5 || s[2] != ':') return std::nullopt;
  for (size_t i : {0, 1, 3, 4}) {
    if (!std::isdigit(static_cast<unsigned char>(s[i]))) return std::nullopt;
  }
  const int h = (s[0] - '0') * 10 + (s[1] - '0');
  const int m = (s[3] - '0') * 10 + (s[4] - '0');
  if (m > 59 || h > 24 || (h == 24 && m != 0)) return std::nullopt;
  return h * 60 + m;
}

// "US" or "US-FL": ISO 3166-1 alpha-2, optionally "-" and 1-3 letters/digits.
bool is_region_name(std::string_view s) {
  if (s.size() < 2 || !std::isupper(static_cast<unsigned char>(s[0])) ||
      !std::isupper(static_cast<unsigned char>(s[1]))) {
    return false;
  }
  if (s.size() == 2) return true;
  if (s[2] != '-' || s.size() < 4 || s.size() > 6) return false;
  return std::all_of(s.begin() + 3, s.end(), [](char c) {
    return std::isupper(static_cast<unsigned char>(c)) || std::isdigit(static_cast<unsigned char>(c));
  });
}

}  // namespace

DailyHours DailyHours::intersect(const DailyHours& other) const {
  if (closed() || other.closed()) return closed_day();
  DailyHours h{std::max(open, other.open), std::min(close, other.close)};
  return h.closed() ? closed_day() : h;
}

absl::StatusOr<DailyHours> parse_daily_hours(std::string_view text, bool allow_closed) {
  const std::string_view t = trim(text);
  if (allow_closed && to_lower(t) == "closed") return DailyHours::closed_day();
  const std::string expect = allow_closed ? "HH:MM-HH:MM (e.g. 08:00-21:00) or closed"
                                          : "HH:MM-HH:MM (e.g. 08:00-21:00)";
  const size_t dash = t.find('-');
  if (dash == std::string_view::npos) {
    return absl::InvalidArgumentError(cat("'", escape_controls(t), "' is not ", expect));
  }
  const auto open = parse_clock(trim(t.substr(0, dash)));
  const auto close = parse_clock(trim(t.substr(dash + 1)));
  if (!open || !close) {
    return absl::InvalidArgumentError(
        cat("'", escape_controls(t), "' is not ", expect, "; times are 00:00 to 24:00"));
  }
  if (*close <= *open) {
    return absl::InvalidArgumentError(
        cat("'", escape_controls(t), "': the end must be after the start (one local day; ",
            "00:00-24:00 is the whole day)"));
  }
  return DailyHours{*open, *close};
}

std::string format_daily_hours(const DailyHours& h) {
  if (h.closed()) return "closed";
  return fmt::format("{:02}:{:02}-{:02}:{:02}", h.open / 60, h.open % 60, h.close / 60,
                     h.close % 60);
}

absl::StatusOr<RegionRules> RegionRules::parse(std::string_view text, std::string_view source) {
  RegionRules out;
  RegionRule* current = nullptr;
  int line_no = 0;
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(pos, end - pos);
    pos = end + 1;
    ++line_no;
    if (const size_t hash = line.find('#'); hash != std::string_view::npos) {
      line = line.substr(0, hash);
    }
    line = trim(line);
    if (line.empty()) {
      if (end == text.size()) break;
      continue;
    }
    const std::string where = cat(source, ":", line_no, ": ");
    if (line.front() == '[') {
      if (line.back() != ']') {
        return absl::InvalidArgumentError(
            cat(where, "a section header is [REGION], e.g. [US-FL]; got '", escape_controls(line), "'"));
      }
      const std::string region(trim(line.substr(1, line.size() - 2)));
      if (!is_region_name(region)) {
        return absl::InvalidArgumentError(
            cat(where, "'", escape_controls(region),
                "' is not a region: use an ISO 3166 code, a country (US) or a subdivision (US-FL)"));
      }
      if (out.rules_.count(region)) {
        return absl::InvalidArgumentError(cat(where, "section [", region, "] appears twice"));
      }
      current = &out.rules_[region];
      current->region = region;
      continue;
    }
    const size_t eq = line.find('=');
    if (eq == std::string_view::npos) {
      return absl::InvalidArgumentError(
          cat(where, "expected 'key = value' or '[REGION]'; got '", escape_controls(line), "'"));
    }
    const std::string key = to_lower(trim(line.substr(0, eq)));
    const std::string_view value = trim(line.substr(eq + 1));
    const std::string at_key = cat(where, "key '", escape_controls(key), "': ");
    if (current == nullptr) {
      return absl::InvalidArgumentError(
          cat(at_key, "comes before any [REGION] section header"));
    }
    if (key == "hours") {
      auto h = parse_daily_hours(value, /*allow_closed=*/true);
      if (!h.ok()) return absl::InvalidArgumentError(cat(at_key, sv(h.status().message())));
      // Only the days no hours-DAY line set: those win, whatever the order.
      for (size_t d = 0; d < 7; ++d) {
        if (!current->hours_set_by_day[d]) current->hours[d] = *h;
      }
      continue;
    }
    if (key.rfind("hours-", 0) == 0) {
      const auto day = std::find(kDays.begin(), kDays.end(), std::string_view(key).substr(6));
      if (day == kDays.end()) {
        return absl::InvalidArgumentError(
            cat(at_key, "unknown day; use hours-mon, hours-tue, ... hours-sun"));
      }
      auto h = parse_daily_hours(value, /*allow_closed=*/true);
      if (!h.ok()) return absl::InvalidArgumentError(cat(at_key, sv(h.status().message())));
      const auto d = static_cast<size_t>(day - kDays.begin());
      current->hours[d] = *h;
      current->hours_set_by_day[d] = true;
      continue;
    }
    if (key == "max-calls-per-24h" || key == "max-calls-per-7d") {
      int n = 0;
      const auto [p, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
      if (ec != std::errc() || p != value.data() + value.size() || n < 1 || n > 1000) {
        return absl::InvalidArgumentError(
            cat(at_key, "'", escape_controls(value), "' is not a whole number from 1 to 1000"));
      }
      (key == "max-calls-per-24h" ? current->max_calls_24h : current->max_calls_7d) = n;
      continue;
    }
    return absl::InvalidArgumentError(
        cat(at_key, "unknown key; known: hours, hours-mon .. hours-sun, max-calls-per-24h, ",
            "max-calls-per-7d"));
  }
  return out;
}

const RegionRules& RegionRules::defaults() {
  static const RegionRules rules = [] {
    auto parsed = parse(default_region_rules(), "data/region-rules.conf");
    // Compiled in and covered by a unit test, so a parse error is a build defect.
    if (!parsed.ok()) std::abort();
    return *std::move(parsed);
  }();
  return rules;
}

std::vector<const RegionRule*> RegionRules::for_region(std::string_view region) const {
  std::vector<const RegionRule*> out;
  if (region.empty()) return out;
  const std::string_view country = region.substr(0, std::min<size_t>(2, region.size()));
  if (country != region) {
    if (auto it = rules_.find(country); it != rules_.end()) out.push_back(&it->second);
  }
  if (auto it = rules_.find(region); it != rules_.end()) out.push_back(&it->second);
  return out;
}

std::optional<int> RegionRules::max_calls_24h(std::string_view region) const {
  std::optional<int> cap;
  for (const RegionRule* r : for_region(region)) {
    if (r->max_calls_24h && (!cap || *r->max_calls_24h < *cap)) cap = r->max_calls_24h;
  }
  return cap;
}

std::optional<int> RegionRules::max_calls_7d(std::string_view region) const {
  std::optional<int> cap;
  for (const RegionRule* r : for_region(region)) {
    if (r->max_calls_7d && (!cap || *r->max_calls_7d < *cap)) cap = r->max_calls_7d;
  }
  return cap;
}

}  // namespace pd
