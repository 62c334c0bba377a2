#include "compliance/region_rules.h"

#include <gtest/gtest.h>

#include "core/strings.h"

namespace pd {
namespace {

constexpr size_t kSun = 0, kMon = 1, kSat = 6;

TEST(DailyHours, ParsesRangesWholeDayAndClosed) {
  auto h = parse_daily_hours("08:00-21:00", false);
  ASSERT_TRUE(h.ok()) << h.status();
  EXPECT_EQ(*h, (DailyHours{8 * 60, 21 * 60}));
  EXPECT_EQ(*parse_daily_hours(" 00:00 - 24:00 ", false), (DailyHours{0, 1440}));
  EXPECT_TRUE(parse_daily_hours("closed", true)->closed());
  EXPECT_FALSE(parse_daily_hours("closed", false).ok());
  EXPECT_EQ(format_daily_hours(*h), "08:00-21:00");
  EXPECT_EQ(format_daily_hours(DailyHours::closed_day()), "closed");
}

TEST(DailyHours, RejectsBadRangesSayingWhy) {
  for (const char* bad : {"8-21", "08:00", "21:00-08:00", "08:00-08:00", "24:30-24:45",
                          "08:60-09:00", "08:00-25:00", ""}) {
    auto h = parse_daily_hours(bad, true);
    EXPECT_FALSE(h.ok()) << bad;
  }
  EXPECT_NE(std::string(parse_daily_hours("21:00-08:00", false).status().message())
                .find("end must be after the start"),
            std::string::npos);
}

TEST(DailyHours, IntersectNarrowsOrCloses) {
  DailyHours a{8 * 60, 21 * 60}, b{9 * 60, 20 * 60}, c{21 * 60, 22 * 60};
  EXPECT_EQ(a.intersect(b), b);
  EXPECT_TRUE(a.intersect(c).closed());
  EXPECT_TRUE(a.intersect(DailyHours::closed_day()).closed());
}

TEST(RegionRules, ParsesSectionsDaysAndCaps) {
  auto rules = RegionRules::parse(R"(# comment
[US-RI]   # Rhode Island
hours-sun = closed
hours = 09:00-18:00
hours-sat = 10:00-17:00

[US-FL]
hours = 08:00-20:00
max-calls-per-24h = 3
[US]
max-calls-per-7d = 10
)",
                                  "test.conf");
  ASSERT_TRUE(rules.ok()) << rules.status();
  // [US] applies too, country first.
  const auto ri = rules->for_region("US-RI");
  ASSERT_EQ(ri.size(), 2u);
  EXPECT_EQ(ri[0]->region, "US");
  EXPECT_EQ(ri[1]->region, "US-RI");
  const RegionRule& r = rules->all().at("US-RI");
  // hours-sun came before `hours` and still wins.
  EXPECT_TRUE(r.hours[kSun]->closed());
  EXPECT_EQ(*r.hours[kMon], (DailyHours{9 * 60, 18 * 60}));
  EXPECT_EQ(*r.hours[kSat], (DailyHours{10 * 60, 17 * 60}));
  EXPECT_EQ(rules->max_calls_24h("US-FL"), 3);
  EXPECT_EQ(rules->max_calls_24h("US-RI"), std::nullopt);
  EXPECT_EQ(rules->max_calls_7d("US-FL"), 10);  // from [US]
  EXPECT_EQ(rules->max_calls_7d("CA-ON"), std::nullopt);
  EXPECT_TRUE(rules->for_region("").empty());
  EXPECT_EQ(rules->for_region("US-FL").size(), 2u);
}

TEST(RegionRules, ErrorsNameFileLineAndKey) {
  struct Case {
    const char* text;
    const char* want;
  } cases[] = {
      {"[US-FL]\nhours = 8-20\n", "r.conf:2: key 'hours': '8-20' is not"},
      {"[US-FL]\n\nhours-funday = closed\n", "r.conf:3: key 'hours-funday': unknown day"},
      {"[US-FL]\nmax-calls-per-24h = three\n", "r.conf:2: key 'max-calls-per-24h'"},
      {"[US-FL]\ncolour = blue\n", "r.conf:2: key 'colour': unknown key"},
      {"hours = 08:00-20:00\n", "r.conf:1: key 'hours': comes before any [REGION]"},
      {"[florida]\n", "r.conf:1: 'florida' is not a region"},
      {"[US-FL]\n[US-FL]\n", "r.conf:2: section [US-FL] appears twice"},
      {"[US-FL]\njust words\n", "r.conf:2: expected 'key = value'"},
      {"[US-FL\n", "r.conf:1: a section header"},
  };
  for (const auto& c : cases) {
    auto rules = RegionRules::parse(c.text, "r.conf");
    ASSERT_FALSE(rules.ok()) << c.text;
    EXPECT_NE(std::string(sv(rules.status().message())).find(c.want), std::string::npos)
        << rules.status() << "\nwanted: " << c.want;
  }
}

TEST(RegionRules, CompiledInDefaultsHoldTheStatesUsersExpect) {
  const RegionRules& d = RegionRules::defaults();
  const RegionRule& fl = d.all().at("US-FL");
  EXPECT_EQ(*fl.hours[kMon], (DailyHours{8 * 60, 20 * 60}));
  EXPECT_EQ(d.max_calls_24h("US-FL"), 3);
  EXPECT_EQ(d.max_calls_24h("US-OK"), 3);
  EXPECT_EQ(d.max_calls_24h("US-MD"), 3);
  const RegionRule& tx = d.all().at("US-TX");
  EXPECT_EQ(*tx.hours[kMon], (DailyHours{9 * 60, 21 * 60}));
  EXPECT_EQ(*tx.hours[kSun], (DailyHours{12 * 60, 21 * 60}));
  for (const char* closed_sunday : {"US-LA", "US-AL", "US-MS", "US-UT", "US-RI"}) {
    EXPECT_TRUE(d.all().at(closed_sunday).hours[kSun]->closed()) << closed_sunday;
  }
  EXPECT_EQ(*d.all().at("US-RI").hours[kSat], (DailyHours{10 * 60, 17 * 60}));
  EXPECT_EQ(*d.all().at("US-WA").hours[kMon], (DailyHours{8 * 60, 20 * 60}));
  EXPECT_TRUE(d.for_region("US-NY").empty());
}

}  // namespace
}  // namespace pd
