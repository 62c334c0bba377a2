#include "io/status_json.h"

#include <gtest/gtest.h>

namespace pd {
namespace {

CampaignStatus a_status() {
  CampaignStatus st;
  st.campaign = {1, "spring", CampaignState::kStopped};
  st.customers = 2;
  st.customers_by_state[CustomerState::kPending] = 2;
  return st;
}

TEST(StatusJsonTest, NextCallableAtIsLeftOutWhenSomeoneIsCallableAtOnce) {
  CampaignStatus st = a_status();
  st.next_callable_at = WallTime{};  // a customer never called: from the epoch
  EXPECT_FALSE(campaign_status_json(st).contains("next_callable_at"));
  st.next_callable_at.reset();  // nobody pending
  EXPECT_FALSE(campaign_status_json(st).contains("next_callable_at"));
  st.next_callable_at = WallTime{Millis{1'800'000'000'000LL}};  // a retry is due then
  EXPECT_EQ(campaign_status_json(st)["next_callable_at"], "2027-01-15T08:00:00.000Z");
}

TEST(StatusJsonTest, SaysWhatTheListWaitsForWhenARuleHoldsIt) {
  CampaignStatus st = a_status();
  // 2025-12-02 14:00Z: 08:00 in Chicago.
  st.next_callable_at = WallTime{Millis{1'764'684'000'000LL}};
  EXPECT_FALSE(campaign_status_json(st).contains("waiting"));  // a retry delay
  st.next_callable_held = "calling-window America/Chicago";
  const nlohmann::json j = campaign_status_json(st);
  ASSERT_TRUE(j.contains("waiting"));
  EXPECT_EQ(j["waiting"]["text"], "the next window opens 08:00 America/Chicago");
  EXPECT_EQ(j["waiting"]["until"], "2025-12-02T14:00:00.000Z");
  EXPECT_EQ(j["waiting"]["held"], "calling-window America/Chicago");
  st.next_callable_held = "cap 3 calls in 24h";
  EXPECT_EQ(campaign_status_json(st)["waiting"]["text"],
            "held by cap 3 calls in 24h until 2025-12-02T14:00:00.000Z");
}

TEST(StatusJsonTest, RejectsAreCountedByReasonWithThoseNotListed) {
  CampaignStatus st = a_status();
  st.rejects.rows = 2500;
  st.rejects.listed = 1000;
  st.rejects.by_reason = {{"invalid_phone", 2400}, {"missing_custid", 100}};
  const nlohmann::json j = campaign_status_json(st);
  EXPECT_EQ(j["rejected_rows"], 2500);
  EXPECT_EQ(j["rejects_not_listed"], 1500);
  EXPECT_EQ(j["rejects_by_reason"],
            (nlohmann::json{{"invalid_phone", 2400}, {"missing_custid", 100}}));
}

TEST(StatusJsonTest, TheDialerIsShownOnlyWhenKnown) {
  CampaignStatus st = a_status();
  EXPECT_TRUE(campaign_status_json(st)["dialer"].is_null());
  st.campaign.state = CampaignState::kRunning;
  st.dialer = DialerHealth{"host:42:abc", WallTime{Millis{1'800'000'000'000LL}}, false,
                           "dialer not responding since 2027-01-15T08:00:00.000Z"};
  const nlohmann::json d = campaign_status_json(st)["dialer"];
  EXPECT_EQ(d["owner"], "host:42:abc");
  EXPECT_EQ(d["responding"], false);
  EXPECT_EQ(d["lease_until"], "2027-01-15T08:00:00.000Z");
  EXPECT_EQ(d["problem"], "dialer not responding since 2027-01-15T08:00:00.000Z");
}

TEST(StatusJsonTest, LivePacingRoundTripsThroughTheSetting) {
  LivePacing live;
  live.mode = "progressive";
  live.lines_per_agent = 1.4321;
  live.warming_up = true;
  live.throttled = 3;
  live.note = "backing off: throttled";
  live.at = WallTime{Millis{1'800'000'000'000LL}};
  const auto back = parse_live_pacing(live_pacing_json(live).dump());
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(back->mode, "progressive");
  EXPECT_DOUBLE_EQ(back->lines_per_agent, 1.4321);
  EXPECT_TRUE(back->warming_up);
  EXPECT_EQ(back->throttled, 3);
  EXPECT_EQ(back->note, "backing off: throttled");
  EXPECT_EQ(back->at, live.at);
  EXPECT_EQ(pacing_setting_key(7), "pacing/7");
  // An older or damaged setting reads as unknown, not as an error.
  for (const char* bad : {"", "{", "[]", R"({"mode":"power"})",
                          R"({"mode":"power","lines_per_agent":"x","at":"2027-01-15T08:00:00Z"})",
                          R"({"mode":"power","lines_per_agent":1,"at":"soon"})"}) {
    EXPECT_FALSE(parse_live_pacing(bad).has_value()) << bad;
  }
}

TEST(StatusJsonTest, PacingShowsModeLinesAndAbandonsAgainstTheTarget) {
  CampaignConfig config;
  config.pacing = "progressive";
  config.lines_per_agent = 1.5;
  config.max_lines_per_agent = 3;
  config.target_abandon_rate = 0.025;
  config.max_abandon_rate = 0.03;
  AbandonRates a;
  a.answered_today = 200;
  a.abandoned_today = 3;  // 1.5%
  a.answered_30d = 1000;
  a.abandoned_30d = 28;  // 2.8%: over the target, under the max
  a.max_rate = 0.03;

  nlohmann::json idle = pacing_json(config, a, std::nullopt);
  EXPECT_EQ(idle["mode"], "progressive");
  EXPECT_TRUE(idle["lines_per_agent"].is_null());  // nothing dialling: no live level
  EXPECT_EQ(idle["configured_lines_per_agent"], 1.5);
  EXPECT_DOUBLE_EQ(idle["abandon_rate_today"].get<double>(), 0.015);
  EXPECT_DOUBLE_EQ(idle["abandon_rate_30d"].get<double>(), 0.028);
  EXPECT_DOUBLE_EQ(idle["target_abandon_rate"].get<double>(), 0.025);
  EXPECT_EQ(idle["over_target"], true);
  EXPECT_TRUE(idle["updated_at"].is_null());

  LivePacing live;
  live.mode = "progressive";
  live.lines_per_agent = 1.4321;
  live.at = WallTime{Millis{1'800'000'000'000LL}};
  nlohmann::json running = pacing_json(config, a, live);
  EXPECT_DOUBLE_EQ(running["lines_per_agent"].get<double>(), 1.43);
  EXPECT_EQ(running["updated_at"], "2027-01-15T08:00:00.000Z");

  EXPECT_EQ(pacing_text(config, a, live, live.at + Millis(5000)),
            "progressive, 1.43 lines per agent (lines-per-agent 1.5, max 3); abandons today "
            "1.5%, 30 days 2.8%, target 2.5% (max 3%): over target");
  config.pacing = "power";
  a.abandoned_30d = 10;
  EXPECT_EQ(pacing_text(config, a, std::nullopt, live.at),
            "power, not dialling; abandons today 1.5%, 30 days 1.0%, target 2.5% (max 3%)");
  EXPECT_EQ(pacing_text(config, a, std::nullopt, live.at, /*running=*/true).rfind("power, starting;", 0),
            0u);
  // A dialer that stopped writing is shown with the age of its word.
  config.pacing = "predictive";
  live.warming_up = true;
  EXPECT_NE(pacing_text(config, a, live, live.at + Millis(600'000)).find("as of "),
            std::string::npos);
  EXPECT_NE(pacing_text(config, a, live, live.at).find("warming up"), std::string::npos);
}

}  // namespace
}  // namespace pd
