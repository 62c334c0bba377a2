#include "io/phone.h"

#include <phonenumbers/phonenumber.pb.h>
#include <phonenumbers/phonenumberutil.h>

#include <array>
#include <list>
#include <set>

#include "absl/status/status.h"
#include "core/strings.h"

namespace pd {
namespace {

using i18n::phonenumbers::PhoneNumber;
using i18n::phonenumbers::PhoneNumberUtil;

const PhoneNumberUtil& util() { return *PhoneNumberUtil::GetInstance(); }

// How to answer IsValidNumber(n) for numbers of one country calling code
// without the cost of IsValidNumber itself. IsValidNumber first finds the
// number's region (GetRegionCodeForNumber) and then asks
// IsValidNumberForRegion; for a code shared by several regions, finding the
// region already runs the region's full type check, so the check runs twice
// (measured: 8.1 us against 3.3 us for a US number).
enum class ValidityRule : uint8_t {
  kGeneral,    // ask IsValidNumber
  kOneRegion,  // the code has one region: IsValidNumberForRegion(main) is the answer
  // Several regions, and the main one (listed first) has no leading-digits
  // pattern: GetRegionCodeForNumber tries it first and picks it exactly when
  // its type check passes, which is what IsValidNumberForRegion(main) runs.
  // So a true from IsValidNumberForRegion(main) is IsValidNumber's answer; a
  // false needs IsValidNumber (the number may belong to another region).
  kMainRegionFirst,
};

struct CallingCode {
  std::string main_region;  // "US" for 1, "001" for non-geographic codes
  ValidityRule rule = ValidityRule::kGeneral;
};

// Shared codes whose main region has no leading-digits pattern, read from
// the metadata of libphonenumber 8.12.57 (Debian 12). The other shared codes
// (7 RU, 47 NO, 262 RE, 290 SH, 358 FI, 599 CW) have such a pattern and use
// kGeneral. phone_test.cc checks the equivalence against IsValidNumber.
constexpr std::array<int, 6> kMainRegionFirstCodes = {1, 39, 44, 61, 212, 590};

class CallingCodes {
 public:
  CallingCodes() {
    for (int cc = 1; cc < static_cast<int>(codes_.size()); ++cc) {
      std::list<std::string> regions;
      util().GetRegionCodesForCountryCallingCode(cc, &regions);
      if (regions.empty()) continue;
      CallingCode& code = codes_[cc];
      code.main_region = regions.front();
      if (regions.size() == 1) {
        code.rule = ValidityRule::kOneRegion;
      } else {
        for (int c : kMainRegionFirstCodes) {
          if (c == cc) code.rule = ValidityRule::kMainRegionFirst;
        }
      }
    }
  }

  // nullptr for a code libphonenumber does not know.
  const CallingCode* find(int cc) const {
    if (cc <= 0 || cc >= static_cast<int>(codes_.size()) || codes_[cc].main_region.empty()) {
      return nullptr;
    }
    return &codes_[cc];
  }

 private:
  std::array<CallingCode, 1000> codes_;  // calling codes have at most 3 digits
};

const CallingCodes& calling_codes() {
  static const CallingCodes codes;
  return codes;
}

bool is_valid(const PhoneNumber& n) {
  const CallingCode* code = calling_codes().find(n.country_code());
  if (code == nullptr) return false;  // IsValidNumber is false for unknown codes
  switch (code->rule) {
    case ValidityRule::kOneRegion:
      return util().IsValidNumberForRegion(n, code->main_region);
    case ValidityRule::kMainRegionFirst:
      return util().IsValidNumberForRegion(n, code->main_region) || util().IsValidNumber(n);
    case ValidityRule::kGeneral:
      break;
  }
  return util().IsValidNumber(n);
}

// libphonenumber parses digits faster than written forms (measured: 6.5 us
// for "2025550123" against 9.9 us for "(202) 555-0123"), so the common
// written forms are reduced to digits first. Only a form whose reduction
// cannot change libphonenumber's answer qualifies: an optional leading '+',
// then digits and the separators " ().-" (all in its "valid punctuation",
// none able to start an extension or a second number), at least 3 digits
// (so both forms are "viable"), within Parse's 250-byte input limit. Parse
// drops such separators before anything else looks at the digits. Only a
// valid result is taken from the reduced form; anything else is parsed
// again as written, so failures keep their exact reason.
bool reduce_to_digits(std::string_view raw, std::string& out) {
  out.clear();
  if (raw.size() > 250) return false;
  size_t i = 0;
  while (i < raw.size() && raw[i] == ' ') ++i;
  if (i < raw.size() && raw[i] == '+') {
    out.push_back('+');
    ++i;
  }
  int digits = 0;
  for (; i < raw.size(); ++i) {
    const char c = raw[i];
    if (c >= '0' && c <= '9') {
      out.push_back(c);
      ++digits;
    } else if (c != ' ' && c != '(' && c != ')' && c != '-' && c != '.') {
      return false;
    }
  }
  return digits >= 3;
}

// The region named in "not a valid number for X": the default region for
// numbers written without a country code, otherwise the code's main region.
std::string region_name(const PhoneNumber& n, const std::string& default_region) {
  if (util().GetCountryCodeForRegion(default_region) == n.country_code()) return default_region;
  const CallingCode* code = calling_codes().find(n.country_code());
  if (code == nullptr) return cat("+", n.country_code());
  if (code->main_region == PhoneNumberUtil::kRegionCodeForNonGeoEntity) {
    return cat("country code +", n.country_code());
  }
  return code->main_region;
}

std::string reason(PhoneNumberUtil::ErrorType error, const PhoneNumber& n,
                   const std::string& default_region) {
  switch (error) {
    case PhoneNumberUtil::NOT_A_NUMBER:
      return "not a phone number";
    case PhoneNumberUtil::INVALID_COUNTRY_CODE_ERROR:
      return "invalid country code";
    case PhoneNumberUtil::TOO_SHORT_AFTER_IDD:
    case PhoneNumberUtil::TOO_SHORT_NSN:
      return "too short";
    case PhoneNumberUtil::TOO_LONG_NSN:
      return "too long";
    case PhoneNumberUtil::NO_PARSING_ERROR:
      break;
  }
  switch (util().IsPossibleNumberWithReason(n)) {
    case PhoneNumberUtil::TOO_SHORT:
      return "too short";
    case PhoneNumberUtil::TOO_LONG:
      return "too long";
    case PhoneNumberUtil::INVALID_COUNTRY_CODE:
      return "invalid country code";
    case PhoneNumberUtil::IS_POSSIBLE_LOCAL_ONLY:
      return "too short: a local number without its area code";
    case PhoneNumberUtil::INVALID_LENGTH:
      return cat("wrong number of digits for ", region_name(n, default_region));
    case PhoneNumberUtil::IS_POSSIBLE:
      break;
  }
  return cat("not a valid number for ", region_name(n, default_region));
}

}  // namespace

bool is_supported_region(std::string_view region) {
  static const std::set<std::string, std::less<>> regions = [] {
    std::set<std::string> r;
    util().GetSupportedRegions(&r);
    return std::set<std::string, std::less<>>(r.begin(), r.end());
  }();
  return regions.find(region) != regions.end();
}

bool nanp_e164_into(std::string_view raw, std::string_view default_region, std::string& out) {
  thread_local std::string reduced;
  if (!reduce_to_digits(raw, reduced)) return false;
  std::string_view d = reduced;
  if (!d.empty() && d.front() == '+') {
    if (d.size() != 12 || d[1] != '1') return false;
    d.remove_prefix(2);
  } else {
    if (default_region != "US" && default_region != "CA") return false;
    if (d.size() == 11 && d.front() == '1') d.remove_prefix(1);
    if (d.size() != 10) return false;
  }
  if (d[0] < '2' || d[3] < '2') return false;
  out.assign("+1");
  out.append(d);
  return true;
}

bool normalize_phone_into(std::string_view raw, std::string_view default_region, std::string& out) {
  const PhoneNumberUtil& u = util();
  const std::string region(default_region);
  thread_local std::string reduced;
  const bool fast = reduce_to_digits(raw, reduced);
  PhoneNumber n;
  PhoneNumberUtil::ErrorType error = PhoneNumberUtil::NO_PARSING_ERROR;
  if (fast) {
    error = u.Parse(reduced, region, &n);
    if (error == PhoneNumberUtil::NO_PARSING_ERROR && is_valid(n)) {
      out.clear();
      u.Format(n, PhoneNumberUtil::E164, &out);
      return true;
    }
  }
  if (!fast || reduced.size() != raw.size()) {  // same size: `raw` was digits already
    n.Clear();
    error = u.Parse(std::string(raw), region, &n);
    if (error == PhoneNumberUtil::NO_PARSING_ERROR && is_valid(n)) {
      out.clear();
      u.Format(n, PhoneNumberUtil::E164, &out);
      return true;
    }
  }
  out = reason(error, n, region);
  return false;
}

absl::StatusOr<std::string> normalize_phone(std::string_view raw, std::string_view default_region) {
  std::string out;
  if (normalize_phone_into(raw, default_region, out)) return out;
  return absl::InvalidArgumentError(out);
}

void warm_phone_normalizer() {
  (void)calling_codes();
  (void)is_supported_region("US");
  // One number of each common form compiles the regexes they need.
  std::string out;
  for (std::string_view raw : {"+12025550123", "(202) 555-0123", "+44 20 7946 0958", "12", "abc",
                               "+1 202 555 0123 ext. 7"}) {
    normalize_phone_into(raw, "US", out);
  }
}

}  // namespace pd
