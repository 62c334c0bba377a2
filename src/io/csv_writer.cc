#include "io/csv_writer.h"

namespace pd {
namespace {

// What spreadsheets take as the start of a formula (OWASP "CSV injection").
bool starts_like_formula(std::string_view value) {
  if (value.empty()) return false;
  switch (value.front()) {
    case '=':
    case '+':
    case '-':
    case '@':
    case '\t':
    case '\r':
      return true;
    default:
      return false;
  }
}

// Beyond RFC 4180's ',', '"' and line ends: ';', the field separator of
// spreadsheets in many locales, and the shell's command separators and
// redirections, so a results file fed to a shell runs no command a
// customer's id or attribute spells (x;touch /tmp/p;#). Quotes cannot stop
// "$(...)" in a shell: that is why results are only ever written where the
// operator chose (serve --files-dir), never executable.
bool needs_quotes(std::string_view value) {
  return value.find_first_of(",\"\r\n;|&<>()") != std::string_view::npos;
}

}  // namespace

std::string csv_cell(std::string_view value, bool neutralise) {
  const bool prefix = neutralise && starts_like_formula(value);
  const bool quote = needs_quotes(value);
  std::string out;
  out.reserve(value.size() + (prefix ? 1 : 0) + (quote ? 2 : 0));
  if (quote) out.push_back('"');
  if (prefix) out.push_back('\'');
  if (quote) {
    for (char c : value) {
      if (c == '"') out.push_back('"');
      out.push_back(c);
    }
    out.push_back('"');
  } else {
    out.append(value);
  }
  return out;
}

CsvWriter& CsvWriter::cell(std::string_view value, bool neutralise) {
  if (first_) {
    first_ = false;
    // An empty first cell is written as "" so that a row holding just that
    // cell does not come out as an empty line, which readers take as blank.
    if (value.empty()) {
      out_ << "\"\"";
      return *this;
    }
  } else {
    out_.put(',');
  }
  if (!(neutralise && starts_like_formula(value)) && !needs_quotes(value)) {
    out_.write(value.data(), static_cast<std::streamsize>(value.size()));
  } else {
    out_ << csv_cell(value, neutralise);
  }
  return *this;
}

void CsvWriter::end_row() {
  out_.write("\r\n", 2);
  first_ = true;
}

}  // namespace pd
