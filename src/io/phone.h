// Phone number normalisation to E.164 with libphonenumber.
#pragma once

#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace pd {

// True when libphonenumber knows `region` (ISO 3166-1 alpha-2, upper case).
bool is_supported_region(std::string_view region);

// Parses `raw` (any common written form; without a leading '+' it is read
// as a number of `default_region`) and returns it in E.164 ("+12025550123").
// InvalidArgument with a reason a person can act on ("not a phone number",
// "too short", "not a valid number for US", ...).
// Thread-safe, but libphonenumber serialises threads internally (measured:
// two threads give ~1.1x one), so bulk work should use PhoneNormalizerPool.
absl::StatusOr<std::string> normalize_phone(std::string_view raw, std::string_view default_region);

}  // namespace pd
