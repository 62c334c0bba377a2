#include "core/config_keys.h"

#include <fmt/ranges.h>

#include <algorithm>
#include <cctype>
#include <charconv>

#include "core/status_macros.h"
#include "core/strings.h"
#include "io/phone.h"

namespace pd {
namespace {

constexpr long long kDay = 24 * 3600;

// The order is the order `config list` shows.
const std::vector<ConfigKey>& keys() {
  static const std::vector<ConfigKey> k{
      {"connectid", ConfigKind::kConnectId, "", "Amazon Connect instance id"},
      {"contactflow", ConfigKind::kConnectId, "", "contact flow id for the outbound calls"},
      {"queue", ConfigKind::kConnectId, "", "queue id the calls go to (and whose agents are used)"},
      {"inputfile", ConfigKind::kLocation, "",
       "dialing list loaded by 'load' without a file (path or s3://bucket/key)"},
      {"io-bucket", ConfigKind::kBucket, "", "S3 bucket for input and results files"},
      {"outputfile", ConfigKind::kLocation, "",
       "where the results CSV is written when the campaign ends (path or s3://bucket/key)"},
      {"default-region", ConfigKind::kRegionCode, "US",
       "region for phone numbers written without a leading + (ISO 3166 code)"},
      {"max-attempts", ConfigKind::kInteger, "1",
       "attempts per phone after no answer, busy or failure", 1, 20},
      {"retry-delay", ConfigKind::kDuration, "5m",
       "wait before calling a phone again (90s, 5m, 2h, 1d)", 0, 7 * kDay},
  };
  return k;
}

bool is_uuid(std::string_view s) {
  if (s.size() != 36) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    const bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash ? s[i] != '-' : !std::isxdigit(static_cast<unsigned char>(s[i]))) return false;
  }
  return true;
}

bool is_bucket_name(std::string_view s) {
  if (s.size() < 3 || s.size() > 63) return false;
  for (char c : s) {
    if (!(std::islower(static_cast<unsigned char>(c)) ||
          std::isdigit(static_cast<unsigned char>(c)) || c == '-' || c == '.'))
      return false;
  }
  return std::isalnum(static_cast<unsigned char>(s.front())) &&
         std::isalnum(static_cast<unsigned char>(s.back())) &&
         s.find("..") == std::string_view::npos;
}

bool has_control_chars(std::string_view s) {
  return std::any_of(s.begin(), s.end(),
                     [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; });
}

absl::Status invalid(std::string_view key, std::string_view value, std::string_view expected) {
  return absl::InvalidArgumentError(
      cat("invalid value '", value, "' for ", key, ": expected ", expected));
}

}  // namespace

std::span<const ConfigKey> all_config_keys() { return keys(); }

const ConfigKey* find_config_key(std::string_view name) {
  for (const ConfigKey& k : keys()) {
    if (k.name == name) return &k;
  }
  return nullptr;
}

std::optional<std::chrono::seconds> parse_duration(std::string_view text) {
  if (text.empty()) return std::nullopt;
  long long multiplier = 1;
  switch (text.back()) {
    case 's':
      multiplier = 1;
      text.remove_suffix(1);
      break;
    case 'm':
      multiplier = 60;
      text.remove_suffix(1);
      break;
    case 'h':
      multiplier = 3600;
      text.remove_suffix(1);
      break;
    case 'd':
      multiplier = kDay;
      text.remove_suffix(1);
      break;
    default:
      break;
  }
  long long value = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || p != text.data() + text.size() || text.empty() || value < 0 ||
      value > 100 * 365 * kDay / multiplier)
    return std::nullopt;
  return std::chrono::seconds(value * multiplier);
}

std::string format_duration(std::chrono::seconds d) {
  const long long s = d.count();
  if (s != 0 && s % kDay == 0) return cat(s / kDay, "d");
  if (s != 0 && s % 3600 == 0) return cat(s / 3600, "h");
  if (s != 0 && s % 60 == 0) return cat(s / 60, "m");
  return cat(s, "s");
}

absl::StatusOr<std::string> validate_config_value(std::string_view key, std::string_view value) {
  const ConfigKey* k = find_config_key(key);
  if (k == nullptr) {
    std::vector<std::string_view> names;
    for (const ConfigKey& known : keys()) names.push_back(known.name);
    return absl::NotFoundError(cat("unknown config key '", key,
                                   "'; known keys: ", fmt::format("{}", fmt::join(names, ", "))));
  }
  const std::string_view trimmed = trim(value);
  switch (k->kind) {
    case ConfigKind::kText:
      if (trimmed.empty() || has_control_chars(trimmed))
        return invalid(key, value, "non-empty text without control characters");
      return std::string(trimmed);
    case ConfigKind::kConnectId: {
      // Accept the ARN the console shows and keep the id at its end.
      std::string_view id = trimmed;
      if (id.substr(0, 4) == "arn:") id = id.substr(id.find_last_of('/') + 1);
      if (!is_uuid(id))
        return invalid(key, value,
                       "an Amazon Connect id like 12345678-1234-1234-1234-123456789012 "
                       "(or the ARN that ends in one)");
      return to_lower(id);
    }
    case ConfigKind::kInteger: {
      long long v = 0;
      auto [p, ec] = std::from_chars(trimmed.data(), trimmed.data() + trimmed.size(), v);
      if (ec != std::errc() || p != trimmed.data() + trimmed.size() || trimmed.empty() ||
          v < k->min || v > k->max)
        return invalid(key, value, cat("a whole number from ", k->min, " to ", k->max));
      return cat(v);
    }
    case ConfigKind::kDuration: {
      auto d = parse_duration(trimmed);
      if (!d || d->count() < k->min || d->count() > k->max)
        return invalid(
            key, value,
            cat("a duration from ", format_duration(std::chrono::seconds(k->min)), " to ",
                format_duration(std::chrono::seconds(k->max)), " such as 90s, 5m, 2h or 1d"));
      return format_duration(*d);
    }
    case ConfigKind::kRegionCode: {
      const std::string upper = to_upper(trimmed);
      if (!is_supported_region(upper))
        return invalid(key, value, "a two-letter region code such as US, GB or DE");
      return upper;
    }
    case ConfigKind::kBucket:
      if (!is_bucket_name(trimmed))
        return invalid(key, value,
                       "an S3 bucket name (3-63 characters: lower-case letters, digits, '-' "
                       "and '.')");
      return std::string(trimmed);
    case ConfigKind::kLocation:
      if (trimmed.empty() || has_control_chars(trimmed))
        return invalid(key, value, "a file path or s3://bucket/key");
      if (trimmed.substr(0, 5) == "s3://") {
        const std::string_view rest = trimmed.substr(5);
        const size_t slash = rest.find('/');
        if (slash == std::string_view::npos || slash + 1 == rest.size() ||
            !is_bucket_name(rest.substr(0, slash)))
          return invalid(key, value, "s3://bucket/key with a valid bucket name and a key");
      }
      return std::string(trimmed);
  }
  return absl::InternalError("unhandled config kind");
}

absl::StatusOr<CampaignConfig> CampaignConfig::from(
    const std::map<std::string, std::string>& stored) {
  CampaignConfig c;
  auto get = [&](std::string_view key) -> absl::StatusOr<std::string> {
    auto it = stored.find(std::string(key));
    const ConfigKey* k = find_config_key(key);
    if (it == stored.end()) return std::string(k != nullptr ? k->default_value : "");
    auto valid = validate_config_value(key, it->second);
    if (!valid.ok()) {
      return absl::FailedPreconditionError(
          cat("stored configuration is invalid: ", valid.status().message(),
              "; fix it with 'powerdialer config set ", key, " VALUE'"));
    }
    return valid;
  };
  PD_ASSIGN_OR_RETURN(c.connect_instance_id, get("connectid"));
  PD_ASSIGN_OR_RETURN(c.contact_flow_id, get("contactflow"));
  PD_ASSIGN_OR_RETURN(c.queue_id, get("queue"));
  PD_ASSIGN_OR_RETURN(c.input_file, get("inputfile"));
  PD_ASSIGN_OR_RETURN(c.io_bucket, get("io-bucket"));
  PD_ASSIGN_OR_RETURN(c.output_file, get("outputfile"));
  PD_ASSIGN_OR_RETURN(c.default_region, get("default-region"));
  PD_ASSIGN_OR_RETURN(std::string max_attempts, get("max-attempts"));
  c.retry.max_attempts_per_phone = std::stoi(max_attempts);
  PD_ASSIGN_OR_RETURN(std::string delay, get("retry-delay"));
  c.retry.retry_delay = parse_duration(delay).value_or(std::chrono::seconds(300));
  return c;
}

}  // namespace pd
