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

namespace pd {
namespace {

TEST(ConfigKeys, CapsAreWholeNumbersAndUnsetMeansNoCap) {
  EXPECT_EQ(*validate_config_value("max-calls-per-24h", "3"), "3");
  EXPECT_EQ(*validate_config_value("max-customer-calls-per-7d", "0"), "0");
  auto r = validate_config_value("max-calls-per-7d", "-2");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(std::string(r.status().message())
                .find("max-calls-per-7d: expected a whole number from 0 to 1000"),
            std::string::npos);
  auto c = CampaignConfig::from({});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->max_calls_per_24h, 0);
  EXPECT_EQ(c->max_customer_calls_per_7d, 0);
  EXPECT_EQ(c->abandon_lockout, std::chrono::hours(72));
  EXPECT_DOUBLE_EQ(c->max_abandon_rate, 0.03);
  EXPECT_EQ(c->disposition_attribute, "disposition");
  EXPECT_EQ(c->retry.dispositions, nullptr);
  c = CampaignConfig::from({{"max-calls-per-24h", "3"},
                            {"max-customer-calls-per-24h", "5"},
                            {"abandon-lockout", "2d"},
                            {"max-abandon-rate", "0.025"}});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->max_calls_per_24h, 3);
  EXPECT_EQ(c->max_customer_calls_per_24h, 5);
  EXPECT_EQ(c->abandon_lockout, std::chrono::hours(48));
  EXPECT_DOUBLE_EQ(c->max_abandon_rate, 0.025);
}

TEST(ConfigKeys, AbandonRateTakesPercentOrFraction) {
  EXPECT_EQ(*validate_config_value("max-abandon-rate", "3%"), "3%");
  EXPECT_EQ(*validate_config_value("max-abandon-rate", "0.03"), "3%");
  EXPECT_EQ(*validate_config_value("max-abandon-rate", " 2.5 % "), "2.5%");
  EXPECT_EQ(*validate_config_value("max-abandon-rate", "0"), "0%");
  for (const char* bad : {"", "3 percent", "150%", "1.5", "-1%", "abc", "nan"}) {
    auto r = validate_config_value("max-abandon-rate", bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_NE(std::string(r.status().message()).find("max-abandon-rate: expected a share"),
              std::string::npos)
        << r.status();
  }
  EXPECT_EQ(*validate_config_value("abandon-lockout", "72h"), "3d");
  EXPECT_FALSE(validate_config_value("abandon-lockout", "31d").ok());
}

TEST(ConfigKeys, DispositionsMapCodesToActions) {
  auto v = validate_config_value(
      "dispositions", "SALE=done, callback=callback:2h,RETRY=retry:30m,DNC=dnc,NOTINTERESTED=done");
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ(*v, "CALLBACK=callback:2h,DNC=dnc,NOTINTERESTED=done,RETRY=retry:30m,SALE=done");
  auto c = CampaignConfig::from({{"dispositions", *v}});
  ASSERT_TRUE(c.ok()) << c.status();
  ASSERT_NE(c->retry.dispositions, nullptr);
  const DispositionRule* cb = find_disposition(*c->retry.dispositions, "Callback");
  ASSERT_NE(cb, nullptr);
  EXPECT_EQ(cb->action, DispositionAction::kCallback);
  EXPECT_EQ(cb->delay, std::chrono::hours(2));
  EXPECT_EQ(find_disposition(*c->retry.dispositions, "DNC")->action, DispositionAction::kDnc);
  EXPECT_EQ(find_disposition(*c->retry.dispositions, "UNKNOWN"), nullptr);

  const std::pair<const char*, const char*> bad[] = {
      {"SALE", "entry 1 ('SALE'): no '='"},
      {"SALE=done,X=hangup", "entry 2 ('X=hangup'): unknown action 'hangup'"},
      {"CB=callback", "callback needs a delay, as in callback:2h"},
      {"R=retry:soon", "bad delay 'soon'"},
      {"R=retry:90d", "bad delay '90d'"},
      {"D=dnc:2h", "dnc takes no delay"},
      {"A=done,a=dnc", "code A appears twice"},
      {"A B=done", "the code must be"},
      {"", "at least one CODE=ACTION entry"},
  };
  for (const auto& [text, why] : bad) {
    auto r = validate_config_value("dispositions", text);
    ASSERT_FALSE(r.ok()) << text;
    EXPECT_NE(std::string(r.status().message()).find("for dispositions"), std::string::npos)
        << r.status();
    EXPECT_NE(std::string(r.status().message()).find(why), std::string::npos) << r.status();
  }
}

}  // namespace
}  // namespace pd
