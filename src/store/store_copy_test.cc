// Moving a store (store_copy.h): everything arrives, nothing merges, the
// copy goes on dialling where the original left off; SQLite and PostgreSQL
// (the shared test server, store/testing/store_factory.h) either way.
#include "store/store_copy.h"

#include <gtest/gtest.h>

#include <map>

#include "core/strings.h"
#include "store/store.h"
#include "store/testing/store_factory.h"

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

// Every row of every table a copy moves, and the store's meta, as the
// store lists them (key order).
using Dump = std::map<std::string, std::vector<StoreRow>>;
Dump dump(Store& s) {
  Dump out;
  std::vector<StoreTable> tables = store_tables();
  tables.push_back(store_meta_table());
  for (const StoreTable& table : tables) {
    std::vector<StoreRow>& rows = out[std::string(table.name)];
    absl::Status st = s.for_each_row(table, [&](const StoreRow& row) {
      rows.push_back(row);
      return absl::OkStatus();
    });
    EXPECT_TRUE(st.ok()) << table.name << ": " << st;
  }
  return out;
}

std::string show(const StoreRow& row) {
  std::string out;
  for (const auto& v : row) out += cat(out.empty() ? "" : " | ", v.value_or("NULL"));
  return out;
}

// The destination's rows equal the source's, table by table and row by
// row; of meta, the instance id (client tokens start with it) and a lease
// token counter that is not behind.
void expect_same_rows(const Dump& from, const Dump& to) {
  for (const StoreTable& table : store_tables()) {
    const std::string name(table.name);
    const std::vector<StoreRow>& a = from.at(name);
    const std::vector<StoreRow>& b = to.at(name);
    EXPECT_EQ(a.size(), b.size()) << name;
    for (size_t i = 0; i < std::min(a.size(), b.size()); ++i) {
      EXPECT_EQ(a[i], b[i]) << name << " row " << i << ": " << show(a[i]) << " vs " << show(b[i]);
    }
  }
  auto meta = [](const Dump& d, std::string_view key) -> std::string {
    for (const StoreRow& row : d.at("meta")) {
      if (row[0] == std::string(key)) return row[1].value_or("NULL");
    }
    return "(none)";
  };
  EXPECT_EQ(meta(from, "instance_id"), meta(to, "instance_id"));
  EXPECT_EQ(meta(from, "last_lease_token"), meta(to, "last_lease_token"));
}

// campaign_counts rows (n != 0) that a full scan does not give, and the
// other way round; SQL both databases run.
constexpr const char* kFullScanCounts =
    "SELECT campaign_id, 'customers' AS what, count(*) AS n FROM customers GROUP BY campaign_id "
    "UNION ALL SELECT campaign_id, 'customer:' || state, count(*) FROM customers "
    "GROUP BY campaign_id, state "
    "UNION ALL SELECT cu.campaign_id, 'phones', count(*) FROM phones p JOIN customers cu "
    "ON cu.id = p.customer_id GROUP BY cu.campaign_id "
    "UNION ALL SELECT campaign_id, 'attempts', count(*) FROM attempts GROUP BY campaign_id "
    "UNION ALL SELECT campaign_id, 'in_flight', count(*) FROM attempts WHERE state <> 'ended' "
    "GROUP BY campaign_id "
    "UNION ALL SELECT campaign_id, 'outcome:' || outcome, count(*) FROM attempts "
    "WHERE state = 'ended' AND outcome IS NOT NULL GROUP BY campaign_id, outcome";
std::string counts_off_by_scan() {
  return cat("SELECT (SELECT count(*) FROM (SELECT campaign_id, what, n FROM campaign_counts "
             "WHERE n <> 0 EXCEPT SELECT * FROM (",
             kFullScanCounts, ") s1) x1) + (SELECT count(*) FROM (SELECT * FROM (",
             kFullScanCounts,
             ") s2 EXCEPT SELECT campaign_id, what, n FROM campaign_counts WHERE n <> 0) x2)");
}

// One direction of a copy: from a store of one kind to one of another.
struct CopyPath {
  store_testing::StoreKind from;
  store_testing::StoreKind to;
};
std::string copy_path_name(const ::testing::TestParamInfo<CopyPath>& info) {
  return cat(info.param.from.name, "To", info.param.to.name);
}

class StoreCopyTest : public ::testing::TestWithParam<CopyPath> {
 protected:
  void SetUp() override {
    from_factory_ = GetParam().from.make();
    to_factory_ = GetParam().to.make();
    absl::Status st = from_factory_->set_up();
    ASSERT_TRUE(st.ok()) << st;
    st = to_factory_->set_up();
    ASSERT_TRUE(st.ok()) << st;
    set_up_ = true;
  }
  void TearDown() override {
    if (!set_up_) return;
    from_factory_->tear_down();
    to_factory_->tear_down();
  }
  static std::unique_ptr<Store> open(store_testing::StoreFactory& f, bool create) {
    auto s = f.open(create);
    EXPECT_TRUE(s.ok()) << s.status();
    return s.ok() ? std::move(*s) : nullptr;
  }
  std::unique_ptr<Store> open_from(bool create = true) { return open(*from_factory_, create); }
  std::unique_ptr<Store> open_to(bool create = true) { return open(*to_factory_, create); }
  int64_t to_count(const std::string& sql) {
    auto n = to_factory_->query_int(sql);
    EXPECT_TRUE(n.ok()) << n.status();
    return n.ok() ? *n : -1;
  }

  // from_: a source with a little of everything (fill); to_: a new,
  // empty destination. REQUIRES: the caller checks HasFatalFailure().
  void open_filled() {
    from_ = open_from();
    ASSERT_NE(from_, nullptr);
    fill(*from_);
    ASSERT_FALSE(HasFatalFailure());
    to_ = open_to();
    ASSERT_NE(to_, nullptr);
  }

  std::unique_ptr<store_testing::StoreFactory> from_factory_;
  std::unique_ptr<store_testing::StoreFactory> to_factory_;
  bool set_up_ = false;
  std::unique_ptr<Store> from_;
  std::unique_ptr<Store> to_;
};

TEST_P(StoreCopyTest, CopiesEverythingAndTheCopyDialsOn) {
  open_filled();
  ASSERT_FALSE(HasFatalFailure());
  Store& from = *from_;
  const Dump before = dump(from);
  auto report = copy_store(from, *to_);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_GT(report->total(), 20);
  // Reopened, so nothing is only in a connection's memory.
  auto to = open_to(false);
  ASSERT_NE(to, nullptr);
  expect_same_rows(before, dump(*to));
  EXPECT_EQ(dump(from), before) << "the copy changed its source";
  expect_same(from, *to);
  // The counts status() reads are those a full scan gives.
  EXPECT_EQ(to_count(counts_off_by_scan()), 0);
  EXPECT_GT(to_count("SELECT count(*) FROM campaign_counts"), 0);
  // Live state of the old store's dialers stays behind.
  EXPECT_EQ(to_count("SELECT count(*) FROM leases"), 0);
  EXPECT_EQ(to_count("SELECT count(*) FROM nodes"), 0);

  // The copy claims the next customers with new attempt ids, and a lease
  // taken on it gets a fencing token after every token the original gave.
  auto spring = to->find_campaign("spring");
  ASSERT_TRUE(spring.ok());
  auto old_lease = from.acquire_lease(spring->id, "dialer-2", t(100), t(110));
  auto new_lease = to->acquire_lease(spring->id, "dialer-2", t(100), t(110));
  ASSERT_TRUE(old_lease.ok() && new_lease.ok() && old_lease->has_value() &&
              new_lease->has_value());
  EXPECT_GE(**new_lease, **old_lease);
  auto before_claims = attempts(*to, spring->id);
  auto claims = to->claim(spring->id, 5, t(400), "dialer-2");
  ASSERT_TRUE(claims.ok()) << claims.status();
  ASSERT_FALSE(claims->empty());
  for (const Claim& c : *claims) {
    for (const AttemptRecord& r : before_claims) {
      EXPECT_NE(c.attempt_id, r.id);
      EXPECT_NE(c.client_token, r.client_token);
    }
    // The customer in flight when the store moved is not claimed again.
    EXPECT_NE(c.cust_id, "C2");
  }
  AttemptEnd busy{Outcome::kBusy, t(420), "", ""};
  ASSERT_TRUE(to->finish((*claims)[0].attempt_id, busy, RetryRules{}).ok());
  // New campaigns, customers and do-not-call sources take new ids.
  auto winter = to->init_campaign("winter");
  ASSERT_TRUE(winter.ok()) << winter.status();
  for (const StoreRow& row : before.at("campaigns")) EXPECT_NE(*row[0], std::to_string(winter->id));
  {
    auto w = to->begin_list(winter->id, LoadMode::kReplace);
    ASSERT_TRUE(w.ok()) << w.status();
    CalleeFacts callee;
    callee.zones = {"America/New_York"};
    ASSERT_TRUE((*w)->add("W1", "+12025550100", "{}", 2, callee).ok());
    ASSERT_TRUE((*w)->commit().ok());
  }
  {
    DncLoadOptions o;
    o.now = t(0);
    auto w = to->begin_dnc(o);
    ASSERT_TRUE(w.ok()) << w.status();
    ASSERT_TRUE((*w)->add("+12025557777", "state", std::nullopt).ok());
    ASSERT_TRUE((*w)->commit().ok());
  }
  EXPECT_EQ(to_count("SELECT count(*) FROM customers"),
            static_cast<int64_t>(before.at("customers").size()) + 1);
  EXPECT_EQ(to_count("SELECT count(DISTINCT id) FROM dnc_sources"),
            static_cast<int64_t>(before.at("dnc_sources").size()) + 1);
  EXPECT_EQ(to_count(counts_off_by_scan()), 0);
}

// What a refused copy must leave: the source as it was, the destination
// without a row of the source's.
void expect_untouched(Store& from, const Dump& before, Store& to) {
  EXPECT_EQ(dump(from), before) << "a refused copy changed its source";
  auto campaigns = to.list_campaigns();
  ASSERT_TRUE(campaigns.ok());
  for (const Campaign& c : *campaigns) EXPECT_NE(c.name, "spring");
}

TEST_P(StoreCopyTest, RefusesADestinationThatHoldsAnything) {
  open_filled();
  ASSERT_FALSE(HasFatalFailure());
  Store& from = *from_;
  Store* to = to_.get();
  const Dump before = dump(from);
  ASSERT_TRUE(to->init_campaign("already-here").ok());
  auto report = copy_store(from, *to);
  ASSERT_EQ(report.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(report.status().message().find("'campaigns'"), std::string_view::npos)
      << report.status();
  expect_untouched(from, before, *to);
  auto campaigns = to->list_campaigns();
  ASSERT_TRUE(campaigns.ok());
  ASSERT_EQ(campaigns->size(), 1u);
  EXPECT_EQ((*campaigns)[0].name, "already-here");
}

TEST_P(StoreCopyTest, RefusesADestinationWithOnlyASetting) {
  open_filled();
  ASSERT_FALSE(HasFatalFailure());
  Store& from = *from_;
  Store* to = to_.get();
  ASSERT_TRUE(to->set_setting("region-rules", "# mine").ok());
  auto report = copy_store(from, *to);
  ASSERT_EQ(report.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(report.status().message().find("'settings'"), std::string_view::npos)
      << report.status();
  EXPECT_EQ(*to->setting("region-rules"), "# mine");
}

TEST_P(StoreCopyTest, RefusesWhileACampaignIsRunning) {
  open_filled();
  ASSERT_FALSE(HasFatalFailure());
  Store& from = *from_;
  Store* to = to_.get();
  auto spring = from.find_campaign("spring");
  ASSERT_TRUE(from.transition(spring->id, {}, CampaignState::kRunning).ok());
  const Dump before = dump(from);
  auto report = copy_store(from, *to);
  ASSERT_EQ(report.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(report.status().message().find("'spring' is running"), std::string_view::npos)
      << report.status();
  expect_untouched(from, before, *to);
  auto campaigns = to->list_campaigns();
  ASSERT_TRUE(campaigns.ok());
  EXPECT_TRUE(campaigns->empty());
}

// A copy that fails part way (here: a row the destination refuses) is
// rolled back whole: the destination is as empty as it was.
TEST_P(StoreCopyTest, ARefusedRowLeavesTheDestinationEmpty) {
  open_filled();
  ASSERT_FALSE(HasFatalFailure());
  auto& to = to_;
  ASSERT_TRUE(to->begin_batch().ok());
  const StoreTable& campaigns = store_tables()[0];
  ASSERT_TRUE(to->insert_rows(campaigns, {{"7", "x", "idle", "1", "1"}}).ok());
  // The same id twice: the primary key refuses it.
  EXPECT_FALSE(to->insert_rows(campaigns, {{"7", "y", "idle", "1", "1"}}).ok());
  to->abort_batch();
  to = open_to(false);
  ASSERT_NE(to, nullptr);
  for (const auto& [table, rows] : dump(*to)) {
    if (table != "meta") {
      EXPECT_TRUE(rows.empty()) << table;
    }
  }
}

TEST_P(StoreCopyTest, ReadsAndWritesOnlyTheTablesACopyMoves) {
  auto s = open_from();
  ASSERT_NE(s, nullptr);
  const StoreTable sneaky{"sqlite_master", {"sql"}, {"sql"}};
  EXPECT_EQ(s->for_each_row(sneaky, [](const StoreRow&) { return absl::OkStatus(); }).code(),
            absl::StatusCode::kInvalidArgument);
  const StoreTable wrong_columns{"settings", {"key", "value\" FROM settings; --"}, {"key"}};
  ASSERT_TRUE(s->begin_batch().ok());
  EXPECT_EQ(s->insert_rows(wrong_columns, {}).code(), absl::StatusCode::kInvalidArgument);
  s->abort_batch();
}

INSTANTIATE_TEST_SUITE_P(Copy, StoreCopyTest,
                         ::testing::Values(CopyPath{store_testing::sqlite_store_kind(),
                                                    store_testing::sqlite_store_kind()}),
                         copy_path_name);
// Pg*: run by the ctest postgres_integration, on the shared test server.
INSTANTIATE_TEST_SUITE_P(PgCopy, StoreCopyTest,
                         ::testing::Values(CopyPath{store_testing::sqlite_store_kind(),
                                                    store_testing::pg_store_kind()},
                                           CopyPath{store_testing::pg_store_kind(),
                                                    store_testing::sqlite_store_kind()},
                                           CopyPath{store_testing::pg_store_kind(),
                                                    store_testing::pg_store_kind()}),
                         copy_path_name);

}  // namespace
}  // namespace pd
