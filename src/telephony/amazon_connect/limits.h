// Amazon Connect's limits on what a contact carries, checked when a list is
// loaded so a campaign never fails mid-run on a row Connect would refuse.
// (StartOutboundVoiceContact: attribute keys of letters, digits, '-' and
// '_'; at most 32,768 UTF-8 bytes across all keys and values.)
#pragma once

#include <cstddef>
#include <string_view>

namespace pd::connect {

inline constexpr size_t kMaxAttributesBytes = 32768;

inline bool is_valid_attribute_key(std::string_view key) {
  if (key.empty()) return false;
  for (char c : key) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '_';
    if (!ok) return false;
  }
  return true;
}

}  // namespace pd::connect
