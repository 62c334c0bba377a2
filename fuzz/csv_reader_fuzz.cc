// Fuzzes the CSV reader (io/csv_reader.h) with any bytes, and checks what
// its header promises: every record starts on a later line than the one
// before, a good record's fields are within the limits and valid UTF-8, a
// bad one has no fields, the reader consumes the whole input and ends, and a
// stream that fails ends in a "read error" record.
//
// Each input is read four ways, so one corpus of plain CSV files reaches
// every path: as it is; with tiny limits (so the limit paths are hit by
// short inputs); placed so it straddles the reader's 64 KiB block boundary
// (behind one bad line, which the reader skips at memchr speed); and
// from a stream whose read fails after the last byte.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <istream>
#include <stdexcept>
#include <streambuf>
#include <string>
#include <string_view>

#include "io/csv_reader.h"

namespace {

// A streambuf over bytes held elsewhere (no copy, unlike istringstream).
// With `fail_at_end`, reading past them fails (badbit), as reading a file
// does on an I/O error.
class ViewBuf : public std::streambuf {
 public:
  ViewBuf(std::string_view bytes, bool fail_at_end) : fail_at_end_(fail_at_end) {
    char* p = const_cast<char*>(bytes.data());
    setg(p, p, p + bytes.size());
  }

 protected:
  int_type underflow() override {
    if (fail_at_end_) throw std::runtime_error("injected read error");
    return traits_type::eof();
  }

 private:
  bool fail_at_end_;
};

void check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "csv_reader_fuzz: broken promise: %s\n", what);
    std::abort();
  }
}

void read_all(std::string_view bytes, const pd::CsvLimits& limits, bool read_fails) {
  ViewBuf buf(bytes, read_fails);
  std::istream in(&buf);
  pd::CsvReader reader(in, limits);
  pd::CsvRecord rec;
  int64_t newlines = 0;
  for (char c : bytes) newlines += c == '\n';
  int64_t last_line = 0;
  int64_t records = 0;
  bool last_was_read_error = false;
  while (reader.next(rec)) {
    ++records;
    check(records <= newlines + 2, "more records than lines");
    check(rec.line > last_line, "a record starts on the line of the one before");
    check(rec.line <= newlines + 1, "a record starts past the last line");
    last_line = rec.line;
    last_was_read_error = rec.error == "read error: the input ended early";
    if (!rec.error.empty()) {
      check(rec.fields.empty(), "a rejected record has fields");
      continue;
    }
    if (rec.blank) {
      check(rec.fields.empty(), "a blank line has fields");
      continue;
    }
    check(!rec.fields.empty(), "a record without fields");
    check(rec.fields.size() <= limits.max_fields, "more fields than the limit");
    size_t bytes_in_record = 0;
    for (const std::string& f : rec.fields) {
      check(f.size() <= limits.max_field_bytes, "a field over the limit");
      check(pd::is_valid_utf8(f), "a field that is not UTF-8");
      bytes_in_record += f.size();
    }
    check(bytes_in_record <= limits.max_record_bytes, "a record over the limit");
  }
  check(!reader.next(rec), "the reader went on after the end");
  check(reader.bytes_read() <= bytes.size(), "read more bytes than there are");
  if (read_fails) {
    check(last_was_read_error, "a failed read did not end in a read error");
  } else {
    check(reader.bytes_read() == bytes.size(), "the reader stopped before the end");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  read_all(input, pd::CsvLimits{}, false);
  read_all(input, pd::CsvLimits{.max_field_bytes = 7, .max_record_bytes = 24, .max_fields = 3},
           false);
  read_all(input, pd::CsvLimits{}, true);
  if (size > 0) {
    constexpr size_t kBlock = 64 * 1024;  // CsvReader's block size
    const size_t before_boundary = 1 + size % std::min<size_t>(size, 64);
    // One buffer for every run: the over-long line, then this input.
    static std::string padded;
    static size_t built_prefix = 0;
    const size_t prefix = kBlock - before_boundary;
    if (prefix != built_prefix) {
      // A NUL first: the reader rejects the line at once and skips the rest
      // with memchr, instead of scanning 64 KiB a byte at a time.
      padded.assign(prefix - 1, 'x');
      padded[0] = '\0';
      padded += '\n';
      built_prefix = prefix;
    }
    padded.resize(prefix);
    padded.append(input);
    read_all(padded, pd::CsvLimits{}, false);
  }
  return 0;
}
