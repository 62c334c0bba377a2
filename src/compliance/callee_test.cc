#include "compliance/callee.h"

#include <gtest/gtest.h>

#include "compliance/phone_tables.h"
#include "compliance/zip3.h"
#include "core/strings.h"

namespace pd {
namespace {

using Zones = std::vector<std::string>;

TEST(PhoneTables, GeneratedFromTheSameLibphonenumberRelease) {
  EXPECT_EQ(phone_tables::kDataVersion, "8.12.57");
  EXPECT_GT(phone_tables::kPrefixZonesSize, 3000u);
  EXPECT_GT(phone_tables::kAreaCodeRegionsSize, 350u);
}

TEST(ZonesForNumber, LongestPrefixWins) {
  EXPECT_EQ(zones_for_number("+12125551234"), Zones{"America/New_York"});
  EXPECT_EQ(zones_for_number("+13125551234"), Zones{"America/Chicago"});
  EXPECT_EQ(zones_for_number("+14155551234"), Zones{"America/Los_Angeles"});
  // Arizona's area codes also list Denver (the Navajo Nation keeps DST).
  EXPECT_EQ(zones_for_number("+15205551234"), (Zones{"America/Denver", "America/Phoenix"}));
  EXPECT_EQ(zones_for_number("+18085551234"), Zones{"Pacific/Honolulu"});
  EXPECT_EQ(zones_for_number("+442071234567"), Zones{"Europe/London"});
  EXPECT_EQ(zones_for_number("+33142685300"), Zones{"Europe/Paris"});
  // Idaho's 208 straddles Mountain and Pacific; 208-201 is Mountain only.
  EXPECT_EQ(zones_for_number("+12082012345"), Zones{"America/Denver"});
  // Non-geographic NANP numbers have no zone (not every NANP zone).
  EXPECT_TRUE(zones_for_number("+18005551234").empty());
  EXPECT_TRUE(zones_for_number("+18885551234").empty());
  EXPECT_TRUE(zones_for_number("not a number").empty());
}

TEST(RegionForNumber, NanpAreaCodes) {
  EXPECT_EQ(region_for_number("+13055551234"), "US-FL");
  EXPECT_EQ(region_for_number("+12125551234"), "US-NY");
  EXPECT_EQ(region_for_number("+12025551234"), "US-DC");
  EXPECT_EQ(region_for_number("+15125551234"), "US-TX");
  EXPECT_EQ(region_for_number("+14165551234"), "CA-ON");
  EXPECT_EQ(region_for_number("+17875551234"), "US-PR");
  EXPECT_EQ(region_for_number("+16715551234"), "US-GU");
  EXPECT_EQ(region_for_number("+18765551234"), "JM");
  EXPECT_EQ(region_for_number("+18005551234"), "");
  EXPECT_EQ(region_for_number("+442071234567"), "");
}

TEST(Zip3, PrefixesAndStraddlers) {
  EXPECT_EQ(us_zip_prefix("32501"), 325);
  EXPECT_EQ(us_zip_prefix(" 00601-1234 "), 6);
  EXPECT_EQ(us_zip_prefix("3250"), std::nullopt);
  EXPECT_EQ(us_zip_prefix("SW1A 1AA"), std::nullopt);
  EXPECT_EQ(us_zip_prefix("32501-12"), std::nullopt);
  struct Case {
    int zip3;
    const char* region;
    const char* zones;
  } cases[] = {
      {100, "US-NY", "America/New_York"},
      {325, "US-FL", "America/Chicago"},      // Pensacola
      {331, "US-FL", "America/New_York"},     // Miami
      {799, "US-TX", "America/Denver"},       // El Paso
      {885, "US-TX", "America/Denver"},
      {838, "US-ID", "America/Los_Angeles"},  // Coeur d'Alene
      {463, "US-IN", "America/Chicago"},
      {850, "US-AZ", "America/Phoenix"},
      {968, "US-HI", "Pacific/Honolulu"},
      {969, "US-GU", "Pacific/Guam"},
      {6, "US-PR", "America/Puerto_Rico"},
      {996, "US-AK", "America/Anchorage"},
  };
  for (const auto& c : cases) {
    const Zip3Entry* e = find_zip3(c.zip3);
    ASSERT_NE(e, nullptr) << c.zip3;
    EXPECT_EQ(e->region, c.region) << c.zip3;
    EXPECT_EQ(e->zones, c.zones) << c.zip3;
  }
  EXPECT_NE(find_zip3(499)->zones.find("America/Chicago"), std::string::npos);
  EXPECT_NE(find_zip3(499)->zones.find("America/New_York"), std::string::npos);
  EXPECT_EQ(find_zip3(96), nullptr);  // military
  EXPECT_EQ(find_zip3(1000), nullptr);
}

TEST(ResolveCallee, TimezoneColumnThenZipThenNumber) {
  // A Miami number, living in Pensacola (ZIP), who said they are in Denver.
  auto f = resolve_callee("+13055551234", "America/Denver", "32501");
  ASSERT_TRUE(f.ok()) << f.status();
  EXPECT_EQ(f->zones, Zones{"America/Denver"});
  EXPECT_EQ(f->region, "US-FL");  // region from the ZIP's state
  f = resolve_callee("+13055551234", "", "32501-4321");
  EXPECT_EQ(f->zones, Zones{"America/Chicago"});
  f = resolve_callee("+13055551234", "", "");
  EXPECT_EQ(f->zones, Zones{"America/New_York"});
  EXPECT_EQ(f->region, "US-FL");
  // A Texas ZIP on a Florida number: the ZIP's state.
  f = resolve_callee("+13055551234", "", "75201");
  EXPECT_EQ(f->region, "US-TX");
  EXPECT_EQ(f->zones, Zones{"America/Chicago"});
  // Several zones, spaces or commas; duplicates once.
  f = resolve_callee("+13055551234", "America/New_York, America/Chicago America/New_York", "");
  EXPECT_EQ(f->zones, (Zones{"America/New_York", "America/Chicago"}));
  EXPECT_EQ(join_zones(f->zones), "America/New_York America/Chicago");
}

TEST(ResolveCallee, ZipOnlyForNanpNumbersAndUsShapes) {
  // A Paris number with a French postal code that looks like a Texas ZIP.
  auto f = resolve_callee("+33142685300", "", "75001");
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(f->zones, Zones{"Europe/Paris"});
  EXPECT_EQ(f->region, "");
  // A Canadian postal code is not a ZIP: the number decides.
  f = resolve_callee("+14165551234", "", "M5V 2T6");
  EXPECT_EQ(f->zones, Zones{"America/Toronto"});
  EXPECT_EQ(f->region, "CA-ON");
  // A toll-free number with a ZIP gets the ZIP's zone.
  f = resolve_callee("+18005551234", "", "60601");
  EXPECT_EQ(f->zones, Zones{"America/Chicago"});
  EXPECT_EQ(f->region, "US-IL");
}

TEST(ResolveCallee, BadTimezoneIsAnErrorNamingIt) {
  auto f = resolve_callee("+13055551234", "America/Miami", "");
  ASSERT_FALSE(f.ok());
  EXPECT_EQ(f.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(std::string(sv(f.status().message())).find("'America/Miami' is not an IANA"),
            std::string::npos);
}

}  // namespace
}  // namespace pd
