#include "server/metrics.h"

#include <gtest/gtest.h>

#include <regex>
#include <sstream>

namespace pd {
namespace {

CampaignFrame frame(std::string name, CampaignState state, bool live) {
  CampaignFrame f;
  f.status.campaign.name = std::move(name);
  f.status.campaign.state = state;
  f.status.customers = 10;
  f.status.customers_by_state = {{CustomerState::kPending, 4},
                                 {CustomerState::kDialing, 1},
                                 {CustomerState::kReached, 3},
                                 {CustomerState::kExhausted, 2}};
  f.status.attempts = 7;
  f.status.attempts_in_flight = 1;
  f.status.attempts_by_outcome = {{Outcome::kConnected, 3}, {Outcome::kNoAnswer, 3}};
  if (live) {
    LiveStats l;
    l.dials = 7;
    l.connects = 3;
    l.abandons = 1;
    l.throttled = 2;
    l.agents_available = 4;
    l.agents_busy = 5;
    l.agents_after_call_work = 6;
    l.dialing = 1;
    l.talking = 5;
    l.events = 20;
    l.event_lag_seconds_sum = 0.5;
    f.live = l;
  }
  return f;
}

TEST(Metrics, PacingModeLinesPerAgentAndAbandonRatesAgainstTheTarget) {
  CampaignFrame running = frame("spring", CampaignState::kRunning, true);
  running.pacing.config.pacing = "progressive";
  running.pacing.config.target_abandon_rate = 0.02;
  LivePacing live;
  live.mode = "progressive";
  live.lines_per_agent = 1.25;
  running.pacing.live = live;
  running.status.abandon.answered_today = 100;
  running.status.abandon.abandoned_today = 1;
  running.status.abandon.answered_30d = 400;
  running.status.abandon.abandoned_30d = 10;
  const CampaignFrame idle = frame("idle", CampaignState::kIdle, false);
  const std::string text = format_metrics({running, idle}, ServerFigures{});
  for (const char* line : {
           "powerdialer_pacing_mode{campaign=\"spring\",mode=\"progressive\"} 1\n",
           "powerdialer_pacing_mode{campaign=\"spring\",mode=\"power\"} 0\n",
           "powerdialer_pacing_mode{campaign=\"idle\",mode=\"power\"} 1\n",
           "powerdialer_lines_per_agent{campaign=\"spring\"} 1.25\n",
           "powerdialer_abandon_rate{campaign=\"spring\",window=\"today\"} 0.01\n",
           "powerdialer_abandon_rate{campaign=\"spring\",window=\"30d\"} 0.025\n",
           "powerdialer_target_abandon_rate{campaign=\"spring\"} 0.02\n",
           "powerdialer_target_abandon_rate{campaign=\"idle\"} 0.025\n",
       }) {
    EXPECT_NE(text.find(line), std::string::npos) << line;
  }
  // No level for a campaign that is not dialling.
  EXPECT_EQ(text.find("powerdialer_lines_per_agent{campaign=\"idle\"}"), std::string::npos);
}

TEST(Metrics, EveryLineIsValidExpositionFormat) {
  ServerFigures server;
  server.requests_by_status = {{200, 12}, {401, 3}};
  server.live_feed_clients = 2;
  const std::string text = format_metrics({frame("spring", CampaignState::kRunning, true),
                                           frame("odd\"name", CampaignState::kIdle, false)},
                                          server);
  const std::regex sample(
      R"(^[a-zA-Z_:][a-zA-Z0-9_:]*(\{([a-zA-Z_][a-zA-Z0-9_]*="([^"\\]|\\.)*",?)*\})? -?[0-9.e+]+$)");
  std::istringstream in(text);
  std::string line;
  int samples = 0;
  while (std::getline(in, line)) {
    if (line.rfind("# ", 0) == 0) continue;
    EXPECT_TRUE(std::regex_match(line, sample)) << line;
    ++samples;
  }
  EXPECT_GT(samples, 40);
  EXPECT_NE(text.find("powerdialer_dials_total{campaign=\"spring\"} 7\n"), std::string::npos);
  EXPECT_NE(text.find("powerdialer_connects_total{campaign=\"spring\"} 3\n"), std::string::npos);
  EXPECT_NE(text.find("powerdialer_abandons_total{campaign=\"spring\"} 1\n"), std::string::npos);
  EXPECT_NE(text.find("powerdialer_api_throttles_total{campaign=\"spring\"} 2\n"),
            std::string::npos);
  EXPECT_NE(text.find("powerdialer_agents{campaign=\"spring\",state=\"after_call_work\"} 6\n"),
            std::string::npos);
  EXPECT_NE(text.find("powerdialer_attempts_total{campaign=\"spring\",outcome=\"connected\"} 3\n"),
            std::string::npos);
  EXPECT_NE(text.find("powerdialer_attempts_total{campaign=\"spring\",outcome=\"busy\"} 0\n"),
            std::string::npos);
  EXPECT_NE(text.find("powerdialer_event_lag_seconds_sum{campaign=\"spring\"} 0.5\n"),
            std::string::npos);
  EXPECT_NE(text.find("powerdialer_event_lag_seconds_count{campaign=\"spring\"} 20\n"),
            std::string::npos);
  EXPECT_NE(text.find("powerdialer_http_requests_total{code=\"401\"} 3\n"), std::string::npos);
  EXPECT_NE(text.find("powerdialer_live_feed_clients 2\n"), std::string::npos);
  // A campaign not running here has store figures but no engine counters.
  EXPECT_NE(text.find("powerdialer_campaign_state{campaign=\"odd\\\"name\",state=\"idle\"} 1\n"),
            std::string::npos);
  EXPECT_EQ(text.find("powerdialer_dials_total{campaign=\"odd"), std::string::npos);
}

TEST(Metrics, LabelEscaping) {
  EXPECT_EQ(prometheus_label("a\\b\"c\nd"), "a\\\\b\\\"c\\nd");
  EXPECT_EQ(prometheus_label("plain"), "plain");
}

TEST(LiveFeed, CampaignEventCarriesTheContractKeys) {
  const auto j = campaign_event_json(frame("spring", CampaignState::kRunning, true),
                                     WallTime{Millis{1'700'000'000'123}});
  EXPECT_EQ(j["name"], "spring");
  EXPECT_EQ(j["state"], "running");
  EXPECT_EQ(j["t"], 1'700'000'000'123);
  EXPECT_EQ(j["customers"], 10);
  EXPECT_EQ(j["pending"], 5);  // pending + dialing: still to finish
  EXPECT_EQ(j["reached"], 3);
  EXPECT_EQ(j["exhausted"], 2);
  EXPECT_EQ(j["attempts"], 7);
  EXPECT_EQ(j["in_flight"], 1);
  EXPECT_EQ(j["attempts_by_outcome"]["connected"], 3);
  EXPECT_EQ(j["attempts_by_outcome"]["abandoned"], 0);
  EXPECT_EQ(j["live"]["agents_busy"], 5);
  EXPECT_EQ(j["live"].size(), 9u);
  EXPECT_TRUE(
      campaign_event_json(frame("x", CampaignState::kIdle, false), WallTime{})["live"].is_null());
}

TEST(LiveFeed, SseEventFraming) {
  EXPECT_EQ(sse_event("campaign", R"({"a":1})"), "event: campaign\ndata: {\"a\":1}\n\n");
}

TEST(LiveFeed, SubscribersGetEachNewSnapshotOnce) {
  std::atomic<int> calls{0};
  LiveFeed feed(
      [&]() -> absl::StatusOr<std::vector<CampaignFrame>> {
        ++calls;
        return std::vector<CampaignFrame>{frame("spring", CampaignState::kRunning, false)};
      },
      std::chrono::milliseconds(10));
  feed.start();
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  auto first = feed.wait_newer(0, deadline);
  ASSERT_NE(first, nullptr);
  ASSERT_EQ(first->events.size(), 1u);
  EXPECT_EQ(first->events[0].rfind("event: campaign\ndata: {", 0), 0u);
  auto second = feed.wait_newer(first->generation, deadline);
  ASSERT_NE(second, nullptr);
  EXPECT_GT(second->generation, first->generation);
  feed.shutdown();
  EXPECT_TRUE(feed.closed());
  EXPECT_EQ(feed.wait_newer(second->generation, deadline), nullptr);  // at once, not at deadline
  EXPECT_GE(calls.load(), 2);
}

}  // namespace
}  // namespace pd
