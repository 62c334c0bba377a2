// The do-not-call list through the Store seam, against every implementation
// (store/testing/store_factory.h): entries, loads, and the claim's check (a
// listed number is never dialled, from the moment the change that listed it
// commits). The SQLite store's staged bulk load is in
// store/sqlite/sqlite_dnc_test.cc.
#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <set>
#include <thread>

#include "core/strings.h"
#include "core/time_format.h"
#include "store/testing/store_factory.h"

namespace pd {
namespace {

using store_testing::StoreContractBase;

class DncContractTest : public StoreContractBase {
 protected:
  void SetUp() override {
    StoreContractBase::SetUp();
    if (HasFatalFailure()) return;
    store_ = open(true);
    ASSERT_NE(store_, nullptr);
  }
  void TearDown() override {
    store_.reset();
    StoreContractBase::TearDown();
  }

  WallTime t(int seconds) { return WallTime{Millis{1'800'000'000'000LL + seconds * 1000LL}}; }

  DncLoadResult add(Store& store, const std::vector<std::string>& numbers, std::string source,
                    std::optional<WallTime> expires = std::nullopt, std::string replace = "") {
    auto w = store.begin_dnc({t(0), replace});
    EXPECT_TRUE(w.ok()) << w.status();
    for (const std::string& n : numbers) {
      absl::Status s = (*w)->add(n, source, expires);
      EXPECT_TRUE(s.ok()) << s;
    }
    auto done = (*w)->commit();
    EXPECT_TRUE(done.ok()) << done.status();
    return done.ok() ? *done : DncLoadResult{};
  }

  std::vector<DncEntry> all(DncQuery q = {}) {
    std::vector<DncEntry> out;
    absl::Status s = store_->for_each_dnc(q, [&](const DncEntry& e) { out.push_back(e); });
    EXPECT_TRUE(s.ok()) << s;
    return out;
  }

  std::unique_ptr<Store> store_;
};

class DncClaimContractTest : public DncContractTest {
 protected:
  void SetUp() override {
    DncContractTest::SetUp();
    if (HasFatalFailure()) return;
    auto c = store_->init_campaign("c1");
    ASSERT_TRUE(c.ok()) << c.status();
    campaign_ = c->id;
    // Compliance rules other than DNC must not hold anyone back here.
    ASSERT_TRUE(store_->set_config(campaign_, "calling-hours", "00:00-24:00").ok());
  }

  // Customers C0..C<n-1>, each with `phones` numbers +1202555<i*10+p>.
  void load(int n, int phones) {
    auto w = store_->begin_list(campaign_, LoadMode::kReplace);
    ASSERT_TRUE(w.ok()) << w.status();
    for (int i = 0; i < n; ++i) {
      for (int p = 0; p < phones; ++p) {
        ASSERT_TRUE((*w)->add(cat("C", i), phone(i, p), "{}", i + 2).ok());
      }
    }
    ASSERT_TRUE((*w)->commit().ok());
  }
  static std::string phone(int i, int p) { return fmt::format("+1202555{:04d}", i * 10 + p); }

  std::vector<AttemptRecord> attempts() {
    std::vector<AttemptRecord> out;
    EXPECT_TRUE(
        store_->for_each_attempt(campaign_, [&](const AttemptRecord& r) { out.push_back(r); }).ok());
    return out;
  }

  CampaignId campaign_ = 0;
};

TEST_P(DncContractTest, EntriesAreAddedFoundListedAndRemoved) {
  DncLoadResult r = add(*store_, {"+12025550123", "+442079460958"}, "fcc", t(100));
  EXPECT_EQ(r.written, 2);
  EXPECT_EQ(r.total, 2);
  auto e = store_->find_dnc("+12025550123");
  ASSERT_TRUE(e.ok()) << e.status();
  ASSERT_TRUE(e->has_value());
  EXPECT_EQ((*e)->source, "fcc");
  EXPECT_EQ((*e)->added_at, t(0));
  EXPECT_EQ((*e)->expires_at, t(100));
  EXPECT_TRUE((*e)->active_at(t(99)));
  EXPECT_FALSE((*e)->active_at(t(100)));
  auto none = store_->find_dnc("+12025550199");
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());

  std::vector<DncEntry> listed = all();
  ASSERT_EQ(listed.size(), 2u);
  EXPECT_EQ(listed[0].number, "+12025550123");  // number order
  EXPECT_EQ(listed[1].number, "+442079460958");

  auto removed = store_->remove_dnc({"+12025550123", "+12025550199"});
  ASSERT_TRUE(removed.ok());
  EXPECT_EQ(*removed, 1);
  EXPECT_EQ(all().size(), 1u);
  EXPECT_FALSE(store_->remove_dnc({"2025550123"}).ok());  // not E.164
}

TEST_P(DncContractTest, ALaterAddReplacesTheEntryAndReplaceSourceDropsTheOldCopy) {
  add(*store_, {"+12025550001", "+12025550002", "+12025550003"}, "fcc");
  add(*store_, {"+12025550003"}, "internal");
  EXPECT_EQ((*store_->find_dnc("+12025550003"))->source, "internal");
  // A new copy of fcc's list: 0001 is gone from it, 0004 is new.
  DncLoadResult r = add(*store_, {"+12025550002", "+12025550004"}, "fcc", {}, "fcc");
  EXPECT_EQ(r.replaced, 2);  // 0001 and 0002 (0003 had become internal's)
  EXPECT_EQ(r.total, 3);
  std::vector<std::string> numbers;
  for (const DncEntry& e : all()) numbers.push_back(e.number);
  EXPECT_EQ(numbers, (std::vector<std::string>{"+12025550002", "+12025550003", "+12025550004"}));
  EXPECT_EQ(all({.source = "fcc"}).size(), 2u);
  auto counts = store_->dnc_counts(t(0));
  ASSERT_TRUE(counts.ok());
  EXPECT_EQ(counts->total, 3);
  EXPECT_EQ(counts->by_source["fcc"], 2);
  EXPECT_EQ(counts->by_source["internal"], 1);
}

TEST_P(DncContractTest, PagesFollowNumberOrder) {
  std::vector<std::string> numbers;
  for (int i = 0; i < 10; ++i) numbers.push_back(cat("+1202555", 1000 + i));
  add(*store_, numbers, "fcc");
  auto page1 = all({.limit = 4});
  ASSERT_EQ(page1.size(), 4u);
  auto page2 = all({.after = page1.back().number, .limit = 4});
  ASSERT_EQ(page2.size(), 4u);
  EXPECT_EQ(page2[0].number, "+12025551004");
  EXPECT_EQ(all({.after = "+12025551007"}).size(), 2u);
}

TEST_P(DncContractTest, AnUncommittedLoadChangesNothing) {
  add(*store_, {"+12025550001"}, "fcc");
  {
    auto w = store_->begin_dnc({t(0), "fcc"});
    ASSERT_TRUE(w.ok());
    ASSERT_TRUE((*w)->add("+12025550002", "fcc", {}).ok());
    EXPECT_FALSE((*w)->add("12025550002", "fcc", {}).ok());
    EXPECT_FALSE((*w)->add("+12025550002", "bad label", {}).ok());
  }
  std::vector<DncEntry> listed = all();
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0].number, "+12025550001");
}

TEST_P(DncClaimContractTest, AListedNumberIsSuppressedAndTheNextPhoneClaimed) {
  load(3, 2);
  add(*store_, {phone(0, 0), phone(1, 0), phone(1, 1)}, "fcc");
  add(*store_, {phone(2, 0)}, "old", t(-10));  // expired before now
  auto claims = store_->claim(campaign_, 10, t(0), "me");
  ASSERT_TRUE(claims.ok()) << claims.status();
  std::set<std::string> claimed;
  for (const Claim& c : *claims) claimed.insert(c.phone);
  EXPECT_EQ(claimed, (std::set<std::string>{phone(0, 1), phone(2, 0)}));
  std::map<std::string, AttemptRecord> by_phone;
  for (const AttemptRecord& r : attempts()) by_phone[r.phone] = r;
  for (const std::string& p : {phone(0, 0), phone(1, 0), phone(1, 1)}) {
    ASSERT_TRUE(by_phone.count(p)) << p;
    EXPECT_EQ(by_phone[p].outcome, Outcome::kSuppressed) << p;
    EXPECT_EQ(by_phone[p].state, AttemptState::kEnded) << p;
    EXPECT_EQ(by_phone[p].rule, "dnc (source: fcc)") << p;
    EXPECT_EQ(by_phone[p].contact_id, "") << p;
  }
  auto st = store_->status(campaign_);
  ASSERT_TRUE(st.ok());
  EXPECT_EQ(st->attempts_by_outcome[Outcome::kSuppressed], 3);
  EXPECT_EQ(st->customers_by_state[CustomerState::kSuppressed], 1);  // C1: both phones listed
}

// Two Store objects on one file, as two processes would have: numbers are
// added to the list while the other claims. Whatever the interleaving, a
// number whose add had committed before a claim began is never claimed.
TEST_P(DncClaimContractTest, ANumberAddedWhileClaimsRunIsNeverDialledAfterTheAddCommits) {
  constexpr int kCustomers = 400;
  load(kCustomers, 1);
  ASSERT_TRUE(store_->transition(campaign_, {}, CampaignState::kRunning).ok());
  std::vector<std::atomic<bool>> committed(kCustomers);
  for (auto& c : committed) c = false;
  std::atomic<bool> done{false};
  std::atomic<int> adds{0};
  std::atomic<bool> adder_finished{false};
  std::thread adder([&] {
    struct Finished {
      std::atomic<bool>& flag;
      ~Finished() { flag = true; }
    } finished{adder_finished};
    auto other = factory().open(false);
    ASSERT_TRUE(other.ok()) << other.status();
    // Every other customer, in an order the claimer does not follow.
    for (int i = kCustomers - 2; i >= 0 && !done; i -= 2) {
      auto w = (*other)->begin_dnc({t(0), ""});
      ASSERT_TRUE(w.ok()) << w.status();
      ASSERT_TRUE((*w)->add(phone(i, 0), "live", std::nullopt).ok());
      auto r = (*w)->commit();
      ASSERT_TRUE(r.ok()) << r.status();
      committed[i] = true;  // after the commit returned
      ++adds;
    }
  });
  std::vector<std::string> violations;
  int claimed = 0;
  RetryRules rules;
  for (int round = 0;; ++round) {
    // SQLite's busy handler sleeps, so a claimer that never pauses could
    // keep the adder out until it is done: let the adder keep up (at least
    // one add per round), while adds and claims still overlap freely.
    while (adds < round && !adder_finished) std::this_thread::yield();
    std::vector<bool> before(kCustomers);
    for (int i = 0; i < kCustomers; ++i) before[i] = committed[i];
    auto claims = store_->claim(campaign_, 3, t(0), "me");
    ASSERT_TRUE(claims.ok()) << claims.status();
    if (claims->empty()) break;
    for (const Claim& c : *claims) {
      ++claimed;
      const int i = std::stoi(c.cust_id.substr(1));
      if (before[i]) violations.push_back(c.phone);
      ASSERT_TRUE(store_->finish(c.attempt_id, {Outcome::kNoAnswer, t(1), "", ""}, rules).ok());
    }
  }
  done = true;
  adder.join();
  EXPECT_EQ(violations, std::vector<std::string>{});
  // Both sides really ran at once: some were added in time to be
  // suppressed, and the claimer dialled the rest.
  int suppressed = 0;
  for (const AttemptRecord& r : attempts()) {
    if (r.outcome == Outcome::kSuppressed) {
      ++suppressed;
      const int i = std::stoi(r.cust_id.substr(1));
      EXPECT_TRUE(committed[i]) << r.phone;  // only listed numbers are suppressed
    }
  }
  EXPECT_EQ(suppressed + claimed, kCustomers);
  EXPECT_GT(suppressed, 0);
}

INSTANTIATE_TEST_SUITE_P(Sqlite, DncContractTest,
                         ::testing::Values(store_testing::sqlite_store_kind()),
                         store_testing::store_kind_name);
INSTANTIATE_TEST_SUITE_P(Pg, DncContractTest, ::testing::Values(store_testing::pg_store_kind()),
                         store_testing::store_kind_name);
INSTANTIATE_TEST_SUITE_P(Memory, DncContractTest,
                         ::testing::Values(store_testing::memory_store_kind()),
                         store_testing::store_kind_name);
INSTANTIATE_TEST_SUITE_P(Sqlite, DncClaimContractTest,
                         ::testing::Values(store_testing::sqlite_store_kind()),
                         store_testing::store_kind_name);
INSTANTIATE_TEST_SUITE_P(Pg, DncClaimContractTest, ::testing::Values(store_testing::pg_store_kind()),
                         store_testing::store_kind_name);
INSTANTIATE_TEST_SUITE_P(Memory, DncClaimContractTest,
                         ::testing::Values(store_testing::memory_store_kind()),
                         store_testing::store_kind_name);

}  // namespace
}  // namespace pd
