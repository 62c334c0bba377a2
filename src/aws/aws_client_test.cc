#include "aws/aws_client.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <mutex>
#include <vector>

#include "aws/aws_test_util.h"
#include "aws/sigv4.h"
#include "core/strings.h"

namespace pd::aws {
namespace {

using testing::FakeClock;
using testing::LocalServer;
using testing::ScopedEnv;

const Credentials kCreds{"AKIDCLIENT", "client/secret", "", std::nullopt, "test"};

// A fake Connect: every request is checked with verify_request() (as the
// Connect stand-in does) and handed to `respond`, which sees the attempt
// number (1-based) for its path.
class FakeAws {
 public:
  explicit FakeAws(FakeClock& clock) : clock_(clock) {
    auto handler = [this](const httplib::Request& req, httplib::Response& res) {
      handle(req, res);
    };
    server_.server().Get(".*", handler);
    server_.server().Post(".*", handler);
    server_.server().Put(".*", handler);
    server_.server().Delete(".*", handler);
    server_.start();
  }

  struct Seen {
    std::string method, target, body, authorization, content_type, amz_target;
    absl::Status signature;
  };

  std::function<void(int attempt, const httplib::Request&, httplib::Response&)> respond =
      [](int, const httplib::Request&, httplib::Response& res) {
        res.set_content("{}", "application/json");
      };

  std::vector<Seen> seen() {
    std::lock_guard<std::mutex> lock(mu_);
    return seen_;
  }
  std::string url() const { return server_.url(); }

 private:
  void handle(const httplib::Request& req, httplib::Response& res) {
    std::string path, query;
    testing::split_target(req.target, path, query);
    VerifyOptions vo;
    vo.now = clock_.wall_now();
    vo.expected_service = "connect";
    const absl::Status sig = verify_request(
        req.method, path, query, testing::headers_of(req), req.body,
        [](std::string_view id) -> std::optional<std::string> {
          if (id == kCreds.access_key_id) return kCreds.secret_access_key;
          return std::nullopt;
        },
        vo);
    int attempt;
    {
      std::lock_guard<std::mutex> lock(mu_);
      seen_.push_back({req.method, req.target, req.body, req.get_header_value("Authorization"),
                       req.get_header_value("Content-Type"), req.get_header_value("X-Amz-Target"),
                       sig});
      attempt = static_cast<int>(seen_.size());
    }
    if (!sig.ok()) {
      res.status = 403;
      res.set_header("x-amzn-ErrorType", sigv4_error_code(sig));
      res.set_content(nlohmann::json{{"message", std::string(sig.message())}}.dump(),
                      "application/json");
      return;
    }
    respond(attempt, req, res);
  }

  FakeClock& clock_;
  LocalServer server_;
  std::mutex mu_;
  std::vector<Seen> seen_;
};

class AwsClientTest : public ::testing::Test {
 protected:
  AwsClientTest() : aws_(clock_) {}

  std::unique_ptr<AwsClient> client(RetryOptions retry = {},
                                    std::map<std::string, RateLimit> limits = {}) {
    auto c = std::make_unique<AwsClient>(ServiceConfig{"connect", "us-east-1", aws_.url()},
                                         std::make_shared<StaticCredentialsProvider>(kCreds),
                                         std::make_shared<HttpClient>(), retry, std::move(limits),
                                         &clock_);
    // Waiting moves the fake clock instead of the test's wall time.
    c->set_sleep_for_testing([this](Micros d) {
      sleeps_.push_back(d);
      clock_.advance(d);
    });
    return c;
  }

  static void throttle(httplib::Response& res) {
    res.status = 429;
    res.set_header("x-amzn-ErrorType", "TooManyRequestsException:http://internal.amazon.com/");
    res.set_content(R"({"message":"Rate exceeded"})", "application/json");
  }

  FakeClock clock_;
  FakeAws aws_;
  std::vector<Micros> sleeps_;
};

const nlohmann::json kDial = {{"InstanceId", "i-1"},
                              {"ContactFlowId", "f-1"},
                              {"DestinationPhoneNumber", "+15555550100"},
                              {"ClientToken", "attempt-42"}};

TEST_F(AwsClientTest, RetriesThrottlingWithTheSameRequestThenSucceeds) {
  aws_.respond = [](int attempt, const httplib::Request&, httplib::Response& res) {
    if (attempt <= 2) return throttle(res);
    res.set_content(R"({"ContactId":"c-1"})", "application/json");
  };
  auto c = client(RetryOptions{5, std::chrono::milliseconds(100), std::chrono::milliseconds(1000)});
  auto out = c->rest_json("StartOutboundVoiceContact", "PUT", "/contact/outbound-voice", &kDial);
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ((*out)["ContactId"], "c-1");

  const auto seen = aws_.seen();
  ASSERT_EQ(seen.size(), 3u);
  for (const auto& s : seen) {
    EXPECT_EQ(s.method, "PUT");
    EXPECT_EQ(s.target, "/contact/outbound-voice");
    EXPECT_EQ(s.content_type, "application/json");
    // The very same dial, ClientToken and all: Connect sees one call.
    EXPECT_EQ(nlohmann::json::parse(s.body), kDial);
    EXPECT_TRUE(s.signature.ok()) << s.signature;
  }
  EXPECT_EQ(c->stats().calls, 1);
  EXPECT_EQ(c->stats().retries, 2);
  EXPECT_EQ(c->stats().throttled, 2);
  // Full jitter: each wait is within [0, base * 2^(n-1)].
  ASSERT_EQ(sleeps_.size(), 2u);
  EXPECT_LE(sleeps_[0], std::chrono::milliseconds(100));
  EXPECT_LE(sleeps_[1], std::chrono::milliseconds(200));
}

TEST_F(AwsClientTest, GivesUpAfterMaxAttemptsNamingTheApiAndCode) {
  aws_.respond = [](int, const httplib::Request&, httplib::Response& res) { throttle(res); };
  auto c = client(RetryOptions{4, std::chrono::milliseconds(100), std::chrono::milliseconds(250)});
  auto out = c->rest_json("StartOutboundVoiceContact", "PUT", "/contact/outbound-voice", &kDial);
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(aws_error_code(out.status()), "TooManyRequestsException");
  const std::string_view msg = pd::sv(out.status().message());
  EXPECT_EQ(msg.find("StartOutboundVoiceContact: TooManyRequestsException: Rate exceeded"), 0u)
      << msg;
  EXPECT_NE(msg.find("4 attempts"), std::string_view::npos) << msg;
  EXPECT_EQ(aws_.seen().size(), 4u);
  EXPECT_EQ(c->stats().retries, 3);
  EXPECT_EQ(c->stats().throttled, 4);
  ASSERT_EQ(sleeps_.size(), 3u);
  for (Micros s : sleeps_) EXPECT_LE(s, std::chrono::milliseconds(250));  // max_delay caps
}

TEST_F(AwsClientTest, DoesNotRetryValidationErrors) {
  aws_.respond = [](int, const httplib::Request&, httplib::Response& res) {
    res.status = 400;
    res.set_header("x-amzn-ErrorType", "InvalidParameterException");
    res.set_content(R"({"message":"DestinationPhoneNumber is not valid"})", "application/json");
  };
  auto c = client();
  auto out = c->rest_json("StartOutboundVoiceContact", "PUT", "/contact/outbound-voice", &kDial);
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(out.status().message(),
            "StartOutboundVoiceContact: InvalidParameterException: DestinationPhoneNumber is not "
            "valid");
  EXPECT_EQ(aws_error_code(out.status()), "InvalidParameterException");
  EXPECT_EQ(aws_.seen().size(), 1u);
  EXPECT_EQ(c->stats().retries, 0);
  EXPECT_TRUE(sleeps_.empty());
}

TEST_F(AwsClientTest, RetriesServerErrorsAndTransportFailures) {
  aws_.respond = [](int attempt, const httplib::Request&, httplib::Response& res) {
    if (attempt == 1) {
      res.status = 503;
      return;
    }
    res.set_content(R"({"ok":true})", "application/json");
  };
  auto c = client();
  auto out = c->rest_json("GetCurrentMetricData", "POST", "/metrics/current/i-1", &kDial);
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(aws_.seen().size(), 2u);
  EXPECT_EQ(c->stats().throttled, 0);

  // Nothing listening: every attempt fails in transport, then kUnavailable.
  AwsClient dead(
      ServiceConfig{"connect", "us-east-1", "http://127.0.0.1:1"},
      std::make_shared<StaticCredentialsProvider>(kCreds), std::make_shared<HttpClient>(),
      RetryOptions{3, std::chrono::milliseconds(10), std::chrono::milliseconds(10)}, {}, &clock_);
  int waits = 0;
  dead.set_sleep_for_testing([&](Micros) { ++waits; });
  auto fail = dead.call(AwsCall{"DescribeUser", "GET", "/users/i-1/u-1", {}, {}, ""});
  ASSERT_FALSE(fail.ok());
  EXPECT_EQ(fail.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_NE(fail.status().message().find("DescribeUser: "), absl::string_view::npos);
  EXPECT_NE(fail.status().message().find("127.0.0.1:1"), absl::string_view::npos);
  EXPECT_EQ(waits, 2);
  EXPECT_EQ(dead.stats().retries, 2);
}

TEST_F(AwsClientTest, PacesEachApiWithItsOwnTokenBucket) {
  auto c = client({}, {{"StartOutboundVoiceContact", RateLimit{2.0, 2.0}}});
  for (int i = 0; i < 5; ++i)
    ASSERT_TRUE(
        c->rest_json("StartOutboundVoiceContact", "PUT", "/contact/outbound-voice", &kDial).ok());
  // The burst of 2 goes at once; each later call waits for its token (500 ms
  // at 2/s) on the fake clock.
  EXPECT_EQ(c->stats().rate_limited_waits, 3);
  ASSERT_EQ(sleeps_.size(), 3u);
  for (Micros s : sleeps_) {
    EXPECT_GE(s, std::chrono::milliseconds(499));
    EXPECT_LE(s, std::chrono::milliseconds(501));
  }
  EXPECT_EQ(aws_.seen().size(), 5u);

  // An API without a limit never waits.
  sleeps_.clear();
  for (int i = 0; i < 5; ++i)
    ASSERT_TRUE(c->rest_json("GetCurrentMetricData", "POST", "/metrics/current/i-1", &kDial).ok());
  EXPECT_TRUE(sleeps_.empty());
  EXPECT_EQ(c->stats().rate_limited_waits, 3);
}

TEST_F(AwsClientTest, SignsQueriesAndJsonRpcVerifiably) {
  aws_.respond = [](int, const httplib::Request& req, httplib::Response& res) {
    res.set_content(nlohmann::json{{"target", req.get_header_value("X-Amz-Target")},
                                   {"q", req.get_param_value("NextToken")}}
                        .dump(),
                    "application/json");
  };
  auto c = client();
  auto out = c->rest_json("ListQueues", "GET", "/queues-summary/i-1", nullptr,
                          {{"queueTypes", "STANDARD"}, {"NextToken", "a b/c+d=="}});
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ((*out)["q"], "a b/c+d==");

  auto rpc = c->json_rpc("Kinesis_20131202", "GetRecords", {{"ShardIterator", "it"}});
  ASSERT_TRUE(rpc.ok()) << rpc.status();
  EXPECT_EQ((*rpc)["target"], "Kinesis_20131202.GetRecords");

  const auto seen = aws_.seen();
  ASSERT_EQ(seen.size(), 2u);
  for (const auto& s : seen) {
    EXPECT_TRUE(s.signature.ok()) << s.signature;
    EXPECT_EQ(s.authorization.find("AWS4-HMAC-SHA256 Credential=AKIDCLIENT/"), 0u);
    EXPECT_NE(s.authorization.find("/us-east-1/connect/aws4_request"), std::string::npos);
  }
  EXPECT_EQ(seen[1].content_type, "application/x-amz-json-1.1");
  EXPECT_EQ(nlohmann::json::parse(seen[1].body), (nlohmann::json{{"ShardIterator", "it"}}));
}

TEST_F(AwsClientTest, ABadSignatureIsPermissionDenied) {
  AwsClient wrong(ServiceConfig{"connect", "us-east-1", aws_.url()},
                  std::make_shared<StaticCredentialsProvider>(
                      Credentials{"AKIDCLIENT", "wrong", "", std::nullopt, "test"}),
                  std::make_shared<HttpClient>(), {}, {}, &clock_);
  auto out = wrong.rest_json("DescribeQueue", "GET", "/queues/i-1/q-1", nullptr);
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(aws_error_code(out.status()), "InvalidSignatureException");
  EXPECT_EQ(aws_.seen().size(), 1u);
}

TEST_F(AwsClientTest, CredentialErrorsStopTheCall) {
  class NoCredentials final : public CredentialsProvider {
   public:
    absl::StatusOr<Credentials> credentials() override {
      return absl::UnauthenticatedError("no AWS credentials found; tried: ...");
    }
  };
  AwsClient c(ServiceConfig{"connect", "us-east-1", aws_.url()}, std::make_shared<NoCredentials>(),
              std::make_shared<HttpClient>(), {}, {}, &clock_);
  auto out = c.rest_json("DescribeQueue", "GET", "/queues/i-1/q-1", nullptr);
  EXPECT_EQ(out.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(out.status().message().find("DescribeQueue: no AWS credentials"), 0u);
  EXPECT_TRUE(aws_.seen().empty());
}

HttpResponse response(int status, std::string body, Headers headers = {}) {
  return HttpResponse{status, std::move(headers), std::move(body)};
}

TEST(AwsClientErrors, ClassifiesAsTheHeaderDocuments) {
  struct Case {
    HttpResponse r;
    absl::StatusCode code;
    std::string aws_code;
  };
  const std::vector<Case> cases = {
      {response(
           400,
           R"({"__type":"com.amazonaws.kinesis#ProvisionedThroughputExceededException","message":"slow"})"),
       absl::StatusCode::kUnavailable, "ProvisionedThroughputExceededException"},
      {response(400, R"({"__type":"ThrottlingException"})"), absl::StatusCode::kUnavailable,
       "ThrottlingException"},
      {response(400, R"({"__type":"LimitExceededException"})"), absl::StatusCode::kUnavailable,
       "LimitExceededException"},
      {response(500, ""), absl::StatusCode::kUnavailable, ""},
      {response(503, "<Error><Code>SlowDown</Code><Message>Reduce</Message></Error>"),
       absl::StatusCode::kUnavailable, "SlowDown"},
      {response(400, R"({"__type":"ValidationException","Message":"bad"})"),
       absl::StatusCode::kInvalidArgument, "ValidationException"},
      {response(400, R"({"code":"InvalidRequestException"})"), absl::StatusCode::kInvalidArgument,
       "InvalidRequestException"},
      {response(404, "", {{"x-amzn-errortype", "ResourceNotFoundException"}}),
       absl::StatusCode::kNotFound, "ResourceNotFoundException"},
      {response(404,
                "<?xml version=\"1.0\"?><Error><Code>NoSuchKey</Code><Message>The specified key "
                "does not exist.</Message></Error>"),
       absl::StatusCode::kNotFound, "NoSuchKey"},
      {response(403, "<Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>"),
       absl::StatusCode::kPermissionDenied, "AccessDenied"},
      {response(400, R"({"__type":"UnrecognizedClientException"})"),
       absl::StatusCode::kPermissionDenied, "UnrecognizedClientException"},
      {response(400, R"({"__type":"ExpiredIteratorException","message":"old"})"),
       absl::StatusCode::kFailedPrecondition, "ExpiredIteratorException"},
      {response(402, R"({"message":"quota"})",
                {{"x-amzn-errortype", "ServiceQuotaExceededException"}}),
       absl::StatusCode::kFailedPrecondition, "ServiceQuotaExceededException"},
  };
  for (const auto& c : cases) {
    const absl::Status s = classify_aws_error("Api", c.r);
    EXPECT_EQ(s.code(), c.code) << c.r.body << " -> " << s;
    EXPECT_EQ(aws_error_code(s), c.aws_code) << c.r.body;
    EXPECT_EQ(s.message().find("Api: "), 0u) << s;
  }
  const absl::Status s3 = classify_aws_error(
      "GetObject",
      response(404, "<Error><Code>NoSuchKey</Code><Message>The key</Message></Error>"));
  EXPECT_EQ(s3.message(), "GetObject: NoSuchKey: The key");
  EXPECT_EQ(aws_error_code(absl::UnavailableError("x")), "");
}

TEST(AwsClientResolve, EndpointFromConfigThenServiceEnvThenGlobalEnvThenDefault) {
  ScopedEnv env{{"AWS_ENDPOINT_URL_CONNECT", std::nullopt}, {"AWS_ENDPOINT_URL", std::nullopt}};
  EXPECT_EQ(resolve_endpoint("connect", "eu-west-2").value(),
            "https://connect.eu-west-2.amazonaws.com");
  env.set("AWS_ENDPOINT_URL", "http://localhost:4566/");
  EXPECT_EQ(resolve_endpoint("connect", "eu-west-2").value(), "http://localhost:4566");
  env.set("AWS_ENDPOINT_URL_CONNECT", "http://127.0.0.1:9001");
  EXPECT_EQ(resolve_endpoint("connect", "eu-west-2").value(), "http://127.0.0.1:9001");
  EXPECT_EQ(resolve_endpoint("kinesis", "eu-west-2").value(), "http://localhost:4566");
  EXPECT_EQ(resolve_endpoint("connect", "eu-west-2", "https://connect.example.test").value(),
            "https://connect.example.test");

  auto bad = resolve_endpoint("connect", "eu-west-2", "ftp://x");
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(bad.status().message().find("campaign config"), absl::string_view::npos);
  env.set("AWS_ENDPOINT_URL_CONNECT", "localhost:9001");
  bad = resolve_endpoint("connect", "eu-west-2");
  EXPECT_NE(bad.status().message().find("AWS_ENDPOINT_URL_CONNECT"), absl::string_view::npos)
      << bad.status();
}

TEST(AwsClientResolve, RegionFromConfigThenEnvThenProfile) {
  const std::string dir = ::testing::TempDir() + "/pd_region_test";
  std::filesystem::create_directories(dir);
  {
    std::ofstream(dir + "/config")
        << "[default]\nregion = ap-southeast-2\n[profile other]\nregion=ca-central-1\n";
  }
  ScopedEnv env{
      {"AWS_REGION", std::nullopt},         {"AWS_DEFAULT_REGION", std::nullopt},
      {"AWS_PROFILE", std::nullopt},        {"AWS_DEFAULT_PROFILE", std::nullopt},
      {"AWS_CONFIG_FILE", dir + "/config"}, {"AWS_SHARED_CREDENTIALS_FILE", dir + "/none"}};
  EXPECT_EQ(resolve_region().value(), "ap-southeast-2");
  env.set("AWS_PROFILE", "other");
  EXPECT_EQ(resolve_region().value(), "ca-central-1");
  env.set("AWS_DEFAULT_REGION", "us-west-1");
  EXPECT_EQ(resolve_region().value(), "us-west-1");
  env.set("AWS_REGION", "us-west-2");
  EXPECT_EQ(resolve_region().value(), "us-west-2");
  EXPECT_EQ(resolve_region("eu-central-1").value(), "eu-central-1");

  env.set("AWS_REGION", std::nullopt);
  env.set("AWS_DEFAULT_REGION", std::nullopt);
  env.set("AWS_PROFILE", "nowhere");
  auto none = resolve_region();
  EXPECT_EQ(none.status().code(), absl::StatusCode::kFailedPrecondition);
  for (const char* named : {"AWS_REGION", "AWS_DEFAULT_REGION", "campaign config", "nowhere"})
    EXPECT_NE(none.status().message().find(named), absl::string_view::npos) << named;
}

}  // namespace
}  // namespace pd::aws
