// The compliance limits the store enforces (caps, the abandon lockout, the
// abandon ledger and the max-abandon-rate pause) and the agents' wrap-up
// codes (dispositions), through the Store seam on a real SQLite file.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "core/config_keys.h"
#include "core/strings.h"
#include "store/sqlite/sqlite_store.h"

namespace pd {
namespace {

class LimitsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           cat("pd-limits-", ::getpid(), "-", reinterpret_cast<uintptr_t>(this));
    std::filesystem::create_directories(dir_);
    auto s = SqliteStore::open((dir_ / "test.db").string(), true);
    ASSERT_TRUE(s.ok()) << s.status();
    store_ = std::move(*s);
    a_ = campaign("a");
    b_ = campaign("b");
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  CampaignId campaign(const std::string& name) {
    auto c = store_->init_campaign(name);
    EXPECT_TRUE(c.ok()) << c.status();
    // Tests not about calling windows dial at any hour.
    if (find_config_key("calling-hours") != nullptr)
      EXPECT_TRUE(store_->set_config(c->id, "calling-hours", "00:00-24:00").ok());
    return c->id;
  }
  void set(CampaignId id, const std::string& key, const std::string& value) {
    auto v = validate_config_value(key, value);
    ASSERT_TRUE(v.ok()) << v.status();
    ASSERT_TRUE(store_->set_config(id, key, *v).ok());
  }
  // `rows` of (cust_id, phone).
  void load(CampaignId id, const std::vector<std::pair<std::string, std::string>>& rows) {
    auto w = store_->begin_list(id, LoadMode::kReplace);
    ASSERT_TRUE(w.ok()) << w.status();
    int64_t line = 2;
    for (const auto& [cust, phone] : rows) {
      auto added = (*w)->add(cust, phone, "{}", line++);
      ASSERT_TRUE(added.ok()) << added.status();
    }
    ASSERT_TRUE((*w)->commit().ok());
  }
  RetryRules rules(CampaignId id) {
    auto stored = store_->config(id);
    EXPECT_TRUE(stored.ok());
    auto c = CampaignConfig::from(*stored);
    EXPECT_TRUE(c.ok()) << c.status();
    return c->retry;
  }
  std::vector<Claim> claim(CampaignId id, WallTime now, int max = 10) {
    auto c = store_->claim(id, max, now, "test");
    EXPECT_TRUE(c.ok()) << c.status();
    return c.ok() ? *c : std::vector<Claim>{};
  }
  void end(CampaignId id, const Claim& c, Outcome outcome, WallTime at,
           const std::string& disposition = "") {
    auto f = store_->finish(c.attempt_id, {outcome, at, "", disposition}, rules(id));
    ASSERT_TRUE(f.ok()) << f.status();
  }
  CampaignStatus status(CampaignId id) {
    auto st = store_->status(id);
    EXPECT_TRUE(st.ok()) << st.status();
    return *st;
  }
  static WallTime t(int64_t seconds) {
    return WallTime{Millis{1'800'000'000'000LL + seconds * 1000LL}};
  }
  static constexpr int64_t kHour = 3600;

  std::filesystem::path dir_;
  std::unique_ptr<SqliteStore> store_;
  CampaignId a_ = 0, b_ = 0;
};

// --- dispositions -------------------------------------------------------------

TEST_F(LimitsTest, ACallbackCodeCallsTheSamePhoneAgainAtTheTimeGiven) {
  set(a_, "dispositions", "SALE=done,CALLBACK=callback:2h");
  load(a_, {{"C1", "+12025550101"}, {"C1", "+12025550102"}});
  auto c = claim(a_, t(0));
  ASSERT_EQ(c.size(), 1u);
  end(a_, c[0], Outcome::kConnected, t(60));
  EXPECT_EQ(status(a_).customers_by_state[CustomerState::kReached], 1);

  auto d = store_->set_disposition(a_, c[0].attempt_id, "callback", t(10 * kHour), t(120));
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(d->action, "callback");
  EXPECT_TRUE(d->applied);
  EXPECT_EQ(d->callable_at, t(10 * kHour));
  EXPECT_TRUE(claim(a_, t(10 * kHour - 1)).empty());
  auto again = claim(a_, t(10 * kHour));
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ(again[0].phone, "+12025550101");  // the same phone
  // The code is on the attempt (results' disposition column).
  std::string recorded;
  ASSERT_TRUE(store_
                  ->for_each_attempt(a_,
                                     [&](const AttemptRecord& r) {
                                       if (r.id == c[0].attempt_id) recorded = r.disposition;
                                     })
                  .ok());
  EXPECT_EQ(recorded, "callback");
}

TEST_F(LimitsTest, ACallbackWithoutATimeWaitsTheConfiguredDelayAndDoneEndsTheCustomer) {
  set(a_, "dispositions", "CB=callback:2h,RETRY=retry:30m,NOTINTERESTED=done");
  load(a_, {{"C1", "+12025550101"}, {"C2", "+12025550102"}, {"C3", "+12025550103"}});
  auto c = claim(a_, t(0));
  ASSERT_EQ(c.size(), 3u);
  for (const Claim& x : c) end(a_, x, Outcome::kNoAnswer, t(30));  // max-attempts 1: exhausted
  auto cb = store_->set_disposition(a_, c[0].attempt_id, "CB", std::nullopt, t(100));
  ASSERT_TRUE(cb.ok()) << cb.status();
  EXPECT_EQ(cb->callable_at, t(100 + 2 * kHour));
  auto retry = store_->set_disposition(a_, c[1].attempt_id, "retry", std::nullopt, t(100));
  ASSERT_TRUE(retry.ok()) << retry.status();
  EXPECT_EQ(retry->callable_at, t(100 + 30 * 60));
  auto done = store_->set_disposition(a_, c[2].attempt_id, "NotInterested", std::nullopt, t(100));
  ASSERT_TRUE(done.ok()) << done.status();
  EXPECT_EQ(done->action, "done");
  EXPECT_FALSE(done->callable_at);
  CampaignStatus st = status(a_);
  EXPECT_EQ(st.customers_by_state[CustomerState::kPending], 2);
  EXPECT_EQ(st.customers_by_state[CustomerState::kExhausted], 1);
  EXPECT_EQ(st.next_callable_at, t(100 + 30 * 60));
  auto first = claim(a_, t(100 + 30 * 60));
  ASSERT_EQ(first.size(), 1u);
  EXPECT_EQ(first[0].cust_id, "C2");
}

TEST_F(LimitsTest, AnUnknownCodeIsRecordedAndChangesNothing) {
  set(a_, "dispositions", "SALE=done");
  load(a_, {{"C1", "+12025550101"}});
  auto c = claim(a_, t(0));
  end(a_, c[0], Outcome::kConnected, t(60));
  auto d = store_->set_disposition(a_, c[0].attempt_id, "WRONG_NUMBER", std::nullopt, t(70));
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(d->action, "");
  EXPECT_FALSE(d->callable_at);
  EXPECT_EQ(status(a_).customers_by_state[CustomerState::kReached], 1);
  // A time is only for callbacks.
  auto bad = store_->set_disposition(a_, c[0].attempt_id, "SALE", t(999), t(70));
  EXPECT_TRUE(absl::IsInvalidArgument(bad.status())) << bad.status();
  auto malformed = store_->set_disposition(a_, c[0].attempt_id, "no spaces", std::nullopt, t(70));
  EXPECT_TRUE(absl::IsInvalidArgument(malformed.status())) << malformed.status();
  // Another campaign's attempt is not found through this one.
  auto other = store_->set_disposition(b_, c[0].attempt_id, "SALE", std::nullopt, t(70));
  EXPECT_TRUE(absl::IsNotFound(other.status())) << other.status();
}

TEST_F(LimitsTest, ACodeSetDuringTheCallIsAppliedWhenItEnds) {
  set(a_, "dispositions", "CALLBACK=callback:1h");
  load(a_, {{"C1", "+12025550101"}});
  auto c = claim(a_, t(0));
  auto d = store_->set_disposition(a_, c[0].attempt_id, "CALLBACK", std::nullopt, t(20));
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_FALSE(d->applied);
  auto f = store_->finish(c[0].attempt_id, {Outcome::kConnected, t(60), "", ""}, rules(a_));
  ASSERT_TRUE(f.ok()) << f.status();
  EXPECT_EQ(f->callable_at, t(60 + kHour));  // from the end of the call
  EXPECT_EQ(status(a_).customers_by_state[CustomerState::kPending], 1);
}

TEST_F(LimitsTest, TheCodeAnEndBringsFromTheContactRecordIsApplied) {
  // The Connect path: the CTR's Attributes give the code with the end.
  set(a_, "dispositions", "RETRY=retry:30m");
  load(a_, {{"C1", "+12025550101"}});
  auto c = claim(a_, t(0));
  auto f = store_->finish(c[0].attempt_id, {Outcome::kConnected, t(60), "", "RETRY"}, rules(a_));
  ASSERT_TRUE(f.ok()) << f.status();
  EXPECT_EQ(f->callable_at, t(60 + 30 * 60));
  auto again = claim(a_, t(60 + 30 * 60));
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ(again[0].phone, "+12025550101");
}

}  // namespace
}  // namespace pd
