#include "io/csv_writer.h"

#include <sstream>
#include <string>

#include "gtest/gtest.h"

namespace pd {
namespace {

TEST(CsvCell, PlainValueIsWrittenAsIs) {
  EXPECT_EQ(csv_cell("Alice"), "Alice");
  EXPECT_EQ(csv_cell(""), "");
  EXPECT_EQ(csv_cell("caf\xC3\xA9 O'Brien"), "caf\xC3\xA9 O'Brien");
}

TEST(CsvCell, ValueWithCommaQuoteOrLineEndIsQuoted) {
  EXPECT_EQ(csv_cell("Smith, Jr"), "\"Smith, Jr\"");
  EXPECT_EQ(csv_cell("say \"hi\""), "\"say \"\"hi\"\"\"");
  EXPECT_EQ(csv_cell("\""), "\"\"\"\"");
  EXPECT_EQ(csv_cell("a\nb"), "\"a\nb\"");
  EXPECT_EQ(csv_cell("a\rb"), "\"a\rb\"");
  EXPECT_EQ(csv_cell("a\r\nb"), "\"a\r\nb\"");
}

TEST(CsvCell, EachFormulaTriggerIsNeutralisedWithAnApostrophe) {
  EXPECT_EQ(csv_cell("=1+2"), "'=1+2");
  EXPECT_EQ(csv_cell("+12025550123"), "'+12025550123");
  EXPECT_EQ(csv_cell("-5"), "'-5");
  EXPECT_EQ(csv_cell("@SUM(A1)"), "\"'@SUM(A1)\"");  // '(' also forces quoting
  EXPECT_EQ(csv_cell("\tx"), "'\tx");
  EXPECT_EQ(csv_cell("\rx"), "\"'\rx\"");  // CR also forces quoting
}

TEST(CsvCell, NeutralisedCellIsStillQuotedWhenNeeded) {
  EXPECT_EQ(csv_cell("=HYPERLINK(\"http://x\",\"y\")"),
            "\"'=HYPERLINK(\"\"http://x\"\",\"\"y\"\")\"");
  EXPECT_EQ(csv_cell("-1,2"), "\"'-1,2\"");
}

TEST(CsvCell, SemicolonsAndShellSeparatorsAreQuoted) {
  // A results file given to a shell must not run the command a custID spells.
  EXPECT_EQ(csv_cell("x;touch /tmp/p;#"), "\"x;touch /tmp/p;#\"");
  EXPECT_EQ(csv_cell("x|sh"), "\"x|sh\"");
  EXPECT_EQ(csv_cell("x&sh"), "\"x&sh\"");
  EXPECT_EQ(csv_cell("x>f"), "\"x>f\"");
  EXPECT_EQ(csv_cell("x<f"), "\"x<f\"");
  EXPECT_EQ(csv_cell("Smith (Jr)"), "\"Smith (Jr)\"");
}

TEST(CsvCell, TriggerCharacterAfterTheStartIsHarmless) {
  EXPECT_EQ(csv_cell("a=b"), "a=b");
  EXPECT_EQ(csv_cell(" =1"), " =1");
  EXPECT_EQ(csv_cell("x-y@z"), "x-y@z");
}

TEST(CsvCell, WithoutNeutralisingTrustedValuesAreLeftAlone) {
  EXPECT_EQ(csv_cell("+12025550123", false), "+12025550123");
  EXPECT_EQ(csv_cell("-5", false), "-5");
  EXPECT_EQ(csv_cell("=1,2", false), "\"=1,2\"");
}

TEST(CsvWriter, SeparatesCellsWithCommasAndEndsRowsWithCrlf) {
  std::ostringstream out;
  CsvWriter writer(out);
  writer.cell("custID").cell("phone").cell("note");
  writer.end_row();
  writer.cell("C1").cell("+12025550123", false).cell("Smith, Jr");
  writer.end_row();
  EXPECT_EQ(out.str(), "custID,phone,note\r\nC1,+12025550123,\"Smith, Jr\"\r\n");
}

TEST(CsvWriter, NeutralisesCellsByDefault) {
  std::ostringstream out;
  CsvWriter writer(out);
  writer.cell("C1").cell("=cmd|' /C calc'!A0").cell("@x");
  writer.end_row();
  EXPECT_EQ(out.str(), "C1,\"'=cmd|' /C calc'!A0\",'@x\r\n");  // '|' also quotes
}

TEST(CsvWriter, EmptyFirstCellIsQuotedSoTheRowIsNotBlank) {
  std::ostringstream out;
  CsvWriter writer(out);
  writer.cell("");
  writer.end_row();
  writer.cell("").cell("");
  writer.end_row();
  writer.cell("a").cell("");
  writer.end_row();
  EXPECT_EQ(out.str(), "\"\"\r\n\"\",\r\na,\r\n");
}

}  // namespace
}  // namespace pd
