// What the dialer knows about where a callee is: the IANA zones their phone
// may be in and their region (for region rules), resolved once at list
// import and stored with the phone.
//
// Preference: the list's `timezone` column (validated IANA names), then its
// `postal_code`/`zip` column (a US ZIP, for +1 numbers: data/us-zip3.csv),
// then the number's prefix (libphonenumber's tables, generated at build
// time). The region comes from the ZIP's state when a ZIP resolved, else from
// the NANP area code ("US-FL"; other NANP countries by ISO code, "JM").
// Thread-safety: plain functions over constant tables; safe from any thread.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "compliance/policy.h"  // CalleeFacts

namespace pd {

// `phone_e164`: "+15551234567" (already normalised). `timezone_cell`: one or
// more IANA names separated by spaces or commas, or empty. `zip_cell`: the
// postal_code/zip value, or empty; one that is not a US ZIP (12345,
// 12345-6789), or a ZIP on a non-+1 number, is not used (lists carry other
// countries' postal codes too). Error (kInvalidArgument): a timezone cell
// naming a zone the OS database does not know; the message names the value,
// the caller adds the line and column.
absl::StatusOr<CalleeFacts> resolve_callee(std::string_view phone_e164,
                                           std::string_view timezone_cell,
                                           std::string_view zip_cell);

// The zones of a number from its prefix alone (longest prefix match); empty
// for non-geographic numbers (toll-free 8XX) and unknown prefixes.
std::vector<std::string> zones_for_number(std::string_view phone_e164);
// The region of a +1 number from its area code; empty otherwise.
std::string region_for_number(std::string_view phone_e164);

}  // namespace pd
