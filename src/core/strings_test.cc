#include "core/strings.h"

#include <gtest/gtest.h>

namespace pd {
namespace {

TEST(EscapeControlsTest, ControlCharactersBecomeVisibleEscapes) {
  EXPECT_EQ(escape_controls("na\x1b[2Jme"), "na\\x1b[2Jme");
  EXPECT_EQ(escape_controls("a\nb\tc\rd"), "a\\nb\\tc\\rd");
  EXPECT_EQ(escape_controls(std::string("nul\0here", 8)), "nul\\x00here");
  EXPECT_EQ(escape_controls("del\x7f"), "del\\x7f");
  // C1 controls (e.g. CSI, U+009B) in UTF-8 act like ESC [ on many terminals.
  EXPECT_EQ(escape_controls("x\xc2\x9b"
                            "31m"),
            "x\\u009b31m");
}

TEST(EscapeControlsTest, PrintableTextAndUtf8PassUnchanged) {
  EXPECT_EQ(escape_controls("Zoë, 東京 +44 (0)20 \\ \"q\""), "Zoë, 東京 +44 (0)20 \\ \"q\"");
  EXPECT_EQ(escape_controls("\xc2\xa0nbsp"), "\xc2\xa0nbsp");
  EXPECT_EQ(escape_controls(""), "");
}

}  // namespace
}  // namespace pd
