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

}  // namespace
}  // namespace pd
