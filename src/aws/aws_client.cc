#include "aws/aws_client.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <thread>

#include "absl/strings/cord.h"
#include "aws/shared_config.h"
#include "aws/sigv4.h"
#include "core/status_macros.h"
#include "core/strings.h"

namespace pd::aws {
namespace {

constexpr char kErrorCodePayload[] = "type.googleapis.com/pd.aws.ErrorCode";

absl::Status with_code(absl::Status status, std::string_view code) {
  if (!code.empty()) status.SetPayload(kErrorCodePayload, absl::Cord(std::string(code)));
  return status;
}

bool one_of(std::string_view code, std::initializer_list<std::string_view> codes) {
  return std::find(codes.begin(), codes.end(), code) != codes.end();
}

// The text between <tag> and </tag> in `xml`, or empty (S3's error bodies
// are flat enough that this is all the XML we need).
std::string xml_element(std::string_view xml, std::string_view tag) {
  const std::string open = cat("<", tag, ">");
  const size_t start = xml.find(open);
  if (start == std::string_view::npos) return {};
  const size_t from = start + open.size();
  const size_t end = xml.find(cat("</", tag, ">"), from);
  if (end == std::string_view::npos) return {};
  return std::string(xml.substr(from, end - from));
}

struct AwsError {
  std::string code;
  std::string message;
};

AwsError parse_error(const HttpResponse& response) {
  AwsError e;
  // "x-amzn-ErrorType: ValidationException:http://internal.amazon.com/..."
  if (std::string t = response.header("x-amzn-errortype"); !t.empty())
    e.code = t.substr(0, t.find(':'));
  const std::string_view body = trim(response.body);
  if (!body.empty() && body.front() == '{') {
    const nlohmann::json j = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
    if (j.is_object()) {
      for (const char* key : {"__type", "code", "Code"}) {
        if (e.code.empty() && j.contains(key) && j[key].is_string())
          e.code = j[key].get<std::string>();
      }
      for (const char* key : {"message", "Message", "errorMessage"}) {
        if (e.message.empty() && j.contains(key) && j[key].is_string())
          e.message = j[key].get<std::string>();
      }
    }
  } else if (!body.empty() && body.front() == '<') {
    if (e.code.empty()) e.code = xml_element(body, "Code");
    e.message = xml_element(body, "Message");
  }
  // "com.amazonaws.connect#InvalidParameterException" -> the name alone.
  if (const size_t hash = e.code.rfind('#'); hash != std::string::npos) e.code.erase(0, hash + 1);
  if (const size_t colon = e.code.find(':'); colon != std::string::npos) e.code.resize(colon);
  if (e.message.empty() && e.code.empty()) e.message = std::string(body.substr(0, 200));
  return e;
}

}  // namespace

bool is_throttling_code(std::string_view code) {
  // botocore's list (retryhandler / standard retry mode).
  return one_of(
      code, {"Throttling", "ThrottlingException", "ThrottledException", "RequestThrottledException",
             "TooManyRequestsException", "ProvisionedThroughputExceededException",
             "TransactionInProgressException", "RequestLimitExceeded", "BandwidthLimitExceeded",
             "LimitExceededException", "RequestThrottled", "SlowDown", "PriorRequestNotComplete",
             "EC2ThrottledException"});
}

absl::Status classify_aws_error(std::string_view api, const HttpResponse& response) {
  const AwsError e = parse_error(response);
  const std::string what = e.code.empty() ? cat("HTTP ", response.status) : e.code;
  const std::string msg =
      e.message.empty() ? cat(api, ": ", what) : cat(api, ": ", what, ": ", e.message);
  const int s = response.status;
  const std::string_view c = e.code;

  absl::StatusCode code;
  if (s == 429 || is_throttling_code(c) || s >= 500 ||
      one_of(c, {"RequestTimeout", "RequestTimeoutException", "InternalFailure",
                 "InternalServiceError", "InternalServerError", "ServiceUnavailable",
                 "ServiceUnavailableException", "KMSThrottlingException"})) {
    code = absl::StatusCode::kUnavailable;
  } else if (s == 401 || s == 403 ||
             one_of(c, {"AccessDenied", "AccessDeniedException", "UnrecognizedClientException",
                        "InvalidSignatureException", "SignatureDoesNotMatch", "ExpiredToken",
                        "ExpiredTokenException", "InvalidClientTokenId", "InvalidAccessKeyId",
                        "MissingAuthenticationToken", "IncompleteSignature",
                        "UnauthorizedException", "RequestExpired"})) {
    code = absl::StatusCode::kPermissionDenied;
  } else if (s == 404 || one_of(c, {"ResourceNotFoundException", "NoSuchKey", "NoSuchBucket",
                                    "NotFoundException", "NotFound", "NoSuchUpload"})) {
    code = absl::StatusCode::kNotFound;
  } else if (one_of(c,
                    {"InvalidParameterException", "InvalidRequestException", "ValidationException",
                     "InvalidArgumentException", "InvalidArgument", "SerializationException",
                     "InvalidParameterValue", "InvalidParameterCombination", "MissingParameter",
                     "InvalidContactFlowException", "DestinationNotAllowedException",
                     "InvalidBucketName", "MalformedXML", "InvalidRequest"}) ||
             (s == 400 && c.empty())) {
    code = absl::StatusCode::kInvalidArgument;
  } else {
    code = absl::StatusCode::kFailedPrecondition;
  }
  return with_code(absl::Status(code, msg), e.code);
}

std::string aws_error_code(const absl::Status& status) {
  auto payload = status.GetPayload(kErrorCodePayload);
  return payload ? std::string(*payload) : std::string();
}

AwsClient::AwsClient(ServiceConfig service, std::shared_ptr<CredentialsProvider> credentials,
                     std::shared_ptr<HttpClient> http, RetryOptions retry,
                     std::map<std::string, RateLimit> limits, Clock* clock)
    : service_(std::move(service)),
      credentials_(std::move(credentials)),
      http_(std::move(http)),
      retry_(retry),
      clock_(clock),
      sleep_([](Micros d) { std::this_thread::sleep_for(d); }),
      rng_(std::random_device{}()) {
  while (!service_.endpoint.empty() && service_.endpoint.back() == '/')
    service_.endpoint.pop_back();
  if (retry_.max_attempts < 1) retry_.max_attempts = 1;
  const MonoTime now = clock_->now();
  for (const auto& [api, limit] : limits)
    if (limit.per_second > 0)
      buckets_.emplace(api, TokenBucket(limit.per_second, std::max(1.0, limit.burst), now));
}

Micros AwsClient::backoff(int attempt) {
  // Full jitter (uniform in [0, min(cap, base * 2^attempt))): spreads the
  // retries of many throttled callers instead of having them collide again.
  const double ceiling = std::min(static_cast<double>(retry_.max_delay.count()) * 1000.0,
                                  static_cast<double>(retry_.base_delay.count()) * 1000.0 *
                                      std::pow(2.0, std::min(attempt - 1, 30)));
  std::lock_guard<std::mutex> lock(rng_mu_);
  std::uniform_real_distribution<double> dist(0.0, ceiling);
  return Micros{static_cast<int64_t>(dist(rng_))};
}

absl::StatusOr<HttpResponse> AwsClient::call(const AwsCall& call) {
  stats_.calls++;
  std::string url = cat(service_.endpoint, call.path.empty() ? "/" : call.path);
  for (size_t i = 0; i < call.query.size(); ++i)
    url += cat(i == 0 ? "?" : "&", uri_encode(call.query[i].first), "=",
               uri_encode(call.query[i].second));

  absl::Status last;
  for (int attempt = 1; attempt <= retry_.max_attempts; ++attempt) {
    // Every attempt spends a token: retries count against the API's quota too.
    auto bucket = buckets_.find(call.api);  // the map itself never changes after construction
    if (bucket != buckets_.end()) {
      bool counted = false;
      for (;;) {
        Micros wait;
        {
          std::lock_guard<std::mutex> lock(buckets_mu_);
          wait = bucket->second.try_take(clock_->now());
        }
        if (wait == Micros{0}) break;
        if (!counted) stats_.rate_limited_waits++;
        counted = true;
        sleep_(wait);  // outside the lock: other APIs' callers go on meanwhile
      }
    }

    auto creds = credentials_->credentials();
    if (!creds.ok())
      return absl::Status(creds.status().code(), cat(call.api, ": ", sv(creds.status().message())));
    HttpRequest request{call.method, url, call.headers, call.body};
    request.headers.emplace_back("User-Agent", "powerdialer");
    auto signed_req =
        sign_request(request, *creds, service_.region, service_.service,
                     std::chrono::floor<std::chrono::milliseconds>(clock_->wall_now()));
    if (!signed_req.ok())
      return absl::InvalidArgumentError(cat(call.api, ": ", sv(signed_req.status().message())));

    auto response = http_->send(request);
    if (response.ok() && response->status / 100 == 2) return response;
    if (!response.ok()) {
      last = absl::UnavailableError(cat(call.api, ": ", sv(response.status().message())));
    } else {
      last = classify_aws_error(call.api, *response);
      if (is_throttling_code(aws_error_code(last)) || response->status == 429) stats_.throttled++;
    }
    if (last.code() != absl::StatusCode::kUnavailable) return last;
    if (attempt == retry_.max_attempts) break;
    stats_.retries++;
    sleep_(backoff(attempt));
  }
  return with_code(absl::UnavailableError(cat(sv(last.message()), " (gave up after ",
                                              retry_.max_attempts, " attempts)")),
                   aws_error_code(last));
}

namespace {
absl::StatusOr<nlohmann::json> parse_json_response(std::string_view api, const HttpResponse& resp) {
  if (trim(resp.body).empty()) return nlohmann::json::object();
  nlohmann::json j = nlohmann::json::parse(resp.body, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded())
    return absl::InternalError(cat(api, ": response is not JSON: ", resp.body.substr(0, 200)));
  return j;
}
}  // namespace

absl::StatusOr<nlohmann::json> AwsClient::rest_json(
    std::string_view api, std::string_view method, std::string path, const nlohmann::json* body,
    std::vector<std::pair<std::string, std::string>> query) {
  AwsCall c;
  c.api = std::string(api);
  c.method = std::string(method);
  c.path = std::move(path);
  c.query = std::move(query);
  if (body) {
    c.body = body->dump();
    c.headers.emplace_back("Content-Type", "application/json");
  }
  PD_ASSIGN_OR_RETURN(HttpResponse resp, call(c));
  return parse_json_response(api, resp);
}

absl::StatusOr<nlohmann::json> AwsClient::json_rpc(std::string_view target_prefix,
                                                   std::string_view api,
                                                   const nlohmann::json& body) {
  AwsCall c;
  c.api = std::string(api);
  c.method = "POST";  // path: "/", AwsCall's default
  c.body = body.dump();
  c.headers = {{"Content-Type", "application/x-amz-json-1.1"},
               {"X-Amz-Target", cat(target_prefix, ".", api)}};
  PD_ASSIGN_OR_RETURN(HttpResponse resp, call(c));
  return parse_json_response(api, resp);
}

absl::StatusOr<std::string> resolve_endpoint(std::string_view service, std::string_view region,
                                             std::string_view config_override) {
  std::string env_name = cat("AWS_ENDPOINT_URL_", to_upper(service));
  std::replace(env_name.begin(), env_name.end(), '-', '_');
  std::string url, source;
  if (!config_override.empty()) {
    url = std::string(trim(config_override));
    source = "the campaign config";
  } else if (auto v = env_var(env_name.c_str())) {
    url = *v;
    source = env_name;
  } else if (auto all = env_var("AWS_ENDPOINT_URL")) {
    url = *all;
    source = "AWS_ENDPOINT_URL";
  } else {
    if (region.empty())
      return absl::FailedPreconditionError(
          cat("no region to build the ", service, " endpoint from"));
    return cat("https://", service, ".", region, ".amazonaws.com");
  }
  auto parts = split_url(url);
  if (!parts.ok() || (parts->scheme != "http" && parts->scheme != "https"))
    return absl::InvalidArgumentError(
        cat("endpoint '", url, "' from ", source, " is not an http(s):// URL"));
  while (!url.empty() && url.back() == '/') url.pop_back();
  return url;
}

absl::StatusOr<std::string> resolve_region(std::string_view config_value) {
  if (!trim(config_value).empty()) return std::string(trim(config_value));
  if (auto r = env_var("AWS_REGION")) return *r;
  if (auto r = env_var("AWS_DEFAULT_REGION")) return *r;
  const SharedConfigPaths paths = shared_config_paths();
  const Profile profile = load_profile(paths);
  if (std::string r = profile.get("region"); !r.empty()) return r;
  return absl::FailedPreconditionError(
      cat("no AWS region: set it in the campaign config, AWS_REGION, AWS_DEFAULT_REGION, or as "
          "'region' of profile '",
          paths.profile, "' in ", paths.config_file));
}

}  // namespace pd::aws
