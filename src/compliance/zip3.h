// US ZIP code -> state and IANA zones, by 3-digit prefix (data/us-zip3.csv,
// compiled in; a prefix-level approximation whose source the file names).
// Thread-safety: the table is built once, on first use; safe from any thread.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace pd {

struct Zip3Entry {
  std::string region;  // "US-FL"
  std::string zones;   // IANA names, space-separated: "America/Chicago America/Denver"
};

// The 3-digit prefix of a US ZIP code written "12345" or "12345-6789"
// (spaces around it ignored); nullopt for anything else.
std::optional<int> us_zip_prefix(std::string_view zip);

// The entry for a ZIP3 (0..999); nullptr when the prefix is unassigned,
// military (APO/FPO) or not in the table.
const Zip3Entry* find_zip3(int prefix);

}  // namespace pd
