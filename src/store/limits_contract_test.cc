// The compliance limits the store enforces (caps, the abandon lockout, the
// abandon ledger and the max-abandon-rate pause) and the agents' wrap-up
// codes (dispositions), through the Store seam, against every
// implementation (store/testing/store_factory.h).
#include <gtest/gtest.h>

#include "core/config_keys.h"
#include "core/strings.h"
#include "store/testing/store_factory.h"

namespace pd {
namespace {

using store_testing::StoreContractBase;

class LimitsContractTest : public StoreContractBase {
 protected:
  void SetUp() override {
    StoreContractBase::SetUp();
    if (HasFatalFailure()) return;
    store_ = open(true);
    ASSERT_NE(store_, nullptr);
    a_ = campaign("a");
    b_ = campaign("b");
  }
  void TearDown() override {
    store_.reset();
    StoreContractBase::TearDown();
  }

  CampaignId campaign(const std::string& name) {
    auto c = store_->init_campaign(name);
    EXPECT_TRUE(c.ok()) << c.status();
    // Tests not about calling windows dial at any hour, phones with no
    // known zone included.
    EXPECT_TRUE(store_->set_config(c->id, "calling-hours", "00:00-24:00").ok());
    EXPECT_TRUE(store_->set_config(c->id, "default-timezone", "UTC").ok());
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
  // Why the customer is held (customers.held), read from another connection
  // (a store that answers no SQL has nothing to read it from).
  void expect_held(CampaignId id, const std::string& cust, const std::string& reason) {
    if (!GetParam().answers_sql) return;
    EXPECT_EQ(text(cat("SELECT coalesce(held, '') FROM customers WHERE campaign_id = ", id,
                       " AND cust_id = '", cust, "'")),
              reason)
        << cust;
  }
  static WallTime t(int64_t seconds) {
    return WallTime{Millis{1'800'000'000'000LL + seconds * 1000LL}};
  }
  static constexpr int64_t kHour = 3600;

  std::unique_ptr<Store> store_;
  CampaignId a_ = 0, b_ = 0;
};

// --- dispositions -------------------------------------------------------------

TEST_P(LimitsContractTest, ACallbackCodeCallsTheSamePhoneAgainAtTheTimeGiven) {
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

TEST_P(LimitsContractTest, ACallbackWithoutATimeWaitsTheConfiguredDelayAndDoneEndsTheCustomer) {
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

TEST_P(LimitsContractTest, AnUnknownCodeIsRecordedAndChangesNothing) {
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

TEST_P(LimitsContractTest, ACodeSetDuringTheCallIsAppliedWhenItEnds) {
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

TEST_P(LimitsContractTest, TheCodeAnEndBringsFromTheContactRecordIsApplied) {
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


TEST_P(LimitsContractTest, ADncCodeAddsTheNumberToTheDoNotCallList) {
  set(a_, "dispositions", "DNC=dnc");
  load(a_, {{"C1", "+12025550101"}, {"C1", "+12025550102"}, {"C2", "+12025550103"}});
  auto c = claim(a_, t(0));
  ASSERT_EQ(c.size(), 2u);
  // Through the API, after the call.
  end(a_, c[0], Outcome::kConnected, t(60));
  auto d = store_->set_disposition(a_, c[0].attempt_id, "DNC", std::nullopt, t(70));
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(d->action, "dnc");
  // From the contact record, with the end.
  end(a_, c[1], Outcome::kConnected, t(60), "dnc");
  for (const char* listed : {"+12025550101", "+12025550103"}) {
    auto e = store_->find_dnc(listed);
    ASSERT_TRUE(e.ok()) << e.status();
    ASSERT_TRUE(e->has_value()) << listed;
    EXPECT_EQ((*e)->source, "disposition");
    EXPECT_EQ((*e)->expires_at, std::nullopt);
  }
  EXPECT_EQ(*store_->find_dnc("+12025550102"), std::nullopt);
  CampaignStatus st = status(a_);
  EXPECT_EQ(st.customers_by_state[CustomerState::kReached], 2);  // no more calls
}

// --- caps ---------------------------------------------------------------------

TEST_P(LimitsContractTest, ThePhoneCapCountsCallsInEveryCampaign) {
  set(a_, "max-calls-per-24h", "2");
  set(b_, "max-calls-per-24h", "2");
  load(a_, {{"A1", "+12025550101"}});
  load(b_, {{"B1", "+12025550101"}, {"B2", "+12025550102"}});
  set(a_, "max-attempts", "5");
  set(a_, "retry-delay", "0");
  auto first = claim(a_, t(0));
  ASSERT_EQ(first.size(), 1u);
  end(a_, first[0], Outcome::kNoAnswer, t(30));
  auto second = claim(a_, t(3600));
  ASSERT_EQ(second.size(), 1u);
  end(a_, second[0], Outcome::kNoAnswer, t(3630));
  // Two calls to +12025550101 in 24 h: campaign b may not call it, but may
  // call its other number.
  auto b = claim(b_, t(7200));
  ASSERT_EQ(b.size(), 1u);
  EXPECT_EQ(b[0].phone, "+12025550102");
  expect_held(b_, "B1", "cap max-calls-per-24h");
  // Held until the older of the two calls leaves the window, not polled.
  EXPECT_EQ(status(b_).next_callable_at, t(24 * kHour));
  EXPECT_TRUE(claim(b_, t(24 * kHour - 1)).empty());
  // Campaign a is held the same way (its own calls count too).
  EXPECT_TRUE(claim(a_, t(7200)).empty());
  auto later = claim(b_, t(24 * kHour));
  ASSERT_EQ(later.size(), 1u);
  EXPECT_EQ(later[0].cust_id, "B1");
  expect_held(b_, "B1", "");
}

TEST_P(LimitsContractTest, TheCustomerCapCountsTheCustomerIdInEveryCampaignOnAnyPhone) {
  set(b_, "max-customer-calls-per-7d", "1");
  load(a_, {{"C1", "+12025550101"}});
  load(b_, {{"C1", "+12025550199"}, {"C2", "+12025550102"}});
  auto a = claim(a_, t(0));
  ASSERT_EQ(a.size(), 1u);
  end(a_, a[0], Outcome::kConnected, t(60));
  auto b = claim(b_, t(100));
  ASSERT_EQ(b.size(), 1u);
  EXPECT_EQ(b[0].cust_id, "C2");
  expect_held(b_, "C1", "cap max-customer-calls-per-7d");
  EXPECT_EQ(status(b_).next_callable_at, t(7 * 24 * kHour));
  // A suppressed attempt was never a call: it does not count (none here),
  // and no cap set means nothing is checked.
  auto rules = store_->compliance_counts(b_);
  ASSERT_TRUE(rules.ok()) << rules.status();
  EXPECT_EQ((*rules)["cap"].checked, 2);
  EXPECT_EQ((*rules)["cap"].held, 1);
}

TEST_P(LimitsContractTest, ARegionsLowerCapHoldsItsPhones) {
  // The region rules (here Florida's 3 calls in 24 hours) cap a phone in the
  // region below the campaign's own cap.
  auto policy = CompliancePolicy::from_config(
      {{"max-calls-per-24h", "5"}},
      "[US-FL]\nmax-calls-per-24h = 3\nmax-calls-per-7d = 10\n");
  ASSERT_TRUE(policy.ok()) << policy.status();
  auto fl = policy->phone_caps_in("US-FL");
  EXPECT_EQ(fl.caps.per_24h, 3);
  EXPECT_TRUE(fl.region_24h);
  EXPECT_EQ(fl.caps.per_7d, 10);
  auto tx = policy->phone_caps_in("US-TX");
  EXPECT_EQ(tx.caps.per_24h, 5);
  EXPECT_FALSE(tx.region_24h);
  policy = CompliancePolicy::from_config({{"max-calls-per-24h", "2"}},
                                         "[US-FL]\nmax-calls-per-24h = 3\n");
  ASSERT_TRUE(policy.ok()) << policy.status();
  EXPECT_EQ(policy->phone_caps_in("US-FL").caps.per_24h, 2);  // the campaign's is lower
  EXPECT_FALSE(policy->phone_caps_in("US-FL").region_24h);

  // In the claim: a Florida phone (the built-in rules) rests after 3 calls.
  set(a_, "max-attempts", "5");
  set(a_, "retry-delay", "0");
  {
    auto w = store_->begin_list(a_, LoadMode::kReplace);
    ASSERT_TRUE(w.ok());
    ASSERT_TRUE((*w)->add("F1", "+13055550101", "{}", 2,
                          CalleeFacts{{"America/New_York"}, "US-FL"}).ok());
    ASSERT_TRUE((*w)->commit().ok());
  }
  // (From 14:00Z, 09:00 in Miami: inside Florida's 08:00-20:00.)
  for (int i = 0; i < 3; ++i) {
    auto c = claim(a_, t((6 + i) * kHour));
    ASSERT_EQ(c.size(), 1u) << i;
    end(a_, c[0], Outcome::kNoAnswer, t((6 + i) * kHour + 30));
  }
  EXPECT_TRUE(claim(a_, t(9 * kHour)).empty());
  expect_held(a_, "F1", "cap max-calls-per-24h US-FL");
  EXPECT_EQ(status(a_).next_callable_at, t(30 * kHour));
}

// --- abandon lockout --------------------------------------------------------------

TEST_P(LimitsContractTest, ReloadingTheListForgetsNoCallTheCapsAndLockoutCount) {
  set(a_, "max-calls-per-24h", "2");
  set(a_, "max-attempts", "5");
  set(a_, "retry-delay", "0");
  load(a_, {{"A1", "+12025550101"}});
  load(b_, {{"B2", "+12025550102"}});
  auto first = claim(a_, t(0));
  ASSERT_EQ(first.size(), 1u);
  end(a_, first[0], Outcome::kNoAnswer, t(30));
  auto second = claim(a_, t(3600));
  ASSERT_EQ(second.size(), 1u);
  end(a_, second[0], Outcome::kNoAnswer, t(3630));
  auto abandoned = claim(b_, t(0));
  ASSERT_EQ(abandoned.size(), 1u);
  end(b_, abandoned[0], Outcome::kAbandoned, t(30));
  // Re-running the campaigns resets their dialing state, not the law: the
  // two calls to A1's number and the abandoned one to B2's still count.
  load(a_, {{"A1", "+12025550101"}, {"A2", "+12025550102"}});
  load(b_, {{"B2", "+12025550102"}});
  EXPECT_EQ(status(a_).attempts, 0);
  EXPECT_TRUE(claim(a_, t(7200)).empty());
  expect_held(a_, "A1", "cap max-calls-per-24h");
  expect_held(a_, "A2", "abandon-lockout");
  auto later = claim(a_, t(24 * kHour));
  ASSERT_EQ(later.size(), 1u);
  EXPECT_EQ(later[0].cust_id, "A1");
}

TEST_P(LimitsContractTest, AfterAnAbandonedCallTheNumberRestsForTheLockout) {
  set(a_, "abandon-lockout", "72h");
  set(b_, "abandon-lockout", "72h");
  load(a_, {{"A1", "+12025550101"}});
  load(b_, {{"B1", "+12025550101"}, {"B2", "+12025550102"}});
  auto a = claim(a_, t(0));
  end(a_, a[0], Outcome::kAbandoned, t(20));
  auto b = claim(b_, t(60));
  ASSERT_EQ(b.size(), 1u);
  EXPECT_EQ(b[0].cust_id, "B2");
  expect_held(b_, "B1", "abandon-lockout");
  EXPECT_EQ(status(b_).next_callable_at, t(20 + 72 * kHour));
  EXPECT_TRUE(claim(b_, t(20 + 72 * kHour - 1)).empty());
  auto later = claim(b_, t(20 + 72 * kHour));
  ASSERT_EQ(later.size(), 1u);
  EXPECT_EQ(later[0].cust_id, "B1");
}

// --- the abandon ledger and the pause ----------------------------------------------

TEST_P(LimitsContractTest, TheLedgerCountsAnsweredAndAbandonedCallsPerDayAndOver30Days) {
  load(a_, {{"C1", "+12025550101"}, {"C2", "+12025550102"}, {"C3", "+12025550103"},
            {"C4", "+12025550104"}});
  set(a_, "max-abandon-rate", "100%");  // not a test of the pause
  // 40 days ago: outside the 30 days.
  const int64_t day = 24 * kHour;
  auto c = claim(a_, t(-40 * day), 1);
  end(a_, c[0], Outcome::kAbandoned, t(-40 * day + 30));
  // 10 days ago: inside.
  c = claim(a_, t(-10 * day), 1);
  end(a_, c[0], Outcome::kConnected, t(-10 * day + 30));
  // Today: one abandoned, one no answer (not answered: not counted).
  c = claim(a_, t(0), 2);
  ASSERT_EQ(c.size(), 2u);
  end(a_, c[0], Outcome::kAbandoned, t(30));
  end(a_, c[1], Outcome::kNoAnswer, t(30));
  auto r = store_->abandon_rates(a_, t(60));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->today, "2027-01-15");  // t(0) is 2027-01-15T08:00:00Z
  EXPECT_EQ(r->answered_today, 1);
  EXPECT_EQ(r->abandoned_today, 1);
  EXPECT_EQ(r->answered_30d, 2);
  EXPECT_EQ(r->abandoned_30d, 1);
  EXPECT_DOUBLE_EQ(r->rate_30d(), 0.5);
  EXPECT_EQ(store_->abandon_ledger(a_)->size(), 3u);
}

// A call put through to an agent counts as answered then, not when its talk
// ends: otherwise an abandon (ended within seconds of the answer) early in a
// day is set against only the few talks already over, and the rate reads far
// too high (one abandon among ten calls on the line read as 100%).
TEST_P(LimitsContractTest, TheLedgerCountsAnAnswerWhenTheCallReachesAnAgent) {
  std::vector<std::pair<std::string, std::string>> rows;
  for (int i = 0; i < 43; ++i) rows.emplace_back(cat("C", i), cat("+1202555", 1000 + i));
  load(a_, rows);
  auto c = claim(a_, t(0), 42);
  ASSERT_EQ(c.size(), 42u);
  // 40 people talking with agents, one hung up in the queue: 1 of 41.
  for (int i = 0; i < 40; ++i) {
    ASSERT_TRUE(store_->mark_connected(c[i].attempt_id, t(10), "agent").ok());
  }
  ASSERT_TRUE(store_->mark_connected(c[0].attempt_id, t(11), "agent").ok());  // counted once
  end(a_, c[40], Outcome::kAbandoned, t(12));
  auto r = store_->abandon_rates(a_, t(20));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->answered_today, 41);
  EXPECT_EQ(r->abandoned_today, 1);
  EXPECT_FALSE(r->over_max()) << r->pause_reason();
  EXPECT_EQ(claim(a_, t(20), 1).size(), 1u);
  // The talks end: no answer is counted twice. A person put through late
  // (the 2 s rule) was counted at the connect, and their end adds the abandon.
  for (int i = 0; i < 39; ++i) end(a_, c[i], Outcome::kConnected, t(200));
  end(a_, c[39], Outcome::kAbandoned, t(200));
  r = store_->abandon_rates(a_, t(300));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->answered_today, 41);
  EXPECT_EQ(r->abandoned_today, 2);
}

TEST_P(LimitsContractTest, TheLedgerDayIsTheCampaignsDayWhereItHasATimeZone) {
  // 2027-01-15T03:00Z is still the 14th in Chicago (UTC-6).
  const int64_t early = -5 * kHour;
  load(a_, {{"C1", "+12025550101"}});
  auto policy = CompliancePolicy::from_config({{"default-timezone", "America/Chicago"}}, "");
  ASSERT_TRUE(policy.ok()) << policy.status();
  EXPECT_EQ(policy->ledger_timezone, "America/Chicago");
  // (Set as stored: the key and its validation are the calling windows'.)
  ASSERT_TRUE(store_->set_config(a_, "default-timezone", "America/Chicago").ok());
  auto c = claim(a_, t(early - 60));
  end(a_, c[0], Outcome::kConnected, t(early));
  auto ledger = store_->abandon_ledger(a_);
  ASSERT_TRUE(ledger.ok()) << ledger.status();
  EXPECT_EQ(std::count_if(ledger->begin(), ledger->end(),
                          [](const AbandonDay& d) { return d.day == "2027-01-14"; }),
            1);
}

TEST_P(LimitsContractTest, ACampaignWhose30DayRateReachedTheMaxIsRefusedNamingBothRates) {
  set(a_, "max-abandon-rate", "3%");
  std::vector<std::pair<std::string, std::string>> rows;
  for (int i = 0; i < 40; ++i) rows.emplace_back(cat("C", i), cat("+1202555", 1000 + i));
  load(a_, rows);
  // 1 abandoned of 34 answered: 2.9%, under the limit.
  auto c = claim(a_, t(0), 34);
  ASSERT_EQ(c.size(), 34u);
  for (size_t i = 0; i < c.size(); ++i) {
    end(a_, c[i], i == 0 ? Outcome::kAbandoned : Outcome::kConnected, t(60));
  }
  auto under = store_->abandon_rates(a_, t(60));
  ASSERT_TRUE(under.ok()) << under.status();
  EXPECT_EQ(under->answered_30d, 34);
  EXPECT_FALSE(under->over_max());
  auto more = claim(a_, t(100), 1);
  ASSERT_EQ(more.size(), 1u);
  // A second abandon: 2 of 35, 5.7%.
  end(a_, more[0], Outcome::kAbandoned, t(120));
  auto refused = store_->claim(a_, 1, t(200), "test");
  ASSERT_FALSE(refused.ok());
  EXPECT_TRUE(absl::IsFailedPrecondition(refused.status())) << refused.status();
  EXPECT_NE(std::string(refused.status().message())
                .find("paused: 30-day abandon rate 5.7% reached max-abandon-rate 3%"),
            std::string::npos)
      << refused.status();
  // Another campaign is not paused by this one's rate.
  load(b_, {{"B1", "+12025550555"}});
  EXPECT_EQ(claim(b_, t(200)).size(), 1u);
  // Once the days leave the window, it dials again.
  EXPECT_EQ(claim(a_, t(31 * 24 * kHour), 1).size(), 1u);
  // Raising the limit lets it go on too.
  set(a_, "max-abandon-rate", "10%");
  auto r = store_->abandon_rates(a_, t(200));
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->over_max());
  EXPECT_EQ(r->pause_reason(), "30-day abandon rate 5.7% reached max-abandon-rate 10%");
}

INSTANTIATE_TEST_SUITE_P(Sqlite, LimitsContractTest,
                         ::testing::Values(store_testing::sqlite_store_kind()),
                         store_testing::store_kind_name);
INSTANTIATE_TEST_SUITE_P(Pg, LimitsContractTest, ::testing::Values(store_testing::pg_store_kind()),
                         store_testing::store_kind_name);
INSTANTIATE_TEST_SUITE_P(Memory, LimitsContractTest,
                         ::testing::Values(store_testing::memory_store_kind()),
                         store_testing::store_kind_name);

}  // namespace
}  // namespace pd
