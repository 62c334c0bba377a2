#include "core/start_time.h"

#include <gtest/gtest.h>

#include "core/time_format.h"

namespace pd {
namespace {

std::string utc(std::string_view text) {
  auto t = parse_start_time(text, "--start");
  if (!t.ok()) return std::string(t.status().message());
  return format_iso8601(*t);
}

TEST(StartTime, ReadsLocalTimeInItsZoneWithDaylightSaving) {
  // 2026-03-08: US clocks go forward at 02:00; 06:00 is already EDT (UTC-4).
  EXPECT_EQ(utc("2026-03-08 06:00 America/New_York"), "2026-03-08T10:00:00.000Z");
  EXPECT_EQ(utc("2026-03-07 06:00 America/New_York"), "2026-03-07T11:00:00.000Z");
  EXPECT_EQ(utc("2026-03-08 01:59:59 America/New_York"), "2026-03-08T06:59:59.000Z");
  EXPECT_EQ(utc("2026-03-08 08:00 Pacific/Honolulu"), "2026-03-08T18:00:00.000Z");
  EXPECT_EQ(utc("2026-11-01 06:00 America/New_York"), "2026-11-01T11:00:00.000Z");
  EXPECT_EQ(utc("  2026-07-01   12:00:30.250  UTC "), "2026-07-01T12:00:30.250Z");
}

TEST(StartTime, ReadsRfc3339Instants) {
  EXPECT_EQ(utc("2026-03-08T11:00:00Z"), "2026-03-08T11:00:00.000Z");
  EXPECT_EQ(utc("2026-03-08T06:00:00-05:00"), "2026-03-08T11:00:00.000Z");
  EXPECT_EQ(utc("2026-03-08t06:00:00.5+01:30"), "2026-03-08T04:30:00.500Z");
}

TEST(StartTime, RefusesLocalTimesTheClocksSkipOrRepeat) {
  const std::string gap = utc("2026-03-08 02:30 America/New_York");
  EXPECT_NE(gap.find("--start: "), std::string::npos) << gap;
  EXPECT_NE(gap.find("02:30 does not exist in America/New_York on 2026-03-08"), std::string::npos)
      << gap;
  const std::string twice = utc("2026-11-01 01:30 America/New_York");
  EXPECT_NE(twice.find("happens twice"), std::string::npos) << twice;
  EXPECT_NE(twice.find("2026-11-01T01:30:00-04:00"), std::string::npos) << twice;
}

TEST(StartTime, ErrorsNameTheOptionAndTheFault) {
  auto error = [](std::string_view text) {
    auto t = parse_start_time(text, "--start");
    EXPECT_FALSE(t.ok()) << text;
    EXPECT_EQ(t.status().code(), absl::StatusCode::kInvalidArgument);
    return std::string(t.status().message());
  };
  EXPECT_NE(error("2026-03-08 06:00 America/Nowhere").find("unknown time zone 'America/Nowhere'"),
            std::string::npos);
  EXPECT_NE(error("2026-02-30 06:00 UTC").find("'2026-02-30' is not a date"), std::string::npos);
  EXPECT_NE(error("2026-02-03 25:00 UTC").find("'25:00' is not a time of day"), std::string::npos);
  EXPECT_NE(error("2026-02-03 06:00").find("expected a date, a time and an IANA time zone"),
            std::string::npos);
  EXPECT_NE(error("2026-03-08T11:00:00").find("needs Z or a UTC offset"), std::string::npos);
  EXPECT_NE(error("2026-03-08T11:00:00+5").find("is not a UTC offset"), std::string::npos);
  EXPECT_NE(error("").find("expected"), std::string::npos);
  EXPECT_EQ(error("tomorrow").rfind("--start: 'tomorrow': ", 0), 0u);
}

}  // namespace
}  // namespace pd
