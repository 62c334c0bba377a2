#include "aws/credentials.h"

#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "aws/aws_test_util.h"
#include "aws/shared_config.h"
#include "core/strings.h"
#include "core/time_format.h"

namespace pd::aws {
namespace {

namespace fs = std::filesystem;
using testing::FakeClock;
using testing::LocalServer;
using testing::ScopedEnv;

// Every test starts with no AWS variables, an empty HOME and the instance
// metadata service off; each turns on only the source it tests.
class CredentialsTest : public ::testing::Test {
 protected:
  CredentialsTest() {
    home_ = fs::path(::testing::TempDir()) /
            ("pd_creds_" +
             std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()));
    fs::remove_all(home_);
    fs::create_directories(home_ / ".aws");
    for (const char* name : testing::kAwsEnvVars) env_.set(name, std::nullopt);
    env_.set("HOME", home_.string());
    env_.set("AWS_EC2_METADATA_DISABLED", "true");
  }
  ~CredentialsTest() override { fs::remove_all(home_); }

  void write(const fs::path& p, const std::string& text) { std::ofstream(p) << text; }

  absl::StatusOr<Credentials> get() {
    return default_credentials_chain(std::make_shared<HttpClient>(), &clock_)->credentials();
  }

  fs::path home_;
  ScopedEnv env_{};
  FakeClock clock_;
};

TEST_F(CredentialsTest, EnvironmentComesFirst) {
  write(home_ / ".aws/credentials", "[default]\naws_access_key_id=FILE\naws_secret_access_key=f\n");
  env_.set("AWS_ACCESS_KEY_ID", "AKIDENV");
  env_.set("AWS_SECRET_ACCESS_KEY", "envsecret");
  env_.set("AWS_SESSION_TOKEN", "envtoken");
  auto c = get();
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->access_key_id, "AKIDENV");
  EXPECT_EQ(c->secret_access_key, "envsecret");
  EXPECT_EQ(c->session_token, "envtoken");
  EXPECT_EQ(c->source, "environment");
  EXPECT_FALSE(c->expiration);
}

TEST_F(CredentialsTest, ReadsTheDefaultAndNamedProfilesFromBothFiles) {
  write(home_ / ".aws/credentials",
        "# comment\n[default]\naws_access_key_id = AKIDDEFAULT\naws_secret_access_key = "
        "defsecret\n\n[dev]\r\naws_access_key_id=AKIDDEV\r\naws_secret_access_key=devsecret\r\n"
        "aws_session_token=devtoken\r\n");
  write(home_ / ".aws/config",
        "[default]\nregion = us-east-1\n[profile cfgonly]\n; keys in config are allowed too\n"
        "aws_access_key_id = AKIDCFG\naws_secret_access_key = cfgsecret\ns3 =\n  "
        "max_concurrent_requests = 10\n[profile dev]\naws_access_key_id = IGNORED\n");
  auto c = get();
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->access_key_id, "AKIDDEFAULT");
  EXPECT_EQ(c->source, "profile default");

  env_.set("AWS_PROFILE", "dev");
  c = get();
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->access_key_id, "AKIDDEV");  // the credentials file wins over config
  EXPECT_EQ(c->session_token, "devtoken");

  env_.set("AWS_PROFILE", "cfgonly");
  c = get();
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->access_key_id, "AKIDCFG");
  EXPECT_EQ(c->secret_access_key, "cfgsecret");

  env_.set("AWS_PROFILE", "missing");
  c = get();
  EXPECT_EQ(c.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_NE(c.status().message().find("'missing'"), absl::string_view::npos) << c.status();
}

TEST_F(CredentialsTest, FileLocationsComeFromTheEnvironment) {
  const fs::path creds = home_ / "elsewhere-credentials";
  const fs::path config = home_ / "elsewhere-config";
  write(creds, "[ops]\naws_access_key_id=AKIDOPS\naws_secret_access_key=ops\n");
  write(config, "[profile cfg]\naws_access_key_id=AKIDCFG2\naws_secret_access_key=c\n");
  env_.set("AWS_SHARED_CREDENTIALS_FILE", creds.string());
  env_.set("AWS_CONFIG_FILE", config.string());
  env_.set("AWS_PROFILE", "ops");
  auto c = get();
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->access_key_id, "AKIDOPS");
  env_.set("AWS_PROFILE", "cfg");
  c = get();
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->access_key_id, "AKIDCFG2");
}

TEST_F(CredentialsTest, NothingFoundListsWhatWasTried) {
  write(home_ / ".aws/config", "[default]\nrole_arn = arn:aws:iam::1:role/x\nsource_profile = b\n");
  env_.set("AWS_ACCESS_KEY_ID", "only-the-id");
  auto c = get();
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), absl::StatusCode::kUnauthenticated);
  const std::string_view m = pd::sv(c.status().message());
  for (const char* tried :
       {"environment (only AWS_ACCESS_KEY_ID set)", "profile 'default'", "role_arn",
        "ECS container credentials", "EC2 instance metadata", "AWS_EC2_METADATA_DISABLED"})
    EXPECT_NE(m.find(tried), std::string_view::npos) << tried << " not in:\n" << m;
}

TEST_F(CredentialsTest, EcsContainerEndpointWithAuthorizationToken) {
  LocalServer s;
  std::atomic<int> calls{0};
  s.server().Get("/v2/credentials/abc", [&](const httplib::Request& req, httplib::Response& res) {
    ++calls;
    if (req.get_header_value("Authorization") != "Bearer tok") {
      res.status = 401;
      return;
    }
    res.set_content(R"({"AccessKeyId":"ASIAECS","SecretAccessKey":"ecssecret","Token":"ecstoken",
                        "Expiration":"2099-01-01T00:00:00Z","RoleArn":"arn:aws:iam::1:role/task"})",
                    "application/json");
  });
  s.start();
  env_.set("AWS_CONTAINER_CREDENTIALS_FULL_URI", s.url("/v2/credentials/abc"));
  env_.set("AWS_CONTAINER_AUTHORIZATION_TOKEN", "Bearer tok");
  auto c = get();
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->access_key_id, "ASIAECS");
  EXPECT_EQ(c->session_token, "ecstoken");
  EXPECT_EQ(c->source, "ecs");
  ASSERT_TRUE(c->expiration);
  EXPECT_EQ(*c->expiration, parse_iso8601("2099-01-01T00:00:00Z").value());

  // The token file takes precedence over the variable.
  write(home_ / "token", "Bearer tok\n");
  env_.set("AWS_CONTAINER_AUTHORIZATION_TOKEN", "Bearer wrong");
  env_.set("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", (home_ / "token").string());
  c = get();
  ASSERT_TRUE(c.ok()) << c.status();

  // A refused token is reported, and the chain stops at the container.
  env_.set("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", std::nullopt);
  c = get();
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("HTTP 401"), absl::string_view::npos) << c.status();
  EXPECT_EQ(c.status().message().find("EC2 instance metadata"), absl::string_view::npos);
}

// A fake instance metadata service (IMDSv2) whose credentials expire an
// hour after they are issued, by the test's fake clock.
class FakeImds {
 public:
  explicit FakeImds(FakeClock& clock) {
    s_.server().Put("/latest/api/token", [](const httplib::Request& req, httplib::Response& res) {
      if (req.get_header_value("X-aws-ec2-metadata-token-ttl-seconds").empty()) {
        res.status = 400;
        return;
      }
      res.set_content("TOKEN123", "text/plain");
    });
    s_.server().Get("/latest/meta-data/iam/security-credentials/",
                    [this](const httplib::Request& req, httplib::Response& res) {
                      if (!authorized(req, res)) return;
                      res.set_content("dialer-role\n", "text/plain");
                    });
    s_.server().Get("/latest/meta-data/iam/security-credentials/dialer-role",
                    [this, &clock](const httplib::Request& req, httplib::Response& res) {
                      if (!authorized(req, res)) return;
                      const int n = ++issued;
                      res.set_content(
                          nlohmann::json{{"Code", "Success"},
                                         {"Type", "AWS-HMAC"},
                                         {"AccessKeyId", "ASIAIMDS" + std::to_string(n)},
                                         {"SecretAccessKey", "imdssecret"},
                                         {"Token", "imdstoken"},
                                         {"Expiration",
                                          format_iso8601(clock.wall_now() + std::chrono::hours(1))}}
                              .dump(),
                          "application/json");
                    });
    s_.start();
  }
  std::string url() const { return s_.url(); }
  std::atomic<int> issued{0};
  std::atomic<int> unauthorized{0};

 private:
  bool authorized(const httplib::Request& req, httplib::Response& res) {
    if (req.get_header_value("X-aws-ec2-metadata-token") == "TOKEN123") return true;
    ++unauthorized;
    res.status = 401;
    return false;
  }
  LocalServer s_;
};

TEST_F(CredentialsTest, ImdsV2CredentialsAreCachedAndRefreshedBeforeExpiry) {
  FakeImds imds(clock_);
  env_.set("AWS_EC2_METADATA_DISABLED", std::nullopt);
  env_.set("AWS_EC2_METADATA_SERVICE_ENDPOINT", imds.url() + "/");
  auto chain = default_credentials_chain(std::make_shared<HttpClient>(), &clock_);

  auto c = chain->credentials();
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->access_key_id, "ASIAIMDS1");
  EXPECT_EQ(c->session_token, "imdstoken");
  EXPECT_EQ(c->source, "imds");
  EXPECT_EQ(imds.issued, 1);
  EXPECT_EQ(imds.unauthorized, 0);

  // Well inside the hour: the cached credentials, no new request.
  clock_.advance(std::chrono::minutes(50));
  c = chain->credentials();
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->access_key_id, "ASIAIMDS1");
  EXPECT_EQ(imds.issued, 1);

  // Within 5 minutes of the expiry: refreshed.
  clock_.advance(std::chrono::minutes(6));
  c = chain->credentials();
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->access_key_id, "ASIAIMDS2");
  EXPECT_EQ(imds.issued, 2);
}

TEST_F(CredentialsTest, UnreachableImdsFailsFastAndSaysSo) {
  env_.set("AWS_EC2_METADATA_DISABLED", std::nullopt);
  env_.set("AWS_EC2_METADATA_SERVICE_ENDPOINT", "http://127.0.0.1:1");
  auto c = get();
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_NE(c.status().message().find("EC2 instance metadata at http://127.0.0.1:1"),
            absl::string_view::npos)
      << c.status();
}

TEST(CredentialsIni, ParsesProfilesCommentsAndNestedValues) {
  const IniSections s = parse_ini(
      "top = ignored\n[default]\nRegion = eu-west-1 \n# c\n; c\n[profile a b]\nx=1\n"
      "s3 =\n  max = 10\n[profile   spaced  ]\ny = has = equals\n[broken\nz=2\n",
      /*config_style=*/true);
  ASSERT_EQ(s.count("default"), 1u);
  EXPECT_EQ(s.at("default").at("region"), "eu-west-1");
  EXPECT_EQ(s.at("a b").at("x"), "1");
  EXPECT_EQ(s.at("a b").at("s3"), "\nmax = 10");
  EXPECT_EQ(s.at("spaced").at("y"), "has = equals");
  EXPECT_EQ(s.size(), 3u);  // "top" had no section, "[broken" is not one

  // In the credentials file "[profile x]" is not special.
  const IniSections creds = parse_ini("[profile x]\nk=v\n", /*config_style=*/false);
  EXPECT_EQ(creds.count("profile x"), 1u);
}

}  // namespace
}  // namespace pd::aws
