// The data files compiled into the binary (data/, by
// src/compliance/compliance.cmake).
#pragma once

#include <string_view>

namespace pd {

// data/us-zip3.csv: US 3-digit ZIP prefix -> state, IANA zones.
std::string_view us_zip3_csv();
// data/region-rules.conf: the region rules used until `rules load` stores others.
std::string_view default_region_rules();

}  // namespace pd
