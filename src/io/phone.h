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
//
// The answer is exactly libphonenumber's Parse + IsValidNumber + Format(E164);
// two shortcuts that give the same answer make it 1.3-1.7x faster (see
// phone.cc, bench/README.md): ~10-15 us a number on the build machine, spent
// in ICU regexes. Thread-safe, but libphonenumber serialises threads on a
// lock (measured: two threads give 1.3-1.4x one, two processes 1.7-2.0x), so
// bulk work should use PhoneNormalizerPool (io/phone_pool.h).
absl::StatusOr<std::string> normalize_phone(std::string_view raw, std::string_view default_region);

// The same as normalize_phone, written for bulk use: no Status on the
// failure path. Returns true and sets `out` to the E.164 number, or returns
// false and sets `out` to the reason.
bool normalize_phone_into(std::string_view raw, std::string_view default_region, std::string& out);

// The E.164 form of a number shaped like a North American (NANP) one: "+1"
// and 10 digits, or 10 digits (11 with a leading 1) when `default_region` is
// US or CA; separators as normalize_phone_into() takes them. Checks only the
// plan's shape (area code and exchange start with 2-9), not that the area
// code is in service: every number normalize_phone_into() accepts in these
// forms gets the same E.164 text here, about 50 times faster, plus numbers it
// would refuse. For matching against validated numbers (a do-not-call
// list), where such an extra number can never match anything.
bool nanp_e164_into(std::string_view raw, std::string_view default_region, std::string& out);

// Warms libphonenumber (metadata, compiled regexes) so that processes forked
// afterwards share it instead of each building their own.
void warm_phone_normalizer();

}  // namespace pd
