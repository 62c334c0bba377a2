// Streaming RFC 4180 CSV reader for dialing lists.
//
// Hand-written rather than taken from a library because the import needs
// what the packaged CSV libraries (libcsv, ...) do not give: the physical
// line where each record starts, per-record error recovery (a bad record is
// reported and skipped, the reader goes on at the next line), byte limits on
// fields and records, and strict UTF-8 checking, all at >1M records/s.
//
// Accepts: quoted fields with commas, doubled quotes and newlines; a UTF-8
// BOM at the start; CRLF or LF line ends (a lone CR inside an unquoted field
// is an error). Memory is bounded by the limits, whatever the input size.
// Thread-safety: one reader per thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <istream>
#include <string>
#include <string_view>
#include <vector>

namespace pd {

struct CsvLimits {
  size_t max_field_bytes = 4096;
  size_t max_record_bytes = 64 * 1024;
  size_t max_fields = 256;
};

// One record, or one error, from the input.
struct CsvRecord {
  int64_t line = 0;                  // physical line where the record starts (1-based)
  std::vector<std::string> fields;   // valid only when error is empty
  std::string error;                 // non-empty: why this record was rejected
  bool blank = false;                // an empty line (no fields); callers may reject it
};

class CsvReader {
 public:
  explicit CsvReader(std::istream& in, CsvLimits limits = {});

  // Reads the next record into `out`. Returns false at end of input (and
  // leaves `out` untouched). A malformed record comes back with `error` set
  // ("unterminated quoted field", "field longer than 4096 bytes",
  // "invalid UTF-8", "unexpected character after closing quote", ...); the
  // reader has already skipped to the start of the next record.
  // Reuses `out`'s storage, so keep one CsvRecord across calls.
  bool next(CsvRecord& out);

  // Bytes consumed so far (for progress reporting).
  uint64_t bytes_read() const { return bytes_read_; }

 private:
  // Buffered byte access; returns -1 at end of input.
  int get();
  int peek();
  void skip_rest_of_line();

  std::istream& in_;
  CsvLimits limits_;
  std::vector<char> buf_;
  size_t pos_ = 0;
  size_t len_ = 0;
  bool eof_ = false;
  bool at_start_ = true;
  int64_t line_ = 1;
  uint64_t bytes_read_ = 0;
};

// True when `s` is well-formed UTF-8 (no overlongs, no surrogates, <= U+10FFFF).
bool is_valid_utf8(std::string_view s);

}  // namespace pd
