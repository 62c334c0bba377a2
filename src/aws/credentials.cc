#include "aws/credentials.h"

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <vector>

#include "aws/shared_config.h"
#include "core/status_macros.h"
#include "core/strings.h"
#include "core/time_format.h"

namespace pd::aws {
namespace {

// Refresh temporary credentials this long before they expire, so a request
// signed just before the refresh still reaches AWS with valid ones.
constexpr auto kRefreshAhead = std::chrono::minutes(5);
// Off EC2 the metadata address does not answer: fail fast.
constexpr auto kImdsTimeout = std::chrono::milliseconds(1000);
constexpr auto kEcsTimeout = std::chrono::milliseconds(2000);
constexpr std::string_view kEcsHost = "http://169.254.170.2";
constexpr std::string_view kImdsHost = "http://169.254.169.254";

// One source's answer: credentials, nothing there (`why` says what was
// looked at), or a hard error that ends the search.
struct Attempt {
  std::optional<Credentials> found;
  std::string tried;
  absl::Status error;
};

Attempt from_environment() {
  auto id = env_var("AWS_ACCESS_KEY_ID");
  auto secret = env_var("AWS_SECRET_ACCESS_KEY");
  if (id && secret) {
    Credentials c{*id, *secret, env_var("AWS_SESSION_TOKEN").value_or(""), std::nullopt,
                  "environment"};
    return {c, "", absl::OkStatus()};
  }
  if (id || secret)
    return {std::nullopt,
            cat("environment (only ", id ? "AWS_ACCESS_KEY_ID" : "AWS_SECRET_ACCESS_KEY", " set)"),
            absl::OkStatus()};
  return {std::nullopt, "environment (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY not set)",
          absl::OkStatus()};
}

Attempt from_shared_files() {
  const SharedConfigPaths paths = shared_config_paths();
  const Profile profile = load_profile(paths);
  const std::string where =
      cat("profile '", paths.profile, "' in ", paths.credentials_file, " / ", paths.config_file);
  if (profile.found_in.empty()) {
    // Like the AWS CLI: a profile asked for by name must exist.
    if (paths.profile_from_env)
      return {std::nullopt, "",
              absl::UnauthenticatedError(cat("AWS credentials: ", where, ": no such profile"))};
    return {std::nullopt, cat(where, " (not found)"), absl::OkStatus()};
  }
  const std::string id = profile.get("aws_access_key_id");
  const std::string secret = profile.get("aws_secret_access_key");
  if (!id.empty() && !secret.empty()) {
    Credentials c{id, secret, profile.get("aws_session_token"), std::nullopt,
                  cat("profile ", paths.profile)};
    return {c, "", absl::OkStatus()};
  }
  std::string missing = "no aws_access_key_id/aws_secret_access_key";
  for (const char* unsupported : {"role_arn", "sso_start_url", "sso_session", "credential_process"})
    if (!profile.get(unsupported).empty())
      missing = cat("uses ", unsupported,
                    ", which this client does not support; export keys or "
                    "use `aws configure export-credentials`");
  return {std::nullopt, cat(where, " (", missing, ")"), absl::OkStatus()};
}

// The JSON both the ECS endpoint and IMDS answer with.
absl::StatusOr<Credentials> parse_credentials_json(std::string_view body, std::string source) {
  nlohmann::json j = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return absl::UnavailableError(cat(source, ": credentials are not JSON"));
  if (j.contains("Code") && j["Code"].is_string() && j["Code"] != "Success")
    return absl::UnavailableError(
        cat(source, ": Code ", j["Code"].get<std::string>(), ": ", j.value("Message", "")));
  auto str = [&](const char* k) {
    return j.contains(k) && j[k].is_string() ? j[k].get<std::string>() : std::string();
  };
  Credentials c{str("AccessKeyId"), str("SecretAccessKey"), str("Token"), std::nullopt,
                std::move(source)};
  if (c.access_key_id.empty() || c.secret_access_key.empty())
    return absl::UnavailableError(cat(c.source, ": no AccessKeyId/SecretAccessKey in the answer"));
  if (const std::string exp = str("Expiration"); !exp.empty()) {
    c.expiration = parse_iso8601(exp);
    if (!c.expiration)
      return absl::UnavailableError(cat(c.source, ": unreadable Expiration '", exp, "'"));
  }
  return c;
}

absl::StatusOr<HttpResponse> get_ok(HttpClient& http, HttpRequest req) {
  PD_ASSIGN_OR_RETURN(HttpResponse resp, http.send(req));
  if (resp.status / 100 != 2)
    return absl::UnavailableError(
        cat(req.method, " ", req.url, ": HTTP ", resp.status, " ", trim(resp.body.substr(0, 200))));
  return resp;
}

Attempt from_ecs(HttpClient& http) {
  std::string url;
  if (auto rel = env_var("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI")) {
    url = cat(kEcsHost, *rel);
  } else if (auto full = env_var("AWS_CONTAINER_CREDENTIALS_FULL_URI")) {
    url = *full;
  } else {
    return {std::nullopt, "ECS container credentials (AWS_CONTAINER_CREDENTIALS_*_URI not set)",
            absl::OkStatus()};
  }
  HttpRequest req{.method = "GET", .url = url, .headers = {}, .body = {}, .timeout = kEcsTimeout};
  std::string token;
  if (auto file = env_var("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE")) {
    std::ifstream in(*file);
    if (!in)
      return {std::nullopt, "",
              absl::UnauthenticatedError(cat("AWS credentials: ECS: cannot read "
                                             "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE ",
                                             *file))};
    std::ostringstream ss;
    ss << in.rdbuf();
    token = std::string(trim(ss.str()));
  } else if (auto tok = env_var("AWS_CONTAINER_AUTHORIZATION_TOKEN")) {
    token = *tok;
  }
  if (!token.empty()) req.headers.emplace_back("Authorization", token);
  auto resp = get_ok(http, req);
  if (!resp.ok())
    return {std::nullopt, cat("ECS container credentials: ", sv(resp.status().message())),
            absl::OkStatus()};
  auto c = parse_credentials_json(resp->body, "ecs");
  if (!c.ok())
    return {std::nullopt, cat("ECS container credentials: ", sv(c.status().message())),
            absl::OkStatus()};
  return {*c, "", absl::OkStatus()};
}

Attempt from_imds(HttpClient& http) {
  if (to_lower(env_var("AWS_EC2_METADATA_DISABLED").value_or("")) == "true")
    return {std::nullopt, "EC2 instance metadata (AWS_EC2_METADATA_DISABLED=true)",
            absl::OkStatus()};
  std::string base = env_var("AWS_EC2_METADATA_SERVICE_ENDPOINT").value_or(std::string(kImdsHost));
  while (!base.empty() && base.back() == '/') base.pop_back();
  auto fail = [&](const absl::Status& s) {
    return Attempt{std::nullopt, cat("EC2 instance metadata at ", base, ": ", sv(s.message())),
                   absl::OkStatus()};
  };

  // IMDSv2: a session token first (PUT), then every read carries it.
  HttpRequest token_req{.method = "PUT",
                        .url = cat(base, "/latest/api/token"),
                        .headers = {{"X-aws-ec2-metadata-token-ttl-seconds", "21600"}},
                        .body = {},
                        .timeout = kImdsTimeout};
  auto token = get_ok(http, token_req);
  if (!token.ok()) return fail(token.status());
  const Headers auth = {{"X-aws-ec2-metadata-token", std::string(trim(token->body))}};

  const std::string roles_url = cat(base, "/latest/meta-data/iam/security-credentials/");
  auto roles = get_ok(
      http,
      {.method = "GET", .url = roles_url, .headers = auth, .body = {}, .timeout = kImdsTimeout});
  if (!roles.ok()) return fail(roles.status());
  std::string_view role = trim(roles->body);
  role = role.substr(0, role.find('\n'));
  if (role.empty()) return fail(absl::NotFoundError("no IAM role attached to the instance"));

  auto creds = get_ok(http, {.method = "GET",
                             .url = cat(roles_url, role),
                             .headers = auth,
                             .body = {},
                             .timeout = kImdsTimeout});
  if (!creds.ok()) return fail(creds.status());
  auto c = parse_credentials_json(creds->body, "imds");
  if (!c.ok()) return fail(c.status());
  return {*c, "", absl::OkStatus()};
}

class DefaultChain final : public CredentialsProvider {
 public:
  DefaultChain(std::shared_ptr<HttpClient> http, Clock* clock)
      : http_(std::move(http)), clock_(clock) {}

  absl::StatusOr<Credentials> credentials() override {
    std::lock_guard<std::mutex> lock(mu_);
    if (cached_ &&
        (!cached_->expiration || clock_->wall_now() < *cached_->expiration - kRefreshAhead))
      return *cached_;
    auto fresh = resolve();
    if (!fresh.ok()) {
      // A failed refresh keeps serving credentials that have not expired yet.
      if (cached_ && clock_->wall_now() < *cached_->expiration) return *cached_;
      return fresh.status();
    }
    cached_ = *fresh;
    return *cached_;
  }

 private:
  absl::StatusOr<Credentials> resolve() {
    std::vector<std::string> tried;
    for (int source = 0; source < 4; ++source) {
      Attempt a = source == 0   ? from_environment()
                  : source == 1 ? from_shared_files()
                  : source == 2 ? from_ecs(*http_)
                                : from_imds(*http_);
      if (!a.error.ok()) return a.error;
      if (a.found) return *a.found;
      tried.push_back(std::move(a.tried));
      // With a container endpoint configured, the SDKs stop there.
      if (source == 2 && (env_var("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI") ||
                          env_var("AWS_CONTAINER_CREDENTIALS_FULL_URI")))
        break;
    }
    std::string msg = "no AWS credentials found; tried:";
    for (const auto& t : tried) msg += cat("\n  - ", t);
    return absl::UnauthenticatedError(msg);
  }

  std::shared_ptr<HttpClient> http_;
  Clock* clock_;
  std::mutex mu_;
  std::optional<Credentials> cached_;  // guarded by mu_
};

}  // namespace

std::shared_ptr<CredentialsProvider> default_credentials_chain(std::shared_ptr<HttpClient> http,
                                                               Clock* clock) {
  if (!http) http = std::make_shared<HttpClient>();
  return std::make_shared<DefaultChain>(std::move(http), clock);
}

}  // namespace pd::aws
