#include "compliance/calling_window.h"

#include <gtest/gtest.h>

#include "compliance/callee.h"
#include "compliance/policy.h"
#include "core/strings.h"
#include "core/time_format.h"

namespace pd {
namespace {

WallTime at(const char* iso) {
  auto t = parse_iso8601(iso);
  EXPECT_TRUE(t.has_value()) << iso;
  return *t;
}

std::string iso(std::optional<WallTime> t) { return t ? format_iso8601(*t) : "none"; }

CallingWindow window(std::map<std::string, std::string> config,
                     const RegionRules* rules = nullptr) {
  auto c = WindowConfig::from_config(config);
  EXPECT_TRUE(c.ok()) << c.status();
  return CallingWindow(*c, rules);
}

TEST(CallingWindow, DefaultIsEightToNineLocal) {
  const CallingWindow w = window({});
  // 2026-12-02 07:00 in New York (EST, UTC-5).
  WindowVerdict v = w.check(at("2026-12-02T12:00:00.000Z"), "America/New_York", "");
  EXPECT_FALSE(v.open);
  EXPECT_EQ(v.held_zone, "America/New_York");
  EXPECT_EQ(v.rule, "calling-hours");
  EXPECT_EQ(iso(v.next_open), "2026-12-02T13:00:00.000Z");
  EXPECT_EQ(v.opens_zone, "America/New_York");
  EXPECT_EQ(v.opens_local, "08:00");
  EXPECT_TRUE(w.check(at("2026-12-02T13:00:00.000Z"), "America/New_York", "").open);
  EXPECT_TRUE(w.check(at("2026-12-03T01:59:59.000Z"), "America/New_York", "").open);
  // 21:00 is the end, not included.
  v = w.check(at("2026-12-03T02:00:00.000Z"), "America/New_York", "");
  EXPECT_FALSE(v.open);
  EXPECT_EQ(iso(v.next_open), "2026-12-03T13:00:00.000Z");
}

TEST(CallingWindow, WholeDayIsAlwaysOpen) {
  const CallingWindow w = window({{"calling-hours", "00:00-24:00"}});
  for (const char* t : {"2026-12-02T04:59:59.000Z", "2026-12-02T05:00:00.000Z",
                        "2026-03-08T07:30:00.000Z", "2026-11-01T06:30:00.000Z"}) {
    EXPECT_TRUE(w.check(at(t), "America/New_York", "").open) << t;
  }
}

TEST(CallingWindow, SpringForwardNewYork) {
  // 2026-03-08: 02:00 EST jumps to 03:00 EDT (07:00Z).
  const CallingWindow w = window({});
  WindowVerdict v = w.check(at("2026-03-08T06:30:00.000Z"), "America/New_York", "");
  EXPECT_FALSE(v.open);
  EXPECT_EQ(iso(v.next_open), "2026-03-08T12:00:00.000Z");  // 08:00 EDT, not 13:00Z
  EXPECT_EQ(v.opens_local, "08:00");
  // A window that starts at a local time that day skips opens at the jump.
  const CallingWindow early = window({{"calling-hours", "02:30-21:00"}});
  v = early.check(at("2026-03-08T06:30:00.000Z"), "America/New_York", "");  // 01:30 EST
  EXPECT_FALSE(v.open);
  EXPECT_EQ(iso(v.next_open), "2026-03-08T07:00:00.000Z");
  EXPECT_EQ(v.opens_local, "03:00");
  EXPECT_TRUE(early.check(at("2026-03-08T07:00:00.000Z"), "America/New_York", "").open);
  // The evening end is 21:00 EDT = 01:00Z.
  EXPECT_TRUE(w.check(at("2026-03-09T00:59:00.000Z"), "America/New_York", "").open);
  EXPECT_FALSE(w.check(at("2026-03-09T01:00:00.000Z"), "America/New_York", "").open);
}

TEST(CallingWindow, FallBackNewYork) {
  // 2026-11-01: 02:00 EDT goes back to 01:00 EST (06:00Z); 01:00-02:00 happens twice.
  const CallingWindow w = window({});
  WindowVerdict v = w.check(at("2026-11-01T10:00:00.000Z"), "America/New_York", "");
  EXPECT_EQ(iso(v.next_open), "2026-11-01T13:00:00.000Z");  // 08:00 EST
  // A window starting at the repeated 01:30 opens at its first occurrence.
  const CallingWindow night = window({{"calling-hours", "01:30-21:00"}});
  v = night.check(at("2026-11-01T05:00:00.000Z"), "America/New_York", "");  // 01:00 EDT
  EXPECT_EQ(iso(v.next_open), "2026-11-01T05:30:00.000Z");
  // A window ending at 01:30 is open while the clock reads before 01:30, both times.
  const CallingWindow late = window({{"calling-hours", "00:00-01:30"}});
  EXPECT_TRUE(late.check(at("2026-11-01T05:15:00.000Z"), "America/New_York", "").open);
  EXPECT_FALSE(late.check(at("2026-11-01T05:45:00.000Z"), "America/New_York", "").open);
  v = late.check(at("2026-11-01T05:45:00.000Z"), "America/New_York", "");
  EXPECT_EQ(iso(v.next_open), "2026-11-01T06:00:00.000Z");  // back to 01:00 EST
  EXPECT_TRUE(late.check(at("2026-11-01T06:15:00.000Z"), "America/New_York", "").open);
  v = late.check(at("2026-11-01T06:30:00.000Z"), "America/New_York", "");  // 01:30 EST
  EXPECT_FALSE(v.open);
  EXPECT_EQ(iso(v.next_open), "2026-11-02T05:00:00.000Z");  // 00:00 EST next day
}

TEST(CallingWindow, LondonDstChanges) {
  const CallingWindow w = window({});
  // 2026-03-29: 01:00 GMT -> 02:00 BST. 08:00 BST = 07:00Z.
  WindowVerdict v = w.check(at("2026-03-29T00:30:00.000Z"), "Europe/London", "");
  EXPECT_EQ(iso(v.next_open), "2026-03-29T07:00:00.000Z");
  const CallingWindow gap = window({{"calling-hours", "01:30-21:00"}});
  v = gap.check(at("2026-03-29T00:30:00.000Z"), "Europe/London", "");
  EXPECT_EQ(iso(v.next_open), "2026-03-29T01:00:00.000Z");  // the jump, 02:00 BST
  EXPECT_EQ(v.opens_local, "02:00");
  // 2026-10-25: 02:00 BST -> 01:00 GMT. 08:00 GMT = 08:00Z; the day before, 07:00Z.
  v = w.check(at("2026-10-25T06:00:00.000Z"), "Europe/London", "");
  EXPECT_EQ(iso(v.next_open), "2026-10-25T08:00:00.000Z");
  v = w.check(at("2026-10-24T06:00:00.000Z"), "Europe/London", "");
  EXPECT_EQ(iso(v.next_open), "2026-10-24T07:00:00.000Z");
  // 21:00 GMT = 21:00Z on the 25th.
  EXPECT_TRUE(w.check(at("2026-10-25T20:59:00.000Z"), "Europe/London", "").open);
  EXPECT_FALSE(w.check(at("2026-10-25T21:00:00.000Z"), "Europe/London", "").open);
}

TEST(CallingWindow, SeveralZonesMustAllBeOpen) {
  const CallingWindow w = window({});
  const char* zones = "America/New_York America/Chicago";
  // 08:30 in New York, 07:30 in Chicago.
  WindowVerdict v = w.check(at("2026-12-02T13:30:00.000Z"), zones, "");
  EXPECT_FALSE(v.open);
  EXPECT_EQ(v.held_zone, "America/Chicago");
  EXPECT_EQ(iso(v.next_open), "2026-12-02T14:00:00.000Z");
  EXPECT_EQ(v.opens_zone, "America/Chicago");
  EXPECT_EQ(v.opens_local, "08:00");
  EXPECT_EQ(v.zones_text(), zones);
  EXPECT_TRUE(w.check(at("2026-12-03T01:30:00.000Z"), zones, "").open);
  // 21:30 in New York, 20:30 in Chicago: New York holds it until Chicago opens.
  v = w.check(at("2026-12-03T02:30:00.000Z"), zones, "");
  EXPECT_EQ(v.held_zone, "America/New_York");
  EXPECT_EQ(iso(v.next_open), "2026-12-03T14:00:00.000Z");
  EXPECT_EQ(v.opens_zone, "America/Chicago");
}

TEST(CallingWindow, ZonesThatNeverOverlapHaveNoWindow) {
  const CallingWindow w = window({{"calling-hours", "09:00-12:00"}});
  WindowVerdict v = w.check(at("2026-12-02T12:00:00.000Z"), "Pacific/Honolulu Asia/Tokyo", "");
  EXPECT_FALSE(v.open);
  EXPECT_FALSE(v.next_open.has_value());
  EXPECT_FALSE(v.no_timezone);
}

TEST(CallingWindow, TollFreeNumberHasNoZoneSoDefaultTimezoneOrNotDialled) {
  auto facts = resolve_callee("+18005551234", "", "");
  ASSERT_TRUE(facts.ok());
  EXPECT_TRUE(facts->zones.empty());
  const CallingWindow strict = window({});
  WindowVerdict v = strict.check(at("2026-12-02T15:00:00.000Z"), join_zones(facts->zones), "");
  EXPECT_FALSE(v.open);
  EXPECT_TRUE(v.no_timezone);
  EXPECT_FALSE(v.next_open.has_value());
  const CallingWindow fallback = window({{"default-timezone", "America/Chicago"}});
  v = fallback.check(at("2026-12-02T15:00:00.000Z"), join_zones(facts->zones), "");  // 09:00 CST
  EXPECT_TRUE(v.open);
  EXPECT_TRUE(v.used_default_timezone);
  EXPECT_EQ(v.zones_text(), "America/Chicago");
  v = fallback.check(at("2026-12-02T13:30:00.000Z"), "", "");  // 07:30 CST
  EXPECT_FALSE(v.open);
  EXPECT_EQ(iso(v.next_open), "2026-12-02T14:00:00.000Z");
}

TEST(CallingWindow, NoZoneNeededWhenOpenAllDayEveryDay) {
  const CallingWindow all_day = window({{"calling-hours", "00:00-24:00"}}, &RegionRules::defaults());
  WindowVerdict v = all_day.check(at("2026-12-02T15:00:00.000Z"), "", "");
  EXPECT_TRUE(v.open);
  EXPECT_TRUE(v.zones.empty());
  // A region's hours, a closed day or a blackout date depend on the zone.
  EXPECT_TRUE(all_day.check(at("2026-12-02T15:00:00.000Z"), "", "US-FL").no_timezone);
  EXPECT_TRUE(window({{"calling-hours", "00:00-24:00"}, {"calling-hours-sun", "closed"}})
                  .check(at("2026-12-02T15:00:00.000Z"), "", "")
                  .no_timezone);
  EXPECT_TRUE(window({{"calling-hours", "00:00-24:00"}, {"blackout-dates", "2027-01-01"}})
                  .check(at("2026-12-02T15:00:00.000Z"), "", "")
                  .no_timezone);
}

TEST(CallingWindow, UnknownZoneNameCountsAsNoZone) {
  WindowVerdict v = window({}).check(at("2026-12-02T15:00:00.000Z"), "Mars/Olympus_Mons", "");
  EXPECT_TRUE(v.no_timezone);
  v = window({{"default-timezone", "Europe/Paris"}})
          .check(at("2026-12-02T15:00:00.000Z"), "Mars/Olympus_Mons", "");
  EXPECT_TRUE(v.open);
  EXPECT_EQ(v.zones_text(), "Europe/Paris");
}

TEST(CallingWindow, BlackoutDatesAreTheCalleesLocalDate) {
  const CallingWindow w = window({{"blackout-dates", "2026-12-25, 2027-01-01"}});
  // 2026-12-25 03:00Z is still the 24th (22:00) in Chicago... but closed by hours;
  // 15:00Z is 09:00 on the 25th: blacked out.
  WindowVerdict v = w.check(at("2026-12-25T15:00:00.000Z"), "America/Chicago", "");
  EXPECT_FALSE(v.open);
  EXPECT_EQ(v.rule, "blackout-dates");
  EXPECT_EQ(iso(v.next_open), "2026-12-26T14:00:00.000Z");
  // 09:00 on the 25th in Tokyo is still the 24th in Chicago: Tokyo's date counts.
  v = w.check(at("2026-12-25T00:00:00.000Z"), "Asia/Tokyo", "");
  EXPECT_EQ(v.rule, "blackout-dates");
  EXPECT_TRUE(w.check(at("2026-12-24T00:00:00.000Z"), "Asia/Tokyo", "").open);
}

TEST(CallingWindow, WeekdayOverridesAndClosedDays) {
  const CallingWindow w =
      window({{"calling-hours-sun", "closed"}, {"calling-hours-sat", "10:00-14:00"}});
  // 2026-12-05 is a Saturday, 2026-12-06 a Sunday.
  WindowVerdict v = w.check(at("2026-12-05T14:30:00.000Z"), "America/Chicago", "");  // 08:30
  EXPECT_EQ(v.rule, "calling-hours-sat");
  EXPECT_EQ(iso(v.next_open), "2026-12-05T16:00:00.000Z");
  v = w.check(at("2026-12-05T20:00:00.000Z"), "America/Chicago", "");  // Sat 14:00
  EXPECT_EQ(iso(v.next_open), "2026-12-07T14:00:00.000Z");               // Mon 08:00
  v = w.check(at("2026-12-06T18:00:00.000Z"), "America/Chicago", "");
  EXPECT_EQ(v.rule, "calling-hours-sun");
}

TEST(CallingWindow, RegionRulesNarrowTheCampaignWindow) {
  const CallingWindow w = window({}, &RegionRules::defaults());
  // Texas, Sunday 2026-12-06 09:00 CST: Sunday calls from noon.
  WindowVerdict v = w.check(at("2026-12-06T15:00:00.000Z"), "America/Chicago", "US-TX");
  EXPECT_FALSE(v.open);
  EXPECT_EQ(v.rule, "region US-TX hours-sun");
  EXPECT_EQ(iso(v.next_open), "2026-12-06T18:00:00.000Z");
  EXPECT_EQ(v.opens_local, "12:00");
  // The same moment in Illinois is open.
  EXPECT_TRUE(w.check(at("2026-12-06T15:00:00.000Z"), "America/Chicago", "US-IL").open);
  // Florida, 20:30 EST on a Wednesday: the campaign allows to 21:00, Florida to 20:00.
  v = w.check(at("2026-12-03T01:30:00.000Z"), "America/New_York", "US-FL");
  EXPECT_EQ(v.rule, "region US-FL hours");
  EXPECT_EQ(iso(v.next_open), "2026-12-03T13:00:00.000Z");
  // Louisiana: closed on Sundays, so Monday 08:00 CST.
  v = w.check(at("2026-12-06T16:00:00.000Z"), "America/Chicago", "US-LA");
  EXPECT_EQ(iso(v.next_open), "2026-12-07T14:00:00.000Z");
}

// The search against a minute-by-minute scan, across DST changes.
TEST(CallingWindow, NextOpenMatchesAMinuteScan) {
  const RegionRules& rules = RegionRules::defaults();
  struct Case {
    std::map<std::string, std::string> config;
    const char* region;
  } cases[] = {
      {{}, "US-TX"},      // Sundays from noon
      {{}, "US-PA"},      // Sundays from 13:30
      {{{"calling-hours", "02:15-02:45"}}, ""},
      {{{"calling-hours", "01:00-01:30"}, {"calling-hours-sun", "closed"}}, ""},
      {{{"calling-hours", "23:00-24:00"}, {"blackout-dates", "2026-03-09,2026-11-02"}}, ""},
  };
  const char* zone_sets[] = {"America/New_York", "Europe/London America/Chicago",
                             "America/Phoenix America/Denver"};
  const char* starts[] = {"2026-03-07T00:00:00.000Z", "2026-10-24T00:00:00.000Z",
                          "2026-10-31T00:00:00.000Z"};
  for (const auto& c : cases) {
    const CallingWindow w = window(c.config, &rules);
    for (const char* zones : zone_sets) {
      for (const char* start : starts) {
        // Open or not, minute by minute over 4 days.
        const WallTime t0 = at(start);
        constexpr int kMinutes = 4 * 24 * 60;
        std::vector<bool> open(kMinutes);
        for (int m = 0; m < kMinutes; ++m) {
          open[m] = w.check(t0 + std::chrono::minutes(m), zones, c.region).open;
        }
        for (int m = 0; m < 3 * 24 * 60; m += 13) {
          const WindowVerdict v = w.check(t0 + std::chrono::minutes(m), zones, c.region);
          ASSERT_EQ(v.open, open[m]);
          if (v.open) continue;
          int want = m;
          while (want < kMinutes && !open[want]) ++want;
          const std::string what = cat(zones, " ", c.region, " from ", iso(t0 + std::chrono::minutes(m)));
          if (want == kMinutes) {
            EXPECT_TRUE(!v.next_open || *v.next_open >= t0 + std::chrono::minutes(kMinutes)) << what;
          } else {
            EXPECT_EQ(iso(v.next_open), iso(t0 + std::chrono::minutes(want))) << what;
          }
        }
      }
    }
  }
}

TEST(WaitDurationText, RoundsUpToTheMinute) {
  const WallTime t0 = at("2026-12-02T12:00:00.000Z");
  EXPECT_EQ(wait_duration_text(t0, t0 + std::chrono::seconds(20)), "1 min");
  EXPECT_EQ(wait_duration_text(t0, t0 + std::chrono::minutes(42)), "42 min");
  EXPECT_EQ(wait_duration_text(t0, t0 + std::chrono::minutes(185)), "3 h 5 min");
  EXPECT_EQ(wait_duration_text(t0, t0 + std::chrono::hours(52)), "2 d 4 h");
  EXPECT_EQ(wait_duration_text(t0, t0), "now");
}

TEST(WindowConfig, ErrorsNameTheKey) {
  struct Case {
    std::map<std::string, std::string> config;
    const char* want;
  } cases[] = {
      {{{"calling-hours", "21:00-08:00"}}, "calling-hours: '21:00-08:00': the end must be after"},
      {{{"calling-hours-mon", "9-5"}}, "calling-hours-mon: '9-5' is not"},
      {{{"blackout-dates", "2026-12-25,christmas"}}, "blackout-dates: 'christmas' is not a date"},
      {{{"blackout-dates", "2026-02-30"}}, "blackout-dates: '2026-02-30' is not a date"},
      {{{"default-timezone", "Eastern"}}, "default-timezone: 'Eastern' is not an IANA time zone"},
  };
  for (const auto& c : cases) {
    auto w = WindowConfig::from_config(c.config);
    ASSERT_FALSE(w.ok()) << c.want;
    EXPECT_NE(std::string(sv(w.status().message())).find(c.want), std::string::npos)
        << w.status();
  }
}

}  // namespace
}  // namespace pd
