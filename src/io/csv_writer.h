// CSV output (RFC 4180) that is safe to open in a spreadsheet: a cell that
// starts with '=', '+', '-', '@', TAB or CR is neutralised with a leading
// apostrophe, so no formula runs (OWASP "CSV injection").
// Thread-safety: one writer per stream.
#pragma once

#include <ostream>
#include <string>
#include <string_view>

namespace pd {

// Quotes and escapes one cell (quoted when it holds ',', '"', a line end,
// ';' or a shell separator |&<>()); neutralises formula triggers when
// `neutralise` is set (it is for every cell that came from outside).
std::string csv_cell(std::string_view value, bool neutralise = true);

class CsvWriter {
 public:
  explicit CsvWriter(std::ostream& out) : out_(out) {}
  // Appends one cell to the current row.
  CsvWriter& cell(std::string_view value, bool neutralise = true);
  // Ends the current row with CRLF, as RFC 4180 says.
  void end_row();

 private:
  std::ostream& out_;
  bool first_ = true;
};

}  // namespace pd
