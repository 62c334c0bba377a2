#include "store/dnc.h"

#include "core/strings.h"

namespace pd {

std::optional<int64_t> dnc_key(std::string_view e164) {
  if (e164.size() < 2 || e164.size() > 16 || e164[0] != '+' || e164[1] == '0') return std::nullopt;
  int64_t key = 0;
  for (size_t i = 1; i < e164.size(); ++i) {
    const char c = e164[i];
    if (c < '0' || c > '9') return std::nullopt;
    key = key * 10 + (c - '0');
  }
  return key;
}

std::string dnc_number(int64_t key) { return cat("+", key); }

absl::StatusOr<int64_t> dnc_key_or_error(std::string_view e164) {
  if (const std::optional<int64_t> key = dnc_key(e164)) return *key;
  return absl::InvalidArgumentError(
      cat("\"", escape_controls(e164.substr(0, 40)), "\" is not an E.164 number"));
}

absl::StatusOr<std::vector<int64_t>> dnc_keys_or_error(const std::vector<std::string>& numbers) {
  std::vector<int64_t> keys;
  keys.reserve(numbers.size());
  for (const std::string& n : numbers) {
    absl::StatusOr<int64_t> key = dnc_key_or_error(n);
    if (!key.ok()) return key.status();
    keys.push_back(*key);
  }
  return keys;
}

absl::StatusOr<int64_t> dnc_after_key(const DncQuery& query) {
  if (query.after.empty()) return -1;
  return dnc_key_or_error(query.after);
}

absl::Status check_dnc_source(std::string_view source) {
  constexpr size_t kMaxBytes = 64;
  auto shown = [&] { return escape_controls(source.substr(0, kMaxBytes)); };
  if (source.empty()) return absl::InvalidArgumentError("the do-not-call source label is empty");
  if (source.size() > kMaxBytes) {
    return absl::InvalidArgumentError(cat("do-not-call source \"", shown(), "...\" is longer than ",
                                          kMaxBytes, " bytes"));
  }
  for (const char c : source) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '_' || c == '.' || c == ':' || c == '/';
    if (!ok) {
      return absl::InvalidArgumentError(
          cat("do-not-call source \"", shown(),
              "\" may hold only letters, digits, '-', '_', '.', ':' and '/'"));
    }
  }
  return absl::OkStatus();
}

std::string dnc_rule_detail(std::string_view source) { return cat("(source: ", source, ")"); }

}  // namespace pd
