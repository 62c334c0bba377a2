// Moving a store (store_copy.h): everything arrives, nothing merges, the
// copy goes on dialling where the original left off.
#include "store/store_copy.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "core/strings.h"
#include "store/sqlite/sqlite_store.h"
#include "store/store.h"

namespace pd {
namespace {

WallTime t(int seconds) { return WallTime{Millis{1'800'000'000'000LL + seconds * 1000LL}}; }

// A store with a little of everything a copy must move.
void fill(Store& s) {
  auto c = s.init_campaign("spring");
  ASSERT_TRUE(c.ok()) << c.status();
  ASSERT_TRUE(s.set_config(c->id, "calling-hours", "00:00-24:00").ok());
  ASSERT_TRUE(s.init_campaign("autumn").ok());
  {
    auto w = s.begin_list(c->id, LoadMode::kReplace);
    ASSERT_TRUE(w.ok()) << w.status();
    for (int i = 0; i < 5; ++i) {
      CalleeFacts callee;
      callee.zones = {"America/New_York"};
      callee.region = "US-NY";
      ASSERT_TRUE((*w)->add(cat("C", i), fmt::format("+1202555{:04d}", i), "{\"n\":1}", i + 2,
                            callee)
                      .ok());
    }
    ASSERT_TRUE((*w)->reject(9, "invalid_phone: +1").ok());
    ASSERT_TRUE((*w)->count_rejects({{"invalid_phone", 3}}).ok());
    ASSERT_TRUE((*w)->commit().ok());
  }
  auto claims = s.claim(c->id, 3, t(0), "dialer-1");
  ASSERT_TRUE(claims.ok()) << claims.status();
  ASSERT_EQ(claims->size(), 3u);
  ASSERT_TRUE(s.set_contact_id((*claims)[0].attempt_id, "contact-0").ok());
  ASSERT_TRUE(s.mark_connected((*claims)[0].attempt_id, t(5), "agent-7").ok());
  RetryRules rules;
  rules.max_attempts_per_phone = 2;
  AttemptEnd connected{Outcome::kConnected, t(60), "CUSTOMER_DISCONNECT", ""};
  ASSERT_TRUE(s.finish((*claims)[0].attempt_id, connected, rules).ok());
  AttemptEnd no_answer{Outcome::kNoAnswer, t(30), "", ""};
  ASSERT_TRUE(s.finish((*claims)[1].attempt_id, no_answer, rules).ok());
  // The third stays in flight.
  {
    DncLoadOptions o;
    o.now = t(0);
    auto w = s.begin_dnc(o);
    ASSERT_TRUE(w.ok()) << w.status();
    ASSERT_TRUE((*w)->add("+12025559999", "fcc", std::nullopt).ok());
    ASSERT_TRUE((*w)->add("+12025558888", "internal", t(86400)).ok());
    ASSERT_TRUE((*w)->commit().ok());
  }
  ASSERT_TRUE(s.set_checkpoint("stream", "shard-1", "4960").ok());
  ASSERT_TRUE(s.set_setting("region-rules", "# none").ok());
  ApiToken token{"ops", std::string(64, 'a'), "aaaa", t(0)};
  ASSERT_TRUE(s.add_api_token(token).ok());
  auto lease = s.acquire_lease(c->id, "dialer-1", t(0), t(10));
  ASSERT_TRUE(lease.ok() && lease->has_value());
  ASSERT_TRUE(s.release_lease(c->id, "dialer-1").ok());
}

std::vector<AttemptRecord> attempts(Store& s, CampaignId id) {
  std::vector<AttemptRecord> out;
  EXPECT_TRUE(s.for_each_attempt(id, [&](const AttemptRecord& r) { out.push_back(r); }).ok());
  return out;
}

// Everything a user can see through the Store is the same in both.
void expect_same(Store& a, Store& b) {
  auto ca = a.list_campaigns();
  auto cb = b.list_campaigns();
  ASSERT_TRUE(ca.ok() && cb.ok());
  ASSERT_EQ(ca->size(), cb->size());
  for (size_t i = 0; i < ca->size(); ++i) {
    const Campaign& x = (*ca)[i];
    const Campaign& y = (*cb)[i];
    EXPECT_EQ(x.id, y.id);
    EXPECT_EQ(x.name, y.name);
    EXPECT_EQ(x.state, y.state);
    EXPECT_EQ(*a.config(x.id), *b.config(y.id));
    auto sa = a.status(x.id);
    auto sb = b.status(y.id);
    ASSERT_TRUE(sa.ok() && sb.ok());
    EXPECT_EQ(sa->customers, sb->customers);
    EXPECT_EQ(sa->phones, sb->phones);
    EXPECT_EQ(sa->customers_by_state, sb->customers_by_state);
    EXPECT_EQ(sa->attempts, sb->attempts);
    EXPECT_EQ(sa->attempts_in_flight, sb->attempts_in_flight);
    EXPECT_EQ(sa->attempts_by_outcome, sb->attempts_by_outcome);
    EXPECT_EQ(sa->next_callable_at, sb->next_callable_at);
    EXPECT_EQ(sa->rejects.rows, sb->rejects.rows);
    EXPECT_EQ(sa->rejects.by_reason, sb->rejects.by_reason);
    auto ra = attempts(a, x.id);
    auto rb = attempts(b, y.id);
    ASSERT_EQ(ra.size(), rb.size());
    for (size_t k = 0; k < ra.size(); ++k) {
      EXPECT_EQ(ra[k].id, rb[k].id);
      EXPECT_EQ(ra[k].cust_id, rb[k].cust_id);
      EXPECT_EQ(ra[k].phone, rb[k].phone);
      EXPECT_EQ(ra[k].state, rb[k].state);
      EXPECT_EQ(ra[k].outcome, rb[k].outcome);
      EXPECT_EQ(ra[k].started_at, rb[k].started_at);
      EXPECT_EQ(ra[k].answered_at, rb[k].answered_at);
      EXPECT_EQ(ra[k].ended_at, rb[k].ended_at);
      EXPECT_EQ(ra[k].contact_id, rb[k].contact_id);
      EXPECT_EQ(ra[k].agent_id, rb[k].agent_id);
      EXPECT_EQ(ra[k].callee_timezone, rb[k].callee_timezone);
      // The same ClientToken: a call placed before the move is recognised.
      EXPECT_EQ(ra[k].client_token, rb[k].client_token);
    }
    auto la = a.abandon_ledger(x.id);
    auto lb = b.abandon_ledger(y.id);
    ASSERT_TRUE(la.ok() && lb.ok());
    ASSERT_EQ(la->size(), lb->size());
    auto ka = a.compliance_counts(x.id);
    auto kb = b.compliance_counts(y.id);
    ASSERT_TRUE(ka.ok() && kb.ok());
    EXPECT_EQ(ka->size(), kb->size());
  }
  auto da = a.dnc_counts(t(0));
  auto db = b.dnc_counts(t(0));
  ASSERT_TRUE(da.ok() && db.ok());
  EXPECT_EQ(da->total, db->total);
  EXPECT_EQ(da->by_source, db->by_source);
  auto ea = a.find_dnc("+12025558888");
  auto eb = b.find_dnc("+12025558888");
  ASSERT_TRUE(ea.ok() && eb.ok() && ea->has_value() && eb->has_value());
  EXPECT_EQ((*ea)->source, (*eb)->source);
  EXPECT_EQ((*ea)->expires_at, (*eb)->expires_at);
  EXPECT_EQ(*a.checkpoint("stream", "shard-1"), *b.checkpoint("stream", "shard-1"));
  EXPECT_EQ(*a.setting("region-rules"), *b.setting("region-rules"));
  auto ta = a.api_tokens();
  auto tb = b.api_tokens();
  ASSERT_TRUE(ta.ok() && tb.ok());
  ASSERT_EQ(ta->size(), tb->size());
  for (size_t i = 0; i < ta->size(); ++i) {
    EXPECT_EQ((*ta)[i].name, (*tb)[i].name);
    EXPECT_EQ((*ta)[i].sha256_hex, (*tb)[i].sha256_hex);
    EXPECT_EQ((*ta)[i].created_at, (*tb)[i].created_at);
  }
}

class StoreCopyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           cat("pd-copy-", ::getpid(), "-", reinterpret_cast<uintptr_t>(this));
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::unique_ptr<Store> open(const std::string& name, bool create = true) {
    auto s = open_store((dir_ / name).string(), create);
    EXPECT_TRUE(s.ok()) << s.status();
    return s.ok() ? std::move(*s) : nullptr;
  }
  std::filesystem::path dir_;
};

TEST_F(StoreCopyTest, CopiesEverythingAndTheCopyDialsOn) {
  auto from = open("from.db");
  fill(*from);
  ASSERT_FALSE(HasFatalFailure());
  auto to = open("to.db");
  auto report = copy_store(*from, *to);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_GT(report->total(), 20);
  // Reopened, so nothing is only in a connection's memory.
  to = open("to.db", false);
  expect_same(*from, *to);

  // The copy claims the next customers with new attempt ids, and a lease
  // taken on it gets a fencing token after every token the original gave.
  auto spring = to->find_campaign("spring");
  ASSERT_TRUE(spring.ok());
  auto old_lease = from->acquire_lease(spring->id, "dialer-2", t(100), t(110));
  auto new_lease = to->acquire_lease(spring->id, "dialer-2", t(100), t(110));
  ASSERT_TRUE(old_lease.ok() && new_lease.ok() && old_lease->has_value() &&
              new_lease->has_value());
  EXPECT_GE(**new_lease, **old_lease);
  auto before = attempts(*to, spring->id);
  auto claims = to->claim(spring->id, 5, t(400), "dialer-2");
  ASSERT_TRUE(claims.ok()) << claims.status();
  ASSERT_FALSE(claims->empty());
  for (const Claim& c : *claims) {
    for (const AttemptRecord& r : before) {
      EXPECT_NE(c.attempt_id, r.id);
      EXPECT_NE(c.client_token, r.client_token);
    }
    // The customer in flight when the store moved is not claimed again.
    EXPECT_NE(c.cust_id, "C2");
  }
  // A number put on the do-not-call list before the move is still refused.
  auto suppressed = to->status(spring->id);
  ASSERT_TRUE(suppressed.ok());
}

TEST_F(StoreCopyTest, RefusesADestinationThatHoldsAnything) {
  auto from = open("from.db");
  fill(*from);
  ASSERT_FALSE(HasFatalFailure());
  auto to = open("to.db");
  ASSERT_TRUE(to->init_campaign("already-here").ok());
  auto report = copy_store(*from, *to);
  ASSERT_EQ(report.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(report.status().message().find("'campaigns'"), std::string_view::npos)
      << report.status();
  // Nothing was added to it.
  auto campaigns = to->list_campaigns();
  ASSERT_TRUE(campaigns.ok());
  ASSERT_EQ(campaigns->size(), 1u);
  EXPECT_EQ((*campaigns)[0].name, "already-here");
}

TEST_F(StoreCopyTest, RefusesWhileACampaignIsRunning) {
  auto from = open("from.db");
  fill(*from);
  ASSERT_FALSE(HasFatalFailure());
  auto spring = from->find_campaign("spring");
  ASSERT_TRUE(from->transition(spring->id, {}, CampaignState::kRunning).ok());
  auto to = open("to.db");
  auto report = copy_store(*from, *to);
  ASSERT_EQ(report.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(report.status().message().find("'spring' is running"), std::string_view::npos)
      << report.status();
  auto campaigns = to->list_campaigns();
  ASSERT_TRUE(campaigns.ok());
  EXPECT_TRUE(campaigns->empty());
}

TEST_F(StoreCopyTest, ReadsAndWritesOnlyTheTablesACopyMoves) {
  auto s = open("from.db");
  const StoreTable sneaky{"sqlite_master", {"sql"}};
  EXPECT_EQ(s->for_each_row(sneaky, [](const StoreRow&) { return absl::OkStatus(); }).code(),
            absl::StatusCode::kInvalidArgument);
  const StoreTable wrong_columns{"settings", {"key", "value\" FROM settings; --"}};
  ASSERT_TRUE(s->begin_batch().ok());
  EXPECT_EQ(s->insert_rows(wrong_columns, {}).code(), absl::StatusCode::kInvalidArgument);
  s->abort_batch();
}

TEST(DisplayStoreUrlTest, HidesThePasswordOnly) {
  EXPECT_EQ(display_store_url("postgresql://dialer:s3cret@db.example.com:5432/pd"),
            "postgresql://dialer:****@db.example.com:5432/pd");
  EXPECT_EQ(display_store_url("postgresql://dialer@db:5432/pd?sslmode=require"),
            "postgresql://dialer@db:5432/pd?sslmode=require");
  EXPECT_EQ(display_store_url("postgres://u:p%40ss@h/db"), "postgres://u:****@h/db");
  EXPECT_EQ(display_store_url("/var/lib/powerdialer/pd.db"), "/var/lib/powerdialer/pd.db");
}

}  // namespace
}  // namespace pd
