// The phone-number tables generated at build time from python3-phonenumbers
// (scripts/gen-phone-tables.py): E.164 prefix -> IANA zones, NANP area code
// -> region. Constant data; safe from any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace pd::phone_tables {

struct PrefixZones {
  std::string_view prefix;  // E.164 digits without '+', e.g. "1212", "4420"
  std::string_view zones;   // IANA names separated by one space
};

struct AreaCodeRegion {
  std::uint16_t area_code;  // NANP NPA, 200..999
  std::string_view region;  // "US-FL", "CA-ON", "US-PR", "JM"
};

extern const std::string_view kDataVersion;  // python3-phonenumbers release
extern const PrefixZones kPrefixZones[];
extern const std::size_t kPrefixZonesSize;
extern const AreaCodeRegion kAreaCodeRegions[];
extern const std::size_t kAreaCodeRegionsSize;

}  // namespace pd::phone_tables
