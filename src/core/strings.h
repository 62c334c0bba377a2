// Small string helpers. Debian's Abseil is built with its own string_view
// (not std::string_view), so absl/strings does not take our std types;
// these cover the few things we need, on top of {fmt}.
#pragma once

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <iterator>
#include <string>
#include <string_view>

#include "absl/strings/string_view.h"

namespace pd {

namespace internal {
template <typename T>
decltype(auto) printable(const T& v) {
  if constexpr (std::is_same_v<T, absl::string_view>) {
    return std::string_view(v.data(), v.size());
  } else {
    return (v);
  }
}
}  // namespace internal

// Concatenates the arguments' {fmt} renderings: cat("line ", 3, ": ", why).
template <typename... Args>
std::string cat(const Args&... args) {
  std::string out;
  (fmt::format_to(std::back_inserter(out), "{}", internal::printable(args)), ...);
  return out;
}

// A Status message as a std::string_view.
inline std::string_view sv(absl::string_view s) { return {s.data(), s.size()}; }

inline std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

inline std::string to_lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

// `s` safe to print on a terminal: control characters (C0, DEL, and C1
// in UTF-8) become visible escapes (\n, \t, \x1b, \u009b), so data
// echoed from a file or a request cannot move the cursor, recolour the
// screen or forge lines. Everything else, UTF-8 included, passes as is.
inline std::string escape_controls(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c == '\n') {
      out += "\\n";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c < 0x20 || c == 0x7f) {
      out += fmt::format("\\x{:02x}", c);
    } else if (c == 0xc2 && i + 1 < s.size() && static_cast<unsigned char>(s[i + 1]) >= 0x80 &&
               static_cast<unsigned char>(s[i + 1]) <= 0x9f) {
      out += fmt::format("\\u{:04x}", static_cast<unsigned char>(s[i + 1]));
      ++i;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

inline std::string to_upper(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  return out;
}

// How many characters of user input a message repeats.
inline constexpr size_t kMaxEcho = 64;

// User input as an error message repeats it: in single quotes, control
// characters escaped (\x1b), and cut after kMaxEcho characters with an
// ellipsis and its full length, so a 100,000-character name does not come
// back in full: 'aaaa…' (100000 characters). Every echo of input goes
// through here.
inline std::string echo(std::string_view input) {
  auto continuation = [](char c) { return (static_cast<unsigned char>(c) & 0xC0) == 0x80; };
  size_t chars = 0;
  size_t cut = input.size();
  for (size_t i = 0; i < input.size(); ++i) {
    if (continuation(input[i])) continue;
    if (chars == kMaxEcho) cut = i;
    ++chars;
  }
  std::string out = "'";
  for (char c : input.substr(0, cut)) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) {
      out += fmt::format("\\x{:02x}", u);
    } else {
      out.push_back(c);
    }
  }
  out += "'";
  if (cut < input.size()) {
    out.insert(out.size() - 1, "\u2026");
    out += fmt::format(" ({} characters)", chars);
  }
  return out;
}

}  // namespace pd
