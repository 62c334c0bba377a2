#include "compliance/zip3.h"

#include <array>
#include <cctype>
#include <cstdlib>

#include "compliance/compliance_data.h"
#include "core/strings.h"

namespace pd {
namespace {

using Table = std::array<std::optional<Zip3Entry>, 1000>;

// Lines: "# comment", the header "zip3,region,zones", then "324,US-FL,America/Chicago".
Table parse_table(std::string_view csv) {
  Table t;
  size_t pos = 0;
  while (pos < csv.size()) {
    size_t end = csv.find('\n', pos);
    if (end == std::string_view::npos) end = csv.size();
    const std::string_view line = trim(csv.substr(pos, end - pos));
    pos = end + 1;
    if (line.empty() || line.front() == '#' || line.rfind("zip3,", 0) == 0) continue;
    const size_t c1 = line.find(',');
    const size_t c2 = c1 == std::string_view::npos ? c1 : line.find(',', c1 + 1);
    const auto prefix = us_zip_prefix(cat(line.substr(0, c1), "00"));
    // The file is compiled in and checked by a unit test: a bad line is a build defect.
    if (c2 == std::string_view::npos || !prefix || c1 != 3) std::abort();
    t[static_cast<size_t>(*prefix)] =
        Zip3Entry{std::string(line.substr(c1 + 1, c2 - c1 - 1)), std::string(line.substr(c2 + 1))};
  }
  return t;
}

}  // namespace

std::optional<int> us_zip_prefix(std::string_view zip) {
  zip = trim(zip);
  auto digits = [](std::string_view s) {
    for (char c : s) {
      if (!std::isdigit(static_cast<unsigned char>(c))) return false;
    }
    return true;
  };
  const bool plain = zip.size() == 5 && digits(zip);
  const bool plus4 = zip.size() == 10 && zip[5] == '-' && digits(zip.substr(0, 5)) &&
                     digits(zip.substr(6));
  if (!plain && !plus4) return std::nullopt;
  return (zip[0] - '0') * 100 + (zip[1] - '0') * 10 + (zip[2] - '0');
}

const Zip3Entry* find_zip3(int prefix) {
  static const Table table = parse_table(us_zip3_csv());
  if (prefix < 0 || prefix > 999) return nullptr;
  const auto& e = table[static_cast<size_t>(prefix)];
  return e ? &*e : nullptr;
}

}  // namespace pd
