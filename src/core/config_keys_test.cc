#include "core/config_keys.h"

#include <gtest/gtest.h>

#include "core/advice.h"

namespace pd {
namespace {

std::string message(const absl::Status& s) { return std::string(s.message()); }

TEST(ConfigKeys, UnknownKeyNamesTheKeyAndListsTheKnownOnes) {
  auto r = validate_config_value("colour", "blue");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(message(r.status()).find("unknown config key 'colour'"), std::string::npos);
  EXPECT_NE(message(r.status()).find("max-attempts"), std::string::npos);
}

TEST(ConfigKeys, IntegersAreRangeChecked) {
  EXPECT_EQ(*validate_config_value("max-attempts", " 3 "), "3");
  for (const char* bad : {"0", "21", "two", "3x", "", "-1"}) {
    auto r = validate_config_value("max-attempts", bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_NE(message(r.status()).find("max-attempts: expected a whole number from 1 to 20"),
              std::string::npos);
  }
}

TEST(ConfigKeys, CallingWindowKeysAreValidatedAndCanonical) {
  EXPECT_FALSE(validate_config_value("calling-hours", "8:00-21:00").ok());
  EXPECT_EQ(*validate_config_value("calling-hours", " 09:00 - 20:30 "), "09:00-20:30");
  EXPECT_EQ(*validate_config_value("calling-hours", "00:00-24:00"), "00:00-24:00");
  EXPECT_EQ(*validate_config_value("calling-hours-sun", "Closed"), "closed");
  EXPECT_EQ(*validate_config_value("calling-hours-sat", "10:00-14:00"), "10:00-14:00");
  auto r = validate_config_value("calling-hours", "closed");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(message(r.status()).find("for calling-hours: expected local hours HH:MM-HH:MM"),
            std::string::npos);
  r = validate_config_value("calling-hours-mon", "21:00-08:00");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(message(r.status()).find("or closed"), std::string::npos);
  EXPECT_EQ(*validate_config_value("blackout-dates", "2027-01-01, 2026-12-25,2026-12-25"),
            "2026-12-25,2027-01-01");
  r = validate_config_value("blackout-dates", "2026-12-25,25/12/2026");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(message(r.status()).find("'25/12/2026' is not a date"), std::string::npos);
  EXPECT_EQ(*validate_config_value("default-timezone", " America/Chicago "), "America/Chicago");
  r = validate_config_value("default-timezone", "Central");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(message(r.status()).find("for default-timezone: expected an IANA time zone name"),
            std::string::npos);
}

TEST(ConfigKeys, DurationsAcceptUnitsAndAreCanonical) {
  EXPECT_EQ(*validate_config_value("retry-delay", "300"), "5m");
  EXPECT_EQ(*validate_config_value("retry-delay", "90s"), "90s");
  EXPECT_EQ(*validate_config_value("retry-delay", "2h"), "2h");
  EXPECT_EQ(*validate_config_value("retry-delay", "1d"), "1d");
  EXPECT_FALSE(validate_config_value("retry-delay", "8d").ok());
  EXPECT_FALSE(validate_config_value("retry-delay", "5 minutes").ok());
  EXPECT_EQ(parse_duration("45m")->count(), 2700);
}

TEST(ConfigKeys, ConnectIdsAcceptUuidsAndArns) {
  EXPECT_EQ(*validate_config_value("queue", "AAAAAAAA-1111-2222-3333-444444444444"),
            "aaaaaaaa-1111-2222-3333-444444444444");
  EXPECT_EQ(*validate_config_value("contactflow",
                                   "arn:aws:connect:us-east-1:123456789012:instance/"
                                   "11111111-1111-1111-1111-111111111111/contact-flow/"
                                   "22222222-2222-2222-2222-222222222222"),
            "22222222-2222-2222-2222-222222222222");
  EXPECT_FALSE(validate_config_value("connectid", "my-instance").ok());
}

TEST(ConfigKeys, RegionsBucketsAndLocations) {
  EXPECT_EQ(*validate_config_value("default-region", "gb"), "GB");
  EXPECT_FALSE(validate_config_value("default-region", "XX").ok());
  EXPECT_EQ(*validate_config_value("io-bucket", "my-bucket.dialer"), "my-bucket.dialer");
  EXPECT_FALSE(validate_config_value("io-bucket", "My_Bucket").ok());
  EXPECT_EQ(*validate_config_value("inputfile", "s3://lists/today.csv"), "s3://lists/today.csv");
  EXPECT_FALSE(validate_config_value("inputfile", "s3://lists").ok());
  EXPECT_FALSE(validate_config_value("outputfile", "a\nb").ok());
}

TEST(ConfigKeys, CampaignConfigAppliesDefaultsAndCatchesBadStoredValues) {
  auto c = CampaignConfig::from({{"max-attempts", "3"}});
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->retry.max_attempts_per_phone, 3);
  EXPECT_EQ(c->retry.retry_delay, std::chrono::seconds(300));
  EXPECT_EQ(c->default_region, "US");
  auto bad = CampaignConfig::from({{"max-attempts", "lots"}}, "spring");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(message_for(bad.status(), Audience::kCli).find("config set max-attempts"),
            std::string::npos);
  EXPECT_NE(message_for(bad.status(), Audience::kApi)
                .find(R"(PATCH /api/campaigns/spring/config {"max-attempts")"),
            std::string::npos);
}

TEST(ConfigKeys, LocationsTakeOnlyS3AmongUrlSchemes) {
  for (const char* url : {"https://example.com/list.csv", "ftp://host/list.csv",
                          "file:///etc/passwd", "HTTP://x/y", "gs://bucket/key"}) {
    for (const char* key : {"inputfile", "outputfile"}) {
      auto r = validate_config_value(key, url);
      ASSERT_FALSE(r.ok()) << key << " " << url;
      const std::string m = message(r.status());
      EXPECT_NE(m.find(std::string("for ") + key), std::string::npos) << m;
      EXPECT_NE(m.find("://' locations are not supported"), std::string::npos) << m;
    }
  }
  EXPECT_TRUE(validate_config_value("outputfile", "s3://results/spring.csv").ok());
  EXPECT_EQ(*validate_config_value("outputfile", "S3://results/spring.csv"),
            "s3://results/spring.csv");
  // Colons without "://" are ordinary file names.
  EXPECT_TRUE(validate_config_value("outputfile", "results-10:30.csv").ok());
  EXPECT_TRUE(validate_config_value("outputfile", "/srv/a://b.csv").ok());
}

TEST(ConfigKeys, LongValuesAreNotEchoedInFull) {
  auto r = validate_config_value("max-attempts", std::string(100000, '9'));
  ASSERT_FALSE(r.ok());
  EXPECT_LT(message(r.status()).size(), 300u);
  EXPECT_NE(message(r.status()).find("(100000 characters)"), std::string::npos);
  auto k = validate_config_value(std::string(100000, 'k'), "1");
  ASSERT_FALSE(k.ok());
  EXPECT_NE(message(k.status()).find("(100000 characters)"), std::string::npos);
  EXPECT_LT(message(k.status()).size(), 1000u);
}

}  // namespace
}  // namespace pd

namespace pd {
namespace {

TEST(ConfigKeys, ConnectBackendKeysAreValidated) {
  EXPECT_EQ(*validate_config_value("region", "eu-west-2"), "eu-west-2");
  EXPECT_FALSE(validate_config_value("region", "Ireland").ok());
  EXPECT_EQ(*validate_config_value("agent-stream", "agent-events"), "agent-events");
  EXPECT_EQ(*validate_config_value("ctr-stream",
                                   "arn:aws:kinesis:us-east-1:123456789012:stream/ctr"),
            "arn:aws:kinesis:us-east-1:123456789012:stream/ctr");
  auto bad = validate_config_value("agent-stream", "my stream");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(std::string(bad.status().message()).find("agent-stream: expected a Kinesis stream"),
            std::string::npos);
  EXPECT_EQ(*validate_config_value("traffic-type", "campaign"), "CAMPAIGN");
  EXPECT_FALSE(validate_config_value("traffic-type", "bulk").ok());
  EXPECT_EQ(*validate_config_value("answering-machine-detection", "ON"), "on");
  EXPECT_EQ(*validate_config_value("source-phone", "+12025550100"), "+12025550100");
  EXPECT_FALSE(validate_config_value("source-phone", "2025550100").ok());
  EXPECT_EQ(*validate_config_value("ring-timeout", "30"), "30s");
  EXPECT_FALSE(validate_config_value("ring-timeout", "10s").ok());
  EXPECT_EQ(*validate_config_value("connect-endpoint", "http://127.0.0.1:9000/"),
            "http://127.0.0.1:9000");
  EXPECT_FALSE(validate_config_value("connect-endpoint", "ftp://x").ok());
  EXPECT_FALSE(validate_config_value("dial-rate", "0").ok());
}

TEST(ConfigKeys, ConnectSettingsReachTheTypedConfig) {
  auto c = CampaignConfig::from({{"region", "eu-west-2"},
                                 {"agent-stream", "a"},
                                 {"ctr-stream", "c"},
                                 {"ring-timeout", "30s"},
                                 {"dial-rate", "4"}});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->aws_region, "eu-west-2");
  EXPECT_EQ(c->agent_stream, "a");
  EXPECT_EQ(c->ctr_stream, "c");
  EXPECT_EQ(c->ring_timeout->count(), 30);
  EXPECT_EQ(c->dial_rate, 4);
  EXPECT_EQ(c->dial_burst, 5);
  EXPECT_EQ(c->answering_machine_detection, "off");
}

}  // namespace
}  // namespace pd

namespace pd {
namespace {

TEST(ConfigKeys, ABareInputFileNameIsAnObjectInTheIoBucketAsInTheSample) {
  CampaignConfig c;
  c.input_file = "list.csv";
  EXPECT_EQ(c.input_location(), "list.csv");
  c.io_bucket = "dialer-io";
  EXPECT_EQ(c.input_location(), "s3://dialer-io/list.csv");
  c.input_file = "./list.csv";
  EXPECT_EQ(c.input_location(), "./list.csv");
  c.input_file = "s3://other/lists/a.csv";
  EXPECT_EQ(c.input_location(), "s3://other/lists/a.csv");
}

}  // namespace
}  // namespace pd
