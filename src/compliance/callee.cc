#include "compliance/callee.h"

#include <algorithm>
#include <cctype>

#include "absl/status/status.h"
#include "compliance/calling_window.h"
#include "compliance/phone_tables.h"
#include "compliance/zip3.h"
#include "core/strings.h"

namespace pd {
namespace {

// The digits of "+15551234567" ("15551234567"); empty when it is not E.164.
std::string_view e164_digits(std::string_view phone) {
  if (phone.size() < 2 || phone.front() != '+') return {};
  phone.remove_prefix(1);
  for (char c : phone) {
    if (!std::isdigit(static_cast<unsigned char>(c))) return {};
  }
  return phone;
}

std::vector<std::string> split_zone_list(std::string_view s) {
  std::vector<std::string> out;
  size_t i = 0;
  auto sep = [](char c) { return c == ',' || std::isspace(static_cast<unsigned char>(c)); };
  while (i < s.size()) {
    while (i < s.size() && sep(s[i])) ++i;
    size_t j = i;
    while (j < s.size() && !sep(s[j])) ++j;
    if (j > i) out.emplace_back(s.substr(i, j - i));
    i = j;
  }
  return out;
}

void add_unique(std::vector<std::string>& zones, std::string zone) {
  if (std::find(zones.begin(), zones.end(), zone) == zones.end()) zones.push_back(std::move(zone));
}

}  // namespace

std::vector<std::string> zones_for_number(std::string_view phone_e164) {
  const std::string_view digits = e164_digits(phone_e164);
  const auto* begin = phone_tables::kPrefixZones;
  const auto* end = begin + phone_tables::kPrefixZonesSize;
  for (size_t len = std::min<size_t>(digits.size(), 8); len > 0; --len) {
    const std::string_view prefix = digits.substr(0, len);
    const auto* it = std::lower_bound(
        begin, end, prefix,
        [](const phone_tables::PrefixZones& e, std::string_view p) { return e.prefix < p; });
    if (it != end && it->prefix == prefix) return split_zone_list(it->zones);
  }
  return {};
}

std::string region_for_number(std::string_view phone_e164) {
  const std::string_view digits = e164_digits(phone_e164);
  if (digits.size() != 11 || digits.front() != '1') return {};
  const int npa = (digits[1] - '0') * 100 + (digits[2] - '0') * 10 + (digits[3] - '0');
  const auto* begin = phone_tables::kAreaCodeRegions;
  const auto* end = begin + phone_tables::kAreaCodeRegionsSize;
  const auto* it = std::lower_bound(
      begin, end, npa,
      [](const phone_tables::AreaCodeRegion& e, int n) { return e.area_code < n; });
  if (it != end && it->area_code == npa) return std::string(it->region);
  return {};
}

absl::StatusOr<CalleeFacts> resolve_callee(std::string_view phone_e164,
                                           std::string_view timezone_cell,
                                           std::string_view zip_cell) {
  CalleeFacts facts;
  for (const std::string& name : split_zone_list(timezone_cell)) {
    const date::time_zone* zone = find_time_zone(name);
    if (zone == nullptr) {
      return absl::InvalidArgumentError(
          cat("'", escape_controls(name),
              "' is not an IANA time zone name (e.g. America/Chicago, Europe/London)"));
    }
    add_unique(facts.zones, std::string(zone->name()));
  }
  const bool nanp = e164_digits(phone_e164).substr(0, 1) == "1";
  const Zip3Entry* zip = nullptr;
  if (nanp) {
    if (const auto prefix = us_zip_prefix(zip_cell)) zip = find_zip3(*prefix);
  }
  if (facts.zones.empty() && zip != nullptr) facts.zones = split_zone_list(zip->zones);
  if (facts.zones.empty()) facts.zones = zones_for_number(phone_e164);
  facts.region = zip != nullptr ? zip->region : region_for_number(phone_e164);
  return facts;
}

}  // namespace pd
