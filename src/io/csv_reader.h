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
  int64_t line = 0;                 // physical line where the record starts (1-based)
  std::vector<std::string> fields;  // valid only when error is empty
  std::string error;                // non-empty: why this record was rejected
  bool blank = false;               // an empty line (no fields); callers may reject it
};

class CsvReader {
 public:
  explicit CsvReader(std::istream& in, CsvLimits limits = {});

  // Reads the next record into `out`. Returns false at end of input (and
  // leaves `out` untouched). A malformed record comes back with `error` set
  // ("unterminated quoted field", "field longer than 4096 bytes",
  // "invalid UTF-8", "unexpected character after closing quote", ...); the
  // reader has already skipped to the start of the next record (after an
  // error inside quotes, past the closing quote first). If reading the
  // stream fails (badbit), the record that ran into it says "read error: the
  // input ended early" and the input ends there.
  // Reuses `out`'s storage, so keep one CsvRecord across calls.
  bool next(CsvRecord& out);

  // Bytes consumed so far (for progress reporting).
  uint64_t bytes_read() const { return bytes_read_; }

 private:
  // Makes at least `n` unread bytes available (n is small); false when the
  // input ends first.
  bool fill(size_t n);
  // Moves the unread bytes to the front and reads the next block; false when
  // nothing more could be read.
  bool refill();
  // Read one field's content; pos_ is left on the byte after it. On failure
  // the error is set and the reader has resynchronised.
  bool read_unquoted(std::string& field, CsvRecord& out);
  bool read_quoted(std::string& field, CsvRecord& out);
  // Appends buf_[pos_, end) to `field`, enforcing the limits.
  bool take(std::string& field, size_t end, CsvRecord& out, bool in_quotes);
  // Records `why` and skips to the start of the next record.
  void fail(CsvRecord& out, const std::string& why, bool in_quotes);
  bool skip_quoted();  // false when the input ends before the closing quote
  void skip_rest_of_line();
  uint64_t offset() const { return base_ + pos_; }

  std::istream& in_;
  CsvLimits limits_;
  std::vector<char> buf_;
  size_t pos_ = 0;     // next unread byte in buf_
  size_t len_ = 0;     // bytes of buf_ holding input
  uint64_t base_ = 0;  // stream offset of buf_[0]
  uint64_t record_start_ = 0;
  bool eof_ = false;         // the stream has nothing more to give
  bool read_error_ = false;  // ... because reading it failed (badbit)
  bool hit_end_ = false;     // the current record ran into the end of input
  bool finished_ = false;
  bool at_start_ = true;
  int64_t line_ = 1;
  uint64_t bytes_read_ = 0;
  std::string field_too_long_;  // messages built once from the limits
  std::string record_too_long_;
  std::string too_many_fields_;
};

// True when `s` is well-formed UTF-8 (no overlongs, no surrogates, <= U+10FFFF).
bool is_valid_utf8(std::string_view s);

}  // namespace pd
