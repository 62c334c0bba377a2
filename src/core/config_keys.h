// The campaign configuration keys (the sample's DialerConfig table plus
// ours): their types, defaults, allowed values and descriptions. Every way of
// setting configuration (CLI, HTTP API) validates through here, so the rules
// and messages are the same everywhere.
#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "core/retry_policy.h"

namespace pd {

enum class ConfigKind {
  kText,        // free text (non-empty, no control characters)
  kConnectId,   // Amazon Connect resource id: UUID or the ARN that ends in one
  kInteger,     // whole number in [min, max]
  kDuration,    // "90", "90s", "5m", "2h", "1d" within [min, max] seconds
  kRegionCode,  // ISO 3166-1 alpha-2 region that libphonenumber knows
  kBucket,      // S3 bucket name
  kLocation,    // local path or s3://bucket/key
  kAwsRegion,   // AWS region name: us-east-1
  kStream,      // Kinesis stream name or ARN
  kPhone,       // E.164 phone number
  kChoice,      // one of `choices` ("GENERAL|CAMPAIGN")
  kUrl,         // http(s)://host[:port][/path]
  kRate,        // a share: "3%" or "0.03" in [min, max] percent
  kDispositions,  // disposition code -> action map (core/retry_policy.h)
  kDailyHours,  // local hours "08:00-21:00" (24:00 = end of day); with `choices` "closed" too
  kDateList,    // dates "2026-12-25,2027-01-01"
  kTimeZone,    // IANA time zone name: America/Chicago
  kDecimal,     // a number such as 1.5 in [min, max]
};

struct ConfigKey {
  std::string_view name;
  ConfigKind kind;
  std::string_view default_value;  // empty: unset by default
  std::string_view description;
  long long min = 0;  // kInteger / kDuration (seconds)
  long long max = 0;
  std::string_view choices;  // kChoice: allowed values separated by '|'
};

std::span<const ConfigKey> all_config_keys();
const ConfigKey* find_config_key(std::string_view name);

// Checks `value` for `key` and returns its canonical form (durations as
// "5m", ids lower-cased, region codes upper-cased). The error names the key
// and says what is allowed.
absl::StatusOr<std::string> validate_config_value(std::string_view key, std::string_view value);

// Parses "3%" or "0.03" into 0.03; nullopt when it is not a number in
// [0, 1] (0% to 100%).
std::optional<double> parse_rate(std::string_view text);
// "3%", "2.5%".
std::string format_rate(double rate);

// Parses "90", "90s", "5m", "2h", "1d" into seconds.
std::optional<std::chrono::seconds> parse_duration(std::string_view text);
// The canonical text for a duration: the largest unit that divides it.
std::string format_duration(std::chrono::seconds d);

// The typed view of one campaign's configuration, with defaults applied.
struct CampaignConfig {
  std::string connect_instance_id;
  std::string contact_flow_id;
  std::string queue_id;
  std::string input_file;
  std::string io_bucket;
  std::string output_file;
  std::string default_region = "US";
  RetryRules retry;

  // Amazon Connect backend.
  std::string aws_region;     // empty: from the environment / AWS config
  std::string agent_stream;   // Kinesis stream of agent events
  std::string ctr_stream;     // Kinesis stream of contact trace records
  std::string source_phone;   // caller id (E.164); empty: the flow's default
  std::string traffic_type;   // GENERAL or CAMPAIGN; empty: Connect's default
  std::string answering_machine_detection = "off";  // off, on, on-await-prompt
  std::optional<std::chrono::seconds> ring_timeout;  // Connect's RingTimeoutInSeconds
  int dial_rate = 2;   // StartOutboundVoiceContact requests/s (the account quota)
  int dial_burst = 5;
  int metric_rate = 5;  // GetCurrentMetricData requests/s
  int metric_burst = 8;
  std::string connect_endpoint;  // overrides, e.g. a local stand-in
  std::string kinesis_endpoint;
  std::string s3_endpoint;

  // Compliance limits (0: no cap). Calls are counted across every campaign
  // in the store: per phone number, and per customer id.
  int max_calls_per_24h = 0;
  int max_calls_per_7d = 0;
  int max_customer_calls_per_24h = 0;
  int max_customer_calls_per_7d = 0;
  // After an abandoned call to a number, no call to it for this long.
  std::chrono::seconds abandon_lockout{72 * 3600};
  // A campaign whose 30-day abandon rate reaches this share stops dialing.
  double max_abandon_rate = 0.03;
  // The contact attribute the agent's wrap-up code is read from (CTRs).
  std::string disposition_attribute = "disposition";

  // Pacing (engine/pacer.h): how many calls are placed per free agent.
  std::string pacing = "power";  // power, progressive, predictive, vicidial-adapt
  double lines_per_agent = 1.5;  // progressive
  double max_lines_per_agent = 3.0;
  double target_abandon_rate = 0.025;  // predictive steers to this, <= max_abandon_rate

  // Where `load` without a file reads: `inputfile` as set, except that a
  // bare file name with `io-bucket` set is that bucket's object, as in the
  // reference sample (inputfile "list.csv", io-bucket "b" → s3://b/list.csv).
  // Empty when no inputfile is set.
  std::string input_location() const;

  // `stored` holds the values set for the campaign; missing keys take their
  // defaults. Values are re-validated so a hand-edited store is caught (the
  // error's advice names `campaign`).
  static absl::StatusOr<CampaignConfig> from(const std::map<std::string, std::string>& stored,
                                             std::string_view campaign = {});
};

}  // namespace pd
