#include "core/config_keys.h"

#include <fmt/ranges.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>

#include "compliance/calling_window.h"
#include "core/advice.h"
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
       "dialing list loaded by 'load' without a file (path, s3://bucket/key, or a file name "
       "in io-bucket)"},
      {"io-bucket", ConfigKind::kBucket, "", "S3 bucket for input and results files"},
      {"outputfile", ConfigKind::kLocation, "",
       "where the results CSV is written when the campaign ends (path or s3://bucket/key)"},
      {"default-region", ConfigKind::kRegionCode, "US",
       "region for phone numbers written without a leading + (ISO 3166 code)"},
      {"max-attempts", ConfigKind::kInteger, "1",
       "attempts per phone after no answer, busy or failure", 1, 20},
      {"retry-delay", ConfigKind::kDuration, "5m",
       "wait before calling a phone again (90s, 5m, 2h, 1d)", 0, 7 * kDay},
      // Amazon Connect (run --backend connect).
      {"region", ConfigKind::kAwsRegion, "",
       "AWS region of the Connect instance (default: AWS_REGION or the AWS config file)"},
      {"agent-stream", ConfigKind::kStream, "",
       "Kinesis stream (name or ARN) the instance streams agent events to"},
      {"ctr-stream", ConfigKind::kStream, "",
       "Kinesis stream (name or ARN) the instance streams contact trace records to (may be "
       "the agent stream)"},
      {"source-phone", ConfigKind::kPhone, "",
       "caller id for the calls, a number claimed in the instance (default: the queue's)"},
      {"traffic-type", ConfigKind::kChoice, "",
       "GENERAL or CAMPAIGN (Connect's TrafficType; default GENERAL)", 0, 0, "GENERAL|CAMPAIGN"},
      {"answering-machine-detection", ConfigKind::kChoice, "off",
       "off, on, or on-await-prompt (Connect's AnswerMachineDetectionConfig)", 0, 0,
       "off|on|on-await-prompt"},
      {"ring-timeout", ConfigKind::kDuration, "",
       "how long Connect lets a call ring, 15s to 60s (default: Connect's)", 15, 60},
      {"dial-rate", ConfigKind::kInteger, "2",
       "StartOutboundVoiceContact calls per second (the account's quota)", 1, 1000},
      {"dial-burst", ConfigKind::kInteger, "5", "StartOutboundVoiceContact burst", 1, 1000},
      {"metric-rate", ConfigKind::kInteger, "5", "GetCurrentMetricData calls per second", 1, 100},
      {"metric-burst", ConfigKind::kInteger, "8", "GetCurrentMetricData burst", 1, 100},
      {"connect-endpoint", ConfigKind::kUrl, "",
       "Amazon Connect API endpoint override (default: AWS_ENDPOINT_URL_CONNECT or AWS's)"},
      {"kinesis-endpoint", ConfigKind::kUrl, "",
       "Kinesis endpoint override (default: AWS_ENDPOINT_URL_KINESIS or AWS's)"},
      {"s3-endpoint", ConfigKind::kUrl, "",
       "S3 endpoint override (default: AWS_ENDPOINT_URL_S3 or AWS's)"},
      // Compliance limits, checked in every claim (see README "Limits").
      {"max-calls-per-24h", ConfigKind::kInteger, "",
       "calls to one phone number in any 24 hours, across all campaigns (0 or unset: no cap)",
       0, 1000},
      {"max-calls-per-7d", ConfigKind::kInteger, "",
       "calls to one phone number in any 7 days, across all campaigns (0 or unset: no cap)", 0,
       1000},
      {"max-customer-calls-per-24h", ConfigKind::kInteger, "",
       "calls to one customer id in any 24 hours, across all campaigns (0 or unset: no cap)", 0,
       1000},
      {"max-customer-calls-per-7d", ConfigKind::kInteger, "",
       "calls to one customer id in any 7 days, across all campaigns (0 or unset: no cap)", 0,
       1000},
      {"abandon-lockout", ConfigKind::kDuration, "72h",
       "no call to a number for this long after an abandoned call to it (any campaign)", 0,
       30 * kDay},
      {"max-abandon-rate", ConfigKind::kRate, "3%",
       "the campaign stops dialing when its 30-day abandon rate reaches this (3% or 0.03)", 0,
       100},
      // Pacing (src/engine/pacer.h).
      {"pacing", ConfigKind::kChoice, "power",
       "power (one call per free agent), progressive (lines-per-agent calls per free agent), "
       "predictive (dials ahead, holding the abandon rate at target-abandon-rate), or "
       "vicidial-adapt (simulator only: VICIdial's adaptive dial level, for comparison)",
       0, 0, "power|progressive|predictive|vicidial-adapt"},
      {"lines-per-agent", ConfigKind::kDecimal, "1.5",
       "progressive pacing: calls placed per free agent (1 to 5, e.g. 1.5)", 1, 5},
      {"max-lines-per-agent", ConfigKind::kDecimal, "3",
       "predictive and vicidial-adapt: most calls in flight per logged-in agent (1 to 5)", 1,
       5},
      {"target-abandon-rate", ConfigKind::kRate, "2.5%",
       "predictive pacing holds the abandon rate (per day and over 30 days) at or below this; "
       "never above max-abandon-rate",
       0, 100},
      {"disposition-attribute", ConfigKind::kText, "disposition",
       "contact attribute holding the agent's wrap-up code (Amazon Connect CTR Attributes)"},
      {"dispositions", ConfigKind::kDispositions, "",
       "wrap-up code actions: CODE=done|dnc|callback:DELAY|retry:DELAY, comma-separated "
       "(e.g. SALE=done,CALLBACK=callback:2h,DNC=dnc)"},
      // Compliance: when a callee may be called, in their local time
      // (src/compliance/calling_window.h); region rules narrow it further.
      {"calling-hours", ConfigKind::kDailyHours, "08:00-21:00",
       "hours a callee may be called, in their local time (00:00-24:00: all day)"},
      {"calling-hours-mon", ConfigKind::kDailyHours, "", "Monday's calling hours, or closed",
       0, 0, "closed"},
      {"calling-hours-tue", ConfigKind::kDailyHours, "", "Tuesday's calling hours, or closed",
       0, 0, "closed"},
      {"calling-hours-wed", ConfigKind::kDailyHours, "", "Wednesday's calling hours, or closed",
       0, 0, "closed"},
      {"calling-hours-thu", ConfigKind::kDailyHours, "", "Thursday's calling hours, or closed",
       0, 0, "closed"},
      {"calling-hours-fri", ConfigKind::kDailyHours, "", "Friday's calling hours, or closed",
       0, 0, "closed"},
      {"calling-hours-sat", ConfigKind::kDailyHours, "", "Saturday's calling hours, or closed",
       0, 0, "closed"},
      {"calling-hours-sun", ConfigKind::kDailyHours, "", "Sunday's calling hours, or closed",
       0, 0, "closed"},
      {"blackout-dates", ConfigKind::kDateList, "",
       "dates no one is called, the callee's local date (2026-12-25,2027-01-01)"},
      {"default-timezone", ConfigKind::kTimeZone, "",
       "time zone for phones with none known (toll-free, no timezone/zip column); unset: "
       "such phones are not dialled"},
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

bool is_aws_region(std::string_view s) {
  // Partition-style names: us-east-1, eu-west-2, ap-southeast-1, us-gov-west-1.
  if (s.size() < 9 || s.size() > 25) return false;
  int dashes = 0;
  for (char c : s) {
    if (c == '-') {
      ++dashes;
    } else if (!std::islower(static_cast<unsigned char>(c)) &&
               !std::isdigit(static_cast<unsigned char>(c))) {
      return false;
    }
  }
  return dashes >= 2 && std::isdigit(static_cast<unsigned char>(s.back())) && s.front() != '-';
}

bool is_stream_name(std::string_view s) {
  if (s.empty() || s.size() > 128) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '-';
  });
}

absl::Status invalid(std::string_view key, std::string_view value, std::string_view expected) {
  return absl::InvalidArgumentError(
      cat("invalid value ", echo(value), " for ", key, ": expected ", expected));
}

// "https" in "https://host/x": a URL scheme (RFC 3986: a letter, then
// letters, digits, '+', '-' or '.') before "://"; empty when there is none.
std::string_view url_scheme(std::string_view value) {
  const size_t colon = value.find("://");
  if (colon == std::string_view::npos || colon == 0) return {};
  const std::string_view scheme = value.substr(0, colon);
  const bool ok =
      std::isalpha(static_cast<unsigned char>(scheme.front())) &&
      std::all_of(scheme.begin(), scheme.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '+' || c == '-' || c == '.';
      });
  return ok ? scheme : std::string_view();
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

std::optional<double> parse_rate(std::string_view text) {
  text = trim(text);
  const bool percent = !text.empty() && text.back() == '%';
  if (percent) text = trim(text.substr(0, text.size() - 1));
  if (text.empty() || text.front() == '+' || text.front() == '-') return std::nullopt;
  double v = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || p != text.data() + text.size() || !std::isfinite(v)) return std::nullopt;
  if (percent) v /= 100;
  if (v < 0 || v > 1) return std::nullopt;
  return v;
}

std::string format_rate(double rate) {
  // Enough digits for what people set (0.5%, 2.75%), none of binary's noise.
  return fmt::format("{:.4g}%", rate * 100);
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
    return absl::NotFoundError(cat("unknown config key ", echo(key),
                                   "; known keys: ", fmt::format("{}", fmt::join(names, ", "))));
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
    case ConfigKind::kLocation: {
      if (trimmed.empty() || has_control_chars(trimmed))
        return invalid(key, value, "a file path or s3://bucket/key");
      // Only S3 is reached over the network; any other scheme would
      // otherwise be taken as a local path named "https:/...".
      const std::string_view scheme = url_scheme(trimmed);
      if (!scheme.empty() && to_lower(scheme) != "s3") {
        return invalid(key, value,
                       cat("a local file path or s3://bucket/key (", echo(cat(scheme, "://")),
                           " locations are not supported)"));
      }
      if (!scheme.empty()) {
        const std::string_view rest = trimmed.substr(5);
        const size_t slash = rest.find('/');
        if (slash == std::string_view::npos || slash + 1 == rest.size() ||
            !is_bucket_name(rest.substr(0, slash)))
          return invalid(key, value, "s3://bucket/key with a valid bucket name and a key");
        return cat("s3://", rest);  // "S3://" too
      }
      return std::string(trimmed);
    }
    case ConfigKind::kAwsRegion:
      if (!is_aws_region(trimmed)) return invalid(key, value, "an AWS region such as us-east-1");
      return std::string(trimmed);
    case ConfigKind::kStream: {
      // arn:aws:kinesis:us-east-1:123456789012:stream/NAME
      std::string_view name = trimmed;
      if (name.substr(0, 4) == "arn:") {
        const size_t at = name.find(":kinesis:");
        const size_t slash = name.find(":stream/");
        if (at == std::string_view::npos || slash == std::string_view::npos)
          return invalid(key, value, "a Kinesis stream name or arn:aws:kinesis:REGION:ACCOUNT:stream/NAME");
        name = name.substr(slash + 8);
      }
      if (!is_stream_name(name))
        return invalid(key, value,
                       "a Kinesis stream name (1-128 letters, digits, '_', '.', '-') or its ARN");
      return std::string(trimmed);
    }
    case ConfigKind::kPhone: {
      const bool ok = trimmed.size() >= 3 && trimmed.size() <= 16 && trimmed[0] == '+' &&
                      trimmed[1] >= '1' && trimmed[1] <= '9' &&
                      std::all_of(trimmed.begin() + 1, trimmed.end(),
                                  [](char c) { return c >= '0' && c <= '9'; });
      if (!ok) return invalid(key, value, "a phone number in E.164 form such as +12025550123");
      return std::string(trimmed);
    }
    case ConfigKind::kChoice: {
      std::string_view rest = k->choices;
      std::vector<std::string_view> allowed;
      while (!rest.empty()) {
        const size_t bar = rest.find('|');
        allowed.push_back(rest.substr(0, bar));
        rest = bar == std::string_view::npos ? std::string_view() : rest.substr(bar + 1);
      }
      for (std::string_view a : allowed) {
        if (to_lower(a) == to_lower(trimmed)) return std::string(a);
      }
      return invalid(key, value, cat("one of ", fmt::format("{}", fmt::join(allowed, ", "))));
    }
    case ConfigKind::kUrl: {
      const bool scheme = trimmed.substr(0, 7) == "http://" || trimmed.substr(0, 8) == "https://";
      const size_t host_at = trimmed.find("://") + 3;
      if (!scheme || trimmed.size() <= host_at || has_control_chars(trimmed) ||
          trimmed.find(' ') != std::string_view::npos)
        return invalid(key, value, "an http:// or https:// URL such as http://127.0.0.1:4566");
      std::string url(trimmed);
      while (url.size() > host_at + 1 && url.back() == '/') url.pop_back();
      return url;
    }
    case ConfigKind::kRate: {
      auto r = parse_rate(trimmed);
      if (!r || *r * 100 < static_cast<double>(k->min) || *r * 100 > static_cast<double>(k->max))
        return invalid(key, value,
                       cat("a share from ", k->min, "% to ", k->max, "%, written as 3% or 0.03"));
      return format_rate(*r);
    }
    case ConfigKind::kDispositions: {
      auto rules = parse_dispositions(trimmed);
      if (!rules.ok())
        return absl::InvalidArgumentError(
            cat("invalid value for ", key, ": ", rules.status().message()));
      if (rules->empty()) return invalid(key, value, "at least one CODE=ACTION entry");
      return format_dispositions(*rules);
    }
    case ConfigKind::kDailyHours: {
      const bool allow_closed = k->choices == "closed";
      auto h = parse_daily_hours(trimmed, allow_closed);
      if (!h.ok()) {
        return invalid(key, value,
                       allow_closed ? "local hours HH:MM-HH:MM such as 08:00-21:00 (24:00 is "
                                      "the end of the day), or closed"
                                    : "local hours HH:MM-HH:MM such as 08:00-21:00 (24:00 is "
                                      "the end of the day; 00:00-24:00 all day)");
      }
      return format_daily_hours(*h);
    }
    case ConfigKind::kDateList: {
      auto days = parse_blackout_dates(trimmed);
      if (!days.ok()) {
        return invalid(key, value,
                       cat("dates YYYY-MM-DD separated by commas such as 2026-12-25,2027-01-01 (",
                           sv(days.status().message()), ")"));
      }
      return format_blackout_dates(*days);
    }
    case ConfigKind::kDecimal: {
      double d = 0;
      auto [p, ec] = std::from_chars(trimmed.data(), trimmed.data() + trimmed.size(), d);
      if (ec != std::errc() || p != trimmed.data() + trimmed.size() || !std::isfinite(d) ||
          d < static_cast<double>(k->min) || d > static_cast<double>(k->max)) {
        return invalid(key, value, cat("a number from ", k->min, " to ", k->max, ", e.g. 1.5"));
      }
      return fmt::format("{}", d);
    }
    case ConfigKind::kTimeZone: {
      const date::time_zone* zone = find_time_zone(trimmed);
      if (zone == nullptr) {
        return invalid(key, value, "an IANA time zone name such as America/Chicago or Europe/London");
      }
      return std::string(zone->name());
    }
  }
  return absl::InternalError("unhandled config kind");
}

std::string CampaignConfig::input_location() const {
  const bool bare_name = !input_file.empty() && input_file.find('/') == std::string::npos;
  if (bare_name && !io_bucket.empty()) return cat("s3://", io_bucket, "/", input_file);
  return input_file;
}

absl::StatusOr<CampaignConfig> CampaignConfig::from(
    const std::map<std::string, std::string>& stored, std::string_view campaign) {
  CampaignConfig c;
  auto get = [&](std::string_view key) -> absl::StatusOr<std::string> {
    auto it = stored.find(std::string(key));
    const ConfigKey* k = find_config_key(key);
    if (it == stored.end()) return std::string(k != nullptr ? k->default_value : "");
    auto valid = validate_config_value(key, it->second);
    if (!valid.ok()) {
      return with_advice(absl::FailedPreconditionError(
                             cat("stored configuration is invalid: ", valid.status().message())),
                         {Remedy::kSetConfig, std::string(campaign), std::string(key)});
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
  PD_ASSIGN_OR_RETURN(c.aws_region, get("region"));
  PD_ASSIGN_OR_RETURN(c.agent_stream, get("agent-stream"));
  PD_ASSIGN_OR_RETURN(c.ctr_stream, get("ctr-stream"));
  PD_ASSIGN_OR_RETURN(c.source_phone, get("source-phone"));
  PD_ASSIGN_OR_RETURN(c.traffic_type, get("traffic-type"));
  PD_ASSIGN_OR_RETURN(c.answering_machine_detection, get("answering-machine-detection"));
  PD_ASSIGN_OR_RETURN(std::string ring, get("ring-timeout"));
  if (!ring.empty()) c.ring_timeout = parse_duration(ring);
  auto integer = [&](std::string_view key, int& out) -> absl::Status {
    PD_ASSIGN_OR_RETURN(std::string v, get(key));
    out = std::stoi(v);
    return absl::OkStatus();
  };
  PD_RETURN_IF_ERROR(integer("dial-rate", c.dial_rate));
  PD_RETURN_IF_ERROR(integer("dial-burst", c.dial_burst));
  PD_RETURN_IF_ERROR(integer("metric-rate", c.metric_rate));
  PD_RETURN_IF_ERROR(integer("metric-burst", c.metric_burst));
  PD_ASSIGN_OR_RETURN(c.connect_endpoint, get("connect-endpoint"));
  PD_ASSIGN_OR_RETURN(c.kinesis_endpoint, get("kinesis-endpoint"));
  PD_ASSIGN_OR_RETURN(c.s3_endpoint, get("s3-endpoint"));
  auto cap = [&](std::string_view key, int& out) -> absl::Status {
    PD_ASSIGN_OR_RETURN(std::string v, get(key));
    out = v.empty() ? 0 : std::stoi(v);
    return absl::OkStatus();
  };
  PD_RETURN_IF_ERROR(cap("max-calls-per-24h", c.max_calls_per_24h));
  PD_RETURN_IF_ERROR(cap("max-calls-per-7d", c.max_calls_per_7d));
  PD_RETURN_IF_ERROR(cap("max-customer-calls-per-24h", c.max_customer_calls_per_24h));
  PD_RETURN_IF_ERROR(cap("max-customer-calls-per-7d", c.max_customer_calls_per_7d));
  PD_ASSIGN_OR_RETURN(std::string lockout, get("abandon-lockout"));
  c.abandon_lockout = parse_duration(lockout).value_or(c.abandon_lockout);
  PD_ASSIGN_OR_RETURN(std::string rate, get("max-abandon-rate"));
  c.max_abandon_rate = parse_rate(rate).value_or(c.max_abandon_rate);
  PD_ASSIGN_OR_RETURN(c.disposition_attribute, get("disposition-attribute"));
  PD_ASSIGN_OR_RETURN(c.pacing, get("pacing"));
  auto decimal = [&](std::string_view key, double& out) -> absl::Status {
    PD_ASSIGN_OR_RETURN(std::string v, get(key));
    out = std::stod(v);
    return absl::OkStatus();
  };
  PD_RETURN_IF_ERROR(decimal("lines-per-agent", c.lines_per_agent));
  PD_RETURN_IF_ERROR(decimal("max-lines-per-agent", c.max_lines_per_agent));
  PD_ASSIGN_OR_RETURN(std::string target, get("target-abandon-rate"));
  c.target_abandon_rate = parse_rate(target).value_or(c.target_abandon_rate);
  PD_ASSIGN_OR_RETURN(std::string dispositions, get("dispositions"));
  if (!dispositions.empty()) {
    auto rules = parse_dispositions(dispositions);
    if (rules.ok()) c.retry.dispositions = std::make_shared<const DispositionRules>(*rules);
  }
  return c;
}

}  // namespace pd
