#include "io/csv_reader.h"

#include <sys/resource.h>

#include <algorithm>
#include <cstring>
#include <sstream>
#include <stdexcept>
#include <streambuf>
#include <string>
#include <utility>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "io/csv_writer.h"

namespace pd {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

std::vector<CsvRecord> read_all(const std::string& text, CsvLimits limits = {}) {
  std::istringstream in(text);
  CsvReader reader(in, limits);
  std::vector<CsvRecord> records;
  CsvRecord record;
  while (reader.next(record)) records.push_back(record);
  return records;
}

// The record as one readable value, so a failure shows all of it.
struct Summary {
  int64_t line;
  std::vector<std::string> fields;
  std::string error;
  bool blank;
  bool operator==(const Summary&) const = default;
};

std::ostream& operator<<(std::ostream& os, const Summary& s) {
  os << "{line " << s.line << ", fields [";
  for (const auto& f : s.fields) os << '<' << f << '>';
  return os << "], error '" << s.error << "'" << (s.blank ? ", blank" : "") << "}";
}

Summary ok(int64_t line, std::vector<std::string> fields) {
  return {line, std::move(fields), "", false};
}
Summary bad(int64_t line, std::string error) { return {line, {}, std::move(error), false}; }
Summary blank(int64_t line) { return {line, {}, "", true}; }

std::vector<Summary> summarise(const std::string& text, CsvLimits limits = {}) {
  std::vector<Summary> out;
  for (const auto& r : read_all(text, limits)) out.push_back({r.line, r.fields, r.error, r.blank});
  return out;
}

// Produces `size` bytes of `fill` followed by `tail`, without holding them.
class GeneratedBuf : public std::streambuf {
 public:
  GeneratedBuf(std::string head, char fill, uint64_t size, std::string tail)
      : head_(std::move(head)), fill_(fill), remaining_(size), tail_(std::move(tail)) {}

 protected:
  int_type underflow() override {
    if (gptr() < egptr()) return traits_type::to_int_type(*gptr());
    if (!head_.empty()) {
      chunk_ = std::move(head_);
      head_.clear();
    } else if (remaining_ > 0) {
      const auto n = static_cast<size_t>(std::min<uint64_t>(remaining_, 1 << 16));
      chunk_.assign(n, fill_);
      remaining_ -= n;
    } else if (!tail_.empty()) {
      chunk_ = std::move(tail_);
      tail_.clear();
    } else {
      return traits_type::eof();
    }
    setg(chunk_.data(), chunk_.data(), chunk_.data() + chunk_.size());
    return traits_type::to_int_type(*gptr());
  }

 private:
  std::string head_;
  char fill_;
  uint64_t remaining_;
  std::string tail_;
  std::string chunk_;
};

// Gives `data`, then fails as a disk or network read would.
class BreakingBuf : public std::streambuf {
 public:
  explicit BreakingBuf(std::string data) : data_(std::move(data)) {
    setg(data_.data(), data_.data(), data_.data() + data_.size());
  }

 protected:
  int_type underflow() override { throw std::runtime_error("device gone"); }

 private:
  std::string data_;
};

long max_rss_kib() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_maxrss;
}

TEST(CsvReader, ReadsRecordsWithTheirLineNumbers) {
  EXPECT_THAT(summarise("custID,phone\nC1,+12025550123\nC2,2025550124\n"),
              ElementsAre(ok(1, {"custID", "phone"}), ok(2, {"C1", "+12025550123"}),
                          ok(3, {"C2", "2025550124"})));
}

TEST(CsvReader, QuotedFieldMayContainCommas) {
  EXPECT_THAT(summarise("C1,\"Smith, Jr\",x\n"), ElementsAre(ok(1, {"C1", "Smith, Jr", "x"})));
}

TEST(CsvReader, DoubledQuoteInsideQuotesIsOneQuote) {
  EXPECT_THAT(summarise("\"say \"\"hi\"\"\",\"\"\"\",\"\"\n"),
              ElementsAre(ok(1, {"say \"hi\"", "\"", ""})));
}

TEST(CsvReader, QuotedFieldMaySpanLines) {
  EXPECT_THAT(
      summarise("a,\"one\ntwo\",b\n"
                "c,\"x\r\ny\r\nz\"\r\n"
                "d,e\n"),
      ElementsAre(ok(1, {"a", "one\ntwo", "b"}), ok(3, {"c", "x\r\ny\r\nz"}), ok(6, {"d", "e"})));
}

TEST(CsvReader, LoneCarriageReturnInsideQuotesIsKept) {
  EXPECT_THAT(summarise("\"a\rb\",c\n"), ElementsAre(ok(1, {"a\rb", "c"})));
}

TEST(CsvReader, SkipsUtf8ByteOrderMarkAtStart) {
  EXPECT_THAT(summarise("\xEF\xBB\xBF"
                        "custID,phone\n"),
              ElementsAre(ok(1, {"custID", "phone"})));
}

TEST(CsvReader, ByteOrderMarkAfterTheStartIsData) {
  EXPECT_THAT(summarise("a\n\xEF\xBB\xBF"
                        "b\n"),
              ElementsAre(ok(1, {"a"}), ok(2, {"\xEF\xBB\xBF"
                                               "b"})));
}

TEST(CsvReader, InputOfOnlyAByteOrderMarkHasNoRecords) {
  EXPECT_THAT(summarise("\xEF\xBB\xBF"), IsEmpty());
}

TEST(CsvReader, EmptyInputHasNoRecords) { EXPECT_THAT(summarise(""), IsEmpty()); }

TEST(CsvReader, AcceptsCrlfAndLfLineEndsMixed) {
  EXPECT_THAT(summarise("a,b\r\nc,d\ne,f\r\n"),
              ElementsAre(ok(1, {"a", "b"}), ok(2, {"c", "d"}), ok(3, {"e", "f"})));
}

TEST(CsvReader, LastRecordMayLackLineEnd) {
  EXPECT_THAT(summarise("a,b\nc,d"), ElementsAre(ok(1, {"a", "b"}), ok(2, {"c", "d"})));
  EXPECT_THAT(summarise("a,\"b\nc\""), ElementsAre(ok(1, {"a", "b\nc"})));
  EXPECT_THAT(summarise("a,"), ElementsAre(ok(1, {"a", ""})));
}

TEST(CsvReader, TrailingLineEndAddsNoRecord) {
  EXPECT_THAT(summarise("a\n"), ElementsAre(ok(1, {"a"})));
  EXPECT_THAT(summarise("a\r\n"), ElementsAre(ok(1, {"a"})));
}

TEST(CsvReader, BlankLineIsABlankRecordWithNoFields) {
  EXPECT_THAT(summarise("a\n\nb\r\n\r\nc\n\n"),
              ElementsAre(ok(1, {"a"}), blank(2), ok(3, {"b"}), blank(4), ok(5, {"c"}), blank(6)));
  EXPECT_THAT(summarise("\n"), ElementsAre(blank(1)));
}

TEST(CsvReader, EmptyFieldsAreNotBlank) {
  EXPECT_THAT(summarise("\"\"\n,\n"), ElementsAre(ok(1, {""}), ok(2, {"", ""})));
}

TEST(CsvReader, NextReturnsFalseAtEndAndLeavesRecordUntouched) {
  std::istringstream in("a,b\n");
  CsvReader reader(in);
  CsvRecord record;
  ASSERT_TRUE(reader.next(record));
  EXPECT_FALSE(reader.next(record));
  EXPECT_FALSE(reader.next(record));
  EXPECT_EQ(record.line, 1);
  EXPECT_THAT(record.fields, ElementsAre("a", "b"));
  EXPECT_EQ(reader.bytes_read(), 4u);
}

TEST(CsvReader, RecordReusedAcrossCallsShrinksToTheNewFieldCount) {
  std::istringstream in("a,b,c\nd\n");
  CsvReader reader(in);
  CsvRecord record;
  ASSERT_TRUE(reader.next(record));
  ASSERT_TRUE(reader.next(record));
  EXPECT_THAT(record.fields, ElementsAre("d"));
}

TEST(CsvReader, UnterminatedQuoteIsReportedAtTheRecordStartAndEndsInput) {
  EXPECT_THAT(summarise("a,b\nc,\"d\ne,f\ng,h\n"),
              ElementsAre(ok(1, {"a", "b"}), bad(2, "unterminated quoted field")));
}

TEST(CsvReader, CharacterAfterClosingQuoteIsErrorAndReaderResyncs) {
  EXPECT_THAT(summarise("\"a\"b,c\n\"x\" ,y\nok,1\n"),
              ElementsAre(bad(1, "unexpected character after closing quote"),
                          bad(2, "unexpected character after closing quote"), ok(3, {"ok", "1"})));
}

TEST(CsvReader, QuoteInsideUnquotedFieldIsErrorAndReaderResyncs) {
  // The stray quote must not be taken as opening a field that runs on.
  EXPECT_THAT(summarise("C1,5\" screen,x\nC2,y\n"),
              ElementsAre(bad(1, "quote inside an unquoted field"), ok(2, {"C2", "y"})));
}

TEST(CsvReader, LoneCarriageReturnOutsideQuotesIsError) {
  EXPECT_THAT(summarise("a\rb,c\nd\n\"q\"\r\r\ne\r"),
              ElementsAre(bad(1, "carriage return not followed by line feed"), ok(2, {"d"}),
                          bad(3, "carriage return not followed by line feed"),
                          bad(4, "carriage return not followed by line feed")));
}

TEST(CsvReader, FieldLongerThanLimitIsError) {
  const std::string at_limit(4096, 'x');
  const std::string over_limit(4097, 'x');
  EXPECT_THAT(summarise(at_limit + "\n" + over_limit + ",b\nc\n"),
              ElementsAre(ok(1, {at_limit}), bad(2, "field longer than 4096 bytes"), ok(3, {"c"})));
}

TEST(CsvReader, OversizeQuotedFieldIsSkippedToItsClosingQuote) {
  CsvLimits limits;
  limits.max_field_bytes = 8;
  // The line ends inside the long field belong to it, so "b" is not a record.
  EXPECT_THAT(
      summarise("\"0123456789\"\"\na\nb\",z\nc,d\n\"1234567\"\"\"\n\"12345678\"\"\"\ne\n", limits),
      ElementsAre(bad(1, "field longer than 8 bytes"), ok(4, {"c", "d"}), ok(5, {"1234567\""}),
                  bad(6, "field longer than 8 bytes"), ok(7, {"e"})));
}

TEST(CsvReader, OversizeFieldKeepsMemoryBounded) {
  constexpr uint64_t kBytes = 48 << 20;
  const long rss_before = max_rss_kib();
  {
    GeneratedBuf buf("a,", 'x', kBytes, "\nb,c\n");
    std::istream in(&buf);
    CsvReader reader(in);
    CsvRecord record;
    ASSERT_TRUE(reader.next(record));
    EXPECT_EQ(record.error, "field longer than 4096 bytes");
    ASSERT_TRUE(reader.next(record));
    EXPECT_EQ(record.line, 2);
    EXPECT_THAT(record.fields, ElementsAre("b", "c"));
    EXPECT_FALSE(reader.next(record));
    EXPECT_EQ(reader.bytes_read(), kBytes + 7);
  }
  {
    GeneratedBuf buf("a,\"", 'x', kBytes, "");
    std::istream in(&buf);
    CsvReader reader(in);
    CsvRecord record;
    ASSERT_TRUE(reader.next(record));
    EXPECT_EQ(record.error, "unterminated quoted field");
    EXPECT_FALSE(reader.next(record));
  }
  // Holding either field would have grown the peak by more than its size.
  EXPECT_LT(max_rss_kib() - rss_before, 16 << 10);
}

TEST(CsvReader, RecordLongerThanLimitIsError) {
  CsvLimits limits;
  limits.max_record_bytes = 10;
  EXPECT_THAT(summarise("0123,56789\n0123,567890\n\"0\n2\",\"5678\n0\"\na\n", limits),
              ElementsAre(ok(1, {"0123", "56789"}), bad(2, "record longer than 10 bytes"),
                          bad(3, "record longer than 10 bytes"), ok(6, {"a"})));
}

TEST(CsvReader, MoreFieldsThanLimitIsError) {
  CsvLimits limits;
  limits.max_fields = 3;
  EXPECT_THAT(summarise("a,b,c\na,b,c,d\n,,,\ne\n", limits),
              ElementsAre(ok(1, {"a", "b", "c"}), bad(2, "more than 3 fields"),
                          bad(3, "more than 3 fields"), ok(4, {"e"})));
}

TEST(CsvReader, InvalidUtf8IsError) {
  EXPECT_THAT(summarise("a,\xFF\nb,\"x\xC3\"\nc,\xE2\x82\n\xC3\xA9,ok\n"),
              ElementsAre(bad(1, "invalid UTF-8"), bad(2, "invalid UTF-8"), bad(3, "invalid UTF-8"),
                          ok(4, {"\xC3\xA9", "ok"})));
}

TEST(CsvReader, NulByteIsError) {
  EXPECT_THAT(summarise(std::string("a\0b,c\n\"x\0\ny\",z\nd\n", 17)),
              ElementsAre(bad(1, "NUL byte"), bad(2, "NUL byte"), ok(4, {"d"})));
}

TEST(CsvReader, AcceptsMultibyteUtf8) {
  EXPECT_THAT(summarise("Jos\xC3\xA9,\xE2\x82\xAC,\xF0\x9F\x93\x9E\n"),
              ElementsAre(ok(1, {"Jos\xC3\xA9", "\xE2\x82\xAC", "\xF0\x9F\x93\x9E"})));
}

TEST(CsvReader, ReaderResyncsAfterEachKindOfError) {
  CsvLimits limits;
  limits.max_field_bytes = 5;
  limits.max_fields = 2;
  EXPECT_THAT(summarise("1,ok\n\"x\"y\n2,ok\nab\"c\n3,ok\na\rb\n4,ok\n123456\n5,ok\na,b,c\n6,ok\n"
                        "\xC0\x80\n7,ok\n",
                        limits),
              ElementsAre(ok(1, {"1", "ok"}), bad(2, "unexpected character after closing quote"),
                          ok(3, {"2", "ok"}), bad(4, "quote inside an unquoted field"),
                          ok(5, {"3", "ok"}), bad(6, "carriage return not followed by line feed"),
                          ok(7, {"4", "ok"}), bad(8, "field longer than 5 bytes"),
                          ok(9, {"5", "ok"}), bad(10, "more than 2 fields"), ok(11, {"6", "ok"}),
                          bad(12, "invalid UTF-8"), ok(13, {"7", "ok"})));
}

TEST(CsvReader, TokensSplitAcrossReadBlocksAreReadWhole) {
  // Slide CR LF, doubled quotes and quoted line ends across the 64 KiB read
  // block boundary one byte at a time, behind one long filler field.
  CsvLimits limits;
  limits.max_field_bytes = limits.max_record_bytes = 1 << 20;
  const std::string tail = "\"a\"\"b\",c\r\n\"x\r\ny\",\"\"\r\nlast\r\n";
  for (size_t pad = (64 << 10) - 40; pad <= (64 << 10) + 4; ++pad) {
    const std::string filler(pad - 1, 'f');
    SCOPED_TRACE(pad);
    EXPECT_THAT(
        summarise(filler + "\n" + tail, limits),
        ElementsAre(ok(1, {filler}), ok(2, {"a\"b", "c"}), ok(3, {"x\r\ny", ""}), ok(5, {"last"})));
  }
}

TEST(CsvReader, ReadsBackWhatTheWriterWrote) {
  // Over a megabyte of awkward cells: every block boundary lands somewhere new.
  const std::vector<std::string> pieces = {
      "plain",    "with,comma", "\"quoted\"",  "two\r\nlines",
      "lf\nonly", "",           "caf\xC3\xA9", "\xF0\x9F\x93\x9E",
      "\"",       ",",          "+12025550123"};
  std::vector<std::vector<std::string>> rows;
  std::ostringstream out;
  CsvWriter writer(out);
  for (size_t r = 0; r < 20000; ++r) {
    auto& row = rows.emplace_back();
    for (size_t c = 0; c < 1 + r % 7; ++c) {
      row.push_back(pieces[(r * 7 + c * 3) % pieces.size()] + std::to_string(r % (c + 2)));
      writer.cell(row.back(), /*neutralise=*/false);
    }
    writer.end_row();
  }
  std::istringstream in(out.str());
  CsvReader reader(in);
  CsvRecord record;
  size_t r = 0;
  int64_t line = 1;
  while (reader.next(record)) {
    ASSERT_LT(r, rows.size());
    ASSERT_EQ(record.error, "") << "row " << r;
    ASSERT_EQ(record.line, line) << "row " << r;
    ASSERT_EQ(record.fields, rows[r]) << "row " << r;
    for (const auto& f : rows[r]) line += std::count(f.begin(), f.end(), '\n');
    ++line;
    ++r;
  }
  EXPECT_EQ(r, rows.size());
  EXPECT_EQ(reader.bytes_read(), out.str().size());
}

// `width`-byte lines "r<n>,xxx...\n", numbered from 1.
std::string numbered_lines(size_t count, size_t width) {
  std::string text;
  for (size_t i = 1; i <= count; ++i) {
    std::string line = "r" + std::to_string(i) + ",";
    line.resize(width - 1, 'x');
    text += line + "\n";
  }
  return text;
}

// Reads `text` through a stream that fails once it is used up; returns how
// many good records came first and the record after them.
std::pair<size_t, CsvRecord> read_until_failure(std::string text) {
  BreakingBuf buf(std::move(text));
  std::istream in(&buf);
  CsvReader reader(in);
  CsvRecord record;
  size_t good = 0;
  while (reader.next(record) && record.error.empty()) ++good;
  CsvRecord last = record;
  EXPECT_FALSE(reader.next(record));
  return {good, last};
}

TEST(CsvReader, ReadErrorIsReportedNotTakenForTheEnd) {
  // The read after the first 64 KiB block fails. libstdc++ then reports no
  // bytes at all from that read, so what the reader holds is the first block.
  {
    SCOPED_TRACE("failure in the middle of a record");
    const auto [good, last] = read_until_failure(numbered_lines(700, 100));
    EXPECT_EQ(good, 655u);  // 655 * 100 <= 65536 < 656 * 100
    EXPECT_EQ(last.line, 656);
    EXPECT_EQ(last.error, "read error: the input ended early");
  }
  {
    SCOPED_TRACE("failure between records");
    const auto [good, last] = read_until_failure(numbered_lines(600, 128));
    EXPECT_EQ(good, 512u);  // exactly one block
    EXPECT_EQ(last.line, 513);
    EXPECT_EQ(last.error, "read error: the input ended early");
  }
}

TEST(CsvUtf8, AcceptsEveryEncodingLengthAtItsBoundaries) {
  for (const char* s : {"", "plain ascii, longer than eight bytes", "\x7F", "\xC2\x80", "\xDF\xBF",
                        "\xE0\xA0\x80", "\xED\x9F\xBF", "\xEE\x80\x80", "\xEF\xBF\xBF",
                        "\xF0\x90\x80\x80", "\xF4\x8F\xBF\xBF", "12345678\xE2\x82\xAC"}) {
    EXPECT_TRUE(is_valid_utf8(s)) << ::testing::PrintToString(s);
  }
}

TEST(CsvUtf8, RejectsOverlongSurrogateOutOfRangeAndTruncated) {
  for (const char* s : {
           "\xC0\x80",
           "\xC1\xBF",  // overlong two-byte
           "\xE0\x80\x80",
           "\xE0\x9F\xBF",  // overlong three-byte
           "\xF0\x80\x80\x80",
           "\xF0\x8F\xBF\xBF",  // overlong four-byte
           "\xED\xA0\x80",
           "\xED\xBF\xBF",  // surrogates
           "\xF4\x90\x80\x80",
           "\xF5\x80\x80\x80",  // above U+10FFFF
           "\xFF",
           "\xFE",  // never valid
           "\x80",
           "a\xBF",  // stray continuation
           "\xC3",
           "\xE2\x82",
           "\xF0\x9F\x93",  // truncated at the end
           "\xE2\x28\xA1",
           "\xF0\x9F\x28\x9E",  // bad continuation
           "12345678\xC3",      // after the ASCII fast path
       }) {
    EXPECT_FALSE(is_valid_utf8(s)) << ::testing::PrintToString(s);
  }
}

}  // namespace
}  // namespace pd
