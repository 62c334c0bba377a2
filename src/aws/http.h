// Blocking HTTP(S) client over libcurl, for the AWS APIs. Thread-safe: each
// send() uses its own easy handle (connections are reused per thread).
#pragma once

#include <chrono>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"

namespace pd::aws {

using Headers = std::vector<std::pair<std::string, std::string>>;

struct HttpRequest {
  std::string method = "GET";
  // Full URL, path and query already percent-encoded:
  // "https://connect.us-east-1.amazonaws.com/contact/outbound-voice".
  std::string url;
  Headers headers;
  std::string body;
  // Overrides the client's request_timeout (and caps its connect timeout)
  // when non-zero: instance-metadata lookups must fail fast off EC2.
  std::chrono::milliseconds timeout{0};
};

struct HttpResponse {
  int status = 0;
  Headers headers;  // names lower-cased
  std::string body;
  // The first header named `name` (case-insensitive), or empty.
  std::string header(std::string_view name) const;
};

struct HttpOptions {
  std::chrono::milliseconds connect_timeout{3000};
  std::chrono::milliseconds request_timeout{30000};
};

// The parts of an absolute URL "scheme://authority/path?query" (no
// decoding). `host` is the authority as a Host header carries it: the
// default port for the scheme is dropped.
struct UrlParts {
  std::string scheme;  // lower-case
  std::string host;
  std::string path;   // "/" when empty
  std::string query;  // without '?'
};
absl::StatusOr<UrlParts> split_url(std::string_view url);

class HttpClient {
 public:
  explicit HttpClient(HttpOptions options = {});
  virtual ~HttpClient() = default;
  // Any HTTP status is a response; only transport failures (refused,
  // timeout, TLS) are errors: kUnavailable naming the URL and the cause.
  virtual absl::StatusOr<HttpResponse> send(const HttpRequest& request);

 private:
  HttpOptions options_;
};

}  // namespace pd::aws
