#include "io/phone.h"

#include <gtest/gtest.h>
#include <phonenumbers/phonenumber.pb.h>
#include <phonenumbers/phonenumberutil.h>

#include <random>
#include <string>
#include <vector>

#include "core/strings.h"

namespace pd {
namespace {

using i18n::phonenumbers::PhoneNumber;
using i18n::phonenumbers::PhoneNumberUtil;

std::string reason_of(std::string_view raw, std::string_view region) {
  absl::StatusOr<std::string> r = normalize_phone(raw, region);
  EXPECT_FALSE(r.ok()) << raw << " gave " << *r;
  if (r.ok()) return "";
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  return std::string(sv(r.status().message()));
}

TEST(PhoneTest, KeepsANumberAlreadyInE164) {
  EXPECT_EQ(normalize_phone("+12025550123", "US").value(), "+12025550123");
  EXPECT_EQ(normalize_phone("+442079460958", "US").value(), "+442079460958");
}

TEST(PhoneTest, ReadsWrittenFormsWithTheDefaultRegion) {
  EXPECT_EQ(normalize_phone("(202) 555-0123", "US").value(), "+12025550123");
  EXPECT_EQ(normalize_phone("202.555.0123", "US").value(), "+12025550123");
  EXPECT_EQ(normalize_phone("1-202-555-0123", "US").value(), "+12025550123");
  EXPECT_EQ(normalize_phone(" 202 555 0123 ", "US").value(), "+12025550123");
  EXPECT_EQ(normalize_phone("020 7946 0958", "GB").value(), "+442079460958");
  EXPECT_EQ(normalize_phone("(416) 555-0199", "CA").value(), "+14165550199");
}

TEST(PhoneTest, PlusOrInternationalPrefixOverridesTheDefaultRegion) {
  EXPECT_EQ(normalize_phone("+44 20 7946 0958", "US").value(), "+442079460958");
  EXPECT_EQ(normalize_phone("+44 (0)20 7946 0958", "US").value(), "+442079460958");
  EXPECT_EQ(normalize_phone("011 44 20 7946 0958", "US").value(), "+442079460958");
  EXPECT_EQ(normalize_phone("00 44 20 7946 0958", "GB").value(), "+442079460958");
}

TEST(PhoneTest, SameDigitsDependOnTheDefaultRegion) {
  EXPECT_EQ(normalize_phone("020 7946 0958", "GB").value(), "+442079460958");
  EXPECT_FALSE(normalize_phone("020 7946 0958", "US").ok());
}

TEST(PhoneTest, NumbersOfOtherRegionsSharingACountryCodeAreValid) {
  EXPECT_EQ(normalize_phone("+1 416 555 0199", "US").value(), "+14165550199");   // Canada
  EXPECT_EQ(normalize_phone("+1 876 555 0199", "US").value(), "+18765550199");   // Jamaica
  EXPECT_EQ(normalize_phone("+44 1534 759000", "US").value(), "+441534759000");  // Jersey
  EXPECT_EQ(normalize_phone("+7 701 123 4567", "US").value(), "+77011234567");   // Kazakhstan
}

TEST(PhoneTest, ReasonsSayWhatIsWrong) {
  EXPECT_EQ(reason_of("abc", "US"), "not a phone number");
  EXPECT_EQ(reason_of("1-2", "US"), "not a phone number");
  EXPECT_EQ(reason_of("12", "US"), "too short");
  EXPECT_EQ(reason_of("202555012", "US"), "too short");
  EXPECT_EQ(reason_of("+1 202 555 0123 4567 8901 2345", "US"), "too long");
  EXPECT_EQ(reason_of("+44 20 7946 09581", "US"), "too long");
  EXPECT_EQ(reason_of("+999 123456", "US"), "invalid country code");
  EXPECT_EQ(reason_of("+1 123 555 0123", "US"), "not a valid number for US");
  EXPECT_EQ(reason_of("+44 20 7946 095", "US"), "not a valid number for GB");
  EXPECT_EQ(reason_of("555-0123", "US"), "too short: a local number without its area code");
}

TEST(PhoneTest, AnExtensionIsDroppedAsLibphonenumberDoes) {
  // E.164 has no room for an extension; the call reaches the main line.
  EXPECT_EQ(normalize_phone("+1 202-555-0123 ext. 7", "US").value(), "+12025550123");
}

TEST(PhoneTest, NormalizePhoneIntoGivesTheSameAnswerWithoutAStatus) {
  std::string out;
  EXPECT_TRUE(normalize_phone_into("(202) 555-0123", "US", out));
  EXPECT_EQ(out, "+12025550123");
  EXPECT_FALSE(normalize_phone_into("12", "US", out));
  EXPECT_EQ(out, "too short");
}

TEST(PhoneTest, KnowsSupportedRegions) {
  EXPECT_TRUE(is_supported_region("US"));
  EXPECT_TRUE(is_supported_region("GB"));
  EXPECT_FALSE(is_supported_region("ZZ"));
  EXPECT_FALSE(is_supported_region("us"));
  EXPECT_FALSE(is_supported_region(""));
}

// normalize_phone takes two shortcuts (digits-only parsing, and
// IsValidNumberForRegion before IsValidNumber); this checks that its answers
// are exactly those of plain Parse + IsValidNumber + Format(E164), on numbers
// of every country code whose regions share a code (where the shortcut
// applies or must not) and in many written forms.
std::string reference(const std::string& raw, const std::string& region, bool& ok) {
  const PhoneNumberUtil& u = *PhoneNumberUtil::GetInstance();
  PhoneNumber n;
  ok = u.Parse(raw, region, &n) == PhoneNumberUtil::NO_PARSING_ERROR && u.IsValidNumber(n);
  std::string out;
  if (ok) u.Format(n, PhoneNumberUtil::E164, &out);
  return out;
}

TEST(PhoneTest, AnswersExactlyAsPlainLibphonenumber) {
  // Prefixes reaching each region of the shared codes, and some others.
  const std::vector<std::string> prefixes = {
      "1202",  "1416",   "1876",   "1268",   "1340",  "1671",  "1800",  "1900",  "7495",
      "7701",  "7727",   "7800",   "3906",   "39066", "4420",  "44153", "44148", "44162",
      "44778", "447",    "4779",   "479",    "4741",  "6128",  "6189",  "61891", "212528",
      "2125",  "26226",  "262269", "262639", "29022", "2908",  "35818", "3589",  "35840",
      "59059", "590590", "5997",   "59995",  "59941", "80012", "8822",  "331",   "336",
      "4930",  "8613",   "9198",   "5511",   "52155", "61",    "1",     "44",    "7"};
  const std::vector<std::string> regions = {"US", "GB", "CA", "RU", "FI", "NO", "AU", "IT"};
  std::mt19937 rng(20240611);
  auto digits = [&](int n) {
    std::string s;
    for (int i = 0; i < n; ++i) s.push_back(static_cast<char>('0' + rng() % 10));
    return s;
  };
  int checked = 0;
  int valid = 0;
  for (int i = 0; i < 4000; ++i) {
    const std::string& prefix = prefixes[rng() % prefixes.size()];
    const std::string number = prefix + digits(6 + static_cast<int>(rng() % 6));
    const std::string& region = regions[rng() % regions.size()];
    std::string raw;
    switch (rng() % 8) {
      case 0:
        raw = "+" + number;
        break;
      case 1:  // national digits (the prefix's country code dropped or not)
        raw = number.substr(rng() % 3);
        break;
      case 2:
        raw = cat("+", number.substr(0, 2), " (", number.substr(2, 3), ") ", number.substr(5));
        break;
      case 3:
        raw = cat(number.substr(0, 3), "-", number.substr(3, 3), ".", number.substr(6));
        break;
      case 4:
        raw = cat("00 ", number);
        break;
      case 5:
        raw = cat("+", number.substr(0, 2), " (0)", number.substr(2));
        break;
      case 6:  // characters that do not qualify for the digits-only path
        raw = cat("+", number.substr(0, 3), "/", number.substr(3));
        break;
      default:
        raw = cat(" +", number, " ");
        break;
    }
    bool ref_ok = false;
    const std::string ref = reference(raw, region, ref_ok);
    std::string got;
    const bool ok = normalize_phone_into(raw, region, got);
    ASSERT_EQ(ok, ref_ok) << raw << " [" << region << "]: " << got;
    if (ok) {
      ASSERT_EQ(got, ref) << raw << " [" << region << "]";
      ++valid;
    }
    ++checked;
  }
  // The mix must exercise both answers.
  EXPECT_GT(valid, checked / 10);
  EXPECT_LT(valid, checked * 9 / 10);
}

TEST(PhoneTest, TheNanpShapeGivesLibphonenumbersE164ForEveryNumberItAccepts) {
  // Every number libphonenumber accepts in a NANP form comes out the same;
  // the shape check also takes numbers it refuses (unassigned area codes).
  int compared = 0;
  for (const char* raw : {"2025550143", "(202) 555-0143", "1-202-555-0143", "+1 202 555 0143",
                          "212.555.0199", "4165550123", "+14165550123", "8005550100",
                          "+18765550123", " 907 555 0111"}) {
    std::string fast, full;
    ASSERT_TRUE(nanp_e164_into(raw, "US", fast)) << raw;
    if (normalize_phone_into(raw, "US", full)) {
      EXPECT_EQ(fast, full) << raw;
      ++compared;
    }
  }
  EXPECT_GE(compared, 9);
  std::string out;
  EXPECT_TRUE(nanp_e164_into("2005550100", "US", out));  // area code 200: shape only
  for (const char* raw : {"1025550143", "2021550143", "202555014", "+442079460000",
                          "020 7946 0000", "202-555-0143 ext 2", "+1202555014"}) {
    EXPECT_FALSE(nanp_e164_into(raw, "US", out)) << raw;
  }
  EXPECT_FALSE(nanp_e164_into("2025550143", "GB", out));  // national digits of another plan
  EXPECT_TRUE(nanp_e164_into("+12025550143", "GB", out));
  EXPECT_EQ(out, "+12025550143");
}

}  // namespace
}  // namespace pd
