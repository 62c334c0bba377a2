// Reads the moment a simulated clock starts at (`simulate --start`, `run
// --start`): a local date and time in an IANA zone, as people say it
// ("2026-03-08 06:00 America/New_York"), or an RFC 3339 instant
// ("2026-03-08T11:00:00Z", "2026-03-08T06:00:00-05:00"). Local times come
// through the OS time-zone database (date/tz), so daylight saving is right.
#pragma once

#include <string_view>

#include "absl/status/statusor.h"
#include "core/types.h"

namespace pd {

// kInvalidArgument naming `option` and what is wrong: the shape, a date or
// time that does not exist, an unknown zone, a local time that a daylight
// saving change skips or repeats (the error says which, and how to say it
// unambiguously).
absl::StatusOr<WallTime> parse_start_time(std::string_view text, std::string_view option);

}  // namespace pd
