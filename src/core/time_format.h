// ISO 8601 formatting and parsing of wall-clock times (UTC, "Z" suffix).
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "core/types.h"

namespace pd {

// "2026-11-25T12:30:05.123Z" (milliseconds always present).
std::string format_iso8601(WallTime t);
// Accepts "YYYY-MM-DDTHH:MM:SS[.fff]Z"; nullopt otherwise.
std::optional<WallTime> parse_iso8601(std::string_view s);

}  // namespace pd
