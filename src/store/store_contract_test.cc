// The Store contract (store/store.h), run against every implementation: a
// claim is durable before it returns and never shared, an attempt ends once,
// loads are all or nothing, leases fence, compliance rules hold customers
// back in the claim. SQLite-only matters (the file, its schema upgrades, its
// error codes) are in store/sqlite/sqlite_store_test.cc.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <thread>

#include "compliance/policy.h"
#include "core/strings.h"
#include "store/testing/store_factory.h"

namespace pd {
namespace {

using store_testing::StoreContractBase;

class StoreContractTest : public StoreContractBase {
 protected:
  void SetUp() override {
    StoreContractBase::SetUp();
    if (HasFatalFailure()) return;
    // Scratch files of the multi-process tests.
    dir_ = std::filesystem::temp_directory_path() /
           cat("pd-contract-", ::getpid(), "-", reinterpret_cast<uintptr_t>(this));
    std::filesystem::create_directories(dir_);
    store_ = open(true);
    ASSERT_NE(store_, nullptr);
    auto c = store_->init_campaign("c1");
    ASSERT_TRUE(c.ok()) << c.status();
    campaign_ = c->id;
    // Most tests here are not about calling windows: every hour is inside.
    ASSERT_TRUE(store_->set_config(campaign_, "calling-hours", "00:00-24:00").ok());
  }
  void TearDown() override {
    store_.reset();
    if (!dir_.empty()) std::filesystem::remove_all(dir_);
    StoreContractBase::TearDown();
  }

  // Loads customers "C0".."C<n-1>", each with `phones` numbers.
  void load(int n, int phones = 1, LoadMode mode = LoadMode::kReplace) {
    auto w = store_->begin_list(campaign_, mode);
    ASSERT_TRUE(w.ok()) << w.status();
    for (int i = 0; i < n; ++i) {
      for (int p = 0; p < phones; ++p) {
        auto added = (*w)->add(cat("C", i), fmt::format("+1202555{:04d}", i * 10 + p), "{}", i + 2);
        ASSERT_TRUE(added.ok()) << added.status();
        EXPECT_TRUE(*added);
      }
    }
    ASSERT_TRUE((*w)->commit().ok());
  }

  WallTime t(int seconds) { return WallTime{Millis{1'800'000'000'000LL + seconds * 1000LL}}; }

  std::filesystem::path dir_;
  std::unique_ptr<Store> store_;
  CampaignId campaign_ = 0;
};

// 2025-12-02 (a Tuesday) at hour:minute UTC; 12:00Z is 06:00 in Chicago, 07:00 in New York.
WallTime dec2(int hour, int minute = 0) {  // hour may pass 24: the next day
  return WallTime{Millis{1'764'633'600'000LL + (hour * 3600LL + minute * 60LL) * 1000LL}};
}

TEST_P(StoreContractTest, InitIsIdempotentAndKeepsSetValues) {
  ASSERT_TRUE(store_->set_config(campaign_, "max-attempts", "3").ok());
  auto again = store_->init_campaign("c1");
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->id, campaign_);
  auto cfg = store_->config(campaign_);
  ASSERT_TRUE(cfg.ok());
  EXPECT_EQ(cfg->at("max-attempts"), "3");
  EXPECT_EQ(cfg->at("default-region"), "US");
  ASSERT_TRUE(store_->migrate().ok());
}

TEST_P(StoreContractTest, ClaimRecordsAttemptsBeforeReturning) {
  load(3);
  auto claims = store_->claim(campaign_, 2, t(0), "node-a");
  ASSERT_TRUE(claims.ok()) << claims.status();
  ASSERT_EQ(claims->size(), 2u);
  EXPECT_EQ((*claims)[0].cust_id, "C0");
  EXPECT_EQ((*claims)[0].phone, "+12025550000");
  EXPECT_EQ((*claims)[0].attempt_on_phone, 1);
  EXPECT_NE((*claims)[0].client_token, (*claims)[1].client_token);

  // A second connection sees them at once: they are durable and in flight.
  auto other = open(false);
  auto open_attempts = other->open_attempts(campaign_);
  ASSERT_TRUE(open_attempts.ok());
  ASSERT_EQ(open_attempts->size(), 2u);
  EXPECT_EQ((*open_attempts)[0].client_token, (*claims)[0].client_token);
  auto rest = other->claim(campaign_, 10, t(0), "node-b");
  ASSERT_TRUE(rest.ok());
  ASSERT_EQ(rest->size(), 1u);
  EXPECT_EQ((*rest)[0].cust_id, "C2");
}

TEST_P(StoreContractTest, RuleCountsOfABatchCommitWithItAndGoWithARollback) {
  load(6);
  auto counted = [&](Store& s) {
    auto c = s.compliance_counts(campaign_);
    EXPECT_TRUE(c.ok()) << c.status();
    return c.ok() ? (*c)[std::string(rule::kCallingWindow)].checked : -1;
  };
  ASSERT_TRUE(store_->claim(campaign_, 1, t(0), "n").ok());
  ASSERT_EQ(counted(*store_), 1);
  // In a batch the counts wait for the commit, and are seen meanwhile.
  ASSERT_TRUE(store_->begin_batch().ok());
  ASSERT_TRUE(store_->claim(campaign_, 2, t(0), "n").ok());
  ASSERT_TRUE(store_->claim(campaign_, 1, t(0), "n").ok());
  EXPECT_EQ(counted(*store_), 4);
  ASSERT_TRUE(store_->commit_batch().ok());
  EXPECT_EQ(counted(*open(false)), 4);
  // A rolled-back batch counts nothing (its claims are gone too).
  ASSERT_TRUE(store_->begin_batch().ok());
  ASSERT_TRUE(store_->claim(campaign_, 1, t(0), "n").ok());
  store_->abort_batch();
  EXPECT_EQ(counted(*store_), 4);
  EXPECT_EQ(counted(*open(false)), 4);
}

TEST_P(StoreContractTest, AnOperationThatFailsInABatchLeavesTheRestToCommit) {
  load(4);
  ASSERT_TRUE(store_->begin_batch().ok());
  ASSERT_TRUE(store_->claim(campaign_, 1, t(0), "n").ok());
  EXPECT_EQ(store_->finish(987654, {Outcome::kNoAnswer, t(1), "", ""}, {}).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(store_->release_claim(987654).code(), absl::StatusCode::kNotFound);
  ASSERT_TRUE(store_->claim(campaign_, 1, t(0), "n").ok());
  ASSERT_TRUE(store_->commit_batch().ok());
  EXPECT_EQ(open(false)->status(campaign_)->attempts, 2);
}

TEST_P(StoreContractTest, ConcurrentClaimersNeverShareACustomer) {
  load(2000);
  constexpr int kClaimers = 4;
  std::vector<std::vector<std::string>> got(kClaimers);
  std::vector<std::thread> threads;
  for (int i = 0; i < kClaimers; ++i) {
    threads.emplace_back([&, i] {
      auto store = factory().open(false);
      ASSERT_TRUE(store.ok());
      while (true) {
        auto claims = (*store)->claim(campaign_, 7, t(0), cat("node-", i));
        ASSERT_TRUE(claims.ok()) << claims.status();
        if (claims->empty()) break;
        for (auto& c : *claims) got[i].push_back(c.cust_id);
      }
    });
  }
  for (auto& th : threads) th.join();
  std::set<std::string> all;
  size_t total = 0;
  for (auto& g : got) {
    total += g.size();
    all.insert(g.begin(), g.end());
  }
  EXPECT_EQ(total, 2000u);
  EXPECT_EQ(all.size(), 2000u);
}

TEST_P(StoreContractTest, ClaimersInSeparateProcessesNeverShareACustomer) {
  PD_SKIP_UNLESS_SHARED_BY_PROCESSES();
  load(600);
  std::vector<pid_t> children;
  const auto out = [&](int i) { return (dir_ / cat("claims-", i)).string(); };
  for (int i = 0; i < 3; ++i) {
    const pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      auto store = factory().open(false);
      if (!store.ok()) ::_exit(2);
      std::ofstream f(out(i));
      while (true) {
        auto claims = (*store)->claim(campaign_, 5, t(0), cat("proc-", i));
        if (!claims.ok()) ::_exit(3);
        if (claims->empty()) break;
        for (auto& c : *claims) f << c.cust_id << "\n";
      }
      f.close();
      ::_exit(0);
    }
    children.push_back(pid);
  }
  for (pid_t pid : children) {
    int status = 0;
    ::waitpid(pid, &status, 0);
    ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  }
  std::multiset<std::string> all;
  for (int i = 0; i < 3; ++i) {
    std::ifstream f(out(i));
    for (std::string line; std::getline(f, line);) all.insert(line);
  }
  EXPECT_EQ(all.size(), 600u);
  EXPECT_EQ(std::set<std::string>(all.begin(), all.end()).size(), 600u);
}

TEST_P(StoreContractTest, CrashBetweenClaimAndFinishLosesNothing) {
  load(2);
  {
    // A dialer claims and then "dies": its store is dropped mid-campaign.
    auto dead = open(false);
    auto claims = dead->claim(campaign_, 1, t(0), "dead-node");
    ASSERT_TRUE(claims.ok());
    ASSERT_EQ(claims->size(), 1u);
  }
  auto open_attempts = store_->open_attempts(campaign_);
  ASSERT_TRUE(open_attempts.ok());
  ASSERT_EQ(open_attempts->size(), 1u);
  EXPECT_EQ((*open_attempts)[0].owner, "dead-node");
  EXPECT_EQ((*open_attempts)[0].state, AttemptState::kDialing);
  // The claimed customer is not handed out again while its attempt is open.
  auto next = store_->claim(campaign_, 10, t(1), "node-b");
  ASSERT_TRUE(next.ok());
  ASSERT_EQ(next->size(), 1u);
  EXPECT_EQ((*next)[0].cust_id, "C1");
  // Resolving it moves the customer on by the rules: nothing is lost.
  auto done = store_->finish((*open_attempts)[0].id, {Outcome::kInterrupted, t(2), "", ""},
                             RetryRules{2, std::chrono::seconds(60)});
  ASSERT_TRUE(done.ok());
  EXPECT_TRUE(done->ended_now);
  EXPECT_EQ(done->callable_at, t(62));
  auto status = store_->status(campaign_);
  ASSERT_TRUE(status.ok());
  EXPECT_EQ(status->customers_by_state[CustomerState::kPending], 1);
  EXPECT_EQ(status->attempts_by_outcome[Outcome::kInterrupted], 1);
  ASSERT_TRUE(status->next_callable_at.has_value());
  EXPECT_EQ(*status->next_callable_at, t(62));
}

TEST_P(StoreContractTest, FinishIsIdempotent) {
  load(1);
  auto claims = store_->claim(campaign_, 1, t(0), "n");
  ASSERT_TRUE(claims.ok());
  const AttemptId id = (*claims)[0].attempt_id;
  ASSERT_TRUE(store_->mark_connected(id, t(5), "agent-1").ok());
  auto first = store_->finish(id, {Outcome::kConnected, t(60), "CUSTOMER_DISCONNECT", ""}, {});
  auto second = store_->finish(id, {Outcome::kNoAnswer, t(61), "", ""}, {});
  ASSERT_TRUE(first.ok() && second.ok());
  EXPECT_TRUE(first->ended_now);
  EXPECT_FALSE(first->callable_at.has_value());  // reached
  EXPECT_FALSE(second->ended_now);
  std::vector<AttemptRecord> rows;
  ASSERT_TRUE(
      store_->for_each_attempt(campaign_, [&](const AttemptRecord& r) { rows.push_back(r); }).ok());
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].outcome, Outcome::kConnected);
  EXPECT_EQ(rows[0].agent_id, "agent-1");
  EXPECT_EQ(rows[0].answered_at, t(5));
  EXPECT_EQ(rows[0].ended_at, t(60));
  EXPECT_EQ(rows[0].disconnect_reason, "CUSTOMER_DISCONNECT");
}

TEST_P(StoreContractTest, RetriesWaitForTheirDelayThenMoveToTheNextPhone) {
  load(1, /*phones=*/2);
  const RetryRules rules{2, std::chrono::seconds(300)};
  auto c1 = store_->claim(campaign_, 5, t(0), "n");
  ASSERT_EQ(c1->size(), 1u);
  EXPECT_EQ((*c1)[0].phone_seq, 0);
  ASSERT_TRUE(store_->finish((*c1)[0].attempt_id, {Outcome::kNoAnswer, t(30), "", ""}, rules).ok());
  EXPECT_TRUE(store_->claim(campaign_, 5, t(329), "n")->empty());
  auto c2 = store_->claim(campaign_, 5, t(330), "n");
  ASSERT_EQ(c2->size(), 1u);
  EXPECT_EQ((*c2)[0].phone_seq, 0);
  EXPECT_EQ((*c2)[0].attempt_on_phone, 2);
  ASSERT_TRUE(store_->finish((*c2)[0].attempt_id, {Outcome::kBusy, t(340), "", ""}, rules).ok());
  // Out of attempts on the first phone: the second phone at once.
  auto c3 = store_->claim(campaign_, 5, t(340), "n");
  ASSERT_EQ(c3->size(), 1u);
  EXPECT_EQ((*c3)[0].phone_seq, 1);
  EXPECT_EQ((*c3)[0].phone, "+12025550001");
  ASSERT_TRUE(
      store_->finish((*c3)[0].attempt_id, {Outcome::kConnected, t(400), "", ""}, rules).ok());
  auto st = store_->status(campaign_);
  EXPECT_EQ(st->customers_by_state[CustomerState::kReached], 1);
  EXPECT_TRUE(store_->claim(campaign_, 5, t(10000), "n")->empty());
}

TEST_P(StoreContractTest, DuplicatePhonesAreKeptOnceAndAppendExtendsCustomers) {
  auto w = store_->begin_list(campaign_, LoadMode::kReplace);
  ASSERT_TRUE(w.ok());
  EXPECT_TRUE(*(*w)->add("A", "+12025550100", R"({"name":"Ann"})", 2));
  EXPECT_TRUE(*(*w)->add("B", "+12025550101", "{}", 3));
  EXPECT_FALSE(*(*w)->add("A", "+12025550100", "{}", 4));
  EXPECT_TRUE(*(*w)->add("A", "+12025550102", "{}", 5));
  EXPECT_FALSE(*(*w)->add("A", "+12025550102", "{}", 6));
  ASSERT_TRUE((*w)->commit().ok());
  auto w2 = store_->begin_list(campaign_, LoadMode::kAppend);
  ASSERT_TRUE(w2.ok());
  EXPECT_TRUE(*(*w2)->add("A", "+12025550103", "{}", 2));
  EXPECT_TRUE(*(*w2)->add("C", "+12025550104", "{}", 3));
  ASSERT_TRUE((*w2)->commit().ok());
  auto st = store_->status(campaign_);
  EXPECT_EQ(st->customers, 3);
  EXPECT_EQ(st->phones, 5);
  EXPECT_EQ(st->customers_by_state[CustomerState::kPending], 3);
  auto claims = store_->claim(campaign_, 10, t(0), "n");
  ASSERT_EQ(claims->size(), 3u);
  EXPECT_EQ((*claims)[0].attributes_json, R"({"name":"Ann"})");

  // A replace counts from nothing again: the old list's customers (one of
  // them dialling now) are gone, the new one's are pending.
  auto w3 = store_->begin_list(campaign_, LoadMode::kReplace);
  ASSERT_TRUE(w3.ok());
  EXPECT_TRUE(*(*w3)->add("D", "+12025550105", "{}", 2));
  EXPECT_TRUE(*(*w3)->add("D", "+12025550106", "{}", 3));
  ASSERT_TRUE((*w3)->commit().ok());
  st = store_->status(campaign_);
  EXPECT_EQ(st->customers, 1);
  EXPECT_EQ(st->phones, 2);
  EXPECT_EQ(st->customers_by_state[CustomerState::kPending], 1);
  EXPECT_EQ(st->customers_by_state[CustomerState::kDialing], 0);
}

// A list long enough that its rows are written in several parts (the
// PostgreSQL store takes customer ids in blocks, 1,000 first, and
// streams phones between them): a customer's second phone, far down the
// file, joins the customer from an earlier part, after their first.
TEST_P(StoreContractTest, ALongListKeepsEachCustomerOnceWithTheirPhonesInFileOrder) {
  constexpr int kCustomers = 1200;
  auto w = store_->begin_list(campaign_, LoadMode::kReplace);
  ASSERT_TRUE(w.ok()) << w.status();
  for (int i = 0; i < kCustomers; ++i) {
    auto added =
        (*w)->add(cat("C", i), fmt::format("+1202555{:04d}", i), cat("{\"i\":", i, "}"), i + 2, {});
    ASSERT_TRUE(added.ok()) << added.status();
  }
  for (int i = kCustomers - 1; i >= 0; i -= 2) {
    EXPECT_FALSE(*(*w)->add(cat("C", i), fmt::format("+1202555{:04d}", i), "{}", 0, {}));
    EXPECT_TRUE(*(*w)->add(cat("C", i), fmt::format("+1203555{:04d}", i), "{}", 0, {}));
  }
  ASSERT_TRUE((*w)->commit().ok());
  auto st = store_->status(campaign_);
  ASSERT_TRUE(st.ok()) << st.status();
  EXPECT_EQ(st->customers, kCustomers);
  EXPECT_EQ(st->phones, kCustomers + kCustomers / 2);
  auto claims = store_->claim(campaign_, kCustomers + 1, t(0), "n");
  ASSERT_TRUE(claims.ok()) << claims.status();
  ASSERT_EQ(claims->size(), static_cast<size_t>(kCustomers));
  std::set<std::string> seen;
  for (const Claim& c : *claims) {
    ASSERT_TRUE(seen.insert(c.cust_id).second) << c.cust_id << " claimed twice";
    const std::string i = c.cust_id.substr(1);
    EXPECT_EQ(c.phone, fmt::format("+1202555{:04d}", std::stoi(i))) << c.cust_id;
    EXPECT_EQ(c.attributes_json, cat("{\"i\":", i, "}")) << c.cust_id;
  }
  // The odd customers' second phone is next, once their first is done.
  for (const Claim& c : *claims) {
    ASSERT_TRUE(store_->finish(c.attempt_id, {Outcome::kNoAnswer, t(1), "", ""}, {}).ok());
  }
  auto again = store_->claim(campaign_, kCustomers + 1, t(100000), "n");
  ASSERT_TRUE(again.ok()) << again.status();
  ASSERT_EQ(again->size(), static_cast<size_t>(kCustomers / 2));
  for (const Claim& c : *again) {
    EXPECT_EQ(c.phone, fmt::format("+1203555{:04d}", std::stoi(c.cust_id.substr(1)))) << c.cust_id;
  }
}

TEST_P(StoreContractTest, AnUncommittedReplaceLeavesThePreviousListIntact) {
  load(5);
  {
    auto w = store_->begin_list(campaign_, LoadMode::kReplace);
    ASSERT_TRUE(w.ok());
    ASSERT_TRUE((*w)->add("X", "+12025559999", "{}", 2).ok());
    // Dropped without commit, as when the import fails or the process dies.
  }
  auto st = store_->status(campaign_);
  EXPECT_EQ(st->customers, 5);
  auto claims = store_->claim(campaign_, 10, t(0), "n");
  EXPECT_EQ(claims->size(), 5u);
}

TEST_P(StoreContractTest, AKilledImportLeavesThePreviousListIntact) {
  PD_SKIP_UNLESS_SHARED_BY_PROCESSES();
  load(5);
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    auto store = factory().open(false);
    auto w = (*store)->begin_list(campaign_, LoadMode::kReplace);
    for (int i = 0; i < 1000; ++i) (void)(*w)->add(cat("K", i), "+12025550000", "{}", i + 2);
    ::kill(::getpid(), SIGKILL);  // dies half-way, without unwinding
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFSIGNALED(status));
  auto reopened = open(false);
  auto st = reopened->status(campaign_);
  ASSERT_TRUE(st.ok()) << st.status();
  EXPECT_EQ(st->customers, 5);
}

TEST_P(StoreContractTest, ReplaceResetsDialingStateAndIsRefusedWhileRunning) {
  load(2);
  auto claims = store_->claim(campaign_, 2, t(0), "n");
  ASSERT_TRUE(
      store_->finish((*claims)[0].attempt_id, {Outcome::kConnected, t(1), "", ""}, {}).ok());
  ASSERT_TRUE(store_->transition(campaign_, {}, CampaignState::kRunning).ok());
  auto refused = store_->begin_list(campaign_, LoadMode::kReplace);
  ASSERT_FALSE(refused.ok());
  EXPECT_TRUE(absl::IsFailedPrecondition(refused.status()));
  ASSERT_TRUE(store_->transition(campaign_, {CampaignState::kRunning}, CampaignState::kDone).ok());
  load(2);
  auto st = store_->status(campaign_);
  EXPECT_EQ(st->attempts, 0);
  EXPECT_EQ(st->campaign.state, CampaignState::kIdle);
  EXPECT_EQ(st->customers_by_state[CustomerState::kPending], 2);
}

TEST_P(StoreContractTest, TransitionChecksTheCurrentState) {
  auto bad = store_->transition(campaign_, {CampaignState::kRunning}, CampaignState::kStopping);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(std::string(bad.status().message()).find("is idle"), std::string::npos);
}

TEST_P(StoreContractTest, LeaseIsHeldByOneOwnerUntilItLapses) {
  EXPECT_TRUE(*store_->acquire_lease(campaign_, "a", t(0), t(30)));
  EXPECT_FALSE(*store_->acquire_lease(campaign_, "b", t(10), t(40)));
  EXPECT_TRUE(*store_->acquire_lease(campaign_, "a", t(10), t(40)));
  EXPECT_TRUE(*store_->acquire_lease(campaign_, "b", t(40), t(70)));
  ASSERT_TRUE(store_->release_lease(campaign_, "b").ok());
  EXPECT_TRUE(*store_->acquire_lease(campaign_, "c", t(41), t(70)));
}

TEST_P(StoreContractTest, ALeaseThatChangesHandsGetsALargerFencingToken) {
  auto a = store_->acquire_lease(campaign_, "a", t(0), t(30));
  ASSERT_TRUE(a.ok() && a->has_value());
  // A renewal keeps the token.
  EXPECT_EQ(**store_->acquire_lease(campaign_, "a", t(10), t(40)), **a);
  auto b = store_->acquire_lease(campaign_, "b", t(40), t(70));
  ASSERT_TRUE(b.ok() && b->has_value());
  EXPECT_GT(**b, **a);
  EXPECT_EQ((*store_->lease(campaign_))->token, **b);
  // Released and taken again, even by the same owner: a new token.
  ASSERT_TRUE(store_->release_lease(campaign_, "b").ok());
  EXPECT_GT(**store_->acquire_lease(campaign_, "b", t(41), t(70)), **b);
}

TEST_P(StoreContractTest, AFencedStoreWritesNothingOnceItsLeaseIsTaken) {
  auto token = store_->acquire_lease(campaign_, "a", t(0), t(30));
  ASSERT_TRUE(token.ok() && token->has_value());
  store_->fence(campaign_, "a", **token);
  ASSERT_TRUE(store_->transition(campaign_, {}, CampaignState::kRunning).ok());
  // Paused past its lease: "b" takes over.
  auto other = factory().open(false);
  ASSERT_TRUE(other.ok());
  ASSERT_TRUE((*other)->acquire_lease(campaign_, "b", t(31), t(60))->has_value());
  auto moved = store_->transition(campaign_, {}, CampaignState::kStopped);
  ASSERT_TRUE(absl::IsAborted(moved.status())) << moved.status();
  EXPECT_NE(std::string(moved.status().message()).find("lost campaign"), std::string::npos);
  EXPECT_TRUE(absl::IsAborted(store_->claim(campaign_, 1, t(31), "a").status()));
  EXPECT_TRUE(absl::IsAborted(store_->set_setting("pacing/1", "{}")));
  EXPECT_EQ((*other)->campaign(campaign_)->state, CampaignState::kRunning);
}

TEST_P(StoreContractTest, CheckpointsRoundTrip) {
  EXPECT_FALSE(store_->checkpoint("agents", "shard-0")->has_value());
  ASSERT_TRUE(store_->set_checkpoint("agents", "shard-0", "4955").ok());
  ASSERT_TRUE(store_->set_checkpoint("agents", "shard-0", "4960").ok());
  EXPECT_EQ(store_->checkpoint("agents", "shard-0")->value(), "4960");
}

TEST_P(StoreContractTest, ContactIdFindsTheAttempt) {
  load(1);
  auto claims = store_->claim(campaign_, 1, t(0), "n");
  ASSERT_TRUE(store_->set_contact_id((*claims)[0].attempt_id, "contact-1").ok());
  auto found = store_->find_attempt_by_contact("contact-1");
  ASSERT_TRUE(found.ok() && found->has_value());
  EXPECT_EQ((*found)->id, (*claims)[0].attempt_id);
  EXPECT_FALSE(store_->find_attempt_by_contact("nope")->has_value());
}

TEST_P(StoreContractTest, ApiTokensAreKeptByNameAndHashOnly) {
  ASSERT_TRUE(store_->api_tokens()->empty());
  const WallTime t0{Millis{1'700'000'000'000}};
  ASSERT_TRUE(store_->add_api_token({"ci", std::string(64, 'a'), "wxyz", t0}).ok());
  ASSERT_TRUE(store_->add_api_token({"ops", std::string(64, 'b'), "abcd", t0 + Millis{1}}).ok());
  auto dup = store_->add_api_token({"ci", std::string(64, 'c'), "efgh", t0});
  EXPECT_TRUE(absl::IsAlreadyExists(dup)) << dup;
  // Seen by another connection (a running server) at once.
  auto other = open(false);
  auto all = other->api_tokens();
  ASSERT_TRUE(all.ok()) << all.status();
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ((*all)[0].name, "ci");
  EXPECT_EQ((*all)[0].sha256_hex, std::string(64, 'a'));
  EXPECT_EQ((*all)[0].hint, "wxyz");
  EXPECT_EQ((*all)[0].created_at, t0);
  EXPECT_TRUE(store_->revoke_api_token("ci").ok());
  EXPECT_TRUE(absl::IsNotFound(store_->revoke_api_token("ci")));
  EXPECT_EQ(other->api_tokens()->size(), 1u);
}

TEST_P(StoreContractTest, RejectsDescribeTheLastLoadOnlyAppendsIncluded) {
  auto w = store_->begin_list(campaign_, LoadMode::kReplace);
  ASSERT_TRUE(w.ok());
  ASSERT_TRUE(*(*w)->add("A", "+12025550100", "{}", 2));
  ASSERT_TRUE((*w)->reject(3, "invalid phone \"12\": too short").ok());
  ASSERT_TRUE((*w)->reject(4, "missing custID").ok());
  // More were rejected than kept.
  ASSERT_TRUE((*w)->count_rejects({{"invalid_phone", 7}, {"missing_custid", 1}}).ok());
  ASSERT_TRUE((*w)->commit().ok());
  auto st = store_->status(campaign_);
  ASSERT_TRUE(st.ok()) << st.status();
  EXPECT_EQ(st->rejects.rows, 8);
  EXPECT_EQ(st->rejects.listed, 2);
  EXPECT_EQ(st->rejects.by_reason,
            (std::map<std::string, int64_t>{{"invalid_phone", 7}, {"missing_custid", 1}}));
  std::vector<int64_t> lines;
  ASSERT_TRUE(store_
                  ->for_each_reject(campaign_,
                                    [&](int64_t line, std::string_view) { lines.push_back(line); })
                  .ok());
  EXPECT_EQ(lines, (std::vector<int64_t>{3, 4}));

  // An append is a load of its own: its rejects replace the earlier ones.
  auto w2 = store_->begin_list(campaign_, LoadMode::kAppend);
  ASSERT_TRUE(w2.ok());
  ASSERT_TRUE(*(*w2)->add("B", "+12025550101", "{}", 2));
  ASSERT_TRUE((*w2)->count_rejects({}).ok());
  ASSERT_TRUE((*w2)->commit().ok());
  auto after = store_->reject_counts(campaign_);
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(after->rows, 0);
  EXPECT_EQ(after->listed, 0);
  EXPECT_EQ(store_->status(campaign_)->customers, 2);
}

TEST_P(StoreContractTest, RecordedTimesNeverGoBackwardsAndTheLatestIsKnown) {
  EXPECT_EQ(*store_->latest_recorded_time(), std::nullopt);
  load(2);
  auto claims = store_->claim(campaign_, 2, t(100), "me");
  ASSERT_EQ(claims->size(), 2u);
  const AttemptId a = (*claims)[0].attempt_id, b = (*claims)[1].attempt_id;
  // Stamped by a clock behind the one that started them (a restarted run).
  ASSERT_TRUE(store_->mark_connected(a, t(90), "agent-1").ok());
  ASSERT_TRUE(store_->finish(a, {Outcome::kConnected, t(95), "", ""}, {}).ok());
  ASSERT_TRUE(
      store_->finish(b, {Outcome::kBusy, t(50), "", ""}, {3, std::chrono::seconds(60)}).ok());
  std::map<AttemptId, AttemptRecord> rows;
  ASSERT_TRUE(
      store_->for_each_attempt(campaign_, [&](const AttemptRecord& r) { rows[r.id] = r; }).ok());
  EXPECT_EQ(*rows[a].answered_at, t(100));
  EXPECT_EQ(*rows[a].ended_at, t(100));
  EXPECT_EQ(*rows[b].ended_at, t(100));
  // The retry delay runs from the end as recorded.
  EXPECT_EQ(*store_->next_callable_at(campaign_), t(160));
  EXPECT_EQ(*store_->latest_recorded_time(), t(100));
  ASSERT_TRUE(store_->finish(a, {Outcome::kConnected, t(500), "", ""}, {}).ok());  // ended before
  auto more = store_->claim(campaign_, 1, t(200), "me");
  ASSERT_EQ(more->size(), 1u);
  EXPECT_EQ(*store_->latest_recorded_time(), t(200));
}

TEST_P(StoreContractTest, AReloadNeverReusesAClientToken) {
  // Connect answers a token it has seen (for 7 days) with that call's
  // contact and places no new call, so a re-run must not repeat one.
  load(2);
  auto first = store_->claim(campaign_, 2, t(0), "me");
  ASSERT_EQ(first->size(), 2u);
  for (const Claim& c : *first) {
    ASSERT_TRUE(store_->finish(c.attempt_id, {Outcome::kNoAnswer, t(10), "", ""}, {}).ok());
  }
  load(2);  // the re-run: its attempts are deleted, and rowids come back
  auto again = store_->claim(campaign_, 2, t(3600), "me");
  ASSERT_EQ(again->size(), 2u);
  std::set<std::string> tokens;
  for (const Claim& c : *first) tokens.insert(c.client_token);
  for (const Claim& c : *again) EXPECT_EQ(tokens.count(c.client_token), 0u) << c.client_token;
  // A taken-over attempt carries the token its call was placed with.
  auto open = store_->open_attempts(campaign_);
  ASSERT_EQ(open->size(), 2u);
  EXPECT_EQ((*open)[0].client_token, (*again)[0].client_token);
}

TEST_P(StoreContractTest, WhereACalleeIsTravelsFromTheListToTheClaimAndTheResults) {
  {
    auto w = store_->begin_list(campaign_, LoadMode::kReplace);
    ASSERT_TRUE(w.ok()) << w.status();
    CalleeFacts both{{"America/Chicago", "America/Denver"}, "US-NE"};
    ASSERT_TRUE(*(*w)->add("A", "+13085550100", "{}", 2, both));
    ASSERT_TRUE(*(*w)->add("B", "+12025550101", "{}", 3));  // whereabouts unknown
    ASSERT_TRUE((*w)->commit().ok());
  }
  auto claims = store_->claim(campaign_, 5, t(0), "me");
  ASSERT_TRUE(claims.ok()) << claims.status();
  ASSERT_EQ(claims->size(), 2u);
  EXPECT_EQ((*claims)[0].callee_timezone, "America/Chicago America/Denver");
  EXPECT_EQ((*claims)[1].callee_timezone, "");
  std::vector<std::string> zones;
  ASSERT_TRUE(
      store_
          ->for_each_attempt(campaign_,
                             [&](const AttemptRecord& a) { zones.push_back(a.callee_timezone); })
          .ok());
  EXPECT_EQ(zones, (std::vector<std::string>{"America/Chicago America/Denver", ""}));
}

TEST_P(StoreContractTest, StoreWideSettingsAreSharedByEveryConnection) {
  auto none = store_->setting("region-rules");
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());
  ASSERT_TRUE(store_->set_setting("region-rules", "[US-FL]\n").ok());
  auto other = open(false);
  ASSERT_NE(other, nullptr);
  auto got = other->setting("region-rules");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->value_or(""), "[US-FL]\n");
}

TEST_P(StoreContractTest, TheCallingWindowHoldsACustomerUntilItOpensInTheirZone) {
  ASSERT_TRUE(store_->unset_config(campaign_, "calling-hours").ok());  // 08:00-21:00
  {
    auto w = store_->begin_list(campaign_, LoadMode::kReplace);
    ASSERT_TRUE(w.ok());
    ASSERT_TRUE(
        *(*w)->add("CHI", "+13125550100", "{}", 2, CalleeFacts{{"America/Chicago"}, "US-IL"}));
    ASSERT_TRUE(
        *(*w)->add("NYC", "+12125550100", "{}", 3, CalleeFacts{{"America/New_York"}, "US-NY"}));
    ASSERT_TRUE((*w)->commit().ok());
  }
  // 07:30 in Chicago, 08:30 in New York: only New York is callable.
  auto claims = store_->claim(campaign_, 5, dec2(13, 30), "me");
  ASSERT_TRUE(claims.ok()) << claims.status();
  ASSERT_EQ(claims->size(), 1u);
  EXPECT_EQ((*claims)[0].cust_id, "NYC");
  EXPECT_EQ((*claims)[0].callee_timezone, "America/New_York");
  // Chicago waits for its 08:00, and says why.
  auto at = store_->next_callable_at(campaign_);
  ASSERT_TRUE(at.ok());
  ASSERT_TRUE(at->has_value());
  EXPECT_EQ(**at, dec2(14));
  auto st = store_->status(campaign_);
  ASSERT_TRUE(st.ok());
  EXPECT_EQ(st->next_callable_held, "calling-window America/Chicago");
  EXPECT_EQ(waiting_text(st->next_callable_held, *st->next_callable_at),
            "the next window opens 08:00 America/Chicago");
  // Not claimable a minute early; claimable at 08:00.
  EXPECT_TRUE(store_->claim(campaign_, 5, dec2(13, 59), "me")->empty());
  claims = store_->claim(campaign_, 5, dec2(14), "me");
  ASSERT_EQ(claims->size(), 1u);
  EXPECT_EQ((*claims)[0].cust_id, "CHI");
  EXPECT_EQ((*claims)[0].callee_timezone, "America/Chicago");
}

TEST_P(StoreContractTest, APhoneWithNoZoneIsSuppressedOrDialledInTheDefaultTimezone) {
  ASSERT_TRUE(store_->unset_config(campaign_, "calling-hours").ok());
  {
    auto w = store_->begin_list(campaign_, LoadMode::kReplace);
    ASSERT_TRUE(*(*w)->add("TF", "+18005550100", "{}", 2));  // toll-free: no zone
    ASSERT_TRUE(*(*w)->add("TF", "+13125550100", "{}", 2, CalleeFacts{{"America/Chicago"}, ""}));
    ASSERT_TRUE(*(*w)->add("TF2", "+18885550100", "{}", 3));  // only a toll-free number
    ASSERT_TRUE((*w)->commit().ok());
  }
  auto claims = store_->claim(campaign_, 5, dec2(16), "me");  // 10:00 in Chicago
  ASSERT_TRUE(claims.ok()) << claims.status();
  // TF's toll-free number is suppressed and its Chicago number dialled; TF2 ends suppressed.
  ASSERT_EQ(claims->size(), 1u);
  EXPECT_EQ((*claims)[0].phone, "+13125550100");
  std::vector<std::string> rules;
  ASSERT_TRUE(store_
                  ->for_each_attempt(campaign_,
                                     [&](const AttemptRecord& a) {
                                       if (a.outcome == Outcome::kSuppressed)
                                         rules.push_back(a.rule);
                                     })
                  .ok());
  ASSERT_EQ(rules.size(), 2u);
  EXPECT_EQ(rules[0], "calling-window no time zone known (set default-timezone)");
  auto st = store_->status(campaign_);
  EXPECT_EQ(st->customers_by_state[CustomerState::kSuppressed], 1);

  // With default-timezone, such a number is dialled in that zone's window.
  ASSERT_TRUE(store_->set_config(campaign_, "default-timezone", "America/Los_Angeles").ok());
  {
    auto w = store_->begin_list(campaign_, LoadMode::kReplace);
    ASSERT_TRUE(*(*w)->add("TF3", "+18775550100", "{}", 2));
    ASSERT_TRUE((*w)->commit().ok());
  }
  EXPECT_TRUE(store_->claim(campaign_, 5, dec2(15), "me")->empty());  // 07:00 in LA
  claims = store_->claim(campaign_, 5, dec2(16), "me");               // 08:00 in LA
  ASSERT_EQ(claims->size(), 1u);
  EXPECT_EQ((*claims)[0].callee_timezone, "America/Los_Angeles");
}

TEST_P(StoreContractTest, StoredRegionRulesNarrowTheWindowForThatRegion) {
  ASSERT_TRUE(store_->unset_config(campaign_, "calling-hours").ok());
  {
    auto w = store_->begin_list(campaign_, LoadMode::kReplace);
    ASSERT_TRUE(
        *(*w)->add("FL", "+13055550100", "{}", 2, CalleeFacts{{"America/New_York"}, "US-FL"}));
    ASSERT_TRUE((*w)->commit().ok());
  }
  // 20:30 in Miami: the built-in Florida rule (to 20:00) holds it.
  EXPECT_TRUE(store_->claim(campaign_, 5, dec2(25, 30), "me")->empty());
  auto st = store_->status(campaign_);
  EXPECT_EQ(st->next_callable_held, "calling-window America/New_York");
  // Rules stored without Florida's hours: the campaign's 21:00 holds.
  ASSERT_TRUE(store_->set_setting("region-rules", "[US-GA]\nhours = 09:00-20:00\n").ok());
  ASSERT_TRUE(store_->set_config(campaign_, "max-attempts", "1").ok());    // a config change
  EXPECT_EQ(store_->claim(campaign_, 5, dec2(25, 30), "me")->size(), 0u);  // still held to 08:00
  // A bad stored text stops the claim with a message naming it.
  ASSERT_TRUE(store_->set_setting("region-rules", "[US-FL]\nhours = soon\n").ok());
  auto bad = store_->claim(campaign_, 5, dec2(37), "me");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(std::string(bad.status().message()).find("region rules:2: key 'hours'"),
            std::string::npos)
      << bad.status();
}
TEST_P(StoreContractTest, NodesAreLiveUntilTheirHeartbeatLapses) {
  ASSERT_TRUE(store_->heartbeat_node("b", t(0), t(10), false).ok());
  ASSERT_TRUE(store_->heartbeat_node("a", t(0), t(20), false).ok());
  auto live = store_->live_nodes(t(5));
  ASSERT_TRUE(live.ok()) << live.status();
  ASSERT_EQ(live->size(), 2u);
  EXPECT_EQ((*live)[0].id, "a");  // by id
  EXPECT_EQ((*live)[0].until, t(20));
  EXPECT_FALSE((*live)[0].draining);
  EXPECT_EQ((*live)[1].id, "b");
  // b lapsed at 10 (a lease that ends at `now` is over, as for leases).
  live = store_->live_nodes(t(10));
  ASSERT_EQ(live->size(), 1u);
  EXPECT_EQ((*live)[0].id, "a");
  // A heartbeat brings b back, draining; another store sees it.
  ASSERT_TRUE(store_->heartbeat_node("b", t(11), t(21), true).ok());
  auto other = open(false);
  ASSERT_NE(other, nullptr);
  live = other->live_nodes(t(12));
  ASSERT_EQ(live->size(), 2u);
  EXPECT_TRUE((*live)[1].draining);
  EXPECT_EQ((*live)[1].until, t(21));
  // Removed: gone at once.
  ASSERT_TRUE(store_->remove_node("a").ok());
  ASSERT_TRUE(store_->remove_node("a").ok());  // again: nothing to do
  live = other->live_nodes(t(12));
  ASSERT_EQ(live->size(), 1u);
  EXPECT_EQ((*live)[0].id, "b");
  EXPECT_TRUE(absl::IsInvalidArgument(store_->heartbeat_node("", t(12), t(22), false)));
}

INSTANTIATE_TEST_SUITE_P(Sqlite, StoreContractTest,
                         ::testing::Values(store_testing::sqlite_store_kind()),
                         store_testing::store_kind_name);
INSTANTIATE_TEST_SUITE_P(Pg, StoreContractTest, ::testing::Values(store_testing::pg_store_kind()),
                         store_testing::store_kind_name);
INSTANTIATE_TEST_SUITE_P(Memory, StoreContractTest,
                         ::testing::Values(store_testing::memory_store_kind()),
                         store_testing::store_kind_name);

}  // namespace
}  // namespace pd
