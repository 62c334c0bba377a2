#include "io/csv_reader.h"

#include <array>
#include <cstring>

namespace pd {
namespace {

// Large enough that the per-block cost vanishes, small enough to stay in L2.
constexpr size_t kBlockBytes = 64 * 1024;

using ByteSet = std::array<bool, 256>;

constexpr ByteSet make_byte_set(std::string_view bytes) {
  ByteSet set{};
  for (char c : bytes) set[static_cast<unsigned char>(c)] = true;
  return set;
}

// Bytes that end a run of plain content in an unquoted / a quoted field.
// Everything else (including UTF-8 lead and continuation bytes) is copied
// in bulk and checked once per field.
constexpr ByteSet kUnquotedStop = make_byte_set(std::string_view(",\n\r\"\0", 5));
constexpr ByteSet kQuotedStop = make_byte_set(std::string_view("\"\n\0", 3));

constexpr char kBom[] = "\xEF\xBB\xBF";

}  // namespace

CsvReader::CsvReader(std::istream& in, CsvLimits limits)
    : in_(in),
      limits_(limits),
      buf_(kBlockBytes),
      field_too_long_("field longer than " + std::to_string(limits.max_field_bytes) + " bytes"),
      record_too_long_("record longer than " + std::to_string(limits.max_record_bytes) + " bytes"),
      too_many_fields_("more than " + std::to_string(limits.max_fields) + " fields") {}

bool CsvReader::refill() {
  if (eof_) {
    hit_end_ = true;
    return false;
  }
  const size_t keep = len_ - pos_;
  if (keep > 0 && pos_ > 0) std::memmove(buf_.data(), buf_.data() + pos_, keep);
  base_ += pos_;
  pos_ = 0;
  len_ = keep;
  in_.read(buf_.data() + len_, static_cast<std::streamsize>(buf_.size() - len_));
  const auto got = static_cast<size_t>(in_.gcount());
  len_ += got;
  if (!in_) {
    eof_ = true;
    read_error_ = in_.bad();
  }
  if (got == 0) hit_end_ = true;
  return got > 0;
}

bool CsvReader::fill(size_t n) {
  while (len_ - pos_ < n) {
    if (!refill()) return false;
  }
  return true;
}

bool CsvReader::next(CsvRecord& out) {
  if (finished_) return false;
  if (at_start_) {
    at_start_ = false;
    fill(3);
    if (len_ - pos_ >= 3 && std::memcmp(buf_.data() + pos_, kBom, 3) == 0) pos_ += 3;
  }
  hit_end_ = false;
  if (!fill(1)) {
    finished_ = true;
    bytes_read_ = offset();
    if (!read_error_) return false;
    // The input broke off after a complete record: say so rather than
    // letting a truncated file pass for a whole one.
    out.line = line_;
    out.fields.clear();
    out.blank = false;
    out.error = "read error: the input ended early";
    return true;
  }

  out.line = line_;
  out.error.clear();
  out.blank = false;
  record_start_ = offset();

  const char first = buf_[pos_];
  if (first == '\n' || (first == '\r' && fill(2) && buf_[pos_ + 1] == '\n')) {
    pos_ += first == '\n' ? 1 : 2;
    ++line_;
    out.fields.clear();
    out.blank = true;
    bytes_read_ = offset();
    return true;
  }

  size_t count = 0;
  for (;;) {
    // Reuse the strings already in `out` so steady state allocates nothing.
    if (count == out.fields.size()) out.fields.emplace_back();
    std::string& field = out.fields[count++];
    field.clear();

    const bool quoted = fill(1) && buf_[pos_] == '"';
    if (quoted) ++pos_;
    if (!(quoted ? read_quoted(field, out) : read_unquoted(field, out))) break;
    if (!is_valid_utf8(field)) {
      fail(out, "invalid UTF-8", false);
      break;
    }

    if (!fill(1)) break;  // the last record may lack a line end
    const char c = buf_[pos_];
    if (c == ',') {
      if (count == limits_.max_fields) {
        fail(out, too_many_fields_, false);
        break;
      }
      ++pos_;
      continue;
    }
    if (c == '\n') {
      ++pos_;
      ++line_;
      break;
    }
    if (c == '\r') {
      if (fill(2) && buf_[pos_ + 1] == '\n') {
        pos_ += 2;
        ++line_;
        break;
      }
      fail(out, "carriage return not followed by line feed", false);
      break;
    }
    if (quoted) {
      fail(out, "unexpected character after closing quote", false);
    } else if (c == '"') {
      fail(out, "quote inside an unquoted field", false);
    } else {
      fail(out, "NUL byte", false);
    }
    break;
  }

  if (read_error_ && hit_end_) {
    out.error = "read error: the input ended early";
    finished_ = true;
  }
  if (out.error.empty()) {
    out.fields.resize(count);
  } else {
    out.fields.clear();
  }
  bytes_read_ = offset();
  return true;
}

bool CsvReader::take(std::string& field, size_t end, CsvRecord& out, bool in_quotes) {
  const size_t n = end - pos_;
  if (n == 0) return true;
  if (n > limits_.max_field_bytes - field.size()) {
    // Drop the bytes instead of growing the field: memory stays bounded.
    pos_ = end;
    fail(out, field_too_long_, in_quotes);
    return false;
  }
  field.append(buf_.data() + pos_, n);
  pos_ = end;
  if (offset() - record_start_ > limits_.max_record_bytes) {
    fail(out, record_too_long_, in_quotes);
    return false;
  }
  return true;
}

bool CsvReader::read_unquoted(std::string& field, CsvRecord& out) {
  for (;;) {
    const char* data = buf_.data();
    size_t i = pos_;
    while (i < len_ && !kUnquotedStop[static_cast<unsigned char>(data[i])]) ++i;
    if (!take(field, i, out, false)) return false;
    if (i < len_ || !refill()) return true;
  }
}

bool CsvReader::read_quoted(std::string& field, CsvRecord& out) {
  for (;;) {
    const char* data = buf_.data();
    size_t i = pos_;
    while (i < len_) {
      const auto c = static_cast<unsigned char>(data[i]);
      if (!kQuotedStop[c]) {
        ++i;
      } else if (c == '\n') {  // kept in the field, but it starts a new physical line
        ++line_;
        ++i;
      } else {
        break;
      }
    }
    if (!take(field, i, out, true)) return false;
    if (i == len_) {
      if (refill()) continue;
      out.error = "unterminated quoted field";
      return false;
    }
    if (data[i] == '\0') {
      fail(out, "NUL byte", true);
      return false;
    }
    ++pos_;  // a quote: it closes the field unless it is doubled
    if (!fill(1) || buf_[pos_] != '"') return true;
    ++pos_;
    if (field.size() >= limits_.max_field_bytes) {
      fail(out, field_too_long_, true);
      return false;
    }
    field.push_back('"');
  }
}

void CsvReader::fail(CsvRecord& out, const std::string& why, bool in_quotes) {
  out.error = why;
  // Inside quotes the record goes on to the closing quote, so a line end
  // before it is not the end of the record. Outside, the next LF is: a stray
  // quote must not swallow the rest of the file.
  if (in_quotes && !skip_quoted()) {
    // The root cause is the quote that never closes, not what was inside.
    out.error = "unterminated quoted field";
    return;
  }
  skip_rest_of_line();
}

bool CsvReader::skip_quoted() {
  for (;;) {
    const char* data = buf_.data();
    size_t i = pos_;
    while (i < len_ && data[i] != '"') {
      if (data[i] == '\n') ++line_;
      ++i;
    }
    pos_ = i;
    if (i == len_) {
      if (!refill()) return false;
      continue;
    }
    ++pos_;
    if (!fill(1) || buf_[pos_] != '"') return true;
    ++pos_;  // a doubled quote is content
  }
}

void CsvReader::skip_rest_of_line() {
  for (;;) {
    const char* start = buf_.data() + pos_;
    const void* lf = std::memchr(start, '\n', len_ - pos_);
    if (lf != nullptr) {
      pos_ += static_cast<size_t>(static_cast<const char*>(lf) - start) + 1;
      ++line_;
      return;
    }
    pos_ = len_;
    if (!refill()) return;
  }
}

bool is_valid_utf8(std::string_view s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const size_t n = s.size();
  size_t i = 0;
  while (i < n) {
    if (n - i >= 8) {  // ASCII fast path, eight bytes at a time
      uint64_t word;
      std::memcpy(&word, p + i, 8);
      if ((word & 0x8080808080808080ULL) == 0) {
        i += 8;
        continue;
      }
    }
    const unsigned char c = p[i];
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t extra;
    unsigned char lo = 0x80;  // allowed range of the second byte
    unsigned char hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF) {
      extra = 1;
    } else if (c >= 0xE0 && c <= 0xEF) {
      extra = 2;
      if (c == 0xE0) lo = 0xA0;  // overlong
      if (c == 0xED) hi = 0x9F;  // UTF-16 surrogates
    } else if (c >= 0xF0 && c <= 0xF4) {
      extra = 3;
      if (c == 0xF0) lo = 0x90;  // overlong
      if (c == 0xF4) hi = 0x8F;  // above U+10FFFF
    } else {
      return false;  // continuation byte, overlong C0/C1, or F5..FF
    }
    if (n - i <= extra) return false;  // truncated
    if (p[i + 1] < lo || p[i + 1] > hi) return false;
    for (size_t k = 2; k <= extra; ++k) {
      if ((p[i + k] & 0xC0) != 0x80) return false;
    }
    i += extra + 1;
  }
  return true;
}

}  // namespace pd
