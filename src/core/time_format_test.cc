#include "core/time_format.h"

#include <gtest/gtest.h>

namespace pd {
namespace {

TEST(TimeFormat, FormatsUtcWithMilliseconds) {
  const WallTime t{Millis{1'764'073'805'123LL}};
  EXPECT_EQ(format_iso8601(t), "2025-11-25T12:30:05.123Z");
  EXPECT_EQ(format_iso8601(WallTime{}), "1970-01-01T00:00:00.000Z");
}

TEST(TimeFormat, ParsesWhatItFormats) {
  const WallTime t{Millis{1'764'073'805'123LL}};
  EXPECT_EQ(parse_iso8601(format_iso8601(t)), t);
  EXPECT_EQ(parse_iso8601("2025-11-25T12:30:05Z"), WallTime{Millis{1'764'073'805'000LL}});
  EXPECT_FALSE(parse_iso8601("2025-13-25T12:30:05Z").has_value());
  EXPECT_FALSE(parse_iso8601("yesterday").has_value());
}

}  // namespace
}  // namespace pd
