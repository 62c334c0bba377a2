// AWS credentials, found in the order the AWS SDKs use:
//   1. environment: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN
//   2. shared files: ~/.aws/credentials and ~/.aws/config (AWS_PROFILE,
//      AWS_SHARED_CREDENTIALS_FILE, AWS_CONFIG_FILE), static keys of a profile
//   3. ECS container credentials: AWS_CONTAINER_CREDENTIALS_RELATIVE_URI
//      (against http://169.254.170.2) or AWS_CONTAINER_CREDENTIALS_FULL_URI,
//      with AWS_CONTAINER_AUTHORIZATION_TOKEN(_FILE)
//   4. EC2 instance metadata, IMDSv2 (token PUT, then the role's
//      credentials); AWS_EC2_METADATA_DISABLED=true skips it,
//      AWS_EC2_METADATA_SERVICE_ENDPOINT overrides the address
// Temporary credentials (with a session token and an expiry) are cached and
// refreshed before they expire (5 minutes ahead).
// Thread-safety: credentials() may be called from any thread.
#pragma once

#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "aws/http.h"
#include "core/clock.h"

namespace pd::aws {

struct Credentials {
  std::string access_key_id;
  std::string secret_access_key;
  std::string session_token;  // empty for long-term keys
  std::optional<WallTime> expiration;
  std::string source;  // "environment", "profile default", "ecs", "imds": for messages
};

class CredentialsProvider {
 public:
  virtual ~CredentialsProvider() = default;
  // kUnauthenticated when no source has credentials: the message lists
  // what was tried.
  virtual absl::StatusOr<Credentials> credentials() = 0;
};

// Fixed credentials (tests, the Connect stand-in).
class StaticCredentialsProvider final : public CredentialsProvider {
 public:
  explicit StaticCredentialsProvider(Credentials c) : c_(std::move(c)) {}
  absl::StatusOr<Credentials> credentials() override { return c_; }

 private:
  Credentials c_;
};

// The default chain above. Environment variables are read when credentials
// are first needed and at each refresh.
std::shared_ptr<CredentialsProvider> default_credentials_chain(
    std::shared_ptr<HttpClient> http, Clock* clock = &system_clock());

}  // namespace pd::aws
