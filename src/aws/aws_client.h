// A small AWS client of our own (the AWS SDK for C++ is not packaged for
// Debian): signed requests to one service, with the retries and the per-API
// rate limits the dialer needs. Used by the Amazon Connect backend, the
// Kinesis consumer and S3 object I/O.
//
// Every call is blocking and thread-safe: callers that must not block (the
// engine's loop) run calls on their own worker threads and post() results
// back.
//
// Errors: a call that still fails after its retries returns
//   kUnavailable        throttling (429, ThrottlingException,
//                       TooManyRequestsException, ...), 5xx, timeouts and
//                       transport errors: try again later
//   kInvalidArgument    4xx validation errors (InvalidParameterException,
//                       InvalidRequestException, ValidationException, ...)
//   kNotFound           ResourceNotFoundException, NoSuchKey, NoSuchBucket
//   kPermissionDenied   AccessDenied(Exception), signature and credential
//                       errors (403)
//   kFailedPrecondition other 4xx (e.g. ServiceQuotaExceededException, a
//                       quota that retrying will not fix; ExpiredIteratorException)
// LimitExceededException counts as throttling, as in botocore: Kinesis uses
// it for its per-shard read rate, and Connect answers it with 429.
//
// Retries re-send the very same request (same body, re-signed): for
// StartOutboundVoiceContact the body carries the attempt's ClientToken, so
// Connect treats a re-sent dial as the same call, not a second one. That is
// what makes retrying a throttled or timed-out dial safe; calls without such
// a token must be idempotent by nature (reads, puts of the same object).
// The message starts with the API name and AWS's error code:
// "StartOutboundVoiceContact: InvalidParameterException: <AWS message>".
// aws_error_code() returns the code alone.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "aws/credentials.h"
#include "aws/http.h"
#include "core/clock.h"
#include "core/token_bucket.h"

namespace pd::aws {

// Where a service is and how requests to it are signed.
struct ServiceConfig {
  std::string service;   // signing name: "connect", "kinesis", "s3"
  std::string region;    // "us-east-1"
  std::string endpoint;  // base URL, e.g. "https://connect.us-east-1.amazonaws.com"
};

struct RateLimit {
  double per_second = 0;  // sustained
  double burst = 0;       // bucket size
};

struct RetryOptions {
  int max_attempts = 6;  // including the first
  std::chrono::milliseconds base_delay{100};
  std::chrono::milliseconds max_delay{20000};
};

// One API request. `path` is the raw path (each segment already
// percent-encoded as the service expects, e.g. "/contact/outbound-voice");
// query pairs are raw (the client encodes them).
struct AwsCall {
  std::string api;  // "StartOutboundVoiceContact": rate-limit key and error text
  std::string method = "GET";
  std::string path = "/";
  std::vector<std::pair<std::string, std::string>> query;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
};

// Counters for /metrics and tests.
struct AwsClientStats {
  std::atomic<int64_t> calls{0};
  std::atomic<int64_t> retries{0};
  std::atomic<int64_t> throttled{0};           // responses that were throttling errors
  std::atomic<int64_t> rate_limited_waits{0};  // calls that waited for a token
};

class AwsClient {
 public:
  // `limits` maps an api name to its token bucket; apis not listed are not
  // rate limited. `clock` is for the buckets and backoff (tests may pass a
  // fake; real code passes system_clock()).
  AwsClient(ServiceConfig service, std::shared_ptr<CredentialsProvider> credentials,
            std::shared_ptr<HttpClient> http, RetryOptions retry = {},
            std::map<std::string, RateLimit> limits = {}, Clock* clock = &system_clock());

  // Waits for the api's token, signs, sends, and retries throttling, 5xx and
  // transport errors with exponential backoff and full jitter. Returns the
  // 2xx response; errors as described at the top of this file.
  absl::StatusOr<HttpResponse> call(const AwsCall& call);

  // REST-JSON (Amazon Connect): JSON body in and out.
  absl::StatusOr<nlohmann::json> rest_json(
      std::string_view api, std::string_view method, std::string path, const nlohmann::json* body,
      std::vector<std::pair<std::string, std::string>> query = {});
  // JSON 1.1 RPC (Kinesis): X-Amz-Target "<target_prefix>.<api>".
  absl::StatusOr<nlohmann::json> json_rpc(std::string_view target_prefix, std::string_view api,
                                          const nlohmann::json& body);

  const ServiceConfig& service() const { return service_; }
  const AwsClientStats& stats() const { return stats_; }

  // How the client waits for a token or between retries. Default: sleeps the
  // calling thread. Tests pass one that advances a fake clock and records
  // the waits. REQUIRES: no call() in progress.
  void set_sleep_for_testing(std::function<void(Micros)> sleep) { sleep_ = std::move(sleep); }

 private:
  Micros backoff(int attempt);  // full jitter before retry `attempt` (1-based)

  ServiceConfig service_;
  std::shared_ptr<CredentialsProvider> credentials_;
  std::shared_ptr<HttpClient> http_;
  RetryOptions retry_;
  Clock* clock_;
  std::mutex buckets_mu_;
  std::map<std::string, TokenBucket> buckets_;  // guarded by buckets_mu_
  AwsClientStats stats_;
  std::function<void(Micros)> sleep_;
  std::mutex rng_mu_;
  std::mt19937_64 rng_;  // guarded by rng_mu_
};

// The error status for a non-2xx response to `api`, classified as described
// at the top of this file (kUnavailable for what is worth retrying).
absl::Status classify_aws_error(std::string_view api, const HttpResponse& response);
// Whether an AWS error code means "slow down" (ThrottlingException, ...).
bool is_throttling_code(std::string_view aws_code);

// AWS's error code carried by a status from AwsClient ("ThrottlingException"),
// or empty.
std::string aws_error_code(const absl::Status& status);

// The base URL for `service` ("connect", "kinesis", "s3"), as the AWS SDKs
// resolve it: `config_override` (a campaign config key) first, then
// AWS_ENDPOINT_URL_<SERVICE> (CONNECT, KINESIS, S3), then AWS_ENDPOINT_URL,
// then https://<service>.<region>.amazonaws.com. An override must be an
// http(s) URL; the error names where it came from.
absl::StatusOr<std::string> resolve_endpoint(std::string_view service, std::string_view region,
                                             std::string_view config_override = {});

// The region: `config_value` (campaign config) first, then AWS_REGION,
// AWS_DEFAULT_REGION, then the profile's region in the shared config file.
// kFailedPrecondition naming all of those when none is set.
absl::StatusOr<std::string> resolve_region(std::string_view config_value = {});

}  // namespace pd::aws
